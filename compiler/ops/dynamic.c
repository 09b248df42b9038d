/* dynamic.c — operators whose output size depends on data (NonZero), and the consumers
 * that accept such a tensor (Gather with data-dependent indices).
 *
 * One representation for every back end (DESIGN.md section 8): the output Value keeps its
 * static upper bound in type.dims with the bounded dims marked in Value.dyn; the program
 * tensor is sized by the bound and carries a companion int64[rank] tensor into which the
 * run writes the real dims (KTensor.dims_t). Data is dense row-major in the real dims, so
 * a graph output reads like any ONNX tensor once its dims array is known. Loops stay over
 * the static bounds with a guard on the real extent: no loop bound is read from data, so
 * HLS keeps its constant trip counts and the NVPTX mapping its static launch sizes. */
#include <string.h>
#include "../onnxcc.h"

int op_takes_dyn(const Node *n, int input)
{
    switch (n->op) {
    case OP_Gather: {
        const Value *x = node_in(n, 0);
        return input == 1 && x && !x->dyn;
    }
    default:
        return 0;
    }
}

/* ---- NonZero ----
 * Output int64[rank, count]: the coordinates of the non-zero elements in row-major order.
 * Bound: count <= the input's element count. A constant input folds here, exactly. */

static int is_nonzero_at(const Value *x, int64_t i)
{
    return const_elem_f(x, i) != 0;
}

int nonzero_infer(Node *n)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input 0");
    if (x->type.rank < 1) return node_err(n, "a scalar input is not supported (rank >= 1)");
    if (x->dyn) return node_err(n, "input '%s' already has a data-dependent size", x->name);
    int r = x->type.rank;
    int64_t numel = type_numel(&x->type), st[KIR_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        st[d] = s;
        s *= x->type.dims[d];
    }
    if (x->data) {
        int64_t cnt = 0;
        for (int64_t i = 0; i < numel; i++) cnt += is_nonzero_at(x, i);
        int64_t dims[2] = { r, cnt };
        if (set_out(n, 0, DT_I64, 2, dims)) return -1;
        int64_t *o = pool_alloc(n->g->pool, sizeof *o * (size_t)(r * cnt + 1));
        int64_t j = 0;
        for (int64_t i = 0; i < numel; i++) {
            if (!is_nonzero_at(x, i)) continue;
            for (int d = 0; d < r; d++) o[d * cnt + j] = i / st[d] % x->type.dims[d];
            j++;
        }
        node_out(n, 0)->data = o;
        return 0;
    }
    int64_t dims[2] = { r, numel };
    if (set_out(n, 0, DT_I64, 2, dims)) return -1;
    node_out(n, 0)->dyn = 1u << 1;
    return 0;
}

int nonzero_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type;
    int in = lw_in(L, 0), out = lw_out(L, 0), od = lw_out_dims(L, 0);
    if (in < 0 || out < 0 || od < 0) return -1;
    int r = x->rank;
    int64_t numel = type_numel(x), st[KIR_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        st[d] = s;
        s *= x->dims[d];
    }
    /* two passes: the count first, since row d of the output starts at d * count */
    int cnt = kdecl(k, DT_IDX, kc_idx(k, 0));
    if (numel > 0) {
        int i = kfor_n(k, numel, KL_REDUCE);
        kif(k, kbin(k, KB_NE, kload(k, in, kvar(k, i)), kc(k, x->dt, 0)));
        kset(k, cnt, kaddi(k, kvar(k, cnt), 1));
        kend_n(k, 2);
        int j = kdecl(k, DT_IDX, kc_idx(k, 0));
        i = kfor_n(k, numel, KL_SERIAL);
        kif(k, kbin(k, KB_NE, kload(k, in, kvar(k, i)), kc(k, x->dt, 0)));
        for (int d = 0; d < r; d++) {
            KExpr *c = kvar(k, i);
            if (st[d] != 1) c = kbin(k, KB_DIV, c, kc_idx(k, st[d]));
            if (d > 0) c = kbin(k, KB_REM, c, kc_idx(k, x->dims[d]));
            kstore(k, out, kadd(k, kmuli(k, kvar(k, cnt), d), kvar(k, j)), kcast(k, DT_I64, c));
        }
        kset(k, j, kaddi(k, kvar(k, j), 1));
        kend_n(k, 2);
    }
    kstore(k, od, kc_idx(k, 0), kc_int(k, DT_I64, r));
    kstore(k, od, kc_idx(k, 1), kcast(k, DT_I64, kvar(k, cnt)));
    return 0;
}

