#!/usr/bin/env bash
# A gsha cluster on loopback: etcd plus N nodes, each a gsha agent with its own PostgreSQL 15,
# run as the postgres user. Used by the HA integration tests and by scripts/demo.
#
#   c_init DIR ETCD_URL SCOPE      where configs, data and logs live
#   c_config NAME [EXTRA_YAML]     writes DIR/NAME.yml with free ports (ttl 5, loop_wait 1,
#                                  retry_timeout 1 unless C_TTL/C_LOOP_WAIT/C_RETRY say else;
#                                  C_BIN_DIR and C_ENGINE set postgresql.bin_dir and .engine;
#                                  C_CHECKSUMS=off leaves data-checksums out of initdb;
#                                  C_MAX_CONNECTIONS replaces max_connections 50)
#   c_start NAME                   starts the agent in the background (log: DIR/NAME.log)
#   c_kill NAME [SIGNAL]           signals the agent (default TERM) and waits for it to exit
#   c_kill_db NAME                 kill -9 the node's postmaster
#   c_leader                       prints the leader key's value ("" when none)
#   c_key KEY                      prints the value of the cluster's key KEY ("status",
#                                  "members/node1"; "" when none)
#   c_role NAME                    prints "primary", "replica" or "" from the node's /patroni
#   c_running NAME ROLE            succeeds when the node's database runs in ROLE (primary or
#                                  replica), judged by its /primary or /replica health check
#   c_is NAME ROLE                 succeeds when /patroni says ROLE and state "running" (also
#                                  for noloadbalance nodes, whose /replica is always 503)
#   c_psql NAME SQL                runs SQL on the node's database, prints the result
#   c_rest NAME PATH               prints the HTTP status of GET on the node's REST API
#   c_timeline NAME                prints the timeline of a primary's WAL
#   c_key_instant SECONDS WANT     waits (50 ms polls) until the leader key names WANT, or for
#                                  "!NAME" any member but NAME; prints when it first saw that
#                                  (date +%s%N), fails after SECONDS
#   c_recovery_instant SECONDS NAME  the same for NAME's database first running in recovery
#   c_cluster_streams LEADER OLD_TL SURVIVOR...
#                                  GET /cluster on LEADER shows it on a timeline above OLD_TL and
#                                  every SURVIVOR "streaming" on that same timeline
#   c_streams_after T0_NS LEADER OLD_TL SURVIVOR...
#                                  waits (60 s at most) for c_cluster_streams and prints the
#                                  milliseconds since T0_NS; fails with "never" after 60 s
# Ports are recorded in C_PG_PORT[NAME] and C_API_PORT[NAME].

declare -gA C_PG_PORT C_API_PORT C_PID
C_TTL=${C_TTL:-5}
C_LOOP_WAIT=${C_LOOP_WAIT:-1}
C_RETRY=${C_RETRY:-1}

c_init() {
	C_DIR=$1 C_ETCD=$2 C_SCOPE=$3
	mkdir -p "$C_DIR"
	chown postgres:postgres "$C_DIR"
	# A killed agent leaves its PostgreSQL running: stop every node's postmaster at exit.
	if declare -p T_CLEANUP_HOOKS >/dev/null 2>&1; then
		T_CLEANUP_HOOKS+=(c_stop_databases)
	fi
}

c_stop_databases() {
	local n pid
	for n in "${!C_PG_PORT[@]}"; do
		pid=$(c_postmaster_pid "$n")
		[ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
	done
	return 0
}

c_free_port() {
	if declare -F t_free_port >/dev/null; then
		t_free_port
		return
	fi
	local port
	for _ in $(seq 200); do
		port=$((10000 + RANDOM % 22768)) # below the ephemeral range, as t_free_port
		case " ${C_PORTS_GIVEN:-} " in *" $port "*) continue ;; esac
		if ! ss -Hltn "sport = :$port" | grep -q .; then
			C_PORTS_GIVEN="${C_PORTS_GIVEN:-} $port"
			echo "$port"
			return 0
		fi
	done
	return 1
}

