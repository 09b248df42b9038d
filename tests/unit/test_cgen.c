/* test_cgen.c — the C back end end to end: small KProgs built by hand with the kir.h
 * builder are printed with cgen_c_write, compiled with the harness by gcc and clang (when
 * present) under -std=c99 -Wall -Wextra -pedantic -Werror, run on raw input files, and
 * their outputs compared with values computed here independently. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "codegen.h"
#include "onnxcc.h"   /* plan_weights */

#define MAXIO 16

static const char *const compilers[] = { "gcc", "clang" };

static int have_cc(const char *cc)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

static char *slurp_text(const char *path)
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

static void put_file(const char *path, const void *data, size_t n)
{
    ck_assert_msg(write_file_atomic(path, data, n) == 0, "cannot write %s", path);
}

/* ---- building programs ---- */

static int add_tensor(KProg *p, const char *name, DType t, int rank, const int64_t *dims,
                      KTensorKind kind, const void *data)
{
    KTensor kt;
    memset(&kt, 0, sizeof kt);
    kt.name = name;
    kt.src_name = name;
    kt.t = t;
    kt.rank = rank;
    kt.n = 1;
    for (int i = 0; i < rank; i++) {
        kt.dims[i] = dims[i];
        kt.n *= dims[i];
    }
    kt.kind = kind;
    kt.data = data;
    return kprog_tensor(p, &kt);
}

static int add_vec(KProg *p, const char *name, DType t, int64_t n, KTensorKind kind)
{
    return add_tensor(p, name, t, 1, &n, kind, NULL);
}

static void set_io(KProg *p, const int *ins, int nin, const int *outs, int nout)
{
    p->inputs = pool_alloc(p->pool, sizeof(int) * (size_t)(nin + 1));
    p->outputs = pool_alloc(p->pool, sizeof(int) * (size_t)(nout + 1));
    if (nin) memcpy(p->inputs, ins, sizeof(int) * (size_t)nin);
    if (nout) memcpy(p->outputs, outs, sizeof(int) * (size_t)nout);
    p->ninputs = nin;
    p->noutputs = nout;
}

static size_t tensor_bytes(const KProg *p, int t)
{
    const KTensor *kt = &p->tensors[t];
    return (size_t)(kt->n > 0 ? kt->n : 0) * (size_t)dt_size(kt->t);
}

/* ---- compile and run ---- */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/onnxcc_cgen_XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_msg(d != NULL, "mkdtemp failed");
    return strdup(d);
}

/* Writes p into DIR/CC, builds it with the harness under the strict flags, runs it on
 * ins, and returns the outputs (malloc'd, exact sizes checked). */
static void build_and_run(const KProg *p, const char *dir, const char *cc,
                          const void *const *ins, void **outs)
{
    char out[700], cmd[4096], path[800];
    snprintf(out, sizeof out, "%s/%s/gen", dir, cc);
    char *err = NULL;
    int rc = cgen_c_write(p, out, &err);
    ck_assert_msg(rc == 0, "cgen_c_write: %s", err ? err : "?");
    char *h = cgen_c_harness(p);
    snprintf(path, sizeof path, "%s/main.c", out);
    put_file(path, h, strlen(h));
    free(h);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -std=c99 -Wall -Wextra -pedantic -Werror -O2 -o prog *.c -lm "
             ">cc.log 2>&1", out, cc);
    if (system(cmd) != 0) {
        snprintf(path, sizeof path, "%s/cc.log", out);
        char *log = slurp_text(path);
        ck_abort_msg("%s failed on %s:\n%.3000s", cc, out, log ? log : "");
    }
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && ./prog", out);
    for (int i = 0; i < p->ninputs; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", out, i);
        put_file(path, ins[i], tensor_bytes(p, p->inputs[i]));
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " in%d.bin", i);
    }
    for (int i = 0; i < p->noutputs; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " out%d.bin", i);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >run.log 2>&1");
    ck_assert_msg(system(cmd) == 0, "running %s/prog failed", out);
    for (int i = 0; i < p->noutputs; i++) {
        snprintf(path, sizeof path, "%s/out%d.bin", out, i);
        unsigned char *d;
        size_t len;
        ck_assert_msg(read_file(path, &d, &len) == 0, "no output %s", path);
        ck_assert_uint_eq(len, tensor_bytes(p, p->outputs[i]));
        outs[i] = d;
    }
}

typedef void (*CheckFn)(void **outs, const char *cc);

/* Runs the program with every available compiler and checks each result. */
static void run_all(const KProg *p, const void *const *ins, CheckFn check)
{
    char *dir = make_tmpdir();
    int ran = 0;
    for (size_t c = 0; c < sizeof compilers / sizeof compilers[0]; c++) {
        if (!have_cc(compilers[c])) continue; /* clang is optional */
        void *outs[MAXIO] = { 0 };
        build_and_run(p, dir, compilers[c], ins, outs);
        check(outs, compilers[c]);
        for (int i = 0; i < p->noutputs; i++) free(outs[i]);
        ran++;
    }
    ck_assert_msg(ran > 0, "no C compiler found");
    char cmd[700];
    /* kept when a check failed, or on request (ONNXCC_KEEP_TMP) for reading the output */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (!getenv("ONNXCC_KEEP_TMP")) ck_assert_int_eq(system(cmd), 0);
    free(dir);
}

/* ---- elementwise ops of several dtypes ---- */

static const float ew_xf[8] = { -2.5f, -1.0f, -0.0f, 0.25f, 0.5f, 1.5f, 2.5f, 3.75f };
static const int32_t ew_xi[8] = { -7, -3, 0, 1, 5, 9, 100, 1000000 };
static const uint8_t ew_xu[8] = { 0, 1, 7, 100, 128, 200, 250, 255 };
static const double ew_xd[4] = { -1.25, 0.5, 2.0, 10.0 };
static const int64_t ew_xl[4] = { INT64_MIN, -5, 9007199254740993LL, INT64_MAX };
static const uint8_t ew_xb[4] = { 0, 1, 0, 1 };

