/* rt_sgemm.c — rt_sgemm_f32, the runtime's SGEMM with a fused epilogue (onnxcc_rt.h).
 *
 * Two paths, chosen by RT_SGEMM_DIRECT (onnxcc_rt.h), which rt_sgemm_work also follows:
 *  - direct (no scratch): tiny problems, few rows (GEMV, batch-1 layers) and few columns
 *    against a prepacked A; operands are read where they lie.
 *  - packed: cache blocks KC x NC of op(B) and MC x KC of op(A) are packed into `work` (or
 *    read in place when prepacked, transA / transB == 2), and an MR x NR micro-kernel
 *    computes each tile and applies the epilogue while storing it.
 * Micro-kernels by instruction set: sgemm_kernel_8x32_avx512, sgemm_kernel_4x16_avx2
 * (four sub-tiles per 8x32 tile), sgemm_kernel_8x8_neon (four sub-tiles), and
 * sgemm_kernel_8x32_portable (compiled when no vector set is enabled, as in a plain build).
 * The AVX-512 kernel sizes a narrow last tile to its columns (up to 12: 256-bit rows plus
 * 8-row vectors along M; 13-16: one 512-bit vector per row; 17-20: that and 8-row vectors),
 * and a few columns past a multiple of 16 elsewhere go to sgemm_tail_avx512, vectors
 * along M. When K is split into several KC blocks, the first block applies alpha / beta,
 * the others accumulate into Y, and the last one adds bias, residual and the activation. */
#include "onnxcc_rt.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define RT_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RT_AVX2 1
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define RT_NEON 1
#endif

#ifdef ONNXCC_RT_OPENBLAS
#include <cblas.h>
#endif

#define MR RT_SGEMM_MR
#define NR RT_SGEMM_NR

/* The epilogue of one call: what to do with a finished accumulator. */
typedef struct {
    float alpha, beta;
    int first, last;             /* first K block (alpha, beta), last (bias, R, act) */
    const float *bias;
    ptrdiff_t bias_mode;
    const float *R;
    ptrdiff_t ldr;
    ptrdiff_t act;
    float act_a, act_b;
} Epi;

/* One element: y (row i, column j) from the accumulator s. */
static void epi1(float *y, float s, ptrdiff_t i, ptrdiff_t j, const Epi *e)
{
    float v = e->alpha * s;
    if (e->first) {
        if (e->beta != 0.0f) v += e->beta * *y;
    } else {
        v += *y;
    }
    if (e->last) {
        if (e->bias) v += e->bias_mode == 1 ? e->bias[i] : e->bias[j];
        if (e->R) v += e->R[i * e->ldr + j];
        v = rt_act_f32(v, e->act, e->act_a, e->act_b);
    }
    *y = v;
}

#if !defined(RT_AVX512)
/* A tile held in memory (t, row stride ldt), mr x nr valid, stored at y (Y row i, column j). */
static void epi_tile(const float *t, ptrdiff_t ldt, ptrdiff_t mr, ptrdiff_t nr, float *y,
                     ptrdiff_t ldy, ptrdiff_t i, ptrdiff_t j, const Epi *e)
{
    ptrdiff_t r, c;
    for (r = 0; r < mr; r++)
        for (c = 0; c < nr; c++) epi1(y + r * ldy + c, t[r * ldt + c], i + r, j + c, e);
}
#endif

/* ---- run-time packing of cache blocks (same layout as rt_sgemm_pack.c) ------------- */

static void pack_a_block(ptrdiff_t mc, ptrdiff_t kc, const float *A, ptrdiff_t lda,
                         ptrdiff_t transA, float *dst)
{
    ptrdiff_t i0, r, k;
    for (i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
        ptrdiff_t m = mc - i0 < MR ? mc - i0 : MR;
        if (transA) {
            for (k = 0; k < kc; k++) {
                const float *s = A + k * lda + i0;
                for (r = 0; r < m; r++) dst[k * MR + r] = s[r];
                for (; r < MR; r++) dst[k * MR + r] = 0.0f;
            }
        } else if (m == MR) {
            const float *s = A + i0 * lda;
            for (k = 0; k < kc; k++)
                for (r = 0; r < MR; r++) dst[k * MR + r] = s[r * lda + k];
        } else {
            for (k = 0; k < kc; k++) {
                for (r = 0; r < m; r++) dst[k * MR + r] = A[(i0 + r) * lda + k];
                for (; r < MR; r++) dst[k * MR + r] = 0.0f;
            }
        }
    }
}

static void pack_b_block(ptrdiff_t kc, ptrdiff_t nc, const float *B, ptrdiff_t ldb,
                         ptrdiff_t transB, float *dst)
{
    ptrdiff_t j0, c, k;
    for (j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
        ptrdiff_t n = nc - j0 < NR ? nc - j0 : NR;
        if (!transB) {
#if defined(RT_AVX512)
            /* explicit vectors: clang-19 (the object targets' runtime) left this loop
             * scalar, 41% of an MNIST-size conv */
            {
                __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1u);
                __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffff : n <= 16 ? 0 : (1u << (n - 16)) - 1u);
                for (k = 0; k < kc; k++) {
                    const float *s = B + k * ldb + j0;
                    _mm512_storeu_ps(dst + k * NR, _mm512_maskz_loadu_ps(m0, s));
                    _mm512_storeu_ps(dst + k * NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
                }
            }
            continue;
#endif
            if (n == NR) {
                for (k = 0; k < kc; k++) {
                    const float *s = B + k * ldb + j0;
#if defined(RT_AVX2)
                    for (c = 0; c < NR; c += 8)
                        _mm256_storeu_ps(dst + k * NR + c, _mm256_loadu_ps(s + c));
#else
                    for (c = 0; c < NR; c++) dst[k * NR + c] = s[c];
#endif
                }
            } else {
                for (k = 0; k < kc; k++) {
                    const float *s = B + k * ldb + j0;
                    for (c = 0; c < n; c++) dst[k * NR + c] = s[c];
                    for (; c < NR; c++) dst[k * NR + c] = 0.0f;
                }
            }
        } else {
            /* B stored NxK: gather 8 columns at a time along k. */
            for (c = 0; c < n; c++) {
                const float *s = B + (j0 + c) * ldb;
                for (k = 0; k < kc; k++) dst[k * NR + c] = s[k];
            }
            for (; c < NR; c++)
                for (k = 0; k < kc; k++) dst[k * NR + c] = 0.0f;
        }
    }
}

