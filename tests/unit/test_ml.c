/* test_ml.c — the ai.onnx.ml operators (compiler/ops/ml.c): tree ensembles of both
 * attribute forms (mixed branch modes, NaN tracking, AVERAGE/MAX aggregation, base values,
 * set membership, binary and multi-class classifiers with post-transforms), the tables-
 * not-code lowering of a forest, the linear models, SVMs and preprocessing operators, and
 * the one-line refusals of string labels and map operators. Models are built with
 * protobuf-c; values are checked by `onnxcc check` on data sets written here, against
 * expected outputs worked out by hand (in the comments) or computed here in plain C. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"
#include "codegen.h"
#include "onnx.pb-c.h"
#include "protobuild.h"

static void setup(void)
{
    pb_setup("ml");
}

static void teardown(void)
{
    pb_teardown();
}

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))

static Onnx__NodeProto *ml_node(const char *op, const char *name, const char *ins,
                                const char *outs)
{
    Onnx__NodeProto *n = node(op, name, ins, outs);
    n->domain = S("ai.onnx.ml");
    return n;
}

static char *ml_model(Onnx__GraphProto *g, int ml_opset, const char *file)
{
    Onnx__ModelProto *m = model(g, 13);
    PUSH(m->opset_import, m->n_opset_import, opset("ai.onnx.ml", ml_opset));
    return write_model(m, file, NULL, NULL);
}

static void a_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t c)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = c;
    a->ints = pool_dup(P, v, c * sizeof *v);
}

static void a_floats(Onnx__NodeProto *n, const char *name, const float *v, size_t c)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = c;
    a->floats = pool_dup(P, v, c * sizeof *v);
}

static void a_str(Onnx__NodeProto *n, const char *name, const char *s)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)S(s);
    a->s.len = strlen(s);
}

static void a_strs(Onnx__NodeProto *n, const char *name, const char *csv)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    size_t c;
    char **v = split(csv, &c);
    a->n_strings = c;
    a->strings = pool_alloc(P, (c + 1) * sizeof *a->strings);
    for (size_t i = 0; i < c; i++) {
        a->strings[i].data = (uint8_t *)v[i];
        a->strings[i].len = strlen(v[i]);
    }
}

static void a_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

static Onnx__TensorProto *i64tensor(const char *name, int rank, const int64_t *dims,
                                    const int64_t *v, size_t n)
{
    Onnx__TensorProto *t = tensor(name, I64, rank, dims);
    raw(t, v, n * sizeof *v);
    return t;
}

/* check on targets c and hls (whose loops need compile-time trip counts), and x86_64
 * where the LLVM back end is built in */
static void check_targets(const char *path, const char *ds)
{
    check_passes(path, ds, "c");
    check_passes(path, ds, "hls");
    if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
}

/* ---- TreeEnsembleRegressor ---------------------------------------------------------- */

/* Two trees over X [4, 3], n_targets 2, AVERAGE, base_values (0.5, -0.5); node ids are
 * sparse and listed out of order, so the (tree, node) mapping is exercised.
 *   tree 0: n0 x0 <= 0.5 (NaN goes true) ? n1 : n2
 *           n1 leaf (t0 += 1, t1 += 2)
 *           n2 x1 > 3 ? n3 : n4;  n3 leaf (t0 += 4);  n4 leaf (t1 += 8)
 *   tree 7: n10 x2 == 7 ? n11 : n12;  n11 leaf (t0 += 16)
 *           n12 x0 < -1 ? n13 : n14;  n13 leaf (t1 += 32);  n14 leaf (t0 += 64, t1 += 128) */
