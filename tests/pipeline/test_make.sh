#!/bin/bash
# data-samples/Makefile end to end, on a copy of data-samples in a temp folder.
# Usage: test_make.sh MODE DATA_SAMPLES_DIR PYTHON BUILD_ROOT
#   full     full run; outputs complete and equal to the tools' folder modes;
#            a second run does nothing; touching one input redoes only its case
#   kill     make killed twice midway leaves no partial output; the finished
#            run equals an uninterrupted one
#   weights  WEIGHTS= and challenge/gts: segmentations (challenge boxes and
#            boxes from gts), overlays, metrics of both
# MS_TEST_DATA must point at tests/data (weights mode).
set -u
mode=$1 src=$2 py=$3 build=$4
here=$(cd "$(dirname "$0")" && pwd)
check="$py $here/pipecheck.py"
tools=$build/src/tools
T=$(mktemp -d "${TMPDIR:-/tmp}/pipeline-make.XXXXXX") || exit 1
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAIL: $*" >&2; exit 1; }

"$py" -c 'import numpy' 2>/dev/null || { echo "no numpy in $py: skip"; exit 77; }
command -v make >/dev/null || { echo "no make: skip"; exit 77; }

# A copy of data-samples without any out/ of a previous run.
copy() { # dest
    mkdir -p "$1" || exit 1
    for f in "$src"/*; do
        [ "$(basename "$f")" = out ] || cp -R "$f" "$1"/ || exit 1
    done
}

runmake() { # dir log [make args...]
    d=$1 log=$2; shift 2
    make -C "$d" -j2 BUILD="$build" "$@" >"$log" 2>&1
}

# Outputs of the tools' own folder modes, as a plain local run would make them.
reference() { # dest
    r=$1
    "$tools/medsam-pre-ct" -q --img-dir "$src/CT/images" --gt-dir "$src/CT/labels" \
        --out-dir "$r/npz" --modality CT --anatomy Stent || fail "reference CT"
    "$tools/medsam-pre-ct" -q --img-dir "$src/MR/images" --gt-dir "$src/MR/labels" \
        --out-dir "$r/npz" --modality MR --anatomy Brain || fail "reference MR"
    "$tools/medsam-pre-grey-rgb" -q --img-dir "$src/2D/images" --gt-dir "$src/2D/labels" \
        --out-dir "$r/npz" --modality Grey --anatomy Brain || fail "reference 2D"
    "$tools/medsam-npz2npy" -q "$r/npz" -o "$r/npy" || fail "reference npy"
}

case $mode in
full)
    copy "$T/ds"
    runmake "$T/ds" "$T/run1.log" || { cat "$T/run1.log"; fail "first make run"; }
    for n in CT_Stent_stent_half MR_Brain_kmeans Grey_Brain_brainpd; do
        [ -f "$T/ds/out/npz/$n.npz" ] || fail "no out/npz/$n.npz"
        [ -f "$T/ds/out/.stamps/npy/$n.done" ] || fail "no npy stamp for $n"
    done
    $check complete "$T/ds/out" --no-temps || fail "incomplete outputs after a full run"
    $check stamps "$T/ds/out" || fail "stamps without their npy files"
    reference "$T/ref"
    $check same "$T/ds/out" "$T/ref" || fail "make outputs differ from the folder modes"

    # Second run: up to date, nothing executed.
    make -C "$T/ds" -q BUILD="$build" || fail "make -q: not up to date after a full run"
    runmake "$T/ds" "$T/run2.log" || { cat "$T/run2.log"; fail "second make run"; }
    grep -q 'Nothing to be done' "$T/run2.log" || { cat "$T/run2.log"; fail "second run did something"; }
    ! grep -qF "$tools/" "$T/run2.log" || { cat "$T/run2.log"; fail "second run ran a tool"; }

    # One changed input: exactly that case is redone (its npz and its npy).
    sleep 1
    touch "$T/ds/MR/labels/kmeans.nii.gz"
    runmake "$T/ds" "$T/run3.log" || { cat "$T/run3.log"; fail "third make run"; }
    [ "$(grep -cF "$tools/" "$T/run3.log")" = 2 ] || { cat "$T/run3.log"; fail "expected 2 commands"; }
    grep -q 'medsam-pre-ct .*kmeans' "$T/run3.log" && grep -q 'medsam-npz2npy .*MR_Brain_kmeans' "$T/run3.log" \
        || { cat "$T/run3.log"; fail "the touched case was not redone"; }
    $check same "$T/ds/out" "$T/ref" || fail "outputs differ after the partial rebuild"
    echo "full: ok"
    ;;
kill)
    command -v setsid >/dev/null || { echo "no setsid: skip"; exit 77; }
    reference "$T/ref"
    copy "$T/ds"
    # Kill the whole process group (make and the tool it runs, as ^C does)
    # once `ready` holds, twice at different points, then let it finish.
    interrupted=0
    for point in npz npy; do
        rm -f "$T/pgid"
        # setsid may fork: the group id is the pid the inner shell reports.
        setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$T/pgid" \
            make -C "$T/ds" -j2 BUILD="$build" >"$T/kill-$point.log" 2>&1 &
        i=0
        while [ ! -s "$T/pgid" ]; do
            i=$((i + 1)); [ $i -le 200 ] || fail "make did not start"; sleep 0.05
        done
        pid=$(cat "$T/pgid")
        i=0
        while kill -0 -- "-$pid" 2>/dev/null; do
            case $point in
            npz) ls "$T/ds/out/npz/"*.npz >/dev/null 2>&1 && break ;;
            npy) [ "$(ls "$T/ds/out/npy/imgs" 2>/dev/null | wc -l)" -ge 20 ] && break ;;
            esac
            i=$((i + 1))
            [ $i -le 1200 ] || fail "make did not reach the $point step in 60 s"
            sleep 0.05
        done
        if kill -TERM -- "-$pid" 2>/dev/null; then
            interrupted=$((interrupted + 1))
        fi
        i=0
        while kill -0 -- "-$pid" 2>/dev/null; do
            i=$((i + 1)); [ $i -le 600 ] || fail "make still running 30 s after SIGTERM"; sleep 0.05
        done
        pid=
        echo "killed at the $point step:"; sed 's/^/  | /' "$T/kill-$point.log"
        $check complete "$T/ds/out" || fail "a partial output after killing make at the $point step"
        $check stamps "$T/ds/out" || fail "a stamp without its outputs after the kill at $point"
    done
    [ $interrupted -ge 1 ] || fail "make finished before it could be interrupted"
    runmake "$T/ds" "$T/finish.log" || { cat "$T/finish.log"; fail "make after the kills"; }
    $check complete "$T/ds/out" --no-temps || fail "temp files left after the finishing run"
    $check same "$T/ds/out" "$T/ref" || fail "interrupted + finished run differs from a plain run"
    runmake "$T/ds" "$T/again.log" && grep -q 'Nothing to be done' "$T/again.log" \
        || { cat "$T/again.log"; fail "not up to date after the finishing run"; }
    echo "kill: ok ($interrupted interruptions)"
    ;;
weights)
    w=$MS_TEST_DATA/model/random_seed7.pth
    ref=$MS_TEST_DATA/segment/2D_brainpd_segs.npz
    [ -f "$w" ] && [ -f "$ref" ] || fail "test data missing: $w $ref"
    copy "$T/ds"
    # Only the 2D challenge case (the 3D one costs minutes of CPU); its
    # ground truth is the upstream segmentation, so DSC and NSD must be 1.
    rm -f "$T/ds/challenge/"3D_*.npz
    mkdir -p "$T/ds/challenge/gts"
    "$py" -c "import numpy as np, sys
np.savez_compressed(sys.argv[2], gts=np.load(sys.argv[1])['segs'])" \
        "$ref" "$T/ds/challenge/gts/2D_brainpd.npz" || fail "writing the ground truth"
    # Boxes from gts: the 2D case, and (the 62-slice MR costs minutes) a 3D
    # case of 4 MR slices put next to the preprocessed npz; its name has no
    # 3D prefix, so medsam-segment and medsam-eval must go by the rank of gts.
    runmake "$T/ds" "$T/w0.log" || { cat "$T/w0.log"; fail "make without WEIGHTS"; }
    "$py" -c "import numpy as np, sys
z = np.load(sys.argv[1])
np.savez_compressed(sys.argv[2], imgs=z['imgs'][28:32], gts=z['gts'][28:32], spacing=z['spacing'])" \
        "$T/ds/out/npz/MR_Brain_kmeans.npz" "$T/ds/out/npz/MR_Tiny_kmeans.npz" \
        || fail "writing the small 3D case"
    cases="Grey_Brain_brainpd MR_Tiny_kmeans"
    runmake "$T/ds" "$T/w1.log" WEIGHTS="$w" SEGMENT_CASES="$cases" || { cat "$T/w1.log"; fail "make with WEIGHTS"; }
    [ -f "$T/ds/out/segs/2D_brainpd.npz" ] || fail "no out/segs/2D_brainpd.npz"
    [ -f "$T/ds/out/overlay/2D_brainpd.png" ] || fail "no overlay"
    [ -f "$T/ds/out/.stamps/segs/2D_brainpd.done" ] || fail "no segmentation stamp"
    for c in $cases; do
        [ -f "$T/ds/out/segs-gts/$c.npz" ] || fail "no out/segs-gts/$c.npz"
        [ -f "$T/ds/out/.stamps/segs-gts/$c.done" ] || fail "no segs-gts stamp for $c"
    done
    [ ! -e "$T/ds/out/segs-gts/MR_Brain_kmeans.npz" ] || fail "a case outside SEGMENT_CASES was segmented"
    [ ! -e "$T/ds/out/.stamps/metrics-in" ] || fail "the metrics scratch folder was left"
    $check complete "$T/ds/out" --no-temps || fail "incomplete outputs"
    "$py" - "$T/ds/out" "$ref" <<'PY' || fail "metrics"
import csv, math, os, sys
import numpy as np
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "metrics.csv"))))
names = [r["case"] for r in rows]
assert names == ["2D_brainpd.npz", "Grey_Brain_brainpd.npz", "MR_Tiny_kmeans.npz"], names
for r in rows:
    for k in ("dsc", "nsd"):
        v = float(r[k])
        assert 0.0 <= v <= 1.0 and not math.isnan(v), r
assert float(rows[0]["dsc"]) >= 0.999 and float(rows[0]["nsd"]) >= 0.999, rows
a, b = np.load(os.path.join(out, "segs/2D_brainpd.npz"))["segs"], np.load(sys.argv[2])["segs"]
assert a.shape == b.shape and (a == b).mean() >= 0.9999, (a.shape, b.shape)
for c in ("Grey_Brain_brainpd", "MR_Tiny_kmeans"):
    s = np.load(os.path.join(out, "segs-gts", c + ".npz"))["segs"]
    g = np.load(os.path.join(out, "npz", c + ".npz"))["gts"]
    assert s.shape == g.shape, (c, s.shape, g.shape)
    assert set(np.unique(s)) <= set(np.unique(g)), (c, np.unique(s), np.unique(g))
print("metrics:", rows)
PY
    runmake "$T/ds" "$T/w2.log" WEIGHTS="$w" SEGMENT_CASES="$cases" && grep -q 'Nothing to be done' "$T/w2.log" \
        || { cat "$T/w2.log"; fail "second run with WEIGHTS did something"; }
    # Without WEIGHTS the segmentation targets are not wanted.
    runmake "$T/ds" "$T/w3.log" && grep -q 'Nothing to be done' "$T/w3.log" \
        || { cat "$T/w3.log"; fail "run without WEIGHTS did something"; }
    echo "weights: ok"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
exit 0