/* ---- micro-kernels: a (MR per k) and b (NR per k) are packed panels of kc steps ------ */

#if defined(RT_AVX512)

static int act_vec(ptrdiff_t act) { return act >= RT_ACT_NONE && act <= RT_ACT_HARD_SWISH; }

/* One row segment of up to 16 columns (mask m) at y; bias_row is bias[i] (mode 1). */
static inline void st16(float *y, ptrdiff_t i, ptrdiff_t j, __m512 v, __mmask16 m, const Epi *e)
{
    v = _mm512_mul_ps(v, _mm512_set1_ps(e->alpha));
    if (e->first) {
        if (e->beta != 0.0f)
            v = _mm512_fmadd_ps(_mm512_set1_ps(e->beta), _mm512_maskz_loadu_ps(m, y), v);
    } else {
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, y));
    }
    if (e->last) {
        __m512 z = _mm512_setzero_ps(), t;
        if (e->bias)
            v = _mm512_add_ps(v, e->bias_mode == 1 ? _mm512_set1_ps(e->bias[i])
                                                   : _mm512_maskz_loadu_ps(m, e->bias + j));
        if (e->R) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, e->R + i * e->ldr + j));
        switch (e->act) {
        case RT_ACT_NONE: break;
        case RT_ACT_RELU: v = _mm512_max_ps(v, z); break;
        case RT_ACT_CLIP:
            v = _mm512_min_ps(_mm512_set1_ps(e->act_b), _mm512_max_ps(_mm512_set1_ps(e->act_a), v));
            break;
        case RT_ACT_LEAKY_RELU:
            v = _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, z, _CMP_LT_OQ), v,
                                   _mm512_set1_ps(e->act_a));
            break;
        case RT_ACT_HARD_SIGMOID:
            t = _mm512_fmadd_ps(_mm512_set1_ps(e->act_a), v, _mm512_set1_ps(e->act_b));
            v = _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(z, t));
            break;
        case RT_ACT_HARD_SWISH:
            t = _mm512_add_ps(_mm512_div_ps(v, _mm512_set1_ps(6.0f)), _mm512_set1_ps(0.5f));
            v = _mm512_mul_ps(v, _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(z, t)));
            break;
        default: break;
        }
    }
    _mm512_mask_storeu_ps(y, m, v);
    if (e->last && !act_vec(e->act)) {
        /* sigmoid, tanh, GELU ...: the vector math of rt_vmath.c on the stored lanes (m is
         * a prefix mask) */
        ptrdiff_t l = 0;
        while (l < 16 && (m >> l & 1)) l++;
        rt_vact_f32(l, y, y, e->act, e->act_a, e->act_b);
    }
}

static inline __mmask16 mask16(ptrdiff_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

#define K8_ROW(r)                                                   \
    t = _mm512_set1_ps(a[r]);                                       \
    c##r##0 = _mm512_fmadd_ps(t, b0, c##r##0);                      \
    c##r##1 = _mm512_fmadd_ps(t, b1, c##r##1)
#define K8_STEP()                                                   \
    do {                                                            \
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), t; \
        K8_ROW(0); K8_ROW(1); K8_ROW(2); K8_ROW(3);                 \
        K8_ROW(4); K8_ROW(5); K8_ROW(6); K8_ROW(7);                 \
        a += MR; b += NR;                                           \
    } while (0)
#define K8_HALF()                                                   \
    do {                                                            \
        __m512 b0 = _mm512_loadu_ps(b);                             \
        c00 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b0, c00);       \
        c10 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b0, c10);       \
        c20 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b0, c20);       \
        c30 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b0, c30);       \
        c40 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b0, c40);       \
        c50 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b0, c50);       \
        c60 = _mm512_fmadd_ps(_mm512_set1_ps(a[6]), b0, c60);       \
        c70 = _mm512_fmadd_ps(_mm512_set1_ps(a[7]), b0, c70);       \
        a += MR; b += NR;                                           \
    } while (0)
#define K8_STORE(r)                                                         \
    if (r < mr) {                                                           \
        st16(y + r * ldy, i + r, j, c##r##0, m0, e);                        \
        if (m1) st16(y + r * ldy + 16, i + r, j + 16, c##r##1, m1, e);      \
    }

/* Kept out of line: inlined into blocked(), gcc 12 spilled accumulators and the loop
 * counter of this loop to the stack (3 % slower whole models). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline))
#endif
static void sgemm_kernel_8x32_avx512(ptrdiff_t kc, const float *a, const float *b, float *y,
                                     ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t nr, ptrdiff_t i,
                                     ptrdiff_t j, const Epi *e)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,
           c61 = c00, c70 = c00, c71 = c00;
    __mmask16 m0 = mask16(nr), m1 = mask16(nr - 16);
    ptrdiff_t k;
    for (k = 0; k < mr; k++) { /* the tile is read or written at the end: start bringing it in */
        _mm_prefetch((const char *)(y + k * ldy), _MM_HINT_T0);
        _mm_prefetch((const char *)(y + k * ldy + 16), _MM_HINT_T0);
    }
    if (e->last && e->R) { /* and the residual added to it */
        const float *rr = e->R + i * e->ldr + j;
        for (k = 0; k < mr; k++) {
            _mm_prefetch((const char *)(rr + k * e->ldr), _MM_HINT_T0);
            _mm_prefetch((const char *)(rr + k * e->ldr + 16), _MM_HINT_T0);
        }
    }
    /* Edge columns c0 .. c0 + 3 of the B panel as 8-row vectors along M (accumulators
     * d0..d3, each the column for rows 0..7), then spilled to u[4][8] for the epilogue. */
#define K8_MCOLS(c0)                                                            \
    do {                                                                        \
        const __m256 av = _mm256_loadu_ps(a);                                   \
        d0 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[c0]), d0);                    \
        d1 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[c0 + 1]), d1);                \
        d2 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[c0 + 2]), d2);                \
        d3 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[c0 + 3]), d3);                \
    } while (0)
