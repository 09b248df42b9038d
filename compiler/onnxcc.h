/* onnxcc.h — the one internal header of the compiler front and middle (QBE style):
 * a section per file. Everything here knows ONNX; codegen/ sees only kir.h.
 *
 * Data flows one way: load -> shape (with constant folding) -> passes -> lower -> plan
 * -> codegen. No stage after load.c touches protobuf structs. */
#ifndef ONNXCC_H
#define ONNXCC_H

#include <stdio.h>
#include "kir.h"

#define ONNXCC_VERSION "0.1.0"

typedef struct Graph Graph;
typedef struct Node Node;
typedef struct Value Value;

/* ir.c */

typedef struct Type {
    DType dt;
    int rank;
    int64_t dims[KIR_MAX_RANK];
} Type;

/* The largest tensor onnxcc takes: 2^40 bytes, no dimension beyond 2^40 elements. Element
 * counts, byte sizes and the index arithmetic of the generated code then stay far inside
 * int64_t. shape_infer refuses any output past them. */
#define ONNXCC_MAX_TENSOR_BYTES ((int64_t)1 << 40)
#define ONNXCC_MAX_DIM ((int64_t)1 << 40)
/* The newest operator sets onnxcc knows (the ONNX 1.23 node suite's): a model importing a
 * newer one is refused rather than compiled with older meanings. */
#define ONNXCC_MAX_OPSET 28
#define ONNXCC_MAX_OPSET_ML 5
int64_t type_numel(const Type *t);   /* product of dims; 1 for rank 0; -1 with an unknown
                                      * dim; saturates at ONNXCC_MAX_DIM + 1 */
int64_t mul_sat(int64_t a, int64_t b); /* a * b for a, b >= 0, saturating at ONNXCC_MAX_DIM + 1 */
int type_equal(const Type *a, const Type *b);
char *type_str(Pool *p, const Type *t);       /* "float32[1x3x224x224]" */

/* A symbolic dimension as declared in the model, kept for messages and --shape binding. */
typedef struct DimSym {
    int axis;
    const char *name;     /* "N", "batch" ...; NULL if the dim was simply unknown */
} DimSym;

typedef enum { V_TEMP, V_INPUT, V_WEIGHT } ValueKind;

struct Value {
    const char *name;
    int id;
    ValueKind kind;
    int has_type;         /* type below is valid (set by load for inputs/weights, else shape) */
    Type type;
    const void *data;     /* non-NULL: value known at compile time (weight or folded) */
    DimSym *syms;         /* declared symbolic dims of a graph input, before binding */
    int nsyms;
    Node *producer;       /* NULL for inputs and weights */
    int is_output;        /* a graph output */
    int nuses;            /* number of node inputs that read it (set by ir_finish) */
    unsigned dyn;         /* bit d: type.dims[d] is an upper bound; the real extent is known
                           * at run time only (NonZero ...; see KTensor.dims_t) */
    /* Sequences and optionals exist only at compile time (ops/sequence.c): a sequence is
     * a list of tensor Values whose length the compiler knows, an optional is its element
     * or "none". Neither has a type or a buffer of its own; lowering sees the elements. */
    int seq;              /* a sequence: elems[0..nelems) (nelems -1: an unbound input) */
    Value **elems;
    int nelems;
    int none;             /* an optional without an element */
    int decl;             /* graph inputs/outputs: DECL_* as the model declares them */
};

/* What a graph input or output is declared as (the test data's format follows it). */
enum { DECL_TENSOR, DECL_SEQ, DECL_OPT_TENSOR, DECL_OPT_SEQ };
/* 1 where v is a compile-time list value (a sequence or a none optional) */
static inline int value_is_list(const Value *v) { return v && (v->seq || v->none); }

typedef enum { A_FLOAT, A_INT, A_STRING, A_TENSOR, A_GRAPH, A_FLOATS, A_INTS, A_STRINGS,
               A_TENSORS, A_GRAPHS, A_OTHER } AttrKind;

