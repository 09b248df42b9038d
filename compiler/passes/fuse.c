/* fuse.c — epilogue fusion: a float32 Conv, Gemm or MatMul absorbs what follows it into
 * Node.epi, which its runtime kernel applies as it writes the output,
 *
 *   y = act(op + bias + residual)
 *
 * - residual: an Add of a tensor with exactly the output's type (appended input);
 * - bias (MatMul only): an Add of a constant [N] or [1,..,1,N] (appended input);
 * - then one activation: Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, the
 *   Gelu op, SiLU written as x * Sigmoid(x), and Gelu written with Erf the way exporters
 *   do (x * 0.5 * (1 + Erf(x / sqrt 2)) in its orders and forms).
 *
 * Only where the target has the op's kernel (rt_conv2d_f32 for 1-D/2-D Conv, rt_sgemm_f32
 * for Gemm/MatMul) and only when every absorbed intermediate has no other use, is not a
 * graph output and is not read inside a nested graph. The op takes over the last absorbed
 * node's output value; a residual produced later in the model is ordered before the fused
 * node by ir_finish (the residual cannot depend on the op: the op's only use is the Add). */
#include <float.h>
#include <math.h>
#include <string.h>
#include "passes.h"
#include "../../runtime/onnxcc_rt.h"

static int near(double a, double b) { return fabs(a - b) <= 1e-6 * (fabs(b) > 1 ? fabs(b) : 1); }

/* A constant with one element near want. */
static int scalar_near(const Value *v, double want)
{
    double x;
    return pass_scalar(v, &x) && near(x, want);
}

/* The other operand of a binary node reading x once; NULL otherwise. */
static Value *other_in(const Node *n, const Value *x)
{
    if (n->nin != 2 || !n->in[0] || !n->in[1]) return NULL;
    if (n->in[0] == x && n->in[1] != x) return n->in[1];
    if (n->in[1] == x && n->in[0] != x) return n->in[0];
    return NULL;
}

/* The only user of v when v may be absorbed; NULL otherwise. */
static Node *sole_user(const PassCtx *c, const Value *v)
{
    Node *u[1];
    return pass_removable(c, v, 1, u) ? u[0] : NULL;
}

/* Output 0 of n when it is a plain float32 result shaped like the op's output. */
static Value *same_out(const Node *n, const Type *t)
{
    Value *o = node_out(n, 0);
    if (!o || o->data || !o->has_type || !type_equal(&o->type, t)) return NULL;
    for (int i = 1; i < n->nout; i++)
        if (n->out[i]) return NULL;
    return o;
}

typedef struct Match {
    Node *nodes[8];
    int n;
    Value *out;
    const char *what;
} Match;

static void take(Match *m, Node *n) { m->nodes[m->n++] = n; }

/* Gelu as exporters write it, x read by the two nodes u0 and u1:
 *   e = Add(Erf(Div(x, sqrt2) | Mul(x, 1/sqrt2)), 1)
 *   y = Mul(Mul(x, e), 0.5) | Div(Mul(x, e), 2) | Mul(Mul(x, 0.5), e) | Mul(x, Mul(e, 0.5)) */
