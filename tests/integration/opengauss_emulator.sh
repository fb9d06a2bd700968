#!/usr/bin/env bash
# Checks the openGauss EMULATOR itself (tests/opengauss-emulator/, not openGauss) against the
# behaviours of shared/opengauss.md that gsha's openGauss driver relies on: pending + notify,
# failover -T with term fencing, standbys re-attaching to the new primary through replconninfo,
# build full/incremental, the text-returning SQL surface and the absent PostgreSQL 10+ names; and
# the corrections of opengauss.md's revision: Normal (2.2), gs_ctl's exit codes (2.4), build's
# refusal and -T (2.5), Need repair (2.7), gs_initdb's input rules (2.1).
. "$(dirname "$0")/lib/common.sh"

E=$GSHA_SOURCE_DIR/tests/opengauss-emulator
R=$(t_tmpdir)
declare -a P=(0 "$(t_free_port)" "$(t_free_port)" "$(t_free_port)" "$(t_free_port)")

og() { t_as_postgres "$E/$@"; }
sql() { t_as_postgres "$PG_BIN/psql" -X -qAt -h "$R" -p "${P[$1]}" -d postgres -c "$2"; }
sees() { [ "$(sql "$1" "select count(*) from t where x = $2" 2>/dev/null)" = 1 ]; }
conninfo() {
	echo "localhost=127.0.0.1 localport=$((P[$1] + 1)) localheartbeatport=$((P[$1] + 5))" \
		"remotehost=127.0.0.1 remoteport=$((P[$2] + 1)) remoteheartbeatport=$((P[$2] + 5))"
}
stop_all() { for i in 1 2 3 4; do og gs_ctl stop -D "$R/d$i" -m immediate >/dev/null 2>&1 || true; done; }
trap 'rc=$?; stop_all; set +e; (exit "$rc"); t_cleanup' EXIT

for i in 1 2 3; do
	og gs_initdb -D "$R/d$i" --nodename="n$i" >/dev/null 2>&1
	args=(-c "port = ${P[$i]}" -c "listen_addresses = '127.0.0.1'" -c "unix_socket_directory = '$R'"
		-c "application_name = 'n$i'" -c "synchronous_standby_names = ''" -c "most_available_sync = on")
	k=1
	for j in 1 2 3; do
		[ "$j" = "$i" ] && continue
		args+=(-c "replconninfo$k = '$(conninfo "$i" "$j")'")
		k=$((k + 1))
	done
	og gs_guc set -D "$R/d$i" "${args[@]}" >/dev/null 2>&1
done
t_pass "gs_initdb and gs_guc prepared three emulated instances"

if og gs_guc set -D "$R/d1" -c "unix_socket_directories = '$R'" >/dev/null 2>&1; then
	t_fail "gs_guc accepted unix_socket_directories"
fi
t_pass "unix_socket_directories does not exist, unix_socket_directory does (2.1)"

# 2.1: gs_initdb's node name and password rules.
if og gs_initdb -D "$R/bad1" --nodename=node-1 >/dev/null 2>&1; then t_fail "node name node-1 accepted"; fi
if og gs_initdb -D "$R/bad2" --nodename=Node1 >/dev/null 2>&1; then t_fail "node name Node1 accepted"; fi
t_pass "gs_initdb refuses the node names node-1 and Node1 (2.1)"
if og gs_initdb -D "$R/bad3" --nodename=n9 -U postgres -w postgres >/dev/null 2>&1; then
	t_fail "password equal to the user name accepted"
fi
if og gs_initdb -D "$R/bad4" --nodename=n9 -U postgres -w abcdefgh1 >/dev/null 2>&1; then
	t_fail "password with two character classes accepted"
fi
t_pass "gs_initdb refuses weak passwords (2.1)"

og gs_ctl start -D "$R/d1" -M pending -l "$R/d1.log" 2>/dev/null
t_assert_eq "Pending|2|Need repair|Connecting..." \
	"$(sql 1 'select * from pg_stat_get_stream_replications()')" \
	"started with -M pending, the role is Pending and the state Need repair (2.2, 2.7)"
