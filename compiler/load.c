/* load.c — ONNX ModelProto -> IR (and TensorProto files -> Values).
 *
 * The only file that sees protobuf structs. Everything read is checked (types, counts,
 * dims, names, external-data paths) and copied into the graph pool, so the protobuf tree is
 * freed before returning. Local functions are inlined here, Constant nodes become weights,
 * and --shape bindings resolve symbolic input dims, so later stages see one flat graph of
 * known-shape inputs. Errors are one line: "FILE: [node 'N' (OP): ]message". */
#define _XOPEN_SOURCE 700   /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "onnxcc.h"
#include "onnx.pb-c.h"

/* Function calls nest at most this deep: enough for real models, and a function that
 * calls itself ends with a message instead of exhausting memory. */
#define MAX_CALL_DEPTH 32
/* Inlining budget: functions calling functions several times each grow exponentially (30
 * levels of two calls: 2^30 nodes); past this many inlined nodes the model is refused. */
#define MAX_INLINED_NODES 1000000
/* External tensors from this size on are mapped, not read (util.h weights_map); those at
 * an offset that is not 16-aligned are read, so every tensor's data stays aligned. Inline
 * (raw_data) ones of this size are spilled to a mapped temp file (weights_spill). */
#define WEIGHTS_MAP_BYTES (1024 * 1024)
/* A tensor larger than this (bytes) is refused rather than attempted. */
#define MAX_TENSOR_BYTES ONNXCC_MAX_TENSOR_BYTES

typedef struct AttrBind {
    const char *name;
    const Onnx__AttributeProto *val;  /* never a ref_attr_name itself */
} AttrBind;

/* Where nodes are being read: the model's graphs, or the body of an inlined function. */
typedef struct Scope {
    const char *prefix;             /* NULL at model level; "caller/" inside a function */
    char **formal_in;               /* function formals and the caller's (mapped) actuals */
    const char **actual_in;
    size_t nin;
    char **formal_out;
    const char **actual_out;
    size_t nout;
    const AttrBind *env;            /* attributes visible to ref_attr_name */
    size_t nenv;
    int in_function;
    Onnx__OperatorSetIdProto *const *opsets;
    size_t nopsets;
    int depth;
} Scope;

typedef struct Ld {
    Pool *p;
    const char *file;   /* for messages */
    const char *dir;    /* external data paths are relative to it */
    const Onnx__ModelProto *m;
    char *err;          /* first error wins */
    int64_t inlined;    /* nodes taken from local functions so far */
} Ld;

static int ld_err(Ld *ld, const char *fmt, ...) ATTR_PRINTF(2, 3);
static int ld_err(Ld *ld, const char *fmt, ...)
{
    if (ld->err) return -1;
    StrBuf sb;
    sb_init(&sb);
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&sb, fmt, ap);
    va_end(ap);
    /* messages are one line: a name with a newline must not split it */
    for (size_t i = 0; i < sb.len; i++)
        if (sb.buf[i] == '\n' || sb.buf[i] == '\r') sb.buf[i] = ' ';
    ld->err = pool_fmt(ld->p, "%s: %s", ld->file, sb.buf ? sb.buf : "");
    sb_free(&sb);
    return -1;
}

static const char *str_or(const char *s, const char *def)
{
    return s && *s ? s : def;
}

static const char *norm_domain(const char *d)
{
    return !d || !strcmp(d, "ai.onnx") ? "" : d;
}

static char *dir_of(Pool *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return pool_strdup(p, ".");
    if (slash == path) return pool_strdup(p, "/");
    char *d = pool_alloc(p, (size_t)(slash - path) + 1);
    memcpy(d, path, (size_t)(slash - path));
    return d;
}

/* ---- tensors ---- */

/* Bytes per element as stored in a Value (bool 1, f16/bf16 raw bits); 0 for strings. */
static int elem_bytes(int dt)
{
    switch (dt) {
    case DT_U8: case DT_I8: case DT_BOOL: return 1;
    case DT_F8E4M3FN: case DT_F8E4M3FNUZ: case DT_F8E5M2: case DT_F8E5M2FNUZ: case DT_U4:
    case DT_I4: case DT_F4E2M1: case DT_F8E8M0: case DT_U2: case DT_I2: return 1;
    case DT_U16: case DT_I16: case DT_F16: case DT_BF16: return 2;
    case DT_F32: case DT_I32: case DT_U32: return 4;
    case DT_F64: case DT_I64: case DT_U64: case DT_C64: return 8;
    case DT_C128: return 16;
    default: return 0;
    }
}

static int known_dtype(int dt)
{
    return dt >= DT_F32 && dt <= DT_I2;
}

/* Elements per stored byte: ONNX packs the 4- and 2-bit types, first element in the low
 * bits; onnxcc holds them one per byte. */
static int per_byte(int dt)
{
    return dt == DT_U4 || dt == DT_I4 || dt == DT_F4E2M1 ? 2 : dt == DT_U2 || dt == DT_I2 ? 4 : 1;
}

static unsigned char *unpack_low(Pool *p, const unsigned char *src, int64_t numel, int dt)
{
    int per = per_byte(dt), bits = 8 / per;
    unsigned mask = (1u << bits) - 1;
    unsigned char *d = pool_alloc(p, (size_t)(numel ? numel : 1));
    for (int64_t i = 0; i < numel; i++) {
        unsigned v = (src[i / per] >> (bits * (int)(i % per))) & mask;
        if ((dt == DT_I4 || dt == DT_I2) && (v & (1u << (bits - 1)))) v |= ~mask;
        d[i] = (unsigned char)v;
    }
    return d;
}

static int host_big_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 0;
}

/* raw_data is little-endian; a big-endian host swaps each scalar (complex: each half). */
static void to_host_order(unsigned char *d, size_t nbytes, int dt)
{
    if (!host_big_endian()) return;
    size_t w = (size_t)elem_bytes(dt);
    if (dt == DT_C64 || dt == DT_C128) w /= 2;
    if (w < 2) return;
    for (size_t i = 0; i + w <= nbytes; i += w)
        for (size_t a = 0, b = w - 1; a < b; a++, b--) {
            unsigned char t = d[i + a];
            d[i + a] = d[i + b];
            d[i + b] = t;
        }
}

/* A location that stays inside the model's directory: relative, no '..' component. */
static int safe_rel_path(const char *s)
{
    if (!*s || *s == '/' || *s == '\\') return 0;
    const char *c = s;
    while (*c) {
        size_t len = strcspn(c, "/\\");
        if (len == 2 && c[0] == '.' && c[1] == '.') return 0;
        c += len;
        if (*c) c++;
    }
    return 1;
}

static int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) return -1;
    *out = v;
    return 0;
}

static int read_external(Ld *ld, const Onnx__TensorProto *t, const char *ctx, const char *dir,
                         int64_t nbytes, unsigned char **out)
{
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e || !e->key) continue;
        if (!strcmp(e->key, "location")) loc = e->value;
        else if (!strcmp(e->key, "offset")) off_s = e->value;
        else if (!strcmp(e->key, "length")) len_s = e->value;
    }
    if (!loc || !*loc) return ld_err(ld, "%s: external data has no location", ctx);
    if (!safe_rel_path(loc))
        return ld_err(ld, "%s: external data location '%s' must be a relative path inside the "
                      "model's directory", ctx, loc);
    int64_t off = 0, len = nbytes;
    if (off_s && parse_i64(off_s, &off))
        return ld_err(ld, "%s: external data offset '%s' is not a valid number", ctx, off_s);
    if (len_s && parse_i64(len_s, &len))
        return ld_err(ld, "%s: external data length '%s' is not a valid number", ctx, len_s);
    if (len != nbytes)
        return ld_err(ld, "%s: external data length is %lld bytes; the tensor needs %lld", ctx,
                      (long long)len, (long long)nbytes);
    char *path = pool_fmt(ld->p, "%s/%s", dir, loc);
    /* confined to the model's folder: no link leads out of it (checked on the resolved
     * paths), and only a regular file is read (a FIFO would block) */
    char *rdir = realpath(dir, NULL), *rpath = realpath(path, NULL);
    size_t rl = rdir ? strlen(rdir) : 0;
    int inside = rdir && rpath && !strncmp(rpath, rdir, rl) && (rpath[rl] == '/' || rl == 1);
    free(rdir);
    free(rpath);
    if (!inside && access(path, F_OK) == 0)
        return ld_err(ld, "%s: external data file '%s' resolves outside the model's folder "
                      "(through a symbolic link)", ctx, loc);
    FILE *f = open_regular(path, 1);
    if (!f && errno == ELOOP)
        return ld_err(ld, "%s: external data file '%s' is a symbolic link; it must be a "
                      "regular file in the model's folder", ctx, loc);
    if (!f && (errno == EINVAL || errno == EISDIR))
        return ld_err(ld, "%s: external data file '%s' is not a regular file", ctx, loc);
    if (!f)
        return ld_err(ld, "%s: cannot open external data file '%s': %s", ctx, loc,
                      strerror(errno));
    int rc = -1;
    off_t size = -1;
    if (fseeko(f, 0, SEEK_END) == 0) size = ftello(f);
    if (size < 0) {
        ld_err(ld, "%s: cannot read external data file '%s'", ctx, loc);
    } else if (off > (int64_t)size || nbytes > (int64_t)size - off) {
        ld_err(ld, "%s: external data file '%s' has %lld bytes; the tensor needs %lld at offset "
               "%lld", ctx, loc, (long long)size, (long long)nbytes, (long long)off);
    } else if (nbytes >= WEIGHTS_MAP_BYTES && off % 16 == 0 && !host_big_endian() &&
               (*out = weights_map(fileno(f), off, (size_t)nbytes)) != NULL) {
        rc = 0;   /* mapped: passes can give consumed pages back (weights_release) */
    } else {
        unsigned char *d = pool_alloc(ld->p, (size_t)nbytes);
        if (fseeko(f, (off_t)off, SEEK_SET) == 0 &&
            fread(d, 1, (size_t)nbytes, f) == (size_t)nbytes) {
            *out = d;
            rc = 0;
        } else {
            ld_err(ld, "%s: cannot read external data file '%s'", ctx, loc);
        }
    }
    fclose(f);
    return rc;
}

