#!/usr/bin/python3
"""Make a 181x217x181 benchmark case with 100+ labels for medsam-eval from a
real volume: the T1 MR of data-samples (ITK example data), resampled to
181x217x181, its head split into Voronoi parcels around 120 random seeds
(labels 1..120, like a brain parcellation).  The "prediction" repeats the
parcellation with jittered seeds, a slightly different head threshold and a
one-voxel shift, so DSC and NSD land in a realistic range.

With --big: instead a synthetic CT-sized case, 512x512x200 voxels of
0.8x0.8x2.5 mm (axes z, y, x: spacing (2.5, 0.8, 0.8)) with 5 ellipsoid
"organs", the prediction shifted and 3 % larger (OUT_DIR/{gts,segs}/3DCT_big.npz).

usage: bench/make_eval_volume.py OUT_DIR [--big]   (writes OUT_DIR/{gts,segs}/3D*.npz)
Not committed: regenerate with this script (seeded, deterministic).
"""
import gzip
import os
import struct
import sys

import numpy as np
import scipy.ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
MR = os.path.join(HERE, "..", "data-samples", "MR", "images", "kmeans_0000.nii.gz")
SHAPE = (181, 217, 181)
NLAB = 120
DTYPES = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64, 512: np.uint16}


def read_nifti1(path):
    raw = gzip.open(path).read()
    if struct.unpack("<i", raw[:4])[0] != 348:
        sys.exit("%s: not a little-endian NIfTI-1 file" % path)
    dim = struct.unpack("<8h", raw[40:56])
    dtype = DTYPES[struct.unpack("<h", raw[70:72])[0]]
    off = int(struct.unpack("<f", raw[108:112])[0])
    n = dim[0]
    shape = dim[1:1 + n]
    vol = np.frombuffer(raw, dtype, int(np.prod(shape)), off).reshape(shape, order="F")
    return np.ascontiguousarray(vol.T)  # (z, y, x)


def parcels(head, seeds):
    mark = np.ones(head.shape, bool)
    for i, p in enumerate(seeds):
        mark[tuple(p)] = False
    _, idx = ndi.distance_transform_edt(mark, return_indices=True)
    lab_at = np.zeros(head.shape, np.uint8)
    for i, p in enumerate(seeds):
        lab_at[tuple(p)] = i + 1
    lab = lab_at[idx[0], idx[1], idx[2]]
    lab[~head] = 0
    return lab


def save(out, name, gts, segs, spacing):
    for sub, key, arr in (("gts", "gts", gts), ("segs", "segs", segs)):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        kw = {key: arr}
        if key == "gts":
            kw["spacing"] = spacing
        np.savez_compressed(os.path.join(out, sub, name), **kw)


def big(out):
    z, y, x = np.ogrid[:200, :512, :512]
    gts = np.zeros((200, 512, 512), np.uint8)
    segs = gts.copy()
    organs = [(100, 256, 256, 150), (60, 150, 300, 40), (150, 350, 200, 60),
              (100, 100, 100, 30), (40, 400, 400, 25)]
    for i, (cz, cy, cx, r) in enumerate(organs):
        d = ((z - cz) * 2.5) ** 2 + ((y - cy) * 0.8) ** 2 + ((x - cx) * 0.8) ** 2
        gts[d < (r * 0.8) ** 2] = i + 1
        d = ((z - cz - 1) * 2.5) ** 2 + ((y - cy) * 0.8) ** 2 + ((x - cx + 2) * 0.8) ** 2
        segs[d < (r * 0.8 * 1.03) ** 2] = i + 1
    save(out, "3DCT_big.npz", gts, segs, np.array([2.5, 0.8, 0.8]))
    print("%s: %s labels 1..5" % (out, gts.shape))


def main():
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--big"):
        sys.exit(__doc__.strip().splitlines()[-2])
    out = sys.argv[1]
    if len(sys.argv) == 3:
        big(out)
        return
    rng = np.random.default_rng(7)
    mr = read_nifti1(MR).astype(np.float32)
    vol = ndi.zoom(mr, [SHAPE[a] / mr.shape[a] for a in range(3)], order=1)[:SHAPE[0], :SHAPE[1], :SHAPE[2]]
    assert vol.shape == SHAPE, vol.shape
    thr = np.percentile(vol, 40)
    head_gt = ndi.binary_opening(vol > thr, iterations=2)
    head_seg = ndi.binary_opening(vol > thr * 1.08, iterations=2)
    inside = np.argwhere(head_gt)
    seeds = inside[rng.choice(len(inside), NLAB, replace=False)]
    gts = parcels(head_gt, seeds)
    jitter = np.clip(seeds + rng.integers(-4, 5, seeds.shape), 0, np.array(SHAPE) - 1)
    segs = np.roll(parcels(head_seg, jitter), 1, axis=1)
    save(out, "3DMR_bench.npz", gts, segs, np.array([1.0, 1.0, 1.2]))
    print("%s: %s labels %d..%d, head %.1f%% of voxels" % (
        out, gts.shape, gts[gts > 0].min(), gts.max(), 100.0 * head_gt.mean()))


if __name__ == "__main__":
    main()
