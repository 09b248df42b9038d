/* kir.h — the loop IR ("kernel IR"): what every operator lowers to and every back end prints.
 *
 * Back ends (codegen/) include only this header. It speaks of tensors, loops and typed
 * scalars, never of ONNX operators: an operator is defined once (compiler/ops/) as a
 * lowering to this IR and every back end gets it for free.
 *
 * Shape of a program:
 *   KProg     the whole model: tensors (inputs, outputs, constants, arena slots) and the
 *             functions to run, in order.
 *   KFunc     one per ONNX node: buffers (parameters bound to program tensors) + a body.
 *   KStmt     for / if / decl / set / store / call, in singly linked blocks.
 *   KExpr     typed scalar expressions. Operands of KE_BIN have the same type; casts are
 *             explicit (the builder inserts none silently) so the LLVM back end needs no
 *             C promotion rules.
 * Indices are DT_IDX expressions (a pointer-sized signed integer: ptrdiff_t in C).
 * Buffers are flat: element i of buffer b is load(b, i). */
#ifndef ONNXCC_KIR_H
#define ONNXCC_KIR_H

#include "util.h"

/* Element types: ONNX TensorProto numbering, plus DT_IDX for index arithmetic. */
typedef enum {
    DT_UNDEF = 0,
    DT_F32 = 1, DT_U8 = 2, DT_I8 = 3, DT_U16 = 4, DT_I16 = 5, DT_I32 = 6, DT_I64 = 7,
    DT_STRING = 8, DT_BOOL = 9, DT_F16 = 10, DT_F64 = 11, DT_U32 = 12, DT_U64 = 13,
    DT_C64 = 14, DT_C128 = 15, DT_BF16 = 16,
    /* storage-only types (kir_lowbit.c): one element per byte in memory and at the API
     * (the 4- and 2-bit ones unpacked, sign-extended when signed); the loop IR never
     * sees them: buffers and expressions carry dt_storage(t), and operators convert with
     * klow_decode / klow_encode */
    DT_F8E4M3FN = 17, DT_F8E4M3FNUZ = 18, DT_F8E5M2 = 19, DT_F8E5M2FNUZ = 20,
    DT_U4 = 21, DT_I4 = 22, DT_F4E2M1 = 23, DT_F8E8M0 = 24, DT_U2 = 25, DT_I2 = 26,
    DT_IDX = 32,
    DT_COUNT
} DType;

#define KIR_MAX_RANK 8

/* kir.c: dtype facts */
int dt_size(DType t);          /* bytes of one element (bool: 1; DT_IDX: 8); 0 if unsupported */
const char *dt_name(DType t);  /* "float32", "int64", "bool", ... */
int dt_is_float(DType t);      /* F16, BF16, F32, F64 */
int dt_is_int(DType t);        /* signed or unsigned integer, DT_IDX included; not bool */
int dt_is_signed(DType t);     /* signed integers and floats */
int dt_supported(DType t);     /* can be computed on by the loop IR (not string/complex) */
const char *dt_suffix(DType t);  /* "f32", "u8", "idx" ...: for generated helper names */
int dt_is_lowbit(DType t);     /* a storage-only type (float8*, float4e2m1, [u]int4, [u]int2) */
int dt_is_lowfloat(DType t);   /* float8*, float4e2m1 */
DType dt_storage(DType t);     /* the loop IR's type for t: uint8/int8 for low-bit types */
/* float16 / bfloat16: stored as their 16-bit pattern; computed on as float32 with the
 * result rounded back after every operation (numpy's semantics). Conversions from a real
 * value round to nearest even, overflow to infinity and keep NaN a (quiet) NaN. */
uint16_t kir_f16_bits(double v);
double kir_f16_value(uint16_t bits);
uint16_t kir_bf16_bits(double v);
double kir_bf16_value(uint16_t bits);
double kir_round16(DType t, double v);  /* t F16/BF16: the nearest value of t; else v */

/* Unary operators. Float math follows C99 libm semantics of the operand type. */
typedef enum {
    KU_NEG, KU_ABS, KU_NOT /* logical, bool */, KU_BITNOT,
    KU_SQRT, KU_EXP, KU_LOG, KU_SIN, KU_COS, KU_TAN, KU_ASIN, KU_ACOS, KU_ATAN,
    KU_SINH, KU_COSH, KU_TANH, KU_ASINH, KU_ACOSH, KU_ATANH, KU_ERF,
    KU_FLOOR, KU_CEIL, KU_RINT /* round half to even */,
    KU_ISNAN, KU_ISINF /* result bool */,
    KU_COUNT
} KUnOp;
/* The C99 libm name of a math KUnOp for double ("exp"); add 'f' for float. NULL for the
 * operators that are not libm calls (neg, abs, not, isnan ...). */
