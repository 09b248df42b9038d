/* control.c — control flow: If, Loop, Scan. Their bodies are subgraphs (GraphProto
 * attributes) that load.c read and ir_finish scoped; here they are shape-inferred against
 * the values they capture and lowered into the holder's own function (lw_subgraph), so a
 * branch or a loop body is ordinary loop IR: a KS_IF, or a bounded KS_FOR. No back end
 * learns anything new, and no generated code recurses or allocates.
 *
 * - If: a condition known at compile time (a constant, a folded value, a --freeze'd input)
 *   lowers the taken branch alone, so no branch is left; otherwise both branches are lowered
 *   under one `if`, each writing the node's outputs directly where its producer allows.
 *   Both branches must then give the same output types (a static shape per output). */
#include <string.h>
#include "../onnxcc.h"

static Graph *graph_attr(Node *n, const char *name)
{
    const Attr *a = attr_get(n, name);
    return a && a->kind == A_GRAPH ? a->g : NULL;
}

/* Infers a body whose inputs already carry their types; errors keep the inner node's name. */
static int infer_body(Node *n, Graph *sub, const char *what)
{
    if (shape_infer(sub) != 0) {
        if (!n->g->err) node_err(n, "%s: %s", what, sub->err ? sub->err : "shape inference failed");
        return -1;
    }
    return 0;
}

/* 1 where v is known outside the subgraphs of n's node: a constant, or a value of n's
 * graph or of one enclosing it. A list output of a folded If or an unrolled Loop may hold
 * only such elements (no code of the subgraph is lowered for it). */
static int from_outside(const Node *n, const Value *v)
{
    if (v->data || !v->producer) return 1;
    for (const Graph *g = n->g; g; g = g->parent)
        if (v->producer->g == g) return 1;
    return 0;
}

/* The condition as a compile-time truth value: 1/0, or -1 when only known at run time. */
static int const_cond(const Node *n)
{
    const Value *c = n->in[0];
    if (!c->data) return -1;
    return const_elem_f(c, 0) != 0;
}

int if_infer(Node *n)
{
    Graph *br[2] = { graph_attr(n, "then_branch"), graph_attr(n, "else_branch") };
    if (!br[0] || !br[1]) return node_err(n, "needs graph attributes then_branch and else_branch");
    Value *c = node_in(n, 0);
    if (!c || n->nin != 1) return node_err(n, "needs exactly one input, the condition");
    if (c->type.dt != DT_BOOL || type_numel(&c->type) != 1)
        return node_err(n, "the condition '%s' is %s; a single bool is expected", c->name,
                        type_str(n->g->pool, &c->type));
    for (int b = 0; b < 2; b++) {
        if (br[b]->ninputs)
            return node_err(n, "%s takes %d inputs; an If branch takes none",
                            b ? "else_branch" : "then_branch", br[b]->ninputs);
        if (br[b]->noutputs != n->nout)
            return node_err(n, "%s has %d outputs, the node %d", b ? "else_branch" : "then_branch",
                            br[b]->noutputs, n->nout);
    }
    int taken = const_cond(n);
    /* a folded condition: the other branch is never compiled, so it need not even type */
    for (int b = 0; b < 2; b++)
        if (taken < 0 || taken == !b)
            if (infer_body(n, br[b], b ? "else_branch" : "then_branch")) return -1;
    for (int i = 0; i < n->nout; i++) {
        Value *o = n->out[i];
        if (!o) continue;
        const Value *tv = br[0]->outputs[i], *ev = br[1]->outputs[i];
        if (taken < 0 && (value_is_list(tv) || value_is_list(ev)))
            return node_need_const(n, c, "output %d is a sequence or optional, whose length "
                                   "and presence are compile-time facts: the condition '%s' "
                                   "must be known at compile time (--freeze)", i, c->name);
        if (taken >= 0 && value_is_list(taken ? tv : ev)) {
            /* the If only names a list of the taken branch's values: they must not need the
             * branch's code, which a list output does not lower */
            const Value *v = taken ? tv : ev;
            for (int e = 0; v->seq && e < v->nelems; e++)
                if (!from_outside(n, v->elems[e]))
                    return node_err(n, "output %d is a sequence whose element %d is computed "
                                    "in the branch at run time; only elements known at compile "
                                    "time or computed outside the If are supported", i, e);
            o->seq = v->seq;
            o->none = v->none;
            o->elems = v->elems;
            o->nelems = v->nelems;
            o->type.dt = v->type.dt;
            continue;
        }
        if (taken >= 0) {
            const Value *v = taken ? tv : ev;
            o->type = v->type;
            o->has_type = 1;
            o->data = v->data;   /* a constant branch result folds the whole If */
            continue;
        }
        if (!type_equal(&tv->type, &ev->type))
            return node_err(n, "output %d is %s in then_branch and %s in else_branch: branches of "
                            "different shapes are not supported with a run-time condition "
                            "(freeze the condition with --freeze)", i,
                            type_str(n->g->pool, &tv->type), type_str(n->g->pool, &ev->type));
        o->type = tv->type;
        o->has_type = 1;
    }
    return 0;
}

