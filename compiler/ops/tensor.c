/* tensor.c — the tensor/shape operator family: shape rules and loop-IR lowerings of the
 * operators that move, select or create elements without arithmetic on them: Reshape,
 * Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Gather*, Expand, Pad, Tile,
 * CenterCropPad, TensorScatter, Shape, Size, ConstantOfShape, Range, Trilu, DepthToSpace,
 * SpaceToDepth, EyeLike, OneHot, Compress, Scatter*, ReverseSequence.
 *
 * These lowerings double as the constant folder's reference semantics (the Shape -> Gather
 * -> Concat -> Reshape chains exporters write are folded by running them in the loop-IR
 * interpreter), so they must be exact on int64. Values that decide an output shape
 * (Reshape's shape, Slice's starts ...) must be compile-time constants: every dim here is a
 * number. Values that only decide element contents (Gather's indices, Pad's constant value,
 * Trilu's k) may be run-time data. */
#include <string.h>
#include "../onnxcc.h"

/* ---- shared helpers ---- */

/* Input i, which the operator requires. */
static const Type *req_in(Node *n, int i)
{
    Value *v = node_in(n, i);
    if (!v) {
        node_err(n, "missing input %d", i);
        return NULL;
    }
    return &v->type;
}

static int is_index_type(DType t)
{
    return t == DT_I32 || t == DT_I64;
}

static void strides_of(int rank, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        st[d] = s;
        s *= dims[d];
    }
}

/* sum(coord[d] * st[d]) where coord[d] is loop variable vars[d]; a var < 0 contributes 0. */
static KExpr *lin_vars(KB *k, int rank, const int *vars, const int64_t *st)
{
    KExpr *e = kc_idx(k, 0);
    for (int d = 0; d < rank; d++)
        if (vars[d] >= 0) e = kadd(k, e, kmuli(k, kvar(k, vars[d]), st[d]));
    return e;
}

/* A data value used as an index: cast to DT_IDX and held in a variable (it is read more
 * than once), negative values counting from the end of a dimension of size dim. */
static int index_var(KB *k, KExpr *val, int64_t dim, int allow_negative)
{
    int v = kdecl(k, DT_IDX, kcast(k, DT_IDX, val));
    if (!allow_negative) return v;
    KExpr *neg = kbin(k, KB_LT, kvar(k, v), kc_idx(k, 0));
    return kdecl(k, DT_IDX, ksel(k, neg, kaddi(k, kvar(k, v), dim), kvar(k, v)));
}

/* Raw integer value of element i of a constant (host layout), exact for 64-bit types. */
static int64_t raw_i64(const Value *v, int64_t i)
{
    const void *p = v->data;
    switch (v->type.dt) {
    case DT_BOOL: case DT_U8: return ((const uint8_t *)p)[i];
    case DT_I8: return ((const int8_t *)p)[i];
    case DT_U16: return ((const uint16_t *)p)[i];
    case DT_I16: return ((const int16_t *)p)[i];
    case DT_I32: return ((const int32_t *)p)[i];
    case DT_U32: return ((const uint32_t *)p)[i];
    case DT_I64: return ((const int64_t *)p)[i];
    case DT_U64: return (int64_t)((const uint64_t *)p)[i];
    default: return (int64_t)const_elem_f(v, i);
    }
}

/* Element i of a constant as a loop-IR constant of the constant's own type. */
static KExpr *const_expr(KB *k, const Value *v, int64_t i)
{
    if (dt_is_float(v->type.dt)) return kc_float(k, v->type.dt, const_elem_f(v, i));
    return kc_int(k, v->type.dt, raw_i64(v, i));
}

/* Checks the values of a constant index tensor against [-dim, dim) so a bad model is an
 * error at compile time instead of an out-of-bounds read (at run time nothing checks). */
static int check_const_indices(Node *n, int input, int64_t dim)
{
    const Value *v = node_in(n, input);
    if (!v || !v->data) return 0;
    int64_t cnt = type_numel(&v->type);
    for (int64_t i = 0; i < cnt; i++) {
        int64_t x = raw_i64(v, i);
        if (x < -dim || x >= dim)
            return node_err(n, "index %lld is out of range for a dimension of size %lld",
                            (long long)x, (long long)dim);
    }
    return 0;
}

/* The same for index tuples along the last axis of a constant indices tensor (GatherND,
 * ScatterND): element j of each tuple indexes dims[j]. */
static int check_const_tuples(Node *n, int input, const int64_t *dims)
{
    const Value *v = node_in(n, input);
    if (!v || !v->data || v->type.rank < 1) return 0;
    int64_t cnt = type_numel(&v->type), kk = v->type.dims[v->type.rank - 1];
    for (int64_t i = 0; i < cnt; i++) {
        int64_t x = raw_i64(v, i), dim = dims[i % kk];
        if (x < -dim || x >= dim)
            return node_err(n, "index %lld is out of range for a dimension of size %lld",
                            (long long)x, (long long)dim);
    }
    return 0;
}

/* Axes from the attribute (before opset `input_since`) or the constant input `input`.
 * Returns the count (-1 on error); *present tells whether any were given. */
static int get_axes(Node *n, int input_since, int input, int64_t *axes, int *present)
{
    int cnt = 0;
    *present = 0;
    if (n->opset < input_since) {
        const int64_t *a = attr_ints(n, "axes", &cnt);
        if (!a) return 0;
        if (cnt > KIR_MAX_RANK) return node_err(n, "too many axes (%d)", cnt);
        memcpy(axes, a, sizeof *axes * (size_t)cnt);
    } else {
        if (!node_in(n, input)) return 0;
        int64_t *vals;
        cnt = const_ints(n, input, &vals);
        if (cnt < 0) return -1;
        if (cnt > KIR_MAX_RANK) return node_err(n, "too many axes (%d)", cnt);
        memcpy(axes, vals, sizeof *axes * (size_t)cnt);
    }
    *present = 1;
    return cnt;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze: same elements, new shape ---- */

int reshape_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int cnt;
    int64_t shape[KIR_MAX_RANK];
    if (n->opset < 5) {
        const int64_t *a = attr_ints(n, "shape", &cnt);
        if (!a) return node_err(n, "missing attribute 'shape'");
        if (cnt > KIR_MAX_RANK) return node_err(n, "target rank %d is too large", cnt);
        memcpy(shape, a, sizeof *shape * (size_t)cnt);
    } else {
        int64_t *vals;
        if (!req_in(n, 1)) return -1;
        cnt = const_ints(n, 1, &vals);
        if (cnt < 0) return -1;
        if (node_in(n, 1)->type.rank != 1) return node_err(n, "shape must be 1-D");
        if (cnt > KIR_MAX_RANK) return node_err(n, "target rank %d is too large", cnt);
        memcpy(shape, vals, sizeof *shape * (size_t)cnt);
    }
    int allowzero = (int)attr_i(n, "allowzero", 0);
    int infer_at = -1;
    int64_t known = 1, total = type_numel(x);
    for (int d = 0; d < cnt; d++) {
        if (shape[d] == 0 && !allowzero) {
            if (d >= x->rank)
                return node_err(n, "shape[%d] = 0 copies a dimension the input (rank %d) lacks",
                                d, x->rank);
            shape[d] = x->dims[d];
        } else if (shape[d] == -1) {
            if (infer_at >= 0) return node_err(n, "more than one -1 in the target shape");
            infer_at = d;
            continue;
        } else if (shape[d] < 0) {
            return node_err(n, "invalid target dimension %lld", (long long)shape[d]);
        }
        known = mul_sat(known, shape[d]);
    }
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return node_err(n, "cannot infer the -1 dimension: %lld elements into %s",
                            (long long)total, type_str(n->g->pool, x));
        shape[infer_at] = total / known;
    } else if (known > ONNXCC_MAX_DIM) {
        return node_err(n, "cannot reshape %s (%lld elements) into more than 2^40 elements",
                        type_str(n->g->pool, x), (long long)total);
    } else if (known != total) {
        return node_err(n, "cannot reshape %s (%lld elements) into %lld elements",
                        type_str(n->g->pool, x), (long long)total, (long long)known);
    }
    return set_out(n, 0, x->dt, cnt, shape);
}

int flatten_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int64_t axis = attr_i(n, "axis", 1);
    if (axis < -x->rank || axis > x->rank)
        return node_err(n, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    int64_t dims[2] = { 1, 1 };
    for (int d = 0; d < x->rank; d++) dims[d < axis ? 0 : 1] *= x->dims[d];
    return set_out(n, 0, x->dt, 2, dims);
}

