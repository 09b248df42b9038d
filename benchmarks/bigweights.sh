#!/bin/bash
# bigweights.sh — what large weights cost to build (a benchmark, not a test; issue 12):
#
#   bash benchmarks/bigweights.sh [BUILD_DIR] [SIZES]     (default build; BUILD_DIR/onnxcc)
#
# Models, written into a temp dir under /tmp (removed at the end: the 1 GB one needs ~1 GB
# of disk plus its outputs): synthetic MLPs of about 10 MB, 100 MB and 1 GB of weights
# (benchmarks/make_big_models.py, external data, numpy's expected outputs) and ResNet-50
# (benchmarks/make_models.py --only resnet50: 102 MB, weights inside model.onnx). SIZES
# picks some of them: "10 100 1000 resnet50" by default.
# Per model and form it prints one table row: onnxcc compile's wall seconds and peak RSS
# (GNU time), then the C compiler's (`gcc -O2 -c` on every generated .c file, one gcc
# process per file so peak RSS is the largest file's) and the sum, and `ok` when `onnxcc
# check --atol 1e-4` on the data set (MLPs; float32 sums of 1024+ terms that cancel near 0
# differ from numpy's float64 by ~1e-6) PASSes in that form (ResNet-50 has none: `-`).
# Forms: c-hex (--weights hex: the hex-float arrays; only for models up to 16 MB),
# c-default (--weights c: hex arrays up to 1 MiB, the string-literal blob above),
# c-bin (--weights bin: nothing for gcc to parse) and x86_64 (the LLVM object; the C
# compiler columns are empty) when onnxcc has the LLVM back end.
# The c-default form of the 1 GB model (~3 GB of C source; minutes of gcc) is skipped
# unless BIGW_ALL=1. Everything runs under `nice`, one command at a time.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
build=${1:-build}
onnxcc=$(cd "$build" 2>/dev/null && pwd)/onnxcc
[ -x "$onnxcc" ] || { echo "bigweights.sh: no $build/onnxcc (ninja -C $build)" >&2; exit 1; }
sizes=${2:-10 100 1000 resnet50}
py=/usr/bin/python3
"$py" -c 'import onnx, numpy' 2>/dev/null ||
    { echo "bigweights.sh: needs python3-onnx for $py (apt-get install python3-onnx)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bigweights.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
cc=${CC:-gcc}
work=$(mktemp -d /tmp/onnxcc-bigw.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
has_llvm=0
[ "$("$onnxcc" --help 2>&1 | grep -c x86_64)" -gt 0 ] && has_llvm=1

# timed LOG CMD...: runs CMD under nice and GNU time; prints "SECONDS MB" (MB of peak RSS)
timed() {
    local log=$1
    shift
    /usr/bin/time -f '@@ %e %M' -o "$log.time" nice "$@" > "$log" 2>&1
    local rc=$?
    awk '/^@@/ { printf "%.2f %.0f\n", $2, $3 / 1024 }' "$log.time"
    return $rc
}

echo "| model | weights MB | form | onnxcc s | onnxcc MB | $cc -O2 s | $cc MB | total s | check |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---|"
for s in $sizes; do
    m=$work/m_$s
    if [ "$s" = resnet50 ]; then
        "$py" benchmarks/make_models.py "$work/r" --only resnet50 > /dev/null ||
            { echo "bigweights.sh: make_models.py failed" >&2; exit 1; }
        mkdir -p "$m" && mv "$work/r/resnet50/model.onnx" "$m/model.onnx" && rm -rf "$work/r"
        data=
    else
        # widths keep the layer count small: 1 MiB, 16 MiB and 64 MiB layers
        w=512
        [ "$s" -ge 100 ] && w=2048
        [ "$s" -ge 1000 ] && w=4096
        "$py" benchmarks/make_big_models.py "$m" "$s" "$w" > /dev/null ||
            { echo "bigweights.sh: make_big_models.py failed" >&2; exit 1; }
        data=$m/test_data_set_0
    fi
    mb=$(cat "$m"/model.onnx* | wc -c | awk '{ printf "%.0f", $1 / 1e6 }')
    forms="c-default c-bin"
    # the hex arrays (the old default) cost ~6 s of gcc per MB: measured on the small model only
    [ "$mb" -le 16 ] && forms="c-hex $forms"
    [ $has_llvm = 1 ] && forms="$forms x86_64"
    for form in $forms; do
        case $form in
            c-hex) opts=(--weights hex) ;;
            c-default) opts=(--weights c) ;;
            c-bin) opts=(--weights bin) ;;
            x86_64) opts=(--target x86_64) ;;
        esac
        if [ "$form" = c-default ] && [ "$mb" -gt 512 ] && [ "${BIGW_ALL:-0}" != 1 ]; then
            echo "| $s | $mb | $form | skipped (BIGW_ALL=1) | | | | | |"
            continue
        fi
        out=$work/out
        rm -rf "$out"
        if ! read -r os omb < <(timed "$work/onnxcc.log" "$onnxcc" compile "$m/model.onnx" \
                                 -o "$out" --name net "${opts[@]}"); then
            echo "| $s | $mb | $form | error: $(tail -1 "$work/onnxcc.log") | | | | | |"
            continue
        fi
        cs=0 cmb=0 cerr=
        if [ "$form" != x86_64 ]; then
            for f in "$out"/*.c; do
                if ! read -r t r < <(timed "$work/cc.log" "$cc" -std=c99 -O2 -c "$f" \
                                       -o "${f%.c}.o"); then
                    cerr="$(basename "$f"): $(head -1 "$work/cc.log")"
                    break
                fi
                cs=$(awk -v a="$cs" -v b="$t" 'BEGIN { printf "%.2f", a + b }')
                [ "$r" -gt "$cmb" ] && cmb=$r
            done
        fi
        rm -rf "$out"
        verdict=-
        if [ -n "$data" ]; then
            verdict=$(nice "$onnxcc" check "$m/model.onnx" "$data" --atol 1e-4 "${opts[@]}" 2>&1 | tail -1)
            [ "$verdict" = PASS ] && verdict=ok
        fi
        if [ -n "$cerr" ]; then
            echo "| $s | $mb | $form | $os | $omb | error: $cerr | | | $verdict |"
        elif [ "$form" = x86_64 ]; then
            echo "| $s | $mb | $form | $os | $omb | | | $os | $verdict |"
        else
            tot=$(awk -v a="$os" -v b="$cs" 'BEGIN { printf "%.2f", a + b }')
            echo "| $s | $mb | $form | $os | $omb | $cs | $cmb | $tot | $verdict |"
        fi
    done
    rm -rf "$m"
done
