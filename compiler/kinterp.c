/* kinterp.c — the reference interpreter of the loop IR. It gives constant folding (shape.c)
 * and the reference the back ends are checked against. Its arithmetic is that of the
 * generated C: float32 math through the float libm functions, integers wrapped to their
 * width, C truncating division; float16/bfloat16 computed in float32 and rounded back to
 * 16 bits after every operation (kept as doubles holding exact 16-bit values). Anything C
 * leaves undefined (division by zero, shifts past the width) stops the interpreter with an
 * error instead, so a fold never invents a value. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "kir.h"

/* A fold that needs more steps than this is left to run time. */
#define INTERP_MAX_STEPS 400000000LL

typedef union Val {
    int64_t i;   /* signed integers, DT_IDX, bool */
    uint64_t u;  /* unsigned integers */
    double f;    /* floats (float32/16-bit values kept rounded to their type) */
} Val;

typedef struct Interp {
    const KFunc *f;
    void *const *mem;
    Val *vars;
    long long steps;
    char *err;
    size_t errlen;
    int bad;
} Interp;

static void fail(Interp *in, const char *msg)
{
    if (!in->bad) snprintf(in->err, in->errlen, "%s: %s", in->f->name, msg);
    in->bad = 1;
}

static int is_unsigned(DType t)
{
    return t == DT_U8 || t == DT_U16 || t == DT_U32 || t == DT_U64;
}

/* Brings a raw 64-bit result into the range of type t. */
static Val wrap(DType t, Val v)
{
    switch (t) {
    case DT_BOOL: v.i = v.i != 0; break;
    case DT_I8: v.i = (int8_t)v.u; break;
    case DT_I16: v.i = (int16_t)v.u; break;
    case DT_I32: v.i = (int32_t)v.u; break;
    case DT_U8: v.u = (uint8_t)v.u; break;
    case DT_U16: v.u = (uint16_t)v.u; break;
    case DT_U32: v.u = (uint32_t)v.u; break;
    case DT_F32: v.f = (float)v.f; break;
    case DT_F16: case DT_BF16: v.f = kir_round16(t, v.f); break;
    default: break;
    }
    return v;
}

/* The result of a float operation computed in t's arithmetic type: 16-bit floats go
 * through float32 first, as the generated code does. */
static Val wrap_op(DType t, Val v)
{
    if (t == DT_F16 || t == DT_BF16) v = wrap(DT_F32, v);
    return wrap(t, v);
}

static Val mem_load(DType t, const void *base, int64_t i)
{
    Val v;
    v.u = 0;
    switch (t) {
    case DT_F32: v.f = ((const float *)base)[i]; break;
    case DT_F64: v.f = ((const double *)base)[i]; break;
    case DT_F16: v.f = kir_f16_value(((const uint16_t *)base)[i]); break;
    case DT_BF16: v.f = kir_bf16_value(((const uint16_t *)base)[i]); break;
    case DT_I8: v.i = ((const int8_t *)base)[i]; break;
    case DT_I16: v.i = ((const int16_t *)base)[i]; break;
    case DT_I32: v.i = ((const int32_t *)base)[i]; break;
    case DT_I64: case DT_IDX: v.i = ((const int64_t *)base)[i]; break;
    case DT_U8: case DT_BOOL: v.u = ((const uint8_t *)base)[i]; break;
    case DT_U16: v.u = ((const uint16_t *)base)[i]; break;
    case DT_U32: v.u = ((const uint32_t *)base)[i]; break;
    case DT_U64: v.u = ((const uint64_t *)base)[i]; break;
    default: break;
    }
    return v;
}

