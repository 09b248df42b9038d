/* fuse_ew.c — chains of elementwise operators become one FusedElementwise node, lowered
 * as one loop nest (ops/elementwise.c ew_fused_lower): the tensors between them are never
 * written, only a scalar per element. Every target gets it: the chain is plain loop IR.
 *
 * Nodes are visited from the last to the first, so a chain is grown from its end: a
 * fusable node takes in every fusable producer whose output it alone reads and whose
 * shape is its own (side inputs may broadcast), then those producers' producers, and so
 * on. A node with no such producer stays as it is. */
#include <string.h>
#include "passes.h"

#define CHAIN_MAX 32

typedef struct Chain {
    Node *m[CHAIN_MAX];   /* members, producers before consumers */
    int n;
    Node **made;          /* chains made so far: their members are dead, so pass_uses */
    int nmade;            /* does not see what they read */
} Chain;

static int read_by_made(const Chain *ch, const Value *v)
{
    for (int i = 0; i < ch->nmade; i++)
        for (int j = 0; j < ch->made[i]->nin; j++)
            if (ch->made[i]->in[j] == v) return 1;
    return 0;
}

static int same_shape(const Type *a, const Type *b)
{
    return a->rank == b->rank && !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

/* Adds the fusable producers of c (recursively, each before its consumer), then c.
 * `pending`: the consumers on the path above c, added after it; a producer is taken only
 * while the chain with all of them stays within CHAIN_MAX, which also bounds the recursion
 * (a long chain of unary ops used to be walked to its very start for every node: cubic
 * time, and a stack as deep as the chain). */
static void grow(PassCtx *pc, Chain *ch, Node *c, const Type *ot, int vm, int pending)
{
    for (int i = 0; i < c->nin && ch->n + pending + 2 <= CHAIN_MAX; i++) {
        Value *v = c->in[i];
        Node *p = v ? v->producer : NULL;
        Node *users[2];
        if (!p || pc->dead[p->id] || !ew_fusable(p, vm)) continue;
        if (!same_shape(&node_out(p, 0)->type, ot) || !pass_removable(pc, v, 1, users) ||
            read_by_made(ch, v))
            continue;
        int seen = 0;
        for (int j = 0; j < ch->n; j++) seen |= ch->m[j] == p;
        if (seen) continue;
        grow(pc, ch, p, ot, vm, pending + 1);
    }
    if (ch->n < CHAIN_MAX) ch->m[ch->n++] = c;
}

int pass_fuse_ew(PassCtx *c, Node ***made, int *nmade)
{
    Graph *g = c->g;
    int vm = target_has_kernel(c->t, "rt_vmath_f32");
    int count = 0;
    size_t cap = 0;
    *made = NULL;
    *nmade = 0;
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *b = g->nodes[i];
        if (c->dead[b->id] || !ew_fusable(b, vm)) continue;
        Chain ch;
        ch.n = 0;
        ch.made = *made;
        ch.nmade = *nmade;
        grow(c, &ch, b, &node_out(b, 0)->type, vm, 0);
        if (ch.n < 2 || ch.m[ch.n - 1] != b) continue;
        /* the outside inputs, each once */
        Value *ext[16];
        int ne = 0, ok = 1;
        for (int m = 0; m < ch.n && ok; m++) {
            Node *x = ch.m[m];
            for (int j = 0; j < x->nin && ok; j++) {
                Value *v = x->in[j];
                if (!v) continue;
                int inner = 0, seen = 0;
                for (int q = 0; q < m; q++) inner |= node_out(ch.m[q], 0) == v;
                for (int q = 0; q < ne; q++) seen |= ext[q] == v;
                if (inner || seen) continue;
                if (ne == 16) ok = 0;
                else ext[ne++] = v;
            }
        }
        if (!ok) continue;
        Node *f = pool_alloc(g->pool, sizeof *f);
        f->name = b->name;
        f->domain = "ai.onnxcc";
        f->op = OP_FusedElementwise;
        f->opset = b->opset;
        f->g = g;
        f->id = -1;
        f->in = pool_dup(g->pool, ext, sizeof *ext * (size_t)ne);
        f->nin = ne;
        f->out = pool_alloc(g->pool, sizeof *f->out);
        f->out[0] = node_out(b, 0);
        f->nout = 1;
        f->chain = pool_dup(g->pool, ch.m, sizeof *ch.m * (size_t)ch.n);
        f->nchain = ch.n;
        f->op_type = ch.m[0]->op_type;
        for (int m = 1; m < ch.n; m++) f->op_type = pool_fmt(g->pool, "%s+%s", f->op_type, ch.m[m]->op_type);
        for (int m = 0; m < ch.n; m++) c->dead[ch.m[m]->id] = 1;
        VEC_PUSH(g->pool, *made, *nmade, cap, f);
        count++;
    }
    return count;
}
