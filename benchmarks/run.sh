#!/bin/bash
# run.sh — the performance benchmark (not a test): onnxcc against ONNX Runtime on one core.
#
#   bash benchmarks/run.sh [BUILD_DIR]          (default build; BUILD_DIR/onnxcc must be built)
#
# 1. benchmarks/make_models.py (Debian's python3-onnx, /usr/bin/python3) writes the model
#    set with fixed-seed random weights and inputs into BUILD_DIR/bench-models (not
#    committed; regenerated only when the generator's version changes): mnist (small CNN),
#    squeezenet11, mobilenetv2 (1.0, 224), resnet50 (v1, BatchNormalization kept),
#    transformer (2-layer encoder as PyTorch exports it), kws_lstm (LSTM keyword spotter),
#    digits (samples/digits/digits.onnx). Batch 1, float32.
# 2. onnxruntime-node is installed from npm into benchmarks/node_modules when missing.
# 3. Per model, three contenders, all under `taskset -c 1`: ORT (benchmarks/ort_bench.js:
#    one intra-op and one inter-op thread, graphOptimizationLevel 'all'), onnxcc
#    `--target c` built with gcc -O3 -march=native, and onnxcc `--target x86_64 --cpu
#    native` (NET.o linked with benchmarks/harness.c and -lm). Models whose weights exceed
#    16 MB (resnet50) use `--weights bin` on the C path, so gcc does not parse 100 MB of
#    literals (the harness loads the blob and passes it to NET_run). Rounds alternate
#    between contenders (the first contender of a round rotates); in a round each contender
#    warms up, times RUNS calls and reports their median; the table shows the median of the
#    per-round medians (a contender slower than 2 s a call runs 3 rounds at most). The
#    first round's outputs of C and x86_64 are compared with ORT's
#    (rtol 1e-3, atol 1e-5): a difference prints a MISMATCH line.
# 4. Prints a markdown table: MFLOP (conv/gemm/matmul/lstm MACs * 2), ms per contender,
#    ORT/C and ORT/x86_64 (> 1: onnxcc faster) and their geometric means (also over the
#    models of at least 1 MFLOP: below, ORT's per-call overhead dominates). A model onnxcc
#    cannot compile or build shows as an error cell with its one-line message.
# 5. Runs benchmarks/sgemm.sh BUILD_DIR when that file exists (ONNXCC_BENCH_SGEMM=0: not).
#
# Environment: ONNXCC_BENCH_ROUNDS (default 5), ONNXCC_BENCH_RUNS (timed calls per round;
# default 0 = as many as fit in ONNXCC_BENCH_BUDGET seconds, default 1), ONNXCC_BENCH_MODELS
# (space-separated subset), ONNXCC_BENCH_CORE (default 1; 0 on a one-core machine).
# Exit status: 0 when every contender ran and agreed with ORT, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
build=${1:-build}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build dir ${1:-build}" >&2; exit 1; }
onnxcc=$build/onnxcc
[ -x "$onnxcc" ] || { echo "run.sh: no $onnxcc (meson setup BUILD --buildtype=release && ninja -C BUILD)" >&2; exit 1; }

# OpenBLAS tuning variables of the environment would skew sgemm.sh's reference; unset here only.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

rounds=${ONNXCC_BENCH_ROUNDS:-5}
runs=${ONNXCC_BENCH_RUNS:-0}
budget=${ONNXCC_BENCH_BUDGET:-1}
core=${ONNXCC_BENCH_CORE:-$(($(nproc 2>/dev/null || echo 1) > 1 ? 1 : 0))}
models=${ONNXCC_BENCH_MODELS:-mnist squeezenet11 mobilenetv2 resnet50 transformer kws_lstm digits}
node=/usr/bin/node
py=/usr/bin/python3
pin=(taskset -c "$core")
command -v taskset >/dev/null 2>&1 || { echo "run.sh: taskset missing: running unpinned" >&2; pin=(); }