/* ---- Gather with data-dependent indices ----
 * y = data.shape[:axis] + indices.shape + data.shape[axis+1:], bounded where the indices
 * are. Loops over the bounds; an element exists where every indices coordinate is below
 * its real extent. */

/* row-major linear index of vars[0..rank) in dims given as expressions */
static KExpr *lin_dyn(KB *k, int rank, const int *vars, KExpr *const *dims)
{
    KExpr *e = kc_idx(k, 0);
    for (int d = 0; d < rank; d++) e = kadd(k, kmul(k, e, dims[d]), kvar(k, vars[d]));
    return e;
}

int gather_dyn_infer(Node *n)
{
    const Value *ind = node_in(n, 1);
    Value *y = node_out(n, 0);
    int axis;
    if (norm_axis(n, attr_i(n, "axis", 0), node_in(n, 0)->type.rank, &axis)) return -1;
    y->dyn = ind->dyn << axis;
    return 0;
}

int gather_dyn_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = &node_in(n, 0)->type, *ind = &node_in(n, 1)->type, *y = &node_out(n, 0)->type;
    int axis;
    if (norm_axis(n, attr_i(n, "axis", 0), x->rank, &axis)) return -1;
    int in = lw_in(L, 0), iin = lw_in(L, 1), idims = lw_in_dims(L, 1), out = lw_out(L, 0),
        odims = lw_out_dims(L, 0);
    if (in < 0 || iin < 0 || idims < 0 || out < 0 || odims < 0) return -1;
    /* expressions are trees: each use gets its own node (idim/ydim rebuilt per use) */
    int iv_dim[KIR_MAX_RANK];
    KExpr *idim[KIR_MAX_RANK], *ydim[KIR_MAX_RANK];
    for (int d = 0; d < ind->rank; d++)
        iv_dim[d] = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, idims, kc_idx(k, d))));
#define DIMS_NOW()                                                                           \
    for (int e = 0; e < y->rank; e++) {                                                      \
        int d = e - axis;                                                                    \
        ydim[e] = d >= 0 && d < ind->rank ? kvar(k, iv_dim[d]) : kc_idx(k, y->dims[e]);      \
    }                                                                                        \
    for (int d = 0; d < ind->rank; d++) idim[d] = kvar(k, iv_dim[d])
    DIMS_NOW();
    for (int e = 0; e < y->rank; e++) kstore(k, odims, kc_idx(k, e), kcast(k, DT_I64, ydim[e]));
    if (type_numel(y) == 0) return 0;
    int64_t st[KIR_MAX_RANK], s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        st[d] = s;
        s *= x->dims[d];
    }
    int vars[KIR_MAX_RANK];
    kloops(k, y->rank, y->dims, vars);
    KExpr *inside = NULL;
    DIMS_NOW();
    for (int d = 0; d < ind->rank; d++) {
        KExpr *c = kbin(k, KB_LT, kvar(k, vars[axis + d]), idim[d]);
        inside = inside ? kbin(k, KB_AND, inside, c) : c;
    }
    if (inside) kif(k, inside);
    DIMS_NOW();
    int iv = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, iin, lin_dyn(k, ind->rank, vars + axis,
                                                                      idim))));
    KExpr *neg = kbin(k, KB_LT, kvar(k, iv), kc_idx(k, 0));
    KExpr *ix = ksel(k, neg, kaddi(k, kvar(k, iv), x->dims[axis]), kvar(k, iv));
    KExpr *src = kc_idx(k, 0);
    for (int d = 0; d < x->rank; d++) {
        KExpr *c = d < axis ? kvar(k, vars[d]) : d == axis ? ix : kvar(k, vars[d - 1 + ind->rank]);
        src = kadd(k, src, kmuli(k, c, st[d]));
    }
    DIMS_NOW();
