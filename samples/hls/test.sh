#!/bin/bash
# test.sh — the HLS sample: regenerates samples/hls/digits (float) and
# samples/hls/digits_fixed (fixed<16,6>) from samples/digits/digits.onnx and its test data
# set, fails if the checked-in files differ (they are what a user takes into Vitis HLS),
# lints them, builds and runs both C-simulation testbenches with gcc, and measures the
# fixed-point error against the float C back end on the 360 held-out digits.
# usage: test.sh ONNXCC SOURCE_ROOT
set -u
onnxcc=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }
model=$root/samples/digits/digits.onnx
data=$root/samples/digits/test_data_set_0
"$onnxcc" compile "$model" -o "$tmp/digits" --name digits --target hls --hls-data "$data" >/dev/null ||
    fail "compile (float)"
"$onnxcc" compile "$model" -o "$tmp/digits_fixed" --name digits --target hls --hls-data "$data" \
    --hls-type 'fixed<16,6>' >/dev/null || fail "compile (fixed)"
for v in digits digits_fixed; do
    diff -r "$root/samples/hls/$v" "$tmp/$v" > "$tmp/diff" ||
        fail "samples/hls/$v is stale: regenerate it (see README.md, HLS) $(head -n 5 "$tmp/diff")"
    bash "$root/tests/hls/lint.sh" "$root/samples/hls/$v/digits_hls.c" || fail "$v: lint"
    gcc -std=c99 -Wall -Wextra -pedantic -Werror -Wvla -O2 "$root/samples/hls/$v/digits_hls.c" \
        "$root/samples/hls/$v/digits_tb.c" -lm -o "$tmp/tb_$v" || fail "$v: testbench build"
    "$tmp/tb_$v" || fail "$v: testbench"
done
"$onnxcc" compile "$model" -o "$tmp/c" --name digits >/dev/null || fail "compile (C)"
gcc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -I"$tmp/c" -I"$root/samples/hls/digits_fixed" \
    "$tmp"/c/*.c "$root/samples/hls/digits_fixed/digits_hls.c" "$root/samples/hls/accuracy.c" \
    -lm -o "$tmp/acc" || fail "accuracy build"
"$tmp/acc" "$root/samples/digits" || fail "fixed-point accuracy"
exit $status
