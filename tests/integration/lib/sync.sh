#!/usr/bin/env bash
# Shared by the synchronous replication tests (ha_sync, ha_sync_count, ha_quorum): the sync key,
# SQL over TCP as an application connects, PATCH /config, and a writer that records every row
# whose COMMIT returned, to check later that none is missing on a new primary.
# Source common.sh, etcd.sh and cluster.sh first.
#
#   sync_key                 the sync key's value ("" when absent)
#   tcp_psql NODE SQL        runs SQL as postgres over TCP (5 s at most), prints the result
#   ssn NODE                 the node's synchronous_standby_names
#   patch_config NODE JSON   PATCH /config on the node, prints the HTTP status
#   writer_start NODE        inserts 1, 2, 3, ... into table acked on NODE, one per transaction,
#                            appending each acknowledged id to $C_DIR/acked.txt (WRITER_PID);
#                            once per test
#   writer_stop              stops it and waits for it
#   acked_count              how many ids were acknowledged
#   acked_past N             succeeds once more than N-1 ids were acknowledged
#   acked_missing NODE       how many acknowledged ids NODE's table acked lacks
#   kill_node NODE           kill -9 the node's agent and postmaster
#   kill_primary_under_writer NODE
#                            kills NODE (the writer's target) with -9, stops the writer, and sets
#                            ACKED_TOTAL to how many commits were acknowledged (not in a $(...):
#                            the writer and the agents are this shell's children)
#   leader_is_one_of NAME... succeeds when the leader key names one of them

sync_key() {
	ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/sync" 2>/dev/null || true
}

tcp_psql() {
	PGCONNECT_TIMEOUT=2 timeout 5 "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 \
		-p "${C_PG_PORT[$1]}" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2" 2>/dev/null
}

ssn() { tcp_psql "$1" "show synchronous_standby_names"; }

patch_config() {
	curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH -H 'Content-Type: application/json' \
		-d "$2" "http://127.0.0.1:${C_API_PORT[$1]}/config"
}

WRITER_PID=
writer_start() {
	local node=$1
	: >"$C_DIR/acked.txt"
	rm -f "$C_DIR/writer.stop"
	(
		i=0
		while [ ! -e "$C_DIR/writer.stop" ]; do
			i=$((i + 1))
			if PGCONNECT_TIMEOUT=2 timeout 3 "$PG_BIN/psql" -X -q -h 127.0.0.1 \
				-p "${C_PG_PORT[$node]}" -U postgres -d postgres -v ON_ERROR_STOP=1 \
				-c "insert into acked values ($i)" >/dev/null 2>&1; then
				echo "$i" >>"$C_DIR/acked.txt"
			fi
		done
	) &
	WRITER_PID=$!
	t_register_pid "$WRITER_PID"
}

writer_stop() {
	touch "$C_DIR/writer.stop"
	wait "$WRITER_PID" 2>/dev/null || true
}

acked_count() { wc -l <"$C_DIR/acked.txt"; }
acked_past() { [ "$(acked_count)" -ge "$1" ]; }

acked_missing() {
	tcp_psql "$1" "select count(*) from unnest(array[$(paste -sd, "$C_DIR/acked.txt")]::int[])
		as a(id) where not exists (select 1 from acked where acked.id = a.id)"
}

kill_node() {
	local pid
	pid=$(c_postmaster_pid "$1")
	c_kill "$1" KILL
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	return 0
}

kill_primary_under_writer() {
	kill_node "$1"
	writer_stop
	ACKED_TOTAL=$(acked_count)
	t_log "the writer had $ACKED_TOTAL commits acknowledged when $1 was killed"
}

leader_is_one_of() {
	local l
	l=$(c_leader)
	[ -n "$l" ] && [[ " $* " == *" $l "* ]]
}