#undef DIMS_NOW
    kstore(k, out, lin_dyn(k, y->rank, vars, ydim), kload(k, in, src));
    if (inside) kend(k);
    kend_n(k, y->rank);
    return 0;
}

/* ---- NonMaxSuppression (opset 10, 11) ----
 * selected_indices int64[num_selected, 3], rows (batch, class, box) in batch, class, then
 * selection order. Bound: batches * classes * min(max_output_boxes_per_class, boxes).
 * max_output_boxes_per_class, iou_threshold and score_threshold are compile-time values.
 * Per batch and class, boxes are taken by descending score (equal scores: lower index
 * first, as the ONNX reference and ONNX Runtime order them), a candidate needs
 * score > score_threshold when one is given, and is dropped when its IoU with a box
 * already selected for this class is above iou_threshold. The boxes selected so far are
 * read back from the output itself, so the lowering needs no scratch. */

typedef struct NmsParams {
    int64_t nb, nc, nbox, kmax; /* batches, classes, boxes, min(max_output, boxes) */
    double iou, sthr;
    int has_sthr, cpb;
} NmsParams;

static int nms_const_scalar(Node *n, int i, const char *what, int want_int, double *out)
{
    Value *v = node_in(n, i);
    if (!v) return 1; /* absent: the default */
    if (v->dyn) return node_err(n, "%s has a data-dependent size", what);
    if (want_int ? !dt_is_int(v->type.dt) : !dt_is_float(v->type.dt))
        return node_err(n, "%s must be a %s tensor, not %s", what, want_int ? "int64" : "float",
                        dt_name(v->type.dt));
    if (type_numel(&v->type) != 1)
        return node_err(n, "%s must have one element, not %lld", what,
                        (long long)type_numel(&v->type));
    if (!v->data)
        return node_need_const(n, v, "%s must be a compile-time constant (initializer or "
                                     "folded value): the output's bound depends on it", what);
    *out = const_elem_f(v, 0);
    return 0;
}

static int nms_params(Node *n, NmsParams *p)
{
    const Value *bx = node_in(n, 0), *sc = node_in(n, 1);
    if (!bx || !sc) return node_err(n, "missing input %s", bx ? "scores" : "boxes");
    if (bx->dyn || sc->dyn)
        return node_err(n, "input '%s' has a data-dependent size, which NonMaxSuppression "
                           "does not take", bx->dyn ? bx->name : sc->name);
    if (!dt_is_float(bx->type.dt) || sc->type.dt != bx->type.dt)
        return node_err(n, "boxes and scores must be float tensors of one type (got %s and %s)",
                        dt_name(bx->type.dt), dt_name(sc->type.dt));
    if (bx->type.rank != 3 || bx->type.dims[2] != 4)
        return node_err(n, "boxes must be [num_batches, spatial_dimension, 4]");
    if (sc->type.rank != 3 || sc->type.dims[0] != bx->type.dims[0] ||
        sc->type.dims[2] != bx->type.dims[1])
        return node_err(n, "scores must be [num_batches, num_classes, spatial_dimension] = "
                           "[%lld, C, %lld]", (long long)bx->type.dims[0],
                        (long long)bx->type.dims[1]);
    p->nb = bx->type.dims[0];
    p->nbox = bx->type.dims[1];
    p->nc = sc->type.dims[1];
    int64_t cpb = attr_i(n, "center_point_box", 0);
    if (cpb != 0 && cpb != 1)
        return node_err(n, "center_point_box = %lld (must be 0 or 1)", (long long)cpb);
    p->cpb = (int)cpb;
    double m = 0, iou = 0, st = 0;
    int r;
    if ((r = nms_const_scalar(n, 2, "max_output_boxes_per_class", 1, &m)) < 0) return -1;
    if ((r = nms_const_scalar(n, 3, "iou_threshold", 0, &iou)) < 0) return -1;
    if ((r = nms_const_scalar(n, 4, "score_threshold", 0, &st)) < 0) return -1;
    p->has_sthr = r == 0;
    if (m < 0)
        return node_err(n, "max_output_boxes_per_class = %lld is negative", (long long)m);
    if (!(iou >= 0 && iou <= 1))
        return node_err(n, "iou_threshold = %g is outside [0, 1]", iou);
    p->kmax = (int64_t)m < p->nbox ? (int64_t)m : p->nbox;
    p->iou = iou;
    p->sthr = st;
    return 0;
}

