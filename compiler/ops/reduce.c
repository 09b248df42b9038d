/* reduce.c — reductions and what is built on them: Reduce*, ArgMax/ArgMin, the softmax
 * family (Softmax, LogSoftmax, Hardmax), CumSum and CumProd, the losses
 * (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), the normalizations that reduce over
 * axes (LayerNormalization, RMSNormalization, GroupNormalization,
 * MeanVarianceNormalization, InstanceNormalization, LpNormalization) and Einsum.
 *
 * Everything lowers to plain loop nests: outer loops over the output, KL_REDUCE loops over
 * the reduced axes with a scalar accumulator declared just outside them. Accumulation
 * happens in the element type, as the ONNX reference does; only integer inputs of the
 * transcendental reductions (L2, LogSum, LogSumExp) go through double. */
#include <math.h>
#include <string.h>
#include "../onnxcc.h"

/* ---- shared helpers ---------------------------------------------------------------- */

/* Row-major flat index from one index expression per dimension. Size-1 dimensions add
 * nothing, which is also numpy broadcasting when e[] comes from a larger shape. */
static KExpr *flat_index(KB *k, int rank, const int64_t *dims, KExpr *const *e)
{
    KExpr *idx = kc_idx(k, 0);
    int64_t stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        if (dims[i] != 1) idx = kadd(k, idx, kmuli(k, e[i], stride));
        stride *= dims[i];
    }
    return idx;
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

static int is_float_dt(DType t) { return t == DT_F32 || t == DT_F64; }

static int is_num_dt(DType t)
{
    switch (t) {
    case DT_F32: case DT_F64: case DT_I8: case DT_U8: case DT_I16: case DT_U16:
    case DT_I32: case DT_U32: case DT_I64: case DT_U64:
        return 1;
    default:
        return 0;
    }
}

/* Smallest / largest value of t: the identity of max / min. */
static KExpr *type_lowest(KB *k, DType t)
{
    switch (t) {
    case DT_F32: case DT_F64: case DT_F16: case DT_BF16: return kc_float(k, t, -INFINITY);
    case DT_I8: return kc_int(k, t, INT8_MIN);
    case DT_I16: return kc_int(k, t, INT16_MIN);
    case DT_I32: return kc_int(k, t, INT32_MIN);
    case DT_I64: return kc_int(k, t, INT64_MIN);
    default: return kc_int(k, t, 0); /* unsigned */
    }
}

static KExpr *type_highest(KB *k, DType t)
{
    switch (t) {
    case DT_F32: case DT_F64: case DT_F16: case DT_BF16: return kc_float(k, t, INFINITY);
    case DT_I8: return kc_int(k, t, INT8_MAX);
    case DT_I16: return kc_int(k, t, INT16_MAX);
    case DT_I32: return kc_int(k, t, INT32_MAX);
    case DT_I64: return kc_int(k, t, INT64_MAX);
    case DT_U8: return kc_int(k, t, UINT8_MAX);
    case DT_U16: return kc_int(k, t, UINT16_MAX);
    case DT_U32: return kc_int(k, t, UINT32_MAX);
    default: return kc_int(k, t, -1); /* U64: all bits set */
    }
}

static KExpr *kabs(KB *k, KExpr *x)
{
    if (dt_is_float(x->t) || dt_is_signed(x->t)) return kun(k, KU_ABS, x);
    return x; /* unsigned: already non-negative */
}

/* A loop nest split into kept axes (outer loops, one output element each) and reduced
 * axes (inner KL_REDUCE loops, opened once per pass). e[i] is the index of axis i. */
typedef struct Nest {
    int rank;
    int64_t dims[KIR_MAX_RANK];
    int red[KIR_MAX_RANK];
    KExpr *e[KIR_MAX_RANK];
    int nkeep, nred;
} Nest;

static void nest_init(Nest *s, int rank, const int64_t *dims, const int *red)
{
    memset(s, 0, sizeof *s);
    s->rank = rank;
    for (int i = 0; i < rank; i++) {
        s->dims[i] = dims[i];
        s->red[i] = red[i];
        if (red[i]) s->nred++;
        else s->nkeep++;
    }
}

static void nest_open_keep(KB *k, Nest *s, int parallel)
{
    int first = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->red[i]) continue;
        s->e[i] = kvar(k, kfor_n(k, s->dims[i], first && parallel ? KL_PARALLEL : KL_SERIAL));
        first = 0;
    }
}

static void nest_open_red(KB *k, Nest *s)
{
    for (int i = 0; i < s->rank; i++)
        if (s->red[i]) s->e[i] = kvar(k, kfor_n(k, s->dims[i], KL_REDUCE));
}

/* Flat index of the current element in the full (input) shape. */
static KExpr *nest_in_index(KB *k, const Nest *s)
{
    return flat_index(k, s->rank, s->dims, s->e);
}

/* Flat index of the current output element: reduced axes dropped (same layout as kept
 * with size 1, so keepdims does not matter). */
static KExpr *nest_out_index(KB *k, const Nest *s)
{
    int64_t d[KIR_MAX_RANK];
    KExpr *e[KIR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < s->rank; i++)
        if (!s->red[i]) {
            d[r] = s->dims[i];
            e[r++] = s->e[i];
        }
    return flat_index(k, r, d, e);
}

static int64_t nest_red_count(const Nest *s)
{
    int64_t c = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->red[i]) c *= s->dims[i];
    return c;
}

static void copy_lower(KB *k, int in, int out, int64_t n)
{
    int v = kfor_n(k, n, KL_VECTOR);
    kstore(k, out, kvar(k, v), kload(k, in, kvar(k, v)));
    kend(k);
}

static const Type *in_type(const Node *n, int i) { return &node_in(n, i)->type; }

/* ---- Reduce* ----------------------------------------------------------------------- */

/* Where the axes come from: an input from opset 13 for ReduceSum and from opset 18 for
 * the others; an attribute before. */
static int axes_from_input(const Node *n)
{
    return n->op == OP_ReduceSum ? n->opset >= 13 : n->opset >= 18;
}

/* Fills red[] with the reduced axes of a Reduce* node. *identity is set when empty axes
 * with noop_with_empty_axes make the node a copy. 0, or -1 with node_err. */
static int reduce_axes(Node *n, int rank, int *red, int *identity)
{
    const int64_t *ax = NULL;
    int nax = 0;
    *identity = 0;
    if (axes_from_input(n)) {
        Value *a = node_in(n, 1);
        int64_t cnt = a ? type_numel(&a->type) : 0;
        if (a && !a->data) {
            /* axes known only at run time: still fine where their count alone fixes the
             * output shape (none: the default; as many as the rank: all, since ONNX
             * forbids repeated axes). Otherwise the shape would depend on values. */
            if (cnt != 0 && cnt != rank)
                return node_need_const(n, a, "axes must be a constant (initializer or folded "
                                             "value): the output shape depends on their values");
            for (int i = 0; i < rank; i++) red[i] = 1;
            if (cnt == 0 && attr_i(n, "noop_with_empty_axes", 0)) {
                *identity = 1;
                for (int i = 0; i < rank; i++) red[i] = 0;
            }
            return 0;
        }
        if (a && cnt > 0) {
            int64_t *vals;
            nax = const_ints(n, 1, &vals);
            if (nax < 0) return -1;
            ax = vals;
        }
    } else {
        ax = attr_ints(n, "axes", &nax);
        if (!ax) nax = 0;
    }
    for (int i = 0; i < rank; i++) red[i] = nax == 0;
    if (nax == 0 && attr_i(n, "noop_with_empty_axes", 0)) {
        *identity = 1;
        for (int i = 0; i < rank; i++) red[i] = 0;
        return 0;
    }
    for (int j = 0; j < nax; j++) {
        int a;
        if (norm_axis(n, ax[j], rank, &a) < 0) return -1;
        if (red[a]) return node_err(n, "axis %lld is listed twice", (long long)ax[j]);
        red[a] = 1;
    }
    return 0;
}

