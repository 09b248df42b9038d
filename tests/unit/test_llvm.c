/* test_llvm.c — the LLVM back end end to end: small KProgs built by hand with the kir.h
 * builder are compiled by cgen_llvm_write to NAME.o + NAME.h, linked with the C harness
 * (cgen_c_harness) by cc, run on raw input files, and their outputs compared with values
 * computed here independently: integer wrap-around, C division and remainder, casts,
 * select with a guarded load, nested loops with a reduction, bool stores, and a weight
 * holding NaN, infinities and -0 (bit-exact). Where the AArch64 cross tools and qemu-user
 * are installed the same programs also run as AArch64 code. Models whose MatMul/Gemm/Conv
 * lower to runtime kernels (when onnxcc was built with the runtime bitcode) go through the
 * whole pipeline: the object calls the kernels, links with -lm alone, exports only
 * NAME_run, and matches the model's test data at every runtime feature level. The
 * Cortex-M objects are checked as files here (ELF flags, symbols); they run in
 * samples/firmware/run_object.sh. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "codegen.h"
#include "onnxcc.h"

#define MAXIO 8

typedef struct Tgt {
    const char *name, *triple, *cc, *ldflags, *exec;
} Tgt;

static const Tgt tgts[] = {
    { "x86_64", "x86_64-unknown-linux-gnu", "cc", "", "" },
    { "aarch64", "aarch64-unknown-linux-gnu", "aarch64-linux-gnu-gcc", "-static",
      "qemu-aarch64 -L /usr/aarch64-linux-gnu " },
};

static int have_tool(const char *tool)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static int tgt_usable(const Tgt *t)
{
    if (!strcmp(t->name, "x86_64")) return 1;
    return have_tool(t->cc) && have_tool("qemu-aarch64");
}

static char *slurp(const char *path)
{
    unsigned char *d;
    size_t n;
    if (read_file(path, &d, &n) != 0) return NULL;
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = 0;
    free(d);
    return s;
}

/* ---- building programs ---- */

static int add_tensor(KProg *p, const char *name, DType t, int64_t n, KTensorKind kind,
                      const void *data)
{
    KTensor kt;
    memset(&kt, 0, sizeof kt);
    kt.name = name;
    kt.src_name = name;
    kt.t = t;
    kt.rank = 1;
    kt.dims[0] = n;
    kt.n = n;
    kt.kind = kind;
    kt.data = data;
    return kprog_tensor(p, &kt);
}

static void set_io(KProg *p, const int *ins, int nin, const int *outs, int nout)
{
    p->inputs = pool_alloc(p->pool, sizeof(int) * (size_t)(nin + 1));
    p->outputs = pool_alloc(p->pool, sizeof(int) * (size_t)(nout + 1));
    memcpy(p->inputs, ins, sizeof(int) * (size_t)nin);
    memcpy(p->outputs, outs, sizeof(int) * (size_t)nout);
    p->ninputs = nin;
    p->noutputs = nout;
}

static size_t tbytes(const KProg *p, int t)
{
    return (size_t)p->tensors[t].n * (size_t)dt_size(p->tensors[t].t);
}

/* build_and_run's --cpu (NULL: the target's default), and when want_syms is set, the
 * object's undefined and defined global symbols (nm), filled before the build dir goes */
static const char *run_cpu;
static int want_syms;
static char *undef_syms, *def_syms;

static void read_syms(const char *dir, const char *name)
{
    char cmd[1200], path[600];
    const char *nm = have_tool("llvm-nm-19") ? "llvm-nm-19" : "nm";
    free(undef_syms);
    free(def_syms);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -u %s.o >undef.txt && %s -g --defined-only %s.o >def.txt", dir, nm,
             name, nm, name);
    ck_assert_msg(system(cmd) == 0, "%s failed in %s", nm, dir);
    snprintf(path, sizeof path, "%s/undef.txt", dir);
    undef_syms = slurp(path);
    snprintf(path, sizeof path, "%s/def.txt", dir);
    def_syms = slurp(path);
    ck_assert(undef_syms && def_syms);
}

/* Compiles p for target t, links the harness, runs it on ins; outs are malloc'd. Returns
 * 0, or 1 when the target's tools are missing (the caller skips). */
static int build_and_run(const KProg *p, const Tgt *t, const void *const *ins, void **outs)
{
    if (!tgt_usable(t)) return 1;
    char tmpl[256], cmd[4096], path[600];
    const char *base = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/onnxcc_llvm_XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert_msg(dir != NULL, "mkdtemp failed");
    LlvmOptions o;
    memset(&o, 0, sizeof o);
    o.target = t->name;
    o.triple = t->triple;
    o.cpu = run_cpu;
    o.opt_level = 2;
    char *err = NULL;
    ck_assert_msg(cgen_llvm_write(p, dir, &o, &err) == 0, "cgen_llvm_write: %s", err ? err : "?");
    if (want_syms) read_syms(dir, p->name);
    char *h = cgen_c_harness(p);
    snprintf(path, sizeof path, "%s/main.c", dir);
    ck_assert_int_eq(write_file_atomic(path, h, strlen(h)), 0);
    free(h);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -std=c99 -Wall -Wextra -pedantic -Werror -O1 %s -o prog main.c %s.o "
             "-lm >cc.log 2>&1", dir, t->cc, t->ldflags, p->name);
    if (system(cmd) != 0) {
        snprintf(path, sizeof path, "%s/cc.log", dir);
        char *log = slurp(path);
        ck_abort_msg("%s failed in %s:\n%.3000s", t->cc, dir, log ? log : "");
    }
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && %s./prog", dir, t->exec);
    for (int i = 0; i < p->ninputs; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        ck_assert_int_eq(write_file_atomic(path, ins[i], tbytes(p, p->inputs[i])), 0);
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " in%d.bin", i);
    }
    for (int i = 0; i < p->noutputs; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " out%d.bin", i);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >run.log 2>&1");
    ck_assert_msg(system(cmd) == 0, "running %s/prog (%s) failed", dir, t->name);
    for (int i = 0; i < p->noutputs; i++) {
        snprintf(path, sizeof path, "%s/out%d.bin", dir, i);
        unsigned char *d;
        size_t len;
        ck_assert_msg(read_file(path, &d, &len) == 0, "no output %s", path);
        ck_assert_uint_eq(len, tbytes(p, p->outputs[i]));
        outs[i] = d;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return 0;
}

