/* test_selfcheck.c — `onnxcc check MODEL` without a data set (compiler/check.c): seeded
 * pseudo-random inputs that fit each input (indices in range, divisors not 0, bool 0/1),
 * the seed printed and repeatable, symbolic dims and compile-time values refused with the
 * option that fixes them, tolerances from --rtol/--atol, and no progress line in output
 * that is not a terminal. Models are built with protobuf-c (protobuild.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"
#include "onnx.pb-c.h"
#include "protobuild.h"

#define I32 ONNX__TENSOR_PROTO__DATA_TYPE__INT32

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_INIT(g, t) PUSH((g)->initializer, (g)->n_initializer, (t))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))

static void setup(void)
{
    pb_setup("selfcheck");
}

static void teardown(void)
{
    pb_teardown();
}

static const char *last_line(void)
{
    size_t len = strlen(output);
    while (len && output[len - 1] == '\n') output[--len] = 0;
    const char *nl = strrchr(output, '\n');
    return nl ? nl + 1 : output;
}

/* y = MatMul(x, w), x float[N,3] with a symbolic N */
static char *matmul_model(void)
{
    int64_t dx[] = { -1, 3 }, dw[] = { 3, 4 }, dy[] = { -1, 4 };
    const char *sx[] = { "N", NULL }, *sy[] = { "N", NULL };
    float w[12];
    for (int i = 0; i < 12; i++) w[i] = (float)(i % 5) * 0.25f - 0.5f;
    Onnx__GraphProto *g = graph("mm");
    ADD_IN(g, vinfo("x", F32, 2, dx, sx));
    ADD_INIT(g, ftensor("w", 2, dw, w, 12));
    ADD_NODE(g, node("MatMul", "mm", "x,w", "y"));
    ADD_OUT(g, vinfo("y", F32, 2, dy, sy));
    return write_model(model(g, 13), "mm.onnx", NULL, NULL);
}

