/* cgen_c.c — the portable C99 back end: prints a KProg (kir.h) as NAME.h, NAME.c and
 * NAME_weights.c, copies the runtime files the program calls, and writes the test/bench
 * harness. It reads only the loop IR: no ONNX operator is known here.
 *
 * What the output must satisfy, and why the printer looks the way it does:
 * - it compiles warning-free under gcc and clang with -std=c99 -Wall -Wextra -pedantic
 *   -Werror, so unused parameters/variables get `(void)x;`, every subexpression is
 *   parenthesized, and types narrower than int are cast back after C's promotions;
 * - constants are exact: floats as hex literals (sb_float_literal), integers with a cast
 *   or suffix whenever C's literal typing would differ from the IR type;
 * - no malloc, no recursion, libm only. Expressions that would have to repeat an operand
 *   (min, max, integer abs) call small static helpers instead, so nested min/max chains
 *   stay linear in size; helpers are emitted only when used (no unused-function warning);
 * - float16/bfloat16 are stored as their 16-bit patterns (uint16_t) and computed on as
 *   float: a load widens through onnxcc_h2f/onnxcc_bf2f, every arithmetic result is rounded
 *   back (onnxcc_hround/onnxcc_bfround: numpy's per-operation rounding), a store narrows
 *   with onnxcc_f2h/onnxcc_f2bf. The helpers are bit manipulation (round to nearest even,
 *   overflow to inf, NaN stays NaN), so no compiler or target half support is needed. */
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
#include "cprinter.h"

/* ---- small utilities ---- */


/* C storage type of an element. F16/BF16 are stored as their raw bits; their values are
 * computed on as float (see the file comment). */
static const char *ctype(DType t)
{
    switch (t) {
    case DT_F32: return "float";
    case DT_F64: return "double";
    case DT_I8: return "int8_t";
    case DT_U8: return "uint8_t";
    case DT_I16: return "int16_t";
    case DT_U16: return "uint16_t";
    case DT_I32: return "int32_t";
    case DT_U32: return "uint32_t";
    case DT_I64: return "int64_t";
    case DT_U64: return "uint64_t";
    case DT_BOOL: return "uint8_t";
    case DT_IDX: return "ptrdiff_t";
    case DT_F16: case DT_BF16: return "uint16_t";
    default: return NULL;
    }
}


static int elem_bytes(DType t)
{
    switch (t) {
    case DT_F64: case DT_I64: case DT_U64: return 8;
    case DT_F32: case DT_I32: case DT_U32: return 4;
    case DT_I16: case DT_U16: case DT_F16: case DT_BF16: return 2;
    case DT_I8: case DT_U8: case DT_BOOL: return 1;
    case DT_IDX: return (int)sizeof(ptrdiff_t);
    default: return 0;
    }
}

/* Types C promotes to int in arithmetic: results must be cast back to wrap correctly. */
static int is_narrow(DType t)
{
    return t == DT_I8 || t == DT_U8 || t == DT_I16 || t == DT_U16 || t == DT_BOOL;
}

static int is_fp(DType t)
{
    return t == DT_F32 || t == DT_F64;
}

/* float16/bfloat16: uint16_t in memory, float in expressions */
static int is_h16(DType t)
{
    return t == DT_F16 || t == DT_BF16;
}

static int is_unsigned(DType t)
{
    return t == DT_U8 || t == DT_U16 || t == DT_U32 || t == DT_U64 || t == DT_BOOL;
}

/* Indentation of the current scope, for a line printed piecewise. */
static void begin_line(StrBuf *sb)
{
    for (int i = 0; i < sb->indent; i++) sb_puts(sb, "    ");
}

/* Text safe inside a block comment on one line: no "*" "/" pair can close it, no control
 * bytes, no "??" that a C99 compiler could read as a trigraph. */
static void sb_comment_text(StrBuf *sb, const char *s)
{
    char prev = 0;
    for (; s && *s; s++) {
        char c = *s;
        if ((unsigned char)c < 0x20 || c == 0x7f) c = ' ';
        if ((prev == '*' && c == '/') || (prev == '/' && c == '*') || (prev == '?' && c == '?'))
            sb_puts(sb, " ");
        sb_printf(sb, "%c", c);
        prev = c;
    }
}

/* ---- constants ---- */

/* Float literal; negative ones parenthesized so `a - -1.0f` or `-(-x)` cannot form. */
static void sb_fconst(StrBuf *sb, double v, int is_f32)
{
    if (isnan(v)) {
        /* the sign of a NaN survives (weights read back bit-exact for the usual NaNs) */
        if (signbit(v)) sb_puts(sb, is_f32 ? "(-NAN)" : "(-(double)NAN)");
        else sb_puts(sb, is_f32 ? "NAN" : "((double)NAN)");
        return;
    }
    if (signbit(v)) {
        sb_puts(sb, "(");
        sb_float_literal(sb, v, is_f32);
        sb_puts(sb, ")");
    } else if (isinf(v) && !is_f32) {
        sb_puts(sb, "((double)INFINITY)");
    } else {
        sb_float_literal(sb, v, is_f32);
    }
}

/* Integer constant of type t. `bare` allows a plain decimal when the value fits an int:
 * the caller knows C's conversions will bring it to type t (the other operand of a binary
 * operator is not a constant, or the context is an assignment/subscript/argument). */
static void sb_iconst(StrBuf *sb, DType t, int64_t v, int bare)
{
    if (t == DT_U64) {
        uint64_t u = (uint64_t)v;
        if (bare && u <= 2147483647u) sb_printf(sb, "%" PRIu64, u);
        else sb_printf(sb, "((uint64_t)%" PRIu64 "ULL)", u);
        return;
    }
    if (t == DT_BOOL) v = v != 0;
    if (bare && v >= -2147483647 && v <= 2147483647 && !(is_unsigned(t) && v < 0)) {
        if (v < 0) sb_printf(sb, "(%" PRId64 ")", v);
        else sb_printf(sb, "%" PRId64, v);
        return;
    }
    const char *ct = ctype(t);
    if (v == INT64_MIN) {
        sb_printf(sb, "((%s)INT64_MIN)", ct);
    } else if (v >= -2147483647 && v <= 2147483647) {
        sb_printf(sb, "((%s)%s%" PRId64 "%s)", ct, v < 0 ? "(" : "", v, v < 0 ? ")" : "");
    } else if (is_unsigned(t)) {
        sb_printf(sb, "((%s)%" PRId64 "U)", ct, v);
    } else {
        sb_printf(sb, "((%s)%s%" PRId64 "LL%s)", ct, v < 0 ? "(" : "", v, v < 0 ? ")" : "");
    }
}

/* ---- the function printer ---- */

enum { H_MIN, H_MAX, H_ABS, H_COUNT };

/* The 16-bit float helpers, as bits of CG.h16 (a helper sets the bits of those it calls). */
enum {
    HF_H2F = 1, HF_F2H = 2, HF_BF2F = 4, HF_F2BF = 8, HF_D2F = 16,
    HF_HROUND = 32 | HF_H2F | HF_F2H, HF_BFROUND = 64 | HF_BF2F | HF_F2BF
};

struct CG {
    const CHooks *h;  /* dialect overrides (HLS); NULL: plain C */
    const KProg *p;
    const KFunc *f;
    StrBuf *sb;
    unsigned char helpers[H_COUNT][DT_COUNT]; /* helper functions the program uses */
    unsigned h16;                             /* HF_* helpers the program uses */
    unsigned bitcasts;                        /* bit i: bitcast_pairs[i] is used */
    int *var_reads;                           /* per variable of f: reads in expressions */
    int *buf_uses;                            /* per buffer of f: any reference */
    char *err;                                /* first error (malloc'd) */
    int top;       /* the next expression stands alone (subscript, right of =, argument) */
};
typedef struct CG CG;

/* Type name in printed code: the dialect's, else C's. */
static const char *cg_type(CG *cg, DType t)
{
    const char *n = cg->h && cg->h->type_name ? cg->h->type_name(cg, t) : NULL;
    return n ? n : ctype(t);
}

static void cg_fail(CG *cg, char *msg)
{
    if (!cg->err) cg->err = msg;
    else free(msg);
}

static const char *var_name(const CG *cg, int v)
{
    static char tmp[32];
    if (v >= 0 && v < cg->f->nvars && cg->f->vars[v].name) return cg->f->vars[v].name;
    snprintf(tmp, sizeof tmp, "v_%d", v);
    return tmp;
}

static const char *buf_name(const CG *cg, int b)
{
    static char tmp[32];
    if (b >= 0 && b < cg->f->nbufs && cg->f->bufs[b].name) return cg->f->bufs[b].name;
    snprintf(tmp, sizeof tmp, "b_%d", b);
    return tmp;
}


static const char *binop_c(int op)
{
    switch (op) {
    case KB_ADD: return "+";
    case KB_SUB: return "-";
    case KB_MUL: return "*";
    case KB_DIV: return "/";
    case KB_REM: return "%";
    case KB_LT: return "<";
    case KB_LE: return "<=";
    case KB_GT: return ">";
    case KB_GE: return ">=";
    case KB_EQ: return "==";
    case KB_NE: return "!=";
    case KB_AND: return "&&";
    case KB_OR: return "||";
    case KB_BAND: return "&";
    case KB_BOR: return "|";
    case KB_BXOR: return "^";
    case KB_SHL: return "<<";
    case KB_SHR: return ">>";
    default: return NULL;
    }
}

static void emit_expr(CG *cg, const KExpr *e, int bare);

/* Opens `((T)(` when a result of type t needs wrapping back after integer promotion. */
static int narrow_open(CG *cg, DType t)
{
    if (!is_narrow(t)) return 0;
    sb_printf(cg->sb, "((%s)", ctype(t));
    return 1;
}

static void narrow_close(CG *cg, int opened)
{
    if (opened) sb_puts(cg->sb, ")");
}

/* Opens the rounding of a float result back to 16-bit type t (nothing for other types). */
static int round_open(CG *cg, DType t)
{
    if (!is_h16(t)) return 0;
    cg->h16 |= t == DT_F16 ? HF_HROUND : HF_BFROUND;
    sb_puts(cg->sb, t == DT_F16 ? "onnxcc_hround(" : "onnxcc_bfround(");
    return 1;
}

static void emit_un(CG *cg, const KExpr *e)
{
    StrBuf *sb = cg->sb;
    DType at = e->a->t;
    int fp = is_fp(at) || is_h16(at);
    switch (e->op) {
    case KU_NEG: {
        int n = narrow_open(cg, at);
        sb_puts(sb, "(-");
        emit_expr(cg, e->a, 0);
        sb_puts(sb, ")");
        narrow_close(cg, n);
        return;
    }
    case KU_ABS:
        if (fp) {
            sb_puts(sb, at != DT_F64 ? "fabsf(" : "fabs(");
            emit_expr(cg, e->a, 1);
            sb_puts(sb, ")");
        } else if (is_unsigned(at)) {
            emit_expr(cg, e->a, 0);
        } else {
            cg->helpers[H_ABS][at] = 1;
            sb_printf(sb, "onnxcc_abs_%s(", dt_suffix(at));
            emit_expr(cg, e->a, 1);
            sb_puts(sb, ")");
        }
        return;
    case KU_NOT:
        sb_puts(sb, "(!");
        emit_expr(cg, e->a, 0);
        sb_puts(sb, ")");
        return;
    case KU_BITNOT: {
        int n = narrow_open(cg, at);
        sb_puts(sb, "(~");
        emit_expr(cg, e->a, 0);
        sb_puts(sb, ")");
        narrow_close(cg, n);
        return;
    }
    case KU_ISNAN:
    case KU_ISINF:
        if (!fp) {
            sb_puts(sb, "0"); /* an integer is never NaN or infinite */
            return;
        }
        /* the macros return any nonzero value; a bool must be exactly 0 or 1 */
        sb_puts(sb, e->op == KU_ISNAN ? "(isnan(" : "(isinf(");
        emit_expr(cg, e->a, 1);
        sb_puts(sb, ") != 0)");
        return;
    default:
        break;
    }
    const char *fn = kir_unop_libm(e->op);
    if (!fn) {
        cg_fail(cg, str_fmt("%s: unknown unary operator %d", cg->f->name, e->op));
        return;
    }
    if (fp) {
        int r = round_open(cg, at);
        sb_printf(sb, "%s%s(", fn, at != DT_F64 ? "f" : "");
        emit_expr(cg, e->a, 1);
        sb_puts(sb, ")");
        narrow_close(cg, r);
    } else {
        /* integer operand: compute in double, convert back */
        sb_printf(sb, "((%s)%s((double)", ctype(e->t), fn);
        emit_expr(cg, e->a, 0);
        sb_puts(sb, "))");
    }
}

