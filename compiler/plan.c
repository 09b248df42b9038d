/* plan.c — owns the static memory plan: every arena tensor (and, with io_in_arena, every
 * input and output) gets a byte offset in one arena such that tensors live at the same
 * function never share a byte, except where a function provably reads each element of its
 * input only to write the same element of its output (then the output takes the input's
 * bytes over: "in place"), and except where a function only copies whole inputs into
 * disjoint ranges of its output (Concat): then each input is placed inside the output
 * from the start ("views") and the copy disappears. Also the validator every plan goes through, the per-step live
 * bytes the report shows, and the layout of the weights blob (--weights bin).
 *
 * Placement: in-place pairs are merged into groups; the groups are placed by several greedy
 * orderings (by size, by start, by lifetime ...) with best-fit and first-fit gap choice,
 * and the smallest arena wins. In-place legality is read off the loop IR structurally
 * (index expressions, loop trip counts), never from an operator's name. */
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

static int64_t align_up(int64_t v, int64_t a)
{
    return a > 1 ? (v + a - 1) / a * a : v;
}

static int64_t raw_bytes(const KTensor *t)
{
    return (t->n > 0 ? t->n : 0) * dt_size(t->t);
}

static int64_t tensor_bytes(const KTensor *t, int64_t align)
{
    return align_up(raw_bytes(t), align);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *r = calloc(n ? n : 1, sz);
    if (!r) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    return r;
}

/* Which tensors the plan places. */
static int planned(const KProg *p, const KTensor *t)
{
    return t->kind == KT_ARENA ||
           (p->io_in_arena && (t->kind == KT_INPUT || t->kind == KT_OUTPUT));
}

/* ---- in place: structural check on the loop IR ---- */

static int expr_equal(const KExpr *a, const KExpr *b)
{
    if (a == b) return 1;
    if (!a || !b) return 0;
    if (a->kind != b->kind || a->t != b->t || a->op != b->op || a->i != b->i || a->id != b->id)
        return 0;
    if (a->kind == KE_CONST && dt_is_float(a->t) && a->f != b->f) return 0;
    return expr_equal(a->a, b->a) && expr_equal(a->b, b->b) && expr_equal(a->c, b->c);
}

/* An index as sum(coef[k] * var[k]) + c, when it is that simple. */
typedef struct Lin {
    int n;
    int var[KIR_MAX_DEPTH];
    int64_t coef[KIR_MAX_DEPTH];
    int64_t c;
} Lin;

static int lin_add(const KExpr *e, int64_t scale, Lin *l)
{
    switch (e->kind) {
    case KE_CONST: l->c += scale * e->i; return 0;
    case KE_VAR:
        for (int k = 0; k < l->n; k++)
            if (l->var[k] == e->id) {
                l->coef[k] += scale;
                return 0;
            }
        if (l->n >= KIR_MAX_DEPTH) return -1;
        l->var[l->n] = e->id;
        l->coef[l->n++] = scale;
        return 0;
    case KE_BIN:
        if (e->op == KB_ADD) return lin_add(e->a, scale, l) || lin_add(e->b, scale, l);
        if (e->op == KB_SUB) return lin_add(e->a, scale, l) || lin_add(e->b, -scale, l);
        if (e->op == KB_MUL && e->a->kind == KE_CONST) return lin_add(e->b, scale * e->a->i, l);
        if (e->op == KB_MUL && e->b->kind == KE_CONST) return lin_add(e->a, scale * e->b->i, l);
        return -1;
    default: return -1;
    }
}

/* What the walk over one function found about buffers bound to tensors A (read) and B
 * (written). */
typedef struct Scan {
    const KFunc *f;
    int a, b;                 /* tensor ids */
    const KStmt *store;       /* the one store to B */
    const KStmt *loops[KIR_MAX_DEPTH];
    int nloops;
    int nstores, bad;
    int other_stmts;          /* statements besides the loop chain and the store */
} Scan;

static int buf_is(const Scan *s, int buf, int tensor)
{
    return buf >= 0 && buf < s->f->nbufs && s->f->bufs[buf].tensor == tensor;
}

/* Loads of A must all sit in the store's value at the store's index; B is never read. */
static void scan_expr(Scan *s, const KExpr *e, const KExpr *store_idx)
{
    if (!e) return;
    if (e->kind == KE_LOAD) {
        if (buf_is(s, e->id, s->b)) s->bad = 1;
        if (buf_is(s, e->id, s->a) && (!store_idx || !expr_equal(e->a, store_idx))) s->bad = 1;
    }
    scan_expr(s, e->a, store_idx);
    scan_expr(s, e->b, store_idx);
    scan_expr(s, e->c, store_idx);
}

