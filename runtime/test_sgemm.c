/* test_sgemm.c — rt_sgemm_f32 on every path (direct, packed, prepacked operands, K split
 * into cache blocks, edge tiles) against a plain double-precision reference written from
 * the contract in onnxcc_rt.h: odd sizes, every transA / transB form, padded strides (Y's
 * padding must stay untouched), beta 0 with NaN-poisoned Y and non-zero beta, alpha, bias
 * per row / column, residual (also R == Y), every activation against rt_act_f32.
 *
 * Built as a Check test; -DRT_TEST_NO_CHECK makes it a plain program (cross builds), and
 * -DRT_TEST_QUICK keeps one large dimension per case (emulated runs).
 * Built with vector flags, it exits 77 (skip) when the CPU lacks the features. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc_rt.h"
#ifndef RT_TEST_NO_CHECK
#include <check.h>
#endif

static unsigned rng = 2463534242u;
static float frand(void)
{
    rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static long failures, cases;

static void report_fail(const char *what, int M, int N, int K, int ta, int tb, long idx, double got,
                 double want)
{
    if (failures < 20)
        printf("FAIL %s: M=%d N=%d K=%d ta=%d tb=%d at %ld: got %.9g want %.9g\n", what, M, N,
               K, ta, tb, idx, got, want);
    failures++;
}

typedef struct {
    float alpha, beta;
    int bias_mode;   /* 0, 1 rows, 2 columns */
    int res;         /* 0 none, 1 separate R, 2 R == Y */
    int act;
    float act_a, act_b;
    int padA, padB, padY;
} Opt;

static void act_params(int act, float *a, float *b)
{
    *a = 0.0f; *b = 0.0f;
    if (act == RT_ACT_CLIP) { *a = -0.5f; *b = 0.75f; }
    if (act == RT_ACT_LEAKY_RELU) *a = 0.1f;
    if (act == RT_ACT_HARD_SIGMOID) { *a = 0.2f; *b = 0.5f; }
}

