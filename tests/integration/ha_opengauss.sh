#!/usr/bin/env bash
# Issue 5 for openGauss, with the agent on the openGauss EMULATOR (tests/opengauss-emulator:
# PostgreSQL 15 dressed as openGauss, NOT openGauss) and real etcd: three gsha nodes with
# postgresql.engine opengauss. Bootstrap writes the cluster term key (1); two replicas are built
# and stream; kill -9 of the primary's agent and server: another node takes the leader key,
# raises the term key to 2 by compare-and-swap, promotes with gs_ctl failover -T 2, and the
# remaining replica follows it, having frozen its WAL receipt before the election and been pinned
# to the winner after it (2.11); the old primary, started again, is rebuilt from the new one with
# gs_ctl build -T 2 and streams. Bootstrap runs on node1 alone, so it ends Normal (opengauss.md
# 2.2) and becomes a Primary serving standbys when node2 and node3 join. Last, a native
# switchover (gs_ctl switchover -T 3, 2.4) under a writer: no acknowledged commit is lost and the
# old primary becomes a standby without a rebuild.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "og$$"
# The emulated tools are shell scripts: on a loaded machine a gs_guc reload of every setting
# takes more than the default retry_timeout of 1 s, and etcd answers late enough to cost a
# leader its lease. Wider margins keep the scenario about openGauss.
C_TTL=10
C_RETRY=2
C_BIN_DIR="$GSHA_SOURCE_DIR/tests/opengauss-emulator"
C_ENGINE=opengauss
C_CHECKSUMS=off # the emulated gs_initdb takes no --data-checksums
# The emulator's pending mode is a PostgreSQL hot standby, which refuses a max_connections below
# the one gs_initdb recorded (100): an emulator artefact, not an openGauss rule.
C_MAX_CONNECTIONS=100
for n in node1 node2 node3; do
	c_config "$n"
	# gs_initdb refuses a superuser password equal to the user name (opengauss.md 2.1).
	sed -i 's/^      password: postgres$/      password: Gsha@2024x/' "$C_DIR/$n.yml"
	# Members named by host name: the walreceiver's channel shows addresses only (2.7), so
	# the driver compares upstreams by address.
	sed -i "s/^  connect_address: 127.0.0.1:${C_PG_PORT[$n]}\$/  connect_address: localhost:${C_PG_PORT[$n]}/" "$C_DIR/$n.yml"
	grep -q "connect_address: localhost:${C_PG_PORT[$n]}" "$C_DIR/$n.yml" || t_fail "$n.yml: no localhost"
done

# --validate-config refuses what gs_initdb or the server would refuse (opengauss.md 2.1): a
# node name gs_initdb rejects, and a REST port on the HA port (postgresql port + 1).
validate() { "$GSHA_BUILD_DIR/gsha" --validate-config "$1" 2>&1; }
out=$(validate "$C_DIR/node1.yml") || t_fail "node1.yml is refused: $out"
sed 's/^name: node1$/name: node-1/' "$C_DIR/node1.yml" >"$C_DIR/bad_name.yml"
out=$(validate "$C_DIR/bad_name.yml") && t_fail "--validate-config accepted the node name node-1"
grep -q "node-1" <<<"$out" || t_fail "the refusal does not name node-1: $out"
api_bad=$((C_PG_PORT[node1] + 1))
sed -E "s/^(  (listen|connect_address): 127.0.0.1:)${C_API_PORT[node1]}$/\1$api_bad/" \
	"$C_DIR/node1.yml" >"$C_DIR/bad_port.yml"
out=$(validate "$C_DIR/bad_port.yml") && t_fail "--validate-config accepted the REST API on the HA port"
grep -q "HA port" <<<"$out" || t_fail "the refusal does not name the HA port: $out"
t_pass "--validate-config refuses a node name gs_initdb rejects and a REST port on the HA port (2.1)"

t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
		echo "---- $n og_emulator.log (tail)"
		tail -15 "$C_DIR/$n/data/og_emulator.log" 2>/dev/null
	done
	echo "---- term key: $(term_key)"
	c_dump_stacks
}

