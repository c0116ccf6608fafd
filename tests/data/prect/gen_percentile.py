#!/usr/bin/python3
"""Reference percentiles for tests/prep/test_percentile.c, computed by numpy.

Run with Debian's /usr/bin/python3 (numpy 1.24).  Writes percentile/*.npy
(inputs) and percentile/expected.txt, one line per case:
    NAME POSITIVE_ONLY Q RESULT_HEX COUNT
where RESULT = np.percentile(a[a > 0] if POSITIVE_ONLY else a.ravel(), Q),
as float64 (float.hex), and COUNT is the number of values used.
"""
import os
import numpy as np

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "percentile")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(20240601)

arrays = {
    # odd and even counts, with zeros and negatives that positive_only drops
    "u8_odd": rng.integers(0, 256, size=(7, 11, 13), dtype=np.uint8),
    "u8_even": rng.integers(0, 256, size=(6, 10, 10), dtype=np.uint8),
    "i16_ct": rng.integers(-1024, 3072, size=(5, 17, 19)).astype(np.int16),
    "i16_even": rng.integers(-50, 50, size=(4, 25)).astype(np.int16),
    "u16": rng.integers(0, 65536, size=(999,), dtype=np.uint16),
    "i32": rng.integers(-2**31, 2**31 - 1, size=(1001,), dtype=np.int64).astype(np.int32),
    "u32": rng.integers(0, 2**32 - 1, size=(500,), dtype=np.uint64).astype(np.uint32),
    "i64": rng.integers(-2**62, 2**62, size=(777,), dtype=np.int64),
    "f32": (rng.standard_normal((9, 31, 7)) * 300 + 100).astype(np.float32),
    "f32_even": (rng.standard_normal(1000) * 1e-3).astype(np.float32),
    "f64": rng.standard_normal(1235) * 1e6,
    "f64_tiny": np.array([3.0, -1.0, 7.5], dtype=np.float64),
    "f32_one": np.array([0.0, 2.5, -3.0], dtype=np.float32),
    "u8_ties": np.array([5] * 40 + [9] * 3 + [0] * 10, dtype=np.uint8),
    # numpy computes b - a in int8 and wraps (100 - -90 = 190 becomes -66)
    "i8_wrap": np.array([-100, -100, 100, 100, -90], dtype=np.int8),
}
qs = [0, 0.5, 1, 25, 33.3, 50, 66.7, 99.5, 100]

lines = []
for name, a in arrays.items():
    np.save(os.path.join(here, name + ".npy"), a)
    for pos in (1, 0):
        v = a[a > 0] if pos else a.ravel()
        if v.size == 0:
            continue
        for q in qs:
            with np.errstate(over="ignore"):
                r = float(np.percentile(v, q))
            lines.append(f"{name} {pos} {q!r} {r.hex()} {v.size}")
with open(os.path.join(here, "expected.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(len(lines), "cases")
