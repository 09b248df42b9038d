/* sgemm_bench.c — rt_sgemm_f32 against OpenBLAS's cblas_sgemm, one thread, alternating the
 * two contenders and reporting medians of thread CPU time. Prints markdown tables: square
 * sizes (plain operands, no epilogue), then the calls real networks make (ResNet-50 and
 * MobileNetV2 convolutions as rt_conv.c issues them, transformer layers), each with the
 * operand forms and epilogue of the network: A prepacked (transA 2) for conv weights, B
 * prepacked (transB 2) for MatMul weights, Y = relu(W x B + bias). OpenBLAS gets the same
 * operands unpacked and computes the product alone (no epilogue), so its column is a
 * lower bound on what it would need. Per-network rows weight each shape by how often the
 * network calls it. Run through benchmarks/sgemm.sh; argument "quick": fewer repetitions. */
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

/* net: 0 square, 1 ResNet-50, 2 MobileNetV2, 3 transformer. ta / tb: our operand forms
 * (2: prepacked). epi: 0 none, 1 bias per row + Relu, 2 bias per column + Relu.
 * ldy: Y's row stride (0: N; an im2col chunk writes into the whole output plane).
 * count: calls per inference (chunks included). */
typedef struct { int net, M, N, K, ta, tb, epi, ldy; double count; const char *what; } Shape;

#define RN(M, N, K, cnt, what) { 1, M, N, K, 2, 0, 1, 0, cnt, what }
/* im2col chunk of RT_CONV_COL_CAP (256K floats, rt_conv_pack.c) floats: n pixels */
#define RC(M, NPIX, K, cnt, what) { 1, M, 0, K, 2, 0, 1, NPIX, cnt, what }
#define MB(M, N, K, cnt, what) { 2, M, N, K, 2, 0, 1, 0, cnt, what }

static const Shape shapes[] = {
    { 0, 64, 64, 64, 0, 0, 0, 0, 1, "square" }, { 0, 256, 256, 256, 0, 0, 0, 0, 1, "square" },
    { 0, 512, 512, 512, 0, 0, 0, 0, 1, "square" }, { 0, 1024, 1024, 1024, 0, 0, 0, 0, 1, "square" },
    RC(64, 12544, 147, 1, "stem 7x7 s2 (im2col chunks)"),
    RN(64, 3136, 64, 1, "1x1 64->64"), RN(64, 3136, 256, 2, "1x1 256->64"),
    RC(64, 3136, 576, 3, "3x3 64 (im2col chunks)"), RN(256, 3136, 64, 4, "1x1 64->256 (+ds)"),
    RN(128, 3136, 256, 1, "1x1 256->128"), RN(128, 784, 512, 3, "1x1 512->128"),
    RC(128, 784, 1152, 4, "3x3 128 (im2col chunks)"), RN(512, 784, 128, 4, "1x1 128->512"),
    RN(512, 784, 256, 1, "1x1 s2 256->512 (im2col)"),
    RN(256, 784, 512, 1, "1x1 512->256"), RN(256, 196, 1024, 5, "1x1 1024->256"),
    RC(256, 196, 2304, 6, "3x3 256 (im2col chunks)"), RN(1024, 196, 256, 6, "1x1 256->1024"),
    RN(1024, 196, 512, 1, "1x1 s2 512->1024 (im2col)"),
    RN(512, 196, 1024, 1, "1x1 1024->512"), RN(512, 49, 2048, 2, "1x1 2048->512"),
    RN(512, 49, 4608, 3, "3x3 512 (im2col)"), RN(2048, 49, 512, 3, "1x1 512->2048"),
    RN(2048, 49, 1024, 1, "1x1 s2 1024->2048 (im2col)"),
    MB(16, 12544, 32, 1, "1x1 32->16"), MB(96, 12544, 16, 1, "1x1 16->96"),
    MB(24, 3136, 96, 1, "1x1 96->24"), MB(144, 3136, 24, 2, "1x1 24->144"),
    MB(24, 3136, 144, 1, "1x1 144->24"), MB(32, 784, 144, 1, "1x1 144->32"),
    MB(192, 784, 32, 3, "1x1 32->192"), MB(32, 784, 192, 2, "1x1 192->32"),
    MB(64, 196, 192, 1, "1x1 192->64"), MB(384, 196, 64, 4, "1x1 64->384"),
    MB(64, 196, 384, 3, "1x1 384->64"), MB(96, 196, 384, 1, "1x1 384->96"),
    MB(576, 196, 96, 3, "1x1 96->576"), MB(96, 196, 576, 2, "1x1 576->96"),
    MB(160, 49, 576, 1, "1x1 576->160"), MB(960, 49, 160, 3, "1x1 160->960"),
    MB(160, 49, 960, 2, "1x1 960->160"), MB(320, 49, 960, 1, "1x1 960->320"),
    MB(1280, 49, 320, 1, "1x1 320->1280"),
    { 3, 128, 256, 256, 0, 2, 2, 0, 4, "seq 128, d 256: X W (B prepacked)" },
    { 3, 128, 1024, 256, 0, 2, 2, 0, 1, "FFN up 256->1024 (B prepacked)" },
    { 3, 128, 256, 1024, 0, 2, 2, 0, 1, "FFN down 1024->256 (B prepacked)" },
    { 3, 128, 128, 64, 0, 1, 0, 0, 4, "Q K^T (transB 1, unpacked)" },
    { 3, 128, 64, 128, 0, 0, 0, 0, 4, "P V (unpacked)" },
};

