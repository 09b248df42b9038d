#!/bin/bash
# demo.sh — builds onnxcc (release, in build/) if needed, compiles the digits sample model to
# C, builds that C with the small demo program using nothing but cc and libm, runs it over
# the held-out digits, then lets `onnxcc check` compare the compiled model with the numpy
# reference output shipped in samples/digits/test_data_set_0.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/install_deps.sh
if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release -Dwerror=true
fi
ninja -C build onnxcc

out=build/digits-out
rm -rf "$out"
echo "+ onnxcc compile samples/digits/digits.onnx -o $out --name digits"
build/onnxcc compile samples/digits/digits.onnx -o "$out" --name digits
echo "+ cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror $out/*.c samples/digits/demo.c -lm"
cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$out" "$out"/*.c samples/digits/demo.c \
    -lm -o build/digits-demo
build/digits-demo samples/digits
echo "+ onnxcc check samples/digits/digits.onnx samples/digits/test_data_set_0"
build/onnxcc check samples/digits/digits.onnx samples/digits/test_data_set_0

# The LLVM back end: the same model as one object file (weights inside) and the same header.
if build/onnxcc compile samples/digits/digits.onnx -o build/digits-llvm --name digits \
        --target x86_64 >/dev/null 2>&1; then
    echo "+ onnxcc compile samples/digits/digits.onnx -o build/digits-llvm --target x86_64"
    echo "+ cc -std=c99 -O2 samples/digits/demo.c build/digits-llvm/digits.o -lm"
    cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -Ibuild/digits-llvm samples/digits/demo.c \
        build/digits-llvm/digits.o -lm -o build/digits-demo-llvm
    build/digits-demo-llvm samples/digits
    echo "+ onnxcc check samples/digits/digits.onnx samples/digits/test_data_set_0 --target x86_64"
    build/onnxcc check samples/digits/digits.onnx samples/digits/test_data_set_0 --target x86_64
else
    echo "(onnxcc was built without the LLVM back end: skipping --target x86_64)"
fi
