#!/usr/bin/env bash
# Shared by the benchmarks (not tests): three-node clusters of gsha OR Patroni on loopback, built
# from ONE generated YAML per node (tests/integration/lib/cluster.sh: c_config), so both systems
# run the very same file; only the scope differs per run. Sources common.sh (temp dir, free
# ports, cleanup by PID), etcd.sh and cluster.sh itself unless the script did.
#
#   b_preamble TITLE RUNS        the scripts' common start: checks RUNS (1..99), installs the
#                                exit trap, prints the build and settings, starts etcd, sets
#                                $results (an empty file for "SYSTEM RUN ok FIGURE ..." rows)
#   b_build_info                 prints the gsha build used (buildtype, sanitizers); warns on ASan
#   b_profile NAME               switches the timing to profile NAME (below) between clusters
#   b_cluster_up SYSTEM DIR SCOPE [sync]
#                                gsha|patroni: etcd must run (t_start_etcd); writes node1..node3
#                                configs, bootstraps node1, then node2/node3 as replicas, then
#                                starts HAProxy in front of them (b_haproxy_start). Returns
#                                1 (with a message) when the cluster does not come up in time.
#   b_cluster_down               stops the writers, HAProxy, every agent (TERM, then KILL) and
#                                every postmaster of the current cluster, by PID
#                                (BENCH_LOGS=DIR keeps a copy of the node logs and configs)
#   b_agent_pid NAME             PID of the node's agent process (gsha, or Patroni's python)
#   b_postmaster_pid NAME        PID of the node's postmaster, "" when not running
#   b_kill_node NAME [PIDS]      kill -9 the agent, the postmaster and its children at once;
#                                prints the instant (microseconds, CLOCK_REALTIME) just before;
#                                PIDS: those b_node_pids NAME printed earlier (a precise instant)
#   b_start_node NAME            (re)starts the node's agent
#   b_first_ok_after LOG T_US OLD_PORT  first commit on another node after T_US
#   b_wait SECONDS CMD...        polls CMD every 0.1 s; returns 1 on timeout (no exit)
#   b_conninfo [db]              the client's conninfo: HAProxy's write port; "db": the
#                                libpq multi-host conninfo of the three nodes (read-write target)
#   b_writer_start LOG SECONDS   starts bench-writer through HAProxy (one insert every
#                                B_WRITE_INTERVAL_MS ms); with B_AT_DB=1 a second writer on
#                                the nodes directly (LOG.db, table bench_w_db)
#   b_writer_stop                stops them and waits for them
#   b_create_tables NODE         creates bench_w (and bench_w_db) on NODE
#   b_median / b_ratio           arithmetic for the summaries
#   b_show_logs [LINES]          the tail of every node's log (default 15 lines)
#   b_healthy LEADER             LEADER answers /primary and every other node /replica
#
# Timing (B_PROFILE, printed by b_build_info; C_TTL/C_LOOP_WAIT/BENCH_RETRY_TIMEOUT override):
#   ttl5 (default)  ttl 5, loop_wait 1, retry_timeout 2 for both systems
#   default         Patroni's defaults: ttl 30, loop_wait 10, retry_timeout 10, for both
#   fast            gsha's fast profile: ttl 2, loop_wait 500ms, retry_timeout 500ms (issue 14;
#                   needs the lease work that accepts them); Patroni 3.0.2 takes neither a
#                   fraction of a second nor a ttl that low, so it runs at its tightest working
#                   setting, the ttl5 profile, and the summary says so
# HAProxy (b_haproxy_start) checks with the settings gsctl haproxy-config and docker/haproxy.cfg
# document for the profile's loop_wait (docs/timing.md, "HAProxy"); the writer connects through
# it, as a client would. B_AT_DB=1 adds the figure at the databases, around the load balancer.
# B_HAPROXY=0 starts no HAProxy (the idle benchmarks, etcd_load.sh and footprint.sh, default to
# it; B_HAPROXY=1 measures idle with the health checks a deployment would run).
# B_PG_PARAM="name: value" adds one PostgreSQL parameter to both systems' bootstrap.dcs.
B_PROFILE=${B_PROFILE:-ttl5}
# What the caller's environment set, kept so that b_profile can switch profiles within one run
# while C_TTL/C_LOOP_WAIT/BENCH_RETRY_TIMEOUT still override every profile.
B_ENV_TTL=${C_TTL:-}
B_ENV_LOOP_WAIT=${C_LOOP_WAIT:-}
B_ENV_RETRY=${BENCH_RETRY_TIMEOUT:-}
# b_profile NAME: switches the timing (B_PROFILE, C_TTL, C_LOOP_WAIT, C_RETRY, B_LOOP_WAIT_MS) to
# one of the profiles above; the scripts that compare several profiles in one run call it
# between clusters. Sourcing this file calls it with $B_PROFILE.
b_profile() {
	case "$1" in
	ttl5) B_P_TTL=5 B_P_LOOP=1 B_P_RETRY=2 B_LOOP_WAIT_MS=1000 ;;
	default) B_P_TTL=30 B_P_LOOP=10 B_P_RETRY=10 B_LOOP_WAIT_MS=10000 ;;
	fast) B_P_TTL=2 B_P_LOOP=500ms B_P_RETRY=500ms B_LOOP_WAIT_MS=500 ;;
	*)
		echo "B_PROFILE must be fast, ttl5 or default" >&2
		exit 2
		;;
	esac
	B_PROFILE=$1
	if [ -n "$B_ENV_LOOP_WAIT" ]; then
		B_LOOP_WAIT_MS=$((${B_ENV_LOOP_WAIT%ms} * 1000))
		[[ "$B_ENV_LOOP_WAIT" == *ms ]] && B_LOOP_WAIT_MS=${B_ENV_LOOP_WAIT%ms}
	fi
	C_TTL=${B_ENV_TTL:-$B_P_TTL}
	C_LOOP_WAIT=${B_ENV_LOOP_WAIT:-$B_P_LOOP}
	C_RETRY=${B_ENV_RETRY:-$B_P_RETRY}
}
b_profile "$B_PROFILE"
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
SYSTEMS=${SYSTEMS:-gsha patroni}
B_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -F t_start_etcd >/dev/null || {
	source "$B_LIB_DIR/../integration/lib/common.sh"
	source "$B_LIB_DIR/../integration/lib/etcd.sh"
}
declare -F c_config >/dev/null || source "$B_LIB_DIR/../integration/lib/cluster.sh"
B_NODES=(node1 node2 node3)
# Patroni 3.0.2 with etcd3 cannot take the leader key with retry_timeout 1: attempt_to_acquire_leader
# (patroni/dcs/etcd3.py) spends part of the retry deadline refreshing the lease, then raises
# "attempt_to_acquire_leader timeout" whenever less than 1 s is left, so after a leader loss the
# replicas log "Error communicating with DCS" for ever. 2 is the lowest retry_timeout it works
# with; both systems run it (one YAML), BENCH_RETRY_TIMEOUT overrides.
B_WRITE_INTERVAL_MS=${B_WRITE_INTERVAL_MS:-20}
declare -gA B_RUNUSER_PID
B_SYSTEM=
B_WRITER_PID=
B_WRITER_DB_PID=
B_HAPROXY_PID=
B_HAPROXY_PORT=

