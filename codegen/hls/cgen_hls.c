/* cgen_hls.c — the HLS back end: prints a KProg (kir.h) as Vitis-HLS-style C (NAME_hls.h,
 * NAME_hls.c), a C-simulation testbench (NAME_tb.c) and a Tcl script (NAME_hls.tcl). It is
 * the C printer of codegen/c (cprinter.h) with overrides, not a second C back end:
 * - buffers are addressed as the fixed-size arrays they live in: the top function's
 *   array parameters, the weights (static const arrays: ROM) and one static arena array
 *   per element type (BRAM/URAM) at the element offsets of the shared memory planner, so
 *   there are no pointers and no pointer arithmetic for a synthesis tool to resolve;
 * - every loop gets a label and pragmas (PIPELINE II=1 innermost, UNROLL + matching
 *   ARRAY_PARTITION with --hls-unroll); a loop whose bounds are not compile-time constants
 *   is refused (listed by cgen_hls_check), so every printed `for` has constant bounds;
 * - with fixed<W,I>, float arithmetic is printed as saturating, rounding integer
 *   fixed-point helpers (int8/16/32 storage, products widened then rounded); which
 *   operators may use it is decided before codegen (no ONNX operator is known here).
 * Like the C back end: no malloc, no recursion, no function pointers, no VLAs, C99. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../codegen.h"
#include "../c/cprinter.h"


int hls_parse_type(const char *s, HlsOptions *o)
{
    if (!s || !strcmp(s, "float")) {
        o->fixed = 0;
        return 0;
    }
    int w, i, n = 0;
    if (sscanf(s, "fixed<%d,%d>%n", &w, &i, &n) != 2 || s[n] || w < 2 || w > 32 || i < 1 ||
        i > w)
        return -1;
    o->fixed = 1;
    o->fx_w = w;
    o->fx_i = i;
    return 0;
}

/* ---- fixed-point format ---- */

static int fx_frac(const HlsOptions *o) { return o->fx_w - o->fx_i; }
static const char *fx_store(const HlsOptions *o)
{
    return o->fx_w <= 8 ? "int8_t" : o->fx_w <= 16 ? "int16_t" : "int32_t";
}
static const char *fx_wide(const HlsOptions *o) { return o->fx_w <= 16 ? "int32_t" : "int64_t"; }
static int64_t fx_max(const HlsOptions *o) { return ((int64_t)1 << (o->fx_w - 1)) - 1; }
static int64_t fx_min(const HlsOptions *o) { return -((int64_t)1 << (o->fx_w - 1)); }

/* A real value as the nearest representable fixed-point integer, saturated. */
static int64_t fx_quant(const HlsOptions *o, double v)
{
    if (isnan(v)) return 0;
    double s = ldexp(v, fx_frac(o));
    if (s >= (double)fx_max(o)) return fx_max(o);
    if (s <= (double)fx_min(o)) return fx_min(o);
    return (int64_t)(s >= 0 ? floor(s + 0.5) : -floor(-s + 0.5));
}

/* Element type of a tensor in the printed code. */
static const char *hls_elem(const HlsOptions *o, DType t)
{
    if (o->fixed && t == DT_F32) return "onnxcc_fx_t";
    return cprinter_ctype(t);
}


/* Bytes one element occupies on the device (fixed point: its storage). */
static int dev_bytes(const HlsOptions *o, DType t)
{
    if (o->fixed && t == DT_F32) return o->fx_w <= 8 ? 1 : o->fx_w <= 16 ? 2 : 4;
    return dt_size(t);
}

/* ---- the printer's overrides ---- */

typedef struct Hls {
    const KProg *p;
    const HlsOptions *o;
    int nlabel;              /* loop labels handed out in the current function */
    int fixed_used;          /* the fixed-point helpers are needed */
    int fx_ops[8];           /* which helpers: see FX_* */
} Hls;

enum { FX_ADD, FX_SUB, FX_MUL, FX_DIV, FX_NEG, FX_ABS, FX_FLOAT, FX_COUNT };

static int is_const_idx(const KExpr *e) { return e && e->kind == KE_CONST; }

static int64_t loop_trip(const KStmt *s)
{
    if (!is_const_idx(s->lo) || !is_const_idx(s->hi)) return -1;
    return s->hi->i > s->lo->i ? s->hi->i - s->lo->i : 0;
}

/* No loop below: the loop that gets PIPELINE. */
static int has_loop(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_FOR || has_loop(s->body) || has_loop(s->els)) return 1;
    return 0;
}

static const char *h_type(CPrinter *cp, DType t)
{
    Hls *h = cprinter_ctx(cp);
    return h->o->fixed && t == DT_F32 ? "onnxcc_fx_t" : NULL;
}

static void arena_name(StrBuf *sb, const KProg *p, DType t)
{
    sb_printf(sb, "%s_arena_%s", p->name, dt_suffix(t));
}

static void h_buf_ref(CPrinter *cp, int b, const char **name, int64_t *off)
{
    Hls *h = cprinter_ctx(cp);
    const KFunc *f = cprinter_cur_func(cp);
    const KTensor *t = &h->p->tensors[f->bufs[b].tensor];
    static char tmp[128];
    StrBuf sb;
    sb_init(&sb);
    switch (t->kind) {
    case KT_INPUT:
    case KT_OUTPUT:
        *name = t->name;
        *off = 0;
        break;
    case KT_CONST:
        sb_printf(&sb, "%s_w%d", h->p->name, f->bufs[b].tensor);
        *off = 0;
        break;
    case KT_ARENA:
        arena_name(&sb, h->p, t->t);
        *off = t->offset / dt_size(t->t);
        break;
    }
    if (sb.buf) {
        snprintf(tmp, sizeof tmp, "%s", sb.buf);
        *name = tmp;
    }
    sb_free(&sb);
}

/* Distinct top-level I/O tensors a function touches; `writes` says if any buffer on it is
 * written. Returns the count (tensor ids in ids). */
static int func_io(const KProg *p, const KFunc *f, int *ids, int *writes)
{
    int n = 0;
    for (int b = 0; b < f->nbufs; b++) {
        int t = f->bufs[b].tensor;
        KTensorKind k = p->tensors[t].kind;
        if (k != KT_INPUT && k != KT_OUTPUT) continue;
        int j = 0;
        while (j < n && ids[j] != t) j++;
        if (j == n) {
            ids[n] = t;
            writes[n++] = 0;
        }
        if (f->bufs[b].role != KR_IN) writes[j] = 1;
    }
    return n;
}

