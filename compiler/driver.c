/* driver.c — owns the work behind the onnxcc commands (compile, report, check, bench):
 * running the pipeline load -> shape -> lower -> plan -> codegen, building and running the
 * generated C with a time limit, comparing outputs with ONNX's tolerances, and reporting
 * per-node cost counted from the loop IR. main.c only parses the command line, so the unit
 * tests call these functions directly. */
#define _XOPEN_SOURCE 700   /* sigaltstack, SA_ONSTACK */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include "onnxcc.h"
#include "../codegen/codegen.h"

#define HARNESS_FILE "onnxcc_harness.c"
#define PROG_FILE "onnxcc_prog"

void driver_defaults(DriverOpts *o)
{
    memset(o, 0, sizeof *o);
    o->target = "c";
    o->rtol = 1e-3;
    o->atol = 1e-7;
    o->timeout_s = 60;
    o->runs = 100;
    o->out = stdout;
    o->err = stderr;
}

int driver_parse_shape(Pool *p, const char *arg, const char **name, Type *t)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return -1;
    memset(t, 0, sizeof *t);
    const char *s = eq + 1;
    for (;;) {
        if (*s < '0' || *s > '9') return -1;
        char *end;
        errno = 0;
        long long d = strtoll(s, &end, 10);
        if (errno || d < 0) return -1;
        if (t->rank >= KIR_MAX_RANK) return -1;
        t->dims[t->rank++] = d;
        s = end;
        if (!*s) break;
        if (*s != 'x' && *s != 'X') return -1;
        s++;
    }
    *name = pool_fmt(p, "%.*s", (int)(eq - arg), arg);
    return 0;
}

/* ---- small helpers ---- */

static void errline(const DriverOpts *o, const char *msg)
{
    fprintf(o->err ? o->err : stderr, "onnxcc: error: %s\n", msg);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Default NAME: the model file's basename without extension, as a C identifier. */
static char *default_name(Pool *p, const char *model)
{
    const char *b = base_name(model);
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    if (n > 40) n = 40;
    char *s = pool_alloc(p, n + 3);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!len && !ok) continue;
        s[len++] = ok ? (char)ch : '_';
    }
    while (len && s[len - 1] == '_') len--;
    s[len] = 0;
    if (!len) return pool_strdup(p, "model");
    if (s[0] >= '0' && s[0] <= '9') return pool_fmt(p, "m%s", s);
    return s;
}

static int is_unsupported_msg(const char *msg)
{
    if (!msg) return 0;
    if (strstr(msg, "unsupported") || strstr(msg, "not supported")) return 1;
    /* "only tensor inputs are supported", "only inference is supported" */
    const char *only = strstr(msg, "only ");
    return only && strstr(only, " supported");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the pipeline up to a planned program ---- */

/* Loads the model with shape bindings and frozen inputs, says what was frozen (after
 * `prefix`, on `note`; NULL: silent) and infers shapes. NULL with *msg. */
static void note_frozen(Pool *p, Graph *g, const Freeze *fz, int nfz, FILE *note,
                        const char *prefix)
{
    for (int i = 0; note && i < nfz; i++) {
        const Value *v = ir_find(g, fz[i].name);
        if (!v) continue;
        if (fz[i].value)
            fprintf(note, "%snote: input '%s' frozen to its dataset value %s (an operator needs "
                    "it at compile time; --freeze does this by hand)\n", prefix, v->name,
                    freeze_describe(p, v));
        else
            fprintf(note, "%sfrozen: %s (compiled in; no longer a parameter of the run function)\n", prefix,
                    freeze_describe(p, v));
    }
}

/* --max-trip NODE=N: each NODE must be a Loop of the model (at any depth); the bounds go
 * to the root graph, where loop_infer looks them up. 0, or -1 with *msg. */
static int max_trip_bind(Pool *p, Graph *g, const DriverOpts *o, char **msg)
{
    for (int i = 0; o && i < o->nmax_trip; i++) {
        int found = 0;
        Graph *stack[64];
        int ns = 0;
        stack[ns++] = g;
        while (ns && !found) {
            Graph *h = stack[--ns];
            for (int j = 0; j < h->nnodes && !found; j++) {
                Node *n = h->nodes[j];
                if (n->name && !strcmp(n->name, o->max_trip_nodes[i])) {
                    if (n->op != OP_Loop) {
                        *msg = pool_fmt(p, "%s: --max-trip %s: node '%s' is a %s, not a Loop",
                                        g->file, n->name, n->name, n->op_type);
                        return -1;
                    }
                    found = 1;
                }
                for (int a = 0; a < n->nattrs && ns < 64; a++)
                    if (n->attrs[a].kind == A_GRAPH && n->attrs[a].g) stack[ns++] = n->attrs[a].g;
            }
        }
        if (!found) {
            *msg = pool_fmt(p, "%s: --max-trip %s: the model has no node named '%s'", g->file,
                            o->max_trip_nodes[i], o->max_trip_nodes[i]);
            return -1;
        }
    }
    if (o) {
        g->max_trip_nodes = o->max_trip_nodes;
        g->max_trips = o->max_trips;
        g->nmax_trip = o->nmax_trip;
    }
    return 0;
}

/* failed (may be NULL): where shape inference fails, the graph it failed on (its `need`
 * says which value an operator wanted at compile time). */
static Graph *load_infer_ex(const DriverOpts *o, Pool *p, const char *model,
                            const char **names, const Type *types, int nshapes,
                            const Freeze *fz, int nfz, FILE *note, const char *prefix,
                            char **msg, Graph **failed)
{
    if (access(model, R_OK) != 0) {
        *msg = pool_fmt(p, "%s: cannot read model: %s", model, strerror(errno));
        return NULL;
    }
    LoadOptions lo;
    memset(&lo, 0, sizeof lo);
    lo.shape_names = names;
    lo.shape_types = types;
    lo.nshapes = nshapes;
    lo.freeze = fz;
    lo.nfreeze = nfz;
    lo.none_names = o->none_names;
    lo.nnone = o->nnone;
    char *err = NULL;
    Graph *g = load_model(p, model, &lo, &err);
    if (!g) {
        *msg = pool_strdup(p, err ? err : "cannot load the model");
        return NULL;
    }
    for (int i = 0; i < nshapes; i++) {
        int found = 0;
        for (int k = 0; k < g->ninputs && !found; k++) {
            const char *in = g->inputs[k]->name;
            size_t len = strlen(in);   /* a sequence's elements: NAME[K], NAME[] */
            found = !strcmp(in, names[i]) ||
                    (g->inputs[k]->decl != DECL_TENSOR && !strncmp(in, names[i], len) &&
                     names[i][len] == '[');
        }
        for (int k = 0; k < nfz && !found; k++) found = !strcmp(fz[k].name, names[i]);
        if (!found) {
            StrBuf sb;
            sb_init(&sb);
            for (int k = 0; k < g->ninputs; k++)
                sb_printf(&sb, "%s'%s'", k ? ", " : "", g->inputs[k]->name);
            *msg = pool_fmt(p, "%s: --shape names '%s', which is not an input of the model "
                            "(inputs: %s)", model, names[i], sb.buf ? sb.buf : "none");
            sb_free(&sb);
            return NULL;
        }
    }
    note_frozen(p, g, fz, nfz, note, prefix);
    if (max_trip_bind(p, g, o, msg) != 0) return NULL;
    if (shape_infer(g) != 0) {
        *msg = pool_strdup(p, g->err ? g->err : "shape inference failed");
        if (failed) *failed = g;
        return NULL;
    }
    return g;
}

static Graph *load_infer(const DriverOpts *o, Pool *p, const char *model, const char **names,
                         const Type *types, int nshapes, const Freeze *fz, int nfz, FILE *note,
                         const char *prefix, char **msg)
{
    return load_infer_ex(o, p, model, names, types, nshapes, fz, nfz, note, prefix, msg, NULL);
}

/* Lowers, applies the firmware API options (--arena, --weights, --io, sections) and plans;
 * every plan goes through plan_validate. NULL with *msg. */
static KProg *lower_plan(const DriverOpts *o, Graph *g, const char *name, const Target *t,
                         Pool *p, char **msg)
{
    /* the CPU objects (LLVM) take an extern arena and sections too (firmware links them) */
    int api = o->weights_bin || o->io_in_arena ||
              ((o->arena_extern || o->section_arena || o->section_weights) &&
               t->backend != BACKEND_LLVM);
    if (api && t->backend != BACKEND_C) {
        *msg = pool_fmt(p, "%s need the C back end (target %s writes the default API%s)",
                        t->backend == BACKEND_LLVM ? "--weights bin and --io in-arena"
                                                   : "--arena, --weights, --io and --section-*",
                        t->name, t->backend == BACKEND_LLVM ? ", or --arena extern" : "");
        return NULL;
    }
    /* a section names where onnxcc's own object goes; the caller's arena or blob is not one */
    if ((o->section_arena && o->arena_extern) || (o->section_weights && o->weights_bin)) {
        *msg = pool_strdup(p, o->section_arena && o->arena_extern
                                  ? "--section-arena places the static arena; with --arena "
                                    "extern the caller places its own arena"
                                  : "--section-weights places the const weights; with "
                                    "--weights bin the caller places the blob");
        return NULL;
    }
    /* the graph rewrites (BatchNormalization folding, epilogue fusion) for this target */
    if (passes_run(g, t) != 0) {
        *msg = pool_strdup(p, g->err ? g->err : "graph passes failed");
        return NULL;
    }
    char *err = NULL;
    KProg *prog = lower_graph(g, name, t, &err);
    if (!prog) {
        *msg = pool_strdup(p, err ? err : "lowering failed");
        return NULL;
    }
    prog->arena_extern = o->arena_extern;
    prog->weights_bin = o->weights_bin;
    prog->io_in_arena = o->io_in_arena;
    prog->section_arena = o->section_arena ? pool_strdup(prog->pool, o->section_arena) : NULL;
    prog->section_weights =
        o->section_weights ? pool_strdup(prog->pool, o->section_weights) : NULL;
    plan_arena(prog, t->align);
    if (prog->weights_bin) plan_weights(prog, t->align > 16 ? t->align : 16);
    char verr[512];
    if (plan_validate(prog, verr, sizeof verr) != 0) {
        *msg = pool_fmt(p, "internal: %s", verr);
        kprog_free(prog);
        return NULL;
    }
    return prog;
}

static const Target *resolve_target(const DriverOpts *o, Pool *p, char **msg)
{
    const char *name = o->target ? o->target : "c";
    const Target *t = target_find(name);
    if (!t) *msg = pool_fmt(p, "unknown target '%s' (known: %s)", name, target_names());
    return t;
}

/* ---- target hls ---- */

/* The --hls-* options. 0, or -1 with *msg. */
static int hls_opts(const DriverOpts *o, Pool *p, HlsOptions *h, char **msg)
{
    memset(h, 0, sizeof *h);
    if (o->hls_interface && strcmp(o->hls_interface, "m_axi")) {
        if (strcmp(o->hls_interface, "ap_memory")) {
            *msg = pool_fmt(p, "--hls-interface '%s': expected m_axi or ap_memory",
                            o->hls_interface);
            return -1;
        }
        h->interface_mem = 1;
    }
    if (hls_parse_type(o->hls_type, h) != 0) {
        *msg = pool_fmt(p, "--hls-type '%s': expected float or fixed<W,I> (2 <= W <= 32, "
                        "1 <= I <= W)", o->hls_type);
        return -1;
    }
    h->unroll = o->hls_unroll;
    h->tb_rtol = o->rtol;
    h->tb_atol = o->atol;
    return 0;
}

/* Fixed point: the comparison tolerance. Every rounding step can lose half an LSB and a
 * dot product adds many of them, so float-exact tolerances would fail every model. */
static void hls_fixed_tolerance(const HlsOptions *h, double *atol, double *rtol)
{
    double lsb = ldexp(1.0, -(h->fx_w - h->fx_i));
    if (*atol < 32 * lsb) *atol = 32 * lsb;
    if (*rtol < 0.02) *rtol = 0.02;
}

/* Fixed point: every node that computes on float32 with an operator not in ops/fixed.def,
 * all at once. NULL when there is none. */
static char *hls_fixed_refusals(Pool *p, const Graph *g, const HlsOptions *h)
{
    if (!h->fixed) return NULL;
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (lower_node_folded(n) || (n->op >= 0 && op_fixed_point[n->op])) continue;
        int fl = 0;
        for (int k = 0; k < n->nin; k++) fl |= n->in[k] && n->in[k]->type.dt == DT_F32;
        for (int k = 0; k < n->nout; k++) fl |= n->out[k] && n->out[k]->type.dt == DT_F32;
        if (fl) sb_printf(&sb, "%s node '%s' (%s)", sb.len ? ";" : "", n->name, n->op_type);
    }
    if (!sb.len) return NULL;
    char *r = pool_fmt(p, "%s: fixed<%d,%d> is not supported for these operators on target "
                       "hls (see compiler/ops/fixed.def):%s", g->file, h->fx_w, h->fx_i, sb.buf);
    sb_free(&sb);
    return r;
}

