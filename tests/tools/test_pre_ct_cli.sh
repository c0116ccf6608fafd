#!/bin/sh
# CLI tests of medsam-pre-ct: conformance with upstream's outputs, folder
# mode (split, shard, jobs), exit codes and one-line messages on bad inputs,
# no output left behind.  With /usr/bin/python3 + scipy also --tumor-id and
# --remove-labels against tests/tools/pre_ct_reference.py.
# usage: test_pre_ct_cli.sh medsam-pre-ct prect_npz_same tests/data/prect tests/tools
set -u
TOOL=$1
SAME=$2
DATA=$3
REF="$4/pre_ct_reference.py"
. "$(dirname "$0")/cli_test_lib.sh"
IN=$DATA/inputs
EXP=$DATA/expected
C=$DATA/cli

# --- conformance: upstream pre_CT_MR.py outputs
run 0 --modality MR --anatomy Brain "$IN/images/kmeans_0000.nii.gz" "$IN/labels/kmeans.nii.gz" \
    -o "$T/mr.npz"
"$SAME" "$T/mr.npz" "$EXP/MR_Brain_kmeans.npz" imgs gts spacing; ok "MR kmeans equals upstream" $?
[ ! -s "$T/err" ]; ok "no stderr on success" $?
run 0 --modality CT --anatomy Stent --remove-labels 12 "$IN/images/stent_half_0000.nii.gz" \
    "$IN/labels/stent_half.nii.gz" -o "$T/ct.npz"
"$SAME" "$T/ct.npz" "$EXP/CT_Stent_stent_half.npz" imgs gts spacing; ok "CT stent equals upstream" $?
run 0 "$IN/images/stent_half_0000.nii.gz" "$IN/labels/stent_half.nii.gz" -o "$T/ct2.npz" \
    --window-level 40 --window-width 400
"$SAME" "$T/ct2.npz" "$EXP/CT_Stent_stent_half.npz" imgs gts spacing; ok "CT is the default" $?
run 0 --window-level 300 --window-width 1500 "$IN/images/stent_half_0000.nii.gz" \
    "$IN/labels/stent_half.nii.gz" -o "$T/ct3.npz"
"$SAME" "$T/ct3.npz" "$EXP/CT_Stent_stent_half.npz" gts spacing; ok "another window: same gts" $?
! "$SAME" "$T/ct3.npz" "$EXP/CT_Stent_stent_half.npz" imgs 2>/dev/null; ok "another window: other imgs" $?

# --- folder mode: names, split, shards, jobs, --save-nii
run 0 -q --img-dir "$IN/images" --gt-dir "$IN/labels" --out-dir "$T/f" --modality CT --anatomy Stent
"$SAME" "$T/f/CT_Stent_stent_half.npz" "$EXP/CT_Stent_stent_half.npz" imgs gts spacing
ok "folder: CT_Stent_stent_half.npz" $?
"$SAME" "$T/f/CT_Stent_kmeans.npz" "$EXP/MR_Brain_kmeans.npz" gts spacing
ok "folder: CT_Stent_kmeans.npz gts" $?
[ "$(ls "$T/f" | wc -l)" -eq 2 ] && [ ! -s "$T/err" ]; ok "folder: two files, -q is silent" $?

run 0 --img-dir "$IN/images" --gt-dir "$IN/labels" --out-dir "$T/s" --modality MR --anatomy Brain \
    --split 1 -j 2 --save-nii
"$SAME" "$T/s/MedSAM_train/MR_Brain/MR_Brain_kmeans.npz" "$EXP/MR_Brain_kmeans.npz" imgs gts spacing
ok "--split 1: first case in MedSAM_train/MR_Brain" $?
[ -s "$T/s/MedSAM_test/MR_Brain/MR_Brain_stent_half.npz" ]; ok "--split 1: second in MedSAM_test" $?
gzip -t "$T/s/MedSAM_train/MR_Brain/MR_Brain_kmeans_img.nii.gz" &&
    gzip -t "$T/s/MedSAM_train/MR_Brain/MR_Brain_kmeans_gt.nii.gz"; ok "--save-nii writes both" $?
grep -q "2 cases: 2 written, 0 without labels, 0 failed" "$T/err"; ok "folder summary line" $?

run 0 -q --img-dir "$IN/images" --gt-dir "$IN/labels" --out-dir "$T/h0" --shard 0/2
run 0 -q --img-dir "$IN/images" --gt-dir "$IN/labels" --out-dir "$T/h1" --shard 1/2
[ "$(ls "$T/h0")" = "CT_Abd_kmeans.npz" ] && [ "$(ls "$T/h1")" = "CT_Abd_stent_half.npz" ]
ok "--shard 0/2 and 1/2 split the sorted cases" $?
run 0 --img-dir "$IN/images" --gt-dir "$IN/labels" --out-dir "$T/h5" --shard 5/7
[ "$(cat "$T/err")" = "medsam-pre-ct: shard 5/7 selects no case (2 in all)" ]
ok "an empty shard says so, and only that" $?
[ -z "$(ls -A "$T/h5")" ]; ok "an empty shard writes nothing" $?