/* Fills v (kind V_WEIGHT, type, data) from t. ctx names the tensor in messages, e.g.
 * "initializer 'w'" or "node 'c' (Constant): attribute 'value'". */
static int decode_tensor(Ld *ld, const Onnx__TensorProto *t, Value *v, const char *ctx,
                         const char *dir)
{
    int dt = t->has_data_type ? t->data_type : 0;
    if (dt == 0) return ld_err(ld, "%s: has no data type (UNDEFINED)", ctx);
    if (!known_dtype(dt)) return ld_err(ld, "%s: unsupported data type %d", ctx, dt);
    if (t->n_dims > KIR_MAX_RANK)
        return ld_err(ld, "%s: rank %zu; at most %d is supported", ctx, t->n_dims, KIR_MAX_RANK);
    Type ty = {(DType)dt, (int)t->n_dims, {0}};
    int64_t numel = 1;
    int esz = elem_bytes(dt);
    for (size_t i = 0; i < t->n_dims; i++) {
        int64_t d = t->dims[i];
        if (d < 0) return ld_err(ld, "%s: negative dimension %lld", ctx, (long long)d);
        if (d && numel > MAX_TENSOR_BYTES / (esz ? esz : 1) / d)
            return ld_err(ld, "%s: larger than onnxcc's limit of 2^40 bytes per tensor", ctx);
        numel *= d;
        ty.dims[i] = d;
    }
    v->kind = V_WEIGHT;
    v->has_type = 1;
    v->type = ty;
    v->data = NULL;
    if (t->segment) return ld_err(ld, "%s: segmented tensors are not supported", ctx);
    int external = t->has_data_location &&
                   t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;

    if (dt == DT_STRING) {
        /* data: numel NUL-terminated strings (const char *[]), laid out in cells of the
         * program's capacity when lowered (ops/strings.c), which a NUL cannot be part of */
        if (external || t->has_raw_data)
            return ld_err(ld, "%s: string tensors cannot use raw or external data", ctx);
        if ((int64_t)t->n_string_data != numel)
            return ld_err(ld, "%s: has %zu strings; its dims need %lld", ctx, t->n_string_data,
                          (long long)numel);
        const char **s = pool_alloc(ld->p, sizeof *s * (size_t)(numel + 1));
        for (int64_t i = 0; i < numel; i++) {
            ProtobufCBinaryData b = t->string_data[i];
            if (b.len && memchr(b.data, 0, b.len))
                return ld_err(ld, "%s: string %lld holds a NUL byte, which onnxcc's string "
                              "cells cannot hold", ctx, (long long)i);
            char *c = pool_alloc(ld->p, b.len + 1);
            if (b.len) memcpy(c, b.data, b.len);
            s[i] = c;
        }
        v->data = s;
        return 0;
    }

    int64_t nbytes = numel * esz;
    if (per_byte(dt) > 1) {
        /* packed 4- or 2-bit elements: raw, external or one packed byte per int32 entry */
        int64_t packed = (numel + per_byte(dt) - 1) / per_byte(dt);
        const unsigned char *src = NULL;
        unsigned char *tmp = NULL;
        if (external) {
            if (read_external(ld, t, ctx, dir, packed, &tmp)) return -1;
            src = tmp;
        } else if (t->has_raw_data) {
            if ((int64_t)t->raw_data.len != packed)
                return ld_err(ld, "%s: raw_data holds %zu bytes; %lld elements of %s packed "
                              "%d per byte need %lld", ctx, t->raw_data.len, (long long)numel,
                              dt_name((DType)dt), per_byte(dt), (long long)packed);
            src = t->raw_data.data;
        } else {
            if ((int64_t)t->n_int32_data != packed)
                return ld_err(ld, "%s: int32_data has %zu values; %lld elements of %s packed "
                              "%d per value need %lld", ctx, t->n_int32_data, (long long)numel,
                              dt_name((DType)dt), per_byte(dt), (long long)packed);
            tmp = pool_alloc(ld->p, (size_t)(packed ? packed : 1));
            for (int64_t i = 0; i < packed; i++) tmp[i] = (unsigned char)t->int32_data[i];
            src = tmp;
        }
        v->data = unpack_low(ld->p, src, numel, dt);
        return 0;
    }
    if (external) {
        unsigned char *d = NULL;
        if (read_external(ld, t, ctx, dir, nbytes, &d)) return -1;
        to_host_order(d, (size_t)nbytes, dt);
        v->data = d;
        return 0;
    }
    if (t->has_raw_data) {
        if ((int64_t)t->raw_data.len != nbytes)
            return ld_err(ld, "%s: raw_data holds %zu bytes; %lld elements of %s need %lld", ctx,
                          t->raw_data.len, (long long)numel, dt_name((DType)dt),
                          (long long)nbytes);
        unsigned char *d = NULL;
        /* a big one is spilled to a mapped temp file, so packing can give its pages back */
        if (nbytes >= WEIGHTS_MAP_BYTES && !host_big_endian()) {
            d = weights_spill(t->raw_data.data, (size_t)nbytes);
            /* raw_data left in the mapped model file: its pages are not needed again */
            if (d) weights_release(t->raw_data.data, (size_t)nbytes);
        }
        if (!d) {
            d = pool_alloc(ld->p, (size_t)nbytes);
            if (nbytes) memcpy(d, t->raw_data.data, (size_t)nbytes);
        }
        to_host_order(d, (size_t)nbytes, dt);
        v->data = d;
        return 0;
    }

    /* typed fields: which one carries the dtype, and how many entries per element */
    size_t have;
    const char *field;
    int per = (dt == DT_C64 || dt == DT_C128) ? 2 : 1;
    switch (dt) {
    case DT_F32: case DT_C64: have = t->n_float_data; field = "float_data"; break;
    case DT_F64: case DT_C128: have = t->n_double_data; field = "double_data"; break;
    case DT_I64: have = t->n_int64_data; field = "int64_data"; break;
    case DT_U32: case DT_U64: have = t->n_uint64_data; field = "uint64_data"; break;
    default: have = t->n_int32_data; field = "int32_data"; break;
    }
    if ((int64_t)have != numel * per) {
        if (!have && numel)
            return ld_err(ld, "%s: has no data (its dims need %lld elements)", ctx,
                          (long long)numel);
        return ld_err(ld, "%s: %s has %zu values; its dims need %lld", ctx, field, have,
                      (long long)(numel * per));
    }
    unsigned char *d = pool_alloc(ld->p, (size_t)nbytes);
    for (int64_t i = 0; i < numel * per; i++) {
        switch (dt) {
        case DT_F32: case DT_C64: memcpy(d + i * 4, &t->float_data[i], 4); break;
        case DT_F64: case DT_C128: memcpy(d + i * 8, &t->double_data[i], 8); break;
        case DT_I64: memcpy(d + i * 8, &t->int64_data[i], 8); break;
        case DT_U64: memcpy(d + i * 8, &t->uint64_data[i], 8); break;
        case DT_U32: {
            uint32_t x = (uint32_t)t->uint64_data[i];
            memcpy(d + i * 4, &x, 4);
            break;
        }
        case DT_I32: memcpy(d + i * 4, &t->int32_data[i], 4); break;
        case DT_I16: case DT_U16: case DT_F16: case DT_BF16: {
            /* 16-bit types (float16/bfloat16 as their bit pattern) ride in int32 entries */
            uint16_t x = (uint16_t)(uint32_t)t->int32_data[i];
            memcpy(d + i * 2, &x, 2);
            break;
        }
        case DT_BOOL: d[i] = t->int32_data[i] != 0; break;
        default: d[i] = (unsigned char)(uint32_t)t->int32_data[i]; break; /* I8, U8 */
        }
    }
    v->data = d;
    return 0;
}