int nms_infer(Node *n)
{
    NmsParams p;
    if (nms_params(n, &p)) return -1;
    int64_t dims[2] = { p.nb * p.nc * p.kmax, 3 };
    if (set_out(n, 0, DT_I64, 2, dims)) return -1;
    node_out(n, 0)->dyn = 1u << 0;
    return 0;
}

/* the extent on one axis of the box at element `base` (a DT_IDX var): lo/hi variables of type t */
static void nms_extent(KB *k, int B, int base, int cpb, int axis, DType t, int *lo, int *hi)
{
    if (cpb) { /* [x_center, y_center, width, height]; axis 0 = x */
        int c = kdecl(k, t, kload(k, B, kaddi(k, kvar(k, base), axis)));
        int h = kdecl(k, t, kbin(k, KB_DIV, kload(k, B, kaddi(k, kvar(k, base), axis + 2)), kc(k, t, 2)));
        *lo = kdecl(k, t, kbin(k, KB_SUB, kvar(k, c), kvar(k, h)));
        *hi = kdecl(k, t, kbin(k, KB_ADD, kvar(k, c), kvar(k, h)));
    } else {   /* [y1, x1, y2, x2], any diagonal pair; axis 0 = y */
        int a = kdecl(k, t, kload(k, B, kaddi(k, kvar(k, base), axis)));
        int b = kdecl(k, t, kload(k, B, kaddi(k, kvar(k, base), axis + 2)));
        *lo = kdecl(k, t, kbin(k, KB_MIN, kvar(k, a), kvar(k, b)));
        *hi = kdecl(k, t, kbin(k, KB_MAX, kvar(k, a), kvar(k, b)));
    }
}

