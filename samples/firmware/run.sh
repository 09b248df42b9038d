#!/bin/bash
# run.sh — the firmware sample end to end: compiles samples/digits with onnxcc (--target c
# --arena extern), builds it with Debian's gcc-arm-none-eabi + newlib for a Cortex-M4F
# (-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard) with startup.c and mps2.ld, prints
# the section sizes (arm-none-eabi-size -A), runs it under qemu-system-arm on an MPS2 AN386
# board with semihosting, builds the same program for the host, and compares the two
# outputs (labels exact, probabilities within 2e-5). run_object.sh does the same with the
# LLVM back end's Cortex-M objects; common.sh holds what the two share.
#   bash samples/firmware/run.sh [path/to/onnxcc]     (default: build/onnxcc)
# Exit status: 0 pass, 1 fail, 77 skipped (cross toolchain or QEMU missing; install
# gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
onnxcc=${1:-build/onnxcc}
case "$onnxcc" in /*) ;; *) onnxcc=$PWD/$onnxcc ;; esac
. samples/firmware/common.sh
fw_need_tools

out=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-fw-XXXXXX")
trap 'rm -rf "$out"' EXIT
fw=samples/firmware
"$onnxcc" compile samples/digits/digits.onnx -o "$out/gen" --name digits --target c --arena extern

fw_input_header 16 "$out/digits_input.h"

cflags=(-std=c99 -O2 -Wall -Wextra -Werror -I"$out/gen" -I"$out")
arm=(-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard)
arm-none-eabi-gcc "${cflags[@]}" "${arm[@]}" -ffunction-sections -fdata-sections \
    -nostartfiles -T $fw/mps2.ld -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs \
    $fw/startup.c $fw/firmware.c "$out"/gen/*.c -lm -o "$out/digits_fw.elf"
echo "---- sections of digits_fw.elf (Cortex-M4F, -O2; weights in .rodata, arena in .arena)"
arm-none-eabi-size -A "$out/digits_fw.elf" | awk '$1 ~ /^\.(text|rodata|data|bss|arena)$/ { printf "%-8s %8d bytes\n", $1, $2 }'

echo "---- qemu-system-arm -M mps2-an386 (semihosting; its console output is QEMU's stderr)"
fw_qemu mps2-an386 "$out/digits_fw.elf" "$out/fw.txt"
cat "$out/fw.txt"

${CC:-cc} "${cflags[@]}" $fw/firmware.c "$out"/gen/*.c -lm -o "$out/digits_host"
"$out/digits_host" > "$out/host.txt"

if fw_compare "$out/host.txt" "$out/fw.txt"; then
    echo "PASS: firmware output matches the host build ($(wc -l < "$out/fw.txt") lines)"
else
    echo "FAIL: firmware output differs from the host build"
    exit 1
fi
