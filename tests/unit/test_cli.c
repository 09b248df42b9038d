/* test_cli.c — what the command line prints for bad models, beyond test_driver's cases:
 * user data inside messages (node names, op types) cannot break the one-line error. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnx.pb-c.h"
#include "protobuild.h"

static void setup(void)
{
    pb_setup("cli");
}

static void teardown(void)
{
    pb_teardown();
}

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

START_TEST(names_with_newlines_stay_on_one_line)
{
    /* an unknown op on a node whose name holds a newline, a tab and an escape: the error
     * stays one line (a newline reads as a space) and the other control characters are
     * written escaped (before: raw, an escape sequence reached the user's terminal) */
    int64_t d[] = { 4 };
    Onnx__GraphProto *g = graph("g");
    ADD_NODE(g, node("NoSuchOp", "bad\nnode\t\x1b", "x", "y"));
    ADD_IN(g, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d, NULL));
    ADD_OUT(g, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d, NULL));
    char *path = write_model(model(g, 13), "nl.onnx", NULL, NULL);
    char out[600];
    snprintf(out, sizeof out, "%s.out", path);
    const char *args[] = { "compile", path, "-o", out, NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(count_lines(output) == 1, "%s", output);
    ck_assert_msg(strstr(output, "'bad node\\t\\x1b'") && strstr(output, "NoSuchOp"), "%s",
                  output);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, names_with_newlines_stay_on_one_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
