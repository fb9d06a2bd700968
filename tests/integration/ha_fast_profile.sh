#!/usr/bin/env bash
# Issue 14, item 1: the fast timing profile of docs/timing.md (ttl 2, loop_wait 500ms,
# retry_timeout 500ms) on real etcd and PostgreSQL 15. Three nodes come up; patronictl (Debian's
# 3.0.2) reads the cluster and its config key with the sub-second values, and waits for a pause
# with them (it computes loop_wait + 1); kill -9 of the leader's agent and postmaster fails over;
# the lost node comes back as a replica. The times are printed, not asserted (shared machine).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
C_TTL=2
C_LOOP_WAIT=500ms
C_RETRY=500ms
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "fast$$"
for n in node1 node2 node3; do c_config "$n"; done

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is() { [ "$(c_leader)" = "$1" ]; }
writable() { c_psql "$1" "create table if not exists probe(x int); insert into probe values (1)"; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_wait_for 90 "node3 to run as a replica" c_running node3 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('before')" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 before
t_wait_for 30 "the row to reach node3" has_row node3 before
t_pass "fast profile: three nodes up at ttl 2 / loop_wait 500ms / retry_timeout 500ms, replicating"

config=$(c_key config)
[[ "$config" == *'"ttl":2,"loop_wait":0.5,"retry_timeout":0.5'* ]] ||
	t_fail "the config key does not hold the fast timing as numbers: $config"
t_pass "the config key holds the sub-second values as Patroni numbers (loop_wait 0.5)"

# ---- patronictl 3.0.2 against the sub-second config key.
cat >"$C_DIR/patronictl.yml" <<YAML
scope: $C_SCOPE
namespace: /service/
etcd3:
  hosts: ${ETCD_URL#http://}
YAML
pctl() { timeout 60 patronictl -c "$C_DIR/patronictl.yml" "$@" 2>&1; }
out=$(pctl list) || t_fail "patronictl list failed: $out"
echo "$out" | grep node1 | grep -q Leader || t_fail "patronictl list does not show node1 as Leader: $out"
out=$(pctl show-config) || t_fail "patronictl show-config failed: $out"
echo "$out" | grep -qx 'loop_wait: 0.5' || t_fail "patronictl show-config: $out"
t_pass "patronictl list and show-config read the cluster (loop_wait: 0.5)"
out=$(pctl pause --wait) || t_fail "patronictl pause --wait failed: $out"
echo "$out" | grep -q 'Success: cluster management is paused' || t_fail "patronictl pause --wait: $out"
out=$(pctl resume --wait) || t_fail "patronictl resume --wait failed: $out"
echo "$out" | grep -q 'Success: cluster management is resumed' || t_fail "patronictl resume --wait: $out"
t_pass "patronictl pause --wait and resume --wait work with loop_wait 0.5"

# ---- node loss: kill -9 the leader's agent and its postmaster.
t_wait_for 10 "the leader key to name node1" leader_is node1
db_pid=$(c_postmaster_pid node1)
t0=$(date +%s%N)
c_kill node1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_key=$(c_key_instant 30 '!node1') || t_fail "node loss: nobody took the leader key within 30 s"
new_leader=$(c_leader)
t_wait_for 30 "$new_leader to accept writes" writable "$new_leader"
t_w=$(date +%s%N)
t_pass "node loss: $new_leader took the key $(((t_key - t0) / 1000000)) ms after the kill, wrote by $(((t_w - t0) / 1000000)) ms (test polls, not a benchmark)"
t_assert_eq 1 "$(c_psql "$new_leader" "select count(*) from marks where v = 'before'")" \
	"node loss: the replicated row is on the new primary"

c_start node1
t_wait_for 90 "node1 to rejoin as a replica" c_running node1 replica
c_psql "$new_leader" "insert into marks values ('after')" >/dev/null
t_wait_for 30 "the new row to reach node1" has_row node1 after
t_pass "node1 came back as a replica of $new_leader and replicates"
t_done
