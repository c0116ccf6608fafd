#!/usr/bin/python3
"""Test data for medsam-pre-grey-rgb and medsam-npz2npy (2D): real images,
and the arrays the tools must produce, derived here with numpy + PIL (+ scipy
for the 8-connected instances), independently of the C code.

usage: /usr/bin/python3 tests/gen_grey_refs.py [UNPACKED_DEBS_DIR]

Sources (see tests/data/grey/README.md): tests/data/img/ (ITK example slices,
skimage's retina.jpg, the stent CT and its threshold labels); with
UNPACKED_DEBS_DIR (dpkg -x of insighttoolkit5-examples) BrainT1Slice.png is
taken from there, else the committed copy is reused.  Deterministic.

Writes tests/data/grey/: inputs (*.png, *.jpg), cases.txt (one case a line:
NAME IMAGE MASK [OPTIONS...]) and exp_NAME.npz (imgs, gts) for every case.
"""
import gzip
import os
import shutil
import struct
import sys

import numpy as np
from PIL import Image
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
IMG = os.path.join(HERE, "data", "img")
OUT = os.path.join(HERE, "data", "grey")
ITK = "usr/share/doc/insighttoolkit5-examples/examples/Data/"


def read_nifti(path):
    """(z, y, x) array of a little-endian NIfTI-1 .nii.gz (int16/uint8 only)."""
    b = gzip.open(path).read()
    dim = struct.unpack("<8h", b[40:56])
    dt = struct.unpack("<h", b[70:72])[0]
    off = int(struct.unpack("<f", b[108:112])[0])
    dtype = {2: np.uint8, 4: np.int16, 512: np.uint16, 16: np.float32}[dt]
    n = dim[1] * dim[2] * dim[3]
    a = np.frombuffer(b, dtype=dtype, count=n, offset=off)
    return a.reshape(dim[3], dim[2], dim[1])


def as_rgb(img):
    """What the tool's image path must give: upstream's steps 2-3."""
    a = np.asarray(img)
    if a.max() > 255:
        a = np.uint8((a - a.min()) / (np.max(a) - np.min(a)) * 255.0)
    a = a.astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, -1)
    return a[:, :, :3]


def cutoff(a):
    lo, hi = np.percentile(a[a > 0], 0.5), np.percentile(a[a > 0], 99.5)
    p = np.clip(a, lo, hi)
    p = (p - np.min(p)) / (np.max(p) - np.min(p)) * 255.0
    p[a == 0] = 0
    return np.uint8(p)


def mask_labels(m, remove=(), tumor=None, offset=0, binarize=False):
    g = np.uint8(m).copy()
    for r in remove:
        g[g == r] = 0
    if binarize:
        g = np.uint8(g != 0)
    if tumor is not None:
        bw = g == tumor
        g[bw] = 0
        inst, n = ndimage.label(bw, structure=np.ones((3, 3)))
        assert n + offset + 1 <= 255
        g[inst > 0] = inst[inst > 0] + offset + 1
    return g


def save(name, imgs, gts):
    np.savez_compressed(os.path.join(OUT, "exp_" + name + ".npz"), imgs=imgs, gts=gts)


