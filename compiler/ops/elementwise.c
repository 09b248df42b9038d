/* elementwise.c — the elementwise operator family: unary math, activations, binary
 * arithmetic/logic/comparison with numpy broadcasting, variadic Sum/Max/Min/Mean, Cast,
 * CastLike, BitCast (integer types), Where, Clip and Dropout (inference, and training that
 * keeps every element).
 *
 * Every op here is one scalar expression per output element. The shape rules differ by
 * op group (ew_*_infer); the lowering is shared: ew_loop() opens one loop nest over the
 * output, loads each input (broadcast where its shape differs) and ew_expr() builds the
 * op's scalar expression from the loaded values. Because constant folding interprets this
 * same lowering, ew_expr() is also the reference semantics for every accepted dtype. */
#include <float.h>
#include <string.h>
#include "../onnxcc.h"
#include "../../runtime/onnxcc_rt.h"

/* lw_in/out buffer ids are per node; Sum/Max/Min/Mean take at most this many inputs. */
#define EW_MAX_IN 16

/* ---- dtype classes ---- */

static int is_num(DType t) { return dt_is_float(t) || dt_is_int(t); }
static int is_unsigned(DType t) { return dt_is_int(t) && !dt_is_signed(t); }

static Value *need_in(Node *n, int i)
{
    Value *v = node_in(n, i);
    if (!v) node_err(n, "missing input %d", i);
    return v;
}

/* ONNX checkers reject a wrong input count, but models are not always checked. */
static int bad_arity(Node *n, int lo, int hi)
{
    if (n->nin >= lo && n->nin <= hi) return 0;
    if (lo == hi) return node_err(n, "expects %d input%s, got %d", lo, lo > 1 ? "s" : "", n->nin);
    return node_err(n, "expects %d to %d inputs, got %d", lo, hi, n->nin);
}

/* The shape input i takes part in broadcasting with. Before opset 7 the binary ops did
 * not broadcast numpy-style: with broadcast=1, B is aligned to A starting at `axis`
 * (default: trailing). Padding B's shape with trailing 1s to A's rank expresses that
 * alignment in numpy terms without changing B's flat layout. */
static int ew_src_type(Node *n, int i, Type *out)
{
    Value *v = node_in(n, i);
    *out = v->type;
    if (n->opset >= 7 || i != 1 || n->nin != 2) return 0;
    switch (n->op) {
    case OP_Add: case OP_Sub: case OP_Mul: case OP_Div: case OP_Pow:
    case OP_And: case OP_Or: case OP_Xor: case OP_Equal: case OP_Less: case OP_Greater:
        break;
    default:
        return 0;
    }
    const Type *a = &node_in(n, 0)->type;
    if (!attr_i(n, "broadcast", 0)) {
        if (a->rank != out->rank ||
            memcmp(a->dims, out->dims, sizeof(int64_t) * (size_t)a->rank))
            return node_err(n, "inputs have different shapes and broadcast is 0 (opset %d)",
                            n->opset);
        return 0;
    }
    if (!attr_get(n, "axis")) return 0;
    int axis;
    if (norm_axis(n, attr_i(n, "axis", 0), a->rank, &axis)) return -1;
    if (axis + out->rank > a->rank)
        return node_err(n, "legacy broadcast: B of rank %d does not fit A of rank %d at axis %d",
                        out->rank, a->rank, axis);
    Type t = *out;
    t.rank = a->rank;
    for (int d = 0; d < a->rank; d++)
        t.dims[d] = d >= axis && d < axis + out->rank ? out->dims[d - axis] : 1;
    *out = t;
    return 0;
}

/* Broadcast of the present inputs [0, nin) into *out (dtype left to the caller). */
static int ew_bcast(Node *n, int nin, Type *out)
{
    int first = 1;
    for (int i = 0; i < nin; i++) {
        if (!node_in(n, i)) continue;
        Type t;
        if (ew_src_type(n, i, &t)) return -1;
        if (first) {
            *out = t;
            first = 0;
        } else {
            Type r;
            if (broadcast_shapes(n, out, &t, &r)) return -1;
            *out = r;
        }
    }
    if (first) return node_err(n, "no inputs");
    return 0;
}

/* ---- shape rules ---- */

int ew_unary_infer(Node *n)
{
    if (bad_arity(n, 1, 1)) return -1;
    Value *x = need_in(n, 0);
    if (!x) return -1;
    DType t = x->type.dt, ot = t;
    switch (n->op) {
    case OP_Not:
        if (t != DT_BOOL) return node_err(n, "Not needs bool input, got %s", dt_name(t));
        break;
    case OP_BitwiseNot:
        if (!dt_is_int(t)) return node_err(n, "BitwiseNot needs an integer input, got %s",
                                            dt_name(t));
        break;
    case OP_Abs: case OP_Sign: case OP_Relu:
        if (!is_num(t)) return node_err(n, "needs a numeric input, got %s", dt_name(t));
        break;
    case OP_Neg:
        if (!is_num(t) || is_unsigned(t))
            return node_err(n, "Neg needs a signed numeric input, got %s", dt_name(t));
        break;
    case OP_Shrink:
        if (!is_num(t)) return node_err(n, "needs a numeric input, got %s", dt_name(t));
        break;
    case OP_IsNaN: case OP_IsInf:
        if (!dt_is_float(t)) return node_err(n, "needs a float input, got %s", dt_name(t));
        ot = DT_BOOL;
        break;
    case OP_Gelu: {
        const char *ap = attr_s(n, "approximate", "none");
        if (strcmp(ap, "none") && strcmp(ap, "tanh"))
            return node_err(n, "approximate must be \"none\" or \"tanh\", not \"%s\"", ap);
        if (!dt_is_float(t)) return node_err(n, "needs a float input, got %s", dt_name(t));
        break;
    }
    default:
        if (!dt_is_float(t)) return node_err(n, "needs a float input, got %s", dt_name(t));
        break;
    }
    return set_out(n, 0, ot, x->type.rank, x->type.dims);
}