og gs_ctl notify -D "$R/d1" -M primary -T 1 2>/dev/null
t_assert_eq "Primary|2|Normal|Normal" "$(sql 1 'select * from pg_stat_get_stream_replications()')" \
	"notify -M primary -T 1 makes it Primary (2.4)"
sql 1 "create table t(x int); insert into t values (1)" >/dev/null
og gs_ctl build -D "$R/d2" -b full -l "$R/d2.log" >/dev/null 2>&1
og gs_ctl build -D "$R/d3" -b full -l "$R/d3.log" >/dev/null 2>&1
t_wait_for 60 "two senders streaming" bash -c \
	"[ \"\$(runuser -u postgres -- $PG_BIN/psql -X -qAt -h $R -p ${P[1]} -d postgres -c \"select count(*) from pg_stat_get_wal_senders() where state = 'Streaming'\")\" = 2 ]"
t_pass "gs_ctl build -b full created two standbys that stream"
out=$(og gs_ctl start -D "$R/d2" -M primary 2>&1) || t_fail "start on a running standby exited non-zero: $out"
t_assert_eq Standby "$(sql 2 'select local_role from pg_stat_get_stream_replications()')" \
	"gs_ctl start -M primary on a running standby exits 0 and changes nothing (2.4)"
if og gs_ctl notify -D "$R/d1" -M primary -T 1 >/dev/null 2>&1; then t_fail "notify on a Primary exited 0"; fi
t_pass "gs_ctl notify on a Primary exits 1 (2.4)"
if out=$(og gs_ctl build -D "$R/d1" -b full 2>&1); then t_fail "build of a running primary exited 0"; fi
grep -q "The local server run as Primary,build cannot be executed." <<<"$out" ||
	t_fail "build refusal message: $out"
t_pass "gs_ctl build refuses a running Primary (2.5)"
# A standby that streams from no one cannot send the switchover request: gs_ctl times out.
streaming() { [ "$(sql "$1" 'select count(*) from pg_stat_get_wal_receiver()')" = "$2" ]; }
sql 2 "select disable_conn('prohibit_connection', '', 0)" >/dev/null
t_wait_for 20 "d2 to stop streaming" streaming 2 0
out=$(og gs_ctl switchover -D "$R/d2" -T 1 -w -t 2 2>&1) || t_fail "switchover timeout exited non-zero: $out"
grep -q "switchover timeout" <<<"$out" || t_fail "switchover output: $out"
t_assert_eq Standby "$(sql 2 'select local_role from pg_stat_get_stream_replications()')" \
	"gs_ctl switchover that times out exits 0, the role unchanged (2.4)"
