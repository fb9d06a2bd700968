#!/usr/bin/env bash
# gsha --validate-config on Patroni's own example files (accepted unchanged), on gsha's example,
# and on broken files (rejected with file:line:column messages); plus start-up from the
# environment alone. Needs only the gsha binary: no etcd or PostgreSQL.
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

gsha=$GSHA_BUILD_DIR/gsha
examples=$GSHA_SOURCE_DIR/config/examples
dir=$(t_tmpdir)

# Runs gsha with a clean environment plus the given NAME=value words; output in $out, exit in $rc.
run() {
	local envs=()
	while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
		envs+=("$1")
		shift
	done
	set +e
	out=$(env -i PATH="$PATH" "${envs[@]}" "$gsha" "$@" 2>&1)
	rc=$?
	set -e
}

expect_line() { # expect_line FIXED_STRING DESCRIPTION
	if grep -qF -- "$1" <<<"$out"; then
		t_pass "$2"
	else
		echo "$out" >&2
		t_fail "$2: no line containing: $1"
	fi
}

# Patroni's own example files, the real ones, unchanged: those of the Debian package patroni
# (3.0.2, installed by scripts/install-deps; gsha does not carry Patroni's files). Accepted, and
# each key gsha does not act on is named (bootstrap.users creates an admin user; postgres2
# replicates from postgresql1). Patroni 4.1's files: scripts/validate-patroni-examples.
debian=/usr/share/doc/patroni/examples
for n in 0 1 2; do
	if [ -f "$debian/postgres$n.yml.gz" ]; then
		zcat "$debian/postgres$n.yml.gz" >"$dir/postgres$n.yml"
	else
		cp "$debian/postgres$n.yml" "$dir/postgres$n.yml" ||
			t_fail "the patroni package's examples are missing: run scripts/install-deps"
	fi
done
for f in "$dir"/postgres0.yml "$dir"/postgres1.yml "$dir"/postgres2.yml; do
	run --validate-config "$f"
	t_assert_eq 0 "$rc" "Patroni's $(basename "$f") is accepted"
	expect_line ": warning: \"bootstrap.users\": Patroni setting that gsha does not implement yet" \
		"$(basename "$f"): bootstrap.users is warned about"
done
# postgres2.yml cascades from postgresql1 (tags.replicatefrom): gsha acts on it, so only
# bootstrap.users is warned about.
expect_line "$dir/postgres2.yml: configuration is valid (1 warning)" "postgres2.yml: one warning"
# gsha's own examples, derived from them.
for f in "$examples"/postgres0.yml "$examples"/postgres1.yml "$examples"/postgres2.yml; do
	run --validate-config "$f"
	t_assert_eq 0 "$rc" "gsha's example $(basename "$f") is accepted"
done

# Files with the keys of Patroni 4.1's examples (postgres0/1/2.yml), written here: gsha carries
# no copy of Patroni's files, and CI cannot fetch them. The real files are checked from a
# Patroni checkout by scripts/validate-patroni-examples.
p4_file() { # p4_file N REST_PORT PG_PORT EXTRA_POSTGRESQL EXTRA_RESTAPI TAGS
	cat <<-EOF
		scope: batman
		name: postgresql$1
		restapi:
		  listen: 127.0.0.1:$2
		  connect_address: 127.0.0.1:$2
		$5
		etcd:
		  host: 127.0.0.1:2379
		bootstrap:
		  dcs:
		    ttl: 30
		    loop_wait: 10
		    retry_timeout: 10
		    maximum_lag_on_failover: 1048576
		    postgresql:
		      use_pg_rewind: true
		      pg_hba:
		      - host replication replicator 127.0.0.1/32 md5
		      - host all all 0.0.0.0/0 md5
		  initdb:
		  - encoding: UTF8
		  - data-checksums
		postgresql:
		  listen: 127.0.0.1:$3
		  connect_address: 127.0.0.1:$3
		  data_dir: data/postgresql$1
		  pgpass: /tmp/pgpass$1
		  authentication:
		    replication:
		      username: replicator
		      password: rep-pass
		    superuser:
		      username: postgres
		      password: patroni
		    rewind:
		      username: rewind_user
		      password: rewind_password
		  parameters:
		    unix_socket_directories: '..'
		$4
		tags:
		    noloadbalance: false
		    clonefrom: false
		$6
	EOF
}
p4_file 0 8008 5432 "" "" "    nostream: false" >"$dir/p4_postgres0.yml"
p4_file 1 8009 5433 "  basebackup:
      - verbose
      - max-rate: 100M" "" "" >"$dir/p4_postgres1.yml"
