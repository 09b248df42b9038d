/* node_prof.c — per-function wall time for benchmarks/node_profile.sh. Linked with a model
 * whose C was compiled with -finstrument-functions (only the model's file: its node
 * functions and NET_run are what gets timed; the runtime's kernels count inside the node
 * that calls them). At exit writes "ADDRESS CALLS TOTAL_MS" per function to the file named
 * by ONNXCC_PROF_OUT, ADDRESS as an offset into the executable (nm's addresses of a PIE). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NP_MAX 8192
#define NP_HOOK __attribute__((no_instrument_function))

static void *np_fn[NP_MAX];
static double np_total[NP_MAX], np_start[NP_MAX];
static long np_calls[NP_MAX];
static int np_n;

static NP_HOOK double np_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* a linear search: a model has at most a few thousand node functions, and the hooks run
 * once per node call, next to kernels of microseconds */
static NP_HOOK int np_index(void *f)
{
    int i;
    for (i = 0; i < np_n; i++)
        if (np_fn[i] == f) return i;
    if (np_n == NP_MAX) return -1;
    np_fn[np_n] = f;
    return np_n++;
}

void __cyg_profile_func_enter(void *f, void *site) NP_HOOK;
void __cyg_profile_func_exit(void *f, void *site) NP_HOOK;

void __cyg_profile_func_enter(void *f, void *site)
{
    int i = np_index(f);
    (void)site;
    if (i >= 0) np_start[i] = np_now();
}

void __cyg_profile_func_exit(void *f, void *site)
{
    int i = np_index(f);
    (void)site;
    if (i < 0) return;
    np_total[i] += np_now() - np_start[i];
    np_calls[i]++;
}

static NP_HOOK __attribute__((destructor)) void np_dump(void)
{
    const char *path = getenv("ONNXCC_PROF_OUT");
    FILE *o;
    int i;
    if (!path || !(o = fopen(path, "w"))) return;
    for (i = 0; i < np_n; i++) {
        Dl_info d;
        unsigned long off = (unsigned long)np_fn[i];
        if (dladdr(np_fn[i], &d) && d.dli_fbase) off -= (unsigned long)d.dli_fbase;
        fprintf(o, "%016lx %ld %.6f\n", off, np_calls[i], np_total[i]);
    }
    fclose(o);
}
