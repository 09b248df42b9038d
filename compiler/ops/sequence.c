/* sequence.c — sequences and optionals with a static bound (SequenceEmpty, SequenceConstruct,
 * SequenceInsert, SequenceErase, SequenceAt, SequenceLength, ConcatFromSequence,
 * SplitToSequence, Optional, OptionalHasElement, OptionalGetElement).
 *
 * A sequence here is a compile-time list of tensor Values (Value.seq/elems): its length
 * and every element's shape are known when the model is compiled, so it needs no run-time
 * representation and no back end ever sees one. The list operators only rewrite the list
 * (positions must be constants); an operator that reads an element becomes the tensor
 * operator that computes it (SequenceAt -> Identity, ConcatFromSequence -> Concat,
 * SplitToSequence -> Split), so its lowering is one that already exists. An optional is
 * its element, or "none" (Value.none); whether it holds one is likewise a compile-time
 * fact, so OptionalHasElement folds to a constant. */
#include <stdlib.h>
#include <string.h>
#include "../onnxcc.h"

static void set_list(Pool *p, Value *out, DType dt, Value **elems, int n)
{
    out->seq = 1;
    out->none = 0;
    out->nelems = n;
    out->elems = n ? pool_alloc(p, sizeof *out->elems * (size_t)n) : NULL;
    if (n) memcpy(out->elems, elems, sizeof *elems * (size_t)n);
    out->type.dt = dt;
}

static void copy_list(Pool *p, Value *out, const Value *src)
{
    if (src->none) {
        out->seq = 0;
        out->none = 1;
        return;
    }
    set_list(p, out, src->type.dt, src->elems, src->nelems);
}

/* Input i as a bound sequence, or NULL with node_err. */
static Value *seq_in(Node *n, int i)
{
    Value *v = node_in(n, i);
    if (!v) {
        node_err(n, "input %d is missing", i);
        return NULL;
    }
    if (v->none) {
        node_err(n, "input '%s' is an empty optional, not a sequence", v->name);
        return NULL;
    }
    if (!v->seq) {
        node_err(n, "input '%s' is not a sequence", v->name);
        return NULL;
    }
    if (v->nelems < 0) {
        node_err(n, "sequence input '%s' has no bound elements: bind them with --shape "
                 "'%s[0]=DIMS' '%s[1]=DIMS' ... ('%s[]=1' for an empty sequence)", v->name,
                 v->name, v->name, v->name);
        return NULL;
    }
    return v;
}

/* Input i as a tensor (not a sequence or optional), or NULL with node_err. */
static Value *tensor_in(Node *n, int i)
{
    Value *v = node_in(n, i);
    if (!v) {
        node_err(n, "input %d is missing", i);
        return NULL;
    }
    if (value_is_list(v)) {
        node_err(n, "input '%s' is a %s, a tensor is expected", v->name,
                 v->none ? "empty optional" : "sequence");
        return NULL;
    }
    return v;
}

/* A constant position of a sequence of length len: Insert allows len itself (the end).
 * The value is a graph input at times (node tests): node_need_const lets check freeze it. */
static int seq_position(Node *n, int input, int64_t len, int insert, int64_t *pos)
{
    int64_t *v;
    int cnt = const_ints(n, input, &v);
    if (cnt < 0) return -1;
    if (cnt != 1) return node_err(n, "position must be a scalar, got %d values", cnt);
    int64_t p = v[0] < 0 ? v[0] + len : v[0];
    if (p < 0 || p > len || (p == len && !insert))
        return node_err(n, "position %lld is out of range for a sequence of length %lld",
                        (long long)v[0], (long long)len);
    *pos = p;
    return 0;
}

/* Turns n into another operator over new inputs (the element tensors), keeping its name and
 * outputs, and runs that operator's shape rule: its lowering is then the new op's. */
static int rewrite_as(Node *n, int op, int opset, Value **ins, int nin)
{
    node_save_orig(n);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i]) n->in[i]->nuses--;
    n->in = pool_alloc(n->g->pool, sizeof *n->in * (size_t)(nin + 1));
    for (int i = 0; i < nin; i++) {
        n->in[i] = ins[i];
        if (ins[i]) ins[i]->nuses++;
    }
    n->nin = nin;
    n->op = op;
    n->opset = opset;
    return op_table[op].infer(n);
}

