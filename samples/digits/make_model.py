#!/usr/bin/python3
"""make_model.py — trains the digits sample model and writes everything the sample ships.

Run with Debian's python (python3-sklearn, python3-onnx, python3-numpy):
    /usr/bin/python3 samples/digits/make_model.py
It is deterministic (fixed seeds, float64 training), so re-running it reproduces the files
byte for byte on the same numpy. Writes, next to this script:
  digits.onnx                      MLP 64-32-10: Gemm, Relu, Gemm, Softmax (opset 13)
  test_data_set_0/input_0.pb       the first held-out digit, float32[1,64]
  test_data_set_0/output_0.pb      its probabilities computed here with numpy, float32[1,10]
  heldout.bin                      N held-out digits, N*64 float32 little-endian, pixels/16
  heldout_labels.bin               their N labels, one uint8 each
The held-out digits are never seen by training.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))
HIDDEN = 32
HELDOUT = 360
EPOCHS = 200
BATCH = 32
LR = 0.05


def split():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float64)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(y))
    test, train = perm[:HELDOUT], perm[HELDOUT:]
    return x[train], y[train], x[test], y[test]


def train(x, y):
    """Plain minibatch SGD with momentum on softmax cross-entropy; He initialisation."""
    rng = np.random.RandomState(1)
    w1 = rng.randn(64, HIDDEN) * np.sqrt(2.0 / 64)
    b1 = np.zeros(HIDDEN)
    w2 = rng.randn(HIDDEN, 10) * np.sqrt(2.0 / HIDDEN)
    b2 = np.zeros(10)
    params = [w1, b1, w2, b2]
    vel = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[y]
    for epoch in range(EPOCHS):
        order = rng.permutation(len(y))
        for i in range(0, len(y), BATCH):
            idx = order[i:i + BATCH]
            xb, tb = x[idx], onehot[idx]
            h = np.maximum(xb @ w1 + b1, 0.0)
            z = h @ w2 + b2
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - tb) / len(idx)
            dw2 = h.T @ dz
            db2 = dz.sum(axis=0)
            dh = (dz @ w2.T) * (h > 0)
            dw1 = xb.T @ dh
            db1 = dh.sum(axis=0)
            grads = [dw1 + 1e-4 * w1, db1, dw2 + 1e-4 * w2, db2]
            for p_, v, g in zip(params, vel, grads):
                v *= 0.9
                v -= LR * g
                p_ += v
    return [p.astype(np.float32) for p in params]


def forward(x, w1, b1, w2, b2):
    """The reference: float32 numpy, the same arithmetic the ONNX graph describes."""
    x = x.astype(np.float32)
    h = np.maximum(x @ w1 + b1, np.float32(0))
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def export(w1, b1, w2, b2):
    # Gemm's B is stored transposed (transB=1), the layout most exporters produce.
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(w1.T), "fc1.weight"),
        numpy_helper.from_array(b1, "fc1.bias"),
        numpy_helper.from_array(np.ascontiguousarray(w2.T), "fc2.weight"),
        numpy_helper.from_array(b2, "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1",
                         transB=1),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["logits"], name="fc2",
                         transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "digits",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])],
        inits)
    model = helper.make_model(graph, producer_name="onnxcc samples/digits/make_model.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main():
    xtr, ytr, xte, yte = split()
    w1, b1, w2, b2 = train(xtr, ytr)
    ptr = forward(xtr, w1, b1, w2, b2)
    pte = forward(xte, w1, b1, w2, b2)
    print("train accuracy %.1f%%, held-out accuracy on %d digits %.1f%%" % (
        100.0 * (ptr.argmax(1) == ytr).mean(), len(yte), 100.0 * (pte.argmax(1) == yte).mean()))

    onnx.save(export(w1, b1, w2, b2), os.path.join(HERE, "digits.onnx"))
    ds = os.path.join(HERE, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    x0 = xte[:1].astype(np.float32)
    with open(os.path.join(ds, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x0, "input").SerializeToString())
    with open(os.path.join(ds, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(forward(x0, w1, b1, w2, b2), "probabilities")
                .SerializeToString())
    xte.astype("<f4").tofile(os.path.join(HERE, "heldout.bin"))
    yte.astype(np.uint8).tofile(os.path.join(HERE, "heldout_labels.bin"))


if __name__ == "__main__":
    main()