/* Reference data for the testbench when no test data set is given: deterministic inputs
 * (floats in [-1, 1), integers 0/1) and the outputs of the loop IR interpreter, which is
 * float. 0, or -1 with *msg. */
static int hls_reference(const KProg *prog, Pool *p, const void **ins, const void **outs,
                         char **msg)
{
    unsigned long rng = 88172645UL;
    for (int i = 0; i < prog->ninputs; i++) {
        const KTensor *t = &prog->tensors[prog->inputs[i]];
        unsigned char *d = pool_alloc(p, (size_t)(t->n > 0 ? t->n : 1) * (size_t)dt_size(t->t));
        for (int64_t k = 0; k < t->n; k++) {
            rng ^= (rng << 13) & 0xffffffffUL;
            rng ^= rng >> 17;
            rng ^= (rng << 5) & 0xffffffffUL;
            double v = (double)(rng & 0xffffffffUL) / 2147483648.0 - 1.0;
            if (t->t == DT_F32) ((float *)d)[k] = (float)v;
            else if (t->t == DT_F64) ((double *)d)[k] = v;
            else if (dt_size(t->t) > 0) d[k * dt_size(t->t)] = (unsigned char)(rng & 1);
        }
        ins[i] = d;
    }
    unsigned char *arena = pool_alloc(p, (size_t)prog->arena_bytes + 16);
    void **outmem = pool_alloc(p, sizeof *outmem * (size_t)(prog->ntensors + 1));
    for (int i = 0; i < prog->noutputs; i++) {
        const KTensor *t = &prog->tensors[prog->outputs[i]];
        outmem[prog->outputs[i]] =
            pool_alloc(p, (size_t)(t->n > 0 ? t->n : 1) * (size_t)dt_size(t->t));
        outs[i] = outmem[prog->outputs[i]];
    }
    for (int fi = 0; fi < prog->nfuncs; fi++) {
        const KFunc *f = prog->funcs[fi];
        void **mem = pool_alloc(p, sizeof *mem * (size_t)(f->nbufs + 1));
        for (int b = 0; b < f->nbufs; b++) {
            const KTensor *t = &prog->tensors[f->bufs[b].tensor];
            int k = 0;
            switch (t->kind) {
            case KT_INPUT:
                while (prog->inputs[k] != f->bufs[b].tensor) k++;
                mem[b] = (void *)ins[k];
                break;
            case KT_OUTPUT: mem[b] = outmem[f->bufs[b].tensor]; break;
            case KT_CONST: mem[b] = (void *)t->data; break;
            case KT_ARENA: mem[b] = arena + t->offset; break;
            }
        }
        char err[256];
        if (kir_interp(f, mem, err, sizeof err) != 0) {
            *msg = pool_fmt(p, "cannot compute the testbench's reference outputs: %s", err);
            return -1;
        }
    }
    return 0;
}

/* Testbench data for compile: --hls-data DIR (input_K.pb / output_K.pb by position), or
 * the interpreter's reference. 0, or -1 with *msg. */
static int hls_tb_data(const DriverOpts *o, const KProg *prog, Pool *p, HlsOptions *h,
                       char **msg)
{
    const void **ins = pool_alloc(p, sizeof *ins * (size_t)(prog->ninputs + 1));
    const void **outs = pool_alloc(p, sizeof *outs * (size_t)(prog->noutputs + 1));
    h->tb_in = ins;
    h->tb_out = outs;
    if (!o->hls_data) {
        h->tb_rtol = 1e-3;
        h->tb_atol = 1e-5;
        if (h->fixed) hls_fixed_tolerance(h, &h->tb_atol, &h->tb_rtol);
        return hls_reference(prog, p, ins, outs, msg);
    }
    for (int i = 0; i < prog->ninputs + prog->noutputs; i++) {
        int is_in = i < prog->ninputs;
        int k = is_in ? i : i - prog->ninputs;
        const KTensor *t = &prog->tensors[is_in ? prog->inputs[k] : prog->outputs[k]];
        char *path = pool_fmt(p, "%s/%s_%d.pb", o->hls_data, is_in ? "input" : "output", k);
        char *err = NULL;
        Value *v = load_tensor_file(p, path, &err);
        if (!v) {
            *msg = pool_strdup(p, err ? err : path);
            return -1;
        }
        if (v->type.dt != t->t || type_numel(&v->type) != t->n) {
            *msg = pool_fmt(p, "%s: %s, but %s '%s' is %s with %lld elements", path,
                            type_str(p, &v->type), is_in ? "input" : "output", t->src_name,
                            dt_name(t->t), (long long)t->n);
            return -1;
        }
        if (is_in) ins[k] = v->data;
        else outs[k] = v->data;
    }
    if (h->fixed) hls_fixed_tolerance(h, &h->tb_atol, &h->tb_rtol);
    return 0;
}

static int write_code_files(const DriverOpts *o, const Target *t, const KProg *prog,
                            const char *dir, char **cerr);

/* Writes the program for target t into dir: C sources, or NAME.h + NAME.o (LLVM). The
 * files replace what dir held all together: none of them appears unless all were written. */
