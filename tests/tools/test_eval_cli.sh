#!/bin/sh
# CLI tests of medsam-eval: exact CSV against upstream compute_metrics.py,
# options, per-case errors, usage errors.
# usage: test_eval_cli.sh path/to/medsam-eval path/to/tests/data/eval
set -u
EVAL=$1
DATA=$2
TOOL=$EVAL
. "$(dirname "$0")/cli_test_lib.sh"

# --- the reference metrics, byte for byte
run 0 --seg-dir "$DATA/segs" --gt-dir "$DATA/gts" -o "$T/m.csv" -q
cmp -s "$T/m.csv" "$DATA/metrics.csv"; ok "metrics.csv equals upstream's" $?
[ ! -s "$T/err" ]; ok "no stderr on success" $?

run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/m2.csv" -j 2 -q
cmp -s "$T/m2.csv" "$DATA/metrics.csv"; ok "-j 2 gives the same CSV" $?
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/m3.csv" --threads 2 -q
cmp -s "$T/m3.csv" "$DATA/metrics.csv"; ok "--threads 2 gives the same CSV" $?

# --- one case, more jobs than cases: the labels are spread over threads
mkdir -p "$T/g1" "$T/s1"
cp "$DATA/gts/3DMR_Brain_kmeans.npz" "$T/g1/"
cp "$DATA/segs/3DMR_Brain_kmeans.npz" "$T/s1/"
run 0 -s "$T/s1" -g "$T/g1" -o "$T/one1.csv" --per-label "$T/one1_pl.csv" -j 1
run 0 -s "$T/s1" -g "$T/g1" -o "$T/one3.csv" --per-label "$T/one3_pl.csv" -j 3
cmp -s "$T/one1.csv" "$T/one3.csv" && cmp -s "$T/one1_pl.csv" "$T/one3_pl.csv"
ok "label threads give the same CSVs" $?
[ "$(tail -n 1 "$T/one3.csv")" = "$(grep '^3DMR_Brain_kmeans.npz' "$DATA/metrics.csv")" ]
ok "label threads give upstream's row" $?

# --- shards: their rows together are all the rows
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/s0.csv" --shard 0/2 -q
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/s1.csv" --shard 1/2 -q
{ head -n 1 "$T/s0.csv"; tail -n +2 "$T/s0.csv"; tail -n +2 "$T/s1.csv"; } |
    { read -r h; echo "$h"; sort; } > "$T/s.csv"
cmp -s "$T/s.csv" "$DATA/metrics.csv"; ok "--shard 0/2 + 1/2 = all rows" $?
[ "$(wc -l < "$T/s0.csv")" -eq 4 ]; ok "--shard 0/2 has 3 rows" $?
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/s5.csv" --shard 7/9
[ "$(cat "$T/err")" = "medsam-eval: shard 7/9 selects no case (6 in all)" ]
ok "an empty shard says so, and only that" $?
[ "$(cat "$T/s5.csv")" = "case,dsc,nsd" ]; ok "an empty shard writes the header only" $?

# --- names without a 2D/3D prefix (medsam-pre-ct, medsam-pre-grey-rgb
# output): the rank of gts decides, 3D cases use their spacing
mkdir -p "$T/ng" "$T/ns"
for c in 2DMR_Brain_kmeans_mid 3DMR_Brain_kmeans 3DCT_Stent_stent_half; do
    cp "$DATA/gts/$c.npz" "$T/ng/X${c#??}.npz"
    cp "$DATA/segs/$c.npz" "$T/ns/X${c#??}.npz"
