#!/bin/bash
# unpack_suite.sh — unpacks the node tests of an ONNX test-suite tarball (the shared
# onnx-node-suite-*.tar.xz) into the build dir for the conformance runner:
#   unpack_suite.sh TARBALL DESTDIR STAMP
# leaves DESTDIR/node/<test>/... and touches STAMP. It extracts into a scratch directory
# and renames it into place, so an interrupted build never leaves a half-unpacked suite
# that the runner would take for a smaller one.
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: unpack_suite.sh TARBALL DESTDIR STAMP" >&2
    exit 2
fi
tarball=$1 dest=$2 stamp=$3
if [ ! -f "$tarball" ]; then
    echo "unpack_suite: $tarball not found (the ONNX test suites live in ../shared/onnx-tests beside the source tree)" >&2
    exit 1
fi
command -v xz >/dev/null 2>&1 || { echo "unpack_suite: xz not found (install the Debian package xz-utils)" >&2; exit 1; }
tmp="$dest.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
tar -xJf "$tarball" -C "$tmp" node
[ -d "$tmp/node" ] || { echo "unpack_suite: $tarball has no node/ directory" >&2; exit 1; }
rm -rf "$dest"
mv "$tmp" "$dest"
touch "$stamp"
