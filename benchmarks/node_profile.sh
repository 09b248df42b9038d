#!/bin/bash
# node_profile.sh — where one model's time goes, node by node, against ONNX Runtime's own
# per-node profile: the tool behind the "per node" remarks in README's speed section.
#
#   bash benchmarks/node_profile.sh BUILD_DIR MODEL [RUNS]
#
# MODEL is one of BUILD_DIR/bench-models (made by benchmarks/run.sh, which also installs
# onnxruntime-node). onnxcc's side: `--target c`, gcc -O3 -march=native, the model's file
# compiled with -finstrument-functions and linked with benchmarks/node_prof.c, so each node
# function (its kernels inside) is timed; NET_run's time is the total. ORT's side: one
# thread, optimisation level all, its profiler's mean kernel time per node
# (ort_bench.js profile). Both pinned to one core (ONNXCC_BENCH_CORE, default 1), RUNS calls
# each (default 200). Rows pair a node with ORT's node of the same operator kind (Conv,
# Gemm and MatMul as one, pools, Concat, LSTM...) whose name carries the nearest number (ORT
# names a fused node after one of its operators: Conv_24 + Relu_25 is relu_25_nchwc);
# ORT's nodes left unpaired (its Concats, layout reorders) are listed after them. The
# instrumentation adds about a microsecond per node.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
[ $# -ge 2 ] || { echo "usage: bash benchmarks/node_profile.sh BUILD_DIR MODEL [RUNS]" >&2; exit 2; }
build=$(cd "$1" 2>/dev/null && pwd) || { echo "node_profile.sh: no build dir $1" >&2; exit 1; }
m=$2 runs=${3:-200}
mdir=$build/bench-models/$m
core=${ONNXCC_BENCH_CORE:-$(($(nproc 2>/dev/null || echo 1) > 1 ? 1 : 0))}
[ -f "$mdir/meta.txt" ] || { echo "node_profile.sh: no $mdir (run benchmarks/run.sh $1 first)" >&2; exit 1; }
[ -d benchmarks/node_modules/onnxruntime-node ] ||
    { echo "node_profile.sh: onnxruntime-node missing (benchmarks/run.sh installs it)" >&2; exit 1; }
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
# the one bench_model.h writer, shared with run.sh
# shellcheck disable=SC1090
source <(sed -n '/^write_bench_header()/,/^}/p' benchmarks/run.sh)

extra=() bin=0
if [ "$(stat -c %s "$mdir/model.onnx")" -gt 16000000 ]; then extra=(--weights bin); bin=1; fi
"$build/onnxcc" compile "$mdir/model.onnx" -o "$work/src" --name "$m" "${extra[@]}" >/dev/null || exit 1
write_bench_header "$mdir/meta.txt" "$m" "$bin" "$work/bench_model.h"
others=()
for f in "$work"/src/*.c; do [ "$f" = "$work/src/$m.c" ] || others+=("$f"); done
gcc -std=c11 -O3 -march=native -I"$work" -I"$work/src" -finstrument-functions -c "$work/src/$m.c" \
    -o "$work/model.o" || exit 1
gcc -std=c11 -O3 -march=native -I"$work" -I"$work/src" "$work/model.o" "${others[@]}" \
    benchmarks/harness.c benchmarks/node_prof.c -ldl -lm -o "$work/prog" || exit 1
w=() && [ "$bin" = 1 ] && w=("$work/src/${m}_weights.bin")
ONNXCC_PROF_OUT=$work/prof.txt taskset -c "$core" "$work/prog" "$mdir" - "$runs" 0 "${w[@]}" >/dev/null ||
    exit 1
nm "$work/prog" | awk 'NF == 3 { print $1, $3 }' >"$work/syms"
(cd benchmarks && taskset -c "$core" node ort_bench.js profile "$mdir" "$runs") >"$work/ort.txt" || exit 1

/usr/bin/python3 - "$work/syms" "$work/prof.txt" "$work/ort.txt" "$m" <<'PY'
import re, sys
syms = dict(l.split() for l in open(sys.argv[1]))
net = sys.argv[4]
ours, total = [], None
for l in open(sys.argv[2]):
    addr, calls, ms = l.split()
    name, calls, ms = syms.get(addr, "?"), int(calls), float(ms)
    if name == net + "_run":
        total = ms / calls
    elif re.match(r"n\d+_", name) and calls:
        ours.append((int(name[1:name.index("_")]), name.split("_", 1)[1], ms / calls))
ours.sort()
ort = [(l.split()[1], l.split()[2], float(l.split()[0]) / 1000) for l in open(sys.argv[3])]
KINDS = ("globalaveragepool", "globalmaxpool", "maxpool", "averagepool", "conv", "gemm",
         "matmul", "concat", "lstm", "gru", "rnn", "softmax", "layernormalization", "attention")
def kind(op):
    op = op.lower()
    k = next((k for k in KINDS if op.startswith(k) or k in op), None)
    return "matmul" if k == "gemm" else k  # ORT turns MatMul + Add into Gemm
def number(name):
    m = re.search(r"(\d+)", name)
    return int(m.group(1)) if m else None
# pair each node with ORT's node of the same kind whose name has the nearest number (ORT
# names a fused node after one of its ops: Conv_24 + Relu_25 is relu_25_nchwc); names
# without numbers pair in order
used, pairs = set(), []
for _, name, ms in ours:
    k, n, best = kind(name.rsplit("_", 1)[0]), number(name), None
    if k:
        cands = [i for i, o in enumerate(ort) if i not in used and kind(o[1]) == k]
        if n is not None:
            num = [i for i in cands if number(ort[i][0]) is not None]
            best = min(num, key=lambda i: (abs(number(ort[i][0]) - n), number(ort[i][0]) < n)) \
                if num else None
        elif cands:
            best = cands[0]
    if best is not None:
        used.add(best)
    pairs.append((name, ms, best))
print("| onnxcc node | ms | ORT node | ms | ORT / onnxcc |")
print("|---|---:|---|---:|---:|")
for name, ms, i in pairs:
    if i is None:
        print("| %s | %.3f | | | |" % (name, ms))
    else:
        o = ort[i]
        print("| %s | %.3f | %s (%s) | %.3f | %.2f |" % (name, ms, o[0], o[1], o[2],
                                                   o[2] / ms if ms else 0))
for i, o in enumerate(ort):
    if i not in used:
        print("| | | %s (%s) | %.3f | |" % (o[0], o[1], o[2]))
print("| **%s_run** | **%.3f** | all ORT nodes | **%.3f** | %.2f |" % (
    net, total or 0, sum(o[2] for o in ort), sum(o[2] for o in ort) / total if total else 0))
PY
