#!/usr/bin/env bash
# Issue 14, item 1: the lease lives on its own thread. Three gsha nodes (ttl 4, loop_wait 1,
# retry_timeout 1: keepalive every 1 s, heartbeat bound max(2 x ttl, 2 x (loop_wait +
# retry_timeout)) = 8 s, docs/timing.md). Only the primary agent's MAIN thread is stopped
# (tests/integration/thread-freeze: ptrace PTRACE_SEIZE + PTRACE_INTERRUPT on its tid), so the
# HA loop hangs while the lease thread runs on:
#   - for 6 s (longer than ttl, within the 8 s bound): no failover; the leader key keeps its
#     value, its create revision and its lease, which could only outlive 6 s by being renewed;
#   - for 25 s (longer than the bound): the lease thread stops renewing, the lease lapses and
#     another node takes the leader key; thawed, the old primary steps down and rejoins.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
C_TTL=4
C_LOOP_WAIT=1
C_RETRY=1
source "$(dirname "$0")/lib/cluster.sh"

FREEZE=${GSHA_THREAD_FREEZE:?the thread-freeze test tool (meson sets GSHA_THREAD_FREEZE)}
BOUND_S=8 # ha_heartbeat_bound_ms at ttl 4 / loop_wait 1 / retry_timeout 1

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "lt$$"
for n in node1 node2 node3; do c_config "$n"; done

FREEZER=
t_on_failure() {
	[ -z "$FREEZER" ] || kill "$FREEZER" 2>/dev/null || true
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is() { [ "$(c_leader)" = "$1" ]; }
writable() { c_psql "$1" "create table if not exists probe(x int); insert into probe values (1)"; }
agent_pid() { pgrep -P "${C_PID[$1]}" -x gsha; }
# "create_revision lease" of the leader key.
leader_identity() {
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" --command-timeout=2s get -w json \
		"/service/$C_SCOPE/leader" 2>/dev/null |
		python3 -c 'import json,sys; k=json.load(sys.stdin).get("kvs",[{}])[0]; print(k.get("create_revision"), k.get("lease"))'
}

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_wait_for 90 "node3 to run as a replica" c_running node3 replica
t_pass "three nodes up: node1 primary, node2 and node3 replicas"

pid=$(agent_pid node1) || t_fail "no agent process for node1"
tasks=$(ls "/proc/$pid/task" | wc -l)
[ "$tasks" -ge 3 ] || t_fail "node1's agent runs $tasks threads; the lease thread is missing"

# ---- a hang within the bound: 6 s > ttl 4 s, < 8 s.
before=$(leader_identity)
"$FREEZE" "$pid" 6 >"$C_DIR/freeze1.out" 2>&1 &
FREEZER=$!
t_wait_for 5 "the freeze to begin" grep -q frozen "$C_DIR/freeze1.out"
state=$(awk '/^State:/ {print $2}' "/proc/$pid/task/$pid/status")
[ "$state" = t ] || t_fail "node1's main thread is in state \"$state\", not stopped by the tracer"
others=$(for t in /proc/$pid/task/*; do [ "${t##*/}" = "$pid" ] || awk '/^State:/ {print $2}' "$t/status"; done | grep -c t || true)
[ "$others" = 0 ] || t_fail "$others other threads of node1's agent are stopped too"
t_pass "freeze: only node1's main thread is stopped"
changed=
for _ in $(seq 70); do # 7 s of 100 ms polls, past the thaw
	[ "$(c_leader)" = node1 ] || changed="leader key now \"$(c_leader)\""
	sleep 0.1
done
wait "$FREEZER" || t_fail "thread-freeze failed: $(cat "$C_DIR/freeze1.out")"
FREEZER=
[ -z "$changed" ] || t_fail "hang of 6 s (within the bound): $changed"
after=$(leader_identity)
t_assert_eq "$before" "$after" \
	"hang of 6 s > ttl: the leader key kept its create revision and lease (renewed by the lease thread)"
for n in node2 node3; do
	c_running "$n" replica || t_fail "hang of 6 s: $n no longer runs as a replica"
done
t_wait_for 20 "node1 to accept writes after the thaw" writable node1
t_pass "hang of 6 s: no failover, node1 still primary and writable"

# ---- a hang past the bound: 25 s > 8 s bound + 4 s ttl.
"$FREEZE" "$pid" 25 >"$C_DIR/freeze2.out" 2>&1 &
FREEZER=$!
t_wait_for 5 "the second freeze to begin" grep -q frozen "$C_DIR/freeze2.out"
t0=$(awk '/frozen/ {print $2}' "$C_DIR/freeze2.out")
t_key=$(c_key_instant 24 '!node1') || t_fail "hang past the bound: nobody took the leader key while node1's loop hung"
ms=$(((t_key - t0) / 1000000))
t_pass "hang past the bound: $(c_leader) took the leader key $ms ms into the hang (bound ${BOUND_S} s + ttl ${C_TTL} s)"
[ "$ms" -ge $((BOUND_S * 1000)) ] ||
	t_fail "the lease lapsed after $ms ms, before the heartbeat bound of ${BOUND_S} s"
grep -q "the HA loop has shown no progress" "$C_DIR/node1.log" ||
	t_fail "node1's lease thread did not say it stopped renewing"
t_pass "node1's lease thread stopped renewing once the heartbeat was older than the bound"
new_leader=$(c_leader)
wait "$FREEZER" || t_fail "thread-freeze failed: $(cat "$C_DIR/freeze2.out")"
FREEZER=
t_wait_for 30 "$new_leader to accept writes" writable "$new_leader"
t_wait_for 90 "node1 to step down and rejoin as a replica" c_running node1 replica
t_pass "after the thaw: node1 stepped down and follows $new_leader"
t_done
