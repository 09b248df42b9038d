/* util.c — pools, the string builder, whole-file I/O, exact float literals and the
 * terminal progress line. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE     /* madvise(MADV_DONTNEED): posix_madvise's is a no-op on Linux */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

typedef struct Chunk {
    struct Chunk *next;
    size_t size, used;
    max_align_t data[];
} Chunk;

struct Pool {
    Chunk *head;
};

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

Pool *pool_new(void)
{
    Pool *p = xmalloc(sizeof *p);
    p->head = NULL;
    return p;
}

void pool_free(Pool *p)
{
    if (!p) return;
    for (Chunk *c = p->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p);
}

void *pool_alloc(Pool *p, size_t size)
{
    const size_t a = sizeof(max_align_t);
    size = (size + a - 1) / a * a;
    if (!p->head || p->head->size - p->head->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        Chunk *c = xmalloc(sizeof *c + cap);
        c->size = cap;
        c->used = 0;
        c->next = p->head;
        p->head = c;
    }
    void *r = (char *)p->head->data + p->head->used;
    p->head->used += size;
    memset(r, 0, size);
    return r;
}

void *pool_dup(Pool *p, const void *src, size_t size)
{
    void *r = pool_alloc(p, size);
    if (size) memcpy(r, src, size);
    return r;
}

char *pool_strdup(Pool *p, const char *s)
{
    return s ? pool_dup(p, s, strlen(s) + 1) : NULL;
}

char *pool_fmt(Pool *p, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *r = pool_alloc(p, (size_t)n + 1);
    vsnprintf(r, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return r;
}

void *pool_grow(Pool *p, void *arr, size_t n, size_t sz, size_t *cap)
{
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap <= n) ncap *= 2;
    void *r = pool_alloc(p, ncap * sz);
    if (n) memcpy(r, arr, n * sz);
    *cap = ncap;
    return r;
}

void sb_init(StrBuf *sb)
{
    memset(sb, 0, sizeof *sb);
}

void sb_free(StrBuf *sb)
{
    free(sb->buf);
    sb_init(sb);
}

static void sb_reserve(StrBuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1) cap *= 2;
    char *nb = realloc(sb->buf, cap);
    if (!nb) {
        fputs("onnxcc: out of memory\n", stderr);
        exit(1);
    }
    sb->buf = nb;
    sb->cap = cap;
}

void sb_puts(StrBuf *sb, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(sb, n);
    memcpy(sb->buf + sb->len, s, n + 1);
    sb->len += n;
}

void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    sb_reserve(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    sb->len += (size_t)n;
}