static void scan_block(Scan *s, const KStmt *st, const KStmt **stack, int depth, int guarded)
{
    for (; st && !s->bad; st = st->next) {
        switch (st->kind) {
        case KS_FOR:
            scan_expr(s, st->lo, NULL);
            scan_expr(s, st->hi, NULL);
            if (depth >= KIR_MAX_DEPTH) {
                s->bad = 1;
                return;
            }
            stack[depth] = st;
            scan_block(s, st->body, stack, depth + 1, guarded);
            break;
        case KS_IF:
            s->other_stmts++;
            scan_expr(s, st->cond, NULL);
            scan_block(s, st->body, stack, depth, 1);
            scan_block(s, st->els, stack, depth, 1);
            break;
        case KS_STORE:
            if (buf_is(s, st->buf, s->b)) {
                if (guarded || s->nstores++) s->bad = 1;
                s->store = st;
                s->nloops = depth;
                memcpy(s->loops, stack, sizeof *stack * (size_t)depth);
                scan_expr(s, st->idx, NULL);
                scan_expr(s, st->val, st->idx);
            } else {
                s->other_stmts++;
                scan_expr(s, st->idx, NULL);
                scan_expr(s, st->val, NULL);
            }
            break;
        case KS_CALL:
            s->other_stmts++;
            /* a kernel's access pattern is opaque */
            for (int i = 0; i < st->nargs; i++)
                if (st->args[i].kind == KA_BUF &&
                    (buf_is(s, st->args[i].buf, s->a) || buf_is(s, st->args[i].buf, s->b)))
                    s->bad = 1;
            break;
        default:
            s->other_stmts++;
            scan_expr(s, st->val, NULL);
            scan_expr(s, st->idx, NULL);
            break;
        }
    }
}

/* The store's index takes a different value at every iteration of its loops (a mixed-
 * radix number over the loop variables), so no element is written after another
 * iteration read it. */
static int store_injective(const Scan *s)
{
    Lin l;
    memset(&l, 0, sizeof l);
    if (lin_add(s->store->idx, 1, &l) != 0) return 0;
    int64_t trip[KIR_MAX_DEPTH], coef[KIR_MAX_DEPTH];
    int n = 0;
    for (int k = 0; k < s->nloops; k++) {
        const KStmt *L = s->loops[k];
        if (L->lo->kind != KE_CONST || L->hi->kind != KE_CONST) return 0;
        int64_t t = L->hi->i - L->lo->i;
        if (t <= 0) return 1;   /* the store never runs */
        int64_t c = 0;
        for (int v = 0; v < l.n; v++)
            if (l.var[v] == L->var) c = l.coef[v];
        if (t > 1 && c == 0) return 0;   /* same element written again */
        if (t > 1) {
            trip[n] = t;
            coef[n++] = c < 0 ? -c : c;
        }
    }
    /* every variable of the index is one of the enclosing loops' */
    for (int v = 0; v < l.n; v++) {
        int found = l.coef[v] == 0;
        for (int k = 0; k < s->nloops && !found; k++) found = s->loops[k]->var == l.var[v];
        if (!found) return 0;
    }
    /* sort by coefficient, then each must exceed the span of the smaller ones */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && coef[j - 1] > coef[j]; j--) {
            int64_t tc = coef[j], tt = trip[j];
            coef[j] = coef[j - 1];
            trip[j] = trip[j - 1];
            coef[j - 1] = tc;
            trip[j - 1] = tt;
        }
    int64_t span = 0;
    for (int i = 0; i < n; i++) {
        if (coef[i] <= span) return 0;
        span += coef[i] * (trip[i] - 1);
    }
    return 1;
}

/* 0: B cannot take A's bytes in function fi; 1: it can; 2: it can and the function is a
 * plain copy (nothing left to do once they share bytes). */
