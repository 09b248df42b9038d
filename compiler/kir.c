/* kir.c — the loop IR: dtype facts, the builder every operator lowers through, program
 * containers and the structural verifier. The interpreter lives in kinterp.c. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "kir.h"

/* ---- dtype facts ---- */

int dt_size(DType t)
{
    switch (t) {
    case DT_BOOL: case DT_U8: case DT_I8: return 1;
    case DT_U16: case DT_I16: case DT_F16: case DT_BF16: return 2;
    case DT_F32: case DT_I32: case DT_U32: return 4;
    case DT_F64: case DT_I64: case DT_U64: case DT_C64: case DT_IDX: return 8;
    case DT_F8E4M3FN: case DT_F8E4M3FNUZ: case DT_F8E5M2: case DT_F8E5M2FNUZ: case DT_U4:
    case DT_I4: case DT_F4E2M1: case DT_F8E8M0: case DT_U2: case DT_I2: return 1;
    case DT_C128: return 16;
    default: return 0;
    }
}

const char *dt_name(DType t)
{
    switch (t) {
    case DT_F32: return "float32";
    case DT_U8: return "uint8";
    case DT_I8: return "int8";
    case DT_U16: return "uint16";
    case DT_I16: return "int16";
    case DT_I32: return "int32";
    case DT_I64: return "int64";
    case DT_STRING: return "string";
    case DT_BOOL: return "bool";
    case DT_F16: return "float16";
    case DT_F64: return "float64";
    case DT_U32: return "uint32";
    case DT_U64: return "uint64";
    case DT_C64: return "complex64";
    case DT_C128: return "complex128";
    case DT_BF16: return "bfloat16";
    case DT_F8E4M3FN: return "float8e4m3fn";
    case DT_F8E4M3FNUZ: return "float8e4m3fnuz";
    case DT_F8E5M2: return "float8e5m2";
    case DT_F8E5M2FNUZ: return "float8e5m2fnuz";
    case DT_U4: return "uint4";
    case DT_I4: return "int4";
    case DT_F4E2M1: return "float4e2m1";
    case DT_F8E8M0: return "float8e8m0";
    case DT_U2: return "uint2";
    case DT_I2: return "int2";
    case DT_IDX: return "index";
    default: return "undefined";
    }
}

int dt_is_float(DType t)
{
    return t == DT_F32 || t == DT_F64 || t == DT_F16 || t == DT_BF16;
}

int dt_is_int(DType t)
{
    switch (t) {
    case DT_U8: case DT_I8: case DT_U16: case DT_I16: case DT_I32: case DT_I64:
    case DT_U32: case DT_U64: case DT_IDX: return 1;
    default: return 0;
    }
}

int dt_is_signed(DType t)
{
    switch (t) {
    case DT_I8: case DT_I16: case DT_I32: case DT_I64: case DT_IDX:
    case DT_F32: case DT_F64: case DT_F16: case DT_BF16: return 1;
    default: return 0;
    }
}

int dt_supported(DType t)
{
    return dt_is_float(t) || t == DT_BOOL || (dt_is_int(t) && t != DT_IDX) || dt_is_lowbit(t);
}

int dt_is_lowbit(DType t)
{
    return t >= DT_F8E4M3FN && t <= DT_I2;
}

int dt_is_lowfloat(DType t)
{
    return dt_is_lowbit(t) && t != DT_U4 && t != DT_I4 && t != DT_U2 && t != DT_I2;
}

DType dt_storage(DType t)
{
    if (!dt_is_lowbit(t)) return t;
    return t == DT_I4 || t == DT_I2 ? DT_I8 : DT_U8;
}

const char *dt_suffix(DType t)
{
    switch (t) {
    case DT_F32: return "f32";
    case DT_F64: return "f64";
    case DT_F16: return "f16";
    case DT_BF16: return "bf16";
    case DT_I8: return "i8";
    case DT_U8: return "u8";
    case DT_I16: return "i16";
    case DT_U16: return "u16";
    case DT_I32: return "i32";
    case DT_U32: return "u32";
    case DT_I64: return "i64";
    case DT_U64: return "u64";
    case DT_BOOL: return "bool";
    case DT_IDX: return "idx";
    default: return "x";
    }
}

