#!/usr/bin/env python3
"""Where a node loss's time goes, from a failover.sh run kept with BENCH_LOGS.

    tests/bench/failover_timeline.py FAILOVER_OUTPUT BENCH_LOGS_DIR

For every gsha run in FAILOVER_OUTPUT (failover.sh's stdout and stderr), reads the agents' logs
that BENCH_LOGS kept and prints, in seconds after the kill instant: the first replica's decision
to race (the leader key gone, seen through the watch), the key taken, the promotion started and
finished, and the first acknowledged commit through HAProxy (from failover.sh's own line). Then
the medians of each step. Patroni's runs are left out: its log lines are not gsha's.
"""
import datetime
import os
import re
import statistics
import sys

KILL = re.compile(r"\] gsha \((\w+)\) run (\d+): killed (\w+) .* at (\d+)$")
RESULT = re.compile(r"^gsha@(\w+)\s+run (\d+): \S+ -> (\w+)\s+first write on new primary "
                    r"through HAProxy ([0-9.]+) s")
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\w+)\] \w+: (.*)$")
STEPS = [
    ("race", "racing for the leader key"),
    ("key", "acquired the leader key"),
    ("promoting", 'role "replica" -> "promoting"'),
    ("primary", 'role "promoting" -> "primary"'),
]


def stamp(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def run_dir(logs, profile, run):
    for name in (f"gsha-{profile}-{run}.retry", f"gsha-{profile}-{run}"):
        if os.path.isdir(os.path.join(logs, name)):
            return os.path.join(logs, name)
    return None


def timeline(directory, t0, new):
    """Seconds after t0 of each step: the race from any node, the rest on the new primary."""
    found = {}
    for node in ("node1", "node2", "node3"):
        try:
            with open(os.path.join(directory, node + ".log"), errors="replace") as f:
                for raw in f:
                    m = LINE.match(raw.rstrip("\n"))
                    if not m:
                        continue
                    t = stamp(m.group(1)) - t0
                    if t < 0:
                        continue
                    for step, text in STEPS:
                        if text in m.group(3) and (step == "race" or m.group(2) == new):
                            if step not in found or t < found[step]:
                                found[step] = t
        except OSError:
            pass
    return found


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kills, results = {}, {}
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = KILL.search(line)
            if m:
                kills[(m.group(1), m.group(2))] = int(m.group(4)) / 1e6
            m = RESULT.match(line)
            if m:
                results[(m.group(1), m.group(2))] = (m.group(3), float(m.group(4)))
    by_profile = {}
    print("profile run    race     key  promoting  primary  first commit (s after the kill)")
    for (profile, run), (new, first) in sorted(results.items()):
        d = run_dir(sys.argv[2], profile, run)
        if d is None or (profile, run) not in kills:
            continue
        f = timeline(d, kills[(profile, run)], new)
        f["commit"] = first
        cols = [f.get(s) for s, _ in STEPS] + [first]
        print(f"{profile:7} {run:>3} " + " ".join(
            f"{c:8.3f}" if c is not None else "       -" for c in cols))
        for k, v in f.items():
            by_profile.setdefault(profile, {}).setdefault(k, []).append(v)
    for profile, steps in by_profile.items():
        med = {k: statistics.median(v) for k, v in steps.items()}
        print(f"{profile:7} median " + " ".join(
            f"{med[s]:8.3f}" if s in med else "       -" for s in [s for s, _ in STEPS] + ["commit"]))


if __name__ == "__main__":
    main()
