#!/usr/bin/env bash
# Benchmark, not a test: bootstrap to healthy. For each timing profile and each system (gsha, then
# Patroni), RUNS fresh three-node clusters (the same YAML for both): the time from starting node1
# on an empty data directory until node1 holds the leader key and answers /primary and node2 and
# node3 (started once node1 is primary, as b_cluster_up does) answer /replica.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/bootstrap.sh [RUNS]
#
# RUNS defaults to 5. B_PROFILES (default "default fast") lists the profiles of lib.sh, one after
# the other in this run: Patroni's defaults (ttl 30, loop_wait 10, retry_timeout 10) and gsha's
# fast profile (2/500ms/500ms), at which Patroni 3.0.2 runs its tightest working setting 5/1/2.
# C_TTL, C_LOOP_WAIT, BENCH_RETRY_TIMEOUT override every profile. SYSTEMS="gsha" or "patroni"
# runs one side only.
B_PROFILES=${B_PROFILES:-default fast}
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
for p in $B_PROFILES; do b_profile "$p"; done # checks every name before the first cluster
b_profile "${B_PROFILES%% *}"
B_HAPROXY=${B_HAPROXY:-0} # healthy is what the agents answer; no client here
b_preamble "bootstrap benchmark (profiles: $B_PROFILES)" "${1:-5}"

for p in $B_PROFILES; do
	b_profile "$p"
	for system in $SYSTEMS; do
		b_log "== $system at $p: ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY$([ "$system" = patroni ] && b_patroni_timing >/dev/null && echo " (Patroni at $(b_timing patroni))")"
		for run in $(seq "$RUNS"); do
			t0=$(b_now_us)
			if ! b_cluster_up "$system" "$t_tmpdir/$system-$p-$run" "boot-$system-$p-$run-$$"; then
				b_show_logs
				echo "$system@$p $run failed" >>"$results"
				b_cluster_down
				continue
			fi
			s=$(awk -v a="$(b_now_us)" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e6 }')
			printf '%-16s run %d: healthy after %s s\n' "$system@$p" "$run" "$s"
			echo "$system@$p $run ok $s" >>"$results"
			b_cluster_down
		done
	done
done

echo "== bootstrap summary (load average $(cut -d' ' -f1-3 /proc/loadavg))"
declare -A med
for p in $B_PROFILES; do
	b_profile "$p"
	for system in $SYSTEMS; do
		combo=$system@$p
		timing=$(b_timing "$system")
		med[$combo]=$(awk -v s="$combo" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
		okruns=$(awk -v s="$combo" '$1 == s && $3 == "ok"' "$results" | wc -l)
		all=$(awk -v s="$combo" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
		printf '%-8s %-7s (ttl/loop_wait/retry %s) median bootstrap to healthy %s s over %d/%d runs [%s]\n' \
			"$system" "$p" "$timing" "${med[$combo]}" "$okruns" "$RUNS" "${all% }"
	done
	if [ -n "${med[gsha@$p]:-}" ] && [ -n "${med[patroni@$p]:-}" ]; then
		echo "ratio patroni/gsha at $p (bootstrap to healthy): $(b_ratio "${med[patroni@$p]}" "${med[gsha@$p]}")x"
	fi
done
