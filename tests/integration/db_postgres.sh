#!/usr/bin/env bash
# The PostgreSQL driver against three real PostgreSQL 15 servers on loopback, driven through
# db.h by the test tool gsha-db-tool (tests/integration/db-tool.c), as user postgres:
# bootstrap, clone two replicas (with slots), promote one while the old primary still writes
# (so it diverges), make the other follow, fence the old primary (db_fence) and see "crashed" (a
# pid that a stale postmaster.pid names is not killed, at the end), rewind it
# and see it stream from the new primary, then a restart-only parameter change shows up as a
# pending restart until a restart applies it; synchronous_standby_names is managed on the way.
source "$(dirname "$0")/lib/common.sh"

TOOL="$GSHA_BUILD_DIR/tests/integration/gsha-db-tool"
[ -x "$TOOL" ] || t_fail "test tool not built: $TOOL"
TMP=$(t_tmpdir)
P1=$(t_free_port)
P2=$(t_free_port)
P3=$(t_free_port)
port_of() { case $1 in 1) echo "$P1" ;; 2) echo "$P2" ;; 3) echo "$P3" ;; esac; }
peer() { echo "n$1@127.0.0.1:$(port_of "$1")"; }

# Options every node shares; the extra ones ($EXTRA) are for the parameter change at the end.
EXTRA=()
node() {
	local n=$1
	shift
	t_as_postgres "$TOOL" --name "n$n" --scope dbtest --data-dir "$TMP/n$n" \
		--bin-dir "$PG_BIN" --listen-host 127.0.0.1 --port "$(port_of "$n")" \
		--superuser postgres:su-secret --replication replicator:repl-secret \
		--rewind rewinder:rewind-secret \
		--param "unix_socket_directories=$TMP" --param shared_buffers=16MB \
		--param fsync=off --param max_connections=30 --param wal_keep_size=64MB \
		--hba "local all all trust" \
		--hba "host all all 127.0.0.1/32 scram-sha-256" \
		--hba "host replication all 127.0.0.1/32 scram-sha-256" \
		--basebackup-option checkpoint=fast --use-slots --use-pg-rewind \
		--timeout-ms 60000 "${EXTRA[@]}" "$@"
}
st() { node "$1" status | sed -n "s/^$2=//p"; }
sql() { t_as_postgres "$PG_BIN/psql" -h "$TMP" -p "$(port_of "$1")" -U postgres -d postgres \
	-XAtq -c "$2"; }
register() { t_register_pid "$(head -1 "$TMP/n$1/postmaster.pid")"; }
test_role() { [ "$(st "$1" role)" = "$2" ]; }
test_timeline() { [ "$(st "$1" timeline)" = "$2" ]; }
streams_from() { # node, upstream node
	local out
	out=$(node "$1" status)
	grep -qx "replication_state=streaming" <<<"$out" &&
		grep -qx "upstream=127.0.0.1:$(port_of "$2")" <<<"$out"
}
has_rows() { [ "$(sql "$1" 'SELECT string_agg(x::text, $$,$$ ORDER BY x) FROM t')" = "$2" ]; }

# --- bootstrap ---------------------------------------------------------------------------------
# log_statement=ddl: CREATE ROLE is logged, and must carry the passwords hashed, never in clear.
node 1 --param log_statement=ddl bootstrap >/dev/null || t_fail "bootstrap n1"
register 1
t_assert_eq primary "$(st 1 role)" "bootstrap: n1 runs as primary"
t_assert_eq 1 "$(st 1 timeline)" "bootstrap: n1 is on timeline 1"
check() { # description, command...: pass when the command succeeds, else fail
	local desc=$1
	shift
	if "$@"; then t_pass "$desc"; else t_fail "$desc"; fi
}
check "bootstrap: postgresql.conf includes the initdb file" \
	grep -q "^include 'postgresql.base.conf'" "$TMP/n1/postgresql.conf"
check "bootstrap: initdb's file is kept as postgresql.base.conf" \
	test -f "$TMP/n1/postgresql.base.conf"
t_assert_eq "replicator rewinder" \
	"$(sql 1 "SELECT string_agg(rolname, ' ' ORDER BY rolname) FROM pg_roles
		WHERE rolname IN ('replicator', 'rewinder')")" "bootstrap: users created"
