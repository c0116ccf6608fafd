"""Checks of medsam-segment --boxes-from-gts outputs (test_segment_cli.sh gts).

  segment_gts_check.py boxes CASE.npz OUT.npz MARGIN
      OUT's boxes and labels equal the tight boxes of CASE's gts (numpy),
      widened by MARGIN in x and y and clamped; segs has gts' shape and
      values 0..N (box indices)
  segment_gts_check.py mapped CASE.npz INDEX_OUT.npz LABEL_OUT.npz
      LABEL_OUT (--segs-as-labels) = labels[INDEX_OUT segs - 1], 0 stays 0
  segment_gts_check.py perlabel CASE.npz LABEL_OUT.npz PER_LABEL.csv
      medsam-eval's per-label rows pair each gts label with the segs voxels
      of that label
Exit 0 when the check holds; prints what failed otherwise.
"""
import csv
import os
import sys

import numpy as np


def want_boxes(gts, margin):
    boxes, labels = [], []
    for lab in np.unique(gts):
        if lab == 0:
            continue
        idx = np.nonzero(gts == lab)
        lo = [int(i.min()) for i in idx]
        hi = [int(i.max()) for i in idx]
        if gts.ndim == 3:   # idx is (z, y, x)
            z0, y0, x0 = lo
            z1, y1, x1 = hi
        else:
            y0, x0 = lo
            y1, x1 = hi
        h, w = gts.shape[-2:]
        x0, y0 = max(x0 - margin, 0), max(y0 - margin, 0)
        x1, y1 = min(x1 + margin, w - 1), min(y1 + margin, h - 1)
        boxes.append([x0, y0, z0, x1, y1, z1] if gts.ndim == 3 else [x0, y0, x1, y1])
        labels.append(int(lab))
    return np.array(boxes, np.int64), np.array(labels)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    cmd, case = sys.argv[1], np.load(sys.argv[2])
    gts = case["gts"]
    if cmd == "boxes":
        out, margin = np.load(sys.argv[3]), int(sys.argv[4])
        boxes, labels = want_boxes(gts, margin)
        check(out["boxes"].dtype == np.int64, "boxes dtype %s" % out["boxes"].dtype)
        check(np.array_equal(out["boxes"], boxes),
              "boxes\n%s\nexpected\n%s" % (out["boxes"], boxes))
        check(out["labels"].dtype == (np.uint8 if labels.max() < 256 else np.uint16),
              "labels dtype %s" % out["labels"].dtype)
        check(np.array_equal(out["labels"], labels), "labels %s, expected %s"
              % (out["labels"], labels))
        segs = out["segs"]
        check(segs.shape == gts.shape, "segs shape %s, gts %s" % (segs.shape, gts.shape))
        check(segs.max() <= len(labels) and segs.max() > 0, "segs max %d" % segs.max())
        print("%s: %d boxes as numpy computes them" % (sys.argv[3], len(labels)))
    elif cmd == "mapped":
        idx, lab = np.load(sys.argv[3]), np.load(sys.argv[4])
        check(np.array_equal(idx["labels"], lab["labels"]), "labels differ")
        look = np.concatenate([[0], lab["labels"].astype(np.int64)])
        want = look[idx["segs"].astype(np.int64)]
        check(np.array_equal(lab["segs"], want), "segs are not labels[index - 1]")
        check(lab["segs"].dtype == idx["segs"].dtype, "segs dtype changed")
        print("%s: segs = labels[index - 1]" % sys.argv[4])
    elif cmd == "perlabel":
        segs = np.load(sys.argv[3])["segs"]
        name = os.path.basename(sys.argv[2])
        with open(sys.argv[4]) as f:
            rows = [r for r in csv.DictReader(f) if r["case"] == name]
        got = {int(r["label"]): (int(r["gt_voxels"]), int(r["seg_voxels"])) for r in rows}
        # a row per label present, and any other row (medsam-eval may list
        # labels 1..max) must count the same voxels
        labels = set(int(l) for l in np.unique(gts) if l) | set(got)
        want = {l: (int((gts == l).sum()), int((segs == l).sum())) for l in labels}
        check(got == want, "per-label rows %s, expected %s" % (got, want))
        print("%s: %d labels scored" % (name, len(want)))
    else:
        sys.exit(2)


main()
