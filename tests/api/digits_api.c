/* digits_api.c — a user of each firmware API variant of the compiled digits sample, chosen
 * at build time (run.sh builds it six times):
 *   -DAPI_DEFAULT   digits_run(input, output), static arena, const weights
 *   -DAPI_EXTERN    digits_run(arena, input, output)            (--arena extern)
 *   -DAPI_BIN       digits_run(weights, input, output)          (--weights bin)
 *   -DAPI_IO        digits_input_input() / digits_output_...()  (--io in-arena)
 *   -DAPI_SECT      the default API with --section-arena/--section-weights
 *   -DAPI_ALL       the three variants at once
 * Runs the first 8 held-out digits and prints the probabilities as hex floats, so run.sh
 * can require bit-identical output from every variant. Also checks the alignment the
 * header promises. usage: digits_api HELDOUT.BIN [WEIGHTS.BIN] */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "digits.h"

#if defined(API_EXTERN) || defined(API_ALL)
static union {
    double d;
    unsigned char b[DIGITS_ARENA_BYTES];
} arena __attribute__((aligned(DIGITS_ARENA_ALIGN)));
#endif
#if defined(API_BIN) || defined(API_ALL)
static union {
    double d;
    unsigned char b[DIGITS_WEIGHTS_BYTES];
} weights __attribute__((aligned(DIGITS_WEIGHTS_ALIGN)));
#endif

static float images[8][1][64];

static int aligned(const void *p)
{
    return (uintptr_t)p % DIGITS_ARENA_ALIGN == 0;
}

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    if (!f || fread(images, sizeof images, 1, f) != 1) {
        fprintf(stderr, "usage: digits_api HELDOUT.BIN [WEIGHTS.BIN]\n");
        return 2;
    }
    fclose(f);
#if defined(API_BIN) || defined(API_ALL)
    f = argc > 2 ? fopen(argv[2], "rb") : NULL;
    if (!f || fread(weights.b, 1, sizeof weights.b, f) != DIGITS_WEIGHTS_BYTES ||
        fgetc(f) != EOF) {
        fprintf(stderr, "cannot read %d bytes of weights\n", DIGITS_WEIGHTS_BYTES);
        return 2;
    }
    fclose(f);
#endif
    for (int k = 0; k < 8; k++) {
        float probs[1][10];
        int rc;
#if defined(API_DEFAULT) || defined(API_SECT)
        rc = digits_run((const float (*)[64])images[k], probs);
#elif defined(API_EXTERN)
        rc = digits_run(arena.b, (const float (*)[64])images[k], probs);
#elif defined(API_BIN)
        rc = digits_run(weights.b, (const float (*)[64])images[k], probs);
#elif defined(API_IO)
        /* the static arena, reached through the accessors, is aligned as promised */
        if (!aligned(digits_input_input()) || DIGITS_INPUT_INPUT_OFFSET % 4 != 0) {
            fprintf(stderr, "input accessor not aligned\n");
            return 1;
        }
        memcpy(digits_input_input(), images[k], sizeof images[k]);
        rc = digits_run();
        memcpy(probs, digits_output_probabilities(), sizeof probs);
#elif defined(API_ALL)
        if ((unsigned char *)digits_input_input(arena.b) != arena.b + DIGITS_INPUT_INPUT_OFFSET) {
            fprintf(stderr, "input accessor disagrees with DIGITS_INPUT_INPUT_OFFSET\n");
            return 1;
        }
        memcpy(digits_input_input(arena.b), images[k], sizeof images[k]);
        rc = digits_run(arena.b, weights.b);
        memcpy(probs, digits_output_probabilities(arena.b), sizeof probs);
#else
#error "define one of API_DEFAULT, API_EXTERN, API_BIN, API_IO, API_SECT, API_ALL"
#endif
        if (rc != 0) return 1;
        for (int c = 0; c < 10; c++) printf("%a%c", (double)probs[0][c], c == 9 ? '\n' : ' ');
    }
    (void)aligned;
    return 0;
}
