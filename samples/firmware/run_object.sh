#!/bin/bash
# run_object.sh — the firmware sample from an object: compiles samples/digits with the LLVM
# back end for a Cortex-M (--target cortex-m4|cortex-m7|cortex-m33 --arena extern: digits.o
# + digits.h), links that object instead of the generated C into the same firmware
# (firmware.c, startup.c) with gcc-arm-none-eabi + newlib, and runs it under
# qemu-system-arm on the board QEMU has for that core, with semihosting. Beside it, the C
# build for the same core (--target c): both firmwares' sections (arm-none-eabi-size -A,
# flash = .text + .rodata + .ARM.exidx + .data, RAM = .data + .bss + .arena, stack not
# counted) and both runs' outputs, each compared with the host build of the C sources
# (labels exact, probabilities within 2e-5).
#   bash samples/firmware/run_object.sh TARGET [path/to/onnxcc]   (default: build/onnxcc)
#   (KEEP=1: the work folder with both ELF files is kept, and named)
# Exit status: 0 pass, 1 fail, 2 usage, 77 skipped (cross toolchain or QEMU missing, or
# onnxcc built without the LLVM back end).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
target=${1:-}
onnxcc=${2:-build/onnxcc}
case "$onnxcc" in /*) ;; *) onnxcc=$PWD/$onnxcc ;; esac
fw=samples/firmware
# the board QEMU models around each core, its memory map, and gcc's flags for the FPU that
# LLVM's CPU of the same name has
case "$target" in
cortex-m4)  board=mps2-an386; ld=$fw/mps2.ld
            arm=(-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard) ;;
cortex-m7)  board=mps2-an500; ld=$fw/mps2.ld
            arm=(-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard) ;;
cortex-m33) board=mps2-an505; ld=$fw/mps2_an505.ld
            arm=(-mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard) ;;
*) echo "usage: run_object.sh cortex-m4|cortex-m7|cortex-m33 [path/to/onnxcc]" >&2; exit 2 ;;
esac
. $fw/common.sh
fw_need_tools

out=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-fwo-XXXXXX")
if [ -n "${KEEP:-}" ]; then echo "work folder (kept): $out"; else trap 'rm -rf "$out"' EXIT; fi
model=samples/digits/digits.onnx
"$onnxcc" compile $model -o "$out/gen_c" --name digits --target c --arena extern
if ! "$onnxcc" compile $model -o "$out/gen_o" --name digits --target "$target" --arena extern \
    2> "$out/compile.err"; then
    cat "$out/compile.err"
    if grep -q "needs the LLVM back end" "$out/compile.err"; then
        echo "SKIP: this onnxcc has no LLVM back end (install llvm-19-dev, rebuild with -Dllvm=enabled)"
        exit 77
    fi
    echo "FAIL: onnxcc compile --target $target"
    exit 1
fi
if [ "$(ls "$out/gen_o")" != "$(printf 'digits.h\ndigits.o')" ]; then
    echo "FAIL: --target $target wrote $(ls "$out/gen_o" | tr '\n' ' '), not digits.h digits.o"
    exit 1
fi
fw_input_header 16 "$out/digits_input.h"

cflags=(-std=c99 -O2 -Wall -Wextra -Werror -I"$out")
ldflags=(-nostartfiles -T "$ld" -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs)
arm-none-eabi-gcc "${cflags[@]}" -I"$out/gen_c" "${arm[@]}" -ffunction-sections \
    -fdata-sections "${ldflags[@]}" $fw/startup.c $fw/firmware.c "$out"/gen_c/*.c -lm \
    -o "$out/fw_c.elf"
arm-none-eabi-gcc "${cflags[@]}" -I"$out/gen_o" "${arm[@]}" -ffunction-sections \
    -fdata-sections "${ldflags[@]}" $fw/startup.c $fw/firmware.c "$out/gen_o/digits.o" -lm \
    -o "$out/fw_o.elf" 2> "$out/link.err" || { cat "$out/link.err"; exit 1; }
# a linker warning about the object (its float ABI, enum or wchar_t size attributes differ
# from gcc's) is a failure; Debian's newlib has its own (memset: no .note.GNU-stack)
cat "$out/link.err"
if grep -E 'digits\.o|VFP|enum|wchar' "$out/link.err" >/dev/null; then
    echo "FAIL: the linker warns about digits.o"
    exit 1
fi

echo "---- $target firmware (gcc -O2; weights in .rodata, arena in .arena), bytes:"
echo "  the C build (--target c) beside the object build (--target $target)"
{ arm-none-eabi-size -A "$out/fw_c.elf"; echo "@@"; arm-none-eabi-size -A "$out/fw_o.elf"; } |
    awk 'BEGIN { k = 0 }
         $1 == "@@" { k = 1; next }
         $1 ~ /^\.(text|rodata|ARM\.exidx|data|bss|arena)$/ { v[k, $1] = $2 }
         END {
             split(".text .rodata .ARM.exidx .data .bss .arena", s, " ")
             printf "  %-12s %8s %8s\n", "section", "C", "object"
             for (i = 1; i <= 6; i++) printf "  %-12s %8d %8d\n", s[i], v[0, s[i]], v[1, s[i]]
             for (k = 0; k < 2; k++) {
                 fl[k] = v[k, ".text"] + v[k, ".rodata"] + v[k, ".ARM.exidx"] + v[k, ".data"]
                 ram[k] = v[k, ".data"] + v[k, ".bss"] + v[k, ".arena"]
             }
             printf "  %-12s %8d %8d\n  %-12s %8d %8d\n", "flash", fl[0], fl[1], "RAM", ram[0], ram[1]
         }'
echo "  digits.o alone: $(arm-none-eabi-size -A "$out/gen_o/digits.o" |
    awk '$1 ~ /^\.(text|rodata|data|bss)/ && $2 > 0 { printf "%s %d  ", $1, $2 }')"

${CC:-cc} "${cflags[@]}" -I"$out/gen_c" $fw/firmware.c "$out"/gen_c/*.c -lm -o "$out/digits_host"
"$out/digits_host" > "$out/host.txt"

# the last line names the arena's size, which is the target's (its alignment) and so no
# difference in the results
strip_arena() { sed 's/, arena [0-9]* bytes$//' "$1"; }
strip_arena "$out/host.txt" > "$out/host.cmp"
fail=0
for build in c o; do
    fw_qemu "$board" "$out/fw_$build.elf" "$out/fw_$build.txt" || { fail=1; continue; }
    strip_arena "$out/fw_$build.txt" > "$out/fw_$build.cmp"
    if fw_compare "$out/host.cmp" "$out/fw_$build.cmp"; then
        echo "PASS: the $([ $build = c ] && echo "C" || echo "object") build on $board matches the host build: $(tail -n 1 "$out/fw_$build.txt")"
    else
        echo "FAIL: the $([ $build = c ] && echo "C" || echo "object") build on $board differs from the host build"
        fail=1
    fi
done
[ $fail = 0 ] || { echo "---- object build's output"; cat "$out/fw_o.txt"; }
exit $fail
