#!/usr/bin/env bash
# Benchmark, not a test: unplanned failover. For each system (gsha, then Patroni) and each run:
# a fresh three-node cluster (same YAML for both: ttl 5, loop_wait 1, retry_timeout 1), a writer
# inserting one row every 20 ms on whichever node accepts writes, then kill -9 of the leader's
# agent AND its postmaster (and backends) at a recorded instant. Measures the time from that
# instant to the first acknowledged commit on the new primary, the time until another node held
# the leader key, and how many acknowledged rows are missing on the new primary.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/failover.sh [RUNS] [async|sync]
#
# RUNS defaults to 5. sync sets synchronous_mode: true in bootstrap.dcs (both systems).
# The writer connects through HAProxy (lib.sh, the documented check settings): the figure is the
# one a client sees. SYSTEMS="gsha" or "patroni" runs one side only; B_PROFILE=fast|ttl5|default
# picks the timing; B_AT_DB=1 also prints the figure at the databases.
# B_PROFILES="fast ttl5 default" runs several profiles in one run, each system at each (Patroni
# 3.0.2 takes no fast profile: its fast row is its tightest working setting, ttl5, run once),
# and prints one summary line per system and profile, with the ratios at equal settings.
MODE=${2:-async}
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[[ "$MODE" =~ ^(async|sync)$ ]] || { echo "mode must be async or sync" >&2; exit 2; }
B_PROFILES=${B_PROFILES:-$B_PROFILE}
for p in $B_PROFILES; do b_profile "$p"; done # checks every name before the first cluster
b_profile "${B_PROFILES%% *}"
b_preamble "failover benchmark ($MODE replication; profiles: $B_PROFILES)" "${1:-5}"