check "bootstrap: the server logged CREATE ROLE" grep -q "CREATE ROLE" "$TMP/n1/postmaster.log"
check "bootstrap: no password in clear in the server log" \
	eval '! grep -qE "repl-secret|rewind-secret" "$TMP/n1/postmaster.log"'
t_assert_eq "SCRAM-SHA-256 SCRAM-SHA-256" \
	"$(sql 1 "SELECT string_agg(split_part(rolpassword, '\$', 1), ' ') FROM pg_authid
		WHERE rolname IN ('replicator', 'rewinder')")" "bootstrap: passwords stored hashed"
t_assert_eq on "$(sql 1 'SHOW wal_log_hints')" "bootstrap: wal_log_hints on for pg_rewind"
node 1 slots n1 n2 n3 >/dev/null || t_fail "slots on n1"
t_assert_eq "n2,n3" "$(st 1 slots)" "slots: n1 has one slot per other member"
sql 1 "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"

# --- clone two replicas --------------------------------------------------------------------------
# n2 copies the leader; n3 copies the replica n2 (Patroni's clonefrom) and then follows n1.
for n in 2 3; do
	source_node=$((n == 2 ? 1 : 2))
	node "$n" --verbose clone "$(peer $source_node)" "$(peer 1)" >/dev/null \
		2>"$TMP/clone$n.err" || {
		cat "$TMP/clone$n.err" >&2
		t_fail "clone n$n"
	}
	register "$n"
	t_wait_for 60 "n$n streaming from n1" streams_from "$n" 1
	t_pass "clone: n$n (copied from n$source_node) streams from n1"
done
check "clone: pg_basebackup progress is in the log" grep -q "pg_basebackup: .* kB (100%)" \
	"$TMP/clone2.err"
t_wait_for 30 "n1 sees two standbys" test "$(st 1 standbys)" = 2
t_pass "status: n1 lists two attached standbys"
t_assert_eq "t" "$(sql 1 "SELECT active FROM pg_replication_slots WHERE slot_name = 'n2'")" \
	"slots: n2 streams through its slot"
t_wait_for 30 "row 1 on n3" has_rows 3 1
t_assert_eq 1 "$(st 2 timeline)" "status: a replica reports the primary's timeline"

# --- synchronous_standby_names, managed ----------------------------------------------------------
node 1 sync priority 1 n2 >/dev/null || t_fail "sync on n1"
sync_is() { node 1 status | grep -q "^standby.n2=streaming,sync,"; }
t_wait_for 30 "n2 becomes sync standby" sync_is
t_assert_eq n2 "$(st 1 synchronous_standby_names)" "sync: a lone standby is named bare"
node 1 sync off >/dev/null || t_fail "sync off on n1"
t_assert_eq "" "$(st 1 synchronous_standby_names)" "sync: off clears the setting"

# --- n3 follows n2, n2 is promoted while n1 still writes: n1 diverges --------------------------
# n3 moves first (cascading from n2 until the promotion), so it can never hold WAL that n1 wrote
# after n2 left it: that would make n3 diverge too, as it would in a real failover that picked
# the less advanced replica.
caught_up() { [ "$(st 2 replay_lsn)" = "$(st 1 flush_lsn)" ]; }
t_wait_for 30 "n2 replayed all of n1" caught_up
node 2 slots n3 >/dev/null || t_fail "slots on replica n2" # for n3 cascading from it
node 3 follow "$(peer 2)" >/dev/null || t_fail "n3 follow n2"
t_wait_for 60 "n3 streaming from n2" streams_from 3 2
t_pass "follow: n3 re-pointed to n2 with a reload"
t_assert_eq "127.0.0.1:$P2" "$(st 3 following)" "status: n3 says whom it is configured to follow"
t_assert_eq ":0" "$(st 1 following)" "status: a primary follows nobody"
node 2 promote >/dev/null || t_fail "promote n2"
node 2 checkpoint >/dev/null || t_fail "checkpoint on n2 after its promotion" # as the loop does
t_assert_eq primary "$(st 2 role)" "promote: n2 is primary"
t_assert_eq 2 "$(st 2 timeline)" "promote: n2 moved to timeline 2"
check "promote: standby.signal is gone" test ! -f "$TMP/n2/standby.signal"
sql 1 "INSERT INTO t VALUES (2)" # only on the old primary: the divergence pg_rewind must undo
sql 2 "INSERT INTO t VALUES (3)"
node 2 slots n1 n2 n3 >/dev/null || t_fail "slots on n2"
t_assert_eq "n1,n3" "$(st 2 slots)" "slots: the new primary has slots for the others"
t_wait_for 30 "n3 has rows 1,3" has_rows 3 "1,3"
t_pass "follow: n3 follows the new primary n2 across the timeline switch"
t_wait_for 30 "n3 on timeline 2" test_timeline 3 2
t_pass "follow: n3 is on timeline 2"