void sb_printf(StrBuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

static void sb_indent(StrBuf *sb)
{
    for (int i = 0; i < sb->indent; i++) sb_puts(sb, "    ");
}

void sb_line(StrBuf *sb, const char *fmt, ...)
{
    va_list ap;
    sb_indent(sb);
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
    sb_puts(sb, "\n");
}

void sb_open(StrBuf *sb, const char *fmt, ...)
{
    va_list ap;
    sb_indent(sb);
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
    sb_puts(sb, " {\n");
    sb->indent++;
}

void sb_close(StrBuf *sb, const char *trail)
{
    sb->indent--;
    sb_indent(sb);
    sb_puts(sb, "}");
    sb_puts(sb, trail ? trail : "");
    sb_puts(sb, "\n");
}

FILE *open_regular(const char *path, int nofollow)
{
    /* non-blocking: opening a FIFO must not wait for a writer; then only regular files */
    int fd = open(path, O_RDONLY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        close(fd);
        errno = e;
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) close(fd);
    return f;
}

int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = open_regular(path, 0);
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Staged output: between out_stage_begin and out_stage_commit / out_stage_abort,
 * write_file_atomic leaves each file under its temporary name, so a set of files appears
 * all together (commit renames them) or not at all (abort removes them). */
static struct {
    int on, n, cap;
    char **tmp, **dst;
} stage;

void out_stage_begin(void)
{
    stage.on = 1;
    stage.n = 0;
}

static void stage_reset(void)
{
    for (int i = 0; i < stage.n; i++) {
        free(stage.tmp[i]);
        free(stage.dst[i]);
    }
    free(stage.tmp);
    free(stage.dst);
    memset(&stage, 0, sizeof stage);
}

void out_stage_abort(void)
{
    for (int i = 0; i < stage.n; i++) remove(stage.tmp[i]);
    stage_reset();
}

int out_stage_commit(void)
{
    /* what would make a rename fail (a directory in a file's place) fails them all here */
    for (int i = 0; i < stage.n; i++) {
        struct stat st;
        if (lstat(stage.dst[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            out_stage_abort();
            errno = EISDIR;
            return -1;
        }
    }
    int rc = 0, e = 0;
    for (int i = 0; i < stage.n; i++) {
        if (!rc && rename(stage.tmp[i], stage.dst[i]) != 0) {
            e = errno;
            rc = -1;
        }
        if (rc) remove(stage.tmp[i]);
    }
    stage_reset();
    if (rc) errno = e;
    return rc;
}

static struct {
    int on, n, cap;
    char **paths;
} wlog;

void out_log_begin(void)
{
    for (int i = 0; i < wlog.n; i++) free(wlog.paths[i]);
    wlog.n = 0;
    wlog.on = 1;
}

const char *const *out_log(int *n)
{
    *n = wlog.n;
    return (const char *const *)wlog.paths;
}

static void log_written(const char *path)
{
    if (!wlog.on) return;
    for (int i = 0; i < wlog.n; i++)
        if (!strcmp(wlog.paths[i], path)) return;   /* a file rewritten in one run: once */
    if (wlog.n == wlog.cap) {
        wlog.cap = wlog.cap ? 2 * wlog.cap : 16;
        char **t = realloc(wlog.paths, sizeof *t * (size_t)wlog.cap);
        if (!t) {
            fputs("onnxcc: out of memory\n", stderr);
            exit(1);
        }
        wlog.paths = t;
    }
    wlog.paths[wlog.n++] = str_fmt("%s", path);
}

typedef struct {
    const void *data;
    size_t len;
} WholeBuf;

static int fill_whole(FILE *f, const char *tmp, void *ctx)
{
    (void)tmp;
    const WholeBuf *b = ctx;
    return b->len == 0 || fwrite(b->data, 1, b->len, f) == b->len ? 0 : -1;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
    WholeBuf b = { data, len };   /* data may be NULL when empty */
    return write_file_stream(path, fill_whole, &b);
}

int write_file_stream(const char *path, int (*fill)(FILE *f, const char *tmp, void *ctx),
                      void *ctx)
{
    size_t n = strlen(path) + 32;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(tmp);
        return -1;
    }
    int ok = fill(f, tmp, ctx) == 0 && !ferror(f);
    ok = (fclose(f) == 0) && ok;
    if (ok && stage.on) {
        if (stage.n == stage.cap) {
            stage.cap = stage.cap ? 2 * stage.cap : 16;
            char **t = realloc(stage.tmp, sizeof *t * (size_t)stage.cap);
            if (t) stage.tmp = t;
            char **d = realloc(stage.dst, sizeof *d * (size_t)stage.cap);
            if (d) stage.dst = d;
            if (!t || !d) {
                fputs("onnxcc: out of memory\n", stderr);
                exit(1);
            }
        }
        stage.tmp[stage.n] = tmp;
        stage.dst[stage.n++] = str_fmt("%s", path);
        log_written(path);
        return 0;
    }
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        free(tmp);
        errno = e ? e : EIO;
        return -1;
    }
    free(tmp);
    log_written(path);
    return 0;
}

void sb_float_literal(StrBuf *sb, double v, int is_f32)
{
    if (isnan(v)) {
        sb_puts(sb, is_f32 ? "NAN" : "(double)NAN");
    } else if (isinf(v)) {
        sb_puts(sb, v < 0 ? (is_f32 ? "-INFINITY" : "-(double)INFINITY")
                          : (is_f32 ? "INFINITY" : "(double)INFINITY"));
    } else if (v == 0) {
        sb_puts(sb, signbit(v) ? "-0.0" : "0.0");
        if (is_f32) sb_puts(sb, "f");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        /* integral values read better in decimal and are exact */
        sb_printf(sb, "%.1f%s", v, is_f32 ? "f" : "");
    } else {
        sb_printf(sb, "%a%s", v, is_f32 ? "f" : "");
    }
}

int make_dirs(const char *path)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 1);
    if (!tmp) return -1;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0) continue;
        char c = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
            free(tmp);
            return -1;
        }
        tmp[i] = c;
    }
    free(tmp);
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

