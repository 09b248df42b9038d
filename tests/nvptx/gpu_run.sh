#!/bin/bash
# gpu_run.sh — the conformance-nvptx test: the node tests run on a GPU through
# `onnxcc check --target nvptx` (PTX + NAME_host.c + the harness, linked to libcuda.so.1),
# against expected_failures_nvptx.txt. Where there is no CUDA driver or no GPU, check says
# "no CUDA driver" for a one-node model first, and the test is skipped (exit 77).
# usage: gpu_run.sh ONNXCC RUNNER EXPECTED OUTDIR [DATA_ROOT]
set -uo pipefail
onnxcc=$1 runner=$2 expect=$3 out=$4
data=${5:-/usr/share/libonnx-testdata/data/node}
[ -d "$data/test_relu" ] || { echo "SKIP: no node tests at $data"; exit 77; }
v=$("$onnxcc" check "$data/test_relu/model.onnx" "$data/test_relu/test_data_set_0" \
    --target nvptx 2>&1 | tail -n 1)
case "$v" in
*"no CUDA driver"*)
    echo "SKIP: $v"
    exit 77 ;;
PASS) ;;
*)
    echo "test_relu on the GPU: $v (running the suite anyway)" ;;
esac
exec "$runner" --onnxcc "$onnxcc" --target nvptx --expect "$expect" --out "$out" --data "$data"
