/* test_sequence.c — sequences and optionals as compile-time lists (compiler/ops/sequence.c):
 * the list operators fold away (no node of theirs is lowered, SequenceLength and
 * OptionalHasElement become constants), readers of elements become Identity/Concat/Split;
 * sequence graph inputs and outputs are one NAME_run parameter per element, bound by
 * --shape NAME[K]=DIMS, an optional input bound absent by --none; check reads
 * SequenceProto/OptionalProto data; errors name the node and op. Values are checked by
 * `onnxcc check` against outputs computed here, on the C, x86_64 and HLS back ends. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "onnxcc.h"
#include "codegen.h"
#include "onnx.pb-c.h"
#include "protobuild.h"

static void setup(void)
{
    pb_setup("sequence");
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

/* A TypeProto sequence(tensor(dt)) or optional(tensor(dt)) of unknown element shape. */
static Onnx__ValueInfoProto *list_info(const char *name, int dt, int kind)
{
    Onnx__ValueInfoProto *vi = vinfo(name, dt, -1, NULL, NULL);
    Onnx__TypeProto *elem = vi->type;
    Onnx__TypeProto *tp = pool_alloc(P, sizeof *tp);
    onnx__type_proto__init(tp);
    if (kind == DECL_SEQ) {
        Onnx__TypeProto__Sequence *s = pool_alloc(P, sizeof *s);
        onnx__type_proto__sequence__init(s);
        s->elem_type = elem;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        tp->sequence_type = s;
    } else {
        Onnx__TypeProto__Optional *o = pool_alloc(P, sizeof *o);
        onnx__type_proto__optional__init(o);
        o->elem_type = elem;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
        tp->optional_type = o;
    }
    vi->type = tp;
    return vi;
}

/* SequenceProto { name, elem_type = TENSOR, tensor_values... } on the wire (onnx-data.proto
 * is not among the generated bindings). */
