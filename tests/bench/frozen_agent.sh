#!/usr/bin/env bash
# Benchmark, not a test: a frozen agent (issue 14). For each system (gsha, then Patroni) and each
# run: a fresh three-node cluster (same YAML for both), a writer per node (tests/integration/lib/
# writers.sh: one insert every 25 ms on each node that accepts writes), then SIGSTOP of the
# leader's agent for 2 x ttl, PostgreSQL left running, then SIGCONT. Measures the seconds
# during which two nodes acknowledged commits (from the new primary's first acknowledged commit
# to the old primary's last), the commits the old primary acknowledged after the new primary's
# first, and acknowledged rows missing on the new primary.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/frozen_agent.sh [RUNS] [async|sync]
#
# RUNS defaults to 3. sync sets synchronous_mode: true in bootstrap.dcs (both systems).
# SYSTEMS="gsha" or "patroni" runs one side only. Patroni runs without a watchdog device (none
# may be opened on this machine), as it does in most containers.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
RUNS=${1:-3}
MODE=${2:-async}
SYSTEMS=${SYSTEMS:-gsha patroni}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/bench/lib.sh"
source "$root/tests/integration/lib/writers.sh"
set +e
FROZEN=
trap 'b_rc=$?; set +e; [ -z "$FROZEN" ] || kill -CONT $FROZEN; w_stop; b_cluster_down; (exit $b_rc); t_cleanup' EXIT
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || t_fail "RUNS must be 1..99"
[[ "$MODE" =~ ^(async|sync)$ ]] || t_fail "mode must be async or sync"

echo "== frozen agent benchmark: $RUNS run(s) per system, $MODE replication, SIGSTOP for 2 x ttl"
b_build_info
t_start_etcd
results=$t_tmpdir/results
: >"$results"

run_one() { # SYSTEM RUN
	local system=$1 run=$2 dir old agent t0 new deadline res acks last name first after overlap lost two_s
	dir=$t_tmpdir/$system-$run
	if ! b_cluster_up_retry "$system" "$dir" "fz-$system-$run-$$" "$MODE"; then
		b_show_logs
		b_cluster_down
		echo "$system $run failed-to-start" >>"$results"
		return
	fi
	c_psql node1 "create table bench_w(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
	old=$(c_leader)
	w_start "$C_DIR" $((C_TTL * 2 + 90))
	b_wait 20 grep -q '^ok' "$C_DIR/w-$old.log" || b_log "$system: no commit on $old after 20 s"
	sleep 2
	agent=$(b_agent_pid "$old")
	t0=$(b_now_us)
	# runuser stops itself when its child stops: both are continued.
	kill -STOP "$agent"
	FROZEN="$agent ${B_RUNUSER_PID[$old]}"
	b_log "$system run $run: froze $old's agent (pid $agent) at $t0"
	sleep $((C_TTL * 2))
	kill -CONT $FROZEN
	FROZEN=
	deadline=$((SECONDS + 60))
	new=""
	while [ "$SECONDS" -lt "$deadline" ]; do
		new=$(c_leader)
		if [ -n "$new" ] && [ "$new" != "$old" ] && grep -q '^ok' "$C_DIR/w-$new.log"; then
			break
		fi
		new=""
		sleep 0.1
	done
	sleep 2
	w_stop
	if [ -z "$new" ]; then
		b_log "$system run $run: no commit on a new primary within 60 s of the freeze's end"
		b_show_logs
		echo "$system $run no-new-primary" >>"$results"
		b_cluster_down
		return
	fi
	read -r acks last name first after overlap <<<"$(w_analyse "$C_DIR" "$old" "$t0")"
	lost=$(w_lost "$C_DIR" "$new")
	two_s=$(awk -v o="$overlap" 'BEGIN { printf "%.3f", o / 1000 }')
	printf '%-8s run %d: %s frozen -> %s; %s acked %d commits after the freeze, the last at %s s; %s first at %s s; two writable primaries %s s (%d commits by %s after %s'"'"'s first); acked rows lost %d\n' \
		"$system" "$run" "$old" "$new" "$old" "$acks" \
		"$(awk -v a="$last" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')" "$name" \
		"$(awk -v a="$first" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')" "$two_s" "$after" "$old" "$name" "$lost"
	echo "$system $run ok $two_s $after $lost" >>"$results"
	b_cluster_down
}

for system in $SYSTEMS; do
	for run in $(seq "$RUNS"); do
		run_one "$system" "$run"
	done
done

echo "== frozen agent summary ($MODE replication, SIGSTOP of the leader's agent for $((C_TTL * 2)) s; ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY)"
for system in $SYSTEMS; do
	med=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	okruns=$(awk -v s="$system" '$1 == s && $3 == "ok"' "$results" | wc -l)
	sums=$(awk -v s="$system" '$1 == s && $3 == "ok" { a += $5; l += $6 } END { printf "%d commits acked by the old primary after the new one'"'"'s first, %d acked rows lost", a, l }' "$results")
	printf '%-8s median seconds with two writable primaries %s over %d/%d runs; in all runs: %s\n' \
		"$system" "$med" "$okruns" "$RUNS" "$sums"
done