#define K8_MSPILL()                                                             \
    do {                                                                        \
        _mm256_storeu_ps(u, d0); _mm256_storeu_ps(u + 8, d1);                   \
        _mm256_storeu_ps(u + 16, d2); _mm256_storeu_ps(u + 24, d3);             \
    } while (0)
    if (nr <= 12) {
        /* an edge of at most 12 columns: 8 as 256-bit rows, which cost half a 512-bit
         * FMA on cores that split those in two (measured: Zen 4 class), and the 1 to 4
         * past 8 as 8-row vectors along M (the 13x13 planes' N = 169 = 5 * 32 + 9) */
        __m256 e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, e4 = e0, e5 = e0, e6 = e0,
               e7 = e0, d0 = e0, d1 = e0, d2 = e0, d3 = e0;
        float u[8 * 4];
#define K8_Q(r) e##r = _mm256_fmadd_ps(_mm256_set1_ps(a[r]), bv, e##r)
        if (nr <= 8) {
            for (k = 0; k < kc; k++, a += MR, b += NR) {
                const __m256 bv = _mm256_loadu_ps(b);
                K8_Q(0); K8_Q(1); K8_Q(2); K8_Q(3); K8_Q(4); K8_Q(5); K8_Q(6); K8_Q(7);
            }
        } else {
            for (k = 0; k < kc; k++, a += MR, b += NR) {
                const __m256 bv = _mm256_loadu_ps(b);
                K8_Q(0); K8_Q(1); K8_Q(2); K8_Q(3); K8_Q(4); K8_Q(5); K8_Q(6); K8_Q(7);
                K8_MCOLS(8);
            }
        }
#undef K8_Q
        K8_MSPILL();
#define K8_JOIN(r)                                                                    \
        c##r##0 = _mm512_insertf32x8(_mm512_castps256_ps512(e##r),                   \
                                     _mm256_set_ps(0, 0, 0, 0, u[24 + r], u[16 + r],  \
                                                   u[8 + r], u[r]), 1)
        K8_JOIN(0); K8_JOIN(1); K8_JOIN(2); K8_JOIN(3);
        K8_JOIN(4); K8_JOIN(5); K8_JOIN(6); K8_JOIN(7);
#undef K8_JOIN
    } else if (nr <= 16) { /* a 16-column edge: half the work */
        for (k = 0; k + 2 <= kc; k += 2) {
            K8_HALF(); K8_HALF();
        }
        for (; k < kc; k++) K8_HALF();
    } else if (nr <= 20) {
        /* 16 columns and 1 to 4 more (N = 49 = 32 + 17: ResNet's and MobileNet's 7x7
         * planes): the extra columns as 8-row vectors along M, a quarter of a 16-column
         * vector each, instead of a pass of sgemm_tail_avx512 over the A panel. */
        __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
        float u[8 * 4];
        if (nr == 17) {
            for (k = 0; k < kc; k++) {
                d0 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_set1_ps(b[16]), d0);
                K8_HALF();
            }
        } else {
            for (k = 0; k < kc; k++) {
                K8_MCOLS(16);
                K8_HALF();
            }
        }
        K8_MSPILL();
#define K8_COLS(r)                                                                    \
        c##r##1 = _mm512_set_ps(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, u[24 + r], u[16 + r], \
                                u[8 + r], u[r])
        K8_COLS(0); K8_COLS(1); K8_COLS(2); K8_COLS(3);
        K8_COLS(4); K8_COLS(5); K8_COLS(6); K8_COLS(7);
#undef K8_COLS
    } else {
        for (k = 0; k + 4 <= kc; k += 4) {
            K8_STEP(); K8_STEP(); K8_STEP(); K8_STEP();
        }
        for (; k < kc; k++) K8_STEP();
    }
