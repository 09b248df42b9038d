#!/bin/bash
# tests/report/run.sh — `onnxcc report --html` in a real browser: the page for
# tests/models/fusion_cnn (fused Conv+BN+Add+Relu chains, a fused elementwise chain, 15
# arena tensors; --hls-type fixed<16,6> so target hls refuses three of its nodes) is opened
# in headless Chromium. It must load with no script error, no console error and nothing
# blocked by its Content-Security-Policy, its chart must hold exactly one rectangle per
# planned tensor (the count the report prints), and a screenshot goes to OUT_DIR. A copy
# of the page with a broken script must be caught, so the check itself can fail.
#
# usage: run.sh ONNXCC SOURCE_ROOT OUT_DIR    (exit 77: Chromium is not installed)
set -uo pipefail
onnxcc=$1 src=$2 out=$3

chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
    echo "report-html: SKIP: no chromium (install the Debian package chromium)"
    exit 77
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "report-html: FAIL: $*"; exit 1; }

model=$src/tests/models/fusion_cnn/model.onnx
page=$out/report_fusion_cnn.html
shot=$out/report_fusion_cnn.png
rm -f "$page" "$shot"
"$onnxcc" report "$model" --hls-type 'fixed<16,6>' --html "$page" > "$work/report.txt" ||
    fail "onnxcc report exited $?: $(cat "$work/report.txt")"
line=$(grep '^html: ' "$work/report.txt") || fail "no 'html:' line in the report"
want=$(sed -n 's/.* \([0-9][0-9]*\) planned tensors in the memory chart.*/\1/p' <<< "$line")
[ -n "$want" ] && [ "$want" -gt 1 ] || fail "bad planned tensor count in: $line"
echo "report: $line"

# Chromium wants a writable profile and home; the test must not touch the user's.
browse() {
    HOME=$work timeout 120 "$chrome" --headless --disable-gpu --no-sandbox --no-first-run --disable-dev-shm-usage \
        --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
        --virtual-time-budget=5000 "$@"
}

# $1: page; prints "RECTS ERRORS" as the page's own check wrote them into the DOM, and
# the number of console messages Chromium logged for it
page_check() {
    browse --dump-dom "file://$1" > "$work/dom.html" 2> "$work/chrome.log"
    local sc
    sc=$(grep -o '<p id="selfcheck"[^>]*>[^<]*' "$work/dom.html")
    local rects errors consoles
    rects=$(sed -n 's/.*data-rects="\([0-9]*\)".*/\1/p' <<< "$sc")
    errors=$(sed -n 's/.*data-errors="\([0-9]*\)".*/\1/p' <<< "$sc")
    consoles=$(grep -c ':CONSOLE' "$work/chrome.log")
    echo "${rects:-none} ${errors:-none} $consoles"
}

read -r rects errors consoles < <(page_check "$page")
echo "chromium: $rects rectangles drawn, $errors page errors, $consoles console messages"
[ "$rects" = "$want" ] || fail "the chart has $rects rectangles, the plan $want tensors"
[ "$errors" = 0 ] || fail "the page reported errors: $(grep -o '<p id="selfcheck".*' "$work/dom.html")"
[ "$consoles" = 0 ] || fail "console output: $(grep ':CONSOLE' "$work/chrome.log" | head -3)"
# the rendered DOM (not only the file) has the refused nodes highlighted and the refusal
grep -q '<tr data-target="hls"><td>hls</td><td class="bad">refuses' "$work/dom.html" ||
    fail "target hls is not shown refusing"
[ "$(grep -c '<tr class="refused"' "$work/dom.html")" -ge 1 ] || fail "no refused node row"
grep -q '<td class="abs"><div>c2_node (Conv)</div><div>n2_node (BatchNormalization)</div><div>a2_node (Add)</div><div>r2_node (Relu)</div>' "$work/dom.html" ||
    fail "the fused c2_node does not list the four nodes it absorbed"
if grep -Eq '(src|href)=|https?://' "$page"; then fail "the page refers to something outside it"; fi

# the check must be able to fail: a script error, a console error and a blocked fetch
sed 's|<body>|<body><script>console.error("planted");no_such_function();</script><img src="http://example.invalid/x.png">|' \
    "$page" > "$work/broken.html"
read -r brects berrors bconsoles < <(page_check "$work/broken.html")
[ "$berrors" != none ] && [ "$berrors" -ge 3 ] && [ "$bconsoles" -ge 2 ] ||
    fail "a broken copy of the page went unnoticed ($berrors page errors, $bconsoles console)"
echo "control: a broken copy is caught ($berrors page errors, $bconsoles console messages)"

browse --hide-scrollbars --window-size=1280,1500 --screenshot="$shot" "file://$page" \
    > /dev/null 2> "$work/shot.log"
[ -s "$shot" ] && [ "$(head -c 4 "$shot" | od -An -c | tr -d ' ')" = '211PNG' ] ||
    fail "no PNG screenshot at $shot"
[ "$(stat -c %s "$shot")" -gt 20000 ] || fail "the screenshot $shot is suspiciously small"
echo "screenshot: $shot"
echo "report-html: PASS"