int reduce_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int red[KIR_MAX_RANK], identity;
    /* bool: ReduceMax / ReduceMin from opset 20 (any / all); the half types for those two,
     * which are exact in any precision */
    int maxmin = n->op == OP_ReduceMax || n->op == OP_ReduceMin;
    int boolok = x->dt == DT_BOOL && maxmin;
    int halfok = (x->dt == DT_F16 || x->dt == DT_BF16) && maxmin;
    if (!is_num_dt(x->dt) && !boolok && !halfok)
        return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (reduce_axes(n, x->rank, red, &identity) < 0) return -1;
    int keep = (int)attr_i(n, "keepdims", 1);
    int64_t d[KIR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        /* max/min of nothing is the accumulator's start (opset 18's rule: -inf/+inf, or
         * the type's lowest/highest) */
        if (!red[i]) d[r++] = x->dims[i];
        else if (keep) d[r++] = 1;
    }
    return set_out(n, 0, x->dt, r, d);
}

int reduce_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType t = x->dt;
    int red[KIR_MAX_RANK], identity;
    if (reduce_axes(n, x->rank, red, &identity) < 0) return -1;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (identity) {
        copy_lower(k, in, out, type_numel(x));
        return 0;
    }
    int op = n->op;
    /* the transcendental reductions of integers are computed in double, then truncated */
    int transc = op == OP_ReduceL2 || op == OP_ReduceLogSum || op == OP_ReduceLogSumExp;
    DType ct = transc && !dt_is_float(t) ? DT_F64 : t;
    Nest s;
    nest_init(&s, x->rank, x->dims, red);
    nest_open_keep(k, &s, 1);
    KExpr *shift = NULL;
    if (op == OP_ReduceLogSumExp) {
        /* stable form: m + log(sum(exp(x - m))); an infinite max keeps m = 0 so that all
         * -inf gives -inf and any +inf gives +inf, as the plain formula does */
        int m = kdecl(k, ct, type_lowest(k, ct));
        nest_open_red(k, &s);
        kset(k, m, kbin(k, KB_MAX, kvar(k, m), kcast(k, ct, kload(k, in, nest_in_index(k, &s)))));
        kend_n(k, s.nred);
        int sh = kdecl(k, ct, ksel(k, kun(k, KU_ISINF, kvar(k, m)), kc(k, ct, 0), kvar(k, m)));
        shift = kvar(k, sh);
    }
    KExpr *init;
    int isbool = t == DT_BOOL;
    switch (op) {
    case OP_ReduceMax: init = isbool ? kc_int(k, t, 0) : type_lowest(k, ct); break;
    case OP_ReduceMin: init = isbool ? kc_int(k, t, 1) : type_highest(k, ct); break;
    case OP_ReduceProd: init = kc(k, ct, 1); break;
    default: init = kc(k, ct, 0); break;
    }
    int acc = kdecl(k, ct, init);
    nest_open_red(k, &s);
    KExpr *v = kcast(k, ct, kload(k, in, nest_in_index(k, &s)));
    KExpr *a = kvar(k, acc), *nv;
    switch (op) {
    case OP_ReduceMax: nv = kbin(k, isbool ? KB_OR : KB_MAX, a, v); break;
    case OP_ReduceMin: nv = kbin(k, isbool ? KB_AND : KB_MIN, a, v); break;
    case OP_ReduceProd: nv = kbin(k, KB_MUL, a, v); break;
    case OP_ReduceL1: nv = kbin(k, KB_ADD, a, kabs(k, v)); break;
    case OP_ReduceL2:
    case OP_ReduceSumSquare: nv = kbin(k, KB_ADD, a, kbin(k, KB_MUL, v, v)); break;
    case OP_ReduceLogSumExp:
        nv = kbin(k, KB_ADD, a, kun(k, KU_EXP, kbin(k, KB_SUB, v, shift)));
        break;
    default: nv = kbin(k, KB_ADD, a, v); break; /* Sum, Mean, LogSum */
    }
    kset(k, acc, nv);
    kend_n(k, s.nred);
    KExpr *r = kvar(k, acc);
    switch (op) {
    case OP_ReduceMean: {
        int64_t c = nest_red_count(&s);
        if (c > 0) r = kbin(k, KB_DIV, r, kc(k, ct, (double)c));
        else r = dt_is_float(ct) ? kc(k, ct, NAN) : kc(k, ct, 0); /* mean of nothing */
        break;
    }
    case OP_ReduceL2: r = kun(k, KU_SQRT, r); break;
    case OP_ReduceLogSum: r = kun(k, KU_LOG, r); break;
    case OP_ReduceLogSumExp: r = kbin(k, KB_ADD, kun(k, KU_LOG, r), shift); break;
    default: break;
    }
    kstore(k, out, nest_out_index(k, &s), kcast(k, t, r));
    kend_n(k, s.nkeep);
    return 0;
}

/* ---- ArgMax / ArgMin --------------------------------------------------------------- */

int arg_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int axis;
    if (!is_num_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 1) return node_err(n, "input must have rank >= 1");
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis) < 0) return -1;
    if (x->dims[axis] < 1) return node_err(n, "cannot take the arg of an empty axis");
    int64_t d[KIR_MAX_RANK];
    int r = 0, keep = (int)attr_i(n, "keepdims", 1);
    for (int i = 0; i < x->rank; i++) {
        if (i != axis) d[r++] = x->dims[i];
        else if (keep) d[r++] = 1;
    }
    return set_out(n, 0, DT_I64, r, d);
}

int arg_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    int axis;
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis) < 0) return -1;
    int last = attr_i(n, "select_last_index", 0) != 0;
    KBinOp cmp = n->op == OP_ArgMax ? (last ? KB_GE : KB_GT) : (last ? KB_LE : KB_LT);
    int in = lw_in(L, 0), out = lw_out(L, 0);
    int red[KIR_MAX_RANK] = { 0 };
    red[axis] = 1;
    Nest s;
    nest_init(&s, x->rank, x->dims, red);
    nest_open_keep(k, &s, 1);
    s.e[axis] = kc_idx(k, 0);
    int best = kdecl(k, x->dt, kload(k, in, nest_in_index(k, &s)));
    int bi = kdecl(k, DT_IDX, kc_idx(k, 0));
    int a = kfor(k, kc_idx(k, 1), kc_idx(k, x->dims[axis]), KL_REDUCE);
    s.e[axis] = kvar(k, a);
    int v = kdecl(k, x->dt, kload(k, in, nest_in_index(k, &s)));
    kif(k, kbin(k, cmp, kvar(k, v), kvar(k, best)));
    kset(k, best, kvar(k, v));
    kset(k, bi, kvar(k, a));
    kend(k);
    kend(k);
    kstore(k, out, nest_out_index(k, &s), kcast(k, DT_I64, kvar(k, bi)));
    kend_n(k, s.nkeep);
    return 0;
}