#undef K8_MCOLS
#undef K8_MSPILL
    if ((!e->first || e->beta == 0.0f) &&
        (!e->last || (e->act >= RT_ACT_NONE && e->act <= RT_ACT_CLIP))) {
        /* The common epilogues (bias, a residual R, Relu / Clip, accumulation over K
         * blocks) with every parameter in a register: Y may alias nothing the loop reads
         * again. */
        const __m512 al = _mm512_set1_ps(e->alpha), z = _mm512_setzero_ps();
        const __m512 lo = _mm512_set1_ps(e->act_a), hi = _mm512_set1_ps(e->act_b);
        const int acc = !e->first, bm = e->last && e->bias ? (int)e->bias_mode : 0;
        const int act = e->last ? (int)e->act : RT_ACT_NONE, full = nr == NR;
        const float *bias = e->bias;
        const float *R = e->last && e->R ? e->R + i * e->ldr + j : NULL;
        const ptrdiff_t ldr = e->ldr;
        __m512 bc0 = z, bc1 = z;
        if (bm == 2) {
            bc0 = _mm512_maskz_loadu_ps(m0, bias + j);
            bc1 = _mm512_maskz_loadu_ps(m1, bias + j + 16);
        }
#define K8_FAST(r)                                                                    \
        if (r < mr) {                                                                 \
            float *yr = y + r * ldy;                                                  \
            __m512 v0 = bc0, v1 = bc1;                                                \
            if (bm == 1) v0 = v1 = _mm512_set1_ps(bias[i + r]);                       \
            v0 = _mm512_fmadd_ps(c##r##0, al, v0);                                    \
            v1 = _mm512_fmadd_ps(c##r##1, al, v1);                                    \
            if (acc) {                                                                \
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, yr));                \
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, yr + 16));           \
            }                                                                         \
            if (R) {                                                                  \
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, R + r * ldr));       \
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, R + r * ldr + 16));  \
            }                                                                         \
            if (act == RT_ACT_RELU) {                                                 \
                v0 = _mm512_max_ps(v0, z); v1 = _mm512_max_ps(v1, z);                \
            } else if (act == RT_ACT_CLIP) {                                          \
                v0 = _mm512_min_ps(hi, _mm512_max_ps(lo, v0));                        \
                v1 = _mm512_min_ps(hi, _mm512_max_ps(lo, v1));                        \
            }                                                                         \
            if (full) {                                                               \
                _mm512_storeu_ps(yr, v0); _mm512_storeu_ps(yr + 16, v1);              \
            } else {                                                                  \
                _mm512_mask_storeu_ps(yr, m0, v0); _mm512_mask_storeu_ps(yr + 16, m1, v1); \
            }                                                                         \
        }
        K8_FAST(0) K8_FAST(1) K8_FAST(2) K8_FAST(3)
        K8_FAST(4) K8_FAST(5) K8_FAST(6) K8_FAST(7)
#undef K8_FAST
        return;
    }
    K8_STORE(0) K8_STORE(1) K8_STORE(2) K8_STORE(3)
    K8_STORE(4) K8_STORE(5) K8_STORE(6) K8_STORE(7)
}
#define KERNEL sgemm_kernel_8x32_avx512

/* The few columns left past a multiple of 16 (nt <= 8): vectors along M instead, 16 rows
 * (two A panels a0, a1; a1 may repeat a0 when mr <= 8) x 4 or 8 columns of the B panel,
 * so a 1-column tail (N = 49) costs 1/16 of a vector per row instead of a whole one. The
 * tile is transposed through memory and stored row by row with the epilogue. */
#define KT_STEP(c) s##c = _mm512_fmadd_ps(av, _mm512_set1_ps(b[c]), s##c)
static void sgemm_tail_avx512(ptrdiff_t kc, const float *a0, const float *a1, const float *b,
                              ptrdiff_t nt, float *y, ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t i,
                              ptrdiff_t j, const Epi *e)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0,
           s7 = s0;
    float t[8 * 16], u[16];
    ptrdiff_t k, r, c;
    if (nt <= 4) {
        for (k = 0; k < kc; k++, a0 += MR, a1 += MR, b += NR) {
            __m512 av = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a0)),
                                           _mm256_loadu_ps(a1), 1);
            KT_STEP(0); KT_STEP(1); KT_STEP(2); KT_STEP(3);
        }
    } else {
        for (k = 0; k < kc; k++, a0 += MR, a1 += MR, b += NR) {
            __m512 av = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a0)),
                                           _mm256_loadu_ps(a1), 1);
            KT_STEP(0); KT_STEP(1); KT_STEP(2); KT_STEP(3);
            KT_STEP(4); KT_STEP(5); KT_STEP(6); KT_STEP(7);
        }
    }
    _mm512_storeu_ps(t, s0); _mm512_storeu_ps(t + 16, s1);
    _mm512_storeu_ps(t + 32, s2); _mm512_storeu_ps(t + 48, s3);
    _mm512_storeu_ps(t + 64, s4); _mm512_storeu_ps(t + 80, s5);
    _mm512_storeu_ps(t + 96, s6); _mm512_storeu_ps(t + 112, s7);
    for (r = 0; r < mr; r++) {
        for (c = 0; c < nt; c++) u[c] = t[c * 16 + r];
        st16(y + r * ldy, i + r, j, _mm512_maskz_loadu_ps(mask16(nt), u), mask16(nt), e);
    }
}
#undef KT_STEP

#elif defined(RT_AVX2)

/* 4x16 sub-tile: rows r0..r0+3 of the A panel, columns c0..c0+15 of the B panel. */
static void sgemm_kernel_4x16_avx2(ptrdiff_t kc, const float *a, const float *b, float *y,
                                   ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t nr, ptrdiff_t i,
                                   ptrdiff_t j, const Epi *e)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00;
    float t[4 * 16];
    ptrdiff_t k;
    for (k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), s;
        s = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(s, b0, c00); c01 = _mm256_fmadd_ps(s, b1, c01);
        s = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(s, b0, c10); c11 = _mm256_fmadd_ps(s, b1, c11);
        s = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(s, b0, c20); c21 = _mm256_fmadd_ps(s, b1, c21);
        s = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(s, b0, c30); c31 = _mm256_fmadd_ps(s, b1, c31);
    }
    if (mr == 4 && nr == 16 && e->first && e->beta == 0.0f && e->last && !e->R &&
        (e->act == RT_ACT_NONE || e->act == RT_ACT_RELU) && e->bias_mode != 1) {
        /* Common case stored straight from registers. */
        __m256 al = _mm256_set1_ps(e->alpha), z = _mm256_setzero_ps(), bi0 = z, bi1 = z;
        if (e->bias) { bi0 = _mm256_loadu_ps(e->bias + j); bi1 = _mm256_loadu_ps(e->bias + j + 8); }
#define ST2(r)                                                                  \
        {                                                                       \
            __m256 v0 = _mm256_fmadd_ps(al, c##r##0, bi0), v1 = _mm256_fmadd_ps(al, c##r##1, bi1); \
            if (e->act == RT_ACT_RELU) { v0 = _mm256_max_ps(v0, z); v1 = _mm256_max_ps(v1, z); } \
            _mm256_storeu_ps(y + r * ldy, v0); _mm256_storeu_ps(y + r * ldy + 8, v1); \
        }
        ST2(0) ST2(1) ST2(2) ST2(3)
#undef ST2
        return;
    }
    _mm256_storeu_ps(t, c00); _mm256_storeu_ps(t + 8, c01);
    _mm256_storeu_ps(t + 16, c10); _mm256_storeu_ps(t + 24, c11);
    _mm256_storeu_ps(t + 32, c20); _mm256_storeu_ps(t + 40, c21);
    _mm256_storeu_ps(t + 48, c30); _mm256_storeu_ps(t + 56, c31);
    epi_tile(t, 16, mr, nr, y, ldy, i, j, e);
}