int if_lower(Node *n, Lower *L)
{
    Graph *br[2] = { graph_attr(n, "then_branch"), graph_attr(n, "else_branch") };
    int outs[16];
    for (int i = 0; i < n->nout && i < 16; i++) outs[i] = n->out[i] ? lw_out(L, i) : -1;
    for (int i = 0; i < n->nout && i < 16; i++)
        if (n->out[i] && outs[i] < 0) return -1;
    int taken = const_cond(n);
    if (taken >= 0) return lw_subgraph(L, br[taken ? 0 : 1], NULL, outs);
    int cb = lw_in(L, 0);
    if (cb < 0) return -1;
    KB *k = L->k;
    kif(k, kload(k, cb, kc_idx(k, 0)));
    if (lw_subgraph(L, br[0], NULL, outs)) return -1;
    kelse(k);
    if (lw_subgraph(L, br[1], NULL, outs)) return -1;
    kend(k);
    return 0;
}

/* ---- Loop ----
 * Inputs M (trip count), cond, v_initial...; body (iter_num, cond_in, v_in...) ->
 * (cond_out, v_out..., scan...). The carried values live in the node's outputs (or scratch
 * when an output is absent), so they are arena slots like any tensor; each iteration the
 * body writes the next values into scratch, copied back after it (the body may still read
 * the old ones while it writes). The early exit is a guard on the running condition: a
 * bounded KS_FOR needs no break. A trip count known at compile time bounds the loop (HLS
 * needs that); a run-time M is the loop's bound on the CPU targets. Scan outputs need a
 * trip count that is a constant and a condition that cannot end the loop early, so their
 * length is static. */

/* 1 when the body hands its condition through unchanged (cond_out = cond_in, directly or
 * by Identity) and the initial condition is absent or constant true: no early exit. */
static int loop_never_exits(const Node *n, const Graph *body)
{
    const Value *c0 = node_in(n, 1);
    if (c0 && (!c0->data || const_elem_f(c0, 0) == 0)) return 0;
    const Value *co = body->outputs[0];
    if (co->data) return const_elem_f(co, 0) != 0;
    if (co == body->inputs[1]) return 1;
    return co->producer && co->producer->op == OP_Identity && co->producer->in[0] == body->inputs[1];
}

static int loop_trip_const(const Node *n, int64_t *trip)
{
    const Value *m = node_in(n, 0);
    if (!m || !m->data) return 0;
    *trip = (int64_t)const_elem_f(m, 0);
    if (*trip < 0) *trip = 0;
    return 1;
}

/* --max-trip NODE=N for this Loop (the root graph holds the bindings): 1 with *bound */
static int loop_max_trip(const Node *n, int64_t *bound)
{
    const Graph *r = n->g;
    while (r->parent) r = r->parent;
    for (int i = 0; n->name && i < r->nmax_trip; i++)
        if (!strcmp(r->max_trip_nodes[i], n->name)) {
            *bound = r->max_trips[i];
            return 1;
        }
    return 0;
}

/* A value the unrolled body computed, kept past the next iteration's inference (which
 * forgets the body's values): a constant of the enclosing graph. */
static Value *loop_keep(Node *n, Graph *body, Value *v, int iter)
{
    if (v->id < 0 || v->id >= body->nvalues || body->values[v->id] != v || !v->producer)
        return v;   /* not the body's own: an outer value, or kept already */
    Value *k = ir_value(n->g, pool_fmt(n->g->pool, "%s:%s@%d", n->name, v->name, iter));
    k->kind = V_WEIGHT;
    k->has_type = 1;
    k->type = v->type;
    k->data = v->data;
    return k;
}

/* A Loop that carries a sequence or an optional: a list's length changes from iteration
 * to iteration, so the loop is unrolled at compile time (its trip count and condition must
 * be known then) and folds to its final values. Every carried value must then be known
 * at compile time too; elements computed at run time are refused. */
