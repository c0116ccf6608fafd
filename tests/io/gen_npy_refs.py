#!/usr/bin/python3
"""Generate the npy/npz reference files of the io tests with numpy (run once,
outputs committed).  Run from the repository root:

    /usr/bin/python3 tests/io/gen_npy_refs.py

Writes tests/data/io/refs/ (every dtype x byte order x memory order x format
version, written by numpy), tests/data/io/save/ (np.save outputs our writer
must reproduce byte for byte), tests/data/io/npz_sums.txt (checksums of the
upstream npz fixtures) and the npy/npz part of tests/data/bad/.

Values follow value(dtype, i) below; test_npy_refs.c computes the same
formula independently in C.
"""
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
DTYPES = ["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"]


def values(code, n):
    i = np.arange(n, dtype=np.int64)
    if code == "b1":
        return i % 3 == 0
    if code == "i1":
        return (i * 5 - 60).astype(np.int8)
    if code == "u1":
        return (i * 10).astype(np.uint8)
    if code == "i2":
        return (i * 1000 - 12000).astype(np.int16)
    if code == "u2":
        return (i * 2000 + 1).astype(np.uint16)
    if code == "i4":
        return (i * 100000007 - 1200000000).astype(np.int32)
    if code == "u4":
        return (i.astype(np.uint64) * 150000000 + 7).astype(np.uint32)
    if code == "i8":
        return (i - 12) * 1000000000007
    if code == "u8":
        return i.astype(np.uint64) * np.uint64(700000000000000007)
    if code == "f4":
        return ((i - 12) / np.float32(4)).astype(np.float32)
    if code == "f8":
        return (i - 12).astype(np.float64) / 3.0
    raise ValueError(code)


def save_bytes(arr, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, arr)
    else:
        npf.write_array(b, arr, version=version)
    return b.getvalue()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gen_refs():
    """refs/<dtype>_<order>_<C|F>_v<major>.npy, shape (2, 3, 4), same values."""
    out = os.path.join(ROOT, "io", "refs")
    for code in DTYPES:
        base = values(code, 24).reshape(2, 3, 4)
        orders = ["|"] if code in ("b1", "i1", "u1") else ["<", ">"]
        for bo in orders:
            a = base.astype(np.dtype(code).newbyteorder(bo)) if bo != "|" else base
            for mem in ("C", "F"):
                arr = np.asfortranarray(a) if mem == "F" else np.ascontiguousarray(a)
                for ver in (1, 2, 3):
                    name = "%s_%s_%s_v%d.npy" % (code, "be" if bo == ">" else "le", mem, ver)
                    write(os.path.join(out, name), save_bytes(arr, (ver, 0)))
    # Small shapes: 0-d, 1-d, empty, in Fortran order too.
    write(os.path.join(out, "f8_scalar.npy"), save_bytes(np.array(values("f8", 1)[0])))
    write(os.path.join(out, "i2_be_1d.npy"), save_bytes(values("i2", 5).astype(">i2")))
    write(os.path.join(out, "u2_F_empty.npy"),
          save_bytes(np.asfortranarray(np.zeros((3, 0, 2), np.uint16))))
    write(os.path.join(out, "f4_F_4d.npy"),
          save_bytes(np.asfortranarray(values("f4", 120).reshape(2, 3, 4, 5))))


SAVE_CASES = [
    # name, dtype, shape  (values: value(dtype, i) in C order)
    ("f8_scalar", "f8", ()),
    ("u1_1d", "u1", (5,)),
    ("i2_3d", "i2", (2, 3, 4)),
    ("f4_empty", "f4", (0, 3)),
    ("b1_2d", "b1", (4, 4)),
    ("i8_empty_mid", "i8", (3, 0, 2)),
    ("f8_hw3", "f8", (8, 5, 3)),
    ("u1_long", "u1", (1000,)),
    ("u8_big_dim", "u8", (12345678901, 0)),
    ("u4_8d", "u4", (1, 2, 1, 2, 1, 2, 1, 2)),
    ("i4_row", "i4", (1, 7)),
]


def gen_save():
    out = os.path.join(ROOT, "io", "save")
    lines = []
    for name, code, shape in SAVE_CASES:
        n = int(np.prod(shape, dtype=np.int64))
        arr = values(code, n).reshape(shape)
        write(os.path.join(out, name + ".npy"), save_bytes(arr))
        lines.append("%s %s %s" % (name, code, ",".join(str(d) for d in shape) or "-"))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("# name dtype shape(comma-separated, '-' = 0-d); values value(dtype, i)\n")
        f.write("\n".join(lines) + "\n")


