/* runner.c — the conformance runner: runs `onnxcc check` on every ONNX backend node test,
 * in parallel, compares the outcomes with the checked-in list of expected failures, and
 * writes a per-operator coverage table plus a log of every failure's output.
 *
 * A test's outcome comes from the LAST line onnxcc check prints ("PASS" or
 * "FAIL <category>: message"); onnxcc killed by a signal or by our timeout is a crash.
 * The run fails on any result the list does not predict, in either direction: a failure
 * that is not listed, a listed failure that now fails differently, or a listed failure
 * that now passes (so the list never silently goes stale). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "onnx.pb-c.h"

#define DEFAULT_DATA "/usr/share/libonnx-testdata/data/node"
#define LOG_CAP (64 * 1024) /* bytes of one failure's output kept in the log */
#define REASON_CAP 200

typedef enum { C_PASS, C_WRONG, C_BUILD, C_UNSUPPORTED, C_ERROR, C_CRASH, C_COUNT } Cat;

/* Names used in the expectations file, and the verdict prefixes of onnxcc check. */
static const char *const cat_name[C_COUNT] = {
    "pass", "wrong_values", "build_error", "unsupported", "error", "crash",
};
static const char *const cat_prefix[C_COUNT] = {
    "PASS", "FAIL wrong values:", "FAIL build error:", "FAIL unsupported:", "FAIL error:",
    "FAIL crash:",
};
static const char *const cat_words[C_COUNT] = {
    "pass", "wrong values", "build error", "unsupported", "error", "crash",
};

typedef struct Expect {
    char *name;
    Cat cat;
    char *reason;
    int seen;             /* a test of this name exists in the data root */
} Expect;

typedef struct Test {
    char *name;
    char *dir;
    char **ops;           /* distinct operator types of the model (incl. subgraphs) */
    int nops;
    Cat cat;
    char *msg;            /* the verdict's message (after the category prefix) */
    char *out;            /* captured output of onnxcc check */
    size_t outlen;
    double secs;
    Expect *exp;
    int frozen;           /* check specialised the model: inputs frozen to dataset values */
} Test;

typedef struct Slot {
    pid_t pid;
    Test *t;
    char *logpath;
    char *tmpdir;
    double start;
    int killed;
} Slot;

static const char *progname = "runner";

/* Set by SIGINT/SIGTERM (e.g. meson's test timeout): the children live in their own
 * process groups, so they would outlive us unless we kill them on the way out. */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* The verdict lines also go to OUT/conformance-result-TARGET.txt, so a script that runs us
 * under `meson test` (which swallows a passing test's output) can show them last. */
static FILE *result_file;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (result_file) {
        va_list ap2;
        va_copy(ap2, ap);
        vfprintf(result_file, fmt, ap2);
        va_end(ap2);
    }
    vprintf(fmt, ap);
    va_end(ap);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static char *xfmt(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) die("bad format");
    char *s = xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whole file into memory; NULL if unreadable. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = xmalloc(cap);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        cap *= 2;
        buf = xrealloc(buf, cap);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf = xrealloc(buf, n + 1);
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Sorted names of the entries of dir that satisfy keep(). */
static char **list_dir(const char *dir, int (*keep)(const char *dir, const char *name), int *count)
{
    DIR *d = opendir(dir);
    *count = 0;
    if (!d) return NULL;
    char **v = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !keep(dir, e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, (size_t)cap * sizeof *v);
        }
        v[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *count = n;
    return v;
}

static int keep_test_dir(const char *dir, const char *name)
{
    char *p = xfmt("%s/%s", dir, name);
    int ok = is_dir(p);
    free(p);
    return ok;
}

static int keep_dataset(const char *dir, const char *name)
{
    return strncmp(name, "test_data_set_", 14) == 0 && keep_test_dir(dir, name);
}

/* --- operator types of a model, for the coverage table ------------------------------- */

static void add_op(Test *t, const char *domain, const char *op)
{
    char *key = (!domain || !*domain || !strcmp(domain, "ai.onnx")) ? xstrdup(op)
                                                                    : xfmt("%s:%s", domain, op);
    for (int i = 0; i < t->nops; i++)
        if (!strcmp(t->ops[i], key)) {
            free(key);
            return;
        }
    t->ops = xrealloc(t->ops, (size_t)(t->nops + 1) * sizeof *t->ops);
    t->ops[t->nops++] = key;
}

/* Collects the op types of the main graph and of every nested graph (If/Loop/Scan bodies),
 * with an explicit work list rather than recursion. */
static void read_model_ops(Test *t)
{
    char *path = xfmt("%s/model.onnx", t->dir);
    size_t len = 0;
    unsigned char *buf = slurp(path, &len);
    free(path);
    if (!buf) return;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!m) return;
    Onnx__GraphProto **work = NULL;
    size_t nwork = 0, capwork = 0;
#define PUSH_GRAPH(g)                                                                    \
    do {                                                                                 \
        if (nwork == capwork) {                                                          \
            capwork = capwork ? capwork * 2 : 8;                                         \
            work = xrealloc(work, capwork * sizeof *work);                               \
        }                                                                                \
        work[nwork++] = (g);                                                             \
    } while (0)
    if (m->graph) PUSH_GRAPH(m->graph);
    while (nwork) {
        Onnx__GraphProto *g = work[--nwork];
        for (size_t i = 0; i < g->n_node; i++) {
            Onnx__NodeProto *n = g->node[i];
            if (n->op_type) add_op(t, n->domain, n->op_type);
            for (size_t a = 0; a < n->n_attribute; a++) {
                Onnx__AttributeProto *at = n->attribute[a];
                if (at->g) PUSH_GRAPH(at->g);
                for (size_t k = 0; k < at->n_graphs; k++) PUSH_GRAPH(at->graphs[k]);
            }
        }
    }
#undef PUSH_GRAPH
    free(work);
    onnx__model_proto__free_unpacked(m, NULL);
}

