#!/usr/bin/env bash
# The agent as PID 1 (a container without an init, issue 14 item 5), on real etcd and
# PostgreSQL 15: gsha runs as PID 1 of a new PID namespace (unshare --pid). It must reap every
# orphan, so a killed postmaster (daemonized by pg_ctl, so PID 1's orphan) is dead at once and is
# restarted in place, leaving no zombie; a SIGTERM to PID 1 stops PostgreSQL and exits 0.
# Before, PID 1 reaped nothing: the killed postmaster stayed a zombie, which kill(pid, 0) counts
# as alive, and the agent waited for it for ever.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v unshare >/dev/null && command -v nsenter >/dev/null ||
	t_fail "unshare and nsenter (util-linux) are needed"
t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "pid1$$"
c_config node1

t_on_failure() {
	# The PID namespace's init, if the test failed before registering it: killing a namespace's
	# PID 1 kills everything in it (setpriv cleared unshare's --kill-child signal).
	if [ -n "${unshare_pid:-}" ] && [ -z "${init:-}" ]; then
		local i
		i=$(child_of) && kill -KILL "$i" 2>/dev/null
	fi
	echo "---- node1.log (tail)"
	tail -40 "$C_DIR/node1.log" 2>/dev/null
}

unshare --pid --fork --kill-child=TERM --mount-proc \
	setpriv --reuid postgres --regid postgres --init-groups \
	"$GSHA_BUILD_DIR/gsha" "$C_DIR/node1.yml" >"$C_DIR/node1.log" 2>&1 &
unshare_pid=$!
t_register_pid $unshare_pid
child_of() { # PID: its child's PID (by the parent field of /proc/*/stat)
	local f s
	for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s # state, parent, ...
		if [ "$2" = "$CHILD_OF" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
			return 0
		fi
	done
	return 1
}
CHILD_OF=$unshare_pid
t_wait_for 60 "the namespace's PID 1" child_of
init=$(child_of)
# Stopped by PID as well: setpriv's change of user clears unshare's --kill-child signal, so
# stopping unshare alone would leave the namespace running.
t_register_pid "$init"
in_ns() { nsenter --target "$init" --pid --mount "$@"; }
t_wait_for 90 "node1 to lead" eval '[ "$(c_leader)" = node1 ]'
t_wait_for 60 "node1 to run as primary" c_running node1 primary
t_assert_eq "$GSHA_BUILD_DIR/gsha $C_DIR/node1.yml " "$(tr '\0' ' ' <"/proc/$init/cmdline")" \
	"the namespace's PID 1 is gsha"
t_assert_eq "$GSHA_BUILD_DIR/gsha $C_DIR/node1.yml " "$(in_ns sh -c "tr '\\0' ' ' </proc/1/cmdline")" \
	"inside the namespace, /proc/1 is that gsha"
t_pass "gsha runs as PID 1 of its PID namespace and leads"

zombies() { # the namespace's zombies, as "pid:command"
	in_ns sh -c 'for f in /proc/[0-9]*/stat; do
		s=$(cat "$f" 2>/dev/null) || continue
		case "${s##*) }" in Z*) echo "${s%% *}:$(echo "$s" | sed "s/^[0-9]* (\(.*\)) .*/\1/")";; esac
	done'
}
old=$(c_postmaster_pid node1)
[ -n "$old" ] || t_fail "no postmaster.pid"
t_kill=$(date +%s%N)
in_ns kill -KILL "$old"
new_pm() { local p; p=$(c_postmaster_pid node1); [ -n "$p" ] && [ "$p" != "$old" ]; }
t_wait_for 60 "a new postmaster" new_pm
t_wait_for 60 "node1 to run as primary again" c_running node1 primary
t_back=$(date +%s%N)
t_log "postmaster killed -> primary again in $(((t_back - t_kill) / 1000000)) ms"
t_pass "the killed postmaster (namespace pid $old) was restarted in place (now $(c_postmaster_pid node1))"
no_zombie() { [ -z "$(zombies)" ]; }
t_wait_for 5 "no zombie in the namespace" no_zombie
t_pass "no zombie is left in the namespace"

kill -TERM "$init"
rc=0
wait "$unshare_pid" || rc=$?
t_assert_eq 0 "$rc" "SIGTERM to PID 1: the agent stopped and PID 1 exited 0"
[ ! -e "$C_DIR/node1/data/postmaster.pid" ] || t_fail "PostgreSQL still runs after the agent stopped"
t_pass "PostgreSQL was stopped before PID 1 exited"
t_done
