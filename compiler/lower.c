/* lower.c — owns the glue between the graph and the loop IR: program tensors for graph
 * inputs/outputs/constants/intermediates (with C-identifier names), one KFunc per node that
 * was not folded (through the node's op_table lowering), copy functions for graph outputs no
 * node writes, live ranges for the planner, and the standalone lowering used by constant
 * folding, and the execution order (a topological order chosen to lower the peak of live
 * intermediates). Operators see only the Lower context and lw_* below. */
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

/* Names are kept short so generated code stays readable; uniqueness comes from suffixes. */
#define NAME_MAX_LEN 32

/* The Lower handed to ops is the first member, so lw_* can reach the rest. */
typedef struct LowerCtx {
    Lower L;
    Pool *p;                 /* where KIR of the current function lives */
    Graph *g;                /* NULL in standalone mode */
    int standalone;
    int func_index;          /* index of the function being built in prog->funcs */
    const char **names;      /* every identifier handed out in the program: an open- */
    size_t nnames;           /* addressing hash set of capnames (a power of two) slots */
    size_t capnames;
    char *err;               /* first lw_* failure for the current node */
    struct SubScope *scope;  /* innermost subgraph being lowered into the current function */
    struct MadeConst {       /* lw_const: what each made constant was made from, and its */
        ConstKey key;        /* program tensor */
        int id;
    } *made;
    int nmade;
    size_t capmade;
} LowerCtx;

/* A subgraph (If branch, Loop/Scan body) lowered into the function of the node that holds
 * it: its values live in buffers of that one function. Value ids are per graph, so each
 * scope keeps its own map; lookups walk outwards to the root graph's program tensors. */
struct SubScope {
    Graph *g;
    int *buf;                /* sub Value id -> buffer of the current function, or -1 */
    struct SubScope *up;
};

static const char *const reserved[] = {
    /* C99 keywords */
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex",
    "_Imaginary",
    /* names the generated code or its headers may use at file scope */
    "main", "NULL", "INFINITY", "NAN", "size_t", "ptrdiff_t", "int8_t", "int16_t", "int32_t",
    "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "bool", "true", "false",
    "exp", "expf", "log", "logf", "sqrt", "sqrtf", "pow", "powf", "fabs", "fabsf", "floor",
    "floorf", "ceil", "ceilf", "sin", "sinf", "cos", "cosf", "tan", "tanf", "tanh", "tanhf",
    "erf", "erff", "fmod", "fmodf", "round", "rint", "rintf", "abs", "memcpy", "memset",
    "errno", "stdin", "stdout", "stderr", "isnan", "isinf", "fmin", "fmax",
};

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u;   /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int name_taken(const LowerCtx *c, const char *s)
{
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcmp(reserved[i], s)) return 1;
    if (!c->capnames) return 0;
    for (size_t i = name_hash(s) & (c->capnames - 1); c->names[i]; i = (i + 1) & (c->capnames - 1))
        if (!strcmp(c->names[i], s)) return 1;
    return 0;
}

/* Adds s (pool-owned) to the set; kept at most half full. */
static void name_add(LowerCtx *c, Pool *p, const char *s)
{
    if (2 * (c->nnames + 1) > c->capnames) {
        size_t cap = c->capnames ? 2 * c->capnames : 256;
        const char **t = pool_alloc(p, sizeof *t * cap);
        for (size_t i = 0; i < c->capnames; i++) {
            if (!c->names[i]) continue;
            size_t j = name_hash(c->names[i]) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = c->names[i];
        }
        c->names = t;
        c->capnames = cap;
    }
    size_t j = name_hash(s) & (c->capnames - 1);
    while (c->names[j]) j = (j + 1) & (c->capnames - 1);
    c->names[j] = s;
    c->nnames++;
}

/* A readable, unique C identifier from any model name: non-identifier bytes become '_',
 * a leading digit or underscore gets a letter prefix (leading underscores are reserved in
 * C), empty names become `fallback`. */
static const char *unique_ident(LowerCtx *c, const char *prefix, const char *src,
                                const char *fallback)
{
    char base[NAME_MAX_LEN + 1];
    size_t len = 0, plen = 0;
    if (prefix) {
        plen = strlen(prefix);
        if (plen > NAME_MAX_LEN / 2) plen = NAME_MAX_LEN / 2;
        memcpy(base, prefix, plen);
        len = plen;
    }
    int last_us = len > 0 && base[len - 1] == '_';
    for (const char *s = src ? src : ""; *s && len < NAME_MAX_LEN; s++) {
        unsigned char ch = (unsigned char)*s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (ok) {
            base[len++] = (char)ch;
            last_us = 0;
        } else if (!last_us && len > 0) {
            /* runs of punctuation ("/conv1/Conv_output_0") collapse to one '_' */
            base[len++] = '_';
            last_us = 1;
        }
    }
    while (len > plen && base[len - 1] == '_') len--;
    if (len == plen) {
        /* nothing readable in the model name */
        size_t fl = strlen(fallback);
        if (fl > NAME_MAX_LEN - len) fl = NAME_MAX_LEN - len;
        memcpy(base + len, fallback, fl);
        len += fl;
    }
    base[len] = 0;
    if (base[0] >= '0' && base[0] <= '9') {
        char tmp[NAME_MAX_LEN + 2];
        snprintf(tmp, sizeof tmp, "v%s", base);
        tmp[NAME_MAX_LEN] = 0;
        memcpy(base, tmp, sizeof base);
    }
    char cand[NAME_MAX_LEN + 16];
    snprintf(cand, sizeof cand, "%s", base);
    for (int k = 2; name_taken(c, cand); k++) snprintf(cand, sizeof cand, "%s_%d", base, k);
    const char *r = pool_strdup(c->L.prog->pool, cand);
    name_add(c, c->L.prog->pool, r);
    return r;
}