# --- fence the old primary (db_fence: kill -9 of the postmaster and its children): crashed -------
pm=$(head -1 "$TMP/n1/postmaster.pid")
children=$(pgrep -P "$pm" | tr '\n' ' ')
check "fence: n1's postmaster has children to kill" test -n "$children"
check "fence: db_fence kills n1" grep -qx "fence: done" <(node 1 fence)
t_wait_for 10 "postmaster $pm gone" sh -c "! kill -0 $pm"
for c in $children; do # killed with it, not left to notice the postmaster's death
	t_wait_for 5 "n1 child $c killed" sh -c "! kill -0 $c"
done
t_pass "fence: the postmaster and all its children are gone at once"
t_assert_eq crashed "$(st 1 role)" "kill -9: n1 status says crashed"
t_assert_eq 0 "$(st 1 running)" "kill -9: n1 is not running"
t_assert_eq "in production" "$(st 1 cluster_state)" "kill -9: pg_control says it ran as primary"
t_assert_eq 1 "$(st 1 needs_rejoin)" "kill -9: a crashed primary needs a rejoin to follow"

# --- rewind the old primary and see it stream again ----------------------------------------------
node 1 --verbose rejoin "$(peer 2)" >/dev/null 2>"$TMP/rejoin.err" || {
	cat "$TMP/rejoin.err" >&2
	t_fail "rejoin n1"
}
register 1
check "rejoin: pg_rewind found the divergence and rewound" grep -q \
	"pg_rewind: .*servers diverged at WAL location" "$TMP/rejoin.err"
check "rejoin: n1 was not cloned again" test "$(grep -c pg_basebackup "$TMP/rejoin.err")" = 0
check "rejoin: n1 is configured as a replica" test -f "$TMP/n1/standby.signal"
t_wait_for 60 "n1 streaming from n2" streams_from 1 2
t_pass "rejoin: n1 was rewound and streams from n2"
t_wait_for 30 "n1 has rows 1,3" has_rows 1 "1,3"
t_pass "rejoin: the diverged row is gone and the new primary's row arrived"
t_wait_for 30 "n1 on timeline 2" test_timeline 1 2
t_pass "rejoin: n1 is on timeline 2"
t_wait_for 30 "n2 sees two standbys" test "$(st 2 standbys)" = 2
t_pass "status: n2 lists n1 and n3 as standbys"

# --- a restart-only parameter change is a pending restart ----------------------------------------
EXTRA=(--param shared_buffers=24MB)
node 2 apply >/dev/null || t_fail "apply on n2"
t_assert_eq 1 "$(st 2 pending_restart)" "parameters: shared_buffers change is pending"
t_assert_eq shared_buffers "$(st 2 pending)" "parameters: the pending one is named"
t_assert_eq 16MB "$(sql 2 'SHOW shared_buffers')" "parameters: old value until restart"
node 3 apply >/dev/null || t_fail "apply on replica n3"
t_wait_for 30 "n3 still streaming after apply" streams_from 3 2
t_pass "parameters: a replica keeps its upstream when parameters change"
node 2 restart fast >/dev/null || t_fail "restart n2"
register 2
t_assert_eq 0 "$(st 2 pending_restart)" "parameters: nothing pending after restart"
t_assert_eq 24MB "$(sql 2 'SHOW shared_buffers')" "parameters: new value after restart"
EXTRA=()

