#!/usr/bin/env bash
# Helpers for the dcs tests. Source common.sh (and etcd.sh if used) first.
#
#   t_free_port                  (replaces common.sh's) a port no socket uses, below the
#                                kernel's ephemeral range
#   t_start_etcd_cluster         starts e0 e1 e2; sets ETCD_ENDPOINTS (comma list) and
#                                ETCD_CLIENT_URL[i]; waits until the cluster is healthy
#   t_etcd_member_kill I         SIGKILL member I (by PID) and wait for it to be gone
#   t_etcd_member_start I        (re)start member I on its data dir and ports
#   t_dcs_client ARGS...         the dcs-client helper built by meson
#   t_dcs_start_etcd1 SCHEME HEALTHCMD... -- ETCDARGS...
#                                one member with extra flags (auth, TLS), on fresh ports, tried
#                                twice; sets DCS_ETCD_URL; HEALTHCMD gets the URL appended
#
# Why t_free_port is replaced: common.sh picks from 20000-49999 and checks listening sockets
# only, but 32768 and up is where the kernel picks the local ports of outgoing connections, and
# this machine runs a thousand of them; a port "free" there can be taken before etcd binds it
# ("address already in use"). Here: below the ephemeral range, and no socket in any state.
T_EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
t_free_port() {
	local port span=$((T_EPHEMERAL_LOW - 10000))
	for _ in $(seq 200); do
		port=$((10000 + RANDOM % span))
		case "$T_PORTS_GIVEN" in *" $port "*) continue ;; esac
		if ! ss -Htan "( sport = :$port or dport = :$port )" | grep -q .; then
			T_PORTS_GIVEN+="$port "
			echo "$port"
			return 0
		fi
	done
	t_fail "no free port found"
}
ETCD_CLIENT_URL=()
ETCD_PEER_URL=()
ETCD_MEMBER_PID=()
ETCD_CLUSTER_SPEC=""
ETCD_CLUSTER_TOKEN=""

t_dcs_client() { "$GSHA_BUILD_DIR/tests/integration/dcs-client" "$@"; }

t_etcd_member_start() {
	local i=$1 state=${2:-existing}
	local dir
	dir=$(t_tmpdir)/etcd-e$i
	etcd --name "e$i" --data-dir "$dir" \
		--listen-client-urls "${ETCD_CLIENT_URL[$i]}" \
		--advertise-client-urls "${ETCD_CLIENT_URL[$i]}" \
		--listen-peer-urls "${ETCD_PEER_URL[$i]}" \
		--initial-advertise-peer-urls "${ETCD_PEER_URL[$i]}" \
		--initial-cluster "$ETCD_CLUSTER_SPEC" --initial-cluster-state "$state" \
		--initial-cluster-token "$ETCD_CLUSTER_TOKEN" \
		>>"$dir.log" 2>&1 &
	ETCD_MEMBER_PID[$i]=$!
	t_register_pid "${ETCD_MEMBER_PID[$i]}"
}

t_etcd_member_kill() {
	local i=$1 pid=${ETCD_MEMBER_PID[$1]}
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	t_log "killed etcd member e$i (pid $pid)"
}

# One try at a healthy cluster on fresh ports: returns 1 (after logging why) when it is not
# healthy within 20 s. Ports are picked free but can be taken before etcd binds them (other
# tests run on this machine too), hence the second try in t_start_etcd_cluster.
t_try_etcd_cluster() {
	local i deadline
	ETCD_CLUSTER_TOKEN="gsha-$$-$RANDOM"
	ETCD_CLUSTER_SPEC=""
	for i in 0 1 2; do
		ETCD_CLIENT_URL[$i]="http://127.0.0.1:$(t_free_port)"
		ETCD_PEER_URL[$i]="http://127.0.0.1:$(t_free_port)"
		ETCD_CLUSTER_SPEC+="${ETCD_CLUSTER_SPEC:+,}e$i=${ETCD_PEER_URL[$i]}"
		rm -rf "$(t_tmpdir)/etcd-e$i" "$(t_tmpdir)/etcd-e$i.log"
	done
	for i in 0 1 2; do
		t_etcd_member_start "$i" new
	done
	ETCD_ENDPOINTS="${ETCD_CLIENT_URL[0]},${ETCD_CLIENT_URL[1]},${ETCD_CLIENT_URL[2]}"
	deadline=$((SECONDS + 20))
	until etcdctl --endpoints="$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1; do
		if [ $SECONDS -ge "$deadline" ]; then
			for i in 0 1 2; do
				t_log "etcd e$i did not form a healthy cluster; log tail:"
				tail -5 "$(t_tmpdir)/etcd-e$i.log" >&2 || true
				t_etcd_member_kill "$i"
			done
			return 1
		fi
		sleep 0.2
	done
}

t_start_etcd_cluster() {
	t_try_etcd_cluster || t_try_etcd_cluster || t_fail "3-member etcd cluster not healthy (two tries)"
	export ETCD_ENDPOINTS
}

t_dcs_start_etcd1() {
	local scheme=$1 health=() extra=() try port peer dir pid
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		health+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	extra=("$@")
	for try in 1 2; do
		port=$(t_free_port)
		peer=$(t_free_port)
		DCS_ETCD_URL="$scheme://127.0.0.1:$port"
		dir=$(t_tmpdir)/etcd1-$try
		etcd --name one --data-dir "$dir" --listen-client-urls "$DCS_ETCD_URL" \
			--advertise-client-urls "$DCS_ETCD_URL" \
			--listen-peer-urls "http://127.0.0.1:$peer" \
			--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
			--initial-cluster "one=http://127.0.0.1:$peer" "${extra[@]}" >"$dir.log" 2>&1 &
		pid=$!
		t_register_pid $pid
		for _ in $(seq 100); do
			"${health[@]}" "$DCS_ETCD_URL/health" >/dev/null 2>&1 && return 0
			kill -0 $pid 2>/dev/null || break
			sleep 0.2
		done
		t_log "etcd on $DCS_ETCD_URL did not come up (try $try); log tail:"
		tail -3 "$dir.log" >&2 || true
		kill -KILL $pid 2>/dev/null || true
	done
	t_fail "etcd with ${extra[*]} did not start (two tries)"
}