sql 2 "select disable_conn('polling_connection', '', 0)" >/dev/null
t_wait_for 30 "d2 to stream again" streaming 2 1
out=$(og gs_ctl query -D "$R/d1" 2>&1 >/dev/null)
grep -q "sync_percent                   : 100%" <<<"$out" || t_fail "gs_ctl query lacks a sender row: $out"
t_pass "gs_ctl query prints the three blocks on stderr (2.7)"
lsn=$(sql 1 "select pg_current_xlog_location()")
[[ "$lsn" =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || t_fail "pg_current_xlog_location() gave \"$lsn\""
t_pass "pg_current_xlog_location() returns text X/X (2.7)"
if sql 1 "select pg_current_wal_lsn()" >/dev/null 2>&1; then t_fail "pg_current_wal_lsn() exists"; fi
t_pass "pg_current_wal_lsn() does not exist, as on openGauss (2.7)"

og gs_ctl stop -D "$R/d1" -m immediate >/dev/null 2>&1
og gs_ctl failover -D "$R/d2" -T 2 -w -t 60 2>/dev/null
t_assert_eq "2" "$(sql 2 'select term from pg_last_xlog_replay_location()')" \
	"failover -T 2 raises the term to 2 (2.8)"
sql 2 "insert into t values (2)" >/dev/null
t_wait_for 60 "the other standby follows the new primary" sees 3 2
t_pass "the surviving standby re-attached to the promoted node by itself (2.6)"
t_wait_for 30 "term 2 replicated" bash -c \
	"[ \"\$(runuser -u postgres -- $PG_BIN/psql -X -qAt -h $R -p ${P[3]} -d postgres -c 'select term from pg_last_xlog_replay_location()')\" = 2 ]"
t_pass "the standby raised its term to 2 from WAL (2.8)"

# 2.5: a stale old primary listed first (replconninfo1 of d3 is d1) is the source unless -T
# fences it.
og gs_ctl start -D "$R/d1" -M primary -l "$R/d1.log" 2>/dev/null
t_assert_eq "Primary|1" "$(sql 1 'select s.local_role || $$|$$ || t.term
	from pg_stat_get_stream_replications() s, pg_last_xlog_replay_location() t')" \
	"the old primary returns as a Primary with term 1"
og gs_ctl stop -D "$R/d3" -m fast >/dev/null 2>&1
out=$(og gs_ctl build -D "$R/d3" -b full -T 2 -l "$R/d3.log" 2>&1) || t_fail "build -T 2 of d3: $out"
grep -q "full build from 127.0.0.1:${P[2]}" <<<"$out" || t_fail "build -T 2 chose: $out"
t_pass "gs_ctl build -T 2 skips the term-1 old primary listed first and copies from the new one (2.5)"
t_wait_for 60 "the rebuilt d3 streams from d2" sees 3 2
og gs_ctl stop -D "$R/d1" -m fast >/dev/null 2>&1
og gs_ctl build -D "$R/d1" -b incremental -T 2 >/dev/null 2>&1
t_wait_for 60 "the rebuilt old primary streams" sees 1 2
t_assert_eq "Standby" "$(sql 1 'select local_role from pg_stat_get_stream_replications()')" \
	"gs_ctl build -b incremental turned the old primary into a standby (2.5)"

# Term fencing: a standby whose term is 3 refuses the primary with term 2 (2.8).
og gs_ctl stop -D "$R/d3" -m fast >/dev/null 2>&1
printf '\x03\x00\x00\x00' >"$R/d3/term_file"
og gs_ctl start -D "$R/d3" -M standby -l "$R/d3.log" 2>/dev/null
sql 2 "insert into t values (3)" >/dev/null
t_wait_for 30 "the fenced standby logs its refusal" grep -q "refusing primary" "$R/d3/og_emulator.log"
if sees 3 3; then t_fail "a standby with a higher term followed a lower-term primary"; fi
t_pass "a standby with term 3 refuses the term-2 primary (2.8)"

# 2.6: disable_conn freezes a standby (prohibit_connection) and pins it (specify_connection).
sql 1 "select disable_conn('prohibit_connection', '', 0)" >/dev/null
# Stopped streaming, and not only between two attempts: the emulator has taken the upstream away
# (its walreceiver file names none), so PostgreSQL's retry cannot reconnect to d2.
# The file is written, then the server reloaded: until the reload is applied PostgreSQL may still
# reconnect with the old primary_conninfo (a CI run saw d1 receive the next row), so the
# server's own setting must be empty too.
prohibited() {
	streaming 1 0 && ! grep -q '^primary_conninfo' "$R/d1/og_emulator_walreceiver.conf" 2>/dev/null &&
		[ -z "$(sql 1 'show primary_conninfo')" ] && streaming 1 0
}
t_wait_for 20 "d1 to stop streaming and follow no one" prohibited
sql 2 "insert into t values (4)" >/dev/null
sleep 3
if sees 1 4; then t_fail "a prohibited standby received a new row"; fi
t_pass "disable_conn('prohibit_connection') stops the standby following anyone (2.6)"
sql 1 "select disable_conn('specify_connection', '127.0.0.1', $((P[2] + 1)))" >/dev/null
t_wait_for 30 "the pinned d1 to receive row 4" sees 1 4
t_assert_eq "specify_connection|127.0.0.1|$((P[2] + 1))" "$(sql 1 'select * from read_disable_conn_file()')" \
	"disable_conn('specify_connection') pins the standby to the given HA port (2.6)"
sql 1 "select disable_conn('polling_connection', '', 0)" >/dev/null

# 2.4: gs_ctl switchover on the standby d1: the primary d2 ends its sessions, ships every record
# and comes back as a Standby; d1 promotes with the term given. A row committed on d2 just
# before is on d1.
sql 2 "insert into t values (5)" >/dev/null
og gs_ctl switchover -D "$R/d1" -T 3 -w -t 60 2>/dev/null || t_fail "gs_ctl switchover exited non-zero"
t_assert_eq "Primary|3" "$(sql 1 'select s.local_role || $$|$$ || t.term
	from pg_stat_get_stream_replications() s, pg_last_xlog_replay_location() t')" \
	"gs_ctl switchover -T 3 on a streaming standby makes it Primary with term 3 (2.4)"
sees 1 5 || t_fail "the row committed on the old primary before the switchover is missing"
t_pass "the row committed on the old primary just before the switchover is on the new one (2.4)"
old_is_standby() { [ "$(sql 2 'select local_role from pg_stat_get_stream_replications()' 2>/dev/null)" = Standby ]; }
t_wait_for 60 "the old primary d2 to come back as a Standby" old_is_standby
sql 1 "insert into t values (6)" >/dev/null
t_wait_for 60 "the old primary to stream from the new one" sees 2 6
t_pass "the old primary is a Standby of the new one after the switchover (2.4)"

# 2.2: a primary without replconninfo turns Normal; notify -w then exits 1, failover refuses
# it, and it leaves Normal once an entry exists and notify -M primary is sent.
og gs_initdb -D "$R/d4" --nodename=n4 -U postgres -w 'Gauss@123' >/dev/null 2>&1 ||
	t_fail "gs_initdb with a valid password"
og gs_guc set -D "$R/d4" -c "port = ${P[4]}" -c "listen_addresses = '127.0.0.1'" \
	-c "unix_socket_directory = '$R'" -c "synchronous_standby_names = ''" >/dev/null 2>&1
og gs_ctl start -D "$R/d4" -M primary -l "$R/d4.log" 2>/dev/null
normal4() { [ "$(sql 4 'select local_role from pg_stat_get_stream_replications()')" = Normal ]; }
t_wait_for 10 "d4 reports Normal" normal4
sql 4 "create table w(x int); insert into w values (1)" >/dev/null || t_fail "Normal is not writable"
t_pass "a primary started without replconninfo is Normal and writable (2.2)"
if out=$(og gs_ctl notify -D "$R/d4" -M primary -T 1 -w -t 3 2>&1); then t_fail "notify on Normal without entries exited 0"; fi
grep -q "current is Normal" <<<"$out" || t_fail "notify output: $out"
t_pass "notify -M primary -w on Normal without entries exits 1, current is Normal (2.2)"
if og gs_ctl failover -D "$R/d4" -T 1 -w -t 3 >/dev/null 2>&1; then t_fail "failover on Normal exited 0"; fi
t_pass "gs_ctl failover refuses a Normal instance (2.4)"
og gs_guc reload -D "$R/d4" -c "replconninfo1 = '$(conninfo 4 1)'" >/dev/null 2>&1
sleep 1
t_assert_eq Normal "$(sql 4 'select local_role from pg_stat_get_stream_replications()')" \
	"an entry added later leaves the node Normal (2.2)"
og gs_ctl notify -D "$R/d4" -M primary -T 3 -w -t 10 2>/dev/null || t_fail "notify Normal with an entry"
t_assert_eq "Primary|3" "$(sql 4 'select s.local_role || $$|$$ || t.term
	from pg_stat_get_stream_replications() s, pg_last_xlog_replay_location() t')" \
	"notify -M primary -T 3 turns Normal with an entry into Primary with term 3 (2.2)"
og gs_ctl stop -D "$R/d4" -m fast >/dev/null 2>&1

if og gs_ctl stop -D "$R/d2" -m smart >/dev/null 2>&1; then t_fail "smart stop accepted"; fi
t_pass "gs_ctl stop -m smart is refused (2.3)"
t_done