static void mem_store(DType t, void *base, int64_t i, Val v)
{
    switch (t) {
    case DT_F32: ((float *)base)[i] = (float)v.f; break;
    case DT_F64: ((double *)base)[i] = v.f; break;
    case DT_F16: ((uint16_t *)base)[i] = kir_f16_bits(v.f); break;
    case DT_BF16: ((uint16_t *)base)[i] = kir_bf16_bits(v.f); break;
    case DT_I8: ((int8_t *)base)[i] = (int8_t)v.i; break;
    case DT_I16: ((int16_t *)base)[i] = (int16_t)v.i; break;
    case DT_I32: ((int32_t *)base)[i] = (int32_t)v.i; break;
    case DT_I64: case DT_IDX: ((int64_t *)base)[i] = v.i; break;
    case DT_U8: case DT_BOOL: ((uint8_t *)base)[i] = (uint8_t)v.u; break;
    case DT_U16: ((uint16_t *)base)[i] = (uint16_t)v.u; break;
    case DT_U32: ((uint32_t *)base)[i] = (uint32_t)v.u; break;
    case DT_U64: ((uint64_t *)base)[i] = v.u; break;
    default: break;
    }
}

static Val eval(Interp *in, const KExpr *e);

static double unary_float(KUnOp op, double x, int f32)
{
    switch (op) {
    case KU_NEG: return -x;
    case KU_ABS: return fabs(x);
    case KU_SQRT: return f32 ? sqrtf((float)x) : sqrt(x);
    case KU_EXP: return f32 ? expf((float)x) : exp(x);
    case KU_LOG: return f32 ? logf((float)x) : log(x);
    case KU_SIN: return f32 ? sinf((float)x) : sin(x);
    case KU_COS: return f32 ? cosf((float)x) : cos(x);
    case KU_TAN: return f32 ? tanf((float)x) : tan(x);
    case KU_ASIN: return f32 ? asinf((float)x) : asin(x);
    case KU_ACOS: return f32 ? acosf((float)x) : acos(x);
    case KU_ATAN: return f32 ? atanf((float)x) : atan(x);
    case KU_SINH: return f32 ? sinhf((float)x) : sinh(x);
    case KU_COSH: return f32 ? coshf((float)x) : cosh(x);
    case KU_TANH: return f32 ? tanhf((float)x) : tanh(x);
    case KU_ASINH: return f32 ? asinhf((float)x) : asinh(x);
    case KU_ACOSH: return f32 ? acoshf((float)x) : acosh(x);
    case KU_ATANH: return f32 ? atanhf((float)x) : atanh(x);
    case KU_ERF: return f32 ? erff((float)x) : erf(x);
    case KU_FLOOR: return floor(x);
    case KU_CEIL: return ceil(x);
    case KU_RINT: return f32 ? rintf((float)x) : rint(x);
    default: return x;
    }
}

static Val eval_un(Interp *in, const KExpr *e)
{
    Val a = eval(in, e->a), r;
    DType t = e->a->t;
    r.u = 0;
    if (e->op == KU_ISNAN) { r.i = dt_is_float(t) && isnan(a.f); return r; }
    if (e->op == KU_ISINF) { r.i = dt_is_float(t) && isinf(a.f); return r; }
    if (dt_is_float(t)) {
        r.f = unary_float((KUnOp)e->op, a.f, t != DT_F64);
        return wrap_op(t, r);
    }
    switch (e->op) {
    case KU_NEG: r.u = 0 - a.u; break;
    case KU_ABS: r.u = is_unsigned(t) || a.i >= 0 ? a.u : 0 - a.u; break;
    case KU_NOT: r.i = !a.i; break;
    case KU_BITNOT: r.u = ~a.u; break;
    case KU_FLOOR: case KU_CEIL: case KU_RINT: r = a; break;
    default: fail(in, "math function on an integer type"); break;
    }
    return wrap(t, r);
}

static int cmp_vals(DType t, Val a, Val b)
{
    if (dt_is_float(t)) return a.f < b.f ? -1 : a.f > b.f ? 1 : 0; /* NaN handled by caller */
    if (is_unsigned(t)) return a.u < b.u ? -1 : a.u > b.u ? 1 : 0;
    return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
}

