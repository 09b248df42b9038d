/* codegen.h — the back ends' entry points. A back end reads a KProg (kir.h) and writes
 * files; it never sees an ONNX node. */
#ifndef ONNXCC_CODEGEN_H
#define ONNXCC_CODEGEN_H

#include "../compiler/kir.h"

/* c/cgen_c.c: portable C99 back end.
 * Writes OUTDIR/NAME.h, OUTDIR/NAME.c, OUTDIR/NAME_weights.c and the runtime files the
 * program calls (onnxcc_rt.h + rt_*.c), each through write_file_atomic. 0, or -1 with *err
 * (malloc'd) naming what failed. */
int cgen_c_write(const KProg *p, const char *outdir, char **err);
/* Source of a test harness (C99 main) for `onnxcc check`: reads each input from a raw
 * binary file (host layout, argv[1..ninputs]), runs NAME_run, writes each output to a raw
 * binary file (the following argv entries). Returns a malloc'd string. */
char *cgen_c_harness(const KProg *p);

/* c/cgen_c.c: the text of NAME.h alone (NAME_run prototype, NAME_ARENA_BYTES ...), so a
 * back end that writes an object file gives its users exactly the C back end's header.
 * Returns a malloc'd string. */
char *cgen_c_header(const KProg *p);

/* llvm/cgen_llvm.c: LLVM back end for CPUs. Writes OUTDIR/NAME.o (weights inside as
 * constant data, needs only libm) and OUTDIR/NAME.h (cgen_c_header); with emit_llvm also
 * OUTDIR/NAME.ll (the optimised module). 0, or -1 with *err (malloc'd). Built only with
 * the meson option llvm; otherwise it fails with a message saying how to rebuild. */
typedef struct LlvmOptions {
    const char *target;    /* target name, for messages ("x86_64") */
    const char *triple;    /* "x86_64-unknown-linux-gnu" */
    const char *cpu;       /* NULL: generic; "native": the host's CPU and features */
    const char *features;  /* "+avx2,-fma" or NULL */
    int opt_level;         /* 0..3; the pass pipeline default<On> */
    int emit_llvm;
} LlvmOptions;
int cgen_llvm_write(const KProg *p, const char *outdir, const LlvmOptions *o, char **err);
int cgen_llvm_available(void);   /* 1 when onnxcc was built with the LLVM back end */
/* llvm/cgen_llvm.c + llvm/nvptx_host.c: target nvptx. Writes OUTDIR/NAME.ptx (one kernel
 * per node phase, parallel loops mapped to threads), OUTDIR/NAME_host.c (CUDA driver API
 * host code with the PTX embedded; same NAME_run as the C header) and OUTDIR/NAME.h
 * (cgen_c_header plus NAME_init/NAME_free). o->cpu: "sm_80" (default), "sm_90" ... */
int cgen_nvptx_write(const KProg *p, const char *outdir, const LlvmOptions *o, char **err);

/* hls/cgen_hls.c: HLS C back end (Vitis HLS style; the C printer with overrides).
 * Writes OUTDIR/NAME_hls.h, NAME_hls.c (top function NAME_hls taking fixed-size arrays),
 * NAME_hls.tcl and, with test data, the C-simulation testbench NAME_tb.c. */
typedef struct HlsOptions {
    int interface_mem;     /* 1: ap_memory ports; 0: m_axi + s_axilite control */
    int fixed;             /* float tensors as fixed<fx_w,fx_i> (saturating, rounding) */
    int fx_w, fx_i;
    int unroll;            /* > 1: UNROLL factor on innermost loops + ARRAY_PARTITION */
    const char *part;      /* Tcl set_part (NULL: a default part) */
    double clock_ns;       /* Tcl create_clock period (0: 10 ns) */
    const void *const *tb_in;  /* testbench data per input/output, host layout (float for */
    const void *const *tb_out; /* float tensors); tb_out NULL: no testbench */
    double tb_atol, tb_rtol;
    int no_tcl;            /* check: sources only */
} HlsOptions;
int hls_parse_type(const char *s, HlsOptions *o);  /* "float" | "fixed<W,I>"; 0 or -1 */
int cgen_hls_write(const KProg *p, const char *outdir, const HlsOptions *o, char **err);
/* Every construct of p the HLS back end cannot print (data-dependent loop bounds, kernel
 * calls, half floats), one line each naming the node; NULL if none. malloc'd. */
char *cgen_hls_check(const KProg *p, const HlsOptions *o);
/* `onnxcc check` harness: raw files in, NAME_hls, raw files out (float for fixed). */
char *cgen_hls_harness(const KProg *p, const HlsOptions *o);
/* Per-layer table: MACs, trip counts, ROM/BRAM bytes, cycles at II=1. malloc'd. */
char *cgen_hls_report(const KProg *p, const HlsOptions *o);

/* runtime (generated at build time from runtime/): the embedded runtime sources. */
const char *rt_source(const char *file);   /* text of e.g. "rt_sgemm.c", or NULL */
/* The index-th source file a kernel needs ("rt_sgemm.c", "rt_sgemm_pack.c" for "rt_sgemm_f32"),
 * or NULL past the last one. */
const char *rt_kernel_file(const char *kernel, int index);

#endif
