/* rt_conv.c — rt_conv2d_f32: the runtime's 2-D convolution (grouped, strided, dilated,
 * zero-padded; NCHW) with the SGEMM epilogue fused (onnxcc_rt.h).
 *
 * Per image and group, Y_g[Mg, oH*oW] = W_g[Mg, Cg*kH*kW] x col[Cg*kH*kW, oH*oW]. The path
 * is rt_conv_pack.c's plan (rt_conv2d_plan_):
 *  - 1x1, stride 1, no pad: rt_sgemm_f32 straight on X (B = X, ldb = H*W), no copy;
 *  - other GEMM shapes: im2col of a chunk of output pixels into the scratch, then
 *    rt_sgemm_f32 on the chunk (ldy = oH*oW), the epilogue applied by the SGEMM;
 *  - depthwise and groups with few output channels: a direct kernel (conv_direct) reading W
 *    as ONNX stores it, vectorised over output columns (AVX-512, AVX2, NEON or plain C),
 *    with 3x3 stride 1 and 2 specialised. */
#include <string.h>
#include "onnxcc_rt.h"

/* rt_conv_pack.c: the plan shared with rt_conv2d_work and rt_conv2d_pack_w_size. */
ptrdiff_t rt_conv2d_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW,
                          ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                          ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t wpacked, ptrdiff_t *nc);
ptrdiff_t rt_conv2d_wino_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group);
ptrdiff_t rt_conv2d_wino_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t oH, ptrdiff_t oW,
                               ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t dH, ptrdiff_t dW,
                               ptrdiff_t *tr);
ptrdiff_t rt_conv2d_wino_parts_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t oW, ptrdiff_t tr,
                                ptrdiff_t *pv, ptrdiff_t *pp, ptrdiff_t *pt, ptrdiff_t *po);

#if defined(__GNUC__) || defined(__clang__)
#define RT_INLINE static inline __attribute__((always_inline))
#else
#define RT_INLINE static inline
#endif

/* ---- a few vector operations, RTV floats wide ---------------------------------------- */
#if defined(__AVX512F__)
#include <immintrin.h>
#define RTV 16
typedef __m512 rtv;
#define V_LD(p) _mm512_loadu_ps(p)
#define V_ST(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_MIN(a, b) _mm512_min_ps(a, b)
/* p[0], p[2], ..., p[2 * RTV - 2] (reads p[0 .. 2 * RTV - 1]) */
RT_INLINE rtv v_ld_s2(const float *p)
{
    const __m512i idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), idx, _mm512_loadu_ps(p + 16));
}
#elif defined(__AVX2__)
#include <immintrin.h>
#define RTV 8
typedef __m256 rtv;
#define V_LD(p) _mm256_loadu_ps(p)
#define V_ST(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(x) _mm256_set1_ps(x)
#if defined(__FMA__)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#else
#define V_FMA(a, b, c) _mm256_add_ps(_mm256_mul_ps(a, b), c)
#endif
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_MIN(a, b) _mm256_min_ps(a, b)
RT_INLINE rtv v_ld_s2(const float *p)
{
    __m256 t = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8), 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xd8));
}
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define RTV 4
typedef float32x4_t rtv;
#define V_LD(p) vld1q_f32(p)
#define V_ST(p, v) vst1q_f32(p, v)
#define V_SET1(x) vdupq_n_f32(x)
#if defined(__aarch64__)
#define V_FMA(a, b, c) vfmaq_f32(c, a, b)
#else
#define V_FMA(a, b, c) vmlaq_f32(c, a, b)
#endif
#define V_ADD(a, b) vaddq_f32(a, b)
#define V_MUL(a, b) vmulq_f32(a, b)
#define V_MAX(a, b) vmaxq_f32(a, b)
#define V_MIN(a, b) vminq_f32(a, b)
RT_INLINE rtv v_ld_s2(const float *p) { return vld2q_f32(p).val[0]; }
#else
#define RTV 1
typedef float rtv;
#define V_LD(p) (*(p))
#define V_ST(p, v) (*(p) = (v))
#define V_SET1(x) (x)
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_ADD(a, b) ((a) + (b))
#define V_MUL(a, b) ((a) * (b))
#define V_MAX(a, b) ((a) > (b) ? (a) : (b))
#define V_MIN(a, b) ((a) < (b) ? (a) : (b))
RT_INLINE rtv v_ld_s2(const float *p) { return *p; }
#endif

/* RTV input columns p[0], p[s], ..., for stride s */
RT_INLINE rtv v_ld_s(const float *p, ptrdiff_t s)
{
    if (s == 1) return V_LD(p);
    if (s == 2) return v_ld_s2(p);
    {
        float t[RTV];
        int i;
        for (i = 0; i < RTV; i++) t[i] = p[i * s];
        return V_LD(t);
    }
}

/* act(v) for the activations without exp/erf/tanh (the others: identity here) */
RT_INLINE rtv v_act(rtv v, ptrdiff_t act, float a, float b)
{
    const rtv zero = V_SET1(0.0f), one = V_SET1(1.0f);
    switch (act) {
    case RT_ACT_RELU: v = V_MAX(v, zero); break;
    case RT_ACT_CLIP: v = V_MIN(V_MAX(v, V_SET1(a)), V_SET1(b)); break;
    case RT_ACT_LEAKY_RELU: v = V_FMA(V_SET1(a), V_MIN(v, zero), V_MAX(v, zero)); break;
    case RT_ACT_HARD_SIGMOID:
        v = V_MIN(V_MAX(V_FMA(V_SET1(a), v, V_SET1(b)), zero), one);
        break;
    case RT_ACT_HARD_SWISH:
        v = V_MUL(v, V_MIN(V_MAX(V_FMA(v, V_SET1(1.0f / 6.0f), V_SET1(0.5f)), zero), one));
        break;
    default: break;
    }
    return v;
}

/* y = act(v + bias + r) for RTV outputs; activations with exp/erf/tanh are left to the
 * scalar pass (conv_act_tail) after the store. */
RT_INLINE void v_epilogue(float *y, rtv v, rtv bias, const float *r, ptrdiff_t act,
                          float a, float b)
{
    v = V_ADD(v, bias);
    if (r) v = V_ADD(v, V_LD(r));
    V_ST(y, v_act(v, act, a, b));
}

static int act_is_vector(ptrdiff_t act) { return act <= RT_ACT_HARD_SWISH; }

static void conv_act_tail(float *y, ptrdiff_t n, ptrdiff_t act, float a, float b)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++) y[i] = rt_act_f32(y[i], act, a, b);
}

/* ---- direct kernel ---------------------------------------------------------------------
 * One output plane: output channel m reads cg input channels xc (plane stride HW) with the
 * weights w[cg][kH][kW]. Columns whose every tap is inside the row (the interior) go RTV
 * at a time, four vectors per step for independent FMA chains; the border columns one at a
 * time. Called with constant cg / kH / kW / sW / dW for the specialised shapes. */