/* ---- names, opsets, functions ---- */

static const char *map_name(Ld *ld, const Scope *sc, const char *name)
{
    if (!name || !*name) return "";
    if (!sc->prefix) return name;
    for (size_t i = 0; i < sc->nin; i++)
        if (!strcmp(sc->formal_in[i], name)) return sc->actual_in[i];
    for (size_t i = 0; i < sc->nout; i++)
        if (!strcmp(sc->formal_out[i], name) && *sc->actual_out[i]) return sc->actual_out[i];
    return pool_fmt(ld->p, "%s%s", sc->prefix, name);
}

static int opset_of(const Scope *sc, const char *domain, int *found)
{
    domain = norm_domain(domain);
    for (size_t i = 0; i < sc->nopsets; i++) {
        const Onnx__OperatorSetIdProto *o = sc->opsets[i];
        if (o && !strcmp(norm_domain(o->domain), domain)) {
            if (found) *found = 1;
            int64_t v = o->has_version ? o->version : 1;
            return v < 0 ? 0 : v > INT_MAX ? INT_MAX : (int)v;
        }
    }
    if (found) *found = 0;
    return 0;
}

static const Onnx__FunctionProto *find_function(Ld *ld, const char *domain, const char *op)
{
    for (size_t i = 0; i < ld->m->n_functions; i++) {
        const Onnx__FunctionProto *f = ld->m->functions[i];
        if (f && f->name && !strcmp(f->name, op) && !strcmp(norm_domain(f->domain), domain))
            return f;
    }
    return NULL;
}

/* ---- attributes ---- */

static Graph *read_graph(Ld *ld, const Onnx__GraphProto *gp, Graph *g, const Scope *sc);

/* The kind an attribute holds; very old exporters omit the type field. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type && a->type) return a->type;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    if (a->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
    if (a->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static char *bytes_str(Pool *p, ProtobufCBinaryData b)
{
    char *s = pool_alloc(p, b.len + 1);
    if (b.len) memcpy(s, b.data, b.len);
    return s;
}

static int list_len(Ld *ld, const char *ctx, size_t n, int *out)
{
    if (n > INT_MAX) return ld_err(ld, "%s: list too long", ctx);
    *out = (int)n;
    return 0;
}

/* Converts a (resolved) attribute into out, named `name`; graphs are read into nested
 * Graphs of g. ctx is "node 'N' (OP)". */
static int read_attr(Ld *ld, Graph *g, const Scope *sc, const char *ctx, const char *name,
                     const Onnx__AttributeProto *a, Attr *out)
{
    Pool *p = ld->p;
    char *actx = pool_fmt(p, "%s: attribute '%s'", ctx, name);
    out->name = pool_strdup(p, name);
    switch (attr_type(a)) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        out->kind = A_FLOAT;
        out->f = a->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        out->kind = A_INT;
        out->i = a->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        out->kind = A_STRING;
        out->s = bytes_str(p, a->s);
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        out->kind = A_TENSOR;
        if (!a->t) return ld_err(ld, "%s: tensor attribute has no tensor", actx);
        out->t = pool_alloc(p, sizeof *out->t);
        out->t->name = out->name;
        out->t->id = -1;
        if (decode_tensor(ld, a->t, out->t, actx, ld->dir)) return -1;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
        out->kind = A_GRAPH;
        if (!a->g) return ld_err(ld, "%s: graph attribute has no graph", actx);
        if (!(out->g = read_graph(ld, a->g, g, sc))) return -1;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        out->kind = A_FLOATS;
        if (list_len(ld, actx, a->n_floats, &out->n)) return -1;
        out->floats = pool_dup(p, a->floats, a->n_floats * sizeof(float));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        out->kind = A_INTS;
        if (list_len(ld, actx, a->n_ints, &out->n)) return -1;
        out->ints = pool_dup(p, a->ints, a->n_ints * sizeof(int64_t));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        out->kind = A_STRINGS;
        if (list_len(ld, actx, a->n_strings, &out->n)) return -1;
        out->strings = pool_alloc(p, (a->n_strings + 1) * sizeof *out->strings);
        for (size_t i = 0; i < a->n_strings; i++) out->strings[i] = bytes_str(p, a->strings[i]);
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS:
        out->kind = A_TENSORS;
        if (list_len(ld, actx, a->n_tensors, &out->n)) return -1;
        out->t = pool_alloc(p, (a->n_tensors + 1) * sizeof *out->t);
        for (size_t i = 0; i < a->n_tensors; i++) {
            if (!a->tensors[i]) return ld_err(ld, "%s: empty tensor in list", actx);
            out->t[i].name = out->name;
            out->t[i].id = -1;
            if (decode_tensor(ld, a->tensors[i], &out->t[i],
                              pool_fmt(p, "%s[%zu]", actx, i), ld->dir))
                return -1;
        }
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
        out->kind = A_GRAPHS;
        if (list_len(ld, actx, a->n_graphs, &out->n)) return -1;
        out->graphs = pool_alloc(p, (a->n_graphs + 1) * sizeof *out->graphs);
        for (size_t i = 0; i < a->n_graphs; i++) {
            if (!a->graphs[i]) return ld_err(ld, "%s: empty graph in list", actx);
            if (!(out->graphs[i] = read_graph(ld, a->graphs[i], g, sc))) return -1;
        }
        break;
    default:
        /* sparse tensors and type protos: kept by name so an op can say it cannot use them */
        out->kind = A_OTHER;
        break;
    }
    return 0;
}

/* The node's attributes with ref_attr_name resolved against the enclosing function call.
 * A reference the caller does not satisfy (and that has no default) drops the attribute,
 * as ONNX specifies. */
static int resolve_attrs(Ld *ld, const Scope *sc, const char *ctx, const Onnx__NodeProto *np,
                         AttrBind **out, size_t *nout)
{
    AttrBind *r = pool_alloc(ld->p, (np->n_attribute + 1) * sizeof *r);
    size_t n = 0;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (!a) continue;
        if (!a->name || !*a->name) return ld_err(ld, "%s: an attribute has no name", ctx);
        for (size_t j = 0; j < n; j++)
            if (!strcmp(r[j].name, a->name))
                return ld_err(ld, "%s: attribute '%s' is given twice", ctx, a->name);
        if (a->ref_attr_name && *a->ref_attr_name) {
            if (!sc->in_function)
                return ld_err(ld, "%s: attribute '%s' refers to '%s' outside a function", ctx,
                              a->name, a->ref_attr_name);
            const Onnx__AttributeProto *val = NULL;
            for (size_t j = 0; j < sc->nenv; j++)
                if (!strcmp(sc->env[j].name, a->ref_attr_name)) val = sc->env[j].val;
            if (!val) continue;
            r[n].name = a->name;
            r[n].val = val;
            n++;
        } else {
            r[n].name = a->name;
            r[n].val = a;
            n++;
        }
    }
    *out = r;
    *nout = n;
    return 0;
}

/* ---- nodes ---- */

static int read_nodes(Ld *ld, Graph *g, const Scope *sc, Onnx__NodeProto *const *nodes,
                      size_t count);

/* A Constant node becomes a weight named by its output. */
static int read_constant(Ld *ld, Graph *g, const Scope *sc, const char *ctx,
                         const Onnx__NodeProto *np, const AttrBind *attrs, size_t nattrs)
{
    if (np->n_output != 1 || !np->output[0] || !*np->output[0])
        return ld_err(ld, "%s: a Constant has exactly one named output", ctx);
    if (nattrs != 1)
        return ld_err(ld, "%s: a Constant needs exactly one value attribute, found %zu", ctx,
                      nattrs);
    Value *v = ir_value(g, map_name(ld, sc, np->output[0]));
    if (v->kind != V_TEMP)
        return ld_err(ld, "%s: output '%s' is already an input, initializer or constant", ctx,
                      v->name);
    const char *an = attrs[0].name;
    const Onnx__AttributeProto *a = attrs[0].val;
    char *actx = pool_fmt(ld->p, "%s: attribute '%s'", ctx, an);
    Type t = {DT_F32, 0, {0}};
    if (!strcmp(an, "value")) {
        if (!a->t) return ld_err(ld, "%s: has no tensor", actx);
        return decode_tensor(ld, a->t, v, actx, ld->dir);
    } else if (!strcmp(an, "value_float")) {
        v->data = pool_dup(ld->p, &a->f, sizeof a->f);
    } else if (!strcmp(an, "value_floats")) {
        t.rank = 1;
        t.dims[0] = (int64_t)a->n_floats;
        v->data = pool_dup(ld->p, a->floats, a->n_floats * sizeof(float));
    } else if (!strcmp(an, "value_int")) {
        t.dt = DT_I64;
        v->data = pool_dup(ld->p, &a->i, sizeof a->i);
    } else if (!strcmp(an, "value_ints")) {
        t.dt = DT_I64;
        t.rank = 1;
        t.dims[0] = (int64_t)a->n_ints;
        v->data = pool_dup(ld->p, a->ints, a->n_ints * sizeof(int64_t));
    } else if (!strcmp(an, "value_string") || !strcmp(an, "value_strings")) {
        t.dt = DT_STRING;
        size_t ns = 1;
        if (an[12] == 's') {
            t.rank = 1;
            t.dims[0] = (int64_t)a->n_strings;
            ns = a->n_strings;
        }
        const char **s = pool_alloc(ld->p, sizeof *s * (ns + 1));
        for (size_t i = 0; i < ns; i++) {
            ProtobufCBinaryData b = an[12] == 's' ? a->strings[i] : a->s;
            if (b.len && memchr(b.data, 0, b.len))
                return ld_err(ld, "%s: a string holds a NUL byte, which onnxcc's string cells "
                              "cannot hold", actx);
            s[i] = bytes_str(ld->p, b);
        }
        v->data = s;
    } else if (!strcmp(an, "sparse_value")) {
        return ld_err(ld, "%s: sparse constants are not supported", actx);
    } else {
        return ld_err(ld, "%s: not a Constant attribute", actx);
    }
    v->kind = V_WEIGHT;
    v->has_type = 1;
    v->type = t;
    return 0;
}

