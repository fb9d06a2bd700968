#!/usr/bin/env bash
# Issue 5 on real etcd and PostgreSQL 15: three gsha nodes with ttl 5, loop_wait 2,
# retry_timeout 1. Bootstrap; replication; switchover to a named candidate; node loss (agent and
# database killed with -9) with takeover and rejoin; a database-only crash on the primary
# restarted in place; an agent-only crash without a failover; patronictl reads the cluster.
# After the switchover, the node loss, the rejoin and the manual failover every surviving replica
# streams on the leader's timeline (GET /cluster) without meeting a missing slot; the time is
# logged against issue 13's two loop_waits.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
# loop_wait 2, as issue 13 measured (ttl 10 / loop_wait 2 there).
C_LOOP_WAIT=2
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "it$$"
for n in node1 node2 node3; do c_config "$n"; done

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
		echo "---- members/$n: $(c_key "members/$n")"
	done
	c_dump_stacks
}

leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
role_is() { c_running "$1" "$2"; }
writable() { c_psql "$1" "create table if not exists probe(x int); insert into probe values (1)"; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }

# Issue 13: from the instant the new leader holds the key (or, for a rejoin, the rejoining
# database runs in recovery) until GET /cluster on the leader shows it on its new timeline and
# every surviving replica "streaming" on that timeline. Two loop_waits is a speed target
# (docs/ha-loop-contract.md), measured on a quiet machine by tests/bench/healthy_after.sh: at a
# load of 20-25 on 2 cores the same path took longer without anything going wrong. So the time is
# logged against the target, and what is asserted is the behaviour that makes the target
# reachable: every survivor streams on the new timeline (GET /cluster, 60 s at most) and none met
# a missing slot on the new leader (member slots; a miss costs wal_retrieve_retry_interval, 5 s).
target_ms=$((2 * C_LOOP_WAIT * 1000))
# A standby asking for a slot the primary lacks makes the primary's walsender log 'ERROR:
# replication slot "NAME" does not exist': the new leader's log tells, and, unlike a rejoining
# node's (pg_rewind copies the source's files), it is not replaced meanwhile.
declare -A log_mark
# Remembers where each node's server log ends, before an action whose aftermath is checked.
mark_logs() {
	local n
	for n in node1 node2 node3; do
		log_mark[$n]=$(stat -c %s "$C_DIR/$n/data/postmaster.log" 2>/dev/null || echo 0)
	done
}
# The missing-slot errors in NODE's server log since mark_logs.
slot_misses() {
	tail -c +"$((${log_mark[$1]:-0} + 1))" "$C_DIR/$1/data/postmaster.log" 2>/dev/null |
		grep -E 'replication slot "[^"]*" does not exist' || true
}
assert_streams_in_time() { # WHAT T0_NS LEADER OLD_TL SURVIVOR...
	local what=$1 t0=$2 leader=$3 ms misses
	shift 2
	if ! ms=$(c_streams_after "$t0" "$@"); then
		curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$leader]}/cluster" || true
		t_fail "$what: ${*:3} never streamed on $leader's timeline within 60 s"
	fi
	t_log "$what: ${*:3} stream on $leader's timeline after $ms ms (target 2 x loop_wait = $target_ms ms$([ "$ms" -le "$target_ms" ] || echo ", MISSED"))"
	misses=$(slot_misses "$leader")
	[ -z "$misses" ] || t_fail "$what: a standby met a missing slot on $leader: $misses"
	t_pass "$what: ${*:3} stream on $leader's timeline ($ms ms), with no missing slot on the way"
}

# ---- bootstrap: node1 first, so it wins initialize; the others clone from it.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" role_is node1 primary
t_pass "bootstrap: node1 initialized the cluster and holds the leader key"
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" role_is node2 replica
t_wait_for 90 "node3 to run as a replica" role_is node3 replica
t_pass "bootstrap: node2 and node3 cloned and run as replicas"