static KProg *ew_prog(void)
{
    KProg *p = kprog_new("ew");
    int xf = add_vec(p, "xf", DT_F32, 8, KT_INPUT), xi = add_vec(p, "xi", DT_I32, 8, KT_INPUT);
    int xu = add_vec(p, "xu", DT_U8, 8, KT_INPUT), xd = add_vec(p, "xd", DT_F64, 4, KT_INPUT);
    int xl = add_vec(p, "xl", DT_I64, 4, KT_INPUT), xb = add_vec(p, "xb", DT_BOOL, 4, KT_INPUT);
    int yf = add_vec(p, "yf", DT_F32, 8 * 6, KT_OUTPUT);
    int yi = add_vec(p, "yi", DT_I32, 8 * 6, KT_OUTPUT);
    int yu = add_vec(p, "yu", DT_U8, 8 * 5, KT_OUTPUT);
    int yd = add_vec(p, "yd", DT_F64, 4 * 3, KT_OUTPUT);
    int yl = add_vec(p, "yl", DT_I64, 4 * 3, KT_OUTPUT);
    int yb = add_vec(p, "yb", DT_BOOL, 8 * 4 + 4 * 3, KT_OUTPUT);
    int yc = add_vec(p, "yc", DT_I32, 8, KT_OUTPUT);
    int ins[] = { xf, xi, xu, xd, xl, xb }, outs[] = { yf, yi, yu, yd, yl, yb, yc };
    set_io(p, ins, 6, outs, 7);

    KB k;
    KFunc *f = kprog_func(p, "node_ew", "elementwise of every kind");
    kb_init(&k, p->pool, f);
    int bxf = kb_buf(&k, DT_F32, 8, KR_IN, xf), bxi = kb_buf(&k, DT_I32, 8, KR_IN, xi);
    int bxu = kb_buf(&k, DT_U8, 8, KR_IN, xu), bxd = kb_buf(&k, DT_F64, 4, KR_IN, xd);
    int bxl = kb_buf(&k, DT_I64, 4, KR_IN, xl), bxb = kb_buf(&k, DT_BOOL, 4, KR_IN, xb);
    int byf = kb_buf(&k, DT_F32, 48, KR_OUT, yf), byi = kb_buf(&k, DT_I32, 48, KR_OUT, yi);
    int byu = kb_buf(&k, DT_U8, 40, KR_OUT, yu), byd = kb_buf(&k, DT_F64, 12, KR_OUT, yd);
    int byl = kb_buf(&k, DT_I64, 12, KR_OUT, yl), byb = kb_buf(&k, DT_BOOL, 44, KR_OUT, yb);
    int byc = kb_buf(&k, DT_I32, 8, KR_OUT, yc);

    int i = kfor_n(&k, 8, KL_VECTOR);
    KExpr *I = kvar(&k, i);
#define AT(n, j) kaddi(&k, kmuli(&k, I, n), j)
    KExpr *x = kload(&k, bxf, I);
    /* f32 */
    kstore(&k, byf, AT(6, 0), kbin(&k, KB_MAX, kbin(&k, KB_SUB, kun(&k, KU_EXP, x), kc(&k, DT_F32, -1.0)),
                                   kbin(&k, KB_MIN, x, kc(&k, DT_F32, 0.5))));
    kstore(&k, byf, AT(6, 1), kun(&k, KU_TANH, kun(&k, KU_ERF, x)));
    kstore(&k, byf, AT(6, 2), kun(&k, KU_RINT, x));
    kstore(&k, byf, AT(6, 3), kbin(&k, KB_REM, x, kc(&k, DT_F32, 1.0)));
    kstore(&k, byf, AT(6, 4), kbin(&k, KB_POW, kun(&k, KU_ABS, x), kc(&k, DT_F32, 1.5)));
    kstore(&k, byf, AT(6, 5), ksel(&k, kbin(&k, KB_LT, x, kc(&k, DT_F32, 0)), kun(&k, KU_NEG, x),
                                   kcast(&k, DT_F32, kload(&k, bxi, I))));
    /* i32 */
    KExpr *a = kload(&k, bxi, I), *three = kc(&k, DT_I32, 3);
    kstore(&k, byi, AT(6, 0), kbin(&k, KB_REM, kbin(&k, KB_ADD, kbin(&k, KB_MUL, a, three), kc(&k, DT_I32, 1)),
                                   kc(&k, DT_I32, 5)));
    kstore(&k, byi, AT(6, 1), kbin(&k, KB_DIV, a, kc(&k, DT_I32, -2)));
    kstore(&k, byi, AT(6, 2), kun(&k, KU_ABS, kbin(&k, KB_MAX, a, kc(&k, DT_I32, -2147483647))));
    kstore(&k, byi, AT(6, 3), kbin(&k, KB_BXOR, kbin(&k, KB_BAND, a, kc(&k, DT_I32, 0xff)),
                                   kbin(&k, KB_BOR, a, kc(&k, DT_I32, INT32_MIN))));
    kstore(&k, byi, AT(6, 4), kcast(&k, DT_I32, kun(&k, KU_FLOOR, kbin(&k, KB_MUL, x, kc(&k, DT_F32, 3)))));
    kstore(&k, byi, AT(6, 5), kbin(&k, KB_POW, kbin(&k, KB_MIN, a, kc(&k, DT_I32, 9)), kc(&k, DT_I32, 2)));
    /* u8: wraps at 256 even inside an expression */
    KExpr *u = kload(&k, bxu, I);
    kstore(&k, byu, AT(5, 0), kbin(&k, KB_SHR, kbin(&k, KB_ADD, u, kc(&k, DT_U8, 100)), kc(&k, DT_U8, 1)));
    kstore(&k, byu, AT(5, 1), kbin(&k, KB_DIV, kbin(&k, KB_MUL, u, u), kc(&k, DT_U8, 3)));
    kstore(&k, byu, AT(5, 2), kbin(&k, KB_SHR, kbin(&k, KB_SHL, u, kc(&k, DT_U8, 1)), kc(&k, DT_U8, 1)));
    kstore(&k, byu, AT(5, 3), kun(&k, KU_BITNOT, u));
    kstore(&k, byu, AT(5, 4), kbin(&k, KB_SUB, kc(&k, DT_U8, 3), u));
    /* bool from comparisons and float tests */
    kstore(&k, byb, AT(4, 0), kbin(&k, KB_GE, x, kc(&k, DT_F32, 0.5)));
    kstore(&k, byb, AT(4, 1), kcast(&k, DT_BOOL, x));
    kstore(&k, byb, AT(4, 2), kun(&k, KU_ISINF, kbin(&k, KB_DIV, kc(&k, DT_F32, 1), x)));
    kstore(&k, byb, AT(4, 3), kbin(&k, KB_NE, u, kc(&k, DT_U8, 255)));
    /* int from a bool and from narrow math */
    kstore(&k, byc, I, kbin(&k, KB_ADD, kcast(&k, DT_I32, kbin(&k, KB_EQ, a, kc(&k, DT_I32, 1))),
                              kcast(&k, DT_I32, kbin(&k, KB_ADD, u, u))));
    kend(&k);

    int j = kfor_n(&k, 4, KL_SERIAL);
    KExpr *J = kvar(&k, j);
#define AT4(n, o) kaddi(&k, kmuli(&k, J, n), o)
    KExpr *d = kload(&k, bxd, J);
    kstore(&k, byd, AT4(3, 0), kbin(&k, KB_POW, kun(&k, KU_ABS, d), kc(&k, DT_F64, 0.5)));
    kstore(&k, byd, AT4(3, 1), kbin(&k, KB_REM, kun(&k, KU_EXP, d), kc(&k, DT_F64, 0.75)));
    kstore(&k, byd, AT4(3, 2), kcast(&k, DT_F64, kload(&k, bxl, J)));
    KExpr *l = kload(&k, bxl, J);
    kstore(&k, byl, AT4(3, 0), kbin(&k, KB_BXOR, l, kc_int(&k, DT_I64, INT64_MIN)));
    kstore(&k, byl, AT4(3, 1), kbin(&k, KB_SUB, kbin(&k, KB_SHR, l, kc_int(&k, DT_I64, 1)),
                                    kc_int(&k, DT_I64, 9007199254740993LL)));
    kstore(&k, byl, AT4(3, 2), kcast(&k, DT_I64, kbin(&k, KB_BAND, kcast(&k, DT_U64, l),
                                                     kc_int(&k, DT_U64, (int64_t)UINT64_C(0xFFFFFFFF00000000)))));
    KExpr *b = kload(&k, bxb, J), *nb = kload(&k, bxb, kbin(&k, KB_SUB, kc_idx(&k, 3), J));
    kstore(&k, byb, kaddi(&k, AT4(3, 0), 32), kbin(&k, KB_AND, b, kun(&k, KU_NOT, nb)));
    kstore(&k, byb, kaddi(&k, AT4(3, 1), 32), kbin(&k, KB_XOR, b, nb));
    kstore(&k, byb, kaddi(&k, AT4(3, 2), 32), kbin(&k, KB_OR, kun(&k, KU_ISNAN, kbin(&k, KB_SUB, d, d)),
                                                   kbin(&k, KB_LT, l, kc_int(&k, DT_I64, 0))));
    kend(&k);
#undef AT
#undef AT4
    char err[256];
    ck_assert_msg(kir_verify(f, err, sizeof err) == 0, "%s", err);
    return p;
}

