/* train.c — the ai.onnx.preview.training optimizers: Adagrad, Adam, Momentum (standard
 * and Nesterov); and TfIdfVectorizer, as contained (see its section).
 *
 * They are pure functions of their inputs (R: learning rate, T: step count, then groups of
 * X, G and the optimizer's state tensors), so each lowers to one elementwise loop per
 * group. The order of operations follows the spec's numpy reference: the scalar learning
 * rate adjustments (which mix R, T and the attributes) are computed in double, as numpy
 * promotes them, and are rounded to the tensor type once before the element loop; the
 * per-element arithmetic is in the tensor type with the attributes rounded to it. */
#include <string.h>
#include "../onnxcc.h"

/* Tensors per group in the inputs after R and T, and outputs per group. */
static int train_per_group(const Node *n)
{
    switch (n->op) {
    case OP_Adagrad: return 3;   /* X, G, H -> X_new, H_new */
    case OP_Adam: return 4;      /* X, G, V, H -> X_new, V_new, H_new */
    default: return 3;           /* Momentum: X, G, V -> X_new, V_new */
    }
}

static int train_scalar(Node *n, int i, const char *what, int want_float)
{
    Value *v = node_in(n, i);
    if (!v) return node_err(n, "missing input %s", what);
    DType t = v->type.dt;
    if (want_float ? (t != DT_F32 && t != DT_F64) : !(dt_is_int(t) && t != DT_IDX))
        return node_err(n, "input %s has unsupported type %s", what, dt_name(t));
    if (type_numel(&v->type) != 1) return node_err(n, "input %s must have one element", what);
    return 0;
}

int train_infer(Node *n)
{
    int per = train_per_group(n);
    if (n->nin < 2 + per || (n->nin - 2) % per)
        return node_err(n, "expects R, T and groups of %d tensors, got %d inputs", per, n->nin);
    int groups = (n->nin - 2) / per;
    if (n->nout != groups * (per - 1))
        return node_err(n, "expects %d outputs, got %d", groups * (per - 1), n->nout);
    if (train_scalar(n, 0, "R", 1) || train_scalar(n, 1, "T", 0)) return -1;
    if (n->op == OP_Momentum) {
        const char *mode = attr_s(n, "mode", "standard");
        if (strcmp(mode, "standard") && strcmp(mode, "nesterov"))
            return node_err(n, "mode '%s' is not 'standard' or 'nesterov'", mode);
        if (!attr_get(n, "alpha") || !attr_get(n, "beta") || !attr_get(n, "norm_coefficient"))
            return node_err(n, "attributes alpha, beta and norm_coefficient are required");
    }
    for (int g = 0; g < groups; g++) {
        Value *x = node_in(n, 2 + g);
        if (!x) return node_err(n, "missing tensor X of group %d", g);
        if (x->type.dt != DT_F32 && x->type.dt != DT_F64)
            return node_err(n, "tensor type %s is not supported (float32, float64)",
                            dt_name(x->type.dt));
        for (int j = 1; j < per; j++) {
            Value *s = node_in(n, 2 + j * groups + g);
            if (!s) return node_err(n, "missing input %d", 2 + j * groups + g);
            if (!type_equal(&s->type, &x->type))
                return node_err(n, "input %d (%s) does not match X of its group (%s)",
                                2 + j * groups + g, type_str(n->g->pool, &s->type),
                                type_str(n->g->pool, &x->type));
        }
        for (int j = 0; j < per - 1; j++) {
            if (!node_out(n, j * groups + g))
                return node_err(n, "output %d must be present", j * groups + g);
            if (set_out_type(n, j * groups + g, &x->type)) return -1;
        }
    }
    return 0;
}

