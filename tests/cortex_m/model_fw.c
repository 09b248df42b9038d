/* model_fw.c — runs any onnxcc model with float inputs and outputs (compiled with --arena
 * extern) on pseudo-random inputs that every build computes alike (a 32-bit LCG whose
 * values convert to float exactly). Built for the host with -DMODEL_DUMP it prints the
 * outputs' bit patterns as a C header (model_expect.h); built as firmware (startup.c,
 * samples/firmware) it compares its outputs with that header (|got - want| <= 1e-5 +
 * 1e-3 |want|, the unit tests' tolerance for kernels whose summation order differs per
 * target) and prints one line per output. models.sh writes model_io.h (buffers, sizes and
 * the call) from the generated header's prototype. */
#include <stdint.h>
#include <string.h>
#include "model_io.h"

static union {
    double d;
    unsigned char bytes[MODEL_ARENA_BYTES];
} arena __attribute__((aligned(MODEL_ARENA_ALIGN)));

static void fill_inputs(void)
{
    uint32_t s = 12345u;
    for (int k = 0; k < MODEL_NIN; k++)
        for (long i = 0; i < in_n[k]; i++) {
            s = s * 1664525u + 1013904223u;
            ins[k][i] = (float)(s >> 8) * (1.0f / 8388608.0f) - 1.0f;
        }
}

#if defined(MODEL_DUMP)
#include <stdio.h>

int main(void)
{
    fill_inputs();
    if (MODEL_CALL(arena.bytes) != 0) return 1;
    puts("/* model_expect.h — the host build's outputs (model_fw.c -DMODEL_DUMP) */");
    for (int k = 0; k < MODEL_NOUT; k++) {
        printf("static const uint32_t expect%d[%ld] = {", k, out_n[k]);
        for (long i = 0; i < out_n[k]; i++) {
            uint32_t b;
            memcpy(&b, &outs[k][i], 4);
            printf("%s0x%08lxU,", i % 8 ? " " : "\n   ", (unsigned long)b);
        }
        puts("\n};");
    }
    printf("static const uint32_t *const expect[%d] = {", MODEL_NOUT);
    for (int k = 0; k < MODEL_NOUT; k++) printf(" expect%d,", k);
    puts(" };");
    return 0;
}

#else
#include "model_expect.h"

void fw_puts(const char *s);

static char *put_uint(char *p, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_hex(char *p, uint32_t v)
{
    for (int i = 28; i >= 0; i -= 4) *p++ = "0123456789abcdef"[(v >> i) & 15];
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

int main(void)
{
    fill_inputs();
    if (MODEL_CALL(arena.bytes) != 0) return 1;
    int bad_outputs = 0;
    for (int k = 0; k < MODEL_NOUT; k++) {
        unsigned long bad = 0;
        long first = -1;
        for (long i = 0; i < out_n[k]; i++) {
            float want, got = outs[k][i];
            memcpy(&want, &expect[k][i], 4);
            float d = got > want ? got - want : want - got;
            float tol = 1e-5f + 1e-3f * (want < 0 ? -want : want);
            if (!(d <= tol) && !(got != got && want != want)) {
                if (first < 0) first = i;
                bad++;
            }
        }
        char line[200], *p = line;
        p = put_str(p, "output ");
        p = put_uint(p, (unsigned long)k);
        p = put_str(p, ": ");
        p = put_uint(p, (unsigned long)out_n[k]);
        p = put_str(p, " values, ");
        p = put_uint(p, bad);
        p = put_str(p, " outside the tolerance");
        if (first >= 0) {
            uint32_t g;
            memcpy(&g, &outs[k][first], 4);
            p = put_str(p, "; first at ");
            p = put_uint(p, (unsigned long)first);
            p = put_str(p, ": 0x");
            p = put_hex(p, g);
            p = put_str(p, ", host 0x");
            p = put_hex(p, expect[k][first]);
        }
        p = put_str(p, "\n");
        *p = 0;
        fw_puts(line);
        bad_outputs += bad != 0;
    }
    return bad_outputs ? 1 : 0;
}
#endif
