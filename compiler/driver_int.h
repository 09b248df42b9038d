/* driver_int.h — owns the contract between the files behind the onnxcc commands (driver.c:
 * compile, report, bench and the shared pipeline, child processes and temp dirs; check.c:
 * check with data sets or with the interpreter as reference). Not a public header: only
 * those files include it. */
#ifndef ONNXCC_DRIVER_INT_H
#define ONNXCC_DRIVER_INT_H

#include "onnxcc.h"
#include "../codegen/codegen.h"

#define HARNESS_FILE "onnxcc_harness.c"
#define PROG_FILE "onnxcc_prog"

/* ---- driver.c: small helpers ---- */
const char *base_name(const char *path);
char *default_name(Pool *p, const char *model);   /* NAME from the model's file name */
int is_unsupported_msg(const char *msg);
double now_s(void);

/* ---- driver.c: the pipeline up to a planned program ---- */
void note_frozen(Pool *p, Graph *g, const Freeze *fz, int nfz, FILE *note, const char *prefix);
Graph *load_infer_ex(const DriverOpts *o, Pool *p, const char *model, const char **names,
                     const Type *types, int nshapes, const Freeze *fz, int nfz, FILE *note,
                     const char *prefix, char **msg, Graph **failed);
KProg *lower_plan(const DriverOpts *o, Graph *g, const char *name, const Target *t, Pool *p,
                  char **msg);
const Target *resolve_target(const DriverOpts *o, Pool *p, char **msg);
int hls_opts(const DriverOpts *o, Pool *p, HlsOptions *h, char **msg);
void hls_fixed_tolerance(const HlsOptions *h, double *atol, double *rtol);
char *hls_fixed_refusals(Pool *p, const Graph *g, const HlsOptions *h);
int write_code(const DriverOpts *o, const Target *t, const KProg *prog, const char *dir,
               char **cerr);

/* ---- driver.c: files, directories, child processes ---- */
typedef struct NameList {
    char **names;
    int n;
    size_t cap;
} NameList;

typedef struct RunResult {
    int spawned;     /* fork/exec worked */
    int exited;      /* normal exit; status below */
    int status;
    int sig;         /* killed by this signal */
    int timed_out;
} RunResult;

int have_program(Pool *p, const char *prog);
void list_dir(Pool *p, const char *dir, NameList *l);
void remove_tree(Pool *p, const char *dir);
char *make_temp_dir(Pool *p);
char *file_head(Pool *p, const char *path, int maxlines);
char *first_error_line(Pool *p, const char *path);
RunResult run_cmd(char *const argv[], const char *dir, const char *logpath, double timeout_s);
int split_cc(Pool *p, char **argv, int max);
int build_dir(const DriverOpts *o, Pool *p, const char *dir, const char *const *flags,
              char **msg, const Target *t);
char *crash_text(Pool *p, const RunResult *r, double timeout_s);

/* ---- check.c: pseudo-random inputs and the interpreter's outputs ---- */
/* The range of an integer input's random values: [lo, hi). */
typedef struct IntRange {
    int64_t lo, hi;
} IntRange;
/* Fills ins[k] (pool memory) for every input of prog with values that fit its dtype:
 * floats in [-1, 1), bool 0/1, integers in int_range[k] (int_range NULL, or an empty
 * range: [0, 2)). */
void check_random_inputs(const KProg *prog, Pool *p, uint64_t seed, const IntRange *int_range,
                         const void **ins);
/* Runs prog (lowered without runtime kernels) through the loop-IR interpreter on ins; outs[k]
 * (pool memory) receives output k. 0, or -1 with *msg (the interpreter's complaint). */
int check_interp(const KProg *prog, Pool *p, const void *const *ins, const void **outs,
                 char **msg);

#endif
