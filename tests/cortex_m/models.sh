#!/bin/bash
# models.sh — a small conformance sample for a Cortex-M target under QEMU: each model of
# tests/models named below (convolutions, pools, MLPs, an LSTM, a transformer block, fused
# epilogues: the runtime kernels' portable paths and the loop nests, on 32-bit pointers) is
# compiled with --target c (the reference, run on the host) and with --target cortex-m4
# (or the TARGET given), both with --arena extern; model_fw.c runs the object as firmware
# (samples/firmware/startup.c and its linker script) under qemu-system-arm on pseudo-random
# inputs and compares every output with the host's (1e-5 + 1e-3 |want|).
#   bash tests/cortex_m/models.sh [path/to/onnxcc] [cortex-m4|cortex-m7|cortex-m33]
# Exit status: 0 pass, 1 fail, 77 skipped (cross toolchain or QEMU missing, or onnxcc
# built without the LLVM back end).
set -euo pipefail
cd "$(dirname "$0")/../.." || exit 1
onnxcc=${1:-build/onnxcc}
case "$onnxcc" in /*) ;; *) onnxcc=$PWD/$onnxcc ;; esac
target=${2:-cortex-m4}
fw=samples/firmware
case "$target" in
cortex-m4)  board=mps2-an386; ld=$fw/mps2.ld
            arm=(-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard) ;;
cortex-m7)  board=mps2-an500; ld=$fw/mps2.ld
            arm=(-mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard) ;;
cortex-m33) board=mps2-an505; ld=$fw/mps2_an505.ld
            arm=(-mcpu=cortex-m33 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard) ;;
*) echo "usage: models.sh [onnxcc] cortex-m4|cortex-m7|cortex-m33" >&2; exit 2 ;;
esac
. $fw/common.sh
fw_need_tools

# models whose weights, arena and I/O fit the boards' 4 MiB of code and 2-4 MiB of data
# ($MODELS: another list of tests/models names)
read -r -a models <<< "${MODELS:-convnet fusion_cnn fusion_mlp inception lstm mlp3 resnet transformer}"

out=$(mktemp -d "${TMPDIR:-/tmp}/onnxcc-cm-XXXXXX")
trap 'rm -rf "$out"' EXIT
fail=0
for m in "${models[@]}"; do
    d=$out/$m
    mkdir -p "$d"
    "$onnxcc" compile tests/models/$m/model.onnx -o "$d/c" --name model --target c \
        --arena extern > /dev/null
    if ! "$onnxcc" compile tests/models/$m/model.onnx -o "$d/o" --name model \
        --target "$target" --arena extern > /dev/null 2> "$d/compile.err"; then
        cat "$d/compile.err"
        if grep -q "needs the LLVM back end" "$d/compile.err"; then
            echo "SKIP: this onnxcc has no LLVM back end (install llvm-19-dev, rebuild with -Dllvm=enabled)"
            exit 77
        fi
        echo "FAIL $m: onnxcc compile --target $target"
        fail=1
        continue
    fi
    # buffers, sizes and the call, from the prototype: float parameters only
    grep '^int model_run(' "$d/c/model.h" | awk '
        BEGIN { nin = 0; nout = 0 }
        {
            sub(/^int model_run\(/, ""); sub(/\);$/, "")
            n = split($0, P, ", ")
            print "#include \"model.h\""
            for (i = 2; i <= n; i++) {
                p = P[i]; isin = p ~ /^const /; sub(/^const /, "", p)
                if (p !~ /^float [A-Za-z_0-9]+\[/) { print "#error parameter " P[i] " is not a float array"; exit }
                cnt = 1; rest = p
                while (match(rest, /\[[0-9]+\]/)) { cnt *= substr(rest, RSTART + 1, RLENGTH - 2); rest = substr(rest, RSTART + RLENGTH) }
                if (isin) { v = "in" nin; inn[nin++] = cnt; args = args ", (const void *)" v }
                else { v = "out" nout; outn[nout++] = cnt; args = args ", (void *)" v }
                print "static float " v "[" cnt "];"
            }
            printf "#define MODEL_NIN %d\n#define MODEL_NOUT %d\n", nin, nout
            s = ""; t = ""; for (i = 0; i < nin; i++) { s = s " in" i ","; t = t " " inn[i] "," }
            print "static float *const ins[] = {" s " };\nstatic const long in_n[] = {" t " };"
            s = ""; t = ""; for (i = 0; i < nout; i++) { s = s " out" i ","; t = t " " outn[i] "," }
            print "static float *const outs[] = {" s " };\nstatic const long out_n[] = {" t " };"
            print "#define MODEL_CALL(a) model_run((a)" args ")"
        }' > "$d/model_io.h"
    cflags=(-std=c99 -O2 -Wall -Wextra -Werror -I"$d")
    ${CC:-cc} "${cflags[@]}" -I"$d/c" -DMODEL_DUMP tests/cortex_m/model_fw.c "$d"/c/*.c -lm \
        -o "$d/host"
    "$d/host" > "$d/model_expect.h"
    if ! arm-none-eabi-gcc "${cflags[@]}" -I"$d/o" "${arm[@]}" -ffunction-sections \
        -fdata-sections -nostartfiles -T "$ld" -Wl,--gc-sections --specs=nano.specs \
        --specs=nosys.specs $fw/startup.c tests/cortex_m/model_fw.c "$d/o/model.o" -lm \
        -o "$d/fw.elf" 2> "$d/link.err"; then
        cat "$d/link.err"
        echo "FAIL $m: the firmware does not link"
        fail=1
        continue
    fi
    if fw_qemu "$board" "$d/fw.elf" "$d/fw.txt"; then
        echo "PASS $m ($target on $board): $(tr '\n' ';' < "$d/fw.txt")"
    else
        echo "FAIL $m ($target on $board)"
        fail=1
    fi
done
exit $fail
