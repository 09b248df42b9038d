/* nvptx_host.c — owns the host side of the NVPTX target: which kernels a program becomes
 * and how they are launched (the plan, shared with the PTX builder in cgen_llvm.c), and the
 * text of NAME_host.c, the C99 file that drives them through the CUDA driver API. It needs
 * no LLVM, so the plan is testable on any build.
 *
 * NAME_host.c keeps the whole arena, the weights and device copies of the inputs/outputs
 * on the GPU: weights are uploaded once (NAME_init, called by the first NAME_run), each
 * NAME_run copies the inputs in, launches one kernel per node phase on the default stream
 * in run order (stream order serialises them, so no event is needed between them),
 * synchronises and copies the outputs back. The driver API is declared here rather than
 * taken from cuda.h so the file builds without the CUDA toolkit; -DONNXCC_USE_CUDA_H
 * includes cuda.h as well, which makes the compiler check these declarations against it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nvptx.h"

static void *nv_xalloc(size_t n)
{
    void *q = calloc(n ? n : 1, 1);
    if (!q) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    return q;
}

static char *nv_strfmt(const char *a, const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    char *s = nv_xalloc(la + lb + 1);
    memcpy(s, a, la);
    if (lb) memcpy(s + la, b, lb);
    return s;
}

/* ---- the plan ---- */

static int stmt_is_const_loop(const KStmt *s)
{
    return s->kind == KS_FOR && s->lo && s->hi && s->lo->kind == KE_CONST &&
           s->hi->kind == KE_CONST && s->lo->t == DT_IDX && s->hi->t == DT_IDX;
}

/* The loops from `s` down that become threads: KL_PARALLEL loops, perfectly nested, then
 * KL_VECTOR loops (independent by kir.h's contract), each below `s` the only statement of
 * its parent's body (`s` itself is the kernel's only statement). A loop with a bound not
 * known at compile time stops the chain: the host must know the thread count. */
static void map_chain(NvKernel *k, const KStmt *s)
{
    int seen_vector = 0;
    int64_t threads = 1;
    for (const KStmt *c = s; c && stmt_is_const_loop(c) && k->nmapped < KIR_MAX_DEPTH;
         c = c->body) {
        if (c != s && c->next) break;
        if (c->loop == KL_VECTOR) seen_vector = 1;
        else if (c->loop != KL_PARALLEL || seen_vector) break;
        int64_t trip = c->hi->i > c->lo->i ? c->hi->i - c->lo->i : 0;
        /* keep the flat 64-bit index far from overflow; the rest stays serial */
        if (trip > 0 && threads > (INT64_C(1) << 40) / trip) break;
        threads *= trip;
        k->mapped[k->nmapped++] = c;
    }
    k->threads = k->nmapped ? threads : 1;
}

static void set_launch(NvKernel *k)
{
    if (!k->nmapped || k->threads <= 1) {
        k->grid = k->block = 1;
        return;
    }
    int64_t block = k->threads >= NV_BLOCK ? NV_BLOCK : (k->threads + 31) / 32 * 32;
    int64_t grid = (k->threads + block - 1) / block;
    if (grid > NV_MAX_GRID) grid = NV_MAX_GRID;
    k->grid = (unsigned)grid;
    k->block = (unsigned)block;
}

/* 1 when the function's body declares or sets scalar variables at its top level: then a
 * later statement may read them, and the body must stay one kernel. */
static int body_has_top_scalars(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_DECL || s->kind == KS_SET) return 1;
    return 0;
}

void nvptx_plan(const KProg *p, NvPlan *plan)
{
    int cap = 0;
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        if (f->skip) continue;
        int n = 0;
        for (const KStmt *s = f->body; s; s = s->next) n++;
        cap += n > 0 ? n : 1;
    }
    plan->k = nv_xalloc(sizeof *plan->k * (size_t)(cap + 1));
    plan->n = 0;
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        if (f->skip) continue;   /* an aliased copy: nothing to run */
        if (!f->body || body_has_top_scalars(f->body) || !f->body->next) {
            NvKernel *k = &plan->k[plan->n++];
            k->name = nv_strfmt(f->name, NULL);
            k->func = fi;
            k->stmt = NULL;
            if (f->body && !f->body->next) map_chain(k, f->body);
            else k->threads = 1;
            set_launch(k);
            continue;
        }
        int phase = 0;
        for (const KStmt *s = f->body; s; s = s->next, phase++) {
            NvKernel *k = &plan->k[plan->n++];
            char suffix[24];
            snprintf(suffix, sizeof suffix, "_p%d", phase);
            k->name = nv_strfmt(f->name, suffix);
            k->func = fi;
            k->stmt = s;
            map_chain(k, s);
            set_launch(k);
        }
    }
}