static void run_case(int M, int N, int K, int ta, int tb, const Opt *o)
{
    /* Stored forms: A is MxK (ta 0, and the source of ta 2) or KxM; B likewise. */
    int arows = ta == 1 ? K : M, acols = ta == 1 ? M : K;
    int brows = tb == 1 ? N : K, bcols = tb == 1 ? K : N;
    int lda = acols + o->padA, ldb = bcols + o->padB, ldy = N + o->padY, ldr = N + 3;
    size_t na = (size_t)arows * lda + 1, nb = (size_t)brows * ldb + 1, ny = (size_t)M * ldy + 1;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *Y = malloc(ny * sizeof *Y);
    float *Y0 = malloc(ny * sizeof *Y0), *Rs = NULL, *bias = NULL, *work = NULL;
    float *pa = NULL, *pb = NULL;
    const float *Aarg = A, *Barg = B, *R = NULL;
    ptrdiff_t w;
    int i, j, p;
    size_t t;
    for (t = 0; t < na; t++) A[t] = frand();
    for (t = 0; t < nb; t++) B[t] = frand();
    for (t = 0; t < ny; t++) Y[t] = o->beta == 0.0f ? NAN : frand();
    /* Padding columns hold a sentinel (even when beta == 0) to see they are untouched. */
    for (i = 0; i < M; i++)
        for (j = N; j < ldy; j++) Y[i * ldy + j] = 12345.0f;
    memcpy(Y0, Y, ny * sizeof *Y);
    if (o->bias_mode) {
        int nbias = o->bias_mode == 1 ? M : N;
        bias = malloc((size_t)nbias * sizeof *bias);
        for (i = 0; i < nbias; i++) bias[i] = frand();
    }
    if (o->res == 1) {
        Rs = malloc(((size_t)M * ldr + 1) * sizeof *Rs);
        for (t = 0; t < (size_t)M * ldr + 1; t++) Rs[t] = frand();
        R = Rs;
    } else if (o->res == 2) {
        if (o->beta == 0.0f)  /* R == Y is read: it must hold numbers */
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++) Y[i * ldy + j] = Y0[i * ldy + j] = frand();
        R = Y;
    }
    if (ta == 2) {
        pa = malloc((size_t)rt_sgemm_pack_a_size(M, K) * sizeof *pa + 1);
        rt_sgemm_pack_a(M, K, A, lda, 0, pa);
        Aarg = pa;
    }
    if (tb == 2) {
        pb = malloc((size_t)rt_sgemm_pack_b_size(K, N) * sizeof *pb + 1);
        rt_sgemm_pack_b(K, N, B, ldb, 0, pb);
        Barg = pb;
    }
    w = rt_sgemm_work(M, N, K, ta, tb);
    if (w > 0) work = malloc((size_t)w * sizeof *work);
    rt_sgemm_f32(M, N, K, Aarg, lda, ta, Barg, ldb, tb, Y, ldy, o->alpha, o->beta, bias,
                 o->bias_mode, R, o->res == 2 ? ldy : ldr, o->act, o->act_a, o->act_b, work);
    cases++;
    for (i = 0; i < M; i++) {
        for (j = 0; j < N; j++) {
            double s = 0, mag = 0, pre, want, got = Y[i * ldy + j], tol;
            float wantf;
            for (p = 0; p < K; p++) {
                double a = ta == 1 ? A[p * lda + i] : A[i * lda + p];
                double b = tb == 1 ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            pre = o->alpha * s;
            mag = fabs(o->alpha) * mag;
            if (o->beta != 0.0f) { pre += o->beta * (double)Y0[i * ldy + j]; mag += fabs(o->beta * Y0[i * ldy + j]); }
            if (bias) { double bv = bias[o->bias_mode == 1 ? i : j]; pre += bv; mag += fabs(bv); }
            if (o->res == 1) { pre += Rs[i * ldr + j]; mag += fabs(Rs[i * ldr + j]); }
            if (o->res == 2) { pre += Y0[i * ldy + j]; mag += fabs(Y0[i * ldy + j]); }
            wantf = rt_act_f32((float)pre, o->act, o->act_a, o->act_b);
            want = wantf;
            tol = 4.0 * FLT_EPSILON * (K + 4) * (mag + 1e-3) * 1.5 + 1e-6;
            if (!(fabs(got - want) <= tol)) report_fail("value", M, N, K, ta, tb, (long)(i * ldy + j), got, want);
        }
        for (j = N; j < ldy; j++)
            if (memcmp(&Y[i * ldy + j], &Y0[i * ldy + j], sizeof(float)))
                report_fail("padding written", M, N, K, ta, tb, (long)(i * ldy + j), Y[i * ldy + j], 12345.0);
    }
    if (memcmp(&Y[ny - 1], &Y0[ny - 1], sizeof(float)))
        report_fail("past the end", M, N, K, ta, tb, (long)ny - 1, Y[ny - 1], Y0[ny - 1]);
    free(A); free(B); free(Y); free(Y0); free(Rs); free(bias); free(work); free(pa); free(pb);
}

static const int sizes[] = { 1, 3, 7, 13, 127, 257 };

static void test_all(void)
{
    int a, b, c, ta, tb, n = 0;
    for (a = 0; a < 6; a++)
        for (b = 0; b < 6; b++)
            for (c = 0; c < 6; c++)
                for (ta = 0; ta < 3; ta++)
                    for (tb = 0; tb < 3; tb++, n++) {
                        Opt o;
                        int M = sizes[a], N = sizes[b], K = sizes[c];
#ifdef RT_TEST_QUICK
                        /* emulated runs: at most one large dimension per case */
                        if ((a >= 4) + (b >= 4) + (c >= 4) >= 2) continue;
#endif
                        o.alpha = n % 3 == 0 ? 1.0f : n % 3 == 1 ? -0.75f : 2.0f;
                        o.beta = n % 4 == 0 ? 0.0f : n % 4 == 1 ? 0.5f : n % 4 == 2 ? 1.0f : 0.0f;
                        o.bias_mode = n % 5 % 3;
                        o.res = n % 7 % 3;
                        o.act = n % 10;
                        act_params(o.act, &o.act_a, &o.act_b);
                        o.padA = n % 2 ? 3 : 0;
                        o.padB = n % 3 ? 5 : 0;
                        o.padY = n % 2 ? 0 : 2;
                        run_case(M, N, K, ta, tb, &o);
                    }
}

