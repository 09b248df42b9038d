/* passes.c — the graph rewrites between shape inference and lowering, and what they
 * share. passes_run folds BatchNormalization into the Conv/Gemm/MatMul before it (every
 * target), fuses residual Adds, MatMul biases and one activation into the epilogue of a
 * float32 Conv/Gemm/MatMul where the target has the op's runtime kernel, then fuses the
 * remaining chains of elementwise ops into one loop nest each (every target). Removed
 * nodes leave the graph and ir_finish restores order, producers and use counts. */
#include <string.h>
#include "passes.h"

/* ---- shared helpers ---- */

void pass_index_uses(PassCtx *c)
{
    Graph *g = c->g;
    int nv = g->nvalues, total = 0;
    c->use_at = pool_alloc(g->pool, sizeof *c->use_at * (size_t)(nv + 2));
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) {
            const Value *v = g->nodes[i]->in[j];
            if (v && v->id >= 0 && v->id < nv && g->values[v->id] == v) {
                c->use_at[v->id + 1]++;
                total++;
            }
        }
    for (int k = 0; k < nv; k++) c->use_at[k + 1] += c->use_at[k];
    c->use_node = pool_alloc(g->pool, sizeof *c->use_node * (size_t)(total + 1));
    c->use_slot = pool_alloc(g->pool, sizeof *c->use_slot * (size_t)(total + 1));
    int *fill = pool_alloc(g->pool, sizeof *fill * (size_t)(nv + 1));
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) {
            const Value *v = g->nodes[i]->in[j];
            if (!v || v->id < 0 || v->id >= nv || g->values[v->id] != v) continue;
            int at = c->use_at[v->id] + fill[v->id]++;
            c->use_node[at] = g->nodes[i];
            c->use_slot[at] = j;
        }
    c->nindexed = nv;
}

void pass_unindex_uses(PassCtx *c)
{
    c->nindexed = 0;
    c->use_at = c->use_slot = NULL;
    c->use_node = NULL;
}

int pass_uses(const PassCtx *c, const Value *v, Node **users, int max)
{
    int n = 0;
    Graph *g = c->g;
    if (c->nindexed && v->id >= 0 && v->id < c->nindexed && g->values[v->id] == v) {
        /* a value read only by nodes the index saw (node order kept: users in graph order) */
        for (int e = c->use_at[v->id]; e < c->use_at[v->id + 1]; e++) {
            Node *nd = c->use_node[e];
            if (c->dead[nd->id] || nd->in[c->use_slot[e]] != v) continue;
            if (users && n < max) users[n] = nd;
            n++;
        }
        return n;
    }
    for (int i = 0; i < g->nnodes; i++) {
        Node *nd = g->nodes[i];
        if (c->dead[nd->id]) continue;
        for (int j = 0; j < nd->nin; j++) {
            if (nd->in[j] != v) continue;
            if (users && n < max) users[n] = nd;
            n++;
        }
    }
    return n;
}

static int is_graph_output(const Graph *g, const Value *v)
{
    if (v->is_output) return 1;
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == v) return 1;
    return 0;
}

int pass_removable(const PassCtx *c, const Value *v, int nuses, Node **users)
{
    if (!v || !v->producer || v->data || is_graph_output(c->g, v)) return 0;
    if (v->id < c->ncaptured && c->g->values[v->id] == v && c->captured[v->id]) return 0;
    return pass_uses(c, v, users, nuses) == nuses;
}

Value *pass_new_const(Graph *g, const char *base, DType dt, int rank, const int64_t *dims,
                      const void *data)
{
    const char *name = base;
    for (int k = 1; ir_find(g, name); k++) name = pool_fmt(g->pool, "%s_%d", base, k);
    Value *v = ir_value(g, name);
    v->kind = V_WEIGHT;
    v->has_type = 1;
    v->type.dt = dt;
    v->type.rank = rank;
    for (int i = 0; i < rank; i++) v->type.dims[i] = dims[i];
    v->data = data;
    return v;
}

