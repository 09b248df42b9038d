/* test_conv.c — rt_conv2d_f32 against a plain double-precision reference on odd shapes:
 * 1..13 channels, spatial 1..17, kernels 1..5, strides 1..3, asymmetric pads, dilations,
 * groups (depthwise: 3x3 stride 1 and 2 on every plane 1..17 x 1..17; 2..4 channels per
 * group, several outputs per group), N = 1 and 2,
 * weights as ONNX stores them and packed by rt_conv2d_pack_w (Winograd-transformed for
 * 3x3 convs with 32..128 inputs and 32..192 outputs, run as Winograd or, for strided,
 * dilated or small convs, on the weights recovered from that layout; 'same'-width stride-1
 * convs on packed weights, the implicit GEMM of AVX-512), every epilogue (bias,
 * residual, residual == Y, each activation against rt_act_f32). The scratch is exactly
 * rt_conv2d_work floats followed by a guard, and Y is guarded too.
 *
 * Built once with meson's flags and again with -mavx2 -mfma and with AVX-512 flags (the
 * runtime's vector paths); those variants exit 77 (skip) on a CPU without the features.
 * Exit status 0 when every case matches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc_rt.h"

#define GUARD 64
#define GUARD_VAL 12345.678f

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33);
}

static int rndi(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }
static float rndf(void) { return (float)rndi(-1000, 1000) / 500.0f; }

typedef struct {
    int N, C, H, Wd, M, kH, kW, sH, sW, pT, pL, pB, pR, dH, dW, group;
    int bias, res, act;  /* res: 0 none, 1 separate R, 2 R == Y */
} Case;

static int failures, cases_run;

static const char *case_str(const Case *t, int wpacked)
{
    static char s[256];
    snprintf(s, sizeof s,
             "N%d C%d %dx%d M%d k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d g%d bias%d res%d act%d packed%d",
             t->N, t->C, t->H, t->Wd, t->M, t->kH, t->kW, t->sH, t->sW, t->pT, t->pL, t->pB,
             t->pR, t->dH, t->dW, t->group, t->bias, t->res, t->act, wpacked);
    return s;
}

