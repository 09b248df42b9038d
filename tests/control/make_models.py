#!/usr/bin/python3
"""make_models.py — control-flow models whose run-time behaviour depends on input data (an
If whose condition is computed in the graph, a Loop whose trip count is a graph input, a
Scan RNN), written with onnx's helper API, and their test data sets.

  python3 make_models.py OUT            writes OUT/NAME/model.onnx, test_data_set_N/input_K.pb
                                        and OUT/NAME/inputs_N.json (the same inputs for ORT)
  python3 make_models.py OUT --outputs  turns OUT/NAME/ort_outputs_N.json (written by
                                        ../dynamic/ort_run.js) into test_data_set_N/output_K.pb

The expected outputs come from ONNX Runtime, not from onnxcc or numpy written here."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
vi = helper.make_tensor_value_info


def rand(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def models():
    """(name, graph nodes, inputs, outputs, initializers, [feeds of each data set])"""
    # If on cond = ReduceSum(x) > 0, computed from the input: the then branch is a MatMul
    # with an initializer of the outer graph (captured), the else branch a Mul by itself.
    # Data set 0 takes the then branch, data set 1 the else branch.
    w = rand([4, 4], 10, 0.5)
    then_g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["t_y"], name="then_mm")],
        "then_branch", [], [vi("t_y", F, [2, 4])])
    else_g = helper.make_graph(
        [helper.make_node("Mul", ["x", "x"], ["e_sq"], name="else_sq"),
         helper.make_node("Neg", ["e_sq"], ["e_y"], name="else_neg")],
        "else_branch", [], [vi("e_y", F, [2, 4])])
    x_pos = np.abs(rand([2, 4], 11))
    x_neg = -np.abs(rand([2, 4], 12))
    x_pos[0, 0] = -0.25  # mixed signs, the sum still decides
    x_neg[1, 2] = 0.5
    yield ("if_data_cond",
           [helper.make_node("ReduceSum", ["x"], ["s"], name="sum", keepdims=0),
            helper.make_node("Greater", ["s", "zero"], ["c"], name="positive"),
            helper.make_node("If", ["c"], ["y"], name="branch",
                             then_branch=then_g, else_branch=else_g)],
           [vi("x", F, [2, 4])], [vi("y", F, [2, 4])],
           [numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(np.array(0, np.float32), "zero")],
           [{"x": x_pos}, {"x": x_neg}])

    # Loop whose trip count M is a graph input (int64 scalar), carrying an accumulator:
    # acc <- acc * 0.5 + float(i) * step. No scan output, so M stays a run-time value.
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going"),
         helper.make_node("Cast", ["i"], ["fi"], name="i_float", to=F),
         helper.make_node("Mul", ["acc", "half"], ["decayed"], name="decay"),
         helper.make_node("Mul", ["fi", "step"], ["inc"], name="scale_i"),
         helper.make_node("Add", ["decayed", "inc"], ["acc_out"], name="accumulate")],
        "loop_body",
        [vi("i", I64, []), vi("cond_in", BOOL, []), vi("acc", F, [3])],
        [vi("cond_out", BOOL, []), vi("acc_out", F, [3])])
    x0 = rand([3], 20)
    step = rand([3], 21)
    yield ("loop_runtime_trip",
           [helper.make_node("Loop", ["M", "", "x"], ["acc_final"], name="loop", body=body)],
           [vi("M", I64, []), vi("x", F, [3])], [vi("acc_final", F, [3])],
           [numpy_helper.from_array(np.array(0.5, np.float32), "half"),
            numpy_helper.from_array(step, "step")],
           [{"M": np.array(5, np.int64), "x": x0},
            {"M": np.array(2, np.int64), "x": x0},
            {"M": np.array(0, np.int64), "x": x0}])

    # the same Loop with a scan output too (each iteration's accumulator): its length is
    # M, so onnxcc needs M at compile time and `check` freezes it to the data set's value
    body_s = helper.make_graph(
        list(body.node) + [helper.make_node("Identity", ["acc_out"], ["acc_scan"],
                                            name="emit")],
        "loop_body_scan",
        [vi("i", I64, []), vi("cond_in", BOOL, []), vi("acc", F, [3])],
        [vi("cond_out", BOOL, []), vi("acc_out", F, [3]), vi("acc_scan", F, [3])])
    yield ("loop_scan_output",
           [helper.make_node("Loop", ["M", "", "x"], ["acc_final", "accs"], name="loop",
                             body=body_s)],
           [vi("M", I64, []), vi("x", F, [3])],
           [vi("acc_final", F, [3]), vi("accs", F, ["M", 3])],
           [numpy_helper.from_array(np.array(0.5, np.float32), "half"),
            numpy_helper.from_array(step, "step")],
           [{"M": np.array(4, np.int64), "x": x0}])

    # Scan RNN over a sequence input: h_t = Tanh(X_t W + h_{t-1} R + b), batch 2, input 3,
    # hidden 4, 5 steps; W, R, b are initializers of the outer graph (captured). Outputs
    # the last state and every step's state.
    W, R, b = rand([3, 4], 30, 0.6), rand([4, 4], 31, 0.4), rand([4], 32, 0.1)
    cell = helper.make_graph(
        [helper.make_node("MatMul", ["x_t", "W"], ["xw"], name="in_proj"),
         helper.make_node("MatMul", ["h_prev", "R"], ["hr"], name="rec_proj"),
         helper.make_node("Add", ["xw", "hr"], ["pre0"], name="sum"),
         helper.make_node("Add", ["pre0", "b"], ["pre"], name="bias"),
         helper.make_node("Tanh", ["pre"], ["h_next"], name="act"),
         helper.make_node("Identity", ["h_next"], ["y_t"], name="emit")],
        "rnn_cell",
        [vi("h_prev", F, [2, 4]), vi("x_t", F, [2, 3])],
        [vi("h_next", F, [2, 4]), vi("y_t", F, [2, 4])])
    yield ("scan_rnn",
           [helper.make_node("Scan", ["h0", "X"], ["h_last", "Y"], name="rnn", body=cell,
                             num_scan_inputs=1)],
           [vi("h0", F, [2, 4]), vi("X", F, [5, 2, 3])],
           [vi("h_last", F, [2, 4]), vi("Y", F, [5, 2, 4])],
           [numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"),
            numpy_helper.from_array(b, "b")],
           [{"h0": rand([2, 4], 33, 0.3), "X": rand([5, 2, 3], 34)}])


def write_models(out):
    for name, nodes, ins, outs, inits, sets in models():
        d = os.path.join(out, name)
        g = helper.make_graph(nodes, name, ins, outs, inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="onnxcc-tests")
        m.ir_version = 8
        onnx.checker.check_model(m, full_check=True)
        os.makedirs(d, exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))
        for n, feeds in enumerate(sets):
            ds = os.path.join(d, "test_data_set_%d" % n)
            os.makedirs(ds, exist_ok=True)
            spec = []
            for k, vin in enumerate(ins):
                a = feeds[vin.name]
                with open(os.path.join(ds, "input_%d.pb" % k), "wb") as fh:
                    fh.write(numpy_helper.from_array(a, vin.name).SerializeToString())
                spec.append({"name": vin.name, "type": str(a.dtype), "dims": list(a.shape),
                             "data": a.astype(np.float64 if a.dtype != bool else np.uint8)
                                  .ravel().tolist()})
            with open(os.path.join(d, "inputs_%d.json" % n), "w") as fh:
                json.dump({"inputs": spec, "outputs": [o.name for o in outs]}, fh)


NP = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": bool}


def write_outputs(out):
    for name, _, _, outs, _, sets in models():
        d = os.path.join(out, name)
        for n in range(len(sets)):
            with open(os.path.join(d, "ort_outputs_%d.json" % n)) as fh:
                got = json.load(fh)
            for k, o in enumerate(outs):
                r = got[o.name]
                a = np.array(r["data"], dtype=NP[r["type"]]).reshape(r["dims"])
                with open(os.path.join(d, "test_data_set_%d" % n, "output_%d.pb" % k),
                          "wb") as fh:
                    fh.write(numpy_helper.from_array(a, o.name).SerializeToString())


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: make_models.py OUT [--outputs]")
    (write_outputs if "--outputs" in sys.argv[2:] else write_models)(sys.argv[1])