static void sgemm_kernel_8x32_avx2(ptrdiff_t kc, const float *a, const float *b, float *y,
                                   ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t nr, ptrdiff_t i,
                                   ptrdiff_t j, const Epi *e)
{
    ptrdiff_t h, q;
    for (h = 0; h < 2 && h * 4 < mr; h++)
        for (q = 0; q < 2 && q * 16 < nr; q++) {
            ptrdiff_t m = mr - h * 4 < 4 ? mr - h * 4 : 4, n = nr - q * 16 < 16 ? nr - q * 16 : 16;
            sgemm_kernel_4x16_avx2(kc, a + h * 4, b + q * 16, y + h * 4 * ldy + q * 16, ldy, m, n,
                                   i + h * 4, j + q * 16, e);
        }
}
#define KERNEL sgemm_kernel_8x32_avx2

#elif defined(RT_NEON)

/* 8x8 sub-tile: all 8 rows of the A panel, columns c0..c0+7 of the B panel. */
static void sgemm_kernel_8x8_neon(ptrdiff_t kc, const float *a, const float *b, float *y,
                                  ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t nr, ptrdiff_t i,
                                  ptrdiff_t j, const Epi *e)
{
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
                c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,
                c61 = c00, c70 = c00, c71 = c00;
    float t[8 * 8];
    ptrdiff_t k;
    for (k = 0; k < kc; k++, a += MR, b += NR) {
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4), b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        c00 = vfmaq_laneq_f32(c00, b0, a0, 0); c01 = vfmaq_laneq_f32(c01, b1, a0, 0);
        c10 = vfmaq_laneq_f32(c10, b0, a0, 1); c11 = vfmaq_laneq_f32(c11, b1, a0, 1);
        c20 = vfmaq_laneq_f32(c20, b0, a0, 2); c21 = vfmaq_laneq_f32(c21, b1, a0, 2);
        c30 = vfmaq_laneq_f32(c30, b0, a0, 3); c31 = vfmaq_laneq_f32(c31, b1, a0, 3);
        c40 = vfmaq_laneq_f32(c40, b0, a1, 0); c41 = vfmaq_laneq_f32(c41, b1, a1, 0);
        c50 = vfmaq_laneq_f32(c50, b0, a1, 1); c51 = vfmaq_laneq_f32(c51, b1, a1, 1);
        c60 = vfmaq_laneq_f32(c60, b0, a1, 2); c61 = vfmaq_laneq_f32(c61, b1, a1, 2);
        c70 = vfmaq_laneq_f32(c70, b0, a1, 3); c71 = vfmaq_laneq_f32(c71, b1, a1, 3);
    }
    if (mr == 8 && nr == 8 && e->first && e->beta == 0.0f && e->last && !e->R &&
        (e->act == RT_ACT_NONE || e->act == RT_ACT_RELU) && e->bias_mode != 1) {
        float32x4_t al = vdupq_n_f32(e->alpha), z = vdupq_n_f32(0.0f), bi0 = z, bi1 = z;
        if (e->bias) { bi0 = vld1q_f32(e->bias + j); bi1 = vld1q_f32(e->bias + j + 4); }
#define ST2(r)                                                                  \
        {                                                                       \
            float32x4_t v0 = vfmaq_f32(bi0, al, c##r##0), v1 = vfmaq_f32(bi1, al, c##r##1); \
            if (e->act == RT_ACT_RELU) { v0 = vmaxq_f32(v0, z); v1 = vmaxq_f32(v1, z); } \
            vst1q_f32(y + r * ldy, v0); vst1q_f32(y + r * ldy + 4, v1);      \
        }
        ST2(0) ST2(1) ST2(2) ST2(3) ST2(4) ST2(5) ST2(6) ST2(7)
#undef ST2
        return;
    }
    vst1q_f32(t, c00); vst1q_f32(t + 4, c01); vst1q_f32(t + 8, c10); vst1q_f32(t + 12, c11);
    vst1q_f32(t + 16, c20); vst1q_f32(t + 20, c21); vst1q_f32(t + 24, c30); vst1q_f32(t + 28, c31);
    vst1q_f32(t + 32, c40); vst1q_f32(t + 36, c41); vst1q_f32(t + 40, c50); vst1q_f32(t + 44, c51);
    vst1q_f32(t + 48, c60); vst1q_f32(t + 52, c61); vst1q_f32(t + 56, c70); vst1q_f32(t + 60, c71);
    epi_tile(t, 8, mr, nr, y, ldy, i, j, e);
}

static void sgemm_kernel_8x32_neon(ptrdiff_t kc, const float *a, const float *b, float *y,
                                   ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t nr, ptrdiff_t i,
                                   ptrdiff_t j, const Epi *e)
{
    ptrdiff_t q;
    for (q = 0; q < 4 && q * 8 < nr; q++)
        sgemm_kernel_8x8_neon(kc, a, b + q * 8, y + q * 8, ldy, mr, nr - q * 8 < 8 ? nr - q * 8 : 8,
                              i, j + q * 8, e);
}
#define KERNEL sgemm_kernel_8x32_neon

#else