static int64_t arr_len(const KTensor *t) { return t->n > 0 ? t->n : 1; }

/* Node functions take the top function's arrays they touch; weights and the arena are
 * file-scope arrays. A parameter that is only an input's shape source is still named,
 * and silenced, so the signature stays the same for every call site. */
static void h_signature(CPrinter *cp, StrBuf *sb, const KFunc *f)
{
    Hls *h = cprinter_ctx(cp);
    h->nlabel = 0;
    int *ids = calloc((size_t)f->nbufs + 1, sizeof *ids), *wr = calloc((size_t)f->nbufs + 1, sizeof *wr);
    if (!ids || !wr) abort();
    int n = func_io(h->p, f, ids, wr);
    sb_printf(sb, "static void %s(", f->name);
    if (!n) sb_puts(sb, "void");
    for (int i = 0; i < n; i++) {
        const KTensor *t = &h->p->tensors[ids[i]];
        sb_printf(sb, "%s%s%s %s[%" PRId64 "]", i ? ", " : "", wr[i] ? "" : "const ",
                  hls_elem(h->o, t->t), t->name, arr_len(t));
    }
    sb_puts(sb, ")");
    free(ids);
    free(wr);
}

static void h_loop(CPrinter *cp, StrBuf *sb, const KStmt *s, int phase)
{
    Hls *h = cprinter_ctx(cp);
    const KFunc *f = cprinter_cur_func(cp);
    if (phase == 0) {
        sb_printf(sb, "L_%s_%d: ", f->name, h->nlabel++);
        int64_t trip = loop_trip(s);
        if (trip < 0)
            cprinter_fail(cp, str_fmt("%s: a loop bound is not a compile-time constant "
                                   "(data-dependent loop), which HLS cannot synthesize",
                                   f->comment ? f->comment : f->name));
        return;
    }
    int64_t trip = loop_trip(s);
    if (has_loop(s->body)) return;
    for (int i = 0; i < sb->indent; i++) sb_puts(sb, "    ");
    sb_puts(sb, "#pragma HLS PIPELINE II=1\n");
    if (h->o->unroll > 1 && trip > 1) {
        for (int i = 0; i < sb->indent; i++) sb_puts(sb, "    ");
        sb_printf(sb, "#pragma HLS UNROLL factor=%d\n", h->o->unroll);
    }
}

static void fx_call1(CPrinter *cp, const char *fn, const KExpr *a)
{
    StrBuf *sb = cprinter_sb(cp);
    sb_printf(sb, "%s(", fn);
    cprinter_expr(cp, a, 1);
    sb_puts(sb, ")");
}

static void fx_call2(CPrinter *cp, const char *fn, const KExpr *a, const KExpr *b)
{
    StrBuf *sb = cprinter_sb(cp);
    sb_printf(sb, "%s(", fn);
    cprinter_expr(cp, a, 1);
    sb_puts(sb, ", ");
    cprinter_expr(cp, b, 1);
    sb_puts(sb, ")");
}

static const char *libm_f(int op)
{
    switch (op) {
    case KU_SQRT: return "sqrtf";
    case KU_EXP: return "expf";
    case KU_LOG: return "logf";
    case KU_SIN: return "sinf";
    case KU_COS: return "cosf";
    case KU_TAN: return "tanf";
    case KU_ASIN: return "asinf";
    case KU_ACOS: return "acosf";
    case KU_ATAN: return "atanf";
    case KU_SINH: return "sinhf";
    case KU_COSH: return "coshf";
    case KU_TANH: return "tanhf";
    case KU_ASINH: return "asinhf";
    case KU_ACOSH: return "acoshf";
    case KU_ATANH: return "atanhf";
    case KU_ERF: return "erff";
    case KU_FLOOR: return "floorf";
    case KU_CEIL: return "ceilf";
    case KU_RINT: return "rintf";
    default: return NULL;
    }
}

/* Fixed point: float32 arithmetic becomes integer helpers. Comparisons, min/max, select,
 * loads and variables need nothing: one scale for every value keeps integer order. */
