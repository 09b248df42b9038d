#!/usr/bin/python3
"""make_big_models.py - synthetic MLPs with large weights, for benchmarks/bigweights.sh and
the meson test weights-forms (tests/weights/run.sh).

    /usr/bin/python3 benchmarks/make_big_models.py OUT_DIR MEGABYTES [WIDTH]

Writes OUT_DIR/model.onnx with its weights as external data in OUT_DIR/model.onnx.data (one
file; ONNX's external-data layout), and OUT_DIR/test_data_set_0/{input_0,output_0}.pb for
`onnxcc check`. The model is y = L_n(...Relu(L_1(x))) with L_i(x) = x W_i + b_i, x
float32[1, WIDTH] (default 1024: 4 MiB per layer; a larger width for the 1 GB model keeps
the node count small), as many layers as MEGABYTES of weights need (at least one).
Memory stays near one layer: each W_i is drawn, written to the data file, pushed through
the reference and dropped, so a 1 GB model needs no 1 GB of RAM here. The reference is
float64 numpy rounded to float32 at the end. Needs onnx and numpy (Debian: python3-onnx).
Deterministic: the same files on every run (fixed seed).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: make_big_models.py OUT_DIR MEGABYTES [WIDTH]")
    out, mb = sys.argv[1], float(sys.argv[2])
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    layer_bytes = width * width * 4
    layers = max(1, int(round(mb * 1024 * 1024 / layer_bytes)))
    os.makedirs(os.path.join(out, "test_data_set_0"), exist_ok=True)
    rng = np.random.default_rng(20261130)
    data_name = "model.onnx.data"
    x = rng.uniform(-1, 1, size=(1, width)).astype(np.float32)
    h = x.astype(np.float64)
    nodes, inits, prev, off = [], [], "x", 0
    with open(os.path.join(out, data_name), "wb") as data:
        for i in range(layers):
            # 1/sqrt(width) keeps every layer's outputs of order 1 (no overflow, no vanishing)
            w = (rng.standard_normal((width, width), dtype=np.float32) / np.float32(np.sqrt(width)))
            b = rng.uniform(-0.1, 0.1, size=(width,)).astype(np.float32)
            for name, arr in (("W%d" % i, w), ("b%d" % i, b)):
                raw = arr.astype("<f4").tobytes()
                data.write(raw)
                t = TensorProto()
                t.name = name
                t.data_type = TensorProto.FLOAT
                t.dims.extend(arr.shape)
                t.data_location = TensorProto.EXTERNAL
                for k, v in (("location", data_name), ("offset", str(off)), ("length", str(len(raw)))):
                    e = t.external_data.add()
                    e.key, e.value = k, v
                inits.append(t)
                off += len(raw)
            last = i == layers - 1
            mm, y = "mm%d" % i, "y" if last else "h%d" % i
            nodes.append(helper.make_node("MatMul", [prev, "W%d" % i], [mm]))
            if last:
                nodes.append(helper.make_node("Add", [mm, "b%d" % i], [y]))
            else:
                nodes.append(helper.make_node("Add", [mm, "b%d" % i], ["a%d" % i]))
                nodes.append(helper.make_node("Relu", ["a%d" % i], [y]))
            h = h @ w.astype(np.float64) + b.astype(np.float64)
            if not last:
                h = np.maximum(h, 0)
            prev = y
            del w
    g = helper.make_graph(nodes, "bigmlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, width])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="onnxcc-bench")
    m.ir_version = 8
    with open(os.path.join(out, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    for k, (n, v) in enumerate((("x", x), ("y", h.astype(np.float32)))):
        kind = "input" if k == 0 else "output"
        with open(os.path.join(out, "test_data_set_0", "%s_0.pb" % kind), "wb") as f:
            f.write(numpy_helper.from_array(v, n).SerializeToString())
    print("make_big_models: %s: %d layers of %dx%d, %.1f MB of weights"
          % (out, layers, width, width, off / 1e6))


if __name__ == "__main__":
    main()