static int loop_unroll_lists(Node *n, Graph *body, int nc, int nk)
{
    Value *m = node_in(n, 0), *c = node_in(n, 1);
    if (nk) return node_err(n, "a Loop that carries a sequence cannot have scan outputs");
    if (!m)
        return node_err(n, "a Loop that carries a sequence is unrolled at compile time: it "
                        "needs a trip count M");
    if (!m->data)
        return node_need_const(n, m, "a Loop that carries a sequence is unrolled at compile "
                               "time: its trip count M must be known then");
    if (c && !c->data)
        return node_need_const(n, c, "a Loop that carries a sequence is unrolled at compile "
                               "time: its condition must be known then");
    int64_t trips = (int64_t)const_elem_f(m, 0);
    if (trips > 1024)
        return node_err(n, "a Loop that carries a sequence is unrolled: %lld iterations are too "
                        "many (at most 1024)", (long long)trips);
    Pool *p = n->g->pool;
    Value **cur = pool_alloc(p, sizeof *cur * (size_t)(nc + 1));
    for (int i = 0; i < nc; i++) cur[i] = n->in[2 + i];
    int go = !c || const_elem_f(c, 0) != 0;
    for (int64_t it = 0; it < trips && go; it++) {
        ir_reset_inferred(body);
        Value *bi = body->inputs[0], *bc = body->inputs[1];
        int64_t *iv = pool_alloc(p, sizeof *iv);
        unsigned char *cv = pool_alloc(p, 1);
        *iv = it;
        *cv = 1;
        bi->type = (Type){ DT_I64, 0, { 0 } };
        bc->type = (Type){ DT_BOOL, 0, { 0 } };
        bi->data = iv;
        bc->data = cv;
        bi->has_type = bc->has_type = 1;
        for (int i = 0; i < nc; i++) {
            Value *v = body->inputs[2 + i], *s = cur[i];
            if (!value_is_list(s) && !s->data)
                return node_err(n, "loop-carried value %d '%s' is computed at run time; a Loop "
                                "that carries a sequence is unrolled and folds whole", i, s->name);
            v->type = s->type;
            v->has_type = !value_is_list(s);
            v->data = s->data;
            v->seq = s->seq;
            v->none = s->none;
            v->elems = s->elems;
            v->nelems = s->nelems;
        }
        if (infer_body(n, body, "body")) return -1;
        Value *co = body->outputs[0];
        if (!co->data)
            return node_err(n, "the body's condition is computed at run time; a Loop that "
                            "carries a sequence is unrolled and needs it at compile time");
        go = const_elem_f(co, 0) != 0;
        for (int i = 0; i < nc; i++) {
            Value *o = body->outputs[1 + i], *k;
            if (o->none) {
                k = pool_alloc(p, sizeof *k);
                k->name = o->name;
                k->none = 1;
            } else if (o->seq) {
                k = pool_alloc(p, sizeof *k);
                k->name = o->name;
                k->id = -1;
                k->seq = 1;
                k->type.dt = o->type.dt;
                k->nelems = o->nelems;
                k->elems = pool_alloc(p, sizeof *k->elems * (size_t)(o->nelems + 1));
                for (int e = 0; e < o->nelems; e++) {
                    if (!from_outside(n, o->elems[e]))
                        return node_err(n, "element %d of loop-carried sequence '%s' is "
                                        "computed at run time; a Loop that carries a sequence "
                                        "is unrolled and folds whole", e, o->name);
                    k->elems[e] = loop_keep(n, body, o->elems[e], (int)it);
                }
            } else {
                if (!o->data)
                    return node_err(n, "loop-carried value %d '%s' is computed at run time; a "
                                    "Loop that carries a sequence is unrolled and folds whole",
                                    i, o->name);
                k = loop_keep(n, body, o, (int)it);
            }
            cur[i] = k;
        }
    }
    for (int i = 0; i < nc; i++) {
        Value *o = n->out[i], *s = cur[i];
        if (!o) continue;
        o->type = s->type;
        o->has_type = !value_is_list(s);
        o->data = s->data;
        o->seq = s->seq;
        o->none = s->none;
        o->elems = s->elems;
        o->nelems = s->nelems;
    }
    return 0;
}