/* Comments in generated code must not be able to end early or span lines. */
static char *comment_text(Pool *p, const Node *n)
{
    char *s = pool_fmt(p, "node '%s' (%s)", n->name, n->op_type);
    for (char *q = s; *q; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f) *q = ' ';
        if (q[0] == '*' && q[1] == '/') q[0] = '+';
        if (q[0] == '/' && q[1] == '*') q[1] = '+';
    }
    return s;
}

static int set_err(LowerCtx *c, const char *msg)
{
    if (!c->err) {
        const Node *n = c->L.n;
        const char *file = c->g && c->g->file ? c->g->file : "model";
        c->err = n ? pool_fmt(c->p, "%s: node '%s' (%s): %s", file, n->name, n->op_type, msg)
                   : pool_fmt(c->p, "%s: %s", file, msg);
    }
    return -1;
}

/* Program tensor for a value: kind decides where it lives. Returns the tensor id or -1. */
static int new_tensor(LowerCtx *c, const Value *v, KTensorKind kind)
{
    KProg *prog = c->L.prog;
    if (!v->has_type) {
        set_err(c, pool_fmt(c->p, "value '%s' has no known type", v->name));
        return -1;
    }
    int is_str = v->type.dt == DT_STRING && c->g;
    if (!is_str && (!dt_supported(v->type.dt) || dt_size(v->type.dt) <= 0)) {
        set_err(c, pool_fmt(c->p, "unsupported data type %s of value '%s'",
                            dt_name(v->type.dt), v->name));
        return -1;
    }
    if (is_str && v->type.rank >= KIR_MAX_RANK) {
        set_err(c, pool_fmt(c->p, "string value '%s' has rank %d; strings take at most %d",
                            v->name, v->type.rank, KIR_MAX_RANK - 1));
        return -1;
    }
    for (int i = 0; i < v->type.rank; i++) {
        if (v->type.dims[i] < 0) {
            set_err(c, pool_fmt(c->p, "value '%s' has an unknown dimension %d (bind it with "
                                "--shape)", v->name, i));
            return -1;
        }
    }
    KTensor t;
    memset(&t, 0, sizeof t);
    t.name = unique_ident(c, NULL, v->name, "t");
    t.src_name = pool_strdup(prog->pool, v->name ? v->name : "");
    t.t = dt_storage(v->type.dt);
    if (t.t != v->type.dt) t.model_t = v->type.dt;
    t.rank = v->type.rank;
    memcpy(t.dims, v->type.dims, sizeof t.dims);
    t.n = type_numel(&v->type);
    t.kind = kind;
    t.data = kind == KT_CONST ? v->data : NULL;
    t.first = t.last = -1;
    if (is_str) {   /* bytes: a trailing dimension of one cell per string (ops/strings.c) */
        int64_t cap = graph_string_cap(c->g);
        t.t = DT_U8;
        t.str_cap = cap;
        t.dims[t.rank++] = cap;
        t.n *= cap;
        if (kind == KT_CONST) {
            const char *const *s = v->data;
            unsigned char *cells = pool_alloc(prog->pool, (size_t)(t.n ? t.n : 1));
            memset(cells, 0, (size_t)t.n);
            for (int64_t i = 0; i < t.n / cap; i++) {
                size_t len = strlen(s[i]);
                if ((int64_t)len > cap - 1) {
                    set_err(c, pool_fmt(c->p, "constant '%s' holds a string of %zu bytes, "
                                        "longer than --max-string %lld", v->name, len,
                                        (long long)(cap - 1)));
                    return -1;
                }
                memcpy(cells + i * cap, s[i], len);
            }
            t.data = cells;
        }
    }
    int id = kprog_tensor(prog, &t);
    if (!v->dyn || kind == KT_CONST) return id;
    if (kind == KT_INPUT) {
        set_err(c, pool_fmt(c->p, "graph input '%s' has a data-dependent size", v->name));
        return -1;
    }
    /* the real dims beside the bounded tensor: a NAME_run output of its own for a graph
     * output (listed after the model's outputs by lower_graph), else an arena slot */
    KTensor d;
    memset(&d, 0, sizeof d);
    d.name = unique_ident(c, NULL, pool_fmt(c->p, "%s_dims", prog->tensors[id].name), "dims");
    d.src_name = pool_fmt(prog->pool, "real dims of '%s'", v->name ? v->name : "");
    d.t = DT_I64;
    d.rank = 1;
    d.dims[0] = v->type.rank;
    d.n = v->type.rank;
    d.kind = kind == KT_OUTPUT ? KT_OUTPUT : KT_ARENA;
    d.first = d.last = -1;
    d.dims_for = id + 1;
    int did = kprog_tensor(prog, &d);
    prog->tensors[id].dims_t = did + 1;
    return id;
}

