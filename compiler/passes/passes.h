/* passes.h — what the graph rewrites of compiler/passes share (private to this folder;
 * the entry point passes_run is declared in onnxcc.h).
 *
 * A pass marks the nodes it removes dead instead of editing g->nodes while it walks it;
 * passes_run then drops them and re-runs ir_finish, which re-sorts the nodes, sets
 * Value.producer and nuses again. Between rewrites the use counts a pass needs come from
 * pass_uses (a scan of the live nodes), never from the stale Value.nuses. */
#ifndef ONNXCC_PASSES_H
#define ONNXCC_PASSES_H

#include "../onnxcc.h"

typedef struct PassCtx {
    Graph *g;
    const struct Target *t;
    unsigned char *dead;      /* by Node.id (ids are positions after ir_finish) */
    unsigned char *captured;  /* by Value.id: read from inside a nested graph */
    int ncaptured;            /* values known when captured was filled */
    /* pass_index_uses: each value's readers (by Value.id, CSR), for a pass that rewires
     * nothing while it asks (pass_uses then costs its value's readers, not the graph) */
    int nindexed;             /* values covered; 0: no index, pass_uses scans */
    int *use_at;              /* value id -> first entry; nindexed + 1 of them */
    Node **use_node;
    int *use_slot;            /* the input slot that reads the value */
} PassCtx;

/* Live node inputs reading v, counted per input slot; up to max users (a node reading v
 * twice appears twice). */
int pass_uses(const PassCtx *c, const Value *v, Node **users, int max);
/* Builds / drops the index pass_uses reads; a pass that rewires inputs or adds readers
 * must not hold it. */
void pass_index_uses(PassCtx *c);
void pass_unindex_uses(PassCtx *c);
/* 1 when v is an intermediate that a rewrite may remove: produced by a node, not a graph
 * output, not read by a nested graph, not a compile-time constant, with exactly `nuses`
 * live uses (filled into users). */
int pass_removable(const PassCtx *c, const Value *v, int nuses, Node **users);
/* A new constant value (kind V_WEIGHT) named after base, unique in the graph. */
Value *pass_new_const(Graph *g, const char *base, DType dt, int rank, const int64_t *dims,
                      const void *data);
/* A constant with one element (any numeric type) into *x: 1, else 0. */
int pass_scalar(const Value *v, double *x);
/* Replaces node n's op_type by "OP+what" (fused nodes name what they absorbed). */
void pass_note(Node *n, const char *what);
/* Appends v to n's inputs at index >= at (slots in between stay NULL: omitted inputs);
 * returns its index. */
int pass_append_input(Graph *g, Node *n, Value *v, int at);

int pass_fold_bn(PassCtx *c);   /* fold_bn.c: number of BatchNormalization folded */
int pass_fuse(PassCtx *c);      /* fuse.c: number of nodes given an epilogue */
/* fold_transpose.c: number of Transposes folded into MatMul operands (Node.view) */
int pass_fold_transpose(PassCtx *c);
/* fuse_ew.c: number of FusedElementwise nodes made; they are returned in *made, not yet
 * in the graph (passes_run adds them). */
int pass_fuse_ew(PassCtx *c, Node ***made, int *nmade);

#endif