void nvptx_plan_free(NvPlan *plan)
{
    for (int i = 0; i < plan->n; i++) free(plan->k[i].name);
    free(plan->k);
    plan->k = NULL;
    plan->n = 0;
}

/* ---- NAME.h ---- */

char *nvptx_header(const KProg *p)
{
    char *h = cgen_c_header(p);
    if (!h) return NULL;
    char *end = strstr(h, "\n#endif");
    while (end && strstr(end + 1, "\n#endif")) end = strstr(end + 1, "\n#endif");
    if (!end) return h;
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%.*s\n", (int)(end - h), h);
    sb_printf(&sb,
              "\n/* Target nvptx (NAME_host.c, link with -lcuda): NAME_run above returns 0, or\n"
              " * the CUDA driver's error code (CUresult) when the GPU part failed.\n"
              " * %s_init() loads the PTX on device 0, allocates the arena and uploads the\n"
              " * weights; the first %s_run calls it, so calling it is optional (it lets a\n"
              " * program see driver errors early). %s_free() releases all of it. Not\n"
              " * reentrant: one set of device buffers serves every call. */\n"
              "int %s_init(void);\nvoid %s_free(void);\n",
              p->name, p->name, p->name, p->name, p->name);
    sb_puts(&sb, end);
    free(h);
    return sb.buf;
}

/* ---- NAME_host.c ---- */

/* Where a buffer lives on the device: one of the three allocations plus an offset. */
typedef enum { NV_ARENA, NV_WEIGHTS, NV_IO } NvBase;

typedef struct NvLayout {
    int64_t *woff;   /* per tensor: byte offset in the weights block (-1: not a used weight) */
    int64_t *iooff;  /* per tensor: byte offset in the I/O block (-1: not I/O) */
    int64_t wbytes, iobytes;
} NvLayout;

#define NV_ALIGN 256 /* cuMemAlloc's own alignment: any vector access is aligned */

static int64_t align_up(int64_t v, int64_t a)
{
    return (v + a - 1) / a * a;
}

static int64_t tensor_bytes(const KTensor *t)
{
    return t->n > 0 ? t->n * dt_size(t->t) : 0;
}

static void layout(const KProg *p, const NvPlan *plan, NvLayout *l)
{
    l->woff = nv_xalloc(sizeof *l->woff * (size_t)(p->ntensors + 1));
    l->iooff = nv_xalloc(sizeof *l->iooff * (size_t)(p->ntensors + 1));
    for (int i = 0; i < p->ntensors; i++) l->woff[i] = l->iooff[i] = -1;
    l->wbytes = l->iobytes = 0;
    for (int ki = 0; ki < plan->n; ki++) {
        const KFunc *f = p->funcs[plan->k[ki].func];
        for (int b = 0; b < f->nbufs; b++) {
            int ti = f->bufs[b].tensor;
            if (p->tensors[ti].kind != KT_CONST || l->woff[ti] >= 0) continue;
            l->woff[ti] = l->wbytes;
            l->wbytes = align_up(l->wbytes + tensor_bytes(&p->tensors[ti]), NV_ALIGN);
        }
    }
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        int ti = i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs];
        if (l->iooff[ti] >= 0) continue;
        l->iooff[ti] = l->iobytes;
        l->iobytes = align_up(l->iobytes + tensor_bytes(&p->tensors[ti]), NV_ALIGN);
    }
}

/* Bytes as a char array initialiser: C99 compilers need only take 4095-character string
 * literals (-pedantic says so), a PTX module is far longer. */
static void sb_bytes(StrBuf *sb, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_printf(sb, "%u,%s", d[i], i % 24 == 23 ? "\n" : "");
}

