/* test_control.c — control flow (compiler/ops/control.c, lw_subgraph in lower.c) and
 * --freeze (freeze.c): If with a run-time condition lowers both branches under one KS_IF
 * and reads captured outer values; a frozen condition leaves no branch and no input; Loop
 * with a constant trip count (scan output, no guard), with a run-time trip count and a
 * data-computed early exit; Scan with reversed directions and a non-zero axis, and opset 8's
 * batched Scan. Models are
 * built with protobuf-c; values are checked by `onnxcc check` on data sets written here,
 * against expected outputs computed here in plain C. */
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
    pb_setup("control");
}

static void teardown(void)
{
    pb_teardown();
}

/* ---- building protos (protobuild.h has the shared builders) ---- */

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_INIT(g, t) PUSH((g)->initializer, (g)->n_initializer, (t))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))

/* Loads, infers and lowers for target c; the program, or a failed assertion. */
static KProg *lower_model(const char *path, const LoadOptions *lo)
{
    char *err = NULL;
    Graph *g = load_model(P, path, lo, &err);
    ck_assert_msg(g != NULL, "load: %s", err ? err : "?");
    ck_assert_msg(shape_infer(g) == 0, "infer: %s", g->err ? g->err : "?");
    ck_assert_int_eq(passes_run(g, target_find("c")), 0);
    KProg *p = lower_graph(g, "m", target_find("c"), &err);
    ck_assert_msg(p != NULL, "lower: %s", err ? err : "?");
    return p;
}

static int count_stmts(const KStmt *s, KStmtKind kind)
{
    int n = 0;
    for (; s; s = s->next)
        n += (s->kind == kind) + count_stmts(s->body, kind) + count_stmts(s->els, kind);
    return n;
}

static int prog_count(const KProg *p, KStmtKind kind)
{
    int n = 0;
    for (int i = 0; i < p->nfuncs; i++) n += count_stmts(p->funcs[i]->body, kind);
    return n;
}

/* ---- If ---- */

/* y = If(c) then x + k (k an outer initializer, captured) else Relu(x) * x; z = y + 1. */
static char *if_model(int same_shapes)
{
    int64_t d3[] = { 3 }, d2[] = { 2 };
    Onnx__GraphProto *th = graph("then_b"), *el = graph("else_b");
    ADD_NODE(th, node("Add", "then_add", "x,k", "t_out"));
    ADD_OUT(th, vinfo("t_out", F32, 1, d3, NULL));
    ADD_NODE(el, node("Relu", "else_relu", "x", "r"));
    ADD_NODE(el, node("Mul", "else_mul", "r,x", "e_mul"));
    if (same_shapes) {
        ADD_OUT(el, vinfo("e_mul", F32, 1, d3, NULL));
    } else {
        float two[2] = { 0, 1 };
        ADD_INIT(el, ftensor("e_c", 1, d2, two, 2));
        ADD_OUT(el, vinfo("e_c", F32, 1, d2, NULL));
    }
    Onnx__GraphProto *g = graph("if_graph");
    Onnx__NodeProto *n = node("If", "the_if", "c", "y");
    attr_graph(n, "then_branch", th);
    attr_graph(n, "else_branch", el);
    ADD_NODE(g, n);
    ADD_NODE(g, node("Add", "after", "y,one", "z"));
    float k[3] = { 10, 20, 30 }, one = 1;
    ADD_INIT(g, ftensor("k", 1, d3, k, 3));
    ADD_INIT(g, ftensor("one", 0, NULL, &one, 1));
    ADD_IN(g, vinfo("c", BOOL, 0, NULL, NULL));
    ADD_IN(g, vinfo("x", F32, 1, d3, NULL));
    ADD_OUT(g, vinfo("z", F32, 1, same_shapes ? d3 : d2, NULL));
    return write_model(model(g, 13), same_shapes ? "if.onnx" : "if_bad.onnx", NULL, NULL);
}