/* What a binary op accepts; returns the output dtype or DT_UNDEF after node_err. */
static DType binary_types(Node *n, DType a, DType b)
{
    switch (n->op) {
    case OP_Pow:
        if (!is_num(a) || !is_num(b))
            return node_err(n, "Pow needs numeric inputs, got %s and %s", dt_name(a), dt_name(b)),
                   DT_UNDEF;
        return a;
    default:
        break;
    }
    if (a != b)
        return node_err(n, "inputs must have one type, got %s and %s", dt_name(a), dt_name(b)),
               DT_UNDEF;
    switch (n->op) {
    case OP_And: case OP_Or: case OP_Xor:
        if (a != DT_BOOL) return node_err(n, "needs bool inputs, got %s", dt_name(a)), DT_UNDEF;
        return DT_BOOL;
    case OP_BitShift:
        if (!is_unsigned(a))
            return node_err(n, "BitShift needs unsigned integer inputs, got %s", dt_name(a)),
                   DT_UNDEF;
        return a;
    case OP_BitwiseAnd: case OP_BitwiseOr: case OP_BitwiseXor:
        if (!dt_is_int(a))
            return node_err(n, "needs integer inputs, got %s", dt_name(a)), DT_UNDEF;
        return a;
    case OP_Equal:
        if (!is_num(a) && a != DT_BOOL)
            return node_err(n, "needs numeric or bool inputs, got %s", dt_name(a)), DT_UNDEF;
        return DT_BOOL;
    case OP_Less: case OP_LessOrEqual: case OP_Greater: case OP_GreaterOrEqual:
        if (!is_num(a)) return node_err(n, "needs numeric inputs, got %s", dt_name(a)), DT_UNDEF;
        return DT_BOOL;
    case OP_SwiGLU:
        if (!dt_is_float(a)) return node_err(n, "needs float inputs, got %s", dt_name(a)), DT_UNDEF;
        return a;
    case OP_Mod:
        if (!is_num(a)) return node_err(n, "needs numeric inputs, got %s", dt_name(a)), DT_UNDEF;
        if (dt_is_float(a) && !attr_i(n, "fmod", 0))
            return node_err(n, "Mod of %s needs fmod=1 (the spec forbids fmod=0 on floats)",
                            dt_name(a)), DT_UNDEF;
        return a;
    default:
        if (!is_num(a)) return node_err(n, "needs numeric inputs, got %s", dt_name(a)), DT_UNDEF;
        return a;
    }
}

