/* ir.c — the graph IR: values, nodes and graphs; name lookup; ir_finish (topological order,
 * producers, use counts, dangling-edge and cycle checks, nested-graph scoping); attribute
 * accessors; error formatting; reading constant inputs.
 *
 * Attr encoding beyond the header: A_TENSORS keeps its n Values as a contiguous array in
 * Attr.t (t[0..n-1]); A_GRAPHS keeps n graphs in Attr.graphs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

/* ---- types ---- */

int64_t mul_sat(int64_t a, int64_t b)
{
    const int64_t big = ONNXCC_MAX_DIM + 1;
    if (a == 0 || b == 0) return 0;
    if (a >= big || b >= big || a > big / b) return big;
    return a * b < big ? a * b : big;
}

int64_t type_numel(const Type *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] < 0) return -1;
    for (int i = 0; i < t->rank; i++) n = mul_sat(n, t->dims[i]);
    return n;
}

int type_equal(const Type *a, const Type *b)
{
    if (a->dt != b->dt || a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

char *type_str(Pool *p, const Type *t)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%s[", dt_name(t->dt));
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            sb_printf(&sb, "%s?", i ? "x" : "");
        else
            sb_printf(&sb, "%s%lld", i ? "x" : "", (long long)t->dims[i]);
    }
    sb_puts(&sb, "]");
    char *r = pool_strdup(p, sb.buf);
    sb_free(&sb);
    return r;
}

/* ---- name index ----
 * Open addressing over positions in g->values. Every probed slot is checked against the
 * array (position in range, same Value pointer), so a pass that compacts g->values behind
 * our back only costs a rebuild, never a wrong answer. */

struct NameIndex {
    int *slot;      /* value position + 1; 0 = empty */
    Value **ptr;    /* the Value each slot was filled with, for the staleness check */
    size_t cap;     /* power of two */
    int nindexed;   /* g->values[0..nindexed) are in the table */
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;    /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void index_put(struct NameIndex *ix, Graph *g, int pos)
{
    size_t m = ix->cap - 1, i = name_hash(g->values[pos]->name) & m;
    while (ix->slot[i]) i = (i + 1) & m;
    ix->slot[i] = pos + 1;
    ix->ptr[i] = g->values[pos];
}

static void index_rebuild(Graph *g)
{
    struct NameIndex *ix = g->index;
    if (!ix) ix = g->index = pool_alloc(g->pool, sizeof *ix);
    size_t cap = 64;
    while (cap < (size_t)g->nvalues * 2 + 2) cap *= 2;
    /* the old table stays in the pool until the pool dies: rebuilds are rare */
    ix->slot = pool_alloc(g->pool, cap * sizeof *ix->slot);
    ix->ptr = pool_alloc(g->pool, cap * sizeof *ix->ptr);
    ix->cap = cap;
    ix->nindexed = 0;
    for (int i = 0; i < g->nvalues; i++) index_put(ix, g, i);
    ix->nindexed = g->nvalues;
}

/* Brings the table up to date with the values appended since it was built. */
static void index_sync(Graph *g)
{
    struct NameIndex *ix = g->index;
    if (!ix || ix->nindexed > g->nvalues || (size_t)g->nvalues * 2 + 2 > ix->cap) {
        index_rebuild(g);
        return;
    }
    for (; ix->nindexed < g->nvalues; ix->nindexed++) index_put(ix, g, ix->nindexed);
}

static Value *find_local(Graph *g, const char *name)
{
    if (!name) return NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        index_sync(g);
        struct NameIndex *ix = g->index;
        size_t m = ix->cap - 1, i = name_hash(name) & m;
        int stale = 0;
        for (; ix->slot[i]; i = (i + 1) & m) {
            int pos = ix->slot[i] - 1;
            if (pos >= g->nvalues || g->values[pos] != ix->ptr[i]) {
                stale = 1;
                break;
            }
            if (!strcmp(g->values[pos]->name, name)) return g->values[pos];
        }
        if (!stale) return NULL;
        index_rebuild(g);
    }
    return NULL;
}

/* ---- construction ---- */

Graph *ir_graph_new(Pool *p, const char *file)
{
    Graph *g = pool_alloc(p, sizeof *g);
    g->pool = p;
    g->file = pool_strdup(p, file ? file : "<model>");
    g->name = "";
    return g;
}

Value *ir_value(Graph *g, const char *name)
{
    Value *v = find_local(g, name);
    if (v) return v;
    v = pool_alloc(g->pool, sizeof *v);
    v->name = pool_strdup(g->pool, name ? name : "");
    v->id = g->nvalues;
    v->kind = V_TEMP;
    VEC_PUSH(g->pool, g->values, g->nvalues, g->capvalues, v);
    return v;
}

/* A value is defined when something gives it contents: a node, the caller, or the model. */
static int is_defined(const Value *v)
{
    /* a sequence or optional is a compile-time fact even where no node produces it (the
     * list of a SplitToSequence rewritten into a Split) */
    return v->producer || v->kind != V_TEMP || v->data || v->seq || v->none;
}

Value *ir_find(Graph *g, const char *name)
{
    /* A nested graph holds placeholders for the outer values it reads; the defined value
     * further out is the real one. */
    Value *first = NULL;
    for (Graph *s = g; s; s = s->parent) {
        Value *v = find_local(s, name);
        if (!v) continue;
        if (is_defined(v)) return v;
        if (!first) first = v;
    }
    return first;
}

Node *ir_node(Graph *g, const char *name, const char *op_type, const char *domain)
{
    Node *n = pool_alloc(g->pool, sizeof *n);
    n->op_type = pool_strdup(g->pool, op_type ? op_type : "");
    n->domain = pool_strdup(g->pool, domain ? domain : "");
    n->name = name && *name ? pool_strdup(g->pool, name)
                            : pool_fmt(g->pool, "%s_%d", n->op_type, g->nnodes);
    n->op = op_lookup(n->domain, n->op_type);
    n->opset = g->opset;
    n->id = g->nnodes;
    n->g = g;
    VEC_PUSH(g->pool, g->nodes, g->nnodes, g->capnodes, n);
    return n;
}

/* ---- errors ---- */

static void set_err(Graph *g, char *msg)
{
    /* one line, whatever names a damaged model carries */
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    /* every enclosing graph learns of it, so the caller of ir_finish(root) sees it */
    for (; g; g = g->parent)
        if (!g->err) g->err = msg;
}

int node_err(const Node *n, const char *fmt, ...)
{
    if (!n || !n->g) return -1;
    Graph *g = n->g;
    StrBuf sb;
    sb_init(&sb);
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    set_err(g, pool_fmt(g->pool, "%s: node '%s' (%s): %s", g->file, n->name, n->op_type,
                        sb.buf ? sb.buf : ""));
    sb_free(&sb);
    return -1;
}

int node_need_const(const Node *n, const Value *v, const char *fmt, ...)
{
    if (!n || !n->g) return -1;
    Graph *g = n->g;
    StrBuf sb;
    sb_init(&sb);
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    /* the need goes with the error it explains: only where this is the first error */
    int first = !g->err;
    set_err(g, pool_fmt(g->pool, "%s: node '%s' (%s): %s", g->file, n->name, n->op_type,
                        sb.buf ? sb.buf : ""));
    sb_free(&sb);
    for (Graph *e = g; first && e; e = e->parent)
        if (!e->need) e->need = (Value *)v;
    return -1;
}

int graph_inputs_behind(Graph *g, const Value *v, Value ***out)
{
    Graph *root = g;
    while (root->parent) root = root->parent;
    Pool *p = root->pool;
    *out = pool_alloc(p, sizeof **out * (size_t)(root->ninputs + 1));
    if (!v) return 0;
    /* a work list over producers; `seen` keeps shared subexpressions from multiplying */
    size_t cap = 64, ns = 0, cs = 64;
    const Value **work = malloc(cap * sizeof *work), **seen = malloc(cs * sizeof *seen);
    size_t nw = 0;
    int nin = 0;
    if (!work || !seen) goto done;
    work[nw++] = v;
    while (nw) {
        const Value *x = work[--nw];
        int dup = 0;
        for (size_t i = 0; i < ns && !dup; i++) dup = seen[i] == x;
        if (dup) continue;
        if (ns == cs) {
            const Value **t = realloc(seen, 2 * cs * sizeof *seen);
            if (!t) goto done;
            seen = t;
            cs *= 2;
        }
        seen[ns++] = x;
        if (x->kind == V_INPUT) {
            for (int k = 0; k < root->ninputs; k++)
                if (root->inputs[k] == x) (*out)[nin++] = (Value *)x;
            continue;
        }
        const Node *pn = x->producer;
        if (!pn) continue;
        for (int i = 0; i < pn->nin; i++) {
            const Value *y = pn->in[i];
            if (!y) continue;
            if (nw == cap) {
                const Value **t = realloc(work, 2 * cap * sizeof *work);
                if (!t) goto done;
                work = t;
                cap *= 2;
            }
            work[nw++] = y;
        }
    }
done:
    free(work);
    free(seen);
    /* root input order, as --freeze and the notes list them */
    for (int i = 1; i < nin; i++)
        for (int j = i; j > 0; j--) {
            int a = 0, b = 0;
            while (root->inputs[a] != (*out)[j - 1]) a++;
            while (root->inputs[b] != (*out)[j]) b++;
            if (a < b) break;
            Value *t = (*out)[j - 1];
            (*out)[j - 1] = (*out)[j];
            (*out)[j] = t;
        }
    return nin;
}

int graph_err(Graph *g, const char *fmt, ...)
{
    if (!g) return -1;
    StrBuf sb;
    sb_init(&sb);
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    set_err(g, pool_fmt(g->pool, "%s: %s", g->file, sb.buf ? sb.buf : ""));
    sb_free(&sb);
    return -1;
}

/* ---- ir_finish ---- */

static int attr_has_graphs(const Attr *a)
{
    return (a->kind == A_GRAPH && a->g) || (a->kind == A_GRAPHS && a->n > 0);
}

/* Runs the statements that follow `sub` for every graph held by n's attributes. */
#define FOR_SUBGRAPHS(NODE, SUB, ...)                                                 \
    for (int ai_ = 0; ai_ < (NODE)->nattrs; ai_++) {                                  \
        const Attr *a_ = &(NODE)->attrs[ai_];                                         \
        if (!attr_has_graphs(a_)) continue;                                           \
        int cnt_ = a_->kind == A_GRAPH ? 1 : a_->n;                                   \
        for (int gi_ = 0; gi_ < cnt_; gi_++) {                                        \
            Graph *SUB = a_->kind == A_GRAPH ? a_->g : a_->graphs[gi_];               \
            if (!SUB) continue;                                                       \
            __VA_ARGS__                                                               \
        }                                                                             \
    }

/* Sets producer for the outputs of g's nodes (and of nested graphs), so a graph can tell
 * its own values from the outer ones it reads. -1 on a value produced twice. */
static int mark_producers(Graph *g)
{
    for (int i = 0; i < g->nvalues; i++) g->values[i]->producer = NULL;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        n->g = g;
        for (int j = 0; j < n->nout; j++) {
            Value *v = n->out[j];
            if (!v) continue;
            if (v->producer)
                return node_err(n, "output '%s' is also produced by node '%s' (%s)", v->name,
                                v->producer->name, v->producer->op_type);
            if (v->kind == V_INPUT)
                return node_err(n, "output '%s' is also a graph input", v->name);
            if (v->kind == V_WEIGHT)
                return node_err(n, "output '%s' is also an initializer or constant", v->name);
            v->producer = n;
        }
        FOR_SUBGRAPHS(n, sub, {
            sub->parent = g;
            if (mark_producers(sub)) return -1;
        })
    }
    return 0;
}