done
run 0 -s "$T/ns" -g "$T/ng" -o "$T/np.csv" -q
for c in 2DMR_Brain_kmeans_mid 3DMR_Brain_kmeans 3DCT_Stent_stent_half; do
    [ "$(grep "^X${c#??}.npz," "$T/np.csv" | cut -d, -f2-)" = \
      "$(grep "^$c.npz," "$DATA/metrics.csv" | cut -d, -f2-)" ]
    ok "no prefix: $c decided by rank, same metrics" $?
done
# a 2D prefix still means 2D
mkdir -p "$T/pg" "$T/ps"
cp "$DATA/gts/3DMR_Brain_kmeans.npz" "$T/pg/2DMR_vol.npz"
cp "$DATA/segs/3DMR_Brain_kmeans.npz" "$T/ps/2DMR_vol.npz"
run 1 -s "$T/ps" -g "$T/pg" -o "$T/pv.csv"
grep -q "2DMR_vol.npz: a 2D case (name starting with 2D) needs a 2D 'gts', found 3" "$T/err"
ok "2D prefix with a 3D gts refused" $?

# --- no NSD: the dsc column only
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/d.csv" --no-nsd
cut -d, -f1,2 "$DATA/metrics.csv" | sed '1s/.*/case,dsc/' > "$T/d_want.csv"
cmp -s "$T/d.csv" "$T/d_want.csv"; ok "--no-nsd writes case,dsc" $?

# --- tolerance: 0 mm cannot give a higher NSD than 2 mm, a huge one gives 1.0
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/t.csv" --tolerance 1000
[ "$(tail -n +2 "$T/t.csv" | cut -d, -f3 | sort -u)" = "1.0" ]; ok "--tolerance 1000 gives NSD 1.0" $?
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/t0.csv" --tolerance 0
awk -F, 'NR==FNR { if (FNR > 1) a[$1] = $3; next } FNR > 1 && $3 > a[$1] { bad = 1 } END { exit bad }' \
    "$DATA/metrics.csv" "$T/t0.csv"; ok "--tolerance 0 never exceeds 2 mm" $?

# --- per label: 1 + 6 + 2 + 2 + 6 + 6 labels; dsc means match the case rows
run 0 -s "$DATA/segs" -g "$DATA/gts" -o "$T/p.csv" --per-label "$T/pl.csv"
cmp -s "$T/p.csv" "$DATA/metrics.csv"; ok "--per-label leaves metrics.csv unchanged" $?
[ "$(head -n 1 "$T/pl.csv")" = "case,label,dsc,nsd,gt_voxels,seg_voxels" ]; ok "per-label header" $?
[ "$(wc -l < "$T/pl.csv")" -eq 24 ]; ok "per-label has 23 rows" $?
grep -q '^3DMR_Brain_kmeans.npz,6,0\.[0-9]*,[01]\.[0-9]*,[0-9]*,[0-9]*$' "$T/pl.csv"
ok "per-label row of label 6" $?

# --- a case missing on either side: an error for it, the others are written
mkdir -p "$T/g" "$T/s"
cp "$DATA/gts/"2D*.npz "$T/g/"
cp "$DATA/segs/2DMR_Brain_kmeans_mid.npz" "$DATA/segs/3DCT_Stent_stent_half.npz" "$T/s/"
run 1 -s "$T/s" -g "$T/g" -o "$T/miss.csv"
grep -q "2DCT_Stent_stent_half_mid.npz: no prediction" "$T/err"; ok "missing prediction named" $?
grep -q "3DCT_Stent_stent_half.npz: no ground truth" "$T/err"; ok "missing ground truth named" $?
[ "$(cat "$T/miss.csv")" = "$(printf 'case,dsc,nsd\n'; grep '^2DMR' "$DATA/metrics.csv")" ]
ok "the good case is still written" $?

# --- a broken input file
printf 'not a zip' > "$T/g/2DMR_Brain_kmeans_mid.npz"
run 1 -s "$T/s" -g "$T/g" -o "$T/bad.csv" -q
grep -q "2DMR_Brain_kmeans_mid.npz" "$T/err"; ok "broken npz named in the message" $?
[ "$(cat "$T/bad.csv")" = "case,dsc,nsd" ]; ok "header only when every case failed" $?

# --- never write over an input
cp "$DATA/gts/2DMR_Brain_kmeans_mid.npz" "$T/g/"
run 1 -s "$T/s" -g "$T/g" -o "$T/g/2DMR_Brain_kmeans_mid.npz"
cmp -s "$T/g/2DMR_Brain_kmeans_mid.npz" "$DATA/gts/2DMR_Brain_kmeans_mid.npz"
ok "input left alone" $?

# --- usage
run 2
grep -q "required" "$T/err" && grep -q -- "--help" "$T/err"; ok "missing options: usage message" $?
run 2 -s "$T/s" -g "$T/g" -o "$T/x.csv" --tolerance -1
grep -q "tolerance" "$T/err"; ok "negative tolerance refused" $?
run 2 -s "$T/s" -g "$T/g" -o "$T/x.csv" --shard 2/2
run 2 -s "$T/s" -g "$T/g" -o "$T/x.csv" -j many
run 2 -s "$T/s" -g "$T/g" -o "$T/x.csv" --frobnicate
grep -q "frobnicate" "$T/err"; ok "unknown option named" $?
run 2 -s "$T/s" -g "$T/g" -o "$T/x.csv" extra
run 2 -s "$T/s" -g "$T/g" -o "$T/x.csv" --per-label "$T/x.csv"
[ ! -e "$T/x.csv" ]; ok "usage errors write nothing" $?
run 1 -s "$T/nonexistent" -g "$T/g" -o "$T/x.csv"
grep -q "nonexistent" "$T/err"; ok "missing folder named" $?
run 0 --help
grep -q "^Usage: medsam-eval" "$T/out"; ok "--help on stdout" $?
run 0 --version
grep -q "^medsam-eval (medsam-tools) " "$T/out"; ok "--version" $?

cli_test_end
