/* check.c — owns `onnxcc check`: with data sets (ONNX test-data layout, compared with
 * output_K.pb) and without (seeded pseudo-random inputs, compared with the loop-IR
 * interpreter run on a kernel-free lowering of the same model). Both paths share the
 * lowering for the target, the build and run of the generated code with its harness, and the
 * comparison with tolerances; the verdict is always the last line of output, even when
 * onnxcc itself crashes. The shared pipeline and process helpers are driver.c's
 * (driver_int.h). */
#define _XOPEN_SOURCE 700   /* sigaltstack, SA_ONSTACK */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "driver_int.h"

/* Self-check tolerances (no data set: the reference is the interpreter). Both sides compute
 * in float32, but in different orders: the interpreter sums each dot product left to right,
 * the kernels in blocks, with FMA, through Winograd transforms or their own exp/tanh
 * polynomials (within 2e-7). The difference of two float32 sums of K terms is up to about
 * K * 2^-24 times the sum of the terms' magnitudes, so an output that cancels to near zero
 * needs an absolute bound: with inputs in [-1, 1) and K in the thousands, 1e-4 covers it
 * after a few layers, while any real miscompilation (a wrong index, a lost term) is off by
 * far more. Relative: ONNX's 1e-3. --rtol/--atol replace either. */
#define SELF_RTOL 1e-3
#define SELF_ATOL 1e-4


/* ---- verdicts and comparison ---- */

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

/* A string for messages: quoted, at most 40 bytes, control bytes and quotes escaped. */
static char *quote_str(Pool *p, const unsigned char *s, size_t len)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "\"");
    for (size_t i = 0; i < len && i < 40; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            sb_printf(&sb, "\\x%02x", s[i]);
        else
            sb_printf(&sb, "%c", s[i]);
    }
    sb_puts(&sb, len > 40 ? "\"..." : "\"");
    char *r = pool_strdup(p, sb.buf);
    sb_free(&sb);
    return r;
}

static size_t cell_len(const unsigned char *c, int64_t cap)
{
    size_t n = 0;
    while ((int64_t)n < cap - 1 && c[n]) n++;
    return n;
}

/* compare_output for a string tensor (kt->str_cap: cells of that many bytes): exact. */
static int compare_strings(const DriverOpts *o, Pool *p, const KTensor *kt, const Value *exp,
                           const void *got, size_t got_len, const char *prefix, char **detail)
{
    const char *name = kt->src_name && *kt->src_name ? kt->src_name : kt->name;
    int64_t cap = kt->str_cap, count = kt->n / cap;
    char *gshape = shape_str(p, DT_STRING, kt->rank - 1, kt->dims);
    char *eshape = type_str(p, &exp->type);
    if (exp->type.dt != DT_STRING || kt->rank - 1 != exp->type.rank ||
        memcmp(kt->dims, exp->type.dims, sizeof(int64_t) * (size_t)exp->type.rank) != 0) {
        *detail = pool_fmt(p, "output '%s' is %s, expected %s", name, gshape, eshape);
        fprintf(o->out, "%soutput '%s': %s, expected %s: MISMATCH\n", prefix, name, gshape,
                eshape);
        return -1;
    }
    if (got_len != (size_t)kt->n) {
        *detail = pool_fmt(p, "output '%s' file has %zu bytes, expected %lld", name, got_len,
                           (long long)kt->n);
        fprintf(o->out, "%soutput '%s': %s\n", prefix, name, *detail);
        return -1;
    }
    const char *const *e = exp->data;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < count; i++) {
        const unsigned char *c = (const unsigned char *)got + i * cap;
        size_t len = cell_len(c, cap);
        if ((len != strlen(e[i]) || memcmp(c, e[i], len)) && bad++ == 0) first = i;
    }
    fprintf(o->out, "%soutput '%s' %s: exact: %s", prefix, name, gshape,
            bad ? "MISMATCH" : "OK\n");
    if (!bad) return 0;
    KTensor shown = *kt;
    shown.rank--;
    char *where = index_str(p, &shown, first);
    const unsigned char *c = (const unsigned char *)got + first * cap;
    char *gv = quote_str(p, c, cell_len(c, cap));
    char *ev = quote_str(p, (const unsigned char *)e[first], strlen(e[first]));
    fprintf(o->out, " at %s: got %s, expected %s (%lld of %lld strings)\n", where, gv, ev,
            (long long)bad, (long long)count);
    *detail = pool_fmt(p, "output '%s' at %s: got %s, expected %s (%lld of %lld strings differ)",
                       name, where, gv, ev, (long long)bad, (long long)count);
    return -1;
}