/* Read by sub but not its own: an unresolved placeholder, or (after an earlier ir_finish)
 * already the outer value itself. */
static int is_free(Graph *sub, Value *v)
{
    return !is_defined(v) || find_local(sub, v->name) != v;
}

/* Appends to *names (a pool vector) the names read by sub (or graphs nested in it) that sub
 * does not define itself: what a node holding sub captures from the enclosing scope. */
static void collect_free(Graph *sub, Pool *p, const char ***names, int *n, size_t *cap)
{
    for (int i = 0; i < sub->nnodes; i++) {
        Node *m = sub->nodes[i];
        for (int j = 0; j < m->nin; j++) {
            Value *v = m->in[j];
            if (v && is_free(sub, v)) VEC_PUSH(p, *names, *n, *cap, v->name);
        }
        FOR_SUBGRAPHS(m, inner, {
            int start = *n;
            collect_free(inner, p, names, n, cap);
            /* names the inner graph takes from sub are not free in sub */
            int k = start;
            for (int q = start; q < *n; q++) {
                Value *w = find_local(sub, (*names)[q]);
                if (!w || !is_defined(w)) (*names)[k++] = (*names)[q];
            }
            *n = k;
        })
    }
    for (int i = 0; i < sub->noutputs; i++) {
        Value *v = sub->outputs[i];
        if (v && is_free(sub, v)) VEC_PUSH(p, *names, *n, *cap, v->name);
    }
}

