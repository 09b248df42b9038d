#!/bin/bash
# install_deps.sh — installs the Debian 12 packages onnxcc's build and tests need, and only
# those that are missing (so a prepared machine is never touched). Uses sudo only when not
# root, and apt-get update only when something has to be installed.
set -euo pipefail

# llvm-19-dev: the LLVM back end (targets x86_64, aarch64); clang-19: the runtime kernels as
# LLVM bitcode, linked into the objects; gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross and qemu-user: `check --target aarch64` builds and runs AArch64 code.
# gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm: the Cortex-M firmware sample
# and the cortex-m* targets (newlib's headers build their runtime bitcode; run_object.sh).
# libclang-rt-19-dev: libFuzzer and the sanitizers' runtime for the fuzz targets (tests/fuzz).
# cmake: tests/integration builds a user's CMake project against the installed onnxcc.
# bsdutils: script(1), the terminal that tests/selfcheck gives check's progress line.
# python3-sklearn, python3-onnx: samples/forest/make_model.py trains the forest sample and
# writes it as an ai.onnx.ml model.
# xz-utils: unpacks the ONNX 1.23 node suite (../shared/onnx-tests/*.tar.xz) for conformance.
# chromium: opens `onnxcc report --html` pages headless (tests/report).
# time: GNU time, the peak RSS tests/weights and benchmarks/bigweights.sh measure.
pkgs=(meson ninja-build pkg-config gcc clang protobuf-c-compiler libprotobuf-c-dev check
      libopenblas-dev libonnx-testdata llvm-19-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm clang-tidy clang-19
      libclang-rt-19-dev cmake chromium bsdutils
      python3-sklearn python3-onnx xz-utils time)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install_deps: not a Debian system; make sure these are installed: ${pkgs[*]}" >&2
    exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
    # dpkg -s alone also succeeds for removed packages whose config files remain.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "install_deps: missing packages (${missing[*]}) and neither root nor sudo" >&2
    exit 1
fi
echo "install_deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