static char *regressor_model(int64_t ntrees_copies)
{
    Onnx__NodeProto *n = ml_node("TreeEnsembleRegressor", "reg", "X", "Y");
    int64_t treeids[] = { 7, 0, 0, 7, 0, 0, 7, 7, 7, 0 };
    int64_t nodeids[] = { 12, 0, 1, 10, 3, 2, 11, 14, 13, 4 };
    int64_t feat[] = { 0, 0, 0, 2, 0, 1, 0, 0, 0, 0 };
    float vals[] = { -1, 0.5f, 0, 7, 0, 3, 0, 0, 0, 0 };
    int64_t tn[] = { 13, 1, 0, 11, 0, 3, 0, 0, 0, 0 };
    int64_t fn[] = { 14, 2, 0, 12, 0, 4, 0, 0, 0, 0 };
    int64_t mv[] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
    (void)ntrees_copies;
    a_ints(n, "nodes_treeids", treeids, 10);
    a_ints(n, "nodes_nodeids", nodeids, 10);
    a_ints(n, "nodes_featureids", feat, 10);
    a_floats(n, "nodes_values", vals, 10);
    a_strs(n, "nodes_modes", "BRANCH_LT,BRANCH_LEQ,LEAF,BRANCH_EQ,LEAF,BRANCH_GT,LEAF,LEAF,"
                             "LEAF,LEAF");
    a_ints(n, "nodes_truenodeids", tn, 10);
    a_ints(n, "nodes_falsenodeids", fn, 10);
    a_ints(n, "nodes_missing_value_tracks_true", mv, 10);
    int64_t wt[] = { 0, 0, 0, 0, 7, 7, 7, 7 }, wn[] = { 1, 1, 3, 4, 11, 13, 14, 14 };
    int64_t wi[] = { 0, 1, 0, 1, 0, 1, 0, 1 };
    float ww[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
    a_ints(n, "target_treeids", wt, 8);
    a_ints(n, "target_nodeids", wn, 8);
    a_ints(n, "target_ids", wi, 8);
    a_floats(n, "target_weights", ww, 8);
    attr_int(n, "n_targets", 2);
    a_str(n, "aggregate_function", "AVERAGE");
    float base[] = { 0.5f, -0.5f };
    a_floats(n, "base_values", base, 2);
    Onnx__GraphProto *g = graph("reg");
    ADD_NODE(g, n);
    int64_t dx[] = { 4, 3 }, dy[] = { 4, 2 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("Y", F32, 2, dy, NULL));
    return ml_model(g, 1, "reg.onnx");
}

START_TEST(tree_regressor_modes_nan_average_base)
{
    char *path = regressor_model(1);
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    int64_t dx[] = { 4, 3 }, dy[] = { 4, 2 };
    float x[] = { 0, 5, 7,      /* (1,2) + (16,0) = (17,2) / 2 + base = (9, 0.5) */
                  1, 5, 0,      /* (4,0) + (64,128) -> (34.5, 63.5) */
                  NAN, 2, 0,    /* NaN tracks true: (1,2); NaN < -1 is false: (64,128) */
                  -2, 1, 0 };   /* (1,2) + (0,32) -> (1, 16.5) */
    float y[] = { 9, 0.5f, 34.5f, 63.5f, 33, 64.5f, 1, 16.5f };
    write_tensor(ds, "input_0.pb", ftensor("X", 2, dx, x, 12));
    write_tensor(ds, "output_0.pb", ftensor("Y", 2, dy, y, 8));
    check_targets(path, ds);
}
END_TEST

/* ---- TreeEnsembleClassifier --------------------------------------------------------- */

/* Three classes labelled 10, 20, 30, SOFTMAX; ai.onnx.ml 3 with the thresholds given as
 * float64 nodes_values_as_tensor.
 *   tree 0: x0 <= 1 ? leaf (c0 0.2, c2 0.8) : leaf (c1 1.0)
 *   tree 1: x1 >= 0 ? leaf (c0 0.5) : leaf (c1 0.5, c2 0.1) */
START_TEST(tree_classifier_softmax_labels)
{
    Onnx__NodeProto *n = ml_node("TreeEnsembleClassifier", "cls", "X", "label,prob");
    int64_t treeids[] = { 0, 0, 0, 1, 1, 1 }, nodeids[] = { 0, 1, 2, 0, 1, 2 };
    int64_t feat[] = { 0, 0, 0, 1, 0, 0 }, tn[] = { 1, 0, 0, 1, 0, 0 };
    int64_t fn[] = { 2, 0, 0, 2, 0, 0 };
    double vals[] = { 1, 0, 0, 0, 0, 0 };
    int64_t d6[] = { 6 };
    Onnx__TensorProto *vt = tensor("nodes_values_as_tensor",
                                   ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 1, d6);
    raw(vt, vals, sizeof vals);
    a_ints(n, "nodes_treeids", treeids, 6);
    a_ints(n, "nodes_nodeids", nodeids, 6);
    a_ints(n, "nodes_featureids", feat, 6);
    a_tensor(n, "nodes_values_as_tensor", vt);
    a_strs(n, "nodes_modes", "BRANCH_LEQ,LEAF,LEAF,BRANCH_GTE,LEAF,LEAF");
    a_ints(n, "nodes_truenodeids", tn, 6);
    a_ints(n, "nodes_falsenodeids", fn, 6);
    int64_t ct[] = { 0, 0, 0, 1, 1, 1 }, cn[] = { 1, 1, 2, 1, 2, 2 }, ci[] = { 0, 2, 1, 0, 1, 2 };
    float cw[] = { 0.2f, 0.8f, 1.0f, 0.5f, 0.5f, 0.1f };
    a_ints(n, "class_treeids", ct, 6);
    a_ints(n, "class_nodeids", cn, 6);
    a_ints(n, "class_ids", ci, 6);
    a_floats(n, "class_weights", cw, 6);
    int64_t labels[] = { 10, 20, 30 };
    a_ints(n, "classlabels_int64s", labels, 3);
    a_str(n, "post_transform", "SOFTMAX");
    Onnx__GraphProto *g = graph("cls");
    ADD_NODE(g, n);
    int64_t dx[] = { 3, 2 }, dl[] = { 3 }, dp[] = { 3, 3 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("label", I64, 1, dl, NULL));
    ADD_OUT(g, vinfo("prob", F32, 2, dp, NULL));
    char *path = ml_model(g, 3, "cls.onnx");

    float x[] = { 0, 1, 2, -1, 1, -0.5f };
    float s[3][3] = { { 0.7f, 0, 0.8f },       /* label 30 */
                      { 0, 1.5f, 0.1f },       /* label 20 */
                      { 0.2f, 0.5f, 0.9f } };  /* label 30 */
    int64_t lab[] = { 30, 20, 30 };
    float p[9];
    for (int r = 0; r < 3; r++) {
        float mx = fmaxf(s[r][0], fmaxf(s[r][1], s[r][2])), sum = 0;
        for (int c = 0; c < 3; c++) sum += p[r * 3 + c] = expf(s[r][c] - mx);
        for (int c = 0; c < 3; c++) p[r * 3 + c] /= sum;
    }
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("X", 2, dx, x, 6));
    write_tensor(ds, "output_0.pb", i64tensor("label", 1, dl, lab, 3));
    write_tensor(ds, "output_1.pb", ftensor("prob", 2, dp, p, 9));
    check_targets(path, ds);
}
END_TEST

