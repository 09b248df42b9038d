/* sgemm_bench.c — rt_sgemm_f32 against OpenBLAS's cblas_sgemm, one thread, same operands
 * (row-major, not transposed, beta 0), alternating the two contenders and reporting medians.
 * Prints a markdown table. Run through benchmarks/sgemm.sh. */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "onnxcc_rt.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the core may be shared */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { int M, N, K; const char *what; } Shape;

static const float *gA, *gB;
static float *gY, *gW;
static int gM, gN, gK;

static void run_ours(void)
{
    rt_sgemm_f32(gM, gN, gK, gA, gK, 0, gB, gN, 0, gY, gN, 1.0f, 0.0f, NULL, 0, NULL, 0,
                 RT_ACT_NONE, 0.0f, 0.0f, gW);
}

static void run_blas(void)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, gM, gN, gK, 1.0f, gA, gK, gB, gN,
                0.0f, gY, gN);
}

/* Seconds per call of f, over a batch of about 20 ms. */
static double time_batch(void (*f)(void), int reps)
{
    double t0 = now();
    int r;
    for (r = 0; r < reps; r++) f();
    return (now() - t0) / reps;
}

int main(void)
{
    static const Shape shapes[] = {
        { 64, 64, 64, "square" }, { 128, 128, 128, "square" }, { 256, 256, 256, "square" },
        { 512, 512, 512, "square" }, { 768, 768, 768, "square" }, { 1024, 1024, 1024, "square" },
        { 128, 256, 256, "transformer (seq 128, d 256)" },
        { 128, 1024, 256, "transformer FFN up" },
        { 64, 3136, 576, "conv 3x3 64ch 56x56 (im2col)" },
        { 1, 1024, 1024, "GEMV (batch-1 FC)" },
    };
    double mhz = 0.0, peak;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    size_t s;
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) { mhz = atof(strchr(line, ':') + 1); break; }
        fclose(f);
    }
    peak = 64.0 * mhz / 1000.0;
    printf("| M x N x K | shape | ours GFLOP/s | OpenBLAS GFLOP/s | ours / OpenBLAS | ours / peak |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const Shape *sh = &shapes[s];
        size_t i, na = (size_t)sh->M * sh->K, nb = (size_t)sh->K * sh->N;
        float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
        float *Y = malloc((size_t)sh->M * sh->N * sizeof *Y);
        ptrdiff_t w = rt_sgemm_work(sh->M, sh->N, sh->K, 0, 0);
        double flops = 2.0 * sh->M * sh->N * sh->K, to[9], tb[9], t1;
        int reps, r;
        for (i = 0; i < na; i++) A[i] = (float)((i * 7 + 3) % 13) / 13.0f - 0.5f;
        for (i = 0; i < nb; i++) B[i] = (float)((i * 5 + 1) % 11) / 11.0f - 0.5f;
        gA = A; gB = B; gY = Y; gM = sh->M; gN = sh->N; gK = sh->K;
        gW = w > 0 ? malloc((size_t)w * sizeof *gW) : NULL;
        run_ours(); run_blas();
        t1 = time_batch(run_ours, 1);
        reps = (int)(0.02 / (t1 > 1e-9 ? t1 : 1e-9)) + 1;
        for (r = 0; r < 9; r++) {
            to[r] = time_batch(run_ours, reps);
            tb[r] = time_batch(run_blas, reps);
        }
        qsort(to, 9, sizeof to[0], cmp);
        qsort(tb, 9, sizeof tb[0], cmp);
        printf("| %dx%dx%d | %s | %.1f | %.1f | %.2f | %.0f%% |\n", sh->M, sh->N, sh->K, sh->what,
               flops / to[4] * 1e-9, flops / tb[4] * 1e-9, tb[4] / to[4],
               peak > 0 ? 100.0 * flops / to[4] * 1e-9 / peak : 0.0);
        free(A); free(B); free(Y); free(gW);
    }
    printf("\nPeak (AVX-512: 2 FMA units x 16 lanes x 2 = 64 FLOP/cycle) at the nominal clock "
           "%.0f MHz from /proc/cpuinfo: %.1f GFLOP/s.\n", mhz, peak);
    return 0;
}
