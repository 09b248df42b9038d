#!/bin/bash
# run.sh — every firmware API variant built and run (a meson test, and runnable alone):
#  1. the digits sample compiled six ways (default, --arena extern, --weights bin,
#     --io in-arena, --section-arena/--section-weights, all three), each built with
#     its own user program (digits_api.c) under -std=c99 -Wall -Wextra -pedantic -Werror
#     and required to print exactly the default variant's output;
#  2. `onnxcc check` of every model in tests/models/ with each variant (the check harness
#     speaks every variant), against the expected outputs. atol 1e-5: the float32 sums of
#     tests/models/mlp (K = 512) miss numpy's float64 reference by more than 1e-7 near 0.
#   bash tests/api/run.sh [path/to/onnxcc]     (default: build/onnxcc)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
onnxcc=${1:-build/onnxcc}
case "$onnxcc" in /*) ;; *) onnxcc=$PWD/$onnxcc ;; esac
out=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-api-XXXXXX")
trap 'rm -rf "$out"' EXIT
fail=0
cc=${CC:-cc}
flags=(-std=c99 -O2 -Wall -Wextra -pedantic -Werror)

variants=("DEFAULT:" "EXTERN:--arena extern" "BIN:--weights bin" "IO:--io in-arena"
          "SECT:--section-arena .onnxcc_arena --section-weights .onnxcc_weights"
          "ALL:--arena extern --weights bin --io in-arena")
for v in "${variants[@]}"; do
    tag=${v%%:*}
    opts=${v#*:}
    d=$out/$tag
    # shellcheck disable=SC2086
    if ! "$onnxcc" compile samples/digits/digits.onnx -o "$d" --name digits $opts >/dev/null; then
        echo "FAIL $tag: compile"; fail=1; continue
    fi
    if ! $cc "${flags[@]}" -DAPI_"$tag" -I"$d" tests/api/digits_api.c "$d"/*.c -lm -o "$d/prog"; then
        echo "FAIL $tag: build"; fail=1; continue
    fi
    if ! "$d/prog" samples/digits/heldout.bin "$d/digits_weights.bin" > "$d/out.txt"; then
        echo "FAIL $tag: run"; fail=1; continue
    fi
    if [ "$tag" != DEFAULT ] && ! cmp -s "$out/DEFAULT/out.txt" "$d/out.txt"; then
        echo "FAIL $tag: output differs from the default variant"; fail=1; continue
    fi
    echo "ok   digits $tag ($opts)"
done
# the sections really are there
if command -v objdump >/dev/null && [ -f "$out/SECT/prog" ]; then
    for s in .onnxcc_arena .onnxcc_weights; do
        if objdump -h "$out/SECT/prog" | grep -q " $s "; then
            echo "ok   section $s present"
        else
            echo "FAIL section $s missing"; fail=1
        fi
    done
fi
if "$onnxcc" compile samples/digits/digits.onnx -o "$out/bad" --arena extern \
        --section-arena .x >/dev/null 2>&1; then
    echo "FAIL --section-arena with --arena extern was accepted"; fail=1
fi

for m in tests/models/*/model.onnx; do
    name=$(basename "$(dirname "$m")")
    for v in "${variants[@]}"; do
        opts=${v#*:}
        # shellcheck disable=SC2086
        res=$("$onnxcc" check "$m" "$(dirname "$m")/test_data_set_0" --atol 1e-5 $opts 2>&1 |
              tail -n 1)
        if [ "$res" = PASS ]; then
            echo "ok   $name ${v%%:*}"
        else
            echo "FAIL $name ${v%%:*}: $res"; fail=1
        fi
    done
done
[ $fail -eq 0 ] && echo "all API variants pass" || echo "some API variant failed"
exit $fail