/* The binary form (every weight on class 0), LOGISTIC: column 1 is logistic(s), column 0
 * logistic(-s). tree: x0 <= 0 ? leaf (-2) : leaf (3) */
START_TEST(tree_classifier_binary_logistic)
{
    Onnx__NodeProto *n = ml_node("TreeEnsembleClassifier", "bin", "X", "label,prob");
    int64_t z3[] = { 0, 0, 0 }, ids[] = { 0, 1, 2 }, tn[] = { 1, 0, 0 }, fn[] = { 2, 0, 0 };
    float vals[] = { 0, 0, 0 };
    a_ints(n, "nodes_treeids", z3, 3);
    a_ints(n, "nodes_nodeids", ids, 3);
    a_ints(n, "nodes_featureids", z3, 3);
    a_floats(n, "nodes_values", vals, 3);
    a_strs(n, "nodes_modes", "BRANCH_LEQ,LEAF,LEAF");
    a_ints(n, "nodes_truenodeids", tn, 3);
    a_ints(n, "nodes_falsenodeids", fn, 3);
    int64_t ct[] = { 0, 0 }, cn[] = { 1, 2 }, ci[] = { 0, 0 }, labels[] = { 0, 1 };
    float cw[] = { -2, 3 };
    a_ints(n, "class_treeids", ct, 2);
    a_ints(n, "class_nodeids", cn, 2);
    a_ints(n, "class_ids", ci, 2);
    a_floats(n, "class_weights", cw, 2);
    a_ints(n, "classlabels_int64s", labels, 2);
    a_str(n, "post_transform", "LOGISTIC");
    Onnx__GraphProto *g = graph("bin");
    ADD_NODE(g, n);
    int64_t dx[] = { 2, 1 }, dl[] = { 2 }, dp[] = { 2, 2 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("label", I64, 1, dl, NULL));
    ADD_OUT(g, vinfo("prob", F32, 2, dp, NULL));
    char *path = ml_model(g, 1, "bin.onnx");
    float x[] = { -1, 1 };
    float p[] = { 1 / (1 + expf(-2.0f)), 1 / (1 + expf(2.0f)),
                  1 / (1 + expf(3.0f)), 1 / (1 + expf(-3.0f)) };
    int64_t lab[] = { 0, 1 };
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("X", 2, dx, x, 2));
    write_tensor(ds, "output_0.pb", i64tensor("label", 1, dl, lab, 2));
    write_tensor(ds, "output_1.pb", ftensor("prob", 2, dp, p, 4));
    check_targets(path, ds);
}
END_TEST

