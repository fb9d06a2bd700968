#!/usr/bin/env bash
# dcs against a real three-member etcd cluster: one member down changes nothing; two down makes
# calls fail as transient within retry_timeout; when the members return, everything recovers.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/dcs.sh"

t_start_etcd_cluster
TTL_MS=3000
RETRY_MS=3000
CLIENT=("$GSHA_DCS_CLIENT" --endpoints="$ETCD_ENDPOINTS" --ttl-ms=$TTL_MS --retry-ms=$RETRY_MS)
dc() { "${CLIENT[@]}" "$@"; }
leader_of() { dc read 2>/dev/null | sed -n 's/^leader=//p'; }
holder_leads() { [ "$(leader_of)" = holder ]; }
read_works() { dc read >/dev/null 2>&1; }
out=$(t_tmpdir)

# A holder renewing the lock and a watcher logging wake-ups, both through e0 first.
"${CLIENT[@]}" --name=holder hold 0 >"$out/hold.out" 2>"$out/hold.err" &
holder=$!
t_register_pid $holder
t_wait_for 15 "holder takes the lock" grep -q '^holding' "$out/hold.out"
"${CLIENT[@]}" watch-log 300 >"$out/watch.out" 2>"$out/watch.err" &
watcher=$!
t_register_pid $watcher
t_wait_for 10 "watcher starts" grep -q '^watching' "$out/watch.out"
t_pass "3-member cluster: holder took the lock, watcher is watching"

# One member down: the raft leader, so the survivors go through a leader election while the
# holder keeps renewing (Patroni's worst bugs: keepalives failing after an etcd leader change).
raft_leader() {
	etcdctl --endpoints="$ETCD_ENDPOINTS" endpoint status -w json | python3 -c '
import json, sys
st = json.load(sys.stdin)
leader = st[0]["Status"]["leader"]
urls = sys.argv[1].split(",")
print([urls.index(s["Endpoint"]) for s in st if s["Status"]["header"]["member_id"] == leader][0])' "$ETCD_ENDPOINTS"
}
first=$(raft_leader)
t_etcd_member_kill "$first"
t_log "the raft leader was e$first"
for _ in $(seq 8); do
	holder_leads || t_fail "leader key lost after the etcd leader (e$first) died"
	sleep 0.5
done
t_pass "etcd leader e$first killed: the holder's keepalive kept the lock through the election"
rc=0
dc --name=other take-leader 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "one member down: a second client's leader attempt is a conflict, not an error"
rev=$(dc cas-config '{"ttl":30}' absent 2>/dev/null | sed -n 's/^mod_revision=//p')
[ -n "$rev" ] || t_fail "one member down: config CAS create failed"
rc=0
dc cas-config '{"ttl":31}' absent 2>/dev/null || rc=$?
t_assert_eq 12 "$rc" "one member down: a CAS conflict is still reported as a conflict"
n_before=$(grep -c status "$out/watch.out" || true)
dc write-status '{"optime":1}' 2>/dev/null || t_fail "one member down: write status"
t_wait_for 10 "the long-running watcher sees the status change" \
	bash -c "[ \$(grep -c status '$out/watch.out') -gt $n_before ]"
t_pass "one member down: the long-running watch still wakes on changes"
woke=$(dc watch-wake 3 2>/dev/null | sed -n 's/^woke=//p')
t_assert_eq "3 rounds=3" "$woke" "one member down: a new watch wakes on every change"

# Two members down: no quorum. Calls fail as transient, within retry_timeout.
second=$(((first + 1) % 3))
t_etcd_member_kill "$second"
for cmd in read take-leader "cas-config {\"ttl\":32} $rev" "write-status {\"optime\":2}"; do
	rc=0
	# shellcheck disable=SC2086
	dc --name=other $cmd 2>"$out/err" || rc=$?
	elapsed=$(sed -n 's/^elapsed_ms=//p' "$out/err")
	t_log "no quorum: $cmd -> exit $rc after ${elapsed} ms: $(head -1 "$out/err")"
	[ "$rc" = 11 ] || t_fail "no quorum: \"$cmd\" should fail as transient (exit 11), got $rc"
	# The bound under test is the client's own deadline (retry_timeout), plus process start-up.
	[ "$elapsed" -le $((RETRY_MS + 1000)) ] ||
		t_fail "no quorum: \"$cmd\" blocked ${elapsed} ms, longer than retry_timeout ${RETRY_MS} ms"
done
t_pass "two members down: read, take-leader, CAS and put all fail as transient within retry_timeout"

# The members return: reads recover and the holder still (or again) holds the lock.
t_etcd_member_start "$first"
t_etcd_member_start "$second"
t_wait_for 30 "reads recover after the members return" read_works
t_pass "members back: reads work again"
t_wait_for 30 "the holder holds the lock after recovery" holder_leads
t_pass "members back: the holder holds the lock (renewed, or re-put on a new lease)"
n_before=$(grep -c status "$out/watch.out" || true)
dc write-status '{"optime":3}' 2>/dev/null || t_fail "write status after recovery"
t_wait_for 15 "the long-running watcher wakes again after recovery" \
	bash -c "[ \$(grep -c status '$out/watch.out') -gt $n_before ]"
t_pass "members back: the long-running watch recovered and wakes on changes"

# A member that hangs (SIGSTOP: connections stay open, nothing moves) must not stall a watch
# silently: a watcher whose stream is on the frozen member must notice and move on.
third=$(((first + 2) % 3))
others="${ETCD_CLIENT_URL[$first]},${ETCD_CLIENT_URL[$second]}"
"$GSHA_DCS_CLIENT" --endpoints="${ETCD_CLIENT_URL[$third]},$others" \
	--ttl-ms=$TTL_MS --retry-ms=$RETRY_MS watch-log 300 >"$out/watch2.out" 2>"$out/watch2.err" &
watcher2=$!
t_register_pid $watcher2
t_wait_for 10 "second watcher starts on e$third" grep -q '^watching' "$out/watch2.out"
sleep 1
kill -STOP "${ETCD_MEMBER_PID[$third]}"
t_log "froze etcd member e$third (SIGSTOP)"
"$GSHA_DCS_CLIENT" --endpoints="$others" write-status \
	'{"optime":4}' 2>/dev/null || t_fail "write status with e$third frozen"
t_wait_for 20 "the watcher stuck on frozen e$third rebuilds its watch and wakes" \
	grep -q status "$out/watch2.out"
t_pass "frozen member: the stalled watch was detected and rebuilt on a live member"
for _ in $(seq 4); do
	holder_leads || t_fail "leader key lost while e$third was frozen"
	sleep 0.5
done
kill -CONT "${ETCD_MEMBER_PID[$third]}"
t_pass "frozen member: the holder kept the lock"
kill -0 $holder 2>/dev/null || t_fail "holder exited: $(cat "$out/hold.err")"
t_done
