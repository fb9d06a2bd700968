#!/usr/bin/env bash
# Issue 13, topology: a standby cluster (Patroni's standby_cluster). A primary cluster (scope
# A, one node p1, a permanent slot for the standby cluster) and a standby cluster (scope B, nodes
# s1 and s2, bootstrap.dcs.standby_cluster pointing at p1 with primary_slot_name).
# s1 bootstraps by cloning p1 and holds B's leader key as standby leader (member key and
# /patroni role "standby_leader", /standby-leader 200, /primary 503, GET /cluster role
# "standby_leader"), streaming from p1 through the slot; s2 clones s1 and streams from it (a
# cascade); a row written on p1 reaches s1 and s2. Then the clusters swap roles as Patroni 4.1
# does it: gsctl demote-cluster makes p1 scope A's standby leader following s1, and gsctl
# promote-cluster (PATCH /config {"standby_cluster": null}) makes s1 a writable primary that s2
# and p1 follow. In between, the standby leader s1 is killed: s2 takes the key and follows p1
# (still no promotion), and s1 returns as s2's replica; the swap then runs with s2 as the
# standby leader.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "primary$$"
SCOPE_A="primary$$" SCOPE_B="standby$$"

c_config p1 "slots:
  standby_b:
    type: physical"
# slots is a dynamic key: move it from the end of the file into bootstrap.dcs.
python3 - "$C_DIR/p1.yml" <<'PY'
import sys
p = sys.argv[1]
text = open(p).read()
head, tail = text.split("slots:\n  standby_b:\n    type: physical\n")
head = head.replace("  dcs:\n", "  dcs:\n    slots:\n      standby_b:\n        type: physical\n", 1)
open(p, "w").write(head + tail)
PY

