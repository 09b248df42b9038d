#!/usr/bin/python3
# make_mem_models.py — writes the models the memory planner is measured on
# (benchmarks/memory.sh) and checked with (tests/models/check_models.sh), each with a
# test_data_set_0 whose expected outputs a small numpy evaluator below computes, so
# `onnxcc check` runs them. Deterministic: the same files on every run.
#   resnet/       CNN with two residual blocks (skip connections), a stride-2 stage,
#                 global average pooling and a classifier
#   inception/    CNN with parallel branches (1x1, 3x3-3x3, pool-1x1) joined by Concat:
#                 the execution order matters here
#   mlp3/         4-layer MLP (Gemm + Relu / Sigmoid)
#   lstm/         LSTM cell unrolled over 8 steps (MatMul, Sigmoid, Tanh, Mul, Add, Gather)
#   transformer/  one encoder block: LayerNorm, 2-head self-attention (MatMul, Reshape,
#                 Transpose, Softmax), residual Adds, feed-forward with Relu
# Run with Debian's python3-onnx (onnx 1.12): /usr/bin/python3 tests/models/make_mem_models.py
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20241122)


class G:
    """A tiny graph builder: nodes, initializers, unique value names."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def w(self, shape, scale=0.1):
        name = "w%d" % len(self.inits)
        self.inits.append(numpy_helper.from_array(
            (rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def c(self, arr, dtype=np.int64):
        name = "c%d" % len(self.inits)
        self.inits.append(numpy_helper.from_array(np.array(arr, dtype=dtype), name))
        return name

    def op(self, op_type, inputs, out=None, **attrs):
        self.n += 1
        out = out or "%s_%d" % (op_type.lower(), self.n)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name="%s_%d" % (op_type, self.n),
                                           **attrs))
        return out


# ---- numpy reference for the operators used here ----

def conv(x, w, b, stride=1, pad=0):
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, m, oh, ow))
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, ky, kx].astype(np.float64))
    return out + b.astype(np.float64)[None, :, None, None]


def maxpool(x, k, stride, pad):
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    oh = (h + 2 * pad - k) // stride + 1
    ow = (wd + 2 * pad - k) // stride + 1
    out = np.full((n, c, oh, ow), -np.inf)
    for ky in range(k):
        for kx in range(k):
            out = np.maximum(out, xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride])
    return out


def run(model, feeds):
    env = dict(feeds)
    for t in model.graph.initializer:
        env[t.name] = numpy_helper.to_array(t).astype(np.float64) \
            if t.data_type == TensorProto.FLOAT else numpy_helper.to_array(t)
    for nd in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in nd.attribute}
        x = [env[i] for i in nd.input]
        t = nd.op_type
        if t == "Conv":
            s = a.get("strides", [1, 1])[0]
            p = a.get("pads", [0, 0, 0, 0])[0]
            y = conv(x[0], x[1], x[2], s, p)
        elif t == "Relu": y = np.maximum(x[0], 0)
        elif t == "Sigmoid": y = 1 / (1 + np.exp(-x[0]))
        elif t == "Tanh": y = np.tanh(x[0])
        elif t == "Add": y = x[0] + x[1]
        elif t == "Mul": y = x[0] * x[1]
        elif t == "MatMul": y = np.matmul(x[0], x[1])
        elif t == "Gemm": y = x[0] @ (x[1].T if a.get("transB", 0) else x[1]) + x[2]
        elif t == "GlobalAveragePool": y = x[0].mean(axis=(2, 3), keepdims=True)
        elif t == "Flatten": y = x[0].reshape(x[0].shape[0], -1)
        elif t == "MaxPool": y = maxpool(x[0], a["kernel_shape"][0], a["strides"][0], a["pads"][0])
        elif t == "Concat": y = np.concatenate(x, axis=a["axis"])
        elif t == "Reshape": y = x[0].reshape([int(v) for v in x[1]])
        elif t == "Transpose": y = np.transpose(x[0], a["perm"])
        elif t == "Gather": y = np.take(x[0], x[1], axis=a.get("axis", 0))
        elif t == "Softmax":
            e = np.exp(x[0] - x[0].max(axis=a["axis"], keepdims=True))
            y = e / e.sum(axis=a["axis"], keepdims=True)
        elif t == "LayerNormalization":
            m = x[0].mean(axis=-1, keepdims=True)
            v = ((x[0] - m) ** 2).mean(axis=-1, keepdims=True)
            y = (x[0] - m) / np.sqrt(v + a.get("epsilon", 1e-5)) * x[1] + x[2]
        else:
            raise ValueError("no reference for " + t)
        env[nd.output[0]] = y
    return [env[o.name].astype(np.float32) for o in model.graph.output]


def save(name, g, inputs, outputs, opset=17):
    d = os.path.join(HERE, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    vi = lambda n, shape: helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
    graph = helper.make_graph(g.nodes, name, [vi(n, v.shape) for n, v in inputs],
                              [vi(n, s) for n, s in outputs], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="onnxcc-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    feeds = {n: v.astype(np.float64) for n, v in inputs}
    for i, (n, v) in enumerate(inputs):
        t = numpy_helper.from_array(v, n)
        open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "wb").write(t.SerializeToString())
    for i, ((n, _), v) in enumerate(zip(outputs, run(model, feeds))):
        t = numpy_helper.from_array(v, n)
        open(os.path.join(d, "test_data_set_0", "output_%d.pb" % i), "wb").write(t.SerializeToString())


def conv_relu(g, x, cin, cout, k=3, stride=1, relu=True):
    y = g.op("Conv", [x, g.w((cout, cin, k, k), (2.0 / (cin * k * k)) ** 0.5), g.w((cout,))],
             kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
    return g.op("Relu", [y]) if relu else y


def resnet():
    g = G()
    x = conv_relu(g, "x", 3, 16)
    for _ in range(2):   # residual blocks: the skip keeps x alive across two convs
        y = conv_relu(g, x, 16, 16)
        y = conv_relu(g, y, 16, 16, relu=False)
        x = g.op("Relu", [g.op("Add", [x, y])])
    x = conv_relu(g, x, 16, 32, stride=2)
    y = conv_relu(g, x, 32, 32)
    y = conv_relu(g, y, 32, 32, relu=False)
    x = g.op("Relu", [g.op("Add", [x, y])])
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    g.op("Gemm", [x, g.w((10, 32)), g.w((10,))], out="logits", transB=1)
    save("resnet", g, [("x", rng.standard_normal((1, 3, 32, 32)).astype(np.float32))],
         [("logits", [1, 10])])


def inception():
    g = G()
    x = conv_relu(g, "x", 3, 16)
    for _ in range(2):
        b1 = conv_relu(g, x, 16, 8, k=1)
        b2 = conv_relu(g, conv_relu(g, conv_relu(g, x, 16, 24, k=1), 24, 24), 24, 8)
        b3 = conv_relu(g, g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1] * 4),
                       16, 8, k=1)
        b4 = conv_relu(g, x, 16, 32, k=1)   # a wide branch: best run (and freed) early
        b4 = conv_relu(g, b4, 32, 8, k=1)
        x = conv_relu(g, g.op("Concat", [b1, b2, b3, b4], axis=1), 32, 16, k=1)
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    g.op("Gemm", [x, g.w((10, 16)), g.w((10,))], out="logits", transB=1)
    save("inception", g, [("x", rng.standard_normal((1, 3, 24, 24)).astype(np.float32))],
         [("logits", [1, 10])])


def mlp3():
    g = G()
    x = "x"
    dims = [128, 256, 256, 128, 10]
    for i in range(4):
        x = g.op("Gemm", [x, g.w((dims[i + 1], dims[i]), (1.0 / dims[i]) ** 0.5),
                          g.w((dims[i + 1],))], out="y" if i == 3 else None, transB=1)
        if i < 3: x = g.op("Relu" if i % 2 == 0 else "Sigmoid", [x])
    save("mlp3", g, [("x", rng.standard_normal((4, 128)).astype(np.float32))], [("y", [4, 10])])


def lstm():
    g = G()
    T, D, H = 8, 16, 32
    W = {k: g.w((D, H), 0.2) for k in "ifgo"}
    U = {k: g.w((H, H), 0.2) for k in "ifgo"}
    B = {k: g.w((1, H), 0.1) for k in "ifgo"}
    h = c = None
    for t in range(T):
        xt = g.op("Gather", ["x", g.c(t)], axis=0)            # [1, D]
        gate = {}
        for k in "ifgo":
            z = g.op("Add", [g.op("MatMul", [xt, W[k]]), B[k]])
            if h is not None: z = g.op("Add", [z, g.op("MatMul", [h, U[k]])])
            gate[k] = g.op("Tanh" if k == "g" else "Sigmoid", [z])
        ig = g.op("Mul", [gate["i"], gate["g"]])
        c = ig if c is None else g.op("Add", [g.op("Mul", [gate["f"], c]), ig])
        h = g.op("Mul", [gate["o"], g.op("Tanh", [c])], out="h" if t == T - 1 else None)
    save("lstm", g, [("x", rng.standard_normal((T, 1, D)).astype(np.float32))], [("h", [1, H])])


def transformer():
    g = G()
    S, E, NH, F = 16, 32, 2, 64
    hd = E // NH

    def ln(x):
        return g.op("LayerNormalization", [x, g.c(np.ones(E), np.float32),
                                           g.c(np.zeros(E), np.float32)], axis=-1, epsilon=1e-5)

    def heads(x):   # [S, E] -> [NH, S, hd]
        return g.op("Transpose", [g.op("Reshape", [x, g.c([S, NH, hd])])], perm=[1, 0, 2])

    x = "x"
    y = ln(x)
    q = heads(g.op("MatMul", [y, g.w((E, E), E ** -0.5)]))
    k = heads(g.op("MatMul", [y, g.w((E, E), E ** -0.5)]))
    v = heads(g.op("MatMul", [y, g.w((E, E), E ** -0.5)]))
    kt = g.op("Transpose", [k], perm=[0, 2, 1])
    s = g.op("Mul", [g.op("MatMul", [q, kt]), g.c(np.float32(hd ** -0.5), np.float32)])
    a = g.op("MatMul", [g.op("Softmax", [s], axis=-1), v])          # [NH, S, hd]
    a = g.op("Reshape", [g.op("Transpose", [a], perm=[1, 0, 2]), g.c([S, E])])
    x = g.op("Add", [x, g.op("MatMul", [a, g.w((E, E), E ** -0.5)])])
    y = ln(x)
    y = g.op("Relu", [g.op("Add", [g.op("MatMul", [y, g.w((E, F), E ** -0.5)]), g.w((F,))])])
    y = g.op("Add", [g.op("MatMul", [y, g.w((F, E), F ** -0.5)]), g.w((E,))])
    g.op("Add", [x, y], out="out")
    save("transformer", g, [("x", rng.standard_normal((S, E)).astype(np.float32))],
         [("out", [S, E])])


if __name__ == "__main__":
    resnet()
    inception()
    mlp3()
    lstm()
    transformer()
