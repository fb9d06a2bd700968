#!/usr/bin/env bash
# Helpers for tests/integration/container.sh: the images (built once, then kept as a cache), the
# test's own network, containers and volumes (removed at exit by the names this test gave them),
# and what the checks ask of the cluster. Source after lib/common.sh.
#
# This machine's podman: rootful, runc (crun refuses the mixed cgroup setup), explicit ulimits
# (podman's defaults ask for more than the hard limit allows).
#
#   ct_images                      the base, gsha and test-tools images (cached, see below)
#   ct_net_create                  the test's network
#   ct_run NAME ALIAS IMAGE ARGS.. start a container of the test on its network with ALIAS
#                                  (CT_NOFILE=N ct_run ...: another limit of descriptors)
#   ct_gsha N                      start member gsha-N as the StatefulSet's pod would run
#   ct_ip NAME                     its address on the test's network
#   ct_exec NAME CMD...            podman exec in one of the test's containers
#   ct_leader                      the leader key's value, read from etcd
#   ct_member_json N               GET /patroni of gsha-N, from inside the network (by address)
#   ct_role N / ct_state N         its role and state
set -euo pipefail

CT_ID=ct$$$RANDOM
CT_NET=gsha-$CT_ID
CT_BASE=localhost/gsha-test-base:bookworm-minbase
CT_IMAGE=localhost/gsha-test:latest
CT_TOOLS=localhost/gsha-test-tools:latest
CT_SCOPE=demo
CT_LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
CT_NOFILE=1024
CT_ETCD_HOSTS=etcd:2379 # ct_gsha's PATRONI_ETCD3_HOSTS
CT_CONTAINERS=() # names this test created, removed at exit
CT_VOLUMES=()
CT_NET_MADE=""

ct_podman() { podman --runtime runc --network-backend netavark "$@"; }

ct_cleanup() {
	local c
	for c in "${CT_CONTAINERS[@]}"; do
		ct_podman rm -f -t 0 "$c" >/dev/null 2>&1 || true
	done
	for c in "${CT_VOLUMES[@]}"; do
		ct_podman volume rm -f "$c" >/dev/null 2>&1 || true
	done
	[ -n "$CT_NET_MADE" ] && ct_podman network rm -f "$CT_NET" >/dev/null 2>&1
	return 0
}
T_CLEANUP_HOOKS+=(ct_cleanup)

