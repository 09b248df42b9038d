/* onnxcc_rt.h — the runtime kernels that generated code may call (declarations only).
 *
 * Copied next to the generated code by `onnxcc compile`, together with the rt_*.c files
 * the program uses, so the output directory builds alone with any C99 compiler.
 * Conventions: row-major tensors, sizes and strides in elements as ptrdiff_t, no malloc,
 * no global state. Scratch memory is the caller's: each kernel that needs some says how
 * many floats through its *_work function, and the compiler plans that many in the arena.
 * Argument order is a contract with the operator lowerings (kir.h kcall) and with the
 * cost model in targets/targets.c (which reads the integer arguments by rank).
 *
 * Constant operands (weights) may be packed at compile time: the compiler links the same
 * rt_*_pack.c files (portable C, no intrinsics) and calls the *_pack functions on the weights, so
 * the layout a micro-kernel reads is defined in one place, the same for every instruction
 * set (each micro-kernel reads whole panels of that layout). */
#ifndef ONNXCC_RT_H
#define ONNXCC_RT_H

#include <stddef.h>
#include <stdint.h>

/* ---- epilogue ----------------------------------------------------------------------
 * Applied to every output element while its tile is still in registers:
 *     y = act(sum + bias + residual)
 * act_a / act_b are the activation's parameters; unused ones are 0. */
#define RT_ACT_NONE 0
#define RT_ACT_RELU 1          /* max(x, 0) */
#define RT_ACT_CLIP 2          /* min(max(x, a), b) */
#define RT_ACT_LEAKY_RELU 3    /* x >= 0 ? x : a * x */
#define RT_ACT_HARD_SIGMOID 4  /* max(0, min(1, a * x + b)) */
#define RT_ACT_HARD_SWISH 5    /* x * max(0, min(1, x / 6 + 1 / 2)) */
#define RT_ACT_SIGMOID 6       /* 1 / (1 + exp(-x)) */
#define RT_ACT_SILU 7          /* x * sigmoid(x) */
#define RT_ACT_TANH 8          /* tanh(x) */
#define RT_ACT_GELU 9          /* x / 2 * (1 + erf(x / sqrt(2))) */

/* The scalar activation (rt_sgemm_pack.c): the reference every vector path must match. */
float rt_act_f32(float x, ptrdiff_t act, float a, float b);

/* ---- SGEMM: rt_sgemm.c (kernels), rt_sgemm_pack.c (layouts, sizes) -----------------
 *
 * Y[MxN] = act(alpha * op(A) * op(B) + beta * Y + bias + R)
 *
 * transA: 0: A is MxK with row stride lda; 1: A is stored KxM (row stride lda);
 *         2: A was packed by rt_sgemm_pack_a (lda is ignored).
 * transB: 0: B is KxN with row stride ldb; 1: B is stored NxK (row stride ldb);
 *         2: B was packed by rt_sgemm_pack_b (ldb is ignored).
 * beta == 0 means Y is not read, so Y may hold anything (NaN included) on entry.
 * bias: NULL, or bias_mode 1: bias[i] added to row i; bias_mode 2: bias[j] to column j.
 * R: NULL, or a residual MxN with row stride ldr, added before the activation; R may be
 *    Y itself (each element is read before it is written), never a shifted view of Y.
 * work: rt_sgemm_work(M, N, K, transA, transB) floats of scratch (NULL when that is 0):
 *    run-time packed blocks of the operands that are not prepacked; 0 for small problems
 *    (M * N * K small, GEMV-like M or N), which take an unpacked path.
 * Only columns 0..N-1 of each Y row are written.
 * Optional provider: when the generated code is built with -DONNXCC_RT_OPENBLAS (and linked
 * with -lopenblas), operands that are not prepacked (transA, transB both 0/1) go through
 * cblas_sgemm, then the epilogue (bias, R, act) is applied in a second pass over Y; work is
 * then unused. Prepacked operands always take the built-in kernels. */
void rt_sgemm_f32(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                  const float *A, ptrdiff_t lda, ptrdiff_t transA,
                  const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                  float *Y, ptrdiff_t ldy, float alpha, float beta,
                  const float *bias, ptrdiff_t bias_mode,
                  const float *R, ptrdiff_t ldr,
                  ptrdiff_t act, float act_a, float act_b,
                  float *work);

/* Floats of scratch rt_sgemm_f32 needs for these sizes and operand forms (0: none). */
ptrdiff_t rt_sgemm_work(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                        ptrdiff_t transA, ptrdiff_t transB);

