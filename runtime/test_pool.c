/* test_pool.c — rt_maxpool2d_f32, rt_avgpool2d_f32 and rt_globalpool_f32 against plain
 * references on odd shapes: 1..5 planes, H/W 1..17 (and wide rows), kernels 1..5, strides
 * 1..3, asymmetric pads, dilations, ceil-mode output sizes, count_include_pad 0/1, global
 * pools. MaxPool is checked exactly against the loop nest's order (m = m > v ? m : v from
 * -inf, kh then kw), NaN inputs included; AveragePool against a double sum with the ONNX
 * divisor. Outputs are guarded on both sides.
 *
 * Built once with meson's flags and again with -mavx2 -mfma and with AVX-512 flags; those
 * variants exit 77 (skip) on a CPU without the features. Exit status 0 when all match. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc_rt.h"

#define GUARD 32
#define GUARD_VAL 12345.678f

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33);
}

static int rndi(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }

typedef struct {
    int P, H, W, kH, kW, sH, sW, pT, pL, pB, pR, dH, dW, ceil, cip, nan;
} Case;

static int failures, cases_run;

static const char *case_str(const Case *t, int is_max)
{
    static char s[256];
    snprintf(s, sizeof s, "%s P%d %dx%d k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d ceil%d cip%d nan%d",
             is_max ? "max" : "avg", t->P, t->H, t->W, t->kH, t->kW, t->sH, t->sW, t->pT,
             t->pL, t->pB, t->pR, t->dH, t->dW, t->ceil, t->cip, t->nan);
    return s;
}

static int out_size(int in, int pb, int pe, int k, int d, int s, int ceil)
{
    int num = in + pb + pe - ((k - 1) * d + 1);
    if (num < 0) return 0;
    return (ceil ? (num + s - 1) / s : num / s) + 1;
}

static float *guarded(size_t n)
{
    float *b = malloc(sizeof(float) * (n + 2 * GUARD));
    size_t i;
    for (i = 0; i < n + 2 * GUARD; i++) b[i] = GUARD_VAL;
    return b + GUARD;
}

static int guards_ok(const float *y, size_t n)
{
    int i;
    for (i = 1; i <= GUARD; i++)
        if (y[-i] != GUARD_VAL || y[n + (size_t)i - 1] != GUARD_VAL) return 0;
    return 1;
}

static void fill(float *x, size_t n, int nan)
{
    size_t i;
    for (i = 0; i < n; i++) {
        x[i] = (float)rndi(-1000, 1000) / 250.0f;
        if (rndi(0, 40) == 0) x[i] = 0.0f;
        if (nan && rndi(0, nan) == 0) x[i] = NAN;
    }
}

static float fmax_order(float a, float b) { return a > b ? a : b; }

static int same_max(float a, float b)
{
    if (a != a || b != b) return a != a && b != b;
    return a == b;
}

static void run_case(const Case *t, int is_max)
{
    int oH = out_size(t->H, t->pT, t->pB, t->kH, t->dH, t->sH, t->ceil);
    int oW = out_size(t->W, t->pL, t->pR, t->kW, t->dW, t->sW, t->ceil);
    size_t nx = (size_t)t->P * t->H * t->W, ny = (size_t)t->P * oH * oW, i;
    float *x, *y;
    int p, oh, ow, kh, kw, bad = 0;
    if (oH < 1 || oW < 1) return;
    if (!is_max && (t->dH != 1 || t->dW != 1)) return;
    x = malloc(sizeof(float) * (nx ? nx : 1));
    y = guarded(ny);
    fill(x, nx, is_max ? t->nan : 0);
    if (is_max)
        rt_maxpool2d_f32(x, y, t->P, t->H, t->W, oH, oW, t->kH, t->kW, t->sH, t->sW, t->pT,
                         t->pL, t->dH, t->dW);
    else
        rt_avgpool2d_f32(x, y, t->P, t->H, t->W, oH, oW, t->kH, t->kW, t->sH, t->sW, t->pT,
                         t->pL, t->pB, t->pR, t->cip);
    cases_run++;
    for (p = 0; p < t->P && !bad; p++) {
        for (oh = 0; oh < oH && !bad; oh++) {
            for (ow = 0; ow < oW && !bad; ow++) {
                const float *xp = x + (size_t)p * t->H * t->W;
                float got = y[((size_t)p * oH + oh) * oW + ow], m = -INFINITY;
                double sum = 0.0;
                int cnt = 0;
                for (kh = 0; kh < t->kH; kh++) {
                    int ih = oh * t->sH - t->pT + kh * t->dH;
                    for (kw = 0; kw < t->kW; kw++) {
                        int iw = ow * t->sW - t->pL + kw * t->dW;
                        int in = ih >= 0 && ih < t->H && iw >= 0 && iw < t->W;
                        int counted = t->cip ? ih >= -t->pT && ih < t->H + t->pB &&
                                                   iw >= -t->pL && iw < t->W + t->pR
                                             : in;
                        cnt += counted;
                        if (!in) continue;
                        m = fmax_order(m, xp[ih * t->W + iw]);
                        sum += xp[ih * t->W + iw];
                    }
                }
                if (is_max) {
                    if (!same_max(got, m)) {
                        printf("FAIL %s: plane %d (%d,%d) got %g want %g\n", case_str(t, 1), p,
                               oh, ow, got, m);
                        bad = 1;
                    }
                } else {
                    double want = sum / cnt;
                    if (cnt == 0 ? got == got : !(fabs(got - want) <= 1e-5 * (1 + fabs(want)))) {
                        printf("FAIL %s: plane %d (%d,%d) got %g want %g\n", case_str(t, 0), p,
                               oh, ow, got, want);
                        bad = 1;
                    }
                }
            }
        }
    }
    if (!bad && !guards_ok(y, ny)) {
        printf("FAIL %s: wrote outside Y\n", case_str(t, is_max));
        bad = 1;
    }
    failures += bad;
    free(x);
    free(y - GUARD);
    (void)i;
}

static void run_global(int P, int HW, int is_max, int nan)
{
    size_t nx = (size_t)P * HW;
    float *x = malloc(sizeof(float) * nx), *y = guarded((size_t)P);
    int p, i, bad = 0;
    fill(x, nx, nan);
    rt_globalpool_f32(x, y, P, HW, is_max);
    cases_run++;
    for (p = 0; p < P && !bad; p++) {
        const float *xp = x + (size_t)p * HW;
        if (is_max) {
            float m = -INFINITY;
            for (i = 0; i < HW; i++) m = fmax_order(m, xp[i]);
            if (!same_max(y[p], m)) {
                printf("FAIL global max P%d HW%d nan%d: plane %d got %g want %g\n", P, HW, nan,
                       p, y[p], m);
                bad = 1;
            }
        } else {
            double s = 0.0, want;
            for (i = 0; i < HW; i++) s += xp[i];
            want = s / HW;
            if (!(fabs(y[p] - want) <= 1e-5 * (1 + fabs(want)))) {
                printf("FAIL global avg P%d HW%d: plane %d got %g want %g\n", P, HW, p, y[p],
                       want);
                bad = 1;
            }
        }
    }
    if (!bad && !guards_ok(y, (size_t)P)) {
        printf("FAIL global P%d HW%d: wrote outside Y\n", P, HW);
        bad = 1;
    }
    failures += bad;
    free(x);
    free(y - GUARD);
}

static void random_case(Case *t)
{
    int wide = rndi(0, 5) == 0;
    t->P = rndi(1, 5);
    t->H = rndi(1, 17);
    t->W = wide ? rndi(18, 90) : rndi(1, 17);
    t->kH = rndi(1, 5);
    t->kW = rndi(1, 5);
    t->sH = rndi(1, 3);
    t->sW = rndi(1, 3);
    t->dH = rndi(0, 3) ? 1 : rndi(2, 3);
    t->dW = rndi(0, 3) ? 1 : rndi(2, 3);
    /* ONNX keeps pads below the kernel extent; allow up to it */
    t->pT = rndi(0, t->kH - 1);
    t->pB = rndi(0, t->kH - 1);
    t->pL = rndi(0, t->kW - 1);
    t->pR = rndi(0, t->kW - 1);
    t->ceil = rndi(0, 1);
    t->cip = rndi(0, 1);
    t->nan = rndi(0, 3) ? 0 : rndi(3, 30);
}

