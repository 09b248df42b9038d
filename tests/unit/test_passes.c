/* test_passes.c — the graph rewrites of compiler/passes: BatchNormalization folding (the
 * new weights against a hand computation, every target), epilogue fusion of residual Adds,
 * MatMul biases and activations (SiLU, Erf-Gelu, Clip ...) into float32 Conv/Gemm/MatMul
 * on a target with the kernels, and what must not fuse: an intermediate with another use
 * or that is a graph output, a broadcasting Add, double types, a target without kernels.
 * Graphs are built with the IR API; end to end, `onnxcc check` runs the models of
 * tests/models that exercise the fusions. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "onnxcc.h"
#include "../../runtime/onnxcc_rt.h"

#ifndef ONNXCC_EXE
#define ONNXCC_EXE "onnxcc"
#endif
#ifndef ONNXCC_SOURCE_ROOT
#define ONNXCC_SOURCE_ROOT "."
#endif

static Pool *P;
static Graph *G;

static void setup(void)
{
    P = pool_new();
    G = ir_graph_new(P, "unit.onnx");
    G->opset = 14;
}

static void teardown(void)
{
    pool_free(P);
}

static Value *input(const char *name, DType dt, int rank, const int64_t *dims)
{
    Value *v = ir_value(G, name);
    v->kind = V_INPUT;
    v->has_type = 1;
    v->type.dt = dt;
    v->type.rank = rank;
    memcpy(v->type.dims, dims, sizeof(int64_t) * (size_t)rank);
    G->inputs = pool_grow(P, G->inputs, (size_t)G->ninputs, sizeof *G->inputs, &(size_t){ 0 });
    G->inputs[G->ninputs++] = v;
    return v;
}

static Value *weight(const char *name, DType dt, int rank, const int64_t *dims, const double *vals)
{
    Value *v = ir_value(G, name);
    v->kind = V_WEIGHT;
    v->has_type = 1;
    v->type.dt = dt;
    v->type.rank = rank;
    for (int i = 0; i < rank; i++) v->type.dims[i] = dims[i];
    int64_t n = type_numel(&v->type);
    void *d = pool_alloc(P, dt_size(dt) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        if (dt == DT_F32) ((float *)d)[i] = (float)vals[i];
        else ((double *)d)[i] = vals[i];
    }
    v->data = d;
    return v;
}

static Value *scalar(const char *name, double x)
{
    return weight(name, DT_F32, 0, NULL, &x);
}

/* Values 0.1 * (i + 1) * sign pattern: distinct, easy to recompute. */
static Value *ramp(const char *name, DType dt, int rank, const int64_t *dims, double scale, double off)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    double *v = pool_alloc(P, sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = off + scale * (double)((i * 7) % 11 - 5);
    return weight(name, dt, rank, dims, v);
}

static Node *node(const char *op, int nin, Value **in, const char *out)
{
    Node *n = ir_node(G, out, op, "");
    n->in = pool_dup(P, in, sizeof *in * (size_t)nin);
    n->nin = nin;
    n->out = pool_alloc(P, sizeof *n->out);
    n->nout = 1;
    n->out[0] = ir_value(G, out);
    return n;
}

static void attr_int(Node *n, const char *name, int64_t v)
{
    n->attrs = pool_grow(P, n->attrs, (size_t)n->nattrs, sizeof *n->attrs, &(size_t){ 0 });
    Attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->kind = A_INT;
    a->i = v;
}

static void attr_float(Node *n, const char *name, float v)
{
    n->attrs = pool_grow(P, n->attrs, (size_t)n->nattrs, sizeof *n->attrs, &(size_t){ 0 });
    Attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->kind = A_FLOAT;
    a->f = v;
}

static void attr_perm(Node *n, int rank, const int64_t *perm)
{
    n->attrs = pool_grow(P, n->attrs, (size_t)n->nattrs, sizeof *n->attrs, &(size_t){ 0 });
    Attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = "perm";
    a->kind = A_INTS;
    a->ints = pool_dup(P, perm, sizeof *perm * (size_t)rank);
    a->n = rank;
}

static void output(Value *v)
{
    v->is_output = 1;
    G->outputs = pool_grow(P, G->outputs, (size_t)G->noutputs, sizeof *G->outputs, &(size_t){ 0 });
    G->outputs[G->noutputs++] = v;
}

/* ir_finish + shape_infer + passes_run for target tname. */
static void run_passes(const char *tname)
{
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err ? G->err : "");
    const Target *t = target_find(tname);
    ck_assert_ptr_nonnull(t);
    ck_assert_msg(passes_run(G, t) == 0, "%s", G->err ? G->err : "");
}

/* The rewritten graph still lowers for the target. */
static void lowers_on(const char *tname)
{
    char *err = NULL;
    KProg *p = lower_graph(G, "unit", target_find(tname), &err);
    ck_assert_msg(p != NULL, "%s", err ? err : "");
    kprog_free(p);
}

