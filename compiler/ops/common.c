/* common.c — helpers every operator file shares (output types, broadcasting, axes), and
 * Identity, the simplest operator, which doubles as the example of the pattern. */
#include <string.h>
#include "../onnxcc.h"

int set_out(Node *n, int i, DType dt, int rank, const int64_t *dims)
{
    Value *v = node_out(n, i);
    if (!v) return -1;
    if (rank < 0 || rank > KIR_MAX_RANK)
        return node_err(n, "output rank %d exceeds the supported maximum %d", rank, KIR_MAX_RANK);
    memset(&v->type, 0, sizeof v->type);
    v->dyn = 0;   /* a static shape unless the op marks its bounded dims after this */
    v->type.dt = dt;
    v->type.rank = rank;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0) return node_err(n, "output %d would have a negative dimension", i);
        v->type.dims[d] = dims[d];
    }
    v->has_type = 1;
    return 0;
}

int set_out_type(Node *n, int i, const Type *t)
{
    return set_out(n, i, t->dt, t->rank, t->dims);
}

int broadcast_shapes(const Node *n, const Type *a, const Type *b, Type *out)
{
    int rank = a->rank > b->rank ? a->rank : b->rank;
    out->rank = rank;
    out->dt = a->dt;
    for (int d = 0; d < rank; d++) {
        int da = d - (rank - a->rank), db = d - (rank - b->rank);
        int64_t x = da >= 0 ? a->dims[da] : 1, y = db >= 0 ? b->dims[db] : 1;
        if (x != y && x != 1 && y != 1)
            return node_err(n, "shapes cannot be broadcast: %s and %s (axis %d: %lld vs %lld)",
                            type_str(n->g->pool, a), type_str(n->g->pool, b), d,
                            (long long)x, (long long)y);
        out->dims[d] = x == 1 ? y : x;
    }
    return 0;
}

int norm_axis(const Node *n, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= (rank ? rank : 1))
        return node_err(n, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

/* Copies input 0 to output 0 flat: used by Identity and by any op whose output is its
 * input reinterpreted (the planner may later turn these copies into aliases). */
int lower_copy(Node *n, Lower *L)
{
    int x = lw_in(L, 0), y = lw_out(L, 0);
    int64_t count = type_numel(&node_out(n, 0)->type);
    int i = kfor_n(L->k, count, KL_VECTOR);
    kstore(L->k, y, kvar(L->k, i), kload(L->k, x, kvar(L->k, i)));
    kend(L->k);
    return 0;
}

int identity_infer(Node *n)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input");
    Value *y = node_out(n, 0);
    if (y && value_is_list(x)) {   /* a sequence or optional: the same compile-time list */
        y->seq = x->seq;
        y->none = x->none;
        y->elems = x->elems;
        y->nelems = x->nelems;
        y->type.dt = x->type.dt;
        return 0;
    }
    return set_out_type(n, 0, &x->type);
}

int identity_lower(Node *n, Lower *L)
{
    return lower_copy(n, L);
}
