#!/bin/sh
# CLI tests of medsam-segment.
# usage: test_segment_cli.sh MEDSAM-SEGMENT SEGCHECK DATA-DIR MODE
#   MODE cli: options, usage errors, bad checkpoint, bad cases, sharding,
#             per-case failures, a small grey 2D case end to end
#   MODE 2d:  2D_brainpd against upstream segs (>= 99.99% equal), overlay,
#             NIfTI, efficiency CSV
#   MODE 3d:  3D_kmeans and 3D_stent against upstream (per-label Dice >= 0.995),
#             overlays of every slice, NIfTI with the npz spacing
#   MODE many: 300 boxes -> uint16 segs
#   MODE gts: --boxes-from-gts on pre-ct / pre-grey-rgb style inputs; needs
#             EVAL (medsam-eval), PYTHON (with numpy) and the check script
set -u
SEG=$1
CHK=$2
DATA=$3
MODE=$4
EVAL=${5:-}
PY=${6:-}
GTSCHK=${7:-}
W="$DATA/model/random_seed7.pth"
S="$DATA/segment"
TOOL=$SEG
. "$(dirname "$0")/cli_test_lib.sh"

lines() { wc -l <"$1" | tr -d ' '; }
npz_count() { find "$1" -name '*.npz' 2>/dev/null | wc -l | tr -d ' '; }

