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
