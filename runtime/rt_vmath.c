/* rt_vmath.c — vectorised float32 math over arrays: the activations of the epilogue
 * (rt_vact_f32), exp / tanh / sigmoid / erf (rt_vmath_f32), softmax over rows
 * (rt_softmax_f32) and layer normalization over rows (rt_layernorm_f32).
 *
 * One body per function, written against a handful of vector primitives (V* below) that
 * exist for AVX-512F, AVX2+FMA, NEON (AArch64) and portable C (one lane). The math is our
 * own: exp by range reduction (x = n ln2 + r, |r| <= ln2/2, Cody-Waite split of ln2) and a
 * degree-6 polynomial fitted for relative error, with 2^n applied as two factors so that
 * subnormal results and overflow come out right; tanh as an odd polynomial below 0.625 and
 * 1 - 2 / (exp(2|x|) + 1) above; erf as an odd polynomial below 0.875 and, above, through
 * erfc(a) = u Q(u) exp(-a^2) with u = 1 / (1 + a / 2) (Q fitted for relative error), so
 * erfc and GELU of negative arguments keep their relative accuracy. The semantics of each
 * activation are those of rt_act_f32 (rt_sgemm_pack.c). C99; intrinsics only behind #if. */
#include "onnxcc_rt.h"

#include <math.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define VW 16
typedef __m512 V;
typedef __mmask16 VM;
static inline V vld(const float *p) { return _mm512_loadu_ps(p); }
static inline void vst(float *p, V a) { _mm512_storeu_ps(p, a); }
static inline V vset(float a) { return _mm512_set1_ps(a); }
static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
static inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
static inline V vabs(V a)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a),
                                                _mm512_set1_epi32(0x7fffffff)));
}
static inline VM vlt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline VM vle(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
static inline VM vord(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_ORD_Q); }
static inline V vsel(VM m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
/* t = n + 1.5 * 2^23 holds the integer n in its low mantissa bits: p * 2^n */
static inline V vscale(V p, V t)
{
    __m512i n = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4b400000));
    __m512i n1 = _mm512_srai_epi32(n, 1), n2 = _mm512_sub_epi32(n, n1), b = _mm512_set1_epi32(127);
    V s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n1, b), 23));
    V s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n2, b), 23));
    return _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VW 8
typedef __m256 V;
typedef __m256 VM;
static inline V vld(const float *p) { return _mm256_loadu_ps(p); }
static inline void vst(float *p, V a) { _mm256_storeu_ps(p, a); }
static inline V vset(float a) { return _mm256_set1_ps(a); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
static inline V vabs(V a)
{
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}
static inline VM vlt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline VM vle(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
static inline VM vord(V a) { return _mm256_cmp_ps(a, a, _CMP_ORD_Q); }
static inline V vsel(VM m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
static inline V vscale(V p, V t)
{
    __m256i n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4b400000));
    __m256i n1 = _mm256_srai_epi32(n, 1), n2 = _mm256_sub_epi32(n, n1), b = _mm256_set1_epi32(127);
    V s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, b), 23));
    V s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, b), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define VW 4
typedef float32x4_t V;
typedef uint32x4_t VM;
static inline V vld(const float *p) { return vld1q_f32(p); }
static inline void vst(float *p, V a) { vst1q_f32(p, a); }
static inline V vset(float a) { return vdupq_n_f32(a); }
static inline V vadd(V a, V b) { return vaddq_f32(a, b); }
static inline V vsub(V a, V b) { return vsubq_f32(a, b); }
static inline V vmul(V a, V b) { return vmulq_f32(a, b); }
static inline V vdiv(V a, V b) { return vdivq_f32(a, b); }
static inline V vfma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
static inline V vmax(V a, V b) { return vmaxq_f32(a, b); }
static inline V vmin(V a, V b) { return vminq_f32(a, b); }
static inline V vabs(V a) { return vabsq_f32(a); }
static inline VM vlt(V a, V b) { return vcltq_f32(a, b); }
static inline VM vle(V a, V b) { return vcleq_f32(a, b); }
static inline VM vord(V a) { return vceqq_f32(a, a); }
static inline V vsel(VM m, V a, V b) { return vbslq_f32(m, a, b); }
static inline V vscale(V p, V t)
{
    int32x4_t n = vsubq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(0x4b400000));
    int32x4_t n1 = vshrq_n_s32(n, 1), n2 = vsubq_s32(n, n1), b = vdupq_n_s32(127);
    V s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, b), 23));
    V s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, b), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}
