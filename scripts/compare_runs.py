#!/usr/bin/env python3
"""Compares two runs.csv of the same sweep trained on two backends (scripts/gpu-check.sh, (b)).

Rows are matched by (condition, width, seed). Prints, per figure, the largest difference and where it
is, then PASS or FAIL against the tolerance README documents for a GPU against flex: results agree up to
floating-point reduction order, which a long training run amplifies, so the tolerance is on the final
figures: losses within 2% (relative, or 0.002 absolute for losses near 0) and error rates within 1% of
the set (absolute). Exit status 1 on FAIL or on rows missing from either file.

Usage: compare_runs.py A/runs.csv B/runs.csv
"""

import csv
import sys

LOSS_REL, LOSS_ABS, ERR_ABS = 0.02, 0.002, 0.01


def rows(path):
    with open(path) as f:
        return {(r["condition"], int(r["width"]), int(r["seed"])): r for r in csv.DictReader(f)}


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    a, b = rows(a_path), rows(b_path)
    missing = sorted(set(a) ^ set(b))
    if missing:
        print(f"FAIL: rows in only one file: {missing[:5]}")
        return 1
    ok = True
    print(f"{len(a)} runs compared ({a_path} against {b_path})")
    for col in ["train_loss", "test_loss", "train_err", "test_err"]:
        worst, where, bad = 0.0, None, 0
        for key in a:
            x, y = float(a[key][col]), float(b[key][col])
            diff = abs(x - y)
            if col.endswith("loss"):
                fails = diff > max(LOSS_ABS, LOSS_REL * max(abs(x), abs(y)))
            else:
                fails = diff > ERR_ABS
            bad += fails
            if diff >= worst:
                worst, where = diff, key
        ok &= bad == 0
        print(f"  {col:<10} largest |difference| {worst:.3g} at {where}; {bad} runs outside the tolerance")
    print("PASS: the two agree within the tolerance" if ok else "FAIL: outside the tolerance")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
