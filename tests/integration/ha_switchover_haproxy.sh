#!/usr/bin/env bash
# Issue 14: planned switchovers in synchronous mode, as clients see them through HAProxy run with
# the configuration gsctl haproxy-config writes. A writer connected through HAProxy commits a row
# every 10 ms, and a second writer pinned to the old primary's own port keeps trying to commit on
# it (never through HAProxy). After each switchover:
#   - every row either writer saw acknowledged is on the new primary (no acknowledged commit
#     lost in synchronous mode);
#   - the old primary acknowledged nothing after the new primary's first commit began (the last
#     acknowledgement from the old primary precedes the sending of the first commit the new one
#     acknowledged: never two writable primaries);
#   - the client's writes reached the new primary through HAProxy.
# The write gap is logged, not asserted (the machine is shared); tests/bench/switchover.sh
# measures it.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/lib/sync.sh"

G=$GSHA_BUILD_DIR/ctl/gsctl
W=$GSHA_BUILD_DIR/tests/bench/bench-writer
[ -x "$W" ] || t_fail "bench-writer is not built ($W)"
t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "shap$$"
for n in node1 node2 node3; do c_config "$n"; done
t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
	done
	echo "---- haproxy.log (tail)"
	tail -20 "$C_DIR/haproxy.log" 2>/dev/null
}

c_start node1
t_wait_for 60 "node1 to bootstrap" c_running node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_wait_for 90 "node3 to run as a replica" c_running node3 replica
t_assert_eq 200 "$(patch_config node1 '{"synchronous_mode": true}')" "synchronous_mode on"
has_sync() { [ "$(c_rest node2 /sync)" = 200 ] || [ "$(c_rest node3 /sync)" = 200 ]; }
t_wait_for 30 "a synchronous standby" has_sync

write_port=$(t_free_port)
"$G" -c "$C_DIR/node1.yml" haproxy-config --bind 127.0.0.1 --primary-port "$write_port" \
	--replica-port "$(t_free_port)" >"$C_DIR/haproxy.cfg" 2>"$C_DIR/gsctl.err" ||
	t_fail "gsctl haproxy-config failed: $(cat "$C_DIR/gsctl.err")"
haproxy -c -q -f "$C_DIR/haproxy.cfg" || t_fail "haproxy -c rejects the generated configuration"
haproxy -db -f "$C_DIR/haproxy.cfg" >"$C_DIR/haproxy.log" 2>&1 &
t_register_pid $!
tcp_psql node1 "create table bench_w(seq bigint primary key); create table pinned1(seq bigint primary key); create table pinned2(seq bigint primary key)" >/dev/null ||
	t_fail "could not create the tables"
via_haproxy="host=127.0.0.1 port=$write_port user=postgres dbname=postgres connect_timeout=2 target_session_attrs=read-write"
reaches() { # PORT: a read-write connection through HAProxy lands on that server
	[ "$(runuser -u postgres -- env PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -A -t -d "$via_haproxy" -c "show port" 2>/dev/null)" = "$1" ]
}
t_wait_for 20 "HAProxy to route writes to node1" reaches "${C_PG_PORT[node1]}"

# Writer W1 through HAProxy, for the whole test; W2 pinned to the current primary's port.
"$W" "$via_haproxy" 300 10 "$C_DIR/client.log" &
w1=$!
t_register_pid $w1
acked_on() { grep -c "^ok .* $2\$" "$1" 2>/dev/null; }
t_wait_for 20 "the client writer's first commit" eval '[ "$(acked_on "$C_DIR/client.log" "${C_PG_PORT[node1]}")" -gt 0 ]'

# Prints "S_US" of the first commit acknowledged by PORT that was sent at or after T_US.
first_ok_sent() { awk -v t="$2" -v p="$3" '$1 == "ok" && $3 >= t && $5 == p { print $3; exit }' "$1"; }
# Prints "A_US" of the last commit acknowledged by PORT.
last_ok_ack() { awk -v p="$2" '$1 == "ok" && $5 == p { a = $4 } END { print a }' "$1"; }
# The longest gap between acknowledged commits in LOG after T_US, in ms.
gap_after() { awk -v t="$2" '$1 == "ok" && $4 >= t - 1000000 { if (p && $4 - p > g) g = $4 - p; p = $4 } END { printf "%d", g / 1000 }' "$1"; }

