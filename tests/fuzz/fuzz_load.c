/* fuzz_load.c — libFuzzer target: a ModelProto through the loader and shape inference
 * (load_model, shape_infer). Any input must end in a graph or one clean error line. */
#include "fuzz_common.h"
#include "onnxcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(".onnx", data, size);
    Pool *p = pool_new();
    char *err = NULL;
    Graph *g = load_model(p, path, NULL, &err);
    if (g) {
        if (shape_infer(g) != 0 && (!g->err || strchr(g->err, '\n'))) abort();
    } else if (!err || strchr(err, '\n')) {
        abort();   /* an error must be one line */
    }
    pool_free(p);
    return 0;
}