START_TEST(if_runtime_condition)
{
    char *path = if_model(1);
    KProg *p = lower_model(path, NULL);
    ck_assert_int_eq(p->ninputs, 2);
    /* one If statement, with both branches, in one function */
    ck_assert_int_eq(prog_count(p, KS_IF), 1);
    int found = 0;
    for (int i = 0; i < p->nfuncs; i++)
        for (const KStmt *s = p->funcs[i]->body; s; s = s->next)
            if (s->kind == KS_IF) found = s->body && s->els;
    ck_assert(found);
    kprog_free(p);

    float x[3] = { -1, 2, 3 };
    int64_t d3[] = { 3 };
    for (int c = 0; c < 2; c++) {
        char *ds = pool_fmt(P, "%s/ds%d", tmpdir, c);
        uint8_t cv = (uint8_t)c;
        Onnx__TensorProto *ct = tensor("c", BOOL, 0, NULL);
        raw(ct, &cv, 1);
        write_tensor(ds, "input_0.pb", ct);
        write_tensor(ds, "input_1.pb", ftensor("x", 1, d3, x, 3));
        float z[3];
        for (int i = 0; i < 3; i++)
            z[i] = (c ? x[i] + 10.0f * (float)(i + 1) : (x[i] > 0 ? x[i] : 0) * x[i]) + 1;
        write_tensor(ds, "output_0.pb", ftensor("z", 1, d3, z, 3));
        check_passes(path, ds, "c");
        if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
        check_passes(path, ds, "hls");
    }
}
END_TEST

START_TEST(if_frozen_condition)
{
    char *path = if_model(1);
    Freeze f;
    ck_assert_int_eq(freeze_parse(P, "c=true", &f), 0);
    LoadOptions lo = { .freeze = &f, .nfreeze = 1 };
    KProg *p = lower_model(path, &lo);
    /* no branch left, and the condition is no longer an input */
    ck_assert_int_eq(prog_count(p, KS_IF), 0);
    ck_assert_int_eq(p->ninputs, 1);
    ck_assert_str_eq(p->tensors[p->inputs[0]].src_name, "x");
    kprog_free(p);

    /* a frozen condition compiles only the taken branch: the else branch's other shape is
     * no error then, but it is with a run-time condition */
    char *bad = if_model(0);
    ck_assert_int_eq(freeze_parse(P, "c=1", &f), 0);
    p = lower_model(bad, &lo);
    kprog_free(p);
    char *err = NULL;
    Graph *g = load_model(P, bad, NULL, &err);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_ne(shape_infer(g), 0);
    ck_assert_msg(strstr(g->err, "node 'the_if' (If)") && strstr(g->err, "different shapes") &&
                  !strchr(g->err, '\n'), "%s", g->err);
}
END_TEST

/* A sample-rate switch: c = Equal(sr, 16000) on an int64 scalar input, then the If of
 * if_model's branches. At run time both branches stay; with sr frozen, neither the If nor
 * sr is left. */
static char *sr_model(void)
{
    int64_t d3[] = { 3 }, k16 = 16000;
    Onnx__GraphProto *th = graph("then_b"), *el = graph("else_b");
    ADD_NODE(th, node("Add", "then_add", "x,k", "t_out"));
    ADD_OUT(th, vinfo("t_out", F32, 1, d3, NULL));
    ADD_NODE(el, node("Relu", "else_relu", "x", "r"));
    ADD_NODE(el, node("Mul", "else_mul", "r,x", "e_mul"));
    ADD_OUT(el, vinfo("e_mul", F32, 1, d3, NULL));
    Onnx__GraphProto *g = graph("sr_graph");
    ADD_NODE(g, node("Equal", "is_16k", "sr,k16", "c"));
    Onnx__NodeProto *n = node("If", "the_if", "c", "y");
    attr_graph(n, "then_branch", th);
    attr_graph(n, "else_branch", el);
    ADD_NODE(g, n);
    ADD_NODE(g, node("Add", "after", "y,one", "z"));
    float k[3] = { 10, 20, 30 }, one = 1;
    Onnx__TensorProto *kt = tensor("k16", I64, 0, NULL);
    raw(kt, &k16, sizeof k16);
    ADD_INIT(g, kt);
    ADD_INIT(g, ftensor("k", 1, d3, k, 3));
    ADD_INIT(g, ftensor("one", 0, NULL, &one, 1));
    ADD_IN(g, vinfo("sr", I64, 0, NULL, NULL));
    ADD_IN(g, vinfo("x", F32, 1, d3, NULL));
    ADD_OUT(g, vinfo("z", F32, 1, d3, NULL));
    return write_model(model(g, 13), "sr.onnx", NULL, NULL);
}