case_cli() {
    run 0 --help
    grep -q '^Usage: medsam-segment' "$T/out"; ok "--help prints usage on stdout" $?
    for opt in --weights --output --threads --cache-mb --overlay --overlay-slices --nifti \
               --boxes-from-gts --box-margin --segs-as-labels \
               --efficiency-csv --shard --quiet --verbose --help --version; do
        grep -q -- "$opt" "$T/out"; ok "--help lists $opt" $?
    done
    run 0 --version
    grep -q 'medsam-segment (medsam-tools)' "$T/out"; ok "--version" $?

    run 2
    run 2 -w "$W" "$S/2D_brainpd.npz"                      # no -o
    run 2 -o "$T/o" "$S/2D_brainpd.npz"                     # no -w
    run 2 -w "$W" -o "$T/o"                                 # no input
    run 2 -w "$W" -o "$T/o" --threads 0 "$S/2D_brainpd.npz"
    run 2 -w "$W" -o "$T/o" -j 0 "$S/2D_brainpd.npz"        # -j is --threads too
    run 2 -w "$W" -o "$T/o" --shard 2/2 "$S/2D_brainpd.npz"
    run 2 -w "$W" -o "$T/o" --overlay-slices some "$S/2D_brainpd.npz"
    run 2 -w "$W" -o "$T/o" --bogus "$S/2D_brainpd.npz"
    grep -q "Try 'medsam-segment --help'" "$T/err"; ok "usage error points to --help" $?
    [ "$(npz_count "$T/o")" -eq 0 ]; ok "usage errors write nothing" $?

    # a bad checkpoint: one line naming it, nothing written
    head -c 100000 "$W" >"$T/bad.pth"
    run 1 -w "$T/bad.pth" -o "$T/o1" "$S/2D_brainpd.npz"
    [ "$(lines "$T/err")" -eq 1 ] && grep -q 'bad.pth' "$T/err"
    ok "bad checkpoint: one line naming the file" $?
    [ "$(npz_count "$T/o1")" -eq 0 ]; ok "bad checkpoint: no output" $?
    run 1 -w "$T/missing.pth" -o "$T/o1" "$S/2D_brainpd.npz"
    grep -q 'missing.pth' "$T/err"; ok "missing checkpoint named" $?

    # a bad case alone: exit 1, one line naming the file, no output
    run 1 -q -w "$W" -o "$T/o2" "$S/bad/2D_nan.npz"
    [ "$(lines "$T/err")" -eq 1 ] && grep -q "2D_nan.npz" "$T/err"
    ok "a bad case alone: one line naming the file" $?
    [ "$(npz_count "$T/o2")" -eq 0 ]; ok "a bad case alone: no output" $?
    # the folder (one model load for all): exactly one line naming each case,
    # and no output for any
    nbad=$(ls "$S"/bad/*.npz | wc -l | tr -d ' ')
    run 1 -q -w "$W" -o "$T/o3" "$S/bad"
    [ "$(lines "$T/err")" -eq "$nbad" ]; ok "folder of bad cases: one line each" $?
    for f in "$S"/bad/*.npz; do
        b=$(basename "$f")
        [ "$(grep -c "/$b: " "$T/err")" -eq 1 ]; ok "$b: one line naming the file" $?
        [ ! -e "$T/o3/$b" ]; ok "$b: no output" $?
    done
    # shards split the sorted list: 0/2 and 1/2 together cover it once
    run 1 -q -w "$W" -o "$T/o3" --shard 0/2 "$S/bad"
    a=$(lines "$T/err")
    run 1 -q -w "$W" -o "$T/o3" --shard 1/2 "$S/bad"
    b=$(lines "$T/err")
    [ "$((a + b))" -eq "$nbad" ] && [ "$a" -eq $(((nbad + 1) / 2)) ]
    ok "shards 0/2 + 1/2 cover the folder ($a + $b of $nbad)" $?

    # a bad case does not stop a good one; exit 1 all the same
    mkdir -p "$T/mix"
    cp "$S/grey_ok/2D_grey.npz" "$S/bad/2D_nan.npz" "$T/mix/"
    run 1 -q -t 2 -w "$W" -o "$T/o4" --overlay "$T/ov4" --nifti --efficiency-csv "$T/eff.csv" \
        "$T/mix" "$T/nonexistent.npz"
    [ -s "$T/o4/2D_grey.npz" ]; ok "good case written despite bad ones" $?
    [ ! -e "$T/o4/2D_nan.npz" ]; ok "bad case not written" $?
    grep -q 'nonexistent.npz' "$T/err"; ok "missing input named" $?
    [ "$(lines "$T/eff.csv")" -eq 2 ] && head -1 "$T/eff.csv" | grep -qx 'case,time' &&
        grep -q '^2D_grey.npz,[0-9.]*$' "$T/eff.csv"
    ok "efficiency CSV lists the successful case" $?
    "$CHK" overlay /dev/null "$T/mix/2D_grey.npz" "$T/o4/2D_grey.npz" 0 >/dev/null 2>&1
    ok "segcheck rejects a missing overlay" $(( $? == 0 ))

    # the grey (H, W) case: overlay and NIfTI
    [ ! -e "$T/ov4/2D_nan.png" ] && [ ! -e "$T/o4/2D_nan.nii.gz" ]
    ok "no overlay or NIfTI for the bad case" $?
    "$CHK" overlay "$T/ov4/2D_grey.png" "$S/grey_ok/2D_grey.npz" "$T/o4/2D_grey.npz" 0
    ok "grey overlay" $?
    "$CHK" nifti "$T/o4/2D_grey.nii.gz" "$S/grey_ok/2D_grey.npz" "$T/o4/2D_grey.npz"
    ok "grey NIfTI" $?

    # 3D: each slice is encoded once and its embedding reused across boxes;
    # with room for one embedding only, slices are encoded again (as upstream
    # does).  The second run also has 1 thread instead of 2: the result is
    # the same whatever the cache and the thread count.
    run 0 -v -t 2 -w "$W" -o "$T/o6" "$S/small3d/3D_small.npz"
    grep -q '3D_small.npz: 2 boxes, 3 encoder runs, 5 decoder runs' "$T/err"
    ok "3D: 3 slices encoded once each for 5 decoder runs" $?
    run 0 -v -t 1 --cache-mb 0 -w "$W" -o "$T/o7" "$S/small3d/3D_small.npz"
    grep -q '3D_small.npz: 2 boxes, 5 encoder runs, 5 decoder runs' "$T/err"
    ok "3D: a one-slice cache encodes as upstream does" $?
    "$CHK" equal "$T/o6/3D_small.npz" "$T/o7/3D_small.npz" 1 >/dev/null
    ok "3D: neither the cache nor the threads change the result" $?

    # never over an input
    mkdir -p "$T/same"
    cp "$S/grey_ok/2D_grey.npz" "$T/same/"
    cp "$T/same/2D_grey.npz" "$T/same.orig"
    run 1 -q -w "$W" -o "$T/same" "$T/same/2D_grey.npz"
    cmp -s "$T/same/2D_grey.npz" "$T/same.orig"; ok "input not overwritten" $?
}

case_2d() {
    run 0 -q -w "$W" -o "$T/o" --overlay "$T/ov" --nifti --efficiency-csv "$T/eff.csv" \
        "$S/2D_brainpd.npz"
    "$CHK" equal "$T/o/2D_brainpd.npz" "$S/2D_brainpd_segs.npz" 0.9999
    ok "2D_brainpd segs >= 99.99% equal to upstream" $?
    "$CHK" overlay "$T/ov/2D_brainpd.png" "$S/2D_brainpd.npz" "$T/o/2D_brainpd.npz" 0
    ok "2D_brainpd overlay" $?
    "$CHK" nifti "$T/o/2D_brainpd.nii.gz" "$S/2D_brainpd.npz" "$T/o/2D_brainpd.npz"
    ok "2D_brainpd NIfTI" $?
    grep -q '^2D_brainpd.npz,' "$T/eff.csv"; ok "efficiency CSV" $?
}

case_3d() {
    run 0 -q -v -w "$W" -o "$T/o" --overlay "$T/ov" --overlay-slices all --nifti \
        "$S/3D_kmeans.npz" "$S/3D_stent.npz"
    # nothing encoded twice: one encoder run per slice that a box covers
    grep -q '3D_kmeans.npz: 3 boxes, 16 encoder runs, 31 decoder runs' "$T/err"
    ok "3D_kmeans: 16 slices encoded once each for 31 decoder runs" $?
    grep -q '3D_stent.npz: 2 boxes, 15 encoder runs, 26 decoder runs' "$T/err"
    ok "3D_stent: 15 slices encoded once each for 26 decoder runs" $?
    for c in 3D_kmeans 3D_stent; do
        "$CHK" dice "$T/o/$c.npz" "$S/${c}_segs.npz" 0.995
        ok "$c per-label Dice >= 0.995" $?
        "$CHK" nifti "$T/o/$c.nii.gz" "$S/$c.npz" "$T/o/$c.npz"
        ok "$c NIfTI with spacing" $?
        [ "$(ls "$T/ov/${c}"_z*.png | wc -l)" -eq 16 ]; ok "$c: one overlay per slice" $?
        for z in 0 7 8 15; do
            zz=$(printf %03d $z)
            "$CHK" overlay "$T/ov/${c}_z$zz.png" "$S/$c.npz" "$T/o/$c.npz" $z >/dev/null
            ok "$c overlay of slice $z" $?
        done
    done
}

# more than 255 boxes: uint16 segs (upstream would wrap), a warning, int16 NIfTI
case_many() {
    run 0 -v -w "$W" -o "$T/o" --nifti "$S/many/2D_many.npz"
    grep -q '2D_many.npz: 300 boxes, 1 encoder runs, 300 decoder runs' "$T/err"
    ok "one encoder run for 300 boxes" $?
    grep -q 'warning: .*2D_many.npz: 300 boxes: segs written as uint16' "$T/err"
    ok "warning about uint16" $?
    "$CHK" info "$T/o/2D_many.npz" >"$T/info"
    grep -Eq '^segs u2 max (25[6-9]|2[6-9][0-9]|300)$' "$T/info"; ok "uint16 segs with labels over 255" $?
    "$CHK" nifti "$T/o/2D_many.nii.gz" "$S/many/2D_many.npz" "$T/o/2D_many.npz"
    ok "NIfTI of labels over 255" $?
}

# boxes derived from gts: exact boxes, labels, segs mapping, medsam-eval
case_gts() {
    G="$S/gts"
    run 2 -w "$W" -o "$T/o" --segs-as-labels "$G"
    grep -q 'needs --boxes-from-gts' "$T/err"; ok "--segs-as-labels alone is a usage error" $?
    run 1 -q -w "$W" -o "$T/o" "$G/2D_kmeansrgb.npz"
    grep -q 'boxes' "$T/err"; ok "without --boxes-from-gts a file without boxes fails" $?
    # box indices, with overlays
    run 0 -q --boxes-from-gts -w "$W" -o "$T/idx" --overlay "$T/ov" "$G"
    for c in 3D_kmeans2 2D_kmeansrgb; do
        "$PY" "$GTSCHK" boxes "$G/$c.npz" "$T/idx/$c.npz" 0; ok "$c: derived boxes" $?
    done
    "$CHK" overlay "$T/ov/2D_kmeansrgb.png" "$G/2D_kmeansrgb.npz" "$T/idx/2D_kmeansrgb.npz" 0
    ok "overlay of derived 2D boxes" $?
    "$CHK" overlay "$T/ov/3D_kmeans2_z000.png" "$G/3D_kmeans2.npz" "$T/idx/3D_kmeans2.npz" 0
    ok "overlay of derived 3D boxes" $?
    # the '3D' name of a 2D gts does not make it 3D; margins clamp at the edge
    run 0 -q --boxes-from-gts --box-margin 5 -w "$W" -o "$T/m5" "$S/rank"
    "$PY" "$GTSCHK" boxes "$S/rank/3D_named2d.npz" "$T/m5/3D_named2d.npz" 5
    ok "gts rank 2 under a 3D name: a 2D case; --box-margin 5, clamped" $?
    # gts labels in segs
    run 0 -q --boxes-from-gts --segs-as-labels -w "$W" -o "$T/lab" --nifti "$G"
    for c in 3D_kmeans2 2D_kmeansrgb; do
        "$PY" "$GTSCHK" mapped "$G/$c.npz" "$T/idx/$c.npz" "$T/lab/$c.npz"
        ok "$c: --segs-as-labels = labels[index - 1]" $?
        "$CHK" nifti "$T/lab/$c.nii.gz" "$G/$c.npz" "$T/lab/$c.npz"
        ok "$c: NIfTI of gts labels" $?
    done
    # medsam-eval scores the labelled segs against gts directly
    "$EVAL" -q -s "$T/lab" -g "$G" -o "$T/m.csv" --per-label "$T/pl.csv" 2>"$T/err"
    ok "medsam-eval reads the outputs" $?
    for c in 3D_kmeans2 2D_kmeansrgb; do
        "$PY" "$GTSCHK" perlabel "$G/$c.npz" "$T/lab/$c.npz" "$T/pl.csv"
        ok "$c: medsam-eval pairs segs and gts labels" $?
    done
}

case "$MODE" in
cli) case_cli ;;
gts) case_gts ;;
2d) case_2d ;;
3d) case_3d ;;
many) case_many ;;
*) echo "unknown mode $MODE"; exit 2 ;;
esac
cli_test_end
