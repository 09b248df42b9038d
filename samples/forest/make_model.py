#!/usr/bin/python3
"""make_model.py — trains the forest sample's random forest and writes what the sample ships.

Run with Debian's python (python3-sklearn, python3-onnx, python3-numpy):
    /usr/bin/python3 samples/forest/make_model.py
Deterministic (fixed seeds). There is no skl2onnx on Debian 12, so the conversion to an
ai.onnx.ml TreeEnsembleClassifier is written here from the fitted trees' tree_ arrays.
Writes, next to this script:
  forest.onnx                  TreeEnsembleClassifier (ai.onnx.ml 1, opset 13): input
                               features float32[1,30]; outputs label int64[1],
                               probabilities float32[1,2]
  test_data_set_0/             the first held-out sample: input_0.pb, and scikit-learn's
                               label (output_0.pb) and probabilities (output_1.pb)
  heldout.bin                  N held-out samples, N*30 float32 little-endian
  heldout_labels.bin           their true classes, one uint8 each
  heldout_sklearn.bin          scikit-learn's prediction for each, one uint8 each
The held-out samples are never seen by training.
"""
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
TREES = 63          # odd: two classes can never tie on whole votes
HELDOUT = 143
MAX_DEPTH = 10


def threshold_f32(t):
    """The largest float32 <= t: for a float32 x, x <= t (in double, as scikit-learn
    compares) exactly when x <= this float32, so float32 tables predict what it predicts."""
    f = np.float32(t)
    if float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


def convert(rf, nfeatures):
    nodes = {k: [] for k in ("treeids", "nodeids", "featureids", "values", "modes",
                             "truenodeids", "falsenodeids")}
    cls = {k: [] for k in ("treeids", "nodeids", "ids", "weights")}
    ntrees = len(rf.estimators_)
    for t, est in enumerate(rf.estimators_):
        tr = est.tree_
        for i in range(tr.node_count):
            leaf = tr.children_left[i] < 0
            nodes["treeids"].append(t)
            nodes["nodeids"].append(i)
            nodes["featureids"].append(0 if leaf else int(tr.feature[i]))
            nodes["values"].append(0.0 if leaf else threshold_f32(tr.threshold[i]))
            nodes["modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            # scikit-learn sends x <= threshold to the left child
            nodes["truenodeids"].append(0 if leaf else int(tr.children_left[i]))
            nodes["falsenodeids"].append(0 if leaf else int(tr.children_right[i]))
            if leaf:
                v = tr.value[i][0]
                p = v / v.sum()
                for c, w in enumerate(p):
                    if w != 0.0:   # zero weights add nothing: leave them out of the tables
                        cls["treeids"].append(t)
                        cls["nodeids"].append(i)
                        cls["ids"].append(c)
                        cls["weights"].append(float(w / ntrees))
    node = helper.make_node(
        "TreeEnsembleClassifier", ["features"], ["label", "probabilities"],
        domain="ai.onnx.ml", name="forest",
        classlabels_int64s=[int(c) for c in rf.classes_],
        nodes_treeids=nodes["treeids"], nodes_nodeids=nodes["nodeids"],
        nodes_featureids=nodes["featureids"], nodes_values=nodes["values"],
        nodes_modes=nodes["modes"], nodes_truenodeids=nodes["truenodeids"],
        nodes_falsenodeids=nodes["falsenodeids"],
        class_treeids=cls["treeids"], class_nodeids=cls["nodeids"], class_ids=cls["ids"],
        class_weights=cls["weights"], post_transform="NONE")
    graph = helper.make_graph(
        [node], "forest",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, nfeatures])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                       [1, len(rf.classes_)])])
    model = helper.make_model(graph, producer_name="onnxcc samples/forest/make_model.py",
                              opset_imports=[helper.make_opsetid("", 13),
                                             helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    d = load_breast_cancer()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(y))
    test, train = perm[:HELDOUT], perm[HELDOUT:]
    rf = RandomForestClassifier(n_estimators=TREES, max_depth=MAX_DEPTH, random_state=0)
    rf.fit(x[train], y[train])
    model = convert(rf, x.shape[1])
    onnx.save(model, os.path.join(HERE, "forest.onnx"))

    xt = x[test]
    pred = rf.predict(xt).astype(np.uint8)
    proba = rf.predict_proba(xt).astype(np.float32)
    xt.astype("<f4").tofile(os.path.join(HERE, "heldout.bin"))
    y[test].astype(np.uint8).tofile(os.path.join(HERE, "heldout_labels.bin"))
    pred.tofile(os.path.join(HERE, "heldout_sklearn.bin"))
    ds = os.path.join(HERE, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    for name, arr in (("input_0.pb", xt[:1]), ("output_0.pb", pred[:1].astype(np.int64)),
                      ("output_1.pb", proba[:1])):
        with open(os.path.join(ds, name), "wb") as f:
            f.write(numpy_helper.from_array(arr).SerializeToString())
    acc = float((pred == y[test]).mean())
    nodes = sum(e.tree_.node_count for e in rf.estimators_)
    print(f"forest: {TREES} trees, {nodes} nodes; held-out accuracy {acc:.4f} "
          f"({HELDOUT} samples)")


if __name__ == "__main__":
    main()