/* ---- Softmax, LogSoftmax, Hardmax -------------------------------------------------- */

/* The input seen as [outer, len, inner] along the softmax axis. Before opset 13 the input
 * is coerced to 2-D at `axis` (default 1); from 13 the op runs along `axis` (default -1). */
static int softmax_geom(Node *n, int64_t *outer, int64_t *len, int64_t *inner)
{
    const Type *x = in_type(n, 0);
    int old = n->opset < 13, axis;
    if (x->rank < 1) return node_err(n, "input must have rank >= 1");
    if (norm_axis(n, attr_i(n, "axis", old ? 1 : -1), x->rank, &axis) < 0) return -1;
    *outer = prod(x->dims, 0, axis);
    if (old) {
        *len = prod(x->dims, axis, x->rank);
        *inner = 1;
    } else {
        *len = x->dims[axis];
        *inner = prod(x->dims, axis + 1, x->rank);
    }
    return 0;
}

int softmax_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int64_t o, l, i;
    if (!is_float_dt(x->dt) && x->dt != DT_F16 && x->dt != DT_BF16)
        return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (softmax_geom(n, &o, &l, &i) < 0) return -1;
    return set_out_type(n, 0, x);
}

/* Writes the log-softmax or softmax (log_form) of one row of `len` elements, starting at
 * flat index base with stride `inner`, from buffer in to buffer out. The half types are
 * computed in float32 (the row's sum would lose bits in float16), stored rounded. */
static void softmax_row(KB *k, DType t0, int in, int out, KExpr *base, int64_t len,
                        int64_t inner, int log_form)
{
    DType t = t0 == DT_F16 || t0 == DT_BF16 ? DT_F32 : t0;
#define LD(b, i) kcast(k, t, kload(k, (b), (i)))
    int m = kdecl(k, t, LD(in, base));
    int a = kfor(k, kc_idx(k, 1), kc_idx(k, len), KL_REDUCE);
    KExpr *ix = kadd(k, base, kmuli(k, kvar(k, a), inner));
    kset(k, m, kbin(k, KB_MAX, kvar(k, m), LD(in, ix)));
    kend(k);
    int s = kdecl(k, t, kc(k, t, 0));
    a = kfor_n(k, len, KL_REDUCE);
    ix = kadd(k, base, kmuli(k, kvar(k, a), inner));
    KExpr *ex = kun(k, KU_EXP, kbin(k, KB_SUB, LD(in, ix), kvar(k, m)));
    if (log_form) {
        kset(k, s, kbin(k, KB_ADD, kvar(k, s), ex));
    } else {
        /* keep exp(x - m) in the output; the last pass divides it in place */
        int e = kdecl(k, t, ex);
        kstore(k, out, ix, kcast(k, t0, kvar(k, e)));
        kset(k, s, kbin(k, KB_ADD, kvar(k, s), kvar(k, e)));
    }
    kend(k);
    if (log_form) {
        int ls = kdecl(k, t, kun(k, KU_LOG, kvar(k, s)));
        a = kfor_n(k, len, KL_SERIAL);
        ix = kadd(k, base, kmuli(k, kvar(k, a), inner));
        kstore(k, out, ix,
               kcast(k, t0, kbin(k, KB_SUB, kbin(k, KB_SUB, LD(in, ix), kvar(k, m)),
                                 kvar(k, ls))));
        kend(k);
    } else {
        a = kfor_n(k, len, KL_SERIAL);
        ix = kadd(k, base, kmuli(k, kvar(k, a), inner));
        kstore(k, out, ix, kcast(k, t0, kbin(k, KB_DIV, LD(out, ix), kvar(k, s))));
        kend(k);
    }
#undef LD
}

int softmax_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    DType t = in_type(n, 0)->dt;
    int64_t outer, len, inner;
    if (softmax_geom(n, &outer, &len, &inner) < 0) return -1;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (len == 0) return 0;
    if (n->op != OP_Hardmax && t == DT_F32 && inner == 1 && lw_has_kernel(L, "rt_softmax_f32")) {
        /* the axis is the last one (or flattened from it): contiguous rows */
        KArg args[5] = { karg_int(outer), karg_int(len), karg_buf(in, NULL), karg_buf(out, NULL),
                         karg_int(n->op == OP_LogSoftmax) };
        kcall(k, "rt_softmax_f32", args, 5);
        return 0;
    }
    int o = kfor_n(k, outer, KL_PARALLEL);
    int i = kfor_n(k, inner, KL_SERIAL);
    KExpr *base = kadd(k, kmuli(k, kvar(k, o), len * inner), kvar(k, i));
    if (n->op == OP_Hardmax) {
        /* one-hot of the first maximum */
        int best = kdecl(k, t, kload(k, in, base));
        int bi = kdecl(k, DT_IDX, kc_idx(k, 0));
        int a = kfor(k, kc_idx(k, 1), kc_idx(k, len), KL_REDUCE);
        int v = kdecl(k, t, kload(k, in, kadd(k, base, kmuli(k, kvar(k, a), inner))));
        kif(k, kbin(k, KB_GT, kvar(k, v), kvar(k, best)));
        kset(k, best, kvar(k, v));
        kset(k, bi, kvar(k, a));
        kend(k);
        kend(k);
        a = kfor_n(k, len, KL_SERIAL);
        kstore(k, out, kadd(k, base, kmuli(k, kvar(k, a), inner)),
               ksel(k, kbin(k, KB_EQ, kvar(k, a), kvar(k, bi)), kc(k, t, 1), kc(k, t, 0)));
        kend(k);
    } else {
        softmax_row(k, t, in, out, base, len, inner, n->op == OP_LogSoftmax);
    }
    kend_n(k, 2);
    return 0;
}

/* ---- CumSum, CumProd ---------------------------------------------------------------- */

int cumsum_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    Value *ax = node_in(n, 1);
    if (!is_num_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 1) return node_err(n, "input must have rank >= 1");
    if (!ax) return node_err(n, "the axis input is required");
    if (ax->type.dt != DT_I32 && ax->type.dt != DT_I64)
        return node_err(n, "axis must be int32 or int64, not %s", dt_name(ax->type.dt));
    if (type_numel(&ax->type) != 1) return node_err(n, "axis must hold exactly one value");
    if (ax->data) {
        int64_t *v;
        int a;
        if (const_ints(n, 1, &v) < 0) return -1;
        if (norm_axis(n, v[0], x->rank, &a) < 0) return -1;
    }
    return set_out_type(n, 0, x);
}

/* One scan over the [outer, len, inner] view of the input, all bounds compile-time
 * constants (HLS synthesizes only those). */