term_key() {
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/term" 2>/dev/null || true
}
leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
role_is() { c_running "$1" "$2"; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
# The term as the emulated server reports it (term_file or WAL, opengauss.md 2.8).
og_term() { c_psql "$1" "select og_emulator.term()"; }
term_is() { [ "$(og_term "$1")" = "$2" ]; }
key_is() { [ "$(term_key)" = "$1" ]; }

# ---- bootstrap: node1 first, so it wins initialize; the others are built from it.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" role_is node1 primary
t_wait_for 10 "the term key to be written" key_is 1
t_pass "bootstrap: node1 leads and the term key in etcd is 1"
t_assert_eq 1 "$(og_term node1)" "bootstrap: node1's openGauss term is 1"
og_role() { c_psql "$1" "select local_role from pg_stat_get_stream_replications()"; }
t_assert_eq Normal "$(og_role node1)" "bootstrap alone: node1 runs Normal, without replconninfo (2.2)"
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" role_is node2 replica
t_wait_for 90 "node3 to run as a replica" role_is node3 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('before-failover')" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 before-failover
t_wait_for 30 "the row to reach node3" has_row node3 before-failover
t_pass "bootstrap: node2 and node3 were built and stream from node1"
t_assert_eq Primary "$(og_role node1)" "members joined: node1 became a Primary serving standbys (2.2)"

# ---- node loss: the primary's agent and server die with -9.
c_kill node1 KILL
c_kill_db node1
t_wait_for 60 "node2 or node3 to take the leader key" leader_is_one_of node2 node3
new=$(c_leader)
other=node2
[ "$new" = node2 ] && other=node3
t_wait_for 30 "$new to run as primary" role_is "$new" primary
t_assert_eq 2 "$(term_key)" "failover: the term key in etcd was raised to 2"
t_pass "failover: $new took the leader key and raised the term key to 2"
t_wait_for 10 "$new's openGauss term to be 2" term_is "$new" 2
t_pass "failover: $new was promoted with term 2 (gs_ctl failover -T 2)"
c_psql "$new" "insert into marks values ('after-failover')" >/dev/null
t_wait_for 60 "the new row to reach $other" has_row "$other" after-failover
t_wait_for 30 "$other to run as a replica" role_is "$other" replica
t_wait_for 30 "$other's openGauss term to be 2" term_is "$other" 2
t_pass "failover: $other follows $new (the new row arrived, its term is 2)"
for n in "$new" "$other"; do
	grep -q "no leader: froze my WAL receipt" "$C_DIR/$n.log" ||
		t_fail "$n did not freeze its WAL receipt before the election"
done
t_pass "election: $new and $other froze their WAL receipt (disable_conn) before comparing (term, LSN) (2.11 lock1)"
pin=$(c_psql "$other" "select * from read_disable_conn_file()")
[[ "$pin" == "specify_connection|"*"|$((C_PG_PORT[$new] + 1))" ]] ||
	t_fail "$other is not pinned to $new's HA port: \"$pin\""
t_pass "election: $other is pinned to the winner $new (disable_conn specify_connection, 2.11 lock2)"

# ---- the old primary returns: first its server alone, started by hand as a stale primary with
# term 1 that takes a write the cluster never sees (it diverges), then its agent, which must
# rebuild it from the new primary with gs_ctl build -T 2 (opengauss.md 2.5).
t_as_postgres "$C_BIN_DIR/gs_ctl" start -D "$C_DIR/node1/data" -M primary >/dev/null 2>&1 ||
	t_fail "could not start node1's server as a stale primary"
t_wait_for 30 "node1's server to accept a write" \
	c_psql node1 "insert into marks values ('stale-write')"
t_assert_eq 1 "$(og_term node1)" "return: the stale primary still has term 1"
has_row "$other" stale-write && t_fail "the stale primary's write reached $other"
t_pass "return: $other did not follow the stale term-1 primary (2.8)"
t_as_postgres "$C_BIN_DIR/gs_ctl" stop -D "$C_DIR/node1/data" -m fast >/dev/null 2>&1
c_start node1
t_wait_for 120 "node1 to run as a replica" role_is node1 replica
t_wait_for 60 "the new row to reach node1" has_row node1 after-failover
t_wait_for 30 "node1's openGauss term to be 2" term_is node1 2
has_row node1 stale-write && t_fail "the stale write survived the rebuild"
grep -q "gs_ctl build -D .* -T 2" "$C_DIR/node1/data/og_emulator.log" ||
	t_fail "node1 was not rebuilt with gs_ctl build -T 2"
t_pass "return: the old primary was rebuilt with gs_ctl build -T 2 and streams from $new"

# ---- native switchover from $new to $other through the REST API, as patronictl does, while a
# writer commits one row per transaction on whichever node takes it and records each row whose
# COMMIT returned (opengauss.md 2.4: $new stops writes, $other has flushed its position, $new
# releases the leader key with its server running, $other takes it, raises the term to 3 and
# runs gs_ctl switchover -T 3, which turns $new into its standby).
c_psql "$new" "create table acked(id int primary key)" >/dev/null
t_wait_for 30 "the acked table to reach $other" c_psql "$other" "select 1 from acked limit 1 offset 0"
acked_file=$C_DIR/acked.txt
: >"$acked_file"
(
	i=0
	while [ ! -e "$C_DIR/writer.stop" ]; do
		i=$((i + 1))
		for n in "$new" "$other" node1; do
			if timeout 5 runuser -u postgres -- env PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q \
				-h "$C_DIR/$n" -p "${C_PG_PORT[$n]}" -U postgres -d postgres \
				-v ON_ERROR_STOP=1 -c "insert into acked values ($i)" >/dev/null 2>&1; then
				echo "$i" >>"$acked_file"
				break
			fi
		done
	done
) &
WRITER_PID=$!
t_register_pid "$WRITER_PID"
enough_rows() { [ "$(wc -l <"$acked_file")" -ge "$1" ]; }
t_wait_for 60 "the writer to get 20 commits acknowledged" enough_rows 20
before=$(wc -l <"$acked_file")
builds_of() { grep -c "gs_ctl build" "$C_DIR/$1/data/og_emulator.log"; }
builds_before=$(builds_of "$new")
t_switch=$(date +%s.%N)
curl -s -o "$C_DIR/switchover.out" -w '%{http_code}' -m 60 -X POST \
	-H 'Content-Type: application/json' -d "{\"leader\":\"$new\",\"candidate\":\"$other\"}" \
	"http://127.0.0.1:${C_API_PORT[$new]}/switchover" >"$C_DIR/switchover.code" 2>/dev/null &
request=$!
t_register_pid "$request"
t_wait_for 60 "$other to take the leader key" leader_is_one_of "$other"
t_wait_for 60 "$other to run as primary" role_is "$other" primary
t_log "switchover: $other answered /primary $(awk -v a="$t_switch" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the request"
t_wait_for 60 "$new to run as a replica" role_is "$new" replica
wait "$request" || true
t_assert_eq 200 "$(cat "$C_DIR/switchover.code")" \
	"switchover: POST /switchover answers 200 ($(cat "$C_DIR/switchover.out"))"
t_wait_for 60 "the writer to commit on $other" enough_rows $((before + 20))
touch "$C_DIR/writer.stop"
wait "$WRITER_PID" 2>/dev/null || true
acked=$(wc -l <"$acked_file")
t_assert_eq 3 "$(term_key)" "switchover: the term key in etcd was raised to 3"
t_wait_for 10 "$other's openGauss term to be 3" term_is "$other" 3
grep -q "gs_ctl switchover -D .* -T 3" "$C_DIR/$other/data/og_emulator.log" ||
	t_fail "$other was not promoted with gs_ctl switchover -T 3"
grep -q "handed the leader key to \"$other\"" "$C_DIR/$new.log" ||
	t_fail "$new did not hand the leader key over for a native switchover"
t_pass "switchover: $new stopped writes and handed the key over; $other ran gs_ctl switchover -T 3"
missing=$(c_psql "$other" "select count(*) from unnest(array[$(paste -sd, "$acked_file")]) as a(id)
	where not exists (select 1 from acked where acked.id = a.id)")
t_assert_eq 0 "$missing" "switchover: all $acked acknowledged commits are on $other"
[ "$(builds_of "$new")" = "$builds_before" ] || t_fail "the switchover's old primary was rebuilt"
c_psql "$other" "insert into marks values ('after-switchover')" >/dev/null
t_wait_for 60 "the new row to reach $new" has_row "$new" after-switchover
t_wait_for 60 "the new row to reach node1" has_row node1 after-switchover
t_wait_for 30 "$new's openGauss term to be 3" term_is "$new" 3
t_pass "switchover: the old primary $new is a standby of $other without a rebuild, and node1 follows"
# $other led nobody before the switchover, so any such line came after it.
settled() { grep -q "no action: I am a replica following leader \"$other\"" "$C_DIR/$1.log"; }
t_wait_for 30 "$new to settle as a replica of $other" settled "$new"
t_wait_for 30 "node1 to settle as a replica of $other" settled node1
t_pass "upstreams compared by address: the replicas of \"localhost\" members see the numeric channel as their leader and settle (2.7)"

# ---- synchronous mode, then the synchronous standby departs (opengauss.md 2.9): gsha keeps
# most_available_sync off, so the primary waits for the standby until gsha itself degrades,
# removing it from /sync before it leaves synchronous_standby_names.
sync_key() {
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/sync" 2>/dev/null || true
}
sync_standby() { sync_key | sed -n 's/.*"sync_standby": *"\([^"]*\)".*/\1/p'; }
sync_named() {
	local s
	s=$(sync_standby)
	[ -n "$s" ] && [[ "$(c_psql "$other" "show synchronous_standby_names")" == *"$s"* ]]
}
# One row per call; true when its COMMIT returned within 10 s.
commit_returns() {
	timeout 10 runuser -u postgres -- "$PG_BIN/psql" -X -q -h "$C_DIR/$other" -p "${C_PG_PORT[$other]}" \
		-U postgres -d postgres -v ON_ERROR_STOP=1 -c "insert into marks values ('sync-' || clock_timestamp())" \
		>/dev/null 2>&1
}
t_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH \
	-H 'Content-Type: application/json' -d '{"synchronous_mode": true}' \
	"http://127.0.0.1:${C_API_PORT[$other]}/config")" "sync: PATCH /config {\"synchronous_mode\": true} answers 200"
t_wait_for 60 "a synchronous standby in /sync and synchronous_standby_names" sync_named
s1=$(sync_standby)
grep -Eq "^most_available_sync = '?off'?" "$C_DIR/$other/data/og_emulator.conf" ||
	t_fail "most_available_sync is not off on $other"
commit_returns || t_fail "a synchronous commit did not return"
t_pass "sync: $s1 is synchronous (/sync and synchronous_standby_names), most_available_sync is off"
c_kill "$s1" KILL
c_kill_db "$s1"
t_log "the synchronous standby $s1 departed (agent and server killed)"
dropped() { [ "$(sync_standby)" != "$s1" ]; }
t_wait_for 60 "/sync to drop $s1" dropped
t_wait_for 60 "a commit on $other to return without $s1" commit_returns
[[ "$(c_psql "$other" "show synchronous_standby_names")" != *"$s1"* ]] ||
	t_fail "$s1 is still in synchronous_standby_names"
key_line=$(grep -n "removing standbys that are no longer synchronous from the sync key" "$C_DIR/$other.log" | tail -1 | cut -d: -f1)
names_line=$(grep -n "synchronous_standby_names" "$C_DIR/$other.log" | tail -1 | cut -d: -f1)
[ -n "$key_line" ] && [ -n "$names_line" ] && [ "$key_line" -lt "$names_line" ] ||
	t_fail "$other did not drop $s1 from /sync (line ${key_line:-none}) before synchronous_standby_names (line ${names_line:-none})"
t_pass "sync: $s1 departed; $other dropped it from /sync, then from synchronous_standby_names, and commits return"
t_done