int squeeze_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int64_t axes[KIR_MAX_RANK];
    int present, drop[KIR_MAX_RANK] = { 0 };
    int cnt = get_axes(n, 13, 1, axes, &present);
    if (cnt < 0) return -1;
    for (int i = 0; i < cnt; i++) {
        int a;
        if (norm_axis(n, axes[i], x->rank, &a)) return -1;
        if (x->dims[a] != 1)
            return node_err(n, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
        drop[a] = 1;
    }
    if (!present)
        for (int d = 0; d < x->rank; d++) drop[d] = x->dims[d] == 1;
    int64_t dims[KIR_MAX_RANK];
    int r = 0;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d]) dims[r++] = x->dims[d];
    return set_out(n, 0, x->dt, r, dims);
}

int unsqueeze_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int64_t axes[KIR_MAX_RANK];
    int present, ins[KIR_MAX_RANK] = { 0 };
    int cnt = get_axes(n, 13, 1, axes, &present);
    if (cnt < 0) return -1;
    if (!present) return node_err(n, "missing axes");
    int rank = x->rank + cnt;
    if (rank > KIR_MAX_RANK) return node_err(n, "output rank %d is too large", rank);
    for (int i = 0; i < cnt; i++) {
        int a;
        if (norm_axis(n, axes[i], rank, &a)) return -1;
        if (ins[a]) return node_err(n, "axis %d given twice", a);
        ins[a] = 1;
    }
    int64_t dims[KIR_MAX_RANK];
    for (int d = 0, s = 0; d < rank; d++) dims[d] = ins[d] ? 1 : x->dims[s++];
    return set_out(n, 0, x->dt, rank, dims);
}

/* ---- Transpose ---- */

static int transpose_perm(Node *n, const Type *x, int *perm)
{
    int cnt;
    const int64_t *p = attr_ints(n, "perm", &cnt);
    if (!p) {
        for (int d = 0; d < x->rank; d++) perm[d] = x->rank - 1 - d;
        return 0;
    }
    if (cnt != x->rank) return node_err(n, "perm has %d entries for rank %d", cnt, x->rank);
    int seen[KIR_MAX_RANK] = { 0 };
    for (int d = 0; d < cnt; d++) {
        if (p[d] < 0 || p[d] >= cnt || seen[p[d]])
            return node_err(n, "perm is not a permutation of 0..%d", cnt - 1);
        seen[p[d]] = 1;
        perm[d] = (int)p[d];
    }
    return 0;
}

int transpose_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int perm[KIR_MAX_RANK];
    if (transpose_perm(n, x, perm)) return -1;
    int64_t dims[KIR_MAX_RANK];
    for (int d = 0; d < x->rank; d++) dims[d] = x->dims[perm[d]];
    return set_out(n, 0, x->dt, x->rank, dims);
}

int transpose_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int perm[KIR_MAX_RANK], vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK];
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (transpose_perm(n, x, perm)) return -1;
    strides_of(x->rank, x->dims, st);
    kloops(k, y->rank, y->dims, vars);
    /* output axis d walks input axis perm[d] */
    for (int d = 0; d < y->rank; d++) src[perm[d]] = vars[d];
    kstore(k, out, kindex(k, y->rank, y->dims, vars), kload(k, in, lin_vars(k, x->rank, src, st)));
    kend_n(k, y->rank);
    return 0;
}

/* ---- Concat, Split ---- */

int concat_infer(Node *n)
{
    const Type *x0 = NULL;
    for (int i = 0; i < n->nin && !x0; i++)
        if (node_in(n, i)) x0 = &node_in(n, i)->type;
    if (!x0) return node_err(n, "no inputs");
    int axis;
    if (norm_axis(n, attr_i(n, "axis", n->opset < 4 ? 1 : 0), x0->rank, &axis)) return -1;
    if (x0->rank == 0) return node_err(n, "cannot concatenate scalars");
    Type out = *x0;
    out.dims[axis] = 0;
    for (int i = 0; i < n->nin; i++) {
        const Value *v = node_in(n, i);
        if (!v) continue;
        const Type *t = &v->type;
        if (t->dt != x0->dt || t->rank != x0->rank)
            return node_err(n, "input %d (%s) does not match input 0 (%s)", i,
                            type_str(n->g->pool, t), type_str(n->g->pool, x0));
        for (int d = 0; d < t->rank; d++)
            if (d != axis && t->dims[d] != x0->dims[d])
                return node_err(n, "input %d (%s) does not match input 0 (%s) on axis %d", i,
                                type_str(n->g->pool, t), type_str(n->g->pool, x0), d);
        out.dims[axis] += t->dims[axis];
    }
    return set_out_type(n, 0, &out);
}

int concat_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *y = &node_out(n, 0)->type;
    int axis, vars[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK], off = 0;
    norm_axis(n, attr_i(n, "axis", n->opset < 4 ? 1 : 0), y->rank, &axis);
    strides_of(y->rank, y->dims, st);
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    for (int i = 0; i < n->nin; i++) {
        const Value *v = node_in(n, i);
        if (!v) continue;
        int in = lw_in(L, i);
        if (in < 0) return -1;
        const Type *t = &v->type;
        if (type_numel(t) > 0) {
            kloops(k, t->rank, t->dims, vars);
            KExpr *oi = kadd(k, lin_vars(k, t->rank, vars, st), kc_idx(k, off * st[axis]));
            kstore(k, out, oi, kload(k, in, kindex(k, t->rank, t->dims, vars)));
            kend_n(k, t->rank);
        }
        off += t->dims[axis];
    }
    return 0;
}

/* Sizes of Split's outputs along the axis. */
static int split_sizes(Node *n, const Type *x, int *axis, int64_t *sizes)
{
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, axis)) return -1;
    if (x->rank == 0) return node_err(n, "cannot split a scalar");
    int64_t dim = x->dims[*axis];
    int nout = n->nout, cnt = -1;
    const int64_t *given = NULL;
    int64_t *vals;
    if (n->opset < 13) {
        given = attr_ints(n, "split", &cnt);
        if (!given && node_in(n, 1)) { /* opset 1 also accepted it as an input */
            cnt = const_ints(n, 1, &vals);
            if (cnt < 0) return -1;
            given = vals;
        }
    } else if (node_in(n, 1)) {
        cnt = const_ints(n, 1, &vals);
        if (cnt < 0) return -1;
        given = vals;
    }
    if (given) {
        if (cnt != nout)
            return node_err(n, "split has %d entries for %d outputs", cnt, nout);
        int64_t sum = 0;
        for (int i = 0; i < cnt; i++) {
            if (given[i] < 0) return node_err(n, "negative split size");
            sizes[i] = given[i];
            sum += given[i];
        }
        if (sum != dim)
            return node_err(n, "split sizes sum to %lld, the axis has %lld", (long long)sum,
                            (long long)dim);
        return 0;
    }
    const Attr *no = attr_get(n, "num_outputs");
    if (no) {
        /* opset 18: equal chunks of ceil(dim / num_outputs), the last one smaller */
        if (no->i != nout || nout <= 0)
            return node_err(n, "num_outputs %lld does not match %d outputs", (long long)no->i, nout);
        int64_t chunk = (dim + nout - 1) / nout;
        for (int i = 0; i < nout; i++) {
            int64_t lo = chunk * i, hi = lo + chunk > dim ? dim : lo + chunk;
            sizes[i] = hi > lo ? hi - lo : 0;
        }
        return 0;
    }
    if (nout <= 0 || dim % nout)
        return node_err(n, "axis of size %lld cannot be split into %d equal parts", (long long)dim,
                        nout);
    for (int i = 0; i < nout; i++) sizes[i] = dim / nout;
    return 0;
}

int split_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    if (n->nout > 64) return node_err(n, "too many outputs (%d)", n->nout);
    int axis;
    int64_t sizes[64];
    if (split_sizes(n, x, &axis, sizes)) return -1;
    for (int i = 0; i < n->nout; i++) {
        if (!node_out(n, i)) continue;
        Type t = *x;
        t.dims[axis] = sizes[i];
        if (set_out_type(n, i, &t)) return -1;
    }
    return 0;
}

int split_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type;
    int axis, vars[KIR_MAX_RANK];
    int64_t sizes[64], st[KIR_MAX_RANK], off = 0;
    if (split_sizes(n, x, &axis, sizes)) return -1;
    strides_of(x->rank, x->dims, st);
    int in = lw_in(L, 0);
    if (in < 0) return -1;
    for (int i = 0; i < n->nout; i++) {
        if (node_out(n, i)) {
            const Type *t = &node_out(n, i)->type;
            int out = lw_out(L, i);
            if (out < 0) return -1;
            if (type_numel(t) > 0) {
                kloops(k, t->rank, t->dims, vars);
                KExpr *ii = kadd(k, lin_vars(k, t->rank, vars, st), kc_idx(k, off * st[axis]));
                kstore(k, out, kindex(k, t->rank, t->dims, vars), kload(k, in, ii));
                kend_n(k, t->rank);
            }
        }
        off += sizes[i];
    }
    return 0;
}