const char *kir_unop_libm(int op);

/* Binary operators. Operands share one type. Comparisons and logical ops give bool.
 * KB_DIV on integers truncates (C); KB_REM is C's % for integers, fmod for floats.
 * KB_MIN/KB_MAX are (a < b ? a : b) / (a > b ? a : b). Shifts: a << b, a >> b. */
typedef enum {
    KB_ADD, KB_SUB, KB_MUL, KB_DIV, KB_REM, KB_MIN, KB_MAX, KB_POW,
    KB_LT, KB_LE, KB_GT, KB_GE, KB_EQ, KB_NE,
    KB_AND, KB_OR, KB_XOR,          /* logical, on bool */
    KB_BAND, KB_BOR, KB_BXOR, KB_SHL, KB_SHR,
    KB_COUNT
} KBinOp;

/* KE_BITCAST: the same bits read as another type of the same size (float32 <-> int32 ...). */
typedef enum { KE_CONST, KE_VAR, KE_LOAD, KE_UN, KE_BIN, KE_SELECT, KE_CAST, KE_BITCAST } KExprKind;

typedef struct KExpr KExpr;
struct KExpr {
    KExprKind kind;
    DType t;          /* result type */
    int op;           /* KUnOp or KBinOp */
    int64_t i;        /* KE_CONST of an integer/bool/IDX type (U64: the bit pattern) */
    double f;         /* KE_CONST of a float type */
    int id;           /* KE_VAR: variable; KE_LOAD: buffer */
    KExpr *a, *b, *c; /* operands; KE_LOAD: a = index; KE_SELECT: a ? b : c */
};

typedef enum { KS_FOR, KS_IF, KS_DECL, KS_SET, KS_STORE, KS_CALL } KStmtKind;

/* Loop hints: what a back end may do with the loop. Semantics are always serial order. */
typedef enum {
    KL_SERIAL,
    KL_PARALLEL,   /* iterations independent: threads / GPU blocks may split them */
    KL_UNROLL,
    KL_VECTOR,     /* innermost, independent, contiguous: SIMD friendly */
    KL_REDUCE      /* carries an accumulator (a decl outside, set inside) */
} KLoopKind;

typedef enum { KA_BUF, KA_INT, KA_FLOAT } KArgKind;
typedef struct KArg {
    KArgKind kind;
    int buf;        /* KA_BUF: buffer, passed as a pointer to element `off`; buf < 0: NULL */
    KExpr *off;     /* KA_BUF: element offset (DT_IDX) or NULL for 0 */
    int64_t i;      /* KA_INT: passed as ptrdiff_t */
    double f;       /* KA_FLOAT: passed as float */
} KArg;

typedef struct KStmt KStmt;
struct KStmt {
    KStmtKind kind;
    KStmt *next;
    int var;              /* FOR: loop variable; DECL/SET: the scalar variable */
    KExpr *lo, *hi;       /* FOR: for (var = lo; var < hi; var++) */
    KLoopKind loop;
    KStmt *body;          /* FOR body; IF then-block */
    KStmt *els;           /* IF else-block (may be NULL) */
    KExpr *cond;          /* IF */
    int buf;              /* STORE: buf[idx] = val */
    KExpr *idx;
    KExpr *val;           /* STORE value; DECL initial value; SET new value */
    const char *fn;       /* CALL: runtime kernel name (see runtime/rt_kernels.def) */
    KArg *args;
    int nargs;
};

typedef struct KVar {
    DType t;
    const char *name;     /* printable name, unique in the function */
} KVar;

typedef enum { KR_IN, KR_OUT, KR_TEMP } KBufRole;

typedef struct KBuf {
    DType t;
    int64_t n;            /* elements */
    KBufRole role;        /* IN is read only; OUT is written; TEMP is scratch for this call */
    int tensor;           /* program tensor bound to this parameter */
    const char *name;     /* parameter name in printed code: in0, out0, tmp0 ... */
} KBuf;

typedef struct KFunc {
    const char *name;     /* unique C identifier, e.g. "node3_conv1" */
    const char *comment;  /* one line shown above the function: node name and op */
    KBuf *bufs;
    int nbufs;
    size_t capbufs;
    KVar *vars;
    int nvars;
    size_t capvars;
    KStmt *body;
    int skip;             /* set by the planner: a copy whose output sits at its input's
                           * address (an alias), so it does nothing; back ends may omit it */
} KFunc;