static void ew_check(void **outs, const char *cc)
{
    const float *yf = outs[0];
    const int32_t *yi = outs[1];
    const uint8_t *yu = outs[2];
    const double *yd = outs[3];
    const int64_t *yl = outs[4];
    const uint8_t *yb = outs[5];
    const int32_t *yc = outs[6];
    for (int i = 0; i < 8; i++) {
        float x = ew_xf[i];
        int32_t a = ew_xi[i];
        uint8_t u = ew_xu[i];
        float ef[6];
        float e0 = expf(x) - -1.0f, m0 = x < 0.5f ? x : 0.5f;
        ef[0] = e0 > m0 ? e0 : m0;
        ef[1] = tanhf(erff(x));
        ef[2] = rintf(x);
        ef[3] = fmodf(x, 1.0f);
        ef[4] = powf(fabsf(x), 1.5f);
        ef[5] = x < 0 ? -x : (float)a;
        for (int k = 0; k < 6; k++)
            ck_assert_msg(fabsf(yf[i * 6 + k] - ef[k]) <= 1e-6f * (1 + fabsf(ef[k])) &&
                          signbit(yf[i * 6 + k]) == signbit(ef[k]),
                          "%s: f32 op %d at %d: got %a want %a", cc, k, i, yf[i * 6 + k], ef[k]);
        int32_t ei[6];
        ei[0] = (a * 3 + 1) % 5;
        ei[1] = a / -2;
        int32_t mx = a > -2147483647 ? a : -2147483647;
        ei[2] = mx < 0 ? -mx : mx;
        ei[3] = (a & 0xff) ^ (a | INT32_MIN);
        ei[4] = (int32_t)floorf(x * 3);
        int32_t mn = a < 9 ? a : 9;
        ei[5] = (int32_t)pow((double)mn, 2.0);
        for (int k = 0; k < 6; k++)
            ck_assert_msg(yi[i * 6 + k] == ei[k], "%s: i32 op %d at %d: got %d want %d", cc, k, i,
                          yi[i * 6 + k], ei[k]);
        uint8_t eu[5] = { (uint8_t)((uint8_t)(u + 100) >> 1), (uint8_t)((uint8_t)(u * u) / 3),
                          (uint8_t)((uint8_t)(u << 1) >> 1), (uint8_t)~u, (uint8_t)(3 - u) };
        for (int k = 0; k < 5; k++)
            ck_assert_msg(yu[i * 5 + k] == eu[k], "%s: u8 op %d at %d: got %u want %u", cc, k, i,
                          yu[i * 5 + k], eu[k]);
        uint8_t eb[4] = { x >= 0.5f, x != 0, isinf(1.0f / x) != 0, u != 255 };
        for (int k = 0; k < 4; k++)
            ck_assert_msg(yb[i * 4 + k] == eb[k], "%s: bool op %d at %d: got %u want %u", cc, k,
                          i, yb[i * 4 + k], eb[k]);
        ck_assert_int_eq(yc[i], (a == 1) + (int32_t)(uint8_t)(u + u));
    }
    for (int j = 0; j < 4; j++) {
        double d = ew_xd[j];
        int64_t l = ew_xl[j];
        double ed[3] = { pow(fabs(d), 0.5), fmod(exp(d), 0.75), (double)l };
        for (int k = 0; k < 3; k++)
            ck_assert_msg(fabs(yd[j * 3 + k] - ed[k]) <= 1e-12 * (1 + fabs(ed[k])),
                          "%s: f64 op %d at %d: got %a want %a", cc, k, j, yd[j * 3 + k], ed[k]);
        int64_t el[3] = { l ^ INT64_MIN, (l >> 1) - 9007199254740993LL,
                          (int64_t)((uint64_t)l & UINT64_C(0xFFFFFFFF00000000)) };
        for (int k = 0; k < 3; k++)
            ck_assert_msg(yl[j * 3 + k] == el[k], "%s: i64 op %d at %d", cc, k, j);
        uint8_t b = ew_xb[j], nb = ew_xb[3 - j];
        ck_assert_uint_eq(yb[32 + j * 3 + 0], b && !nb);
        ck_assert_uint_eq(yb[32 + j * 3 + 1], b != nb);
        ck_assert_uint_eq(yb[32 + j * 3 + 2], l < 0);
    }
}

