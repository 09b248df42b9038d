#!/bin/sh
# run.sh — string tensors end to end: the ONNX node tests of Cast/CastLike to and from
# string and of StringNormalizer through `onnxcc check` on each TARGET given (hls must
# refuse them in one line), the --max-string bound and its errors, and the generated C API
# driven by a hand-written caller (cells in, cells and real dims out).
#   sh tests/strings/run.sh ONNXCC TARGET...
set -u
onnxcc=$1
shift
data=/usr/share/libonnx-testdata/data/node
if [ ! -d "$data/test_strnormalizer_export_monday_empty_output" ]; then
    echo "skipped: the ONNX node tests are missing (install the Debian package libonnx-testdata)"
    exit 77
fi
command -v cc >/dev/null 2>&1 || { echo "skipped: no C compiler (install gcc)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

tests="test_cast_FLOAT_to_STRING test_cast_STRING_to_FLOAT test_castlike_FLOAT_to_STRING
test_castlike_STRING_to_FLOAT_expanded test_strnormalizer_export_monday_empty_output
test_strnormalizer_export_monday_insensintive_upper_twodim
test_strnormalizer_export_monday_casesensintive_lower"
for t in "$@"; do
    for m in $tests; do
        out=$("$onnxcc" check "$data/$m/model.onnx" "$data/$m/test_data_set_0" --target "$t" 2>&1)
        last=$(printf '%s\n' "$out" | tail -n 1)
        if [ "$t" = hls ]; then
            case "$last" in
            "FAIL unsupported:"*"string operations are unsupported on target hls"*) ok "$t $m refused" ;;
            *) bad "$t $m: $last" ;;
            esac
        elif [ "$last" = PASS ]; then
            ok "$t $m"
        else
            printf '%s\n' "$out"
            bad "$t $m: $last"
        fi
    done
done

# the bound: float text needs 23 bytes; input strings longer than it are refused by check
m=$data/test_cast_FLOAT_to_STRING/model.onnx
out=$("$onnxcc" compile "$m" -o "$tmp/short" --max-string 5 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
   printf '%s' "$out" | grep -q "give --max-string 23 or more" && [ ! -e "$tmp/short" ]; then
    ok "--max-string 5: $out"
else
    bad "--max-string 5 on a float-to-string Cast: rc $rc: $out"
fi
m=test_strnormalizer_nostopwords_nochangecase
last=$("$onnxcc" check "$data/$m/model.onnx" "$data/$m/test_data_set_0" --max-string 3 2>&1 | tail -n 1)
case "$last" in
*"input 'x' holds a string of 6 bytes, longer than --max-string 3"*) ok "check --max-string 3: $last" ;;
*) bad "check --max-string 3: $last" ;;
esac
# a stopword longer than any string the cells hold can never match: it is left out
m=test_strnormalizer_export_monday_casesensintive_upper
"$onnxcc" compile "$data/$m/model.onnx" -o "$tmp/s3" --name s3 --max-string 3 >/dev/null 2>&1 &&
    ! grep -q 'monday' "$tmp/s3/s3_weights.c" && ok "stopword longer than --max-string left out" ||
    bad "stopword longer than --max-string"
out=$("$onnxcc" compile "$data/$m/model.onnx" -o "$tmp/x" --max-string 0 2>&1)
[ $? -ne 0 ] && printf '%s' "$out" | grep -q "bad --max-string '0'" && ok "--max-string 0 refused" ||
    bad "--max-string 0: $out"

# without a data set: the interpreter has no string kernels, said in one line
last=$("$onnxcc" check "$data/$m/model.onnx" 2>&1 | tail -n 1)
case "$last" in
"FAIL unsupported:"*"is a string tensor"*"check with a data set") ok "self-check refused" ;;
*) bad "self-check: $last" ;;
esac
"$onnxcc" --help 2>&1 | grep -q -- "--max-string N" && ok "--help names --max-string" ||
    bad "--help does not name --max-string"

# the header documents the cells; the API from a caller's side
"$onnxcc" compile "$data/$m/model.onnx" -o "$tmp/sn" --name sn --max-string 15 >/dev/null 2>&1 ||
    bad "compile $m"
if grep -q '#define SN_STRING_BYTES 16' "$tmp/sn/sn.h" &&
   grep -q '"x" string\[4\] (cells of STRING_BYTES)' "$tmp/sn/sn.h" &&
   grep -q 'int sn_run(const uint8_t x\[4\]\[16\], uint8_t y\[4\]\[16\], int64_t y_dims\[1\])' "$tmp/sn/sn.h"; then
    ok "header: STRING_BYTES, string[4], the cells in sn_run"
else
    bad "header:"; cat "$tmp/sn/sn.h"
fi
cat > "$tmp/sn/main.c" <<'CEOF'
#include <stdio.h>
#include <string.h>
#include "sn.h"
int main(void)
{
    /* stopword "monday" (case-sensitive), UPPER; a UTF-8 byte pair and a cell filled to
     * its last byte without a NUL */
    uint8_t x[4][SN_STRING_BYTES], y[4][SN_STRING_BYTES];
    int64_t dims[1] = { -1 };
    memset(x, 0, sizeof x);
    strcpy((char *)x[0], "monday");
    strcpy((char *)x[1], "Caf\xc3\xa9 Monday");
    memset(x[2], 'a', SN_STRING_BYTES);
    strcpy((char *)x[3], "");
    /* C99 converts a pointer to arrays to const only through a cast */
    if (sn_run((const uint8_t (*)[SN_STRING_BYTES])x, y, dims) != 0) return 1;
    printf("%lld|%s|%s|%s|\n", (long long)dims[0], (char *)y[0], (char *)y[1], (char *)y[2]);
    return 0;
}
CEOF
if cc -std=c99 -Wall -Wextra -pedantic -Werror -o "$tmp/sn/run" "$tmp/sn"/*.c -lm 2>"$tmp/cc.log"; then
    got=$("$tmp/sn/run")
    want=$(printf '3|CAF\303\251 MONDAY|AAAAAAAAAAAAAAA||')
    [ "$got" = "$want" ] && ok "caller: $got" || bad "caller: got '$got', want '$want'"
else
    cat "$tmp/cc.log"
    bad "the generated code and a caller do not build warning-free"
fi
echo "$fails failed"
[ "$fails" -eq 0 ]
