/* test_lowbit.c — float8/float4/int4/int2 conversions of compiler/kir_lowbit.c, run by the
 * loop-IR interpreter (the generated code prints the same expressions) against a
 * reference written another way: each code's value from the format's definition in
 * double arithmetic, and encoding as a brute-force search for the nearest code. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "kir.h"

typedef struct Fmt {
    DType t;
    int ebits, mbits, bias, ncodes;
    int fnuz, has_inf, f4;
} Fmt;

static const Fmt fmts[] = {
    { DT_F8E4M3FN, 4, 3, 7, 256, 0, 0, 0 },
    { DT_F8E4M3FNUZ, 4, 3, 8, 256, 1, 0, 0 },
    { DT_F8E5M2, 5, 2, 15, 256, 0, 1, 0 },
    { DT_F8E5M2FNUZ, 5, 2, 16, 256, 1, 0, 0 },
    { DT_F4E2M1, 2, 1, 1, 16, 0, 0, 1 },
};

/* the value of code c by the format's definition */
static double ref_value(const Fmt *f, unsigned c)
{
    unsigned sbit = 1u << (f->ebits + f->mbits), mag = c & (sbit - 1);
    unsigned e = mag >> f->mbits, m = mag & ((1u << f->mbits) - 1);
    if (f->fnuz && c == 0x80) return NAN;
    if (f->has_inf && e == (1u << f->ebits) - 1) return m ? NAN : (c & sbit) ? -INFINITY : INFINITY;
    if (!f->fnuz && !f->has_inf && !f->f4 && mag == 0x7f) return NAN;   /* E4M3FN */
    double v = e ? ldexp(1.0 + m / (double)(1u << f->mbits), (int)e - f->bias)
                 : ldexp(m / (double)(1u << f->mbits), 1 - f->bias);
    return (c & sbit) ? -v : v;
}

static double ref_max(const Fmt *f)
{
    double mx = 0;
    for (unsigned c = 0; c < (unsigned)f->ncodes; c++) {
        double v = ref_value(f, c);
        if (isfinite(v) && v > mx) mx = v;
    }
    return mx;
}

/* nearest finite code, ties to the even code; beyond the largest value: saturated */
static unsigned ref_encode_sat(const Fmt *f, double x)
{
    unsigned best = 0;
    double bd = INFINITY, mx = ref_max(f);
    if (fabs(x) > mx) x = x < 0 ? -mx : mx;   /* saturated (far values all tie in double) */
    for (unsigned c = 0; c < (unsigned)f->ncodes; c++) {
        double v = ref_value(f, c);
        if (!isfinite(v) || (!signbit(v) != !signbit(x) && v != 0) || (f->fnuz && c == 0x80))
            continue;
        if (v == 0 && !signbit(v) != !signbit(x) && !f->fnuz) continue;
        double d = fabs(v - x);
        if (d < bd || (d == bd && !(c & 1))) {
            bd = d;
            best = c;
        }
    }
    return best;
}

/* Runs y[i] = encode(decode?) over n inputs through the interpreter. mode 0: decode
 * bytes to float32; 1: encode float32 saturating; 2: encode without saturation. */
static void run(DType t, int mode, const void *in, void *out, int n)
{
    Pool *p = pool_new();
    KFunc fn;
    memset(&fn, 0, sizeof fn);
    fn.name = "lowbit";
    KB k;
    kb_init(&k, p, &fn);
    int x = kb_buf(&k, mode ? DT_F32 : t, n, KR_IN, 0);
    int y = kb_buf(&k, mode ? t : DT_F32, n, KR_OUT, 1);
    int iv = kfor_n(&k, n, KL_SERIAL);
    KExpr *v = kload(&k, x, kvar(&k, iv));
    v = mode ? klow_encode(&k, t, v, mode == 1) : klow_decode(&k, t, v);
    kstore(&k, y, kvar(&k, iv), v);
    kend(&k);
    char err[160];
    ck_assert_msg(kir_verify(&fn, err, sizeof err) == 0, "%s", err);
    void *mem[2] = { (void *)in, out };
    ck_assert_msg(kir_interp(&fn, mem, err, sizeof err) == 0, "%s", err);
    pool_free(p);
}

