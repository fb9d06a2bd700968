#!/usr/bin/env bash
# Benchmark, not a test: false failovers (issue 14). A soak at gsha's fast profile (ttl 2,
# loop_wait 500ms, retry_timeout 500ms) with Patroni 3.0.2 beside it at its tightest working
# setting (ttl 5, loop_wait 1, retry_timeout 2), both clusters at the same time, under two faults
# that must NOT cause a failover:
#
#  * etcd's data directory on a slow disk: ext4 on a loop device whose writes the blkio
#    controller throttles to FF_IOPS write operations per second (default 50). This is the fault
#    suite's "etcd-disk-slow" (tests/faults/lib.sh: f_etcd_disk_up, f_etcd_disk_throttle); this
#    kernel has no dm-delay. One etcd serves both clusters, as one etcd would serve both systems.
#  * a CPU hog on the primary's "node". The machine is shared (2 cores, other work running), so
#    the hog is contained: the primary's agent (all its threads and children, the guardian
#    included), its PostgreSQL (the postmaster and every backend, present and future) and
#    FF_HOGS busy-loop processes (default 3) are put in one cgroup (v1 "cpu" controller here)
#    with a CPU quota of FF_CPU_PCT percent of one core (default 50, cfs period 100 ms). Inside
#    it the node is starved the way a hogged VM is: the hogs use up the quota and the whole
#    group, agent and database included, is throttled until the next period. With both clusters
#    hogged the hogs take at most one core of the machine in all. The replicas, etcd, HAProxy
#    and the writer stay outside (other "machines").
#
# A writer commits one row every B_WRITE_INTERVAL_MS (default 20) through HAProxy per cluster.
# Counted over the soak: leader changes (from the leader key's history in etcd: every PUT that
# names another node and every DELETE, read with a watch from the revision at the start; and
# the key's create_revision at the start and the end), failed, unknown and slow commits, and in
# the agents' logs the role changes, fences and lease or DCS trouble. Also the cgroup's throttling
# (cpu.stat) and etcd's WAL fsync times (its own histogram), so the faults are shown to bite.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/false_failover.sh [SECONDS]
#
# SECONDS defaults to 1800 (the issue's 30 minutes). SYSTEMS="gsha" or "patroni" runs one side.
# B_PROFILE (default fast here) as in lib.sh. BENCH_LOGS=DIR keeps the node logs. Needs root
# (loop device, mount, cgroups). Nothing here asserts: the figures are printed; the issue's bar
# is 0 leader changes.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
export B_PROFILE=${B_PROFILE:-fast}
DURATION=${1:-1800}
FF_HOGS=${FF_HOGS:-3}
FF_CPU_PCT=${FF_CPU_PCT:-50}
FF_IOPS=${FF_IOPS:-50}
# lib.sh first: it sets the profile's C_TTL and C_LOOP_WAIT before cluster.sh's defaults (5 and 1)
# would, and sources common.sh, etcd.sh and cluster.sh itself.
source "$root/tests/bench/lib.sh"
set +e
[[ "$DURATION" =~ ^[1-9][0-9]{0,4}$ ]] || t_fail "SECONDS must be 1..99999"
[[ "$FF_HOGS" =~ ^[0-9]$ ]] || t_fail "FF_HOGS must be 0..9"
[[ "$FF_CPU_PCT" =~ ^[1-9][0-9]{0,2}$ ]] || t_fail "FF_CPU_PCT must be 1..999"
[[ "$FF_IOPS" =~ ^[0-9]{1,5}$ ]] || t_fail "FF_IOPS must be 0..99999 (0: no throttle)"
FF_CG_ROOT=/sys/fs/cgroup/cpu
[ -f "$FF_CG_ROOT/cpu.cfs_quota_us" ] || t_fail "no cgroup v1 cpu controller at $FF_CG_ROOT"

ff_etcdctl() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=3s "$@"; }

# "REVISION CREATE_REVISION" of SCOPE's leader key ("REVISION 0" when there is none).
ff_leader_revs() { # SCOPE
	ff_etcdctl get "/service/$1/leader" -w json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
kvs = d.get("kvs") or [{}]
print(d["header"]["revision"], kvs[0].get("create_revision", 0))'
}

# The leader key's history after REV: "REVISION PUT VALUE" or "REVISION DELETE" per line, from a
# watch on the gateway (curl -m bounds it; etcd here never compacts, so the history is whole).
ff_leader_history() { # SCOPE REV OUT
	local key
	key=$(printf '%s' "/service/$1/leader" | base64 -w0)
	curl -s -N -m 5 "$ETCD_URL/v3/watch" \
		-d "{\"create_request\": {\"key\": \"$key\", \"start_revision\": $(($2 + 1))}}" >"$3.json" 2>/dev/null
	python3 "$root/tests/faults/watch-history.py" \
		"$3.json" >"$3"
}

