#!/usr/bin/env bash
# dcs against one real etcd: leader race, keepalive and expiry, CAS conflicts, watch wake-ups.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/etcd.sh"
. "$(dirname "$0")/lib/dcs.sh"

t_start_etcd
TTL_MS=3000
dc() { t_dcs_client --endpoints="$ETCD_URL" --ttl-ms=$TTL_MS --retry-ms=3000 "$@"; }
leader_of() { dc read 2>/dev/null | sed -n 's/^leader=//p'; }
no_leader() { [ -z "$(leader_of)" ]; }
leader_lease_of() { dc read 2>/dev/null | sed -n 's/^leader_lease=//p'; }

# 1. Leader race: two clients at once, ten rounds; exactly one wins each round.
for round in $(seq 10); do
	dc delete-cluster 2>/dev/null
	rc1=0 rc2=0
	"$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --name=node1 take-leader 2>/dev/null &
	p1=$!
	"$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --name=node2 take-leader 2>/dev/null &
	p2=$!
	wait $p1 || rc1=$?
	wait $p2 || rc2=$?
	winner=$(leader_of)
	case "$rc1/$rc2/$winner" in
	0/12/node1 | 12/0/node2) ;;
	*) t_fail "race round $round: exit codes $rc1 and $rc2 (0 = won, 12 = conflict), leader \"$winner\"" ;;
	esac
done
t_pass "leader race: exactly one of two clients won in each of 10 rounds, the other saw a conflict"

# 2. Keepalive holds the key across several TTLs; killing the holder lets it expire.
dc delete-cluster 2>/dev/null
# The binary itself, not the dc function: the PID must be the process that holds the lease.
"$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --ttl-ms=$TTL_MS --retry-ms=3000 --name=holder \
	hold 0 >"$(t_tmpdir)/hold.out" 2>"$(t_tmpdir)/hold.err" &
holder=$!
t_register_pid $holder
t_wait_for 10 "holder takes the lock" grep -q '^holding' "$(t_tmpdir)/hold.out"
lease=$(leader_lease_of)
deadline=$((SECONDS + 2 * TTL_MS / 1000))
while [ $SECONDS -lt $deadline ]; do
	[ "$(leader_of)" = holder ] || t_fail "leader key lost while the holder kept its lease alive"
	[ "$(leader_lease_of)" = "$lease" ] || t_fail "leader key moved to another lease"
	sleep 0.5
done
t_pass "keepalive held the leader key for 2 TTLs on the same lease (the key was not rewritten)"
kill -KILL $holder
wait $holder 2>/dev/null || true
[ "$(leader_of)" = holder ] || t_fail "leader key vanished at once when the holder died"
killed_at=$SECONDS
t_wait_for 15 "leader key expires after the holder is killed" no_leader
t_pass "killed holder: the key outlived the kill and expired with the lease ($((SECONDS - killed_at)) s, TTL $((TTL_MS / 1000)) s)"

# 2b. A replica's cycle (read + touch member) keeps its member key alive on one lease, and
# rewrites the key when someone deletes it.
member_lease_of() { dc read 2>/dev/null | sed -n "s/^member=$1 .* lease=//p"; }
"$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --ttl-ms=$TTL_MS --retry-ms=3000 --name=replica1 \
	member 30 >"$(t_tmpdir)/member.out" 2>"$(t_tmpdir)/member.err" &
replica=$!
t_register_pid $replica
t_wait_for 10 "replica registers" grep -q '^cycle' "$(t_tmpdir)/member.out"
mlease=$(member_lease_of replica1)
[ -n "$mlease" ] || t_fail "replica member key missing after its first cycle"
deadline=$((SECONDS + 2 * TTL_MS / 1000))
while [ $SECONDS -lt $deadline ]; do
	[ "$(member_lease_of replica1)" = "$mlease" ] ||
		t_fail "replica member key lost or moved to another lease while its cycles ran"
	sleep 0.5
done
t_pass "replica cycles kept the member key alive for 2 TTLs on one lease"
etcdctl --endpoints="$ETCD_URL" del /service/batman/members/replica1 >/dev/null
replica_back() { [ -n "$(member_lease_of replica1)" ]; }
t_wait_for 10 "the deleted member key is rewritten" replica_back
t_pass "a deleted member key is rewritten by the next cycle"
kill $replica
wait $replica 2>/dev/null || true