/* the companion of a dyn value as a buffer of the current function, or -1 */
static int dims_buf(LowerCtx *c, const Value *v, KBufRole role)
{
    if (c->standalone || c->scope || !v)
        return set_err(c, pool_fmt(c->p, "value '%s' has a data-dependent size, which is not "
                                   "supported here (inside a subgraph or while folding)",
                                   v ? v->name : "?"));
    int t = c->L.value_tensor[v->id];
    if (t < 0 || !v->dyn || !c->L.prog->tensors[t].dims_t)
        return set_err(c, pool_fmt(c->p, "internal: value '%s' has no real dims", v->name));
    int d = c->L.prog->tensors[t].dims_t - 1;
    KFunc *f = c->L.k->f;
    for (int b = 0; b < f->nbufs; b++)
        if (f->bufs[b].tensor == d && f->bufs[b].role == role) return b;
    return kb_buf(c->L.k, DT_I64, c->L.prog->tensors[d].n, role, d);
}

int lw_in_dims(Lower *L, int i)
{
    if (lw_in(L, i) < 0) return -1;
    return dims_buf((LowerCtx *)L, L->n->in[i], KR_IN);
}

int lw_out_dims(Lower *L, int i)
{
    if (lw_out(L, i) < 0) return -1;
    return dims_buf((LowerCtx *)L, L->n->out[i], KR_OUT);
}

static int const_tensor(LowerCtx *c, const Value *v)
{
    int id = c->L.value_tensor[v->id];
    if (id < 0) {
        id = new_tensor(c, v, KT_CONST);
        if (id >= 0) c->L.value_tensor[v->id] = id;
    }
    return id;
}

int lw_in(Lower *L, int i)
{
    LowerCtx *c = (LowerCtx *)L;
    if (i < 0 || i >= 16 || i >= L->n->nin || !L->n->in[i])
        return set_err(c, pool_fmt(c->p, "lowering read input %d, which is absent", i));
    if (L->in_buf[i] >= 0) return L->in_buf[i];
    if (c->standalone) return set_err(c, "internal: standalone input buffer missing");
    const Value *v = L->n->in[i];
    int t = L->value_tensor[v->id];
    if (t < 0 && v->data) t = const_tensor(c, v);
    if (t < 0)
        return set_err(c, pool_fmt(c->p, "input '%s' is read before any node writes it",
                                   v->name));
    const KTensor *kt = &L->prog->tensors[t];
    L->in_buf[i] = kb_buf(L->k, kt->t, kt->n, KR_IN, t);
    return L->in_buf[i];
}

int lw_out(Lower *L, int i)
{
    LowerCtx *c = (LowerCtx *)L;
    if (i < 0 || i >= 16 || i >= L->n->nout || !L->n->out[i])
        return set_err(c, pool_fmt(c->p, "lowering wrote output %d, which is absent", i));
    if (L->out_buf[i] >= 0) return L->out_buf[i];
    if (c->standalone) return set_err(c, "internal: standalone output buffer missing");
    const Value *v = L->n->out[i];
    int t = L->value_tensor[v->id];
    if (t < 0) {
        t = new_tensor(c, v, KT_ARENA);
        if (t < 0) return -1;
        L->value_tensor[v->id] = t;
    }
    const KTensor *kt = &L->prog->tensors[t];
    L->out_buf[i] = kb_buf(L->k, kt->t, kt->n, KR_OUT, t);
    return L->out_buf[i];
}

int lw_temp(Lower *L, DType t, int64_t n)
{
    LowerCtx *c = (LowerCtx *)L;
    if (!dt_supported(t) || dt_size(t) <= 0 || n < 0)
        return set_err(c, "lowering asked for an invalid scratch buffer");
    if (c->standalone) return kb_buf(L->k, t, n, KR_TEMP, -1);
    KTensor kt;
    memset(&kt, 0, sizeof kt);
    kt.name = unique_ident(c, NULL, pool_fmt(c->p, "%s_tmp", L->k->f->name), "tmp");
    kt.src_name = pool_fmt(L->prog->pool, "scratch of node '%s'", L->n->name);
    kt.t = t;
    kt.rank = 1;
    kt.dims[0] = n;
    kt.n = n;
    kt.kind = KT_ARENA;
    kt.first = kt.last = -1;
    int id = kprog_tensor(L->prog, &kt);
    return kb_buf(L->k, t, n, KR_TEMP, id);
}

int lw_const_find(Lower *L, const ConstKey *key)
{
    LowerCtx *c = (LowerCtx *)L;
    for (int i = 0; key && i < c->nmade; i++) {
        const ConstKey *q = &c->made[i].key;
        if (q->src != key->src || memcmp(q->k, key->k, sizeof q->k)) continue;
        const KTensor *kt = &L->prog->tensors[c->made[i].id];
        return kb_buf(L->k, kt->t, kt->n, KR_IN, c->made[i].id);
    }
    return -1;
}

void *lw_const_scratch(int64_t n, DType t)
{
    return xmalloc((size_t)(n > 0 ? n : 1) * (size_t)(dt_size(t) > 0 ? dt_size(t) : 1));
}

