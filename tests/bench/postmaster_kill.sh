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
# RUNS defaults to 5. The writer connects through HAProxy (lib.sh, the documented check
# settings): the figure is the one a client sees. SYSTEMS="gsha" or "patroni" runs one side
# only; B_PROFILE=fast|ttl5|default picks the timing; B_AT_DB=1 also prints the figure at the
# databases. gsha is a child subreaper: it reaps the postmaster itself, so no prompt init (tini)
# is needed for its figure; Patroni's postmaster is still reaped by this machine's init.
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
b_preamble "postmaster kill benchmark" "${1:-5}"

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

# Where the time went in one run, in ms from the kill (T0_US), from the logs' ms timestamps
# (PostgreSQL's default log_line_prefix '%m [%p] ', gsha's log; both UTC): the agent saw the
# postmaster's exit, decided the restart, launched it; the new postmaster logged its start, crash
# recovery began ("was interrupted"), the data directory was synced and redo began ("not properly
# shut down": recovery_init_sync_method's walk lies between the two), the server accepted
# connections; the first commit through HAProxy (FIRST_US). "-" where a log has no such line
# (Patroni's log says other things; its server log is its own).
timeline() { # SYSTEM NODE T0_US FIRST_US
	local agent_log=$C_DIR/$2.log pg_log=$C_DIR/$2/data/postmaster.log
	[ -r "$pg_log" ] || pg_log=$C_DIR/$2.log
	TZ=UTC awk -v t0="$3" -v first="$4" -v sys="$1" '
	function ms(d, t,   a, b) {
		split(d, a, "-"); split(t, b, ":")
		return (mktime(a[1] " " a[2] " " a[3] " " b[1] " " b[2] " " int(b[3])) + b[3] - int(b[3])) * 1000
	}
	function note(k, line) {
		if ($1 !~ /^[0-9][0-9][0-9][0-9]-/ || $2 !~ /^[0-9:.]+$/ || (k in at)) return
		v = ms($1, $2) - t0 / 1000
		if (v >= 0) at[k] = sprintf("%d", v)
	}
	FILENAME == ARGV[1] && /exited and was reaped/ { note("seen") }
	FILENAME == ARGV[1] && /starting primary after failure/ { note("decided") }
	FILENAME == ARGV[1] && /starting the primary again/ { note("launched") }
	FILENAME == ARGV[2] && /LOG:  starting PostgreSQL/ { note("pg_start") }
	FILENAME == ARGV[2] && /database system was interrupted/ { note("recovery") }
	FILENAME == ARGV[2] && /was not properly shut down/ { note("synced") }
	FILENAME == ARGV[2] && /ready to accept connections/ { note("ready") }
	END {
		n = split("seen decided launched pg_start recovery synced ready", k, " ")
		line = sprintf("%-8s   timeline (ms after the kill):", sys)
		for (i = 1; i <= n; i++) line = line " " k[i] " " ((k[i] in at) ? at[k[i]] : "-")
		printf "%s commit %d\n", line, (first - t0) / 1000
	}' "$agent_log" "$pg_log"
}

run_system() { # SYSTEM
	local system=$1 dir log leader t0 t1 first new run healthy_by where s dbs
	dir=$t_tmpdir/$system
	log=$dir.writer.log
	if ! b_cluster_up_retry "$system" "$dir" "pk-$system-$$"; then
		b_show_logs
		b_cluster_down
		echo "$system 0 failed-to-start" >>"$results"
		return
	fi
	b_create_tables node1
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
		dbs=-
		if [ "${B_AT_DB:-0}" = 1 ]; then
			b_wait 10 sh -c "awk -v t=$t1 '\$1 == \"ok\" && \$3 >= t { f = 1; exit } END { exit !f }' '$log.db'"
			dbs=$(awk -v t="$t1" -v b="$t0" '$1 == "ok" && $3 >= t { printf "%.3f", ($4 - b) / 1e6; exit }' "$log.db")
			[ -n "$dbs" ] || dbs=-
		fi
		printf '%-8s run %d: %s postmaster killed, first commit through HAProxy after %s s%s (%s, leader now %s)\n' \
			"$system" "$run" "$leader" "$s" "$([ "$dbs" != - ] && echo " (at the databases $dbs s)")" "$where" "$new"
		echo "$system $run ok $s $where $dbs" >>"$results"
		timeline "$system" "$leader" "$t0" "${first% *}"
		healthy_by=$((SECONDS + 60))
		while [ "$SECONDS" -lt "$healthy_by" ] && ! b_healthy "$(c_leader)"; do sleep 0.2; done
	done
	b_writer_stop
	b_cluster_down
}

for system in $SYSTEMS; do
	run_system "$system"
done

echo "== postmaster kill summary (kill -9 of the leader's postmaster and backends; B_PROFILE=$B_PROFILE ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY; client through HAProxy)"
declare -A med
for system in $SYSTEMS; do
	med[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	dbm=$(awk -v s="$system" '$1 == s && $3 == "ok" && $6 != "-" { print $6 }' "$results" | b_median)
	okruns=$(awk -v s="$system" '$1 == s && $3 == "ok"' "$results" | wc -l)
	inplace=$(awk -v s="$system" '$1 == s && $5 == "in-place"' "$results" | wc -l)
	all=$(awk -v s="$system" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
	printf '%-8s median kill-to-commit through HAProxy %s s%s over %d/%d runs (%d in place) [%s]\n' \
		"$system" "${med[$system]}" "$([ "$dbm" != n/a ] && echo " (at the databases $dbm s)")" "$okruns" "$RUNS" "$inplace" "${all% }"
done
if [ -n "${med[gsha]:-}" ] && [ -n "${med[patroni]:-}" ]; then
	echo "ratio patroni/gsha (kill-to-commit): $(b_ratio "${med[patroni]}" "${med[gsha]}")x"
fi
