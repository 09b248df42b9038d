/* ops.c — expands ops.def into the dispatch table and the name lookup. */
#include <string.h>
#include "../onnxcc.h"

#define OP(id, name, domain, since, infer, lower) int infer(Node *n); int lower(Node *n, Lower *L);
#include "ops.def"
#undef OP

const OpDef op_table[OP_COUNT] = {
#define OP(id, name, domain, since, infer, lower) [OP_##id] = { name, domain, since, infer, lower },
#include "ops.def"
#undef OP
};

/* Operators that may run in fixed point on target hls (fixed.def). */
const unsigned char op_fixed_point[OP_COUNT] = {
#define FX(id) [OP_##id] = 1,
#include "fixed.def"
#undef FX
};

/* Every enum entry has a table row: the count is fixed by the same list. */
_Static_assert(sizeof op_table / sizeof op_table[0] == OP_COUNT, "op table out of sync");

static int same_domain(const char *a, const char *b)
{
    /* "ai.onnx" is the default domain spelled out */
    if (!a || !strcmp(a, "ai.onnx")) a = "";
    if (!b || !strcmp(b, "ai.onnx")) b = "";
    return !strcmp(a, b);
}

int op_lookup(const char *domain, const char *op_type)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (!strcmp(op_table[i].name, op_type) && same_domain(op_table[i].domain, domain))
            return i;
    return OP_UNKNOWN;
}