START_TEST(float_codes_decode_exhaustive)
{
    for (size_t fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
        const Fmt *f = &fmts[fi];
        unsigned char codes[256];
        float got[256];
        for (int c = 0; c < f->ncodes; c++) codes[c] = (unsigned char)c;
        run(f->t, 0, codes, got, f->ncodes);
        for (int c = 0; c < f->ncodes; c++) {
            double want = ref_value(f, (unsigned)c);
            if (isnan(want)) ck_assert_msg(isnan(got[c]), "%s 0x%02x", dt_name(f->t), c);
            else ck_assert_msg(got[c] == want && !signbit(got[c]) == !signbit(want),
                               "%s 0x%02x: got %g, want %g", dt_name(f->t), c, got[c], want);
        }
    }
    /* anchors from the formats' documentation */
    unsigned char c[3] = { 0x7e, 0x01, 0x7b };
    float g[3];
    run(DT_F8E4M3FN, 0, c, g, 3);
    ck_assert(g[0] == 448.0f && g[1] == 0x1p-9f);
    run(DT_F8E5M2, 0, c, g, 3);
    ck_assert(g[2] == 57344.0f);
    unsigned char e8[4] = { 0x7f, 0x00, 0xff, 0x80 };
    float ge[4];
    run(DT_F8E8M0, 0, e8, ge, 4);
    ck_assert(ge[0] == 1.0f && ge[1] == 0x1p-127f && isnan(ge[2]) && ge[3] == 2.0f);
}
END_TEST

/* Every code's value, the midpoints between neighbours (ties), a little either side of
 * them, and values past the largest: the nearest code, ties to even, as the search. */
START_TEST(float_encode_rounds_to_nearest_even)
{
    for (size_t fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
        const Fmt *f = &fmts[fi];
        float xs[2048];
        int n = 0;
        double mx = ref_max(f);
        for (unsigned c = 0; c < (unsigned)f->ncodes / 2; c++) {
            double v = ref_value(f, c), w = ref_value(f, c + 1);
            if (!isfinite(v)) continue;
            for (int s = 0; s < 2; s++) {
                double sg = s ? -1 : 1;
                xs[n++] = (float)(sg * v);
                if (!isfinite(w) || w > mx) continue;
                double mid = (v + w) / 2, q = (w - v) / 16;
                xs[n++] = (float)(sg * mid);
                xs[n++] = (float)(sg * (mid - q));
                xs[n++] = (float)(sg * (mid + q));
            }
        }
        double over[4] = { mx * 1.01, mx * 4, 1e30, ldexp(1.0, -40) };
        for (int j = 0; j < 4; j++) {
            xs[n++] = (float)over[j];
            xs[n++] = (float)-over[j];
        }
        unsigned char sat[2048], nosat[2048];
        run(f->t, 1, xs, sat, n);
        run(f->t, 2, xs, nosat, n);
        for (int j = 0; j < n; j++) {
            double x = xs[j];
            unsigned want = ref_encode_sat(f, x);
            ck_assert_msg(sat[j] == want, "%s %.9g: got 0x%02x, want 0x%02x", dt_name(f->t), x,
                          sat[j], want);
            /* below the largest value saturation changes nothing */
            if (f->f4 || fabs(x) <= mx) ck_assert_uint_eq(nosat[j], sat[j]);
        }
        if (!f->f4) {
            float big[2] = { 1e30f, -1e30f };
            unsigned char o[2];
            run(f->t, 2, big, o, 2);
            unsigned pos = f->fnuz ? 0x80 : f->has_inf ? 0x7c : 0x7f;
            unsigned neg = f->fnuz ? 0x80 : pos | 0x80;
            ck_assert_uint_eq(o[0], pos);
            ck_assert_uint_eq(o[1], neg);
        }
    }
}
END_TEST