static void run_case(const Case *t)
{
    int oH = (t->H + t->pT + t->pB - t->dH * (t->kH - 1) - 1) / t->sH + 1;
    int oW = (t->Wd + t->pL + t->pR - t->dW * (t->kW - 1) - 1) / t->sW + 1;
    int cg = t->C / t->group, mg = t->M / t->group, kk = cg * t->kH * t->kW;
    size_t nx = (size_t)t->N * t->C * t->H * t->Wd, nw = (size_t)t->M * kk;
    size_t ny = (size_t)t->N * t->M * oH * oW;
    float *x, *w, *b, *y, *r, *pk = 0, *work;
    double *want;
    float aa = 0.0f, ab = 0.0f;
    ptrdiff_t psz, wsz;
    size_t i;
    int wpacked, n, m, oh, ow, c, kh, kw;
    if (oH < 1 || oW < 1) return;
    switch (t->act) {
    case RT_ACT_CLIP: aa = -0.5f; ab = 0.75f; break;
    case RT_ACT_LEAKY_RELU: aa = 0.1f; break;
    case RT_ACT_HARD_SIGMOID: aa = 0.2f; ab = 0.5f; break;
    default: break;
    }
    x = malloc(sizeof(float) * nx);
    w = malloc(sizeof(float) * nw);
    b = malloc(sizeof(float) * (size_t)t->M);
    y = malloc(sizeof(float) * (ny + GUARD));
    r = malloc(sizeof(float) * ny);
    want = malloc(sizeof(double) * ny);
    for (i = 0; i < nx; i++) x[i] = rndf();
    for (i = 0; i < nw; i++) w[i] = rndf();
    for (i = 0; i < (size_t)t->M; i++) b[i] = rndf();
    for (i = 0; i < ny; i++) r[i] = rndf();
    /* the reference: double sums, then bias, residual and the scalar activation */
    for (n = 0; n < t->N; n++)
        for (m = 0; m < t->M; m++) {
            int g = m / mg;
            for (oh = 0; oh < oH; oh++)
                for (ow = 0; ow < oW; ow++) {
                    double s = 0.0, v;
                    size_t yi = (((size_t)n * t->M + m) * oH + oh) * oW + ow;
                    for (c = 0; c < cg; c++)
                        for (kh = 0; kh < t->kH; kh++)
                            for (kw = 0; kw < t->kW; kw++) {
                                int ih = oh * t->sH - t->pT + kh * t->dH;
                                int iw = ow * t->sW - t->pL + kw * t->dW;
                                double p;
                                if (ih < 0 || ih >= t->H || iw < 0 || iw >= t->Wd) continue;
                                p = (double)x[(((size_t)n * t->C + g * cg + c) * t->H + ih) *
                                                  t->Wd + iw] *
                                    w[((size_t)m * cg + c) * t->kH * t->kW + kh * t->kW + kw];
                                s += p;
                            }
                    v = s;
                    if (t->bias) v += b[m];
                    if (t->res) v += r[yi];
                    want[yi] = rt_act_f32((float)v, t->act, aa, ab);
                }
        }
    /* every layout: as stored, GEMM panels, and Winograd (also where the plan would not pick
     * it: such a conv recovers W) */
    for (wpacked = 0; wpacked <= 2; wpacked++) {
        int bad = 0;
        psz = rt_conv2d_pack_w_size(t->C, t->M, t->kH, t->kW, t->group, wpacked);
        if (wpacked && psz == 0) continue;
        if (wpacked == 2 && psz == rt_conv2d_pack_w_size(t->C, t->M, t->kH, t->kW, t->group, 1))
            continue;  /* no Winograd layout for this shape */
        if (wpacked) {
            free(pk);
            pk = malloc(sizeof(float) * (size_t)psz);
            rt_conv2d_pack_w(t->C, t->M, t->kH, t->kW, t->group, wpacked, w, pk);
        }
        wsz = rt_conv2d_work(t->C, t->H, t->Wd, t->M, t->kH, t->kW, oH, oW, t->sH, t->sW,
                             t->pT, t->pL, t->dH, t->dW, t->group, wpacked);
        work = malloc(sizeof(float) * (size_t)(wsz + GUARD));
        for (i = 0; i < (size_t)wsz; i++) work[i] = NAN;
        for (i = 0; i < GUARD; i++) work[wsz + (ptrdiff_t)i] = GUARD_VAL;
        for (i = 0; i < ny; i++) y[i] = t->res == 2 ? r[i] : NAN;
        for (i = 0; i < GUARD; i++) y[ny + i] = GUARD_VAL;
        rt_conv2d_f32(x, wpacked ? pk : w, t->bias ? b : 0, y, t->N, t->C, t->H, t->Wd, t->M,
                      t->kH, t->kW, oH, oW, t->sH, t->sW, t->pT, t->pL, t->dH, t->dW, t->group,
                      t->res == 1 ? r : t->res == 2 ? y : 0, t->act, aa, ab, wpacked,
                      wsz ? work : 0);
        cases_run++;
        for (i = 0; i < GUARD; i++)
            if (work[wsz + (ptrdiff_t)i] != GUARD_VAL || y[ny + i] != GUARD_VAL) bad = 1;
        if (bad) {
            if (failures < 10) printf("FAIL %s: wrote past the scratch or Y\n", case_str(t, wpacked));
            failures++;
        }
        for (i = 0; i < ny && !bad; i++) {
            /* inputs are multiples of 1/500 in [-2, 2]: the float sums are off by a few ulps
             * of the sum of magnitudes at most */
            double tol = 1e-5 * (fabs(want[i]) + (double)kk * 4.0 + 8.0);
            if (!(fabs(y[i] - want[i]) <= tol)) {
                if (failures < 10)
                    printf("FAIL %s: y[%zu] = %.9g, want %.9g\n", case_str(t, wpacked), i,
                           (double)y[i], want[i]);
                failures++;
                bad = 1;
            }
        }
        free(work);
        if (!wpacked && !bad && t->res != 2) {  /* no scratch at all: the fallback path */
            rt_conv2d_f32(x, w, t->bias ? b : 0, y, t->N, t->C, t->H, t->Wd, t->M, t->kH, t->kW,
                          oH, oW, t->sH, t->sW, t->pT, t->pL, t->dH, t->dW, t->group,
                          t->res == 1 ? r : 0, t->act, aa, ab, 0, 0);
            for (i = 0; i < ny; i++)
                if (!(fabs(y[i] - want[i]) <= 1e-5 * (fabs(want[i]) + (double)kk * 4.0 + 8.0))) {
                    if (failures < 10)
                        printf("FAIL %s (work NULL): y[%zu] = %.9g, want %.9g\n",
                               case_str(t, 0), i, (double)y[i], want[i]);
                    failures++;
                    break;
                }
        }
    }
    free(pk);
    free(x);
    free(w);
    free(b);
    free(y);
    free(r);
    free(want);
}