/* Packed weights are about as big as the model's (Winograd's 4x for some convolutions):
 * held in memory, ResNet-50's 153 MB would sit beside everything else until the output is
 * written; spilled, they live in the page cache and the writers give each one's pages back
 * after writing it. */
int lw_const_take(Lower *L, const char *what, DType t, int64_t n, void *scratch,
                  const ConstKey *key)
{
    size_t bytes = (size_t)(n > 0 ? n : 0) * (size_t)dt_size(t);
    void *d = bytes >= (size_t)1 << 20 ? weights_spill(scratch, bytes) : NULL;
    if (!d && bytes) {
        d = pool_alloc(L->prog->pool, bytes);
        memcpy(d, scratch, bytes);
    }
    free(scratch);
    return lw_const(L, what, t, n, d, key);
}

int lw_const(Lower *L, const char *what, DType t, int64_t n, const void *data,
             const ConstKey *key)
{
    LowerCtx *c = (LowerCtx *)L;
    if (c->standalone) return set_err(c, "internal: a compile-time constant in standalone lowering");
    if (!dt_supported(t) || dt_size(t) <= 0 || n <= 0 || !data)
        return set_err(c, "lowering asked for an invalid constant");
    KTensor kt;
    memset(&kt, 0, sizeof kt);
    kt.name = unique_ident(c, NULL, pool_fmt(c->p, "%s_%s", L->k->f->name, what), "c");
    kt.src_name = pool_fmt(L->prog->pool, "%s of node '%s'", what, L->n->name);
    kt.t = t;
    kt.rank = 1;
    kt.dims[0] = n;
    kt.n = n;
    kt.kind = KT_CONST;
    kt.data = data;
    kt.first = kt.last = -1;
    int id = kprog_tensor(L->prog, &kt);
    if (key) {
        struct MadeConst mc = { *key, id };
        VEC_PUSH(L->prog->pool, c->made, c->nmade, c->capmade, mc);
    }
    return kb_buf(L->k, t, n, KR_IN, id);
}

int lw_has_kernel(const Lower *L, const char *kernel)
{
    /* the interpreter (standalone lowering) cannot run kernels: no target there */
    return target_has_kernel(L->target, kernel);
}

static int run_op_lower(LowerCtx *c, Node *n);

static int owns(const Graph *g, const Value *v)
{
    return v->id >= 0 && v->id < g->nvalues && g->values[v->id] == v;
}

/* Buffer of the current function holding v, as read by a node of the innermost scope:
 * a value of an open subgraph, a constant, or a tensor of the root graph (captured). */
static int scope_read(LowerCtx *c, const Value *v)
{
    KB *k = c->L.k;
    for (struct SubScope *s = c->scope; s; s = s->up) {
        if (!owns(s->g, v)) continue;
        if (s->buf[v->id] >= 0) return s->buf[v->id];
        if (!v->data)
            return set_err(c, pool_fmt(c->p, "value '%s' is read before any node of its graph "
                                       "writes it", v->name));
        int t = new_tensor(c, v, KT_CONST);
        if (t < 0) return -1;
        const KTensor *kt = &c->L.prog->tensors[t];
        return s->buf[v->id] = kb_buf(k, kt->t, kt->n, KR_IN, t);
    }
    if (!c->g || !owns(c->g, v))
        return set_err(c, pool_fmt(c->p, "value '%s' belongs to no enclosing graph", v->name));
    int t = c->L.value_tensor[v->id];
    if (t < 0 && v->data) t = const_tensor(c, v);
    if (t < 0)
        return set_err(c, pool_fmt(c->p, "input '%s' is read before any node writes it",
                                   v->name));
    /* one parameter per captured tensor, however many inner nodes read it */
    for (int b = 0; b < k->f->nbufs; b++)
        if (k->f->bufs[b].tensor == t && k->f->bufs[b].role == KR_IN) return b;
    const KTensor *kt = &c->L.prog->tensors[t];
    return kb_buf(k, kt->t, kt->n, KR_IN, t);
}

