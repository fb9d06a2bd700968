#!/usr/bin/env bash
# Benchmark, not a test: the agent's own footprint in an idle three-node cluster (same YAML for
# gsha and Patroni: ttl 5, loop_wait 1). For each system: bootstrap, let it settle, then over
# PERIOD seconds of idleness read each agent's /proc/PID/status VmRSS (resident memory at the
# end) and the CPU it used (utime+stime deltas of /proc/PID/stat, clock ticks; reaped children
# such as pg_ctl or pg_controldata counted apart as cutime+cstime). For Patroni the agent is the
# python process; PostgreSQL's own processes are not counted for either system.
# Also per agent: PSS from /proc/PID/smaps_rollup (shared library pages divided among the
# processes that map them), the connections its node's PostgreSQL saw opened per minute
# (pg_stat_database.sessions, summed over databases, minus the one psql session of the first
# reading; this counts every client, and an idle cluster has no other than the agents), and for
# the leader's agent the mappings that hold most of its RSS (Rss and Pss summed per file).
# C_TTL, C_LOOP_WAIT and BENCH_RETRY_TIMEOUT set the timing (default ttl 5, loop_wait 1).
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/footprint.sh [PERIOD_SECONDS] [SETTLE_SECONDS]
#
# PERIOD defaults to 60, SETTLE to 10. SYSTEMS="gsha" or "patroni" runs one side only.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
PERIOD=${1:-60}
SETTLE=${2:-10}
SYSTEMS=${SYSTEMS:-gsha patroni}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/integration/lib/cluster.sh"
source "$root/tests/bench/lib.sh"
set +e
b_trap
[[ "$PERIOD" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "PERIOD must be 1..9999 seconds"
[[ "$SETTLE" =~ ^[0-9]{1,3}$ ]] || t_fail "SETTLE must be 0..999 seconds"
TCK=$(getconf CLK_TCK)

echo "== footprint benchmark: idle 3-node cluster, ${PERIOD}s measured after ${SETTLE}s settling"
b_build_info
t_start_etcd
results=$t_tmpdir/results
: >"$results"

# PID -> "RSS_KB TICKS CHILD_TICKS THREADS ANON_KB PSS_KB"; stat fields are read after the
# command name, which may hold spaces.
sample() {
	local pid=$1 rss stat pss
	rss=$(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { if (r != "") print r, a }' "/proc/$pid/status" 2>/dev/null)
	stat=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null)
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
	[ -n "$rss" ] && [ -n "$stat" ] || return 1
	# after "pid (comm) ": state=1 ... utime=12 stime=13 cutime=14 cstime=15 num_threads=18
	echo "$stat" | awk -v rss="${rss% *}" -v anon="${rss#* }" -v pss="${pss:-0}" '{ print rss, $12 + $13, $14 + $15, $18, anon, pss }'
}

# NODE -> connections its PostgreSQL has seen opened so far (all databases).
sessions() {
	c_psql "$1" "SELECT sum(sessions) FROM pg_catalog.pg_stat_database" || echo ""
}

run_system() {
	local system=$1 n pid role s0 s1 rss cpu ccpu thr anon pss conn
	declare -A before agent sess
	if ! b_cluster_up_retry "$system" "$t_tmpdir/$system" "fp-$system-$$"; then
		b_cluster_down
		echo "$system - failed-to-start" >>"$results"
		return
	fi
	sleep "$SETTLE"
	for n in "${B_NODES[@]}"; do
		agent[$n]=$(b_agent_pid "$n")
		before[$n]=$(sample "${agent[$n]}")
		sess[$n]=$(sessions "$n")
	done
	b_log "$system: measuring ${PERIOD}s of idleness (agents: ${agent[*]})"
	sleep "$PERIOD"
	for n in "${B_NODES[@]}"; do
		pid=${agent[$n]}
		s1=$(sample "$pid") || { b_log "$system: agent $n ($pid) is gone"; continue; }
		s0=${before[$n]}
		role=replica
		[ "$(c_leader)" = "$n" ] && role=leader
		read -r rss cpu ccpu thr anon pss < <(echo "$s0 $s1" | awk -v t="$TCK" '{ printf "%d %.3f %.3f %d %d %d\n", $7, ($8 - $2) / t, ($9 - $3) / t, $10, $11, $12 }')
		conn=$(awk -v a="${sess[$n]}" -v b="$(sessions "$n")" -v p="$PERIOD" \
			'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.1f", (b - a - 1) * 60 / p }')
		printf '%-8s %s (%s, pid %s, %s threads, %d descendants besides PostgreSQL): RSS %.1f MB (anonymous %.1f MB), PSS %.1f MB, CPU %.2f s in %ss (%.3f s/min), reaped children %.2f s, PostgreSQL connections opened %s/min\n' \
			"$system" "$n" "$role" "$pid" "$thr" "$(pgrep -P "$pid" | xargs -r ps -o comm= -p | grep -vc '^postgres$')" \
			"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$anon" 'BEGIN { print k / 1024 }')" \
			"$(awk -v k="$pss" 'BEGIN { print k / 1024 }')" "$cpu" "$PERIOD" \
			"$(awk -v c="$cpu" -v p="$PERIOD" 'BEGIN { print c * 60 / p }')" "$ccpu" "$conn"
		echo "$system $n ok $rss $cpu $ccpu $anon $pss $conn" >>"$results"
	done
	# where the leader's agent memory is: resident and proportional kB per mapped file, summed
	# over its mappings (anonymous = heap, stacks, thread arenas), largest RSS first
	pid=${agent[$(c_leader)]:-}
	if [ -n "$pid" ] && [ -r "/proc/$pid/smaps" ]; then
		echo "$system leader agent (pid $pid), kB per mapping, Rss (Pss), top 12:"
		awk '/^[0-9a-f]+-[0-9a-f]+ / { f = ($6 == "") ? "[anon]" : $6; sub(/.*\//, "", f) }
			/^Rss:/ { r[f] += $2 } /^Pss:/ { p[f] += $2 }
			END { for (k in r) print r[k], p[k], k }' "/proc/$pid/smaps" | sort -rn | head -12 |
			awk '{ printf "    %6d (%6d) %s\n", $1, $2, $3 }'
	fi
	b_cluster_down
}

for system in $SYSTEMS; do
	run_system "$system"
done

echo "== footprint summary (idle, ${PERIOD}s; per agent, mean of the three nodes)"
declare -A rss cpm
for system in $SYSTEMS; do
	rss[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { r += $4; n++ } END { if (n) printf "%.2f", r / n / 1024; else print "n/a" }' "$results")
	cpm[$system]=$(awk -v s="$system" -v p="$PERIOD" '$1 == s && $3 == "ok" { c += $5; n++ } END { if (n) printf "%.4f", c / n * 60 / p; else print "n/a" }' "$results")
	ccpm=$(awk -v s="$system" -v p="$PERIOD" '$1 == s && $3 == "ok" { c += $6; n++ } END { if (n) printf "%.4f", c / n * 60 / p; else print "n/a" }' "$results")
	anon=$(awk -v s="$system" '$1 == s && $3 == "ok" { r += $7; n++ } END { if (n) printf "%.2f", r / n / 1024; else print "n/a" }' "$results")
	pss=$(awk -v s="$system" '$1 == s && $3 == "ok" { r += $8; n++ } END { if (n) printf "%.2f", r / n / 1024; else print "n/a" }' "$results")
	conn=$(awk -v s="$system" '$1 == s && $3 == "ok" && $9 != "n/a" { c += $9; n++ } END { if (n) printf "%.1f", c / n; else print "n/a" }' "$results")
	printf '%-8s RSS %s MB per agent (anonymous %s MB, PSS %s MB); CPU %s s per minute per agent (+ %s s/min in reaped children); PostgreSQL connections opened %s/min per node\n' \
		"$system" "${rss[$system]}" "$anon" "$pss" "${cpm[$system]}" "$ccpm" "$conn"
done
if [ -n "${rss[gsha]:-}" ] && [ -n "${rss[patroni]:-}" ]; then
	echo "ratio patroni/gsha: RSS $(b_ratio "${rss[patroni]}" "${rss[gsha]}")x, idle CPU $(b_ratio "${cpm[patroni]}" "${cpm[gsha]}")x (CPU resolution: 1/$TCK s per agent)"
fi
