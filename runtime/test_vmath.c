/* test_vmath.c — rt_vmath.c against double-precision libm references: exp, tanh, sigmoid,
 * erf, every activation of rt_vact_f32 (against rt_act_f32 and a double reference),
 * softmax / log-softmax and layer normalization over rows, on a dense sweep of inputs
 * (-30..30 step 1e-3) plus special values (0, -0, large, +-inf, NaN), odd lengths for the
 * vector tails, and in place (y == x).
 *
 * Built once with meson's flags and again with -mavx2 -mfma and with AVX-512 flags (the
 * vector paths); those variants exit 77 (skip) on a CPU without the features. Prints the
 * measured max abs / rel errors; exit status 0 when all are within the bounds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc_rt.h"

static int failures;

static double gelu_ref(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double sig_ref(double x) { return 1.0 / (1.0 + exp(-x)); }

/* error of got against the double reference: relative where |ref| > tiny, else absolute */
typedef struct { double abs, rel; float at_abs, at_rel; } Err;

static void err_add(Err *e, float x, float got, double ref)
{
    double d, r;
    if (isnan(ref)) {
        if (!isnan(got)) { e->abs = INFINITY; e->at_abs = x; }
        return;
    }
    if (isinf(ref)) {
        if ((double)got != ref) { e->abs = INFINITY; e->at_abs = x; }
        return;
    }
    d = fabs((double)got - ref);
    if (d > e->abs) { e->abs = d; e->at_abs = x; }
    /* relative error only above the float normal range's noise */
    r = fabs(ref) > 1e-30 ? d / fabs(ref) : 0.0;
    if (fabs(ref) > 1e-37 && r > e->rel) { e->rel = r; e->at_rel = x; }
}

static void check(const char *what, const Err *e, double max_abs, double max_rel)
{
    int bad = !(e->abs <= max_abs) || !(e->rel <= max_rel);
    printf("%-14s max abs %.3g (x=%g)  max rel %.3g (x=%g)%s\n", what, e->abs, e->at_abs,
           e->rel, e->at_rel, bad ? "  FAIL" : "");
    if (bad) failures++;
}

static float *sweep(ptrdiff_t *n)
{
    static const float special[] = { 0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 1e-45f,
                                     87.0f, 88.5f, 88.72f, 88.73f, 89.0f, -87.0f, -88.0f,
                                     -100.0f, -103.0f, -104.0f, -110.0f, 1e10f, -1e10f,
                                     3.4e38f, -3.4e38f, INFINITY, -INFINITY, NAN };
    ptrdiff_t ns = (ptrdiff_t)(sizeof special / sizeof special[0]), m = 60001, i;
    float *x = malloc(sizeof(float) * (size_t)(m + ns + 2000));
    for (i = 0; i < m; i++) x[i] = (float)(-30.0 + 1e-3 * (double)i);
    for (i = 0; i < ns; i++) x[m + i] = special[i];
    /* wide range: +-1e-6 .. +-120, log-spaced */
    for (i = 0; i < 1000; i++) {
        float v = (float)(1e-6 * pow(1.2e8, i / 999.0));
        x[m + ns + 2 * i] = v;
        x[m + ns + 2 * i + 1] = -v;
    }
    *n = m + ns + 2000;
    return x;
}

static double math_ref(int op, double x)
{
    switch (op) {
    case RT_MATH_EXP: return exp(x);
    case RT_MATH_TANH: return tanh(x);
    case RT_MATH_SIGMOID: return sig_ref(x);
    default: return erf(x);
    }
}

static double act_ref(int act, double x, double a, double b)
{
    double t;
    switch (act) {
    case RT_ACT_RELU: return x > 0 ? x : 0;
    case RT_ACT_CLIP: return x < a ? a : x > b ? b : x;
    case RT_ACT_LEAKY_RELU: return x >= 0 ? x : a * x;
    case RT_ACT_HARD_SIGMOID: t = a * x + b; return t < 0 ? 0 : t > 1 ? 1 : t;
    case RT_ACT_HARD_SWISH: t = x / 6 + 0.5; return x * (t < 0 ? 0 : t > 1 ? 1 : t);
    case RT_ACT_SIGMOID: return sig_ref(x);
    case RT_ACT_SILU: return isinf(x) ? (x > 0 ? x : 0.0) : x * sig_ref(x);
    case RT_ACT_TANH: return tanh(x);
    case RT_ACT_GELU: return isinf(x) ? (x > 0 ? x : NAN) : gelu_ref(x);
    default: return x;
    }
}

