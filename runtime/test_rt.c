/* test_rt.c — Check tests of the runtime kernels' plain forms (no epilogue, unpacked
 * operands) against naive double-precision references written straight from the ONNX
 * Gemm/Conv definitions (index formulas, not the kernels' loop structure), over shapes,
 * transposes, strides, groups, dilations, pads. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc_rt.h"

static unsigned rng_state = 12345u;
static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = frand();
}

static void expect_close(const float *got, const double *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double tol = 1e-5 + 1e-5 * fabs(want[i]);
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol, "%s: element %zu: got %.9g want %.9g",
                      what, i, (double)got[i], want[i]);
    }
}

/* ---- GEMM ---- */

static void gemm_case(int M, int N, int K, int transA, int transB, int padA, int padB,
                      int padY, float alpha, float beta)
{
    /* Stored shapes: A is MxK or KxM, B is KxN or NxK; each row padded by padX. */
    int arows = transA ? K : M, acols = transA ? M : K;
    int brows = transB ? N : K, bcols = transB ? K : N;
    int lda = acols + padA, ldb = bcols + padB, ldy = N + padY;
    float *A = calloc((size_t)(arows * lda) + 1, sizeof *A);
    float *B = calloc((size_t)(brows * ldb) + 1, sizeof *B);
    float *Y = calloc((size_t)(M * ldy) + 1, sizeof *Y);
    double *want = calloc((size_t)(M * ldy) + 1, sizeof *want);
    fill(A, (size_t)(arows * lda));
    fill(B, (size_t)(brows * ldb));
    fill(Y, (size_t)(M * ldy));
    /* beta == 0: Y must not be read, so poison it with NaN. */
    if (beta == 0.0f)
        for (int i = 0; i < M * ldy; i++) Y[i] = NAN;
    for (int i = 0; i < M * ldy; i++) want[i] = Y[i];
    float *Y0 = malloc(((size_t)(M * ldy) + 1) * sizeof *Y0);
    memcpy(Y0, Y, ((size_t)(M * ldy) + 1) * sizeof *Y0);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++) {
                double a = transA ? A[p * lda + i] : A[i * lda + p];
                double b = transB ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
            }
            double y0 = beta == 0.0f ? 0.0 : (double)beta * Y[i * ldy + j];
            want[i * ldy + j] = (double)alpha * s + y0;
        }
    float *work = malloc(((size_t)rt_sgemm_work(M, N, K, transA, transB) + 1) * sizeof *work);
    rt_sgemm_f32(M, N, K, A, lda, transA, B, ldb, transB, Y, ldy, alpha, beta,
                 NULL, 0, NULL, 0, RT_ACT_NONE, 0.0f, 0.0f, work);
    free(work);
    /* Padding columns of Y must be left alone (bitwise: they may be NaN). */
    for (int i = 0; i < M; i++) {
        char what[128];
        snprintf(what, sizeof what, "gemm M%d N%d K%d tA%d tB%d row %d", M, N, K, transA, transB, i);
        expect_close(Y + i * ldy, want + i * ldy, (size_t)N, what);
        for (int j = N; j < ldy; j++)
            ck_assert_msg(!memcmp(&Y[i * ldy + j], &Y0[i * ldy + j], sizeof(float)),
                          "%s: padding column %d was written", what, j);
    }
    free(A);
    free(B);
    free(Y);
    free(Y0);
    free(want);
}

START_TEST(test_gemm_shapes)
{
    static const int shapes[][3] = { {1, 1, 1}, {2, 3, 4}, {5, 7, 3}, {16, 16, 16},
                                     {1, 10, 33}, {9, 1, 5}, {3, 4, 0} };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, 0, 0, 0, 1.0f, 0.0f);
                gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, 0, 0, 0, 0.5f, 2.0f);
            }
}
END_TEST

START_TEST(test_gemm_strides)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(4, 5, 6, ta, tb, 3, 2, 1, 1.0f, 0.0f);
            gemm_case(7, 3, 8, ta, tb, 1, 5, 4, -1.5f, 0.25f);
        }
}
END_TEST

START_TEST(test_gemm_empty)
{
    /* M or N of 0 touches nothing; K of 0 gives beta*Y (checked in shapes) */
    float y = 42.0f;
    rt_sgemm_f32(0, 1, 3, NULL, 3, 0, NULL, 1, 0, &y, 1, 1.0f, 0.0f, NULL, 0, NULL, 0, 0, 0.0f, 0.0f, NULL);
    rt_sgemm_f32(1, 0, 3, NULL, 3, 0, NULL, 1, 0, &y, 1, 1.0f, 0.0f, NULL, 0, NULL, 0, 0, 0.0f, 0.0f, NULL);
    ck_assert(y == 42.0f);
}
END_TEST

