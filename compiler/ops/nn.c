/* nn.c — the neural-network operators: MatMul, Gemm, Conv, ConvTranspose, DeformConv,
 * MaxPool, AveragePool, LpPool and their Global forms, MaxUnpool, BatchNormalization
 * (inference only), LRN, Col2Im, CausalConvWithState, RotaryEmbedding, and the recurrent
 * RNN / GRU / LSTM.
 *
 * Each op is a shape rule (nn_*_infer) and a lowering to the loop IR (nn_*_lower).
 * Float32 MatMul/Gemm/Conv call the runtime kernels rt_sgemm_f32 / rt_conv2d_f32 where the
 * target has them, with constant operands packed here, at compile time, by the runtime's
 * own rt_*_pack.c, and with any epilogue a fusion pass gave the node (Node.epi); every
 * other case is a plain loop nest. Constant folding interprets the
 * loop nests (the interpreter runs no kernels), so they are this family's reference
 * semantics and must hold for every dtype an infer function accepts.
 *
 * Expressions are trees: every use of a variable builds a fresh kvar() node, none is
 * shared between two parents. */
#include <math.h>
#include <string.h>
#include "../onnxcc.h"
#include "../../runtime/onnxcc_rt.h"

#define LL(x) ((long long)(x))

/* ---- small helpers ---------------------------------------------------------------- */

static const Type *in_type(const Node *n, int i)
{
    Value *v = node_in(n, i);
    return v ? &v->type : NULL;
}

static int dt_is_real(DType t) { return t == DT_F32 || t == DT_F64; }

/* The element types the arithmetic ops (MatMul, Gemm) accept besides float16/bfloat16. */
static int dt_is_arith(DType t)
{
    return t == DT_F32 || t == DT_F64 || t == DT_I32 || t == DT_I64 || t == DT_U32 ||
           t == DT_U64;
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
/* Python's //: ConvTranspose splits a possibly negative total padding with it. */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static KExpr *V(KB *k, int var) { return kvar(k, var); }

/* Row-major flat index of the element at coordinates e[] in a tensor of dims[]. */
static KExpr *flat(KB *k, int rank, const int64_t *dims, KExpr *const *e)
{
    KExpr *r = kc_idx(k, 0);
    for (int i = 0; i < rank; i++) r = kadd(k, kmuli(k, r, dims[i]), e[i]);
    return r;
}

static KExpr *kand(KB *k, KExpr *a, KExpr *b) { return a ? kbin(k, KB_AND, a, b) : b; }

/* lo <= var < hi for an index variable */
static KExpr *in_range(KB *k, int var, int64_t lo, int64_t hi)
{
    return kbin(k, KB_AND, kbin(k, KB_GE, V(k, var), kc_idx(k, lo)),
                kbin(k, KB_LT, V(k, var), kc_idx(k, hi)));
}

static KExpr *kadd_t(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_ADD, a, b); }
static KExpr *kmul_t(KB *k, KExpr *a, KExpr *b) { return kbin(k, KB_MUL, a, b); }

/* acc = acc + e */
static void kaccum(KB *k, int acc, KExpr *e) { kset(k, acc, kadd_t(k, V(k, acc), e)); }

/* Opens one loop per dim; only the outermost is marked parallel, so a back end that maps
 * parallel loops to threads never nests them. */
static void open_loops(KB *k, int rank, const int64_t *dims, int *vars, int outer_parallel)
{
    for (int i = 0; i < rank; i++)
        vars[i] = kfor_n(k, dims[i], (i == 0 && outer_parallel) ? KL_PARALLEL : KL_SERIAL);
}

static int read_spatial(Node *n, const char *name, int nsp, int64_t def, int64_t min,
                        int64_t *out)
{
    int cnt = 0;
    const int64_t *v = attr_ints(n, name, &cnt);
    for (int i = 0; i < nsp; i++) out[i] = def;
    if (!v) return 0;
    if (cnt != nsp)
        return node_err(n, "attribute %s has %d values, expected %d (one per spatial axis)",
                        name, cnt, nsp);
    for (int i = 0; i < nsp; i++) {
        if (v[i] < min)
            return node_err(n, "attribute %s[%d] = %lld, must be >= %lld", name, i, LL(v[i]),
                            LL(min));
        out[i] = v[i];
    }
    return 0;
}

/* ---- windows: the geometry shared by Conv and the pools ---------------------------- */

typedef struct Win {
    int nsp;                                   /* spatial axes */
    int64_t in[KIR_MAX_RANK], k[KIR_MAX_RANK]; /* input extent, kernel extent */
    int64_t s[KIR_MAX_RANK], d[KIR_MAX_RANK];  /* stride, dilation */
    int64_t pb[KIR_MAX_RANK], pe[KIR_MAX_RANK];/* pads at the start / end */
    int64_t out[KIR_MAX_RANK];
} Win;

/* Fills strides, dilations (when the op has them), pads and the output extent from the
 * attributes, given w->nsp, w->in and w->k. SAME_* pads are resolved here so the lowering
 * only ever sees explicit pads. */
static int win_forward(Node *n, Win *w, int ceil_mode, int has_dil)
{
    int nsp = w->nsp;
    if (read_spatial(n, "strides", nsp, 1, 1, w->s)) return -1;
    if (has_dil) {
        if (read_spatial(n, "dilations", nsp, 1, 1, w->d)) return -1;
    } else {
        for (int i = 0; i < nsp; i++) w->d[i] = 1;
    }
    int64_t pads[2 * KIR_MAX_RANK] = {0};
    int cnt = 0;
    const int64_t *p = attr_ints(n, "pads", &cnt);
    const char *ap = attr_s(n, "auto_pad", "NOTSET");
    int notset = !strcmp(ap, "NOTSET") || !*ap;
    if (p && notset) {
        if (cnt != 2 * nsp)
            return node_err(n, "attribute pads has %d values, expected %d", cnt, 2 * nsp);
        for (int i = 0; i < cnt; i++) {
            if (p[i] < 0) return node_err(n, "negative pads are not supported");
            pads[i] = p[i];
        }
    }
    for (int i = 0; i < nsp; i++) {
        if (w->k[i] < 1) return node_err(n, "kernel extent %lld on spatial axis %d", LL(w->k[i]), i);
        int64_t dk = (w->k[i] - 1) * w->d[i] + 1;
        if (notset) {
            w->pb[i] = pads[i];
            w->pe[i] = pads[i + nsp];
            int64_t num = w->in[i] + w->pb[i] + w->pe[i] - dk;
            if (num < 0)
                return node_err(n, "window extent %lld is larger than the padded input %lld "
                                "on spatial axis %d", LL(dk), LL(w->in[i] + w->pb[i] + w->pe[i]), i);
            w->out[i] = (ceil_mode ? ceil_div(num, w->s[i]) : num / w->s[i]) + 1;
            /* ceil mode's extra window must start inside the input or its start padding,
             * never entirely in the end padding (the rule of PyTorch and ONNX's reference) */
            if (ceil_mode && w->out[i] > 1 && (w->out[i] - 1) * w->s[i] >= w->in[i] + w->pb[i])
                w->out[i]--;
        } else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            w->out[i] = ceil_div(w->in[i], w->s[i]);
            int64_t total = (w->out[i] - 1) * w->s[i] + dk - w->in[i];
            if (total < 0) total = 0;
            if (!strcmp(ap, "SAME_UPPER")) {
                w->pb[i] = total / 2;
                w->pe[i] = total - w->pb[i];
            } else {
                w->pe[i] = total / 2;
                w->pb[i] = total - w->pe[i];
            }
        } else if (!strcmp(ap, "VALID")) {
            w->pb[i] = w->pe[i] = 0;
            int64_t num = w->in[i] - dk;
            if (num < 0)
                return node_err(n, "window extent %lld is larger than the input %lld on "
                                "spatial axis %d", LL(dk), LL(w->in[i]), i);
            w->out[i] = num / w->s[i] + 1;
        } else {
            return node_err(n, "unsupported auto_pad '%s'", ap);
        }
        if (w->out[i] < 1) return node_err(n, "empty output on spatial axis %d", i);
    }
    return 0;
}

/* Whether every window position o*s + kk*d - pb on axis i lies in [lo, hi), so the
 * lowering can leave out the bounds test. */
static int win_always(const Win *w, int i, int64_t lo, int64_t hi)
{
    int64_t first = -w->pb[i];
    int64_t last = (w->out[i] - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] - w->pb[i];
    return first >= lo && last < hi;
}

/* Declares the input coordinate o*s + kk*d - pb of axis i. */
static int win_coord(KB *k, const Win *w, int i, int ov, int kv)
{
    KExpr *e = kadd(k, kmuli(k, V(k, ov), w->s[i]), kmuli(k, V(k, kv), w->d[i]));
    return kdecl(k, DT_IDX, kaddi(k, e, -w->pb[i]));
}

/* ---- zero points of MatMulInteger / ConvInteger ----------------------------------- */

static int dt_is_q8(DType t) { return t == DT_U8 || t == DT_I8; }

/* A zero point of MatMulInteger/ConvInteger: absent, one value, or one per row/column/
 * output channel (`per` values). */
static int zp_check(Node *n, int i, DType dt, int64_t per, const char *what)
{
    const Type *t = in_type(n, i);
    if (!t) return 0;
    if (t->dt != dt) return node_err(n, "%s must be %s like its operand", what, dt_name(dt));
    int64_t c = type_numel(t);
    if (t->rank > 1 || (c != 1 && c != per))
        return node_err(n, "%s %s: only a scalar or %lld per-channel values are supported", what,
                        type_str(n->g->pool, t), LL(per));
    return 0;
}

/* Loads element e of buffer b as a ConvInteger/MatMulInteger operand: int32 minus the
 * zero point variable zp (or as is, for the float ops, when zp < 0). */
static KExpr *q_load(KB *k, int b, KExpr *e, int zp)
{
    KExpr *v = kload(k, b, e);
    if (zp < 0) return v;
    return kbin(k, KB_SUB, kcast(k, DT_I32, v), V(k, zp));
}

/* zero point variable: element 0, or element `idx` when there is one per channel */
static int q_zp(KB *k, Lower *L, const Node *n, int i, KExpr *idx)
{
    const Type *t = in_type(n, i);
    if (!t) return kdecl(k, DT_I32, kc_int(k, DT_I32, 0));
    KExpr *e = type_numel(t) == 1 ? kc_idx(k, 0) : idx;
    return kdecl(k, DT_I32, kcast(k, DT_I32, kload(k, lw_in(L, i), e)));
}

/* A scale of QLinearMatMul/QLinearConv: float32 (or float16, QLinearMatMul-21), one value
 * or `per` values. The arithmetic stays float32: a float16 scale is widened exactly. */
static int scale_check(Node *n, int i, int64_t per, const char *what)
{
    const Type *t = in_type(n, i);
    if (!t) return node_err(n, "needs input %s", what);
    int64_t c = type_numel(t);
    int f16ok = t->dt == DT_F16 && n->op == OP_QLinearMatMul && n->opset >= 21;
    if ((t->dt != DT_F32 && !f16ok) || t->rank > 1 || (c != 1 && c != per))
        return node_err(n, "%s must be float32 with 1 or %lld values, got %s", what, LL(per),
                        type_str(n->g->pool, t));
    return 0;
}

/* Output type of the QLinear ops: that of y_zero_point (input 7). */
static int qlinear_out(Node *n, DType *yt)
{
    const Type *t = in_type(n, 7);
    if (!t) return node_err(n, "needs input y_zero_point");
    if (!dt_is_q8(t->dt)) return node_err(n, "y_zero_point must be uint8 or int8");
    if (type_numel(t) != 1) return node_err(n, "only a scalar y_zero_point is supported");
    *yt = t->dt;
    return scale_check(n, 6, 1, "y_scale");
}

/* scale variable: element 0, or element `idx` when there is one per channel */
static KExpr *q_scale(KB *k, Lower *L, const Node *n, int i, KExpr *idx)
{
    return kcast(k, DT_F32,
                 kload(k, lw_in(L, i), type_numel(in_type(n, i)) == 1 ? kc_idx(k, 0) : idx));
}

/* saturate(rint(acc * mult) + zp) in the type of y_zero_point */
static KExpr *q_requant(KB *k, DType yt, int acc, KExpr *mult, int yz)
{
    KExpr *v = kun(k, KU_RINT, kmul_t(k, kcast(k, DT_F32, V(k, acc)), mult));
    v = kadd_t(k, v, kcast(k, DT_F32, V(k, yz)));
    double lo = yt == DT_I8 ? -128 : 0, hi = yt == DT_I8 ? 127 : 255;
    v = kbin(k, KB_MIN, kbin(k, KB_MAX, v, kc(k, DT_F32, lo)), kc(k, DT_F32, hi));
    return kcast(k, yt, v);
}

/* ---- MatMul ------------------------------------------------------------------------- */

typedef struct MM {
    int64_t M, N, K;
    int rb, ra, rbb, orank;                /* batch ranks: output, A, B; output rank */
    int64_t ob[KIR_MAX_RANK], ab[KIR_MAX_RANK], bb[KIR_MAX_RANK], od[KIR_MAX_RANK];
} MM;

/* numpy matmul: a 1-D A is a row [1,K], a 1-D B a column [K,1], and the added axis is
 * dropped from the result; the batch axes broadcast. */
static int mm_shape(Node *n, const Type *a, const Type *b, MM *m)
{
    memset(m, 0, sizeof *m);
    if (a->rank < 1 || b->rank < 1)
        return node_err(n, "inputs must have rank >= 1 (got %d and %d)", a->rank, b->rank);
    int64_t kb;
    if (a->rank == 1) {
        m->M = 1;
        m->K = a->dims[0];
    } else {
        m->M = a->dims[a->rank - 2];
        m->K = a->dims[a->rank - 1];
        m->ra = a->rank - 2;
        memcpy(m->ab, a->dims, sizeof(int64_t) * m->ra);
    }
    if (b->rank == 1) {
        kb = b->dims[0];
        m->N = 1;
    } else {
        kb = b->dims[b->rank - 2];
        m->N = b->dims[b->rank - 1];
        m->rbb = b->rank - 2;
        memcpy(m->bb, b->dims, sizeof(int64_t) * m->rbb);
    }
    if (kb != m->K)
        return node_err(n, "inner dimensions differ: A is %s, B is %s", type_str(n->g->pool, a),
                        type_str(n->g->pool, b));
    Type ta, tb, to;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    memset(&to, 0, sizeof to);
    ta.dt = tb.dt = a->dt;
    ta.rank = m->ra;
    memcpy(ta.dims, m->ab, sizeof(int64_t) * m->ra);
    tb.rank = m->rbb;
    memcpy(tb.dims, m->bb, sizeof(int64_t) * m->rbb);
    /* checked here so the message shows the whole operands, not just their batch parts */
    for (int i = 1; i <= m->ra && i <= m->rbb; i++) {
        int64_t x = m->ab[m->ra - i], y = m->bb[m->rbb - i];
        if (x != y && x != 1 && y != 1)
            return node_err(n, "batch dimensions do not broadcast: A is %s, B is %s",
                            type_str(n->g->pool, a), type_str(n->g->pool, b));
    }
    if (broadcast_shapes(n, &ta, &tb, &to)) return -1;
    m->rb = to.rank;
    memcpy(m->ob, to.dims, sizeof(int64_t) * to.rank);
    int r = m->rb;
    memcpy(m->od, m->ob, sizeof(int64_t) * r);
    if (a->rank > 1) m->od[r++] = m->M;
    if (b->rank > 1) m->od[r++] = m->N;
    m->orank = r;
    return 0;
}

int nn_matmul_infer(Node *n)
{
    int ql = n->op == OP_QLinearMatMul, q = n->op == OP_MatMulInteger || ql;
    const Type *a = in_type(n, 0), *b = in_type(n, ql ? 3 : 1);
    if (!a || !b) return node_err(n, "needs inputs A and B");
    /* MatMul of float16/bfloat16: the loop nest, summed in float32 */
    int half = n->op == OP_MatMul && (a->dt == DT_F16 || a->dt == DT_BF16);
    if (q ? !dt_is_q8(a->dt) || !dt_is_q8(b->dt) : !dt_is_arith(a->dt) && !half)
        return node_err(n, "unsupported element type %s", dt_name(a->dt));
    if (!q && b->dt != a->dt)
        return node_err(n, "A is %s but B is %s", dt_name(a->dt), dt_name(b->dt));
    MM m;
    if (mm_shape(n, a, b, &m)) return -1;
    /* zero points: a scalar, or one per row of A / column of B */
    if (q && (zp_check(n, 2, a->dt, m.M, "a_zero_point") ||
              zp_check(n, ql ? 5 : 3, b->dt, m.N, "b_zero_point")))
        return -1;
    DType yt = q ? DT_I32 : a->dt;
    if (ql && (scale_check(n, 1, m.M, "a_scale") || scale_check(n, 4, m.N, "b_scale") ||
               qlinear_out(n, &yt)))
        return -1;
    return set_out(n, 0, yt, m.orank, m.od);
}

/* Offset of the batch element at vars[] of the output batch in an operand whose batch
 * shape is src (broadcast), times the size of one matrix. */
static KExpr *batch_off(KB *k, const MM *m, const int *vars, int src_rank, const int64_t *src,
                        int64_t mat)
{
    if (m->rb == 0 || src_rank == 0) return kc_idx(k, 0);
    return kmuli(k, kindex_bcast(k, m->rb, m->ob, vars, src_rank, src), mat);
}

/* ---- the SGEMM kernel call shared by MatMul and Gemm ---------------------------------- */

