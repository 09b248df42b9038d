#!/bin/bash
# run.sh — `onnxcc check MODEL` without a data set (the self-check against the loop-IR
# interpreter) on every model under tests/models, on every target given: c, x86_64,
# x86_64 with --cpu native, aarch64 (qemu-user), hls; nvptx only where a GPU answers.
# Each model x target must end with PASS after comparing every output. Then: the check
# can fail (tolerance 0 against kernels that sum in another order gives "FAIL wrong
# values"), and the progress line shows on a terminal only (util.c's progress()).
# usage: run.sh ONNXCC SOURCE_ROOT TARGET...   (TARGET: c, x86_64, native, aarch64, hls, nvptx)
set -u
onnxcc=$1
root=$2
shift 2
seed=20261130   # fixed, so a failure here is repeated with the same inputs
fails=0
runs=0
for target in "$@"; do
    case $target in
    native) args=(--target x86_64 --cpu native) ;;
    *) args=(--target "$target") ;;
    esac
    for m in "$root"/tests/models/*/model.onnx; do
        name=$(basename "$(dirname "$m")")
        out=$("$onnxcc" check "$m" --seed $seed "${args[@]}" 2>&1)
        last=$(printf '%s\n' "$out" | tail -n 1)
        if [ "$target" = nvptx ] && [[ $last == *"no CUDA driver"* ]]; then
            echo "skip: $name on nvptx: $last"
            continue
        fi
        runs=$((runs + 1))
        nok=$(printf '%s\n' "$out" | grep -c ': OK$')
        if [ "$last" != PASS ] || [ "$nok" -lt 1 ] || ! grep -q "^seed $seed:" <<<"$out" ||
           grep -q $'[\r\033]' <<<"$out"; then
            echo "FAIL: self-check of $name on target $target (${args[*]}, --seed $seed):"
            printf '%s\n' "$out" | sed 's/^/    /'
            fails=$((fails + 1))
        else
            echo "ok: $name on $target ($nok outputs compared)"
        fi
    done
done

# the comparison is real: with no tolerance, kernels that sum in blocks (and Winograd) do
# not reproduce the interpreter's left-to-right float32 sums on resnet to the last bit
out=$("$onnxcc" check "$root/tests/models/resnet/model.onnx" --seed $seed --rtol 0 --atol 0 2>&1)
last=$(printf '%s\n' "$out" | tail -n 1)
if [[ $last != "FAIL wrong values: output "* ]] || ! grep -q MISMATCH <<<"$out"; then
    echo "FAIL: self-check at tolerance 0 should find differing values on resnet; got:"
    printf '%s\n' "$out" | sed 's/^/    /'
    fails=$((fails + 1))
fi

# progress: on a terminal (script(1) gives one) a '\r' line that ends cleared; the verdict
# stays the last line (the loop above found none in output that is not a terminal)
if command -v script >/dev/null 2>&1; then
    tty_log=$(mktemp)
    script -qec "'$onnxcc' check '$root/tests/models/mlp3/model.onnx' --seed 1" "$tty_log" \
        >/dev/null 2>&1 </dev/null
    if ! grep -q $'\rload model.onnx' "$tty_log" || ! grep -q $'\r\033\\[K' "$tty_log" ||
       [ "$(tr -d '\r' <"$tty_log" | grep -v '^Script ' | grep -v '^$' | tail -n 1)" != PASS ]; then
        echo "FAIL: no progress line (or no final PASS) on a terminal:"
        cat -v "$tty_log" | head -20 | sed 's/^/    /'
        fails=$((fails + 1))
    fi
    rm -f "$tty_log"
else
    echo "skip: the terminal progress check needs script(1) (Debian package bsdutils)"
fi

echo "$runs self-checks, $fails failed"
[ $fails -eq 0 ]