static int inplace_kind(const KProg *p, int fi, int a, int b)
{
    if (fi < 0 || fi >= p->nfuncs || a == b) return 0;
    const KTensor *ta = &p->tensors[a], *tb = &p->tensors[b];
    if (ta->t != tb->t || ta->n != tb->n || ta->n <= 0) return 0;
    const KFunc *f = p->funcs[fi];
    int has_a = 0, nb = 0;
    for (int i = 0; i < f->nbufs; i++) {
        const KBuf *kb = &f->bufs[i];
        if (kb->tensor == a) {
            if (kb->role != KR_IN || kb->t != ta->t) return 0;
            has_a = 1;
        }
        if (kb->tensor == b) {
            if (kb->role != KR_OUT || kb->t != tb->t) return 0;
            nb++;
        }
    }
    if (!has_a || nb != 1) return 0;
    Scan s;
    memset(&s, 0, sizeof s);
    s.f = f;
    s.a = a;
    s.b = b;
    const KStmt *stack[KIR_MAX_DEPTH];
    scan_block(&s, f->body, stack, 0, 0);
    if (s.bad || s.nstores != 1 || !store_injective(&s)) return 0;
    const KExpr *v = s.store->val;
    if (!s.other_stmts && v->kind == KE_LOAD && buf_is(&s, v->id, a)) {
        /* a copy: the body is just the loop chain around the store */
        const KStmt *want = s.nloops ? s.loops[0] : s.store;
        int chain = f->body == want && !want->next;
        for (int k = 0; k < s.nloops && chain; k++) {
            want = k + 1 < s.nloops ? s.loops[k + 1] : s.store;
            chain = s.loops[k]->body == want && !want->next;
        }
        if (chain) return 2;
    }
    return 1;
}

/* In-place pairs: pred[b] = a when b takes a's bytes in the function that reads a last
 * and writes b first. Each tensor gives its bytes to one successor at most. */
static void find_inplace(const KProg *p, int *pred, int *copy)
{
    int nt = p->ntensors;
    unsigned char *given = xcalloc((size_t)nt, 1);
    for (int i = 0; i < nt; i++) pred[i] = -1, copy[i] = 0;
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        for (int ob = 0; ob < f->nbufs; ob++) {
            int b = f->bufs[ob].tensor;
            if (f->bufs[ob].role != KR_OUT || b < 0 || b >= nt) continue;
            const KTensor *tb = &p->tensors[b];
            if (!planned(p, tb) || tb->first != fi || pred[b] >= 0) continue;
            for (int ib = 0; ib < f->nbufs; ib++) {
                int a = f->bufs[ib].tensor;
                if (f->bufs[ib].role != KR_IN || a < 0 || a >= nt || given[a]) continue;
                const KTensor *ta = &p->tensors[a];
                if (!planned(p, ta) || ta->last != fi || ta->first < 0) continue;
                int k = inplace_kind(p, fi, a, b);
                if (!k) continue;
                pred[b] = a;
                copy[b] = k == 2;
                given[a] = 1;
                break;
            }
        }
    }
    free(given);
}

/* ---- views: a function that only copies whole inputs into disjoint ranges of its output
 * (Concat along an outer axis) lets each input be written there in the first place ---- */

typedef struct View {
    int src;              /* tensor id of the input */
    int64_t delta;        /* its first element's index in the output */
} View;

/* A top-level statement that is a perfect chain of constant-trip loops around one store:
 * the store, with the loops in loops[0..*nloops). */
static const KStmt *copy_chain(const KStmt *top, const KStmt **loops, int *nloops)
{
    int n = 0;
    const KStmt *st = top;
    while (st && st->kind == KS_FOR) {
        if ((st != top && st->next) || n >= KIR_MAX_DEPTH || st->lo->kind != KE_CONST ||
            st->hi->kind != KE_CONST)
            return NULL;
        loops[n++] = st;
        st = st->body;
    }
    if (!st || st->kind != KS_STORE || (st != top && st->next)) return NULL;
    *nloops = n;
    return st;
}

/* l's value with every loop variable at its lower bound; -1 in *bad when l names a
 * variable that is not one of the loops'. */
static int64_t lin_at_lo(const Lin *l, const KStmt **loops, int n, int *bad)
{
    int64_t v = l->c;
    for (int k = 0; k < l->n; k++) {
        int found = l->coef[k] == 0;
        for (int j = 0; j < n; j++)
            if (loops[j]->var == l->var[k]) {
                v += l->coef[k] * loops[j]->lo->i;
                found = 1;
            }
        if (!found) *bad = 1;
    }
    return v;
}

static int64_t lin_coef(const Lin *l, int var)
{
    for (int k = 0; k < l->n; k++)
        if (l->var[k] == var) return l->coef[k];
    return 0;
}

/* The views of output tensor b in function fi when the function is nothing but copies of
 * whole arena inputs (each read element by element in its own order, each read for the
 * last time here) into disjoint ranges of b starting at multiples of align bytes; their
 * number, or 0 when fi is anything else. */
