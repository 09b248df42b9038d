/* test_nvptx.c — target nvptx without a GPU: hand-built KProgs go through nvptx_plan
 * (which loops become threads, launch sizes, phases) and cgen_nvptx_write; the PTX must
 * hold one .entry per kernel, read %tid.x/%ctaid.x exactly where a loop was mapped, and
 * pass ptxas for sm_80 and sm_90 where ptxas is installed; NAME_host.c must compile as
 * strict C99 (and, where cuda.h exists, agree with it). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "codegen.h"
#include "llvm/nvptx.h"

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

static int add_tensor(KProg *p, const char *name, int64_t n, KTensorKind kind, const void *data)
{
    KTensor kt;
    memset(&kt, 0, sizeof kt);
    kt.name = name;
    kt.src_name = name;
    kt.t = DT_F32;
    kt.rank = 1;
    kt.dims[0] = n;
    kt.n = n;
    kt.kind = kind;
    kt.data = data;
    return kprog_tensor(p, &kt);
}

static const float weights[4] = { 1.0f, -2.0f, 0.5f, 3.0f };

/* net: y = exp(x) * w (elementwise, 4 x 250 as PARALLEL over VECTOR), then
 * s[0] = sum(y) in two phases (zero the output in parallel; accumulate serially), then
 * z[0] = a top-level scalar carried between statements (must stay one kernel). */
static KProg *make_prog(int use_exp)
{
    KProg *p = kprog_new("net");
    int x = add_tensor(p, "x", 1000, KT_INPUT, NULL);
    int y = add_tensor(p, "y", 1000, KT_OUTPUT, NULL);
    int s = add_tensor(p, "s", 4, KT_OUTPUT, NULL);
    int z = add_tensor(p, "z", 1, KT_OUTPUT, NULL);
    int w = add_tensor(p, "w", 4, KT_CONST, weights);
    KB k;

    KFunc *f = kprog_func(p, "f_scale", "scale");
    kb_init(&k, p->pool, f);
    int bx = kb_buf(&k, DT_F32, 1000, KR_IN, x), bw = kb_buf(&k, DT_F32, 4, KR_IN, w);
    int by = kb_buf(&k, DT_F32, 1000, KR_OUT, y);
    int i = kfor_n(&k, 4, KL_PARALLEL);
    int j = kfor_n(&k, 250, KL_VECTOR);
    KExpr *idx = kadd(&k, kmuli(&k, kvar(&k, i), 250), kvar(&k, j));
    KExpr *v = kload(&k, bx, idx);
    if (use_exp) v = kun(&k, KU_EXP, v);
    kstore(&k, by, idx, kbin(&k, KB_MUL, v, kload(&k, bw, kvar(&k, i))));
    kend_n(&k, 2);

    f = kprog_func(p, "f_sum", "sum in two phases");
    kb_init(&k, p->pool, f);
    int by2 = kb_buf(&k, DT_F32, 1000, KR_IN, y), bs = kb_buf(&k, DT_F32, 4, KR_OUT, s);
    int r = kfor_n(&k, 4, KL_PARALLEL);
    kstore(&k, bs, kvar(&k, r), kc_float(&k, DT_F32, 0));
    kend(&k);
    int q = kfor_n(&k, 1000, KL_REDUCE);
    KExpr *slot = kc_idx(&k, 0);
    kstore(&k, bs, slot, kbin(&k, KB_ADD, kload(&k, bs, slot), kload(&k, by2, kvar(&k, q))));
    kend(&k);

    f = kprog_func(p, "f_carry", "top-level scalar");
    kb_init(&k, p->pool, f);
    int bs2 = kb_buf(&k, DT_F32, 4, KR_IN, s), bz = kb_buf(&k, DT_F32, 1, KR_OUT, z);
    int acc = kdecl(&k, DT_F32, kc_float(&k, DT_F32, 1));
    int t = kfor_n(&k, 4, KL_PARALLEL);
    kset(&k, acc, kbin(&k, KB_MUL, kvar(&k, acc), kload(&k, bs2, kvar(&k, t))));
    kend(&k);
    kstore(&k, bz, kc_idx(&k, 0), kvar(&k, acc));

    int ins[1] = { x }, outs[3] = { y, s, z };
    p->inputs = pool_alloc(p->pool, sizeof ins);
    p->outputs = pool_alloc(p->pool, sizeof outs);
    memcpy(p->inputs, ins, sizeof ins);
    memcpy(p->outputs, outs, sizeof outs);
    p->ninputs = 1;
    p->noutputs = 3;
    p->arena_bytes = 0;
    p->arena_align = 64;
    return p;
}

