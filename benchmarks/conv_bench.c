/* conv_bench.c — GFLOP/s of rt_conv2d_f32 on ResNet-50, MobileNetV2 and SqueezeNet-like
 * layers (one image, weights packed as onnxcc packs them, scratch from rt_conv2d_work).
 *
 *   cc -std=c99 -O3 -march=native -Iruntime benchmarks/conv_bench.c runtime/rt_sgemm_pack.c \
 *      runtime/rt_sgemm.c runtime/rt_conv_pack.c runtime/rt_conv.c runtime/rt_vmath.c -lm -o conv_bench
 *   taskset -c 1 ./conv_bench [FILTER]
 *
 * FILTER, when given, keeps the layers whose name contains it. Each layer runs for at least
 * 0.3 s of this thread's CPU time (robust to a shared machine) after a warm-up; the best of
 * three such runs is printed. With CONV_BENCH_COLD=1 in the environment each call takes the
 * next of as many copies of the packed weights as fill 128 MB, so they come from memory as
 * in a whole model (ResNet-50 streams its 150 MB of packed weights once per image). */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "onnxcc_rt.h"

typedef struct {
    const char *name;
    int C, H, M, k, s, p, group, act;
} Layer;

static const Layer layers[] = {
    { "r50 1x1 64->256 56", 64, 56, 256, 1, 1, 0, 1, 0 },
    { "r50 1x1 64->64 56", 64, 56, 64, 1, 1, 0, 1, 1 },
    { "r50 1x1 256->64 56", 256, 56, 64, 1, 1, 0, 1, 1 },
    { "r50 1x1 1024->256 14", 1024, 14, 256, 1, 1, 0, 1, 1 },
    { "r50 3x3 64->64 56", 64, 56, 64, 3, 1, 1, 1, 1 },
    { "r50 3x3 128->128 28", 128, 28, 128, 3, 1, 1, 1, 1 },
    { "r50 3x3 256->256 14", 256, 14, 256, 3, 1, 1, 1, 1 },
    { "r50 3x3 512->512 7", 512, 7, 512, 3, 1, 1, 1, 1 },
    { "r50 1x1 512->2048 7", 512, 7, 2048, 1, 1, 0, 1, 0 },
    { "r50 1x1 2048->512 7", 2048, 7, 512, 1, 1, 0, 1, 1 },
    { "r50 3x3 s2 128->128 56", 128, 56, 128, 3, 2, 1, 1, 1 },
    { "r50 7x7 s2 3->64 224", 3, 224, 64, 7, 2, 3, 1, 1 },
    { "mnv2 dw3x3 32 112", 32, 112, 32, 3, 1, 1, 32, 2 },
    { "mnv2 dw3x3 s2 96 112", 96, 112, 96, 3, 2, 1, 96, 2 },
    { "mnv2 dw3x3 144 56", 144, 56, 144, 3, 1, 1, 144, 2 },
    { "mnv2 dw3x3 s2 144 56", 144, 56, 144, 3, 2, 1, 144, 2 },
    { "mnv2 dw3x3 192 28", 192, 28, 192, 3, 1, 1, 192, 2 },
    { "mnv2 dw3x3 384 14", 384, 14, 384, 3, 1, 1, 384, 2 },
    { "mnv2 dw3x3 576 14", 576, 14, 576, 3, 1, 1, 576, 2 },
    { "mnv2 dw3x3 s2 576 14", 576, 14, 576, 3, 2, 1, 576, 2 },
    { "mnv2 dw3x3 960 7", 960, 7, 960, 3, 1, 1, 960, 2 },
    { "mnv2 1x1 32->16 112", 32, 112, 16, 1, 1, 0, 1, 0 },
    { "mnv2 1x1 16->96 112", 16, 112, 96, 1, 1, 0, 1, 2 },
    { "mnv2 1x1 24->144 56", 24, 56, 144, 1, 1, 0, 1, 2 },
    { "mnv2 1x1 144->24 56", 144, 56, 24, 1, 1, 0, 1, 0 },
    { "mnv2 1x1 192->32 28", 192, 28, 32, 1, 1, 0, 1, 0 },
    { "mnv2 1x1 384->64 14", 384, 14, 64, 1, 1, 0, 1, 0 },
    { "mnv2 1x1 576->96 14", 576, 14, 96, 1, 1, 0, 1, 0 },
    { "sqz conv1 3x3 s2 3->64 224", 3, 224, 64, 3, 2, 0, 1, 1 },
    { "mnv2 conv1 3x3 s2 3->32 224", 3, 224, 32, 3, 2, 1, 1, 2 },
    { "sqz conv10 1x1 512->1000 13", 512, 13, 1000, 1, 1, 0, 1, 1 },
    { "sqz fire squeeze 1x1 128->16 55", 128, 55, 16, 1, 1, 0, 1, 1 },
    { "sqz fire expand 1x1 16->64 55", 16, 55, 64, 1, 1, 0, 1, 1 },
    { "sqz fire expand 3x3 16->64 55", 16, 55, 64, 3, 1, 1, 1, 1 },
    { "sqz fire expand 3x3 32->128 27", 32, 27, 128, 3, 1, 1, 1, 1 },
    { "sqz fire expand 3x3 48->192 13", 48, 13, 192, 3, 1, 1, 1, 1 },
    { "sqz fire expand 3x3 64->256 13", 64, 13, 256, 3, 1, 1, 1, 1 },
    { "mnist 5x5 1->8 28", 1, 28, 8, 5, 1, 2, 1, 1 },
    { "mnist 5x5 8->16 14", 8, 14, 16, 5, 1, 2, 1, 1 },
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t li;
    int cold = getenv("CONV_BENCH_COLD") && atoi(getenv("CONV_BENCH_COLD")) > 0;
    for (li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const Layer *L = &layers[li];
        ptrdiff_t oH = (L->H + 2 * L->p - L->k) / L->s + 1, oW = oH, cg = L->C / L->group;
        ptrdiff_t nx = (ptrdiff_t)L->C * L->H * L->H, nw = (ptrdiff_t)L->M * cg * L->k * L->k;
        ptrdiff_t ny = L->M * oH * oW, psz, wsz, i, kind;
        double flops = 2.0 * (double)nw * (double)(oH * oW), best = 0.0;
        float *x, *w, *b, *y, *pk = 0, *work;
        ptrdiff_t ncopy = 1, ci = 0;
        int rep;
        if (argc > 1 && !strstr(L->name, argv[1])) continue;
        x = malloc(sizeof(float) * (size_t)nx);
        w = malloc(sizeof(float) * (size_t)nw);
        b = malloc(sizeof(float) * (size_t)L->M);
        y = malloc(sizeof(float) * (size_t)ny);
        for (i = 0; i < nx; i++) x[i] = (float)(i % 17) * 0.01f;
        for (i = 0; i < nw; i++) w[i] = (float)(i % 13) * 0.01f - 0.05f;
        for (i = 0; i < L->M; i++) b[i] = 0.1f;
        kind = rt_conv2d_pack_kind(L->C, L->M, L->k, L->k, L->group, oH, oW, L->s, L->s, 1, 1);
        psz = rt_conv2d_pack_w_size(L->C, L->M, L->k, L->k, L->group, kind);
        if (psz > 0) {
            if (cold) ncopy = (ptrdiff_t)(128 << 20) / (psz * 4) + 1;
            pk = malloc(sizeof(float) * (size_t)(psz * ncopy));
            for (i = 0; i < ncopy; i++)
                rt_conv2d_pack_w(L->C, L->M, L->k, L->k, L->group, kind, w, pk + i * psz);
        }
        wsz = rt_conv2d_work(L->C, L->H, L->H, L->M, L->k, L->k, oH, oW, L->s, L->s, L->p, L->p,
                             1, 1, L->group, kind);
        work = wsz ? malloc(sizeof(float) * (size_t)wsz) : 0;
        for (rep = 0; rep < 4; rep++) {
            long it = 0;
            double t0 = now(), t;
            do {
                rt_conv2d_f32(x, pk ? pk + psz * (ci++ % ncopy) : w, b, y, 1, L->C, L->H, L->H, L->M, L->k, L->k, oH,
                              oW, L->s, L->s, L->p, L->p, 1, 1, L->group, 0, L->act, 0.0f, 6.0f,
                              kind, work);
                it++;
                t = now() - t0;
            } while (t < (rep ? 0.3 : 0.1));
            if (rep && flops * (double)it / t > best) best = flops * (double)it / t;
        }
        printf("%-34s %8.2f GFLOP/s  (%.1f MFLOP, scratch %ld floats)\n", L->name, best * 1e-9,
               flops * 1e-6, (long)wsz);
        free(x);
        free(w);
        free(b);
        free(y);
        free(pk);
        free(work);
    }
    return 0;
}
