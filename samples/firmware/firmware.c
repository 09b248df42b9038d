/* firmware.c — the digits sample as firmware: runs the onnxcc-compiled model (generated
 * with `--arena extern`) on the first held-out digits and prints each prediction and its
 * ten probabilities. The arena is the firmware's own object, placed by the linker script
 * (section .arena) and aligned as the generated header asks; the weights stay const, in
 * flash. The same file builds for the host (plain stdio), so run.sh can compare the two
 * outputs. No malloc, no printf: numbers are formatted here. */
#include <stdint.h>
#include <string.h>
#include "digits.h"
#include "digits_input.h"   /* written by run.sh: DIGITS_N, digits_bits[], digits_labels[] */

#if defined(__arm__)
void fw_puts(const char *s);
#define ARENA_SECTION __attribute__((section(".arena")))
#else
#include <stdio.h>
static void fw_puts(const char *s)
{
    fputs(s, stdout);
}
#define ARENA_SECTION
#endif

/* C99 has no _Alignas: the union aligns for any scalar, the GNU attribute to the header's
 * DIGITS_ARENA_ALIGN */
static union {
    double d;
    unsigned char bytes[DIGITS_ARENA_BYTES];
} arena ARENA_SECTION __attribute__((aligned(DIGITS_ARENA_ALIGN)));

static char *put_uint(char *p, unsigned long v, int min_digits)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v || n < min_digits);
    while (n) *p++ = tmp[--n];
    return p;
}

/* v with six decimals, rounded: "-0.012345" */
static char *put_fixed6(char *p, float v)
{
    double d = (double)v * 1e6;
    long s = (long)(d < 0 ? d - 0.5 : d + 0.5);
    if (s < 0) {
        *p++ = '-';
        s = -s;
    }
    p = put_uint(p, (unsigned long)s / 1000000UL, 1);
    *p++ = '.';
    return put_uint(p, (unsigned long)s % 1000000UL, 6);
}

int main(void)
{
    static float image[1][64];
    static float probs[1][10];
    char line[256];
    int correct = 0;
    for (int k = 0; k < DIGITS_N; k++) {
        for (int i = 0; i < 64; i++) memcpy(&image[0][i], &digits_bits[k * 64 + i], 4);
        if (digits_run(arena.bytes, (const float (*)[64])image, probs) != 0) return 1;
        int best = 0;
        for (int c = 1; c < 10; c++)
            if (probs[0][c] > probs[0][best]) best = c;
        correct += best == digits_labels[k];
        char *p = line;
        memcpy(p, "digit ", 6);
        p = put_uint(p + 6, (unsigned long)k, 1);
        memcpy(p, " label ", 7);
        p = put_uint(p + 7, digits_labels[k], 1);
        memcpy(p, " predicted ", 11);
        p = put_uint(p + 11, (unsigned long)best, 1);
        *p++ = ':';
        for (int c = 0; c < 10; c++) {
            *p++ = ' ';
            p = put_fixed6(p, probs[0][c]);
        }
        *p++ = '\n';
        *p = 0;
        fw_puts(line);
    }
    char *p = line;
    memcpy(p, "correct ", 8);
    p = put_uint(p + 8, (unsigned long)correct, 1);
    *p++ = '/';
    p = put_uint(p, DIGITS_N, 1);
    memcpy(p, ", arena ", 8);
    p = put_uint(p + 8, DIGITS_ARENA_BYTES, 1);
    memcpy(p, " bytes\n", 8);
    fw_puts(line);
    return 0;
}
