/* strings.c — string tensors: which operators take them, Cast and CastLike to and from
 * string, StringNormalizer (opset 10), Equal on strings and StringConcat (opset 20).
 *
 * A string tensor has a fixed capacity per element so that it lives in the static arena
 * like any other tensor: compiler/lower.c lays a string Value of shape S out as a uint8
 * tensor of shape S x CAP (KTensor.str_cap = CAP), one NUL-terminated cell per element,
 * CAP = --max-string + 1 for the whole program. Copies, views and the memory plan then
 * work on bytes; the operations on the text are runtime kernels (runtime/rt_string.c),
 * so every back end with those kernels (C, the LLVM CPU objects) runs them and the ones
 * without (HLS, NVPTX) refuse with one line. Everything else refuses string inputs in
 * shape inference (shape.c asks op_takes_strings). */
#include <string.h>
#include "../onnxcc.h"
#include "../../runtime/onnxcc_rt.h"

int64_t graph_string_cap(const Graph *g)
{
    while (g && g->parent) g = g->parent;
    int64_t m = g && g->max_string > 0 ? g->max_string : ONNXCC_DEFAULT_MAX_STRING;
    return m + 1;
}

int op_takes_lowbit(const Node *n)
{
    switch (n->op) {
    case OP_Cast: case OP_CastLike: case OP_QuantizeLinear: case OP_DequantizeLinear:
    case OP_BitCast: case OP_Identity: case OP_Reshape: case OP_Flatten: case OP_Squeeze:
    case OP_Unsqueeze: case OP_Transpose: case OP_Concat: case OP_Split: case OP_Slice:
    case OP_Gather: case OP_Expand: case OP_Shape: case OP_Size:
        return 1;
    default:
        return 0;
    }
}

int op_takes_strings(const Node *n)
{
    return n->op == OP_Cast || n->op == OP_CastLike || n->op == OP_StringNormalizer ||
           n->op == OP_Equal || n->op == OP_StringConcat;
}

/* the element type Cast/CastLike converts to, or DT_UNDEF where the node does not say */
static DType cast_target(const Node *n)
{
    if (n->op == OP_CastLike) {
        const Value *like = node_in(n, 1);
        return like && like->has_type ? like->type.dt : DT_UNDEF;
    }
    const Attr *a = attr_get(n, "to");
    return a && a->kind == A_INT ? (DType)a->i : DT_UNDEF;
}

int str_cast_involved(const Node *n)
{
    const Value *x = node_in(n, 0);
    return (x && x->has_type && x->type.dt == DT_STRING) || cast_target(n) == DT_STRING;
}

int str_cast_infer(Node *n)
{
    int want = n->op == OP_CastLike ? 2 : 1;
    if (n->nin != want || n->nout != 1)
        return node_err(n, "expects %d input(s) and 1 output, got %d and %d", want, n->nin,
                        n->nout);
    const Value *x = node_in(n, 0);
    if (!x || !x->has_type) return node_err(n, "input 0 has no known type");
    DType from = x->type.dt, to = cast_target(n);
    if (from == DT_STRING && to != DT_STRING && to != DT_F32)
        return node_err(n, "cast from string to %s is unsupported (to float32 only)",
                        dt_name(to));
    if (to == DT_STRING && from != DT_STRING && from != DT_F32)
        return node_err(n, "cast from %s to string is unsupported (from float32 only)",
                        dt_name(from));
    if (to == DT_STRING && from == DT_F32 && graph_string_cap(n->g) < RT_STR_F32_MAX)
        return node_err(n, "cast from float32 to string writes up to %d bytes: give "
                        "--max-string %d or more", RT_STR_F32_MAX - 1, RT_STR_F32_MAX - 1);
    return set_out(n, 0, to, x->type.rank, x->type.dims);
}

/* the cell size of a string buffer of the current function, or -1 with an error: a
 * string outside the program's tensors (a subgraph's scratch) has no layout yet */
static int64_t buf_cap(const Node *n, Lower *L, int buf)
{
    const KBuf *b = &L->k->f->bufs[buf];
    if (b->tensor < 0 || !L->prog->tensors[b->tensor].str_cap)
        return node_err(n, "string tensors inside a subgraph are not supported");
    return L->prog->tensors[b->tensor].str_cap;
}