START_TEST(float_encode_specials)
{
    float x[4] = { NAN, INFINITY, -INFINITY, -0.0f };
    unsigned char y[4];
    run(DT_F8E4M3FN, 1, x, y, 4);
    ck_assert(y[0] == 0x7f && y[1] == 0x7e && y[2] == 0xfe && y[3] == 0x80);
    run(DT_F8E4M3FNUZ, 1, x, y, 4);
    ck_assert(y[0] == 0x80 && y[1] == 0x7f && y[2] == 0xff && y[3] == 0x00);  /* no -0 */
    run(DT_F8E5M2, 2, x, y, 4);
    ck_assert(y[0] == 0x7e && y[1] == 0x7c && y[2] == 0xfc && y[3] == 0x80);
    run(DT_F4E2M1, 2, x, y, 4);   /* float4 always saturates */
    ck_assert(y[1] == 0x7 && y[2] == 0xf && y[3] == 0x8);
    float e[5] = { 1.0f, 1.1f, 0.124f, 0.0f, INFINITY };
    unsigned char ye[5];
    run(DT_F8E8M0, 1, e, ye, 5);   /* round up: the smallest power of two not below x */
    ck_assert(ye[0] == 0x7f && ye[1] == 0x80 && ye[2] == 0x7c && ye[3] == 0x00 && ye[4] == 0xfe);
}
END_TEST

/* int4/int2 keep the low bits (as a C cast to a narrower integer); quantization clamps */
START_TEST(small_ints_wrap_and_clamp)
{
    float x[6] = { -9, -8, 7, 8, 15, 3.75f };
    signed char i4[6];
    unsigned char u2[6];
    run(DT_I4, 1, x, i4, 6);
    signed char want4[6] = { 7, -8, 7, -8, -1, 3 };
    for (int j = 0; j < 6; j++) ck_assert_int_eq(i4[j], want4[j]);
    run(DT_U2, 1, x, u2, 6);
    unsigned char want2[6] = { 3, 0, 3, 0, 3, 3 };
    for (int j = 0; j < 6; j++) ck_assert_int_eq(u2[j], want2[j]);

    Pool *p = pool_new();
    KFunc fn;
    memset(&fn, 0, sizeof fn);
    fn.name = "q";
    KB k;
    kb_init(&k, p, &fn);
    int xb = kb_buf(&k, DT_F32, 6, KR_IN, 0), yb = kb_buf(&k, DT_I4, 6, KR_OUT, 1);
    int iv = kfor_n(&k, 6, KL_SERIAL);
    kstore(&k, yb, kvar(&k, iv), klow_quantize(&k, DT_I4, kload(&k, xb, kvar(&k, iv)), 1));
    kend(&k);
    signed char q[6];
    void *mem[2] = { x, q };
    char err[128];
    ck_assert_int_eq(kir_interp(&fn, mem, err, sizeof err), 0);
    signed char wantq[6] = { -8, -8, 7, 7, 7, 4 };
    for (int j = 0; j < 6; j++) ck_assert_int_eq(q[j], wantq[j]);
    ck_assert_int_eq(fn.bufs[yb].t, DT_I8);   /* storage type: the back ends never see int4 */
    pool_free(p);
    ck_assert(dt_storage(DT_U4) == DT_U8 && dt_storage(DT_I2) == DT_I8 &&
              dt_storage(DT_F8E5M2) == DT_U8 && dt_size(DT_F4E2M1) == 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lowbit");
    TCase *tc = tcase_create("lowbit");
    tcase_add_test(tc, float_codes_decode_exhaustive);
    tcase_add_test(tc, float_encode_rounds_to_nearest_even);
    tcase_add_test(tc, float_encode_specials);
    tcase_add_test(tc, small_ints_wrap_and_clamp);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
