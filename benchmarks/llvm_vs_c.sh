#!/bin/bash
# llvm_vs_c.sh — a benchmark, not a test: NAME_run's median time with the C back end
# (`--target c`, built with cc -O3 -march=native) against the LLVM back end (`--target
# x86_64 --cpu native`, harness linked with NAME.o), on three models: the digits sample
# (tiny MLP), tests/models/convnet (two 3x3 convolutions) and tests/models/mlp (matmul
# heavy). Each contender is built once through `onnxcc check --keep` (so both are first
# checked against the expected output), then the two are run alternately ROUNDS times,
# RUNS timed calls each, and the table shows the median of the per-round medians.
#   usage: benchmarks/llvm_vs_c.sh [BUILD_DIR] [ROUNDS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-7}
runs=${3:-50}
onnxcc=$build/onnxcc
[ -x "$onnxcc" ] || { echo "no $onnxcc: build first (meson setup $build && ninja -C $build)" >&2; exit 1; }
[ -f tests/models/mlp/model.onnx ] || /usr/bin/python3 tests/models/make_bench_models.py

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check --keep leaves its build dir; rebuild there with the flags under comparison.
prepare() {  # NAME MODEL DATASET TARGET [EXTRA...] -> $work/NAME/prog
    local name=$1 model=$2 ds=$3 target=$4
    shift 4
    local log=$work/$name.log
    "$onnxcc" check "$model" "$ds" --target "$target" --atol 1e-5 --keep "$@" >"$log" 2>&1 || {
        echo "onnxcc check failed for $name:" >&2; tail -n 3 "$log" >&2; exit 1; }
    local dir
    dir=$(sed -n 's/^kept: //p' "$log" | tail -n 1)
    mkdir -p "$work/$name"
    if [ "$target" = c ]; then
        (cd "$dir" && cc -std=c99 -O3 -march=native -o "$work/$name/prog" ./*.c -lm)
    else
        (cd "$dir" && cc -std=c99 -O2 -o "$work/$name/prog" ./*.c ./*.o -lm)
    fi
    rm -rf "$dir"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

models=("digits samples/digits/digits.onnx samples/digits/test_data_set_0"
        "convnet tests/models/convnet/model.onnx tests/models/convnet/test_data_set_0"
        "mlp tests/models/mlp/model.onnx tests/models/mlp/test_data_set_0")

printf '%-10s %16s %16s %12s\n' model "c -O3 (us)" "llvm x86_64 (us)" "c / llvm"
for m in "${models[@]}"; do
    read -r name model ds <<<"$m"
    prepare "$name-c" "$model" "$ds" c
    prepare "$name-llvm" "$model" "$ds" x86_64 --cpu native
    : >"$work/$name-c.times"
    : >"$work/$name-llvm.times"
    for ((r = 0; r < rounds; r++)); do
        # alternate which one goes first, so drift (turbo, other load) hits both alike
        if ((r % 2)); then order="llvm c"; else order="c llvm"; fi
        for who in $order; do
            "$work/$name-$who/prog" --bench "$runs" | awk '/median_us/ { print $2 }' >>"$work/$name-$who.times"
        done
    done
    c=$(median <"$work/$name-c.times")
    l=$(median <"$work/$name-llvm.times")
    printf '%-10s %16.2f %16.2f %12.2f\n' "$name" "$c" "$l" "$(awk -v c="$c" -v l="$l" 'BEGIN { print c / l }')"
done