static int copy_views(const KProg *p, int fi, int b, int64_t align, View *v, int max)
{
    if (fi < 0 || fi >= p->nfuncs || b < 0 || b >= p->ntensors) return 0;
    const KFunc *f = p->funcs[fi];
    const KTensor *tb = &p->tensors[b];
    if (tb->kind != KT_ARENA || tb->first != fi || tb->n <= 0 || !f->body) return 0;
    int64_t es = dt_size(tb->t);
    int nv = 0;
    for (const KStmt *top = f->body; top; top = top->next) {
        const KStmt *loops[KIR_MAX_DEPTH];
        int nl = 0;
        const KStmt *st = copy_chain(top, loops, &nl);
        if (!st || nv >= max) return 0;
        const KExpr *ld = st->val;
        if (st->buf < 0 || st->buf >= f->nbufs || f->bufs[st->buf].tensor != b ||
            ld->kind != KE_LOAD || ld->id < 0 || ld->id >= f->nbufs)
            return 0;
        int a = f->bufs[ld->id].tensor;
        if (a < 0 || a >= p->ntensors || a == b) return 0;
        const KTensor *ta = &p->tensors[a];
        if (ta->kind != KT_ARENA || ta->t != tb->t || f->bufs[ld->id].t != ta->t ||
            f->bufs[st->buf].t != tb->t || ta->last != fi || ta->first < 0 ||
            ta->first >= fi || ta->n <= 0)
            return 0;
        for (int k = 0; k < nv; k++)
            if (v[k].src == a) return 0;
        Lin ls, ll;
        memset(&ls, 0, sizeof ls);
        memset(&ll, 0, sizeof ll);
        if (lin_add(st->idx, 1, &ls) != 0 || lin_add(ld->a, 1, &ll) != 0) return 0;
        int bad = 0;
        int64_t s0 = lin_at_lo(&ls, loops, nl, &bad), l0 = lin_at_lo(&ll, loops, nl, &bad);
        if (bad || l0 != 0) return 0;
        /* the load walks a densely (a mixed-radix number over the loops of more than one
         * trip, covering a's elements once) and the store walks b the same way */
        int64_t coef[KIR_MAX_DEPTH], trip[KIR_MAX_DEPTH];
        int n = 0;
        for (int k = 0; k < nl; k++) {
            int64_t t = loops[k]->hi->i - loops[k]->lo->i;
            if (t <= 0) return 0;
            if (t == 1) continue;
            int64_t c = lin_coef(&ll, loops[k]->var);
            if (c <= 0 || lin_coef(&ls, loops[k]->var) != c) return 0;
            coef[n] = c;
            trip[n++] = t;
        }
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && coef[j - 1] > coef[j]; j--) {
                int64_t tc = coef[j], tt = trip[j];
                coef[j] = coef[j - 1];
                trip[j] = trip[j - 1];
                coef[j - 1] = tc;
                trip[j - 1] = tt;
            }
        int64_t span = 1;
        for (int i = 0; i < n; i++) {
            if (coef[i] != span) return 0;
            span *= trip[i];
        }
        if (span != ta->n || s0 < 0 || s0 + ta->n > tb->n || (s0 * es) % align) return 0;
        v[nv].src = a;
        v[nv++].delta = s0;
    }
    for (int i = 0; i < nv; i++)
        for (int j = i + 1; j < nv; j++) {
            const View *x = &v[i], *y = &v[j];
            if (x->delta < y->delta + p->tensors[y->src].n &&
                y->delta < x->delta + p->tensors[x->src].n)
                return 0;
        }
    return nv;
}

/* Whether tensor b holds tensor a as a view at byte offset off. */
static int is_view_at(const KProg *p, int b, int a, int64_t off)
{
    const KTensor *tb = &p->tensors[b], *ta = &p->tensors[a];
    if (ta->last != tb->first || tb->first < 0) return 0;
    int64_t align = p->arena_align > 0 ? p->arena_align : 1;
    View v[64];
    int nv = copy_views(p, tb->first, b, align, v, 64);
    for (int i = 0; i < nv; i++)
        if (v[i].src == a) return v[i].delta * dt_size(tb->t) == off;
    return 0;
}

/* ---- placement ---- */

typedef struct Item {
    int root;             /* tensor id of the group's first tensor */
    int64_t size;
    int first, last;
    int64_t key;          /* sort key for the current ordering */
    int64_t offset;
} Item;

