/* plan.c — owns the static memory plan: every KT_ARENA tensor gets a byte offset in one
 * arena such that tensors whose live ranges (function indices) intersect never share a
 * byte. Greedy by size, lowest fitting offset: simple and always correct; the lower bound
 * printed beside it shows how much a smarter planner could still win. */
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

static int64_t align_up(int64_t v, int64_t a)
{
    return a > 1 ? (v + a - 1) / a * a : v;
}

static int64_t tensor_bytes(const KTensor *t, int64_t align)
{
    int64_t n = t->n > 0 ? t->n : 0;
    return align_up(n * dt_size(t->t), align);
}

/* A tensor nobody touches (first < 0) is live nowhere. */
static int ranges_meet(const KTensor *a, const KTensor *b)
{
    if (a->first < 0 || b->first < 0) return 0;
    return a->first <= b->last && b->first <= a->last;
}

typedef struct Slot {
    int id;
    int64_t size;
} Slot;

static int by_size_desc(const void *x, const void *y)
{
    const Slot *a = x, *b = y;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    return a->id - b->id;   /* stable: same input, same plan */
}

typedef struct Span {
    int64_t lo, hi;
} Span;

static int by_lo(const void *x, const void *y)
{
    const Span *a = x, *b = y;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

void plan_arena(KProg *p, int64_t align)
{
    if (align < 1) align = 1;
    p->arena_align = align;
    int n = 0;
    for (int i = 0; i < p->ntensors; i++) n += p->tensors[i].kind == KT_ARENA;
    Slot *slots = calloc((size_t)n + 1, sizeof *slots);
    Span *busy = calloc((size_t)n + 1, sizeof *busy);
    int *placed = calloc((size_t)n + 1, sizeof *placed);
    if (!slots || !busy || !placed) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    n = 0;
    for (int i = 0; i < p->ntensors; i++)
        if (p->tensors[i].kind == KT_ARENA)
            slots[n++] = (Slot){ i, tensor_bytes(&p->tensors[i], align) };
    qsort(slots, (size_t)n, sizeof *slots, by_size_desc);

    int64_t total = 0;
    for (int s = 0; s < n; s++) {
        KTensor *t = &p->tensors[slots[s].id];
        int64_t size = slots[s].size;
        int nb = 0;
        for (int q = 0; q < s; q++) {
            const KTensor *o = &p->tensors[placed[q]];
            int64_t osize = tensor_bytes(o, align);
            if (osize > 0 && ranges_meet(t, o)) busy[nb++] = (Span){ o->offset, o->offset + osize };
        }
        qsort(busy, (size_t)nb, sizeof *busy, by_lo);
        /* first gap (all offsets are aligned, so gaps are too) large enough */
        int64_t off = 0;
        if (size > 0) {
            for (int b = 0; b < nb; b++) {
                if (off + size <= busy[b].lo) break;
                if (busy[b].hi > off) off = align_up(busy[b].hi, align);
            }
        }
        t->offset = off;
        placed[s] = slots[s].id;
        if (off + size > total) total = off + size;
    }
    p->arena_bytes = align_up(total, align);

    /* lower bound: the most bytes live at any one function */
    int64_t lb = 0;
    int nsteps = p->nfuncs;
    for (int s = 0; s < n; s++)
        if (p->tensors[slots[s].id].last >= nsteps) nsteps = p->tensors[slots[s].id].last + 1;
    for (int f = 0; f < nsteps; f++) {
        int64_t live = 0;
        for (int s = 0; s < n; s++) {
            const KTensor *t = &p->tensors[slots[s].id];
            if (t->first >= 0 && t->first <= f && f <= t->last) live += slots[s].size;
        }
        if (live > lb) lb = live;
    }
    p->arena_lower_bound = lb;
    free(slots);
    free(busy);
    free(placed);
}
