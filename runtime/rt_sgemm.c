/* rt_sgemm.c — rt_sgemm_f32, the runtime's SGEMM with a fused epilogue (onnxcc_rt.h).
 *
 * Scalar reference for now: every operand form (plain, transposed, packed) read through
 * one accessor, so the fast paths have an obvious reference to be tested against. */
#include "onnxcc_rt.h"

static float ref_a(const float *A, ptrdiff_t lda, ptrdiff_t transA, ptrdiff_t K,
                   ptrdiff_t i, ptrdiff_t k)
{
    if (transA == 2)
        return A[(i / RT_SGEMM_MR) * RT_SGEMM_MR * K + k * RT_SGEMM_MR + i % RT_SGEMM_MR];
    return transA ? A[k * lda + i] : A[i * lda + k];
}

static float ref_b(const float *B, ptrdiff_t ldb, ptrdiff_t transB, ptrdiff_t K,
                   ptrdiff_t k, ptrdiff_t j)
{
    if (transB == 2)
        return B[(j / RT_SGEMM_NR) * RT_SGEMM_NR * K + k * RT_SGEMM_NR + j % RT_SGEMM_NR];
    return transB ? B[j * ldb + k] : B[k * ldb + j];
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
    ptrdiff_t i, j, p;
    (void)work;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            float acc = 0.0f, y;
            for (p = 0; p < K; p++) acc += ref_a(A, lda, transA, K, i, p) * ref_b(B, ldb, transB, K, p, j);
            /* beta == 0 must not read Y: it may be uninitialised or NaN. */
            y = beta == 0.0f ? alpha * acc : alpha * acc + beta * Y[i * ldy + j];
            if (bias) y += bias_mode == 1 ? bias[i] : bias[j];
            if (R) y += R[i * ldr + j];
            Y[i * ldy + j] = rt_act_f32(y, act, act_a, act_b);
        }
}
