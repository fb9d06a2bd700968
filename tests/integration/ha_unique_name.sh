#!/usr/bin/env bash
# A second agent configured with a member name a live agent already uses refuses to start, as
# Patroni's ensure_unique_name (real etcd, PostgreSQL 15): node1 leads; an agent with its own
# ports and data directory but "name: node1" must exit 1 saying the name is in use, without
# writing node1's member key, taking its lease, or touching the leader key. Once node1 is
# stopped, the same name starts again (a member key left by a dead agent is taken over).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
scope="uniq$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
c_config node1
c_config twin
sed -i 's/^name: twin$/name: node1/' "$C_DIR/twin.yml"
grep -q '^name: node1$' "$C_DIR/twin.yml" || t_fail "could not rename twin"

t_on_failure() {
	for n in node1 twin; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is() { [ "$(c_leader)" = "$1" ]; }
key_json() { # KEY: the key's JSON from etcdctl (value, lease, revisions)
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" get -w json "/service/$scope/$1"
}
c_start node1
t_wait_for 60 "node1 to lead" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
sleep 2 # let the member key settle
member_before=$(key_json members/node1)
leader_before=$(key_json leader)

c_start twin
twin_pid=${C_PID[twin]}
t_wait_for 30 "the twin to exit" sh -c "! kill -0 $twin_pid 2>/dev/null"
rc=0
wait "$twin_pid" || rc=$?
C_PID[twin]=
t_assert_eq 1 "$rc" "the agent with a used name exited 1"
grep -q "can't start; there is already a node named \"node1\" running" "$C_DIR/twin.log" ||
	t_fail "the twin did not say why"
t_pass "it said the name is in use"
[ ! -e "$C_DIR/twin/data/PG_VERSION" ] || t_fail "the twin made a database"
t_assert_eq "$(echo "$member_before" | grep -o '"lease":[0-9]*')" \
	"$(key_json members/node1 | grep -o '"lease":[0-9]*')" "node1's member key keeps node1's lease"
t_assert_eq "$(echo "$member_before" | grep -o '"mod_revision":[0-9]*')" \
	"$(key_json members/node1 | grep -o '"mod_revision":[0-9]*')" \
	"the twin wrote nothing into node1's member key"
t_assert_eq "$leader_before" "$(key_json leader)" "the leader key is untouched"
t_assert_eq node1 "$(c_leader)" "the leader never changed"
c_running node1 primary || t_fail "node1 stopped running as primary"

# ---- a dead agent's name is free: the twin takes it over
c_kill node1 KILL
c_stop_databases
t_wait_for 10 "node1's REST API to be gone" sh -c "! curl -s -m 1 http://127.0.0.1:${C_API_PORT[node1]}/liveness"
: >"$C_DIR/twin.log"
c_start twin
t_wait_for 30 "the twin to get past the name check" grep -q "taking the name over\|REST API on port" "$C_DIR/twin.log"
sleep 1
kill -0 "${C_PID[twin]}" 2>/dev/null || t_fail "the twin exited although node1 is dead"
t_pass "a member key left by a dead agent does not stop the name from starting again"
t_done
