#!/usr/bin/env bash
# The fault suite's cluster: network namespaces on a private bridge, all named with a per-run
# prefix (F_PREFIX, "gf" + 5 characters) so nothing of anyone else's is touched:
#
#   bridge  ${F_PREFIX}br (root namespace, no address: nothing is routed to or from the host)
#   ${F_PREFIX}-e1..e3   etcd members      10.77.0.11-13, client port 2379
#   ${F_PREFIX}-n1..n3   node1..node3      10.77.0.21-23, PostgreSQL 5432, REST 8008, a probe
#   ${F_PREFIX}-cl       the client        10.77.0.30, HAProxy on 127.0.0.1:5000, the writer
#
# The subnet is private to the bridge (no address on the host side), so runs never collide.
# Source ../integration/lib/common.sh and cluster.sh first (temp dir, c_config).
#
#   f_up SYSTEM MODE            gsha|patroni, sync|async: builds everything above and waits for
#                               a healthy cluster (node1 primary, node2 and node3 streaming);
#                               F_TTL, F_LOOP_WAIT, F_RETRY, F_FAILSAFE=1 shape the config
#   f_down                      stops every process by PID, unmounts, removes the namespaces
#                               and the bridge (also run at exit and on interrupt)
#   f_ns NODE|e1..e3|cl         the namespace's name
#   f_ip NODE|e1..e3|cl         its address
#   fx CMD...                   runs CMD in the client namespace
#   f_now                       CLOCK_MONOTONIC in microseconds (the checker's clock)
#   f_leader                    the leader key's value, "" when none or etcd is unreachable
#   f_primary                   the node whose database runs read-write ("" when none or many)
#   f_healthy                   one read-write node that the leader key names and that streams
#                               to both others
#   f_kill_node NODE            kill -9 the agent, the postmaster and its children
#   f_start_node NODE           (re)starts the node's agent
#   f_agent_pid NODE            the PID of the node's agent (gsha or Patroni's python)
#   f_postmaster_pid NODE       the node's postmaster, "" when not running
#   f_psql NODE SQL             SQL on the node's local socket
#   f_start_etcd e1..e3 / f_kill_etcd e1..e3
#   f_etcd_leader               e1..e3, the member etcd says leads
#   f_clock_set NODE MS         with F_CLOCK_SHIFT=1: the node's wall clock (agent and
#                               PostgreSQL, through clock-shift.so) runs MS ms off true time
F_DIR=${F_DIR:-$(t_tmpdir)}
F_NET=10.77.0
F_NODES=(node1 node2 node3)
F_ETCDS=(e1 e2 e3)
F_CLIENT=${F_CLIENT:-$GSHA_BUILD_DIR/tests/faults/fault-client}
F_CLOCK_SO=${F_CLOCK_SO:-$GSHA_BUILD_DIR/tests/faults/clock-shift.so}
F_PREFIX=
F_UP=0
declare -gA F_PID F_IPS
F_IPS=([e1]=11 [e2]=12 [e3]=13 [node1]=21 [node2]=22 [node3]=23 [cl]=30)
F_EXTRA_PIDS=()

f_log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
f_now() { "$F_CLIENT" now; }
f_ns() {
	case $1 in
	node?) echo "$F_PREFIX-n${1#node}" ;;
	*) echo "$F_PREFIX-$1" ;;
	esac
}
f_ip() { echo "$F_NET.${F_IPS[$1]}"; }
fx() { nsenter --net="/run/netns/$(f_ns cl)" "$@"; }
f_etcd_endpoints() { echo "http://$(f_ip e1):2379,http://$(f_ip e2):2379,http://$(f_ip e3):2379"; }
f_etcdctl() { fx env ETCDCTL_API=3 etcdctl --endpoints="$(f_etcd_endpoints)" --command-timeout=2s "$@"; }