int ew_binary_infer(Node *n)
{
    if (n->op == OP_Equal && str_equal_involved(n)) return str_equal_infer(n);
    if (bad_arity(n, 2, 2)) return -1;
    Value *a = need_in(n, 0), *b = a ? need_in(n, 1) : NULL;
    if (!a || !b) return -1;
    if (n->op == OP_BitShift) {
        const char *dir = attr_s(n, "direction", NULL);
        if (!dir || (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT")))
            return node_err(n, "direction must be \"LEFT\" or \"RIGHT\"");
    }
    DType ot = binary_types(n, a->type.dt, b->type.dt);
    if (ot == DT_UNDEF) return -1;
    Type o;
    if (ew_bcast(n, 2, &o)) return -1;
    if (n->op == OP_PRelu) {
        /* the slope broadcasts to X, never the other way (unidirectional) */
        if (o.rank != a->type.rank ||
            memcmp(o.dims, a->type.dims, sizeof(int64_t) * (size_t)o.rank))
            return node_err(n, "slope %s does not broadcast to X %s",
                            type_str(n->g->pool, &b->type), type_str(n->g->pool, &a->type));
        if (!dt_is_float(a->type.dt) && !dt_is_signed(a->type.dt))
            return node_err(n, "PRelu needs a signed input, got %s", dt_name(a->type.dt));
    }
    return set_out(n, 0, ot, o.rank, o.dims);
}

int ew_variadic_infer(Node *n)
{
    int count = 0;
    DType t = DT_UNDEF;
    if (n->nin > EW_MAX_IN)
        return node_err(n, "%d inputs; at most %d are supported", n->nin, EW_MAX_IN);
    for (int i = 0; i < n->nin; i++) {
        Value *v = node_in(n, i);
        if (!v) return node_err(n, "input %d is omitted", i);
        if (!count) t = v->type.dt;
        else if (v->type.dt != t)
            return node_err(n, "inputs must have one type, got %s and %s", dt_name(t),
                            dt_name(v->type.dt));
        count++;
    }
    if (!count) return node_err(n, "needs at least one input");
    if (!is_num(t)) return node_err(n, "needs numeric inputs, got %s", dt_name(t));
    Type o;
    if (ew_bcast(n, n->nin, &o)) return -1;
    return set_out(n, 0, t, o.rank, o.dims);
}

int ew_cast_infer(Node *n)
{
    if (str_cast_involved(n)) return str_cast_infer(n);
    if (bad_arity(n, n->op == OP_CastLike ? 2 : 1, n->op == OP_CastLike ? 2 : 1)) return -1;
    Value *x = need_in(n, 0);
    if (!x) return -1;
    DType to;
    if (n->op == OP_CastLike) {
        Value *like = need_in(n, 1);
        if (!like) return -1;
        to = like->type.dt;
    } else {
        const Attr *a = attr_get(n, "to");
        if (!a) return node_err(n, "missing attribute 'to'");
        if (a->kind != A_INT)
            return node_err(n, "attribute 'to' given as a string (opset %d) is unsupported",
                            n->opset);
        to = (DType)a->i;
    }
    if (!dt_supported(to) || to == DT_IDX || (!is_num(to) && to != DT_BOOL && !dt_is_lowbit(to)))
        return node_err(n, "cast to %s (data type %d) is unsupported", dt_name(to), (int)to);
    if (!is_num(x->type.dt) && x->type.dt != DT_BOOL && !dt_is_lowbit(x->type.dt))
        return node_err(n, "cast from %s is unsupported", dt_name(x->type.dt));
    if (to == DT_F8E8M0) {
        const char *rm = attr_s(n, "round_mode", "up");
        if (strcmp(rm, "up"))
            return node_err(n, "round_mode '%s' to float8e8m0 is unsupported (only 'up')", rm);
    }
    return set_out(n, 0, to, x->type.rank, x->type.dims);
}

int ew_where_infer(Node *n)
{
    if (bad_arity(n, 3, 3)) return -1;
    Value *c = need_in(n, 0), *x = c ? need_in(n, 1) : NULL, *y = x ? need_in(n, 2) : NULL;
    if (!c || !x || !y) return -1;
    if (c->type.dt != DT_BOOL)
        return node_err(n, "condition must be bool, got %s", dt_name(c->type.dt));
    if (x->type.dt != y->type.dt)
        return node_err(n, "X and Y must have one type, got %s and %s", dt_name(x->type.dt),
                        dt_name(y->type.dt));
    Type o;
    if (ew_bcast(n, 3, &o)) return -1;
    return set_out(n, 0, x->type.dt, o.rank, o.dims);
}

int ew_clip_infer(Node *n)
{
    if (bad_arity(n, 1, n->opset < 11 ? 1 : 3)) return -1;
    Value *x = need_in(n, 0);
    if (!x) return -1;
    DType t = x->type.dt;
    if (n->opset < 11) {
        if (!dt_is_float(t)) return node_err(n, "Clip before opset 11 needs float input");
    } else {
        if (!is_num(t)) return node_err(n, "needs a numeric input, got %s", dt_name(t));
        for (int i = 1; i < 3; i++) {
            Value *b = node_in(n, i);
            if (!b) continue;
            if (b->type.dt != t)
                return node_err(n, "%s has type %s, input has %s", i == 1 ? "min" : "max",
                                dt_name(b->type.dt), dt_name(t));
            if (type_numel(&b->type) != 1)
                return node_err(n, "%s must be a scalar, got %s", i == 1 ? "min" : "max",
                                type_str(n->g->pool, &b->type));
        }
    }
    return set_out(n, 0, t, x->type.rank, x->type.dims);
}

int ew_dropout_infer(Node *n)
{
    if (bad_arity(n, 1, n->opset < 12 ? 1 : 3)) return -1;
    Value *x = need_in(n, 0);
    if (!x) return -1;
    if (!is_num(x->type.dt)) return node_err(n, "needs a numeric input, got %s",
                                             dt_name(x->type.dt));
    if (n->opset >= 12) {
        Value *tm = node_in(n, 2), *r = node_in(n, 1);
        if (tm) {
            /* training draws random masks: compiled only where it keeps every element */
            if (tm->type.dt != DT_BOOL || type_numel(&tm->type) != 1)
                return node_err(n, "training_mode must be a bool scalar");
            if (!tm->data)
                return node_need_const(n, tm, "training_mode must be a compile-time constant "
                                              "(initializer or --freeze)");
            if (*(const unsigned char *)tm->data) {
                double ratio = 0.5;
                if (r && !r->data)
                    return node_need_const(n, r, "ratio must be a compile-time constant in "
                                                 "training mode (initializer or --freeze)");
                if (r) {
                    if (!dt_is_float(r->type.dt) || type_numel(&r->type) != 1)
                        return node_err(n, "ratio must be a float scalar");
                    ratio = const_elem_f(r, 0);
                }
                if (ratio != 0.0)
                    return node_err(n, "training_mode=true with ratio %g draws a random mask: "
                                       "not supported (inference, or training with ratio 0)",
                                    ratio);
            }
        }
    } else if (n->opset < 7 && attr_i(n, "is_test", 0) == 0 && node_out(n, 1)) {
        return node_err(n, "Dropout with is_test=0 and a mask output is training; unsupported");
    }
    if (set_out(n, 0, x->type.dt, x->type.rank, x->type.dims)) return -1;
    if (node_out(n, 1)) {
        /* the mask became bool in opset 10; before it had the input's type */
        DType mt = n->opset >= 10 ? DT_BOOL : x->type.dt;
        if (set_out(n, 1, mt, x->type.rank, x->type.dims)) return -1;
    }
    return 0;
}

/* ---- scalar expressions ---- */

static KExpr *fc(KB *k, DType t, double v) { return kc(k, t, v); }

/* Python's integer modulo: the result takes the divisor's sign. */
static KExpr *py_mod(KB *k, KExpr *a, KExpr *b)
{
    DType t = a->t;
    int r = kdecl(k, t, kbin(k, KB_REM, a, b));
    KExpr *rv = kvar(k, r);
    KExpr *fix = kbin(k, KB_AND, kbin(k, KB_NE, rv, fc(k, t, 0)),
                      kbin(k, KB_NE, kbin(k, KB_LT, rv, fc(k, t, 0)),
                           kbin(k, KB_LT, b, fc(k, t, 0))));
    return ksel(k, fix, kbin(k, KB_ADD, rv, b), rv);
}

static KExpr *ew_pow(KB *k, KExpr *a, KExpr *b)
{
    DType t = a->t;
    if (t == b->t && dt_is_float(t)) return kbin(k, KB_POW, a, b);
    /* mixed or integer: numpy promotes to double; the result then narrows to the base type */
    KExpr *r = kbin(k, KB_POW, kcast(k, DT_F64, a), kcast(k, DT_F64, b));
    return kcast(k, t, r);
}

static KExpr *clamp01(KB *k, KExpr *v)
{
    DType t = v->t;
    return kbin(k, KB_MAX, fc(k, t, 0), kbin(k, KB_MIN, fc(k, t, 1), v));
}

static KExpr *ew_unary(Node *n, KB *k, KExpr *x)
{
    DType t = x->t;
    switch (n->op) {
    case OP_Abs: return is_unsigned(t) ? x : kun(k, KU_ABS, x);
    case OP_Neg: return kun(k, KU_NEG, x);
    case OP_Sqrt: return kun(k, KU_SQRT, x);
    case OP_Exp: return kun(k, KU_EXP, x);
    case OP_Log: return kun(k, KU_LOG, x);
    case OP_Sin: return kun(k, KU_SIN, x);
    case OP_Cos: return kun(k, KU_COS, x);
    case OP_Tan: return kun(k, KU_TAN, x);
    case OP_Asin: return kun(k, KU_ASIN, x);
    case OP_Acos: return kun(k, KU_ACOS, x);
    case OP_Atan: return kun(k, KU_ATAN, x);
    case OP_Sinh: return kun(k, KU_SINH, x);
    case OP_Cosh: return kun(k, KU_COSH, x);
    case OP_Tanh: return kun(k, KU_TANH, x);
    case OP_Asinh: return kun(k, KU_ASINH, x);
    case OP_Acosh: return kun(k, KU_ACOSH, x);
    case OP_Atanh: return kun(k, KU_ATANH, x);
    case OP_Erf: return kun(k, KU_ERF, x);
    case OP_Floor: return kun(k, KU_FLOOR, x);
    case OP_Ceil: return kun(k, KU_CEIL, x);
    case OP_Round: return kun(k, KU_RINT, x);
    case OP_Reciprocal: return kbin(k, KB_DIV, fc(k, t, 1), x);
    case OP_Not: return kun(k, KU_NOT, x);
    case OP_BitwiseNot: return kun(k, KU_BITNOT, x);
    case OP_IsNaN: return kun(k, KU_ISNAN, x);
    case OP_IsInf: {
        int neg = (int)attr_i(n, "detect_negative", 1), pos = (int)attr_i(n, "detect_positive", 1);
        KExpr *inf = kun(k, KU_ISINF, x);
        if (neg && pos) return inf;
        if (!neg && !pos) return kc_int(k, DT_BOOL, 0);
        return kbin(k, KB_AND, inf, kbin(k, pos ? KB_GT : KB_LT, x, fc(k, t, 0)));
    }
    case OP_Sign:
        if (is_unsigned(t)) return ksel(k, kbin(k, KB_GT, x, fc(k, t, 0)), fc(k, t, 1), fc(k, t, 0));
        return ksel(k, kbin(k, KB_GT, x, fc(k, t, 0)), fc(k, t, 1),
                    ksel(k, kbin(k, KB_LT, x, fc(k, t, 0)), fc(k, t, -1), fc(k, t, 0)));
    case OP_Relu:
        if (is_unsigned(t)) return x;
        /* a select keeps NaN as NaN, as numpy's maximum does */
        return ksel(k, kbin(k, KB_LT, x, fc(k, t, 0)), fc(k, t, 0), x);
    case OP_LeakyRelu: {
        double alpha = attr_f(n, "alpha", 0.01f);
        return ksel(k, kbin(k, KB_LT, x, fc(k, t, 0)), kbin(k, KB_MUL, fc(k, t, alpha), x), x);
    }
    case OP_Elu: {
        double alpha = attr_f(n, "alpha", 1.0f);
        KExpr *e = kbin(k, KB_MUL, fc(k, t, alpha),
                        kbin(k, KB_SUB, kun(k, KU_EXP, x), fc(k, t, 1)));
        return ksel(k, kbin(k, KB_LT, x, fc(k, t, 0)), e, x);
    }
    case OP_Selu: {
        double alpha = attr_f(n, "alpha", 1.67326319217681884765625f);
        double gamma = attr_f(n, "gamma", 1.05070102214813232421875f);
        KExpr *neg = kbin(k, KB_MUL, fc(k, t, gamma),
                          kbin(k, KB_SUB, kbin(k, KB_MUL, fc(k, t, alpha), kun(k, KU_EXP, x)),
                               fc(k, t, alpha)));
        return ksel(k, kbin(k, KB_LE, x, fc(k, t, 0)), neg, kbin(k, KB_MUL, fc(k, t, gamma), x));
    }
    case OP_Celu: {
        double alpha = attr_f(n, "alpha", 1.0f);
        KExpr *e = kbin(k, KB_MUL, fc(k, t, alpha),
                        kbin(k, KB_SUB, kun(k, KU_EXP, kbin(k, KB_DIV, x, fc(k, t, alpha))),
                             fc(k, t, 1)));
        return ksel(k, kbin(k, KB_LT, x, fc(k, t, 0)), e, x);
    }
    case OP_Sigmoid:
        return kbin(k, KB_DIV, fc(k, t, 1),
                    kbin(k, KB_ADD, fc(k, t, 1), kun(k, KU_EXP, kun(k, KU_NEG, x))));
    case OP_HardSigmoid: {
        double alpha = attr_f(n, "alpha", 0.2f), beta = attr_f(n, "beta", 0.5f);
        return clamp01(k, kbin(k, KB_ADD, kbin(k, KB_MUL, fc(k, t, alpha), x), fc(k, t, beta)));
    }
    case OP_HardSwish: {
        /* the spec fixes alpha = 1/6 and beta = 0.5 */
        KExpr *h = clamp01(k, kbin(k, KB_ADD, kbin(k, KB_MUL, fc(k, t, 1.0 / 6.0), x),
                                   fc(k, t, 0.5)));
        return kbin(k, KB_MUL, x, h);
    }
    case OP_Gelu: {
        /* 0.5 x (1 + erf(x / sqrt 2)), or with approximate="tanh"
         * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
        const char *ap = attr_s(n, "approximate", "none");
        KExpr *inner;
        if (!strcmp(ap, "tanh")) {
            KExpr *x3 = kbin(k, KB_MUL, kbin(k, KB_MUL, x, x), x);
            KExpr *u = kbin(k, KB_ADD, x, kbin(k, KB_MUL, fc(k, t, 0.044715), x3));
            KExpr *c = fc(k, t, 0.79788456080286535588); /* sqrt(2/pi) */
            inner = kun(k, KU_TANH, kbin(k, KB_MUL, c, u));
        } else {
            KExpr *c = fc(k, t, 0.70710678118654752440); /* 1/sqrt 2 */
            inner = kun(k, KU_ERF, kbin(k, KB_MUL, x, c));
        }
        return kbin(k, KB_MUL, kbin(k, KB_MUL, fc(k, t, 0.5), x),
                    kbin(k, KB_ADD, fc(k, t, 1), inner));
    }
    case OP_Swish: {
        /* x * sigmoid(alpha x) */
        double alpha = attr_f(n, "alpha", 1.0f);
        KExpr *ax = kbin(k, KB_MUL, fc(k, t, alpha), x);
        return kbin(k, KB_DIV, x, kbin(k, KB_ADD, fc(k, t, 1), kun(k, KU_EXP, kun(k, KU_NEG, ax))));
    }
    case OP_Mish: /* x tanh(softplus(x)) */
        return kbin(k, KB_MUL, x,
                    kun(k, KU_TANH, kun(k, KU_LOG, kbin(k, KB_ADD, kun(k, KU_EXP, x),
                                                        fc(k, t, 1)))));
    case OP_Softplus:
        return kun(k, KU_LOG, kbin(k, KB_ADD, kun(k, KU_EXP, x), fc(k, t, 1)));
    case OP_Softsign:
        return kbin(k, KB_DIV, x, kbin(k, KB_ADD, fc(k, t, 1), kun(k, KU_ABS, x)));
    case OP_ThresholdedRelu: {
        double alpha = attr_f(n, "alpha", 1.0f);
        return ksel(k, kbin(k, KB_GT, x, fc(k, t, alpha)), x, fc(k, t, 0));
    }
    case OP_Shrink: {
        double lambd = attr_f(n, "lambd", 0.5f), bias = attr_f(n, "bias", 0.0f);
        KExpr *hi = ksel(k, kbin(k, KB_GT, x, fc(k, t, lambd)),
                         kbin(k, KB_SUB, x, fc(k, t, bias)), fc(k, t, 0));
        return ksel(k, kbin(k, KB_LT, x, fc(k, t, -lambd)), kbin(k, KB_ADD, x, fc(k, t, bias)), hi);
    }
    default:
        return NULL;
    }
}

static KExpr *ew_binary(Node *n, KB *k, KExpr *a, KExpr *b)
{
    DType t = a->t;
    switch (n->op) {
    case OP_Add: return kbin(k, KB_ADD, a, b);
    case OP_Sub: return kbin(k, KB_SUB, a, b);
    case OP_Mul: return kbin(k, KB_MUL, a, b);
    case OP_Div: return kbin(k, KB_DIV, a, b);
    case OP_Pow: return ew_pow(k, a, b);
    case OP_Mod:
        if (dt_is_float(t) || is_unsigned(t) || attr_i(n, "fmod", 0)) return kbin(k, KB_REM, a, b);
        return py_mod(k, a, b);
    case OP_BitShift: {
        const char *dir = attr_s(n, "direction", "LEFT");
        return kbin(k, strcmp(dir, "RIGHT") ? KB_SHL : KB_SHR, a, b);
    }
    case OP_And: return kbin(k, KB_AND, a, b);
    case OP_Or: return kbin(k, KB_OR, a, b);
    case OP_Xor: return kbin(k, KB_XOR, a, b);
    case OP_BitwiseAnd: return kbin(k, KB_BAND, a, b);
    case OP_BitwiseOr: return kbin(k, KB_BOR, a, b);
    case OP_BitwiseXor: return kbin(k, KB_BXOR, a, b);
    case OP_Equal: return kbin(k, KB_EQ, a, b);
    case OP_Less: return kbin(k, KB_LT, a, b);
    case OP_LessOrEqual: return kbin(k, KB_LE, a, b);
    case OP_Greater: return kbin(k, KB_GT, a, b);
    case OP_GreaterOrEqual: return kbin(k, KB_GE, a, b);
    case OP_PRelu: return ksel(k, kbin(k, KB_LT, a, fc(k, t, 0)), kbin(k, KB_MUL, b, a), a);
    case OP_SwiGLU: { /* Swish(a) * b = a * sigmoid(alpha a) * b */
        double alpha = attr_f(n, "alpha", 1.0f);
        KExpr *ax = kbin(k, KB_MUL, fc(k, t, alpha), a);
        KExpr *sw = kbin(k, KB_DIV, a, kbin(k, KB_ADD, fc(k, t, 1),
                                            kun(k, KU_EXP, kun(k, KU_NEG, ax))));
        return kbin(k, KB_MUL, sw, b);
    }
    default: return NULL;
    }
}

/* The op's value from the loaded inputs x[i] (NULL where input i is omitted). */
static KExpr *ew_expr(Node *n, KB *k, KExpr **x, int nx, DType ot)
{
    switch (n->op) {
    case OP_Sum: case OP_Mean: case OP_Max: case OP_Min: {
        KBinOp op = n->op == OP_Max ? KB_MAX : n->op == OP_Min ? KB_MIN : KB_ADD;
        KExpr *acc = x[0];
        for (int i = 1; i < nx; i++) acc = kbin(k, op, acc, x[i]);
        if (n->op == OP_Mean && nx > 1) acc = kbin(k, KB_DIV, acc, fc(k, ot, nx));
        return acc;
    }
    case OP_Cast: case OP_CastLike: {
        /* float8, float4 and the 4- and 2-bit integers: decoded to float32/int32 first,
         * encoded last (one byte each in memory) */
        DType from = node_in(n, 0)->type.dt;
        KExpr *v = dt_is_lowbit(from) ? klow_decode(k, from, x[0]) : x[0];
        if (dt_is_lowbit(ot)) return klow_encode(k, ot, v, (int)attr_i(n, "saturate", 1));
        /* to bool is "nonzero", which a C cast to a narrow integer type would not give */
        if (ot == DT_BOOL && v->t != DT_BOOL) return kbin(k, KB_NE, v, fc(k, v->t, 0));
        return kcast(k, ot, v);
    }
    case OP_Where: return ksel(k, x[0], x[1], x[2]);
    case OP_Clip: {
        KExpr *v = x[0];
        DType t = v->t;
        KExpr *lo = x[1], *hi = x[2];
        if (n->opset < 11) {
            lo = fc(k, t, attr_f(n, "min", -FLT_MAX));
            hi = fc(k, t, attr_f(n, "max", FLT_MAX));
        }
        /* numpy's clip order: min first, then max (max wins when min > max) */
        if (lo) v = kbin(k, KB_MAX, v, lo);
        if (hi) v = kbin(k, KB_MIN, v, hi);
        return v;
    }
    default:
        break;
    }
    if (nx == 1) return ew_unary(n, k, x[0]);
    return ew_binary(n, k, x[0], x[1]);
}

/* ---- lowering ---- */

/* Coalesces the output shape for one loop nest over ns sources (pad[i]: source i's shape
 * right-aligned to the output rank; used[i] == 0 skips it): size-1 dims are dropped and
 * adjacent dims merge where every source is either full in both or broadcast in both, so
 * [3,4,5] + [5] runs as a 12x5 nest and equal shapes run as one flat vector loop
 * (broadcasting only inserted size-1 dims, so the flat layouts coincide). Fills cdims and
 * cpad (the sources' coalesced shapes); returns the coalesced rank, at least 1. */
static int ew_coalesce(const Type *ot, int ns, const unsigned char *used,
                       int64_t (*pad)[KIR_MAX_RANK], int64_t (*cpad)[KIR_MAX_RANK],
                       int64_t *cdims)
{
    int cr = 0;
    for (int d = 0; d < ot->rank; d++) {
        if (ot->dims[d] == 1) continue;
        int merge = cr > 0;
        for (int i = 0; i < ns && merge; i++) {
            if (!used[i]) continue;
            int prev_full = cpad[i][cr - 1] == cdims[cr - 1] && cdims[cr - 1] != 1;
            int prev_bc = cpad[i][cr - 1] == 1;
            int cur_full = pad[i][d] == ot->dims[d], cur_bc = pad[i][d] == 1;
            merge = (prev_full && cur_full) || (prev_bc && cur_bc);
        }
        if (merge) {
            cdims[cr - 1] *= ot->dims[d];
            for (int i = 0; i < ns; i++)
                if (used[i]) cpad[i][cr - 1] *= pad[i][d];
        } else {
            cdims[cr] = ot->dims[d];
            for (int i = 0; i < ns; i++)
                if (used[i]) cpad[i][cr] = pad[i][d];
            cr++;
        }
    }
    if (cr == 0) {
        /* one element: still one loop, for one code shape */
        cdims[cr++] = 1;
        for (int i = 0; i < ns; i++)
            if (used[i]) cpad[i][0] = 1;
    }
    return cr;
}

/* One loop nest over output 0: loads inputs [0, nx), broadcast as needed, stores
 * ew_expr() over the coalesced output shape (ew_coalesce). */
static int ew_loop(Node *n, Lower *L, int nx)
{
    KB *k = L->k;
    const Type *ot = &node_out(n, 0)->type;
    int buf[EW_MAX_IN];
    int64_t pad[EW_MAX_IN][KIR_MAX_RANK], cpad[EW_MAX_IN][KIR_MAX_RANK], cdims[KIR_MAX_RANK];
    unsigned char used[EW_MAX_IN] = {0};
    int R = ot->rank;
    if (nx > EW_MAX_IN) return node_err(n, "too many inputs");
    /* buffers are created in input order, every present input, so they bind in order */
    for (int i = 0; i < n->nin && i < EW_MAX_IN; i++)
        if (node_in(n, i)) buf[i] = lw_in(L, i);
    int out = lw_out(L, 0);
    for (int i = 0; i < nx; i++) {
        if (!node_in(n, i)) continue;
        Type src;
        if (ew_src_type(n, i, &src)) return -1;
        if (src.rank > R) return node_err(n, "internal: input %d has a higher rank than the output", i);
        for (int d = 0; d < R; d++)
            pad[i][d] = d < R - src.rank ? 1 : src.dims[d - (R - src.rank)];
        used[i] = 1;
    }
    int cr = ew_coalesce(ot, nx, used, pad, cpad, cdims);

    KExpr *x[EW_MAX_IN] = {0};
    int vars[KIR_MAX_RANK];
    if (cr == 1) vars[0] = kfor_n(k, cdims[0], KL_VECTOR);
    else kloops(k, cr, cdims, vars);
    KExpr *oidx = kindex(k, cr, cdims, vars);
    for (int i = 0; i < nx; i++) {
        if (!node_in(n, i)) continue;
        x[i] = kload(k, buf[i], kindex_bcast(k, cr, cdims, vars, cr, cpad[i]));
    }
    KExpr *val = ew_expr(n, k, x, nx, ot->dt);
    if (!val) {
        kend_n(k, cr);
        return node_err(n, "internal: no elementwise expression for this op");
    }
    kstore(k, out, oidx, kcast(k, ot->dt, val));
    kend_n(k, cr);
    return 0;
}

/* float32 Exp / Tanh / Sigmoid / Erf over a whole tensor: one call of the runtime's
 * vectorised rt_vmath_f32 where the target has it (the buffers are contiguous). */
static int ew_vmath(Node *n, Lower *L)
{
    int op;
    switch (n->op) {
    case OP_Exp: op = RT_MATH_EXP; break;
    case OP_Tanh: op = RT_MATH_TANH; break;
    case OP_Sigmoid: op = RT_MATH_SIGMOID; break;
    case OP_Erf: op = RT_MATH_ERF; break;
    default: return 0;
    }
    if (n->nin != 1 || !node_in(n, 0) || !node_out(n, 0)) return 0;
    const Type *xt = &node_in(n, 0)->type;
    if (xt->dt != DT_F32 || node_out(n, 0)->type.dt != DT_F32) return 0;
    int64_t total = type_numel(&node_out(n, 0)->type);
    if (total != type_numel(xt) || !lw_has_kernel(L, "rt_vmath_f32")) return 0;
    if (total == 0) return 1;
    KB *k = L->k;
    KArg args[4] = { karg_int(total), karg_buf(lw_in(L, 0), NULL), karg_buf(lw_out(L, 0), NULL),
                     karg_int(op) };
    kcall(k, "rt_vmath_f32", args, 4);
    return 1;
}

/* How many of n's inputs its expression reads. */
static int ew_nx(const Node *n)
{
    switch (n->op) {
    case OP_Sum: case OP_Mean: case OP_Max: case OP_Min: return n->nin;
    case OP_Cast: case OP_CastLike: return 1;
    case OP_Where: return 3;
    case OP_Clip: return n->opset < 11 ? 1 : (n->nin < 3 ? n->nin : 3);
    default: return n->nin >= 2 ? 2 : 1;
    }
}

int ew_lower(Node *n, Lower *L)
{
    if ((n->op == OP_Cast || n->op == OP_CastLike) && str_cast_involved(n))
        return str_cast_lower(n, L);
    if (n->op == OP_Equal && str_equal_involved(n)) return str_equal_lower(n, L);
    if (ew_vmath(n, L)) return 0;
    return ew_loop(n, L, ew_nx(n));
}

/* ---- BitCast (opset 26) ----
 * The same bits as another type of the same width. Between integers (and bool, whose one
 * byte holds 0 or 1) that is a plain conversion: the back ends' integer conversions keep
 * the low bits (two's complement, wrapping), so no bit changes. A float on either side
 * needs a reinterpretation the loop IR does not express yet. */

int ew_bitcast_infer(Node *n)
{
    if (bad_arity(n, 1, 1)) return -1;
    Value *x = need_in(n, 0);
    if (!x) return -1;
    const Attr *a = attr_get(n, "to");
    if (!a || a->kind != A_INT) return node_err(n, "missing integer attribute 'to'");
    DType from = x->type.dt, to = (DType)a->i;
    if (!dt_supported(to) || to == DT_IDX || to == DT_STRING)
        return node_err(n, "bitcast to %s (data type %d) is unsupported", dt_name(to), (int)to);
    if (!dt_supported(from) || from == DT_STRING)
        return node_err(n, "bitcast from %s is unsupported", dt_name(from));
    if (dt_size(from) != dt_size(to))
        return node_err(n, "bitcast from %s to %s: the types differ in width", dt_name(from),
                        dt_name(to));
    /* 16-bit floats are float32 in the loop IR's registers: their bits are not at hand */
    if (from != to && (from == DT_F16 || from == DT_BF16 || to == DT_F16 || to == DT_BF16))
        return node_err(n, "bitcast from %s to %s: 16-bit float bits cannot be reinterpreted "
                        "yet (they are computed on as float32)", dt_name(from), dt_name(to));
    return set_out(n, 0, to, x->type.rank, x->type.dims);
}

int ew_bitcast_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type;
    DType to = node_out(n, 0)->type.dt;
    int64_t total = type_numel(x);
    if (total == 0) return 0;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    int i = kfor_n(k, total, KL_PARALLEL);
    KExpr *v = kload(k, in, kvar(k, i));
    /* a byte that is not 0 or 1 has no bool meaning; nonzero reads as true */
    if (to == DT_BOOL) v = kbin(k, KB_NE, v, kc(k, v->t, 0));
    else if (dt_is_float(v->t) || dt_is_float(to)) v = kbitcast(k, to, v);
    kstore(k, out, kvar(k, i), kcast(k, to, v));
    kend(k);
    return 0;
}