RT_INLINE void direct_plane(const float *xc, const float *w, float bias, float *y,
                            const float *r, ptrdiff_t act, float a, float b,
                            ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW,
                            ptrdiff_t sH, ptrdiff_t pT, ptrdiff_t pL, ptrdiff_t dH,
                            ptrdiff_t cg, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t sW, ptrdiff_t dW)
{
    ptrdiff_t HW = H * Wd, oh, ow, c, kh, kw, lo, hi, vhi, span = (kW - 1) * dW;
    int vec = act_is_vector(act);
    rtv vb = V_SET1(bias);
    /* interior: ow * sW - pL >= 0 and ow * sW - pL + span <= Wd - 1; the vector loads of a
     * stride-2 row read one column further */
    lo = (pL + sW - 1) / sW;
    hi = Wd - 1 - span + pL >= 0 ? (Wd - 1 - span + pL) / sW + 1 : 0;
    if (hi > oW) hi = oW;
    if (hi < lo) hi = lo;
    vhi = hi;
    if (sW == 2 && RTV > 1 && hi > lo && (hi - 1) * 2 - pL + span + 1 > Wd - 1) vhi = hi - 1;
    for (oh = 0; oh < oH; oh++) {
        ptrdiff_t ih0 = oh * sH - pT, khlo, khhi;
        float *yr = y + oh * oW;
        const float *rr = r ? r + oh * oW : 0;
        khlo = ih0 >= 0 ? 0 : (-ih0 + dH - 1) / dH;
        khhi = H - 1 - ih0 >= 0 ? (H - 1 - ih0) / dH + 1 : 0;
        if (khhi > kH) khhi = kH;
        ow = lo;
        for (; ow + 4 * RTV <= vhi; ow += 4 * RTV) {
            rtv a0 = V_SET1(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (c = 0; c < cg; c++)
                for (kh = khlo; kh < khhi; kh++) {
                    const float *xr = xc + c * HW + (ih0 + kh * dH) * Wd + ow * sW - pL;
                    const float *wr = w + (c * kH + kh) * kW;
                    for (kw = 0; kw < kW; kw++) {
                        rtv wv = V_SET1(wr[kw]);
                        const float *xp = xr + kw * dW;
                        a0 = V_FMA(wv, v_ld_s(xp, sW), a0);
                        a1 = V_FMA(wv, v_ld_s(xp + RTV * sW, sW), a1);
                        a2 = V_FMA(wv, v_ld_s(xp + 2 * RTV * sW, sW), a2);
                        a3 = V_FMA(wv, v_ld_s(xp + 3 * RTV * sW, sW), a3);
                    }
                }
            v_epilogue(yr + ow, a0, vb, rr ? rr + ow : 0, act, a, b);
            v_epilogue(yr + ow + RTV, a1, vb, rr ? rr + ow + RTV : 0, act, a, b);
            v_epilogue(yr + ow + 2 * RTV, a2, vb, rr ? rr + ow + 2 * RTV : 0, act, a, b);
            v_epilogue(yr + ow + 3 * RTV, a3, vb, rr ? rr + ow + 3 * RTV : 0, act, a, b);
            if (!vec) conv_act_tail(yr + ow, 4 * RTV, act, a, b);
        }
        for (; ow + RTV <= vhi; ow += RTV) {
            rtv a0 = V_SET1(0.0f);
            for (c = 0; c < cg; c++)
                for (kh = khlo; kh < khhi; kh++) {
                    const float *xr = xc + c * HW + (ih0 + kh * dH) * Wd + ow * sW - pL;
                    const float *wr = w + (c * kH + kh) * kW;
                    for (kw = 0; kw < kW; kw++)
                        a0 = V_FMA(V_SET1(wr[kw]), v_ld_s(xr + kw * dW, sW), a0);
                }
            v_epilogue(yr + ow, a0, vb, rr ? rr + ow : 0, act, a, b);
            if (!vec) conv_act_tail(yr + ow, RTV, act, a, b);
        }
        /* the rest of the row, one column at a time with bounds checks */
        for (ow = 0; ow < oW; ow++) {
            float acc = 0.0f, v;
            ptrdiff_t iw0 = ow * sW - pL;
            if (ow == lo && lo < vhi) {  /* skip what the vector loops did */
                ow = lo + (vhi - lo) / RTV * RTV;
                if (ow >= oW) break;
                iw0 = ow * sW - pL;
            }
            for (c = 0; c < cg; c++)
                for (kh = khlo; kh < khhi; kh++) {
                    const float *xr = xc + c * HW + (ih0 + kh * dH) * Wd;
                    const float *wr = w + (c * kH + kh) * kW;
                    for (kw = 0; kw < kW; kw++) {
                        ptrdiff_t iw = iw0 + kw * dW;
                        if (iw >= 0 && iw < Wd) acc += wr[kw] * xr[iw];
                    }
                }
            v = acc + bias;
            if (rr) v += rr[ow];
            yr[ow] = rt_act_f32(v, act, a, b);
        }
    }
}

static void conv_direct(const float *X, const float *W, const float *B, float *Y,
                        ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                        ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                        ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                        ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group,
                        const float *R, ptrdiff_t act, float a, float b)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, n, m;
    for (n = 0; n < N; n++)
        for (m = 0; m < M; m++) {
            const float *xc = X + (n * C + m / mg * cg) * H * Wd, *w = W + m * kk;
            float *y = Y + (n * M + m) * oH * oW, bias = B ? B[m] : 0.0f;
            const float *r = R ? R + (n * M + m) * oH * oW : 0;
            direct_plane(xc, w, bias, y, r, act, a, b, H, Wd, oH, oW, sH, pT, pL, dH,
                             cg, kH, kW, sW, dW);
        }
}

/* ---- direct kernel on a staged input (plan path 3) ------------------------------------
 * The cg input channels of a group are copied once into zero-padded phase planes (see
 * rt_conv_pack.c), so output q = oh * Wq + ow reads tap (c, kh, kw) at a fixed offset
 * from q in one plane: the whole plane is a 1-D stream of unit-stride vector loads, no
 * borders, no strided loads. Q holds the sums with row pitch Wq; the epilogue copies the
 * oW valid columns of each row out. */
/* d[j] = s[j * sW] for j < n, zeros elsewhere of d[0 .. Wq) (short rows: no libc calls) */
RT_INLINE void stage_row(float *d, const float *s, ptrdiff_t jlo, ptrdiff_t jhi, ptrdiff_t Wq,
                         ptrdiff_t sW)
{
    const rtv z = V_SET1(0.0f);
    ptrdiff_t j = 0;
    for (; j + RTV <= jlo; j += RTV) V_ST(d + j, z);
    for (; j < jlo; j++) d[j] = 0.0f;
    if (sW == 1)
        for (; j + RTV <= jhi; j += RTV) V_ST(d + j, V_LD(s + j));
    else if (sW == 2)  /* the pair loads stay inside the row: j + RTV < jhi */
        for (; j + RTV < jhi; j += RTV) V_ST(d + j, v_ld_s2(s + 2 * j));
    for (; j < jhi; j++) d[j] = s[j * sW];
    for (; j < Wq && (j & (RTV - 1)); j++) d[j] = 0.0f;
    for (; j < Wq; j += RTV) V_ST(d + j, z);  /* may run into the next row: it follows */
}

static void stage_input(const float *x, float *P, ptrdiff_t cg, ptrdiff_t H, ptrdiff_t Wd,
                        ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                        ptrdiff_t Hq, ptrdiff_t Wq, ptrdiff_t ps)
{
    ptrdiff_t c, a, b, i;
    for (c = 0; c < cg; c++)
        for (a = 0; a < sH; a++)
            for (b = 0; b < sW; b++) {
                float *pl = P + ((c * sH + a) * sW + b) * ps;
                ptrdiff_t iw0 = b - pL, jlo, jhi;
                jlo = iw0 >= 0 ? 0 : (-iw0 + sW - 1) / sW;
                jhi = Wd - 1 - iw0 >= 0 ? (Wd - 1 - iw0) / sW + 1 : 0;
                if (jhi > Wq) jhi = Wq;
                if (jlo > jhi) jlo = jhi;
                for (i = 0; i < Hq; i++) {
                    ptrdiff_t ih = i * sH + a - pT;
                    if (ih < 0 || ih >= H)
                        stage_row(pl + i * Wq, x, 0, 0, Wq, 1);
                    else
                        stage_row(pl + i * Wq, x + (c * H + ih) * Wd + iw0, jlo, jhi, Wq, sW);
                }
            }
}

