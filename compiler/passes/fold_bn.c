/* fold_bn.c — BatchNormalization (inference form, every parameter constant) folded into
 * the Conv, Gemm or MatMul before it when that op's weights are constant:
 *
 *   s = scale / sqrt(var + eps)            (double)
 *   W'[m, ...] = W[m, ...] * s[m]          (Conv: per output channel; Gemm: per column)
 *   B'[m] = (B[m] - mean[m]) * s[m] + bn_B[m]
 *
 * The folded weights are new constants (the old ones may be shared). A rank-2 MatMul
 * becomes a Gemm, which has the bias input. The op takes over the BatchNormalization's
 * output value, so its consumers and graph outputs are untouched. For every target. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "passes.h"

static int real_dt(DType t) { return t == DT_F32 || t == DT_F64; }

/* A constant real tensor of exactly n elements. */
static int const_real(const Value *v, int64_t n)
{
    return v && v->data && v->has_type && real_dt(v->type.dt) && type_numel(&v->type) == n;
}

static void put(void *data, DType t, int64_t i, double x)
{
    if (t == DT_F32) ((float *)data)[i] = (float)x;
    else ((double *)data)[i] = x;
}

/* s[] and the shift t[] = bn_B - mean * s of a foldable BatchNormalization over M
 * channels; 0 when it is not one. */
static int bn_params(const Node *bn, int64_t M, double *s, double *t)
{
    if (bn->op != OP_BatchNormalization || bn->nin < 5) return 0;
    if (attr_i(bn, "training_mode", 0) != 0) return 0;
    if (bn->opset < 7 && attr_i(bn, "spatial", 1) == 0) return 0;
    for (int i = 1; i < bn->nout; i++)
        if (node_out(bn, i)) return 0;
    for (int i = 1; i <= 4; i++)
        if (!const_real(node_in(bn, i), M)) return 0;
    const Value *x = node_in(bn, 0);
    if (!x || !x->has_type || x->type.rank < 2 || x->type.dims[1] != M) return 0;
    double eps = attr_f(bn, "epsilon", 1e-5f);
    for (int64_t m = 0; m < M; m++) {
        double sc = const_elem_f(bn->in[1], m), b = const_elem_f(bn->in[2], m);
        double mean = const_elem_f(bn->in[3], m), var = const_elem_f(bn->in[4], m);
        s[m] = sc / sqrt(var + eps);
        t[m] = b - mean * s[m];
    }
    return 1;
}

/* Conv X W [B] -> BN: new W and B. */
static int fold_conv(PassCtx *c, Node *conv, Node *bn)
{
    Graph *g = c->g;
    Value *w = node_in(conv, 1), *b = node_in(conv, 2);
    if (!w || !w->data || !w->has_type || !real_dt(w->type.dt) || w->type.rank < 3) return 0;
    if (conv->nin > 3 || (b && !const_real(b, w->type.dims[0]))) return 0;
    int64_t M = w->type.dims[0], per = type_numel(&w->type) / (M ? M : 1);
    if (M <= 0 || (b && b->type.dt != w->type.dt)) return 0;
    double *s = pool_alloc(g->pool, sizeof(double) * (size_t)M);
    double *t = pool_alloc(g->pool, sizeof(double) * (size_t)M);
    if (!bn_params(bn, M, s, t)) return 0;
    DType dt = w->type.dt;
    size_t es = dt_size(dt);
    size_t wbytes = es * (size_t)(M * per);
    /* a big folded weight is built in the heap and spilled to a mapped temp file (util.h
     * weights_spill), so its pages, and the source's, can be given back once packed */
    int big = wbytes >= 1024 * 1024;
    void *wd = big ? malloc(wbytes) : NULL;
    if (!wd) wd = pool_alloc(g->pool, wbytes), big = 0;
    void *bd = pool_alloc(g->pool, es * (size_t)M);
    for (int64_t m = 0; m < M; m++) {
        for (int64_t i = 0; i < per; i++)
            put(wd, dt, m * per + i, const_elem_f(w, m * per + i) * s[m]);
        put(bd, dt, m, (b ? const_elem_f(b, m) : 0.0) * s[m] + t[m]);
    }
    if (big) {
        void *sp = weights_spill(wd, wbytes);
        if (!sp) sp = memcpy(pool_alloc(g->pool, wbytes), wd, wbytes);
        free(wd);
        wd = sp;
        weights_release(w->data, wbytes);
    }
    Value *nw = pass_new_const(g, pool_fmt(g->pool, "%s_W_bnfold", conv->name), dt,
                               w->type.rank, w->type.dims, wd);
    Value *nb = pass_new_const(g, pool_fmt(g->pool, "%s_B_bnfold", conv->name), dt, 1, &M, bd);
    conv->in[1] = nw;
    if (conv->nin >= 3) conv->in[2] = nb;
    else pass_append_input(g, conv, nb, 2);
    return 1;
}

