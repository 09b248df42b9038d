#!/bin/bash
# run.sh — runs one libFuzzer target for a while on a seed corpus (a meson test):
#
#   bash tests/fuzz/run.sh FUZZER SEEDS SECONDS|runs=N [WORK_DIR]
#
# runs=N instead of SECONDS stops after N executions (the long documented runs:
# runs=10000000).
# SEEDS: "models" (every model.onnx of the ONNX node suites found) or "tensors" (their
# input_*.pb). Inputs up to 64 KiB (nesting bugs need size); 10 s per input, 2 GiB of RSS.
# A crash, leak, timeout or out-of-memory fails the test and leaves its input in WORK_DIR
# (crash-*, timeout-*, oom-*: add it to tests/fuzz/regressions/ with the fix). Exit 77
# (skipped) when the fuzzer could not be built here.
set -u
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
seeds=$2 secs=$3 work=${4:-$(dirname "$fuzzer")/work-$(basename "$fuzzer")}
"$fuzzer" -help=1 >/dev/null 2>&1
rc=$?
[ $rc -eq 77 ] && { "$fuzzer"; exit 77; }
mkdir -p "$work/corpus"
here=$(cd "$(dirname "$0")" && pwd)
dirs=(/usr/share/libonnx-testdata/data/node "$here/../../../shared/onnx-tests/node")
n=0
for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for t in "$d"/*/; do
        if [ "$seeds" = models ]; then
            f=$t/model.onnx
        else
            f=$(ls "$t"test_data_set_0/input_*.pb 2>/dev/null | head -1)
        fi
        [ -n "$f" ] && [ -f "$f" ] || continue
        s=$(stat -c %s "$f")
        [ "$s" -le 65536 ] || continue
        cp "$f" "$work/corpus/seed_$n"
        n=$((n + 1))
        [ $n -ge 400 ] && break 2
    done
done
[ -d "$here/regressions" ] && cp "$here"/regressions/* "$work/corpus/" 2>/dev/null
limit=-max_total_time=$secs
[[ $secs == runs=* ]] && limit=-runs=${secs#runs=}
echo "$(basename "$fuzzer"): $n seeds, ${limit#-}"
cd "$work" || exit 1
export TMPDIR=$work
"$fuzzer" corpus "$limit" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -detect_leaks=1 2>&1 | grep -E "^#[0-9]+.*(DONE|pulse)|stat::|ERROR|SUMMARY|Test unit written|Done" | tail -12
rc=${PIPESTATUS[0]}
echo "exit status $rc"
exit $rc