/* ---- Slice ---- */

/* Per input axis: first element, step and count of the slice. */
static int slice_params(Node *n, const Type *x, int64_t *start, int64_t *step, int64_t *cnt)
{
    const int64_t *sv = NULL, *ev = NULL, *av = NULL, *pv = NULL;
    int ns, ne, na = -1, np = -1;
    if (n->opset < 10) {
        if (!(sv = attr_ints(n, "starts", &ns))) return node_err(n, "missing attribute 'starts'");
        if (!(ev = attr_ints(n, "ends", &ne))) return node_err(n, "missing attribute 'ends'");
        if (!(av = attr_ints(n, "axes", &na))) na = -1;
    } else {
        int64_t *s, *e, *a, *p;
        if (!req_in(n, 1) || !req_in(n, 2)) return -1;
        if ((ns = const_ints(n, 1, &s)) < 0 || (ne = const_ints(n, 2, &e)) < 0) return -1;
        sv = s;
        ev = e;
        if (node_in(n, 3)) {
            if ((na = const_ints(n, 3, &a)) < 0) return -1;
            av = a;
        }
        if (node_in(n, 4)) {
            if ((np = const_ints(n, 4, &p)) < 0) return -1;
            pv = p;
        }
    }
    if (ns != ne) return node_err(n, "starts has %d entries, ends %d", ns, ne);
    if (na >= 0 && na != ns) return node_err(n, "axes has %d entries, starts %d", na, ns);
    if (np >= 0 && np != ns) return node_err(n, "steps has %d entries, starts %d", np, ns);
    if (na < 0 && ns > x->rank) return node_err(n, "%d starts for rank %d", ns, x->rank);
    int seen[KIR_MAX_RANK] = { 0 };
    for (int d = 0; d < x->rank; d++) {
        start[d] = 0;
        step[d] = 1;
        cnt[d] = x->dims[d];
    }
    for (int i = 0; i < ns; i++) {
        int a = i;
        if (av && norm_axis(n, av[i], x->rank, &a)) return -1;
        if (seen[a]) return node_err(n, "axis %d sliced twice", a);
        seen[a] = 1;
        int64_t d = x->dims[a], s = sv[i], e = ev[i], p = pv ? pv[i] : 1;
        if (p == 0) return node_err(n, "step 0 on axis %d", a);
        if (p == INT64_MIN) p = -INT64_MAX; /* same slice; keeps -p representable */
        if (s < 0) s += d;
        if (e < 0) e += d;
        int64_t c;
        if (p > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            c = e > s ? (e - s - 1) / p + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            c = s > e ? (s - e - 1) / -p + 1 : 0;
        }
        start[a] = s;
        step[a] = p;
        cnt[a] = c;
    }
    return 0;
}

int slice_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int64_t start[KIR_MAX_RANK], step[KIR_MAX_RANK], cnt[KIR_MAX_RANK];
    if (slice_params(n, x, start, step, cnt)) return -1;
    return set_out(n, 0, x->dt, x->rank, cnt);
}

int slice_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int64_t start[KIR_MAX_RANK], step[KIR_MAX_RANK], cnt[KIR_MAX_RANK], st[KIR_MAX_RANK];
    int vars[KIR_MAX_RANK];
    if (slice_params(n, x, start, step, cnt)) return -1;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    kloops(k, y->rank, y->dims, vars);
    KExpr *ii = kc_idx(k, 0);
    int64_t base = 0;
    for (int d = 0; d < x->rank; d++) {
        base += start[d] * st[d];
        ii = kadd(k, ii, kmuli(k, kvar(k, vars[d]), step[d] * st[d]));
    }
    kstore(k, out, kindex(k, y->rank, y->dims, vars), kload(k, in, kaddi(k, ii, base)));
    kend_n(k, y->rank);
    return 0;
}

/* ---- Gather, GatherElements, GatherND ---- */

int gather_infer(Node *n)
{
    const Type *x = req_in(n, 0), *ind = req_in(n, 1);
    if (!x || !ind) return -1;
    if (!is_index_type(ind->dt)) return node_err(n, "indices must be int32 or int64");
    int axis;
    if (x->rank == 0) return node_err(n, "cannot gather from a scalar");
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis)) return -1;
    int rank = x->rank - 1 + ind->rank;
    if (rank > KIR_MAX_RANK) return node_err(n, "output rank %d is too large", rank);
    if (check_const_indices(n, 1, x->dims[axis])) return -1;
    int64_t dims[KIR_MAX_RANK];
    int r = 0;
    for (int d = 0; d < axis; d++) dims[r++] = x->dims[d];
    for (int d = 0; d < ind->rank; d++) dims[r++] = ind->dims[d];
    for (int d = axis + 1; d < x->rank; d++) dims[r++] = x->dims[d];
    if (set_out(n, 0, x->dt, rank, dims)) return -1;
    return node_in(n, 1)->dyn ? gather_dyn_infer(n) : 0;
}

int gather_lower(Node *n, Lower *L)
{
    if (node_in(n, 1)->dyn) return gather_dyn_lower(n, L);
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *ind = &node_in(n, 1)->type, *y = &node_out(n, 0)->type;
    int axis, vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK];
    norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis);
    int in = lw_in(L, 0), iin = lw_in(L, 1), out = lw_out(L, 0);
    if (in < 0 || iin < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    kloops(k, y->rank, y->dims, vars);
    int ix = index_var(k, kload(k, iin, kindex(k, ind->rank, ind->dims, vars + axis)),
                       x->dims[axis], 1);
    for (int d = 0; d < x->rank; d++)
        src[d] = d < axis ? vars[d] : d == axis ? ix : vars[d - 1 + ind->rank];
    kstore(k, out, kindex(k, y->rank, y->dims, vars), kload(k, in, lin_vars(k, x->rank, src, st)));
    kend_n(k, y->rank);
    return 0;
}

int gather_elements_infer(Node *n)
{
    const Type *x = req_in(n, 0), *ind = req_in(n, 1);
    if (!x || !ind) return -1;
    if (!is_index_type(ind->dt)) return node_err(n, "indices must be int32 or int64");
    if (ind->rank != x->rank || x->rank == 0)
        return node_err(n, "indices rank %d must equal data rank %d (>= 1)", ind->rank, x->rank);
    int axis;
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis)) return -1;
    if (check_const_indices(n, 1, x->dims[axis])) return -1;
    return set_out(n, 0, x->dt, ind->rank, ind->dims);
}

int gather_elements_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int axis, vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK];
    norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis);
    int in = lw_in(L, 0), iin = lw_in(L, 1), out = lw_out(L, 0);
    if (in < 0 || iin < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    kloops(k, y->rank, y->dims, vars);
    KExpr *oi = kindex(k, y->rank, y->dims, vars);
    int ix = index_var(k, kload(k, iin, oi), x->dims[axis], 1);
    memcpy(src, vars, sizeof src);
    src[axis] = ix;
    kstore(k, out, kindex(k, y->rank, y->dims, vars), kload(k, in, lin_vars(k, x->rank, src, st)));
    kend_n(k, y->rank);
    return 0;
}

int gather_nd_infer(Node *n)
{
    const Type *x = req_in(n, 0), *ind = req_in(n, 1);
    if (!x || !ind) return -1;
    if (!is_index_type(ind->dt)) return node_err(n, "indices must be int32 or int64");
    int64_t b = attr_i(n, "batch_dims", 0);
    if (x->rank < 1 || ind->rank < 1) return node_err(n, "data and indices need rank >= 1");
    if (b < 0 || b >= x->rank || b >= ind->rank)
        return node_err(n, "batch_dims %lld is out of range", (long long)b);
    int64_t kk = ind->dims[ind->rank - 1];
    if (kk < 1 || kk > x->rank - b)
        return node_err(n, "last indices dimension %lld must be in 1..%lld", (long long)kk,
                        (long long)(x->rank - b));
    for (int d = 0; d < b; d++)
        if (x->dims[d] != ind->dims[d]) return node_err(n, "batch dimension %d differs", d);
    if (check_const_tuples(n, 1, x->dims + b)) return -1;
    int rank = (int)(ind->rank - 1 + x->rank - b - kk);
    if (rank > KIR_MAX_RANK) return node_err(n, "output rank %d is too large", rank);
    int64_t dims[KIR_MAX_RANK];
    int r = 0;
    for (int d = 0; d < ind->rank - 1; d++) dims[r++] = ind->dims[d];
    for (int d = (int)(b + kk); d < x->rank; d++) dims[r++] = x->dims[d];
    return set_out(n, 0, x->dt, rank, dims);
}

