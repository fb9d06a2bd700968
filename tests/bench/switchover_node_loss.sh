#!/usr/bin/env bash
# Benchmark, not a test: a switchover whose candidate is lost, the fault suite's
# "switchover-node-loss" (tests/faults/scenarios.sh) on loopback with the bench harness. For each
# system and run: a fresh three-node cluster, a writer through HAProxy, POST /switchover
# {"leader","candidate"} to the leader (the candidate is the first other node, as the scenario
# picks it), and DELAY ms after the request kill -9 of the candidate's agent, postmaster and
# backends. Measures the longest gap between acknowledged commits from the request until writes
# run again for 1 s, who leads then, and acknowledged rows missing on that leader.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/switchover_node_loss.sh [RUNS] [async|sync]
#
# RUNS defaults to 5. B_KILL_DELAYS_MS="0 250 500 750 1000" (the default) are the delays, taken
# in turn per run; the fault suite draws one at random in 0..999. B_PROFILE as in lib.sh
# (default ttl5, the fault suite's "fast" timing 5/1/2); SYSTEMS as in lib.sh.
MODE=${2:-async}
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[[ "$MODE" =~ ^(async|sync)$ ]] || { echo "mode must be async or sync" >&2; exit 2; }
read -r -a DELAYS <<<"${B_KILL_DELAYS_MS:-0 250 500 750 1000}"
b_preamble "switchover with the candidate lost ($MODE replication)" "${1:-5}"

# Longest gap between consecutive acknowledged commits ending after T_US: "GAP_MS PREV_US NEXT_US".
longest_gap() { # LOG T_US
	awk '$1 == "ok" { print $4 }' "$1" | sort -n |
		awk -v t="$2" 'NR > 1 && $1 >= t && $1 - prev > best { best = $1 - prev; a = prev; b = $1 }
			{ prev = $1 } END { printf "%.1f %s %s\n", best / 1000, a, b }'
}

# Whether writes have run for the last second (an acknowledged commit at least 1 s after T_US
# and one within the last 200 ms).
writes_back() { # LOG T_US
	local now
	now=$(b_now_us)
	awk -v t="$2" -v now="$now" '$1 == "ok" && $4 >= t + 1000000 && $4 >= now - 200000 { f = 1 } END { exit !f }' "$1"
}

run_one() { # SYSTEM RUN
	local system=$1 run=$2 dir log leader cand n pids pause delay t_req t_kill gap a b lead lost acked where
	dir=$t_tmpdir/$system-$run
	log=$dir.writer.log
	delay=${DELAYS[$(((run - 1) % ${#DELAYS[@]}))]}
	if ! b_cluster_up_retry "$system" "$dir" "sl-$system-$run-$$" "$MODE"; then
		b_show_logs
		b_cluster_down
		echo "$system $run failed-to-start" >>"$results"
		return
	fi
	b_create_tables node1
	b_writer_start "$log" 120
	b_wait 20 grep -q '^ok' "$log" || b_log "$system: the writer has no commit after 20 s"
	sleep 3
	leader=$(c_leader)
	cand=
	for n in "${B_NODES[@]}"; do
		[ "$n" != "$leader" ] && cand=$n && break
	done
	pause=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')
	pids=$(b_node_pids "$cand") # taken now: under load, looking them up takes long
	t_req=$(b_now_us)
	curl -s -o "$dir.so.out" -m 60 -X POST -H 'Content-Type: application/json' \
		-d "{\"leader\":\"$leader\",\"candidate\":\"$cand\"}" \
		"http://127.0.0.1:${C_API_PORT[$leader]}/switchover" &
	local curl_pid=$!
	sleep "$pause"
	t_kill=$(b_kill_node "$cand" "$pids")
	b_log "$system run $run: POST /switchover $leader -> $cand, killed $cand $(((t_kill - t_req) / 1000)) ms later"
	local resumed=0
	b_wait 60 writes_back "$log" "$t_kill" && resumed=1
	wait "$curl_pid" 2>/dev/null
	b_writer_stop
	lead=$(c_leader)
	read -r gap a b < <(longest_gap "$log" "$t_req")
	if [ "$resumed" = 0 ] || [ -z "$lead" ]; then
		b_log "$system run $run: writes did not resume within 60 s"
		b_show_logs
		echo "$system $run no-writes" >>"$results"
		b_cluster_down
		return
	fi
	c_psql "$lead" "select seq from bench_w" >"$dir.present"
	acked=$(awk '$1 == "ok"' "$log" | wc -l)
	lost=$(awk 'NR == FNR { have[$1] = 1; next } $1 == "ok" && !($2 in have)' "$dir.present" "$log" | wc -l)
	where=$(awk -v t="$b" '$1 == "ok" && $4 == t { print $5; exit }' "$log")
	for n in "${B_NODES[@]}"; do [ "${C_PG_PORT[$n]}" = "$where" ] && where=$n; done
	printf '%-8s run %d: %s -> %s, candidate killed %d ms after the request: longest write gap through HAProxy %s ms (from %+.3f s to %+.3f s after the request, then on %s); leader %s; HTTP answer: %s; acked %d, acked but lost %d\n' \
		"$system" "$run" "$leader" "$cand" "$(((t_kill - t_req) / 1000))" "$gap" \
		"$(awk -v x="$a" -v t="$t_req" 'BEGIN { print (x - t) / 1e6 }')" \
		"$(awk -v x="$b" -v t="$t_req" 'BEGIN { print (x - t) / 1e6 }')" "$where" "$lead" \
		"$(head -c 120 "$dir.so.out" 2>/dev/null | tr '\n' ' ')" "$acked" "$lost"
	echo "$system $run ok $gap $lost $acked" >>"$results"
	b_cluster_down
}

for system in $SYSTEMS; do
	for run in $(seq "$RUNS"); do
		run_one "$system" "$run"
	done
done

echo "== switchover with the candidate killed ($MODE replication; B_PROFILE=$B_PROFILE ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY; delays ${DELAYS[*]} ms; client through HAProxy; load average $(cut -d' ' -f1-3 /proc/loadavg))"
declare -A med
for system in $SYSTEMS; do
	med[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { print $4 }' "$results" | b_median)
	all=$(awk -v s="$system" '$1 == s && $3 == "ok" { printf "%s ", $4 }' "$results")
	lost=$(awk -v s="$system" '$1 == s && $3 == "ok" { l += $5; a += $6 } END { printf "%d of %d", l, a }' "$results")
	okruns=$(awk -v s="$system" '$1 == s && $3 == "ok"' "$results" | wc -l)
	printf '%-8s median longest write gap %s ms [%s] over %d/%d runs; acknowledged rows lost: %s\n' \
		"$system" "${med[$system]}" "${all% }" "$okruns" "$RUNS" "$lost"
done
if [ -n "${med[gsha]:-}" ] && [ -n "${med[patroni]:-}" ]; then
	echo "ratio patroni/gsha (longest write gap): $(b_ratio "${med[patroni]}" "${med[gsha]}")x"
fi
