#!/usr/bin/env bash
# Fault-suite finding (issue 18, primary-freeze seed 161619860): pg_rewind takes its source's
# timeline from the source's pg_control, which a promotion updates only with its first checkpoint
# on the new timeline. A former primary that rewound against a new leader before that checkpoint
# was told "no rewind required", started on the old timeline past the fork, and from then on every
# start failed ("requested timeline 2 is not a child of this server's history") while the agent
# only retried the start.
# Built on purpose, async, two nodes. node2 stops receiving WAL; node1 writes rows only it has
# and checkpoints past them; both die; node2's checkpointer is frozen (SIGSTOP) so its checkpoint
# after promotion cannot finish; node2's agent comes back and promotes it on timeline 2.
#  1. the leader's member key says checkpoint_after_promote false while its pg_control lags;
#  2. node1's agent, started meanwhile, waits for that checkpoint: its database stays down (it
#     is neither rewound against timeline 1 nor started on it) and its log says why;
#  3. once the checkpointer runs again, node1 rewinds, streams from node2 on timeline 2, without
#     the rows node2 never had; the member key drops checkpoint_after_promote;
#  4. node1's data directory as the bug left it (stopped "in recovery", its checkpoint past the
#     fork, the new timeline's history in pg_wal) is rewound, not started again and again.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

PG_BIN=/usr/lib/postgresql/15/bin
t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "rwck$$"
c_config node1
c_config node2

frozen=""
thaw() { [ -n "$frozen" ] && kill -CONT "$frozen" 2>/dev/null; frozen=""; return 0; }
# Before the databases are stopped: a stopped checkpointer would hold up their shutdown.
T_CLEANUP_HOOKS=(thaw "${T_CLEANUP_HOOKS[@]}")

