/* test_kir.c — the loop IR: builder folding, the verifier, and the interpreter's
 * arithmetic (which must be the generated C's arithmetic: it is the folding reference). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kir.h"

static Pool *P;
static KFunc F;
static KB K;

static void setup(void)
{
    P = pool_new();
    memset(&F, 0, sizeof F);
    F.name = "test";
    kb_init(&K, P, &F);
}

static void teardown(void)
{
    pool_free(P);
}

START_TEST(builder_folds_index_math)
{
    KExpr *z = kc_idx(&K, 0), *one = kc_idx(&K, 1);
    int v = kfor_n(&K, 4, KL_SERIAL);
    KExpr *x = kvar(&K, v);
    ck_assert_ptr_eq(kadd(&K, z, x), x);
    ck_assert_ptr_eq(kmul(&K, one, x), x);
    KExpr *c = kmul(&K, kc_idx(&K, 6), kc_idx(&K, 7));
    ck_assert_int_eq(c->kind, KE_CONST);
    ck_assert_int_eq(c->i, 42);
    ck_assert_int_eq(kmuli(&K, x, 0)->kind, KE_CONST);
    kend(&K);
    ck_assert_int_eq(K.depth, 0);
}
END_TEST

START_TEST(constants_wrap_to_type)
{
    ck_assert_int_eq(kc_int(&K, DT_I8, 200)->i, -56);
    ck_assert_int_eq(kc_int(&K, DT_U8, 256 + 7)->i, 7);
    ck_assert_int_eq(kc_int(&K, DT_BOOL, 5)->i, 1);
    ck_assert(kc_float(&K, DT_F32, 0.1)->f == (double)0.1f);
}
END_TEST

/* out[i, j] = a[i, j] + b[j] (broadcast), float32 */
START_TEST(interp_broadcast_add)
{
    int a = kb_buf(&K, DT_F32, 6, KR_IN, 0), b = kb_buf(&K, DT_F32, 3, KR_IN, 1);
    int y = kb_buf(&K, DT_F32, 6, KR_OUT, 2);
    int64_t dims[2] = { 2, 3 }, bd[1] = { 3 };
    int vars[2];
    kloops(&K, 2, dims, vars);
    KExpr *ia = kindex(&K, 2, dims, vars);
    KExpr *ib = kindex_bcast(&K, 2, dims, vars, 1, bd);
    kstore(&K, y, ia, kbin(&K, KB_ADD, kload(&K, a, ia), kload(&K, b, ib)));
    kend_n(&K, 2);
    float av[6] = { 1, 2, 3, 4, 5, 6 }, bv[3] = { 10, 20, 30 }, yv[6] = { 0 };
    void *mem[3] = { av, bv, yv };
    char err[128];
    ck_assert_int_eq(kir_verify(&F, err, sizeof err), 0);
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), 0);
    float want[6] = { 11, 22, 33, 14, 25, 36 };
    for (int i = 0; i < 6; i++) ck_assert(yv[i] == want[i]);
}
END_TEST

/* y = sum(x) with an accumulator, int32 wrapping like C's unsigned arithmetic */
START_TEST(interp_reduction_and_wrap)
{
    int x = kb_buf(&K, DT_I8, 4, KR_IN, 0), y = kb_buf(&K, DT_I8, 1, KR_OUT, 1);
    int acc = kdecl(&K, DT_I8, kc_int(&K, DT_I8, 0));
    int i = kfor_n(&K, 4, KL_REDUCE);
    kset(&K, acc, kbin(&K, KB_ADD, kvar(&K, acc), kload(&K, x, kvar(&K, i))));
    kend(&K);
    kstore(&K, y, kc_idx(&K, 0), kvar(&K, acc));
    int8_t xv[4] = { 100, 100, 50, 1 }, yv[1];
    void *mem[2] = { xv, yv };
    char err[128];
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), 0);
    ck_assert_int_eq(yv[0], (int8_t)(uint8_t)251);
}
END_TEST

START_TEST(interp_casts_select_compare)
{
    int x = kb_buf(&K, DT_F32, 4, KR_IN, 0);
    int yi = kb_buf(&K, DT_I32, 4, KR_OUT, 1), yb = kb_buf(&K, DT_BOOL, 4, KR_OUT, 2);
    int i = kfor_n(&K, 4, KL_VECTOR);
    KExpr *v = kload(&K, x, kvar(&K, i));
    kstore(&K, yi, kvar(&K, i), kcast(&K, DT_I32, v));
    KExpr *neg = kbin(&K, KB_LT, v, kc_float(&K, DT_F32, 0));
    kstore(&K, yb, kvar(&K, i), ksel(&K, neg, kc_int(&K, DT_BOOL, 1), kun(&K, KU_ISNAN, v)));
    kend(&K);
    float xv[4] = { -2.7f, 3.9f, NAN, 0.5f };
    int32_t iv[4] = { 0 };
    uint8_t bv[4] = { 0 };
    void *mem[3] = { xv, iv, bv };
    char err[128];
    /* NaN -> int is undefined in C: the interpreter refuses instead of inventing a value */
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "out of range"));
    xv[2] = -0.0f;
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), 0);
    ck_assert_int_eq(iv[0], -2);
    ck_assert_int_eq(iv[1], 3);
    ck_assert_int_eq(iv[3], 0);
    ck_assert_int_eq(bv[0], 1);
    ck_assert_int_eq(bv[1], 0);
}
END_TEST

