#!/usr/bin/env bash
# Benchmark, not a test: the load an idle healthy three-node cluster puts on etcd, gsha beside
# Patroni 3.0.2, at Patroni's default timing (ttl 30, loop_wait 10, retry_timeout 10) and at the
# fast profile (ttl 5, loop_wait 1, retry_timeout 2). Counted by etcd itself (its /metrics), over
# PERIOD seconds after SETTLE seconds of settling, one cluster at a time on one etcd:
#   requests  grpc_server_msg_received_total summed over every method (a unary call is one
#             message; a lease keepalive or a watch creation through the gateway is one message
#             on its stream), also split per method;
#   writes    the store revision's growth (etcd_debugging_mvcc_current_revision): one per
#             transaction that changed a key (put, delete, txn with writes, lease expiry);
#   proposals etcd_server_proposals_committed_total (raft entries: writes, lease grants/revokes).
# Per cluster and per agent (the cluster's figure divided by three), per idle second. Also each
# agent's CPU over the same PERIOD, in s per minute, twice: utime+stime of /proc/PID/stat (for
# Patroni the python process), which moves in clock ticks of 10 ms (an idle agent's few ms per
# minute are a tick or two either way over a short PERIOD), and "threads": the scheduler's run
# time of the process's threads (/proc/PID/task/*/schedstat, ns), with gsha's guardian process
# added, as the figure to compare against a target of a few ms per minute.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/etcd_load.sh [PERIOD_SECONDS] [SETTLE_SECONDS]
#
# PERIOD defaults to 120, SETTLE to 20. SYSTEMS="gsha" or "patroni" runs one side only;
# TIMINGS="30/10/10 5/1/2" (ttl/loop_wait/retry_timeout) the profiles.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
PERIOD=${1:-120}
SETTLE=${2:-20}
SYSTEMS=${SYSTEMS:-gsha patroni}
TIMINGS=${TIMINGS:-30/10/10 5/1/2}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
# Idle means no load balancer checking the agents unless asked (B_HAPROXY=1).
export B_HAPROXY=${B_HAPROXY:-0}
source "$root/tests/bench/lib.sh"
set +e
b_trap
[[ "$PERIOD" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "PERIOD must be 1..9999 seconds"
[[ "$SETTLE" =~ ^[0-9]{1,3}$ ]] || t_fail "SETTLE must be 0..999 seconds"
TCK=$(getconf CLK_TCK)

echo "== etcd load benchmark: idle 3-node cluster, ${PERIOD}s measured after ${SETTLE}s settling"
b_build_info | grep -v '^settings:'
echo "settings: per run, ttl/loop_wait/retry_timeout $TIMINGS (same YAML for both systems); HAProxy checking the agents: $([ "$B_HAPROXY" = 1 ] && echo yes || echo "no (B_HAPROXY=1 adds it)")"
t_start_etcd
echo "etcd: $(etcd --version 2>/dev/null | head -1)"
results=$t_tmpdir/results
: >"$results"

# -> "METHOD COUNT" lines: messages received per gRPC method, then "=revision N" and
# "=proposals N".
etcd_counts() {
	curl -sf --max-time 5 "$ETCD_URL/metrics" | awk '
		/^grpc_server_msg_received_total\{/ {
			m = $0; sub(/.*grpc_method="/, "", m); sub(/".*/, "", m); c[m] += $NF }
		/^etcd_debugging_mvcc_current_revision / { print "=revision", $NF }
		/^etcd_server_proposals_committed_total / { print "=proposals", $NF }
		END { for (k in c) print k, c[k] }'
}

# PID -> utime+stime in clock ticks (fields after the command name, which may hold spaces).
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# PID -> "NS TIDS": the run time of the agent's threads and of its children that are not
# PostgreSQL (gsha's guardian) in ns (schedstat, the scheduler's own count: ticks of 10 ms are
# too coarse for a few ms per minute), and the list of those thread ids, so a thread that came
# or went during the period (its run time is then partly missing) is reported.
cpu_ns() {
	local p t ns=0 tids=""
	for p in "$1" $(pgrep -P "$1" -x 'gsha-guardian'); do
		for t in /proc/"$p"/task/*; do
			[ -r "$t/schedstat" ] || continue
			ns=$((ns + $(awk '{ print $1 }' "$t/schedstat" 2>/dev/null || echo 0)))
			tids="$tids${t##*/},"
		done
	done
	echo "$ns $tids"
}

run_one() {
	local system=$1 timing=$2 n before after per_method req writes props cpu line ns ns0 tids
	local cpuns=0 changed=0
	declare -A agent cpu0 cpuns0 tids0
	IFS=/ read -r C_TTL C_LOOP_WAIT C_RETRY <<<"$timing"
	if ! b_cluster_up_retry "$system" "$t_tmpdir/$system-${timing//\//-}" "el-$system-$$-${timing//\//-}"; then
		b_cluster_down
		echo "$system $timing failed-to-start" >>"$results"
		return
	fi
	sleep "$SETTLE"
	for n in "${B_NODES[@]}"; do
		agent[$n]=$(b_agent_pid "$n")
		cpu0[$n]=$(cpu_ticks "${agent[$n]}")
		read -r cpuns0[$n] tids0[$n] < <(cpu_ns "${agent[$n]}")
	done
	before=$(etcd_counts)
	b_log "$system ttl/loop_wait/retry $timing: measuring ${PERIOD}s of idleness"
	sleep "$PERIOD"
	after=$(etcd_counts)
	if ! b_healthy "$(c_leader)"; then
		b_log "$system $timing: the cluster was not healthy at the end of the period"
	fi
	cpu=0
	for n in "${B_NODES[@]}"; do
		line=$(cpu_ticks "${agent[$n]}")
		[ -n "$line" ] && [ -n "${cpu0[$n]}" ] || continue
		cpu=$(awk -v c="$cpu" -v a="${cpu0[$n]}" -v b="$line" 'BEGIN { print c + b - a }')
		read -r ns tids < <(cpu_ns "${agent[$n]}")
		cpuns=$((cpuns + ns - ${cpuns0[$n]:-0}))
		[ "$tids" = "${tids0[$n]}" ] || changed=$((changed + 1))
	done
	per_method=$(join -a2 -e0 -o 0,1.2,2.2 <(echo "$before" | grep -v '^=' | sort) \
		<(echo "$after" | grep -v '^=' | sort) | awk '$3 - $2 > 0 { printf "%s=%d ", $1, $3 - $2 }')
	req=$(join -a2 -e0 -o 0,1.2,2.2 <(echo "$before" | grep -v '^=' | sort) \
		<(echo "$after" | grep -v '^=' | sort) | awk '{ s += $3 - $2 } END { print s + 0 }')
	writes=$(( $(echo "$after" | awk '$1 == "=revision" { print $2 }') - $(echo "$before" | awk '$1 == "=revision" { print $2 }') ))
	props=$(( $(echo "$after" | awk '$1 == "=proposals" { print $2 }') - $(echo "$before" | awk '$1 == "=proposals" { print $2 }') ))
	awk -v s="$system" -v t="$timing" -v p="$PERIOD" -v r="$req" -v w="$writes" -v q="$props" \
		-v c="$cpu" -v tck="$TCK" -v ns="$cpuns" 'BEGIN {
		printf "%-8s ttl/loop_wait/retry %-7s requests %.3f/s per cluster, %.3f/s per agent; writes %.3f/s per cluster, %.3f/s per agent; raft proposals %.3f/s; agent CPU %.4f s/min per agent (threads%s: %.4f s/min)\n",
			s, t, r / p, r / p / 3, w / p, w / p / 3, q / p, c / tck / 3 * 60 / p,
			s == "gsha" ? " and guardian" : "", ns / 1e9 / 3 * 60 / p }'
	echo "         requests by method over ${PERIOD}s: $per_method"
	[ "$changed" = 0 ] || echo "         $changed agent(s) started or ended threads during the period: their threads' figure misses the run time of those that ended"
	echo "$system $timing ok $req $writes $props $cpu $cpuns" >>"$results"
	b_cluster_down
}

for timing in $TIMINGS; do
	for system in $SYSTEMS; do
		run_one "$system" "$timing"
	done
done

echo "== etcd load summary (idle, ${PERIOD}s; per idle second; CPU per agent per minute)"
for timing in $TIMINGS; do
	declare -A req wr
	for system in $SYSTEMS; do
		read -r req[$system] wr[$system] < <(awk -v s="$system" -v t="$timing" -v p="$PERIOD" \
			'$1 == s && $2 == t && $3 == "ok" { printf "%.3f %.3f\n", $4 / p, $5 / p; f = 1 } END { if (!f) print "n/a n/a" }' "$results")
		awk -v s="$system" -v t="$timing" -v p="$PERIOD" -v tck="$TCK" \
			'$1 == s && $2 == t && $3 == "ok" { printf "%-8s %-7s requests %.3f/s per cluster (%.3f per agent), writes %.3f/s per cluster (%.3f per agent), CPU %.4f s/min per agent (threads: %.4f s/min)\n", s, t, $4 / p, $4 / p / 3, $5 / p, $5 / p / 3, $7 / tck / 3 * 60 / p, $8 / 1e9 / 3 * 60 / p; f = 1 }
			END { if (!f) printf "%-8s %-7s n/a\n", s, t }' "$results"
	done
	if [ -n "${req[gsha]:-}" ] && [ -n "${req[patroni]:-}" ]; then
		echo "ratio gsha/patroni at $timing: requests $(b_ratio "${req[gsha]}" "${req[patroni]}")x, writes $(b_ratio "${wr[gsha]}" "${wr[patroni]}")x"
	fi
	unset req wr
done