static void sgemm_kernel_8x32_portable(ptrdiff_t kc, const float *a, const float *b, float *Y,
                                       ptrdiff_t ldy, ptrdiff_t mr, ptrdiff_t nr, ptrdiff_t i,
                                       ptrdiff_t j, const Epi *e)
{
    /* Four 8x8 quarters, so the accumulators stay small (stack and registers). */
    ptrdiff_t q, k, r, c;
    for (q = 0; q < NR / 8 && q * 8 < nr; q++) {
        float acc[MR][8];
        ptrdiff_t n = nr - q * 8 < 8 ? nr - q * 8 : 8;
        for (r = 0; r < MR; r++)
            for (c = 0; c < 8; c++) acc[r][c] = 0.0f;
        for (k = 0; k < kc; k++) {
            const float *bk = b + k * NR + q * 8, *ak = a + k * MR;
            for (r = 0; r < MR; r++)
                for (c = 0; c < 8; c++) acc[r][c] += ak[r] * bk[c];
        }
        epi_tile(&acc[0][0], 8, mr, n, Y + q * 8, ldy, i, j + q * 8, e);
    }
}
#define KERNEL sgemm_kernel_8x32_portable
#endif

/* ---- direct path (no scratch) -------------------------------------------------------- */

/* Where row i of op(A) starts and its step along k. */
static const float *a_row(const float *A, ptrdiff_t lda, ptrdiff_t transA, ptrdiff_t K,
                          ptrdiff_t i, ptrdiff_t *as)
{
    if (transA == 2) { *as = MR; return A + (i / MR) * MR * K + i % MR; }
    if (transA == 1) { *as = lda; return A + i; }
    *as = 1;
    return A + i * lda;
}

/* Where column j of op(B) starts and its step along k (transB 0 or 2; consecutive
 * columns are adjacent within a panel). */
static const float *b_col(const float *B, ptrdiff_t ldb, ptrdiff_t transB, ptrdiff_t K,
                          ptrdiff_t j, ptrdiff_t *bs)
{
    if (transB == 2) { *bs = NR; return B + (j / NR) * NR * K + j % NR; }
    *bs = ldb;
    return B + j;
}

/* Rows x columns with B read along columns (transB 0 / 2): blocks of 4 rows x 16 columns
 * (portable) or 4 rows x 64 columns (AVX-512). */
static void direct_rows(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                        ptrdiff_t transA, const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                        float *Y, ptrdiff_t ldy, const Epi *e)
{
    ptrdiff_t i0, j0, r, c, k, as, bs;
#if defined(RT_AVX512)
    for (i0 = 0; i0 < M; i0 += 4) {
        ptrdiff_t mr = M - i0 < 4 ? M - i0 : 4;
        const float *a0 = a_row(A, lda, transA, K, i0, &as), *a1 = a0, *a2 = a0, *a3 = a0;
        if (mr > 1) a1 = a_row(A, lda, transA, K, i0 + 1, &as);
        if (mr > 2) a2 = a_row(A, lda, transA, K, i0 + 2, &as);
        if (mr > 3) a3 = a_row(A, lda, transA, K, i0 + 3, &as);
        for (j0 = 0; j0 < N; j0 += 64) {
            __mmask16 m[4];
            const float *bp[2];
            float *y = Y + i0 * ldy + j0;
            for (c = 0; c < 4; c++) m[c] = mask16(N - j0 - 16 * c);
            bp[0] = b_col(B, ldb, transB, K, j0, &bs);
            bp[1] = m[2] ? b_col(B, ldb, transB, K, j0 + 32, &bs) : bp[0];
            if (mr == 1) {
                __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, u0 = s0, u1 = s0,
                       u2 = s0, u3 = s0;
                const float *p0 = bp[0], *p1 = bp[1];
                for (k = 0; k + 2 <= K; k += 2) {
                    __m512 x = _mm512_set1_ps(a0[k * as]), w = _mm512_set1_ps(a0[(k + 1) * as]);
                    s0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[0], p0), s0);
                    s1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[1], p0 + 16), s1);
                    s2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[2], p1), s2);
                    s3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[3], p1 + 16), s3);
                    u0 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m[0], p0 + bs), u0);
                    u1 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m[1], p0 + bs + 16), u1);
                    u2 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m[2], p1 + bs), u2);
                    u3 = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m[3], p1 + bs + 16), u3);
                    p0 += 2 * bs; p1 += 2 * bs;
                }
                if (k < K) {
                    __m512 x = _mm512_set1_ps(a0[k * as]);
                    s0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[0], p0), s0);
                    s1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[1], p0 + 16), s1);
                    s2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[2], p1), s2);
                    s3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(m[3], p1 + 16), s3);
                }
                s0 = _mm512_add_ps(s0, u0); s1 = _mm512_add_ps(s1, u1);
                s2 = _mm512_add_ps(s2, u2); s3 = _mm512_add_ps(s3, u3);
                st16(y, i0, j0, s0, m[0], e);
                if (m[1]) st16(y + 16, i0, j0 + 16, s1, m[1], e);
                if (m[2]) st16(y + 32, i0, j0 + 32, s2, m[2], e);
                if (m[3]) st16(y + 48, i0, j0 + 48, s3, m[3], e);
            } else {
                __m512 s[4][4];
                const float *p0 = bp[0], *p1 = bp[1];
                for (r = 0; r < 4; r++)
                    for (c = 0; c < 4; c++) s[r][c] = _mm512_setzero_ps();
                for (k = 0; k < K; k++, p0 += bs, p1 += bs) {
                    __m512 b0 = _mm512_maskz_loadu_ps(m[0], p0), b1 = _mm512_maskz_loadu_ps(m[1], p0 + 16),
                           b2 = _mm512_maskz_loadu_ps(m[2], p1), b3 = _mm512_maskz_loadu_ps(m[3], p1 + 16);
                    __m512 x[4];
                    x[0] = _mm512_set1_ps(a0[k * as]); x[1] = _mm512_set1_ps(a1[k * as]);
                    x[2] = _mm512_set1_ps(a2[k * as]); x[3] = _mm512_set1_ps(a3[k * as]);
                    for (r = 0; r < 4; r++) {
                        s[r][0] = _mm512_fmadd_ps(x[r], b0, s[r][0]);
                        s[r][1] = _mm512_fmadd_ps(x[r], b1, s[r][1]);
                        s[r][2] = _mm512_fmadd_ps(x[r], b2, s[r][2]);
                        s[r][3] = _mm512_fmadd_ps(x[r], b3, s[r][3]);
                    }
                }
                for (r = 0; r < mr; r++)
                    for (c = 0; c < 4; c++)
                        if (m[c]) st16(y + r * ldy + 16 * c, i0 + r, j0 + 16 * c, s[r][c], m[c], e);
            }
        }
    }