typedef struct GemmOp {
    int64_t M, N, K;
    int A, B, Y;                 /* buffers */
    int a_from, b_from;          /* 1 + the node input A / B come from, bound only when the
                                  * kernel reads it (packed constants replace it): 0 = A/B */
    KExpr *aoff, *boff, *yoff;   /* element offsets (NULL: 0) */
    int ta, tb;                  /* stored transposed */
    int64_t lda, ldb;
    const float *aconst, *bconst; /* constant operands' data (offsets applied): packed here */
    double alpha, beta;
    int bias, bias_mode;         /* buffer or -1; 1 per row, 2 per column */
    KExpr *bias_off;
    int res;                     /* residual buffer (row stride N) or -1 */
    KExpr *roff;
} GemmOp;

/* The node's fused activation (n may be NULL: none). */
static int epi_act(const Node *n, double *a, double *b)
{
    const Epilogue *e = n ? n->epi : NULL;
    *a = e ? e->act_a : 0.0;
    *b = e ? e->act_b : 0.0;
    return e ? e->act : RT_ACT_NONE;
}

/* Packs a constant float operand for the kernel; returns the packed buffer or -1. */
static int pack_operand(Lower *L, const float *data, int is_a, int64_t rows, int64_t cols,
                        int64_t ld, int trans)
{
    ptrdiff_t sz = is_a ? rt_sgemm_pack_a_size(rows, cols) : rt_sgemm_pack_b_size(rows, cols);
    /* panels are padded to whole micro-tiles: a thin matrix (a classifier's 10 columns)
     * would grow several times in flash for a product that is a GEMV anyway */
    if (sz <= 0 || sz > rows * cols + rows * cols / 4) return -1;
    /* weights shared by several nodes (an unrolled RNN) are packed once */
    ConstKey key = { data, { is_a, rows, cols, ld, trans } };
    int b = lw_const_find(L, &key);
    if (b >= 0) return b;
    float *pk = lw_const_scratch(sz, DT_F32);
    if (is_a) rt_sgemm_pack_a(rows, cols, data, ld, trans, pk);
    else rt_sgemm_pack_b(rows, cols, data, ld, trans, pk);
    /* the source's pages go back (a mapped weight): the packed copy is what is emitted */
    int64_t span = trans ? (cols - 1) * ld + rows : (rows - 1) * ld + cols;
    if (span > 0) weights_release(data, sizeof(float) * (size_t)span);
    return lw_const_take(L, is_a ? "packed_a" : "packed_b", DT_F32, sz, pk, &key);
}

static void gemm_call(KB *k, Lower *L, const Node *n, GemmOp *g)
{
    int A = g->A, B = g->B, ta = g->ta, tb = g->tb;
    KExpr *aoff = g->aoff, *boff = g->boff;
    if (g->aconst) {
        int pa = pack_operand(L, g->aconst, 1, g->M, g->K, g->lda, ta);
        if (pa >= 0) { A = pa; ta = 2; aoff = NULL; }
    }
    if (g->bconst) {
        int pb = pack_operand(L, g->bconst, 0, g->K, g->N, g->ldb, tb);
        if (pb >= 0) { B = pb; tb = 2; boff = NULL; }
    }
    /* the unpacked weights stay out of the program unless the kernel reads them */
    if (ta != 2 && g->a_from) A = lw_in(L, g->a_from - 1);
    if (tb != 2 && g->b_from) B = lw_in(L, g->b_from - 1);
    ptrdiff_t wsz = rt_sgemm_work(g->M, g->N, g->K, ta, tb);
    int work = wsz > 0 ? lw_temp(L, DT_F32, wsz) : -1;
    double a, b;
    int act = epi_act(n, &a, &b);
    KArg args[21] = {
        karg_int(g->M), karg_int(g->N), karg_int(g->K),
        karg_buf(A, aoff), karg_int(g->lda), karg_int(ta),
        karg_buf(B, boff), karg_int(g->ldb), karg_int(tb),
        karg_buf(g->Y, g->yoff), karg_int(g->N), karg_float(g->alpha), karg_float(g->beta),
        karg_buf(g->bias, g->bias_off), karg_int(g->bias >= 0 ? g->bias_mode : 0),
        karg_buf(g->res, g->roff), karg_int(g->N),
        karg_int(act), karg_float(a), karg_float(b),
        karg_buf(work, NULL),
    };
    kcall(k, "rt_sgemm_f32", args, 21);
}

/* The input index of the fused residual (-1: none) and MatMul's fused bias. */
static int epi_res(const Node *n) { return n->epi ? n->epi->residual_in : -1; }
static int epi_bias(const Node *n) { return n->epi ? n->epi->bias_in : -1; }

/* The data of a constant float32 input, or NULL. */
static const float *whole_const(const Node *n, int i)
{
    const Value *v = node_in(n, i);
    return v && v->data && v->type.dt == DT_F32 ? v->data : NULL;
}

/* The operand MatMul computes with: node input i, or its folded Transpose (Node.view). */
static const Type *mm_operand(const Node *n, int i, Type *tmp)
{
    const Type *t = in_type(n, i);
    const OperandView *w = i < 2 ? n->view[i] : NULL;
    if (!w || !t || w->rank != t->rank) return t;
    *tmp = *t;
    for (int d = 0; d < w->rank; d++) tmp->dims[d] = t->dims[w->perm[d]];
    return tmp;
}

/* Element strides of operand i along the axes MatMul sees (row-major source). */
static void mm_strides(const Node *n, int i, int64_t *st)
{
    const Type *t = in_type(n, i);
    const OperandView *w = n->view[i];
    int64_t sst[KIR_MAX_RANK], sz = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        sst[d] = sz;
        sz *= t->dims[d];
    }
    for (int d = 0; d < t->rank; d++) st[d] = w ? sst[w->perm[d]] : sst[d];
}

/* The offset of the batch element at vars[] of the output batch in an operand with these
 * batch dims (right-aligned, broadcast where 1) and strides. */
static KExpr *strided_batch_off(KB *k, const MM *m, const int *vars, int rank,
                                const int64_t *dims, const int64_t *st)
{
    KExpr *e = kc_idx(k, 0);
    for (int d = 0; d < rank; d++)
        if (dims[d] != 1) e = kadd(k, e, kmuli(k, V(k, vars[m->rb - rank + d]), st[d]));
    return e;
}

/* Stride form of an operand's matrix: ld and the transposition flag, from the strides of
 * its last two axes (one of them is 1: fold_transpose.c only folds such views). */
static void mm_matrix(const Type *t, const int64_t *st, int64_t *ld, int *trans)
{
    int r = t->rank;
    if (r < 2) {
        *ld = 1;          /* A as a row [1,K] never steps rows; B as a column [K,1] steps 1 */
        *trans = 0;
        return;
    }
    *trans = st[r - 1] != 1;
    *ld = *trans ? st[r - 1] : st[r - 2];
}

int nn_matmul_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int ql = n->op == OP_QLinearMatMul, q = n->op == OP_MatMulInteger || ql;
    Type va, vb;
    const Type *a = mm_operand(n, 0, &va), *b = mm_operand(n, ql ? 3 : 1, &vb);
    DType dt = q ? DT_I32 : a->dt, yt = dt;
    if (ql && qlinear_out(n, &yt)) return -1;
    MM m;
    if (mm_shape(n, a, b, &m)) return -1;
    /* the kernel binds A and B itself, so packed constants leave the originals unused */
    int kernel = dt == DT_F32 && lw_has_kernel(L, "rt_sgemm_f32");
    int A = kernel ? -1 : lw_in(L, 0), B = kernel ? -1 : lw_in(L, ql ? 3 : 1), Y = lw_out(L, 0);
    int views = !ql && (n->view[0] || n->view[1]);
    if ((n->epi || views) && !(dt == DT_F32 && lw_has_kernel(L, "rt_sgemm_f32")))
        return node_err(n, "internal: a fused epilogue or operand view without the SGEMM kernel");
    if (dt == DT_F32 && lw_has_kernel(L, "rt_sgemm_f32")) {
        /* B shared by every batch and A's batch not broadcast: the batch rows of A are
         * consecutive, so the whole MatMul is one (batch*M) x N GEMM. */
        int64_t nb = 1, na = 1;
        for (int i = 0; i < m.rb; i++) nb *= m.ob[i];
        for (int i = 0; i < m.ra; i++) na *= m.ab[i];
        int fold = m.rbb == 0 && na == nb;
        int64_t bpm = 1;
        for (int i = 0; i < m.rbb; i++) bpm *= m.bb[i];
        int bi = epi_bias(n), ri = epi_res(n);
        GemmOp g = {
            .M = fold ? nb * m.M : m.M, .N = m.N, .K = m.K, .A = -1, .B = -1, .Y = Y,
            .a_from = 1, .b_from = 2,
            .lda = m.K, .ldb = m.N, .alpha = 1.0, .beta = 0.0,
            .bias = bi >= 0 ? lw_in(L, bi) : -1, .bias_mode = 2,
            .res = ri >= 0 ? lw_in(L, ri) : -1,
            .bconst = bpm == 1 && (fold || nb == 1) ? whole_const(n, 1) : NULL,
            .aconst = fold || nb == 1 ? whole_const(n, 0) : NULL,
        };
        if (!views && (fold || nb == 1)) {
            gemm_call(k, L, n, &g);
            return 0;
        }
        int bv[KIR_MAX_RANK];
        open_loops(k, m.rb, m.ob, bv, 1);
        g.yoff = kmuli(k, kindex(k, m.rb, m.ob, bv), m.M * m.N);
        g.roff = g.res >= 0 ? kmuli(k, kindex(k, m.rb, m.ob, bv), m.M * m.N) : NULL;
        g.aconst = NULL;
        if (views) {
            /* operands read through folded Transposes: strides, not copies */
            int64_t sa[KIR_MAX_RANK], sb[KIR_MAX_RANK];
            mm_strides(n, 0, sa);
            mm_strides(n, 1, sb);
            mm_matrix(a, sa, &g.lda, &g.ta);
            mm_matrix(b, sb, &g.ldb, &g.tb);
            g.aoff = strided_batch_off(k, &m, bv, m.ra, m.ab, sa);
            g.boff = strided_batch_off(k, &m, bv, m.rbb, m.bb, sb);
            g.bconst = NULL;
        } else {
            g.aoff = batch_off(k, &m, bv, m.ra, m.ab, m.M * m.K);
            g.boff = batch_off(k, &m, bv, m.rbb, m.bb, m.K * m.N);
        }
        gemm_call(k, L, n, &g);
        kend_n(k, m.rb);
        return 0;
    }
    int yz = ql ? q_zp(k, L, n, 7, NULL) : -1;
    int bv[KIR_MAX_RANK];
    open_loops(k, m.rb, m.ob, bv, 1);
    KExpr *yoff0 = m.rb ? kmuli(k, kindex(k, m.rb, m.ob, bv), m.M * m.N) : kc_idx(k, 0);
    int yoff = kdecl(k, DT_IDX, yoff0);
    int aoff = kdecl(k, DT_IDX, batch_off(k, &m, bv, m.ra, m.ab, m.M * m.K));
    int boff = kdecl(k, DT_IDX, batch_off(k, &m, bv, m.rbb, m.bb, m.K * m.N));
    if (dt == DT_F16 || dt == DT_BF16) {
        /* half types: each Y element sums in float32 and is rounded once, as numpy does */
        int iv = kfor_n(k, m.M, m.rb ? KL_SERIAL : KL_PARALLEL);
        int jv = kfor_n(k, m.N, KL_SERIAL);
        int acc = kdecl(k, DT_F32, kc(k, DT_F32, 0));
        int kv = kfor_n(k, m.K, KL_REDUCE);
        KExpr *ai = kadd(k, V(k, aoff), kadd(k, kmuli(k, V(k, iv), m.K), V(k, kv)));
        KExpr *bi = kadd(k, V(k, boff), kadd(k, kmuli(k, V(k, kv), m.N), V(k, jv)));
        kaccum(k, acc, kmul_t(k, kcast(k, DT_F32, kload(k, A, ai)),
                              kcast(k, DT_F32, kload(k, B, bi))));
        kend(k);
        KExpr *yi = kadd(k, V(k, yoff), kadd(k, kmuli(k, V(k, iv), m.N), V(k, jv)));
        kstore(k, Y, yi, kcast(k, dt, V(k, acc)));
        kend_n(k, 2);
    } else if (!q) {
        /* i-k-j order: the innermost loop walks B and Y contiguously with no carried
         * reduction, so back ends vectorise it without reassociating floats; each Y
         * element still sums its products in k order, exactly as the i-j-k nest does. */
        int iv = kfor_n(k, m.M, m.rb ? KL_SERIAL : KL_PARALLEL);
        KExpr *yrow = kadd(k, V(k, yoff), kmuli(k, V(k, iv), m.N));
        int jz = kfor_n(k, m.N, KL_VECTOR);
        kstore(k, Y, kadd(k, yrow, V(k, jz)), kc(k, dt, 0));
        kend(k);
        int kv = kfor_n(k, m.K, KL_SERIAL);
        int av = kdecl(k, dt, kload(k, A, kadd(k, V(k, aoff), kadd(k, kmuli(k, V(k, iv), m.K), V(k, kv)))));
        int jv = kfor_n(k, m.N, KL_VECTOR);
        KExpr *yi = kadd(k, yrow, V(k, jv));
        KExpr *bi = kadd(k, V(k, boff), kadd(k, kmuli(k, V(k, kv), m.N), V(k, jv)));
        kstore(k, Y, yi, kadd_t(k, kload(k, Y, yi), kmul_t(k, V(k, av), kload(k, B, bi))));
        kend_n(k, 3);
    } else {
        int iv = kfor_n(k, m.M, m.rb ? KL_SERIAL : KL_PARALLEL);
        int az = q ? q_zp(k, L, n, 2, V(k, iv)) : -1;
        int jv = kfor_n(k, m.N, KL_SERIAL);
        int bz = q ? q_zp(k, L, n, ql ? 5 : 3, V(k, jv)) : -1;
        int acc = kdecl(k, dt, kc(k, dt, 0));
        int kv = kfor_n(k, m.K, KL_REDUCE);
        KExpr *ai = kadd(k, V(k, aoff), kadd(k, kmuli(k, V(k, iv), m.K), V(k, kv)));
        KExpr *bi = kadd(k, V(k, boff), kadd(k, kmuli(k, V(k, kv), m.N), V(k, jv)));
        kaccum(k, acc, kmul_t(k, q_load(k, A, ai, az), q_load(k, B, bi, bz)));
        kend(k);
        KExpr *yi = kadd(k, V(k, yoff), kadd(k, kmuli(k, V(k, iv), m.N), V(k, jv)));
        KExpr *y = V(k, acc);
        if (ql) {
            KExpr *sc = kmul_t(k, q_scale(k, L, n, 1, V(k, iv)), q_scale(k, L, n, 4, V(k, jv)));
            y = q_requant(k, yt, acc, kbin(k, KB_DIV, sc, q_scale(k, L, n, 6, NULL)), yz);
        }
        kstore(k, Y, yi, y);
        kend_n(k, 2);
    }
    kend_n(k, m.rb);
    return 0;
}

/* ---- Gemm --------------------------------------------------------------------------- */

int nn_gemm_infer(Node *n)
{
    const Type *a = in_type(n, 0), *b = in_type(n, 1), *c = in_type(n, 2);
    if (!a || !b) return node_err(n, "needs inputs A and B");
    if (!dt_is_arith(a->dt)) return node_err(n, "unsupported element type %s", dt_name(a->dt));
    if (b->dt != a->dt || (c && c->dt != a->dt))
        return node_err(n, "inputs must share one element type");
    if (a->rank != 2 || b->rank != 2)
        return node_err(n, "A and B must be matrices (ranks %d and %d)", a->rank, b->rank);
    int ta = attr_i(n, "transA", 0) != 0, tb = attr_i(n, "transB", 0) != 0;
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb)
        return node_err(n, "inner dimensions differ: op(A) is %lldx%lld, op(B) is %lldx%lld",
                        LL(M), LL(K), LL(Kb), LL(N));
    int64_t od[2] = {M, N};
    if (c) {
        /* C broadcasts one way, to [M, N] */
        if (c->rank > 2) return node_err(n, "C has rank %d, at most 2 allowed", c->rank);
        for (int i = 0; i < c->rank; i++) {
            int64_t want = od[2 - c->rank + i];
            if (c->dims[i] != want && c->dims[i] != 1)
                return node_err(n, "C %s does not broadcast to [%lld,%lld]",
                                type_str(n->g->pool, c), LL(M), LL(N));
        }
    }
    return set_out(n, 0, a->dt, 2, od);
}

