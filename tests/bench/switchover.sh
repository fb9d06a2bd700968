#!/usr/bin/env bash
# Benchmark, not a test: planned switchover. For each system (gsha, then Patroni): one three-node
# cluster (same YAML for both), a writer inserting one row every 20 ms on whichever node accepts
# writes, then RUNS switchovers in a row, each a POST /switchover {"leader","candidate"} to the
# leader's REST API (what patronictl switchover does), waiting between runs for the old leader
# to rejoin as a replica. Per switchover: the longest gap between two acknowledged commits around
# it (from the last commit before the request to the first on the candidate), the time from the
# request to the first commit on the candidate, and acknowledged rows missing at the end.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/switchover.sh [RUNS]
#
# The writer connects through HAProxy (lib.sh: b_haproxy_start, the documented check settings),
# so the gap is the one a client sees. RUNS defaults to 5. SYSTEMS="gsha" or "patroni" runs one
# side only; B_PROFILE=fast|ttl5|default picks the timing; B_AT_DB=1 also prints the gap at the
# databases (a second writer on the nodes directly, around the load balancer).
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
b_preamble "switchover benchmark" "${1:-5}"

# Longest gap between consecutive acknowledged commits that ends after T_REQ and starts no later
# than FIRST (the first commit on the candidate): prints "GAP_MS PREV_US NEXT_US".
longest_gap() { # LOG T_REQ FIRST
	awk '$1 == "ok" { print $4 }' "$1" | sort -n |
		awk -v t="$2" -v f="$3" 'NR > 1 && $1 >= t && prev <= f && $1 - prev > best { best = $1 - prev; a = prev; b = $1 }
			{ prev = $1 } END { printf "%.1f %s %s\n", best / 1000, a, b }'
}

# First acknowledged commit at or after T_US on PORT: prints its ACK_US, fails when none.
commit_on() { # LOG T_US PORT
	awk -v t="$2" -v p="$3" '$1 == "ok" && $4 >= t && $5 == p { print $4; found = 1; exit } END { exit !found }' "$1"
}

run_system() {
	local system=$1 dir log run leader cand n t_req code first gap lost acked unknown to_s dbgap dbfirst
	dir=$t_tmpdir/$system
	log=$dir.writer.log
	if ! b_cluster_up_retry "$system" "$dir" "so-$system-$$"; then
		b_show_logs
		b_cluster_down
		echo "$system 0 failed-to-start" >>"$results"
		return
	fi
	b_create_tables node1
	b_writer_start "$log" $((RUNS * 200 + 30))
	b_wait 20 grep -q '^ok' "$log" || b_log "$system: the writer has no commit after 20 s"
	for run in $(seq "$RUNS"); do
		leader=$(c_leader)
		if [ -z "$leader" ] || ! b_wait 120 b_healthy "$leader"; then
			b_log "$system run $run: cluster not healthy (leader '$leader') within 120 s"
			b_show_logs
			echo "$system $run not-healthy" >>"$results"
			break
		fi
		sleep 2 # steady writes before the request
		cand=
		for n in "${B_NODES[@]}"; do
			[ "$n" != "$leader" ] && cand=$n && break
		done
		t_req=$(b_now_us)
		code=$(curl -s -o "$dir.so-$run.out" -w '%{http_code}' -m 60 -X POST \
			-H 'Content-Type: application/json' -d "{\"leader\":\"$leader\",\"candidate\":\"$cand\"}" \
			"http://127.0.0.1:${C_API_PORT[$leader]}/switchover")
		b_log "$system run $run: POST /switchover $leader -> $cand: HTTP $code $(head -c 200 "$dir.so-$run.out")"
		b_wait 60 commit_on "$log" "$t_req" "${C_PG_PORT[$cand]}"
		first=$(commit_on "$log" "$t_req" "${C_PG_PORT[$cand]}")
		if [ -z "$first" ]; then
			b_log "$system run $run: no commit on $cand within 60 s of the request"
			b_show_logs
			echo "$system $run no-write-on-candidate" >>"$results"
			break
		fi
		sleep 0.5
		read -r gap _ _ < <(longest_gap "$log" "$t_req" "$first")
		to_s=$(awk -v a="$first" -v b="$t_req" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
		dbgap=-
		if [ "${B_AT_DB:-0}" = 1 ]; then
			b_wait 10 commit_on "$log.db" "$t_req" "${C_PG_PORT[$cand]}"
			dbfirst=$(commit_on "$log.db" "$t_req" "${C_PG_PORT[$cand]}")
			[ -n "$dbfirst" ] && read -r dbgap _ _ < <(longest_gap "$log.db" "$t_req" "$dbfirst")
		fi
		printf '%-8s switchover %d: %s -> %s (HTTP %s): longest write gap through HAProxy %s ms%s, request to first write on %s %s s\n' \
			"$system" "$run" "$leader" "$cand" "$code" "$gap" \
			"$([ "$dbgap" != - ] && echo " (at the databases $dbgap ms)")" "$cand" "$to_s"
		echo "$system $run ok $gap $to_s $dbgap" >>"$results"
		# the old leader must rejoin before the next run (b_healthy at the top of the loop)
	done
	b_writer_stop
	[ -n "${BENCH_LOGS:-}" ] && mkdir -p "$BENCH_LOGS" && cp "$log"* "$BENCH_LOGS/" 2>/dev/null
	leader=$(c_leader)
	if [ -n "$leader" ]; then
		c_psql "$leader" "select seq from bench_w" >"$dir.present"
		acked=$(awk '$1 == "ok"' "$log" | wc -l)
		unknown=$(awk '$1 == "unknown"' "$log" | wc -l)
		lost=$(awk 'NR == FNR { have[$1] = 1; next } $1 == "ok" && !($2 in have)' "$dir.present" "$log" | wc -l)
		echo "$system lost $lost $acked $unknown" >>"$results"
		printf '%-8s acknowledged %d rows over all switchovers; acked but missing on %s: %d; outcome unknown: %d\n' \
			"$system" "$acked" "$leader" "$lost" "$unknown"
	fi
	b_cluster_down
}

for system in $SYSTEMS; do
	run_system "$system"
done

echo "== switchover summary (POST /switchover with candidate; B_PROFILE=$B_PROFILE ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY; client through HAProxy, checks inter ${B_HC_INTER}ms downinter ${B_HC_DOWN}ms rise $B_HC_RISE)"
declare -A med
for system in $SYSTEMS; do
	med[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	tom=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $5 }' "$results" | b_median)
	dbm=$(awk -v s="$system" '$1 == s && $3 == "ok" && $6 != "-" { print $6 }' "$results" | b_median)
	okruns=$(awk -v s="$system" '$1 == s && $3 == "ok"' "$results" | wc -l)
	all=$(awk -v s="$system" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
	lost=$(awk -v s="$system" '$1 == s && $2 == "lost" { printf "%d of %d", $3, $4 }' "$results")
	printf '%-8s median longest write gap through HAProxy %s ms [%s]%s (request to first write on candidate %s s) over %d/%d switchovers; acknowledged rows lost: %s\n' \
		"$system" "${med[$system]}" "${all% }" "$([ "$dbm" != n/a ] && echo "; at the databases $dbm ms")" "$tom" "$okruns" "$RUNS" "${lost:-n/a}"
done
if [ -n "${med[gsha]:-}" ] && [ -n "${med[patroni]:-}" ]; then
	echo "ratio patroni/gsha (longest write gap through HAProxy): $(b_ratio "${med[patroni]}" "${med[gsha]}")x"
fi
