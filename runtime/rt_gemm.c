/* rt_gemm.c — rt_gemm_f32: the scalar reference GEMM of the runtime.
 *
 * Plain and correct first: a faster blocked/vector version replaces the loops later, so
 * the only concession to speed is choosing a loop order whose inner loop walks memory
 * contiguously for the layout at hand. */
#include "onnxcc_rt.h"

void rt_gemm_f32(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                 const float *A, ptrdiff_t lda, ptrdiff_t transA,
                 const float *B, ptrdiff_t ldb, ptrdiff_t transB,
                 float *Y, ptrdiff_t ldy, float alpha, float beta)
{
    ptrdiff_t i, j, p;
    /* An empty output reads nothing: A and B may then be NULL. */
    if (M <= 0 || N <= 0) return;
    for (i = 0; i < M; i++) {
        float *y = Y + i * ldy;
        if (transB) {
            /* B rows are columns of op(B): a dot product per output walks both rows. */
            for (j = 0; j < N; j++) {
                float acc = 0.0f;
                for (p = 0; p < K; p++) {
                    float a = transA ? A[p * lda + i] : A[i * lda + p];
                    acc += a * B[j * ldb + p];
                }
                /* beta == 0 must not read Y: it may be uninitialised or NaN. */
                y[j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * y[j];
            }
        } else {
            /* Accumulate row i of op(A) times rows of B into y: the inner loop is
             * contiguous in B and Y. */
            for (j = 0; j < N; j++) y[j] = beta == 0.0f ? 0.0f : beta * y[j];
            for (p = 0; p < K; p++) {
                const float *b = B + p * ldb;
                float a = alpha * (transA ? A[p * lda + i] : A[i * lda + p]);
                for (j = 0; j < N; j++) y[j] += a * b[j];
            }
        }
    }
}