# 3. CAS on config and failover: conflicts are reported as conflicts (exit 12).
rev=$(dc cas-config '{"ttl":30,"loop_wait":10}' absent 2>/dev/null | sed -n 's/^mod_revision=//p')
[ -n "$rev" ] || t_fail "create config with CAS absent"
rc=0
dc cas-config '{"ttl":31}' absent 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "config create on an existing key is a conflict"
rev2=$(dc cas-config '{"ttl":32}' "$rev" 2>/dev/null | sed -n 's/^mod_revision=//p')
[ -n "$rev2" ] && [ "$rev2" -gt "$rev" ] || t_fail "config CAS on the current mod_revision"
rc=0
dc cas-config '{"ttl":33}' "$rev" 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "config CAS on a stale mod_revision is a conflict"
t_assert_eq '{"ttl":32}' "$(dc read 2>/dev/null | sed -n 's/^config=//p')" "config holds the last successful CAS"
frev=$(dc write-failover '{"leader":"node1","member":"node2"}' any 2>/dev/null | sed -n 's/^mod_revision=//p')
rc=0
dc clear-failover $((frev - 1)) 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "clearing failover on a stale revision is a conflict"
dc clear-failover "$frev" 2>/dev/null || t_fail "clear failover on its revision"
t_assert_eq '{}' "$(etcdctl --endpoints="$ETCD_URL" get --print-value-only /service/batman/failover)" \
	"cleared failover key holds {} as Patroni writes it"

# 3a. The openGauss term key: created only when absent, raised only on its current revision.
trev=$(dc cas-term 1 absent 2>/dev/null | sed -n 's/^mod_revision=//p')
[ -n "$trev" ] || t_fail "create the term key with CAS absent"
t_assert_eq 1 "$(etcdctl --endpoints="$ETCD_URL" get --print-value-only /service/batman/term)" \
	"the term key holds decimal text"
rc=0
dc cas-term 1 absent 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "term create on an existing key is a conflict"
trev2=$(dc cas-term 2 "$trev" 2>/dev/null | sed -n 's/^mod_revision=//p')
[ -n "$trev2" ] && [ "$trev2" -gt "$trev" ] || t_fail "term CAS on the current mod_revision"
rc=0
dc cas-term 3 "$trev" 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "term CAS on a stale mod_revision is a conflict"
t_assert_eq "term=2 valid=1" "$(dc read 2>/dev/null | grep '^term=')" "the view reads the term of the last successful CAS"

# 3b. A restarted agent whose name is still in the leader key adopts it on its new lease with
# a renewal (VALUE==name); an agent with another name cannot.
dc delete-cluster 2>/dev/null
dc --name=node1 take-leader 2>/dev/null || t_fail "take leader before the restart check"
old_lease=$(leader_lease_of)
rc=0
dc --name=node2 renew-leader 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "renewal by another member's process is a conflict"
dc --name=node1 renew-leader 2>/dev/null || t_fail "renewal by a restarted node1"
new_lease=$(leader_lease_of)
[ "$(leader_of)" = node1 ] && [ -n "$new_lease" ] && [ "$new_lease" != "$old_lease" ] ||
	t_fail "restarted node1 did not move the leader key to its new lease ($old_lease -> $new_lease)"
t_pass "a restarted leader adopts its leader key on its new lease; a stranger cannot"

# 4. Release: only the holder's name releases; a stranger gets a conflict.
dc delete-cluster 2>/dev/null
dc --name=node1 take-leader 2>/dev/null || t_fail "take leader for the release check"
rc=0
dc --name=node2 release-leader 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "release by a member that does not hold the lock is a conflict"
dc --name=node1 release-leader 2>/dev/null || t_fail "release by the holder"
t_assert_eq "" "$(leader_of)" "the holder's release deleted the leader key"

# 5. The watch wakes a waiter within 100 ms of a change (5 rounds, figures printed).
out=$(dc watch-wake 5 2>/dev/null) || t_fail "watch-wake: some change did not wake the waiter: $out"
echo "$out"
fast=$(echo "$out" | awk -F'[= ]' '/^wake_ms=[0-9]/ && $2 < 100 { n++ } END { print n + 0 }')
# One slow round is tolerated on a loaded machine; the watch is event-driven, not polled.
[ "$fast" -ge 4 ] || t_fail "only $fast of 5 wake-ups came within 100 ms"
t_pass "watch woke the waiter within 100 ms in $fast of 5 rounds"

# 6. A watch whose start revision was compacted away rebuilds from now and says "re-read".
out=$(t_tmpdir)
DCS_CLIENT_WATCH_DELAY_MS=2000 "$GSHA_DCS_CLIENT" --endpoints="$ETCD_URL" --ttl-ms=$TTL_MS \
	watch-log 60 >"$out/compact.out" 2>"$out/compact.err" &
cwatch=$!
t_register_pid $cwatch
t_wait_for 10 "the compaction watcher has read" grep -q '^read' "$out/compact.out"
for i in 1 2 3; do dc write-status "{\"optime\":$((100 + i))}" 2>/dev/null; done
rev=$(etcdctl --endpoints="$ETCD_URL" endpoint status -w json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
etcdctl --endpoints="$ETCD_URL" compact "$rev" >/dev/null
t_wait_for 15 "the watcher reports a resync after its start revision was compacted" \
	grep -q resync "$out/compact.out"
n_before=$(grep -c status "$out/compact.out" || true)
dc write-status '{"optime":200}' 2>/dev/null
t_wait_for 10 "the rebuilt watch wakes on the next change" \
	bash -c "[ \$(grep -c status '$out/compact.out') -gt $n_before ]"
t_pass "compacted start revision: the watch was rebuilt, announced a re-read, and wakes again"
t_done
