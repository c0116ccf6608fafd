#!/usr/bin/python3
"""Upstream pre_CT_MR.py's per-case computation in numpy + scipy.

cc3d and SimpleITK (what upstream imports) are not packaged in Debian, so
this re-implementation uses scipy.ndimage.label (which also numbers
components in raster order) and a small NIfTI-1 reader.  It serves as the
reference of the CLI tests for the options the fixtures do not cover
(--tumor-id, --remove-labels) and as the baseline of bench/pre-ct.

usage: pre_ct_reference.py IMAGE LABEL OUT.npz [--modality CT] [--wl 40]
           [--ww 400] [--remove 12,13] [--tumor-id N] [--times]
"""
import argparse
import gzip
import struct
import sys
import time

import numpy as np
from scipy import ndimage

DTYPES = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64,
          256: np.int8, 512: np.uint16, 768: np.uint32, 1024: np.int64, 1280: np.uint64}


def read_nifti(path):
    """(z, y, x) array and pixdim[1..3], as SimpleITK's GetArrayFromImage."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    endian = "<" if struct.unpack("<i", raw[:4])[0] == 348 else ">"
    dim = struct.unpack(endian + "8h", raw[40:56])
    datatype = struct.unpack(endian + "h", raw[70:72])[0]
    pixdim = struct.unpack(endian + "8f", raw[76:108])
    offset = int(struct.unpack(endian + "f", raw[108:112])[0])
    slope, inter = struct.unpack(endian + "2f", raw[112:120])
    nx, ny, nz = (max(int(d), 1) for d in dim[1:4])
    a = np.frombuffer(raw, dtype=np.dtype(DTYPES[datatype]).newbyteorder(endian),
                      count=nx * ny * nz, offset=offset).reshape(nz, ny, nx)
    a = a.astype(a.dtype.newbyteorder("="))
    if np.isfinite(slope) and slope != 0 and (slope, inter) != (1, 0):
        a = (a.astype(np.float64) * slope + inter).astype(np.float32)
    return a, tuple(abs(float(p)) if p else 1.0 for p in pixdim[1:4])


def dust(lab, threshold, structure):
    """cc3d.dust: components (per label value) smaller than threshold -> 0."""
    for v in np.unique(lab):
        if v == 0:
            continue
        comp, n = ndimage.label(lab == v, structure=structure)
        sizes = np.bincount(comp.ravel())
        small = np.flatnonzero(sizes < threshold)
        small = small[small > 0]
        if small.size:
            lab[np.isin(comp, small)] = 0
    return lab


def preprocess(image, label, modality="CT", wl=40, ww=400, remove=(), tumor_id=None,
               times=None):
    t0 = time.process_time()
    gt_raw, _ = read_nifti(label)
    gt = np.uint8(gt_raw)
    t1 = time.process_time()
    for r in remove:
        gt[gt == r] = 0
    if tumor_id is not None:
        tumor_bw = np.uint8(gt == tumor_id)
        gt[tumor_bw > 0] = 0
        inst, _ = ndimage.label(tumor_bw, structure=np.ones((3, 3, 3)))
        gt[inst > 0] = inst[inst > 0] + np.max(gt)
    gt = dust(gt, 100, np.ones((3, 3, 3)))
    for z in range(gt.shape[0]):
        gt[z] = dust(gt[z], 10, np.ones((3, 3)))
    z_index = np.unique(np.where(gt > 0)[0])
    t2 = time.process_time()
    if len(z_index) == 0:
        return None
    gt_roi = gt[z_index]
    img, spacing = read_nifti(image)
    t3 = time.process_time()
    if modality == "CT":
        lower, upper = wl - ww / 2, wl + ww / 2
        pre = np.clip(img, lower, upper)
        pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
    else:
        lower = np.percentile(img[img > 0], 0.5)
        upper = np.percentile(img[img > 0], 99.5)
        pre = np.clip(img, lower, upper)
        pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
        pre[img == 0] = 0
    img_roi = np.uint8(pre)[z_index]
    t4 = time.process_time()
    if times is not None:
        times.update(read_label=t1 - t0, labels=t2 - t1, read_image=t3 - t2, normalise=t4 - t3)
    return img_roi, gt_roi, spacing


def main():
    p = argparse.ArgumentParser()
    p.add_argument("image")
    p.add_argument("label")
    p.add_argument("out")
    p.add_argument("--modality", default="CT")
    p.add_argument("--wl", type=float, default=40)
    p.add_argument("--ww", type=float, default=400)
    p.add_argument("--remove", default="")
    p.add_argument("--tumor-id", type=int, default=None)
    p.add_argument("--times", action="store_true", help="print stage CPU times on stderr")
    a = p.parse_args()
    remove = [int(x) for x in a.remove.split(",") if x]
    wl = int(a.wl) if a.wl == int(a.wl) else a.wl
    ww = int(a.ww) if a.ww == int(a.ww) else a.ww
    times = {}
    r = preprocess(a.image, a.label, a.modality, wl, ww, remove, a.tumor_id, times)
    if r is None:
        print("no labelled slice", file=sys.stderr)
        return 0
    t = time.process_time()
    np.savez_compressed(a.out, imgs=r[0], gts=r[1], spacing=r[2])
    times["write"] = time.process_time() - t
    if a.times:
        print(" ".join(f"{k}={v:.3f}" for k, v in times.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
