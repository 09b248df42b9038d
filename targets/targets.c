/* targets.c — owns the descriptions of where generated code runs (runtime kernels available,
 * alignment) and the cost model of each runtime kernel, so `onnxcc report` can count work
 * done inside a kernel call without any operator knowing about reports.
 *
 * Targets are a table of designated-initializer structs (QBE's habit): adding a target is
 * adding a row. */
#include <string.h>
#include "../compiler/onnxcc.h"

static const char *const c_kernels[] = { "rt_sgemm_f32", "rt_conv2d_f32",
    "rt_vmath_f32", "rt_vact_f32", "rt_softmax_f32", "rt_layernorm_f32",
    "rt_maxpool2d_f32", "rt_avgpool2d_f32", "rt_globalpool_f32",
    "rt_str_from_f32", "rt_str_to_f32", "rt_str_normalize", NULL };

/* LLVM targets: the C target's kernels where onnxcc was built with the runtime compiled to
 * bitcode for that target (runtime/bitcode/meson.build): the back end links the kernels
 * into the object, which still needs nothing beyond libm. Without it every operator lowers
 * to a loop nest there. */
#if !defined(ONNXCC_HAVE_LLVM) || !defined(ONNXCC_RT_BITCODE_X86_64) || \
    !defined(ONNXCC_RT_BITCODE_AARCH64) || !defined(ONNXCC_RT_BITCODE_CORTEX_M)
static const char *const no_kernels[] = { NULL };
#endif
#if defined(ONNXCC_HAVE_LLVM) && defined(ONNXCC_RT_BITCODE_X86_64)
#define X86_64_KERNELS c_kernels
#else
#define X86_64_KERNELS no_kernels
#endif
#if defined(ONNXCC_HAVE_LLVM) && defined(ONNXCC_RT_BITCODE_AARCH64)
#define AARCH64_KERNELS c_kernels
#else
#define AARCH64_KERNELS no_kernels
#endif
#if defined(ONNXCC_HAVE_LLVM) && defined(ONNXCC_RT_BITCODE_CORTEX_M)
#define CORTEX_M_KERNELS c_kernels
#else
#define CORTEX_M_KERNELS no_kernels
#endif

/* AArch64 is checked on an x86-64 host: the harness is cross-compiled and linked static
 * (no target sysroot needed at run time), then run under qemu-user. */
static const char *const aarch64_ldflags[] = { "-static", NULL };
static const char *const aarch64_exec[] = { "qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", NULL };

/* HLS has no runtime kernels: MatMul, Gemm and Conv lower to loop nests a synthesis tool
 * can schedule. */
static const char *const hls_kernels[] = { NULL };

/* NVPTX has no runtime kernels: MatMul, Gemm and Conv become loop nests whose parallel
 * loops map to GPU threads. check links the host code against the driver's own soname,
 * so a machine with a driver but no toolkit (no libcuda.so symlink) still links. */
static const char *const nvptx_kernels[] = { NULL };
static const char *const nvptx_ldflags[] = { "-l:libcuda.so.1", NULL };

static const Target targets[] = {
    {
        .name = "c",
        .kernels = c_kernels,
        .align = 64,   /* a cache line: also enough for any SIMD load a C compiler emits */
        .backend = BACKEND_C,
    },
    {
        .name = "x86_64",
        .kernels = X86_64_KERNELS,
        .align = 64,   /* AVX-512 vectors and cache lines */
        .backend = BACKEND_LLVM,
        .triple = "x86_64-unknown-linux-gnu",
        .cpu = "x86-64",
    },
    {
        .name = "aarch64",
        .kernels = AARCH64_KERNELS,
        .align = 64,
        .backend = BACKEND_LLVM,
        .triple = "aarch64-unknown-linux-gnu",
        .cpu = "generic",
        .check_cc = "aarch64-linux-gnu-gcc",
        .check_ldflags = aarch64_ldflags,
        .check_exec = aarch64_exec,
    },
    /* Cortex-M: Thumb-2 objects with the hard-float ABI (eabihf; the triple must be the
     * normalised four-part one: LLVM reads "thumbv7em-none-eabihf" as OS "eabihf" and falls
     * back to the soft-float calling convention), for firmware linked by
     * arm-none-eabi-gcc; LLVM's default FPU of each CPU is the one its -mfpu names:
     * FPv4-SP-D16 (M4), FPv5-D16 (M7), FPv5-SP-D16 (M33). Alignment: no cache on the M4
     * and M33 (a double's 8 bytes is all any load needs, and RAM is scarce); the M7's
     * cache lines are 32 bytes. No check/bench: the object runs on a board (or QEMU
     * system emulation, samples/firmware/run_object.sh), not as a hosted program. */
#define CORTEX_M_NO_CHECK "its objects are firmware: they need a board's startup and " \
    "linker script, not a hosted harness (see samples/firmware/run_object.sh)"
    {
        .name = "cortex-m4",
        .kernels = CORTEX_M_KERNELS,
        .align = 8,
        .backend = BACKEND_LLVM,
        .triple = "thumbv7em-unknown-none-eabihf",
        .cpu = "cortex-m4",
        .no_check = CORTEX_M_NO_CHECK,
    },
    {
        .name = "cortex-m7",
        .kernels = CORTEX_M_KERNELS,
        .align = 32,
        .backend = BACKEND_LLVM,
        .triple = "thumbv7em-unknown-none-eabihf",
        .cpu = "cortex-m7",
        .no_check = CORTEX_M_NO_CHECK,
    },
    {
        .name = "cortex-m33",
        .kernels = CORTEX_M_KERNELS,
        .align = 8,
        .backend = BACKEND_LLVM,
        .triple = "thumbv8m.main-unknown-none-eabihf",
        .cpu = "cortex-m33",
        .no_check = CORTEX_M_NO_CHECK,
    },
    {
        .name = "hls",
        .kernels = hls_kernels,
        .align = 8,    /* element alignment only: the arena is on-chip memory, not cache lines */
        .backend = BACKEND_HLS,
    },
    {
        .name = "nvptx",
        .kernels = nvptx_kernels,
        .align = 64,   /* element access only, but keeps tensors on 64-byte sectors */
        .backend = BACKEND_NVPTX,
        .triple = "nvptx64-nvidia-cuda",
        .cpu = "sm_80",
        .check_ldflags = nvptx_ldflags,
    },
};