static void cumsum_scan(Node *n, KB *k, int in, int out, int64_t outer, int64_t len,
                        int64_t inner)
{
    DType t = in_type(n, 0)->dt;
    int excl = attr_i(n, "exclusive", 0) != 0, rev = attr_i(n, "reverse", 0) != 0;
    int prodop = n->op == OP_CumProd;
    KBinOp combine = prodop ? KB_MUL : KB_ADD;
    int o = kfor_n(k, outer, KL_PARALLEL);
    int i = kfor_n(k, inner, KL_SERIAL);
    /* the identity of the combination: what an exclusive scan's first element holds */
    int acc = kdecl(k, t, kc(k, t, prodop ? 1 : 0));
    int j = kfor_n(k, len, KL_REDUCE);
    KExpr *jj = rev ? kaddi(k, kmuli(k, kvar(k, j), -1), len - 1) : kvar(k, j);
    KExpr *ix = kadd(k, kmul(k, kadd(k, kmuli(k, kvar(k, o), len), jj), kc_idx(k, inner)),
                     kvar(k, i));
    int v = kdecl(k, t, kload(k, in, ix));
    if (excl) {
        kstore(k, out, ix, kvar(k, acc));
        kset(k, acc, kbin(k, combine, kvar(k, acc), kvar(k, v)));
    } else {
        kset(k, acc, kbin(k, combine, kvar(k, acc), kvar(k, v)));
        kstore(k, out, ix, kvar(k, acc));
    }
    kend_n(k, 3);
}

int cumsum_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    int in = lw_in(L, 0), out = lw_out(L, 0);
    int64_t total = type_numel(x);
    if (total == 0) return 0;
    if (node_in(n, 1)->data) {
        int64_t *v;
        int a;
        if (const_ints(n, 1, &v) < 0 || norm_axis(n, v[0], x->rank, &a) < 0) return -1;
        cumsum_scan(n, k, in, out, prod(x->dims, 0, a), x->dims[a], prod(x->dims, a + 1, x->rank));
        return 0;
    }
    /* axis known only at run time: one scan per possible axis, chosen by its value, so
     * every loop bound stays a constant. An axis out of range acts as a length-1 axis
     * instead of reading out of bounds. */
    int ax = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, lw_in(L, 1), kc_idx(k, 0))));
    kset(k, ax, ksel(k, kbin(k, KB_LT, kvar(k, ax), kc_idx(k, 0)),
                     kaddi(k, kvar(k, ax), x->rank), kvar(k, ax)));
    for (int d = 0; d < x->rank; d++) {
        kif(k, kbin(k, KB_EQ, kvar(k, ax), kc_idx(k, d)));
        cumsum_scan(n, k, in, out, prod(x->dims, 0, d), x->dims[d],
                    prod(x->dims, d + 1, x->rank));
        kelse(k);
    }
    cumsum_scan(n, k, in, out, total, 1, 1);
    kend_n(k, x->rank);
    return 0;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ---------------------------- */

typedef enum { RED_NONE, RED_SUM, RED_MEAN } Reduction;

static int loss_reduction(Node *n, Reduction *r)
{
    const char *s = attr_s(n, "reduction", "mean");
    if (!strcmp(s, "none")) *r = RED_NONE;
    else if (!strcmp(s, "sum")) *r = RED_SUM;
    else if (!strcmp(s, "mean")) *r = RED_MEAN;
    else return node_err(n, "unknown reduction '%s'", s);
    return 0;
}

int loss_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0), *tg;
    Reduction r;
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 2) return node_err(n, "input must be [N, C, d1...]: rank >= 2");
    if (x->dims[1] < 1) return node_err(n, "the class dimension C must not be empty");
    if (!node_in(n, 1)) return node_err(n, "the target input is required");
    tg = in_type(n, 1);
    if (tg->dt != DT_I32 && tg->dt != DT_I64)
        return node_err(n, "target must be int32 or int64, not %s", dt_name(tg->dt));
    if (tg->rank != x->rank - 1 || tg->dims[0] != x->dims[0])
        return node_err(n, "target shape does not match input [N, C, d1...]");
    for (int i = 1; i < tg->rank; i++)
        if (tg->dims[i] != x->dims[i + 1])
            return node_err(n, "target shape does not match input [N, C, d1...]");
    if (node_in(n, 2)) {
        const Type *w = in_type(n, 2);
        if (w->dt != x->dt || w->rank != 1 || w->dims[0] != x->dims[1])
            return node_err(n, "weight must be a 1-D tensor of C elements of the input type");
    }
    if (loss_reduction(n, &r) < 0) return -1;
    if (r == RED_NONE) {
        if (set_out(n, 0, x->dt, tg->rank, tg->dims) < 0) return -1;
    } else if (set_out(n, 0, x->dt, 0, NULL) < 0) {
        return -1;
    }
    if (n->op == OP_SoftmaxCrossEntropyLoss && node_out(n, 1))
        return set_out_type(n, 1, x);
    return 0;
}

/* The negative log-likelihood of log-probabilities lp [N, C, D] (D = the flattened d1...)
 * at the target classes, weighted, ignored targets contributing nothing. */
static void nll_emit(Node *n, Lower *L, int lp, Reduction red)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType t = x->dt;
    int64_t N = x->dims[0], C = x->dims[1], D = prod(x->dims, 2, x->rank);
    const Attr *iia = attr_get(n, "ignore_index");
    int64_t ii = iia ? iia->i : 0;
    int tgt = lw_in(L, 1), out = lw_out(L, 0);
    int wb = node_in(n, 2) ? lw_in(L, 2) : -1;
    int sum = -1, wsum = -1;
    if (red != RED_NONE) {
        sum = kdecl(k, t, kc(k, t, 0));
        wsum = kdecl(k, t, kc(k, t, 0));
    }
    KLoopKind lk = red == RED_NONE ? KL_PARALLEL : KL_REDUCE;
    int vn = kfor_n(k, N, lk);
    int vd = kfor_n(k, D, red == RED_NONE ? KL_SERIAL : KL_REDUCE);
    KExpr *ti = kadd(k, kmuli(k, kvar(k, vn), D), kvar(k, vd));
    int cls = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, tgt, ti)));
    int loss = kdecl(k, t, kc(k, t, 0));
    int w = kdecl(k, t, kc(k, t, 0));
    if (iia) kif(k, kbin(k, KB_NE, kvar(k, cls), kc_idx(k, ii)));
    /* a target outside [0, C) is undefined behaviour in ONNX; clamp it so the generated
     * code never reads outside its buffers */
    int c = kdecl(k, DT_IDX, kbin(k, KB_MIN, kbin(k, KB_MAX, kvar(k, cls), kc_idx(k, 0)),
                                  kc_idx(k, C - 1)));
    kset(k, w, wb >= 0 ? kload(k, wb, kvar(k, c)) : kc(k, t, 1));
    KExpr *xi = kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, vn), C), kvar(k, c)), D), kvar(k, vd));
    kset(k, loss, kbin(k, KB_MUL, kun(k, KU_NEG, kload(k, lp, xi)), kvar(k, w)));
    if (iia) kend(k);
    if (red == RED_NONE) {
        kstore(k, out, ti, kvar(k, loss));
    } else {
        kset(k, sum, kbin(k, KB_ADD, kvar(k, sum), kvar(k, loss)));
        kset(k, wsum, kbin(k, KB_ADD, kvar(k, wsum), kvar(k, w)));
    }
    kend_n(k, 2);
    if (red == RED_SUM) kstore(k, out, kc_idx(k, 0), kvar(k, sum));
    if (red == RED_MEAN)
        kstore(k, out, kc_idx(k, 0), kbin(k, KB_DIV, kvar(k, sum), kvar(k, wsum)));
}