START_TEST(elementwise_dtypes)
{
    KProg *p = ew_prog();
    const void *ins[] = { ew_xf, ew_xi, ew_xu, ew_xd, ew_xl, ew_xb };
    run_all(p, ins, ew_check);
    kprog_free(p);
}
END_TEST

/* ---- loop nest with a reduction, if/else, and an arena intermediate ---- */

static float red_x[3][5];

static KProg *red_prog(void)
{
    KProg *p = kprog_new("red");
    int64_t xd[2] = { 3, 5 }, yd[1] = { 3 };
    int x = add_tensor(p, "x", DT_F32, 2, xd, KT_INPUT, NULL);
    int sq = add_tensor(p, "sq", DT_F32, 2, xd, KT_ARENA, NULL);
    int ysum = add_tensor(p, "ysum", DT_F32, 1, yd, KT_OUTPUT, NULL);
    int ymax = add_tensor(p, "ymax", DT_F32, 1, yd, KT_OUTPUT, NULL);
    int ypos = add_tensor(p, "ypos", DT_I64, 1, yd, KT_OUTPUT, NULL);
    p->tensors[sq].offset = 64; /* anywhere inside the arena */
    p->arena_bytes = 64 + 15 * 4;
    int ins[] = { x }, outs[] = { ysum, ymax, ypos };
    set_io(p, ins, 1, outs, 3);

    /* sq = x * |x| (function 1, through the arena) */
    KB k;
    KFunc *f = kprog_func(p, "node_sq", "node 'sq' (Mul)");
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 15, KR_IN, x), bs = kb_buf(&k, DT_F32, 15, KR_OUT, sq);
    int v[2];
    kloops(&k, 2, xd, v);
    KExpr *ix = kindex(&k, 2, xd, v), *xv = kload(&k, bx, ix);
    kstore(&k, bs, ix, kbin(&k, KB_MUL, xv, kun(&k, KU_ABS, xv)));
    kend_n(&k, 2);

    /* per row: sum, max, count of positives with if/else */
    f = kprog_func(p, "node_reduce", "node 'r' (ReduceSum etc.)");
    kb_init(&k, p->pool, f);
    int bsq = kb_buf(&k, DT_F32, 15, KR_IN, sq);
    int bsum = kb_buf(&k, DT_F32, 3, KR_OUT, ysum), bmax = kb_buf(&k, DT_F32, 3, KR_OUT, ymax);
    int bpos = kb_buf(&k, DT_I64, 3, KR_OUT, ypos);
    int i = kfor_n(&k, 3, KL_PARALLEL);
    int acc = kdecl(&k, DT_F32, kc(&k, DT_F32, 0));
    int mx = kdecl(&k, DT_F32, kc(&k, DT_F32, -INFINITY));
    int cnt = kdecl(&k, DT_I64, kc(&k, DT_I64, 0));
    int unused = kdecl(&k, DT_F32, kc(&k, DT_F32, 1)); /* declared, never read */
    int j = kfor_n(&k, 5, KL_REDUCE);
    KExpr *e = kload(&k, bsq, kadd(&k, kmuli(&k, kvar(&k, i), 5), kvar(&k, j)));
    kset(&k, acc, kbin(&k, KB_ADD, kvar(&k, acc), e));
    kset(&k, acc, kvar(&k, acc));       /* self-assignments: clang's -Wself-assign */
    kset(&k, unused, kvar(&k, unused));
    kset(&k, mx, kbin(&k, KB_MAX, kvar(&k, mx), e));
    kif(&k, kbin(&k, KB_GT, e, kc(&k, DT_F32, 0)));
    kset(&k, cnt, kbin(&k, KB_ADD, kvar(&k, cnt), kc(&k, DT_I64, 1)));
    kelse(&k);
    kset(&k, cnt, kbin(&k, KB_SUB, kvar(&k, cnt), kc(&k, DT_I64, 100)));
    kend(&k);
    kend(&k);
    kstore(&k, bsum, kvar(&k, i), kvar(&k, acc));
    kstore(&k, bmax, kvar(&k, i), kvar(&k, mx));
    kstore(&k, bpos, kvar(&k, i), kvar(&k, cnt));
    kend(&k);
    char err[256];
    for (int fi = 0; fi < p->nfuncs; fi++)
        ck_assert_msg(kir_verify(p->funcs[fi], err, sizeof err) == 0, "%s", err);
    return p;
}