int sequence_infer(Node *n)
{
    Value *out = node_out(n, 0);
    if (!out) return node_err(n, "missing output");
    Value *s;
    int64_t pos = 0;
    switch (n->op) {
    case OP_SequenceEmpty: {
        int64_t dt = attr_i(n, "dtype", DT_F32);
        if (!dt_supported((DType)dt)) return node_err(n, "unsupported dtype %lld", (long long)dt);
        set_list(n->g->pool, out, (DType)dt, NULL, 0);
        return 0;
    }
    case OP_SequenceConstruct: {
        if (n->nin < 1) return node_err(n, "needs at least one input");
        for (int i = 0; i < n->nin; i++) {
            Value *t = tensor_in(n, i);
            if (!t) return -1;
            if (t->type.dt != n->in[0]->type.dt)
                return node_err(n, "input '%s' is %s, input 0 is %s: a sequence holds one "
                                "element type", t->name, dt_name(t->type.dt),
                                dt_name(n->in[0]->type.dt));
        }
        set_list(n->g->pool, out, n->in[0]->type.dt, n->in, n->nin);
        return 0;
    }
    case OP_SequenceInsert: {
        Value *t;
        if (!(s = seq_in(n, 0)) || !(t = tensor_in(n, 1))) return -1;
        if (s->nelems && t->type.dt != s->type.dt)
            return node_err(n, "inserting %s into a sequence of %s", dt_name(t->type.dt),
                            dt_name(s->type.dt));
        pos = s->nelems;
        if (node_in(n, 2) && seq_position(n, 2, s->nelems, 1, &pos)) return -1;
        Value **e = pool_alloc(n->g->pool, sizeof *e * (size_t)(s->nelems + 1));
        for (int i = 0, j = 0; i <= s->nelems; i++) e[i] = i == pos ? t : s->elems[j++];
        set_list(n->g->pool, out, t->type.dt, e, s->nelems + 1);
        return 0;
    }
    case OP_SequenceErase: {
        if (!(s = seq_in(n, 0))) return -1;
        if (!s->nelems) return node_err(n, "erasing from an empty sequence");
        pos = s->nelems - 1;
        if (node_in(n, 1) && seq_position(n, 1, s->nelems, 0, &pos)) return -1;
        Value **e = pool_alloc(n->g->pool, sizeof *e * (size_t)s->nelems);
        for (int i = 0, j = 0; i < s->nelems; i++)
            if (i != pos) e[j++] = s->elems[i];
        set_list(n->g->pool, out, s->type.dt, e, s->nelems - 1);
        return 0;
    }
    case OP_SequenceAt:
        if (!(s = seq_in(n, 0)) || seq_position(n, 1, s->nelems, 0, &pos)) return -1;
        return rewrite_as(n, OP_Identity, n->opset, &s->elems[pos], 1);
    case OP_SequenceLength: {
        if (!(s = seq_in(n, 0))) return -1;
        int64_t *len = pool_alloc(n->g->pool, sizeof *len);
        *len = s->nelems;
        if (set_out(n, 0, DT_I64, 0, NULL)) return -1;
        out->data = len;
        return 0;
    }
    case OP_ConcatFromSequence:
        if (!(s = seq_in(n, 0))) return -1;
        if (!s->nelems) return node_err(n, "concatenating an empty sequence");
        if (attr_i(n, "new_axis", 0))
            return node_err(n, "new_axis=1 is not supported yet (stack the elements with "
                            "Unsqueeze and Concat)");
        return rewrite_as(n, OP_Concat, 13, s->elems, s->nelems);
    case OP_SplitToSequence: {
        Value *x = tensor_in(n, 0);
        if (!x) return -1;
        if (x->type.rank == 0) return node_err(n, "cannot split a scalar");
        int axis;
        if (norm_axis(n, attr_i(n, "axis", 0), x->type.rank, &axis)) return -1;
        int64_t dim = x->type.dims[axis], *sizes, cnt;
        Value *split = node_in(n, 1);
        if (!split) {
            if (!attr_i(n, "keepdims", 1))
                return node_err(n, "keepdims=0 is not supported yet (elements would drop "
                                "the split axis)");
            cnt = dim;
            sizes = pool_alloc(n->g->pool, sizeof *sizes * (size_t)(cnt + 1));
            for (int64_t i = 0; i < cnt; i++) sizes[i] = 1;
        } else {
            int64_t *v;
            int nv = const_ints(n, 1, &v);
            if (nv < 0) return -1;
            if (split->type.rank == 0) {
                if (v[0] <= 0) return node_err(n, "split size %lld is not positive",
                                               (long long)v[0]);
                cnt = (dim + v[0] - 1) / v[0];
                sizes = pool_alloc(n->g->pool, sizeof *sizes * (size_t)(cnt + 1));
                for (int64_t i = 0; i < cnt; i++)
                    sizes[i] = i + 1 < cnt ? v[0] : dim - v[0] * (cnt - 1);
            } else {
                cnt = nv;
                sizes = v;
            }
        }
        if (cnt < 1 || cnt > 64)
            return node_err(n, "splits into %lld elements; 1 to 64 are supported",
                            (long long)cnt);
        /* Split with one output per element, its sizes a constant of ours */
        Value *sv = ir_value(n->g, pool_fmt(n->g->pool, "%s:split_sizes", n->name));
        sv->kind = V_WEIGHT;
        sv->has_type = 1;
        sv->type.dt = DT_I64;
        sv->type.rank = 1;
        sv->type.dims[0] = cnt;
        sv->data = sizes;
        Value *seqv = out;
        node_save_orig(n);
        n->out = pool_alloc(n->g->pool, sizeof *n->out * (size_t)(cnt + 1));
        for (int64_t i = 0; i < cnt; i++) {
            n->out[i] = ir_value(n->g, pool_fmt(n->g->pool, "%s[%lld]", seqv->name,
                                                (long long)i));
            n->out[i]->producer = n;
            n->out[i]->nuses = 1;   /* read through the sequence */
        }
        n->nout = (int)cnt;
        Value *ins[2] = { x, sv };
        if (rewrite_as(n, OP_Split, 13, ins, 2)) return -1;
        /* the list is no node's output now: its readers are list operators or were
         * rewritten to read the elements, which the Split produces */
        seqv->producer = NULL;
        set_list(n->g->pool, seqv, x->type.dt, n->out, (int)cnt);
        return 0;
    }
    case OP_Optional: {
        Value *x = node_in(n, 0);
        if (!x) {
            out->none = 1;
            return 0;
        }
        if (value_is_list(x)) {
            copy_list(n->g->pool, out, x);
            return 0;
        }
        return rewrite_as(n, OP_Identity, n->opset, &x, 1);
    }
    case OP_OptionalHasElement: {
        Value *x = node_in(n, 0);
        unsigned char *has = pool_alloc(n->g->pool, 1);
        *has = x && !x->none;
        if (set_out(n, 0, DT_BOOL, 0, NULL)) return -1;
        out->data = has;
        return 0;
    }
    case OP_OptionalGetElement: {
        Value *x = node_in(n, 0);
        if (!x) return node_err(n, "input 0 is missing");
        if (x->none) return node_err(n, "the optional '%s' is empty", x->name);
        if (x->seq) {
            if (!seq_in(n, 0)) return -1;
            copy_list(n->g->pool, out, x);
            return 0;
        }
        return rewrite_as(n, OP_Identity, n->opset, &x, 1);
    }
    default:
        return node_err(n, "internal: not a sequence operator");
    }
}