#else
/* portable C: one lane; plain expressions the compiler may vectorise */
#define VW 1
typedef float V;
typedef int VM;
static inline V vld(const float *p) { return *p; }
static inline void vst(float *p, V a) { *p = a; }
static inline V vset(float a) { return a; }
static inline V vadd(V a, V b) { return a + b; }
static inline V vsub(V a, V b) { return a - b; }
static inline V vmul(V a, V b) { return a * b; }
static inline V vdiv(V a, V b) { return a / b; }
static inline V vfma(V a, V b, V c) { return a * b + c; }
static inline V vmax(V a, V b) { return a > b ? a : b; }
static inline V vmin(V a, V b) { return a < b ? a : b; }
static inline V vabs(V a) { return fabsf(a); }
static inline VM vlt(V a, V b) { return a < b; }
static inline VM vle(V a, V b) { return a <= b; }
static inline VM vord(V a) { return a == a; }
static inline V vsel(VM m, V a, V b) { return m ? a : b; }
static inline V vscale(V p, V t)
{
    unsigned int u, s;
    int n, n1, n2;
    float f1, f2;
    memcpy(&u, &t, sizeof u);
    n = (int)(u & 0x7fffffu) - 0x400000; /* t in [2^23, 2^24): n from the mantissa */
    n1 = n / 2;
    n2 = n - n1;
    s = (unsigned int)(n1 + 127) << 23;
    memcpy(&f1, &s, sizeof f1);
    s = (unsigned int)(n2 + 127) << 23;
    memcpy(&f2, &s, sizeof f2);
    return p * f1 * f2;
}
#endif

/* ---- the approximations ------------------------------------------------------------ */

/* exp(x), max relative error about 1 ulp; NaN in, NaN out (fixed by the callers' vord). */
static inline V v_exp(V x)
{
    const V magic = vset(12582912.0f); /* 1.5 * 2^23 */
    x = vmax(vmin(x, vset(88.8f)), vset(-105.0f));
    V t = vfma(x, vset(1.44269504089f), magic);
    V n = vsub(t, magic);
    V r = vfma(n, vset(-0.693359375f), x);    /* ln2 hi: 9 bits, n * hi is exact */
    r = vfma(n, vset(2.12194440e-4f), r);      /* ln2 lo */
    V q = vfma(vset(1.381459986e-03f), r, vset(8.368715412e-03f));
    q = vfma(q, r, vset(4.166838793e-02f));
    q = vfma(q, r, vset(1.666652064e-01f));
    q = vfma(q, r, vset(4.999999345e-01f));
    V p = vadd(vfma(vmul(r, r), q, r), vset(1.0f));
    return vscale(p, t);
}

static inline V v_fixnan(V x, V y) { return vsel(vord(x), y, vadd(x, x)); }

/* tanh(x) */
static inline V v_tanh(V x)
{
    V a = vabs(x), t = vmul(x, x);
    V q = vfma(vset(-5.704978377e-03f), t, vset(2.063907874e-02f));
    q = vfma(q, t, vset(-5.373971216e-02f));
    q = vfma(q, t, vset(1.333144216e-01f));
    q = vfma(q, t, vset(-3.333328194e-01f));
    V small = vfma(vmul(x, t), q, x);
    V e = v_exp(vadd(a, a));
    V big = vsub(vset(1.0f), vdiv(vset(2.0f), vadd(e, vset(1.0f))));
    big = vsel(vlt(x, vset(0.0f)), vsub(vset(0.0f), big), big);
    return v_fixnan(x, vsel(vlt(a, vset(0.625f)), small, big));
}

/* erf and erfc of a = |z| (a >= 0): *erf_a = erf(a), *erfc_a = erfc(a), each accurate in
 * its own relative terms where it matters (erfc(a) for large a). */