static int h_expr(CPrinter *cp, const KExpr *e, int bare)
{
    Hls *h = cprinter_ctx(cp);
    (void)bare;
    if (!h->o->fixed) return 0;
    StrBuf *sb = cprinter_sb(cp);
    DType at = e->a ? e->a->t : DT_UNDEF;
    switch (e->kind) {
    case KE_CONST:
        if (e->t != DT_F32) return 0;
        sb_printf(sb, "((onnxcc_fx_t)%s%" PRId64 "%s)", fx_quant(h->o, e->f) < 0 ? "(" : "",
                  fx_quant(h->o, e->f), fx_quant(h->o, e->f) < 0 ? ")" : "");
        return 1;
    case KE_UN:
        if (at != DT_F32) return 0;
        h->fixed_used = 1;
        switch (e->op) {
        case KU_NEG: h->fx_ops[FX_NEG] = 1; fx_call1(cp, "onnxcc_fx_neg", e->a); return 1;
        case KU_ABS: h->fx_ops[FX_ABS] = 1; fx_call1(cp, "onnxcc_fx_abs", e->a); return 1;
        case KU_ISNAN:
        case KU_ISINF:
            sb_puts(sb, "((uint8_t)0)");   /* a fixed-point value is always finite */
            return 1;
        default: {
            const char *fn = libm_f(e->op);
            if (!fn) return 0;
            /* transcendental functions: evaluated in float between two conversions */
            h->fx_ops[FX_FLOAT] = 1;
            sb_printf(sb, "onnxcc_fx_from_f(%s(onnxcc_fx_to_f(", fn);
            cprinter_expr(cp, e->a, 1);
            sb_puts(sb, ")))");
            return 1;
        }
        }
    case KE_BIN:
        if (at != DT_F32) return 0;
        h->fixed_used = 1;
        switch (e->op) {
        case KB_ADD: h->fx_ops[FX_ADD] = 1; fx_call2(cp, "onnxcc_fx_add", e->a, e->b); return 1;
        case KB_SUB: h->fx_ops[FX_SUB] = 1; fx_call2(cp, "onnxcc_fx_sub", e->a, e->b); return 1;
        case KB_MUL: h->fx_ops[FX_MUL] = 1; fx_call2(cp, "onnxcc_fx_mul", e->a, e->b); return 1;
        case KB_DIV: h->fx_ops[FX_DIV] = 1; fx_call2(cp, "onnxcc_fx_div", e->a, e->b); return 1;
        case KB_POW:
        case KB_REM:
            h->fx_ops[FX_FLOAT] = 1;
            sb_printf(sb, "onnxcc_fx_from_f(%s(onnxcc_fx_to_f(", e->op == KB_POW ? "powf" : "fmodf");
            cprinter_expr(cp, e->a, 1);
            sb_puts(sb, "), onnxcc_fx_to_f(");
            cprinter_expr(cp, e->b, 1);
            sb_puts(sb, ")))");
            return 1;
        default:
            return 0;   /* comparisons, min, max: integer order is the real order */
        }
    case KE_CAST:
        if (e->t == DT_F32 && at == DT_F32) return 0;
        if (e->t == DT_F32) {
            h->fixed_used = 1;
            h->fx_ops[FX_FLOAT] = 1;
            sb_puts(sb, "onnxcc_fx_from_f((float)");
            cprinter_expr(cp, e->a, 0);
            sb_puts(sb, ")");
            return 1;
        }
        if (at == DT_F32) {
            h->fixed_used = 1;
            h->fx_ops[FX_FLOAT] = 1;
            if (e->t == DT_BOOL) {
                sb_puts(sb, "((uint8_t)(");
                cprinter_expr(cp, e->a, 1);
                sb_puts(sb, " != 0))");
            } else {
                sb_printf(sb, "((%s)onnxcc_fx_to_f(", cprinter_ctype(e->t));
                cprinter_expr(cp, e->a, 1);
                sb_puts(sb, "))");
            }
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

static CHooks hooks_for(Hls *h)
{
    CHooks k;
    memset(&k, 0, sizeof k);
    k.ctx = h;
    k.type_name = h_type;
    k.buf_ref = h_buf_ref;
    k.signature = h_signature;
    k.loop = h_loop;
    k.expr = h_expr;
    return k;
}

/* ---- program-level checks ---- */

static int has_float_bitcast(const KExpr *e)
{
    if (!e) return 0;
    if (e->kind == KE_BITCAST && (e->t == DT_F32 || e->a->t == DT_F32)) return 1;
    return has_float_bitcast(e->a) || has_float_bitcast(e->b) || has_float_bitcast(e->c);
}

static void check_block(const KProg *p, const KFunc *f, const KStmt *s, StrBuf *msg, int *bad,
                        int fixed)
{
    for (; s && !*bad; s = s->next) {
        if (fixed && (has_float_bitcast(s->val) || has_float_bitcast(s->cond) ||
                      has_float_bitcast(s->idx))) {
            /* float8/float4 conversions and BitCast read float32's bits, which a
             * fixed-point value does not have */
            *bad = 1;
            sb_printf(msg, "%s%s: reads the bits of a float32, which fixed point "
                           "(--hls-type) does not have", msg->len ? "; " : "",
                      f->comment ? f->comment : f->name);
        } else if (s->kind == KS_FOR && loop_trip(s) < 0) {
            *bad = 1;
            sb_printf(msg, "%s%s: data-dependent loop bound (HLS needs compile-time trip "
                           "counts)", msg->len ? "; " : "", f->comment ? f->comment : f->name);
        } else if (s->kind == KS_CALL) {
            *bad = 1;
            sb_printf(msg, "%s%s: calls runtime kernel %s, which target hls does not have",
                      msg->len ? "; " : "", f->comment ? f->comment : f->name, s->fn);
        }
        check_block(p, f, s->body, msg, bad, fixed);
        check_block(p, f, s->els, msg, bad, fixed);
    }
    (void)p;
}

char *cgen_hls_check(const KProg *p, const HlsOptions *o)
{
    StrBuf msg;
    sb_init(&msg);
    for (int i = 0; i < p->ntensors; i++) {
        DType t = p->tensors[i].t;
        /* float: 16-bit floats are computed on as float (the C printer's helpers); fixed
         * point has no such path, and mixing it with float32-as-fixed would mislead */
        if ((t == DT_F16 || t == DT_BF16) && o->fixed)
            sb_printf(&msg, "%stensor '%s': %s is not supported with fixed point (--hls-type)",
                      msg.len ? "; " : "", p->tensors[i].src_name, dt_name(t));
    }
    for (int fi = 0; fi < p->nfuncs; fi++) {
        int bad = 0;
        check_block(p, p->funcs[fi], p->funcs[fi]->body, &msg, &bad, o->fixed);
    }
    if (!msg.len) return NULL;
    char *r = str_fmt("not supported on target hls: %s", msg.buf);
    sb_free(&msg);
    return r;
}

/* ---- NAME_hls.h / NAME_hls.c ---- */

static void sb_upper(StrBuf *sb, const char *s)
{
    for (; *s; s++) sb_printf(sb, "%c", (*s >= 'a' && *s <= 'z') ? *s - 'a' + 'A' : *s);
}

/* `const float input[64]` */
static void top_param(StrBuf *sb, const HlsOptions *o, const KTensor *t, int is_in)
{
    sb_printf(sb, "%s%s %s[%" PRId64 "]", is_in ? "const " : "", hls_elem(o, t->t), t->name,
              arr_len(t));
}

static void top_signature(StrBuf *sb, const KProg *p, const HlsOptions *o)
{
    sb_printf(sb, "void %s_hls(", p->name);
    int any = 0;
    for (int i = 0; i < p->ninputs; i++, any = 1) {
        if (any) sb_puts(sb, ", ");
        top_param(sb, o, &p->tensors[p->inputs[i]], 1);
    }
    for (int i = 0; i < p->noutputs; i++, any = 1) {
        if (any) sb_puts(sb, ", ");
        top_param(sb, o, &p->tensors[p->outputs[i]], 0);
    }
    if (!any) sb_puts(sb, "void");
    sb_puts(sb, ")");
}

static void fx_typedef(StrBuf *sb, const HlsOptions *o)
{
    sb_printf(sb, "/* fixed<%d,%d>: %d bits, %d integer bits (sign included), %d fractional:\n"
                  " * value = raw / 2^%d, saturating at both ends */\n",
              o->fx_w, o->fx_i, o->fx_w, o->fx_i, fx_frac(o), fx_frac(o));
    sb_printf(sb, "typedef %s onnxcc_fx_t;\n#define ONNXCC_FX_FRAC_BITS %d\n\n", fx_store(o),
              fx_frac(o));
}

static char *gen_header(const KProg *p, const HlsOptions *o)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s_hls.h — generated by onnxcc --target hls: the top function %s_hls.\n"
                   " * Arrays are dense, row-major; bool is one byte (0 or 1). */\n",
              p->name, p->name);
    sb_puts(&sb, "#ifndef ONNXCC_HLS_");
    sb_upper(&sb, p->name);
    sb_puts(&sb, "_H\n#define ONNXCC_HLS_");
    sb_upper(&sb, p->name);
    sb_puts(&sb, "_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n");
    if (o->fixed) fx_typedef(&sb, o);
    sb_puts(&sb, "/* Inputs and outputs (\"model name\" type[shape]):\n");
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        const KTensor *t = &p->tensors[i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs]];
        sb_printf(&sb, " *   %s %s: \"", i < p->ninputs ? "in " : "out", t->name);
        cprinter_comment_text(&sb, t->src_name);
        sb_printf(&sb, "\" %s[", dt_name(t->t));
        for (int d = 0; d < t->rank; d++) sb_printf(&sb, "%s%" PRId64, d ? "x" : "", t->dims[d]);
        sb_puts(&sb, "]\n");
    }
    sb_puts(&sb, " */\n");
    top_signature(&sb, p, o);
    sb_puts(&sb, ";\n\n#endif\n");
    return sb.buf;
}

