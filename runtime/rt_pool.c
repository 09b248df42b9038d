/* rt_pool.c — float32 NCHW pooling: MaxPool and AveragePool over 2-D windows (1-D runs as
 * 2-D with a unit height), GlobalMaxPool / GlobalAveragePool over whole planes.
 *
 * Each output row is split into border columns (some tap outside the input: scalar, with
 * bounds tests) and interior columns (every tap inside: vector loads along W, one output per
 * lane). Stride 1 loads taps contiguously; stride 2 loads two vectors and keeps the even
 * lanes; other strides take the scalar interior loop. Every lane visits its taps in the
 * loop nest's order (kh outer, kw inner, out-of-range taps skipped), and the running max is
 * a > b ? a : b from -inf, so NaN and signed zeros come out as the loop nest's do (the x86
 * max instructions are exactly that select). AveragePool sums in the same order and
 * divides, as the loop nest does. One exception, AVX-512 MaxPool with 3 columns at stride
 * 2: rows down, then across (max_row_k3s2); the same result but with NaN, and a row whose
 * inputs hold a NaN is done again in order.
 *
 * Vector paths: AVX-512F, AVX2, SSE2, NEON (AArch64); portable C99 always (alone with
 * -DRT_POOL_SCALAR). */
#include "onnxcc_rt.h"

#include <math.h>

#if defined(RT_POOL_SCALAR)
/* portable C only (tests) */
#elif defined(__AVX512F__)
#include <immintrin.h>
#define RT_POOL_VL 16
typedef __m512 pvec;
#define PV_LOAD(p) _mm512_loadu_ps(p)
#define PV_STORE(p, v) _mm512_storeu_ps((p), (v))
#define PV_SET1(x) _mm512_set1_ps(x)
#define PV_MAX(a, b) _mm512_max_ps((a), (b))
#define PV_ADD(a, b) _mm512_add_ps((a), (b))
#define PV_DIV(a, b) _mm512_div_ps((a), (b))
#define RT_POOL_MASKED 1
static __mmask16 pv_mask(ptrdiff_t n) { return (__mmask16)((1u << n) - 1u); }
#define PV_LOADN(p, n) _mm512_maskz_loadu_ps(pv_mask(n), (p))
#define PV_STOREN(p, n, v) _mm512_mask_storeu_ps((p), pv_mask(n), (v))
/* the even elements of p[0 .. 2 * VL - 1] */
static pvec pv_even(const float *p)
{
    const __m512i idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                         2, 0);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), idx, _mm512_loadu_ps(p + 16));
}
/* the even elements of p[0 .. 2n - 2] (n <= VL), nothing read past those */
static pvec pv_even_n(const float *p, ptrdiff_t n)
{
    const __m512i idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                         2, 0);
    ptrdiff_t m = 2 * n - 1;
    __m512 lo = PV_LOADN(p, m < 16 ? m : 16);
    __m512 hi = m > 16 ? PV_LOADN(p + 16, m - 16) : _mm512_setzero_ps();
    return _mm512_permutex2var_ps(lo, idx, hi);
}
static float pv_hmax(pvec v) { return _mm512_reduce_max_ps(v); }
static float pv_hsum(pvec v) { return _mm512_reduce_add_ps(v); }
static int pv_any_nan(pvec v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0; }

#elif defined(__AVX2__)
#include <immintrin.h>
#define RT_POOL_VL 8
typedef __m256 pvec;
#define PV_LOAD(p) _mm256_loadu_ps(p)
#define PV_STORE(p, v) _mm256_storeu_ps((p), (v))
#define PV_SET1(x) _mm256_set1_ps(x)
#define PV_MAX(a, b) _mm256_max_ps((a), (b))
#define PV_ADD(a, b) _mm256_add_ps((a), (b))
#define PV_DIV(a, b) _mm256_div_ps((a), (b))
#define RT_POOL_MASKED 1
static const int pv_mask_tab[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
static __m256i pv_mask(ptrdiff_t n)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)(pv_mask_tab + 8 - n));
}
#define PV_LOADN(p, n) _mm256_maskload_ps((p), pv_mask(n))
#define PV_STOREN(p, n, v) _mm256_maskstore_ps((p), pv_mask(n), (v))
static pvec pv_deint(__m256 lo, __m256 hi)
{
    __m256 s = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}