static void emit_bin(CG *cg, const KExpr *e, int top)
{
    StrBuf *sb = cg->sb;
    DType at = e->a->t;
    int fp = is_fp(at) || is_h16(at), r;
    /* A constant may print bare when the other operand is not constant: the usual
     * arithmetic conversions then give it the other operand's (correct) type. */
    int bare_a = e->b->kind != KE_CONST, bare_b = e->a->kind != KE_CONST;
    switch (e->op) {
    case KB_MIN:
    case KB_MAX: {
        int h = e->op == KB_MIN ? H_MIN : H_MAX;
        DType ht = is_h16(at) ? DT_F32 : at;   /* exact on the float values */
        cg->helpers[h][ht] = 1;
        sb_printf(sb, "onnxcc_%s_%s(", h == H_MIN ? "min" : "max", dt_suffix(ht));
        emit_expr(cg, e->a, 1);
        sb_puts(sb, ", ");
        emit_expr(cg, e->b, 1);
        sb_puts(sb, ")");
        return;
    }
    case KB_POW:
        if (fp) {
            r = round_open(cg, at);
            sb_puts(sb, at != DT_F64 ? "powf(" : "pow(");
            emit_expr(cg, e->a, 1);
            sb_puts(sb, ", ");
            emit_expr(cg, e->b, 1);
            sb_puts(sb, ")");
            narrow_close(cg, r);
        } else {
            sb_printf(sb, "((%s)pow((double)", ctype(at));
            emit_expr(cg, e->a, 0);
            sb_puts(sb, ", (double)");
            emit_expr(cg, e->b, 0);
            sb_puts(sb, "))");
        }
        return;
    case KB_REM:
        if (fp) {
            r = round_open(cg, at);
            sb_puts(sb, at != DT_F64 ? "fmodf(" : "fmod(");
            emit_expr(cg, e->a, 1);
            sb_puts(sb, ", ");
            emit_expr(cg, e->b, 1);
            sb_puts(sb, ")");
            narrow_close(cg, r);
            return;
        }
        break;
    case KB_XOR:
        /* logical xor on bools, robust to any nonzero "true" */
        sb_puts(sb, "((");
        emit_expr(cg, e->a, 1);
        sb_puts(sb, " != 0) != (");
        emit_expr(cg, e->b, 1);
        sb_puts(sb, " != 0))");
        return;
    case KB_SHL:
    case KB_SHR:
        /* the result takes the left operand's promoted type alone */
        bare_a = 0;
        bare_b = 1;
        break;
    default:
        break;
    }
    const char *op = binop_c(e->op);
    if (!op) {
        cg_fail(cg, str_fmt("%s: unknown binary operator %d", cg->f->name, e->op));
        return;
    }
    int arith = !(e->op >= KB_LT && e->op <= KB_NE) && e->op != KB_AND && e->op != KB_OR;
    int rd = arith ? round_open(cg, at) : 0;
    int n = arith ? narrow_open(cg, at) : 0;
    int paren = n || (!top && !rd);
    if (paren) sb_puts(sb, "(");
    emit_expr(cg, e->a, bare_a);
    sb_printf(sb, " %s ", op);
    emit_expr(cg, e->b, bare_b);
    if (paren) sb_puts(sb, ")");
    narrow_close(cg, n);
    narrow_close(cg, rd);
}

static void emit_cast(CG *cg, const KExpr *e)
{
    StrBuf *sb = cg->sb;
    DType to = e->t, from = e->a->t;
    if (!ctype(to) || !ctype(from)) {
        cg_fail(cg, str_fmt("%s: cast from %s to %s is not supported by the C back end",
                                cg->f->name, dt_name(from), dt_name(to)));
        return;
    }
    if (to == DT_BOOL) {
        /* any nonzero (NaN included) is true, and true is exactly 1 */
        sb_puts(sb, "((uint8_t)(");
        emit_expr(cg, e->a, 1);
        sb_puts(sb, " != 0))");
        return;
    }
    if (is_h16(to)) {
        /* float64 is narrowed to float rounding to odd, so that the second rounding (to
         * 16 bits) gives the correctly rounded result: one rounding, as numpy's */
        int r = round_open(cg, to);
        if (from == DT_F64) {
            cg->h16 |= HF_D2F;
            sb_puts(sb, "onnxcc_d2f_odd(");
            emit_expr(cg, e->a, 1);
            sb_puts(sb, ")");
        } else {
            sb_puts(sb, "(float)");
            emit_expr(cg, e->a, 0);
        }
        narrow_close(cg, r);
        return;
    }
    sb_printf(sb, "((%s)", cg_type(cg, to));
    emit_expr(cg, e->a, 0);
    sb_puts(sb, ")");
}

/* Bitcasts that involve a float: a helper through a union each (C99, no aliasing
 * question); between integers of one size a C conversion is the same bits. */
static const struct { DType from, to; } bitcast_pairs[] = {
    { DT_F32, DT_I32 }, { DT_F32, DT_U32 }, { DT_I32, DT_F32 }, { DT_U32, DT_F32 },
    { DT_F64, DT_I64 }, { DT_F64, DT_U64 }, { DT_I64, DT_F64 }, { DT_U64, DT_F64 },
};
enum { N_BITCAST_PAIRS = (int)(sizeof bitcast_pairs / sizeof bitcast_pairs[0]) };

static void emit_bitcast(CG *cg, const KExpr *e)
{
    StrBuf *sb = cg->sb;
    DType to = e->t, from = e->a->t;
    if (!is_fp(to) && !is_fp(from) && ctype(to) && ctype(from)) {
        sb_printf(sb, "((%s)", cg_type(cg, to));
        emit_expr(cg, e->a, 0);
        sb_puts(sb, ")");
        return;
    }
    for (int i = 0; i < N_BITCAST_PAIRS; i++) {
        if (bitcast_pairs[i].from != from || bitcast_pairs[i].to != to) continue;
        cg->bitcasts |= 1u << i;
        sb_printf(sb, "onnxcc_bits_%s_%s(", dt_suffix(from), dt_suffix(to));
        emit_expr(cg, e->a, 1);
        sb_puts(sb, ")");
        return;
    }
    cg_fail(cg, str_fmt("%s: bitcast from %s to %s is not supported by the C back end",
                        cg->f->name, dt_name(from), dt_name(to)));
}

static void emit_bitcast_helpers(StrBuf *sb, unsigned used)
{
    if (!used) return;
    sb_puts(sb, "/* the same bits read as another type */\n");
    for (int i = 0; i < N_BITCAST_PAIRS; i++) {
        if (!(used & (1u << i))) continue;
        DType f = bitcast_pairs[i].from, t = bitcast_pairs[i].to;
        sb_printf(sb, "static %s onnxcc_bits_%s_%s(%s x)\n{\n"
                      "    union { %s a; %s b; } v;\n    v.a = x;\n    return v.b;\n}\n",
                  ctype(t), dt_suffix(f), dt_suffix(t), ctype(f), ctype(f), ctype(t));
    }
    sb_puts(sb, "\n");
}

/* A whole expression in a context that needs no parentheses around it. */
static void emit_top(CG *cg, const KExpr *e, int bare)
{
    cg->top = 1;
    emit_expr(cg, e, bare);
}

/* buf[idx], or the dialect's array and offset: name[off + idx] */
static void emit_ref(CG *cg, int b, const KExpr *idx)
{
    const char *name = buf_name(cg, b);
    int64_t off = 0;
    if (cg->h && cg->h->buf_ref) cg->h->buf_ref(cg, b, &name, &off);
    sb_printf(cg->sb, "%s[", name);
    if (off) {
        /* only operators that bind tighter than + may follow it unparenthesized */
        int paren = idx && idx->kind == KE_BIN && idx->op != KB_ADD && idx->op != KB_SUB &&
                    idx->op != KB_MUL && idx->op != KB_DIV && idx->op != KB_REM;
        sb_printf(cg->sb, "%" PRId64 " + %s", off, paren ? "(" : "");
        emit_top(cg, idx, 1);
        if (paren) sb_puts(cg->sb, ")");
    } else {
        emit_top(cg, idx, 1);
    }
    sb_puts(cg->sb, "]");
}

static void emit_expr(CG *cg, const KExpr *e, int bare)
{
    StrBuf *sb = cg->sb;
    int top = cg->top;
    cg->top = 0;
    if (!e) {
        cg_fail(cg, str_fmt("%s: missing expression", cg->f->name));
        return;
    }
    if (!ctype(e->t)) {
        cg_fail(cg, str_fmt("%s: type %s cannot be computed on by the C back end",
                                cg->f->name, dt_name(e->t)));
        return;
    }
    if (cg->h && cg->h->expr && cg->h->expr(cg, e, bare)) return;
    switch (e->kind) {
    case KE_CONST:
        if (is_h16(e->t)) sb_fconst(sb, e->f, 1);   /* exact in float */
        else if (is_fp(e->t)) sb_fconst(sb, e->t == DT_F32 ? (double)(float)e->f : e->f, e->t == DT_F32);
        else sb_iconst(sb, e->t, e->i, bare);
        return;
    case KE_VAR:
        sb_puts(sb, var_name(cg, e->id));
        return;
    case KE_LOAD:
        if (is_h16(e->t)) {
            cg->h16 |= e->t == DT_F16 ? HF_H2F : HF_BF2F;
            sb_puts(sb, e->t == DT_F16 ? "onnxcc_h2f(" : "onnxcc_bf2f(");
            emit_ref(cg, e->id, e->a);
            sb_puts(sb, ")");
            return;
        }
        emit_ref(cg, e->id, e->a);
        return;
    case KE_UN:
        emit_un(cg, e);
        return;
    case KE_BIN:
        emit_bin(cg, e, top);
        return;
    case KE_SELECT: {
        int n = narrow_open(cg, e->t);
        sb_puts(sb, "(");
        emit_expr(cg, e->a, 1);
        sb_puts(sb, " ? ");
        emit_expr(cg, e->b, e->c->kind != KE_CONST);
        sb_puts(sb, " : ");
        emit_expr(cg, e->c, e->b->kind != KE_CONST);
        sb_puts(sb, ")");
        narrow_close(cg, n);
        return;
    }
    case KE_CAST:
        emit_cast(cg, e);
        return;
    case KE_BITCAST:
        emit_bitcast(cg, e);
        return;
    }
    cg_fail(cg, str_fmt("%s: unknown expression kind %d", cg->f->name, (int)e->kind));
}

/* Counts variable reads in a statement list without printing (for `(void)v;`). */
static void count_reads_expr(CG *cg, const KExpr *e)
{
    if (!e) return;
    if (e->kind == KE_VAR && e->id >= 0 && e->id < cg->f->nvars) cg->var_reads[e->id]++;
    count_reads_expr(cg, e->a);
    count_reads_expr(cg, e->b);
    count_reads_expr(cg, e->c);
}

/* `v = v;` (what a folded `v = v / 1` leaves) trips clang's -Wself-assign: it is not
 * printed, so it does not count as a read either. */
static int is_self_set(const KStmt *s)
{
    return s->kind == KS_SET && s->val && s->val->kind == KE_VAR && s->val->id == s->var;
}

