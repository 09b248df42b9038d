#!/usr/bin/python3
# make_bench_models.py — writes the two small models benchmarks/llvm_vs_c.sh times besides
# the digits sample, each with a test_data_set_0 whose expected output numpy computes here
# (so `onnxcc check` can run them). Deterministic: the same files on every run.
#   convnet/  Conv 3x3 (16->32, pad 1) + Relu + Conv 3x3 (32->32, pad 1) + Relu on 1x16x32x32
#   mlp/      MatMul 64x256 @ 256x512 + Add + Relu, MatMul @ 512x256 (matmul heavy)
# Run with Debian's python3-onnx (onnx 1.12): /usr/bin/python3 tests/models/make_bench_models.py
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)


def save(name, graph, inputs, outputs):
    d = os.path.join(HERE, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="onnxcc-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (n, v) in enumerate(inputs):
        t = numpy_helper.from_array(v, n)
        open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "wb").write(t.SerializeToString())
    for i, (n, v) in enumerate(outputs):
        t = numpy_helper.from_array(v, n)
        open(os.path.join(d, "test_data_set_0", "output_%d.pb" % i), "wb").write(t.SerializeToString())


def conv3x3(x, w, b):
    # NCHW, stride 1, pad 1, computed in float64 then rounded, like a careful reference
    n, c, h, ww = x.shape
    m = w.shape[0]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, m, h, ww))
    for ky in range(3):
        for kx in range(3):
            patch = xp[:, :, ky:ky + h, kx:kx + ww]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, ky, kx].astype(np.float64))
    return out + b.astype(np.float64)[None, :, None, None]


def convnet():
    x = rng.standard_normal((1, 16, 32, 32)).astype(np.float32)
    w1 = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    b1 = (rng.standard_normal(32) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((32, 32, 3, 3)) * 0.1).astype(np.float32)
    b2 = (rng.standard_normal(32) * 0.1).astype(np.float32)
    h = np.maximum(conv3x3(x, w1, b1), 0).astype(np.float32)
    y = np.maximum(conv3x3(h, w2, b2), 0).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c2"], ["y"]),
    ]
    g = helper.make_graph(nodes, "convnet",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y.shape)],
                          [numpy_helper.from_array(a, n) for n, a in
                           (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))])
    save("convnet", g, [("x", x)], [("y", y)])


def mlp():
    x = rng.standard_normal((64, 256)).astype(np.float32)
    w1 = (rng.standard_normal((256, 512)) * 0.06).astype(np.float32)
    b1 = (rng.standard_normal(512) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((512, 256)) * 0.05).astype(np.float32)
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0).astype(np.float32)
    y = (h.astype(np.float64) @ w2).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["r1"]),
        helper.make_node("MatMul", ["r1", "w2"], ["y"]),
    ]
    g = helper.make_graph(nodes, "mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y.shape)],
                          [numpy_helper.from_array(a, n) for n, a in
                           (("w1", w1), ("b1", b1), ("w2", w2))])
    save("mlp", g, [("x", x)], [("y", y)])


convnet()
mlp()