static void red_check(void **outs, const char *cc)
{
    const float *ysum = outs[0], *ymax = outs[1];
    const int64_t *ypos = outs[2];
    for (int i = 0; i < 3; i++) {
        double s = 0;
        float m = -INFINITY;
        int64_t c = 0;
        for (int j = 0; j < 5; j++) {
            float e = red_x[i][j] * fabsf(red_x[i][j]);
            s += e;
            if (e > m) m = e;
            c += e > 0 ? 1 : -100;
        }
        ck_assert_msg(fabs(ysum[i] - s) < 1e-5, "%s: sum row %d: %g vs %g", cc, i, ysum[i], s);
        ck_assert_msg(ymax[i] == m, "%s: max row %d", cc, i);
        ck_assert_msg(ypos[i] == c, "%s: count row %d: %lld vs %lld", cc, i, (long long)ypos[i],
                      (long long)c);
    }
}

START_TEST(reduction_loop_nest)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) red_x[i][j] = (float)((i * 7 + j * 3) % 11) - 5.5f;
    KProg *p = red_prog();
    const void *ins[] = { red_x };
    run_all(p, ins, red_check);
    kprog_free(p);
}
END_TEST

/* ---- runtime kernel calls: gemm (transposed B, offsets) and conv ---- */

enum { GM = 3, GN = 4, GK = 5 };
static float gemm_a[GM * GK], gemm_b[GN * GK], gemm_bias[GN];
static float conv_x[1 * 2 * 5 * 5], conv_w[4 * 1 * 3 * 3], conv_bias[4];

static KProg *call_prog(void)
{
    KProg *p = kprog_new("calls");
    int64_t ad[2] = { GM, GK }, bd[2] = { GN, GK }, yd[2] = { GM, GN }, cd[1] = { GN };
    int64_t xd[4] = { 1, 2, 5, 5 }, wd[4] = { 4, 1, 3, 3 }, od[4] = { 1, 4, 3, 3 }, md[1] = { 4 };
    int a = add_tensor(p, "a", DT_F32, 2, ad, KT_INPUT, NULL);
    int cx = add_tensor(p, "cx", DT_F32, 4, xd, KT_INPUT, NULL);
    int b = add_tensor(p, "b", DT_F32, 2, bd, KT_CONST, gemm_b);
    int c = add_tensor(p, "c", DT_F32, 1, cd, KT_CONST, gemm_bias);
    int w = add_tensor(p, "w", DT_F32, 4, wd, KT_CONST, conv_w);
    int cb = add_tensor(p, "cb", DT_F32, 1, md, KT_CONST, conv_bias);
    int y = add_tensor(p, "y", DT_F32, 2, yd, KT_OUTPUT, NULL);
    int cy = add_tensor(p, "cy", DT_F32, 4, od, KT_OUTPUT, NULL);
    int ins[] = { a, cx }, outs[] = { y, cy };
    set_io(p, ins, 2, outs, 2);

    KB k;
    KFunc *f = kprog_func(p, "node_gemm", "node 'fc' (Gemm)");
    kb_init(&k, p->pool, f);
    int ba = kb_buf(&k, DT_F32, GM * GK, KR_IN, a), bb = kb_buf(&k, DT_F32, GN * GK, KR_IN, b);
    int bc = kb_buf(&k, DT_F32, GN, KR_IN, c), by = kb_buf(&k, DT_F32, GM * GN, KR_OUT, y);
    /* Y = bias (broadcast rows), then Y = 0.5 * A * B^T + 1 * Y; the last row is done in a
     * second call through buffer offsets */
    int i = kfor_n(&k, GM, KL_SERIAL), j = kfor_n(&k, GN, KL_VECTOR);
    kstore(&k, by, kadd(&k, kmuli(&k, kvar(&k, i), GN), kvar(&k, j)), kload(&k, bc, kvar(&k, j)));
    kend_n(&k, 2);
    KArg g1[] = { karg_int(GM - 1), karg_int(GN), karg_int(GK), karg_buf(ba, NULL), karg_int(GK),
                  karg_int(0), karg_buf(bb, NULL), karg_int(GK), karg_int(1), karg_buf(by, NULL),
                  karg_int(GN), karg_float(0.5), karg_float(1.0), karg_buf(-1, NULL), karg_int(0),
                  karg_buf(-1, NULL), karg_int(0), karg_int(0), karg_float(0), karg_float(0),
                  karg_buf(-1, NULL) };
    kcall(&k, "rt_sgemm_f32", g1, 21);
    KArg g2[] = { karg_int(1), karg_int(GN), karg_int(GK), karg_buf(ba, kc_idx(&k, (GM - 1) * GK)),
                  karg_int(GK), karg_int(0), karg_buf(bb, NULL), karg_int(GK), karg_int(1),
                  karg_buf(by, kc_idx(&k, (GM - 1) * GN)), karg_int(GN), karg_float(0.5),
                  karg_float(1.0), karg_buf(-1, NULL), karg_int(0), karg_buf(-1, NULL),
                  karg_int(0), karg_int(0), karg_float(0), karg_float(0), karg_buf(-1, NULL) };
    kcall(&k, "rt_sgemm_f32", g2, 21);

    f = kprog_func(p, "node_conv", "node 'conv' (Conv)");
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 50, KR_IN, cx), bw = kb_buf(&k, DT_F32, 36, KR_IN, w);
    int bcb = kb_buf(&k, DT_F32, 4, KR_IN, cb), bcy = kb_buf(&k, DT_F32, 36, KR_OUT, cy);
    (void)bcb;
    /* group 2, stride 2, pad 1, dilation 1, no bias (NULL) */
    KArg cv[] = { karg_buf(bx, NULL), karg_buf(bw, NULL), karg_buf(-1, NULL), karg_buf(bcy, NULL),
                  karg_int(1), karg_int(2), karg_int(5), karg_int(5), karg_int(4), karg_int(3),
                  karg_int(3), karg_int(3), karg_int(3), karg_int(2), karg_int(2), karg_int(1),
                  karg_int(1), karg_int(1), karg_int(1), karg_int(2), karg_buf(-1, NULL),
                  karg_int(0), karg_float(0), karg_float(0), karg_int(0), karg_buf(-1, NULL) };
    kcall(&k, "rt_conv2d_f32", cv, 26);
    return p;
}