/* ---- TreeEnsemble (ai.onnx.ml 5) ---------------------------------------------------- */

/* MAX over two trees, one target:
 *   tree 0: x0 in {1, 3} ? leaf 0 (5) : leaf 1 (-1)
 *   tree 1: x0 < 2 ? leaf 2 (2) : leaf 3 (7) */
START_TEST(tree_ensemble5_member_max)
{
    Onnx__NodeProto *n = ml_node("TreeEnsemble", "te", "X", "Y");
    int64_t feat[] = { 0, 0 }, tn[] = { 0, 2 }, fn[] = { 1, 3 }, one2[] = { 1, 1 };
    int64_t roots[] = { 0, 1 }, lt[] = { 0, 0, 0, 0 }, d2[] = { 2 }, d3[] = { 3 }, d4[] = { 4 };
    float splits[] = { 0, 2 }, mem[] = { 1, 3, NAN }, lw[] = { 5, -1, 2, 7 };
    uint8_t modes[] = { 6, 1 };
    Onnx__TensorProto *mt = tensor("nodes_modes", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 1, d2);
    raw(mt, modes, 2);
    a_ints(n, "nodes_featureids", feat, 2);
    a_tensor(n, "nodes_splits", ftensor("nodes_splits", 1, d2, splits, 2));
    a_tensor(n, "nodes_modes", mt);
    a_ints(n, "nodes_truenodeids", tn, 2);
    a_ints(n, "nodes_trueleafs", one2, 2);
    a_ints(n, "nodes_falsenodeids", fn, 2);
    a_ints(n, "nodes_falseleafs", one2, 2);
    a_ints(n, "tree_roots", roots, 2);
    a_ints(n, "leaf_targetids", lt, 4);
    a_tensor(n, "leaf_weights", ftensor("leaf_weights", 1, d4, lw, 4));
    a_tensor(n, "membership_values", ftensor("membership_values", 1, d3, mem, 3));
    attr_int(n, "n_targets", 1);
    attr_int(n, "aggregate_function", 3);
    Onnx__GraphProto *g = graph("te");
    ADD_NODE(g, n);
    int64_t dx[] = { 4, 1 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("Y", F32, 2, dx, NULL));
    char *path = ml_model(g, 5, "te.onnx");
    float x[] = { 1, 2, 3, 0 }, y[] = { 5, 7, 7, 2 };
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("X", 2, dx, x, 4));
    write_tensor(ds, "output_0.pb", ftensor("Y", 2, dx, y, 4));
    check_targets(path, ds);
}
END_TEST

/* ---- a forest is tables, not code ---------------------------------------------------- */

static char *stumps_model(int ntrees, const char *file)
{
    Onnx__NodeProto *n = ml_node("TreeEnsembleRegressor", "stumps", "X", "Y");
    int nn = 3 * ntrees;
    int64_t *tid = pool_alloc(P, sizeof *tid * (size_t)nn), *nid = pool_alloc(P, sizeof *nid * (size_t)nn);
    int64_t *feat = pool_alloc(P, sizeof *feat * (size_t)nn), *tn = pool_alloc(P, sizeof *tn * (size_t)nn);
    int64_t *fn = pool_alloc(P, sizeof *fn * (size_t)nn);
    float *val = pool_alloc(P, sizeof *val * (size_t)nn);
    int64_t *wt = pool_alloc(P, sizeof *wt * (size_t)(2 * ntrees)), *wn = pool_alloc(P, sizeof *wn * (size_t)(2 * ntrees));
    int64_t *wi = pool_alloc(P, sizeof *wi * (size_t)(2 * ntrees));
    float *ww = pool_alloc(P, sizeof *ww * (size_t)(2 * ntrees));
    char *modes = pool_alloc(P, (size_t)nn * 12 + 1);
    modes[0] = 0;
    for (int t = 0; t < ntrees; t++) {
        for (int j = 0; j < 3; j++) {
            int i = 3 * t + j;
            tid[i] = t;
            nid[i] = j;
            feat[i] = t % 4;
            val[i] = (float)t / (float)ntrees;
            tn[i] = j ? 0 : 1;
            fn[i] = j ? 0 : 2;
            strcat(modes, j ? "LEAF," : "BRANCH_LEQ,");
        }
        wt[2 * t] = wt[2 * t + 1] = t;
        wn[2 * t] = 1;
        wn[2 * t + 1] = 2;
        wi[2 * t] = wi[2 * t + 1] = 0;
        ww[2 * t] = 1;
        ww[2 * t + 1] = -1;
    }
    modes[strlen(modes) - 1] = 0;
    a_ints(n, "nodes_treeids", tid, (size_t)nn);
    a_ints(n, "nodes_nodeids", nid, (size_t)nn);
    a_ints(n, "nodes_featureids", feat, (size_t)nn);
    a_floats(n, "nodes_values", val, (size_t)nn);
    a_strs(n, "nodes_modes", modes);
    a_ints(n, "nodes_truenodeids", tn, (size_t)nn);
    a_ints(n, "nodes_falsenodeids", fn, (size_t)nn);
    a_ints(n, "target_treeids", wt, (size_t)(2 * ntrees));
    a_ints(n, "target_nodeids", wn, (size_t)(2 * ntrees));
    a_ints(n, "target_ids", wi, (size_t)(2 * ntrees));
    a_floats(n, "target_weights", ww, (size_t)(2 * ntrees));
    Onnx__GraphProto *g = graph("stumps");
    ADD_NODE(g, n);
    int64_t dx[] = { 1, 4 }, dy[] = { 1, 1 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("Y", F32, 2, dy, NULL));
    return ml_model(g, 1, file);
}