static int node_pos(const Node *n)
{
    for (int i = 0; i < G->nnodes; i++)
        if (G->nodes[i] == n) return i;
    return -1;
}

/* BN parameters over c channels: scale, B, mean, var (var > 0) */
static Value **bn_params(int c, DType dt)
{
    int64_t d[1] = { c };
    Value **p = pool_alloc(P, sizeof *p * 4);
    p[0] = ramp("bn_scale", dt, 1, d, 0.1, 1.0);
    p[1] = ramp("bn_B", dt, 1, d, 0.05, 0.2);
    p[2] = ramp("bn_mean", dt, 1, d, 0.07, -0.1);
    p[3] = ramp("bn_var", dt, 1, d, 0.03, 0.5);
    return p;
}

static Node *bn_node(Value *x, int c, const char *out, double eps)
{
    Value **p = bn_params(c, DT_F32);
    Node *n = node("BatchNormalization", 5, (Value *[]){ x, p[0], p[1], p[2], p[3] }, out);
    attr_float(n, "epsilon", (float)eps);
    return n;
}

static double elem(const Value *v, int64_t i) { return const_elem_f(v, i); }

/* ---- BatchNormalization folding ---- */

static void check_conv_fold(int with_bias, const char *tname)
{
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 3, 2, 3, 3 }, bd[1] = { 3 };
    Value *x = input("x", DT_F32, 4, xd);
    Value *w = ramp("W", DT_F32, 4, wd, 0.1, 0.0);
    Value *b = with_bias ? ramp("Bc", DT_F32, 1, bd, 0.2, 0.1) : NULL;
    Node *conv = node("Conv", with_bias ? 3 : 2, (Value *[]){ x, w, b }, "c");
    Node *bn = bn_node(conv->out[0], 3, "y", 1e-3);
    output(bn->out[0]);
    Value *y = bn->out[0];
    Value *sc = bn->in[1], *bb = bn->in[2], *mean = bn->in[3], *var = bn->in[4];
    run_passes(tname);
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_ptr_eq(G->nodes[0], conv);
    ck_assert_str_eq(conv->op_type, "Conv+BatchNormalization");
    ck_assert_ptr_eq(conv->out[0], y);
    ck_assert_ptr_eq(y->producer, conv);
    ck_assert_ptr_null(conv->epi);
    ck_assert_int_eq(conv->nin, 3);
    Value *nw = conv->in[1], *nb = conv->in[2];
    ck_assert_ptr_ne(nw, w);     /* a new constant: the old one may be shared */
    ck_assert(nw->data && nb->data);
    ck_assert_int_eq(nw->type.dt, DT_F32);
    ck_assert(type_equal(&nw->type, &w->type));
    ck_assert_int_eq(nb->type.rank, 1);
    ck_assert_int_eq(nb->type.dims[0], 3);
    double eps = (double)1e-3f;
    for (int m = 0; m < 3; m++) {
        double s = elem(sc, m) / sqrt(elem(var, m) + eps);
        for (int i = 0; i < 18; i++)
            ck_assert_double_eq_tol(elem(nw, m * 18 + i), (float)(elem(w, m * 18 + i) * s), 1e-7);
        double want = ((b ? elem(b, m) : 0.0) - elem(mean, m)) * s + elem(bb, m);
        ck_assert_double_eq_tol(elem(nb, m), want, 1e-6);
    }
    lowers_on(tname);
}

START_TEST(conv_bn_folds_with_bias)
{
    check_conv_fold(1, "c");
}
END_TEST

START_TEST(conv_bn_folds_without_bias_on_hls)
{
    check_conv_fold(0, "hls");
}
END_TEST

