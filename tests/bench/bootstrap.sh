#!/usr/bin/env bash
# Benchmark, not a test: bootstrap to healthy. For each system (gsha, then Patroni), RUNS fresh
# three-node clusters (the same YAML for both) at Patroni's default timing, ttl 30, loop_wait 10,
# retry_timeout 10 (C_TTL, C_LOOP_WAIT, BENCH_RETRY_TIMEOUT override): the time from starting
# node1 on an empty data directory until node1 holds the leader key and answers /primary and
# node2 and node3 (started once node1 is primary, as b_cluster_up does) answer /replica.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/bootstrap.sh [RUNS]
#
# RUNS defaults to 5. SYSTEMS="gsha" or "patroni" runs one side only.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
export C_TTL=${C_TTL:-30} C_LOOP_WAIT=${C_LOOP_WAIT:-10} BENCH_RETRY_TIMEOUT=${BENCH_RETRY_TIMEOUT:-10}
RUNS=${1:-5}
SYSTEMS=${SYSTEMS:-gsha patroni}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/integration/lib/cluster.sh"
source "$root/tests/bench/lib.sh"
set +e
b_trap
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || t_fail "RUNS must be 1..99"

echo "== bootstrap benchmark: $RUNS cluster(s) per system"
b_build_info
t_start_etcd
results=$t_tmpdir/results
: >"$results"

for system in $SYSTEMS; do
	for run in $(seq "$RUNS"); do
		t0=$(b_now_us)
		if ! b_cluster_up "$system" "$t_tmpdir/$system-$run" "boot-$system-$run-$$"; then
			b_show_logs
			echo "$system $run failed" >>"$results"
			b_cluster_down
			continue
		fi
		s=$(awk -v a="$(b_now_us)" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e6 }')
		printf '%-8s run %d: healthy after %s s\n' "$system" "$run" "$s"
		echo "$system $run ok $s" >>"$results"
		b_cluster_down
	done
done

echo "== bootstrap summary (ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY)"
declare -A med
for system in $SYSTEMS; do
	med[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	okruns=$(awk -v s="$system" '$1 == s && $3 == "ok"' "$results" | wc -l)
	all=$(awk -v s="$system" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
	printf '%-8s median bootstrap to healthy %s s over %d/%d runs [%s]\n' \
		"$system" "${med[$system]}" "$okruns" "$RUNS" "${all% }"
done
if [ -n "${med[gsha]:-}" ] && [ -n "${med[patroni]:-}" ]; then
	echo "ratio patroni/gsha (bootstrap to healthy): $(b_ratio "${med[patroni]}" "${med[gsha]}")x"
fi