static int count_stmts(const KStmt *s)
{
    int n = 0;
    for (; s; s = s->next) n += 1 + count_stmts(s->body) + count_stmts(s->els);
    return n;
}

static KProg *lower_model(const char *path)
{
    char *err = NULL;
    Graph *g = load_model(P, path, NULL, &err);
    ck_assert_msg(g != NULL, "load: %s", err ? err : "?");
    ck_assert_msg(shape_infer(g) == 0, "infer: %s", g->err ? g->err : "?");
    KProg *p = lower_graph(g, "m", target_find("c"), &err);
    ck_assert_msg(p != NULL, "lower: %s", err ? err : "?");
    return p;
}

START_TEST(forest_is_tables_not_code)
{
    KProg *small = lower_model(stumps_model(3, "s3.onnx"));
    KProg *big = lower_model(stumps_model(400, "s400.onnx"));
    ck_assert_int_eq(small->nfuncs, 1);
    ck_assert_int_eq(big->nfuncs, 1);
    /* the same loop walks 3 or 400 trees: the code does not grow with the forest */
    ck_assert_int_eq(count_stmts(small->funcs[0]->body), count_stmts(big->funcs[0]->body));
    /* 400 interior nodes' thresholds are one constant table */
    int found = 0;
    for (int i = 0; i < big->ntensors; i++)
        found |= big->tensors[i].kind == KT_CONST && big->tensors[i].t == DT_F32 &&
                 big->tensors[i].n == 400;
    ck_assert(found);
    kprog_free(small);
    kprog_free(big);

    /* and it computes: x = (0.5, 0.5, 0.5, 0.5) is <= t/400 for t >= 200: 200 - 200 = 0;
     * x = (0, ...) takes every true branch (tree 0's too: 0 <= 0): +400 */
    char *path = stumps_model(400, "s400.onnx");
    int64_t dx[] = { 1, 4 }, dy[] = { 1, 1 };
    float x0[] = { 0.5f, 0.5f, 0.5f, 0.5f }, y0 = 0, x1[] = { 0, 0, 0, 0 }, y1 = 400;
    char *ds0 = pool_fmt(P, "%s/ds0", tmpdir), *ds1 = pool_fmt(P, "%s/ds1", tmpdir);
    write_tensor(ds0, "input_0.pb", ftensor("X", 2, dx, x0, 4));
    write_tensor(ds0, "output_0.pb", ftensor("Y", 2, dy, &y0, 1));
    write_tensor(ds1, "input_0.pb", ftensor("X", 2, dx, x1, 4));
    write_tensor(ds1, "output_0.pb", ftensor("Y", 2, dy, &y1, 1));
    check_targets(path, ds0);
    check_targets(path, ds1);
}
END_TEST

/* ---- linear models and preprocessing -------------------------------------------------- */

/* X [2, 3] -> Scaler(offset 1, scale (2, 1, 0.5)) -> Normalizer(L2) -> N;
 * X -> LinearClassifier(2 classes labelled 7, 9) -> label, scores;
 * label -> LabelEncoder(7 -> 0.5, 9 -> 1.5, default -1) -> E;
 * X -> Binarizer(1) -> B; X -> LinearRegressor(one target) -> R */