/* ---- integer wrap-around, division, remainder, shifts ---- */

static KProg *int_prog(void)
{
    KProg *p = kprog_new("ints");
    int a8 = add_tensor(p, "a8", DT_I8, 4, KT_INPUT, NULL);
    int b8 = add_tensor(p, "b8", DT_I8, 4, KT_INPUT, NULL);
    int a32 = add_tensor(p, "a32", DT_I32, 4, KT_INPUT, NULL);
    int b32 = add_tensor(p, "b32", DT_I32, 4, KT_INPUT, NULL);
    int u8 = add_tensor(p, "u8", DT_U8, 4, KT_INPUT, NULL);
    int o_add8 = add_tensor(p, "add8", DT_I8, 4, KT_OUTPUT, NULL);
    int o_div8 = add_tensor(p, "div8", DT_I8, 4, KT_OUTPUT, NULL);
    int o_mul32 = add_tensor(p, "mul32", DT_I32, 4, KT_OUTPUT, NULL);
    int o_div32 = add_tensor(p, "div32", DT_I32, 4, KT_OUTPUT, NULL);
    int o_rem32 = add_tensor(p, "rem32", DT_I32, 4, KT_OUTPUT, NULL);
    int o_u8 = add_tensor(p, "shl_u8", DT_U8, 4, KT_OUTPUT, NULL);
    int o_sub = add_tensor(p, "sub_u8", DT_U8, 4, KT_OUTPUT, NULL);
    int ins[] = { a8, b8, a32, b32, u8 };
    int outs[] = { o_add8, o_div8, o_mul32, o_div32, o_rem32, o_u8, o_sub };
    set_io(p, ins, 5, outs, 7);
    KFunc *f = kprog_func(p, "node0_ints", "integer semantics");
    KB k;
    kb_init(&k, p->pool, f);
    int bin[5], bout[7];
    for (int i = 0; i < 5; i++) bin[i] = kb_buf(&k, p->tensors[ins[i]].t, 4, KR_IN, ins[i]);
    for (int i = 0; i < 7; i++) bout[i] = kb_buf(&k, p->tensors[outs[i]].t, 4, KR_OUT, outs[i]);
    int i = kfor_n(&k, 4, KL_SERIAL);
    KExpr *ix = kvar(&k, i);
    kstore(&k, bout[0], ix, kbin(&k, KB_ADD, kload(&k, bin[0], ix), kload(&k, bin[1], ix)));
    kstore(&k, bout[1], ix, kbin(&k, KB_DIV, kload(&k, bin[0], ix), kload(&k, bin[1], ix)));
    kstore(&k, bout[2], ix, kbin(&k, KB_MUL, kload(&k, bin[2], ix), kload(&k, bin[3], ix)));
    kstore(&k, bout[3], ix, kbin(&k, KB_DIV, kload(&k, bin[2], ix), kload(&k, bin[3], ix)));
    kstore(&k, bout[4], ix, kbin(&k, KB_REM, kload(&k, bin[2], ix), kload(&k, bin[3], ix)));
    kstore(&k, bout[5], ix, kbin(&k, KB_SHL, kload(&k, bin[4], ix), kc_int(&k, DT_U8, 4)));
    kstore(&k, bout[6], ix, kbin(&k, KB_SUB, kc_int(&k, DT_U8, 0), kload(&k, bin[4], ix)));
    kend(&k);
    return p;
}

static void run_ints(const Tgt *t)
{
    KProg *p = int_prog();
    int8_t a8[4] = { 100, -128, 7, -7 }, b8[4] = { 100, -1, -2, 2 };
    int32_t a32[4] = { 65536, -7, 7, INT32_MAX }, b32[4] = { 65536, 2, -2, 3 };
    uint8_t u8[4] = { 1, 16, 255, 0 };
    const void *ins[] = { a8, b8, a32, b32, u8 };
    void *outs[MAXIO];
    if (build_and_run(p, t, ins, outs)) goto done;
    const int8_t *add8 = outs[0], *div8 = outs[1];
    const int32_t *mul32 = outs[2], *div32 = outs[3], *rem32 = outs[4];
    const uint8_t *shl = outs[5], *sub = outs[6];
    ck_assert_int_eq(add8[0], -56);        /* 200 wraps */
    ck_assert_int_eq(add8[1], 127);        /* -129 wraps */
    ck_assert_int_eq(div8[1], -128);       /* C: -128 / -1 = 128 as int, back to int8 */
    ck_assert_int_eq(div8[2], -3);         /* truncation toward zero */
    ck_assert_int_eq(div8[3], -3);
    ck_assert_int_eq(mul32[0], 0);         /* 2^32 wraps */
    ck_assert_int_eq(div32[1], -3);
    ck_assert_int_eq(rem32[1], -1);        /* the sign of the dividend */
    ck_assert_int_eq(rem32[2], 1);
    ck_assert_int_eq(div32[3], INT32_MAX / 3);
    ck_assert_uint_eq(shl[0], 16);
    ck_assert_uint_eq(shl[1], 0);          /* 256 wraps in uint8 */
    ck_assert_uint_eq(shl[2], 240);
    ck_assert_uint_eq(sub[0], 255);
    ck_assert_uint_eq(sub[3], 0);
    for (int i = 0; i < 7; i++) free(outs[i]);
done:
    kprog_free(p);
}