int nn_gemm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *a = in_type(n, 0), *b = in_type(n, 1), *c = in_type(n, 2);
    DType dt = a->dt;
    int ta = attr_i(n, "transA", 0) != 0, tb = attr_i(n, "transB", 0) != 0;
    double alpha = attr_f(n, "alpha", 1.0f), beta = attr_f(n, "beta", 1.0f);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t N = tb ? b->dims[0] : b->dims[1];
    int64_t od[2] = {M, N};
    int kernel = dt == DT_F32 && lw_has_kernel(L, "rt_sgemm_f32");
    int A = kernel ? -1 : lw_in(L, 0), B = kernel ? -1 : lw_in(L, 1), Y = lw_out(L, 0);
    int C = (c && beta != 0.0) ? lw_in(L, 2) : -1;
    if (n->epi && !(dt == DT_F32 && lw_has_kernel(L, "rt_sgemm_f32")))
        return node_err(n, "internal: a fused epilogue without the SGEMM kernel");
    if (dt == DT_F32 && lw_has_kernel(L, "rt_sgemm_f32")) {
        GemmOp g = {
            .M = M, .N = N, .K = K, .A = -1, .B = -1, .a_from = 1, .b_from = 2, .Y = Y,
            .ta = ta, .tb = tb,
            .lda = ta ? M : K, .ldb = tb ? K : N, .alpha = alpha, .beta = 0.0,
            .aconst = whole_const(n, 0), .bconst = whole_const(n, 1),
            .bias = -1, .res = epi_res(n) >= 0 ? lw_in(L, epi_res(n)) : -1,
        };
        if (C >= 0 && beta == 1.0 && c->rank >= 1 && c->dims[c->rank - 1] == N &&
            (c->rank == 1 || c->dims[0] == 1)) {
            g.bias = C;          /* a bias row: the epilogue adds it */
            g.bias_mode = 2;
        } else if (C >= 0 && beta == 1.0 && c->rank == 2 && c->dims[0] == M && M > 1 &&
                   c->dims[1] == 1) {
            g.bias = C;          /* a bias column */
            g.bias_mode = 1;
        } else if (C >= 0) {
            /* Y = C broadcast; the kernel then scales it by beta and adds alpha*A*B */
            int v[2];
            open_loops(k, 2, od, v, 1);
            KExpr *ci = kindex_bcast(k, 2, od, v, c->rank, c->dims);
            kstore(k, Y, kindex(k, 2, od, v), kload(k, C, ci));
            kend_n(k, 2);
            g.beta = beta;
        }
        gemm_call(k, L, n, &g);
        return 0;
    }
    int iv = kfor_n(k, M, KL_PARALLEL);
    int jv = kfor_n(k, N, KL_SERIAL);
    int acc = kdecl(k, dt, kc(k, dt, 0));
    int kv = kfor_n(k, K, KL_REDUCE);
    KExpr *ai = ta ? kadd(k, kmuli(k, V(k, kv), M), V(k, iv))
                   : kadd(k, kmuli(k, V(k, iv), K), V(k, kv));
    KExpr *bi = tb ? kadd(k, kmuli(k, V(k, jv), K), V(k, kv))
                   : kadd(k, kmuli(k, V(k, kv), N), V(k, jv));
    kaccum(k, acc, kmul_t(k, kload(k, A, ai), kload(k, B, bi)));
    kend(k);
    KExpr *y = V(k, acc);
    if (alpha != 1.0) y = kmul_t(k, kc(k, dt, alpha), y);
    if (C >= 0) {
        int v[2] = {iv, jv};
        KExpr *cv = kload(k, C, kindex_bcast(k, 2, od, v, c->rank, c->dims));
        if (beta != 1.0) cv = kmul_t(k, kc(k, dt, beta), cv);
        y = kadd_t(k, y, cv);
    }
    kstore(k, Y, kadd(k, kmuli(k, V(k, iv), N), V(k, jv)), y);
    kend_n(k, 2);
    return 0;
}

/* ---- Conv --------------------------------------------------------------------------- */

/* Checks X [N,C,D...], W [M,C/group,k...], B [M] (ConvInteger: zero points instead of B)
 * and computes the window. */
static int conv_setup(Node *n, Win *w, int64_t *group)
{
    int q = n->op == OP_ConvInteger || n->op == OP_QLinearConv, ql = n->op == OP_QLinearConv;
    int bi = n->op == OP_Conv ? 2 : ql ? 8 : -1;
    const Type *x = in_type(n, 0), *wt = in_type(n, ql ? 3 : 1), *b = bi >= 0 ? in_type(n, bi) : NULL;
    if (!x || !wt) return node_err(n, "needs inputs X and W");
    if (q ? !dt_is_q8(x->dt) || !dt_is_q8(wt->dt) : !dt_is_real(x->dt))
        return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (!q && wt->dt != x->dt) return node_err(n, "X is %s but W is %s", dt_name(x->dt), dt_name(wt->dt));
    if (x->rank < 3) return node_err(n, "X must have rank >= 3 (N, C, spatial...), got %d", x->rank);
    if (wt->rank != x->rank) return node_err(n, "W has rank %d, X rank %d", wt->rank, x->rank);
    int64_t g = attr_i(n, "group", 1);
    if (g < 1) return node_err(n, "group = %lld", LL(g));
    int64_t C = x->dims[1], M = wt->dims[0];
    if (C % g || M % g || wt->dims[1] * g != C)
        return node_err(n, "channels do not match: X %s, W %s, group %lld",
                        type_str(n->g->pool, x), type_str(n->g->pool, wt), LL(g));
    DType bt = q ? DT_I32 : x->dt;
    if (b && (b->dt != bt || b->rank != 1 || b->dims[0] != M))
        return node_err(n, "bias must be %s[%lld]", dt_name(bt), LL(M));
    if (q && (zp_check(n, 2, x->dt, 1, "x_zero_point") ||
              zp_check(n, ql ? 5 : 3, wt->dt, M, "w_zero_point")))
        return -1;
    if (ql && (scale_check(n, 1, 1, "x_scale") || scale_check(n, 4, M, "w_scale")))
        return -1;
    memset(w, 0, sizeof *w);
    w->nsp = x->rank - 2;
    for (int i = 0; i < w->nsp; i++) {
        w->in[i] = x->dims[2 + i];
        w->k[i] = wt->dims[2 + i];
    }
    int cnt = 0;
    const int64_t *ks = attr_ints(n, "kernel_shape", &cnt);
    if (ks) {
        if (cnt != w->nsp) return node_err(n, "kernel_shape has %d values, expected %d", cnt, w->nsp);
        for (int i = 0; i < cnt; i++)
            if (ks[i] != w->k[i])
                return node_err(n, "kernel_shape[%d] = %lld but W has %lld", i, LL(ks[i]), LL(w->k[i]));
    }
    *group = g;
    return win_forward(n, w, 0, 1);
}

int nn_conv_infer(Node *n)
{
    Win w;
    int64_t g;
    if (conv_setup(n, &w, &g)) return -1;
    const Type *x = in_type(n, 0), *wt = in_type(n, n->op == OP_QLinearConv ? 3 : 1);
    int64_t od[KIR_MAX_RANK];
    od[0] = x->dims[0];
    od[1] = wt->dims[0];
    for (int i = 0; i < w.nsp; i++) od[2 + i] = w.out[i];
    DType yt = n->op == OP_ConvInteger ? DT_I32 : x->dt;
    if (n->op == OP_QLinearConv && qlinear_out(n, &yt)) return -1;
    return set_out(n, 0, yt, x->rank, od);
}

int nn_conv_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Win w;
    int64_t group;
    if (conv_setup(n, &w, &group)) return -1;
    int ql = n->op == OP_QLinearConv, q = n->op == OP_ConvInteger || ql;
    int bi = n->op == OP_Conv ? 2 : ql ? 8 : -1;
    const Type *xt = in_type(n, 0), *wt = in_type(n, ql ? 3 : 1);
    DType dt = q ? DT_I32 : xt->dt, yt = dt;
    if (ql && qlinear_out(n, &yt)) return -1;
    int nsp = w.nsp;
    int64_t N = xt->dims[0], C = xt->dims[1], M = wt->dims[0], Cg = C / group, Mg = M / group;
    int kernel = dt == DT_F32 && nsp <= 2 && lw_has_kernel(L, "rt_conv2d_f32");
    /* the kernel path binds W only when it reads it unpacked */
    int X = lw_in(L, 0), W = kernel ? -1 : lw_in(L, ql ? 3 : 1);
    int Bb = bi >= 0 && node_in(n, bi) ? lw_in(L, bi) : -1;
    int Y = lw_out(L, 0);
    if (n->epi && !kernel) return node_err(n, "internal: a fused epilogue without the conv kernel");
    if (kernel) {
        /* 1-D runs as 2-D with a unit height */
        int h = nsp == 2 ? 0 : -1, x = nsp - 1;
        int64_t H = h < 0 ? 1 : w.in[h], Wd = w.in[x], kH = h < 0 ? 1 : w.k[h], kW = w.k[x];
        int64_t oH = h < 0 ? 1 : w.out[h], oW = w.out[x], sH = h < 0 ? 1 : w.s[h], sW = w.s[x];
        int64_t pT = h < 0 ? 0 : w.pb[h], pL = w.pb[x], dH = h < 0 ? 1 : w.d[h], dW = w.d[x];
        /* constant weights go out in the layout the kernel reads */
        int wpacked = 0, Wk = -1;
        const float *wv = whole_const(n, 1);
        ptrdiff_t kind = rt_conv2d_pack_kind(C, M, kH, kW, group, oH, oW, sH, sW, dH, dW);
        ptrdiff_t psz = wv ? rt_conv2d_pack_w_size(C, M, kH, kW, group, kind) : 0;
        if (psz > 0) {
            ConstKey key = { wv, { 2 + 16 * kind, C, M, kH * 65536 + kW, group } };
            Wk = lw_const_find(L, &key);
            if (Wk < 0) {
                float *pk = lw_const_scratch(psz, DT_F32);
                rt_conv2d_pack_w(C, M, kH, kW, group, kind, wv, pk);
                weights_release(wv, sizeof(float) * (size_t)(M * Cg * kH * kW));
                Wk = lw_const_take(L, "packed_w", DT_F32, psz, pk, &key);
            }
            wpacked = (int)kind;
        } else {
            Wk = lw_in(L, 1);   /* only now: packed weights leave the originals unused */
        }
        ptrdiff_t wsz = rt_conv2d_work(C, H, Wd, M, kH, kW, oH, oW, sH, sW, pT, pL, dH, dW,
                                       group, wpacked);
        int work = wsz > 0 ? lw_temp(L, DT_F32, wsz) : -1;
        double aa, ab;
        int act = epi_act(n, &aa, &ab);
        KArg args[26] = {
            karg_buf(X, NULL), karg_buf(Wk, NULL), karg_buf(Bb, NULL), karg_buf(Y, NULL),
            karg_int(N), karg_int(C), karg_int(H), karg_int(Wd),
            karg_int(M), karg_int(kH), karg_int(kW), karg_int(oH), karg_int(oW),
            karg_int(sH), karg_int(sW), karg_int(pT), karg_int(pL),
            karg_int(dH), karg_int(dW), karg_int(group),
            karg_buf(epi_res(n) >= 0 ? lw_in(L, epi_res(n)) : -1, NULL),
            karg_int(act), karg_float(aa), karg_float(ab),
            karg_int(wpacked), karg_buf(work, NULL),
        };
        kcall(k, "rt_conv2d_f32", args, 26);
        return 0;
    }
    int64_t xd[KIR_MAX_RANK], wd[KIR_MAX_RANK], yd[KIR_MAX_RANK];
    xd[0] = N; xd[1] = C;
    wd[0] = M; wd[1] = Cg;
    yd[0] = N; yd[1] = M;
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = w.in[i];
        wd[2 + i] = w.k[i];
        yd[2 + i] = w.out[i];
    }
    int xz = q ? q_zp(k, L, n, 2, NULL) : -1;
    int yz = ql ? q_zp(k, L, n, 7, NULL) : -1;
    int nv = kfor_n(k, N, KL_PARALLEL);
    int mv = kfor_n(k, M, KL_SERIAL);
    int wz = q ? q_zp(k, L, n, ql ? 5 : 3, V(k, mv)) : -1;
    int mult = -1;
    if (ql) {
        KExpr *sc = kmul_t(k, q_scale(k, L, n, 1, NULL), q_scale(k, L, n, 4, V(k, mv)));
        mult = kdecl(k, DT_F32, kbin(k, KB_DIV, sc, q_scale(k, L, n, 6, NULL)));
    }
    int ov[KIR_MAX_RANK], kv[KIR_MAX_RANK], iv[KIR_MAX_RANK];
    for (int i = 0; i < nsp; i++) ov[i] = kfor_n(k, w.out[i], KL_SERIAL);
    int acc = kdecl(k, dt, Bb >= 0 ? kload(k, Bb, V(k, mv)) : kc(k, dt, 0));
    /* first input channel of the group output channel m belongs to */
    KExpr *cb = group > 1 ? kmuli(k, kbin(k, KB_DIV, V(k, mv), kc_idx(k, Mg)), Cg) : kc_idx(k, 0);
    int cbase = kdecl(k, DT_IDX, cb);
    int cv = kfor_n(k, Cg, KL_REDUCE);
    int nopen = 0;
    for (int i = 0; i < nsp; i++) {
        kv[i] = kfor_n(k, w.k[i], KL_REDUCE);
        iv[i] = win_coord(k, &w, i, ov[i], kv[i]);
        nopen++;
        if (!win_always(&w, i, 0, w.in[i])) {
            kif(k, in_range(k, iv[i], 0, w.in[i]));
            nopen++;
        }
    }
    KExpr *xe[KIR_MAX_RANK], *we[KIR_MAX_RANK];
    xe[0] = V(k, nv);
    xe[1] = kadd(k, V(k, cbase), V(k, cv));
    we[0] = V(k, mv);
    we[1] = V(k, cv);
    for (int i = 0; i < nsp; i++) {
        xe[2 + i] = V(k, iv[i]);
        we[2 + i] = V(k, kv[i]);
    }
    kaccum(k, acc, kmul_t(k, q_load(k, X, flat(k, nsp + 2, xd, xe), xz),
                          q_load(k, W, flat(k, nsp + 2, wd, we), wz)));
    kend_n(k, nopen);
    kend(k); /* channel loop */
    KExpr *ye[KIR_MAX_RANK];
    ye[0] = V(k, nv);
    ye[1] = V(k, mv);
    for (int i = 0; i < nsp; i++) ye[2 + i] = V(k, ov[i]);
    kstore(k, Y, flat(k, nsp + 2, yd, ye), ql ? q_requant(k, yt, acc, V(k, mult), yz) : V(k, acc));
    kend_n(k, nsp + 2);
    return 0;
}

/* ---- DeformConv (opset 19) --------------------------------------------------------------- */

typedef struct Dfc {
    int64_t N, C, H, W, oC, kH, kW, oH, oW, group, ogroup;
    int64_t s[2], d[2], pb[2];
} Dfc;

/* X (N, C, H, W), W (oC, C/group, kH, kW), offset (N, og*2*kH*kW, oH, oW), B (oC),
 * mask (N, og*kH*kW, oH, oW): the 2-D form */
static int dfc_params(Node *n, Dfc *p)
{
    const Type *x = in_type(n, 0), *w = in_type(n, 1), *o = in_type(n, 2);
    if (!x || !w || !o) return node_err(n, "needs X, W and offset");
    if (!dt_is_real(x->dt) || w->dt != x->dt || o->dt != x->dt)
        return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (x->rank != 4 || w->rank != 4 || o->rank != 4)
        return node_err(n, "only the 2-D form (N, C, H, W) is supported");
    p->N = x->dims[0], p->C = x->dims[1], p->H = x->dims[2], p->W = x->dims[3];
    p->oC = w->dims[0], p->kH = w->dims[2], p->kW = w->dims[3];
    p->group = attr_i(n, "group", 1), p->ogroup = attr_i(n, "offset_group", 1);
    if (p->group < 1 || p->C % p->group || p->oC % p->group || w->dims[1] != p->C / p->group)
        return node_err(n, "W must be (oC, C / group, kH, kW) with group dividing C and oC");
    if (p->ogroup < 1 || p->C % p->ogroup)
        return node_err(n, "offset_group must divide the %lld channels", LL(p->C));
    if (read_spatial(n, "strides", 2, 1, 1, p->s) || read_spatial(n, "dilations", 2, 1, 1, p->d))
        return -1;
    int cnt = 0;
    const int64_t *pads = attr_ints(n, "pads", &cnt);
    if (pads && cnt != 4) return node_err(n, "pads has %d values, expected 4", cnt);
    int64_t pe[2] = { pads ? pads[2] : 0, pads ? pads[3] : 0 };
    p->pb[0] = pads ? pads[0] : 0, p->pb[1] = pads ? pads[1] : 0;
    int64_t ext[2] = { p->H, p->W }, ks[2] = { p->kH, p->kW }, out[2];
    for (int i = 0; i < 2; i++) {
        int64_t num = ext[i] + p->pb[i] + pe[i] - (p->d[i] * (ks[i] - 1) + 1);
        if (num < 0 || ks[i] < 1) return node_err(n, "the kernel does not fit on axis %d", i);
        out[i] = num / p->s[i] + 1;
    }
    p->oH = out[0], p->oW = out[1];
    int64_t kk = p->kH * p->kW;
    if (o->dims[0] != p->N || o->dims[1] != p->ogroup * 2 * kk || o->dims[2] != p->oH ||
        o->dims[3] != p->oW)
        return node_err(n, "offset must be (N, offset_group * 2 * kH * kW, oH, oW)");
    const Type *b = n->nin > 3 ? in_type(n, 3) : NULL, *m = n->nin > 4 ? in_type(n, 4) : NULL;
    if (b && (b->dt != x->dt || type_numel(b) != p->oC)) return node_err(n, "B must be (oC)");
    if (m && (m->dt != x->dt || m->rank != 4 || m->dims[0] != p->N ||
              m->dims[1] != p->ogroup * kk || m->dims[2] != p->oH || m->dims[3] != p->oW))
        return node_err(n, "mask must be (N, offset_group * kH * kW, oH, oW)");
    return 0;
}

int nn_deform_conv_infer(Node *n)
{
    Dfc p;
    if (dfc_params(n, &p)) return -1;
    int64_t y[4] = { p.N, p.oC, p.oH, p.oW };
    return set_out(n, 0, in_type(n, 0)->dt, 4, y);
}

/* Each tap samples X bilinearly at its offset position (zero outside the image, as
 * torchvision's deform_conv2d), times the mask, times the weight. */