static int match_gelu(const PassCtx *c, Value *x, Node *E, Node *P, const Type *t, Match *m)
{
    Value *k;
    if (E->op == OP_Div && E->nin == 2 && E->in[0] == x && E->in[1] != x) {
        if (!scalar_near(E->in[1], sqrt(2.0))) return 0;
    } else if (E->op == OP_Mul && (k = other_in(E, x))) {
        if (!scalar_near(k, sqrt(0.5))) return 0;
    } else {
        return 0;
    }
    Value *e1 = same_out(E, t);
    Node *erf = e1 ? sole_user(c, e1) : NULL;
    if (!erf || erf->op != OP_Erf || erf->nin != 1) return 0;
    Value *e2 = same_out(erf, t);
    Node *one = e2 ? sole_user(c, e2) : NULL;
    if (!one || one->op != OP_Add || !(k = other_in(one, e2)) || !scalar_near(k, 1.0)) return 0;
    Value *e3 = same_out(one, t);
    if (!e3 || P->op != OP_Mul || !(k = other_in(P, x))) return 0;
    Value *p = same_out(P, t);
    if (!p) return 0;
    Node *F = NULL;
    if (k == e3) {                       /* Mul(x, e) then * 0.5 or / 2 */
        if (sole_user(c, e3) != P || !(F = sole_user(c, p))) return 0;
        Value *h = other_in(F, p);
        if (!(F->op == OP_Mul && h && scalar_near(h, 0.5)) &&
            !(F->op == OP_Div && F->nin == 2 && F->in[0] == p && scalar_near(F->in[1], 2.0)))
            return 0;
    } else if (scalar_near(k, 0.5)) {    /* Mul(x, 0.5) then * e */
        if (!(F = sole_user(c, p)) || F->op != OP_Mul || other_in(F, p) != e3 ||
            sole_user(c, e3) != F)
            return 0;
    } else {                             /* Mul(x, Mul(e, 0.5)) */
        Node *H = sole_user(c, e3);
        Value *h;
        if (!H || H->op != OP_Mul || !(h = other_in(H, e3)) || !scalar_near(h, 0.5) ||
            same_out(H, t) != k || sole_user(c, k) != P)
            return 0;
        take(m, H);
    }
    Value *y = F ? same_out(F, t) : p;
    if (!y) return 0;
    take(m, E);
    take(m, erf);
    take(m, one);
    take(m, P);
    if (F) take(m, F);
    m->out = y;
    m->what = "Gelu";
    return 1;
}

/* One activation reading x (x's type t): fills e and m. */
static int match_act(const PassCtx *c, Value *x, const Type *t, Epilogue *e, Match *m)
{
    Node *u[2];
    if (pass_removable(c, x, 1, u)) {
        Node *a = u[0];
        Value *y = same_out(a, t);
        if (!y || a->in[0] != x) return 0;
        e->act_a = e->act_b = 0.0f;
        switch (a->op) {
        case OP_Relu: e->act = RT_ACT_RELU; break;
        case OP_LeakyRelu:
            e->act = RT_ACT_LEAKY_RELU;
            e->act_a = attr_f(a, "alpha", 0.01f);
            break;
        case OP_HardSigmoid:
            e->act = RT_ACT_HARD_SIGMOID;
            e->act_a = attr_f(a, "alpha", 0.2f);
            e->act_b = attr_f(a, "beta", 0.5f);
            break;
        case OP_HardSwish: e->act = RT_ACT_HARD_SWISH; break;
        case OP_Sigmoid: e->act = RT_ACT_SIGMOID; break;
        case OP_Tanh: e->act = RT_ACT_TANH; break;
        case OP_Clip: {
            double lo, hi;
            if (a->opset < 11) {
                lo = attr_f(a, "min", -FLT_MAX);
                hi = attr_f(a, "max", FLT_MAX);
            } else {
                Value *vl = node_in(a, 1), *vh = node_in(a, 2);
                if (a->nin > 3 || vl == x || vh == x) return 0;
                lo = -INFINITY;
                hi = INFINITY;
                if ((vl && !pass_scalar(vl, &lo)) || (vh && !pass_scalar(vh, &hi))) return 0;
            }
            if (!(lo <= hi)) return 0;   /* min > max: Clip gives max, the kernel min */
            e->act = RT_ACT_CLIP;
            e->act_a = (float)lo;
            e->act_b = (float)hi;
            break;
        }
        default:
            /* the Gelu operator itself, where the op table has it */
            if (a->op == OP_UNKNOWN || strcmp(a->op_type, "Gelu") || a->domain[0] ||
                strcmp(attr_s(a, "approximate", "none"), "none"))
                return 0;
            e->act = RT_ACT_GELU;
            break;
        }
        if (a->op != OP_Clip && a->nin != 1) return 0;
        take(m, a);
        m->out = y;
        m->what = a->op_type;
        return 1;
    }
    if (!pass_removable(c, x, 2, u) || u[0] == u[1]) return 0;
    for (int i = 0; i < 2; i++) {
        Node *s = u[i], *p = u[1 - i];
        /* SiLU: Mul(x, Sigmoid(x)) */
        if (s->op == OP_Sigmoid && s->nin == 1 && p->op == OP_Mul) {
            Value *sv = same_out(s, t), *y = same_out(p, t);
            if (sv && y && other_in(p, x) == sv && sole_user(c, sv) == p) {
                e->act = RT_ACT_SILU;
                take(m, s);
                take(m, p);
                m->out = y;
                m->what = "SiLU";
                return 1;
            }
        }
        Match g;
        memset(&g, 0, sizeof g);
        if (match_gelu(c, x, s, p, t, &g)) {
            e->act = RT_ACT_GELU;
            *m = g;
            return 1;
        }
    }
    return 0;
}

