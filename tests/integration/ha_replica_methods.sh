#!/usr/bin/env bash
# Custom replica creation methods and recovery_conf on a live cluster (real etcd, PostgreSQL 15),
# with Patroni 4.1's semantics (patroni/postgresql/bootstrap.py: create_replica).
# node1 bootstraps and leads. node2 lists [broken, custom, basebackup]: "broken" records its
# arguments, leaves a file in the data directory and exits 1; gsha must empty the directory and
# fall back to "custom", which records its arguments, runs pg_basebackup itself with the
# --connstring it was given and leaves a marker: node2 must come up as a streaming replica made
# by "custom" (marker present, pg_basebackup's "basebackup" not used), with postgresql.
# recovery_conf's restore_command in effect. node3 lists [picky, basebackup] with picky's
# no_params and keep_data: it gets only its own option, its file survives the failed attempt
# until basebackup (which always empties the directory) makes the replica. node4 lists
# [basebackup, custom] with a pg_basebackup option that fails: basebackup is tried twice, 5 s
# apart, as Patroni does, then custom makes the replica. Last, with every agent stopped and no
# leader, node5's no_leader method "restore" copies a backup (Patroni's "bootstrap (without
# leader)", with an empty --connstring) and node5 takes over as the leader.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
scope="rm$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
chmod o+rx "$(t_tmpdir)"

cat >"$C_DIR/broken.sh" <<'SH'
#!/bin/sh
# A replica method that fails after writing into the data directory.
echo "$*" >>"$(dirname "$0")/broken.args"
for a in "$@"; do
	case "$a" in --datadir=*) mkdir -p -m 700 "${a#--datadir=}" && echo junk >"${a#--datadir=}/junk" ;; esac