START_TEST(if_on_int64_input_runtime_and_frozen)
{
    char *path = sr_model();
    KProg *p = lower_model(path, NULL);
    ck_assert_int_eq(p->ninputs, 2);
    ck_assert_int_eq(prog_count(p, KS_IF), 1);
    kprog_free(p);

    float x[3] = { -1, 2, 3 };
    int64_t d3[] = { 3 }, rates[2] = { 16000, 8000 };
    for (int r = 0; r < 2; r++) {
        char *ds = pool_fmt(P, "%s/sr%d", tmpdir, r);
        Onnx__TensorProto *st = tensor("sr", I64, 0, NULL);
        raw(st, &rates[r], sizeof rates[r]);
        write_tensor(ds, "input_0.pb", st);
        write_tensor(ds, "input_1.pb", ftensor("x", 1, d3, x, 3));
        float z[3];
        for (int i = 0; i < 3; i++)
            z[i] = (r == 0 ? x[i] + 10.0f * (float)(i + 1) : (x[i] > 0 ? x[i] : 0) * x[i]) + 1;
        write_tensor(ds, "output_0.pb", ftensor("z", 1, d3, z, 3));
        /* run time: check must not freeze sr (it is no input an operator needs) */
        const char *args[] = { "check", path, ds, "--target", "c", NULL };
        ck_assert_msg(run_onnxcc(args) == 0 && !strstr(output, "frozen"), "%s", output);
        if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
    }

    Freeze f;
    ck_assert_int_eq(freeze_parse(P, "sr=16000", &f), 0);
    LoadOptions lo = { .freeze = &f, .nfreeze = 1 };
    p = lower_model(path, &lo);
    ck_assert_int_eq(prog_count(p, KS_IF), 0);
    ck_assert_int_eq(p->ninputs, 1);
    ck_assert_str_eq(p->tensors[p->inputs[0]].src_name, "x");
    kprog_free(p);
}
END_TEST

/* ---- Loop ---- */

/* acc = acc * 0.5 + x for each iteration; the body also gives acc + i as a scan output.
 * early: the body's condition is sum(acc) < limit (an early exit), trip count an input;
 * early == 2: the same without any trip count M (bounded by --max-trip only). */
static char *loop_model(int early)
{
    int64_t d2[] = { 2 };
    Onnx__GraphProto *b = graph("body");
    ADD_IN(b, vinfo("i", I64, 0, NULL, NULL));
    ADD_IN(b, vinfo("cin", BOOL, 0, NULL, NULL));
    ADD_IN(b, vinfo("acc_in", F32, 1, d2, NULL));
    ADD_NODE(b, node("Mul", "b_mul", "acc_in,half", "m"));
    ADD_NODE(b, node("Add", "b_add", "m,x", "acc_out"));
    if (early) {
        ADD_NODE(b, node("ReduceSum", "b_sum", "acc_out", "s"));
        attr_int(b->node[b->n_node - 1], "keepdims", 0);
        ADD_NODE(b, node("Less", "b_less", "s,limit", "cout"));
    } else {
        ADD_NODE(b, node("Identity", "b_id", "cin", "cout"));
        ADD_NODE(b, node("Cast", "b_cast", "i", "fi"));
        attr_int(b->node[b->n_node - 1], "to", F32);
        ADD_NODE(b, node("Add", "b_scan", "acc_out,fi", "sc"));
    }
    ADD_OUT(b, vinfo("cout", BOOL, 0, NULL, NULL));
    ADD_OUT(b, vinfo("acc_out", F32, 1, d2, NULL));
    if (!early) ADD_OUT(b, vinfo("sc", F32, 1, d2, NULL));
    Onnx__GraphProto *g = graph("loop_graph");
    Onnx__NodeProto *n = node("Loop", "the_loop",
                              early == 2 ? ",,a0" : early ? "M,,a0" : "M,c0,a0",
                              early ? "acc" : "acc,scan");
    attr_graph(n, "body", b);
    ADD_NODE(g, n);
    float half = 0.5f, a0[2] = { 1, -1 };
    ADD_INIT(g, ftensor("half", 0, NULL, &half, 1));
    ADD_INIT(g, ftensor("a0", 1, d2, a0, 2));
    ADD_IN(g, vinfo("x", F32, 1, d2, NULL));
    if (early) {
        if (early == 1) ADD_IN(g, vinfo("M", I64, 0, NULL, NULL));
        ADD_IN(g, vinfo("limit", F32, 0, NULL, NULL));
    } else {
        int64_t m = 4;
        uint8_t t = 1;
        Onnx__TensorProto *mt = tensor("M", I64, 0, NULL), *ct = tensor("c0", BOOL, 0, NULL);
        raw(mt, &m, sizeof m);
        raw(ct, &t, 1);
        ADD_INIT(g, mt);
        ADD_INIT(g, ct);
    }
    ADD_OUT(g, vinfo("acc", F32, 1, d2, NULL));
    if (!early) {
        int64_t d42[] = { 4, 2 };
        ADD_OUT(g, vinfo("scan", F32, 2, d42, NULL));
    }
    const char *file = early == 2 ? "loop_nom.onnx" : early ? "loop_early.onnx" : "loop.onnx";
    return write_model(model(g, 13), file, NULL, NULL);
}