/* A constant bias for MatMul's epilogue: N floats shaped [N] or [1,..,1,N], rank <= r. */
static int bias_shape(const Value *b, int64_t N, int r)
{
    if (!b->data || !b->has_type || b->type.dt != DT_F32 || b->type.rank < 1 || b->type.rank > r)
        return 0;
    for (int i = 0; i + 1 < b->type.rank; i++)
        if (b->type.dims[i] != 1) return 0;
    return b->type.dims[b->type.rank - 1] == N;
}

static int try_fuse(PassCtx *c, Node *n)
{
    Graph *g = c->g;
    int conv = n->op == OP_Conv, mm = n->op == OP_MatMul, gemm = n->op == OP_Gemm;
    if (!(conv || mm || gemm) || n->epi || n->nout != 1) return 0;
    if (!target_has_kernel(c->t, conv ? "rt_conv2d_f32" : "rt_sgemm_f32")) return 0;
    Value *y = n->out[0], *a = node_in(n, 0), *b = node_in(n, 1);
    if (!y || y->data || !y->has_type || y->type.dt != DT_F32 || type_numel(&y->type) < 0)
        return 0;
    if (!a || !b || !a->has_type || a->type.dt != DT_F32) return 0;
    if (conv && (a->type.rank < 3 || a->type.rank > 4 || n->nin > 3)) return 0;
    if (mm && (a->type.rank < 2 || b->type.rank < 2 || n->nin != 2)) return 0;
    if (gemm && n->nin > 3) return 0;
    const Type *t = &y->type;
    int64_t N = t->dims[t->rank - 1];

    Epilogue e = { RT_ACT_NONE, 0.0f, 0.0f, -1, -1 };
    Value *bias = NULL, *res = NULL, *cur = y;
    Node *gone[10];
    int ngone = 0;
    const char *note = "";
    for (int step = 0; step < 2; step++) {
        Node *add = sole_user(c, cur);
        Value *o, *ao;
        if (!add || add->op != OP_Add || !(o = other_in(add, cur)) || !(ao = same_out(add, t)))
            break;
        if (!o->has_type) break;
        if (mm && !bias && bias_shape(o, N, t->rank)) bias = o;
        else if (!res && type_equal(&o->type, t)) res = o;
        else break;
        gone[ngone++] = add;
        note = pool_fmt(g->pool, "%s%sAdd", note, *note ? "+" : "");
        cur = ao;
    }
    Match m;
    memset(&m, 0, sizeof m);
    if (match_act(c, cur, t, &e, &m)) {
        for (int i = 0; i < m.n; i++) gone[ngone++] = m.nodes[i];
        note = pool_fmt(g->pool, "%s%s%s", note, *note ? "+" : "", m.what);
        cur = m.out;
    }
    if (!ngone) return 0;
    n->epi = pool_alloc(g->pool, sizeof *n->epi);
    *n->epi = e;
    if (bias) n->epi->bias_in = pass_append_input(g, n, bias, 2);
    if (res) n->epi->residual_in = pass_append_input(g, n, res, mm ? 2 : 3);
    n->out[0] = cur;
    for (int i = 0; i < ngone; i++) c->dead[gone[i]->id] = 1;
    pass_note(n, note);
    return 1;
}

int pass_fuse(PassCtx *c)
{
    int fused = 0;
    for (int i = 0; i < c->g->nnodes; i++) {
        Node *n = c->g->nodes[i];
        if (!c->dead[n->id]) fused += try_fuse(c, n);
    }
    return fused;
}
