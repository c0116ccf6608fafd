#!/usr/bin/python3
"""Small challenge-style npz files for the medsam-segment tests.

Run from this folder with Debian's python3 (numpy):  /usr/bin/python3 make_cases.py
bad/*.npz: one defect each (the CLI test expects an error naming the file);
grey_ok/2D_grey.npz: a valid (H, W) grey 2D case with float32 boxes.
"""
import os

import numpy as np

rng = np.random.default_rng(7)
img2 = rng.integers(0, 256, size=(40, 30, 3), dtype=np.uint8)
img3 = rng.integers(0, 256, size=(4, 20, 24), dtype=np.uint8)
ok2 = np.array([[2, 3, 20, 30]], np.int64)
ok3 = np.array([[2, 3, 0, 20, 15, 3]], np.int64)

bad = {
    "2D_nan.npz": dict(imgs=img2, boxes=np.array([[2, 3, np.nan, 30]], np.float64)),
    "2D_inf.npz": dict(imgs=img2, boxes=np.array([[2, 3, np.inf, 30]], np.float32)),
    "2D_inverted.npz": dict(imgs=img2, boxes=np.array([[2, 3, 20, 30], [25, 3, 20, 30]])),
    "2D_outside.npz": dict(imgs=img2, boxes=np.array([[2, 3, 31, 30]], np.int32)),
    "2D_negative.npz": dict(imgs=img2, boxes=np.array([[-1, 3, 20, 30]], np.int16)),
    "2D_boxshape.npz": dict(imgs=img2, boxes=np.array([[2, 3, 0, 20, 30]])),
    "2D_box3d.npz": dict(imgs=img2, boxes=ok3),
    "2D_rank.npz": dict(imgs=img3, boxes=ok2),
    "2D_float.npz": dict(imgs=img2.astype(np.float64), boxes=ok2),
    "2D_noboxes.npz": dict(imgs=img2),
    "3D_rank.npz": dict(imgs=img2[:, :, 0], boxes=ok3),
    "3D_zorder.npz": dict(imgs=img3, boxes=np.array([[2, 3, 2, 20, 15, 2]])),
    "3D_zoutside.npz": dict(imgs=img3, boxes=np.array([[2, 3, 1, 20, 15, 9]])),
    "3D_box2d.npz": dict(imgs=img3, boxes=ok2),
}
os.makedirs("bad", exist_ok=True)
for name, arrays in bad.items():
    np.savez_compressed(os.path.join("bad", name), **arrays)
# a zip cut short: not a readable npz
with open(os.path.join("bad", "2D_nan.npz"), "rb") as f:
    data = f.read()
with open(os.path.join("bad", "2D_truncated.npz"), "wb") as f:
    f.write(data[: len(data) // 2])

os.makedirs("grey_ok", exist_ok=True)
yy, xx = np.mgrid[0:48, 0:64]
grey = (128 + 100 * np.sin(yy / 6.0) * np.cos(xx / 9.0)).astype(np.uint8)
np.savez_compressed(os.path.join("grey_ok", "2D_grey.npz"), imgs=grey,
                    boxes=np.array([[5.5, 4.2, 40.9, 30.0], [10, 10, 60, 47]], np.float32))

# a small valid 3D case (3 slices of 3D_kmeans) for the embedding-cache test:
# box 0 visits slices 1, 2, 0 and box 1 slices 1, 2: 3 slices to encode,
# where upstream (and a one-embedding cache) encodes 3 + 2 times
if os.path.exists("3D_kmeans.npz"):
    k = np.load("3D_kmeans.npz")
    os.makedirs("small3d", exist_ok=True)
    np.savez_compressed(os.path.join("small3d", "3D_small.npz"), imgs=k["imgs"][5:8],
                        boxes=np.array([[30, 30, 0, 90, 90, 2], [40, 20, 1, 100, 80, 2]]),
                        spacing=k["spacing"])

# more than 255 boxes: segs must become uint16 (upstream wraps label 256 to 0)
os.makedirs("many", exist_ok=True)
yy, xx = np.mgrid[0:32, 0:32]
img = (128 + 120 * np.sin(yy / 3.0) * np.cos(xx / 4.0)).astype(np.uint8)
x0 = rng.integers(0, 24, size=300)
y0 = rng.integers(0, 24, size=300)
boxes = np.stack([x0, y0, x0 + rng.integers(2, 8, size=300), y0 + rng.integers(2, 8, size=300)], 1)
np.savez_compressed(os.path.join("many", "2D_many.npz"), imgs=img, boxes=boxes)