/* ---- fused chains (FusedElementwise) ----
 * A chain fused by compiler/passes is one loop nest over the output: each distinct outside
 * input is loaded once per element into a scalar, each member's ew_expr() becomes a scalar
 * of its own type, and only the last one is stored. The intermediate tensors are gone. */

int ew_fusable(const Node *n, int with_vmath)
{
    if (n->op < 0 || n->op >= OP_COUNT || op_table[n->op].lower != ew_lower) return 0;
    if (n->nout != 1 || !node_out(n, 0)) return 0;
    if (n->op == OP_Cast || n->op == OP_CastLike || n->op == OP_Where) return 0;
    if (with_vmath && (n->op == OP_Exp || n->op == OP_Tanh || n->op == OP_Sigmoid ||
                       n->op == OP_Erf))
        return 0;
    /* before opset 7 the binary ops had their own broadcast rule (ew_src_type) */
    if (n->opset < 7 || n->nin > EW_MAX_IN || node_out(n, 0)->type.dt != DT_F32) return 0;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && (!n->in[i]->has_type || n->in[i]->type.dt != DT_F32)) return 0;
    return 1;
}

int ew_fused_infer(Node *n)
{
    if (!n->chain || n->nchain < 1)
        return node_err(n, "FusedElementwise is onnxcc's own node, made by its passes only");
    const Node *last = n->chain[n->nchain - 1];
    return set_out_type(n, 0, &node_out(last, 0)->type);
}

