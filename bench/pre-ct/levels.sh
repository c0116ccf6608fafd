#!/bin/sh
# medsam-pre-ct's npz size and CPU time (user + sys) at each --compress-level,
# on the CT volume of run.sh (which makes it): the levels alternate within
# each round, and the median of the rounds is printed with the load average
# seen.  Not a test.
#
# usage: bench/pre-ct/levels.sh BUILD_DIR [ROUNDS [WORK_DIR [LEVELS]]]
#   defaults: 5 rounds, /tmp/medsam-bench-prect, levels "1 2 3 4 5 6 7 8 9"
set -eu
B=${1:?usage: bench/pre-ct/levels.sh BUILD_DIR [ROUNDS [WORK_DIR [LEVELS]]]}
N=${2:-5}
W=${3:-/tmp/medsam-bench-prect}
LEVELS=${4:-1 2 3 4 5 6 7 8 9}
TOOL="$B/src/tools/medsam-pre-ct"
IMG="$W/ct/images/ct512_0000.nii.gz" LAB="$W/ct/labels/ct512.nii.gz"
[ -f "$LAB" ] || { echo "no $LAB: run bench/pre-ct/run.sh first" >&2; exit 1; }
RAW="$W/levels.raw"
: > "$RAW"
r=0
while [ "$r" -lt "$N" ]; do
    r=$((r + 1))
    for L in $LEVELS; do
        /usr/bin/time -f "%U %S %e %M" -o "$W/levels.time" "$TOOL" -q --compress-level "$L" \
            "$IMG" "$LAB" -o "$W/levels.$L.npz"
        echo "$L $(cat "$W/levels.time") $(wc -c < "$W/levels.$L.npz") $(cut -d' ' -f1 /proc/loadavg)" >> "$RAW"
    done
done
/usr/bin/python3 - "$RAW" <<'PYEOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print("level  CPU s median (min-max)  wall s median  peak RSS MiB  npz bytes  load1 range")
for L in sorted({int(r[0]) for r in rows}):
    g = [r for r in rows if int(r[0]) == L]
    cpu = [float(r[1]) + float(r[2]) for r in g]
    wall = [float(r[3]) for r in g]
    load = [float(r[6]) for r in g]
    print("%5d  %.2f (%.2f-%.2f)  %13.2f  %12.0f  %9s  %.2f-%.2f" % (
        L, statistics.median(cpu), min(cpu), max(cpu), statistics.median(wall),
        max(float(r[4]) for r in g) / 1024, g[-1][5], min(load), max(load)))
PYEOF