int pass_scalar(const Value *v, double *x)
{
    if (!v || !v->data || !v->has_type || type_numel(&v->type) != 1) return 0;
    if (v->type.dt == DT_BOOL || v->type.dt == DT_STRING) return 0;
    *x = const_elem_f(v, 0);
    return 1;
}

void pass_note(Node *n, const char *what)
{
    n->op_type = pool_fmt(n->g->pool, "%s+%s", n->op_type, what);
}

int pass_append_input(Graph *g, Node *n, Value *v, int at)
{
    int idx = n->nin > at ? n->nin : at;
    Value **in = pool_alloc(g->pool, sizeof *in * (size_t)(idx + 1));
    for (int i = 0; i < n->nin; i++) in[i] = n->in[i];
    in[idx] = v;
    n->in = in;
    n->nin = idx + 1;
    return idx;
}

/* ---- values read from nested graphs ---- */

static void mark_captured(PassCtx *c, Graph *sub)
{
    Graph *g = c->g;
    for (int i = 0; i < sub->nnodes; i++) {
        Node *n = sub->nodes[i];
        for (int j = 0; j < n->nin; j++) {
            Value *v = n->in[j];
            if (v && v->id < c->ncaptured && g->values[v->id] == v) c->captured[v->id] = 1;
        }
        for (int a = 0; a < n->nattrs; a++) {
            const Attr *at = &n->attrs[a];
            if (at->kind == A_GRAPH && at->g) mark_captured(c, at->g);
            if (at->kind == A_GRAPHS)
                for (int k = 0; k < at->n; k++)
                    if (at->graphs[k]) mark_captured(c, at->graphs[k]);
        }
    }
    for (int i = 0; i < sub->noutputs; i++) {
        Value *v = sub->outputs[i];
        if (v && v->id < c->ncaptured && g->values[v->id] == v) c->captured[v->id] = 1;
    }
}

/* ---- the driver of the passes ---- */

/* Drops the dead nodes, appends the made ones, and re-sorts. */
static int compact(PassCtx *c, Node **made, int nmade)
{
    Graph *g = c->g;
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (!c->dead[g->nodes[i]->id]) g->nodes[k++] = g->nodes[i];
    g->nnodes = k;
    for (int i = 0; i < nmade; i++) VEC_PUSH(g->pool, g->nodes, g->nnodes, g->capnodes, made[i]);
    return ir_finish(g);
}

/* Fresh node ids and an empty dead set for the next round of rewrites. */
static void begin_round(PassCtx *c)
{
    Graph *g = c->g;
    c->dead = pool_alloc(g->pool, (size_t)g->nnodes + 1);
    for (int i = 0; i < g->nnodes; i++) g->nodes[i]->id = i;
}

int passes_run(Graph *g, const struct Target *t)
{
    if (!g || g->err) return -1;
    Pool *p = g->pool;
    PassCtx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.t = t;
    c.ncaptured = g->nvalues;
    c.captured = pool_alloc(p, (size_t)g->nvalues + 1);
    begin_round(&c);
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int a = 0; a < n->nattrs; a++) {
            const Attr *at = &n->attrs[a];
            if (at->kind == A_GRAPH && at->g) mark_captured(&c, at->g);
            if (at->kind == A_GRAPHS)
                for (int k = 0; k < at->n; k++)
                    if (at->graphs[k]) mark_captured(&c, at->graphs[k]);
        }
    }
    /* first the kernels' epilogues (they take the activations they can), then what is
     * left of the elementwise chains; ir_finish between them makes producers current */
    int changed = pass_fold_bn(&c);
    if (t && t->kernels) changed += pass_fold_transpose(&c) + pass_fuse(&c);
    if (changed && compact(&c, NULL, 0) != 0) return -1;
    begin_round(&c);
    Node **made;
    int nmade;
    pass_index_uses(&c);   /* fuse_ew only marks nodes dead: the index stays exact */
    int fused = pass_fuse_ew(&c, &made, &nmade);
    pass_unindex_uses(&c);
    if (fused && compact(&c, made, nmade) != 0) return -1;
    return 0;
}