/* Only reached when shape inference left a list: rewritten nodes lower as their new op. */
int sequence_lower(Node *n, Lower *L)
{
    (void)L;
    return node_err(n, "internal: a sequence operator reached lowering");
}

/* ---- SequenceMap ----
 * The body runs once per element; elements may differ in shape, so the body is inferred
 * (and lowered) once per element with that element's types, its outputs becoming the
 * elements of the output sequences. The node's inputs are rewritten to the element tensors,
 * iteration by iteration, so lowering reads them as plain node inputs. */

static Graph *map_body(Node *n)
{
    const Attr *a = attr_get(n, "body");
    return a && a->kind == A_GRAPH ? a->g : NULL;
}

/* Types the body for element i: its inputs from the i-th elements (or the tensors), then a
 * fresh inference (the previous element's folded values would be stale). */
static int map_infer_element(Node *n, Graph *body, Value **ins, int nin, int i)
{
    ir_reset_inferred(body);
    for (int j = 0; j < nin; j++) {
        Value *src = ins[j]->seq ? ins[j]->elems[i] : ins[j];
        Value *bi = body->inputs[j];
        bi->type = src->type;
        bi->has_type = 1;
    }
    if (shape_infer(body) != 0) {
        if (!n->g->err)
            node_err(n, "body, element %d: %s", i, body->err ? body->err : "inference failed");
        return -1;
    }
    for (int o = 0; o < body->noutputs; o++)
        if (value_is_list(body->outputs[o]) || !body->outputs[o]->has_type)
            return node_err(n, "body output %d is not a tensor; only tensor outputs are "
                            "supported", o);
    return 0;
}

