/* test_plan.c — the arena planner on hand-made programs: memory reuse across disjoint live
 * ranges, no shared byte between tensors live at the same time (every pair), alignment,
 * the lower bound, and degenerate tensors (zero bytes, untouched); in-place reuse read off
 * the loop IR (and refused where an element is read after it was overwritten), aliased
 * copies, Concat inputs placed as views of its output, inputs/outputs inside the arena, and plan_validate catching a bad plan. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

/* Adds an arena tensor of n float32 elements live over functions [first, last]. */
static int arena(KProg *p, int64_t n, int first, int last)
{
    KTensor t;
    memset(&t, 0, sizeof t);
    t.name = "t";
    t.src_name = "t";
    t.t = DT_F32;
    t.rank = 1;
    t.dims[0] = n;
    t.n = n;
    t.kind = KT_ARENA;
    t.first = first;
    t.last = last;
    return kprog_tensor(p, &t);
}

static KProg *prog_with_funcs(int nfuncs)
{
    KProg *p = kprog_new("t");
    for (int i = 0; i < nfuncs; i++) kprog_func(p, "f", "f");
    return p;
}

static int64_t bytes(const KTensor *t)
{
    return t->n * dt_size(t->t);
}

/* The invariant everything rests on: tensors live at once never share a byte, and all
 * fit inside arena_bytes. */
static void check_no_overlap(const KProg *p)
{
    for (int i = 0; i < p->ntensors; i++) {
        const KTensor *a = &p->tensors[i];
        if (a->kind != KT_ARENA) continue;
        ck_assert_int_ge(a->offset, 0);
        ck_assert_int_le(a->offset + bytes(a), p->arena_bytes);
        ck_assert_int_eq(a->offset % p->arena_align, 0);
        for (int j = i + 1; j < p->ntensors; j++) {
            const KTensor *b = &p->tensors[j];
            if (b->kind != KT_ARENA || bytes(a) == 0 || bytes(b) == 0) continue;
            if (a->first < 0 || b->first < 0) continue;
            int live_together = a->first <= b->last && b->first <= a->last;
            int share = a->offset < b->offset + bytes(b) && b->offset < a->offset + bytes(a);
            if (live_together && share)
                ck_abort_msg("tensors %d and %d overlap: [%lld,+%lld) and [%lld,+%lld)", i, j,
                             (long long)a->offset, (long long)bytes(a), (long long)b->offset,
                             (long long)bytes(b));
        }
    }
    ck_assert_int_ge(p->arena_bytes, p->arena_lower_bound);
    char err[512];
    ck_assert_msg(plan_validate(p, err, sizeof err) == 0, "%s", err);
}

START_TEST(disjoint_ranges_reuse_memory)
{
    KProg *p = prog_with_funcs(3);
    int a = arena(p, 256, 0, 0);  /* 1024 bytes */
    int b = arena(p, 256, 1, 1);
    int c = arena(p, 256, 2, 2);
    plan_arena(p, 64);
    check_no_overlap(p);
    ck_assert_int_eq(p->tensors[a].offset, 0);
    ck_assert_int_eq(p->tensors[b].offset, 0);
    ck_assert_int_eq(p->tensors[c].offset, 0);
    ck_assert_int_eq(p->arena_bytes, 1024);
    ck_assert_int_eq(p->arena_lower_bound, 1024);
    kprog_free(p);
}
END_TEST

START_TEST(chain_needs_two_slots)
{
    /* x0 -> x1 -> x2 -> x3: each function reads one and writes the next */
    KProg *p = prog_with_funcs(4);
    for (int i = 0; i < 4; i++) arena(p, 100, i, i + 1 < 4 ? i + 1 : i);
    plan_arena(p, 64);
    check_no_overlap(p);
    /* 400 bytes -> 448 aligned, two live at a time */
    ck_assert_int_eq(p->arena_lower_bound, 2 * 448);
    ck_assert_int_eq(p->arena_bytes, 2 * 448);
    kprog_free(p);
}
END_TEST

