#!/usr/bin/python3
"""CLI bad-input corpus for tests/tools/bad_inputs.sh (run with /usr/bin/python3).

Writes, next to this script:
  good/   one small valid input per tool (NIfTI pair, PNG pair, npz cases)
  npz/    challenge npz files that are bad for the npz tools:
          imgs_<case>.npz  member `imgs` = a bad npy of ../npy_*.npy (gts, boxes fine)
          segs_<case>.npz  member `segs` = the same bad npy (for medsam-eval)
          and missing keys, wrong ranks, object dtype, a declared-size bomb,
          NaN / inverted / outside boxes, NaN spacing, shape mismatches
  nifti/  NIfTI inputs bad for medsam-pre-ct beyond ../nifti_*: label on another
          grid, empty file, npy named .nii.gz, huge dims in a gzip'd header
  img/    PNG inputs bad for medsam-pre-grey-rgb beyond ../png_*, ../jpeg_*:
          mask of another size, an npy named .png, an empty file
Deterministic (fixed seeds, zip dates 1980-01-01, gzip mtime 0).
"""
import gzip
import io
import os
import struct
import zipfile
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.dirname(HERE)
rng = np.random.default_rng(9)
for d in ("good", "npz", "nifti", "img"):
    os.makedirs(os.path.join(HERE, d), exist_ok=True)


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a, allow_pickle=False)
    return b.getvalue()


def npz(path, members, deflate=True):
    """members: name -> ndarray or raw npy bytes."""
    with zipfile.ZipFile(os.path.join(HERE, path), "w",
                         zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for name, v in members.items():
            zi = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = z.compression
            z.writestr(zi, v if isinstance(v, bytes) else npy_bytes(v))


CODES = {np.dtype(np.uint8): (2, 8), np.dtype(np.int16): (4, 16), np.dtype(np.float32): (16, 32)}


def nifti_bytes(a, dims=None, code=None, pixdim=(0.8, 0.8, 2.5)):
    d, h, w = a.shape
    c, bitpix = CODES[a.dtype]
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, *(dims or (3, w, h, d, 1, 1, 1, 1)))
    struct.pack_into("<hh", hdr, 70, code or c, bitpix)
    struct.pack_into("<8f", hdr, 76, 1.0, *pixdim, 0, 0, 0, 0)
    struct.pack_into("<f", hdr, 108, 352.0)
    struct.pack_into("<f", hdr, 112, 1.0)
    struct.pack_into("<4s", hdr, 344, b"n+1\0")
    return bytes(hdr) + b"\0" * 4 + a.astype(a.dtype.newbyteorder("<")).tobytes()


def write(path, data, gz=False):
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(gzip.compress(data, mtime=0) if gz else data)


# ---- good inputs ---------------------------------------------------------
H, W = 24, 20
img2 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
gts2 = np.zeros((H, W), np.uint8)
gts2[4:16, 5:15] = 1
box2 = np.array([[5, 4, 15, 16]], np.int64)
npz("good/2D_good.npz", {"imgs": img2, "gts": gts2, "boxes": box2})
npz("good/seg_2D_good.npz", {"segs": gts2})          # prediction for eval

vshape = (8, 16, 16)
vimg = rng.integers(-200, 400, size=vshape).astype(np.int16)
vlab = np.zeros(vshape, np.uint8)
vlab[2:6, 4:12, 4:12] = 1
write("good/ct_0000.nii.gz", nifti_bytes(vimg), gz=True)
write("good/ct.nii.gz", nifti_bytes(vlab), gz=True)

Image.fromarray(img2[:, :, 0]).save(os.path.join(HERE, "good/grey.png"), optimize=False)
Image.fromarray(gts2).save(os.path.join(HERE, "good/grey_mask.png"), optimize=False)

# ---- npz: each bad npy of the io corpus as `imgs` and as `segs` -----------
skip = {"npy_limit.npy"}   # only bad under a 1 MiB limit
for line in open(os.path.join(BAD, "npy_npz_cases.txt")):
    f = line.split()
    if not f or f[0].startswith("#") or not f[0].startswith("npy_") or f[0] in skip:
        continue
    raw = open(os.path.join(BAD, f[0]), "rb").read()
    stem = f[0][:-4]
    npz("npz/imgs_%s.npz" % stem, {"imgs": raw, "gts": gts2, "boxes": box2})
    npz("npz/segs_%s.npz" % stem, {"segs": raw})