t_on_failure() {
	thaw
	for n in node1 node2; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

rows() { c_psql "$1" "select count(*) from marks where v like '$2'"; }
has_row() { [ "$(rows "$1" "$2")" = 1 ]; }
no_receiver() { [ "$(c_psql node2 "select count(*) from pg_stat_wal_receiver")" = 0 ]; }
db_up() { local pid; pid=$(c_postmaster_pid "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
key_says_not_checkpointed() { c_key members/node2 | grep -q '"checkpoint_after_promote": *false'; }
ckpt_timeline() { c_psql node2 "select timeline_id from pg_control_checkpoint()"; }

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" eval '[ "$(c_leader)" = node1 ]'
t_wait_for 30 "node1 to run as primary" c_is node1 primary
c_start node2
t_wait_for 120 "node2 to run as a replica" c_is node2 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('start')" >/dev/null
t_wait_for 60 "the row to reach node2" has_row node2 start
t_pass "setup: node1 leads, node2 replicates asynchronously"

# ---- node2 stops receiving WAL; node1 writes what node2 never gets and checkpoints past it.
c_kill node2 KILL
c_psql node2 "alter system set primary_conninfo = ''" >/dev/null
c_psql node2 "select pg_reload_conf()" >/dev/null
t_wait_for 30 "node2's walreceiver to stop" no_receiver
c_psql node2 "alter system reset primary_conninfo" >/dev/null
c_psql node1 "insert into marks select 'extra-' || g from generate_series(1, 200) g" >/dev/null
c_psql node1 "checkpoint" >/dev/null
db_pid=$(c_postmaster_pid node1)
c_kill node1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_wait_for 30 "node1's postmaster to exit" eval '! kill -0 '"$db_pid"' 2>/dev/null'
# The crashed primary's data directory, for part 4.
copy="$(t_tmpdir)/node1-copy"
cp -a "$C_DIR/node1/data" "$copy"

# ---- node2's checkpointer is frozen, then node2 takes over on timeline 2.
frozen=$(c_psql node2 "select pid from pg_stat_activity where backend_type = 'checkpointer'")
[ -n "$frozen" ] || t_fail "no checkpointer pid on node2"
kill -STOP "$frozen"
c_start node2
t_wait_for $((6 * C_TTL + 60)) "node2 to take the leader key" eval '[ "$(c_leader)" = node2 ]'
t_wait_for 60 "node2 to run as primary" c_is node2 primary
t_assert_eq 2 "$(c_timeline node2)" "node2 promoted on timeline 2"
t_assert_eq 1 "$(ckpt_timeline)" "node2's pg_control is still on timeline 1 (checkpointer frozen)"
c_psql node2 "insert into marks values ('on-node2')" >/dev/null
t_wait_for 30 "node2's member key to say checkpoint_after_promote false" key_says_not_checkpointed
t_pass "node2 leads on timeline 2, its checkpoint after promotion cannot finish, its key says so"

# ---- node1 comes back: it must wait for that checkpoint, neither rewinding nor starting.
c_start node1
waits() { grep -q 'waiting for checkpoint on "node2" before rewind: its pg_control is on timeline 1, it writes timeline 2' "$C_DIR/node1.log"; }
t_wait_for 60 "node1 to say it waits for node2's checkpoint" waits
for _ in $(seq $((3 * C_TTL))); do
	db_up node1 && t_fail "node1's database runs while node2's checkpoint after promotion is pending"
	sleep 1
done
t_assert_eq 1 "$(ckpt_timeline)" "node2's pg_control still on timeline 1 after the wait"
t_pass "node1 waited $((3 * C_TTL)) s with its database down while node2's checkpoint was pending"

# ---- the checkpointer runs again: node1 rewinds and follows timeline 2.
t0=$SECONDS
thaw
t_wait_for 120 "node1 to stream from node2 on timeline 2" c_cluster_streams node2 1 node1
t_pass "node1 streams from node2 on timeline 2, $((SECONDS - t0)) s after the checkpointer resumed"
t_wait_for 60 "node1 to get the row written on node2" has_row node1 on-node2
t_assert_eq 0 "$(rows node1 'extra-%')" "node1 no longer has the rows node2 never had"
t_assert_eq 2 "$(ckpt_timeline)" "node2's pg_control on timeline 2"
t_wait_for 30 "node2's member key to drop checkpoint_after_promote" eval '! key_says_not_checkpointed'
t_pass "the checkpoint finished; node1 rewound and follows; the key no longer holds the field"

# ---- part 4: the data directory the bug left behind. The crashed primary's copy, recovered as
# a standby with no upstream and shut down: "shut down in recovery" on timeline 1, its latest
# checkpoint past the fork; the WAL receiver would have brought timeline 2's history.
c_kill node1 KILL
runuser -u postgres -- "$PG_BIN/pg_ctl" stop -D "$C_DIR/node1/data" -m fast -w -t 60 >/dev/null
rm -rf "$C_DIR/node1/data"
mv "$copy" "$C_DIR/node1/data"
touch "$C_DIR/node1/data/standby.signal"
chown postgres:postgres "$C_DIR/node1/data/standby.signal"
runuser -u postgres -- "$PG_BIN/pg_ctl" start -D "$C_DIR/node1/data" -w -t 60 -l "$(t_tmpdir)/manual.log" \
	-o "-c primary_conninfo= -c port=${C_PG_PORT[node1]} -c unix_socket_directories=$C_DIR/node1" >/dev/null
t_wait_for 30 "node1 to run in recovery" eval '[ "$(c_psql node1 "select pg_is_in_recovery()")" = t ]'
runuser -u postgres -- "$PG_BIN/pg_ctl" stop -D "$C_DIR/node1/data" -m fast -w -t 60 >/dev/null
state=$(runuser -u postgres -- "$PG_BIN/pg_controldata" -D "$C_DIR/node1/data" | sed -n 's/^Database cluster state: *//p')
t_assert_eq "shut down in recovery" "$state" "node1's copy stopped as a standby"
cp "$C_DIR/node2/data/pg_wal/00000002.history" "$C_DIR/node1/data/pg_wal/"
chown postgres:postgres "$C_DIR/node1/data/pg_wal/00000002.history"
t_pass "node1's data directory: stopped in recovery on timeline 1 past timeline 2's fork"
t0=$SECONDS
rejoins_before=$(grep -c 'rejoin finished' "$C_DIR/node1.log")
c_start node1
past() { grep -q 'the data directory is past the fork of timeline 2 at .*: it must be rewound before it can start' "$C_DIR/node1.log"; }
t_wait_for 60 "node1 to see it is past the fork" past
# Its member key may still say "streaming" from before: the rejoin must finish first.
t_wait_for 120 "node1 to rejoin again" eval '[ "$(grep -c "rejoin finished" "$C_DIR/node1.log")" -gt '"$rejoins_before"' ]'
t_wait_for 60 "node1 to run as a replica" c_is node1 replica
t_wait_for 120 "node1 to stream from node2 on timeline 2 again" c_cluster_streams node2 1 node1
t_pass "node1 rewound the stopped directory and streams, $((SECONDS - t0)) s after its agent started"
t_assert_eq 0 "$(rows node1 'extra-%')" "node1 again without the rows node2 never had"
c_psql node2 "insert into marks values ('after-rejoin')" >/dev/null
t_wait_for 60 "node1 to get a row written after the rejoin" has_row node1 after-rejoin
t_pass "node1 replicates from node2"
t_done
