/* ml.c — the ai.onnx.ml operators: tree ensembles (TreeEnsembleClassifier/Regressor of
 * ai.onnx.ml 1/3, TreeEnsemble of ai.onnx.ml 5), linear models, Scaler, Normalizer,
 * Binarizer, numeric LabelEncoder, ArrayFeatureExtractor, SVMClassifier, SVMRegressor; and
 * the refusal of the map and string operators (ZipMap, DictVectorizer, CategoryMapper).
 *
 * Tree ensembles: both attribute forms are first normalised into one Forest (interior
 * nodes, leaves with their (target, weight) lists, roots), which is emitted as a few
 * compact constant tables walked by a fixed-trip loop (the deepest path's length): no
 * recursion and no code per node, so a forest of hundreds of trees costs flash only for its
 * tables. A child index >= 0 is an interior node, < 0 the leaf ~index; the walk stops
 * moving once it reaches a leaf. Semantics (aggregation starts, binary classifiers,
 * post-transforms) follow the ONNX reference implementation, which is what the node tests
 * were generated with. */
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include "../onnxcc.h"

/* ---- shared ---------------------------------------------------------------------- */

enum { PT_NONE, PT_SOFTMAX, PT_LOGISTIC, PT_SOFTMAX_ZERO, PT_PROBIT };
enum { AG_AVERAGE, AG_SUM, AG_MIN, AG_MAX };   /* ai.onnx.ml 5 numbering */

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* post_transform: a string in the older operators, an int in TreeEnsemble. */
static int ml_post_transform(const Node *n, int *pt)
{
    static const char *const names[] = { "NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO",
                                         "PROBIT" };
    const Attr *a = attr_get(n, "post_transform");
    *pt = PT_NONE;
    if (!a) return 0;
    if (a->kind == A_INT) {
        if (a->i < 0 || a->i > 4) return node_err(n, "post_transform %lld is not 0..4",
                                                  (long long)a->i);
        *pt = (int)a->i;
        return 0;
    }
    if (a->kind != A_STRING || (*pt = name_index(a->s, names, 5)) < 0)
        return node_err(n, "post_transform '%s' is not NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO "
                        "or PROBIT", a->kind == A_STRING ? a->s : "?");
    return 0;
}

/* The feature matrix: X [N, C] or [C] (one row); the numeric types the ML operators take. */
static int ml_matrix(const Node *n, int64_t *rows, int64_t *cols)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input X");
    DType t = x->type.dt;
    if (t != DT_F32 && t != DT_F64 && t != DT_I64 && t != DT_I32)
        return node_err(n, "input type %s is not supported (float32, float64, int64, int32)",
                        dt_name(t));
    if (x->type.rank == 1) {
        *rows = 1;
        *cols = x->type.dims[0];
    } else if (x->type.rank == 2) {
        *rows = x->type.dims[0];
        *cols = x->type.dims[1];
    } else {
        return node_err(n, "input X must have rank 1 or 2, not %d", x->type.rank);
    }
    return 0;
}

/* A float list attribute or its *_as_tensor form (double, float ...) as doubles; *dbl is
 * set when the values came as float64 (the computation then runs in double). */
static int ml_doubles(const Node *n, const char *name, double **out, int *count, int *dbl)
{
    char tname[96];
    snprintf(tname, sizeof tname, "%s_as_tensor", name);
    const Attr *t = attr_get(n, tname);
    *out = NULL;
    *count = 0;
    if (t) {
        if (t->kind != A_TENSOR || !t->t || !t->t->data || !dt_is_float(t->t->type.dt))
            return node_err(n, "attribute %s must be a float tensor", tname);
        int64_t c = type_numel(&t->t->type);
        *out = pool_alloc(n->g->pool, sizeof **out * (size_t)(c + 1));
        for (int64_t i = 0; i < c; i++) (*out)[i] = const_elem_f(t->t, i);
        *count = (int)c;
        if (dbl && t->t->type.dt == DT_F64) *dbl = 1;
        return 0;
    }
    int c;
    const float *f = attr_floats(n, name, &c);
    if (!f) return 0;
    *out = pool_alloc(n->g->pool, sizeof **out * (size_t)(c + 1));
    for (int i = 0; i < c; i++) (*out)[i] = f[i];
    *count = c;
    return 0;
}

/* A tensor attribute (TreeEnsemble's form) as doubles. */
static int ml_tensor_doubles(const Node *n, const char *name, double **out, int64_t *count,
                             DType *dt)
{
    const Attr *a = attr_get(n, name);
    *out = NULL;
    *count = 0;
    if (!a) return 0;
    if (a->kind != A_TENSOR || !a->t || !a->t->data || !dt_supported(a->t->type.dt))
        return node_err(n, "attribute %s must be a numeric tensor", name);
    int64_t c = type_numel(&a->t->type);
    *out = pool_alloc(n->g->pool, sizeof **out * (size_t)(c + 1));
    for (int64_t i = 0; i < c; i++) (*out)[i] = const_elem_f(a->t, i);
    *count = c;
    if (dt) *dt = a->t->type.dt;
    return 0;
}

/* String labels, keys or values: onnxcc computes on numbers only. */
static int ml_no_strings(const Node *n, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        const Attr *a = attr_get(n, names[i]);
        if (!a) continue;
        if (a->kind == A_STRINGS || a->kind == A_STRING ||
            (a->kind == A_TENSOR && a->t && a->t->type.dt == DT_STRING))
            return node_err(n, "attribute %s holds strings: string tensors are not supported "
                            "by onnxcc (use integer labels/keys)", names[i]);
    }
    return 0;
}

/* Loads element i of a constant table through whatever integer type it was packed in. */
static KExpr *tab_idx(KB *k, int buf, KExpr *i)
{
    return kcast(k, DT_IDX, kload(k, buf, i));
}

/* A constant int table in the narrowest of uint8/int16/int32 that holds it: trees are mostly
 * indices, and halving them halves the flash. */