static void test_special(void)
{
    Opt o;
    int ta, tb, act;
    float y[4] = { 7, 7, 7, 7 }, one = 1;
    memset(&o, 0, sizeof o);
    o.alpha = 1.0f;
    /* More columns than one NC block, every form. */
    for (ta = 0; ta < 3; ta++)
        for (tb = 0; tb < 3; tb++) run_case(9, RT_SGEMM_NC + 70, 5, ta, tb, &o);
    /* Each activation on a packed-path problem and on direct ones, beta 0 and 1. */
    for (act = 0; act <= RT_ACT_GELU; act++) {
        o.act = act;
        act_params(act, &o.act_a, &o.act_b);
        o.beta = (float)(act % 2);
        o.bias_mode = act % 3;
        o.res = act % 3 == 1;
        run_case(70, 90, 40, 0, 0, &o);
        run_case(1, 100, 33, 0, 2, &o);
        run_case(2, 45, 300, 0, 1, &o);
        run_case(37, 3, 50, 2, 0, &o);
        /* narrow column tails past a multiple of 16 (N = 49, 196-like), rows not a multiple
         * of 16, K split into blocks, every B form */
        for (tb = 0; tb < 3; tb++) run_case(45, 49, act % 2 ? 400 : 30, 2, tb, &o);
        /* 1 to 4 columns past 16 in the last 32-column tile (the 8x32 kernel's 16+t edge) */
        run_case(21, act % 2 ? 17 : 52, act % 3 ? 70 : 500, 2, act % 3, &o);
        run_case(13, 18 + act % 3, 45, act % 2 ? 0 : 2, 0, &o);
        /* edges of 9 to 12 columns (256-bit rows and 8-row vectors) */
        run_case(29, 9 + act % 4, 150, act % 3, act % 2, &o);
        run_case(27, 2 * RT_SGEMM_NC + 20, 20, 2, 0, &o);
        run_case(50, 70, 200, 0, 0, &o);
    }
    /* K == 0: Y = act(beta * Y + bias + R); M or N == 0: nothing written. */
    o.act = RT_ACT_NONE; o.beta = 0.5f; o.bias_mode = 2; o.res = 1;
    for (ta = 0; ta < 3; ta++) run_case(5, 6, 0, ta, 0, &o);
    rt_sgemm_f32(0, 4, 3, &one, 3, 0, &one, 4, 0, y, 4, 1, 0, NULL, 0, NULL, 0, 0, 0, 0, NULL);
    rt_sgemm_f32(4, 0, 3, &one, 3, 0, &one, 1, 0, y, 1, 1, 0, NULL, 0, NULL, 0, 0, 0, 0, NULL);
    if (y[0] != 7 || y[3] != 7) report_fail("M or N == 0 wrote Y", 0, 0, 3, 0, 0, 0, y[0], 7);
    /* No scratch for tiny problems and GEMV (the firmware MLP layer, the unit test's 3x5x4). */
    if (rt_sgemm_work(1, 32, 64, 0, 2) != 0 || rt_sgemm_work(3, 5, 4, 0, 1) != 0 ||
        rt_sgemm_work(1, 4096, 4096, 0, 0) != 0)
        report_fail("work not 0", 1, 32, 64, 0, 2, 0, 1, 0);
    if (rt_sgemm_work(1000, 1000, 1000, 0, 0) > 1000 * 1000)
        report_fail("work too large", 1000, 1000, 1000, 0, 0, 0, 1, 0);
}

static int cpu_ok(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#if defined(__AVX512F__)
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
        return 0;
#endif
#if defined(__AVX2__) || defined(__FMA__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
#endif
#endif
    return 1;
}

#ifdef RT_TEST_NO_CHECK
int main(void)
{
    if (!cpu_ok()) { printf("skip: CPU lacks the instruction set\n"); return 77; }
    test_all();
    test_special();
    printf("%ld cases, %ld failures\n", cases, failures);
    return failures ? 1 : 0;
}
#else
START_TEST(sgemm_sizes_forms)
{
    test_all();
    ck_assert_msg(failures == 0, "%ld of %ld cases failed", failures, cases);
}
END_TEST

START_TEST(sgemm_special)
{
    test_special();
    ck_assert_msg(failures == 0, "%ld failures", failures);
}
END_TEST

int main(void)
{
    Suite *s;
    TCase *tc;
    SRunner *sr;
    int nf;
    if (!cpu_ok()) { printf("skip: CPU lacks the instruction set\n"); return 77; }
    s = suite_create("sgemm");
    tc = tcase_create("sgemm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sgemm_sizes_forms);
    tcase_add_test(tc, sgemm_special);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
#endif