c_config() {
	local name=$1 extra=${2:-}
	local pg api
	pg=$(c_free_port)
	api=$(c_free_port)
	C_PG_PORT[$name]=$pg
	C_API_PORT[$name]=$api
	mkdir -p "$C_DIR/$name"
	chown postgres:postgres "$C_DIR/$name"
	chmod 700 "$C_DIR/$name"
	cat >"$C_DIR/$name.yml" <<YAML
scope: $C_SCOPE
namespace: /service/
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api
etcd3:
  hosts: ${C_ETCD#http://}
bootstrap:
  dcs:
    ttl: $C_TTL
    loop_wait: $C_LOOP_WAIT
    retry_timeout: $C_RETRY
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: 'on'
        wal_log_hints: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 128MB
        max_connections: ${C_MAX_CONNECTIONS:-50}
        shared_buffers: 16MB
  initdb:
  - encoding: UTF8
$([ "${C_CHECKSUMS:-on}" = off ] || echo '  - data-checksums')
  pg_hba:
  - local all all trust
  - host replication replicator 127.0.0.1/32 trust
  - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $C_DIR/$name/data
  bin_dir: ${C_BIN_DIR:-/usr/lib/postgresql/15/bin}
${C_ENGINE:+  engine: $C_ENGINE}
  pgpass: $C_DIR/$name/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: rep-pass
    rewind:
      username: rewind_user
      password: rewind-pass
  parameters:
    unix_socket_directories: '$C_DIR/$name'
$extra
YAML
	chown postgres:postgres "$C_DIR/$name.yml"
}

c_start() {
	local name=$1
	runuser -u postgres -- "$GSHA_BUILD_DIR/gsha" "$C_DIR/$name.yml" >>"$C_DIR/$name.log" 2>&1 &
	C_PID[$name]=$!
	if declare -F t_register_pid >/dev/null; then
		t_register_pid "${C_PID[$name]}"
	fi
	echo "${C_PID[$name]}" >"$C_DIR/$name.pid"
}

c_kill() {
	local name=$1 sig=${2:-TERM}
	local pid=${C_PID[$name]:-}
	[ -n "$pid" ] || return 0
	# runuser forwards the signal to the agent; -KILL must reach the agent itself.
	local agent
	agent=$(pgrep -P "$pid" -x gsha || echo "$pid")
	kill "-$sig" "$agent" 2>/dev/null || true
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	C_PID[$name]=
}

# On failure: every live agent's thread stacks, to tell a hang from a slow cycle.
c_dump_stacks() {
	local n agent
	command -v gdb >/dev/null || return 0
	for n in "${!C_PID[@]}"; do
		[ -n "${C_PID[$n]}" ] || continue
		agent=$(pgrep -P "${C_PID[$n]}" -x gsha || true)
		[ -n "$agent" ] || continue
		echo "---- $n (pid $agent) thread stacks"
		timeout 20 gdb -q -batch -p "$agent" -ex 'thread apply all bt 12' 2>/dev/null |
			grep -E '^(Thread|#)' || true
	done
}

c_postmaster_pid() {
	head -1 "$C_DIR/$1/data/postmaster.pid" 2>/dev/null || true
}

c_kill_db() {
	local pid
	pid=$(c_postmaster_pid "$1")
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
}

c_leader() {
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/leader" 2>/dev/null || true
}

c_key() {
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/$1" 2>/dev/null || true
}

c_role() {
	curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$1]}/patroni" 2>/dev/null |
		sed -n 's/.*"role": *"\([a-z_]*\)".*/\1/p'
}

c_is() {
	local doc
	doc=$(curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$1]}/patroni" 2>/dev/null) || return 1
	[[ "$doc" == *"\"state\": \"running\""* && "$doc" == *"\"role\": \"$2\""* ]]
}

c_running() {
	[ "$(c_rest "$1" "/$2")" = 200 ]
}

# c_guardian_page DATA_DIR: the guardian's shared page for that data directory
# (src/agent/guardian.c: /dev/shm/gsha-guardian-<FNV-1a 64 of the path>). A test that lets a
# guardian outlive its agent adds the page to C_GUARDIAN_PAGES, removed at exit.
c_guardian_page() {
	python3 -c 'import sys
h = 14695981039346656037
for b in sys.argv[1].encode():
    h = ((h ^ b) * 1099511628211) % 2**64
print("/dev/shm/gsha-guardian-%016x" % h)' "$1"
}
C_GUARDIAN_PAGES=()
c_remove_guardian_pages() { [ "${#C_GUARDIAN_PAGES[@]}" -eq 0 ] || rm -f "${C_GUARDIAN_PAGES[@]}"; }
if declare -p T_CLEANUP_HOOKS >/dev/null 2>&1; then
	T_CLEANUP_HOOKS+=(c_remove_guardian_pages)
fi

c_rest() {
	curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:${C_API_PORT[$1]}$2" 2>/dev/null || true
}

c_psql() {
	local name=$1
	shift
	runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -X -q -A -t -h "$C_DIR/$name" \
		-p "${C_PG_PORT[$name]}" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$*" 2>/dev/null
}

c_timeline() {
	c_psql "$1" "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
}

c_key_instant() {
	local deadline=$((SECONDS + $1)) want=$2 l
	while [ "$SECONDS" -lt "$deadline" ]; do
		l=$(c_leader)
		if [ -n "$l" ] && { [ "$l" = "$want" ] || { [ "${want#!}" != "$want" ] && [ "$l" != "${want#!}" ]; }; }; then
			date +%s%N
			return 0
		fi
		sleep 0.05
	done
	return 1
}

c_recovery_instant() {
	local deadline=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if [ "$(c_psql "$2" "select pg_is_in_recovery()")" = t ]; then
			date +%s%N
			return 0
		fi
		sleep 0.05
	done
	return 1
}

c_cluster_streams() {
	local leader=$1
	curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$leader]}/cluster" 2>/dev/null | python3 -c '
import json, sys
leader, old, survivors = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
try:
    by = {m.get("name"): m for m in json.load(sys.stdin).get("members", [])}
except ValueError:
    sys.exit(1)
tl = by.get(leader, {}).get("timeline")
ok = isinstance(tl, int) and tl > old and all(
    by.get(s, {}).get("state") == "streaming" and by.get(s, {}).get("timeline") == tl
    for s in survivors)
sys.exit(0 if ok else 1)' "$@"
}

c_streams_after() {
	local t0=$1 deadline=$((SECONDS + 60))
	shift
	until c_cluster_streams "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo never
			return 1
		fi
		sleep 0.05
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}