static int tab_ints(Lower *L, const char *what, const int64_t *v, int64_t n)
{
    int narrow = 1, byte = 1;
    for (int64_t i = 0; i < n; i++) {
        narrow &= v[i] >= INT16_MIN && v[i] <= INT16_MAX;
        byte &= v[i] >= 0 && v[i] <= UINT8_MAX;
    }
    Pool *p = L->prog->pool;
    if (byte) {
        uint8_t *d = pool_alloc(p, (size_t)n);
        for (int64_t i = 0; i < n; i++) d[i] = (uint8_t)v[i];
        return lw_const(L, what, DT_U8, n, d, NULL);
    }
    if (narrow) {
        int16_t *d = pool_alloc(p, sizeof *d * (size_t)n);
        for (int64_t i = 0; i < n; i++) d[i] = (int16_t)v[i];
        return lw_const(L, what, DT_I16, n, d, NULL);
    }
    int32_t *d = pool_alloc(p, sizeof *d * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = (int32_t)v[i];
    return lw_const(L, what, DT_I32, n, d, NULL);
}

static int tab_reals(Lower *L, const char *what, DType W, const double *v, int64_t n)
{
    Pool *p = L->prog->pool;
    if (W == DT_F64) return lw_const(L, what, W, n, pool_dup(p, v, sizeof *v * (size_t)n), NULL);
    float *d = pool_alloc(p, sizeof *d * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = (float)v[i];
    return lw_const(L, what, DT_F32, n, d, NULL);
}

/* The post-transform over the m scores at buf[base ...], in place, in type W. */
static void emit_post(KB *k, int pt, DType W, int buf, KExpr *base, int64_t m)
{
    if (pt == PT_NONE || m <= 0) return;
    KExpr *one = kc_float(k, W, 1.0), *zero = kc_float(k, W, 0.0);
    if (pt == PT_LOGISTIC || pt == PT_PROBIT) {
        KExpr *j = kvar(k, kfor_n(k, m, KL_SERIAL));
        KExpr *at = kadd(k, base, j);
        KExpr *v = kload(k, buf, at);
        if (pt == PT_LOGISTIC) {
            kstore(k, buf, at, kbin(k, KB_DIV, one, kbin(k, KB_ADD, one,
                                                        kun(k, KU_EXP, kun(k, KU_NEG, v)))));
        } else {
            /* sqrt(2) * erfinv(2v - 1), erfinv by Winitzki's closed form (a = 0.147), the
             * approximation onnxruntime also uses */
            int x = kdecl(k, W, kbin(k, KB_SUB, kbin(k, KB_MUL, kc_float(k, W, 2.0), v), one));
            KExpr *xv = kvar(k, x);
            int l = kdecl(k, W, kun(k, KU_LOG, kbin(k, KB_MUL, kbin(k, KB_SUB, one, xv),
                                                     kbin(k, KB_ADD, one, xv))));
            KExpr *lv = kvar(k, l);
            int a = kdecl(k, W, kbin(k, KB_ADD, kc_float(k, W, 2.0 / (3.14159265358979323846 * 0.147)),
                                     kbin(k, KB_MUL, kc_float(k, W, 0.5), lv)));
            KExpr *av = kvar(k, a);
            KExpr *r = kun(k, KU_SQRT, kbin(k, KB_SUB, kun(k, KU_SQRT, kbin(k, KB_SUB,
                               kbin(k, KB_MUL, av, av), kbin(k, KB_DIV, lv, kc_float(k, W, 0.147)))),
                               av));
            KExpr *sg = ksel(k, kbin(k, KB_LT, xv, zero), kc_float(k, W, -1.41421356237309504880),
                             kc_float(k, W, 1.41421356237309504880));
            kstore(k, buf, at, kbin(k, KB_MUL, sg, r));
        }
        kend(k);
        return;
    }
    /* SOFTMAX / SOFTMAX_ZERO: max, exponentials and their sum, division */
    int mx = kdecl(k, W, kload(k, buf, base));
    KExpr *j = kvar(k, kfor_n(k, m, KL_REDUCE));
    kset(k, mx, kbin(k, KB_MAX, kvar(k, mx), kload(k, buf, kadd(k, base, j))));
    kend(k);
    int s = kdecl(k, W, zero);
    j = kvar(k, kfor_n(k, m, KL_REDUCE));
    KExpr *at = kadd(k, base, j);
    KExpr *v = kload(k, buf, at);
    KExpr *e = kun(k, KU_EXP, kbin(k, KB_SUB, v, kvar(k, mx)));
    if (pt == PT_SOFTMAX_ZERO) {
        /* a zero score stays zero: it means "no tree voted", not "weight 1" */
        KExpr *nz = kbin(k, KB_GT, kun(k, KU_ABS, v), kc_float(k, W, 1e-7));
        e = ksel(k, nz, e, kbin(k, KB_MUL, v, kun(k, KU_EXP, kun(k, KU_NEG, kvar(k, mx)))));
    }
    int ev = kdecl(k, W, e);
    kstore(k, buf, at, kvar(k, ev));
    kset(k, s, kbin(k, KB_ADD, kvar(k, s), kvar(k, ev)));
    kend(k);
    j = kvar(k, kfor_n(k, m, KL_SERIAL));
    at = kadd(k, base, j);
    KExpr *q = kbin(k, KB_DIV, kload(k, buf, at), kvar(k, s));
    if (pt == PT_SOFTMAX_ZERO)
        q = ksel(k, kbin(k, KB_EQ, kvar(k, s), zero), kc_float(k, W, 0.5), q);
    kstore(k, buf, at, q);
    kend(k);
}

/* Index of the first largest of the m scores at buf[base ...] (DT_IDX variable). */
static int emit_argmax(KB *k, int buf, KExpr *base, int64_t m, DType W)
{
    int bi = kdecl(k, DT_IDX, kc_idx(k, 0));
    int bv = kdecl(k, W, kload(k, buf, base));
    KExpr *j = kvar(k, kfor(k, kc_idx(k, 1), kc_idx(k, m), KL_REDUCE));
    KExpr *v = kload(k, buf, kadd(k, base, j));
    kif(k, kbin(k, KB_GT, v, kvar(k, bv)));
    kset(k, bv, v);
    kset(k, bi, j);
    kend_n(k, 2);
    return bi;
}

/* ---- tree ensembles ---------------------------------------------------------------- */

typedef struct Forest {
    int64_t nint, nleaf, ntrees, nent, ntargets, nmem;
    int64_t *feat, *tc, *fc, *roots;   /* children/roots: >= 0 interior, < 0 leaf ~l */
    double *thr;
    int64_t *mode, *mvtt;              /* mode 0..6: LEQ LT GTE GT EQ NEQ MEMBER */
    int64_t *mlo, *mhi;                /* MEMBER nodes: their set in mem[mlo, mhi) */
    double *mem;
    int64_t *loff, *ltgt;              /* leaf l: entries [loff[l], loff[l+1]) */
    double *lw;
    double *base;                      /* ntargets, or NULL */
    int agg, pt;
    int64_t depth;                     /* most interior nodes on a root-to-leaf path */
    DType W;                           /* comparison and accumulation type */
    /* classifier */
    const int64_t *labels;
    int nlabels;
    int binary;
} Forest;

typedef struct NodeKey { int64_t tree, id; int64_t pos; } NodeKey;

static int key_cmp(const void *a, const void *b)
{
    const NodeKey *x = a, *y = b;
    if (x->tree != y->tree) return x->tree < y->tree ? -1 : 1;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return 0;
}

static int64_t key_find(const NodeKey *keys, int64_t n, int64_t tree, int64_t id)
{
    NodeKey want = { tree, id, 0 };
    const NodeKey *k = bsearch(&want, keys, (size_t)n, sizeof *keys, key_cmp);
    return k ? k->pos : -1;
}

/* Longest chain of interior nodes from each root, rejecting cycles and bad children. */
static int forest_depth(const Node *n, Forest *F)
{
    Pool *p = n->g->pool;
    int64_t *dep = pool_alloc(p, sizeof *dep * (size_t)(F->nint + 1));
    unsigned char *state = pool_alloc(p, (size_t)F->nint + 1);
    int64_t *stack = pool_alloc(p, sizeof *stack * (size_t)(F->nint + 1));
    memset(state, 0, (size_t)F->nint + 1);
    for (int64_t i = 0; i < F->nint; i++) {
        if (F->tc[i] >= F->nint || F->fc[i] >= F->nint || ~F->tc[i] >= F->nleaf ||
            ~F->fc[i] >= F->nleaf)
            return node_err(n, "tree node %lld has a child out of range", (long long)i);
    }
    F->depth = 0;
    for (int64_t r = 0; r < F->ntrees; r++) {
        int64_t root = F->roots[r];
        if (root >= F->nint || ~root >= F->nleaf)
            return node_err(n, "tree %lld has its root out of range", (long long)r);
        if (root < 0) continue;
        int64_t sp = 0;
        stack[sp++] = root;
        while (sp) {
            int64_t i = stack[sp - 1];
            if (state[i] == 2) { sp--; continue; }
            state[i] = 1;
            int pushed = 0;
            int64_t ch[2] = { F->tc[i], F->fc[i] };
            for (int c = 0; c < 2; c++) {
                if (ch[c] < 0 || state[ch[c]] == 2) continue;
                if (state[ch[c]] == 1)
                    return node_err(n, "the trees have a cycle through node %lld",
                                    (long long)ch[c]);
                stack[sp++] = ch[c];
                pushed = 1;
                break;
            }
            if (pushed) continue;
            int64_t d0 = ch[0] < 0 ? 0 : dep[ch[0]], d1 = ch[1] < 0 ? 0 : dep[ch[1]];
            dep[i] = 1 + (d0 > d1 ? d0 : d1);
            state[i] = 2;
            sp--;
        }
        if (dep[root] > F->depth) F->depth = dep[root];
    }
    return 0;
}

static int64_t *pool_i64(Pool *p, int64_t n)
{
    int64_t *v = pool_alloc(p, sizeof *v * (size_t)(n + 1));
    memset(v, 0, sizeof *v * (size_t)(n + 1));
    return v;
}

/* TreeEnsembleRegressor / TreeEnsembleClassifier (ai.onnx.ml 1 and 3). */
static int forest_v1(Node *n, Forest *F, int classifier)
{
    static const char *const str_attrs[] = { "classlabels_strings" };
    if (ml_no_strings(n, str_attrs, 1)) return -1;
    Pool *p = n->g->pool;
    int nn, c1, c2, c3, c4, c5, nmodes;
    const int64_t *tids = attr_ints(n, "nodes_treeids", &nn);
    const int64_t *nids = attr_ints(n, "nodes_nodeids", &c1);
    const int64_t *fids = attr_ints(n, "nodes_featureids", &c2);
    const int64_t *tns = attr_ints(n, "nodes_truenodeids", &c3);
    const int64_t *fns = attr_ints(n, "nodes_falsenodeids", &c4);
    const int64_t *mv = attr_ints(n, "nodes_missing_value_tracks_true", &c5);
    const Attr *modes = attr_get(n, "nodes_modes");
    nmodes = modes && modes->kind == A_STRINGS ? modes->n : -1;
    double *vals;
    int nvals, dbl = 0;
    if (ml_doubles(n, "nodes_values", &vals, &nvals, &dbl)) return -1;
    if (!tids || !nids || !fids || nmodes < 0)
        return node_err(n, "attributes nodes_treeids, nodes_nodeids, nodes_featureids and "
                        "nodes_modes are required");
    if (c1 != nn || c2 != nn || nmodes != nn || (tns && c3 != nn) || (fns && c4 != nn) ||
        (mv && c5 != nn) || (vals && nvals != nn))
        return node_err(n, "the nodes_* attributes do not all have %d entries", nn);

    const char *pre = classifier ? "class" : "target";
    char a1[48], a2[48], a3[48], a4[48];
    snprintf(a1, sizeof a1, "%s_treeids", pre);
    snprintf(a2, sizeof a2, "%s_nodeids", pre);
    snprintf(a3, sizeof a3, "%s_ids", pre);
    snprintf(a4, sizeof a4, "%s_weights", pre);
    int nw, w1, w2, nwv;
    const int64_t *wt = attr_ints(n, a1, &nw), *wn = attr_ints(n, a2, &w1),
                  *wi = attr_ints(n, a3, &w2);
    double *wv;
    if (ml_doubles(n, a4, &wv, &nwv, &dbl)) return -1;
    if (!wt) nw = 0;
    if ((nw && (!wn || !wi || !wv)) || (wn && w1 != nw) || (wi && w2 != nw) ||
        (wv && nwv != nw))
        return node_err(n, "attributes %s, %s, %s and %s must have the same length", a1, a2,
                        a3, a4);

    if (classifier) {
        F->labels = attr_ints(n, "classlabels_int64s", &F->nlabels);
        if (!F->labels || F->nlabels < 1)
            return node_err(n, "attribute classlabels_int64s is required");
        F->ntargets = F->nlabels;
        F->agg = AG_SUM;
        F->binary = nw > 0;
        for (int i = 1; i < nw; i++) F->binary &= wi[i] == wi[0];
        if (F->binary && F->nlabels > 2)
            return node_err(n, "all class weights name one class but there are %d labels",
                            F->nlabels);
        if (F->nlabels == 1 && !F->binary)
            return node_err(n, "one class label needs the binary form (one class id)");
        if (F->binary) F->ntargets = 2;
    } else {
        F->ntargets = attr_i(n, "n_targets", 1);
        static const char *const aggs[] = { "AVERAGE", "SUM", "MIN", "MAX" };
        F->agg = name_index(attr_s(n, "aggregate_function", "SUM"), aggs, 4);
        if (F->agg < 0) return node_err(n, "aggregate_function '%s' is not AVERAGE, SUM, MIN "
                                        "or MAX", attr_s(n, "aggregate_function", ""));
    }
    if (F->ntargets < 1 || F->ntargets > (1 << 24))
        return node_err(n, "the number of targets/classes %lld is out of range",
                        (long long)F->ntargets);
    if (ml_post_transform(n, &F->pt)) return -1;
    int nbase;
    if (ml_doubles(n, "base_values", &F->base, &nbase, &dbl)) return -1;
    if (F->base && nbase != (classifier ? F->nlabels : F->ntargets))
        return node_err(n, "base_values has %d entries, expected %lld", nbase,
                        (long long)(classifier ? F->nlabels : F->ntargets));
    F->W = dbl || node_in(n, 0)->type.dt == DT_F64 ? DT_F64 : DT_F32;

    /* (tree, node id) -> position; interior and leaf numbering */
    NodeKey *keys = pool_alloc(p, sizeof *keys * (size_t)(nn + 1));
    for (int i = 0; i < nn; i++) keys[i] = (NodeKey){ tids[i], nids[i], i };
    qsort(keys, (size_t)nn, sizeof *keys, key_cmp);
    for (int i = 1; i < nn; i++)
        if (!key_cmp(&keys[i - 1], &keys[i]))
            return node_err(n, "tree %lld has node id %lld twice", (long long)keys[i].tree,
                            (long long)keys[i].id);
    static const char *const mnames[] = { "BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE",
                                          "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ", "LEAF" };
    int64_t *num = pool_i64(p, nn);
    F->nint = F->nleaf = 0;
    for (int i = 0; i < nn; i++) {
        int m = name_index(modes->strings[i], mnames, 7);
        if (m < 0) return node_err(n, "node mode '%s' is not supported", modes->strings[i]);
        num[i] = m == 6 ? ~F->nleaf++ : F->nint++;
    }
    F->feat = pool_i64(p, F->nint);
    F->tc = pool_i64(p, F->nint);
    F->fc = pool_i64(p, F->nint);
    F->mode = pool_i64(p, F->nint);
    F->mvtt = pool_i64(p, F->nint);
    F->thr = pool_alloc(p, sizeof *F->thr * (size_t)(F->nint + 1));
    for (int i = 0; i < nn; i++) {
        if (num[i] < 0) continue;
        int64_t j = num[i];
        if (!tns || !fns) return node_err(n, "attributes nodes_truenodeids and "
                                          "nodes_falsenodeids are required");
        int64_t t = key_find(keys, nn, tids[i], tns[i]), f = key_find(keys, nn, tids[i], fns[i]);
        if (t < 0 || f < 0)
            return node_err(n, "node %lld of tree %lld has a child that does not exist",
                            (long long)nids[i], (long long)tids[i]);
        F->tc[j] = num[t];
        F->fc[j] = num[f];
        F->feat[j] = fids[i];
        F->thr[j] = vals ? vals[i] : 0.0;
        F->mode[j] = name_index(modes->strings[i], mnames, 7);
        F->mvtt[j] = mv ? mv[i] != 0 : 0;
    }
    /* A tree's root is its node that no other node names as a child; where that is not
     * one node, its first listed node (the rule of the reference implementation and
     * onnxruntime, which agree with the first whenever the nodes are listed root first). */
    unsigned char *child = pool_alloc(p, (size_t)nn + 1);
    memset(child, 0, (size_t)nn + 1);
    for (int i = 0; i < nn; i++) {
        if (num[i] < 0) continue;
        child[key_find(keys, nn, tids[i], tns[i])] = 1;
        child[key_find(keys, nn, tids[i], fns[i])] = 1;
    }
    F->roots = pool_i64(p, nn);
    F->ntrees = 0;
    {
        /* per tree (keys sorted by (tree, id): one run of keys each, found by its start):
         * its first listed node and its first unreferenced one, in order of appearance */
        int64_t *first = pool_i64(p, nn), *free_node = pool_i64(p, nn), *nfree = pool_i64(p, nn);
        int64_t *order = pool_i64(p, nn);
        int64_t ntree = 0;
        for (int i = 0; i < nn; i++) first[i] = free_node[i] = -1;
        for (int i = 0; i < nn; i++) {
            NodeKey want = { tids[i], INT64_MIN, 0 };
            int64_t lo = 0, hi = nn;
            while (lo < hi) {
                int64_t mid = (lo + hi) / 2;
                if (key_cmp(&keys[mid], &want) < 0) lo = mid + 1; else hi = mid;
            }
            if (first[lo] < 0) {
                first[lo] = i;
                order[ntree++] = lo;
            }
            if (!child[i]) {
                if (free_node[lo] < 0) free_node[lo] = i;
                nfree[lo]++;
            }
        }
        for (int64_t t = 0; t < ntree; t++) {
            int64_t r = order[t];
            F->roots[F->ntrees++] = num[nfree[r] == 1 ? free_node[r] : first[r]];
        }
    }
    /* leaf weights, grouped per leaf */
    F->loff = pool_i64(p, F->nleaf + 1);
    int64_t *ent_leaf = pool_i64(p, nw);
    for (int e = 0; e < nw; e++) {
        int64_t pos = key_find(keys, nn, wt[e], wn[e]);
        if (pos < 0 || num[pos] >= 0)
            return node_err(n, "weight %d names node %lld of tree %lld, which is not a leaf",
                            e, (long long)wn[e], (long long)wt[e]);
        if (wi[e] < 0 || wi[e] >= (F->binary ? 1 : F->ntargets))
            return node_err(n, "weight %d has target/class id %lld out of range", e,
                            (long long)wi[e]);
        ent_leaf[e] = ~num[pos];
        F->loff[ent_leaf[e] + 1]++;
    }
    for (int64_t l = 0; l < F->nleaf; l++) F->loff[l + 1] += F->loff[l];
    F->nent = nw;
    F->ltgt = pool_i64(p, nw);
    F->lw = pool_alloc(p, sizeof *F->lw * (size_t)(nw + 1));
    int64_t *fill = pool_i64(p, F->nleaf);
    for (int e = 0; e < nw; e++) {
        int64_t at = F->loff[ent_leaf[e]] + fill[ent_leaf[e]]++;
        /* the binary form accumulates into column 0 (the reference's rule) */
        F->ltgt[at] = F->binary ? 0 : wi[e];
        F->lw[at] = wv[e];
    }
    return forest_depth(n, F);
}

/* TreeEnsemble (ai.onnx.ml 5): tensor attributes, leaves listed apart from the nodes. */
static int forest_v5(Node *n, Forest *F)
{
    Pool *p = n->g->pool;
    int nn, c2, c3, c4, c5, c6, nr, nl;
    const int64_t *fids = attr_ints(n, "nodes_featureids", &nn);
    const int64_t *tn = attr_ints(n, "nodes_truenodeids", &c2);
    const int64_t *tl = attr_ints(n, "nodes_trueleafs", &c3);
    const int64_t *fn = attr_ints(n, "nodes_falsenodeids", &c4);
    const int64_t *fl = attr_ints(n, "nodes_falseleafs", &c5);
    const int64_t *mv = attr_ints(n, "nodes_missing_value_tracks_true", &c6);
    const int64_t *roots = attr_ints(n, "tree_roots", &nr);
    const int64_t *lt = attr_ints(n, "leaf_targetids", &nl);
    double *splits, *modes, *lw;
    int64_t ns, nm, nlw;
    if (ml_tensor_doubles(n, "nodes_splits", &splits, &ns, NULL) ||
        ml_tensor_doubles(n, "nodes_modes", &modes, &nm, NULL) ||
        ml_tensor_doubles(n, "leaf_weights", &lw, &nlw, NULL) ||
        ml_tensor_doubles(n, "membership_values", &F->mem, &F->nmem, NULL))
        return -1;
    if (!fids || !tn || !tl || !fn || !fl || !roots || !lt || !splits || !lw)
        return node_err(n, "attributes nodes_featureids, nodes_splits, nodes_truenodeids, "
                        "nodes_trueleafs, nodes_falsenodeids, nodes_falseleafs, tree_roots, "
                        "leaf_targetids and leaf_weights are required");
    if (c2 != nn || c3 != nn || c4 != nn || c5 != nn || (mv && c6 != nn) || ns != nn ||
        (modes && nm != nn))
        return node_err(n, "the nodes_* attributes do not all have %d entries", nn);
    if (nlw != nl) return node_err(n, "leaf_targetids and leaf_weights differ in length");
    F->ntargets = attr_i(n, "n_targets", -1);
    if (F->ntargets < 1 || F->ntargets > (1 << 24))
        return node_err(n, "attribute n_targets is required (1 or more)");
    F->agg = (int)attr_i(n, "aggregate_function", 1);
    if (F->agg < 0 || F->agg > 3) return node_err(n, "aggregate_function %d is not 0..3", F->agg);
    if (ml_post_transform(n, &F->pt)) return -1;
    DType xt = node_in(n, 0)->type.dt;
    if (xt != DT_F32 && xt != DT_F64)
        return node_err(n, "input type %s is not supported (float32, float64)", dt_name(xt));
    F->W = xt;
    F->nint = nn;
    F->nleaf = nl;
    F->ntrees = nr;
    F->feat = pool_i64(p, nn);
    F->tc = pool_i64(p, nn);
    F->fc = pool_i64(p, nn);
    F->mode = pool_i64(p, nn);
    F->mvtt = pool_i64(p, nn);
    F->mlo = pool_i64(p, nn);
    F->mhi = pool_i64(p, nn);
    F->thr = splits;
    int64_t mpos = 0;
    for (int i = 0; i < nn; i++) {
        F->feat[i] = fids[i];
        if ((tl[i] && (tn[i] < 0 || tn[i] >= nl)) || (!tl[i] && (tn[i] < 0 || tn[i] >= nn)) ||
            (fl[i] && (fn[i] < 0 || fn[i] >= nl)) || (!fl[i] && (fn[i] < 0 || fn[i] >= nn)))
            return node_err(n, "tree node %d has a child out of range", i);
        F->tc[i] = tl[i] ? ~tn[i] : tn[i];
        F->fc[i] = fl[i] ? ~fn[i] : fn[i];
        F->mode[i] = modes ? (int64_t)modes[i] : 0;
        if (F->mode[i] < 0 || F->mode[i] > 6)
            return node_err(n, "node mode %lld is not 0..6", (long long)F->mode[i]);
        F->mvtt[i] = mv ? mv[i] != 0 : 0;
        if (F->mode[i] == 6) {
            /* each member node's set: the next run of membership_values up to a NaN */
            F->mlo[i] = mpos;
            while (mpos < F->nmem && !isnan(F->mem[mpos])) mpos++;
            F->mhi[i] = mpos;
            if (mpos < F->nmem) mpos++;
        }
    }
    F->roots = pool_i64(p, nr);
    for (int r = 0; r < nr; r++) {
        if (roots[r] < 0 || roots[r] >= nn) return node_err(n, "tree root %d out of range", r);
        F->roots[r] = roots[r];
    }
    F->nent = nl;
    F->loff = pool_i64(p, nl + 1);
    F->ltgt = pool_i64(p, nl);
    F->lw = lw;
    for (int l = 0; l < nl; l++) {
        if (lt[l] < 0 || lt[l] >= F->ntargets)
            return node_err(n, "leaf %d has target id %lld out of range", l, (long long)lt[l]);
        F->loff[l + 1] = l + 1;
        F->ltgt[l] = lt[l];
    }
    return forest_depth(n, F);
}

static int forest_parse(Node *n, Forest *F)
{
    memset(F, 0, sizeof *F);
    int64_t rows, cols;
    if (ml_matrix(n, &rows, &cols)) return -1;
    int r = n->op == OP_TreeEnsemble ? forest_v5(n, F)
                                     : forest_v1(n, F, n->op == OP_TreeEnsembleClassifier);
    if (r) return r;
    for (int64_t i = 0; i < F->nint; i++)
        if (F->feat[i] < 0 || F->feat[i] >= cols)
            return node_err(n, "tree node %lld reads feature %lld, X has %lld", (long long)i,
                            (long long)F->feat[i], (long long)cols);
    if (F->ntrees < 1) return node_err(n, "the ensemble has no tree");
    return 0;
}

int tree_infer(Node *n)
{
    Forest F;
    if (forest_parse(n, &F)) return -1;
    int64_t rows, cols;
    ml_matrix(n, &rows, &cols);
    int64_t dims[2] = { rows, F.ntargets };
    if (n->op == OP_TreeEnsemble) return set_out(n, 0, F.W, 2, dims);
    if (n->op == OP_TreeEnsembleRegressor) return set_out(n, 0, DT_F32, 2, dims);
    if (node_out(n, 0) && set_out(n, 0, DT_I64, 1, dims)) return -1;
    if (node_out(n, 1) && set_out(n, 1, DT_F32, 2, dims)) return -1;
    return 0;
}

/* The branch condition of interior node nd for feature value x (W). */
static KExpr *tree_cond(KB *k, const Forest *F, int bmode, int bthr, int bmlo, int bmhi,
                        int bmem, KExpr *nd, KExpr *x)
{
    DType W = F->W;
    int used[7] = { 0 };
    for (int64_t i = 0; i < F->nint; i++) used[F->mode[i]] = 1;
    KExpr *th = kload(k, bthr, nd);
    static const KBinOp ops[6] = { KB_LE, KB_LT, KB_GE, KB_GT, KB_EQ, KB_NE };
    KExpr *c = NULL;
    int nused = 0;
    for (int m = 0; m < 7; m++) nused += used[m];
    KExpr *mv = bmode >= 0 ? tab_idx(k, bmode, nd) : NULL;
    for (int m = 5; m >= 0; m--) {
        if (!used[m]) continue;
        KExpr *cm = kbin(k, ops[m], x, th);
        c = !c ? cm : ksel(k, kbin(k, KB_EQ, mv, kc_idx(k, m)), cm, c);
    }
    int cv = kdecl(k, DT_BOOL, c ? c : kc_int(k, DT_BOOL, 0));
    if (used[6]) {
        /* set membership: a scan of the node's (short) set, with the largest set's length
         * as the trip count (back ends such as HLS need it known at compile time) */
        int64_t maxset = 0;
        for (int64_t i = 0; i < F->nint; i++)
            if (F->mode[i] == 6 && F->mhi[i] - F->mlo[i] > maxset) maxset = F->mhi[i] - F->mlo[i];
        if (nused > 1) kif(k, kbin(k, KB_EQ, mv, kc_idx(k, 6)));
        kset(k, cv, kc_int(k, DT_BOOL, 0));
        int lo = kdecl(k, DT_IDX, tab_idx(k, bmlo, nd)), hi = kdecl(k, DT_IDX, tab_idx(k, bmhi, nd));
        KExpr *j = kadd(k, kvar(k, lo), kvar(k, kfor_n(k, maxset, KL_SERIAL)));
        int jv = kdecl(k, DT_IDX, j);
        kif(k, kbin(k, KB_LT, kvar(k, jv), kvar(k, hi)));
        kset(k, cv, kbin(k, KB_OR, kvar(k, cv), kbin(k, KB_EQ, x, kload(k, bmem, kvar(k, jv)))));
        kend_n(k, 2);
        if (nused > 1) kend(k);
    }
    (void)W;
    return kvar(k, cv);
}

int tree_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Forest F;
    if (forest_parse(n, &F)) return -1;
    int64_t rows, cols;
    ml_matrix(n, &rows, &cols);
    DType W = F.W, XT = node_in(n, 0)->type.dt;
    int bx = lw_in(L, 0);
    int64_t nt = F.ntargets;

    /* tables */
    int bfeat = -1, bthr = -1, btc = -1, bfc = -1, bmode = -1, bmv = -1, bmlo = -1, bmhi = -1,
        bmem = -1;
    int mixed = 0, anymv = 0, allmv = 1, member = 0;
    for (int64_t i = 0; i < F.nint; i++) {
        mixed |= F.mode[i] != F.mode[0];
        anymv |= F.mvtt[i] != 0;
        allmv &= F.mvtt[i] != 0;
        member |= F.mode[i] == 6;
    }
    if (F.nint) {
        bfeat = tab_ints(L, "feature", F.feat, F.nint);
        bthr = tab_reals(L, "threshold", W, F.thr, F.nint);
        btc = tab_ints(L, "true_child", F.tc, F.nint);
        bfc = tab_ints(L, "false_child", F.fc, F.nint);
        if (mixed) bmode = tab_ints(L, "mode", F.mode, F.nint);
        if (anymv && !allmv) bmv = tab_ints(L, "missing_true", F.mvtt, F.nint);
        if (member) {
            bmlo = tab_ints(L, "set_begin", F.mlo, F.nint);
            bmhi = tab_ints(L, "set_end", F.mhi, F.nint);
            bmem = tab_reals(L, "sets", W, F.mem, F.nmem > 0 ? F.nmem : 1);
        }
    }
    int broots = tab_ints(L, "roots", F.roots, F.ntrees);
    int bloff = -1, bltgt = -1, blw = -1;
    /* entries per leaf: the most as the trip count; the same count everywhere (one per
     * leaf in TreeEnsemble) needs no offset table */
    int64_t maxent = 0, minent = F.nleaf ? INT64_MAX : 0;
    for (int64_t l = 0; l < F.nleaf; l++) {
        int64_t c = F.loff[l + 1] - F.loff[l];
        if (c > maxent) maxent = c;
        if (c < minent) minent = c;
    }
    int uniform = maxent == minent;
    if (F.nent) {
        if (!uniform) bloff = tab_ints(L, "leaf_begin", F.loff, F.nleaf + 1);
        if (nt > 1) bltgt = tab_ints(L, "leaf_target", F.ltgt, F.nent);
        blw = tab_reals(L, "leaf_weight", W, F.lw, F.nent);
    }
    int bbase = F.base ? tab_reals(L, "base", W, F.base, F.base ? (int64_t)(n->op ==
                         OP_TreeEnsembleClassifier ? F.nlabels : nt) : 1) : -1;
    int64_t nbase = F.base ? (n->op == OP_TreeEnsembleClassifier ? F.nlabels : nt) : 0;
    if (broots < 0 || (F.nint && (bfeat < 0 || bthr < 0 || btc < 0 || bfc < 0)) ||
        (F.nent && ((!uniform && bloff < 0) || blw < 0)))
        return -1;

    int acc = lw_temp(L, W, nt);
    double init = F.agg == AG_MIN ? (W == DT_F64 ? DBL_MAX : FLT_MAX)
                : F.agg == AG_MAX ? (W == DT_F64 ? -DBL_MAX : -FLT_MAX) : 0.0;

    KExpr *b = kvar(k, kfor_n(k, rows, KL_SERIAL));
    KExpr *xbase = kmuli(k, b, cols);
    int j = kfor_n(k, nt, KL_VECTOR);
    kstore(k, acc, kvar(k, j), kc_float(k, W, init));
    kend(k);

    KExpr *t = kvar(k, kfor_n(k, F.ntrees, KL_SERIAL));
    int nd = kdecl(k, DT_IDX, tab_idx(k, broots, t));
    if (F.nint && F.depth > 0) {
        kfor_n(k, F.depth, KL_SERIAL);
        KExpr *ndv = kvar(k, nd);
        kif(k, kbin(k, KB_GE, ndv, kc_idx(k, 0)));
        int x = kdecl(k, W, kcast(k, W, kload(k, bx, kadd(k, xbase, tab_idx(k, bfeat, ndv)))));
        KExpr *cond = tree_cond(k, &F, bmode, bthr, bmlo, bmhi, bmem, ndv, kvar(k, x));
        if (anymv) {
            KExpr *miss = kun(k, KU_ISNAN, kvar(k, x));
            if (!allmv) miss = kbin(k, KB_AND, kbin(k, KB_NE, tab_idx(k, bmv, ndv),
                                                    kc_idx(k, 0)), miss);
            cond = kbin(k, KB_OR, cond, miss);
        }
        kset(k, nd, ksel(k, cond, tab_idx(k, btc, ndv), tab_idx(k, bfc, ndv)));
        kend_n(k, 2);
    }
    if (F.nent) {
        int leaf = kdecl(k, DT_IDX, ksub(k, kc_idx(k, -1), kvar(k, nd)));
        int lb = kdecl(k, DT_IDX, uniform ? kmuli(k, kvar(k, leaf), maxent)
                                          : tab_idx(k, bloff, kvar(k, leaf)));
        int le = uniform ? -1 : kdecl(k, DT_IDX, tab_idx(k, bloff, kaddi(k, kvar(k, leaf), 1)));
        int ev = kdecl(k, DT_IDX, kadd(k, kvar(k, lb), kvar(k, kfor_n(k, maxent, KL_SERIAL))));
        KExpr *e = kvar(k, ev);
        if (!uniform) kif(k, kbin(k, KB_LT, e, kvar(k, le)));
        KExpr *tg = bltgt >= 0 ? tab_idx(k, bltgt, e) : kc_idx(k, 0);
        int tv = kdecl(k, DT_IDX, tg);
        KExpr *old = kload(k, acc, kvar(k, tv)), *w = kload(k, blw, e);
        KBinOp op = F.agg == AG_MIN ? KB_MIN : F.agg == AG_MAX ? KB_MAX : KB_ADD;
        kstore(k, acc, kvar(k, tv), kbin(k, op, old, w));
        kend_n(k, uniform ? 1 : 2);
    }
    kend(k);   /* trees */

    if (F.agg == AG_AVERAGE || nbase) {
        j = kfor_n(k, nbase > nt ? nbase : nt, KL_VECTOR);
        KExpr *v = kload(k, acc, kvar(k, j));
        if (F.agg == AG_AVERAGE) v = kbin(k, KB_DIV, v, kc_float(k, W, (double)F.ntrees));
        if (nbase) v = kbin(k, KB_ADD, v, kload(k, bbase, kvar(k, j)));
        kstore(k, acc, kvar(k, j), v);
        kend(k);
    }
    KExpr *zero = kc_idx(k, 0);
    if (n->op == OP_TreeEnsembleClassifier && F.binary) {
        /* the reference's binary form: column 1 is the score, column 0 its complement */
        KExpr *s = kload(k, acc, zero);
        int sv = kdecl(k, W, s);
        kstore(k, acc, kc_idx(k, 1), kvar(k, sv));
        KExpr *c0 = F.pt == PT_NONE || F.pt == PT_PROBIT
            ? kbin(k, KB_SUB, kc_float(k, W, 1.0), kvar(k, sv)) : kun(k, KU_NEG, kvar(k, sv));
        kstore(k, acc, zero, c0);
    }
    emit_post(k, F.pt, W, acc, zero, nt);

    if (n->op == OP_TreeEnsembleClassifier) {
        if (node_out(n, 0)) {
            int by = lw_out(L, 0);
            int bi = emit_argmax(k, acc, zero, nt, W);
            KExpr *lab;
            if (F.nlabels == 1) {
                lab = ksel(k, kbin(k, KB_EQ, kvar(k, bi), kc_idx(k, 1)),
                           kc_int(k, DT_I64, F.labels[0]), kc_int(k, DT_I64, 0));
            } else {
                int bl = lw_const(L, "labels", DT_I64, F.nlabels,
                                  pool_dup(L->prog->pool, F.labels,
                                           sizeof *F.labels * (size_t)F.nlabels), NULL);
                lab = kload(k, bl, kvar(k, bi));
            }
            kstore(k, by, b, lab);
        }
        if (node_out(n, 1)) {
            int bz = lw_out(L, 1);
            j = kfor_n(k, nt, KL_VECTOR);
            kstore(k, bz, kadd(k, kmuli(k, b, nt), kvar(k, j)),
                   kcast(k, DT_F32, kload(k, acc, kvar(k, j))));
            kend(k);
        }
    } else {
        int by = lw_out(L, 0);
        DType OT = node_out(n, 0)->type.dt;
        j = kfor_n(k, nt, KL_VECTOR);
        kstore(k, by, kadd(k, kmuli(k, b, nt), kvar(k, j)),
               kcast(k, OT, kload(k, acc, kvar(k, j))));
        kend(k);
    }
    kend(k);   /* rows */
    (void)XT;
    return 0;
}

/* ---- linear models ----------------------------------------------------------------- */

typedef struct Linear {
    int64_t rows, cols, nout;     /* nout: score columns computed from the coefficients */
    const float *coef, *icpt;
    int ncoef, nicpt;
    const int64_t *labels;
    int nlabels;
    int pt;
    int flip;                     /* LinearClassifier with one score and two labels */
} Linear;

static int linear_parse(Node *n, Linear *p)
{
    static const char *const str_attrs[] = { "classlabels_strings" };
    memset(p, 0, sizeof *p);
    if (ml_matrix(n, &p->rows, &p->cols) || ml_post_transform(n, &p->pt) ||
        ml_no_strings(n, str_attrs, 1))
        return -1;
    p->coef = attr_floats(n, "coefficients", &p->ncoef);
    p->icpt = attr_floats(n, "intercepts", &p->nicpt);
    if (!p->coef || p->cols < 1 || p->ncoef % p->cols)
        return node_err(n, "coefficients (%d) must be a whole number of rows of %lld features",
                        p->coef ? p->ncoef : 0, (long long)p->cols);
    p->nout = p->ncoef / p->cols;
    if (n->op == OP_LinearRegressor && attr_i(n, "targets", 1) != p->nout)
        return node_err(n, "targets is %lld but coefficients hold %lld rows",
                        (long long)attr_i(n, "targets", 1), (long long)p->nout);
    if (p->icpt && p->nicpt != p->nout)
        return node_err(n, "intercepts has %d entries for %lld outputs", p->nicpt,
                        (long long)p->nout);
    if (n->op == OP_LinearClassifier) {
        p->labels = attr_ints(n, "classlabels_ints", &p->nlabels);
        p->flip = p->nout == 1 && p->nlabels == 2;
        if (p->labels && !p->flip && p->nout > 1 && p->nlabels != p->nout)
            return node_err(n, "%d class labels for %lld score rows", p->nlabels,
                            (long long)p->nout);
    }
    return 0;
}

int linear_infer(Node *n)
{
    Linear p;
    if (linear_parse(n, &p)) return -1;
    int64_t dims[2] = { p.rows, p.flip ? 2 : p.nout };
    DType W = node_in(n, 0)->type.dt == DT_F64 ? DT_F64 : DT_F32;
    if (n->op == OP_LinearRegressor) return set_out(n, 0, DT_F32, 2, dims);
    if (node_out(n, 0) && set_out(n, 0, DT_I64, 1, dims)) return -1;
    if (node_out(n, 1) && set_out(n, 1, W, 2, dims)) return -1;
    return 0;
}

int linear_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Linear p;
    if (linear_parse(n, &p)) return -1;
    DType W = node_in(n, 0)->type.dt == DT_F64 ? DT_F64 : DT_F32;
    int64_t m = p.flip ? 2 : p.nout;
    double *cd = pool_alloc(L->prog->pool, sizeof *cd * (size_t)p.ncoef);
    for (int i = 0; i < p.ncoef; i++) cd[i] = p.coef[i];
    int bc = tab_reals(L, "coefficients", W, cd, p.ncoef);
    int bx = lw_in(L, 0);
    int acc = lw_temp(L, W, m);
    KExpr *b = kvar(k, kfor_n(k, p.rows, KL_SERIAL));
    KExpr *o = kvar(k, kfor_n(k, p.nout, KL_SERIAL));
    int s = kdecl(k, W, kc_float(k, W, 0.0));
    KExpr *c = kvar(k, kfor_n(k, p.cols, KL_REDUCE));
    KExpr *x = kcast(k, W, kload(k, bx, kadd(k, kmuli(k, b, p.cols), c)));
    kset(k, s, kbin(k, KB_ADD, kvar(k, s),
                    kbin(k, KB_MUL, x, kload(k, bc, kadd(k, kmuli(k, o, p.cols), c)))));
    kend(k);
    KExpr *sv = kvar(k, s);
    if (p.icpt) {
        double *id = pool_alloc(L->prog->pool, sizeof *id * (size_t)p.nicpt);
        for (int i = 0; i < p.nicpt; i++) id[i] = p.icpt[i];
        sv = kbin(k, KB_ADD, sv, kload(k, tab_reals(L, "intercepts", W, id, p.nicpt), o));
    }
    kstore(k, acc, p.flip ? kc_idx(k, 1) : o, sv);
    kend(k);
    KExpr *zero = kc_idx(k, 0);
    if (p.flip) kstore(k, acc, zero, kun(k, KU_NEG, kload(k, acc, kc_idx(k, 1))));
    emit_post(k, p.pt, W, acc, zero, m);
    int sc = n->op == OP_LinearRegressor ? 0 : 1;
    if (node_out(n, sc)) {
        int bz = lw_out(L, sc);
        DType OT = node_out(n, sc)->type.dt;
        int j = kfor_n(k, m, KL_VECTOR);
        kstore(k, bz, kadd(k, kmuli(k, b, m), kvar(k, j)), kcast(k, OT, kload(k, acc, kvar(k, j))));
        kend(k);
    }
    if (n->op == OP_LinearClassifier && node_out(n, 0)) {
        int by = lw_out(L, 0);
        KExpr *lab;
        if (m > 1) {
            int bi = emit_argmax(k, acc, zero, m, W);
            if (p.labels) {
                int bl = lw_const(L, "labels", DT_I64, p.nlabels,
                                  pool_dup(L->prog->pool, p.labels,
                                           sizeof *p.labels * (size_t)p.nlabels), NULL);
                lab = kload(k, bl, kvar(k, bi));
            } else {
                lab = kcast(k, DT_I64, kvar(k, bi));
            }
        } else {
            double th = p.pt == PT_NONE ? 0.0 : 0.5;
            KExpr *ge = kbin(k, KB_GE, kload(k, acc, zero), kc_float(k, W, th));
            lab = ksel(k, ge, kc_int(k, DT_I64, p.labels && p.nlabels ? p.labels[0] : 1),
                       kc_int(k, DT_I64, 0));
        }
        kstore(k, by, b, lab);
    }
    kend(k);
    return 0;
}

