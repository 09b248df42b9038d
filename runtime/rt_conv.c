/* rt_conv.c — rt_conv2d_f32: the runtime's 2-D convolution (grouped, strided, dilated,
 * zero-padded; NCHW) with the SGEMM epilogue fused (onnxcc_rt.h).
 *
 * Scalar reference for now: direct loops reading W as ONNX stores it or as rt_conv_pack.c
 * packed it. */
#include "onnxcc_rt.h"

void rt_conv2d_f32(const float *X, const float *W, const float *B, float *Y,
                   ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                   ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                   ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                   ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group,
                   const float *R, ptrdiff_t act, float act_a, float act_b,
                   ptrdiff_t wpacked, float *work)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW;
    ptrdiff_t per = wpacked ? rt_sgemm_pack_a_size(mg, kk) : 0;
    ptrdiff_t n, m, c, oh, ow, kh, kw;
    (void)work;
    for (n = 0; n < N; n++) {
        for (m = 0; m < M; m++) {
            ptrdiff_t g = m / mg, r = m % mg;
            const float *x0 = X + (n * C + g * cg) * H * Wd;
            float *y = Y + (n * M + m) * oH * oW;
            const float *res = R ? R + (n * M + m) * oH * oW : 0;
            for (oh = 0; oh < oH; oh++) {
                for (ow = 0; ow < oW; ow++) {
                    float acc = 0.0f, v;
                    for (c = 0; c < cg; c++) {
                        const float *xc = x0 + c * H * Wd;
                        for (kh = 0; kh < kH; kh++) {
                            ptrdiff_t ih = oh * sH - pT + kh * dH;
                            if (ih < 0 || ih >= H) continue;
                            for (kw = 0; kw < kW; kw++) {
                                ptrdiff_t iw = ow * sW - pL + kw * dW;
                                ptrdiff_t k = (c * kH + kh) * kW + kw;
                                float w;
                                if (iw < 0 || iw >= Wd) continue;
                                w = wpacked ? W[g * per + (r / RT_SGEMM_MR) * RT_SGEMM_MR * kk +
                                                k * RT_SGEMM_MR + r % RT_SGEMM_MR]
                                            : W[m * kk + k];
                                acc += xc[ih * Wd + iw] * w;
                            }
                        }
                    }
                    /* Bias last, as the ONNX reference adds it after the sum. */
                    v = B ? acc + B[m] : acc;
                    if (res) v += res[oh * oW + ow];
                    y[oh * oW + ow] = rt_act_f32(v, act, act_a, act_b);
                }
            }
        }
    }
}
