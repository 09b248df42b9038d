/* rt_conv_pack.c — the packed weight layout of the convolution kernel, the plan it follows
 * (which path, how large an im2col chunk) and the scratch it needs. Portable C only: onnxcc
 * links this same file to pack weights and size the scratch at compile time, and rt_conv.c
 * asks rt_conv2d_plan_ for the same plan at run time, so the two can never disagree. */
#include "onnxcc_rt.h"

/* Internal to the conv kernel family (rt_conv.c declares it too; not part of the contract).
 * Returns the path:
 *  0 direct by rows (tiny convs, or too many input channels per group to stage): no scratch;
 *  1 a 1x1 stride-1 unpadded conv as one SGEMM straight on X;
 *  2 im2col in chunks of *nc output pixels followed by an SGEMM per chunk;
 *  3 direct on a staged copy of a group's input: per channel, sH * sW phase planes
 *    (phase (a, b) element (i, j) = zero-padded input (i * sH + a, j * sW + b)), each
 *    Hq x Wq with Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW, planes *nc
 *    floats apart; then the output plane as oH rows of pitch Wq, rounded up to 64 floats,
 *    and 64 more that the last row's vector reads may touch.
 *    Every tap is then a unit-stride read at a fixed offset from the output index.
 * Paths 0 and 3 (groups with few output channels: depthwise) read W as ONNX stores it. */
ptrdiff_t rt_conv2d_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW,
                          ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                          ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t *nc);

/* At most this many floats of im2col chunk (1 MiB): the chunk stays in the outer caches
 * while the SGEMM sweeps it, and the scratch stays bounded whatever the image size. */
#ifndef RT_CONV_COL_CAP
#define RT_CONV_COL_CAP (256 * 1024)
#endif
/* Groups with at most this many output channels each run the direct kernel: the GEMM's
 * row panels (RT_SGEMM_MR) would be mostly padding. */
#define RT_CONV_DIRECT_MG 4

ptrdiff_t rt_conv2d_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW,
                          ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                          ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t *nc)
{
    ptrdiff_t kk = C / group * kH * kW, npix = oH * oW, n;
    *nc = 0;
    if (M / group <= RT_CONV_DIRECT_MG) {
        ptrdiff_t Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW;
        ptrdiff_t ps = Hq * Wq + Wq + 64;
        (void)H; (void)Wd; (void)pT; (void)pL;
        if (oH * oW * kk * M < 4096 || kH > 16 || kW > 16 ||
            C / group * sH * sW * ps > RT_CONV_COL_CAP)
            return 0;
        *nc = ps;
        return 3;
    }
    if (kH == 1 && kW == 1 && sH == 1 && sW == 1 && pT == 0 && pL == 0 && oH == H && oW == Wd)
        return 1;
    if (kk * npix <= RT_CONV_COL_CAP) {
        n = npix;
    } else {
        n = RT_CONV_COL_CAP / kk / RT_SGEMM_NR * RT_SGEMM_NR;
        if (n < RT_SGEMM_NR) n = RT_SGEMM_NR;
        if (n > npix) n = npix;
    }
    *nc = n;
    return 2;
}

/* Conv weights: per group, the Mg x (Cg*kH*kW) matrix W_g packed as SGEMM's A (the GEMM
 * paths); the direct path reads W as it is. */
ptrdiff_t rt_conv2d_pack_w_size(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW,
                                ptrdiff_t group)
{
    ptrdiff_t cg = C / group, mg = M / group;
    if (mg <= RT_CONV_DIRECT_MG) return 0;
    return group * rt_sgemm_pack_a_size(mg, cg * kH * kW);
}

void rt_conv2d_pack_w(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                      const float *W, float *packed)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, g;
    ptrdiff_t per = rt_sgemm_pack_a_size(mg, kk);
    if (mg <= RT_CONV_DIRECT_MG) return;
    for (g = 0; g < group; g++)
        rt_sgemm_pack_a(mg, kk, W + g * mg * kk, kk, 0, packed + g * per);
}

/* The im2col chunk, rounded up to whole 64-byte lines, then the SGEMM's own scratch (the
 * largest it asks for over the chunk widths used). */
ptrdiff_t rt_conv2d_work(ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                         ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                         ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                         ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group, ptrdiff_t wpacked)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, npix = oH * oW, nc;
    ptrdiff_t ta = wpacked ? 2 : 0, path, w1, w2;
    path = rt_conv2d_plan_(C, M, kH, kW, group, H, Wd, oH, oW, sH, sW, pT, pL, dH, dW, &nc);
    if (path == 0) return 0;
    if (path == 3) return cg * sH * sW * nc + (oH * (oW + (kW - 1) * dW / sW) + 63) / 64 * 64 + 64;
    if (path == 1) return rt_sgemm_work(mg, npix, cg, ta, 0);
    w1 = rt_sgemm_work(mg, nc, kk, ta, 0);
    w2 = npix % nc ? rt_sgemm_work(mg, npix % nc, kk, ta, 0) : 0;
    return (kk * nc + 15) / 16 * 16 + (w1 > w2 ? w1 : w2);
}