/* Replaces a placeholder read by a nested graph with the enclosing graph's value.
 * NULL when no enclosing graph defines the name. */
static Value *resolve_outer(Graph *g, Value *v)
{
    if (is_defined(v)) return v;
    if (!g->parent) return NULL;
    Value *o = ir_find(g->parent, v->name);
    return o && is_defined(o) ? o : NULL;
}

/* Dependencies of node i: positions (in the pre-sort order) of the nodes it must follow. */
typedef struct Deps {
    int *d;
    int n;
} Deps;

static int finish_graph(Graph *g)
{
    Pool *p = g->pool;
    int nn = g->nnodes;

    for (int i = 0; i < nn; i++) g->nodes[i]->id = i;

    /* resolve every input; dangling edges are errors */
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++) {
            Value *v = n->in[j];
            if (!v) continue;
            Value *r = resolve_outer(g, v);
            if (!r)
                return node_err(n, "input %d '%s' is not a graph input, an initializer or "
                                "the output of any node (dangling edge)", j, v->name);
            n->in[j] = r;
        }
    }
    for (int i = 0; i < g->noutputs; i++) {
        Value *v = g->outputs[i];
        Value *r = resolve_outer(g, v);
        if (!r)
            return graph_err(g, "graph output '%s' is not produced by any node, input or "
                             "initializer", v->name);
        g->outputs[i] = r;
    }

    /* dependencies: data inputs plus whatever nested graphs capture from g */
    Deps *deps = pool_alloc(p, (size_t)(nn ? nn : 1) * sizeof *deps);
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        const char **fv = NULL;
        int nfv = 0;
        size_t capfv = 0;
        FOR_SUBGRAPHS(n, sub, { collect_free(sub, p, &fv, &nfv, &capfv); })
        deps[i].d = pool_alloc(p, (size_t)(n->nin + nfv + 1) * sizeof(int));
        for (int j = 0; j < n->nin; j++) {
            Value *v = n->in[j];
            if (v && v->producer && v->producer->g == g) deps[i].d[deps[i].n++] = v->producer->id;
        }
        for (int j = 0; j < nfv; j++) {
            Value *v = find_local(g, fv[j]);
            if (v && v->producer && v->producer->g == g) deps[i].d[deps[i].n++] = v->producer->id;
        }
    }

    /* Depth-first post-order in model order: keeps a valid order as it is, fixes an
     * out-of-order one, finds cycles (a node reached again while still on the stack).
     * Explicit stack: a long chain must not overflow the C stack. */
    Node **order = pool_alloc(p, (size_t)(nn ? nn : 1) * sizeof *order);
    int norder = 0;
    unsigned char *state = pool_alloc(p, (size_t)(nn ? nn : 1)); /* 0 new, 1 open, 2 done */
    int *stk = pool_alloc(p, (size_t)(nn ? nn : 1) * sizeof(int));
    int *pos = pool_alloc(p, (size_t)(nn ? nn : 1) * sizeof(int));
    for (int root = 0; root < nn; root++) {
        if (state[root]) continue;
        int sp = 0;
        stk[sp] = root;
        pos[sp] = 0;
        state[root] = 1;
        sp++;
        while (sp) {
            int cur = stk[sp - 1];
            if (pos[sp - 1] < deps[cur].n) {
                int nxt = deps[cur].d[pos[sp - 1]++];
                if (state[nxt] == 1) {
                    Node *c = g->nodes[cur];
                    /* name the edge that closes the loop */
                    const char *via = "?";
                    for (int j = 0; j < c->nin; j++)
                        if (c->in[j] && c->in[j]->producer == g->nodes[nxt]) via = c->in[j]->name;
                    return node_err(c, "the graph has a cycle: input '%s' depends on this "
                                    "node's own output", via);
                }
                if (state[nxt] == 0) {
                    state[nxt] = 1;
                    stk[sp] = nxt;
                    pos[sp] = 0;
                    sp++;
                }
            } else {
                state[cur] = 2;
                order[norder++] = g->nodes[cur];
                sp--;
            }
        }
    }
    for (int i = 0; i < nn; i++) {
        g->nodes[i] = order[i];
        order[i]->id = i;
    }

    for (int i = 0; i < g->nvalues; i++) {
        g->values[i]->id = i;
        g->values[i]->nuses = 0;
    }
    for (int i = 0; i < nn; i++) {
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j]) n->in[j]->nuses++;
    }
    return 0;
}

