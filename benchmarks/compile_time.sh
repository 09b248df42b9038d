#!/bin/bash
# compile_time.sh — onnxcc's compile time against model size (a benchmark, not a test):
#
#   bash benchmarks/compile_time.sh [BUILD_DIR]      (default build)
#
# Writes chains of 10,000, 40,000 and 100,000 nodes with Debian's python3-onnx into
# BUILD_DIR/compile-time (Relu chains, which fuse into FusedElementwise pieces, and Softmax
# chains, which stay one function per node), compiles each with `onnxcc compile` for the C
# target and prints a table of wall seconds and peak memory (GNU time), with the time per
# node: near-constant per node means near-linear growth.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
build=${1:-build}
onnxcc=$build/onnxcc
[ -x "$onnxcc" ] || { echo "compile_time.sh: no $onnxcc" >&2; exit 1; }
py=/usr/bin/python3
"$py" -c 'import onnx' 2>/dev/null || { echo "compile_time.sh: needs python3-onnx for $py" >&2; exit 1; }
dir=$build/compile-time
mkdir -p "$dir"
"$py" - "$dir" <<'PY'
import sys, os
import onnx
from onnx import helper, TensorProto
d = sys.argv[1]
for op in ('Relu', 'Softmax'):
    for n in (10000, 40000, 100000):
        path = os.path.join(d, f'{op.lower()}_{n}.onnx')
        if os.path.exists(path):
            continue
        nodes, prev = [], 'x'
        for i in range(n):
            out = 'y' if i == n - 1 else f't{i}'
            nodes.append(helper.make_node(op, [prev], [out], name=f'{op.lower()}_{i}'))
            prev = out
        g = helper.make_graph(nodes, 'chain', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 4])])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), path)
PY
echo "| model | nodes | functions | seconds | us per node | peak MB |"
echo "|---|---:|---:|---:|---:|---:|"
for op in relu softmax; do
    for n in 10000 40000 100000; do
        m=$dir/${op}_$n.onnx
        out=$(/usr/bin/time -f "%e %M" "$onnxcc" compile "$m" -o "$dir/out_${op}_$n" 2>&1)
        funcs=$(echo "$out" | sed -n 's/.*(\([0-9]*\) functions.*/\1/p')
        read -r secs kb <<<"$(echo "$out" | tail -1)"
        awk -v op="$op" -v n="$n" -v f="${funcs:-?}" -v s="$secs" -v kb="$kb" \
            'BEGIN { printf "| %s chain | %d | %s | %.2f | %.1f | %.0f |\n", op, n, f, s, s * 1e6 / n, kb / 1024 }'
    done
done