static int write_code(const DriverOpts *o, const Target *t, const KProg *prog, const char *dir,
                      char **cerr)
{
    out_stage_begin();
    int rc = write_code_files(o, t, prog, dir, cerr);
    if (rc) {
        out_stage_abort();
        return rc;
    }
    if (out_stage_commit() != 0) {
        *cerr = str_fmt("cannot move the new files into %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_code_files(const DriverOpts *o, const Target *t, const KProg *prog,
                            const char *dir, char **cerr)
{
    if (t->backend == BACKEND_HLS) {
        /* compile: everything for Vitis HLS; check/bench (dir is a temp dir): sources only */
        Pool *p = pool_new();
        HlsOptions h;
        char *msg = NULL;
        int rc = hls_opts(o, p, &h, &msg);
        int full = o->outdir && !strcmp(dir, o->outdir);
        if (!rc && full) rc = hls_tb_data(o, prog, p, &h, &msg);
        h.no_tcl = !full;
        if (!rc) rc = cgen_hls_write(prog, dir, &h, cerr);
        else if (msg) *cerr = strdup(msg);
        pool_free(p);
        return rc;
    }
    if (t->backend != BACKEND_LLVM && t->backend != BACKEND_NVPTX)
        return cgen_c_write(prog, dir, cerr);
    LlvmOptions lo;
    memset(&lo, 0, sizeof lo);
    lo.target = t->name;
    lo.triple = t->triple;
    lo.cpu = o->cpu ? o->cpu : t->cpu;
    lo.features = o->features;
    lo.opt_level = 2;
    lo.emit_llvm = o->emit_llvm;
    if (t->backend == BACKEND_NVPTX) return cgen_nvptx_write(prog, dir, &lo, cerr);
    return cgen_llvm_write(prog, dir, &lo, cerr);
}

/* 1 when `prog` names an executable file in $PATH (or is a path to one). */
static int have_program(Pool *p, const char *prog)
{
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    char *s = pool_strdup(p, path && *path ? path : "/usr/bin:/bin");
    for (char *d = strtok(s, ":"); d; d = strtok(NULL, ":"))
        if (access(pool_fmt(p, "%s/%s", *d ? d : ".", prog), X_OK) == 0) return 1;
    return 0;
}

/* ---- files and directories ---- */

typedef struct NameList {
    char **names;
    int n;
    size_t cap;
} NameList;

static void list_dir(Pool *p, const char *dir, NameList *l)
{
    memset(l, 0, sizeof *l);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *s = pool_strdup(p, e->d_name);
        VEC_PUSH(p, l->names, l->n, l->cap, s);
    }
    closedir(d);
}

static int in_list(const NameList *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], s)) return 1;
    return 0;
}

/* Removes what a failed run left in dir: every entry not in `before`. */
static void remove_new_files(Pool *p, const char *dir, const NameList *before)
{
    NameList now;
    list_dir(p, dir, &now);
    for (int i = 0; i < now.n; i++)
        if (!in_list(before, now.names[i])) unlink(pool_fmt(p, "%s/%s", dir, now.names[i]));
}

/* The temp dirs hold only plain files we wrote, so one level is enough. */
static void remove_tree(Pool *p, const char *dir)
{
    NameList l;
    list_dir(p, dir, &l);
    for (int i = 0; i < l.n; i++) unlink(pool_fmt(p, "%s/%s", dir, l.names[i]));
    rmdir(dir);
}

static char *make_temp_dir(Pool *p)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char *path = pool_fmt(p, "%s/onnxcc-XXXXXX", tmp);
    return mkdtemp(path) ? path : NULL;
}

/* First lines of a text file, for showing a compiler's complaint. */
static char *file_head(Pool *p, const char *path, int maxlines)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) != 0) return pool_strdup(p, "");
    size_t end = 0;
    int lines = 0;
    while (end < len && lines < maxlines) {
        if (data[end] == '\n') lines++;
        end++;
    }
    char *r = pool_fmt(p, "%.*s", (int)end, (const char *)data);
    free(data);
    return r;
}

/* The first line that says "error" (the compiler's own summary line otherwise). */
static char *first_error_line(Pool *p, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) != 0) return pool_strdup(p, "(no compiler output)");
    char *text = pool_fmt(p, "%.*s", (int)len, (const char *)data);
    free(data);
    char *first_nonempty = NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (!first_nonempty && *line) first_nonempty = line;
        if (strstr(line, "error")) return line;
        line = nl ? nl + 1 : NULL;
    }
    return first_nonempty ? first_nonempty : pool_strdup(p, "(no compiler output)");
}

/* ---- running a child process with a time limit ---- */

typedef struct RunResult {
    int spawned;     /* fork/exec worked */
    int exited;      /* normal exit; status below */
    int status;
    int sig;         /* killed by this signal */
    int timed_out;
} RunResult;

static RunResult run_cmd(char *const argv[], const char *dir, const char *logpath,
                         double timeout_s)
{
    RunResult r;
    memset(&r, 0, sizeof r);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return r;
    if (pid == 0) {
        /* own process group: a timeout kills the compiler's children too */
        setpgid(0, 0);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) {
            dup2(nul, 0);
            close(nul);
        }
        if (dir && chdir(dir) != 0) _exit(126);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    r.spawned = 1;
    double start = now_s();
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            r.spawned = 0;
            return r;
        }
        if (timeout_s > 0 && now_s() - start > timeout_s) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            r.timed_out = 1;
            return r;
        }
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(st)) {
        r.exited = 1;
        r.status = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        r.sig = WTERMSIG(st);
    }
    return r;
}

/* $CC may be a command with arguments ("ccache gcc"). */
static int split_cc(Pool *p, char **argv, int max)
{
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char *s = pool_strdup(p, cc);
    int n = 0;
    for (char *tok = strtok(s, " \t"); tok && n < max; tok = strtok(NULL, " \t")) argv[n++] = tok;
    if (!n) argv[n++] = "cc";
    return n;
}

/* Builds every .c file in dir into dir/PROG_FILE. 0, or -1 with *msg = first error line
 * (and the first lines of the log printed to o->out). */
static int build_dir(const DriverOpts *o, Pool *p, const char *dir, const char *const *flags,
                     char **msg, const Target *t)
{
    NameList files;
    list_dir(p, dir, &files);
    char **argv = pool_alloc(p, sizeof *argv * (size_t)(files.n + 48));
    int n = 0;
    if (t && t->check_cc) argv[n++] = (char *)t->check_cc;   /* a cross compiler */
    else n = split_cc(p, argv, 8);
    for (int i = 0; flags[i]; i++) argv[n++] = (char *)flags[i];
    /* C sources, and the object an LLVM target wrote */
    for (int i = 0; i < files.n; i++) {
        size_t len = strlen(files.names[i]);
        if (len > 2 && (!strcmp(files.names[i] + len - 2, ".c") ||
                        !strcmp(files.names[i] + len - 2, ".o")))
            argv[n++] = files.names[i];
    }
    for (int i = 0; t && t->check_ldflags && t->check_ldflags[i] && i < 8; i++)
        argv[n++] = (char *)t->check_ldflags[i];
    argv[n++] = "-o";
    argv[n++] = PROG_FILE;
    argv[n++] = "-lm";
    argv[n] = NULL;
    char *log = pool_fmt(p, "%s/build.log", dir);
    RunResult r = run_cmd(argv, dir, log, 600);
    if (r.spawned && r.exited && r.status == 0) return 0;
    if (!r.spawned || (r.exited && r.status == 127)) {
        *msg = pool_fmt(p, "cannot run the C compiler '%s'", argv[0]);
        return -1;
    }
    *msg = first_error_line(p, log);
    fprintf(o->out, "C compiler output (first lines):\n%s", file_head(p, log, 12));
    return -1;
}

static char *crash_text(Pool *p, const RunResult *r, double timeout_s)
{
    if (r->timed_out) return pool_fmt(p, "timeout after %g s", timeout_s);
    if (r->sig) return pool_fmt(p, "signal %d (%s)", r->sig, strsignal(r->sig));
    if (!r->spawned) return pool_strdup(p, "could not start the program");
    return pool_fmt(p, "program exited with status %d", r->status);
}

/* ---- compile ---- */