int nms_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    NmsParams p;
    if (nms_params(n, &p)) return -1;
    DType t = node_in(n, 0)->type.dt;
    int Bx = lw_in(L, 0), S = lw_in(L, 1), out = lw_out(L, 0), od = lw_out_dims(L, 0);
    if (Bx < 0 || S < 0 || out < 0 || od < 0) return -1;
    int total = kdecl(k, DT_IDX, kc_idx(k, 0));
    if (p.nb * p.nc * p.kmax > 0) {
        int bb = kfor_n(k, p.nb, KL_SERIAL), cc = kfor_n(k, p.nc, KL_SERIAL);
        int start = kdecl(k, DT_IDX, kvar(k, total)), cnt = kdecl(k, DT_IDX, kc_idx(k, 0));
        int sbase = kdecl(k, DT_IDX, kmuli(k, kadd(k, kmuli(k, kvar(k, bb), p.nc), kvar(k, cc)),
                                           p.nbox));
        int bbase = kdecl(k, DT_IDX, kmuli(k, kvar(k, bb), p.nbox * 4));
        /* previous pick (pv, pi); pi = -1 before the first */
        int pv = kdecl(k, t, kc(k, t, 0)), pi = kdecl(k, DT_IDX, kc_idx(k, -1));
        kfor_n(k, p.nbox, KL_SERIAL);
        kif(k, kbin(k, KB_LT, kvar(k, cnt), kc_idx(k, p.kmax)));
        int bv = kdecl(k, t, kc(k, t, 0)), bi = kdecl(k, DT_IDX, kc_idx(k, -1));
        int j = kfor_n(k, p.nbox, KL_REDUCE);
        int xv = kdecl(k, t, kload(k, S, kadd(k, kvar(k, sbase), kvar(k, j))));
        /* ordered after the previous pick: lower score, or equal score and higher index */
        KExpr *after = kbin(k, KB_OR, kbin(k, KB_LT, kvar(k, pi), kc_idx(k, 0)),
                            kbin(k, KB_OR, kbin(k, KB_GT, kvar(k, pv), kvar(k, xv)),
                                 kbin(k, KB_AND, kbin(k, KB_EQ, kvar(k, xv), kvar(k, pv)),
                                      kbin(k, KB_GT, kvar(k, j), kvar(k, pi)))));
        if (p.has_sthr)
            after = kbin(k, KB_AND, after, kbin(k, KB_GT, kvar(k, xv), kc(k, t, p.sthr)));
        kif(k, kbin(k, KB_AND, after,
                    kbin(k, KB_OR, kbin(k, KB_LT, kvar(k, bi), kc_idx(k, 0)),
                         kbin(k, KB_GT, kvar(k, xv), kvar(k, bv)))));
        kset(k, bv, kvar(k, xv));
        kset(k, bi, kvar(k, j));
        kend_n(k, 2); /* if, j */
        kif(k, kbin(k, KB_GE, kvar(k, bi), kc_idx(k, 0)));
        kset(k, pv, kvar(k, bv));
        kset(k, pi, kvar(k, bi));
        int keep = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 1));
        int lo1[2], hi1[2];
        int at1 = kdecl(k, DT_IDX, kadd(k, kvar(k, bbase), kmuli(k, kvar(k, bi), 4)));
        for (int a = 0; a < 2; a++) nms_extent(k, Bx, at1, p.cpb, a, t, &lo1[a], &hi1[a]);
        int area1 = kdecl(k, t, kbin(k, KB_MUL, kbin(k, KB_SUB, kvar(k, hi1[0]), kvar(k, lo1[0])),
                                     kbin(k, KB_SUB, kvar(k, hi1[1]), kvar(k, lo1[1]))));
        int q = kfor_n(k, p.kmax, KL_SERIAL);
        kif(k, kbin(k, KB_AND, kbin(k, KB_LT, kvar(k, q), kvar(k, cnt)), kvar(k, keep)));
        int oi = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, out, kaddi(k, kmuli(k, kadd(k,
                                         kvar(k, start), kvar(k, q)), 3), 2))));
        int lo2[2], hi2[2], ext[2];
        int at2 = kdecl(k, DT_IDX, kadd(k, kvar(k, bbase), kmuli(k, kvar(k, oi), 4)));
        for (int a = 0; a < 2; a++) {
            nms_extent(k, Bx, at2, p.cpb, a, t, &lo2[a], &hi2[a]);
            ext[a] = kdecl(k, t, kbin(k, KB_SUB,
                                      kbin(k, KB_MIN, kvar(k, hi1[a]), kvar(k, hi2[a])),
                                      kbin(k, KB_MAX, kvar(k, lo1[a]), kvar(k, lo2[a]))));
        }
        int area2 = kdecl(k, t, kbin(k, KB_MUL, kbin(k, KB_SUB, kvar(k, hi2[0]), kvar(k, lo2[0])),
                                     kbin(k, KB_SUB, kvar(k, hi2[1]), kvar(k, lo2[1]))));
        int inter = kdecl(k, t, kbin(k, KB_MUL, kvar(k, ext[0]), kvar(k, ext[1])));
        int uni = kdecl(k, t, kbin(k, KB_SUB, kbin(k, KB_ADD, kvar(k, area1), kvar(k, area2)),
                                   kvar(k, inter)));
        KExpr *valid = kbin(k, KB_AND, kbin(k, KB_GT, kvar(k, ext[0]), kc(k, t, 0)),
                            kbin(k, KB_GT, kvar(k, ext[1]), kc(k, t, 0)));
        valid = kbin(k, KB_AND, valid, kbin(k, KB_GT, kvar(k, area1), kc(k, t, 0)));
        valid = kbin(k, KB_AND, valid, kbin(k, KB_GT, kvar(k, area2), kc(k, t, 0)));
        valid = kbin(k, KB_AND, valid, kbin(k, KB_GT, kvar(k, uni), kc(k, t, 0)));
        kif(k, valid);
        /* only reached with union > 0 */
        kif(k, kbin(k, KB_GT, kbin(k, KB_DIV, kvar(k, inter), kvar(k, uni)), kc(k, t, p.iou)));
        kset(k, keep, kc_int(k, DT_BOOL, 0));
        kend_n(k, 4); /* iou, valid, if q < cnt, q */
        kif(k, kvar(k, keep));
        kstore(k, out, kmuli(k, kvar(k, total), 3), kcast(k, DT_I64, kvar(k, bb)));
        kstore(k, out, kaddi(k, kmuli(k, kvar(k, total), 3), 1), kcast(k, DT_I64, kvar(k, cc)));
        kstore(k, out, kaddi(k, kmuli(k, kvar(k, total), 3), 2), kcast(k, DT_I64, kvar(k, bi)));
        kset(k, total, kaddi(k, kvar(k, total), 1));
        kset(k, cnt, kaddi(k, kvar(k, cnt), 1));
        kend_n(k, 3); /* keep, bi >= 0, cnt < kmax */
        kend_n(k, 3); /* s, c, b */
    }
    kstore(k, od, kc_idx(k, 0), kcast(k, DT_I64, kvar(k, total)));
    kstore(k, od, kc_idx(k, 1), kc_int(k, DT_I64, 3));
    return 0;
}