int loss_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    Reduction red = RED_NONE; /* set by loss_reduction; initialised for -O3 flow analysis */
    if (loss_reduction(n, &red) < 0) return -1;
    int in = lw_in(L, 0);
    if (n->op == OP_NegativeLogLikelihoodLoss) {
        nll_emit(n, L, in, red);
        return 0;
    }
    /* SoftmaxCrossEntropyLoss: log-softmax over C, then the NLL of it */
    int64_t N = x->dims[0], C = x->dims[1], D = prod(x->dims, 2, x->rank);
    int lp = node_out(n, 1) ? lw_out(L, 1) : lw_temp(L, x->dt, type_numel(x));
    int vn = kfor_n(k, N, KL_PARALLEL);
    int vd = kfor_n(k, D, KL_SERIAL);
    KExpr *base = kadd(k, kmuli(k, kvar(k, vn), C * D), kvar(k, vd));
    softmax_row(k, x->dt, in, lp, base, C, D, 1);
    kend_n(k, 2);
    nll_emit(n, L, lp, red);
    return 0;
}

/* ---- LayerNormalization ------------------------------------------------------------ */

/* Checks that p (Scale or B) broadcasts onto the normalized dims x[axis:]. */
static int check_bcast_tail(Node *n, int i, const Type *x, int axis, const char *what)
{
    const Type *p = in_type(n, i);
    if (p->dt != x->dt) return node_err(n, "%s must have the input type", what);
    if (p->rank > x->rank - axis)
        return node_err(n, "%s must broadcast over the normalized dims only", what);
    for (int j = 0; j < p->rank; j++) {
        int64_t xd = x->dims[x->rank - p->rank + j];
        if (p->dims[j] != xd && p->dims[j] != 1)
            return node_err(n, "%s shape does not broadcast to the normalized shape", what);
    }
    return 0;
}

static DType stash_dt(const Node *n, DType xt)
{
    int64_t st = attr_i(n, "stash_type", 1);
    if (st == DT_F32 || st == DT_F64) return (DType)st;
    return xt;
}

int layernorm_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int axis;
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 1) return node_err(n, "input must have rank >= 1");
    if (norm_axis(n, attr_i(n, "axis", -1), x->rank, &axis) < 0) return -1;
    if (!node_in(n, 1)) return node_err(n, "the Scale input is required");
    if (check_bcast_tail(n, 1, x, axis, "Scale") < 0) return -1;
    if (node_in(n, 2) && check_bcast_tail(n, 2, x, axis, "B") < 0) return -1;
    if (set_out_type(n, 0, x) < 0) return -1;
    int64_t d[KIR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) d[i] = i < axis ? x->dims[i] : 1;
    DType st = stash_dt(n, x->dt);
    for (int o = 1; o <= 2; o++)
        if (node_out(n, o) && set_out(n, o, st, x->rank, d) < 0) return -1;
    return 0;
}

int layernorm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType t = x->dt;
    int axis;
    if (norm_axis(n, attr_i(n, "axis", -1), x->rank, &axis) < 0) return -1;
    double eps = attr_f(n, "epsilon", 1e-5f);
    int64_t rows = prod(x->dims, 0, axis), cols = prod(x->dims, axis, x->rank);
    int in = lw_in(L, 0), out = lw_out(L, 0), sc = lw_in(L, 1);
    int bb = node_in(n, 2) ? lw_in(L, 2) : -1;
    int om = node_out(n, 1) ? lw_out(L, 1) : -1, oi = node_out(n, 2) ? lw_out(L, 2) : -1;
    DType st = stash_dt(n, t);
    if (rows == 0 || cols == 0) return 0;
    /* float32 without the Mean / InvStdDev outputs, Scale and B of the full normalized shape
     * (or B absent): one call of the runtime kernel over [rows, cols] */
    if (t == DT_F32 && om < 0 && oi < 0 && type_numel(in_type(n, 1)) == cols &&
        (bb < 0 || type_numel(in_type(n, 2)) == cols) && lw_has_kernel(L, "rt_layernorm_f32")) {
        KArg args[7] = { karg_int(rows), karg_int(cols), karg_buf(in, NULL), karg_buf(sc, NULL),
                         karg_buf(bb, NULL), karg_buf(out, NULL), karg_float(eps) };
        kcall(k, "rt_layernorm_f32", args, 7);
        return 0;
    }
    int r = kfor_n(k, rows, KL_PARALLEL);
    KExpr *base = kmuli(k, kvar(k, r), cols);
    int s = kdecl(k, t, kc(k, t, 0));
    int c = kfor_n(k, cols, KL_REDUCE);
    kset(k, s, kbin(k, KB_ADD, kvar(k, s), kload(k, in, kadd(k, base, kvar(k, c)))));
    kend(k);
    int mean = kdecl(k, t, kbin(k, KB_DIV, kvar(k, s), kc(k, t, (double)cols)));
    int v = kdecl(k, t, kc(k, t, 0));
    c = kfor_n(k, cols, KL_REDUCE);
    int dv = kdecl(k, t, kbin(k, KB_SUB, kload(k, in, kadd(k, base, kvar(k, c))), kvar(k, mean)));
    kset(k, v, kbin(k, KB_ADD, kvar(k, v), kbin(k, KB_MUL, kvar(k, dv), kvar(k, dv))));
    kend(k);
    KExpr *var = kbin(k, KB_DIV, kvar(k, v), kc(k, t, (double)cols));
    int inv = kdecl(k, t, kbin(k, KB_DIV, kc(k, t, 1),
                               kun(k, KU_SQRT, kbin(k, KB_ADD, var, kc(k, t, eps)))));
    if (om >= 0) kstore(k, om, kvar(k, r), kcast(k, st, kvar(k, mean)));
    if (oi >= 0) kstore(k, oi, kvar(k, r), kcast(k, st, kvar(k, inv)));
    /* the normalized dims as separate loops, so Scale and B broadcast by index */
    int nc = x->rank - axis;
    KExpr *e[KIR_MAX_RANK];
    for (int i = 0; i < nc; i++) e[i] = kvar(k, kfor_n(k, x->dims[axis + i], KL_SERIAL));
    KExpr *xi = kadd(k, base, flat_index(k, nc, x->dims + axis, e));
    const Type *ts = in_type(n, 1);
    KExpr *y = kbin(k, KB_MUL, kbin(k, KB_SUB, kload(k, in, xi), kvar(k, mean)), kvar(k, inv));
    y = kbin(k, KB_MUL, y, kload(k, sc, flat_index(k, ts->rank, ts->dims, e + nc - ts->rank)));
    if (bb >= 0) {
        const Type *tb = in_type(n, 2);
        y = kbin(k, KB_ADD, y, kload(k, bb, flat_index(k, tb->rank, tb->dims, e + nc - tb->rank)));
    }
    kstore(k, out, xi, y);
    kend_n(k, nc + 1);
    return 0;
}

/* ---- RMSNormalization ------------------------------------------------------------- */

int rmsnorm_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int axis;
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 1) return node_err(n, "input must have rank >= 1");
    if (norm_axis(n, attr_i(n, "axis", -1), x->rank, &axis) < 0) return -1;
    if (!node_in(n, 1)) return node_err(n, "the scale input is required");
    if (check_bcast_tail(n, 1, x, axis, "scale") < 0) return -1;
    return set_out_type(n, 0, x);
}

/* Y = Cast(X / sqrt(mean(X^2) + epsilon)) * scale, the mean over the axes from `axis` on.
 * The reduction and the division happen in stash_type (float32 by default), as the
 * operator's function body does, so a float16 input does not overflow summing squares. */
