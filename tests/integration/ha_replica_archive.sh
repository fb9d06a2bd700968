#!/usr/bin/env bash
# postgresql.recovery_conf on a replica (real etcd, PostgreSQL 15): a replica that fell behind
# further than the leader keeps WAL catches up from the archive through recovery_conf's
# restore_command, as with Patroni. node1 archives every segment and keeps none for replicas
# (no slots, wal_keep_size 0); node2 is stopped, node1 writes and checkpoints until the segment
# node2 needs is gone from its pg_wal; started again, node2 must replay everything.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
scope="arch$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
arch="$C_DIR/archive"
mkdir -p "$arch"
chown postgres:postgres "$arch"
local_params="    archive_mode: 'on'
    archive_command: 'cp %p $arch/%f'
    wal_keep_size: 0
    max_wal_size: 64MB
    min_wal_size: 32MB"
c_config node1 "$local_params"
c_config node2 "$local_params
  recovery_conf:
    restore_command: cp $arch/%f %p"
# No replication slots: the leader keeps no WAL for node2.
for n in node1 node2; do
	sed -i 's/^      use_slots: true$/      use_slots: false/' "$C_DIR/$n.yml"
done

t_on_failure() {
	for n in node1 node2; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
		echo "---- $n postmaster.log (tail)"
		tail -15 "$C_DIR/$n/data/postmaster.log" 2>/dev/null
	done
}

leader_is() { [ "$(c_leader)" = "$1" ]; }
c_start node1
t_wait_for 60 "node1 to lead" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
c_psql node1 "create table t(i int, pad text)" >/dev/null
c_start node2
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_assert_eq "cp $arch/%f %p" "$(c_psql node2 "show restore_command")" \
	"recovery_conf's restore_command is in node2's configuration"

# ---- node2 falls behind further than node1 keeps WAL
c_kill node2
pid=$(c_postmaster_pid node2)
[ -z "$pid" ] || kill -TERM "$pid"
t_wait_for 30 "node2's database to stop" sh -c "[ ! -f $C_DIR/node2/data/postmaster.pid ]"
# node2 replayed no further than node1's current segment: it needs that one (or an older one,
# which goes first) when it starts again.
need=$(c_psql node1 "select pg_walfile_name(pg_current_wal_lsn())")
for _ in $(seq 6); do
	c_psql node1 "insert into t select g, repeat('x', 1000) from generate_series(1, 20000) g;
		select pg_switch_wal(); checkpoint" >/dev/null
done
rows=$(c_psql node1 "select count(*) from t")
t_wait_for 60 "node1 to remove segment $need" sh -c "c() { :; }; [ ! -e $C_DIR/node1/data/pg_wal/$need ] || \
	runuser -u postgres -- $PG_BIN/psql -X -q -h $C_DIR/node1 -p ${C_PG_PORT[node1]} -U postgres \
	-d postgres -c checkpoint >/dev/null; [ ! -e $C_DIR/node1/data/pg_wal/$need ]"
[ -f "$arch/$need" ] || t_fail "segment $need is not in the archive"
t_pass "node1 no longer holds segment $need that node2 needs; the archive does"

c_start node2
t_wait_for 120 "node2 to replay every row" \
	sh -c "[ \"\$(runuser -u postgres -- $PG_BIN/psql -X -A -t -h $C_DIR/node2 \
		-p ${C_PG_PORT[node2]} -U postgres -d postgres -c 'select count(*) from t' \
		2>/dev/null)\" = $rows ]"
t_pass "node2 caught up from the archive ($rows rows)"
grep -q "restored log file \"$need\" from archive" "$C_DIR/node2/data/postmaster.log" ||
	t_fail "node2's server log does not show $need restored from the archive"
t_pass "node2's server restored $need from the archive"
t_wait_for 60 "node2 to stream again" c_running node2 replica
t_done
