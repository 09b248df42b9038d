#!/bin/bash
# build.sh — builds the libFuzzer targets (clang-19, -fsanitize=fuzzer,address,undefined)
# from the compiler's sources; called by meson (custom_target 'fuzzers') or by hand:
#
#   bash tests/fuzz/build.sh SOURCE_ROOT BUILD_DIR OUT_DIR
#
# BUILD_DIR is a configured and built onnxcc build dir (it has the generated onnx.pb-c.c
# and runtime/rt_embedded.c). The compile pipeline is built without the LLVM back end (the
# fuzzers drive the C target). Without clang-19 or its libFuzzer runtime (Debian
# libclang-rt-19-dev), each target is written as a script that exits 77, which the
# test suite reports as skipped, and says why.
set -u
src=$1 build=$2 out=$3
mkdir -p "$out"
targets=(fuzz_load fuzz_compile fuzz_tensor)
skip() {
    for t in "${targets[@]}"; do
        printf '#!/bin/sh\necho "SKIP: %s"\nexit 77\n' "$1" > "$out/$t"
        chmod +x "$out/$t"
    done
    exit 0
}
cc=${ONNXCC_FUZZ_CC:-clang-19}
command -v "$cc" >/dev/null 2>&1 || skip "no $cc (Debian clang-19) for the fuzzers"
probe=$out/probe
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$probe.c"
"$cc" -fsanitize=fuzzer "$probe.c" -o "$probe" 2>/dev/null ||
    skip "$cc has no libFuzzer runtime (Debian libclang-rt-19-dev)"
# The compiler's sources: the list meson passes after OUT_DIR (meson.build's compiler_src,
# paths relative to the build dir meson runs this in); by hand without one, the same
# folders' files but main.c.
if [ $# -gt 3 ]; then
    srcs=("${@:4}")
else
    srcs=()
    for f in "$src"/compiler/*.c "$src"/compiler/passes/*.c "$src"/compiler/ops/*.c \
             "$src"/targets/*.c "$src"/codegen/*/*.c "$src"/runtime/rt_*_pack.c; do
        [ "$(basename "$f")" = main.c ] || srcs+=("$f")
    done
fi
flags=(-std=c11 -O1 -g -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$src/compiler" -I"$src/codegen" -I"$src/runtime"
       -I"$build")
objdir=$out/obj
mkdir -p "$objdir"
objs=()
for s in "${srcs[@]}" "$build/onnx.pb-c.c" "$build/runtime/rt_embedded.c"; do
    f=$s
    [ -f "$f" ] || { echo "build.sh: no source $s" >&2; exit 1; }
    o=$objdir/$(echo "${s#"$src"/}" | tr / _ | sed 's/^\.*_*//').o
    "$cc" "${flags[@]}" -c "$f" -o "$o" || exit 1
    objs+=("$o")
done
for t in "${targets[@]}"; do
    "$cc" "${flags[@]}" -fsanitize=fuzzer "$src/tests/fuzz/$t.c" "${objs[@]}" -lprotobuf-c -lm \
        -o "$out/$t" || exit 1
done
rm -f "$probe" "$probe.c"