static void emit_fx_helpers(StrBuf *sb, const Hls *h)
{
    const HlsOptions *o = h->o;
    const char *w = fx_wide(o);
    int fr = fx_frac(o);
    sb_printf(sb, "/* fixed-point helpers: results saturate to [%" PRId64 ", %" PRId64 "];\n"
                  " * products and quotients are computed in %s and rounded to nearest */\n",
              fx_min(o), fx_max(o), w);
    sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_sat(%s v)\n{\n"
                  "    return (onnxcc_fx_t)(v > %" PRId64 " ? %" PRId64 " : v < (%" PRId64
                  ") ? (%" PRId64 ") : v);\n}\n",
              w, fx_max(o), fx_max(o), fx_min(o), fx_min(o));
    if (h->fx_ops[FX_ADD])
        sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_add(onnxcc_fx_t a, onnxcc_fx_t b)\n{\n"
                      "    return onnxcc_fx_sat((%s)a + (%s)b);\n}\n", w, w);
    if (h->fx_ops[FX_SUB])
        sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_sub(onnxcc_fx_t a, onnxcc_fx_t b)\n{\n"
                      "    return onnxcc_fx_sat((%s)a - (%s)b);\n}\n", w, w);
    if (h->fx_ops[FX_NEG])
        sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_neg(onnxcc_fx_t a)\n{\n"
                      "    return onnxcc_fx_sat(-(%s)a);\n}\n", w);
    if (h->fx_ops[FX_ABS])
        sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_abs(onnxcc_fx_t a)\n{\n"
                      "    return onnxcc_fx_sat(a < 0 ? -(%s)a : (%s)a);\n}\n", w, w);
    if (h->fx_ops[FX_MUL]) {
        /* the arithmetic right shift of a negative product is what every HLS tool and
         * every C compiler onnxcc supports do: floor, so +half rounds to nearest */
        if (fr > 0)
            sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_mul(onnxcc_fx_t a, onnxcc_fx_t b)\n{\n"
                          "    %s p = (%s)a * (%s)b;\n"
                          "    return onnxcc_fx_sat((p + ((%s)1 << %d)) >> %d);\n}\n",
                      w, w, w, w, fr - 1, fr);
        else
            sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_mul(onnxcc_fx_t a, onnxcc_fx_t b)\n{\n"
                          "    return onnxcc_fx_sat((%s)a * (%s)b);\n}\n", w, w);
    }
    if (h->fx_ops[FX_DIV])
        sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_div(onnxcc_fx_t a, onnxcc_fx_t b)\n{\n"
                      "    %s n = (%s)a * ((%s)1 << %d), d = b;\n"
                      "    if (d == 0) return a < 0 ? (onnxcc_fx_t)(%" PRId64 ") : (onnxcc_fx_t)%"
                      PRId64 ";\n"
                      "    if (d < 0) {\n        n = -n;\n        d = -d;\n    }\n"
                      "    return onnxcc_fx_sat(n >= 0 ? (n + d / 2) / d : -((-n + d / 2) / d));\n}\n",
                      w, w, w, fr, fx_min(o), fx_max(o));
    if (h->fx_ops[FX_FLOAT]) {
        sb_printf(sb, "static float onnxcc_fx_to_f(onnxcc_fx_t a)\n{\n"
                      "    return (float)a * %.9gf;\n}\n", ldexp(1.0, -fr));
        sb_printf(sb, "static onnxcc_fx_t onnxcc_fx_from_f(float x)\n{\n"
                      "    float s = x * %.1ff;\n"
                      "    if (!(s == s)) return 0;\n"
                      "    if (s >= %" PRId64 ".0f) return (onnxcc_fx_t)%" PRId64 ";\n"
                      "    if (s <= (%" PRId64 ".0f)) return (onnxcc_fx_t)(%" PRId64 ");\n"
                      "    return (onnxcc_fx_t)(s >= 0 ? (%s)(s + 0.5f) : -(%s)(0.5f - s));\n}\n",
                      ldexp(1.0, fr), fx_max(o), fx_max(o), fx_min(o), fx_min(o), w, w);
    }
    sb_puts(sb, "\n");
}