/* Q[0 .. ql) = sums of one output channel (ql a multiple of 64). */
RT_INLINE void staged_sums(const float *P, const float *w, float *Q, ptrdiff_t ql,
                           ptrdiff_t Wq, ptrdiff_t ps, ptrdiff_t cg, ptrdiff_t kH,
                           ptrdiff_t kW, ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t dH,
                           ptrdiff_t dW)
{
    ptrdiff_t q, c, kh, kw;
    for (q = 0; q < ql; q += 4 * RTV) {
        rtv a0 = V_SET1(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (c = 0; c < cg; c++)
            for (kh = 0; kh < kH; kh++) {
                const float *pr = P + (c * sH + kh * dH % sH) * sW * ps + kh * dH / sH * Wq + q;
                const float *wr = w + (c * kH + kh) * kW;
                for (kw = 0; kw < kW; kw++) {
                    const float *p = pr + kw * dW % sW * ps + kw * dW / sW;
                    rtv wv = V_SET1(wr[kw]);
                    a0 = V_FMA(wv, V_LD(p), a0);
                    a1 = V_FMA(wv, V_LD(p + RTV), a1);
                    a2 = V_FMA(wv, V_LD(p + 2 * RTV), a2);
                    a3 = V_FMA(wv, V_LD(p + 3 * RTV), a3);
                }
            }
        V_ST(Q + q, a0);
        V_ST(Q + q + RTV, a1);
        V_ST(Q + q + 2 * RTV, a2);
        V_ST(Q + q + 3 * RTV, a3);
    }
}

/* staged_sums for SMB output channels at once (w[j] their weights; a block of fewer repeats
 * its last channel, whose sums are not stored): each input vector is loaded once for all of
 * them, SMB x 2 accumulators, so the FMAs are not waiting on loads. Q + j * ql per channel. */
#if RTV >= 16
#define SMB 8  /* rt_conv2d_work sizes Q for 8 */
#else
#define SMB 4
#endif
RT_INLINE void staged_sums_mb(const float *P, const float *const *w, ptrdiff_t mb, float *Q,
                              ptrdiff_t ql, ptrdiff_t Wq, ptrdiff_t ps, ptrdiff_t cg,
                              ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t sH, ptrdiff_t sW,
                              ptrdiff_t dH, ptrdiff_t dW)
{
    ptrdiff_t q, c, kh, kw, t;
    int j;
    for (q = 0; q < ql; q += 2 * RTV) {
        rtv a0[SMB], a1[SMB];
        for (j = 0; j < SMB; j++) a0[j] = a1[j] = V_SET1(0.0f);
        for (c = 0, t = 0; c < cg; c++)
            for (kh = 0; kh < kH; kh++) {
                const float *pr = P + (c * sH + kh * dH % sH) * sW * ps + kh * dH / sH * Wq + q;
                for (kw = 0; kw < kW; kw++, t++) {
                    const float *p = pr + kw * dW % sW * ps + kw * dW / sW;
                    rtv x0 = V_LD(p), x1 = V_LD(p + RTV);
                    for (j = 0; j < SMB; j++) {
                        rtv wv = V_SET1(w[j][t]);
                        a0[j] = V_FMA(wv, x0, a0[j]);
                        a1[j] = V_FMA(wv, x1, a1[j]);
                    }
                }
            }
        for (j = 0; j < SMB; j++)
            if (j < mb) {
                V_ST(Q + j * ql + q, a0[j]);
                V_ST(Q + j * ql + q + RTV, a1[j]);
            }
    }
}

static void staged_out(const float *Q, ptrdiff_t Wq, float *y, const float *r, float bias,
                       ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t act, float a, float b)
{
    ptrdiff_t oh, ow, i;
    rtv vb = V_SET1(bias);
    for (oh = 0; oh < oH; oh++) {
        const float *qr = Q + oh * Wq, *rr = r ? r + oh * oW : 0;
        float *yr = y + oh * oW;
        for (ow = 0; ow + RTV <= oW; ow += RTV)
            v_epilogue(yr + ow, V_LD(qr + ow), vb, rr ? rr + ow : 0, act, a, b);
        if (ow < oW) {  /* the last columns through a full vector on the side */
            float t[RTV], tr[RTV];
            for (i = 0; i < RTV; i++) tr[i] = rr && ow + i < oW ? rr[ow + i] : 0.0f;
            v_epilogue(t, V_LD(qr + ow), vb, rr ? tr : 0, act, a, b);
            for (i = 0; ow + i < oW; i++) yr[ow + i] = t[i];
        }
        if (!act_is_vector(act)) conv_act_tail(yr, oW, act, a, b);
    }
}

static void conv_staged(const float *X, const float *W, const float *B, float *Y,
                        ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                        ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                        ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                        ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group,
                        const float *R, ptrdiff_t act, float a, float b,
                        ptrdiff_t ps, float *work)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, n, g, j;
    ptrdiff_t Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW;
    ptrdiff_t ql = (oH * Wq + 63) / 64 * 64;
    float *P = work, *Q = work + cg * sH * sW * ps;
    ptrdiff_t c;
    /* the plane tails that the vector reads run into, and the words past Q: zero once */
    for (c = 0; c < cg * sH * sW; c++)
        memset(P + c * ps + Hq * Wq, 0, sizeof(float) * (size_t)(ps - Hq * Wq));
    memset(Q + (mg > 1 ? SMB : 1) * ql, 0, sizeof(float) * 64);
    for (n = 0; n < N; n++)
        for (g = 0; g < group; g++) {
            stage_input(X + (n * C + g * cg) * H * Wd, P, cg, H, Wd, sH, sW, pT, pL, Hq, Wq, ps);
            for (j = 0; j + 1 < mg; j += SMB) {  /* blocks of SMB channels; a last one alone */
                ptrdiff_t mb = mg - j < SMB ? mg - j : SMB, i;
                const float *ws[SMB];
                for (i = 0; i < SMB; i++) ws[i] = W + (g * mg + j + (i < mb ? i : mb - 1)) * kk;
                if (cg == 1 && kH == 5 && kW == 5 && sH == 1 && sW == 1 && dH == 1 && dW == 1)
                    staged_sums_mb(P, ws, mb, Q, ql, Wq, ps, 1, 5, 5, 1, 1, 1, 1);
                else
                    staged_sums_mb(P, ws, mb, Q, ql, Wq, ps, cg, kH, kW, sH, sW, dH, dW);
                for (i = 0; i < mb; i++) {
                    ptrdiff_t m = g * mg + j + i;
                    staged_out(Q + i * ql, Wq, Y + (n * M + m) * oH * oW,
                               R ? R + (n * M + m) * oH * oW : 0, B ? B[m] : 0.0f, oH, oW, act,
                               a, b);
                }
            }
            for (; j < mg; j++) {
                ptrdiff_t m = g * mg + j;
                const float *w = W + m * kk;
                if (cg == 1 && kH == 3 && kW == 3 && sH == 1 && sW == 1 && dH == 1 && dW == 1)
                    staged_sums(P, w, Q, ql, Wq, ps, 1, 3, 3, 1, 1, 1, 1);
                else if (cg == 1 && kH == 3 && kW == 3 && sH == 2 && sW == 2 && dH == 1 &&
                         dW == 1)
                    staged_sums(P, w, Q, ql, Wq, ps, 1, 3, 3, 2, 2, 1, 1);
                else if (cg == 1 && kH == 5 && kW == 5 && sH == 1 && sW == 1 && dH == 1 &&
                         dW == 1)
                    staged_sums(P, w, Q, ql, Wq, ps, 1, 5, 5, 1, 1, 1, 1);
                else
                    staged_sums(P, w, Q, ql, Wq, ps, cg, kH, kW, sH, sW, dH, dW);
                staged_out(Q, Wq, Y + (n * M + m) * oH * oW,
                           R ? R + (n * M + m) * oH * oW : 0, B ? B[m] : 0.0f, oH, oW, act, a, b);
            }
        }
}

/* ---- depthwise 3x3, stride 1 or 2, no staging (plan path 5) ---------------------------
 * One output plane per channel straight from the input plane: no padded copy, no scratch.
 * AVX-512: masked loads stand in for the zero padding (masked-off lanes are never read).
 *  - stride 1 with oH == H, oW == Wd, pads 1 (the 'same' conv): the plane is one stream of
 *    16-output vectors, tap (kh, kw) at the fixed offset (kh - 1) Wd + kw - 1; each tap's
 *    mask drops the lanes whose tap lies in the padding (row above the first / below the
 *    last, column left of the first / right of the last), from a vector of column indices
 *    carried along. Small planes (7x7, 14x14) cost no per-row work.
 *  - otherwise by output rows, 16 columns at a time, up to three input rows each; stride 2
 *    loads 32 + 1 columns per input row and de-interleaves them (permutex2var: even and odd
 *    columns, valignd for the third tap); masks clip the columns to the row.
 * Other targets: the staged kernel of path 3 where the plan sized scratch for it, else
 * the row kernel of path 0 (direct_plane) specialised to 3x3. The epilogue runs on the vector before the
 * store. */
#if defined(__AVX512F__)
/* lanes lo <= i < hi of 16 */
RT_INLINE __mmask16 m_range(ptrdiff_t lo, ptrdiff_t hi)
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)((((unsigned)1 << hi) - 1u) & ~(((unsigned)1 << lo) - 1u));
}

RT_INLINE void m_epilogue(float *y, __m512 v, __m512 bias, const float *r, __mmask16 k,
                          ptrdiff_t act, float a, float b)
{
    v = _mm512_add_ps(v, bias);
    if (r) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, r));
    _mm512_mask_storeu_ps(y, k, v_act(v, act, a, b));
}

/* col0: the column of lanes 0..15 of the first vector (i % Wd) */
RT_INLINE void dw3_same_s1(const float *x, const float *w, float bias, float *y, const float *r,
                        ptrdiff_t H, ptrdiff_t Wd, __m512i col0, ptrdiff_t act, float a,
                        float b)
{
    const ptrdiff_t n = H * Wd;
    const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]), w2 = _mm512_set1_ps(w[2]);
    const __m512 w3 = _mm512_set1_ps(w[3]), w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]);
    const __m512 w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]), w8 = _mm512_set1_ps(w[8]);
    const __m512 vb = _mm512_set1_ps(bias);
    const __m512i vw = _mm512_set1_epi32((int)Wd), vstep = _mm512_set1_epi32((int)(16 % Wd));
    const __m512i vn = _mm512_set1_epi32((int)n), vnw = _mm512_set1_epi32((int)(n - Wd));
    const __m512i vwm1 = _mm512_set1_epi32((int)(Wd - 1)), v16 = _mm512_set1_epi32(16);
    __m512i qi = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512i col = col0;
    ptrdiff_t q;
    for (q = 0; q < n; q += 16) {
        __mmask16 mv = _mm512_cmplt_epi32_mask(qi, vn);
        __mmask16 mt = _mm512_mask_cmpge_epi32_mask(mv, qi, vw);
        __mmask16 mb = _mm512_cmplt_epi32_mask(qi, vnw);
        __mmask16 ml = _mm512_cmpgt_epi32_mask(col, _mm512_setzero_si512());
        __mmask16 mr = _mm512_cmplt_epi32_mask(col, vwm1);
        const float *p = x + q;
        __m512 a0, a1, a2;
        a0 = _mm512_mul_ps(w0, _mm512_maskz_loadu_ps(mt & ml, p - Wd - 1));
        a1 = _mm512_mul_ps(w3, _mm512_maskz_loadu_ps(mv & ml, p - 1));
        a2 = _mm512_mul_ps(w6, _mm512_maskz_loadu_ps(mb & ml, p + Wd - 1));
        a0 = _mm512_fmadd_ps(w1, _mm512_maskz_loadu_ps(mt, p - Wd), a0);
        a1 = _mm512_fmadd_ps(w4, _mm512_maskz_loadu_ps(mv, p), a1);
        a2 = _mm512_fmadd_ps(w7, _mm512_maskz_loadu_ps(mb, p + Wd), a2);
        a0 = _mm512_fmadd_ps(w2, _mm512_maskz_loadu_ps(mt & mr, p - Wd + 1), a0);
        a1 = _mm512_fmadd_ps(w5, _mm512_maskz_loadu_ps(mv & mr, p + 1), a1);
        a2 = _mm512_fmadd_ps(w8, _mm512_maskz_loadu_ps(mb & mr, p + Wd + 1), a2);
        m_epilogue(y + q, _mm512_add_ps(_mm512_add_ps(a0, a1), a2), vb, r ? r + q : 0, mv,
                   act, a, b);
        qi = _mm512_add_epi32(qi, v16);
        col = _mm512_add_epi32(col, vstep);
        col = _mm512_mask_sub_epi32(col, _mm512_cmpge_epi32_mask(col, vw), col, vw);
    }
}

