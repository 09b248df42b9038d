#!/bin/bash
# tests/weights/run.sh — the C back end's weights forms on a model with 4 MiB of weights
# (benchmarks/make_big_models.py: 4 layers of 512x512, external data):
#   - the default writes NAME_weights.c as one blob of string-literal rows (no hex floats),
#     --weights hex as hex-float arrays (no blob), --weights bytes forces the blob;
#   - both build with gcc (and clang when present) -std=c99 -Wall -Wextra -pedantic -Werror,
#     also with --section-weights; their outputs on the same input are bit-identical;
#   - `onnxcc check` passes on the data set in both forms (numpy's reference);
#   - a bad --weights value, or --weights bytes for an object target, is one error line;
#   - Conv+BatchNormalization with 2.4 MB of weights inside model.onnx passes `onnxcc check`
#     (C, x86_64): the spilled, folded and released weights stay right;
#   - an 80 MiB model compiles within 1.5x its weights + 100 MB of peak RSS (blob, bin and
#     x86_64 forms; GNU time), the blob split into 5+ files, and all pass `onnxcc check`.
# usage: run.sh ONNXCC SOURCE_ROOT     (exit 77: python3-onnx is not installed)
set -uo pipefail
onnxcc=$1 src=$2
py=/usr/bin/python3
if ! "$py" -c 'import onnx, numpy' 2>/dev/null; then
    echo "weights-forms: SKIP: no onnx for $py (install the Debian package python3-onnx)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "weights-forms: FAIL: $*"; exit 1; }

"$py" "$src/benchmarks/make_big_models.py" "$work/m" 4 512 >/dev/null || fail "make_big_models.py"
model=$work/m/model.onnx data=$work/m/test_data_set_0
ccs=(gcc)
command -v clang >/dev/null 2>&1 && ccs+=(clang)
flags=(-std=c99 -Wall -Wextra -pedantic -Werror -O2)

cat > "$work/main.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "net.h"
int main(void)
{
    static float x[1][512], y[1][512];
    unsigned u;
    int i;
    for (i = 0; i < 512; i++) x[0][i] = (float)((i * 37) % 101 - 50) / 50.0f;
    if (net_run((const float (*)[512])x, y) != 0) return 1;
    for (i = 0; i < 512; i++) {
        memcpy(&u, &y[0][i], 4);
        printf("%08x\n", u);
    }
    return 0;
}
C

# form: output dir, extra options; builds with every compiler, runs, leaves out.txt
build() {
    local name=$1 dir=$work/$1
    shift
    "$onnxcc" compile "$model" -o "$dir" --name net "$@" > "$dir.log" 2>&1 ||
        fail "compile $name: $(cat "$dir.log")"
    for cc in "${ccs[@]}"; do
        (cd "$dir" && "$cc" "${flags[@]}" -I. *.c "$work/main.c" -o "prog_$cc" -lm) \
            > "$dir.$cc.log" 2>&1 || fail "$cc build of $name (warnings are errors): $(head -5 "$dir.$cc.log")"
        "$dir/prog_$cc" > "$dir/out_$cc.txt" || fail "run of $name ($cc)"
        [ "$(wc -l < "$dir/out_$cc.txt")" -eq 512 ] || fail "$name ($cc) printed no 512 outputs"
    done
}

build auto
grep -q 'net_wblob' "$work/auto/net_weights.c" || fail "default form of 4 MiB is not the blob"
grep -q '0x1\.[0-9a-f]*p' "$work/auto/net_weights.c" && fail "default form still has hex floats"
lines=$(grep -c '^"' "$work/auto/net_weights.c")
[ "$lines" -ge 1026 ] || fail "blob has $lines rows; 4 MiB needs at least 1026 of 4095 bytes"
build hex --weights hex
grep -q 'net_wblob' "$work/hex/net_weights.c" && fail "--weights hex wrote the blob"
grep -q '0x1\.[0-9a-f]*p' "$work/hex/net_weights.c" || fail "--weights hex wrote no hex floats"
build sect --weights bytes --section-weights .rodata.onnxcc_weights
grep -q 'section(".rodata.onnxcc_weights")' "$work/sect/net_weights.c" ||
    fail "--section-weights not on the blob"
for cc in "${ccs[@]}"; do
    cmp -s "$work/auto/out_$cc.txt" "$work/hex/out_$cc.txt" ||
        fail "blob and hex forms differ ($cc): $(diff "$work/auto/out_$cc.txt" "$work/hex/out_$cc.txt" | head -3)"
    cmp -s "$work/auto/out_$cc.txt" "$work/sect/out_$cc.txt" || fail "--section-weights changed outputs"