int sequence_map_infer(Node *n)
{
    Graph *body = map_body(n);
    if (!body) return node_err(n, "needs a graph attribute 'body'");
    if (body->ninputs != n->nin || body->noutputs != n->nout)
        return node_err(n, "body takes %d inputs and gives %d outputs; the node has %d and %d",
                        body->ninputs, body->noutputs, n->nin, n->nout);
    Value *s0 = seq_in(n, 0);
    if (!s0) return -1;
    int count = s0->nelems, nin = n->nin, nout = n->nout;
    Value **ins = pool_alloc(n->g->pool, sizeof *ins * (size_t)(nin + 1));
    for (int j = 0; j < nin; j++) {
        ins[j] = node_in(n, j);
        if (!ins[j]) return node_err(n, "input %d is missing", j);
        if (ins[j]->none) return node_err(n, "input '%s' is an empty optional", ins[j]->name);
        if (ins[j]->seq && !seq_in(n, j)) return -1;
        if (ins[j]->seq && ins[j]->nelems != count)
            return node_err(n, "input '%s' has %d elements, input 0 has %d", ins[j]->name,
                            ins[j]->nelems, count);
    }
    Value **seqs = pool_alloc(n->g->pool, sizeof *seqs * (size_t)(nout + 1));
    for (int o = 0; o < nout; o++)
        if (!(seqs[o] = node_out(n, o))) return node_err(n, "output %d is omitted", o);
    /* inputs and outputs element by element: (element 0's inputs, element 1's ...) */
    Value **nin_v = pool_alloc(n->g->pool, sizeof *nin_v * (size_t)(count * nin + 1));
    Value **nout_v = pool_alloc(n->g->pool, sizeof *nout_v * (size_t)(count * nout + 1));
    for (int i = 0; i < count; i++) {
        if (map_infer_element(n, body, ins, nin, i)) return -1;
        for (int j = 0; j < nin; j++) nin_v[i * nin + j] = ins[j]->seq ? ins[j]->elems[i] : ins[j];
        for (int o = 0; o < nout; o++) {
            Value *e = ir_value(n->g, pool_fmt(n->g->pool, "%s[%d]", seqs[o]->name, i));
            e->producer = n;
            e->nuses = 1;   /* read through the sequence */
            e->type = body->outputs[o]->type;
            e->has_type = 1;
            nout_v[i * nout + o] = e;
        }
    }
    node_save_orig(n);
    for (int j = 0; j < nin; j++) ins[j]->nuses--;
    for (int k = 0; k < count * nin; k++) nin_v[k]->nuses++;
    n->in = nin_v;
    n->nin = count * nin;
    n->out = nout_v;
    n->nout = count * nout;
    for (int o = 0; o < nout; o++) {
        Value **e = pool_alloc(n->g->pool, sizeof *e * (size_t)(count + 1));
        for (int i = 0; i < count; i++) e[i] = nout_v[i * nout + o];
        seqs[o]->producer = NULL;   /* as SplitToSequence's: a list of this node's outputs */
        set_list(n->g->pool, seqs[o], body->outputs[o]->type.dt, e, count);
    }
    /* the element and input counts per iteration, for lowering */
    Attr *at = pool_alloc(n->g->pool, sizeof *at * (size_t)(n->nattrs + 1));
    memcpy(at, n->attrs, sizeof *at * (size_t)n->nattrs);
    at[n->nattrs].name = "onnxcc_map_inputs";
    at[n->nattrs].kind = A_INT;
    at[n->nattrs].i = nin;
    n->attrs = at;
    n->nattrs++;
    return 0;
}

int sequence_map_lower(Node *n, Lower *L)
{
    Graph *body = map_body(n);
    int nin = (int)attr_i(n, "onnxcc_map_inputs", 1);
    int nout = body->noutputs, count = nin ? n->nin / nin : 0;
    for (int i = 0; i < count; i++) {
        int in_bufs[16], out_bufs[16];
        Value *ins[16];
        for (int j = 0; j < nin && j < 16; j++) {
            ins[j] = n->in[i * nin + j];
            if ((in_bufs[j] = lw_in(L, i * nin + j)) < 0) return -1;
        }
        for (int o = 0; o < nout && o < 16; o++)
            if ((out_bufs[o] = lw_out(L, i * nout + o)) < 0) return -1;
        /* the body's types for this element (an earlier element's may differ) */
        if (map_infer_element(n, body, ins, nin, 0)) return -1;
        if (lw_subgraph(L, body, in_bufs, out_bufs)) return -1;
    }
    return 0;
}
