#!/bin/bash
# run.sh — the firmware sample end to end: compiles samples/digits with onnxcc (--target c
# --arena extern), builds it with Debian's gcc-arm-none-eabi + newlib for a Cortex-M4F
# (-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard) with startup.c and mps2.ld, prints
# the section sizes (arm-none-eabi-size -A), runs it under qemu-system-arm on an MPS2 AN386
# board with semihosting, builds the same program for the host, and compares the two
# outputs (labels exact, probabilities within 2e-5).
#   bash samples/firmware/run.sh [path/to/onnxcc]     (default: build/onnxcc)
# Exit status: 0 pass, 1 fail, 77 skipped (cross toolchain or QEMU missing; install
# gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
onnxcc=${1:-build/onnxcc}
case "$onnxcc" in /*) ;; *) onnxcc=$PWD/$onnxcc ;; esac
for tool in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
        exit 77
    fi
done
if ! echo 'int main(void){return 0;}' | arm-none-eabi-gcc -x c - --specs=nosys.specs -o /dev/null 2>/dev/null; then
    echo "SKIP: newlib for arm-none-eabi is missing (apt-get install libnewlib-arm-none-eabi)"
    exit 77
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-fw-XXXXXX")
trap 'rm -rf "$out"' EXIT
fw=samples/firmware
"$onnxcc" compile samples/digits/digits.onnx -o "$out/gen" --name digits --target c --arena extern

# the first N held-out digits as exact float bits (little-endian file, little-endian targets)
N=16
{
    echo "/* digits_input.h — written by run.sh from samples/digits/heldout.bin */"
    echo "#define DIGITS_N $N"
    echo "static const uint32_t digits_bits[$N * 64] = {"
    od -A n -t x4 -v -N $((N * 256)) samples/digits/heldout.bin |
        awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " 0x" $i "U,"; print s }'
    echo "};"
    echo "static const unsigned char digits_labels[$N] = {"
    od -A n -t u1 -v -N $N samples/digits/heldout_labels.bin |
        awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " " $i ","; print s }'
    echo "};"
} > "$out/digits_input.h"

cflags=(-std=c99 -O2 -Wall -Wextra -Werror -I"$out/gen" -I"$out")
arm=(-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard)
arm-none-eabi-gcc "${cflags[@]}" "${arm[@]}" -ffunction-sections -fdata-sections \
    -nostartfiles -T $fw/mps2.ld -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs \
    $fw/startup.c $fw/firmware.c "$out"/gen/*.c -lm -o "$out/digits_fw.elf"
echo "---- sections of digits_fw.elf (Cortex-M4F, -O2; weights in .rodata, arena in .arena)"
arm-none-eabi-size -A "$out/digits_fw.elf" | awk '$1 ~ /^\.(text|rodata|data|bss|arena)$/ { printf "%-8s %8d bytes\n", $1, $2 }'

echo "---- qemu-system-arm -M mps2-an386 (semihosting; its console output is QEMU's stderr)"
if ! timeout 120 qemu-system-arm -M mps2-an386 -display none -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$out/digits_fw.elf" \
    < /dev/null > "$out/qemu.log" 2> "$out/fw.txt"; then
    cat "$out/qemu.log" "$out/fw.txt"
    echo "FAIL: the firmware did not exit cleanly under QEMU"
    exit 1
fi
cat "$out/fw.txt"

${CC:-cc} "${cflags[@]}" $fw/firmware.c "$out"/gen/*.c -lm -o "$out/digits_host"
"$out/digits_host" > "$out/host.txt"

# same lines, same words; numbers within 2e-5 (libm's expf differs in the last bits)
if awk -v tol=2e-5 '
    NR == FNR { host[FNR] = $0; nh = FNR; next }
    {
        nf++
        n = split(host[FNR], h, " "); m = split($0, f, " ")
        if (n != m) { print "line " FNR " differs: " $0 " | host: " host[FNR]; bad = 1; next }
        for (i = 1; i <= n; i++) {
            if (h[i] == f[i]) continue
            if (h[i] ~ /^-?[0-9.]+$/ && f[i] ~ /^-?[0-9.]+$/ && (h[i] - f[i] <= tol && f[i] - h[i] <= tol)) continue
            print "line " FNR " field " i ": firmware " f[i] ", host " h[i]; bad = 1
        }
    }
    END { if (nf != nh || nf == 0) { print "firmware printed " nf " lines, host " nh; bad = 1 }; exit bad }
' "$out/host.txt" "$out/fw.txt"; then
    echo "PASS: firmware output matches the host build ($(wc -l < "$out/fw.txt") lines)"
else
    echo "FAIL: firmware output differs from the host build"
    exit 1
fi