int loop_infer(Node *n)
{
    Graph *body = graph_attr(n, "body");
    if (!body) return node_err(n, "needs a graph attribute body");
    if (n->nin < 2) return node_err(n, "needs inputs M and cond (either may be empty)");
    int nc = n->nin - 2;               /* loop-carried values */
    int nk = n->nout - nc;             /* scan outputs */
    if (nk < 0) return node_err(n, "has %d outputs for %d loop-carried values", n->nout, nc);
    if (body->ninputs != nc + 2 || body->noutputs != nc + 1 + nk)
        return node_err(n, "its body takes %d inputs and gives %d outputs; %d and %d expected",
                        body->ninputs, body->noutputs, nc + 2, nc + 1 + nk);
    const Value *m = node_in(n, 0), *c = node_in(n, 1);
    if (m && (m->type.dt != DT_I64 || type_numel(&m->type) != 1))
        return node_err(n, "trip count M '%s' is %s; an int64 scalar is expected", m->name,
                        type_str(n->g->pool, &m->type));
    if (c && (c->type.dt != DT_BOOL || type_numel(&c->type) != 1))
        return node_err(n, "condition '%s' is %s; a bool scalar is expected", c->name,
                        type_str(n->g->pool, &c->type));
    int64_t bound;
    if (!m && !loop_max_trip(n, &bound))
        return node_err(n, "a Loop without a trip count M (ended by its condition alone) has no "
                        "static bound on its iterations: give one with --max-trip %s=N",
                        n->name);
    for (int i = 0; i < nc; i++)
        if (!n->in[2 + i]) return node_err(n, "loop-carried initial value %d is empty", i);
    for (int i = 0; i < nc; i++)
        if (value_is_list(n->in[2 + i])) return loop_unroll_lists(n, body, nc, nk);
    Value *bi[2] = { body->inputs[0], body->inputs[1] };
    bi[0]->type.dt = DT_I64;
    bi[0]->type.rank = 0;
    bi[1]->type.dt = DT_BOOL;
    bi[1]->type.rank = 0;
    for (int i = 0; i < 2; i++) {
        bi[i]->has_type = 1;
        bi[i]->data = NULL;
    }
    for (int i = 0; i < nc; i++) {
        Value *v = body->inputs[2 + i];
        v->type = n->in[2 + i]->type;
        v->has_type = 1;
        v->data = NULL;
    }
    if (infer_body(n, body, "body")) return -1;
    if (body->outputs[0]->type.dt != DT_BOOL || type_numel(&body->outputs[0]->type) != 1)
        return node_err(n, "the body's condition output is %s; a bool scalar is expected",
                        type_str(n->g->pool, &body->outputs[0]->type));
    for (int i = 0; i < nc; i++) {
        const Value *vo = body->outputs[1 + i];
        if (!type_equal(&vo->type, &n->in[2 + i]->type))
            return node_err(n, "loop-carried value %d is %s before the loop and %s after an "
                            "iteration: values that change shape across iterations are not "
                            "supported", i, type_str(n->g->pool, &n->in[2 + i]->type),
                            type_str(n->g->pool, &vo->type));
        if (n->out[i]) {
            n->out[i]->type = vo->type;
            n->out[i]->has_type = 1;
        }
    }
    int64_t trip = 0;
    if (nk > 0) {
        if (!loop_trip_const(n, &trip))
            return node_need_const(n, node_in(n, 0), "scan outputs of a Loop whose trip count M "
                                   "is not a compile-time constant are not supported (their "
                                   "length would depend on data)");
        if (!loop_never_exits(n, body))
            return node_err(n, "scan outputs of a Loop whose condition may end it early are not "
                            "supported (their length would depend on data; the condition is "
                            "not a compile-time constant)");
    }
    for (int k = 0; k < nk; k++) {
        const Value *so = body->outputs[1 + nc + k];
        Value *o = n->out[nc + k];
        if (!o) continue;
        if (so->type.rank + 1 > KIR_MAX_RANK)
            return node_err(n, "scan output %d would have rank %d", k, so->type.rank + 1);
        o->type.dt = so->type.dt;
        o->type.rank = so->type.rank + 1;
        o->type.dims[0] = trip;
        for (int d = 0; d < so->type.rank; d++) o->type.dims[1 + d] = so->type.dims[d];
        o->has_type = 1;
    }
    return 0;
}

/* dst[0..n) = src[0..n) */
static void copy_buf(KB *k, int dst, int src, int64_t n)
{
    int v = kfor_n(k, n, KL_VECTOR);
    kstore(k, dst, kvar(k, v), kload(k, src, kvar(k, v)));
    kend(k);
}

