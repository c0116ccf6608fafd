#!/usr/bin/python3
"""check_numpy_load.py WRITE_SAMPLES_EXE: run the writer into a scratch
folder, then check with numpy that np.load reads every file and that the
arrays hold value(dtype, i) (gen_npy_refs.py), that the .npy files are
byte-identical to np.save, and that every npz member is byte-identical to
np.save's output.  Exit 77 (skip) only when numpy is missing."""
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

try:
    import numpy as np
except ImportError:
    print("numpy not available: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_npy_refs import DTYPES, values  # noqa: E402

UNZIP = shutil.which("unzip")
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (0, 3), (3, 0, 2)]


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.argv[1], d], check=True)
        arrays = {}
        for code in DTYPES:
            for k, shape in enumerate(SHAPES):
                name = "%s_%d" % (code, k)
                n = int(np.prod(shape, dtype=np.int64))
                want = values(code, n).reshape(shape)
                arrays[name] = want
                path = os.path.join(d, name + ".npy")
                got = np.load(path, allow_pickle=False)
                if got.dtype != want.dtype or got.shape != want.shape or \
                        not np.array_equal(got, want):
                    print("FAIL %s: %s %s" % (name, got.dtype, got.shape))
                    failures += 1
                buf = io.BytesIO()
                np.save(buf, want)
                with open(path, "rb") as f:
                    if f.read() != buf.getvalue():
                        print("FAIL %s: bytes differ from np.save" % name)
                        failures += 1
        for zname, method in (("all_stored.npz", zipfile.ZIP_STORED),
                              ("all_deflated.npz", zipfile.ZIP_DEFLATED),
                              ("all_zip64.npz", zipfile.ZIP_DEFLATED),
                              ("all_labels.npz", zipfile.ZIP_DEFLATED)):
            path = os.path.join(d, zname)
            with np.load(path, allow_pickle=False) as z:
                if sorted(z.files) != sorted(arrays):
                    print("FAIL %s: members %s" % (zname, z.files))
                    failures += 1
                for name, want in arrays.items():
                    got = z[name]
                    if got.dtype != want.dtype or got.shape != want.shape or \
                            not np.array_equal(got, want):
                        print("FAIL %s %s" % (zname, name))
                        failures += 1
            if UNZIP and subprocess.run([UNZIP, "-tqq", path]).returncode != 0:
                print("FAIL %s: unzip -t" % zname)
                failures += 1
            with zipfile.ZipFile(path) as zf:
                if zf.testzip() is not None:
                    print("FAIL %s: CRC" % zname)
                    failures += 1
                for info in zf.infolist():
                    if info.date_time != (1980, 1, 1, 0, 0, 0):
                        print("FAIL %s %s: date %s (numpy writes 1980-01-01)" %
                              (zname, info.filename, info.date_time))
                        failures += 1
                    if info.compress_type != method:
                        print("FAIL %s %s: method %d" % (zname, info.filename, info.compress_type))
                        failures += 1
                    buf = io.BytesIO()
                    np.save(buf, arrays[info.filename[:-4]])
                    if zf.read(info) != buf.getvalue():
                        print("FAIL %s %s: member differs from np.save" % (zname, info.filename))
                        failures += 1
        path = os.path.join(d, "labels_big.npz")
        want = (np.arange(50 * 512) // 1000 % 5).astype(np.uint8).reshape(50, 512)
        with np.load(path) as z:
            if z.files != ["gts"] or not np.array_equal(z["gts"], want) or \
                    z["gts"].dtype != np.uint8:
                print("FAIL labels_big.npz")
                failures += 1
        with zipfile.ZipFile(path) as zf:
            info = zf.infolist()[0]
            if zf.testzip() is not None or info.compress_type != zipfile.ZIP_DEFLATED or \
                    info.compress_size * 32 > info.file_size:
                print("FAIL labels_big.npz: CRC, method or size %d of %d" %
                      (info.compress_size, info.file_size))
                failures += 1
        if UNZIP and subprocess.run([UNZIP, "-tqq", path]).returncode != 0:
            print("FAIL labels_big.npz: unzip -t")
            failures += 1
        with np.load(os.path.join(d, "empty.npz")) as z:
            if z.files:
                print("FAIL empty.npz has members")
                failures += 1
    print("%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