static int meet(const Item *a, const Item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

typedef struct Span {
    int64_t lo, hi;
} Span;

static int by_lo(const void *x, const void *y)
{
    const Span *a = x, *b = y;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Which items are live together: per item, the others whose functions meet its own
 * (CSR: at[i] .. at[i + 1] in list). Built once by a sweep over start times, so placing
 * costs the pairs that meet, not all pairs (a 100,000-node chain was quadratic). */
static const Item *sort_items_first;

typedef struct Meets {
    int *at, *list;
} Meets;

static int by_first(const void *x, const void *y)
{
    const Item *a = &sort_items_first[*(const int *)x], *b = &sort_items_first[*(const int *)y];
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return *(const int *)x - *(const int *)y;
}

static void meets_build(const Item *it, int n, Meets *m)
{
    int *ord = xcalloc((size_t)n + 1, sizeof *ord), *act = xcalloc((size_t)n + 1, sizeof *act);
    int *cnt = xcalloc((size_t)n + 1, sizeof *cnt);
    int nact = 0;
    for (int i = 0; i < n; i++) ord[i] = i;
    sort_items_first = it;
    qsort(ord, (size_t)n, sizeof *ord, by_first);
    /* two sweeps: count, then fill */
    for (int pass = 0; pass < 2; pass++) {
        nact = 0;
        for (int s = 0; s < n; s++) {
            int t = ord[s];
            if (it[t].size <= 0 || it[t].first < 0) continue;
            int keep = 0;
            for (int a = 0; a < nact; a++)
                if (it[act[a]].last >= it[t].first) act[keep++] = act[a];
            nact = keep;
            for (int a = 0; a < nact; a++) {
                int o = act[a];
                if (pass == 0) {
                    cnt[o]++;
                    cnt[t]++;
                } else {
                    m->list[m->at[o] + cnt[o]++] = t;
                    m->list[m->at[t] + cnt[t]++] = o;
                }
            }
            act[nact++] = t;
        }
        if (pass == 0) {
            m->at = xcalloc((size_t)n + 2, sizeof *m->at);
            for (int i = 0; i < n; i++) m->at[i + 1] = m->at[i] + cnt[i];
            m->list = xcalloc((size_t)m->at[n] + 1, sizeof *m->list);
            memset(cnt, 0, sizeof *cnt * (size_t)(n + 1));
        }
    }
    free(ord);
    free(act);
    free(cnt);
}

/* Places items in the order given; returns the arena size. best_fit: the smallest gap
 * that fits; else the lowest. */
static int64_t place(Item *it, const int *order, int n, int best_fit, Span *busy,
                     int64_t align, const Meets *mt, unsigned char *placed)
{
    int64_t total = 0;
    memset(placed, 0, (size_t)n);
    for (int s = 0; s < n; s++) {
        Item *t = &it[order[s]];
        int nb = 0;
        for (int e = mt->at[order[s]]; e < mt->at[order[s] + 1]; e++) {
            const Item *o = &it[mt->list[e]];
            if (placed[mt->list[e]] && o->size > 0 && meet(t, o))
                busy[nb++] = (Span){ o->offset, o->offset + o->size };
        }
        placed[order[s]] = 1;
        qsort(busy, (size_t)nb, sizeof *busy, by_lo);
        int64_t off = 0, best = -1, best_gap = 0, top = 0;
        for (int b = 0; b <= nb; b++) {
            int64_t lo = b < nb ? busy[b].lo : INT64_MAX;
            if (lo - top >= t->size) {
                int64_t gap = lo - top;
                if (best < 0 || (best_fit && gap < best_gap)) {
                    best = top;
                    best_gap = gap;
                }
                if (!best_fit) break;
            }
            if (b < nb && busy[b].hi > top) top = busy[b].hi;
        }
        off = best < 0 ? align_up(top, align) : best;
        t->offset = t->size > 0 ? off : 0;
        if (t->offset + t->size > total) total = t->offset + t->size;
    }
    return total;
}

static Item *sort_items;

static int by_key(const void *x, const void *y)
{
    const Item *a = &sort_items[*(const int *)x], *b = &sort_items[*(const int *)y];
    if (a->key != b->key) return a->key > b->key ? -1 : 1;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    if (a->first != b->first) return a->first - b->first;
    return a->root - b->root;   /* same input, same plan */
}

void plan_arena(KProg *p, int64_t align)
{
    if (align < 1) align = 1;
    p->arena_align = align;
    int nt = p->ntensors;
    int *pred = xcalloc((size_t)nt + 1, sizeof *pred);
    int *copy = xcalloc((size_t)nt + 1, sizeof *copy);
    int *root = xcalloc((size_t)nt + 1, sizeof *root);
    for (int fi = 0; fi < p->nfuncs; fi++) p->funcs[fi]->skip = 0;
    find_inplace(p, pred, copy);

    /* groups: follow the chain of predecessors to its first tensor */
    int *item_of = xcalloc((size_t)nt + 1, sizeof *item_of);
    Item *it = xcalloc((size_t)nt + 1, sizeof *it);
    int n = 0;
    for (int i = 0; i < nt; i++) {
        item_of[i] = -1;
        const KTensor *t = &p->tensors[i];
        if (!planned(p, t)) continue;
        int r = i;
        while (pred[r] >= 0) r = pred[r];
        root[i] = r;
    }
    for (int i = 0; i < nt; i++) {
        const KTensor *t = &p->tensors[i];
        if (!planned(p, t) || root[i] != i) continue;
        item_of[i] = n;
        it[n].root = i;
        it[n].size = tensor_bytes(t, align);
        it[n].first = t->first;
        it[n].last = t->last;
        if (t->first < 0) it[n].size = 0;   /* live nowhere */
        n++;
    }
    for (int i = 0; i < nt; i++) {
        const KTensor *t = &p->tensors[i];
        if (!planned(p, t) || root[i] == i) continue;
        Item *g = &it[item_of[root[i]]];
        if (t->first >= 0 && (g->first < 0 || t->first < g->first)) g->first = t->first;
        if (t->last > g->last) g->last = t->last;
    }

    /* views: a group whose last tensor a copy-only function puts into its output sits
     * inside that output's group (host[r]: the host group's root, at hdelta[r] bytes);
     * the host item reserves its bytes from the earliest view's first function on. A
     * function's views are taken all or none: then the function has nothing left to do. */
    int *host = xcalloc((size_t)nt + 1, sizeof *host);
    int64_t *hdelta = xcalloc((size_t)nt + 1, sizeof *hdelta);
    unsigned char *all_views = xcalloc((size_t)p->nfuncs + 1, 1);
    for (int i = 0; i < nt; i++) host[i] = -1;
    View views[64];
    for (int fi = 0; fi < p->nfuncs; fi++) {
        const KFunc *f = p->funcs[fi];
        for (int ob = 0; ob < f->nbufs; ob++) {
            int b = f->bufs[ob].tensor;
            if (f->bufs[ob].role != KR_OUT || b < 0 || b >= nt || !planned(p, &p->tensors[b]) ||
                root[b] != b || pred[b] >= 0)
                continue;
            int nv = copy_views(p, fi, b, align, views, 64);
            int ok = nv > 0;
            for (int k = 0; k < nv && ok; k++) {
                int r = root[views[k].src];
                ok = planned(p, &p->tensors[views[k].src]) && host[r] < 0 && r != b;
            }
            for (int k = 0; k < nv && ok; k++) {
                int r = root[views[k].src];
                host[r] = b;
                hdelta[r] = views[k].delta * dt_size(p->tensors[b].t);
            }
            if (ok) all_views[fi] = 1;
        }
    }
    /* fold every hosted group's live range into its outermost host's item */
    for (int i = 0; i < nt; i++) {
        if (item_of[i] < 0 || host[i] < 0) continue;
        int top = host[i];
        while (host[top] >= 0) top = host[top];
        Item *g = &it[item_of[top]], *h = &it[item_of[i]];
        if (h->first >= 0 && (g->first < 0 || h->first < g->first)) g->first = h->first;
        if (h->last > g->last) g->last = h->last;
        h->size = 0;   /* placed with its host */
    }

    /* lower bound: the most bytes live at any one function, groups counted once */
    int nsteps = p->nfuncs;
    for (int i = 0; i < n; i++)
        if (it[i].last >= nsteps) nsteps = it[i].last + 1;
    int64_t *live = xcalloc((size_t)nsteps + 1, sizeof *live);
    for (int i = 0; i < n; i++)
        if (it[i].size > 0)
            for (int s = it[i].first; s <= it[i].last; s++) live[s] += it[i].size;
    int64_t lb = 0;
    for (int s = 0; s < nsteps; s++)
        if (live[s] > lb) lb = live[s];
    p->arena_lower_bound = lb;

    /* several greedy orderings; the smallest arena wins */
    int *order = xcalloc((size_t)n + 1, sizeof *order);
    int64_t *best_off = xcalloc((size_t)n + 1, sizeof *best_off);
    Span *busy = xcalloc((size_t)n + 1, sizeof *busy);
    unsigned char *placed = xcalloc((size_t)n + 1, 1);
    Meets mt;
    meets_build(it, n, &mt);
    int64_t best = -1;
    unsigned rng = 2463534242u;
    enum { K_SIZE, K_START, K_LENGTH, K_AREA, K_END, K_PEAKSIZE, K_RANDOM, NKEYS = K_RANDOM + 12 };
    for (int k = 0; k < NKEYS && best != lb; k++) {
        for (int i = 0; i < n; i++) {
            Item *t = &it[i];
            int64_t len = t->last - t->first + 1;
            switch (k) {
            case K_SIZE: t->key = t->size; break;
            case K_START: t->key = -(int64_t)t->first; break;
            case K_LENGTH: t->key = len; break;
            case K_AREA: t->key = t->size * len; break;
            case K_END: t->key = t->last; break;
            case K_PEAKSIZE: {
                /* items live at the busiest step first, then by size */
                int64_t peak = 0;
                for (int s = t->first; s >= 0 && s <= t->last; s++)
                    if (live[s] > peak) peak = live[s];
                t->key = (peak == lb ? (int64_t)1 << 60 : 0) + t->size;
                break;
            }
            default:
                /* size, shaken: a fixed pseudo-random factor in [0.5, 1.5) */
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                t->key = t->size / 2 + (int64_t)((double)t->size * (rng % 1000) / 1000.0);
                break;
            }
            order[i] = i;
        }
        sort_items = it;
        qsort(order, (size_t)n, sizeof *order, by_key);
        for (int fit = 1; fit >= 0; fit--) {
            int64_t total = place(it, order, n, fit, busy, align, &mt, placed);
            if (best < 0 || total < best) {
                best = total;
                for (int i = 0; i < n; i++) best_off[i] = it[i].offset;
            }
            if (best == lb) break;
        }
    }
    if (best < 0) best = 0;
    p->arena_bytes = align_up(best, align);
    for (int i = 0; i < nt; i++) {
        KTensor *t = &p->tensors[i];
        if (!planned(p, t)) continue;
        int r = root[i];
        int64_t off = 0;
        while (host[r] >= 0) {
            off += hdelta[r];
            r = host[r];
        }
        t->offset = best_off[item_of[r]] + off;
    }
    /* a copy into its own input's bytes does nothing: the back ends may omit it; so does
     * a function whose inputs all are views of its output */
    for (int i = 0; i < nt; i++)
        if (pred[i] >= 0 && copy[i]) p->funcs[p->tensors[i].first]->skip = 1;
    for (int fi = 0; fi < p->nfuncs; fi++)
        if (all_views[fi]) p->funcs[fi]->skip = 1;

    free(pred);
    free(copy);
    free(root);
    free(host);
    free(hdelta);
    free(all_views);
    free(item_of);
    free(it);
    free(live);
    free(order);
    free(best_off);
    free(busy);
    free(placed);
    free(mt.at);
    free(mt.list);
}

/* ---- checks and figures ---- */

static const KProg *sort_prog;

static int by_tensor_first(const void *x, const void *y)
{
    const KTensor *a = &sort_prog->tensors[*(const int *)x], *b = &sort_prog->tensors[*(const int *)y];
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    return *(const int *)x - *(const int *)y;
}

int plan_validate(const KProg *p, char *err, size_t errlen)
{
    int64_t align = p->arena_align > 0 ? p->arena_align : 1;
    int nt = p->ntensors, n = 0, nact = 0, rc = 0;
    int *ord = xcalloc((size_t)nt + 1, sizeof *ord), *act = xcalloc((size_t)nt + 1, sizeof *act);
    for (int i = 0; i < nt; i++) {
        const KTensor *a = &p->tensors[i];
        if (!planned(p, a)) continue;
        int64_t ba = raw_bytes(a);
        if (a->first < 0) continue;   /* touched by no function: never addressed */
        if (a->offset < 0 || a->offset % align || a->offset + ba > p->arena_bytes) {
            snprintf(err, errlen, "plan: tensor '%s' at offset %lld (%lld bytes) is outside "
                     "the %lld-byte arena or not aligned to %lld", a->name,
                     (long long)a->offset, (long long)ba, (long long)p->arena_bytes,
                     (long long)align);
            rc = -1;
            goto done;
        }
        if (ba > 0) ord[n++] = i;
    }
    /* every pair live at one function, found by a sweep over start times (the tensors
     * still live when the next one starts), must not share a byte unless legally */
    sort_prog = p;
    qsort(ord, (size_t)n, sizeof *ord, by_tensor_first);
    for (int s = 0; s < n && !rc; s++) {
        int t = ord[s], keep = 0;
        for (int q = 0; q < nact; q++)
            if (p->tensors[act[q]].last >= p->tensors[t].first) act[keep++] = act[q];
        nact = keep;
        for (int q = 0; q < nact && !rc; q++) {
            int i = act[q] < t ? act[q] : t, j = act[q] < t ? t : act[q];
            const KTensor *a = &p->tensors[i], *b = &p->tensors[j];
            int64_t ba = raw_bytes(a), bb = raw_bytes(b);
            if (!(a->offset < b->offset + bb && b->offset < a->offset + ba)) continue;
            /* sharing is right only for an in-place pair at the same address, or a view */
            int ok = (a->offset == b->offset &&
                      ((a->last == b->first && inplace_kind(p, a->last, i, j)) ||
                       (b->last == a->first && inplace_kind(p, b->last, j, i)))) ||
                     (b->first == a->last && is_view_at(p, j, i, a->offset - b->offset)) ||
                     (a->first == b->last && is_view_at(p, i, j, b->offset - a->offset));
            if (!ok) {
                snprintf(err, errlen, "plan: tensors '%s' [%lld,+%lld) live at functions "
                         "%d..%d and '%s' [%lld,+%lld) live at %d..%d share bytes", a->name,
                         (long long)a->offset, (long long)ba, a->first, a->last, b->name,
                         (long long)b->offset, (long long)bb, b->first, b->last);
                rc = -1;
            }
        }
        act[nact++] = t;
    }
done:
    free(ord);
    free(act);
    if (rc) return rc;
    if (p->arena_bytes < p->arena_lower_bound) {
        snprintf(err, errlen, "plan: arena %lld bytes is below its lower bound %lld",
                 (long long)p->arena_bytes, (long long)p->arena_lower_bound);
        return -1;
    }
    return 0;
}

/* b shares a's bytes in place (same address, legal), so b adds nothing at its first step. */
static int shares_with_pred(const KProg *p, int b)
{
    const KTensor *tb = &p->tensors[b];
    if (tb->first < 0 || tb->first >= p->nfuncs) return 0;
    const KFunc *f = p->funcs[tb->first];
    for (int i = 0; i < f->nbufs; i++) {
        int a = f->bufs[i].tensor;
        if (f->bufs[i].role != KR_IN || a < 0 || a == b) continue;
        const KTensor *ta = &p->tensors[a];
        if (planned(p, ta) && ta->offset == tb->offset && ta->last == tb->first &&
            inplace_kind(p, tb->first, a, b))
            return 1;
    }
    return 0;
}

/* t is a view inside an output of the function that reads it last (its bytes are counted
 * with that output's). */
static int in_host(const KProg *p, int t)
{
    const KTensor *ta = &p->tensors[t];
    if (ta->last < 0 || ta->last >= p->nfuncs) return 0;
    const KFunc *f = p->funcs[ta->last];
    for (int i = 0; i < f->nbufs; i++) {
        int b = f->bufs[i].tensor;
        if (f->bufs[i].role != KR_OUT || b < 0 || b == t || !planned(p, &p->tensors[b])) continue;
        if (is_view_at(p, b, t, ta->offset - p->tensors[b].offset)) return 1;
    }
    return 0;
}

int64_t plan_live_bytes(const KProg *p, int step)
{
    int64_t align = p->arena_align > 0 ? p->arena_align : 1;
    int64_t live = 0;
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *t = &p->tensors[i];
        if (!planned(p, t) || t->first < 0 || step < t->first || step > t->last) continue;
        if (step == t->first && shares_with_pred(p, i)) continue;
        if (step == t->last && in_host(p, i)) continue;
        live += tensor_bytes(t, align);
    }
    return live;
}

int plan_inplace_count(const KProg *p)
{
    int n = 0;
    for (int i = 0; i < p->ntensors; i++)
        if (planned(p, &p->tensors[i]) && shares_with_pred(p, i)) n++;
    return n;
}

void plan_weights(KProg *p, int64_t align)
{
    if (align < 1) align = 1;
    unsigned char *used = xcalloc((size_t)p->ntensors + 1, 1);
    for (int fi = 0; fi < p->nfuncs; fi++)
        for (int b = 0; b < p->funcs[fi]->nbufs; b++) {
            int t = p->funcs[fi]->bufs[b].tensor;
            if (t >= 0 && t < p->ntensors) used[t] = 1;
        }
    int64_t off = 0;
    for (int i = 0; i < p->ntensors; i++) {
        KTensor *t = &p->tensors[i];
        if (t->kind != KT_CONST) continue;
        if (!used[i]) {
            t->offset = -1;
            continue;
        }
        t->offset = off;
        off = align_up(off + raw_bytes(t), align);
    }
    p->weights_bytes = off;
    p->weights_align = align;
    free(used);
}
