/* fuzz_common.h — what the libFuzzer targets share: the input written to a file of this
 * process (the loader reads paths), and a scratch folder for compile's output. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fuzz_file(const char *ext, const uint8_t *data, size_t size)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/onnxcc_fuzz_%ld%s",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid(), ext);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

#endif