typedef struct Attr {
    const char *name;
    AttrKind kind;
    float f;
    int64_t i;
    const char *s;        /* A_STRING (NUL terminated; ONNX strings here are names/modes) */
    float *floats;
    int64_t *ints;
    const char **strings;
    int n;                /* count for the list kinds */
    Value *t;             /* A_TENSOR: a constant Value (type + data) */
    Graph *g;             /* A_GRAPH: nested graph (If/Loop/Scan bodies) */
    Graph **graphs;
} Attr;

/* An epilogue that compiler/passes fused into a Conv, Gemm or MatMul (float32, on a
 * target with the op's runtime kernel): y = act(op + bias + residual). Its operands are
 * appended node inputs, so liveness, order and lowering see them as any input. */
typedef struct Epilogue {
    int act;              /* RT_ACT_* of runtime/onnxcc_rt.h */
    float act_a, act_b;   /* the activation's parameters */
    int bias_in;          /* MatMul: input index of a per-column bias [N], or -1 */
    int residual_in;      /* input index of a tensor shaped like the output, or -1 */
} Epilogue;

/* A Transpose that compiler/passes folded into a MatMul operand: the node's input is now
 * the Transpose's input, read through perm (view axis d is source axis perm[d]), so the
 * GEMM takes it with strides and a transposition flag instead of a copy. */
typedef struct OperandView {
    int rank;
    int perm[KIR_MAX_RANK];
} OperandView;

struct Node {
    const char *name;     /* never NULL: load gives unnamed nodes "<op>_<index>" */
    const char *op_type;
    const char *domain;   /* "" for the default ONNX domain */
    int op;               /* OpId, or OP_UNKNOWN */
    int opset;            /* opset version of the node's domain in this model */
    int id;
    Value **in;           /* NULL where an optional input is omitted */
    int nin;
    Value **out;          /* NULL where an optional output is omitted */
    int nout;
    Attr *attrs;
    int nattrs;
    Graph *g;
    Epilogue *epi;        /* NULL unless a fusion pass gave the node one */
    OperandView *view[2]; /* MatMul: operands 0/1 read through a folded Transpose, or NULL */
    Node **chain;         /* FusedElementwise: the fused elementwise nodes in evaluation
                           * order, the last one giving the output; their in/out still name
                           * the Values they read and wrote (the inner ones no longer exist
                           * in the graph: they become scalars of one loop nest) */
    int nchain;
    struct NodeOrig *orig; /* sequence.c: the node before shape inference rewrote it (into the
                            * tensor op reading list elements), restored by ir_reset_inferred */
};

typedef struct NodeOrig {
    int op, opset;
    Value **in, **out;
    int nin, nout, nattrs;
} NodeOrig;
/* Saves n as it is before a rewrite (once). */
void node_save_orig(Node *n);

struct Graph {
    const char *name;
    const char *file;     /* model path, for messages */
    Graph *parent;        /* nested graphs: the enclosing graph */
    Node **nodes;         /* topological order after ir_finish */
    int nnodes;
    size_t capnodes;
    Value **values;
    int nvalues;
    size_t capvalues;
    Value **inputs;       /* graph inputs that are not initializers, in model order */
    int ninputs;
    Value **outputs;
    int noutputs;
    int opset;            /* default-domain opset */
    int ir_version;
    Pool *pool;
    char *err;            /* first error message (see node_err), or NULL */
    const char *const *max_trip_nodes; /* root graph: --max-trip NODE=N, bounds of Loops */
    const int64_t *max_trips;          /* without a static trip count */
    int nmax_trip;
    int64_t max_string;   /* root graph: --max-string, the longest string in bytes (0: the
                           * default); string cells are one byte more (ops/strings.c) */
    Value *need;          /* with err: the value an operator needed at compile time and did
                           * not get (node_need_const); check freezes the inputs behind it */
    struct NameIndex *index; /* ir.c private: name -> value hash behind ir_value/ir_find */
};

