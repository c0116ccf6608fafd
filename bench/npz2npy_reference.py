#!/usr/bin/python3
"""The computation of upstream npz_to_npy.py (LiteMedSAM branch) with one
worker, in numpy, for timing medsam-npz2npy against (bench/bench_npz2npy.sh).

usage: npz2npy_reference.py NPZ_DIR NPY_DIR

Per NAME.npz: np.load(mmap), per slice repeat to 3 channels, (x - min) /
clip(max - min, 1e-8) in float64, np.save of imgs/NAME-iii.npy and
gts/NAME-iii.npy (2D: NAME.npy) -- the same files, byte for byte.
"""
import os
import sys

import numpy as np


def convert(path, out):
    name = os.path.basename(path).split(".npz")[0]
    d = np.load(path, allow_pickle=True, mmap_mode="r")
    imgs, gts = d["imgs"], d["gts"]

    def norm(x):
        return (x - x.min()) / np.clip(x.max() - x.min(), a_min=1e-8, a_max=None)

    if gts.ndim > 2:
        for i in range(imgs.shape[0]):
            x = np.repeat(imgs[i][:, :, None], 3, axis=-1)
            stem = "%s-%s" % (name, str(i).zfill(3))
            np.save(os.path.join(out, "imgs", stem + ".npy"), norm(x))
            np.save(os.path.join(out, "gts", stem + ".npy"), np.uint8(gts[i]))
    else:
        x = imgs if imgs.ndim == 3 else np.repeat(imgs[:, :, None], 3, axis=-1)
        np.save(os.path.join(out, "imgs", name + ".npy"), norm(x))
        np.save(os.path.join(out, "gts", name + ".npy"), gts)


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "imgs"), exist_ok=True)
    os.makedirs(os.path.join(out, "gts"), exist_ok=True)
    for f in sorted(os.listdir(src)):
        if f.endswith(".npz"):
            convert(os.path.join(src, f), out)


if __name__ == "__main__":
    main()