static void count_reads(CG *cg, const KStmt *s)
{
    for (; s; s = s->next) {
        if (is_self_set(s)) continue;
        count_reads_expr(cg, s->lo);
        count_reads_expr(cg, s->hi);
        count_reads_expr(cg, s->cond);
        count_reads_expr(cg, s->idx);
        count_reads_expr(cg, s->val);
        for (int i = 0; i < s->nargs; i++)
            if (s->args[i].kind == KA_BUF) count_reads_expr(cg, s->args[i].off);
        count_reads(cg, s->body);
        count_reads(cg, s->els);
    }
}

static void count_bufs_expr(CG *cg, const KExpr *e)
{
    if (!e) return;
    if (e->kind == KE_LOAD && e->id >= 0 && e->id < cg->f->nbufs) cg->buf_uses[e->id]++;
    count_bufs_expr(cg, e->a);
    count_bufs_expr(cg, e->b);
    count_bufs_expr(cg, e->c);
}

static void count_bufs(CG *cg, const KStmt *s)
{
    for (; s; s = s->next) {
        count_bufs_expr(cg, s->lo);
        count_bufs_expr(cg, s->hi);
        count_bufs_expr(cg, s->cond);
        count_bufs_expr(cg, s->idx);
        count_bufs_expr(cg, s->val);
        if (s->kind == KS_STORE && s->buf >= 0 && s->buf < cg->f->nbufs) cg->buf_uses[s->buf]++;
        for (int i = 0; i < s->nargs; i++) {
            const KArg *a = &s->args[i];
            if (a->kind == KA_BUF && a->buf >= 0 && a->buf < cg->f->nbufs) cg->buf_uses[a->buf]++;
            if (a->kind == KA_BUF) count_bufs_expr(cg, a->off);
        }
        count_bufs(cg, s->body);
        count_bufs(cg, s->els);
    }
}

static void emit_call(CG *cg, const KStmt *s)
{
    StrBuf *sb = cg->sb;
    if (!s->fn) {
        cg_fail(cg, str_fmt("%s: call without a kernel name", cg->f->name));
        return;
    }
    begin_line(sb);
    sb_printf(sb, "%s(", s->fn);
    for (int i = 0; i < s->nargs; i++) {
        const KArg *a = &s->args[i];
        if (i) sb_puts(sb, ", ");
        switch (a->kind) {
        case KA_BUF:
            if (a->buf < 0) {
                sb_puts(sb, "NULL");
            } else if (a->off && !(a->off->kind == KE_CONST && a->off->i == 0)) {
                sb_printf(sb, "(%s + ", buf_name(cg, a->buf));
                emit_top(cg, a->off, 1);
                sb_puts(sb, ")");
            } else {
                sb_puts(sb, buf_name(cg, a->buf));
            }
            break;
        case KA_INT:
            sb_iconst(sb, DT_IDX, a->i, 1);
            break;
        case KA_FLOAT:
            sb_fconst(sb, (double)(float)a->f, 1);
            break;
        }
    }
    sb_puts(sb, ");\n");
}

static void emit_block(CG *cg, const KStmt *s);

static void emit_stmt(CG *cg, const KStmt *s)
{
    StrBuf *sb = cg->sb;
    const KFunc *f = cg->f;
    switch (s->kind) {
    case KS_FOR: {
        const char *v = var_name(cg, s->var);
        DType t = s->var >= 0 && s->var < f->nvars ? f->vars[s->var].t : DT_IDX;
        begin_line(sb);
        if (cg->h && cg->h->loop) cg->h->loop(cg, sb, s, 0);
        sb_printf(sb, "for (%s %s = ", cg_type(cg, t) ? cg_type(cg, t) : "ptrdiff_t", v);
        emit_top(cg, s->lo, 1);
        sb_printf(sb, "; %s < ", v);
        emit_expr(cg, s->hi, 1);
        sb_printf(sb, "; %s++) {\n", v);
        sb->indent++;
        if (cg->h && cg->h->loop) cg->h->loop(cg, sb, s, 1);
        emit_block(cg, s->body);
        sb_close(sb, "");
        return;
    }
    case KS_IF:
        begin_line(sb);
        sb_puts(sb, "if (");
        emit_top(cg, s->cond, 1);
        sb_puts(sb, ") {\n");
        sb->indent++;
        emit_block(cg, s->body);
        if (s->els) {
            sb_close(sb, " else {");
            sb->indent++;
            emit_block(cg, s->els);
        }
        sb_close(sb, "");
        return;
    case KS_DECL: {
        DType t = s->var >= 0 && s->var < f->nvars ? f->vars[s->var].t : DT_UNDEF;
        if (!ctype(t)) {
            cg_fail(cg, str_fmt("%s: variable of type %s", f->name, dt_name(t)));
            return;
        }
        begin_line(sb);
        sb_printf(sb, "%s %s = ", is_h16(t) ? "float" : cg_type(cg, t), var_name(cg, s->var));
        if (s->val) emit_top(cg, s->val, 1);
        else sb_puts(sb, "0");
        sb_puts(sb, ";\n");
        return;
    }
    case KS_SET:
        if (is_self_set(s)) return;
        begin_line(sb);
        sb_printf(sb, "%s = ", var_name(cg, s->var));
        emit_top(cg, s->val, 1);
        sb_puts(sb, ";\n");
        return;
    case KS_STORE: {
        DType bt = s->buf >= 0 && s->buf < f->nbufs ? f->bufs[s->buf].t : DT_UNDEF;
        begin_line(sb);
        emit_ref(cg, s->buf, s->idx);
        sb_puts(sb, " = ");
        if (is_h16(bt)) {
            cg->h16 |= bt == DT_F16 ? HF_F2H : HF_F2BF;
            sb_puts(sb, bt == DT_F16 ? "onnxcc_f2h(" : "onnxcc_f2bf(");
        }
        emit_top(cg, s->val, 1);
        sb_puts(sb, is_h16(bt) ? ");\n" : ";\n");
        return;
    }
    case KS_CALL:
        emit_call(cg, s);
        return;
    }
    cg_fail(cg, str_fmt("%s: unknown statement kind %d", f->name, (int)s->kind));
}

/* A declared variable never read would trip -Wunused-(but-set-)variable: silence it right
 * after its declaration, where it is in scope. */
static void emit_block(CG *cg, const KStmt *s)
{
    for (; s; s = s->next) {
        emit_stmt(cg, s);
        if (s->kind == KS_DECL && s->var >= 0 && s->var < cg->f->nvars &&
            cg->var_reads[s->var] == 0)
            sb_line(cg->sb, "(void)%s;", var_name(cg, s->var));
    }
}

/* `static void NAME(const float *in0, float *out0)` */
static void emit_signature(StrBuf *sb, const KFunc *f)
{
    sb_printf(sb, "static void %s(", f->name);
    if (f->nbufs == 0) sb_puts(sb, "void");
    for (int i = 0; i < f->nbufs; i++) {
        const KBuf *b = &f->bufs[i];
        sb_printf(sb, "%s%s%s *%s", i ? ", " : "", b->role == KR_IN ? "const " : "",
                  ctype(b->t) ? ctype(b->t) : "void", b->name);
    }
    sb_puts(sb, ")");
}

static void emit_func(CG *cg, const KFunc *f)
{
    StrBuf *sb = cg->sb;
    cg->f = f;
    cg->var_reads = calloc((size_t)f->nvars + 1, sizeof(int));
    cg->buf_uses = calloc((size_t)f->nbufs + 1, sizeof(int));
    if (!cg->var_reads || !cg->buf_uses) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < f->nbufs; i++)
        if (!ctype(f->bufs[i].t) || !f->bufs[i].name)
            cg_fail(cg, str_fmt("%s: buffer %d has type %s, which the C back end cannot "
                                    "hold", f->name, i, dt_name(f->bufs[i].t)));
    count_reads(cg, f->body);
    count_bufs(cg, f->body);

    sb_puts(sb, "/* ");
    sb_comment_text(sb, f->comment && *f->comment ? f->comment : f->name);
    sb_puts(sb, " */\n");
    if (cg->h && cg->h->signature) cg->h->signature(cg, sb, f);
    else emit_signature(sb, f);
    sb_puts(sb, "\n{\n");
    sb->indent++;
    for (int i = 0; i < f->nbufs; i++) {
        if (cg->buf_uses[i]) continue;
        /* the dialect's name for it: what its signature declared */
        const char *name = buf_name(cg, i);
        int64_t off = 0;
        if (cg->h && cg->h->buf_ref) cg->h->buf_ref(cg, i, &name, &off);
        sb_line(sb, "(void)%s;", name);
    }
    emit_block(cg, f->body);
    sb_close(sb, "");
    sb_puts(sb, "\n");
    free(cg->var_reads);
    free(cg->buf_uses);
    cg->var_reads = NULL;
    cg->buf_uses = NULL;
}

/* ---- the program ---- */

static int tensor_is_array(const KTensor *t)
{
    if (t->rank < 1) return 0;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] <= 0) return 0;
    return 1;
}

/* Macro prefix: the program name in upper case (net -> NET_ARENA_BYTES). */
static void sb_upper(StrBuf *sb, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        sb_printf(sb, "%c", c);
    }
}

/* `const float x[1][3][224][224]` (or `const float *x` when the shape cannot be an array). */
static void sb_param(StrBuf *sb, const KTensor *t, int is_const)
{
    sb_printf(sb, "%s%s ", is_const ? "const " : "", ctype(t->t));
    if (tensor_is_array(t)) {
        sb_puts(sb, t->name);
        for (int i = 0; i < t->rank; i++) sb_printf(sb, "[%" PRId64 "]", t->dims[i]);
    } else {
        sb_printf(sb, "*%s", t->name);
    }
}

/* The pointer type an array parameter decays to: `const float (*)[3][224][224]`. */
static void sb_param_ptr_type(StrBuf *sb, const KTensor *t, int is_const)
{
    sb_printf(sb, "%s%s ", is_const ? "const " : "", ctype(t->t));
    if (tensor_is_array(t) && t->rank >= 2) {
        sb_puts(sb, "(*)");
        for (int i = 1; i < t->rank; i++) sb_printf(sb, "[%" PRId64 "]", t->dims[i]);
    } else {
        sb_puts(sb, "*");
    }
}

/* int NAME_run([void *onnxcc_arena, ][const void *onnxcc_weights, ]inputs..., outputs...):
 * --arena extern, --weights bin and --io in-arena (no I/O parameters) change it. */
static void sb_run_signature(StrBuf *sb, const KProg *p)
{
    sb_printf(sb, "int %s_run(", p->name);
    int any = 0;
    if (p->arena_extern) {
        sb_puts(sb, "void *onnxcc_arena");
        any = 1;
    }
    if (p->weights_bin) {
        sb_printf(sb, "%sconst void *onnxcc_weights", any ? ", " : "");
        any = 1;
    }
    for (int i = 0; i < p->ninputs && !p->io_in_arena; i++, any = 1) {
        if (any) sb_puts(sb, ", ");
        sb_param(sb, &p->tensors[p->inputs[i]], 1);
    }
    for (int i = 0; i < p->noutputs && !p->io_in_arena; i++, any = 1) {
        if (any) sb_puts(sb, ", ");
        sb_param(sb, &p->tensors[p->outputs[i]], 0);
    }
    if (!any) sb_puts(sb, "void");
    sb_puts(sb, ")");
}

/* --io in-arena: `float *NAME_input_x(void *onnxcc_arena)` (static arena: `(void)`). */
static void sb_io_accessor(StrBuf *sb, const KProg *p, int is_in, int k)
{
    const KTensor *t = &p->tensors[is_in ? p->inputs[k] : p->outputs[k]];
    sb_printf(sb, "%s%s *%s_%s_%s(%s)", is_in ? "" : "const ", ctype(t->t), p->name,
              is_in ? "input" : "output", t->name, p->arena_extern ? "void *onnxcc_arena" : "void");
}

