/* test_dynamic.c — data-dependent output sizes (compiler/ops/dynamic.c, the companion dims
 * tensors of lower.c): NonZero's output is bounded by its input's element count and marked
 * in Value.dyn, Gather with such indices stays bounded, lowering gives each bounded tensor
 * an int64 dims companion (graph outputs' companions after the model's outputs, in the
 * header too), the lowered program computes the right values and real dims (run here
 * through the loop-IR interpreter), a constant input folds to an exact shape, and a
 * consumer that does not take a bounded input is one error naming its node and op;
 * NonMaxSuppression is bounded by batches * classes * min(max_output, boxes), selects like
 * the ONNX reference and needs its max_output at compile time; Unique is bounded by the
 * input's element count and writes its real count into Y's, indices' and counts' dims.
 * Graphs are built with the IR API. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"
#include "codegen.h"

static Pool *P;
static Graph *G;

static void setup(void)
{
    P = pool_new();
    G = ir_graph_new(P, "unit.onnx");
    G->opset = 13;
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

static Value *weight(const char *name, DType dt, int rank, const int64_t *dims, const void *data)
{
    Value *v = ir_value(G, name);
    v->kind = V_WEIGHT;
    v->has_type = 1;
    v->type.dt = dt;
    v->type.rank = rank;
    memcpy(v->type.dims, dims, sizeof(int64_t) * (size_t)rank);
    v->data = pool_dup(P, data, (size_t)(type_numel(&v->type) * dt_size(dt)));
    return v;
}

static Node *node(const char *op, int nin, Value **in, int nout, const char **outs)
{
    Node *n = ir_node(G, NULL, op, "");
    n->in = pool_dup(P, in, sizeof *in * (size_t)nin);
    n->nin = nin;
    n->out = pool_alloc(P, sizeof *n->out * (size_t)nout);
    n->nout = nout;
    for (int i = 0; i < nout; i++) n->out[i] = ir_value(G, outs[i]);
    return n;
}

static void output(Value *v)
{
    v->is_output = 1;
    G->outputs = pool_grow(P, G->outputs, (size_t)G->noutputs, sizeof *G->outputs, &(size_t){ 0 });
    G->outputs[G->noutputs++] = v;
}

/* y = Gather(w, NonZero(x)), w float32[4x5] = 0..19 */
static Value *nonzero_gather(Value **nz_out)
{
    int64_t xd[2] = { 3, 4 }, wd[2] = { 4, 5 };
    float w[20];
    for (int i = 0; i < 20; i++) w[i] = (float)i;
    Value *x = input("x", DT_F32, 2, xd);
    Value *wv = weight("w", DT_F32, 2, wd, w);
    Value *nz = node("NonZero", 1, &x, 1, (const char *[]){ "nz" })->out[0];
    Value *y = node("Gather", 2, (Value *[]){ wv, nz }, 1, (const char *[]){ "y" })->out[0];
    output(y);
    if (nz_out) *nz_out = nz;
    return y;
}

START_TEST(nonzero_is_bounded_and_gather_keeps_the_bound)
{
    Value *nz;
    Value *y = nonzero_gather(&nz);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err);
    ck_assert_int_eq(nz->type.rank, 2);
    ck_assert_int_eq(nz->type.dims[0], 2);
    ck_assert_int_eq(nz->type.dims[1], 12);   /* at most every element of x */
    ck_assert_uint_eq(nz->dyn, 2u);
    ck_assert_int_eq(y->type.rank, 3);
    ck_assert_int_eq(y->type.dims[1], 12);
    ck_assert_int_eq(y->type.dims[2], 5);
    ck_assert_uint_eq(y->dyn, 2u);
}
END_TEST

/* Runs prog through the interpreter on input 0 = in: one host buffer per tensor, bound by
 * every function that names it. */
static void run_prog(const KProg *prog, void **mem, const void *in, size_t in_bytes)
{
    for (int t = 0; t < prog->ntensors; t++) {
        const KTensor *kt = &prog->tensors[t];
        size_t bytes = (size_t)(kt->n ? kt->n : 1) * (size_t)dt_size(kt->t);
        mem[t] = pool_alloc(P, bytes);
        if (kt->kind == KT_CONST) memcpy(mem[t], kt->data, (size_t)kt->n * (size_t)dt_size(kt->t));
    }
    memcpy(mem[prog->inputs[0]], in, in_bytes);
    for (int fi = 0; fi < prog->nfuncs; fi++) {
        const KFunc *f = prog->funcs[fi];
        void **bm = pool_alloc(P, sizeof *bm * (size_t)(f->nbufs + 1));
        for (int b = 0; b < f->nbufs; b++)
            bm[b] = f->bufs[b].tensor >= 0 ? mem[f->bufs[b].tensor]
                                           : pool_alloc(P, (size_t)f->bufs[b].n * 8 + 8);
        char err[256];
        ck_assert_msg(kir_interp(f, bm, err, sizeof err) == 0, "%s", err);
    }
}