/* ---- Scaler, Normalizer, Binarizer --------------------------------------------------- */

int mlew_infer(Node *n)
{
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input X");
    DType t = x->type.dt;
    if (t != DT_F32 && t != DT_F64 && t != DT_I64 && t != DT_I32)
        return node_err(n, "input type %s is not supported (float32, float64, int64, int32)",
                        dt_name(t));
    if (n->op == OP_Binarizer) return set_out_type(n, 0, &x->type);
    if (x->type.rank < 1) return node_err(n, "input X must have rank 1 or more");
    if (n->op == OP_Scaler) {
        int no, ns;
        const float *off = attr_floats(n, "offset", &no), *sc = attr_floats(n, "scale", &ns);
        int64_t c = x->type.dims[x->type.rank - 1];
        if ((off && no != 1 && no != c) || (sc && ns != 1 && ns != c))
            return node_err(n, "offset and scale must have 1 or %lld entries", (long long)c);
    } else {
        static const char *const norms[] = { "MAX", "L1", "L2" };
        if (name_index(attr_s(n, "norm", "MAX"), norms, 3) < 0)
            return node_err(n, "norm '%s' is not MAX, L1 or L2", attr_s(n, "norm", ""));
        if (x->type.rank > 2) return node_err(n, "input X must have rank 1 or 2");
    }
    return set_out(n, 0, DT_F32, x->type.rank, x->type.dims);
}

