#!/usr/bin/env bash
# A custom bootstrap method (Patroni 4.1's bootstrap.method, patroni/postgresql/bootstrap.py:
# _custom_bootstrap) making a new cluster by point-in-time recovery on a live agent (real etcd,
# PostgreSQL 15). A source server (plain PostgreSQL, archiving its WAL) gets rows "before", a
# base backup, rows "kept", a restore point "pitr_here", then rows "after" and a WAL switch. The
# gsha cluster bootstraps with a method whose command copies that backup into --datadir and
# whose recovery_conf recovers from the archive to the restore point and promotes: its primary
# must hold "before" and "kept" and none of "after", with the recovery settings gone and
# hot_standby back on. post_bootstrap runs with Patroni's connection string argument; the
# replication user gsha creates lets a second node join as a streaming replica.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
scope="pitr$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
src="$(t_tmpdir)/source"
arch="$(t_tmpdir)/archive"
backup="$(t_tmpdir)/backup"
mkdir -p "$src" "$arch"
chown postgres:postgres "$src" "$arch"
chmod 700 "$src"
src_port=$(t_free_port)

stop_source() {
	[ -f "$src/data/postmaster.pid" ] || return 0
	t_as_postgres "$PG_BIN/pg_ctl" stop -D "$src/data" -m immediate -w -t 20 >/dev/null 2>&1
}
T_CLEANUP_HOOKS+=(stop_source)

spsql() {
	t_as_postgres "$PG_BIN/psql" -X -q -A -t -h "$src" -p "$src_port" -U postgres -d postgres \
		-v ON_ERROR_STOP=1 -c "$*"
}

# ---- the source: archive everything, then rows before and after a restore point
t_as_postgres "$PG_BIN/initdb" -D "$src/data" -U postgres -A trust >"$src/initdb.log" 2>&1 ||
	t_fail "initdb of the source failed: $(tail -3 "$src/initdb.log")"
# Archiving is set on the command line, so the backup's postgresql.conf does not archive.
t_as_postgres "$PG_BIN/pg_ctl" start -D "$src/data" -l "$src/server.log" -w -t 60 \
	-o "-p $src_port -k $src -c listen_addresses='' -c wal_level=replica -c archive_mode=on \
-c archive_command='cp %p $arch/%f'" >/dev/null || t_fail "the source did not start"
spsql "create table t(phase text, i int)" >/dev/null
spsql "insert into t select 'before', g from generate_series(1, 10) g" >/dev/null
t_as_postgres "$PG_BIN/pg_basebackup" -D "$backup" -h "$src" -p "$src_port" -U postgres \
	-X none -c fast >/dev/null 2>&1 || t_fail "pg_basebackup of the source failed"
spsql "insert into t select 'kept', g from generate_series(1, 10) g" >/dev/null
spsql "select pg_create_restore_point('pitr_here')" >/dev/null
spsql "insert into t select 'after', g from generate_series(1, 10) g" >/dev/null
seg=$(spsql "select pg_walfile_name(pg_current_wal_lsn())")
spsql "select pg_switch_wal()" >/dev/null
t_wait_for 30 "the source to archive $seg" test -f "$arch/$seg"
stop_source
t_pass "a base backup, and archived WAL with rows before and after the restore point"

# ---- the gsha cluster, bootstrapped from it
cat >"$C_DIR/restore.sh" <<SH
#!/bin/sh
# The bootstrap method: copies the base backup into --datadir.
echo "\$*" >>"$C_DIR/restore.args"
for a in "\$@"; do
	case "\$a" in --datadir=*) datadir=\${a#--datadir=} ;; esac
done
mkdir -p -m 700 "\$datadir" && cp -a "$backup/." "\$datadir/"
SH
cat >"$C_DIR/post.sh" <<SH
#!/bin/sh
# post_bootstrap: records its arguments and what it sees.
echo "\$*" >"$C_DIR/post.args"
echo "\$PGOPTIONS" >>"$C_DIR/post.args"
$PG_BIN/psql -X -A -t -d "\$1" -c "select count(*) from t" >>"$C_DIR/post.args"
SH
chmod 755 "$C_DIR"/*.sh
touch "$C_DIR/restore.args" "$C_DIR/post.args"
chown postgres:postgres "$C_DIR/restore.args" "$C_DIR/post.args"
chown -R postgres:postgres "$backup"

extra="bootstrap:
  method: pitr
  pitr:
    command: $C_DIR/restore.sh --from-backup
    keep_existing_recovery_conf: false
    source: nightly
    recovery_conf:
      restore_command: cp $arch/%f %p
      recovery_target_name: pitr_here
      recovery_target_action: promote
  post_bootstrap: $C_DIR/post.sh"
c_config node1
# The extra YAML lands under postgresql: put the bootstrap keys into the bootstrap section.
python3 - "$C_DIR/node1.yml" "$extra" <<'PY'
import sys
path, extra = sys.argv[1], sys.argv[2]
text = open(path).read()
lines = extra.split("\n")[1:]
text = text.replace("bootstrap:\n", "bootstrap:\n" + "\n".join(lines) + "\n", 1)
open(path, "w").write(text)
PY
c_config node2

t_on_failure() {
	for n in node1 node2; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
		echo "---- $n postmaster.log (tail)"
		tail -15 "$C_DIR/$n/data/postmaster.log" 2>/dev/null
	done
	echo "---- restore.args"; cat "$C_DIR/restore.args"
	echo "---- post.args"; cat "$C_DIR/post.args"
}

"$GSHA_BUILD_DIR/gsha" --validate-config "$C_DIR/node1.yml" >"$C_DIR/validate.out" 2>&1 ||
	t_fail "node1.yml does not validate: $(cat "$C_DIR/validate.out")"
grep -q '(0 warnings)' "$C_DIR/validate.out" ||
	t_fail "node1.yml validates with a warning: $(cat "$C_DIR/validate.out")"
t_pass "the custom bootstrap method and post_bootstrap validate without a warning"

leader_is() { [ "$(c_leader)" = "$1" ]; }
c_start node1
t_wait_for 120 "node1 to lead" leader_is node1
t_wait_for 60 "node1 to run as primary" c_running node1 primary
t_assert_eq "--from-backup --scope=$scope --datadir=$C_DIR/node1/data --source=nightly" \
	"$(cat "$C_DIR/restore.args")" "the method ran once with Patroni's --scope and --datadir"
t_assert_eq "before 10|kept 10" \
	"$(c_psql node1 "select phase || ' ' || count(*) from t group by phase order by 1" |
		paste -sd '|')" \
	"the new cluster holds the rows up to the restore point and none after it"
t_assert_eq "2" "$(c_psql node1 "select timeline_id from pg_control_checkpoint()")" \
	"the recovery ended in a promotion to timeline 2"
t_assert_eq "|on|false" "$(c_psql node1 "select current_setting('restore_command') || '|' ||
	current_setting('hot_standby') || '|' || pg_is_in_recovery()")" \
	"the recovery settings are gone and hot_standby is back on"
[ ! -e "$C_DIR/node1/data/recovery.signal" ] || t_fail "recovery.signal was left behind"
want_dsn="dbname=postgres user=postgres host=$C_DIR/node1 port=${C_PG_PORT[node1]}"
t_assert_eq "$want_dsn|-c synchronous_commit=local -c statement_timeout=0|20" \
	"$(paste -sd '|' "$C_DIR/post.args")" \
	"post_bootstrap ran with the connection string and PGOPTIONS, and saw the data"

c_start node2
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_assert_eq "20" "$(c_psql node2 "select count(*) from t")" \
	"a second node joins with the replication user created after the bootstrap"
t_done
