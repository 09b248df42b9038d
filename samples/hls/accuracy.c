/* accuracy.c — the digits sample in fixed point against float: runs the C back end's
 * digits_run (float) and the HLS top function digits_hls (built with --hls-type fixed<W,I>)
 * on the 360 held-out digits and prints the largest absolute difference of the output
 * probabilities and the accuracy of each.
 *   cc -std=c99 -I C_OUT -I HLS_OUT C_OUT/digits.c C_OUT/digits_weights.c C_OUT/rt_sgemm.c C_OUT/rt_sgemm_pack.c HLS_OUT/digits_hls.c accuracy.c -lm
 *   ./a.out samples/digits
 * Exits non-zero if the fixed-point accuracy falls more than 2 points below float. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "digits.h"
#include "digits_hls.h"

#define MAX_DIGITS 2000

static float images[MAX_DIGITS][1][64];
static unsigned char labels[MAX_DIGITS];

static long read_all(const char *dir, const char *file, void *buf, long cap)
{
    char path[1024];
    FILE *f;
    long n;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    n = (long)fread(buf, 1, (size_t)cap, f);
    fclose(f);
    return n;
}

static int argmax(const float *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "samples/digits";
    long nb = read_all(dir, "heldout.bin", images, sizeof images);
    long nl = read_all(dir, "heldout_labels.bin", labels, sizeof labels);
    long n, i;
    int k, ok_f = 0, ok_x = 0;
    double maxerr = 0, sumerr = 0;
    const double scale = ldexp(1.0, ONNXCC_FX_FRAC_BITS);
    unsigned one = 1;
    if (nb <= 0 || nl <= 0) return 1;
    if (*(unsigned char *)&one != 1) {
        fprintf(stderr, "accuracy: big-endian hosts would need a byte swap of heldout.bin\n");
        return 1;
    }
    n = nb / (long)sizeof images[0];
    if (nl < n) n = nl;
    for (i = 0; i < n; i++) {
        float pf[1][10], px[10];
        onnxcc_fx_t in[64], out[10];
        const float(*img)[64] = (const float(*)[64])images[i];
        digits_run(img, pf);
        /* pixels/16 lie in [0, 1]: representable in any fixed<W,I> with I >= 2 */
        for (k = 0; k < 64; k++)
            in[k] = (onnxcc_fx_t)floor((double)images[i][0][k] * scale + 0.5);
        digits_hls(in, out);
        for (k = 0; k < 10; k++) {
            double e;
            px[k] = (float)((double)out[k] / scale);
            e = fabs((double)px[k] - (double)pf[0][k]);
            if (e > maxerr) maxerr = e;
            sumerr += e;
        }
        ok_f += argmax(pf[0], 10) == labels[i];
        ok_x += argmax(px, 10) == labels[i];
    }
    printf("digits: %ld held-out digits, fixed point with %d fractional bits\n", n,
           ONNXCC_FX_FRAC_BITS);
    printf("max abs error vs float: %.6f (mean %.6f)\n", maxerr, sumerr / (double)(n * 10));
    printf("accuracy: float %.1f%%, fixed %.1f%%\n", 100.0 * ok_f / (double)n,
           100.0 * ok_x / (double)n);
    return ok_x + n / 50 >= ok_f ? 0 : 1;
}