int mlew_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *xt = &node_in(n, 0)->type;
    DType T = xt->dt;
    int bx = lw_in(L, 0), by = lw_out(L, 0);
    int64_t c = xt->dims[xt->rank - 1], total = type_numel(xt);
    if (n->op == OP_Binarizer) {
        double th = attr_f(n, "threshold", 0.0f);
        KExpr *i = kvar(k, kfor_n(k, total, KL_VECTOR));
        /* numpy compares the float threshold with the integer in double */
        DType CT = dt_is_float(T) ? T : DT_F64;
        KExpr *gt = kbin(k, KB_GT, kcast(k, CT, kload(k, bx, i)), kc_float(k, CT, th));
        kstore(k, by, i, ksel(k, gt, kc(k, T, 1.0), kc(k, T, 0.0)));
        kend(k);
        return 0;
    }
    DType W = T == DT_F64 ? DT_F64 : DT_F32;
    if (n->op == OP_Scaler) {
        int no = 0, ns = 0;
        const float *off = attr_floats(n, "offset", &no), *sc = attr_floats(n, "scale", &ns);
        KExpr *i = kvar(k, kfor_n(k, total, KL_VECTOR));
        KExpr *col = kbin(k, KB_REM, i, kc_idx(k, c));
        KExpr *v = kcast(k, W, kload(k, bx, i));
        if (off) {
            double *d = pool_alloc(L->prog->pool, sizeof *d * (size_t)no);
            for (int q = 0; q < no; q++) d[q] = off[q];
            v = kbin(k, KB_SUB, v, kload(k, tab_reals(L, "offset", W, d, no),
                                         no == 1 ? kc_idx(k, 0) : col));
        }
        if (sc) {
            double *d = pool_alloc(L->prog->pool, sizeof *d * (size_t)ns);
            for (int q = 0; q < ns; q++) d[q] = sc[q];
            v = kbin(k, KB_MUL, v, kload(k, tab_reals(L, "scale", W, d, ns),
                                         ns == 1 ? kc_idx(k, 0) : col));
        }
        kstore(k, by, i, kcast(k, DT_F32, v));
        kend(k);
        return 0;
    }
    /* Normalizer: each row divided by its max |x|, L1 or L2 norm (at least 1e-30) */
    static const char *const norms[] = { "MAX", "L1", "L2" };
    int norm = name_index(attr_s(n, "norm", "MAX"), norms, 3);
    KExpr *r = kvar(k, kfor_n(k, total / (c ? c : 1), KL_PARALLEL));
    KExpr *rb = kmuli(k, r, c);
    int s = kdecl(k, W, kc_float(k, W, 0.0));
    KExpr *j = kvar(k, kfor_n(k, c, KL_REDUCE));
    KExpr *v = kcast(k, W, kload(k, bx, kadd(k, rb, j)));
    KExpr *term = norm == 2 ? kbin(k, KB_MUL, v, v) : kun(k, KU_ABS, v);
    kset(k, s, kbin(k, norm == 0 ? KB_MAX : KB_ADD, kvar(k, s), term));
    kend(k);
    KExpr *d = norm == 2 ? kun(k, KU_SQRT, kvar(k, s)) : kvar(k, s);
    int dv = kdecl(k, W, kbin(k, KB_MAX, d, kc_float(k, W, 1e-30)));
    j = kvar(k, kfor_n(k, c, KL_VECTOR));
    KExpr *at = kadd(k, rb, j);
    kstore(k, by, at, kcast(k, DT_F32, kbin(k, KB_DIV, kcast(k, W, kload(k, bx, at)),
                                            kvar(k, dv))));
    kend_n(k, 2);
    return 0;
}

