/* manifest.c — owns `compile --manifest FILE`: the list of the files one compile wrote,
 * for build systems. Which runtime files a model needs is known only after compiling it,
 * so a build that adds the generated sources to its own targets (the CMake package's
 * onnxcc_add_model, a make rule) reads them from here instead of guessing. */
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int manifest_write(const char *path, const char *outdir)
{
    int n;
    const char *const *written = out_log(&n);
    const char **names = malloc(sizeof *names * (size_t)(n + 1));
    if (!names) return -1;
    size_t dl = strlen(outdir);
    for (int i = 0; i < n; i++) {
        /* the back ends write "OUTDIR/FILE": the manifest names FILE, relative to OUTDIR,
         * so it stays valid when the build tree moves */
        const char *f = written[i];
        if (!strncmp(f, outdir, dl) && f[dl] == '/') f += dl + 1;
        names[i] = f;
    }
    /* sorted: the same model and options give the same bytes */
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < n; i++) sb_printf(&sb, "%s\n", names[i]);
    free(names);
    int rc = write_file_atomic(path, sb.buf ? sb.buf : "", sb.len);
    sb_free(&sb);
    return rc;
}