int nn_deform_conv_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Dfc p;
    if (dfc_params(n, &p)) return -1;
    DType t = in_type(n, 0)->dt;
    int X = lw_in(L, 0), Wt = lw_in(L, 1), O = lw_in(L, 2);
    int B = n->nin > 3 && node_in(n, 3) ? lw_in(L, 3) : -1;
    int M = n->nin > 4 && node_in(n, 4) ? lw_in(L, 4) : -1;
    int Y = lw_out(L, 0);
    int64_t Cg = p.C / p.group, oCg = p.oC / p.group, Cog = p.C / p.ogroup, kk = p.kH * p.kW;
    if (p.N * p.oC * p.oH * p.oW == 0) return 0;
    int nv = kfor_n(k, p.N, KL_PARALLEL), ov = kfor_n(k, p.oC, KL_SERIAL);
    int hv = kfor_n(k, p.oH, KL_SERIAL), wv = kfor_n(k, p.oW, KL_SERIAL);
    int acc = kdecl(k, t, B >= 0 ? kload(k, B, V(k, ov)) : kc(k, t, 0));
    int g = kdecl(k, DT_IDX, kbin(k, KB_DIV, V(k, ov), kc_idx(k, oCg)));
    int ci = kfor_n(k, Cg, KL_SERIAL);
    int c = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, g), Cg), V(k, ci)));
    int og = kdecl(k, DT_IDX, kbin(k, KB_DIV, V(k, c), kc_idx(k, Cog)));
    int ih = kfor_n(k, p.kH, KL_SERIAL), iw = kfor_n(k, p.kW, KL_SERIAL);
    int tap = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, ih), p.kW), V(k, iw)));
    /* offset channel og*2*kk + 2*tap (dy) and + 1 (dx), at (n, ., oh, ow) */
    int ob = kdecl(k, DT_IDX, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, og), 2 * kk),
                                                     kmuli(k, V(k, tap), 2)), p.oH * p.oW),
                                   kadd(k, kmuli(k, V(k, hv), p.oW), V(k, wv))));
    int obase = kdecl(k, DT_IDX, kadd(k, kmuli(k, V(k, nv), p.ogroup * 2 * kk * p.oH * p.oW),
                                      V(k, ob)));
    int y = kdecl(k, t, kadd_t(k, kcast(k, t, kaddi(k, kadd(k, kmuli(k, V(k, hv), p.s[0]),
                                                               kmuli(k, V(k, ih), p.d[0])),
                                                     -p.pb[0])),
                               kload(k, O, V(k, obase))));
    int x = kdecl(k, t, kadd_t(k, kcast(k, t, kaddi(k, kadd(k, kmuli(k, V(k, wv), p.s[1]),
                                                               kmuli(k, V(k, iw), p.d[1])),
                                                     -p.pb[1])),
                               kload(k, O, kaddi(k, V(k, obase), p.oH * p.oW))));
    KExpr *inside = kbin(k, KB_AND,
                         kbin(k, KB_AND, kbin(k, KB_GT, V(k, y), kc(k, t, -1)),
                              kbin(k, KB_LT, V(k, y), kc(k, t, (double)p.H))),
                         kbin(k, KB_AND, kbin(k, KB_GT, V(k, x), kc(k, t, -1)),
                              kbin(k, KB_LT, V(k, x), kc(k, t, (double)p.W))));
    kif(k, inside);
    int y0 = kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_FLOOR, V(k, y))));
    int x0 = kdecl(k, DT_IDX, kcast(k, DT_IDX, kun(k, KU_FLOOR, V(k, x))));
    int ly = kdecl(k, t, kbin(k, KB_SUB, V(k, y), kcast(k, t, V(k, y0))));
    int lx = kdecl(k, t, kbin(k, KB_SUB, V(k, x), kcast(k, t, V(k, x0))));
    int plane = kdecl(k, DT_IDX, kmuli(k, kadd(k, kmuli(k, V(k, nv), p.C), V(k, c)), p.H * p.W));
    int val = kdecl(k, t, kc(k, t, 0));
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            /* corner (y0 + dy, x0 + dx): zero outside the image */
            KExpr *ok = kbin(k, KB_AND,
                             kbin(k, KB_AND, kbin(k, KB_GE, kaddi(k, V(k, y0), dy), kc_idx(k, 0)),
                                  kbin(k, KB_LT, kaddi(k, V(k, y0), dy), kc_idx(k, p.H))),
                             kbin(k, KB_AND, kbin(k, KB_GE, kaddi(k, V(k, x0), dx), kc_idx(k, 0)),
                                  kbin(k, KB_LT, kaddi(k, V(k, x0), dx), kc_idx(k, p.W))));
            kif(k, ok);
            KExpr *wy = dy ? V(k, ly) : kbin(k, KB_SUB, kc(k, t, 1), V(k, ly));
            KExpr *wx = dx ? V(k, lx) : kbin(k, KB_SUB, kc(k, t, 1), V(k, lx));
            KExpr *at = kadd(k, V(k, plane), kadd(k, kmuli(k, kaddi(k, V(k, y0), dy), p.W),
                                                  kaddi(k, V(k, x0), dx)));
            kaccum(k, val, kmul_t(k, kmul_t(k, wy, wx), kload(k, X, at)));
            kend(k);
        }
    KExpr *v = V(k, val);
    if (M >= 0) {
        KExpr *mi = kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, nv), p.ogroup * kk),
                                          kadd(k, kmuli(k, V(k, og), kk), V(k, tap))),
                                  p.oH * p.oW),
                         kadd(k, kmuli(k, V(k, hv), p.oW), V(k, wv)));
        v = kmul_t(k, v, kload(k, M, mi));
    }
    KExpr *wi = kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, ov), Cg), V(k, ci)), kk), V(k, tap));
    kaccum(k, acc, kmul_t(k, kload(k, Wt, wi), v));
    kend(k);      /* inside */
    kend_n(k, 3); /* iw, ih, ci */
    kstore(k, Y, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, nv), p.oC), V(k, ov)), p.oH * p.oW),
                      kadd(k, kmuli(k, V(k, hv), p.oW), V(k, wv))),
           V(k, acc));
    kend_n(k, 4);
    return 0;
}

/* ---- ConvTranspose -------------------------------------------------------------------- */

/* X [N,C,D...], W [C,M/group,k...], B [M]. Output extent and pads follow the ONNX
 * (opset 11) rules; with output_shape the total padding may be negative, which extends
 * the output at the end (the official tests rely on that). */
static int convt_setup(Node *n, Win *w, int64_t *group, int64_t *M)
{
    const Type *x = in_type(n, 0), *wt = in_type(n, 1), *b = in_type(n, 2);
    if (!x || !wt) return node_err(n, "needs inputs X and W");
    if (!dt_is_real(x->dt)) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (wt->dt != x->dt) return node_err(n, "X is %s but W is %s", dt_name(x->dt), dt_name(wt->dt));
    if (x->rank < 3) return node_err(n, "X must have rank >= 3 (N, C, spatial...), got %d", x->rank);
    if (wt->rank != x->rank) return node_err(n, "W has rank %d, X rank %d", wt->rank, x->rank);
    int64_t g = attr_i(n, "group", 1);
    if (g < 1) return node_err(n, "group = %lld", LL(g));
    int64_t C = x->dims[1];
    if (wt->dims[0] != C || C % g)
        return node_err(n, "channels do not match: X %s, W %s, group %lld",
                        type_str(n->g->pool, x), type_str(n->g->pool, wt), LL(g));
    *M = wt->dims[1] * g;
    if (b && (b->dt != x->dt || b->rank != 1 || b->dims[0] != *M))
        return node_err(n, "bias must be %s[%lld]", dt_name(x->dt), LL(*M));
    memset(w, 0, sizeof *w);
    int nsp = w->nsp = x->rank - 2;
    for (int i = 0; i < nsp; i++) {
        w->in[i] = x->dims[2 + i];
        w->k[i] = wt->dims[2 + i];
    }
    int cnt = 0;
    const int64_t *ks = attr_ints(n, "kernel_shape", &cnt);
    if (ks) {
        if (cnt != nsp) return node_err(n, "kernel_shape has %d values, expected %d", cnt, nsp);
        for (int i = 0; i < cnt; i++)
            if (ks[i] != w->k[i])
                return node_err(n, "kernel_shape[%d] = %lld but W has %lld", i, LL(ks[i]), LL(w->k[i]));
    }
    if (read_spatial(n, "strides", nsp, 1, 1, w->s)) return -1;
    if (read_spatial(n, "dilations", nsp, 1, 1, w->d)) return -1;
    int64_t opad[KIR_MAX_RANK];
    if (read_spatial(n, "output_padding", nsp, 0, 0, opad)) return -1;
    int64_t pads[2 * KIR_MAX_RANK] = {0};
    const int64_t *p = attr_ints(n, "pads", &cnt);
    if (p) {
        if (cnt != 2 * nsp) return node_err(n, "attribute pads has %d values, expected %d", cnt, 2 * nsp);
        for (int i = 0; i < cnt; i++) {
            if (p[i] < 0) return node_err(n, "negative pads are not supported");
            pads[i] = p[i];
        }
    }
    const int64_t *os = attr_ints(n, "output_shape", &cnt);
    if (os) {
        if (cnt == nsp + 2) os += 2; /* some exporters give the full shape */
        else if (cnt != nsp)
            return node_err(n, "output_shape has %d values, expected %d", cnt, nsp);
    }
    const char *ap = attr_s(n, "auto_pad", "NOTSET");
    int notset = !strcmp(ap, "NOTSET") || !*ap;
    int upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
    if (!notset && !upper && !lower && strcmp(ap, "VALID"))
        return node_err(n, "unsupported auto_pad '%s'", ap);
    for (int i = 0; i < nsp; i++) {
        int64_t dk = (w->k[i] - 1) * w->d[i] + 1;
        int64_t full = w->s[i] * (w->in[i] - 1) + opad[i] + dk;
        if (os || upper || lower) {
            int64_t out = os ? os[i] : w->in[i] * w->s[i];
            int64_t total = full - out;
            if (upper) {
                w->pb[i] = floor_div(total, 2);
                w->pe[i] = total - w->pb[i];
            } else {
                w->pe[i] = floor_div(total, 2);
                w->pb[i] = total - w->pe[i];
            }
            w->out[i] = out;
        } else {
            if (notset) {
                w->pb[i] = pads[i];
                w->pe[i] = pads[i + nsp];
            }
            w->out[i] = full - w->pb[i] - w->pe[i];
        }
        if (w->out[i] < 1) return node_err(n, "empty output on spatial axis %d", i);
    }
    *group = g;
    return 0;
}

int nn_convt_infer(Node *n)
{
    Win w;
    int64_t g, M;
    if (convt_setup(n, &w, &g, &M)) return -1;
    const Type *x = in_type(n, 0);
    int64_t od[KIR_MAX_RANK];
    od[0] = x->dims[0];
    od[1] = M;
    for (int i = 0; i < w.nsp; i++) od[2 + i] = w.out[i];
    return set_out(n, 0, x->dt, x->rank, od);
}

/* Gathers into each output element: input position i contributes to output o through
 * kernel tap kk when i*s + kk*d - pb == o, i.e. t = o + pb - kk*d is a multiple of s. */
int nn_convt_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Win w;
    int64_t group, M;
    if (convt_setup(n, &w, &group, &M)) return -1;
    const Type *xt = in_type(n, 0);
    DType dt = xt->dt;
    int nsp = w.nsp;
    int64_t N = xt->dims[0], C = xt->dims[1], Cg = C / group, Mg = M / group;
    int X = lw_in(L, 0), W = lw_in(L, 1), Bb = node_in(n, 2) ? lw_in(L, 2) : -1;
    int Y = lw_out(L, 0);
    int64_t xd[KIR_MAX_RANK], wd[KIR_MAX_RANK], yd[KIR_MAX_RANK];
    xd[0] = N; xd[1] = C;
    wd[0] = C; wd[1] = Mg;
    yd[0] = N; yd[1] = M;
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = w.in[i];
        wd[2 + i] = w.k[i];
        yd[2 + i] = w.out[i];
    }
    int nv = kfor_n(k, N, KL_PARALLEL);
    int mv = kfor_n(k, M, KL_SERIAL);
    int ov[KIR_MAX_RANK], kv[KIR_MAX_RANK], iv[KIR_MAX_RANK];
    for (int i = 0; i < nsp; i++) ov[i] = kfor_n(k, w.out[i], KL_SERIAL);
    int acc = kdecl(k, dt, Bb >= 0 ? kload(k, Bb, V(k, mv)) : kc(k, dt, 0));
    int cbase = kdecl(k, DT_IDX, group > 1 ? kmuli(k, kbin(k, KB_DIV, V(k, mv), kc_idx(k, Mg)), Cg)
                                           : kc_idx(k, 0));
    int mm = kdecl(k, DT_IDX, group > 1 ? kbin(k, KB_REM, V(k, mv), kc_idx(k, Mg)) : V(k, mv));
    int cv = kfor_n(k, Cg, KL_REDUCE);
    int ci = kdecl(k, DT_IDX, kadd(k, V(k, cbase), V(k, cv)));
    int nopen = 0;
    for (int i = 0; i < nsp; i++) {
        kv[i] = kfor_n(k, w.k[i], KL_REDUCE);
        nopen++;
        KExpr *t = kaddi(k, ksub(k, V(k, ov[i]), kmuli(k, V(k, kv[i]), w.d[i])), w.pb[i]);
        int tv = kdecl(k, DT_IDX, t);
        KExpr *ok;
        if (w.s[i] == 1) {
            iv[i] = tv;
            ok = in_range(k, tv, 0, w.in[i]);
        } else {
            /* t < 0 is rejected by the test too, so C's truncating / and % are harmless */
            iv[i] = kdecl(k, DT_IDX, kbin(k, KB_DIV, V(k, tv), kc_idx(k, w.s[i])));
            ok = kbin(k, KB_GE, V(k, tv), kc_idx(k, 0));
            ok = kand(k, ok, kbin(k, KB_EQ, kbin(k, KB_REM, V(k, tv), kc_idx(k, w.s[i])), kc_idx(k, 0)));
            ok = kand(k, ok, kbin(k, KB_LT, V(k, iv[i]), kc_idx(k, w.in[i])));
        }
        kif(k, ok);
        nopen++;
    }
    KExpr *xe[KIR_MAX_RANK], *we[KIR_MAX_RANK];
    xe[0] = V(k, nv);
    xe[1] = V(k, ci);
    we[0] = V(k, ci);
    we[1] = V(k, mm);
    for (int i = 0; i < nsp; i++) {
        xe[2 + i] = V(k, iv[i]);
        we[2 + i] = V(k, kv[i]);
    }
    kaccum(k, acc, kmul_t(k, kload(k, X, flat(k, nsp + 2, xd, xe)),
                          kload(k, W, flat(k, nsp + 2, wd, we))));
    kend_n(k, nopen);
    kend(k); /* channel loop */
    KExpr *ye[KIR_MAX_RANK];
    ye[0] = V(k, nv);
    ye[1] = V(k, mv);
    for (int i = 0; i < nsp; i++) ye[2 + i] = V(k, ov[i]);
    kstore(k, Y, flat(k, nsp + 2, yd, ye), V(k, acc));
    kend_n(k, nsp + 2);
    return 0;
}

/* ---- pools: MaxPool, AveragePool, LpPool, Global* ----------------------------------- */

enum { PK_MAX, PK_AVG, PK_LP };

static int pool_kind(const Node *n)
{
    switch (n->op) {
    case OP_MaxPool: case OP_GlobalMaxPool: return PK_MAX;
    case OP_AveragePool: case OP_GlobalAveragePool: return PK_AVG;
    default: return PK_LP;
    }
}

static int pool_global(const Node *n)
{
    return n->op == OP_GlobalMaxPool || n->op == OP_GlobalAveragePool || n->op == OP_GlobalLpPool;
}

/* LpPool's p: a float attribute in opset 1, an int from opset 2. */
static double pool_p(const Node *n)
{
    const Attr *a = attr_get(n, "p");
    if (!a) return 2.0;
    return a->kind == A_FLOAT ? (double)a->f : (double)a->i;
}

static int pool_setup(Node *n, Win *w)
{
    const Type *x = in_type(n, 0);
    if (!x) return node_err(n, "needs input X");
    int kind = pool_kind(n);
    int ok = dt_is_real(x->dt) || (n->op == OP_MaxPool && (x->dt == DT_I8 || x->dt == DT_U8));
    if (!ok) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (x->rank < 3) return node_err(n, "X must have rank >= 3 (N, C, spatial...), got %d", x->rank);
    memset(w, 0, sizeof *w);
    int nsp = w->nsp = x->rank - 2;
    for (int i = 0; i < nsp; i++) w->in[i] = x->dims[2 + i];
    if (kind == PK_LP && !(pool_p(n) > 0)) return node_err(n, "p must be positive");
    if (pool_global(n)) {
        for (int i = 0; i < nsp; i++) {
            w->k[i] = w->in[i];
            w->s[i] = w->d[i] = w->out[i] = 1;
        }
        return 0;
    }
    int cnt = 0;
    const int64_t *ks = attr_ints(n, "kernel_shape", &cnt);
    if (!ks) return node_err(n, "attribute kernel_shape is required");
    if (cnt != nsp) return node_err(n, "kernel_shape has %d values, expected %d", cnt, nsp);
    for (int i = 0; i < nsp; i++) w->k[i] = ks[i];
    int ceil_mode = (int)attr_i(n, "ceil_mode", 0);
    /* dilations: MaxPool from opset 10, LpPool from 18, AveragePool from 19 */
    int has_dil = n->op == OP_MaxPool || (n->op == OP_LpPool && n->opset >= 18) ||
                  (n->op == OP_AveragePool && n->opset >= 19);
    if (!has_dil && attr_get(n, "dilations")) {
        int64_t d[KIR_MAX_RANK];
        if (read_spatial(n, "dilations", nsp, 1, 1, d)) return -1;
        for (int i = 0; i < nsp; i++)
            if (d[i] != 1) return node_err(n, "dilations are not supported for this pool");
    }
    if (n->op == OP_MaxPool) {
        int64_t so = attr_i(n, "storage_order", 0);
        if (so != 0 && so != 1) return node_err(n, "storage_order = %lld", LL(so));
    }
    if (n->op == OP_AveragePool) {
        int64_t cip = attr_i(n, "count_include_pad", 0);
        if (cip != 0 && cip != 1) return node_err(n, "count_include_pad = %lld", LL(cip));
    }
    return win_forward(n, w, ceil_mode, has_dil);
}