/* --- expectations file --------------------------------------------------------------- */

typedef struct ExpectList {
    Expect *v;
    int n;
    char **header;        /* leading comment lines, kept by --update */
    int nheader;
} ExpectList;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static int cat_lookup(const char *s)
{
    for (int c = C_WRONG; c < C_COUNT; c++)
        if (!strcmp(s, cat_name[c])) return c;
    return -1;
}

static Expect *expect_find(ExpectList *el, const char *name)
{
    for (int i = 0; i < el->n; i++)
        if (!strcmp(el->v[i].name, name)) return &el->v[i];
    return NULL;
}

/* A missing file is an empty list (a new target starts with none); a malformed line is
 * fatal, since a silently ignored line would hide a failure. */
static void expect_read(const char *path, ExpectList *el)
{
    memset(el, 0, sizeof *el);
    size_t len;
    char *text = (char *)slurp(path, &len);
    if (!text) {
        if (errno == ENOENT) return;
        die("cannot read %s: %s", path, strerror(errno));
    }
    int lineno = 0, entries_started = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#') {
            if (*s == '#' && !entries_started) {
                el->header = xrealloc(el->header, (size_t)(el->nheader + 1) * sizeof *el->header);
                el->header[el->nheader++] = xstrdup(s);
            }
            continue;
        }
        entries_started = 1;
        char *name = s;
        char *p = name + strcspn(name, " \t");
        if (*p) *p++ = 0;
        p += strspn(p, " \t");
        char *cat = p;
        p += strcspn(p, " \t");
        if (*p) *p++ = 0;
        char *reason = trim(p);
        int c = cat_lookup(cat);
        if (c < 0)
            die("%s:%d: unknown category '%s' (one of wrong_values build_error unsupported "
                "error crash)", path, lineno, cat);
        if (!*reason) die("%s:%d: %s has no reason", path, lineno, name);
        if (expect_find(el, name)) die("%s:%d: %s is listed twice", path, lineno, name);
        el->v = xrealloc(el->v, (size_t)(el->n + 1) * sizeof *el->v);
        el->v[el->n++] = (Expect){ xstrdup(name), (Cat)c, xstrdup(reason), 0 };
    }
    free(text);
}

static int cmp_expect(const void *a, const void *b)
{
    return strcmp(((const Expect *)a)->name, ((const Expect *)b)->name);
}