/* Packed layouts (rt_sgemm_pack.c), the same for every instruction set: op(A) in panels of
 * RT_SGEMM_MR rows, panel p at p * MR * K, each panel K steps of RT_SGEMM_MR floats (element
 * (i, k) at (i / MR) * MR * K + k * MR + i % MR; rows past M are zero); op(B) in panels of
 * RT_SGEMM_NR columns, panel q at q * NR * K, element (k, j) at (j / NR) * NR * K + k * NR +
 * j % NR (columns past N are zero). A K-slice [k0, k1) of a panel is contiguous, so the
 * kernels read a cache block of a prepacked operand in place. The micro-kernels
 * (rt_sgemm.c) compute an MR x NR tile per call: 8x32 with AVX-512 (two zmm per row), as
 * 4x16 sub-tiles with AVX2+FMA, as 8x8 sub-tiles with NEON, and in portable C. */
#define RT_SGEMM_MR 8
#define RT_SGEMM_NR 32
/* Cache blocks of the packed path (multiples of MR / NR): the scratch holds one MC x KC block
 * of op(A) and one KC x NC block of op(B), each capped by the actual sizes. */
#define RT_SGEMM_KC 384
#define RT_SGEMM_MC 96
#define RT_SGEMM_NC 1024
/* Problems that take the unpacked path (no scratch): tiny ones, few rows (GEMV-like) unless
 * B is stored transposed and A is not plain, and few columns against a prepacked A. */
#define RT_SGEMM_DIRECT(M, N, K, transA, transB) \
    ((M) * (N) * (K) <= 32768 || ((M) <= 4 && ((transB) != 1 || (transA) == 0)) || \
     ((transA) == 2 && (N) <= 4))

/* Compile-time packing of a constant operand. op(A) is MxK (A stored as transA 0/1 says,
 * row stride lda); op(B) is KxN. The *_size functions give the packed floats; the packed
 * buffer is then passed with transA / transB = 2. */
ptrdiff_t rt_sgemm_pack_a_size(ptrdiff_t M, ptrdiff_t K);
void rt_sgemm_pack_a(ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                     ptrdiff_t transA, float *packed);
ptrdiff_t rt_sgemm_pack_b_size(ptrdiff_t K, ptrdiff_t N);
void rt_sgemm_pack_b(ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                     ptrdiff_t transB, float *packed);

/* ---- 2-D convolution: rt_conv.c (kernels), rt_conv_pack.c (weight layout, sizes) -----
 *
 * ONNX Conv, NCHW: X[N,C,H,Wd], W[M,C/group,kH,kW], B[M] or NULL, Y[N,M,oH,oW], with the
 * same epilogue as SGEMM: Y = act(conv + B + R), R NULL or shaped like Y (may be Y).
 * Zero padding; pT/pL are the top/left pads (bottom/right follow from oH/oW). sH/sW
 * strides, dH/dW dilations.
 * wpacked: 0: W as ONNX stores it; 1 or 2: W was packed by rt_conv2d_pack_w of that kind.
 * work: rt_conv2d_work(...) floats of scratch (NULL when that is 0). */
void rt_conv2d_f32(const float *X, const float *W, const float *B, float *Y,
                   ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                   ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                   ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                   ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group,
                   const float *R, ptrdiff_t act, float act_a, float act_b,
                   ptrdiff_t wpacked, float *work);

/* Floats of scratch rt_conv2d_f32 needs for this shape (0: none). */
ptrdiff_t rt_conv2d_work(ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                         ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                         ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                         ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group, ptrdiff_t wpacked);

/* Compile-time packing of the weights. rt_conv2d_pack_kind says which layout this conv
 * reads fastest: 0, W as ONNX stores it (depthwise, for one: nothing to pack, wpacked 0);
 * 1, GEMM panels; 2, Winograd-transformed (3x3 stride 1, the shapes where that pays).
 * rt_conv2d_pack_w_size / rt_conv2d_pack_w write that kind; wpacked is then the kind. */
ptrdiff_t rt_conv2d_pack_kind(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                              ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t sH, ptrdiff_t sW,
                              ptrdiff_t dH, ptrdiff_t dW);
ptrdiff_t rt_conv2d_pack_w_size(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW,
                                ptrdiff_t group, ptrdiff_t kind);
void rt_conv2d_pack_w(ptrdiff_t C, ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t group,
                      ptrdiff_t kind, const float *W, float *packed);

/* ---- vectorised math: rt_vmath.c -------------------------------------------------------
 * Elementwise over n contiguous floats; y may be x (in place), otherwise no overlap.
 * rt_vact_f32: y = act(x), the RT_ACT_* codes with rt_act_f32's semantics.
 * rt_vmath_f32: y = op(x) for the RT_MATH_* codes. Within a few ulp of libm (erf: absolute
 * error below 1e-7; erfc-like tails of GELU keep their relative accuracy). */