static int finish_rec(Graph *g)
{
    if (finish_graph(g)) return -1;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        FOR_SUBGRAPHS(n, sub, {
            sub->parent = g;
            if (finish_rec(sub)) return -1;
        })
    }
    return 0;
}

void node_save_orig(Node *n)
{
    if (n->orig) return;
    NodeOrig *o = pool_alloc(n->g->pool, sizeof *o);
    *o = (NodeOrig){ n->op, n->opset, n->in, n->out, n->nin, n->nout, n->nattrs };
    n->orig = o;
}

void ir_reset_inferred(Graph *g)
{
    /* rewritten nodes first: the rewrite read the lists of the previous inference */
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        const NodeOrig *o = n->orig;
        if (!o) continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k]) n->in[k]->nuses--;
        for (int k = 0; k < o->nin; k++)
            if (o->in[k]) o->in[k]->nuses++;
        n->op = o->op;
        n->opset = o->opset;
        n->in = o->in;
        n->nin = o->nin;
        n->out = o->out;
        n->nout = o->nout;
        n->nattrs = o->nattrs;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k]) n->out[k]->producer = n;
    }
    /* nested bodies fold too: their folded values may differ with the new types */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        for (int a = 0; a < n->nattrs; a++) {
            const Attr *at = &n->attrs[a];
            if (at->kind == A_GRAPH && at->g) ir_reset_inferred(at->g);
            for (int k = 0; at->kind == A_GRAPHS && k < at->n; k++)
                if (at->graphs[k]) ir_reset_inferred(at->graphs[k]);
        }
    }
    for (int v = 0; v < g->nvalues; v++) {
        Value *bv = g->values[v];
        if (!bv->producer) continue;
        bv->has_type = 0;
        bv->data = NULL;
        bv->dyn = 0;
        bv->seq = bv->none = 0;
        bv->elems = NULL;
        bv->nelems = 0;
    }
}