START_TEST(test_plan)
{
    KProg *p = make_prog(0);
    NvPlan plan;
    nvptx_plan(p, &plan);
    ck_assert_int_eq(plan.n, 4);
    ck_assert_str_eq(plan.k[0].name, "f_scale");
    ck_assert_int_eq(plan.k[0].nmapped, 2);      /* PARALLEL over VECTOR: both mapped */
    ck_assert_int_eq((int)plan.k[0].threads, 1000);
    ck_assert_int_eq((int)plan.k[0].block, 256);
    ck_assert_int_eq((int)plan.k[0].grid, 4);
    ck_assert_str_eq(plan.k[1].name, "f_sum_p0");
    ck_assert_int_eq(plan.k[1].nmapped, 1);
    ck_assert_int_eq((int)plan.k[1].block, 32);  /* 4 threads: one warp */
    ck_assert_str_eq(plan.k[2].name, "f_sum_p1");
    ck_assert_int_eq(plan.k[2].nmapped, 0);      /* a reduction runs in one thread */
    ck_assert_int_eq((int)plan.k[2].grid * (int)plan.k[2].block, 1);
    ck_assert_str_eq(plan.k[3].name, "f_carry"); /* top-level scalar: one serial kernel */
    ck_assert_int_eq(plan.k[3].nmapped, 0);
    nvptx_plan_free(&plan);
    kprog_free(p);
}
END_TEST

