/* harness.c - the onnxcc contenders' timing program of benchmarks/run.sh.
 *
 * Built once per model and back end together with the compiled model (NET.c + NET_weights.c
 * + runtime files for --target c, NET.o for --target x86_64) and a bench_model.h that run.sh
 * writes next to it:
 *     #include "NET.h"
 *     #define BENCH_N_IN 1             inputs / outputs of NET_run, in its parameter order
 *     #define BENCH_N_OUT 1
 *     #define BENCH_IN_COUNTS { 150528 }      float32 elements of each
 *     #define BENCH_OUT_COUNTS { 1000 }
 *     #define BENCH_CALL(w, in, out) NET_run((void *)(in)[0], (void *)(out)[0])
 *     #define BENCH_WEIGHTS_BYTES N     only with --weights bin (then w is the blob)
 *     #define BENCH_WEIGHTS_ALIGN A
 *
 *   usage: prog MODEL_DIR OUT_DIR|- RUNS BUDGET_S [WEIGHTS.bin]
 * Reads MODEL_DIR/input_K.bin (raw float32), calls NET_run once (plus a warm-up call unless
 * that one took over a second), then RUNS timed calls (RUNS 0: as many as fit in BUDGET_S
 * seconds by the last untimed call, at least one), prints "median_ms X runs N" and writes
 * OUT_DIR/output_K.bin.
 */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_model.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void *alloc_aligned(size_t bytes, size_t align) {
    void *p = NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (posix_memalign(&p, align, bytes ? bytes : 1) != 0) {
        fprintf(stderr, "harness: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static void read_exact(const char *path, void *dst, size_t bytes) {
    FILE *f = fopen(path, "rb");
    size_t got;
    if (!f) {
        fprintf(stderr, "harness: cannot open %s\n", path);
        exit(1);
    }
    got = fread(dst, 1, bytes, f);
    if (got != bytes || fgetc(f) != EOF) {
        fprintf(stderr, "harness: %s does not hold exactly %zu bytes\n", path, bytes);
        exit(1);
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    static const long in_counts[] = BENCH_IN_COUNTS;
    static const long out_counts[] = BENCH_OUT_COUNTS;
    float *in[BENCH_N_IN], *out[BENCH_N_OUT];
    const void *weights = NULL;
    char path[4096];
    double first, one, *times, med;
    long runs, r;
    int k;

    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL_DIR OUT_DIR|- RUNS BUDGET_S [WEIGHTS.bin]\n", argv[0]);
        return 2;
    }
    for (k = 0; k < BENCH_N_IN; k++) {
        in[k] = alloc_aligned((size_t)in_counts[k] * sizeof(float), 64);
        snprintf(path, sizeof path, "%s/input_%d.bin", argv[1], k);
        read_exact(path, in[k], (size_t)in_counts[k] * sizeof(float));
    }
    for (k = 0; k < BENCH_N_OUT; k++) {
        out[k] = alloc_aligned((size_t)out_counts[k] * sizeof(float), 64);
        memset(out[k], 0xff, (size_t)out_counts[k] * sizeof(float)); /* NaN: unwritten shows */
    }
#ifdef BENCH_WEIGHTS_BYTES
    if (argc < 6) {
        fprintf(stderr, "harness: this model takes its weights blob as 5th argument\n");
        return 2;
    }
    {
        void *w = alloc_aligned(BENCH_WEIGHTS_BYTES, BENCH_WEIGHTS_ALIGN);
        read_exact(argv[5], w, BENCH_WEIGHTS_BYTES);
        weights = w;
    }
#endif
    (void)weights;

    first = now_ms();
    if (BENCH_CALL(weights, in, out) != 0) {
        fprintf(stderr, "harness: NET_run returned non-zero\n");
        return 1;
    }
    first = now_ms() - first;
    one = first;
    if (first < 1000.0) { /* warm-up, unless one call already takes a second */
        one = now_ms();
        BENCH_CALL(weights, in, out);
        one = now_ms() - one;
    }
    runs = atol(argv[3]);
    if (runs <= 0) { /* as many as fit in the budget, judged by the last call */
        if (one < 1e-4) one = 1e-4;
        runs = (long)(atof(argv[4]) * 1000.0 / one);
        if (runs < 1) runs = 1;
        if (runs > 100000) runs = 100000;
    }
    times = malloc((size_t)runs * sizeof *times);
    if (!times) return 1;
    for (r = 0; r < runs; r++) {
        double t = now_ms();
        BENCH_CALL(weights, in, out);
        times[r] = now_ms() - t;
    }
    qsort(times, (size_t)runs, sizeof *times, cmp_double);
    med = runs % 2 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    if (strcmp(argv[2], "-") != 0) {
        for (k = 0; k < BENCH_N_OUT; k++) {
            FILE *f;
            snprintf(path, sizeof path, "%s/output_%d.bin", argv[2], k);
            f = fopen(path, "wb");
            if (!f || fwrite(out[k], sizeof(float), (size_t)out_counts[k], f) != (size_t)out_counts[k]) {
                fprintf(stderr, "harness: cannot write %s\n", path);
                return 1;
            }
            fclose(f);
        }
    }
    printf("median_ms %.6f runs %ld\n", med, runs);
    return 0;
}