/* the target runs string kernels, or one line naming it */
static int need_kernel(const Node *n, Lower *L, const char *kernel)
{
    if (lw_has_kernel(L, kernel)) return 0;
    return node_err(n, "string operations are unsupported on target %s (they are runtime "
                    "kernels, which it has none of)", L->target ? L->target->name : "?");
}

int str_cast_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    DType from = node_in(n, 0)->type.dt, to = node_out(n, 0)->type.dt;
    int64_t numel = type_numel(&node_in(n, 0)->type);
    int in = lw_in(L, 0), out = lw_out(L, 0);
    if (in < 0 || out < 0) return -1;
    if (from == DT_STRING && to == DT_STRING) {   /* one cell size for the program: bytes */
        int i = kfor_n(k, L->k->f->bufs[in].n, KL_VECTOR);
        kstore(k, out, kvar(k, i), kload(k, in, kvar(k, i)));
        kend(k);
        return 0;
    }
    const char *fn = from == DT_STRING ? "rt_str_to_f32" : "rt_str_from_f32";
    if (need_kernel(n, L, fn)) return -1;
    int64_t cap = buf_cap(n, L, from == DT_STRING ? in : out);
    if (cap < 0) return -1;
    KArg a[4] = { karg_buf(in, NULL), karg_buf(out, NULL), karg_int(numel), karg_int(cap) };
    kcall(k, fn, a, 4);
    return 0;
}

/* ---- StringNormalizer ----
 * X is [C] or [1, C]; Y is the strings that are not stopwords, case changed, [C'] or
 * [1, C'] with C' data-dependent (bounded by C; everything removed leaves one empty
 * string, so C' >= 1). Only the default locale: case changes are ASCII. */

static int strnorm_action(const Node *n, int *action)
{
    const char *s = attr_s(n, "case_change_action", "NONE");
    if (!strcmp(s, "NONE")) *action = RT_CASE_NONE;
    else if (!strcmp(s, "LOWER")) *action = RT_CASE_LOWER;
    else if (!strcmp(s, "UPPER")) *action = RT_CASE_UPPER;
    else
        return node_err(n, "case_change_action '%s' is not one of LOWER, UPPER, NONE", s);
    return 0;
}

int strnorm_infer(Node *n)
{
    if (n->nin != 1 || n->nout != 1)
        return node_err(n, "expects 1 input and 1 output, got %d and %d", n->nin, n->nout);
    const Value *x = node_in(n, 0);
    if (!x || !x->has_type) return node_err(n, "input 0 has no known type");
    if (x->type.dt != DT_STRING)
        return node_err(n, "needs a string input, got %s", dt_name(x->type.dt));
    int action = RT_CASE_NONE;
    if (strnorm_action(n, &action)) return -1;
    const char *loc = attr_s(n, "locale", "");
    if (*loc && strcmp(loc, "en_US") && strcmp(loc, "en_US.UTF-8") && strcmp(loc, "C"))
        return node_err(n, "locale '%s' is unsupported (only the default, en_US: ASCII case "
                        "rules)", loc);
    const Attr *sw = attr_get(n, "stopwords");
    if (sw && sw->kind != A_STRINGS)
        return node_err(n, "attribute 'stopwords' must be a list of strings");
    const Type *t = &x->type;
    if (!(t->rank == 1 || (t->rank == 2 && t->dims[0] == 1)))
        return node_err(n, "input must be [C] or [1, C], got %s", type_str(n->g->pool, t));
    int64_t c = t->dims[t->rank - 1];
    int64_t dims[2] = { 1, c > 0 ? c : 1 };
    if (set_out(n, 0, DT_STRING, t->rank, t->rank == 1 ? dims + 1 : dims)) return -1;
    node_out(n, 0)->dyn = 1u << (t->rank - 1);
    return 0;
}