int rmsnorm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType t = x->dt, st = stash_dt(n, t);
    int axis;
    if (norm_axis(n, attr_i(n, "axis", -1), x->rank, &axis) < 0) return -1;
    double eps = attr_f(n, "epsilon", 1e-5f);
    int64_t rows = prod(x->dims, 0, axis), cols = prod(x->dims, axis, x->rank);
    int in = lw_in(L, 0), out = lw_out(L, 0), sc = lw_in(L, 1);
    if (rows == 0 || cols == 0) return 0;
    int r = kfor_n(k, rows, KL_PARALLEL);
    KExpr *base = kmuli(k, kvar(k, r), cols);
    int s = kdecl(k, st, kc(k, st, 0));
    int c = kfor_n(k, cols, KL_REDUCE);
    KExpr *xv = kload(k, in, kadd(k, base, kvar(k, c)));
    int v = kdecl(k, st, st == t ? xv : kcast(k, st, xv));
    kset(k, s, kbin(k, KB_ADD, kvar(k, s), kbin(k, KB_MUL, kvar(k, v), kvar(k, v))));
    kend(k);
    KExpr *ms = kbin(k, KB_DIV, kvar(k, s), kc(k, st, (double)cols));
    int inv = kdecl(k, st, kbin(k, KB_DIV, kc(k, st, 1),
                                kun(k, KU_SQRT, kbin(k, KB_ADD, ms, kc(k, st, eps)))));
    /* the normalized dims as separate loops, so scale broadcasts by index */
    int nc = x->rank - axis;
    KExpr *e[KIR_MAX_RANK];
    for (int i = 0; i < nc; i++) e[i] = kvar(k, kfor_n(k, x->dims[axis + i], KL_SERIAL));
    KExpr *xi = kadd(k, base, flat_index(k, nc, x->dims + axis, e));
    KExpr *xl = kload(k, in, xi);
    KExpr *y = kbin(k, KB_MUL, st == t ? xl : kcast(k, st, xl), kvar(k, inv));
    if (st != t) y = kcast(k, t, y);
    const Type *ts = in_type(n, 1);
    y = kbin(k, KB_MUL, y, kload(k, sc, flat_index(k, ts->rank, ts->dims, e + nc - ts->rank)));
    kstore(k, out, xi, y);
    kend_n(k, nc + 1);
    return 0;
}

/* ---- GroupNormalization ----------------------------------------------------------- */

/* scale and bias: one per channel from opset 21, one per group before (opset 18) */
static int64_t gn_params(const Node *n, const Type *x)
{
    return n->opset >= 21 ? x->dims[1] : attr_i(n, "num_groups", 0);
}

int groupnorm_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 2) return node_err(n, "input must have rank >= 2 (N, C, ...)");
    int64_t g = attr_i(n, "num_groups", 0), c = x->dims[1];
    if (g < 1) return node_err(n, "attribute num_groups (>= 1) is required");
    if (c % g) return node_err(n, "%lld channels do not split into %lld groups", (long long)c,
                               (long long)g);
    int64_t want = gn_params(n, x);
    for (int i = 1; i <= 2; i++) {
        const char *what = i == 1 ? "scale" : "bias";
        if (!node_in(n, i)) return node_err(n, "the %s input is required", what);
        const Type *p = in_type(n, i);
        if (p->dt != x->dt) return node_err(n, "%s must have the input type", what);
        if (p->rank != 1 || p->dims[0] != want)
            return node_err(n, "%s must have %lld values (one per %s)", what, (long long)want,
                            n->opset >= 21 ? "channel" : "group");
    }
    return set_out_type(n, 0, x);
}

/* Each (sample, group) is a contiguous run of C/G channels: its mean and variance (two
 * passes, in stash_type), then y = (x - mean) / sqrt(var + epsilon) * scale + bias. */
int groupnorm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType t = x->dt, st = stash_dt(n, t);
    int64_t N = x->dims[0], C = x->dims[1], G = attr_i(n, "num_groups", 1);
    int64_t S = prod(x->dims, 2, x->rank), cg = C / G, cols = cg * S;
    double eps = attr_f(n, "epsilon", 1e-5f);
    int per_channel = n->opset >= 21;
    int in = lw_in(L, 0), out = lw_out(L, 0), sc = lw_in(L, 1), bb = lw_in(L, 2);
    if (N == 0 || cols == 0) return 0;
    int nv = kfor_n(k, N, KL_PARALLEL);
    int gv = kfor_n(k, G, KL_SERIAL);
    KExpr *base = kmuli(k, kadd(k, kmuli(k, kvar(k, nv), G), kvar(k, gv)), cols);
    int s = kdecl(k, st, kc(k, st, 0));
    int j = kfor_n(k, cols, KL_REDUCE);
    kset(k, s, kbin(k, KB_ADD, kvar(k, s), kcast(k, st, kload(k, in, kadd(k, base, kvar(k, j))))));
    kend(k);
    int mean = kdecl(k, st, kbin(k, KB_DIV, kvar(k, s), kc(k, st, (double)cols)));
    int v = kdecl(k, st, kc(k, st, 0));
    j = kfor_n(k, cols, KL_REDUCE);
    int d = kdecl(k, st, kbin(k, KB_SUB, kcast(k, st, kload(k, in, kadd(k, base, kvar(k, j)))),
                              kvar(k, mean)));
    kset(k, v, kbin(k, KB_ADD, kvar(k, v), kbin(k, KB_MUL, kvar(k, d), kvar(k, d))));
    kend(k);
    KExpr *var = kbin(k, KB_DIV, kvar(k, v), kc(k, st, (double)cols));
    int inv = kdecl(k, st, kbin(k, KB_DIV, kc(k, st, 1),
                                kun(k, KU_SQRT, kbin(k, KB_ADD, var, kc(k, st, eps)))));
    int cv = kfor_n(k, cg, KL_SERIAL);
    KExpr *pi = per_channel ? kadd(k, kmuli(k, kvar(k, gv), cg), kvar(k, cv)) : kvar(k, gv);
    int scv = kdecl(k, t, kload(k, sc, pi)), bv = kdecl(k, t, kload(k, bb, pi));
    int sv = kfor_n(k, S, KL_SERIAL);
    KExpr *xi = kadd(k, base, kadd(k, kmuli(k, kvar(k, cv), S), kvar(k, sv)));
    KExpr *y = kbin(k, KB_MUL, kbin(k, KB_SUB, kcast(k, st, kload(k, in, xi)), kvar(k, mean)),
                    kvar(k, inv));
    y = kbin(k, KB_ADD, kbin(k, KB_MUL, kcast(k, t, y), kvar(k, scv)), kvar(k, bv));
    kstore(k, out, xi, y);
    kend_n(k, 4);
    return 0;
}

/* ---- MeanVarianceNormalization, InstanceNormalization ------------------------------ */

static int mvn_axes(Node *n, int rank, int *red)
{
    static const int64_t def[] = { 0, 2, 3 };
    int nax = 3;
    const int64_t *ax = attr_ints(n, "axes", &nax);
    if (!ax) {
        ax = def;
        nax = 3;
    }
    for (int i = 0; i < rank; i++) red[i] = 0;
    for (int j = 0; j < nax; j++) {
        int a;
        if (norm_axis(n, ax[j], rank, &a) < 0) return -1;
        if (red[a]) return node_err(n, "axis %lld is listed twice", (long long)ax[j]);
        red[a] = 1;
    }
    return 0;
}