f_wait() { # SECONDS CMD...: polls every 0.2 s, returns 1 on timeout
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

f_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# Stops PID: TERM (after CONT, in case a scenario froze it), then KILL after 10 s.
f_stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null || return 0
	f_wait 10 f_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	return 0
}

# ---- network
f_net_up() {
	local n dev
	# 5 random base-36 characters: interface names stay within 15 characters (gfXXXXXnode).
	F_PREFIX=gf$(tr -dc 'a-z0-9' </dev/urandom | head -c 5)
	F_UP=1
	ip link add "${F_PREFIX}br" type bridge
	ip link set "${F_PREFIX}br" up
	for n in "${F_ETCDS[@]}" "${F_NODES[@]}" cl; do
		dev=${F_PREFIX}$(f_ns "$n" | sed "s/^$F_PREFIX-//")
		ip netns add "$(f_ns "$n")"
		ip link add "$dev" type veth peer name eth0 netns "$(f_ns "$n")"
		ip link set "$dev" master "${F_PREFIX}br" up
		ip -n "$(f_ns "$n")" addr add "$(f_ip "$n")/24" dev eth0
		ip -n "$(f_ns "$n")" link set eth0 up
		ip -n "$(f_ns "$n")" link set lo up
	done
}

f_net_down() {
	local n dev
	[ -n "$F_PREFIX" ] || return 0
	for n in "${F_ETCDS[@]}" "${F_NODES[@]}" cl; do
		ip netns del "$(f_ns "$n")" 2>/dev/null
		dev=${F_PREFIX}$(f_ns "$n" | sed "s/^$F_PREFIX-//")
		ip link del "$dev" 2>/dev/null
	done
	ip link del "${F_PREFIX}br" 2>/dev/null
	return 0
}

# ---- etcd
f_start_etcd() {
	local m=$1 cluster="" e
	for e in "${F_ETCDS[@]}"; do
		cluster+="${cluster:+,}$e=http://$(f_ip "$e"):2380"
	done
	mkdir -p "$F_DIR/etcd"
	nsenter --net="/run/netns/$(f_ns "$m")" etcd --name "$m" --data-dir "$F_DIR/etcd/$m" \
		--listen-client-urls "http://$(f_ip "$m"):2379,http://127.0.0.1:2379" \
		--advertise-client-urls "http://$(f_ip "$m"):2379" \
		--listen-peer-urls "http://$(f_ip "$m"):2380" \
		--initial-advertise-peer-urls "http://$(f_ip "$m"):2380" \
		--initial-cluster "$cluster" --initial-cluster-token "$F_PREFIX" \
		--initial-cluster-state new >>"$F_DIR/etcd-$m.log" 2>&1 &
	F_PID[$m]=$!
}

