/* test_driver.c — the onnxcc command as a user meets it: usage errors exit 2 with one line,
 * model errors exit 1 with one line, compile writes the files, check passes on a real ONNX
 * node test and catches wrong expected values, report prints its table. Runs the built
 * executable (ONNXCC_EXE) so main.c's parsing is covered too. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "onnxcc.h"

#ifndef ONNXCC_EXE
#define ONNXCC_EXE "onnxcc"
#endif

#define NODE_DATA "/usr/share/libonnx-testdata/data/node"

static char tmpdir[256];
static char output[65536];

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/onnxcc-test-driver-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_rf(const char *path)
{
    /* only our own temp dir; no shell globbing of anything else */
    char *argv[] = { "rm", "-rf", (char *)path, NULL };
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
}

static void teardown(void)
{
    rm_rf(tmpdir);
}

/* Runs onnxcc with args (NULL terminated); stdout+stderr into `output`; returns the exit
 * code (or 128+signal). */
static int run_onnxcc(const char *const *args)
{
    char logpath[300];
    snprintf(logpath, sizeof logpath, "%s/run.log", tmpdir);
    const char *argv[64];
    int n = 0;
    argv[n++] = ONNXCC_EXE;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    FILE *f = fopen(logpath, "rb");
    size_t len = f ? fread(output, 1, sizeof output - 1, f) : 0;
    if (f) fclose(f);
    output[len] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static const char *last_line(void)
{
    size_t len = strlen(output);
    while (len && output[len - 1] == '\n') output[--len] = 0;
    const char *nl = strrchr(output, '\n');
    return nl ? nl + 1 : output;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int have_node_data(const char *test)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/model.onnx", NODE_DATA, test);
    return exists(path);
}

START_TEST(usage_errors_exit_2)
{
    const char *unknown_flag[] = { "compile", "m.onnx", "-o", "out", "--frobnicate", NULL };
    ck_assert_int_eq(run_onnxcc(unknown_flag), 2);
    ck_assert_ptr_nonnull(strstr(output, "--frobnicate"));
    ck_assert_ptr_nonnull(strstr(output, "--help"));
    ck_assert_int_eq(count_lines(output), 1);

    const char *missing_o[] = { "compile", "m.onnx", NULL };
    ck_assert_int_eq(run_onnxcc(missing_o), 2);
    ck_assert_ptr_nonnull(strstr(output, "-o"));

    const char *o_without_value[] = { "compile", "m.onnx", "-o", NULL };
    ck_assert_int_eq(run_onnxcc(o_without_value), 2);

    const char *bad_shapes[] = { "x", "x=", "=1x2", "x=1xq", "x=1x", "x=-1", "x=1,2", NULL };
    for (int i = 0; bad_shapes[i]; i++) {
        const char *args[] = { "compile", "m.onnx", "-o", "out", "--shape", bad_shapes[i], NULL };
        ck_assert_msg(run_onnxcc(args) == 2, "--shape %s: %s", bad_shapes[i], output);
        ck_assert_int_eq(count_lines(output), 1);
    }

    const char *no_args[] = { NULL };
    ck_assert_int_eq(run_onnxcc(no_args), 2);
    const char *unknown_cmd[] = { "frobnicate", NULL };
    ck_assert_int_eq(run_onnxcc(unknown_cmd), 2);
    /* check without a data set is the self-check; its options are checked as usual */
    const char *check_bad_seed[] = { "check", "m.onnx", "--seed", "many", NULL };
    ck_assert_int_eq(run_onnxcc(check_bad_seed), 2);
    ck_assert_int_eq(count_lines(output), 1);
    const char *wrong_cmd_flag[] = { "report", "m.onnx", "-o", "x", NULL };
    ck_assert_int_eq(run_onnxcc(wrong_cmd_flag), 2);
    const char *bad_target[] = { "compile", "m.onnx", "-o", "x", "--target", "z80", NULL };
    ck_assert_int_eq(run_onnxcc(bad_target), 2);
    ck_assert_ptr_nonnull(strstr(output, "z80"));
    const char *bad_name[] = { "compile", "m.onnx", "-o", "x", "--name", "9lives", NULL };
    ck_assert_int_eq(run_onnxcc(bad_name), 2);
}
END_TEST

START_TEST(help_and_version)
{
    const char *help[] = { "--help", NULL };
    ck_assert_int_eq(run_onnxcc(help), 0);
    ck_assert_ptr_nonnull(strstr(output, "onnxcc compile"));
    ck_assert_ptr_nonnull(strstr(output, "onnxcc report"));
    ck_assert_ptr_nonnull(strstr(output, "onnxcc check"));
    ck_assert_ptr_nonnull(strstr(output, "onnxcc bench"));
    const char *version[] = { "--version", NULL };
    ck_assert_int_eq(run_onnxcc(version), 0);
    ck_assert_ptr_nonnull(strstr(output, ONNXCC_VERSION));
}
END_TEST

START_TEST(parse_shape_syntax)
{
    Pool *p = pool_new();
    const char *name;
    Type t;
    ck_assert_int_eq(driver_parse_shape(p, "input=1x3x224x224", &name, &t), 0);
    ck_assert_str_eq(name, "input");
    ck_assert_int_eq(t.rank, 4);
    ck_assert_int_eq(t.dims[0], 1);
    ck_assert_int_eq(t.dims[3], 224);
    ck_assert_int_eq(driver_parse_shape(p, "a:0=7", &name, &t), 0);
    ck_assert_str_eq(name, "a:0");
    ck_assert_int_eq(t.rank, 1);
    ck_assert_int_eq(t.dims[0], 7);
    ck_assert_int_eq(driver_parse_shape(p, "z=0x2", &name, &t), 0);
    ck_assert_int_eq(t.dims[0], 0);
    ck_assert_int_eq(driver_parse_shape(p, "x=1x2x3x4x5x6x7x8x9", &name, &t), -1);
    ck_assert_int_eq(driver_parse_shape(p, "x=1xx2", &name, &t), -1);
    ck_assert_int_eq(driver_parse_shape(p, "x=+1", &name, &t), -1);
    pool_free(p);
}
END_TEST

START_TEST(model_file_errors_exit_1)
{
    char out[300], model[300];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    const char *missing[] = { "compile", "/nonexistent/dir/model.onnx", "-o", out, NULL };
    ck_assert_int_eq(run_onnxcc(missing), 1);
    ck_assert_int_eq(count_lines(output), 1);
    ck_assert_ptr_nonnull(strstr(output, "onnxcc: error:"));
    ck_assert_ptr_nonnull(strstr(output, "/nonexistent/dir/model.onnx"));

    snprintf(model, sizeof model, "%s/garbage.onnx", tmpdir);
    FILE *f = fopen(model, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("this is plainly not a protobuf ModelProto \x01\x02\xff\xfe\n", f);
    fclose(f);
    const char *garbage[] = { "compile", model, "-o", out, NULL };
    ck_assert_int_eq(run_onnxcc(garbage), 1);
    ck_assert_int_eq(count_lines(output), 1);
    ck_assert_ptr_nonnull(strstr(output, "onnxcc: error:"));
    ck_assert(!exists(out));   /* nothing written on failure */

    const char *report[] = { "report", model, NULL };
    ck_assert_int_eq(run_onnxcc(report), 1);
    ck_assert_int_eq(count_lines(output), 1);
}
END_TEST

START_TEST(shape_of_unknown_input_exit_1)
{
    if (!have_node_data("test_add")) return;
    char out[300];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    const char *args[] = { "compile", NODE_DATA "/test_add/model.onnx", "-o", out,
                           "--shape", "no_such_input=1x2", NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_ptr_nonnull(strstr(output, "no_such_input"));
    ck_assert_int_eq(count_lines(output), 1);
}
END_TEST

START_TEST(compile_writes_files)
{
    if (!have_node_data("test_add")) return;
    char out[300], path[400];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    const char *args[] = { "compile", NODE_DATA "/test_add/model.onnx", "-o", out, "--name",
                           "adder", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    snprintf(path, sizeof path, "%s/adder.h", out);
    ck_assert_msg(exists(path), "%s missing", path);
    snprintf(path, sizeof path, "%s/adder.c", out);
    ck_assert_msg(exists(path), "%s missing", path);
    /* default name from the file name */
    const char *args2[] = { "compile", NODE_DATA "/test_add/model.onnx", "-o", out, NULL };
    ck_assert_msg(run_onnxcc(args2) == 0, "%s", output);
    snprintf(path, sizeof path, "%s/model.h", out);
    ck_assert_msg(exists(path), "%s missing", path);
}
END_TEST

START_TEST(freeze_binds_an_input)
{
    if (!have_node_data("test_reshape_extended_dims")) return;
    char out[300], path[400];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    const char *model = NODE_DATA "/test_reshape_extended_dims/model.onnx";
    const char *args[] = { "compile", model, "-o", out, "--name", "rs", "--freeze",
                           "shape=3,2,2,2", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "frozen: 'shape' = int64[4] {3, 2, 2, 2}"));
    /* the frozen input leaves the generated API */
    snprintf(path, sizeof path, "%s/rs.h", out);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char hdr[8192];
    size_t n = fread(hdr, 1, sizeof hdr - 1, f);
    fclose(f);
    hdr[n] = 0;
    ck_assert_msg(strstr(hdr, "int rs_run(const float data[2][3][4], float reshaped[3][2][2][2]);"),
                  "%s", hdr);

    /* the same value from a tensor file, and check with the value frozen by hand */
    const char *args_pb[] = { "compile", model, "-o", out, "--freeze",
                              "shape=@" NODE_DATA "/test_reshape_extended_dims/test_data_set_0/"
                              "input_1.pb", NULL };
    ck_assert_msg(run_onnxcc(args_pb) == 0, "%s", output);
    const char *chk[] = { "check", model, NODE_DATA "/test_reshape_extended_dims/test_data_set_0",
                          "--freeze", "shape=2,3,2,2", NULL };
    ck_assert_msg(run_onnxcc(chk) == 0, "%s", output);
    ck_assert_str_eq(last_line(), "PASS");
    /* check's own specialisation goes through the same mechanism and says what it froze */
    const char *chk_auto[] = { "check", model,
                               NODE_DATA "/test_reshape_extended_dims/test_data_set_0", NULL };
    ck_assert_msg(run_onnxcc(chk_auto) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "input 'shape' frozen to its dataset value 'shape' = "
                                         "int64[4] {2, 3, 2, 2}"));

    /* bad values: one line, exit 1 (model-level) or 2 (syntax) */
    const char *bad1[] = { "shape=3,2,2", "shape=1.5,2,2,6", "nope=1", "data=1",
                           "shape=@/nonexistent/x.pb", NULL };
    for (int i = 0; bad1[i]; i++) {
        const char *a[] = { "compile", model, "-o", out, "--freeze", bad1[i], NULL };
        ck_assert_msg(run_onnxcc(a) == 1, "--freeze %s: %s", bad1[i], output);
        ck_assert_msg(count_lines(output) == 1, "%s", output);
        ck_assert_ptr_nonnull(strstr(output, "--freeze"));
    }
    const char *bad2[] = { "shape", "shape=", "=1", "shape=1,,2", "shape=x", "shape=@", NULL };
    for (int i = 0; bad2[i]; i++) {
        const char *a[] = { "compile", model, "-o", out, "--freeze", bad2[i], NULL };
        ck_assert_msg(run_onnxcc(a) == 2, "--freeze %s: %s", bad2[i], output);
        ck_assert_int_eq(count_lines(output), 1);
    }
}
END_TEST

/* check freezes exactly the inputs an operator needs at compile time, whatever their type:
 * Resize's float scales, never the data X beside them. */
START_TEST(check_freezes_what_an_operator_needs)
{
    if (!have_node_data("test_resize_upsample_scales_linear")) return;
    const char *chk[] = { "check", NODE_DATA "/test_resize_upsample_scales_linear/model.onnx",
                          NODE_DATA "/test_resize_upsample_scales_linear/test_data_set_0", NULL };
    ck_assert_msg(run_onnxcc(chk) == 0, "%s", output);
    ck_assert_str_eq(last_line(), "PASS");
    ck_assert_ptr_nonnull(strstr(output, "input 'scales' frozen to its dataset value 'scales' = "
                                         "float32[4] {1, 1, 2, 2}"));
    ck_assert_ptr_null(strstr(output, "input 'X' frozen"));
}
END_TEST

START_TEST(check_passes_on_node_test)
{
    if (!have_node_data("test_add")) return;
    const char *args[] = { "check", NODE_DATA "/test_add/model.onnx",
                           NODE_DATA "/test_add/test_data_set_0", NULL };
    int rc = run_onnxcc(args);
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, output);
    ck_assert_str_eq(last_line(), "PASS");
    ck_assert_ptr_nonnull(strstr(output, "OK"));
}
END_TEST

START_TEST(check_catches_wrong_values)
{
    if (!have_node_data("test_add") || !have_node_data("test_sub")) return;
    /* Add's inputs with Sub's expected output: same shape and type, different values */
    char ds[300], cmd[1200];
    snprintf(ds, sizeof ds, "%s/test_data_set_0", tmpdir);
    ck_assert_int_eq(mkdir(ds, 0755), 0);
    snprintf(cmd, sizeof cmd,
             "cp " NODE_DATA "/test_add/test_data_set_0/input_0.pb " NODE_DATA
             "/test_add/test_data_set_0/input_1.pb '%s'/ && cp " NODE_DATA
             "/test_sub/test_data_set_0/output_0.pb '%s'/",
             ds, ds);
    ck_assert_int_eq(system(cmd), 0);
    const char *args[] = { "check", NODE_DATA "/test_add/model.onnx", ds, NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL wrong values: ", 19), "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "MISMATCH"));
}
END_TEST

