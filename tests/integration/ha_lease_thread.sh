#!/usr/bin/env bash
# Issue 14, item 1: the lease lives on its own thread. Three gsha nodes (ttl 4, loop_wait 1,
# retry_timeout 1: keepalive every 1 s, heartbeat bound max(2 x ttl, 2 x (loop_wait +
# retry_timeout)) = 8 s, docs/timing.md). Only the primary agent's MAIN thread is stopped
# (tests/integration/thread-freeze: ptrace PTRACE_SEIZE + PTRACE_INTERRUPT on its tid), so the
# HA loop hangs while the lease thread runs on:
#   - for 6 s (longer than ttl, within the 8 s bound): no failover; the leader key keeps its
#     value, its create revision and its lease, which could only outlive 6 s by being renewed;
#     The guardian's deadline is the one the lease thread moves with each keepalive, so it does
#     not fence: the postmaster runs on throughout; and node1's /primary answers 200
#     throughout (the lease thread moves the deadline the REST API answers by: before, the
#     snapshot's fence deadline, decided before the hang, ran out about 3 s in and /primary
#     answered 503, which a load balancer reads as a lost primary);
#   - for 18 s (longer than the bound + ttl): the lease thread stops renewing, so the guardian's
#     deadline stops moving and it fences node1's PostgreSQL; the lease lapses and another node
#     takes the leader key, by which time node1's /primary no longer answers 200. With a writer
#     on every node: node1's last acknowledged commit comes before the new primary's first.
#     Thawed, the old primary steps down and rejoins.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
C_TTL=4
C_LOOP_WAIT=1
C_RETRY=1
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/lib/writers.sh"

FREEZE=${GSHA_THREAD_FREEZE:?the thread-freeze test tool (meson sets GSHA_THREAD_FREEZE)}
BOUND_S=8 # ha_heartbeat_bound_ms at ttl 4 / loop_wait 1 / retry_timeout 1

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "lt$$"
for n in node1 node2 node3; do c_config "$n"; done