p4_file 2 8010 5434 "" "  authentication:
    username: username
    password: password" "" >"$dir/p4_postgres2.yml"
for n in 0 1 2; do
	run --validate-config "$dir/p4_postgres$n.yml"
	t_assert_eq 0 "$rc" "the keys of Patroni 4.1's postgres$n.yml are accepted"
	expect_line "$dir/p4_postgres$n.yml: configuration is valid (0 warnings)" \
		"the keys of Patroni 4.1's postgres$n.yml raise no warning"
done

# Patroni 4 keys: the JSON log layout works; the rest are named once each and ignored.
sed -e 's/^name: postgresql0/name: postgresql0\nthread_pool_size: 5\nlog:\n  type: json\n  format:\n  - message\n  - asctime: "@timestamp"\n  - levelname: level\n  static_fields:\n    app: patroni/' \
	-e 's/^  connect_address: 127.0.0.1:8008/  connect_address: 127.0.0.1:8008\n  thread_pool_size: 10/' \
	-e 's/^    ttl: 30/    ttl: 30\n    primary_race_backoff: 5/' "$dir/p4_postgres0.yml" >"$dir/p4_keys.yml"
run --validate-config "$dir/p4_keys.yml"
t_assert_eq 0 "$rc" "a configuration with Patroni 4 keys is accepted"
expect_line "$dir/p4_keys.yml:3:1: warning: \"thread_pool_size\": Patroni setting that gsha does not implement yet" \
	"thread_pool_size is warned about at its position"
expect_line "warning: \"restapi.thread_pool_size\": Patroni setting that gsha does not implement yet" \
	"restapi.thread_pool_size is warned about"
expect_line "warning: \"bootstrap.dcs.primary_race_backoff\": Patroni setting that gsha does not implement yet" \
	"primary_race_backoff is warned about"
expect_line "$dir/p4_keys.yml: configuration is valid (3 warnings)" \
	"log.format as a list and log.static_fields raise no warning"

# Keys Patroni's examples leave commented out: each one gsha cannot act on is named, and a
# watchdog it cannot honour is refused.
sed -e 's/^  connect_address: 127.0.0.1:5432/  connect_address: 127.0.0.1:5432\n  pre_promote: \/path\/to\/pre_promote.sh\n  proxy_address: 127.0.0.1:5433\n  callbacks:\n    on_role_change: \/bin\/true\n  recovery_conf:\n    restore_command: cp ..\/wal_archive\/%f %p/' \
	-e 's/^  initdb:/  post_init: \/usr\/local\/bin\/setup_cluster.sh\n  initdb:/' \
	-e 's/^    nostream: false/    nostream: true\n    sync_priority: 0\n    replicatefrom: postgresql1/' \
	"$dir/p4_postgres0.yml" >"$dir/p4_commented.yml"
run --validate-config "$dir/p4_commented.yml"
t_assert_eq 0 "$rc" "Patroni 4.1's commented keys are accepted"
for key in postgresql.proxy_address; do
	expect_line "warning: \"$key\": Patroni setting that gsha does not implement yet" \
		"$key is warned about"
