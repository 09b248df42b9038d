/* f16_prog.h — one float16/bfloat16 program shared by the C and LLVM back end tests: built
 * here, run by each back end, and compared bit for bit with the loop IR interpreter (the
 * reference). The inputs sit where per-operation rounding shows: ties, overflow to inf,
 * subnormals, float64 values that round differently through float, integers past 2048. */
#ifndef ONNXCC_TEST_F16_PROG_H
#define ONNXCC_TEST_F16_PROG_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kir.h"

#define F16N 8

static uint16_t f16_x[F16N], f16_w[F16N], f16_y[F16N];
static double f16_d[F16N] = {
    1.0 + 0x1p-11 + 0x1p-40,  /* float rounds it to the tie 1 + 2^-11; half rounds up */
    70000.0, 1e-9, -3.0000001, 65519.99, 65520.0, 0x1p-25 + 0x1p-50, -0.0
};
static int64_t f16_i[F16N] = { 2049, 4097, 100000, -7, 0, 65504, -65519, 1 };

static void f16_init(void)
{
    static const double x[F16N] = { 1.0, 0x1p-11, -2.5, 0x1p-24, 300.0, -0.0, 65504.0, 0.333 };
    static const double w[F16N] = { 0x1p-11, 1.0, 3.0, 0x1p-24, 250.0, 7.0, 2.0, -0.1 };
    static const double y[F16N] = { 1.0, 3.0, -0.5, 1e30, 3.3e38, 1.00390625, 0x1p-130, 7.0 };
    for (int i = 0; i < F16N; i++) {
        f16_x[i] = kir_f16_bits(x[i]);
        f16_w[i] = kir_f16_bits(w[i]);
        f16_y[i] = kir_bf16_bits(y[i]);
    }
}

/* Inputs x f16, y bf16, d f64, i i64; weight w f16. Outputs:
 *   o0 f16  = exp(x * w + x) ; o1 f16 = fmod(x, w), min(x, w), x > w ? x : w, -|x|
 *   o2 f16  = (f16)d ; o3 f16 = (f16)i ; o4 bf16 = y * y + (bf16)x ; o5 f32 = (f32)x + (f32)y
 *   o6 i32  = (i32)x (truncation) ; o7 bf16 = (bf16)d
 * plus a float16 accumulator variable (o8 f16[1] = sum of x, rounded at each step). */
enum { F16_NOUT = 9 };

static KProg *f16_prog(void)
{
    KProg *p = kprog_new("h16");
    KTensor t;
    static const DType odt[F16_NOUT] = { DT_F16, DT_F16, DT_F16, DT_F16, DT_BF16, DT_F32,
                                         DT_I32, DT_BF16, DT_F16 };
    static const int64_t on[F16_NOUT] = { F16N, 4 * F16N, F16N, F16N, F16N, F16N, F16N, F16N, 1 };
    static const char *const onames[F16_NOUT] = { "o0", "o1", "o2", "o3", "o4", "o5", "o6",
                                                  "o7", "o8" };
    static const char *const inames[4] = { "x", "y", "d", "i" };
    static const DType idt[4] = { DT_F16, DT_BF16, DT_F64, DT_I64 };
    int ins[4], outs[F16_NOUT], w;
    for (int k = 0; k < 4 + F16_NOUT + 1; k++) {
        memset(&t, 0, sizeof t);
        t.rank = 1;
        if (k < 4) {
            t.name = inames[k];
            t.t = idt[k];
            t.n = F16N;
            t.kind = KT_INPUT;
        } else if (k < 4 + F16_NOUT) {
            t.name = onames[k - 4];
            t.t = odt[k - 4];
            t.n = on[k - 4];
            t.kind = KT_OUTPUT;
        } else {
            t.name = "w";
            t.t = DT_F16;
            t.n = F16N;
            t.kind = KT_CONST;
            t.data = f16_w;
        }
        t.src_name = t.name;
        t.dims[0] = t.n;
        int id = kprog_tensor(p, &t);
        if (k < 4) ins[k] = id;
        else if (k < 4 + F16_NOUT) outs[k - 4] = id;
        else w = id;
    }
    p->inputs = pool_alloc(p->pool, sizeof ins);
    memcpy(p->inputs, ins, sizeof ins);
    p->ninputs = 4;
    p->outputs = pool_alloc(p->pool, sizeof outs);
    memcpy(p->outputs, outs, sizeof outs);
    p->noutputs = F16_NOUT;

    KB k;
    KFunc *f = kprog_func(p, "node_h16", "float16 and bfloat16 arithmetic");
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F16, F16N, KR_IN, ins[0]), by = kb_buf(&k, DT_BF16, F16N, KR_IN, ins[1]);
    int bd = kb_buf(&k, DT_F64, F16N, KR_IN, ins[2]), bi = kb_buf(&k, DT_I64, F16N, KR_IN, ins[3]);
    int bw = kb_buf(&k, DT_F16, F16N, KR_IN, w);
    int bo[F16_NOUT];
    for (int o = 0; o < F16_NOUT; o++) bo[o] = kb_buf(&k, odt[o], on[o], KR_OUT, outs[o]);
    int acc = kdecl(&k, DT_F16, kc_float(&k, DT_F16, 0.0));
    int i = kfor_n(&k, F16N, KL_SERIAL);
    KExpr *I = kvar(&k, i);
    KExpr *x = kload(&k, bx, I), *wv = kload(&k, bw, I), *y = kload(&k, by, I);
    KExpr *d = kload(&k, bd, I);
    kstore(&k, bo[0], I, kun(&k, KU_EXP, kadd(&k, kmul(&k, x, wv), x)));
    kstore(&k, bo[1], kmuli(&k, I, 4), kbin(&k, KB_REM, x, wv));
    kstore(&k, bo[1], kaddi(&k, kmuli(&k, I, 4), 1), kbin(&k, KB_MIN, x, wv));
    kstore(&k, bo[1], kaddi(&k, kmuli(&k, I, 4), 2), ksel(&k, kbin(&k, KB_GT, x, wv), x, wv));
    kstore(&k, bo[1], kaddi(&k, kmuli(&k, I, 4), 3), kun(&k, KU_NEG, kun(&k, KU_ABS, x)));
    kstore(&k, bo[2], I, kcast(&k, DT_F16, d));
    kstore(&k, bo[3], I, kcast(&k, DT_F16, kload(&k, bi, I)));
    kstore(&k, bo[4], I, kadd(&k, kmul(&k, y, y), kcast(&k, DT_BF16, x)));
    kstore(&k, bo[5], I, kadd(&k, kcast(&k, DT_F32, x), kcast(&k, DT_F32, y)));
    kstore(&k, bo[6], I, kcast(&k, DT_I32, x));
    kstore(&k, bo[7], I, kcast(&k, DT_BF16, d));
    /* 0.333 (f16) added in float16 steps: the sum drifts from the float32 sum */
    kset(&k, acc, kadd(&k, kvar(&k, acc), kc_float(&k, DT_F16, 0.333)));
    kend(&k);
    kstore(&k, bo[8], kc_idx(&k, 0), kadd(&k, kvar(&k, acc), kc_float(&k, DT_F16, 0x1p-11)));
    return p;
}

