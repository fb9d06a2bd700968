#!/usr/bin/env bash
# Benchmark, not a test (not registered in meson): health-check throughput and tail latency of
# the agents' REST servers with many concurrent clients, gsha beside Patroni in the same run.
#
#   tests/bench/rest_health.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
#
# BUILD_DIR defaults to $GSHA_BUILD_DIR, else /tmp/build-bench-rel (use an optimized build without
# sanitizers: the script prints which build it used). SECONDS defaults to 10, CONNECTIONS to 32.
# Each system runs as a real three-node cluster (tests/bench/lib.sh: the same YAML for gsha and
# Patroni, ttl 5, loop_wait 1) and wrk hits GET /primary on the leader, the check HAProxy makes,
# while the cluster's HA loops run. HARNESS=1 adds a run against rest-harness (the real REST
# server serving a canned primary snapshot, no HA loop) for comparison. SYSTEMS="gsha" or
# "patroni" runs one side only. Both servers close the connection after each response
# (HTTP/1.0), so every request includes a TCP connect, as HAProxy's checks do.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${1:-${GSHA_BUILD_DIR:-/tmp/build-bench-rel}}
SECONDS_RUN=${2:-10}
CONNS=${3:-32}
SYSTEMS=${SYSTEMS:-gsha patroni}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/integration/lib/cluster.sh"
source "$root/tests/bench/lib.sh"
set +e
b_trap
command -v wrk >/dev/null || t_fail "wrk is not installed"
[[ "$SECONDS_RUN" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "SECONDS must be 1..9999"
[[ "$CONNS" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "CONNECTIONS must be 1..9999"

echo "== REST health-check benchmark: wrk -t2 -c$CONNS -d${SECONDS_RUN}s GET /primary on the leader"
b_build_info

run_wrk() { # LABEL URL
	echo "== $1: wrk -t2 -c$CONNS -d${SECONDS_RUN}s --latency $2"
	wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 10s --latency "$2" | tee "$t_tmpdir/wrk-$1.txt" |
		grep -E 'Requests/sec|Latency |^ +(50|75|90|99)%|Non-2xx|Socket errors|requests in'
}
rps() { awk '/Requests\/sec/ { print $2 }' "$t_tmpdir/wrk-$1.txt" 2>/dev/null; }
p99_ms() { # wrk prints 99% with a unit: us, ms, s, m
	awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
		if (f > 0) printf "%.3f", v * f; else print "n/a" }' "$t_tmpdir/wrk-$1.txt" 2>/dev/null
}

if [ -n "${HARNESS:-}" ]; then
	GPORT=$(t_free_port)
	"$GSHA_BUILD_DIR/tests/integration/rest-harness" --port "$GPORT" --state primary >"$t_tmpdir/harness.log" 2>&1 &
	t_register_pid $!
	if b_wait 10 curl -sf -o /dev/null "http://127.0.0.1:$GPORT/primary"; then
		run_wrk gsha-harness "http://127.0.0.1:$GPORT/primary"
	else
		b_log "rest-harness did not answer on $GPORT"
	fi
fi

t_start_etcd
for system in $SYSTEMS; do
	if ! b_cluster_up_retry "$system" "$t_tmpdir/$system" "rh-$system-$$"; then
		b_cluster_down
		continue
	fi
	leader=$(c_leader)
	if [ -n "$leader" ] && b_wait 30 b_is_primary "$leader"; then
		run_wrk "$system" "http://127.0.0.1:${C_API_PORT[$leader]}/primary"
		echo "   leader after the run: $(c_leader) (was $leader); /primary on it: $(c_rest "$leader" /primary)"
	else
		b_log "$system: no leader answering /primary"
	fi
	b_cluster_down
done

echo "== REST summary (GET /primary on the cluster leader, $CONNS connections, ${SECONDS_RUN}s)"
for system in ${HARNESS:+gsha-harness} $SYSTEMS; do
	printf '%-13s %s req/s, p99 %s ms\n' "$system" "$(rps "$system")" "$(p99_ms "$system")"
done
g=$(rps gsha) p=$(rps patroni)
if [ -n "$g" ] && [ -n "$p" ]; then
	echo "ratio gsha/patroni throughput: $(b_ratio "$g" "$p")x; patroni/gsha p99: $(b_ratio "$(p99_ms patroni)" "$(p99_ms gsha)")x"
fi