done
for key in postgresql.callbacks.on_role_change postgresql.recovery_conf bootstrap.post_init \
	tags.nostream tags.replicatefrom tags.sync_priority; do
	if grep -qF "\"$key\"" <<<"$out"; then
		echo "$out" >&2
		t_fail "$key is reported although gsha acts on it"
	fi
done
t_pass "callbacks, recovery_conf, post_init, nostream, replicatefrom and sync_priority are accepted without a warning: gsha acts on them"
# The watchdog (docs/timing.md, "Watchdog"): "required" is accepted, as by Patroni's
# --validate-config, which does not open the device either (the agent does, when it leads); a
# timing the device cannot keep is refused: ttl 30 - safety_margin 29 = 1 s, under loop_wait 10.
printf 'watchdog:\n  mode: required\n  device: /dev/watchdog\n' | cat "$dir/p4_postgres0.yml" - >"$dir/p4_watchdog.yml"
run --validate-config "$dir/p4_watchdog.yml"
t_assert_eq 0 "$rc" "watchdog mode required with ttl 30 and the default safety_margin is accepted"
printf 'watchdog:\n  mode: required\n  device: /dev/watchdog\n  safety_margin: 29\n' |
	cat "$dir/p4_postgres0.yml" - >"$dir/p4_watchdog_short.yml"
run --validate-config "$dir/p4_watchdog_short.yml"
t_assert_eq 1 "$rc" "watchdog mode required with a 1 s timeout under loop_wait 10 is refused"
expect_line "error: \"watchdog.safety_margin\": the watchdog timeout 1 s is shorter than loop_wait" \
	"the refused watchdog timing says why"

run --validate-config "$GSHA_SOURCE_DIR/config/gsha.example.yml"
t_assert_eq 0 "$rc" "gsha.example.yml is accepted"
expect_line "configuration is valid (0 warnings)" "gsha.example.yml has no warnings"

# Uncommenting Patroni-only sections gives one warning each and still validates.
sed -e 's/^#citus:/citus:/' -e 's/^#  database: citus/  database: citus/' \
	-e 's/^#  group: 0  # coordinator/  group: 0/' "$examples/postgres0.yml" >"$dir/citus.yml"
run --validate-config "$dir/citus.yml"
t_assert_eq 0 "$rc" "a Patroni-only section is accepted"
expect_line "$dir/citus.yml:21:1: warning: \"citus\": Patroni setting that gsha does not implement yet, ignoring" \
	"a Patroni-only section warns with its position"

# A misspelled key: the line of loop_wait in postgres0.yml is 51.
sed 's/^    loop_wait: 10/    loop_wiat: 10/' "$examples/postgres0.yml" >"$dir/typo.yml"
run --validate-config "$dir/typo.yml"
t_assert_eq 1 "$rc" "a misspelled key is rejected"
expect_line "$dir/typo.yml:51:5: error: \"bootstrap.dcs.loop_wiat\": unknown key: did you mean \"bootstrap.dcs.loop_wait\"?" \
	"a misspelled key is reported with file:line:column and a suggestion"
expect_line "$dir/typo.yml: configuration is invalid (1 error)" "the summary counts one error"

# A port out of range and the timing rule.
sed -e 's/^  listen: 127.0.0.1:8008/  listen: 127.0.0.1:99999/' -e 's/^    ttl: 30/    ttl: 20/' \
	"$examples/postgres0.yml" >"$dir/ranges.yml"
run --validate-config "$dir/ranges.yml"
t_assert_eq 1 "$rc" "a bad port and a short ttl are rejected"
expect_line "$dir/ranges.yml:6:11: error: \"restapi.listen\": \"127.0.0.1:99999\": the port must be a number from 1 to 65535" \
	"the bad port is reported at its value"
expect_line "$dir/ranges.yml:50:5: error: \"bootstrap.dcs.ttl\": loop_wait + 2 x retry_timeout" \
	"the timing rule is reported at ttl"