#define RT_MATH_EXP 1
#define RT_MATH_TANH 2
#define RT_MATH_SIGMOID 3
#define RT_MATH_ERF 4
void rt_vact_f32(ptrdiff_t n, const float *x, float *y, ptrdiff_t act, float a, float b);
void rt_vmath_f32(ptrdiff_t n, const float *x, float *y, ptrdiff_t op);
/* Softmax over each row of a contiguous [rows, cols] view: y = exp(x - max) / sum;
 * log = 1: LogSoftmax, y = (x - max) - log(sum). y may be x. */
void rt_softmax_f32(ptrdiff_t rows, ptrdiff_t cols, const float *x, float *y, ptrdiff_t log);
/* LayerNormalization over each row of [rows, cols]: mean and (two-pass) variance of the row,
 * y = (x - mean) / sqrt(var + eps) * scale[c] + bias[c]; bias may be NULL. y may be x. */
void rt_layernorm_f32(ptrdiff_t rows, ptrdiff_t cols, const float *x, const float *scale,
                      const float *bias, float *y, float eps);

/* ---- pooling: rt_pool.c --------------------------------------------------------------
 * NCHW float32, `planes` = N * C independent planes of H x W, outputs oH x oW (the caller
 * computes them, ceil_mode included). Window taps at oh * sH - pT + kh * dH (rows) and
 * ow * sW - pL + kw * dW (columns); taps outside the input are skipped.
 * rt_maxpool2d_f32: the max over the taps in kh-then-kw order, as m = m > v ? m : v from
 *   -inf (so a window of padding only gives -inf; NaN behaves as in that loop).
 * rt_avgpool2d_f32: the sum of the taps inside the input divided by the number of taps
 *   inside [-pT, H + pB) x [-pL, W + pR) (count_include_pad = 1; pads, not the ceil_mode
 *   extension) or inside the input (count_include_pad = 0). No dilation.
 * rt_globalpool_f32: the mean (is_max = 0) or max (is_max = 1, NaN as in the max above)
 *   of each of `planes` contiguous runs of HW floats. */
void rt_maxpool2d_f32(const float *X, float *Y, ptrdiff_t planes, ptrdiff_t H, ptrdiff_t W,
                      ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t kH, ptrdiff_t kW,
                      ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                      ptrdiff_t dH, ptrdiff_t dW);
void rt_avgpool2d_f32(const float *X, float *Y, ptrdiff_t planes, ptrdiff_t H, ptrdiff_t W,
                      ptrdiff_t oH, ptrdiff_t oW, ptrdiff_t kH, ptrdiff_t kW,
                      ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                      ptrdiff_t pB, ptrdiff_t pR, ptrdiff_t count_include_pad);
void rt_globalpool_f32(const float *X, float *Y, ptrdiff_t planes, ptrdiff_t HW,
                       ptrdiff_t is_max);

/* ---- strings: rt_string.c --------------------------------------------------------
 * A string tensor is n cells of cap bytes: the bytes of one string, then a NUL. A reader
 * stops at the first NUL or after cap - 1 bytes; a writer always terminates.
 * rt_str_from_f32: the text of each float as numpy's str() of a float32 writes it
 *   (shortest round-trip digits; "nan", "inf", "-inf"); at most RT_STR_F32_MAX - 1
 *   bytes, so cap >= RT_STR_F32_MAX never truncates.
 * rt_str_to_f32: each string read as Python's float() reads it (spaces around, a sign,
 *   digits, '.', an exponent; "nan", "inf", "infinity" in any case), rounded to float32;
 *   anything else gives NaN.
 * rt_str_normalize: StringNormalizer. Drops the strings equal to one of the nstop cells
 *   of stop (stop_cap bytes each; compared ignoring ASCII case unless case_sensitive),
 *   changes the case of the others (RT_CASE_*; ASCII letters only, other bytes kept) and
 *   writes them in order to Y; *count gets their number, or 1 with one empty string when
 *   none is left. Y may be X. */
#define RT_STR_F32_MAX 24
#define RT_CASE_NONE 0
#define RT_CASE_LOWER 1
#define RT_CASE_UPPER 2
void rt_str_from_f32(const float *X, unsigned char *Y, ptrdiff_t n, ptrdiff_t cap);
void rt_str_to_f32(const unsigned char *X, float *Y, ptrdiff_t n, ptrdiff_t cap);
void rt_str_normalize(const unsigned char *X, unsigned char *Y, int64_t *count, ptrdiff_t n,
                      ptrdiff_t cap, ptrdiff_t case_change, ptrdiff_t case_sensitive,
                      const unsigned char *stop, ptrdiff_t nstop, ptrdiff_t stop_cap);

#endif