int gather_nd_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *ind = &node_in(n, 1)->type, *y = &node_out(n, 0)->type;
    int b = (int)attr_i(n, "batch_dims", 0), q = ind->rank;
    int kk = (int)ind->dims[q - 1];
    int vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK], ist[KIR_MAX_RANK];
    int in = lw_in(L, 0), iin = lw_in(L, 1), out = lw_out(L, 0);
    if (in < 0 || iin < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    strides_of(q, ind->dims, ist);
    kloops(k, y->rank, y->dims, vars);
    /* the tuple of indices for this output element starts at indices[vars[0..q-2], 0] */
    int ibase = kdecl(k, DT_IDX, lin_vars(k, q - 1, vars, ist));
    for (int d = 0; d < b; d++) src[d] = vars[d];
    for (int j = 0; j < kk; j++)
        src[b + j] = index_var(k, kload(k, iin, kaddi(k, kvar(k, ibase), j)), x->dims[b + j], 1);
    for (int d = b + kk; d < x->rank; d++) src[d] = vars[q - 1 + d - b - kk];
    kstore(k, out, kindex(k, y->rank, y->dims, vars), kload(k, in, lin_vars(k, x->rank, src, st)));
    kend_n(k, y->rank);
    return 0;
}

/* ---- Expand, Tile ---- */

static int expand_shape(Node *n, const Type *x, Type *out)
{
    int64_t *vals;
    if (!req_in(n, 1)) return -1;
    int cnt = const_ints(n, 1, &vals);
    if (cnt < 0) return -1;
    if (cnt > KIR_MAX_RANK) return node_err(n, "target rank %d is too large", cnt);
    Type s = { x->dt, cnt, { 0 } };
    for (int d = 0; d < cnt; d++) {
        if (vals[d] < 0) return node_err(n, "negative dimension in shape");
        s.dims[d] = vals[d];
    }
    return broadcast_shapes(n, x, &s, out);
}

int expand_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    Type out;
    if (!x || expand_shape(n, x, &out)) return -1;
    out.dt = x->dt;
    return set_out_type(n, 0, &out);
}

int expand_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int vars[KIR_MAX_RANK];
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    kloops(k, y->rank, y->dims, vars);
    kstore(k, out, kindex(k, y->rank, y->dims, vars),
           kload(k, in, kindex_bcast(k, y->rank, y->dims, vars, x->rank, x->dims)));
    kend_n(k, y->rank);
    return 0;
}

int tile_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    int64_t *rep;
    if (!x || !req_in(n, 1)) return -1;
    int cnt = const_ints(n, 1, &rep);
    if (cnt < 0) return -1;
    if (cnt != x->rank) return node_err(n, "repeats has %d entries for rank %d", cnt, x->rank);
    int64_t dims[KIR_MAX_RANK];
    for (int d = 0; d < cnt; d++) {
        if (rep[d] < 0) return node_err(n, "negative repeat");
        dims[d] = mul_sat(x->dims[d], rep[d]);
    }
    return set_out(n, 0, x->dt, x->rank, dims);
}

int tile_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int vars[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK];
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    kloops(k, y->rank, y->dims, vars);
    KExpr *ii = kc_idx(k, 0);
    for (int d = 0; d < x->rank; d++) {
        KExpr *c = kvar(k, vars[d]);
        if (y->dims[d] != x->dims[d]) c = kbin(k, KB_REM, c, kc_idx(k, x->dims[d]));
        ii = kadd(k, ii, kmuli(k, c, st[d]));
    }
    kstore(k, out, kindex(k, y->rank, y->dims, vars), kload(k, in, ii));
    kend_n(k, y->rank);
    return 0;
}

/* ---- CenterCropPad (opset 18) ----
 * Each listed axis (all by default) becomes shape[j] long, centred: a longer input is
 * cropped from (in - out) / 2, a shorter one padded with zeros, (out - in) / 2 before. */

static int ccp_dims(Node *n, const Type *x, int64_t *dims)
{
    int64_t *shp;
    int cnt = const_ints(n, 1, &shp);
    if (cnt < 0) return -1;
    int nax = 0;
    const int64_t *axes = attr_ints(n, "axes", &nax);
    if (!axes) nax = x->rank;
    if (cnt != nax)
        return node_err(n, "shape has %d entries for %d axes", cnt, nax);
    int seen[KIR_MAX_RANK] = { 0 };
    for (int d = 0; d < x->rank; d++) dims[d] = x->dims[d];
    for (int j = 0; j < nax; j++) {
        int64_t a = axes ? axes[j] : j;
        if (a < 0) a += x->rank;
        if (a < 0 || a >= x->rank) return node_err(n, "axis %lld is out of range",
                                                   (long long)(axes ? axes[j] : j));
        if (seen[a]++) return node_err(n, "axis %lld is listed twice", (long long)a);
        if (shp[j] < 0) return node_err(n, "negative size %lld", (long long)shp[j]);
        dims[a] = shp[j];
    }
    return 0;
}

int center_crop_pad_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x || !req_in(n, 1)) return -1;
    int64_t dims[KIR_MAX_RANK];
    if (ccp_dims(n, x, dims)) return -1;
    return set_out(n, 0, x->dt, x->rank, dims);
}

int center_crop_pad_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int vars[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK];
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    kloops(k, y->rank, y->dims, vars);
    KExpr *ii = kc_idx(k, 0), *ok = NULL;
    for (int d = 0; d < x->rank; d++) {
        int64_t xi = x->dims[d], yo = y->dims[d];
        /* source coordinate: shifted by the crop start, or back by the leading pad */
        int64_t shift = yo <= xi ? (xi - yo) / 2 : -((yo - xi) / 2);
        /* a variable, so each use below gets its own expression node */
        int c = kdecl(k, DT_IDX, kaddi(k, kvar(k, vars[d]), shift));
        if (yo > xi) {
            KExpr *in_range = kbin(k, KB_AND, kbin(k, KB_GE, kvar(k, c), kc_idx(k, 0)),
                                   kbin(k, KB_LT, kvar(k, c), kc_idx(k, xi)));
            ok = ok ? kbin(k, KB_AND, ok, in_range) : in_range;
        }
        ii = kadd(k, ii, kmuli(k, kvar(k, c), st[d]));
    }
    KExpr *oi = kindex(k, y->rank, y->dims, vars);
    if (ok) {
        kif(k, ok);
        kstore(k, out, oi, kload(k, in, ii));
        kelse(k);
        kstore(k, out, oi, kc(k, y->dt, 0));
        kend(k);
    } else {
        kstore(k, out, oi, kload(k, in, ii));
    }
    kend_n(k, y->rank);
    return 0;
}

/* ---- TensorScatter (opset 24) ----
 * A KV-cache write: the output is past_cache with update's slices written along `axis`
 * (default -2) from write_indices[b] on (0 without it) for each batch b; mode="circular"
 * wraps the position around the cache length. */

static int ts_params(Node *n, int *axis, int *circular)
{
    const Type *c = req_in(n, 0), *u = c ? req_in(n, 1) : NULL;
    if (!u) return -1;
    if (c->dt != u->dt) return node_err(n, "update must have past_cache's type");
    if (c->rank < 2 || u->rank != c->rank)
        return node_err(n, "past_cache and update must have one rank >= 2");
    int64_t a = attr_i(n, "axis", -2);
    if (a < 0) a += c->rank;
    if (a < 1 || a >= c->rank) return node_err(n, "axis %lld is out of range (not the batch)",
                                               (long long)attr_i(n, "axis", -2));
    for (int d = 0; d < c->rank; d++)
        if (d != a && u->dims[d] != c->dims[d])
            return node_err(n, "update differs from past_cache outside the axis (dim %d)", d);
    if (u->dims[a] > c->dims[a]) return node_err(n, "update is longer than the cache");
    const char *m = attr_s(n, "mode", "linear");
    if (strcmp(m, "linear") && strcmp(m, "circular"))
        return node_err(n, "unknown mode '%s'", m);
    *circular = !strcmp(m, "circular");
    *axis = (int)a;
    if (n->nin > 2 && node_in(n, 2)) {
        const Type *w = &node_in(n, 2)->type;
        if (!dt_is_int(w->dt) || type_numel(w) != c->dims[0])
            return node_err(n, "write_indices must hold one integer per batch");
    }
    return 0;
}

int tensor_scatter_infer(Node *n)
{
    int axis, circ;
    if (ts_params(n, &axis, &circ)) return -1;
    const Type *c = &node_in(n, 0)->type;
    return set_out(n, 0, c->dt, c->rank, c->dims);
}