int strnorm_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    const Type *t = &node_in(n, 0)->type;
    int action = RT_CASE_NONE;
    if (strnorm_action(n, &action) || need_kernel(n, L, "rt_str_normalize")) return -1;
    int in = lw_in(L, 0), out = lw_out(L, 0), od = lw_out_dims(L, 0);
    if (in < 0 || out < 0 || od < 0) return -1;
    int64_t cap = buf_cap(n, L, in);
    if (cap < 0) return -1;
    /* the stopwords as cells of their own, a constant beside the weights; one longer
     * than a cell holds can equal no string of the program, so it is left out */
    const Attr *sw = attr_get(n, "stopwords");
    int nall = sw && sw->kind == A_STRINGS ? sw->n : 0, nstop = 0;
    unsigned char *cells = pool_alloc(L->prog->pool, (size_t)((nall ? nall : 1) * cap));
    memset(cells, 0, (size_t)((nall ? nall : 1) * cap));
    for (int i = 0; i < nall; i++) {
        size_t len = strlen(sw->strings[i]);
        if ((int64_t)len <= cap - 1) memcpy(cells + nstop++ * cap, sw->strings[i], len);
    }
    int stop = -1;
    if (nstop) {
        stop = lw_const(L, "stopwords", DT_U8, nstop * cap, cells, NULL);
        if (stop < 0) return -1;
    }
    if (t->rank == 2) kstore(k, od, kc_idx(k, 0), kc_int(k, DT_I64, 1));
    int64_t c = t->dims[t->rank - 1];
    if (c == 0) {   /* no strings: the one empty string the operator gives then */
        kstore(k, out, kc_idx(k, 0), kc_int(k, DT_U8, 0));
        kstore(k, od, kc_idx(k, t->rank - 1), kc_int(k, DT_I64, 1));
        return 0;
    }
    KArg a[10] = { karg_buf(in, NULL), karg_buf(out, NULL),
                   karg_buf(od, kc_idx(k, t->rank - 1)), karg_int(c), karg_int(cap),
                   karg_int(action), karg_int(attr_i(n, "is_case_sensitive", 0) != 0),
                   karg_buf(stop, NULL), karg_int(nstop), karg_int(cap) };
    kcall(k, "rt_str_normalize", a, 10);
    return 0;
}

/* ---- Equal on strings, StringConcat (opset 20) ----
 * Elementwise with numpy broadcasting, written in the loop IR itself (no kernel): one
 * byte loop per pair of cells, every cell read to its NUL or its last byte. */

int str_equal_involved(const Node *n)
{
    for (int i = 0; i < n->nin && i < 2; i++) {
        const Value *v = node_in(n, i);
        if (v && v->has_type && v->type.dt == DT_STRING) return 1;
    }
    return 0;
}

/* the broadcast shape of two string inputs */
static int str_bcast(Node *n, Type *o)
{
    if (n->nin != 2 || n->nout != 1)
        return node_err(n, "expects 2 inputs and 1 output, got %d and %d", n->nin, n->nout);
    const Value *a = node_in(n, 0), *b = node_in(n, 1);
    if (!a || !b || !a->has_type || !b->has_type) return node_err(n, "inputs have no known type");
    if (a->type.dt != DT_STRING || b->type.dt != DT_STRING)
        return node_err(n, "needs two string inputs, got %s and %s", dt_name(a->type.dt),
                        dt_name(b->type.dt));
    const Type *ta = &a->type, *tb = &b->type;
    int r = ta->rank > tb->rank ? ta->rank : tb->rank;
    memset(o, 0, sizeof *o);
    o->dt = DT_STRING;
    o->rank = r;
    for (int d = 0; d < r; d++) {
        int da = d - (r - ta->rank), db = d - (r - tb->rank);
        int64_t x = da >= 0 ? ta->dims[da] : 1, y = db >= 0 ? tb->dims[db] : 1;
        if (x != y && x != 1 && y != 1)
            return node_err(n, "shapes %s and %s do not broadcast", type_str(n->g->pool, ta),
                            type_str(n->g->pool, tb));
        o->dims[d] = x == 1 ? y : x;
    }
    return 0;
}

int str_equal_infer(Node *n)
{
    Type o;
    if (str_bcast(n, &o)) return -1;
    return set_out(n, 0, DT_BOOL, o.rank, o.dims);
}

int str_concat_infer(Node *n)
{
    Type o;
    if (str_bcast(n, &o)) return -1;
    return set_out(n, 0, DT_STRING, o.rank, o.dims);
}

/* What both binary string lowerings share: the buffers, the cell size, and the loops over
 * the output's elements opened, ca / cb the byte offsets of the two input cells and iy the
 * output element. Returns 1 with the loops open (close depth of them), 0 when the output is
 * empty (nothing to do), -1 on an error. */
typedef struct StrPair {
    int A, B, Y, depth;
    int64_t cap;
    KExpr *ca, *cb, *iy;
} StrPair;

