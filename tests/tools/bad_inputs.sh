#!/bin/sh
# Hostile and broken input, for every tool (issue 9): each bad file of
# tests/data/bad/ (npy/npz/NIfTI/PNG/JPEG/pth) and tests/data/bad/cli/
# (made by make_cli_bad.py: bad npy members, missing keys, wrong ranks,
# object dtype, a declared-size bomb, NaN/inverted/outside boxes, NaN
# spacing, NIfTI with huge/negative dims or unsupported types, absurd PNGs)
# must give
#   - exit status 1, no signal (an ASan/UBSan report aborts: exit >= 128),
#   - exactly one line on stderr naming the file and the problem,
#   - no file in the output folder (no output, no temporary file);
# in folder mode one line per bad case and the good case still written.
# Also: an output over an input is refused (the input unchanged), and
# kill -9 in the middle of a large write leaves no partial file under a
# final name (needs /usr/bin/python3 + numpy for the large input; skipped
# without).
# usage: bad_inputs.sh EVAL PRE_CT PRE_GREY_RGB NPZ2NPY SEGMENT DATA_DIR [PYTHON3]
set -u
EVAL=$1 PRECT=$2 GREY=$3 N2N=$4 SEG=$5 D=$6 PY=${7:-}
B=$D/bad
C=$B/cli
G=$C/good
W=$D/model/random_seed7.pth
T=$(mktemp -d "${TMPDIR:-/tmp}/bad_inputs.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fails=0
n=0
csv_ok=

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# files_in DIR: regular files (and symlinks, sockets...) below DIR, one per line
files_in() {
    find "$1" -mindepth 1 ! -type d 2>/dev/null
}

# run_bad NAME OUT CMD...: CMD must exit 1 with one stderr line naming NAME
# (plus some words about the problem) and leave nothing under OUT.
run_bad() {
    name=$1 out=$2
    shift 2
    n=$((n + 1))
    desc="$(basename "$1") on $name"
    "$@" >"$T/stdout" 2>"$T/stderr" </dev/null
    rc=$?
    if [ $rc -ge 128 ]; then
        fail "$desc: killed by a signal (exit $rc)"
    elif [ $rc -ne 1 ]; then
        fail "$desc: exit $rc, expected 1"
    fi
    if [ "$(wc -l <"$T/stderr")" -ne 1 ]; then
        fail "$desc: $(wc -l <"$T/stderr") lines on stderr, expected 1"
    elif ! grep -qF -- "$name" "$T/stderr"; then
        fail "$desc: the message does not name the file"
    else
        # the problem: at least 8 more characters besides prefix and name
        rest=$(sed "s|^[^:]*: ||; s|[^ ]*$name||g" "$T/stderr" | tr -d ' :')
        [ ${#rest} -ge 8 ] || fail "$desc: the message does not say what is wrong"
    fi
    if grep -q 'Sanitizer\|runtime error' "$T/stderr" "$T/stdout"; then
        fail "$desc: sanitizer report"
    fi
    left=$(files_in "$out")
    # medsam-eval's CSV lists the cases that passed: a header line only
    if [ -n "$csv_ok" ] && [ "$left" = "$out/$csv_ok" ] && [ "$(wc -l <"$left")" -eq 1 ]; then
        left=
    fi
    [ -z "$left" ] || fail "$desc: left $(echo "$left" | tr '\n' ' ')"
    if [ $fails -gt 0 ] && [ "$(wc -l <"$T/stderr")" -ne 0 ]; then
        sed 's/^/  stderr: /' "$T/stderr" | head -n 4
    fi
    rm -rf "$out"
    mkdir -p "$out"
}

# folder_check WHAT NBAD OUTDIR WANT-FILE...: after a folder run (exit in $rc,
# stderr in $T/stderr): exit 1, NBAD lines, and exactly the WANT files written.
folder_check() {
    what=$1 nbad=$2 out=$3
    shift 3
    n=$((n + 1))
    [ "$rc" -eq 1 ] || fail "$what folder run: exit $rc, expected 1"
    lines=$(grep -vc '^$' "$T/stderr")
    [ "$lines" -eq "$nbad" ] || {
        fail "$what folder run: $lines stderr lines for $nbad bad cases"
        head -n 5 "$T/stderr" | sed 's/^/  stderr: /'
    }
    if grep -q 'Sanitizer\|runtime error' "$T/stderr"; then
        fail "$what folder run: sanitizer report"
    fi
    for f in "$@"; do
        [ -s "$out/$f" ] || fail "$what folder run: the good case's $f is missing"
    done
    got=$(files_in "$out" | wc -l)
    [ "$got" -eq $# ] || fail "$what folder run: $got files written, expected $#: $(files_in "$out" | tr '\n' ' ')"
}

mkdir -p "$T/o"

# --------------------------------------------------------------- NIfTI
NII_BAD="$B/nifti_*.nii* $C/nifti/*.nii.gz"
for f in $NII_BAD; do
    run_bad "$(basename "$f")" "$T/o" "$PRECT" -q "$f" "$G/ct.nii.gz" -o "$T/o/x.npz"
    run_bad "$(basename "$f")" "$T/o" "$PRECT" -q "$G/ct_0000.nii.gz" "$f" -o "$T/o/x.npz"
done
# folder mode: the good case among the bad images and the bad labels
mkdir -p "$T/ci" "$T/cg" "$T/co"
cp "$G/ct_0000.nii.gz" "$T/ci/good_0000.nii.gz"
cp "$G/ct.nii.gz" "$T/cg/good.nii.gz"
nb=0
for f in $NII_BAD; do
    nb=$((nb + 1))
    cp "$f" "$T/ci/img$nb""_0000.nii.gz"
    cp "$G/ct.nii.gz" "$T/cg/img$nb.nii.gz"
    cp "$G/ct_0000.nii.gz" "$T/ci/lab$nb""_0000.nii.gz"
    cp "$f" "$T/cg/lab$nb.nii.gz"
done
"$PRECT" -q -j 2 --img-dir "$T/ci" --gt-dir "$T/cg" --out-dir "$T/co" >/dev/null 2>"$T/stderr"
rc=$?
folder_check medsam-pre-ct $((2 * nb)) "$T/co" CT_Abd_good.npz

# ------------------------------------------------------------ PNG, JPEG
IMG_BAD="$B/png_*.png $B/jpeg_*.jpg $C/img/*.png"
for f in $IMG_BAD; do
    run_bad "$(basename "$f")" "$T/o" "$GREY" -q "$f" "$G/grey_mask.png" -o "$T/o/x.npz"
done
for f in $B/png_*.png $B/jpeg_*.jpg $C/img/*.png; do
    run_bad "$(basename "$f")" "$T/o" "$GREY" -q "$G/grey.png" "$f" -o "$T/o/x.npz"
done
mkdir -p "$T/gi" "$T/gg" "$T/go"
cp "$G/grey.png" "$T/gi/good.png"
cp "$G/grey_mask.png" "$T/gg/good.png"
nb=0
for f in $B/png_*.png $C/img/*.png; do
    nb=$((nb + 1))
    cp "$f" "$T/gi/img$nb.png"
    cp "$G/grey_mask.png" "$T/gg/img$nb.png"
    cp "$G/grey.png" "$T/gi/mask$nb.png"
    cp "$f" "$T/gg/mask$nb.png"
done
"$GREY" -q -j 2 --img-dir "$T/gi" --gt-dir "$T/gg" --out-dir "$T/go" >/dev/null 2>"$T/stderr"
rc=$?
folder_check medsam-pre-grey-rgb $((2 * nb)) "$T/go" Grey_Anatomy_good.npz

# ------------------------------------------------------------ npz tools
# bad for every reader of `imgs` (npz2npy, segment)
NPZ_IMGS="$B/npz_*.npz $C/npz/imgs_*.npz $C/npz/2D_no_imgs.npz $C/npz/2D_imgs_*.npz
          $C/npz/3D_imgs_rank2.npz $C/npz/2D_empty.npz $C/npz/2D_nifti_named_npz.npz"
# (npz2npy follows upstream npz_to_npy.py: any channel count, and 2D/3D from
# the rank of gts, so 2D_imgs_4ch and 3D_imgs_rank2 are good inputs for it)
for f in $NPZ_IMGS $C/npz/2D_no_gts.npz $C/npz/2D_gts_shape.npz; do
    case $f in *2D_imgs_4ch.npz | *3D_imgs_rank2.npz) continue ;; esac
    run_bad "$(basename "$f")" "$T/o" "$N2N" -q "$f" -o "$T/o"
done
mkdir -p "$T/ni" "$T/no"
cp "$G/2D_good.npz" "$T/ni/"
nb=0
for f in $NPZ_IMGS; do
    case $f in *2D_imgs_4ch.npz | *3D_imgs_rank2.npz) continue ;; esac
    nb=$((nb + 1))
    cp "$f" "$T/ni/"
done
"$N2N" -q -j 2 "$T/ni" -o "$T/no" >/dev/null 2>"$T/stderr"
rc=$?
folder_check medsam-npz2npy $nb "$T/no" imgs/2D_good.npy gts/2D_good.npy

# segment: the checkpoint
for f in $B/pth/*.pth $D/model/bad/missing_key.pth $D/model/bad/unexpected_key.pth \
         $D/model/bad/wrong_dtype.pth $D/model/bad/wrong_shape.pth; do
    run_bad "$(basename "$f")" "$T/o" "$SEG" -q -t 1 -w "$f" -o "$T/o" "$G/2D_good.npz"
done
# segment: the cases (one run per file for the first few, then a folder run)
SEG_BAD="$NPZ_IMGS $C/npz/2D_no_boxes.npz $C/npz/2D_box_*.npz $C/npz/3D_box_*.npz
         $C/npz/3D_spacing_nan.npz"
for f in $C/npz/2D_box_nan.npz $C/npz/2D_box_inverted.npz $C/npz/3D_box_zinverted.npz \
         $C/npz/imgs_npy_overflow_shape.npz $C/npz/2D_imgs_bomb.npz $C/npz/2D_imgs_object.npz \
         $B/npz_truncated.npz; do
    run_bad "$(basename "$f")" "$T/o" "$SEG" -q -t 1 -w "$W" -o "$T/o" "$f"
done
mkdir -p "$T/si" "$T/so"
cp "$G/2D_good.npz" "$T/si/"
nb=0
for f in $SEG_BAD; do
    nb=$((nb + 1))
    cp "$f" "$T/si/"
done
"$SEG" -q -t 2 -w "$W" -o "$T/so" "$T/si" >/dev/null 2>"$T/stderr"
rc=$?
folder_check medsam-segment $nb "$T/so" 2D_good.npz

# eval: bad predictions, then bad ground truths, each next to a good case
EVAL_SEG="$B/npz_*.npz $C/npz/segs_*.npz $C/npz/no_segs.npz $C/npz/2D_empty.npz"
csv_ok=m.csv
mkdir -p "$T/es" "$T/eg" "$T/eo"
for f in $EVAL_SEG; do
    rm -rf "$T/es" "$T/eg"
    mkdir -p "$T/es" "$T/eg"
    cp "$f" "$T/es/case.npz"
    cp "$G/2D_good.npz" "$T/eg/case.npz"
    run_bad "case.npz" "$T/eo" "$EVAL" -q -s "$T/es" -g "$T/eg" -o "$T/eo/m.csv"
done
csv_ok=
rm -rf "$T/es" "$T/eg"
mkdir -p "$T/es" "$T/eg"
cp "$G/seg_2D_good.npz" "$T/es/2D_good.npz"
cp "$G/2D_good.npz" "$T/eg/2D_good.npz"
nb=0
for f in $EVAL_SEG; do
    nb=$((nb + 1))
    cp "$f" "$T/es/bad$nb.npz"
    cp "$G/2D_good.npz" "$T/eg/bad$nb.npz"
done
for f in $B/npz_*.npz $C/npz/2D_no_gts.npz $C/npz/2D_gts_shape.npz $C/npz/3D_spacing_nan.npz; do
    nb=$((nb + 1))
    b=$(basename "$f")
    case $b in 3D*) cp "$f" "$T/eg/3Dbad$nb.npz"; cp "$f" "$T/es/3Dbad$nb.npz" ;;
    *) cp "$f" "$T/eg/bad$nb.npz"; cp "$G/seg_2D_good.npz" "$T/es/bad$nb.npz" ;; esac
done
"$EVAL" -q -j 2 -s "$T/es" -g "$T/eg" -o "$T/eo/m.csv" >/dev/null 2>"$T/stderr"
rc=$?
folder_check medsam-eval $nb "$T/eo" m.csv
n=$((n + 1))
if [ -f "$T/eo/m.csv" ]; then
    [ "$(grep -c '^2D_good.npz,' "$T/eo/m.csv")" -eq 1 ] && ! grep -q '^bad\|^3Dbad' "$T/eo/m.csv" ||
        fail "medsam-eval folder run: the CSV should hold the good case only"
fi

# --max-memory: a real zip bomb (64 MiB of zeros in 65 KB) refused under 1M
rm -rf "$T/es" "$T/eg" "$T/eo"
mkdir -p "$T/es" "$T/eg" "$T/eo"
cp "$C/npz/bomb64m_segs.npz" "$T/es/case.npz"
cp "$G/2D_good.npz" "$T/eg/case.npz"
csv_ok=m.csv
run_bad "case.npz" "$T/eo" "$EVAL" -q --max-memory 1M -s "$T/es" -g "$T/eg" -o "$T/eo/m.csv"
csv_ok=
n=$((n + 1))
grep -q 'limit' "$T/stderr" || fail "medsam-eval --max-memory 1M: no limit message: $(cat "$T/stderr")"
n=$((n + 1))
"$EVAL" -q --max-memory 1.5G -s "$T/es" -g "$T/eg" -o "$T/eo/m.csv" >/dev/null 2>&1
[ $? -eq 2 ] || fail "medsam-eval --max-memory 1.5G: not a usage error"
# a message about segs names the prediction with its folder
n=$((n + 1))
cp "$C/npz/segs_float_nan.npz" "$T/es/case.npz"
rm -rf "$T/eo"
mkdir -p "$T/eo"
"$EVAL" -q -s "$T/es" -g "$T/eg" -o "$T/eo/m.csv" >/dev/null 2>"$T/stderr"
grep -qF "$T/es/case.npz: segs" "$T/stderr" || fail "medsam-eval: the segs message does not name seg-dir/case.npz: $(cat "$T/stderr")"
# the other tools: a small good input is refused under a budget below its
# size (exit 1, one line naming the file, no output) and accepted without
mem_ok() {   # mem_ok WHAT OUT-FILE CMD...: exit 0 and OUT-FILE written
    what=$1 outf=$2
    shift 2
    n=$((n + 1))
    "$@" >/dev/null 2>"$T/stderr" </dev/null
    rc=$?
    [ $rc -eq 0 ] && [ -s "$outf" ] || fail "$what without --max-memory: exit $rc: $(head -n 2 "$T/stderr")"
    rm -rf "$T/o"
    mkdir -p "$T/o"
}
run_bad "ct.nii.gz" "$T/o" "$PRECT" -q --max-memory 1K "$G/ct_0000.nii.gz" "$G/ct.nii.gz" -o "$T/o/x.npz"
grep -q 'limit' "$T/stderr" || fail "medsam-pre-ct --max-memory 1K: no limit message"
mem_ok medsam-pre-ct "$T/o/x.npz" "$PRECT" -q "$G/ct_0000.nii.gz" "$G/ct.nii.gz" -o "$T/o/x.npz"
run_bad "grey.png" "$T/o" "$GREY" -q --max-memory 1K "$G/grey.png" "$G/grey_mask.png" -o "$T/o/x.npz"
grep -q 'limit' "$T/stderr" || fail "medsam-pre-grey-rgb --max-memory 1K: no limit message"
mem_ok medsam-pre-grey-rgb "$T/o/x.npz" "$GREY" -q "$G/grey.png" "$G/grey_mask.png" -o "$T/o/x.npz"
run_bad "2D_good.npz" "$T/o" "$N2N" -q --max-memory 1K "$G/2D_good.npz" -o "$T/o"
grep -q 'limit' "$T/stderr" || fail "medsam-npz2npy --max-memory 1K: no limit message"
mem_ok medsam-npz2npy "$T/o/imgs/2D_good.npy" "$N2N" -q "$G/2D_good.npz" -o "$T/o"
run_bad "2D_good.npz" "$T/o" "$SEG" -q -t 1 --max-memory 1K -w "$W" -o "$T/o" "$G/2D_good.npz"
grep -q 'limit' "$T/stderr" || fail "medsam-segment --max-memory 1K: no limit message"
mem_ok medsam-segment "$T/o/2D_good.npz" "$SEG" -q -t 1 -w "$W" -o "$T/o" "$G/2D_good.npz"

# ------------------------------------------------- outputs over inputs
mkdir -p "$T/ow"
cp "$G/ct_0000.nii.gz" "$G/ct.nii.gz" "$G/grey.png" "$G/grey_mask.png" "$G/2D_good.npz" "$T/ow/"
refuse() {   # refuse INPUT CMD...: exits non-zero, INPUT unchanged
    in=$1
    shift
    n=$((n + 1))
    cp "$in" "$T/before"
    "$@" >/dev/null 2>"$T/stderr" </dev/null
    rc=$?
    if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then
        fail "$(basename "$1") writing over $(basename "$in"): exit $rc"
    fi
    cmp -s "$in" "$T/before" || fail "$(basename "$1") overwrote its input $(basename "$in")"
    [ "$(wc -l <"$T/stderr")" -ge 1 ] || fail "$(basename "$1"): no message for an output over an input"
}
refuse "$T/ow/ct.nii.gz" "$PRECT" -q "$T/ow/ct_0000.nii.gz" "$T/ow/ct.nii.gz" -o "$T/ow/ct.nii.gz"
refuse "$T/ow/ct_0000.nii.gz" "$PRECT" -q "$T/ow/ct_0000.nii.gz" "$T/ow/ct.nii.gz" -o "$T/ow/ct_0000.nii.gz"
refuse "$T/ow/grey.png" "$GREY" -q "$T/ow/grey.png" "$T/ow/grey_mask.png" -o "$T/ow/grey.png"
refuse "$T/ow/grey_mask.png" "$GREY" -q "$T/ow/grey.png" "$T/ow/grey_mask.png" -o "$T/ow/grey_mask.png"
refuse "$T/ow/2D_good.npz" "$SEG" -q -t 1 -w "$W" -o "$T/ow" "$T/ow/2D_good.npz"
mkdir -p "$T/ow/s" "$T/ow/g"
cp "$G/seg_2D_good.npz" "$T/ow/s/2D_good.npz"
cp "$G/2D_good.npz" "$T/ow/g/2D_good.npz"
refuse "$T/ow/s/2D_good.npz" "$EVAL" -q -s "$T/ow/s" -g "$T/ow/g" -o "$T/ow/s/2D_good.npz"
refuse "$T/ow/g/2D_good.npz" "$EVAL" -q -s "$T/ow/s" -g "$T/ow/g" -o "$T/ow/s/m.csv" \
    --per-label "$T/ow/g/2D_good.npz"

# ------------------------------------------ kill -9 during a large write
# A complete run gives the reference; runs killed after increasing delays
# must leave either no file or the complete one under each final name.
killed_runs() {   # killed_runs WHAT REFDIR OUTDIR CMD... (CMD writes into OUTDIR)
    what=$1 ref=$2 out=$3
    shift 3
    mid=0
    for delay in 0.05 0.2 0.5 1 2 4; do
        rm -rf "$out"
        mkdir -p "$out"
        "$@" >/dev/null 2>&1 &
        pid=$!
        sleep $delay
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        n=$((n + 1))
        for f in $(cd "$out" && find . -type f ! -name '.*'); do
            cmp -s "$out/$f" "$ref/$f" || fail "$what killed after ${delay}s: partial $f"
        done
        # a temporary file left behind: this kill landed in the middle of a write
        [ -n "$(find "$out" -type f -name '.*')" ] && mid=$((mid + 1))
    done
    echo "$what: $mid of 6 kills landed during a write (temporary file left)"
}
if [ -n "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then
    "$PY" - "$T/big" <<'EOF'
import os, struct, sys, zipfile, io
import numpy as np
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(5)
# CT: 384 x 384 x 96 int16 (27 MiB), uncompressed .nii
shape = (96, 384, 384)
img = rng.integers(-1000, 1000, size=shape, dtype=np.int16)
lab = np.zeros(shape, np.uint8)
lab[10:90, 50:300, 60:320] = 1
def nii(path, a, code, bitpix):
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, shape[2], shape[1], shape[0], 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, code, bitpix)
    struct.pack_into("<8f", hdr, 76, 1.0, 0.8, 0.8, 2.5, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)
    struct.pack_into("<f", hdr, 112, 1.0)
    struct.pack_into("<4s", hdr, 344, b"n+1\0")
    with open(path, "wb") as f:
        f.write(bytes(hdr) + b"\0" * 4 + a.tobytes())
nii(os.path.join(d, "big_0000.nii"), img, 4, 16)
nii(os.path.join(d, "big.nii"), lab, 2, 8)
# npz for npz2npy: 40 slices of 256 x 256 (each slice a float64 npy of 1.5 MiB)
vol = rng.integers(0, 256, size=(40, 256, 256), dtype=np.uint8)
np.savez(os.path.join(d, "3D_big.npz"), imgs=vol, gts=(vol > 128).astype(np.uint8),
         spacing=np.array([1.0, 1.0, 1.0]))
EOF
    mkdir -p "$T/ref1" "$T/ref2"
    "$PRECT" -q "$T/big/big_0000.nii" "$T/big/big.nii" -o "$T/ref1/big.npz" ||
        fail "medsam-pre-ct on the large case"
    killed_runs medsam-pre-ct "$T/ref1" "$T/k1" \
        "$PRECT" -q "$T/big/big_0000.nii" "$T/big/big.nii" -o "$T/k1/big.npz"
    "$N2N" -q "$T/big/3D_big.npz" -o "$T/ref2" || fail "medsam-npz2npy on the large case"
    killed_runs medsam-npz2npy "$T/ref2" "$T/k2" "$N2N" -q "$T/big/3D_big.npz" -o "$T/k2"
else
    echo "note: no $PY with numpy: kill -9 tests skipped"
fi

echo "$n checks, $fails failures"
[ $fails -eq 0 ]