/* `#ifdef __GNUC__` attribute macro NAME_SUFFIX: alignment and/or a linker section. */
static void sb_attr_macro(StrBuf *sb, const KProg *p, const char *suffix, const char *align_macro,
                          const char *section)
{
    sb_puts(sb, "#if defined(__GNUC__)\n#define ");
    sb_upper(sb, p->name);
    sb_printf(sb, "_%s __attribute__((", suffix);
    if (align_macro) {
        sb_puts(sb, "aligned(");
        sb_upper(sb, p->name);
        sb_printf(sb, "_%s)%s", align_macro, section ? ", " : "");
    }
    if (section) {
        sb_puts(sb, "section(\"");
        for (const char *c = section; *c; c++)
            sb_printf(sb, (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c);
        sb_puts(sb, "\")");
    }
    sb_puts(sb, "))\n#else\n#define ");
    sb_upper(sb, p->name);
    sb_printf(sb, "_%s\n#endif\n", suffix);
}

static void sb_tensor_desc(StrBuf *sb, const KTensor *t)
{
    sb_printf(sb, " *   %s: \"", t->name);
    sb_comment_text(sb, t->src_name ? t->src_name : "");
    int rank = t->str_cap ? t->rank - 1 : t->rank;   /* a string's cell is not a dimension */
    sb_printf(sb, "\" %s[", t->str_cap ? "string" : dt_name(t->model_t ? t->model_t : t->t));
    for (int i = 0; i < rank; i++) sb_printf(sb, "%s%" PRId64, i ? "x" : "", t->dims[i]);
    sb_puts(sb, t->str_cap ? "] (cells of STRING_BYTES)\n" : "]\n");
}

static char *gen_header(const KProg *p)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s.h — generated by onnxcc: the entry point of the compiled model. */\n",
              p->name);
    sb_puts(&sb, "#ifndef ONNXCC_GEN_");
    sb_upper(&sb, p->name);
    sb_puts(&sb, "_H\n#define ONNXCC_GEN_");
    sb_upper(&sb, p->name);
    sb_puts(&sb, "_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n");
    if (p->arena_extern)
        sb_puts(&sb, "/* the caller's arena (--arena extern): ARENA_BYTES bytes, aligned to\n"
                     " * ARENA_ALIGN, passed to every call; planned at compile time */\n");
    else
        sb_puts(&sb, "/* one static arena holds every intermediate; planned at compile time */\n");
    sb_puts(&sb, "#define ");
    sb_upper(&sb, p->name);
    sb_printf(&sb, "_ARENA_BYTES %" PRId64 "\n#define ", p->arena_bytes);
    sb_upper(&sb, p->name);
    sb_printf(&sb, "_ARENA_ALIGN %" PRId64 "\n", p->arena_align > 0 ? p->arena_align : 1);
    if (p->weights_bin) {
        sb_printf(&sb, "/* the weights blob %s_weights.bin (--weights bin): load or map it at an\n"
                       " * address aligned to WEIGHTS_ALIGN; host byte order */\n#define ", p->name);
        sb_upper(&sb, p->name);
        sb_printf(&sb, "_WEIGHTS_BYTES %" PRId64 "\n#define ", p->weights_bytes);
        sb_upper(&sb, p->name);
        sb_printf(&sb, "_WEIGHTS_ALIGN %" PRId64 "\n", p->weights_align > 0 ? p->weights_align : 1);
    }
    sb_puts(&sb, "#define ");
    sb_upper(&sb, p->name);
    sb_printf(&sb, "_NUM_INPUTS %d\n#define ", p->ninputs);
    sb_upper(&sb, p->name);
    sb_printf(&sb, "_NUM_OUTPUTS %d\n\n", p->noutputs);
    int64_t str_cap = 0;   /* one cell size for the whole program */
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        const KTensor *t = &p->tensors[i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs]];
        if (t->str_cap) str_cap = t->str_cap;
    }
    if (str_cap) {
        sb_puts(&sb, "/* bytes of one string cell: at most STRING_BYTES - 1 bytes, then a NUL */\n"
                     "#define ");
        sb_upper(&sb, p->name);
        sb_printf(&sb, "_STRING_BYTES %" PRId64 "\n\n", str_cap);
    }
    sb_puts(&sb, "/* Inputs (parameter: \"model name\" type[shape]):\n");
    for (int i = 0; i < p->ninputs; i++) sb_tensor_desc(&sb, &p->tensors[p->inputs[i]]);
    if (!p->ninputs) sb_puts(&sb, " *   (none)\n");
    sb_puts(&sb, " * Outputs:\n");
    int ndyn = 0;
    for (int i = 0; i < p->noutputs; i++) {
        const KTensor *t = &p->tensors[p->outputs[i]];
        sb_tensor_desc(&sb, t);
        if (t->dims_t) {
            sb_printf(&sb, " *     (a data-dependent size: at most the shape above; the run writes\n"
                           " *     its real dims into %s)\n", p->tensors[t->dims_t - 1].name);
            ndyn++;
        }
    }
    if (!p->noutputs) sb_puts(&sb, " *   (none)\n");
    sb_puts(&sb, " * Tensors are dense, row-major, host byte order; bool is one byte (0 or 1);\n"
                 " * float16 as IEEE binary16 bit patterns, bfloat16 as the upper 16 bits of a\n"
                 " * float32, both in uint16_t.\n");
    int low = 0;
    for (int i = 0; i < p->ninputs + p->noutputs; i++)
        low |= p->tensors[i < p->ninputs ? p->inputs[i] : p->outputs[i - p->ninputs]].model_t != 0;
    if (low)
        sb_puts(&sb, " * float8/float4 types: one code per byte (uint8_t); int4/uint4/int2/uint2:\n"
                     " * one value per byte (int8_t sign-extended / uint8_t), not packed.\n");
    if (ndyn)
        sb_puts(&sb, " * Data-dependent sizes (NonZero ...): such an output is declared with its\n"
                     " * upper bound, fixed at compile time, and followed after all the model's\n"
                     " * outputs by an int64_t NAME_dims[rank] parameter into which each run writes\n"
                     " * the real dims. The first prod(NAME_dims) elements hold the tensor, dense\n"
                     " * and row-major in those dims; the rest of the array is unspecified.\n");
    if (str_cap)
        sb_puts(&sb, " * Strings: a string tensor of shape S is uint8_t[S][NAME_STRING_BYTES], one cell\n"
                     " * per element: the string's bytes (UTF-8 or any other bytes but NUL), then a\n"
                     " * NUL. A run reads a cell up to its first NUL or its last byte, whichever\n"
                     " * comes first (a longer input string is cut there: onnxcc --max-string N sets\n"
                     " * the capacity, N + 1 bytes), and always terminates the cells it writes. A\n"
                     " * data-dependent size counts strings, not bytes.\n");
    if (p->list_io)
        sb_puts(&sb, " * Sequences and optionals have a length and a presence fixed at compile time:\n"
                     " * a sequence NAME is one parameter per element, \"NAME[0]\", \"NAME[1]\" ... in\n"
                     " * order; an optional is its element's parameter(s), or none when it is absent.\n");
    if (p->io_in_arena)
        sb_puts(&sb, " * Inputs and outputs live inside the arena (--io in-arena): write the inputs\n"
                     " * through NAME_input_X(), run, read the outputs through NAME_output_Y().\n"
                     " * A run may overwrite its inputs.\n");
    if (p->arena_extern)
        sb_puts(&sb, " * Returns 0. Reentrant for distinct arenas. */\n");
    else
        sb_puts(&sb, " * Returns 0. Not reentrant: the arena is one static object. */\n");
    sb_run_signature(&sb, p);
    sb_puts(&sb, ";\n");
    for (int k = 0; p->io_in_arena && k < p->ninputs + p->noutputs; k++) {
        int is_in = k < p->ninputs;
        const KTensor *t = &p->tensors[is_in ? p->inputs[k] : p->outputs[k - p->ninputs]];
        sb_puts(&sb, "#define ");
        sb_upper(&sb, p->name);
        sb_printf(&sb, "_%s_", is_in ? "INPUT" : "OUTPUT");
        sb_upper(&sb, t->name);
        sb_printf(&sb, "_OFFSET %" PRId64 " /* bytes into the arena */\n", t->offset);
        sb_io_accessor(&sb, p, is_in, is_in ? k : k - p->ninputs);
        sb_puts(&sb, ";\n");
    }
    sb_puts(&sb, "\n#endif\n");
    return sb.buf;
}

/* The LLVM back end writes an object file beside this very header: one writer, one ABI. */
char *cgen_c_header(const KProg *p)
{
    return gen_header(p);
}

/* One weight element, exactly. */
static void sb_weight_elem(StrBuf *sb, DType t, const unsigned char *d, int64_t i)
{
    switch (t) {
    case DT_F32: {
        float v;
        memcpy(&v, d + i * 4, 4);
        if (isnan(v)) sb_fconst(sb, (double)v, 1);
        else sb_float_literal(sb, (double)v, 1);
        return;
    }
    case DT_F64: {
        double v;
        memcpy(&v, d + i * 8, 8);
        if (isnan(v) || isinf(v)) sb_fconst(sb, v, 0);
        else sb_float_literal(sb, v, 0);
        return;
    }
    case DT_I8: sb_printf(sb, "%d", (int)((const int8_t *)d)[i]); return;
    case DT_U8: sb_printf(sb, "%u", (unsigned)d[i]); return;
    case DT_BOOL: sb_printf(sb, "%u", (unsigned)d[i]); return;
    case DT_I16: { int16_t v; memcpy(&v, d + i * 2, 2); sb_printf(sb, "%d", (int)v); return; }
    case DT_U16: case DT_F16: case DT_BF16: {
        uint16_t v;
        memcpy(&v, d + i * 2, 2);
        sb_printf(sb, "%u", (unsigned)v);
        return;
    }
    case DT_I32: {
        int32_t v;
        memcpy(&v, d + i * 4, 4);
        if (v == INT32_MIN) sb_puts(sb, "(-2147483647 - 1)");
        else sb_printf(sb, "%" PRId32, v);
        return;
    }
    case DT_U32: { uint32_t v; memcpy(&v, d + i * 4, 4); sb_printf(sb, "%" PRIu32 "U", v); return; }
    case DT_I64: case DT_IDX: {
        int64_t v;
        memcpy(&v, d + i * 8, 8);
        if (v == INT64_MIN) sb_puts(sb, "(-9223372036854775807LL - 1)");
        else if (v >= -2147483647 && v <= 2147483647) sb_printf(sb, "%" PRId64, v);
        else sb_printf(sb, "%" PRId64 "LL", v);
        return;
    }
    case DT_U64: { uint64_t v; memcpy(&v, d + i * 8, 8); sb_printf(sb, "%" PRIu64 "ULL", v); return; }
    default: sb_puts(sb, "0"); return;
    }
}

/* Which tensors the functions reference, and how. */
typedef struct Usage {
    unsigned char *used;   /* per tensor */
    int uses_arena;
    const char **kernels;  /* distinct kernel names called */
    int nkernels;
    /* --weights bytes: the blob split into files (chunk_split) */
    int nchunks;
    int64_t *chunk_base;   /* [nchunks + 1]: blob offset where each file starts, then the end */
    int *chunk;            /* per tensor: its file */
} Usage;

static void collect_calls(Usage *u, const KStmt *s, int *cap)
{
    for (; s; s = s->next) {
        if (s->kind == KS_CALL && s->fn) {
            int seen = 0;
            for (int i = 0; i < u->nkernels; i++) seen |= !strcmp(u->kernels[i], s->fn);
            if (!seen) {
                if (u->nkernels == *cap) {
                    *cap = *cap ? *cap * 2 : 8;
                    const char **nk = realloc(u->kernels, sizeof *nk * (size_t)*cap);
                    if (!nk) {
                        fputs("onnxcc: out of memory\n", stderr);
                        exit(1);
                    }
                    u->kernels = nk;
                }
                u->kernels[u->nkernels++] = s->fn;
            }
        }
        collect_calls(u, s->body, cap);
        collect_calls(u, s->els, cap);
    }
}

