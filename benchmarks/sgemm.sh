#!/bin/sh
# sgemm.sh — rt_sgemm_f32 against OpenBLAS (single thread) on one core; prints a markdown table.
# usage: bash benchmarks/sgemm.sh [BUILD_DIR [quick] [cold]]   (the benchmark binary goes into BUILD_DIR;
# quick: fewer, shorter repetitions; cold: operands cycled through copies larger than the LLC)
# Needs gcc and Debian's libopenblas-dev (cblas.h, -lopenblas).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-sgemm}; [ $# -gt 0 ] && shift
mkdir -p "$out"
bin=$out/sgemm_bench
gcc -std=c99 -O3 -march=native -Wall -Wextra -I"$root/runtime" \
    "$root/benchmarks/sgemm_bench.c" "$root/runtime/rt_sgemm.c" "$root/runtime/rt_sgemm_pack.c" "$root/runtime/rt_vmath.c" \
    -lopenblas -lm -o "$bin"
echo "gcc -O3 -march=native; taskset -c ${ONNXCC_BENCH_CORE:-1}; OPENBLAS_NUM_THREADS=1 (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset for this run)"
echo
# OpenBLAS picks its own kernel for this CPU here: the environment's overrides are dropped for
# this command only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
    taskset -c "${ONNXCC_BENCH_CORE:-1}" "$bin" "$@"
