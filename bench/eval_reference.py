#!/usr/bin/python3
"""Upstream's metric computation (compute_metrics.py + SurfaceDice.py of the
MedSAM repository) re-stated with numpy/scipy, for benchmarking medsam-eval
against the Python algorithm and comparing values at full precision.

usage: bench/eval_reference.py SEG_DIR GT_DIR OUT.csv [PER_LABEL.csv]
Needs Debian's python3-numpy and python3-scipy (/usr/bin/python3); no pandas:
values are printed as pandas would (repr of the rounded float, NaN empty).
"""
import json
import os
import sys

import numpy as np
import scipy.ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "tests", "data", "eval", "surface_normals.json")
with open(TABLE) as f:
    NORMALS = [np.array(n, dtype=np.float64)
               for n in json.load(f)["neighbour_code_to_normals"]]
KERNEL = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]])


def surfel_areas(sp):
    scale = np.array([sp[1] * sp[2], sp[0] * sp[2], sp[0] * sp[1]])
    return np.array([np.linalg.norm(n * scale, axis=1).sum() for n in NORMALS])


def surface_dice(g, s, sp, tol):
    """Normalised surface dice of two boolean volumes (upstream algorithm)."""
    both = g | s
    if not both.any():
        return float("nan")
    idx = [np.nonzero(both.any(axis=tuple(b for b in range(3) if b != a)))[0]
           for a in range(3)]
    lo = [int(i.min()) for i in idx]
    hi = [int(i.max()) for i in idx]
    box = tuple(slice(lo[a], hi[a] + 1) for a in range(3))
    shape = tuple(hi[a] - lo[a] + 2 for a in range(3))
    cg = np.zeros(shape, np.uint8)
    cs = np.zeros(shape, np.uint8)
    cg[:-1, :-1, :-1] = g[box]
    cs[:-1, :-1, :-1] = s[box]
    code_g = ndi.correlate(cg, KERNEL, mode="constant", cval=0)
    code_s = ndi.correlate(cs, KERNEL, mode="constant", cval=0)
    bg = (code_g != 0) & (code_g != 255)
    bs = (code_s != 0) & (code_s != 255)
    dg = ndi.distance_transform_edt(~bg, sampling=sp) if bg.any() else np.full(shape, np.inf)
    ds = ndi.distance_transform_edt(~bs, sampling=sp) if bs.any() else np.full(shape, np.inf)
    areas = surfel_areas(sp)
    d_g2s, a_g = ds[bg], areas[code_g[bg]]
    d_s2g, a_s = dg[bs], areas[code_s[bs]]
    # upstream sorts (distance, area) pairs before summing
    if len(d_g2s):
        o = np.lexsort((a_g, d_g2s))
        d_g2s, a_g = d_g2s[o], a_g[o]
    if len(d_s2g):
        o = np.lexsort((a_s, d_s2g))
        d_s2g, a_s = d_s2g[o], a_s[o]
    num = np.sum(a_g[d_g2s <= tol]) + np.sum(a_s[d_s2g <= tol])
    return num / (np.sum(a_g) + np.sum(a_s))


def evaluate(gts, segs, sp, tol=2.0, per_label=False):
    dsc, nsd = [], []
    n = int(gts.max())
    for i in range(1, n + 1):
        g, s = gts == i, segs == i
        vs = g.sum() + s.sum()
        dsc.append(np.nan if vs == 0 else 2 * (g & s).sum() / vs)
    case_dsc = np.mean(dsc)
    if case_dsc > 0.2 or per_label:
        for i in range(1, n + 1):
            nsd.append(surface_dice(gts == i, segs == i, sp, tol))
    case_nsd = np.mean(nsd) if case_dsc > 0.2 else 0.0
    return case_dsc, case_nsd, dsc, nsd


def fmt(x):
    x = np.round(x, 4)
    return "" if np.isnan(x) else repr(float(x))


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().splitlines()[-3])
    seg_dir, gt_dir, out = sys.argv[1:4]
    per = sys.argv[4] if len(sys.argv) == 5 else None
    rows, label_rows = [], []
    for name in sorted(n for n in os.listdir(gt_dir) if n.endswith(".npz")):
        zg = np.load(os.path.join(gt_dir, name))
        zs = np.load(os.path.join(seg_dir, name))
        gts, segs = zg["gts"], zs["segs"]
        if name.startswith("3D"):
            sp = zg["spacing"]
        else:
            sp = [1.0, 1.0, 1.0]
            gts, segs = gts[..., None], segs[..., None]
        d, n_, dl, nl = evaluate(gts, segs, sp, per_label=per is not None)
        rows.append("%s,%s,%s" % (name, fmt(d), fmt(n_)))
        print("%s dsc %.17g nsd %.17g" % (name, d, n_), file=sys.stderr)
        for i, (a, b) in enumerate(zip(dl, nl)):
            label_rows.append("%s,%d,%.17g,%.17g" % (name, i + 1, a, b))
    with open(out, "w") as f:
        f.write("case,dsc,nsd\n" + "".join(r + "\n" for r in rows))
    if per:
        with open(per, "w") as f:
            f.write("case,label,dsc,nsd\n" + "".join(r + "\n" for r in label_rows))


if __name__ == "__main__":
    main()