/* ---- float16 / bfloat16 ----
 * Rounded straight from the double (frexp + rint, exact steps), so a float64 -> float16
 * conversion rounds once, as numpy's does; a float32 value gives the same bits as the
 * generated code's float -> 16-bit helpers. */

/* Nearest value q * 2^(e - p) of a p-bit significand, as (biased exponent, fraction) bits;
 * a >= 2^emin. */
static uint16_t round_normal(double a, int p, int bias)
{
    int e;
    double m = frexp(a, &e);            /* a = m * 2^e, m in [0.5, 1) */
    double q = rint(ldexp(m, p));       /* round half to even (the default mode) */
    if (q == ldexp(1.0, p)) {
        q = ldexp(1.0, p - 1);
        e++;
    }
    return (uint16_t)(((unsigned)(e - 1 + bias) << (p - 1)) + (unsigned)(q - ldexp(1.0, p - 1)));
}

uint16_t kir_f16_bits(double v)
{
    uint16_t s = signbit(v) ? 0x8000 : 0;
    double a = fabs(v);
    if (isnan(v)) return s | 0x7e00;
    if (a >= 65520.0) return s | 0x7c00;   /* half way above 65504 rounds to even: inf */
    if (a < 0x1p-14) return (uint16_t)(s | (uint16_t)rint(a * 0x1p24)); /* subnormal */
    return s | round_normal(a, 11, 15);
}