static const char *const nets[] = { "square", "ResNet-50 convs", "MobileNetV2 1x1 convs",
                                    "transformer layer" };

/* Operand sets: one (warm: operands stay in cache between calls, as a micro-benchmark
 * keeps them) or enough copies to overflow the last-level cache, cycled call by call
 * (cold: as in a network, where each layer's weights and input come from memory). */
#define MAXSETS 64
static const float *sA[MAXSETS], *sB[MAXSETS], *sAp[MAXSETS], *sBp[MAXSETS];
static float *sY[MAXSETS];
static int nsets, cur;
static const float *gA, *gB, *gAp, *gBp, *gbias;
static float *gY, *gW;
static const Shape *gs;
static int gN, gldy;

static void next_set(void)
{
    cur = (cur + 1) % nsets;
    gA = sA[cur]; gB = sB[cur]; gAp = sAp[cur]; gBp = sBp[cur]; gY = sY[cur];
}

static void run_ours(void)
{
    const Shape *s = gs;
    int ldb = s->tb == 1 ? s->K : gN;
    next_set();
    rt_sgemm_f32(s->M, gN, s->K, s->ta == 2 ? gAp : gA, s->K, s->ta, s->tb == 2 ? gBp : gB, ldb,
                 s->tb, gY, gldy, 1.0f, 0.0f, s->epi ? gbias : NULL, s->epi, NULL, 0,
                 s->epi ? RT_ACT_RELU : RT_ACT_NONE, 0.0f, 0.0f, gW);
}

static void run_blas(void)
{
    const Shape *s = gs;
    next_set();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, s->tb == 1 ? CblasTrans : CblasNoTrans, s->M, gN,
                s->K, 1.0f, gA, s->K, gB, s->tb == 1 ? s->K : gN, 0.0f, gY, gldy);
}

static double time_batch(void (*f)(void), int reps)
{
    double t0 = now();
    int r;
    for (r = 0; r < reps; r++) f();
    return (now() - t0) / reps;
}

