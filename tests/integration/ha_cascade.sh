#!/usr/bin/env bash
# Issue 13, topology: cascading replication (tags replicatefrom) and WAL from the archive only
# (tags nostream) on four nodes. node3 carries replicatefrom: node2, node4 nostream: true; every
# node archives to one shared directory and restores from it.
# replicatefrom: node3 streams from node2 (node2's pg_stat_replication shows it, node1's does
# not); the leader keeps an idle slot for node3 that moves with node3's position; node2 dies
# (agent and database): node3 re-points to the leader and streams from it; node2 comes back:
# node3 streams from node2 again.
# nostream: node4 has no primary_conninfo, no walsender serves it and no slot is kept for it,
# and it still replays what the leader archives.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "cascade$$"
ARCH="$C_DIR/archive"
mkdir -p "$ARCH"
chown postgres:postgres "$ARCH"
# Appended below postgresql.parameters (4 spaces), then top-level keys.
archive="    archive_mode: 'on'
    archive_command: 'test ! -f $ARCH/%f && cp %p $ARCH/%f'
    archive_timeout: 1
    restore_command: 'cp $ARCH/%f %p'"
c_config node1 "$archive"
c_config node2 "$archive"
c_config node3 "$archive
tags:
  replicatefrom: node2"
c_config node4 "$archive
tags:
  nostream: true"

t_on_failure() {
	for n in node1 node2 node3 node4; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
# The application_names a node's walsenders serve, streaming, comma-separated.
serves() {
	c_psql "$1" "select coalesce(string_agg(application_name, ',' order by application_name), '')
		from pg_stat_replication where state = 'streaming'"
}
serves_exactly() { [ "$(serves "$1")" = "$2" ]; }
slot_lsn() { # node slot: restart_lsn, or empty
	c_psql "$1" "select restart_lsn from pg_replication_slots where slot_name = '$2'"
}
lsn_at_least() { # node slot lsn
	[ "$(c_psql "$1" "select coalesce(restart_lsn >= '$3', false) from pg_replication_slots
		where slot_name = '$2'")" = t ]
}

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" eval '[ "$(c_leader)" = node1 ]'
t_wait_for 30 "node1 to run as primary" c_is node1 primary
c_start node2
t_wait_for 90 "node2 to run as a replica" c_is node2 replica
c_start node3
c_start node4
t_wait_for 120 "node3 to run as a replica" c_is node3 replica
t_wait_for 120 "node4 to run as a replica" c_is node4 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('start')" >/dev/null
t_wait_for 60 "the row to reach node3" has_row node3 start
t_pass "setup: node1 leads; node2, node3 (replicatefrom node2), node4 (nostream) replicate"

# ---- replicatefrom: node3 streams from node2.
t_wait_for 30 "node2 to serve node3" serves_exactly node2 node3
t_pass "replicatefrom: node2's pg_stat_replication shows node3 streaming"
t_wait_for 30 "node1 to serve node2 only" serves_exactly node1 node2
t_pass "replicatefrom: node1 serves node2 alone (not node3, not node4)"
conninfo=$(c_psql node3 "show primary_conninfo")
[[ "$conninfo" == *"port=${C_PG_PORT[node2]}"* ]] ||
	t_fail "replicatefrom: node3's primary_conninfo does not name node2: $conninfo"
t_pass "replicatefrom: node3's primary_conninfo names node2's port"
# The leader's slot for node3 is idle; it moves with the position node3 reports.
[ -n "$(slot_lsn node1 node3)" ] || t_fail "the leader keeps no slot for node3"
c_psql node1 "insert into marks select 'bulk-' || g from generate_series(1, 20000) g" >/dev/null
target=$(c_psql node1 "select pg_current_wal_flush_lsn()")
t_wait_for 30 "the leader's slot for node3 to reach $target" lsn_at_least node1 node3 "$target"
t_pass "replicatefrom: the leader's idle slot for node3 advanced to $target with node3's position"

# ---- nostream: node4 has no upstream, no walsender, no slot, and replays the archive.
t_assert_eq "" "$(c_psql node4 "show primary_conninfo")" "nostream: node4 has no primary_conninfo"
for n in node1 node2 node3; do
	[ -z "$(slot_lsn "$n" node4)" ] &&
		[ "$(c_psql "$n" "select count(*) from pg_replication_slots where slot_name = 'node4'")" = 0 ] ||
		t_fail "nostream: $n keeps a slot for node4"
done
t_pass "nostream: no member keeps a slot for node4"
c_psql node1 "insert into marks values ('archived')" >/dev/null
c_psql node1 "select pg_switch_wal()" >/dev/null
t_wait_for 60 "node4 to replay the archived row" has_row node4 archived
t_pass "nostream: node4 replayed a row from the archive"

# ---- node2 dies: node3 re-points to the leader.
db_pid=$(c_postmaster_pid node2)
c_kill node2 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t0=$SECONDS
t_wait_for $((3 * C_TTL + 20)) "node1 to serve node3" serves_exactly node1 node3
t_pass "replicatefrom: node2 died, node3 streams from the leader after $((SECONDS - t0)) s"
c_psql node1 "insert into marks values ('without-node2')" >/dev/null
t_wait_for 30 "node3 to get the row" has_row node3 without-node2
t_pass "replicatefrom: node3 replicates from the leader meanwhile"

# ---- node2 comes back: node3 streams from it again.
c_start node2
t_wait_for 90 "node2 to run as a replica again" c_is node2 replica
t_wait_for 60 "node2 to serve node3 again" serves_exactly node2 node3
t_wait_for 30 "node1 to serve node2 only again" serves_exactly node1 node2
t_pass "replicatefrom: node2 is back and node3 streams from it again"
c_psql node1 "insert into marks values ('node2-back')" >/dev/null
t_wait_for 30 "node3 to get the row" has_row node3 node2-back
t_pass "replicatefrom: rows reach node3 through node2"
t_done