static void random_case(Case *t)
{
    static const int chans[] = { 1, 3, 7, 13 }, outs[] = { 1, 3, 7, 13, 16, 20 };
    int kind = rndi(0, 3);
    memset(t, 0, sizeof *t);
    t->N = rndi(1, 2);
    if (kind == 0) {  /* dense */
        t->group = 1;
        t->C = chans[rndi(0, 3)];
        t->M = outs[rndi(0, 5)];
    } else if (kind == 1) {  /* depthwise */
        t->C = t->M = t->group = chans[rndi(0, 3)] + rndi(0, 1) * 20;
    } else {  /* grouped: 1..4 channels per group, 1..9 outputs per group */
        static const int mgs[] = { 1, 2, 3, 5, 9 };
        t->group = rndi(2, 5);
        t->C = t->group * rndi(1, 4);
        t->M = t->group * mgs[rndi(0, 4)];
    }
    t->H = rndi(1, 17);
    t->Wd = rndi(1, 17);
    t->kH = rndi(1, 5);
    t->kW = rndi(1, 5);
    t->sH = rndi(1, 3);
    t->sW = rndi(1, 3);
    t->dH = rndi(0, 3) ? 1 : 2;
    t->dW = rndi(0, 3) ? 1 : rndi(2, 3);
    t->pT = rndi(0, t->kH - 1);
    t->pB = rndi(0, t->kH - 1);
    t->pL = rndi(0, t->kW - 1);
    t->pR = rndi(0, t->kW - 1);
    t->bias = rndi(0, 1);
    t->res = rndi(0, 2);
    t->act = rndi(0, 9);
}