int main(int argc, char **argv)
{
    int quick = 0, cold = 0, only = -1, rounds, net = -1, a;

    double batch, nf = 0, nto = 0, ntb = 0;
    size_t s;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "quick")) quick = 1;
        if (!strcmp(argv[a], "cold")) cold = 1;
        if (!strncmp(argv[a], "net=", 4)) only = atoi(argv[a] + 4);
    }
    rounds = quick ? 5 : 9;
    batch = quick ? 0.01 : 0.02;
    printf("operands %s\n", cold ? "cold: copies of about 96 MB in all, cycled call by call"
                                   : "warm: the same operands every call");
    for (s = 0; s <= sizeof shapes / sizeof shapes[0]; s++) {
        const Shape *sh = s < sizeof shapes / sizeof shapes[0] ? &shapes[s] : NULL;
        size_t i, na, nb, ny;
        float *A, *B, *Y, *Ap = NULL, *Bp = NULL, *bias;
        ptrdiff_t w;
        double flops, to[9], tb[9], t1;
        int reps, r, N;
        if (sh && only >= 0 && sh->net != only) continue;
        if (!sh || sh->net != net) {
            if (net > 0)
                printf("| **%s** | weighted by calls | **%.1f** | **%.1f** | **%.2f** |\n",
                       nets[net], nf / nto * 1e-9, nf / ntb * 1e-9, ntb / nto);
            if (!sh) break;
            net = sh->net;
            nf = nto = ntb = 0;
            printf("\n%s\n\n| M x N x K | call | ours GFLOP/s | OpenBLAS GFLOP/s | ours / OpenBLAS |\n"
                   "|---|---|---:|---:|---:|\n", nets[net]);
        }
        N = sh->N;
        if (sh->ldy) { /* im2col chunk width as rt_conv_pack.c picks it */
            N = (int)((ptrdiff_t)sh->K * sh->ldy <= 256 * 1024 ? sh->ldy
                      : 256 * 1024 / sh->K / RT_SGEMM_NR * RT_SGEMM_NR);
        }
        na = (size_t)sh->M * sh->K; nb = (size_t)sh->K * N;
        ny = (size_t)sh->M * (sh->ldy ? sh->ldy : N);
        bias = malloc((size_t)(sh->M > N ? sh->M : N) * sizeof *bias);
        for (i = 0; i < (size_t)(sh->M > N ? sh->M : N); i++) bias[i] = 0.01f * (float)(i % 7);
        nsets = 1;
        if (cold) {
            double bytes = 4.0 * (double)(2 * na + 2 * nb + ny);
            nsets = (int)(96e6 / bytes) + 1;
            if (nsets > MAXSETS) nsets = MAXSETS;
        }
        for (r = 0; r < nsets; r++) {
            A = malloc(na * sizeof *A); B = malloc(nb * sizeof *B); Y = malloc(ny * sizeof *Y);
            for (i = 0; i < na; i++) A[i] = (float)((i * 7 + 3) % 13) / 13.0f - 0.5f;
            for (i = 0; i < nb; i++) B[i] = (float)((i * 5 + 1) % 11) / 11.0f - 0.5f;
            memset(Y, 0, ny * sizeof *Y);
            Ap = Bp = NULL;
            if (sh->ta == 2) {
                Ap = malloc((size_t)rt_sgemm_pack_a_size(sh->M, sh->K) * sizeof *Ap);
                rt_sgemm_pack_a(sh->M, sh->K, A, sh->K, 0, Ap);
            }
            if (sh->tb == 2) {
                Bp = malloc((size_t)rt_sgemm_pack_b_size(sh->K, N) * sizeof *Bp);
                rt_sgemm_pack_b(sh->K, N, B, N, 0, Bp);
            }
            sA[r] = A; sB[r] = B; sY[r] = Y; sAp[r] = Ap; sBp[r] = Bp;
        }
        cur = 0;
        w = rt_sgemm_work(sh->M, N, sh->K, sh->ta, sh->tb);
        gbias = bias; gs = sh; gN = N;
        gldy = sh->ldy ? sh->ldy : N;
        gW = w > 0 ? malloc((size_t)w * sizeof *gW) : NULL;
        flops = 2.0 * sh->M * N * sh->K;
        run_ours(); run_blas();
        t1 = time_batch(run_ours, 1);
        reps = (int)(batch / (t1 > 1e-9 ? t1 : 1e-9)) + 1;
        for (r = 0; r < rounds; r++) {
            to[r] = time_batch(run_ours, reps);
            tb[r] = time_batch(run_blas, reps);
        }
        qsort(to, (size_t)rounds, sizeof to[0], cmp);
        qsort(tb, (size_t)rounds, sizeof tb[0], cmp);
        printf("| %dx%dx%d%s | %s | %.1f | %.1f | %.2f |\n", sh->M, N, sh->K,
               sh->ta == 2 ? " A2" : sh->tb == 2 ? " B2" : sh->tb == 1 ? " B^T" : "", sh->what,
               flops / to[rounds / 2] * 1e-9, flops / tb[rounds / 2] * 1e-9,
               tb[rounds / 2] / to[rounds / 2]);
        nf += sh->count * flops; nto += sh->count * to[rounds / 2]; ntb += sh->count * tb[rounds / 2];
        for (r = 0; r < nsets; r++) {
            free((void *)sA[r]); free((void *)sB[r]); free(sY[r]);
            free((void *)sAp[r]); free((void *)sBp[r]);
        }
        free(bias); free(gW);
    }
    printf("\nA2 / B2: operand prepacked (transA / transB 2); B^T: B stored NxK (transB 1).\n"
           "Epilogue: conv rows Y = relu(W x B + bias[row]); transformer X W rows + bias[col], "
           "relu; OpenBLAS: product only.\n");
    return 0;
}