/* Elements of the arena array of type t: up to the end of its last tensor. */
static int64_t arena_elems(const KProg *p, DType t)
{
    int64_t n = 0;
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *k = &p->tensors[i];
        if (k->kind != KT_ARENA || k->t != t || k->n <= 0) continue;
        int64_t end = k->offset / dt_size(t) + k->n;
        if (end > n) n = end;
    }
    return n;
}

static void weight_data(StrBuf *sb, const HlsOptions *o, const KTensor *t)
{
    int64_t n = t->n;
    if (n <= 0) {
        sb_puts(sb, " 0 ");
        return;
    }
    int per = t->t == DT_F32 && !o->fixed ? 8 : 16;
    for (int64_t k = 0; k < n; k++) {
        sb_puts(sb, k % per == 0 ? "\n    " : " ");
        if (o->fixed && t->t == DT_F32) {
            float v;
            memcpy(&v, (const char *)t->data + k * 4, 4);
            int64_t q = fx_quant(o, v);
            if (q == INT32_MIN) sb_puts(sb, "(-2147483647 - 1)");
            else sb_printf(sb, "%" PRId64, q);
        } else {
            cprinter_elem(sb, t->t, t->data, k);
        }
        sb_puts(sb, k + 1 < n ? "," : "");
    }
    sb_puts(sb, "\n");
}

/* Which tensors the functions reference. */
static unsigned char *used_tensors(const KProg *p)
{
    unsigned char *u = calloc((size_t)p->ntensors + 1, 1);
    if (!u) abort();
    for (int fi = 0; fi < p->nfuncs; fi++)
        for (int b = 0; b < p->funcs[fi]->nbufs; b++) u[p->funcs[fi]->bufs[b].tensor] = 1;
    return u;
}

static void partition(StrBuf *sb, const char *var, int factor)
{
    sb_printf(sb, "#pragma HLS ARRAY_PARTITION variable=%s cyclic factor=%d dim=1\n", var, factor);
}

static char *gen_source(const KProg *p, const HlsOptions *o, char **err)
{
    Hls h;
    memset(&h, 0, sizeof h);
    h.p = p;
    h.o = o;
    CHooks hk = hooks_for(&h);
    CPrinter *cp = cprinter_new(p, &hk);
    StrBuf funcs;
    sb_init(&funcs);
    for (int i = 0; i < p->nfuncs; i++) cprinter_func(cp, &funcs, p->funcs[i]);
    if (cprinter_error(cp)) {
        *err = str_fmt("%s", cprinter_error(cp));
        sb_free(&funcs);
        cprinter_free(cp);
        return NULL;
    }
    unsigned char *used = used_tensors(p);
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s_hls.c — generated by onnxcc --target hls: HLS C for the top function\n"
                   " * %s_hls (Vitis HLS pragmas). One static function per node, fixed-size\n"
                   " * arrays only: weights are static const arrays (ROM), intermediates live in\n"
                   " * one static arena array per element type (BRAM/URAM) at offsets planned at\n"
                   " * compile time. No malloc, no recursion, no pointers; needs only libm. */\n",
              p->name, p->name);
    sb_printf(&sb, "#include \"%s_hls.h\"\n#include <math.h>\n\n", p->name);
    /* the pragmas and loop labels are for the synthesis tool: a C compiler (C simulation)
     * must not warn about them */
    sb_puts(&sb, "#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Wunknown-pragmas\"\n"
                 "#pragma GCC diagnostic ignored \"-Wunused-label\"\n#endif\n\n");
    int any = 0;
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (t->kind != KT_CONST || !used[i]) continue;
        if (!any) sb_puts(&sb, "/* weights (ROM) */\n");
        any = 1;
        sb_puts(&sb, "/* \"");
        cprinter_comment_text(&sb, t->src_name);
        sb_printf(&sb, "\" %s[", dt_name(t->t));
        for (int d = 0; d < t->rank; d++) sb_printf(&sb, "%s%" PRId64, d ? "x" : "", t->dims[d]);
        sb_printf(&sb, "] */\nstatic const %s %s_w%d[%" PRId64 "] = {", hls_elem(o, t->t), p->name,
                  i, arr_len(t));
        weight_data(&sb, o, t);
        sb_puts(&sb, "};\n");
    }
    if (any) sb_puts(&sb, "\n");
    DType arenas[DT_COUNT];
    int narenas = 0;
    for (int d = 0; d < DT_COUNT; d++) {
        int64_t n = arena_elems(p, (DType)d);
        if (n <= 0) continue;
        if (!narenas) sb_puts(&sb, "/* the arena (BRAM/URAM): every intermediate, at planned offsets */\n");
        arenas[narenas++] = (DType)d;
        sb_printf(&sb, "static %s ", hls_elem(o, (DType)d));
        arena_name(&sb, p, (DType)d);
        sb_printf(&sb, "[%" PRId64 "];\n", n);
    }
    if (narenas) sb_puts(&sb, "\n");
    if (h.fixed_used) emit_fx_helpers(&sb, &h);
    cprinter_helpers(cp, &sb);
    sb_puts(&sb, funcs.buf ? funcs.buf : "");
    sb_free(&funcs);
    cprinter_free(cp);

    sb_puts(&sb, "/* the top function */\n");
    top_signature(&sb, p, o);
    sb_puts(&sb, "\n{\n");
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        const KTensor *t = &p->tensors[i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs]];
        if (o->interface_mem) {
            sb_printf(&sb, "#pragma HLS INTERFACE ap_memory port=%s\n", t->name);
        } else {
            sb_printf(&sb, "#pragma HLS INTERFACE m_axi port=%s depth=%" PRId64
                           " offset=slave bundle=gmem%d\n", t->name, arr_len(t), i);
            sb_printf(&sb, "#pragma HLS INTERFACE s_axilite port=%s bundle=control\n", t->name);
        }
    }
    sb_printf(&sb, "#pragma HLS INTERFACE %s port=return%s\n",
              o->interface_mem ? "ap_ctrl_hs" : "s_axilite", o->interface_mem ? "" : " bundle=control");
    if (o->unroll > 1) {
        for (int a = 0; a < narenas; a++) {
            StrBuf n;
            sb_init(&n);
            arena_name(&n, p, arenas[a]);
            partition(&sb, n.buf, o->unroll);
            sb_free(&n);
        }
        for (int i = 0; i < p->ntensors; i++)
            if (p->tensors[i].kind == KT_CONST && used[i] && p->tensors[i].n > 1) {
                char nm[160];
                snprintf(nm, sizeof nm, "%s_w%d", p->name, i);
                partition(&sb, nm, o->unroll);
            }
    }
    for (int i = 0; i < p->ninputs; i++)
        if (!used[p->inputs[i]]) sb_printf(&sb, "    (void)%s;\n", p->tensors[p->inputs[i]].name);
    for (int i = 0; i < p->noutputs; i++)
        if (!used[p->outputs[i]]) sb_printf(&sb, "    (void)%s;\n", p->tensors[p->outputs[i]].name);
    int *ids = NULL, *wr = NULL;
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        ids = realloc(ids, sizeof *ids * ((size_t)f->nbufs + 1));
        wr = realloc(wr, sizeof *wr * ((size_t)f->nbufs + 1));
        if (!ids || !wr) abort();
        int n = func_io(p, f, ids, wr);
        sb_printf(&sb, "    %s(", f->name);
        for (int k = 0; k < n; k++) sb_printf(&sb, "%s%s", k ? ", " : "", p->tensors[ids[k]].name);
        sb_puts(&sb, ");\n");
    }
    free(ids);
    free(wr);
    sb_puts(&sb, "}\n");
    free(used);
    return sb.buf;
}