#else
    for (i0 = 0; i0 < M; i0 += 4) {
        ptrdiff_t mr = M - i0 < 4 ? M - i0 : 4;
        const float *ap[4];
        for (r = 0; r < 4; r++) ap[r] = a_row(A, lda, transA, K, i0 + (r < mr ? r : 0), &as);
        for (j0 = 0; j0 < N; j0 += 16) {
            ptrdiff_t n = N - j0 < 16 ? N - j0 : 16;
            float acc[4][16];
            const float *p = b_col(B, ldb, transB, K, j0, &bs);
            for (r = 0; r < 4; r++)
                for (c = 0; c < 16; c++) acc[r][c] = 0.0f;
            if (n == 16) {
                for (k = 0; k < K; k++, p += bs)
                    for (r = 0; r < 4; r++) {
                        float x = ap[r][k * as];
                        for (c = 0; c < 16; c++) acc[r][c] += x * p[c];
                    }
            } else {
                for (k = 0; k < K; k++, p += bs)
                    for (r = 0; r < mr; r++) {
                        float x = ap[r][k * as];
                        for (c = 0; c < n; c++) acc[r][c] += x * p[c];
                    }
            }
            epi_tile(&acc[0][0], 16, mr, n, Y + i0 * ldy + j0, ldy, i0, j0, e);
        }
    }
#endif
}

/* Dot products along k: A plain (MxK), B stored NxK (transB 1). */
static void direct_dots(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                        const float *B, ptrdiff_t ldb, float *Y, ptrdiff_t ldy, const Epi *e)
{
    ptrdiff_t i, j, k;
    for (i = 0; i < M; i++) {
        const float *a = A + i * lda;
        for (j = 0; j < N; j++) {
            const float *b = B + j * ldb;
            float s;
#if defined(RT_AVX512)
            __m512 s0 = _mm512_setzero_ps(), s1 = s0;
            for (k = 0; k + 32 <= K; k += 32) {
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s0);
                s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(b + k + 16), s1);
            }
            for (; k < K; k += 16) {
                __mmask16 m = mask16(K - k);
                s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + k), _mm512_maskz_loadu_ps(m, b + k), s0);
            }
            s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#else
            float t[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
            for (k = 0; k + 8 <= K; k += 8) {
                ptrdiff_t l;
                for (l = 0; l < 8; l++) t[l] += a[k + l] * b[k + l];
            }
            s = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
            for (; k < K; k++) s += a[k] * b[k];
#endif
            epi1(Y + i * ldy + j, s, i, j, e);
        }
    }
}

/* Few columns against a prepacked A: vectors along the 8 rows of each A panel. */
static void direct_cols(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, const float *B,
                        ptrdiff_t ldb, ptrdiff_t transB, float *Y, ptrdiff_t ldy, const Epi *e)
{
    ptrdiff_t i0, j, k, r;
    for (i0 = 0; i0 < M; i0 += MR) {
        const float *a = A + i0 * K;
        ptrdiff_t mr = M - i0 < MR ? M - i0 : MR;
        for (j = 0; j < N; j++) {
            float acc[MR];
            ptrdiff_t bs = transB == 1 ? 1 : transB == 2 ? NR : ldb;
            const float *b = transB == 1 ? B + j * ldb : transB == 2 ? B + (j / NR) * NR * K + j % NR
                                                                     : B + j;
#if defined(RT_AVX512)
            __m256 s0 = _mm256_setzero_ps(), s1 = s0;
            for (k = 0; k + 2 <= K; k += 2) {
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k * MR), _mm256_set1_ps(b[k * bs]), s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + (k + 1) * MR), _mm256_set1_ps(b[(k + 1) * bs]), s1);
            }
            if (k < K) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k * MR), _mm256_set1_ps(b[k * bs]), s0);
            _mm256_storeu_ps(acc, _mm256_add_ps(s0, s1));
#else
            for (r = 0; r < MR; r++) acc[r] = 0.0f;
            for (k = 0; k < K; k++) {
                float x = b[k * bs];
                for (r = 0; r < MR; r++) acc[r] += a[k * MR + r] * x;
            }
#endif
            for (r = 0; r < mr; r++) epi1(Y + (i0 + r) * ldy + j, acc[r], i0 + r, j, e);
        }
    }
}

/* Anything else small: one accumulator per element. */
static void direct_scalar(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                          ptrdiff_t transA, const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                          float *Y, ptrdiff_t ldy, const Epi *e)
{
    ptrdiff_t i, j, k, as, bs;
    for (i = 0; i < M; i++) {
        const float *a = a_row(A, lda, transA, K, i, &as);
        for (j = 0; j < N; j++) {
            const float *b;
            float s = 0.0f;
            if (transB == 1) { b = B + j * ldb; bs = 1; }
            else b = b_col(B, ldb, transB, K, j, &bs);
            for (k = 0; k < K; k++) s += a[k * as] * b[k * bs];
            epi1(Y + i * ldy + j, s, i, j, e);
        }
    }
}