int nn_pool_infer(Node *n)
{
    Win w;
    if (pool_setup(n, &w)) return -1;
    const Type *x = in_type(n, 0);
    int64_t od[KIR_MAX_RANK];
    od[0] = x->dims[0];
    od[1] = x->dims[1];
    for (int i = 0; i < w.nsp; i++) od[2 + i] = w.out[i];
    if (set_out(n, 0, x->dt, x->rank, od)) return -1;
    if (node_out(n, 1)) {
        if (n->op != OP_MaxPool) return node_err(n, "has only one output");
        if (set_out(n, 1, DT_I64, x->rank, od)) return -1;
    }
    return 0;
}

/* The smallest value of a MaxPool element type: the max of an all-padding window. */
static KExpr *lowest(KB *k, DType dt)
{
    switch (dt) {
    case DT_I8: return kc_int(k, dt, -128);
    case DT_U8: return kc_int(k, dt, 0);
    default: return kc_float(k, dt, -INFINITY);
    }
}

int nn_pool_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Win w;
    if (pool_setup(n, &w)) return -1;
    const Type *xt = in_type(n, 0);
    DType dt = xt->dt;
    int kind = pool_kind(n), nsp = w.nsp;
    int count_pad = n->op == OP_AveragePool && attr_i(n, "count_include_pad", 0);
    int want_idx = node_out(n, 1) != NULL;
    int col_major = want_idx && attr_i(n, "storage_order", 0) == 1;
    double p = kind == PK_LP ? pool_p(n) : 0;
    int64_t N = xt->dims[0], C = xt->dims[1];
    /* float32 Max/Average pools (1-D as 2-D with a unit height) and the Global forms go to
     * rt_pool.c where the target has it; Indices, LpPool and other types stay loop nests. */
    if (dt == DT_F32 && !want_idx && kind != PK_LP) {
        if (pool_global(n) && lw_has_kernel(L, "rt_globalpool_f32")) {
            int64_t hw = 1;
            for (int i = 0; i < nsp; i++) hw *= w.in[i];
            KArg args[5] = { karg_buf(lw_in(L, 0), NULL), karg_buf(lw_out(L, 0), NULL),
                             karg_int(N * C), karg_int(hw), karg_int(kind == PK_MAX) };
            kcall(k, "rt_globalpool_f32", args, 5);
            return 0;
        }
        const char *fn = kind == PK_MAX ? "rt_maxpool2d_f32" : "rt_avgpool2d_f32";
        /* rt_avgpool2d_f32 takes no dilations: a dilated AveragePool stays a loop nest */
        int undilated = 1;
        for (int i = 0; i < nsp; i++) undilated &= w.d[i] == 1;
        if (!pool_global(n) && nsp <= 2 && (kind == PK_MAX || undilated) &&
            lw_has_kernel(L, fn)) {
            int h = nsp == 2 ? 0 : -1, x = nsp - 1;
            int64_t H = h < 0 ? 1 : w.in[h], oH = h < 0 ? 1 : w.out[h];
            int64_t kH = h < 0 ? 1 : w.k[h], sH = h < 0 ? 1 : w.s[h], dH = h < 0 ? 1 : w.d[h];
            int64_t pT = h < 0 ? 0 : w.pb[h], pB = h < 0 ? 0 : w.pe[h];
            KArg args[16] = { karg_buf(lw_in(L, 0), NULL), karg_buf(lw_out(L, 0), NULL),
                              karg_int(N * C), karg_int(H), karg_int(w.in[x]), karg_int(oH),
                              karg_int(w.out[x]), karg_int(kH), karg_int(w.k[x]), karg_int(sH),
                              karg_int(w.s[x]), karg_int(pT), karg_int(w.pb[x]) };
            if (kind == PK_MAX) {
                args[13] = karg_int(dH);
                args[14] = karg_int(w.d[x]);
                kcall(k, fn, args, 15);
            } else {
                args[13] = karg_int(pB);
                args[14] = karg_int(w.pe[x]);
                args[15] = karg_int(count_pad);
                kcall(k, fn, args, 16);
            }
            return 0;
        }
    }
    int64_t xd[KIR_MAX_RANK], yd[KIR_MAX_RANK];
    xd[0] = yd[0] = N;
    xd[1] = yd[1] = C;
    int64_t spatial = 1;
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = w.in[i];
        yd[2 + i] = w.out[i];
        spatial *= w.in[i];
    }
    int X = lw_in(L, 0), Y = lw_out(L, 0), I = want_idx ? lw_out(L, 1) : -1;
    int nv = kfor_n(k, N, KL_PARALLEL);
    int cv = kfor_n(k, C, KL_SERIAL);
    int ov[KIR_MAX_RANK], kv[KIR_MAX_RANK], iv[KIR_MAX_RANK];
    for (int i = 0; i < nsp; i++) ov[i] = kfor_n(k, w.out[i], KL_SERIAL);
    int acc = kdecl(k, dt, kind == PK_MAX ? lowest(k, dt) : kc(k, dt, 0));
    /* AveragePool's divisor counts the taps inside [lo, hi): the input alone, or the input
     * and its pads (count_include_pad). It is a constant unless some window is cut. */
    int64_t lo[KIR_MAX_RANK], hi[KIR_MAX_RANK];
    int whole = 1;
    int64_t taps = 1;
    for (int i = 0; i < nsp; i++) {
        lo[i] = count_pad ? -w.pb[i] : 0;
        hi[i] = count_pad ? w.in[i] + w.pe[i] : w.in[i];
        if (!win_always(&w, i, lo[i], hi[i])) whole = 0;
        taps *= w.k[i];
    }
    int cnt = (kind == PK_AVG && !whole) ? kdecl(k, DT_IDX, kc_idx(k, 0)) : -1;
    int arg = want_idx ? kdecl(k, DT_IDX, kc_idx(k, 0)) : -1;
    int nopen = 0;
    KExpr *data_ok = NULL;
    for (int i = 0; i < nsp; i++) {
        kv[i] = kfor_n(k, w.k[i], KL_REDUCE);
        nopen++;
        iv[i] = win_coord(k, &w, i, ov[i], kv[i]);
        if (count_pad) {
            if (!win_always(&w, i, lo[i], hi[i])) {
                kif(k, in_range(k, iv[i], lo[i], hi[i]));
                nopen++;
            }
            if (!win_always(&w, i, 0, w.in[i]))
                data_ok = kand(k, data_ok, in_range(k, iv[i], 0, w.in[i]));
        } else if (!win_always(&w, i, 0, w.in[i])) {
            kif(k, in_range(k, iv[i], 0, w.in[i]));
            nopen++;
        }
    }
    if (cnt >= 0) kset(k, cnt, kaddi(k, V(k, cnt), 1));
    if (data_ok) {
        kif(k, data_ok);
        nopen++;
    }
    KExpr *xe[KIR_MAX_RANK];
    xe[0] = V(k, nv);
    xe[1] = V(k, cv);
    for (int i = 0; i < nsp; i++) xe[2 + i] = V(k, iv[i]);
    int v = kdecl(k, dt, kload(k, X, flat(k, nsp + 2, xd, xe)));
    if (kind == PK_MAX) {
        if (want_idx) {
            kif(k, kbin(k, KB_GT, V(k, v), V(k, acc)));
            kset(k, acc, V(k, v));
            KExpr *idx;
            if (col_major) {
                /* storage_order=1: the spatial part of the index is column-major */
                KExpr *e = V(k, iv[nsp - 1]);
                for (int i = nsp - 2; i >= 0; i--) e = kadd(k, V(k, iv[i]), kmuli(k, e, w.in[i]));
                KExpr *nc = kadd(k, kmuli(k, V(k, nv), C), V(k, cv));
                idx = kadd(k, kmuli(k, nc, spatial), e);
            } else {
                for (int i = 0; i < nsp; i++) xe[2 + i] = V(k, iv[i]);
                xe[0] = V(k, nv);
                xe[1] = V(k, cv);
                idx = flat(k, nsp + 2, xd, xe);
            }
            kset(k, arg, idx);
            kend(k);
        } else {
            kset(k, acc, kbin(k, KB_MAX, V(k, acc), V(k, v)));
        }
    } else if (kind == PK_AVG) {
        kaccum(k, acc, V(k, v));
    } else {
        KExpr *t;
        if (p == 1.0) t = kun(k, KU_ABS, V(k, v));
        else if (p == 2.0) t = kmul_t(k, V(k, v), V(k, v));
        else t = kbin(k, KB_POW, kun(k, KU_ABS, V(k, v)), kc(k, dt, p));
        kaccum(k, acc, t);
    }
    kend_n(k, nopen);
    KExpr *y = V(k, acc);
    if (kind == PK_AVG)
        y = kbin(k, KB_DIV, y, cnt >= 0 ? kcast(k, dt, V(k, cnt)) : kc(k, dt, (double)taps));
    else if (kind == PK_LP && p != 1.0)
        y = p == 2.0 ? kun(k, KU_SQRT, y) : kbin(k, KB_POW, y, kc(k, dt, 1.0 / p));
    KExpr *ye[KIR_MAX_RANK];
    ye[0] = V(k, nv);
    ye[1] = V(k, cv);
    for (int i = 0; i < nsp; i++) ye[2 + i] = V(k, ov[i]);
    kstore(k, Y, flat(k, nsp + 2, yd, ye), y);
    if (want_idx) {
        ye[0] = V(k, nv);
        ye[1] = V(k, cv);
        for (int i = 0; i < nsp; i++) ye[2 + i] = V(k, ov[i]);
        kstore(k, I, flat(k, nsp + 2, yd, ye), kcast(k, DT_I64, V(k, arg)));
    }
    kend_n(k, nsp + 2);
    return 0;
}

/* ---- MaxUnpool ---------------------------------------------------------------------- */

/* od: the output shape; dd: the shape the pooling indices refer to (the default unpooled
 * shape). They differ only when output_shape asks for a larger output. */
static int unpool_shape(Node *n, int64_t *od, int64_t *dd)
{
    const Type *x = in_type(n, 0), *ix = in_type(n, 1);
    if (!x || !ix) return node_err(n, "needs inputs X and I");
    if (!dt_is_real(x->dt)) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (ix->dt != DT_I64) return node_err(n, "I must be int64, got %s", dt_name(ix->dt));
    if (ix->rank != x->rank || memcmp(ix->dims, x->dims, sizeof(int64_t) * x->rank))
        return node_err(n, "X and I must have the same shape");
    if (x->rank < 3) return node_err(n, "X must have rank >= 3 (N, C, spatial...), got %d", x->rank);
    int nsp = x->rank - 2;
    int64_t s[KIR_MAX_RANK];
    int cnt = 0;
    const int64_t *ks = attr_ints(n, "kernel_shape", &cnt);
    if (!ks) return node_err(n, "attribute kernel_shape is required");
    if (cnt != nsp) return node_err(n, "kernel_shape has %d values, expected %d", cnt, nsp);
    if (read_spatial(n, "strides", nsp, 1, 1, s)) return -1;
    int64_t pads[2 * KIR_MAX_RANK] = {0};
    const int64_t *p = attr_ints(n, "pads", &cnt);
    if (p) {
        if (cnt != 2 * nsp) return node_err(n, "attribute pads has %d values, expected %d", cnt, 2 * nsp);
        for (int i = 0; i < cnt; i++) pads[i] = p[i];
    }
    dd[0] = x->dims[0];
    dd[1] = x->dims[1];
    for (int i = 0; i < nsp; i++) {
        dd[2 + i] = (x->dims[2 + i] - 1) * s[i] + ks[i] - pads[i] - pads[i + nsp];
        if (dd[2 + i] < 1) return node_err(n, "empty output on spatial axis %d", i);
    }
    memcpy(od, dd, sizeof(int64_t) * x->rank);
    if (node_in(n, 2)) {
        int64_t *vals;
        cnt = const_ints(n, 2, &vals);
        if (cnt < 0) return -1;
        if (cnt != x->rank) return node_err(n, "output_shape has %d values, expected %d", cnt, x->rank);
        for (int i = 0; i < cnt; i++) {
            if (vals[i] < 1) return node_err(n, "output_shape[%d] = %lld", i, LL(vals[i]));
            od[i] = vals[i];
        }
        if (od[0] != x->dims[0] || od[1] != x->dims[1])
            return node_err(n, "output_shape must keep N and C");
    }
    return 0;
}

int nn_unpool_infer(Node *n)
{
    int64_t od[KIR_MAX_RANK], dd[KIR_MAX_RANK];
    if (unpool_shape(n, od, dd)) return -1;
    const Type *x = in_type(n, 0);
    return set_out(n, 0, x->dt, x->rank, od);
}

/* Zero output, then Y[I[j]] = X[j]. An index is flat over the default unpooled shape;
 * with a different output_shape it is decoded there and re-encoded in the output (the
 * extra rows/columns stay zero). Indices out of range are skipped rather than trusted. */
int nn_unpool_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType dt = x->dt;
    int rank = x->rank;
    int64_t od[KIR_MAX_RANK], dd[KIR_MAX_RANK];
    if (unpool_shape(n, od, dd)) return -1;
    int64_t nx = type_numel(x), ny = 1, nd = 1;
    for (int i = 0; i < rank; i++) {
        ny *= od[i];
        nd *= dd[i];
    }
    int X = lw_in(L, 0), I = lw_in(L, 1), Y = lw_out(L, 0);
    int j = kfor_n(k, ny, KL_VECTOR);
    kstore(k, Y, V(k, j), kc(k, dt, 0));
    kend(k);
    j = kfor_n(k, nx, KL_SERIAL);
    int t = kdecl(k, DT_IDX, kcast(k, DT_IDX, kload(k, I, V(k, j))));
    kif(k, in_range(k, t, 0, nd));
    int nopen = 2;
    int dst = t;
    if (memcmp(od, dd, sizeof(int64_t) * rank)) {
        int c[KIR_MAX_RANK];
        for (int i = rank - 1; i >= 0; i--) {
            /* a unit dim has coordinate 0; dividing by 1 would print t = t */
            if (dd[i] == 1) {
                c[i] = kdecl(k, DT_IDX, kc_idx(k, 0));
                continue;
            }
            c[i] = kdecl(k, DT_IDX, kbin(k, KB_REM, V(k, t), kc_idx(k, dd[i])));
            if (i > 0) kset(k, t, kbin(k, KB_DIV, V(k, t), kc_idx(k, dd[i])));
        }
        KExpr *e[KIR_MAX_RANK];
        for (int i = 0; i < rank; i++) e[i] = V(k, c[i]);
        dst = kdecl(k, DT_IDX, flat(k, rank, od, e));
        /* coordinates beyond a smaller output_shape have nowhere to go */
        KExpr *ok = NULL;
        for (int i = 2; i < rank; i++)
            if (dd[i] > od[i]) ok = kand(k, ok, kbin(k, KB_LT, V(k, c[i]), kc_idx(k, od[i])));
        if (ok) {
            kif(k, ok);
            nopen++;
        }
    }
    kstore(k, Y, V(k, dst), kload(k, X, V(k, j)));
    kend_n(k, nopen);
    return 0;
}

/* ---- BatchNormalization --------------------------------------------------- */

/* spatial=0 (opsets < 7 only) gives every element of a sample its own statistics: the
 * parameters then have the shape of X without N. */
static int bn_spatial(const Node *n)
{
    return n->opset >= 7 ? 1 : attr_i(n, "spatial", 1) != 0;
}

int nn_bn_infer(Node *n)
{
    const Type *x = in_type(n, 0);
    if (!x) return node_err(n, "needs input X");
    if (!dt_is_real(x->dt)) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (x->rank < 2) return node_err(n, "X must have rank >= 2 (N, C, ...), got %d", x->rank);
    int training = attr_i(n, "training_mode", 0) != 0;
    if (training && (n->opset < 14 || !bn_spatial(n)))
        return node_err(n, "training_mode=1 needs opset 14 or later");
    for (int i = training ? 3 : 1; i < n->nout; i++)
        if (node_out(n, i))
            return node_err(n, "output %d (training statistics) is not supported", i);
    int64_t want = 1;
    if (bn_spatial(n)) want = x->dims[1];
    else for (int i = 1; i < x->rank; i++) want *= x->dims[i];
    static const char *const names[4] = {"scale", "B", "mean", "var"};
    for (int i = 1; i <= 4; i++) {
        const Type *t = in_type(n, i);
        if (!t) return node_err(n, "needs input %s", names[i - 1]);
        if (!dt_is_real(t->dt)) return node_err(n, "%s has unsupported type %s", names[i - 1], dt_name(t->dt));
        if (type_numel(t) != want)
            return node_err(n, "%s has %lld elements, expected %lld", names[i - 1],
                            LL(type_numel(t)), LL(want));
    }
    if (set_out(n, 0, x->dt, x->rank, x->dims)) return -1;
    for (int i = 1; i <= 2 && training; i++)
        if (node_out(n, i) && set_out(n, i, in_type(n, 2 + i)->dt, 1, &want)) return -1;
    return 0;
}