RT_INLINE void dw3_rows(const float *x, const float *w, float bias, float *y, const float *r,
                     ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t s,
                     ptrdiff_t pT, ptrdiff_t pL, ptrdiff_t act, float a, float b)
{
    const __m512 vb = _mm512_set1_ps(bias);
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __m512 wv[9];
    ptrdiff_t oh, ow, kh;
    for (kh = 0; kh < 9; kh++) wv[kh] = _mm512_set1_ps(w[kh]);
    for (ow = 0; ow < oW; ow += 16) {
        ptrdiff_t c0 = ow * s - pL;
        __mmask16 mo = m_range(0, oW - ow), k0, k1, k2;
        if (s == 1) {
            k0 = m_range(-c0, Wd - c0);
            k1 = m_range(-c0 - 1, Wd - c0 - 1);
            k2 = m_range(-c0 - 2, Wd - c0 - 2);
        } else {
            k0 = m_range(-c0, Wd - c0);
            k1 = m_range(-c0 - 16, Wd - c0 - 16);
            k2 = (__mmask16)(m_range(-c0 - 32, Wd - c0 - 32) & 1);
        }
        for (oh = 0; oh < oH; oh++) {
            ptrdiff_t ih0 = oh * s - pT;
            __m512 acc[3];
            acc[0] = acc[1] = acc[2] = _mm512_setzero_ps();
            if (s == 1) {
                for (kh = 0; kh < 3; kh++) {
                    ptrdiff_t ih = ih0 + kh;
                    const float *p;
                    if (ih < 0 || ih >= H) continue;
                    p = x + ih * Wd + c0;
                    acc[kh] = _mm512_mul_ps(wv[3 * kh], _mm512_maskz_loadu_ps(k0, p));
                    acc[kh] = _mm512_fmadd_ps(wv[3 * kh + 1], _mm512_maskz_loadu_ps(k1, p + 1),
                                              acc[kh]);
                    acc[kh] = _mm512_fmadd_ps(wv[3 * kh + 2], _mm512_maskz_loadu_ps(k2, p + 2),
                                              acc[kh]);
                }
            } else {
                for (kh = 0; kh < 3; kh++) {
                    ptrdiff_t ih = ih0 + kh;
                    const float *p;
                    __m512 lo, hi, t0, t2;
                    if (ih < 0 || ih >= H) continue;
                    p = x + ih * Wd + c0;
                    lo = _mm512_maskz_loadu_ps(k0, p);
                    hi = _mm512_maskz_loadu_ps(k1, p + 16);
                    t0 = _mm512_permutex2var_ps(lo, ev, hi);
                    t2 = _mm512_castsi512_ps(_mm512_alignr_epi32(
                        _mm512_castps_si512(_mm512_maskz_loadu_ps(k2, p + 32)),
                        _mm512_castps_si512(t0), 1));
                    acc[kh] = _mm512_mul_ps(wv[3 * kh], t0);
                    acc[kh] = _mm512_fmadd_ps(wv[3 * kh + 1], _mm512_permutex2var_ps(lo, od, hi),
                                              acc[kh]);
                    acc[kh] = _mm512_fmadd_ps(wv[3 * kh + 2], t2, acc[kh]);
                }
            }
            m_epilogue(y + oh * oW + ow, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]),
                       vb, r ? r + oh * oW + ow : 0, mo, act, a, b);
        }
    }
}

/* stride 2 with oW <= 7: output rows oh and oh + 1 in lanes 0..6 and 8..14 of one vector,
 * each from 16 columns of its input rows (the taps of 7 outputs span 15); the two rows'
 * lanes are compressed together before the epilogue and a contiguous store */
RT_INLINE void dw3_s2_narrow(const float *x, const float *w, float bias, float *y,
                          const float *r, ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH,
                          ptrdiff_t oW, ptrdiff_t pT, ptrdiff_t pL, ptrdiff_t act, float a,
                          float b)
{
    const __m512 vb = _mm512_set1_ps(bias);
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i e2 = _mm512_set_epi32(30, 30, 28, 26, 24, 22, 20, 18, 14, 14, 12, 10, 8, 6, 4, 2);
    const __mmask16 k0 = m_range(pL, Wd + pL);
    const __mmask16 sel = (__mmask16)(m_range(0, oW) | m_range(8, 8 + oW));
    __m512 wv[9];
    ptrdiff_t oh, kh;
    for (kh = 0; kh < 9; kh++) wv[kh] = _mm512_set1_ps(w[kh]);
    for (oh = 0; oh < oH; oh += 2) {
        ptrdiff_t two = oh + 1 < oH, ih0 = 2 * oh - pT;
        __m512 acc[3], v;
        for (kh = 0; kh < 3; kh++) {
            ptrdiff_t ia = ih0 + kh, ib = ia + 2;
            __m512 lo = _mm512_setzero_ps(), hi = lo;
            if (ia >= 0 && ia < H) lo = _mm512_maskz_loadu_ps(k0, x + ia * Wd - pL);
            if (two && ib >= 0 && ib < H) hi = _mm512_maskz_loadu_ps(k0, x + ib * Wd - pL);
            acc[kh] = _mm512_mul_ps(wv[3 * kh], _mm512_permutex2var_ps(lo, ev, hi));
            acc[kh] = _mm512_fmadd_ps(wv[3 * kh + 1], _mm512_permutex2var_ps(lo, od, hi), acc[kh]);
            acc[kh] = _mm512_fmadd_ps(wv[3 * kh + 2], _mm512_permutex2var_ps(lo, e2, hi), acc[kh]);
        }
        v = _mm512_maskz_compress_ps(sel, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), acc[2]));
        m_epilogue(y + oh * oW, v, vb, r ? r + oh * oW : 0, m_range(0, (1 + two) * oW), act,
                   a, b);
    }
}
#endif

#if defined(__AVX512F__)
RT_INLINE void dw3_plane(const float *x, const float *w, float bias, float *y, const float *r,
                         ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t s,
                         ptrdiff_t pT, ptrdiff_t pL, __m512i col0, ptrdiff_t act, float a,
                         float b)
{
    if (s == 1 && pT == 1 && pL == 1 && oH == H && oW == Wd)
        dw3_same_s1(x, w, bias, y, r, H, Wd, col0, act, a, b);
    else if (s == 2 && oW <= 7)
        dw3_s2_narrow(x, w, bias, y, r, H, Wd, oH, oW, pT, pL, act, a, b);
    else if (s == 2)
        dw3_rows(x, w, bias, y, r, H, Wd, oH, oW, 2, pT, pL, act, a, b);
    else
        dw3_rows(x, w, bias, y, r, H, Wd, oH, oW, 1, pT, pL, act, a, b);
}
#endif

#if defined(__AVX512F__)
/* ---- implicit GEMM for stride-1 convs whose output rows are as wide as the input's -----
 * (AVX-512; 3x3 pad 1, 5x5 pad 2, 1x1 unpadded ...) Y[M, oH*Wd] = A[M, C*kH*kW] x col with
 * col never formed: output pixel p (flattened; its row pitch is the input's, Wd) reads tap
 * (kh, kw) of channel c at x[c][p + (kh - pT) Wd + kw - pL], and the lanes whose tap lies
 * in the padding are masked off (the tap's column off the row, its row off the plane, p
 * past the end). Blocks of 8 output channels x 32 pixels, 16 accumulators, as SGEMM's
 * micro-kernel; A is the packed weight panels (rt_sgemm_pack_a layout, k = (c kH + kh) kW
 * + kw) walked tap-major so that a tap's masks hold for all channels. No scratch, no
 * im2col pass and no B packing: those cost the GEMM path ~20 % on SqueezeNet's 16->64 3x3
 * convs at 55x55, and on 1x1 convs of few input channels the B packing weighs as much as
 * the FMAs. */
#define IMP_MAXT 49
#define IMP_ROW(j)                                                    \
    w = _mm512_set1_ps(ap[j]);                                        \
    c##j##0 = _mm512_fmadd_ps(w, b0, c##j##0);                        \
    c##j##1 = _mm512_fmadd_ps(w, b1, c##j##1)
#define IMP_OUT(j)                                                                      \
    if (j < mr) imp_store(y + j * ldy, c##j##0, c##j##1, bias ? bias[j] : 0.0f,           \
                          r ? r + j * ldy : 0, s0, s1, q0, q1, n0, act, fa, fb);

/* The epilogue of one row of a block: lanes k0 / k1 of the two vectors are outputs. With
 * n0 < 0 they sit at y[0..16) and y[16..32); with n0 >= 0 (the phase planes' rows are wider
 * than the output's) the kept lanes are consecutive outputs from y on, n0 of them from the
 * first vector: compressed, they come first (lanes q0 / q1). */