static int str_pairs(Node *n, Lower *L, StrPair *p)
{
    KB *k = L->k;
    p->A = lw_in(L, 0), p->B = lw_in(L, 1), p->Y = lw_out(L, 0);
    if (p->A < 0 || p->B < 0 || p->Y < 0) return -1;
    const Type *ta = &node_in(n, 0)->type, *tb = &node_in(n, 1)->type;
    const Type *to = &node_out(n, 0)->type;
    if (type_numel(to) == 0) return 0;
    if ((p->cap = buf_cap(n, L, p->A)) < 0) return -1;
    int vars[KIR_MAX_RANK];
    if (to->rank) kloops(k, to->rank, to->dims, vars);
    KExpr *ia = to->rank ? kindex_bcast(k, to->rank, to->dims, vars, ta->rank, ta->dims)
                         : kc_idx(k, 0);
    KExpr *ib = to->rank ? kindex_bcast(k, to->rank, to->dims, vars, tb->rank, tb->dims)
                         : kc_idx(k, 0);
    p->iy = to->rank ? kindex(k, to->rank, to->dims, vars) : kc_idx(k, 0);
    p->ca = kmuli(k, ia, p->cap);
    p->cb = kmuli(k, ib, p->cap);
    p->depth = to->rank;
    return 1;
}

int str_equal_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    StrPair p;
    int rc = str_pairs(n, L, &p);
    if (rc <= 0) return rc;
    int oa = kdecl(k, DT_IDX, p.ca), ob = kdecl(k, DT_IDX, p.cb);
    int eq = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 1)), done = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 0));
    int j = kfor_n(k, p.cap - 1, KL_SERIAL);
    int x = kdecl(k, DT_U8, kload(k, p.A, kadd(k, kvar(k, oa), kvar(k, j))));
    KExpr *y = kload(k, p.B, kadd(k, kvar(k, ob), kvar(k, j)));
    /* bytes after both NULs are not the strings' */
    kset(k, eq, kbin(k, KB_AND, kvar(k, eq),
                     kbin(k, KB_OR, kvar(k, done), kbin(k, KB_EQ, kvar(k, x), y))));
    kset(k, done, kbin(k, KB_OR, kvar(k, done), kbin(k, KB_EQ, kvar(k, x), kc_int(k, DT_U8, 0))));
    kend(k);
    kstore(k, p.Y, p.iy, kvar(k, eq));
    kend_n(k, p.depth);
    return 0;
}

/* a then b in one cell; what does not fit the cell (--max-string) is cut */
int str_concat_lower(Node *n, Lower *L)
{
    KB *k = L->k;
    StrPair p;
    int rc = str_pairs(n, L, &p);
    if (rc <= 0) return rc;
    int64_t cap = p.cap;
    int A = p.A, B = p.B, Y = p.Y, depth = p.depth;
    KExpr *ca = p.ca, *cb = p.cb, *iy = p.iy;
    int oy = kdecl(k, DT_IDX, kmuli(k, iy, cap));
    int pos = kdecl(k, DT_IDX, kc_idx(k, 0));
    for (int s = 0; s < 2; s++) {
        int off = kdecl(k, DT_IDX, s ? cb : ca);
        int done = kdecl(k, DT_BOOL, kc_int(k, DT_BOOL, 0));
        int j = kfor_n(k, cap - 1, KL_SERIAL);
        int c = kdecl(k, DT_U8, kload(k, s ? B : A, kadd(k, kvar(k, off), kvar(k, j))));
        KExpr *stop = kbin(k, KB_EQ, kvar(k, c), kc_int(k, DT_U8, 0));
        if (s) stop = kbin(k, KB_OR, stop, kbin(k, KB_GE, kvar(k, pos), kc_idx(k, cap - 1)));
        kset(k, done, kbin(k, KB_OR, kvar(k, done), stop));
        kif(k, kun(k, KU_NOT, kvar(k, done)));
        kstore(k, Y, kadd(k, kvar(k, oy), kvar(k, pos)), kvar(k, c));
        kset(k, pos, kaddi(k, kvar(k, pos), 1));
        kend(k);
        kend(k);
    }
    kstore(k, Y, kadd(k, kvar(k, oy), kvar(k, pos)), kc_int(k, DT_U8, 0));
    kend_n(k, depth);
    return 0;
}
