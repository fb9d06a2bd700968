#!/usr/bin/env bash
# Issue 5, synchronous mode on three nodes: the leader maintains the sync key and
# synchronous_standby_names; a writer records every row whose COMMIT returned; the primary (agent
# and postmaster) is killed with -9 mid-stream; only the synchronous standby takes over and every
# recorded row is on it. Then synchronous_mode_strict: with no standby left, writes block rather
# than go unprotected (the leader keeps naming the standby the sync key names, as Patroni does),
# and resume once a standby is back.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/lib/sync.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "sync$$"
for n in node1 node2 node3; do c_config "$n"; done

t_on_failure() {
	echo "---- sync key: $(sync_key)"
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -50 "$C_DIR/$n.log" 2>/dev/null
	done
}

role_is() { c_is "$1" "$2"; }
# The standby the sync key names ("" when none), and that the key's leader is $1.
sync_standby_of() {
	local k
	k=$(sync_key)
	echo "$k" | grep -q "\"leader\": *\"$1\"" || return 0
	echo "$k" | sed -n 's/.*"sync_standby": *"\([^"]*\)".*/\1/p'
}
# $1's sync standby is listed in /sync, named in synchronous_standby_names and confirmed sync.
sync_maintained() {
	local s ssn
	s=$(sync_standby_of "$1")
	[ -n "$s" ] || return 1
	ssn=$(tcp_psql "$1" "show synchronous_standby_names")
	[[ "$ssn" == *"$s"* ]] || return 1
	[ "$(tcp_psql "$1" "select sync_state from pg_stat_replication where application_name = '$s'")" = sync ]
}

# ---- a healthy cluster, then synchronous_mode switched on through PATCH /config.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" role_is node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" role_is node2 replica
t_wait_for 90 "node3 to run as a replica" role_is node3 replica
tcp_psql node1 "create table acked(id int primary key)" >/dev/null
t_assert_eq 200 "$(patch_config node1 '{"synchronous_mode": true}')" \
	"PATCH /config {\"synchronous_mode\": true} on the leader answers 200"
t_wait_for 60 "node1 to name a synchronous standby in /sync, synchronous_standby_names and pg_stat_replication" \
	sync_maintained node1
sync1=$(sync_standby_of node1)
case "$sync1" in node2) async1=node3 ;; node3) async1=node2 ;; *) t_fail "unexpected sync standby \"$sync1\"" ;; esac
t_pass "sync mode: /sync names $sync1, it is in synchronous_standby_names and replicates synchronously"
members_flag() { curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$1]}/cluster"; }
# /cluster answers from the leader's last published view: give it a cycle or two.
cluster_shows_sync() { members_flag node1 | tr -d ' \n' | grep -q "\"name\":\"$sync1\"[^}]*\"role\":\"sync_standby\""; }
t_wait_for 10 "REST /cluster to show $sync1 as sync_standby" cluster_shows_sync
t_pass "REST /cluster shows $sync1 as sync_standby"

# ---- the writer: one row per transaction, recorded only after COMMIT returned.
writer_start node1
t_wait_for 60 "the writer to get 30 commits acknowledged" acked_past 30

# ---- kill the primary mid-stream: agent and postmaster, -9.
rev0=$(ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get -w json \
	"/service/$C_SCOPE/leader" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
[ -n "$rev0" ] || t_fail "could not read etcd's revision before the kill"
kill_primary_under_writer node1
acked=$ACKED_TOTAL
t_wait_for 60 "a new leader" leader_is_one_of node2 node3
new_leader=$(c_leader)
t_assert_eq "$sync1" "$new_leader" "failover: the synchronous standby $sync1 took over (not $async1)"
t_wait_for 30 "$new_leader to run as primary" role_is "$new_leader" primary
missing=$(acked_missing "$new_leader")
t_assert_eq 0 "$missing" "failover: all $acked acknowledged rows are on $new_leader"

# Issue 14 (docs/timing.md, "Synchronous node loss"): the sync key names the new leader before
# it can acknowledge a commit, as Patroni's write_sync_state before its promotion: in the keys'
# history since the kill, the sync key's first write naming $new_leader as its leader comes
# before the first member key of $new_leader saying it runs as primary.
prefix=$(printf '%s' "/service/$C_SCOPE/" | base64 -w0)
prefix_end=$(printf '%s' "/service/${C_SCOPE}0" | base64 -w0)
curl -s -N -m 3 "$ETCD_URL/v3/watch" -d "{\"create_request\": {\"key\": \"$prefix\", \
\"range_end\": \"$prefix_end\", \"start_revision\": $((rev0 + 1))}}" >"$C_DIR/watch.json" || true
order=$(python3 - "$C_DIR/watch.json" "/service/$C_SCOPE" "$new_leader" <<'PY'
import base64, json, sys
text, scope, me = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
dec, pos, sync_rev, primary_rev = json.JSONDecoder(), 0, None, None
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    try:
        doc, pos = dec.raw_decode(text, pos)
    except ValueError:
        break
    for ev in doc.get("result", {}).get("events") or []:
        kv = ev.get("kv", {})
        if ev.get("type") == "DELETE":
            continue
        key = base64.b64decode(kv.get("key", "")).decode()
        rev = int(kv.get("mod_revision", 0))
        try:
            val = json.loads(base64.b64decode(kv.get("value", "")).decode())
        except ValueError:
            continue
        if not isinstance(val, dict):
            continue
        if key == scope + "/sync" and val.get("leader") == me and sync_rev is None:
            sync_rev = rev
        if key == scope + "/members/" + me and val.get("role") in ("primary", "master") \
                and primary_rev is None:
            primary_rev = rev
print(sync_rev, primary_rev)
PY
)
read -r sync_rev primary_rev <<<"$order"
echo "---- since revision $rev0: sync key names $new_leader at $sync_rev, its member key says primary at $primary_rev"
case "$sync_rev$primary_rev" in *None*) t_fail "the keys' history lacks a write: sync $sync_rev, primary $primary_rev" ;; esac
if [ "$sync_rev" -lt "$primary_rev" ]; then
	t_pass "failover: the sync key named $new_leader (revision $sync_rev) before it ran as primary (member key at $primary_rev)"