# etcd's WAL fsync histogram (seconds): "COUNT SUM N_OVER_0.128 N_OVER_0.512" from /metrics.
ff_fsync() {
	curl -s -m 3 "$ETCD_URL/metrics" | awk '
		/^etcd_disk_wal_fsync_duration_seconds_count/ { c = $2 }
		/^etcd_disk_wal_fsync_duration_seconds_sum/ { s = $2 }
		/^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.128"\}/ { b128 = $2 }
		/^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.512"\}/ { b512 = $2 }
		END { printf "%d %.6f %d %d\n", c, s, c - b128, c - b512 }'
}

# Every PID of the tree under PID, PID first.
ff_tree() {
	local p c
	for p in "$@"; do
		[ -n "$p" ] || continue
		echo "$p"
		for c in $(pgrep -P "$p"); do ff_tree "$c"; done
	done
}

# Log lines that show trouble, counted per system: role changes, fences, stalls, DCS errors.
ff_pattern() {
	if [ "$1" = gsha ]; then
		echo 'role "|fence|guardian: |no progress|TILT|stall|demot|could not .*(etcd|lease|leader)|keepalive|timed out'
	else
		echo 'demot|Demoting|fence|acquired session lock|promot|Error communicating with DCS|failed to update leader lock|timed out|Traceback|lost'
	fi
}
ff_count_logs() { # SYSTEM -> count per node "node1=N node2=N node3=N"
	local n out=""
	for n in "${B_NODES[@]}"; do
		out+="$n=$(grep -Eic "$(ff_pattern "$1")" "$C_DIR/$n.log" 2>/dev/null) "
	done
	echo "$out"
}

# ---- one system's soak (the script runs itself once per system, so the clusters run at once)
FF_CG=
FF_ACCT=
FF_ACCT_ROOT=/sys/fs/cgroup/cpuacct
FF_HOG_PIDS=()
ff_hogs_stop() {
	local p
	for p in "${FF_HOG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	FF_HOG_PIDS=()
} 2>/dev/null

ff_cgroup_down() {
	local p
	ff_hogs_stop
	[ -n "$FF_CG" ] && [ -d "$FF_CG" ] || return 0
	while read -r p; do echo "$p" >"$FF_CG_ROOT/cgroup.procs" 2>/dev/null; done <"$FF_CG/cgroup.procs"
	rmdir "$FF_CG" 2>/dev/null
	if [ -n "$FF_ACCT" ] && [ -d "$FF_ACCT" ]; then
		while read -r p; do echo "$p" >"$FF_ACCT_ROOT/cgroup.procs" 2>/dev/null; done <"$FF_ACCT/cgroup.procs"
		rmdir "$FF_ACCT" 2>/dev/null
	fi
	return 0
}

