#!/usr/bin/env bash
# Issue 14 items 4 and 5 without PID 1: the agent runs under a parent that never reaps (a shell
# that started it in the background and then became `sleep`), on a host whose init reaps orphans
# late. pg_ctl daemonizes the postmaster, which therefore used to be init's child: killed, it
# stayed a zombie until init came round, and PostgreSQL will not start while the pid in
# postmaster.pid exists. The agent is a child subreaper now: the postmaster it starts is its own
# child, and after a kill -9 of the postmaster (the agent untouched) it is reaped and started
# again in place, with the agent as the new postmaster's parent, leaving no zombie behind. The
# restart launches postgres directly (in a session of its own, output to the server log).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "reap$$"
c_config node1
t_on_failure() {
	echo "---- node1.log (tail)"
	tail -40 "$C_DIR/node1.log" 2>/dev/null
}

# The parent: sh starts gsha in the background, then execs sleep, which never waits for it.
runuser -u postgres -- sh -c '"$0" "$1" >>"$2" 2>&1 & exec sleep 600' \
	"$GSHA_BUILD_DIR/gsha" "$C_DIR/node1.yml" "$C_DIR/node1.log" &
runuser_pid=$!
t_register_pid $runuser_pid
ppid_of() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "$2"; }
state_of() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; echo "${s%% *}"; }
sleeper() { pgrep -P "$runuser_pid" -x sleep; }
t_wait_for 10 "the agent's parent" sleeper
parent=$(sleeper)
t_register_pid "$parent"
agent_of() { pgrep -P "$parent" -x gsha; }
t_wait_for 10 "the agent under its parent" agent_of
agent=$(agent_of)
t_register_pid "$agent"
t_assert_eq sleep "$(cat /proc/$parent/comm)" "the agent's parent is a process that never reaps"
t_wait_for 90 "node1 to lead" eval '[ "$(c_leader)" = node1 ]'
t_wait_for 60 "node1 to run as primary" c_running node1 primary
old=$(c_postmaster_pid node1)
[ -n "$old" ] || t_fail "no postmaster.pid"
t_assert_eq "$agent" "$(ppid_of "$old")" "the postmaster pg_ctl daemonized is the agent's child (the agent is a subreaper)"

# Backends too: open a session, so the kill leaves an orphaned backend holding shared memory.
runuser -u postgres -- "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "${C_PG_PORT[node1]}" -d postgres \
	-c "select pg_sleep(30)" >/dev/null 2>&1 &
sess=$!
t_register_pid $sess
busy() { [ "$(c_psql node1 "select count(*) from pg_stat_activity where query like 'select pg_sleep%'")" -ge 1 ]; }
t_wait_for 10 "a session running on node1" busy
t_kill=$(date +%s%N)
kill -KILL "$old"
new_pm() { local p; p=$(c_postmaster_pid node1); [ -n "$p" ] && [ "$p" != "$old" ]; }
t_wait_for 60 "a new postmaster" new_pm
t_wait_for 60 "node1 to run as primary again" c_running node1 primary
t_back=$(date +%s%N)
t_log "postmaster killed -> primary again in $(((t_back - t_kill) / 1000000)) ms"
new=$(c_postmaster_pid node1)
t_assert_eq node1 "$(c_leader)" "node1 still leads: restarted in place, no failover"
t_assert_eq "$agent" "$(ppid_of "$new")" "the new postmaster's parent is the agent"
# The restart launches postgres itself (no pg_ctl): as pg_ctl would, in a session of its own, so
# no signal meant for the agent's group or terminal reaches it, with its output in the server log.
sid_of() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; echo "$4"; }
t_assert_eq "$new" "$(sid_of "$new")" "the new postmaster leads a session of its own"
grep -q "database system was interrupted" "$C_DIR/node1/data/postmaster.log" ||
	t_fail "the restarted server's crash recovery is not in its log $C_DIR/node1/data/postmaster.log"
t_pass "the restarted server logs to the server log"
awk '/the postmaster \(pid '"$old"'\) exited and was reaped/ { seen = 1 }
	seen && /starting primary after failure/ { ok = 1; exit } END { exit !ok }' "$C_DIR/node1.log" ||
	t_fail "no restart decided after the agent saw the postmaster ($old) exit"
t_pass "the restart was decided once the agent saw the postmaster exit"
gone() { ! state_of "$old" >/dev/null; }
t_wait_for 5 "the old postmaster's pid to be gone" gone
t_pass "the killed postmaster (pid $old) was reaped, not left a zombie"
zombie_children() { # the agent's children in state Z
	local f s
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s
		[ "$2" = "$agent" ] && [ "$1" = Z ] && echo "${f#/proc/}"
	done
	return 0
}
no_zombies() { [ -z "$(zombie_children)" ]; }
t_wait_for 5 "no zombie child of the agent" no_zombies
t_pass "no zombie left among the agent's children"
# The checks above may run while the new server still replays (crash recovery): wait for it.
writes_again() { c_psql node1 "create table if not exists after_restart(v int); insert into after_restart values (1)" >/dev/null; }
t_wait_for 30 "node1 to take writes after the restart" writes_again
t_pass "node1 takes writes again"
grep -q "could not start" "$C_DIR/node1.log" &&
	t_fail "a start over the old server's remains was logged as failed: $(grep "could not start" "$C_DIR/node1.log" | head -2)"
t_pass "no failed start logged while the old server's processes were going"
t_done