RT_INLINE void imp_store(float *y, __m512 v0, __m512 v1, float bias, const float *r,
                         __mmask16 k0, __mmask16 k1, __mmask16 q0, __mmask16 q1, int n0,
                         ptrdiff_t act, float fa, float fb)
{
    const __m512 vb = _mm512_set1_ps(bias);
    if (n0 < 0) {
        m_epilogue(y, v0, vb, r, k0, act, fa, fb);
        m_epilogue(y + 16, v1, vb, r ? r + 16 : 0, k1, act, fa, fb);
        return;
    }
    m_epilogue(y, _mm512_maskz_compress_ps(k0, v0), vb, r, q0, act, fa, fb);
    m_epilogue(y + n0, _mm512_maskz_compress_ps(k1, v1), vb, r ? r + n0 : 0, q1, act, fa, fb);
}
/* Out of line: gcc keeps the 16 accumulators in registers only in a function of its own. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void implicit_block(const float *x, ptrdiff_t HW, ptrdiff_t C, ptrdiff_t T,
                           const ptrdiff_t *off, const __mmask16 *mk, const float *a,
                           ptrdiff_t mr, float *y, ptrdiff_t ldy, const float *bias,
                           const float *r, __mmask16 s0, __mmask16 s1, __mmask16 q0,
                           __mmask16 q1, int n0, ptrdiff_t act, float fa, float fb)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,
           c61 = c00, c70 = c00, c71 = c00;
    ptrdiff_t t, c, st = T * RT_SGEMM_MR;
    for (t = 0; t < T; t++) {
        const __mmask16 k0 = mk[2 * t], k1 = mk[2 * t + 1];
        const float *xp = x + off[t], *ap = a + t * RT_SGEMM_MR;
        for (c = 0; c < C; c++, xp += HW, ap += st) {
            const __m512 b0 = _mm512_maskz_loadu_ps(k0, xp), b1 = _mm512_maskz_loadu_ps(k1, xp + 16);
            __m512 w;
            IMP_ROW(0); IMP_ROW(1); IMP_ROW(2); IMP_ROW(3);
            IMP_ROW(4); IMP_ROW(5); IMP_ROW(6); IMP_ROW(7);
        }
    }
    IMP_OUT(0) IMP_OUT(1) IMP_OUT(2) IMP_OUT(3)
    IMP_OUT(4) IMP_OUT(5) IMP_OUT(6) IMP_OUT(7)
}
#undef IMP_ROW
#undef IMP_OUT

static void conv_implicit(const float *X, const float *A, const float *B, float *Y,
                          ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t M,
                          ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t pT, ptrdiff_t pL,
                          const float *R, ptrdiff_t act, float fa, float fb)
{
    const ptrdiff_t HW = H * Wd, npix = oH * Wd, T = kH * kW, K = C * T;
    const int vec = act_is_vector(act);
    ptrdiff_t off[IMP_MAXT], n, p0, m0, t, kh, kw, l;
    __mmask16 mk[2 * IMP_MAXT], rowm[2 * IMP_MAXT], colm[2 * IMP_MAXT];
    int lanes[32];
    __m512i col0, col1;
    const __m512i vw = _mm512_set1_epi32((int)Wd), vstep = _mm512_set1_epi32((int)(32 % Wd));
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (kh = 0; kh < kH; kh++)
        for (kw = 0; kw < kW; kw++) off[kh * kW + kw] = (kh - pT) * Wd + kw - pL;
    for (n = 0; n < N; n++) {
        const float *x = X + n * C * HW;
        float *y = Y + n * M * npix;
        const float *r = R ? R + n * M * npix : 0;
        for (l = 0; l < 32; l++) lanes[l] = (int)(l % Wd);
        col0 = _mm512_loadu_si512(lanes);
        col1 = _mm512_loadu_si512(lanes + 16);
        for (p0 = 0; p0 < npix; p0 += 32) {
            const __m512i p_0 = _mm512_add_epi32(_mm512_set1_epi32((int)p0), lane);
            const __m512i p_1 = _mm512_add_epi32(p_0, _mm512_set1_epi32(16));
            const __mmask16 s0 = m_range(0, npix - p0), s1 = m_range(0, npix - p0 - 16);
            for (kh = 0; kh < kH; kh++) {  /* the tap's row inside the plane */
                const __m512i lo = _mm512_set1_epi32((int)(-(kh - pT) * Wd));
                const __m512i hi = _mm512_set1_epi32((int)(HW - (kh - pT) * Wd));
                rowm[2 * kh] = (__mmask16)(s0 & _mm512_cmpge_epi32_mask(p_0, lo) &
                                           _mm512_cmplt_epi32_mask(p_0, hi));
                rowm[2 * kh + 1] = (__mmask16)(s1 & _mm512_cmpge_epi32_mask(p_1, lo) &
                                               _mm512_cmplt_epi32_mask(p_1, hi));
            }
            for (kw = 0; kw < kW; kw++) {  /* the tap's column inside the row */
                const __m512i lo = _mm512_set1_epi32((int)(pL - kw));
                const __m512i hi = _mm512_set1_epi32((int)(Wd + pL - kw));
                colm[2 * kw] = (__mmask16)(_mm512_cmpge_epi32_mask(col0, lo) &
                                           _mm512_cmplt_epi32_mask(col0, hi));
                colm[2 * kw + 1] = (__mmask16)(_mm512_cmpge_epi32_mask(col1, lo) &
                                               _mm512_cmplt_epi32_mask(col1, hi));
            }
            for (t = 0; t < T; t++) {
                kh = t / kW;
                kw = t % kW;
                mk[2 * t] = (__mmask16)(rowm[2 * kh] & colm[2 * kw]);
                mk[2 * t + 1] = (__mmask16)(rowm[2 * kh + 1] & colm[2 * kw + 1]);
            }
            for (m0 = 0; m0 < M; m0 += RT_SGEMM_MR) {
                ptrdiff_t mr = M - m0 < RT_SGEMM_MR ? M - m0 : RT_SGEMM_MR;
                float *yb = y + m0 * npix + p0;
                implicit_block(x + p0, HW, C, T, off, mk, A + m0 * K, mr, yb, npix,
                               B ? B + m0 : 0, r ? r + m0 * npix + p0 : 0, s0, s1, 0, 0, -1, act, fa,
                               fb);
                if (!vec) {
                    ptrdiff_t w = npix - p0 < 32 ? npix - p0 : 32, j;
                    for (j = 0; j < mr; j++) conv_act_tail(yb + j * npix, w, act, fa, fb);
                }
            }
            col0 = _mm512_add_epi32(col0, vstep);
            col0 = _mm512_mask_sub_epi32(col0, _mm512_cmpge_epi32_mask(col0, vw), col0, vw);
            col1 = _mm512_add_epi32(col1, vstep);
            col1 = _mm512_mask_sub_epi32(col1, _mm512_cmpge_epi32_mask(col1, vw), col1, vw);
        }
    }
}