double kir_f16_value(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

uint16_t kir_bf16_bits(double v)
{
    uint16_t s = signbit(v) ? 0x8000 : 0;
    double a = fabs(v);
    if (isnan(v)) return s | 0x7fc0;
    if (a >= 0x1.ffp127) return s | 0x7f80;
    if (a < 0x1p-126) return (uint16_t)(s | (uint16_t)rint(a * 0x1p133));
    return s | round_normal(a, 8, 127);
}

double kir_bf16_value(uint16_t b)
{
    int e = (b >> 7) & 255, m = b & 127;
    double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(m + 128, e - 134);
    return (b & 0x8000) ? -v : v;
}

double kir_round16(DType t, double v)
{
    if (t == DT_F16) return kir_f16_value(kir_f16_bits(v));
    if (t == DT_BF16) return kir_bf16_value(kir_bf16_bits(v));
    return v;
}

const char *kir_unop_libm(int op)
{
    switch (op) {
    case KU_SQRT: return "sqrt";
    case KU_EXP: return "exp";
    case KU_LOG: return "log";
    case KU_SIN: return "sin";
    case KU_COS: return "cos";
    case KU_TAN: return "tan";
    case KU_ASIN: return "asin";
    case KU_ACOS: return "acos";
    case KU_ATAN: return "atan";
    case KU_SINH: return "sinh";
    case KU_COSH: return "cosh";
    case KU_TANH: return "tanh";
    case KU_ASINH: return "asinh";
    case KU_ACOSH: return "acosh";
    case KU_ATANH: return "atanh";
    case KU_ERF: return "erf";
    case KU_FLOOR: return "floor";
    case KU_CEIL: return "ceil";
    case KU_RINT: return "rint";
    default: return NULL;
    }
}

/* ---- builder ---- */

void kb_init(KB *k, Pool *p, KFunc *f)
{
    memset(k, 0, sizeof *k);
    k->p = p;
    k->f = f;
    k->tail[0] = &f->body;
    while (*k->tail[0]) k->tail[0] = &(*k->tail[0])->next;
}

int kb_buf(KB *k, DType t, int64_t n, KBufRole role, int tensor)
{
    t = dt_storage(t);
    static const char *const prefix[] = { "in", "out", "tmp" };
    int count = 0;
    for (int i = 0; i < k->f->nbufs; i++) count += k->f->bufs[i].role == role;
    KBuf b = { t, n, role, tensor, pool_fmt(k->p, "%s%d", prefix[role], count) };
    VEC_PUSH(k->p, k->f->bufs, k->f->nbufs, k->f->capbufs, b);
    return k->f->nbufs - 1;
}

static KExpr *knew(KB *k, KExprKind kind, DType t)
{
    KExpr *e = pool_alloc(k->p, sizeof *e);
    e->kind = kind;
    e->t = t;
    return e;
}

/* Wraps an integer constant to the range of its type, so folded constants print and
 * interpret the same as the computed value would. */
static int64_t wrap_int(DType t, int64_t v)
{
    switch (t) {
    case DT_BOOL: return v != 0;
    case DT_I8: return (int8_t)v;
    case DT_U8: return (uint8_t)v;
    case DT_I16: return (int16_t)v;
    case DT_U16: return (uint16_t)v;
    case DT_I32: return (int32_t)v;
    case DT_U32: return (uint32_t)v;
    default: return v;
    }
}

KExpr *kc_idx(KB *k, int64_t v)
{
    return kc_int(k, DT_IDX, v);
}

KExpr *kc_int(KB *k, DType t, int64_t v)
{
    t = dt_storage(t);
    assert(!dt_is_float(t));
    KExpr *e = knew(k, KE_CONST, t);
    e->i = wrap_int(t, v);
    return e;
}

KExpr *kc_float(KB *k, DType t, double v)
{
    assert(dt_is_float(t));
    KExpr *e = knew(k, KE_CONST, t);
    e->f = t == DT_F32 ? (double)(float)v : kir_round16(t, v);
    return e;
}

KExpr *kc(KB *k, DType t, double v)
{
    if (dt_is_float(t)) return kc_float(k, t, v);
    if (t == DT_BOOL) return kc_int(k, t, v != 0);
    if (t == DT_U64 && v >= 9223372036854775808.0) return kc_int(k, t, (int64_t)(uint64_t)v);
    return kc_int(k, t, (int64_t)v);
}

KExpr *kvar(KB *k, int var)
{
    assert(var >= 0 && var < k->f->nvars);
    KExpr *e = knew(k, KE_VAR, k->f->vars[var].t);
    e->id = var;
    return e;
}

KExpr *kload(KB *k, int buf, KExpr *idx)
{
    assert(buf >= 0 && buf < k->f->nbufs && idx && idx->t == DT_IDX);
    KExpr *e = knew(k, KE_LOAD, k->f->bufs[buf].t);
    e->id = buf;
    e->a = idx;
    return e;
}

KExpr *kun(KB *k, KUnOp op, KExpr *a)
{
    DType t = (op == KU_ISNAN || op == KU_ISINF) ? DT_BOOL : a->t;
    KExpr *e = knew(k, KE_UN, t);
    e->op = op;
    e->a = a;
    return e;
}

static int is_cmp(int op)
{
    return op >= KB_LT && op <= KB_NE;
}

static int is_const_idx(const KExpr *e, int64_t v)
{
    return e->kind == KE_CONST && e->t == DT_IDX && e->i == v;
}

KExpr *kbin(KB *k, KBinOp op, KExpr *a, KExpr *b)
{
    assert(a && b && a->t == b->t);
    if (a->t == DT_IDX && a->kind == KE_CONST && b->kind == KE_CONST) {
        int64_t x = a->i, y = b->i, r;
        switch (op) {
        case KB_ADD: r = x + y; return kc_idx(k, r);
        case KB_SUB: r = x - y; return kc_idx(k, r);
        case KB_MUL: r = x * y; return kc_idx(k, r);
        case KB_DIV: if (y) return kc_idx(k, x / y); break;
        case KB_REM: if (y) return kc_idx(k, x % y); break;
        case KB_MIN: return kc_idx(k, x < y ? x : y);
        case KB_MAX: return kc_idx(k, x > y ? x : y);
        default: break;
        }
    }
    if (a->t == DT_IDX) {
        if (op == KB_ADD && is_const_idx(a, 0)) return b;
        if ((op == KB_ADD || op == KB_SUB) && is_const_idx(b, 0)) return a;
        if (op == KB_MUL && (is_const_idx(a, 0) || is_const_idx(b, 0))) return kc_idx(k, 0);
        if (op == KB_MUL && is_const_idx(a, 1)) return b;
        if ((op == KB_MUL || op == KB_DIV) && is_const_idx(b, 1)) return a;
    }
    KExpr *e = knew(k, KE_BIN, is_cmp(op) || op == KB_AND || op == KB_OR || op == KB_XOR
                                   ? DT_BOOL : a->t);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

KExpr *ksel(KB *k, KExpr *cond, KExpr *a, KExpr *b)
{
    assert(cond->t == DT_BOOL && a->t == b->t);
    KExpr *e = knew(k, KE_SELECT, a->t);
    e->a = cond;
    e->b = a;
    e->c = b;
    return e;
}

KExpr *kcast(KB *k, DType t, KExpr *a)
{
    t = dt_storage(t);
    if (a->t == t) return a;
    if (a->kind == KE_CONST && !dt_is_float(a->t) && !dt_is_float(t) && a->t != DT_U64)
        return kc_int(k, t, a->i);
    KExpr *e = knew(k, KE_CAST, t);
    e->a = a;
    return e;
}

KExpr *kbitcast(KB *k, DType t, KExpr *a)
{
    assert(dt_size(t) == dt_size(a->t) && t != DT_F16 && t != DT_BF16 && a->t != DT_F16 &&
           a->t != DT_BF16);
    if (a->t == t) return a;
    KExpr *e = knew(k, KE_BITCAST, t);
    e->a = a;
    return e;
}

KExpr *kadd(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_ADD, a, b); }
KExpr *ksub(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_SUB, a, b); }
KExpr *kmul(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_MUL, a, b); }
KExpr *kaddi(KB *k, KExpr *a, int64_t b) { return kbin(k, KB_ADD, a, kc_idx(k, b)); }
KExpr *kmuli(KB *k, KExpr *a, int64_t b) { return kbin(k, KB_MUL, a, kc_idx(k, b)); }