static void expect_write(const char *path, ExpectList *el, const char *target)
{
    qsort(el->v, (size_t)el->n, sizeof *el->v, cmp_expect);
    size_t w = 0;
    for (int i = 0; i < el->n; i++)
        if (strlen(el->v[i].name) > w) w = strlen(el->v[i].name);
    char *tmp = xfmt("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) die("cannot write %s: %s", tmp, strerror(errno));
    if (el->nheader) {
        for (int i = 0; i < el->nheader; i++) fprintf(f, "%s\n", el->header[i]);
    } else {
        fprintf(f,
                "# Expected failures of the ONNX backend node tests, target %s (onnxcc check).\n"
                "# One test per line: NAME  CATEGORY  REASON; CATEGORY is one of wrong_values,\n"
                "# build_error, unsupported, error, crash. The conformance runner fails on a\n"
                "# failure not listed here, on a listed test that fails in another category, and\n"
                "# on a listed test that passes (remove its line). Regenerate with the runner's\n"
                "# --update (see README.md); it keeps the reasons of tests that still fail the\n"
                "# same way, so a reason written by hand survives.\n",
                target);
    }
    for (int i = 0; i < el->n; i++)
        fprintf(f, "%-*s  %-12s  %s\n", (int)w, el->v[i].name, cat_name[el->v[i].cat],
                el->v[i].reason);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        die("cannot write %s: %s", path, strerror(errno));
    free(tmp);
}

/* --- running one test ---------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

typedef struct Config {
    const char *onnxcc;
    const char *data;
    const char *expect;
    const char *target;
    const char *filter;
    const char *out;
    int jobs;
    int timeout;
    int update;
    int verbose;
    const char *list;     /* --list FILE: only the tests named there (one per line) */
    const char *cpu;      /* --cpu NAME passed to onnxcc check (LLVM targets), or NULL */
    const char *label;    /* names the result files: the target, "-CPU" and "-SUITE" appended */
    const char *suite;    /* --suite NAME: which test suite (e.g. 1.23); NULL for the default */
    const char *hint;     /* --data-hint TEXT: where the data comes from, said when it is absent */
    int from_list;        /* --coverage-from-list: the table from the list, nothing run */
} Config;

/* Test names of a --list file: one per line, '#' starts a comment. Dies when unreadable,
 * so a typo in a meson test cannot silently run nothing. */
static char **read_name_list(const char *path, int *count)
{
    FILE *f = fopen(path, "r");
    if (!f) die("cannot read --list %s: %s", path, strerror(errno));
    char **v = NULL, line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *h = strchr(line, '#');
        if (h) *h = 0;
        char *a = line;
        while (*a == ' ' || *a == '\t') a++;
        size_t len = strlen(a);
        while (len && (a[len - 1] == '\n' || a[len - 1] == ' ' || a[len - 1] == '\t' ||
                       a[len - 1] == '\r'))
            a[--len] = 0;
        if (!len) continue;
        v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
        v[n++] = xstrdup(a);
    }
    fclose(f);
    *count = n;
    return v;
}

static int name_listed(char **v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], name)) return 1;
    return 0;
}

/* Child: its own process group (so a timeout kills the compiler and the test program it
 * started too), output to the log, its own TMPDIR (removed afterwards, even if killed). */
static pid_t spawn(const Config *cfg, Test *t, const char *logpath, const char *tmpdir)
{
    int ndata = 0;
    char **data = list_dir(t->dir, keep_dataset, &ndata);
    const char **argv = xmalloc((size_t)(ndata + 10) * sizeof *argv);
    int a = 0;
    argv[a++] = cfg->onnxcc;
    argv[a++] = "check";
    if (strcmp(cfg->target, "c") != 0) {
        argv[a++] = "--target";
        argv[a++] = cfg->target;
    }
    if (cfg->cpu) {
        argv[a++] = "--cpu";
        argv[a++] = cfg->cpu;
    }
    char *model = xfmt("%s/model.onnx", t->dir);
    argv[a++] = model;
    char **dpaths = xmalloc((size_t)(ndata + 1) * sizeof *dpaths);
    for (int i = 0; i < ndata; i++) {
        dpaths[i] = xfmt("%s/%s", t->dir, data[i]);
        argv[a++] = dpaths[i];
    }
    argv[a] = NULL;

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd < 0 || nul < 0) _exit(126);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        close(nul);
        mkdir(tmpdir, 0755);
        setenv("TMPDIR", tmpdir, 1);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "FAIL error: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: whichever of parent and child runs first wins */
    for (int i = 0; i < ndata; i++) {
        free(data[i]);
        free(dpaths[i]);
    }
    free(data);
    free(dpaths);
    free(model);
    free(argv);
    return pid;
}