int train_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int per = train_per_group(n);
    int groups = (n->nin - 2) / per;
    int br = lw_in(L, 0), bt = lw_in(L, 1);
    DType tt = node_in(n, 1)->type.dt;
    KExpr *r = kcast(k, DT_F64, kload(k, br, kc_idx(k, 0)));
    KExpr *tv = kload(k, bt, kc_idx(k, 0));
    KExpr *td = kcast(k, DT_F64, tv);
    KExpr *tpos = kbin(k, KB_GT, tv, kc_int(k, tt, 0));

    double nc = attr_f(n, "norm_coefficient", 0.0f);
    double eps = attr_f(n, "epsilon", 0.0f);
    double alpha = attr_f(n, "alpha", 0.9f);
    double beta = attr_f(n, "beta", 0.999f);
    /* The adjusted learning rate, in double (numpy promotes the int64 step to float64). */
    int radj;
    if (n->op == OP_Adagrad) {
        double decay = attr_f(n, "decay_factor", 0.0f);
        radj = kdecl(k, DT_F64, kbin(k, KB_DIV, r,
                     kbin(k, KB_ADD, kc_float(k, DT_F64, 1.0),
                          kbin(k, KB_MUL, td, kc_float(k, DT_F64, decay)))));
    } else if (n->op == OP_Adam) {
        /* bias correction only from the first step on */
        KExpr *bpow = kbin(k, KB_POW, kc_float(k, DT_F64, beta), td);
        KExpr *apow = kbin(k, KB_POW, kc_float(k, DT_F64, alpha), td);
        KExpr *corr = kbin(k, KB_DIV,
                           kbin(k, KB_MUL, r, kun(k, KU_SQRT, kbin(k, KB_SUB,
                                kc_float(k, DT_F64, 1.0), bpow))),
                           kbin(k, KB_SUB, kc_float(k, DT_F64, 1.0), apow));
        radj = kdecl(k, DT_F64, r);
        kif(k, tpos);
        kset(k, radj, corr);
        kend(k);
    } else {
        radj = kdecl(k, DT_F64, r);
    }

    for (int g = 0; g < groups; g++) {
        const Type *xt = &node_in(n, 2 + g)->type;
        DType W = xt->dt;
        int bx = lw_in(L, 2 + g), bg = lw_in(L, 2 + groups + g);
        int b2 = lw_in(L, 2 + 2 * groups + g);
        int b3 = per == 4 ? lw_in(L, 2 + 3 * groups + g) : -1;
        int ox = lw_out(L, g), o2 = lw_out(L, groups + g);
        int o3 = per == 4 ? lw_out(L, 2 * groups + g) : -1;
        int rw = kdecl(k, W, kcast(k, W, kvar(k, radj)));
        int badj = -1;
        if (n->op == OP_Momentum)  /* the gradient's coefficient is 1 at the first step */
            badj = kdecl(k, W, ksel(k, tpos, kc_float(k, W, beta), kc_float(k, W, 1.0)));

        int i = kfor_n(k, type_numel(xt), KL_VECTOR);
        KExpr *iv = kvar(k, i);
        KExpr *x = kload(k, bx, iv);
        int greg = kdecl(k, W, kbin(k, KB_ADD, kbin(k, KB_MUL, kc_float(k, W, nc), x),
                                    kload(k, bg, iv)));
        KExpr *gr = kvar(k, greg);
        if (n->op == OP_Adagrad) {
            int hn = kdecl(k, W, kbin(k, KB_ADD, kload(k, b2, iv), kbin(k, KB_MUL, gr, gr)));
            KExpr *hs = kbin(k, KB_ADD, kun(k, KU_SQRT, kvar(k, hn)), kc_float(k, W, eps));
            kstore(k, ox, iv, kbin(k, KB_SUB, x,
                   kbin(k, KB_DIV, kbin(k, KB_MUL, kvar(k, rw), gr), hs)));
            kstore(k, o2, iv, kvar(k, hn));
        } else if (n->op == OP_Adam) {
            double ncp = attr_f(n, "norm_coefficient_post", 0.0f);
            int vn = kdecl(k, W, kbin(k, KB_ADD,
                                      kbin(k, KB_MUL, kc_float(k, W, alpha), kload(k, b2, iv)),
                                      kbin(k, KB_MUL, kc_float(k, W, 1.0 - alpha), gr)));
            int hn = kdecl(k, W, kbin(k, KB_ADD,
                                      kbin(k, KB_MUL, kc_float(k, W, beta), kload(k, b3, iv)),
                                      kbin(k, KB_MUL, kc_float(k, W, 1.0 - beta),
                                           kbin(k, KB_MUL, gr, gr))));
            KExpr *hs = kbin(k, KB_ADD, kun(k, KU_SQRT, kvar(k, hn)), kc_float(k, W, eps));
            KExpr *xn = kbin(k, KB_SUB, x, kbin(k, KB_MUL, kvar(k, rw),
                                               kbin(k, KB_DIV, kvar(k, vn), hs)));
            kstore(k, ox, iv, kbin(k, KB_MUL, kc_float(k, W, 1.0 - ncp), xn));
            kstore(k, o2, iv, kvar(k, vn));
            kstore(k, o3, iv, kvar(k, hn));
        } else {
            int vn = kdecl(k, W, kbin(k, KB_ADD,
                                      kbin(k, KB_MUL, kc_float(k, W, alpha), kload(k, b2, iv)),
                                      kbin(k, KB_MUL, kvar(k, badj), gr)));
            KExpr *step = kvar(k, vn);
            if (!strcmp(attr_s(n, "mode", "standard"), "nesterov"))
                step = kbin(k, KB_ADD, gr, kbin(k, KB_MUL, kc_float(k, W, alpha), step));
            kstore(k, ox, iv, kbin(k, KB_SUB, x, kbin(k, KB_MUL, kvar(k, rw), step)));
            kstore(k, o2, iv, kvar(k, vn));
        }
        kend(k);
    }
    return 0;
}

