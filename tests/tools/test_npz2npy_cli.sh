#!/bin/sh
# CLI tests of medsam-npz2npy: every file upstream npz_to_npy.py wrote for the
# two reference npz has the same sha256 (expected.sha256), with -j 1 and -j 2
# and folder or file inputs; --dtype float32 / --resize and the 2D path
# against numpy + OpenCV (npz2npy_check.py, when /usr/bin/python3 has them);
# bad inputs (exit 1, one line, nothing written), usage errors.
# usage: test_npz2npy_cli.sh medsam-npz2npy tests/data/npz2npy tests/tools [python3]
set -u
TOOL=$1
D=$2
CHECK="$3/npz2npy_check.py"
PY=${4:-}
. "$(dirname "$0")/cli_test_lib.sh"

same_as_upstream() {  # same_as_upstream NAME DIR: every listed sha256, and no other file
    (cd "$2" && sha256sum -c --quiet "$D/expected.sha256") >"$T/sha" 2>&1
    st=$?
    [ $st -eq 0 ] || head -5 "$T/sha"
    ok "$1: every sha256 of upstream's files" $st
    [ "$(cd "$2" && find . -type f | wc -l)" -eq "$(wc -l < "$D/expected.sha256")" ]
    ok "$1: no other file" $?
}

case $D in /*) ;; *) D=$(pwd)/$D ;; esac
mkdir "$T/in"
cp "$D/CT_Stent_stent_half.npz" "$D/MR_Brain_kmeans.npz" "$T/in/"

# --- byte-identical to upstream
run 0 -q "$T/in" -o "$T/a"
same_as_upstream "folder, -j 1" "$T/a"
[ ! -s "$T/err" ]; ok "-q: no stderr" $?
run 0 -j 2 "$T/in/MR_Brain_kmeans.npz" "$T/in/CT_Stent_stent_half.npz" -o "$T/b"
same_as_upstream "two files, -j 2" "$T/b"
grep -q "2 files: 2 converted, 0 failed" "$T/err"; ok "summary line" $?
run 0 -q -j 3 "$T/in/CT_Stent_stent_half.npz" -o "$T/c"
run 0 -q --threads 3 "$T/in/MR_Brain_kmeans.npz" -o "$T/c"
same_as_upstream "one file at a time, slices in parallel" "$T/c"
run 0 -q --shard 0/2 "$T/in" -o "$T/h"
[ -f "$T/h/imgs/CT_Stent_stent_half-000.npy" ] && [ ! -f "$T/h/imgs/MR_Brain_kmeans-000.npy" ]
ok "--shard 0/2 takes the first of the sorted files" $?
run 0 --shard 5/7 "$T/in" -o "$T/h5"
[ "$(cat "$T/err")" = "medsam-npz2npy: shard 5/7 selects no case (2 in all)" ]
ok "an empty shard says so, and only that" $?
[ -z "$(ls -A "$T/h5/imgs" "$T/h5/gts" | grep -v ':$' | grep .)" ]; ok "an empty shard writes nothing" $?
# a volume that fails part-way (one slice cannot be written: a folder holds its
# name) leaves none of its slices, not even those of an earlier run
run 0 -q "$T/in/MR_Brain_kmeans.npz" -o "$T/p"
[ -f "$T/p/gts/MR_Brain_kmeans-061.npy" ]; ok "mid-volume failure: first run writes" $?
rm "$T/p/gts/MR_Brain_kmeans-030.npy" && mkdir "$T/p/gts/MR_Brain_kmeans-030.npy"
run 1 -q "$T/in/MR_Brain_kmeans.npz" -o "$T/p"
[ "$(find "$T/p" -type f | wc -l)" -eq 0 ]; ok "mid-volume failure: no slice file left" $?
[ -d "$T/p/gts/MR_Brain_kmeans-030.npy" ] && [ -f "$T/in/MR_Brain_kmeans.npz" ]
ok "mid-volume failure: the folder and the input stay" $?

# --- options and the 2D path against numpy + OpenCV
if [ -n "$PY" ] && "$PY" -c "import numpy, cv2" 2>/dev/null; then
    for spec in "float32 0 MR_Brain_kmeans" "float64 256 MR_Brain_kmeans" "float32 100 CT_Stent_stent_half" \
        "float64 0 2D_t1rgb" "float32 256 2D_t1rgb" "float64 300 2D_t1rgb"; do
        # shellcheck disable=SC2086
        set -- $spec
        rm -rf "$T/o"
        if [ "$2" -eq 0 ]; then
            run 0 -q --dtype "$1" "$D/$3.npz" -o "$T/o"
        else
            run 0 -q -j 2 --dtype "$1" --resize "$2" "$D/$3.npz" -o "$T/o"
        fi
        "$PY" "$CHECK" "$D/$3.npz" "$T/o" "$1" "$2" >"$T/chk" 2>&1
        st=$?
        [ $st -eq 0 ] || head -5 "$T/chk"
        ok "--dtype $1 --resize $2 $3 equals numpy/OpenCV" $st
    done
else
    echo "note: no /usr/bin/python3 with numpy + cv2; option checks skipped"
fi

# --- bad inputs: exit 1, one line naming the file, nothing written
mkdir "$T/bad"
printf 'not a zip\n' > "$T/bad/text.npz"
run 1 "$T/bad/text.npz" -o "$T/x"
one_line "not an npz" "text.npz:"
run 1 "$T/bad/none.npz" -o "$T/x"
one_line "missing file" "none.npz:"
head -c 3000 "$D/MR_Brain_kmeans.npz" > "$T/bad/cut.npz"
run 1 "$T/bad/cut.npz" -o "$T/x"
one_line "truncated npz" "cut.npz:"
[ -z "$(find "$T/x" -type f)" ]; ok "bad inputs: nothing written" $?
if [ -n "$PY" ] && "$PY" -c "import numpy" 2>/dev/null; then
    "$PY" -c "
import numpy as np, sys
d = sys.argv[1]
np.savez_compressed(d + '/float.npz', imgs=np.zeros((2, 4, 4), np.float32), gts=np.zeros((2, 4, 4), np.uint8))
np.savez_compressed(d + '/shape.npz', imgs=np.zeros((2, 4, 4), np.uint8), gts=np.zeros((3, 4, 4), np.uint8))
np.savez_compressed(d + '/nogts.npz', imgs=np.zeros((2, 4, 4), np.uint8))
np.savez_compressed(d + '/big.npz', imgs=np.zeros((1, 4, 4), np.uint8), gts=np.full((1, 4, 4), 300, np.int16))
" "$T/bad"
    run 1 "$T/bad/float.npz" -o "$T/y"
    one_line "float imgs" "float.npz: imgs is f4; expected uint8"
    run 1 "$T/bad/shape.npz" -o "$T/y"
    one_line "shape mismatch" "shape.npz: imgs shape (2, 4, 4) does not match gts shape (3, 4, 4)"
    run 1 "$T/bad/nogts.npz" -o "$T/y"
    one_line "no gts" "nogts.npz: no array 'gts'"
    run 1 "$T/bad/big.npz" -o "$T/y"
    one_line "gts > 255" "big.npz: label value 300 is outside 0..255"
    [ -z "$(find "$T/y" -type f)" ]; ok "bad arrays: nothing written" $?
    cp "$T/in/MR_Brain_kmeans.npz" "$T/bad/"
    run 1 "$T/bad" -o "$T/z"
    [ -f "$T/z/imgs/MR_Brain_kmeans-061.npy" ]; ok "folder: the good file is converted" $?
    grep -q "7 files: 1 converted, 6 failed" "$T/err"; ok "folder: summary counts failures" $?
fi

# --- usage errors
for args in "" "-x" "a" "-o d" "--dtype float16 a -o d" "--resize 0 a -o d" "--resize x a -o d" \
    "--shard 2/2 a -o d" "--jobs -1 a -o d" "-o"; do
    # shellcheck disable=SC2086
    run 2 $args
    [ "$(wc -l < "$T/err")" -eq 2 ] && grep -q "Try 'medsam-npz2npy --help'" "$T/err"
    ok "usage error '$args': two lines" $?
done
run 0 --help
grep -q "^Usage: medsam-npz2npy" "$T/out" && [ ! -s "$T/err" ]; ok "--help on stdout" $?
for opt in --output --dtype --resize --shard --jobs --threads --quiet; do
    grep -q -- "$opt" "$T/out"; ok "--help lists $opt" $?
done
run 0 --version
grep -q "^medsam-npz2npy (medsam-tools) " "$T/out"; ok "--version" $?

cli_test_end