START_TEST(overlapping_ranges_never_share)
{
    KProg *p = prog_with_funcs(8);
    /* a deterministic jumble of sizes and ranges */
    unsigned s = 12345;
    for (int i = 0; i < 40; i++) {
        s = s * 1103515245u + 12345u;
        int first = (int)((s >> 16) % 8);
        s = s * 1103515245u + 12345u;
        int len = (int)((s >> 16) % 4);
        int last = first + len < 8 ? first + len : 7;
        s = s * 1103515245u + 12345u;
        arena(p, (int64_t)((s >> 16) % 700), first, last);
    }
    plan_arena(p, 16);
    check_no_overlap(p);
    /* the lower bound is exactly the most aligned bytes live at one step */
    int64_t lb = 0;
    for (int f = 0; f < 8; f++) {
        int64_t live = 0;
        for (int i = 0; i < p->ntensors; i++) {
            const KTensor *t = &p->tensors[i];
            if (t->first <= f && f <= t->last) live += (bytes(t) + 15) / 16 * 16;
        }
        if (live > lb) lb = live;
    }
    ck_assert_int_eq(p->arena_lower_bound, lb);
    kprog_free(p);
}
END_TEST

START_TEST(alignment_honoured)
{
    KProg *p = prog_with_funcs(2);
    int a = arena(p, 3, 0, 1);   /* 12 bytes */
    int b = arena(p, 5, 0, 1);   /* 20 bytes */
    int c = arena(p, 1, 1, 1);   /* 4 bytes */
    plan_arena(p, 128);
    check_no_overlap(p);
    ck_assert_int_eq(p->arena_align, 128);
    ck_assert_int_eq(p->tensors[a].offset % 128, 0);
    ck_assert_int_eq(p->tensors[b].offset % 128, 0);
    ck_assert_int_eq(p->tensors[c].offset % 128, 0);
    ck_assert_int_eq(p->arena_bytes, 3 * 128);
    ck_assert_int_eq(p->arena_lower_bound, 3 * 128);
    kprog_free(p);
}
END_TEST

START_TEST(zero_byte_and_untouched_tensors)
{
    KProg *p = prog_with_funcs(2);
    int z = arena(p, 0, 0, 1);
    int a = arena(p, 16, 0, 1);
    int u = arena(p, 16, -1, -1);  /* never read or written */
    plan_arena(p, 64);
    check_no_overlap(p);
    ck_assert_int_eq(p->tensors[z].offset, 0);
    ck_assert_int_eq(p->tensors[a].offset, 0);
    ck_assert_int_eq(p->tensors[u].offset, 0);
    ck_assert_int_eq(p->arena_bytes, 64);
    ck_assert_int_eq(p->arena_lower_bound, 64);
    kprog_free(p);
}
END_TEST

START_TEST(non_arena_tensors_ignored)
{
    KProg *p = prog_with_funcs(1);
    KTensor t;
    memset(&t, 0, sizeof t);
    t.name = "w";
    t.t = DT_F32;
    t.rank = 1;
    t.dims[0] = t.n = 1000;
    t.kind = KT_CONST;
    t.offset = -7;
    int w = kprog_tensor(p, &t);
    plan_arena(p, 64);
    ck_assert_int_eq(p->arena_bytes, 0);
    ck_assert_int_eq(p->arena_lower_bound, 0);
    ck_assert_int_eq(p->tensors[w].offset, -7);
    kprog_free(p);
}
END_TEST

/* ---- in place: programs with real loop bodies ---- */

static int tensor_k(KProg *p, KTensorKind kind, int64_t n)
{
    KTensor t;
    memset(&t, 0, sizeof t);
    t.name = "t";
    t.src_name = "t";
    t.t = DT_F32;
    t.rank = 1;
    t.dims[0] = n;
    t.n = n;
    t.kind = kind;
    t.first = t.last = -1;
    return kprog_tensor(p, &t);
}

/* dst[out_idx] = src[in_idx] * 2 over `loops` nested loops of the given trips; in_idx and
 * out_idx are "flat" (sum of vars times row-major strides), "rev" (n-1-i, one loop) or
 * "inner" (the innermost variable only). */