# --- a rewind that fails: refused, unless the configuration allows a re-clone --------------------
EXTRA=(--rewind rewinder:wrong-secret)
node 3 stop fast >/dev/null || t_fail "stop n3"
if node 3 rejoin "$(peer 2)" >/dev/null 2>"$TMP/rejoin3.err"; then
	t_fail "rejoin with a failing pg_rewind succeeded without permission to re-clone"
fi
check "rewind failure: the error names pg_rewind" grep -q "pg_rewind failed" "$TMP/rejoin3.err"
check "rewind failure: the data directory is kept" test -f "$TMP/n3/PG_VERSION"
node 3 --remove-data-on-rewind-failure --verbose rejoin "$(peer 2)" >/dev/null \
	2>"$TMP/rejoin3b.err" || {
	cat "$TMP/rejoin3b.err" >&2
	t_fail "rejoin n3 with re-clone"
}
register 3
check "rewind failure: pg_rewind was tried first" grep -q "rejoin: pg_rewind failed" \
	"$TMP/rejoin3b.err"
check "rewind failure: re-cloned with pg_basebackup" grep -q "pg_basebackup: .* kB (100%)" \
	"$TMP/rejoin3b.err"
EXTRA=()
t_wait_for 60 "n3 streaming from n2 after re-clone" streams_from 3 2
t_pass "rewind failure: the re-cloned n3 streams from n2"

# --- a hung server (postmaster stopped with SIGSTOP) is "unknown", and status does not hang ------
pm3=$(head -1 "$TMP/n3/postmaster.pid")
kill -STOP "$pm3"
# If status hung, this line would too, and the suite's timeout would fail the test.
out=$(node 3 status) || {
	kill -CONT "$pm3"
	t_fail "status of a hung server"
}
kill -CONT "$pm3"
t_assert_eq unknown "$(sed -n 's/^role=//p' <<<"$out")" "hung: a stopped postmaster is reported unknown"
t_assert_eq 1 "$(sed -n 's/^running=//p' <<<"$out")" "hung: its process is still alive"
t_wait_for 30 "n3 answers again" test_role 3 replica
t_pass "hung: n3 answers again after SIGCONT"

# --- planned switchover: stop the primary cleanly, promote a replica, rejoin the old primary -----
# Nothing diverged, so the rejoin's pg_rewind has nothing to undo.
caught_up_on() { [ "$(st "$1" replay_lsn)" = "$(st 2 flush_lsn)" ]; }
t_wait_for 30 "n1 replayed all of n2" caught_up_on 1
node 2 stop fast >/dev/null || t_fail "stop n2"
t_assert_eq "shut down" "$(st 2 cluster_state)" "switchover: n2 shut down cleanly"
t_assert_eq 1 "$(st 2 needs_rejoin)" "switchover: a former primary is rejoined, not just started"
node 1 promote >/dev/null || t_fail "promote n1"
# The HA loop's step after a promotion (db.h: the checkpoint after promote is the caller's): it
# puts timeline 3 into pg_control, which pg_rewind reads from its source. Without it the rewind
# below raced the server's own end-of-recovery checkpoint.
node 1 checkpoint >/dev/null || t_fail "checkpoint on n1 after its promotion"
t_assert_eq 3 "$(st 1 timeline)" "switchover: n1 is primary on timeline 3"
node 1 slots n1 n2 n3 >/dev/null || t_fail "slots on n1" # the loop's job after a promotion
node 2 --verbose rejoin "$(peer 1)" >/dev/null 2>"$TMP/rejoin2.err" || {
	cat "$TMP/rejoin2.err" >&2
	t_fail "rejoin n2"
}
register 2
grep -q "no rewind required" "$TMP/rejoin2.err" || {
	echo "--- the rejoin's output:" >&2
	cat "$TMP/rejoin2.err" >&2
	t_fail "switchover: pg_rewind found nothing to undo"
}
t_pass "switchover: pg_rewind found nothing to undo"
t_wait_for 60 "n2 streaming from n1" streams_from 2 1
t_pass "switchover: the old primary n2 streams from n1"
node 3 follow "$(peer 1)" >/dev/null || t_fail "n3 follow n1"
t_wait_for 60 "n3 streaming from n1" streams_from 3 1
t_pass "switchover: n3 follows n1"
sql 1 "INSERT INTO t VALUES (4)"
t_wait_for 30 "n2 has rows 1,3,4" has_rows 2 "1,3,4"
t_pass "switchover: writes on n1 reach the old primary"