static int inline_call(Ld *ld, Graph *g, const Scope *sc, const char *ctx, const char *name,
                       const Onnx__NodeProto *np, const Onnx__FunctionProto *fn,
                       const AttrBind *attrs, size_t nattrs)
{
    if (sc->depth >= MAX_CALL_DEPTH)
        return ld_err(ld, "%s: function calls nest deeper than %d (a recursive function?)", ctx,
                      MAX_CALL_DEPTH);
    if (np->n_input > fn->n_input || np->n_output > fn->n_output)
        return ld_err(ld, "%s: function '%s' takes %zu inputs and %zu outputs; the call has %zu "
                      "and %zu", ctx, fn->name, fn->n_input, fn->n_output, np->n_input,
                      np->n_output);
    Pool *p = ld->p;
    Scope c = {0};
    c.prefix = pool_fmt(p, "%s/", name);
    c.nin = fn->n_input;
    c.formal_in = fn->input;
    c.actual_in = pool_alloc(p, (fn->n_input + 1) * sizeof *c.actual_in);
    for (size_t i = 0; i < fn->n_input; i++) {
        if (!fn->input[i]) return ld_err(ld, "%s: function '%s' has an unnamed input", ctx, fn->name);
        c.actual_in[i] = i < np->n_input ? map_name(ld, sc, np->input[i]) : "";
    }
    c.nout = fn->n_output;
    c.formal_out = fn->output;
    c.actual_out = pool_alloc(p, (fn->n_output + 1) * sizeof *c.actual_out);
    for (size_t i = 0; i < fn->n_output; i++) {
        if (!fn->output[i])
            return ld_err(ld, "%s: function '%s' has an unnamed output", ctx, fn->name);
        c.actual_out[i] = i < np->n_output ? map_name(ld, sc, np->output[i]) : "";
    }
    /* the caller's attributes, then the function's defaults for those it leaves out */
    AttrBind *env = pool_alloc(p, (nattrs + fn->n_attribute_proto + 1) * sizeof *env);
    size_t nenv = 0;
    for (size_t i = 0; i < nattrs; i++) env[nenv++] = attrs[i];
    for (size_t i = 0; i < fn->n_attribute_proto; i++) {
        const Onnx__AttributeProto *d = fn->attribute_proto[i];
        if (!d || !d->name) continue;
        int given = 0;
        for (size_t j = 0; j < nattrs; j++) given |= !strcmp(attrs[j].name, d->name);
        if (!given) {
            env[nenv].name = d->name;
            env[nenv].val = d;
            nenv++;
        }
    }
    c.env = env;
    c.nenv = nenv;
    c.in_function = 1;
    c.opsets = fn->n_opset_import ? fn->opset_import : sc->opsets;
    c.nopsets = fn->n_opset_import ? fn->n_opset_import : sc->nopsets;
    c.depth = sc->depth + 1;
    ld->inlined += (int64_t)fn->n_node;
    if (ld->inlined > MAX_INLINED_NODES)
        return ld_err(ld, "%s: inlining the model's local functions would make more than %d "
                      "nodes (function '%s' and the calls inside it)", ctx, MAX_INLINED_NODES,
                      fn->name);
    if (read_nodes(ld, g, &c, fn->node, fn->n_node)) return -1;
    /* an output that is one of the function's inputs passed straight through: no body node
     * produces the caller's value, so an Identity does */
    for (size_t i = 0; i < fn->n_output && i < np->n_output; i++) {
        if (!*c.actual_out[i]) continue;
        for (size_t j = 0; j < fn->n_input; j++) {
            if (strcmp(fn->output[i], fn->input[j])) continue;
            if (!*c.actual_in[j])
                return ld_err(ld, "%s: function output '%s' is an omitted input", ctx,
                              fn->output[i]);
            Node *n = ir_node(g, pool_fmt(p, "%s%s_passthrough", c.prefix, fn->output[i]),
                              "Identity", "");
            n->nin = n->nout = 1;
            n->in = pool_alloc(p, sizeof *n->in);
            n->out = pool_alloc(p, sizeof *n->out);
            n->in[0] = ir_value(g, c.actual_in[j]);
            n->out[0] = ir_value(g, c.actual_out[i]);
            break;
        }
    }
    return 0;
}

static int read_nodes(Ld *ld, Graph *g, const Scope *sc, Onnx__NodeProto *const *nodes,
                      size_t count)
{
    Pool *p = ld->p;
    for (size_t k = 0; k < count; k++) {
        const Onnx__NodeProto *np = nodes[k];
        if (!np) continue;
        if (!np->op_type || !*np->op_type)
            return ld_err(ld, "node #%zu ('%s') has no op_type", k, str_or(np->name, ""));
        const char *domain = norm_domain(np->domain);
        const char *base = np->name && *np->name ? np->name
                                                  : pool_fmt(p, "%s_%zu", np->op_type, k);
        const char *name = sc->prefix ? pool_fmt(p, "%s%s", sc->prefix, base) : base;
        const char *ctx = pool_fmt(p, "node '%s' (%s)", name, np->op_type);

        AttrBind *attrs = NULL;
        size_t nattrs = 0;
        if (resolve_attrs(ld, sc, ctx, np, &attrs, &nattrs)) return -1;

        if (!*domain && !strcmp(np->op_type, "Constant")) {
            if (read_constant(ld, g, sc, ctx, np, attrs, nattrs)) return -1;
            continue;
        }
        const Onnx__FunctionProto *fn = find_function(ld, domain, np->op_type);
        if (fn) {
            if (inline_call(ld, g, sc, ctx, name, np, fn, attrs, nattrs)) return -1;
            continue;
        }

        Node *n = ir_node(g, name, np->op_type, domain);
        int found;
        n->opset = opset_of(sc, domain, &found);
        if (!found && !*domain) n->opset = g->opset;
        if (!*domain && n->opset > ONNXCC_MAX_OPSET)   /* a local function's own import */
            return ld_err(ld, "%s: opset %d of the default domain is newer than onnxcc knows "
                          "(up to %d)", ctx, n->opset, ONNXCC_MAX_OPSET);
        if (np->n_input > INT_MAX || np->n_output > INT_MAX || nattrs > INT_MAX)
            return ld_err(ld, "%s: too many inputs, outputs or attributes", ctx);
        n->nin = (int)np->n_input;
        n->in = pool_alloc(p, (np->n_input + 1) * sizeof *n->in);
        for (size_t i = 0; i < np->n_input; i++) {
            const char *nm = map_name(ld, sc, np->input[i]);
            n->in[i] = *nm ? ir_value(g, nm) : NULL;
        }
        n->nout = (int)np->n_output;
        n->out = pool_alloc(p, (np->n_output + 1) * sizeof *n->out);
        for (size_t i = 0; i < np->n_output; i++) {
            const char *nm = map_name(ld, sc, np->output[i]);
            n->out[i] = *nm ? ir_value(g, nm) : NULL;
        }
        n->nattrs = (int)nattrs;
        n->attrs = pool_alloc(p, (nattrs + 1) * sizeof *n->attrs);
        for (size_t i = 0; i < nattrs; i++)
            if (read_attr(ld, g, sc, ctx, attrs[i].name, attrs[i].val, &n->attrs[i])) return -1;
    }
    return 0;
}

/* ---- graphs ---- */