/* Checks every binding the printed code relies on, so a bad program is an error message
 * here rather than a C compile error (or worse, silent corruption) later. */
static char *check_prog(const KProg *p, Usage *u)
{
    if (!p->name || !*p->name) return str_fmt("program has no name");
    for (const char *c = p->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
              (c != p->name && *c >= '0' && *c <= '9')))
            return str_fmt("program name '%s' is not a C identifier", p->name);
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (!t->name) return str_fmt("tensor %d has no name", i);
        if (!ctype(t->t) || t->t == DT_IDX)
            return str_fmt("tensor '%s' has type %s, which the C back end does not support",
                               t->name, dt_name(t->t));
    }
    for (int i = 0; i < p->ninputs; i++)
        if (p->inputs[i] < 0 || p->inputs[i] >= p->ntensors) return str_fmt("bad input %d", i);
    for (int i = 0; i < p->noutputs; i++)
        if (p->outputs[i] < 0 || p->outputs[i] >= p->ntensors)
            return str_fmt("bad output %d", i);
    int kcap = 0;
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        if (!f->name) return str_fmt("function %d has no name", fi);
        for (int b = 0; b < f->nbufs; b++) {
            const KBuf *kb = &f->bufs[b];
            if (kb->tensor < 0 || kb->tensor >= p->ntensors)
                return str_fmt("%s: buffer %s is bound to no tensor", f->name, kb->name);
            const KTensor *t = &p->tensors[kb->tensor];
            u->used[kb->tensor] = 1;
            if (kb->role != KR_IN && (t->kind == KT_INPUT || t->kind == KT_CONST))
                return str_fmt("%s: buffer %s writes read-only tensor '%s'", f->name,
                                   kb->name, t->name);
            if (t->kind == KT_CONST && t->n > 0 && !t->data)
                return str_fmt("constant tensor '%s' has no data", t->name);
            if (t->kind == KT_ARENA ||
                (p->io_in_arena && (t->kind == KT_INPUT || t->kind == KT_OUTPUT))) {
                u->uses_arena = 1;
                int64_t bytes = t->n * elem_bytes(t->t);
                if (t->offset < 0 || t->offset + bytes > p->arena_bytes)
                    return str_fmt("arena tensor '%s' (offset %" PRId64 ", %" PRId64
                                       " bytes) lies outside the %" PRId64 "-byte arena",
                                       t->name, t->offset, bytes, p->arena_bytes);
            }
        }
        collect_calls(u, f->body, &kcap);
    }
    return NULL;
}

static void sb_weight_name(StrBuf *sb, const KProg *p, int tensor)
{
    sb_printf(sb, "%s_w%d", p->name, tensor);
}

static char *gen_weights(const KProg *p, const Usage *u)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s_weights.c — generated by onnxcc: the model's constant tensors, exact\n"
                   " * (hex-float literals). External linkage so %s.c can see them; the\n"
                   " * %s_ prefix keeps them out of the user's namespace. */\n",
              p->name, p->name, p->name);
    sb_puts(&sb, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n");
    if (p->section_weights) {
        sb_puts(&sb, "\n");
        sb_attr_macro(&sb, p, "WEIGHTS_ATTR", NULL, p->section_weights);
    }
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (t->kind != KT_CONST || !u->used[i]) continue;
        sb_puts(&sb, "\n/* \"");
        sb_comment_text(&sb, t->src_name ? t->src_name : t->name);
        sb_printf(&sb, "\" %s[", dt_name(t->t));
        for (int d = 0; d < t->rank; d++) sb_printf(&sb, "%s%" PRId64, d ? "x" : "", t->dims[d]);
        sb_puts(&sb, "] */\n");
        /* C has no zero-length arrays: an empty tensor is a 1-element dummy never read */
        sb_printf(&sb, "const %s ", ctype(t->t));
        sb_weight_name(&sb, p, i);
        sb_printf(&sb, "[%" PRId64 "]", t->n > 0 ? t->n : 1);
        if (p->section_weights) {
            sb_puts(&sb, " ");
            sb_upper(&sb, p->name);
            sb_puts(&sb, "_WEIGHTS_ATTR");
        }
        sb_puts(&sb, " = {");
        if (t->n <= 0) {
            sb_puts(&sb, " 0 };\n");
            continue;
        }
        int per_line = is_fp(t->t) ? 8 : 16;
        for (int64_t k = 0; k < t->n; k++) {
            sb_puts(&sb, k % per_line == 0 ? "\n    " : " ");
            sb_weight_elem(&sb, t->t, t->data, k);
            sb_puts(&sb, k + 1 < t->n ? "," : "");
        }
        sb_puts(&sb, "\n};\n");
    }
    return sb.buf;
}

/* The 16-bit float conversions: C99, integer bit manipulation through a union (no
 * undefined behaviour, no half support needed from the compiler or the target). */
static void emit_h16_helpers(StrBuf *sb, unsigned used)
{
    if (!used) return;
    sb_puts(sb, "/* float16/bfloat16 <-> float: round to nearest even, overflow to inf, NaN "
                "stays NaN */\n");
    if (used & HF_H2F) sb_puts(sb,
        "static float onnxcc_h2f(uint16_t h)\n{\n"
        "    union { uint32_t u; float f; } v;\n"
        "    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (uint32_t)(h >> 10) & 0x1fu, "
        "m = (uint32_t)h & 0x3ffu;\n"
        "    if (e == 0) { /* zero or subnormal: m * 2^-24, exact */\n"
        "        v.f = (float)m * 0x1p-24f;\n"
        "        v.u |= s;\n"
        "        return v.f;\n"
        "    }\n"
        "    v.u = s | (e == 31 ? 0x7f800000u : (e + 112u) << 23) | (m << 13);\n"
        "    return v.f;\n}\n");
    if (used & HF_F2H) sb_puts(sb,
        "static uint16_t onnxcc_f2h(float x)\n{\n"
        "    union { float f; uint32_t u; } v;\n"
        "    uint32_t s, a, m, q, r, sh;\n"
        "    v.f = x;\n"
        "    s = (v.u >> 16) & 0x8000u;\n"
        "    a = v.u & 0x7fffffffu;\n"
        "    if (a > 0x7f800000u) return (uint16_t)(s | 0x7e00u | ((a >> 13) & 0x3ffu));\n"
        "    if (a >= 0x477ff000u) return (uint16_t)(s | 0x7c00u); /* >= 65520: inf */\n"
        "    if (a >= 0x38800000u) { /* normal: drop 13 bits, ties to even */\n"
        "        q = (a >> 13) - 0x1c000u;\n"
        "        r = a & 0x1fffu;\n"
        "        if (r > 0x1000u || (r == 0x1000u && (q & 1u))) q++;\n"
        "        return (uint16_t)(s | q);\n"
        "    }\n"
        "    sh = 126u - (a >> 23); /* subnormal: units of 2^-24 */\n"
        "    if (sh > 24u) return (uint16_t)s;\n"
        "    m = (a & 0x7fffffu) | 0x800000u;\n"
        "    q = m >> sh;\n"
        "    r = m & ((1u << sh) - 1u);\n"
        "    if (r > (1u << (sh - 1u)) || (r == (1u << (sh - 1u)) && (q & 1u))) q++;\n"
        "    return (uint16_t)(s | q);\n}\n");
    if (used & HF_BF2F) sb_puts(sb,
        "static float onnxcc_bf2f(uint16_t b)\n{\n"
        "    union { uint32_t u; float f; } v;\n"
        "    v.u = (uint32_t)b << 16;\n"
        "    return v.f;\n}\n");
    if (used & HF_F2BF) sb_puts(sb,
        "static uint16_t onnxcc_f2bf(float x)\n{\n"
        "    union { float f; uint32_t u; } v;\n"
        "    v.f = x;\n"
        "    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u);\n"
        "    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);\n}\n");
    if (used & HF_D2F) sb_puts(sb,
        "/* double -> float rounding to odd: a later rounding to 16 bits is then exact */\n"
        "static float onnxcc_d2f_odd(double d)\n{\n"
        "    union { float f; uint32_t u; } v;\n"
        "    /* beyond float's range (C leaves that conversion undefined): the largest odd\n"
        "     * float rounds to inf in either 16-bit type, as d does */\n"
        "    if (d > 0x1.fffffep127) return 0x1.fffffep127f;\n"
        "    if (d < -0x1.fffffep127) return -0x1.fffffep127f;\n"
        "    v.f = (float)d;\n"
        "    if (d == d && (double)v.f != d) {\n"
        "        if (fabs((double)v.f) > fabs(d)) v.u -= 1u;\n"
        "        v.u |= 1u;\n"
        "    }\n"
        "    return v.f;\n}\n");
    if ((used & HF_HROUND) == HF_HROUND) sb_puts(sb,
        "static float onnxcc_hround(float x) { return onnxcc_h2f(onnxcc_f2h(x)); }\n");
    if ((used & HF_BFROUND) == HF_BFROUND) sb_puts(sb,
        "static float onnxcc_bfround(float x) { return onnxcc_bf2f(onnxcc_f2bf(x)); }\n");
    sb_puts(sb, "\n");
}

static void emit_helpers(StrBuf *sb, CG *cg)
{
    int any = 0;
    emit_h16_helpers(sb, cg->h16);
    emit_bitcast_helpers(sb, cg->bitcasts);
    for (int h = 0; h < H_COUNT; h++)
        for (int t = 0; t < DT_COUNT; t++) {
            if (!cg->helpers[h][t]) continue;
            if (!any) sb_puts(sb, "/* operand-once helpers: an inline ?: would repeat operands */\n");
            any = 1;
            const char *ct = cg_type(cg, (DType)t), *sx = dt_suffix((DType)t);
            if (h == H_MIN)
                sb_printf(sb, "static %s onnxcc_min_%s(%s a, %s b) { return a < b ? a : b; }\n",
                          ct, sx, ct, ct);
            else if (h == H_MAX)
                sb_printf(sb, "static %s onnxcc_max_%s(%s a, %s b) { return a > b ? a : b; }\n",
                          ct, sx, ct, ct);
            else
                sb_printf(sb, "static %s onnxcc_abs_%s(%s a) { return a < 0 ? (%s)-a : a; }\n",
                          ct, sx, ct, ct);
        }
    if (any) sb_puts(sb, "\n");
}

/* The pointer a function's buffer gets in NAME_run. */
static void sb_buf_arg(StrBuf *sb, const KProg *p, const Usage *u, const KBuf *b)
{
    const KTensor *t = &p->tensors[b->tensor];
    const char *cq = b->role == KR_IN ? "const " : "";
    const char *bt = ctype(b->t);
    int same = b->t == t->t || !strcmp(bt, ctype(t->t));
    if (p->io_in_arena && (t->kind == KT_INPUT || t->kind == KT_OUTPUT)) {
        sb_printf(sb, "(%s *)(void *)(onnxcc_a + %" PRId64 ")", bt, t->offset);
        return;
    }
    if (p->weights_bin && t->kind == KT_CONST) {
        sb_printf(sb, "(const %s *)(const void *)(onnxcc_w + %" PRId64 ")", bt, t->offset);
        return;
    }
    if (p->weights_packed && t->kind == KT_CONST) {
        int c = u->chunk[b->tensor];
        sb_printf(sb, "(const %s *)(const void *)(onnxcc_w%d + %" PRId64 ")", bt, c,
                  t->offset - u->chunk_base[c]);
        return;
    }
    switch (t->kind) {
    case KT_INPUT:
    case KT_OUTPUT:
        if (same) sb_printf(sb, "(%s%s *)%s", cq, bt, t->name);
        else sb_printf(sb, "(%s%s *)(%svoid *)%s", cq, bt, cq, t->name);
        return;
    case KT_CONST:
        if (same) {
            sb_weight_name(sb, p, b->tensor);
        } else {
            sb_printf(sb, "(const %s *)(const void *)", bt);
            sb_weight_name(sb, p, b->tensor);
        }
        return;
    case KT_ARENA:
        sb_printf(sb, "(%s *)(void *)(onnxcc_a + %" PRId64 ")", bt, t->offset);
        return;
    }
}