int ir_finish(Graph *g)
{
    if (g->err) return -1;
    if (mark_producers(g)) return -1;
    /* counts from the nested graphs are added on top of g's own, so reset only here */
    return finish_rec(g);
}

/* ---- attributes ---- */

const Attr *attr_get(const Node *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t attr_i(const Node *n, const char *name, int64_t def)
{
    const Attr *a = attr_get(n, name);
    if (!a) return def;
    if (a->kind == A_INT) return a->i;
    /* a float where an int belongs: truncated, saturated at int64's range (converting
     * beyond it is undefined), NaN read as absent; the operator's range checks follow */
    if (a->kind == A_FLOAT) {
        if (a->f != a->f) return def;
        if (a->f <= -9.2e18f) return INT64_MIN;
        if (a->f >= 9.2e18f) return INT64_MAX;
        return (int64_t)a->f;
    }
    return def;
}

float attr_f(const Node *n, const char *name, float def)
{
    const Attr *a = attr_get(n, name);
    if (!a) return def;
    if (a->kind == A_FLOAT) return a->f;
    if (a->kind == A_INT) return (float)a->i;
    return def;
}

const char *attr_s(const Node *n, const char *name, const char *def)
{
    const Attr *a = attr_get(n, name);
    return a && a->kind == A_STRING && a->s ? a->s : def;
}

const int64_t *attr_ints(const Node *n, const char *name, int *count)
{
    const Attr *a = attr_get(n, name);
    if (a && a->kind == A_INTS) {
        if (count) *count = a->n;
        /* an empty list is present: hand back a non-NULL pointer */
        return a->ints ? a->ints : (const int64_t *)&a->i;
    }
    if (a && a->kind == A_INT) { /* a lone int where a list is expected reads as [i] */
        if (count) *count = 1;
        return &a->i;
    }
    if (count) *count = 0;
    return NULL;
}

const float *attr_floats(const Node *n, const char *name, int *count)
{
    const Attr *a = attr_get(n, name);
    if (a && a->kind == A_FLOATS) {
        if (count) *count = a->n;
        return a->floats ? a->floats : &a->f;
    }
    if (a && a->kind == A_FLOAT) {
        if (count) *count = 1;
        return &a->f;
    }
    if (count) *count = 0;
    return NULL;
}

Value *node_in(const Node *n, int i)
{
    return i >= 0 && i < n->nin ? n->in[i] : NULL;
}

Value *node_out(const Node *n, int i)
{
    return i >= 0 && i < n->nout ? n->out[i] : NULL;
}

/* ---- constants ---- */

static double half_to_double(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double r;
    if (e == 0)
        r = ldexp(m, -24); /* subnormal */
    else if (e == 31)
        r = m ? (double)NAN : (double)INFINITY;
    else
        r = ldexp(1024 + m, e - 25);
    return sign ? -r : r;
}

static double bf16_to_double(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double const_elem_f(const Value *v, int64_t i)
{
    const unsigned char *d = v->data;
    if (!d) return 0.0;
    switch (v->type.dt) {
    case DT_F32: { float x; memcpy(&x, d + i * 4, 4); return x; }
    case DT_F64: { double x; memcpy(&x, d + i * 8, 8); return x; }
    case DT_F16: { uint16_t x; memcpy(&x, d + i * 2, 2); return half_to_double(x); }
    case DT_BF16: { uint16_t x; memcpy(&x, d + i * 2, 2); return bf16_to_double(x); }
    case DT_I8: case DT_I4: case DT_I2: return ((const int8_t *)d)[i];
    case DT_U8: case DT_U4: case DT_U2: return d[i];
    case DT_BOOL: return d[i] != 0;
    case DT_I16: { int16_t x; memcpy(&x, d + i * 2, 2); return x; }
    case DT_U16: { uint16_t x; memcpy(&x, d + i * 2, 2); return x; }
    case DT_I32: { int32_t x; memcpy(&x, d + i * 4, 4); return x; }
    case DT_U32: { uint32_t x; memcpy(&x, d + i * 4, 4); return x; }
    case DT_I64: case DT_IDX: { int64_t x; memcpy(&x, d + i * 8, 8); return (double)x; }
    case DT_U64: { uint64_t x; memcpy(&x, d + i * 8, 8); return (double)x; }
    default: return 0.0;
    }
}

static int is_int_dt(DType t)
{
    switch (t) {
    case DT_I8: case DT_U8: case DT_I16: case DT_U16: case DT_I32: case DT_U32:
    case DT_I64: case DT_U64: case DT_IDX:
        return 1;
    default:
        return 0;
    }
}

int const_ints(const Node *n, int input, int64_t **vals)
{
    Value *v = node_in(n, input);
    if (!v) return node_err(n, "input %d is missing", input);
    if (!v->data || !v->has_type)
        return node_need_const(n, v, "input %d '%s' must be a constant (an initializer or "
                               "computable at compile time)", input, v->name);
    if (!is_int_dt(v->type.dt))
        return node_err(n, "input %d '%s' must be an integer tensor, not %s", input, v->name,
                        dt_name(v->type.dt));
    int64_t cnt = type_numel(&v->type);
    if (cnt < 0 || cnt > INT32_MAX)
        return node_err(n, "input %d '%s' has an unusable element count", input, v->name);
    int64_t *r = pool_alloc(n->g->pool, (size_t)(cnt ? cnt : 1) * sizeof *r);
    const unsigned char *d = v->data;
    for (int64_t i = 0; i < cnt; i++) {
        switch (v->type.dt) {
        case DT_I64: case DT_IDX: case DT_U64: memcpy(&r[i], d + i * 8, 8); break;
        case DT_I32: { int32_t x; memcpy(&x, d + i * 4, 4); r[i] = x; break; }
        case DT_U32: { uint32_t x; memcpy(&x, d + i * 4, 4); r[i] = x; break; }
        case DT_I16: { int16_t x; memcpy(&x, d + i * 2, 2); r[i] = x; break; }
        case DT_U16: { uint16_t x; memcpy(&x, d + i * 2, 2); r[i] = x; break; }
        case DT_I8: r[i] = ((const int8_t *)d)[i]; break;
        default: r[i] = d[i]; break; /* DT_U8 */
        }
    }
    if (vals) *vals = r;
    return (int)cnt;
}
