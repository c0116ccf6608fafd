#!/bin/sh
# CLI tests of medsam-pre-grey-rgb: every case of tests/data/grey/cases.txt
# against the arrays tests/gen_grey_refs.py derived with numpy + PIL + scipy,
# folder mode (names, shard, jobs, a bad case among good ones), bad inputs
# (exit 1, one line naming the file, nothing written), usage errors; with
# /usr/bin/python3 + numpy, np.load reads every output.
# usage: test_grey_cli.sh medsam-pre-grey-rgb prect_npz_same tests/data/grey [python3]
set -u
TOOL=$1
SAME=$2
D=$3
PY=${4:-}
. "$(dirname "$0")/cli_test_lib.sh"

# --- every reference case (single mode)
mkdir "$T/s"
while read -r name img mask opts; do
    # shellcheck disable=SC2086
    run 0 $opts "$D/$img" "$D/$mask" -o "$T/s/$name.npz"
    "$SAME" "$T/s/$name.npz" "$D/exp_$name.npz" imgs gts; ok "$name equals the reference" $?
    [ ! -s "$T/err" ]; ok "$name: no stderr" $?
done < "$D/cases.txt"
[ "$(ls "$T/s" | wc -l)" -eq "$(wc -l < "$D/cases.txt")" ]; ok "one npz per case, no temp file" $?
! "$SAME" "$T/s/brainpd.npz" "$D/exp_brainpd_cut.npz" imgs 2>/dev/null
ok "--intensity-cutoff changes imgs (the comparison can fail)" $?
! "$SAME" "$T/s/t1rgb.npz" "$D/exp_t1rgb_bin.npz" gts 2>/dev/null
ok "0/255 masks stay 0/255 without --binarize" $?

run 0 "$D/const16.png" "$D/grey40.png" -o "$T/const16.npz"
one_line "constant 16-bit image: a warning" "const16.png: constant 16-bit image; imgs are all 0"
"$SAME" "$T/const16.npz" "$D/exp_const16.npz" imgs gts; ok "constant 16-bit image: zeros" $?

# --- folder mode: names, jobs, shard, suffixes
mkdir -p "$T/f/img" "$T/f/gt"
cp "$D/brainpd.png" "$T/f/img/a.png"
cp "$D/brainpd_mask.png" "$T/f/gt/a.png"
cp "$D/t1rgb.png" "$T/f/img/b.png"
cp "$D/t1rgb_mask.png" "$T/f/gt/b.png"
cp "$D/retina.jpg" "$T/f/img/c.jpg"
cp "$D/retina_mask.png" "$T/f/gt/c.png"
run 1 --img-dir "$T/f/img" --gt-dir "$T/f/gt" --out-dir "$T/f/o" --modality MR --anatomy Brain --threads 2
"$SAME" "$T/f/o/MR_Brain_a.npz" "$D/exp_brainpd.npz" imgs gts; ok "folder: MR_Brain_a.npz" $?
"$SAME" "$T/f/o/MR_Brain_b.npz" "$D/exp_t1rgb.npz" imgs gts; ok "folder: MR_Brain_b.npz" $?
grep -q "3 cases: 2 written, 1 failed" "$T/err"; ok "folder: summary (c has no .png image)" $?
grep -q "c.png: No such file" "$T/err"; ok "folder: missing image named" $?
[ "$(ls "$T/f/o" | wc -l)" -eq 2 ]; ok "folder: nothing for the failed case" $?
run 1 -q --img-dir "$T/f/img" --gt-dir "$T/f/gt" --out-dir "$T/f/j" --img-suffix .jpg --modality Fundus --anatomy Retina
"$SAME" "$T/f/j/Fundus_Retina_c.npz" "$D/exp_retina.npz" imgs gts; ok "--img-suffix .jpg" $?
[ "$(ls "$T/f/j")" = "Fundus_Retina_c.npz" ]; ok "--img-suffix .jpg: a and b fail (no .jpg)" $?
run 1 -q --img-dir "$T/f/img" --gt-dir "$T/f/gt" --out-dir "$T/f/h0" --shard 0/2
run 0 -q --img-dir "$T/f/img" --gt-dir "$T/f/gt" --out-dir "$T/f/h1" --shard 1/2
[ "$(ls "$T/f/h0")" = "Grey_Anatomy_a.npz" ] && [ "$(ls "$T/f/h1")" = "Grey_Anatomy_b.npz" ]
ok "--shard 0/2 and 1/2 split the sorted masks" $?
run 0 --img-dir "$T/f/img" --gt-dir "$T/f/gt" --out-dir "$T/f/h5" --shard 5/7
[ "$(cat "$T/err")" = "medsam-pre-grey-rgb: shard 5/7 selects no case (3 in all)" ]
ok "an empty shard says so, and only that" $?
[ -z "$(ls -A "$T/f/h5")" ]; ok "an empty shard writes nothing" $?

