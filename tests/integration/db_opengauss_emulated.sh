#!/usr/bin/env bash
# The openGauss driver (src/db/db_opengauss.c) against the openGauss EMULATOR in
# tests/opengauss-emulator/ (PostgreSQL 15 dressed as openGauss, NOT openGauss), driven through
# db.h by the test tool gsha-db-tool with --engine opengauss, as user postgres. The PostgreSQL
# driver's scenario list: bootstrap of one node alone (pending + notify -T; it ends Normal, which
# the driver accepts, opengauss.md 2.2), the members joining (Normal becomes Primary with
# notify -T), clone two replicas (gs_ctl build -b full -T), promote one (gs_ctl failover -T 2)
# while the old primary still writes (so it diverges), kill -9 the old primary and see
# "crashed", make the other replica follow the new primary, bring the old primary back as a
# stale primary with term 1, rewind it (stopped first, then gs_ctl build -b incremental -T 2)
# while the new primary keeps writing and see it stream again, then a restart-only parameter change shows up as a pending restart until
# a restart applies it.
source "$(dirname "$0")/lib/common.sh"

TOOL="$GSHA_BUILD_DIR/tests/integration/gsha-db-tool"
[ -x "$TOOL" ] || t_fail "test tool not built: $TOOL"
EMU="$GSHA_SOURCE_DIR/tests/opengauss-emulator"
TMP=$(t_tmpdir)
P1=$(t_free_port)
P2=$(t_free_port)
P3=$(t_free_port)
port_of() { case $1 in 1) echo "$P1" ;; 2) echo "$P2" ;; 3) echo "$P3" ;; esac; }
peer() { echo "n$1@127.0.0.1:$(port_of "$1")"; }

EXTRA=()
MEMBERS=(--member "$(peer 1)" --member "$(peer 2)" --member "$(peer 3)")
node() {
	local n=$1
	shift
	t_as_postgres "$TOOL" --engine opengauss --name "n$n" --scope ogtest \
		--data-dir "$TMP/n$n" --bin-dir "$EMU" --listen-host 127.0.0.1 \
		--port "$(port_of "$n")" --superuser postgres "${MEMBERS[@]}" \
		--param "unix_socket_directories=$TMP" --param shared_buffers=16MB \
		--param fsync=off \
		--hba "host all all 127.0.0.1/32 trust" \
		--hba "host replication all 127.0.0.1/32 trust" \
		--use-pg-rewind --timeout-ms 60000 "${EXTRA[@]}" "$@"
}
st() { node "$1" status | sed -n "s/^$2=//p"; }
sql() { t_as_postgres "$PG_BIN/psql" -h "$TMP" -p "$(port_of "$1")" -U postgres -d postgres \
	-XAtq -c "$2"; }
# Servers are started by the emulated gs_ctl in sessions of their own: stop them at the end.
stop_all() {
	for n in 1 2 3; do
		t_as_postgres "$EMU/gs_ctl" stop -D "$TMP/n$n" -m immediate >/dev/null 2>&1 || true
	done
}
# The writer on the new primary during the rejoin, stopped by PID.
WRITER=""
stop_writer() {
	[ -n "$WRITER" ] || return 0
	kill "$WRITER" 2>/dev/null || true
	wait "$WRITER" 2>/dev/null || true
	WRITER=""
}
trap 'rc=$?; stop_writer; stop_all; set +e; (exit "$rc"); t_cleanup' EXIT
t_on_failure() {
	local n logf
	for f in boot clone2 rejoin; do
		[ -f "$TMP/$f.err" ] && { echo "---- $f.err (tail)"; tail -25 "$TMP/$f.err"; }
	done
	for n in 1 2 3; do
		echo "---- n$n og_emulator.log (tail)"
		tail -15 "$TMP/n$n/og_emulator.log" 2>/dev/null
		# The server's own log, where the emulated gs_ctl started it (-l, else its default).
		logf=$(sed -n 's/^log=//p' "$TMP/n$n/og_emulator.state" 2>/dev/null | tail -n 1)
		[ -n "$logf" ] || logf=$TMP/n$n/og_emulator_server.log
		echo "---- n$n server log $logf since its last start, each message once"
		tac "$logf" 2>/dev/null | sed '/starting PostgreSQL/q' | tac |
			awk '{ m = $0; sub(/^[^]]*] /, "", m); if (!(m in seen)) { seen[m] = 1; print } }' |
			tail -40
		echo "---- n$n pg_controldata"
		"$PG_BIN/pg_controldata" "$TMP/n$n" 2>/dev/null |
			grep -E 'cluster state|checkpoint location|Minimum recovery ending location'
	done
}
check() {
	local desc=$1
	shift
	if "$@"; then t_pass "$desc"; else t_fail "$desc"; fi
}
test_role() { [ "$(st "$1" role)" = "$2" ]; }
streams_from() { # node, upstream node
	local out
	out=$(node "$1" status)
	grep -qx "replication_state=streaming" <<<"$out" &&
		grep -qx "upstream=127.0.0.1:$(port_of "$2")" <<<"$out"
}
has_rows() { [ "$(sql "$1" 'SELECT string_agg(x::text, $$,$$ ORDER BY x) FROM t')" = "$2" ]; }
og_role() { sql "$1" "SELECT local_role FROM pg_stat_get_stream_replications()"; }