typedef enum {
    KT_INPUT,    /* a parameter of NAME_run, read only */
    KT_OUTPUT,   /* a parameter of NAME_run, written */
    KT_CONST,    /* weights: data known at compile time */
    KT_ARENA     /* lives in the arena at `offset` */
} KTensorKind;

typedef struct KTensor {
    const char *name;      /* C identifier, unique in the program */
    const char *src_name;  /* name in the model, for comments (may be anything) */
    DType t;
    DType model_t;         /* the model's type where t is only its storage (float8 ... in
                            * uint8, one element per byte); 0: t itself */
    int rank;
    int64_t dims[KIR_MAX_RANK];
    int64_t n;             /* elements = product of dims (1 for rank 0) */
    KTensorKind kind;
    const void *data;      /* KT_CONST: n elements, host layout; bool = 1 byte */
    int64_t offset;        /* KT_ARENA: byte offset, set by the planner */
    int first, last;       /* KT_ARENA: first and last function index that touches it */
    /* A data-dependent size (NonZero, Compress ...): dims[] above are upper bounds (the
     * storage is sized by them) and each run writes the real dims into a companion
     * int64[rank] tensor; the data is dense row-major in the real dims. Graph outputs'
     * companions are outputs of NAME_run after the model's outputs. */
    int dims_t;            /* id + 1 of this tensor's companion; 0: a static shape */
    int dims_for;          /* this tensor is a companion: id + 1 of the tensor it sizes */
    /* A string tensor (compiler/ops/strings.c): t is DT_U8 and the last of dims[] is
     * str_cap, the bytes of one NUL-terminated cell per string element; 0 otherwise. A
     * companion's dims (dims_t) then count strings, not bytes: rank - 1 of them. */
    int64_t str_cap;
} KTensor;

typedef struct KProg {
    const char *name;      /* C identifier prefix: NAME_run, NAME_ARENA_BYTES */
    KTensor *tensors;
    int ntensors;
    size_t captensors;
    KFunc **funcs;         /* run order */
    int nfuncs;
    size_t capfuncs;
    int *inputs, ninputs;  /* tensor ids of NAME_run's inputs, in model order */
    int *outputs, noutputs;
    int64_t arena_bytes;       /* planned */
    int64_t arena_lower_bound; /* largest sum of simultaneously live arena tensors */
    int64_t arena_align;
    /* The firmware API of NAME_run (set before planning; default 0/NULL: one static
     * arena, weights as const arrays, I/O as parameters). */
    int arena_extern;          /* NAME_run(void *arena, ...): the caller places the arena */
    int weights_bin;           /* weights in one blob NAME_weights.bin; KT_CONST offsets
                                * are byte offsets in it; NAME_run(..., const void *weights) */
    int weights_packed;        /* C back end: the weights as one byte blob in
                                * NAME_weights.c (string-literal rows), KT_CONST offsets as
                                * for weights_bin; NAME_run's signature is unchanged */
    int io_in_arena;           /* inputs/outputs planned inside the arena (offset set),
                                * reached through NAME_input_X()/NAME_output_Y() accessors */
    int list_io;               /* a model input or output is a sequence or an optional:
                                * one parameter per element, none for an absent optional */
    const char *section_arena;   /* __attribute__((section(...))) on the arena, or NULL */
    const char *section_weights; /* ... on the weights, or NULL */
    int64_t weights_bytes;     /* weights_bin/_packed: size of the blob */
    int64_t weights_align;     /* weights_bin/_packed: alignment of every tensor in it */
    Pool *pool;
} KProg;

/* kir.c: builder. Ops lower through these; expressions get light constant folding so the
 * printed code stays readable (0 + i is i, 1 * i is i). Scopes: kfor/kif open a block,
 * kelse switches to the else-block, kend closes the innermost one. */
#define KIR_MAX_DEPTH 64
typedef struct KB {
    Pool *p;
    KFunc *f;
    KStmt **tail[KIR_MAX_DEPTH]; /* where the next statement of each open block goes */
    KStmt *open[KIR_MAX_DEPTH];  /* the FOR/IF statement that owns each open block */
    int depth;
} KB;

void kb_init(KB *k, Pool *p, KFunc *f);
int kb_buf(KB *k, DType t, int64_t n, KBufRole role, int tensor); /* adds a parameter */

