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
 *  5 depthwise 3x3, stride 1 or 2 (both), undilated, pads at most 1: per channel straight
 *    from the input plane (rt_conv.c conv_dw3) with AVX-512; other targets stage as path 3
 *    where *nc > 0 (the scratch is sized for that; AVX-512 leaves it unused).
 * Paths 0, 3 and 5 (groups with few output channels: depthwise) read W as ONNX stores it;
 * so does path 3 for the wider convs of rt_conv2d_wide_, when W was not packed (wpacked 0,
 * which rt_conv2d_pack_kind asks for them). */
ptrdiff_t rt_conv2d_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW,
                          ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                          ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t wpacked, ptrdiff_t *nc);

/* At most this many floats of im2col chunk (1 MiB): the chunk stays in the outer caches
 * while the SGEMM sweeps it, and the scratch stays bounded whatever the image size. */
#ifndef RT_CONV_COL_CAP
#define RT_CONV_COL_CAP (256 * 1024)
#endif
/* Groups with at most this many output channels each run the direct kernel: the GEMM's
 * row panels (RT_SGEMM_MR) would be mostly padding. */
#define RT_CONV_DIRECT_MG 4

/* ---- Winograd F(4x4, 3x3) (plan path 4) ------------------------------------------------
 * 3x3 stride-1 undilated ungrouped convs with enough channels: each 4x4 output tile is
 * A^T [ (G g G^T) . (B^T d B) ] A over 6x6 input tiles d (Lavin & Gray, points 0, +-1, +-2,
 * inf), the 36 element-wise products batched over channels as 36 GEMMs
 * U_p[M x C] x V_p[C x tiles]. rt_conv2d_pack_kind picks this layout (kind 2) for the
 * shapes that take path 4: the packed weights are then the 36 U_p, each packed as SGEMM's A
 * (rt_sgemm_pack_a layout, pack_a_size(M, C) floats apart). A conv given such weights that
 * cannot take path 4 (strides, dilations, small planes) still works: it recovers W from U
 * into the scratch and takes path 2 with W unpacked. */
/* Channel ranges measured with benchmarks/conv_bench.c (AVX-512, one core): fewer input
 * channels make the products' K too short for the SGEMM; at 512 channels the planes are 7x7
 * in the common nets, 4 tiles, and the 36 U_p (37 MB) are streamed for too little work. */
#ifndef RT_CONV_WINO_MINC
#define RT_CONV_WINO_MINC 32
#endif
#ifndef RT_CONV_WINO_MAXC
#define RT_CONV_WINO_MAXC 256
#endif
#ifndef RT_CONV_WINO_MAXM
#define RT_CONV_WINO_MAXM 256
#endif
/* at most this many floats of transformed tiles (input and products) per chunk */
#ifndef RT_CONV_WINO_CAP
#define RT_CONV_WINO_CAP (160 * 1024)
#endif

ptrdiff_t rt_conv2d_direct_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group);
ptrdiff_t rt_conv2d_wide_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                          ptrdiff_t dH, ptrdiff_t dW);
ptrdiff_t rt_conv2d_wino_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group);
ptrdiff_t rt_conv2d_wino_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t oH, ptrdiff_t oW,
                               ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t dH, ptrdiff_t dW,
                               ptrdiff_t *tr);
ptrdiff_t rt_conv2d_wino_parts_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t oW, ptrdiff_t tr,
                                ptrdiff_t *pv, ptrdiff_t *pp, ptrdiff_t *pt, ptrdiff_t *po);

/* 1 when the direct kernels (paths 0, 3, 5) run this conv, reading W as ONNX stores it:
 * groups with few output channels (depthwise: the GEMM's row panels would be mostly
 * padding), and k x k convs of a few input channels and few outputs (an MNIST-size
 * network's first layer: K = Cg*kH*kW too short for the GEMM to pay for its im2col). */
ptrdiff_t rt_conv2d_direct_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group)
{
    ptrdiff_t mg = M / group, kk = C / group * kH * kW;
    return mg <= RT_CONV_DIRECT_MG || (kH * kW > 1 && kk <= 32 && mg <= 16);
}

/* 1 when a k x k conv with few outputs per group but a longer reduction (Cg*kH*kW up to
 * 256, MNIST's 8->16 5x5 layer) runs path 3 on W as stored: conv_staged computes 8 output
 * channels per load of the staged input, which beats im2col + a GEMM with 16 rows
 * (conv_bench: 41 -> 54 GFLOP/s); only where the staged input stays within the cap. */
