#!/usr/bin/env bash
# Issue 13, quorum commit (synchronous_mode: quorum, Patroni 4) on three nodes: node1 names both
# replicas with ANY 1 and the sync key gets Patroni 4's quorum field; the REST endpoints answer
# with Patroni's codes. A writer records every row whose COMMIT returned; node1 (agent and
# postmaster) is killed with -9 mid-stream; a replica takes over only with a vote from the other
# voter, and every acknowledged row is on it. The new leader takes the key over.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/lib/sync.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "quorum$$"
NODES="node1 node2 node3"
for n in $NODES; do c_config "$n"; done

t_on_failure() {
	echo "---- sync key: $(sync_key)"
	for n in $NODES; do
		echo "---- $n: ssn \"$(ssn "$n")\""
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

key_is() { [ "$(sync_key | tr -d ' ')" = "$1" ]; }

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" c_is node1 primary
c_start node2
c_start node3
for n in node2 node3; do t_wait_for 120 "$n to run as a replica" c_is "$n" replica; done
tcp_psql node1 "create table acked(id int primary key)" >/dev/null
t_assert_eq 200 "$(patch_config node1 '{"synchronous_mode": "quorum"}')" \
	"PATCH /config {\"synchronous_mode\": \"quorum\"} answers 200"
t_wait_for 60 "node1 to set ANY 1 (node2,node3)" eval '[ "$(ssn node1)" = "ANY 1 (node2,node3)" ]'
t_wait_for 60 "the sync key to name both voters with quorum 1" \
	key_is '{"leader":"node1","quorum":1,"sync_standby":"node2,node3"}'
t_pass "quorum: synchronous_standby_names \"$(ssn node1)\", sync key $(sync_key)"

# Debian's patronictl (Patroni 3.0.2, which predates quorum commit) reads the key as it reads
# any sync key; Patroni 4.1.4's, run by hand from its tree, lists both as "Quorum Standby".
listed=$(patronictl -c "$C_DIR/node1.yml" list 2>/dev/null | grep -c 'node[23] .*Sync Standby' || true)
t_assert_eq 2 "$listed" "patronictl list shows node2 and node3 as synchronous standbys"
listed=$("$GSHA_BUILD_DIR/ctl/gsctl" -c "$C_DIR/node1.yml" list 2>/dev/null | grep -c 'node[23] .*Quorum Standby' || true)
t_assert_eq 2 "$listed" "gsctl list shows node2 and node3 as quorum standbys (as Patroni 4.1.4's patronictl does)"

# ---- Patroni 4's health checks in quorum mode (patroni-compat.md section 1).
t_wait_for 10 "node2 to answer /quorum 200" eval '[ "$(c_rest node2 /quorum)" = 200 ]'
for n in node2 node3; do
	t_assert_eq 200 "$(c_rest "$n" /quorum)" "GET /quorum on $n (a voter) answers 200"
	t_assert_eq 200 "$(c_rest "$n" /read-only-quorum)" "GET /read-only-quorum on $n answers 200"
	t_assert_eq 503 "$(c_rest "$n" /sync)" "GET /sync on $n answers 503 in quorum mode"
	t_assert_eq 503 "$(c_rest "$n" /async)" "GET /async on $n answers 503"
done
t_assert_eq 503 "$(c_rest node1 /quorum)" "GET /quorum on the primary answers 503"
t_assert_eq 200 "$(c_rest node1 /read-only-quorum)" "GET /read-only-quorum on the primary answers 200"

# ---- the writer, then the primary killed with -9.
writer_start node1
t_wait_for 60 "the writer to get 40 commits acknowledged" acked_past 40
kill_primary_under_writer node1
total=$ACKED_TOTAL
t_wait_for 60 "node2 or node3 to take the leader key" leader_is_one_of node2 node3
new_leader=$(c_leader)
other=node2
[ "$new_leader" = node2 ] && other=node3
grep -q "racing for the leader key" "$C_DIR/$new_leader.log" ||
	t_fail "$new_leader took the key without the race rule"
t_pass "failover: $new_leader took the leader key"
t_wait_for 60 "$new_leader to run as primary" c_is "$new_leader" primary
missing=$(acked_missing "$new_leader")
t_assert_eq 0 "$missing" "failover: all $total acknowledged rows are on $new_leader"

# ---- the new leader takes the key over and settles on the surviving standby.
t_wait_for 60 "$new_leader to hold the sync key with $other as its voter" \
	key_is "{\"leader\":\"$new_leader\",\"quorum\":0,\"sync_standby\":\"$other\"}"
t_wait_for 30 "$new_leader to set ANY 1 ($other)" eval "[ \"\$(ssn $new_leader)\" = \"ANY 1 ($other)\" ]"
t_pass "after the failover: sync key $(sync_key), synchronous_standby_names \"$(ssn "$new_leader")\""
t_assert_eq "" "$(tcp_psql "$new_leader" "insert into acked values (-1)")" \
	"writes go on with $other confirming them"
t_done