/* ---- casts and float remainder ---- */

static KProg *cast_prog(void)
{
    KProg *p = kprog_new("casts");
    int x = add_tensor(p, "x", DT_F32, 6, KT_INPUT, NULL);
    int q = add_tensor(p, "q", DT_I64, 6, KT_INPUT, NULL);
    int o_i32 = add_tensor(p, "to_i32", DT_I32, 6, KT_OUTPUT, NULL);
    int o_u8 = add_tensor(p, "to_u8", DT_U8, 6, KT_OUTPUT, NULL);
    int o_b = add_tensor(p, "to_bool", DT_BOOL, 6, KT_OUTPUT, NULL);
    int o_f64 = add_tensor(p, "to_f64", DT_F64, 6, KT_OUTPUT, NULL);
    int o_i8 = add_tensor(p, "q_i8", DT_I8, 6, KT_OUTPUT, NULL);
    int o_qf = add_tensor(p, "q_f32", DT_F32, 6, KT_OUTPUT, NULL);
    int o_rem = add_tensor(p, "fmod", DT_F32, 6, KT_OUTPUT, NULL);
    int o_bf = add_tensor(p, "bool_f32", DT_F32, 6, KT_OUTPUT, NULL);
    int ins[] = { x, q };
    int outs[] = { o_i32, o_u8, o_b, o_f64, o_i8, o_qf, o_rem, o_bf };
    set_io(p, ins, 2, outs, 8);
    KFunc *f = kprog_func(p, "node0_casts", "casts");
    KB k;
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 6, KR_IN, x), bq = kb_buf(&k, DT_I64, 6, KR_IN, q);
    int bo[8];
    for (int i = 0; i < 8; i++) bo[i] = kb_buf(&k, p->tensors[outs[i]].t, 6, KR_OUT, outs[i]);
    int i = kfor_n(&k, 6, KL_VECTOR);
    KExpr *ix = kvar(&k, i);
    KExpr *xv = kload(&k, bx, ix), *qv = kload(&k, bq, ix);
    kstore(&k, bo[0], ix, kcast(&k, DT_I32, xv));
    kstore(&k, bo[1], ix, kcast(&k, DT_U8, xv));
    kstore(&k, bo[2], ix, kcast(&k, DT_BOOL, xv));
    kstore(&k, bo[3], ix, kcast(&k, DT_F64, xv));
    kstore(&k, bo[4], ix, kcast(&k, DT_I8, qv));
    kstore(&k, bo[5], ix, kcast(&k, DT_F32, qv));
    kstore(&k, bo[6], ix, kbin(&k, KB_REM, xv, kc_float(&k, DT_F32, 2.0)));
    kstore(&k, bo[7], ix, kcast(&k, DT_F32, kcast(&k, DT_BOOL, qv)));
    kend(&k);
    return p;
}

static void run_casts(const Tgt *t)
{
    KProg *p = cast_prog();
    float x[6] = { -2.75f, 2.75f, 200.5f, 0.0f, NAN, -7.5f };
    int64_t q[6] = { 300, -129, 0, 1LL << 40, -1, 16777217 };
    const void *ins[] = { x, q };
    void *outs[MAXIO];
    if (build_and_run(p, t, ins, outs)) goto done;
    const int32_t *i32 = outs[0];
    const uint8_t *u8 = outs[1], *b = outs[2];
    const double *f64 = outs[3];
    const int8_t *i8 = outs[4];
    const float *qf = outs[5], *rem = outs[6], *bf = outs[7];
    ck_assert_int_eq(i32[0], -2);          /* truncation */
    ck_assert_int_eq(i32[1], 2);
    ck_assert_int_eq(i32[2], 200);
    ck_assert_uint_eq(u8[2], 200);
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(b[3], 0);
    ck_assert_uint_eq(b[4], 1);            /* NaN is nonzero */
    ck_assert(f64[0] == -2.75 && f64[2] == 200.5);
    ck_assert_int_eq(i8[0], 44);           /* 300 truncated to 8 bits */
    ck_assert_int_eq(i8[1], 127);          /* -129 */
    ck_assert_int_eq(i8[4], -1);
    ck_assert(qf[3] == 1099511627776.0f);
    ck_assert(qf[5] == 16777216.0f);       /* rounded to nearest float */
    ck_assert(rem[5] == -1.5f);            /* fmod keeps the dividend's sign */
    ck_assert(rem[1] == 0.75f);
    ck_assert(isnan(rem[4]));
    ck_assert(bf[0] == 1.0f && bf[2] == 0.0f && bf[4] == 1.0f);
    for (int i = 0; i < 8; i++) free(outs[i]);
done:
    kprog_free(p);
}

/* ---- select guarding a load, logical ops, bool stores, nested reduction ---- */

