#!/bin/sh
# run.sh — the control-flow models of models/ (made by make_models.py, expected outputs
# from ONNX Runtime) through `onnxcc check` on each TARGET given, every test_data_set_N of
# a model in one check. Every model passes. The run-time models (If on a computed
# condition, Loop on an input trip count, Scan) must pass without `check` freezing an
# input; loop_scan_output's scan output needs M at compile time, so there `check` must say
# it froze M.
#   sh tests/control/run.sh ONNXCC TARGET...
set -u
here=$(cd "$(dirname "$0")" && pwd)
onnxcc=$1
shift
fails=0
for t in "$@"; do
    for m in "$here"/models/*/; do
        name=$(basename "$m")
        m=${m%/}
        out=$("$onnxcc" check "$m/model.onnx" "$m"/test_data_set_* --target "$t" 2>&1)
        last=$(printf '%s\n' "$out" | tail -n 1)
        frozen=$(printf '%s\n' "$out" | grep "^note: input '.*' frozen" || true)
        case "$name" in
        loop_scan_output) want="note: input 'M' frozen"*;;
        *) want="";;
        esac
        if [ "$last" != PASS ]; then
            printf '%s\n' "$out"; echo "FAIL $t $name: $last"; fails=$((fails + 1))
        elif [ -z "$want" ] && [ -n "$frozen" ]; then
            echo "FAIL $t $name: run-time input frozen: $frozen"; fails=$((fails + 1))
        elif [ -n "$want" ]; then
            case "$frozen" in
            $want) echo "ok   $t $name ($frozen)" ;;
            *) echo "FAIL $t $name: expected M frozen, got '$frozen'"; fails=$((fails + 1)) ;;
            esac
        else
            echo "ok   $t $name"
        fi
    done
done
echo "$fails failed"
[ "$fails" -eq 0 ]