static const char *type_case_name(int c)
{
    switch (c) {
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "a sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "a map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "an optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "a sparse tensor";
    default: return "a value of unknown type";
    }
}

/* Declared type of a graph input. Unknown dims are -1 with a DimSym; an absent shape
 * leaves rank -1 (the model-level check below turns both into messages). */
static int read_tensor_type(Ld *ld, Value *v, const Onnx__TypeProto__Tensor *tt, int nested);

/* A sequence's or optional's element type: a tensor, or (optional only) a sequence of
 * tensors. Sets v->seq for a sequence; the element tensor type goes to v->type. */
static int read_elem_type(Ld *ld, Value *v, const Onnx__TypeProto *et, int allow_seq,
                          const char *what)
{
    if (et && et->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && allow_seq) {
        v->seq = 1;
        v->nelems = -1;
        return read_elem_type(ld, v, et->sequence_type ? et->sequence_type->elem_type : NULL,
                              0, "a sequence");
    }
    if (!et || et->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return ld_err(ld, "input '%s' is %s of %s; only tensor elements are supported",
                      v->name, what, et ? type_case_name(et->value_case) : "no declared type");
    return read_tensor_type(ld, v, et->tensor_type, 0);
}

static int read_input_type(Ld *ld, Value *v, const Onnx__ValueInfoProto *vi, int nested)
{
    const Onnx__TypeProto *tp = vi->type;
    v->type.rank = -1;
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) {
        if (nested) return 0;
        return ld_err(ld, "input '%s' has no type", v->name);
    }
    if (!nested && tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) {
        v->decl = DECL_SEQ;
        v->seq = 1;
        v->nelems = -1;
        return read_elem_type(ld, v, tp->sequence_type ? tp->sequence_type->elem_type : NULL,
                              0, "a sequence");
    }
    if (!nested && tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) {
        if (read_elem_type(ld, v, tp->optional_type ? tp->optional_type->elem_type : NULL, 1,
                           "an optional"))
            return -1;
        v->decl = v->seq ? DECL_OPT_SEQ : DECL_OPT_TENSOR;
        return 0;
    }
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        if (nested) return 0;
        return ld_err(ld, "input '%s' is %s; only tensors, sequences of tensors and optionals "
                      "are supported", v->name, type_case_name(tp->value_case));
    }
    return read_tensor_type(ld, v, tp->tensor_type, nested);
}

static int read_tensor_type(Ld *ld, Value *v, const Onnx__TypeProto__Tensor *tt, int nested)
{
    int dt = tt && tt->has_elem_type ? tt->elem_type : 0;
    if (!known_dtype(dt)) {
        if (nested && !dt) return 0;
        return ld_err(ld, "input '%s' has unsupported element type %d", v->name, dt);
    }
    v->type.dt = (DType)dt;
    if (!tt->shape) return 0;
    if (tt->shape->n_dim > KIR_MAX_RANK)
        return ld_err(ld, "input '%s' has rank %zu; at most %d is supported", v->name,
                      tt->shape->n_dim, KIR_MAX_RANK);
    v->type.rank = (int)tt->shape->n_dim;
    for (int i = 0; i < v->type.rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            d->dim_value >= 0) {
            v->type.dims[i] = d->dim_value;
            continue;
        }
        v->type.dims[i] = -1;
        if (!v->syms) v->syms = pool_alloc(ld->p, KIR_MAX_RANK * sizeof *v->syms);
        v->syms[v->nsyms].axis = i;
        v->syms[v->nsyms].name =
            d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                    d->dim_param && *d->dim_param
                ? pool_strdup(ld->p, d->dim_param)
                : NULL;
        v->nsyms++;
    }
    return 0;
}

/* Reads gp into g: weights, inputs, nodes, outputs. */
static int fill_graph(Ld *ld, Graph *g, const Onnx__GraphProto *gp, const Scope *sc)
{
    Pool *p = ld->p;
    int nested = g->parent != NULL;
    g->name = pool_strdup(p, str_or(gp->name, ""));
    if (gp->n_input > INT_MAX || gp->n_output > INT_MAX)
        return ld_err(ld, "too many graph inputs or outputs");
    g->inputs = pool_alloc(p, (gp->n_input + 1) * sizeof *g->inputs);
    g->outputs = pool_alloc(p, (gp->n_output + 1) * sizeof *g->outputs);
    if (gp->n_sparse_initializer)
        return ld_err(ld, "sparse initializers are not supported");
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        if (!t || !t->name || !*t->name)
            return ld_err(ld, "initializer #%zu has no name", i);
        Value *v = ir_value(g, map_name(ld, sc, t->name));
        if (v->kind == V_WEIGHT)
            return ld_err(ld, "initializer '%s' is defined twice", v->name);
        if (decode_tensor(ld, t, v, pool_fmt(p, "initializer '%s'", v->name), ld->dir))
            return -1;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi || !vi->name || !*vi->name) return ld_err(ld, "graph input #%zu has no name", i);
        Value *v = ir_value(g, map_name(ld, sc, vi->name));
        /* an initializer listed as an input is a weight with a default: a weight here */
        if (v->kind == V_WEIGHT) continue;
        if (v->kind == V_INPUT) return ld_err(ld, "graph input '%s' is listed twice", v->name);
        v->kind = V_INPUT;
        if (read_input_type(ld, v, vi, nested)) return -1;
        if (nested) {
            v->has_type = v->type.rank >= 0 && v->nsyms == 0 && v->type.dt;
            if (v->type.rank < 0) v->type.rank = 0;
        }
        g->inputs[g->ninputs++] = v;
    }
    if (read_nodes(ld, g, sc, gp->node, gp->n_node)) return -1;
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi || !vi->name || !*vi->name)
            return ld_err(ld, "graph output #%zu has no name", i);
        Value *v = ir_value(g, map_name(ld, sc, vi->name));
        v->is_output = 1;
        const Onnx__TypeProto *tp = vi->type;
        if (!nested && tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE)
            v->decl = DECL_SEQ;
        if (!nested && tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)
            v->decl = tp->optional_type && tp->optional_type->elem_type &&
                              tp->optional_type->elem_type->value_case ==
                                  ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE
                          ? DECL_OPT_SEQ
                          : DECL_OPT_TENSOR;
        g->outputs[g->noutputs++] = v;
    }
    return 0;
}

static Graph *read_graph(Ld *ld, const Onnx__GraphProto *gp, Graph *parent, const Scope *sc)
{
    Graph *g = ir_graph_new(ld->p, ld->file);
    g->parent = parent;
    g->opset = parent->opset;
    g->ir_version = parent->ir_version;
    return fill_graph(ld, g, gp, sc) ? NULL : g;
}

/* ---- --shape binding ---- */

static char *dims_hint(Pool *p, const Type *t)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, ""); /* a scalar input still gets a (empty) string */
    for (int i = 0; i < t->rank; i++)
        sb_printf(&sb, "%s%lld", i ? "x" : "", (long long)(t->dims[i] < 0 ? 1 : t->dims[i]));
    char *r = pool_strdup(p, sb.buf);
    sb_free(&sb);
    return r;
}

/* How a shape binding is named in a message: the flag the user wrote, or, under check, the
 * data set's tensor (no --shape was given, so none should be blamed). */
static char *binding(Pool *p, const LoadOptions *opt, const char *nm, const Type *st)
{
    if (opt && opt->shapes_from_data)
        return pool_fmt(p, "the data set's '%s' has shape [%s]", nm, dims_hint(p, st));
    return pool_fmt(p, "--shape %s=%s", nm, dims_hint(p, st));
}

static const char *sym_at(const Value *v, int axis)
{
    for (int i = 0; i < v->nsyms; i++)
        if (v->syms[i].axis == axis) return v->syms[i].name;
    return NULL;
}

/* "X[K]" or "X[]" where X is a sequence input of g: its input index, and K (-1 for "X[]",
 * the binding of an empty sequence). 0 when nm is no such name. */
static int seq_binding(const Graph *g, const char *nm, int *input, int64_t *index)
{
    const char *br = strchr(nm, '[');
    size_t len = strlen(nm);
    if (!br || len < 2 || nm[len - 1] != ']') return 0;
    for (int k = 0; k < g->ninputs; k++) {
        const Value *v = g->inputs[k];
        if (!v->seq || strlen(v->name) != (size_t)(br - nm) || strncmp(v->name, nm, br - nm))
            continue;
        *input = k;
        *index = -1;
        if (br[1] == ']') return 1;
        char *end = NULL;
        long long i = strtoll(br + 1, &end, 10);
        if (end == nm + len - 1 && i >= 0 && i < 65536) {
            *index = i;
            return 1;
        }
        return 0;
    }
    return 0;
}

/* Sequence inputs get their elements from bindings named "X[0]", "X[1]" ... (each a
 * tensor input of NAME_run of its own; "X[]" binds an empty sequence); an optional input
 * named in none_names is bound as absent. Both are facts of the compiled API. */