void fput_one_line(FILE *f, const char *msg)
{
    for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
        if (*c == '\n') fputs("\\n", f);
        else if (*c == '\t') fputs("\\t", f);
        else if (*c < 0x20 || *c == 0x7f) fprintf(f, "\\x%02x", *c);
        else fputc(*c, f);
    }
}

char *str_fmt(const char *fmt, ...)
{
    StrBuf sb;
    sb_init(&sb);
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    return sb.buf; /* malloc'd by the builder; the caller owns it */
}

/* ---- the progress line ---- */

static char progress_lead[96];
static int progress_shown;      /* something is on the line now */
static double progress_last;    /* when it was last written */

static int progress_on(void)
{
    static int tty = -1;
    if (tty < 0) tty = isatty(2);
    return tty;
}

void progress_scope(const char *fmt, ...)
{
    if (!progress_on()) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(progress_lead, sizeof progress_lead, fmt, ap);
    va_end(ap);
    progress_last = 0;   /* a new scope shows at once */
}

void progress(const char *fmt, ...)
{
    if (!progress_on()) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    /* a terminal is slow: a node loop calling this per node must not wait on it */
    if (progress_shown && now - progress_last < 0.1) return;
    char text[160];
    size_t n = (size_t)snprintf(text, sizeof text, "%s%s", progress_lead,
                                progress_lead[0] ? ": " : "");
    if (n >= sizeof text) n = sizeof text - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - n, fmt, ap);
    va_end(ap);
    /* kept short of an 80-column terminal, so the line never wraps and '\r' returns to it */
    fprintf(stderr, "\r%.76s\033[K", text);
    fflush(stderr);
    progress_shown = 1;
    progress_last = now;
}

void progress_done(void)
{
    if (!progress_shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    progress_shown = 0;
}

/* ---- large weights mapped from their files ----
 * A model's big tensors are mapped copy-on-write instead of read into the pool: pages a
 * pass has consumed (a weight packed into the kernel's layout) are given back with
 * weights_release and read again from the file if anything touches them later, so the
 * compiler holds about one copy of the weights instead of two. The mappings live until
 * the process exits (like the pool that would otherwise hold the bytes). */
static struct {
    int n, cap;
    struct { unsigned char *base; size_t len; } *m;
} maps;

void *weights_map(int fd, int64_t off, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || off < 0 || len == 0) return NULL;
    int64_t start = off - off % pg;
    size_t mlen = len + (size_t)(off - start);
    if (maps.n == maps.cap) {
        int cap = maps.cap ? 2 * maps.cap : 16;
        void *t = realloc(maps.m, sizeof *maps.m * (size_t)cap);
        if (!t) return NULL;
        maps.m = t;
        maps.cap = cap;
    }
    void *b = mmap(NULL, mlen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)start);
    if (b == MAP_FAILED) return NULL;
    maps.m[maps.n].base = b;
    maps.m[maps.n++].len = mlen;
    return (unsigned char *)b + (off - start);
}

void weights_release(const void *data, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    const unsigned char *d = data;
    if (pg <= 0 || !d || !len) return;
    for (int i = 0; i < maps.n; i++) {
        unsigned char *b = maps.m[i].base;
        if (d < b || d + len > b + maps.m[i].len) continue;
        /* whole pages inside the range only: a neighbour's bytes stay as they are */
        uintptr_t lo = ((uintptr_t)d + (uintptr_t)pg - 1) / (uintptr_t)pg * (uintptr_t)pg;
        uintptr_t hi = ((uintptr_t)d + len) / (uintptr_t)pg * (uintptr_t)pg;
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
        return;
    }
}

/* Weights that come inside the model file (raw_data) have no file of their own to map:
 * they are written once to an unlinked temporary file and mapped from there, so
 * weights_release can give their pages back too (the page cache holds them, not the
 * process). NULL when that fails (the caller then keeps them in memory). */
static FILE *spill;
static int64_t spill_end;

void *weights_spill(const void *data, size_t len)
{
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0 || !len) return NULL;
    if (!spill && !(spill = tmpfile())) return NULL;
    int64_t off = (spill_end + pg - 1) / pg * pg;
    if (fseeko(spill, (off_t)off, SEEK_SET) != 0 || fwrite(data, 1, len, spill) != len ||
        fflush(spill) != 0)
        return NULL;
    spill_end = off + (int64_t)len;
    return weights_map(fileno(spill), off, len);
}
