/* test_load.c — unit tests of the loader (load.c) and the graph IR (ir.c).
 *
 * Models are built here with the protobuf-c API and packed to files in a temporary
 * directory, so every case states exactly what the file holds. The last case runs the
 * loader over every ONNX backend node test model installed on the machine. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "onnxcc.h"
#include "onnx.pb-c.h"

#define NODE_TEST_DIR "/usr/share/libonnx-testdata/data/node"

static Pool *P;        /* protos and IR of one test; freed by teardown */
static char tmpdir[64];

static void setup(void)
{
    P = pool_new();
    strcpy(tmpdir, "/tmp/onnxcc_test_load_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlink(pool_fmt(P, "%s/%s", tmpdir, e->d_name));
        closedir(d);
        rmdir(tmpdir);
    }
    pool_free(P);
}

/* ---- building protos ---- */

#define PUSH(arr, n, item)                                                        \
    do {                                                                          \
        void *nb_ = pool_alloc(P, ((n) + 1) * sizeof *(arr));                     \
        if (n) memcpy(nb_, (arr), (n) * sizeof *(arr));                           \
        (arr) = nb_;                                                              \
        (arr)[(n)++] = (item);                                                    \
    } while (0)

static char *S(const char *s)
{
    return pool_strdup(P, s);
}

/* "a,,b" -> {"a", "", "b"} */
static char **split(const char *csv, size_t *n)
{
    char **r = NULL;
    *n = 0;
    if (!csv) return NULL;
    const char *c = csv;
    for (;;) {
        size_t len = strcspn(c, ",");
        char *s = pool_alloc(P, len + 1);
        memcpy(s, c, len);
        PUSH(r, *n, s);
        if (!c[len]) break;
        c += len + 1;
    }
    return r;
}

