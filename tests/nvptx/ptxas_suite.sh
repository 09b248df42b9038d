#!/bin/bash
# ptxas_suite.sh — the ptxas-nvptx test: every ONNX node test that the C back end passes
# (not listed in expected_failures_c.txt) is compiled for target nvptx through
# `onnxcc check --target nvptx --cpu ARCH` (which specialises a model to its dataset the
# same way the C run does), and its PTX must pass ptxas for sm_80 and sm_90 and its
# NAME_host.c must compile strictly. Without a GPU, check's verdict then reads
# "no CUDA driver (...; the PTX passed ptxas -arch=ARCH)"; with one, the verdict is the run
# itself and PASS counts too. Exceptions live in ptxas_expected.txt, each with its reason;
# an exception that passes fails the test (remove its line).
# usage: ptxas_suite.sh ONNXCC EXPECTED_C EXPECTED_NVPTX [DATA_ROOT]   exit 77: no ptxas
set -uo pipefail
onnxcc=$1 expect_c=$2 expect_nv=$3
data=${4:-/usr/share/libonnx-testdata/data/node}

ptxas=${ONNXCC_PTXAS:-}
[ -z "$ptxas" ] && ptxas=$(command -v ptxas || true)
[ -z "$ptxas" ] && [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/ptxas" ] && ptxas=$CUDA_HOME/bin/ptxas
[ -z "$ptxas" ] && [ -x /usr/local/cuda/bin/ptxas ] && ptxas=/usr/local/cuda/bin/ptxas
if [ -z "$ptxas" ]; then
    echo "SKIP: ptxas not found (install the CUDA toolkit, or set ONNXCC_PTXAS or CUDA_HOME)"
    exit 77
fi
[ -d "$data" ] || { echo "SKIP: no node tests at $data"; exit 77; }
export ONNXCC_PTXAS=$ptxas

work=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-ptxas-XXXXXX")
trap 'rm -rf "$work"' EXIT

# tests the C back end passes: all the data root's tests minus its expected failures
grep -v '^#' "$expect_c" | awk 'NF {print $1}' | sort -u > "$work/c_fail"
ls "$data" | grep '^test_' | sort | comm -23 - "$work/c_fail" > "$work/tests"
grep -v '^#' "$expect_nv" 2>/dev/null | awk 'NF {print $1 " " $2}' | sort -u > "$work/expect"

one() {  # TEST ARCH -> "TEST ARCH ok|FAIL verdict"
    local t=$1 arch=$2 v
    v=$("$onnxcc" check "$data/$t/model.onnx" "$data/$t/test_data_set_0" --target nvptx \
        --cpu "$arch" --timeout 120 2>&1 | tail -n 1)
    if [ "$v" = PASS ] || [[ "$v" == *"the PTX passed ptxas -arch=$arch)"* ]]; then
        echo "$t $arch ok"
    else
        echo "$t $arch FAIL $v"
    fi
}
export -f one
export onnxcc data

start=$(date +%s)
jobs=$(nproc 2>/dev/null || echo 2)
for arch in sm_80 sm_90; do
    sed "s/\$/ $arch/" "$work/tests"
done | xargs -P "$jobs" -n 2 bash -c 'one "$0" "$1"' > "$work/results"
secs=$(( $(date +%s) - start ))

status=0
ntests=$(wc -l < "$work/tests")
for arch in sm_80 sm_90; do
    ok=$(grep -c " $arch ok$" "$work/results")
    echo "ptxas -arch=$arch: $ok of $ntests models the C back end passes"
done
while read -r t arch rest; do
    [ "$rest" = ok ] && continue
    if grep -qx "$t $arch" "$work/expect"; then
        echo "expected: $t $arch $rest"
    else
        echo "UNEXPECTED: $t $arch $rest"
        status=1
    fi
done < <(sort "$work/results")
while read -r t arch; do
    if grep -qx "$t $arch ok" "$work/results"; then
        echo "UNEXPECTED PASS: $t $arch is listed in $(basename "$expect_nv") (remove the line)"
        status=1
    fi
done < "$work/expect"
echo "ptxas suite: $ntests models x 2 architectures in ${secs} s with $jobs jobs"
exit $status