static KProg *logic_prog(void)
{
    KProg *p = kprog_new("logic");
    int x = add_tensor(p, "x", DT_F32, 20, KT_INPUT, NULL);   /* a 4x5 matrix */
    int y = add_tensor(p, "y", DT_F32, 3, KT_INPUT, NULL);
    int o_sum = add_tensor(p, "rowsum", DT_F32, 4, KT_OUTPUT, NULL);
    int o_pad = add_tensor(p, "padded", DT_F32, 6, KT_OUTPUT, NULL);
    int o_and = add_tensor(p, "both", DT_BOOL, 20, KT_OUTPUT, NULL);
    int o_xor = add_tensor(p, "either", DT_BOOL, 20, KT_OUTPUT, NULL);
    int o_max = add_tensor(p, "rowmax", DT_F32, 4, KT_OUTPUT, NULL);
    int ins[] = { x, y };
    int outs[] = { o_sum, o_pad, o_and, o_xor, o_max };
    set_io(p, ins, 2, outs, 5);
    KFunc *f = kprog_func(p, "node0_logic", "logic");
    KB k;
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 20, KR_IN, x), by = kb_buf(&k, DT_F32, 3, KR_IN, y);
    int bs = kb_buf(&k, DT_F32, 4, KR_OUT, o_sum), bp = kb_buf(&k, DT_F32, 6, KR_OUT, o_pad);
    int ba = kb_buf(&k, DT_BOOL, 20, KR_OUT, o_and), bxr = kb_buf(&k, DT_BOOL, 20, KR_OUT, o_xor);
    int bm = kb_buf(&k, DT_F32, 4, KR_OUT, o_max);
    /* rows: sum and max, a reduction in a nested loop */
    int r = kfor_n(&k, 4, KL_PARALLEL);
    int acc = kdecl(&k, DT_F32, kc_float(&k, DT_F32, 0.0));
    int mx = kdecl(&k, DT_F32, kc_float(&k, DT_F32, -INFINITY));
    int c = kfor_n(&k, 5, KL_REDUCE);
    KExpr *at = kadd(&k, kmuli(&k, kvar(&k, r), 5), kvar(&k, c));
    kset(&k, acc, kbin(&k, KB_ADD, kvar(&k, acc), kload(&k, bx, at)));
    kset(&k, mx, kbin(&k, KB_MAX, kvar(&k, mx), kload(&k, bx, at)));
    /* bools: x > 0 && x < 3, and (x > 0) xor (x is an integer) */
    KExpr *xv = kload(&k, bx, at);
    kstore(&k, ba, at, kbin(&k, KB_AND, kbin(&k, KB_GT, xv, kc_float(&k, DT_F32, 0.0)),
                             kbin(&k, KB_LT, xv, kc_float(&k, DT_F32, 3.0))));
    kstore(&k, bxr, at, kbin(&k, KB_XOR, kbin(&k, KB_GT, xv, kc_float(&k, DT_F32, 0.0)),
                              kbin(&k, KB_EQ, kun(&k, KU_FLOOR, xv), xv)));
    kend(&k);
    kstore(&k, bs, kvar(&k, r), kvar(&k, acc));
    kstore(&k, bm, kvar(&k, r), kvar(&k, mx));
    kend(&k);
    /* padding: out[i] = 1 <= i && i < 4 ? y[i - 1] : -1, the load only when inside */
    int i = kfor_n(&k, 6, KL_VECTOR);
    KExpr *iv = kvar(&k, i);
    KExpr *inside = kbin(&k, KB_AND, kbin(&k, KB_GE, iv, kc_idx(&k, 1)),
                         kbin(&k, KB_LT, iv, kc_idx(&k, 4)));
    kstore(&k, bp, iv, ksel(&k, inside, kload(&k, by, kaddi(&k, iv, -1)),
                            kc_float(&k, DT_F32, -1.0)));
    kend(&k);
    return p;
}

static void run_logic(const Tgt *t)
{
    KProg *p = logic_prog();
    float x[20], y[3] = { 10, 20, 30 };
    for (int i = 0; i < 20; i++) x[i] = (float)(i % 7) * 0.5f - 1.0f;
    const void *ins[] = { x, y };
    void *outs[MAXIO];
    if (build_and_run(p, t, ins, outs)) goto done;
    const float *sum = outs[0], *pad = outs[1], *mx = outs[4];
    const uint8_t *both = outs[2], *either = outs[3];
    for (int r = 0; r < 4; r++) {
        float s = 0, m = -INFINITY;
        for (int c = 0; c < 5; c++) {
            s += x[r * 5 + c];
            if (x[r * 5 + c] > m) m = x[r * 5 + c];
        }
        ck_assert_msg(sum[r] == s, "row %d: sum %g, expected %g", r, sum[r], s);
        ck_assert(mx[r] == m);
    }
    for (int i = 0; i < 20; i++) {
        int pos = x[i] > 0, in = pos && x[i] < 3, integral = floorf(x[i]) == x[i];
        ck_assert_uint_eq(both[i], (unsigned)in);
        ck_assert_uint_eq(either[i], (unsigned)(pos != integral));
    }
    const float want[6] = { -1, 10, 20, 30, -1, -1 };
    for (int i = 0; i < 6; i++) ck_assert(pad[i] == want[i]);
    for (int i = 0; i < 5; i++) free(outs[i]);
done:
    kprog_free(p);
}

/* ---- weights: exact bits of NaN, infinities and -0, through the arena ---- */

static float wdata[6];
static const int16_t w16[3] = { -32768, 12345, -1 };