FREEZER=
t_on_failure() {
	[ -z "$FREEZER" ] || kill "$FREEZER" 2>/dev/null || true
	w_stop
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
c_psql node1 "create table bench_w(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
t_pass "three nodes up: node1 primary, node2 and node3 replicas"
fence_lines() { grep -c 'guardian: .*fenced PostgreSQL' "$C_DIR/$1.log" || true; }

pid=$(agent_pid node1) || t_fail "no agent process for node1"
tasks=$(ls "/proc/$pid/task" | wc -l)
[ "$tasks" -ge 3 ] || t_fail "node1's agent runs $tasks threads; the lease thread is missing"

# ---- a hang within the bound: 6 s > ttl 4 s, < 8 s.
before=$(leader_identity)
pm=$(c_postmaster_pid node1)
fenced_before=$(fence_lines node1)
"$FREEZE" "$pid" 6 >"$C_DIR/freeze1.out" 2>&1 &
FREEZER=$!
t_wait_for 5 "the freeze to begin" grep -q frozen "$C_DIR/freeze1.out"
state=$(awk '/^State:/ {print $2}' "/proc/$pid/task/$pid/status")
[ "$state" = t ] || t_fail "node1's main thread is in state \"$state\", not stopped by the tracer"
others=$(for t in /proc/$pid/task/*; do [ "${t##*/}" = "$pid" ] || awk '/^State:/ {print $2}' "$t/status"; done | grep -c t || true)
[ "$others" = 0 ] || t_fail "$others other threads of node1's agent are stopped too"
t_pass "freeze: only node1's main thread is stopped"
changed=
not200=
for i in $(seq 70); do # 7 s of 100 ms polls, past the thaw
	[ "$(c_leader)" = node1 ] || changed="leader key now \"$(c_leader)\""
	code=$(c_rest node1 /primary)
	[ "$code" = 200 ] || not200+=" $((i / 10)).$((i % 10))s:$code"
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
[ -z "$not200" ] || t_fail "hang of 6 s: node1's /primary did not answer 200 at (poll: code)$not200"
t_pass "hang of 6 s: node1's /primary answered 200 throughout (70 polls)"
t_assert_eq "$fenced_before $pm" "$(fence_lines node1) $(c_postmaster_pid node1)" \
	"hang of 6 s: the guardian's deadline moved with the lease thread's keepalives: nothing fenced, the postmaster ran throughout"

# ---- a hang past the bound: 18 s > 8 s bound + 4 s ttl (another node takes the key about 12 s
# in), a writer on every node.
run=$(t_tmpdir)/frozen
mkdir -p "$run"
w_start "$run" 90
t_wait_for 20 "the writer to commit on node1" grep -q '^ok ' "$run/w-node1.log"
fenced_before=$(fence_lines node1)
"$FREEZE" "$pid" 18 >"$C_DIR/freeze2.out" 2>&1 &
FREEZER=$!
t_wait_for 5 "the second freeze to begin" grep -q frozen "$C_DIR/freeze2.out"
t0=$(awk '/frozen/ {print $2}' "$C_DIR/freeze2.out")
t_key=$(c_key_instant 24 '!node1') || t_fail "hang past the bound: nobody took the leader key while node1's loop hung"
ms=$(((t_key - t0) / 1000000))
code=$(c_rest node1 /primary)
[ "$code" != 200 ] || t_fail "hang past the bound: node1's /primary still answers 200 after another node took the key"
t_pass "hang past the bound: $(c_leader) took the leader key $ms ms into the hang (bound ${BOUND_S} s + ttl ${C_TTL} s); node1's /primary answered $code"
[ "$ms" -ge $((BOUND_S * 1000)) ] ||
	t_fail "the lease lapsed after $ms ms, before the heartbeat bound of ${BOUND_S} s"
grep -q "the HA loop has shown no progress" "$C_DIR/node1.log" ||
	t_fail "node1's lease thread did not say it stopped renewing"
t_pass "node1's lease thread stopped renewing once the heartbeat was older than the bound"
new_leader=$(c_leader)
wait "$FREEZER" || t_fail "thread-freeze failed: $(cat "$C_DIR/freeze2.out")"
FREEZER=
t_wait_for 30 "$new_leader to accept writes" writable "$new_leader"
t_wait_for 60 "the writer to commit on $new_leader" grep -q '^ok ' "$run/w-$new_leader.log"
t_wait_for 90 "node1 to step down and rejoin as a replica" c_running node1 replica
w_stop
read -r old_acks old_last new new_first after overlap <<<"$(w_analyse "$run" node1 $((t0 / 1000)))"
t_log "node1's main thread frozen at 0: node1 acknowledged $old_acks commits after, the last at" \
	"$(((old_last - t0 / 1000) / 1000)) ms; $new's first commit at $(((new_first - t0 / 1000) / 1000)) ms"
[ "$old_acks" -gt 0 ] || t_fail "node1 acknowledged nothing after its main thread froze (not measuring)"
[ "$new_first" -gt 0 ] || t_fail "no other node acknowledged a commit"
[ "$after" = 0 ] || t_fail "node1 acknowledged $after commits after $new's first ($overlap ms with two writable primaries)"
[ "$old_last" -lt "$new_first" ] || t_fail "node1's last commit is not before $new's first"
[ "$(fence_lines node1)" -gt "$fenced_before" ] || t_fail "node1's log has no guardian fence line"
t_pass "hang past the bound: node1's guardian fenced PostgreSQL $(((new_first - old_last) / 1000)) ms before $new's first commit: $(grep 'guardian: .*fenced PostgreSQL' "$C_DIR/node1.log" | tail -1 | cut -c1-200)"
t_pass "after the thaw: node1 stepped down and follows $new_leader"
t_done