static void call_check(void **outs, const char *cc)
{
    const float *y = outs[0], *cy = outs[1];
    for (int i = 0; i < GM; i++)
        for (int j = 0; j < GN; j++) {
            double s = 0;
            for (int q = 0; q < GK; q++) s += (double)gemm_a[i * GK + q] * gemm_b[j * GK + q];
            double want = 0.5 * s + gemm_bias[j];
            ck_assert_msg(fabs(y[i * GN + j] - want) < 1e-5, "%s: gemm y[%d][%d] %g vs %g", cc, i,
                          j, y[i * GN + j], want);
        }
    for (int m = 0; m < 4; m++)
        for (int oh = 0; oh < 3; oh++)
            for (int ow = 0; ow < 3; ow++) {
                double s = 0;
                int g = m / 2;
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                        if (ih < 0 || iw < 0 || ih >= 5 || iw >= 5) continue;
                        s += (double)conv_x[(g * 5 + ih) * 5 + iw] * conv_w[(m * 3 + kh) * 3 + kw];
                    }
                float got = cy[(m * 3 + oh) * 3 + ow];
                ck_assert_msg(fabs(got - s) < 1e-5, "%s: conv %d,%d,%d: %g vs %g", cc, m, oh, ow,
                              got, s);
            }
}

START_TEST(runtime_calls)
{
    for (int i = 0; i < GM * GK; i++) gemm_a[i] = (float)(i % 7) * 0.25f - 0.5f;
    for (int i = 0; i < GN * GK; i++) gemm_b[i] = (float)(i % 5) * 0.5f - 1.0f;
    for (int i = 0; i < GN; i++) gemm_bias[i] = (float)i * 0.125f;
    for (int i = 0; i < 50; i++) conv_x[i] = (float)((i * 37) % 13) / 13.0f - 0.5f;
    for (int i = 0; i < 36; i++) conv_w[i] = (float)((i * 11) % 7) / 7.0f - 0.5f;
    for (int i = 0; i < 4; i++) conv_bias[i] = 100.0f; /* must not be used: B is NULL */
    KProg *p = call_prog();
    const void *ins[] = { gemm_a, conv_x };
    run_all(p, ins, call_check);
    kprog_free(p);
}
END_TEST

/* ---- weights with special values, read back bit-exact ---- */

static float wf[16];
static double wd[8];
static int64_t wl[4] = { INT64_MIN, INT64_MAX, -1, 4294967296LL };
static uint64_t wu[3] = { UINT64_MAX, 0, UINT64_C(9223372036854775808) };
/* 0x33013f22: the bytes '"', '?', 0x01, '3' (an escape an octal digit follows);
 * 0x375c0a5c: '\\', '\n', '\\', '7' */
static int32_t wi[5] = { INT32_MIN, INT32_MAX, -1, 0x33013f22, 0x375c0a5c };
static uint8_t wbool[3] = { 1, 0, 1 };

static void init_weights(void)
{
    uint32_t denorm_max = 0x007fffffu, nan_neg = 0xffc00000u;
    float f;
    float vals[16] = { NAN, INFINITY, -INFINITY, -0.0f, 0.0f, FLT_MIN, FLT_MAX, -FLT_MAX,
                       1e-45f /* smallest denormal */, 0, 0.1f, -3.0f, 1.0f / 3.0f,
                       16777217.0f, 0, 123456.78f };
    memcpy(&f, &denorm_max, 4);
    vals[9] = f;
    memcpy(&f, &nan_neg, 4);
    vals[14] = f;
    memcpy(wf, vals, sizeof wf);
    double dv[8] = { NAN, -INFINITY, -0.0, 4.9406564584124654e-324, DBL_MAX, 0.1, 1e300,
                     -2.2250738585072014e-308 };
    memcpy(wd, dv, sizeof wd);
}