int tensor_scatter_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int axis, circ;
    if (ts_params(n, &axis, &circ)) return -1;
    const Type *c = &node_in(n, 0)->type, *u = &node_in(n, 1)->type;
    int in = lw_in(L, 0), up = lw_in(L, 1), out = lw_out(L, 0);
    int wi = n->nin > 2 && node_in(n, 2) ? lw_in(L, 2) : -1;
    int64_t total = type_numel(c);
    if (total == 0) return 0;
    int i = kfor_n(k, total, KL_PARALLEL);
    kstore(k, out, kvar(k, i), kload(k, in, kvar(k, i)));
    kend(k);
    if (type_numel(u) == 0) return 0;
    int64_t st[KIR_MAX_RANK];
    strides_of(c->rank, c->dims, st);
    int vars[KIR_MAX_RANK];
    kloops(k, u->rank, u->dims, vars);
    KExpr *start = wi >= 0 ? kcast(k, DT_IDX, kload(k, wi, kvar(k, vars[0]))) : kc_idx(k, 0);
    int pos = kdecl(k, DT_IDX, kadd(k, start, kvar(k, vars[axis])));
    if (circ) kset(k, pos, kbin(k, KB_REM, kvar(k, pos), kc_idx(k, c->dims[axis])));
    /* write_indices are run-time data: a position outside the cache writes nothing */
    kif(k, kbin(k, KB_AND, kbin(k, KB_GE, kvar(k, pos), kc_idx(k, 0)),
                kbin(k, KB_LT, kvar(k, pos), kc_idx(k, c->dims[axis]))));
    KExpr *oi = kc_idx(k, 0);
    for (int d = 0; d < c->rank; d++)
        oi = kadd(k, oi, kmuli(k, d == axis ? kvar(k, pos) : kvar(k, vars[d]), st[d]));
    kstore(k, out, oi, kload(k, up, kindex(k, u->rank, u->dims, vars)));
    kend_n(k, u->rank + 1);
    return 0;
}

/* ---- Pad ---- */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;

/* pads[d] (before) and pads[rank + d] (after) for every axis; the mode. */
static int pad_params(Node *n, const Type *x, int64_t *pads, PadMode *mode)
{
    const char *m = attr_s(n, "mode", "constant");
    if (!strcmp(m, "constant")) *mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect")) *mode = PAD_REFLECT;
    else if (!strcmp(m, "edge")) *mode = PAD_EDGE;
    else if (!strcmp(m, "wrap")) *mode = PAD_WRAP;
    else return node_err(n, "unsupported mode '%s'", m);
    int r = x->rank, cnt;
    const int64_t *pv;
    int64_t *vals, axes[KIR_MAX_RANK];
    int naxes = r;
    for (int d = 0; d < r; d++) axes[d] = d;
    if (n->opset < 11) {
        pv = attr_ints(n, n->opset < 2 ? "paddings" : "pads", &cnt);
        if (!pv) return node_err(n, "missing attribute 'pads'");
    } else {
        if (!req_in(n, 1)) return -1;
        if ((cnt = const_ints(n, 1, &vals)) < 0) return -1;
        pv = vals;
        if (n->nin > 3 && node_in(n, 3)) {
            int64_t *av;
            naxes = const_ints(n, 3, &av);
            if (naxes < 0) return -1;
            if (naxes > r) return node_err(n, "%d axes for rank %d", naxes, r);
            for (int i = 0; i < naxes; i++) {
                int a;
                if (norm_axis(n, av[i], r, &a)) return -1;
                axes[i] = a;
            }
        }
    }
    if (cnt != 2 * naxes) return node_err(n, "pads has %d entries, expected %d", cnt, 2 * naxes);
    for (int d = 0; d < 2 * r; d++) pads[d] = 0;
    for (int i = 0; i < naxes; i++) {
        pads[axes[i]] = pv[i];
        pads[r + axes[i]] = pv[naxes + i];
    }
    for (int d = 0; d < r; d++) {
        if (x->dims[d] + pads[d] + pads[r + d] < 0)
            return node_err(n, "pads remove more than axis %d holds", d);
        if (*mode != PAD_CONSTANT && x->dims[d] == 0 && (pads[d] > 0 || pads[r + d] > 0))
            return node_err(n, "cannot pad an empty axis in mode '%s'", m);
    }
    return 0;
}

int pad_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int64_t pads[2 * KIR_MAX_RANK], dims[KIR_MAX_RANK];
    PadMode mode;
    if (pad_params(n, x, pads, &mode)) return -1;
    const Value *cv = node_in(n, 2);
    if (n->opset >= 11 && cv && (cv->type.dt != x->dt || type_numel(&cv->type) != 1))
        return node_err(n, "constant_value must be one %s", dt_name(x->dt));
    for (int d = 0; d < x->rank; d++) {
        if (pads[d] > ONNXCC_MAX_DIM || pads[d] < -ONNXCC_MAX_DIM ||
            pads[x->rank + d] > ONNXCC_MAX_DIM || pads[x->rank + d] < -ONNXCC_MAX_DIM)
            return node_err(n, "pads on axis %d (%lld, %lld) exceed onnxcc's dimension limit "
                            "(2^40)", d, (long long)pads[d], (long long)pads[x->rank + d]);
        dims[d] = x->dims[d] + pads[d] + pads[x->rank + d];
        if (dims[d] < 0)
            return node_err(n, "pads on axis %d (%lld, %lld) remove more than its %lld elements",
                            d, (long long)pads[d], (long long)pads[x->rank + d],
                            (long long)x->dims[d]);
    }
    return set_out(n, 0, x->dt, x->rank, dims);
}

int pad_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int64_t pads[2 * KIR_MAX_RANK], st[KIR_MAX_RANK];
    int vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    PadMode mode;
    int r = x->rank;
    if (pad_params(n, x, pads, &mode)) return -1;
    int in = lw_in(L, 0);
    if (in < 0) return -1;
    int cin = n->opset >= 11 && node_in(n, 2) ? lw_in(L, 2) : -1;
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    strides_of(r, x->dims, st);
    kloops(k, r, y->dims, vars);
    KExpr *inside = NULL;
    for (int d = 0; d < r; d++) {
        int64_t dim = x->dims[d];
        if (pads[d] == 0 && pads[r + d] == 0) {
            src[d] = vars[d];
            continue;
        }
        int s = kdecl(k, DT_IDX, kaddi(k, kvar(k, vars[d]), -pads[d]));
        KExpr *e = NULL;
        switch (mode) {
        case PAD_CONSTANT: {
            KExpr *ok = kbin(k, KB_AND, kbin(k, KB_GE, kvar(k, s), kc_idx(k, 0)),
                             kbin(k, KB_LT, kvar(k, s), kc_idx(k, dim)));
            inside = inside ? kbin(k, KB_AND, inside, ok) : ok;
            break;
        }
        case PAD_EDGE:
            e = kbin(k, KB_MIN, kbin(k, KB_MAX, kvar(k, s), kc_idx(k, 0)), kc_idx(k, dim - 1));
            break;
        case PAD_REFLECT:
            if (dim == 1) {
                e = kc_idx(k, 0);
            } else if (pads[d] < dim && pads[r + d] < dim) {
                /* one mirror at most: s < 0 -> -s, s >= dim -> 2(dim-1) - s */
                KExpr *lo = kbin(k, KB_LT, kvar(k, s), kc_idx(k, 0));
                KExpr *hi = kbin(k, KB_GE, kvar(k, s), kc_idx(k, dim));
                e = ksel(k, lo, ksub(k, kc_idx(k, 0), kvar(k, s)),
                         ksel(k, hi, ksub(k, kc_idx(k, 2 * (dim - 1)), kvar(k, s)), kvar(k, s)));
            } else {
                /* pads wider than the axis mirror repeatedly: fold onto one period */
                int64_t p = 2 * (dim - 1);
                KExpr *m0 = kbin(k, KB_REM, kvar(k, s), kc_idx(k, p));
                int m = kdecl(k, DT_IDX, kbin(k, KB_REM, kaddi(k, m0, p), kc_idx(k, p)));
                e = ksel(k, kbin(k, KB_LT, kvar(k, m), kc_idx(k, dim)), kvar(k, m),
                         ksub(k, kc_idx(k, p), kvar(k, m)));
            }
            break;
        case PAD_WRAP: {
            KExpr *m0 = kbin(k, KB_REM, kvar(k, s), kc_idx(k, dim));
            e = kbin(k, KB_REM, kaddi(k, m0, dim), kc_idx(k, dim));
            break;
        }
        }
        src[d] = e ? kdecl(k, DT_IDX, e) : s;
    }
    KExpr *oi = kindex(k, r, y->dims, vars);
    if (inside) {
        /* the load happens only inside the input: outside it would read out of bounds */
        KExpr *cval;
        if (cin >= 0) cval = kload(k, cin, kc_idx(k, 0));
        else if (n->opset < 11) cval = kc(k, x->dt, attr_f(n, "value", 0.0f));
        else cval = kc(k, x->dt, 0);
        kif(k, inside);
        kstore(k, out, oi, kload(k, in, lin_vars(k, r, src, st)));
        kelse(k);
        kstore(k, out, kindex(k, r, y->dims, vars), cval);
        kend(k);
    } else {
        kstore(k, out, oi, kload(k, in, lin_vars(k, r, src, st)));
    }
    kend_n(k, r);
    return 0;
}

