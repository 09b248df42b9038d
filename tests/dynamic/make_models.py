#!/usr/bin/python3
"""make_models.py — small models with data-dependent output sizes (NonZero, and NonZero
feeding Gather), written with onnx's helper API, and their test data.

  python3 make_models.py OUT            writes OUT/NAME/model.onnx, test_data_set_0/input_K.pb
                                        and OUT/NAME/inputs.json (the same inputs for ORT)
  python3 make_models.py OUT --outputs  turns OUT/NAME/ort_outputs.json (written by
                                        ort_run.js) into test_data_set_0/output_K.pb

The expected outputs come from ONNX Runtime, not from onnxcc or numpy written here."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def sparse(shape, seed, density=0.4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    x[rng.random(shape) > density] = 0
    return x


def models():
    """(name, graph nodes, inputs, outputs, initializers, feeds)"""
    f, i64 = TensorProto.FLOAT, TensorProto.INT64
    vi = helper.make_tensor_value_info
    # the values of the non-zero elements of a vector: Gather(x, NonZero(x))
    yield ("nonzero_values",
           [helper.make_node("NonZero", ["x"], ["nz"], name="nz"),
            helper.make_node("Gather", ["x", "nz"], ["y"], name="pick", axis=0)],
           [vi("x", f, [12])], [vi("y", f, [1, "n"]), vi("nz", i64, [1, "n"])], [],
           {"x": sparse([12], 1)})
    # rows of a table picked by the coordinates of a matrix's non-zeros: a bounded axis in
    # the middle of a rank-3 output
    w = np.arange(20, dtype=np.float32).reshape(4, 5) / 7
    yield ("nonzero_gather_rows",
           [helper.make_node("NonZero", ["x"], ["nz"], name="nz"),
            helper.make_node("Gather", ["w", "nz"], ["y"], name="rows", axis=0)],
           [vi("x", f, [3, 4])], [vi("y", f, [2, "n", 5])], [numpy_helper.from_array(w, "w")],
           {"x": sparse([3, 4], 2)})
    # Gather along axis 1 with negative-free coordinates, int32 data
    t = (np.arange(8, dtype=np.int32).reshape(2, 4) * 3 - 5)
    yield ("nonzero_gather_axis1",
           [helper.make_node("NonZero", ["x"], ["nz"], name="nz"),
            helper.make_node("Gather", ["t", "nz"], ["y"], name="cols", axis=1)],
           [vi("x", TensorProto.BOOL, [2, 4])], [vi("y", TensorProto.INT32, [2, 2, "n"])],
           [numpy_helper.from_array(t, "t")],
           {"x": np.array([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=bool)})
    # a consumer that does not take a data-dependent size yet: refused with one clear line
    yield ("nonzero_transpose_refused",
           [helper.make_node("NonZero", ["x"], ["nz"], name="nz"),
            helper.make_node("Transpose", ["nz"], ["y"], name="tr")],
           [vi("x", f, [2, 3])], [vi("y", i64, ["n", 2])], [],
           {"x": sparse([2, 3], 3)})
    # nothing non-zero: every real extent 0
    yield ("nonzero_empty",
           [helper.make_node("NonZero", ["x"], ["nz"], name="nz")],
           [vi("x", f, [2, 3])], [vi("nz", i64, [2, "n"])], [],
           {"x": np.zeros([2, 3], np.float32)})


def write_models(out):
    for name, nodes, ins, outs, inits, feeds in models():
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
        g = helper.make_graph(nodes, name, ins, outs, inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="onnxcc-tests")
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(d, "model.onnx"))
        spec = []
        for k, vin in enumerate(ins):
            a = feeds[vin.name]
            with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as fh:
                fh.write(numpy_helper.from_array(a, vin.name).SerializeToString())
            spec.append({"name": vin.name, "type": str(a.dtype), "dims": list(a.shape),
                         "data": a.astype(np.float64 if a.dtype != bool else np.uint8)
                              .ravel().tolist()})
        with open(os.path.join(d, "inputs.json"), "w") as fh:
            json.dump({"inputs": spec, "outputs": [o.name for o in outs]}, fh)


NP = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": bool}


def write_outputs(out):
    for name, _, _, outs, _, _ in models():
        d = os.path.join(out, name)
        with open(os.path.join(d, "ort_outputs.json")) as fh:
            got = json.load(fh)
        for k, o in enumerate(outs):
            r = got[o.name]
            a = np.array(r["data"], dtype=NP[r["type"]]).reshape(r["dims"])
            with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as fh:
                fh.write(numpy_helper.from_array(a, o.name).SerializeToString())


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: make_models.py OUT [--outputs]")
    (write_outputs if "--outputs" in sys.argv[2:] else write_models)(sys.argv[1])