static int popcount16(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

/* Strided convs, and stride-1 convs whose rows narrow (unpadded k x k), of a few input
 * channels (the stem: SqueezeNet's 3->64 3x3 s2, ResNet's 7x7 s2): the input is first
 * staged as path 3 stages it (per channel sH x sW zero-padded phase planes, Hq x Wq, ps
 * floats apart), so every tap is a unit-stride read at a fixed offset from a position of
 * the Wq-wide plane grid; the same blocks run over that grid (no masks but the grid's
 * end), and the lanes of columns past oW are dropped by compressing each vector before its
 * store. The staged input is ~1/kH kW of an im2col and is not packed again. */
static void conv_phase_implicit(const float *X, const float *A, const float *B, float *Y,
                                ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                                ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH,
                                ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT,
                                ptrdiff_t pL, ptrdiff_t dH, ptrdiff_t dW, const float *R,
                                ptrdiff_t act, float fa, float fb, float *P)
{
    const ptrdiff_t Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW;
    const ptrdiff_t ps = (Hq * Wq + 31) / 16 * 16, cs = sH * sW * ps;
    const ptrdiff_t T = kH * kW, K = C * T, nq = oH * Wq, npix = oH * oW;
    const int vec = act_is_vector(act);
    ptrdiff_t off[IMP_MAXT], n, p0, m0, t, kh, kw, l;
    __mmask16 mk[2 * IMP_MAXT];
    int lanes[32];
    __m512i col0, col1;
    const __m512i vw = _mm512_set1_epi32((int)Wq), vstep = _mm512_set1_epi32((int)(32 % Wq));
    const __m512i vow = _mm512_set1_epi32((int)oW);
    for (kh = 0; kh < kH; kh++)
        for (kw = 0; kw < kW; kw++)
            off[kh * kW + kw] = (kh * dH % sH * sW + kw * dW % sW) * ps + kh * dH / sH * Wq +
                                kw * dW / sW;
    for (n = 0; n < N; n++) {
        float *y = Y + n * M * npix;
        const float *r = R ? R + n * M * npix : 0;
        stage_input(X + n * C * H * Wd, P, C, H, Wd, sH, sW, pT, pL, Hq, Wq, ps);
        for (l = 0; l < 32; l++) lanes[l] = (int)(l % Wq);
        col0 = _mm512_loadu_si512(lanes);
        col1 = _mm512_loadu_si512(lanes + 16);
        for (p0 = 0; p0 < nq; p0 += 32) {
            const __mmask16 s0 = m_range(0, nq - p0), s1 = m_range(0, nq - p0 - 16);
            const __mmask16 k0 = (__mmask16)(s0 & _mm512_cmplt_epi32_mask(col0, vow));
            const __mmask16 k1 = (__mmask16)(s1 & _mm512_cmplt_epi32_mask(col1, vow));
            ptrdiff_t oh = p0 / Wq, ow = p0 % Wq, yo = ow < oW ? oh * oW + ow : (oh + 1) * oW;
            for (t = 0; t < T; t++) {
                mk[2 * t] = s0;
                mk[2 * t + 1] = s1;
            }
            const int n0 = popcount16(k0), n1 = popcount16(k1);
            const __mmask16 q0 = m_range(0, n0), q1 = m_range(0, n1);
            if (k0 | k1)
                for (m0 = 0; m0 < M; m0 += RT_SGEMM_MR) {
                    ptrdiff_t mr = M - m0 < RT_SGEMM_MR ? M - m0 : RT_SGEMM_MR;
                    float *yb = y + m0 * npix + yo;
                    implicit_block(P + p0, cs, C, T, off, mk, A + m0 * K, mr, yb, npix,
                                   B ? B + m0 : 0, r ? r + m0 * npix + yo : 0, k0, k1, q0, q1, n0,
                                   act, fa, fb);
                    if (!vec) {
                        ptrdiff_t w = n0 + n1, j;
                        for (j = 0; j < mr; j++) conv_act_tail(yb + j * npix, w, act, fa, fb);
                    }
                }
            col0 = _mm512_add_epi32(col0, vstep);
            col0 = _mm512_mask_sub_epi32(col0, _mm512_cmpge_epi32_mask(col0, vw), col0, vw);
            col1 = _mm512_add_epi32(col1, vstep);
            col1 = _mm512_mask_sub_epi32(col1, _mm512_cmpge_epi32_mask(col1, vw), col1, vw);
        }
    }
}

/* Floats of conv_phase_implicit's staged input, when it takes the conv (a k x k conv of the
 * plan's path 2 on packed weights, few enough weights and input channels that the staged
 * planes fit the scratch the plan sized for im2col); 0 when it does not. Kernels of 5x5 and
 * up: ResNet's 7x7 s2 stem 80 -> 93 GFLOP/s (conv_bench); for SqueezeNet's 3x3 s2 stem
 * (K = 27) the block's epilogue weighs too much and im2col + SGEMM stays ahead. */
static ptrdiff_t phase_floats(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW,
                              ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                              ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group, ptrdiff_t ta)
{
    ptrdiff_t Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW;
    ptrdiff_t T = kH * kW;
    if (ta != 2 || group != 1 || T < 25 || T > IMP_MAXT || oH * oW < 256 ||
        M * C * T > 64 * 1024 || C > 16)
        return 0;
    return C * sH * sW * ((Hq * Wq + 31) / 16 * 16);
}

/* Which convs conv_implicit runs (the plan's path 1 or 2 with packed weights); measured
 * with benchmarks/conv_bench.c (AVX-512, one core). k x k: wherever the weights stay in the
 * outer cache (each 32-pixel block streams all of them) and the plane is not tiny (16->64
 * 3x3 at 55: 88 -> 105 GFLOP/s). 1x1: only with few output channels, where the GEMM's B
 * packing is paid for few row panels (128->16 at 55: 80 -> 101, 144->24 at 56: 85 -> 100,
 * MobileNetV2's 32->16 at 112: 76 -> 93, ResNet's 64->64 at 56: 96 -> 100); with many
 * output channels the packed B panel reused from L1 wins, and on planes that are not near a
 * multiple of 32 pixels (14x14, 13x13) the masked-off lanes cost more than the packing. */
static int implicit_ok(ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t M, ptrdiff_t kH,
                       ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                       ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group, ptrdiff_t ta)
{
    ptrdiff_t T = kH * kW, K = C * T, npix = oH * oW, waste = (npix + 31) / 32 * 32 - npix;
    (void)H;
    if (ta != 2 || group != 1 || sH != 1 || sW != 1 || dH != 1 || dW != 1 || oW != Wd ||
        Wd < 8 || T > IMP_MAXT)
        return 0;
    if (T > 1) return npix >= 256 && M * K <= 64 * 1024;
    return M <= 64 && K >= 16 && waste * 25 <= npix;
}
#endif

static void conv_dw3(const float *X, const float *W, const float *B, float *Y,
                     ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                     ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t s, ptrdiff_t pT, ptrdiff_t pL,
                     const float *R, ptrdiff_t act, float a, float b)
{
    ptrdiff_t n, c;
#if defined(__AVX512F__)
    __m512i col0;
    {
        int t[16], i;
        for (i = 0; i < 16; i++) t[i] = (int)(i % Wd);
        col0 = _mm512_loadu_si512((const void *)t);
    }
#endif
    for (n = 0; n < N; n++)
        for (c = 0; c < C; c++) {
            const float *x = X + (n * C + c) * H * Wd, *w = W + c * 9;
            float *y = Y + (n * C + c) * oH * oW, bias = B ? B[c] : 0.0f;
            const float *r = R ? R + (n * C + c) * oH * oW : 0;
#if defined(__AVX512F__)
            /* the common activations as constants, so that the epilogue folds */
            if (act == RT_ACT_CLIP)
                dw3_plane(x, w, bias, y, r, H, Wd, oH, oW, s, pT, pL, col0, RT_ACT_CLIP, a, b);
            else if (act == RT_ACT_RELU)
                dw3_plane(x, w, bias, y, r, H, Wd, oH, oW, s, pT, pL, col0, RT_ACT_RELU, a, b);
            else if (act == RT_ACT_NONE)
                dw3_plane(x, w, bias, y, r, H, Wd, oH, oW, s, pT, pL, col0, RT_ACT_NONE, a, b);
            else
                dw3_plane(x, w, bias, y, r, H, Wd, oH, oW, s, pT, pL, col0, act, a, b);
            if (!act_is_vector(act)) conv_act_tail(y, oH * oW, act, a, b);
#else
            if (s == 1)
                direct_plane(x, w, bias, y, r, act, a, b, H, Wd, oH, oW, 1, pT, pL, 1,
                             1, 3, 3, 1, 1);
            else
                direct_plane(x, w, bias, y, r, act, a, b, H, Wd, oH, oW, 2, pT, pL, 1,
                             1, 3, 3, 2, 1);
#endif
        }
}

/* ---- im2col ----------------------------------------------------------------------------
 * col[k][j] for k = (c, kh, kw) over cg channels and output pixels p0 .. p0 + nc - 1.
 * (Writing it straight in SGEMM's packed B panels, to save the GEMM its copy, measured
 * slower: 8->16 5x5 at 14 42 -> 35 GFLOP/s, 3x3 s2 128 at 56 88 -> 75.) */
/* a / s for a >= 0 and the strides that occur, without a division: im2col runs this twice
 * per row segment, and MNIST-size convs have segments of 14 floats */
RT_INLINE ptrdiff_t div_stride(ptrdiff_t a, ptrdiff_t s)
{
    return s == 1 ? a : s == 2 ? a >> 1 : a / s;
}

/* zeroes n floats: short runs are common (pad rows of small planes), where a libc call costs
 * more than the stores */
RT_INLINE void zero_run(float *d, ptrdiff_t n)
{
    ptrdiff_t j = 0;
#if defined(__AVX512F__)
    for (; j < n; j += 16) _mm512_mask_storeu_ps(d + j, m_range(0, n - j), _mm512_setzero_ps());
#else
    for (; j < n; j++) d[j] = 0.0f;
#endif
}

static void im2col(const float *x, float *col, ptrdiff_t cg, ptrdiff_t H, ptrdiff_t Wd,
                   ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                   ptrdiff_t pT, ptrdiff_t pL, ptrdiff_t dH, ptrdiff_t dW,
                   ptrdiff_t p0, ptrdiff_t nc)
{
    ptrdiff_t c, kh, kw, oh0 = p0 / oW, ow0 = p0 % oW;
    float *row = col;
    for (c = 0; c < cg; c++)
        for (kh = 0; kh < kH; kh++)
            for (kw = 0; kw < kW; kw++, row += nc) {
                ptrdiff_t p = p0, oh = oh0, ow = ow0;
                while (p < p0 + nc) {
                    ptrdiff_t seg = oW - ow, ih = oh * sH - pT + kh * dH, iw0, jlo, jhi, j;
                    float *d = row + (p - p0);
                    if (seg > p0 + nc - p) seg = p0 + nc - p;
                    if (ih < 0 || ih >= H) {
                        zero_run(d, seg);
                    } else {
                        const float *s = x + (c * H + ih) * Wd;
                        iw0 = ow * sW - pL + kw * dW;
                        jlo = iw0 >= 0 ? 0 : div_stride(-iw0 + sW - 1, sW);
                        jhi = Wd - 1 - iw0 >= 0 ? div_stride(Wd - 1 - iw0, sW) + 1 : 0;
                        if (jhi > seg) jhi = seg;
                        if (jlo > jhi) jlo = jhi;
#if defined(__AVX512F__)
                        if (sW == 1) {  /* the pads too: lanes outside [jlo, jhi) load zero */
                            for (j = 0; j < seg; j += 16)
                                _mm512_mask_storeu_ps(d + j, m_range(0, seg - j),
                                    _mm512_maskz_loadu_ps(m_range(jlo - j, jhi - j),
                                                          s + (iw0 + j)));
                            p += seg;
                            ow += seg;
                            if (ow == oW) { ow = 0; oh++; }
                            continue;
                        }
#endif
                        for (j = 0; j < jlo; j++) d[j] = 0.0f;
                        if (sW == 1) {
                            const float *sp = s + iw0;
#if defined(__AVX512F__)
                            (void)sp;
#else
                            (void)sp;
                            memcpy(d + jlo, s + iw0 + jlo, sizeof(float) * (size_t)(jhi - jlo));
#endif
                        } else {
                            j = jlo;
#if defined(__AVX512F__)
                            if (sW == 2) {  /* the even lanes of two vectors */
                                const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16,
                                                                     18, 20, 22, 24, 26, 28, 30);
                                const float *sp = s + iw0;
                                for (; j + 16 <= jhi && iw0 + 2 * j + 32 <= Wd; j += 16)
                                    _mm512_storeu_ps(d + j, _mm512_permutex2var_ps(
                                        _mm512_loadu_ps(sp + 2 * j), ev,
                                        _mm512_loadu_ps(sp + 2 * j + 16)));
                            }
#endif
                            for (; j < jhi; j++) d[j] = s[iw0 + j * sW];
                        }
                        for (j = jhi; j < seg; j++) d[j] = 0.0f;
                    }
                    p += seg;
                    ow += seg;
                    if (ow == oW) { ow = 0; oh++; }
                }
            }
}