int lw_subgraph(Lower *L, Graph *sub, const int *in_bufs, const int *out_bufs)
{
    LowerCtx *c = (LowerCtx *)L;
    if (c->standalone) return set_err(c, "a subgraph is not folded by the interpreter");
    Node *holder = L->n;
    int saved_in[16], saved_out[16];
    memcpy(saved_in, L->in_buf, sizeof saved_in);
    memcpy(saved_out, L->out_buf, sizeof saved_out);
    struct SubScope sc = { sub, pool_alloc(c->p, sizeof(int) * (size_t)(sub->nvalues + 1)),
                           c->scope };
    for (int i = 0; i < sub->nvalues; i++) sc.buf[i] = -1;
    for (int i = 0; i < sub->ninputs; i++)
        if (in_bufs && in_bufs[i] >= 0 && owns(sub, sub->inputs[i]))
            sc.buf[sub->inputs[i]->id] = in_bufs[i];
    /* an output computed by a node of sub is written by that node straight into the
     * destination: no copy, and the branch's result needs no slot of its own */
    unsigned char *direct = pool_alloc(c->p, (size_t)sub->noutputs + 1);
    for (int i = 0; i < sub->noutputs; i++) {
        Value *v = sub->outputs[i];
        if (!out_bufs || out_bufs[i] < 0 || !owns(sub, v) || !v->producer || v->data ||
            sc.buf[v->id] >= 0)
            continue;
        const KBuf *d = &L->k->f->bufs[out_bufs[i]];
        if (d->t != dt_storage(v->type.dt) || d->n != type_numel(&v->type)) continue;
        sc.buf[v->id] = out_bufs[i];
        direct[i] = 1;
    }
    c->scope = &sc;
    int rc = 0;
    for (int i = 0; i < sub->nnodes && !rc; i++) {
        Node *n = sub->nodes[i];
        if (lower_node_folded(n)) continue;
        if (n->nin > 16 || n->nout > 16) {
            rc = set_err(c, "too many inputs or outputs to lower");
            break;
        }
        L->n = n;
        for (int j = 0; j < 16; j++) L->in_buf[j] = L->out_buf[j] = -1;
        for (int j = 0; j < n->nin && !rc; j++)
            if (n->in[j] && (L->in_buf[j] = scope_read(c, n->in[j])) < 0) rc = -1;
        for (int j = 0; j < n->nout && !rc; j++) {
            Value *v = n->out[j];
            if (!v) continue;
            if (v->dyn) {
                rc = set_err(c, pool_fmt(c->p, "value '%s' has a data-dependent size inside "
                                         "graph '%s', which is not supported yet", v->name,
                                         sub->name));
                break;
            }
            if (sc.buf[v->id] < 0) {
                int t = new_tensor(c, v, KT_ARENA);
                if (t < 0) {
                    rc = -1;
                    break;
                }
                const KTensor *kt = &L->prog->tensors[t];
                sc.buf[v->id] = kb_buf(L->k, kt->t, kt->n, KR_TEMP, t);
            }
            L->out_buf[j] = sc.buf[v->id];
        }
        if (!rc) rc = run_op_lower(c, n);
    }
    for (int i = 0; i < sub->noutputs && !rc; i++) {
        if (direct[i] || !out_bufs || out_bufs[i] < 0) continue;
        L->n = holder;
        int src = scope_read(c, sub->outputs[i]);
        if (src < 0) {
            rc = -1;
            break;
        }
        KB *k = L->k;
        const KBuf *d = &k->f->bufs[out_bufs[i]];
        if (k->f->bufs[src].t != d->t || k->f->bufs[src].n != d->n) {
            rc = set_err(c, pool_fmt(c->p, "graph '%s' output %d '%s' is %s with %lld elements; "
                                     "%lld expected", sub->name, i, sub->outputs[i]->name,
                                     dt_name(k->f->bufs[src].t), (long long)k->f->bufs[src].n,
                                     (long long)d->n));
            break;
        }
        int v = kfor_n(k, d->n, KL_VECTOR);
        kstore(k, out_bufs[i], kvar(k, v), kload(k, src, kvar(k, v)));
        kend(k);
    }
    c->scope = sc.up;
    L->n = holder;
    memcpy(L->in_buf, saved_in, sizeof saved_in);
    memcpy(L->out_buf, saved_out, sizeof saved_out);
    return rc;
}

int lower_node_folded(const Node *n)
{
    /* a list (sequence, optional) output is a compile-time fact, no computation */
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] && !n->out[i]->data && !value_is_list(n->out[i])) return 0;
    return 1;
}

static void ctx_reset_node(LowerCtx *c, Node *n, KB *k)
{
    c->L.k = k;
    c->L.n = n;
    for (int i = 0; i < 16; i++) c->L.in_buf[i] = c->L.out_buf[i] = -1;
    c->err = NULL;
}

/* Runs the op's lowering with g->err isolated: ops report through node_err, whose
 * "first error wins" must not be spent by a failed fold attempt. Returns 0 or -1 with
 * c->err set. */
static int run_op_lower(LowerCtx *c, Node *n)
{
    if (n->op < 0 || n->op >= OP_COUNT || !op_table[n->op].lower)
        return set_err(c, "unsupported operator: no lowering");
    Graph *g = n->g;
    char *saved = g ? g->err : NULL;
    if (g) g->err = NULL;
    int rc = op_table[n->op].lower(n, &c->L);
    char *opmsg = g ? g->err : NULL;
    if (g) g->err = saved;
    if (c->err) return -1;   /* an lw_* failure explains more than the op's reaction to it */
    if (rc != 0) {
        if (opmsg) c->err = pool_strdup(c->p, opmsg);
        else set_err(c, "lowering failed");
        return -1;
    }
    char msg[256];
    if (kir_verify(c->L.k->f, msg, sizeof msg) != 0)
        return set_err(c, pool_fmt(c->p, "internal: invalid loop IR: %s", msg));
    return 0;
}