static char *gen_source(const KProg *p, const Usage *u, char **err)
{
    CG cg;
    memset(&cg, 0, sizeof cg);
    cg.p = p;
    StrBuf funcs;
    sb_init(&funcs);
    cg.sb = &funcs;
    for (int i = 0; i < p->nfuncs; i++)
        if (!p->funcs[i]->skip) emit_func(&cg, p->funcs[i]);
    if (cg.err) {
        sb_free(&funcs);
        *err = cg.err;
        return NULL;
    }

    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s.c — generated by onnxcc: one static function per node, run in order\n"
                   " * by %s_run. No malloc, no recursion; needs only libm. */\n",
              p->name, p->name);
    sb_printf(&sb, "#include \"%s.h\"\n#include <math.h>\n", p->name);
    if (u->nkernels) sb_puts(&sb, "#include \"onnxcc_rt.h\"\n");
    sb_puts(&sb, "\n");
    int any_w = 0;
    if (p->weights_packed) {
        sb_printf(&sb, "/* weights: a blob in %s_weights.c (--weights bytes)%s */\n", p->name,
                  u->nchunks > 1 ? " and its continuations _1.c, _2.c ..." : "");
        for (int c = 0; c < u->nchunks; c++)
            sb_printf(&sb, "extern const unsigned char *const %s_wbytes%d;\n", p->name, c);
        sb_puts(&sb, "\n");
    }
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (t->kind != KT_CONST || !u->used[i] || p->weights_bin || p->weights_packed) continue;
        if (!any_w) sb_printf(&sb, "/* weights: %s_weights.c */\n", p->name);
        any_w = 1;
        sb_printf(&sb, "extern const %s ", ctype(t->t));
        sb_weight_name(&sb, p, i);
        sb_printf(&sb, "[%" PRId64 "];\n", t->n > 0 ? t->n : 1);
    }
    if (any_w) sb_puts(&sb, "\n");
    int io = p->io_in_arena && p->ninputs + p->noutputs > 0;
    int need_arena = u->uses_arena || io;
    if (need_arena && !p->arena_extern) {
        /* the union aligns the byte array for any scalar type stored in it (C99 has no
         * _Alignas); GNU compilers also get NAME_ARENA_ALIGN and the linker section */
        sb_attr_macro(&sb, p, "ARENA_ATTR", "ARENA_ALIGN", p->section_arena);
        sb_puts(&sb, "static union {\n    double d;\n    int64_t i;\n    unsigned char bytes[");
        if (p->arena_bytes > 0) {
            sb_upper(&sb, p->name);
            sb_puts(&sb, "_ARENA_BYTES");
        } else {
            sb_puts(&sb, "1");
        }
        sb_printf(&sb, "];\n} %s_arena ", p->name);
        sb_upper(&sb, p->name);
        sb_puts(&sb, "_ARENA_ATTR;\n\n");
    }
    for (int k = 0; io && k < p->ninputs + p->noutputs; k++) {
        int is_in = k < p->ninputs;
        const KTensor *t = &p->tensors[is_in ? p->inputs[k] : p->outputs[k - p->ninputs]];
        sb_io_accessor(&sb, p, is_in, is_in ? k : k - p->ninputs);
        sb_printf(&sb, "\n{\n    return (%s%s *)(void *)(", is_in ? "" : "const ", ctype(t->t));
        if (p->arena_extern) sb_puts(&sb, "(unsigned char *)onnxcc_arena");
        else sb_printf(&sb, "%s_arena.bytes", p->name);
        sb_printf(&sb, " + %" PRId64 ");\n}\n\n", t->offset);
    }
    emit_helpers(&sb, &cg);
    sb_puts(&sb, funcs.buf ? funcs.buf : "");
    sb_free(&funcs);

    sb_run_signature(&sb, p);
    sb_puts(&sb, "\n{\n");
    sb.indent = 1;
    int uses_a = 0, uses_w = 0;   /* what the calls below address */
    unsigned char *uses_c = calloc((size_t)u->nchunks + 1, 1);   /* ... which blob files */
    if (!uses_c) {
        *err = str_fmt("out of memory");
        sb_free(&sb);
        return NULL;
    }
    for (int fi = 0; fi < p->nfuncs; fi++)
        for (int b = 0; !p->funcs[fi]->skip && b < p->funcs[fi]->nbufs; b++) {
            int ti = p->funcs[fi]->bufs[b].tensor;
            const KTensor *t = &p->tensors[ti];
            uses_a |= t->kind == KT_ARENA ||
                      (p->io_in_arena && (t->kind == KT_INPUT || t->kind == KT_OUTPUT));
            uses_w |= t->kind == KT_CONST;
            if (t->kind == KT_CONST && p->weights_packed) uses_c[u->chunk[ti]] = 1;
        }
    if (uses_a) {
        if (p->arena_extern) sb_line(&sb, "unsigned char *onnxcc_a = (unsigned char *)onnxcc_arena;");
        else sb_line(&sb, "unsigned char *onnxcc_a = %s_arena.bytes;", p->name);
    } else if (p->arena_extern) {
        sb_line(&sb, "(void)onnxcc_arena;");
    }
    if (p->weights_bin) {
        if (uses_w)
            sb_line(&sb, "const unsigned char *onnxcc_w = (const unsigned char *)onnxcc_weights;");
        else
            sb_line(&sb, "(void)onnxcc_weights;");
    }
    for (int c = 0; c < u->nchunks; c++)
        if (uses_c[c]) sb_line(&sb, "const unsigned char *onnxcc_w%d = %s_wbytes%d;", c, p->name, c);
    free(uses_c);
    /* parameters no function touches (e.g. an input only needed for its shape) */
    for (int i = 0; i < p->ninputs && !p->io_in_arena; i++)
        if (!u->used[p->inputs[i]]) sb_line(&sb, "(void)%s;", p->tensors[p->inputs[i]].name);
    for (int i = 0; i < p->noutputs && !p->io_in_arena; i++)
        if (!u->used[p->outputs[i]]) sb_line(&sb, "(void)%s;", p->tensors[p->outputs[i]].name);
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        if (f->skip) {
            sb_line(&sb, "/* %s: aliased, nothing to copy */", f->name);
            continue;
        }
        begin_line(&sb);
        sb_printf(&sb, "%s(", f->name);
        for (int b = 0; b < f->nbufs; b++) {
            if (b) sb_puts(&sb, ", ");
            sb_buf_arg(&sb, p, u, &f->bufs[b]);
        }
        sb_puts(&sb, ");\n");
    }
    sb_line(&sb, "return 0;");
    sb.indent = 0;
    sb_puts(&sb, "}\n");
    return sb.buf;
}


