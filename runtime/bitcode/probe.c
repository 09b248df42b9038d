/* probe.c — configure-time check (runtime/bitcode/meson.build): can clang-19 compile C
 * against this target's C library headers? The runtime sources include these. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

float rt_probe(const float *x, size_t n);
float rt_probe(const float *x, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++) s += expf(x[i]);
    return s;
}