static Val eval_bin(Interp *in, const KExpr *e)
{
    Val a = eval(in, e->a), b = eval(in, e->b), r;
    DType t = e->a->t;
    int fl = dt_is_float(t), un = is_unsigned(t), f32 = fl && t != DT_F64;
    r.u = 0;
    switch (e->op) {
    case KB_LT: case KB_LE: case KB_GT: case KB_GE: case KB_EQ: case KB_NE: {
        if (fl && (isnan(a.f) || isnan(b.f))) {
            r.i = e->op == KB_NE;
            return r;
        }
        int c = cmp_vals(t, a, b);
        switch (e->op) {
        case KB_LT: r.i = c < 0; break;
        case KB_LE: r.i = c <= 0; break;
        case KB_GT: r.i = c > 0; break;
        case KB_GE: r.i = c >= 0; break;
        case KB_EQ: r.i = c == 0; break;
        default: r.i = c != 0; break;
        }
        return r;
    }
    case KB_AND: r.i = a.i && b.i; return r;
    case KB_OR: r.i = a.i || b.i; return r;
    case KB_XOR: r.i = (!!a.i) ^ (!!b.i); return r;
    case KB_MIN: return cmp_vals(t, a, b) < 0 ? a : b;
    case KB_MAX: return cmp_vals(t, a, b) > 0 ? a : b;
    default: break;
    }
    if (fl) {
        switch (e->op) {
        case KB_ADD: r.f = a.f + b.f; break;
        case KB_SUB: r.f = a.f - b.f; break;
        case KB_MUL: r.f = a.f * b.f; break;
        case KB_DIV: r.f = a.f / b.f; break;
        case KB_REM: r.f = f32 ? fmodf((float)a.f, (float)b.f) : fmod(a.f, b.f); break;
        case KB_POW: r.f = f32 ? powf((float)a.f, (float)b.f) : pow(a.f, b.f); break;
        default: fail(in, "bitwise operator on a float type"); break;
        }
        return wrap_op(t, r);
    }
    switch (e->op) {
    case KB_ADD: r.u = a.u + b.u; break;
    case KB_SUB: r.u = a.u - b.u; break;
    case KB_MUL: r.u = a.u * b.u; break;
    case KB_DIV:
    case KB_REM:
        if (b.u == 0) {
            fail(in, "integer division by zero");
            return r;
        }
        if (un) {
            r.u = e->op == KB_DIV ? a.u / b.u : a.u % b.u;
        } else {
            if (b.i == -1) { /* avoids INT64_MIN / -1 */
                r.u = e->op == KB_DIV ? 0 - a.u : 0;
            } else {
                r.i = e->op == KB_DIV ? a.i / b.i : a.i % b.i;
            }
        }
        break;
    case KB_POW: {
        double p = pow(un ? (double)a.u : (double)a.i, un ? (double)b.u : (double)b.i);
        if (un) r.u = (uint64_t)p;
        else r.i = (int64_t)p;
        break;
    }
    case KB_BAND: r.u = a.u & b.u; break;
    case KB_BOR: r.u = a.u | b.u; break;
    case KB_BXOR: r.u = a.u ^ b.u; break;
    case KB_SHL:
    case KB_SHR: {
        int bits = dt_size(t) * 8;
        if (b.u >= (uint64_t)bits) {
            fail(in, "shift by the type's width or more");
            return r;
        }
        if (e->op == KB_SHL) r.u = a.u << b.u;
        else r.u = un ? a.u >> b.u : (uint64_t)(a.i >> b.u);
        break;
    }
    default: fail(in, "unknown binary operator"); break;
    }
    return wrap(t, r);
}