START_TEST(linear_and_preprocessing)
{
    Onnx__GraphProto *g = graph("pre");
    Onnx__NodeProto *sc = ml_node("Scaler", "scale", "X", "S");
    float off[] = { 1 }, scl[] = { 2, 1, 0.5f };
    a_floats(sc, "offset", off, 1);
    a_floats(sc, "scale", scl, 3);
    Onnx__NodeProto *nm = ml_node("Normalizer", "norm", "S", "N");
    a_str(nm, "norm", "L2");
    Onnx__NodeProto *lc = ml_node("LinearClassifier", "lin", "X", "label,scores");
    float coef[] = { 1, -1, 0, 0, 1, 2 }, icpt[] = { 0.5f, -1 };
    int64_t labs[] = { 7, 9 };
    a_floats(lc, "coefficients", coef, 6);
    a_floats(lc, "intercepts", icpt, 2);
    a_ints(lc, "classlabels_ints", labs, 2);
    Onnx__NodeProto *le = ml_node("LabelEncoder", "enc", "label", "E");
    float ev[] = { 0.5f, 1.5f };
    a_ints(le, "keys_int64s", labs, 2);
    a_floats(le, "values_floats", ev, 2);
    attr(le, "default_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)->f = -1;
    le->attribute[le->n_attribute - 1]->has_f = 1;
    Onnx__NodeProto *bz = ml_node("Binarizer", "bin", "X", "B");
    attr(bz, "threshold", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)->f = 1;
    bz->attribute[0]->has_f = 1;
    Onnx__NodeProto *lr = ml_node("LinearRegressor", "reg", "X", "R");
    float rc[] = { 1, 2, 3 }, ri[] = { 10 };
    a_floats(lr, "coefficients", rc, 3);
    a_floats(lr, "intercepts", ri, 1);
    ADD_NODE(g, sc);
    ADD_NODE(g, nm);
    ADD_NODE(g, lc);
    ADD_NODE(g, le);
    ADD_NODE(g, bz);
    ADD_NODE(g, lr);
    int64_t dx[] = { 2, 3 }, d2[] = { 2 }, d22[] = { 2, 2 }, d21[] = { 2, 1 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("N", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("label", I64, 1, d2, NULL));
    ADD_OUT(g, vinfo("scores", F32, 2, d22, NULL));
    ADD_OUT(g, vinfo("E", F32, 1, d2, NULL));
    ADD_OUT(g, vinfo("B", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("R", F32, 2, d21, NULL));
    char *path = ml_model(g, 2, "pre.onnx");

    float x[] = { 1, 3, 5, 2, 0, -1 };
    float N[6], S[6], sco[4], E[2], B[6], R[2];
    int64_t label[2];
    for (int r = 0; r < 2; r++) {
        float ss = 0;
        for (int c = 0; c < 3; c++) {
            S[r * 3 + c] = (x[r * 3 + c] - 1) * scl[c];
            ss += S[r * 3 + c] * S[r * 3 + c];
            B[r * 3 + c] = x[r * 3 + c] > 1 ? 1.0f : 0.0f;
        }
        for (int c = 0; c < 3; c++) N[r * 3 + c] = S[r * 3 + c] / sqrtf(ss);
        for (int k = 0; k < 2; k++) {
            sco[r * 2 + k] = icpt[k];
            for (int c = 0; c < 3; c++) sco[r * 2 + k] += coef[k * 3 + c] * x[r * 3 + c];
        }
        label[r] = sco[r * 2 + 1] > sco[r * 2] ? 9 : 7;
        E[r] = label[r] == 7 ? 0.5f : 1.5f;
        R[r] = 10 + x[r * 3] + 2 * x[r * 3 + 1] + 3 * x[r * 3 + 2];
    }
    /* both labels occur: row 0 scores (-1.5, 12), row 1 (2.5, -3) */
    ck_assert(label[0] == 9 && label[1] == 7);
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("X", 2, dx, x, 6));
    write_tensor(ds, "output_0.pb", ftensor("N", 2, dx, N, 6));
    write_tensor(ds, "output_1.pb", i64tensor("label", 1, d2, label, 2));
    write_tensor(ds, "output_2.pb", ftensor("scores", 2, d22, sco, 4));
    write_tensor(ds, "output_3.pb", ftensor("E", 1, d2, E, 2));
    write_tensor(ds, "output_4.pb", ftensor("B", 2, dx, B, 6));
    write_tensor(ds, "output_5.pb", ftensor("R", 2, d21, R, 2));
    check_targets(path, ds);
}
END_TEST

/* ---- SVMs ---------------------------------------------------------------------------- */

/* SVMClassifier, RBF, three classes with one support vector each: libsvm's one-vs-one
 * scores and votes, computed here; and SVMRegressor in its linear form. */
START_TEST(svm_rbf_votes_and_linear_regressor)
{
    float sv[] = { 0, 0, 1, 1, 2, 0 };
    float coef[] = { 1, -0.5f, -0.5f, 0.75f, 1, -1 };   /* rows c-1 = 0, 1 over 3 vectors */
    float rho[] = { 0.1f, -0.2f, 0 }, kp[] = { 0.5f, 0, 0 };
    int64_t per[] = { 1, 1, 1 }, labels[] = { 4, 5, 6 };
    Onnx__NodeProto *n = ml_node("SVMClassifier", "svc", "X", "label,Z");
    a_floats(n, "support_vectors", sv, 6);
    a_floats(n, "coefficients", coef, 6);
    a_floats(n, "rho", rho, 3);
    a_floats(n, "kernel_params", kp, 3);
    a_ints(n, "vectors_per_class", per, 3);
    a_ints(n, "classlabels_ints", labels, 3);
    a_str(n, "kernel_type", "RBF");
    Onnx__NodeProto *r = ml_node("SVMRegressor", "svr", "X", "R");
    float rc[] = { 1, 2 }, rr[] = { 0.5f };
    a_floats(r, "coefficients", rc, 2);
    a_floats(r, "rho", rr, 1);
    Onnx__GraphProto *g = graph("svm");
    ADD_NODE(g, n);
    ADD_NODE(g, r);
    int64_t dx[] = { 4, 2 }, dl[] = { 4 }, dz[] = { 4, 3 }, dr[] = { 4, 1 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("label", I64, 1, dl, NULL));
    ADD_OUT(g, vinfo("Z", F32, 2, dz, NULL));
    ADD_OUT(g, vinfo("R", F32, 2, dr, NULL));
    char *path = ml_model(g, 1, "svm.onnx");

    float x[] = { 0, 0, 1, 1.2f, 2.1f, -0.1f, -3, 4 }, Z[12], R[4];
    int64_t lab[4];
    int seen[7] = { 0 };
    for (int q = 0; q < 4; q++) {
        float kv[3], votes[3] = { 0, 0, 0 };
        for (int v = 0; v < 3; v++) {
            float d0 = x[q * 2] - sv[v * 2], d1 = x[q * 2 + 1] - sv[v * 2 + 1];
            kv[v] = expf(-0.5f * (d0 * d0 + d1 * d1));
        }
        int e = 0;
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++, e++) {
                float sc = rho[e] + coef[(j - 1) * 3 + i] * kv[i] + coef[i * 3 + j] * kv[j];
                Z[q * 3 + e] = sc;
                votes[sc > 0 ? i : j] += 1;
            }
        int best = 0;
        for (int c = 1; c < 3; c++) if (votes[c] > votes[best]) best = c;
        lab[q] = labels[best];
        seen[lab[q]] = 1;
        R[q] = 0.5f + x[q * 2] + 2 * x[q * 2 + 1];
    }
    ck_assert_int_eq(seen[4] + seen[5] + seen[6], 3);   /* each class is picked */
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("X", 2, dx, x, 8));
    write_tensor(ds, "output_0.pb", i64tensor("label", 1, dl, lab, 4));
    write_tensor(ds, "output_1.pb", ftensor("Z", 2, dz, Z, 12));
    write_tensor(ds, "output_2.pb", ftensor("R", 2, dr, R, 4));
    check_targets(path, ds);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------------ */

/* compile fails with exit 1 and one line naming the node and the reason; no output */
static void expect_refused(const char *path, const char *node_name, const char *why)
{
    char *out = pool_fmt(P, "%s/out", tmpdir);
    const char *args[] = { "compile", path, "-o", out, NULL };
    int rc = run_onnxcc(args);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(output, node_name) && strstr(output, why), "got: %s", output);
    char *nl = strchr(output, '\n');
    ck_assert_msg(nl && nl[1] == 0, "not one line: %s", output);
    FILE *f = fopen(pool_fmt(P, "%s/model.c", out), "r");
    ck_assert_ptr_null(f);
}