static int bind_lists(Ld *ld, Graph *g, const LoadOptions *opt)
{
    Pool *p = ld->p;
    for (int i = 0; opt && i < opt->nnone; i++) {
        int k = 0;
        while (k < g->ninputs && strcmp(g->inputs[k]->name, opt->none_names[i])) k++;
        if (k == g->ninputs || g->inputs[k]->decl < DECL_OPT_TENSOR)
            return ld_err(ld, "--none %s: '%s' is not an optional graph input",
                          opt->none_names[i], opt->none_names[i]);
        Value *v = g->inputs[k];
        v->none = 1;
        v->seq = 0;
        v->nelems = 0;
    }
    for (int i = 0; opt && i < opt->nshapes; i++) {
        const char *nm = opt->shape_names[i];
        const Type *st = &opt->shape_types[i];
        int k;
        int64_t idx;
        if (!seq_binding(g, nm, &k, &idx)) continue;
        Value *v = g->inputs[k];
        if (v->nelems < 0) v->nelems = 0;
        if (idx < 0) continue;
        if (idx > v->nelems)
            return ld_err(ld, "--shape %s: element %lld of sequence '%s' is bound before "
                          "element %d", nm, (long long)idx, v->name, v->nelems);
        if (idx == v->nelems) {
            Value **e = pool_alloc(p, sizeof *e * (size_t)(v->nelems + 1));
            if (v->nelems) memcpy(e, v->elems, sizeof *e * (size_t)v->nelems);
            v->elems = e;
            Value *ev = ir_value(g, pool_fmt(p, "%s[%lld]", v->name, (long long)idx));
            ev->kind = V_INPUT;
            ev->type.dt = v->type.dt;
            v->elems[v->nelems++] = ev;
        }
        Value *ev = v->elems[idx];
        if (st->rank < 0 || st->rank > KIR_MAX_RANK)
            return ld_err(ld, "--shape %s: rank %d is not supported", nm, st->rank);
        if (v->type.rank >= 0 && v->type.rank != st->rank)
            return ld_err(ld, "%s: rank %d, but the model declares the elements of "
                          "%s with rank %d", binding(p, opt, nm, st), st->rank, v->name,
                          v->type.rank);
        for (int d = 0; d < st->rank; d++)
            if (st->dims[d] < 0 ||
                (v->type.rank >= 0 && v->type.dims[d] >= 0 && v->type.dims[d] != st->dims[d]))
                return ld_err(ld, "%s: axis %d does not match the declared element "
                              "shape of '%s'", binding(p, opt, nm, st), d, v->name);
        ev->type.rank = st->rank;
        memcpy(ev->type.dims, st->dims, sizeof ev->type.dims);
        ev->has_type = 1;
    }
    return 0;
}

static int bind_shapes(Ld *ld, Graph *g, const LoadOptions *opt)
{
    Pool *p = ld->p;
    char *bound = pool_alloc(p, (size_t)g->ninputs + 1);
    if (bind_lists(ld, g, opt)) return -1;
    for (int i = 0; opt && i < opt->nshapes; i++) {
        const char *nm = opt->shape_names[i];
        int sk;
        int64_t si;
        if (seq_binding(g, nm, &sk, &si)) continue;
        const Type *st = &opt->shape_types[i];
        int frozen = 0;   /* the value's own shape wins over a binding (check binds all) */
        for (int f = 0; f < opt->nfreeze; f++) frozen |= !strcmp(opt->freeze[f].name, nm);
        if (frozen) continue;
        int k = 0;
        while (k < g->ninputs && strcmp(g->inputs[k]->name, nm)) k++;
        if (k == g->ninputs) {
            Value *w = ir_find(g, nm);
            if (w && w->kind == V_WEIGHT)
                return ld_err(ld, "--shape %s: '%s' is an initializer, not a graph input", nm, nm);
            StrBuf sb;
            sb_init(&sb);
            for (int j = 0; j < g->ninputs; j++)
                sb_printf(&sb, "%s'%s'", j ? ", " : "", g->inputs[j]->name);
            ld_err(ld, "--shape %s: '%s' is not a graph input (the inputs are: %s)", nm, nm,
                   sb.buf ? sb.buf : "none");
            sb_free(&sb);
            return -1;
        }
        Value *v = g->inputs[k];
        if (v->seq)
            return ld_err(ld, "--shape %s: '%s' is a sequence: bind its elements, '%s[0]=DIMS' "
                          "'%s[1]=DIMS' ... ('%s[]=1' for an empty one)", nm, nm, nm, nm, nm);
        if (v->none) continue;
        if (st->rank < 0 || st->rank > KIR_MAX_RANK)
            return ld_err(ld, "--shape %s: rank %d is not supported", nm, st->rank);
        if (v->type.rank >= 0 && v->type.rank != st->rank)
            return ld_err(ld, "%s: rank %d, but the model declares %s with rank %d",
                          binding(p, opt, nm, st), st->rank, nm, v->type.rank);
        for (int d = 0; d < st->rank; d++) {
            if (st->dims[d] < 0)
                return ld_err(ld, "--shape %s: dimension %d is negative", nm, d);
            if (v->type.rank >= 0 && v->type.dims[d] >= 0 && v->type.dims[d] != st->dims[d])
                return ld_err(ld, "%s: axis %d is %lld, but the model declares %lld",
                              binding(p, opt, nm, st), d, (long long)st->dims[d],
                              (long long)v->type.dims[d]);
        }
        v->type.rank = st->rank;
        memcpy(v->type.dims, st->dims, sizeof v->type.dims);
        bound[k] = 1;
    }

    /* a symbol bound through one input binds the same symbol in the others ("N" is the
     * batch of every input) */
    for (int k = 0; k < g->ninputs; k++) {
        Value *v = g->inputs[k];
        for (int s = 0; s < v->nsyms; s++) {
            if (v->type.rank < 0 || v->type.dims[v->syms[s].axis] >= 0 || !v->syms[s].name)
                continue;
            for (int j = 0; j < g->ninputs; j++) {
                Value *w = g->inputs[j];
                if (!bound[j]) continue;
                const char *ws = NULL;
                int axis = -1;
                for (int t = 0; t < w->nsyms && !ws; t++)
                    if (w->syms[t].name && !strcmp(w->syms[t].name, v->syms[s].name)) {
                        ws = w->syms[t].name;
                        axis = w->syms[t].axis;
                    }
                if (ws && axis < w->type.rank) {
                    v->type.dims[v->syms[s].axis] = w->type.dims[axis];
                    break;
                }
            }
        }
    }

    for (int k = 0; k < g->ninputs; k++) {
        Value *v = g->inputs[k];
        if (value_is_list(v)) continue;   /* elements checked above; unbound: at its use */
        int full = v->type.rank >= 0;
        for (int d = 0; d < v->type.rank; d++) full &= v->type.dims[d] >= 0;
        if (!full && opt && opt->unbound_ok) continue;
        int64_t bytes = elem_bytes(v->type.dt) ? elem_bytes(v->type.dt) : 1;
        for (int d = 0; d < v->type.rank; d++) {
            if (v->type.dims[d] <= 0) continue;
            if (bytes > MAX_TENSOR_BYTES / v->type.dims[d])
                return ld_err(ld, "input '%s' is larger than onnxcc's limit of 2^40 bytes per "
                              "tensor", v->name);
            bytes *= v->type.dims[d];
        }
        if (v->type.rank < 0)
            return ld_err(ld, "input '%s' has no declared shape: pass --shape %s=DIMS (e.g. "
                          "--shape %s=1x3x224x224)", v->name, v->name, v->name);
        for (int d = 0; d < v->type.rank; d++) {
            if (v->type.dims[d] >= 0) continue;
            const char *sym = sym_at(v, d);
            if (sym)
                return ld_err(ld, "input '%s' has a symbolic dimension '%s' (axis %d): pass "
                              "--shape %s=%s", v->name, sym, d, v->name, dims_hint(p, &v->type));
            return ld_err(ld, "input '%s' has an unknown dimension (axis %d): pass --shape %s=%s",
                          v->name, d, v->name, dims_hint(p, &v->type));
        }
        v->has_type = 1;
    }
    return 0;
}

/* ---- entry points ---- */

static int read_whole(Ld *ld, const char *path, unsigned char **data, size_t *len)
{
    if (read_file(path, data, len)) {
        if (errno == EISDIR) return ld_err(ld, "is a directory, not an ONNX model file");
        if (errno == EINVAL) return ld_err(ld, "is not a regular file");
        return ld_err(ld, "cannot read: %s", strerror(errno));
    }
    return 0;
}

/* ---- nesting depth, before protobuf-c unpacks (it recurses once per nested message, so
 * a small file nested thousands deep would overflow the stack) ---- */

#define PB_MAX_DEPTH 100   /* message levels: about 30 nested subgraphs */