def main():
    debs = sys.argv[1] if len(sys.argv) > 1 else None
    os.makedirs(OUT, exist_ok=True)
    cases = []

    # 1. grey-palette PNG (ITK) + its 1-bit mask
    shutil.copy(os.path.join(IMG, "BrainProtonDensitySliceBorder20.png"), os.path.join(OUT, "brainpd.png"))
    shutil.copy(os.path.join(IMG, "BrainProtonDensitySliceBorder20Mask.png"), os.path.join(OUT, "brainpd_mask.png"))
    pd = np.array(Image.open(os.path.join(OUT, "brainpd.png")).convert("RGB"))
    pdm = np.array(Image.open(os.path.join(OUT, "brainpd_mask.png")), dtype=np.uint8)
    save("brainpd", as_rgb(pd), mask_labels(pdm))
    save("brainpd_cut", cutoff(as_rgb(pd)), mask_labels(pdm))
    cases += ["brainpd brainpd.png brainpd_mask.png", "brainpd_cut brainpd.png brainpd_mask.png --intensity-cutoff"]

    # 1b. plain 8-bit grey PNG (ITK BrainMidSagittalSlice) + a 1-bit mask (bright tissue)
    sgsrc = os.path.join(debs, ITK, "BrainMidSagittalSlice.png") if debs else os.path.join(OUT, "sagittal.png")
    if os.path.abspath(sgsrc) != os.path.join(OUT, "sagittal.png"):
        shutil.copy(sgsrc, os.path.join(OUT, "sagittal.png"))
    sg = np.array(Image.open(os.path.join(OUT, "sagittal.png")))
    assert sg.dtype == np.uint8 and sg.ndim == 2
    Image.fromarray(sg > 120).save(os.path.join(OUT, "sagittal_mask.png"))   # mode "1"
    sgm = np.array(Image.open(os.path.join(OUT, "sagittal_mask.png")), dtype=np.uint8)
    assert set(np.unique(sgm)) <= {0, 1}
    save("sagittal", as_rgb(sg), mask_labels(sgm))
    save("sagittal_cut", cutoff(as_rgb(sg)), mask_labels(sgm, tumor=1, offset=10))
    cases += ["sagittal sagittal.png sagittal_mask.png",
              "sagittal_cut sagittal.png sagittal_mask.png --intensity-cutoff --tumor-id 1 --label-offset 10"]

    # 2. RGB PNG (ITK BrainT1Slice) + a 0/255 mask (bright tissue), RGBA variant
    t1src = os.path.join(debs, ITK, "BrainT1Slice.png") if debs else os.path.join(OUT, "t1rgb.png")
    if os.path.abspath(t1src) != os.path.join(OUT, "t1rgb.png"):
        shutil.copy(t1src, os.path.join(OUT, "t1rgb.png"))
    t1 = np.array(Image.open(os.path.join(OUT, "t1rgb.png")).convert("RGB"))
    t1m = np.uint8(t1.astype(int).sum(-1) > 300) * 255
    Image.fromarray(t1m, "L").save(os.path.join(OUT, "t1rgb_mask.png"))
    h, w = t1m.shape
    alpha = np.uint8((np.arange(w)[None, :] * 255 // (w - 1)).repeat(h, 0))
    Image.fromarray(np.dstack([t1, alpha]), "RGBA").save(os.path.join(OUT, "t1rgba.png"))
    save("t1rgb", t1, mask_labels(t1m))
    save("t1rgb_bin", t1, mask_labels(t1m, binarize=True))
    save("t1rgba", t1, mask_labels(t1m))
    cases += ["t1rgb t1rgb.png t1rgb_mask.png", "t1rgb_bin t1rgb.png t1rgb_mask.png --binarize",
              "t1rgba t1rgba.png t1rgb_mask.png"]

    # 3. JPEG: a crop of skimage's retina.jpg (fundus) re-encoded by PIL, and
    #    a palette mask (indices 0 background, 1 fundus, 2 dark vessels, 3 rim)
    ret = Image.open(os.path.join(IMG, "retina.jpg")).crop((500, 400, 780, 660))
    ret.save(os.path.join(OUT, "retina.jpg"), quality=90)
    rj = np.array(Image.open(os.path.join(OUT, "retina.jpg")))
    g = rj[:, :, 1].astype(int)
    lab = np.zeros(g.shape, np.uint8)
    lab[g > 20] = 1
    lab[(g > 20) & (g < 80)] = 2
    lab[:4, :] = 3
    pm = Image.fromarray(lab, "P")
    pm.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 - 4) * 3)
    pm.save(os.path.join(OUT, "retina_mask.png"))
    assert np.array_equal(np.array(Image.open(os.path.join(OUT, "retina_mask.png"))), lab)
    save("retina", rj, mask_labels(lab))
    save("retina_inst", rj, mask_labels(lab, remove=(3,), tumor=2, offset=3))
    cases += ["retina retina.jpg retina_mask.png",
              "retina_inst retina.jpg retina_mask.png --remove-labels 3 --tumor-id 2 --label-offset 3"]

    # 4. 16-bit grey PNG from a real CT slice (stent, HU + 1024) + its labels
    ct = read_nifti(os.path.join(IMG, "stent_half_0000.nii.gz"))[60]
    ctl = read_nifti(os.path.join(IMG, "lab_stent_half.nii.gz"))[60]
    ct16 = (ct.astype(np.int32) + 1024).clip(0, 65535).astype(np.uint16)
    Image.fromarray(ct16).save(os.path.join(OUT, "ct16.png"))
    assert np.array_equal(np.array(Image.open(os.path.join(OUT, "ct16.png"))), ct16)
    Image.fromarray(np.uint8(ctl), "L").save(os.path.join(OUT, "ct16_mask.png"))
    save("ct16", as_rgb(ct16), mask_labels(ctl))
    save("ct16_cut", cutoff(as_rgb(ct16)), mask_labels(ctl, tumor=1))
    cases += ["ct16 ct16.png ct16_mask.png", "ct16_cut ct16.png ct16_mask.png --intensity-cutoff --tumor-id 1"]

    # 5. palette colour image: the retina crop quantised to 64 colours
    Image.fromarray(rj).quantize(64).save(os.path.join(OUT, "retina_pal.png"))
    rp = np.array(Image.open(os.path.join(OUT, "retina_pal.png")).convert("RGB"))
    save("retina_pal", rp, mask_labels(lab))
    cases += ["retina_pal retina_pal.png retina_mask.png"]

    # bad inputs (the test expects an error and no output for each)
    Image.fromarray(np.dstack([lab * 40, lab * 20, lab * 40]), "RGB").save(os.path.join(OUT, "bad_colour_mask.png"))
    Image.fromarray(np.full((8, 8), 300, np.uint16)).save(os.path.join(OUT, "bad_mask300.png"))
    with open(os.path.join(OUT, "brainpd.png"), "rb") as f:
        data = f.read()
    with open(os.path.join(OUT, "bad_truncated.png"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(OUT, "bad_text.png"), "w") as f:
        f.write("not an image\n")
    many = np.zeros((40, 40), np.uint8)
    many[::2, ::2] = 1   # 400 isolated pixels: 400 instances > 255
    Image.fromarray(many, "L").save(os.path.join(OUT, "bad_many.png"))
    Image.fromarray(np.zeros((40, 40), np.uint8), "L").save(os.path.join(OUT, "grey40.png"))

    # constant 16-bit image: upstream divides 0 by 0; the tool writes zeros and warns
    Image.fromarray(np.full((40, 40), 1000, np.uint16)).save(os.path.join(OUT, "const16.png"))
    save("const16", np.zeros((40, 40, 3), np.uint8), np.zeros((40, 40), np.uint8))

    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")

    # a 2D challenge npz for medsam-npz2npy (2D path)
    np.savez_compressed(os.path.join(HERE, "data", "npz2npy", "2D_t1rgb.npz"), imgs=t1, gts=mask_labels(t1m, binarize=True))


if __name__ == "__main__":
    main()