/* Gemm A B [C] (or a rank-2 MatMul, which becomes a Gemm) -> BN over its columns. */
static int fold_gemm(PassCtx *c, Node *gm, Node *bn)
{
    Graph *g = c->g;
    Value *a = node_in(gm, 0), *b = node_in(gm, 1);
    Value *cc = gm->op == OP_Gemm ? node_in(gm, 2) : NULL;
    Value *y = node_out(gm, 0);
    if (!a || !b || !b->data || !b->has_type || !real_dt(b->type.dt) || b->type.rank != 2) return 0;
    if (!a->has_type || a->type.rank != 2 || !y->has_type || y->type.rank != 2) return 0;
    if (gm->nin > 3) return 0;
    int tb = gm->op == OP_Gemm && attr_i(gm, "transB", 0) != 0;
    int64_t N = y->type.dims[1], K = tb ? b->type.dims[1] : b->type.dims[0];
    if (N <= 0 || (tb ? b->type.dims[0] : b->type.dims[1]) != N) return 0;
    double beta = gm->op == OP_Gemm ? attr_f(gm, "beta", 1.0f) : 1.0;
    /* C must be one value per column (or one in all) to stay a bias */
    int64_t cn = 0;
    if (cc) {
        if (!cc->data || !cc->has_type || cc->type.dt != b->type.dt) return 0;
        cn = type_numel(&cc->type);
        if (cn != 1 && !(cn == N && cc->type.dims[cc->type.rank - 1] == N)) return 0;
    }
    double *s = pool_alloc(g->pool, sizeof(double) * (size_t)N);
    double *t = pool_alloc(g->pool, sizeof(double) * (size_t)N);
    if (!bn_params(bn, N, s, t)) return 0;
    DType dt = b->type.dt;
    size_t es = dt_size(dt);
    void *bd = pool_alloc(g->pool, es * (size_t)(K * N));
    void *cd = pool_alloc(g->pool, es * (size_t)N);
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) {
            int64_t i = tb ? j * K + k : k * N + j;
            put(bd, dt, i, const_elem_f(b, i) * s[j]);
        }
    for (int64_t j = 0; j < N; j++) {
        double cv = cc ? beta * const_elem_f(cc, cn == 1 ? 0 : j) : 0.0;
        put(cd, dt, j, cv * s[j] + t[j]);
    }
    Value *nb = pass_new_const(g, pool_fmt(g->pool, "%s_B_bnfold", gm->name), dt, 2,
                               b->type.dims, bd);
    Value *nc = pass_new_const(g, pool_fmt(g->pool, "%s_C_bnfold", gm->name), dt, 1, &N, cd);
    gm->in[1] = nb;
    if (gm->nin >= 3) gm->in[2] = nc;
    else pass_append_input(g, gm, nc, 2);
    if (gm->op == OP_MatMul) gm->op = OP_Gemm;   /* op_type keeps "MatMul" for messages */
    /* beta is inside C' now: drop the attribute (default 1) */
    int k = 0;
    Attr *at = pool_alloc(g->pool, sizeof *at * (size_t)(gm->nattrs + 1));
    for (int i = 0; i < gm->nattrs; i++)
        if (strcmp(gm->attrs[i].name, "beta")) at[k++] = gm->attrs[i];
    gm->attrs = at;
    gm->nattrs = k;
    return 1;
}

int pass_fold_bn(PassCtx *c)
{
    Graph *g = c->g;
    int folded = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *bn = g->nodes[i];
        if (c->dead[bn->id] || bn->op != OP_BatchNormalization) continue;
        Value *x = node_in(bn, 0), *y = node_out(bn, 0);
        if (!x || !y || y->data) continue;
        Node *use[1];
        if (!pass_removable(c, x, 1, use) || use[0] != bn) continue;
        Node *p = x->producer;
        if (c->dead[p->id] || p->nout < 1 || p->out[0] != x || p->epi) continue;
        if (!y->has_type || !type_equal(&x->type, &y->type)) continue;
        int ok = 0;
        if (p->op == OP_Conv && p->nout == 1) ok = fold_conv(c, p, bn);
        else if ((p->op == OP_Gemm || p->op == OP_MatMul) && p->nout == 1) ok = fold_gemm(c, p, bn);
        if (!ok) continue;
        p->out[0] = y;
        pass_note(p, "BatchNormalization");
        c->dead[bn->id] = 1;
        folded++;
    }
    return folded;
}
