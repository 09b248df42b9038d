/* protobuild.c — see protobuild.h: model building and onnxcc runs for the unit tests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include "protobuild.h"

#ifndef ONNXCC_EXE
#define ONNXCC_EXE "onnxcc"
#endif

Pool *P;
char tmpdir[64];
char output[65536];

void pb_setup(const char *name)
{
    P = pool_new();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/onnxcc_test_%s_XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

void pb_teardown(void)
{
    char *argv[] = { "rm", "-rf", tmpdir, NULL };
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    pool_free(P);
}

/* ---- building protos (as in test_load.c) ---- */

char *S(const char *s)
{
    return pool_strdup(P, s);
}

/* "a,,b" -> {"a", "", "b"} */
char **split(const char *csv, size_t *n)
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

Onnx__TensorProto *tensor(const char *name, int dt, int rank, const int64_t *dims)
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

void raw(Onnx__TensorProto *t, const void *data, size_t len)
{
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = pool_dup(P, data, len);
}

Onnx__ValueInfoProto *vinfo(const char *name, int dt, int rank, const int64_t *dims,
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

Onnx__NodeProto *node(const char *op, const char *name, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = pool_alloc(P, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = S(op);
    if (name) n->name = S(name);
    n->input = split(ins, &n->n_input);
    n->output = split(outs, &n->n_output);
    return n;
}

Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = pool_alloc(P, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    a->has_type = 1;
    a->type = type;
    if (n) PUSH(n->attribute, n->n_attribute, a);
    return a;
}

void attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}



Onnx__GraphProto *graph(const char *name)
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

Onnx__OperatorSetIdProto *opset(const char *domain, int64_t v)
{
    Onnx__OperatorSetIdProto *o = pool_alloc(P, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = S(domain);
    o->has_version = 1;
    o->version = v;
    return o;
}

Onnx__ModelProto *model(Onnx__GraphProto *g, int64_t op_version)
{
    Onnx__ModelProto *m = pool_alloc(P, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->graph = g;
    PUSH(m->opset_import, m->n_opset_import, opset("", op_version));
    return m;
}

char *write_bytes(const char *fname, const void *data, size_t len)
{
    char *path = pool_fmt(P, "%s/%s", tmpdir, fname);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

char *write_model(Onnx__ModelProto *m, const char *fname, unsigned char **bytes,
                         size_t *nbytes)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    unsigned char *buf = pool_alloc(P, len + 1);
    ck_assert_uint_eq(onnx__model_proto__pack(m, buf), len);
    if (bytes) *bytes = buf;
    if (nbytes) *nbytes = len;
    return write_bytes(fname, buf, len);
}


void attr_graph(Onnx__NodeProto *n, const char *name, Onnx__GraphProto *g)
{
    attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = g;
}

/* a one-entry INTS attribute (one scan input, one scan output) */
void attr_int1(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *at = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    at->n_ints = 1;
    at->ints = pool_dup(P, &v, sizeof v);
}

Onnx__TensorProto *ftensor(const char *name, int rank, const int64_t *dims,
                                  const float *v, size_t n)
{
    Onnx__TensorProto *t = tensor(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims);
    raw(t, v, n * sizeof *v);
    return t;
}


/* Writes a TensorProto file DIR/NAME. */
void write_tensor(const char *dir, const char *file, Onnx__TensorProto *t)
{
    mkdir(dir, 0777);
    size_t len = onnx__tensor_proto__get_packed_size(t);
    unsigned char *buf = pool_alloc(P, len + 1);
    onnx__tensor_proto__pack(t, buf);
    FILE *f = fopen(pool_fmt(P, "%s/%s", dir, file), "wb");
    ck_assert_ptr_nonnull(f);
    if (len) ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

int run_onnxcc(const char *const *args)
{
    char logpath[128];
    snprintf(logpath, sizeof logpath, "%s/run.log", tmpdir);
    const char *argv[32];
    int n = 0;
    argv[n++] = ONNXCC_EXE;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    FILE *f = fopen(logpath, "rb");
    size_t len = f ? fread(output, 1, sizeof output - 1, f) : 0;
    if (f) fclose(f);
    output[len] = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void check_passes(const char *model, const char *ds, const char *target)
{
    const char *args[] = { "check", model, ds, "--target", target, NULL };
    int rc = run_onnxcc(args);
    ck_assert_msg(rc == 0, "check %s on %s (%s): exit %d\n%s", model, ds, target, rc, output);
}