/* ---- Winograd F(4x4, 3x3) (plan path 4, rt_conv_pack.c) -------------------------------
 * Per chunk of tr tile rows (nt = tr * tX tiles of 4x4 outputs): the input tiles go through
 * B^T d B into V (36 planes C x nt in SGEMM's packed B layout, so the SGEMM reads them in
 * place), 36 SGEMMs U_p x V_p give P_p (M x nt), and A^T P A gives the output tiles, to which
 * the epilogue is applied. */

/* the 1-D input transform B^T over six values d0..d5 (vectors or floats) into o0..o5 */
#define WINO_BT(T, ADD, SUB, MUL, C4, C5, C2, d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5) \
    do { \
        T t_a = SUB(d4, MUL(C4, d2)), t_b = SUB(d3, MUL(C4, d1)); \
        T t_c = SUB(d4, d2), t_d = MUL(C2, SUB(d3, d1)); \
        o0 = ADD(SUB(MUL(C4, d0), MUL(C5, d2)), d4); \
        o1 = ADD(t_a, t_b); \
        o2 = SUB(t_a, t_b); \
        o3 = ADD(t_c, t_d); \
        o4 = SUB(t_c, t_d); \
        o5 = ADD(SUB(MUL(C4, d1), MUL(C5, d3)), d5); \
    } while (0)
#define S_ADD(a, b) ((a) + (b))
#define S_SUB(a, b) ((a) - (b))
#define S_MUL(a, b) ((a) * (b))
#if RTV > 1
#if defined(__AVX512F__)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#elif defined(__AVX2__)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#else
#define V_SUB(a, b) vsubq_f32(a, b)
#endif
#else
#define V_SUB(a, b) ((a) - (b))
#endif

/* tiles j0 .. j0 + tX - 1 of one channel c, input rows ih0 .. ih0 + 5. The rows are copied
 * zero-padded and split by column phase (column 4 i + q of the padded row at q * wq + i), so
 * both passes of B^T d B run over consecutive tiles with unit-stride vectors: tile tx reads
 * phases 0..3 at tx and phases 0, 1 at tx + 1. T: 48 * wq floats. */
static void wino_in_row(const float *x, ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t ih0, ptrdiff_t pL,
                        ptrdiff_t tX, float *T, ptrdiff_t wq, float *V, ptrdiff_t vs,
                        ptrdiff_t C, ptrdiff_t c, ptrdiff_t j0)
{
    float *Rw = T, *Tv = T + 24 * wq;
    ptrdiff_t k, i, q, tx, wn = 4 * tX + 4, lo = pL, hi = pL + Wd;
    if (hi > wn) hi = wn;
    if (lo > hi) lo = hi;
    for (k = 0; k < 6; k++) {
        float *r = Rw + k * 4 * wq;
        ptrdiff_t ih = ih0 + k;
        if (ih < 0 || ih >= H) {
            for (i = 0; i < 4 * wq; i++) r[i] = 0.0f;
            continue;
        }
        {
            const float *xr = x + ih * Wd - pL;
            for (i = 0; i < lo; i++) r[(i & 3) * wq + (i >> 2)] = 0.0f;
            for (; i < hi && (i & 3); i++) r[(i & 3) * wq + (i >> 2)] = xr[i];
            for (; i + 4 <= hi; i += 4) {
                r[i >> 2] = xr[i];
                r[wq + (i >> 2)] = xr[i + 1];
                r[2 * wq + (i >> 2)] = xr[i + 2];
                r[3 * wq + (i >> 2)] = xr[i + 3];
            }
            for (; i < hi; i++) r[(i & 3) * wq + (i >> 2)] = xr[i];
            for (; i < wn; i++) r[(i & 3) * wq + (i >> 2)] = 0.0f;
        }
    }
    /* vertical pass: 6 rows in, 6 rows out, each 4 phases of wq */
    for (q = 0; q < 4 * wq; q += RTV) {
        const rtv c4 = V_SET1(4.0f), c5 = V_SET1(5.0f), c2 = V_SET1(2.0f);
        rtv d0 = V_LD(Rw + q), d1 = V_LD(Rw + 4 * wq + q), d2 = V_LD(Rw + 8 * wq + q);
        rtv d3 = V_LD(Rw + 12 * wq + q), d4 = V_LD(Rw + 16 * wq + q), d5 = V_LD(Rw + 20 * wq + q);
        rtv o0, o1, o2, o3, o4, o5;
        WINO_BT(rtv, V_ADD, V_SUB, V_MUL, c4, c5, c2, d0, d1, d2, d3, d4, d5,
                o0, o1, o2, o3, o4, o5);
        V_ST(Tv + q, o0);
        V_ST(Tv + 4 * wq + q, o1);
        V_ST(Tv + 8 * wq + q, o2);
        V_ST(Tv + 12 * wq + q, o3);
        V_ST(Tv + 16 * wq + q, o4);
        V_ST(Tv + 20 * wq + q, o5);
    }
    /* horizontal pass, a run of tiles within one packed panel at a time */
    for (tx = 0; tx < tX;) {
        ptrdiff_t j = j0 + tx, seg = RT_SGEMM_NR - j % RT_SGEMM_NR;
        float *v = V + j / RT_SGEMM_NR * RT_SGEMM_NR * C + c * RT_SGEMM_NR + j % RT_SGEMM_NR;
        if (seg > tX - tx) seg = tX - tx;
        for (k = 0; k < 6; k++) {
            const float *t = Tv + k * 4 * wq + tx;
            float *o = v + 6 * k * vs;
            i = 0;
#if RTV > 1
            {
                const rtv c4 = V_SET1(4.0f), c5 = V_SET1(5.0f), c2 = V_SET1(2.0f);
                for (; i + RTV <= seg; i += RTV) {
                    rtv d0 = V_LD(t + i), d1 = V_LD(t + wq + i), d2 = V_LD(t + 2 * wq + i);
                    rtv d3 = V_LD(t + 3 * wq + i), d4 = V_LD(t + i + 1);
                    rtv d5 = V_LD(t + wq + i + 1), o0, o1, o2, o3, o4, o5;
                    WINO_BT(rtv, V_ADD, V_SUB, V_MUL, c4, c5, c2, d0, d1, d2, d3, d4, d5,
                            o0, o1, o2, o3, o4, o5);
                    V_ST(o + i, o0);
                    V_ST(o + vs + i, o1);
                    V_ST(o + 2 * vs + i, o2);
                    V_ST(o + 3 * vs + i, o3);
                    V_ST(o + 4 * vs + i, o4);
                    V_ST(o + 5 * vs + i, o5);
                }
            }
#endif
            for (; i < seg; i++)
                WINO_BT(float, S_ADD, S_SUB, S_MUL, 4.0f, 5.0f, 2.0f, t[i], t[wq + i],
                        t[2 * wq + i], t[3 * wq + i], t[i + 1], t[wq + i + 1], o[i], o[vs + i],
                        o[2 * vs + i], o[3 * vs + i], o[4 * vs + i], o[5 * vs + i]);
        }
        tx += seg;
    }
}

