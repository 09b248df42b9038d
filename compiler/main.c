/* main.c — owns the onnxcc command line: parses arguments into DriverOpts and hands the
 * work to driver.c. Usage errors (unknown flag, missing argument, bad syntax) print one line
 * with a hint to --help and exit 2; everything else is the driver's exit code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

static const char usage[] =
    "usage: onnxcc COMMAND ...\n"
    "\n"
    "  onnxcc compile MODEL.onnx -o DIR [--name NAME] [--shape INPUT=1x3x224x224 ...]\n"
    "                 [--freeze INPUT=VALUES ...]\n"
    "                 [--target TARGET] [--cpu CPU] [--features +f1,-f2] [--emit-llvm]\n"
    "                 [--manifest FILE]\n"
    "      Writes DIR/NAME.h, DIR/NAME.c, DIR/NAME_weights.c and the runtime files used,\n"
    "      so DIR builds alone with any C99 compiler. NAME defaults to the model's file name.\n"
    "      LLVM targets (x86_64, aarch64, cortex-m4, cortex-m7, cortex-m33) write DIR/NAME.h\n"
    "      and the object DIR/NAME.o (weights inside; link with -lm), and DIR/NAME.ll with\n"
    "      --emit-llvm.\n"
    "      Target nvptx writes DIR/NAME.h, DIR/NAME.ptx and DIR/NAME_host.c (CUDA driver\n"
    "      API host code with the PTX inside; link with -lcuda); --cpu sm_80 (default), sm_90.\n"
    "  onnxcc report MODEL.onnx [--shape ...] [--target TARGET] [--html FILE]\n"
    "      Per-node table (op, output shapes, MACs, output bytes), totals, and the planned\n"
    "      arena beside its lower bound. --html FILE also writes one self-contained page:\n"
    "      nodes in run order with what each absorbed, the memory plan as an offset-by-time\n"
    "      chart, weights per layer, and what each target would refuse.\n"
    "  onnxcc check MODEL.onnx DATASET_DIR... [--rtol R] [--atol A] [--timeout S] [--keep]\n"
    "      Compiles, builds ($CC, default cc) and runs the model on each ONNX test data set\n"
    "      (input_K.pb / output_K.pb) and compares (|got-exp| <= atol + rtol*|exp|,\n"
    "      defaults rtol 1e-3, atol 1e-7; integers exact). Last line: PASS or FAIL <why>.\n"
    "  onnxcc check MODEL.onnx [--seed N] [--shape ...] [--rtol R] [--atol A] ...\n"
    "      Without a data set: a self-check on pseudo-random inputs (floats in [-1,1),\n"
    "      bool 0/1, integers small and non-negative, indices in range; seed printed, --seed\n"
    "      repeats it), compared with the loop-IR interpreter on the same inputs (defaults\n"
    "      rtol 1e-3, atol 1e-4: the two sum float32 in different orders). Any --target.\n"
    "  onnxcc bench MODEL.onnx [--runs N] [--shape ...] [--timeout S]\n"
    "      Builds with -O2 -march=native and prints the median time of N runs.\n"
    "\n"
    "  --shape NAME=DIMS   bind a graph input's dimensions (repeatable), e.g. x=1x3x224x224;\n"
    "                      a sequence input's elements as NAME[0]=DIMS NAME[1]=DIMS ...\n"
    "                      (NAME[]=1: an empty sequence)\n"
    "  --none NAME         bind an optional input as absent (it is present by default)\n"    "  --seed N            check without a data set: seed of the pseudo-random inputs\n"
    "  --freeze NAME=VALUES  bind a graph input's value at compile time (repeatable): numbers\n"
    "                      separated by commas (sr=16000, shape=1,-1, flag=true) or\n"
    "                      NAME=@tensor.pb; the input leaves NAME_run and what it decides\n"
    "                      (a branch, a shape) folds away (compile, report, check, bench)\n"
    "  --max-trip NODE=N   a Loop without a static trip count (no M, or M known only at run\n"
    "                      time) runs at most N iterations (repeatable; compile, report,\n"
    "                      check, bench): the static bound HLS and scan outputs need\n"
    "  --max-string N      string tensors: the longest string in bytes (default 63); each\n"
    "                      element is a NUL-terminated cell of N+1 bytes (compile, report,\n"
    "                      check, bench; check raises it to its data's longest string)\n"
    "  --target TARGET     code generation target (default c; x86_64, aarch64: LLVM;\n"
    "                      cortex-m4, cortex-m7, cortex-m33: LLVM, Thumb-2 hard-float\n"
    "                      objects for firmware (arm-none-eabi-gcc -mfloat-abi=hard);\n"
    "                      nvptx: LLVM, PTX for NVIDIA GPUs; hls)\n"
    "  --cpu CPU           LLVM targets: CPU to tune for (x86-64, znver4, cortex-a72, sm_90,\n"
    "                      native = this machine's CPU and features)\n"
    "  --features LIST     LLVM targets: CPU features, e.g. +avx2,+fma\n"
    "  --emit-llvm         compile, LLVM targets: also write NAME.ll\n"
    "  --hls-interface I   target hls: top-function ports m_axi (default, with s_axilite\n"
    "                      control) or ap_memory\n"
    "  --hls-type T        target hls: float (default) or fixed<W,I>, e.g. fixed<16,6>\n"
    "                      (W bits, I integer bits; saturating, rounding)\n"
    "  --hls-unroll N      target hls: UNROLL factor N on innermost loops, with matching\n"
    "                      ARRAY_PARTITION\n"
    "  --hls-data DIR      compile, target hls: test data set (input_K.pb, output_K.pb)\n"
    "                      embedded in NAME_tb.c (default: the loop IR interpreter's\n"
    "                      outputs on fixed pseudo-random inputs)\n"
    "  --arena static|extern   C back end and CPU objects: one static arena (default), or\n"
    "                      NAME_run(void *arena, ...) with NAME_ARENA_BYTES/NAME_ARENA_ALIGN\n"
    "                      for the caller to place\n"
    "  --weights c|hex|bytes|bin   C back end: NAME_weights.c holds hex-float arrays (hex),\n"
    "                      or one byte blob of string literals that builds 6-10x faster\n"
    "                      (bytes); c (default) is hex up to 1 MiB of weights, bytes above;\n"
    "                      bin: one blob NAME_weights.bin (NAME_WEIGHTS_BYTES) passed to\n"
    "                      NAME_run, for the largest models (nothing for the C compiler)\n"
    "  --io params|in-arena    C back end: inputs/outputs as NAME_run parameters (default), or\n"
    "                      inside the arena, reached through NAME_input_X()/NAME_output_Y()\n"
    "  --section-arena S   put the static arena in linker section S (GNU compilers)\n"
    "  --section-weights S put the weights in linker section S (GNU compilers)\n"
    "  --manifest FILE     compile: also write FILE, the names of the files written (relative\n"
    "                      to DIR, one a line), for build systems to pick up the sources\n"
    "  --help, --version\n"
    "\n"
    "Progress of long work (compile phases, check's data sets) shows on one line of stderr\n"
    "when it is a terminal, and is cleared at the end; never otherwise.\n"
    "Exit status: 0 success, 1 model or check failure, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("onnxcc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see onnxcc --help)\n", stderr);
    return 2;
}

typedef enum { CMD_COMPILE, CMD_REPORT, CMD_CHECK, CMD_BENCH } Command;

/* Which options each command accepts: an option given to the wrong command is a usage
 * error, not silently ignored. */
