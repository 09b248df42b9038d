/* shape.c — the shape inference driver: walks the graph in topological order, asks each
 * operator's shape rule for its output types, and constant-folds every node whose inputs
 * are all known by running its own lowering through the loop-IR interpreter. That one
 * mechanism folds the Shape -> Gather -> Concat -> Reshape chains exporters write, with
 * no second implementation of any operator. */
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

/* Folding runs an interpreter: cap the work so a huge constant subgraph stays a runtime
 * computation instead of stalling the compiler. */
#define FOLD_MAX_ELEMS (1 << 22)

/* Every node of g and of the graphs nested in it (If branches, Loop bodies), in order. */
static void unsupported_in(Graph *g, StrBuf *sb, int *count)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int a = 0; a < n->nattrs; a++) {
            const Attr *at = &n->attrs[a];
            if (at->kind == A_GRAPH && at->g) unsupported_in(at->g, sb, count);
            for (int k = 0; at->kind == A_GRAPHS && k < at->n; k++)
                if (at->graphs[k]) unsupported_in(at->graphs[k], sb, count);
        }
        const char *why = NULL;
        char buf[96];
        if (n->op == OP_UNKNOWN) {
            why = "";
        } else if (n->opset < op_table[n->op].since) {
            snprintf(buf, sizeof buf, " at opset %d (supported from %d)", n->opset,
                     op_table[n->op].since);
            why = buf;
        }
        if (!why) continue;
        if (*count < 24) {
            sb_printf(sb, "%s%s%s%s%s (node '%s')", *count ? ", " : "",
                      n->domain && *n->domain ? n->domain : "", n->domain && *n->domain ? "." : "",
                      n->op_type, why, n->name);
        }
        (*count)++;
    }
}

char *shape_unsupported(Graph *g)
{
    StrBuf sb;
    int count = 0;
    sb_init(&sb);
    unsupported_in(g, &sb, &count);
    char *r = NULL;
    if (count) {
        if (count > 24) sb_printf(&sb, ", and %d more", count - 24);
        r = pool_fmt(g->pool, "unsupported operator%s: %s", count > 1 ? "s" : "", sb.buf);
    }
    sb_free(&sb);
    return r;
}

static int all_inputs_const(const Node *n)
{
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && !n->in[i]->data) return 0;
    return 1;
}

static int all_outputs_known(const Node *n)
{
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] && !n->out[i]->data) return 0;
    return 1;
}

/* Runs the node's lowering on its constant inputs. Failure only means "not folded": the
 * node then runs at run time like any other, so no error is raised here. */
static void fold_node(Graph *g, Node *n)
{
    int64_t total = 0;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i]) total += type_numel(&n->out[i]->type);
    if (total > FOLD_MAX_ELEMS) return;

    Pool *tmp = pool_new();
    char *err = NULL;
    KFunc *f = lower_node_standalone(tmp, n, &err);
    if (!f) {
        pool_free(tmp);
        return;
    }
    void **mem = pool_alloc(tmp, sizeof *mem * (size_t)(f->nbufs + 1));
    int next_in = 0, next_out = 0, bound = 0, ok = 1;
    for (int b = 0; b < f->nbufs && ok; b++) {
        const KBuf *kb = &f->bufs[b];
        size_t bytes = (size_t)kb->n * (size_t)dt_size(kb->t);
        if (kb->role == KR_IN) {
            while (next_in < n->nin && !n->in[next_in]) next_in++;
            if (next_in >= n->nin) { ok = 0; break; }
            Value *v = n->in[next_in++];
            if (type_numel(&v->type) != kb->n || v->type.dt != kb->t) { ok = 0; break; }
            mem[b] = (void *)v->data;
        } else {
            if (kb->role == KR_OUT) {
                while (next_out < n->nout && !n->out[next_out]) next_out++;
                if (next_out >= n->nout) { ok = 0; break; }
                Value *v = n->out[next_out++];
                if (type_numel(&v->type) != kb->n || v->type.dt != kb->t) { ok = 0; break; }
                bound++;
                mem[b] = pool_alloc(g->pool, bytes ? bytes : 1);
            } else {
                mem[b] = pool_alloc(tmp, bytes ? bytes : 1);
            }
        }
    }
    /* fold only when the lowering bound every present output */
    int present = 0;
    for (int i = 0; i < n->nout; i++) present += n->out[i] != NULL;
    ok = ok && bound == present;
    char msg[256];
    if (ok && kir_verify(f, msg, sizeof msg) == 0 && kir_interp(f, mem, msg, sizeof msg) == 0) {
        next_out = 0;
        for (int b = 0; b < f->nbufs; b++) {
            if (f->bufs[b].role != KR_OUT) continue;
            while (!n->out[next_out]) next_out++;
            n->out[next_out++]->data = mem[b];
        }
    }
    pool_free(tmp);
}

