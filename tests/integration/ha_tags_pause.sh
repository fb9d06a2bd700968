#!/usr/bin/env bash
# Issue 5, pause and tags on three nodes; node2 carries clonefrom: true, node3 nofailover: true
# and noloadbalance: true. clonefrom: node3 clones from node2, not from the leader.
# noloadbalance: /replica answers 503 on node3 while it replicates.
# Pause: PATCH /config {"pause": true}; every member key shows pause; the primary's database is
# killed: it is not restarted and no replica is promoted while paused; resume: back to normal.
# nofailover: when the primary dies the other replica takes over, never node3; with node3 the
# last node standing it still does not take the leader key.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "tags$$"
c_config node1
c_config node2 "tags:
  clonefrom: true"
c_config node3 "tags:
  nofailover: true
  noloadbalance: true"

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -50 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
role_is() { c_is "$1" "$2"; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
in_recovery() { [ "$(c_psql "$1" "select pg_is_in_recovery()")" = t ]; }
writable() { c_psql "$1" "insert into marks values ('probe-$RANDOM$RANDOM')"; }
patch_config() { # node, json
	curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH -H 'Content-Type: application/json' \
		-d "$2" "http://127.0.0.1:${C_API_PORT[$1]}/config"
}
members_paused() { # how many member keys carry "pause": true
	ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only \
		--prefix "/service/$C_SCOPE/members/" 2>/dev/null | grep -c '"pause": *true' || true
}
all_paused() { [ "$(members_paused)" = 3 ]; }
none_paused() { [ "$(members_paused)" = 0 ]; }
pg_up() { local p; p=$(c_postmaster_pid "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" role_is node1 primary
c_start node2
# /patroni says replica while the clone is still copying: wait for state running too.
streaming_replica() {
	role_is "$1" replica &&
		curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$1]}/patroni" | grep -q '"state": *"running"'
}
t_wait_for 90 "node2 to run as a replica" streaming_replica node2
c_start node3
t_wait_for 90 "node3 to run as a replica" role_is node3 replica
if grep -q 'creating a replica from "node2"' "$C_DIR/node3.log"; then
	t_pass "clonefrom: node3 cloned from node2 (tagged clonefrom), not from the leader"
else
	grep 'creating a replica' "$C_DIR/node3.log" || true
	t_fail "clonefrom: node3 did not clone from node2"
fi
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('start')" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 start
t_wait_for 30 "the row to reach node3" has_row node3 start
t_pass "setup: node1 leads, node2 and node3 (nofailover) replicate"
rest_is() { [ "$(c_rest "$1" "$2")" = "$3" ]; }
t_wait_for 10 "/replica on node2 to answer 200" rest_is node2 /replica 200
t_assert_eq 503 "$(c_rest node3 /replica)" "noloadbalance: /replica is 503 on node3 while it replicates"

# ---- pause.
t_assert_eq 200 "$(patch_config node1 '{"pause": true}')" "pause: PATCH /config {\"pause\": true} answers 200"
t_wait_for 30 "every member key to show pause" all_paused
t_pass "pause: all three member keys carry \"pause\": true"
c_kill_db node1
t_wait_for 10 "node1's postmaster to be gone" eval '! pg_up node1'
# Watch for two lease lifetimes: nothing may restart node1's database or promote a replica.
deadline=$((SECONDS + 2 * C_TTL + 2))
while [ "$SECONDS" -lt "$deadline" ]; do
	pg_up node1 && t_fail "pause: node1's database was restarted while paused"
	leader_is_one_of node2 node3 && t_fail "pause: $(c_leader) took the leader key while paused"
	for n in node2 node3; do
		in_recovery "$n" || t_fail "pause: $n is no longer in recovery while paused"
	done
	sleep 0.5
done
t_pass "pause: for $((2 * C_TTL + 2)) s, node1's database stayed down and no replica was promoted"
t_assert_eq 3 "$(members_paused)" "pause: the member keys still show pause"
t_assert_eq 200 "$(c_rest node2 /liveness)" "pause: /liveness stays 200"

# ---- resume: normal behaviour, a leader that is not node3 accepts writes.
t_assert_eq 200 "$(patch_config node2 '{"pause": false}')" "resume: PATCH /config {\"pause\": false} answers 200"
t_wait_for 30 "the member keys to drop pause" none_paused
t_wait_for 60 "node1 or node2 to hold the leader key" leader_is_one_of node1 node2
lead=$(c_leader)
t_wait_for 60 "$lead to accept writes" writable "$lead"
t_pass "resume: $lead leads again and accepts writes"
if [ "$lead" = node1 ]; then other=node2; else other=node1; fi
c_psql "$lead" "insert into marks values ('after-resume')" >/dev/null
t_wait_for 90 "$other to replicate from $lead" has_row "$other" after-resume
t_wait_for 90 "node3 to replicate from $lead" has_row node3 after-resume
t_pass "resume: $other and node3 replicate from $lead"

# ---- nofailover: the primary dies; the other replica takes over, node3 never does.
db_pid=$(c_postmaster_pid "$lead")
c_kill "$lead" KILL
kill -KILL "$db_pid" 2>/dev/null || true
deadline=$((SECONDS + 60))
until leader_is_one_of "$other"; do
	leader_is_one_of node3 && t_fail "nofailover: node3 took the leader key"
	[ "$SECONDS" -lt "$deadline" ] || t_fail "nofailover: $other did not take over within 60 s"
	sleep 0.2
done
t_wait_for 30 "$other to accept writes" writable "$other"
t_pass "nofailover: $other took over, node3 did not"
c_psql "$other" "insert into marks values ('after-failover')" >/dev/null
t_wait_for 60 "node3 to follow $other" has_row node3 after-failover
t_pass "nofailover: node3 follows the new leader $other"

# Last node standing: with node3 alone, the cluster stays without a leader.
db_pid=$(c_postmaster_pid "$other")
c_kill "$other" KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_wait_for 30 "the leader key of $other to expire" eval '[ -z "$(c_leader)" ]'
deadline=$((SECONDS + 2 * C_TTL + 2))
while [ "$SECONDS" -lt "$deadline" ]; do
	[ -z "$(c_leader)" ] || t_fail "nofailover: $(c_leader) took the leader key"
	in_recovery node3 || t_fail "nofailover: node3 left recovery"
	sleep 0.5
done
t_pass "nofailover: as the last node standing, node3 stayed a replica without the leader key"
t_done
