/* test_shape.c — the shape inference driver: types flow through the graph, shape chains
 * fold to constants through the loop-IR interpreter, every unsupported op is named at
 * once, and shape errors name the node and op. Graphs are built with the IR API. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

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

static Value *weight_i64(const char *name, int n, const int64_t *vals)
{
    Value *v = ir_value(G, name);
    v->kind = V_WEIGHT;
    v->has_type = 1;
    v->type.dt = DT_I64;
    v->type.rank = 1;
    v->type.dims[0] = n;
    v->data = pool_dup(P, vals, sizeof(int64_t) * (size_t)n);
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

/* Reshape(x, Concat(Gather(Shape(x), 0), [-1])): what exporters write to flatten. */
START_TEST(shape_chain_folds_to_constants)
{
    int64_t xd[3] = { 2, 3, 4 }, zero[1] = { 0 }, minus1[1] = { -1 };
    Value *x = input("x", DT_F32, 3, xd);
    Value *shp = node("Shape", 1, &x, 1, (const char *[]){ "shp" })->out[0];
    Value *idx = weight_i64("idx", 1, zero);
    Node *gather = node("Gather", 2, (Value *[]){ shp, idx }, 1, (const char *[]){ "first" });
    Value *m1 = weight_i64("m1", 1, minus1);
    Node *cat = node("Concat", 2, (Value *[]){ gather->out[0], m1 }, 1, (const char *[]){ "newshape" });
    cat->attrs = pool_alloc(P, sizeof(Attr));
    cat->attrs[0].name = "axis";
    cat->attrs[0].kind = A_INT;
    cat->attrs[0].i = 0;
    cat->nattrs = 1;
    Node *rs = node("Reshape", 2, (Value *[]){ x, cat->out[0] }, 1, (const char *[]){ "y" });
    output(rs->out[0]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_msg(shape_infer(G) == 0, "%s", G->err ? G->err : "");

    const Value *ns = cat->out[0];
    ck_assert_ptr_nonnull(ns->data);
    const int64_t *nv = ns->data;
    ck_assert_int_eq(nv[0], 2);
    ck_assert_int_eq(nv[1], -1);
    const Type *yt = &rs->out[0]->type;
    ck_assert_int_eq(yt->rank, 2);
    ck_assert_int_eq(yt->dims[0], 2);
    ck_assert_int_eq(yt->dims[1], 12);
    ck_assert_ptr_null(rs->out[0]->data); /* depends on a run-time input: not folded */
}
END_TEST

START_TEST(all_unsupported_ops_named_at_once)
{
    int64_t d[1] = { 4 };
    Value *x = input("x", DT_F32, 1, d);
    Node *a = node("FancyOpA", 1, &x, 1, (const char *[]){ "a" });
    Node *b = node("Relu", 1, &a->out[0], 1, (const char *[]){ "b" });
    Node *c = node("FancyOpB", 1, &b->out[0], 1, (const char *[]){ "c" });
    output(c->out[0]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_int_eq(shape_infer(G), -1);
    ck_assert_ptr_nonnull(G->err);
    ck_assert_ptr_nonnull(strstr(G->err, "unit.onnx"));
    ck_assert_ptr_nonnull(strstr(G->err, "unsupported"));
    ck_assert_ptr_nonnull(strstr(G->err, "FancyOpA"));
    ck_assert_ptr_nonnull(strstr(G->err, "FancyOpB"));
    ck_assert_ptr_nonnull(strstr(G->err, a->name));
    ck_assert_ptr_null(strchr(G->err, '\n'));
}
END_TEST

START_TEST(broadcast_mismatch_names_node_and_op)
{
    int64_t d1[2] = { 2, 3 }, d2[2] = { 2, 4 };
    Value *x = input("x", DT_F32, 2, d1), *y = input("y", DT_F32, 2, d2);
    Node *add = node("Add", 2, (Value *[]){ x, y }, 1, (const char *[]){ "z" });
    add->name = "my_add";
    output(add->out[0]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_int_eq(shape_infer(G), -1);
    ck_assert_ptr_nonnull(strstr(G->err, "node 'my_add' (Add)"));
    ck_assert_ptr_nonnull(strstr(G->err, "broadcast"));
}
END_TEST

START_TEST(types_flow_and_constants_fold_arithmetic)
{
    int64_t d[1] = { 3 }, a[3] = { 1, 2, 3 }, b[3] = { 10, 20, 30 };
    Value *wa = weight_i64("wa", 3, a), *wb = weight_i64("wb", 3, b);
    Node *mul = node("Mul", 2, (Value *[]){ wa, wb }, 1, (const char *[]){ "m" });
    Value *x = input("x", DT_I64, 1, d);
    Node *add = node("Add", 2, (Value *[]){ x, mul->out[0] }, 1, (const char *[]){ "s" });
    output(add->out[0]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_int_eq(shape_infer(G), 0);
    const int64_t *m = mul->out[0]->data;
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m[2], 90);
    ck_assert_int_eq(add->out[0]->type.dt, DT_I64);
    ck_assert_int_eq(add->out[0]->type.dims[0], 3);
    ck_assert_ptr_null(add->out[0]->data);
}
END_TEST

START_TEST(unsupported_dtype_is_a_clear_error)
{
    int64_t d[1] = { 2 };
    Value *x = input("x", DT_STRING, 1, d);
    Node *n = node("Identity", 1, &x, 1, (const char *[]){ "y" });
    output(n->out[0]);
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_int_eq(shape_infer(G), -1);
    ck_assert_ptr_nonnull(strstr(G->err, "unsupported data type string"));
    ck_assert_ptr_nonnull(strstr(G->err, "(Identity)"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shape");
    TCase *tc = tcase_create("shape");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, shape_chain_folds_to_constants);
    tcase_add_test(tc, all_unsupported_ops_named_at_once);
    tcase_add_test(tc, broadcast_mismatch_names_node_and_op);
    tcase_add_test(tc, types_flow_and_constants_fold_arithmetic);
    tcase_add_test(tc, unsupported_dtype_is_a_clear_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