/* ---- Unique (opset 11) ----
 * Y: the distinct slices of X along `axis` (the distinct elements of X flattened without
 * it), in ascending lexicographic order (sorted = 1) or in order of first occurrence;
 * indices: the first occurrence of each; inverse_indices: for each input slice, its
 * position in Y; counts: how often each occurs. Bound: the input's size along the axis
 * (its element count without one), so Y is bounded on the axis, indices and counts on
 * their one axis; inverse_indices has a static size. An O(n^2) loop nest: a scratch flag
 * per slice (first occurrence), then each first occurrence goes to its rank in Y. */

typedef struct UniqueParams {
    int64_t outer, n, inner; /* slices: X viewed as [outer, n, inner] */
    int axis;                /* -1: flattened */
    int sorted;
} UniqueParams;

static int unique_params(Node *n, UniqueParams *p)
{
    const Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input 0");
    if (x->dyn)
        return node_err(n, "input '%s' has a data-dependent size, which Unique does not take",
                        x->name);
    if (x->type.dt == DT_STRING) return node_err(n, "string tensors are not supported");
    int64_t sorted = attr_i(n, "sorted", 1);
    if (sorted != 0 && sorted != 1)
        return node_err(n, "sorted = %lld (must be 0 or 1)", (long long)sorted);
    p->sorted = (int)sorted;
    p->axis = -1;
    p->outer = p->inner = 1;
    p->n = type_numel(&x->type);
    if (attr_get(n, "axis")) {
        if (x->type.rank < 1) return node_err(n, "axis given for a scalar input");
        if (norm_axis(n, attr_i(n, "axis", 0), x->type.rank, &p->axis)) return -1;
        p->n = x->type.dims[p->axis];
        for (int d = 0; d < p->axis; d++) p->outer *= x->type.dims[d];
        for (int d = p->axis + 1; d < x->type.rank; d++) p->inner *= x->type.dims[d];
    }
    return 0;
}

int unique_infer(Node *n)
{
    UniqueParams p;
    if (unique_params(n, &p)) return -1;
    const Type *x = &node_in(n, 0)->type;
    if (p.axis < 0) {
        if (set_out(n, 0, x->dt, 1, &p.n)) return -1;
        node_out(n, 0)->dyn = 1u << 0;
    } else {
        if (set_out_type(n, 0, x)) return -1;
        node_out(n, 0)->dyn = 1u << p.axis;
    }
    for (int i = 1; i < 4; i++) {
        if (!node_out(n, i)) continue;
        if (set_out(n, i, DT_I64, 1, &p.n)) return -1;
        if (i != 2) node_out(n, i)->dyn = 1u << 0;
    }
    return 0;
}

/* element m (0 <= m < outer*inner) of slice `s` (a DT_IDX expression used once) */
static KExpr *unique_at(KB *k, const UniqueParams *p, KExpr *s, int m)
{
    KExpr *e = kmuli(k, s, p->inner);
    if (p->inner != 1) e = kadd(k, e, kbin(k, KB_REM, kvar(k, m), kc_idx(k, p->inner)));
    if (p->outer != 1) {
        KExpr *o = p->inner != 1 ? kbin(k, KB_DIV, kvar(k, m), kc_idx(k, p->inner)) : kvar(k, m);
        e = kadd(k, e, kmuli(k, o, p->n * p->inner));
    }
    return e;
}

