#!/usr/bin/env python3
"""Prints run.sh's results.tsv files as one Markdown table (for docs/faults.md), or with
--summary one row per scenario: passed/runs for each system and mode.

    tests/faults/table.py [--summary] DIR/results.tsv...
"""
import sys

COLS = ["scenario", "system", "mode", "timing", "seed", "verdict", "acked", "lost", "split",
        "false_fo", "recovery_ms", "max_gap_ms", "healthy_ms", "violations"]


def summary(rows):
    keys = sorted({(r[1], r[2]) for r in rows})
    print("| scenario | " + " | ".join("%s %s" % k for k in keys) + " |")
    print("|" + "---|" * (len(keys) + 1))
    for sc in sorted({r[0] for r in rows}):
        cells = []
        for k in keys:
            runs = [r for r in rows if r[0] == sc and (r[1], r[2]) == k]
            ok = sum(1 for r in runs if r[5] == "PASS")
            cells.append("%d/%d" % (ok, len(runs)) if runs else "-")
        print("| %s | %s |" % (sc, " | ".join(cells)))


def main():
    rows = []
    args = sys.argv[1:]
    if args and args[0] == "--summary":
        args = args[1:]
        for path in args:
            with open(path) as f:
                rows += [line.rstrip("\n").split("\t") for line in f if line.strip()]
        summary(rows)
        return
    for path in args:
        with open(path) as f:
            rows += [line.rstrip("\n").split("\t") for line in f if line.strip()]
    print("| " + " | ".join(COLS) + " |")
    print("|" + "---|" * len(COLS))
    for r in rows:
        r = (r + [""] * len(COLS))[:len(COLS)]
        r[-1] = r[-1].replace("|", "/")[:160]
        print("| " + " | ".join(r) + " |")
    fails = sum(1 for r in rows if len(r) > 5 and r[5] != "PASS")
    print("\n%d scenario runs, %d passed, %d failed." % (len(rows), len(rows) - fails, fails))


if __name__ == "__main__":
    main()