/* ---- testbench, harness, Tcl ---- */

/* The host-side (float) type of a tensor's data, and the conversions to the device type. */
static void sb_data_array(StrBuf *sb, const KTensor *t, const void *data, const char *name)
{
    sb_printf(sb, "static const %s %s[%" PRId64 "] = {", cprinter_ctype(t->t), name, arr_len(t));
    if (t->n <= 0 || !data) {
        sb_puts(sb, " 0 };\n");
        return;
    }
    for (int64_t k = 0; k < t->n; k++) {
        sb_puts(sb, k % 8 == 0 ? "\n    " : " ");
        cprinter_elem(sb, t->t, data, k);
        sb_puts(sb, k + 1 < t->n ? "," : "");
    }
    sb_puts(sb, "\n};\n");
}

/* Host-side conversion helpers for fixed point (the testbench and harness are not
 * synthesized; they may use float freely). */
static void host_fx(StrBuf *sb, const HlsOptions *o)
{
    if (!o->fixed) return;
    sb_printf(sb, "static onnxcc_fx_t to_fx(float x)\n{\n"
                  "    double s = (double)x * %.17g;\n"
                  "    if (!(s == s)) return 0;\n"
                  "    if (s >= %" PRId64 ".0) return (onnxcc_fx_t)%" PRId64 ";\n"
                  "    if (s <= %" PRId64 ".0) return (onnxcc_fx_t)(%" PRId64 ");\n"
                  "    return (onnxcc_fx_t)floor(s + 0.5);\n}\n\n"
                  "static float from_fx(onnxcc_fx_t v)\n{\n"
                  "    return (float)((double)v * %.17g);\n}\n\n",
              ldexp(1.0, fx_frac(o)), fx_max(o), fx_max(o), fx_min(o), fx_min(o),
              ldexp(1.0, -fx_frac(o)));
}

static int is_conv(const HlsOptions *o, DType t) { return o->fixed && t == DT_F32; }

static const KTensor *io_tensor(const KProg *p, int i)
{
    return &p->tensors[i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs]];
}

static char *gen_tb(const KProg *p, const HlsOptions *o)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s_tb.c — generated by onnxcc --target hls: C-simulation testbench for\n"
                   " * %s_hls. Runs it on the embedded inputs and compares with the embedded\n"
                   " * expected outputs (|got - exp| <= atol + rtol * |exp|; integers exact).\n"
                   " * Returns 0 when every output matches, 1 otherwise (as Vitis HLS csim\n"
                   " * expects). */\n", p->name, p->name);
    sb_printf(&sb, "#include <math.h>\n#include <stdio.h>\n#include \"%s_hls.h\"\n\n", p->name);
    sb_printf(&sb, "#define TB_ATOL %.9g\n#define TB_RTOL %.9g\n\n", o->tb_atol, o->tb_rtol);
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        const KTensor *t = io_tensor(p, i);
        int is_in = i < p->ninputs;
        char nm[32];
        snprintf(nm, sizeof nm, "%s%d", is_in ? "tb_in" : "tb_exp", is_in ? i : i - p->ninputs);
        sb_data_array(&sb, t, is_in ? o->tb_in[i] : o->tb_out[i - p->ninputs], nm);
        sb_printf(&sb, "static %s dev_%s%d[%" PRId64 "];\n\n", hls_elem(o, t->t),
                  is_in ? "in" : "out", is_in ? i : i - p->ninputs, arr_len(t));
    }
    host_fx(&sb, o);
    sb_puts(&sb, "int main(void)\n{\n    long k;\n    int fails = 0;\n    double err, maxerr;\n");
    for (int i = 0; i < p->ninputs; i++) {
        const KTensor *t = io_tensor(p, i);
        sb_printf(&sb, "    for (k = 0; k < %" PRId64 "L; k++) dev_in%d[k] = %stb_in%d[k]%s;\n",
                  arr_len(t), i, is_conv(o, t->t) ? "to_fx(" : "", i, is_conv(o, t->t) ? ")" : "");
    }
    sb_printf(&sb, "    %s_hls(", p->name);
    for (int i = 0; i < p->ninputs + p->noutputs; i++)
        sb_printf(&sb, "%sdev_%s%d", i ? ", " : "", i < p->ninputs ? "in" : "out",
                  i < p->ninputs ? i : i - p->ninputs);
    sb_puts(&sb, ");\n");
    for (int j = 0; j < p->noutputs; j++) {
        const KTensor *t = io_tensor(p, p->ninputs + j);
        int fl = t->t == DT_F32 || t->t == DT_F64;
        sb_puts(&sb, "    maxerr = 0;\n");
        sb_printf(&sb, "    for (k = 0; k < %" PRId64 "L; k++) {\n", t->n > 0 ? t->n : 0);
        if (fl) {
            sb_printf(&sb, "        double got = (double)%sdev_out%d[k]%s, exp = (double)tb_exp%d[k];\n",
                      is_conv(o, t->t) ? "from_fx(" : "", j, is_conv(o, t->t) ? ")" : "", j);
            sb_puts(&sb, "        err = fabs(got - exp);\n"
                         "        if (isnan(got) || isnan(exp)) err = (isnan(got) && isnan(exp)) ? 0 : INFINITY;\n"
                         "        else if (got == exp) err = 0;\n"
                         "        if (err > maxerr) maxerr = err;\n"
                         "        if (err > TB_ATOL + TB_RTOL * fabs(exp)) fails++;\n");
        } else {
            sb_printf(&sb, "        err = dev_out%d[k] != tb_exp%d[k];\n", j, j);
            sb_puts(&sb, "        if (err > maxerr) maxerr = err;\n        if (err > 0) fails++;\n");
        }
        sb_puts(&sb, "    }\n");
        sb_printf(&sb, "    printf(\"output %s: max abs err %%g\\n\", maxerr);\n", t->name);
    }
    sb_puts(&sb, "    (void)err;\n    (void)maxerr;\n"
                 "    printf(\"%s\\n\", fails ? \"FAIL\" : \"PASS\");\n"
                 "    return fails ? 1 : 0;\n}\n");
    return sb.buf;
}

