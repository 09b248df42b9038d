/* fold_transpose.c — a Transpose whose only reader is a float32 MatMul operand leaves the
 * graph: the MatMul reads the Transpose's input through the permutation (Node.view), and
 * the SGEMM kernel takes it with a row stride and a transposition flag. Exporters write
 * attention this way (heads split by Reshape + Transpose, K transposed for Q K^T), and each
 * of those Transposes was a full copy of an activation.
 *
 * Foldable when one of the operand's two matrix axes is the source's last axis (the GEMM
 * needs one unit stride); the batch axes may go anywhere. Only where the target has the
 * SGEMM kernel: the loop-nest MatMul reads contiguous operands. */
#include <string.h>
#include "passes.h"

/* The Transpose's permutation into perm (its rank), or 0 when it is not a plain one. */
static int read_perm(const Node *t, int *perm)
{
    const Value *x = node_in(t, 0);
    if (!x || !x->has_type) return 0;
    int r = x->type.rank, cnt = 0;
    const int64_t *p = attr_ints(t, "perm", &cnt);
    if (r < 2 || r > KIR_MAX_RANK) return 0;
    if (!p) {
        for (int d = 0; d < r; d++) perm[d] = r - 1 - d;
        return r;
    }
    if (cnt != r) return 0;
    int seen[KIR_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) {
        if (p[d] < 0 || p[d] >= r || seen[p[d]]) return 0;
        seen[p[d]] = 1;
        perm[d] = (int)p[d];
    }
    return r;
}

int pass_fold_transpose(PassCtx *c)
{
    Graph *g = c->g;
    if (!target_has_kernel(c->t, "rt_sgemm_f32")) return 0;
    int count = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *mm = g->nodes[i];
        if (c->dead[mm->id] || mm->op != OP_MatMul || mm->epi || mm->nin != 2) continue;
        if (!node_out(mm, 0) || node_out(mm, 0)->type.dt != DT_F32) continue;
        for (int o = 0; o < 2; o++) {
            Value *v = mm->in[o];
            Node *t = v ? v->producer : NULL;
            Node *users[2];
            if (!t || c->dead[t->id] || t->op != OP_Transpose || mm->view[o]) continue;
            if (v->type.dt != DT_F32 || v->type.rank < 2 || mm->in[0] == mm->in[1]) continue;
            if (!pass_removable(c, v, 1, users)) continue;
            int perm[KIR_MAX_RANK], r = read_perm(t, perm);
            if (r != v->type.rank) continue;
            if (perm[r - 1] != r - 1 && perm[r - 2] != r - 1) continue;
            OperandView *w = pool_alloc(g->pool, sizeof *w);
            w->rank = r;
            memcpy(w->perm, perm, sizeof(int) * (size_t)r);
            mm->view[o] = w;
            mm->in[o] = t->in[0];
            c->dead[t->id] = 1;
            pass_note(mm, "Transpose");
            count++;
        }
    }
    return count;
}