apt_install() {  # PACKAGE... (Debian only; sudo when not root)
    local sudo=()
    command -v apt-get >/dev/null 2>&1 || return 1
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# ---- 1. models
if ! "$py" -c 'import onnx, numpy' 2>/dev/null; then
    echo "run.sh: installing python3-onnx"
    apt_install python3-onnx >/dev/null || { echo "run.sh: needs python3-onnx for $py" >&2; exit 1; }
fi
mdir=$build/bench-models
"$py" benchmarks/make_models.py "$mdir" || { echo "run.sh: make_models.py failed" >&2; exit 1; }

# ---- 2. onnxruntime-node
if [ ! -x "$node" ]; then
    apt_install nodejs npm >/dev/null || { echo "run.sh: needs $node" >&2; exit 1; }
fi
if [ ! -d benchmarks/node_modules/onnxruntime-node ]; then
    echo "run.sh: installing onnxruntime-node into benchmarks/node_modules"
    npm install --prefix benchmarks --no-save --no-audit --no-fund onnxruntime-node \
        --onnxruntime-node-install=skip >/dev/null ||
        { echo "run.sh: npm install onnxruntime-node failed" >&2; exit 1; }
    rm -f benchmarks/package.json benchmarks/package-lock.json
fi

work=$build/bench-work
mkdir -p "$work"
status=0
declare -A cell mflop err mism
errors=()

meta_field() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# bench_model.h for the harness: NET's header, I/O counts in parameter order, the call.
write_bench_header() {  # META NET WEIGHTS(0|1) OUTFILE
    local meta=$1 net=$2 bin=$3 f=$4 nin nout ins outs args="" k
    nin=$(grep -c '^input ' "$meta")
    nout=$(grep -c '^output ' "$meta")
    ins=$(awk '$1 == "input" { printf "%s%s", s, $4; s = ", " }' "$meta")
    outs=$(awk '$1 == "output" { printf "%s%s", s, $4; s = ", " }' "$meta")
    [ "$bin" = 1 ] && args="(w), "
    for ((k = 0; k < nin; k++)); do args+="(void *)(in)[$k], "; done
    for ((k = 0; k < nout; k++)); do args+="(void *)(out)[$k], "; done
    local up=${net^^}
    {
        echo "#include \"$net.h\""
        echo "#define BENCH_N_IN $nin"
        echo "#define BENCH_N_OUT $nout"
        echo "#if ${up}_NUM_INPUTS != BENCH_N_IN || ${up}_NUM_OUTPUTS != BENCH_N_OUT"
        echo "#error \"bench_model.h: $net has other inputs/outputs than meta.txt\""
        echo "#endif"
        echo "#define BENCH_IN_COUNTS { $ins }"
        echo "#define BENCH_OUT_COUNTS { $outs }"
        echo "#define BENCH_CALL(w, in, out) ${net}_run(${args%, })"
        if [ "$bin" = 1 ]; then
            echo "#define BENCH_WEIGHTS_BYTES ${up}_WEIGHTS_BYTES"
            echo "#define BENCH_WEIGHTS_ALIGN ${up}_WEIGHTS_ALIGN"
        fi
    } >"$f"
}

first_error() {  # LOG -> one line
    local l
    l=$(grep -m1 -E 'error|Error|FAIL' "$1")
    [ -n "$l" ] || l=$(tail -n 1 "$1")
    l=${l#onnxcc: }
    l=${l#error: }
    echo "${l:0:160}"
}

# Compile with onnxcc and build the harness; sets prog[who] or err[model,who].
declare -A prog wfile
build_contender() {  # MODEL WHO(c|x86_64)
    local m=$1 who=$2 d=$work/$1/$2 log bin=0 t0
    rm -rf "$d"
    mkdir -p "$d"
    log=$d/log
    local extra=()
    if [ "$who" = c ]; then
        if [ "$(stat -c %s "$mdir/$m/model.onnx")" -gt 16000000 ]; then
            extra=(--weights bin)
            bin=1
        fi
    else
        extra=(--target x86_64 --cpu native)
    fi
    t0=$SECONDS
    if ! timeout 900 "$onnxcc" compile "$mdir/$m/model.onnx" -o "$d/src" --name "$m" "${extra[@]}" >"$log" 2>&1; then
        err[$m,$who]="compile error: $(first_error "$log")"
        return
    fi
    write_bench_header "$mdir/$m/meta.txt" "$m" "$bin" "$d/bench_model.h"
    if [ "$who" = c ]; then
        timeout 900 gcc -std=c11 -O3 -march=native -I"$d" -I"$d/src" "$d"/src/*.c benchmarks/harness.c \
            -lm -o "$d/prog" >>"$log" 2>&1
    else
        timeout 900 gcc -std=c11 -O2 -I"$d" -I"$d/src" benchmarks/harness.c "$d/src/$m.o" \
            -lm -o "$d/prog" >>"$log" 2>&1
    fi || { err[$m,$who]="build error: $(first_error "$log")"; return; }
    prog[$m,$who]=$d/prog
    wfile[$m,$who]=""
    [ "$bin" = 1 ] && wfile[$m,$who]=$d/src/${m}_weights.bin
    echo "  $m/$who built in $((SECONDS - t0)) s"
}

run_one() {  # MODEL WHO OUTDIR -> appends the median to $work/MODEL/WHO.times
    local m=$1 who=$2 out=$3 line
    if [ "$who" = ort ]; then
        line=$(cd benchmarks && "${pin[@]}" "$node" ort_bench.js run "$mdir/$m" "$out" "$runs" "$budget" 2>&1)
    else
        [ -n "${prog[$m,$who]:-}" ] || return 0
        # shellcheck disable=SC2086
        line=$("${pin[@]}" "${prog[$m,$who]}" "$mdir/$m" "$out" "$runs" "$budget" ${wfile[$m,$who]} 2>&1)
    fi
    if [[ $line == *median_ms* ]]; then
        awk '/median_ms/ { print $2 }' <<<"$line" >>"$work/$m/$who.times"
    else
        err[$m,$who]="run error: ${line:0:160}"
        [ "$who" != ort ] && prog[$m,$who]=""
    fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

t_start=$SECONDS
for m in $models; do
    [ -f "$mdir/$m/meta.txt" ] || { echo "run.sh: unknown model $m" >&2; status=1; continue; }
    echo "== $m"
    mflop[$m]=$(meta_field "$mdir/$m/meta.txt" mflop)
    mkdir -p "$work/$m"
    build_contender "$m" c
    build_contender "$m" x86_64
    rm -f "$work/$m"/*.times
    rm -rf "$work/$m/out"
    contenders=(ort c x86_64)
    for ((r = 0; r < rounds; r++)); do
        for ((i = 0; i < 3; i++)); do
            who=${contenders[$(((r + i) % 3))]}
            [ -z "${err[$m,$who]:-}" ] || continue
            # a contender slower than 2 s a call stops after 3 rounds (the run stays ~15 min)
            if [ "$r" -ge 3 ] && awk '$1 > 2000 { s = 1 } END { exit !s }' "$work/$m/$who.times" 2>/dev/null; then
                continue
            fi
            out=-
            if [ "$r" -eq 0 ]; then out=$work/$m/out/$who; mkdir -p "$out"; fi
            run_one "$m" "$who" "$out"
        done
        if [ "$r" -eq 0 ]; then  # compare with ORT once, on the first round's outputs
            for who in c x86_64; do
                [ -n "${prog[$m,$who]:-}" ] && [ -z "${err[$m,ort]:-}" ] || continue
                res=$(cd benchmarks && "$node" ort_bench.js compare "$mdir/$m/meta.txt" \
                      "$work/$m/out/ort" "$work/$m/out/$who" 2>&1)
                if [[ $res != ok* ]]; then
                    echo "MISMATCH $m $who vs ORT: $res"
                    mism[$m,$who]=1
                    status=1
                else
                    echo "  $m/$who agrees with ORT ($res)"
                fi
            done
        fi
    done
    for who in ort c x86_64; do
        if [ -n "${err[$m,$who]:-}" ]; then
            echo "  $m/$who: ${err[$m,$who]}"
            errors+=("$m $who: ${err[$m,$who]}")
            status=1
        elif [ -s "$work/$m/$who.times" ]; then
            cell[$m,$who]=$(median <"$work/$m/$who.times")
        fi
    done
done

# ---- 4. the table
fmt_ms() { awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.1f", x; else if (x >= 1) printf "%.2f", x; else if (x >= 0.01) printf "%.3f", x; else printf "%.3g", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "onnxcc vs ONNX Runtime $(node -p "require('$root/benchmarks/node_modules/onnxruntime-node/package.json').version" 2>/dev/null), one core (taskset -c $core), $rounds rounds, median of per-round medians; ms per NET_run"
echo
echo "| model | MFLOP | ORT ms | C ms | x86_64 ms | ORT/C | ORT/x86_64 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
lc=0 lx=0 nc=0 nx=0 bc=0 bx=0 mc=0 mx=0
for m in $models; do
    [ -n "${mflop[$m]:-}" ] || continue
    row="| $m | $(awk -v f="${mflop[$m]}" 'BEGIN { printf (f >= 10 ? "%.0f" : "%.2g"), f }')"
    for who in ort c x86_64; do
        if [ -n "${err[$m,$who]:-}" ]; then
            row+=" | ${err[$m,$who]//|/\\|}"
        elif [ -n "${cell[$m,$who]:-}" ]; then
            row+=" | $(fmt_ms "${cell[$m,$who]}")"
            [ -n "${mism[$m,$who]:-}" ] && row+=" (MISMATCH)"
        else
            row+=" | -"
        fi
    done
    for who in c x86_64; do
        if [ -n "${cell[$m,ort]:-}" ] && [ -n "${cell[$m,$who]:-}" ]; then
            q=$(ratio "${cell[$m,ort]}" "${cell[$m,$who]}")
            row+=" | $q"
            l=$(awk -v a="${cell[$m,ort]}" -v b="${cell[$m,$who]}" 'BEGIN { print log(a / b) }')
            big=$(awk -v f="${mflop[$m]}" 'BEGIN { print (f >= 1) }')
            if [ "$who" = c ]; then
                lc=$(awk -v s="$lc" -v l="$l" 'BEGIN { print s + l }'); nc=$((nc + 1))
                [ "$big" = 1 ] && { bc=$(awk -v s="$bc" -v l="$l" 'BEGIN { print s + l }'); mc=$((mc + 1)); }
            else
                lx=$(awk -v s="$lx" -v l="$l" 'BEGIN { print s + l }'); nx=$((nx + 1))
                [ "$big" = 1 ] && { bx=$(awk -v s="$bx" -v l="$l" 'BEGIN { print s + l }'); mx=$((mx + 1)); }
            fi
        else
            row+=" | -"
        fi
    done
    echo "$row |"
done
gm() { [ "$2" -gt 0 ] && awk -v s="$1" -v n="$2" 'BEGIN { printf "%.2f (%d)", exp(s / n), n }' || echo -; }
echo "| geometric mean (models) | | | | | $(gm "$lc" "$nc") | $(gm "$lx" "$nx") |"
# below 1 MFLOP (digits) the ratio measures ORT's per-call overhead more than compute
echo "| geometric mean, models >= 1 MFLOP | | | | | $(gm "$bc" "$mc") | $(gm "$bx" "$mx") |"
echo
if [ ${#errors[@]} -gt 0 ]; then
    echo "errors:"
    printf '  %s\n' "${errors[@]}"
fi
echo "run.sh: models took $((SECONDS - t_start)) s"

# ---- 5. SGEMM against OpenBLAS (another script, when present)
if [ -f benchmarks/sgemm.sh ] && [ "${ONNXCC_BENCH_SGEMM:-1}" != 0 ]; then
    echo
    bash benchmarks/sgemm.sh "$build" || status=1
fi
exit $status