KExpr *kc_idx(KB *k, int64_t v);                  /* DT_IDX constant */
KExpr *kc_int(KB *k, DType t, int64_t v);         /* integer/bool constant of type t */
KExpr *kc_float(KB *k, DType t, double v);        /* float constant of type t */
KExpr *kc(KB *k, DType t, double v);              /* constant of any type from a double */
KExpr *kvar(KB *k, int var);
KExpr *kload(KB *k, int buf, KExpr *idx);
KExpr *kun(KB *k, KUnOp op, KExpr *a);
KExpr *kbin(KB *k, KBinOp op, KExpr *a, KExpr *b); /* types must match (asserted) */
KExpr *ksel(KB *k, KExpr *cond, KExpr *a, KExpr *b);
KExpr *kcast(KB *k, DType t, KExpr *a);            /* no-op when already of type t */
KExpr *kbitcast(KB *k, DType t, KExpr *a);         /* t and a->t of one size, not 16-bit floats */
/* kir_lowbit.c: values of storage-only types. x is the loaded byte (dt_storage(t));
 * decode gives float32 for the float types, int32 for the integer ones. encode takes a
 * float32 (float types) or any number (integer types: truncated, then wrapped to the
 * type's bits as a C cast to a narrower integer would) and gives the byte. saturate
 * (float8 only): out-of-range values become the largest finite value instead of
 * infinity/NaN; float4e2m1 always saturates. */
KExpr *klow_decode(KB *k, DType t, KExpr *x);
KExpr *klow_encode(KB *k, DType t, KExpr *v, int saturate);
/* Quantization's form: rint, then clamped to the type's range (integer types) or
 * converted with saturation (float types). v: float32. */
KExpr *klow_quantize(KB *k, DType t, KExpr *v, int saturate);
/* Index arithmetic (DT_IDX operands), folded when constant. */
KExpr *kadd(KB *k, KExpr *a, KExpr *b);
KExpr *ksub(KB *k, KExpr *a, KExpr *b);
KExpr *kmul(KB *k, KExpr *a, KExpr *b);
KExpr *kaddi(KB *k, KExpr *a, int64_t b);
KExpr *kmuli(KB *k, KExpr *a, int64_t b);

int kdecl(KB *k, DType t, KExpr *init);            /* new scalar variable, returns its id */
void kset(KB *k, int var, KExpr *val);
void kstore(KB *k, int buf, KExpr *idx, KExpr *val);
int kfor(KB *k, KExpr *lo, KExpr *hi, KLoopKind kind); /* opens the body; returns loop var */
int kfor_n(KB *k, int64_t n, KLoopKind kind);           /* for (v = 0; v < n; v++) */
void kif(KB *k, KExpr *cond);                           /* opens the then-block */
void kelse(KB *k);
void kend(KB *k);                                       /* closes the innermost block */
void kend_n(KB *k, int n);
void kcall(KB *k, const char *fn, const KArg *args, int nargs);
KArg karg_buf(int buf, KExpr *off);
KArg karg_int(int64_t v);
KArg karg_float(double v);

/* Loop nests over a shape: opens rank loops (outermost first, KL_PARALLEL outside,
 * KL_VECTOR innermost), writes the loop variables to vars. Close with kend_n(k, rank).
 * A rank-0 shape opens nothing. */
void kloops(KB *k, int rank, const int64_t *dims, int *vars);
/* sum(vars[i] * stride_i) for a row-major tensor of `dims`. Where bcast_from is not NULL
 * it names the dims of a tensor broadcast (numpy rules, right aligned) to `dims`: its
 * broadcast dimensions get stride 0. */
KExpr *kindex(KB *k, int rank, const int64_t *dims, const int *vars);
KExpr *kindex_bcast(KB *k, int rank, const int64_t *dims, const int *vars,
                    int src_rank, const int64_t *src_dims);

/* kir.c: program */
KProg *kprog_new(const char *name);
int kprog_tensor(KProg *p, const KTensor *t);  /* copies t, returns its id */
KFunc *kprog_func(KProg *p, const char *name, const char *comment); /* appended to run order */
void kprog_free(KProg *p);

/* kir.c: structural checks (types match, buffers and vars in range, stores only to OUT or
 * TEMP). Returns 0, or -1 with a message in err. Run after lowering, before any back end. */
int kir_verify(const KFunc *f, char *err, size_t errlen);

/* kinterp.c: reference interpreter. mem[b] points at buffer b's storage (host layout).
 * Runtime kernel calls are not interpreted: returns -1 with a message (the caller then
 * does not constant-fold that node). Returns 0 on success. */
int kir_interp(const KFunc *f, void *const *mem, char *err, size_t errlen);

#endif
