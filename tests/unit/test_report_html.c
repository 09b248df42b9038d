/* test_report_html.c — `onnxcc report --html` (compiler/report_html.c) at the unit level:
 * rhtml_escape on its own, a model whose node and value names carry markup (<script>,
 * quotes, &) comes out escaped everywhere with exactly one chart rectangle per arena
 * tensor, and a page that cannot be written is one error line, exit 1 and no file. The
 * page in a browser is tests/report/run.sh. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "onnxcc.h"
#include "onnx.pb-c.h"
#include "protobuild.h"

static void setup(void)
{
    pb_setup("report_html");
}

static void teardown(void)
{
    pb_teardown();
}

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_INIT(g, t) PUSH((g)->initializer, (g)->n_initializer, (t))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))

#define EVIL_NODE "<script>alert(\"n\")</script>&'"
#define EVIL_VALUE "a<b>&\"c'"

/* y = ((x W1) W2) W3 with x [1x4]: MatMul neither fuses nor folds, so the two
 * intermediates are the arena's only tensors. The first MatMul and its output carry
 * markup in their names. */
static char *evil_model(void)
{
    int64_t dx[] = { 1, 4 }, dw[] = { 4, 4 };
    float w[16];
    for (int i = 0; i < 16; i++) w[i] = (float)(i % 5) - 2.0f;
    Onnx__GraphProto *g = graph("evil");
    ADD_NODE(g, node("MatMul", EVIL_NODE, "x,w1", EVIL_VALUE));
    ADD_NODE(g, node("MatMul", "second", EVIL_VALUE ",w2", "b"));
    ADD_NODE(g, node("MatMul", "third", "b,w3", "y"));
    ADD_INIT(g, ftensor("w1", 2, dw, w, 16));
    ADD_INIT(g, ftensor("w2", 2, dw, w, 16));
    ADD_INIT(g, ftensor("w3", 2, dw, w, 16));
    ADD_IN(g, vinfo("x", F32, 2, dx, NULL));
    ADD_OUT(g, vinfo("y", F32, 2, dx, NULL));
    return write_model(model(g, 13), "evil.onnx", NULL, NULL);
}

static char *slurp(const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    ck_assert_msg(read_file(path, &data, &len) == 0, "cannot read %s", path);
    char *s = pool_alloc(P, len + 1);
    memcpy(s, data, len);
    free(data);
    return s;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle)) n++;
    return n;
}

START_TEST(escape_function)
{
    StrBuf sb;
    sb_init(&sb);
    rhtml_escape(&sb, "<script>&\"'\x01ok");
    ck_assert_str_eq(sb.buf, "&lt;script&gt;&amp;&quot;&#39; ok");
    sb_free(&sb);
    /* longer than the escaper's internal run buffer, and NULL */
    char big[700];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[400] = '<';
    sb_init(&sb);
    rhtml_escape(&sb, big);
    rhtml_escape(&sb, NULL);
    ck_assert_uint_eq(sb.len, sizeof big - 1 + 3);
    ck_assert(!strncmp(sb.buf + 400, "&lt;x", 5));
    sb_free(&sb);
}
END_TEST

START_TEST(names_are_escaped)
{
    char *m = evil_model();
    char *html = pool_fmt(P, "%s/page.html", tmpdir);
    const char *args[] = { "report", m, "--html", html, NULL };
    int rc = run_onnxcc(args);
    ck_assert_msg(rc == 0, "report --html: exit %d\n%s", rc, output);
    ck_assert_msg(strstr(output, "2 planned tensors in the memory chart"), "%s", output);
    char *page = slurp(html);
    /* the raw names never appear; their escaped forms do */
    ck_assert_ptr_null(strstr(page, "<script>alert"));
    ck_assert_ptr_null(strstr(page, "a<b>"));
    ck_assert_ptr_nonnull(strstr(page, "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;&amp;&#39;"));
    ck_assert_ptr_nonnull(strstr(page, "a&lt;b&gt;&amp;&quot;c&#39;"));
    /* the page's own two scripts are its only ones */
    ck_assert_int_eq(count(page, "<script>"), 2);
    /* one rectangle per arena tensor, the marked value's among them */
    ck_assert_int_eq(count(page, "<rect class=\"t\""), 2);
    ck_assert_ptr_nonnull(strstr(page, "<title>a&lt;b&gt;&amp;&quot;c&#39;"));
    /* self-contained: nothing to fetch */
    ck_assert_ptr_null(strstr(page, "http://"));
    ck_assert_ptr_null(strstr(page, "https://"));
    ck_assert_ptr_nonnull(strstr(page, "default-src 'none'"));
    /* the weights per layer: three MatMuls reading 64 bytes (or more, packed) each */
    ck_assert_ptr_nonnull(strstr(page, "<table id=\"weights\">"));
    ck_assert_int_eq(count(page, "<span class=\"bar\""), 3);
}
END_TEST

START_TEST(unwritable_page_is_an_error)
{
    char *m = evil_model();
    char *html = pool_fmt(P, "%s/no/such/dir/page.html", tmpdir);
    const char *args[] = { "report", m, "--html", html, NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(strstr(output, "onnxcc: error: ") && strstr(output, "cannot write the HTML report"),
                  "%s", output);
    /* the error comes before the table: nothing else is printed */
    ck_assert_int_eq(count(output, "\n"), 1);
    struct stat st;
    ck_assert_int_ne(stat(html, &st), 0);

    /* a directory in the page's place stays a directory, with nothing left beside it */
    char *dir = pool_fmt(P, "%s/adir", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0777), 0);
    const char *args2[] = { "report", m, "--html", dir, NULL };
    ck_assert_int_eq(run_onnxcc(args2), 1);
    ck_assert_ptr_nonnull(strstr(output, "cannot write the HTML report"));
    ck_assert(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    char *ls = pool_fmt(P, "ls %s | grep -c adir.tmp", tmpdir);
    FILE *f = popen(ls, "r");
    int leftovers = -1;
    ck_assert(f && fscanf(f, "%d", &leftovers) == 1);
    pclose(f);
    ck_assert_int_eq(leftovers, 0);

    /* --html belongs to report alone */
    const char *args3[] = { "compile", m, "-o", tmpdir, "--html", html, NULL };
    ck_assert_int_eq(run_onnxcc(args3), 2);
    ck_assert_ptr_nonnull(strstr(output, "'--html' does not apply to 'compile'"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("report_html");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, escape_function);
    tcase_add_test(tc, names_are_escaped);
    tcase_add_test(tc, unwritable_page_is_an_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