/* ---- packed path ---------------------------------------------------------------------- */

static void blocked(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                    ptrdiff_t transA, const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                    float *Y, ptrdiff_t ldy, Epi *e, float *work)
{
    ptrdiff_t kcm = K < RT_SGEMM_KC ? K : RT_SGEMM_KC;
    ptrdiff_t mcm = (M + MR - 1) / MR * MR;
    float *pa = work, *pb;
    ptrdiff_t jc, pc, ic, jr, ir;
    if (mcm > RT_SGEMM_MC) mcm = RT_SGEMM_MC;
    pb = transA == 2 ? work : work + mcm * kcm;
    for (jc = 0; jc < N; jc += RT_SGEMM_NC) {
        ptrdiff_t nc = N - jc < RT_SGEMM_NC ? N - jc : RT_SGEMM_NC, nm = nc;
#if defined(RT_AVX512)
        /* a tail of at most 8 columns past a multiple of 16 goes to sgemm_tail_avx512,
         * but 1 to 4 past 16 in the last 32-column tile stay with the 8x32 kernel */
        if (nc % 16 && nc % 16 <= 8 && nc > 16 && !(nc % NR > 16 && nc % NR <= 20))
            nm = nc - nc % 16;
#endif
        for (pc = 0; pc < K; pc += RT_SGEMM_KC) {
            ptrdiff_t kc = K - pc < RT_SGEMM_KC ? K - pc : RT_SGEMM_KC, bstride;
            const float *bb;
            e->first = pc == 0;
            e->last = pc + kc >= K;
            if (transB == 2) {
                bb = B + (jc / NR) * NR * K + pc * NR;
                bstride = NR * K;
            } else {
                pack_b_block(kc, nc, transB ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, transB, pb);
                bb = pb;
                bstride = NR * kc;
            }
            for (ic = 0; ic < M; ic += RT_SGEMM_MC) {
                ptrdiff_t mc = M - ic < RT_SGEMM_MC ? M - ic : RT_SGEMM_MC, astride;
                const float *ab;
                if (transA == 2) {
                    ab = A + (ic / MR) * MR * K + pc * MR;
                    astride = MR * K;
                } else {
                    pack_a_block(mc, kc, transA ? A + pc * lda + ic : A + ic * lda + pc, lda, transA, pa);
                    ab = pa;
                    astride = MR * kc;
                }
                for (jr = 0; jr < nm; jr += NR)
                    for (ir = 0; ir < mc; ir += MR) {
                        ptrdiff_t i = ic + ir, j = jc + jr;
                        KERNEL(kc, ab + (ir / MR) * astride, bb + (jr / NR) * bstride,
                               Y + i * ldy + j, ldy, mc - ir < MR ? mc - ir : MR,
                               nm - jr < NR ? nm - jr : NR, i, j, e);
                    }
#if defined(RT_AVX512)
                for (ir = 0; nm < nc && ir < mc; ir += 2 * MR) {
                    ptrdiff_t i = ic + ir, j = jc + nm;
                    const float *a0 = ab + (ir / MR) * astride;
                    sgemm_tail_avx512(kc, a0, mc - ir > MR ? a0 + astride : a0,
                                      bb + (nm / NR) * bstride + nm % NR, nc - nm,
                                      Y + i * ldy + j, ldy, mc - ir < 2 * MR ? mc - ir : 2 * MR,
                                      i, j, e);
                }
#endif
            }
        }
    }
}

void rt_sgemm_f32(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                  const float *A, ptrdiff_t lda, ptrdiff_t transA,
                  const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                  float *Y, ptrdiff_t ldy, float alpha, float beta,
                  const float *bias, ptrdiff_t bias_mode,
                  const float *R, ptrdiff_t ldr,
                  ptrdiff_t act, float act_a, float act_b,
                  float *work)
{
    Epi e;
    if (M <= 0 || N <= 0) return;
    /* A residual that is Y itself is folded into beta, so K blocks may update Y in place. */
    if (R && R == Y) { beta += 1.0f; R = 0; }
    e.alpha = alpha; e.beta = beta; e.first = 1; e.last = 1;
    e.bias = bias_mode == 1 || bias_mode == 2 ? bias : 0;
    e.bias_mode = bias_mode; e.R = R; e.ldr = ldr;
    e.act = act; e.act_a = act_a; e.act_b = act_b;
    if (K <= 0) {
        ptrdiff_t i, j;
        for (i = 0; i < M; i++)
            for (j = 0; j < N; j++) epi1(Y + i * ldy + j, 0.0f, i, j, &e);
        return;
    }
    if (RT_SGEMM_DIRECT(M, N, K, transA, transB)) {
        if (transA == 2 && N <= 4) direct_cols(M, N, K, A, B, ldb, transB, Y, ldy, &e);
        else if (transB != 1) direct_rows(M, N, K, A, lda, transA, B, ldb, transB, Y, ldy, &e);
        else if (transA == 0) direct_dots(M, N, K, A, lda, B, ldb, Y, ldy, &e);
        else direct_scalar(M, N, K, A, lda, transA, B, ldb, transB, Y, ldy, &e);
        return;
    }
#ifdef ONNXCC_RT_OPENBLAS
    if (transA != 2 && transB != 2) {
        ptrdiff_t i, j;
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda,
                    B, (int)ldb, beta, Y, (int)ldy);
        if (e.bias || e.R || act != RT_ACT_NONE) {
            e.alpha = 1.0f; e.first = 0;
            for (i = 0; i < M; i++)
                for (j = 0; j < N; j++) {
                    /* epi1 with first == 0 adds Y to the accumulator: pass 0. */
                    epi1(Y + i * ldy + j, 0.0f, i, j, &e);
                }
        }
        return;
    }
#endif
    blocked(M, N, K, A, lda, transA, B, ldb, transB, Y, ldy, &e, work);
}