enum { F_OUT = 1, F_NAME = 2, F_SHAPE = 4, F_TARGET = 8, F_TOL = 16, F_TIMEOUT = 32,
       F_KEEP = 64, F_RUNS = 128, F_CPU = 256, F_EMIT = 512, F_HLS = 1024, F_HLSDATA = 2048,
       F_API = 4096, F_FREEZE = 8192, F_MAXTRIP = 16384, F_MANIFEST = 32768, F_HTML = 65536,
       F_SEED = 131072, F_MAXSTR = 262144 };
static const unsigned allowed[] = {
    [CMD_COMPILE] = F_OUT | F_NAME | F_SHAPE | F_TARGET | F_CPU | F_EMIT | F_HLS | F_HLSDATA |
                    F_API | F_FREEZE | F_MAXTRIP | F_MANIFEST | F_MAXSTR,
    [CMD_REPORT] = F_SHAPE | F_TARGET | F_NAME | F_HLS | F_API | F_FREEZE | F_MAXTRIP | F_HTML |
                   F_MAXSTR,
    [CMD_CHECK] = F_TOL | F_TIMEOUT | F_KEEP | F_TARGET | F_CPU | F_HLS | F_API | F_FREEZE |
                  F_MAXTRIP | F_SHAPE | F_SEED | F_MAXSTR,
    [CMD_BENCH] = F_RUNS | F_SHAPE | F_TIMEOUT | F_TARGET | F_CPU | F_API | F_FREEZE | F_MAXTRIP |
                  F_MAXSTR,
};

