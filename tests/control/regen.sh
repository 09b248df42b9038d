#!/bin/sh
# regen.sh — rewrites models/ from make_models.py with ONNX Runtime's outputs as the
# expected data of every test_data_set_N (through ../dynamic/ort_run.js, once per data
# set). Needs /usr/bin/python3 with onnx and numpy, node, and onnxruntime-node:
#   sh tests/control/regen.sh DIR_WITH_NODE_MODULES
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: regen.sh NODE_MODULES_DIR" >&2; exit 2; }
rm -rf "$here/models"
/usr/bin/python3 "$here/make_models.py" "$here/models"
for m in "$here"/models/*/; do
    for j in "$m"inputs_*.json; do
        n=${j##*inputs_}; n=${n%.json}
        cp "$j" "${m}inputs.json"
        NODE_PATH="$1" node "$here/../dynamic/ort_run.js" "$m"
        mv "${m}ort_outputs.json" "${m}ort_outputs_$n.json"
    done
done
/usr/bin/python3 "$here/make_models.py" "$here/models" --outputs
rm -f "$here"/models/*/inputs*.json "$here"/models/*/ort_outputs*.json