# standby_cluster.create_replica_methods names postgresql's method sections: s1's first clone
# runs standby_copy (pg_basebackup run by a script, which leaves a marker) against p1.
cat >"$C_DIR/standby_copy.sh" <<'SH'
#!/bin/sh
echo "$*" >>"$(dirname "$0")/standby_copy.args"
for a in "$@"; do
	case "$a" in
	--datadir=*) datadir=${a#--datadir=} ;;
	--connstring=*) connstring=${a#--connstring=} ;;
	esac
done
/usr/lib/postgresql/15/bin/pg_basebackup -D "$datadir" -d "$connstring" -X stream || exit 2
echo "made by standby_copy.sh" >"$datadir/standby_copy_marker"
SH
chmod 755 "$C_DIR/standby_copy.sh"
chmod o+rx "$(t_tmpdir)"
touch "$C_DIR/standby_copy.args"
chown postgres:postgres "$C_DIR/standby_copy.args"

C_SCOPE=$SCOPE_B
for n in s1 s2; do
	c_config "$n" "  standby_copy:
    command: $C_DIR/standby_copy.sh"
	python3 - "$C_DIR/$n.yml" "${C_PG_PORT[p1]}" <<'PY'
import sys
p, port = sys.argv[1], sys.argv[2]
text = open(p).read()
block = ("  dcs:\n    standby_cluster:\n      host: 127.0.0.1\n      port: %s\n"
         "      primary_slot_name: standby_b\n      create_replica_methods:\n"
         "      - standby_copy\n      - basebackup\n" % port)
open(p, "w").write(text.replace("  dcs:\n", block, 1))
PY
	chown postgres:postgres "$C_DIR/$n.yml"
done
chown postgres:postgres "$C_DIR/p1.yml"

t_on_failure() {
	for n in p1 s1 s2; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

key_b() { C_SCOPE=$SCOPE_B c_key "$1"; }
leader_b() { C_SCOPE=$SCOPE_B c_leader; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
member_role() { key_b "members/$1" | sed -n 's/.*"role": *"\([a-z_]*\)".*/\1/p'; }
streams_from() { # node port: the node's walreceiver streams from that port
	[ "$(c_psql "$1" "select count(*) from pg_stat_wal_receiver where status = 'streaming'
		and conninfo like '%port=$2 %'")" = 1 ]
}

# ---- the primary cluster.
C_SCOPE=$SCOPE_A c_start p1
t_wait_for 60 "p1 to bootstrap and take the leader key" \
	eval '[ "$(C_SCOPE=$SCOPE_A c_leader)" = p1 ]'
t_wait_for 30 "p1 to run as primary" c_is p1 primary
t_wait_for 30 "p1 to create the permanent slot standby_b" eval \
	'[ "$(c_psql p1 "select count(*) from pg_replication_slots where slot_name = '\''standby_b'\''")" = 1 ]'
c_psql p1 "create table marks(v text primary key)" >/dev/null
c_psql p1 "insert into marks values ('before')" >/dev/null
t_pass "primary cluster: p1 leads scope A and keeps the permanent slot standby_b"

# ---- the standby cluster bootstraps from p1.
c_start s1
t_wait_for 120 "s1 to take scope B's leader key" eval '[ "$(leader_b)" = s1 ]'
t_wait_for 60 "s1 to publish role standby_leader" eval '[ "$(member_role s1)" = standby_leader ]'
t_wait_for 30 "s1's /patroni to say standby_leader, running" c_is s1 standby_leader
t_pass "standby cluster: s1 cloned p1 and holds scope B's leader key as standby_leader"
[ -f "$C_DIR/s1/data/standby_copy_marker" ] ||
	t_fail "s1 was not made by standby_cluster's create_replica_methods (no marker)"
grep -q -- "--connstring=.*port=${C_PG_PORT[p1]}" "$C_DIR/standby_copy.args" ||
	t_fail "standby_copy.sh did not get p1's connection string: $(cat "$C_DIR/standby_copy.args")"
grep -q -- "--role=replica" "$C_DIR/standby_copy.args" ||
	t_fail "standby_copy.sh did not get --role=replica: $(cat "$C_DIR/standby_copy.args")"
t_pass "standby cluster bootstrap: standby_cluster's create_replica_methods (standby_copy) cloned p1"
[ -n "$(key_b initialize)" ] || t_fail "scope B has no initialize key"
t_assert_eq "$(C_SCOPE=$SCOPE_A c_key initialize)" "$(key_b initialize)" \
	"scope B's initialize key is p1's system identifier"
t_assert_eq t "$(c_psql s1 "select pg_is_in_recovery()")" "s1 runs in recovery"
t_wait_for 30 "s1 to stream from p1" streams_from s1 "${C_PG_PORT[p1]}"
t_assert_eq standby_b "$(c_psql s1 "show primary_slot_name")" "s1 uses primary_slot_name standby_b"
t_wait_for 30 "p1's slot standby_b to be active" eval \
	'[ "$(c_psql p1 "select active from pg_replication_slots where slot_name = '\''standby_b'\''")" = t ]'
t_pass "standby leader: s1 streams from p1 through the slot standby_b"

t_assert_eq 200 "$(c_rest s1 /standby-leader)" "s1: GET /standby-leader"
t_assert_eq 200 "$(c_rest s1 /standby_leader)" "s1: GET /standby_leader"
t_assert_eq 503 "$(c_rest s1 /primary)" "s1: GET /primary"
t_assert_eq 200 "$(c_rest s1 /leader)" "s1: GET /leader"
t_assert_eq 503 "$(c_rest p1 /standby-leader)" "p1: GET /standby-leader"
cluster=$(curl -s -m 2 "http://127.0.0.1:${C_API_PORT[s1]}/cluster")
[[ "$cluster" == *'"role": "standby_leader"'* ]] || t_fail "GET /cluster on s1: no standby_leader: $cluster"
t_pass "REST: s1 answers /standby-leader 200, /primary 503, GET /cluster lists it as standby_leader"
# Patroni's own patronictl (3.0.2 here) and gsctl read the member keys: "Standby Leader".
cat >"$C_DIR/patronictl.yml" <<YAML
scope: $SCOPE_B
namespace: /service/
etcd3:
  hosts: ${ETCD_URL#http://}
YAML
out=$(patronictl -c "$C_DIR/patronictl.yml" list 2>&1 || true)
echo "$out" | grep -E '\bs1\b' | grep -q 'Standby Leader' ||
	t_fail "patronictl list does not show s1 as Standby Leader: $out"
out=$("$GSHA_BUILD_DIR/ctl/gsctl" -c "$C_DIR/s1.yml" list 2>&1 || true)
echo "$out" | grep -E '\bs1\b' | grep -q 'Standby Leader' ||
	t_fail "gsctl list does not show s1 as Standby Leader: $out"
t_pass "patronictl list and gsctl list show s1 as Standby Leader"

c_start s2
t_wait_for 120 "s2 to run as a replica" c_is s2 replica
t_wait_for 60 "s2 to stream from s1" streams_from s2 "${C_PG_PORT[s1]}"
t_pass "standby cluster: s2 cloned s1 and streams from it"

c_psql p1 "insert into marks values ('replicated')" >/dev/null
t_wait_for 30 "the row to reach s1" has_row s1 replicated
t_wait_for 30 "the row to reach s2" has_row s2 replicated
t_pass "a row written on p1 reached both standby-cluster nodes"
if c_psql s1 "insert into marks values ('refused')" >/dev/null; then
	t_fail "the standby leader accepted a write"
fi
t_pass "the standby leader refuses writes"

# ---- the standby leader is lost: s2 takes scope B's key and follows p1 itself.
db_pid=$(c_postmaster_pid s1)
c_kill s1 KILL
kill -KILL "$db_pid" 2>/dev/null || true
t0=$SECONDS
t_wait_for $((3 * C_TTL + 30)) "s2 to take scope B's leader key" eval '[ "$(leader_b)" = s2 ]'
t_wait_for 30 "s2 to publish role standby_leader" eval '[ "$(member_role s2)" = standby_leader ]'
t_wait_for 30 "s2 to stream from p1" streams_from s2 "${C_PG_PORT[p1]}"
t_pass "standby leader lost: s2 is the standby leader streaming from p1 $((SECONDS - t0)) s after s1 died"
t_assert_eq t "$(c_psql s2 "select pg_is_in_recovery()")" "s2 stays in recovery (no promotion)"
c_psql p1 "insert into marks values ('after-s1-died')" >/dev/null
t_wait_for 30 "the row to reach s2" has_row s2 after-s1-died
c_start s1
t_wait_for 90 "s1 to run as a replica" c_is s1 replica
t_wait_for 60 "s1 to stream from s2" streams_from s1 "${C_PG_PORT[s2]}"
t_wait_for 30 "the row to reach s1" has_row s1 after-s1-died
t_pass "s1 came back as a replica of the standby leader s2"

# ---- gsctl demote-cluster on scope A: p1 becomes a standby leader following s2 (Patroni 4.1's
# way to swap the roles of two clusters: demote the primary cluster first, then promote the
# standby cluster, whose leader has the demoted primary's shutdown checkpoint).
G=$GSHA_BUILD_DIR/ctl/gsctl
c_psql p1 "insert into marks values ('last-on-p1')" >/dev/null
t_wait_for 30 "the last row of p1 to reach s2" has_row s2 last-on-p1
"$G" -c "$C_DIR/p1.yml" demote-cluster "$SCOPE_A" --host 127.0.0.1 --port "${C_PG_PORT[s2]}" \
	--force --timeout 120 </dev/null >"$C_DIR/demote.out" 2>&1 ||
	t_fail "gsctl demote-cluster failed: $(cat "$C_DIR/demote.out")"
grep -q "cluster is successfully demoted" "$C_DIR/demote.out" ||
	t_fail "gsctl demote-cluster did not report success: $(cat "$C_DIR/demote.out")"
t_assert_eq p1 "$(C_SCOPE=$SCOPE_A c_leader)" "p1 kept scope A's leader key"
t_wait_for 30 "p1's /patroni to say standby_leader" c_is p1 standby_leader
t_wait_for 30 "p1 to stream from s2" streams_from p1 "${C_PG_PORT[s2]}"
t_assert_eq 200 "$(c_rest p1 /standby-leader)" "p1: GET /standby-leader after demote-cluster"
t_assert_eq 503 "$(c_rest p1 /primary)" "p1: GET /primary after demote-cluster"
t_pass "gsctl demote-cluster: p1 is scope A's standby leader and streams from s2"
"$G" -c "$C_DIR/p1.yml" demote-cluster "$SCOPE_A" --host 127.0.0.1 --force </dev/null \
	>"$C_DIR/demote2.out" 2>&1 && t_fail "a second demote-cluster succeeded"
grep -q "already in the required state" "$C_DIR/demote2.out" ||
	t_fail "a second demote-cluster: $(cat "$C_DIR/demote2.out")"
t_pass "gsctl demote-cluster on a standby cluster: 'Cluster is already in the required state'"

# ---- gsctl promote-cluster on scope B (PATCH /config {"standby_cluster": null}).
t0=$SECONDS
"$G" -c "$C_DIR/s2.yml" promote-cluster "$SCOPE_B" --force --timeout 120 </dev/null \
	>"$C_DIR/promote.out" 2>&1 || t_fail "gsctl promote-cluster failed: $(cat "$C_DIR/promote.out")"
grep -q "cluster is successfully promoted" "$C_DIR/promote.out" ||
	t_fail "gsctl promote-cluster did not report success: $(cat "$C_DIR/promote.out")"
t_wait_for 60 "s2 to run as primary" c_is s2 primary
t_pass "gsctl promote-cluster: s2 is a primary $((SECONDS - t0)) s after the command"
t_assert_eq s2 "$(leader_b)" "s2 still holds scope B's leader key"
t_wait_for 30 "s2 to accept writes" eval 'c_psql s2 "insert into marks values ('\''promoted'\'')" >/dev/null'
t_wait_for 60 "s1 to get the row written on s2" has_row s1 promoted
t_wait_for 60 "p1 (scope A's standby leader) to get the row written on s2" has_row p1 promoted
t_assert_eq 503 "$(c_rest s2 /standby-leader)" "s2: GET /standby-leader after promotion"
t_assert_eq 200 "$(c_rest s2 /primary)" "s2: GET /primary after promotion"
t_pass "promote-cluster: s2 is a writable primary; s1 and scope A's standby leader p1 replicate from it"
t_done