/* element m of row `u` of Y, whose real extent on the axis is the var cnt */
static KExpr *unique_y_at(KB *k, const UniqueParams *p, int u, int cnt, int m)
{
    KExpr *e = kmuli(k, kvar(k, u), p->inner);
    if (p->inner != 1) e = kadd(k, e, kbin(k, KB_REM, kvar(k, m), kc_idx(k, p->inner)));
    if (p->outer != 1) {
        KExpr *o = p->inner != 1 ? kbin(k, KB_DIV, kvar(k, m), kc_idx(k, p->inner)) : kvar(k, m);
        e = kadd(k, e, kmul(k, o, kmuli(k, kvar(k, cnt), p->inner)));
    }
    return e;
}

int unique_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    UniqueParams p;
    if (unique_params(n, &p)) return -1;
    const Type *x = &node_in(n, 0)->type;
    int X = lw_in(L, 0), Y = lw_out(L, 0), yd = lw_out_dims(L, 0);
    if (X < 0 || Y < 0 || yd < 0) return -1;
    int I = -1, Id = -1, V = -1, C = -1, Cd = -1;
    if (node_out(n, 1) && ((I = lw_out(L, 1)) < 0 || (Id = lw_out_dims(L, 1)) < 0)) return -1;
    if (node_out(n, 2) && (V = lw_out(L, 2)) < 0) return -1;
    if (node_out(n, 3) && ((C = lw_out(L, 3)) < 0 || (Cd = lw_out_dims(L, 3)) < 0)) return -1;
    int64_t sl = p.outer * p.inner; /* elements per slice */
    int cnt = kdecl(k, DT_IDX, kc_idx(k, 0));
    if (p.n > 0 && sl > 0) {
        int F = lw_temp(L, DT_BOOL, p.n);
        if (F < 0) return -1;
        /* pass 1: F[i] = slice i is a first occurrence; cnt = the number of them */
        int i = kfor_n(k, p.n, KL_SERIAL);
        int dup = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 0));
        int j = kfor_n(k, p.n, KL_SERIAL);
        kif(k, kbin(k, KB_AND, kbin(k, KB_LT, kvar(k, j), kvar(k, i)),
                    kbin(k, KB_EQ, kvar(k, dup), kc_int(k, DT_BOOL, 0))));
        int eq = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 1));
        int m = kfor_n(k, sl, KL_SERIAL);
        kif(k, kbin(k, KB_NE, kload(k, X, unique_at(k, &p, kvar(k, i), m)),
                    kload(k, X, unique_at(k, &p, kvar(k, j), m))));
        kset(k, eq, kc_int(k, DT_BOOL, 0));
        kend_n(k, 2); /* if, m */
        kset(k, dup, kvar(k, eq));
        kend_n(k, 2); /* if, j */
        kstore(k, F, kvar(k, i), kbin(k, KB_EQ, kvar(k, dup), kc_int(k, DT_BOOL, 0)));
        kif(k, kbin(k, KB_EQ, kvar(k, dup), kc_int(k, DT_BOOL, 0)));
        kset(k, cnt, kaddi(k, kvar(k, cnt), 1));
        kend_n(k, 2); /* if, i */
        /* pass 2: each first occurrence to its rank among the first occurrences */
        i = kfor_n(k, p.n, KL_SERIAL);
        kif(k, kload(k, F, kvar(k, i)));
        int rank = kdecl(k, DT_IDX, kc_idx(k, 0));
        j = kfor_n(k, p.n, KL_SERIAL);
        if (p.sorted) {
            kif(k, kload(k, F, kvar(k, j)));
            int c = kdecl(k, DT_IDX, kc_idx(k, 0)); /* -1: slice j < slice i, 1: greater */
            m = kfor_n(k, sl, KL_SERIAL);
            kif(k, kbin(k, KB_AND, kbin(k, KB_EQ, kvar(k, c), kc_idx(k, 0)),
                        kbin(k, KB_LT, kload(k, X, unique_at(k, &p, kvar(k, j), m)),
                             kload(k, X, unique_at(k, &p, kvar(k, i), m)))));
            kset(k, c, kc_idx(k, -1));
            kend(k);
            kif(k, kbin(k, KB_AND, kbin(k, KB_EQ, kvar(k, c), kc_idx(k, 0)),
                        kbin(k, KB_GT, kload(k, X, unique_at(k, &p, kvar(k, j), m)),
                             kload(k, X, unique_at(k, &p, kvar(k, i), m)))));
            kset(k, c, kc_idx(k, 1));
            kend_n(k, 2); /* if, m */
            kif(k, kbin(k, KB_LT, kvar(k, c), kc_idx(k, 0)));
            kset(k, rank, kaddi(k, kvar(k, rank), 1));
            kend_n(k, 2); /* if c < 0, if F[j] */
        } else {
            kif(k, kbin(k, KB_AND, kbin(k, KB_LT, kvar(k, j), kvar(k, i)), kload(k, F, kvar(k, j))));
            kset(k, rank, kaddi(k, kvar(k, rank), 1));
            kend(k);
        }
        kend(k); /* j */
        m = kfor_n(k, sl, KL_SERIAL);
        kstore(k, Y, unique_y_at(k, &p, rank, cnt, m), kload(k, X, unique_at(k, &p, kvar(k, i), m)));
        kend(k);
        if (I >= 0) kstore(k, I, kvar(k, rank), kcast(k, DT_I64, kvar(k, i)));
        kend_n(k, 2); /* if F[i], i */
        /* pass 3: inverse_indices and counts, by comparing each slice with the rows of Y */
        if (C >= 0) {
            int u = kfor_n(k, p.n, KL_SERIAL);
            kif(k, kbin(k, KB_LT, kvar(k, u), kvar(k, cnt)));
            kstore(k, C, kvar(k, u), kc_int(k, DT_I64, 0));
            kend_n(k, 2);
        }
        if (V >= 0 || C >= 0) {
            i = kfor_n(k, p.n, KL_SERIAL);
            int u = kfor_n(k, p.n, KL_SERIAL);
            kif(k, kbin(k, KB_LT, kvar(k, u), kvar(k, cnt)));
            int eq = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 1));
            m = kfor_n(k, sl, KL_SERIAL);
            kif(k, kbin(k, KB_NE, kload(k, X, unique_at(k, &p, kvar(k, i), m)),
                        kload(k, Y, unique_y_at(k, &p, u, cnt, m))));
            kset(k, eq, kc_int(k, DT_BOOL, 0));
            kend_n(k, 2); /* if, m */
            kif(k, kvar(k, eq));
            if (V >= 0) kstore(k, V, kvar(k, i), kcast(k, DT_I64, kvar(k, u)));
            if (C >= 0)
                kstore(k, C, kvar(k, u), kbin(k, KB_ADD, kload(k, C, kvar(k, u)),
                                              kc_int(k, DT_I64, 1)));
            kend_n(k, 4); /* if eq, if u < cnt, u, i */
        }
    }
    if (p.n > 0 && sl == 0) {
        kset(k, cnt, kc_idx(k, 1));
        if (I >= 0) kstore(k, I, kc_idx(k, 0), kc_int(k, DT_I64, 0));
        if (C >= 0) kstore(k, C, kc_idx(k, 0), kc_int(k, DT_I64, p.n));
        if (V >= 0) {
            int i = kfor_n(k, p.n, KL_SERIAL);
            kstore(k, V, kvar(k, i), kc_int(k, DT_I64, 0));
            kend(k);
        }
    }
    if (p.axis < 0) {
        kstore(k, yd, kc_idx(k, 0), kcast(k, DT_I64, kvar(k, cnt)));
    } else {
        for (int d = 0; d < x->rank; d++)
            kstore(k, yd, kc_idx(k, d), d == p.axis ? kcast(k, DT_I64, kvar(k, cnt))
                                                     : kc_int(k, DT_I64, x->dims[d]));
    }
    if (Id >= 0) kstore(k, Id, kc_idx(k, 0), kcast(k, DT_I64, kvar(k, cnt)));
    if (Cd >= 0) kstore(k, Cd, kc_idx(k, 0), kcast(k, DT_I64, kvar(k, cnt)));
    return 0;
}