/* ---- TfIdfVectorizer --------------------------------------------------------------- */
/* Not an optimizer, but as self-contained: the n-gram pool is in the attributes, so the
 * output width (largest ngram_indexes entry + 1) is static and each pool n-gram becomes
 * one unrolled comparison against constants inside the loops over start and skip. */

typedef struct TfIdf {
    int64_t minn, maxn, maxskip, width, rows, cols;
    const int64_t *counts, *indexes, *pool;
    int ncounts, nindexes, npool;
    const float *weights;
    int nweights;
    int mode;  /* 0 TF, 1 IDF, 2 TFIDF */
} TfIdf;

static int tfidf_params(Node *n, TfIdf *p)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input X");
    if (x->type.dt != DT_I32 && x->type.dt != DT_I64)
        return node_err(n, "input type %s is not supported (int32, int64)",
                        dt_name(x->type.dt));
    if (x->type.rank != 1 && x->type.rank != 2)
        return node_err(n, "input must have rank 1 or 2");
    p->rows = x->type.rank == 2 ? x->type.dims[0] : 1;
    p->cols = x->type.dims[x->type.rank - 1];
    p->minn = attr_i(n, "min_gram_length", -1);
    p->maxn = attr_i(n, "max_gram_length", -1);
    p->maxskip = attr_i(n, "max_skip_count", -1);
    if (p->minn < 1 || p->maxn < p->minn || p->maxskip < 0)
        return node_err(n, "need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0");
    const char *mode = attr_s(n, "mode", "");
    p->mode = !strcmp(mode, "TF") ? 0 : !strcmp(mode, "IDF") ? 1 : !strcmp(mode, "TFIDF") ? 2 : -1;
    if (p->mode < 0) return node_err(n, "mode '%s' is not TF, IDF or TFIDF", mode);
    if (attr_get(n, "pool_strings")) return node_err(n, "pool_strings is not supported");
    p->counts = attr_ints(n, "ngram_counts", &p->ncounts);
    p->indexes = attr_ints(n, "ngram_indexes", &p->nindexes);
    p->pool = attr_ints(n, "pool_int64s", &p->npool);
    if (!p->counts || !p->indexes || !p->pool)
        return node_err(n, "ngram_counts, ngram_indexes and pool_int64s are required");
    if (p->ncounts < p->maxn)
        return node_err(n, "ngram_counts has %d levels, max_gram_length is %lld", p->ncounts,
                        (long long)p->maxn);
    /* every level's span must be a whole number of n-grams, and cover the index list */
    int64_t ngrams = 0;
    for (int l = 0; l < p->ncounts; l++) {
        int64_t lo = p->counts[l], hi = l + 1 < p->ncounts ? p->counts[l + 1] : p->npool;
        if (lo < 0 || hi < lo || hi > p->npool || (hi - lo) % (l + 1))
            return node_err(n, "ngram_counts does not split pool_int64s into n-grams");
        ngrams += (hi - lo) / (l + 1);
    }
    if (ngrams != p->nindexes)
        return node_err(n, "ngram_indexes has %d entries for %lld n-grams", p->nindexes,
                        (long long)ngrams);
    p->width = 0;
    for (int i = 0; i < p->nindexes; i++) {
        if (p->indexes[i] < 0) return node_err(n, "negative entry in ngram_indexes");
        if (p->indexes[i] + 1 > p->width) p->width = p->indexes[i] + 1;
    }
    p->weights = attr_floats(n, "weights", &p->nweights);
    if (p->weights && p->nweights != p->nindexes)
        return node_err(n, "weights has %d entries for %d n-grams", p->nweights, p->nindexes);
    return 0;
}