int loop_lower(Node *n, Lower *L)
{
    Graph *body = graph_attr(n, "body");
    KB *k = L->k;
    int nc = n->nin - 2, nk = n->nout - nc;
    if (nc + 2 > 16 || nc + 1 + nk > 16) return node_err(n, "too many loop values to lower");
    int in_b[16], out_b[16], state[16];
    in_b[0] = lw_temp(L, DT_I64, 1);
    in_b[1] = lw_temp(L, DT_BOOL, 1);
    if (in_b[0] < 0 || in_b[1] < 0) return -1;
    for (int i = 0; i < nc; i++) {
        const Type *t = &n->in[2 + i]->type;
        int64_t cnt = type_numel(t);
        state[i] = n->out[i] ? lw_out(L, i) : lw_temp(L, t->dt, cnt);
        int init = lw_in(L, 2 + i);
        if (state[i] < 0 || init < 0) return -1;
        copy_buf(k, state[i], init, cnt);
        in_b[2 + i] = state[i];
        out_b[1 + i] = lw_temp(L, t->dt, cnt);
        if (out_b[1 + i] < 0) return -1;
    }
    out_b[0] = lw_temp(L, DT_BOOL, 1);
    if (out_b[0] < 0) return -1;
    int scan_out[16];
    for (int j = 0; j < nk; j++) {
        const Value *so = body->outputs[1 + nc + j];
        scan_out[j] = n->out[nc + j] ? lw_out(L, nc + j) : -1;
        out_b[1 + nc + j] = scan_out[j] >= 0 ? lw_temp(L, so->type.dt, type_numel(&so->type)) : -1;
    }
    const Value *c0 = node_in(n, 1);
    if (c0) {
        int cb = lw_in(L, 1);
        if (cb < 0) return -1;
        kstore(k, in_b[1], kc_idx(k, 0), kload(k, cb, kc_idx(k, 0)));
    } else {
        kstore(k, in_b[1], kc_idx(k, 0), kc_int(k, DT_BOOL, 1));
    }
    int64_t trip;
    KExpr *hi;
    int m_guard = -1;   /* --max-trip over a run-time M: the bound, and it < M inside */
    if (loop_trip_const(n, &trip)) {
        hi = kc_idx(k, trip);
    } else if (loop_max_trip(n, &trip)) {
        hi = kc_idx(k, trip);
        if (node_in(n, 0) && (m_guard = lw_in(L, 0)) < 0) return -1;
    } else {
        int mb = lw_in(L, 0);
        if (mb < 0) return -1;
        KExpr *m = kbin(k, KB_MAX, kload(k, mb, kc_idx(k, 0)), kc_int(k, DT_I64, 0));
        hi = kcast(k, DT_IDX, m);
    }
    int guard = !loop_never_exits(n, body);
    int it = kfor(k, kc_idx(k, 0), hi, KL_SERIAL);
    if (m_guard >= 0)
        kif(k, kbin(k, KB_LT, kcast(k, DT_I64, kvar(k, it)), kload(k, m_guard, kc_idx(k, 0))));
    if (guard) kif(k, kload(k, in_b[1], kc_idx(k, 0)));
    kstore(k, in_b[0], kc_idx(k, 0), kcast(k, DT_I64, kvar(k, it)));
    if (lw_subgraph(L, body, in_b, out_b)) return -1;
    kstore(k, in_b[1], kc_idx(k, 0), kload(k, out_b[0], kc_idx(k, 0)));
    for (int i = 0; i < nc; i++) copy_buf(k, state[i], out_b[1 + i], type_numel(&n->in[2 + i]->type));
    for (int j = 0; j < nk; j++) {
        if (scan_out[j] < 0) continue;
        int64_t sz = type_numel(&body->outputs[1 + nc + j]->type);
        int v = kfor_n(k, sz, KL_VECTOR);
        kstore(k, scan_out[j], kadd(k, kmuli(k, kvar(k, it), sz), kvar(k, v)),
               kload(k, out_b[1 + nc + j], kvar(k, v)));
        kend(k);
    }
    if (guard) kend(k);
    if (m_guard >= 0) kend(k);
    kend(k);
    return 0;
}

/* ---- Scan (opset 9 and later) ----
 * Inputs: N initial states, then num_scan_inputs sequences; the body maps (states, one
 * slice of each sequence along its axis) -> (next states, one slice of each scan output).
 * The trip count is the sequences' length along their axes: always static. Each iteration
 * gathers the slices into scratch, runs the body, copies the states back and scatters the
 * scan slices into the outputs (reversed where a direction says so). */

typedef struct ScanAxes {
    int64_t outer, len, inner;   /* elements before, along, after the axis */
} ScanAxes;

static ScanAxes scan_split(const Type *t, int axis)
{
    ScanAxes s = { 1, t->dims[axis], 1 };
    for (int d = 0; d < axis; d++) s.outer *= t->dims[d];
    for (int d = axis + 1; d < t->rank; d++) s.inner *= t->dims[d];
    return s;
}

/* Attribute list entry i (axes or directions), def when absent; -1 with node_err if the
 * list is too short. */
static int scan_attr(const Node *n, const char *name, int i, int64_t def, int64_t *out)
{
    int cnt = 0;
    const int64_t *v = attr_ints(n, name, &cnt);
    if (!v) {
        *out = def;
        return 0;
    }
    if (i >= cnt) return node_err(n, "attribute %s has %d entries; entry %d is needed", name, cnt, i);
    *out = v[i];
    return 0;
}

static int scan_in_axis(Node *n, int j, int rank, int *axis, int *rev)
{
    int64_t a = 0, d = 0;
    if (scan_attr(n, "scan_input_axes", j, 0, &a) || scan_attr(n, "scan_input_directions", j, 0, &d))
        return -1;
    *rev = d != 0;
    return norm_axis(n, a, rank, axis);
}

static int scan_out_axis(Node *n, int j, int rank, int *axis, int *rev)
{
    int64_t a = 0, d = 0;
    if (scan_attr(n, "scan_output_axes", j, 0, &a) ||
        scan_attr(n, "scan_output_directions", j, 0, &d))
        return -1;
    *rev = d != 0;
    return norm_axis(n, a, rank, axis);
}

/* ---- Scan at opset 8 ----
 * Batched: input 0 is sequence_lens (optional), then the states [B, ...] and the scan
 * inputs [B, T, ...] (the scan axis is 1); the body sees one batch entry's state and one
 * step's slice. Lowered as a loop over the batch around opset 9's step loop. sequence_lens
 * must be absent or a constant of full lengths: shorter sequences (whose states stop and
 * whose outputs pad) are not compiled. */