/* The text of one .entry (up to the next one). */
static char *entry_text(const char *ptx, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof pat, ".entry %s(", name);
    const char *s = strstr(ptx, pat);
    if (!s) return NULL;
    const char *e = strstr(s + 1, ".entry ");
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *r = malloc(n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

static const char *ptxas_path(void)
{
    const char *env = getenv("ONNXCC_PTXAS");
    if (env && *env) return env;
    if (system("command -v ptxas >/dev/null 2>&1") == 0) return "ptxas";
    if (access("/usr/local/cuda/bin/ptxas", X_OK) == 0) return "/usr/local/cuda/bin/ptxas";
    return NULL;
}

static void compile_and_check(int use_exp, const char *cpu)
{
    KProg *p = make_prog(use_exp);
    char tmpl[256], path[600], cmd[2048];
    const char *base = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/onnxcc_nvptx_XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    LlvmOptions o;
    memset(&o, 0, sizeof o);
    o.target = "nvptx";
    o.triple = "nvptx64-nvidia-cuda";
    o.cpu = cpu;
    o.opt_level = 2;
    char *err = NULL;
    int rc = cgen_nvptx_write(p, dir, &o, &err);
    if (rc != 0 && use_exp && err && strstr(err, "libdevice")) {
        /* no CUDA toolkit here: the refusal must name the function and the node */
        ck_assert_msg(strstr(err, "__nv_expf (f_scale)") != NULL, "message: %s", err);
        free(err);
        kprog_free(p);
        return;
    }
    ck_assert_msg(rc == 0, "cgen_nvptx_write: %s", err ? err : "?");
    snprintf(path, sizeof path, "%s/net.ptx", dir);
    char *ptx = slurp(path);
    ck_assert_ptr_nonnull(ptx);
    char want[64];
    snprintf(want, sizeof want, ".target %s", cpu);
    ck_assert_msg(strstr(ptx, want) != NULL, "no '%s' in the PTX", want);
    static const char *const mapped[] = { "f_scale", "f_sum_p0" };
    static const char *const serial[] = { "f_sum_p1", "f_carry" };
    for (int i = 0; i < 2; i++) {
        char *e = entry_text(ptx, mapped[i]);
        ck_assert_msg(e != NULL, "no .entry %s", mapped[i]);
        ck_assert_msg(strstr(e, "%tid.x") && strstr(e, "%ctaid.x") && strstr(e, "%ntid.x"),
                      "%s: parallel loop not mapped to threads", mapped[i]);
        free(e);
        e = entry_text(ptx, serial[i]);
        ck_assert_msg(e != NULL, "no .entry %s", serial[i]);
        ck_assert_msg(!strstr(e, "%tid.x"), "%s should run as one thread", serial[i]);
        free(e);
    }
    ck_assert_msg(!strstr(ptx, "call.uni") && !strstr(ptx, ".extern .func"),
                  "the PTX calls an undefined function (libdevice not linked?)");
    free(ptx);

    const char *ptxas = ptxas_path();
    if (ptxas) {
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' -arch=%s net.ptx -o /dev/null >ptxas.log 2>&1",
                 dir, ptxas, cpu);
        if (system(cmd) != 0) {
            snprintf(path, sizeof path, "%s/ptxas.log", dir);
            char *log = slurp(path);
            ck_abort_msg("ptxas -arch=%s failed in %s:\n%.2000s", cpu, dir, log ? log : "");
        }
    } else {
        fprintf(stderr, "test_nvptx: ptxas not found, PTX not assembled\n");
    }
    snprintf(cmd, sizeof cmd, "cd '%s' && cc -std=c99 -Wall -Wextra -pedantic -Werror -c "
             "net_host.c -o host.o >cc.log 2>&1", dir);
    ck_assert_msg(system(cmd) == 0, "net_host.c does not compile as strict C99 (in %s)", dir);
    /* cuda.h itself is not -pedantic clean (anonymous unions), so the check against it
     * uses C11 without -pedantic */
    if (access("/usr/local/cuda/include/cuda.h", R_OK) == 0) {
        snprintf(cmd, sizeof cmd, "cd '%s' && cc -std=c11 -Wall -Wextra -Werror "
                 "-DONNXCC_USE_CUDA_H -I/usr/local/cuda/include -c net_host.c -o host2.o "
                 ">cc2.log 2>&1", dir);
        ck_assert_msg(system(cmd) == 0, "net_host.c disagrees with cuda.h (in %s)", dir);
    }
    snprintf(path, sizeof path, "%s/net_host.c", dir);
    char *host = slurp(path);
    ck_assert_ptr_nonnull(host);
    ck_assert_msg(strstr(host, "{ \"f_scale\", 4u, 256u, 3 }"), "launch of f_scale");
    ck_assert_msg(strstr(host, "{ \"f_sum_p1\", 1u, 1u, 2 }"), "launch of f_sum_p1");
    ck_assert_msg(strstr(host, "int net_run(const float x[1000], float y[1000], float s[4], "
                               "float z[1])"), "NAME_run prototype");
    free(host);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    kprog_free(p);
}

START_TEST(test_ptx_sm80) { compile_and_check(0, "sm_80"); }
END_TEST
START_TEST(test_ptx_sm90) { compile_and_check(0, "sm_90"); }
END_TEST
START_TEST(test_ptx_libdevice) { compile_and_check(1, "sm_80"); }
END_TEST

START_TEST(test_bad_cpu)
{
    KProg *p = make_prog(0);
    LlvmOptions o;
    memset(&o, 0, sizeof o);
    o.cpu = "znver4";
    o.opt_level = 2;
    char *err = NULL;
    ck_assert_int_ne(cgen_nvptx_write(p, "/nonexistent", &o, &err), 0);
    ck_assert_msg(err && strstr(err, "not a GPU architecture"), "message: %s", err ? err : "");
    free(err);
    kprog_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nvptx");
    TCase *tc = tcase_create("nvptx");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_plan);
    tcase_add_test(tc, test_ptx_sm80);
    tcase_add_test(tc, test_ptx_sm90);
    tcase_add_test(tc, test_ptx_libdevice);
    tcase_add_test(tc, test_bad_cpu);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