# --- one status connection for many reads (issue 15) ----------------------------------------------
# Ten reads in one process, as the agent reads every loop_wait, open one connection, not ten.
authorized() { grep -c "connection authorized: .*application_name=gsha" "$TMP/n1/postmaster.log" || true; }
sql 1 "ALTER SYSTEM SET log_connections = on" >/dev/null && sql 1 "SELECT pg_reload_conf()" >/dev/null ||
	t_fail "log_connections on n1"
sleep 1
before=$(authorized)
t_assert_eq primary "$(node 1 watch 10 100 | sed -n 's/^role=//p')" "kept: ten reads see the primary"
t_assert_eq 1 "$(($(authorized) - before))" "kept: ten status reads opened one connection"
sql 1 "ALTER SYSTEM RESET log_connections" >/dev/null && sql 1 "SELECT pg_reload_conf()" >/dev/null ||
	t_fail "log_connections off on n1"

# --- stop everything -----------------------------------------------------------------------------
# Each stop mode once: a replica immediately, a replica smartly, the primary fast. The smart stop
# follows status reads in the same process: the driver closes its kept connection first, or the
# shutdown would wait for it until the timeout.
for stop in 2:immediate 3:smart 1:fast; do
	n=${stop%%:*} mode=${stop#*:}
	if [ "$mode" = smart ]; then
		node "$n" --timeout-ms 20000 watch 3 100 stop smart >/dev/null || t_fail "stop n$n ($mode)"
	else
		node "$n" stop "$mode" >/dev/null || t_fail "stop n$n ($mode)"
	fi
	t_assert_eq stopped "$(st "$n" role)" "stop: n$n stopped ($mode)"
done
check "stop: an immediate stop left crash recovery to do" grep -q "in archive recovery" \
	<(node 2 control)
t_assert_eq 0 "$(st 2 needs_rejoin)" "stop: a crashed replica does not need a rejoin"
t_assert_eq "shut down in recovery" "$(st 3 cluster_state)" "stop: n3 shut down as a replica"
node 1 start primary >/dev/null || t_fail "start n1"
register 1
t_assert_eq primary "$(st 1 role)" "start: n1 starts as primary"
# A replica that did not shut down cleanly can be rejoined too: pg_rewind's single-user crash
# recovery must not trip over standby.signal.
node 2 rejoin "$(peer 1)" >/dev/null 2>"$TMP/rejoin2b.err" || {
	cat "$TMP/rejoin2b.err" >&2
	t_fail "rejoin n2 after immediate stop"
}
register 2
t_wait_for 60 "n2 streaming after crash recovery" streams_from 2 1
t_pass "rejoin: n2 recovered from the immediate stop and streams again"
node 3 start replica "$(peer 1)" >/dev/null || t_fail "start n3"
register 3
t_wait_for 60 "n3 streaming" streams_from 3 1
t_pass "start: n3 starts as a replica and streams"
node 3 stop fast >/dev/null || t_fail "stop n3"

# --- fencing never kills a pid that a stale postmaster.pid names but another process now uses ---
t_as_postgres sleep 300.5 &
t_register_pid $!
t_wait_for 10 "the foreign process runs" pgrep -u postgres -f -x "sleep 300.5"
foreign_pid=$(pgrep -u postgres -f -x "sleep 300.5")
printf '%s\n%s\n%s\n%s\n%s\n127.0.0.1\n  5432001         0\nready   \n' "$foreign_pid" \
	"$TMP/n3" "$(date +%s)" "$P3" "$TMP" >"$TMP/n3/postmaster.pid"
chown postgres "$TMP/n3/postmaster.pid"
out=$(node 3 fence) && rc=0 || rc=$?
t_assert_eq 3 "$rc" "fence: a recycled pid is reported as nothing to kill"
check "fence: the message says the pid is not n3's postmaster" grep -q "recycled" <<<"$out"
check "fence: the foreign process is still alive" kill -0 "$foreign_pid"
rm -f "$TMP/n3/postmaster.pid"
kill "$foreign_pid"

node 2 stop fast >/dev/null || t_fail "stop n2"
node 1 stop fast >/dev/null || t_fail "stop n1"
t_done