static int write_out(const char *dir, const char *file, const char *text, char **err)
{
    char *path = str_fmt("%s/%s", dir, file);
    int rc = write_file_atomic(path, text, strlen(text));
    if (rc != 0) *err = str_fmt("cannot write %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

/* The byte order onnxcc itself runs with: the tensors' data is in it. */
static int host_little(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* ---- the weights as one blob: --weights bin and --weights bytes ----
 * Both walk the used constants in offset order and write them piecewise, so a 1 GB model
 * never has a second copy (or a 3 GB text) in memory. Blob bytes are the host's in-memory
 * representation of each tensor; the gaps alignment leaves are zero. */

typedef int (*BlobPut)(void *ctx, const unsigned char *b, size_t n);

/* The bytes [pos, len) of the blob: the tensors placed there, zeros between. */
static int blob_walk(const KProg *p, int64_t pos, int64_t len, BlobPut put, void *ctx,
                     char **err)
{
    static const unsigned char zeros[4096];
    for (int i = 0; i <= p->ntensors; i++) {
        const KTensor *t = i < p->ntensors ? &p->tensors[i] : NULL;
        if (t && (t->kind != KT_CONST || t->offset < 0 || t->n <= 0 || !t->data)) continue;
        if (t && (t->offset < pos || t->offset >= len)) continue;   /* another file's */
        int64_t at = t ? t->offset : len;
        int64_t bytes = t ? t->n * elem_bytes(t->t) : 0;
        if (at < pos || at + bytes > len) {
            *err = str_fmt("internal: weight '%s' at %" PRId64 " does not fit the %" PRId64
                           "-byte blob in order", t ? t->name : "(end)", at, len);
            return -1;
        }
        for (; pos < at; ) {
            size_t n = (size_t)(at - pos < (int64_t)sizeof zeros ? at - pos : (int64_t)sizeof zeros);
            if (put(ctx, zeros, n) != 0) return -1;
            pos += (int64_t)n;
        }
        if (bytes && put(ctx, (const unsigned char *)t->data, (size_t)bytes) != 0) return -1;
        if (t) weights_release(t->data, (size_t)bytes);   /* a mapped one: its pages are written */
        pos += bytes;
    }
    return 0;
}

typedef struct {
    const KProg *p;
    char **err;
    const Usage *u;   /* --weights bytes: the files, and the one being written */
    int chunk;
} BlobJob;

static int put_raw(void *ctx, const unsigned char *b, size_t n)
{
    return fwrite(b, 1, n, (FILE *)ctx) == n ? 0 : -1;
}

static int fill_bin(FILE *f, const char *tmp, void *ctx)
{
    (void)tmp;
    const BlobJob *j = ctx;
    return blob_walk(j->p, 0, j->p->weights_bytes > 0 ? j->p->weights_bytes : 0, put_raw, f,
                     j->err);
}

/* --weights bin: NAME_weights.bin, each used constant at its planned offset. */
static int write_weights_bin(const KProg *p, const char *outdir, char **err)
{
    BlobJob j = { p, err, NULL, 0 };
    char *path = str_fmt("%s/%s_weights.bin", outdir, p->name);
    int rc = write_file_stream(path, fill_bin, &j);
    if (rc != 0 && !*err) *err = str_fmt("cannot write %s: %s", path, strerror(errno));
    free(path);
    return rc;
}

/* --weights bytes: rows of a 2-D unsigned char array, each initialised by one string
 * literal of exactly ROW bytes (no terminating NUL is stored when the literal fills its
 * array), the last row shorter (zero-filled). ROW is the longest literal C99 requires
 * compilers to take (-Woverlength-strings). */
#define ROW 4095

typedef struct {
    FILE *f;
    unsigned char row[ROW];
    size_t n;
    char text[4 * ROW + 8];
} RowWriter;

static int row_flush(RowWriter *w)
{
    size_t k = 0;
    w->text[k++] = '"';
    for (size_t i = 0; i < w->n; i++) {
        unsigned c = w->row[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
            w->text[k++] = (char)c;   /* '?' never appears raw: no trigraph can form */
            continue;
        }
        /* an octal escape takes at most 3 digits: the shortest one unless the next byte
         * is printed as an octal digit, which would join it */
        unsigned nx = i + 1 < w->n ? w->row[i + 1] : 0;
        int full = nx >= '0' && nx <= '7';
        w->text[k++] = '\\';
        if (full || c >= 64) w->text[k++] = (char)('0' + (c >> 6));
        if (full || c >= 8) w->text[k++] = (char)('0' + ((c >> 3) & 7));
        w->text[k++] = (char)('0' + (c & 7));
    }
    w->text[k++] = '"';
    w->text[k++] = ',';
    w->text[k++] = '\n';
    w->n = 0;
    return fwrite(w->text, 1, k, w->f) == k ? 0 : -1;
}

static int put_rows(void *ctx, const unsigned char *b, size_t n)
{
    RowWriter *w = ctx;
    while (n) {
        size_t take = ROW - w->n < n ? ROW - w->n : n;
        memcpy(w->row + w->n, b, take);
        w->n += take;
        b += take;
        n -= take;
        if (w->n == ROW && row_flush(w) != 0) return -1;
    }
    return 0;
}

/* The name of blob file c: NAME_weights.c, then NAME_weights_1.c, ... */
static char *chunk_file(const KProg *p, int c)
{
    return c ? str_fmt("%s_weights_%d.c", p->name, c) : str_fmt("%s_weights.c", p->name);
}

static int fill_packed(FILE *f, const char *tmp, void *ctx)
{
    (void)tmp;
    const BlobJob *j = ctx;
    const KProg *p = j->p;
    int c = j->chunk;
    int64_t lo = j->u->chunk_base[c], hi = j->u->chunk_base[c + 1];
    char *fn = chunk_file(p, c);
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "/* %s — generated by onnxcc: the model's constant tensors as a blob of\n"
                   " * bytes (--weights bytes), rows of string literals, which C compilers build\n"
                   " * 6-10x faster than float initializers; this is file %d of %d (one file per\n"
                   " * ~16 MiB keeps each compiler process small). %s.c reads each tensor at its\n"
                   " * byte offset through %s_wbytes%d.\n"
                   " * The bytes are the tensors' in-memory form on the machine onnxcc ran on:\n"
                   " * %s-endian, IEEE 754 binary32/binary64 floats, two's complement integers,\n"
                   " * 8-bit bytes. The checks below stop a compiler whose target differs\n"
                   " * (compilers that do not tell their byte order are not checked for it):\n"
                   " * rebuild with --weights hex for such a target. */\n",
              fn, c + 1, j->u->nchunks, p->name, p->name, c, host_little() ? "little" : "big");
    sb_puts(&sb, "#include <float.h>\n#include <limits.h>\n#include <stdint.h>\n\n");
    sb_printf(&sb, "#if CHAR_BIT != 8 || FLT_RADIX != 2 || FLT_MANT_DIG != 24 || "
                   "FLT_MAX_EXP != 128 || DBL_MANT_DIG != 53\n"
                   "#error \"%s holds IEEE 754 floats in 8-bit bytes: compile with "
                   "onnxcc --weights hex\"\n#endif\n", fn);
    const char *order = host_little() ? "__ORDER_LITTLE_ENDIAN__" : "__ORDER_BIG_ENDIAN__";
    sb_printf(&sb, "#if defined(__BYTE_ORDER__) && defined(%s)\n"
                   "#if __BYTE_ORDER__ != %s || (defined(__FLOAT_WORD_ORDER__) && "
                   "__FLOAT_WORD_ORDER__ != %s)\n"
                   "#error \"%s holds %s-endian weights: compile with onnxcc "
                   "--weights hex\"\n#endif\n#endif\n\n",
              order, order, order, fn, host_little() ? "little" : "big");
    free(fn);
    sb_puts(&sb, "/* tensor: byte offset in this file's blob */\n");
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (t->kind != KT_CONST || t->offset < lo || t->offset >= hi) continue;
        sb_puts(&sb, "/*   \"");
        sb_comment_text(&sb, t->src_name ? t->src_name : t->name);
        sb_printf(&sb, "\" %s[", dt_name(t->t));
        for (int d = 0; d < t->rank; d++) sb_printf(&sb, "%s%" PRId64, d ? "x" : "", t->dims[d]);
        sb_printf(&sb, "]: %" PRId64 " */\n", t->offset - lo);
    }
    sb_puts(&sb, "\n#define ");
    sb_upper(&sb, p->name);
    sb_printf(&sb, "_WEIGHTS_ALIGN %" PRId64 "\n", p->weights_align > 0 ? p->weights_align : 1);
    sb_attr_macro(&sb, p, "WEIGHTS_ATTR", "WEIGHTS_ALIGN", p->section_weights);
    int64_t rows = (hi - lo + ROW - 1) / ROW;
    /* the union aligns the blob for every element type (C99 has no _Alignas); GNU
     * compilers also get WEIGHTS_ALIGN and the section */
    sb_printf(&sb, "\nstatic const union {\n    unsigned char b[%" PRId64 "][%d];\n"
                   "    double d;\n    int64_t i;\n    const void *p;\n} %s_wblob%d ",
              rows > 0 ? rows : 1, ROW, p->name, c);
    sb_upper(&sb, p->name);
    sb_puts(&sb, "_WEIGHTS_ATTR = {{\n");
    int rc = fwrite(sb.buf, 1, sb.len, f) == sb.len ? 0 : -1;
    sb_free(&sb);
    RowWriter *w = calloc(1, sizeof *w);
    if (!w) {
        *j->err = str_fmt("out of memory");
        return -1;
    }
    w->f = f;
    if (!rc) rc = blob_walk(p, lo, hi, put_rows, w, j->err);
    if (!rc && (w->n || rows == 0)) rc = row_flush(w);
    free(w);
    if (rc) return -1;
    return fprintf(f, "}};\n\nconst unsigned char *const %s_wbytes%d = "
                      "(const unsigned char *)&%s_wblob%d;\n", p->name, c, p->name, c) < 0
               ? -1 : 0;
}

/* Splits the blob into files of about CHUNK bytes, each starting at a tensor: the C
 * compiler's memory grows with the file (~18 bytes per byte of weights), so one process
 * per chunk stays small, and a parallel build compiles them side by side. */
#define CHUNK ((int64_t)16 * 1024 * 1024)
static int chunk_split(const KProg *p, Usage *u)
{
    u->chunk = calloc((size_t)p->ntensors + 1, sizeof *u->chunk);
    int cap = 8;
    u->chunk_base = malloc(sizeof *u->chunk_base * (size_t)cap);
    if (!u->chunk || !u->chunk_base) return -1;
    u->nchunks = 1;
    u->chunk_base[0] = 0;
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (t->kind != KT_CONST || t->offset < 0) continue;
        int64_t bytes = t->n > 0 ? t->n * elem_bytes(t->t) : 0;
        int64_t base = u->chunk_base[u->nchunks - 1];
        if (t->offset > base && t->offset + bytes - base > CHUNK) {
            if (u->nchunks + 2 > cap) {
                cap *= 2;
                int64_t *nb = realloc(u->chunk_base, sizeof *nb * (size_t)cap);
                if (!nb) return -1;
                u->chunk_base = nb;
            }
            u->chunk_base[u->nchunks++] = t->offset;
        }
        u->chunk[i] = u->nchunks - 1;
    }
    u->chunk_base[u->nchunks] = p->weights_bytes > 0 ? p->weights_bytes : 0;
    return 0;
}
#undef CHUNK

static int write_weights_packed(const KProg *p, const Usage *u, const char *outdir,
                                char **err)
{
    int rc = 0;
    for (int c = 0; !rc && c < u->nchunks; c++) {
        BlobJob j = { p, err, u, c };
        char *fn = chunk_file(p, c);
        char *path = str_fmt("%s/%s", outdir, fn);
        rc = write_file_stream(path, fill_packed, &j);
        if (rc != 0 && !*err) *err = str_fmt("cannot write %s: %s", path, strerror(errno));
        free(path);
        free(fn);
    }
    return rc;
}
#undef ROW

int cgen_c_write(const KProg *p, const char *outdir, char **err)
{
    *err = NULL;
    Usage u;
    memset(&u, 0, sizeof u);
    u.used = calloc((size_t)p->ntensors + 1, 1);
    if (!u.used) {
        *err = str_fmt("out of memory");
        return -1;
    }
    int rc = -1;
    char *h = NULL, *c = NULL, *w = NULL;
    char *msg = check_prog(p, &u);
    if (msg) {
        *err = msg;
        goto done;
    }
    /* the runtime files first: an unknown kernel is the likeliest error */
    const char **files = calloc((size_t)u.nkernels + 1, sizeof *files);
    int nfiles = 0;
    if (!files) {
        *err = str_fmt("out of memory");
        goto done;
    }
    for (int i = 0; i < u.nkernels; i++) {
        const char *f = rt_kernel_file(u.kernels[i], 0);
        if (!f || !rt_source(f)) {
            *err = str_fmt("program calls runtime kernel '%s', which the runtime does not "
                               "have", u.kernels[i]);
            free(files);
            goto done;
        }
        for (int fi = 0; (f = rt_kernel_file(u.kernels[i], fi)) != NULL; fi++) {
            int seen = 0;
            for (int j = 0; j < nfiles; j++) seen |= !strcmp(files[j], f);
            if (seen) continue;
            const char **nf = realloc(files, sizeof *nf * (size_t)(nfiles + 2));
            if (!nf || !rt_source(f)) {
                *err = str_fmt(nf ? "runtime file %s is not embedded" : "out of memory", f);
                free(nf ? nf : files);
                goto done;
            }
            files = nf;
            files[nfiles++] = f;
        }
    }
    if (u.nkernels && !rt_source("onnxcc_rt.h")) {
        *err = str_fmt("runtime header onnxcc_rt.h is not embedded");
        free(files);
        goto done;
    }
    if (p->weights_packed && chunk_split(p, &u) != 0) {
        *err = str_fmt("out of memory");
        free(files);
        goto done;
    }
    h = gen_header(p);
    c = gen_source(p, &u, err);
    if (!c) {
        free(files);
        goto done;
    }
    if (!p->weights_bin && !p->weights_packed) w = gen_weights(p, &u);
    if (make_dirs(outdir) != 0) {
        *err = str_fmt("cannot create directory %s: %s", outdir, strerror(errno));
        free(files);
        goto done;
    }
    char *hn = str_fmt("%s.h", p->name), *cn = str_fmt("%s.c", p->name);
    char *wn = str_fmt("%s_weights.c", p->name);
    rc = write_out(outdir, hn, h, err);
    if (!rc) rc = write_out(outdir, cn, c, err);
    if (!rc && w) rc = write_out(outdir, wn, w, err);
    if (!rc && p->weights_bin) rc = write_weights_bin(p, outdir, err);
    if (!rc && p->weights_packed) rc = write_weights_packed(p, &u, outdir, err);
    if (!rc && u.nkernels) rc = write_out(outdir, "onnxcc_rt.h", rt_source("onnxcc_rt.h"), err);
    for (int i = 0; !rc && i < nfiles; i++) rc = write_out(outdir, files[i], rt_source(files[i]), err);
    free(hn);
    free(cn);
    free(wn);
    free(files);
done:
    free(h);
    free(c);
    free(w);
    free(u.used);
    free(u.kernels);
    free(u.chunk);
    free(u.chunk_base);
    return rc;
}

/* ---- harness ---- */

static void sb_static_buf(StrBuf *sb, const KTensor *t, const char *name)
{
    sb_printf(sb, "static %s %s", ctype(t->t), name);
    if (tensor_is_array(t))
        for (int i = 0; i < t->rank; i++) sb_printf(sb, "[%" PRId64 "]", t->dims[i]);
    else
        sb_puts(sb, "[1]"); /* scalar, or empty (never read or written) */
    sb_printf(sb, "; /* %s */\n", t->name);
}