/* Self-checks m (x bound to 2x3) with --keep and reads the program's first input file. */
static void kept_input(const char *m, const char *seed, unsigned char in[24])
{
    const char *args[] = { "check", m, "--shape", "x=2x3", "--seed", seed, "--keep", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    const char *k = strstr(output, "kept: ");
    ck_assert_ptr_nonnull(k);
    char dir[256], path[300];
    ck_assert_int_eq(sscanf(k + 6, "%255s", dir), 1);
    snprintf(path, sizeof path, "%s/in_0.bin", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(in, 1, 24, f), 24);
    fclose(f);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);   /* onnxcc's temp dir, named by it */
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(symbolic_dims_need_shape_then_pass)
{
    char *m = matmul_model();
    const char *bare[] = { "check", m, NULL };
    ck_assert_int_eq(run_onnxcc(bare), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL error: ", 12) && strstr(last_line(), "--shape x="),
                  "%s", output);

    const char *args[] = { "check", m, "--shape", "x=2x3", "--seed", "11", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    ck_assert_str_eq(last_line(), "PASS");
    ck_assert_ptr_nonnull(strstr(output, "seed 11:"));
    ck_assert_ptr_nonnull(strstr(output, "output 'y' float32[2x4]"));
    ck_assert_ptr_nonnull(strstr(output, ": OK"));
    /* a terminal's progress line never reaches output that is not one */
    ck_assert_ptr_null(strchr(output, '\r'));
    ck_assert_ptr_null(strchr(output, '\033'));

    /* the same seed gives the same inputs, another seed others */
    unsigned char a[24], b[24], c[24];
    kept_input(m, "11", a);
    kept_input(m, "11", b);
    kept_input(m, "12", c);
    ck_assert(!memcmp(a, b, sizeof a));
    ck_assert(memcmp(a, c, sizeof a));
    for (int i = 0; i < 6; i++) {   /* floats in [-1, 1) */
        float f;
        memcpy(&f, a + 4 * i, 4);
        ck_assert_msg(f >= -1 && f < 1, "%g", f);
    }
}
END_TEST

/* y = Gather(data, idx) (data float[5,2], idx int64[6] an input), q = Div(a, b) int32:
 * random indices must stay below 5 and random divisors must not be 0, for every seed */
START_TEST(integer_inputs_in_range)
{
    int64_t dd[] = { 5, 2 }, di[] = { 6 }, dy[] = { 6, 2 }, dq[] = { 4 };
    float data[10];
    for (int i = 0; i < 10; i++) data[i] = (float)i;
    Onnx__GraphProto *g = graph("gd");
    ADD_IN(g, vinfo("idx", I64, 1, di, NULL));
    ADD_IN(g, vinfo("a", I32, 1, dq, NULL));
    ADD_IN(g, vinfo("b", I32, 1, dq, NULL));
    ADD_INIT(g, ftensor("data", 2, dd, data, 10));
    ADD_NODE(g, node("Gather", "ga", "data,idx", "y"));
    ADD_NODE(g, node("Div", "dv", "a,b", "q"));
    ADD_OUT(g, vinfo("y", F32, 2, dy, NULL));
    ADD_OUT(g, vinfo("q", I32, 1, dq, NULL));
    char *m = write_model(model(g, 13), "gd.onnx", NULL, NULL);
    static const char *const seeds[] = { "0", "1", "2", "3", "12345678901" };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        const char *args[] = { "check", m, "--seed", seeds[i], NULL };
        ck_assert_msg(run_onnxcc(args) == 0, "seed %s: %s", seeds[i], output);
        ck_assert_str_eq(last_line(), "PASS");
        ck_assert_ptr_nonnull(strstr(output, "output 'q' int32[4]"));
    }
    const char *hls[] = { "check", m, "--seed", "9", "--target", "hls", NULL };
    ck_assert_msg(run_onnxcc(hls) == 0, "%s", output);
    ck_assert_str_eq(last_line(), "PASS");
}
END_TEST

/* z = Where(c, x, Reshape(x, shape)): a bool input, and a shape that must be known when
 * compiling: random values cannot give it, --freeze can */
START_TEST(compile_time_value_needs_freeze)
{
    int64_t d23[] = { 2, 3 }, d2[] = { 2 };
    Onnx__GraphProto *g = graph("rs");
    ADD_IN(g, vinfo("x", F32, 2, d23, NULL));
    ADD_IN(g, vinfo("shape", I64, 1, d2, NULL));
    ADD_IN(g, vinfo("c", BOOL, 2, d23, NULL));
    ADD_NODE(g, node("Reshape", "rs", "x,shape", "r"));
    ADD_NODE(g, node("Where", "wh", "c,x,r", "z"));
    ADD_OUT(g, vinfo("z", F32, 2, d23, NULL));
    char *m = write_model(model(g, 13), "rs.onnx", NULL, NULL);
    const char *bare[] = { "check", m, NULL };
    ck_assert_int_eq(run_onnxcc(bare), 1);
    ck_assert_msg(strstr(last_line(), "FAIL ") && strstr(last_line(), "--freeze shape=VALUES"),
                  "%s", output);
    const char *frozen[] = { "check", m, "--freeze", "shape=2,3", "--seed", "4", NULL };
    ck_assert_msg(run_onnxcc(frozen) == 0, "%s", output);
    ck_assert_str_eq(last_line(), "PASS");
}
END_TEST

/* Gather(data, Add(idx, 3)): an index computed from an integer input is not kept in range
 * by the random values; the interpreter sees it and the line names the input to freeze */
START_TEST(computed_index_names_the_input)
{
    int64_t dd[] = { 5 }, di[] = { 8 }, d1[] = { 1 };
    float data[5] = { 1, 2, 3, 4, 5 };
    Onnx__TensorProto *three = tensor("three", I64, 1, d1);
    int64_t v3 = 3;
    raw(three, &v3, sizeof v3);
    Onnx__GraphProto *g = graph("ga");
    ADD_IN(g, vinfo("idx", I64, 1, di, NULL));
    ADD_INIT(g, ftensor("data", 1, dd, data, 5));
    ADD_INIT(g, three);
    ADD_NODE(g, node("Add", "add", "idx,three", "j"));
    ADD_NODE(g, node("Gather", "ga", "data,j", "y"));
    ADD_OUT(g, vinfo("y", F32, 1, di, NULL));
    char *m = write_model(model(g, 13), "ga.onnx", NULL, NULL);
    const char *args[] = { "check", m, "--seed", "1", NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL error: ", 12) &&
                  strstr(last_line(), "--freeze idx=VALUES") &&
                  strstr(last_line(), "out of range"), "%s", output);
}
END_TEST

START_TEST(options)
{
    char *m = matmul_model();
    /* --shape/--seed belong to the self-check: with a data set they would be ignored */
    const char *with_ds[] = { "check", m, tmpdir, "--seed", "1", NULL };
    ck_assert_int_eq(run_onnxcc(with_ds), 2);
    ck_assert_ptr_nonnull(strstr(output, "--seed"));
    const char *bad_seed[] = { "check", m, "--seed", "-3", NULL };
    ck_assert_int_eq(run_onnxcc(bad_seed), 2);
    const char *bad_seed2[] = { "check", m, "--seed", "x", NULL };
    ck_assert_int_eq(run_onnxcc(bad_seed2), 2);
    /* --atol/--rtol replace the self-check's defaults, and the line says which apply */
    const char *tol[] = { "check", m, "--shape", "x=1x3", "--atol", "0.5", NULL };
    ck_assert_msg(run_onnxcc(tol) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "compared at rtol 0.001, atol 0.5"));
    const char *def[] = { "check", m, "--shape", "x=1x3", NULL };
    ck_assert_msg(run_onnxcc(def) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "compared at rtol 0.001, atol 0.0001"));
    /* without --seed a seed is chosen and printed, so the run can be repeated */
    ck_assert_ptr_nonnull(strstr(output, "(--seed "));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("selfcheck");
    TCase *tc = tcase_create("selfcheck");
    tcase_set_timeout(tc, 240);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, symbolic_dims_need_shape_then_pass);
    tcase_add_test(tc, integer_inputs_in_range);
    tcase_add_test(tc, compile_time_value_needs_freeze);
    tcase_add_test(tc, computed_index_names_the_input);
    tcase_add_test(tc, options);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
