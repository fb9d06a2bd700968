#!/usr/bin/env bash
# Fault-suite finding (issue 18, switchover-node-loss seed 866263876): a member that takes the
# leader key, has PostgreSQL switch to its new timeline and dies before anyone copied that
# timeline's history file leaves an ID the next promotion would pick again: PostgreSQL names a new
# timeline after the history files it has. Two different timelines 2, forked at one LSN, cannot
# be told apart (pg_rewind says "no rewind required" and the old one streams "record with
# incorrect prev-link" for ever). The agents count the leader acquisitions they see and the next
# promotion steps over the IDs they may have used (docs/db.md, "Timeline IDs").
# Built on purpose, async, three nodes: node1 (the primary) dies; node2 takes the key and its
# pre_promote script promotes PostgreSQL itself to timeline 2 and signals the test, which kills
# node2's agent and PostgreSQL; node3, held back by its own pre_promote until then, takes over.
# node3 must not be on timeline 2; node2 must come back as node3's replica, streaming.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "tlcollide$$"
trap_dir="$C_DIR/traps"
mkdir -p "$trap_dir"
chown postgres:postgres "$trap_dir"
c_config node1
c_config node2 "  pre_promote: $C_DIR/pre_promote_node2.sh"
c_config node3 "  pre_promote: $C_DIR/pre_promote_node3.sh"
# node2: while $trap_dir/trap exists, shut its replicas out (so that none fetches the new
# timeline's history file), promote PostgreSQL here and wait to be killed.
cat >"$C_DIR/pre_promote_node2.sh" <<SH
#!/bin/sh
[ -e "$trap_dir/trap" ] || exit 0
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$C_DIR/node2/data/pg_hba.conf"
/usr/lib/postgresql/15/bin/pg_ctl reload -D "$C_DIR/node2/data" >/dev/null 2>&1
sleep 0.3
/usr/lib/postgresql/15/bin/psql -X -q -h "$C_DIR/node2" -p ${C_PG_PORT[node2]} -U postgres -d postgres \
	-c 'select pg_terminate_backend(pid) from pg_stat_replication' >/dev/null 2>&1
/usr/lib/postgresql/15/bin/pg_ctl promote -D "$C_DIR/node2/data" -w -t 30 >"$trap_dir/promote.out" 2>&1
echo \$\$ >"$trap_dir/trapped.tmp" && mv "$trap_dir/trapped.tmp" "$trap_dir/trapped"
sleep 120
SH
# node3: vetoes while $trap_dir/veto exists.
cat >"$C_DIR/pre_promote_node3.sh" <<SH
#!/bin/sh
[ -e "$trap_dir/veto" ] && exit 1
exit 0
SH
chmod 755 "$C_DIR/pre_promote_node2.sh" "$C_DIR/pre_promote_node3.sh"

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
	ls -l "$C_DIR/node3/data/pg_wal" 2>/dev/null
}

has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
streams_from_node3() {
	[ "$(c_psql node2 "select sender_port from pg_stat_wal_receiver where status = 'streaming'")" = "${C_PG_PORT[node3]}" ]
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
t_pass "setup: node1 leads on timeline 1, node2 and node3 replicate"

# ---- node1 dies; node2 takes the key, PostgreSQL switches to timeline 2, node2 dies.
touch "$trap_dir/trap" "$trap_dir/veto"
db_pid=$(c_postmaster_pid node1)
c_kill node1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_wait_for $((6 * C_TTL + 60)) "node2's PostgreSQL to promote in its pre_promote" \
	test -s "$trap_dir/trapped"
t_assert_eq 2 "$(c_timeline node2)" "node2's PostgreSQL runs on timeline 2"
t_assert_eq 0 "$(c_psql node2 "select count(*) from pg_stat_replication")" \
	"no replica streams from node2 (none fetched 00000002.history)"
[ -e "$C_DIR/node3/data/pg_wal/00000002.history" ] &&
	t_fail "node3 has node2's 00000002.history: the test would not build a collision"
db_pid=$(c_postmaster_pid node2)
c_kill node2 KILL
kill -KILL "$db_pid" 2>/dev/null || true
kill -KILL "$(cat "$trap_dir/trapped")" 2>/dev/null || true
t_pass "node2 promoted its PostgreSQL to timeline 2 and died (agent and database) before writing history"

# ---- node3 takes over: it must not pick timeline 2 again.
rm -f "$trap_dir/veto" "$trap_dir/trap"
t_wait_for $((6 * C_TTL + 60)) "node3 to take the leader key" eval '[ "$(c_leader)" = node3 ]'
t_wait_for 60 "node3 to run as primary" c_is node3 primary
tl=$(c_timeline node3)
[ "$tl" -gt 2 ] || t_fail "node3 promoted on timeline $tl: the ID node2's PostgreSQL already used (a timeline collision)"
t_pass "node3 promoted on timeline $tl, not on node2's timeline 2"
grep -q 'reserved timeline IDs 2 to .* before promoting' "$C_DIR/node3.log" ||
	t_fail "node3's log does not say which timeline IDs it reserved"
t_pass "node3's log says it reserved timeline ID 2"
c_psql node3 "insert into marks values ('on-node3')" >/dev/null
# pg_rewind must read the new timeline in node3's pg_control: a rewind that runs before the
# promotion's checkpoint is another finding (helper rewindrace), not this one.
c_psql node3 "checkpoint" >/dev/null

# ---- node2 comes back: its timeline 2 differs from node3's, so pg_rewind rewinds it.
c_start node2
t_wait_for 180 "node2 to stream from node3" streams_from_node3
t_wait_for 60 "node2 to get the row written on node3" has_row node2 on-node3
c_psql node3 "insert into marks values ('after-rejoin')" >/dev/null
t_wait_for 60 "node2 to get a row written after its rejoin" has_row node2 after-rejoin
t_pass "node2 rejoined node3 and replicates from it"
t_done