static void conv_wino(const float *X, const float *U, const float *B, float *Y,
                      ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t M,
                      ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t pT, ptrdiff_t pL,
                      const float *R, ptrdiff_t act, float a, float b, ptrdiff_t tr,
                      float *work)
{
    ptrdiff_t tX = (oW + 3) / 4, tY = (oH + 3) / 4, pv, pp, pt, po, n, ty0, pa;
    ptrdiff_t ntmax = rt_conv2d_wino_parts_(C, M, oW, tr, &pv, &pp, &pt, &po);
    float *V = work, *P = V + pv, *T = P + pp, *O = T + pt, *sw = O + po;
    ptrdiff_t wq = pt / 48;
    pa = rt_sgemm_pack_a_size(M, C);
    (void)ntmax;
    for (n = 0; n < N; n++) {
        const float *x = X + n * C * H * Wd;
        for (ty0 = 0; ty0 < tY; ty0 += tr) {
            ptrdiff_t ty1 = ty0 + tr < tY ? ty0 + tr : tY, nt = (ty1 - ty0) * tX;
            ptrdiff_t ntp = (nt + RT_SGEMM_NR - 1) / RT_SGEMM_NR * RT_SGEMM_NR, vs = C * ntp;
            ptrdiff_t c, ty, p, m, j, oh0 = 4 * ty0, oh1 = 4 * ty1 < oH ? 4 * ty1 : oH;
            /* input transform; the padding columns of the last panel are zero */
            if (ntp > nt)
                for (p = 0; p < 36; p++)
                    for (c = 0; c < C; c++)
                        for (j = nt; j < ntp; j++)
                            V[p * vs + (ntp - RT_SGEMM_NR) * C + c * RT_SGEMM_NR +
                              j % RT_SGEMM_NR] = 0.0f;
            for (c = 0; c < C; c++)
                for (ty = ty0; ty < ty1; ty++)
                    wino_in_row(x + c * H * Wd, H, Wd, 4 * ty - pT, pL, tX, T, wq, V, vs, C, c,
                                (ty - ty0) * tX);
            /* the 36 products */
            for (p = 0; p < 36; p++)
                rt_sgemm_f32(M, nt, C, U + p * pa, 0, 2, V + p * vs, 0, 2, P + p * M * nt, nt,
                             1.0f, 0.0f, 0, 0, 0, 0, 0, 0.0f, 0.0f, sw);
            /* output transform and epilogue, one output channel at a time */
            for (m = 0; m < M; m++) {
                const float *q = P + m * nt;
                ptrdiff_t ps = M * nt, oh, ow;
                float bias = B ? B[m] : 0.0f;
                float *y = Y + (n * M + m) * oH * oW;
                const rtv c2 = V_SET1(2.0f), c4 = V_SET1(4.0f), c8 = V_SET1(8.0f);
                const float *r = R ? R + (n * M + m) * oH * oW : 0;
                for (j = 0; j < nt; j += RTV) {  /* O, P have room past nt */
                    rtv sv[4][6];
                    int k;
                    for (k = 0; k < 6; k++) {
                        const float *q0 = q + k * ps + j;
                        rtv m0 = V_LD(q0), m1 = V_LD(q0 + 6 * ps), m2 = V_LD(q0 + 12 * ps);
                        rtv m3 = V_LD(q0 + 18 * ps), m4 = V_LD(q0 + 24 * ps);
                        rtv m5 = V_LD(q0 + 30 * ps);
                        rtv a12 = V_ADD(m1, m2), d12 = V_SUB(m1, m2);
                        rtv a34 = V_ADD(m3, m4), d34 = V_SUB(m3, m4);
                        sv[0][k] = V_ADD(V_ADD(m0, a12), a34);
                        sv[1][k] = V_FMA(c2, d34, d12);
                        sv[2][k] = V_FMA(c4, a34, a12);
                        sv[3][k] = V_ADD(V_FMA(c8, d34, d12), m5);
                    }
                    for (k = 0; k < 4; k++) {
                        rtv a12 = V_ADD(sv[k][1], sv[k][2]), d12 = V_SUB(sv[k][1], sv[k][2]);
                        rtv a34 = V_ADD(sv[k][3], sv[k][4]), d34 = V_SUB(sv[k][3], sv[k][4]);
                        V_ST(O + (4 * k) * ntp + j, V_ADD(V_ADD(sv[k][0], a12), a34));
                        V_ST(O + (4 * k + 1) * ntp + j, V_FMA(c2, d34, d12));
                        V_ST(O + (4 * k + 2) * ntp + j, V_FMA(c4, a34, a12));
                        V_ST(O + (4 * k + 3) * ntp + j, V_ADD(V_FMA(c8, d34, d12), sv[k][5]));
                    }
                }
                for (oh = oh0; oh < oh1; oh++) {
                    ptrdiff_t rr = oh & 3;
                    const float *o = O + 4 * rr * ntp + (oh / 4 - ty0) * tX;
                    float *yr = y + oh * oW;
                    if (r) {
                        const float *rw = r + oh * oW;
                        for (ow = 0; ow < oW; ow++)
                            yr[ow] = o[(ow & 3) * ntp + ow / 4] + bias + rw[ow];
                    } else {
                        for (ow = 0; ow < oW; ow++) yr[ow] = o[(ow & 3) * ntp + ow / 4] + bias;
                    }
                }
                if (act != RT_ACT_NONE)
                    rt_vact_f32((oh1 - oh0) * oW, y + oh0 * oW, y + oh0 * oW, act, a, b);
            }
        }
    }
}

/* W[m][c][3][3] from the Winograd weights U (the layout rt_conv2d_pack_w writes): rows 0, 1
 * and 5 of G = [1/4 0 0; -1/6 -1/6 -1/6; ...; 0 0 1] give g0 = 4 u0, g2 = u5,
 * g1 = -6 u1 - g0 - g2, applied on both sides. */
static void wino_recover(const float *U, ptrdiff_t C, ptrdiff_t M, float *W)
{
    ptrdiff_t pa = rt_sgemm_pack_a_size(M, C), m, c;
    static const int rows[3] = { 0, 1, 5 };
    for (m = 0; m < M; m++)
        for (c = 0; c < C; c++) {
            const float *u = U + m / RT_SGEMM_MR * RT_SGEMM_MR * C + c * RT_SGEMM_MR +
                             m % RT_SGEMM_MR;
            float h[3][3], *g = W + (m * C + c) * 9;
            int i, k;
            for (i = 0; i < 3; i++) {  /* row rows[i] of U G^-T: (G g)[rows[i]][:] */
                float u0 = u[(rows[i] * 6) * pa], u1 = u[(rows[i] * 6 + 1) * pa];
                float u5 = u[(rows[i] * 6 + 5) * pa];
                h[i][0] = 4.0f * u0;
                h[i][2] = u5;
                h[i][1] = -6.0f * u1 - h[i][0] - h[i][2];
            }
            for (k = 0; k < 3; k++) {
                g[k] = 4.0f * h[0][k];
                g[6 + k] = h[2][k];
                g[3 + k] = -6.0f * h[1][k] - g[k] - g[6 + k];
            }
        }
}

void rt_conv2d_f32(const float *X, const float *W, const float *B, float *Y,
                   ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                   ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                   ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                   ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group,
                   const float *R, ptrdiff_t act, float act_a, float act_b,
                   ptrdiff_t wpacked, float *work)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, npix = oH * oW;
    ptrdiff_t nc, path, n, g, p0, ta = wpacked ? 2 : 0;
    ptrdiff_t per = wpacked ? rt_sgemm_pack_a_size(mg, kk) : mg * kk;
    path = rt_conv2d_plan_(C, M, kH, kW, group, H, Wd, oH, oW, sH, sW, pT, pL, dH, dW, wpacked,
                           &nc);
    if (wpacked == 2 && rt_conv2d_wino_(C, M, kH, kW, group)) {
        ptrdiff_t tr;
        if (rt_conv2d_wino_plan_(C, M, oH, oW, sH, sW, dH, dW, &tr)) {
            conv_wino(X, W, B, Y, N, C, H, Wd, M, oH, oW, pT, pL, R, act, act_a, act_b, tr,
                      work);
            return;
        }
        /* Winograd weights on a conv that does not take path 4: W recovered, unpacked */
        wino_recover(W, C, M, work);
        W = work;
        work += (M * C * 9 + 15) / 16 * 16;
        ta = 0;
        per = mg * kk;
    }
    /* Callers that pass no scratch where the plan wants some (older generated code, tests)
     * still get the right result from the no-scratch row kernel (W unpacked only). */
    if (!work && path != 0 && path != 5 && !wpacked && (path != 1 || rt_sgemm_work(mg, npix, kk, 0, 0)))
        path = 0;
#if defined(__AVX512F__)
    if ((path == 1 || path == 2) &&
        implicit_ok(C, H, Wd, M, kH, kW, oH, oW, sH, sW, dH, dW, group, ta)) {
        conv_implicit(X, W, B, Y, N, C, H, Wd, M, kH, kW, oH, pT, pL, R, act, act_a, act_b);
        return;
    }
    if (path == 2 && work) {
        ptrdiff_t need = phase_floats(C, M, kH, kW, oH, oW, sH, sW, dH, dW, group, ta);
        if (need && need <= rt_conv2d_work(C, H, Wd, M, kH, kW, oH, oW, sH, sW, pT, pL, dH, dW,
                                           group, wpacked)) {
            conv_phase_implicit(X, W, B, Y, N, C, H, Wd, M, kH, kW, oH, oW, sH, sW, pT, pL, dH,
                                dW, R, act, act_a, act_b, work);
            return;
        }
    }
#endif
    if (path == 5) {
#if !defined(__AVX512F__)
        if (nc && work) {  /* other targets: the staged kernel (the plan sized its scratch) */
            conv_staged(X, W, B, Y, N, C, H, Wd, M, kH, kW, oH, oW, sH, sW, pT, pL, dH, dW,
                        group, R, act, act_a, act_b, nc, work);
            return;
        }
#endif
        conv_dw3(X, W, B, Y, N, C, H, Wd, oH, oW, sH, pT, pL, R, act, act_a, act_b);
        return;
    }
    if (path == 3) {
        conv_staged(X, W, B, Y, N, C, H, Wd, M, kH, kW, oH, oW, sH, sW, pT, pL, dH, dW, group,
                    R, act, act_a, act_b, nc, work);
        return;
    }
    if (path == 0) {
        conv_direct(X, W, B, Y, N, C, H, Wd, M, kH, kW, oH, oW, sH, sW, pT, pL, dH, dW, group,
                    R, act, act_a, act_b);
        return;
    }
    for (n = 0; n < N; n++)
        for (g = 0; g < group; g++) {
            const float *x = X + (n * C + g * cg) * H * Wd, *A = W + g * per;
            const float *bias = B ? B + g * mg : 0;
            float *y = Y + (n * M + g * mg) * npix;
            const float *r = R ? R + (n * M + g * mg) * npix : 0;
            if (path == 1) {
                rt_sgemm_f32(mg, npix, kk, A, kk, ta, x, npix, 0, y, npix, 1.0f, 0.0f,
                             bias, 1, r, npix, act, act_a, act_b, work);
                continue;
            }
            for (p0 = 0; p0 < npix; p0 += nc) {
                ptrdiff_t w = npix - p0 < nc ? npix - p0 : nc;
                im2col(x, work, cg, H, Wd, kH, kW, oW, sH, sW, pT, pL, dH, dW, p0, w);
                rt_sgemm_f32(mg, w, kk, A, kk, ta, work, w, 0, y + p0, npix, 1.0f, 0.0f,
                             bias, 1, r ? r + p0 : 0, npix, act, act_a, act_b,
                             work + (kk * nc + 15) / 16 * 16);
            }
        }
}
