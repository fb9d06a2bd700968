#!/usr/bin/env bash
# Shared helpers for integration tests. Source it first; it sets strict mode, a per-test temp
# directory and an EXIT trap that stops, by PID, everything the test registered.
#
#   t_tmpdir                      the test's temp directory (owned by postgres, removed at exit)
#   t_free_port                   prints a free TCP port on 127.0.0.1
#   t_register_pid PID            kill PID (and its process group) when the test ends
#   t_as_postgres CMD...          run CMD as the postgres user (PostgreSQL refuses root)
#   t_wait_for SECONDS DESC CMD.. poll CMD every 0.1 s until it succeeds, or fail with DESC
#   t_pass MSG / t_fail MSG       report one check; t_fail ends the test with exit 1
#   t_assert_eq WANT GOT MSG      compare strings
#   t_done                        print the closing "N passed, 0 failed" line
# A test that wants to show more on failure (logs) defines t_on_failure; do not replace the EXIT
# trap, or the test's exit status is lost.
set -euo pipefail

T_NAME=$(basename "${BASH_SOURCE[1]:-$0}")
T_PASSED=0
T_PIDS=()
T_CLEANUP_HOOKS=() # functions run at exit after the PIDs are stopped (lib/cluster.sh adds one)
GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build-test}
GSHA_SOURCE_DIR=${GSHA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export GSHA_BUILD_DIR GSHA_SOURCE_DIR PG_BIN

t_tmpdir=$(mktemp -d "/tmp/gsha-it-${T_NAME%.sh}.XXXXXX")
chmod 755 "$t_tmpdir"
chown postgres:postgres "$t_tmpdir" 2>/dev/null || true
t_tmpdir() { echo "$t_tmpdir"; }

t_log() { echo "[$T_NAME] $*" >&2; }

t_register_pid() { T_PIDS+=("$1"); }

t_cleanup() {
	local rc=$?
	local pid
	if [ "$rc" -ne 0 ] && declare -F t_on_failure >/dev/null; then
		t_on_failure || true
	fi
	# The agents first, while etcd still answers their shutdown's last writes. An agent runs under
	# runuser (c_start), which, sent SIGTERM, passes it on, then sleeps 2 s whether or not the
	# agent is gone, and kills it: every cluster test ended at least 2 s after its last check.
	# The agent is signalled itself, and runuser ends as soon as it does; the same 2 s bound.
	local -A kids=()
	for pid in "${T_PIDS[@]}"; do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = runuser ] || continue
		kids[$pid]=$(pgrep -P "$pid" | tr '\n' ' ' || true)
		# shellcheck disable=SC2086
		[ -n "${kids[$pid]}" ] && kill -TERM ${kids[$pid]} 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${!kids[@]}"; do
		for _ in $(seq 20); do
			kill -0 "$pid" 2>/dev/null || continue 2
			sleep 0.1
		done
		# Still there after 2 s: SIGKILL, as runuser would have. Only then: once runuser has
		# ended, its children's PIDs are reaped and may name someone else's process by now.
		# shellcheck disable=SC2086
		kill -KILL ${kids[$pid]} "$pid" 2>/dev/null || true
	done
	for pid in "${T_PIDS[@]}"; do
		[ -z "${kids[$pid]+set}" ] || continue
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${T_PIDS[@]}"; do
		[ -z "${kids[$pid]+set}" ] || continue
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	# After the agents are gone, so none restarts what a hook stops.
	local hook
	for hook in "${T_CLEANUP_HOOKS[@]}"; do
		"$hook" || true
	done
	t_release_ports
	if [ "$rc" -ne 0 ] && [ -n "${T_KEEP_ON_FAILURE:-}" ]; then
		t_log "kept $t_tmpdir for inspection"
	else
		rm -rf "$t_tmpdir"
	fi
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# Ports are reserved across every test process on the machine (tests of several checkouts may
# run at once): a port is ours when we create /tmp/gsha-ports/PORT first (noclobber makes that
# atomic) and nothing listens on it. A reservation whose owner is gone is taken over.
T_PORT_DIR=/tmp/gsha-ports
T_PORTS_GIVEN=" "
t_free_port() {
	local port owner
	mkdir -p "$T_PORT_DIR"
	# Below the kernel's ephemeral range (32768 and up), where outgoing connections take their
	# local ports and could hold one we picked.
	for _ in $(seq 500); do
		port=$((10000 + RANDOM % 22768))
		case "$T_PORTS_GIVEN" in *" $port "*) continue ;; esac
		if ! (set -o noclobber; echo "$$" >"$T_PORT_DIR/$port") 2>/dev/null; then
			owner=$(cat "$T_PORT_DIR/$port" 2>/dev/null || true)
			if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then
				continue
			fi
			echo "$$" >"$T_PORT_DIR/$port"
		fi
		if ss -Hltn "sport = :$port" | grep -q .; then
			continue
		fi
		T_PORTS_GIVEN+="$port "
		echo "$port"
		return 0
	done
	t_fail "no free port found"
}

# Port picks run in $(...) subshells, so the list above does not reach here; the files name
# this shell's PID ($$ is the same in subshells).
t_release_ports() {
	local f
	for f in "$T_PORT_DIR"/*; do
		[ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] && rm -f "$f"
	done
	return 0
}

t_as_postgres() { runuser -u postgres -- "$@"; }

t_wait_for() {
	local seconds=$1 desc=$2
	shift 2
	local deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			t_fail "timed out after ${seconds}s waiting for: $desc"
		fi
		sleep 0.1
	done
}

t_pass() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok $T_PASSED - $*"
}

t_fail() {
	echo "not ok - $*"
	echo "$T_PASSED passed, 1 failed"
	exit 1
}

t_assert_eq() {
	if [ "$1" = "$2" ]; then
		t_pass "$3"
	else
		t_fail "$3: expected \"$1\", got \"$2\""
	fi
}

t_done() {
	echo "$T_PASSED passed, 0 failed"
}
