#!/usr/bin/env bash
# Benchmark, not a test: crash restart in place. For each system (gsha, then Patroni): one
# three-node cluster (the same YAML for both: ttl 5, loop_wait 1, retry_timeout 2), a writer
# inserting one row every 20 ms on whichever node accepts writes, then RUNS times: kill -9 of the
# leader's postmaster and its backends (the agent untouched) at a recorded instant. Measures the
# time from that instant to the first acknowledged commit sent after the kill, and says whether
# it came from the same node (restarted in place) or from a failover. Between kills the cluster
# must be healthy again and writing.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/postmaster_kill.sh [RUNS]
#
# RUNS defaults to 5. SYSTEMS="gsha" or "patroni" runs one side only.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
RUNS=${1:-5}
SYSTEMS=${SYSTEMS:-gsha patroni}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/integration/lib/cluster.sh"
source "$root/tests/bench/lib.sh"
set +e
b_trap
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || t_fail "RUNS must be 1..99"

echo "== postmaster kill benchmark: $RUNS kill(s) per system"
b_build_info
t_start_etcd
results=$t_tmpdir/results
: >"$results"

# Kills NAME's postmaster and its children at once; prints the instant just before and the
# instant just after (microseconds): a commit sent after the second cannot come from them.
kill_postmaster() {
	local pm pids t0 t1
	pm=$(b_postmaster_pid "$1")
	[ -n "$pm" ] || return 1
	pids="$(pgrep -P "$pm" | tr '\n' ' ') $pm"
	t0=$(b_now_us)
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	t1=$(b_now_us)
	echo "$t0 $t1"
}

run_system() { # SYSTEM
	local system=$1 dir log leader t0 t1 first new run healthy_by where s
	dir=$t_tmpdir/$system
	log=$dir.writer.log
	if ! b_cluster_up_retry "$system" "$dir" "pk-$system-$$"; then
		b_show_logs
		b_cluster_down
		echo "$system 0 failed-to-start" >>"$results"
		return
	fi
	c_psql node1 "create table bench_w(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
	b_writer_start "$log" $((60 + RUNS * 40))
	b_wait 20 grep -q '^ok' "$log" || b_log "$system: the writer has no commit after 20 s"
	for run in $(seq "$RUNS"); do
		sleep 3
		leader=$(c_leader)
		if [ -z "$leader" ] || ! read -r t0 t1 < <(kill_postmaster "$leader"); then
			b_log "$system run $run: no leader with a running postmaster"
			echo "$system $run no-postmaster" >>"$results"
			continue
		fi
		b_log "$system run $run: killed the postmaster of $leader at $t0"
		first=""
		b_wait 30 sh -c "awk -v t=$t1 '\$1 == \"ok\" && \$3 >= t { f = 1; exit } END { exit !f }' '$log'"
		first=$(awk -v t="$t1" '$1 == "ok" && $3 >= t { print $4, $5; exit }' "$log")
		if [ -z "$first" ]; then
			b_log "$system run $run: no commit within 30 s of the kill"
			b_show_logs
			echo "$system $run no-commit" >>"$results"
			continue
		fi
		new=$(c_leader)
		where=failover
		[ "${first#* }" = "${C_PG_PORT[$leader]}" ] && where=in-place
		s=$(awk -v a="${first% *}" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
		printf '%-8s run %d: %s postmaster killed, first commit after %s s (%s, leader now %s)\n' \
			"$system" "$run" "$leader" "$s" "$where" "$new"
		echo "$system $run ok $s $where" >>"$results"
		healthy_by=$((SECONDS + 60))
		while [ "$SECONDS" -lt "$healthy_by" ] && ! b_healthy "$(c_leader)"; do sleep 0.2; done
	done
	b_writer_stop
	b_cluster_down
}

for system in $SYSTEMS; do
	run_system "$system"
done

echo "== postmaster kill summary (kill -9 of the leader's postmaster and backends; ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY)"
declare -A med
for system in $SYSTEMS; do
	med[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	okruns=$(awk -v s="$system" '$1 == s && $3 == "ok"' "$results" | wc -l)
	inplace=$(awk -v s="$system" '$1 == s && $5 == "in-place"' "$results" | wc -l)
	all=$(awk -v s="$system" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
	printf '%-8s median kill-to-commit %s s over %d/%d runs (%d in place) [%s]\n' \
		"$system" "${med[$system]}" "$okruns" "$RUNS" "$inplace" "${all% }"
done
if [ -n "${med[gsha]:-}" ] && [ -n "${med[patroni]:-}" ]; then
	echo "ratio patroni/gsha (kill-to-commit): $(b_ratio "${med[patroni]}" "${med[gsha]}")x"
fi
