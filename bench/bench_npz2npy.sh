#!/bin/sh
# medsam-npz2npy over a 300-slice 512x512 volume: wall / CPU time and peak RSS
# against the upstream computation in numpy (bench/npz2npy_reference.py, one
# worker), the bytes written and the disk's own write speed for that many
# bytes (dd with fsync).  The volume is made from the stent CT fixture
# (tests/data/npz2npy/CT_Stent_stent_half.npz, resampled with scipy) and is
# not kept.
# usage: bench/bench_npz2npy.sh BUILD_DIR [WORK_DIR]
set -eu
B=$1
W=${2:-$(mktemp -d "${TMPDIR:-/tmp}/bench_npz2npy.XXXXXX")}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
TOOL=$B/src/tools/medsam-npz2npy
mkdir -p "$W/in"
if [ ! -f "$W/in/CT_Big_stent.npz" ]; then
    "$PY" - "$SRC/tests/data/npz2npy/CT_Stent_stent_half.npz" "$W/in/CT_Big_stent.npz" <<'PYEOF'
import sys
import numpy as np
from scipy import ndimage
d = np.load(sys.argv[1])
img, gt = d["imgs"], d["gts"]
f = (300 / img.shape[0], 512 / img.shape[1], 512 / img.shape[2])
img = np.clip(ndimage.zoom(img.astype(np.float32), f, order=1), 0, 255).astype(np.uint8)
gt = ndimage.zoom(gt, f, order=0)
np.savez_compressed(sys.argv[2], imgs=img, gts=gt, spacing=np.array([0.7, 0.7, 1.25]))
print("volume", img.shape, gt.shape)
PYEOF
fi

timed() {  # timed LABEL CMD...: wall, wall until the data are on disk, user, sys, peak RSS
    label=$1
    shift
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
    /usr/bin/time -f "%e" -o "$W/tsync" sync
    set -- $(cat "$W/time") $(cat "$W/tsync")
    printf '| %s | %.2f s | %.2f s | %.2f s | %.2f s | %d MB |\n' "$label" "$1" \
        "$(echo "$1 + $5" | bc)" "$2" "$3" $(($4 / 1024))
}

run_all() {  # run_all OUT_PARENT
    O=$1
    echo "| run | wall | wall + sync | user | sys | peak RSS |"
    echo "|---|---|---|---|---|---|"
    rm -rf "$O/ours"
    timed "medsam-npz2npy -j 1" "$TOOL" -q -j 1 "$W/in" -o "$O/ours"
    rm -rf "$O/ours2"
    timed "medsam-npz2npy -j 2" "$TOOL" -q -j 2 "$W/in" -o "$O/ours2"
    rm -rf "$O/ours2" "$O/f32"
    timed "medsam-npz2npy --dtype float32" "$TOOL" -q --dtype float32 "$W/in" -o "$O/f32"
    rm -rf "$O/f32" "$O/r256"
    timed "medsam-npz2npy --resize 256" "$TOOL" -q --resize 256 "$W/in" -o "$O/r256"
    rm -rf "$O/r256" "$O/ref"
    timed "upstream computation (numpy, 1 worker)" "$PY" "$SRC/bench/npz2npy_reference.py" "$W/in" "$O/ref"
}

echo "### output on disk ($W)"
run_all "$W"
BYTES=$(du -sb "$W/ours" | cut -f1)
if diff -r -q "$W/ours" "$W/ref" >/dev/null; then echo "outputs identical: yes"; else echo "outputs identical: NO"; fi
MB=$((BYTES / 1048576))
echo "bytes written: $BYTES ($MB MiB, $(find "$W/ours" -type f | wc -l) files)"
sync
/usr/bin/time -f "%e" -o "$W/time" dd if=/dev/zero of="$W/dd" bs=1M count="$MB" conv=fsync 2>/dev/null
echo "dd of $MB MiB with fsync: $(cat "$W/time") s"
rm -f "$W/dd"
rm -rf "$W/ours" "$W/ref"
if [ -d /dev/shm ] && [ "$(df -k /dev/shm | awk 'NR == 2 { print $4 }')" -gt 5000000 ]; then
    S=$(mktemp -d /dev/shm/bench_npz2npy.XXXXXX)
    echo "### output on tmpfs (no disk: the computation and the copies)"
    run_all "$S"
    rm -rf "$S"
fi
