/* protobuild.h — what the Check unit tests that build ONNX models share: protos built in
 * a per-test pool, written into a per-test temporary directory, and onnxcc run as a child
 * process with its output captured. Each test's fixture calls pb_setup("name") and
 * pb_teardown(). */
#ifndef ONNXCC_PROTOBUILD_H
#define ONNXCC_PROTOBUILD_H
#include <stddef.h>
#include <stdint.h>
#include "onnxcc.h"
#include "onnx.pb-c.h"

extern Pool *P;            /* this test's pool: every proto and string lives here */
extern char tmpdir[64];    /* this test's temporary directory */
extern char output[65536]; /* what the last run_onnxcc printed */

#define PUSH(arr, n, item)                                                        \
    do {                                                                          \
        void *nb_ = pool_alloc(P, ((n) + 1) * sizeof *(arr));                     \
        if (n) memcpy(nb_, (arr), (n) * sizeof *(arr));                           \
        (arr) = nb_;                                                              \
        (arr)[(n)++] = (item);                                                    \
    } while (0)

enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64, BOOL = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL };

void pb_setup(const char *name);
void pb_teardown(void);
char *S(const char *s);
char **split(const char *csv, size_t *n);
Onnx__TensorProto *tensor(const char *name, int dt, int rank, const int64_t *dims);
void raw(Onnx__TensorProto *t, const void *data, size_t len);
Onnx__ValueInfoProto *vinfo(const char *name, int dt, int rank, const int64_t *dims, const char *const *syms);
Onnx__NodeProto *node(const char *op, const char *name, const char *ins, const char *outs);
Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type);
void attr_int(Onnx__NodeProto *n, const char *name, int64_t v);
Onnx__GraphProto *graph(const char *name);
Onnx__OperatorSetIdProto *opset(const char *domain, int64_t v);
Onnx__ModelProto *model(Onnx__GraphProto *g, int64_t op_version);
char *write_bytes(const char *fname, const void *data, size_t len);
char *write_model(Onnx__ModelProto *m, const char *fname, unsigned char **bytes, size_t *nbytes);
void attr_graph(Onnx__NodeProto *n, const char *name, Onnx__GraphProto *g);
void attr_int1(Onnx__NodeProto *n, const char *name, int64_t v);
Onnx__TensorProto *ftensor(const char *name, int rank, const int64_t *dims, const float *v, size_t n);
void write_tensor(const char *dir, const char *file, Onnx__TensorProto *t);
int run_onnxcc(const char *const *args);
void check_passes(const char *model, const char *ds, const char *target);

#endif