Graph *ir_graph_new(Pool *p, const char *file);
Value *ir_value(Graph *g, const char *name);           /* find or create by name */
Value *ir_find(Graph *g, const char *name);            /* find in g or enclosing graphs */
Node *ir_node(Graph *g, const char *name, const char *op_type, const char *domain);
/* Forgets what shape inference derived in g (types, folded data, lists of the values its
 * nodes produce), so it can be inferred again with other input types: a body run once per
 * element or iteration (SequenceMap, a Loop over a sequence). */
void ir_reset_inferred(Graph *g);
/* Topological sort, use counts, dangling-edge and cycle checks. 0 or -1 (g->err set). */
int ir_finish(Graph *g);

/* Attributes: default when absent. */
const Attr *attr_get(const Node *n, const char *name);
int64_t attr_i(const Node *n, const char *name, int64_t def);
float attr_f(const Node *n, const char *name, float def);
const char *attr_s(const Node *n, const char *name, const char *def);
const int64_t *attr_ints(const Node *n, const char *name, int *count); /* NULL if absent */
const float *attr_floats(const Node *n, const char *name, int *count);

Value *node_in(const Node *n, int i);   /* NULL if absent or omitted */
Value *node_out(const Node *n, int i);

/* Errors: formats "FILE: node 'NAME' (OP): message" into g->err (first error wins) and
 * returns -1, so an op can `return node_err(n, "...")`. graph_err is for errors with no node. */