/* Compares one output; prints its line; returns 0 if it matches, else -1 with *detail. */
static int compare_output(const DriverOpts *o, Pool *p, const KTensor *kt, const Value *exp,
                          const void *got, size_t got_len, const char *prefix, char **detail)
{
    if (kt->str_cap) return compare_strings(o, p, kt, exp, got, got_len, prefix, detail);
    const char *name = kt->src_name && *kt->src_name ? kt->src_name : kt->name;
    FILE *f = o->out;
    DType mt = kt->model_t ? kt->model_t : kt->t;   /* float8 ...: compared as bytes */
    char *gshape = shape_str(p, mt, kt->rank, kt->dims);
    char *eshape = type_str(p, &exp->type);
    if (!same_dtype(mt, exp->type.dt) || kt->rank != exp->type.rank ||
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


/* ---- compile, build and run: shared by the data-set check and the self-check ---- */

/* The target and its options for one check; o is the caller's options with a fixed-point
 * tolerance where one applies. */
typedef struct CheckTarget {
    const Target *t;
    HlsOptions hls;
    DriverOpts o;
} CheckTarget;

/* Lowers and plans g for the check's target. NULL with *res. */
static KProg *check_lower(const DriverOpts *o, Pool *p, Graph *g, const char *prefix,
                          CheckTarget *ct, Result *res)
{
    char *msg = NULL;
    memset(ct, 0, sizeof *ct);
    ct->o = *o;
    ct->t = resolve_target(o, p, &msg);
    if (!ct->t) {
        *res = model_error(msg);
        return NULL;
    }
    if (ct->t->backend == BACKEND_HLS) {
        if (hls_opts(o, p, &ct->hls, &msg) != 0 || (msg = hls_fixed_refusals(p, g, &ct->hls))) {
            *res = model_error(msg);
            return NULL;
        }
        if (ct->hls.fixed) {
            progress_done();
            hls_fixed_tolerance(&ct->hls, &ct->o.atol, &ct->o.rtol);
            fprintf(o->out, "%sfixed<%d,%d>: compared with float results at atol %g, rtol %g\n",
                    prefix, ct->hls.fx_w, ct->hls.fx_i, ct->o.atol, ct->o.rtol);
        }
    }
    KProg *prog = lower_plan(&ct->o, g, o->name ? o->name : default_name(p, o->model), ct->t, p,
                             &msg);
    if (!prog) *res = model_error(msg);
    return prog;
}

/* Writes prog's code, the harness and the inputs (in_data[k]: the bytes of program input
 * k) into a new temp dir (*dir, NULL if none could be made), builds and runs it: the
 * outputs are then dir/out_K.bin. R_PASS, or the verdict. */
static Result build_and_run(const CheckTarget *ct, Pool *p, const KProg *prog,
                            const void *const *in_data, const char *prefix, char **dir)
{
    const DriverOpts *o = &ct->o;
    const Target *t = ct->t;
    Result res = { R_ERROR, NULL };
    char *msg = NULL;
    if (t->no_check)   /* firmware objects: no hosted harness runs them */
        return (Result){ R_UNSUPPORTED, pool_fmt(p, "target %s: %s", t->name, t->no_check) };
    *dir = make_temp_dir(p);
    if (!*dir)
        return model_error(pool_fmt(p, "cannot create a temp directory: %s", strerror(errno)));
    char *cerr = NULL;
    progress("emit %s code", t->name);
    if (write_code(o, t, prog, *dir, &cerr) != 0) {
        res = model_error(pool_strdup(p, cerr ? cerr : "code generation failed"));
        free(cerr);
        return res;
    }
    char *harness = t->backend == BACKEND_HLS ? cgen_hls_harness(prog, &ct->hls)
                                              : cgen_c_harness(prog);
    if (!harness || write_file_atomic(pool_fmt(p, "%s/%s", *dir, HARNESS_FILE), harness,
                                      strlen(harness)) != 0) {
        free(harness);
        return model_error("cannot write the test harness");
    }
    free(harness);

    char **argv = pool_alloc(p, sizeof *argv * (size_t)(prog->ninputs + prog->noutputs + 10));
    int na = 0;
    for (int k = 0; t->check_exec && t->check_exec[k] && k < 8; k++)
        argv[na++] = (char *)t->check_exec[k];   /* an emulator (qemu-user) */
    argv[na++] = pool_fmt(p, "./%s", PROG_FILE);
    for (int k = 0; k < prog->ninputs; k++) {
        const KTensor *kt = &prog->tensors[prog->inputs[k]];
        char *path = pool_fmt(p, "in_%d.bin", k);
        size_t len = (size_t)kt->n * (size_t)dt_size(kt->t);
        if (write_file_atomic(pool_fmt(p, "%s/%s", *dir, path), in_data[k], len) != 0)
            return model_error("cannot write an input file");
        argv[na++] = path;
    }
    for (int k = 0; k < prog->noutputs; k++) argv[na++] = pool_fmt(p, "out_%d.bin", k);
    argv[na] = NULL;

    static const char *const flags[] = { "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic",
                                         "-Werror", NULL };
    /* cross tools are optional packages: say which one is missing, not "build error" */
    const char *need[2] = { t->check_cc, t->check_exec ? t->check_exec[0] : NULL };
    for (int k = 0; k < 2; k++)
        if (need[k] && !have_program(p, need[k]))
            return model_error(pool_fmt(p, "%s missing: target %s needs it to build and run "
                                        "the check (see README.md)", need[k], t->name));
    if (t->backend == BACKEND_NVPTX) {
        Result nr = nvptx_check(o, p, t, *dir, prog->name, prefix);
        if (nr.kind != R_PASS) return nr;
    }
    progress("build");
    if (build_dir(o, p, *dir, flags, &msg, t) != 0) {
        res.kind = R_BUILD;
        res.detail = msg;
        return res;
    }
    progress("run");
    RunResult rr = run_cmd(argv, *dir, pool_fmt(p, "%s/run.log", *dir), o->timeout_s);
    progress_done();
    if (!rr.exited || rr.status != 0) {
        fprintf(o->out, "%sprogram output (first lines):\n%s", prefix,
                file_head(p, pool_fmt(p, "%s/run.log", *dir), 8));
        res.kind = R_CRASH;
        res.detail = crash_text(p, &rr, o->timeout_s);
        return res;
    }
    res.kind = R_PASS;
    return res;
}

/* Program output k of a run in dir: *got (malloc'd) and *glen; *kt becomes a copy with the
 * real dims of a dynamic output (read from its dims array, printed). 0, or -1 with *res. */
static int read_output(const DriverOpts *o, Pool *p, const KProg *prog, const char *dir, int k,
                       KTensor *kt, unsigned char **got, size_t *glen, const char *prefix,
                       Result *res)
{
    *kt = prog->tensors[prog->outputs[k]];
    *got = NULL;
    if (read_file(pool_fmt(p, "%s/out_%d.bin", dir, k), got, glen) != 0) {
        res->kind = R_CRASH;
        res->detail = pool_fmt(p, "the program wrote no output %d", k);
        return -1;
    }
    if (!kt->dims_t) return 0;
    int dk = 0;
    while (dk < prog->noutputs && prog->outputs[dk] != kt->dims_t - 1) dk++;
    unsigned char *dims = NULL;
    size_t dlen = 0;
    int rank = kt->rank - (kt->str_cap ? 1 : 0);   /* a string's cell is not counted */
    if (dk == prog->noutputs || read_file(pool_fmt(p, "%s/out_%d.bin", dir, dk), &dims, &dlen) != 0 ||
        dlen != (size_t)rank * 8) {
        free(dims);
        free(*got);
        *got = NULL;
        res->kind = R_CRASH;
        res->detail = pool_fmt(p, "the program wrote no dims for output %d", k);
        return -1;
    }
    const KTensor *bound = &prog->tensors[prog->outputs[k]];
    kt->n = kt->str_cap ? kt->str_cap : 1;
    int ok = 1;
    for (int d = 0; d < rank; d++) {
        memcpy(&kt->dims[d], dims + 8 * d, 8);
        ok &= kt->dims[d] >= 0 && kt->dims[d] <= bound->dims[d];
        kt->n *= kt->dims[d];
    }
    free(dims);
    if (!ok) {
        free(*got);
        *got = NULL;
        res->kind = R_WRONG;
        res->detail = pool_fmt(p, "output '%s': the run's dims exceed the bound %s",
                               kt->src_name, shape_str(p, kt->t, rank, bound->dims));
        return -1;
    }
    DType shown = kt->str_cap ? DT_STRING : kt->t;
    fprintf(o->out, "%soutput '%s': %s at run time (bound %s)\n", prefix, kt->src_name,
            shape_str(p, shown, rank, kt->dims), shape_str(p, shown, rank, bound->dims));
    *glen = (size_t)kt->n * (size_t)dt_size(kt->t);
    return 0;
}

/* Compiles the model for one dataset, builds and runs it, compares. Prints per-output
 * lines; returns the verdict. tmpdir_out: the temp dir (for --keep), or NULL. */
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
    if (!o->max_string) {   /* string cells as long as the data's longest, at least the default */
        for (int i = 0; i < nin; i++) {
            if (ins[i]->type.dt != DT_STRING || !ins[i]->data) continue;
            const char *const *s = ins[i]->data;
            for (int64_t e = 0; e < type_numel(&ins[i]->type); e++)
                if ((int64_t)strlen(s[e]) > lo_opts.max_string)
                    lo_opts.max_string = (int64_t)strlen(s[e]);
        }
        if (lo_opts.max_string <= ONNXCC_DEFAULT_MAX_STRING) lo_opts.max_string = 0;
    }
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
    CheckTarget ct;
    KProg *prog = check_lower(o, p, g, prefix, &ct, &res);
    if (!prog) return res;
    o = &ct.o;
    const void **in_data = pool_alloc(p, sizeof *in_data * (size_t)(prog->ninputs + 1));
    for (int k = 0; k < prog->ninputs; k++) {
        const KTensor *kt = &prog->tensors[prog->inputs[k]];
        int d = 0;   /* frozen inputs are gone from NAME_run: match by model name */
        while (d < nin && strcmp(names[d], kt->src_name)) d++;
        if (d == nin) {
            res = model_error(pool_fmt(p, "program input '%s' is not in the dataset",
                                       kt->src_name));
            goto out;
        }
        in_data[k] = ins[d]->data;
        if (kt->str_cap) {   /* strings: one NUL-terminated cell each */
            int64_t cap = kt->str_cap;
            unsigned char *cells = pool_alloc(p, (size_t)(kt->n ? kt->n : 1));
            memset(cells, 0, (size_t)kt->n);
            const char *const *s = ins[d]->data;
            for (int64_t i = 0; i < kt->n / cap; i++) {
                size_t len = strlen(s[i]);
                if ((int64_t)len > cap - 1) {
                    res = model_error(pool_fmt(p, "input '%s' holds a string of %zu bytes, "
                                               "longer than --max-string %lld", kt->src_name,
                                               len, (long long)(cap - 1)));
                    goto out;
                }
                memcpy(cells + i * cap, s[i], len);
            }
            in_data[k] = cells;
        }
    }
    res = build_and_run(&ct, p, prog, in_data, prefix, tmpdir_out);
    if (res.kind != R_PASS) goto out;

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
            KTensor kt;
            unsigned char *got = NULL;
            size_t glen = 0;
            Result rr = res;
            if (read_output(o, p, prog, *tmpdir_out, first + e, &kt, &got, &glen, prefix,
                            &rr) != 0) {
                res = rr;
                goto out;
            }
            char *detail = NULL;
            if (compare_output(o, p, &kt, df.elems[e], got, glen, prefix, &detail) != 0 &&
                res.kind == R_PASS) {
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

/* ---- the interpreter as reference: pseudo-random inputs ---- */

/* splitmix64: every seed, 0 included, gives a well mixed stream */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* float32 -> IEEE binary16 / bfloat16 bits, round to nearest even; the values drawn are
 * in [-1, 1), so neither overflow nor NaN needs a case */
static uint16_t f32_to_bits16(DType t, float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if (t == DT_BF16) return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    float a = fabsf(f);
    if (a < ldexpf(1, -24)) return sign;
    int e;
    float m = frexpf(a, &e);   /* a = m * 2^e, m in [0.5, 1) */
    if (e < -13) {             /* subnormal: units of 2^-24 */
        return (uint16_t)(sign | (uint16_t)lrintf(ldexpf(a, 24)));
    }
    uint32_t mant = (uint32_t)lrintf(ldexpf(m, 11));   /* 1024..2048 */
    if (mant == 2048) {
        mant = 1024;
        e++;
    }
    return (uint16_t)(sign | (uint16_t)((e + 14) << 10) | (uint16_t)(mant - 1024));
}

void check_random_inputs(const KProg *prog, Pool *p, uint64_t seed, const IntRange *int_range,
                         const void **ins)
{
    uint64_t s = seed;
    for (int i = 0; i < prog->ninputs; i++) {
        const KTensor *t = &prog->tensors[prog->inputs[i]];
        int sz = dt_size(t->t);
        unsigned char *d = pool_alloc(p, (size_t)(t->n > 0 ? t->n : 1) * (size_t)(sz > 0 ? sz : 1));
        IntRange r2 = { 0, 2 };
        if (int_range && int_range[i].hi > int_range[i].lo) r2 = int_range[i];
        for (int64_t k = 0; k < t->n; k++) {
            uint64_t r = next_rand(&s);
            double v = (double)(r >> 11) * 0x1p-52 - 1.0;   /* [-1, 1) */
            unsigned char *e = d + k * sz;
            switch (t->t) {
            case DT_F32: { float f = (float)v; memcpy(e, &f, 4); break; }
            case DT_F64: memcpy(e, &v, 8); break;
            case DT_F16: case DT_BF16: {
                uint16_t h = f32_to_bits16(t->t, (float)v);
                memcpy(e, &h, 2);
                break;
            }
            case DT_BOOL: *e = (unsigned char)(r & 1); break;
            default: {
                /* little-endian hosts and targets: the low bytes hold a small value */
                int64_t iv = r2.lo + (int64_t)(r % (uint64_t)(r2.hi - r2.lo));
                memcpy(e, &iv, (size_t)sz < sizeof iv ? (size_t)sz : sizeof iv);
                break;
            }
            }
        }
        ins[i] = d;
    }
}

int check_interp(const KProg *prog, Pool *p, const void *const *ins, const void **outs,
                 char **msg)
{
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
        progress("reference: interpreting %d/%d functions", fi + 1, prog->nfuncs);
        char err[256];
        if (kir_interp(f, mem, err, sizeof err) != 0) {
            *msg = pool_strdup(p, err);
            return -1;
        }
    }
    return 0;
}

/* The random values of an integer graph input: small and non-negative (0..3); where it is
 * directly the indices of a gather or scatter, below the size of the axis it indexes, so
 * every index is in range; where it is directly a divisor, not 0. */
static IntRange int_input_range(const Graph *g, const Value *in)
{
    IntRange r = { 0, 4 };
    if (!dt_is_int(in->type.dt)) return r;
    int64_t bound = 4;
    for (int i = 0; i < g->nnodes; i++)
        if ((g->nodes[i]->op == OP_Div || g->nodes[i]->op == OP_Mod) &&
            node_in(g->nodes[i], 1) == in)
            r.lo = 1;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const Value *data = node_in(n, 0);
        if (node_in(n, 1) != in || !data || !data->has_type || data->type.rank < 1) continue;
        int64_t ext = -1;
        switch (n->op) {
        case OP_Gather: case OP_GatherElements: case OP_ScatterElements: {
            int64_t axis = attr_i(n, "axis", 0);
            if (axis < 0) axis += data->type.rank;
            if (axis >= 0 && axis < data->type.rank) ext = data->type.dims[axis];
            break;
        }
        case OP_GatherND: case OP_ScatterND:
            /* the last index axis runs over the leading data axes: the smallest fits all */
            for (int d = (int)attr_i(n, "batch_dims", 0); d < data->type.rank; d++)
                if (ext < 0 || data->type.dims[d] < ext) ext = data->type.dims[d];
            break;
        default: break;
        }
        if (ext >= 1 && ext < bound) bound = ext;
        if (ext == 0) bound = 1;
    }
    r.hi = r.lo + bound;
    return r;
}

/* One self-check: seeded pseudo-random inputs, the generated code built and run on them,
 * its outputs compared with the loop-IR interpreter's on a second lowering of the model
 * without runtime kernels or target passes (so kernels, fusions and the back end are what
 * is checked, not compared with themselves). */
static Result check_self(const DriverOpts *o, Pool *p, char **tmpdir_out)
{
    *tmpdir_out = NULL;
    char *msg = NULL;
    Result res = { R_ERROR, NULL };
    if (access(o->model, R_OK) != 0)
        return model_error(pool_fmt(p, "%s: cannot read model: %s", o->model, strerror(errno)));
    uint64_t seed = o->seed_set ? o->seed
                                : ((uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid()) %
                                      1000000000u;
    fprintf(o->out, "seed %llu: inputs are pseudo-random (--seed %llu repeats them), the "
            "reference is the loop-IR interpreter\n", (unsigned long long)seed,
            (unsigned long long)seed);
    Graph *failed = NULL;
    Graph *g = load_infer_ex(o, p, o->model, o->shape_names, o->shape_types, o->nshapes,
                             o->freeze, o->nfreeze, o->out, "", &msg, &failed);
    if (!g && failed && failed->need) {
        Value **behind;
        int nb = graph_inputs_behind(failed, failed->need, &behind);
        StrBuf sb;
        sb_init(&sb);
        for (int b = 0; b < nb; b++)
            sb_printf(&sb, "%s--freeze %s=VALUES", b ? " " : "", behind[b]->name);
        if (nb) {
            /* not a missing feature: the model compiles once the value is given */
            res.detail = pool_fmt(p, "%s; random inputs cannot give a value needed at compile "
                                  "time: pass %s, or check with a data set", msg, sb.buf);
            sb_free(&sb);
            return res;
        }
        sb_free(&sb);
    }
    if (!g) return model_error(msg);
    for (int i = 0; i < g->nvalues; i++)   /* string kernels have no loop-IR twin */
        if (g->values[i]->has_type && g->values[i]->type.dt == DT_STRING)
            return (Result){ R_UNSUPPORTED,
                             pool_fmt(p, "%s: value '%s' is a string tensor: the self-check's "
                                      "reference, the loop-IR interpreter, does not run string "
                                      "operations (runtime kernels); check with a data set",
                                      o->model, g->values[i]->name) };
    /* before the passes rewrite g: which integer inputs index what */
    IntRange *grange = pool_alloc(p, sizeof *grange * (size_t)(g->ninputs + 1));
    for (int i = 0; i < g->ninputs; i++) grange[i] = int_input_range(g, g->inputs[i]);
    Graph *gref = load_infer_ex(o, p, o->model, o->shape_names, o->shape_types, o->nshapes,
                                o->freeze, o->nfreeze, NULL, "", &msg, NULL);
    if (!gref) return model_error(msg);

    CheckTarget ct;
    KProg *prog = check_lower(o, p, g, "", &ct, &res);
    if (!prog) return res;
    /* self-check tolerances: see SELF_RTOL */
    if (!(o->tol_set & 1) && ct.o.rtol < SELF_RTOL) ct.o.rtol = SELF_RTOL;
    if (!(o->tol_set & 2) && ct.o.atol < SELF_ATOL) ct.o.atol = SELF_ATOL;
    const DriverOpts *co = &ct.o;
    KProg *ref = NULL;
    DriverOpts ro = *o;   /* the reference uses the default API: only values are compared */
    ro.arena_extern = ro.weights_bin = ro.io_in_arena = 0;
    ro.section_arena = ro.section_weights = NULL;
    static const char *const no_kernels[] = { NULL };
    Target rt = *target_find("c");
    rt.kernels = no_kernels;
    ref = lower_plan(&ro, gref, prog->name, &rt, p, &msg);
    if (!ref) {
        res = model_error(msg);
        goto out;
    }
    if (ref->ninputs != prog->ninputs || ref->noutputs != prog->noutputs) {
        res = model_error(pool_fmt(p, "internal: the reference has %d inputs and %d outputs, "
                                   "the program %d and %d", ref->ninputs, ref->noutputs,
                                   prog->ninputs, prog->noutputs));
        goto out;
    }
    IntRange *range = pool_alloc(p, sizeof *range * (size_t)(prog->ninputs + 1));
    StrBuf ints;   /* the integer inputs, named when the interpreter indexes out of range */
    sb_init(&ints);
    for (int k = 0; k < prog->ninputs; k++) {
        const KTensor *kt = &prog->tensors[prog->inputs[k]];
        for (int i = 0; i < g->ninputs; i++)
            if (!strcmp(g->inputs[i]->name, kt->src_name)) range[k] = grange[i];
        if (dt_is_int(kt->t)) sb_printf(&ints, "%s--freeze %s=VALUES", ints.len ? ", " : "",
                                        kt->src_name);
    }
    const void **in_data = pool_alloc(p, sizeof *in_data * (size_t)(prog->ninputs + 1));
    const void **exp = pool_alloc(p, sizeof *exp * (size_t)(prog->noutputs + 1));
    check_random_inputs(prog, p, seed, range, in_data);
    progress("reference: interpreting");
    if (check_interp(ref, p, in_data, exp, &msg) != 0) {
        if (ints.len && strstr(msg, "out of bounds"))
            msg = pool_fmt(p, "the interpreter indexed out of range (%s): an integer input "
                           "feeds an index the random values cannot keep in range; pass %s, "
                           "or check with a data set", msg, ints.buf);
        else
            msg = pool_fmt(p, "the interpreter cannot run the model on these inputs: %s", msg);
        sb_free(&ints);
        res = model_error(msg);
        goto out;
    }
    sb_free(&ints);
    res = build_and_run(&ct, p, prog, in_data, "", tmpdir_out);
    if (res.kind != R_PASS) goto out;
    fprintf(co->out, "compared at rtol %g, atol %g\n", co->rtol, co->atol);
    for (int k = 0; k < prog->noutputs; k++) {
        const KTensor *pk = &prog->tensors[prog->outputs[k]];
        if (pk->dims_for) continue;   /* a dims array: compared through its tensor */
        KTensor kt;
        unsigned char *got = NULL;
        size_t glen = 0;
        Result rr = res;
        if (read_output(co, p, prog, *tmpdir_out, k, &kt, &got, &glen, "", &rr) != 0) {
            res = rr;
            goto out;
        }
        Value ev;
        memset(&ev, 0, sizeof ev);
        ev.type.dt = kt.t;
        ev.type.rank = kt.rank;
        memcpy(ev.type.dims, kt.dims, sizeof kt.dims);
        ev.data = exp[k];
        if (pk->dims_t) {   /* the interpreter's real dims must be the run's */
            const KTensor *rk = &ref->tensors[ref->outputs[k]];
            int dk = 0;
            while (dk < ref->noutputs && ref->outputs[dk] != rk->dims_t - 1) dk++;
            if (dk < ref->noutputs) memcpy(ev.type.dims, exp[dk], sizeof(int64_t) * (size_t)kt.rank);
        }
        char *detail = NULL;
        if (compare_output(co, p, &kt, &ev, got, glen, "", &detail) != 0 && res.kind == R_PASS) {
            res.kind = R_WRONG;
            res.detail = detail;
        }
        free(got);
    }
out:
    kprog_free(ref);
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
    if (!o->ndatasets) {
        char *dir = NULL;
        final = check_self(o, p, &dir);
        progress_done();
        if (dir) {
            if (o->keep) fprintf(o->out, "kept: %s\n", dir);
            else remove_tree(p, dir);
        }
    }
    for (int i = 0; i < o->ndatasets; i++) {
        const char *ds = o->datasets[i];
        const char *prefix = o->ndatasets > 1 ? pool_fmt(p, "[%s] ", base_name(ds)) : "";
        if (o->ndatasets > 1) progress_scope("data set %d/%d", i + 1, o->ndatasets);
        char *dir = NULL;
        Result r = check_dataset(o, p, ds, prefix, &dir);
        progress_done();
        if (dir) {
            if (o->keep) fprintf(o->out, "%skept: %s\n", prefix, dir);
            else remove_tree(p, dir);
        }
        if (o->ndatasets > 1) {
            fprintf(o->out, "%s%s", prefix, result_prefix[r.kind]);
            fput_one_line(o->out, r.detail ? r.detail : "");
            fputc('\n', o->out);
        }
        if (r.kind != R_PASS && final.kind == R_PASS) final = r;
    }
    progress_scope("%s", "");
    if (final.kind == R_PASS) fprintf(o->out, "PASS\n");
    else {   /* the verdict is one line whatever the names inside it hold */
        fputs(result_prefix[final.kind], o->out);
        fput_one_line(o->out, final.detail ? final.detail : "");
        fputc('\n', o->out);
    }
    fflush(o->out);
    pool_free(p);
    return final.kind == R_PASS ? 0 : 1;
}