int mvn_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int red[KIR_MAX_RANK];
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (mvn_axes(n, x->rank, red) < 0) return -1;
    return set_out_type(n, 0, x);
}

/* (x - mean) * f(var) over the reduced axes of s, for every kept index: shared by
 * MeanVarianceNormalization (y = (x - m) / (sqrt(var) + 1e-9)) and InstanceNormalization
 * (y = scale * (x - m) / sqrt(var + eps) + B). Variance is two-pass, never negative. */
static void norm_emit(KB *k, Nest *s, DType t, int in, int out, int instance, double eps,
                      int sc, int bb)
{
    double cnt = (double)nest_red_count(s);
    nest_open_keep(k, s, 1);
    int sum = kdecl(k, t, kc(k, t, 0));
    nest_open_red(k, s);
    kset(k, sum, kbin(k, KB_ADD, kvar(k, sum), kload(k, in, nest_in_index(k, s))));
    kend_n(k, s->nred);
    int mean = kdecl(k, t, kbin(k, KB_DIV, kvar(k, sum), kc(k, t, cnt)));
    int v = kdecl(k, t, kc(k, t, 0));
    nest_open_red(k, s);
    int d = kdecl(k, t, kbin(k, KB_SUB, kload(k, in, nest_in_index(k, s)), kvar(k, mean)));
    kset(k, v, kbin(k, KB_ADD, kvar(k, v), kbin(k, KB_MUL, kvar(k, d), kvar(k, d))));
    kend_n(k, s->nred);
    KExpr *var = kbin(k, KB_DIV, kvar(k, v), kc(k, t, cnt));
    KExpr *den = instance ? kun(k, KU_SQRT, kbin(k, KB_ADD, var, kc(k, t, eps)))
                          : kbin(k, KB_ADD, kun(k, KU_SQRT, var), kc(k, t, 1e-9));
    int dn = kdecl(k, t, den);
    KExpr *sv = NULL, *bv = NULL;
    if (instance) {
        /* axis 1 is the channel, always kept */
        sv = kload(k, sc, s->e[1]);
        bv = kload(k, bb, s->e[1]);
    }
    nest_open_red(k, s);
    KExpr *ix = nest_in_index(k, s);
    KExpr *y = kbin(k, KB_SUB, kload(k, in, ix), kvar(k, mean));
    if (instance) y = kbin(k, KB_ADD, kbin(k, KB_DIV, kbin(k, KB_MUL, sv, y), kvar(k, dn)), bv);
    else y = kbin(k, KB_DIV, y, kvar(k, dn));
    kstore(k, out, ix, y);
    kend_n(k, s->nred);
    kend_n(k, s->nkeep);
}

int mvn_lower(Node *n, Lower *L)
{
    const Type *x = in_type(n, 0);
    int red[KIR_MAX_RANK];
    if (mvn_axes(n, x->rank, red) < 0) return -1;
    Nest s;
    nest_init(&s, x->rank, x->dims, red);
    if (type_numel(x) == 0) return 0;
    norm_emit(L->k, &s, x->dt, lw_in(L, 0), lw_out(L, 0), 0, 0, -1, -1);
    return 0;
}

int instnorm_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 2) return node_err(n, "input must be [N, C, d1...]: rank >= 2");
    for (int i = 1; i <= 2; i++) {
        if (!node_in(n, i)) return node_err(n, "scale and B inputs are required");
        const Type *p = in_type(n, i);
        if (p->dt != x->dt || p->rank != 1 || p->dims[0] != x->dims[1])
            return node_err(n, "%s must be a 1-D tensor of C elements of the input type",
                            i == 1 ? "scale" : "B");
    }
    return set_out_type(n, 0, x);
}

int instnorm_lower(Node *n, Lower *L)
{
    const Type *x = in_type(n, 0);
    int red[KIR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) red[i] = i >= 2;
    Nest s;
    nest_init(&s, x->rank, x->dims, red);
    if (type_numel(x) == 0) return 0;
    norm_emit(L->k, &s, x->dt, lw_in(L, 0), lw_out(L, 0), 1, attr_f(n, "epsilon", 1e-5f),
              lw_in(L, 1), lw_in(L, 2));
    return 0;
}

/* ---- LpNormalization --------------------------------------------------------------- */

int lpnorm_infer(Node *n)
{
    if (!node_in(n, 0)) return node_err(n, "input 0 is required");
    const Type *x = in_type(n, 0);
    int axis;
    int64_t p = attr_i(n, "p", 2);
    if (!is_float_dt(x->dt)) return node_err(n, "unsupported input type %s", dt_name(x->dt));
    if (x->rank < 1) return node_err(n, "input must have rank >= 1");
    if (norm_axis(n, attr_i(n, "axis", -1), x->rank, &axis) < 0) return -1;
    if (p != 1 && p != 2) return node_err(n, "p must be 1 or 2, not %lld", (long long)p);
    return set_out_type(n, 0, x);
}

int lpnorm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType t = x->dt;
    int axis, red[KIR_MAX_RANK] = { 0 };
    if (norm_axis(n, attr_i(n, "axis", -1), x->rank, &axis) < 0) return -1;
    int p2 = attr_i(n, "p", 2) == 2;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    red[axis] = 1;
    Nest s;
    nest_init(&s, x->rank, x->dims, red);
    nest_open_keep(k, &s, 1);
    int acc = kdecl(k, t, kc(k, t, 0));
    nest_open_red(k, &s);
    KExpr *v = kload(k, in, nest_in_index(k, &s));
    kset(k, acc, kbin(k, KB_ADD, kvar(k, acc), p2 ? kbin(k, KB_MUL, v, v) : kun(k, KU_ABS, v)));
    kend(k);
    /* a zero vector stays zero (the reference divides by 1 there) rather than 0/0 = NaN */
    int nrm = kdecl(k, t, p2 ? kun(k, KU_SQRT, kvar(k, acc)) : kvar(k, acc));
    kset(k, nrm, ksel(k, kbin(k, KB_EQ, kvar(k, nrm), kc(k, t, 0)), kc(k, t, 1), kvar(k, nrm)));
    nest_open_red(k, &s);
    KExpr *ix = nest_in_index(k, &s);
    kstore(k, out, ix, kbin(k, KB_DIV, kload(k, in, ix), kvar(k, nrm)));
    kend(k);
    kend_n(k, s.nkeep);
    return 0;
}

/* ---- Einsum ------------------------------------------------------------------------ */

/* Labels: a-z are 0..25, A-Z 26..51, the dims an ellipsis stands for 52.. (right aligned
 * across operands, numpy broadcasting among them). */
#define EIN_LETTERS 52
#define EIN_LABELS (EIN_LETTERS + KIR_MAX_RANK)

typedef struct Ein {
    int nops;
    int lab[16][KIR_MAX_RANK];   /* label of each dim of each operand */
    int nout;
    int out[KIR_MAX_RANK];       /* labels of the output dims */
    int64_t size[EIN_LABELS];    /* -1: label unused */
} Ein;

static int ein_letter(char c)
{
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
    return -1;
}

