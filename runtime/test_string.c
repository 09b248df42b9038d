/* test_string.c — Check tests of the string kernels (rt_string.c) on odd inputs: float
 * text as numpy's str() of a float32 writes it (the expected strings are numpy's), every
 * float32 bit pattern class read back exactly, text that is not a number, empty and full
 * cells, cells without a NUL, bytes outside ASCII left alone by case changes. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc_rt.h"

#define CAP 32

static const char *fmt1(float x)
{
    static unsigned char cell[CAP];
    memset(cell, 0x55, sizeof cell);
    rt_str_from_f32(&x, cell, 1, CAP);
    ck_assert_msg(memchr(cell, 0, CAP) != NULL, "cell not terminated");
    return (const char *)cell;
}

static float parse1(const char *s)
{
    unsigned char cell[CAP];
    memset(cell, 0, sizeof cell);
    memcpy(cell, s, strlen(s));
    float y = 12345.0f;
    rt_str_to_f32(cell, &y, 1, CAP);
    return y;
}

static float bits_f32(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

START_TEST(test_format_numpy)
{
    static const struct { float x; const char *want; } cases[] = {
        { 0.9767611f, "0.9767611" }, { 0.03918779f, "0.03918779" }, { 1.0f, "1.0" },
        { 0.0f, "0.0" }, { -0.0f, "-0.0" }, { 0.1f, "0.1" }, { 1.0f / 3, "0.33333334" },
        { 100.0f, "100.0" }, { -2.5f, "-2.5" }, { 16777216.0f, "16777216.0" },
        { 123456789.0f, "123456790.0" }, { 0.0001f, "1e-04" } /* float32 0.0001 is just below 1e-4 */, { 0.00012345f, "0.00012345" },
        { 1e-5f, "1e-05" }, { 1.5e-5f, "1.5e-05" }, { -1e-5f, "-1e-05" }, { 1e16f, "1e+16" },
        { 1e15f, "1000000000000000.0" }, { 3.4028235e38f, "3.4028235e+38" },
        { 1.1754944e-38f, "1.1754944e-38" }, { 1e-45f, "1e-45" }, { 1e10f, "10000000000.0" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(fmt1(cases[i].x), cases[i].want);
    ck_assert_str_eq(fmt1(NAN), "nan");
    ck_assert_str_eq(fmt1(-NAN), "nan");
    ck_assert_str_eq(fmt1(INFINITY), "inf");
    ck_assert_str_eq(fmt1(-INFINITY), "-inf");
    /* the longest text fits the documented bound */
    ck_assert_int_lt((int)strlen(fmt1(-9.999999e15f)), RT_STR_F32_MAX);
}
END_TEST

/* Every class of float32 (normal, subnormal, both signs, all exponents) reads back to the
 * same bits, in at most 9 significant digits, within RT_STR_F32_MAX. */
START_TEST(test_format_round_trip)
{
    uint32_t s = 1;
    for (int i = 0; i < 200000; i++) {
        s = s * 1664525u + 1013904223u;
        uint32_t b = s ^ (s << 13);
        float x = bits_f32(b);
        const char *t = fmt1(x);
        ck_assert_int_lt((int)strlen(t), RT_STR_F32_MAX);
        float y = parse1(t);
        if (isnan(x)) {
            ck_assert_msg(isnan(y), "%s", t);
            continue;
        }
        uint32_t yb;
        memcpy(&yb, &y, 4);
        ck_assert_msg(yb == b, "bits %08x -> '%s' -> %08x", (unsigned)b, t, (unsigned)yb);
        int digits = 0;
        for (const char *q = t; *q && *q != 'e'; q++) digits += *q >= '1' && *q <= '9';
        ck_assert_msg(digits <= 9, "'%s' has more than 9 digits", t);
    }
}
END_TEST

