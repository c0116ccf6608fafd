#!/bin/sh
# valgrind memcheck over a subset of the bad inputs of bad_inputs.sh (not
# registered in meson: ~10 minutes).  Every run must exit 1 (valgrind's
# --error-exitcode 99 on a memory error or a definite leak).
# usage: tests/tools/bad_inputs_valgrind.sh BUILD_DIR   (a non-ASan build)
set -u
B=$1/src/tools
D=$(dirname "$0")/../data
C=$D/bad/cli
G=$C/good
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
T=$(mktemp -d "${TMPDIR:-/tmp}/bad_vg.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
n=0
bad=0
chk() {
    n=$((n + 1))
    "$@" >/dev/null 2>"$T/err"
    rc=$?
    if [ $rc -ne 1 ]; then
        bad=$((bad + 1))
        echo "FAIL (exit $rc): $*"
        head -n 20 "$T/err"
    fi
}
for f in "$D"/bad/nifti_* "$C"/nifti/*; do
    chk $VG "$B/medsam-pre-ct" -q "$f" "$G/ct.nii.gz" -o "$T/x.npz"
done
for f in "$D"/bad/png_* "$D"/bad/jpeg_* "$C"/img/*; do
    chk $VG "$B/medsam-pre-grey-rgb" -q "$f" "$G/grey_mask.png" -o "$T/x.npz"
done
for f in "$D"/bad/npz_* "$C"/npz/imgs_npy_* "$C/npz/2D_imgs_bomb.npz" "$C/npz/2D_imgs_object.npz"; do
    chk $VG "$B/medsam-npz2npy" -q "$f" -o "$T/o"
done
for f in "$D"/bad/pth/*.pth; do
    chk $VG "$B/medsam-segment" -q -t 1 -w "$f" -o "$T/so" "$G/2D_good.npz"
done
for f in "$C"/npz/2D_box_*.npz "$C"/npz/3D_box_*.npz; do
    chk $VG "$B/medsam-segment" -q -t 1 -w "$D/model/random_seed7.pth" -o "$T/so" "$f"
done
for f in "$C"/npz/segs_npy_*; do
    rm -rf "$T/s" "$T/g"
    mkdir "$T/s" "$T/g"
    cp "$f" "$T/s/c.npz"
    cp "$G/2D_good.npz" "$T/g/c.npz"
    chk $VG "$B/medsam-eval" -q -s "$T/s" -g "$T/g" -o "$T/m.csv"
done
echo "valgrind: $n runs, $bad failures"
[ $bad -eq 0 ]