static KFunc *map_func(KProg *p, int src, int dst, int nloops, const int64_t *trips,
                       const char *in_idx, const char *out_idx, int plain_copy)
{
    KFunc *f = kprog_func(p, "f", "f");
    KB k;
    kb_init(&k, p->pool, f);
    int bi = src >= 0 ? kb_buf(&k, DT_F32, p->tensors[src].n, KR_IN, src) : -1;
    int bo = kb_buf(&k, DT_F32, p->tensors[dst].n, KR_OUT, dst);
    int vars[4];
    for (int i = 0; i < nloops; i++) vars[i] = kfor_n(&k, trips[i], KL_SERIAL);
    KExpr *flat = kindex(&k, nloops, trips, vars);
    KExpr *inner = kvar(&k, vars[nloops - 1]);
    KExpr *rev = ksub(&k, kc_idx(&k, trips[0] - 1), kvar(&k, vars[0]));
#define PICK(s) (!strcmp(s, "flat") ? flat : !strcmp(s, "rev") ? rev : inner)
    KExpr *val = bi < 0 ? kc_float(&k, DT_F32, 1.0) : kload(&k, bi, PICK(in_idx));
    if (!plain_copy && bi >= 0) val = kbin(&k, KB_MUL, val, kc_float(&k, DT_F32, 2.0));
    kstore(&k, bo, PICK(out_idx), val);
#undef PICK
    kend_n(&k, nloops);
    return f;
}

static void set_range(KProg *p, int t, int first, int last)
{
    p->tensors[t].first = first;
    p->tensors[t].last = last;
}

/* a -> (f1) -> b -> (f2) -> c: f1 reads a for the last time */
static KProg *chain3(const char *in_idx, const char *out_idx, int nloops, const int64_t *trips,
                     int plain_copy, int *ta, int *tb)
{
    KProg *p = kprog_new("t");
    int64_t n = 1;
    for (int i = 0; i < nloops; i++) n *= trips[i];
    int a = tensor_k(p, KT_ARENA, n), b = tensor_k(p, KT_ARENA, n), c = tensor_k(p, KT_ARENA, n);
    map_func(p, -1, a, nloops, trips, "flat", "flat", 0);
    map_func(p, a, b, nloops, trips, in_idx, out_idx, plain_copy);
    map_func(p, b, c, nloops, trips, "flat", "flat", 0);
    set_range(p, a, 0, 1);
    set_range(p, b, 1, 2);
    set_range(p, c, 2, 2);
    *ta = a;
    *tb = b;
    return p;
}

static void validate_ok(const KProg *p)
{
    char err[512];
    ck_assert_msg(plan_validate(p, err, sizeof err) == 0, "%s", err);
}

START_TEST(elementwise_in_place)
{
    int a, b;
    int64_t trips[2] = { 4, 64 };
    KProg *p = chain3("flat", "flat", 2, trips, 0, &a, &b);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_eq(p->tensors[a].offset, p->tensors[b].offset);
    ck_assert_int_eq(plan_inplace_count(p), 2);          /* b takes a's bytes, c takes b's */
    ck_assert_int_eq(p->arena_bytes, 1024);
    ck_assert_int_eq(p->arena_lower_bound, 1024);
    ck_assert_int_eq(plan_live_bytes(p, 1), 1024);
    ck_assert_int_eq(p->funcs[1]->skip, 0);               /* it computes: not a copy */
    kprog_free(p);
}
END_TEST

START_TEST(reversed_index_not_in_place)
{
    /* b[i] = a[n-1-i]: element n-1-i is read after b[n-1-i] would have overwritten it */
    int a, b;
    int64_t trips[1] = { 256 };
    KProg *p = chain3("rev", "flat", 1, trips, 0, &a, &b);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_ne(p->tensors[a].offset, p->tensors[b].offset);
    ck_assert_int_eq(p->arena_bytes, 2048);
    kprog_free(p);
}
END_TEST

START_TEST(repeated_store_not_in_place)
{
    /* loops 4 x 64 storing b[i1] = a[i1]: the outer loop rewrites every element, so a's
     * bytes would be gone on its second pass */
    KProg *p = kprog_new("t");
    int64_t trips[2] = { 4, 64 };
    int a = tensor_k(p, KT_ARENA, 64), b = tensor_k(p, KT_ARENA, 64), c = tensor_k(p, KT_ARENA, 64);
    int64_t one[1] = { 64 };
    map_func(p, -1, a, 1, one, "flat", "flat", 0);
    map_func(p, a, b, 2, trips, "inner", "inner", 0);
    map_func(p, b, c, 1, one, "flat", "flat", 0);
    set_range(p, a, 0, 1);
    set_range(p, b, 1, 2);
    set_range(p, c, 2, 2);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_ne(p->tensors[a].offset, p->tensors[b].offset);
    kprog_free(p);
}
END_TEST

