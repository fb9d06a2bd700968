#!/usr/bin/env bash
# Issue 14 item 2, the guardian: a frozen or dead leader's agent no longer leaves its PostgreSQL
# acknowledging commits beside a new primary. Three nodes, real etcd and PostgreSQL 15, a writer
# per node (lib/writers.sh) so a second writable primary cannot go unseen.
#
#   async: SIGSTOP of the primary's agent for 2 x ttl: the old primary acknowledges its last
#          commit before the new primary acknowledges its first, and its guardian says so
#   kill -9 of the primary's agent: its guardian fences PostgreSQL at the dead agent's fence
#          deadline (before the lease can expire), a failover follows
#   pause: kill -9 of the primary's agent: nothing is fenced, PostgreSQL keeps running
#   SIGTERM of the primary's agent: the agent's own shutdown (fast stop, key released), no fence
#   sync:  the SIGSTOP case again with synchronous_mode, and no acknowledged commit lost
#   PID 1: one node with the agent as PID 1 of a PID namespace: SIGSTOP of the agent fences,
#          kill -9 of the agent ends PostgreSQL with the namespace
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/lib/writers.sh"

# The guardian's page file of a data directory (src/agent/guardian.c: FNV-1a of its path);
# an agent killed for good leaves it behind: removed at exit.

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "guard$$"
for n in node1 node2 node3; do
	c_config "$n"
	C_GUARDIAN_PAGES+=("$(c_guardian_page "$C_DIR/$n/data")")
done

FROZEN=
t_on_failure() {
	[ -z "$FROZEN" ] || kill -CONT $FROZEN 2>/dev/null || true
	# The PID namespace's init, if the test failed before registering it: killing a namespace's
	# PID 1 kills everything in it (setpriv cleared unshare's --kill-child signal).
	if [ -n "${unshare_pid:-}" ] && [ -z "${init:-}" ]; then
		local i
		i=$(child_of "$unshare_pid") && kill -KILL "$i" 2>/dev/null
	fi
	w_stop
	for n in node1 node2 node3; do
		echo "---- $n: /sync $(c_rest "$n" /sync), role $(c_role "$n"), replication:" \
			"$(c_psql "$n" "select application_name, state, sync_state from pg_stat_replication" | tr '\n' ' ')"
	done
	tail -3 "$(t_tmpdir)"/frozen-*/w-*.log 2>/dev/null
	for n in node1 node2 node3 solo; do
		[ -e "$C_DIR/$n.log" ] || continue
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}


leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
role_is() { c_is "$1" "$2"; }
now_us() { date +%s%6N; }
agent_pid() { pgrep -P "${C_PID[$1]}" -x gsha || true; }
guardian_pid() { local a; a=$(agent_pid "$1"); [ -z "$a" ] || pgrep -P "$a" -x gsha-guardian || true; }
pid_gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
patch_config() { # node, json
	curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH -H 'Content-Type: application/json' \
		-d "$2" "http://127.0.0.1:${C_API_PORT[$1]}/config"
}
paused_everywhere() {
	[ "$(ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only \
		--prefix "/service/$C_SCOPE/members/" 2>/dev/null | grep -c '"pause": *true')" = 3 ]
}
others_replicas() { # every node but $1 runs as a replica
	local n
	for n in node1 node2 node3; do
		[ "$n" = "$1" ] || role_is "$n" replica || return 1
	done
}
fence_lines() { grep -c 'guardian: .*fenced PostgreSQL' "$C_DIR/$1.log" || true; }

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" role_is node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 and node3 to run as replicas" others_replicas node1
c_psql node1 "create table bench_w(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
[ -n "$(guardian_pid node1)" ] || t_fail "node1's agent runs no guardian process"
t_pass "setup: node1 leads three nodes; its agent runs a guardian (pid $(guardian_pid node1))"

