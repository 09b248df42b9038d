#!/bin/bash
# memory.sh — the memory planner's table (not a test): for every model in tests/models/
# and the digits sample, the lower bound (the most arena bytes live at one function of the
# schedule), the planned arena and their ratio, from `onnxcc report`. Also the weights.
#   bash benchmarks/memory.sh [path/to/onnxcc]     (default: build/onnxcc)
# Prints a closing line saying whether every plan is within 5 % of its lower bound.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
onnxcc=${1:-build/onnxcc}
[ -x "$onnxcc" ] || { echo "memory.sh: $onnxcc not built (ninja -C build)" >&2; exit 1; }

printf '%-24s %12s %12s %7s %12s %9s\n' model lower_bound arena ratio weights in_place
worst=0
for m in tests/models/*/model.onnx samples/digits/digits.onnx; do
    name=$(basename "$(dirname "$m")")
    [ "$name" = digits ] || [ "$name" = . ] && name=digits
    out=$("$onnxcc" report "$m" 2>&1) || { echo "$name: report failed: $out"; worst=999; continue; }
    line=$(grep '^arena: planned' <<<"$out")
    arena=$(sed -E 's/^arena: planned ([0-9]+) bytes.*/\1/' <<<"$line")
    lb=$(sed -E 's/.*lower bound ([0-9]+) bytes.*/\1/' <<<"$line")
    inplace=$(sed -E 's/.*; ([0-9]+) tensors in place.*/\1/' <<<"$line")
    weights=$(grep '^weights:' <<<"$out" | sed -E 's/^weights: ([0-9]+) bytes.*/\1/')
    ratio=$(awk -v a="$arena" -v b="$lb" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 1) }')
    printf '%-24s %12s %12s %7s %12s %9s\n' "$name" "$lb" "$arena" "$ratio" "$weights" "$inplace"
    worst=$(awk -v w="$worst" -v r="$ratio" 'BEGIN { print (r > w ? r : w) }')
done
if awk -v w="$worst" 'BEGIN { exit !(w <= 1.05) }'; then
    echo "every plan within 5 % of its lower bound (worst ratio $worst)"
else
    echo "some plan is more than 5 % above its lower bound (worst ratio $worst)"
    exit 1
fi