START_TEST(string_labels_and_maps_refused)
{
    Onnx__NodeProto *n = ml_node("TreeEnsembleClassifier", "str_labels", "X", "label,prob");
    int64_t z3[] = { 0, 0, 0 }, ids[] = { 0, 1, 2 }, tn[] = { 1, 0, 0 }, fn[] = { 2, 0, 0 };
    float vals[] = { 0, 0, 0 };
    a_ints(n, "nodes_treeids", z3, 3);
    a_ints(n, "nodes_nodeids", ids, 3);
    a_ints(n, "nodes_featureids", z3, 3);
    a_floats(n, "nodes_values", vals, 3);
    a_strs(n, "nodes_modes", "BRANCH_LEQ,LEAF,LEAF");
    a_ints(n, "nodes_truenodeids", tn, 3);
    a_ints(n, "nodes_falsenodeids", fn, 3);
    a_strs(n, "classlabels_strings", "cat,dog");
    Onnx__GraphProto *g = graph("str");
    ADD_NODE(g, n);
    int64_t dx[] = { 1, 1 }, dl[] = { 1 }, dp[] = { 1, 2 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("label", I64, 1, dl, NULL));
    ADD_OUT(g, vinfo("prob", F32, 2, dp, NULL));
    expect_refused(ml_model(g, 1, "str.onnx"), "str_labels",
                   "string tensors are not supported");

    /* ZipMap on a float tensor: refused for what it makes (a sequence of maps) */
    Onnx__GraphProto *g2 = graph("zm");
    Onnx__NodeProto *z = ml_node("ZipMap", "the_zipmap", "P", "Z");
    int64_t cl[] = { 0, 1 };
    a_ints(z, "classlabels_int64s", cl, 2);
    ADD_NODE(g2, node("Relu", "relu", "X", "P"));
    ADD_NODE(g2, z);
    ADD_NODE(g2, node("Relu", "relu2", "X", "Q"));
    ADD_IN(g2, vinfo("X", F32, 2, dp, NULL));
    ADD_OUT(g2, vinfo("Q", F32, 2, dp, NULL));
    expect_refused(ml_model(g2, 1, "zm.onnx"), "the_zipmap",
                   "map and string types are not supported");
}
END_TEST

