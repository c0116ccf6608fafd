#!/usr/bin/python3
"""Small NIfTI inputs for tests/tools/test_pre_ct_cli.sh (good and bad cases).

Run with /usr/bin/python3; writes cli/*.nii.gz (a few KB in all).
"""
import gzip
import os
import struct
import numpy as np

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(3)
CODES = {np.dtype(np.uint8): (2, 8), np.dtype(np.int16): (4, 16), np.dtype(np.float32): (16, 32)}


def nifti(name, a, pixdim=(0.8, 0.8, 2.5), raw=False):
    d, h, w = a.shape
    code, bitpix = CODES[a.dtype]
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, w, h, d, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, code, bitpix)
    struct.pack_into("<8f", hdr, 76, 1.0, *pixdim, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)
    struct.pack_into("<f", hdr, 112, 1.0)
    struct.pack_into("<4s", hdr, 344, b"n+1\0")
    data = bytes(hdr) + b"\0" * 4 + a.astype(a.dtype.newbyteorder("<")).tobytes()
    with open(os.path.join(here, name), "wb") as f:
        f.write(data if raw else gzip.compress(data, mtime=0))


shape = (8, 16, 16)
img = rng.integers(-200, 400, size=shape).astype(np.int16)
lab = np.zeros(shape, np.uint8)
lab[2:6, 4:12, 4:12] = 1          # 256 voxels: survives both dust filters
lab[6, 0, 0] = 2                  # a speck the dust removes
nifti("small_0000.nii.gz", img)
nifti("small.nii.gz", lab)
nifti("small_f32.nii.gz", lab.astype(np.float32))   # float labels with integer values
nifti("empty.nii.gz", np.zeros(shape, np.uint8))
big = lab.astype(np.int16)
big[0, 0, 0] = 300
nifti("big_label.nii.gz", big)
frac = lab.astype(np.float32)
frac[1, 1, 1] = 1.5
nifti("frac_label.nii.gz", frac)
nifti("other_grid.nii.gz", lab[:, :, :15].copy())
nifti("constant_0000.nii.gz", np.full(shape, 7, np.int16))
full = gzip.decompress(open(os.path.join(here, "small_0000.nii.gz"), "rb").read())
with open(os.path.join(here, "truncated_0000.nii.gz"), "wb") as f:
    f.write(gzip.compress(full, mtime=0)[:600])
with open(os.path.join(here, "notnifti_0000.nii.gz"), "wb") as f:
    f.write(b"this is not a NIfTI file\n")

# uint8 image: pre-ct cleans the labels in their own buffer (no room to paint
# gts behind imgs); expected arrays computed as upstream does
img8 = ((img.astype(np.int32) + 200) // 3).astype(np.uint8)
nifti("small_u8_0000.nii.gz", img8)
keep = [z for z in range(shape[0]) if lab[z].any() and z != 6]   # slice 6: only the speck
pre = np.clip(img8, -160.0, 240.0)
norm = ((pre - pre.min()) / (pre.max() - pre.min()) * 255.0).astype(np.uint8)
gts = lab.copy()
gts[6, 0, 0] = 0
np.savez_compressed(os.path.join(here, "small_u8_expected.npz"), imgs=norm[keep], gts=gts[keep],
                    spacing=np.array([0.8, 0.8, 2.5], np.float32).astype(np.float64))