int driver_compile(const DriverOpts *o)
{
    Pool *p = pool_new();
    char *msg = NULL;
    int rc = 1;
    const Target *t = resolve_target(o, p, &msg);
    const char *name = o->name ? o->name : default_name(p, o->model);
    Graph *g = t ? load_infer(o, p, o->model, o->shape_names, o->shape_types, o->nshapes, o->freeze,
                              o->nfreeze, o->out, "", &msg)
                 : NULL;
    if (g && t->backend == BACKEND_HLS) {
        HlsOptions h;
        if (hls_opts(o, p, &h, &msg) != 0 || (msg = hls_fixed_refusals(p, g, &h))) g = NULL;
    }
    KProg *prog = g ? lower_plan(o, g, name, t, p, &msg) : NULL;
    if (!prog) goto done;

    int created_dir = 0;
    struct stat st;
    if (stat(o->outdir, &st) != 0) {
        if (mkdir(o->outdir, 0777) != 0) {
            msg = pool_fmt(p, "%s: cannot create directory: %s", o->outdir, strerror(errno));
            goto done;
        }
        created_dir = 1;
    } else if (!S_ISDIR(st.st_mode)) {
        msg = pool_fmt(p, "%s: not a directory", o->outdir);
        goto done;
    }
    NameList before;
    list_dir(p, o->outdir, &before);
    char *cerr = NULL;
    if (write_code(o, t, prog, o->outdir, &cerr) != 0) {
        msg = pool_strdup(p, cerr ? cerr : "code generation failed");
        free(cerr);
        remove_new_files(p, o->outdir, &before);
        if (created_dir) rmdir(o->outdir);
        goto done;
    }
    if (t->backend == BACKEND_HLS)
        fprintf(o->out, "%s -> %s/%s_hls.h, %s_hls.c, %s_tb.c, %s_hls.tcl (%d functions, "
                "arena %lld bytes)\n", o->model, o->outdir, name, name, name, name, prog->nfuncs,
                (long long)prog->arena_bytes);
    else if (t->backend == BACKEND_NVPTX)
        fprintf(o->out, "%s -> %s/%s.h, %s.ptx, %s_host.c (%d functions, arena %lld bytes)\n",
                o->model, o->outdir, name, name, name, prog->nfuncs, (long long)prog->arena_bytes);
    else
    fprintf(o->out, "%s -> %s/%s.h, %s/%s.%s (%d functions, arena %lld bytes)\n", o->model,
            o->outdir, name, o->outdir, name, t->backend == BACKEND_LLVM ? "o" : "c",
            prog->nfuncs, (long long)prog->arena_bytes);
    rc = 0;
done:
    if (rc) errline(o, msg ? msg : "failed");
    kprog_free(prog);
    pool_free(p);
    return rc;
}

/* ---- report: cost counted from the loop IR ---- */

static int64_t expr_muls(const KExpr *e)
{
    if (!e) return 0;
    int64_t n = e->kind == KE_BIN && e->op == KB_MUL && e->t != DT_IDX;
    return n + expr_muls(e->a) + expr_muls(e->b) + expr_muls(e->c);
}

/* Multiplications executed by a block, loops weighted by their trip counts. Loops with
 * bounds unknown at compile time count once and mark the result approximate. */
static int64_t stmt_macs(const KStmt *s, int *approx)
{
    int64_t total = 0;
    for (; s; s = s->next) {
        switch (s->kind) {
        case KS_FOR: {
            int64_t trip = 1;
            if (s->lo && s->hi && s->lo->kind == KE_CONST && s->hi->kind == KE_CONST)
                trip = s->hi->i > s->lo->i ? s->hi->i - s->lo->i : 0;
            else
                *approx = 1;
            total += trip * stmt_macs(s->body, approx);
            break;
        }
        case KS_IF: {
            /* a guard (padding, bounds) usually wraps the work: count the costlier branch */
            int64_t a = stmt_macs(s->body, approx), b = stmt_macs(s->els, approx);
            total += expr_muls(s->cond) + (a > b ? a : b);
            break;
        }
        case KS_DECL:
        case KS_SET:
            total += expr_muls(s->val);
            break;
        case KS_STORE:
            total += expr_muls(s->val) + expr_muls(s->idx);
            break;
        case KS_CALL: {
            int64_t m = kernel_macs(s->fn, s->args, s->nargs);
            if (m < 0) *approx = 1;
            else total += m;
            break;
        }
        }
    }
    return total;
}

static int64_t tensor_bytes(const KTensor *t)
{
    return t->n * dt_size(t->t);
}

static char *human(Pool *p, int64_t v)
{
    if (v >= 10000000000LL) return pool_fmt(p, "%.2fG", v / 1e9);
    if (v >= 10000000) return pool_fmt(p, "%.2fM", v / 1e6);
    return pool_fmt(p, "%lld", (long long)v);
}

int driver_report(const DriverOpts *o)
{
    Pool *p = pool_new();
    char *msg = NULL;
    int rc = 1;
    KProg *prog = NULL;
    const Target *t = resolve_target(o, p, &msg);
    if (!t) goto done;
    if (access(o->model, R_OK) != 0) {
        msg = pool_fmt(p, "%s: cannot read model: %s", o->model, strerror(errno));
        goto done;
    }
    /* unsupported operators first, all of them, before shapes can fail on one */
    LoadOptions lo;
    memset(&lo, 0, sizeof lo);
    lo.shape_names = o->shape_names;
    lo.shape_types = o->shape_types;
    lo.nshapes = o->nshapes;
    lo.freeze = o->freeze;
    lo.nfreeze = o->nfreeze;
    char *lerr = NULL;
    Graph *g0 = load_model(p, o->model, &lo, &lerr);
    if (!g0) {
        msg = pool_strdup(p, lerr ? lerr : "cannot load the model");
        goto done;
    }
    char *uns = shape_unsupported(g0);
    if (uns) {
        msg = pool_fmt(p, "%s: %s", o->model, uns);
        goto done;
    }
    Graph *g = load_infer(o, p, o->model, o->shape_names, o->shape_types, o->nshapes, o->freeze,
                              o->nfreeze, o->out, "", &msg);
    const char *name = o->name ? o->name : default_name(p, o->model);
    HlsOptions hls;
    if (g && t->backend == BACKEND_HLS) {
        /* every operator HLS refuses, at once: fixed-point refusals, then what the
         * back end cannot print (data-dependent loop bounds ...) */
        if (hls_opts(o, p, &hls, &msg) != 0 || (msg = hls_fixed_refusals(p, g, &hls))) goto done;
    }
    prog = g ? lower_plan(o, g, name, t, p, &msg) : NULL;
    if (!prog) goto done;
    if (t->backend == BACKEND_HLS) {
        char *probs = cgen_hls_check(prog, &hls);
        if (probs) {
            msg = pool_fmt(p, "%s: %s", o->model, probs);
            free(probs);
            goto done;
        }
        char *text = cgen_hls_report(prog, &hls);
        fputs(text, o->out);
        free(text);
        rc = 0;
        goto done;
    }

    FILE *f = o->out;
    fprintf(f, "%-28s %-32s %-32s %14s %12s %12s\n", "node", "op", "outputs", "MACs", "out bytes",
            "live bytes");
    int fi = 0, approx_any = 0;
    int64_t total_macs = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        StrBuf sb;
        sb_init(&sb);
        int64_t obytes = 0;
        for (int k = 0; k < n->nout; k++) {
            const Value *v = n->out[k];
            if (!v) continue;
            sb_printf(&sb, "%s%s", sb.len ? " " : "", type_str(p, &v->type));
            obytes += type_numel(&v->type) * dt_size(v->type.dt);
        }
        const char *macs, *live = "-";
        if (lower_node_folded(n)) {
            macs = "folded";
        } else {
            /* arena bytes live while this node runs (its inputs, outputs and scratch) */
            if (fi < prog->nfuncs) live = human(p, plan_live_bytes(prog, fi));
            int approx = 0;
            int64_t m = fi < prog->nfuncs ? stmt_macs(prog->funcs[fi]->body, &approx) : 0;
            fi++;
            total_macs += m;
            approx_any |= approx;
            macs = pool_fmt(p, "%s%s", approx ? "~" : "", human(p, m));
        }
        /* a fused node's op reads "Conv+BatchNormalization+Add+Relu": shown whole */
        fprintf(f, "%-28.28s %-32s %-32s %14s %12lld %12s\n", n->name, n->op_type,
                sb.buf ? sb.buf : "", macs, (long long)obytes, live);
        sb_free(&sb);
    }
    int64_t wbytes = 0;
    int nweights = 0;
    for (int i = 0; i < prog->ntensors; i++) {
        if (prog->tensors[i].kind != KT_CONST) continue;
        wbytes += tensor_bytes(&prog->tensors[i]);
        nweights++;
    }
    fprintf(f, "total MACs: %s%lld%s\n", approx_any ? "~" : "", (long long)total_macs,
            approx_any ? " (some loop bounds or kernels not known at compile time)" : "");
    /* what the passes did, and the weights the program holds (packed for the kernels,
     * BatchNormalization folded) against the model's own */
    int nfused = 0, nbn0 = 0, nbn = 0, nmw = 0;
    int64_t mwbytes = 0;
    for (int i = 0; i < g->nnodes; i++) {
        nfused += g->nodes[i]->epi != NULL;
        nbn += g->nodes[i]->op == OP_BatchNormalization;
    }
    for (int i = 0; i < g0->nnodes; i++) nbn0 += g0->nodes[i]->op == OP_BatchNormalization;
    for (int i = 0; i < g0->nvalues; i++) {
        const Value *v = g0->values[i];
        if (v->kind != V_WEIGHT || !v->data || !v->has_type || type_numel(&v->type) < 0) continue;
        mwbytes += type_numel(&v->type) * dt_size(v->type.dt);
        nmw++;
    }
    fprintf(f, "passes: %d nodes with a fused epilogue, %d BatchNormalization folded\n", nfused,
            nbn0 - nbn);
    fprintf(f, "weights: %lld bytes in %d tensors (the model's: %lld bytes in %d)\n",
            (long long)wbytes, nweights, (long long)mwbytes, nmw);
    double waste = prog->arena_lower_bound > 0
                       ? 100.0 * (double)(prog->arena_bytes - prog->arena_lower_bound) /
                             (double)prog->arena_lower_bound
                       : 0.0;
    fprintf(f, "arena: planned %lld bytes, lower bound %lld bytes (%.1f%% above); %d tensors "
            "in place, aligned to %lld\n", (long long)prog->arena_bytes,
            (long long)prog->arena_lower_bound, waste, plan_inplace_count(prog),
            (long long)prog->arena_align);
    rc = 0;
