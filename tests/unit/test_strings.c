/* test_strings.c — string tensors through the whole compiler (compiler/ops/strings.c, the
 * cell layout of lower.c, check's string I/O): a constant string tensor laid out in cells
 * and normalized, a float -> string -> float round trip through an arena string, a string
 * graph output, on C and on the x86_64 objects; the one-line refusals (a NUL inside a
 * string, a cast between string and int64, a locale, a string into an operator that takes
 * none). Models are built with protobuf-c; expected outputs are numpy's, written here. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"
#include "codegen.h"
#include "onnx.pb-c.h"
#include "protobuild.h"

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))
#define STR ONNX__TENSOR_PROTO__DATA_TYPE__STRING

static void setup(void)
{
    pb_setup("strings");
}

static void teardown(void)
{
    pb_teardown();
}

static void a_str(Onnx__NodeProto *n, const char *name, const char *s)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)S(s);
    a->s.len = strlen(s);
}

/* the protobuf bytes of each string (a string may be empty) */
static ProtobufCBinaryData *blobs(const char *const *s, size_t n)
{
    ProtobufCBinaryData *b = pool_alloc(P, (n + 1) * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i].data = (uint8_t *)S(s[i]);
        b[i].len = strlen(s[i]);
    }
    return b;
}

static void a_strs(Onnx__NodeProto *n, const char *name, const char *const *s, size_t c)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = c;
    a->strings = blobs(s, c);
}

static Onnx__TensorProto *stensor(const char *name, int rank, const int64_t *dims,
                                  const char *const *s, size_t n)
{
    Onnx__TensorProto *t = tensor(name, STR, rank, dims);
    t->n_string_data = n;
    t->string_data = blobs(s, n);
    return t;
}

#define BOOL_T ONNX__TENSOR_PROTO__DATA_TYPE__BOOL

static Onnx__TensorProto *btensor(const char *name, int rank, const int64_t *dims,
                                  const int *v, size_t n)
{
    Onnx__TensorProto *t = tensor(name, BOOL_T, rank, dims);
    t->n_int32_data = n;
    t->int32_data = pool_alloc(P, (n + 1) * sizeof *t->int32_data);
    for (size_t i = 0; i < n; i++) t->int32_data[i] = v[i];
    return t;
}

static const char *write_model_file(Onnx__GraphProto *g, int opset_v, const char *file)
{
    return write_model(model(g, opset_v), file, NULL, NULL);
}

/* f float[4] -> t = Cast(f, string) (an output), z = Cast(Cast(f, string), float);
 * y = StringNormalizer(Constant ["Alpha", "bEta", "", "Gamma"]), UPPER, stopwords
 * ["BETA", ""] ignoring case: ["ALPHA", "GAMMA"] of a bound of 4 */
