/* onnxcc_rt.h — the runtime kernels that generated code may call (declarations only).
 *
 * Copied next to the generated code by `onnxcc compile`, together with the rt_*.c files
 * the program uses, so the output directory builds alone with any C99 compiler.
 * Conventions: row-major tensors, sizes and strides in elements as ptrdiff_t, no malloc,
 * no global state. Argument order is a contract with the operator lowerings (kir.h kcall). */
#ifndef ONNXCC_RT_H
#define ONNXCC_RT_H

#include <stddef.h>

/* Y[MxN] = alpha * op(A) * op(B) + beta * Y.
 * op(A) is MxK (A is stored KxM when transA), op(B) is KxN (stored NxK when transB);
 * lda/ldb/ldy are row strides in elements. beta == 0 means Y is not read, so Y may hold
 * anything (NaN included) on entry. */
void rt_gemm_f32(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                 const float *A, ptrdiff_t lda, ptrdiff_t transA,
                 const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                 float *Y, ptrdiff_t ldy, float alpha, float beta);

/* 2-D convolution (ONNX Conv, NCHW): X[N,C,H,Wd], W[M,C/group,kH,kW], B[M] or NULL,
 * Y[N,M,oH,oW]. Zero padding; pT/pL are the top/left pads (bottom/right follow from
 * oH/oW). sH/sW strides, dH/dW dilations. */
void rt_conv2d_f32(const float *X, const float *W, const float *B, float *Y,
                   ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t Wd,
                   ptrdiff_t M, ptrdiff_t kH, ptrdiff_t kW, ptrdiff_t oH, ptrdiff_t oW,
                   ptrdiff_t sH, ptrdiff_t sW, ptrdiff_t pT, ptrdiff_t pL,
                   ptrdiff_t dH, ptrdiff_t dW, ptrdiff_t group);

#endif
