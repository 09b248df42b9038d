#!/bin/bash
# run.sh — the forest sample end to end: compiles samples/forest/forest.onnx (a scikit-learn
# random forest as an ai.onnx.ml TreeEnsembleClassifier) to C, builds it with demo.c under
# -std=c99 -Wall -Wextra -pedantic -Werror, runs it over the held-out samples and requires
# every prediction to equal scikit-learn's (demo.c checks each one); the same with the
# x86_64 object where onnxcc has the LLVM back end; `onnxcc check` against
# test_data_set_0; and, where arm-none-eabi-gcc is installed, the generated code built for
# a Cortex-M4F with its flash size (text + rodata) printed.
#   bash samples/forest/run.sh [path/to/onnxcc]     (default: build/onnxcc)
# Exit status: 0 pass, 1 fail.
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
onnxcc=${1:-build/onnxcc}
case "$onnxcc" in /*) ;; *) onnxcc=$PWD/$onnxcc ;; esac
cc=${CC:-cc}
out=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-forest-XXXXXX")
trap 'rm -rf "$out"' EXIT
s=samples/forest

expect_all_equal() {   # $1: the demo's output file
    local n
    n=$(wc -c < $s/heldout_labels.bin)
    if ! grep -q "; $n of $n predictions equal scikit-learn's" "$1"; then
        echo "FAIL: not every prediction equals scikit-learn's:"; cat "$1"; exit 1
    fi
}

"$onnxcc" compile $s/forest.onnx -o "$out/c" --name forest --target c
$cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$out/c" "$out"/c/*.c $s/demo.c -lm \
    -o "$out/demo"
"$out/demo" $s | tee "$out/c.txt"
expect_all_equal "$out/c.txt"
echo "ok   target c"

if "$onnxcc" compile $s/forest.onnx -o "$out/x86" --name forest --target x86_64 \
        >"$out/x86.log" 2>&1; then
    $cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$out/x86" $s/demo.c \
        "$out/x86/forest.o" -lm -o "$out/demo-x86"
    "$out/demo-x86" $s > "$out/x86.txt"
    expect_all_equal "$out/x86.txt"
    echo "ok   target x86_64"
else
    echo "(no x86_64 object: $(head -1 "$out/x86.log"))"
fi

"$onnxcc" check $s/forest.onnx $s/test_data_set_0 > "$out/check.txt"
grep -q '^PASS' "$out/check.txt" || { echo "FAIL: onnxcc check"; cat "$out/check.txt"; exit 1; }
echo "ok   onnxcc check"

if command -v arm-none-eabi-gcc >/dev/null 2>&1 && command -v arm-none-eabi-size >/dev/null 2>&1; then
    for f in "$out"/c/*.c; do
        arm-none-eabi-gcc -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -std=c99 \
            -Wall -Wextra -pedantic -Werror -I"$out/c" -c "$f" -o "${f%.c}.o"
    done
    # text + rodata: the generated code and its tables are all const (no .data)
    arm-none-eabi-size -A "$out"/c/*.o | awk '
        $1 ~ /^\.text/ || $1 ~ /^\.rodata/ { flash += $2 }
        $1 ~ /^\.data/ { data += $2 }
        END { printf "Cortex-M4F flash (text + rodata): %d bytes; .data %d bytes\n", flash, data
              if (flash <= 0) exit 1 }'
else
    echo "(arm-none-eabi-gcc missing: no Cortex-M4 size; apt-get install gcc-arm-none-eabi)"
fi