START_TEST(constant_and_arena_strings)
{
    Onnx__GraphProto *g = graph("strings");
    Onnx__NodeProto *c = node("Constant", "c", NULL, "words");
    static const char *const words[] = { "Alpha", "bEta", "", "Gamma" };
    a_strs(c, "value_strings", words, 4);
    ADD_NODE(g, c);
    Onnx__NodeProto *sn = node("StringNormalizer", "sn", "words", "y");
    a_str(sn, "case_change_action", "UPPER");
    static const char *const stop[] = { "BETA", "" };
    a_strs(sn, "stopwords", stop, 2);
    ADD_NODE(g, sn);
    Onnx__NodeProto *c1 = node("Cast", "to_text", "f", "t");
    attr_int(c1, "to", STR);
    ADD_NODE(g, c1);
    Onnx__NodeProto *c2 = node("Cast", "to_text2", "f", "mid");
    attr_int(c2, "to", STR);
    ADD_NODE(g, c2);
    Onnx__NodeProto *c3 = node("Cast", "back", "mid", "z");
    attr_int(c3, "to", F32);
    ADD_NODE(g, c3);
    int64_t d4[1] = { 4 }, d2[1] = { 2 };
    ADD_IN(g, vinfo("f", F32, 1, d4, NULL));
    ADD_OUT(g, vinfo("y", STR, 1, d2, NULL));
    ADD_OUT(g, vinfo("t", STR, 1, d4, NULL));
    ADD_OUT(g, vinfo("z", F32, 1, d4, NULL));
    const char *path = write_model_file(g, 13, "strings.onnx");

    char *ds = pool_fmt(P, "%s/ds", tmpdir);
    float f[4] = { 0.1f, -2.5e-7f, NAN, 123456789.0f };
    write_tensor(ds, "input_0.pb", ftensor("f", 1, d4, f, 4));
    static const char *const y[] = { "ALPHA", "GAMMA" };
    write_tensor(ds, "output_0.pb", stensor("y", 1, d2, y, 2));
    static const char *const t[] = { "0.1", "-2.5e-07", "nan", "123456790.0" };
    write_tensor(ds, "output_1.pb", stensor("t", 1, d4, t, 4));
    write_tensor(ds, "output_2.pb", ftensor("z", 1, d4, f, 4));
    check_passes(path, ds, "c");
    ck_assert_msg(strstr(output, "output 'y': string[2] at run time (bound string[4])"), "%s",
                  output);
    if (cgen_llvm_available()) check_passes(path, ds, "x86_64");

    /* a wrong string is a mismatch that names both, quoted */
    static const char *const t_bad[] = { "0.1", "-2.5e-07", "nan", "123456789.0" };
    write_tensor(ds, "output_1.pb", stensor("t", 1, d4, t_bad, 4));
    const char *args[] = { "check", path, ds, NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(strstr(output, "at [3]: got \"123456790.0\", expected \"123456789.0\""), "%s",
                  output);
}
END_TEST

/* y = StringConcat(a, b), e = Equal(a, b) with broadcasting, in cells of --max-string 5:
 * what does not fit is cut at the cell ("hello" + "xyz" -> "hello"); equal strings are
 * equal whatever their cells held, a prefix is not equal */
START_TEST(concat_and_equal)
{
    Onnx__GraphProto *g = graph("sc");
    ADD_NODE(g, node("StringConcat", "cat", "a,b", "y"));
    ADD_NODE(g, node("Equal", "eq", "a,b", "e"));
    ADD_NODE(g, node("Equal", "eqs", "a,one", "e1"));
    int64_t d3[1] = { 3 }, d1[1] = { 1 };
    ADD_IN(g, vinfo("a", STR, 1, d3, NULL));
    ADD_IN(g, vinfo("b", STR, 1, d3, NULL));
    ADD_IN(g, vinfo("one", STR, 1, d1, NULL));
    ADD_OUT(g, vinfo("y", STR, 1, d3, NULL));
    ADD_OUT(g, vinfo("e", BOOL_T, 1, d3, NULL));
    ADD_OUT(g, vinfo("e1", BOOL_T, 1, d3, NULL));
    const char *path = write_model_file(g, 20, "concat.onnx");
    char *ds = pool_fmt(P, "%s/ds_cat", tmpdir);
    static const char *const a[] = { "abc", "hello", "x" }, *const b[] = { "de", "xyz", "xy" };
    static const char *const one[] = { "x" }, *const y[] = { "abcde", "hello", "xxy" };
    write_tensor(ds, "input_0.pb", stensor("a", 1, d3, a, 3));
    write_tensor(ds, "input_1.pb", stensor("b", 1, d3, b, 3));
    write_tensor(ds, "input_2.pb", stensor("one", 1, d1, one, 1));
    write_tensor(ds, "output_0.pb", stensor("y", 1, d3, y, 3));
    const int e[3] = { 0, 0, 0 }, e1[3] = { 0, 0, 1 };
    write_tensor(ds, "output_1.pb", btensor("e", 1, d3, e, 3));
    write_tensor(ds, "output_2.pb", btensor("e1", 1, d3, e1, 3));
    const char *targets[] = { "c", "x86_64" };
    for (int t = 0; t < 2; t++) {
        if (t == 1 && !cgen_llvm_available()) continue;
        const char *args[] = { "check", path, ds, "--max-string", "5", "--target", targets[t],
                               NULL };
        int rc = run_onnxcc(args);
        ck_assert_msg(rc == 0, "%s: exit %d\n%s", targets[t], rc, output);
    }
    /* a wrong expectation fails: the cut is where the cell ends */
    static const char *const y_bad[] = { "abcde", "helloxyz", "xxy" };
    write_tensor(ds, "output_0.pb", stensor("y", 1, d3, y_bad, 3));
    const char *args[] = { "check", path, ds, "--max-string", "5", NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
}
END_TEST

/* one line, exit 1, no output written */
static void expect_refused(const char *path, const char *why)
{
    char *out = pool_fmt(P, "%s/out", tmpdir);
    const char *args[] = { "compile", path, "-o", out, NULL };
    int rc = run_onnxcc(args);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(output, why), "want '%s', got: %s", why, output);
    char *nl = strchr(output, '\n');
    ck_assert_msg(nl && nl[1] == 0, "not one line: %s", output);
    FILE *fp = fopen(pool_fmt(P, "%s/out.c", out), "r");
    ck_assert_ptr_null(fp);
}

START_TEST(refusals)
{
    int64_t d2[1] = { 2 };
    /* a NUL inside a string of the model */
    Onnx__GraphProto *g = graph("nul");
    Onnx__NodeProto *sn = node("StringNormalizer", "sn", "w", "y");
    ADD_NODE(g, sn);
    Onnx__TensorProto *w = tensor("w", STR, 1, d2);
    w->n_string_data = 2;
    w->string_data = pool_alloc(P, 2 * sizeof *w->string_data);
    w->string_data[0].data = (uint8_t *)S("a");
    w->string_data[0].len = 1;
    w->string_data[1].data = (uint8_t *)pool_dup(P, "b\0c", 3);
    w->string_data[1].len = 3;
    PUSH(g->initializer, g->n_initializer, w);
    ADD_OUT(g, vinfo("y", STR, 1, d2, NULL));
    expect_refused(write_model_file(g, 13, "nul.onnx"), "holds a NUL byte");

    /* string -> int64 */
    g = graph("toint");
    Onnx__NodeProto *c = node("Cast", "c", "x", "y");
    attr_int(c, "to", I64);
    ADD_NODE(g, c);
    ADD_IN(g, vinfo("x", STR, 1, d2, NULL));
    ADD_OUT(g, vinfo("y", I64, 1, d2, NULL));
    expect_refused(write_model_file(g, 13, "toint.onnx"),
                   "node 'c' (Cast): cast from string to int64 is unsupported");

    /* a locale other than the default */
    g = graph("locale");
    sn = node("StringNormalizer", "sn", "x", "y");
    a_str(sn, "locale", "tr_TR");
    ADD_NODE(g, sn);
    ADD_IN(g, vinfo("x", STR, 1, d2, NULL));
    ADD_OUT(g, vinfo("y", STR, 1, d2, NULL));
    expect_refused(write_model_file(g, 13, "locale.onnx"), "locale 'tr_TR' is unsupported");

    /* an operator that takes no strings */
    g = graph("ident");
    ADD_NODE(g, node("Transpose", "tr", "x", "y"));
    ADD_IN(g, vinfo("x", STR, 1, d2, NULL));
    ADD_OUT(g, vinfo("y", STR, 1, d2, NULL));
    expect_refused(write_model_file(g, 13, "ident.onnx"),
                   "node 'tr' (Transpose): unsupported data type string on input 'x'");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("strings");
    TCase *tc = tcase_create("strings");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, constant_and_arena_strings);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, concat_and_equal);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