/* ---- LabelEncoder (numeric keys and values) ------------------------------------------ */

typedef struct Enc {
    double *keys, *vals, def;
    int64_t nkeys, nvals;
    DType kt, vt;
} Enc;

static int enc_list(const Node *n, const char *what, double **out, int64_t *count, DType *dt)
{
    char nm[64];
    snprintf(nm, sizeof nm, "%s_tensor", what);
    if (attr_get(n, nm)) return ml_tensor_doubles(n, nm, out, count, dt);
    int c;
    snprintf(nm, sizeof nm, "%s_int64s", what);
    const int64_t *iv = attr_ints(n, nm, &c);
    if (iv) {
        *out = pool_alloc(n->g->pool, sizeof **out * (size_t)(c + 1));
        for (int i = 0; i < c; i++) (*out)[i] = (double)iv[i];
        *count = c;
        *dt = DT_I64;
        return 0;
    }
    snprintf(nm, sizeof nm, "%s_floats", what);
    const float *fv = attr_floats(n, nm, &c);
    if (fv) {
        *out = pool_alloc(n->g->pool, sizeof **out * (size_t)(c + 1));
        for (int i = 0; i < c; i++) (*out)[i] = fv[i];
        *count = c;
        *dt = DT_F32;
        return 0;
    }
    return node_err(n, "attribute %s_int64s, %s_floats or %s_tensor is required", what, what,
                    what);
}