/* Last non-empty line of the output, in place. */
static char *last_line(char *out, size_t len)
{
    size_t end = len;
    for (;;) {
        while (end && (out[end - 1] == '\n' || out[end - 1] == '\r' || out[end - 1] == ' ' ||
                       out[end - 1] == '\t'))
            end--;
        if (!end) return NULL;
        size_t start = end;
        while (start && out[start - 1] != '\n') start--;
        out[end] = 0;
        return out + start;
    }
}

static char *clip(const char *s)
{
    char *r = xstrdup(s);
    for (char *p = r; *p; p++)
        if (*p == '\t' || *p == '\r' || *p == '\n') *p = ' ';
    if (strlen(r) > REASON_CAP) strcpy(r + REASON_CAP - 3, "...");
    return r;
}

static void classify(Test *t, int status, int killed, int timeout)
{
    if (killed) {
        t->cat = C_CRASH;
        t->msg = xfmt("onnxcc check timed out after %d s", timeout);
        return;
    }
    char *copy = xmalloc(t->outlen + 1);
    memcpy(copy, t->out, t->outlen);
    copy[t->outlen] = 0;
    t->frozen = strstr(copy, "frozen to its dataset value") != NULL;
    char *line = last_line(copy, t->outlen);
    if (WIFSIGNALED(status)) {
        /* The last words (an assertion, a sanitizer line) say more than the signal. */
        char *l = line ? clip(trim(line)) : NULL;
        t->cat = C_CRASH;
        t->msg = xfmt("onnxcc killed by signal %d (%s)%s%s", WTERMSIG(status),
                      strsignal(WTERMSIG(status)), l ? ": " : "", l ? l : "");
        free(l);
        free(copy);
        return;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    t->cat = C_ERROR;
    t->msg = NULL;
    if (line) {
        line = trim(line);
        for (int c = 0; c < C_COUNT; c++) {
            size_t n = strlen(cat_prefix[c]);
            if (strncmp(line, cat_prefix[c], n) != 0) continue;
            if (c == C_PASS && line[n] != 0 && line[n] != ' ') continue;
            t->cat = (Cat)c;
            char *m = trim(line + n);
            /* onnxcc names the model file first; in a list keyed by test it is noise. */
            size_t dl = strlen(t->dir);
            if (!strncmp(m, t->dir, dl) && !strncmp(m + dl, "/model.onnx: ", 13)) m += dl + 13;
            t->msg = clip(m);
            break;
        }
        if (t->cat == C_PASS && code != 0) {
            free(t->msg);
            t->cat = C_ERROR;
            t->msg = xfmt("onnxcc printed PASS but exited with status %d", code);
        } else if (!t->msg) {
            char *l = clip(line);
            t->msg = xfmt("no verdict from onnxcc check (exit status %d), last line: %s", code, l);
            free(l);
        }
    } else {
        t->msg = xfmt("onnxcc check printed nothing (exit status %d)", code);
    }
    free(copy);
}

/* Runs every test, at most cfg->jobs at once. Polls rather than blocking in waitpid so
 * that timeouts are enforced while children are running. */
static void run_all(const Config *cfg, Test *tests, int n, const char *workdir)
{
    Slot *slots = xmalloc((size_t)cfg->jobs * sizeof *slots);
    memset(slots, 0, (size_t)cfg->jobs * sizeof *slots);
    int next = 0, running = 0, done = 0;
    int tty = isatty(2);
    double t0 = now_s();
    while (next < n || running) {
        if (got_signal) {
            for (int s = 0; s < cfg->jobs; s++)
                if (slots[s].pid) kill(-slots[s].pid, SIGKILL);
            while (waitpid(-1, NULL, 0) > 0)
                ;
            rm_tree(workdir);
            fprintf(stderr, "%s: interrupted by signal %d\n", progname, (int)got_signal);
            exit(128 + got_signal);
        }
        for (int s = 0; s < cfg->jobs && next < n; s++) {
            if (slots[s].pid) continue;
            Slot *sl = &slots[s];
            sl->t = &tests[next++];
            sl->logpath = xfmt("%s/%s.log", workdir, sl->t->name);
            sl->tmpdir = xfmt("%s/%s.tmp", workdir, sl->t->name);
            sl->start = now_s();
            sl->killed = 0;
            sl->pid = spawn(cfg, sl->t, sl->logpath, sl->tmpdir);
            running++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != EINTR && errno != ECHILD) die("waitpid: %s", strerror(errno));
        if (pid <= 0) {
            double now = now_s();
            for (int s = 0; s < cfg->jobs; s++)
                if (slots[s].pid && !slots[s].killed && now - slots[s].start > cfg->timeout) {
                    kill(-slots[s].pid, SIGKILL);
                    slots[s].killed = 1;
                }
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            continue;
        }
        Slot *sl = NULL;
        for (int s = 0; s < cfg->jobs; s++)
            if (slots[s].pid == pid) sl = &slots[s];
        if (!sl) continue;
        /* Whatever the test left running in its group (a hung harness) goes too. */
        kill(-pid, SIGKILL);
        Test *t = sl->t;
        t->secs = now_s() - sl->start;
        t->out = (char *)slurp(sl->logpath, &t->outlen);
        if (!t->out) {
            t->out = xstrdup("");
            t->outlen = 0;
        }
        classify(t, status, sl->killed, cfg->timeout);
        if (cfg->verbose)
            printf("%-50s %-12s %6.1fs %s\n", t->name, cat_name[t->cat], t->secs, t->msg);
        remove(sl->logpath);
        rm_tree(sl->tmpdir);
        free(sl->logpath);
        free(sl->tmpdir);
        sl->pid = 0;
        running--;
        done++;
        if (tty && !cfg->verbose)
            fprintf(stderr, "\r[%d/%d] %.0fs", done, n, now_s() - t0);
    }
    if (tty && !cfg->verbose) fputc('\n', stderr);
    free(slots);
}

/* --- reports ------------------------------------------------------------------------- */

typedef struct OpCov {
    const char *op;
    int tests, pass;
    int named;            /* failing tests whose message names this op: likely culprits */
} OpCov;

/* Does a failure message name op? onnxcc writes "(Op)" after a node name and "operator: Op"
 * or "operator: domain.Op" for unsupported ones; match those forms on word boundaries. */
static int names_op(const char *msg, const char *op)
{
    const char *colon = strrchr(op, ':');
    const char *bare = colon ? colon + 1 : op;
    size_t n = strlen(bare);
    for (const char *p = strstr(msg, bare); p; p = strstr(p + 1, bare)) {
        char before = p == msg ? ' ' : p[-1], after = p[n];
        int word_before = before == '(' || before == ' ' || before == '.' || before == '\'';
        int word_after = after == ')' || after == ' ' || after == 0 || after == '\'' ||
                         after == ',' || after == ':';
        if (word_before && word_after) return 1;
    }
    return 0;
}

static int cmp_cov(const void *a, const void *b)
{
    const OpCov *x = a, *y = b;
    int mx = x->tests - x->pass, my = y->tests - y->pass;
    if (mx != my) return my - mx;
    if (x->tests != y->tests) return y->tests - x->tests;
    return strcmp(x->op, y->op);
}

static void write_coverage(const Config *cfg, Test *tests, int n, const char *path)
{
    OpCov *cov = NULL;
    int ncov = 0;
    int npass = 0, bycat[C_COUNT] = { 0 };
    for (int i = 0; i < n; i++) {
        Test *t = &tests[i];
        bycat[t->cat]++;
        if (t->cat == C_PASS) npass++;
        for (int k = 0; k < t->nops; k++) {
            int j = 0;
            while (j < ncov && strcmp(cov[j].op, t->ops[k])) j++;
            if (j == ncov) {
                cov = xrealloc(cov, (size_t)(ncov + 1) * sizeof *cov);
                cov[ncov++] = (OpCov){ t->ops[k], 0, 0, 0 };
            }
            cov[j].tests++;
            if (t->cat == C_PASS) cov[j].pass++;
            else if (names_op(t->msg, t->ops[k])) cov[j].named++;
        }
    }
    if (ncov) qsort(cov, (size_t)ncov, sizeof *cov, cmp_cov);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", progname, path, strerror(errno));
        free(cov);
        return;
    }
    fprintf(f, "# Conformance coverage, target %s%s%s\n\n", cfg->target,
            cfg->suite ? ", ONNX node suite " : "", cfg->suite ? cfg->suite : "");
    fprintf(f, "%d of %d ONNX backend node tests pass", npass, n);
    if (cfg->filter) fprintf(f, " (tests matching '%s')", cfg->filter);
    fprintf(f, ".\n\n| Outcome | Tests |\n|---|---:|\n");
    for (int c = 0; c < C_COUNT; c++) fprintf(f, "| %s | %d |\n", cat_words[c], bycat[c]);
    fprintf(f, "\nOperators by the number of tests containing them that do not pass (a test "
               "counts for every operator in its model, subgraphs included, so an operator "
               "beside a missing one is counted too). *Named* counts the failures whose "
               "message names the operator: those are the likely culprits.\n\n"
               "| Operator | Tests | Pass | Missing | Named |\n|---|---:|---:|---:|---:|\n");
    for (int j = 0; j < ncov; j++)
        fprintf(f, "| %s | %d | %d | %d | %d |\n", cov[j].op, cov[j].tests, cov[j].pass,
                cov[j].tests - cov[j].pass, cov[j].named);
    fclose(f);
    free(cov);
}