START_TEST(test_parse)
{
    ck_assert_float_eq(parse1("0.47892547"), 0.47892547f);
    ck_assert(isnan(parse1("NaN")));
    ck_assert(isinf(parse1("INF")) && parse1("INF") > 0);
    ck_assert(isinf(parse1("+INF")) && parse1("+INF") > 0);
    ck_assert(isinf(parse1("-INF")) && parse1("-INF") < 0);
    ck_assert(isinf(parse1("-Infinity")) && parse1("-Infinity") < 0);
    ck_assert_float_eq(parse1("  1.5\t"), 1.5f);
    ck_assert_float_eq(parse1("1e3"), 1000.0f);
    ck_assert_float_eq(parse1("-2.5E-3"), -2.5e-3f);
    ck_assert_float_eq(parse1(".5"), 0.5f);
    ck_assert_float_eq(parse1("5."), 5.0f);
    ck_assert_float_eq(parse1("007"), 7.0f);
    ck_assert_float_eq(parse1("3.14159265358979323846"), 3.14159265358979323846f);
    ck_assert_float_eq(parse1("1e-45"), 1e-45f);
    ck_assert(isinf(parse1("1e400")));
    ck_assert_float_eq(parse1("1e-400"), 0.0f);
    ck_assert(signbit(parse1("-0")));
    /* not numbers: NaN, never a crash or a partial read */
    static const char *const bad[] = { "", " ", "abc", "1e", "1.5x", "--1", ".", "e5",
                                       "nan1", "1 2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(isnan(parse1(bad[i])), "'%s' should read as NaN", bad[i]);
}
END_TEST

/* a cell filled to the end without a NUL is read as its first cap - 1 bytes */
START_TEST(test_parse_unterminated)
{
    unsigned char cell[4] = { '1', '2', '3', '4' };
    float y = 0;
    rt_str_to_f32(cell, &y, 1, 4);
    ck_assert_float_eq(y, 123.0f);
}
END_TEST

static void set_cells(unsigned char *c, const char *const *s, int n)
{
    memset(c, 0, (size_t)n * CAP);
    for (int i = 0; i < n; i++) memcpy(c + i * CAP, s[i], strlen(s[i]));
}

START_TEST(test_normalize)
{
    /* "Montag" in UTF-8 with an umlaut and a full cell of 31 bytes */
    static const char *const x[] = { "Monday", "", "\xc3\x9c" "ber Tag", "monday",
                                     "abcdefghijklmnopqrstuvwxyzABCDE" };
    static const char *const stop[] = { "monday", "" };
    unsigned char X[5 * CAP], Y[5 * CAP], S[2 * CAP];
    set_cells(X, x, 5);
    set_cells(S, stop, 2);
    int64_t count = -1;
    /* case-insensitive: both mondays and the empty string go */
    rt_str_normalize(X, Y, &count, 5, CAP, RT_CASE_UPPER, 0, S, 2, CAP);
    ck_assert_int_eq((int)count, 2);
    ck_assert_str_eq((const char *)Y, "\xc3\x9c" "BER TAG");
    ck_assert_str_eq((const char *)Y + CAP, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDE");
    /* case-sensitive: only the exact "monday" and "" */
    rt_str_normalize(X, Y, &count, 5, CAP, RT_CASE_LOWER, 1, S, 2, CAP);
    ck_assert_int_eq((int)count, 3);
    ck_assert_str_eq((const char *)Y, "monday");
    ck_assert_str_eq((const char *)Y + CAP, "\xc3\x9c" "ber tag");
    ck_assert_str_eq((const char *)Y + 2 * CAP, "abcdefghijklmnopqrstuvwxyzabcde");
    /* no stopwords, no case change: a copy, in place */
    rt_str_normalize(X, X, &count, 5, CAP, RT_CASE_NONE, 1, NULL, 0, CAP);
    ck_assert_int_eq((int)count, 5);
    ck_assert_str_eq((const char *)X + 2 * CAP, "\xc3\x9c" "ber Tag");
    ck_assert_str_eq((const char *)X + CAP, "");
}
END_TEST

START_TEST(test_normalize_all_removed)
{
    static const char *const x[] = { "monday", "MONDAY" };
    static const char *const stop[] = { "Monday" };
    unsigned char X[2 * CAP], Y[2 * CAP], S[CAP];
    set_cells(X, x, 2);
    set_cells(S, stop, 1);
    memset(Y, 'z', sizeof Y);
    int64_t count = -1;
    rt_str_normalize(X, Y, &count, 2, CAP, RT_CASE_NONE, 0, S, 1, CAP);
    ck_assert_int_eq((int)count, 1);
    ck_assert_int_eq(Y[0], 0);
}
END_TEST

/* an input cell without a NUL: read as cap - 1 bytes, written terminated */
START_TEST(test_normalize_unterminated)
{
    unsigned char X[8], Y[8];
    memset(X, 'a', sizeof X);
    memset(Y, 'z', sizeof Y);
    int64_t count = 0;
    rt_str_normalize(X, Y, &count, 1, 8, RT_CASE_UPPER, 0, NULL, 0, 8);
    ck_assert_int_eq((int)count, 1);
    ck_assert_str_eq((const char *)Y, "AAAAAAA");
}
END_TEST

static Suite *str_suite(void)
{
    Suite *s = suite_create("strings");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_format_numpy);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_parse_unterminated);
    tcase_add_test(tc, test_normalize);
    tcase_add_test(tc, test_normalize_all_removed);
    tcase_add_test(tc, test_normalize_unterminated);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(str_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