# --- bootstrap of one node alone: gs_initdb, start -M pending, notify -M primary -T 1 ------------
# Without other members n1 has no replconninfo entry and turns Normal (2.2): notify -w exits 1,
# and the driver accepts what it reads back.
MEMBERS=(--member "$(peer 1)")
node 1 --superuser 'postgres:Gsha@2024x' --verbose bootstrap >/dev/null 2>"$TMP/boot.err" ||
	{ cat "$TMP/boot.err" >&2; t_fail "bootstrap n1"; }
t_assert_eq primary "$(st 1 role)" "bootstrap alone: n1 runs as primary"
t_assert_eq Normal "$(og_role 1)" "bootstrap alone: the server reports Normal (2.2)"
check "bootstrap alone: status says Normal serves no standby" \
	grep -q "^detail=Normal: a primary that serves no standby" <(node 1 status)
check "bootstrap: the emulator log shows pending, then notify" \
	grep -q 'notify primary: promoting pending instance' "$TMP/n1/og_emulator.log"
check "bootstrap: notify carried -T 1" grep -q 'gs_ctl notify -D .* -M primary -T 1 ' \
	"$TMP/n1/og_emulator.log"
check "bootstrap: the superuser's password was set again under type 1 (2.10)" \
	grep -q "set the superuser's password again under password_encryption_type 1" "$TMP/boot.err"
check "bootstrap: password_reuse_time 0 lets the same password through (2.10)" \
	grep -q "gs_guc set: password_reuse_time = '0'" "$TMP/n1/og_emulator.log"

# --- the members join: replconninfo is written and Normal becomes Primary (notify -T 1) ----------
MEMBERS=(--member "$(peer 1)" --member "$(peer 2)" --member "$(peer 3)")
node 1 status >/dev/null
t_assert_eq Primary "$(og_role 1)" "members joined: n1 is a Primary that serves standbys (2.2)"
t_assert_eq 1 "$(st 1 term)" "members joined: n1 keeps term 1"
t_assert_eq 2 "$(sql 1 'SELECT static_connections FROM pg_stat_get_stream_replications()')" \
	"members joined: replconninfo lists the two other members"
t_assert_eq "" "$(sql 1 'SHOW synchronous_standby_names')" \
	"bootstrap: the blocking '*' default is overwritten (2.9)"
check "bootstrap: a commit does not block without standbys" \
	timeout 20 runuser -u postgres -- "$PG_BIN/psql" -h "$TMP" -p "$P1" -U postgres -d postgres \
	-XAtq -c "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"

# --- clone two replicas: gs_initdb + gs_ctl build -b full ---------------------------------------
for n in 2 3; do
	node "$n" --term 1 --verbose clone "$(peer 1)" >/dev/null 2>"$TMP/clone$n.err" || {
		cat "$TMP/clone$n.err" >&2
		t_fail "clone n$n"
	}
	t_wait_for 60 "n$n streaming from n1" streams_from "$n" 1
	t_pass "clone: n$n was built in full and streams from n1"
done
check "clone: the driver ran gs_ctl build -b full" grep -q "gs_ctl build: full build" \
	"$TMP/clone2.err"
check "clone: the build carried -T 1 (2.5)" grep -q "gs_ctl build -D .* -b full .*-T 1" \
	"$TMP/n2/og_emulator.log"
t_wait_for 30 "n1 sees two standbys" test "$(st 1 standbys)" = 2
t_pass "status: n1 lists two attached standbys from openGauss's pg_stat_replication"
t_wait_for 30 "row 1 on n3" has_rows 3 1
node 1 status | grep -q "^standby.n2=streaming,async," || t_fail "standby row of n2"
t_pass "status: standby rows carry application_name, state and sync state"

# --- promote n2 (failover -T 2) while n1 still writes: n1 diverges -----------------------------
caught_up() { [ "$(st 2 replay_lsn)" = "$(st 1 flush_lsn)" ]; }
t_wait_for 30 "n2 replayed all of n1" caught_up
node 3 stop fast >/dev/null || t_fail "stop n3" # keeps n3 from taking n1's diverging row
node 2 --term 2 promote >/dev/null || t_fail "promote n2"
t_assert_eq primary "$(st 2 role)" "promote: n2 is primary"
t_assert_eq 2 "$(st 2 term)" "promote: gs_ctl failover -T 2 raised n2's term to 2"
sql 1 "INSERT INTO t VALUES (2)" # only on the old primary: the divergence the build must undo
sql 2 "INSERT INTO t VALUES (3)"