START_TEST(loop_constant_trip_count)
{
    char *path = loop_model(0);
    KProg *p = lower_model(path, NULL);
    /* the condition is handed through: no guard, the loop bound is the constant 4 */
    ck_assert_int_eq(prog_count(p, KS_IF), 0);
    kprog_free(p);
    float x[2] = { 3, -2 }, acc[2] = { 1, -1 }, scan[8];
    int64_t d2[] = { 2 }, d42[] = { 4, 2 };
    for (int it = 0; it < 4; it++)
        for (int j = 0; j < 2; j++) {
            acc[j] = acc[j] * 0.5f + x[j];
            scan[it * 2 + j] = acc[j] + (float)it;
        }
    char *ds = pool_fmt(P, "%s/loop_ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("x", 1, d2, x, 2));
    write_tensor(ds, "output_0.pb", ftensor("acc", 1, d2, acc, 2));
    write_tensor(ds, "output_1.pb", ftensor("scan", 2, d42, scan, 8));
    check_passes(path, ds, "c");
    if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
    check_passes(path, ds, "hls");
}
END_TEST

START_TEST(loop_early_exit)
{
    char *path = loop_model(1);
    float x[2] = { 2, 1 };
    int64_t d2[] = { 2 };
    struct { int64_t m; float limit; } cases[] = { { 10, 9 }, { 3, 1000 }, { 0, 1 }, { -2, 1 } };
    for (int c = 0; c < 4; c++) {
        float acc[2] = { 1, -1 };
        for (int64_t it = 0; it < cases[c].m; it++) {
            for (int j = 0; j < 2; j++) acc[j] = acc[j] * 0.5f + x[j];
            if (!(acc[0] + acc[1] < cases[c].limit)) break;
        }
        char *ds = pool_fmt(P, "%s/early%d", tmpdir, c);
        Onnx__TensorProto *mt = tensor("M", I64, 0, NULL);
        raw(mt, &cases[c].m, sizeof cases[c].m);
        write_tensor(ds, "input_0.pb", ftensor("x", 1, d2, x, 2));
        write_tensor(ds, "input_1.pb", mt);
        write_tensor(ds, "input_2.pb", ftensor("limit", 0, NULL, &cases[c].limit, 1));
        write_tensor(ds, "output_0.pb", ftensor("acc", 1, d2, acc, 2));
        check_passes(path, ds, "c");
        if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
    }
    /* HLS needs a static trip count: refused with the node named, accepted once frozen */
    const char *hls[] = { "check", path, pool_fmt(P, "%s/early0", tmpdir), "--target", "hls",
                          NULL };
    ck_assert_int_ne(run_onnxcc(hls), 0);
    ck_assert_msg(strstr(output, "node 'the_loop' (Loop)"), "%s", output);
    const char *hls_frozen[] = { "check", path, pool_fmt(P, "%s/early0", tmpdir), "--target",
                                 "hls", "--freeze", "M=10", NULL };
    ck_assert_msg(run_onnxcc(hls_frozen) == 0, "%s", output);
}
END_TEST

/* A Loop ended by its condition alone: refused without a bound, naming the flag; with
 * --max-trip it runs at most N iterations on every target, HLS included (a static bound). */
START_TEST(loop_without_m_max_trip)
{
    char *path = loop_model(2);
    float x[2] = { 2, 1 }, limit = 5.5f;
    int64_t d2[] = { 2 };
    char *ds[2];
    for (int c = 0; c < 2; c++) {
        int bound = c == 0 ? 50 : 2;   /* the condition ends it first, then the bound does */
        float acc[2] = { 1, -1 };
        for (int it = 0; it < bound; it++) {
            for (int j = 0; j < 2; j++) acc[j] = acc[j] * 0.5f + x[j];
            if (!(acc[0] + acc[1] < limit)) break;
        }
        ds[c] = pool_fmt(P, "%s/nom%d", tmpdir, c);
        write_tensor(ds[c], "input_0.pb", ftensor("x", 1, d2, x, 2));
        write_tensor(ds[c], "input_1.pb", ftensor("limit", 0, NULL, &limit, 1));
        write_tensor(ds[c], "output_0.pb", ftensor("acc", 1, d2, acc, 2));
    }
    const char *none[] = { "check", path, ds[0], NULL };
    ck_assert_int_eq(run_onnxcc(none), 1);
    ck_assert_msg(strstr(output, "node 'the_loop' (Loop)") &&
                  strstr(output, "--max-trip the_loop=N"), "%s", output);
    const char *targets[] = { "c", "hls", "x86_64" };
    for (int t = 0; t < (cgen_llvm_available() ? 3 : 2); t++)
        for (int c = 0; c < 2; c++) {
            const char *a[] = { "check", path, ds[c], "--target", targets[t], "--max-trip",
                                c == 0 ? "the_loop=50" : "the_loop=2", NULL };
            ck_assert_msg(run_onnxcc(a) == 0, "%s %d: %s", targets[t], c, output);
        }
    const char *nope[] = { "check", path, ds[0], "--max-trip", "nope=3", NULL };
    ck_assert_int_eq(run_onnxcc(nope), 1);
    ck_assert_msg(strstr(output, "--max-trip nope: the model has no node named 'nope'"), "%s",
                  output);
    const char *zero[] = { "check", path, ds[0], "--max-trip", "the_loop=0", NULL };
    ck_assert_int_eq(run_onnxcc(zero), 2);
}
END_TEST

/* ---- Scan ---- */

START_TEST(scan_reverse_axis1)
{
    /* state s[2] += column t of X[2x3] (scanned along axis 1, backwards); the scan output
     * s * 2 stacked along axis 1, forwards */
    int64_t d2[] = { 2 }, d23[] = { 2, 3 };
    Onnx__GraphProto *b = graph("body");
    ADD_IN(b, vinfo("s_in", F32, 1, d2, NULL));
    ADD_IN(b, vinfo("col", F32, 1, d2, NULL));
    ADD_NODE(b, node("Add", "b_add", "s_in,col", "s_out"));
    ADD_NODE(b, node("Add", "b_dbl", "s_out,s_out", "y"));
    ADD_OUT(b, vinfo("s_out", F32, 1, d2, NULL));
    ADD_OUT(b, vinfo("y", F32, 1, d2, NULL));
    Onnx__GraphProto *g = graph("scan_graph");
    Onnx__NodeProto *n = node("Scan", "the_scan", "s0,X", "sT,Y");
    attr_graph(n, "body", b);
    attr_int(n, "num_scan_inputs", 1);
    attr_int1(n, "scan_input_axes", 1);
    attr_int1(n, "scan_input_directions", 1);
    attr_int1(n, "scan_output_axes", 1);
    ADD_NODE(g, n);
    ADD_IN(g, vinfo("s0", F32, 1, d2, NULL));
    ADD_IN(g, vinfo("X", F32, 2, d23, NULL));
    ADD_OUT(g, vinfo("sT", F32, 1, d2, NULL));
    ADD_OUT(g, vinfo("Y", F32, 2, d23, NULL));
    char *path = write_model(model(g, 16), "scan.onnx", NULL, NULL);
    float s[2] = { 1, 2 }, X[6] = { 1, 2, 3, 4, 5, 6 }, Y[6];
    char *ds = pool_fmt(P, "%s/scan_ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("s0", 1, d2, s, 2));
    write_tensor(ds, "input_1.pb", ftensor("X", 2, d23, X, 6));
    for (int it = 0; it < 3; it++) {
        int t = 2 - it;
        for (int j = 0; j < 2; j++) {
            s[j] += X[j * 3 + t];
            Y[j * 3 + it] = s[j] * 2;
        }
    }
    write_tensor(ds, "output_0.pb", ftensor("sT", 1, d2, s, 2));
    write_tensor(ds, "output_1.pb", ftensor("Y", 2, d23, Y, 6));
    check_passes(path, ds, "c");
    if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
    check_passes(path, ds, "hls");
}
END_TEST

START_TEST(scan_opset8_batched)
{
    /* opset 8: no sequence_lens, batch 2; per batch entry the state s[2] += step t of
     * X[b] (backwards), the scan output s * 2 stacked per step (forwards) */
    int64_t d2[] = { 2 }, d22[] = { 2, 2 }, d232[] = { 2, 3, 2 };
    Onnx__GraphProto *b = graph("body");
    ADD_IN(b, vinfo("s_in", F32, 1, d2, NULL));
    ADD_IN(b, vinfo("x_t", F32, 1, d2, NULL));
    ADD_NODE(b, node("Add", "b_add", "s_in,x_t", "s_out"));
    ADD_NODE(b, node("Add", "b_dbl", "s_out,s_out", "y"));
    ADD_OUT(b, vinfo("s_out", F32, 1, d2, NULL));
    ADD_OUT(b, vinfo("y", F32, 1, d2, NULL));
    Onnx__GraphProto *g = graph("scan8_graph");
    Onnx__NodeProto *n = node("Scan", "the_scan", ",s0,X", "sT,Y");
    attr_graph(n, "body", b);
    attr_int(n, "num_scan_inputs", 1);
    attr_int1(n, "directions", 1);
    ADD_NODE(g, n);
    ADD_IN(g, vinfo("s0", F32, 2, d22, NULL));
    ADD_IN(g, vinfo("X", F32, 3, d232, NULL));
    ADD_OUT(g, vinfo("sT", F32, 2, d22, NULL));
    ADD_OUT(g, vinfo("Y", F32, 3, d232, NULL));
    char *path = write_model(model(g, 8), "scan8.onnx", NULL, NULL);
    float s[4] = { 1, 2, -3, 0.5f }, X[12], Y[12];
    for (int i = 0; i < 12; i++) X[i] = (float)(i * i % 7) - 2.5f;
    char *ds = pool_fmt(P, "%s/scan8_ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("s0", 2, d22, s, 4));
    write_tensor(ds, "input_1.pb", ftensor("X", 3, d232, X, 12));
    for (int bt = 0; bt < 2; bt++)
        for (int it = 0; it < 3; it++) {
            int t = 2 - it;
            for (int j = 0; j < 2; j++) {
                s[bt * 2 + j] += X[(bt * 3 + t) * 2 + j];
                Y[(bt * 3 + it) * 2 + j] = s[bt * 2 + j] * 2;
            }
        }
    write_tensor(ds, "output_0.pb", ftensor("sT", 2, d22, s, 4));
    write_tensor(ds, "output_1.pb", ftensor("Y", 3, d232, Y, 12));
    check_passes(path, ds, "c");
    if (cgen_llvm_available()) check_passes(path, ds, "x86_64");
    check_passes(path, ds, "hls");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("control");
    TCase *tc = tcase_create("control");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, if_runtime_condition);
    tcase_add_test(tc, if_frozen_condition);
    tcase_add_test(tc, if_on_int64_input_runtime_and_frozen);
    tcase_add_test(tc, loop_constant_trip_count);
    tcase_add_test(tc, loop_early_exit);
    tcase_add_test(tc, loop_without_m_max_trip);
    tcase_add_test(tc, scan_reverse_axis1);
    tcase_add_test(tc, scan_opset8_batched);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