/* The Cortex-M targets write firmware objects: compile takes --arena extern (the object's
 * NAME_run then takes the arena first), check and bench say why they cannot run them, and
 * the firmware options the object does not build are one error line. */
START_TEST(cortex_m_objects_and_their_limits)
{
    const char *model = ONNXCC_SOURCE_ROOT "/samples/digits/digits.onnx";
    const char *data = ONNXCC_SOURCE_ROOT "/samples/digits/test_data_set_0";
    char out[300], path[400];
    snprintf(out, sizeof out, "%s/m7", tmpdir);
    const char *compile[] = { "compile", model, "-o", out, "--target", "cortex-m7",
                              "--arena", "extern", NULL };
    int rc = run_onnxcc(compile);
    if (rc != 0 && strstr(output, "needs the LLVM back end")) return;
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, output);
    snprintf(path, sizeof path, "%s/digits.o", out);
    ck_assert(exists(path));
    snprintf(path, sizeof path, "%s/digits.h", out);
    ck_assert(exists(path));

    const char *check[] = { "check", model, data, "--target", "cortex-m4", NULL };
    ck_assert_int_eq(run_onnxcc(check), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL unsupported: target cortex-m4: ", 36), "%s", output);
    const char *bench[] = { "bench", model, "--target", "cortex-m33", NULL };
    ck_assert_int_eq(run_onnxcc(bench), 1);
    ck_assert_int_eq(count_lines(output), 1);
    ck_assert_msg(strstr(output, "bench does not apply to target cortex-m33"), "%s", output);
    snprintf(out, sizeof out, "%s/bin", tmpdir);
    const char *bin[] = { "compile", model, "-o", out, "--target", "cortex-m4", "--weights",
                          "bin", NULL };
    ck_assert_int_eq(run_onnxcc(bin), 1);
    ck_assert_int_eq(count_lines(output), 1);
    ck_assert_msg(strstr(output, "--weights bin and --io in-arena need the C back end"), "%s",
                  output);
    ck_assert(!exists(out));
}
END_TEST