done
# the outputs are real numbers, not all zero (a blob read at the wrong offset would still agree)
[ "$(sort -u "$work/auto/out_gcc.txt" | wc -l)" -gt 100 ] || fail "outputs are nearly constant"

for form in bytes hex; do
    out=$("$onnxcc" check "$model" "$data" --atol 1e-5 --weights $form 2>&1)
    [ "$(tail -1 <<<"$out")" = PASS ] || fail "check --weights $form: $(tail -3 <<<"$out")"
done

out=$("$onnxcc" compile "$model" -o "$work/bad" --weights floats 2>&1) && fail "--weights floats accepted"
[ "$(wc -l <<<"$out")" -eq 1 ] || fail "bad --weights: not one line: $out"
[ -e "$work/bad" ] && fail "bad --weights left output behind"
out=$("$onnxcc" compile "$model" -o "$work/obj" --target x86_64 --weights bytes 2>&1) &&
    fail "--weights bytes accepted for target x86_64"
[ "$(wc -l <<<"$out")" -eq 1 ] || fail "--weights bytes on x86_64: not one line: $out"
grep -q 'needs the C back end' <<<"$out" || fail "--weights bytes on x86_64: $out"
# Large weights (80 MiB: 5 layers of 2048x2048, external data): onnxcc keeps about one copy
# (peak RSS at most 1.5x the weights + 100 MB) in the blob form, with --weights bin and, on
# x86_64 (and aarch64 under qemu-user), where LLVM's object gets the weights written in
# after emission (past 64 MiB); the blob comes in several files (one per ~16 MiB); all must
# compute the right outputs (a zero or misplaced weight would not).
"$py" "$src/benchmarks/make_big_models.py" "$work/big" 80 2048 >/dev/null || fail "make_big_models.py 80"
big=$work/big/model.onnx
limit=$(( (80 * 1049 * 3 / 2 + 100000) ))   # kB: 1.5 x 80 MiB + 100 MB
large=("--weights bytes" "--weights bin")
# onnxcc built without LLVM (meson -Dllvm=disabled) has no x86_64 objects to measure
if "$onnxcc" compile "$model" -o "$work/probe" --target x86_64 >/dev/null 2>&1; then
    large+=("--target x86_64")
    # the same ELF patching on aarch64, run under qemu-user where the cross tools are
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1 &&
        large+=("--target aarch64")
fi
rm -rf "$work/m" "$work"/auto "$work"/hex "$work"/sect
for opts in "${large[@]}"; do
    rm -rf "$work/bo"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%M' -o "$work/rss" "$onnxcc" compile "$big" -o "$work/bo" $opts \
            > "$work/bo.log" 2>&1 || fail "compile 80 MiB $opts: $(tail -1 "$work/bo.log")"
        kb=$(tail -1 "$work/rss")
        [ "$kb" -le "$limit" ] || fail "compile 80 MiB $opts: peak RSS $kb kB > $limit kB"
        echo "weights-forms: 80 MiB $opts: onnxcc peak RSS $((kb / 1024)) MB"
    else
        echo "weights-forms: no /usr/bin/time (install the Debian package time): RSS not checked"
    fi
    case $opts in
        *bytes*)   # the blob in files of ~16 MiB: NAME_weights.c, NAME_weights_1.c ...
            n=$(ls "$work/bo"/model_weights*.c | wc -l)
            [ "$n" -ge 5 ] || fail "80 MiB blob in $n files; ~16 MiB each needs 5 or more" ;;
    esac
    out=$("$onnxcc" check "$big" "$work/big/test_data_set_0" --atol 1e-4 $opts 2>&1)
    [ "$(tail -1 <<<"$out")" = PASS ] || fail "check 80 MiB $opts: $(tail -3 <<<"$out")"
done
# weights inside model.onnx (spilled, BatchNormalization-folded, packed, released) on C
# and, where LLVM is, x86_64: numpy's outputs
"$py" "$src/tests/weights/make_convbn.py" "$work/cbn" || fail "make_convbn.py"
for opts in "" "${large[@]:2}"; do
    out=$("$onnxcc" check "$work/cbn/model.onnx" "$work/cbn/test_data_set_0" --atol 1e-4 $opts 2>&1)
    [ "$(tail -1 <<<"$out")" = PASS ] || fail "check conv+bn $opts: $(tail -3 <<<"$out")"
done
echo "weights-forms: PASS (blob and hex forms bit-identical, ${ccs[*]} -pedantic clean; 80 MiB in one copy)"
