/* fuzz_tensor.c — libFuzzer target: a TensorProto file through load_tensor_file (test data
 * and --freeze NAME=@FILE read tensors this way). */
#include "fuzz_common.h"
#include "onnxcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(".pb", data, size);
    Pool *p = pool_new();
    char *err = NULL;
    Value *v = load_tensor_file(p, path, &err);
    if (!v && (!err || strchr(err, '\n'))) abort();
    pool_free(p);
    return 0;
}