run_one() { # SYSTEM RUN (timing: the current b_profile)
	local system=$1 run=$2 key=$1@$B_PROFILE dir log leader t0 first key_us="" new lost unknown acked fo_s key_s late db_s dbfirst
	dir=$t_tmpdir/$system-$B_PROFILE-$run
	log=$dir.writer.log
	if ! b_cluster_up_retry "$system" "$dir" "fo-$system-$B_PROFILE-$run-$$" "$MODE"; then
		b_show_logs
		b_cluster_down
		echo "$key $run failed-to-start" >>"$results"
		return
	fi
	b_create_tables node1
	b_writer_start "$log" 90
	b_wait 20 grep -q '^ok' "$log" || b_log "$system: the writer has no commit after 20 s"
	sleep 3
	leader=$(c_leader)
	t0=$(b_kill_node "$leader")
	b_log "$system ($B_PROFILE) run $run: killed $leader (agent, postmaster, backends) at $t0"
	local deadline=$((SECONDS + 60))
	first=""
	while [ "$SECONDS" -lt "$deadline" ]; do
		if [ -z "$key_us" ]; then
			new=$(c_leader)
			[ -n "$new" ] && [ "$new" != "$leader" ] && key_us=$(b_now_us)
		fi
		first=$(b_first_ok_after "$log" "$t0" "${C_PG_PORT[$leader]}")
		[ -n "$first" ] && [ -n "$key_us" ] && break
		sleep 0.05
	done
	sleep 1
	b_writer_stop
	# the writer's log beside the node logs (failover_timeline.py reads the kill instant and the
	# first commit from this script's output; the log shows what the client saw in between)
	[ -n "${BENCH_LOGS:-}" ] && mkdir -p "$BENCH_LOGS/$(basename "$C_DIR")" && cp "$log"* "$BENCH_LOGS/$(basename "$C_DIR")/" 2>/dev/null
	new=$(c_leader)
	if [ -z "$first" ] || [ -z "$new" ]; then
		b_log "$system run $run: no write on a new primary within 60 s"
		b_show_logs
		echo "$key $run no-new-primary" >>"$results"
		b_cluster_down
		return
	fi
	late=$(awk -v t="$t0" -v old="${C_PG_PORT[$leader]}" '$1 == "ok" && $4 >= t && $5 == old' "$log" | wc -l)
	[ "$late" -gt 0 ] && b_log "$system run $run: $late commit(s) acknowledged by the old primary within ms of the kill instant (counted as acked)"
	c_psql "$new" "select seq from bench_w" >"$dir.present"
	acked=$(awk '$1 == "ok"' "$log" | wc -l)
	unknown=$(awk '$1 == "unknown"' "$log" | wc -l)
	lost=$(awk 'NR == FNR { have[$1] = 1; next } $1 == "ok" && !($2 in have)' "$dir.present" "$log" | wc -l)
	fo_s=$(awk -v a="${first% *}" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
	db_s=-
	if [ "${B_AT_DB:-0}" = 1 ]; then
		dbfirst=$(b_first_ok_after "$log.db" "$t0" "${C_PG_PORT[$leader]}")
		[ -n "$dbfirst" ] && db_s=$(awk -v a="${dbfirst% *}" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
	fi
	key_s=$(awk -v a="$key_us" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
	printf '%-16s run %d: %s -> %s  first write on new primary through HAProxy %s s%s, leader key taken %s s (poll), acked %d, acked but lost %d, outcome unknown %d\n' \
		"$key" "$run" "$leader" "$new" "$fo_s" "$([ "$db_s" != - ] && echo " (at the databases $db_s s)")" "$key_s" "$acked" "$lost" "$unknown"
	echo "$key $run ok $fo_s $key_s $lost $acked $unknown $db_s" >>"$results"
	b_cluster_down
}

# Patroni runs its tightest working setting where it cannot take the profile's (b_patroni_timing:
# 3.0.2 at the fast profile runs ttl5's settings, 4.1 below ttl 20 runs 20/1/3): once is enough.
b_combos() {
	local p system t
	local -A seen=()
	for p in $B_PROFILES; do
		b_profile "$p"
		for system in $SYSTEMS; do
			if [ "$system" = patroni ]; then
				t=$(b_timing patroni)
				[ -z "${seen[$t]:-}" ] || continue
				seen[$t]=1
			fi
			echo "$system@$p"
		done
	done
}

for combo in $(b_combos); do
	b_profile "${combo#*@}"
	b_log "== ${combo%@*} at $B_PROFILE: ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY$([ "${combo%@*}" = patroni ] && b_patroni_timing >/dev/null && echo " (Patroni at $(b_timing patroni))")"
	for run in $(seq "$RUNS"); do
		run_one "${combo%@*}" "$run"
	done
done

echo "== failover summary ($MODE replication, kill -9 of leader agent + postmaster; client through HAProxy; load average $(cut -d' ' -f1-3 /proc/loadavg))"
declare -A med
for combo in $(b_combos); do
	b_profile "${combo#*@}"
	timing=$(b_timing "${combo%@*}")
	med[$combo]=$(awk -v s="$combo" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	keym=$(awk -v s="$combo" '$1 == s && $3 == "ok" { print $5 }' "$results" | b_median)
	dbm=$(awk -v s="$combo" '$1 == s && $3 == "ok" && $9 != "-" { print $9 }' "$results" | b_median)
	lost=$(awk -v s="$combo" '$1 == s && $3 == "ok" { l += $6; a += $7 } END { printf "%d of %d", l, a }' "$results")
	okruns=$(awk -v s="$combo" '$1 == s && $3 == "ok"' "$results" | wc -l)
	all=$(awk -v s="$combo" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
	printf '%-8s %-7s (ttl/loop_wait/retry %s) median write-to-write failover through HAProxy %s s [%s]%s (leader key %s s) over %d/%d runs; acknowledged rows lost: %s\n' \
		"${combo%@*}" "$B_PROFILE" "$timing" "${med[$combo]}" "${all% }" "$([ "$dbm" != n/a ] && echo "; at the databases $dbm s")" "$keym" "$okruns" "$RUNS" "$lost"
done
# Each gsha profile against the Patroni run at the timing Patroni takes for that profile (its own
# settings, or its tightest working setting, run once under the first profile that needed it).
declare -A pat_at
for combo in $(b_combos); do
	[ "${combo%@*}" = patroni ] || continue
	b_profile "${combo#*@}"
	pat_at[$(b_timing patroni)]=$combo
done
for p in $B_PROFILES; do
	b_profile "$p"
	pc=${pat_at[$(b_timing patroni)]:-}
	if [ -n "${med[gsha@$p]:-}" ] && [ -n "$pc" ] && [ -n "${med[$pc]:-}" ]; then
		echo "ratio patroni at $(b_timing patroni) / gsha at $p ($(b_timing gsha)) (failover time): $(b_ratio "${med[$pc]}" "${med[gsha@$p]}")x"
	fi
done