/* training_mode=1 (opset 14): Y normalised with the batch's own statistics per channel
 * (mean, then the population variance in a second pass over X, both summed in double), and
 * the running statistics as outputs 1 and 2: input * momentum + batch * (1 - momentum). */
static int bn_training_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType dt = x->dt;
    double eps = attr_f(n, "epsilon", 1e-5f), mom = attr_f(n, "momentum", 0.9f);
    int X = lw_in(L, 0), S = lw_in(L, 1), B = lw_in(L, 2), Mn = lw_in(L, 3), Vr = lw_in(L, 4);
    int Y = lw_out(L, 0);
    int RM = node_out(n, 1) ? lw_out(L, 1) : -1, RV = node_out(n, 2) ? lw_out(L, 2) : -1;
    int64_t rest = 1;
    for (int i = 2; i < x->rank; i++) rest *= x->dims[i];
    int64_t cnt = x->dims[0] * rest, d3[3] = { x->dims[0], x->dims[1], rest };
    int vars[3];
    int c = kfor_n(k, x->dims[1], KL_PARALLEL);
    /* the statistics, in double */
    int sum = kdecl(k, DT_F64, kc(k, DT_F64, 0));
    vars[1] = c;
    vars[0] = kfor_n(k, d3[0], KL_SERIAL);
    vars[2] = kfor_n(k, rest, KL_REDUCE);
    kaccum(k, sum, kcast(k, DT_F64, kload(k, X, kindex(k, 3, d3, vars))));
    kend_n(k, 2);
    int mean = kdecl(k, DT_F64, kbin(k, KB_DIV, V(k, sum), kc(k, DT_F64, (double)cnt)));
    int sq = kdecl(k, DT_F64, kc(k, DT_F64, 0));
    vars[0] = kfor_n(k, d3[0], KL_SERIAL);
    vars[2] = kfor_n(k, rest, KL_REDUCE);
    int d = kdecl(k, DT_F64, kbin(k, KB_SUB, kcast(k, DT_F64, kload(k, X, kindex(k, 3, d3, vars))),
                                  V(k, mean)));
    kaccum(k, sq, kmul_t(k, V(k, d), V(k, d)));
    kend_n(k, 2);
    int var = kdecl(k, DT_F64, kbin(k, KB_DIV, V(k, sq), kc(k, DT_F64, (double)cnt)));
    if (RM >= 0) {
        const Type *t = in_type(n, 3);
        KExpr *r = kadd_t(k, kmul_t(k, kcast(k, DT_F64, kload(k, Mn, V(k, c))), kc(k, DT_F64, mom)),
                          kmul_t(k, V(k, mean), kc(k, DT_F64, 1.0 - mom)));
        kstore(k, RM, V(k, c), kcast(k, t->dt, r));
    }
    if (RV >= 0) {
        const Type *t = in_type(n, 4);
        KExpr *r = kadd_t(k, kmul_t(k, kcast(k, DT_F64, kload(k, Vr, V(k, c))), kc(k, DT_F64, mom)),
                          kmul_t(k, V(k, var), kc(k, DT_F64, 1.0 - mom)));
        kstore(k, RV, V(k, c), kcast(k, t->dt, r));
    }
    KExpr *den = kun(k, KU_SQRT, kadd_t(k, kcast(k, dt, V(k, var)), kc(k, dt, eps)));
    int a = kdecl(k, dt, kbin(k, KB_DIV, kcast(k, dt, kload(k, S, V(k, c))), den));
    int mu = kdecl(k, dt, kcast(k, dt, V(k, mean)));
    int b = kdecl(k, dt, kcast(k, dt, kload(k, B, V(k, c))));
    vars[0] = kfor_n(k, d3[0], KL_SERIAL);
    vars[2] = kfor_n(k, rest, KL_VECTOR);
    KExpr *xi = kindex(k, 3, d3, vars);
    KExpr *y = kadd_t(k, kmul_t(k, kbin(k, KB_SUB, kload(k, X, xi), V(k, mu)), V(k, a)), V(k, b));
    kstore(k, Y, kindex(k, 3, d3, vars), y);
    kend_n(k, 3);
    return 0;
}

int nn_bn_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType dt = x->dt;
    double eps = attr_f(n, "epsilon", 1e-5f);
    if (attr_i(n, "training_mode", 0) != 0) return bn_training_lower(n, L);
    int X = lw_in(L, 0), S = lw_in(L, 1), B = lw_in(L, 2), Mn = lw_in(L, 3), Vr = lw_in(L, 4);
    int Y = lw_out(L, 0);
    int vars[KIR_MAX_RANK];
    int pv;  /* index of the parameters */
    if (bn_spatial(n)) {
        open_loops(k, 2, x->dims, vars, 1);
        pv = vars[1];
    } else {
        open_loops(k, x->rank, x->dims, vars, 1);
        pv = kdecl(k, DT_IDX, kindex(k, x->rank - 1, x->dims + 1, vars + 1));
    }
    KExpr *den = kun(k, KU_SQRT, kadd_t(k, kcast(k, dt, kload(k, Vr, V(k, pv))), kc(k, dt, eps)));
    int a = kdecl(k, dt, kbin(k, KB_DIV, kcast(k, dt, kload(k, S, V(k, pv))), den));
    int mu = kdecl(k, dt, kcast(k, dt, kload(k, Mn, V(k, pv))));
    int b = kdecl(k, dt, kcast(k, dt, kload(k, B, V(k, pv))));
    if (bn_spatial(n)) open_loops(k, x->rank - 2, x->dims + 2, vars + 2, 0);
    KExpr *xi = kindex(k, x->rank, x->dims, vars);
    KExpr *y = kbin(k, KB_SUB, kload(k, X, xi), V(k, mu));
    y = kadd_t(k, kmul_t(k, y, V(k, a)), V(k, b));
    kstore(k, Y, kindex(k, x->rank, x->dims, vars), y);
    kend_n(k, x->rank);
    return 0;
}

/* ---- LRN ---------------------------------------------------------------------------- */

int nn_lrn_infer(Node *n)
{
    const Type *x = in_type(n, 0);
    if (!x) return node_err(n, "needs input X");
    if (!dt_is_real(x->dt)) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (x->rank < 2) return node_err(n, "X must have rank >= 2 (N, C, ...), got %d", x->rank);
    if (!attr_get(n, "size")) return node_err(n, "attribute size is required");
    if (attr_i(n, "size", 0) < 1) return node_err(n, "size must be >= 1");
    return set_out(n, 0, x->dt, x->rank, x->dims);
}

/* y = x / (bias + alpha/size * sum of x^2 over channels [c - (size-1)/2, c + ceil((size-1)/2)])^beta */
int nn_lrn_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *x = in_type(n, 0);
    DType dt = x->dt;
    int64_t size = attr_i(n, "size", 1), C = x->dims[1];
    double alpha = attr_f(n, "alpha", 1e-4f), beta = attr_f(n, "beta", 0.75f);
    double bias = attr_f(n, "bias", 1.0f);
    int64_t before = (size - 1) / 2;
    int X = lw_in(L, 0), Y = lw_out(L, 0);
    int vars[KIR_MAX_RANK];
    open_loops(k, x->rank, x->dims, vars, 1);
    int sum = kdecl(k, dt, kc(k, dt, 0));
    int j = kfor_n(k, size, KL_REDUCE);
    int cc = kdecl(k, DT_IDX, kaddi(k, kadd(k, V(k, vars[1]), V(k, j)), -before));
    kif(k, in_range(k, cc, 0, C));
    KExpr *e[KIR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) e[i] = V(k, i == 1 ? cc : vars[i]);
    int v = kdecl(k, dt, kload(k, X, flat(k, x->rank, x->dims, e)));
    kaccum(k, sum, kmul_t(k, V(k, v), V(k, v)));
    kend_n(k, 2);
    KExpr *den = kadd_t(k, kc(k, dt, bias), kmul_t(k, kc(k, dt, alpha / (double)size), V(k, sum)));
    den = kbin(k, KB_POW, den, kc(k, dt, beta));
    KExpr *y = kbin(k, KB_DIV, kload(k, X, kindex(k, x->rank, x->dims, vars)), den);
    kstore(k, Y, kindex(k, x->rank, x->dims, vars), y);
    kend_n(k, x->rank);
    return 0;
}

/* ---- Col2Im (opset 18) ---------------------------------------------------------------- */

typedef struct C2i {
    int nsp;
    int64_t img[KIR_MAX_RANK], blk[KIR_MAX_RANK], out[KIR_MAX_RANK];
    int64_t s[KIR_MAX_RANK], d[KIR_MAX_RANK], pb[KIR_MAX_RANK];
    int64_t nblk, L, N, C;
} C2i;

/* input (N, C * prod(block_shape), L); image_shape and block_shape compile-time values */
static int c2i_params(Node *n, C2i *c)
{
    const Type *x = in_type(n, 0);
    if (!x || !in_type(n, 1) || !in_type(n, 2))
        return node_err(n, "needs input, image_shape and block_shape");
    if (!dt_is_float(x->dt) && !dt_is_int(x->dt))
        return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (x->rank != 3) return node_err(n, "input must be 3-D (N, C * prod(block), L)");
    int64_t *img, *blk;
    int ni = const_ints(n, 1, &img);
    if (ni < 0) return -1;
    int nb = const_ints(n, 2, &blk);
    if (nb < 0) return -1;
    if (ni != nb || ni < 1 || ni > KIR_MAX_RANK - 2)
        return node_err(n, "image_shape and block_shape must have one length (1 to %d)",
                        KIR_MAX_RANK - 2);
    c->nsp = ni;
    if (read_spatial(n, "strides", ni, 1, 1, c->s) || read_spatial(n, "dilations", ni, 1, 1, c->d))
        return -1;
    int cnt = 0;
    const int64_t *p = attr_ints(n, "pads", &cnt);
    if (p && cnt != 2 * ni) return node_err(n, "pads has %d values, expected %d", cnt, 2 * ni);
    c->nblk = 1;
    c->L = 1;
    for (int i = 0; i < ni; i++) {
        if (img[i] < 1 || blk[i] < 1) return node_err(n, "empty image or block on axis %d", i);
        c->img[i] = img[i];
        c->blk[i] = blk[i];
        c->pb[i] = p ? p[i] : 0;
        int64_t pe = p ? p[i + ni] : 0;
        if (c->pb[i] < 0 || pe < 0) return node_err(n, "negative pads are not supported");
        int64_t num = img[i] + c->pb[i] + pe - (c->d[i] * (blk[i] - 1) + 1);
        if (num < 0) return node_err(n, "the block does not fit the padded image on axis %d", i);
        c->out[i] = num / c->s[i] + 1;
        c->nblk *= blk[i];
        c->L *= c->out[i];
    }
    c->N = x->dims[0];
    if (x->dims[1] % c->nblk)
        return node_err(n, "input dim 1 (%lld) is not a multiple of the block size %lld",
                        LL(x->dims[1]), LL(c->nblk));
    c->C = x->dims[1] / c->nblk;
    if (x->dims[2] != c->L)
        return node_err(n, "input dim 2 is %lld, the blocks fit %lld times", LL(x->dims[2]),
                        LL(c->L));
    return 0;
}

int nn_col2im_infer(Node *n)
{
    C2i c;
    if (c2i_params(n, &c)) return -1;
    int64_t d[KIR_MAX_RANK];
    d[0] = c.N;
    d[1] = c.C;
    for (int i = 0; i < c.nsp; i++) d[2 + i] = c.img[i];
    return set_out(n, 0, in_type(n, 0)->dt, c.nsp + 2, d);
}

/* The image starts at zero; every column element is added where its block tap lands
 * (sum over the overlapping blocks), taps in the padding dropped. Serial within a sample:
 * the blocks overlap. */
int nn_col2im_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    C2i c;
    if (c2i_params(n, &c)) return -1;
    DType t = in_type(n, 0)->dt;
    int X = lw_in(L, 0), Y = lw_out(L, 0);
    int64_t hw = 1;
    for (int i = 0; i < c.nsp; i++) hw *= c.img[i];
    if (c.N * c.C * hw == 0) return 0;
    int z = kfor_n(k, c.N * c.C * hw, KL_PARALLEL);
    kstore(k, Y, V(k, z), kc(k, t, 0));
    kend(k);
    if (c.L == 0) return 0;
    int nc = kfor_n(k, c.N * c.C, KL_PARALLEL);
    int kv[KIR_MAX_RANK], lv[KIR_MAX_RANK], iv[KIR_MAX_RANK];
    for (int i = 0; i < c.nsp; i++) kv[i] = kfor_n(k, c.blk[i], KL_SERIAL);
    for (int i = 0; i < c.nsp; i++) lv[i] = kfor_n(k, c.out[i], KL_SERIAL);
    KExpr *ok = NULL;
    for (int i = 0; i < c.nsp; i++) {
        KExpr *e = kaddi(k, kadd(k, kmuli(k, V(k, lv[i]), c.s[i]), kmuli(k, V(k, kv[i]), c.d[i])),
                         -c.pb[i]);
        iv[i] = kdecl(k, DT_IDX, e);
        KExpr *r = kbin(k, KB_AND, kbin(k, KB_GE, V(k, iv[i]), kc_idx(k, 0)),
                        kbin(k, KB_LT, V(k, iv[i]), kc_idx(k, c.img[i])));
        ok = ok ? kbin(k, KB_AND, ok, r) : r;
    }
    kif(k, ok);
    /* column element: ((n*C + ch) * nblk + block) * L + l */
    KExpr *b = kc_idx(k, 0), *l = kc_idx(k, 0), *y = V(k, nc);
    for (int i = 0; i < c.nsp; i++) {
        b = kadd(k, kmuli(k, b, c.blk[i]), V(k, kv[i]));
        l = kadd(k, kmuli(k, l, c.out[i]), V(k, lv[i]));
        y = kadd(k, kmuli(k, y, c.img[i]), V(k, iv[i]));
    }
    KExpr *xi = kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, nc), c.nblk), b), c.L), l);
    int yi = kdecl(k, DT_IDX, y);
    kstore(k, Y, V(k, yi), kadd_t(k, kload(k, Y, V(k, yi)), kload(k, X, xi)));
    kend(k);
    kend_n(k, 2 * c.nsp + 1);
    return 0;
}

/* ---- CausalConvWithState (opset 27) ---------------------------------------------------- */

/* input (N, C, L), weight (C, 1, K) depthwise, bias (C), past_state (N, C, K-1) */
static int ccs_params(Node *n, int64_t *N, int64_t *C, int64_t *L, int64_t *K)
{
    const Type *x = in_type(n, 0), *w = in_type(n, 1);
    if (!x || !w) return node_err(n, "needs input and weight");
    if (x->dt != DT_F32 && x->dt != DT_F64 && x->dt != DT_F16 && x->dt != DT_BF16)
        return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (x->rank != 3) return node_err(n, "input must be 3-D (N, C, L)");
    *N = x->dims[0], *C = x->dims[1], *L = x->dims[2];
    if (w->dt != x->dt || w->rank != 3 || w->dims[0] != *C || w->dims[1] != 1 || w->dims[2] < 1)
        return node_err(n, "weight must be (C, 1, K) of the input's type");
    *K = w->dims[2];
    const Type *b = n->nin > 2 ? in_type(n, 2) : NULL, *p = n->nin > 3 ? in_type(n, 3) : NULL;
    if (b && (b->dt != x->dt || type_numel(b) != *C)) return node_err(n, "bias must be (C)");
    if (p && (p->dt != x->dt || p->rank != 3 || p->dims[0] != *N || p->dims[1] != *C ||
              p->dims[2] != *K - 1))
        return node_err(n, "past_state must be (N, C, K - 1)");
    const char *act = attr_s(n, "activation", "none");
    if (strcmp(act, "none") && strcmp(act, "silu") && strcmp(act, "swish"))
        return node_err(n, "unsupported activation '%s'", act);
    return 0;
}

int nn_ccs_infer(Node *n)
{
    int64_t N, C, L, K;
    if (ccs_params(n, &N, &C, &L, &K)) return -1;
    DType t = in_type(n, 0)->dt;
    int64_t y[3] = { N, C, L }, st[3] = { N, C, K - 1 };
    if (set_out(n, 0, t, 3, y)) return -1;
    if (node_out(n, 1) && set_out(n, 1, t, 3, st)) return -1;
    return 0;
}

/* The sequence is past_state (zeros without one) followed by the input, K - 1 + L long:
 * y[t] = bias + sum_k w[k] x[t + k] over it (silu/swish: y * sigmoid(y), in float32), and
 * present_state is its last K - 1 values. */