static Val eval_cast(Interp *in, const KExpr *e)
{
    Val a = eval(in, e->a), r;
    DType from = e->a->t, to = e->t;
    r.u = 0;
    if (to == DT_BOOL) {
        r.i = dt_is_float(from) ? a.f != 0 : a.u != 0;
        return r;
    }
    if (dt_is_float(to)) {
        r.f = dt_is_float(from) ? a.f : is_unsigned(from) ? (double)a.u : (double)a.i;
        /* an integer reaches a 16-bit float through float32 (C's conversion, numpy's too);
         * a float64 is rounded once, straight to 16 bits */
        if ((to == DT_F16 || to == DT_BF16) && !dt_is_float(from))
            r.f = is_unsigned(from) ? (double)(float)a.u : (double)(float)a.i;
        return wrap(to, r);
    }
    if (dt_is_float(from)) {
        double x = trunc(a.f);
        /* C leaves out-of-range conversions undefined: refuse to fold them */
        if (isnan(x) || x >= 18446744073709551616.0 || x < -9223372036854775808.0 ||
            (!is_unsigned(to) && x >= 9223372036854775808.0) || (is_unsigned(to) && x < 0)) {
            fail(in, "float to integer conversion out of range");
            return r;
        }
        if (is_unsigned(to)) r.u = (uint64_t)x;
        else r.i = (int64_t)x;
        return wrap(to, r);
    }
    r = a;
    return wrap(to, r);
}

/* The bits of a (as stored in memory) read as type e->t. */
static Val eval_bitcast(Interp *in, const KExpr *e)
{
    Val a = eval(in, e->a);
    unsigned char m[8] = {0};
    mem_store(e->a->t, m, 0, a);
    return mem_load(e->t, m, 0);
}

static Val eval(Interp *in, const KExpr *e)
{
    Val r;
    r.u = 0;
    if (in->bad) return r;
    switch (e->kind) {
    case KE_CONST:
        if (dt_is_float(e->t)) r.f = e->f;
        else r.i = e->i;
        return wrap(e->t, r);
    case KE_VAR:
        return in->vars[e->id];
    case KE_LOAD: {
        Val i = eval(in, e->a);
        const KBuf *b = &in->f->bufs[e->id];
        if (i.i < 0 || i.i >= b->n) {
            fail(in, "load out of bounds");
            return r;
        }
        return mem_load(b->t, in->mem[e->id], i.i);
    }
    case KE_UN: return eval_un(in, e);
    case KE_BIN: return eval_bin(in, e);
    case KE_SELECT: {
        Val c = eval(in, e->a);
        return c.i ? eval(in, e->b) : eval(in, e->c);
    }
    case KE_CAST: return eval_cast(in, e);
    case KE_BITCAST: return eval_bitcast(in, e);
    }
    return r;
}

static void exec(Interp *in, const KStmt *s)
{
    for (; s && !in->bad; s = s->next) {
        if (++in->steps > INTERP_MAX_STEPS) {
            fail(in, "too much work to fold at compile time");
            return;
        }
        switch (s->kind) {
        case KS_FOR: {
            int64_t lo = eval(in, s->lo).i, hi = eval(in, s->hi).i;
            for (int64_t v = lo; v < hi && !in->bad; v++) {
                in->vars[s->var].i = v;
                exec(in, s->body);
            }
            break;
        }
        case KS_IF:
            if (eval(in, s->cond).i) exec(in, s->body);
            else exec(in, s->els);
            break;
        case KS_DECL:
        case KS_SET:
            in->vars[s->var] = eval(in, s->val);
            break;
        case KS_STORE: {
            int64_t i = eval(in, s->idx).i;
            Val v = eval(in, s->val);
            const KBuf *b = &in->f->bufs[s->buf];
            if (in->bad) return;
            if (i < 0 || i >= b->n) {
                fail(in, "store out of bounds");
                return;
            }
            mem_store(b->t, in->mem[s->buf], i, v);
            break;
        }
        case KS_CALL:
            fail(in, "runtime kernel calls are not interpreted");
            return;
        }
    }
}

int kir_interp(const KFunc *f, void *const *mem, char *err, size_t errlen)
{
    Pool *p = pool_new();
    Interp in = { f, mem, pool_alloc(p, sizeof(Val) * (size_t)(f->nvars + 1)), 0, err, errlen, 0 };
    exec(&in, f->body);
    pool_free(p);
    return in.bad ? -1 : 0;
}