int node_err(const Node *n, const char *fmt, ...) ATTR_PRINTF(2, 3);
int graph_err(Graph *g, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* node_err for a value the operator needs at compile time (a shape, scales, a count): also
 * records v in g->need, so `check` can specialise the model to the dataset's values of the
 * graph inputs it is computed from (graph_inputs_behind). */
int node_need_const(const Node *n, const Value *v, const char *fmt, ...) ATTR_PRINTF(3, 4);
/* The inputs of the root graph of g from which v is computed (v itself when it is one),
 * in the root's input order; their count. */
int graph_inputs_behind(Graph *g, const Value *v, Value ***out);

/* Constant inputs (Reshape's shape, Slice's starts ...): reads a constant integer tensor
 * as int64 values. Returns the count, or -1 with node_err when not constant/not integer. */
int const_ints(const Node *n, int input, int64_t **vals);
/* Reads element i of a constant tensor of any numeric type as double. */
double const_elem_f(const Value *v, int64_t i);

/* freeze.c: a graph input bound to a value at compile time (--freeze, check's
 * specialisation). It becomes a constant (kind V_WEIGHT with data) and leaves g->inputs,
 * so NAME_run no longer takes it and folding removes what it decides. */
typedef struct Freeze {
    const char *name;
    const char *text;      /* NAME=VALUES: comma-separated numbers (true/false for bool) */
    const char *file;      /* NAME=@FILE: a serialized TensorProto */
    const Value *value;    /* a tensor already read (check: the dataset's), or NULL */
} Freeze;
/* Parses "NAME=1,2,3" or "NAME=@tensor.pb" (syntax only). 0, or -1 on bad syntax. */
int freeze_parse(Pool *p, const char *arg, Freeze *f);
/* Binds every f to its input of g: type checked against the declared one (the shape of a
 * list of numbers is the declared shape, its one unknown dimension solved). 0, or -1
 * with *msg (one line naming the file and the input). */
int freeze_apply(Graph *g, const Freeze *f, int n, char **msg);
/* "'x' = int64[2] {1, 2}": what a frozen input was bound to, for messages. */
char *freeze_describe(Pool *p, const Value *v);

/* load.c */

typedef struct LoadOptions {
    const char *const *shape_names; /* --shape NAME=DIMS bindings */
    const Type *shape_types;        /* only rank/dims are used */
    int nshapes;
    int shapes_from_data;           /* the bindings are a data set's shapes (check), not
                                     * --shape flags: said so in messages */
    const Freeze *freeze;           /* inputs bound to values (freeze.c), applied before */
    int nfreeze;                    /* the shape bindings */
    const char *const *none_names;  /* optional inputs bound as absent (--none NAME) */
    int nnone;
    int unbound_ok;                 /* leave inputs without a full shape untyped instead of
                                     * failing (check reads declared kinds before binding) */
} LoadOptions;

/* Reads an ONNX model into a Graph allocated from p. Returns NULL with *err set to one
 * line naming the file (and node/op where one is at fault). */
Graph *load_model(Pool *p, const char *path, const LoadOptions *opt, char **err);
/* Reads a serialized TensorProto (test data input_K.pb). NULL with *err on failure. */
Value *load_tensor_file(Pool *p, const char *path, char **err);
/* Test data of any declared kind (DECL_*): a tensor (n = 1), a SequenceProto (seq, its
 * elements) or an OptionalProto (none, or its tensor or sequence). 0, or -1 with *err. */
typedef struct DataFile {
    const char *name;
    int seq, none;
    Value **elems;
    int n;
} DataFile;
int load_data_file(Pool *p, const char *path, int decl, DataFile *df, char **err);

/* ops/ops.c: the operator table, expanded from ops/ops.def */

typedef struct Lower Lower;
typedef int (*InferFn)(Node *n);            /* set output types (and data when trivially known) */
typedef int (*LowerFn)(Node *n, Lower *L);  /* emit the node's body through L->k */

typedef struct OpDef {
    const char *name;
    const char *domain;
    int since;            /* first opset version supported */
    InferFn infer;
    LowerFn lower;
} OpDef;

typedef enum {
#define OP(id, name, domain, since, infer, lower) OP_##id,
#include "ops/ops.def"
#undef OP
    OP_COUNT,
    OP_UNKNOWN = -1
} OpId;

extern const OpDef op_table[OP_COUNT];
int op_lookup(const char *domain, const char *op_type);   /* OpId or OP_UNKNOWN */
/* 1 where the operator may compute in fixed point (--hls-type fixed<W,I>): ops/fixed.def */
extern const unsigned char op_fixed_point[OP_COUNT];

/* ops/elementwise.c: 1 when n is an elementwise op (float32 in and out, numpy
 * broadcasting) that a FusedElementwise chain can compute; with_vmath: the target's vector
 * math kernels already run Exp/Tanh/Sigmoid/Erf, so those stay nodes of their own. */
int ew_fusable(const Node *n, int with_vmath);

/* ops/dynamic.c: 1 where input `input` of n may have a data-dependent size (Value.dyn);
 * shape inference refuses any other consumer of such a value. Gather's variant for
 * data-dependent indices (called by gather_infer/gather_lower). */
int op_takes_dyn(const Node *n, int input);
int gather_dyn_infer(Node *n);
int gather_dyn_lower(Node *n, Lower *L);

/* ops/common.c: shared helpers for the operator files */
int set_out(Node *n, int i, DType dt, int rank, const int64_t *dims); /* 0, or -1 if out i absent */
int set_out_type(Node *n, int i, const Type *t);
/* numpy broadcasting of two shapes into out; -1 with node_err on mismatch. */
int broadcast_shapes(const Node *n, const Type *a, const Type *b, Type *out);
int norm_axis(const Node *n, int64_t axis, int rank, int *out); /* negative axes; range check */
/* Lowers output 0 = input 0 as one flat copy loop (Identity, Reshape, Squeeze ...). */
int lower_copy(Node *n, Lower *L);

/* ops/strings.c: string tensors (a fixed capacity per element, see the file's banner).
 * The cell size in bytes of g's program (--max-string + 1); 1 where n takes string
 * tensors at all (shape.c refuses them elsewhere); Cast/CastLike's string paths. */
#define ONNXCC_DEFAULT_MAX_STRING 63
int64_t graph_string_cap(const Graph *g);
int op_takes_strings(const Node *n);
/* float8, float4e2m1, [u]int4 and [u]int2 values are storage only (kir.h): the operators
 * that convert them (Cast, QuantizeLinear ...) or only move their bytes take them */
int op_takes_lowbit(const Node *n);
int str_cast_involved(const Node *n);
int str_cast_infer(Node *n);
int str_equal_involved(const Node *n);   /* Equal with a string input: ops/strings.c */
int str_equal_infer(Node *n);
int str_equal_lower(Node *n, Lower *L);
int str_cast_lower(Node *n, Lower *L);

/* shape.c */

/* Infers every node's output types in order, folding nodes whose inputs are all constant
 * (through the loop IR interpreter). Collects ALL unsupported ops into one message first.
 * 0, or -1 with g->err. */
int shape_infer(Graph *g);
/* Lists the unsupported operators of g (each with its node name) into a pool string, or
 * NULL if all are supported. */
char *shape_unsupported(Graph *g);

/* passes/ */

/* The graph rewrites between shape_infer and lower_graph (compiler/passes/passes.c):
 * BatchNormalization folded into the Conv/Gemm/MatMul before it (every target), then on a
 * target with the op's runtime kernel (t->kernels) the epilogue fusion of float32
 * Conv/Gemm/MatMul with a following residual Add, MatMul bias Add and one activation
 * (Node.epi). A rewritten node's op_type names what it absorbed ("Conv+Add+Relu"); it
 * keeps the last absorbed node's output value. 0, or -1 with g->err. */
struct Target;
int passes_run(Graph *g, const struct Target *t);

/* lower.c */

struct Lower {
    KB *k;
    Node *n;
    KProg *prog;
    const struct Target *target;
    int *value_tensor;    /* Value id -> program tensor id (-1 before it exists) */
    int in_buf[16];       /* lazily created buffers for the node's inputs/outputs */
    int out_buf[16];
};

int lw_in(Lower *L, int i);     /* buffer of node input i (created on first use) */
int lw_out(Lower *L, int i);    /* buffer of node output i */
int lw_temp(Lower *L, DType t, int64_t n); /* scratch buffer live only during this node */
/* The int64[rank] real dims of an input / output with a data-dependent size (Value.dyn),
 * as a buffer of this node; -1 with an error where there is none (a static value, a
 * subgraph, the folding interpreter). */
int lw_in_dims(Lower *L, int i);
int lw_out_dims(Lower *L, int i);
/* A constant made while lowering (weights packed for a kernel): n elements of t at data,
 * which must live as long as the program (allocate it from L->prog->pool). With a key (what
 * it was made from: the source data and the layout's parameters), lw_const_find gives later
 * nodes that need the same thing its buffer instead of a second copy (-1: none yet). */
typedef struct ConstKey {
    const void *src;
    int64_t k[5];
} ConstKey;
int lw_const(Lower *L, const char *what, DType t, int64_t n, const void *data,
             const ConstKey *key);
int lw_const_find(Lower *L, const ConstKey *key);
/* Scratch of n elements of t for a constant being made (packed weights): malloc'd; hand
 * it to lw_const_take, which keeps a big one in a mapped temporary file (its pages given
 * back once the output holds it) and a small one in the pool, and frees the scratch. */
void *lw_const_scratch(int64_t n, DType t);
int lw_const_take(Lower *L, const char *what, DType t, int64_t n, void *scratch,
                  const ConstKey *key);
int lw_has_kernel(const Lower *L, const char *kernel);
/* Lowers every node of a subgraph (If branch, Loop/Scan body) into the current function at
 * the builder's position: in_bufs[i] (or NULL) holds sub's input i, and sub's output i ends
 * up in buffer out_bufs[i] (-1: not wanted). The nodes' own values become scratch of this
 * function; values of enclosing graphs are read where they are (captured). 0 or -1. */
int lw_subgraph(Lower *L, Graph *sub, const int *in_bufs, const int *out_bufs);

/* Lowers every node of g (after shape_infer) into a program for target t.
 * NULL with *err on failure (e.g. an op the target cannot run). */
KProg *lower_graph(Graph *g, const char *name, const struct Target *t, char **err);
/* Lowers one node for the interpreter (constant folding): a function whose buffers are
 * bound to the node's inputs then outputs in order. NULL if the node cannot be lowered. */
KFunc *lower_node_standalone(Pool *p, Node *n, char **err);
/* 1 when every present output of n is a compile-time constant: lower_graph emits no
 * function for such a node (it was folded). */
int lower_node_folded(const Node *n);

/* plan.c */

/* Assigns arena offsets to every KT_ARENA tensor from its live range; sets arena_bytes and
 * arena_lower_bound. */
void plan_arena(KProg *p, int64_t align);
/* Checks a plan, whoever made it: every planned tensor inside the arena and aligned, and
 * no two tensors live at the same function sharing a byte, unless the later one takes the
 * earlier over in place (re-checked on the loop IR). 0, or -1 with a message in err. */
int plan_validate(const KProg *p, char *err, size_t errlen);
/* Arena bytes live while function `step` runs (a tensor and its in-place successor count
 * once); the lower bound is the largest of these. */
int64_t plan_live_bytes(const KProg *p, int step);
/* Number of tensors that took over their input's bytes in place (after plan_arena). */
int plan_inplace_count(const KProg *p);
/* p->weights_bin: byte offsets of the used constant tensors in the blob, each aligned;
 * sets weights_bytes and weights_align. */
void plan_weights(KProg *p, int64_t align);

/* targets/targets.c */

typedef enum { BACKEND_C, BACKEND_LLVM, BACKEND_HLS, BACKEND_NVPTX } Backend;

typedef struct Target {
    const char *name;             /* "c", "x86_64", ... */
    const char *const *kernels;   /* runtime kernels available, NULL terminated */
    int64_t align;                /* arena/tensor alignment in bytes */
    Backend backend;              /* which codegen/ back end writes its code */
    const char *triple;           /* LLVM targets: target triple */
    const char *cpu;              /* LLVM targets: default CPU ("native": the host's) */
    const char *check_cc;         /* check/bench: C compiler for the harness (NULL: $CC or cc) */
    const char *const *check_ldflags; /* extra flags when linking the harness (-static ...) */
    const char *const *check_exec;    /* prefix of the command that runs it (qemu ...) */
    const char *no_check;         /* why check/bench cannot run its code (NULL: they can) */
} Target;
const Target *target_find(const char *name);
const Target *target_at(int i);  /* the i-th target of the table; NULL past the last */
const char *target_names(void);  /* "c, ..." for messages */
int target_has_kernel(const Target *t, const char *kernel);  /* t may be NULL: 0 */
/* Multiply-accumulates done by one call of a runtime kernel, from the call's arguments
 * (the cost model lives beside the kernel list, not in the ops); -1 if unknown. */
int64_t kernel_macs(const char *kernel, const KArg *args, int nargs);

/* manifest.c: `compile --manifest FILE` writes FILE: the names (relative to outdir, one a
 * line, sorted) of the files write_file_atomic wrote since out_log_begin. 0, or -1 with
 * errno set. */
int manifest_write(const char *path, const char *outdir);

/* driver.c, check.c: the onnxcc commands. main.c parses the command line into DriverOpts; the
 * commands print to o->out / o->err and return the exit code (0 ok, 1 model or check
 * failure). */
typedef struct DriverOpts {
    const char *model;
    const char *outdir;            /* compile -o */
    const char *name;              /* --name; NULL: the model file's basename */
    const char *target;            /* --target; NULL: "c" */
    const char **shape_names;      /* --shape NAME=DIMS */
    Type *shape_types;
    int nshapes;
    const char *const *none_names; /* --none NAME: an optional input bound as absent */
    int nnone;
    const Freeze *freeze;          /* --freeze NAME=VALUES | NAME=@FILE */
    int nfreeze;
    const char **max_trip_nodes;   /* --max-trip NODE=N */
    int64_t *max_trips;
    int nmax_trip;
    const char **datasets;         /* check: dataset directories */
    int ndatasets;
    double rtol, atol;             /* check tolerances */
    int tol_set;                   /* bit 0: --rtol given, bit 1: --atol given (check without
                                    * a data set has its own defaults) */
    uint64_t seed;                 /* check without a data set: --seed (when seed_set) */
    int seed_set;
    int64_t max_string;            /* --max-string N (0: the default, or check's data) */
    double timeout_s;              /* check/bench: limit for running the compiled program */
    int keep;                      /* check: keep (and print) the temp dir */
    int runs;                      /* bench */
    FILE *out, *err;
    const char *cpu;               /* LLVM targets: --cpu (NULL: the target's default) */
    const char *features;          /* LLVM targets: --features +avx2,... */
    int emit_llvm;                 /* compile: also write NAME.ll */
    const char *hls_interface;     /* target hls: "m_axi" (default) or "ap_memory" */
    const char *hls_type;          /* target hls: "float" (default) or "fixed<W,I>" */
    int hls_unroll;                /* target hls: UNROLL factor of innermost loops (0: none) */
    const char *hls_data;          /* compile, target hls: test data set for NAME_tb.c */
    int arena_extern;              /* --arena extern */
    int weights_bin;               /* --weights bin */
    int weights_form;              /* --weights auto|hex|bytes: WEIGHTS_AUTO/HEX/BYTES */
    int io_in_arena;               /* --io in-arena */
    const char *section_arena;     /* --section-arena NAME */
    const char *section_weights;   /* --section-weights NAME */
    const char *html;              /* report --html FILE */
} DriverOpts;
/* How the C back end writes the weights into NAME_weights.c: hex-float arrays (exact and
 * readable, but gcc needs ~1 s and ~45 MB per MB of weights), one blob of string-literal
 * bytes (6-10x faster, ~200 MB per file), or (auto) hex up to WEIGHTS_AUTO_BYTES. */
enum { WEIGHTS_AUTO, WEIGHTS_HEX, WEIGHTS_BYTES };
#define WEIGHTS_AUTO_BYTES (1024 * 1024)
/* Past this, the blob is a C file of ~3 bytes per byte; compile suggests --weights bin. */
#define WEIGHTS_BIG_BYTES ((int64_t)256 * 1024 * 1024)
void driver_defaults(DriverOpts *o);
/* Parses "NAME=1x3x224x224" (dims >= 0). 0, or -1 on bad syntax. */
int driver_parse_shape(Pool *p, const char *arg, const char **name, Type *t);
int driver_compile(const DriverOpts *o);
int driver_report(const DriverOpts *o);
int driver_check(const DriverOpts *o);
int driver_bench(const DriverOpts *o);
/* report --html: the multiplications a lowered function executes (driver_report's count;
 * *approx set where a bound or kernel is unknown), and what compiling the model for t would
 * refuse (unsupported operators, lowering, the back end's checks) as one message naming
 * the nodes, or NULL when t takes it. */
int64_t driver_func_macs(const KFunc *f, int *approx);
char *driver_refusals(const DriverOpts *o, Pool *p, const Target *t);

/* report_html.c: writes o->html (atomically) for the report of g0 (the model as loaded),
 * g (after shape inference and the passes) and prog (lowered and planned), then prints
 * one line naming it on o->out. The number of planned tensors charted, or -1 with *msg. */
int rhtml_write(const DriverOpts *o, const Graph *g0, const Graph *g, const KProg *prog,
                Pool *p, char **msg);
/* Appends s with & < > " ' escaped and control characters as spaces. */
void rhtml_escape(StrBuf *sb, const char *s);

#endif