/* The interpreter's outputs for the program (one function, inputs and weights only). */
static void f16_reference(const KProg *p, const void *const *ins, void **outs)
{
    const KFunc *f = p->funcs[0];
    void *mem[32];
    for (int b = 0; b < f->nbufs; b++) {
        int ti = f->bufs[b].tensor;
        const KTensor *t = &p->tensors[ti];
        mem[b] = NULL;
        if (t->kind == KT_CONST) mem[b] = (void *)t->data;
        for (int j = 0; j < p->ninputs; j++)
            if (p->inputs[j] == ti) mem[b] = (void *)ins[j];
        for (int j = 0; j < p->noutputs; j++)
            if (p->outputs[j] == ti) {
                outs[j] = calloc((size_t)t->n, (size_t)dt_size(t->t));
                mem[b] = outs[j];
            }
    }
    char err[256];
    ck_assert_msg(kir_interp(f, mem, err, sizeof err) == 0, "interp: %s", err);
}

/* Bit-exact comparison of every output with the reference; NaN only needs to be NaN. */
static void f16_compare(const KProg *p, void **got, void **want, const char *who)
{
    for (int o = 0; o < p->noutputs; o++) {
        const KTensor *t = &p->tensors[p->outputs[o]];
        int sz = dt_size(t->t);
        for (int64_t e = 0; e < t->n; e++) {
            const unsigned char *a = (const unsigned char *)got[o] + e * sz;
            const unsigned char *b = (const unsigned char *)want[o] + e * sz;
            if (!memcmp(a, b, (size_t)sz)) continue;
            uint16_t ha, hb;
            memcpy(&ha, a, 2);
            memcpy(&hb, b, 2);
            int nan = (t->t == DT_F16 && isnan(kir_f16_value(ha)) && isnan(kir_f16_value(hb))) ||
                      (t->t == DT_BF16 && isnan(kir_bf16_value(ha)) && isnan(kir_bf16_value(hb)));
            ck_assert_msg(nan, "%s: output %s[%lld] differs from the interpreter (0x%04x vs 0x%04x)",
                          who, t->name, (long long)e, (unsigned)ha, (unsigned)hb);
        }
    }
}

/* Spot checks of the reference itself against values worked out by hand. */
static void f16_check_known(void **want)
{
    const uint16_t *o0 = want[0], *o2 = want[2], *o3 = want[3], *o7 = want[7];
    const uint16_t *o4 = want[4];
    ck_assert_uint_eq(o0[0], kir_f16_bits(exp(1.0)));   /* 1 * 2^-11 + 1 rounds to 1 */
    ck_assert_uint_eq(o0[6], 0x7c00);                    /* 65504 * 2 + 65504: inf */
    ck_assert_uint_eq(o2[0], 0x3c01);                    /* rounded once, not twice */
    ck_assert_uint_eq(o2[1], 0x7c00);
    ck_assert_uint_eq(o2[4], 0x7bff);                    /* 65519.99 -> 65504 */
    ck_assert_uint_eq(o2[5], 0x7c00);                    /* 65520 -> inf (tie to even) */
    ck_assert_uint_eq(o2[6], 0x0001);                    /* just above half the least subnormal */
    ck_assert_uint_eq(o3[0], kir_f16_bits(2048.0));      /* 2049: tie to even */
    ck_assert_uint_eq(o3[2], 0x7c00);
    ck_assert_uint_eq(o7[0], 0x3f80);                    /* bf16 */
    ck_assert_uint_eq(o4[5], 0x3f80);    /* 1.00390625 is a bf16 tie (to 1); 1 * 1 + -0 */
    ck_assert_uint_eq(o4[3], 0x7f80);    /* 1e30 * 1e30 overflows float: inf */
}

#endif
