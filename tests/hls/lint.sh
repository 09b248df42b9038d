#!/bin/bash
# lint.sh — checks that HLS C emitted by `onnxcc compile --target hls` is synthesizable in
# the sense a C-level tool can verify, for every FILE_hls.c given:
#   1. strict C99 compile (gcc and clang when present): -Wall -Wextra -pedantic -Werror -Wvla
#   2. symbols (nm): the object calls no malloc/calloc/realloc/free and no stdio
#   3. no recursion: clang-tidy's misc-no-recursion (call-graph cycles), as an error
#   4. every `for` has compile-time constant bounds: `for (T v = INT; v < INT; v++)`
#   5. no pointers: no pointer declarators, no address-of, no function pointers
# usage: lint.sh FILE_hls.c...   (exit 0 when every file passes)
set -u
status=0
fail() { echo "hls-lint: $1: $2"; status=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$@"; do
    [ -f "$f" ] || { fail "$f" "no such file"; continue; }
    n=0
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        n=$((n + 1))
        if ! $cc -std=c99 -Wall -Wextra -pedantic -Werror -Wvla -O1 -c "$f" -o "$tmp/o.o" 2>"$tmp/cc.log"; then
            fail "$f" "$cc strict compile failed: $(head -n 3 "$tmp/cc.log")"
            continue
        fi
        bad=$(nm -u "$tmp/o.o" | awk '{print $NF}' |
              grep -E '^(malloc|calloc|realloc|free|aligned_alloc|alloca|printf|fprintf|puts|putchar|fwrite|fopen|exit|abort)$')
        [ -z "$bad" ] || fail "$f" "$cc object calls $(echo $bad)"
    done
    [ $n -gt 0 ] || fail "$f" "no C compiler found"
    if command -v clang-tidy >/dev/null; then
        out=$(clang-tidy --quiet -checks='-*,misc-no-recursion' -warnings-as-errors='*' "$f" \
              -- -std=c99 2>&1) || fail "$f" "clang-tidy misc-no-recursion: $(echo "$out" | grep -m 2 warning)"
    else
        fail "$f" "clang-tidy not installed (needed for the recursion check)"
    fi
    # Comments and string literals out of the way, then the loop and pointer checks.
    sed -e 's|/\*.*\*/||g' -e '/\/\*/,/\*\//d' -e 's|"[^"]*"|""|g' "$f" > "$tmp/code.c"
    bad=$(grep -nE '\bfor[[:space:]]*\(' "$tmp/code.c" |
          grep -vE 'for \([a-z0-9_]+ [A-Za-z0-9_]+ = \(?-?[0-9]+\)?; [A-Za-z0-9_]+ < \(?-?[0-9]+\)?; [A-Za-z0-9_]+\+\+\) \{' | head -n 3)
    [ -z "$bad" ] || fail "$f" "loop without constant bounds: $bad"
    nfor=$(grep -cE '\bfor[[:space:]]*\(' "$tmp/code.c")
    nlab=$(grep -cE 'L_[A-Za-z0-9_]+: for \(' "$tmp/code.c")
    [ "$nfor" = "$nlab" ] || fail "$f" "$((nfor - nlab)) loops without a label"
    bad=$(grep -nE '(\*[A-Za-z_(]|\(\*|&[A-Za-z_(])' "$tmp/code.c" | grep -vE '^[0-9]+:#' | head -n 3)
    [ -z "$bad" ] || fail "$f" "pointer syntax: $bad"
done
exit $status