START_TEST(interp_refuses_division_by_zero_and_calls)
{
    int x = kb_buf(&K, DT_I32, 2, KR_IN, 0), y = kb_buf(&K, DT_I32, 1, KR_OUT, 1);
    kstore(&K, y, kc_idx(&K, 0),
           kbin(&K, KB_DIV, kload(&K, x, kc_idx(&K, 0)), kload(&K, x, kc_idx(&K, 1))));
    int32_t xv[2] = { 7, 0 }, yv[1];
    void *mem[2] = { xv, yv };
    char err[128];
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), -1);
    xv[1] = -2;
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), 0);
    ck_assert_int_eq(yv[0], -3); /* C truncation */
    KArg args[1] = { karg_buf(x, NULL) };
    kcall(&K, "rt_something", args, 1);
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), -1);
}
END_TEST

START_TEST(interp_bounds_checked)
{
    int x = kb_buf(&K, DT_F32, 2, KR_IN, 0), y = kb_buf(&K, DT_F32, 2, KR_OUT, 1);
    int i = kfor_n(&K, 3, KL_SERIAL);
    kstore(&K, y, kvar(&K, i), kload(&K, x, kc_idx(&K, 0)));
    kend(&K);
    float xv[2] = { 1, 2 }, yv[2];
    void *mem[2] = { xv, yv };
    char err[128];
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "out of bounds"));
}
END_TEST

START_TEST(verify_rejects_bad_functions)
{
    int x = kb_buf(&K, DT_F32, 2, KR_IN, 0);
    char err[128];
    /* hand-made store into an input: the builder would not stop it, the verifier must */
    KStmt *s = pool_alloc(P, sizeof *s);
    s->kind = KS_STORE;
    s->buf = x;
    s->idx = kc_idx(&K, 0);
    s->val = kc_float(&K, DT_F32, 1);
    F.body = s;
    ck_assert_int_eq(kir_verify(&F, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "input"));
    /* operands of different types */
    KExpr *e = pool_alloc(P, sizeof *e);
    e->kind = KE_BIN;
    e->op = KB_ADD;
    e->t = DT_F32;
    e->a = kc_float(&K, DT_F32, 1);
    e->b = kc_int(&K, DT_I32, 1);
    int y = kb_buf(&K, DT_F32, 2, KR_OUT, 1);
    s->buf = y;
    s->val = e;
    ck_assert_int_eq(kir_verify(&F, err, sizeof err), -1);
    e->b = kc_float(&K, DT_F32, 2);
    ck_assert_int_eq(kir_verify(&F, err, sizeof err), 0);
}
END_TEST

START_TEST(dtype_facts)
{
    ck_assert_int_eq(dt_size(DT_F32), 4);
    ck_assert_int_eq(dt_size(DT_BOOL), 1);
    ck_assert_int_eq(dt_size(DT_I64), 8);
    ck_assert_str_eq(dt_name(DT_U16), "uint16");
    ck_assert(dt_is_float(DT_F64) && !dt_is_float(DT_I32));
    ck_assert(!dt_supported(DT_STRING) && dt_supported(DT_U64));
}
END_TEST

/* Every float16/bfloat16 pattern survives value -> bits; every midpoint between
 * neighbours rounds to the even one, and anything nearer rounds to the nearer. */
START_TEST(f16_bf16_conversions_exhaustive)
{
    for (unsigned h = 0; h < 0x10000; h++) {
        double v = kir_f16_value((uint16_t)h), b = kir_bf16_value((uint16_t)h);
        if (!isnan(v)) ck_assert_uint_eq(kir_f16_bits(v), h);
        else ck_assert(isnan(kir_f16_value(kir_f16_bits(v))));
        if (!isnan(b)) ck_assert_uint_eq(kir_bf16_bits(b), h);
        if ((h & 0x7fff) < 0x7bff) {   /* f16: h and h + 1 both finite, same sign */
            double n = kir_f16_value((uint16_t)(h + 1)), m = (v + n) / 2;
            ck_assert_uint_eq(kir_f16_bits(m), (h & 1) ? h + 1 : h);
            ck_assert_uint_eq(kir_f16_bits(m + (n - v) / 8 * (v < 0 ? -1 : 1)), v < 0 ? h : h + 1);
        }
        if ((h & 0x7fff) < 0x7f7f) {
            double n = kir_bf16_value((uint16_t)(h + 1)), m = (b + n) / 2;
            ck_assert_uint_eq(kir_bf16_bits(m), (h & 1) ? h + 1 : h);
        }
    }
    ck_assert_uint_eq(kir_f16_bits(65519.999), 0x7bff);
    ck_assert_uint_eq(kir_f16_bits(65520.0), 0x7c00);
    ck_assert_uint_eq(kir_f16_bits(-1e9), 0xfc00);
    ck_assert_uint_eq(kir_f16_bits(0x1p-25), 0);          /* half the least subnormal: even */
    ck_assert_uint_eq(kir_f16_bits(0x1.8p-25), 1);
    ck_assert_uint_eq(kir_f16_bits(NAN) & 0x7e00, 0x7e00);
    ck_assert_uint_eq(kir_bf16_bits(1.0 + 0x1p-8), 0x3f80); /* tie: even */
    ck_assert_uint_eq(kir_bf16_bits(1.0 + 0x1.8p-8), 0x3f81);
    ck_assert_uint_eq(kir_bf16_bits(0x1.ffp127), 0x7f80);
    ck_assert(kc_float(&K, DT_F16, 0.1)->f == kir_f16_value(kir_f16_bits(0.1)));
    ck_assert(dt_supported(DT_F16) && dt_supported(DT_BF16));
}
END_TEST

