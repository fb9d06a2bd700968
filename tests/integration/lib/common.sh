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
	for pid in "${T_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${T_PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ -n "${T_KEEP_ON_FAILURE:-}" ]; then
		t_log "kept $t_tmpdir for inspection"
	else
		rm -rf "$t_tmpdir"
	fi
	exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# Ports handed out in this process, so two calls never return the same one.
T_PORTS_GIVEN=" "
t_free_port() {
	local port
	for _ in $(seq 200); do
		port=$((20000 + RANDOM % 30000))
		case "$T_PORTS_GIVEN" in *" $port "*) continue ;; esac
		if ! ss -Hltn "sport = :$port" | grep -q .; then
			T_PORTS_GIVEN+="$port "
			echo "$port"
			return 0
		fi
	done
	t_fail "no free port found"
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
