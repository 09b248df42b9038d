#!/bin/bash
# run.sh BUILDDIR — the integration test of onnxcc in users' builds. Installs BUILDDIR's
# onnxcc into a staging directory (meson install --destdir: a prefix it was not built for,
# so the CMake package and onnxcc.pc must find the tool relative to themselves), then for
# the CMake project in cmake/ (target c with Ninja, target x86_64 with Makefiles, and an
# AArch64 cross build of targets c and aarch64 run under qemu-aarch64) and the meson
# project in meson/ and the Makefile in make/: builds the digits demo with the sample model, runs it, checks its
# output, replaces the model by a changed one (fc2.bias[3] += 1000: every digit becomes a
# 3), rebuilds with the plain build command and checks the program now says so, i.e. the
# code was regenerated. Expected outputs come from compiling the same models by hand and
# building with cc, plus the sample's known accuracy (97.2%, 8.1% changed).
# Exit 77 (skipped) without cmake, or, after the native builds passed, without the AArch64
# cross tools.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
here="$src/tests/integration"

if ! command -v cmake >/dev/null 2>&1; then
    echo "skipped: cmake is missing (install the Debian package cmake)"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-integration.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

meson install -C "$build" --destdir "$work/stage" --no-rebuild --quiet >/dev/null
cfg=$(find "$work/stage" -name onnxccConfig.cmake -path '*/lib/cmake/onnxcc/*')
[ -n "$cfg" ] || fail "meson install put no lib/cmake/onnxcc/onnxccConfig.cmake"
prefix=$(cd "$(dirname "$cfg")/../../.." && pwd)
onnxcc="$prefix/bin/onnxcc"
[ -x "$onnxcc" ] || fail "meson install put no bin/onnxcc under $prefix"
[ -f "$prefix/lib/cmake/onnxcc/onnxccConfigVersion.cmake" ] || fail "no onnxccConfigVersion.cmake"

# pkg-config: the tool's path, relocated to where the staged prefix is
pc=$(find "$work/stage" -name onnxcc.pc)
[ -n "$pc" ] || fail "meson install put no onnxcc.pc"
if command -v pkg-config >/dev/null 2>&1; then
    got=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-prefix --variable=onnxcc onnxcc)
    [ "$got" -ef "$onnxcc" ] || fail "pkg-config --variable=onnxcc onnxcc gave '$got', not $onnxcc"
    say "pkg-config --variable=onnxcc onnxcc: ok"
fi

demo="$src/samples/digits/demo.c"
data="$src/samples/digits"

# compile --manifest: exactly the files written (sorted, relative to DIR), and a manifest
# that cannot be written is one error line and exit status 1
"$onnxcc" compile "$data/digits.onnx" -o "$work/man" --name digits --manifest "$work/man.txt" >/dev/null
(cd "$work/man" && ls | LC_ALL=C sort) >"$work/man.ls"
diff -u "$work/man.ls" "$work/man.txt" || fail "the manifest does not list the files compile wrote"
grep -qx 'rt_sgemm.c' "$work/man.txt" || fail "the manifest misses the runtime file rt_sgemm.c"
rc=0
"$onnxcc" compile "$data/digits.onnx" -o "$work/man2" --manifest "$work/no/such/dir/m.txt" \
    >/dev/null 2>"$work/man.err" || rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$work/man.err")" = 1 ] && grep -q 'cannot write the manifest' "$work/man.err" ||
    fail "an unwritable manifest gave exit $rc and: $(cat "$work/man.err")"
say "compile --manifest: ok"
python3 "$here/bump_bias.py" "$data/digits.onnx" "$work/changed.onnx" fc2.bias 3 1000