done:
    if (rc) errline(o, msg ? msg : "failed");
    kprog_free(prog);
    pool_free(p);
    return rc;
}

/* ---- check ---- */

typedef enum { R_PASS, R_WRONG, R_BUILD, R_UNSUPPORTED, R_ERROR, R_CRASH } ResultKind;

typedef struct Result {
    ResultKind kind;
    const char *detail;
} Result;

static const char *const result_prefix[] = {
    "PASS", "FAIL wrong values: ", "FAIL build error: ", "FAIL unsupported: ",
    "FAIL error: ", "FAIL crash: ",
};

static Result model_error(const char *msg)
{
    Result r = { is_unsupported_msg(msg) ? R_UNSUPPORTED : R_ERROR, msg };
    return r;
}

/* IEEE half and bfloat16 from their bits (host layout is the raw 16-bit pattern). */
static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double elem_float(const void *data, DType t, int64_t i)
{
    switch (t) {
    case DT_F32: { float v; memcpy(&v, (const char *)data + i * 4, 4); return v; }
    case DT_F64: { double v; memcpy(&v, (const char *)data + i * 8, 8); return v; }
    case DT_F16: { uint16_t v; memcpy(&v, (const char *)data + i * 2, 2); return half_to_double(v); }
    case DT_BF16: {
        uint16_t v;
        memcpy(&v, (const char *)data + i * 2, 2);
        uint32_t bits = (uint32_t)v << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    default: return 0;
    }
}

/* Integer element as text (signed or unsigned per type). */
static char *elem_int_str(Pool *p, const void *data, DType t, int64_t i)
{
    const char *c = (const char *)data;
    switch (t) {
    case DT_I8: return pool_fmt(p, "%d", (int)((const int8_t *)c)[i]);
    case DT_U8: return pool_fmt(p, "%u", (unsigned)((const uint8_t *)c)[i]);
    case DT_BOOL: return pool_strdup(p, ((const uint8_t *)c)[i] ? "true" : "false");
    case DT_I16: { int16_t v; memcpy(&v, c + i * 2, 2); return pool_fmt(p, "%d", v); }
    case DT_U16: { uint16_t v; memcpy(&v, c + i * 2, 2); return pool_fmt(p, "%u", v); }
    case DT_I32: { int32_t v; memcpy(&v, c + i * 4, 4); return pool_fmt(p, "%ld", (long)v); }
    case DT_U32: { uint32_t v; memcpy(&v, c + i * 4, 4); return pool_fmt(p, "%lu", (unsigned long)v); }
    case DT_I64: { int64_t v; memcpy(&v, c + i * 8, 8); return pool_fmt(p, "%lld", (long long)v); }
    case DT_U64: { uint64_t v; memcpy(&v, c + i * 8, 8); return pool_fmt(p, "%llu", (unsigned long long)v); }
    default: return pool_strdup(p, "?");
    }
}

static char *index_str(Pool *p, const KTensor *t, int64_t flat)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "[");
    int64_t idx[KIR_MAX_RANK];
    for (int d = t->rank - 1; d >= 0; d--) {
        idx[d] = t->dims[d] ? flat % t->dims[d] : 0;
        flat = t->dims[d] ? flat / t->dims[d] : 0;
    }
    for (int d = 0; d < t->rank; d++) sb_printf(&sb, "%s%lld", d ? "," : "", (long long)idx[d]);
    sb_puts(&sb, "]");
    char *r = pool_strdup(p, sb.buf);
    sb_free(&sb);
    return r;
}

static char *shape_str(Pool *p, DType dt, int rank, const int64_t *dims)
{
    Type t;
    memset(&t, 0, sizeof t);
    t.dt = dt;
    t.rank = rank;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    return type_str(p, &t);
}

/* ONNX test data stores bfloat16/float16 tensors as uint16 bit patterns. */
static int same_dtype(DType model, DType data)
{
    return model == data || ((model == DT_BF16 || model == DT_F16) && data == DT_U16);
}

/* Compares one output; prints its line; returns 0 if it matches, else -1 with *detail. */
static int compare_output(const DriverOpts *o, Pool *p, const KTensor *kt, const Value *exp,
                          const void *got, size_t got_len, const char *prefix, char **detail)
{
    const char *name = kt->src_name && *kt->src_name ? kt->src_name : kt->name;
    FILE *f = o->out;
    char *gshape = shape_str(p, kt->t, kt->rank, kt->dims);
    char *eshape = type_str(p, &exp->type);
    if (!same_dtype(kt->t, exp->type.dt) || kt->rank != exp->type.rank ||
        memcmp(kt->dims, exp->type.dims, sizeof(int64_t) * (size_t)kt->rank) != 0) {
        *detail = pool_fmt(p, "output '%s' is %s, expected %s", name, gshape, eshape);
        fprintf(f, "%soutput '%s': %s, expected %s: MISMATCH\n", prefix, name, gshape, eshape);
        return -1;
    }
    size_t want = (size_t)kt->n * (size_t)dt_size(kt->t);
    if (got_len != want) {
        *detail = pool_fmt(p, "output '%s' file has %zu bytes, expected %zu", name, got_len, want);
        fprintf(f, "%soutput '%s': %s\n", prefix, name, *detail);
        return -1;
    }
    int64_t bad = 0, first = -1;
    double max_abs = 0, max_rel = 0;
    if (dt_is_float(kt->t)) {
        for (int64_t i = 0; i < kt->n; i++) {
            double a = elem_float(got, kt->t, i), e = elem_float(exp->data, kt->t, i);
            int ok;
            if (isnan(a) || isnan(e)) {
                ok = isnan(a) && isnan(e);
            } else if (isinf(a) || isinf(e)) {
                ok = a == e;
            } else {
                double d = fabs(a - e);
                if (d > max_abs) max_abs = d;
                double rel = e != 0 ? d / fabs(e) : (d > 0 ? INFINITY : 0);
                if (rel > max_rel) max_rel = rel;
                ok = d <= o->atol + o->rtol * fabs(e);
            }
            if (!ok && bad++ == 0) first = i;
        }
    } else {
        int sz = dt_size(kt->t);
        for (int64_t i = 0; i < kt->n; i++) {
            const unsigned char *a = (const unsigned char *)got + i * sz;
            const unsigned char *e = (const unsigned char *)exp->data + i * sz;
            int ok = kt->t == DT_BOOL ? (!*a == !*e) : !memcmp(a, e, (size_t)sz);
            if (!ok && bad++ == 0) first = i;
        }
        max_abs = bad ? 1 : 0;   /* integers: exact or not */
        max_rel = max_abs;
    }
    fprintf(f, "%soutput '%s' %s: max abs err %.3g, max rel err %.3g: %s", prefix, name, gshape,
            max_abs, max_rel, bad ? "MISMATCH" : "OK\n");
    if (!bad) return 0;
    char *gv, *ev;
    if (dt_is_float(kt->t)) {
        gv = pool_fmt(p, "%.9g", elem_float(got, kt->t, first));
        ev = pool_fmt(p, "%.9g", elem_float(exp->data, kt->t, first));
    } else {
        gv = elem_int_str(p, got, kt->t, first);
        ev = elem_int_str(p, exp->data, kt->t, first);
    }
    char *where = index_str(p, kt, first);
    fprintf(f, " at %s: got %s, expected %s (%lld of %lld elements)\n", where, gv, ev,
            (long long)bad, (long long)kt->n);
    *detail = pool_fmt(p, "output '%s' at %s: got %s, expected %s (%lld of %lld elements differ)",
                       name, where, gv, ev, (long long)bad, (long long)kt->n);
    return -1;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* check's specialisation: when an operator needs a value at compile time (node tests feed
 * Reshape's shape or Resize's scales as graph inputs), freeze the dataset's value of the
 * graph inputs that value is computed from, through the same mechanism as --freeze, and say
 * so. Each round may uncover the next need (a folded shape feeding another operator), so
 * it repeats while it finds new inputs to freeze. Every small integer (or one-element)
 * input goes with the first round, as before the needs were tracked: parameters such as
 * MelWeightMatrix's sample rate also fix loop bounds that HLS needs constant. `failed`: the
 * graph the first try failed on. NULL with *msg; *nfrozen = how many were frozen
 * automatically. */
