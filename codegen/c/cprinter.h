/* cprinter.h — the C99 function printer of cgen_c.c, opened for back ends that print a C
 * dialect (the HLS back end): TVM's habit of one printer with override points instead of a
 * second copy of it. With no hooks (NULL) it prints exactly what the C back end prints.
 *
 * The hooks change only what differs between dialects: element type names, how a buffer
 * is addressed, the function signature, loop annotations and (optionally) the printing of
 * one expression. Everything else (operand-once helpers, exact constants, unused-variable
 * silencing, C's promotion rules) stays in one place. */
#ifndef ONNXCC_CPRINTER_H
#define ONNXCC_CPRINTER_H

#include "../../compiler/kir.h"

typedef struct CG CPrinter;

typedef struct CHooks {
    void *ctx;
    /* Type name for declarations, casts and helpers; NULL result: the C type. */
    const char *(*type_name)(CPrinter *cp, DType t);
    /* Buffer b of the current function is printed as array `*name` indexed at
     * `*off + idx` (the C back end: the parameter itself, offset 0). */
    void (*buf_ref)(CPrinter *cp, int b, const char **name, int64_t *off);
    /* Prints `static void NAME(...)` (no newline). A buffer the body never touches gets
     * `(void)NAME;` with the name buf_ref gives it. */
    void (*signature)(CPrinter *cp, StrBuf *sb, const KFunc *f);
    /* Loop annotation: phase 0 right after the indentation of the `for` line (a label),
     * phase 1 at the first line of its body (pragmas). */
    void (*loop)(CPrinter *cp, StrBuf *sb, const KStmt *s, int phase);
    /* Prints e itself and returns 1, or returns 0 to let the C printer print it. */
    int (*expr)(CPrinter *cp, const KExpr *e, int bare);
} CHooks;

/* h may be NULL (plain C). The printer keeps a pointer to h and p. */
CPrinter *cprinter_new(const KProg *p, const CHooks *h);
void cprinter_free(CPrinter *cp);
void cprinter_func(CPrinter *cp, StrBuf *out, const KFunc *f);  /* comment + function */
void cprinter_helpers(CPrinter *cp, StrBuf *out);  /* the helpers the functions used */
const char *cprinter_error(const CPrinter *cp);    /* first error, or NULL */

/* For hooks. */
void *cprinter_ctx(const CPrinter *cp);
const KFunc *cprinter_cur_func(const CPrinter *cp);
const int *cprinter_buf_uses(const CPrinter *cp);   /* per buffer of the current function */
void cprinter_expr(CPrinter *cp, const KExpr *e, int bare); /* a sub-expression */
void cprinter_fail(CPrinter *cp, char *msg);        /* takes a malloc'd message */
StrBuf *cprinter_sb(CPrinter *cp);
const char *cprinter_ctype(DType t);                /* the plain C type of an element */
void cprinter_comment_text(StrBuf *sb, const char *s); /* safe inside a block comment */
/* One element of constant data, exactly (as in NAME_weights.c). */
void cprinter_elem(StrBuf *sb, DType t, const void *data, int64_t i);

#endif