static void put_varint(unsigned char *b, size_t *n, uint64_t v)
{
    do {
        b[(*n)++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

static void write_sequence(const char *dir, const char *file, const char *name,
                           Onnx__TensorProto **ts, int n)
{
    mkdir(dir, 0777);
    unsigned char *b = pool_alloc(P, 4096);
    size_t len = 0;
    b[len++] = 0x0a;
    put_varint(b, &len, strlen(name));
    memcpy(b + len, name, strlen(name));
    len += strlen(name);
    b[len++] = 0x10;
    b[len++] = 1;
    for (int i = 0; i < n; i++) {
        size_t tl = onnx__tensor_proto__get_packed_size(ts[i]);
        ck_assert_uint_lt(len + tl + 8, 4096);
        b[len++] = 0x1a;
        put_varint(b, &len, tl);
        onnx__tensor_proto__pack(ts[i], b + len);
        len += tl;
    }
    FILE *f = fopen(pool_fmt(P, "%s/%s", dir, file), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void check_all_targets(const char *model, const char *ds)
{
    check_passes(model, ds, "c");
    if (cgen_llvm_available()) check_passes(model, ds, "x86_64");
    check_passes(model, ds, "hls");
}

/* lowers for target c; NULL with *err on a failure before lowering */
static KProg *lower_model(const char *path, const LoadOptions *lo, char **err)
{
    Graph *g = load_model(P, path, lo, err);
    if (!g) return NULL;
    if (shape_infer(g) != 0) {
        *err = g->err;
        return NULL;
    }
    ck_assert_int_eq(passes_run(g, target_find("c")), 0);
    KProg *p = lower_graph(g, "m", target_find("c"), err);
    ck_assert_msg(p != NULL, "lower: %s", *err ? *err : "?");
    return p;
}

static Onnx__TensorProto *i64s(const char *name, const int64_t *v, int n, int rank)
{
    int64_t d[1] = { n };
    Onnx__TensorProto *t = tensor(name, I64, rank, d);
    raw(t, v, (size_t)n * sizeof *v);
    return t;
}

/* ---- list operators inside a graph ---- */

/* x, z: f32[2]. s = [x, x+x]; s2 = insert z at 0 -> [z, x, x+x]; s3 = erase -1 -> [z, x];
 * len = 2; a = s3[1] = x; c = concat(s3) = [z, x]; t = split c as [1, 3]; u = t[-1]. */
static char *ops_model(int pos_input)
{
    int64_t d2[] = { 2 }, d3[] = { 3 }, d4[] = { 4 };
    Onnx__GraphProto *g = graph("seq_ops");
    ADD_NODE(g, node("Add", "dbl", "x,x", "x2"));
    ADD_NODE(g, node("SequenceConstruct", "make", "x,x2", "s"));
    ADD_NODE(g, node("SequenceInsert", "ins", pos_input ? "s,z,p" : "s,z,zero", "s2"));
    ADD_NODE(g, node("SequenceErase", "erase", "s2,minus1", "s3"));
    ADD_NODE(g, node("SequenceLength", "len", "s3", "len"));
    ADD_NODE(g, node("SequenceAt", "at", "s3,one", "a"));
    Onnx__NodeProto *cat = node("ConcatFromSequence", "cat", "s3", "c");
    attr_int(cat, "axis", 0);
    ADD_NODE(g, cat);
    ADD_NODE(g, node("SplitToSequence", "split", "c,sizes", "t"));
    ADD_NODE(g, node("SequenceAt", "last", "t,minus1", "u"));
    int64_t zero = 0, one = 1, minus1 = -1, sizes[2] = { 1, 3 };
    ADD_INIT(g, i64s("zero", &zero, 1, 0));
    ADD_INIT(g, i64s("one", &one, 1, 0));
    ADD_INIT(g, i64s("minus1", &minus1, 1, 0));
    ADD_INIT(g, i64s("sizes", sizes, 2, 1));
    ADD_IN(g, vinfo("x", F32, 1, d2, NULL));
    ADD_IN(g, vinfo("z", F32, 1, d2, NULL));
    if (pos_input) ADD_IN(g, vinfo("p", I64, 0, NULL, NULL));
    ADD_OUT(g, vinfo("len", I64, 0, NULL, NULL));
    ADD_OUT(g, vinfo("a", F32, 1, d2, NULL));
    ADD_OUT(g, vinfo("c", F32, 1, d4, NULL));
    ADD_OUT(g, vinfo("u", F32, 1, d3, NULL));
    return write_model(model(g, 15), pos_input ? "ops_p.onnx" : "ops.onnx", NULL, NULL);
}

START_TEST(list_ops_fold_away)
{
    char *path = ops_model(0);
    char *err = NULL;
    KProg *p = lower_model(path, NULL, &err);
    ck_assert_msg(p, "%s", err);
    ck_assert_int_eq(p->ninputs, 2);
    ck_assert_int_eq(p->noutputs, 4);
    /* SequenceLength is a constant; no function is named after a list operator */
    ck_assert_ptr_nonnull(p->tensors[p->outputs[0]].src_name);
    for (int i = 0; i < p->nfuncs; i++)
        ck_assert_msg(!strstr(p->funcs[i]->name, "make") && !strstr(p->funcs[i]->name, "ins") &&
                      !strstr(p->funcs[i]->name, "erase"), "%s", p->funcs[i]->name);
    kprog_free(p);

    float x[2] = { 1.5f, -2 }, z[2] = { 7, 8 };
    int64_t d2[] = { 2 }, d3[] = { 3 }, d4[] = { 4 }, len = 2;
    float c[4] = { z[0], z[1], x[0], x[1] };
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("x", 1, d2, x, 2));
    write_tensor(ds, "input_1.pb", ftensor("z", 1, d2, z, 2));
    write_tensor(ds, "output_0.pb", i64s("len", &len, 1, 0));
    write_tensor(ds, "output_1.pb", ftensor("a", 1, d2, x, 2));
    write_tensor(ds, "output_2.pb", ftensor("c", 1, d4, c, 4));
    write_tensor(ds, "output_3.pb", ftensor("u", 1, d3, c + 1, 3));
    check_all_targets(path, ds);

    /* a run-time position: one error line naming the node and op; check freezes it */
    char *pp = ops_model(1);
    ck_assert_ptr_null(lower_model(pp, NULL, &err));
    ck_assert_msg(strstr(err, "node 'ins' (SequenceInsert)") && !strchr(err, '\n'), "%s", err);
    int64_t zero = 0;
    write_tensor(ds, "input_2.pb", i64s("p", &zero, 1, 0));
    check_passes(pp, ds, "c");
}
END_TEST

/* ---- sequences and optionals as graph inputs and outputs ---- */

/* out = insert(seq, t) at the back; n = length(out); o = Optional(t); h = has(opt) */
static char *io_model(void)
{
    int64_t d2[] = { 2 };
    Onnx__GraphProto *g = graph("seq_io");
    ADD_NODE(g, node("SequenceInsert", "ins", "seq,t", "out"));
    ADD_NODE(g, node("SequenceLength", "len", "out", "n"));
    ADD_NODE(g, node("OptionalHasElement", "has", "opt", "h"));
    ADD_IN(g, list_info("seq", F32, DECL_SEQ));
    ADD_IN(g, vinfo("t", F32, 1, d2, NULL));
    ADD_IN(g, list_info("opt", F32, DECL_OPT_TENSOR));
    ADD_OUT(g, list_info("out", F32, DECL_SEQ));
    ADD_OUT(g, vinfo("n", I64, 0, NULL, NULL));
    ADD_OUT(g, vinfo("h", BOOL, 0, NULL, NULL));
    return write_model(model(g, 15), "io.onnx", NULL, NULL);
}

START_TEST(list_graph_io)
{
    char *path = io_model();
    char *err = NULL;
    const char *names[] = { "seq[0]", "seq[1]", "opt" };
    Type types[3] = { { DT_F32, 1, { 3 } }, { DT_F32, 1, { 1 } }, { DT_F32, 0, { 0 } } };
    const char *none[] = { "opt" };
    LoadOptions lo = { .shape_names = names, .shape_types = types, .nshapes = 0,
                       .none_names = none, .nnone = 1 };
    /* unbound: the message says how to bind the elements */
    ck_assert_ptr_null(lower_model(path, &lo, &err));
    ck_assert_msg(strstr(err, "'seq[0]=DIMS'") && !strchr(err, '\n'), "%s", err);
    lo.nshapes = 2;
    KProg *p = lower_model(path, &lo, &err);
    ck_assert_msg(p, "%s", err);
    /* seq[0], seq[1], t in; out[0..2], n, h out; the absent optional is no parameter */
    ck_assert_int_eq(p->ninputs, 3);
    ck_assert_str_eq(p->tensors[p->inputs[1]].src_name, "seq[1]");
    ck_assert_int_eq(p->noutputs, 5);
    ck_assert_str_eq(p->tensors[p->outputs[2]].src_name, "out[2]");
    ck_assert_int_eq(p->tensors[p->outputs[2]].dims[0], 2);
    kprog_free(p);
    lo.nshapes = 3;
    lo.nnone = 0;
    p = lower_model(path, &lo, &err);
    ck_assert_msg(p, "%s", err);
    ck_assert_int_eq(p->ninputs, 4);
    kprog_free(p);

    /* check binds all of it from the data set */
    float a[3] = { 1, 2, 3 }, b[1] = { 4 }, t[2] = { 5, 6 };
    int64_t d1[] = { 1 }, d2[] = { 2 }, d3[] = { 3 }, n = 3;
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    Onnx__TensorProto *in[2] = { ftensor("", 1, d3, a, 3), ftensor("", 1, d1, b, 1) };
    write_sequence(ds, "input_0.pb", "seq", in, 2);
    write_tensor(ds, "input_1.pb", ftensor("t", 1, d2, t, 2));
    write_bytes("ds/input_2.pb", "\x0a\x03opt\x10\x01", 7);   /* OptionalProto, no value */
    Onnx__TensorProto *out[3] = { in[0], in[1], ftensor("", 1, d2, t, 2) };
    write_sequence(ds, "output_0.pb", "out", out, 3);
    write_tensor(ds, "output_1.pb", i64s("n", &n, 1, 0));
    uint8_t no = 0;
    Onnx__TensorProto *h = tensor("h", BOOL, 0, NULL);
    raw(h, &no, 1);
    write_tensor(ds, "output_2.pb", h);
    check_all_targets(path, ds);
}
END_TEST

/* ---- a Loop that carries a sequence: unrolled at compile time ---- */

/* out = concat(Loop M=3 over s = [] inserting Add(e, e) each turn), e = SequenceAt(src, i)
 * of an outer list of constants (runtime: e = Add(x, x) of a graph input, refused) */
static char *loop_model(int runtime)
{
    int64_t d2[] = { 2 }, d6[] = { 6 };
    Onnx__GraphProto *body = graph("body");
    if (runtime)
        ADD_NODE(body, node("Add", "e_rt", "x,x", "e"));
    else
        ADD_NODE(body, node("SequenceAt", "pick", "src,i", "e"));
    ADD_NODE(body, node("Add", "twice", "e,e", "f"));
    ADD_NODE(body, node("SequenceInsert", "grow", "s_in,f", "s_out"));
    ADD_NODE(body, node("Identity", "keep", "c_in", "c_out"));
    ADD_IN(body, vinfo("i", I64, 0, NULL, NULL));
    ADD_IN(body, vinfo("c_in", BOOL, 0, NULL, NULL));
    ADD_IN(body, vinfo("s_in", -1, 0, NULL, NULL));
    ADD_OUT(body, vinfo("c_out", -1, 0, NULL, NULL));
    ADD_OUT(body, vinfo("s_out", -1, 0, NULL, NULL));
    Onnx__GraphProto *g = graph("loop_seq");
    float k[3][2] = { { 1, 2 }, { 3, 4 }, { 5, 6 } };
    ADD_INIT(g, ftensor("k0", 1, d2, k[0], 2));
    ADD_INIT(g, ftensor("k1", 1, d2, k[1], 2));
    ADD_INIT(g, ftensor("k2", 1, d2, k[2], 2));
    int64_t three = 3;
    ADD_INIT(g, i64s("M", &three, 1, 0));
    ADD_NODE(g, node("SequenceConstruct", "src_make", "k0,k1,k2", "src"));
    ADD_NODE(g, node("SequenceEmpty", "empty", NULL, "s0"));
    Onnx__NodeProto *loop = node("Loop", "unroll", "M,,s0", "s_final");
    attr(loop, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = body;
    ADD_NODE(g, loop);
    Onnx__NodeProto *cat = node("ConcatFromSequence", "cat", "s_final", "y");
    attr_int(cat, "axis", 0);
    ADD_NODE(g, cat);
    ADD_IN(g, vinfo("x", F32, 1, d2, NULL));
    ADD_OUT(g, vinfo("y", F32, 1, d6, NULL));
    return write_model(model(g, 16), runtime ? "loop_rt.onnx" : "loop.onnx", NULL, NULL);
}

START_TEST(loop_over_sequence_unrolled)
{
    char *path = loop_model(0);
    char *err = NULL;
    KProg *p = lower_model(path, NULL, &err);
    ck_assert_msg(p, "%s", err);
    for (int i = 0; i < p->nfuncs; i++)   /* folded whole: no function of the Loop is left */
        ck_assert_msg(!strstr(p->funcs[i]->name, "unroll"), "%s", p->funcs[i]->name);
    kprog_free(p);
    /* each turn picks its own element: the rewrite of SequenceAt is undone per iteration */
    float x[2] = { 0, 0 }, y[6] = { 2, 4, 6, 8, 10, 12 };
    int64_t d2[] = { 2 }, d6[] = { 6 };
    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    write_tensor(ds, "input_0.pb", ftensor("x", 1, d2, x, 2));
    write_tensor(ds, "output_0.pb", ftensor("y", 1, d6, y, 6));
    check_all_targets(path, ds);

    char *rt = loop_model(1);
    ck_assert_ptr_null(lower_model(rt, NULL, &err));
    ck_assert_msg(strstr(err, "node 'unroll' (Loop)") && strstr(err, "computed at run time") &&
                  !strchr(err, '\n'), "%s", err);
}
END_TEST

START_TEST(list_errors)
{
    int64_t d2[] = { 2 };
    Onnx__GraphProto *g = graph("bad");
    Onnx__NodeProto *cat = node("ConcatFromSequence", "stack", "s", "c");
    attr_int(cat, "new_axis", 1);
    ADD_NODE(g, node("SequenceConstruct", "make", "x,x", "s"));
    ADD_NODE(g, cat);
    ADD_IN(g, vinfo("x", F32, 1, d2, NULL));
    int64_t d22[] = { 2, 2 };
    ADD_OUT(g, vinfo("c", F32, 2, d22, NULL));
    char *path = write_model(model(g, 15), "bad.onnx", NULL, NULL);
    char *err = NULL;
    ck_assert_ptr_null(lower_model(path, NULL, &err));
    ck_assert_msg(strstr(err, "node 'stack' (ConcatFromSequence)") && strstr(err, "new_axis") &&
                  !strchr(err, '\n'), "%s", err);

    Onnx__GraphProto *g2 = graph("bad2");
    ADD_NODE(g2, node("SequenceAt", "at", "x,zero", "y"));
    int64_t zero = 0;
    ADD_INIT(g2, i64s("zero", &zero, 1, 0));
    ADD_IN(g2, vinfo("x", F32, 1, d2, NULL));
    ADD_OUT(g2, vinfo("y", F32, 1, d2, NULL));
    path = write_model(model(g2, 15), "bad2.onnx", NULL, NULL);
    ck_assert_ptr_null(lower_model(path, NULL, &err));
    ck_assert_msg(strstr(err, "node 'at' (SequenceAt)") && strstr(err, "not a sequence"), "%s",
                  err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sequence");
    TCase *tc = tcase_create("sequence");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, list_ops_fold_away);
    tcase_add_test(tc, list_graph_io);
    tcase_add_test(tc, loop_over_sequence_unrolled);
    tcase_add_test(tc, list_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
