#!/bin/sh
# run.sh — the data-dependent-size models of models/ (made by make_models.py, expected
# outputs from ONNX Runtime) through `onnxcc check` on each TARGET given: every model
# passes except *_refused, which must fail with one line naming its node and operator.
#   sh tests/dynamic/run.sh ONNXCC TARGET...
set -u
here=$(cd "$(dirname "$0")" && pwd)
onnxcc=$1
shift
fails=0
for t in "$@"; do
    for m in "$here"/models/*/; do
        name=$(basename "$m")
        m=${m%/}
        out=$("$onnxcc" check "$m/model.onnx" "$m/test_data_set_0" --target "$t" 2>&1)
        last=$(printf '%s\n' "$out" | tail -n 1)
        case "$name" in
        *_refused)
            case "$last" in
            "FAIL error:"*"node 'tr' (Transpose): input 'nz' has a data-dependent size"*)
                echo "ok   $t $name: $last" ;;
            *) echo "FAIL $t $name: $last"; fails=$((fails + 1)) ;;
            esac ;;
        *)
            if [ "$last" = PASS ]; then echo "ok   $t $name"
            else printf '%s\n' "$out"; echo "FAIL $t $name: $last"; fails=$((fails + 1)); fi ;;
        esac
    done
done
echo "$fails failed"
[ "$fails" -eq 0 ]