/* Parses one term ("ij", "...ii") of `rank` dims into labels. -1 with node_err. */
static int ein_term(Node *n, const char *s, const char *e, int rank, int nell, int *lab,
                    int *count)
{
    int letters = 0, ell = 0;
    for (const char *p = s; p < e; p++) {
        if (*p == '.') {
            if (e - p < 3 || p[1] != '.' || p[2] != '.' || ell)
                return node_err(n, "malformed ellipsis in equation");
            ell = 1;
            p += 2;
        } else if (ein_letter(*p) >= 0) {
            letters++;
        } else {
            return node_err(n, "unexpected character '%c' in equation", *p);
        }
    }
    int ne = rank >= 0 ? rank - letters : nell;
    if (rank >= 0 && (ne < 0 || (!ell && ne != 0)))
        return node_err(n, "equation term has %d labels for an input of rank %d", letters, rank);
    int r = 0;
    for (const char *p = s; p < e; p++) {
        if (*p == '.') {
            if (r + ne > KIR_MAX_RANK)
                return node_err(n, "equation term exceeds the maximum rank");
            for (int j = 0; j < ne; j++) lab[r++] = EIN_LETTERS + nell - ne + j;
            p += 2;
        } else {
            if (r >= KIR_MAX_RANK) return node_err(n, "equation term exceeds the maximum rank");
            lab[r++] = ein_letter(*p);
        }
    }
    *count = r;
    return 0;
}

static int ein_parse(Node *n, Ein *E)
{
    const char *eq = attr_s(n, "equation", NULL);
    char buf[256];
    size_t len = 0;
    if (!eq) return node_err(n, "the equation attribute is required");
    for (const char *p = eq; *p; p++) {
        if (*p == ' ') continue;
        if (len + 1 >= sizeof buf) return node_err(n, "equation too long");
        buf[len++] = *p;
    }
    buf[len] = 0;
    memset(E, 0, sizeof *E);
    for (int l = 0; l < EIN_LABELS; l++) E->size[l] = -1;
    char *arrow = strstr(buf, "->");
    char *lhs_end = arrow ? arrow : buf + len;
    /* the number of ellipsis dims: the most any operand has */
    int nell = 0, nops = 0;
    const char *s = buf;
    for (;;) {
        const char *e = s;
        while (e < lhs_end && *e != ',') e++;
        if (nops >= n->nin || nops >= 16 || !node_in(n, nops))
            return node_err(n, "equation has more terms than the node has inputs");
        int letters = 0;
        for (const char *p = s; p < e; p++) letters += ein_letter(*p) >= 0;
        int ne = in_type(n, nops)->rank - letters;
        if (memchr(s, '.', (size_t)(e - s)) && ne > nell) nell = ne;
        nops++;
        if (e >= lhs_end) break;
        s = e + 1;
    }
    if (nops != n->nin) return node_err(n, "equation has %d terms for %d inputs", nops, n->nin);
    E->nops = nops;
    s = buf;
    int count[16] = { 0 };
    for (int i = 0; i < nops; i++) {
        const char *e = s;
        while (e < lhs_end && *e != ',') e++;
        const Type *t = in_type(n, i);
        if (ein_term(n, s, e, t->rank, nell, E->lab[i], &count[i]) < 0) return -1;
        for (int d = 0; d < t->rank; d++) {
            int l = E->lab[i][d];
            int64_t sz = t->dims[d];
            if (E->size[l] < 0) {
                E->size[l] = sz;
            } else if (sz != E->size[l]) {
                /* only ellipsis dims broadcast; a letter names one size */
                if (l < EIN_LETTERS || (sz != 1 && E->size[l] != 1))
                    return node_err(n, "equation label has inconsistent sizes %lld and %lld",
                                    (long long)E->size[l], (long long)sz);
                if (E->size[l] == 1) E->size[l] = sz;
            }
        }
        s = e + 1;
    }
    if (arrow) {
        if (ein_term(n, arrow + 2, buf + len, -1, nell, E->out, &E->nout) < 0) return -1;
        for (int i = 0; i < E->nout; i++) {
            if (E->size[E->out[i]] < 0)
                return node_err(n, "output label does not appear in any input");
            for (int j = 0; j < i; j++)
                if (E->out[j] == E->out[i]) return node_err(n, "output label repeated");
        }
    } else {
        /* implicit output: the ellipsis dims, then the letters seen exactly once, in
         * ASCII order (upper case first, as numpy) */
        int seen[EIN_LETTERS] = { 0 };
        for (int i = 0; i < nops; i++)
            for (int d = 0; d < count[i]; d++)
                if (E->lab[i][d] < EIN_LETTERS) seen[E->lab[i][d]]++;
        for (int j = 0; j < nell; j++) E->out[E->nout++] = EIN_LETTERS + j;
        for (int c = 0; c < EIN_LETTERS; c++) {
            int l = c < 26 ? 26 + c : c - 26;
            if (seen[l] != 1) continue;
            if (E->nout >= KIR_MAX_RANK) return node_err(n, "output rank too large");
            E->out[E->nout++] = l;
        }
    }
    return 0;
}

int einsum_infer(Node *n)
{
    Ein E;
    if (n->nin < 1 || !node_in(n, 0)) return node_err(n, "Einsum needs at least one input");
    DType t = in_type(n, 0)->dt;
    for (int i = 0; i < n->nin; i++) {
        if (!node_in(n, i)) return node_err(n, "input %d is missing", i);
        if (in_type(n, i)->dt != t) return node_err(n, "inputs must share one type");
    }
    if (!is_num_dt(t)) return node_err(n, "unsupported input type %s", dt_name(t));
    if (ein_parse(n, &E) < 0) return -1;
    int64_t d[KIR_MAX_RANK];
    for (int i = 0; i < E.nout; i++) d[i] = E.size[E.out[i]];
    return set_out(n, 0, t, E.nout, d);
}

int einsum_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Ein E;
    DType t = in_type(n, 0)->dt;
    if (ein_parse(n, &E) < 0) return -1;
    int inb[16];
    for (int i = 0; i < E.nops; i++) inb[i] = lw_in(L, i);
    int out = lw_out(L, 0);
    KExpr *var[EIN_LABELS] = { 0 };
    int isout[EIN_LABELS] = { 0 }, nopen = 0, nred = 0;
    int64_t od[KIR_MAX_RANK];
    KExpr *oe[KIR_MAX_RANK];
    for (int i = 0; i < E.nout; i++) {
        int l = E.out[i];
        isout[l] = 1;
        var[l] = kvar(k, kfor_n(k, E.size[l], nopen ? KL_SERIAL : KL_PARALLEL));
        nopen++;
        od[i] = E.size[l];
        oe[i] = var[l];
    }
    int acc = kdecl(k, t, kc(k, t, 0));
    for (int l = 0; l < EIN_LABELS; l++)
        if (E.size[l] >= 0 && !isout[l]) {
            var[l] = kvar(k, kfor_n(k, E.size[l], KL_REDUCE));
            nred++;
        }
    KExpr *p = NULL;
    for (int i = 0; i < E.nops; i++) {
        const Type *ti = in_type(n, i);
        KExpr *e[KIR_MAX_RANK];
        for (int d = 0; d < ti->rank; d++) e[d] = var[E.lab[i][d]];
        KExpr *v = kload(k, inb[i], flat_index(k, ti->rank, ti->dims, e));
        p = p ? kbin(k, KB_MUL, p, v) : v;
    }
    kset(k, acc, kbin(k, KB_ADD, kvar(k, acc), p));
    kend_n(k, nred);
    kstore(k, out, flat_index(k, E.nout, od, oe), kvar(k, acc));
    kend_n(k, nopen);
    return 0;
}
