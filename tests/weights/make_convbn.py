#!/usr/bin/python3
# make_convbn.py — tests/weights/run.sh's model for the inline-weights path: Conv 3x3 (256 ->
# 256, pad 1; 2.4 MB of weights inside model.onnx, so onnxcc spills them to a mapped temp
# file) + BatchNormalization (folded into the Conv: the folded weights are spilled too and
# the source's pages released), on 1x256x6x6, with a float64 numpy reference in
# test_data_set_0. Deterministic.   usage: make_convbn.py OUT_DIR
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
out = sys.argv[1]
os.makedirs(os.path.join(out, "test_data_set_0"), exist_ok=True)
rng = np.random.default_rng(7)
C = M = 256
x = rng.uniform(-1, 1, (1, C, 6, 6)).astype(np.float32)
w = (rng.standard_normal((M, C, 3, 3)) / np.sqrt(C * 9)).astype(np.float32)
sc = rng.uniform(0.5, 1.5, M).astype(np.float32)
bb = rng.uniform(-0.1, 0.1, M).astype(np.float32)
mean = rng.uniform(-0.1, 0.1, M).astype(np.float32)
var = rng.uniform(0.5, 1.5, M).astype(np.float32)
xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
y = np.zeros((1, M, 6, 6))
for ky in range(3):
    for kx in range(3):
        y += np.einsum("nchw,mc->nmhw", xp[:, :, ky:ky + 6, kx:kx + 6], w[:, :, ky, kx].astype(np.float64))
s = sc / np.sqrt(var.astype(np.float64) + 1e-5)
y = (y - mean[None, :, None, None]) * s[None, :, None, None] + bb[None, :, None, None]
nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "sc", "bb", "mean", "var"], ["y"], epsilon=1e-5)]
inits = [numpy_helper.from_array(a, n) for n, a in (("W", w), ("sc", sc), ("bb", bb), ("mean", mean), ("var", var))]
g = helper.make_graph(nodes, "convbn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, 6, 6])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, M, 6, 6])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "model.onnx"))
open(os.path.join(out, "test_data_set_0", "input_0.pb"), "wb").write(numpy_helper.from_array(x, "x").SerializeToString())
open(os.path.join(out, "test_data_set_0", "output_0.pb"), "wb").write(numpy_helper.from_array(y.astype(np.float32), "y").SerializeToString())