START_TEST(conv_bn_double)
{
    int64_t xd[4] = { 1, 2, 3, 3 }, wd[4] = { 2, 2, 1, 1 };
    Value *x = input("x", DT_F64, 4, xd);
    Value *w = ramp("W", DT_F64, 4, wd, 0.1, 0.3);
    Node *conv = node("Conv", 2, (Value *[]){ x, w }, "c");
    Value **p = bn_params(2, DT_F64);
    Node *bn = node("BatchNormalization", 5, (Value *[]){ conv->out[0], p[0], p[1], p[2], p[3] }, "y");
    output(bn->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_int_eq(conv->in[1]->type.dt, DT_F64);
    double s0 = elem(p[0], 0) / sqrt(elem(p[3], 0) + (double)1e-5f);
    ck_assert_double_eq_tol(elem(conv->in[1], 0), elem(w, 0) * s0, 1e-15);
    ck_assert_ptr_null(conv->epi);
}
END_TEST

START_TEST(lone_bn_stays)
{
    int64_t xd[4] = { 1, 3, 2, 2 };
    Value *x = input("x", DT_F32, 4, xd);
    Node *r = node("Relu", 1, &x, "r");
    Node *bn = bn_node(r->out[0], 3, "y", 1e-5);
    output(bn->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_str_eq(bn->op_type, "BatchNormalization");
}
END_TEST

START_TEST(bn_after_shared_conv_stays)
{
    /* the Conv's output is also read by a Relu: folding would change what the Relu sees */
    int64_t xd[4] = { 1, 2, 3, 3 }, wd[4] = { 3, 2, 1, 1 };
    Value *x = input("x", DT_F32, 4, xd);
    Node *conv = node("Conv", 2, (Value *[]){ x, ramp("W", DT_F32, 4, wd, 0.1, 0) }, "c");
    Node *bn = bn_node(conv->out[0], 3, "y", 1e-5);
    Node *r = node("Relu", 1, &conv->out[0], "r");
    output(bn->out[0]);
    output(r->out[0]);
    run_passes("hls");
    ck_assert_int_eq(G->nnodes, 3);
    ck_assert_str_eq(conv->op_type, "Conv");
}
END_TEST

START_TEST(gemm_bn_folds_per_column)
{
    /* Y = A * B^T + C (transB, beta 2), then BN over the 3 columns */
    int64_t ad[2] = { 2, 4 }, bd[2] = { 3, 4 }, cd[1] = { 3 };
    Value *a = input("a", DT_F32, 2, ad);
    Value *b = ramp("B", DT_F32, 2, bd, 0.1, 0.05);
    Value *c = ramp("C", DT_F32, 1, cd, 0.3, 0.0);
    Node *gm = node("Gemm", 3, (Value *[]){ a, b, c }, "g");
    attr_int(gm, "transB", 1);
    attr_float(gm, "beta", 2.0f);
    Node *bn = bn_node(gm->out[0], 3, "y", 1e-5);
    output(bn->out[0]);
    run_passes("hls");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_str_eq(gm->op_type, "Gemm+BatchNormalization");
    ck_assert_ptr_null(attr_get(gm, "beta"));   /* folded into C */
    ck_assert_int_eq(attr_i(gm, "transB", 0), 1);
    for (int j = 0; j < 3; j++) {
        double s = elem(bn->in[1], j) / sqrt(elem(bn->in[4], j) + (double)1e-5f);
        for (int k = 0; k < 4; k++)
            ck_assert_double_eq_tol(elem(gm->in[1], j * 4 + k), (float)(elem(b, j * 4 + k) * s), 1e-7);
        double want = (2.0 * elem(c, j) - elem(bn->in[3], j)) * s + elem(bn->in[2], j);
        ck_assert_double_eq_tol(elem(gm->in[2], j), want, 1e-6);
    }
    lowers_on("hls");
}
END_TEST

START_TEST(matmul_bn_becomes_gemm)
{
    int64_t ad[2] = { 2, 4 }, bd[2] = { 4, 3 };
    Value *a = input("a", DT_F32, 2, ad);
    Node *mm = node("MatMul", 2, (Value *[]){ a, ramp("B", DT_F32, 2, bd, 0.1, 0) }, "m");
    Node *bn = bn_node(mm->out[0], 3, "bn", 1e-5);
    Node *r = node("Relu", 1, &bn->out[0], "y");
    output(r->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_int_eq(mm->op, OP_Gemm);
    ck_assert_str_eq(mm->op_type, "MatMul+BatchNormalization+Relu");
    ck_assert_int_eq(mm->nin, 3);
    ck_assert_ptr_nonnull(mm->epi);
    ck_assert_int_eq(mm->epi->act, RT_ACT_RELU);
    ck_assert_ptr_eq(mm->out[0], r->out[0]);
    lowers_on("c");
}
END_TEST

/* ---- epilogue fusion ---- */

/* x -> Conv(W[, B]) -> c; Add(c, res) -> a; Relu(a) -> y */
static Node *conv_add_relu(int bias, int residual_later, Node **resnode)
{
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 2, 2, 1, 1 }, bd[1] = { 2 };
    Value *x = input("x", DT_F32, 4, xd);
    Value *w = ramp("W", DT_F32, 4, wd, 0.1, 0), *b = bias ? ramp("B", DT_F32, 1, bd, 0.1, 0) : NULL;
    Node *conv = node("Conv", bias ? 3 : 2, (Value *[]){ x, w, b }, "c");
    attr_int(conv, "group", 1);
    Node *res = NULL;
    if (!residual_later) res = node("Sigmoid", 1, &x, "res");
    Value *rv = res ? res->out[0] : ir_value(G, "res");
    Node *add = node("Add", 2, (Value *[]){ rv, conv->out[0] }, "a");
    if (residual_later) {
        /* the residual's producer comes after the Conv (and the Add) in the node list */
        res = node("Sigmoid", 1, &x, "res");
    }
    Node *relu = node("Relu", 1, &add->out[0], "y");
    output(relu->out[0]);
    if (resnode) *resnode = res;
    return conv;
}

START_TEST(conv_add_relu_fuses)
{
    Node *res;
    Node *conv = conv_add_relu(0, 0, &res);
    Value *y = G->outputs[0];
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_str_eq(conv->op_type, "Conv+Add+Relu");
    ck_assert_ptr_nonnull(conv->epi);
    ck_assert_int_eq(conv->epi->act, RT_ACT_RELU);
    ck_assert_int_eq(conv->epi->bias_in, -1);
    /* no Conv bias: slot 2 stays empty so the residual is not read as one */
    ck_assert_int_eq(conv->epi->residual_in, 3);
    ck_assert_int_eq(conv->nin, 4);
    ck_assert_ptr_null(conv->in[2]);
    ck_assert_ptr_eq(conv->in[3], res->out[0]);
    ck_assert_ptr_eq(conv->out[0], y);
    ck_assert_ptr_eq(y->producer, conv);
    ck_assert_int_eq(res->out[0]->nuses, 1);
    ck_assert_int_lt(node_pos(res), node_pos(conv));
    lowers_on("c");
}
END_TEST

START_TEST(residual_produced_later_is_ordered_first)
{
    Node *res;
    Node *conv = conv_add_relu(1, 1, &res);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_ptr_nonnull(conv->epi);
    ck_assert_int_eq(conv->epi->residual_in, 3);
    ck_assert_ptr_nonnull(conv->in[2]);   /* the Conv's own bias */
    ck_assert_int_lt(node_pos(res), node_pos(conv));
    for (int i = 0; i < G->nnodes; i++) ck_assert_int_eq(G->nodes[i]->id, i);
    lowers_on("c");
}
END_TEST

START_TEST(no_kernels_no_fusion)
{
    /* no epilogue without kernels: the residual's Sigmoid, the Add and the Relu become
     * one elementwise loop instead (HLS has no vector math to keep the Sigmoid for) */
    Node *conv = conv_add_relu(1, 0, NULL);
    run_passes("hls");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_ptr_null(conv->epi);
    ck_assert_str_eq(conv->op_type, "Conv");
    ck_assert_int_eq(G->nodes[G->nnodes - 1]->op, OP_FusedElementwise);
    ck_assert_str_eq(G->nodes[G->nnodes - 1]->op_type, "Sigmoid+Add+Relu");
}
END_TEST

START_TEST(shared_intermediate_does_not_fuse)
{
    /* c feeds the Relu and is also read by a Sigmoid: nothing fuses into the Conv (the
     * Relu and the Mul still become one elementwise loop) */
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 2, 2, 1, 1 };
    Value *x = input("x", DT_F32, 4, xd);
    Node *conv = node("Conv", 2, (Value *[]){ x, ramp("W", DT_F32, 4, wd, 0.1, 0) }, "c");
    Node *r = node("Relu", 1, &conv->out[0], "r");
    Node *s = node("Sigmoid", 1, &conv->out[0], "s");
    Node *m = node("Mul", 2, (Value *[]){ r->out[0], s->out[0] }, "y");
    output(m->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 3);
    ck_assert_ptr_null(conv->epi);
    (void)r;
    (void)s;
}
END_TEST

START_TEST(graph_output_intermediate_does_not_fuse)
{
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 2, 2, 1, 1 };
    Value *x = input("x", DT_F32, 4, xd);
    Node *conv = node("Conv", 2, (Value *[]){ x, ramp("W", DT_F32, 4, wd, 0.1, 0) }, "c");
    Node *r = node("Relu", 1, &conv->out[0], "y");
    output(conv->out[0]);
    output(r->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_ptr_null(conv->epi);
}
END_TEST

START_TEST(broadcast_add_is_no_residual)
{
    /* Add of a [1,2,1,1] tensor broadcasts: not a residual; the Add and the Relu after it
     * become one elementwise loop instead */
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 2, 2, 1, 1 }, pd[4] = { 1, 2, 1, 1 };
    Value *x = input("x", DT_F32, 4, xd);
    Node *conv = node("Conv", 2, (Value *[]){ x, ramp("W", DT_F32, 4, wd, 0.1, 0) }, "c");
    Node *a = node("Add", 2, (Value *[]){ conv->out[0], ramp("P", DT_F32, 4, pd, 0.1, 0) }, "a");
    Node *r = node("Relu", 1, &a->out[0], "y");
    output(r->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_ptr_null(conv->epi);
    ck_assert_str_eq(G->nodes[1]->op_type, "Add+Relu");
    (void)a;
}
END_TEST

START_TEST(double_matmul_does_not_fuse)
{
    int64_t ad[2] = { 2, 3 }, bd[2] = { 3, 4 };
    Value *a = input("a", DT_F64, 2, ad);
    Node *mm = node("MatMul", 2, (Value *[]){ a, ramp("B", DT_F64, 2, bd, 0.1, 0) }, "m");
    Node *r = node("Relu", 1, &mm->out[0], "y");
    output(r->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_ptr_null(mm->epi);
}
END_TEST

/* MatMul [1,5,8]x[8,6] + bias [6], then Gelu written with Erf in the given form */
static Node *matmul_bias(Value **out)
{
    int64_t xd[3] = { 1, 5, 8 }, wd[2] = { 8, 6 }, bd[1] = { 6 };
    Value *x = input("x", DT_F32, 3, xd);
    Node *mm = node("MatMul", 2, (Value *[]){ x, ramp("W", DT_F32, 2, wd, 0.1, 0) }, "m");
    Node *a = node("Add", 2, (Value *[]){ ramp("bias", DT_F32, 1, bd, 0.1, 0), mm->out[0] }, "a");
    *out = a->out[0];
    return mm;
}

START_TEST(matmul_bias_gelu_erf_fuses)
{
    Value *x;
    Node *mm = matmul_bias(&x);
    Node *d = node("Div", 2, (Value *[]){ x, scalar("sqrt2", 1.4142135381698608) }, "d");
    Node *e = node("Erf", 1, &d->out[0], "e");
    Node *p = node("Add", 2, (Value *[]){ e->out[0], scalar("one", 1.0) }, "p");
    Node *q = node("Mul", 2, (Value *[]){ x, p->out[0] }, "q");
    Node *h = node("Mul", 2, (Value *[]){ q->out[0], scalar("half", 0.5) }, "y");
    output(h->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_str_eq(mm->op_type, "MatMul+Add+Gelu");
    ck_assert_int_eq(mm->epi->act, RT_ACT_GELU);
    ck_assert_int_eq(mm->epi->bias_in, 2);
    ck_assert_int_eq(mm->epi->residual_in, -1);
    ck_assert_str_eq(mm->in[2]->name, "bias");
    ck_assert_ptr_eq(mm->out[0], h->out[0]);
    lowers_on("c");
}
END_TEST

START_TEST(gelu_half_first_and_residual)
{
    /* MatMul + Add(residual) then x*0.5 first, Erf(x * 0.7071) */
    int64_t xd[2] = { 4, 6 }, wd[2] = { 6, 6 };
    Value *in = input("x", DT_F32, 2, xd);
    Node *mm = node("MatMul", 2, (Value *[]){ in, ramp("W", DT_F32, 2, wd, 0.1, 0) }, "m");
    Node *r = node("Add", 2, (Value *[]){ mm->out[0], in }, "r");
    Value *x = r->out[0];
    Node *d = node("Mul", 2, (Value *[]){ scalar("rs2", 0.70710678), x }, "d");
    Node *e = node("Erf", 1, &d->out[0], "e");
    Node *p = node("Add", 2, (Value *[]){ scalar("one", 1.0), e->out[0] }, "p");
    Node *q = node("Mul", 2, (Value *[]){ scalar("half", 0.5), x }, "q");
    Node *h = node("Mul", 2, (Value *[]){ p->out[0], q->out[0] }, "y");
    output(h->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_str_eq(mm->op_type, "MatMul+Add+Gelu");
    ck_assert_int_eq(mm->epi->act, RT_ACT_GELU);
    ck_assert_int_eq(mm->epi->bias_in, -1);
    ck_assert_int_eq(mm->epi->residual_in, 2);
    ck_assert_ptr_eq(mm->in[2], in);
    lowers_on("c");
}
END_TEST

START_TEST(gelu_wrong_constant_keeps_the_pattern)
{
    /* Div by 1.5 is not Gelu: the bias still fuses, the Erf stays (the vector math runs
     * it) and the elementwise ops around it become two loops */
    Value *x;
    Node *mm = matmul_bias(&x);
    Node *d = node("Div", 2, (Value *[]){ x, scalar("c", 1.5) }, "d");
    Node *e = node("Erf", 1, &d->out[0], "e");
    Node *p = node("Add", 2, (Value *[]){ e->out[0], scalar("one", 1.0) }, "p");
    Node *q = node("Mul", 2, (Value *[]){ x, p->out[0] }, "q");
    Node *h = node("Mul", 2, (Value *[]){ q->out[0], scalar("half", 0.5) }, "y");
    output(h->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 4);
    ck_assert_str_eq(mm->op_type, "MatMul+Add");
    ck_assert_str_eq(G->nodes[3]->op_type, "Add+Mul+Mul");
    (void)q;
    (void)h;
    ck_assert_int_eq(mm->epi->act, RT_ACT_NONE);
    ck_assert_int_eq(mm->epi->bias_in, 2);
    lowers_on("c");
}
END_TEST

START_TEST(elementwise_chain_fuses)
{
    /* y = Relu(x * 2 + b) with b broadcast: one FusedElementwise reading x and b; the
     * Abs before it changes no shape but is read twice, so it stays */
    int64_t xd[2] = { 3, 4 }, bd[1] = { 4 };
    Value *x = input("x", DT_F32, 2, xd);
    Node *a = node("Abs", 1, &x, "a");
    Node *m = node("Mul", 2, (Value *[]){ a->out[0], scalar("two", 2.0) }, "m");
    Node *p = node("Add", 2, (Value *[]){ m->out[0], ramp("b", DT_F32, 1, bd, 0.5, -1) }, "p");
    Node *r = node("Relu", 1, &p->out[0], "r");
    Node *y = node("Sub", 2, (Value *[]){ r->out[0], a->out[0] }, "y");
    output(y->out[0]);
    run_passes("hls");
    ck_assert_int_eq(G->nnodes, 2);
    Node *f = G->nodes[1];
    ck_assert_int_eq(f->op, OP_FusedElementwise);
    ck_assert_int_eq(f->nchain, 4);
    ck_assert_str_eq(f->op_type, "Mul+Add+Relu+Sub");
    ck_assert_ptr_eq(f->out[0], y->out[0]);
    ck_assert_int_eq(f->nin, 3);   /* a's output, the constant 2, b */
    lowers_on("hls");
    lowers_on("c");
}
END_TEST

START_TEST(elementwise_chain_stops_at_shapes)
{
    /* the Neg makes a [4] tensor that the Add broadcasts: it is an input of the chain,
     * not a member; int64 ops never fuse */
    int64_t xd[2] = { 3, 4 }, bd[1] = { 4 };
    Value *x = input("x", DT_F32, 2, xd);
    Value *b = input("b", DT_F32, 1, bd);
    Node *nb = node("Neg", 1, &b, "nb");
    Node *p = node("Add", 2, (Value *[]){ x, nb->out[0] }, "p");
    Node *r = node("Relu", 1, &p->out[0], "r");
    output(r->out[0]);
    Value *i = input("i", DT_I64, 1, bd);
    Node *ni = node("Neg", 1, &i, "ni");
    Node *ai = node("Abs", 1, &ni->out[0], "ai");
    output(ai->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 4);
    int fused = 0;
    for (int k = 0; k < G->nnodes; k++)
        if (G->nodes[k]->op == OP_FusedElementwise) {
            fused++;
            ck_assert_str_eq(G->nodes[k]->op_type, "Add+Relu");
        }
    ck_assert_int_eq(fused, 1);
    lowers_on("c");
}
END_TEST

START_TEST(long_chain_fuses_in_pieces)
{
    /* 2000 Relus in a row: pieces of at most 32 (CHAIN_MAX), each ending where the next
     * begins. Before: every node walked the chain to its start (cubic time, a stack as
     * deep as the chain) and kept the start's 31 nodes, so nearly nothing fused. */
    int64_t d[1] = { 4 };
    Value *v = input("x", DT_F32, 1, d);
    for (int i = 0; i < 2000; i++) {
        Node *r = node("Relu", 1, &v, pool_fmt(P, "r%d", i));
        v = r->out[0];
    }
    output(v);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, (2000 + 31) / 32);
    for (int k = 0; k < G->nnodes; k++) {
        ck_assert_int_eq(G->nodes[k]->op, OP_FusedElementwise);
        ck_assert_int_le(G->nodes[k]->nchain, 32);
    }
    ck_assert_ptr_eq(G->nodes[G->nnodes - 1]->out[0], v);
    lowers_on("c");
}
END_TEST

START_TEST(transposes_fold_into_matmul)
{
    /* attention as exported: Q [1,8,2,4] -> heads [1,2,8,4]; K -> [1,2,4,8] (K^T) */
    int64_t qd[4] = { 1, 8, 2, 4 };
    int64_t ph[4] = { 0, 2, 1, 3 }, pk[4] = { 0, 2, 3, 1 };
    Value *q = input("q", DT_F32, 4, qd), *kk = input("k", DT_F32, 4, qd);
    Node *tq = node("Transpose", 1, &q, "tq");
    attr_perm(tq, 4, ph);
    Node *tk = node("Transpose", 1, &kk, "tk");
    attr_perm(tk, 4, pk);
    Node *mm = node("MatMul", 2, (Value *[]){ tq->out[0], tk->out[0] }, "y");
    output(mm->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_ptr_eq(mm->in[0], q);
    ck_assert_ptr_eq(mm->in[1], kk);
    ck_assert_ptr_nonnull(mm->view[0]);
    ck_assert_ptr_nonnull(mm->view[1]);
    ck_assert_int_eq(mm->view[1]->perm[3], 1);
    ck_assert_str_eq(mm->op_type, "MatMul+Transpose+Transpose");
    lowers_on("c");
}
END_TEST

START_TEST(transposes_that_cannot_fold)
{
    /* the source's last axis goes to a batch axis: no unit stride in the matrix; and on
     * a target without the SGEMM kernel nothing folds */
    int64_t qd[3] = { 2, 3, 4 }, p[3] = { 2, 0, 1 }, wd[2] = { 3, 5 };
    Value *q = input("q", DT_F32, 3, qd);
    Node *t = node("Transpose", 1, &q, "t");
    attr_perm(t, 3, p);
    Node *mm = node("MatMul", 2, (Value *[]){ t->out[0], ramp("W", DT_F32, 2, wd, 0.1, 0) }, "y");
    output(mm->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_ptr_null(mm->view[0]);
    lowers_on("c");
}
END_TEST

START_TEST(transposes_stay_without_kernels)
{
    int64_t qd[4] = { 1, 8, 2, 4 }, ph[4] = { 0, 2, 1, 3 }, pk[4] = { 0, 2, 3, 1 };
    Value *q = input("q", DT_F32, 4, qd), *kk = input("k", DT_F32, 4, qd);
    Node *tq = node("Transpose", 1, &q, "tq");
    attr_perm(tq, 4, ph);
    Node *tk = node("Transpose", 1, &kk, "tk");
    attr_perm(tk, 4, pk);
    Node *mm = node("MatMul", 2, (Value *[]){ tq->out[0], tk->out[0] }, "y");
    output(mm->out[0]);
    run_passes("hls");
    ck_assert_int_eq(G->nnodes, 3);
    ck_assert_ptr_null(mm->view[0]);
    ck_assert_ptr_null(mm->view[1]);
    lowers_on("hls");
}
END_TEST

START_TEST(silu_fuses)
{
    int64_t ad[2] = { 3, 4 }, bd[2] = { 4, 5 };
    Value *a = input("a", DT_F32, 2, ad);
    Node *mm = node("MatMul", 2, (Value *[]){ a, ramp("B", DT_F32, 2, bd, 0.1, 0) }, "m");
    Node *s = node("Sigmoid", 1, &mm->out[0], "s");
    Node *y = node("Mul", 2, (Value *[]){ s->out[0], mm->out[0] }, "y");
    output(y->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_int_eq(mm->epi->act, RT_ACT_SILU);
    ck_assert_str_eq(mm->op_type, "MatMul+SiLU");
    lowers_on("c");
}
END_TEST

START_TEST(gemm_clip_and_leaky)
{
    int64_t ad[2] = { 3, 4 }, bd[2] = { 4, 5 };
    Value *a = input("a", DT_F32, 2, ad);
    Node *gm = node("Gemm", 2, (Value *[]){ a, ramp("B", DT_F32, 2, bd, 0.1, 0) }, "g");
    Node *c = node("Clip", 3, (Value *[]){ gm->out[0], scalar("lo", 0.0), scalar("hi", 6.0) }, "c");
    Node *mm = node("MatMul", 2, (Value *[]){ c->out[0], ramp("B2", DT_F32, 2, (int64_t[]){ 5, 2 }, 0.1, 0) }, "m");
    Node *l = node("LeakyRelu", 1, &mm->out[0], "y");
    attr_float(l, "alpha", 0.25f);
    output(l->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_int_eq(gm->epi->act, RT_ACT_CLIP);
    ck_assert_double_eq(gm->epi->act_a, 0.0);
    ck_assert_double_eq(gm->epi->act_b, 6.0);
    ck_assert_int_eq(mm->epi->act, RT_ACT_LEAKY_RELU);
    ck_assert_double_eq(mm->epi->act_a, 0.25);
    lowers_on("c");
}
END_TEST

START_TEST(clip_attributes_before_opset_11)
{
    G->opset = 10;
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 2, 2, 1, 1 };
    Value *x = input("x", DT_F32, 4, xd);
    Node *conv = node("Conv", 2, (Value *[]){ x, ramp("W", DT_F32, 4, wd, 0.1, 0) }, "c");
    Node *c = node("Clip", 1, &conv->out[0], "y");
    attr_float(c, "max", 0.5f);   /* min absent */
    output(c->out[0]);
    run_passes("c");
    ck_assert_int_eq(G->nnodes, 1);
    ck_assert_int_eq(conv->epi->act, RT_ACT_CLIP);
    ck_assert(conv->epi->act_a < -1e30);
    ck_assert_double_eq(conv->epi->act_b, 0.5);
}
END_TEST

/* ---- end to end: onnxcc check on the models of tests/models ---- */

static char output_buf[65536];

static int run_onnxcc(const char *const *args)
{
    char logpath[64];
    snprintf(logpath, sizeof logpath, "/tmp/onnxcc-test-passes-%d.log", (int)getpid());
    const char *argv[16];
    int n = 0;
    argv[n++] = ONNXCC_EXE;
    for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    FILE *f = fopen(logpath, "rb");
    size_t len = f ? fread(output_buf, 1, sizeof output_buf - 1, f) : 0;
    if (f) fclose(f);
    unlink(logpath);
    output_buf[len] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *const e2e_models[] = { "fusion_cnn", "fusion_mlp", "resnet", "convnet",
                                           "transformer" };

START_TEST(check_fused_models)
{
    const char *m = e2e_models[_i];
    char model[512], data[512];
    snprintf(model, sizeof model, "%s/tests/models/%s/model.onnx", ONNXCC_SOURCE_ROOT, m);
    snprintf(data, sizeof data, "%s/tests/models/%s/test_data_set_0", ONNXCC_SOURCE_ROOT, m);
    if (access(model, R_OK) != 0) return;
    /* atol 1e-5: float32 sums of a few hundred terms against numpy's float64 reference
     * miss it by more than 1e-7 near zero, whatever the summation order */
    const char *args[] = { "check", model, data, "--target", "c", "--atol", "1e-5", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s: %s", m, output_buf);
    ck_assert_msg(strstr(output_buf, "PASS") != NULL, "%s: %s", m, output_buf);
}
END_TEST

/* Packed weights replace the originals instead of joining them, and weights shared by
 * several nodes (the unrolled LSTM's) are packed once: the program holds no more weight
 * bytes than the model where no layout pads or transforms them. */
static const char *const lean_models[] = { "samples/digits/digits.onnx",
                                           "tests/models/lstm/model.onnx",
                                           "tests/models/mlp/model.onnx" };

START_TEST(packed_weights_are_not_duplicated)
{
    char model[512];
    snprintf(model, sizeof model, "%s/%s", ONNXCC_SOURCE_ROOT, lean_models[_i]);
    if (access(model, R_OK) != 0) return;
    const char *args[] = { "report", model, NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output_buf);
    const char *w = strstr(output_buf, "\nweights: ");
    ck_assert_msg(w != NULL, "%s", output_buf);
    long long prog = 0, orig = -1;
    const char *m = strstr(w, "(the model's: ");
    ck_assert_msg(m && sscanf(w, "\nweights: %lld", &prog) == 1 &&
                  sscanf(m, "(the model's: %lld", &orig) == 1, "%s", w);
    ck_assert_msg(prog <= orig, "%s: program weights %lld bytes, model's %lld", lean_models[_i],
                  prog, orig);
}
END_TEST

START_TEST(report_shows_fused_nodes)
{
    char model[512];
    snprintf(model, sizeof model, "%s/tests/models/fusion_cnn/model.onnx", ONNXCC_SOURCE_ROOT);
    if (access(model, R_OK) != 0) return;
    const char *args[] = { "report", model, NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output_buf);
    ck_assert_msg(strstr(output_buf, "Conv+BatchNormalization+Add+Relu"), "%s", output_buf);
    ck_assert_msg(strstr(output_buf, "Conv+Add+LeakyRelu"), "%s", output_buf);
    ck_assert_msg(strstr(output_buf, "Gemm+BatchNormalization+Tanh"), "%s", output_buf);
    ck_assert_msg(strstr(output_buf, "passes: 6 nodes with a fused epilogue, 3 BatchNormalization "
                                     "folded"), "%s", output_buf);
    ck_assert_msg(strstr(output_buf, "(the model's: "), "%s", output_buf);
}
END_TEST

static Suite *passes_suite(void)
{
    Suite *s = suite_create("passes");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, conv_bn_folds_with_bias);
    tcase_add_test(tc, conv_bn_folds_without_bias_on_hls);
    tcase_add_test(tc, conv_bn_double);
    tcase_add_test(tc, lone_bn_stays);
    tcase_add_test(tc, bn_after_shared_conv_stays);
    tcase_add_test(tc, gemm_bn_folds_per_column);
    tcase_add_test(tc, matmul_bn_becomes_gemm);
    tcase_add_test(tc, conv_add_relu_fuses);
    tcase_add_test(tc, residual_produced_later_is_ordered_first);
    tcase_add_test(tc, no_kernels_no_fusion);
    tcase_add_test(tc, elementwise_chain_fuses);
    tcase_add_test(tc, long_chain_fuses_in_pieces);
    tcase_add_test(tc, transposes_fold_into_matmul);
    tcase_add_test(tc, transposes_that_cannot_fold);
    tcase_add_test(tc, transposes_stay_without_kernels);
    tcase_add_test(tc, elementwise_chain_stops_at_shapes);
    tcase_add_test(tc, shared_intermediate_does_not_fuse);
    tcase_add_test(tc, graph_output_intermediate_does_not_fuse);
    tcase_add_test(tc, broadcast_add_is_no_residual);
    tcase_add_test(tc, double_matmul_does_not_fuse);
    tcase_add_test(tc, matmul_bias_gelu_erf_fuses);
    tcase_add_test(tc, gelu_half_first_and_residual);
    tcase_add_test(tc, gelu_wrong_constant_keeps_the_pattern);
    tcase_add_test(tc, silu_fuses);
    tcase_add_test(tc, gemm_clip_and_leaky);
    tcase_add_test(tc, clip_attributes_before_opset_11);
    suite_add_tcase(s, tc);
    TCase *e2e = tcase_create("end-to-end");
    tcase_set_timeout(e2e, 240);
    tcase_add_loop_test(e2e, check_fused_models, 0, (int)(sizeof e2e_models / sizeof *e2e_models));
    tcase_add_test(e2e, report_shows_fused_nodes);
    tcase_add_loop_test(e2e, packed_weights_are_not_duplicated, 0,
                        (int)(sizeof lean_models / sizeof *lean_models));
    suite_add_tcase(s, e2e);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(passes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