static Onnx__TensorProto *tensor(const char *name, int dt, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = pool_alloc(P, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = (size_t)rank;
    t->dims = pool_dup(P, dims, (size_t)rank * sizeof *dims);
    return t;
}

static void raw(Onnx__TensorProto *t, const void *data, size_t len)
{
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = pool_dup(P, data, len);
}

static Onnx__ValueInfoProto *vinfo(const char *name, int dt, int rank, const int64_t *dims,
                                   const char *const *syms)
{
    Onnx__ValueInfoProto *vi = pool_alloc(P, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = S(name);
    if (dt < 0) return vi; /* no type */
    Onnx__TypeProto *tp = pool_alloc(P, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = pool_alloc(P, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = dt;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sh = pool_alloc(P, sizeof *sh);
        onnx__tensor_shape_proto__init(sh);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = pool_alloc(P, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (syms && syms[i]) {
                if (*syms[i]) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                    d->dim_param = S(syms[i]);
                }
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            }
            PUSH(sh->dim, sh->n_dim, d);
        }
        tt->shape = sh;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static Onnx__NodeProto *node(const char *op, const char *name, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = pool_alloc(P, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = S(op);
    if (name) n->name = S(name);
    n->input = split(ins, &n->n_input);
    n->output = split(outs, &n->n_output);
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = pool_alloc(P, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    a->has_type = 1;
    a->type = type;
    if (n) PUSH(n->attribute, n->n_attribute, a);
    return a;
}

static void attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void attr_float(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static void attr_ref(Onnx__NodeProto *n, const char *name, int type, const char *ref)
{
    attr(n, name, type)->ref_attr_name = S(ref);
}

static Onnx__GraphProto *graph(const char *name)
{
    Onnx__GraphProto *g = pool_alloc(P, sizeof *g);
    onnx__graph_proto__init(g);
    g->name = S(name);
    return g;
}

#define ADD_NODE(g, n) PUSH((g)->node, (g)->n_node, (n))
#define ADD_INIT(g, t) PUSH((g)->initializer, (g)->n_initializer, (t))
#define ADD_IN(g, v) PUSH((g)->input, (g)->n_input, (v))
#define ADD_OUT(g, v) PUSH((g)->output, (g)->n_output, (v))

static Onnx__OperatorSetIdProto *opset(const char *domain, int64_t v)
{
    Onnx__OperatorSetIdProto *o = pool_alloc(P, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = S(domain);
    o->has_version = 1;
    o->version = v;
    return o;
}

static Onnx__ModelProto *model(Onnx__GraphProto *g, int64_t op_version)
{
    Onnx__ModelProto *m = pool_alloc(P, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->graph = g;
    PUSH(m->opset_import, m->n_opset_import, opset("", op_version));
    return m;
}

static char *write_bytes(const char *fname, const void *data, size_t len)
{
    char *path = pool_fmt(P, "%s/%s", tmpdir, fname);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static char *write_model(Onnx__ModelProto *m, const char *fname, unsigned char **bytes,
                         size_t *nbytes)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    unsigned char *buf = pool_alloc(P, len + 1);
    ck_assert_uint_eq(onnx__model_proto__pack(m, buf), len);
    if (bytes) *bytes = buf;
    if (nbytes) *nbytes = len;
    return write_bytes(fname, buf, len);
}

/* Loads and expects success. */
static Graph *load_ok(Onnx__ModelProto *m, const LoadOptions *opt)
{
    char *path = write_model(m, "model.onnx", NULL, NULL);
    char *err = NULL;
    Graph *g = load_model(P, path, opt, &err);
    ck_assert_msg(g != NULL, "load failed: %s", err ? err : "(no message)");
    ck_assert_ptr_null(g->err);
    return g;
}

/* Loads and expects a one-line error naming the file; returns the message. */
static char *load_bad_path_at(const char *path, const LoadOptions *opt, int line)
{
    char *err = NULL;
    Graph *g = load_model(P, path, opt, &err);
    ck_assert_msg(g == NULL, "line %d: expected %s to fail", line, path);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':',
                  "message does not start with the file name: %s", err);
    ck_assert_msg(!strchr(err, '\n'), "message is not one line: %s", err);
    return err;
}

/* macros, so a failure reports the line of the case */
#define load_bad_path(path, opt) load_bad_path_at((path), (opt), __LINE__)
#define load_bad(m, opt) load_bad_path_at(write_model((m), "model.onnx", NULL, NULL), (opt), __LINE__)

#define ASSERT_HAS(msg, sub) ck_assert_msg(strstr((msg), (sub)) != NULL, "'%s' not in: %s", (sub), (msg))

static Node *find_node(Graph *g, const char *name)
{
    for (int i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i]->name, name)) return g->nodes[i];
    return NULL;
}

static int node_pos(Graph *g, const char *name)
{
    for (int i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i]->name, name)) return i;
    return -1;
}

static float f32_at(const Value *v, int i)
{
    float x;
    memcpy(&x, (const char *)v->data + 4 * i, 4);
    return x;
}

/* ---- a good model ---- */

/* y = Add(MatMul(x, W), B), with the nodes stored out of order */
static Onnx__ModelProto *mlp_model(void)
{
    Onnx__GraphProto *g = graph("mlp");
    int64_t xd[] = {1, 4}, wd[] = {4, 3}, bd[] = {3}, yd[] = {1, 3};
    ADD_IN(g, vinfo("x", DT_F32, 2, xd, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 2, yd, NULL));
    Onnx__TensorProto *w = tensor("W", DT_F32, 2, wd);
    float wv[12];
    for (int i = 0; i < 12; i++) wv[i] = (float)i * 0.5f;
    raw(w, wv, sizeof wv);
    ADD_INIT(g, w);
    Onnx__TensorProto *b = tensor("B", DT_F32, 1, bd);
    float bv[3] = {1.0f, -2.0f, 3.25f};
    b->n_float_data = 3;
    b->float_data = pool_dup(P, bv, sizeof bv);
    ADD_INIT(g, b);
    ADD_NODE(g, node("Add", NULL, "h,B", "y"));
    ADD_NODE(g, node("MatMul", "mm", "x,W", "h"));
    return model(g, 13);
}

START_TEST(good_model)
{
    Graph *g = load_ok(mlp_model(), NULL);
    ck_assert_int_eq(g->opset, 13);
    ck_assert_int_eq(g->ir_version, 8);
    ck_assert_int_eq(g->ninputs, 1);
    ck_assert_int_eq(g->noutputs, 1);
    ck_assert_int_eq(g->nnodes, 2);
    Value *x = g->inputs[0];
    ck_assert_str_eq(x->name, "x");
    ck_assert_int_eq(x->kind, V_INPUT);
    ck_assert_int_eq(x->has_type, 1);
    Type want = {DT_F32, 2, {1, 4}};
    ck_assert(type_equal(&x->type, &want));
    ck_assert_int_eq(type_numel(&x->type), 4);

    Value *w = ir_find(g, "W");
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(w->kind, V_WEIGHT);
    ck_assert_ptr_nonnull(w->data);
    ck_assert_int_eq(w->type.rank, 2);
    ck_assert_int_eq(w->type.dims[1], 3);
    ck_assert(f32_at(w, 11) == 5.5f);
    Value *b = ir_find(g, "B");
    ck_assert(f32_at(b, 2) == 3.25f);
    ck_assert(const_elem_f(b, 1) == -2.0);

    /* topological order fixed; unnamed node named "<op>_<index>" */
    ck_assert_str_eq(g->nodes[0]->name, "mm");
    ck_assert_str_eq(g->nodes[1]->name, "Add_0");
    ck_assert_int_eq(g->nodes[0]->id, 0);
    ck_assert_int_eq(g->nodes[1]->opset, 13);
    Node *add = g->nodes[1];
    ck_assert_ptr_eq(node_in(add, 0)->producer, g->nodes[0]);
    ck_assert_ptr_eq(node_in(add, 1), b);
    ck_assert_ptr_null(node_in(add, 2));
    ck_assert_int_eq(node_in(add, 0)->nuses, 1);
    ck_assert_int_eq(x->nuses, 1);
    ck_assert_ptr_eq(node_out(add, 0), g->outputs[0]);
    ck_assert_int_eq(g->outputs[0]->is_output, 1);
    ck_assert_int_eq(add->op, op_lookup("", "Add"));
    ck_assert_str_eq(type_str(P, &w->type), "float32[4x3]");
    /* node_err formatting, first error wins */
    ck_assert_int_eq(node_err(add, "bad %d", 7), -1);
    ck_assert_int_eq(graph_err(g, "later"), -1);
    ck_assert_str_eq(g->err, pool_fmt(P, "%s/model.onnx: node 'Add_0' (Add): bad 7", tmpdir));
}
END_TEST

/* ---- dtypes: raw_data and the typed fields ---- */

START_TEST(dtypes)
{
    Onnx__GraphProto *g = graph("dt");
    int64_t d3[] = {3}, d2[] = {2};
    ADD_IN(g, vinfo("x", DT_F32, 1, d3, NULL));
    ADD_OUT(g, vinfo("x", DT_F32, 1, d3, NULL));

    Onnx__TensorProto *t;
    int64_t i64[] = {-5, 1LL << 40, 7};
    t = tensor("i64", DT_I64, 1, d3);
    t->n_int64_data = 3;
    t->int64_data = pool_dup(P, i64, sizeof i64);
    ADD_INIT(g, t);
    t = tensor("i64raw", DT_I64, 1, d3);
    raw(t, i64, sizeof i64);
    ADD_INIT(g, t);
    int32_t i32[] = {-100000, 0, 100000};
    t = tensor("i32", DT_I32, 1, d3);
    t->n_int32_data = 3;
    t->int32_data = pool_dup(P, i32, sizeof i32);
    ADD_INIT(g, t);
    int32_t i8[] = {-128, 5, 127};
    t = tensor("i8", DT_I8, 1, d3);
    t->n_int32_data = 3;
    t->int32_data = pool_dup(P, i8, sizeof i8);
    ADD_INIT(g, t);
    int32_t u16[] = {65535, 1, 2};
    t = tensor("u16", DT_U16, 1, d3);
    t->n_int32_data = 3;
    t->int32_data = pool_dup(P, u16, sizeof u16);
    ADD_INIT(g, t);
    uint8_t u8[] = {0, 200, 255};
    t = tensor("u8raw", DT_U8, 1, d3);
    raw(t, u8, 3);
    ADD_INIT(g, t);
    int32_t bl[] = {1, 0, 1};
    t = tensor("bool", DT_BOOL, 1, d3);
    t->n_int32_data = 3;
    t->int32_data = pool_dup(P, bl, sizeof bl);
    ADD_INIT(g, t);
    int32_t h[] = {0x3C00, 0xC000, 0x3800}; /* 1, -2, 0.5 */
    t = tensor("f16", DT_F16, 1, d3);
    t->n_int32_data = 3;
    t->int32_data = pool_dup(P, h, sizeof h);
    ADD_INIT(g, t);
    uint16_t hr[] = {0x3C00, 0x4200}; /* 1, 3 */
    t = tensor("f16raw", DT_F16, 1, d2);
    raw(t, hr, sizeof hr);
    ADD_INIT(g, t);
    int32_t bf[] = {0x3F80, 0xC040}; /* 1, -3 */
    t = tensor("bf16", DT_BF16, 1, d2);
    t->n_int32_data = 2;
    t->int32_data = pool_dup(P, bf, sizeof bf);
    ADD_INIT(g, t);
    double dd[] = {0.1, -1e300};
    t = tensor("f64", DT_F64, 1, d2);
    t->n_double_data = 2;
    t->double_data = pool_dup(P, dd, sizeof dd);
    ADD_INIT(g, t);
    uint64_t u64[] = {4000000000u, 4000000001u};
    t = tensor("u32", DT_U32, 1, d2);
    t->n_uint64_data = 2;
    t->uint64_data = pool_dup(P, u64, sizeof u64);
    ADD_INIT(g, t);
    t = tensor("u64", DT_U64, 1, d2);
    uint64_t big[] = {1, 18446744073709551615u};
    t->n_uint64_data = 2;
    t->uint64_data = pool_dup(P, big, sizeof big);
    ADD_INIT(g, t);
    t = tensor("scalar", DT_F32, 0, NULL);
    float sv = 42.0f;
    raw(t, &sv, 4);
    ADD_INIT(g, t);
    int64_t d0[] = {0};
    t = tensor("empty", DT_F32, 1, d0);
    ADD_INIT(g, t);
    t = tensor("str", DT_STRING, 1, d2);
    ProtobufCBinaryData sd[2] = {{1, (uint8_t *)"a"}, {2, (uint8_t *)"bc"}};
    t->n_string_data = 2;
    t->string_data = pool_dup(P, sd, sizeof sd);
    ADD_INIT(g, t);

    Graph *G = load_ok(model(g, 17), NULL);
    Value *v = ir_find(G, "i64");
    ck_assert_int_eq(v->type.dt, DT_I64);
    ck_assert(const_elem_f(v, 1) == (double)(1LL << 40));
    ck_assert(memcmp(v->data, ir_find(G, "i64raw")->data, sizeof i64) == 0);
    ck_assert(const_elem_f(ir_find(G, "i32"), 0) == -100000.0);
    v = ir_find(G, "i8");
    ck_assert(((const int8_t *)v->data)[0] == -128 && ((const int8_t *)v->data)[2] == 127);
    ck_assert(const_elem_f(ir_find(G, "u16"), 0) == 65535.0);
    ck_assert(const_elem_f(ir_find(G, "u8raw"), 1) == 200.0);
    v = ir_find(G, "bool");
    ck_assert_int_eq(v->type.dt, DT_BOOL);
    ck_assert(((const uint8_t *)v->data)[0] == 1 && ((const uint8_t *)v->data)[1] == 0);
    v = ir_find(G, "f16");
    ck_assert(((const uint16_t *)v->data)[1] == 0xC000);
    ck_assert(const_elem_f(v, 0) == 1.0 && const_elem_f(v, 1) == -2.0 && const_elem_f(v, 2) == 0.5);
    ck_assert(const_elem_f(ir_find(G, "f16raw"), 1) == 3.0);
    ck_assert(const_elem_f(ir_find(G, "bf16"), 1) == -3.0);
    ck_assert(const_elem_f(ir_find(G, "f64"), 0) == 0.1);
    ck_assert(const_elem_f(ir_find(G, "f64"), 1) == -1e300);
    v = ir_find(G, "u32");
    ck_assert(((const uint32_t *)v->data)[0] == 4000000000u);
    ck_assert(const_elem_f(v, 1) == 4000000001.0);
    v = ir_find(G, "u64");
    ck_assert(((const uint64_t *)v->data)[1] == 18446744073709551615u);
    v = ir_find(G, "scalar");
    ck_assert_int_eq(v->type.rank, 0);
    ck_assert_int_eq(type_numel(&v->type), 1);
    ck_assert(f32_at(v, 0) == 42.0f);
    v = ir_find(G, "empty");
    ck_assert_ptr_nonnull(v->data);
    ck_assert_int_eq(type_numel(&v->type), 0);
    v = ir_find(G, "str");
    ck_assert_int_eq(v->kind, V_WEIGHT);
    ck_assert_int_eq(v->type.dt, DT_STRING);
    ck_assert_ptr_nonnull(v->data);   /* the strings, NUL-terminated (ops/strings.c) */
    ck_assert_str_eq(((const char *const *)v->data)[0], "a");
    ck_assert_str_eq(((const char *const *)v->data)[1], "bc");
    ck_assert_int_eq(G->ninputs, 1);
}
END_TEST

/* ---- Constant nodes, const_ints ---- */

START_TEST(constants)
{
    Onnx__GraphProto *g = graph("c");
    int64_t xd[] = {2, 3}, sd[] = {1};
    ADD_IN(g, vinfo("x", DT_F32, 2, xd, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 1, sd, NULL));
    Onnx__NodeProto *c1 = node("Constant", "c1", NULL, "shape");
    Onnx__AttributeProto *a = attr(c1, "value_ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t sh[] = {3, 2};
    a->n_ints = 2;
    a->ints = pool_dup(P, sh, sizeof sh);
    ADD_NODE(g, c1);
    Onnx__NodeProto *c2 = node("Constant", "c2", NULL, "k");
    attr_float(c2, "value_float", 0.25f);
    ADD_NODE(g, c2);
    Onnx__NodeProto *c3 = node("Constant", "c3", NULL, "ax");
    a = attr(c3, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = tensor("", DT_I32, 1, sd);
    int32_t ax = -1;
    a->t->n_int32_data = 1;
    a->t->int32_data = pool_dup(P, &ax, 4);
    ADD_NODE(g, c3);
    ADD_NODE(g, node("Reshape", "r", "x,shape", "xr"));
    ADD_NODE(g, node("Mul", "m", "xr,k", "xm"));
    Onnx__NodeProto *rs = node("ReduceSum", "s", "xm,ax", "y");
    attr_int(rs, "keepdims", 0);
    attr_float(rs, "f", 0.5f);
    Onnx__AttributeProto *sa = attr(rs, "mode", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    sa->has_s = 1;
    sa->s.len = 3;
    sa->s.data = (uint8_t *)S("abc");
    sa = attr(rs, "pads", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS); /* empty list */
    ADD_NODE(g, rs);

    Graph *G = load_ok(model(g, 13), NULL);
    ck_assert_int_eq(G->nnodes, 3); /* the Constants became weights */
    Value *shape = ir_find(G, "shape");
    ck_assert_int_eq(shape->kind, V_WEIGHT);
    ck_assert_int_eq(shape->type.dt, DT_I64);
    ck_assert_int_eq(shape->type.dims[0], 2);
    int64_t *vals = NULL;
    ck_assert_int_eq(const_ints(find_node(G, "r"), 1, &vals), 2);
    ck_assert(vals[0] == 3 && vals[1] == 2);
    ck_assert_int_eq(const_ints(find_node(G, "s"), 1, &vals), 1);
    ck_assert(vals[0] == -1);
    Node *s = find_node(G, "s");
    ck_assert_int_eq(attr_i(s, "keepdims", 1), 0);
    ck_assert_int_eq(attr_i(s, "absent", 9), 9);
    ck_assert(attr_f(s, "f", 0) == 0.5f);
    ck_assert_int_eq(attr_i(s, "f", 7), 0); /* a float read as an int: truncated */
    /* NaN and out-of-range floats read as ints: defined results, no UB (UBSan run) */
    Attr *fa = (Attr *)attr_get(s, "f");
    fa->f = NAN;
    ck_assert_int_eq(attr_i(s, "f", 7), 7);
    fa->f = 1e30f;
    ck_assert(attr_i(s, "f", 7) == INT64_MAX);
    fa->f = -1e30f;
    ck_assert(attr_i(s, "f", 7) == INT64_MIN);
    fa->f = 0.5f;
    ck_assert_str_eq(attr_s(s, "mode", "x"), "abc");
    ck_assert_str_eq(attr_s(s, "absent", "x"), "x");
    int cnt = -1;
    ck_assert_ptr_nonnull(attr_ints(s, "pads", &cnt));
    ck_assert_int_eq(cnt, 0);
    ck_assert_ptr_null(attr_ints(s, "absent", &cnt));
    ck_assert_ptr_null(attr_floats(s, "mode", &cnt));
    Value *k = ir_find(G, "k");
    ck_assert_int_eq(k->type.rank, 0);
    ck_assert(f32_at(k, 0) == 0.25f);
    /* const_ints on a runtime input and on a float constant: errors naming the node */
    ck_assert_int_eq(const_ints(find_node(G, "r"), 0, &vals), -1);
    ASSERT_HAS(G->err, "node 'r' (Reshape)");
    ASSERT_HAS(G->err, "'x' must be a constant");
    G->err = NULL;
    ck_assert_int_eq(const_ints(find_node(G, "m"), 1, &vals), -1);
    ASSERT_HAS(G->err, "integer");
    G->err = NULL;
    ck_assert_int_eq(const_ints(find_node(G, "m"), 5, &vals), -1);
    ASSERT_HAS(G->err, "missing");
}
END_TEST

/* ---- initializer listed as an input ---- */

START_TEST(initializer_as_input)
{
    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {2};
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_IN(g, vinfo("W", DT_F32, 1, d, NULL));
    Onnx__TensorProto *w = tensor("W", DT_F32, 1, d);
    float wv[] = {1, 2};
    raw(w, wv, sizeof wv);
    ADD_INIT(g, w);
    ADD_OUT(g, vinfo("y", DT_F32, 1, d, NULL));
    ADD_NODE(g, node("Add", "a", "x,W", "y"));
    Graph *G = load_ok(model(g, 13), NULL);
    ck_assert_int_eq(G->ninputs, 1);
    ck_assert_str_eq(G->inputs[0]->name, "x");
    ck_assert_int_eq(ir_find(G, "W")->kind, V_WEIGHT);
    ck_assert(f32_at(ir_find(G, "W"), 1) == 2.0f);
}
END_TEST

/* ---- external data ---- */

static Onnx__ModelProto *external_model(const char *loc, const char *off, const char *len)
{
    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {4};
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 1, d, NULL));
    Onnx__TensorProto *w = tensor("W", DT_F32, 1, d);
    w->has_data_location = 1;
    w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const char *keys[] = {"location", "offset", "length"};
    const char *vals[] = {loc, off, len};
    for (int i = 0; i < 3; i++) {
        if (!vals[i]) continue;
        Onnx__StringStringEntryProto *e = pool_alloc(P, sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = S(keys[i]);
        e->value = S(vals[i]);
        PUSH(w->external_data, w->n_external_data, e);
    }
    ADD_INIT(g, w);
    ADD_NODE(g, node("Add", "a", "x,W", "y"));
    return model(g, 13);
}

START_TEST(external_data)
{
    float data[6] = {-1, -1, 1.5f, 2.5f, 3.5f, 4.5f};
    write_bytes("weights.bin", data, sizeof data);
    Graph *G = load_ok(external_model("weights.bin", "8", "16"), NULL);
    Value *w = ir_find(G, "W");
    ck_assert(f32_at(w, 0) == 1.5f && f32_at(w, 3) == 4.5f);
    /* no length given: the tensor's size */
    G = load_ok(external_model("weights.bin", "8", NULL), NULL);
    ck_assert(f32_at(ir_find(G, "W"), 3) == 4.5f);

    char *e = load_bad(external_model("../weights.bin", "0", NULL), NULL);
    ASSERT_HAS(e, "initializer 'W'");
    ASSERT_HAS(e, "relative path");
    e = load_bad(external_model("/etc/passwd", "0", NULL), NULL);
    ASSERT_HAS(e, "relative path");
    e = load_bad(external_model("sub/../../x", "0", NULL), NULL);
    ASSERT_HAS(e, "relative path");
    e = load_bad(external_model("missing.bin", "0", NULL), NULL);
    ASSERT_HAS(e, "missing.bin");
    e = load_bad(external_model("weights.bin", "16", NULL), NULL); /* runs past the end */
    ASSERT_HAS(e, "has 24 bytes");
    e = load_bad(external_model("weights.bin", "0", "12"), NULL);
    ASSERT_HAS(e, "length");
    e = load_bad(external_model("weights.bin", "-4", NULL), NULL);
    ASSERT_HAS(e, "offset");
    e = load_bad(external_model(NULL, "0", NULL), NULL);
    ASSERT_HAS(e, "no location");

    /* only a regular file inside the model's folder: no link out of it (nor any link), no
     * FIFO (opening one would wait for a writer forever), no directory */
    char *outside = pool_fmt(P, "%s_outside.bin", tmpdir);
    FILE *f = fopen(outside, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(data, 1, sizeof data, f);
    fclose(f);
    ck_assert_int_eq(symlink(outside, pool_fmt(P, "%s/out_link.bin", tmpdir)), 0);
    e = load_bad(external_model("out_link.bin", "8", NULL), NULL);
    ASSERT_HAS(e, "outside the model's folder");
    remove(outside);
    ck_assert_int_eq(symlink("weights.bin", pool_fmt(P, "%s/in_link.bin", tmpdir)), 0);
    e = load_bad(external_model("in_link.bin", "8", NULL), NULL);
    ASSERT_HAS(e, "symbolic link");
    ck_assert_int_eq(mkfifo(pool_fmt(P, "%s/fifo.bin", tmpdir), 0600), 0);
    e = load_bad(external_model("fifo.bin", "0", NULL), NULL);
    ASSERT_HAS(e, "not a regular file");
    ck_assert_int_eq(mkdir(pool_fmt(P, "%s/dir.bin", tmpdir), 0700), 0);
    e = load_bad(external_model("dir.bin", "0", NULL), NULL);
    ASSERT_HAS(e, "not a regular file");
}
END_TEST

/* Big raw_data inside model.onnx is left in the (mapped) file while protobuf-c unpacks a
 * compact copy of the rest, then read from there: the values must be the same as the
 * small tensors' (copied) and the big ones' around them, in any order. */
START_TEST(big_raw_data_in_file)
{
    enum { N = 1 << 19 };   /* 2 MiB of float32 per big tensor: the file is over 4 MiB */
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N);
    ck_assert(a && b);
    for (int i = 0; i < N; i++) {
        a[i] = (float)i * 0.5f;
        b[i] = -(float)i;
    }
    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {N}, d4[] = {4};
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("z", DT_F32, 1, d4, NULL));
    float small[4] = {1, 2, 3, 4};
    Onnx__TensorProto *s1 = tensor("S", DT_F32, 1, d4), *wa = tensor("A", DT_F32, 1, d);
    Onnx__TensorProto *wb = tensor("B", DT_F32, 1, d);
    raw(s1, small, sizeof small);
    raw(wa, a, sizeof(float) * N);
    raw(wb, b, sizeof(float) * N);
    ADD_INIT(g, wa);
    ADD_INIT(g, s1);
    ADD_INIT(g, wb);
    ADD_NODE(g, node("Add", "n1", "x,A", "t"));
    ADD_NODE(g, node("Add", "n2", "t,B", "y"));
    ADD_NODE(g, node("Add", "n3", "S,S", "z"));
    Graph *G = load_ok(model(g, 13), NULL);
    Value *va = ir_find(G, "A"), *vb = ir_find(G, "B"), *vs = ir_find(G, "S");
    ck_assert(va && vb && vs);
    for (int i = 0; i < N; i += 4099) {
        ck_assert(f32_at(va, i) == a[i]);
        ck_assert(f32_at(vb, i) == b[i]);
    }
    ck_assert(f32_at(va, N - 1) == a[N - 1] && f32_at(vb, N - 1) == b[N - 1]);
    ck_assert(f32_at(vs, 0) == 1 && f32_at(vs, 3) == 4);
    /* a truncated copy of the same file is still refused with one line */
    unsigned char *bytes = NULL;
    size_t len = 0;
    char *path = write_model(model(g, 13), "big.onnx", &bytes, &len);
    ck_assert(path && len > (size_t)N);
    write_bytes("big_cut.onnx", bytes, len - 1000);
    char *e = load_bad_path_at(pool_fmt(P, "%s/big_cut.onnx", tmpdir), NULL, __LINE__);
    ASSERT_HAS(e, "not an ONNX model");
    free(a);
    free(b);
}
END_TEST

/* ---- local functions ---- */

static Onnx__FunctionProto *function(const char *domain, const char *name, const char *ins,
                                     const char *outs)
{
    Onnx__FunctionProto *f = pool_alloc(P, sizeof *f);
    onnx__function_proto__init(f);
    f->domain = S(domain);
    f->name = S(name);
    f->input = split(ins, &f->n_input);
    f->output = split(outs, &f->n_output);
    PUSH(f->opset_import, f->n_opset_import, opset("", 15));
    return f;
}

START_TEST(local_function)
{
    /* ScaledAdd(a, b) = (a + b) * alpha, alpha defaulting to 1.5 */
    Onnx__FunctionProto *sa = function("my", "ScaledAdd", "a,b", "c");
    PUSH(sa->attribute, sa->n_attribute, S("alpha"));
    Onnx__AttributeProto *def = attr(NULL, "alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    def->has_f = 1;
    def->f = 1.5f;
    PUSH(sa->attribute_proto, sa->n_attribute_proto, def);
    Onnx__NodeProto *k = node("Constant", "k", NULL, "alpha_t");
    attr_ref(k, "value_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "alpha");
    PUSH(sa->node, sa->n_node, k);
    PUSH(sa->node, sa->n_node, node("Add", "add", "a,b", "t"));
    PUSH(sa->node, sa->n_node, node("Mul", "mul", "t,alpha_t", "c"));
    /* Twice(a) = ScaledAdd(a, a): a nested call */
    Onnx__FunctionProto *tw = function("my", "Twice", "a", "c");
    Onnx__NodeProto *inner = node("ScaledAdd", "in", "a,a", "c");
    inner->domain = S("my");
    attr_ref(inner, "alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "gain");
    PUSH(tw->node, tw->n_node, inner);

    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {2};
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_IN(g, vinfo("z", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y1", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y2", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y3", DT_F32, 1, d, NULL));
    Onnx__NodeProto *call1 = node("ScaledAdd", "call1", "x,z", "y1");
    call1->domain = S("my");
    attr_float(call1, "alpha", 2.5f);
    ADD_NODE(g, call1);
    Onnx__NodeProto *call2 = node("ScaledAdd", NULL, "y1,z", "y2");
    call2->domain = S("my");
    ADD_NODE(g, call2);
    Onnx__NodeProto *call3 = node("Twice", "call3", "x", "y3");
    call3->domain = S("my");
    attr_float(call3, "gain", 4.0f);
    ADD_NODE(g, call3);
    /* Pass(a) = a: an output that is the input itself */
    Onnx__FunctionProto *pass = function("my", "Pass", "a", "a");
    Onnx__NodeProto *call4 = node("Pass", "call4", "y3", "y4");
    call4->domain = S("my");
    ADD_NODE(g, call4);
    ADD_OUT(g, vinfo("y4", DT_F32, 1, d, NULL));
    Onnx__ModelProto *m = model(g, 13);
    PUSH(m->opset_import, m->n_opset_import, opset("my", 1));
    PUSH(m->functions, m->n_functions, sa);
    PUSH(m->functions, m->n_functions, tw);
    PUSH(m->functions, m->n_functions, pass);

    Graph *G = load_ok(m, NULL);
    ck_assert_int_eq(G->nnodes, 7);
    Node *add = find_node(G, "call1/add"), *mul = find_node(G, "call1/mul");
    ck_assert_ptr_nonnull(add);
    ck_assert_ptr_nonnull(mul);
    ck_assert_ptr_eq(node_in(add, 0), G->inputs[0]);
    ck_assert_ptr_eq(node_in(add, 1), G->inputs[1]);
    ck_assert_str_eq(node_out(add, 0)->name, "call1/t");
    ck_assert_ptr_eq(node_out(mul, 0), G->outputs[0]);
    ck_assert_int_eq(mul->opset, 15); /* the function's own opset import */
    ck_assert(f32_at(ir_find(G, "call1/alpha_t"), 0) == 2.5f);
    /* second call: unnamed caller, default alpha */
    Node *mul2 = find_node(G, "ScaledAdd_1/mul");
    ck_assert_ptr_nonnull(mul2);
    ck_assert(f32_at(node_in(mul2, 1), 0) == 1.5f);
    ck_assert_ptr_eq(node_in(find_node(G, "ScaledAdd_1/add"), 0), G->outputs[0]);
    ck_assert_int_lt(node_pos(G, "call1/mul"), node_pos(G, "ScaledAdd_1/add"));
    /* nested call: attribute passed through two levels */
    Node *mul3 = find_node(G, "call3/in/mul");
    ck_assert_ptr_nonnull(mul3);
    ck_assert(f32_at(node_in(mul3, 1), 0) == 4.0f);
    ck_assert_ptr_eq(node_out(mul3, 0), G->outputs[2]);
    ck_assert_ptr_eq(node_in(find_node(G, "call3/in/add"), 1), G->inputs[0]);
    Node *id = G->outputs[3]->producer;
    ck_assert_ptr_nonnull(id);
    ck_assert_str_eq(id->op_type, "Identity");
    ck_assert_ptr_eq(node_in(id, 0), G->outputs[2]);
}
END_TEST

START_TEST(recursive_function)
{
    Onnx__FunctionProto *f = function("my", "Loopy", "a", "c");
    Onnx__NodeProto *self = node("Loopy", "again", "a", "c");
    self->domain = S("my");
    PUSH(f->node, f->n_node, self);
    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {2};
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 1, d, NULL));
    Onnx__NodeProto *call = node("Loopy", "call", "x", "y");
    call->domain = S("my");
    ADD_NODE(g, call);
    Onnx__ModelProto *m = model(g, 13);
    PUSH(m->functions, m->n_functions, f);
    char *e = load_bad(m, NULL);
    ASSERT_HAS(e, "deeper than");
    ASSERT_HAS(e, "(Loopy)");
}
END_TEST

/* ---- nested graphs ---- */

START_TEST(exponential_functions)
{
    /* F0 is one Relu; F_k calls F_(k-1) twice. 30 levels would inline 2^30 nodes (before:
     * ~8 GB of memory, then out of memory); the inlining budget refuses it at once. */
    Onnx__ModelProto *m = NULL;
    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {2};
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 1, d, NULL));
    Onnx__NodeProto *call = node("F29", "call", "x", "y");
    call->domain = S("my");
    ADD_NODE(g, call);
    m = model(g, 13);
    for (int k = 0; k < 30; k++) {
        Onnx__FunctionProto *f = function("my", pool_fmt(P, "F%d", k), "a", "c");
        if (k == 0) {
            PUSH(f->node, f->n_node, node("Relu", "r", "a", "c"));
        } else {
            Onnx__NodeProto *c1 = node(pool_fmt(P, "F%d", k - 1), "c1", "a", "b");
            Onnx__NodeProto *c2 = node(pool_fmt(P, "F%d", k - 1), "c2", "b", "c");
            c1->domain = S("my");
            c2->domain = S("my");
            PUSH(f->node, f->n_node, c1);
            PUSH(f->node, f->n_node, c2);
        }
        PUSH(m->functions, m->n_functions, f);
    }
    char *e = load_bad(m, NULL);
    ASSERT_HAS(e, "more than 1000000 nodes");
    /* 10 levels (1024 Relus) are fine */
    call->op_type = S("F10");
    Graph *G = load_ok(m, NULL);
    ck_assert_int_ge(G->nnodes, 1024);
}
END_TEST

START_TEST(nested_if)
{
    Onnx__GraphProto *g = graph("g");
    int64_t d[] = {2}, s[] = {1};
    ADD_IN(g, vinfo("cond", DT_BOOL, 1, s, NULL));
    ADD_IN(g, vinfo("x", DT_F32, 1, d, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 1, d, NULL));

    /* then: y_then = Add(x, xr) + Constant; xr comes from a node stored after the If */
    Onnx__GraphProto *then_g = graph("then");
    Onnx__NodeProto *c = node("Constant", "one", NULL, "one_t");
    attr_float(c, "value_float", 1.0f);
    ADD_NODE(then_g, c);
    ADD_NODE(then_g, node("Add", "ta", "x,xr", "t1"));
    ADD_NODE(then_g, node("Add", "tb", "t1,one_t", "y_then"));
    ADD_OUT(then_g, vinfo("y_then", DT_F32, 1, d, NULL));
    Onnx__GraphProto *else_g = graph("else");
    ADD_NODE(else_g, node("Identity", "e", "x", "y_else"));
    ADD_OUT(else_g, vinfo("y_else", DT_F32, 1, d, NULL));

    Onnx__NodeProto *iff = node("If", "if", "cond", "y");
    attr(iff, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = then_g;
    attr(iff, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = else_g;
    ADD_NODE(g, iff);
    ADD_NODE(g, node("Relu", "relu", "x", "xr"));

    Graph *G = load_ok(model(g, 16), NULL);
    ck_assert_int_eq(G->nnodes, 2);
    ck_assert_str_eq(G->nodes[0]->name, "relu"); /* the If captures its output */
    Node *n = G->nodes[1];
    const Attr *tb = attr_get(n, "then_branch");
    ck_assert_ptr_nonnull(tb);
    ck_assert_int_eq(tb->kind, A_GRAPH);
    Graph *T = tb->g;
    ck_assert_ptr_eq(T->parent, G);
    ck_assert_str_eq(T->name, "then");
    ck_assert_int_eq(T->nnodes, 2);
    ck_assert_int_eq(T->opset, 16);
    Node *ta = find_node(T, "ta");
    ck_assert_ptr_eq(node_in(ta, 0), G->inputs[1]);       /* outer x */
    ck_assert_ptr_eq(node_in(ta, 1), node_out(G->nodes[0], 0)); /* outer xr */
    ck_assert_int_eq(ir_find(T, "one_t")->kind, V_WEIGHT);
    ck_assert_int_eq(T->noutputs, 1);
    ck_assert_ptr_eq(T->outputs[0]->producer, find_node(T, "tb"));
    Graph *E = attr_get(n, "else_branch")->g;
    ck_assert_int_eq(E->nnodes, 1);
    ck_assert_ptr_eq(node_in(E->nodes[0], 0), G->inputs[1]);
    /* ir_finish again (as a pass would) keeps everything */
    ck_assert_int_eq(ir_finish(G), 0);
    ck_assert_str_eq(G->nodes[0]->name, "relu");

    /* a body reading a name defined nowhere */
    ADD_NODE(else_g, node("Identity", "lost", "nowhere", "q"));
    char *e = load_bad(model(g, 16), NULL);
    ASSERT_HAS(e, "node 'lost' (Identity)");
    ASSERT_HAS(e, "'nowhere'");
}
END_TEST

/* ---- --shape binding ---- */

static Onnx__ModelProto *sym_model(void)
{
    Onnx__GraphProto *g = graph("g");
    int64_t xd[] = {0, 3, 0}, yd[] = {0, 2};
    const char *xs[] = {"N", NULL, ""}; /* "" = dim with neither value nor name */
    const char *ys[] = {"N", NULL};
    ADD_IN(g, vinfo("x", DT_F32, 3, xd, xs));
    ADD_IN(g, vinfo("y", DT_F32, 2, yd, ys));
    ADD_OUT(g, vinfo("o", DT_F32, -1, NULL, NULL));
    ADD_NODE(g, node("Identity", "i", "x", "o"));
    return model(g, 13);
}

START_TEST(shape_binding)
{
    char *e = load_bad(sym_model(), NULL);
    ASSERT_HAS(e, "input 'x' has a symbolic dimension 'N' (axis 0): pass --shape x=1x3x1");

    const char *names[] = {"x"};
    Type t = {DT_F32, 3, {2, 3, 5}};
    LoadOptions opt = {.shape_names = names, .shape_types = &t, .nshapes = 1};
    Graph *G = load_ok(sym_model(), &opt);
    Type want = {DT_F32, 3, {2, 3, 5}};
    ck_assert(type_equal(&G->inputs[0]->type, &want));
    ck_assert_int_eq(G->inputs[0]->nsyms, 2);
    ck_assert_str_eq(G->inputs[0]->syms[0].name, "N");
    ck_assert_ptr_null(G->inputs[0]->syms[1].name);
    /* y's N follows from x's binding */
    ck_assert_int_eq(G->inputs[1]->has_type, 1);
    ck_assert_int_eq(G->inputs[1]->type.dims[0], 2);
    ck_assert_int_eq(G->inputs[1]->type.dims[1], 2);

    Type bad = {DT_F32, 3, {2, 4, 5}};
    opt.shape_types = &bad;
    e = load_bad(sym_model(), &opt);
    ASSERT_HAS(e, "--shape x=2x4x5: axis 1 is 4, but the model declares 3");
    Type bad_rank = {DT_F32, 2, {2, 3}};
    opt.shape_types = &bad_rank;
    e = load_bad(sym_model(), &opt);
    ASSERT_HAS(e, "rank 2");
    const char *other[] = {"nope"};
    opt.shape_names = other;
    opt.shape_types = &t;
    e = load_bad(sym_model(), &opt);
    ASSERT_HAS(e, "--shape nope: 'nope' is not a graph input");

    /* an unnamed unknown dim alone */
    const char *both[] = {"y", "x"};
    Type tt[2] = {{DT_F32, 2, {7, 2}}, {DT_F32, 3, {7, 3, 1}}};
    LoadOptions opt2 = {.shape_names = both, .shape_types = tt, .nshapes = 2};
    G = load_ok(sym_model(), &opt2);
    ck_assert_int_eq(G->inputs[0]->type.dims[0], 7);
    const char *only_y[] = {"y"};
    opt2.shape_names = only_y;
    opt2.nshapes = 1;
    e = load_bad(sym_model(), &opt2);
    ASSERT_HAS(e, "input 'x' has an unknown dimension (axis 2): pass --shape x=7x3x1");
}
END_TEST

/* ---- bad inputs ---- */

START_TEST(bad_files)
{
    char *e = load_bad_path(pool_fmt(P, "%s/does_not_exist.onnx", tmpdir), NULL);
    ASSERT_HAS(e, "cannot read");
    e = load_bad_path(tmpdir, NULL);
    ASSERT_HAS(e, "is a directory, not an ONNX model file");
    char *fifo = pool_fmt(P, "%s/model_fifo.onnx", tmpdir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    e = load_bad_path(fifo, NULL);   /* before the fix: blocked forever in open */
    ASSERT_HAS(e, "not a regular file");

    const char *text = "this is not an ONNX model at all\n";
    e = load_bad_path(write_bytes("text.onnx", text, strlen(text)), NULL);
    ASSERT_HAS(e, "not an ONNX model");
    e = load_bad_path(write_bytes("empty.onnx", "", 0), NULL);
    ASSERT_HAS(e, "not an ONNX model");

    /* every truncation of a valid model: a clean error or (cut between top-level fields)
     * a model that still loads; never a crash */
    unsigned char *bytes;
    size_t len;
    write_model(mlp_model(), "full.onnx", &bytes, &len);
    int failed = 0;
    for (size_t cut = 0; cut < len; cut++) {
        Pool *p = pool_new();
        char *path = write_bytes("cut.onnx", bytes, cut);
        char *err = NULL;
        Graph *g = load_model(p, path, NULL, &err);
        if (!g) {
            failed++;
            ck_assert_ptr_nonnull(err);
            ck_assert(strncmp(err, path, strlen(path)) == 0 && !strchr(err, '\n'));
        }
        pool_free(p);
    }
    ck_assert_int_gt(failed, (int)len * 9 / 10);
    e = load_bad_path(write_bytes("half.onnx", bytes, len / 2), NULL);

    /* random bytes and random corruptions of a valid model */
    srand(1234);
    for (int k = 0; k < 400; k++) {
        unsigned char buf[512];
        size_t n;
        if (k < 200) {
            n = (size_t)(rand() % (int)sizeof buf);
            for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rand();
        } else {
            n = len < sizeof buf ? len : sizeof buf;
            memcpy(buf, bytes, n);
            for (int f = 0; f < 3; f++) buf[rand() % (int)n] = (unsigned char)rand();
        }
        Pool *p = pool_new();
        char *path = write_bytes("rand.onnx", buf, n);
        char *err = NULL;
        Graph *g = load_model(p, path, NULL, &err);
        if (!g) ck_assert(err && strncmp(err, path, strlen(path)) == 0 && !strchr(err, '\n'));
        pool_free(p);
    }
}
END_TEST

/* ---- limits: element counts, operator sets ---- */

/* y = OP(x, c) with c an int64 initializer (Reshape's shape, Tile's repeats, Expand's
 * shape), or y = ConstantOfShape(c) when x_dims is NULL */
static Onnx__ModelProto *int_arg_model(const char *op, int64_t xn, const int64_t *c, int cn)
{
    Onnx__GraphProto *g = graph("g");
    int64_t dx[] = {xn}, dc[] = {cn};
    if (xn) ADD_IN(g, vinfo("x", DT_F32, 1, dx, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 0, NULL, NULL));
    Onnx__TensorProto *t = tensor("c", DT_I64, 1, dc);
    raw(t, c, sizeof *c * (size_t)cn);
    ADD_INIT(g, t);
    ADD_NODE(g, node(op, "n", xn ? "x,c" : "c", "y"));
    return model(g, 13);
}

static char *infer_bad(Onnx__ModelProto *m)
{
    Graph *G = load_ok(m, NULL);
    ck_assert_int_ne(shape_infer(G), 0);
    ck_assert_ptr_nonnull(G->err);
    ck_assert_ptr_null(strchr(G->err, '\n'));
    return G->err;
}

START_TEST(size_limits)
{
    /* before: [2^62 + 1, 4] wrapped around to 4 elements and the model was accepted */
    int64_t big[] = {((int64_t)1 << 62) + 1, 4};
    char *e = infer_bad(int_arg_model("Reshape", 4, big, 2));
    ASSERT_HAS(e, "node 'n' (Reshape)");
    ASSERT_HAS(e, "more than 2^40 elements");
    int64_t rep[] = {(int64_t)1 << 62};
    e = infer_bad(int_arg_model("Tile", 4, rep, 1));
    ASSERT_HAS(e, "limit of 2^40 bytes");
    int64_t ex[] = {(int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31};   /* 2^93 */
    e = infer_bad(int_arg_model("Expand", 1, ex, 3));
    ASSERT_HAS(e, "node 'n' (Expand)");
    ASSERT_HAS(e, "limit of 2^40 bytes");
    int64_t cs[] = {(int64_t)1 << 33, (int64_t)1 << 33};
    e = infer_bad(int_arg_model("ConstantOfShape", 0, cs, 2));
    ASSERT_HAS(e, "limit of 2^40 bytes");
    /* a zero-sized tensor with a huge dimension: its strides would overflow */
    int64_t z[] = {0, (int64_t)1 << 50};
    e = infer_bad(int_arg_model("ConstantOfShape", 0, z, 2));
    ASSERT_HAS(e, "2^40 elements per dimension");
    /* just inside: 2^38 float32 elements is 2^40 bytes */
    int64_t ok[] = {(int64_t)1 << 19, (int64_t)1 << 19};
    Graph *G = load_ok(int_arg_model("ConstantOfShape", 0, ok, 2), NULL);
    ck_assert_int_eq(shape_infer(G), 0);
    ck_assert_int_eq(type_numel(&ir_find(G, "y")->type), (int64_t)1 << 38);
    ck_assert_int_eq(mul_sat((int64_t)1 << 62, (int64_t)1 << 62), ONNXCC_MAX_DIM + 1);

    /* operator sets newer than onnxcc knows: refused, not compiled with older meanings */
    Onnx__ModelProto *m = int_arg_model("Reshape", 4, big, 2);
    m->opset_import[0]->version = 10000;
    e = load_bad(m, NULL);
    ASSERT_HAS(e, "opset 10000 of the default domain is newer than onnxcc knows");
}
END_TEST

/* ---- nesting depth ---- */

/* Prepends a length-delimited field (number fn, the bytes b[*pos .. end)) in place: the
 * message is built backwards from the end of b. */
static void wrap_field(unsigned char *b, size_t *pos, size_t end, unsigned fn)
{
    unsigned char hdr[16];
    size_t n = 0, len = end - *pos;
    hdr[n++] = (unsigned char)(fn << 3 | 2);
    do {
        hdr[n++] = (unsigned char)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
        len >>= 7;
    } while (len);
    ck_assert(*pos >= n);
    *pos -= n;
    memcpy(b + *pos, hdr, n);
}

/* A ModelProto whose graph input's type nests `depth` sequence types (types = 1), or whose
 * graph nests `depth` If subgraphs (node -> attribute -> g) */
static char *nested_model(int depth, int types, const char *fname)
{
    size_t cap = (size_t)depth * 24 + 256, end = cap, pos = cap;
    unsigned char *b = pool_alloc(P, cap);
    for (int k = 0; k < depth; k++) {
        if (types) {
            wrap_field(b, &pos, end, 1);   /* TypeProto.Sequence.elem_type */
            wrap_field(b, &pos, end, 4);   /* TypeProto.sequence_type */
        } else {
            wrap_field(b, &pos, end, 6);   /* AttributeProto.g */
            wrap_field(b, &pos, end, 5);   /* NodeProto.attribute */
            wrap_field(b, &pos, end, 1);   /* GraphProto.node */
        }
    }
    if (types) {
        wrap_field(b, &pos, end, 2);       /* ValueInfoProto.type */
        wrap_field(b, &pos, end, 11);      /* GraphProto.input */
    }
    wrap_field(b, &pos, end, 7);           /* ModelProto.graph */
    return write_bytes(fname, b + pos, end - pos);
}

START_TEST(deep_nesting)
{
    /* before: protobuf-c's recursive unpack overflowed the stack (SIGSEGV) */
    char *e = load_bad_path(nested_model(5000, 1, "deep_types.onnx"), NULL);
    ASSERT_HAS(e, "nested more than 100 deep");
    e = load_bad_path(nested_model(3000, 0, "deep_ifs.onnx"), NULL);
    ASSERT_HAS(e, "nested more than 100 deep");
    /* a modest depth gets past the check (and fails later for what it lacks) */
    e = load_bad_path(nested_model(20, 1, "shallow.onnx"), NULL);
    ck_assert_ptr_null(strstr(e, "nested"));
}
END_TEST

START_TEST(bad_graphs)
{
    int64_t d[] = {2, 2};
    /* missing initializer: a dangling edge */
    Onnx__GraphProto *g = graph("g");
    ADD_IN(g, vinfo("x", DT_F32, 2, d, NULL));
    ADD_OUT(g, vinfo("y", DT_F32, 2, d, NULL));
    ADD_NODE(g, node("Add", "add1", "x,W", "y"));
    char *e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "node 'add1' (Add)");
    ASSERT_HAS(e, "'W'");
    ASSERT_HAS(e, "dangling");

    /* weight element count mismatch (typed field and raw) */
    Onnx__TensorProto *w = tensor("W", DT_F32, 2, d);
    float wv[] = {1, 2, 3};
    w->n_float_data = 3;
    w->float_data = pool_dup(P, wv, sizeof wv);
    ADD_INIT(g, w);
    e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "initializer 'W'");
    ASSERT_HAS(e, "float_data has 3 values; its dims need 4");
    w->n_float_data = 0;
    raw(w, wv, sizeof wv);
    e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "initializer 'W': raw_data holds 12 bytes");
    w->has_raw_data = 0;
    e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "has no data");
    w->data_type = 99;
    e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "unsupported data type 99");
    w->data_type = DT_F32;
    w->dims[0] = -2;
    e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "negative dimension");
    w->dims[0] = 1LL << 40;
    w->dims[1] = 1LL << 40;
    e = load_bad(model(g, 13), NULL);
    ASSERT_HAS(e, "larger than onnxcc's limit of 2^40 bytes");
    w->dims[0] = w->dims[1] = 2;
    float w4[] = {1, 2, 3, 4};
    raw(w, w4, sizeof w4);

    /* an input too large to ever exist; a name that would break the line */
    Onnx__GraphProto *h = graph("h");
    int64_t huge[] = {1LL << 30, 1LL << 30, 1LL << 30};
    ADD_IN(h, vinfo("x", DT_F32, 3, huge, NULL));
    ADD_OUT(h, vinfo("y", DT_F32, 3, huge, NULL));
    ADD_NODE(h, node("Relu", "r", "x", "y"));
    e = load_bad(model(h, 13), NULL);
    ASSERT_HAS(e, "input 'x' is larger than onnxcc's limit");
    h->input[0] = vinfo("x", DT_F32, 2, d, NULL);
    h->node[0] = node("Relu", "two\nlines", "x,gone", "y");
    e = load_bad(model(h, 13), NULL);
    ASSERT_HAS(e, "node 'two lines' (Relu)");

    /* a cycle */
    Onnx__GraphProto *c = graph("c");
    ADD_IN(c, vinfo("x", DT_F32, 2, d, NULL));
    ADD_OUT(c, vinfo("y", DT_F32, 2, d, NULL));
    ADD_NODE(c, node("Add", "a", "x,b", "a_out"));
    ADD_NODE(c, node("Relu", "b", "a_out", "b"));
    ADD_NODE(c, node("Relu", "r", "b", "y"));
    e = load_bad(model(c, 13), NULL);
    ASSERT_HAS(e, "cycle");

    /* a value produced twice */
    Onnx__GraphProto *t = graph("t");
    ADD_IN(t, vinfo("x", DT_F32, 2, d, NULL));
    ADD_OUT(t, vinfo("y", DT_F32, 2, d, NULL));
    ADD_NODE(t, node("Relu", "r1", "x", "y"));
    ADD_NODE(t, node("Relu", "r2", "x", "y"));
    e = load_bad(model(t, 13), NULL);
    ASSERT_HAS(e, "node 'r2' (Relu): output 'y' is also produced by node 'r1'");

    /* graph output nothing produces */
    Onnx__GraphProto *o = graph("o");
    ADD_IN(o, vinfo("x", DT_F32, 2, d, NULL));
    ADD_OUT(o, vinfo("ghost", DT_F32, 2, d, NULL));
    e = load_bad(model(o, 13), NULL);
    ASSERT_HAS(e, "graph output 'ghost'");

    /* sparse initializer; ref_attr_name outside a function; Constant without a value;
     * input without type; sequence input */
    Onnx__GraphProto *s = graph("s");
    ADD_IN(s, vinfo("x", DT_F32, 2, d, NULL));
    ADD_OUT(s, vinfo("x", DT_F32, 2, d, NULL));
    Onnx__SparseTensorProto *sp = pool_alloc(P, sizeof *sp);
    onnx__sparse_tensor_proto__init(sp);
    PUSH(s->sparse_initializer, s->n_sparse_initializer, sp);
    e = load_bad(model(s, 13), NULL);
    ASSERT_HAS(e, "sparse initializers are not supported");
    s->n_sparse_initializer = 0;
    Onnx__NodeProto *r = node("Relu", "rr", "x", "y2");
    attr_ref(r, "alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a");
    ADD_NODE(s, r);
    e = load_bad(model(s, 13), NULL);
    ASSERT_HAS(e, "node 'rr' (Relu): attribute 'alpha' refers to 'a' outside a function");
    s->n_node = 0;
    Onnx__NodeProto *k = node("Constant", "k", NULL, "kk");
    ADD_NODE(s, k);
    e = load_bad(model(s, 13), NULL);
    ASSERT_HAS(e, "node 'k' (Constant)");
    s->n_node = 0;
    ADD_IN(s, vinfo("untyped", -1, 0, NULL, NULL));
    e = load_bad(model(s, 13), NULL);
    ASSERT_HAS(e, "input 'untyped' has no type");
    s->input[1] = vinfo("seq", DT_F32, 1, d, NULL);
    s->input[1]->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    Onnx__TypeProto__Sequence *sq = pool_alloc(P, sizeof *sq);
    onnx__type_proto__sequence__init(sq);
    s->input[1]->type->sequence_type = sq;
    e = load_bad(model(s, 13), NULL);
    ASSERT_HAS(e, "input 'seq' is a sequence");
    s->input[1] = vinfo("x", DT_F32, 2, d, NULL);
    e = load_bad(model(s, 13), NULL);
    ASSERT_HAS(e, "listed twice");
}
END_TEST

/* ---- tensor files ---- */

START_TEST(tensor_file)
{
    int64_t d[] = {2, 2};
    Onnx__TensorProto *t = tensor("input_0", DT_I64, 2, d);
    int64_t v[] = {1, -2, 3, -4};
    raw(t, v, sizeof v);
    size_t len = onnx__tensor_proto__get_packed_size(t);
    unsigned char *buf = pool_alloc(P, len);
    onnx__tensor_proto__pack(t, buf);
    char *path = write_bytes("input_0.pb", buf, len);
    char *err = NULL;
    Value *x = load_tensor_file(P, path, &err);
    ck_assert_msg(x != NULL, "%s", err);
    ck_assert_str_eq(x->name, "input_0");
    ck_assert_int_eq(x->type.dt, DT_I64);
    ck_assert_int_eq(x->type.dims[1], 2);
    ck_assert(const_elem_f(x, 3) == -4.0);

    path = write_bytes("bad.pb", buf, len - 3);
    ck_assert_ptr_null(load_tensor_file(P, path, &err));
    ck_assert(strncmp(err, path, strlen(path)) == 0);
    ck_assert_ptr_null(load_tensor_file(P, pool_fmt(P, "%s/nothing.pb", tmpdir), &err));
    ASSERT_HAS(err, "nothing.pb");
}
END_TEST

/* ---- the ONNX backend node tests ---- */

START_TEST(all_node_tests)
{
    DIR *d = opendir(NODE_TEST_DIR);
    if (!d) {
        fprintf(stderr, "test_load: %s absent, node-test sweep skipped\n", NODE_TEST_DIR);
        return;
    }
    int models = 0, loaded = 0, rejected = 0, tensors = 0, tensors_ok = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_", 5)) continue;
        Pool *p = pool_new();
        char *path = pool_fmt(p, "%s/%s/model.onnx", NODE_TEST_DIR, e->d_name);
        struct stat st;
        if (stat(path, &st)) {
            pool_free(p);
            continue;
        }
        models++;
        char *err = NULL;
        Graph *g = load_model(p, path, NULL, &err);
        if (g) {
            loaded++;
            for (int i = 0; i < g->nnodes; i++) ck_assert_ptr_nonnull(g->nodes[i]->name);
        } else {
            rejected++;
            ck_assert_msg(err && !strncmp(err, path, strlen(path)) && !strchr(err, '\n'),
                          "bad message for %s: %s", path, err ? err : "(none)");
        }
        for (int k = 0; k < 8; k++) {
            char *tp = pool_fmt(p, "%s/%s/test_data_set_0/input_%d.pb", NODE_TEST_DIR,
                                e->d_name, k);
            if (stat(tp, &st)) break;
            tensors++;
            if (load_tensor_file(p, tp, &err)) tensors_ok++;
        }
        pool_free(p);
    }
    closedir(d);
    fprintf(stderr, "test_load: node tests: %d models, %d loaded, %d rejected cleanly; "
            "%d input tensors, %d read\n", models, loaded, rejected, tensors, tensors_ok);
    ck_assert_int_gt(models, 0);
    /* the rejected ones are the sequence/optional-typed inputs onnxcc does not support */
    ck_assert_int_ge(loaded, models * 95 / 100);
}
END_TEST

static Suite *load_suite(void)
{
    Suite *s = suite_create("load");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, good_model);
    tcase_add_test(tc, dtypes);
    tcase_add_test(tc, constants);
    tcase_add_test(tc, initializer_as_input);
    tcase_add_test(tc, external_data);
    tcase_add_test(tc, big_raw_data_in_file);
    tcase_add_test(tc, local_function);
    tcase_add_test(tc, recursive_function);
    tcase_add_test(tc, exponential_functions);
    tcase_add_test(tc, nested_if);
    tcase_add_test(tc, shape_binding);
    tcase_add_test(tc, bad_files);
    tcase_add_test(tc, size_limits);
    tcase_add_test(tc, deep_nesting);
    tcase_add_test(tc, bad_graphs);
    tcase_add_test(tc, tensor_file);
    tcase_add_test(tc, all_node_tests);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(load_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