static int new_var(KB *k, DType t, const char *prefix)
{
    KVar v = { t, pool_fmt(k->p, "%s%d", prefix, k->f->nvars) };
    VEC_PUSH(k->p, k->f->vars, k->f->nvars, k->f->capvars, v);
    return k->f->nvars - 1;
}

static KStmt *emit(KB *k, KStmtKind kind)
{
    KStmt *s = pool_alloc(k->p, sizeof *s);
    s->kind = kind;
    *k->tail[k->depth] = s;
    k->tail[k->depth] = &s->next;
    return s;
}

static void push_block(KB *k, KStmt *owner, KStmt **slot)
{
    assert(k->depth + 1 < KIR_MAX_DEPTH);
    k->depth++;
    k->open[k->depth] = owner;
    k->tail[k->depth] = slot;
}

int kdecl(KB *k, DType t, KExpr *init)
{
    t = dt_storage(t);
    assert(init && init->t == t);
    int v = new_var(k, t, "v");
    KStmt *s = emit(k, KS_DECL);
    s->var = v;
    s->val = init;
    return v;
}

void kset(KB *k, int var, KExpr *val)
{
    assert(var >= 0 && var < k->f->nvars && val->t == k->f->vars[var].t);
    KStmt *s = emit(k, KS_SET);
    s->var = var;
    s->val = val;
}

void kstore(KB *k, int buf, KExpr *idx, KExpr *val)
{
    assert(buf >= 0 && buf < k->f->nbufs && idx->t == DT_IDX);
    assert(val->t == k->f->bufs[buf].t);
    KStmt *s = emit(k, KS_STORE);
    s->buf = buf;
    s->idx = idx;
    s->val = val;
}