static int scan8_infer(Node *n, Graph *body)
{
    int m = (int)attr_i(n, "num_scan_inputs", -1);
    int nv = n->nin - 1;   /* values after sequence_lens */
    if (m < 1 || m > nv) return node_err(n, "num_scan_inputs %d does not fit its %d inputs", m, nv);
    int ns = nv - m, nk = n->nout - ns;
    if (nk < 0) return node_err(n, "has %d outputs for %d states", n->nout, ns);
    if (body->ninputs != nv || body->noutputs != n->nout)
        return node_err(n, "its body takes %d inputs and gives %d outputs; %d and %d expected",
                        body->ninputs, body->noutputs, nv, n->nout);
    int64_t B = -1, T = -1;
    for (int i = 1; i < n->nin; i++) {
        Value *x = node_in(n, i);
        if (!x) return node_err(n, "input %d is empty", i);
        int scan = i - 1 >= ns;
        if (x->type.rank < 1 + scan)
            return node_err(n, "input '%s' needs a batch axis%s", x->name, scan ? " and a scan axis" : "");
        if (B >= 0 && x->type.dims[0] != B)
            return node_err(n, "input '%s' has batch %lld, the first one %lld", x->name,
                            (long long)x->type.dims[0], (long long)B);
        B = x->type.dims[0];
        if (scan) {
            if (T >= 0 && x->type.dims[1] != T)
                return node_err(n, "scan input '%s' has %lld steps, the first one %lld", x->name,
                                (long long)x->type.dims[1], (long long)T);
            T = x->type.dims[1];
        }
        Value *bi = body->inputs[i - 1];
        bi->type = x->type;
        bi->type.rank = x->type.rank - 1 - scan;
        for (int d = 0; d < bi->type.rank; d++) bi->type.dims[d] = x->type.dims[d + 1 + scan];
        bi->has_type = 1;
        bi->data = NULL;
    }
    Value *sl = node_in(n, 0);
    if (sl) {
        if (!sl->data)
            return node_need_const(n, sl, "sequence_lens must be a compile-time constant of full "
                                          "lengths (initializer or --freeze)");
        for (int64_t b = 0; b < type_numel(&sl->type); b++)
            if ((int64_t)const_elem_f(sl, b) != T)
                return node_err(n, "sequence_lens[%lld] = %lld is shorter than the %lld steps: "
                                   "partial sequences are not supported", (long long)b,
                                (long long)const_elem_f(sl, b), (long long)T);
    }
    if (infer_body(n, body, "body")) return -1;
    for (int i = 0; i < ns; i++) {
        const Type *st = &body->outputs[i]->type, *in = &n->in[1 + i]->type;
        if (st->dt != in->dt || type_numel(st) * B != type_numel(in))
            return node_err(n, "state %d is %s before the scan and %s after a step", i,
                            type_str(n->g->pool, in), type_str(n->g->pool, st));
        if (n->out[i]) {
            n->out[i]->type = *in;
            n->out[i]->has_type = 1;
        }
    }
    for (int j = 0; j < nk; j++) {
        const Value *so = body->outputs[ns + j];
        Value *o = n->out[ns + j];
        if (!o) continue;
        if (so->type.rank + 2 > KIR_MAX_RANK)
            return node_err(n, "scan output %d would have rank %d", j, so->type.rank + 2);
        o->type.dt = so->type.dt;
        o->type.rank = so->type.rank + 2;
        o->type.dims[0] = B;
        o->type.dims[1] = T;
        for (int d = 0; d < so->type.rank; d++) o->type.dims[d + 2] = so->type.dims[d];
        o->has_type = 1;
    }
    return 0;
}

