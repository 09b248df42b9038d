/* freeze.c — binding a graph input's value at compile time (--freeze NAME=VALUES or
 * NAME=@tensor.pb, and check's specialisation to a dataset). A frozen input becomes a
 * constant of the graph and leaves g->inputs, so NAME_run no longer takes it and constant
 * folding removes whatever it decided (a branch, a Reshape shape, Resize scales). One
 * mechanism for the user's flag and check's automatic case, so both say the same thing. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "onnxcc.h"

int freeze_parse(Pool *p, const char *arg, Freeze *f)
{
    memset(f, 0, sizeof *f);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return -1;
    f->name = pool_fmt(p, "%.*s", (int)(eq - arg), arg);
    if (eq[1] == '@') {
        if (!eq[2]) return -1;
        f->file = pool_strdup(p, eq + 2);
        return 0;
    }
    /* the numbers are checked here (syntax) and against the input's type in freeze_apply */
    const char *s = eq + 1;
    for (;;) {
        char *end;
        errno = 0;
        if (!strncmp(s, "true", 4) || !strncmp(s, "false", 5)) {
            end = (char *)s + (s[0] == 't' ? 4 : 5);
        } else {
            (void)strtod(s, &end);
            if (end == s) return -1;
        }
        s = end;
        if (!*s) break;
        if (*s != ',') return -1;
        s++;
    }
    f->text = pool_strdup(p, eq + 1);
    return 0;
}

/* Writes v (already checked to fit) as element i of a t tensor. */
static void put_elem(void *data, DType t, int64_t i, double v)
{
    char *c = data;
    switch (t) {
    case DT_F32: { float x = (float)v; memcpy(c + i * 4, &x, 4); break; }
    case DT_F64: memcpy(c + i * 8, &v, 8); break;
    case DT_F16: { uint16_t x = kir_f16_bits(v); memcpy(c + i * 2, &x, 2); break; }
    case DT_BF16: { uint16_t x = kir_bf16_bits(v); memcpy(c + i * 2, &x, 2); break; }
    case DT_BOOL: c[i] = v != 0; break;
    case DT_I8: { int8_t x = (int8_t)v; memcpy(c + i, &x, 1); break; }
    case DT_U8: { uint8_t x = (uint8_t)v; memcpy(c + i, &x, 1); break; }
    case DT_I16: { int16_t x = (int16_t)v; memcpy(c + i * 2, &x, 2); break; }
    case DT_U16: { uint16_t x = (uint16_t)v; memcpy(c + i * 2, &x, 2); break; }
    case DT_I32: { int32_t x = (int32_t)v; memcpy(c + i * 4, &x, 4); break; }
    case DT_U32: { uint32_t x = (uint32_t)v; memcpy(c + i * 4, &x, 4); break; }
    case DT_I64: { int64_t x = (int64_t)v; memcpy(c + i * 8, &x, 8); break; }
    case DT_U64: { uint64_t x = (uint64_t)v; memcpy(c + i * 8, &x, 8); break; }
    default: break;
    }
}

/* Range of an integer type as doubles (int64 values beyond 2^53 cannot be written as
 * text exactly anyway; @file.pb carries them bit for bit). */
static int int_range(DType t, double *lo, double *hi)
{
    switch (t) {
    case DT_BOOL: *lo = 0; *hi = 1; return 1;
    case DT_I8: *lo = -128; *hi = 127; return 1;
    case DT_U8: *lo = 0; *hi = 255; return 1;
    case DT_I16: *lo = -32768; *hi = 32767; return 1;
    case DT_U16: *lo = 0; *hi = 65535; return 1;
    case DT_I32: *lo = -2147483648.0; *hi = 2147483647.0; return 1;
    case DT_U32: *lo = 0; *hi = 4294967295.0; return 1;
    case DT_I64: *lo = -9007199254740992.0; *hi = 9007199254740992.0; return 1;
    case DT_U64: *lo = 0; *hi = 9007199254740992.0; return 1;
    default: return 0;
    }
}

/* The shape a list of `count` numbers takes for an input declared as `decl`: the declared
 * one where it is complete, else its one unknown dimension solved (a scalar or a vector
 * when the model says nothing). -1 with *why when the count cannot fit. */
static int text_shape(Pool *p, const Type *decl, int64_t count, Type *out, char **why)
{
    *out = *decl;
    if (decl->rank < 0) {
        out->rank = count == 1 ? 0 : 1;
        out->dims[0] = count;
        return 0;
    }
    int unknown = -1, nunknown = 0;
    int64_t known = 1;
    for (int d = 0; d < decl->rank; d++) {
        if (decl->dims[d] < 0) {
            unknown = d;
            nunknown++;
        } else {
            known *= decl->dims[d];
        }
    }
    if (nunknown == 0) {
        if (known == count) return 0;
        *why = pool_fmt(p, "%lld value%s given, the model declares %s (%lld values)",
                        (long long)count, count == 1 ? "" : "s", type_str(p, decl),
                        (long long)known);
        return -1;
    }
    if (nunknown > 1 || known == 0 || count % known) {
        *why = pool_fmt(p, "%lld value%s cannot fill %s (give its shape with --shape, or the "
                        "value as @tensor.pb)", (long long)count, count == 1 ? "" : "s",
                        type_str(p, decl));
        return -1;
    }
    out->dims[unknown] = count / known;
    return 0;
}