static int enc_parse(Node *n, Enc *e)
{
    static const char *const strs[] = { "keys_strings", "values_strings", "keys_tensor",
                                         "values_tensor", "default_string", "default_tensor" };
    memset(e, 0, sizeof *e);
    if (ml_no_strings(n, strs, 6)) return -1;
    if (enc_list(n, "keys", &e->keys, &e->nkeys, &e->kt) ||
        enc_list(n, "values", &e->vals, &e->nvals, &e->vt))
        return -1;
    if (e->nkeys != e->nvals || e->nkeys < 1)
        return node_err(n, "keys (%lld) and values (%lld) must pair up",
                        (long long)e->nkeys, (long long)e->nvals);
    Value *x = node_in(n, 0);
    if (!x) return node_err(n, "missing input X");
    if (x->type.dt != e->kt)
        return node_err(n, "input type %s does not match the keys' type %s",
                        dt_name(x->type.dt), dt_name(e->kt));
    const Attr *dt = attr_get(n, "default_tensor");
    if (dt && dt->kind == A_TENSOR && dt->t && dt->t->data && type_numel(&dt->t->type) >= 1)
        e->def = const_elem_f(dt->t, 0);
    else if (dt_is_float(e->vt))
        e->def = attr_f(n, "default_float", -0.0f);
    else
        e->def = (double)attr_i(n, "default_int64", -1);
    if (!dt_supported(e->vt) || e->vt == DT_BOOL)
        return node_err(n, "value type %s is not supported", dt_name(e->vt));
    return 0;
}

int labelenc_infer(Node *n)
{
    Enc e;
    if (enc_parse(n, &e)) return -1;
    Type t = node_in(n, 0)->type;
    t.dt = e.vt;
    return set_out_type(n, 0, &t);
}