START_TEST(input_read_later_not_in_place)
{
    int a, b;
    int64_t trips[1] = { 256 };
    KProg *p = chain3("flat", "flat", 1, trips, 0, &a, &b);
    set_range(p, a, 0, 2);   /* a later function still reads a */
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_ne(p->tensors[a].offset, p->tensors[b].offset);
    kprog_free(p);
}
END_TEST

START_TEST(copy_becomes_alias)
{
    int a, b;
    int64_t trips[1] = { 100 };
    KProg *p = chain3("flat", "flat", 1, trips, 1, &a, &b);
    plan_arena(p, 16);
    validate_ok(p);
    ck_assert_int_eq(p->tensors[a].offset, p->tensors[b].offset);
    ck_assert_int_eq(p->funcs[1]->skip, 1);
    ck_assert_int_eq(p->funcs[2]->skip, 0);
    kprog_free(p);
}
END_TEST

/* out[delta[i] + j] = src_i[j], j < n, one loop nest per input: a Concat */
static KFunc *concat_func(KProg *p, int nsrc, const int *srcs, int dst, int64_t n,
                          const int64_t *delta)
{
    KFunc *f = kprog_func(p, "f", "f");
    KB k;
    kb_init(&k, p->pool, f);
    int bo = kb_buf(&k, DT_F32, p->tensors[dst].n, KR_OUT, dst);
    for (int i = 0; i < nsrc; i++) {
        int bi = kb_buf(&k, DT_F32, p->tensors[srcs[i]].n, KR_IN, srcs[i]);
        int v = kfor_n(&k, n, KL_SERIAL);
        kstore(&k, bo, kbin(&k, KB_ADD, kvar(&k, v), kc_idx(&k, delta[i])),
               kload(&k, bi, kvar(&k, v)));
        kend_n(&k, 1);
    }
    return f;
}

/* f0 writes a, f1 writes c, f2 = Concat(a, c) -> b, f3 reads b */
static KProg *concat_prog(int64_t n, const int64_t *delta, int a_read_later, int *ta, int *tc,
                          int *tb)
{
    KProg *p = kprog_new("t");
    int a = tensor_k(p, KT_ARENA, n), c = tensor_k(p, KT_ARENA, n);
    int b = tensor_k(p, KT_ARENA, 2 * n), d = tensor_k(p, KT_ARENA, 2 * n);
    int64_t one[1] = { n }, two[1] = { 2 * n };
    int srcs[2] = { a, c };
    map_func(p, -1, a, 1, one, "flat", "flat", 0);
    map_func(p, a, c, 1, one, "flat", "flat", 0);
    concat_func(p, 2, srcs, b, n, delta);
    map_func(p, b, d, 1, two, "rev", "flat", 0);
    set_range(p, a, 0, a_read_later ? 3 : 2);
    set_range(p, c, 1, 2);
    set_range(p, b, 2, 3);
    set_range(p, d, 3, 3);
    *ta = a;
    *tc = c;
    *tb = b;
    return p;
}

START_TEST(concat_inputs_become_views)
{
    int a, c, b;
    int64_t delta[2] = { 0, 64 };
    KProg *p = concat_prog(64, delta, 0, &a, &c, &b);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_eq(p->tensors[a].offset, p->tensors[b].offset);
    ck_assert_int_eq(p->tensors[c].offset, p->tensors[b].offset + 256);
    ck_assert_int_eq(p->funcs[2]->skip, 1);
    ck_assert_int_eq(p->funcs[3]->skip, 0);
    /* b (512 bytes, live from a's first function) and d (512) */
    ck_assert_int_eq(p->arena_bytes, 1024);
    ck_assert_int_eq(p->arena_lower_bound, 1024);
    ck_assert_int_eq(plan_live_bytes(p, 2), 512);   /* a and c are inside b */
    /* moving c off its view is caught */
    p->tensors[c].offset = p->tensors[b].offset + 192;
    char err[512];
    ck_assert_int_eq(plan_validate(p, err, sizeof err), -1);
    kprog_free(p);

    /* swapped order: c first in b */
    int64_t swapped[2] = { 64, 0 };
    p = concat_prog(64, swapped, 0, &a, &c, &b);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_eq(p->tensors[a].offset, p->tensors[b].offset + 256);
    ck_assert_int_eq(p->tensors[c].offset, p->tensors[b].offset);
    ck_assert_int_eq(p->funcs[2]->skip, 1);
    kprog_free(p);
}
END_TEST