START_TEST(check_missing_dataset)
{
    if (!have_node_data("test_add")) return;
    const char *args[] = { "check", NODE_DATA "/test_add/model.onnx", "/nonexistent/ds", NULL };
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL error: ", 12), "%s", output);

    /* inputs but no output_K.pb: nothing was compared, so no PASS (before: PASS) */
    char ds[300], cmd[900];
    snprintf(ds, sizeof ds, "%s/ds_no_out", tmpdir);
    ck_assert_int_eq(mkdir(ds, 0755), 0);
    snprintf(cmd, sizeof cmd, "cp %s/test_add/test_data_set_0/input_*.pb %s/", NODE_DATA, ds);
    ck_assert_int_eq(system(cmd), 0);
    const char *no_out[] = { "check", NODE_DATA "/test_add/model.onnx", ds, NULL };
    ck_assert_int_eq(run_onnxcc(no_out), 1);
    ck_assert_msg(strstr(last_line(), "FAIL error: ") && strstr(last_line(), "nothing to compare"),
                  "%s", output);

    /* an empty input file says so (before: "unsupported data type 0") */
    snprintf(cmd, sizeof cmd, "cp %s/test_add/test_data_set_0/output_0.pb %s/ && : > %s/input_0.pb",
             NODE_DATA, ds, ds);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(run_onnxcc(no_out), 1);
    ck_assert_msg(strstr(last_line(), "input_0.pb: is empty"), "%s", output);

    /* a data set whose input has the wrong rank blames the data set, not a --shape flag
     * nobody gave (before: "--shape x=5: rank 1, ...") */
    snprintf(cmd, sizeof cmd, "cp %s/test_add_bcast/test_data_set_0/input_1.pb %s/input_0.pb",
             NODE_DATA, ds);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(run_onnxcc(no_out), 1);
    ck_assert_msg(strstr(last_line(), "the data set's 'x' has shape [5]: rank 1") &&
                      !strstr(last_line(), "--shape"), "%s", output);
}
END_TEST