# --- kill -9 the old primary: crashed --------------------------------------------------------------
pm=$(head -1 "$TMP/n1/postmaster.pid")
kill -9 "$pm"
t_wait_for 10 "n1 pid $pm gone" sh -c "! kill -0 $pm"
t_assert_eq crashed "$(st 1 role)" "kill -9: n1 status says crashed"
t_assert_eq 0 "$(st 1 running)" "kill -9: n1 is not running"

# --- the other replica follows the new primary -----------------------------------------------------
node 3 start replica "$(peer 2)" >/dev/null || t_fail "start n3"
node 3 follow "$(peer 2)" >/dev/null || t_fail "n3 follow n2"
t_wait_for 60 "n3 streaming from n2" streams_from 3 2
t_pass "follow: n3 streams from the new primary n2"
t_assert_eq "specify_connection|127.0.0.1|$((P2 + 1))" "$(sql 3 'SELECT * FROM read_disable_conn_file()')" \
	"follow: n3 is pinned to n2's HA port with disable_conn (2.6, CM's lock2)"
t_wait_for 30 "n3 has rows 1,3" has_rows 3 "1,3"
t_wait_for 30 "n3 term 2" test "$(st 3 term)" = 2
t_pass "follow: n3 raised its term to 2 from the new primary's WAL"

# --- the old primary comes back as a stale primary with term 1 ----------------------------------------
# Restarted with gs_ctl start -M primary, as an operator or a script would (not through the
# driver: the emulator's pending + notify is a PostgreSQL promotion, whose new timeline would hide
# the divergence from pg_rewind, an emulator artefact).
t_as_postgres "$EMU/gs_ctl" start -D "$TMP/n1" -M primary >/dev/null 2>&1 || t_fail "start n1 as a stale primary"
t_assert_eq "Primary" "$(og_role 1)" "stale: n1 runs as Primary again"
t_assert_eq 1 "$(st 1 term)" "stale: n1 still has term 1"

# --- rewind the old primary: stopped first (build refuses a running Primary, 2.5), then gs_ctl
# build -b incremental -T 2, and see it stream again ---------------------------------------------------
# The new primary keeps writing meanwhile, as a primary does: pg_rewind then sets n1's minimum
# recovery point to n2's WAL position after its last copy, beyond the WAL it copied, and n1
# becomes consistent (takes connections) only from the stream, which its walreceiver must find
# through replconninfo before that (2.6).
sql 2 "CREATE TABLE w (x int)"
(
	trap - EXIT
	while :; do
		sql 2 "INSERT INTO w SELECT generate_series(1, 100)" >/dev/null 2>&1 || true
		sleep 0.05
	done
) &
WRITER=$!
node 1 --term 2 --verbose rejoin "$(peer 2)" >/dev/null 2>"$TMP/rejoin.err" || {
	cat "$TMP/rejoin.err" >&2
	t_fail "rejoin n1"
}
stop_writer
check "rejoin: the driver ran gs_ctl build -b incremental" \
	grep -q "gs_ctl build: incremental build" "$TMP/rejoin.err"
check "rejoin: the incremental build found the divergence" \
	grep -q "servers diverged at WAL location" "$TMP/rejoin.err"
check "rejoin: n1 was not rebuilt in full" test "$(grep -c 'full build' "$TMP/rejoin.err")" = 0
check "rejoin: the running Primary was stopped before the build" \
	grep -q "stopping the server, which runs as Primary, before gs_ctl build" "$TMP/rejoin.err"
check "rejoin: the build carried -T 2 (2.5)" \
	grep -q "gs_ctl build -D .* -b incremental .*-T 2" "$TMP/n1/og_emulator.log"
check "rejoin: the driver read the role back after the build" \
	grep -q "gs_ctl build: the server reports Standby" "$TMP/rejoin.err"
t_wait_for 60 "n1 streaming from n2" streams_from 1 2
t_pass "rejoin: n1 streams from n2"
t_wait_for 30 "n1 has rows 1,3" has_rows 1 "1,3"
t_pass "rejoin: the diverged row is gone and the new primary's row arrived"
w_rows() { sql "$1" "SELECT count(*) FROM w"; }
w_caught_up() { [ "$(w_rows 1)" = "$(w_rows 2)" ]; }
t_wait_for 30 "n1 has every row n2 wrote during the rejoin" w_caught_up
t_pass "rejoin: n1 has the $(w_rows 1) rows n2 wrote while it was rewound"
t_assert_eq Standby "$(og_role 1)" "rejoin: n1 reports Standby"
t_wait_for 30 "n2 sees two standbys" test "$(st 2 standbys)" = 2
t_pass "status: n2 lists n1 and n3 as standbys"