static int scan8_lower(Node *n, Lower *L, Graph *body)
{
    KB *k = L->k;
    int m = (int)attr_i(n, "num_scan_inputs", 1), nv = n->nin - 1;
    int ns = nv - m, nk = n->nout - ns;
    if (nv > 16 || n->nout > 16) return node_err(n, "too many scan values to lower");
    int in_b[16], out_b[16], state[16], init[16], seq[16], scan_out[16];
    int64_t B = n->in[1]->type.dims[0], T = n->in[1 + ns]->type.dims[1];
    for (int i = 0; i < ns; i++) {
        int64_t cnt = type_numel(&body->inputs[i]->type);
        init[i] = lw_in(L, 1 + i);
        state[i] = lw_temp(L, body->inputs[i]->type.dt, cnt);
        out_b[i] = lw_temp(L, body->inputs[i]->type.dt, cnt);
        in_b[i] = state[i];
        if (init[i] < 0 || state[i] < 0 || out_b[i] < 0) return -1;
    }
    for (int i = ns; i < nv; i++) {
        seq[i] = lw_in(L, 1 + i);
        in_b[i] = lw_temp(L, body->inputs[i]->type.dt, type_numel(&body->inputs[i]->type));
        if (seq[i] < 0 || in_b[i] < 0) return -1;
    }
    for (int j = 0; j < nk; j++) {
        const Value *so = body->outputs[ns + j];
        scan_out[j] = n->out[ns + j] ? lw_out(L, ns + j) : -1;
        out_b[ns + j] = lw_temp(L, so->type.dt, type_numel(&so->type));
        if (out_b[ns + j] < 0) return -1;
    }
    int fin[16];
    for (int i = 0; i < ns; i++) fin[i] = n->out[i] ? lw_out(L, i) : -1;
    int b = kfor_n(k, B, KL_SERIAL);
    for (int i = 0; i < ns; i++) {  /* this batch entry's initial state */
        int64_t cnt = type_numel(&body->inputs[i]->type);
        int v = kfor_n(k, cnt, KL_VECTOR);
        kstore(k, state[i], kvar(k, v), kload(k, init[i], kadd(k, kmuli(k, kvar(k, b), cnt), kvar(k, v))));
        kend(k);
    }
    int it = kfor_n(k, T, KL_SERIAL);
    for (int i = ns; i < nv; i++) {
        int64_t d = 0, cnt = type_numel(&body->inputs[i]->type);
        if (scan_attr(n, "directions", i - ns, 0, &d)) return -1;
        KExpr *t = d ? ksub(k, kc_idx(k, T - 1), kvar(k, it)) : kvar(k, it);
        int v = kfor_n(k, cnt, KL_VECTOR);
        KExpr *src = kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, b), T), t), cnt), kvar(k, v));
        kstore(k, in_b[i], kvar(k, v), kload(k, seq[i], src));
        kend(k);
    }
    if (lw_subgraph(L, body, in_b, out_b)) return -1;
    for (int i = 0; i < ns; i++) copy_buf(k, state[i], out_b[i], type_numel(&body->inputs[i]->type));
    for (int j = 0; j < nk; j++) {
        if (scan_out[j] < 0) continue;
        int64_t cnt = type_numel(&body->outputs[ns + j]->type);
        int v = kfor_n(k, cnt, KL_VECTOR);
        KExpr *dst = kadd(k, kmuli(k, kadd(k, kmuli(k, kvar(k, b), T), kvar(k, it)), cnt), kvar(k, v));
        kstore(k, scan_out[j], dst, kload(k, out_b[ns + j], kvar(k, v)));
        kend(k);
    }
    kend(k);   /* steps */
    for (int i = 0; i < ns; i++) {
        if (fin[i] < 0) continue;
        int64_t cnt = type_numel(&body->inputs[i]->type);
        int v = kfor_n(k, cnt, KL_VECTOR);
        kstore(k, fin[i], kadd(k, kmuli(k, kvar(k, b), cnt), kvar(k, v)), kload(k, state[i], kvar(k, v)));
        kend(k);
    }
    kend(k);   /* batch */
    return 0;
}

int scan_infer(Node *n)
{
    Graph *body = graph_attr(n, "body");
    if (!body) return node_err(n, "needs a graph attribute body");
    if (n->opset < 9) return scan8_infer(n, body);
    int m = (int)attr_i(n, "num_scan_inputs", -1);
    if (m < 1 || m > n->nin) return node_err(n, "num_scan_inputs %d does not fit its %d inputs", m, n->nin);
    int ns = n->nin - m, nk = n->nout - ns;
    if (nk < 0) return node_err(n, "has %d outputs for %d states", n->nout, ns);
    if (body->ninputs != n->nin || body->noutputs != n->nout)
        return node_err(n, "its body takes %d inputs and gives %d outputs; %d and %d expected",
                        body->ninputs, body->noutputs, n->nin, n->nout);
    int64_t trip = -1;
    for (int i = 0; i < n->nin; i++) {
        Value *x = node_in(n, i);
        if (!x) return node_err(n, "input %d is empty", i);
        Value *bi = body->inputs[i];
        bi->type = x->type;
        bi->has_type = 1;
        bi->data = NULL;
        if (i < ns) continue;
        int axis, rev;
        if (scan_in_axis(n, i - ns, x->type.rank, &axis, &rev)) return -1;
        if (trip >= 0 && x->type.dims[axis] != trip)
            return node_err(n, "scan input '%s' has %lld steps along axis %d, the first one %lld",
                            x->name, (long long)x->type.dims[axis], axis, (long long)trip);
        trip = x->type.dims[axis];
        bi->type.rank = x->type.rank - 1;
        for (int d = axis; d < bi->type.rank; d++) bi->type.dims[d] = x->type.dims[d + 1];
    }
    if (infer_body(n, body, "body")) return -1;
    for (int i = 0; i < ns; i++) {
        if (!type_equal(&body->outputs[i]->type, &n->in[i]->type))
            return node_err(n, "state %d is %s before the scan and %s after a step: states that "
                            "change shape are not supported", i,
                            type_str(n->g->pool, &n->in[i]->type),
                            type_str(n->g->pool, &body->outputs[i]->type));
        if (n->out[i]) {
            n->out[i]->type = n->in[i]->type;
            n->out[i]->has_type = 1;
        }
    }
    for (int j = 0; j < nk; j++) {
        const Value *so = body->outputs[ns + j];
        Value *o = n->out[ns + j];
        if (!o) continue;
        if (so->type.rank + 1 > KIR_MAX_RANK)
            return node_err(n, "scan output %d would have rank %d", j, so->type.rank + 1);
        int axis, rev;
        if (scan_out_axis(n, j, so->type.rank + 1, &axis, &rev)) return -1;
        o->type.dt = so->type.dt;
        o->type.rank = so->type.rank + 1;
        for (int d = 0, s = 0; d < o->type.rank; d++)
            o->type.dims[d] = d == axis ? trip : so->type.dims[s++];
        o->has_type = 1;
    }
    return 0;
}

