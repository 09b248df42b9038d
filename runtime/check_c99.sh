#!/bin/sh
# check_c99.sh — compiles each runtime file alone, as a user of the generated code would,
# with every C compiler given (missing ones are skipped): the runtime must stay strict C99
# and warning-free outside our meson build. usage: check_c99.sh "CC..." FILE...
set -u
compilers=$1
shift
status=0
tried=0
tmp=${TMPDIR:-/tmp}/onnxcc_rt_c99.$$.o
for cc in $compilers; do
    command -v "$cc" >/dev/null 2>&1 || continue
    tried=$((tried + 1))
    for f in "$@"; do
        case "$f" in
        *.h) lang="-x c" ;;
        *) lang="" ;;
        esac
        # shellcheck disable=SC2086
        if ! "$cc" -std=c99 -Wall -Wextra -pedantic -Werror $lang -c "$f" -o "$tmp"; then
            echo "FAIL: $cc $f"
            status=1
        else
            echo "ok: $cc $f"
        fi
    done
done
rm -f "$tmp"
if [ "$tried" -eq 0 ]; then
    echo "no C compiler found among: $compilers"
    exit 1
fi
exit $status
