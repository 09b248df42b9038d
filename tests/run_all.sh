#!/bin/bash
# run_all.sh — the whole test suite from a fresh checkout: installs what is missing,
# configures and builds build/ (release, -Werror) and build-asan/ (AddressSanitizer +
# UndefinedBehaviorSanitizer), runs the Check unit tests under the sanitizers, then every
# test in build/ (unit + conformance, the ONNX 1.12 node suite and the 1.23 one). The closing
# lines of the other conformance runs come first; the 1.12 C run's closing line
# ("N passed, N failed, N skipped") is the last line printed. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash tests/install_deps.sh || exit 1

status=0
step() {
    echo "+ $*"
    "$@" || { echo "FAILED: $*"; status=1; return 1; }
}

[ -f build/build.ninja ] || step meson setup build --buildtype=release -Dwerror=true || exit 1
# GCC's sanitizer instrumentation makes its flow-sensitive warnings misfire (e.g. "null
# format string" on a plain vsnprintf(NULL, 0, fmt, ap)), so -Werror is the release
# build's job; this build is for the sanitizers' run-time checks.
[ -f build-asan/build.ninja ] || step meson setup build-asan -Db_sanitize=address,undefined -Dfuzz=disabled \
    -Db_lundef=false -Dwerror=false || exit 1
step ninja -C build || exit 1
step ninja -C build-asan || exit 1

# Any sanitizer report fails the test that produced it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
step meson test -C build-asan --suite unit --print-errorlogs

result=build/tests/conformance/conformance-result-c.txt
rm -f "$result" build/tests/conformance/conformance-result-{x86_64,x86_64-native,aarch64,c-1.23,x86_64-1.23}.txt
step meson test -C build --print-errorlogs

# The LLVM back end's runs (when built with it): their closing counts, before the C one.
for t in x86_64 x86_64-native aarch64; do
    r=build/tests/conformance/conformance-result-$t.txt
    [ -f "$r" ] || continue
    echo "---- conformance ($t, LLVM back end)"
    tail -n 1 "$r"
    tail -n 1 "$r" | grep -q ' 0 failed, ' || status=1
done

# The ONNX 1.23 node suite (unpacked from ../shared/onnx-tests; it says so when absent).
for t in c x86_64; do
    r=build/tests/conformance/conformance-result-$t-1.23.txt
    [ -f "$r" ] || continue
    echo "---- conformance (ONNX 1.23 node suite, $t)"
    # what did not go as listed, the run's size and time (or why it skipped), the count
    grep -E '^(UNEXPECTED PASS|FAIL|CHANGED) |^[0-9]+ tests in |not found' "$r"
    tail -n 1 "$r"
    tail -n 1 "$r" | grep -q ' 0 failed, ' || status=1
done

echo "---- conformance (ONNX backend node tests, C back end)"
if [ -f "$result" ]; then
    # The runner's verdict lines; its last line is the closing count.
    cat "$result"
    tail -n 1 "$result" | grep -q ' 0 failed, ' || status=1
else
    echo "the conformance runner did not run (see build/meson-logs/testlog.txt)"
    status=1
fi
exit $status