# Replaces common.sh's t_free_port for the benchmarks: that one draws from 20000-49999, which
# overlaps the kernel's ephemeral range (32768-60999 here), and checks only listening sockets, so
# a port held by an outgoing connection (hundreds of them on this busy machine) is handed out and
# the agent then fails to bind it. Draw below the ephemeral range and check sockets in any state.
t_free_port() {
	local port lo hi
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 12000 ] || lo=32768
	for _ in $(seq 200); do
		port=$((10000 + RANDOM % (lo - 10000)))
		case "$T_PORTS_GIVEN" in *" $port "*) continue ;; esac
		if ! ss -Hatn "sport = :$port" | grep -q .; then
			T_PORTS_GIVEN+="$port "
			echo "$port"
			return 0
		fi
	done
	t_fail "no free port found"
}

b_log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

b_now_us() { date +%s%6N; }

b_wait() {
	local seconds=$1
	shift
	local deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

b_build_info() {
	local opts buildtype sanitize
	opts=$(meson introspect --buildoptions "$GSHA_BUILD_DIR" 2>/dev/null || echo '[]')
	buildtype=$(echo "$opts" | python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"), "?"))')
	sanitize=$(echo "$opts" | python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"), "?"))')
	echo "gsha build: $GSHA_BUILD_DIR (buildtype=$buildtype, b_sanitize=$sanitize)"
	if [ "$sanitize" != none ] || ldd "$GSHA_BUILD_DIR/gsha" 2>/dev/null | grep -q libasan; then
		echo "WARNING: this gsha build uses sanitizers; its figures are not representative" >&2
	fi
	echo "Patroni: $(b_patroni_cmd --version 2>&1 | head -1)${B_PATRONI_SRC:+ (from $B_PATRONI_SRC)}; PostgreSQL: $("$PG_BIN/postgres" --version)"
	echo "settings: B_PROFILE=$B_PROFILE ttl=$C_TTL loop_wait=$C_LOOP_WAIT retry_timeout=$C_RETRY (same YAML for both$(b_patroni_timing >/dev/null && echo "; Patroni at $(b_patroni_timing), its tightest working setting"))"
}

# The Patroni to run: Debian's patroni (3.0.2), or B_PATRONI_SRC, a Patroni source tree (4.1.4,
# for example `git archive v4.1.4` of github.com/patroni/patroni) run with Debian's python3
# packages. The tree must be readable by user postgres.
b_patroni_cmd() {
	if [ -n "${B_PATRONI_SRC:-}" ]; then
		/usr/bin/python3 "$B_PATRONI_SRC/patroni.py" "$@"
	else
		patroni "$@"
	fi
}

# b_timing SYSTEM: "ttl/loop_wait/retry_timeout" that SYSTEM runs at in the current profile.
b_timing() {
	local pt
	if [ "$1" = patroni ] && pt=$(b_patroni_timing); then
		echo "$pt" | sed -e 's/ttl=//' -e 's/ loop_wait=/\//' -e 's/ retry_timeout=/\//'
	else
		echo "$C_TTL/$C_LOOP_WAIT/$C_RETRY"
	fi
}

# Prints "ttl=T loop_wait=L retry_timeout=R" and succeeds when Patroni cannot run at the
# profile's timing and runs at its tightest working setting instead: Patroni 3.0.2 takes no
# fraction of a second and no ttl below 5 with etcd3 (5/1/2, the fast profile), Patroni 4 adjusts
# any ttl below 20 to 20 and a retry_timeout below 3 to 3 (patroni/config.py), so it runs at
# 20/1/3 whenever the profile's ttl is below 20.
b_patroni_timing() {
	if [ -n "${B_PATRONI_SRC:-}" ]; then
		[ "${C_TTL%s}" -lt 20 ] 2>/dev/null && echo "ttl=20 loop_wait=1 retry_timeout=3"
	else
		[ "$B_PROFILE" = fast ] && echo "ttl=5 loop_wait=1 retry_timeout=2"
	fi
}

b_agent_pid() {
	local r=${B_RUNUSER_PID[$1]:-}
	[ -n "$r" ] || return 0
	pgrep -P "$r" | head -1
}

# The postmaster of NAME, only if the PID in postmaster.pid is a live postgres for that data dir.
b_postmaster_pid() {
	local pid data="$C_DIR/$1/data"
	pid=$(head -1 "$data/postmaster.pid" 2>/dev/null || true)
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$data" && echo "$pid"
	return 0
}

b_start_node() {
	local name=$1 cmd
	if [ "$B_SYSTEM" = gsha ]; then
		cmd=("$GSHA_BUILD_DIR/gsha" "$C_DIR/$name.yml")
	else
		cmd=(patroni "$C_DIR/$name.yml")
		[ -z "${B_PATRONI_SRC:-}" ] || cmd=(/usr/bin/python3 "$B_PATRONI_SRC/patroni.py" "$C_DIR/$name.yml")
	fi
	runuser -u postgres -- "${cmd[@]}" >>"$C_DIR/$name.log" 2>&1 &
	B_RUNUSER_PID[$name]=$!
	t_register_pid "$!"
}

# b_wait that gives up at once when NAME's agent has exited (a port taken, a bad config).
b_wait_alive() { # SECONDS NAME CMD...
	local seconds=$1 name=$2
	shift 2
	local deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if ! kill -0 "${B_RUNUSER_PID[$name]:-0}" 2>/dev/null; then
			b_log "$B_SYSTEM: the agent of $name exited: $(tail -1 "$C_DIR/$name.log" 2>/dev/null | cut -c1-300)"
			return 1
		fi
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

b_is_primary() { [ "$(c_rest "$1" /primary)" = 200 ]; }

b_healthy() {
	local n
	b_is_primary "$1" || return 1
	for n in "${B_NODES[@]}"; do
		[ "$n" = "$1" ] || b_is_replica "$n" || return 1
	done
}

b_show_logs() {
	local n
	for n in "${B_NODES[@]}"; do
		echo "---- $n.log (tail)"
		tail -"${1:-15}" "$C_DIR/$n.log" 2>/dev/null
	done
}
b_is_replica() { [ "$(c_rest "$1" /replica)" = 200 ]; }
b_leader_is() { [ "$(c_leader)" = "$1" ]; }

b_cluster_up() {
	local system=$1 dir=$2 scope=$3 mode=${4:-async} n pt pttl ploop pretry
	B_SYSTEM=$system
	c_init "$dir" "$ETCD_URL" "$scope"
	for n in "${B_NODES[@]}"; do
		c_config "$n"
		if [ "$system" = patroni ] && pt=$(b_patroni_timing); then
			read -r pttl ploop pretry <<<"$pt" # ttl=T loop_wait=L retry_timeout=R
			sed -i -e "s/^    ttl: .*/    ttl: ${pttl#*=}/" -e "s/^    loop_wait: .*/    loop_wait: ${ploop#*=}/" \
				-e "s/^    retry_timeout: .*/    retry_timeout: ${pretry#*=}/" "$C_DIR/$n.yml"
		fi
		if [ -n "${B_PG_PARAM:-}" ]; then # one "name: value" for postgresql.parameters, both systems
			sed -i "s/^        shared_buffers: 16MB\$/&\n        $B_PG_PARAM/" "$C_DIR/$n.yml"
		fi
		if [ "$mode" = sync ]; then
			sed -i 's/^    retry_timeout: .*/&\n    synchronous_mode: true/' "$C_DIR/$n.yml"
		fi
	done
	b_start_node node1
	if ! b_wait_alive 90 node1 b_leader_is node1 || ! b_wait_alive 60 node1 b_is_primary node1; then
		b_log "$system: node1 did not bootstrap as primary within 150 s"
		return 1
	fi
	b_start_node node2
	b_start_node node3
	for n in node2 node3; do
		if ! b_wait_alive 120 "$n" b_is_replica "$n"; then
			b_log "$system: $n did not come up as a replica within 120 s"
			return 1
		fi
	done
	if [ "$mode" = sync ] && ! b_wait 60 b_has_sync; then
		b_log "$system: no synchronous standby within 60 s"
		return 1
	fi
	# B_HAPROXY=0: no load balancer, so "idle" means idle (its checks are requests the agents
	# answer: several per second per node at the documented timing).
	[ "${B_HAPROXY:-1}" = 0 ] || b_haproxy_start || return 1
	return 0
}

# HAProxy's check timing for loop_wait, as ctl_haproxy_timing (ctl/ctl_haproxy.c) chooses it:
# p = loop_wait / 5 within 100..200 ms. B_HC="inter fastinter downinter rise fall connect"
# overrides (connect: timeout connect, which is also HAProxy's pause before a retry).
b_haproxy_timing() {
	local p=$((B_LOOP_WAIT_MS / 5))
	[ "$p" -ge 100 ] || p=100
	[ "$p" -le 200 ] || p=200
	read -r B_HC_INTER B_HC_FAST B_HC_DOWN B_HC_RISE B_HC_FALL B_HC_CONNECT <<<"${B_HC:-$p $((p / 2)) $((p / 2)) 1 3 100}"
}

b_haproxy_up() { [ "$(curl -s -m 2 "http://127.0.0.1:$B_HAPROXY_STATS/;csv" | awk -F, '$1 == "primary" && $18 == "UP"' | wc -l)" -ge 1 ]; }

# HAProxy in front of the current cluster, configured as docker/haproxy.cfg (tcp, /primary
# checked on each agent's REST port, on-marked-down shutdown-sessions); its write port is
# B_HAPROXY_PORT. Waits until it routes to a primary.
b_haproxy_start() {
	local n cfg=$C_DIR/haproxy.cfg
	b_haproxy_timing
	B_HAPROXY_PORT=$(t_free_port)
	B_HAPROXY_STATS=$(t_free_port)
	{
		printf 'global\n\tmaxconn 200\ndefaults\n\tmode tcp\n\tretries 2\n\ttimeout connect %sms\n' "$B_HC_CONNECT"
		printf '\ttimeout client 30m\n\ttimeout server 30m\n\ttimeout check %sms\n' "$((B_HC_INTER))"
		printf 'listen stats\n\tmode http\n\tbind 127.0.0.1:%s\n\tstats enable\n\tstats uri /\n' "$B_HAPROXY_STATS"
		printf 'listen primary\n\tbind 127.0.0.1:%s\n\toption httpchk OPTIONS /primary\n' "$B_HAPROXY_PORT"
		printf '\thttp-check expect status 200\n'
		printf '\tdefault-server inter %sms fastinter %sms downinter %sms rise %s fall %s on-marked-down shutdown-sessions\n' \
			"$B_HC_INTER" "$B_HC_FAST" "$B_HC_DOWN" "$B_HC_RISE" "$B_HC_FALL"
		for n in "${B_NODES[@]}"; do
			printf '\tserver %s 127.0.0.1:%s maxconn 100 check port %s\n' "$n" "${C_PG_PORT[$n]}" "${C_API_PORT[$n]}"
		done
	} >"$cfg"
	if ! haproxy -c -q -f "$cfg"; then
		b_log "haproxy rejects $cfg"
		return 1
	fi
	haproxy -db -f "$cfg" >"$C_DIR/haproxy.log" 2>&1 &
	B_HAPROXY_PID=$!
	t_register_pid "$B_HAPROXY_PID"
	if ! b_wait 20 b_haproxy_up; then
		b_log "HAProxy routes to no primary within 20 s"
		return 1
	fi
}

b_haproxy_stop() {
	[ -n "${B_HAPROXY_PID:-}" ] || return 0
	kill -TERM "$B_HAPROXY_PID" 2>/dev/null
	b_wait 10 b_pid_gone "$B_HAPROXY_PID" || kill -KILL "$B_HAPROXY_PID" 2>/dev/null
	wait "$B_HAPROXY_PID" 2>/dev/null
	B_HAPROXY_PID=
	return 0
}

b_create_tables() { # NODE
	c_psql "$1" "create table bench_w(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
	c_psql "$1" "create table bench_w_db(seq bigint primary key, t timestamptz default clock_timestamp())" >/dev/null
}

# The scripts' common start (after sourcing this file): RUNS checked, trap, build and settings,
# etcd, an empty $results.
b_preamble() { # TITLE RUNS
	set +e
	b_trap
	RUNS=$2
	[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || t_fail "RUNS must be 1..99"
	echo "== $1: $RUNS run(s) per system ($SYSTEMS)"
	b_build_info
	b_haproxy_timing
	echo "client: bench-writer through HAProxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}') checking /primary with inter ${B_HC_INTER}ms fastinter ${B_HC_FAST}ms downinter ${B_HC_DOWN}ms rise $B_HC_RISE fall $B_HC_FALL, timeout connect ${B_HC_CONNECT}ms$([ "${B_AT_DB:-0}" = 1 ] && echo "; B_AT_DB=1: a second writer at the databases")"
	t_start_etcd
	results=$t_tmpdir/results
	: >"$results"
}

# b_cluster_up, retried once on a fresh directory and fresh ports: a free port can be taken by
# another program between c_config choosing it and the node binding it (the range c_free_port
# draws from overlaps the kernel's ephemeral ports).
b_cluster_up_retry() {
	b_cluster_up "$@" && return 0
	b_cluster_down
	b_log "$1: retrying the cluster start once in $2.retry"
	b_cluster_up "$1" "$2.retry" "$3-r" "${4:-async}"
}

b_has_sync() { [ "$(c_rest node2 /sync)" = 200 ] || [ "$(c_rest node3 /sync)" = 200 ]; }

b_stop_node() {
	local name=$1 r agent pm
	r=${B_RUNUSER_PID[$name]:-}
	if [ -n "$r" ]; then
		agent=$(b_agent_pid "$name")
		[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null
		b_wait 40 b_pid_gone "$r" || kill -KILL "$agent" "$r" 2>/dev/null
		wait "$r" 2>/dev/null
		B_RUNUSER_PID[$name]=
	fi
	pm=$(b_postmaster_pid "$name")
	if [ -n "$pm" ]; then
		kill -INT "$pm" 2>/dev/null
		b_wait 20 b_pid_gone "$pm" || kill -KILL "$pm" $(pgrep -P "$pm") 2>/dev/null
	fi
	return 0
}

b_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

b_cluster_down() {
	local n
	b_writer_stop
	b_haproxy_stop
	[ -n "${C_DIR:-}" ] || return 0
	for n in "${B_NODES[@]}"; do
		b_stop_node "$n"
	done
	if [ -n "${BENCH_LOGS:-}" ]; then
		mkdir -p "$BENCH_LOGS/$(basename "$C_DIR")"
		cp "$C_DIR"/*.log "$C_DIR"/*.yml "$C_DIR"/*.cfg "$BENCH_LOGS/$(basename "$C_DIR")/" 2>/dev/null
		for n in "${B_NODES[@]}"; do # gsha starts PostgreSQL with pg_ctl -l DATA/postmaster.log
			cp "$C_DIR/$n/data/postmaster.log" "$BENCH_LOGS/$(basename "$C_DIR")/$n.postmaster.log" 2>/dev/null
		done
	fi
	C_DIR=
}

# kill -9 of the node's agent, its postmaster and the postmaster's children in one call (the
# backends would otherwise outlive a dead postmaster and keep serving their sessions).
# b_node_pids NAME: the PIDs b_kill_node kills, the postmaster last (so no backend sees it die
# and answers its client first); a script that must kill at a precise instant takes them first
# and passes them to b_kill_node as its second argument.
b_node_pids() {
	local agent pm pids
	agent=$(b_agent_pid "$1")
	pm=$(b_postmaster_pid "$1")
	pids=$agent
	[ -n "$pm" ] && pids="$pids $(pgrep -P "$pm" | tr '\n' ' ') $pm"
	echo "$pids"
}

b_kill_node() { # NAME [PIDS]
	local name=$1 pids=${2:-} t0
	[ -n "$pids" ] || pids=$(b_node_pids "$name")
	t0=$(b_now_us)
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	wait "${B_RUNUSER_PID[$name]}" 2>/dev/null
	B_RUNUSER_PID[$name]=
	echo "$t0"
}

b_conninfo() {
	local hosts="" ports="" n
	if [ "${1:-}" != db ]; then
		echo "host=127.0.0.1 port=$B_HAPROXY_PORT user=postgres dbname=postgres connect_timeout=2 target_session_attrs=read-write"
		return
	fi
	for n in "${B_NODES[@]}"; do
		hosts+="${hosts:+,}127.0.0.1"
		ports+="${ports:+,}${C_PG_PORT[$n]}"
	done
	echo "host=$hosts port=$ports user=postgres dbname=postgres connect_timeout=2 target_session_attrs=read-write"
}

b_writer_start() {
	"$GSHA_BUILD_DIR/tests/bench/bench-writer" "$(b_conninfo)" "$2" "$B_WRITE_INTERVAL_MS" "$1" &
	B_WRITER_PID=$!
	t_register_pid "$B_WRITER_PID"
	if [ "${B_AT_DB:-0}" = 1 ]; then
		"$GSHA_BUILD_DIR/tests/bench/bench-writer" "$(b_conninfo db)" "$2" "$B_WRITE_INTERVAL_MS" "$1.db" bench_w_db &
		B_WRITER_DB_PID=$!
		t_register_pid "$B_WRITER_DB_PID"
	fi
}

b_writer_stop() {
	local p
	for p in "${B_WRITER_PID:-}" "${B_WRITER_DB_PID:-}"; do
		[ -n "$p" ] || continue
		kill -TERM "$p" 2>/dev/null
		b_wait 10 b_pid_gone "$p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	B_WRITER_PID=
	B_WRITER_DB_PID=
	return 0
}

# First acknowledged commit at or after T_US in a writer log on a port other than OLD_PORT: prints
# "ACK_US PORT". (The old primary can still acknowledge a commit in the few milliseconds between
# the recorded instant and its processes receiving SIGKILL.)
b_first_ok_after() { # LOG T_US OLD_PORT
	awk -v t="$2" -v old="${3:-}" '$1 == "ok" && $4 >= t && $5 != old { print $4, $5; exit }' "$1"
}

b_median() { # values on stdin, one a line; "n/a" when none
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

b_ratio() { # A B -> A/B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.eE+-]+$/ && b ~ /^[0-9.eE+-]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# Installs an EXIT trap that stops the cluster and the writer before common.sh's cleanup, keeping
# the script's exit status.
b_trap() {
	trap 'b_rc=$?; set +e; b_cluster_down; (exit $b_rc); t_cleanup' EXIT
}