START_TEST(check_verdict_after_stack_overflow)
{
    /* check's crash handler runs on a stack of its own: with a stack limit too small for
     * the compiler (protobuf-c unpacks a model of 40 nested sequence types recursively), the
     * last line is still a verdict (before: killed by SIGSEGV, no line at all) */
#if defined(__SANITIZE_ADDRESS__)
    return;   /* under ASan the sanitizer's own handler takes the overflow (and aborts) */
#endif
    unsigned char b[1024];
    size_t pos = sizeof b;
    for (int k = 0; k < 40 + 3; k++) {
        static const unsigned char fields[3] = { 2 << 3 | 2, 11 << 3 | 2, 7 << 3 | 2 };
        size_t len = sizeof b - pos;
        unsigned char tag = k < 40 ? (unsigned char)((k % 2 ? 4 : 1) << 3 | 2) : fields[k - 40];
        if (k < 40 && k % 2 == 0) tag = 1 << 3 | 2;   /* TypeProto.Sequence.elem_type */
        if (k < 40 && k % 2 == 1) tag = 4 << 3 | 2;   /* TypeProto.sequence_type */
        b[--pos] = (unsigned char)len;                /* every length here is < 128 */
        b[--pos] = tag;
    }
    char model[300], ds[300], log[300], cmd[1200];
    snprintf(model, sizeof model, "%s/nested.onnx", tmpdir);
    snprintf(ds, sizeof ds, "%s/nested_ds", tmpdir);
    snprintf(log, sizeof log, "%s/so.log", tmpdir);
    FILE *f = fopen(model, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(b + pos, 1, sizeof b - pos, f);
    fclose(f);
    ck_assert_int_eq(mkdir(ds, 0755), 0);
    snprintf(cmd, sizeof cmd, "ulimit -s 16 && exec %s check %s %s > %s 2>&1", ONNXCC_EXE,
             model, ds, log);
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
    f = fopen(log, "rb");
    ck_assert_ptr_nonnull(f);
    size_t len = fread(output, 1, sizeof output - 1, f);
    fclose(f);
    output[len] = 0;
    ck_assert_msg(!strncmp(last_line(), "FAIL ", 5), "no verdict: %s", output);
}
END_TEST

START_TEST(report_prints_table)
{
    if (!have_node_data("test_add")) return;
    const char *args[] = { "report", NODE_DATA "/test_add/model.onnx", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "Add"));
    ck_assert_ptr_nonnull(strstr(output, "float32[3x4x5]"));
    ck_assert_ptr_nonnull(strstr(output, "total MACs: 0"));  /* adds, no multiplies */
    ck_assert_ptr_nonnull(strstr(output, "arena: planned"));
}
END_TEST