int tfidf_infer(Node *n)
{
    TfIdf p;
    if (tfidf_params(n, &p)) return -1;
    int64_t dims[2] = { p.rows, p.width };
    if (node_in(n, 0)->type.rank == 2) return set_out(n, 0, DT_F32, 2, dims);
    return set_out(n, 0, DT_F32, 1, dims + 1);
}

int tfidf_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    TfIdf p;
    if (tfidf_params(n, &p)) return -1;
    DType xt = node_in(n, 0)->type.dt;
    int bx = lw_in(L, 0), bo = lw_out(L, 0);
    int ncounts = p.ncounts < p.maxn ? p.ncounts : (int)p.maxn;

    KExpr *b = kvar(k, kfor_n(k, p.rows, KL_PARALLEL));
    KExpr *obase = kmuli(k, b, p.width);
    KExpr *xbase = kmuli(k, b, p.cols);
    int z = kfor_n(k, p.width, KL_VECTOR);
    kstore(k, bo, kadd(k, obase, kvar(k, z)), kc_float(k, DT_F32, 0.0));
    kend(k);
    KExpr *s = kvar(k, kfor_n(k, p.cols, KL_SERIAL));
    KExpr *sk = kvar(k, kfor_n(k, p.maxskip + 1, KL_SERIAL));
    KExpr *step = kaddi(k, sk, 1);
    int ord = 0;
    for (int l = 0; l < p.ncounts; l++) {
        int64_t len = l + 1;
        int64_t lo = p.counts[l], hi = l + 1 < p.ncounts ? p.counts[l + 1] : p.npool;
        if (l >= ncounts || len < p.minn) {
            ord += (int)((hi - lo) / len);
            continue;
        }
        /* a unigram does not depend on the skip: count it once, at skip 0 */
        KExpr *fits = len == 1
            ? kbin(k, KB_EQ, sk, kc_idx(k, 0))
            : kbin(k, KB_LT, kadd(k, s, kmul(k, step, kc_idx(k, len - 1))), kc_idx(k, p.cols));
        kif(k, fits);
        for (int64_t g = lo; g < hi; g += len, ord++) {
            KExpr *match = NULL;
            for (int64_t j = 0; j < len; j++) {
                KExpr *pos = kadd(k, xbase, kadd(k, s, kmul(k, step, kc_idx(k, j))));
                KExpr *eq = kbin(k, KB_EQ, kload(k, bx, pos), kc_int(k, xt, p.pool[g + j]));
                match = match ? kbin(k, KB_AND, match, eq) : eq;
            }
            KExpr *oi = kaddi(k, obase, p.indexes[ord]);
            kif(k, match);
            kstore(k, bo, oi, kbin(k, KB_ADD, kload(k, bo, oi), kc_float(k, DT_F32, 1.0)));
            kend(k);
        }
        kend(k);
    }
    kend_n(k, 2);
    if (p.mode != 0) {
        /* weights per output slot: a later n-gram mapped to the same slot wins */
        for (int i = 0; i < p.nindexes; i++) {
            int later = 0;
            for (int i2 = i + 1; i2 < p.nindexes; i2++) later |= p.indexes[i2] == p.indexes[i];
            if (later) continue;
            double w = p.weights ? p.weights[i] : 1.0;
            KExpr *oi = kaddi(k, obase, p.indexes[i]);
            KExpr *c = kload(k, bo, oi);
            KExpr *v = p.mode == 1
                ? ksel(k, kbin(k, KB_GT, c, kc_float(k, DT_F32, 0.0)),
                       kc_float(k, DT_F32, w), kc_float(k, DT_F32, 0.0))
                : kbin(k, KB_MUL, c, kc_float(k, DT_F32, w));
            kstore(k, bo, oi, v);
        }
    }
    kend(k);
    return 0;
}