f_kill_etcd() {
	local pid=${F_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	F_PID[$1]=
	return 0
}

# etcd's data on its own file system (ext4 on a loop device over a file), so a scenario can slow
# just that disk with the blkio controller's throttle (cgroup v1 here; no dm-delay).
F_LOOPDEV=
F_BLKIO=
f_etcd_disk_up() {
	mkdir -p "$F_DIR/etcd"
	fallocate -l 768M "$F_DIR/etcd.img" || return 1
	F_LOOPDEV=$(losetup --find --show "$F_DIR/etcd.img") || return 1
	mkfs.ext4 -q "$F_LOOPDEV" || return 1
	mount "$F_LOOPDEV" "$F_DIR/etcd" || return 1
}

# Throttles the writes of every etcd member to IOPS per second on their loop device (0: none).
f_etcd_disk_throttle() {
	local iops=$1 dev e
	dev=$(lsblk -dno MAJ:MIN "$F_LOOPDEV" | tr -d ' ')
	F_BLKIO=/sys/fs/cgroup/blkio/${F_PREFIX}-etcd
	mkdir -p "$F_BLKIO"
	for e in "${F_ETCDS[@]}"; do
		[ -n "${F_PID[$e]:-}" ] && echo "${F_PID[$e]}" >"$F_BLKIO/cgroup.procs"
	done
	echo "$dev $iops" >"$F_BLKIO/blkio.throttle.write_iops_device"
}

f_etcd_disk_down() {
	local pid
	if [ -n "$F_BLKIO" ] && [ -d "$F_BLKIO" ]; then
		while read -r pid; do
			echo "$pid" >/sys/fs/cgroup/blkio/cgroup.procs 2>/dev/null
		done <"$F_BLKIO/cgroup.procs"
		rmdir "$F_BLKIO" 2>/dev/null
	fi
	F_BLKIO=
	[ -n "$F_LOOPDEV" ] || return 0
	umount "$F_DIR/etcd" 2>/dev/null || umount -l "$F_DIR/etcd" 2>/dev/null
	losetup -d "$F_LOOPDEV" 2>/dev/null
	rm -f "$F_DIR/etcd.img"
	F_LOOPDEV=
	return 0
}

f_etcd_healthy() { f_etcdctl endpoint health >/dev/null 2>&1; }

f_etcd_leader() {
	f_etcdctl endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    st = s.get("Status", {})
    if st.get("header", {}).get("member_id") == st.get("leader"):
        print(s["Endpoint"].split("//")[1].split(":")[0]); break' |
		while read -r ip; do
			for e in "${F_ETCDS[@]}"; do
				[ "$(f_ip "$e")" = "$ip" ] && echo "$e"
			done
		done
}

# ---- nodes
f_config() {
	local n=$1 ip
	ip=$(f_ip "$n")
	C_TTL=$F_TTL C_LOOP_WAIT=$F_LOOP_WAIT C_RETRY=$F_RETRY c_config "$n"
	# c_config writes loopback addresses and free ports: this node owns its address instead.
	sed -i -e "/^restapi:/,/^etcd3:/ s#^  listen: 127.0.0.1:[0-9]*#  listen: $ip:8008#" \
		-e "/^restapi:/,/^etcd3:/ s#^  connect_address: 127.0.0.1:[0-9]*#  connect_address: $ip:8008#" \
		-e "/^postgresql:/,\$ s#^  listen: 127.0.0.1:[0-9]*#  listen: $ip:5432#" \
		-e "/^postgresql:/,\$ s#^  connect_address: 127.0.0.1:[0-9]*#  connect_address: $ip:5432#" \
		-e "s#127.0.0.1/32#$F_NET.0/24#" \
		-e "s#^  hosts: .*#  hosts: $(f_ip e1):2379,$(f_ip e2):2379,$(f_ip e3):2379#" \
		"$C_DIR/$n.yml"
	if [ "$F_MODE" = sync ]; then
		sed -i 's/^    retry_timeout: .*/&\n    synchronous_mode: true/' "$C_DIR/$n.yml"
	fi
	if [ "${F_FAILSAFE:-0}" = 1 ]; then
		sed -i 's/^    retry_timeout: .*/&\n    failsafe_mode: true/' "$C_DIR/$n.yml"
	fi
	C_PG_PORT[$n]=5432
	C_API_PORT[$n]=8008
}

# Each node's directory (data, socket, pgpass) is a tmpfs of F_DISK_MB: the disk-full scenario
# fills it, and nothing else on the machine notices.
f_mount_disk() {
	local n=$1
	mount -t tmpfs -o "size=${F_DISK_MB:-400}m,mode=700,uid=$(id -u postgres),gid=$(id -g postgres)" \
		"${F_PREFIX}$n" "$C_DIR/$n"
	F_MOUNTS+=("$C_DIR/$n")
}

f_start_node() {
	local n=$1 cmd
	if [ "$F_SYSTEM" = gsha ]; then
		cmd=("$GSHA_BUILD_DIR/gsha" "$C_DIR/$n.yml")
	else
		cmd=(patroni "$C_DIR/$n.yml")
	fi
	if [ "${F_CLOCK_SHIFT:-0}" = 1 ]; then
		cmd=(env LD_PRELOAD="$F_CLOCK_SO" CLOCK_SHIFT_FILE="$(f_clock_file "$n")" "${cmd[@]}")
	fi
	nsenter --net="/run/netns/$(f_ns "$n")" runuser -u postgres -- "${cmd[@]}" >>"$C_DIR/$n.log" 2>&1 &
	F_PID[$n]=$!
}

# ---- the node's wall clock (clock-step): with F_CLOCK_SHIFT=1 every node's agent, and so its
# PostgreSQL, runs with clock-shift.so preloaded, reading its offset from its own file (0 until
# a scenario writes it). The machine's clock is never touched.
f_clock_file() { echo "$F_DIR/clock-offset-$1"; }

# f_clock_set NODE MS: the node's wall clock runs MS milliseconds from true time from now on
# (within clock-shift's 20 ms re-read). Written to a temporary file and renamed over.
f_clock_set() {
	local f
	f=$(f_clock_file "$1")
	echo "$2" >"$f.tmp"
	chmod 644 "$f.tmp"
	mv -f "$f.tmp" "$f"
}

# f_clock_loaded PID: clock-shift.so is mapped into the process.
f_clock_loaded() { grep -q clock-shift "/proc/$1/maps" 2>/dev/null; }

f_agent_pid() {
	local r=${F_PID[$1]:-}
	[ -n "$r" ] || return 0
	pgrep -P "$r" | head -1
}

f_postmaster_pid() {
	local pid data="$C_DIR/$1/data"
	pid=$(head -1 "$data/postmaster.pid" 2>/dev/null || true)
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$data" && echo "$pid"
	return 0
}

f_kill_node() {
	local n=$1 agent pm pids
	agent=$(f_agent_pid "$n")
	pm=$(f_postmaster_pid "$n")
	pids="$agent ${F_PID[$n]:-}"
	[ -n "$pm" ] && pids="$pids $(pgrep -P "$pm" | tr '\n' ' ') $pm"
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null
	wait "${F_PID[$n]}" 2>/dev/null
	F_PID[$n]=
	return 0
}

f_stop_node() {
	local n=$1 agent pm
	agent=$(f_agent_pid "$n")
	# A stopped runuser (it stops itself when a scenario stops the agent) would leave the agent
	# a zombie, alive to kill -0, and its stop would wait out the whole 10 s.
	[ -n "${F_PID[$n]:-}" ] && kill -CONT "${F_PID[$n]}" 2>/dev/null
	[ -n "$agent" ] && f_stop_pid "$agent"
	[ -n "${F_PID[$n]:-}" ] && f_stop_pid "${F_PID[$n]}"
	F_PID[$n]=
	pm=$(f_postmaster_pid "$n")
	if [ -n "$pm" ]; then
		kill -CONT "$pm" 2>/dev/null
		kill -QUIT "$pm" 2>/dev/null
		f_wait 10 f_pid_gone "$pm" || kill -KILL "$pm" $(pgrep -P "$pm") 2>/dev/null
	fi
	return 0
}

f_psql() {
	local n=$1
	shift
	timeout 10 runuser -u postgres -- "$PG_BIN/psql" -X -q -A -t -h "$C_DIR/$n" -p 5432 \
		-U postgres -d postgres -v ON_ERROR_STOP=1 -c "$*" 2>/dev/null
}

f_rest() { # NODE PATH: the HTTP status, from the client namespace
	fx curl -s -o /dev/null -w '%{http_code}' -m 2 "http://$(f_ip "$1"):8008$2" 2>/dev/null || true
}

f_leader() { f_etcdctl get --print-value-only "/service/$C_SCOPE/leader" 2>/dev/null || true; }

f_primary() {
	local n found=""
	for n in "${F_NODES[@]}"; do
		if [ "$(f_psql "$n" "select pg_is_in_recovery()")" = f ]; then
			[ -z "$found" ] || return 0
			found=$n
		fi
	done
	echo "$found"
}

f_healthy() {
	local p
	p=$(f_primary)
	[ -n "$p" ] && [ "$(f_leader)" = "$p" ] || return 1
	[ "$(f_psql "$p" "select count(*) from pg_stat_replication where state = 'streaming'")" = 2 ]
}

f_haproxy_start() {
	local n cfg=$F_DIR/haproxy.cfg
	{
		cat <<CFG
global
	maxconn 200
defaults
	mode tcp
	retries 2
	timeout connect 2s
	timeout client 30m
	timeout server 30m
	timeout check 1s
listen primary
	bind 127.0.0.1:5000
	option httpchk OPTIONS /primary
	http-check expect status 200
	default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
CFG
		for n in "${F_NODES[@]}"; do
			echo "	server $n $(f_ip "$n"):5432 maxconn 100 check port 8008"
		done
	} >"$cfg"
	nsenter --net="/run/netns/$(f_ns cl)" haproxy -db -f "$cfg" >"$F_DIR/haproxy.log" 2>&1 &
	F_EXTRA_PIDS+=($!)
}

# The probes: one per node, in its namespace, on its local socket, every 100 ms.
f_probes_start() {
	local n
	for n in "${F_NODES[@]}"; do
		nsenter --net="/run/netns/$(f_ns "$n")" "$F_CLIENT" probe \
			"host=$C_DIR/$n port=5432 user=postgres dbname=postgres connect_timeout=1" \
			100 "$F_DIR/probe-$n.log" &
		F_EXTRA_PIDS+=($!)
	done
}

f_writer_start() {
	nsenter --net="/run/netns/$(f_ns cl)" "$F_CLIENT" write \
		"host=127.0.0.1 port=5000 user=postgres dbname=postgres connect_timeout=2" \
		86400 "${F_WRITE_INTERVAL_MS:-50}" "$F_DIR/writer.log" &
	F_WRITER_PID=$!
	F_EXTRA_PIDS+=($!)
}

f_writer_stop() {
	[ -n "${F_WRITER_PID:-}" ] || return 0
	f_stop_pid "$F_WRITER_PID"
	wait "$F_WRITER_PID" 2>/dev/null
	F_WRITER_PID=
	return 0
}

f_up() {
	F_SYSTEM=$1 F_MODE=$2
	local n e
	F_MOUNTS=()
	C_DIR=
	f_net_up
	[ "${F_ETCD_DISK:-}" != loop ] || f_etcd_disk_up || { f_log "no loop device for etcd"; return 1; }
	for e in "${F_ETCDS[@]}"; do f_start_etcd "$e"; done
	f_wait 30 f_etcd_healthy || { f_log "etcd did not become healthy in 30 s"; return 1; }
	c_init "$F_DIR/cluster" "" "faults-$F_PREFIX"
	if [ "${F_CLOCK_SHIFT:-0}" = 1 ]; then
		[ -r "$F_CLOCK_SO" ] || { f_log "$F_CLOCK_SO is missing: build first"; return 1; }
		for n in "${F_NODES[@]}"; do f_clock_set "$n" 0; done
	fi
	for n in "${F_NODES[@]}"; do
		f_config "$n"
		f_mount_disk "$n"
	done
	f_start_node node1
	f_wait 120 f_primary_is node1 || { f_log "node1 did not bootstrap in 120 s"; return 1; }
	f_start_node node2
	f_start_node node3
	f_wait 180 f_healthy || { f_log "the cluster was not healthy 180 s after bootstrap"; return 1; }
	if [ "$F_MODE" = sync ]; then
		f_wait 60 f_has_sync || { f_log "no synchronous standby within 60 s"; return 1; }
	fi
	f_psql node1 "create table gsha_fault_w(seq bigint primary key);
		create table gsha_fault_probe(seq bigint)" >/dev/null ||
		{ f_log "could not create the tables"; return 1; }
	f_haproxy_start
	f_probes_start
	F_REV0=$(f_etcdctl get "/service/$C_SCOPE/leader" -w json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
	f_wait 20 f_haproxy_routes || { f_log "HAProxy did not route to the primary in 20 s"; return 1; }
	return 0
}

f_primary_is() { [ "$(f_primary)" = "$1" ] && [ "$(f_leader)" = "$1" ]; }
# A synchronous standby streams and the sync key names it: only a member the sync key names may
# take over in synchronous mode (Patroni's rule), so a fault before the key names one would find
# no candidate, rightly, and the scenario would judge a failover that could not be.
f_has_sync() {
	[ -n "$(f_psql "$(f_primary)" "select 1 from pg_stat_replication where sync_state = 'sync'")" ] &&
		f_etcdctl get --print-value-only "/service/$C_SCOPE/sync" 2>/dev/null |
		python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if d.get("sync_standby") else 1)'
}
f_haproxy_routes() {
	fx env PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p 5000 -U postgres \
		-d postgres -c "select 1" 2>/dev/null | grep -q 1
}

# The leader key's last change (mod_revision), from a linearizable read; empty when the key is
# absent or etcd does not answer.
f_leader_mod_revision() {
	f_etcdctl get "/service/$C_SCOPE/leader" -w json 2>/dev/null | python3 -c '
import json, sys
kvs = json.load(sys.stdin).get("kvs") or []
print(kvs[0]["mod_revision"] if kvs else "")' 2>/dev/null
}

# The leader key's history since F_REV0, one line per change: "REVISION PUT VALUE" or
# "REVISION DELETE", read with a watch from that revision on the v3 gateway (curl's -m bounds it:
# a watch never ends by itself). A watch with no event to report runs its whole -m on every
# etcd in turn (9 s): when the key is there and was last written before F_REV0, there is no
# change to read and no watch is made (a deleted key, or one written since, still is).
f_leader_history() {
	local key e mod
	mod=$(f_leader_mod_revision)
	if [ -n "$mod" ] && [ "$mod" -lt "$F_REV0" ]; then
		echo "{\"note\": \"leader key last written at revision $mod, before $F_REV0: no change to watch\"}" \
			>"$F_DIR/leader-watch.json"
		return 0
	fi
	key=$(printf '%s' "/service/$C_SCOPE/leader" | base64 -w0)
	for e in "${F_ETCDS[@]}"; do
		fx curl -s -N -m 3 "http://$(f_ip "$e"):2379/v3/watch" \
			-d "{\"create_request\": {\"key\": \"$key\", \"start_revision\": $F_REV0}}" \
			>"$F_DIR/leader-watch.json" 2>/dev/null || true
		grep -q '"events"' "$F_DIR/leader-watch.json" && break
	done
	python3 "$(dirname "${BASH_SOURCE[0]}")/watch-history.py" \
		"$F_DIR/leader-watch.json"
}

f_down() {
	local n e pid m
	[ "$F_UP" = 1 ] || return 0
	# Also runs from the EXIT trap, where errexit is on: every step must run whatever fails.
	set +e
	for pid in "${F_EXTRA_PIDS[@]}"; do f_stop_pid "$pid"; done
	F_EXTRA_PIDS=()
	F_WRITER_PID=
	if [ -n "${C_DIR:-}" ]; then
		for n in "${F_NODES[@]}"; do f_stop_node "$n"; done
	fi
	for e in "${F_ETCDS[@]}"; do f_stop_pid "${F_PID[$e]:-}"; F_PID[$e]=; done
	for n in "${F_NODES[@]}"; do # the server logs live on the node's tmpfs
		[ -n "${C_DIR:-}" ] || break
		cp "$C_DIR/$n/data/postmaster.log" "$C_DIR/$n.postmaster.log" 2>/dev/null
		cp -r "$C_DIR/$n/data/log" "$C_DIR/$n.pglog" 2>/dev/null
	done
	f_etcd_disk_down
	for m in "${F_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	F_MOUNTS=()
	f_net_down
	F_UP=0
	return 0
}
