#!/usr/bin/env python3
"""Benchmark helper, not a test: after a leader change, how long until the cluster is healthy.

Polls every 50 ms, from one process so the instants share a clock:
  1. the leader key (etcd v3 JSON gateway) until it names a new leader: --want NAME, or any
     member other than --not NAME; that instant is t_key;
  2. then GET /cluster on the new leader's REST API until the leader's entry shows a timeline
     above --old-tl and every survivor's entry shows state "streaming" on that same timeline
     (Patroni 3.0.2 publishes no replication state: there the member's "state" is "running",
     which --state running accepts): t_cluster;
  3. and, as the database itself sees it, until the leader's WAL is on a timeline above
     --old-tl and every survivor's pg_stat_wal_receiver says "streaming" with received_tli
     equal to it: t_db.
Prints one line: "KEY_US CLUSTER_US DB_US LEADER TIMELINE" (CLOCK_REALTIME microseconds; "-" for
a condition not met by --timeout seconds after t_key).

  healthy_poll.py --etcd URL --key /service/S/leader (--want N | --not N) --old-tl T
                  --member NAME:API_PORT:PG_PORT ... [--state streaming|running] [--timeout S]
  healthy_poll.py --rejoin NAME ...   the leader key stays: t_key is the instant the rejoining
                  member's database first runs in recovery (pg_is_in_recovery()).
"""
import argparse
import base64
import json
import subprocess
import sys
import time
import urllib.request


def now_us():
    return int(time.time() * 1e6)


def etcd_get(url, key):
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(url + "/v3/kv/range", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=1) as r:
            doc = json.load(r)
    except Exception:
        return None
    kvs = doc.get("kvs") or []
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else ""


def get_json(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1) as r:
            return json.load(r)
    except Exception:
        return None


def sql(pg_port, query):
    try:
        out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-h", "127.0.0.1", "-p", str(pg_port),
                              "-U", "postgres", "-d", "postgres", "-c", query],
                             capture_output=True, text=True, timeout=2,
                             env={"PGCONNECT_TIMEOUT": "1", "PATH": "/usr/bin:/bin"})
    except Exception:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cluster_ok(members, leader, survivors, old_tl, state):
    doc = get_json(members[leader][0], "/cluster")
    if not doc:
        return None
    by = {m.get("name"): m for m in doc.get("members", [])}
    lm = by.get(leader)
    if not lm or not isinstance(lm.get("timeline"), int) or lm["timeline"] <= old_tl:
        return None
    tl = lm["timeline"]
    for s in survivors:
        m = by.get(s)
        if not m or m.get("state") != state or m.get("timeline") != tl:
            return None
    return tl


def db_ok(members, leader, survivors, old_tl):
    v = sql(members[leader][1], "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
            "::bit(32)::int where not pg_is_in_recovery()")
    if not v or int(v) <= old_tl:
        return None
    tl = int(v)
    for s in survivors:
        r = sql(members[s][1], "select status || ' ' || received_tli from pg_stat_wal_receiver")
        if r != "streaming %d" % tl:
            return None
    return tl


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--etcd", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--want")
    p.add_argument("--not", dest="not_")
    p.add_argument("--rejoin")
    p.add_argument("--old-tl", type=int, required=True)
    p.add_argument("--member", action="append", required=True)
    p.add_argument("--state", default="streaming")
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    members = {}
    for m in a.member:
        name, api, pg = m.split(":")
        members[name] = (int(api), int(pg))
    deadline = time.time() + a.timeout * 2
    leader = None
    t_key = None
    while time.time() < deadline:
        v = etcd_get(a.etcd, a.key)
        if a.rejoin:
            if v and sql(members[a.rejoin][1], "select pg_is_in_recovery()") == "t":
                leader = v
        elif v and ((a.want and v == a.want) or (a.not_ and v != a.not_)):
            leader = v
        if leader:
            t_key = now_us()
            break
        time.sleep(0.05)
    if not leader:
        print("- - - - -")
        return 1
    survivors = [n for n in members if n != leader]
    t_cluster = t_db = None
    tl = "-"
    deadline = time.time() + a.timeout
    while time.time() < deadline and (t_cluster is None or t_db is None):
        if t_cluster is None:
            got = cluster_ok(members, leader, survivors, a.old_tl, a.state)
            if got is not None:
                t_cluster, tl = now_us(), got
        if t_db is None:
            got = db_ok(members, leader, survivors, a.old_tl)
            if got is not None:
                t_db, tl = now_us(), got
        time.sleep(0.05)
    print(t_key, t_cluster or "-", t_db or "-", leader, tl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