int labelenc_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Enc e;
    if (enc_parse(n, &e)) return -1;
    Pool *p = L->prog->pool;
    int bk, bv;
    if (dt_is_float(e.kt)) {
        bk = tab_reals(L, "keys", e.kt == DT_F64 ? DT_F64 : DT_F32, e.keys, e.nkeys);
    } else {
        int64_t *d = pool_alloc(p, sizeof *d * (size_t)e.nkeys);
        for (int64_t i = 0; i < e.nkeys; i++) d[i] = (int64_t)e.keys[i];
        bk = lw_const(L, "keys", e.kt, e.nkeys, d, NULL);
        if (e.kt != DT_I64) {   /* keep the keys in the input's own integer type */
            void *dd = pool_alloc(p, (size_t)dt_size(e.kt) * (size_t)e.nkeys);
            for (int64_t i = 0; i < e.nkeys; i++) {
                if (e.kt == DT_I32) ((int32_t *)dd)[i] = (int32_t)d[i];
                else if (e.kt == DT_I16) ((int16_t *)dd)[i] = (int16_t)d[i];
                else return node_err(n, "key type %s is not supported", dt_name(e.kt));
            }
            L->prog->tensors[L->k->f->bufs[bk].tensor].data = dd;
        }
    }
    if (dt_is_float(e.vt)) {
        bv = tab_reals(L, "values", e.vt == DT_F64 ? DT_F64 : DT_F32, e.vals, e.nvals);
    } else {
        if (e.vt != DT_I64 && e.vt != DT_I32)
            return node_err(n, "value type %s is not supported", dt_name(e.vt));
        void *d = pool_alloc(p, (size_t)dt_size(e.vt) * (size_t)e.nvals);
        for (int64_t i = 0; i < e.nvals; i++) {
            if (e.vt == DT_I64) ((int64_t *)d)[i] = (int64_t)e.vals[i];
            else ((int32_t *)d)[i] = (int32_t)e.vals[i];
        }
        bv = lw_const(L, "values", e.vt, e.nvals, d, NULL);
    }
    if (bk < 0 || bv < 0) return -1;
    DType KT = L->k->f->bufs[bk].t, VT = L->k->f->bufs[bv].t;
    int bx = lw_in(L, 0), by = lw_out(L, 0);
    int64_t total = type_numel(&node_in(n, 0)->type);
    KExpr *i = kvar(k, kfor_n(k, total, KL_PARALLEL));
    int x = kdecl(k, KT, kcast(k, KT, kload(k, bx, i)));
    int out = kdecl(k, VT, kc(k, VT, e.def));
    /* the last matching key wins, as in a dictionary built from the pairs in order */
    KExpr *j = kvar(k, kfor_n(k, e.nkeys, KL_SERIAL));
    KExpr *key = kload(k, bk, j);
    KExpr *eq = kbin(k, KB_EQ, kvar(k, x), key);
    if (dt_is_float(KT))
        eq = kbin(k, KB_OR, eq, kbin(k, KB_AND, kun(k, KU_ISNAN, kvar(k, x)),
                                     kun(k, KU_ISNAN, key)));
    kif(k, eq);
    kset(k, out, kload(k, bv, j));
    kend_n(k, 2);
    kstore(k, by, i, kcast(k, node_out(n, 0)->type.dt, kvar(k, out)));
    kend(k);
    return 0;
}

/* ---- ArrayFeatureExtractor ------------------------------------------------------------ */

int afe_infer(Node *n)
{
    Value *x = node_in(n, 0), *y = node_in(n, 1);
    if (!x || !y) return node_err(n, "expects inputs X and Y");
    if (y->type.dt != DT_I64) return node_err(n, "indices Y must be int64");
    if (x->type.rank < 1) return node_err(n, "input X must have rank 1 or more");
    int64_t kk = type_numel(&y->type);
    Type t = x->type;
    if (t.rank == 1) {
        t.rank = 2;
        t.dims[0] = 1;
    }
    t.dims[t.rank - 1] = kk;
    return set_out_type(n, 0, &t);
}

int afe_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *xt = &node_in(n, 0)->type;
    int64_t c = xt->dims[xt->rank - 1], rows = c ? type_numel(xt) / c : 0;
    int64_t kk = type_numel(&node_in(n, 1)->type);
    int bx = lw_in(L, 0), bi = lw_in(L, 1), by = lw_out(L, 0);
    KExpr *r = kvar(k, kfor_n(k, rows, KL_PARALLEL));
    KExpr *j = kvar(k, kfor_n(k, kk, KL_SERIAL));
    int ix = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, bi, j)));
    /* an index outside [0, C) reads as zero rather than outside the row */
    KExpr *ok = kbin(k, KB_AND, kbin(k, KB_GE, kvar(k, ix), kc_idx(k, 0)),
                     kbin(k, KB_LT, kvar(k, ix), kc_idx(k, c)));
    KExpr *src = kload(k, bx, kadd(k, kmuli(k, r, c), ksel(k, ok, kvar(k, ix), kc_idx(k, 0))));
    kstore(k, by, kadd(k, kmuli(k, r, kk), j), ksel(k, ok, src, kc(k, xt->dt, 0.0)));
    kend_n(k, 2);
    return 0;
}

/* ---- refused: map and string operators ----------------------------------------------- */

int mlmap_infer(Node *n)
{
    return node_err(n, "%s works on %s: map and string types are not supported by onnxcc "
                    "(export the model without it, e.g. scikit-learn converters' "
                    "zipmap=False)", n->op_type,
                    n->op == OP_ZipMap ? "a sequence of maps" :
                    n->op == OP_DictVectorizer ? "a map" : "strings");
}

int mlmap_lower(Node *n, Lower *L)
{
    (void)L;
    return mlmap_infer(n);
}

/* ---- SVMRegressor, SVMClassifier ------------------------------------------------------ */
/* Kernels K(x, v): LINEAR x.v, POLY (gamma x.v + coef0)^degree, RBF exp(-gamma |x - v|^2),
 * SIGMOID tanh(gamma x.v + coef0); support vectors and coefficients are constant tables.
 * SVMClassifier follows the reference's one-vs-one voting (libsvm's), its binary rules and
 * its score layout; Platt probabilities (prob_a/prob_b) are refused. */

enum { K_LINEAR, K_POLY, K_RBF, K_SIGMOID };

typedef struct Svm {
    int64_t rows, cols, nsv, ncls;
    int kernel, pt;
    double gamma, coef0, degree;
    double *coef, *sv, *rho;
    int ncoef, nsvv, nrho;
    const int64_t *per_class, *labels;
    int nper, nlabels;
    int allpos;               /* every coefficient >= 0 */
    int64_t zc;               /* score columns of the classifier */
    int second;               /* classifier: one score written as (-s, s) */
} Svm;

static int svm_parse(Node *n, Svm *s)
{
    static const char *const str_attrs[] = { "classlabels_strings" };
    static const char *const kernels[] = { "LINEAR", "POLY", "RBF", "SIGMOID" };
    memset(s, 0, sizeof *s);
    if (ml_matrix(n, &s->rows, &s->cols) || ml_post_transform(n, &s->pt) ||
        ml_no_strings(n, str_attrs, 1))
        return -1;
    s->kernel = name_index(attr_s(n, "kernel_type", "LINEAR"), kernels, 4);
    if (s->kernel < 0) return node_err(n, "kernel_type '%s' is not LINEAR, POLY, RBF or SIGMOID",
                                       attr_s(n, "kernel_type", ""));
    int nkp;
    const float *kp = attr_floats(n, "kernel_params", &nkp);
    if (kp && nkp >= 3) {
        s->gamma = kp[0];
        s->coef0 = kp[1];
        s->degree = (double)(int64_t)kp[2];
    }
    if (ml_doubles(n, "coefficients", &s->coef, &s->ncoef, NULL) ||
        ml_doubles(n, "support_vectors", &s->sv, &s->nsvv, NULL) ||
        ml_doubles(n, "rho", &s->rho, &s->nrho, NULL))
        return -1;
    if (!s->coef || !s->rho || s->nrho < 1)
        return node_err(n, "attributes coefficients and rho are required");
    s->allpos = 1;
    for (int i = 0; i < s->ncoef; i++) s->allpos &= s->coef[i] >= 0;
    if (n->op == OP_SVMRegressor) {
        s->nsv = attr_i(n, "n_supports", 0);
        if (s->nsv > 0 && (s->nsvv != s->nsv * s->cols || s->ncoef != s->nsv))
            return node_err(n, "n_supports %lld needs %lld support vector values and %lld "
                            "coefficients", (long long)s->nsv, (long long)(s->nsv * s->cols),
                            (long long)s->nsv);
        if (s->nsv <= 0 && s->ncoef != s->cols)
            return node_err(n, "a linear SVM needs %lld coefficients, has %d",
                            (long long)s->cols, s->ncoef);
        return 0;
    }
    if (attr_get(n, "prob_a") || attr_get(n, "prob_b"))
        return node_err(n, "Platt probabilities (prob_a, prob_b) are not supported");
    s->labels = attr_ints(n, "classlabels_ints", &s->nlabels);
    s->ncls = s->nlabels > 1 ? s->nlabels : 1;
    s->per_class = attr_ints(n, "vectors_per_class", &s->nper);
    s->nsv = 0;
    for (int i = 0; s->per_class && i < s->nper; i++) {
        if (s->per_class[i] < 0) return node_err(n, "negative entry in vectors_per_class");
        s->nsv += s->per_class[i];
    }
    int64_t nscores;
    if (s->nsv > 0) {
        if (s->nper != s->ncls)
            return node_err(n, "vectors_per_class has %d entries for %lld classes", s->nper,
                            (long long)s->ncls);
        if (s->nsvv != s->nsv * s->cols || s->ncoef != (s->ncls - 1) * s->nsv)
            return node_err(n, "support_vectors (%d) and coefficients (%d) do not match %lld "
                            "vectors of %lld features and %lld classes", s->nsvv, s->ncoef,
                            (long long)s->nsv, (long long)s->cols, (long long)s->ncls);
        nscores = s->ncls * (s->ncls - 1) / 2;
        if (s->nrho < nscores)
            return node_err(n, "rho has %d entries for %lld class pairs", s->nrho,
                            (long long)nscores);
    } else {
        if (s->ncoef != s->ncls * s->cols)
            return node_err(n, "a linear SVM needs %lld coefficients, has %d",
                            (long long)(s->ncls * s->cols), s->ncoef);
        nscores = s->ncls;
    }
    s->second = nscores == 1 && s->nrho == 1 && s->nlabels == 2 && s->pt != PT_PROBIT;
    s->zc = s->second ? 2 : nscores;
    return 0;
}