c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('before-switchover')" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 before-switchover
t_wait_for 30 "the row to reach node3" has_row node3 before-switchover
t_pass "replication: a row written on the primary reaches both replicas"
rest_is() { [ "$(c_rest "$1" "$2")" = "$3" ]; }
t_wait_for 10 "/primary on node1 to answer 200" rest_is node1 /primary 200
t_pass "REST: /primary is 200 on the leader"
t_wait_for 10 "/replica on node2 to answer 200" rest_is node2 /replica 200
t_pass "REST: /replica is 200 on a replica"
t_assert_eq 503 "$(c_rest node2 /primary)" "REST: /primary is 503 on a replica"
t_assert_eq 503 "$(c_rest node1 /replica)" "REST: /replica is 503 on the primary"

# ---- patronictl reads the gsha cluster (same key layout).
cat >"$C_DIR/patronictl.yml" <<YAML
scope: $C_SCOPE
namespace: /service/
etcd3:
  hosts: ${ETCD_URL#http://}
YAML
out=$(patronictl -c "$C_DIR/patronictl.yml" list 2>&1 || true)
if echo "$out" | grep -E 'node1' | grep -qE 'Leader'; then
	t_pass "patronictl list shows node1 as Leader"
else
	echo "$out"
	t_fail "patronictl list does not show node1 as Leader"
fi

# ---- switchover to a named candidate through the REST API, as patronictl does.
# The leader judges a switchover candidate by its member key (running, a replica, at most
# maximum_lag_on_failover behind the leader's flush position) and clears the failover key at once
# when it is not yet healthy there ("candidate is not healthy"). A replica's key can trail its
# database by a cycle or more under load: wait until the key shows node2 healthy, as an operator
# would wait for patronictl list to, before asking.
candidate_ready() { # NAME LEADER
	local flush
	flush=$(c_psql "$2" "select pg_current_wal_flush_lsn() - '0/0'") || return 1
	c_key "members/$1" | python3 -c '
import json, sys
flush = int(sys.argv[1])
try:
    m = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
lsn = m.get("xlog_location")
sys.exit(0 if m.get("state") == "running" and m.get("role") not in ("master", "primary")
         and isinstance(lsn, int) and flush - lsn <= 1048576 else 1)' "$flush"
}
ready_t0=$(date +%s%N)
t_wait_for 30 "node2's member key to show a healthy switchover candidate" candidate_ready node2 node1
t_log "switchover: node2's member key showed a healthy candidate after $((($(date +%s%N) - ready_t0) / 1000000)) ms"
old_tl=$(c_timeline node1)
mark_logs
curl -s -o "$C_DIR/switchover.out" -w '%{http_code}' -m 40 -X POST \
	-H 'Content-Type: application/json' -d '{"leader":"node1","candidate":"node2"}' \
	"http://127.0.0.1:${C_API_PORT[node1]}/switchover" >"$C_DIR/switchover.code" 2>/dev/null &
request=$!
t_key=$(c_key_instant 30 node2) || t_fail "switchover: node2 did not take the leader key within 30 s"
assert_streams_in_time "switchover" "$t_key" node2 "$old_tl" node1 node3
wait "$request" || true
t_assert_eq 200 "$(cat "$C_DIR/switchover.code")" \
	"switchover: POST /switchover answers 200 ($(cat "$C_DIR/switchover.out"))"
t_wait_for 30 "node2 to run as primary" role_is node2 primary
t_wait_for 60 "node1 to rejoin as a replica" role_is node1 replica
c_psql node2 "insert into marks values ('after-switchover')" >/dev/null
t_wait_for 30 "the new row to reach node1" has_row node1 after-switchover
t_pass "switchover: node2 leads, node1 follows it, nothing committed was lost"
t_assert_eq 1 "$(c_psql node2 "select count(*) from marks where v = 'before-switchover'")" \
	"switchover: the row from before the switchover is on the new primary"
# GET /history serves the history key's rows (Patroni's [timeline, lsn, reason, timestamp,
# new leader]); the switchover wrote one naming node2.
history_names_node2() {
	curl -s -m 5 "http://127.0.0.1:${C_API_PORT[$1]}/history" |
		python3 -c 'import json,sys; rows=json.load(sys.stdin); sys.exit(0 if rows and rows[-1][0] == 1 and rows[-1][4] == "node2" else 1)'
}
t_wait_for 15 "GET /history on node3 to show timeline 1 ending with node2" history_names_node2 node3
t_pass "history: GET /history shows the switchover's row on every member"

# ---- agent-only crash on the primary: the database keeps running, no failover.
pm_before=$(c_postmaster_pid node2)
c_kill node2 KILL
# Restarted at once, as a supervisor would: the dead agent's guardian fences PostgreSQL at the
# dead agent's fence deadline (ttl - retry_timeout - ttl/100 after its last keepalive, which may
# have been loop_wait ago: 2-4 s from the kill here) unless a new agent takes over before it. The
# 2 s this step used to wait left a restart under load too little of that window.
sleep 0.3
t_assert_eq node2 "$(c_leader)" "agent crash: the leader key still names node2 while its lease lives"
c_start node2
t_wait_for 30 "the restarted agent of node2 to report primary" role_is node2 primary
sleep 3
t_assert_eq node2 "$(c_leader)" "agent crash: node2 carried on as leader without a failover"
t_assert_eq "$pm_before" "$(c_postmaster_pid node2)" \
	"agent crash: the restarted agent adopted its lease; the primary was never stopped"

# ---- database-only crash on the primary: restarted in place. The agent learns of the exit from
# its pidfd watch (issue 14), not from a status poll: its log says so. The time is logged, not
# asserted (tests/bench/postmaster_kill.sh measures it).
old_pid=$(c_postmaster_pid node2)
crash_t0=$(date +%s%N)
c_kill_db node2
new_pid_differs() { local p; p=$(c_postmaster_pid node2); [ -n "$p" ] && [ "$p" != "$old_pid" ] && writable node2; }
t_wait_for 60 "node2's database to be restarted in place" new_pid_differs
t_log "database crash: node2 writable again after $(( ($(date +%s%N) - crash_t0) / 1000000 )) ms"
t_assert_eq node2 "$(c_leader)" "database crash: node2 restarted its primary in place and kept the key"
grep -q "the postmaster (pid $old_pid) exited and was reaped" "$C_DIR/node2.log" ||
	t_fail "database crash: node2's agent did not notice the exit of pid $old_pid through its watch"
t_pass "database crash: node2's agent was woken by the postmaster's exit"

# ---- node loss: kill -9 the primary's agent and its database.
c_psql node2 "insert into marks values ('before-node-loss')" >/dev/null
t_wait_for 30 "the row to reach node1" has_row node1 before-node-loss
t_wait_for 30 "the row to reach node3" has_row node3 before-node-loss
db_pid=$(c_postmaster_pid node2)
old_tl=$(c_timeline node2)
mark_logs
c_kill node2 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_key=$(c_key_instant 60 '!node2') || t_fail "node loss: nobody took the leader key within 60 s"
new_leader=$(c_leader)
survivor=node1
[ "$new_leader" != node1 ] || survivor=node3
assert_streams_in_time "node loss" "$t_key" "$new_leader" "$old_tl" "$survivor"
t_wait_for 30 "$new_leader to accept writes" writable "$new_leader"
t_pass "node loss: $new_leader took over and accepts writes"
t_assert_eq 1 "$(c_psql "$new_leader" "select count(*) from marks where v = 'before-node-loss'")" \
	"node loss: the row replicated before the loss is on the new primary"
old_tl=$(($(c_timeline "$new_leader") - 1))
mark_logs
c_start node2
t_rec=$(c_recovery_instant 90 node2) || t_fail "rejoin: node2's database did not run in recovery within 90 s"
assert_streams_in_time "rejoin" "$t_rec" "$new_leader" "$old_tl" node2 "$survivor"
t_wait_for 90 "node2 to rejoin as a replica" role_is node2 replica
c_psql "$new_leader" "insert into marks values ('after-rejoin')" >/dev/null
t_wait_for 30 "the new row to reach node2" has_row node2 after-rejoin
t_pass "node loss: the old primary rejoined as a replica of $new_leader and streams"

# ---- manual failover to a named candidate, no leader named (POST /failover, as curl users do).
old_tl=$(c_timeline "$new_leader")
mark_logs
curl -s -o "$C_DIR/failover.out" -w '%{http_code}' -m 40 -X POST \
	-H 'Content-Type: application/json' -d '{"candidate":"node2"}' \
	"http://127.0.0.1:${C_API_PORT[node2]}/failover" >"$C_DIR/failover.code" 2>/dev/null &
request=$!
t_key=$(c_key_instant 40 node2) || t_fail "failover: node2 did not take the leader key within 40 s"
assert_streams_in_time "failover" "$t_key" node2 "$old_tl" "$new_leader" "$survivor"
wait "$request" || true
t_assert_eq "200 Successfully failed over to \"node2\"" \
	"$(cat "$C_DIR/failover.code") $(cat "$C_DIR/failover.out")" \
	"failover: POST /failover to node2 answers once node2 leads"
t_assert_eq node2 "$(c_leader)" "failover: node2 holds the leader key"
t_wait_for 30 "node2 to accept writes" writable node2
new_leader=node2

# ---- scheduled restart through the REST API (POST /restart with "schedule", DELETE /restart).
api2="http://127.0.0.1:${C_API_PORT[node2]}"
post_restart() {
	curl -s -o "$C_DIR/restart.out" -w '%{http_code}' -m 10 -X POST -H 'Content-Type: application/json' \
		-d "{\"schedule\":\"$1\"}" "$api2/restart" || true
}
at=$(date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%S+00:00)
t_assert_eq "202 Restart scheduled" "$(post_restart "$at") $(cat "$C_DIR/restart.out")" \
	"scheduled restart: POST /restart with a schedule answers 202"
t_assert_eq "409 Another restart is already scheduled" "$(post_restart "$at") $(cat "$C_DIR/restart.out")" \
	"scheduled restart: a second schedule is refused with 409"
scheduled_shown() { curl -s -m 2 "$api2/patroni" | grep -q '"scheduled_restart"'; }
t_wait_for 10 "/patroni to show the scheduled restart" scheduled_shown
t_pass "scheduled restart: /patroni shows it"
t_assert_eq "200 scheduled restart deleted" \
	"$(curl -s -o "$C_DIR/restart.out" -w '%{http_code}' -m 10 -X DELETE "$api2/restart") $(cat "$C_DIR/restart.out")" \
	"scheduled restart: DELETE /restart removes it"
t_assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X DELETE "$api2/restart")" \
	"scheduled restart: DELETE /restart with nothing scheduled is 404"
pm_before=$(c_postmaster_pid node2)
at=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%S+00:00)
t_assert_eq 202 "$(post_restart "$at")" "scheduled restart: scheduled 3 s ahead"
restarted() { local p; p=$(c_postmaster_pid node2); [ -n "$p" ] && [ "$p" != "$pm_before" ] && writable node2; }
t_wait_for 30 "node2's postmaster to be restarted at its time" restarted
t_assert_eq node2 "$(c_leader)" "scheduled restart: node2 restarted at its time and kept the key"

# ---- clean shutdown of the leader releases the key at once.
c_kill "$new_leader" TERM
t_assert_eq "" "$(c_leader | grep -x "$new_leader" || true)" \
	"clean shutdown: $new_leader released the leader key on SIGTERM"
t_done
