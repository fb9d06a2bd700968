#!/usr/bin/env bash
# Issue 13, slots as Patroni 4 manages them, on three nodes (wal_level logical).
# PATCH /config sets permanent slots (keep_wal physical, cdc logical with test_decoding) and
# ignore_slots (backup_tool). A stray idle slot is dropped; backup_tool, made by hand on the
# leader like a backup tool's, survives; keep_wal is on every node, cdc on the leader; the status
# key carries the slots' positions and retain_slots in Patroni 4's form; a member whose key
# expired keeps its slot on the leader (member_slots_ttl) and is listed in retain_slots.
# Logical slot failover: the replicas copy cdc from the leader and keep it where the leader's
# consumer confirmed; the leader dies, and the consumer (pg_logical_slot_get_changes on the new
# leader) gets exactly the changes it had not consumed, none lost, none repeated.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "slots$$"
# Appended below postgresql.parameters: local parameters win over the DCS ones.
logical="    wal_level: logical
    hot_standby_feedback: 'on'"
for n in node1 node2 node3; do c_config "$n" "$logical"; done

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
	echo "---- status key"
	status_doc
	for n in node1 node2 node3; do
		echo "---- $n slots"
		c_psql "$n" "select slot_name, slot_type, active, xmin, catalog_xmin, restart_lsn,
			confirmed_flush_lsn from pg_replication_slots order by 1"
	done
}

status_doc() { c_key status; }
patch_config() { # node, json
	curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH -H 'Content-Type: application/json' \
		-d "$2" "http://127.0.0.1:${C_API_PORT[$1]}/config"
}
has_slot() { # node slot [type]
	[ "$(c_psql "$1" "select count(*) from pg_replication_slots where slot_name = '$2'
		${3:+and slot_type = '$3'}")" = 1 ]
}
no_slot() { ! has_slot "$@"; }
# The status key is JSON with optime, slots naming every given slot, and retain_slots.
status_has() { # python expression over d (the status document)
	status_doc | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" eval '[ "$(c_leader)" = node1 ]'
t_wait_for 30 "node1 to run as primary" c_is node1 primary
c_start node2
c_start node3
t_wait_for 120 "node2 to run as a replica" c_is node2 replica
t_wait_for 120 "node3 to run as a replica" c_is node3 replica
t_wait_for 30 "member slots on node1" eval 'has_slot node1 node2 && has_slot node1 node3'
t_pass "setup: node1 leads with member slots for node2 and node3"

# ---- a stray idle slot is dropped.
c_psql node1 "select pg_create_physical_replication_slot('stray')" >/dev/null
t_wait_for 20 "the stray slot to be dropped" no_slot node1 stray
t_pass "an idle slot nobody keeps is dropped"

# ---- permanent slots and ignore_slots through PATCH /config.
t_assert_eq 200 "$(patch_config node1 '{"slots": {"keep_wal": {"type": "physical"},
	"cdc": {"type": "logical", "database": "postgres", "plugin": "test_decoding"}},
	"ignore_slots": [{"name": "backup_tool"}]}')" "PATCH /config with slots and ignore_slots answers 200"
c_psql node1 "select pg_create_physical_replication_slot('backup_tool', true)" >/dev/null
for n in node1 node2 node3; do
	t_wait_for 30 "keep_wal on $n" has_slot "$n" keep_wal physical
done
t_pass "permanent physical slot keep_wal is on all three nodes"
t_wait_for 30 "cdc on node1" has_slot node1 cdc logical
t_pass "permanent logical slot cdc is on the leader, with test_decoding"
sleep $((3 * C_LOOP_WAIT + 2))
has_slot node1 backup_tool physical || t_fail "ignore_slots: backup_tool was dropped"
t_pass "ignore_slots: backup_tool survived $((3 * C_LOOP_WAIT + 2)) s of cycles on the leader"

# ---- the status key in Patroni 4's form.
t_wait_for 30 "status to carry the slots" status_has \
	'isinstance(d.get("optime"), int) and {"cdc", "keep_wal", "node2", "node3"} <= set(d.get("slots", {})) and "backup_tool" not in d.get("slots", {}) and {"node2", "node3"} <= set(d.get("retain_slots", []))'
t_pass "status: $(status_doc)"
c_psql node1 "select pg_logical_emit_message(true, 'x', 'y')" >/dev/null
lsn=$(c_psql node1 "select (pg_current_wal_lsn() - '0/0')::bigint")
c_psql node1 "select count(*) from pg_logical_slot_get_changes('cdc', null, null)" >/dev/null
t_wait_for 30 "status to show cdc's confirmed position" status_has "d['slots']['cdc'] >= $lsn"
t_pass "status: cdc's position moves with its consumer"