static void write_failure_log(Test *tests, int n, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", progname, path, strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        Test *t = &tests[i];
        if (t->cat == C_PASS) continue;
        fprintf(f, "==== %s: %s: %s (%.1f s)\n", t->name, cat_words[t->cat], t->msg, t->secs);
        size_t len = t->outlen, skip = 0;
        if (len > LOG_CAP) {
            skip = len - LOG_CAP;
            fprintf(f, "[... first %zu bytes of output left out ...]\n", skip);
        }
        fwrite(t->out + skip, 1, len - skip, f);
        if (len && t->out[len - 1] != '\n') fputc('\n', f);
    }
    fclose(f);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [options]\n"
            "Runs `onnxcc check` on every ONNX backend node test and compares the outcomes\n"
            "with the expected failures.\n"
            "  --onnxcc PATH     the onnxcc executable (default: onnxcc from PATH)\n"
            "  --data DIR        root of the node tests (default " DEFAULT_DATA ")\n"
            "  --expect FILE     expected failures (default\n"
            "                    tests/conformance/expected_failures_TARGET.txt)\n"
            "  --target T        target passed to onnxcc check (default c)\n"
            "  --cpu NAME        --cpu passed to onnxcc check (LLVM targets; result files\n"
            "                    are then named TARGET-NAME)\n"
            "  --suite NAME      names another node suite run from --data (e.g. 1.23): result\n"
            "                    files get -NAME, the default --expect is\n"
            "                    expected_failures_TARGET_NAME.txt\n"
            "  --data-hint TEXT  where --data comes from, said when it is absent\n"
            "  --coverage-from-list  write the coverage table from the expectations file\n"
            "                    (listed tests fail with their reasons, the others pass)\n"
            "                    without running anything\n"
            "  --jobs N          parallel tests (default: number of online CPUs)\n"
            "  --timeout S       seconds per test before it counts as a crash (default 120)\n"
            "  --filter SUBSTR   only tests whose name contains SUBSTR\n"
            "  --list FILE       only the tests named in FILE (one per line, # comments)\n"
            "  --out DIR         where the coverage table and failure log go (default .)\n"
            "  --update          rewrite the expectations file from this run's results\n"
            "  --verbose         print every test's result\n",
            progname);
}