int nn_ccs_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    int64_t N, C, Ln, K;
    if (ccs_params(n, &N, &C, &Ln, &K)) return -1;
    DType t = in_type(n, 0)->dt;
    const DType F = t == DT_F64 ? DT_F64 : DT_F32;
    int silu = strcmp(attr_s(n, "activation", "none"), "none") != 0;
    int X = lw_in(L, 0), W = lw_in(L, 1);
    int B = n->nin > 2 && node_in(n, 2) ? lw_in(L, 2) : -1;
    int P = n->nin > 3 && node_in(n, 3) ? lw_in(L, 3) : -1;
    int Y = lw_out(L, 0), S = node_out(n, 1) ? lw_out(L, 1) : -1;
    int64_t pl = K - 1;
    if (N * C == 0) return 0;
    int nc = kfor_n(k, N * C, KL_PARALLEL);
    int cv = kdecl(k, DT_IDX, kbin(k, KB_REM, V(k, nc), kc_idx(k, C)));
    if (Ln > 0) {
        int tv = kfor_n(k, Ln, KL_SERIAL);
        int acc = kdecl(k, F, B >= 0 ? kcast(k, F, kload(k, B, V(k, cv))) : kc(k, F, 0));
        int kk = kfor_n(k, K, KL_REDUCE);
        /* position in the sequence; below pl it is the past */
        int j = kdecl(k, DT_IDX, kadd(k, V(k, tv), V(k, kk)));
        KExpr *wv = kcast(k, F, kload(k, W, kadd(k, kmuli(k, V(k, cv), K), V(k, kk))));
        int wvar = kdecl(k, F, wv);
        kif(k, kbin(k, KB_GE, V(k, j), kc_idx(k, pl)));
        kaccum(k, acc, kmul_t(k, V(k, wvar), kcast(k, F, kload(k, X, kaddi(k, kadd(k,
                   kmuli(k, V(k, nc), Ln), V(k, j)), -pl)))));
        if (P >= 0) {
            kelse(k);
            kaccum(k, acc, kmul_t(k, V(k, wvar), kcast(k, F, kload(k, P, kadd(k,
                       kmuli(k, V(k, nc), pl), V(k, j))))));
        }
        kend(k);
        kend(k);
        KExpr *y = V(k, acc);
        if (silu)
            y = kbin(k, KB_DIV, V(k, acc), kadd_t(k, kc(k, F, 1),
                                                  kun(k, KU_EXP, kun(k, KU_NEG, V(k, acc)))));
        kstore(k, Y, kadd(k, kmuli(k, V(k, nc), Ln), V(k, tv)), kcast(k, t, y));
        kend(k);
    }
    if (S >= 0 && pl > 0) {
        /* present_state[i] = sequence[Ln + i] */
        int iv = kfor_n(k, pl, KL_SERIAL);
        int j = kdecl(k, DT_IDX, kaddi(k, V(k, iv), Ln));
        KExpr *si = kadd(k, kmuli(k, V(k, nc), pl), V(k, iv));
        int sv = kdecl(k, DT_IDX, si);
        kif(k, kbin(k, KB_GE, V(k, j), kc_idx(k, pl)));
        kstore(k, S, V(k, sv),
               kload(k, X, kaddi(k, kadd(k, kmuli(k, V(k, nc), Ln), V(k, j)), -pl)));
        kelse(k);
        kstore(k, S, V(k, sv), P >= 0 ? kload(k, P, kadd(k, kmuli(k, V(k, nc), pl), V(k, j)))
                                      : kc(k, t, 0));
        kend(k);
        kend(k);
    }
    kend(k);
    return 0;
}

/* ---- RotaryEmbedding (opset 23) ------------------------------------------------------ */

typedef struct Rope {
    int three_d;                 /* X is (B, S, H*D) rather than (B, H, S, D) */
    int64_t B, H, S, D, rot;     /* batch, heads, sequence, head size, rotated channels */
    int pos;                     /* position_ids given: caches are (max_pos, rot/2) */
} Rope;

static int rope_params(Node *n, Rope *r)
{
    const Type *x = in_type(n, 0);
    if (!x) return node_err(n, "needs input X");
    if (!dt_is_float(x->dt)) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    int64_t nh = attr_i(n, "num_heads", 0);
    if (x->rank == 4) {
        r->three_d = 0;
        r->B = x->dims[0], r->H = x->dims[1], r->S = x->dims[2], r->D = x->dims[3];
    } else if (x->rank == 3) {
        if (nh < 1 || x->dims[2] % nh)
            return node_err(n, "a 3-D input needs num_heads dividing its hidden size");
        r->three_d = 1;
        r->B = x->dims[0], r->S = x->dims[1], r->H = nh, r->D = x->dims[2] / nh;
    } else {
        return node_err(n, "X must be 3-D (B, S, hidden) or 4-D (B, H, S, D)");
    }
    r->rot = attr_i(n, "rotary_embedding_dim", 0);
    if (r->rot == 0) r->rot = r->D;
    if (r->rot < 0 || r->rot > r->D || r->rot % 2)
        return node_err(n, "rotary_embedding_dim %lld must be even and at most %lld",
                        LL(r->rot), LL(r->D));
    r->pos = n->nin > 3 && node_in(n, 3) != NULL;
    for (int i = 1; i <= 2; i++) {
        const Type *c = in_type(n, i);
        if (!c) return node_err(n, "needs input %s", i == 1 ? "cos_cache" : "sin_cache");
        if (c->dt != x->dt) return node_err(n, "the caches must have X's type");
        int ok = r->pos ? c->rank == 2 && c->dims[1] == r->rot / 2
                        : c->rank == 3 && c->dims[0] == r->B && c->dims[1] == r->S &&
                              c->dims[2] == r->rot / 2;
        if (!ok)
            return node_err(n, "%s must be %s", i == 1 ? "cos_cache" : "sin_cache",
                            r->pos ? "(max_position, rotary_dim / 2)"
                                   : "(batch, sequence, rotary_dim / 2)");
    }
    if (r->pos) {
        const Type *p = in_type(n, 3);
        if (!dt_is_int(p->dt) || p->rank != 2 || p->dims[0] != r->B || p->dims[1] != r->S)
            return node_err(n, "position_ids must be integers of shape (batch, sequence)");
    }
    return 0;
}

int nn_rope_infer(Node *n)
{
    Rope r;
    if (rope_params(n, &r)) return -1;
    return set_out_type(n, 0, in_type(n, 0));
}

/* Each pair (x1, x2) of the first rot channels, halves [j, j + rot/2] or neighbours
 * [2j, 2j + 1] (interleaved), turns by the cached angle of its position:
 * (x1 cos - x2 sin, x1 sin + x2 cos); the other channels are copied. */
int nn_rope_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Rope r;
    if (rope_params(n, &r)) return -1;
    DType t = in_type(n, 0)->dt;
    int inter = attr_i(n, "interleaved", 0) != 0;
    int64_t half = r.rot / 2;
    int X = lw_in(L, 0), Y = lw_out(L, 0), CC = lw_in(L, 1), SC = lw_in(L, 2);
    int P = r.pos ? lw_in(L, 3) : -1;
    if (r.B * r.H * r.S * r.D == 0) return 0;
    int bv = kfor_n(k, r.B, KL_PARALLEL);
    int hv = kfor_n(k, r.H, KL_SERIAL);
    int sv = kfor_n(k, r.S, KL_SERIAL);
    /* element 0 of this (b, h, s) row of D channels */
    KExpr *rowe = r.three_d
        ? kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, bv), r.S), V(k, sv)), r.H * r.D),
               kmuli(k, V(k, hv), r.D))
        : kmuli(k, kadd(k, kmuli(k, kadd(k, kmuli(k, V(k, bv), r.H), V(k, hv)), r.S), V(k, sv)),
                r.D);
    int row = kdecl(k, DT_IDX, rowe);
    KExpr *bs = kadd(k, kmuli(k, V(k, bv), r.S), V(k, sv));
    int cbase = kdecl(k, DT_IDX, r.pos ? kmuli(k, kcast(k, DT_IDX, kload(k, P, bs)), half)
                                       : kmuli(k, bs, half));
    int jv = kfor_n(k, half, KL_SERIAL);
    int i1 = kdecl(k, DT_IDX, inter ? kmuli(k, V(k, jv), 2) : V(k, jv));
    int i2 = kdecl(k, DT_IDX, inter ? kaddi(k, kmuli(k, V(k, jv), 2), 1)
                                    : kaddi(k, V(k, jv), half));
    int c = kdecl(k, t, kload(k, CC, kadd(k, V(k, cbase), V(k, jv))));
    int sn = kdecl(k, t, kload(k, SC, kadd(k, V(k, cbase), V(k, jv))));
    int x1 = kdecl(k, t, kload(k, X, kadd(k, V(k, row), V(k, i1))));
    int x2 = kdecl(k, t, kload(k, X, kadd(k, V(k, row), V(k, i2))));
    kstore(k, Y, kadd(k, V(k, row), V(k, i1)),
           kbin(k, KB_SUB, kmul_t(k, V(k, x1), V(k, c)), kmul_t(k, V(k, x2), V(k, sn))));
    kstore(k, Y, kadd(k, V(k, row), V(k, i2)),
           kadd_t(k, kmul_t(k, V(k, x1), V(k, sn)), kmul_t(k, V(k, x2), V(k, c))));
    kend(k);
    if (r.rot < r.D) {
        int iv = kfor(k, kc_idx(k, r.rot), kc_idx(k, r.D), KL_SERIAL);
        kstore(k, Y, kadd(k, V(k, row), V(k, iv)), kload(k, X, kadd(k, V(k, row), V(k, iv))));
        kend(k);
    }
    kend_n(k, 3);
    return 0;
}

/* ---- RNN, GRU, LSTM ------------------------------------------------------------------- */

/* Gate counts: RNN has one gate, GRU three (z, r, h), LSTM four (i, o, f, c). */
static int rnn_gates(const Node *n) { return n->op == OP_RNN ? 1 : n->op == OP_GRU ? 3 : 4; }
/* Activations per direction: RNN f; GRU f, g; LSTM f, g, h. */
static int rnn_nact(const Node *n) { return n->op == OP_RNN ? 1 : n->op == OP_GRU ? 2 : 3; }

typedef struct Rnn {
    int dirs, layout, G, nact;
    int64_t seq, batch, I, H;
    const char *dir;
    const char *act[6];
    double alpha[6], beta[6];
} Rnn;

static const char *const rnn_act_names[] = {
    "Sigmoid", "Tanh", "Relu", "LeakyRelu", "HardSigmoid", "Elu", "Softsign", "Softplus",
    "Affine", "ScaledTanh", "ThresholdedRelu", NULL
};

/* Default alpha/beta of the activations that take them; a = 1 means "takes alpha". */
static void rnn_act_defaults(const char *f, int *na, double *a, double *b)
{
    *na = 0;
    *a = 0;
    *b = 0;
    if (!strcmp(f, "LeakyRelu")) { *na = 1; *a = 0.01; }
    else if (!strcmp(f, "HardSigmoid")) { *na = 2; *a = 0.2; *b = 0.5; }
    else if (!strcmp(f, "Elu")) { *na = 1; *a = 1.0; }
    else if (!strcmp(f, "ThresholdedRelu")) { *na = 1; *a = 1.0; }
    else if (!strcmp(f, "Affine")) { *na = 2; *a = 1.0; *b = 0.0; }
    else if (!strcmp(f, "ScaledTanh")) { *na = 2; *a = 1.0; *b = 1.0; }
}

static int rnn_setup(Node *n, Rnn *r)
{
    memset(r, 0, sizeof *r);
    const Type *x = in_type(n, 0), *w = in_type(n, 1), *rt = in_type(n, 2);
    if (!x || !w || !rt) return node_err(n, "needs inputs X, W and R");
    if (!dt_is_real(x->dt)) return node_err(n, "unsupported element type %s", dt_name(x->dt));
    if (w->dt != x->dt || rt->dt != x->dt) return node_err(n, "X, W and R must share one type");
    if (x->rank != 3 || w->rank != 3 || rt->rank != 3)
        return node_err(n, "X, W and R must have rank 3");
    r->G = rnn_gates(n);
    r->nact = rnn_nact(n);
    r->layout = (int)attr_i(n, "layout", 0);
    if (r->layout != 0 && r->layout != 1) return node_err(n, "layout = %d", r->layout);
    r->dir = attr_s(n, "direction", "forward");
    if (!strcmp(r->dir, "forward") || !strcmp(r->dir, "reverse")) r->dirs = 1;
    else if (!strcmp(r->dir, "bidirectional")) r->dirs = 2;
    else return node_err(n, "unknown direction '%s'", r->dir);
    r->seq = r->layout ? x->dims[1] : x->dims[0];
    r->batch = r->layout ? x->dims[0] : x->dims[1];
    r->I = x->dims[2];
    r->H = attr_i(n, "hidden_size", rt->dims[2]);
    int64_t GH = r->G * r->H;
    if (r->H < 1) return node_err(n, "hidden_size = %lld", LL(r->H));
    if (w->dims[0] != r->dirs || w->dims[1] != GH || w->dims[2] != r->I)
        return node_err(n, "W is %s, expected [%d,%lld,%lld]", type_str(n->g->pool, w), r->dirs,
                        LL(GH), LL(r->I));
    if (rt->dims[0] != r->dirs || rt->dims[1] != GH || rt->dims[2] != r->H)
        return node_err(n, "R is %s, expected [%d,%lld,%lld]", type_str(n->g->pool, rt), r->dirs,
                        LL(GH), LL(r->H));
    const Type *b = in_type(n, 3), *sl = in_type(n, 4), *h0 = in_type(n, 5);
    if (b && (b->dt != x->dt || b->rank != 2 || b->dims[0] != r->dirs || b->dims[1] != 2 * GH))
        return node_err(n, "B must be %s[%d,%lld]", dt_name(x->dt), r->dirs, LL(2 * GH));
    if (sl && (sl->dt != DT_I32 || sl->rank != 1 || sl->dims[0] != r->batch))
        return node_err(n, "sequence_lens must be int32[%lld]", LL(r->batch));
    int64_t hd[3] = {r->dirs, r->batch, r->H};
    if (r->layout) { hd[0] = r->batch; hd[1] = r->dirs; }
    for (int i = 5; i <= 6; i++) {
        const Type *t = i == 5 ? h0 : (n->op == OP_LSTM ? in_type(n, 6) : NULL);
        if (t && (t->dt != x->dt || t->rank != 3 || memcmp(t->dims, hd, sizeof hd)))
            return node_err(n, "initial state %d must be %s[%lld,%lld,%lld]", i, dt_name(x->dt),
                            LL(hd[0]), LL(hd[1]), LL(hd[2]));
    }
    if (n->op == OP_LSTM) {
        const Type *p = in_type(n, 7);
        if (p && (p->dt != x->dt || p->rank != 2 || p->dims[0] != r->dirs || p->dims[1] != 3 * r->H))
            return node_err(n, "P must be %s[%d,%lld]", dt_name(x->dt), r->dirs, LL(3 * r->H));
        if (attr_i(n, "input_forget", 0)) return node_err(n, "input_forget=1 is not supported");
    }
    if (n->op != OP_GRU && attr_get(n, "linear_before_reset"))
        return node_err(n, "unexpected attribute linear_before_reset");
    /* activations: defaults, or a list of nact (or 2*nact for bidirectional) names */
    static const char *const defs[3] = {"Sigmoid", "Tanh", "Tanh"};
    for (int d = 0; d < r->dirs; d++)
        for (int i = 0; i < r->nact; i++)
            r->act[d * r->nact + i] = n->op == OP_RNN ? "Tanh" : defs[i];
    const Attr *acts = attr_get(n, "activations");
    if (acts) {
        if (acts->kind != A_STRINGS || acts->n != r->nact * r->dirs)
            return node_err(n, "activations must list %d names", r->nact * r->dirs);
        for (int i = 0; i < acts->n; i++) {
            int ok = 0;
            for (int j = 0; rnn_act_names[j]; j++) ok |= !strcmp(acts->strings[i], rnn_act_names[j]);
            if (!ok) return node_err(n, "unsupported activation '%s'", acts->strings[i]);
            r->act[i] = acts->strings[i];
        }
    }
    int na = 0, nb = 0, ia = 0, ib = 0;
    const float *al = attr_floats(n, "activation_alpha", &na);
    const float *be = attr_floats(n, "activation_beta", &nb);
    /* the lists are consumed in activation order by the functions that take them */
    for (int i = 0; i < r->nact * r->dirs; i++) {
        int takes;
        rnn_act_defaults(r->act[i], &takes, &r->alpha[i], &r->beta[i]);
        if (takes >= 1 && al && ia < na) r->alpha[i] = al[ia++];
        if (takes >= 2 && be && ib < nb) r->beta[i] = be[ib++];
    }
    return 0;
}

int nn_rnn_infer(Node *n)
{
    Rnn r;
    if (rnn_setup(n, &r)) return -1;
    DType dt = in_type(n, 0)->dt;
    int64_t yd[4] = {r.seq, r.dirs, r.batch, r.H}, hd[3] = {r.dirs, r.batch, r.H};
    if (r.layout) {
        yd[0] = r.batch; yd[1] = r.seq; yd[2] = r.dirs;
        hd[0] = r.batch; hd[1] = r.dirs;
    }
    if (node_out(n, 0) && set_out(n, 0, dt, 4, yd)) return -1;
    if (node_out(n, 1) && set_out(n, 1, dt, 3, hd)) return -1;
    if (n->op == OP_LSTM && node_out(n, 2) && set_out(n, 2, dt, 3, hd)) return -1;
    for (int i = n->op == OP_LSTM ? 3 : 2; i < n->nout; i++)
        if (node_out(n, i)) return node_err(n, "has no output %d", i);
    return 0;
}