START_TEST(report_counts_matmul_macs)
{
    if (!have_node_data("test_matmul_2d")) return;
    /* A[3x4] x B[4x3]: 3*3*4 = 36 multiply-accumulates, whether loop nest or kernel */
    const char *args[] = { "report", NODE_DATA "/test_matmul_2d/model.onnx", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    ck_assert_msg(strstr(output, "total MACs: 36\n") != NULL, "%s", output);
}
END_TEST

START_TEST(failed_compile_leaves_nothing)
{
    /* A directory squatting on one output file makes the back end fail part way: every
     * file this run wrote before that must be gone again. */
    static const char *const files[] = { "digits.h", "digits.c", "digits_weights.c",
                                         "onnxcc_rt.h", "rt_sgemm.c", "rt_sgemm_pack.c",
                                         NULL };
    const char *model = ONNXCC_SOURCE_ROOT "/samples/digits/digits.onnx";
    if (!exists(model)) return;
    for (int i = 0; files[i]; i++) {
        char out[300], blocker[400];
        snprintf(out, sizeof out, "%s/out%d", tmpdir, i);
        snprintf(blocker, sizeof blocker, "%s/%s", out, files[i]);
        ck_assert_int_eq(mkdir(out, 0755), 0);
        ck_assert_int_eq(mkdir(blocker, 0755), 0);
        char inner[500];
        snprintf(inner, sizeof inner, "%s/keep", blocker);   /* so rename cannot replace it */
        ck_assert_int_eq(mkdir(inner, 0755), 0);
        const char *args[] = { "compile", model, "-o", out, "--name", "digits", NULL };
        ck_assert_int_eq(run_onnxcc(args), 1);
        ck_assert_int_eq(count_lines(output), 1);
        for (int j = 0; files[j]; j++) {
            if (j == i) continue;
            char path[400];
            snprintf(path, sizeof path, "%s/%s", out, files[j]);
            ck_assert_msg(!exists(path), "%s left behind after a failed compile", path);
        }
    }
}
END_TEST

START_TEST(failed_recompile_keeps_old_files)
{
    /* Compiled once; then a recompile into the same folder fails at its third file (a
     * directory now squats on NAME_weights.c): the first set must stay whole, its NAME.h
     * and NAME.c not replaced by the new run's (before: they were, beside the old rest). */
    const char *model = ONNXCC_SOURCE_ROOT "/samples/digits/digits.onnx";
    if (!exists(model)) return;
    char out[300], h[400], c[400], w[400], inner[500];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    const char *args[] = { "compile", model, "-o", out, "--name", "digits", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    snprintf(h, sizeof h, "%s/digits.h", out);
    snprintf(c, sizeof c, "%s/digits.c", out);
    snprintf(w, sizeof w, "%s/digits_weights.c", out);
    struct stat sh, sc, sh2, sc2;
    ck_assert_int_eq(stat(h, &sh), 0);
    ck_assert_int_eq(stat(c, &sc), 0);
    ck_assert_int_eq(remove(w), 0);
    ck_assert_int_eq(mkdir(w, 0755), 0);
    snprintf(inner, sizeof inner, "%s/keep", w);
    ck_assert_int_eq(mkdir(inner, 0755), 0);
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_int_eq(count_lines(output), 1);
    ck_assert_int_eq(stat(h, &sh2), 0);
    ck_assert_int_eq(stat(c, &sc2), 0);
    ck_assert_msg(sh.st_ino == sh2.st_ino && sc.st_ino == sc2.st_ino,
                  "a failed recompile replaced part of the previous output");
    /* and no temporary file is left */
    DIR *d = opendir(out);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    while ((de = readdir(d)))
        ck_assert_msg(!strstr(de->d_name, ".tmp"), "left behind: %s", de->d_name);
    closedir(d);
}
END_TEST

START_TEST(compile_creates_parent_dirs)
{
    /* -o a/b/c makes the missing folders; a file in the way is one error line naming it */
    const char *model = ONNXCC_SOURCE_ROOT "/samples/digits/digits.onnx";
    if (!exists(model)) return;
    char out[300], h[400], file[300], bad[400];
    snprintf(out, sizeof out, "%s/new/deeper/out", tmpdir);
    const char *args[] = { "compile", model, "-o", out, "--name", "digits", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    snprintf(h, sizeof h, "%s/digits.h", out);
    ck_assert_msg(exists(h), "no %s", h);
    snprintf(file, sizeof file, "%s/plainfile", tmpdir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(bad, sizeof bad, "%s/sub/out", file);
    const char *args2[] = { "compile", model, "-o", bad, NULL };
    ck_assert_int_eq(run_onnxcc(args2), 1);
    ck_assert_int_eq(count_lines(output), 1);
    ck_assert_msg(strstr(output, "plainfile: not a directory"), "%s", output);
}
END_TEST

START_TEST(bench_prints_median)
{
    if (!have_node_data("test_add")) return;
    const char *args[] = { "bench", NODE_DATA "/test_add/model.onnx", "--runs", "5", NULL };
    ck_assert_msg(run_onnxcc(args) == 0, "%s", output);
    ck_assert_ptr_nonnull(strstr(output, "median_us"));
}
END_TEST

/* A stand-in for $CC that writes `body` as the "compiled program" (a shell script), so
 * the crash, timeout and build-failure verdicts can be provoked on purpose. */
static void fake_cc(const char *body, int fail)
{
    char path[400];
    snprintf(path, sizeof path, "%s/fakecc.sh", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    if (fail) {
        fprintf(f, "#!/bin/sh\necho 'model.c:1:1: error: this compiler is broken' >&2\nexit 1\n");
    } else {
        fprintf(f, "#!/bin/sh\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = -o ]; then out=$2; fi\n"
                   "  shift\ndone\nprintf '#!/bin/sh\\n%s\\n' > \"$out\"\nchmod +x \"$out\"\n",
                body);
    }
    fclose(f);
    chmod(path, 0755);
    setenv("CC", path, 1);
}

START_TEST(check_reports_crash_timeout_build_error)
{
    if (!have_node_data("test_add")) return;
    const char *args[] = { "check", NODE_DATA "/test_add/model.onnx",
                           NODE_DATA "/test_add/test_data_set_0", "--timeout", "1", NULL };

    fake_cc("kill -SEGV $$", 0);
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL crash: signal", 18), "%s", output);

    fake_cc("sleep 30", 0);
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL crash: timeout", 19), "%s", output);

    fake_cc("exit 3", 0);
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strncmp(last_line(), "FAIL crash:", 11), "%s", output);

    fake_cc(NULL, 1);
    ck_assert_int_eq(run_onnxcc(args), 1);
    ck_assert_msg(!strcmp(last_line(), "FAIL build error: model.c:1:1: error: this compiler is broken"),
                  "%s", output);
    unsetenv("CC");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("driver");
    TCase *tc = tcase_create("driver");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, parse_shape_syntax);
    tcase_add_test(tc, model_file_errors_exit_1);
    tcase_add_test(tc, shape_of_unknown_input_exit_1);
    tcase_add_test(tc, compile_writes_files);
    tcase_add_test(tc, freeze_binds_an_input);
    tcase_add_test(tc, check_freezes_what_an_operator_needs);
    tcase_add_test(tc, check_passes_on_node_test);
    tcase_add_test(tc, check_catches_wrong_values);
    tcase_add_test(tc, check_missing_dataset);
    tcase_add_test(tc, check_verdict_after_stack_overflow);
    tcase_add_test(tc, report_prints_table);
    tcase_add_test(tc, report_counts_matmul_macs);
    tcase_add_test(tc, failed_compile_leaves_nothing);
    tcase_add_test(tc, failed_recompile_keeps_old_files);
    tcase_add_test(tc, compile_creates_parent_dirs);
    tcase_add_test(tc, bench_prints_median);
    tcase_add_test(tc, check_reports_crash_timeout_build_error);
    tcase_add_test(tc, cortex_m_objects_and_their_limits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