static int pb_varint(const unsigned char *b, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= len) return -1;
        unsigned char c = b[(*i)++];
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* The deepest message nesting in b as descriptor d reads it (depth counts d itself), or
 * more than PB_MAX_DEPTH as soon as that is seen; malformed data returns what was seen so
 * far and is left to the unpacker to reject. The walk recurses at most PB_MAX_DEPTH + 1. */
static int pb_depth(const unsigned char *b, size_t len, const ProtobufCMessageDescriptor *d,
                    int depth)
{
    int deepest = depth;
    size_t i = 0;
    while (i < len && deepest <= PB_MAX_DEPTH) {
        uint64_t key, v;
        if (pb_varint(b, len, &i, &key)) break;
        switch (key & 7) {
        case 0:
            if (pb_varint(b, len, &i, &v)) return deepest;
            break;
        case 1: i += 8; break;
        case 5: i += 4; break;
        case 2: {
            if (pb_varint(b, len, &i, &v) || v > len - i) return deepest;
            const ProtobufCFieldDescriptor *f =
                d ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int r = pb_depth(b + i, (size_t)v, f->descriptor, depth + 1);
                if (r > deepest) deepest = r;
            }
            i += (size_t)v;
            break;
        }
        default: return deepest;   /* groups (3, 4) and invalid wire types */
        }
    }
    return deepest;
}

/* ---- big raw_data left where it is in the file ----
 * protobuf-c copies every bytes field out of the buffer it unpacks, so weights inside
 * model.onnx (raw_data) would be held twice at once: the file's bytes and the copies
 * (ResNet-50: 2 x 102 MB). Before unpacking, the top-level graph's initializers whose
 * raw_data has WEIGHTS_MAP_BYTES or more are cut out of a compact copy of the message
 * (every other byte copied as it is, the enclosing lengths rewritten) and their place
 * in the file is remembered; after unpacking, each such tensor's raw_data points into
 * the file's mapping, which the raw path spills and releases page by page as before.
 * Anything unexpected (malformed data, other counts) falls back to unpacking the file's
 * own bytes, which rejects what is malformed. */
typedef struct RawRef {
    size_t init;          /* index among the graph's initializers */
    size_t off, len;      /* the bytes in the file */
} RawRef;

typedef struct OutBuf {
    unsigned char *b;
    size_t len, cap;
    int bad;
} OutBuf;

static void ob_put(OutBuf *o, const void *d, size_t n)
{
    if (o->bad || !n) return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n) cap *= 2;
        unsigned char *nb = realloc(o->b, cap);
        if (!nb) {
            o->bad = 1;
            return;
        }
        o->b = nb;
        o->cap = cap;
    }
    memcpy(o->b + o->len, d, n);
    o->len += n;
}

static void ob_varint(OutBuf *o, uint64_t v)
{
    unsigned char t[10];
    int n = 0;
    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) t[n] |= 0x80;
        n++;
    } while (v);
    ob_put(o, t, (size_t)n);
}

typedef struct Split {
    const unsigned char *base;   /* the whole file */
    RawRef *refs;
    size_t nrefs, caprefs, ninit;
    int found;
} Split;

enum { PB_LEN = 2 };
#define PB_KEY(field, wt) (((uint64_t)(field) << 3) | (wt))

/* Copies message b[0..len) into o; level 0 ModelProto, 1 GraphProto, 2 TensorProto.
 * Returns -1 on malformed data. */
static int split_msg(Split *s, const unsigned char *b, size_t len, int level, OutBuf *o)
{
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        uint64_t key, v;
        if (pb_varint(b, len, &i, &key)) return -1;
        switch (key & 7) {
        case 0: if (pb_varint(b, len, &i, &v)) return -1; break;
        case 1: if (len - i < 8) return -1; i += 8; break;
        case 5: if (len - i < 4) return -1; i += 4; break;
        case PB_LEN: {
            if (pb_varint(b, len, &i, &v) || v > len - i) return -1;
            const unsigned char *d = b + i;
            i += (size_t)v;
            int sub = (level == 0 && key == PB_KEY(7, PB_LEN)) ||   /* ModelProto.graph */
                      (level == 1 && key == PB_KEY(5, PB_LEN));     /* GraphProto.initializer */
            if (level == 2 && key == PB_KEY(9, PB_LEN) && v >= WEIGHTS_MAP_BYTES) {
                /* TensorProto.raw_data: left in the file */
                if (s->nrefs == s->caprefs) {
                    size_t cap = s->caprefs ? 2 * s->caprefs : 16;
                    RawRef *r = realloc(s->refs, sizeof *r * cap);
                    if (!r) return -1;
                    s->refs = r;
                    s->caprefs = cap;
                }
                s->refs[s->nrefs++] = (RawRef){ s->ninit, (size_t)(d - s->base), (size_t)v };
                continue;
            }
            if (sub) {
                OutBuf m = { 0 };
                int rc = split_msg(s, d, (size_t)v, level + 1, &m);
                if (level == 1) s->ninit++;
                if (!rc && !m.bad) {
                    ob_varint(o, key);
                    ob_varint(o, m.len);
                    ob_put(o, m.b, m.len);
                }
                free(m.b);
                if (rc || m.bad) return -1;
                continue;
            }
            break;
        }
        default: return -1;
        }
        ob_put(o, b + start, i - start);
    }
    return 0;
}

/* The compact copy of model file b (malloc'd in *out) and the raw_data it left out, or
 * 0 when nothing was left out (then unpack b itself); -1: use b. */
static int split_model(const unsigned char *b, size_t len, OutBuf *out, Split *s)
{
    memset(s, 0, sizeof *s);
    s->base = b;
    memset(out, 0, sizeof *out);
    if (split_msg(s, b, len, 0, out) || out->bad || !s->nrefs) {
        free(out->b);
        free(s->refs);
        memset(out, 0, sizeof *out);
        memset(s, 0, sizeof *s);
        return -1;
    }
    return 0;
}

/* Undoes what split_patch did to the first n cut-out tensors (before protobuf-c frees
 * what it allocated, or when patching stops part way). */
static void split_unpatch(Onnx__ModelProto *m, const Split *s, size_t n)
{
    for (size_t i = 0; i < n && m->graph; i++) {
        Onnx__TensorProto *t = m->graph->initializer[s->refs[i].init];
        t->has_raw_data = 0;
        t->raw_data.data = NULL;
        t->raw_data.len = 0;
    }
}

/* Points each cut-out raw_data into the file b; 0 if the unpacked model does not match
 * what the walk saw (then unpack the file itself). */
static int split_patch(Onnx__ModelProto *m, const Split *s, const unsigned char *b)
{
    if (!m->graph || m->graph->n_initializer != s->ninit) return 0;
    for (size_t i = 0; i < s->nrefs; i++) {
        Onnx__TensorProto *t = m->graph->initializer[s->refs[i].init];
        /* a second raw_data field in one tensor: protobuf's last-wins is not ours to redo */
        if (!t || t->has_raw_data) {
            split_unpatch(m, s, i);
            return 0;
        }
        t->has_raw_data = 1;
        t->raw_data.data = (uint8_t *)(b + s->refs[i].off);
        t->raw_data.len = s->refs[i].len;
    }
    return 1;
}

/* A model file of SPLIT_MAP_BYTES or more is mapped (its raw_data pages are then read
 * once, spilled, and given back), a smaller one read into memory. */
#define SPLIT_MAP_BYTES (4 * 1024 * 1024)

static int read_model_file(Ld *ld, const char *path, unsigned char **data, size_t *len,
                           int *mapped)
{
    *mapped = 0;
    FILE *f = host_big_endian() ? NULL : open_regular(path, 0);
    if (f) {
        off_t size = -1;
        if (fseeko(f, 0, SEEK_END) == 0) size = ftello(f);
        if (size >= SPLIT_MAP_BYTES && (uint64_t)size <= SIZE_MAX) {
            unsigned char *b = weights_map(fileno(f), 0, (size_t)size);
            if (b) {
                fclose(f);
                *data = b;
                *len = (size_t)size;
                *mapped = 1;
                return 0;
            }
        }
        fclose(f);
    }
    return read_whole(ld, path, data, len);
}

