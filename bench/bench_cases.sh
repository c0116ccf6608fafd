#!/bin/sh
# Whole cases through medsam-segment (image -> npz of masks, as a user runs
# it): per case and thread count, the median wall time over RUNS runs (and
# the range), the median CPU time, GFLOP/s and % of the kernel peak, the
# peak RSS, the dispatch path, and whether every run wrote the same bytes.
#
# GFLOP/s counts the GEMM work of the encoder and decoder runs the case
# needed (medsam-segment -v), at bench_engine's per-run counts; that work
# over the wall time, against the kernel peak bench_engine measures on
# this machine at the start (per thread, times the threads).  The decoder's
# per-embedding cache builds are not counted, so this slightly understates.
#
# usage: bench/bench_cases.sh BUILD_DIR [-n RUNS] [-t 1,2] [-w CKPT] [CASE.npz...]
#   default cases: tests/data/segment/2D_brainpd.npz and 3D_kmeans.npz
#   default checkpoint: the random-weight fixture (the timing is the same
#   for the trained weights: the work does not depend on the values).
#   MEDSAM_CPU=ref|avx2|avx512|neon picks the path, as for medsam-segment.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [-n RUNS] [-t 1,2] [-w CKPT] [CASE.npz...]" >&2; exit 2; }
B=$1
shift
RUNS=3
THREADS=1,2
CKPT=$SRC/tests/data/model/random_seed7.pth
while getopts n:t:w: opt; do
    case $opt in
    n) RUNS=$OPTARG ;;
    t) THREADS=$OPTARG ;;
    w) CKPT=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- "$SRC/tests/data/segment/2D_brainpd.npz" "$SRC/tests/data/segment/3D_kmeans.npz"
TOOL=$B/src/tools/medsam-segment
ENGINE=$B/bench/bench_engine
for f in "$TOOL" "$ENGINE"; do
    [ -x "$f" ] || { echo "$0: $f: not built (meson setup with -Dbench=true)" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/bench_cases.XXXXXX")
trap 'rm -rf "$W"' EXIT

# The path, the work per encoder / decoder run and the kernel peak.
PATHOPT=
[ -n "${MEDSAM_CPU:-}" ] && PATHOPT="-p $MEDSAM_CPU"
# shellcheck disable=SC2086
"$ENGINE" -w "$CKPT" -n 1 -t 1 $PATHOPT >"$W/engine" 2>&1 || { cat "$W/engine" >&2; exit 1; }
PATHNAME=$(awk 'NR == 2 { print $1 }' "$W/engine")
read -r ENC_G DEC_G PEAK <<EOF
$(sed -n 's/.*GEMM work: encoder \([0-9.]*\) G, decoder \([0-9.]*\) G.*kernel peak \([0-9.]*\) GFLOP.*/\1 \2 \3/p' "$W/engine")
EOF
[ -n "$PEAK" ] || { echo "$0: no figures from bench_engine" >&2; cat "$W/engine" >&2; exit 1; }
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "path $PATHNAME; GEMM work per encoder run ${ENC_G} G, per decoder run ${DEC_G} G multiply-adds; kernel peak ${PEAK} GFLOP/s per thread"
echo
echo "| case | threads | encoder / decoder runs | wall median (range) | CPU median | GFLOP/s | % of peak | peak RSS | same bytes |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in "$@"; do
    name=$(basename "$c" .npz)
    rm -f "$W/first.npz"
    first=
    for t in $(echo "$THREADS" | tr , ' '); do
        : >"$W/runs"
        same=yes
        r=0
        while [ $r -lt "$RUNS" ]; do
            r=$((r + 1))
            rm -rf "$W/out"
            /usr/bin/time -f "%e %U %S %M" -o "$W/time" \
                "$TOOL" -v -t "$t" -w "$CKPT" "$c" -o "$W/out" 2>"$W/err" >/dev/null ||
                { cat "$W/err" >&2; exit 1; }
            runs=$(sed -n 's/.*: [0-9]* boxes, \([0-9]*\) encoder runs, \([0-9]*\) decoder runs,.*/\1 \2/p' "$W/err")
            echo "$(cat "$W/time") $runs" >>"$W/runs"
            if [ -z "$first" ]; then
                first=$W/first.npz
                cp "$W/out/$name.npz" "$first"
            elif ! cmp -s "$first" "$W/out/$name.npz"; then
                same=NO
            fi
        done
        # wall user sys rss_kb enc dec per line -> the table row
        sort -n "$W/runs" | awk -v n="$RUNS" -v t="$t" -v name="$name" -v eg="$ENC_G" \
            -v dg="$DEC_G" -v pk="$PEAK" -v same="$same" '
            { w[NR] = $1; cpu[NR] = $2 + $3; if ($4 > rss) rss = $4; e = $5; d = $6 }
            END {
                m = (n % 2) ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
                # CPU median, sorted separately
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                    if (cpu[j] < cpu[i]) { x = cpu[i]; cpu[i] = cpu[j]; cpu[j] = x }
                cm = (n % 2) ? cpu[(n + 1) / 2] : (cpu[n / 2] + cpu[n / 2 + 1]) / 2
                gf = 2 * (e * eg + d * dg) / m
                printf "| %s | %d | %d / %d | %.2f s (%.2f–%.2f) | %.2f s | %.1f | %.0f %% | %d MB | %s |\n",
                    name, t, e, d, m, w[1], w[n], cm, gf, 100 * gf / (t * pk), rss / 1024, same
            }'
    done
done
