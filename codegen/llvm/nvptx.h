/* nvptx.h — private to the NVPTX back end (cgen_llvm.c builds the kernels, nvptx_host.c
 * prints the host code): how a KProg's functions become GPU kernels, decided once so the
 * PTX and the launches in NAME_host.c cannot disagree. */
#ifndef ONNXCC_NVPTX_H
#define ONNXCC_NVPTX_H

#include "../codegen.h"

/* Threads per block of a mapped kernel: a multiple of the warp size that every SM since
 * sm_30 runs at full occupancy with the few registers these loop nests need. */
#define NV_BLOCK 256
/* Largest grid launched: a kernel strides over the rest (grid-stride loop), so any trip
 * count works and no launch nears the 2^31-1 limit of gridDim.x. */
#define NV_MAX_GRID 65536

/* One kernel. A function whose body holds no top-level scalar variables is split into one
 * kernel per top-level statement (a GPU has no barrier across blocks, and phases of one
 * node, e.g. "zero the output, then accumulate", must finish in order); otherwise the whole
 * body is one kernel. In a kernel whose statement is a loop nest, the leading perfectly
 * nested loops that kir.h declares independent (KL_PARALLEL, then KL_VECTOR) with constant
 * bounds become one flat thread index; the rest runs serially in each thread. */
typedef struct NvKernel {
    char *name;            /* PTX entry name (malloc'd) */
    int func;              /* index into KProg.funcs */
    const KStmt *stmt;     /* the top-level statement it runs, or NULL: the whole body */
    int nmapped;           /* loops mapped to threads (0: one thread runs it all) */
    const KStmt *mapped[KIR_MAX_DEPTH]; /* outermost first */
    int64_t threads;       /* product of the mapped loops' trip counts (1 when none) */
    unsigned grid, block;  /* launch configuration */
} NvKernel;

typedef struct NvPlan {
    NvKernel *k;
    int n;
} NvPlan;

/* nvptx_host.c */
void nvptx_plan(const KProg *p, NvPlan *plan);   /* exits on out of memory */
void nvptx_plan_free(NvPlan *plan);
/* NAME_host.c: the PTX text embedded, weights, launches in run order. malloc'd. */
char *nvptx_host_source(const KProg *p, const NvPlan *plan, const char *ptx);
/* NAME.h: cgen_c_header's text plus NAME_init/NAME_free. malloc'd. */
char *nvptx_header(const KProg *p);

#endif