KFunc *lower_node_standalone(Pool *p, Node *n, char **err)
{
    KFunc *f = pool_alloc(p, sizeof *f);
    f->name = "fold";
    f->comment = comment_text(p, n);
    KB k;
    kb_init(&k, p, f);
    LowerCtx c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.g = n->g;
    c.standalone = 1;
    ctx_reset_node(&c, n, &k);
    if (n->nin > 16 || n->nout > 16) {
        set_err(&c, "too many inputs or outputs to lower");
        *err = c.err;
        return NULL;
    }
    /* The caller binds memory by buffer order: present inputs, then present outputs. */
    for (int i = 0; i < n->nin; i++) {
        const Value *v = n->in[i];
        if (!v) continue;
        if (!v->has_type || !dt_supported(v->type.dt)) {
            set_err(&c, pool_fmt(p, "input '%s' cannot be folded", v->name));
            *err = c.err;
            return NULL;
        }
        c.L.in_buf[i] = kb_buf(&k, v->type.dt, type_numel(&v->type), KR_IN, -1);
    }
    for (int i = 0; i < n->nout; i++) {
        const Value *v = n->out[i];
        if (!v) continue;
        if (!v->has_type || !dt_supported(v->type.dt)) {
            set_err(&c, pool_fmt(p, "output '%s' cannot be folded", v->name));
            *err = c.err;
            return NULL;
        }
        c.L.out_buf[i] = kb_buf(&k, v->type.dt, type_numel(&v->type), KR_OUT, -1);
    }
    if (run_op_lower(&c, n) != 0) {
        *err = c.err;
        return NULL;
    }
    return f;
}

/* out[i] = in[i]: for graph outputs that no node writes into their own tensor. */
static int emit_copy(LowerCtx *c, int src, int dst)
{
    KProg *prog = c->L.prog;
    const KTensor *d = &prog->tensors[dst];
    KFunc *f = kprog_func(prog, unique_ident(c, "copy_", d->name, "copy"),
                          pool_fmt(prog->pool, "graph output %s: copy of %s", d->name,
                                   prog->tensors[src].name));
    KB k;
    kb_init(&k, prog->pool, f);
    int bi = kb_buf(&k, prog->tensors[src].t, prog->tensors[src].n, KR_IN, src);
    int bo = kb_buf(&k, d->t, d->n, KR_OUT, dst);
    int v = kfor_n(&k, d->n, KL_VECTOR);
    kstore(&k, bo, kvar(&k, v), kload(&k, bi, kvar(&k, v)));
    kend(&k);
    char msg[256];
    if (kir_verify(f, msg, sizeof msg) != 0)
        return set_err(c, pool_fmt(c->p, "internal: invalid copy function: %s", msg));
    return 0;
}

/* Live ranges in function indices. Inputs count as live from the start (the caller fills
 * them before NAME_run) and outputs until the end (read after it): that matters only when
 * they are planned inside the arena (--io in-arena). */
static void live_ranges(KProg *prog)
{
    for (int i = 0; i < prog->ntensors; i++) prog->tensors[i].first = prog->tensors[i].last = -1;
    for (int fi = 0; fi < prog->nfuncs; fi++) {
        const KFunc *f = prog->funcs[fi];
        for (int b = 0; b < f->nbufs; b++) {
            int t = f->bufs[b].tensor;
            if (t < 0 || t >= prog->ntensors) continue;
            KTensor *kt = &prog->tensors[t];
            if (kt->kind == KT_CONST) continue;
            if (kt->first < 0 || fi < kt->first) kt->first = fi;
            if (fi > kt->last) kt->last = fi;
        }
    }
    int end = prog->nfuncs > 0 ? prog->nfuncs - 1 : 0;
    for (int i = 0; i < prog->ninputs; i++) {
        KTensor *kt = &prog->tensors[prog->inputs[i]];
        kt->first = 0;
        if (kt->last < 0) kt->last = 0;
    }
    for (int i = 0; i < prog->noutputs; i++) {
        KTensor *kt = &prog->tensors[prog->outputs[i]];
        if (kt->first < 0) kt->first = end;
        kt->last = end;
    }
}

/* ---- execution order ---- */

/* Bytes a value takes in the arena, or 0 when it lives elsewhere (weights, folded values,
 * graph inputs and outputs, which are NAME_run's parameters). */
static int64_t arena_value_bytes(const Value *v)
{
    if (!v || v->data || !v->producer || v->is_output || !v->has_type) return 0;
    for (int i = 0; i < v->type.rank; i++)
        if (v->type.dims[i] < 0) return 0;
    return type_numel(&v->type) * dt_size(v->type.dt);
}

/* Peak of the sum of live intermediate values over a node order (scratch not counted). */
static int64_t order_peak(Graph *g, Node **order, int *uses)
{
    for (int i = 0; i < g->nvalues; i++) uses[i] = 0;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (g->nodes[i]->in[k]) uses[g->nodes[i]->in[k]->id]++;
    int64_t cur = 0, peak = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = order[i];
        for (int k = 0; k < n->nout; k++) cur += arena_value_bytes(n->out[k]);
        if (cur > peak) peak = cur;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] && --uses[n->in[k]->id] == 0) cur -= arena_value_bytes(n->in[k]);
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] && uses[n->out[k]->id] == 0) cur -= arena_value_bytes(n->out[k]);
    }
    return peak;
}

/* Reorders g->nodes (still a topological order) to lower the peak of live intermediates:
 * among the nodes whose inputs are ready, run the one that adds the fewest bytes net
 * (outputs allocated minus inputs it reads for the last time), so a branch whose
 * completion frees memory goes first. Kept only when its peak beats the model's order.
 * Graphs with subgraphs (If/Loop bodies read outer values unseen here) keep their order. */