leader=node1
for round in 1 2; do
	cand=node2
	[ "$leader" = node2 ] && cand=node3
	old_port=${C_PG_PORT[$leader]}
	new_port=${C_PG_PORT[$cand]}
	"$W" "host=127.0.0.1 port=$old_port user=postgres dbname=postgres connect_timeout=2" 300 10 \
		"$C_DIR/pinned-$round.log" "pinned$round" &
	w2=$!
	t_register_pid $w2
	t_wait_for 20 "the pinned writer's first commit on $leader" eval '[ "$(acked_on "$C_DIR/pinned-$round.log" "$old_port")" -gt 0 ]'
	t_wait_for 60 "$cand to stream from $leader" eval "c_cluster_streams $leader 0 $cand"
	sleep 1
	t_req=$(date +%s%6N)
	code=$(curl -s -o "$C_DIR/so-$round.out" -w '%{http_code}' -m 60 -X POST -H 'Content-Type: application/json' \
		-d "{\"leader\":\"$leader\",\"candidate\":\"$cand\"}" "http://127.0.0.1:${C_API_PORT[$leader]}/switchover")
	t_assert_eq 200 "$code" "round $round: POST /switchover $leader -> $cand: $(cat "$C_DIR/so-$round.out")"
	t_wait_for 60 "round $round: a commit on $cand through HAProxy" \
		eval '[ -n "$(first_ok_sent "$C_DIR/client.log" "$t_req" "$new_port")" ]'
	t_wait_for 90 "round $round: $leader to rejoin as a replica" c_running "$leader" replica
	kill -TERM $w2
	wait $w2
	first_new=$(first_ok_sent "$C_DIR/client.log" "$t_req" "$new_port")
	last_old=$(last_ok_ack "$C_DIR/pinned-$round.log" "$old_port")
	t_log "round $round: last acknowledgement from $leader at $last_old, first commit on $cand sent at $first_new; client write gap through HAProxy $(gap_after "$C_DIR/client.log" "$t_req") ms"
	[ -n "$last_old" ] && [ "$last_old" -lt "$first_new" ] ||
		t_fail "round $round: $leader acknowledged a commit ($last_old) after $cand's first began ($first_new)"
	t_pass "round $round: $leader acknowledged nothing after $cand's first commit began"
	late=$(awk -v t="$first_new" -v p="$old_port" '$1 == "ok" && $5 == p && $4 >= t' "$C_DIR/client.log" | wc -l)
	t_assert_eq 0 "$late" "round $round: no client commit acknowledged by $leader after $cand's first"
	leader=$cand
done
kill -TERM $w1
wait $w1

# Every acknowledged row of every writer on the last primary.
missing() { # TABLE LOG: acknowledged rows of LOG absent from TABLE on the leader
	tcp_psql "$leader" "select seq from $1" >"$C_DIR/$1.present" || t_fail "could not read $1 on $leader"
	awk 'NR == FNR { have[$1] = 1; next } $1 == "ok" && !($2 in have)' "$C_DIR/$1.present" "$2" | wc -l
}
acked() { awk '$1 == "ok"' "$1" | wc -l; }
t_assert_eq 0 "$(missing bench_w "$C_DIR/client.log")" \
	"no acknowledged client commit lost ($(acked "$C_DIR/client.log") acknowledged through HAProxy)"
for round in 1 2; do
	t_assert_eq 0 "$(missing "pinned$round" "$C_DIR/pinned-$round.log")" \
		"round $round: no acknowledged commit of the pinned writer lost ($(acked "$C_DIR/pinned-$round.log") acknowledged)"
done
t_pass "synchronous switchovers through HAProxy: nothing acknowledged was lost, never two writable primaries"
t_done