START_TEST(lowering_writes_the_real_dims)
{
    nonzero_gather(NULL);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err);
    char *err = NULL;
    KProg *prog = lower_graph(G, "dyn", NULL, &err);
    ck_assert_msg(prog != NULL, "%s", err);
    /* y, then its dims after every model output */
    ck_assert_int_eq(prog->noutputs, 2);
    const KTensor *y = &prog->tensors[prog->outputs[0]], *yd = &prog->tensors[prog->outputs[1]];
    ck_assert_int_eq(y->dims_t, prog->outputs[1] + 1);
    ck_assert_int_eq(yd->dims_for, prog->outputs[0] + 1);
    ck_assert_int_eq(yd->t, DT_I64);
    ck_assert_int_eq(yd->n, 3);
    ck_assert_int_eq(y->n, 2 * 12 * 5);
    /* the intermediate NonZero output has its companion in the arena */
    int arena_dims = 0;
    for (int t = 0; t < prog->ntensors; t++)
        arena_dims += prog->tensors[t].dims_for && prog->tensors[t].kind == KT_ARENA;
    ck_assert_int_eq(arena_dims, 1);
    char *h = cgen_c_header(prog);
    ck_assert_ptr_nonnull(strstr(h, "float y[2][12][5], int64_t y_dims[3]);"));
    ck_assert_ptr_nonnull(strstr(h, "Data-dependent sizes"));
    free(h);

    void **mem = pool_alloc(P, sizeof *mem * (size_t)(prog->ntensors + 1));
    /* x: non-zero at (0,1), (1,3), (2,0) */
    const float x[12] = { 0, 5, 0, 0, 0, 0, 0, -1, 2, 0, 0, 0 };
    run_prog(prog, mem, x, sizeof x);
    const int64_t *dims = mem[prog->outputs[1]];
    ck_assert_int_eq(dims[0], 2);
    ck_assert_int_eq(dims[1], 3);
    ck_assert_int_eq(dims[2], 5);
    /* y[0] = rows w[0], w[1], w[2] (the row coordinates); y[1] = rows w[1], w[3], w[0] */
    const float *yv = mem[prog->outputs[0]];
    const int rows[6] = { 0, 1, 2, 1, 3, 0 };
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 5; c++) ck_assert_float_eq(yv[r * 5 + c], (float)(rows[r] * 5 + c));
    kprog_free(prog);
}
END_TEST

START_TEST(constant_input_folds_to_an_exact_shape)
{
    int64_t xd[2] = { 2, 3 };
    unsigned char x[6] = { 1, 0, 0, 0, 1, 1 };
    Value *xv = weight("x", DT_BOOL, 2, xd, x);
    Value *nz = node("NonZero", 1, &xv, 1, (const char *[]){ "nz" })->out[0];
    output(nz);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err);
    ck_assert_ptr_nonnull(nz->data);
    ck_assert_uint_eq(nz->dyn, 0u);
    ck_assert_int_eq(nz->type.dims[1], 3);
    const int64_t *d = nz->data;
    const int64_t want[6] = { 0, 1, 1, 0, 1, 2 };
    for (int i = 0; i < 6; i++) ck_assert_int_eq(d[i], want[i]);
}
END_TEST