# missing keys, ranks, dtypes
npz("npz/2D_no_imgs.npz", {"gts": gts2, "boxes": box2})
npz("npz/2D_no_gts.npz", {"imgs": img2, "boxes": box2})
npz("npz/2D_no_boxes.npz", {"imgs": img2, "gts": gts2})
npz("npz/no_segs.npz", {"seg": gts2})
npz("npz/2D_imgs_rank1.npz", {"imgs": img2.ravel(), "gts": gts2.ravel(), "boxes": box2})
npz("npz/2D_imgs_rank5.npz", {"imgs": img2.reshape(1, 1, H, W, 3), "gts": gts2, "boxes": box2})
npz("npz/2D_imgs_4ch.npz", {"imgs": np.zeros((H, W, 4), np.uint8), "gts": gts2, "boxes": box2})
npz("npz/2D_gts_shape.npz", {"imgs": img2, "gts": gts2[:, :-1], "boxes": box2})
npz("npz/3D_imgs_rank2.npz", {"imgs": img2[:, :, 0], "gts": gts2,
                              "boxes": np.array([[1, 1, 0, 5, 5, 1]])})
npz("npz/2D_imgs_object.npz", {"imgs": open(os.path.join(BAD, "npy_object.npy"), "rb").read(),
                               "gts": gts2, "boxes": box2})
npz("npz/2D_imgs_float64.npz", {"imgs": img2.astype(np.float64) + 0.5, "gts": gts2, "boxes": box2})
npz("npz/segs_shape.npz", {"segs": gts2[:-2]})
npz("npz/segs_rank3.npz", {"segs": gts2[None]})
npz("npz/segs_float_nan.npz", {"segs": np.full((H, W), np.nan)})
# boxes
for name, b in [("nan", [[np.nan, 4, 15, 16]]), ("inf", [[5, 4, np.inf, 16]]),
                ("inverted", [[15, 4, 5, 16]]), ("outside", [[5, 4, 15, 99]]),
                ("negative", [[-3, 4, 15, 16]]), ("shape", [[5, 4, 15]])]:
    npz("npz/2D_box_%s.npz" % name, {"imgs": img2, "gts": gts2, "boxes": np.array(b, np.float64)})
vol = rng.integers(0, 256, (4, H, W), dtype=np.uint8)
vgt = np.zeros((4, H, W), np.uint8)
vgt[1:3, 4:16, 5:15] = 1
for name, b in [("nan", [[5, 4, 0, 15, 16, np.nan]]), ("zinverted", [[5, 4, 3, 15, 16, 1]]),
                ("zoutside", [[5, 4, 0, 15, 16, 9]])]:
    npz("npz/3D_box_%s.npz" % name, {"imgs": vol, "gts": vgt, "spacing": np.array([1.0, 1, 1]),
                                      "boxes": np.array(b, np.float64)})
npz("npz/3D_spacing_nan.npz", {"imgs": vol, "gts": vgt, "spacing": np.array([1.0, np.nan, 1]),
                               "boxes": np.array([[5, 4, 0, 15, 16, 3]])})
# a bomb: 70 KB on disk, the npy header declares 8 GiB (over the 4 GiB budget),
# and the stream really inflates to 64 MiB of zeros
d = "{'descr': '|u1', 'fortran_order': False, 'shape': (65536, 65536, 2), }"
d = d + " " * (-(10 + len(d) + 1) % 64) + "\n"
head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()
assert len(head) % 64 == 0
npz("npz/2D_imgs_bomb.npz", {"imgs": head + bytes(64 << 20), "gts": gts2, "boxes": box2})
npz("npz/segs_bomb.npz", {"segs": head + bytes(64 << 20)})
write("npz/2D_empty.npz", b"")
write("npz/2D_nifti_named_npz.npz", nifti_bytes(vimg))

# ---- NIfTI beyond ../nifti_* ---------------------------------------------
write("nifti/other_grid.nii.gz", nifti_bytes(vlab[:, :, :15].copy()), gz=True)
write("nifti/empty.nii.gz", b"")
write("nifti/npy_named_nii.nii.gz", npy_bytes(vimg))
write("nifti/huge_dims.nii.gz", nifti_bytes(vimg, dims=(3, 32767, 32767, 32767, 1, 1, 1, 1)), gz=True)
write("nifti/negative_dim.nii.gz", nifti_bytes(vimg, dims=(3, 16, -16, 8, 1, 1, 1, 1)), gz=True)
write("nifti/float64_code.nii.gz", nifti_bytes(vimg, code=1536), gz=True)   # float128
full = gzip.compress(nifti_bytes(vimg), mtime=0)
write("nifti/truncated_gz.nii.gz", full[:len(full) // 2])

# ---- images beyond ../png_*, ../jpeg_* -----------------------------------
Image.fromarray(gts2[:-3]).save(os.path.join(HERE, "img/mask_other_size.png"), optimize=False)
write("img/npy_named_png.png", npy_bytes(img2))
write("img/empty.png", b"")

# ---- a real zip bomb for --max-memory: 64 MiB of zeros in ~65 KB ----------
npz("npz/bomb64m_segs.npz", {"segs": np.zeros((8192, 8192), np.uint8)})