done
exit 1
SH
cat >"$C_DIR/custom.sh" <<'SH'
#!/bin/sh
# A replica method that copies the source itself with pg_basebackup.
echo "$*" >>"$(dirname "$0")/custom.args"
for a in "$@"; do
	case "$a" in
	--datadir=*) datadir=${a#--datadir=} ;;
	--connstring=*) connstring=${a#--connstring=} ;;
	esac
done
[ -z "$(ls -A "$datadir" 2>/dev/null)" ] || { echo "data directory not empty" >&2; exit 3; }
/usr/lib/postgresql/15/bin/pg_basebackup -D "$datadir" -d "$connstring" -X stream || exit 2
echo "made by custom.sh" >"$datadir/custom_marker"
SH
cat >"$C_DIR/picky.sh" <<'SH'
#!/bin/sh
# A no_params, keep_data method: records its arguments and what it found, then fails.
echo "$*" >>"$(dirname "$0")/picky.args"
exit 1
SH
cat >"$C_DIR/restore.sh" <<'SH'
#!/bin/sh
# A no_leader method: restores the backup in $(dirname $0)/backup into --datadir.
echo "$*" >>"$(dirname "$0")/restore.args"
for a in "$@"; do
	case "$a" in --datadir=*) datadir=${a#--datadir=} ;; esac
done
mkdir -p -m 700 "$datadir" && cp -a "$(dirname "$0")/backup/." "$datadir/"
SH
chmod 755 "$C_DIR"/*.sh
for f in broken custom picky restore; do
	touch "$C_DIR/$f.args"
	chown postgres:postgres "$C_DIR/$f.args"
done
mkdir -p "$C_DIR/archive"
chown postgres:postgres "$C_DIR/archive"

c_config node1
c_config node2 "  create_replica_methods:
  - broken
  - custom
  - basebackup
  broken:
    command: $C_DIR/broken.sh --first
  custom:
    command: $C_DIR/custom.sh
    label: 'two words'
    keep_data: false
  recovery_conf:
    restore_command: 'cp $C_DIR/archive/%f %p'
    recovery_target_time: '2000-01-01 00:00:00'"
c_config node4 "  create_replica_methods: [basebackup, custom]
  basebackup:
  - checkpoint: bogus
  custom:
    command: $C_DIR/custom.sh"
c_config node5 "  create_replica_methods: [basebackup, restore]
  restore:
    command: $C_DIR/restore.sh
    no_leader: true"
c_config node3 "  create_replica_methods: [picky, basebackup]
  picky:
    command: $C_DIR/picky.sh
    no_params: true
    keep_data: true
    stanza: main"

t_on_failure() {
	for n in node1 node2 node3 node4 node5; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
		echo "---- $n postmaster.log (tail)"
		tail -15 "$C_DIR/$n/data/postmaster.log" 2>/dev/null
	done
	for f in broken custom picky restore; do
		echo "---- $f.args"
		cat "$C_DIR/$f.args"
	done
}

for n in node2 node3; do
	"$GSHA_BUILD_DIR/gsha" --validate-config "$C_DIR/$n.yml" >"$C_DIR/validate.out" 2>&1 ||
		t_fail "$n.yml does not validate: $(cat "$C_DIR/validate.out")"
	if ! grep -q '(0 warnings)' "$C_DIR/validate.out"; then
		t_fail "$n.yml validates with a warning: $(cat "$C_DIR/validate.out")"
	fi
done
t_pass "replica methods and recovery_conf validate without a warning"

leader_is() { [ "$(c_leader)" = "$1" ]; }
c_start node1
t_wait_for 60 "node1 to lead" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
c_psql node1 "create table t(i int); insert into t values (1)" >/dev/null ||
	t_fail "could not write on node1"

# ---- node2: broken fails, custom makes the replica
c_start node2
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
port1=${C_PG_PORT[node1]}
want="--scope=$scope --role=replica --datadir=$C_DIR/node2/data"
want="$want --connstring=dbname=postgres user=replicator host=127.0.0.1 port=$port1"
t_assert_eq "--first $want" "$(head -1 "$C_DIR/broken.args")" \
	"broken ran first with Patroni's arguments"
t_assert_eq "--label=two words --keep_data=False $want" "$(head -1 "$C_DIR/custom.args")" \
	"custom got its options as --key=value (booleans as Python writes them) and Patroni's"
t_assert_eq 1 "$(wc -l <"$C_DIR/custom.args")" "custom ran once"
[ -f "$C_DIR/node2/data/custom_marker" ] || t_fail "node2 was not made by custom.sh"
[ ! -e "$C_DIR/node2/data/junk" ] || t_fail "broken's file was left in node2's data directory"
t_pass "node2 was made by the custom method after the failing one was cleaned away"
grep -q 'replica method "broken" failed' "$C_DIR/node2.log" ||
	t_fail "the failed method was not logged"
grep -q 'replica has been created using custom' "$C_DIR/node2.log" ||
	t_fail "the method that made the replica was not logged"
if grep -q 'pg_basebackup' <(grep -i 'running\|created using' "$C_DIR/node2.log"); then
	t_fail "node2 also ran the built-in basebackup"
fi
t_pass "the fallback and the method used are logged"
t_assert_eq "cp $C_DIR/archive/%f %p" "$(c_psql node2 "show restore_command")" \
	"postgresql.recovery_conf's restore_command is in effect on the replica"
t_assert_eq "" "$(c_psql node2 "show recovery_target_time")" \
	"recovery_conf's recovery target is not applied to a replica (Patroni drops them)"
c_psql node1 "insert into t values (2)" >/dev/null
t_wait_for 30 "node2 to replay the new row" \
	sh -c "[ \"\$(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -A -t \
		-h $C_DIR/node2 -p ${C_PG_PORT[node2]} -U postgres -d postgres \
		-c 'select count(*) from t')\" = 2 ]"
t_pass "node2 streams from node1"

# ---- node3: picky gets only its own option, fails, basebackup makes the replica
mkdir -p "$C_DIR/node3/data"
echo kept >"$C_DIR/node3/data/keepme"
chown -R postgres:postgres "$C_DIR/node3/data"
chmod 700 "$C_DIR/node3/data"
c_start node3
t_wait_for 90 "node3 to run as a replica" c_running node3 replica
t_assert_eq "--stanza=main" "$(head -1 "$C_DIR/picky.args")" \
	"no_params: the method got its own option alone"
grep -q 'replica method "picky" failed' "$C_DIR/node3.log" || t_fail "picky's failure not logged"
grep -q 'replica has been created using basebackup' "$C_DIR/node3.log" ||
	t_fail "node3 was not made by basebackup"
[ ! -e "$C_DIR/node3/data/keepme" ] || t_fail "basebackup left an old file behind"
t_pass "a failing keep_data method falls back to basebackup, which starts from an empty directory"

# ---- node4: basebackup fails twice, 5 s apart (Patroni's two tries), then custom makes it
c_start node4
t_wait_for 120 "node4 to run as a replica" c_running node4 replica
t_assert_eq 1 "$(grep -c 'trying again in 5 seconds' "$C_DIR/node4.log")" \
	"pg_basebackup was tried a second time after 5 s"
grep -q 'replica method "basebackup" failed' "$C_DIR/node4.log" ||
	t_fail "basebackup's failure was not logged"
grep -q 'replica has been created using custom' "$C_DIR/node4.log" ||
	t_fail "node4 was not made by custom"
[ -f "$C_DIR/node4/data/custom_marker" ] || t_fail "node4 has no marker of custom.sh"
t_pass "basebackup fails over to the next method after its second try"

# ---- node5: no leader at all, a no_leader method restores a backup (Patroni's "bootstrap
# (without leader)"), and the restored node takes over as the leader
t_as_postgres "$PG_BIN/pg_basebackup" -D "$C_DIR/backup" -h 127.0.0.1 -p "${C_PG_PORT[node1]}" \
	-U replicator -X stream >/dev/null 2>&1 || t_fail "could not back node1 up"
for n in node4 node3 node2 node1; do
	c_kill "$n"
done
c_stop_databases
t_wait_for 30 "the leader key to go" sh -c "[ -z \"\$(ETCDCTL_API=3 etcdctl --endpoints=$C_ETCD \
	get --print-value-only /service/$scope/leader)\" ]"
c_start node5
t_wait_for 120 "node5 to lead" leader_is node5
t_wait_for 60 "node5 to run as primary" c_running node5 primary
t_assert_eq "--no_leader=True --scope=$scope --role=replica --datadir=$C_DIR/node5/data --connstring=" \
	"$(head -1 "$C_DIR/restore.args")" "the no_leader method ran with an empty --connstring"
grep -q 'bootstrap (without leader)' "$C_DIR/node5.log" || t_fail "node5 did not say why it cloned"
t_assert_eq 2 "$(c_psql node5 "select count(*) from t")" "node5 holds the restored rows"
t_pass "without a leader, a no_leader method restores the cluster and the node takes over"

t_done