/* The interpreter rounds float16 results after every operation: (1 + 2^-11) - 1 is 0,
 * 65504 + 32 is inf, 2^-24 / 2 is 0 (tie to even), 3 * 2^-25 rounds to 2^-23. */
START_TEST(interp_f16_rounds_each_op)
{
    int x = kb_buf(&K, DT_F16, 4, KR_IN, 0), y = kb_buf(&K, DT_F16, 6, KR_OUT, 1);
    int z = kb_buf(&K, DT_BF16, 2, KR_OUT, 2);
    KExpr *one = kload(&K, x, kc_idx(&K, 0)), *eps = kload(&K, x, kc_idx(&K, 1));
    KExpr *big = kload(&K, x, kc_idx(&K, 2)), *tiny = kload(&K, x, kc_idx(&K, 3));
    kstore(&K, y, kc_idx(&K, 0), ksub(&K, kadd(&K, one, eps), one));
    kstore(&K, y, kc_idx(&K, 1), kadd(&K, big, kc_float(&K, DT_F16, 32.0)));
    kstore(&K, y, kc_idx(&K, 2), kbin(&K, KB_DIV, tiny, kc_float(&K, DT_F16, 2.0)));
    kstore(&K, y, kc_idx(&K, 3), kbin(&K, KB_MUL, tiny, kc_float(&K, DT_F16, 1.5)));
    kstore(&K, y, kc_idx(&K, 4), kcast(&K, DT_F16, kc_float(&K, DT_F64, 1.0 + 0x1p-11 + 0x1p-40)));
    kstore(&K, y, kc_idx(&K, 5), kcast(&K, DT_F16, kc_int(&K, DT_I32, 2049)));
    /* bf16: (1 + 2^-8) rounds to 1; 1 + 3 * 2^-8 rounds to 1 + 2^-6 */
    kstore(&K, z, kc_idx(&K, 0), kadd(&K, kc_float(&K, DT_BF16, 1.0),
                                      kcast(&K, DT_BF16, kc_float(&K, DT_F32, 0x1p-8))));
    kstore(&K, z, kc_idx(&K, 1), kcast(&K, DT_BF16, kc_float(&K, DT_F32, 1.0 + 0x1.8p-7)));
    uint16_t xv[4] = { 0x3c00, 0x1000 /* 2^-11 */, 0x7bff /* 65504 */, 0x0001 /* 2^-24 */ };
    uint16_t yv[6] = { 0 }, zv[2] = { 0 };
    void *mem[3] = { xv, yv, zv };
    char err[128];
    ck_assert_int_eq(kir_verify(&F, err, sizeof err), 0);
    ck_assert_int_eq(kir_interp(&F, mem, err, sizeof err), 0);
    ck_assert_uint_eq(yv[0], 0x0000);
    ck_assert_uint_eq(yv[1], 0x7c00);
    ck_assert_uint_eq(yv[2], 0x0000);
    ck_assert_uint_eq(yv[3], 0x0002);
    ck_assert_uint_eq(yv[4], 0x3c01);
    ck_assert_uint_eq(yv[5], 0x6800);   /* 2048 */
    ck_assert_uint_eq(zv[0], 0x3f80);
    ck_assert_uint_eq(zv[1], 0x3f82);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kir");
    TCase *tc = tcase_create("kir");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, builder_folds_index_math);
    tcase_add_test(tc, constants_wrap_to_type);
    tcase_add_test(tc, interp_broadcast_add);
    tcase_add_test(tc, interp_reduction_and_wrap);
    tcase_add_test(tc, interp_casts_select_compare);
    tcase_add_test(tc, interp_refuses_division_by_zero_and_calls);
    tcase_add_test(tc, interp_bounds_checked);
    tcase_add_test(tc, verify_rejects_bad_functions);
    tcase_add_test(tc, dtype_facts);
    tcase_add_test(tc, f16_bf16_conversions_exhaustive);
    tcase_add_test(tc, interp_f16_rounds_each_op);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