char *cgen_c_harness(const KProg *p)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb,
        "/* %s_main.c — generated by onnxcc: test and benchmark harness for %s_run.\n"
        " *   prog IN... OUT...   reads each input from a raw file (host layout, exact size),\n"
        " *                       runs once, writes each output raw\n"
        " *   prog --bench N      deterministic pseudo-random inputs, N timed runs,\n"
        " *                       prints median_us */\n",
        p->name, p->name);
    /* clock_gettime is POSIX: the harness is a host tool, not firmware code */
    sb_puts(&sb, "#define _POSIX_C_SOURCE 199309L\n"
                 "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
                 "#include <time.h>\n");
    sb_printf(&sb, "#include \"%s.h\"\n\n", p->name);
    for (int i = 0; i < p->ninputs; i++) {
        char name[32];
        snprintf(name, sizeof name, "in%d", i);
        sb_static_buf(&sb, &p->tensors[p->inputs[i]], name);
    }
    for (int i = 0; i < p->noutputs; i++) {
        char name[32];
        snprintf(name, sizeof name, "out%d", i);
        sb_static_buf(&sb, &p->tensors[p->outputs[i]], name);
    }
    /* the firmware API variants: the caller's arena, the weights blob, I/O in the arena */
    if (p->arena_extern) {
        sb_puts(&sb, "static union {\n    double d;\n    unsigned char b[");
        sb_upper(&sb, p->name);
        sb_puts(&sb, "_ARENA_BYTES + 1];\n} arena_mem\n#if defined(__GNUC__)\n"
                     "    __attribute__((aligned(");
        sb_upper(&sb, p->name);
        sb_puts(&sb, "_ARENA_ALIGN)))\n#endif\n    ;\n");
    }
    if (p->weights_bin)   /* allocated: a static array past 2 GiB would not link */
        sb_puts(&sb, "static unsigned char *weights_mem;\n");
    /* helpers are emitted only where used: an unused static function is a warning */
    int fills = 0;
    for (int i = 0; i < p->ninputs; i++) fills += p->tensors[p->inputs[i]].n > 0;
    sb_puts(&sb,
        "\n#define BENCH_MAX 100000\n"
        "static double times[BENCH_MAX];\n");
    if (fills) sb_puts(&sb, "static unsigned long rng_state = 88172645UL;\n");
    sb_puts(&sb, "\n");
    if (p->ninputs || p->weights_bin) sb_puts(&sb,
        "static int read_exact(const char *path, void *buf, size_t bytes)\n{\n"
        "    FILE *f = fopen(path, \"rb\");\n"
        "    size_t got;\n"
        "    int extra;\n"
        "    if (!f) {\n"
        "        fprintf(stderr, \"cannot open %s\\n\", path);\n"
        "        return -1;\n"
        "    }\n"
        "    got = bytes ? fread(buf, 1, bytes, f) : 0;\n"
        "    extra = fgetc(f);\n"
        "    fclose(f);\n"
        "    if (got != bytes || extra != EOF) {\n"
        "        fprintf(stderr, \"%s: expected exactly %lu bytes\\n\", path, (unsigned long)bytes);\n"
        "        return -1;\n"
        "    }\n"
        "    return 0;\n}\n\n");
    if (p->noutputs) sb_puts(&sb,
        "static int write_all(const char *path, const void *buf, size_t bytes)\n{\n"
        "    FILE *f = fopen(path, \"wb\");\n"
        "    int ok;\n"
        "    if (!f) {\n"
        "        fprintf(stderr, \"cannot create %s\\n\", path);\n"
        "        return -1;\n"
        "    }\n"
        "    ok = (bytes == 0 || fwrite(buf, 1, bytes, f) == bytes);\n"
        "    ok = (fclose(f) == 0) && ok;\n"
        "    if (!ok) fprintf(stderr, \"cannot write %s\\n\", path);\n"
        "    return ok ? 0 : -1;\n}\n\n");
    if (fills) sb_puts(&sb,
        "/* xorshift: the same inputs on every run and every machine */\n"
        "static unsigned long next_rand(void)\n{\n"
        "    rng_state ^= (rng_state << 13) & 0xffffffffUL;\n"
        "    rng_state ^= rng_state >> 17;\n"
        "    rng_state ^= (rng_state << 5) & 0xffffffffUL;\n"
        "    return rng_state & 0xffffffffUL;\n}\n\n");
    sb_puts(&sb,
        "static double now_us(void)\n{\n"
        "    struct timespec ts;\n"
        "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
        "    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;\n}\n\n");
    const char *aarg = p->arena_extern ? "arena_mem.b" : "";
    sb_puts(&sb, "static int run_once(void)\n{\n    int rc;\n");
    for (int i = 0; p->io_in_arena && i < p->ninputs; i++) {
        const KTensor *t = &p->tensors[p->inputs[i]];
        sb_printf(&sb, "    memcpy(%s_input_%s(%s), in%d, %" PRId64 "u);\n", p->name, t->name, aarg,
                  i, (t->n > 0 ? t->n : 0) * elem_bytes(t->t));
    }
    sb_printf(&sb, "    rc = %s_run(", p->name);
    int anyarg = 0;
    if (p->arena_extern) {
        sb_puts(&sb, "arena_mem.b");
        anyarg = 1;
    }
    if (p->weights_bin) {
        sb_puts(&sb, anyarg ? ", weights_mem" : "weights_mem");
        anyarg = 1;
    }
    for (int i = 0; !p->io_in_arena && i < p->ninputs + p->noutputs; i++) {
        int is_in = i < p->ninputs;
        const KTensor *t = &p->tensors[is_in ? p->inputs[i] : p->outputs[i - p->ninputs]];
        if (i || anyarg) sb_puts(&sb, ", ");
        sb_puts(&sb, "(");
        sb_param_ptr_type(&sb, t, is_in);
        sb_printf(&sb, ")%s%d", is_in ? "in" : "out", is_in ? i : i - p->ninputs);
    }
    sb_puts(&sb, ");\n");
    for (int i = 0; p->io_in_arena && i < p->noutputs; i++) {
        const KTensor *t = &p->tensors[p->outputs[i]];
        sb_printf(&sb, "    memcpy(out%d, %s_output_%s(%s), %" PRId64 "u);\n", i, p->name, t->name,
                  aarg, (t->n > 0 ? t->n : 0) * elem_bytes(t->t));
    }
    sb_puts(&sb, "    return rc;\n}\n\n");

    sb_puts(&sb, "static void fill_inputs(void)\n{\n    size_t k;\n");
    int loops = 0;
    for (int i = 0; i < p->ninputs; i++) {
        const KTensor *t = &p->tensors[p->inputs[i]];
        const char *ct = ctype(t->t);
        if (t->n <= 0) continue; /* `k < 0u` would trip -Wtype-limits */
        loops++;
        sb_printf(&sb, "    for (k = 0; k < %" PRId64 "u; k++)\n", t->n);
        if (is_fp(t->t))
            sb_printf(&sb, "        ((%s *)(void *)in%d)[k] = (%s)((double)next_rand() / "
                           "2147483648.0 - 1.0);\n", ct, i, ct);
        else if (is_h16(t->t)) /* bit patterns of values in (-1, -0.5] and [0.5, 1) */
            sb_printf(&sb, "        ((uint16_t *)(void *)in%d)[k] = (uint16_t)(%s | "
                           "(next_rand() & %s));\n", i, t->t == DT_F16 ? "0x3800UL" : "0x3f00UL",
                      t->t == DT_F16 ? "0x83ffUL" : "0x807fUL");
        else /* 0/1: safe as an index, a count or a bool */
            sb_printf(&sb, "        ((%s *)(void *)in%d)[k] = (%s)(next_rand() & 1UL);\n", ct, i, ct);
    }
    if (!loops) sb_puts(&sb, "    (void)k;\n");
    sb_puts(&sb, "}\n\n");

    sb_puts(&sb,
        "static int bench(long n)\n{\n"
        "    long i, j;\n"
        "    double t0, tmp;\n"
        "    if (n < 1) n = 1;\n"
        "    if (n > BENCH_MAX) n = BENCH_MAX;\n"
        "    fill_inputs();\n"
        "    if (run_once() != 0) return 1; /* warm-up */\n"
        "    for (i = 0; i < n; i++) {\n"
        "        t0 = now_us();\n"
        "        if (run_once() != 0) return 1;\n"
        "        times[i] = now_us() - t0;\n"
        "    }\n"
        "    for (i = 1; i < n; i++) /* insertion sort: n is small */\n"
        "        for (j = i; j > 0 && times[j - 1] > times[j]; j--) {\n"
        "            tmp = times[j];\n"
        "            times[j] = times[j - 1];\n"
        "            times[j - 1] = tmp;\n"
        "        }\n"
        "    printf(\"median_us %.3f\\n\", n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]));\n"
        "    return 0;\n}\n\n");

    sb_puts(&sb, "int main(int argc, char **argv)\n{\n");
    if (p->weights_bin) {
        /* the blob sits beside the program (check and bench run it in its folder) */
        sb_puts(&sb, "    {\n        size_t align = ");
        sb_upper(&sb, p->name);
        sb_puts(&sb, "_WEIGHTS_ALIGN;\n        unsigned char *raw = malloc(");
        sb_upper(&sb, p->name);
        sb_puts(&sb, "_WEIGHTS_BYTES + align);\n"
                     "        if (!raw) {\n"
                     "            fprintf(stderr, \"out of memory for the weights\\n\");\n"
                     "            return 1;\n        }\n"
                     "        weights_mem = raw + (align - (size_t)((uintptr_t)raw % align)) % align;\n"
                     "    }\n");
        sb_printf(&sb, "    if (read_exact(\"%s_weights.bin\", weights_mem, ", p->name);
        sb_upper(&sb, p->name);
        sb_puts(&sb, "_WEIGHTS_BYTES) != 0) return 1;\n");
    }
    sb_puts(&sb, "    if (argc == 3 && strcmp(argv[1], \"--bench\") == 0)\n"
                 "        return bench(strtol(argv[2], NULL, 10));\n");
    sb_printf(&sb, "    if (argc != %d) {\n"
                   "        fprintf(stderr, \"usage: %%s", 1 + p->ninputs + p->noutputs);
    for (int i = 0; i < p->ninputs; i++) sb_printf(&sb, " IN%d", i);
    for (int i = 0; i < p->noutputs; i++) sb_printf(&sb, " OUT%d", i);
    sb_puts(&sb, " | --bench N\\n\", argv[0]);\n        return 2;\n    }\n");
    for (int i = 0; i < p->ninputs; i++) {
        const KTensor *t = &p->tensors[p->inputs[i]];
        int64_t bytes = (t->n > 0 ? t->n : 0) * elem_bytes(t->t);
        sb_printf(&sb, "    if (read_exact(argv[%d], in%d, %" PRId64 "u) != 0) return 1;\n",
                  1 + i, i, bytes);
    }
    sb_puts(&sb, "    if (run_once() != 0) {\n"
                 "        fprintf(stderr, \"run failed\\n\");\n"
                 "        return 1;\n    }\n");
    for (int i = 0; i < p->noutputs; i++) {
        const KTensor *t = &p->tensors[p->outputs[i]];
        int64_t bytes = (t->n > 0 ? t->n : 0) * elem_bytes(t->t);
        sb_printf(&sb, "    if (write_all(argv[%d], out%d, %" PRId64 "u) != 0) return 1;\n",
                  1 + p->ninputs + i, i, bytes);
    }
    sb_puts(&sb, "    return 0;\n}\n");
    return sb.buf;
}

/* ---- the printer, opened to C dialects (cprinter.h) ---- */

CPrinter *cprinter_new(const KProg *p, const CHooks *h)
{
    CG *cg = calloc(1, sizeof *cg);
    if (!cg) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    cg->p = p;
    cg->h = h;
    return cg;
}

void cprinter_free(CPrinter *cp)
{
    if (!cp) return;
    free(cp->err);
    free(cp);
}

void cprinter_func(CPrinter *cp, StrBuf *out, const KFunc *f)
{
    cp->sb = out;
    emit_func(cp, f);
}

void cprinter_helpers(CPrinter *cp, StrBuf *out)
{
    emit_helpers(out, cp);
}

const char *cprinter_error(const CPrinter *cp)
{
    return cp->err;
}

void *cprinter_ctx(const CPrinter *cp)
{
    return cp->h ? cp->h->ctx : NULL;
}

const KFunc *cprinter_cur_func(const CPrinter *cp)
{
    return cp->f;
}

const int *cprinter_buf_uses(const CPrinter *cp)
{
    return cp->buf_uses;
}

void cprinter_expr(CPrinter *cp, const KExpr *e, int bare)
{
    emit_expr(cp, e, bare);
}

void cprinter_fail(CPrinter *cp, char *msg)
{
    cg_fail(cp, msg);
}

StrBuf *cprinter_sb(CPrinter *cp)
{
    return cp->sb;
}

const char *cprinter_ctype(DType t)
{
    return ctype(t);
}

void cprinter_comment_text(StrBuf *sb, const char *s)
{
    sb_comment_text(sb, s);
}

void cprinter_elem(StrBuf *sb, DType t, const void *data, int64_t i)
{
    sb_weight_elem(sb, t, data, i);
}