/* malformed trees: a cycle, a child that does not exist, a weight on an interior node */
static char *bad_tree_model(const char *file, const int64_t *tn, const int64_t *wn)
{
    Onnx__NodeProto *n = ml_node("TreeEnsembleRegressor", "bad_tree", "X", "Y");
    int64_t z3[] = { 0, 0, 0 }, ids[] = { 0, 1, 2 }, fn[] = { 2, 2, 0 }, wt[] = { 0 }, wi[] = { 0 };
    float vals[] = { 0, 1, 0 }, ww[] = { 1 };
    a_ints(n, "nodes_treeids", z3, 3);
    a_ints(n, "nodes_nodeids", ids, 3);
    a_ints(n, "nodes_featureids", z3, 3);
    a_floats(n, "nodes_values", vals, 3);
    a_strs(n, "nodes_modes", "BRANCH_LEQ,BRANCH_LEQ,LEAF");
    a_ints(n, "nodes_truenodeids", tn, 3);
    a_ints(n, "nodes_falsenodeids", fn, 3);
    a_ints(n, "target_treeids", wt, 1);
    a_ints(n, "target_nodeids", wn, 1);
    a_ints(n, "target_ids", wi, 1);
    a_floats(n, "target_weights", ww, 1);
    Onnx__GraphProto *g = graph("bad");
    ADD_NODE(g, n);
    int64_t dx[] = { 1, 1 };
    ADD_IN(g, vinfo("X", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("Y", F32, 2, dx, NULL));
    return ml_model(g, 1, file);
}

START_TEST(malformed_trees_refused)
{
    int64_t cycle[] = { 1, 0, 0 }, missing[] = { 1, 9, 0 }, leaf[] = { 2 }, interior[] = { 1 };
    int64_t fine[] = { 1, 2, 0 };
    expect_refused(bad_tree_model("cyc.onnx", cycle, leaf), "bad_tree", "cycle");
    expect_refused(bad_tree_model("miss.onnx", missing, leaf), "bad_tree",
                   "child that does not exist");
    expect_refused(bad_tree_model("int.onnx", fine, interior), "bad_tree", "not a leaf");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ml");
    TCase *tc = tcase_create("ml");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tree_regressor_modes_nan_average_base);
    tcase_add_test(tc, tree_classifier_softmax_labels);
    tcase_add_test(tc, tree_classifier_binary_logistic);
    tcase_add_test(tc, tree_ensemble5_member_max);
    tcase_add_test(tc, forest_is_tables_not_code);
    tcase_add_test(tc, linear_and_preprocessing);
    tcase_add_test(tc, svm_rbf_votes_and_linear_regressor);
    tcase_add_test(tc, string_labels_and_maps_refused);
    tcase_add_test(tc, malformed_trees_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