# --- bad inputs: exit 1, one line naming the file, nothing written
mkdir "$T/b"
bad() {  # bad NAME SUBSTRING IMAGE MASK [OPTIONS]
    name=$1 sub=$2 img=$3 mask=$4
    shift 4
    run 1 "$@" "$img" "$mask" -o "$T/b/out.npz"
    one_line "$name" "$sub"
    [ -z "$(ls -A "$T/b")" ]; ok "$name: nothing written" $?
}
bad "size mismatch names both" "t1rgb.png: image is 181x217 (WxH) but mask $D/brainpd_mask.png is 221x257" \
    "$D/t1rgb.png" "$D/brainpd_mask.png"
bad "colour mask" "bad_colour_mask.png: colour mask" "$D/retina.jpg" "$D/bad_colour_mask.png"
bad "mask value > 255" "bad_mask300.png: label value 300 is outside 0..255" "$D/grey40.png" "$D/bad_mask300.png"
bad "truncated PNG" "bad_truncated.png: PNG: file truncated" "$D/bad_truncated.png" "$D/brainpd_mask.png"
bad "not an image" "bad_text.png: not a PNG or JPEG file" "$D/bad_text.png" "$D/brainpd_mask.png"
bad "missing image" "nothere.png: No such file or directory" "$D/nothere.png" "$D/brainpd_mask.png"
bad "missing mask" "nothere.png: No such file or directory" "$D/brainpd.png" "$D/nothere.png"
bad "too many instances" "bad_many.png: label 1 has 400 connected instances" "$D/grey40.png" \
    "$D/bad_many.png" --tumor-id 1
cp "$D/brainpd_mask.png" "$T/m.png"
run 1 "$D/brainpd.png" "$T/m.png" -o "$T/m.png"
one_line "output over the input" "refusing to overwrite"
cmp -s "$D/brainpd_mask.png" "$T/m.png"; ok "the input is untouched" $?

# --- usage errors: exit 2 and a pointer to --help
for args in "" "-x" "a b" "a b c -o d" "--tumor-id 0 a b -o c" "--tumor-id 256 a b -o c" \
    "--label-offset 255 a b -o c" "--remove-labels 1,x a b -o c" "--img-dir x --gt-dir y" \
    "--img-dir x --gt-dir y --out-dir z a" "--shard 1/1 --img-dir x --gt-dir y --out-dir z" \
    "--shard 0/2 a b -o c" "--jobs -1 a b -o c" "--anatomy a/b a b -o c" "--modality"; do
    # shellcheck disable=SC2086
    run 2 $args
    [ "$(wc -l < "$T/err")" -eq 2 ] && grep -q "Try 'medsam-pre-grey-rgb --help'" "$T/err"
    ok "usage error '$args': two lines" $?
done
run 0 --help
grep -q "^Usage: medsam-pre-grey-rgb" "$T/out" && [ ! -s "$T/err" ]; ok "--help on stdout" $?
for opt in --img-dir --gt-dir --out-dir --modality --anatomy --img-suffix --gt-suffix \
    --intensity-cutoff --remove-labels --tumor-id --label-offset --binarize --shard --jobs --threads --quiet; do
    grep -q -- "$opt" "$T/out"; ok "--help lists $opt" $?
done
run 0 --version
grep -q "^medsam-pre-grey-rgb (medsam-tools) " "$T/out"; ok "--version" $?

# --- np.load reads every output
if [ -n "$PY" ] && "$PY" -c "import numpy" 2>/dev/null; then
    "$PY" - "$T/s" "$T/f/o" <<'PYEOF'
import glob, sys
import numpy as np
files = sorted(f for d in sys.argv[1:] for f in glob.glob(d + "/*.npz"))
for f in files:
    d = np.load(f)
    assert sorted(d.files) == ["gts", "imgs"], f
    i, g = d["imgs"], d["gts"]
    assert i.dtype == np.uint8 and i.ndim == 3 and i.shape[2] == 3, f
    assert g.dtype == np.uint8 and g.shape == i.shape[:2], f
print(len(files), "npz read by np.load")
PYEOF
    ok "np.load reads every output" $?
else
    echo "note: no python3 with numpy; np.load check skipped"
fi

cli_test_end