/* ---- Shape, Size: known from shapes alone ---- */

static void shape_range(Node *n, int rank, int64_t *lo, int64_t *hi)
{
    int64_t s = attr_i(n, "start", 0), e = attr_i(n, "end", rank);
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    *lo = s < 0 ? 0 : s > rank ? rank : s;
    *hi = e < 0 ? 0 : e > rank ? rank : e;
    if (*hi < *lo) *hi = *lo;
}

int shape_op_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    int64_t lo, hi;
    shape_range(n, x->rank, &lo, &hi);
    int64_t len = hi - lo;
    if (set_out(n, 0, DT_I64, 1, &len)) return -1;
    int64_t *data = pool_alloc(n->g->pool, sizeof *data * (size_t)(len ? len : 1));
    for (int64_t i = 0; i < len; i++) data[i] = x->dims[lo + i];
    node_out(n, 0)->data = data;
    return 0;
}

int size_op_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    if (set_out(n, 0, DT_I64, 0, NULL)) return -1;
    int64_t *data = pool_alloc(n->g->pool, sizeof *data);
    *data = type_numel(x);
    node_out(n, 0)->data = data;
    return 0;
}

/* Shape and Size fold in infer; this lowering exists for a back end that asks anyway. */
int known_output_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Value *v = node_out(n, 0);
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    int64_t cnt = type_numel(&v->type);
    for (int64_t i = 0; i < cnt; i++) kstore(k, out, kc_idx(k, i), const_expr(k, v, i));
    return 0;
}

/* ---- ConstantOfShape, Range, EyeLike: created from nothing but attributes ---- */

int constant_of_shape_infer(Node *n)
{
    int64_t *vals;
    if (!req_in(n, 0)) return -1;
    int cnt = const_ints(n, 0, &vals);
    if (cnt < 0) return -1;
    if (cnt > KIR_MAX_RANK) return node_err(n, "output rank %d is too large", cnt);
    const Attr *a = attr_get(n, "value");
    DType dt = DT_F32;
    if (a) {
        if (a->kind != A_TENSOR || !a->t || !a->t->data || type_numel(&a->t->type) != 1)
            return node_err(n, "attribute 'value' must be a one-element tensor");
        dt = a->t->type.dt;
        if (!dt_supported(dt)) return node_err(n, "unsupported value type %s", dt_name(dt));
    }
    for (int d = 0; d < cnt; d++)
        if (vals[d] < 0) return node_err(n, "negative dimension in shape");
    return set_out(n, 0, dt, cnt, vals);
}

int constant_of_shape_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Attr *a = attr_get(n, "value");
    const Type *y = &node_out(n, 0)->type;
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    KExpr *val = a ? const_expr(k, a->t, 0) : kc_float(k, DT_F32, 0.0);
    int64_t cnt = type_numel(y);
    if (cnt == 0) return 0;
    int i = kfor_n(k, cnt, KL_VECTOR);
    kstore(k, out, kvar(k, i), val);
    kend(k);
    return 0;
}

static int range_params(Node *n, DType *dt, int64_t *cnt)
{
    const Type *t0 = req_in(n, 0);
    if (!t0 || !req_in(n, 1) || !req_in(n, 2)) return -1;
    *dt = t0->dt;
    if (*dt != DT_F32 && *dt != DT_F64 && *dt != DT_I16 && *dt != DT_I32 && *dt != DT_I64 &&
        *dt != DT_F16 && *dt != DT_BF16)
        return node_err(n, "unsupported type %s", dt_name(*dt));
    for (int i = 0; i < 3; i++) {
        const Value *v = node_in(n, i);
        if (v->type.dt != *dt || type_numel(&v->type) != 1)
            return node_err(n, "start, limit and delta must be scalars of one type");
        if (!v->data) return node_need_const(n, v, "Range needs constant inputs");
    }
    if (dt_is_float(*dt)) {
        double s = const_elem_f(node_in(n, 0), 0), l = const_elem_f(node_in(n, 1), 0);
        double dl = const_elem_f(node_in(n, 2), 0);
        if (dl == 0 || dl != dl) return node_err(n, "delta must be nonzero");
        double c = (l - s) / dl;
        if (c != c) return node_err(n, "start/limit are not finite");
        if (c > (double)(1 << 30)) return node_err(n, "output too large");
        if (c <= 0) c = 0;   /* also keeps a huge negative count away from the int64 cast */
        int64_t ci = (int64_t)c;
        if ((double)ci < c) ci++;
        *cnt = ci > 0 ? ci : 0;
    } else {
        int64_t s = raw_i64(node_in(n, 0), 0), l = raw_i64(node_in(n, 1), 0);
        int64_t dl = raw_i64(node_in(n, 2), 0);
        if (dl == 0) return node_err(n, "delta must be nonzero");
        /* unsigned differences: limit - start may not fit in int64 */
        uint64_t diff, step;
        if (dl > 0 && l > s) diff = (uint64_t)l - (uint64_t)s, step = (uint64_t)dl;
        else if (dl < 0 && l < s) diff = (uint64_t)s - (uint64_t)l, step = 0 - (uint64_t)dl;
        else diff = 0, step = 1;
        uint64_t c = diff ? (diff - 1) / step + 1 : 0;
        if (c > (1u << 30)) return node_err(n, "output too large");
        *cnt = (int64_t)c;
    }
    return 0;
}

int range_infer(Node *n)
{
    DType dt;
    int64_t cnt;
    if (range_params(n, &dt, &cnt)) return -1;
    return set_out(n, 0, dt, 1, &cnt);
}

int range_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    DType dt;
    int64_t cnt;
    if (range_params(n, &dt, &cnt)) return -1;
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    if (cnt == 0) return 0;
    int i = kfor_n(k, cnt, KL_VECTOR);
    /* the half types: start + i * delta in float32, rounded once */
    DType ct = dt == DT_F16 || dt == DT_BF16 ? DT_F32 : dt;
    KExpr *v = kbin(k, KB_ADD, kcast(k, ct, const_expr(k, node_in(n, 0), 0)),
                    kbin(k, KB_MUL, kcast(k, ct, kvar(k, i)),
                         kcast(k, ct, const_expr(k, node_in(n, 2), 0))));
    kstore(k, out, kvar(k, i), kcast(k, dt, v));
    kend(k);
    return 0;
}

static DType eyelike_type(Node *n, const Type *x)
{
    return (DType)attr_i(n, "dtype", x->dt);
}

int eyelike_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    if (x->rank != 2) return node_err(n, "input must be 2-D");
    DType dt = eyelike_type(n, x);
    if (!dt_supported(dt)) return node_err(n, "unsupported dtype %d", (int)dt);
    return set_out(n, 0, dt, 2, x->dims);
}

int eyelike_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *y = &node_out(n, 0)->type;
    int vars[2];
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    kloops(k, 2, y->dims, vars);
    KExpr *diag = kbin(k, KB_EQ, ksub(k, kvar(k, vars[1]), kvar(k, vars[0])),
                       kc_idx(k, attr_i(n, "k", 0)));
    kstore(k, out, kindex(k, 2, y->dims, vars), ksel(k, diag, kc(k, y->dt, 1), kc(k, y->dt, 0)));
    kend_n(k, 2);
    return 0;
}

/* ---- Trilu ---- */

int trilu_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    if (x->rank < 2) return node_err(n, "input rank must be >= 2");
    const Value *kv = node_in(n, 1);
    if (kv && (kv->type.dt != DT_I64 || type_numel(&kv->type) != 1))
        return node_err(n, "k must be one int64");
    return set_out_type(n, 0, x);
}

