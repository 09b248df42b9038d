/* util.h — memory pools, the string builder, files and the progress line shared by every
 * phase (compiler and codegen).
 *
 * Each phase allocates from its own Pool and frees it at once at the end (QBE's habit):
 * no scattered free(). Allocation failure aborts with a message: a compiler that runs out
 * of memory has nothing better to do. */
#ifndef ONNXCC_UTIL_H
#define ONNXCC_UTIL_H

#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ATTR_PRINTF(f, a)
#endif

/* util.c */
typedef struct Pool Pool;
Pool *pool_new(void);
void pool_free(Pool *p);                         /* frees everything allocated from p */
void *pool_alloc(Pool *p, size_t size);          /* zeroed, aligned for any type */
void *pool_dup(Pool *p, const void *src, size_t size);
char *pool_strdup(Pool *p, const char *s);
char *pool_fmt(Pool *p, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Grows an array kept in p: returns a copy of arr (n elements of size sz) with room for cap. */
void *pool_grow(Pool *p, void *arr, size_t n, size_t sz, size_t *cap);

/* Push one element onto a pool-backed vector `arr` with count `n` and capacity `cap`. */
#define VEC_PUSH(pool, arr, n, cap, item)                                                  \
    do {                                                                                   \
        if ((size_t)(n) >= (cap)) (arr) = pool_grow((pool), (arr), (n), sizeof *(arr), &(cap)); \
        (arr)[(n)++] = (item);                                                             \
    } while (0)

/* String builder with scoped indentation (TVM's emitter habit): sb_line() indents by
 * `indent` levels of four spaces; sb_open()/sb_close() print a brace and change the level. */
typedef struct StrBuf {
    char *buf;
    size_t len, cap;
    int indent;
} StrBuf;
void sb_init(StrBuf *sb);
void sb_free(StrBuf *sb);
void sb_puts(StrBuf *sb, const char *s);
void sb_printf(StrBuf *sb, const char *fmt, ...) ATTR_PRINTF(2, 3);
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap);
void sb_line(StrBuf *sb, const char *fmt, ...) ATTR_PRINTF(2, 3); /* indent + text + '\n' */
void sb_open(StrBuf *sb, const char *fmt, ...) ATTR_PRINTF(2, 3); /* line ending in " {" */
void sb_close(StrBuf *sb, const char *trail);  /* "}" + trail (e.g. "" or " else {") */

/* Files: whole-file read, and write-to-temp-then-rename so an error never leaves a
 * half-written output that looks good. Both return 0 on success, -1 with errno set. */
/* Opens path for reading only if it is a regular file (not a directory, FIFO or device:
 * errno EISDIR or EINVAL), without following a final symbolic link when nofollow. */
FILE *open_regular(const char *path, int nofollow);
void *xmalloc(size_t n);   /* malloc, or exit with "onnxcc: out of memory" */
int read_file(const char *path, unsigned char **data, size_t *len); /* malloc'd; caller frees */
int write_file_atomic(const char *path, const void *data, size_t len);
/* The same for output too large to hold in memory (weights): fill writes it piecewise to
 * the temporary file f (or has a library write the file named tmp, then f stays unused)
 * and returns 0, or -1 (the file is then removed, errno EIO if unset). */
int write_file_stream(const char *path, int (*fill)(FILE *f, const char *tmp, void *ctx),
                      void *ctx);
/* Large weights: len bytes at off of the open file fd mapped copy-on-write (never written
 * back; valid until exit), or NULL (then read the bytes instead). weights_release gives the
 * whole pages of a mapped range back to the system after a pass consumed them (packed them
 * elsewhere); they are read again from the file if touched later. Not mapped: no-op. */
void *weights_map(int fd, int64_t off, size_t len);
void weights_release(const void *data, size_t len);
/* The same for bytes already in memory (a model's raw_data): copied to an unlinked temp
 * file and mapped from it; NULL if that fails. */
void *weights_spill(const void *data, size_t len);
/* A set of write_file_atomic calls that lands all together or not at all. */
void out_stage_begin(void);
int out_stage_commit(void);   /* renames every staged file; -1 (errno) if one failed */
void out_stage_abort(void);   /* removes the staged files */
/* After out_log_begin, every path write_file_atomic writes (or stages) is recorded, so
 * `compile --manifest` can list exactly what one compile produced. out_log returns them in
 * write order (*n set); the strings live until the next out_log_begin. */
void out_log_begin(void);
const char *const *out_log(int *n);
int make_dirs(const char *path); /* mkdir -p: 0, or -1 with errno set */
/* A malloc'd formatted string (for messages handed to a caller who frees them). */
char *str_fmt(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Writes msg to f on one line: names inside messages are user data and may hold newlines
 * or other control characters, written as \n, \t, \xHH. */
void fput_one_line(FILE *f, const char *msg);

/* Prints a C99 float literal that reads back to exactly the same value (hex float),
 * with INFINITY/NAN spelled through math.h macros. is_f32 adds the 'f' suffix. */
void sb_float_literal(StrBuf *sb, double v, int is_f32);

/* Progress of long work, on one terminal line: only when stderr is a terminal (never in
 * output that tests and CI read), rewritten in place with '\r', at most ten times a second.
 * progress_scope sets what leads every line ("data set 3/40"; "": nothing);
 * progress_done clears the line, so what is printed next starts on a clean one. */
void progress(const char *fmt, ...) ATTR_PRINTF(1, 2);
void progress_scope(const char *fmt, ...) ATTR_PRINTF(1, 2);
void progress_done(void);

#endif