int scan_lower(Node *n, Lower *L)
{
    Graph *body = graph_attr(n, "body");
    if (n->opset < 9) return scan8_lower(n, L, body);
    KB *k = L->k;
    int m = (int)attr_i(n, "num_scan_inputs", 1);
    int ns = n->nin - m, nk = n->nout - ns;
    if (n->nin > 16 || n->nout > 16) return node_err(n, "too many scan values to lower");
    int in_b[16], out_b[16], state[16], seq[16];
    for (int i = 0; i < ns; i++) {
        int64_t cnt = type_numel(&n->in[i]->type);
        state[i] = n->out[i] ? lw_out(L, i) : lw_temp(L, n->in[i]->type.dt, cnt);
        int init = lw_in(L, i);
        out_b[i] = lw_temp(L, n->in[i]->type.dt, cnt);
        if (state[i] < 0 || init < 0 || out_b[i] < 0) return -1;
        copy_buf(k, state[i], init, cnt);
        in_b[i] = state[i];
    }
    for (int i = ns; i < n->nin; i++) {
        const Value *bi = body->inputs[i];
        seq[i] = lw_in(L, i);
        in_b[i] = lw_temp(L, bi->type.dt, type_numel(&bi->type));
        if (seq[i] < 0 || in_b[i] < 0) return -1;
    }
    int scan_out[16];
    for (int j = 0; j < nk; j++) {
        const Value *so = body->outputs[ns + j];
        scan_out[j] = n->out[ns + j] ? lw_out(L, ns + j) : -1;
        out_b[ns + j] = scan_out[j] >= 0 ? lw_temp(L, so->type.dt, type_numel(&so->type)) : -1;
    }
    int axis, rev;
    if (scan_in_axis(n, 0, n->in[ns]->type.rank, &axis, &rev)) return -1;
    int64_t trip = n->in[ns]->type.dims[axis];
    int it = kfor_n(k, trip, KL_SERIAL);
    for (int i = ns; i < n->nin; i++) {
        if (scan_in_axis(n, i - ns, n->in[i]->type.rank, &axis, &rev)) return -1;
        ScanAxes s = scan_split(&n->in[i]->type, axis);
        KExpr *t = rev ? ksub(k, kc_idx(k, trip - 1), kvar(k, it)) : kvar(k, it);
        int o = kfor_n(k, s.outer, KL_SERIAL);
        int q = kfor_n(k, s.inner, KL_VECTOR);
        KExpr *src = kadd(k, kadd(k, kmuli(k, kvar(k, o), s.len * s.inner), kmuli(k, t, s.inner)),
                          kvar(k, q));
        kstore(k, in_b[i], kadd(k, kmuli(k, kvar(k, o), s.inner), kvar(k, q)),
               kload(k, seq[i], src));
        kend_n(k, 2);
    }
    if (lw_subgraph(L, body, in_b, out_b)) return -1;
    for (int i = 0; i < ns; i++) copy_buf(k, state[i], out_b[i], type_numel(&n->in[i]->type));
    for (int j = 0; j < nk; j++) {
        if (scan_out[j] < 0) continue;
        const Value *o = n->out[ns + j];
        if (scan_out_axis(n, j, o->type.rank, &axis, &rev)) return -1;
        ScanAxes s = scan_split(&o->type, axis);
        KExpr *t = rev ? ksub(k, kc_idx(k, trip - 1), kvar(k, it)) : kvar(k, it);
        int oo = kfor_n(k, s.outer, KL_SERIAL);
        int q = kfor_n(k, s.inner, KL_VECTOR);
        KExpr *dst = kadd(k, kadd(k, kmuli(k, kvar(k, oo), s.len * s.inner), kmuli(k, t, s.inner)),
                          kvar(k, q));
        kstore(k, scan_out[j], dst,
               kload(k, out_b[ns + j], kadd(k, kmuli(k, kvar(k, oo), s.inner), kvar(k, q))));
        kend_n(k, 2);
    }
    kend(k);
    return 0;
}