ff_soak() { # SYSTEM
	local system=$1 scope dir leader agent pm p moved=0 rev0 crev0 crev1 end
	local logs0 logs1 m0 m1 hist changes deletes held cpu0 cpu1
	scope=ff-$system-$$
	dir=$t_tmpdir/$system
	trap 'b_rc=$?; set +e; ff_cgroup_down; b_cluster_down; ff_cgroup_down; (exit $b_rc); t_cleanup' EXIT
	if ! b_cluster_up_retry "$system" "$dir" "$scope"; then
		b_show_logs
		echo "$system failed-to-start" >>"$FF_RESULTS"
		touch "$FF_SYNC/$system.ready"
		return 1
	fi
	scope=$C_SCOPE
	c_psql node1 "create table bench_w(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
	touch "$FF_SYNC/$system.ready"
	b_wait 900 test -e "$FF_SYNC/go" || {
		b_log "$system: no go from the parent within 900 s"
		return 1
	}
	leader=$(c_leader)
	agent=$(b_agent_pid "$leader")
	pm=
	for _ in $(seq 100); do # postmaster.pid can be between writes: look again for up to 10 s
		pm=$(b_postmaster_pid "$leader")
		[ -n "$pm" ] && [ -n "$agent" ] && break
		sleep 0.1
		agent=$(b_agent_pid "$leader")
	done
	if [ -z "$pm" ] || [ -z "$agent" ]; then
		b_log "$system: the primary $leader has no agent ($agent) or postmaster ($pm) to hog"
		echo "$system no-primary-processes" >>"$FF_RESULTS"
		return 1
	fi
	# The primary's node: agent (threads, guardian, anything it forks later) and PostgreSQL.
	FF_CG=$FF_CG_ROOT/$FF_PREFIX-$system
	mkdir "$FF_CG" || return 1
	echo 100000 >"$FF_CG/cpu.cfs_period_us"
	echo $((FF_CPU_PCT * 1000)) >"$FF_CG/cpu.cfs_quota_us"
	# A group competes with the rest of the machine as ONE task (weight 1024) unless told
	# otherwise: on this loaded machine the node would then get far less than its quota and the
	# starvation would be the machine's, not the hog's. Give it the weight its processes would
	# have had ungrouped (the hogs and the agent), so the quota is what binds.
	echo $((1024 * (FF_HOGS + 1))) >"$FF_CG/cpu.shares"
	# The same processes in a cpuacct group (a hierarchy of its own here) for the CPU they got.
	FF_ACCT=$FF_ACCT_ROOT/$FF_PREFIX-$system
	mkdir "$FF_ACCT" || return 1
	for p in $(ff_tree "$agent" "$pm" | sort -un); do
		echo "$p" >"$FF_ACCT/cgroup.procs" 2>/dev/null
		echo "$p" >"$FF_CG/cgroup.procs" 2>/dev/null && moved=$((moved + 1))
	done
	for _ in $(seq "$FF_HOGS"); do
		# shellcheck disable=SC2016
		bash -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" && exec bash -c "while :; do :; done"' _ "$FF_CG" "$FF_ACCT" &
		FF_HOG_PIDS+=($!)
		t_register_pid "$!"
	done
	read -r cpu0 <"$FF_ACCT/cpuacct.usage" 2>/dev/null || cpu0=
	read -r rev0 crev0 <<<"$(ff_leader_revs "$scope")"
	logs0=$(ff_count_logs "$system")
	[ "$system" = gsha ] && m0=$(curl -s -m 3 "http://127.0.0.1:${C_API_PORT[$leader]}/metrics")
	b_log "$system: soak of $DURATION s starts: primary $leader (agent $agent, postmaster $pm), $moved processes and $FF_HOGS hogs in $FF_CG (quota $FF_CPU_PCT% of a core); leader key revision $rev0, created at $crev0"
	b_writer_start "$C_DIR/writer.log" "$DURATION"
	end=$((SECONDS + DURATION))
	while [ "$SECONDS" -lt "$end" ]; do
		sleep $((end - SECONDS < 60 ? end - SECONDS : 60))
		b_log "$system: $((DURATION - end + SECONDS)) s: leader $(c_leader), $(grep -c '^ok' "$C_DIR/writer.log") commits, $(grep -vc '^ok' "$C_DIR/writer.log") not ok; cgroup $(tr '\n' ' ' <"$FF_CG/cpu.stat" | cut -c1-80)"
	done
	ff_hogs_stop
	b_writer_stop
	read -r _ crev1 <<<"$(ff_leader_revs "$scope")"
	logs1=$(ff_count_logs "$system")
	[ "$system" = gsha ] && m1=$(curl -s -m 3 "http://127.0.0.1:${C_API_PORT[$leader]}/metrics")
	ff_leader_history "$scope" "$rev0" "$C_DIR/leader-history"
	hist=$C_DIR/leader-history
	changes=$(awk -v l="$leader" '$2 == "PUT" && $3 != h { if (h != "" || $3 != l) n++; h = $3 } $2 == "DELETE" { h = "" } END { print n + 0 }' "$hist")
	deletes=$(awk '$2 == "DELETE"' "$hist" | wc -l)
	held=$(c_leader)
	echo "== $system: soak of $DURATION s, primary $leader hogged ($FF_HOGS busy loops, quota $FF_CPU_PCT% of a core)"
	echo "$system leader key: $(wc -l <"$hist") events after revision $rev0 ($(awk '$2 == "PUT"' "$hist" | wc -l) PUT, $deletes DELETE), $changes changes of holder; create_revision $crev0 at the start, $crev1 at the end; held by $held at the end"
	awk '$2 == "DELETE" || ($2 == "PUT" && $3 != "'"$leader"'")' "$hist" | head -20 | sed "s/^/$system   /"
	echo "$system cgroup cpu.stat: $(tr '\n' ' ' <"$FF_CG/cpu.stat")"
	read -r cpu1 <"$FF_ACCT/cpuacct.usage" 2>/dev/null || cpu1=
	local ok fail unk nc slow p50 p99 max gap
	read -r ok fail unk nc slow gap <<<"$(awk '
		$1 == "ok" { ok++; if ($4 - $3 > 1000000) slow++; if (last) { g = ($4 - last) / 1000; if (g > gap) gap = g } last = $4 }
		$1 == "fail" { fail++ } $1 == "unknown" { unk++ } $1 == "noconn" { nc++ }
		END { printf "%d %d %d %d %d %.1f", ok, fail + 0, unk + 0, nc + 0, slow + 0, gap }' "$C_DIR/writer.log")"
	read -r p50 p99 max <<<"$(awk '$1 == "ok" { printf "%.1f\n", ($4 - $3) / 1000 }' "$C_DIR/writer.log" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a n/a n/a"; else print v[int((NR + 1) / 2)], v[(int(NR * 0.99) > 0) ? int(NR * 0.99) : 1], v[NR] }')"
	echo "$system writer: $ok commits ok, $fail failed, $unk unknown, $nc without a connection; $slow slower than 1 s; latency p50 $p50 ms, p99 $p99 ms, max $max ms; longest gap between commits $gap ms"
	echo "$system log lines matching /$(ff_pattern "$system")/ at the start: $logs0; at the end: $logs1"
	local n
	# The lines themselves that appeared during the soak (at most 15 per node).
	for n in "${B_NODES[@]}"; do
		local before
		before=$(echo "$logs0" | tr ' ' '\n' | awk -F= -v n="$n" '$1 == n { print $2 }')
		grep -Ei "$(ff_pattern "$system")" "$C_DIR/$n.log" | tail -n +"$((before + 1))" | head -15 | cut -c1-220 | sed "s/^/$system   $n: /"
	done
	if [ "$system" = gsha ]; then
		for p in gsha_role_changes_total gsha_dcs_request_errors_total gsha_fences_total gsha_failovers_total gsha_loop_duration_seconds_count gsha_loop_duration_seconds_sum; do
			echo "$system $leader /metrics $p: $(echo "$m0" | awk -v p="$p" '$1 ~ "^"p"($|[{])" { print $2; exit }') -> $(echo "$m1" | awk -v p="$p" '$1 ~ "^"p"($|[{])" { print $2; exit }')"
		done
		echo "$system $leader /metrics loop duration buckets at the end: $(echo "$m1" | grep '^gsha_loop_duration_seconds_bucket' | sed 's/.*le="\([^"]*\)".* \(.*\)/\1:\2/' | tr '\n' ' ')"
		echo "$system $leader /metrics etcd request duration buckets at the end: $(echo "$m1" | grep '^gsha_dcs_request_duration_seconds_bucket' | sed 's/.*le="\([^"]*\)".* \(.*\)/\1:\2/' | tr '\n' ' ')"
	fi
	local throttled
	throttled=$(awk '/^nr_periods/ { p = $2 } /^nr_throttled/ { t = $2 } END { if (p) printf "%.0f", 100 * t / p; else print "n/a" }' "$FF_CG/cpu.stat")
	local cpu_pct=n/a
	[ -n "$cpu0" ] && [ -n "$cpu1" ] && cpu_pct=$(awk -v a="$cpu0" -v b="$cpu1" -v d="$DURATION" 'BEGIN { printf "%.0f", (b - a) / 1e7 / d }')
	echo "$system RESULT changes=$changes deletes=$deletes create_rev_same=$([ "$crev0" = "$crev1" ] && echo yes || echo no) ok=$ok fail=$fail unknown=$unk noconn=$nc slow=$slow p99_ms=$p99 max_ms=$max gap_ms=$gap throttled_pct=$throttled" >>"$FF_RESULTS"
	echo "$system $changes $deletes $([ "$crev0" = "$crev1" ] && echo yes || echo no) $ok $fail $unk $nc $slow $p50 $p99 $max $gap $throttled $cpu_pct" >>"$FF_RESULTS.rows"
}

if [ -n "${FF_CHILD:-}" ]; then
	ff_soak "$FF_CHILD"
	exit $?
fi

# ---- the parent: the slow disk, etcd on it, one child per system, the summary
FF_PREFIX=ff$(tr -dc 'a-z0-9' </dev/urandom | head -c 5)
F_DIR=$t_tmpdir/disk
F_PREFIX=$FF_PREFIX
source "$root/tests/faults/lib.sh"
F_ETCDS=(e1)
FF_SYNC=$t_tmpdir/sync
FF_RESULTS=$t_tmpdir/results
mkdir -p "$F_DIR" "$FF_SYNC"
: >"$FF_RESULTS"
: >"$FF_RESULTS.rows"
chmod 777 "$FF_SYNC"
declare -A FF_CHILD_PID
T_CLEANUP_HOOKS+=(f_etcd_disk_down)
ff_parent_down() {
	local s
	for s in "${!FF_CHILD_PID[@]}"; do
		kill -TERM "${FF_CHILD_PID[$s]}" 2>/dev/null
	done
	for s in "${!FF_CHILD_PID[@]}"; do
		b_wait 120 b_pid_gone "${FF_CHILD_PID[$s]}" || kill -KILL "${FF_CHILD_PID[$s]}" 2>/dev/null
		wait "${FF_CHILD_PID[$s]}" 2>/dev/null
	done
	FF_CHILD_PID=()
}
trap 'b_rc=$?; set +e; ff_parent_down; (exit $b_rc); t_cleanup' EXIT

echo "== false failovers: $DURATION s soak per system ($SYSTEMS), at the same time"
b_build_info
b_haproxy_timing
echo "client: bench-writer through HAProxy, one commit every $B_WRITE_INTERVAL_MS ms; checks inter ${B_HC_INTER}ms fastinter ${B_HC_FAST}ms downinter ${B_HC_DOWN}ms rise $B_HC_RISE fall $B_HC_FALL"
echo "faults: etcd's data dir on ext4 on a loop device, writes throttled to $FF_IOPS IOPS (blkio); the primary's agent + PostgreSQL + $FF_HOGS busy loops in one cpu cgroup with a quota of $FF_CPU_PCT% of one core (period 100 ms)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start"
f_etcd_disk_up || t_fail "could not put a file system on a loop device for etcd"
ff_start_etcd() {
	local t_tmpdir=$F_DIR/etcd # t_start_etcd puts its data dir under $(t_tmpdir)
	t_start_etcd
}
ff_start_etcd
F_PID[e1]=$ETCD_PID
b_log "etcd $ETCD_URL (pid $ETCD_PID), data on $F_LOOPDEV"
for system in $SYSTEMS; do
	FF_CHILD=$system FF_PREFIX=$FF_PREFIX FF_SYNC=$FF_SYNC FF_RESULTS=$FF_RESULTS ETCD_URL=$ETCD_URL \
		bash "$0" "$DURATION" &
	FF_CHILD_PID[$system]=$!
	sleep 5 # the children draw free ports: not at the same instant
done
for system in $SYSTEMS; do
	b_wait 900 test -e "$FF_SYNC/$system.ready" || b_log "$system: not ready within 900 s"
done
[ "$FF_IOPS" = 0 ] || f_etcd_disk_throttle "$FF_IOPS"
read -r fs_c0 fs_s0 fs_128_0 fs_512_0 <<<"$(ff_fsync)"
b_log "etcd's disk throttled to $FF_IOPS write IOPS; go"
touch "$FF_SYNC/go"
for system in $SYSTEMS; do
	wait "${FF_CHILD_PID[$system]}"
done
FF_CHILD_PID=()
read -r fs_c1 fs_s1 fs_128_1 fs_512_1 <<<"$(ff_fsync)"
echo
echo "== false failovers summary: $DURATION s, fast profile for gsha (ttl $C_TTL, loop_wait $C_LOOP_WAIT, retry_timeout $C_RETRY), Patroni 3.0.2 at 5/1/2; load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
awk -v c="$((fs_c1 - fs_c0))" -v s="$fs_s0" -v t="$fs_s1" -v a="$((fs_128_1 - fs_128_0))" -v b="$((fs_512_1 - fs_512_0))" 'BEGIN {
	printf "etcd WAL fsyncs during the soak: %d, mean %.1f ms, %d over 128 ms, %d over 512 ms\n", c, c ? (t - s) * 1000 / c : 0, a, b }'
printf '%-8s %8s %8s %9s %8s %6s %8s %7s %7s %8s %8s %9s %9s %10s %8s\n' system changes deletes same-key ok fail unknown noconn ">1s" p50_ms p99_ms max_ms gap_ms throttled% cpu%core
while read -r s changes deletes same ok fail unk nc slow p50 p99 max gap thr cpu; do
	printf '%-8s %8s %8s %9s %8s %6s %8s %7s %7s %8s %8s %9s %9s %10s %8s\n' "$s" "$changes" "$deletes" "$same" "$ok" "$fail" "$unk" "$nc" "$slow" "$p50" "$p99" "$max" "$gap" "$thr" "$cpu"
done <"$FF_RESULTS.rows"
grep -v RESULT "$FF_RESULTS"
echo "changes: PUTs of the leader key naming another node; deletes: the key expired or was released; same-key: the key's create_revision unchanged (never lost); the bar is 0 changes, 0 deletes"