# --- labels: float labels with integer values, removal, empty result
run 0 "$C/small_0000.nii.gz" "$C/small.nii.gz" -o "$T/small.npz"
run 0 "$C/small_0000.nii.gz" "$C/small_f32.nii.gz" -o "$T/small_f32.npz"
"$SAME" "$T/small.npz" "$T/small_f32.npz" imgs gts spacing; ok "float32 labels = uint8 labels" $?
run 0 "$C/small_u8_0000.nii.gz" "$C/small.nii.gz" -o "$T/small_u8.npz"
"$SAME" "$T/small_u8.npz" "$C/small_u8_expected.npz" imgs gts spacing
ok "uint8 image (labels cleaned in their own buffer)" $?
"$SAME" "$T/small_u8.npz" "$T/small.npz" gts spacing; ok "uint8 image: the gts of an int16 one" $?
mkdir "$T/e"
run 0 "$C/small_0000.nii.gz" "$C/empty.nii.gz" -o "$T/e/out.npz"
one_line "empty labels: a note" "empty.nii.gz: no labelled slice left after clean-up; nothing written"
no_output "empty labels" "$T/e"
run 0 --remove-labels 1 "$C/small_0000.nii.gz" "$C/small.nii.gz" -o "$T/e/out.npz"
no_output "all labels removed" "$T/e"
run 0 -q "$C/small_0000.nii.gz" "$C/empty.nii.gz" -o "$T/e/out.npz"
[ ! -s "$T/err" ]; ok "-q silences the note" $?
# a case that now has no labelled slice removes the file of an earlier run
run 0 --save-nii "$C/small_0000.nii.gz" "$C/small.nii.gz" -o "$T/e/out.npz"
[ -s "$T/e/out.npz" ] && [ -s "$T/e/out_gt.nii.gz" ]; ok "a labelled case writes" $?
run 0 --save-nii "$C/small_0000.nii.gz" "$C/empty.nii.gz" -o "$T/e/out.npz"
grep -q "out.npz: removed (from an earlier run" "$T/err"; ok "stale output: said so" $?
no_output "stale output and its NIfTI files removed" "$T/e"
# --compress-level: any level, the same arrays; the sizes order as expected
for lv in 0 1 12; do
    run 0 --compress-level $lv --modality MR --anatomy Brain "$IN/images/kmeans_0000.nii.gz" \
        "$IN/labels/kmeans.nii.gz" -o "$T/lv$lv.npz"
    "$SAME" "$T/lv$lv.npz" "$EXP/MR_Brain_kmeans.npz" imgs gts spacing
    ok "--compress-level $lv: arrays equal upstream" $?
done
[ "$(wc -c < "$T/lv0.npz")" -gt "$(wc -c < "$T/lv1.npz")" ] &&
    [ "$(wc -c < "$T/lv1.npz")" -gt "$(wc -c < "$T/lv12.npz")" ]; ok "level 0 > 1 > 12 in size" $?
run 0 --modality MR --anatomy Brain "$IN/images/kmeans_0000.nii.gz" "$IN/labels/kmeans.nii.gz" \
    -o "$T/lvdef.npz"
cmp -s "$T/lvdef.npz" "$T/lv1.npz"; ok "the default level is 1 (same file as --compress-level 1)" $?
run 2 --compress-level 13 "$C/small_0000.nii.gz" "$C/small.nii.gz" -o "$T/b13.npz"
grep -qF -- "--compress-level: '13' is not a level in 0..12" "$T/err"; ok "--compress-level 13: usage error" $?
[ ! -e "$T/b13.npz" ]; ok "--compress-level 13: nothing written" $?
run 0 "$C/constant_0000.nii.gz" "$C/small.nii.gz" -o "$T/const.npz"
one_line "constant image: a warning" "constant_0000.nii.gz: the clipped image is constant"

# --- bad inputs: exit 1, one line naming the file, nothing written
mkdir "$T/b"
run 1 "$C/small_0000.nii.gz" "$C/big_label.nii.gz" -o "$T/b/o.npz"
one_line "label > 255" "big_label.nii.gz: label value 300 is outside 0..255"
run 1 "$C/small_0000.nii.gz" "$C/frac_label.nii.gz" -o "$T/b/o.npz"
one_line "fractional label" "frac_label.nii.gz: label value 1.5 is not an integer"
run 1 "$C/small_0000.nii.gz" "$C/other_grid.nii.gz" -o "$T/b/o.npz"
one_line "grid mismatch" "small_0000.nii.gz: image grid 16x16x8 (x,y,z) differs from the label's 15x16x8"
run 1 "$C/truncated_0000.nii.gz" "$C/small.nii.gz" -o "$T/b/o.npz"
one_line "truncated image" "truncated_0000.nii.gz:"
run 1 "$C/notnifti_0000.nii.gz" "$C/small.nii.gz" -o "$T/b/o.npz"
one_line "not a NIfTI" "notnifti_0000.nii.gz: not a NIfTI file"
run 1 "$C/missing_0000.nii.gz" "$C/small.nii.gz" -o "$T/b/o.npz"
one_line "missing image" "missing_0000.nii.gz: No such file or directory"
run 1 "$C/small_0000.nii.gz" "$C/missing.nii.gz" -o "$T/b/o.npz"
one_line "missing label" "missing.nii.gz"
run 1 --tumor-id 2 "$IN/images/stent_half_0000.nii.gz" "$IN/labels/stent_half.nii.gz" -o "$T/b/o.npz"
one_line "too many instances" "stent_half.nii.gz: label 2 has 412 connected instances"
no_output "bad inputs" "$T/b"
cp "$C/small.nii.gz" "$T/b/lab.nii.gz"
run 1 "$C/small_0000.nii.gz" "$T/b/lab.nii.gz" -o "$T/b/lab.nii.gz"
one_line "output over the input" "refusing to overwrite"
cmp -s "$C/small.nii.gz" "$T/b/lab.nii.gz"; ok "the input is untouched" $?

