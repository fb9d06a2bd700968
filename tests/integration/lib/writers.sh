#!/usr/bin/env bash
# One writer per node (tests/bench/bench-writer with a single-host conninfo and
# target_session_attrs=read-write), so every node that accepts writes is seen accepting them,
# not only the one a load balancer or a multi-host conninfo would pick: two writable primaries
# show up as two logs with acknowledged commits at the same time. Source cluster.sh first.
#
#   w_start DIR SECONDS          starts a writer per node (one insert every W_INTERVAL_MS, 25 by
#                                default), logs in DIR/w-NAME.log; needs table bench_w(seq);
#                                keys never repeat across calls (at most 90 per process)
#   w_stop                       stops them (TERM, then KILL) by PID and waits for them
#   w_analyse DIR OLD T0_US      after a freeze of OLD's agent at T0_US (CLOCK_REALTIME us):
#                                prints "OLD_ACKS OLD_LAST_US NEW_NAME NEW_FIRST_US AFTER OVERLAP_MS"
#                                where OLD_ACKS are OLD's acknowledged commits from T0_US on,
#                                NEW_FIRST_US the first acknowledged commit on another node from
#                                T0_US on (NEW_NAME that node, "-" when none), AFTER how many
#                                commits OLD acknowledged at or after it and OVERLAP_MS the time
#                                from it to OLD's last acknowledgement (0 when none)
#   w_lost DIR NAME              acknowledged rows (of every writer) missing on NAME's database
W_NODES=(node1 node2 node3)
W_INTERVAL_MS=${W_INTERVAL_MS:-25}
W_ROUND=0 # each w_start takes new keys: rows of an earlier round are still in bench_w
declare -gA W_PID

w_start() {
	local dir=$1 seconds=$2 i=0 n
	W_ROUND=$((W_ROUND + 1))
	for n in "${W_NODES[@]}"; do
		i=$((i + 1))
		BENCH_WRITER_SEQ_BASE=$(((W_ROUND * 10 + i) * 1000000000)) BENCH_WRITER_RETRY_MS=50 \
			"$GSHA_BUILD_DIR/tests/bench/bench-writer" \
			"host=127.0.0.1 port=${C_PG_PORT[$n]} user=postgres dbname=postgres connect_timeout=1 target_session_attrs=read-write" \
			"$seconds" "$W_INTERVAL_MS" "$dir/w-$n.log" &
		W_PID[$n]=$!
		if declare -F t_register_pid >/dev/null; then
			t_register_pid "${W_PID[$n]}"
		fi
	done
}

w_stop() {
	local n pid
	for n in "${!W_PID[@]}"; do
		pid=${W_PID[$n]}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		W_PID[$n]=
	done
}

w_analyse() {
	local dir=$1 old=$2 t0=$3 n first="" first_name="-" f
	for n in "${W_NODES[@]}"; do
		[ "$n" != "$old" ] || continue
		f=$(awk -v t="$t0" '$1 == "ok" && $4 >= t { print $4; exit }' "$dir/w-$n.log" 2>/dev/null)
		if [ -n "$f" ] && { [ -z "$first" ] || [ "$f" -lt "$first" ]; }; then
			first=$f first_name=$n
		fi
	done
	awk -v t="$t0" -v first="${first:-0}" -v name="$first_name" '
		$1 == "ok" && $4 >= t { acks++; if ($4 > last) last = $4; if (first > 0 && $4 >= first) after++ }
		END {
			overlap = (first > 0 && last >= first) ? int((last - first) / 1000) : 0
			printf "%d %.0f %s %.0f %d %d\n", acks, last, name, first, after, overlap
		}' "$dir/w-$old.log"
}

w_lost() {
	local dir=$1 name=$2
	c_psql "$name" "select seq from bench_w" | sort >"$dir/present.$name"
	awk '$1 == "ok" { print $2 }' "$dir"/w-*.log | sort >"$dir/acked"
	comm -23 "$dir/acked" "$dir/present.$name" | wc -l
}