# Broken YAML.
printf 'scope: batman\nrestapi:\n  listen: [127.0.0.1:8008\nname: x\n' >"$dir/syntax.yml"
run --validate-config "$dir/syntax.yml"
t_assert_eq 1 "$rc" "broken YAML is rejected"
if grep -qE "^$dir/syntax.yml:[0-9]+:[0-9]+: error: invalid YAML" <<<"$out"; then
	t_pass "broken YAML is reported with file:line:column"
else
	echo "$out" >&2
	t_fail "broken YAML message lacks file:line:column"
fi

# Required keys missing: each named, with its environment variable.
printf 'scope: batman\nname: x\n' >"$dir/short.yml"
run --validate-config "$dir/short.yml"
t_assert_eq 1 "$rc" "a file without required keys is rejected"
expect_line "error: \"postgresql.data_dir\": is required: give the data directory of this member's database; set it in the file or with PATRONI_POSTGRESQL_DATA_DIR" \
	"a missing key names its environment variable"

# The environment overrides the file, also when validating.
run PATRONI_RESTAPI_LISTEN=nowhere --validate-config "$examples/postgres0.yml"
t_assert_eq 1 "$rc" "a bad environment value is rejected"
expect_line "environment variable PATRONI_RESTAPI_LISTEN: error: \"restapi.listen\": \"nowhere\" has no port: write host:port" \
	"a bad environment value names the variable"

# Member names: at most 63 bytes (PostgreSQL keeps 63 bytes of application_name and slot names).
name63=$(printf 'n%.0s' $(seq 63))
sed "s/^name: postgresql0/name: $name63/" "$examples/postgres0.yml" >"$dir/name63.yml"
run --validate-config "$dir/name63.yml"
t_assert_eq 0 "$rc" "a member name of 63 bytes is accepted"
sed "s/^name: postgresql0/name: ${name63}x/" "$examples/postgres0.yml" >"$dir/name64.yml"
run --validate-config "$dir/name64.yml"
t_assert_eq 1 "$rc" "a member name of 64 bytes is rejected"
expect_line "$dir/name64.yml:3:7: error: \"name\": \"nnnnnnnnnnnnnnnnnnnn...\" is 64 bytes long, more than the 63 a member name may have: PostgreSQL keeps only 63 bytes of application_name and of replication slot names" \
	"a long member name is reported at its position with the limit and why"
run PATRONI_NAME="${name63}x" --validate-config "$examples/postgres0.yml"
t_assert_eq 1 "$rc" "a PATRONI_NAME of 64 bytes is rejected"
expect_line "environment variable PATRONI_NAME: error: \"name\": \"nnnnnnnnnnnnnnnnnnnn...\" is 64 bytes long, more than the 63" \
	"a long PATRONI_NAME names the variable"

run --validate-config "$dir/missing.yml"
t_assert_eq 1 "$rc" "a missing file is rejected"
expect_line "$dir/missing.yml: error: could not open file: No such file or directory" \
	"a missing file says why"

run --validate-config "$dir"
t_assert_eq 1 "$rc" "a directory is rejected"
expect_line "$dir: error: could not read file" "a directory says it could not be read"

run --validate-config
t_assert_eq 2 "$rc" "--validate-config without a file is a usage error"