int trilu_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *y = &node_out(n, 0)->type;
    int vars[KIR_MAX_RANK], r = y->rank;
    int in = lw_in(L, 0);
    if (in < 0) return -1;
    int kin = node_in(n, 1) ? lw_in(L, 1) : -1;
    int out = lw_out(L, 0);
    if (out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    kloops(k, r, y->dims, vars);
    KExpr *kk = kin >= 0 ? kcast(k, DT_IDX, kload(k, kin, kc_idx(k, 0))) : kc_idx(k, 0);
    KExpr *diff = ksub(k, kvar(k, vars[r - 1]), kvar(k, vars[r - 2]));
    /* upper keeps j - i >= k, lower keeps j - i <= k */
    KExpr *keep = kbin(k, attr_i(n, "upper", 1) ? KB_GE : KB_LE, diff, kk);
    KExpr *oi = kindex(k, r, y->dims, vars);
    kstore(k, out, oi, ksel(k, keep, kload(k, in, kindex(k, r, y->dims, vars)), kc(k, y->dt, 0)));
    kend_n(k, r);
    return 0;
}

/* ---- DepthToSpace, SpaceToDepth ---- */

int depth_space_infer(Node *n)
{
    const Type *x = req_in(n, 0);
    if (!x) return -1;
    if (x->rank != 4) return node_err(n, "input must be 4-D (NCHW)");
    int64_t b = attr_i(n, "blocksize", 0);
    if (b <= 0) return node_err(n, "blocksize must be positive");
    int64_t dims[4] = { x->dims[0], 0, 0, 0 };
    if (n->op == OP_DepthToSpace) {
        const char *mode = attr_s(n, "mode", "DCR");
        if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
            return node_err(n, "unsupported mode '%s'", mode);
        if (x->dims[1] % (b * b))
            return node_err(n, "channels %lld not divisible by blocksize^2", (long long)x->dims[1]);
        dims[1] = x->dims[1] / (b * b);
        dims[2] = x->dims[2] * b;
        dims[3] = x->dims[3] * b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return node_err(n, "spatial dims not divisible by blocksize %lld", (long long)b);
        dims[1] = x->dims[1] * b * b;
        dims[2] = x->dims[2] / b;
        dims[3] = x->dims[3] / b;
    }
    return set_out(n, 0, x->dt, 4, dims);
}

/* Both are 6-D transposes: the spatial tensor viewed as [N, C, H, b, W, b] against the
 * depth tensor viewed as [N, b, b, C, H, W] (DCR) or [N, C, b, b, H, W] (CRD). */
int depth_space_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int d2s = n->op == OP_DepthToSpace;
    const Type *sp = d2s ? &node_out(n, 0)->type : &node_in(n, 0)->type;
    int64_t b = attr_i(n, "blocksize", 1);
    int crd = d2s && !strcmp(attr_s(n, "mode", "DCR"), "CRD");
    int64_t N = sp->dims[0], C = sp->dims[1], H = sp->dims[2] / b, W = sp->dims[3] / b;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (type_numel(sp) == 0) return 0;
    int64_t sdims[6] = { N, C, H, b, W, b };
    int v[6]; /* n, c, h, i, w, j */
    kloops(k, 6, sdims, v);
    int dvars[6];
    int64_t ddims[6];
    if (crd) {
        int64_t dd[6] = { N, C, b, b, H, W };
        int dv[6] = { v[0], v[1], v[3], v[5], v[2], v[4] };
        memcpy(ddims, dd, sizeof dd);
        memcpy(dvars, dv, sizeof dv);
    } else {
        int64_t dd[6] = { N, b, b, C, H, W };
        int dv[6] = { v[0], v[3], v[5], v[1], v[2], v[4] };
        memcpy(ddims, dd, sizeof dd);
        memcpy(dvars, dv, sizeof dv);
    }
    KExpr *si = kindex(k, 6, sdims, v), *di = kindex(k, 6, ddims, dvars);
    if (d2s) kstore(k, out, si, kload(k, in, di));
    else kstore(k, out, di, kload(k, in, si));
    kend_n(k, 6);
    return 0;
}

/* ---- OneHot, Compress ---- */

static int onehot_params(Node *n, int *axis, int64_t *depth)
{
    const Type *ind = req_in(n, 0), *dt = req_in(n, 1), *vt = req_in(n, 2);
    if (!ind || !dt || !vt) return -1;
    if (type_numel(dt) != 1) return node_err(n, "depth must have one element");
    if (!node_in(n, 1)->data)
        return node_need_const(n, node_in(n, 1), "depth must be a compile-time constant");
    if (type_numel(vt) != 2) return node_err(n, "values must have two elements");
    double d = const_elem_f(node_in(n, 1), 0);
    if (!(d >= 1 && d <= (double)(1 << 30))) return node_err(n, "invalid depth %g", d);
    *depth = (int64_t)d;
    if (ind->rank + 1 > KIR_MAX_RANK) return node_err(n, "output rank too large");
    return norm_axis(n, attr_i(n, "axis", -1), ind->rank + 1, axis);
}

int onehot_infer(Node *n)
{
    int axis;
    int64_t depth, dims[KIR_MAX_RANK];
    if (onehot_params(n, &axis, &depth)) return -1;
    const Type *ind = &node_in(n, 0)->type;
    for (int d = 0, s = 0; d <= ind->rank; d++) dims[d] = d == axis ? depth : ind->dims[s++];
    return set_out(n, 0, node_in(n, 2)->type.dt, ind->rank + 1, dims);
}

int onehot_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int axis, vars[KIR_MAX_RANK], ivars[KIR_MAX_RANK];
    int64_t depth;
    if (onehot_params(n, &axis, &depth)) return -1;
    const Type *ind = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int iin = lw_in(L, 0), vin = lw_in(L, 2), out = lw_out(L, 0);
    if (iin < 0 || vin < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    kloops(k, y->rank, y->dims, vars);
    for (int d = 0, s = 0; d < y->rank; d++)
        if (d != axis) ivars[s++] = vars[d];
    int ix = index_var(k, kload(k, iin, kindex(k, ind->rank, ind->dims, ivars)), depth, 1);
    KExpr *hot = kbin(k, KB_EQ, kvar(k, ix), kvar(k, vars[axis]));
    kstore(k, out, kindex(k, y->rank, y->dims, vars),
           ksel(k, hot, kload(k, vin, kc_idx(k, 1)), kload(k, vin, kc_idx(k, 0))));
    kend_n(k, y->rank);
    return 0;
}

/* The selected positions along the axis (the input flattened when axis is absent). */
static int compress_params(Node *n, int *axis, int64_t *len, int64_t **sel, int64_t *nsel)
{
    const Type *x = req_in(n, 0), *c = req_in(n, 1);
    if (!x || !c) return -1;
    const Value *cv = node_in(n, 1);
    if (c->rank != 1) return node_err(n, "condition must be 1-D");
    if (!cv->data) return node_need_const(n, cv, "condition must be a compile-time constant");
    *axis = -1;
    *len = type_numel(x);
    if (attr_get(n, "axis")) {
        if (norm_axis(n, attr_i(n, "axis", 0), x->rank, axis)) return -1;
        *len = x->dims[*axis];
    }
    int64_t m = c->dims[0] < *len ? c->dims[0] : *len;
    *sel = pool_alloc(n->g->pool, sizeof **sel * (size_t)(m ? m : 1));
    *nsel = 0;
    for (int64_t i = 0; i < m; i++)
        if (const_elem_f(cv, i) != 0) (*sel)[(*nsel)++] = i;
    return 0;
}

int compress_infer(Node *n)
{
    int axis;
    int64_t len, *sel, nsel;
    if (compress_params(n, &axis, &len, &sel, &nsel)) return -1;
    const Type *x = &node_in(n, 0)->type;
    if (axis < 0) return set_out(n, 0, x->dt, 1, &nsel);
    Type t = *x;
    t.dims[axis] = nsel;
    return set_out_type(n, 0, &t);
}

int compress_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int axis, vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    int64_t len, *sel, nsel, st[KIR_MAX_RANK];
    if (compress_params(n, &axis, &len, &sel, &nsel)) return -1;
    const Type *x = &node_in(n, 0)->type, *y = &node_out(n, 0)->type;
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (type_numel(y) == 0) return 0;
    /* a position table: the selection is known now, the data only at run time */
    int tab = lw_temp(L, DT_I64, nsel);
    if (tab < 0) return -1;
    for (int64_t i = 0; i < nsel; i++) kstore(k, tab, kc_idx(k, i), kc_int(k, DT_I64, sel[i]));
    int r = axis < 0 ? 1 : x->rank;
    int64_t flat[1] = { len };
    const int64_t *xd = axis < 0 ? flat : x->dims;
    int a = axis < 0 ? 0 : axis;
    strides_of(r, xd, st);
    kloops(k, r, y->dims, vars);
    memcpy(src, vars, sizeof src);
    src[a] = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, tab, kvar(k, vars[a]))));
    kstore(k, out, kindex(k, r, y->dims, vars), kload(k, in, lin_vars(k, r, src, st)));
    kend_n(k, r);
    return 0;
}

/* ---- Scatter, ScatterElements, ScatterND ---- */

