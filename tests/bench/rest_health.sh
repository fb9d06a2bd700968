#!/usr/bin/env bash
# Benchmark, not a test (not registered in meson): health-check throughput and tail latency of
# gsha's REST server with many concurrent clients, beside Patroni in the same run.
#
#   tests/bench/rest_health.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
#
# gsha side: rest-harness (the test harness around the real server) serving a primary snapshot.
# Patroni side (skipped with NO_PATRONI=1): a single Patroni node against a throw-away etcd and
# PostgreSQL 15 (run as user postgres), all on 127.0.0.1 with free ports and a temp dir.
# Both are hit with wrk on GET /primary; the script prints req/s, latency percentiles and the
# ratio. Both servers close the connection after each response (HTTP/1.0), so every request
# includes a TCP connect, as HAProxy's checks do.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${1:-${GSHA_BUILD_DIR:-$root/build}}
SECONDS_RUN=${2:-10}
CONNS=${3:-32}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"

command -v wrk >/dev/null || t_fail "wrk is not installed"

run_wrk() { # LABEL URL
	echo "== $1: wrk -t2 -c$CONNS -d${SECONDS_RUN}s --latency $2"
	wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "$2" | tee "$t_tmpdir/wrk-$1.txt" |
		grep -E 'Requests/sec|Latency |^ +(50|75|90|99)%|Non-2xx|Socket errors'
}
rps() { awk '/Requests\/sec/ {print $2}' "$t_tmpdir/wrk-$1.txt"; }

GPORT=$(t_free_port)
"$GSHA_BUILD_DIR/tests/integration/rest-harness" --port "$GPORT" --state primary >"$t_tmpdir/gsha.log" 2>&1 &
t_register_pid $!
t_wait_for 10 "gsha REST on $GPORT" curl -sf -o /dev/null "http://127.0.0.1:$GPORT/primary"
run_wrk gsha "http://127.0.0.1:$GPORT/primary"

if [ -z "${NO_PATRONI:-}" ]; then
	t_start_etcd
	PPORT=$(t_free_port)
	PGPORT=$(t_free_port)
	cat >"$t_tmpdir/patroni.yml" <<YML
scope: bench
name: p1
restapi:
  listen: 127.0.0.1:$PPORT
  connect_address: 127.0.0.1:$PPORT
etcd3:
  hosts: 127.0.0.1:$ETCD_PORT
bootstrap:
  dcs: {ttl: 30, loop_wait: 10, retry_timeout: 10}
  initdb: [{encoding: UTF8}]
postgresql:
  listen: 127.0.0.1:$PGPORT
  connect_address: 127.0.0.1:$PGPORT
  data_dir: $t_tmpdir/pgdata
  bin_dir: $PG_BIN
  pgpass: $t_tmpdir/pgpass
  authentication:
    superuser: {username: postgres, password: bench}
    replication: {username: replicator, password: bench}
  parameters: {unix_socket_directories: '$t_tmpdir'}
YML
	chown postgres:postgres "$t_tmpdir/patroni.yml"
	t_as_postgres patroni "$t_tmpdir/patroni.yml" >"$t_tmpdir/patroni.log" 2>&1 &
	runuser_pid=$!
	t_register_pid "$runuser_pid"
	t_wait_for 90 "Patroni primary on $PPORT" curl -sf -o /dev/null "http://127.0.0.1:$PPORT/primary"
	# runuser does not pass SIGTERM on: stop Patroni itself (it stops PostgreSQL) and wait,
	# so nothing outlives the temp dir.
	patroni_pid=$(pgrep -P "$runuser_pid" | head -1)
	[ -n "$patroni_pid" ] || t_fail "could not find the Patroni process under runuser $runuser_pid"
	stop_patroni() {
		kill -TERM "$patroni_pid" 2>/dev/null || return 0
		for _ in $(seq 120); do
			kill -0 "$patroni_pid" 2>/dev/null || break
			sleep 0.5
		done
		[ -f "$t_tmpdir/pgdata/postmaster.pid" ] && echo "warning: PostgreSQL still running" >&2
		return 0
	}
	run_wrk patroni "http://127.0.0.1:$PPORT/primary"
	stop_patroni
	g=$(rps gsha) p=$(rps patroni)
	echo "== throughput ratio gsha/patroni: $(awk -v g="$g" -v p="$p" 'BEGIN { if (p > 0) printf "%.1fx", g / p; else print "n/a" }') ($g vs $p req/s)"
fi
