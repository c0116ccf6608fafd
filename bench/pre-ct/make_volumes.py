#!/usr/bin/python3
"""Benchmark volumes for medsam-pre-ct, made from real data (never committed):

  ct/images/ct512_0000.nii.gz + ct/labels/ct512.nii.gz
      512x512x300 int16 CT: imageio's stent CT (Debian python3-imageio,
      stent.npz, 128x128x256, BSD-2) resampled trilinearly; labels by the
      thresholds of the test fixture (1: > 1000, 2: 300-500, 3: 150-160 speckle)
  mr/images/mr181_0000.nii.gz + mr/labels/mr181.nii.gz
      181x217x181 uint8 T1 MR: data-samples' kmeans MR (ITK example data)
      resampled trilinearly, its k-means labels by nearest neighbour

usage: make_volumes.py STENT_NPZ OUT_DIR
Written with gzip level 6 (zlib's default, what most NIfTI writers use).
"""
import gzip
import os
import struct
import sys

import numpy as np
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "..", "..", "data-samples", "MR")
CODES = {np.dtype(np.uint8): (2, 8), np.dtype(np.int16): (4, 16)}


def read_nifti1(path):
    raw = gzip.open(path).read()
    dim = struct.unpack("<8h", raw[40:56])
    code = struct.unpack("<h", raw[70:72])[0]
    off = int(struct.unpack("<f", raw[108:112])[0])
    pixdim = struct.unpack("<8f", raw[76:108])
    dt = {2: np.uint8, 4: np.int16}[code]
    n = dim[1] * dim[2] * dim[3]
    return np.frombuffer(raw, dt, n, off).reshape(dim[3], dim[2], dim[1]), pixdim[1:4]


def write_nifti1(path, a, spacing):
    d, h, w = a.shape
    code, bitpix = CODES[a.dtype]
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, w, h, d, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, code, bitpix)
    struct.pack_into("<8f", hdr, 76, 1.0, *spacing, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)
    struct.pack_into("<f", hdr, 112, 1.0)
    struct.pack_into("<4s", hdr, 344, b"n+1\0")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(bytes(hdr) + b"\0" * 4)
        f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())


def resample(vol, shape, order):
    zoom = [s / v for s, v in zip(shape, vol.shape)]
    out = ndimage.zoom(vol.astype(np.float32), zoom, order=order, output=np.float32)
    assert out.shape == tuple(shape), out.shape
    return out


def main():
    stent, out = sys.argv[1], sys.argv[2]
    ct = np.load(stent)["arr_0"]                      # (256, 128, 128) int16, z y x
    shape = (300, 512, 512)
    big = np.rint(resample(ct, shape, 1)).astype(np.int16)
    spacing = (0.7 * 128 / 512, 0.7 * 128 / 512, 1.25 * 256 / 300)
    lab = np.zeros(shape, np.uint8)
    lab[big > 1000] = 1
    lab[(big >= 300) & (big <= 500)] = 2
    lab[(big >= 150) & (big <= 160)] = 3
    write_nifti1(os.path.join(out, "ct", "images", "ct512_0000.nii.gz"), big, spacing)
    write_nifti1(os.path.join(out, "ct", "labels", "ct512.nii.gz"), lab, spacing)
    del big, lab

    mr, _ = read_nifti1(os.path.join(SAMPLES, "images", "kmeans_0000.nii.gz"))
    ml, _ = read_nifti1(os.path.join(SAMPLES, "labels", "kmeans.nii.gz"))
    shape = (181, 217, 181)
    img = np.clip(np.rint(resample(mr, shape, 1)), 0, 255).astype(np.uint8)
    lab = resample(ml, shape, 0).astype(np.uint8)
    spacing = (2.0 * 128 / 181, 2.0 * 128 / 217, 3.0 * 62 / 181)
    write_nifti1(os.path.join(out, "mr", "images", "mr181_0000.nii.gz"), img, spacing)
    write_nifti1(os.path.join(out, "mr", "labels", "mr181.nii.gz"), lab, spacing)


if __name__ == "__main__":
    main()
