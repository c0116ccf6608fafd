#!/usr/bin/python3
"""Reference CT-window / percentile normalisations for tests/prep/test_window.c.

Run with Debian's /usr/bin/python3 (numpy 1.24).  The functions below are the
arithmetic of upstream pre_CT_MR.py, step 7 of SEMANTICS.md.  Writes
window/NAME_in.npy, window/NAME_out.npy and window/cases.txt:
    NAME MODE(CT|MR) WL WW
and scaled.nii (int16 with scl_slope/scl_inter: read back as float32).
"""
import os
import struct
import numpy as np

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "window")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(777)


def ct(img, wl, ww):
    lower, upper = wl - ww / 2, wl + ww / 2
    pre = np.clip(img, lower, upper)
    pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
    return pre


def mr(img):
    lower = np.percentile(img[img > 0], 0.5)
    upper = np.percentile(img[img > 0], 99.5)
    pre = np.clip(img, lower, upper)
    pre = (pre - np.min(pre)) / (np.max(pre) - np.min(pre)) * 255.0
    pre[img == 0] = 0
    return pre


shape = (6, 20, 24)
ctish = rng.normal(40, 300, size=shape)
ctish[:, :3, :] = -1024
cases = {
    "ct_i16": ("CT", 40, 400, ctish.astype(np.int16)),
    "ct_i16_bone": ("CT", 400, 1801, ctish.astype(np.int16)),
    "ct_u8": ("CT", 100, 50, rng.integers(0, 256, size=shape, dtype=np.uint8)),
    "ct_i32": ("CT", 40, 400, (ctish * 3).astype(np.int32)),
    "ct_f32": ("CT", 40, 401, (rng.normal(40, 300, size=(12, 20, 24))).astype(np.float32)),
    "ct_f64": ("CT", -600, 1500, ctish + rng.random(shape)),
    "mr_u8": ("MR", 0, 0, np.where(rng.random(shape) < 0.3, 0,
                                   rng.integers(0, 256, size=shape)).astype(np.uint8)),
    "mr_i16": ("MR", 0, 0, (rng.gamma(2.0, 150.0, size=shape) - 40).astype(np.int16)),
    "mr_u16_even": ("MR", 0, 0, rng.integers(0, 4000, size=(4, 10, 25)).astype(np.uint16)),
    "mr_f32": ("MR", 0, 0, np.where(rng.random((12, 20, 24)) < 0.2, 0,
                                    rng.gamma(2.0, 0.37, size=(12, 20, 24))).astype(np.float32)),
    "mr_f64": ("MR", 0, 0, rng.gamma(3.0, 1e3, size=shape) - 500.0),
}



def near_steps(lo, hi, count):
    """float32 values next to lo + (hi - lo) * k / 255 (+-3 ulp): where
    float32 and float64 arithmetic truncate to different uint8 values."""
    t = lo + (hi - lo) * np.arange(1, 255) / 255.0
    v = np.concatenate([np.nextafter(t.astype(np.float32), np.float32(s * np.inf))
                        if s else t.astype(np.float32) for s in (-1, 0, 1)])
    for _ in range(2):
        v = np.concatenate([v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf))])
    v = np.unique(v[(v > lo) & (v < hi)])
    return rng.permutation(v)[:count].astype(np.float32)


def plant(img, lo, hi, tlo, thi):
    """Replace voxels strictly inside (lo, hi) by values near the steps of
    the scaling over [tlo, thi], kept inside (lo, hi): the order statistics
    at the bounds do not move."""
    flat = img.reshape(-1)
    idx = np.flatnonzero((flat > lo) & (flat < hi))
    vals = near_steps(float(tlo), float(thi), idx.size * 3)
    vals = vals[(vals > lo) & (vals < hi)][:idx.size]
    flat[idx[:vals.size]] = vals


f32 = cases["ct_f32"][3]
plant(f32, np.float32(-160.5), np.float32(240.5), -160.5, 240.5)
m32 = cases["mr_f32"][3]
pos = np.sort(m32[m32 > 0])
k = int(np.floor((pos.size - 1) * 0.005)) + 1, int(np.floor((pos.size - 1) * 0.995)) - 1
plant(m32, pos[k[0]], pos[k[1]], np.float32(np.percentile(pos, 0.5)),
      np.float32(np.percentile(pos, 99.5)))

lines = []
for name, (mode, wl, ww, img) in cases.items():
    pre = ct(img, wl, ww) if mode == "CT" else mr(img)
    # numpy's promotion: integers in float64, float32 stays float32
    assert pre.dtype == (np.float32 if img.dtype == np.float32 else np.float64), name
    if img.dtype == np.float32:   # the case must tell float32 from float64 arithmetic
        p64 = ct(img.astype(np.float64), wl, ww) if mode == "CT" else mr(img.astype(np.float64))
        assert (np.uint8(p64) != np.uint8(pre)).sum() > 20, name
    np.save(os.path.join(here, name + "_in.npy"), img)
    np.save(os.path.join(here, name + "_out.npy"), np.uint8(pre))
    lines.append(f"{name} {mode} {wl} {ww}")
with open(os.path.join(here, "cases.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")


# A scaled NIfTI-1 (int16, scl_slope 0.5, scl_inter -10): values are exact in
# float32, so the reader's float32 volume is (data * 0.5 - 10) exactly.
def nifti1(path, data, slope, inter, pixdim=(1.0, 1.0, 1.0)):
    d, h, w = data.shape
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, w, h, d, 1, 1, 1, 1)
    struct.pack_into("<hh", hdr, 70, 4, 16)             # datatype int16, bitpix
    struct.pack_into("<8f", hdr, 76, 1.0, *pixdim, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)             # vox_offset
    struct.pack_into("<ff", hdr, 112, slope, inter)
    struct.pack_into("<4s", hdr, 344, b"n+1\0")
    with open(path, "wb") as f:
        f.write(hdr + b"\0\0\0\0" + data.astype("<i2").tobytes())


raw = (rng.gamma(2.0, 200.0, size=(5, 12, 16)) - 100).astype(np.int16)
nifti1(os.path.join(here, "scaled.nii"), raw, 0.5, -10.0)
vol = raw.astype(np.float32) * np.float32(0.5) + np.float32(-10.0)
assert vol.dtype == np.float32
np.save(os.path.join(here, "scaled_ct_out.npy"), np.uint8(ct(vol, 40, 400)))
np.save(os.path.join(here, "scaled_mr_out.npy"), np.uint8(mr(vol)))
print(len(lines), "cases + scaled.nii")