static KProg *weight_prog(void)
{
    uint32_t qnan = 0x7fc00123u, nnan = 0xffc00000u;
    memcpy(&wdata[0], &qnan, 4);
    memcpy(&wdata[1], &nnan, 4);
    wdata[2] = INFINITY;
    wdata[3] = -INFINITY;
    wdata[4] = -0.0f;
    wdata[5] = 0x1.fffffep127f;
    KProg *p = kprog_new("weights");
    int x = add_tensor(p, "x", DT_F32, 6, KT_INPUT, NULL);
    int w = add_tensor(p, "w", DT_F32, 6, KT_CONST, wdata);
    int w2 = add_tensor(p, "w2", DT_I16, 3, KT_CONST, w16);
    int tmp = add_tensor(p, "t", DT_F32, 6, KT_ARENA, NULL);
    p->tensors[tmp].offset = 64;
    p->arena_bytes = 128;
    int o = add_tensor(p, "y", DT_F32, 6, KT_OUTPUT, NULL);
    int o2 = add_tensor(p, "z", DT_I16, 3, KT_OUTPUT, NULL);
    int ins[] = { x };
    int outs[] = { o, o2 };
    set_io(p, ins, 1, outs, 2);
    /* node 0: t = w (copy into the arena); node 1: y = x == 0 ? t : x, z = w2 */
    KFunc *f = kprog_func(p, "node0_copy", "copy a weight into the arena");
    KB k;
    kb_init(&k, p->pool, f);
    int bw = kb_buf(&k, DT_F32, 6, KR_IN, w), bt = kb_buf(&k, DT_F32, 6, KR_OUT, tmp);
    int i = kfor_n(&k, 6, KL_VECTOR);
    kstore(&k, bt, kvar(&k, i), kload(&k, bw, kvar(&k, i)));
    kend(&k);
    f = kprog_func(p, "node1_pick", "weight where the input is zero");
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 6, KR_IN, x);
    bt = kb_buf(&k, DT_F32, 6, KR_IN, tmp);
    int bo = kb_buf(&k, DT_F32, 6, KR_OUT, o);
    int bw2 = kb_buf(&k, DT_I16, 3, KR_IN, w2), bo2 = kb_buf(&k, DT_I16, 3, KR_OUT, o2);
    i = kfor_n(&k, 6, KL_VECTOR);
    KExpr *xv = kload(&k, bx, kvar(&k, i));
    kstore(&k, bo, kvar(&k, i), ksel(&k, kbin(&k, KB_EQ, xv, kc_float(&k, DT_F32, 0.0)),
                                     kload(&k, bt, kvar(&k, i)), xv));
    kend(&k);
    i = kfor_n(&k, 3, KL_SERIAL);
    kstore(&k, bo2, kvar(&k, i), kload(&k, bw2, kvar(&k, i)));
    kend(&k);
    return p;
}

static void run_weights(const Tgt *t)
{
    KProg *p = weight_prog();
    float x[6] = { 0, 0, 0, 0, 0, 0 };
    const void *ins[] = { x };
    void *outs[MAXIO];
    if (build_and_run(p, t, ins, outs)) goto done;
    ck_assert_msg(memcmp(outs[0], wdata, sizeof wdata) == 0, "weights not bit-exact");
    ck_assert(signbit(((const float *)outs[0])[4]));
    ck_assert(memcmp(outs[1], w16, sizeof w16) == 0);
    free(outs[0]);
    free(outs[1]);
done:
    kprog_free(p);
}

/* ---- float16 / bfloat16: bit-exact with the interpreter (f16_prog.h) ---- */

#include "f16_prog.h"

static void run_f16(const Tgt *t)
{
    f16_init();
    KProg *p = f16_prog();
    const void *ins[] = { f16_x, f16_y, f16_d, f16_i };
    void *want[F16_NOUT], *outs[MAXIO + F16_NOUT];
    f16_reference(p, ins, want);
    f16_check_known(want);
    if (!build_and_run(p, t, ins, outs)) {
        f16_compare(p, outs, want, t->name);
        for (int i = 0; i < F16_NOUT; i++) free(outs[i]);
    }
    for (int i = 0; i < F16_NOUT; i++) free(want[i]);
    kprog_free(p);
}

START_TEST(test_ints) { run_ints(&tgts[_i]); }
END_TEST

START_TEST(test_casts) { run_casts(&tgts[_i]); }
END_TEST

START_TEST(test_logic) { run_logic(&tgts[_i]); }
END_TEST

START_TEST(test_weights) { run_weights(&tgts[_i]); }
END_TEST

START_TEST(test_f16) { run_f16(&tgts[_i]); }
END_TEST

