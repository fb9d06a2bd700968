#!/usr/bin/env python3
"""Prints run.sh's results.tsv files as one Markdown table (for docs/faults.md).

    tests/faults/table.py DIR/results.tsv...
"""
import sys

COLS = ["scenario", "system", "mode", "timing", "seed", "verdict", "acked", "lost", "split",
        "false_fo", "recovery_ms", "max_gap_ms", "healthy_ms", "violations"]


def main():
    rows = []
    for path in sys.argv[1:]:
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
