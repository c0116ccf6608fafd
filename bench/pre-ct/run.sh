#!/bin/sh
# Benchmark of medsam-pre-ct (not a test) on a 512x512x300 CT and a
# 181x217x181 MR made from real data (make_volumes.py; regenerated here,
# never committed), against upstream's algorithm in numpy/scipy
# (tests/tools/pre_ct_reference.py: cc3d and SimpleITK, which upstream
# imports, are not packaged in Debian).
#
# Reports wall / CPU time, peak RSS and minor page faults (/usr/bin/time; the
# kernel zeroes each fresh page it faults in) at the default level 1, at
# numpy's level 6 with the default codec (libdeflate when built with it) and
# with zlib (MEDSAM_DEFLATE=zlib), and at level 0, the share of the CPU time per library (perf, when
# available) and, measured apart (zlib through Python, libdeflate through its
# CLI tools), the CPU time of gzip-decoding the two inputs and of deflating the
# two output arrays at level 6; and whether the outputs match.
#
# usage: bench/pre-ct/run.sh BUILD_DIR [WORK_DIR]
#   needs /usr/bin/python3 with numpy + scipy; downloads Debian's
#   python3-imageio package (for stent.npz) into WORK_DIR on the first run.
set -eu
B=${1:?usage: bench/pre-ct/run.sh BUILD_DIR [WORK_DIR]}
W=${2:-/tmp/medsam-bench-prect}
HERE=$(cd "$(dirname "$0")" && pwd)
REF="$HERE/../../tests/tools/pre_ct_reference.py"
TOOL="$B/src/tools/medsam-pre-ct"
SAME="$B/tests/tools/prect_npz_same"
PY=/usr/bin/python3
TIME="/usr/bin/time -f %e_s_wall_%U_s_user_%S_s_sys_%M_KB_peak_RSS_%R_minor_faults"
mkdir -p "$W"

STENT=$(find "$W/imageio" -name stent.npz 2>/dev/null | head -n 1)
if [ -z "$STENT" ]; then
    (cd "$W" && apt-get download python3-imageio >/dev/null && dpkg -x python3-imageio_*.deb imageio)
    STENT=$(find "$W/imageio" -name stent.npz | head -n 1)
fi
[ -f "$W/ct/labels/ct512.nii.gz" ] || "$PY" "$HERE/make_volumes.py" "$STENT" "$W"

echo "== machine"
lscpu | grep -E "^(Model name|CPU\(s\)|Thread|Core)" | sed 's/  */ /g'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

case_bench() {   # NAME MODALITY IMAGE LABEL
    name=$1 mod=$2 img=$3 lab=$4
    echo "== $name: $(du -k "$img" "$lab" | awk '{s += $1} END {print s}') KB of .nii.gz"
    "$PY" - "$img" "$lab" <<'PYEOF'
import gzip, sys
n = sum(len(gzip.open(p).read()) for p in sys.argv[1:])
print("decompressed image + label: %.1f MB" % (n / 1e6))
PYEOF
    # the default (level 1; libdeflate when built with it), numpy's level 6
    # with libdeflate and with zlib, and level 0 (stored)
    for v in "default::1" "level-6::6" "zlib-6:zlib:6" "level-0::0"; do
        label=${v%%:*} rest=${v#*:} codec=${rest%%:*} level=${rest#*:}
        for run in 1 2 3; do
            printf "medsam-pre-ct %s run %s: " "$label" "$run"
            MEDSAM_DEFLATE=$codec $TIME "$TOOL" -q --compress-level "$level" --modality "$mod" \
                "$img" "$lab" -o "$W/$name.$label.npz" 2>&1 | tr _ ' '
        done
        echo "  npz: $(wc -c < "$W/$name.$label.npz") bytes"
    done
    cp "$W/$name.default.npz" "$W/$name.npz"
    if command -v perf >/dev/null 2>&1 &&
        perf record -q -o "$W/perf.data" -F 999 "$TOOL" -q --modality "$mod" "$img" "$lab" \
            -o "$W/$name.npz" >/dev/null 2>&1; then
        echo "perf, share of samples per library:"
        perf report -i "$W/perf.data" --sort dso --stdio 2>/dev/null | grep '%' | head -n 4 |
            sed 's/^ */  /'
    fi
    "$PY" - "$img" "$lab" "$W/$name.npz" <<'PYEOF'
import gzip, sys, time, zlib
import numpy as np
t0 = time.process_time()
for p in sys.argv[1:3]:
    d = zlib.decompressobj(31)
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            d.decompress(b)
t1 = time.process_time()
z = np.load(sys.argv[3])
for k in ("imgs", "gts"):
    zlib.compress(np.ascontiguousarray(z[k]).tobytes(), 6)
t2 = time.process_time()
print("zlib alone: gzip decode of the inputs %.2f s CPU, deflate (level 6) of imgs+gts %.2f s CPU"
      % (t1 - t0, t2 - t1))
np.save(sys.argv[3] + ".imgs.npy", z["imgs"])
np.save(sys.argv[3] + ".gts.npy", z["gts"])
print("output: imgs %s, labels %s" % (z["imgs"].shape, np.unique(z["gts"]).tolist()))
PYEOF
    if command -v libdeflate-gzip >/dev/null 2>&1; then   # Debian libdeflate-tools
        ct() { /usr/bin/time -f %U "$@" 2>&1 >/dev/null; }
        dec=$(ct libdeflate-gunzip -c "$img") dec2=$(ct libdeflate-gunzip -c "$lab")
        en=$(ct libdeflate-gzip -6 -c "$W/$name.npz.imgs.npy") en2=$(ct libdeflate-gzip -6 -c "$W/$name.npz.gts.npy")
        echo "libdeflate alone (its CLI tools): gzip decode of the inputs $dec + $dec2 s CPU," \
             "deflate (level 6) of imgs + gts $en + $en2 s CPU"
    fi
    rm -f "$W/$name.npz.imgs.npy" "$W/$name.npz.gts.npy"
    printf "numpy/scipy reference: "
    $TIME "$PY" "$REF" --modality "$mod" --times "$img" "$lab" "$W/${name}_ref.npz" 2>&1 |
        tr _ ' ' | tr '\n' ' '
    echo
    if "$SAME" "$W/$name.npz" "$W/${name}_ref.npz" imgs gts spacing; then
        echo "outputs identical (imgs, gts, spacing)"
    else
        echo "OUTPUTS DIFFER"
    fi
}

case_bench ct512 CT "$W/ct/images/ct512_0000.nii.gz" "$W/ct/labels/ct512.nii.gz"
case_bench mr181 MR "$W/mr/images/mr181_0000.nii.gz" "$W/mr/labels/mr181.nii.gz"