static void test_math(const float *x, ptrdiff_t n, float *y)
{
    static const char *names[] = { "", "exp", "tanh", "sigmoid", "erf" };
    /* bounds: relative for exp/tanh/sigmoid (a few ulp), absolute for erf */
    static const double rel[] = { 0, 3e-7, 5e-7, 5e-7, 1e-6 };
    int op;
    for (op = RT_MATH_EXP; op <= RT_MATH_ERF; op++) {
        Err e = { 0, 0, 0, 0 };
        ptrdiff_t i;
        rt_vmath_f32(n, x, y, op);
        for (i = 0; i < n; i++) {
            double ref = math_ref(op, x[i]);
            /* below the float normal range, only absolute error counts */
            if (op == RT_MATH_EXP && fabs(ref) < 1.2e-38) {
                if (fabs(y[i] - ref) > 1.5e-45) { e.abs = INFINITY; e.at_abs = x[i]; }
                continue;
            }
            if (op == RT_MATH_EXP && ref > 3.4028234663852886e38) ref = INFINITY;
            err_add(&e, x[i], y[i], ref);
        }
        if (op == RT_MATH_EXP) e.abs = isinf(e.abs) ? e.abs : 0; /* exp: relative only */
        check(names[op], &e, op == RT_MATH_ERF ? 2e-7 : INFINITY, op == RT_MATH_ERF ? 1.0 : rel[op]);
        if (op == RT_MATH_ERF) {
            /* relative error of erf away from 0 (|erf| > 1e-30) */
            Err r = { 0, 0, 0, 0 };
            for (i = 0; i < n; i++) err_add(&r, x[i], y[i], erf(x[i]));
            check("erf (rel)", &r, INFINITY, 1e-6);
        }
    }
}

static void test_act(const float *x, ptrdiff_t n, float *y)
{
    static const char *names[] = { "none", "relu", "clip", "leaky_relu", "hard_sigmoid",
                                   "hard_swish", "sigmoid", "silu", "tanh", "gelu" };
    int act;
    for (act = RT_ACT_NONE; act <= RT_ACT_GELU; act++) {
        float a = act == RT_ACT_CLIP ? -1.5f : act == RT_ACT_HARD_SIGMOID ? 0.2f : 0.1f;
        float b = act == RT_ACT_CLIP ? 2.5f : 0.5f;
        Err e = { 0, 0, 0, 0 };
        ptrdiff_t i;
        char nm[40];
        rt_vact_f32(n, x, y, act, a, b);
        for (i = 0; i < n; i++) {
            double ref = act_ref(act, x[i], a, b);
            if (act == RT_ACT_RELU && isnan(x[i])) ref = 0; /* rt_act_f32's convention */
            err_add(&e, x[i], y[i], ref);
            /* the piecewise-linear ones match rt_act_f32 bit for bit */
            if (act <= RT_ACT_HARD_SWISH) {
                float r = rt_act_f32(x[i], act, a, b);
                if (memcmp(&r, &y[i], sizeof r) && !(isnan(r) && isnan(y[i]))) {
                    e.abs = INFINITY;
                    e.at_abs = x[i];
                }
            }
        }
        sprintf(nm, "act %s", names[act]);
        /* gelu: abs error near 0 matters (rtol 1e-3, atol 1e-7 downstream) */
        if (act == RT_ACT_GELU) {
            /* relative above 1e-7, absolute below: rtol 1e-3 / atol 1e-7 downstream */
            Err m = { 0, 0, 0, 0 };
            for (i = 0; i < n; i++) {
                double ref = act_ref(act, x[i], a, b), d;
                if (isnan(ref) || isinf(ref)) continue;
                d = fabs(y[i] - ref) / fmax(1e-7, fabs(ref));
                if (d > m.rel) { m.rel = d; m.at_rel = x[i]; }
            }
            check("gelu (mixed)", &m, 0, 5e-6);
        }
        /* the piecewise-linear ones are compared bit for bit with rt_act_f32 above */
        check(nm, &e, act == RT_ACT_GELU ? 1e-6 : act == RT_ACT_SILU ? 1e-5 : INFINITY,
              act == RT_ACT_GELU ? 1e-4 : act >= RT_ACT_SIGMOID ? 1e-6 : INFINITY);
    }
}

/* tails and in place: every length against the long-array result */
static void test_lengths(const float *x, const float *full)
{
    static const ptrdiff_t lens[] = { 1, 2, 3, 5, 7, 13, 15, 16, 17, 31, 33, 127, 257 };
    size_t li;
    int bad = 0, op;
    float buf[300];
    for (li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        ptrdiff_t len = lens[li], off, i;
        for (off = 0; off < 3; off++) {
            for (op = RT_MATH_EXP; op <= RT_MATH_ERF; op++) {
                float ref[300];
                rt_vmath_f32(len + 3, x + 20000 + off, ref, op);
                for (i = 0; i < len + 3; i++) buf[i] = x[20000 + off + i];
                buf[len] = 777.0f;
                rt_vmath_f32(len, buf, buf, op); /* in place */
                for (i = 0; i < len; i++)
                    if (memcmp(&buf[i], &ref[i], sizeof(float))) bad++;
                if (buf[len] != 777.0f) bad++;
            }
            for (op = RT_ACT_RELU; op <= RT_ACT_GELU; op++) {
                float ref[300];
                rt_vact_f32(len + 3, x + 29000 + off, ref, op, 0.25f, 0.5f);
                for (i = 0; i < len + 3; i++) buf[i] = x[29000 + off + i];
                buf[len] = 777.0f;
                rt_vact_f32(len, buf, buf, op, 0.25f, 0.5f);
                for (i = 0; i < len; i++)
                    if (memcmp(&buf[i], &ref[i], sizeof(float))) bad++;
                if (buf[len] != 777.0f) bad++;
            }
        }
    }
    (void)full;
    printf("%-14s %d mismatches\n", "tails/inplace", bad);
    if (bad) failures++;
}

