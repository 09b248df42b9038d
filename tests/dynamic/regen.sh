#!/bin/sh
# regen.sh — rewrites models/ from make_models.py with ONNX Runtime's outputs as the
# expected data. Needs /usr/bin/python3 with onnx and numpy, node, and onnxruntime-node:
#   sh tests/dynamic/regen.sh DIR_WITH_NODE_MODULES
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: regen.sh NODE_MODULES_DIR" >&2; exit 2; }
rm -rf "$here/models"
/usr/bin/python3 "$here/make_models.py" "$here/models"
for m in "$here"/models/*/; do NODE_PATH="$1" node "$here/ort_run.js" "$m"; done
/usr/bin/python3 "$here/make_models.py" "$here/models" --outputs
rm -f "$here"/models/*/inputs.json "$here"/models/*/ort_outputs.json
