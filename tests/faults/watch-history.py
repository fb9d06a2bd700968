#!/usr/bin/env python3
"""Prints the events of an etcd v3 gateway watch stream (one or more JSON documents, as curl
wrote them) as "REVISION DELETE" or "REVISION PUT VALUE", one line each: the leader key's history
for the fault suite (lib.sh) and the false-failover soak (tests/bench/false_failover.sh).

    tests/faults/watch-history.py WATCH.json
"""
import base64
import json
import sys


def main():
    dec = json.JSONDecoder()
    text = open(sys.argv[1]).read()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            doc, pos = dec.raw_decode(text, pos)
        except ValueError:
            break
        for ev in doc.get("result", {}).get("events") or []:
            kv = ev.get("kv", {})
            if ev.get("type") == "DELETE":
                print(kv.get("mod_revision"), "DELETE")
            else:
                print(kv.get("mod_revision"), "PUT",
                      base64.b64decode(kv.get("value", "")).decode(errors="replace"))


if __name__ == "__main__":
    main()