char *cgen_hls_harness(const KProg *p, const HlsOptions *o)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s_main.c — generated by onnxcc: `check` harness for %s_hls.\n"
                   " *   prog IN... OUT...   raw files in host layout (float for float tensors) */\n",
              p->name, p->name);
    sb_printf(&sb, "#include <math.h>\n#include <stdio.h>\n#include \"%s_hls.h\"\n\n", p->name);
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        const KTensor *t = io_tensor(p, i);
        int is_in = i < p->ninputs;
        int idx = is_in ? i : i - p->ninputs;
        sb_printf(&sb, "static %s host_%s%d[%" PRId64 "];\n", cprinter_ctype(t->t),
                  is_in ? "in" : "out", idx, arr_len(t));
        if (is_conv(o, t->t))
            sb_printf(&sb, "static %s dev_%s%d[%" PRId64 "];\n", hls_elem(o, t->t),
                      is_in ? "in" : "out", idx, arr_len(t));
    }
    sb_puts(&sb, "\n");
    host_fx(&sb, o);
    sb_puts(&sb, "static int io(const char *path, void *buf, size_t bytes, int wr)\n{\n"
                 "    FILE *f = fopen(path, wr ? \"wb\" : \"rb\");\n"
                 "    size_t got;\n"
                 "    if (!f) {\n        fprintf(stderr, \"cannot open %s\\n\", path);\n        return -1;\n    }\n"
                 "    got = bytes ? (wr ? fwrite(buf, 1, bytes, f) : fread(buf, 1, bytes, f)) : 0;\n"
                 "    if (fclose(f) != 0 || got != bytes) {\n"
                 "        fprintf(stderr, \"%s: expected %lu bytes\\n\", path, (unsigned long)bytes);\n"
                 "        return -1;\n    }\n    return 0;\n}\n\n");
    sb_printf(&sb, "int main(int argc, char **argv)\n{\n    long k;\n    if (argc != %d) {\n"
                   "        fprintf(stderr, \"usage: %%s IN... OUT...\\n\", argv[0]);\n"
                   "        return 2;\n    }\n", 1 + p->ninputs + p->noutputs);
    for (int i = 0; i < p->ninputs; i++) {
        const KTensor *t = io_tensor(p, i);
        sb_printf(&sb, "    if (io(argv[%d], host_in%d, %" PRId64 "u, 0) != 0) return 1;\n", 1 + i, i,
                  (t->n > 0 ? t->n : 0) * dt_size(t->t));
        if (is_conv(o, t->t))
            sb_printf(&sb, "    for (k = 0; k < %" PRId64 "L; k++) dev_in%d[k] = to_fx(host_in%d[k]);\n",
                      arr_len(t), i, i);
    }
    sb_printf(&sb, "    %s_hls(", p->name);
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        const KTensor *t = io_tensor(p, i);
        int is_in = i < p->ninputs;
        sb_printf(&sb, "%s%s_%s%d", i ? ", " : "", is_conv(o, t->t) ? "dev" : "host",
                  is_in ? "in" : "out", is_in ? i : i - p->ninputs);
    }
    sb_puts(&sb, ");\n");
    for (int j = 0; j < p->noutputs; j++) {
        const KTensor *t = io_tensor(p, p->ninputs + j);
        if (is_conv(o, t->t))
            sb_printf(&sb, "    for (k = 0; k < %" PRId64 "L; k++) host_out%d[k] = from_fx(dev_out%d[k]);\n",
                      arr_len(t), j, j);
        sb_printf(&sb, "    if (io(argv[%d], host_out%d, %" PRId64 "u, 1) != 0) return 1;\n",
                  1 + p->ninputs + j, j, (t->n > 0 ? t->n : 0) * dt_size(t->t));
    }
    sb_puts(&sb, "    (void)k;\n    return 0;\n}\n");
    return sb.buf;
}

static char *gen_tcl(const KProg *p, const HlsOptions *o)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "# %s_hls.tcl — generated by onnxcc --target hls. Run in this directory:\n"
                   "#   vitis_hls -f %s_hls.tcl      (C simulation, then synthesis)\n",
              p->name, p->name);
    sb_printf(&sb, "open_project -reset %s_prj\n", p->name);
    sb_printf(&sb, "set_top %s_hls\n", p->name);
    sb_printf(&sb, "add_files %s_hls.c -cflags \"-std=c99\"\n", p->name);
    if (o->tb_out) sb_printf(&sb, "add_files -tb %s_tb.c -cflags \"-std=c99\"\n", p->name);
    sb_puts(&sb, "open_solution -reset solution1 -flow_target vivado\n");
    sb_printf(&sb, "set_part {%s}\n", o->part ? o->part : "xczu9eg-ffvb1156-2-e");
    sb_printf(&sb, "create_clock -period %g -name default\n", o->clock_ns > 0 ? o->clock_ns : 10.0);
    if (o->tb_out) sb_puts(&sb, "csim_design\n");
    sb_puts(&sb, "csynth_design\nexit\n");
    return sb.buf;
}

/* ---- writing ---- */