int main(void)
{
    static const Case fixed[] = {
        /* P  H    W   kH kW sH sW pT pL pB pR dH dW ceil cip nan */
        { 3, 111, 111, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0 },   /* SqueezeNet */
        { 2, 55, 55, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 7 },
        { 4, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0, 0 },     /* MNIST */
        { 2, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 1, 0 },   /* ResNet stem */
        { 2, 37, 53, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0 },
        { 2, 37, 53, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 5 },
        { 2, 37, 53, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0 },
        { 1, 1, 97, 1, 4, 1, 2, 0, 1, 0, 2, 1, 1, 1, 1, 0 },       /* 1-D */
        { 2, 20, 70, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 1, 0, 0 },      /* dilated s2 */
        { 2, 20, 70, 3, 3, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 0 },      /* stride 3 */
        { 1, 70, 5, 70, 5, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0 },      /* taller than 64 rows */
    };
    static const int ghw[] = { 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 49, 63, 64, 65, 169, 200 };
    size_t i, j;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__AVX512F__)
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("fma")) {
        printf("SKIP: no AVX-512 here\n");
        return 77;
    }
#elif defined(__AVX2__)
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("SKIP: no AVX2/FMA here\n");
        return 77;
    }
#endif
#endif
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        run_case(&fixed[i], 1);
        run_case(&fixed[i], 0);
    }
    for (i = 0; i < 4000; i++) {
        Case t;
        random_case(&t);
        run_case(&t, 1);
        run_case(&t, 0);
    }
    for (i = 0; i < sizeof ghw / sizeof ghw[0]; i++) {
        for (j = 1; j <= 5; j += 2) {
            run_global((int)j, ghw[i], 0, 0);
            run_global((int)j, ghw[i], 1, 0);
            run_global((int)j, ghw[i], 1, 9);
            run_global((int)j, ghw[i], 1, 200);
        }
    }
    printf("%d pool runs, %d failures\n", cases_run, failures);
    return failures ? 1 : 0;
}