static Graph *load_frozen(const DriverOpts *o, Pool *p, const Graph *g0, Graph *failed,
                          const char **names, const Type *types, Value **ins, int nin,
                          const char *prefix, int *nfrozen, char **msg)
{
    Freeze *fz = pool_alloc(p, sizeof *fz * (size_t)(nin + o->nfreeze + 1));
    int nfz = 0;
    for (int i = 0; i < o->nfreeze; i++) fz[nfz++] = o->freeze[i];
    for (int k = 0; k < nin; k++) {
        int user = 0;
        for (int i = 0; i < o->nfreeze; i++) user |= !strcmp(o->freeze[i].name, names[k]);
        if (user) continue;
        int model_input = !g0;   /* not a sequence's element (NAME[K]) */
        for (int j = 0; g0 && j < g0->ninputs; j++)
            model_input |= !strcmp(g0->inputs[j]->name, names[k]) && !value_is_list(g0->inputs[j]);
        if (!model_input) continue;
        DType dt = ins[k]->type.dt;
        int64_t numel = type_numel(&ins[k]->type);
        int small_int = (dt_is_int(dt) || dt == DT_BOOL) && numel <= 4096;
        int same = 1;   /* an input of another type is the model's problem, not a freeze */
        for (int j = 0; g0 && j < g0->ninputs; j++)
            if (!strcmp(g0->inputs[j]->name, names[k])) same = g0->inputs[j]->type.dt == dt;
        if (!same || !(numel <= 1 || small_int)) continue;
        fz[nfz].name = names[k];
        fz[nfz].value = ins[k];
        nfz++;
        (*nfrozen)++;
    }
    for (int round = 0; failed && failed->need && round < 16; round++) {
        Value **behind;
        int nb = graph_inputs_behind(failed, failed->need, &behind), added = 0;
        for (int b = 0; b < nb; b++) {
            int k = 0, dup = 0;
            while (k < nin && strcmp(names[k], behind[b]->name)) k++;
            for (int i = 0; i < nfz && !dup; i++) dup = !strcmp(fz[i].name, behind[b]->name);
            /* a large input is data, not a parameter: specialising to it tests nothing */
            if (k == nin || dup || type_numel(&ins[k]->type) > 4096) continue;
            fz[nfz].name = names[k];
            fz[nfz].value = ins[k];
            nfz++;
            added++;
        }
        if (!added && round > 0) break;   /* round 0 may try the small inputs alone */
        *nfrozen += added;
        if (!*nfrozen) break;
        failed = NULL;
        Graph *g = load_infer_ex(o, p, o->model, names, types, nin, fz, nfz, NULL, prefix, msg,
                                 &failed);
        if (g) {
            note_frozen(p, g, fz, nfz, o->out, prefix);
            return g;
        }
    }
    return NULL;
}

/* Compiles the model for one dataset, builds and runs it, compares. Prints per-output
 * lines; returns the verdict. tmpdir_out: the temp dir (for --keep), or NULL. */
/* ---- target nvptx: ptxas and the CUDA driver ---- */

/* ptxas: $ONNXCC_PTXAS, else on $PATH, else under $CUDA_HOME or the toolkit's usual place. */
static const char *find_ptxas(Pool *p)
{
    const char *env = getenv("ONNXCC_PTXAS");
    if (env && *env) return env;
    if (have_program(p, "ptxas")) return "ptxas";
    const char *home = getenv("CUDA_HOME");
    if (home && *home && access(pool_fmt(p, "%s/bin/ptxas", home), X_OK) == 0)
        return pool_fmt(p, "%s/bin/ptxas", home);
    if (access("/usr/local/cuda/bin/ptxas", X_OK) == 0) return "/usr/local/cuda/bin/ptxas";
    return NULL;
}

/* Before the GPU run of check: the PTX through ptxas for the chosen architecture (when
 * ptxas exists), then a tiny program linked against libcuda.so.1 that initialises the
 * driver and counts devices. No driver or no GPU is an error with its own words, which
 * the conformance-nvptx test reads as "skip". R_PASS when the GPU run can go ahead. */
