#!/usr/bin/python3
"""make_models.py - the model set of benchmarks/run.sh, with random weights.

    /usr/bin/python3 benchmarks/make_models.py OUT_DIR [--only NAME,NAME]

Needs onnx (1.12) and numpy (Debian: python3-onnx). For every model it writes
OUT_DIR/NAME/model.onnx, OUT_DIR/NAME/input_K.bin (the inputs as raw little-endian
float32, fixed seed) and OUT_DIR/NAME/meta.txt:

    mflop X                      conv/gemm/matmul/lstm MACs * 2, from the inferred shapes
    input K NAME ELEMENTS DIMS   DIMS as 1x3x224x224
    output K NAME ELEMENTS DIMS

Models (batch 1, float32): mnist (small CNN), squeezenet11, mobilenetv2 (1.0, 224),
resnet50 (v1, 224, BatchNormalization kept), transformer (2-layer encoder written the way
PyTorch exports it), kws_lstm (LSTM keyword spotter) and digits (samples/digits/digits.onnx).
Weights are random (He-like scale) but deterministic: the same files on every machine.
"""
import math
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

VERSION = "4"   # bump when a model changes: run.sh regenerates when the stamp differs
HERE = os.path.dirname(os.path.abspath(__file__))


class Graph:
    """A tiny builder: numbered names, initializers from numpy, He-like random weights."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return "%s_%d" % (base, self.n)

    def const(self, arr, base="c"):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def randn(self, shape, std, base="w"):
        return self.const(self.rng.standard_normal(shape).astype(np.float32) * np.float32(std), base)

    def op(self, op_type, inputs, n_out=1, base=None, **attrs):
        outs = [self.name(base or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    # ---- layers
    def conv(self, x, cin, cout, k, stride=1, pad=0, group=1, bias=True, gain=2.0):
        fan_in = cin // group * k * k
        w = self.randn((cout, cin // group, k, k), math.sqrt(gain / fan_in))
        ins = [x, w]
        if bias:
            ins.append(self.randn((cout,), 0.05, "b"))
        return self.op("Conv", ins, kernel_shape=[k, k], strides=[stride, stride],
                       pads=[pad] * 4, group=group)

    def bn(self, x, c, gamma=(0.8, 1.2)):
        r = self.rng
        scale = self.const(r.uniform(*gamma, c).astype(np.float32), "gamma")
        b = self.const(r.uniform(-0.1, 0.1, c).astype(np.float32), "beta")
        mean = self.const(r.uniform(-0.1, 0.1, c).astype(np.float32), "mean")
        var = self.const(r.uniform(0.8, 1.2, c).astype(np.float32), "var")
        return self.op("BatchNormalization", [x, scale, b, mean, var], epsilon=1e-5)

    def relu(self, x):
        return self.op("Relu", [x])

    def relu6(self, x):
        return self.op("Clip", [x, self.const(np.float32(0), "min"), self.const(np.float32(6), "max")])

    def gemm(self, x, cin, cout):
        w = self.randn((cout, cin), math.sqrt(1.0 / cin))
        return self.op("Gemm", [x, w, self.randn((cout,), 0.05, "b")], transB=1)

    def linear(self, x, cin, cout, gain=1.0):   # PyTorch's export of nn.Linear on 3-D input
        w = self.randn((cin, cout), math.sqrt(gain / cin))
        return self.op("Add", [self.op("MatMul", [x, w]), self.randn((cout,), 0.02, "b")])

    def model(self, inputs, outputs, opset, name):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="onnxcc-benchmarks")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def vinfo(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


# ------------------------------------------------------------------ models
def mnist():
    g = Graph(1)
    x = g.conv("input", 1, 8, 5, pad=2)
    x = g.op("MaxPool", [g.relu(x)], kernel_shape=[2, 2], strides=[2, 2])
    x = g.conv(x, 8, 16, 5, pad=2)
    x = g.op("MaxPool", [g.relu(x)], kernel_shape=[2, 2], strides=[2, 2])
    x = g.op("Reshape", [x, g.const(np.array([1, 16 * 7 * 7], np.int64), "shape")])
    y = g.gemm(x, 16 * 7 * 7, 10)
    g.nodes[-1].output[0] = "logits"
    return g.model([vinfo("input", [1, 1, 28, 28])], [vinfo("logits", [1, 10])], 13, "mnist"), \
        {"input": (1, 1, 28, 28)}


def squeezenet11():
    g = Graph(2)

    def fire(x, cin, s, e):
        sq = g.relu(g.conv(x, cin, s, 1))
        a = g.relu(g.conv(sq, s, e, 1))
        b = g.relu(g.conv(sq, s, e, 3, pad=1))
        return g.op("Concat", [a, b], axis=1)

    def pool(x):
        return g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)

    x = pool(g.relu(g.conv("input", 3, 64, 3, stride=2)))
    x = fire(x, 64, 16, 64)
    x = pool(fire(x, 128, 16, 64))
    x = fire(x, 128, 32, 128)
    x = pool(fire(x, 256, 32, 128))
    x = fire(x, 256, 48, 192)
    x = fire(x, 384, 48, 192)
    x = fire(x, 384, 64, 256)
    x = fire(x, 512, 64, 256)
    x = g.relu(g.conv(x, 512, 1000, 1, gain=1.0))
    x = g.op("GlobalAveragePool", [x])
    g.op("Flatten", [x], axis=1)
    g.nodes[-1].output[0] = "logits"
    return g.model([vinfo("input", [1, 3, 224, 224])], [vinfo("logits", [1, 1000])], 13,
                   "squeezenet11"), {"input": (1, 3, 224, 224)}


def mobilenetv2():
    # PyTorch's eval-mode export: BatchNormalization folded into the convolutions (bias),
    # ReLU6 as Clip(0, 6).
    g = Graph(3)
    x = g.relu6(g.conv("input", 3, 32, 3, stride=2, pad=1))
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hid = cin * t
            y = x
            if t != 1:
                y = g.relu6(g.conv(y, cin, hid, 1))
            y = g.relu6(g.conv(y, hid, hid, 3, stride=stride, pad=1, group=hid))
            y = g.conv(y, hid, c, 1, gain=0.5 if (stride == 1 and cin == c) else 1.0)
            if stride == 1 and cin == c:
                y = g.op("Add", [x, y])
            x, cin = y, c
    x = g.relu6(g.conv(x, 320, 1280, 1))
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    g.gemm(x, 1280, 1000)
    g.nodes[-1].output[0] = "logits"
    return g.model([vinfo("input", [1, 3, 224, 224])], [vinfo("logits", [1, 1000])], 13,
                   "mobilenetv2"), {"input": (1, 3, 224, 224)}


def resnet50():
    # ResNet-50 v1 (stride in the first 1x1 convolution of a downsampling block), every
    # convolution without bias followed by a BatchNormalization node, as exported.
    g = Graph(4)
    x = g.relu(g.bn(g.conv("input", 3, 64, 7, stride=2, pad=3, bias=False), 64))
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            s = stride if i == 0 else 1
            cout = width * 4
            y = g.relu(g.bn(g.conv(x, cin, width, 1, stride=s, bias=False), width))
            y = g.relu(g.bn(g.conv(y, width, width, 3, pad=1, bias=False), width))
            # small last gamma keeps the residual sum from growing block after block
            y = g.bn(g.conv(y, width, cout, 1, bias=False), cout, gamma=(0.2, 0.4))
            sc = x
            if i == 0:
                sc = g.bn(g.conv(x, cin, cout, 1, stride=s, bias=False, gain=1.0), cout)
            x = g.relu(g.op("Add", [sc, y]))
            cin = cout
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    g.gemm(x, 2048, 1000)
    g.nodes[-1].output[0] = "logits"
    return g.model([vinfo("input", [1, 3, 224, 224])], [vinfo("logits", [1, 1000])], 13,
                   "resnet50"), {"input": (1, 3, 224, 224)}


def transformer():
    # 2 x nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024,
    # activation="gelu", norm_first=False) on [1, 128, 256], as torch.onnx (opset 17)
    # writes it: MatMul+Add linears, the head split through Shape->Gather->Unsqueeze->
    # Concat->Reshape, Softmax, Gelu as x*0.5*(1+Erf(x/sqrt(2))), LayerNormalization.
    S, D, H, F = 128, 256, 4, 1024
    dh = D // H
    g = Graph(5)
    i64 = lambda v: g.const(np.array(v, np.int64), "i")

    def dims_of(x):
        shp = g.op("Shape", [x])
        b = g.op("Unsqueeze", [g.op("Gather", [shp, g.const(np.int64(0), "i")], axis=0), i64([0])])
        s = g.op("Unsqueeze", [g.op("Gather", [shp, g.const(np.int64(1), "i")], axis=0), i64([0])])
        return b, s

    def layer_norm(x):
        gamma = g.const(g.rng.uniform(0.9, 1.1, D).astype(np.float32), "ln_w")
        beta = g.const(g.rng.uniform(-0.05, 0.05, D).astype(np.float32), "ln_b")
        return g.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=1e-5)

    x = "input"
    for _ in range(2):
        b, s = dims_of(x)
        heads_shape = g.op("Concat", [b, s, i64([H]), i64([dh])], axis=0)
        q = g.op("Reshape", [g.linear(x, D, D), heads_shape])
        k = g.op("Reshape", [g.linear(x, D, D), heads_shape])
        v = g.op("Reshape", [g.linear(x, D, D), heads_shape])
        q = g.op("Transpose", [q], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [k], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [v], perm=[0, 2, 1, 3])
        att = g.op("MatMul", [q, k])
        att = g.op("Div", [att, g.const(np.float32(math.sqrt(dh)), "scale")])
        att = g.op("Softmax", [att], axis=-1)
        o = g.op("Transpose", [g.op("MatMul", [att, v])], perm=[0, 2, 1, 3])
        o = g.op("Reshape", [o, g.op("Concat", [b, s, i64([D])], axis=0)])
        o = g.linear(o, D, D)
        x = layer_norm(g.op("Add", [x, o]))
        h = g.linear(x, D, F, gain=2.0)
        e = g.op("Erf", [g.op("Div", [h, g.const(np.float32(math.sqrt(2.0)), "sqrt2")])])
        h = g.op("Mul", [g.op("Mul", [h, g.op("Add", [e, g.const(np.float32(1), "one")])]),
                         g.const(np.float32(0.5), "half")])
        h = g.linear(h, F, D)
        x = layer_norm(g.op("Add", [x, h]))
    g.nodes[-1].output[0] = "output"
    return g.model([vinfo("input", [1, S, D])], [vinfo("output", [1, S, D])], 17,
                   "transformer"), {"input": (1, S, D)}


def kws_lstm():
    # 49 frames x 40 MFCC -> LSTM(128) -> last hidden state -> Gemm 12 classes.
    T, I, Hd, C = 49, 40, 128, 12
    g = Graph(6)
    sd = 1.0 / math.sqrt(Hd)
    W = g.const(g.rng.uniform(-sd, sd, (1, 4 * Hd, I)).astype(np.float32), "W")
    R = g.const(g.rng.uniform(-sd, sd, (1, 4 * Hd, Hd)).astype(np.float32), "R")
    B = g.const(g.rng.uniform(-sd, sd, (1, 8 * Hd)).astype(np.float32), "B")
    _, yh, _ = g.op("LSTM", ["input", W, R, B], n_out=3, hidden_size=Hd)
    x = g.op("Reshape", [yh, g.const(np.array([1, Hd], np.int64), "shape")])
    g.gemm(x, Hd, C)
    g.nodes[-1].output[0] = "logits"
    return g.model([vinfo("input", [T, 1, I])], [vinfo("logits", [1, C])], 14,
                   "kws_lstm"), {"input": (T, 1, I)}


def digits():
    m = onnx.load(os.path.join(HERE, "..", "samples", "digits", "digits.onnx"))
    shapes = {}
    inits = {i.name for i in m.graph.initializer}
    for vi in m.graph.input:
        if vi.name not in inits:
            shapes[vi.name] = tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
    return m, shapes


MODELS = [("mnist", mnist), ("squeezenet11", squeezenet11), ("mobilenetv2", mobilenetv2),
          ("resnet50", resnet50), ("transformer", transformer), ("kws_lstm", kws_lstm),
          ("digits", digits)]


# ------------------------------------------------------------------ FLOPs
def count_mflop(m):
    """MACs * 2 of Conv, ConvTranspose-free Gemm/MatMul and LSTM, from inferred shapes."""
    inf = shape_inference.infer_shapes(m, data_prop=True)
    shp = {}
    for vi in list(inf.graph.value_info) + list(inf.graph.input) + list(inf.graph.output):
        shp[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for t in inf.graph.initializer:
        shp[t.name] = list(t.dims)
    macs = 0
    for n in inf.graph.node:
        if n.op_type == "Conv":
            w, y = shp[n.input[1]], shp[n.output[0]]
            macs += int(np.prod(y)) * int(np.prod(w[1:]))
        elif n.op_type in ("Gemm", "MatMul"):
            a, y = shp[n.input[0]], shp[n.output[0]]
            trans_a = any(at.name == "transA" and at.i for at in n.attribute)
            k = a[-2] if (n.op_type == "Gemm" and trans_a) else a[-1]
            macs += int(np.prod(y)) * k
        elif n.op_type in ("LSTM", "GRU", "RNN"):
            x, w, r = shp[n.input[0]], shp[n.input[1]], shp[n.input[2]]
            steps, batch = x[0], x[1]
            macs += steps * batch * (int(np.prod(w)) + int(np.prod(r)))
    return 2.0 * macs / 1e6


def write(out, name, build):
    d = os.path.join(out, name)
    stamp = os.path.join(d, "stamp")
    if os.path.exists(stamp) and open(stamp).read().strip() == VERSION:
        return False
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    m, inputs = build()
    onnx.save(m, os.path.join(d, "model.onnx"))
    rng = np.random.default_rng(1000 + sum(map(ord, name)))
    inf = shape_inference.infer_shapes(m, data_prop=True)
    lines = ["mflop %.3f" % count_mflop(m)]
    for k, (iname, dims) in enumerate(inputs.items()):
        a = rng.standard_normal(dims).astype("<f4")
        a.tofile(os.path.join(d, "input_%d.bin" % k))
        lines.append("input %d %s %d %s" % (k, iname, a.size, "x".join(map(str, dims))))
    for k, vi in enumerate(inf.graph.output):
        dims = [dd.dim_value for dd in vi.type.tensor_type.shape.dim]
        lines.append("output %d %s %d %s" % (k, vi.name, int(np.prod(dims)), "x".join(map(str, dims))))
    with open(os.path.join(d, "meta.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(stamp, "w") as f:
        f.write(VERSION + "\n")
    return True


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    only = None
    if len(sys.argv) > 3 and sys.argv[2] == "--only":
        only = set(sys.argv[3].split(","))
    os.makedirs(out, exist_ok=True)
    for name, build in MODELS:
        if only and name not in only:
            continue
        if write(out, name, build):
            print("make_models: wrote %s/%s" % (out, name))


if __name__ == "__main__":
    main()