int main(void)
{
    static const Case fixed[] = {
        /* N  C  H   W   M  kH kW sH sW pT pL pB pR dH dW g  bias res act */
        { 2, 13, 17, 17, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 13, 1, 1, 1 },   /* dw 3x3 s1 */
        { 2, 13, 17, 16, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 13, 1, 2, 2 },   /* dw 3x3 s2 */
        { 1, 7, 17, 17, 7, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 7, 0, 0, 5 },      /* dw s2 TF pads */
        { 1, 3, 40, 70, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 6 },      /* dw wide rows */
        { 1, 3, 40, 70, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, 1, 0, 1 },      /* dw wide s2 */
        { 1, 5, 20, 67, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 5, 1, 0, 0 },      /* dw 5x5 */
        { 1, 9, 7, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 9, 1, 1, 2 },        /* dw 7x7 */
        { 2, 5, 14, 14, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5, 1, 2, 2 },      /* dw s2 14 -> 7 */
        { 1, 3, 33, 47, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, 1, 1, 2 },      /* dw s2 odd wide */
        { 1, 3, 20, 37, 3, 3, 3, 1, 1, 0, 1, 1, 0, 1, 1, 3, 1, 1, 2 },      /* dw s1 uneven pads */
        { 2, 13, 17, 17, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 },    /* 1x1 GEMM */
        { 1, 16, 9, 9, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 4, 1, 2, 3 },      /* grouped 1x1 */
        { 1, 13, 17, 15, 20, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0 },    /* strided 1x1 */
        { 1, 13, 31, 33, 20, 5, 5, 1, 1, 2, 1, 2, 3, 1, 1, 1, 1, 1, 9 },    /* chunked im2col */
        { 2, 3, 17, 17, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 0, 1 },     /* 7x7 s2 stem */
        { 1, 3, 23, 101, 20, 7, 7, 2, 2, 3, 3, 3, 2, 1, 1, 1, 0, 1, 2 },    /* wide s2 rows */
        { 1, 5, 9, 70, 24, 3, 3, 2, 2, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1 },      /* s2, odd pads */
        { 1, 8, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 4, 0, 2, 7 },      /* 2 ch/group, dil */
        { 1, 2, 5, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 0, 0, 0 },        /* test_cgen's */
        /* path 3 for longer reductions (rt_conv2d_wide_): blocks of 8 outputs and a tail */
        { 2, 8, 14, 14, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1 },     /* MNIST's 2nd */
        { 1, 12, 11, 13, 13, 3, 3, 2, 1, 1, 0, 1, 1, 1, 2, 1, 1, 0, 2 },    /* s2x1, dil */
        { 1, 16, 9, 10, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 2, 3 },      /* groups */
        /* packed weights, stride 1, output rows as wide as the input's (AVX-512: the
         * implicit GEMM with masked taps): 3x3 'same' with an 8-row tail, 5x5, asymmetric
         * pads, a taller kernel than pads (fewer output rows), 1x1 with few outputs */
        { 1, 16, 19, 23, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
        { 2, 7, 12, 29, 24, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2 },
        { 1, 5, 17, 20, 21, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1, 1, 0, 1, 0 },
        { 1, 6, 30, 17, 18, 5, 3, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 3 },
        { 2, 97, 16, 16, 19, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 },
        { 1, 32, 16, 18, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2 },    /* 1x1, short K */
        /* Winograd F(4x4, 3x3) weights (32..256 inputs and outputs): path 4 on odd planes
         * and pads, one chunk or several, and the fallbacks on recovered weights (stride,
         * dilation, small) */
        { 1, 32, 17, 19, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
        { 2, 48, 9, 23, 33, 3, 3, 1, 1, 0, 1, 2, 1, 1, 1, 1, 0, 2, 2 },
        { 1, 128, 13, 13, 192, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 },
        { 1, 32, 17, 17, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 },
        { 1, 32, 12, 12, 36, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 0, 1, 0 },
        { 1, 40, 6, 7, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 },
        /* 256 inputs, sized for the sanitizer build's time: one chunk, two, and strided */
        { 1, 256, 14, 14, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
        { 1, 256, 36, 22, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 2 },
        { 1, 256, 15, 15, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1 },
    };
    size_t i;
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
    /* the tiny grouped conv of tests/unit/test_cgen.c runs with no scratch */
    if (rt_conv2d_work(2, 5, 5, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 2, 0) != 0) {
        printf("FAIL: the tiny grouped conv needs scratch\n");
        failures++;
    }
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        Case t = fixed[i];
        int act;
        for (act = 0; act <= 9; act++) {
            t.act = act;
            t.res = (t.res + 1) % 3;
            t.bias = !t.bias;
            run_case(&t);
        }
    }
    for (i = 0; i < 1500; i++) {
        Case t;
        random_case(&t);
        run_case(&t);
    }
    /* depthwise 3x3 stride 1 and 2 (plan path 5): every plane 1..17 x 1..17 once, pads 0/1 */
    for (i = 0; i < 17 * 17; i++) {
        Case t;
        memset(&t, 0, sizeof t);
        t.N = rndi(1, 2);
        t.C = t.M = t.group = rndi(1, 5);
        t.H = (int)(i / 17) + 1;
        t.Wd = (int)(i % 17) + 1;
        t.kH = t.kW = 3;
        t.sH = t.sW = rndi(1, 2);
        t.dH = t.dW = 1;
        t.pT = rndi(0, 3) ? 1 : 0;
        t.pL = rndi(0, 3) ? 1 : 0;
        t.pB = rndi(0, 3) ? 1 : 0;
        t.pR = rndi(0, 3) ? 1 : 0;
        t.bias = rndi(0, 1);
        t.res = rndi(0, 2);
        t.act = rndi(0, 9);
        run_case(&t);
    }
    printf("%d conv runs, %d failures\n", cases_run, failures);
    return failures ? 1 : 0;
}