/* f(x) for activation `name`; x is a variable (some functions read it twice). */
static KExpr *rnn_act(KB *k, DType dt, const char *f, double a, double b, int x)
{
    KExpr *one = kc(k, dt, 1.0), *zero = kc(k, dt, 0.0);
    if (!strcmp(f, "Sigmoid"))
        return kbin(k, KB_DIV, one, kadd_t(k, kc(k, dt, 1.0), kun(k, KU_EXP, kun(k, KU_NEG, V(k, x)))));
    if (!strcmp(f, "Tanh")) return kun(k, KU_TANH, V(k, x));
    if (!strcmp(f, "Relu")) return kbin(k, KB_MAX, V(k, x), zero);
    if (!strcmp(f, "LeakyRelu"))
        return ksel(k, kbin(k, KB_GE, V(k, x), zero), V(k, x), kmul_t(k, kc(k, dt, a), V(k, x)));
    if (!strcmp(f, "HardSigmoid")) {
        KExpr *e = kadd_t(k, kmul_t(k, kc(k, dt, a), V(k, x)), kc(k, dt, b));
        return kbin(k, KB_MIN, kbin(k, KB_MAX, e, zero), one);
    }
    if (!strcmp(f, "Elu"))
        return ksel(k, kbin(k, KB_GE, V(k, x), zero), V(k, x),
                    kmul_t(k, kc(k, dt, a), kbin(k, KB_SUB, kun(k, KU_EXP, V(k, x)), one)));
    if (!strcmp(f, "Softsign"))
        return kbin(k, KB_DIV, V(k, x), kadd_t(k, one, kun(k, KU_ABS, V(k, x))));
    if (!strcmp(f, "Softplus"))
        return kun(k, KU_LOG, kadd_t(k, one, kun(k, KU_EXP, V(k, x))));
    if (!strcmp(f, "Affine")) return kadd_t(k, kmul_t(k, kc(k, dt, a), V(k, x)), kc(k, dt, b));
    if (!strcmp(f, "ScaledTanh"))
        return kmul_t(k, kc(k, dt, a), kun(k, KU_TANH, kmul_t(k, kc(k, dt, b), V(k, x))));
    /* ThresholdedRelu */
    return ksel(k, kbin(k, KB_GT, V(k, x), kc(k, dt, a)), V(k, x), zero);
}

/* Declares the clipped pre-activation and returns f of it. */
static KExpr *rnn_gate(KB *k, DType dt, const Rnn *r, int ai, double clip, KExpr *pre)
{
    if (clip > 0) pre = kbin(k, KB_MIN, kbin(k, KB_MAX, pre, kc(k, dt, -clip)), kc(k, dt, clip));
    int x = kdecl(k, dt, pre);
    return rnn_act(k, dt, r->act[ai], r->alpha[ai], r->beta[ai], x);
}

/* One direction at a time; per time step and batch row: Gx = W x_t + Wb and Gh = R h + Rb
 * for every gate row, then the cell update of that row. Rows of a batch depend only on
 * their own state, so the state is updated in place once the gate sums are complete. */
int nn_rnn_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    Rnn r;
    if (rnn_setup(n, &r)) return -1;
    DType dt = in_type(n, 0)->dt;
    int64_t G = r.G, H = r.H, GH = G * H, I = r.I, S = r.seq, NB = r.batch;
    int lstm = n->op == OP_LSTM, gru = n->op == OP_GRU;
    int lbr = gru && attr_i(n, "linear_before_reset", 0) != 0;
    double clip = attr_get(n, "clip") ? attr_f(n, "clip", 0) : 0;
    /* With the SGEMM kernel (and no per-row lengths), the input projection of every time
     * step is one GEMM per direction before the recurrence, and each step's recurrent
     * product is a GEMV on the packed R; otherwise both are loop nests per step. W and R
     * are then bound only where the kernel reads them unpacked (or GRU's reset product). */
    int fast = dt == DT_F32 && !node_in(n, 4) && lw_has_kernel(L, "rt_sgemm_f32");
    int X = lw_in(L, 0), W = fast ? -1 : lw_in(L, 1), R = fast && !(gru && !lbr) ? -1 : lw_in(L, 2);
    int B = node_in(n, 3) ? lw_in(L, 3) : -1, SL = node_in(n, 4) ? lw_in(L, 4) : -1;
    int H0 = node_in(n, 5) ? lw_in(L, 5) : -1;
    int C0 = lstm && node_in(n, 6) ? lw_in(L, 6) : -1, P = lstm && node_in(n, 7) ? lw_in(L, 7) : -1;
    int Y = node_out(n, 0) ? lw_out(L, 0) : -1, YH = node_out(n, 1) ? lw_out(L, 1) : -1;
    int YC = lstm && node_out(n, 2) ? lw_out(L, 2) : -1;
    int Hs = lw_temp(L, dt, NB * H), Cs = lstm ? lw_temp(L, dt, NB * H) : -1;
    int Gx = lw_temp(L, dt, fast ? S * NB * GH : GH), Gh = lw_temp(L, dt, GH);
    int ZR = gru ? lw_temp(L, dt, 2 * H) : -1;
    int64_t NRh = (gru && !lbr) ? 2 * H : GH;   /* rows of R in the per-step product */
    const float *Wc = whole_const(n, 1), *Rc = whole_const(n, 2);

    if (Y >= 0 && SL >= 0) {
        /* steps past a batch row's length stay zero */
        int j = kfor_n(k, S * r.dirs * NB * H, KL_VECTOR);
        kstore(k, Y, V(k, j), kc(k, dt, 0));
        kend(k);
    }
    for (int d = 0; d < r.dirs; d++) {
        int rev = !strcmp(r.dir, "reverse") || d == 1;
        if (fast) {
            /* Gx[row of x_t] = x_t W^T + Wb, every step at once (rows in X's order) */
            GemmOp g = {
                .M = S * NB, .N = GH, .K = I, .A = X, .B = -1, .b_from = 2, .Y = Gx, .tb = 1,
                .lda = I, .ldb = I, .alpha = 1.0, .beta = 0.0,
                .boff = kc_idx(k, d * GH * I), .bconst = Wc ? Wc + d * GH * I : NULL,
                .bias = B, .bias_mode = 2, .res = -1,
            };
            if (B >= 0) g.bias_off = kc_idx(k, d * 2 * GH);
            gemm_call(k, L, NULL, &g);
        }
        /* state index (b, j) in [dirs,batch,H] or [batch,dirs,H] tensors */
        #define STATE_IDX(bv, jv) (r.layout ? kadd(k, kmuli(k, kaddi(k, kmuli(k, V(k, bv), r.dirs), d), H), V(k, jv)) \
                                            : kadd(k, kmuli(k, kaddi(k, V(k, bv), (int64_t)d * NB), H), V(k, jv)))
        int b = kfor_n(k, NB, KL_SERIAL);
        int j = kfor_n(k, H, KL_SERIAL);
        KExpr *hi = kadd(k, kmuli(k, V(k, b), H), V(k, j));
        kstore(k, Hs, hi, H0 >= 0 ? kload(k, H0, STATE_IDX(b, j)) : kc(k, dt, 0));
        if (lstm)
            kstore(k, Cs, kadd(k, kmuli(k, V(k, b), H), V(k, j)),
                   C0 >= 0 ? kload(k, C0, STATE_IDX(b, j)) : kc(k, dt, 0));
        kend_n(k, 2);

        int s = kfor_n(k, S, KL_SERIAL);
        b = kfor_n(k, NB, KL_SERIAL);
        int len = kdecl(k, DT_IDX, SL >= 0 ? kcast(k, DT_IDX, kload(k, SL, V(k, b))) : kc_idx(k, S));
        int nopen = 2;
        if (SL >= 0) {
            kif(k, kbin(k, KB_LT, V(k, s), V(k, len)));
            nopen++;
        }
        int t = kdecl(k, DT_IDX, rev ? kaddi(k, ksub(k, V(k, len), V(k, s)), -1) : V(k, s));
        int gxo = -1;   /* fast: row of x_t in Gx, times GH */
        if (fast) {
            KExpr *xrow = r.layout ? kadd(k, kmuli(k, V(k, b), S), V(k, t))
                                   : kadd(k, kmuli(k, V(k, t), NB), V(k, b));
            gxo = kdecl(k, DT_IDX, kmuli(k, xrow, GH));
            /* Gh = h R^T + Rb: a GEMV on the packed rows of R */
            GemmOp g = {
                .M = 1, .N = NRh, .K = H, .A = Hs, .B = -1, .b_from = 3, .Y = Gh, .tb = 1,
                .lda = H, .ldb = H, .alpha = 1.0, .beta = 0.0,
                .aoff = kmuli(k, V(k, b), H),
                .boff = kc_idx(k, d * GH * H), .bconst = Rc ? Rc + d * GH * H : NULL,
                .bias = B, .bias_mode = 2, .res = -1,
            };
            if (B >= 0) g.bias_off = kc_idx(k, d * 2 * GH + GH);
            gemm_call(k, L, NULL, &g);
        } else {
            /* Gx = W x_t + Wb */
            j = kfor_n(k, GH, KL_SERIAL);
            int acc = kdecl(k, dt, B >= 0 ? kload(k, B, kaddi(k, V(k, j), (int64_t)d * 2 * GH)) : kc(k, dt, 0));
            int i = kfor_n(k, I, KL_REDUCE);
            KExpr *xr = r.layout ? kmuli(k, V(k, b), S) : kmuli(k, V(k, t), NB);
            xr = r.layout ? kadd(k, xr, V(k, t)) : kadd(k, xr, V(k, b));
            KExpr *xi = kadd(k, kmuli(k, xr, I), V(k, i));
            KExpr *wi = kadd(k, kmuli(k, kaddi(k, V(k, j), (int64_t)d * GH), I), V(k, i));
            kaccum(k, acc, kmul_t(k, kload(k, X, xi), kload(k, W, wi)));
            kend(k);
            kstore(k, Gx, V(k, j), V(k, acc));
            kend(k);
            /* Gh = R h + Rb (GRU without linear_before_reset: the h gate comes later) */
            j = kfor_n(k, NRh, KL_SERIAL);
            acc = kdecl(k, dt, B >= 0 ? kload(k, B, kaddi(k, V(k, j), (int64_t)d * 2 * GH + GH)) : kc(k, dt, 0));
            i = kfor_n(k, H, KL_REDUCE);
            kaccum(k, acc, kmul_t(k, kload(k, Hs, kadd(k, kmuli(k, V(k, b), H), V(k, i))),
                                  kload(k, R, kadd(k, kmuli(k, kaddi(k, V(k, j), (int64_t)d * GH), H), V(k, i)))));
            kend(k);
            kstore(k, Gh, V(k, j), V(k, acc));
            kend(k);
        }
        int na = r.nact * d;
        #define GXI(off) (gxo >= 0 ? kadd(k, V(k, gxo), kaddi(k, V(k, j), off)) : kaddi(k, V(k, j), off))
        #define GSUM(off) kadd_t(k, kload(k, Gx, GXI(off)), kload(k, Gh, kaddi(k, V(k, j), off)))
        #define HS_IDX() kadd(k, kmuli(k, V(k, b), H), V(k, j))
        if (n->op == OP_RNN) {
            j = kfor_n(k, H, KL_SERIAL);
            kstore(k, Hs, HS_IDX(), rnn_gate(k, dt, &r, na, clip, GSUM(0)));
            kend(k);
        } else if (gru) {
            j = kfor_n(k, 2 * H, KL_SERIAL);
            kstore(k, ZR, V(k, j), rnn_gate(k, dt, &r, na, clip, GSUM(0)));
            kend(k);
            if (!lbr) {
                /* Gh_h = R_h (r . h) + Rb_h */
                j = kfor_n(k, H, KL_SERIAL);
                int acc = kdecl(k, dt, B >= 0 ? kload(k, B, kaddi(k, V(k, j), (int64_t)d * 2 * GH + GH + 2 * H))
                                              : kc(k, dt, 0));
                int i = kfor_n(k, H, KL_REDUCE);
                KExpr *rh = kmul_t(k, kload(k, ZR, kaddi(k, V(k, i), H)),
                                   kload(k, Hs, kadd(k, kmuli(k, V(k, b), H), V(k, i))));
                kaccum(k, acc, kmul_t(k, rh, kload(k, R, kadd(k, kmuli(k, kaddi(k, V(k, j), (int64_t)d * GH + 2 * H), H), V(k, i)))));
                kend(k);
                kstore(k, Gh, kaddi(k, V(k, j), 2 * H), V(k, acc));
                kend(k);
            }
            j = kfor_n(k, H, KL_SERIAL);
            KExpr *hh = lbr ? kmul_t(k, kload(k, ZR, kaddi(k, V(k, j), H)), kload(k, Gh, kaddi(k, V(k, j), 2 * H)))
                            : kload(k, Gh, kaddi(k, V(k, j), 2 * H));
            int ht = kdecl(k, dt, rnn_gate(k, dt, &r, na + 1, clip, kadd_t(k, kload(k, Gx, GXI(2 * H)), hh)));
            int z = kdecl(k, dt, kload(k, ZR, V(k, j)));
            KExpr *hn = kadd_t(k, kmul_t(k, kbin(k, KB_SUB, kc(k, dt, 1.0), V(k, z)), V(k, ht)),
                               kmul_t(k, V(k, z), kload(k, Hs, HS_IDX())));
            kstore(k, Hs, HS_IDX(), hn);
            kend(k);
        } else if (fast && P < 0 && clip <= 0 && !strcmp(r.act[na], "Sigmoid") &&
                   !strcmp(r.act[na + 1], "Tanh") && !strcmp(r.act[na + 2], "Tanh") &&
                   lw_has_kernel(L, "rt_vmath_f32")) {
            /* The default LSTM on vector math: the pre-activations Gx + Gh in place in Gh,
             * sigmoid over the i, o, f rows and tanh over c in two kernel calls, then the
             * cell and hidden updates as plain vector loops (tanh(c) reuses the c rows). */
            j = kfor_n(k, GH, KL_VECTOR);
            kstore(k, Gh, V(k, j), GSUM(0));
            kend(k);
            KArg sg[4] = { karg_int(3 * H), karg_buf(Gh, NULL), karg_buf(Gh, NULL),
                           karg_int(RT_MATH_SIGMOID) };
            kcall(k, "rt_vmath_f32", sg, 4);
            KArg tg[4] = { karg_int(H), karg_buf(Gh, kc_idx(k, 3 * H)),
                           karg_buf(Gh, kc_idx(k, 3 * H)), karg_int(RT_MATH_TANH) };
            kcall(k, "rt_vmath_f32", tg, 4);
            j = kfor_n(k, H, KL_VECTOR);
            KExpr *fc = kmul_t(k, kload(k, Gh, kaddi(k, V(k, j), 2 * H)), kload(k, Cs, HS_IDX()));
            KExpr *ic = kmul_t(k, kload(k, Gh, V(k, j)), kload(k, Gh, kaddi(k, V(k, j), 3 * H)));
            kstore(k, Cs, HS_IDX(), kadd_t(k, fc, ic));
            kend(k);
            KArg hc[4] = { karg_int(H), karg_buf(Cs, kmuli(k, V(k, b), H)),
                           karg_buf(Gh, kc_idx(k, 3 * H)), karg_int(RT_MATH_TANH) };
            kcall(k, "rt_vmath_f32", hc, 4);
            j = kfor_n(k, H, KL_VECTOR);
            kstore(k, Hs, HS_IDX(), kmul_t(k, kload(k, Gh, kaddi(k, V(k, j), H)),
                                           kload(k, Gh, kaddi(k, V(k, j), 3 * H))));
            kend(k);
        } else {
            /* LSTM gate rows: i, o, f, c; peepholes P: i, o, f */
            j = kfor_n(k, H, KL_SERIAL);
            int cp = kdecl(k, dt, kload(k, Cs, HS_IDX()));
            KExpr *pi = GSUM(0), *pf = GSUM(2 * H);
            if (P >= 0) {
                pi = kadd_t(k, pi, kmul_t(k, kload(k, P, kaddi(k, V(k, j), (int64_t)d * 3 * H)), V(k, cp)));
                pf = kadd_t(k, pf, kmul_t(k, kload(k, P, kaddi(k, V(k, j), (int64_t)d * 3 * H + 2 * H)), V(k, cp)));
            }
            int ig = kdecl(k, dt, rnn_gate(k, dt, &r, na, clip, pi));
            int fg = kdecl(k, dt, rnn_gate(k, dt, &r, na, clip, pf));
            int cg = kdecl(k, dt, rnn_gate(k, dt, &r, na + 1, clip, GSUM(3 * H)));
            int cn = kdecl(k, dt, kadd_t(k, kmul_t(k, V(k, fg), V(k, cp)), kmul_t(k, V(k, ig), V(k, cg))));
            KExpr *po = GSUM(H);
            if (P >= 0)
                po = kadd_t(k, po, kmul_t(k, kload(k, P, kaddi(k, V(k, j), (int64_t)d * 3 * H + H)), V(k, cn)));
            int og = kdecl(k, dt, rnn_gate(k, dt, &r, na, clip, po));
            int hc = kdecl(k, dt, V(k, cn));
            KExpr *hv = rnn_act(k, dt, r.act[na + 2], r.alpha[na + 2], r.beta[na + 2], hc);
            kstore(k, Hs, HS_IDX(), kmul_t(k, V(k, og), hv));
            kstore(k, Cs, HS_IDX(), V(k, cn));
            kend(k);
        }
        if (Y >= 0) {
            j = kfor_n(k, H, KL_VECTOR);
            KExpr *yi = r.layout
                ? kadd(k, kmuli(k, kaddi(k, kmuli(k, kadd(k, kmuli(k, V(k, b), S), V(k, t)), r.dirs), d), H), V(k, j))
                : kadd(k, kmuli(k, kadd(k, kmuli(k, kaddi(k, kmuli(k, V(k, t), r.dirs), d), NB), V(k, b)), H), V(k, j));
            kstore(k, Y, yi, kload(k, Hs, HS_IDX()));
            kend(k);
        }
        kend_n(k, nopen);
        if (YH >= 0 || YC >= 0) {
            b = kfor_n(k, NB, KL_SERIAL);
            j = kfor_n(k, H, KL_SERIAL);
            if (YH >= 0) kstore(k, YH, STATE_IDX(b, j), kload(k, Hs, HS_IDX()));
            if (YC >= 0) kstore(k, YC, STATE_IDX(b, j), kload(k, Cs, HS_IDX()));
            kend_n(k, 2);
        }
        #undef GSUM
        #undef GXI
        #undef HS_IDX
        #undef STATE_IDX
    }
    return 0;
}