ptrdiff_t rt_conv2d_wide_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                          ptrdiff_t dH, ptrdiff_t dW)
{
    ptrdiff_t cg = C / group, kk = cg * kH * kW;
    ptrdiff_t Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW;
    return kH * kW > 1 && kH <= 16 && kW <= 16 && M / group <= 16 && kk <= 256 &&
           cg * sH * sW * (Hq * Wq + Wq + 64) <= RT_CONV_COL_CAP;
}

ptrdiff_t rt_conv2d_wino_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group)
{
    return kH == 3 && kW == 3 && group == 1 && C >= RT_CONV_WINO_MINC && C <= RT_CONV_WINO_MAXC &&
           M >= 32 && M <= RT_CONV_WINO_MAXM;
}

/* 1 when a conv whose weights are in the Winograd layout runs path 4 (*tr: tile rows per
 * chunk), 0 when it falls back to path 2 on recovered weights. A chunk's transformed tiles
 * stay within RT_CONV_WINO_CAP floats (they are reread by all 36 products) unless that leaves
 * it fewer than C M / 256 tiles: every chunk streams all 36 U_p (36 C M floats), so with
 * large channel counts fewer, larger chunks win (conv_bench: 256->256 at 14, 93 -> 185
 * GFLOP/s; 128->128 at 28, 150 -> 185; 64->64 at 56 prefers the small chunks). */
ptrdiff_t rt_conv2d_wino_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t oH, ptrdiff_t oW,
                               ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t dH, ptrdiff_t dW,
                               ptrdiff_t *tr)
{
    ptrdiff_t tX = (oW + 3) / 4, tY = (oH + 3) / 4, t, mint = C * M / 256;
    *tr = 0;
    if (sH != 1 || sW != 1 || dH != 1 || dW != 1 || oH < 4 || oW < 4 || tX * tY < 16) return 0;
    t = RT_CONV_WINO_CAP / (36 * (C + M) * tX);
    if (t * tX < mint) t = (mint + tX - 1) / tX;
    if (t < 1) t = 1;
    if (t > tY) t = tY;
    *tr = t;
    return 1;
}

/* floats of each part of path 4's scratch, in order: V (36 planes of C x ntp, SGEMM's packed B
 * layout), P (36 products M x nt), T (48 rows of wq >= tX + 1: the raw and the
 * half-transformed input rows, 4 column phases each), O (16 x ntp: transformed outputs), then the SGEMM's scratch */
ptrdiff_t rt_conv2d_wino_parts_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t oW, ptrdiff_t tr,
                                ptrdiff_t *pv, ptrdiff_t *pp, ptrdiff_t *pt, ptrdiff_t *po)
{
    ptrdiff_t tX = (oW + 3) / 4, nt = tr * tX, ntp = (nt + RT_SGEMM_NR - 1) / RT_SGEMM_NR * RT_SGEMM_NR;
    *pv = 36 * C * ntp;
    *pp = (36 * M * nt + 15) / 16 * 16 + 16;
    *pt = 48 * ((tX + 1 + 15) / 16 * 16);
    *po = 16 * ntp;
    return nt;
}