static int is_ident(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0)) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmdname = argv[1];
    if (!strcmp(cmdname, "--help") || !strcmp(cmdname, "-h") || !strcmp(cmdname, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmdname, "--version")) {
        printf("onnxcc %s\n", ONNXCC_VERSION);
        return 0;
    }
    Command cmd;
    if (!strcmp(cmdname, "compile")) cmd = CMD_COMPILE;
    else if (!strcmp(cmdname, "report")) cmd = CMD_REPORT;
    else if (!strcmp(cmdname, "check")) cmd = CMD_CHECK;
    else if (!strcmp(cmdname, "bench")) cmd = CMD_BENCH;
    else return usage_error("unknown command '%s'", cmdname);

    Pool *p = pool_new();
    DriverOpts o;
    driver_defaults(&o);
    const char **pos = pool_alloc(p, sizeof *pos * (size_t)argc);
    int npos = 0;
    const char **snames = pool_alloc(p, sizeof *snames * (size_t)argc);
    Type *stypes = pool_alloc(p, sizeof *stypes * (size_t)argc);
    Freeze *freezes = pool_alloc(p, sizeof *freezes * (size_t)argc);
    const char **mt_nodes = pool_alloc(p, sizeof *mt_nodes * (size_t)argc);
    const char **nones = pool_alloc(p, sizeof *nones * (size_t)argc);
    int64_t *mt_vals = pool_alloc(p, sizeof *mt_vals * (size_t)argc);
    const char *manifest = NULL;
    int rc = 2;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            rc = 0;
            goto out;
        }
        /* --opt=value and --opt value are both accepted */
        char optbuf[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        if (a[1] == '-' && eq && (size_t)(eq - a) < sizeof optbuf) {
            snprintf(optbuf, sizeof optbuf, "%.*s", (int)(eq - a), a);
            val = eq + 1;
            a = optbuf;
        }
        unsigned flag = !strcmp(a, "-o") || !strcmp(a, "--output") ? F_OUT
                        : !strcmp(a, "--name") ? F_NAME
                        : !strcmp(a, "--shape") || !strcmp(a, "--none") ? F_SHAPE
                        : !strcmp(a, "--freeze") ? F_FREEZE
                        : !strcmp(a, "--max-trip") ? F_MAXTRIP
                        : !strcmp(a, "--max-string") ? F_MAXSTR
                        : !strcmp(a, "--target") ? F_TARGET
                        : !strcmp(a, "--rtol") || !strcmp(a, "--atol") ? F_TOL
                        : !strcmp(a, "--timeout") ? F_TIMEOUT
                        : !strcmp(a, "--keep") ? F_KEEP
                        : !strcmp(a, "--runs") ? F_RUNS
                        : !strcmp(a, "--seed") ? F_SEED
                        : !strcmp(a, "--cpu") || !strcmp(a, "--features") ? F_CPU
                        : !strcmp(a, "--emit-llvm") ? F_EMIT
                        : !strcmp(a, "--hls-interface") || !strcmp(a, "--hls-type") ||
                                  !strcmp(a, "--hls-unroll") ? F_HLS
                        : !strcmp(a, "--hls-data") ? F_HLSDATA
                        : !strcmp(a, "--manifest") ? F_MANIFEST
                        : !strcmp(a, "--html") ? F_HTML
                        : !strcmp(a, "--arena") || !strcmp(a, "--weights") || !strcmp(a, "--io") ||
                                  !strcmp(a, "--section-arena") ||
                                  !strcmp(a, "--section-weights") ? F_API : 0;
        if (!flag) {
            rc = usage_error("unknown option '%s'", argv[i]);
            goto out;
        }
        if (!(allowed[cmd] & flag)) {
            fprintf(stderr, "onnxcc: option '%s' does not apply to '%s' (see onnxcc --help)\n",
                    a, cmdname);
            goto out;
        }
        if (flag == F_KEEP) {
            if (val) {
                rc = usage_error("option '%s' takes no value", a);
                goto out;
            }
            o.keep = 1;
            continue;
        }
        if (flag == F_EMIT) {
            if (val) {
                rc = usage_error("option '%s' takes no value", a);
                goto out;
            }
            o.emit_llvm = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                rc = usage_error("option '%s' needs a value", a);
                goto out;
            }
            val = argv[++i];
        }
        switch (flag) {
        case F_OUT: o.outdir = val; break;
        case F_HLSDATA: o.hls_data = val; break;
        case F_MANIFEST: manifest = val; break;
        case F_HTML: o.html = val; break;
        case F_API: {
            /* which option, its two spellings, and the flag the second one sets */
            static const struct { const char *opt, *off, *on; } modes[] = {
                { "--arena", "static", "extern" },
                { "--weights", "c", "bin" },
                { "--io", "params", "in-arena" },
            };
            int *flags[] = { &o.arena_extern, &o.weights_bin, &o.io_in_arena };
            int m = 0;
            while (m < 3 && strcmp(a, modes[m].opt)) m++;
            if (m == 1 && (!strcmp(val, "hex") || !strcmp(val, "bytes") || !strcmp(val, "c"))) {
                /* the C forms of NAME_weights.c (bin, the off/on pair's "on", is below) */
                o.weights_bin = 0;
                o.weights_form = !strcmp(val, "hex") ? WEIGHTS_HEX
                                 : !strcmp(val, "bytes") ? WEIGHTS_BYTES : WEIGHTS_AUTO;
            } else if (m == 3) {
                if (!*val || strchr(val, '"') || strchr(val, '\\')) {
                    rc = usage_error("bad section name '%s'", val);
                    goto out;
                }
                if (!strcmp(a, "--section-arena")) o.section_arena = val;
                else o.section_weights = val;
            } else if (!strcmp(val, modes[m].on) || !strcmp(val, modes[m].off)) {
                *flags[m] = !strcmp(val, modes[m].on);
            } else {
                fprintf(stderr, "onnxcc: bad %s '%s': expected %s or %s (see onnxcc --help)\n",
                        a, val, m == 1 ? "c, hex, bytes" : modes[m].off, modes[m].on);
                goto out;
            }
            break;
        }
        case F_HLS:
            if (!strcmp(a, "--hls-interface")) {
                if (strcmp(val, "m_axi") && strcmp(val, "ap_memory")) {
                    rc = usage_error("bad --hls-interface '%s': expected m_axi or ap_memory", val);
                    goto out;
                }
                o.hls_interface = val;
            } else if (!strcmp(a, "--hls-type")) {
                int w, in, n = 0;
                if (strcmp(val, "float") &&
                    (sscanf(val, "fixed<%d,%d>%n", &w, &in, &n) != 2 || val[n] || w < 2 ||
                     w > 32 || in < 1 || in > w)) {
                    rc = usage_error("bad --hls-type '%s': expected float or fixed<W,I> "
                                     "(2 <= W <= 32, 1 <= I <= W)", val);
                    goto out;
                }
                o.hls_type = val;
            } else {
                char *end;
                long v = strtol(val, &end, 10);
                if (end == val || *end || v < 1 || v > 1024) {
                    rc = usage_error("bad --hls-unroll '%s': expected a factor 1..1024", val);
                    goto out;
                }
                o.hls_unroll = (int)v;
            }
            break;
        case F_CPU:
            if (!strcmp(a, "--cpu")) o.cpu = val;
            else o.features = val;
            break;
        case F_NAME:
            if (!is_ident(val)) {
                rc = usage_error("--name '%s' is not a C identifier", val);
                goto out;
            }
            o.name = val;
            break;
        case F_SHAPE:
            if (!strcmp(a, "--none")) {
                nones[o.nnone++] = val;
                break;
            }
            if (driver_parse_shape(p, val, &snames[o.nshapes], &stypes[o.nshapes]) != 0) {
                rc = usage_error("bad --shape '%s': expected NAME=DIMS, e.g. x=1x3x224x224", val);
                goto out;
            }
            o.nshapes++;
            break;
        case F_FREEZE:
            if (freeze_parse(p, val, &freezes[o.nfreeze]) != 0) {
                rc = usage_error("bad --freeze '%s': expected NAME=VALUES (numbers separated by "
                                 "commas, e.g. sr=16000 or shape=1,-1) or NAME=@tensor.pb", val);
                goto out;
            }
            for (int k = 0; k < o.nfreeze; k++)
                if (!strcmp(freezes[k].name, freezes[o.nfreeze].name)) {
                    rc = usage_error("--freeze '%s' is given twice", freezes[k].name);
                    goto out;
                }
            o.nfreeze++;
            break;
        case F_MAXTRIP: {
            const char *e = strrchr(val, '=');
            char *end = NULL;
            long long nv = e && e != val ? strtoll(e + 1, &end, 10) : -1;
            if (!e || e == val || !e[1] || *end || nv < 1 || nv > ((long long)1 << 40)) {
                rc = usage_error("bad --max-trip '%s': expected NODE=N with N a positive "
                                 "integer, e.g. loop_1=100", val);
                goto out;
            }
            mt_nodes[o.nmax_trip] = pool_fmt(p, "%.*s", (int)(e - val), val);
            for (int k = 0; k < o.nmax_trip; k++)
                if (!strcmp(mt_nodes[k], mt_nodes[o.nmax_trip])) {
                    rc = usage_error("--max-trip '%s' is given twice", mt_nodes[k]);
                    goto out;
                }
            mt_vals[o.nmax_trip++] = nv;
            break;
        }
        case F_TARGET:
            if (!target_find(val)) {
                fprintf(stderr, "onnxcc: unknown target '%s' (known: %s; see onnxcc --help)\n",
                        val, target_names());
                goto out;
            }
            o.target = val;
            break;
        case F_TOL: {
            double v;
            if (parse_double(val, &v) != 0) {
                rc = usage_error("bad tolerance '%s': expected a number >= 0", val);
                goto out;
            }
            if (!strcmp(a, "--rtol")) o.rtol = v;
            else o.atol = v;
            o.tol_set |= !strcmp(a, "--rtol") ? 1 : 2;
            break;
        }
        case F_MAXSTR: {
            char *end = NULL;
            errno = 0;
            long long nv = strtoll(val, &end, 10);
            if (end == val || *end || errno || nv < 1 || nv > ((long long)1 << 20)) {
                rc = usage_error("bad --max-string '%s': expected a byte count from 1 to "
                                 "1048576", val);
                goto out;
            }
            o.max_string = nv;
            break;
        }
        case F_TIMEOUT:
            if (parse_double(val, &o.timeout_s) != 0 || o.timeout_s <= 0) {
                rc = usage_error("bad --timeout '%s': expected seconds > 0", val);
                goto out;
            }
            break;
        case F_SEED: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(val, &end, 10);
            if (end == val || *end || errno || val[0] == '-') {
                rc = usage_error("bad --seed '%s': expected a number >= 0", val);
                goto out;
            }
            o.seed = v;
            o.seed_set = 1;
            break;
        }
        case F_RUNS: {
            char *end;
            long v = strtol(val, &end, 10);
            if (end == val || *end || v < 1 || v > 100000000) {
                rc = usage_error("bad --runs '%s': expected a count >= 1", val);
                goto out;
            }
            o.runs = (int)v;
            break;
        }
        }
    }
    o.shape_names = snames;
    o.shape_types = stypes;
    o.none_names = nones;
    o.freeze = freezes;
    o.max_trip_nodes = mt_nodes;
    o.max_trips = mt_vals;
    if ((o.cpu || o.features || o.emit_llvm) && target_find(o.target)->backend != BACKEND_LLVM &&
        target_find(o.target)->backend != BACKEND_NVPTX) {
        fprintf(stderr, "onnxcc: --cpu, --features and --emit-llvm apply to the LLVM targets "
                "(x86_64, aarch64, cortex-m*, nvptx), not to target '%s' (see onnxcc --help)\n",
                o.target);
        goto out;
    }

    if (npos < 1) {
        rc = usage_error("%s: missing MODEL.onnx", cmdname);
        goto out;
    }
    o.model = pos[0];
    if (cmd == CMD_CHECK) {
        /* a data set's inputs give the shapes and the values; without one, the user does */
        if (npos > 1 && (o.nshapes || o.nnone || o.seed_set)) {
            fprintf(stderr, "onnxcc: check: --shape, --none and --seed apply without a "
                    "DATASET_DIR (the data set gives shapes and values; see onnxcc --help)\n");
            goto out;
        }
        o.datasets = pos + 1;
        o.ndatasets = npos - 1;
    } else if (npos > 1) {
        rc = usage_error("unexpected argument '%s'", pos[1]);
        goto out;
    }
    switch (cmd) {
    case CMD_COMPILE:
        if (!o.outdir) {
            rc = usage_error("%s: missing -o DIR", cmdname);
            goto out;
        }
        if (manifest) out_log_begin();
        rc = driver_compile(&o);
        if (rc == 0 && manifest && manifest_write(manifest, o.outdir) != 0) {
            fprintf(stderr, "onnxcc: %s: cannot write the manifest: %s\n", manifest,
                    strerror(errno));
            rc = 1;
        }
        break;
    case CMD_REPORT: rc = driver_report(&o); break;
    case CMD_CHECK: rc = driver_check(&o); break;
    case CMD_BENCH: rc = driver_bench(&o); break;
    }
out:
    pool_free(p);
    return rc;
}
