#!/usr/bin/python3
"""Reference outputs for tests/prep/test_resize.c.

Run with Debian's python3 (python3-opencv 4.6, numpy):
    /usr/bin/python3 tests/gen_resize_refs.py tests/data/resize

INTER_AREA: OpenCV's cv2.resize on uint8 images (1 and 3 channels) for
shrink (integer and non-integer factors), enlarge, mixed and identity sizes.
Bilinear: PyTorch F.interpolate(mode="bilinear", align_corners=False) on
float32, computed with numpy following PyTorch's CPU kernel in float32
(python3-torch is not packaged here).  Each case is one npz with `src` and `dst`.
"""
import os
import sys

import cv2
import numpy as np

AREA_CASES = [
    # (h, w, cn, newh, neww, kind)
    (257, 221, 3, 256, 220, "smooth"),   # the 2D_brainpd resize
    (257, 221, 1, 256, 220, "smooth"),
    (100, 77, 1, 37, 29, "random"),
    (100, 77, 3, 37, 29, "random"),
    (64, 48, 1, 32, 24, "random"),       # integer 2x: OpenCV's (sum+2)>>2
    (64, 48, 3, 32, 24, "random"),
    (60, 45, 1, 20, 15, "random"),       # integer 3x
    (60, 45, 3, 20, 15, "random"),
    (512, 300, 1, 256, 150, "smooth"),   # integer 2x at the real size
    (256, 128, 1, 64, 32, "random"),     # integer 4x
    (100, 172, 3, 50, 86, "random"),
    (50, 40, 1, 256, 205, "random"),     # enlarge
    (50, 40, 3, 256, 205, "random"),
    (13, 7, 1, 40, 22, "random"),
    (13, 7, 3, 40, 22, "random"),
    (128, 128, 1, 256, 256, "smooth"),   # 3D_kmeans slices
    (64, 64, 3, 256, 256, "random"),
    (30, 80, 1, 60, 40, "random"),       # mixed: enlarge y, shrink x
    (30, 80, 3, 60, 40, "random"),
    (40, 30, 1, 40, 30, "random"),       # identity
    (40, 30, 3, 40, 30, "random"),
    (128, 128, 1, 256, 256, "mask"),     # 3D propagation: a 0/k mask
    (300, 290, 1, 256, 247, "mask"),
    (97, 211, 1, 118, 256, "smooth"),
    (333, 129, 3, 256, 99, "smooth"),
]

BILINEAR_CASES = [
    # (h, w, newh, neww): logits crop -> original size
    (96, 82, 97, 83),    # slight enlargement, like 256x220 -> 257x221
    (64, 64, 32, 32),    # 256 -> 128 for small images
    (37, 29, 100, 77),
    (16, 16, 16, 16),
    (50, 86, 100, 171),
    (40, 50, 13, 71),
]


def make_input(rng, h, w, cn, kind):
    shape = (h, w) if cn == 1 else (h, w, cn)
    if kind == "random":
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    if kind == "mask":
        img = np.zeros((h, w), np.uint8)
        img[h // 3: h // 3 + 7, w // 4: w // 4 + 3] = 3
        img[h // 2, w // 2] = 3
        img[h - 2:, w - 5:] = 3
        return img
    yy, xx = np.mgrid[0:h, 0:w]
    base = (127.5 + 127.5 * np.sin(yy / 7.0) * np.cos(xx / 5.0)).astype(np.uint8)
    base[::7, ::5] = rng.integers(0, 256, size=base[::7, ::5].shape, dtype=np.uint8)
    return base if cn == 1 else np.stack([base, 255 - base, base // 2], axis=-1)


def torch_bilinear(x, oh, ow):
    """PyTorch CPU upsample_bilinear2d, align_corners=False, float32 order."""
    ih, iw = x.shape

    def indices(out_size, in_size):
        scale = np.float32(in_size) / np.float32(out_size)
        i = np.arange(out_size, dtype=np.float64)
        src = (np.float64(scale) * (i + 0.5) - 0.5).astype(np.float32)
        src = np.maximum(src, np.float32(0))
        i0 = src.astype(np.int64)
        i1 = i0 + (i0 < in_size - 1)
        l1 = np.clip(src - i0.astype(np.float32), np.float32(0), np.float32(1))
        l0 = np.float32(1) - l1
        return i0, i1, l0.astype(np.float32), l1.astype(np.float32)

    y0, y1, h0, h1 = indices(oh, ih)
    x0, x1, w0, w1 = indices(ow, iw)
    t0 = x[y0][:, x0] * w0[None, :] + x[y0][:, x1] * w1[None, :]
    t1 = x[y1][:, x0] * w0[None, :] + x[y1][:, x1] * w1[None, :]
    return (t0 * h0[:, None] + t1 * h1[:, None]).astype(np.float32)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/resize"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2024)
    for n, (h, w, cn, nh, nw, kind) in enumerate(AREA_CASES):
        img = make_input(rng, h, w, cn, kind)
        res = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        np.savez_compressed(os.path.join(out, "area%02d.npz" % n), src=img, dst=res)
    for n, (h, w, nh, nw) in enumerate(BILINEAR_CASES):
        x = (rng.standard_normal((h, w)) * 8).astype(np.float32)
        np.savez_compressed(os.path.join(out, "bilin%02d.npz" % n), src=x,
                            dst=torch_bilinear(x, nh, nw))


if __name__ == "__main__":
    main()
