#!/usr/bin/env bash
# Issue 6 with real HAProxy, configured as Patroni's documentation shows (option httpchk OPTIONS
# /primary, http-check expect status 200, checks on each agent's REST port,
# on-marked-down shutdown-sessions): writes go to the primary, reads to the replicas, and after a
# failover writes go to the new primary.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "hap$$"
for n in node1 node2 node3; do c_config "$n"; done
t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
	done
	echo "---- psql errors"
	tail -10 "$C_DIR/psql.err" 2>/dev/null
	echo "---- haproxy.log"
	tail -30 "$C_DIR/haproxy.log" 2>/dev/null
}

leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
role_is() { c_running "$1" "$2"; }

c_start node1
t_wait_for 60 "node1 to bootstrap" role_is node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" role_is node2 replica
t_wait_for 90 "node3 to run as a replica" role_is node3 replica

write_port=$(t_free_port)
read_port=$(t_free_port)
{
	cat <<CFG
global
	maxconn 200
defaults
	mode tcp
	retries 2
	timeout connect 2s
	timeout client 30m
	timeout server 30m
	timeout check 1s
listen primary
	bind 127.0.0.1:$write_port
	option httpchk OPTIONS /primary
	http-check expect status 200
	default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
CFG
	for n in node1 node2 node3; do
		echo "	server $n 127.0.0.1:${C_PG_PORT[$n]} maxconn 100 check port ${C_API_PORT[$n]}"
	done
	cat <<CFG
listen replicas
	bind 127.0.0.1:$read_port
	balance roundrobin
	option httpchk OPTIONS /replica
	http-check expect status 200
	default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
CFG
	for n in node1 node2 node3; do
		echo "	server $n 127.0.0.1:${C_PG_PORT[$n]} maxconn 100 check port ${C_API_PORT[$n]}"
	done
} >"$C_DIR/haproxy.cfg"
haproxy -c -q -f "$C_DIR/haproxy.cfg"
haproxy -db -f "$C_DIR/haproxy.cfg" >"$C_DIR/haproxy.log" 2>&1 &
t_register_pid $!

# psql through HAProxy: TCP to 127.0.0.1 (pg_hba trusts it), a short connect timeout.
via() {
	runuser -u postgres -- env PGCONNECT_TIMEOUT=2 /usr/lib/postgresql/15/bin/psql -X -q -A -t \
		-h 127.0.0.1 -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2" 2>>"$C_DIR/psql.err"
}
writes_reach_once() { [ "$(via "$write_port" "select pg_is_in_recovery()::text || ':' || current_setting('port')")" = "false:${C_PG_PORT[$1]}" ]; }
# HAProxy starts every server as up until its checks fail, so one lucky connection proves
# nothing: six in a row (round robin over three servers) must all reach the primary.
writes_reach() {
	for _ in 1 2 3 4 5 6; do writes_reach_once "$1" || return 1; done
}
reads_are_replicas() { [ "$(via "$read_port" "select pg_is_in_recovery()")" = t ]; }

t_wait_for 20 "the write port to reach node1" writes_reach node1
t_pass "HAProxy: the write port reaches the primary node1"
via "$write_port" "create table hap(v int)" >/dev/null || t_fail "HAProxy: create table through the write port failed"
via "$write_port" "insert into hap values (1)" >/dev/null || t_fail "HAProxy: insert through the write port failed"
t_pass "HAProxy: a write through the write port commits"
t_wait_for 20 "the read port to reach a replica" reads_are_replicas
seen=""
for _ in $(seq 20); do
	port=$(via "$read_port" "select current_setting('port')")
	case " $seen " in *" $port "*) ;; *) seen="$seen $port" ;; esac
done
t_assert_eq 2 "$(echo $seen | wc -w)" "HAProxy: reads are balanced over both replicas (ports:$seen)"
case " $seen " in
*" ${C_PG_PORT[node1]} "*) t_fail "HAProxy: a read reached the primary" ;;
*) t_pass "HAProxy: no read reached the primary" ;;
esac

# Failover: the primary's agent and database die; HAProxy must send writes to the new primary.
db_pid=$(c_postmaster_pid node1)
c_kill node1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_wait_for 60 "node2 or node3 to take the leader key" leader_is_one_of node2 node3
new_leader=$(c_leader)
t_wait_for 30 "the write port to reach $new_leader" writes_reach "$new_leader"
via "$write_port" "insert into hap values (2)" >/dev/null || t_fail "HAProxy: insert after the failover failed"
t_assert_eq 2 "$(via "$write_port" "select count(*) from hap")" \
	"HAProxy: after the failover, writes go to the new primary $new_leader"
t_done