# Start-up from the environment alone, with JSON logs. The agent runs until told to stop, so it
# runs in the background (as postgres, on free ports, its etcd absent) and gets SIGTERM once it
# has logged its start.
api_port=$(t_free_port)
etcd_port=$(t_free_port)
pg_port=$(t_free_port)
mkdir -p "$dir/envnode"
chown postgres:postgres "$dir" "$dir/envnode"
env -i PATH="$PATH" PATRONI_NAME=envnode PATRONI_SCOPE=envscope \
	PATRONI_RESTAPI_LISTEN=127.0.0.1:$api_port PATRONI_RESTAPI_CONNECT_ADDRESS=127.0.0.1:$api_port \
	PATRONI_ETCD3_HOSTS=127.0.0.1:$etcd_port PATRONI_POSTGRESQL_LISTEN=127.0.0.1:$pg_port \
	PATRONI_POSTGRESQL_CONNECT_ADDRESS=127.0.0.1:$pg_port \
	PATRONI_POSTGRESQL_DATA_DIR="$dir/envnode/data" PATRONI_POSTGRESQL_BIN_DIR="$PG_BIN" \
	PATRONI_SUPERUSER_USERNAME=postgres PATRONI_REPLICATION_USERNAME=replicator \
	GSHA_TTL=5 GSHA_LOOP_WAIT=1 GSHA_RETRY_TIMEOUT=1 GSHA_LOG_FORMAT=json runuser -u postgres -- "$gsha" >"$dir/envnode.log" 2>&1 &
agent=$!
t_register_pid "$agent"
started() { grep -qF '"message":"starting gsha' "$dir/envnode.log"; }
t_wait_for 20 "the agent to log its start" started
out=$(cat "$dir/envnode.log")
expect_line '"level":"info","name":"envnode","message":"starting gsha' \
	"gsha starts from the environment alone and logs JSON"
kill -TERM "$(pgrep -P "$agent" -x gsha || echo "$agent")" 2>/dev/null || true
stopped() { ! kill -0 "$agent" 2>/dev/null; }
t_wait_for 20 "the agent to stop on SIGTERM" stopped
t_pass "the agent stops on SIGTERM"
out=$(cat "$dir/envnode.log")
if grep -v '^{"time":"' <<<"$out" | grep -q .; then
	echo "$out" >&2
	t_fail "every log line is a JSON object"
fi
t_pass "every log line is a JSON object"

# log.dir (here PATRONI_LOG_DIR): the lines go to DIR/patroni.log, not to stderr.
mkdir -p "$dir/logs"
chown postgres:postgres "$dir/logs"
env -i PATH="$PATH" PATRONI_NAME=envnode PATRONI_SCOPE=envscope \
	PATRONI_RESTAPI_LISTEN=127.0.0.1:$api_port PATRONI_RESTAPI_CONNECT_ADDRESS=127.0.0.1:$api_port \
	PATRONI_ETCD3_HOSTS=127.0.0.1:$etcd_port PATRONI_POSTGRESQL_LISTEN=127.0.0.1:$pg_port \
	PATRONI_POSTGRESQL_CONNECT_ADDRESS=127.0.0.1:$pg_port \
	PATRONI_POSTGRESQL_DATA_DIR="$dir/envnode/data" PATRONI_POSTGRESQL_BIN_DIR="$PG_BIN" \
	PATRONI_SUPERUSER_USERNAME=postgres PATRONI_REPLICATION_USERNAME=replicator \
	PATRONI_LOG_DIR="$dir/logs" GSHA_TTL=5 GSHA_LOOP_WAIT=1 GSHA_RETRY_TIMEOUT=1 \
	runuser -u postgres -- "$gsha" >"$dir/logdir.stderr" 2>&1 &
agent=$!
t_register_pid "$agent"
in_file() { grep -qF 'starting gsha' "$dir/logs/patroni.log" 2>/dev/null; }
t_wait_for 20 "the agent to log its start into log.dir" in_file
kill -TERM "$(pgrep -P "$agent" -x gsha || echo "$agent")" 2>/dev/null || true
t_wait_for 20 "the agent to stop on SIGTERM" stopped
if grep -q 'starting gsha' "$dir/logdir.stderr"; then
	t_fail "with log.dir the start line still went to stderr"
fi
t_pass "log.dir: the agent logs into DIR/patroni.log instead of stderr"

run PATRONI_NAME=x
t_assert_eq 1 "$rc" "an incomplete environment is rejected"
expect_line 'error: environment: "scope": is required' "the missing scope is named"

t_done