ptrdiff_t rt_conv2d_plan_(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                          ptrdiff_t H, ptrdiff_t Wd, ptrdiff_t oH, ptrdiff_t oW,
                          ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                          ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t wpacked, ptrdiff_t *nc)
{
    ptrdiff_t kk = C / group * kH * kW, npix = oH * oW, n;
    *nc = 0;
    if (rt_conv2d_direct_(C, M, kH, kW, group) ||
        (!wpacked && rt_conv2d_wide_(C, M, kH, kW, group, oH, oW, sH, sW, dH, dW))) {
        ptrdiff_t Hq = oH + (kH - 1) * dH / sH, Wq = oW + (kW - 1) * dW / sW;
        ptrdiff_t ps = Hq * Wq + Wq + 64;
        int staged = !(oH * oW * kk * M < 4096 || kH > 16 || kW > 16 ||
                       C / group * sH * sW * ps > RT_CONV_COL_CAP);
        (void)H; (void)Wd;
        if (group == C && M == C && kH == 3 && kW == 3 && dH == 1 && dW == 1 && sH == sW &&
            sH <= 2 && pT <= 1 && pL <= 1) {
            *nc = staged ? ps : 0;
            return 5;
        }
        if (!staged) return 0;
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

/* Conv weights: kind 1, per group the Mg x (Cg*kH*kW) matrix W_g packed as SGEMM's A (the
 * GEMM paths); kind 2, the Winograd U_p (path 4); kind 0, none: the direct paths read W as
 * it is. Kind 2 is asked of shapes rt_conv2d_wino_ accepts, or it means kind 1. */
ptrdiff_t rt_conv2d_pack_kind(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                              ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                              ptrdiff_t dH, ptrdiff_t dW)
{
    ptrdiff_t tr;
    if (rt_conv2d_direct_(C, M, kH, kW, group) ||
        rt_conv2d_wide_(C, M, kH, kW, group, oH, oW, sH, sW, dH, dW))
        return 0;
    if (rt_conv2d_wino_(C, M, kH, kW, group) &&
        rt_conv2d_wino_plan_(C, M, oH, oW, sH, sW, dH, dW, &tr))
        return 2;
    return 1;
}

ptrdiff_t rt_conv2d_pack_w_size(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW,
                                ptrdiff_t group, ptrdiff_t kind)
{
    ptrdiff_t cg = C / group, mg = M / group;
    if (kind == 0 || rt_conv2d_direct_(C, M, kH, kW, group)) return 0;
    if (kind == 2 && rt_conv2d_wino_(C, M, kH, kW, group)) return 36 * rt_sgemm_pack_a_size(M, C);
    return group * rt_sgemm_pack_a_size(mg, cg * kH * kW);
}

void rt_conv2d_pack_w(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                      ptrdiff_t kind, const float *W, float *packed)
{
    ptrdiff_t cg = C / group, mg = M / group, kk = cg * kH * kW, g;
    ptrdiff_t per = rt_sgemm_pack_a_size(mg, kk);
    if (kind == 0 || rt_conv2d_direct_(C, M, kH, kW, group)) return;
    if (kind == 2 && rt_conv2d_wino_(C, M, kH, kW, group)) {
        /* U = G g G^T per (m, c), in double; U_p written straight in the packed A layout */
        static const double G[6][3] = {
            { 1.0 / 4, 0.0, 0.0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
            { -1.0 / 6, 1.0 / 6, -1.0 / 6 }, { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
            { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0.0, 0.0, 1.0 } };
        ptrdiff_t pa = rt_sgemm_pack_a_size(M, C), i, m, c;
        for (i = 0; i < 36 * pa; i++) packed[i] = 0.0f;
        for (m = 0; m < M; m++)
            for (c = 0; c < C; c++) {
                const float *g = W + (m * C + c) * 9;
                double t[6][3];
                int a, b, k;
                for (a = 0; a < 6; a++)
                    for (b = 0; b < 3; b++)
                        t[a][b] = G[a][0] * g[b] + G[a][1] * g[3 + b] + G[a][2] * g[6 + b];
                for (a = 0; a < 6; a++)
                    for (b = 0; b < 6; b++) {
                        double u = 0.0;
                        for (k = 0; k < 3; k++) u += t[a][k] * G[b][k];
                        packed[(a * 6 + b) * pa + m / RT_SGEMM_MR * RT_SGEMM_MR * C +
                               c * RT_SGEMM_MR + m % RT_SGEMM_MR] = (float)u;
                    }
            }
        return;
    }
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
    ptrdiff_t ta = wpacked ? 2 : 0, path, w1, w2, rec = 0;
    path = rt_conv2d_plan_(C, M, kH, kW, group, H, Wd, oH, oW, sH, sW, pT, pL, dH, dW, wpacked,
                           &nc);
    if (wpacked == 2 && rt_conv2d_wino_(C, M, kH, kW, group)) {
        ptrdiff_t tr, pv, pp, pt, po, nt, tY = (oH + 3) / 4;
        if (rt_conv2d_wino_plan_(C, M, oH, oW, sH, sW, dH, dW, &tr)) {
            nt = rt_conv2d_wino_parts_(C, M, oW, tr, &pv, &pp, &pt, &po);
            w1 = rt_sgemm_work(M, nt, C, 2, 2);
            w2 = tY % tr ? rt_sgemm_work(M, tY % tr * ((oW + 3) / 4), C, 2, 2) : 0;
            return pv + pp + pt + po + (w1 > w2 ? w1 : w2);
        }
        /* path 2 on W recovered from U, unpacked */
        rec = (M * C * 9 + 15) / 16 * 16;
        ta = 0;
    }
    if (path == 0 || (path == 5 && nc == 0)) return 0;
    if (path == 3 || path == 5)  /* staged planes, then Q: 8 channels' sums (conv_staged) */
        return cg * sH * sW * nc + (mg > 1 ? 8 : 1) * ((oH * (oW + (kW - 1) * dW / sW) + 63) / 64 * 64) + 64;
    if (path == 1) return rt_sgemm_work(mg, npix, cg, ta, 0);
    w1 = rt_sgemm_work(mg, nc, kk, ta, 0);
    w2 = npix % nc ? rt_sgemm_work(mg, npix % nc, kk, ta, 0) : 0;
    return rec + (kk * nc + 15) / 16 * 16 + (w1 > w2 ? w1 : w2);
}
