#!/usr/bin/env bash
# Issue 14 item 6: gsctl haproxy-config against a real three-node cluster. The configuration it
# prints from the live cluster (members' conn_url and api_url, loop_wait) passes haproxy -c,
# routes writes to the primary and reads to the replicas when HAProxy runs it on free loopback
# ports, and after a planned switchover writes reach the new primary. Times are logged only.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

G=$GSHA_BUILD_DIR/ctl/gsctl
t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "hgen$$"
for n in node1 node2 node3; do c_config "$n"; done
t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
	done
	echo "---- gsctl stderr"
	cat "$C_DIR/gsctl.err" 2>/dev/null
	echo "---- haproxy.cfg"
	cat "$C_DIR/haproxy.cfg" 2>/dev/null
	echo "---- haproxy.log"
	tail -30 "$C_DIR/haproxy.log" 2>/dev/null
	echo "---- psql errors"
	tail -10 "$C_DIR/psql.err" 2>/dev/null
	echo "---- write attempts (ms since the switchover began)"
	tail -40 "$C_DIR/writes.log" 2>/dev/null
}
role_is() { c_running "$1" "$2"; }

c_start node1
t_wait_for 60 "node1 to bootstrap" role_is node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" role_is node2 replica
t_wait_for 90 "node3 to run as a replica" role_is node3 replica

# ---- generate and validate
write_port=$(t_free_port)
read_port=$(t_free_port)
"$G" -c "$C_DIR/node1.yml" haproxy-config --bind 127.0.0.1 --primary-port "$write_port" \
	--replica-port "$read_port" >"$C_DIR/haproxy.cfg" 2>"$C_DIR/gsctl.err" ||
	t_fail "gsctl haproxy-config failed: $(cat "$C_DIR/gsctl.err")"
t_assert_eq "" "$(cat "$C_DIR/gsctl.err")" "haproxy-config: no warning for a healthy cluster"
# loop_wait 1 (lib/cluster.sh): checks every 200 ms, 100 ms while a server changes state or is down
t_assert_eq 2 "$(grep -c 'default-server inter 200ms fastinter 100ms downinter 100ms rise 1 fall 3 on-marked-down shutdown-sessions' "$C_DIR/haproxy.cfg")" \
	"haproxy-config: both listeners check at the timing chosen from loop_wait 1 s"
for n in node1 node2 node3; do
	t_assert_eq 2 "$(grep -c "server $n 127.0.0.1:${C_PG_PORT[$n]} maxconn 100 check port ${C_API_PORT[$n]}\$" "$C_DIR/haproxy.cfg")" \
		"haproxy-config: $n's database checked on its REST port in both listeners"
done
haproxy -c -q -f "$C_DIR/haproxy.cfg" || t_fail "haproxy -c rejects the generated configuration"
t_pass "haproxy -c accepts the generated configuration"

# Without etcd there is nothing to generate from: exit 4, as every command.
"$G" -c "$C_DIR/node1.yml" -d "etcd3://127.0.0.1:1" haproxy-config >/dev/null 2>"$C_DIR/gsctl.err" && rc=0 || rc=$?
t_assert_eq 4 "$rc" "haproxy-config: etcd unreachable exits 4"

# A stats listener (the test's own addition) to see when HAProxy changes a server's state.
stats_port=$(t_free_port)
printf '\nlisten stats\n\tmode http\n\tbind 127.0.0.1:%s\n\tstats enable\n\tstats uri /\n' \
	"$stats_port" >>"$C_DIR/haproxy.cfg"
haproxy -db -f "$C_DIR/haproxy.cfg" >"$C_DIR/haproxy.log" 2>&1 &
t_register_pid $!

via() {
	runuser -u postgres -- env PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -A -t \
		-h 127.0.0.1 -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2" 2>>"$C_DIR/psql.err"
}
writes_reach_once() { [ "$(via "$write_port" "select pg_is_in_recovery()::text || ':' || current_setting('port')")" = "false:${C_PG_PORT[$1]}" ]; }
# HAProxy starts every server as up until its checks fail: six in a row must reach the primary.
writes_reach() {
	for _ in 1 2 3 4 5 6; do writes_reach_once "$1" || return 1; done
}
reads_are_replicas() { [ "$(via "$read_port" "select pg_is_in_recovery()")" = t ]; }