int kfor(KB *k, KExpr *lo, KExpr *hi, KLoopKind kind)
{
    assert(lo->t == DT_IDX && hi->t == DT_IDX);
    int v = new_var(k, DT_IDX, "i");
    KStmt *s = emit(k, KS_FOR);
    s->var = v;
    s->lo = lo;
    s->hi = hi;
    s->loop = kind;
    push_block(k, s, &s->body);
    return v;
}

int kfor_n(KB *k, int64_t n, KLoopKind kind)
{
    return kfor(k, kc_idx(k, 0), kc_idx(k, n), kind);
}

void kif(KB *k, KExpr *cond)
{
    assert(cond->t == DT_BOOL);
    KStmt *s = emit(k, KS_IF);
    s->cond = cond;
    push_block(k, s, &s->body);
}

void kelse(KB *k)
{
    KStmt *s = k->open[k->depth];
    assert(k->depth > 0 && s->kind == KS_IF);
    k->tail[k->depth] = &s->els;
}

void kend(KB *k)
{
    assert(k->depth > 0);
    k->depth--;
}

void kend_n(KB *k, int n)
{
    while (n-- > 0) kend(k);
}

void kcall(KB *k, const char *fn, const KArg *args, int nargs)
{
    KStmt *s = emit(k, KS_CALL);
    s->fn = pool_strdup(k->p, fn);
    s->args = pool_dup(k->p, args, sizeof *args * (size_t)nargs);
    s->nargs = nargs;
}

KArg karg_buf(int buf, KExpr *off)
{
    KArg a = { KA_BUF, buf, off, 0, 0 };
    return a;
}

KArg karg_int(int64_t v)
{
    KArg a = { KA_INT, -1, NULL, v, 0 };
    return a;
}

KArg karg_float(double v)
{
    KArg a = { KA_FLOAT, -1, NULL, 0, v };
    return a;
}

void kloops(KB *k, int rank, const int64_t *dims, int *vars)
{
    for (int i = 0; i < rank; i++) {
        KLoopKind kind = i == rank - 1 ? KL_VECTOR : i == 0 ? KL_PARALLEL : KL_SERIAL;
        vars[i] = kfor_n(k, dims[i], kind);
    }
}

KExpr *kindex(KB *k, int rank, const int64_t *dims, const int *vars)
{
    return kindex_bcast(k, rank, dims, vars, rank, dims);
}

KExpr *kindex_bcast(KB *k, int rank, const int64_t *dims, const int *vars,
                    int src_rank, const int64_t *src_dims)
{
    KExpr *idx = kc_idx(k, 0);
    int64_t stride = 1;
    assert(src_rank <= rank);
    (void)dims; /* the output dims only document the call; strides come from the source */
    for (int s = src_rank - 1; s >= 0; s--) {
        int d = s + (rank - src_rank);
        /* a broadcast dim (size 1) contributes nothing: its index is always 0 */
        if (src_dims[s] != 1) idx = kadd(k, kmuli(k, kvar(k, vars[d]), stride), idx);
        stride *= src_dims[s];
    }
    return idx;
}

/* ---- program ---- */

KProg *kprog_new(const char *name)
{
    Pool *p = pool_new();
    KProg *prog = pool_alloc(p, sizeof *prog);
    prog->pool = p;
    prog->name = pool_strdup(p, name);
    prog->arena_align = 64;
    return prog;
}

int kprog_tensor(KProg *p, const KTensor *t)
{
    VEC_PUSH(p->pool, p->tensors, p->ntensors, p->captensors, *t);
    return p->ntensors - 1;
}

KFunc *kprog_func(KProg *p, const char *name, const char *comment)
{
    KFunc *f = pool_alloc(p->pool, sizeof *f);
    f->name = pool_strdup(p->pool, name);
    f->comment = pool_strdup(p->pool, comment);
    VEC_PUSH(p->pool, p->funcs, p->nfuncs, p->capfuncs, f);
    return f;
}

void kprog_free(KProg *p)
{
    if (p) pool_free(p->pool);
}

