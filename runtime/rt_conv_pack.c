/* rt_conv_pack.c — the packed weight layout of the convolution kernel and the scratch it
 * needs. Portable C only: onnxcc links this same file to pack weights at compile time. */
#include "onnxcc_rt.h"

/* Conv weights: per group, the Mg x (Cg*kH*kW) matrix W_g packed as SGEMM's A. */
ptrdiff_t rt_conv2d_pack_w_size(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW,
                                ptrdiff_t group)
{
    ptrdiff_t cg = C / group, mg = M / group;
    if (cg == 1 && mg == 1) return 0;  /* depthwise reads W as it is */
    return group * rt_sgemm_pack_a_size(mg, cg * kH * kW);
}

void rt_conv2d_pack_w(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                      const float *W, float *packed)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, g;
    ptrdiff_t per = rt_sgemm_pack_a_size(mg, kk);
    for (g = 0; g < group; g++)
        rt_sgemm_pack_a(mg, kk, W + g * mg * kk, kk, 0, packed + g * per);
}

ptrdiff_t rt_conv2d_work(ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                         ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                         ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                         ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group, ptrdiff_t wpacked)
{
    (void)C; (void)H; (void)Wd; (void)M; (void)kH; (void)kW; (void)oH; (void)oW;
    (void)sH; (void)sW; (void)pT; (void)pL; (void)dH; (void)dW; (void)group; (void)wpacked;
    return 0;
}

