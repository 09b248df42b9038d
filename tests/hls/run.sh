#!/bin/bash
# run.sh — the HLS back end end to end: compiles models with --target hls in several
# configurations (float, fixed<16,6>, --hls-unroll, ap_memory), lints every emitted
# NAME_hls.c (lint.sh), builds each C-simulation testbench with gcc and runs it (it returns
# non-zero on a mismatch, as Vitis HLS expects), and checks that report lists per-layer
# costs and that fixed point refuses an operator it does not cover, naming the node.
# usage: run.sh ONNXCC SOURCE_ROOT
set -u
onnxcc=$1
root=$2
node=/usr/share/libonnx-testdata/data/node
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; status=1; }

# model|dataset|name|options
cases=("$root/samples/digits/digits.onnx|$root/samples/digits/test_data_set_0|digits|"
       "$root/samples/digits/digits.onnx|$root/samples/digits/test_data_set_0|digitsfx|--hls-type=fixed<16,6>"
       "$root/samples/digits/digits.onnx|$root/samples/digits/test_data_set_0|digitsu|--hls-unroll=4 --hls-interface=ap_memory"
       "$root/samples/digits/digits.onnx||digitsref|--hls-type=fixed<16,6>")
for t in test_conv_with_strides_padding test_maxpool_2d_pads test_averagepool_2d_strides \
         test_gemm_default_matrix_bias test_matmul_3d test_batchnorm_example test_concat_3d_axis_1 \
         test_transpose_all_permutations_0 test_softmax_axis_1 test_relu test_add_bcast \
         test_globalaveragepool test_flatten_default_axis test_clip test_convtranspose; do
    [ -d "$node/$t" ] && cases+=("$node/$t/model.onnx|$node/$t/test_data_set_0|$t|" \
                                 "$node/$t/model.onnx|$node/$t/test_data_set_0|${t}_u|--hls-unroll=2")
done
n=0
for c in "${cases[@]}"; do
    IFS='|' read -r model data name opts <<< "$c"
    out=$tmp/$name
    args=(compile "$model" -o "$out" --name m --target hls)
    [ -n "$data" ] && args+=(--hls-data "$data")
    # shellcheck disable=SC2206
    [ -n "$opts" ] && args+=($opts)
    if ! "$onnxcc" "${args[@]}" > "$tmp/log" 2>&1; then
        fail "$name: compile: $(tail -n 2 "$tmp/log")"
        continue
    fi
    for f in m_hls.h m_hls.c m_tb.c m_hls.tcl; do [ -f "$out/$f" ] || fail "$name: no $f"; done
    grep -q '^set_top m_hls$' "$out/m_hls.tcl" && grep -q '^add_files -tb m_tb.c' "$out/m_hls.tcl" &&
        grep -q '^csim_design$' "$out/m_hls.tcl" && grep -q '^csynth_design$' "$out/m_hls.tcl" ||
        fail "$name: incomplete Tcl script"
    bash "$root/tests/hls/lint.sh" "$out/m_hls.c" || fail "$name: lint"
    if gcc -std=c99 -Wall -Wextra -pedantic -Werror -Wvla -O1 "$out/m_hls.c" "$out/m_tb.c" \
           -o "$out/tb" -lm 2> "$tmp/log"; then
        (cd "$out" && ./tb > "$tmp/tb.log" 2>&1) || fail "$name: testbench: $(tail -n 3 "$tmp/tb.log")"
    else
        fail "$name: testbench build: $(head -n 3 "$tmp/log")"
    fi
    n=$((n + 1))
done
# pragmas the options ask for
grep -q 'INTERFACE m_axi port=input depth=64 offset=slave' "$tmp/digits/m_hls.c" || fail "m_axi pragma"
grep -q 'INTERFACE s_axilite port=return' "$tmp/digits/m_hls.c" || fail "s_axilite control"
grep -q 'INTERFACE ap_memory port=input' "$tmp/digitsu/m_hls.c" || fail "ap_memory pragma"
grep -q 'UNROLL factor=4' "$tmp/digitsu/m_hls.c" || fail "UNROLL pragma"
grep -q 'ARRAY_PARTITION variable=m_arena_f32 cyclic factor=4' "$tmp/digitsu/m_hls.c" || fail "ARRAY_PARTITION"
grep -q 'PIPELINE II=1' "$tmp/digits/m_hls.c" || fail "PIPELINE pragma"
grep -q 'typedef int16_t onnxcc_fx_t' "$tmp/digitsfx/m_hls.h" || fail "fixed<16,6> storage"
# report: a row per layer, totals
"$onnxcc" report "$root/samples/digits/digits.onnx" --target hls > "$tmp/rep" 2>&1 || fail "report"
grep -qE "^'fc1' \(Gemm\) +2048 +1x32x64 +8320 " "$tmp/rep" || fail "report row: $(cat "$tmp/rep")"
grep -q "^total: 2368 MACs" "$tmp/rep" || fail "report total"
# fixed point refuses what it does not cover, every node at once, naming node and op
"$onnxcc" compile "$node/test_sigmoid/model.onnx" -o "$tmp/sig" --target hls \
    --hls-type 'fixed<16,6>' > "$tmp/log" 2>&1 && fail "fixed Sigmoid accepted"
grep -q "not supported.*node 'Sigmoid_0' (Sigmoid)\|node 'Sigmoid_0' (Sigmoid)" "$tmp/log" || fail "refusal: $(cat "$tmp/log")"
# check in fixed point prints its tolerance and the error against the float results
"$onnxcc" check "$root/samples/digits/digits.onnx" "$root/samples/digits/test_data_set_0" \
    --target hls --hls-type 'fixed<16,6>' > "$tmp/log" 2>&1 || fail "fixed check: $(tail -n 2 "$tmp/log")"
grep -q "compared with float results at atol" "$tmp/log" || fail "fixed tolerance not printed"
echo "hls: $n configurations compiled, linted and simulated"
exit $status