# ---- member_slots_ttl: node3's key expires, its slot stays.
db_pid=$(c_postmaster_pid node3)
c_kill node3 KILL
kill -KILL "$db_pid" 2>/dev/null || true
members_gone() { [ -z "$(c_key members/node3)" ]; }
t_wait_for $((3 * C_TTL)) "node3's member key to expire" members_gone
sleep $((3 * C_LOOP_WAIT + 2))
has_slot node1 node3 || t_fail "member_slots_ttl: node1 dropped node3's slot"
has_slot node2 node3 || t_fail "member_slots_ttl: node2 dropped node3's slot"
status_has '"node3" in d.get("retain_slots", [])' || t_fail "retain_slots no longer lists node3"
t_pass "member_slots_ttl: node3's slot stays on node1 and node2, listed in retain_slots"
c_start node3
t_wait_for 120 "node3 to stream again" eval '[ "$(c_psql node1 "select count(*) from pg_stat_replication where application_name = '"'node3'"' and state = '"'streaming'"'")" = 1 ]'
t_pass "node3 is back and streams through its kept slot"
# A replica moves its copy of a member slot forward (pg_advance_slots, over the status
# connection the driver keeps): node2's slot for node3 follows what node3 has received.
c_psql node1 "create table slot_advance_probe (x int)" >/dev/null || t_fail "write on node1"
lsn=$(c_psql node1 "select pg_current_wal_lsn()")
slot_reached() {
	[ "$(c_psql node2 "select restart_lsn >= '$lsn' from pg_replication_slots
		where slot_name = 'node3'")" = t ]
}
t_wait_for 60 "node2's slot for node3 to reach $lsn" slot_reached
t_pass "a replica advances its member slot for node3 past $lsn"

# ---- logical slot failover.
for n in node2 node3; do
	t_wait_for 60 "cdc to be copied to $n" has_slot "$n" cdc logical
done
t_pass "logical slot failover: cdc was copied to node2 and node3"
for n in node2 node3; do
	t_wait_for 60 "cdc on $n to be found safe" grep -q 'slot "cdc" is safe to use after a failover' "$C_DIR/$n.log"
done
t_pass "logical slot failover: the primary holds the catalog rows cdc needs on node2 and node3 (catalog_xmin check)"
inserts() { # node: the ids of the INSERTs the consumer gets from cdc, space-separated
	c_psql "$1" "select string_agg(substring(data from 'id\[integer\]:([0-9]+)'), ' ' order by lsn)
		from pg_logical_slot_get_changes('cdc', null, null) where data like 'table public.lf: INSERT%'"
}
c_psql node1 "create table lf(id int primary key)" >/dev/null
c_psql node1 "insert into lf select generate_series(1, 10)" >/dev/null
t_assert_eq "1 2 3 4 5 6 7 8 9 10" "$(inserts node1)" "the consumer reads rows 1 to 10 on node1"
c_psql node1 "insert into lf select generate_series(11, 20)" >/dev/null
pos=$(c_psql node1 "select confirmed_flush_lsn from pg_replication_slots where slot_name = 'cdc'")
copy_at_least() { # node
	[ "$(c_psql "$1" "select count(*) from lf")" = 20 ] &&
		[ "$(c_psql "$1" "select confirmed_flush_lsn >= '$pos' from pg_replication_slots
			where slot_name = 'cdc'")" = t ]
}
for n in node2 node3; do
	t_wait_for 30 "$n to replay row 20 and its cdc to reach $pos" copy_at_least "$n"
done
t_pass "logical slot failover: the copies on node2 and node3 reached the consumer's position $pos"
db_pid=$(c_postmaster_pid node1)
c_kill node1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t_wait_for 60 "node2 or node3 to take the leader key" eval 'l=$(c_leader); [ "$l" = node2 ] || [ "$l" = node3 ]'
lead=$(c_leader)
t_wait_for 30 "$lead to run as primary" c_is "$lead" primary
t_assert_eq "11 12 13 14 15 16 17 18 19 20" "$(inserts "$lead")" \
	"logical slot failover: on $lead the consumer gets rows 11 to 20, none lost, none repeated"
c_psql "$lead" "insert into lf select generate_series(21, 25)" >/dev/null
t_assert_eq "21 22 23 24 25" "$(inserts "$lead")" "the consumer goes on with the new leader's rows"
t_done