static int write_one(const char *dir, const char *name, const char *suffix, const char *text,
                     char **err)
{
    char *path = str_fmt("%s/%s%s", dir, name, suffix);
    int rc = write_file_atomic(path, text, strlen(text));
    if (rc) *err = str_fmt("cannot write %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

int cgen_hls_write(const KProg *p, const char *outdir, const HlsOptions *o, char **err)
{
    *err = NULL;
    char *problems = cgen_hls_check(p, o);
    if (problems) {
        *err = problems;
        return -1;
    }
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (t->kind == KT_ARENA && t->n > 0 && t->offset % dt_size(t->t)) {
            *err = str_fmt("arena tensor '%s' is not aligned to its element size", t->name);
            return -1;
        }
    }
    char *c = gen_source(p, o, err);
    if (!c) return -1;
    char *h = gen_header(p, o), *tcl = gen_tcl(p, o);
    char *tb = o->tb_out ? gen_tb(p, o) : NULL;
    if (make_dirs(outdir) != 0) {
        *err = str_fmt("cannot create %s: %s", outdir, strerror(errno));
        free(c);
        free(h);
        free(tcl);
        free(tb);
        return -1;
    }
    int rc = write_one(outdir, p->name, "_hls.h", h, err);
    if (!rc) rc = write_one(outdir, p->name, "_hls.c", c, err);
    if (!rc && tb) rc = write_one(outdir, p->name, "_tb.c", tb, err);
    if (!rc && !o->no_tcl) rc = write_one(outdir, p->name, "_hls.tcl", tcl, err);
    free(c);
    free(h);
    free(tcl);
    free(tb);
    return rc;
}

/* ---- report ---- */

static int64_t expr_muls(const KExpr *e)
{
    if (!e) return 0;
    return (e->kind == KE_BIN && e->op == KB_MUL && e->t != DT_IDX) + expr_muls(e->a) +
           expr_muls(e->b) + expr_muls(e->c);
}

typedef struct Cost {
    int64_t macs, cycles;
    StrBuf trips;   /* "32x64, 10" */
} Cost;

/* Cycles at II=1: a pipelined innermost loop takes trip/unroll + its fill (a few cycles,
 * 3 here); an outer loop repeats its body; a guard costs its dearer branch; other
 * statements outside innermost loops one cycle each. An estimate, not a schedule. */
static void cost_block(const HlsOptions *o, const KStmt *s, int64_t *macs, int64_t *cycles,
                       StrBuf *trips, int depth)
{
    for (; s; s = s->next) {
        switch (s->kind) {
        case KS_FOR: {
            int64_t trip = loop_trip(s), m = 0, c = 0;
            if (trip < 0) trip = 1;
            if (trips && depth >= 0) sb_printf(trips, "%s%" PRId64, depth ? "x" : trips->len ? ", " : "", trip);
            cost_block(o, s->body, &m, &c, trips, has_loop(s->body) ? depth + 1 : -1);
            *macs += trip * m;
            if (!has_loop(s->body)) {
                int u = o->unroll > 1 ? o->unroll : 1;
                *cycles += (trip + u - 1) / u + 3;
            } else {
                *cycles += trip * c;
            }
            break;
        }
        case KS_IF: {
            int64_t m1 = 0, c1 = 0, m2 = 0, c2 = 0;
            cost_block(o, s->body, &m1, &c1, NULL, -1);
            cost_block(o, s->els, &m2, &c2, NULL, -1);
            *macs += expr_muls(s->cond) + (m1 > m2 ? m1 : m2);
            *cycles += c1 > c2 ? c1 : c2;
            break;
        }
        default:
            *macs += expr_muls(s->val) + expr_muls(s->idx);
            if (depth >= 0) *cycles += 1;
            break;
        }
    }
}

char *cgen_hls_report(const KProg *p, const HlsOptions *o)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%-36s %12s %-22s %10s %10s %12s\n", "layer (node)", "MACs", "trip counts",
              "ROM bytes", "BRAM bytes", "cycles@II=1");
    int64_t tm = 0, tc = 0, trom = 0;
    unsigned char *seen = calloc((size_t)p->ntensors + 1, 1);
    if (!seen) abort();
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        int64_t m = 0, c = 0, rom = 0, bram = 0;
        StrBuf trips;
        sb_init(&trips);
        cost_block(o, f->body, &m, &c, &trips, 0);
        for (int b = 0; b < f->nbufs; b++) {
            int ti = f->bufs[b].tensor, dup = 0;
            for (int k = 0; k < b; k++) dup |= f->bufs[k].tensor == ti;
            if (dup) continue;
            const KTensor *t = &p->tensors[ti];
            int64_t bytes = (t->n > 0 ? t->n : 0) * dev_bytes(o, t->t);
            if (t->kind == KT_CONST) {
                rom += bytes;
                if (!seen[ti]) trom += bytes;
                seen[ti] = 1;
            } else if (t->kind == KT_ARENA) {
                bram += bytes;
            }
        }
        const char *label = f->comment ? f->comment : f->name;
        if (!strncmp(label, "node ", 5)) label += 5;
        sb_printf(&sb, "%-36.36s %12" PRId64 " %-22.22s %10" PRId64 " %10" PRId64 " %12" PRId64 "\n",
                  label, m, trips.buf ? trips.buf : "-", rom, bram, c);
        sb_free(&trips);
        tm += m;
        tc += c;
    }
    free(seen);
    int64_t arena = 0;
    for (int d = 0; d < DT_COUNT; d++) arena += arena_elems(p, (DType)d) * dev_bytes(o, (DType)d);
    sb_printf(&sb, "total: %" PRId64 " MACs, ~%" PRId64 " cycles at II=1 (%.1f us at %g ns), "
                   "ROM %" PRId64 " bytes, arena (BRAM/URAM) %" PRId64 " bytes\n",
              tm, tc, (double)tc * (o->clock_ns > 0 ? o->clock_ns : 10.0) / 1000.0,
              o->clock_ns > 0 ? o->clock_ns : 10.0, trom, arena);
    if (o->fixed)
        sb_printf(&sb, "data type: fixed<%d,%d> (%s storage)\n", o->fx_w, o->fx_i, fx_store(o));
    else
        sb_puts(&sb, "data type: float\n");
    return sb.buf;
}