const Target *target_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (!strcmp(targets[i].name, name)) return &targets[i];
    return NULL;
}

const Target *target_at(int i)
{
    return i >= 0 && (size_t)i < sizeof targets / sizeof targets[0] ? &targets[i] : NULL;
}

int target_has_kernel(const Target *t, const char *kernel)
{
    if (!t || !t->kernels || !kernel) return 0;
    for (const char *const *k = t->kernels; *k; k++)
        if (!strcmp(*k, kernel)) return 1;
    return 0;
}

const char *target_names(void)
{
    /* Kept in sync with the table by hand is fragile; build it once instead. */
    static char buf[256];
    if (!buf[0]) {
        size_t len = 0;
        for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
            size_t n = strlen(targets[i].name);
            if (len + n + 3 >= sizeof buf) break;
            if (i) { memcpy(buf + len, ", ", 2); len += 2; }
            memcpy(buf + len, targets[i].name, n);
            len += n;
        }
        buf[len] = 0;
    }
    return buf;
}

/* Kernel costs. The integer arguments of each kernel call follow the argument order that
 * runtime/rt_kernels.def documents; a cost function reads only KA_INT arguments, by their
 * rank among the integer arguments, so buffer arguments may be added or moved freely. */
typedef int64_t (*KernelCostFn)(const int64_t *iv, int niv);

/* rt_sgemm_f32: ints M, N, K (then transposition flags / leading dimensions ...).
 * One multiply-accumulate per (m, n, k). */
static int64_t gemm_cost(const int64_t *iv, int niv)
{
    if (niv < 3) return -1;
    return iv[0] * iv[1] * iv[2];
}

/* rt_conv2d_f32: ints N, C, H, W, M, kH, kW, oH, oW, ..., group (last of the known ones).
 * One MAC per output element per (C/group) x kH x kW window tap. */
static int64_t conv2d_cost(const int64_t *iv, int niv)
{
    if (niv < 9) return -1;
    int64_t n = iv[0], c = iv[1], m = iv[4], kh = iv[5], kw = iv[6], oh = iv[7], ow = iv[8];
    int64_t group = niv > 15 ? iv[15] : 1;
    if (group <= 0) group = 1;
    return n * m * oh * ow * (c / group) * kh * kw;
}

/* rt_vmath.c: elementwise math, softmax: no multiply-accumulates; rt_layernorm_f32 (ints
 * rows, cols): one per element (the variance sum). */
static int64_t no_macs(const int64_t *iv, int niv)
{
    (void)iv;
    (void)niv;
    return 0;
}

static int64_t layernorm_cost(const int64_t *iv, int niv)
{
    if (niv < 2) return -1;
    return iv[0] * iv[1];
}

static const struct KernelCost {
    const char *name;
    KernelCostFn cost;
} kernel_costs[] = {
    { .name = "rt_sgemm_f32", .cost = gemm_cost },
    { .name = "rt_conv2d_f32", .cost = conv2d_cost },
    { .name = "rt_vmath_f32", .cost = no_macs },
    { .name = "rt_vact_f32", .cost = no_macs },
    { .name = "rt_softmax_f32", .cost = no_macs },
    { .name = "rt_layernorm_f32", .cost = layernorm_cost },
    /* pools: compares and adds, no multiply-accumulates */
    { .name = "rt_maxpool2d_f32", .cost = no_macs },
    { .name = "rt_avgpool2d_f32", .cost = no_macs },
    { .name = "rt_globalpool_f32", .cost = no_macs },
    /* strings: byte work, no arithmetic */
    { .name = "rt_str_from_f32", .cost = no_macs },
    { .name = "rt_str_to_f32", .cost = no_macs },
    { .name = "rt_str_normalize", .cost = no_macs },
};

int64_t kernel_macs(const char *kernel, const KArg *args, int nargs)
{
    int64_t iv[32];
    int niv = 0;
    for (int i = 0; i < nargs && niv < 32; i++)
        if (args[i].kind == KA_INT) iv[niv++] = args[i].i;
    for (size_t i = 0; i < sizeof kernel_costs / sizeof kernel_costs[0]; i++)
        if (!strcmp(kernel_costs[i].name, kernel)) return kernel_costs[i].cost(iv, niv);
    return -1;
}
