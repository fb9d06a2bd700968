#!/usr/bin/env bash
# Fault-suite finding (issue 18): a replica holding WAL past the point where the new primary's
# timeline forked off cannot follow it; PostgreSQL retries forever ("new timeline 2 forked off
# the current database system timeline before current recovery point") and the agent must
# rejoin it (pg_rewind against the new leader), as Patroni does.
# Built on purpose, async, three nodes: node3 is tagged nofailover so that node2 is the one to
# take over. node2's agent dies and its walreceiver is switched off; node1 writes rows that only
# node3 receives; node1 dies (agent and database); node2's agent comes back and promotes node2
# on timeline 2, forked off before those rows. node3 must stream from node2 on timeline 2 within
# a bound, without the rows node2 never had and with the ones written on node2.
# FORK_REJOIN=reinit runs node3 without pg_rewind and with
# remove_data_directory_on_diverged_timelines (it is cloned anew); FORK_REJOIN=wait with both off
# (it stays put and its log says why).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "forked$$"
c_config node1
c_config node2
mode=${FORK_REJOIN:-rewind}
case $mode in
rewind) node3_pg="" ;;
reinit) node3_pg="  use_pg_rewind: false
  remove_data_directory_on_diverged_timelines: true" ;;
wait) node3_pg="  use_pg_rewind: false" ;;
*) t_fail "FORK_REJOIN must be rewind, reinit or wait, not $mode" ;;
esac
c_config node3 "$node3_pg
tags:
  nofailover: true"

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

rows() { c_psql "$1" "select count(*) from marks where v = '$2'"; }
has_row() { [ "$(rows "$1" "$2")" = 1 ]; }
no_receiver() { [ "$(c_psql node2 "select count(*) from pg_stat_wal_receiver")" = 0 ]; }
streams_from_node2() {
	c_cluster_streams node2 1 node3 &&
		[ "$(c_psql node3 "select sender_port from pg_stat_wal_receiver where status = 'streaming'")" = "${C_PG_PORT[node2]}" ]
}

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" eval '[ "$(c_leader)" = node1 ]'
t_wait_for 30 "node1 to run as primary" c_is node1 primary
c_start node2
c_start node3
t_wait_for 120 "node2 to run as a replica" c_is node2 replica
t_wait_for 120 "node3 to run as a replica" c_is node3 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('start')" >/dev/null
t_wait_for 60 "the row to reach node2" has_row node2 start
t_wait_for 60 "the row to reach node3" has_row node3 start
t_pass "setup: node1 leads, node2 and node3 (nofailover) replicate asynchronously"

# ---- node2 stops receiving WAL; node1 writes what only node3 gets.
c_kill node2 KILL
c_psql node2 "alter system set primary_conninfo = ''" >/dev/null
c_psql node2 "select pg_reload_conf()" >/dev/null
t_wait_for 30 "node2's walreceiver to stop" no_receiver
# Back out of the file only: the running server keeps the empty setting until a reload.
c_psql node2 "alter system reset primary_conninfo" >/dev/null
c_psql node1 "insert into marks select 'extra-' || g from generate_series(1, 200) g" >/dev/null
t_wait_for 60 "node3 to get the extra rows" has_row node3 extra-200
t_assert_eq 0 "$(c_psql node2 "select count(*) from marks where v like 'extra-%'")" \
	"node2 never received the extra rows"

# ---- node1 dies; node2 takes over on a timeline that forked off before the extra rows.
db_pid=$(c_postmaster_pid node1)
c_kill node1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
c_start node2
t_wait_for $((6 * C_TTL + 60)) "node2 to take the leader key" eval '[ "$(c_leader)" = node2 ]'
t_wait_for 60 "node2 to run as primary" c_is node2 primary
t_assert_eq 2 "$(c_timeline node2)" "node2 promoted on timeline 2"
t0=$SECONDS
c_psql node2 "insert into marks values ('on-node2')" >/dev/null
t_pass "node2 leads on timeline 2; node3 holds WAL past its fork point"

if [ "$mode" = wait ]; then
	# ---- neither pg_rewind nor a new copy is allowed: node3 waits and says why.
	waits() { grep -q 'waiting: timeline 2 of my upstream forked off at .*, and use_pg_rewind and remove_data_directory_on_diverged_timelines are off' "$C_DIR/node3.log"; }
	t_wait_for 120 "node3 to say why it waits" waits
	t_pass "node3 says it waits: forked, use_pg_rewind and remove_data_directory_on_diverged_timelines off"
	t_assert_eq 200 "$(c_psql node3 "select count(*) from marks where v like 'extra-%'")" \
		"node3 kept its data (nothing was rewound or removed)"
	streams_from_node2 && t_fail "node3 streams from node2 without a rejoin"
	t_pass "node3 does not stream from node2"
	t_done
	exit 0
fi

# ---- node3 finds it cannot follow, rejoins node2 and streams from it.
t_wait_for 180 "node3 to stream from node2 on timeline 2" streams_from_node2
t_pass "node3 streams from node2 on timeline 2, $((SECONDS - t0)) s after node2 led"
if [ "$mode" = rewind ]; then how=pg_rewind; else how="a new copy"; fi
grep -q "rejoining leader \"node2\" with $how: timeline 2 of my upstream forked off at .*, before my replay position" "$C_DIR/node3.log" ||
	t_fail "node3's log does not say it rejoined with $how and why"
t_pass "node3's log says it rejoined with $how, naming the fork point and its replay position"
t_wait_for 60 "node3 to get the row written on node2" has_row node3 on-node2
t_assert_eq 0 "$(c_psql node3 "select count(*) from marks where v like 'extra-%'")" \
	"node3 no longer has the rows node2 never had"
c_psql node2 "insert into marks values ('after-rejoin')" >/dev/null
t_wait_for 60 "node3 to get a row written after the rejoin" has_row node3 after-rejoin
t_pass "node3 replicates from node2 after the rejoin"
t_done
