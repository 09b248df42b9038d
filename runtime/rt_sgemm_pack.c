/* rt_sgemm_pack.c — the packed operand layouts of the SGEMM kernel, the scratch it needs,
 * and the scalar activation every epilogue matches. Portable C only: onnxcc links this same file to pack weights
 * at compile time, and the generated code links it to pack activations at run time, so
 * the two can never disagree about a layout. */
#include <math.h>
#include "onnxcc_rt.h"

ptrdiff_t rt_sgemm_pack_a_size(ptrdiff_t M, ptrdiff_t K)
{
    return (M + RT_SGEMM_MR - 1) / RT_SGEMM_MR * RT_SGEMM_MR * K;
}

void rt_sgemm_pack_a(ptrdiff_t M, ptrdiff_t K, const float *A, ptrdiff_t lda,
                     ptrdiff_t transA, float *packed)
{
    ptrdiff_t i0, i, k;
    for (i0 = 0; i0 < M; i0 += RT_SGEMM_MR) {
        float *p = packed + i0 * K;
        for (k = 0; k < K; k++)
            for (i = 0; i < RT_SGEMM_MR; i++) {
                ptrdiff_t r = i0 + i;
                p[k * RT_SGEMM_MR + i] = r >= M ? 0.0f : transA ? A[k * lda + r] : A[r * lda + k];
            }
    }
}

ptrdiff_t rt_sgemm_pack_b_size(ptrdiff_t K, ptrdiff_t N)
{
    return (N + RT_SGEMM_NR - 1) / RT_SGEMM_NR * RT_SGEMM_NR * K;
}

void rt_sgemm_pack_b(ptrdiff_t K, ptrdiff_t N, const float *B, ptrdiff_t ldb,
                     ptrdiff_t transB, float *packed)
{
    ptrdiff_t j0, j, k;
    for (j0 = 0; j0 < N; j0 += RT_SGEMM_NR) {
        float *p = packed + j0 * K;
        for (k = 0; k < K; k++)
            for (j = 0; j < RT_SGEMM_NR; j++) {
                ptrdiff_t c = j0 + j;
                p[k * RT_SGEMM_NR + j] = c >= N ? 0.0f : transB ? B[c * ldb + k] : B[k * ldb + c];
            }
    }
}

ptrdiff_t rt_sgemm_work(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, ptrdiff_t transA, ptrdiff_t transB)
{
    ptrdiff_t kc, mc, nc, w = 0;
    if (M <= 0 || N <= 0 || K <= 0 || RT_SGEMM_DIRECT(M, N, K, transA, transB)) return 0;
    kc = K < RT_SGEMM_KC ? K : RT_SGEMM_KC;
    mc = (M + RT_SGEMM_MR - 1) / RT_SGEMM_MR * RT_SGEMM_MR;
    nc = (N + RT_SGEMM_NR - 1) / RT_SGEMM_NR * RT_SGEMM_NR;
    if (mc > RT_SGEMM_MC) mc = RT_SGEMM_MC;
    if (nc > RT_SGEMM_NC) nc = RT_SGEMM_NC;
    if (transA != 2) w += mc * kc;
    if (transB != 2) w += nc * kc;
    return w;
}

float rt_act_f32(float x, ptrdiff_t act, float a, float b)
{
    float t;
    switch (act) {
    case RT_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case RT_ACT_CLIP: return x < a ? a : x > b ? b : x;
    case RT_ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case RT_ACT_HARD_SIGMOID:
        t = a * x + b;
        return t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
    case RT_ACT_HARD_SWISH:
        t = x / 6.0f + 0.5f;
        return x * (t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t);
    case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RT_ACT_SILU: return x / (1.0f + expf(-x));
    case RT_ACT_TANH: return tanhf(x);
    case RT_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    default: return x;
    }
}
