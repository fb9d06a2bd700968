#!/usr/bin/env python3
"""The fault suite's checker (docs/faults.md, "The checker's rules").

Reads one scenario's logs (all timestamps CLOCK_MONOTONIC microseconds, from fault-client) and
prints one JSON object with the verdict and the figures:

  writer.log          ok|warn|fail|unknown|noconn SEQ SENT_US END_US NODE (fault-client write)
  probe-NODE.log      the same, one line per 100 ms probe commit on NODE's local socket
  final-seqs.txt      the seq of every row of gsha_fault_w on the final primary
  leader-history.txt  REVISION PUT VALUE | REVISION DELETE, the leader key since the setup
  meta                KEY=VALUE: MODE, EXPECT_FAILOVER (no|may|yes), INJECT_US, HEAL_US,
                      HEALTHY_MS (or "never"), INITIAL_LEADER
  scenario-violations.txt  optional: one line per thing the scenario itself saw go wrong (a
                      fault that did not take effect: clock-step's library not loaded, or now()
                      not moved), each a violation

Rules (a violation makes the verdict FAIL):
  lost        an acknowledged row ("ok": no error and no "canceling wait for synchronous
              replication" warning) missing on the final primary; a violation in sync mode,
              reported (not a violation) in async mode, where PostgreSQL promises no less
  split       two nodes writable at once: a node's writable epoch is a run of consecutive "ok"
              probes with no other outcome between; two epochs of different nodes that overlap
              in time (an old primary acknowledging after the new one's first commit is such an
              overlap), or a writer acknowledgement from a node while another node's epoch
              covers that instant
  false_fo    the leader key named another member although the scenario must not fail over
  no_fo       the scenario must fail over but the leader key never changed
  unhealthy   the cluster was not healthy (one primary, both others streaming) after the heal
Figures: recovery_ms (injection to the first acknowledged write after the last failed one),
max_gap_ms (longest gap between acknowledged writes), healthy_ms (heal to healthy), lapses (how
often the leader key was deleted, by expiry or release, even if its holder took it back: not
judged, but where no failover may happen it is one avoided only by other checks, such as
Patroni's replicas asking the old primary whether it still runs).
"""
import json
import os
import sys


def read_log(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) != 5:
                    continue
                rows.append((p[0], p[1], int(p[2]) if p[2] != "-" else None,
                             int(p[3]), p[4]))
    except FileNotFoundError:
        pass
    return rows


def epochs(rows):
    """Runs of consecutive ok probes: [(first_end_us, last_end_us)]."""
    out, cur = [], None
    for outcome, _seq, _sent, end, _node in rows:
        if outcome == "ok":
            cur = [end, end] if cur is None else [cur[0], end]
        elif cur is not None:
            out.append(tuple(cur))
            cur = None
    if cur is not None:
        out.append(tuple(cur))
    return out


def main():
    d = sys.argv[1]
    nodes = sys.argv[2].split(",")
    ips = dict(zip(sys.argv[3].split(","), nodes))
    meta = {}
    with open(os.path.join(d, "meta")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    mode, expect = meta["MODE"], meta["EXPECT_FAILOVER"]
    inject = int(meta["INJECT_US"])
    violations = []

    writer = read_log(os.path.join(d, "writer.log"))
    acked = {int(r[1]) for r in writer if r[0] == "ok"}
    final = set()
    final_ok = False
    try:
        with open(os.path.join(d, "final-seqs.txt")) as f:
            final = {int(x) for x in f.read().split()}
            final_ok = True
    except (FileNotFoundError, ValueError):
        pass
    lost = sorted(acked - final) if final_ok else []
    if not final_ok:
        violations.append("no final primary to read the rows from")
    elif lost and mode == "sync":
        violations.append("lost %d acknowledged rows (first %s)" % (len(lost), lost[:5]))

    ep = {n: epochs(read_log(os.path.join(d, "probe-%s.log" % n))) for n in nodes}
    split = []
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            for ea in ep[a]:
                for eb in ep[b]:
                    if ea[0] <= eb[1] and eb[0] <= ea[1]:
                        split.append("%s [%d, %d] ms and %s [%d, %d] ms" % (
                            a, (ea[0] - inject) // 1000, (ea[1] - inject) // 1000,
                            b, (eb[0] - inject) // 1000, (eb[1] - inject) // 1000))
    for outcome, seq, _sent, end, ip in writer:
        if outcome != "ok" or ip not in ips:
            continue
        for n in nodes:
            if n != ips[ip] and any(e[0] < end < e[1] for e in ep[n]):
                split.append("writer row %s acknowledged by %s at %d ms inside an epoch of %s" % (
                    seq, ips[ip], (end - inject) // 1000, n))
    if split:
        violations.append("two writable primaries: " + "; ".join(split[:3]))

    initial = meta.get("INITIAL_LEADER", "")
    holders = []
    lapses = 0
    try:
        with open(os.path.join(d, "leader-history.txt")) as f:
            for line in f:
                p = line.split(None, 2)
                if len(p) == 2 and p[1] == "DELETE":
                    lapses += 1
                if len(p) == 3 and p[1] == "PUT":
                    v = p[2].strip()
                    if not holders or holders[-1] != v:
                        holders.append(v)
    except FileNotFoundError:
        pass
    changes = [h for h in holders if h != initial]
    if expect == "no" and changes:
        violations.append("false failover: the leader key went to %s" % ",".join(changes))
    if expect == "yes" and not changes:
        violations.append("no failover: the leader key never left %s" % initial)

    try:
        with open(os.path.join(d, "scenario-violations.txt")) as f:
            violations.extend(line.strip() for line in f if line.strip())
    except FileNotFoundError:
        pass

    healthy = meta.get("HEALTHY_MS", "never")
    if healthy == "never":
        violations.append("not healthy after the heal")

    ok_ends = sorted(r[3] for r in writer if r[0] == "ok")
    max_gap = max((b - a for a, b in zip(ok_ends, ok_ends[1:])), default=0) // 1000
    bad_after = [r[3] for r in writer if r[0] != "ok" and r[3] >= inject]
    recovery = 0
    if bad_after:
        last_bad = max(bad_after)
        nxt = [t for t in ok_ends if t > last_bad]
        recovery = (nxt[0] - inject) // 1000 if nxt else -1
    print(json.dumps({
        "verdict": "FAIL" if violations else "PASS",
        "acked": len(acked), "lost": len(lost),
        "warned": sum(1 for r in writer if r[0] == "warn"),
        "split": len(split), "leaders": holders, "lapses": lapses,
        "false_fo": 1 if expect == "no" and changes else 0,
        "recovery_ms": recovery, "max_gap_ms": max_gap, "healthy_ms": healthy,
        "violations": violations,
    }))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