# ---- SIGSTOP of the primary's agent for 2 x ttl, writers on every node.
frozen_case() { # mode
	local mode=$1 old agent t0 run fenced_before res old_acks old_last new new_first after overlap lost
	old=$(c_leader)
	agent=$(agent_pid "$old")
	fenced_before=$(fence_lines "$old")
	run=$(t_tmpdir)/frozen-$mode
	mkdir -p "$run"
	w_start "$run" $((C_TTL * 2 + 60))
	t_wait_for 20 "the writer to commit on $old" grep -q '^ok ' "$run/w-$old.log"
	# runuser stops itself when its child stops (util-linux su): both are continued after.
	t0=$(now_us)
	kill -STOP "$agent"
	FROZEN="$agent ${C_PID[$old]}"
	sleep $((C_TTL * 2))
	kill -CONT $FROZEN
	FROZEN=
	t_wait_for 60 "another node to take the leader key" eval '[ -n "$(c_leader)" ] && [ "$(c_leader)" != "$old" ]'
	new=$(c_leader)
	t_wait_for 60 "the writer to commit on $new" grep -q '^ok ' "$run/w-$new.log"
	t_wait_for 120 "$old to rejoin as a replica" role_is "$old" replica
	w_stop
	read -r old_acks old_last new new_first after overlap <<<"$(w_analyse "$run" "$old" "$t0")"
	t_log "$mode: $old's agent frozen at 0; $old acknowledged $old_acks commits after, the last at" \
		"$(((old_last - t0) / 1000)) ms; $new's first commit at $(((new_first - t0) / 1000)) ms"
	[ "$old_acks" -gt 0 ] || t_fail "$mode: $old acknowledged nothing after its agent froze (not measuring)"
	[ "$new_first" -gt 0 ] || t_fail "$mode: no other node acknowledged a commit"
	[ "$after" = 0 ] || t_fail "$mode: $old acknowledged $after commits after $new's first ($overlap ms with two writable primaries)"
	[ "$old_last" -lt "$new_first" ] || t_fail "$mode: $old's last commit is not before $new's first"
	t_pass "$mode: $old stopped acknowledging $(((new_first - old_last) / 1000)) ms before $new's first commit; never two writable primaries"
	[ "$(fence_lines "$old")" -gt "$fenced_before" ] || t_fail "$mode: $old's log has no guardian fence line"
	t_pass "$mode: $old's guardian logged: $(grep 'guardian: .*fenced PostgreSQL' "$C_DIR/$old.log" | tail -1 | cut -c1-220)"
	lost=$(w_lost "$run" "$new")
	t_log "$mode: acknowledged commits missing on $new: $lost"
	if [ "$mode" = sync ]; then
		t_assert_eq 0 "$lost" "sync: no acknowledged commit lost"
	fi
}
frozen_case async

# ---- kill -9 of the primary's agent, not restarted: the guardian fences at its fence deadline,
# a failover follows. (An agent restarted before that takes over: tests/integration/ha_cluster.sh,
# "agent crash".)
old=$(c_leader)
pm=$(c_postmaster_pid "$old")
gpid=$(guardian_pid "$old")
[ -n "$pm" ] && [ -n "$gpid" ] || t_fail "kill -9: $old has no postmaster ($pm) or no guardian ($gpid)"
t0=$(now_us)
c_kill "$old" KILL
t_wait_for 30 "$old's postmaster $pm to be fenced" pid_gone "$pm"
t_log "kill -9: $old's postmaster gone $((($(now_us) - t0) / 1000)) ms after its agent was killed (polled)"
t_wait_for 30 "$old's guardian $gpid to exit" pid_gone "$gpid"
grep -q "guardian: the agent (pid [0-9]*) died while it held the leader key and no agent took over by its fence deadline: fenced PostgreSQL" "$C_DIR/$old.log" ||
	t_fail "kill -9: no guardian line in $old's log"
t_pass "kill -9: $old's guardian fenced PostgreSQL at the dead agent's fence deadline and exited"
t_wait_for 60 "another node to take the leader key" eval '[ -n "$(c_leader)" ] && [ "$(c_leader)" != "$old" ]'
new=$(c_leader)
t_wait_for 30 "$new to run as primary" role_is "$new" primary
t_pass "kill -9: failover to $new"
c_start "$old"
t_wait_for 120 "$old to rejoin as a replica" role_is "$old" replica

# ---- pause: kill -9 of the primary's agent fences nothing.
lead=$(c_leader)
t_assert_eq 200 "$(patch_config "$lead" '{"pause": true}')" "pause: PATCH /config {\"pause\": true} answers 200"
t_wait_for 30 "every member key to show pause" paused_everywhere
pm=$(c_postmaster_pid "$lead")
gpid=$(guardian_pid "$lead")
fenced_before=$(fence_lines "$lead")
c_kill "$lead" KILL
t_wait_for 30 "$lead's guardian $gpid to exit" pid_gone "$gpid"
pid_gone "$pm" && t_fail "pause: $lead's postmaster was stopped although the cluster is paused"
c_psql "$lead" "insert into bench_w(seq) values (1)" >/dev/null ||
	t_fail "pause: $lead's database does not accept writes after its agent died"
t_assert_eq "$fenced_before" "$(fence_lines "$lead")" "pause: the guardian exited without fencing; $lead's PostgreSQL runs on (pid $pm)"
c_start "$lead"
t_wait_for 60 "$lead's agent to publish it as primary again" role_is "$lead" primary
t_assert_eq "$pm" "$(c_postmaster_pid "$lead")" "pause: the restarted agent adopted the running postmaster"
t_assert_eq 200 "$(patch_config "$lead" '{"pause": false}')" "resume: PATCH /config {\"pause\": false} answers 200"
t_wait_for 30 "the member keys to drop pause" eval '! paused_everywhere'

# ---- SIGTERM of the primary's agent: its own shutdown, no fence.
lead=$(c_leader)
gpid=$(guardian_pid "$lead")
fenced_before=$(fence_lines "$lead")
fast_count() { grep -c "fast shutdown request" "$C_DIR/$lead/data/postmaster.log" 2>/dev/null || true; }
fast_before=$(fast_count)
c_kill "$lead" TERM
pid_gone "$gpid" || t_fail "SIGTERM: the guardian $gpid outlived its agent"
grep -q "shut down" "$C_DIR/$lead.log" || t_fail "SIGTERM: $lead's agent did not log its shutdown"
t_assert_eq "$fenced_before" "$(fence_lines "$lead")" "SIGTERM: the guardian fenced nothing"
[ "$(fast_count)" -gt "${fast_before:-0}" ] ||
	t_fail "SIGTERM: PostgreSQL on $lead was not stopped by a fast shutdown"