static Result nvptx_check(const DriverOpts *o, Pool *p, const Target *t, const char *dir,
                          const char *name, const char *prefix)
{
    Result res = { R_PASS, NULL };
    const char *arch = o->cpu ? o->cpu : t->cpu;
    const char *ptxas = find_ptxas(p);
    const char *assembled = "ptxas not found, the PTX was not assembled";
    if (ptxas) {
        char *argv[] = { (char *)ptxas, pool_fmt(p, "-arch=%s", arch), pool_fmt(p, "%s.ptx", name),
                         "-o", "/dev/null", NULL };
        char *log = pool_fmt(p, "%s/ptxas.log", dir);
        RunResult r = run_cmd(argv, dir, log, 600);
        if (!r.spawned || !r.exited || r.status != 0) {
            fprintf(o->out, "%sptxas output (first lines):\n%s", prefix, file_head(p, log, 12));
            res.kind = R_BUILD;
            res.detail = pool_fmt(p, "ptxas -arch=%s: %s", arch, first_error_line(p, log));
            return res;
        }
        unlink(log);
        assembled = pool_fmt(p, "the PTX passed ptxas -arch=%s", arch);
    }
    /* the host code alone, as strictly as the harness: found here even without a driver */
    char *cc[16];
    int n = split_cc(p, cc, 8);
    static const char *const strict[] = { "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                          "-c", "-o", "/dev/null" };
    for (size_t i = 0; i < sizeof strict / sizeof strict[0]; i++) cc[n++] = (char *)strict[i];
    cc[n++] = pool_fmt(p, "%s_host.c", name);
    cc[n] = NULL;
    char *hlog = pool_fmt(p, "%s/host.log", dir);
    RunResult hr = run_cmd(cc, dir, hlog, 600);
    if (!hr.spawned || !hr.exited || hr.status != 0) {
        fprintf(o->out, "%sC compiler output (first lines):\n%s", prefix, file_head(p, hlog, 12));
        res.kind = R_BUILD;
        res.detail = pool_fmt(p, "%s_host.c: %s", name, first_error_line(p, hlog));
        return res;
    }
    unlink(hlog);
    static const char probe[] =
        "/* onnxcc check: is there a CUDA driver and a GPU? */\n"
        "int cuInit(unsigned int flags);\n"
        "int cuDeviceGetCount(int *count);\n"
        "int main(void)\n{\n    int n = 0;\n"
        "    if (cuInit(0) != 0) return 2;\n"
        "    if (cuDeviceGetCount(&n) != 0 || n < 1) return 3;\n"
        "    return 0;\n}\n";
    char *pdir = pool_fmt(p, "%s/probe", dir);
    if (mkdir(pdir, 0777) != 0 ||
        write_file_atomic(pool_fmt(p, "%s/probe.c", pdir), probe, sizeof probe - 1) != 0) {
        return model_error(pool_fmt(p, "cannot write the CUDA driver probe: %s", strerror(errno)));
    }
    n = split_cc(p, cc, 8);
    cc[n++] = "probe.c";
    cc[n++] = "-o";
    cc[n++] = "probe";
    for (int i = 0; t->check_ldflags && t->check_ldflags[i] && n < 15; i++)
        cc[n++] = (char *)t->check_ldflags[i];
    cc[n] = NULL;
    RunResult b = run_cmd(cc, pdir, pool_fmt(p, "%s/build.log", pdir), 120);
    RunResult r = { 0, 0, 0, 0, 0 };
    if (b.spawned && b.exited && b.status == 0) {
        char *pv[] = { "./probe", NULL };
        r = run_cmd(pv, pdir, pool_fmt(p, "%s/run.log", pdir), 60);
    }
    remove_tree(p, pdir);
    if (!(b.spawned && b.exited && b.status == 0))
        return model_error(pool_fmt(p, "no CUDA driver (libcuda.so.1 does not link; %s)", assembled));
    if (!r.exited || r.status != 0)
        return model_error(pool_fmt(p, "no CUDA driver (%s; %s)",
                                    r.exited && r.status == 3 ? "no GPU found"
                                                              : "cuInit failed",
                                    assembled));
    return res;
}

static Result check_dataset(const DriverOpts *o, Pool *p, const char *ds, const char *prefix,
                            char **tmpdir_out)
{
    *tmpdir_out = NULL;
    char *msg = NULL;
    Result res = { R_ERROR, NULL };

    /* the model first: an unsupported operator explains more than unreadable test data */
    if (access(o->model, R_OK) != 0)
        return model_error(pool_fmt(p, "%s: cannot read model: %s", o->model, strerror(errno)));
    LoadOptions lo;
    memset(&lo, 0, sizeof lo);
    lo.unbound_ok = 1;   /* the declared kinds (sequence, optional) say how to read the data */
    char *lerr = NULL;
    /* Loaded without bindings, inputs of unknown dims stay untyped; where it fails anyway,
     * g0 is NULL and the dataset's tensor names say which input is which. */
    Graph *g0 = load_model(p, o->model, &lo, &lerr);
    if (g0) {
        char *uns = shape_unsupported(g0);
        if (uns) return model_error(pool_fmt(p, "%s: %s", o->model, uns));
    }
    if (!file_exists(ds)) return model_error(pool_fmt(p, "%s: no such dataset directory", ds));

    /* dataset inputs: input_0.pb, input_1.pb, ... bound to graph input K by position; a
     * sequence's elements are bound as NAME[0], NAME[1] ... (NAME[] when it is empty), an
     * optional without a value as absent: the compiled API follows the dataset */
    Value **ins = NULL;
    const char **names = NULL, **nones = NULL;
    Type *types = NULL;
    int nin = 0, nnames = 0, ntypes = 0, nfiles = 0, nnone = 0;
    size_t capin = 0, capnames = 0, captypes = 0, capnones = 0;
    for (int k = 0;; k++, nfiles++) {
        char *path = pool_fmt(p, "%s/input_%d.pb", ds, k);
        if (!file_exists(path)) break;
        if (g0 && k >= g0->ninputs)
            return model_error(pool_fmt(p, "%s has more inputs than the model (%d)", ds,
                                        g0->ninputs));
        const Value *gi = g0 ? g0->inputs[k] : NULL;
        char *err = NULL;
        DataFile df;
        if (load_data_file(p, path, gi ? gi->decl : DECL_TENSOR, &df, &err) != 0) {
            if (!g0) return model_error(pool_strdup(p, lerr ? lerr : "cannot load the model"));
            return model_error(pool_strdup(p, err ? err : path));
        }
        const char *nm = gi ? gi->name : df.name;
        if (!nm || !*nm) return model_error(pool_strdup(p, lerr ? lerr : "cannot load the model"));
        if (df.none) VEC_PUSH(p, nones, nnone, capnones, nm);
        if (df.seq && !df.n) {   /* an empty sequence: bound, with no element to pass */
            Value *dummy = pool_alloc(p, sizeof *dummy);
            dummy->type.dt = gi ? gi->type.dt : DT_F32;
            VEC_PUSH(p, names, nnames, capnames, pool_fmt(p, "%s[]", nm));
            VEC_PUSH(p, types, ntypes, captypes, dummy->type);
            VEC_PUSH(p, ins, nin, capin, dummy);
        }
        for (int e = 0; e < df.n; e++) {
            Value *v = df.elems[e];
            if (gi && gi->type.dt && !same_dtype(gi->type.dt, v->type.dt))
                return model_error(pool_fmt(p, "input %d ('%s') is %s in the dataset, %s in "
                                            "the model", k, gi->name, dt_name(v->type.dt),
                                            dt_name(gi->type.dt)));
            VEC_PUSH(p, names, nnames, capnames, df.seq ? pool_fmt(p, "%s[%d]", nm, e) : nm);
            VEC_PUSH(p, types, ntypes, captypes, v->type);
            VEC_PUSH(p, ins, nin, capin, v);
        }
    }
    if (g0 && nfiles != g0->ninputs)
        return model_error(pool_fmt(p, "%s has %d inputs, the model has %d", ds, nfiles,
                                    g0->ninputs));
    DriverOpts lo_opts = *o;   /* the optionals the dataset leaves empty */
    lo_opts.none_names = nones;
    lo_opts.nnone = nnone;
    o = &lo_opts;
    Graph *failed = NULL;
    Graph *g = load_infer_ex(o, p, o->model, names, types, nin, o->freeze, o->nfreeze, o->out,
                             prefix, &msg, &failed);
    if (!g && failed && failed->need) {
        /* An operator needs a value at compile time that comes from graph inputs
         * (Reshape's shape fed as a graph input, as node tests do): compile a model
         * specialised to the dataset's values of those inputs, and say so. */
        char *msg2 = NULL;
        int nfrozen = 0;
        g = load_frozen(o, p, g0, failed, names, types, ins, nin, prefix, &nfrozen, &msg2);
        if (!g && nfrozen) msg = msg2;
    }
    if (!g) return model_error(msg);
    const Target *t = resolve_target(o, p, &msg);
    if (!t) return model_error(msg);
    HlsOptions hls;
    DriverOpts ho;   /* the options, with a fixed-point tolerance where one applies */
    if (t->backend == BACKEND_HLS) {
        if (hls_opts(o, p, &hls, &msg) != 0) return model_error(msg);
        if ((msg = hls_fixed_refusals(p, g, &hls))) return model_error(msg);
        if (hls.fixed) {
            ho = *o;
            hls_fixed_tolerance(&hls, &ho.atol, &ho.rtol);
            fprintf(o->out, "%sfixed<%d,%d>: compared with float results at atol %g, rtol %g\n",
                    prefix, hls.fx_w, hls.fx_i, ho.atol, ho.rtol);
            o = &ho;
        }
    }
    KProg *prog = lower_plan(o, g, o->name ? o->name : default_name(p, o->model), t, p, &msg);
    if (!prog) return model_error(msg);

    char *dir = make_temp_dir(p);
    if (!dir) {
        kprog_free(prog);
        return model_error(pool_fmt(p, "cannot create a temp directory: %s", strerror(errno)));
    }
    *tmpdir_out = dir;
    char *cerr = NULL;
    if (write_code(o, t, prog, dir, &cerr) != 0) {
        res = model_error(pool_strdup(p, cerr ? cerr : "code generation failed"));
        free(cerr);
        goto out;
    }
    char *harness = t->backend == BACKEND_HLS ? cgen_hls_harness(prog, &hls)
                                              : cgen_c_harness(prog);
    if (!harness || write_file_atomic(pool_fmt(p, "%s/%s", dir, HARNESS_FILE), harness,
                                      strlen(harness)) != 0) {
        free(harness);
        res = model_error("cannot write the test harness");
        goto out;
    }
    free(harness);

    char **argv = pool_alloc(p, sizeof *argv * (size_t)(prog->ninputs + prog->noutputs + 10));
    int na = 0;
    for (int k = 0; t->check_exec && t->check_exec[k] && k < 8; k++)
        argv[na++] = (char *)t->check_exec[k];   /* an emulator (qemu-user) */
    argv[na++] = pool_fmt(p, "./%s", PROG_FILE);
    for (int k = 0; k < prog->ninputs; k++) {
        const KTensor *kt = &prog->tensors[prog->inputs[k]];
        int d = 0;   /* frozen inputs are gone from NAME_run: match by model name */
        while (d < nin && strcmp(names[d], kt->src_name)) d++;
        if (d == nin) {
            res = model_error(pool_fmt(p, "program input '%s' is not in the dataset",
                                       kt->src_name));
            goto out;
        }
        char *path = pool_fmt(p, "in_%d.bin", k);
        size_t len = (size_t)kt->n * (size_t)dt_size(kt->t);
        if (write_file_atomic(pool_fmt(p, "%s/%s", dir, path), ins[d]->data, len) != 0) {
            res = model_error("cannot write an input file");
            goto out;
        }
        argv[na++] = path;
    }
    for (int k = 0; k < prog->noutputs; k++) argv[na++] = pool_fmt(p, "out_%d.bin", k);
    argv[na] = NULL;

    static const char *const flags[] = { "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic",
                                         "-Werror", NULL };
    if (t->no_check) {
        res = (Result){ R_UNSUPPORTED, pool_fmt(p, "target %s: %s", t->name, t->no_check) };
        goto out;
    }
    /* cross tools are optional packages: say which one is missing, not "build error" */
    const char *need[2] = { t->check_cc, t->check_exec ? t->check_exec[0] : NULL };
    for (int k = 0; k < 2; k++)
        if (need[k] && !have_program(p, need[k])) {
            res = model_error(pool_fmt(p, "%s missing: target %s needs it to build and run the "
                                       "check (see README.md)", need[k], t->name));
            goto out;
        }
    if (t->backend == BACKEND_NVPTX) {
        Result nr = nvptx_check(o, p, t, dir, prog->name, prefix);
        if (nr.kind != R_PASS) {
            res = nr;
            goto out;
        }
    }
    if (build_dir(o, p, dir, flags, &msg, t) != 0) {
        res.kind = R_BUILD;
        res.detail = msg;
        goto out;
    }
    RunResult rr = run_cmd(argv, dir, pool_fmt(p, "%s/run.log", dir), o->timeout_s);
    if (!rr.exited || rr.status != 0) {
        fprintf(o->out, "%sprogram output (first lines):\n%s", prefix,
                file_head(p, pool_fmt(p, "%s/run.log", dir), 8));
        res.kind = R_CRASH;
        res.detail = crash_text(p, &rr, o->timeout_s);
        goto out;
    }

    res.kind = R_PASS;
    int nmodel_out = 0;   /* the real dims of dynamic outputs follow the model's outputs */
    while (nmodel_out < prog->noutputs && !prog->tensors[prog->outputs[nmodel_out]].dims_for)
        nmodel_out++;
    /* model output M is NAME_run's outputs [first, first + count): one for a tensor, one
     * per element for a sequence, none for an empty optional */
    int first = 0, compared = 0;
    for (int m = 0; m < g->noutputs; m++) {
        const Value *gv = g->outputs[m];
        int count = gv->none ? 0 : gv->seq ? gv->nelems : 1;
        char *epath = pool_fmt(p, "%s/output_%d.pb", ds, m);
        if (file_exists(epath)) compared++;
        if (!file_exists(epath)) {
            fprintf(o->out, "%soutput '%s': no expected data, not compared\n", prefix,
                    gv->name);
            first += count;
            continue;
        }
        char *err = NULL;
        DataFile df;
        if (load_data_file(p, epath, gv->decl, &df, &err) != 0) {
            res = model_error(pool_strdup(p, err ? err : epath));
            goto out;
        }
        if (df.n != count || df.none != gv->none) {
            res.kind = R_WRONG;
            res.detail = pool_fmt(p, "output '%s': the model gives %s, the dataset %s",
                                  gv->name,
                                  gv->none ? "no value" : pool_fmt(p, "%d tensor(s)", count),
                                  df.none ? "no value" : pool_fmt(p, "%d tensor(s)", df.n));
            first += count;
            continue;
        }
        for (int e = 0; e < count; e++) {
            int k = first + e;
            Value *ev = df.elems[e];
            const KTensor *kt = &prog->tensors[prog->outputs[k]];
            unsigned char *got = NULL;
            size_t glen = 0;
            if (read_file(pool_fmt(p, "%s/out_%d.bin", dir, k), &got, &glen) != 0) {
                res.kind = R_CRASH;
                res.detail = pool_fmt(p, "the program wrote no output %d", k);
                goto out;
            }
            KTensor real;   /* a dynamic output: its real dims, from the run's dims array */
            if (kt->dims_t) {
                int dk = 0;
                while (dk < prog->noutputs && prog->outputs[dk] != kt->dims_t - 1) dk++;
                unsigned char *dims = NULL;
                size_t dlen = 0;
                if (dk == prog->noutputs ||
                    read_file(pool_fmt(p, "%s/out_%d.bin", dir, dk), &dims, &dlen) != 0 ||
                    dlen != (size_t)kt->rank * 8) {
                    free(dims);
                    free(got);
                    res.kind = R_CRASH;
                    res.detail = pool_fmt(p, "the program wrote no dims for output %d", k);
                    goto out;
                }
                real = *kt;
                real.n = 1;
                int ok = 1;
                for (int d = 0; d < kt->rank; d++) {
                    memcpy(&real.dims[d], dims + 8 * d, 8);
                    ok &= real.dims[d] >= 0 && real.dims[d] <= kt->dims[d];
                    real.n *= real.dims[d];
                }
                free(dims);
                if (!ok) {
                    free(got);
                    res.kind = R_WRONG;
                    res.detail = pool_fmt(p, "output '%s': the run's dims exceed the bound %s",
                                          kt->src_name, shape_str(p, kt->t, kt->rank, kt->dims));
                    goto out;
                }
                fprintf(o->out, "%soutput '%s': %s at run time (bound %s)\n", prefix, kt->src_name,
                        shape_str(p, kt->t, real.rank, real.dims),
                        shape_str(p, kt->t, kt->rank, kt->dims));
                glen = (size_t)real.n * (size_t)dt_size(kt->t);
                kt = &real;
            }
            char *detail = NULL;
            if (compare_output(o, p, kt, ev, got, glen, prefix, &detail) != 0 && res.kind == R_PASS) {
                res.kind = R_WRONG;
                res.detail = detail;
            }
            free(got);
        }
        first += count;
    }
    if (first != nmodel_out && res.kind == R_PASS) {
        res = model_error(pool_fmt(p, "internal: %d program outputs for the model's %d",
                                   nmodel_out, first));
        goto out;
    }
    if (file_exists(pool_fmt(p, "%s/output_%d.pb", ds, g->noutputs))) {
        fprintf(o->out, "%sthe dataset has more outputs than the model (%d)\n", prefix,
                g->noutputs);
        if (res.kind == R_PASS) res = model_error("the dataset has more outputs than the model");
    }
    /* a verdict needs something to compare: a data set without output_K.pb checks nothing */
    if (!compared && g->noutputs > 0 && res.kind == R_PASS)
        res = model_error(pool_fmt(p, "%s has no output_K.pb: nothing to compare against", ds));
out:
    kprog_free(prog);
    return res;
}

/* The last line of `check` is its verdict, also when the compiler itself crashes (an
 * assertion in an op's lowering): a runner reading that line must not mistake it. */
static void compiler_crashed(int sig)
{
    static const char msg[] = "\nFAIL error: internal compiler error (onnxcc crashed)\n";
    (void)sig;
    if (write(1, msg, sizeof msg - 1) < 0) _exit(1);
    _exit(1);
}

int driver_check(const DriverOpts *o)
{
    if (o->out == stdout) {
        /* line buffered, so nothing printed is lost if compiler_crashed() runs; on a stack
         * of its own, so a stack overflow still gets its verdict line */
        static char altstack[64 * 1024];
        stack_t ss;
        memset(&ss, 0, sizeof ss);
        ss.ss_sp = altstack;
        ss.ss_size = sizeof altstack;
        sigaltstack(&ss, NULL);
        setvbuf(stdout, NULL, _IOLBF, 0);
        static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE };
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = compiler_crashed;
            sa.sa_flags = SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[k], &sa, NULL);
        }
    }
    Pool *p = pool_new();
    Result final = { R_PASS, NULL };
    for (int i = 0; i < o->ndatasets; i++) {
        const char *ds = o->datasets[i];
        const char *prefix = o->ndatasets > 1 ? pool_fmt(p, "[%s] ", base_name(ds)) : "";
        char *dir = NULL;
        Result r = check_dataset(o, p, ds, prefix, &dir);
        if (dir) {
            if (o->keep) fprintf(o->out, "%skept: %s\n", prefix, dir);
            else remove_tree(p, dir);
        }
        if (o->ndatasets > 1)
            fprintf(o->out, "%s%s%s\n", prefix, result_prefix[r.kind], r.detail ? r.detail : "");
        if (r.kind != R_PASS && final.kind == R_PASS) final = r;
    }
    if (final.kind == R_PASS) fprintf(o->out, "PASS\n");
    else fprintf(o->out, "%s%s\n", result_prefix[final.kind], final.detail ? final.detail : "");
    fflush(o->out);
    pool_free(p);
    return final.kind == R_PASS ? 0 : 1;
}

