#!/bin/sh
# Benchmark of medsam-eval on a 181x217x181 volume with 120 labels made from
# the data-samples MR (bench/make_eval_volume.py; regenerated, never committed),
# plus a synthetic CT-sized case (512x512x200, 5 labels, --big), and
# comparison with upstream's algorithm in numpy/scipy (bench/eval_reference.py):
# wall and CPU time, peak RSS, and the largest difference of the metrics.
# usage: bench/bench_eval.sh BUILD_DIR [WORK_DIR]   (needs /usr/bin/python3 with scipy)
set -eu
B=${1:?usage: bench/bench_eval.sh BUILD_DIR [WORK_DIR]}
W=${2:-/tmp/medsam-bench-eval}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -f "$W/gts/3DMR_bench.npz" ] || "$PY" "$HERE/make_eval_volume.py" "$W"
TIME="/usr/bin/time -f %e_s_wall_%U_s_user_%M_KB_peak_RSS"
EVAL="$B/src/tools/medsam-eval"

echo "== medsam-eval, DSC + NSD (2 mm), one case, -j 1"
$TIME "$EVAL" -q -s "$W/segs" -g "$W/gts" -o "$W/c.csv" 2>&1 | tr _ ' '
cat "$W/c.csv"
echo "== medsam-eval --no-nsd"
$TIME "$EVAL" -q -s "$W/segs" -g "$W/gts" -o "$W/c_dsc.csv" --no-nsd 2>&1 | tr _ ' '
echo "== medsam-eval --per-label (NSD of every label)"
$TIME "$EVAL" -q -s "$W/segs" -g "$W/gts" -o "$W/c.csv" --per-label "$W/c_pl.csv" 2>&1 | tr _ ' '
echo "== upstream algorithm, numpy/scipy (bench/eval_reference.py)"
$TIME "$PY" "$HERE/eval_reference.py" "$W/segs" "$W/gts" "$W/py.csv" "$W/py_pl.csv" 2>&1 | tr _ ' '
cmp "$W/c.csv" "$W/py.csv" && echo "metrics CSV identical"
echo "== full-precision comparison per label"
"$B/bench/bench_eval" "$W/segs" "$W/gts" --labels > "$W/c_full.txt"
"$PY" - "$W/c_full.txt" "$W/py_pl.csv" <<'PYEOF'
import csv, sys
ref = {(r["case"], int(r["label"])): (float(r["dsc"]), float(r["nsd"]))
       for r in csv.DictReader(open(sys.argv[2]))}
dd = dn = 0.0
n = 0
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 4 or not f[1].isdigit():
        continue
    d, s = float(f[2]), float(f[3])
    rd, rs = ref[(f[0], int(f[1]))]
    dd, dn, n = max(dd, abs(d - rd)), max(dn, abs(s - rs)), n + 1
print("%d labels: max |DSC diff| %.3g, max |NSD diff| %.3g" % (n, dd, dn))
PYEOF

echo "== synthetic CT-sized case: 512x512x200, 5 labels (make_eval_volume.py --big)"
[ -f "$W/big/gts/3DCT_big.npz" ] || "$PY" "$HERE/make_eval_volume.py" "$W/big" --big
$TIME "$EVAL" -q -s "$W/big/segs" -g "$W/big/gts" -o "$W/big/c.csv" 2>&1 | tr _ ' '
cat "$W/big/c.csv"
echo "-- upstream algorithm"
$TIME "$PY" "$HERE/eval_reference.py" "$W/big/segs" "$W/big/gts" "$W/big/py.csv" 2>&1 | tr _ ' '
cmp "$W/big/c.csv" "$W/big/py.csv" && echo "metrics CSV identical"