/* The object defines NAME_run and nothing else global; --emit-llvm writes the module. */
START_TEST(test_symbols_and_ll)
{
    KProg *p = weight_prog();
    char tmpl[256], cmd[1024], path[600];
    const char *base = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/onnxcc_llvm_XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert(dir != NULL);
    LlvmOptions o = { "x86_64", "x86_64-unknown-linux-gnu", "native", NULL, 3, 1 };
    char *err = NULL;
    ck_assert_msg(cgen_llvm_write(p, dir, &o, &err) == 0, "%s", err ? err : "?");
    snprintf(path, sizeof path, "%s/weights.ll", dir);
    char *ll = slurp(path);
    ck_assert_msg(ll && strstr(ll, "define") && strstr(ll, "@weights_run"), "no module text");
    free(ll);
    snprintf(path, sizeof path, "%s/weights.h", dir);
    char *h = slurp(path);
    ck_assert(h && strstr(h, "int weights_run(const float x[6], float y[6], int16_t z[3]);"));
    ck_assert(strstr(h, "#define WEIGHTS_ARENA_BYTES 128"));
    free(h);
    snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s/weights.o' > '%s/nm.txt'", dir, dir);
    if (system(cmd) == 0) {
        snprintf(path, sizeof path, "%s/nm.txt", dir);
        char *nm = slurp(path);
        ck_assert_msg(nm && strstr(nm, " T weights_run") && !strstr(nm, "node0"),
                      "global symbols:\n%s", nm ? nm : "");
        int lines = 0;
        for (char *s = nm; *s; s++) lines += *s == '\n';
        ck_assert_int_eq(lines, 1);
        free(nm);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    kprog_free(p);
}
END_TEST

/* ---- runtime kernels linked into the object ---- */

static int has_call(const KStmt *s)
{
    for (; s; s = s->next)
        if (s->kind == KS_CALL || has_call(s->body) || has_call(s->els)) return 1;
    return 0;
}

/* A model through the whole pipeline for target t, as `onnxcc compile` does it. */
static KProg *lower_model(Pool *P, const char *model, const Target *t)
{
    char *err = NULL;
    Graph *g = load_model(P, model, NULL, &err);
    ck_assert_msg(g != NULL, "%s: %s", model, err ? err : "?");
    ck_assert_msg(shape_infer(g) == 0, "%s: %s", model, g->err ? g->err : "shape");
    ck_assert_msg(passes_run(g, t) == 0, "%s: %s", model, g->err ? g->err : "passes");
    KProg *p = lower_graph(g, "kmodel", t, &err);
    ck_assert_msg(p != NULL, "%s: %s", model, err ? err : "lowering");
    plan_arena(p, t->align);
    return p;
}

static const char *const kernel_models[][2] = {
    { "samples/digits/digits.onnx", "samples/digits/test_data_set_0" },   /* MatMul/Gemm */
    { "tests/models/convnet/model.onnx", "tests/models/convnet/test_data_set_0" },   /* Conv */
};

/* cpus per x86-64 run: the default (the baseline level), x86-64-v3 and the host's best */
static const char *const kernel_cpus[] = { NULL, "x86-64-v3", "native" };

static void run_kernel_model(const Tgt *tg, int mi, const char *cpu)
{
    const Target *t = target_find(tg->name);
    ck_assert(t != NULL);
    if (!t->kernels || !t->kernels[0]) {
        fprintf(stderr, "test_kernels: target %s lists no kernels (onnxcc built without the "
                        "runtime bitcode): skipped\n", tg->name);
        return;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/%s", ONNXCC_SOURCE_ROOT, kernel_models[mi][0]);
    Pool *P = pool_new();
    KProg *p = lower_model(P, path, t);
    int calls = 0;
    for (int i = 0; i < p->nfuncs; i++) calls |= has_call(p->funcs[i]->body);
    ck_assert_msg(calls, "%s lowers to no runtime kernel call for target %s", path, tg->name);
    ck_assert_int_eq(p->ninputs, 1);
    ck_assert_int_eq(p->noutputs, 1);
    char *err = NULL;
    snprintf(path, sizeof path, "%s/%s/input_0.pb", ONNXCC_SOURCE_ROOT, kernel_models[mi][1]);
    Value *in = load_tensor_file(P, path, &err);
    ck_assert_msg(in && in->data, "%s: %s", path, err ? err : "?");
    snprintf(path, sizeof path, "%s/%s/output_0.pb", ONNXCC_SOURCE_ROOT, kernel_models[mi][1]);
    Value *ex = load_tensor_file(P, path, &err);
    ck_assert_msg(ex && ex->data, "%s: %s", path, err ? err : "?");
    ck_assert_int_eq(type_numel(&in->type) * 4, (int64_t)tbytes(p, p->inputs[0]));
    int64_t n = type_numel(&ex->type);
    ck_assert_int_eq(n * 4, (int64_t)tbytes(p, p->outputs[0]));
    const void *ins[] = { in->data };
    void *outs[MAXIO];
    run_cpu = cpu;
    want_syms = 1;
    int skipped = build_and_run(p, tg, ins, outs);
    run_cpu = NULL;
    want_syms = 0;
    if (!skipped) {
        /* the kernels are inside: nothing of the runtime is left to link, and the object
         * exports what it exports without kernels (the harness linked it with -lm alone) */
        ck_assert_msg(!strstr(undef_syms, "rt_"), "undefined runtime symbols (%s, cpu %s):\n%s",
                      tg->name, cpu ? cpu : "default", undef_syms);
        ck_assert_msg(!strcmp(def_syms, "") || strstr(def_syms, " T kmodel_run\n"),
                      "global symbols:\n%s", def_syms);
        int lines = 0;
        for (char *c = def_syms; *c; c++) lines += *c == '\n';
        ck_assert_msg(lines == 1, "global symbols:\n%s", def_syms);
        const float *got = outs[0], *want = ex->data;
        for (int64_t i = 0; i < n; i++)
            ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f + 1e-3f * fabsf(want[i]),
                          "%s (%s, cpu %s): output %lld is %g, expected %g", kernel_models[mi][0],
                          tg->name, cpu ? cpu : "default", (long long)i, got[i], want[i]);
        free(outs[0]);
    }
    kprog_free(p);
    pool_free(P);
}

START_TEST(test_kernels)
{
    int nmodels = (int)(sizeof kernel_models / sizeof kernel_models[0]);
    const Tgt *tg = &tgts[_i / nmodels];
    int mi = _i % nmodels;
    if (!strcmp(tg->name, "x86_64")) {
        for (size_t c = 0; c < sizeof kernel_cpus / sizeof kernel_cpus[0]; c++)
            run_kernel_model(tg, mi, kernel_cpus[c]);
    } else {
        run_kernel_model(tg, mi, NULL);
    }
}
END_TEST

/* Every feature level compiles (whatever the host runs): a named CPU picks its level from
 * the target machine, and the object still leaves nothing of the runtime undefined. */
START_TEST(test_kernel_levels)
{
    static const char *const cpus[][2] = {
        { "x86_64", "x86-64" }, { "x86_64", "haswell" }, { "x86_64", "skylake-avx512" },
        { "x86_64", "znver4" }, { "aarch64", "generic" }, { "aarch64", "cortex-a72" },
    };
    for (size_t c = 0; c < sizeof cpus / sizeof cpus[0]; c++) {
        const Target *t = target_find(cpus[c][0]);
        if (!t->kernels || !t->kernels[0]) continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", ONNXCC_SOURCE_ROOT, kernel_models[1][0]);
        Pool *P = pool_new();
        KProg *p = lower_model(P, path, t);
        char tmpl[256];
        const char *base = getenv("TMPDIR");
        snprintf(tmpl, sizeof tmpl, "%s/onnxcc_llvm_XXXXXX", base && *base ? base : "/tmp");
        char *dir = mkdtemp(tmpl);
        ck_assert(dir != NULL);
        LlvmOptions o = { t->name, t->triple, cpus[c][1], NULL, 2, 0 };
        char *err = NULL;
        ck_assert_msg(cgen_llvm_write(p, dir, &o, &err) == 0, "%s: %s", cpus[c][1], err ? err : "?");
        read_syms(dir, p->name);
        ck_assert_msg(!strstr(undef_syms, "rt_"), "%s: undefined runtime symbols:\n%s",
                      cpus[c][1], undef_syms);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
        kprog_free(p);
        pool_free(P);
    }
}
END_TEST

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t uleb(const unsigned char *b, size_t n, size_t *i)
{
    uint64_t v = 0;
    for (int sh = 0; *i < n && sh < 64; sh += 7) {
        unsigned char c = b[(*i)++];
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) break;
    }
    return v;
}

