/* rt_conv.c — rt_conv2d_f32: the scalar reference 2-D convolution of the runtime
 * (grouped, strided, dilated, zero-padded; NCHW). Direct loops, no im2col buffer, so it
 * needs no scratch memory. */
#include "onnxcc_rt.h"

void rt_conv2d_f32(const float *X, const float *W, const float *B, float *Y,
                   ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                   ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                   ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                   ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group)
{
    ptrdiff_t cg = C / group, mg = M / group;
    ptrdiff_t n, m, c, oh, ow, kh, kw;
    for (n = 0; n < N; n++) {
        for (m = 0; m < M; m++) {
            ptrdiff_t g = m / mg;
            const float *x0 = X + (n * C + g * cg) * H * Wd;
            const float *w0 = W + m * cg * kH * kW;
            float *y = Y + (n * M + m) * oH * oW;
            for (oh = 0; oh < oH; oh++) {
                for (ow = 0; ow < oW; ow++) {
                    float acc = 0.0f;
                    for (c = 0; c < cg; c++) {
                        const float *xc = x0 + c * H * Wd;
                        const float *wc = w0 + c * kH * kW;
                        for (kh = 0; kh < kH; kh++) {
                            ptrdiff_t ih = oh * sH - pT + kh * dH;
                            if (ih < 0 || ih >= H) continue;
                            for (kw = 0; kw < kW; kw++) {
                                ptrdiff_t iw = ow * sW - pL + kw * dW;
                                if (iw < 0 || iw >= Wd) continue;
                                acc += xc[ih * Wd + iw] * wc[kh * kW + kw];
                            }
                        }
                    }
                    /* Bias last, as the ONNX reference adds it after the sum. */
                    y[oh * oW + ow] = B ? acc + B[m] : acc;
                }
            }
        }
    }
}