int ew_fused_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    if (!n->chain || n->nchain < 1 || n->nin > EW_MAX_IN) return node_err(n, "internal: bad chain");
    const Type *ot = &node_out(n, 0)->type;
    int R = ot->rank, ne = n->nin;
    int buf[EW_MAX_IN];
    int64_t pad[EW_MAX_IN][KIR_MAX_RANK], cpad[EW_MAX_IN][KIR_MAX_RANK], cdims[KIR_MAX_RANK];
    for (int e = 0; e < ne; e++) {
        const Type *t = &n->in[e]->type;
        if (t->rank > R) return node_err(n, "internal: input %d has a higher rank than the output", e);
        buf[e] = lw_in(L, e);
        for (int d = 0; d < R; d++) pad[e][d] = d < R - t->rank ? 1 : t->dims[d - (R - t->rank)];
    }
    int out = lw_out(L, 0);
    unsigned char used[EW_MAX_IN];
    memset(used, 1, sizeof used);
    int cr = ew_coalesce(ot, ne, used, pad, cpad, cdims);
    int vars[KIR_MAX_RANK];
    if (cr == 1) vars[0] = kfor_n(k, cdims[0], KL_VECTOR);
    else kloops(k, cr, cdims, vars);
    int xv[EW_MAX_IN];
    for (int e = 0; e < ne; e++)
        xv[e] = kdecl(k, n->in[e]->type.dt,
                      kload(k, buf[e], kindex_bcast(k, cr, cdims, vars, cr, cpad[e])));
    int *mv = pool_alloc(n->g->pool, sizeof *mv * (size_t)n->nchain);
    for (int m = 0; m < n->nchain; m++) {
        Node *c = n->chain[m];
        int nx = ew_nx(c);
        KExpr *x[EW_MAX_IN] = {0};
        if (nx > EW_MAX_IN) return node_err(n, "internal: too many inputs in the chain");
        for (int i = 0; i < nx; i++) {
            const Value *v = node_in(c, i);
            if (!v) continue;
            int found = 0;
            for (int j = 0; j < m && !found; j++)
                if (node_out(n->chain[j], 0) == v) {
                    x[i] = kvar(k, mv[j]);
                    found = 1;
                }
            for (int e = 0; e < ne && !found; e++)
                if (n->in[e] == v) {
                    x[i] = kvar(k, xv[e]);
                    found = 1;
                }
            if (!found) return node_err(n, "internal: chain input '%s' is not bound", v->name);
        }
        DType t = node_out(c, 0)->type.dt;
        KExpr *val = ew_expr(c, k, x, nx, t);
        if (!val) return node_err(n, "internal: no elementwise expression for %s", c->op_type);
        mv[m] = kdecl(k, t, kcast(k, t, val));
    }
    kstore(k, out, kindex(k, cr, cdims, vars), kvar(k, mv[n->nchain - 1]));
    kend_n(k, cr);
    return 0;
}

int ew_dropout_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    for (int i = 0; i < n->nin && i < EW_MAX_IN; i++)
        if (node_in(n, i)) lw_in(L, i);
    int x = lw_in(L, 0), y = lw_out(L, 0);
    Value *mv = node_out(n, 1);
    int m = mv ? lw_out(L, 1) : -1;
    int64_t total = type_numel(&node_out(n, 0)->type);
    int i = kfor_n(k, total, KL_VECTOR);
    kstore(k, y, kvar(k, i), kload(k, x, kvar(k, i)));
    if (mv) kstore(k, m, kvar(k, i), fc(k, mv->type.dt, 1));
    kend(k);
    return 0;
}
