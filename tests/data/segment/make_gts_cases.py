#!/usr/bin/python3
"""Inputs for medsam-segment --boxes-from-gts: preprocessed files with `gts`
and no `boxes`, as medsam-pre-ct and medsam-pre-grey-rgb write them.

Run from this folder with Debian's python3 (numpy):  /usr/bin/python3 make_gts_cases.py
Source: ../prect/expected/MR_Brain_kmeans.npz (an upstream pre_CT_MR.py output).
gts/3D_kmeans2.npz: imgs (2, 128, 128) + gts (2, 128, 128) + spacing, 2 slices;
    label 6 is kept on the first slice only (a box with z_min == z_max).
gts/2D_kmeansrgb.npz: imgs (128, 128, 3) + gts (128, 128), one slice as RGB,
    labels 2 and 4 removed (the boxes follow the labels present) and label 9
    touching the image corner (margins clamp there).
rank/3D_named2d.npz: the 2D case under a "3D" name (gts rank decides).
"""
import os

import numpy as np

src = np.load(os.path.join("..", "prect", "expected", "MR_Brain_kmeans.npz"))
imgs, gts = src["imgs"][30:32], src["gts"][30:32].copy()
gts[1][gts[1] == 6] = 0
os.makedirs("gts", exist_ok=True)
np.savez_compressed(os.path.join("gts", "3D_kmeans2.npz"), imgs=imgs, gts=gts,
                    spacing=src["spacing"])

g2 = src["gts"][30].copy()
g2[(g2 == 2) | (g2 == 4)] = 0
g2[0:3, 122:128] = 9
img2 = np.repeat(src["imgs"][30][:, :, None], 3, axis=2)
np.savez_compressed(os.path.join("gts", "2D_kmeansrgb.npz"), imgs=img2, gts=g2)
os.makedirs("rank", exist_ok=True)
np.savez_compressed(os.path.join("rank", "3D_named2d.npz"), imgs=img2, gts=g2)