static int scatter_reduction(Node *n, KBinOp *op, int *has)
{
    const char *red = attr_s(n, "reduction", "none");
    *has = 1;
    if (!strcmp(red, "none")) *has = 0;
    else if (!strcmp(red, "add")) *op = KB_ADD;
    else if (!strcmp(red, "mul")) *op = KB_MUL;
    else if (!strcmp(red, "max")) *op = KB_MAX;
    else if (!strcmp(red, "min")) *op = KB_MIN;
    else return node_err(n, "unsupported reduction '%s'", red);
    return 0;
}

int scatter_elements_infer(Node *n)
{
    const Type *x = req_in(n, 0), *ind = req_in(n, 1), *upd = req_in(n, 2);
    if (!x || !ind || !upd) return -1;
    if (!is_index_type(ind->dt)) return node_err(n, "indices must be int32 or int64");
    if (upd->dt != x->dt) return node_err(n, "updates type differs from data");
    if (x->rank == 0 || ind->rank != x->rank || upd->rank != ind->rank)
        return node_err(n, "indices and updates must have the data's rank");
    for (int d = 0; d < ind->rank; d++)
        if (ind->dims[d] != upd->dims[d]) return node_err(n, "indices and updates shapes differ");
    int axis, has;
    KBinOp op;
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis)) return -1;
    if (scatter_reduction(n, &op, &has)) return -1;
    if (has && x->dt == DT_BOOL) return node_err(n, "reduction on bool data");
    if (check_const_indices(n, 1, x->dims[axis])) return -1;
    return set_out_type(n, 0, x);
}

int scatter_elements_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *ind = &node_in(n, 1)->type;
    int axis, has, vars[KIR_MAX_RANK], dst[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK];
    KBinOp op = KB_ADD;
    norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis);
    if (scatter_reduction(n, &op, &has)) return -1;
    int in = lw_in(L, 0), iin = lw_in(L, 1), uin = lw_in(L, 2), out = lw_out(L, 0);
    if (in < 0 || iin < 0 || uin < 0 || out < 0) return -1;
    int64_t cnt = type_numel(x);
    if (cnt > 0) {
        int i = kfor_n(k, cnt, KL_VECTOR);
        kstore(k, out, kvar(k, i), kload(k, in, kvar(k, i)));
        kend(k);
    }
    if (type_numel(ind) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    /* serial: duplicate indices make later updates win (or accumulate) in order */
    for (int d = 0; d < ind->rank; d++) vars[d] = kfor_n(k, ind->dims[d], KL_SERIAL);
    KExpr *ui = kindex(k, ind->rank, ind->dims, vars);
    int ix = index_var(k, kload(k, iin, ui), x->dims[axis], 1);
    memcpy(dst, vars, sizeof dst);
    dst[axis] = ix;
    int o = kdecl(k, DT_IDX, lin_vars(k, x->rank, dst, st));
    KExpr *val = kload(k, uin, kindex(k, ind->rank, ind->dims, vars));
    if (has) val = kbin(k, op, kload(k, out, kvar(k, o)), val);
    kstore(k, out, kvar(k, o), val);
    kend_n(k, ind->rank);
    return 0;
}

int scatter_nd_infer(Node *n)
{
    const Type *x = req_in(n, 0), *ind = req_in(n, 1), *upd = req_in(n, 2);
    if (!x || !ind || !upd) return -1;
    if (!is_index_type(ind->dt)) return node_err(n, "indices must be int32 or int64");
    if (upd->dt != x->dt) return node_err(n, "updates type differs from data");
    if (x->rank < 1 || ind->rank < 1) return node_err(n, "data and indices need rank >= 1");
    int64_t kk = ind->dims[ind->rank - 1];
    if (kk < 1 || kk > x->rank)
        return node_err(n, "last indices dimension %lld must be in 1..%d", (long long)kk, x->rank);
    int64_t want[KIR_MAX_RANK];
    int r = 0;
    for (int d = 0; d < ind->rank - 1; d++) want[r++] = ind->dims[d];
    for (int d = (int)kk; d < x->rank; d++) {
        if (r >= KIR_MAX_RANK) return node_err(n, "updates rank too large");
        want[r++] = x->dims[d];
    }
    if (upd->rank != r) return node_err(n, "updates rank %d, expected %d", upd->rank, r);
    for (int d = 0; d < r; d++)
        if (upd->dims[d] != want[d]) return node_err(n, "updates shape does not match");
    int has;
    KBinOp op;
    if (scatter_reduction(n, &op, &has)) return -1;
    if (has && x->dt == DT_BOOL) return node_err(n, "reduction on bool data");
    if (check_const_tuples(n, 1, x->dims)) return -1;
    return set_out_type(n, 0, x);
}

int scatter_nd_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *ind = &node_in(n, 1)->type, *upd = &node_in(n, 2)->type;
    int has, q = ind->rank, kk = (int)ind->dims[q - 1];
    int uvars[KIR_MAX_RANK], dst[KIR_MAX_RANK];
    int64_t st[KIR_MAX_RANK], ist[KIR_MAX_RANK];
    KBinOp op = KB_ADD;
    if (scatter_reduction(n, &op, &has)) return -1;
    int in = lw_in(L, 0), iin = lw_in(L, 1), uin = lw_in(L, 2), out = lw_out(L, 0);
    if (in < 0 || iin < 0 || uin < 0 || out < 0) return -1;
    int64_t cnt = type_numel(x);
    if (cnt > 0) {
        int i = kfor_n(k, cnt, KL_VECTOR);
        kstore(k, out, kvar(k, i), kload(k, in, kvar(k, i)));
        kend(k);
    }
    if (type_numel(upd) == 0) return 0;
    strides_of(x->rank, x->dims, st);
    strides_of(q, ind->dims, ist);
    for (int d = 0; d < q - 1; d++) uvars[d] = kfor_n(k, ind->dims[d], KL_SERIAL);
    int ibase = kdecl(k, DT_IDX, lin_vars(k, q - 1, uvars, ist));
    for (int j = 0; j < kk; j++)
        dst[j] = index_var(k, kload(k, iin, kaddi(k, kvar(k, ibase), j)), x->dims[j], 1);
    for (int d = kk; d < x->rank; d++) {
        uvars[q - 1 + d - kk] = kfor_n(k, x->dims[d], KL_SERIAL);
        dst[d] = uvars[q - 1 + d - kk];
    }
    int o = kdecl(k, DT_IDX, lin_vars(k, x->rank, dst, st));
    KExpr *val = kload(k, uin, kindex(k, upd->rank, upd->dims, uvars));
    if (has) val = kbin(k, op, kload(k, out, kvar(k, o)), val);
    kstore(k, out, kvar(k, o), val);
    kend_n(k, q - 1 + x->rank - kk);
    return 0;
}

/* ---- ReverseSequence ---- */

int reverse_sequence_infer(Node *n)
{
    const Type *x = req_in(n, 0), *len = req_in(n, 1);
    if (!x || !len) return -1;
    if (x->rank < 2) return node_err(n, "input rank must be >= 2");
    int64_t ba = attr_i(n, "batch_axis", 1), ta = attr_i(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return node_err(n, "batch_axis/time_axis must be 0 and 1 in some order");
    if (!is_index_type(len->dt) || len->rank != 1 || len->dims[0] != x->dims[ba])
        return node_err(n, "sequence_lens must be int64[%lld]", (long long)x->dims[ba]);
    return set_out_type(n, 0, x);
}

int reverse_sequence_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type;
    int ba = (int)attr_i(n, "batch_axis", 1), ta = (int)attr_i(n, "time_axis", 0);
    int vars[KIR_MAX_RANK], src[KIR_MAX_RANK];
    int in = lw_in(L, 0), lin = lw_in(L, 1), out = lw_out(L, 0);
    if (in < 0 || lin < 0 || out < 0) return -1;
    if (type_numel(x) == 0) return 0;
    kloops(k, x->rank, x->dims, vars);
    int len = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, lin, kvar(k, vars[ba]))));
    /* the first len steps of each batch run backwards, the rest stay */
    KExpr *rev = kbin(k, KB_LT, kvar(k, vars[ta]), kvar(k, len));
    KExpr *back = ksub(k, kaddi(k, kvar(k, len), -1), kvar(k, vars[ta]));
    memcpy(src, vars, sizeof src);
    src[ta] = kdecl(k, DT_IDX, ksel(k, rev, back, kvar(k, vars[ta])));
    int64_t st[KIR_MAX_RANK];
    strides_of(x->rank, x->dims, st);
    kstore(k, out, kindex(k, x->rank, x->dims, vars), kload(k, in, lin_vars(k, x->rank, src, st)));
    kend_n(k, x->rank);
    return 0;
}