/* From an ELF32 ARM object's .ARM.attributes ("aeabi" file attributes): Tag_ABI_VFP_args
 * (28; 1 = arguments in VFP registers, the hard-float ABI; -1 if absent) and Tag_CPU_name
 * (5) into cpu. Linkers compare these, not e_flags (LLVM sets no EF_ARM_ABI_FLOAT_*). */
static int arm_attrs(const unsigned char *o, size_t n, char *cpu, size_t cpulen)
{
    int vfp_args = -1;
    cpu[0] = 0;
    uint32_t shoff = le32(o + 32);
    unsigned shentsize = o[46] | o[47] << 8, shnum = o[48] | o[49] << 8;
    for (unsigned k = 0; k < shnum && shoff + (k + 1) * (size_t)shentsize <= n; k++) {
        const unsigned char *sh = o + shoff + k * (size_t)shentsize;
        uint32_t off = le32(sh + 16), size = le32(sh + 20);
        if (le32(sh + 4) != 0x70000003u || off + (size_t)size > n || size < 16) continue;
        const unsigned char *a = o + off;   /* 'A', u32 len, "aeabi", tag 1, u32 size */
        if (a[0] != 'A' || memcmp(a + 5, "aeabi", 6) || a[11] != 1) continue;
        size_t i = 16, end = 11 + le32(a + 12);
        if (end > size) end = size;
        while (i < end) {
            uint64_t tag = uleb(a, end, &i);
            if (tag == 4 || tag == 5 || tag == 67 || (tag > 32 && (tag & 1))) {
                size_t j = i;
                while (j < end && a[j]) j++;
                if (tag == 5) snprintf(cpu, cpulen, "%.*s", (int)(j - i), (const char *)a + i);
                i = j + 1;
            } else if (tag == 32) {
                uleb(a, end, &i);
                while (i < end && a[i]) i++;
                i++;
            } else {
                uint64_t v = uleb(a, end, &i);
                if (tag == 28) vfp_args = (int)v;
            }
        }
    }
    return vfp_args;
}

/* The Cortex-M targets: with the runtime kernels (MatMul/Gemm, Conv) and --arena extern,
 * each writes a little-endian ELF32 ARM EABI 5 object whose attributes say hard-float
 * (it links with arm-none-eabi-gcc -mfloat-abi=hard objects: samples/firmware/
 * run_object.sh runs it) and name its CPU, that leaves nothing of the runtime undefined and exports only NAME_run
 * with the arena as its first parameter. */
START_TEST(test_cortex_m)
{
    static const char *const names[] = { "cortex-m4", "cortex-m7", "cortex-m33" };
    const char *tn = names[_i / 2];
    const Target *t = target_find(tn);
    ck_assert_msg(t != NULL && t->triple != NULL, "no target %s", tn);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", ONNXCC_SOURCE_ROOT, kernel_models[_i % 2][0]);
    Pool *P = pool_new();
    KProg *p = lower_model(P, path, t);
    p->arena_extern = 1;
    ck_assert_int_eq(p->arena_align, t->align);
    char tmpl[256];
    const char *base = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/onnxcc_llvm_XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert(dir != NULL);
    LlvmOptions o = { t->name, t->triple, t->cpu, NULL, 2, 0 };
    char *err = NULL;
    ck_assert_msg(cgen_llvm_write(p, dir, &o, &err) == 0, "%s: %s", tn, err ? err : "?");
    snprintf(path, sizeof path, "%s/kmodel.o", dir);
    unsigned char *obj = NULL;
    size_t n = 0;
    ck_assert(read_file(path, &obj, &n) == 0 && n > 52);
    ck_assert_msg(!memcmp(obj, "\177ELF\001\001", 6), "%s: not a little-endian ELF32 file", tn);
    ck_assert_int_eq(obj[18] | obj[19] << 8, 40);   /* EM_ARM */
    ck_assert_msg((le32(obj + 36) & 0xff000000u) == 0x05000000u, "%s: e_flags 0x%08x, not EABI 5",
                  tn, le32(obj + 36));
    char cpu[64];
    int vfp_args = arm_attrs(obj, n, cpu, sizeof cpu);
    ck_assert_msg(vfp_args == 1, "%s: Tag_ABI_VFP_args %d, not the hard-float ABI", tn, vfp_args);
    ck_assert_msg(!strcmp(cpu, t->cpu), "%s: Tag_CPU_name '%s'", tn, cpu);
    free(obj);
    if (t->kernels && t->kernels[0]) {
        read_syms(dir, p->name);
        ck_assert_msg(!strstr(undef_syms, "rt_") && !strstr(undef_syms, "__stack_chk"),
                      "%s: undefined symbols:\n%s", tn, undef_syms);
        ck_assert_msg(strstr(def_syms, " T kmodel_run\n"), "%s: global symbols:\n%s", tn, def_syms);
        int lines = 0;
        for (char *c = def_syms; *c; c++) lines += *c == '\n';
        ck_assert_msg(lines == 1, "%s: global symbols:\n%s", tn, def_syms);
    } else {
        fprintf(stderr, "test_cortex_m: target %s lists no kernels (onnxcc built without the "
                        "Cortex-M runtime bitcode): symbols not checked\n", tn);
    }
    snprintf(path, sizeof path, "%s/kmodel.h", dir);
    char *h = slurp(path);
    ck_assert_msg(h && strstr(h, "int kmodel_run(void *onnxcc_arena, const float "),
                  "%s: header:\n%s", tn, h ? h : "");
    free(h);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    kprog_free(p);
    pool_free(P);
}
END_TEST