static pvec pv_even(const float *p) { return pv_deint(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)); }
static pvec pv_even_n(const float *p, ptrdiff_t n)
{
    ptrdiff_t m = 2 * n - 1;
    __m256 lo = PV_LOADN(p, m < 8 ? m : 8);
    __m256 hi = m > 8 ? PV_LOADN(p + 8, m - 8) : _mm256_setzero_ps();
    return pv_deint(lo, hi);
}
static float pv_hmax(pvec v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static float pv_hsum(pvec v)
{
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static int pv_any_nan(pvec v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0; }

#elif defined(__SSE2__)
#include <emmintrin.h>
#define RT_POOL_VL 4
typedef __m128 pvec;
#define PV_LOAD(p) _mm_loadu_ps(p)
#define PV_STORE(p, v) _mm_storeu_ps((p), (v))
#define PV_SET1(x) _mm_set1_ps(x)
#define PV_MAX(a, b) _mm_max_ps((a), (b))
#define PV_ADD(a, b) _mm_add_ps((a), (b))
#define PV_DIV(a, b) _mm_div_ps((a), (b))
static pvec pv_even(const float *p)
{
    return _mm_shuffle_ps(_mm_loadu_ps(p), _mm_loadu_ps(p + 4), _MM_SHUFFLE(2, 0, 2, 0));
}
static float pv_hmax(pvec v)
{
    __m128 m = _mm_max_ps(v, _mm_movehl_ps(v, v));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static float pv_hsum(pvec v)
{
    __m128 m = _mm_add_ps(v, _mm_movehl_ps(v, v));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
static int pv_any_nan(pvec v) { return _mm_movemask_ps(_mm_cmpunord_ps(v, v)) != 0; }

#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define RT_POOL_VL 4
typedef float32x4_t pvec;
#define PV_LOAD(p) vld1q_f32(p)
#define PV_STORE(p, v) vst1q_f32((p), (v))
#define PV_SET1(x) vdupq_n_f32(x)
/* a > b ? a : b (vmaxq_f32 would return NaN for either NaN) */
static pvec pv_max(pvec a, pvec b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
#define PV_MAX(a, b) pv_max((a), (b))
#define PV_ADD(a, b) vaddq_f32((a), (b))
#define PV_DIV(a, b) vdivq_f32((a), (b))
static pvec pv_even(const float *p) { return vld2q_f32(p).val[0]; }
static float pv_hmax(pvec v) { return vmaxvq_f32(v); }
static float pv_hsum(pvec v) { return vaddvq_f32(v); }
static int pv_any_nan(pvec v) { return vminvq_u32(vceqq_f32(v, v)) == 0; }
#endif

static float smax(float a, float b) { return a > b ? a : b; }

/* The geometry of one call. */
typedef struct {
    ptrdiff_t H, W, oH, oW, kH, kW, sH, sW, pT, pL, dH, dW;
    ptrdiff_t lo_h, hi_h, lo_w, hi_w;  /* AveragePool: the region whose taps count */
    int is_max;
} PoolGeo;

/* the first / one past the last output column whose taps all lie inside [0, W) */
static void interior_cols(const PoolGeo *g, ptrdiff_t *c0, ptrdiff_t *c1)
{
    ptrdiff_t lo = (g->pL + g->sW - 1) / g->sW;
    ptrdiff_t num = g->W - 1 + g->pL - (g->kW - 1) * g->dW;
    ptrdiff_t hi = num < 0 ? 0 : num / g->sW + 1;
    if (hi > g->oW) hi = g->oW;
    if (lo > hi) lo = hi;
    *c0 = lo;
    *c1 = hi;
}

/* One output column with bounds tests: rows[0 .. nr) are the valid input rows. */
static float border_col(const PoolGeo *g, const float *const *rows, ptrdiff_t nr, ptrdiff_t ow,
                        float div_h)
{
    ptrdiff_t r, kw, base = ow * g->sW - g->pL;
    float acc = g->is_max ? -INFINITY : 0.0f;
    ptrdiff_t cw = 0;
    for (r = 0; r < nr; r++) {
        for (kw = 0; kw < g->kW; kw++) {
            ptrdiff_t iw = base + kw * g->dW;
            if (iw < 0 || iw >= g->W) continue;
            acc = g->is_max ? smax(acc, rows[r][iw]) : acc + rows[r][iw];
        }
    }
    if (g->is_max) return acc;
    for (kw = 0; kw < g->kW; kw++) {
        ptrdiff_t iw = base + kw * g->dW;
        if (iw >= g->lo_w && iw < g->hi_w) cw++;
    }
    return acc / (div_h * (float)cw);
}

/* Interior columns [c0, c1) of one output row; the taps need no bounds tests. kW is a
 * parameter so that the calls with a constant unroll. */
static void interior_row(const PoolGeo *g, const float *const *rows, ptrdiff_t nr, float *yrow,
                         ptrdiff_t c0, ptrdiff_t c1, ptrdiff_t kW, float div)
{
    const int is_max = g->is_max;
    const ptrdiff_t sW = g->sW, dW = g->dW, pL = g->pL;
    ptrdiff_t ow = c0, r, kw;
#if defined(RT_POOL_VL)
    const pvec init = PV_SET1(is_max ? -INFINITY : 0.0f);
    const pvec vdiv = PV_SET1(div);
    if (sW == 1) {
        for (; ow + RT_POOL_VL <= c1; ow += RT_POOL_VL) {
            pvec acc = init;
            for (r = 0; r < nr; r++) {
                const float *p = rows[r] + ow - pL;
                for (kw = 0; kw < kW; kw++) {
                    pvec v = PV_LOAD(p + kw * dW);
                    acc = is_max ? PV_MAX(acc, v) : PV_ADD(acc, v);
                }
            }
            PV_STORE(yrow + ow, is_max ? acc : PV_DIV(acc, vdiv));
        }
#if defined(RT_POOL_MASKED)
        if (ow < c1) {
            ptrdiff_t n = c1 - ow;
            pvec acc = init;
            for (r = 0; r < nr; r++) {
                const float *p = rows[r] + ow - pL;
                for (kw = 0; kw < kW; kw++) {
                    pvec v = PV_LOADN(p + kw * dW, n);
                    acc = is_max ? PV_MAX(acc, v) : PV_ADD(acc, v);
                }
            }
            PV_STOREN(yrow + ow, n, is_max ? acc : PV_DIV(acc, vdiv));
            ow = c1;
        }
#endif
    } else if (sW == 2) {
        /* a full vector also reads the odd element after its last tap: keep it in the row */
        ptrdiff_t lim = (g->W + pL - (kW - 1) * dW) / 2;  /* ow + VL <= lim */
        if (lim > c1) lim = c1;
        for (; ow + RT_POOL_VL <= lim; ow += RT_POOL_VL) {
            pvec acc = init;
            for (r = 0; r < nr; r++) {
                const float *p = rows[r] + 2 * ow - pL;
                for (kw = 0; kw < kW; kw++) {
                    pvec v = pv_even(p + kw * dW);
                    acc = is_max ? PV_MAX(acc, v) : PV_ADD(acc, v);
                }
            }
            PV_STORE(yrow + ow, is_max ? acc : PV_DIV(acc, vdiv));
        }
#if defined(RT_POOL_MASKED)
        while (ow < c1) {
            ptrdiff_t n = c1 - ow < RT_POOL_VL ? c1 - ow : RT_POOL_VL;
            pvec acc = init;
            for (r = 0; r < nr; r++) {
                const float *p = rows[r] + 2 * ow - pL;
                for (kw = 0; kw < kW; kw++) {
                    pvec v = pv_even_n(p + kw * dW, n);
                    acc = is_max ? PV_MAX(acc, v) : PV_ADD(acc, v);
                }
            }
            PV_STOREN(yrow + ow, n, is_max ? acc : PV_DIV(acc, vdiv));
            ow += n;
        }
#endif
    }
#endif
    for (; ow < c1; ow++) {
        float acc = is_max ? -INFINITY : 0.0f;
        for (r = 0; r < nr; r++) {
            const float *p = rows[r] + ow * sW - pL;
            for (kw = 0; kw < kW; kw++)
                acc = is_max ? smax(acc, p[kw * dW]) : acc + p[kw * dW];
        }
        yrow[ow] = is_max ? acc : acc / div;
    }
}

#define RT_POOL_MAX_ROWS 64

/* Every tap with bounds tests, in the loop nest's order: windows taller than
 * RT_POOL_MAX_ROWS. */
static void pool_plane_generic(const PoolGeo *g, const float *x, float *y)
{
    ptrdiff_t oh, ow, kh, kw;
    for (oh = 0; oh < g->oH; oh++) {
        for (ow = 0; ow < g->oW; ow++) {
            float acc = g->is_max ? -INFINITY : 0.0f;
            ptrdiff_t ch = 0, cw = 0;
            for (kh = 0; kh < g->kH; kh++) {
                ptrdiff_t ih = oh * g->sH - g->pT + kh * g->dH;
                if (ih >= g->lo_h && ih < g->hi_h) ch++;
                if (ih < 0 || ih >= g->H) continue;
                for (kw = 0; kw < g->kW; kw++) {
                    ptrdiff_t iw = ow * g->sW - g->pL + kw * g->dW;
                    if (iw < 0 || iw >= g->W) continue;
                    acc = g->is_max ? smax(acc, x[ih * g->W + iw]) : acc + x[ih * g->W + iw];
                }
            }
            for (kw = 0; kw < g->kW; kw++) {
                ptrdiff_t iw = ow * g->sW - g->pL + kw * g->dW;
                if (iw >= g->lo_w && iw < g->hi_w) cw++;
            }
            y[oh * g->oW + ow] = g->is_max ? acc : acc / ((float)ch * (float)cw);
        }
    }
}

#if defined(RT_POOL_MASKED) && RT_POOL_VL == 16
#define RT_POOL_K3S2 1
/* MaxPool with 3 columns at stride 2 (the CNN stems' 3x3 s2, SqueezeNet's three pools,
 * ResNet's pad-1 pool), AVX-512: the row is cut in 16-column blocks (block q holds input
 * columns 16 q - pL ..), the max down the window's rows is taken once per block, and 16
 * outputs come from blocks 2t, 2t + 1 and the first lane of 2t + 2, which is the next
 * outputs' first block and is kept: two loads per window row per 16 outputs, no 9-long
 * dependency chain. The blocks' lane masks (padding read as -inf) are the same on every
 * row and are computed once per plane (K3S2_MAXB blocks; wider rows take the tap loop).
 * The maxima are not taken in the loop nest's order, which only shows with NaN: a row
 * whose inputs hold one is done again tap by tap (max_row_k3s2 returns 0 then). */
#define K3S2_MAXB 132
/* lanes whose column base + lane lies in [0, W) */
static __mmask16 col_mask(ptrdiff_t base, ptrdiff_t W)
{
    ptrdiff_t lo = -base, hi = W - base;
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(pv_mask(hi) & ~pv_mask(lo));
}

static int max_row_k3s2(const float *const *rows, ptrdiff_t nr, float *yrow, ptrdiff_t oW,
                        ptrdiff_t pL, const __mmask16 *bm)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __mmask16 nan = 0;
    ptrdiff_t ow, q = 0, r;
    __m512 lo = ninf;
    for (r = 0; r < nr; r++) {
        const __m512 v = _mm512_mask_loadu_ps(ninf, bm[0], rows[r] - pL);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        lo = _mm512_max_ps(lo, v);
    }
    for (ow = 0; ow < oW; ow += 16, q += 2) {
        const ptrdiff_t n = oW - ow < 16 ? oW - ow : 16, o1 = 16 * (q + 1) - pL;
        const __mmask16 m1 = bm[q + 1], m2 = bm[q + 2];
        __m512 hi = ninf, nx = ninf, e;
        for (r = 0; r < nr; r++) {
            const __m512 v1 = _mm512_mask_loadu_ps(ninf, m1, rows[r] + o1);
            const __m512 v2 = _mm512_mask_loadu_ps(ninf, m2, rows[r] + o1 + 16);
            nan |= _mm512_cmp_ps_mask(v1, v2, _CMP_UNORD_Q);
            hi = _mm512_max_ps(hi, v1);
            nx = _mm512_max_ps(nx, v2);
        }
        e = _mm512_permutex2var_ps(lo, ev, hi);
        e = _mm512_max_ps(_mm512_max_ps(e, _mm512_permutex2var_ps(lo, od, hi)),
                          _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(nx),
                                                                  _mm512_castps_si512(e), 1)));
        _mm512_mask_storeu_ps(yrow + ow, pv_mask(n), e);
        lo = nx;
    }
    return !nan;
}
#endif

static void pool_plane(const PoolGeo *g, const float *x, float *y)
{
    const float *rows[RT_POOL_MAX_ROWS];
    ptrdiff_t c0, c1, oh, ow, kh;
#if defined(RT_POOL_K3S2)
    /* the blocks a row reads: up to lane 0 of block 2t + 2 for t = (oW - 1) / 16 */
    const ptrdiff_t nb = (g->oW + 15) / 16 * 2 + 1;
    const int k3s2 = g->is_max && g->kW == 3 && g->sW == 2 && g->dW == 1 && nb <= K3S2_MAXB;
    __mmask16 bm[K3S2_MAXB];
    ptrdiff_t q;
    for (q = 0; k3s2 && q < nb; q++) bm[q] = col_mask(16 * q - g->pL, g->W);
#endif
    if (g->kH > RT_POOL_MAX_ROWS) {
        pool_plane_generic(g, x, y);
        return;
    }
    interior_cols(g, &c0, &c1);
    for (oh = 0; oh < g->oH; oh++) {
        ptrdiff_t nr = 0, ch = 0;
        float *yrow = y + oh * g->oW;
        float div_h;
        for (kh = 0; kh < g->kH; kh++) {
            ptrdiff_t ih = oh * g->sH - g->pT + kh * g->dH;
            if (ih >= g->lo_h && ih < g->hi_h) ch++;
            if (ih >= 0 && ih < g->H) rows[nr++] = x + ih * g->W;
        }
#if defined(RT_POOL_K3S2)
        if (k3s2 && max_row_k3s2(rows, nr, yrow, g->oW, g->pL, bm)) continue;
#endif
        div_h = (float)ch;
        for (ow = 0; ow < c0; ow++) yrow[ow] = border_col(g, rows, nr, ow, div_h);
        if (c0 < c1) {
            /* interior windows hold all kW columns, inside the count region too */
            float div = div_h * (float)g->kW;
            if (g->kW == 2) interior_row(g, rows, nr, yrow, c0, c1, 2, div);
            else if (g->kW == 3) interior_row(g, rows, nr, yrow, c0, c1, 3, div);
            else interior_row(g, rows, nr, yrow, c0, c1, g->kW, div);
        }
        for (ow = c1; ow < g->oW; ow++) yrow[ow] = border_col(g, rows, nr, ow, div_h);
    }
}

static void pool_run(PoolGeo *g, const float *X, float *Y, ptrdiff_t planes)
{
    ptrdiff_t p;
    for (p = 0; p < planes; p++)
        pool_plane(g, X + p * g->H * g->W, Y + p * g->oH * g->oW);
}

void rt_maxpool2d_f32(const float *X, float *Y, ptrdiff_t planes, ptrdiff_t H, ptrdiff_t W,
                      ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t kH, ptrdiff_t kW,
                      ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                      ptrdiff_t dH, ptrdiff_t dW)
{
    PoolGeo g;
    g.H = H; g.W = W; g.oH = oH; g.oW = oW; g.kH = kH; g.kW = kW;
    g.sH = sH; g.sW = sW; g.pT = pT; g.pL = pL; g.dH = dH; g.dW = dW;
    g.lo_h = 0; g.hi_h = H; g.lo_w = 0; g.hi_w = W;
    g.is_max = 1;
    pool_run(&g, X, Y, planes);
}

void rt_avgpool2d_f32(const float *X, float *Y, ptrdiff_t planes, ptrdiff_t H, ptrdiff_t W,
                      ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t kH, ptrdiff_t kW,
                      ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                      ptrdiff_t pB, ptrdiff_t pR, ptrdiff_t count_include_pad)
{
    PoolGeo g;
    g.H = H; g.W = W; g.oH = oH; g.oW = oW; g.kH = kH; g.kW = kW;
    g.sH = sH; g.sW = sW; g.pT = pT; g.pL = pL; g.dH = 1; g.dW = 1;
    if (count_include_pad) {
        g.lo_h = -pT; g.hi_h = H + pB; g.lo_w = -pL; g.hi_w = W + pR;
    } else {
        g.lo_h = 0; g.hi_h = H; g.lo_w = 0; g.hi_w = W;
    }
    g.is_max = 0;
    pool_run(&g, X, Y, planes);
}

/* Max of one plane in order (the loop nest's result with NaNs: what follows the last NaN). */
static float plane_max_seq(const float *x, ptrdiff_t n)
{
    float acc = -INFINITY;
    ptrdiff_t i;
    for (i = 0; i < n; i++) acc = smax(acc, x[i]);
    return acc;
}

void rt_globalpool_f32(const float *X, float *Y, ptrdiff_t planes, ptrdiff_t HW,
                       ptrdiff_t is_max)
{
    ptrdiff_t p, i;
    for (p = 0; p < planes; p++) {
        const float *x = X + p * HW;
        i = 0;
        if (is_max) {
            float acc = -INFINITY;
            int nan = 0;
#if defined(RT_POOL_VL)
            if (HW >= RT_POOL_VL) {
                pvec a0 = PV_SET1(-INFINITY), a1 = a0;
                for (; i + 2 * RT_POOL_VL <= HW; i += 2 * RT_POOL_VL) {
                    pvec v0 = PV_LOAD(x + i), v1 = PV_LOAD(x + i + RT_POOL_VL);
                    nan |= pv_any_nan(v0) | pv_any_nan(v1);
                    a0 = PV_MAX(a0, v0);
                    a1 = PV_MAX(a1, v1);
                }
                for (; i + RT_POOL_VL <= HW; i += RT_POOL_VL) {
                    pvec v0 = PV_LOAD(x + i);
                    nan |= pv_any_nan(v0);
                    a0 = PV_MAX(a0, v0);
                }
                acc = pv_hmax(PV_MAX(a0, a1));
            }
#endif
            for (; i < HW; i++) {
                nan |= x[i] != x[i];
                acc = smax(acc, x[i]);
            }
            /* a NaN makes the order matter: redo the plane as the loop nest does */
            Y[p] = nan ? plane_max_seq(x, HW) : acc;
        } else {
            float acc = 0.0f;
#if defined(RT_POOL_VL)
            if (HW >= RT_POOL_VL) {
                pvec a0 = PV_SET1(0.0f), a1 = a0, a2 = a0, a3 = a0;
                for (; i + 4 * RT_POOL_VL <= HW; i += 4 * RT_POOL_VL) {
                    a0 = PV_ADD(a0, PV_LOAD(x + i));
                    a1 = PV_ADD(a1, PV_LOAD(x + i + RT_POOL_VL));
                    a2 = PV_ADD(a2, PV_LOAD(x + i + 2 * RT_POOL_VL));
                    a3 = PV_ADD(a3, PV_LOAD(x + i + 3 * RT_POOL_VL));
                }
                for (; i + RT_POOL_VL <= HW; i += RT_POOL_VL) a0 = PV_ADD(a0, PV_LOAD(x + i));
                acc = pv_hsum(PV_ADD(PV_ADD(a0, a1), PV_ADD(a2, a3)));
            }
#endif
            for (; i < HW; i++) acc += x[i];
            Y[p] = acc / (float)HW;
        }
    }
}