t_wait_for 20 "the write port to reach node1" writes_reach node1
t_pass "generated config: the write port reaches the primary node1"
via "$write_port" "create table hg(v int, at_port text)" >/dev/null ||
	t_fail "generated config: create table through the write port failed"
t_wait_for 20 "the read port to reach a replica" reads_are_replicas
seen=""
for _ in $(seq 12); do
	port=$(via "$read_port" "select current_setting('port')")
	case " $seen " in *" $port "*) ;; *) seen="$seen $port" ;; esac
done
t_assert_eq 2 "$(echo $seen | wc -w)" "generated config: reads are balanced over both replicas (ports:$seen)"

# ---- a planned switchover: writes must follow to node2
# When node2's /primary first answers 200 (50 ms polls, 60 s at most), to tell HAProxy's share
# of the gap from the switchover's own.
(
	for _ in $(seq 1200); do
		if [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:${C_API_PORT[node2]}/primary")" = 200 ]; then
			date +%s%N >"$C_DIR/node2-primary-200"
			exit 0
		fi
		sleep 0.05
	done
) &
t_register_pid $!
# When HAProxy first shows node2 UP and node1 DOWN in the primary listener (50 ms polls).
(
	for _ in $(seq 1200); do
		csv=$(curl -s -m 1 "http://127.0.0.1:$stats_port/;csv" || true)
		now=$(date +%s%N)
		[ -s "$C_DIR/hap-node2-up" ] || ! grep -q '^primary,node2,.*,UP' <<<"$csv" || echo "$now" >"$C_DIR/hap-node2-up"
		[ -s "$C_DIR/hap-node1-down" ] || ! grep -q '^primary,node1,.*,DOWN' <<<"$csv" || echo "$now" >"$C_DIR/hap-node1-down"
		[ -s "$C_DIR/hap-node2-up" ] && [ -s "$C_DIR/hap-node1-down" ] && exit 0
		sleep 0.05
	done
) &
t_register_pid $!
"$G" -c "$C_DIR/node1.yml" switchover --leader node1 --candidate node2 --force \
	>"$C_DIR/switchover.out" 2>>"$C_DIR/gsctl.err" &
sw_pid=$!
t_register_pid $sw_pid
t0=$(date +%s%N)
last_ok=$t0
gap_ms=0
first_new=""
deadline=$((SECONDS + 60))
i=0
while [ "$SECONDS" -lt "$deadline" ]; do
	i=$((i + 1))
	echo "$((($(date +%s%N) - t0) / 1000000)) try $i" >>"$C_DIR/writes.log"
	if got=$(via "$write_port" "insert into hg values ($i, current_setting('port')) returning at_port"); then
		now=$(date +%s%N)
		[ $(((now - last_ok) / 1000000)) -gt "$gap_ms" ] && gap_ms=$(((now - last_ok) / 1000000))
		last_ok=$now
		if [ "$got" = "${C_PG_PORT[node2]}" ]; then
			first_new=$(((now - t0) / 1000000))
			break
		fi
	fi
	sleep 0.02
done
wait "$sw_pid" || t_fail "gsctl switchover failed: $(cat "$C_DIR/switchover.out")"
[ -n "$first_new" ] || t_fail "generated config: no write reached node2 within 60 s of the switchover"
t_pass "generated config: after the switchover, a write commits on the new primary node2"
t_log "switchover through the generated HAProxy config: first commit on node2 after ${first_new} ms, longest gap between commits ${gap_ms} ms"
t_wait_for 5 "node2's /primary poller to record its first 200" test -s "$C_DIR/node2-primary-200"
ms_since() { echo $((($(cat "$1" 2>/dev/null || echo "$t0") - t0) / 1000000)); }
t_log "after the switchover began (ms, 50 ms polls): node2's /primary 200 at $(ms_since "$C_DIR/node2-primary-200"), HAProxy shows node1 DOWN at $(ms_since "$C_DIR/hap-node1-down"), node2 UP at $(ms_since "$C_DIR/hap-node2-up"), first commit on node2 at $first_new"
t_wait_for 20 "the write port to reach node2 only" writes_reach node2
t_pass "generated config: every write goes to node2"
t_assert_eq 0 "$(via "$write_port" "select count(*) from hg where at_port = '${C_PG_PORT[node1]}' and v > (select min(v) from hg where at_port = '${C_PG_PORT[node2]}')")" \
	"generated config: no write reached the old primary after the new one took writes"
t_done