static inline void v_erf_abs(V a, V *erf_a, V *erfc_a)
{
    V t = vmul(a, a);
    V s = vfma(vset(-6.192022887e-04f), t, vset(5.030221026e-03f));
    s = vfma(s, t, vset(-2.679027727e-02f));
    s = vfma(s, t, vset(1.128242640e-01f));
    s = vfma(s, t, vset(-3.761254803e-01f));
    s = vfma(s, t, vset(1.128379157e+00f));
    s = vmul(s, a);
    V u = vdiv(vset(1.0f), vfma(a, vset(0.5f), vset(1.0f)));
    V q = vfma(vset(7.002778568e-02f), u, vset(-1.521817354e-01f));
    q = vfma(q, u, vset(-1.593630946e-02f));
    q = vfma(q, u, vset(1.322030525e-01f));
    q = vfma(q, u, vset(1.484953225e-01f));
    q = vfma(q, u, vset(2.545306003e-01f));
    q = vfma(q, u, vset(2.810118360e-01f));
    q = vfma(q, u, vset(2.821569370e-01f));
    V c = vmul(vmul(u, q), v_exp(vsub(vset(0.0f), t)));
    VM lo = vlt(a, vset(0.875f));
    *erf_a = vsel(lo, s, vsub(vset(1.0f), c));
    *erfc_a = vsel(lo, vsub(vset(1.0f), s), c);
}

static inline V v_erf(V x)
{
    V a = vabs(x), e, c;
    v_erf_abs(a, &e, &c);
    return v_fixnan(x, vsel(vlt(x, vset(0.0f)), vsub(vset(0.0f), e), e));
}

static inline V v_sigmoid(V x)
{
    return v_fixnan(x, vdiv(vset(1.0f), vadd(vset(1.0f), v_exp(vsub(vset(0.0f), x)))));
}

/* x / 2 * (1 + erf(x / sqrt 2)); for x < 0 as x / 2 * erfc(|x| / sqrt 2) */
static inline V v_gelu(V x)
{
    V z = vmul(x, vset(0.70710678118654752f)), e, c;
    v_erf_abs(vabs(z), &e, &c);
    V f = vsel(vlt(x, vset(0.0f)), c, vadd(vset(1.0f), e));
    return v_fixnan(x, vmul(vmul(vset(0.5f), x), f));
}

static inline V vm_act(V x, ptrdiff_t act, V a, V b)
{
    V zero = vset(0.0f), one = vset(1.0f), t;
    switch (act) {
    case RT_ACT_RELU: return vsel(vlt(zero, x), x, zero);
    case RT_ACT_CLIP: return vsel(vlt(x, a), a, vsel(vlt(b, x), b, x));
    case RT_ACT_LEAKY_RELU: return vsel(vle(zero, x), x, vmul(a, x));
    case RT_ACT_HARD_SIGMOID:
        t = vadd(vmul(a, x), b);
        return vsel(vlt(t, zero), zero, vsel(vlt(one, t), one, t));
    case RT_ACT_HARD_SWISH:
        t = vadd(vdiv(x, vset(6.0f)), vset(0.5f));
        return vmul(x, vsel(vlt(t, zero), zero, vsel(vlt(one, t), one, t)));
    case RT_ACT_SIGMOID: return v_sigmoid(x);
    case RT_ACT_SILU:
        return v_fixnan(x, vdiv(x, vadd(one, v_exp(vsub(zero, x)))));
    case RT_ACT_TANH: return v_tanh(x);
    case RT_ACT_GELU: return v_gelu(x);
    default: return x;
    }
}

/* ---- array functions --------------------------------------------------------------- */

void rt_vact_f32(ptrdiff_t n, const float *x, float *y, ptrdiff_t act, float a, float b)
{
    V va = vset(a), vb = vset(b);
    ptrdiff_t i = 0;
    if (act == RT_ACT_NONE) {
        if (x != y) memmove(y, x, sizeof(float) * (size_t)(n > 0 ? n : 0));
        return;
    }
    for (; i + VW <= n; i += VW) vst(y + i, vm_act(vld(x + i), act, va, vb));
    if (i < n) {
        float buf[VW];
        ptrdiff_t r = n - i, j;
        for (j = 0; j < VW; j++) buf[j] = j < r ? x[i + j] : 0.0f;
        vst(buf, vm_act(vld(buf), act, va, vb));
        for (j = 0; j < r; j++) y[i + j] = buf[j];
    }
}

static inline V v_math(V x, ptrdiff_t op)
{
    switch (op) {
    case RT_MATH_EXP: return v_fixnan(x, v_exp(x));
    case RT_MATH_TANH: return v_tanh(x);
    case RT_MATH_SIGMOID: return v_sigmoid(x);
    case RT_MATH_ERF: return v_erf(x);
    default: return x;
    }
}