t_pass "SIGTERM: $lead's agent stopped PostgreSQL itself (fast shutdown) and its guardian exited with it"
t_wait_for 60 "another node to take the leader key" eval '[ -n "$(c_leader)" ] && [ "$(c_leader)" != "$lead" ]'
c_start "$lead"
t_wait_for 120 "$lead to rejoin as a replica" role_is "$lead" replica

# ---- synchronous mode: the SIGSTOP case again.
lead=$(c_leader)
t_assert_eq 200 "$(patch_config "$lead" '{"synchronous_mode": true}')" "sync: PATCH /config {\"synchronous_mode\": true} answers 200"
has_sync() { local n; for n in node1 node2 node3; do [ "$(c_rest "$n" /sync)" = 200 ] && return 0; done; return 1; }
t_wait_for 60 "a synchronous standby" has_sync
frozen_case sync

# ---- the agent as PID 1 of a PID namespace (a container without an init; src/agent/pid1.c):
# PID 1 is the minimal init, the agent its child, the guardian the agent's child.
for n in node1 node2 node3; do
	c_kill "$n" TERM
done
c_init "$(t_tmpdir)/pid1" "$ETCD_URL" "guard1$$"
c_config solo
C_GUARDIAN_PAGES+=("$(c_guardian_page "$C_DIR/solo/data")")
unshare --pid --fork --kill-child=TERM --mount-proc \
	setpriv --reuid postgres --regid postgres --init-groups \
	"$GSHA_BUILD_DIR/gsha" "$C_DIR/solo.yml" >"$C_DIR/solo.log" 2>&1 &
unshare_pid=$!
t_register_pid $unshare_pid
child_of() { # PID: its first child's PID (by the parent field of /proc/*/stat)
	local parent=$1 f s
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s # state, parent, ...
		if [ "$2" = "$parent" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
			return 0
		fi
	done 2>/dev/null
	return 1
}
t_wait_for 60 "the namespace's PID 1" child_of "$unshare_pid"
init=$(child_of "$unshare_pid")
t_register_pid "$init" # setpriv clears unshare's --kill-child signal
t_wait_for 90 "solo to lead" eval '[ "$(c_leader)" = solo ]'
t_wait_for 60 "solo to run as primary" c_running solo primary
agent=$(pgrep -P "$init" -x gsha || true)
gpid=$([ -z "$agent" ] || pgrep -P "$agent" -x gsha-guardian || true)
[ -n "$agent" ] && [ -n "$gpid" ] || t_fail "PID 1: no agent ($agent) under PID 1 $init or no guardian ($gpid) under it"
t_pass "PID 1: init $init, agent $agent, guardian $gpid"
# postmaster.pid holds the namespace's pid: look it up in there.
in_ns() { nsenter --target "$init" --pid --mount "$@"; }
ns_pid_gone() { ! in_ns sh -c "[ -e /proc/$1 ] && ! grep -q '^State:.*Z' /proc/$1/status"; }
pm=$(c_postmaster_pid solo)
[ -n "$pm" ] && ! ns_pid_gone "$pm" || t_fail "PID 1: no running postmaster ($pm) in the namespace"
kill -STOP "$agent"
FROZEN=$agent
t_wait_for $((C_TTL * 2)) "solo's postmaster $pm to be fenced while its agent is frozen" ns_pid_gone "$pm"
kill -CONT "$agent"
FROZEN=
t_wait_for 10 "the guardian's line in solo's log" grep -q 'guardian: .*did not renew.*fenced PostgreSQL' "$C_DIR/solo.log"
t_pass "PID 1: the frozen agent's guardian fenced PostgreSQL (pid $pm)"
writable_again() { [ "$(c_psql solo "select not pg_is_in_recovery()")" = t ] && [ "$(c_postmaster_pid solo)" != "$pm" ]; }
t_wait_for 60 "solo's PostgreSQL to run as primary again" writable_again
# Outside the namespace, PostgreSQL's processes are those whose working directory is solo's
# data directory (the postmaster and every backend chdir there).
in_data_dir() {
	local f
	for f in /proc/[0-9]*/cwd; do
		[ "$(readlink "$f" 2>/dev/null)" = "$C_DIR/solo/data" ] && echo "${f//[^0-9]/}"
	done
	return 0
}
pg_gone() { [ -z "$(in_data_dir)" ]; }
pg_pids=$(in_data_dir | tr '\n' ' ')
[ -n "$pg_pids" ] || t_fail "PID 1: no process found in solo's data directory (not measuring)"
kill -KILL "$agent"
t_wait_for 30 "the namespace to end" pid_gone "$init"
t_wait_for 30 "solo's PostgreSQL (pids $pg_pids) to be gone after its agent was killed" pg_gone
t_pass "PID 1: kill -9 of the agent ends the namespace and its PostgreSQL (pids $pg_pids)"
t_done