int main(int argc, char **argv)
{
    Config cfg = { "onnxcc", DEFAULT_DATA, NULL, "c", NULL, ".", 0, 120, 0, 0,
                   NULL, NULL, NULL, NULL, "Debian package libonnx-testdata", 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define ARG(flag) (!strcmp(a, flag) && (i + 1 < argc || (die("%s needs a value", flag), 0)))
        if (ARG("--onnxcc")) cfg.onnxcc = argv[++i];
        else if (ARG("--data")) cfg.data = argv[++i];
        else if (ARG("--expect")) cfg.expect = argv[++i];
        else if (ARG("--target")) cfg.target = argv[++i];
        else if (ARG("--cpu")) cfg.cpu = argv[++i];
        else if (ARG("--suite")) cfg.suite = argv[++i];
        else if (ARG("--data-hint")) cfg.hint = argv[++i];
        else if (ARG("--filter")) cfg.filter = argv[++i];
        else if (ARG("--list")) cfg.list = argv[++i];
        else if (ARG("--out")) cfg.out = argv[++i];
        else if (ARG("--jobs")) cfg.jobs = atoi(argv[++i]);
        else if (ARG("--timeout")) cfg.timeout = atoi(argv[++i]);
        else if (!strcmp(a, "--update")) cfg.update = 1;
        else if (!strcmp(a, "--coverage-from-list")) cfg.from_list = 1;
        else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) cfg.verbose = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
#undef ARG
    }
    if (cfg.jobs <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.jobs = ncpu > 0 ? (int)ncpu : 1;
    }
    if (cfg.timeout <= 0) die("--timeout must be positive");
    if (cfg.suite && (!*cfg.suite || strpbrk(cfg.suite, "/ \t")))
        die("--suite needs a name without spaces or '/' (e.g. 1.23)");
    char *default_expect = cfg.suite ? xfmt("tests/conformance/expected_failures_%s_%s.txt",
                                            cfg.target, cfg.suite)
                                     : xfmt("tests/conformance/expected_failures_%s.txt",
                                            cfg.target);
    char *label = xfmt("%s%s%s%s%s", cfg.target, cfg.cpu ? "-" : "", cfg.cpu ? cfg.cpu : "",
                       cfg.suite ? "-" : "", cfg.suite ? cfg.suite : "");
    cfg.label = label;
    if (!cfg.expect) cfg.expect = default_expect;

    if (!is_dir(cfg.out) && mkdir(cfg.out, 0755) != 0)
        die("cannot create %s: %s", cfg.out, strerror(errno));
    char *respath = xfmt("%s/conformance-result-%s.txt", cfg.out, cfg.label);
    result_file = fopen(respath, "w");
    if (!result_file)
        fprintf(stderr, "%s: cannot write %s: %s\n", progname, respath, strerror(errno));
    if (!is_dir(cfg.data)) {
        say("conformance data not found at %s (%s); skipping\n"
            "0 passed, 0 failed, 0 skipped\n", cfg.data, cfg.hint);
        return 77;
    }
    if (!cfg.from_list && strchr(cfg.onnxcc, '/') && access(cfg.onnxcc, X_OK) != 0)
        die("cannot run %s: %s", cfg.onnxcc, strerror(errno));

    ExpectList el;
    expect_read(cfg.expect, &el);

    int nlisted = 0;
    char **listed = cfg.list ? read_name_list(cfg.list, &nlisted) : NULL;
    int ndirs = 0;
    char **dirs = list_dir(cfg.data, keep_test_dir, &ndirs);
    Test *tests = xmalloc((size_t)(ndirs ? ndirs : 1) * sizeof *tests);
    int n = 0;
    for (int i = 0; i < ndirs; i++) {
        Expect *e = expect_find(&el, dirs[i]);
        if (e) e->seen = 1;
        if (cfg.filter && !strstr(dirs[i], cfg.filter)) continue;
        if (listed && !name_listed(listed, nlisted, dirs[i])) continue;
        Test *t = &tests[n++];
        memset(t, 0, sizeof *t);
        t->name = dirs[i];
        t->dir = xfmt("%s/%s", cfg.data, dirs[i]);
        t->exp = e;
        read_model_ops(t);
    }
    if (!n) {
        say("no tests under %s%s%s\n0 passed, 0 failed, 0 skipped\n", cfg.data,
               cfg.filter ? " match " : "", cfg.filter ? cfg.filter : "");
        return cfg.filter ? 0 : 77;
    }

    if (cfg.from_list) {
        /* what the checked-in list says, for a table that matches it exactly */
        for (int k = 0; k < n; k++) {
            tests[k].cat = tests[k].exp ? tests[k].exp->cat : C_PASS;
            tests[k].msg = tests[k].exp ? tests[k].exp->reason : xstrdup("");
        }
        char *cov = xfmt("%s/conformance-coverage-%s.md", cfg.out, cfg.label);
        write_coverage(&cfg, tests, n, cov);
        say("coverage table from %s: %s\n", cfg.expect, cov);
        if (result_file) fclose(result_file);
        return 0;
    }

    char *workdir = xfmt("%s/conformance-work-%s", cfg.out, cfg.label);
    rm_tree(workdir);
    if (mkdir(workdir, 0755) != 0) die("cannot create %s: %s", workdir, strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    double t0 = now_s();
    run_all(&cfg, tests, n, workdir);
    double elapsed = now_s() - t0;
    rm_tree(workdir);

    if (cfg.update) {
        int added = 0, removed = 0, changed = 0;
        ExpectList nl = { NULL, 0, el.header, el.nheader };
        for (int i = 0; i < el.n; i++) {
            Expect *e = &el.v[i];
            int ran = 0;
            for (int k = 0; k < n && !ran; k++) ran = tests[k].exp == e;
            if (ran || !e->seen) {
                if (!ran) removed++; /* names a test that no longer exists */
                continue;
            }
            nl.v = xrealloc(nl.v, (size_t)(nl.n + 1) * sizeof *nl.v);
            nl.v[nl.n++] = *e;
        }
        for (int k = 0; k < n; k++) {
            Test *t = &tests[k];
            if (t->cat == C_PASS) {
                if (t->exp) removed++;
                t->exp = NULL;
                continue;
            }
            Expect e = { t->name, t->cat, NULL, 1 };
            if (t->exp && t->exp->cat == t->cat) {
                e.reason = t->exp->reason;
            } else {
                e.reason = xfmt("%s: %s", cat_words[t->cat], t->msg);
                if (t->exp) changed++;
                else added++;
            }
            nl.v = xrealloc(nl.v, (size_t)(nl.n + 1) * sizeof *nl.v);
            nl.v[nl.n++] = e;
        }
        char *what = cfg.suite ? xfmt("%s, ONNX %s node suite", cfg.target, cfg.suite)
                               : xfmt("%s", cfg.target);
        expect_write(cfg.expect, &nl, what);
        free(what);
        say("updated %s: %d entries (%d added, %d changed, %d removed)\n", cfg.expect, nl.n,
               added, changed, removed);
        /* From here on, judge the run against the list just written. */
        for (int k = 0; k < n; k++)
            tests[k].exp = tests[k].cat == C_PASS ? NULL : expect_find(&nl, tests[k].name);
    } else if (!cfg.filter && !cfg.list) {
        for (int i = 0; i < el.n; i++)
            if (!el.v[i].seen)
                say("note: %s lists %s, which is not under %s (remove the line)\n",
                       cfg.expect, el.v[i].name, cfg.data);
    }

    int passed = 0, failed = 0, skipped = 0, frozen = 0;
    for (int k = 0; k < n; k++) {
        Test *t = &tests[k];
        if (t->cat == C_PASS && !t->exp) {
            passed++;
            frozen += t->frozen;
        } else if (t->cat == C_PASS) {
            failed++;
            say("UNEXPECTED PASS %s (listed as %s: remove it from %s)\n", t->name,
                   cat_name[t->exp->cat], cfg.expect);
        } else if (!t->exp) {
            failed++;
            say("FAIL %s: %s: %s\n", t->name, cat_words[t->cat], t->msg);
        } else if (t->exp->cat != t->cat) {
            failed++;
            say("CHANGED %s: listed as %s, now %s: %s (update %s)\n", t->name,
                   cat_name[t->exp->cat], cat_name[t->cat], t->msg, cfg.expect);
        } else {
            skipped++;
        }
    }

    char *covpath = xfmt("%s/conformance-coverage-%s.md", cfg.out, cfg.label);
    char *logpath = xfmt("%s/conformance-failures-%s.log", cfg.out, cfg.label);
    write_coverage(&cfg, tests, n, covpath);
    write_failure_log(tests, n, logpath);
    say("%d tests in %.0f s on %d jobs; coverage table: %s; failure log: %s\n", n, elapsed,
           cfg.jobs, covpath, logpath);
    if (failed)
        say("unexpected results: fix them, or if intended, regenerate the list with "
               "--update\n");
    /* Said openly: these pass only as models specialised to the test's input values. */
    say("%d of the passes compiled a model specialised to the dataset (graph inputs "
        "that an operator needs at compile time, such as Reshape's shape, frozen to their "
        "values)\n", frozen);
    say("%d expected failures (see %s)\n", skipped, cfg.expect);
    say("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (result_file) fclose(result_file);
    return failed ? 1 : 0;
}
