#!/usr/bin/env bash
# gsctl's fallback when no member's REST API answers: it writes the failover key itself, as
# patronictl does. The key is Patroni's document, built by the dcs codec: the candidate goes in
# "member" (gsctl once wrote its REST body, where the candidate is "candidate", so the agents
# never saw whom to switch over to), and a scheduled time must be ISO 8601 with a zone.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/etcd.sh"
. "$(dirname "$0")/lib/dcs.sh"

G=$GSHA_BUILD_DIR/ctl/gsctl
t_start_etcd
out=$(t_tmpdir)
dead=$(t_free_port) # nothing listens there: no REST API answers
dc() { t_dcs_client --endpoints="$ETCD_URL" --scope=gotham --ttl-ms=30000 "$@"; }
dc --name=node2 --api-url="http://127.0.0.1:$dead/patroni" touch-member 2>/dev/null ||
	t_fail "register node2"
"$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --scope=gotham --ttl-ms=30000 --name=node1 \
	--role=primary --api-url="http://127.0.0.1:$dead/patroni" hold 0 >"$out/hold.out" \
	2>"$out/hold.err" &
t_register_pid $!
t_wait_for 10 "node1 takes the lock" grep -q '^holding' "$out/hold.out"
cat >"$out/ctl.yml" <<YAML
scope: gotham
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
YAML

rc=0
"$G" -c "$out/ctl.yml" switchover --candidate node2 --scheduled 2030-01-01T00:00:00+00:00 \
	--force </dev/null >"$out/sw.out" 2>"$out/sw.err" || rc=$?
t_assert_eq 0 "$rc" "gsctl switchover with no REST API answering falls back to etcd: exit 0 ($(cat "$out/sw.err"))"
grep -q 'writing the failover key in etcd instead' "$out/sw.err" ||
	t_fail "gsctl did not say it wrote the key itself: $(cat "$out/sw.err")"
t_assert_eq "failover=node1 node2 2030-01-01T00:00:00+00:00" "$(dc read 2>/dev/null | grep '^failover=')" \
	"the failover key names the leader, the candidate as \"member\" and the time"
t_assert_eq "rejected=0 " "$(dc read 2>/dev/null | grep '^rejected=')" \
	"the failover key reads back without being refused"
t_done
