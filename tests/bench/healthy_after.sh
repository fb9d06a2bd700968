#!/usr/bin/env bash
# Benchmark, not a test: "healthy after" a leader change (issue 13). For each system (gsha, then
# Patroni): one three-node cluster (same YAML for both; ttl 10, loop_wait 2, retry_timeout 3 by
# default, the settings the issue measured with), then RUNS rounds of:
#   switchover  POST /switchover {"leader","candidate"} to the leader (what patronictl sends);
#               survivors: the other replica and the old leader;
#   node loss   kill -9 of the leader's agent, postmaster and backends; survivor: the replica
#               that did not win;
#   rejoin      the killed node's agent started again; measured from the instant its database
#               first runs in recovery (the leader key does not move).
# Each is timed from the instant the new leader holds the key (tests/bench/healthy_poll.py, 50 ms
# polls) until (a) GET /cluster on the leader shows the leader on a new timeline and every
# survivor "streaming" on it ("cluster"; Patroni 3.0.2 publishes no replication state, so there
# "running" on that timeline is accepted), and (b) the databases agree: the leader's WAL on that
# timeline and every survivor's pg_stat_wal_receiver "streaming" with that received_tli ("db").
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/healthy_after.sh [RUNS]
#
# RUNS defaults to 3. SYSTEMS="gsha" or "patroni" runs one side only. C_TTL, C_LOOP_WAIT and
# BENCH_RETRY_TIMEOUT override the settings.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
RUNS=${1:-3}
SYSTEMS=${SYSTEMS:-gsha patroni}
C_TTL=${C_TTL:-10}
C_LOOP_WAIT=${C_LOOP_WAIT:-2}
BENCH_RETRY_TIMEOUT=${BENCH_RETRY_TIMEOUT:-3}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/bench/lib.sh"
set +e
b_trap
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || t_fail "RUNS must be 1..99"
POLL=$root/tests/bench/healthy_poll.py

echo "== healthy-after benchmark: $RUNS round(s) of switchover, node loss and rejoin per system"
b_build_info
t_start_etcd
results=$t_tmpdir/results
: >"$results"

timeline_of() { # NAME: the timeline of the node's WAL
	c_psql "$1" "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
}

member_args() { # NAME...
	local n
	for n in "$@"; do
		printf -- '--member %s:%s:%s ' "$n" "${C_API_PORT[$n]}" "${C_PG_PORT[$n]}"
	done
}

# Runs the poller with ARGS, prints and records "SYSTEM KIND cluster_s db_s".
measure() { # SYSTEM KIND RUN ARGS...
	local system=$1 kind=$2 run=$3 out key cl db leader tl cl_s db_s
	shift 3
	# shellcheck disable=SC2046
	out=$(python3 "$POLL" --etcd "$ETCD_URL" --key "/service/$C_SCOPE/leader" --timeout 60 \
		--state "$([ "$system" = gsha ] && echo streaming || echo running)" "$@")
	read -r key cl db leader tl <<<"$out"
	cl_s=$(awk -v a="$cl" -v b="$key" 'BEGIN { if (a == "-" || b == "-") print "n/a"; else printf "%.3f", (a - b) / 1e6 }')
	db_s=$(awk -v a="$db" -v b="$key" 'BEGIN { if (a == "-" || b == "-") print "n/a"; else printf "%.3f", (a - b) / 1e6 }')
	printf '%-8s %-10s %d: leader %s on timeline %s; healthy after: cluster %s s, db %s s\n' \
		"$system" "$kind" "$run" "$leader" "$tl" "$cl_s" "$db_s"
	echo "$system $kind $cl_s $db_s" >>"$results"
	[ "$cl_s" != n/a ] && [ "$db_s" != n/a ]
}

run_system() {
	local system=$1 dir run leader cand other n tl code curl_pid t_kill
	dir=$t_tmpdir/$system
	if ! b_cluster_up_retry "$system" "$dir" "ha-$system-$$"; then
		b_show_logs
		b_cluster_down
		return
	fi
	for run in $(seq "$RUNS"); do
		leader=$(c_leader)
		if [ -z "$leader" ] || ! b_wait 120 b_healthy "$leader"; then
			b_log "$system run $run: cluster not healthy (leader '$leader') within 120 s"
			b_show_logs
			break
		fi
		sleep 3 # let every member key settle
		cand= other=
		for n in "${B_NODES[@]}"; do
			[ "$n" = "$leader" ] && continue
			if [ -z "$cand" ]; then cand=$n; else other=$n; fi
		done
		tl=$(timeline_of "$leader")
		# ---- switchover
		curl -s -o "$dir.so-$run.out" -m 60 -X POST -H 'Content-Type: application/json' \
			-d "{\"leader\":\"$leader\",\"candidate\":\"$cand\"}" \
			"http://127.0.0.1:${C_API_PORT[$leader]}/switchover" &
		curl_pid=$!
		# shellcheck disable=SC2046
		measure "$system" switchover "$run" --want "$cand" --old-tl "$tl" \
			$(member_args "${B_NODES[@]}") || b_show_logs
		wait "$curl_pid"
		if ! b_wait 60 b_healthy "$cand"; then
			b_log "$system run $run: not healthy after the switchover within 60 s"
			b_show_logs
			break
		fi
		sleep 3
		# ---- node loss of the new leader
		leader=$cand
		tl=$(timeline_of "$leader")
		t_kill=$(b_kill_node "$leader")
		b_log "$system run $run: killed $leader at $t_kill"
		# shellcheck disable=SC2046
		measure "$system" node-loss "$run" --not "$leader" --old-tl "$tl" \
			$(member_args $(printf '%s\n' "${B_NODES[@]}" | grep -vx "$leader")) || b_show_logs
		# ---- rejoin of the killed node
		n=$(c_leader)
		tl=$(timeline_of "$n")
		b_start_node "$leader"
		# shellcheck disable=SC2046
		measure "$system" rejoin "$run" --rejoin "$leader" --old-tl $((tl - 1)) \
			$(member_args "${B_NODES[@]}") || b_show_logs
	done
	b_cluster_down
}

for system in $SYSTEMS; do
	run_system "$system"
done

echo "== healthy-after summary (from the new leader holding the key; ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY)"
declare -A med
for system in $SYSTEMS; do
	for kind in switchover node-loss rejoin; do
		med[$system-$kind]=$(awk -v s="$system" -v k="$kind" '$1 == s && $2 == k && $3 != "n/a" { print $3 }' "$results" | b_median)
		dbm=$(awk -v s="$system" -v k="$kind" '$1 == s && $2 == k && $4 != "n/a" { print $4 }' "$results" | b_median)
		okruns=$(awk -v s="$system" -v k="$kind" '$1 == s && $2 == k && $3 != "n/a"' "$results" | wc -l)
		printf '%-8s %-10s median healthy after: cluster %s s, db %s s over %d/%d runs\n' \
			"$system" "$kind" "${med[$system-$kind]}" "$dbm" "$okruns" "$RUNS"
	done
done
for kind in switchover node-loss rejoin; do
	if [ -n "${med[gsha-$kind]:-}" ] && [ -n "${med[patroni-$kind]:-}" ]; then
		echo "ratio patroni/gsha ($kind, cluster): $(b_ratio "${med[patroni-$kind]}" "${med[gsha-$kind]}")x"
	fi
done