/* ---- Conv ---- */

typedef struct ConvCase {
    int N, C, H, W, M, kH, kW, sH, sW, pT, pL, pB, pR, dH, dW, group, bias;
} ConvCase;

static void conv_case(const ConvCase *c)
{
    int oH = (c->H + c->pT + c->pB - ((c->kH - 1) * c->dH + 1)) / c->sH + 1;
    int oW = (c->W + c->pL + c->pR - ((c->kW - 1) * c->dW + 1)) / c->sW + 1;
    int cg = c->C / c->group, mg = c->M / c->group;
    size_t nx = (size_t)(c->N * c->C * c->H * c->W), nw = (size_t)(c->M * cg * c->kH * c->kW);
    size_t ny = (size_t)(c->N * c->M * oH * oW);
    float *X = malloc(nx * sizeof *X), *Wt = malloc(nw * sizeof *Wt);
    float *B = malloc((size_t)c->M * sizeof *B), *Y = malloc(ny * sizeof *Y);
    double *want = calloc(ny, sizeof *want);
    fill(X, nx);
    fill(Wt, nw);
    fill(B, (size_t)c->M);
    for (size_t i = 0; i < ny; i++) Y[i] = NAN;
    for (int n = 0; n < c->N; n++)
        for (int m = 0; m < c->M; m++)
            for (int oh = 0; oh < oH; oh++)
                for (int ow = 0; ow < oW; ow++) {
                    double s = c->bias ? B[m] : 0.0;
                    int g = m / mg;
                    for (int ci = 0; ci < cg; ci++)
                        for (int kh = 0; kh < c->kH; kh++)
                            for (int kw = 0; kw < c->kW; kw++) {
                                int ih = oh * c->sH + kh * c->dH - c->pT;
                                int iw = ow * c->sW + kw * c->dW - c->pL;
                                if (ih < 0 || iw < 0 || ih >= c->H || iw >= c->W) continue;
                                double x = X[((n * c->C + g * cg + ci) * c->H + ih) * c->W + iw];
                                double w = Wt[((m * cg + ci) * c->kH + kh) * c->kW + kw];
                                s += x * w;
                            }
                    want[((n * c->M + m) * oH + oh) * oW + ow] = s;
                }
    ptrdiff_t nwork = rt_conv2d_work(c->C, c->H, c->W, c->M, c->kH, c->kW, oH, oW, c->sH, c->sW,
                                     c->pT, c->pL, c->dH, c->dW, c->group, 0);
    float *work = malloc(((size_t)nwork + 1) * sizeof *work);
    rt_conv2d_f32(X, Wt, c->bias ? B : NULL, Y, c->N, c->C, c->H, c->W, c->M, c->kH, c->kW,
                  oH, oW, c->sH, c->sW, c->pT, c->pL, c->dH, c->dW, c->group,
                  NULL, RT_ACT_NONE, 0.0f, 0.0f, 0, work);
    free(work);
    expect_close(Y, want, ny, "conv");
    free(X);
    free(Wt);
    free(B);
    free(Y);
    free(want);
}

START_TEST(test_conv_cases)
{
    static const ConvCase cases[] = {
        /* N  C  H  W  M kH kW sH sW pT pL pB pR dH dW g bias */
        { 1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0 },   /* valid */
        { 1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },   /* same pads */
        { 2, 3, 7, 6, 4, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1, 1, 1 },   /* strides, odd kernel */
        { 1, 4, 8, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1 },   /* dilation, groups */
        { 1, 4, 6, 6, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 4, 0 },   /* depthwise, asym pads */
        { 1, 2, 5, 9, 2, 1, 1, 1, 3, 0, 0, 0, 0, 1, 1, 1, 1 },   /* 1x1 */
        { 1, 1, 3, 3, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1 },   /* kernel larger than input */
        { 1, 6, 9, 7, 3, 2, 3, 3, 2, 0, 2, 1, 0, 3, 2, 3, 1 },   /* everything at once */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) conv_case(&cases[i]);
}
END_TEST

static Suite *rt_suite(void)
{
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_gemm_shapes);
    tcase_add_test(tc, test_gemm_strides);
    tcase_add_test(tc, test_gemm_empty);
    tcase_add_test(tc, test_conv_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