Graph *load_model(Pool *p, const char *path, const LoadOptions *opt, char **err)
{
    Ld ld = {p, pool_strdup(p, path ? path : "<model>"), NULL, NULL, NULL, 0};
    ld.dir = dir_of(p, ld.file);
    Graph *g = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    Onnx__ModelProto *m = NULL;
    Split sp = { 0 };
    int mapped = 0;
    if (read_model_file(&ld, ld.file, &buf, &len, &mapped)) goto out;
    if (pb_depth(buf, len, &onnx__model_proto__descriptor, 1) > PB_MAX_DEPTH) {
        ld_err(&ld, "messages nested more than %d deep (subgraphs or types): refused before "
               "parsing", PB_MAX_DEPTH);
        goto out;
    }
    OutBuf cb;
    if (split_model(buf, len, &cb, &sp) == 0) {
        m = onnx__model_proto__unpack(NULL, cb.len, cb.b);
        free(cb.b);
        if (m && !split_patch(m, &sp, buf)) {
            onnx__model_proto__free_unpacked(m, NULL);
            m = NULL;
        }
        if (!m) {   /* what the compact copy could not give, the file's own bytes decide */
            free(sp.refs);
            memset(&sp, 0, sizeof sp);
        }
    }
    if (!m) m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) {
        ld_err(&ld, "not an ONNX model (protobuf parse failed; truncated or not a model file)");
        goto out;
    }
    if (!m->graph) {
        ld_err(&ld, "not an ONNX model (no graph)");
        goto out;
    }
    ld.m = m;
    g = ir_graph_new(p, ld.file);
    g->ir_version = m->has_ir_version && m->ir_version < INT_MAX ? (int)m->ir_version : 0;

    Scope sc = {0};
    sc.opsets = m->opset_import;
    sc.nopsets = m->n_opset_import;
    int found;
    g->opset = opset_of(&sc, "", &found);
    /* IR version < 3 models predate opset_import: they are opset 1 */
    if (!found) g->opset = 1;
    /* an operator set newer than onnxcc knows may have changed what an operator means */
    if (g->opset > ONNXCC_MAX_OPSET) {
        ld_err(&ld, "opset %d of the default domain is newer than onnxcc knows (up to %d)",
               g->opset, ONNXCC_MAX_OPSET);
        goto out;
    }
    if (opset_of(&sc, "ai.onnx.ml", &found) > ONNXCC_MAX_OPSET_ML) {
        ld_err(&ld, "opset %d of ai.onnx.ml is newer than onnxcc knows (up to %d)",
               opset_of(&sc, "ai.onnx.ml", NULL), ONNXCC_MAX_OPSET_ML);
        goto out;
    }

    if (fill_graph(&ld, g, m->graph, &sc)) goto out;
    /* frozen inputs first: they leave g->inputs, so their symbolic dims need no --shape */
    if (opt && opt->nfreeze) {
        char *fmsg = NULL;
        if (freeze_apply(g, opt->freeze, opt->nfreeze, &fmsg)) {
            ld.err = fmsg;
            goto out;
        }
    }
    if (bind_shapes(&ld, g, opt)) goto out;
    if (ir_finish(g)) ld.err = g->err;

out:
    if (m) {
        split_unpatch(m, &sp, sp.nrefs);
        onnx__model_proto__free_unpacked(m, NULL);
    }
    free(sp.refs);
    if (!mapped) free(buf);
    if (ld.err) {
        if (err) *err = ld.err;
        return NULL;
    }
    return g;
}

Value *load_tensor_file(Pool *p, const char *path, char **err)
{
    Ld ld = {p, pool_strdup(p, path ? path : "<tensor>"), NULL, NULL, NULL, 0};
    ld.dir = dir_of(p, ld.file);
    unsigned char *buf = NULL;
    size_t len = 0;
    Value *v = NULL;
    Onnx__TensorProto *t = NULL;
    if (read_whole(&ld, ld.file, &buf, &len)) goto out;
    if (len == 0) {
        ld_err(&ld, "is empty, not a serialized ONNX TensorProto");
        goto out;
    }
    t = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!t) {
        ld_err(&ld, "not a serialized ONNX TensorProto (protobuf parse failed)");
        goto out;
    }
    v = pool_alloc(p, sizeof *v);
    v->name = pool_strdup(p, str_or(t->name, ""));
    v->id = -1;
    const char *ctx = *v->name ? pool_fmt(p, "tensor '%s'", v->name) : "tensor";
    if (decode_tensor(&ld, t, v, ctx, ld.dir)) v = NULL;
out:
    if (t) onnx__tensor_proto__free_unpacked(t, NULL);
    free(buf);
    if (ld.err) {
        if (err) *err = ld.err;
        return NULL;
    }
    return v;
}

/* ---- test data of sequences and optionals ----
 * SequenceProto and OptionalProto live in onnx-data.proto, which is not vendored: their few
 * fields are read straight off the wire format, each tensor through the TensorProto path. */

static int wire_varint(const unsigned char *b, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64 && *pos < len; s += 7) {
        unsigned char c = b[(*pos)++];
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* Calls back for every field of the message b[0..len): number, wire type, and for
 * length-delimited fields the bytes. -1 on a malformed message. */
typedef int (*WireField)(Ld *ld, DataFile *df, int field, int wt, const unsigned char *b,
                         size_t len);

static int wire_walk(Ld *ld, DataFile *df, const unsigned char *b, size_t len, WireField cb)
{
    size_t pos = 0;
    while (pos < len) {
        uint64_t key, v;
        if (wire_varint(b, len, &pos, &key)) return -1;
        int wt = (int)(key & 7), field = (int)(key >> 3);
        const unsigned char *body = NULL;
        size_t blen = 0;
        if (wt == 0) {
            if (wire_varint(b, len, &pos, &v)) return -1;
        } else if (wt == 1 || wt == 5) {
            if (len - pos < (size_t)(wt == 1 ? 8 : 4)) return -1;
            pos += wt == 1 ? 8 : 4;
        } else if (wt == 2) {
            if (wire_varint(b, len, &pos, &v) || v > len - pos) return -1;
            body = b + pos;
            blen = (size_t)v;
            pos += blen;
        } else {
            return -1;
        }
        if (cb(ld, df, field, wt, body, blen)) return -1;
    }
    return 0;
}

static int data_tensor(Ld *ld, DataFile *df, const unsigned char *b, size_t len)
{
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, b);
    if (!t) return ld_err(ld, "element %d is not a TensorProto", df->n);
    Value *v = pool_alloc(ld->p, sizeof *v);
    v->name = pool_strdup(ld->p, str_or(t->name, ""));
    v->id = -1;
    int rc = decode_tensor(ld, t, v, pool_fmt(ld->p, "element %d", df->n), ld->dir);
    onnx__tensor_proto__free_unpacked(t, NULL);
    if (rc) return -1;
    Value **e = pool_alloc(ld->p, sizeof *e * (size_t)(df->n + 1));
    if (df->n) memcpy(e, df->elems, sizeof *e * (size_t)df->n);
    e[df->n++] = v;
    df->elems = e;
    return 0;
}

static int seq_field(Ld *ld, DataFile *df, int field, int wt, const unsigned char *b, size_t len)
{
    if (field == 1 && wt == 2) df->name = pool_fmt(ld->p, "%.*s", (int)(len < 4096 ? len : 4096), (const char *)b);
    if (field == 3 && wt == 2) return data_tensor(ld, df, b, len);
    if (field >= 4 && field <= 7)
        return ld_err(ld, "a sequence of sequences, maps or optionals is not supported");
    return 0;
}

static int opt_field(Ld *ld, DataFile *df, int field, int wt, const unsigned char *b, size_t len)
{
    if (field == 1 && wt == 2) df->name = pool_fmt(ld->p, "%.*s", (int)(len < 4096 ? len : 4096), (const char *)b);
    if (field == 3 && wt == 2) {
        df->none = 0;
        return data_tensor(ld, df, b, len);
    }
    if (field == 5 && wt == 2) {
        df->none = 0;
        df->seq = 1;
        const char *nm = df->name;
        int rc = wire_walk(ld, df, b, len, seq_field);
        df->name = nm;
        return rc;
    }
    if (field == 4 || field == 6 || field == 7)
        return ld_err(ld, "an optional of a sparse tensor, map or optional is not supported");
    return 0;
}

int load_data_file(Pool *p, const char *path, int decl, DataFile *df, char **err)
{
    memset(df, 0, sizeof *df);
    if (decl == DECL_TENSOR) {
        Value *v = load_tensor_file(p, path, err);
        if (!v) return -1;
        df->name = v->name;
        df->elems = pool_alloc(p, sizeof *df->elems);
        df->elems[0] = v;
        df->n = 1;
        return 0;
    }
    Ld ld = {p, pool_strdup(p, path ? path : "<data>"), NULL, NULL, NULL, 0};
    ld.dir = dir_of(p, ld.file);
    unsigned char *buf = NULL;
    size_t len = 0;
    if (!read_whole(&ld, ld.file, &buf, &len)) {
        df->seq = decl == DECL_SEQ;
        df->none = decl != DECL_SEQ;
        if (wire_walk(&ld, df, buf, len, decl == DECL_SEQ ? seq_field : opt_field) && !ld.err)
            ld_err(&ld, "not a serialized ONNX %s (malformed protobuf)",
                   decl == DECL_SEQ ? "SequenceProto" : "OptionalProto");
    }
    free(buf);
    if (ld.err) {
        if (err) *err = ld.err;
        return -1;
    }
    if (!df->name) df->name = "";
    return 0;
}
