"""Checks of pipeline outputs (run with a python3 that has numpy).

  pipecheck.py complete DIR [--no-temps]
      every visible .npz/.npy under DIR loads completely; with --no-temps, no
      hidden temp file (.<name>.XXXXXX, what an interrupted atomic write leaves)
      either.  Prints the temp files it found.
  pipecheck.py stamps OUT
      every OUT/.stamps/npy/NAME.done has OUT/npz/NAME.npz and all its npy
      slices (imgs and gts) complete under OUT/npy.
  pipecheck.py same A B
      the same visible files under A and B (stamps and logs aside); npy, png and
      csv byte-identical, npz members equal in name, dtype, shape and values.
"""
import os
import re
import sys

import numpy as np

TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")


def walk(top):
    """Relative paths of the visible files and of the hidden temp files."""
    vis, temps = [], []
    for d, dirs, files in os.walk(top):
        dirs[:] = [x for x in dirs if x != ".stamps"]
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), top)
            if f.startswith("."):
                temps.append(rel) if TEMP.match(f) else None
            elif not f.endswith(".log"):
                vis.append(rel)
    return sorted(vis), sorted(temps)


def load(path):
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    return None


def complete(top, no_temps):
    vis, temps = walk(top)
    bad = 0
    for rel in vis:
        try:
            a = load(os.path.join(top, rel))
            if isinstance(a, dict) and not a:
                raise ValueError("no member")
        except Exception as e:  # noqa: BLE001 -- any failure means partial
            print(f"partial or unreadable: {rel}: {e}")
            bad += 1
    for t in temps:
        print(f"temp file left: {t}")
    print(f"{len(vis)} files complete, {bad} bad, {len(temps)} temp files")
    return 1 if bad or (no_temps and temps) else 0


def stamps(out):
    sdir = os.path.join(out, ".stamps", "npy")
    names = sorted(f[:-5] for f in os.listdir(sdir) if f.endswith(".done")) \
        if os.path.isdir(sdir) else []
    bad = 0
    for n in names:
        try:
            z = load(os.path.join(out, "npz", n + ".npz"))
            g = z["gts"]
            if g.ndim == 3:
                want = [f"{n}-{i:03d}.npy" for i in range(g.shape[0]) if g[i].any()]
            else:
                want = [n + ".npy"]
            for sub in ("imgs", "gts"):
                for w in want:
                    load(os.path.join(out, "npy", sub, w))
        except Exception as e:  # noqa: BLE001
            print(f"stamp {n}.done but outputs incomplete: {e}")
            bad += 1
    print(f"{len(names)} stamps checked, {bad} bad")
    return 1 if bad else 0


def same(a, b):
    va, _ = walk(a)
    vb, _ = walk(b)
    if va != vb:
        print("different file sets:")
        print("  only in", a, sorted(set(va) - set(vb))[:20])
        print("  only in", b, sorted(set(vb) - set(va))[:20])
        return 1
    bad = 0
    for rel in va:
        pa, pb = os.path.join(a, rel), os.path.join(b, rel)
        if rel.endswith(".npz"):
            x, y = load(pa), load(pb)
            ok = sorted(x) == sorted(y) and all(
                x[k].dtype == y[k].dtype and x[k].shape == y[k].shape
                and np.array_equal(x[k], y[k]) for k in x)
        else:
            with open(pa, "rb") as fa, open(pb, "rb") as fb:
                ok = fa.read() == fb.read()
        if not ok:
            print(f"differs: {rel}")
            bad += 1
    print(f"{len(va)} files compared, {bad} differ")
    return 1 if bad or not va else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "complete":
        return complete(argv[1], "--no-temps" in argv[2:])
    if len(argv) == 2 and argv[0] == "stamps":
        return stamps(argv[1])
    if len(argv) == 3 and argv[0] == "same":
        return same(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
