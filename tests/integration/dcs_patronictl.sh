#!/usr/bin/env bash
# The keys dcs writes are the ones Patroni writes: after a client registers its member and takes
# the lock, the real patronictl (Debian's patroni package) reading the same etcd and scope
# lists it as the leader, and reads the config and history the client wrote. A tag value with
# a quote and a backslash reaches patronictl as written (it was once pasted into JSON by printf).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/etcd.sh"
. "$(dirname "$0")/lib/dcs.sh"

command -v patronictl >/dev/null || t_fail "patronictl is not installed (Debian package patroni)"
t_start_etcd
out=$(t_tmpdir)
dc() { t_dcs_client --endpoints="$ETCD_URL" --scope=gotham --namespace=/service/ --ttl-ms=30000 "$@"; }
cat >"$out/patroni.yml" <<YAML
scope: gotham
namespace: /service/
name: patronictl-reader
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
YAML

dc write-initialize 7710494829095195138 2>/dev/null || t_fail "write initialize"
dc cas-config '{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576}' \
	absent >/dev/null 2>&1 || t_fail "write config"
dc write-history '[[1,67405800,"no recovery target specified","2026-11-21T05:32:51.863905+00:00","node2"]]' \
	2>/dev/null || t_fail "write history"
# node2: a replica whose member key rides on its own lease (30 s, longer than this test).
dc --name=node2 touch-member \
	'{"conn_url":"postgres://127.0.0.1:5433/postgres","api_url":"http://127.0.0.1:8009/patroni","state":"running","role":"replica","version":"0.1.0","xlog_location":50331744,"timeline":1,"tags":{"dc":"north"}}' \
	2>/dev/null || t_fail "register node2"
# node1: the agent's own document format (dcs_member_doc_build, role "primary", a tag with a
# quote and a backslash), then the lock.
"$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --scope=gotham --namespace=/service/ --ttl-ms=30000 \
	--name=node1 --role=primary --tag='dc=say "north" \ 1' hold 0 >"$out/hold.out" \
	2>"$out/hold.err" &
t_register_pid $!
t_wait_for 10 "node1 takes the lock" grep -q '^holding' "$out/hold.out"

timeout 60 patronictl -c "$out/patroni.yml" list >"$out/list.txt" 2>&1 ||
	t_fail "patronictl list failed: $(cat "$out/list.txt")"
cat "$out/list.txt"
timeout 60 patronictl -c "$out/patroni.yml" list -f json >"$out/list.json" 2>"$out/list.err" ||
	t_fail "patronictl list -f json failed: $(cat "$out/list.err")"
role_of() {
	python3 -c 'import json,sys; print(" ".join(m["Role"] + "/" + m["State"] + "/" + str(m.get("TL", "")) for m in json.load(open(sys.argv[1])) if m["Member"] == sys.argv[2]))' "$out/list.json" "$1"
}
t_assert_eq "Leader/running/1" "$(role_of node1)" "patronictl lists node1 as the running leader on timeline 1"
t_assert_eq "Replica/running/1" "$(role_of node2)" "patronictl lists node2 as a running replica"
tags_of() {
	python3 -c 'import json,sys; print(json.dumps([m.get("Tags") for m in json.load(open(sys.argv[1])) if m["Member"] == sys.argv[2]]))' "$out/list.json" "$1"
}
t_assert_eq '[{"dc": "say \"north\" \\ 1"}]' "$(tags_of node1)" \
	"patronictl shows node1's tag with a quote and a backslash as written"
grep -q '127.0.0.1:5432' "$out/list.txt" || t_fail "patronictl does not show node1's host from conn_url"
t_pass "patronictl shows the host and port from the member's conn_url"

timeout 60 patronictl -c "$out/patroni.yml" show-config >"$out/config.txt" 2>&1 ||
	t_fail "patronictl show-config failed: $(cat "$out/config.txt")"
grep -q '^maximum_lag_on_failover: 1048576$' "$out/config.txt" ||
	t_fail "patronictl show-config does not show the config written: $(cat "$out/config.txt")"
t_pass "patronictl show-config reads the config key"
timeout 60 patronictl -c "$out/patroni.yml" history >"$out/history.txt" 2>&1 ||
	t_fail "patronictl history failed: $(cat "$out/history.txt")"
grep -q '67405800.*no recovery target specified.*node2' "$out/history.txt" ||
	t_fail "patronictl history does not show the history written: $(cat "$out/history.txt")"
t_pass "patronictl history reads the history key"
t_done
