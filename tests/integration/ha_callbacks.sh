#!/usr/bin/env bash
# Patroni's callbacks on a live three-node cluster (real etcd, PostgreSQL 15): every node runs
# a recorder script for on_start, on_role_change, on_restart and on_reload, which appends its
# arguments (action, role, scope) to the node's own file and then sleeps 3 s, so a callback that
# blocked the HA loop would show as a slow or failed switchover. Checks: on_start at start;
# after a switchover and after a failover, on_role_change ran on the old primary (replica) and
# on the new one (primary) with Patroni's arguments; POST /restart runs on_restart, POST /reload
# on_reload; pre_promote: /bin/false on the only candidate keeps the old leader.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
scope="cb$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
cat >"$C_DIR/record.sh" <<'SH'
#!/bin/sh
# record.sh FILE ACTION ROLE SCOPE: what a Patroni callback receives, one line per call.
file=$1
shift
echo "$*" >>"$file"
sleep 3
SH
chmod 755 "$C_DIR/record.sh"
for n in node1 node2 node3; do
	touch "$C_DIR/$n.calls"
	chown postgres:postgres "$C_DIR/$n.calls"
	# on_role_change as Patroni's list form, the others as strings.
	c_config "$n" "  callbacks:
    on_start: $C_DIR/record.sh $C_DIR/$n.calls
    on_restart: $C_DIR/record.sh $C_DIR/$n.calls
    on_reload: $C_DIR/record.sh $C_DIR/$n.calls
    on_role_change: [$C_DIR/record.sh, $C_DIR/$n.calls]
  before_stop: sh -c 'echo before_stop >>$C_DIR/$n.calls'"
done

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.calls"
		cat "$C_DIR/$n.calls" 2>/dev/null
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is() { [ "$(c_leader)" = "$1" ]; }
called() { grep -qxF "$2" "$C_DIR/$1.calls"; } # called NODE "action role scope"
api() { echo "http://127.0.0.1:${C_API_PORT[$1]}"; }
post() { # post NODE PATH JSON OUTFILE: prints the HTTP status
	curl -s -o "$4" -w '%{http_code}' -m 40 -X POST -H 'Content-Type: application/json' \
		-d "$3" "$(api "$1")/$2" || true
}

for n in node1 node2 node3; do
	"$GSHA_BUILD_DIR/gsha" --validate-config "$C_DIR/$n.yml" >"$C_DIR/validate.out" 2>&1 ||
		t_fail "$n.yml does not validate: $(cat "$C_DIR/validate.out")"
	if grep -q '"postgresql.callbacks' "$C_DIR/validate.out"; then
		t_fail "a callback is warned about: $(cat "$C_DIR/validate.out")"
	fi
done
t_pass "the callbacks validate without a warning"

c_start node1
t_wait_for 60 "node1 to lead" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_wait_for 90 "node3 to run as a replica" c_running node3 replica
t_wait_for 20 "node1's on_start" called node1 "on_start primary $scope"
t_wait_for 20 "node2's on_start" called node2 "on_start replica $scope"
t_wait_for 20 "node3's on_start" called node3 "on_start replica $scope"
for n in node1 node2 node3; do
	t_assert_eq 1 "$(grep -c '^on_start' "$C_DIR/$n.calls" || true)" "$n ran on_start once"
done
t_pass "on_start ran once on each node with its role and the scope"

# ---- switchover node1 -> node2
t0=$(date +%s)
code=$(post node1 switchover '{"leader":"node1","candidate":"node2"}' "$C_DIR/switchover.out")
t_assert_eq 200 "$code" "switchover: POST /switchover answers 200 ($(cat "$C_DIR/switchover.out"))"
t_wait_for 30 "node2 to lead" leader_is node2
t_wait_for 30 "the new primary's on_role_change" called node2 "on_role_change primary $scope"
t_wait_for 60 "the old primary's on_role_change" called node1 "on_role_change replica $scope"
t_log "switchover and both callbacks took $(($(date +%s) - t0)) s"
t_pass "switchover: on_role_change ran on node2 (primary) and on node1 (replica) with Patroni's arguments"
t_assert_eq "before_stop" "$(grep -m1 -x -e before_stop -e "on_role_change replica $scope" "$C_DIR/node1.calls")" \
	"switchover: before_stop ran on node1 before it stopped as primary"