else
	t_fail "failover: $new_leader ran as primary (member key at $primary_rev) before the sync key named it (revision $sync_rev)"
fi

# ---- the new leader keeps the sync key and parameter, with the remaining replica.
t_wait_for 60 "$new_leader to make $async1 its synchronous standby" sync_maintained "$new_leader"
t_assert_eq "$async1" "$(sync_standby_of "$new_leader")" \
	"sync mode: after the failover /sync names $new_leader and $async1"

# ---- strict mode: with no standby left, writes block instead of going unprotected.
t_assert_eq 200 "$(patch_config "$new_leader" '{"synchronous_mode_strict": true}')" \
	"PATCH /config {\"synchronous_mode_strict\": true} answers 200"
c_kill "$async1" TERM
# As Patroni (replication_modes.rst, "Last known sync nodes"): the standby the sync key names is
# the last known to hold every commit, so the leader keeps waiting for it rather than for the
# placeholder (which it uses only when the key names nobody).
async1_gone() { [ -z "$(tcp_psql "$new_leader" "select 1 from pg_stat_replication where application_name = '$async1'")" ]; }
t_wait_for 60 "$async1's walsender on $new_leader to go" async1_gone
sleep 3 # a few leader cycles with nobody to name
t_assert_eq "$async1" "$(tcp_psql "$new_leader" "show synchronous_standby_names")" \
	"strict: with no standby, $new_leader keeps naming $async1, the standby the sync key names"
t_assert_eq "$async1" "$(sync_standby_of "$new_leader")" "strict: the sync key keeps $async1"
rc=0
PGCONNECT_TIMEOUT=2 timeout 4 "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "${C_PG_PORT[$new_leader]}" \
	-U postgres -d postgres -c "insert into acked values (-1)" >/dev/null 2>&1 || rc=$?
t_assert_eq 124 "$rc" "strict: a commit on $new_leader blocks while no standby is synchronous"
c_start "$async1"
t_wait_for 90 "$async1 to come back as a replica" role_is "$async1" replica
t_wait_for 60 "$new_leader to make $async1 synchronous again" sync_maintained "$new_leader"
t_assert_eq "" "$(tcp_psql "$new_leader" "insert into acked values (-2)")" \
	"strict: commits go through again once $async1 is synchronous"

# ---- strict mode, a failover: the promoted server names FIRST 1 of the members that may stream
# (Patroni 4.1 sets "*" before it promotes), so its first commit waits for whichever of them
# streams first, not for its next cycle after one does; never the placeholder while one may.
c_start node1
t_wait_for 180 "node1 to rejoin as a replica" role_is node1 replica
t_wait_for 60 "$new_leader to keep a synchronous standby" sync_maintained "$new_leader"
heir=$(sync_standby_of "$new_leader")
case "$heir" in node1) other=$async1 ;; "$async1") other=node1 ;; *) t_fail "unexpected sync standby \"$heir\"" ;; esac
old_leader=$new_leader
kill_node "$old_leader"
t_wait_for 60 "$heir, the synchronous standby, to lead" leader_is_one_of "$heir"
t_wait_for 30 "$heir to run as primary" role_is "$heir" primary
t0=$(date +%s%3N)
seen="" committed=0
for ((i = 0; i < 120; i++)); do
	v=$(ssn "$heir")
	[[ "|$seen|" == *"|$v|"* ]] || seen="$seen${seen:+|}$v"
	# Each try a new id: a commit cut off by the timeout still completes once a standby acks.
	if PGCONNECT_TIMEOUT=2 timeout 1 "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "${C_PG_PORT[$heir]}" \
		-U postgres -d postgres -c "insert into acked values ($((-100 - i)))" >/dev/null 2>&1; then
		committed=1
		break
	fi
done
t1=$(date +%s%3N)
t_log "strict failover: synchronous_standby_names on $heir from its promotion to its first commit: $seen; first commit $((t1 - t0)) ms after it ran as primary"
[ "$committed" = 1 ] || t_fail "strict: no commit on $heir within 120 tries (synchronous_standby_names: $seen)"
[[ "$seen" == *__patroni_strict_sync_replica_placeholder__* ]] &&
	t_fail "strict: $heir named the placeholder while $other could stream: $seen"
t_pass "strict failover: $heir waited for $other from its promotion on (never the placeholder) and committed $((t1 - t0)) ms after it ran as primary"
t_done