# reference outputs: the models compiled by hand and built with cc (what samples/demo.sh does)
for m in original changed; do
    model="$data/digits.onnx"
    [ $m = changed ] && model="$work/changed.onnx"
    "$onnxcc" compile "$model" -o "$work/ref-$m" --name digits >/dev/null
    cc -std=c99 -O2 -I"$work/ref-$m" "$work/ref-$m"/*.c "$demo" -lm -o "$work/ref-$m/demo"
    "$work/ref-$m/demo" "$data" >"$work/$m.expected"
done
grep -q '^accuracy on 360 held-out digits: 97.2%$' "$work/original.expected" ||
    fail "the sample model's accuracy is not 97.2%: $(tail -1 "$work/original.expected")"
grep -q '^accuracy on 360 held-out digits: 8.1%$' "$work/changed.expected" ||
    fail "the changed model's accuracy is not 8.1%: $(tail -1 "$work/changed.expected")"
grep -q 'label 2, predicted 3 ' "$work/changed.expected" || fail "the changed model does not predict 3"

# check_run NAME RUNNER... : runs the built demo and compares with the expected output of
# the model currently in place
check_run() {
    local name=$1 expect=$2 exe=$3
    shift 3
    "$@" "$exe" "$data" >"$work/$name.out" || fail "$name: the program failed"
    if ! diff -u "$work/$expect.expected" "$work/$name.out" >"$work/$name.diff"; then
        cat "$work/$name.diff" >&2
        fail "$name: output differs from the $expect model's"
    fi
}

have_llvm=1
"$onnxcc" compile "$data/digits.onnx" -o "$work/probe" --target x86_64 >/dev/null 2>&1 || have_llvm=0

# cmake_case NAME TARGET GENERATOR [TOOLCHAIN RUNNER...]
cmake_case() {
    local name=$1 target=$2 gen=$3 tc=${4:-}
    shift 3
    [ $# -gt 0 ] && shift
    local dir="$work/$name"
    mkdir -p "$dir"
    cp "$data/digits.onnx" "$dir/digits.onnx"
    local args=(-S "$here/cmake" -B "$dir/build" -G "$gen" -DCMAKE_BUILD_TYPE=Release
                -DCMAKE_PREFIX_PATH="$prefix" -DMODEL="$dir/digits.onnx" -DDEMO_SRC="$demo"
                -DONNXCC_TARGET="$target")
    [ -n "$tc" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$tc")
    cmake "${args[@]}" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; fail "$name: cmake configure"; }
    cmake --build "$dir/build" >"$dir/build1.log" 2>&1 || { cat "$dir/build1.log" >&2; fail "$name: build"; }
    check_run "$name-1" original "$dir/build/digits_app" "$@"
    # nothing changed: the model's code is not regenerated
    cmake --build "$dir/build" >"$dir/build2.log" 2>&1 || { cat "$dir/build2.log" >&2; fail "$name: rebuild"; }
    if grep -q 'onnxcc: compiling' "$dir/build2.log"; then
        cat "$dir/build2.log" >&2
        fail "$name: a build with nothing changed ran onnxcc again"
    fi
    # the model changes: the plain build command must regenerate and relink
    cp "$work/changed.onnx" "$dir/digits.onnx"
    cmake --build "$dir/build" >"$dir/build3.log" 2>&1 || { cat "$dir/build3.log" >&2; fail "$name: build after the model changed"; }
    grep -q 'onnxcc: compiling' "$dir/build3.log" || fail "$name: the build after the model changed did not run onnxcc"
    check_run "$name-2" changed "$dir/build/digits_app" "$@"
    local what="the model"
    if [ "$target" = c ]; then
        # new OPTIONS regenerate too (here: the weights placed in a named section)
        cmake "$dir/build" -DONNXCC_OPTIONS=--section-weights=.rodata.onnxcc >"$dir/configure2.log" 2>&1 ||
            { cat "$dir/configure2.log" >&2; fail "$name: reconfigure with OPTIONS"; }
        cmake --build "$dir/build" >"$dir/build4.log" 2>&1 || { cat "$dir/build4.log" >&2; fail "$name: build with OPTIONS"; }
        grep -q 'onnxcc: compiling' "$dir/configure2.log" || fail "$name: new OPTIONS did not run onnxcc"
        grep -rq '\.rodata\.onnxcc' "$dir/build/onnxcc" || fail "$name: the OPTIONS did not reach onnxcc"
        check_run "$name-3" changed "$dir/build/digits_app" "$@"
        what="the model and OPTIONS"
    fi
    say "cmake $name (TARGET $target, $gen): built, ran, regenerated after $what changed: ok"
}

cmake_case native-c c Ninja
if [ $have_llvm = 1 ]; then
    cmake_case native-x86_64 x86_64 "Unix Makefiles"
else
    say "onnxcc has no LLVM back end: skipping TARGET x86_64"
fi

# meson: find_program('onnxcc') through PATH, the custom_target recipe of the README
if [ $have_llvm = 1 ]; then
    dir="$work/meson"
    mkdir -p "$dir"
    cp "$data/digits.onnx" "$dir/digits.onnx"
    PATH="$prefix/bin:$PATH" meson setup "$dir/build" "$here/meson" -Dmodel="$dir/digits.onnx" \
        -Ddemo_src="$demo" -Donnxcc_target=x86_64 >"$dir/setup.log" 2>&1 ||
        { cat "$dir/setup.log" >&2; fail "meson: setup"; }
    ninja -C "$dir/build" >"$dir/build1.log" 2>&1 || { cat "$dir/build1.log" >&2; fail "meson: build"; }
    check_run meson-1 original "$dir/build/digits_app"
    cp "$work/changed.onnx" "$dir/digits.onnx"
    ninja -C "$dir/build" >"$dir/build2.log" 2>&1 || { cat "$dir/build2.log" >&2; fail "meson: rebuild"; }
    check_run meson-2 changed "$dir/build/digits_app"
    say "meson custom_target (x86_64 object): built, ran, regenerated after the model changed: ok"
fi

# make: the README's Makefile, onnxcc found through pkg-config
if command -v pkg-config >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
    dir="$work/make"
    mkdir -p "$dir"
    cp "$data/digits.onnx" "$dir/digits.onnx"
    mk=(make -C "$dir" -f "$here/make/Makefile" APP_SRC="$demo"
        ONNXCC="$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-prefix --variable=onnxcc onnxcc)")
    "${mk[@]}" app >"$dir/build1.log" 2>&1 || { cat "$dir/build1.log" >&2; fail "make: build"; }
    check_run make-1 original "$dir/app"
    sleep 1   # make compares whole-second times on some file systems
    cp "$work/changed.onnx" "$dir/digits.onnx"
    "${mk[@]}" app >"$dir/build2.log" 2>&1 || { cat "$dir/build2.log" >&2; fail "make: rebuild"; }
    check_run make-2 changed "$dir/app"
    say "make (README recipe): built, ran, regenerated after the model changed: ok"
fi

# the cross build: CMake toolchain file for aarch64-linux-gnu-gcc, run under qemu-aarch64
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1 ||
   [ ! -d /usr/aarch64-linux-gnu ]; then
    echo "skipped: the AArch64 cross build needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user"
    exit 77
fi
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
cmake_case cross-c c Ninja "$here/cmake/aarch64-linux-gnu.cmake" "${qemu[@]}"
if [ $have_llvm = 1 ]; then
    cmake_case cross-aarch64 aarch64 Ninja "$here/cmake/aarch64-linux-gnu.cmake" "${qemu[@]}"
fi
file "$work/cross-c/build/digits_app" 2>/dev/null | grep -q aarch64 ||
    { command -v file >/dev/null 2>&1 && fail "cross-c: digits_app is not an AArch64 program"; }
echo "integration: all passed"