static KProg *w_prog(void)
{
    KProg *p = kprog_new("wts");
    int tf = add_vec(p, "wf", DT_F32, 16, KT_CONST), td = add_vec(p, "wd", DT_F64, 8, KT_CONST);
    int tl = add_vec(p, "wl", DT_I64, 4, KT_CONST), tu = add_vec(p, "wu", DT_U64, 3, KT_CONST);
    int ti = add_vec(p, "wi", DT_I32, 5, KT_CONST), tb = add_vec(p, "wb", DT_BOOL, 3, KT_CONST);
    p->tensors[tf].data = wf;
    p->tensors[td].data = wd;
    p->tensors[tl].data = wl;
    p->tensors[tu].data = wu;
    p->tensors[ti].data = wi;
    p->tensors[tb].data = wbool;
    int src[6] = { tf, td, tl, tu, ti, tb }, dst[6];
    const char *names[6] = { "of", "od", "ol", "ou", "oi", "ob" };
    for (int i = 0; i < 6; i++)
        dst[i] = add_vec(p, names[i], p->tensors[src[i]].t, p->tensors[src[i]].n, KT_OUTPUT);
    set_io(p, NULL, 0, dst, 6);
    for (int i = 0; i < 6; i++) {
        KB k;
        KFunc *f = kprog_func(p, pool_fmt(p->pool, "copy%d", i), "copy");
        kb_init(&k, p->pool, f);
        DType t = p->tensors[src[i]].t;
        int64_t n = p->tensors[src[i]].n;
        int bi = kb_buf(&k, t, n, KR_IN, src[i]), bo = kb_buf(&k, t, n, KR_OUT, dst[i]);
        int v = kfor_n(&k, n, KL_VECTOR);
        kstore(&k, bo, kvar(&k, v), kload(&k, bi, kvar(&k, v)));
        kend(&k);
    }
    return p;
}

static void w_check(void **outs, const char *cc)
{
    ck_assert_msg(!memcmp(outs[0], wf, sizeof wf), "%s: f32 weights differ", cc);
    ck_assert_msg(!memcmp(outs[1], wd, sizeof wd), "%s: f64 weights differ", cc);
    ck_assert_msg(!memcmp(outs[2], wl, sizeof wl), "%s: i64 weights differ", cc);
    ck_assert_msg(!memcmp(outs[3], wu, sizeof wu), "%s: u64 weights differ", cc);
    ck_assert_msg(!memcmp(outs[4], wi, sizeof wi), "%s: i32 weights differ", cc);
    ck_assert_msg(!memcmp(outs[5], wbool, sizeof wbool), "%s: bool weights differ", cc);
}

START_TEST(weights_bit_exact)
{
    init_weights();
    KProg *p = w_prog();
    run_all(p, NULL, w_check);
    kprog_free(p);
}
END_TEST

/* the same through --weights bytes: one blob of string-literal rows, every byte value
 * (NaN payloads, -0, denormals, 0x00, '?', '"', '\\', octal-digit neighbours) exact */
START_TEST(weights_bytes_bit_exact)
{
    init_weights();
    KProg *p = w_prog();
    plan_weights(p, 16);
    p->weights_packed = 1;
    run_all(p, NULL, w_check);
    kprog_free(p);
}
END_TEST

/* ---- zero-size tensors, odd comments, empty functions, unused buffers ---- */

static const float z_in[2] = { 1.5f, -2.0f };

static KProg *z_prog(void)
{
    KProg *p = kprog_new("zero");
    int64_t ed[2] = { 0, 3 }, e2[2] = { 2, 0 };
    int xe = add_tensor(p, "xe", DT_F32, 2, ed, KT_INPUT, NULL);
    int x = add_vec(p, "x", DT_F32, 2, KT_INPUT);
    int xs = add_tensor(p, "xs", DT_I64, 0, NULL, KT_INPUT, NULL); /* rank 0, never read */
    int we = add_tensor(p, "we", DT_F32, 2, ed, KT_CONST, NULL);
    int ye = add_tensor(p, "ye", DT_F32, 2, e2, KT_OUTPUT, NULL);
    int y = add_vec(p, "y", DT_F32, 2, KT_OUTPUT);
    int ins[] = { xe, x, xs }, outs[] = { ye, y };
    set_io(p, ins, 3, outs, 2);

    KB k;
    KFunc *f = kprog_func(p, "node_empty_loops", "node '*/ #error oops /*' (Add) ?\?/ \\");
    kb_init(&k, p->pool, f);
    int bxe = kb_buf(&k, DT_F32, 0, KR_IN, xe), bwe = kb_buf(&k, DT_F32, 0, KR_IN, we);
    int bye = kb_buf(&k, DT_F32, 0, KR_OUT, ye);
    int v[2];
    kloops(&k, 2, e2, v);
    kstore(&k, bye, kindex(&k, 2, e2, v),
           kbin(&k, KB_ADD, kload(&k, bxe, kc_idx(&k, 0)), kload(&k, bwe, kc_idx(&k, 0))));
    kend_n(&k, 2);

    f = kprog_func(p, "node_nothing", NULL); /* no comment, no buffers, no statements */
    kb_init(&k, p->pool, f);

    f = kprog_func(p, "node_unused_bufs", "*/");
    kb_init(&k, p->pool, f);
    kb_buf(&k, DT_F32, 2, KR_IN, x);
    kb_buf(&k, DT_F32, 0, KR_IN, xe);

    f = kprog_func(p, "node_copy", "node '' (Identity)\n#error newline");
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 2, KR_IN, x), by = kb_buf(&k, DT_F32, 2, KR_OUT, y);
    int i = kfor_n(&k, 2, KL_SERIAL);
    kstore(&k, by, kvar(&k, i), kun(&k, KU_NEG, kload(&k, bx, kvar(&k, i))));
    kend(&k);
    return p;
}