# --- folder mode with bad cases: the others complete, exit 1
mkdir -p "$T/m/img" "$T/m/gt"
cp "$IN/images/kmeans_0000.nii.gz" "$C/small_0000.nii.gz" "$T/m/img/"
cp "$IN/labels/kmeans.nii.gz" "$C/small.nii.gz" "$T/m/gt/"
cp "$C/big_label.nii.gz" "$T/m/gt/aaa.nii.gz"
cp "$C/small_0000.nii.gz" "$T/m/img/aaa_0000.nii.gz"
cp "$C/small.nii.gz" "$T/m/gt/noimage.nii.gz"
cp "$C/empty.nii.gz" "$T/m/gt/zempty.nii.gz"
cp "$C/small_0000.nii.gz" "$T/m/img/zempty_0000.nii.gz"
run 1 --img-dir "$T/m/img" --gt-dir "$T/m/gt" --out-dir "$T/m/out" --modality MR --anatomy Brain -j 2
"$SAME" "$T/m/out/MR_Brain_kmeans.npz" "$EXP/MR_Brain_kmeans.npz" imgs gts spacing
ok "folder with failures: good case written" $?
[ -s "$T/m/out/MR_Brain_small.npz" ]; ok "folder with failures: second good case written" $?
[ "$(ls "$T/m/out" | wc -l)" -eq 2 ]; ok "folder with failures: no other file" $?
grep -q "aaa.nii.gz: label value 300" "$T/err"; ok "folder: bad label named" $?
grep -q "noimage_0000.nii.gz: no image for label" "$T/err"; ok "folder: missing image named" $?
grep -q "5 cases: 2 written, 1 without labels, 2 failed" "$T/err"; ok "folder: summary counts" $?

# --- usage errors: exit 2 and a pointer to --help
for args in "" "-x" "--window-width 0 a b -o c" "--window-width abc a b -o c" "--tumor-id 0 a b -o c" \
    "--tumor-id 256 a b -o c" "--remove-labels 1,x a b -o c" "--split 3 a b -o c" "a b" "a b c -o d" \
    "--img-dir x --gt-dir y" "--img-dir x --gt-dir y --out-dir z a" "--shard 2/2 --img-dir x --gt-dir y --out-dir z" \
    "--jobs -1 a b -o c" "--modality a/b a b -o c" "--modality"; do
    # shellcheck disable=SC2086
    run 2 $args
    [ "$(wc -l < "$T/err")" -eq 2 ] && grep -q "Try 'medsam-pre-ct --help'" "$T/err"
    ok "usage error '$args': two lines" $?
done
run 0 --help
grep -q "^Usage: medsam-pre-ct" "$T/out" && [ ! -s "$T/err" ]; ok "--help on stdout" $?
for opt in --modality --anatomy --window-level --window-width --remove-labels --tumor-id \
    --img-suffix --gt-suffix --split --save-nii --jobs --quiet --shard --img-dir --gt-dir --out-dir; do
    grep -q -- "$opt" "$T/out"; ok "--help lists $opt" $?
done
run 0 --version
grep -q "^medsam-pre-ct (medsam-tools) " "$T/out"; ok "--version" $?

# --- tumour instances and label removal against the numpy/scipy reference
if /usr/bin/python3 -c "import numpy, scipy" 2>/dev/null; then
    for spec in "MR kmeans 5 6" "MR kmeans 2 12" "CT stent_half 1 2"; do
        # shellcheck disable=SC2086
        set -- $spec
        run 0 --modality "$1" --tumor-id "$3" --remove-labels "$4" "$IN/images/$2_0000.nii.gz" \
            "$IN/labels/$2.nii.gz" -o "$T/t.npz"
        /usr/bin/python3 "$REF" --modality "$1" --tumor-id "$3" --remove "$4" \
            "$IN/images/$2_0000.nii.gz" "$IN/labels/$2.nii.gz" "$T/r.npz"
        "$SAME" "$T/t.npz" "$T/r.npz" imgs gts spacing; ok "tumour $spec equals the reference" $?
    done
else
    echo "note: /usr/bin/python3 with numpy+scipy missing; tumour reference checks skipped"
fi

cli_test_end