t_assert_eq 0 "$(grep -c '^on_role_change' "$C_DIR/node3.calls" || true)" \
	"switchover: node3, a replica throughout, ran no on_role_change"

# ---- failover to node3 with no leader named (POST /failover): node2 steps down.
t_wait_for 60 "node1 to run as a replica" c_running node1 replica
t_wait_for 60 "node3 to stream" c_running node3 replica
code=$(post node2 failover '{"candidate":"node3"}' "$C_DIR/failover.out")
t_assert_eq 200 "$code" "failover: POST /failover answers 200 ($(cat "$C_DIR/failover.out"))"
t_wait_for 30 "node3 to lead" leader_is node3
t_wait_for 30 "the new primary's on_role_change" called node3 "on_role_change primary $scope"
t_wait_for 60 "the old primary's on_role_change" called node2 "on_role_change replica $scope"
t_pass "failover: on_role_change ran on node3 (primary) and on node2 (replica) with Patroni's arguments"

# ---- node loss: the leader's agent and database are killed; a replica takes over.
db_pid=$(c_postmaster_pid node3)
c_kill node3 KILL
kill -KILL "$db_pid" 2>/dev/null || true
new_leader=
took_over() { new_leader=$(c_leader); [ -n "$new_leader" ] && [ "$new_leader" != node3 ]; }
t_wait_for 60 "a replica to take the leader key" took_over
t_wait_for 30 "$new_leader's on_role_change" called "$new_leader" "on_role_change primary $scope"
t_pass "node loss: on_role_change ran on the new primary $new_leader"

# ---- POST /restart and POST /reload on a replica run on_restart and on_reload.
other=node1
[ "$new_leader" = node1 ] && other=node2
t_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -m 60 -X POST "$(api $other)/restart")" \
	"restart: POST /restart on $other answers 200"
t_wait_for 30 "$other's on_restart" called "$other" "on_restart replica $scope"
t_assert_eq 202 "$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST "$(api $other)/reload")" \
	"reload: POST /reload on $other answers 202"
t_wait_for 30 "$other's on_reload" called "$other" "on_reload replica $scope"
t_pass "on_restart and on_reload ran with the replica's role"
# The recorder sleeps 3 s per call, so the new primary's callback may still be running here.
role_change_logged() { grep -q 'callback on_role_change (role "primary") finished' "$C_DIR/$1.log"; }
t_wait_for 15 "the agent of $new_leader to log how its on_role_change ended" \
	role_change_logged "$new_leader"
t_pass "the agent logs each callback's end"
# ---- pre_promote: /bin/false on the only candidate keeps the old leader.
c_kill "$other" TERM
echo "  pre_promote: /bin/false" >>"$C_DIR/$other.yml"
c_start "$other"
t_wait_for 60 "$other to run as a replica again" c_running "$other" replica
code=$(post "$new_leader" switchover "{\"leader\":\"$new_leader\",\"candidate\":\"$other\"}" \
	"$C_DIR/switchover2.out")
t_log "switchover to a vetoing candidate answered $code $(cat "$C_DIR/switchover2.out")"
vetoed() { grep -q 'pre_promote script "/bin/false" vetoed the promotion' "$C_DIR/$other.log"; }
t_wait_for 30 "$other's pre_promote to veto" vetoed
back() { leader_is "$new_leader" && c_running "$new_leader" primary; }
t_wait_for 60 "$new_leader to lead again" back
t_pass "pre_promote: the vetoing candidate released the key and $new_leader leads again"
if grep -q "role \"promoting\" -> \"primary\"" <(sed -n '/pre_promote: running/,$p' "$C_DIR/$other.log"); then
	t_fail "$other was promoted although pre_promote vetoed"
fi
t_assert_eq "" "$(c_psql "$other" "select 1 where not pg_is_in_recovery()")" \
	"pre_promote: $other never became a primary"

for n in node1 node2 node3; do
	t_log "$n.calls: $(tr '\n' ';' <"$C_DIR/$n.calls")"
done
t_done