static void z_check(void **outs, const char *cc)
{
    const float *y = outs[1];
    ck_assert_msg(y[0] == -1.5f && y[1] == 2.0f, "%s: copy after empty work", cc);
}

START_TEST(zero_size_and_odd_comments)
{
    KProg *p = z_prog();
    int64_t scalar = 7;
    const void *ins[] = { NULL, z_in, &scalar };
    run_all(p, ins, z_check);
    kprog_free(p);
}
END_TEST

/* ---- the files, the header and the errors ---- */

START_TEST(files_header_and_errors)
{
    KProg *p = red_prog();
    char *dir = make_tmpdir();
    char out[700], path[800];
    snprintf(out, sizeof out, "%s/a/b/c", dir); /* mkdir -p */
    char *err = NULL;
    ck_assert_int_eq(cgen_c_write(p, out, &err), 0);
    snprintf(path, sizeof path, "%s/red.h", out);
    char *h = slurp_text(path);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(strstr(h, "#define RED_ARENA_BYTES 124"));
    ck_assert_ptr_nonnull(strstr(h, "#define RED_NUM_INPUTS 1"));
    ck_assert_ptr_nonnull(strstr(h, "#define RED_NUM_OUTPUTS 3"));
    ck_assert_ptr_nonnull(strstr(h, "int red_run(const float x[3][5], float ysum[3], float ymax[3], "
                                    "int64_t ypos[3]);"));
    free(h);
    snprintf(path, sizeof path, "%s/red.c", out);
    char *c = slurp_text(path);
    ck_assert_ptr_nonnull(strstr(c, "/* node 'sq' (Mul) */"));
    ck_assert_ptr_null(strstr(c, "onnxcc_rt.h")); /* no kernel called */
    free(c);
    snprintf(path, sizeof path, "%s/onnxcc_rt.h", out);
    ck_assert_int_ne(access(path, F_OK), 0);
    kprog_free(p);

    /* a kernel the runtime does not have */
    p = kprog_new("bad");
    int t = add_vec(p, "y", DT_F32, 1, KT_OUTPUT);
    set_io(p, NULL, 0, &t, 1);
    KB k;
    kb_init(&k, p->pool, kprog_func(p, "f", "f"));
    int b = kb_buf(&k, DT_F32, 1, KR_OUT, t);
    KArg a = karg_buf(b, NULL);
    kcall(&k, "rt_no_such_kernel", &a, 1);
    ck_assert_int_eq(cgen_c_write(p, out, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "rt_no_such_kernel"));
    free(err);
    kprog_free(p);

    /* an arena tensor outside the planned arena */
    p = kprog_new("bad2");
    int ta = add_vec(p, "t", DT_F32, 4, KT_ARENA);
    p->tensors[ta].offset = 8;
    p->arena_bytes = 16;
    kb_init(&k, p->pool, kprog_func(p, "g", "g"));
    kb_buf(&k, DT_F32, 4, KR_OUT, ta);
    ck_assert_int_eq(cgen_c_write(p, out, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "outside"));
    free(err);
    kprog_free(p);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}
END_TEST

START_TEST(bench_mode)
{
    KProg *p = red_prog();
    char *dir = make_tmpdir();
    char out[700], path[800], cmd[2000];
    snprintf(out, sizeof out, "%s/gen", dir);
    char *err = NULL;
    ck_assert_int_eq(cgen_c_write(p, out, &err), 0);
    char *h = cgen_c_harness(p);
    snprintf(path, sizeof path, "%s/main.c", out);
    put_file(path, h, strlen(h));
    free(h);
    snprintf(cmd, sizeof cmd, "cd '%s' && cc -std=c99 -Wall -Wextra -pedantic -Werror -o prog *.c "
             "-lm && ./prog --bench 5 > bench.txt && { ./prog 2>/dev/null; test $? -eq 2; }", out);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/bench.txt", out);
    char *b = slurp_text(path);
    double us = -1;
    ck_assert_msg(b && sscanf(b, "median_us %lf", &us) == 1 && us >= 0, "bench printed: %s", b);
    free(b);
    /* a wrong-size input is refused */
    snprintf(cmd, sizeof cmd, "cd '%s' && printf abc > short.bin && ! ./prog short.bin o1 o2 o3 "
             "2>/dev/null", out);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
    kprog_free(p);
}
END_TEST

/* ---- float16 / bfloat16: bit-exact with the interpreter ---- */

#include "f16_prog.h"

static void *f16_want[F16_NOUT];
static KProg *f16_p;

static void f16_check(void **outs, const char *cc)
{
    f16_compare(f16_p, outs, f16_want, cc);
}

START_TEST(float16_bit_exact)
{
    f16_init();
    f16_p = f16_prog();
    char err[256];
    ck_assert_msg(kir_verify(f16_p->funcs[0], err, sizeof err) == 0, "%s", err);
    const void *ins[] = { f16_x, f16_y, f16_d, f16_i };
    f16_reference(f16_p, ins, f16_want);
    f16_check_known(f16_want);
    run_all(f16_p, ins, f16_check);
    for (int i = 0; i < F16_NOUT; i++) free(f16_want[i]);
    kprog_free(f16_p);
}
END_TEST

static Suite *cgen_suite(void)
{
    Suite *s = suite_create("cgen");
    TCase *tc = tcase_create("c");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, elementwise_dtypes);
    tcase_add_test(tc, reduction_loop_nest);
    tcase_add_test(tc, runtime_calls);
    tcase_add_test(tc, weights_bit_exact);
    tcase_add_test(tc, weights_bytes_bit_exact);
    tcase_add_test(tc, zero_size_and_odd_comments);
    tcase_add_test(tc, files_header_and_errors);
    tcase_add_test(tc, bench_mode);
    tcase_add_test(tc, float16_bit_exact);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cgen_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