static unsigned long long rng = 0x2545f4914f6cdd1dULL;
static float rndf(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng >> 40) / (double)(1ULL << 24) * 8.0 - 4.0);
}

static void test_rows(void)
{
    static const ptrdiff_t colsv[] = { 1, 2, 3, 7, 8, 13, 16, 17, 31, 127, 257, 1000 };
    size_t ci;
    double es = 0, el = 0, en = 0;
    for (ci = 0; ci < sizeof colsv / sizeof colsv[0]; ci++) {
        ptrdiff_t cols = colsv[ci], rows = 3, i, r, c, sz = rows * cols;
        float *x = malloc(sizeof(float) * (size_t)sz), *y = malloc(sizeof(float) * (size_t)(sz + 1));
        float *sc = malloc(sizeof(float) * (size_t)cols), *bi = malloc(sizeof(float) * (size_t)cols);
        int lg, inpl, hb;
        for (i = 0; i < sz; i++) x[i] = rndf() * (i % 5 == 0 ? 10.0f : 1.0f);
        for (c = 0; c < cols; c++) { sc[c] = rndf(); bi[c] = rndf(); }
        for (lg = 0; lg < 2; lg++)
            for (inpl = 0; inpl < 2; inpl++) {
                float *out = inpl ? y : y;
                if (inpl) memcpy(y, x, sizeof(float) * (size_t)sz);
                y[sz] = 777.0f;
                rt_softmax_f32(rows, cols, inpl ? y : x, out, lg);
                if (y[sz] != 777.0f) failures++;
                for (r = 0; r < rows; r++) {
                    double m = -INFINITY, s = 0;
                    for (c = 0; c < cols; c++) m = fmax(m, x[r * cols + c]);
                    for (c = 0; c < cols; c++) s += exp((double)x[r * cols + c] - m);
                    for (c = 0; c < cols; c++) {
                        double d = (double)x[r * cols + c] - m;
                        double ref = lg ? d - log(s) : exp(d) / s;
                        double e = fabs(y[r * cols + c] - ref) / (fabs(ref) + (lg ? 1.0 : 1e-30));
                        if (lg) { if (e > el) el = e; }
                        else if (e > es && ref > 1e-30) es = e;
                    }
                }
            }
        for (hb = 0; hb < 2; hb++)
            for (inpl = 0; inpl < 2; inpl++) {
                if (inpl) memcpy(y, x, sizeof(float) * (size_t)sz);
                rt_layernorm_f32(rows, cols, inpl ? y : x, sc, hb ? bi : NULL, y, 1e-5f);
                for (r = 0; r < rows; r++) {
                    double m = 0, v = 0;
                    for (c = 0; c < cols; c++) m += x[r * cols + c];
                    m /= (double)cols;
                    for (c = 0; c < cols; c++) v += (x[r * cols + c] - m) * (x[r * cols + c] - m);
                    v /= (double)cols;
                    for (c = 0; c < cols; c++) {
                        double ref = (x[r * cols + c] - m) / sqrt(v + 1e-5) * sc[c] + (hb ? bi[c] : 0);
                        double e = fabs(y[r * cols + c] - ref) / (fabs(ref) + 1.0);
                        if (e > en) en = e;
                    }
                }
            }
        free(x); free(y); free(sc); free(bi);
    }
    printf("%-14s max rel %.3g\n%-14s max rel %.3g (vs |ref| + 1)\n%-14s max rel %.3g (vs |ref| + 1)\n",
           "softmax", es, "logsoftmax", el, "layernorm", en);
    /* float sums over up to 1000 columns: a few 1e-6 */
    if (!(es < 1e-5) || !(el < 1e-5) || !(en < 1e-5)) { failures++; printf("rows FAIL\n"); }
}

int main(void)
{
    ptrdiff_t n;
    float *x, *y;
#if defined(__AVX512F__) && (defined(__x86_64__) || defined(__i386__))
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("fma")) {
        printf("skip: no AVX-512\n");
        return 77;
    }
#elif defined(__AVX2__) && (defined(__x86_64__) || defined(__i386__))
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("skip: no AVX2/FMA\n");
        return 77;
    }
#endif
    x = sweep(&n);
    y = malloc(sizeof(float) * (size_t)n);
    test_math(x, n, y);
    test_act(x, n, y);
    test_lengths(x, y);
    test_rows();
    free(x);
    free(y);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