START_TEST(concat_views_refused)
{
    int a, c, b;
    /* a is still read after the Concat: it needs its own bytes, so no input is a view */
    int64_t delta[2] = { 0, 64 };
    KProg *p = concat_prog(64, delta, 1, &a, &c, &b);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_eq(p->funcs[2]->skip, 0);
    ck_assert(p->tensors[c].offset != p->tensors[b].offset + 256 ||
              p->tensors[a].offset != p->tensors[b].offset);
    kprog_free(p);

    /* the second input would start at byte 12, off the 64-byte alignment */
    int64_t odd[2] = { 3, 67 };
    p = concat_prog(64, odd, 0, &a, &c, &b);
    p->tensors[b].n = p->tensors[b].dims[0] = 131;
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_eq(p->funcs[2]->skip, 0);
    kprog_free(p);

    /* overlapping ranges (not a Concat): refused */
    int64_t overlap[2] = { 0, 32 };
    p = concat_prog(64, overlap, 0, &a, &c, &b);
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_eq(p->funcs[2]->skip, 0);
    kprog_free(p);
}
END_TEST

START_TEST(validate_catches_shared_bytes)
{
    int a, b;
    int64_t trips[1] = { 256 };
    KProg *p = chain3("rev", "flat", 1, trips, 0, &a, &b);
    plan_arena(p, 64);
    validate_ok(p);
    p->tensors[b].offset = p->tensors[a].offset;   /* not a legal in-place pair */
    char err[512];
    ck_assert_int_eq(plan_validate(p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "share bytes"));
    p->tensors[b].offset = p->arena_bytes;          /* outside the arena */
    ck_assert_int_eq(plan_validate(p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "outside"));
    kprog_free(p);
}
END_TEST

START_TEST(io_in_arena_planned)
{
    /* in -> (f0) -> t -> (f1) -> out, with I/O in the arena: the input is live from the
     * start, the output until the end, and both are placed */
    KProg *p = kprog_new("t");
    int in = tensor_k(p, KT_INPUT, 256), t = tensor_k(p, KT_ARENA, 256);
    int out = tensor_k(p, KT_OUTPUT, 256), u = tensor_k(p, KT_ARENA, 64);
    int64_t trips[1] = { 256 };
    map_func(p, in, t, 1, trips, "rev", "flat", 0);
    map_func(p, t, out, 1, trips, "flat", "flat", 0);
    p->io_in_arena = 1;
    set_range(p, in, 0, 0);
    set_range(p, t, 0, 1);
    set_range(p, out, 1, 1);
    set_range(p, u, 1, 1);   /* scratch of f1 */
    plan_arena(p, 64);
    validate_ok(p);
    ck_assert_int_ne(p->tensors[in].offset, p->tensors[t].offset);
    ck_assert_int_eq(p->tensors[t].offset, p->tensors[out].offset);   /* in place */
    ck_assert_int_eq(p->arena_bytes, 2048);   /* the scratch reuses the input's bytes */
    ck_assert_int_eq(p->arena_lower_bound, 2048);
    kprog_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_add_test(tc, disjoint_ranges_reuse_memory);
    tcase_add_test(tc, chain_needs_two_slots);
    tcase_add_test(tc, overlapping_ranges_never_share);
    tcase_add_test(tc, alignment_honoured);
    tcase_add_test(tc, zero_byte_and_untouched_tensors);
    tcase_add_test(tc, non_arena_tensors_ignored);
    tcase_add_test(tc, elementwise_in_place);
    tcase_add_test(tc, reversed_index_not_in_place);
    tcase_add_test(tc, repeated_store_not_in_place);
    tcase_add_test(tc, input_read_later_not_in_place);
    tcase_add_test(tc, copy_becomes_alias);
    tcase_add_test(tc, concat_inputs_become_views);
    tcase_add_test(tc, concat_views_refused);
    tcase_add_test(tc, validate_catches_shared_bytes);
    tcase_add_test(tc, io_in_arena_planned);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