/* ---- verifier ---- */

typedef struct Verify {
    const KFunc *f;
    char *err;
    size_t errlen;
    int bad;
} Verify;

static void vfail(Verify *v, const char *what)
{
    if (!v->bad) snprintf(v->err, v->errlen, "loop IR of %s: %s", v->f->name, what);
    v->bad = 1;
}

static void verify_expr(Verify *v, const KExpr *e)
{
    if (!e) {
        vfail(v, "missing expression");
        return;
    }
    switch (e->kind) {
    case KE_CONST:
        break;
    case KE_VAR:
        if (e->id < 0 || e->id >= v->f->nvars) vfail(v, "variable out of range");
        else if (v->f->vars[e->id].t != e->t) vfail(v, "variable type mismatch");
        break;
    case KE_LOAD:
        if (e->id < 0 || e->id >= v->f->nbufs) vfail(v, "load from unknown buffer");
        else if (v->f->bufs[e->id].t != e->t) vfail(v, "load type mismatch");
        verify_expr(v, e->a);
        if (e->a && e->a->t != DT_IDX) vfail(v, "load index is not an index");
        break;
    case KE_UN:
        verify_expr(v, e->a);
        if (e->op < 0 || e->op >= KU_COUNT) vfail(v, "bad unary op");
        break;
    case KE_BIN:
        verify_expr(v, e->a);
        verify_expr(v, e->b);
        if (e->op < 0 || e->op >= KB_COUNT) vfail(v, "bad binary op");
        if (e->a && e->b && e->a->t != e->b->t) vfail(v, "binary operand types differ");
        break;
    case KE_SELECT:
        verify_expr(v, e->a);
        verify_expr(v, e->b);
        verify_expr(v, e->c);
        if (e->a && e->a->t != DT_BOOL) vfail(v, "select condition is not bool");
        if (e->b && e->c && (e->b->t != e->c->t || e->b->t != e->t))
            vfail(v, "select arm types differ");
        break;
    case KE_CAST:
        verify_expr(v, e->a);
        break;
    case KE_BITCAST:
        verify_expr(v, e->a);
        if (e->a && dt_size(e->a->t) != dt_size(e->t)) vfail(v, "bitcast between sizes");
        break;
    }
}

static void verify_block(Verify *v, const KStmt *s)
{
    for (; s && !v->bad; s = s->next) {
        switch (s->kind) {
        case KS_FOR:
            verify_expr(v, s->lo);
            verify_expr(v, s->hi);
            verify_block(v, s->body);
            break;
        case KS_IF:
            verify_expr(v, s->cond);
            verify_block(v, s->body);
            verify_block(v, s->els);
            break;
        case KS_DECL:
        case KS_SET:
            verify_expr(v, s->val);
            if (s->var < 0 || s->var >= v->f->nvars) vfail(v, "assignment to unknown variable");
            else if (s->val && s->val->t != v->f->vars[s->var].t) vfail(v, "assignment type mismatch");
            break;
        case KS_STORE:
            verify_expr(v, s->idx);
            verify_expr(v, s->val);
            if (s->buf < 0 || s->buf >= v->f->nbufs) vfail(v, "store to unknown buffer");
            else if (v->f->bufs[s->buf].role == KR_IN) vfail(v, "store to an input buffer");
            else if (s->val && s->val->t != v->f->bufs[s->buf].t) vfail(v, "store type mismatch");
            break;
        case KS_CALL:
            for (int i = 0; i < s->nargs; i++) {
                const KArg *a = &s->args[i];
                if (a->kind == KA_BUF && a->buf >= v->f->nbufs) vfail(v, "call argument buffer out of range");
                if (a->kind == KA_BUF && a->off) verify_expr(v, a->off);
            }
            break;
        }
    }
}

int kir_verify(const KFunc *f, char *err, size_t errlen)
{
    Verify v = { f, err, errlen, 0 };
    verify_block(&v, f->body);
    return v.bad ? -1 : 0;
}