/* Reads f's value for input v (declared type v->type, rank -1 when undeclared) into a
 * fresh Value. NULL with *why. */
static Value *freeze_value(Pool *p, const Freeze *f, const Value *v, char **why)
{
    Value *src = (Value *)f->value;
    if (f->file) {
        char *err = NULL;
        src = load_tensor_file(p, f->file, &err);
        if (!src) {
            *why = pool_strdup(p, err ? err : "cannot read the tensor file");
            return NULL;
        }
    }
    DType dt = v->type.dt;
    if (src) {
        /* test data spells float16/bfloat16 as their uint16 bit patterns */
        int same = !dt || src->type.dt == dt ||
                   ((dt == DT_F16 || dt == DT_BF16) && src->type.dt == DT_U16);
        if (!same) {
            *why = pool_fmt(p, "the value is %s, the model declares %s", dt_name(src->type.dt),
                            dt_name(dt));
            return NULL;
        }
        if (v->type.rank >= 0) {
            int ok = src->type.rank == v->type.rank;
            for (int d = 0; ok && d < v->type.rank; d++)
                ok = v->type.dims[d] < 0 || v->type.dims[d] == src->type.dims[d];
            if (!ok) {
                *why = pool_fmt(p, "the value is %s, the model declares %s",
                                type_str(p, &src->type), type_str(p, &v->type));
                return NULL;
            }
        }
        Value *r = pool_alloc(p, sizeof *r);
        *r = *src;
        if (dt) r->type.dt = dt;
        return r;
    }
    if (!dt || !dt_supported(dt)) {
        *why = pool_fmt(p, "its element type %s cannot be written as numbers", dt_name(dt));
        return NULL;
    }
    int64_t count = 1;
    for (const char *s = f->text; *s; s++) count += *s == ',';
    Value *r = pool_alloc(p, sizeof *r);
    r->name = v->name;
    r->id = -1;
    if (text_shape(p, &v->type, count, &r->type, why) != 0) return NULL;
    r->type.dt = dt;
    void *data = pool_alloc(p, (size_t)count * (size_t)dt_size(dt) + 1);
    const char *s = f->text;
    double lo = 0, hi = 0;
    int is_int = int_range(dt, &lo, &hi);
    for (int64_t i = 0; i < count; i++) {
        char *end;
        double x;
        if (!strncmp(s, "true", 4)) x = 1, end = (char *)s + 4;
        else if (!strncmp(s, "false", 5)) x = 0, end = (char *)s + 5;
        else x = strtod(s, &end);
        if (is_int && (x != floor(x) || x < lo || x > hi)) {
            *why = pool_fmt(p, "value %lld ('%.*s') does not fit %s", (long long)i,
                            (int)(end - s), s, dt_name(dt));
            return NULL;
        }
        put_elem(data, dt, i, x);
        s = *end ? end + 1 : end;
    }
    r->data = data;
    r->has_type = 1;
    return r;
}

char *freeze_describe(Pool *p, const Value *v)
{
    StrBuf sb;
    sb_init(&sb);
    int64_t n = type_numel(&v->type);
    sb_printf(&sb, "'%s' = %s {", v->name, type_str(p, &v->type));
    for (int64_t i = 0; i < n && i < 8; i++)
        sb_printf(&sb, "%s%.17g", i ? ", " : "", const_elem_f(v, i));
    if (n > 8) sb_printf(&sb, ", ... %lld more", (long long)(n - 8));
    sb_puts(&sb, "}");
    char *r = pool_strdup(p, sb.buf);
    sb_free(&sb);
    return r;
}

int freeze_apply(Graph *g, const Freeze *fz, int nfz, char **msg)
{
    Pool *p = g->pool;
    for (int i = 0; i < nfz; i++) {
        const Freeze *f = &fz[i];
        int k = 0;
        while (k < g->ninputs && strcmp(g->inputs[k]->name, f->name)) k++;
        if (k == g->ninputs) {
            Value *w = ir_find(g, f->name);
            if (w && w->kind == V_WEIGHT && w->data) {
                *msg = pool_fmt(p, "%s: --freeze %s: '%s' is an initializer (or already frozen), "
                                "not a graph input", g->file, f->name, f->name);
                return -1;
            }
            StrBuf sb;
            sb_init(&sb);
            for (int j = 0; j < g->ninputs; j++)
                sb_printf(&sb, "%s'%s'", j ? ", " : "", g->inputs[j]->name);
            *msg = pool_fmt(p, "%s: --freeze %s: '%s' is not a graph input (the inputs are: %s)",
                            g->file, f->name, f->name, sb.buf ? sb.buf : "none");
            sb_free(&sb);
            return -1;
        }
        Value *v = g->inputs[k];
        char *why = NULL;
        Value *val = freeze_value(p, f, v, &why);
        if (!val) {
            *msg = pool_fmt(p, "%s: --freeze %s: %s", g->file, f->name, why);
            return -1;
        }
        v->type = val->type;
        v->data = val->data;
        v->kind = V_WEIGHT;
        v->has_type = 1;
        v->nsyms = 0;
        for (int j = k + 1; j < g->ninputs; j++) g->inputs[j - 1] = g->inputs[j];
        g->ninputs--;
    }
    return 0;
}
