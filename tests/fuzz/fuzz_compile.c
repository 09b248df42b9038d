/* fuzz_compile.c — libFuzzer target: a ModelProto through the whole compile pipeline to C
 * (driver_compile: load, shapes, passes, lowering, plan, C back end) into a scratch folder.
 * Any input must compile or fail with one error line. */
#include "fuzz_common.h"
#include "onnxcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char outdir[128];
    static FILE *sink;
    if (!sink) {
        snprintf(outdir, sizeof outdir, "%s/onnxcc_fuzz_out_%ld",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
        sink = fopen("/dev/null", "w");
        if (!sink) abort();
    }
    DriverOpts o;
    memset(&o, 0, sizeof o);
    o.model = fuzz_file(".onnx", data, size);
    o.outdir = outdir;
    o.name = "m";
    o.target = "c";
    o.out = o.err = sink;
    o.rtol = 1e-3;
    o.atol = 1e-5;
    driver_compile(&o);
    return 0;
}