char *nvptx_host_source(const KProg *p, const NvPlan *plan, const char *ptx)
{
    NvLayout l;
    layout(p, plan, &l);
    const char *n = p->name;
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb,
        "/* %s_host.c — generated by onnxcc (target nvptx): runs %s.ptx (embedded below) through\n"
        " * the CUDA driver API. Build: cc -std=c99 -c %s_host.c; link with -lcuda.\n"
        " * The arena, the weights and device copies of the inputs and outputs stay on the GPU;\n"
        " * %s_run copies inputs in, launches one kernel per node (phase) in order on the\n"
        " * default stream, synchronises and copies outputs out. Device 0 is used. */\n"
        "#include <stddef.h>\n#include <stdint.h>\n#include \"%s.h\"\n\n", n, n, n, n, n);
    sb_puts(&sb,
        "/* The driver API, declared here so no CUDA toolkit is needed to build this file (only\n"
        " * libcuda to link it). The _v2 names are the symbols cuda.h's macros select since\n"
        " * CUDA 3.2/11.0; -DONNXCC_USE_CUDA_H checks these declarations against cuda.h. */\n"
        "#ifdef ONNXCC_USE_CUDA_H\n#include <cuda.h>\n#else\n"
        "typedef int CUresult;\n"
        "typedef int CUdevice;\n"
        "typedef unsigned long long CUdeviceptr;\n"
        "typedef struct CUctx_st *CUcontext;\n"
        "typedef struct CUmod_st *CUmodule;\n"
        "typedef struct CUfunc_st *CUfunction;\n"
        "typedef struct CUstream_st *CUstream;\n"
        "#endif\n"
        "CUresult cuInit(unsigned int flags);\n"
        "CUresult cuDeviceGet(CUdevice *device, int ordinal);\n"
        "CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev);\n"
        "CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev);\n"
        "CUresult cuCtxSetCurrent(CUcontext ctx);\n"
        "CUresult cuCtxSynchronize(void);\n"
        "CUresult cuModuleLoadData(CUmodule *module, const void *image);\n"
        "CUresult cuModuleUnload(CUmodule hmod);\n"
        "CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name);\n"
        "CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize);\n"
        "CUresult cuMemFree_v2(CUdeviceptr dptr);\n"
        "CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char uc, size_t n);\n"
        "CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes);\n"
        "CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes);\n"
        "CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,\n"
        "                        unsigned int gridDimZ, unsigned int blockDimX,\n"
        "                        unsigned int blockDimY, unsigned int blockDimZ,\n"
        "                        unsigned int sharedMemBytes, CUstream hStream,\n"
        "                        void **kernelParams, void **extra);\n\n");

    /* the PTX, NUL terminated as cuModuleLoadData wants it */
    sb_printf(&sb, "/* %s.ptx, %zu bytes */\nstatic const char %s_ptx[] = {\n", n, strlen(ptx), n);
    sb_bytes(&sb, (const unsigned char *)ptx, strlen(ptx) + 1);
    sb_puts(&sb, "\n};\n\n");

    /* weights: the tensors' bytes, host order (the GPU is little-endian like every host
     * onnxcc runs on) */
    int nweights = 0;
    for (int ti = 0; ti < p->ntensors; ti++) {
        if (l.woff[ti] < 0 || tensor_bytes(&p->tensors[ti]) == 0) continue;
        const KTensor *t = &p->tensors[ti];
        sb_printf(&sb, "/* %s: %s, %" PRId64 " elements */\nstatic const unsigned char %s_w%d[] = {\n",
                  t->name, dt_name(t->t), t->n, n, ti);
        sb_bytes(&sb, t->data, (size_t)tensor_bytes(t));
        sb_puts(&sb, "\n};\n");
        nweights++;
    }
    sb_printf(&sb, "\nstatic const struct { const unsigned char *data; size_t off, bytes; } "
                   "%s_weights[%d] = {\n", n, nweights + 1);
    for (int ti = 0; ti < p->ntensors; ti++) {
        if (l.woff[ti] < 0 || tensor_bytes(&p->tensors[ti]) == 0) continue;
        sb_printf(&sb, "    { %s_w%d, %" PRId64 "u, %" PRId64 "u },\n", n, ti, l.woff[ti],
                  tensor_bytes(&p->tensors[ti]));
    }
    sb_puts(&sb, "    { NULL, 0u, 0u }\n};\n\n");

    /* kernels and their arguments: (base, byte offset) per buffer parameter */
    int nargs = 0, maxargs = 1;
    for (int ki = 0; ki < plan->n; ki++) {
        int nb = p->funcs[plan->k[ki].func]->nbufs;
        nargs += nb;
        if (nb > maxargs) maxargs = nb;
    }
    sb_printf(&sb, "#define %s_NKERNELS %d\n#define %s_MAXARGS %d\n", n, plan->n, n, maxargs);
    sb_printf(&sb, "/* base: 0 arena, 1 weights, 2 inputs/outputs */\n"
                   "static const struct { unsigned char base; size_t off; } %s_args[%d] = {\n",
              n, nargs + 1);
    for (int ki = 0; ki < plan->n; ki++) {
        const KFunc *f = p->funcs[plan->k[ki].func];
        for (int b = 0; b < f->nbufs; b++) {
            int ti = f->bufs[b].tensor;
            const KTensor *t = &p->tensors[ti];
            int base;
            int64_t off;
            if (t->kind == KT_ARENA) base = NV_ARENA, off = t->offset;
            else if (t->kind == KT_CONST) base = NV_WEIGHTS, off = l.woff[ti];
            else base = NV_IO, off = l.iooff[ti];
            if (off < 0) off = 0;
            sb_printf(&sb, "    { %d, %" PRId64 "u }, /* %s %s */\n", base, off, plan->k[ki].name,
                      f->bufs[b].name ? f->bufs[b].name : "");
        }
    }
    sb_puts(&sb, "    { 0, 0u }\n};\n");
    sb_printf(&sb, "static const struct { const char *name; unsigned grid, block; int nargs; } "
                   "%s_kernels[%d] = {\n", n, plan->n + 1);
    for (int ki = 0; ki < plan->n; ki++) {
        const NvKernel *k = &plan->k[ki];
        const KFunc *f = p->funcs[k->func];
        sb_printf(&sb, "    { \"%s\", %uu, %uu, %d }, /* ", k->name, k->grid, k->block, f->nbufs);
        if (k->nmapped) sb_printf(&sb, "%" PRId64 " threads", k->threads);
        else sb_puts(&sb, "one thread");
        sb_puts(&sb, " */\n");
    }
    sb_puts(&sb, "    { NULL, 0u, 0u, 0 }\n};\n\n");

    /* state */
    sb_printf(&sb,
        "static struct {\n"
        "    int ready, have_ctx;\n"
        "    CUdevice dev;\n"
        "    CUcontext ctx;\n"
        "    CUmodule mod;\n"
        "    CUfunction fn[%s_NKERNELS + 1];\n"
        "    CUdeviceptr base[3]; /* arena, weights, inputs/outputs */\n"
        "} %s_gpu;\n\n", n, n);
    int64_t sizes[3] = { p->arena_bytes, l.wbytes, l.iobytes };
    sb_printf(&sb, "static const size_t %s_base_bytes[3] = { %" PRId64 "u, %" PRId64 "u, %" PRId64
                   "u };\n\n", n, sizes[0], sizes[1], sizes[2]);

    sb_printf(&sb,
        "void %s_free(void)\n{\n"
        "    int i;\n"
        "    if (%s_gpu.have_ctx) {\n"
        "        (void)cuCtxSetCurrent(%s_gpu.ctx);\n"
        "        for (i = 0; i < 3; i++)\n"
        "            if (%s_gpu.base[i]) (void)cuMemFree_v2(%s_gpu.base[i]);\n"
        "        if (%s_gpu.mod) (void)cuModuleUnload(%s_gpu.mod);\n"
        "        (void)cuDevicePrimaryCtxRelease_v2(%s_gpu.dev);\n"
        "    }\n"
        "    %s_gpu.ready = %s_gpu.have_ctx = 0;\n"
        "    %s_gpu.mod = NULL;\n"
        "    for (i = 0; i < 3; i++) %s_gpu.base[i] = 0;\n"
        "}\n\n", n, n, n, n, n, n, n, n, n, n, n, n);

    sb_printf(&sb,
        "int %s_init(void)\n{\n"
        "    CUresult r;\n"
        "    int i;\n"
        "    if (%s_gpu.ready) return 0;\n"
        "    %s_free();\n"
        "    if ((r = cuInit(0)) != 0) return (int)r;\n"
        "    if ((r = cuDeviceGet(&%s_gpu.dev, 0)) != 0) return (int)r;\n"
        "    if ((r = cuDevicePrimaryCtxRetain(&%s_gpu.ctx, %s_gpu.dev)) != 0) return (int)r;\n"
        "    %s_gpu.have_ctx = 1;\n"
        "    if ((r = cuCtxSetCurrent(%s_gpu.ctx)) != 0) goto fail;\n"
        "    if ((r = cuModuleLoadData(&%s_gpu.mod, %s_ptx)) != 0) goto fail;\n"
        "    for (i = 0; i < %s_NKERNELS; i++)\n"
        "        if ((r = cuModuleGetFunction(&%s_gpu.fn[i], %s_gpu.mod, %s_kernels[i].name)) != 0)\n"
        "            goto fail;\n"
        "    /* a zero-byte allocation is an error; one byte keeps every pointer valid */\n"
        "    for (i = 0; i < 3; i++)\n"
        "        if ((r = cuMemAlloc_v2(&%s_gpu.base[i], %s_base_bytes[i] ? %s_base_bytes[i] : 1u)) != 0)\n"
        "            goto fail;\n"
        "    /* the C back end's arena is a zeroed static object: the same here */\n"
        "    if ((r = cuMemsetD8_v2(%s_gpu.base[0], 0, %s_base_bytes[0])) != 0) goto fail;\n"
        "    for (i = 0; %s_weights[i].data; i++)\n"
        "        if ((r = cuMemcpyHtoD_v2(%s_gpu.base[1] + %s_weights[i].off, %s_weights[i].data,\n"
        "                                 %s_weights[i].bytes)) != 0)\n"
        "            goto fail;\n"
        "    if ((r = cuCtxSynchronize()) != 0) goto fail;\n"
        "    %s_gpu.ready = 1;\n"
        "    return 0;\n"
        "fail:\n"
        "    %s_free();\n"
        "    return (int)r;\n"
        "}\n\n",
        n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n);

    /* NAME_run: the header's prototype, parameters as pointers (what arrays decay to) */
    sb_printf(&sb, "static CUresult %s_launch(void)\n{\n"
                   "    CUdeviceptr a[%s_MAXARGS];\n"
                   "    void *pa[%s_MAXARGS];\n"
                   "    CUresult r;\n"
                   "    int i, j, k = 0;\n"
                   "    for (i = 0; i < %s_NKERNELS; i++) {\n"
                   "        for (j = 0; j < %s_kernels[i].nargs; j++, k++) {\n"
                   "            a[j] = %s_gpu.base[%s_args[k].base] + %s_args[k].off;\n"
                   "            pa[j] = &a[j];\n"
                   "        }\n"
                   "        r = cuLaunchKernel(%s_gpu.fn[i], %s_kernels[i].grid, 1, 1, %s_kernels[i].block, 1, 1,\n"
                   "                           0, NULL, pa, NULL);\n"
                   "        if (r != 0) return r;\n"
                   "    }\n"
                   "    return 0;\n"
                   "}\n\n", n, n, n, n, n, n, n, n, n, n, n);

    /* the prototype: taken from the header text so both spell it the same */
    char *h = cgen_c_header(p);
    char *want = nv_strfmt("\nint ", n);
    char *proto = h ? strstr(h, want) : NULL;
    free(want);
    char *pend = proto ? strstr(proto, ");") : NULL;
    if (proto && pend) sb_printf(&sb, "%.*s)\n{\n", (int)(pend - proto - 1), proto + 1);
    else sb_printf(&sb, "int %s_run(void)\n{\n", n);
    free(h);
    /* onnxcc_r: a local no exporter names a tensor (a parameter would shadow it) */
    sb_puts(&sb, "    CUresult onnxcc_r;\n");
    sb_printf(&sb, "    if ((onnxcc_r = (CUresult)%s_init()) != 0) return (int)onnxcc_r;\n", n);
    sb_printf(&sb, "    if ((onnxcc_r = cuCtxSetCurrent(%s_gpu.ctx)) != 0) return (int)onnxcc_r;\n", n);
    for (int i = 0; i < p->ninputs; i++) {
        const KTensor *t = &p->tensors[p->inputs[i]];
        if (tensor_bytes(t) == 0) {
            sb_printf(&sb, "    (void)%s;\n", t->name);
            continue;
        }
        sb_printf(&sb, "    if ((onnxcc_r = cuMemcpyHtoD_v2(%s_gpu.base[2] + %" PRId64 "u, %s, %" PRId64
                       "u)) != 0) return (int)onnxcc_r;\n", n, l.iooff[p->inputs[i]], t->name,
                  tensor_bytes(t));
    }
    sb_printf(&sb, "    if ((onnxcc_r = %s_launch()) != 0) return (int)onnxcc_r;\n", n);
    sb_puts(&sb, "    if ((onnxcc_r = cuCtxSynchronize()) != 0) return (int)onnxcc_r;\n");
    for (int i = 0; i < p->noutputs; i++) {
        const KTensor *t = &p->tensors[p->outputs[i]];
        if (tensor_bytes(t) == 0) {
            sb_printf(&sb, "    (void)%s;\n", t->name);
            continue;
        }
        sb_printf(&sb, "    if ((onnxcc_r = cuMemcpyDtoH_v2(%s, %s_gpu.base[2] + %" PRId64 "u, %" PRId64
                       "u)) != 0) return (int)onnxcc_r;\n", t->name, n, l.iooff[p->outputs[i]],
                  tensor_bytes(t));
    }
    sb_puts(&sb, "    return 0;\n}\n");
    free(l.woff);
    free(l.iooff);
    return sb.buf;
}
