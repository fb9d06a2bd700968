#!/usr/bin/env bash
# Starts a single-member etcd on free loopback ports: sets ETCD_PORT, ETCD_URL, ETCD_PID.
# Source common.sh first. Three-member clusters: see the dcs tests.
t_start_etcd() {
	local dir
	dir=$(t_tmpdir)/etcd-$$-$RANDOM
	ETCD_PORT=$(t_free_port)
	local peer
	peer=$(t_free_port)
	ETCD_URL="http://127.0.0.1:$ETCD_PORT"
	etcd --name single --data-dir "$dir" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "single=http://127.0.0.1:$peer" \
		>"$dir.log" 2>&1 &
	ETCD_PID=$!
	t_register_pid "$ETCD_PID"
	t_wait_for 20 "etcd on $ETCD_URL" curl -sf "$ETCD_URL/health"
	export ETCD_PORT ETCD_URL ETCD_PID
}
