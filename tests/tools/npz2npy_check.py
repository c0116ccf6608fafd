#!/usr/bin/python3
"""Check medsam-npz2npy's --dtype/--resize outputs against numpy + OpenCV.

usage: npz2npy_check.py NPZ OUT_DIR DTYPE RESIZE   (RESIZE 0 = none)

Recomputes what every imgs/ and gts/ file of NPZ must hold, independently of
the tool: upstream's normalisation in numpy, cv2.resize INTER_AREA on the
uint8 slice (longest side, as LiteMedSAM inference), cv2 INTER_NEAREST for
gts, zero padding bottom/right; compares with np.load exactly.  Exit 1 on any
difference, with the file named.
"""
import os
import sys

import numpy as np


def expected(img, gt, dtype, size):
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=-1)
    if size:
        import cv2
        h, w = img.shape[:2]
        s = size / max(h, w)
        nh, nw = int(h * s + 0.5), int(w * s + 0.5)
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        if img.ndim == 2:
            img = img[:, :, None]
        gt = cv2.resize(gt, (nw, nh), interpolation=cv2.INTER_NEAREST)
    x = (img - img.min()) / np.clip(img.max() - img.min(), a_min=1e-8, a_max=None)
    x = x.astype(dtype)
    if size:
        x = np.pad(x, ((0, size - x.shape[0]), (0, size - x.shape[1]), (0, 0)))
        gt = np.pad(gt, ((0, size - gt.shape[0]), (0, size - gt.shape[1])))
    return x, gt


def main():
    npz, out, dtype, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    d = np.load(npz)
    name = os.path.basename(npz).split(".npz")[0]
    imgs, gts = d["imgs"], d["gts"]
    if gts.ndim == 3:
        cases = [(imgs[i], gts[i], "%s-%03d" % (name, i)) for i in range(gts.shape[0])]
    else:
        cases = [(imgs, gts, name)]
    bad = 0
    for img, gt, base in cases:
        ei, eg = expected(img, np.uint8(gt) if gts.ndim == 3 else gt, dtype, size)
        gi = np.load(os.path.join(out, "imgs", base + ".npy"))
        gg = np.load(os.path.join(out, "gts", base + ".npy"))
        for what, e, g in (("imgs", ei, gi), ("gts", eg, gg)):
            if e.dtype != g.dtype or e.shape != g.shape or not np.array_equal(e, g):
                print("%s/%s.npy: %s %s differs from expected %s %s" %
                      (what, base, g.dtype, g.shape, e.dtype, e.shape))
                bad += 1
    print("%d slices checked, %d files differ" % (len(cases), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
