#!/usr/bin/env bash
# Checks the openGauss EMULATOR itself (tests/opengauss-emulator/, not openGauss) against the
# behaviours of shared/opengauss.md that gsha's openGauss driver relies on: pending + notify,
# failover -T with term fencing, standbys re-attaching to the new primary through replconninfo,
# build full/incremental, the text-returning SQL surface and the absent PostgreSQL 10+ names.
. "$(dirname "$0")/lib/common.sh"

E=$GSHA_SOURCE_DIR/tests/opengauss-emulator
R=$(t_tmpdir)
declare -a P=(0 "$(t_free_port)" "$(t_free_port)" "$(t_free_port)")

og() { t_as_postgres "$E/$@"; }
sql() { t_as_postgres "$PG_BIN/psql" -X -qAt -h "$R" -p "${P[$1]}" -d postgres -c "$2"; }
sees() { [ "$(sql "$1" "select count(*) from t where x = $2" 2>/dev/null)" = 1 ]; }
conninfo() {
	echo "localhost=127.0.0.1 localport=$((P[$1] + 1)) localheartbeatport=$((P[$1] + 5))" \
		"remotehost=127.0.0.1 remoteport=$((P[$2] + 1)) remoteheartbeatport=$((P[$2] + 5))"
}
stop_all() { for i in 1 2 3; do og gs_ctl stop -D "$R/d$i" -m immediate >/dev/null 2>&1 || true; done; }
trap 'rc=$?; stop_all; (exit $rc); t_cleanup' EXIT

for i in 1 2 3; do
	og gs_initdb -D "$R/d$i" --nodename="n$i" >/dev/null 2>&1
	args=(-c "port = ${P[$i]}" -c "listen_addresses = '127.0.0.1'" -c "unix_socket_directories = '$R'"
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

og gs_ctl start -D "$R/d1" -M pending -l "$R/d1.log" 2>/dev/null
t_assert_eq "Pending" "$(sql 1 'select local_role from pg_stat_get_stream_replications()')" \
	"started with -M pending, the role is Pending (2.2)"
og gs_ctl notify -D "$R/d1" -M primary -T 1 2>/dev/null
t_assert_eq "Primary|2|Normal|Normal" "$(sql 1 'select * from pg_stat_get_stream_replications()')" \
	"notify -M primary -T 1 makes it Primary (2.4)"
sql 1 "create table t(x int); insert into t values (1)" >/dev/null
og gs_ctl build -D "$R/d2" -b full -l "$R/d2.log" >/dev/null 2>&1
og gs_ctl build -D "$R/d3" -b full -l "$R/d3.log" >/dev/null 2>&1
t_wait_for 60 "two senders streaming" bash -c \
	"[ \"\$(runuser -u postgres -- $PG_BIN/psql -X -qAt -h $R -p ${P[1]} -d postgres -c \"select count(*) from pg_stat_get_wal_senders() where state = 'Streaming'\")\" = 2 ]"
t_pass "gs_ctl build -b full created two standbys that stream"
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

og gs_ctl build -D "$R/d1" -b incremental >/dev/null 2>&1
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

if og gs_ctl stop -D "$R/d2" -m smart >/dev/null 2>&1; then t_fail "smart stop accepted"; fi
t_pass "gs_ctl stop -m smart is refused (2.3)"
t_done
