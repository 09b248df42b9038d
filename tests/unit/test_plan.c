/* test_plan.c — the arena planner on hand-made programs: memory reuse across disjoint live
 * ranges, no shared byte between tensors live at the same time (every pair), alignment,
 * the lower bound, and degenerate tensors (zero bytes, untouched). */
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