# The Debian mirror this machine's apt uses (the only one reachable), for debootstrap.
ct_mirror() {
	local m
	m=$(grep -hsE '^(URIs:|deb)[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -1)
	echo "${GSHA_DEBIAN_MIRROR:-${m:-http://deb.debian.org/debian}}"
}

# The cache: the base image is made once per machine (debootstrap takes about two minutes); the
# gsha image is rebuilt each run, but podman's layer cache keys every step on the Dockerfile and
# the files it copies, so an unchanged tree rebuilds nothing and a changed source only compiles.
ct_images() {
	local log=$t_tmpdir/build.log old new rootfs
	if ! ct_podman image exists "$CT_BASE"; then
		rootfs=$t_tmpdir/rootfs
		t_log "making the base image $CT_BASE with debootstrap from $(ct_mirror)"
		debootstrap --variant=minbase bookworm "$rootfs" "$(ct_mirror)" >"$t_tmpdir/debootstrap.log" 2>&1 ||
			t_fail "debootstrap failed: $(tail -3 "$t_tmpdir/debootstrap.log")"
		# The builds run apt-get update; the lists and packages debootstrap left are dead weight.
		rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*
		tar -C "$rootfs" -c . | ct_podman import - "$CT_BASE" >/dev/null ||
			t_fail "podman import of the debootstrap tree failed"
		rm -rf "$rootfs"
	fi
	old=$(ct_podman image inspect --format '{{.Id}}' "$CT_IMAGE" 2>/dev/null || true)
	ct_podman build --pull=never "${CT_LIMITS[@]}" --build-arg "BASE=$CT_BASE" \
		-f "$GSHA_SOURCE_DIR/docker/Dockerfile" -t "$CT_IMAGE" "$GSHA_SOURCE_DIR" >"$log" 2>&1 ||
		t_fail "podman build of docker/Dockerfile failed: $(tail -5 "$log")"
	new=$(ct_podman image inspect --format '{{.Id}}' "$CT_IMAGE")
	# The image this run replaced is of no further use (its build layers stay, as the cache).
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		ct_podman rmi "$old" >/dev/null 2>&1 || true
	fi
	ct_podman build --pull=never "${CT_LIMITS[@]}" --build-arg "BASE=$CT_BASE" \
		-f "$GSHA_SOURCE_DIR/tests/docker/tools.Containerfile" -t "$CT_TOOLS" \
		"$GSHA_SOURCE_DIR/tests/docker" >>"$log" 2>&1 ||
		t_fail "podman build of tests/docker/tools.Containerfile failed: $(tail -5 "$log")"
}

ct_net_create() {
	ct_podman network create "$CT_NET" >/dev/null
	CT_NET_MADE=1
}

ct_run() {
	local name=$CT_ID-$1 alias=$2
	shift 2
	CT_CONTAINERS+=("$name")
	ct_podman run -d --name "$name" --network "$CT_NET" --network-alias "$alias" \
		--log-driver k8s-file --ulimit "nofile=$CT_NOFILE:$CT_NOFILE" \
		--ulimit nproc=1000:1000 "$@" >/dev/null
}

# Member N as the StatefulSet runs pod gsha-N: its name, the environment the manifest gives it
# (ConfigMap and Secret), its own volume at the manifest's mount point, the manifest's user.
ct_gsha() {
	local n=$1
	CT_VOLUMES+=("$CT_ID-pgdata-$n")
	ct_podman volume create "$CT_ID-pgdata-$n" >/dev/null 2>&1 || true
	ct_run "gsha-$n" "gsha-$n.gsha" --hostname "gsha-$n" --user "$CT_UID:$CT_UID" \
		-v "$CT_ID-pgdata-$n:/home/postgres/pgdata" \
		-e POD_NAME="gsha-$n" -e PATRONI_SCOPE="$CT_SCOPE" -e PATRONI_NAMESPACE=/service/ \
		-e PATRONI_ETCD3_HOSTS="$CT_ETCD_HOSTS" -e PATRONI_LOG_FORMAT=text \
		-e PATRONI_SUPERUSER_PASSWORD=su-secret -e PATRONI_REPLICATION_PASSWORD=repl-secret \
		-e PATRONI_RESTAPI_USERNAME=gsha -e PATRONI_RESTAPI_PASSWORD=rest-secret \
		-e GSHA_TTL=10 -e GSHA_LOOP_WAIT=2 -e GSHA_RETRY_TIMEOUT=3 \
		"$CT_IMAGE"
}

# A container's address on the test's network.
ct_ip() {
	ct_podman inspect --format "{{(index .NetworkSettings.Networks \"$CT_NET\").IPAddress}}" \
		"$CT_ID-$1"
}

ct_exec() {
	local name=$CT_ID-$1
	shift
	ct_podman exec "$name" "$@"
}

ct_leader() {
	ct_exec etcd etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=2s get \
		--print-value-only "/service/$CT_SCOPE/leader"
}

# By the member's current address (podman inspect), not its name: a container stopped and
# started again comes back with a new address, and around such a restart podman's DNS
# (aardvark-dns 1.4) at times left the client's lookups of gsha-N.gsha unanswered for 20-34 s
# while the agent already answered at its new address; the member checks waited on the DNS.
# HAProxy and the members still find each other by the StatefulSet's names.
ct_member_json() {
	local ip
	ip=$(ct_ip "gsha-$1") && [ -n "$ip" ] || return 1
	ct_exec client curl -s -m 2 "http://$ip:8008/patroni"
}

ct_field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
ct_role() { ct_member_json "$1" | ct_field role; }
ct_state() { ct_member_json "$1" | ct_field state; }

# psql in the client container: through HAProxy (host haproxy) or straight to a member.
ct_psql() {
	local host=$1 port=$2
	shift 2
	# The client reaches HAProxy by address: podman's DNS server has failed to answer under load
	# ("Temporary failure in name resolution"), which is not what the test is about. HAProxy
	# itself still finds the members by their StatefulSet names.
	if [ "$host" = haproxy ]; then
		[ -n "${CT_HAPROXY_IP:-}" ] || CT_HAPROXY_IP=$(ct_ip haproxy)
		host=$CT_HAPROXY_IP
	fi
	ct_exec client env PGPASSWORD=su-secret PGCONNECT_TIMEOUT=3 psql -h "$host" -p "$port" \
		-U postgres -d postgres -X -A -t -v ON_ERROR_STOP=1 "$@"
}

# "pid state name" of every process in a container, from /proc (the image has no ps).
ct_procs() {
	ct_exec "$1" sh -c 'for p in /proc/[0-9]*; do
		read -r pid comm state rest <"$p/stat" 2>/dev/null && echo "$pid $state $comm"
	done'
}
