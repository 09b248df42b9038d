/* driver.c — owns the work behind the onnxcc commands compile, report and bench, and what
 * every command shares: running the pipeline load -> shape -> lower -> plan -> codegen,
 * temp dirs, building and running the generated C with a time limit (driver_int.h), and
 * reporting per-node cost counted from the loop IR. check lives in check.c. main.c only
 * parses the command line, so the unit tests call these functions directly. */
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
#include "driver_int.h"

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
    progress_done();
    FILE *f = o->err ? o->err : stderr;
    fputs("onnxcc: error: ", f);
    fput_one_line(f, msg);
    fputc('\n', f);
}

const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Default NAME: the model file's basename without extension, as a C identifier. */
char *default_name(Pool *p, const char *model)
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

int is_unsupported_msg(const char *msg)
{
    if (!msg) return 0;
    if (strstr(msg, "unsupported") || strstr(msg, "not supported")) return 1;
    /* "only tensor inputs are supported", "only inference is supported" */
    const char *only = strstr(msg, "only ");
    return only && strstr(only, " supported");
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the pipeline up to a planned program ---- */

/* Loads the model with shape bindings and frozen inputs, says what was frozen (after
 * `prefix`, on `note`; NULL: silent) and infers shapes. NULL with *msg. */
void note_frozen(Pool *p, Graph *g, const Freeze *fz, int nfz, FILE *note,
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
Graph *load_infer_ex(const DriverOpts *o, Pool *p, const char *model,
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
    lo.shapes_from_data = names != o->shape_names; /* check binds its data */
    lo.freeze = fz;
    lo.nfreeze = nfz;
    lo.none_names = o->none_names;
    lo.nnone = o->nnone;
    char *err = NULL;
    progress("load %s", base_name(model));
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
    if (nfz && note) progress_done();   /* the notes start on a clean line */
    note_frozen(p, g, fz, nfz, note, prefix);
    if (max_trip_bind(p, g, o, msg) != 0) return NULL;
    g->max_string = o ? o->max_string : 0;
    progress("infer shapes: %d nodes", g->nnodes);
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
KProg *lower_plan(const DriverOpts *o, Graph *g, const char *name, const Target *t,
                         Pool *p, char **msg)
{
    /* the CPU objects (LLVM) take an extern arena and sections too (firmware links them) */
    if (o->weights_form != WEIGHTS_AUTO && t->backend != BACKEND_C) {
        *msg = pool_fmt(p, "--weights %s needs the C back end (target %s writes the weights "
                        "its own way)", o->weights_form == WEIGHTS_HEX ? "hex" : "bytes", t->name);
        return NULL;
    }
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
    progress("passes: %d nodes", g->nnodes);
    if (passes_run(g, t) != 0) {
        *msg = pool_strdup(p, g->err ? g->err : "graph passes failed");
        return NULL;
    }
    char *err = NULL;
    progress("lower: %d nodes", g->nnodes);
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
    progress("plan: %d functions", prog->nfuncs);
    plan_arena(prog, t->align);
    if (!prog->weights_bin && t->backend == BACKEND_C && o->weights_form != WEIGHTS_HEX) {
        /* auto: the blob's size decides (small models keep the readable hex arrays) */
        int64_t *keep = malloc(sizeof *keep * (size_t)(prog->ntensors + 1));
        if (!keep) {
            *msg = pool_strdup(p, "out of memory");
            kprog_free(prog);
            return NULL;
        }
        for (int i = 0; i < prog->ntensors; i++) keep[i] = prog->tensors[i].offset;
        plan_weights(prog, t->align > 16 ? t->align : 16);
        prog->weights_packed = o->weights_form == WEIGHTS_BYTES ||
                               prog->weights_bytes > WEIGHTS_AUTO_BYTES;
        if (!prog->weights_packed) {
            for (int i = 0; i < prog->ntensors; i++) prog->tensors[i].offset = keep[i];
            prog->weights_bytes = prog->weights_align = 0;
        }
        free(keep);
    }
    if (prog->weights_bin) plan_weights(prog, t->align > 16 ? t->align : 16);
    char verr[512];
    if (plan_validate(prog, verr, sizeof verr) != 0) {
        *msg = pool_fmt(p, "internal: %s", verr);
        kprog_free(prog);
        return NULL;
    }
    progress_done();   /* what follows (a report, a check's lines) starts on a clean line */
    if (prog->weights_packed && prog->weights_bytes > WEIGHTS_BIG_BYTES)
        fprintf(stderr, "onnxcc: note: %lld MiB of weights become ~%lld MiB of C string "
                "literals (gcc: ~0.1 s per MiB); --weights bin builds in seconds (README: Large "
                "weights)\n", (long long)(prog->weights_bytes >> 20),
                (long long)(prog->weights_bytes * 27 / 10 >> 20));
    return prog;
}

const Target *resolve_target(const DriverOpts *o, Pool *p, char **msg)
{
    const char *name = o->target ? o->target : "c";
    const Target *t = target_find(name);
    if (!t) *msg = pool_fmt(p, "unknown target '%s' (known: %s)", name, target_names());
    return t;
}

/* ---- target hls ---- */

/* The --hls-* options. 0, or -1 with *msg. */
int hls_opts(const DriverOpts *o, Pool *p, HlsOptions *h, char **msg)
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
void hls_fixed_tolerance(const HlsOptions *h, double *atol, double *rtol)
{
    double lsb = ldexp(1.0, -(h->fx_w - h->fx_i));
    if (*atol < 32 * lsb) *atol = 32 * lsb;
    if (*rtol < 0.02) *rtol = 0.02;
}

/* Fixed point: every node that computes on float32 with an operator not in ops/fixed.def,
 * all at once. NULL when there is none. */
char *hls_fixed_refusals(Pool *p, const Graph *g, const HlsOptions *h)
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

/* Reference data for the testbench when no test data set is given: inputs from a fixed
 * seed (so NAME_tb.c does not change between runs) and the outputs of the loop IR
 * interpreter, which is float. 0, or -1 with *msg. */
static int hls_reference(const KProg *prog, Pool *p, const void **ins, const void **outs,
                         char **msg)
{
    check_random_inputs(prog, p, 88172645u, NULL, ins);
    char *err = NULL;
    if (check_interp(prog, p, ins, outs, &err) != 0) {
        *msg = pool_fmt(p, "cannot compute the testbench's reference outputs: %s", err);
        return -1;
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
int write_code(const DriverOpts *o, const Target *t, const KProg *prog, const char *dir,
                      char **cerr)
{
    progress("emit %s code: %d functions", t->name, prog->nfuncs);
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
int have_program(Pool *p, const char *prog)
{
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    char *s = pool_strdup(p, path && *path ? path : "/usr/bin:/bin");
    for (char *d = strtok(s, ":"); d; d = strtok(NULL, ":"))
        if (access(pool_fmt(p, "%s/%s", *d ? d : ".", prog), X_OK) == 0) return 1;
    return 0;
}

/* ---- files and directories ---- */

void list_dir(Pool *p, const char *dir, NameList *l)
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
void remove_tree(Pool *p, const char *dir)
{
    NameList l;
    list_dir(p, dir, &l);
    for (int i = 0; i < l.n; i++) unlink(pool_fmt(p, "%s/%s", dir, l.names[i]));
    rmdir(dir);
}

char *make_temp_dir(Pool *p)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char *path = pool_fmt(p, "%s/onnxcc-XXXXXX", tmp);
    return mkdtemp(path) ? path : NULL;
}

/* First lines of a text file, for showing a compiler's complaint. */
char *file_head(Pool *p, const char *path, int maxlines)
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
char *first_error_line(Pool *p, const char *path)
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

RunResult run_cmd(char *const argv[], const char *dir, const char *logpath,
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
int split_cc(Pool *p, char **argv, int max)
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
int build_dir(const DriverOpts *o, Pool *p, const char *dir, const char *const *flags,
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
    progress_done();
    fprintf(o->out, "C compiler output (first lines):\n%s", file_head(p, log, 12));
    return -1;
}

char *crash_text(Pool *p, const RunResult *r, double timeout_s)
{
    if (r->timed_out) return pool_fmt(p, "timeout after %g s", timeout_s);
    if (r->sig) return pool_fmt(p, "signal %d (%s)", r->sig, strsignal(r->sig));
    if (!r->spawned) return pool_strdup(p, "could not start the program");
    return pool_fmt(p, "program exited with status %d", r->status);
}

/* ---- compile ---- */

/* Creates dir and its missing parents (compile -o a/b/c), recording those it made so a
 * failed compile leaves the file system as it found it. */
static int create_out_dirs(Pool *p, const char *dir, NameList *created, char **msg)
{
    memset(created, 0, sizeof *created);
    char *path = pool_strdup(p, dir);
    size_t n = strlen(path);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != 0) continue;
        if (path[i - 1] == '/') continue;
        char c = path[i];
        path[i] = 0;
        struct stat st;
        if (stat(path, &st) != 0) {
            if (mkdir(path, 0777) != 0) {
                *msg = pool_fmt(p, "%s: cannot create directory: %s", path, strerror(errno));
                for (int k = created->n - 1; k >= 0; k--) rmdir(created->names[k]);
                return -1;
            }
            char *made = pool_strdup(p, path);
            VEC_PUSH(p, created->names, created->n, created->cap, made);
        } else if (!S_ISDIR(st.st_mode)) {
            *msg = pool_fmt(p, "%s: not a directory", path);
            for (int k = created->n - 1; k >= 0; k--) rmdir(created->names[k]);
            return -1;
        }
        path[i] = c;
    }
    return 0;
}

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

    NameList created;
    if (create_out_dirs(p, o->outdir, &created, &msg) != 0) goto done;
    NameList before;
    list_dir(p, o->outdir, &before);
    char *cerr = NULL;
    if (write_code(o, t, prog, o->outdir, &cerr) != 0) {
        msg = pool_strdup(p, cerr ? cerr : "code generation failed");
        free(cerr);
        remove_new_files(p, o->outdir, &before);
        for (int i = created.n - 1; i >= 0; i--) rmdir(created.names[i]);
        goto done;
    }
    progress_done();
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
    progress_done();
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

int64_t driver_func_macs(const KFunc *f, int *approx)
{
    *approx = 0;
    return f ? stmt_macs(f->body, approx) : 0;
}

char *driver_refusals(const DriverOpts *o, Pool *p, const Target *t)
{
    /* the firmware API options belong to the report's own target: left on, every other
     * target would refuse them rather than an operator */
    DriverOpts to = *o;
    to.target = t->name;
    to.arena_extern = to.weights_bin = to.io_in_arena = 0;
    to.section_arena = to.section_weights = NULL;
    if ((t->backend == BACKEND_LLVM || t->backend == BACKEND_NVPTX) && !cgen_llvm_available())
        return pool_fmt(p, "onnxcc was built without the LLVM back end (meson option llvm)");
    char *msg = NULL;
    HlsOptions hls;
    memset(&hls, 0, sizeof hls);
    Graph *g = load_infer(&to, p, o->model, o->shape_names, o->shape_types, o->nshapes,
                          o->freeze, o->nfreeze, NULL, "", &msg);
    if (g && t->backend == BACKEND_HLS &&
        (hls_opts(&to, p, &hls, &msg) != 0 || (msg = hls_fixed_refusals(p, g, &hls))))
        return msg;
    KProg *prog = g ? lower_plan(&to, g, "m", t, p, &msg) : NULL;
    if (prog && t->backend == BACKEND_HLS) {
        char *probs = cgen_hls_check(prog, &hls);
        msg = probs ? pool_strdup(p, probs) : NULL;
        free(probs);
    }
    kprog_free(prog);
    return msg;
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
        if (o->html && rhtml_write(o, g0, g, prog, p, &msg) < 0) goto done;
        char *text = cgen_hls_report(prog, &hls);
        fputs(text, o->out);
        free(text);
        rc = 0;
        goto done;
    }

    if (o->html && rhtml_write(o, g0, g, prog, p, &msg) < 0) goto done;
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
    progress_done();
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