void rt_vmath_f32(ptrdiff_t n, const float *x, float *y, ptrdiff_t op)
{
    ptrdiff_t i = 0;
    for (; i + VW <= n; i += VW) vst(y + i, v_math(vld(x + i), op));
    if (i < n) {
        float buf[VW];
        ptrdiff_t r = n - i, j;
        for (j = 0; j < VW; j++) buf[j] = j < r ? x[i + j] : 0.0f;
        vst(buf, v_math(vld(buf), op));
        for (j = 0; j < r; j++) y[i + j] = buf[j];
    }
}

/* horizontal sum / max of one vector (once per row) */
static float vhsum(V a)
{
    float buf[VW], s = 0.0f;
    int j;
    vst(buf, a);
    for (j = 0; j < VW; j++) s += buf[j];
    return s;
}

static float vhmax(V a)
{
    float buf[VW], m;
    int j;
    vst(buf, a);
    m = buf[0];
    for (j = 1; j < VW; j++) m = buf[j] > m ? buf[j] : m;
    return m;
}

void rt_softmax_f32(ptrdiff_t rows, ptrdiff_t cols, const float *x, float *y, ptrdiff_t log)
{
    ptrdiff_t r, i;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m, s, buf[VW];
        V vm, vs = vset(0.0f), vmx;
        if (cols <= 0) continue;
        /* max */
        m = xr[0];
        i = 0;
        if (cols >= VW) {
            vm = vld(xr);
            for (i = VW; i + VW <= cols; i += VW) vm = vmax(vm, vld(xr + i));
            m = vhmax(vm);
        }
        for (; i < cols; i++) m = xr[i] > m ? xr[i] : m;
        /* exp(x - max) and its sum */
        vmx = vset(m);
        s = 0.0f;
        for (i = 0; i + VW <= cols; i += VW) {
            V e = v_exp(vsub(vld(xr + i), vmx));
            vs = vadd(vs, e);
            if (!log) vst(yr + i, e);
        }
        s = vhsum(vs);
        if (i < cols) {
            ptrdiff_t rem = cols - i, j;
            for (j = 0; j < VW; j++) buf[j] = j < rem ? xr[i + j] - m : 0.0f;
            vst(buf, v_exp(vld(buf)));
            for (j = 0; j < rem; j++) {
                s += buf[j];
                if (!log) yr[i + j] = buf[j];
            }
        }
        if (log) {
            float ls = logf(s);
            V vl = vset(ls);
            for (i = 0; i + VW <= cols; i += VW) vst(yr + i, vsub(vsub(vld(xr + i), vmx), vl));
            for (; i < cols; i++) yr[i] = (xr[i] - m) - ls;
        } else {
            V vinv = vset(1.0f / s);
            for (i = 0; i + VW <= cols; i += VW) vst(yr + i, vmul(vld(yr + i), vinv));
            for (; i < cols; i++) yr[i] = yr[i] / s;
        }
    }
}

void rt_layernorm_f32(ptrdiff_t rows, ptrdiff_t cols, const float *x, const float *scale,
                      const float *bias, float *y, float eps)
{
    ptrdiff_t r, i;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float s, mean, v, inv;
        V acc = vset(0.0f), vmean, vinv;
        if (cols <= 0) continue;
        for (i = 0; i + VW <= cols; i += VW) acc = vadd(acc, vld(xr + i));
        s = vhsum(acc);
        for (; i < cols; i++) s += xr[i];
        mean = s / (float)cols;
        vmean = vset(mean);
        acc = vset(0.0f);
        for (i = 0; i + VW <= cols; i += VW) {
            V d = vsub(vld(xr + i), vmean);
            acc = vfma(d, d, acc);
        }
        v = vhsum(acc);
        for (; i < cols; i++) v += (xr[i] - mean) * (xr[i] - mean);
        inv = 1.0f / sqrtf(v / (float)cols + eps);
        vinv = vset(inv);
        for (i = 0; i + VW <= cols; i += VW) {
            V t = vmul(vmul(vsub(vld(xr + i), vmean), vinv), vld(scale + i));
            if (bias) t = vadd(t, vld(bias + i));
            vst(yr + i, t);
        }
        for (; i < cols; i++) {
            float t = (xr[i] - mean) * inv * scale[i];
            yr[i] = bias ? t + bias[i] : t;
        }
    }
}