def gen_npz_sums():
    d = os.path.join(ROOT, "io")
    lines = ["# file member dtype shape sum crc32(C-order bytes), by numpy %s" % np.__version__]
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".npz") or fn.startswith("numpy_"):
            continue
        with np.load(os.path.join(d, fn)) as z:
            for k in z.files:
                a = z[k]
                s = repr(float(a.sum())) if a.dtype.kind == "f" else str(int(a.sum()))
                lines.append("%s %s %s %s %s %08x" % (
                    fn, k, a.dtype.str[1:], ",".join(map(str, a.shape)) or "-", s,
                    zlib.crc32(np.ascontiguousarray(a).tobytes()) & 0xffffffff))
    with open(os.path.join(d, "npz_sums.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def gen_numpy_npz():
    """npz written by numpy itself: savez (stored) and savez_compressed."""
    d = os.path.join(ROOT, "io")
    a = values("i2", 24).reshape(2, 3, 4)
    b = np.asfortranarray(values("f8", 6).reshape(2, 3))
    c = values("b1", 7)
    np.savez(os.path.join(d, "numpy_stored.npz"), a=a, b=b, c=c)
    np.savez_compressed(os.path.join(d, "numpy_deflated.npz"), a=a, b=b, c=c)


def npy_raw(header_dict, data=b"", version=1, pad=True):
    h = header_dict.encode("latin1")
    pre = 10 if version == 1 else 12
    if pad:
        tot = pre + len(h) + 1
        h = h + b" " * ((64 - tot % 64) % 64) + b"\n"
    if version == 1:
        ln = struct.pack("<H", len(h))
    else:
        ln = struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + h + data


def zip_with(members, compress=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compression=compress) as z:
        for name, data in members:
            # fixed date: reruns of this script give identical files
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compress
            z.writestr(info, data)
    return b.getvalue()


def gen_bad():
    d = os.path.join(ROOT, "bad")
    cases = []

    def bad(name, data, code, limit=0):
        write(os.path.join(d, name), data)
        cases.append((name, code, limit))

    good = save_bytes(values("i4", 12).reshape(3, 4))
    hd = "{'descr': '<u1', 'fortran_order': False, 'shape': %s, }"
    bad("npy_empty.npy", b"", "MS_EFORMAT")
    bad("npy_bad_magic.npy", b"\x93NUMPX" + good[6:], "MS_EFORMAT")
    bad("npy_text.npy", b"hello, this is not an npy file\n", "MS_EFORMAT")
    bad("npy_bad_version.npy", good[:6] + b"\x04\x00" + good[8:], "MS_EUNSUPP")
    bad("npy_truncated_magic.npy", good[:7], "MS_ETRUNC")
    bad("npy_truncated_header.npy", good[:40], "MS_ETRUNC")
    bad("npy_truncated_data.npy", good[:-5], "MS_ETRUNC")
    bad("npy_no_data.npy", good[:128], "MS_ETRUNC")
    bad("npy_huge_shape.npy", npy_raw(hd % "(100000, 100000, 100000)"), "MS_ELIMIT")
    bad("npy_overflow_shape.npy",
        npy_raw(hd % "(4294967296, 4294967296, 4294967296, 4294967296)"), "MS_ELIMIT")
    bad("npy_dim_too_big.npy", npy_raw(hd % "(99999999999999999999999,)"), "MS_ELIMIT")
    bad("npy_limit.npy", npy_raw(hd % "(2048, 1024)"), "MS_ELIMIT", 1 << 20)
    bad("npy_negative_dim.npy", npy_raw(hd % "(3, -1)"), "MS_EFORMAT")
    bad("npy_shape_list.npy", npy_raw(hd % "[3, 4]", bytes(12)), "MS_EFORMAT")
    bad("npy_shape_int.npy", npy_raw(hd % "(5)", bytes(5)), "MS_EFORMAT")
    bad("npy_shape_float.npy", npy_raw(hd % "(5.0,)", bytes(5)), "MS_EFORMAT")
    bad("npy_shape_leading_zero.npy", npy_raw(hd % "(05,)", bytes(5)), "MS_EFORMAT")
    bad("npy_too_many_dims.npy", npy_raw(hd % "(1, 1, 1, 1, 1, 1, 1, 1, 1)", b"\0"), "MS_EUNSUPP")
    bad("npy_bad_dict.npy", npy_raw("{'descr': '<u1', 'fortran_order': False, 'shape': (2,), ",
                                    b"\0\0"), "MS_EFORMAT")
    bad("npy_not_dict.npy", npy_raw("['<u1', False, (2,)]", b"\0\0"), "MS_EFORMAT")
    bad("npy_extra_key.npy", npy_raw(
        "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), 'x': 1, }", b"\0\0"), "MS_EFORMAT")
    bad("npy_missing_key.npy", npy_raw("{'descr': '<u1', 'shape': (2,), }", b"\0\0"), "MS_EFORMAT")
    bad("npy_dup_key.npy", npy_raw(
        "{'descr': '<u1', 'descr': '<u1', 'fortran_order': False, 'shape': (2,), }", b"\0\0"),
        "MS_EFORMAT")
    bad("npy_fortran_str.npy", npy_raw(
        "{'descr': '<u1', 'fortran_order': 'no', 'shape': (2,), }", b"\0\0"), "MS_EFORMAT")
    bad("npy_trailing.npy", npy_raw(
        "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), } x", b"\0\0"), "MS_EFORMAT")
    bad("npy_header_nul.npy", npy_raw(
        "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }\0", b"\0\0"), "MS_EFORMAT")
    bad("npy_header_len_huge.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'", "MS_ELIMIT")
    bad("npy_object.npy", save_bytes(np.array([1, "a", None], dtype=object)), "MS_EUNSUPP")
    bad("npy_complex.npy", save_bytes(np.zeros(3, np.complex64)), "MS_EUNSUPP")
    bad("npy_string.npy", save_bytes(np.array(["ab", "cd"])), "MS_EUNSUPP")
    bad("npy_structured.npy", save_bytes(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])),
        "MS_EUNSUPP")
    bad("npy_float16.npy", save_bytes(np.zeros(2, np.float16)), "MS_EUNSUPP")
    bad("npy_descr_garbage.npy", npy_raw(
        "{'descr': '\x01\x02', 'fortran_order': False, 'shape': (2,), }", b"\0\0"), "MS_EFORMAT")

    member = save_bytes(values("u1", 100))
    bad("npz_not_zip.npz", b"PK\x03\x04 this is not really a zip file at all" * 4, "MS_EFORMAT")
    bad("npz_npy_file.npz", member, "MS_EFORMAT")
    bad("npz_empty.npz", b"", "MS_EFORMAT")
    full = zip_with([("a.npy", member)])
    bad("npz_truncated.npz", full[: len(full) // 2], "MS_EFORMAT")
    bad("npz_missing.npz", zip_with([("b.npy", member)]), "MS_ENOTFOUND")
    # A member whose npy header promises more data than the member holds.
    short = npy_raw(hd % "(200,)", bytes(100))
    bad("npz_size_mismatch.npz", zip_with([("a.npy", short)]), "MS_EFORMAT")
    long_ = npy_raw(hd % "(50,)", bytes(100))
    bad("npz_size_mismatch_long.npz", zip_with([("a.npy", long_)], zipfile.ZIP_STORED), "MS_EFORMAT")
    bad("npz_member_bad_magic.npz", zip_with([("a.npy", b"\x93NUMPX" + member[6:])]), "MS_EFORMAT")
    bad("npz_member_object.npz",
        zip_with([("a.npy", save_bytes(np.array([None], dtype=object)))]), "MS_EUNSUPP")
    # Zip bomb: 64 MiB of zeros deflate to ~64 KiB; read with a 1 MiB limit.
    big = npy_raw(hd % "(8192, 8192)", bytes(8192 * 8192))
    bad("npz_bomb.npz", zip_with([("a.npy", big)]), "MS_ELIMIT", 1 << 20)
    # Lying bomb: the npy header and the zip directory both say 228 bytes,
    # the deflate stream inflates to 64 MiB.  Patch the sizes in the zip.
    liar = bytearray(zip_with([("a.npy", big)]))
    small = npy_raw(hd % "(100,)", bytes(100))
    liar_size = len(small)
    # keep the true data but claim the small size: local header (offset 22)
    # and central directory (offset 24 after its signature) uncompressed size.
    loc = liar.find(b"PK\x03\x04")
    struct.pack_into("<I", liar, loc + 22, liar_size)
    cen = liar.find(b"PK\x01\x02")
    struct.pack_into("<I", liar, cen + 24, liar_size)
    # and make the member's npy header say (100,): its first bytes are in the
    # deflate stream, so instead write a fresh deflate stream of small+zeros.
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = comp.compress(small + bytes(64 << 20)) + comp.flush()
    crc = zlib.crc32(small) & 0xffffffff
    name = b"a.npy"
    lh = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(payload),
                     liar_size, len(name), 0) + name
    ch = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(payload),
                     liar_size, len(name), 0, 0, 0, 0, 0, 0) + name
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(ch), len(lh) + len(payload), 0)
    bad("npz_liar_bomb.npz", lh + payload + ch + eocd, "MS_EFORMAT")
    # CRC damage inside a deflated member.
    crcbad = bytearray(zip_with([("a.npy", save_bytes(values("f8", 300)))]))
    loc = crcbad.find(b"PK\x03\x04")
    struct.pack_into("<I", crcbad, loc + 14, 0x12345678)
    cen = crcbad.find(b"PK\x01\x02")
    struct.pack_into("<I", crcbad, cen + 16, 0x12345678)
    bad("npz_bad_crc.npz", bytes(crcbad), "MS_EFORMAT")
    # Corrupted deflate stream.
    corrupt = bytearray(zip_with([("a.npy", save_bytes(values("f8", 300)))]))
    for k in range(60, 90):
        corrupt[k] ^= 0x5A
    bad("npz_corrupt_deflate.npz", bytes(corrupt), "MS_EFORMAT")

    with open(os.path.join(d, "npy_npz_cases.txt"), "w") as f:
        f.write("# file expected-code limit-bytes(0 = default); npz files: read member 'a'\n")
        for name, code, limit in cases:
            f.write("%s %s %d\n" % (name, code, limit))


if __name__ == "__main__":
    if "--bad-only" not in sys.argv:
        gen_refs()
        gen_save()
        gen_numpy_npz()
        gen_npz_sums()
    gen_bad()
