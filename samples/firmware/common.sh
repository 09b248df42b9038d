# common.sh — what the firmware scripts (run.sh: the C build; run_object.sh: the Cortex-M
# objects of the LLVM back end) share: the tool checks, the input header, the QEMU run and
# the comparison with the host build. Sourced, not run; expects `set -euo pipefail`.

# Exits 77 (meson: skipped) with one line when the cross toolchain, newlib or QEMU is missing.
fw_need_tools()
{
    local tool
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
}

# fw_input_header N FILE: the first N held-out digits as exact float bits (little-endian
# file, little-endian targets) and their labels, as a C header.
fw_input_header()
{
    local n=$1
    {
        echo "/* digits_input.h — written by the firmware sample from samples/digits/heldout.bin */"
        echo "#define DIGITS_N $n"
        echo "static const uint32_t digits_bits[$n * 64] = {"
        od -A n -t x4 -v -N $((n * 256)) samples/digits/heldout.bin |
            awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " 0x" $i "U,"; print s }'
        echo "};"
        echo "static const unsigned char digits_labels[$n] = {"
        od -A n -t u1 -v -N "$n" samples/digits/heldout_labels.bin |
            awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " " $i ","; print s }'
        echo "};"
    } > "$2"
}

# fw_qemu MACHINE ELF OUTFILE: runs the firmware with semihosting (its console output is
# QEMU's stderr, written to OUTFILE); non-zero, with the logs printed, if it did not exit
# cleanly within two minutes.
fw_qemu()
{
    if ! timeout 120 qemu-system-arm -M "$1" -display none -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$2" \
        < /dev/null > "$3.qemu" 2> "$3"; then
        cat "$3.qemu" "$3"
        echo "FAIL: the firmware did not exit cleanly under QEMU ($1)"
        return 1
    fi
}

# fw_compare HOST FIRMWARE: same lines, same words; numbers within 2e-5 (libm's expf
# differs in the last bits). Non-zero, naming the first differences, if not.
fw_compare()
{
    awk -v tol=2e-5 '
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
    ' "$1" "$2"
}