# --- a restart-only parameter change is a pending restart --------------------------------------------
EXTRA=(--param shared_buffers=24MB)
node 2 apply >/dev/null || t_fail "apply on n2"
t_assert_eq 1 "$(st 2 pending_restart)" "parameters: shared_buffers change is pending"
t_assert_eq shared_buffers "$(st 2 pending)" "parameters: the pending one is named"
t_assert_eq 16MB "$(sql 2 'SHOW shared_buffers')" "parameters: old value until restart"
node 2 restart fast >/dev/null || t_fail "restart n2"
t_assert_eq 0 "$(st 2 pending_restart)" "parameters: nothing pending after restart"
t_assert_eq 24MB "$(sql 2 'SHOW shared_buffers')" "parameters: new value after restart"
t_assert_eq primary "$(st 2 role)" "parameters: n2 restarted as primary (restart -M primary)"
EXTRA=()

# --- openGauss specifics -----------------------------------------------------------------------------
if node 3 stop smart >/dev/null 2>&1; then t_fail "smart stop accepted"; fi
t_pass "stop: smart is refused, openGauss has no smart shutdown (2.3)"
node 2 sync priority 1 n3 >/dev/null || t_fail "sync on n2"
t_assert_eq "FIRST 1 (n3)" "$(st 2 synchronous_standby_names)" "sync: FIRST 1 (n3) written"
sync_is() { node 2 status | grep -q "^standby.n3=streaming,sync,"; }
t_wait_for 30 "n3 becomes sync standby" sync_is
t_pass "sync: n3 is the synchronous standby"
# 2.6: on a host installed by openGauss's OM tools gs_guc rewrites or refuses
# synchronous_standby_names; the emulated gs_guc does not, so only the driver's warning shows.
mkdir -p "$TMP/omhome/bin"
: >"$TMP/omhome/bin/cluster_static_config"
out=$(GAUSSHOME="$TMP/omhome" node 2 sync priority 1 n3 2>&1 >/dev/null) || t_fail "sync on n2 with GAUSSHOME: $out"
grep -q "cluster_static_config exists" <<<"$out" || t_fail "no warning about the OM host: $out"
t_pass "sync: with \$GAUSSHOME/bin/cluster_static_config the driver warns that gs_guc rewrites synchronous_standby_names (2.6)"
t_assert_eq off "$(sql 2 "SELECT og_emulator.setting('most_available_sync')")" \
	"sync: most_available_sync is kept off, the server never degrades by itself (2.9)"
# The synchronous standby departs: commits wait for it until the agent's choice (here the tool's
# sync off, as the agent writes it after /sync) lets them go.
node 3 stop fast >/dev/null || t_fail "stop n3"
if timeout 5 runuser -u postgres -- "$PG_BIN/psql" -h "$TMP" -p "$P2" -U postgres -d postgres \
	-XAtq -c "INSERT INTO t VALUES (40)" >/dev/null 2>&1; then
	t_fail "a commit returned although the synchronous standby was gone"
fi
t_pass "sync: with the synchronous standby gone, a commit waits (strict until gsha degrades)"
node 2 sync off >/dev/null || t_fail "sync off on n2"
t_assert_eq "" "$(st 2 synchronous_standby_names)" "sync: off clears the setting"
check "sync: after degrading, a commit returns" timeout 20 runuser -u postgres -- \
	"$PG_BIN/psql" -h "$TMP" -p "$P2" -U postgres -d postgres -XAtq -c "INSERT INTO t VALUES (41)"
node 3 start replica "$(peer 2)" >/dev/null || t_fail "start n3 again"

for n in 1 3 2; do
	node "$n" stop fast >/dev/null || t_fail "stop n$n"
	t_assert_eq stopped "$(st "$n" role)" "stop: n$n stopped"
done
# pg_controldata while the servers are down (2.7 "Added").
t_assert_eq "shut down" "$(node 2 control | sed -n 's/^cluster_state=//p')" \
	"control: pg_controldata says the old primary n2 shut down"
t_assert_eq "shut down in recovery" "$(st 1 cluster_state)" \
	"control: status of the stopped standby n1 carries its cluster state"
# 2.1: a member on the same host at n1's port + 1 collides with n1's HA port (servers stopped:
# the list is only taken).
out=$(MEMBERS=(--member "$(peer 1)" --member "nx@127.0.0.1:$((P1 + 1))"); node 1 status 2>&1 >/dev/null)
grep -q 'member "nx" at 127.0.0.1:'"$((P1 + 1))"' collides' <<<"$out" || t_fail "no port collision warning: $out"
t_pass "members: a member on the same host at port + 1 is warned about (HA port, 2.1)"
t_done