int svm_infer(Node *n)
{
    Svm s;
    if (svm_parse(n, &s)) return -1;
    int64_t dims[2] = { s.rows, n->op == OP_SVMRegressor ? 1 : s.zc };
    if (n->op == OP_SVMRegressor) return set_out(n, 0, DT_F32, 2, dims);
    if (node_out(n, 0) && set_out(n, 0, DT_I64, 1, dims)) return -1;
    if (node_out(n, 1) && set_out(n, 1, DT_F32, 2, dims)) return -1;
    return 0;
}

/* K(x, table row) in W; xb / vb: the two rows' first elements. */
static KExpr *svm_kernel(KB *k, const Svm *s, DType W, int bx, KExpr *xb, int bv, KExpr *vb)
{
    int acc = kdecl(k, W, kc_float(k, W, 0.0));
    KExpr *c = kvar(k, kfor_n(k, s->cols, KL_REDUCE));
    KExpr *x = kcast(k, W, kload(k, bx, kadd(k, xb, c)));
    KExpr *v = kload(k, bv, kadd(k, vb, c));
    KExpr *t;
    if (s->kernel == K_RBF) {
        KExpr *d = kbin(k, KB_SUB, x, v);
        t = kbin(k, KB_MUL, d, d);
    } else {
        t = kbin(k, KB_MUL, x, v);
    }
    kset(k, acc, kbin(k, KB_ADD, kvar(k, acc), t));
    kend(k);
    KExpr *a = kvar(k, acc);
    KExpr *g = kc_float(k, W, s->gamma), *c0 = kc_float(k, W, s->coef0);
    switch (s->kernel) {
    case K_POLY:
        return kbin(k, KB_POW, kbin(k, KB_ADD, kbin(k, KB_MUL, a, g), c0),
                    kc_float(k, W, s->degree));
    case K_SIGMOID: return kun(k, KU_TANH, kbin(k, KB_ADD, kbin(k, KB_MUL, a, g), c0));
    case K_RBF: return kun(k, KU_EXP, kbin(k, KB_MUL, kun(k, KU_NEG, g), a));
    default: return a;
    }
}

int svm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Svm s;
    if (svm_parse(n, &s)) return -1;
    DType W = node_in(n, 0)->type.dt == DT_F64 ? DT_F64 : DT_F32;
    int bx = lw_in(L, 0);
    int bc = tab_reals(L, "coefficients", W, s.coef, s.ncoef);
    int bsv = s.nsv > 0 ? tab_reals(L, "support_vectors", W, s.sv, s.nsvv) : -1;
    if (bc < 0 || (s.nsv > 0 && bsv < 0)) return -1;
    KExpr *b = kvar(k, kfor_n(k, s.rows, KL_SERIAL));
    KExpr *xb = kmuli(k, b, s.cols);

    if (n->op == OP_SVMRegressor) {
        int sc = kdecl(k, W, kc_float(k, W, s.rho[0]));
        if (s.nsv > 0) {
            KExpr *j = kvar(k, kfor_n(k, s.nsv, KL_SERIAL));
            KExpr *kv = svm_kernel(k, &s, W, bx, xb, bsv, kmuli(k, j, s.cols));
            kset(k, sc, kbin(k, KB_ADD, kvar(k, sc), kbin(k, KB_MUL, kload(k, bc, j), kv)));
            kend(k);
        } else {
            Svm lin = s;
            lin.kernel = K_LINEAR;
            kset(k, sc, kbin(k, KB_ADD, kvar(k, sc),
                             svm_kernel(k, &lin, W, bx, xb, bc, kc_idx(k, 0))));
        }
        if (attr_i(n, "one_class", 0))
            kset(k, sc, ksel(k, kbin(k, KB_GT, kvar(k, sc), kc_float(k, W, 0.0)),
                             kc_float(k, W, 1.0), kc_float(k, W, -1.0)));
        int tmp = lw_temp(L, W, 1);
        kstore(k, tmp, kc_idx(k, 0), kvar(k, sc));
        emit_post(k, s.pt == PT_SOFTMAX || s.pt == PT_SOFTMAX_ZERO ? PT_NONE : s.pt, W, tmp,
                  kc_idx(k, 0), 1);
        kstore(k, lw_out(L, 0), b, kcast(k, DT_F32, kload(k, tmp, kc_idx(k, 0))));
        kend(k);
        return 0;
    }

    int64_t nscores = s.nsv > 0 ? s.ncls * (s.ncls - 1) / 2 : s.ncls;
    int scores = lw_temp(L, W, s.zc > nscores ? s.zc : nscores);
    int votes = -1;
    if (s.nsv > 0) {
        int kern = lw_temp(L, W, s.nsv);
        votes = lw_temp(L, W, s.ncls);
        KExpr *j = kvar(k, kfor_n(k, s.nsv, KL_SERIAL));
        kstore(k, kern, j, svm_kernel(k, &s, W, bx, xb, bsv, kmuli(k, j, s.cols)));
        kend(k);
        j = kvar(k, kfor_n(k, s.ncls, KL_VECTOR));
        kstore(k, votes, j, kc_float(k, W, 0.0));
        kend(k);
        int64_t *start = pool_i64(n->g->pool, s.ncls);
        for (int64_t i = 1; i < s.ncls; i++) start[i] = start[i - 1] + s.per_class[i - 1];
        int64_t e = 0;
        for (int64_t i = 0; i < s.ncls; i++)
            for (int64_t c2 = i + 1; c2 < s.ncls; c2++, e++) {
                /* libsvm's pair (i, c2): coefficients of row c2-1 over class i's vectors
                 * plus row i over class c2's */
                int sum = kdecl(k, W, kc_float(k, W, s.rho[e]));
                int64_t part[2][3] = { { c2 - 1, start[i], s.per_class[i] },
                                       { i, start[c2], s.per_class[c2] } };
                for (int h = 0; h < 2; h++) {
                    if (!part[h][2]) continue;
                    KExpr *v = kvar(k, kfor_n(k, part[h][2], KL_REDUCE));
                    KExpr *at = kaddi(k, v, part[h][1]);
                    KExpr *cf = kload(k, bc, kaddi(k, at, part[h][0] * s.nsv));
                    kset(k, sum, kbin(k, KB_ADD, kvar(k, sum),
                                      kbin(k, KB_MUL, cf, kload(k, kern, at))));
                    kend(k);
                }
                kstore(k, scores, kc_idx(k, e), kvar(k, sum));
                KExpr *win = ksel(k, kbin(k, KB_GT, kvar(k, sum), kc_float(k, W, 0.0)),
                                  kc_idx(k, i), kc_idx(k, c2));
                int wv = kdecl(k, DT_IDX, win);
                kstore(k, votes, kvar(k, wv), kbin(k, KB_ADD, kload(k, votes, kvar(k, wv)),
                                                   kc_float(k, W, 1.0)));
            }
    } else {
        Svm lin = s;
        lin.kernel = K_LINEAR;
        for (int64_t c2 = 0; c2 < s.ncls; c2++)
            kstore(k, scores, kc_idx(k, c2),
                   kbin(k, KB_ADD, kc_float(k, W, s.rho[0]),
                        svm_kernel(k, &lin, W, bx, xb, bc, kc_idx(k, c2 * s.cols))));
    }

    /* the label: argmax of the votes (or of the scores without votes) */
    int src = votes >= 0 ? votes : scores;
    int64_t nsrc = votes >= 0 ? s.ncls : nscores;
    KExpr *zero = kc_idx(k, 0);
    int mc = emit_argmax(k, src, zero, nsrc, W);
    KExpr *mw = kload(k, src, kvar(k, mc));
    KExpr *lab;
    int bl = -1;
    if (s.nlabels > 0)
        bl = lw_const(L, "labels", DT_I64, s.nlabels,
                      pool_dup(L->prog->pool, s.labels, sizeof *s.labels * (size_t)s.nlabels),
                      NULL);
    KExpr *bylab = bl >= 0 ? kload(k, bl, kvar(k, mc)) : kcast(k, DT_I64, kvar(k, mc));
    if (s.nrho == 1 && s.nlabels == 2) {
        lab = s.allpos ? ksel(k, kbin(k, KB_GE, mw, kc_float(k, W, 0.5)),
                              kc_int(k, DT_I64, s.labels[1]), bylab)
                       : bylab;
    } else if (s.nrho == 1) {
        lab = ksel(k, kbin(k, KB_GT, mw, kc_float(k, W, 0.0)), kc_int(k, DT_I64, 1),
                   kc_int(k, DT_I64, 0));
    } else {
        lab = bylab;
    }
    if (node_out(n, 0)) kstore(k, lw_out(L, 0), b, lab);

    /* the scores: post-transformed; one score with two labels becomes (-s, s) */
    if (s.second) {
        kstore(k, scores, kc_idx(k, 1), kload(k, scores, zero));
        kstore(k, scores, zero, kun(k, KU_NEG, kload(k, scores, kc_idx(k, 1))));
    }
    int pt = s.pt;
    if (s.zc == 1 && (pt == PT_SOFTMAX || pt == PT_SOFTMAX_ZERO || pt == PT_LOGISTIC))
        pt = PT_NONE;   /* the reference leaves a lone score as it is */
    emit_post(k, pt, W, scores, zero, s.zc);
    if (node_out(n, 1)) {
        int bz = lw_out(L, 1);
        KExpr *j = kvar(k, kfor_n(k, s.zc, KL_VECTOR));
        kstore(k, bz, kadd(k, kmuli(k, b, s.zc), j), kcast(k, DT_F32, kload(k, scores, j)));
        kend(k);
    }
    kend(k);
    return 0;
}