START_TEST(unsupported_consumer_is_one_clear_error)
{
    int64_t xd[1] = { 5 };
    Value *x = input("x", DT_F32, 1, xd);
    Value *nz = node("NonZero", 1, &x, 1, (const char *[]){ "nz" })->out[0];
    Node *t = node("Transpose", 1, &nz, 1, (const char *[]){ "t" });
    output(t->out[0]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_int_eq(shape_infer(G), -1);
    ck_assert_ptr_nonnull(strstr(G->err, "(Transpose): input 'nz' has a data-dependent size"));
    ck_assert_ptr_nonnull(strstr(G->err, "(NonZero)"));
    ck_assert_ptr_null(strchr(G->err, '\n'));
}
END_TEST

/* NonMaxSuppression, boxes = the graph input (corner format), one batch, two classes,
 * max_output_boxes_per_class = 3 (a weight, or a graph input when mo_input). */
static Value *nms_graph(int mo_input, Value **mo_out)
{
    int64_t bd[3] = { 1, 4, 4 }, sd[3] = { 1, 2, 4 }, one[1] = { 1 };
    const float sc[8] = { 0.9f, 0.95f, 0.5f, 0.5f, 0.3f, 0.2f, 0.1f, 0.45f };
    const int64_t mo = 3;
    const float iou = 0.5f, sthr = 0.4f;
    Value *b = input("boxes", DT_F32, 3, bd);
    Value *s = weight("scores", DT_F32, 3, sd, sc);
    Value *m = mo_input ? input("max_out", DT_I64, 1, one) : weight("max_out", DT_I64, 1, one, &mo);
    Value *i = weight("iou", DT_F32, 1, one, &iou);
    Value *t = weight("sthr", DT_F32, 1, one, &sthr);
    Value *y = node("NonMaxSuppression", 5, (Value *[]){ b, s, m, i, t }, 1,
                    (const char *[]){ "sel" })->out[0];
    output(y);
    if (mo_out) *mo_out = m;
    return y;
}

START_TEST(nms_is_bounded_and_selects_like_the_reference)
{
    Value *y = nms_graph(0, NULL);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err);
    ck_assert_int_eq(y->type.rank, 2);
    ck_assert_int_eq(y->type.dims[0], 6); /* 1 batch * 2 classes * min(3, 4 boxes) */
    ck_assert_int_eq(y->type.dims[1], 3);
    ck_assert_uint_eq(y->dyn, 1u);
    char *err = NULL;
    KProg *prog = lower_graph(G, "nms", NULL, &err);
    ck_assert_msg(prog != NULL, "%s", err);
    ck_assert_int_eq(prog->noutputs, 2);
    void **mem = pool_alloc(P, sizeof *mem * (size_t)(prog->ntensors + 1));
    /* box 1 overlaps box 0 with IoU 0.9 / 1.1; boxes 2 and 3 are apart */
    const float boxes[16] = { 0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 2, 1, 3, 0, 4, 1, 5 };
    run_prog(prog, mem, boxes, sizeof boxes);
    const int64_t *dims = mem[prog->outputs[1]];
    ck_assert_int_eq(dims[0], 4);
    ck_assert_int_eq(dims[1], 3);
    /* class 0: 1 (0.95), 0 suppressed by 1, then the equal scores 2 before 3;
     * class 1: only box 3 is above the score threshold */
    const int64_t want[12] = { 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 1, 3 };
    const int64_t *sel = mem[prog->outputs[0]];
    for (int r = 0; r < 12; r++) ck_assert_int_eq(sel[r], want[r]);
    kprog_free(prog);
}
END_TEST

START_TEST(nms_needs_a_compile_time_max_output)
{
    Value *mo;
    nms_graph(1, &mo);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_int_eq(shape_infer(G), -1);
    ck_assert_ptr_nonnull(strstr(G->err, "(NonMaxSuppression): max_output_boxes_per_class must "
                                         "be a compile-time constant"));
    ck_assert_ptr_null(strchr(G->err, '\n'));
    ck_assert_ptr_eq(G->need, mo); /* check freezes it */
}
END_TEST

START_TEST(unique_is_bounded_and_sorted)
{
    int64_t xd[1] = { 6 };
    Value *x = input("x", DT_F32, 1, xd);
    Node *n = node("Unique", 1, (Value *[]){ x }, 4,
                   (const char *[]){ "y", "idx", "inv", "cnt" });
    for (int i = 0; i < 4; i++) output(n->out[i]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err);
    ck_assert_int_eq(n->out[0]->type.dims[0], 6);
    ck_assert_uint_eq(n->out[0]->dyn, 1u);
    ck_assert_uint_eq(n->out[2]->dyn, 0u); /* inverse_indices: static */
    char *err = NULL;
    KProg *prog = lower_graph(G, "uq", NULL, &err);
    ck_assert_msg(prog != NULL, "%s", err);
    ck_assert_int_eq(prog->noutputs, 7); /* 4 outputs, then the dims of y, idx, cnt */
    void **mem = pool_alloc(P, sizeof *mem * (size_t)(prog->ntensors + 1));
    const float in[6] = { 2, 1, 1, 3, 4, 3 };
    run_prog(prog, mem, in, sizeof in);
    for (int o = 4; o < 7; o++) ck_assert_int_eq(((const int64_t *)mem[prog->outputs[o]])[0], 4);
    const float wy[4] = { 1, 2, 3, 4 };
    const int64_t widx[4] = { 1, 0, 3, 4 }, winv[6] = { 1, 0, 0, 2, 3, 2 }, wcnt[4] = { 2, 1, 2, 1 };
    for (int i = 0; i < 4; i++) {
        ck_assert(((const float *)mem[prog->outputs[0]])[i] == wy[i]);
        ck_assert_int_eq(((const int64_t *)mem[prog->outputs[1]])[i], widx[i]);
        ck_assert_int_eq(((const int64_t *)mem[prog->outputs[3]])[i], wcnt[i]);
    }
    for (int i = 0; i < 6; i++) ck_assert_int_eq(((const int64_t *)mem[prog->outputs[2]])[i], winv[i]);
    kprog_free(prog);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dynamic");
    TCase *tc = tcase_create("dynamic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, nonzero_is_bounded_and_gather_keeps_the_bound);
    tcase_add_test(tc, lowering_writes_the_real_dims);
    tcase_add_test(tc, constant_input_folds_to_an_exact_shape);
    tcase_add_test(tc, unsupported_consumer_is_one_clear_error);
    tcase_add_test(tc, nms_is_bounded_and_selects_like_the_reference);
    tcase_add_test(tc, nms_needs_a_compile_time_max_output);
    tcase_add_test(tc, unique_is_bounded_and_sorted);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