/* ---- bench ---- */

int driver_bench(const DriverOpts *o)
{
    Pool *p = pool_new();
    char *msg = NULL;
    int rc = 1;
    KProg *prog = NULL;
    char *dir = NULL;
    const Target *t = resolve_target(o, p, &msg);
    Graph *g = t ? load_infer(o, p, o->model, o->shape_names, o->shape_types, o->nshapes, o->freeze,
                              o->nfreeze, o->out, "", &msg)
                 : NULL;
    if (g && t->backend == BACKEND_HLS) {
        msg = pool_strdup(p, "bench does not apply to target hls (its C is for synthesis; "
                             "see `onnxcc report --target hls` for cycle estimates)");
        g = NULL;
    }
    if (g && t->no_check) {
        msg = pool_fmt(p, "bench does not apply to target %s: %s", t->name, t->no_check);
        g = NULL;
    }
    prog = g ? lower_plan(o, g, o->name ? o->name : default_name(p, o->model), t, p, &msg) : NULL;
    if (!prog) goto done;
    dir = make_temp_dir(p);
    if (!dir) {
        msg = pool_fmt(p, "cannot create a temp directory: %s", strerror(errno));
        goto done;
    }
    char *cerr = NULL;
    if (write_code(o, t, prog, dir, &cerr) != 0) {
        msg = pool_strdup(p, cerr ? cerr : "code generation failed");
        free(cerr);
        goto done;
    }
    char *harness = cgen_c_harness(prog);
    if (!harness || write_file_atomic(pool_fmt(p, "%s/%s", dir, HARNESS_FILE), harness,
                                      strlen(harness)) != 0) {
        free(harness);
        msg = "cannot write the benchmark harness";
        goto done;
    }
    free(harness);
    static const char *const flags[] = { "-std=c99", "-O2", "-march=native", NULL };
    /* an LLVM target's object is already built for its CPU; the harness needs no tuning */
    static const char *const llvm_flags[] = { "-std=c99", "-O2", NULL };
    if (build_dir(o, p, dir, t->backend == BACKEND_LLVM ? llvm_flags : flags, &msg, t) != 0) {
        msg = pool_fmt(p, "build error: %s", msg);
        goto done;
    }
    char *argv[12];
    int na = 0;
    for (int k = 0; t->check_exec && t->check_exec[k] && k < 8; k++)
        argv[na++] = (char *)t->check_exec[k];
    argv[na++] = "./" PROG_FILE;
    argv[na++] = "--bench";
    argv[na++] = pool_fmt(p, "%d", o->runs);
    argv[na] = NULL;
    char *log = pool_fmt(p, "%s/bench.log", dir);
    RunResult rr = run_cmd(argv, dir, log, o->timeout_s);
    if (!rr.exited || rr.status != 0) {
        msg = pool_fmt(p, "the benchmark crashed: %s", crash_text(p, &rr, o->timeout_s));
        goto done;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    double median = -1;
    if (read_file(log, &data, &len) == 0) {
        char *text = pool_fmt(p, "%.*s", (int)len, (const char *)data);
        free(data);
        char *m = strstr(text, "median_us");
        if (m) median = strtod(m + strlen("median_us"), NULL);
    }
    if (median < 0) {
        msg = "the benchmark printed no 'median_us' line";
        goto done;
    }
    fprintf(o->out, "%-32s %8s %14s\n", "model", "runs", "median_us");
    fprintf(o->out, "%-32s %8d %14.2f\n", o->model, o->runs, median);
    rc = 0;
done:
    if (rc) errline(o, msg ? msg : "failed");
    if (dir) remove_tree(p, dir);
    kprog_free(prog);
    pool_free(p);
    return rc;
}