static void schedule_nodes(Graph *g)
{
    int n = g->nnodes;
    if (n < 3) return;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < g->nodes[i]->nattrs; a++)
            if (g->nodes[i]->attrs[a].kind == A_GRAPH || g->nodes[i]->attrs[a].kind == A_GRAPHS)
                return;
    int *uses = calloc((size_t)g->nvalues + 1, sizeof *uses);
    unsigned char *done = calloc((size_t)n + 1, 1);
    unsigned char *ready_v = calloc((size_t)g->nvalues + 1, 1);
    Node **order = calloc((size_t)n + 1, sizeof *order);
    if (!uses || !done || !ready_v || !order) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < g->nvalues; i++) ready_v[i] = !g->values[i]->producer;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (g->nodes[i]->in[k]) uses[g->nodes[i]->in[k]->id]++;
    /* the ready nodes are kept in a list (each step looks at them only, not at all n: a
     * 100,000-node chain was quadratic), with per node the inputs still missing and per
     * value the nodes that read it */
    int nv = g->nvalues, nready = 0, total = 0;
    int *missing = calloc((size_t)n + 1, sizeof *missing);
    int *rd_at = calloc((size_t)nv + 2, sizeof *rd_at);
    int *ready = calloc((size_t)n + 1, sizeof *ready);
    if (!missing || !rd_at || !ready) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) {
            Value *v = g->nodes[i]->in[k];
            if (!v || ready_v[v->id]) continue;
            missing[i]++;
            rd_at[v->id + 1]++;
            total++;
        }
    for (int i = 0; i < nv; i++) rd_at[i + 1] += rd_at[i];
    int *rd = calloc((size_t)total + 1, sizeof *rd), *fill = calloc((size_t)nv + 1, sizeof *fill);
    if (!rd || !fill) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < g->nodes[i]->nin; k++) {
            Value *v = g->nodes[i]->in[k];
            if (v && !ready_v[v->id]) rd[rd_at[v->id] + fill[v->id]++] = i;
        }
        if (!missing[i]) ready[nready++] = i;
    }
    for (int step = 0; step < n; step++) {
        int best = -1, best_at = -1;
        int64_t best_delta = 0;
        for (int r = 0; r < nready; r++) {
            int i = ready[r];
            Node *nd = g->nodes[i];
            int64_t delta = 0;
            for (int k = 0; k < nd->nout; k++) delta += arena_value_bytes(nd->out[k]);
            for (int k = 0; k < nd->nin; k++) {
                Value *v = nd->in[k];
                if (!v) continue;
                int here = 0;   /* a value read twice by this node is freed once */
                for (int j = 0; j < nd->nin; j++) here += nd->in[j] == v;
                int first = 1;
                for (int j = 0; j < k; j++) first &= nd->in[j] != v;
                if (first && uses[v->id] == here) delta -= arena_value_bytes(v);
            }
            /* the fewest bytes added; among equals the earliest in the model's order */
            if (best < 0 || delta < best_delta || (delta == best_delta && i < best)) {
                best = i;
                best_at = r;
                best_delta = delta;
            }
        }
        if (best < 0) {   /* not a DAG after all: keep the model's order */
            free(order);
            order = NULL;
            break;
        }
        ready[best_at] = ready[--nready];
        Node *nd = g->nodes[best];
        done[best] = 1;
        order[step] = nd;
        for (int k = 0; k < nd->nin; k++)
            if (nd->in[k]) uses[nd->in[k]->id]--;
        for (int k = 0; k < nd->nout; k++) {
            Value *v = nd->out[k];
            if (!v || ready_v[v->id]) continue;
            ready_v[v->id] = 1;
            for (int e = rd_at[v->id]; e < rd_at[v->id + 1]; e++)
                if (--missing[rd[e]] == 0 && !done[rd[e]]) ready[nready++] = rd[e];
        }
    }
    free(missing);
    free(rd_at);
    free(ready);
    free(rd);
    free(fill);
    if (order && order_peak(g, order, uses) < order_peak(g, g->nodes, uses))
        memcpy(g->nodes, order, sizeof *order * (size_t)n);
    free(order);
    free(uses);
    free(done);
    free(ready_v);
}