/* Runtime kernel calls, bad CPUs and plans too big for the target are errors with a
 * message, not a crash. */
START_TEST(test_errors)
{
    KProg *p = kprog_new("calls");
    int x = add_tensor(p, "x", DT_F32, 4, KT_INPUT, NULL);
    int y = add_tensor(p, "y", DT_F32, 4, KT_OUTPUT, NULL);
    set_io(p, &x, 1, &y, 1);
    KFunc *f = kprog_func(p, "node0_call", "call");
    KB k;
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 4, KR_IN, x), by = kb_buf(&k, DT_F32, 4, KR_OUT, y);
    KArg args[3] = { karg_buf(bx, NULL), karg_buf(by, NULL), karg_int(4) };
    kcall(&k, "rt_no_such_kernel", args, 3);
    LlvmOptions o = { "x86_64", "x86_64-unknown-linux-gnu", NULL, NULL, 2, 0 };
    char *err = NULL;
    ck_assert_int_eq(cgen_llvm_write(p, "/nonexistent-dir", &o, &err), -1);
    ck_assert_msg(err && strstr(err, "rt_no_such_kernel"), "%s", err ? err : "");
    free(err);
    kprog_free(p);

    /* a real kernel called with an argument list that is not its prototype */
    const Target *t = target_find("x86_64");
    if (t->kernels && t->kernels[0]) {
        p = kprog_new("calls");
        x = add_tensor(p, "x", DT_F32, 4, KT_INPUT, NULL);
        y = add_tensor(p, "y", DT_F32, 4, KT_OUTPUT, NULL);
        set_io(p, &x, 1, &y, 1);
        f = kprog_func(p, "node0_call", "call");
        kb_init(&k, p->pool, f);
        bx = kb_buf(&k, DT_F32, 4, KR_IN, x);
        by = kb_buf(&k, DT_F32, 4, KR_OUT, y);
        KArg bad_args[2] = { karg_buf(bx, NULL), karg_float(1.0) };
        kcall(&k, t->kernels[0], bad_args, 2);
        err = NULL;
        ck_assert_int_eq(cgen_llvm_write(p, "/nonexistent-dir", &o, &err), -1);
        ck_assert_msg(err && strstr(err, t->kernels[0]) && strstr(err, "prototype"), "%s",
                      err ? err : "");
        free(err);
        kprog_free(p);
    }

    /* a 32-bit target cannot address an arena beyond 2 GiB: said, not wrapped */
    p = int_prog();
    p->arena_bytes = (int64_t)3 << 30;
    LlvmOptions m4 = { "cortex-m4", "thumbv7em-unknown-none-eabihf", "cortex-m4", NULL, 2, 0 };
    err = NULL;
    ck_assert_int_eq(cgen_llvm_write(p, "/nonexistent-dir", &m4, &err), -1);
    ck_assert_msg(err && strstr(err, "cortex-m4 has 32-bit pointers: the arena (3221225472 "
                                     "bytes)"), "%s", err ? err : "");
    free(err);
    kprog_free(p);

    p = int_prog();
    LlvmOptions bad = { "x86_64", "no-such-triple-xyz", NULL, NULL, 2, 0 };
    err = NULL;
    ck_assert_int_eq(cgen_llvm_write(p, "/tmp", &bad, &err), -1);
    ck_assert_msg(err && strstr(err, "no-such-triple-xyz"), "%s", err ? err : "");
    free(err);
    kprog_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("llvm");
    TCase *tc = tcase_create("llvm");
    tcase_set_timeout(tc, 120);
    int nt = (int)(sizeof tgts / sizeof tgts[0]);
    tcase_add_loop_test(tc, test_ints, 0, nt);
    tcase_add_loop_test(tc, test_casts, 0, nt);
    tcase_add_loop_test(tc, test_logic, 0, nt);
    tcase_add_loop_test(tc, test_weights, 0, nt);
    tcase_add_loop_test(tc, test_f16, 0, nt);
    tcase_add_test(tc, test_symbols_and_ll);
    tcase_add_test(tc, test_errors);
    tcase_add_loop_test(tc, test_kernels, 0,
                        nt * (int)(sizeof kernel_models / sizeof kernel_models[0]));
    tcase_add_test(tc, test_kernel_levels);
    tcase_add_loop_test(tc, test_cortex_m, 0, 6);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(undef_syms);
    free(def_syms);
    return failed ? 1 : 0;
}