/* Past ONNXCC_MAX_TENSOR_BYTES or ONNXCC_MAX_DIM (saturated counts compare above). */
static int type_too_large(const Type *t)
{
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] > ONNXCC_MAX_DIM) return 1;
    int64_t n = type_numel(t), es = dt_size(t->dt);
    return n > 0 && mul_sat(n, es > 0 ? es : 1) > ONNXCC_MAX_TENSOR_BYTES;
}

int shape_infer(Graph *g)
{
    char *uns = shape_unsupported(g);
    if (uns) return graph_err(g, "%s", uns);
    for (int i = 0; i < g->ninputs; i++)
        if (g->inputs[i]->seq && g->inputs[i]->nelems < 0)
            return graph_err(g, "sequence input '%s' has no bound elements: bind them with "
                             "--shape '%s[0]=DIMS' '%s[1]=DIMS' ... ('%s[]=1' for an empty "
                             "sequence)", g->inputs[i]->name, g->inputs[i]->name,
                             g->inputs[i]->name, g->inputs[i]->name);

    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        progress("infer shapes: node %d/%d", i + 1, g->nnodes);
        for (int k = 0; k < n->nin; k++) {
            Value *v = n->in[k];
            if (!v || value_is_list(v)) continue;
            if (!v->has_type) return node_err(n, "input '%s' has no known type", v->name);
            if (!dt_supported(v->type.dt) && !(v->type.dt == DT_STRING && op_takes_strings(n)))
                return node_err(n, "unsupported data type %s on input '%s'", dt_name(v->type.dt),
                                v->name);
            if (dt_is_lowbit(v->type.dt) && !op_takes_lowbit(n))
                return node_err(n, "input '%s' is %s, which onnxcc stores but computes on only "
                                "through Cast, QuantizeLinear and DequantizeLinear; Cast it "
                                "first", v->name, dt_name(v->type.dt));
            if (v->dyn && !op_takes_dyn(n, k))
                return node_err(n, "input '%s' has a data-dependent size (at most %s, from "
                                "node '%s' (%s)), which %s does not take yet", v->name,
                                type_str(g->pool, &v->type),
                                v->producer ? v->producer->name : "?",
                                v->producer ? v->producer->op_type : "?", n->op_type);
        }
        if (op_table[n->op].infer(n) != 0) {
            if (!g->err) node_err(n, "shape inference failed");
            return -1;
        }
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!v || value_is_list(v)) continue;
            if (!v->has_type)
                return node_err(n, "internal: the shape rule left output '%s' untyped", v->name);
            if (!dt_supported(v->type.dt) && !(v->type.dt == DT_STRING && op_takes_strings(n)))
                return node_err(n, "unsupported data type %s on output '%s'", dt_name(v->type.dt),
                                v->name);
            if (dt_is_lowbit(v->type.dt) && !op_takes_lowbit(n))
                return node_err(n, "output '%s' would be %s, which onnxcc computes on only "
                                "through Cast and QuantizeLinear", v->name, dt_name(v->type.dt));
            if (type_too_large(&v->type))
                return node_err(n, "output '%s' would be %s: larger than onnxcc's limit of "
                                "2^40 bytes per tensor (and 2^40 elements per dimension)",
                                v->name, type_str(g->pool, &v->type));
        }
        /* a node holding a subgraph reads captured values that are not its inputs: its
         * shape rule folds it where it can */
        int holds_graph = 0;
        for (int k = 0; k < n->nout; k++) holds_graph |= value_is_list(n->out[k]);
        for (int a = 0; a < n->nattrs; a++)
            holds_graph |= n->attrs[a].kind == A_GRAPH || n->attrs[a].kind == A_GRAPHS;
        if (!holds_graph && all_inputs_const(n) && !all_outputs_known(n)) fold_node(g, n);
    }
    return 0;
}