KProg *lower_graph(Graph *g, const char *name, const Target *t, char **err)
{
    schedule_nodes(g);
    KProg *prog = kprog_new(name);
    Pool *p = prog->pool;
    if (t) prog->arena_align = t->align;
    LowerCtx c;
    memset(&c, 0, sizeof c);
    c.L.prog = prog;
    c.L.target = t;
    c.g = g;
    c.p = p;
    /* the program name's derived identifiers belong to the back end; keep tensors off them */
    name_add(&c, p, pool_strdup(p, name));
    c.L.value_tensor = pool_alloc(p, sizeof(int) * (size_t)(g->nvalues + 1));
    for (int i = 0; i < g->nvalues; i++) c.L.value_tensor[i] = -1;

    /* NAME_run's parameters: a sequence is one tensor per element (its length is part of
     * the compiled API), an optional its element, or nothing when it is none */
    Value **ins = NULL, **outs = NULL;
    const char **out_names = NULL;
    int nins = 0, nouts = 0, nout_names = 0;
    size_t cap_ins = 0, cap_outs = 0, cap_names = 0;
    for (int i = 0; i < g->ninputs; i++) {
        Value *v = g->inputs[i];
        prog->list_io |= v->decl != DECL_TENSOR;
        if (v->none) continue;
        for (int e = 0; e < (v->seq ? v->nelems : 1); e++)
            VEC_PUSH(p, ins, nins, cap_ins, v->seq ? v->elems[e] : v);
    }
    for (int i = 0; i < g->noutputs; i++) {
        Value *v = g->outputs[i];
        prog->list_io |= v->decl != DECL_TENSOR;
        if (v->none) continue;
        if (v->seq && v->nelems < 0) {
            set_err(&c, pool_fmt(p, "graph output '%s' is a sequence of unknown length", v->name));
            goto fail;
        }
        for (int e = 0; e < (v->seq ? v->nelems : 1); e++) {
            VEC_PUSH(p, outs, nouts, cap_outs, v->seq ? v->elems[e] : v);
            VEC_PUSH(p, out_names, nout_names, cap_names,
                     v->seq ? pool_fmt(p, "%s[%d]", v->name, e) : v->name);
        }
    }

    int *copy_src = pool_alloc(p, sizeof(int) * (size_t)(nouts + 1));
    int *copy_dst = pool_alloc(p, sizeof(int) * (size_t)(nouts + 1));
    int ncopies = 0;

    prog->inputs = pool_alloc(p, sizeof(int) * (size_t)(nins + 1));
    prog->outputs = pool_alloc(p, sizeof(int) * (size_t)(2 * nouts + 1));
    for (int i = 0; i < nins; i++) {
        Value *v = ins[i];
        int id = new_tensor(&c, v, KT_INPUT);
        if (id < 0) goto fail;
        c.L.value_tensor[v->id] = id;
        prog->inputs[prog->ninputs++] = id;
    }
    /* Outputs: a node writes straight into the output tensor, unless the value is an input,
     * a constant, or an output already listed: then a copy at the end fills it. */
    for (int i = 0; i < nouts; i++) {
        Value *v = outs[i];
        int id = new_tensor(&c, v, KT_OUTPUT);
        if (id < 0) goto fail;
        if (strcmp(out_names[i], v->name)) {   /* a sequence element: named by position */
            prog->tensors[id].name = unique_ident(&c, NULL, out_names[i], "t");
            prog->tensors[id].src_name = pool_strdup(p, out_names[i]);
        }
        prog->outputs[prog->noutputs++] = id;
        int src = c.L.value_tensor[v->id];
        if (src < 0 && v->data && (src = const_tensor(&c, v)) < 0) goto fail;
        if (src < 0 && !v->producer) {
            set_err(&c, pool_fmt(p, "graph output '%s' is computed by no node", v->name));
            goto fail;
        }
        if (src >= 0 && v->dyn) {
            set_err(&c, pool_fmt(p, "graph output '%s' has a data-dependent size and is also "
                                 "an input or another output, which is not supported", v->name));
            goto fail;
        }
        if (src >= 0) {
            copy_src[ncopies] = src;
            copy_dst[ncopies++] = id;
        } else {
            c.L.value_tensor[v->id] = id;
        }
    }

    /* the real dims of dynamic outputs come after every model output, so output K of the
     * model stays parameter K among the outputs */
    for (int i = 0, m = prog->noutputs; i < m; i++)
        if (prog->tensors[prog->outputs[i]].dims_t)
            prog->outputs[prog->noutputs++] = prog->tensors[prog->outputs[i]].dims_t - 1;

    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (lower_node_folded(n)) continue;
        if (!c.standalone) progress("lower: node %d/%d", i + 1, g->nnodes);
        c.L.n = n;
        c.err = NULL;
        if (n->nin > 16 || n->nout > 16) {
            set_err(&c, "too many inputs or outputs to lower");
            goto fail;
        }
        char idx[24];
        snprintf(idx, sizeof idx, "n%d_", i);
        KFunc *f = kprog_func(prog, unique_ident(&c, idx, n->name, "node"), comment_text(p, n));
        KB k;
        kb_init(&k, p, f);
        ctx_reset_node(&c, n, &k);
        c.func_index = prog->nfuncs - 1;
        if (run_op_lower(&c, n) != 0) goto fail;
        /* a later node (or NAME_run's caller) reads every output that has a use */
        for (int o = 0; o < n->nout; o++) {
            Value *v = n->out[o];
            if (v && (v->nuses > 0 || v->is_output) && c.L.out_buf[o] < 0) {
                set_err(&c, pool_fmt(p, "internal: lowering did not write output '%s'",
                                     v->name));
                goto fail;
            }
        }
    }
    c.L.n = NULL;
    for (int i = 0; i < ncopies; i++)
        if (emit_copy(&c, copy_src[i], copy_dst[i]) != 0) goto fail;

    live_ranges(prog);
    return prog;

fail:
    *err = pool_strdup(g->pool, c.err ? c.err : "lowering failed");
    kprog_free(prog);
    return NULL;
}
