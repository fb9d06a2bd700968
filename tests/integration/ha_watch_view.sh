#!/usr/bin/env bash
# Issue 15: the cluster view is kept by the watch, and a change another node makes is acted on
# at once, not at the next loop_wait tick. Two nodes at ttl 35, loop_wait 15, retry_timeout 10.
#
# Idle: over 20 s (more than a loop_wait) etcd receives no read of the cluster (no Txn; gsha
# reads with one txn of ranges); what it does receive is printed (keepalives, the watch's
# keys-only stall probe, member keys written when their document changed).
# Acted on at once: changes are written straight into etcd with etcdctl, as another node (or
# patronictl) would. The proof that a reaction came from the watch and not from the periodic
# cycle is its timing against a cycle we know of: a node's periodic cycle comes loop_wait (15 s)
# after its previous cycle, so once both nodes reacted to a change made at T (a cycle of each at
# or after T), anything they do before T + 15 s was woken by an event. Each step below is
# checked against the change before it:
#   1. config pause: true (no bound: it only fixes the phase), 2. config pause: false, both member
#   keys without pause, 3. a failover key asking node1 -> node2: node2 holds the leader key,
#   then (node1 rejoined, phase fixed again with pause on/off) 4. the leader key deleted: a
#   node holds it again.
# Bounds are 10 s, five seconds short of the earliest periodic cycle, to leave the noise of a
# shared machine room; the reactions themselves take well under a second to a few seconds.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
C_TTL=35 C_LOOP_WAIT=15 C_RETRY=10
source "$(dirname "$0")/lib/cluster.sh"
IDLE_S=$((C_LOOP_WAIT + 5)) # more than a loop_wait
BOUND_S=$((C_LOOP_WAIT - 5))

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "watch$$"
c_config node1
c_config node2

t_on_failure() {
	for n in node1 node2; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

ectl() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=3s "$@"; }
key() { echo "/service/$C_SCOPE/$1"; }
# messages etcd received for gRPC method $1 so far
received() {
	curl -sf --max-time 5 "$ETCD_URL/metrics" |
		awk -v m="$1" '/^grpc_server_msg_received_total\{/ && index($0, "grpc_method=\"" m "\"") { s += $NF } END { print s + 0 }'
}
revision() {
	curl -sf --max-time 5 "$ETCD_URL/metrics" | awk '/^etcd_debugging_mvcc_current_revision / { print $NF }'
}
leader_is() { [ "$(c_leader)" = "$1" ]; }
member_paused() { c_key "members/$1" | grep -q '"pause": *true'; }
both_paused() { member_paused node1 && member_paused node2; }
none_paused() { ! member_paused node1 && ! member_paused node2; }
now_s() { date +%s.%N; }
# asserts that $2 (an instant) is earlier than $1 + BOUND_S; $3 says what
before_tick() {
	if awk -v t="$1" -v r="$2" -v b="$BOUND_S" 'BEGIN { exit !(r < t + b) }'; then
		t_pass "$3 $(awk -v t="$1" -v r="$2" -v c="$4" -v w="$C_LOOP_WAIT" 'BEGIN { printf "%.1f s after the change, before any periodic cycle (loop_wait %d)", r - c, w }')"
	else
		t_fail "$3 only $(awk -v t="$1" -v r="$2" 'BEGIN { printf "%.1f", r - t }') s after the reference change: not before the periodic cycle"
	fi
}
set_config() { # JSON: the whole config key, as patronictl edit-config writes it
	ectl put "$(key config)" "$1" >/dev/null || t_fail "could not write the config key"
}
config_with_pause() {
	ectl get --print-value-only "$(key config)" |
		python3 -c 'import json,sys; c=json.load(sys.stdin); c["pause"]=sys.argv[1]=="true"; print(json.dumps(c))' "$1"
}

c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is node1
t_wait_for 60 "node1 to run as primary" c_is node1 primary
c_start node2
t_wait_for 120 "node2 to run as a replica" c_is node2 replica
t_wait_for 60 "node2 to stream" c_cluster_streams node1 0 node2
sleep 5

# ---- idle: no reads, no writes ----
txn0=$(received Txn) range0=$(received Range) ka0=$(received LeaseKeepAlive) put0=$(received Put)
rev0=$(revision)
sleep "$IDLE_S"
txn1=$(received Txn) range1=$(received Range) ka1=$(received LeaseKeepAlive) put1=$(received Put)
rev1=$(revision)
echo "# idle $IDLE_S s, two agents: Txn $((txn1 - txn0)), Range $((range1 - range0)), LeaseKeepAlive $((ka1 - ka0)), Put $((put1 - put0)), revisions $((rev1 - rev0))"
t_assert_eq 0 "$((txn1 - txn0))" "idle over more than a loop_wait: no cluster read (Txn) reached etcd"

# ---- 1 and 2: config changes ----
t1=$(now_s)
set_config "$(config_with_pause true)"
t_wait_for 70 "both member keys to show pause" both_paused
t2=$(now_s)
set_config "$(config_with_pause false)"
t_wait_for 70 "both member keys to drop pause" none_paused
r2=$(now_s)
before_tick "$t1" "$r2" "a config change (pause off) written by another node is acted on by both nodes" "$t2"

# ---- 3: a failover key written by another node ----
t3=$(now_s)
ectl put "$(key failover)" '{"leader":"node1","member":"node2"}' >/dev/null || t_fail "could not write the failover key"
t_wait_for 70 "node2 to hold the leader key" leader_is node2
r3=$(now_s)
before_tick "$t2" "$r3" "a failover key (node1 -> node2) written by another node is acted on" "$t3"
t_wait_for 60 "node2 to run as primary" c_is node2 primary
t_wait_for 180 "node1 to rejoin as a replica" c_is node1 replica

# ---- 4: the leader key deleted by another node ----
t4=$(now_s)
set_config "$(config_with_pause true)"
t_wait_for 70 "both member keys to show pause" both_paused
set_config "$(config_with_pause false)"
t_wait_for 70 "both member keys to drop pause" none_paused
t5=$(now_s)
ectl del "$(key leader)" >/dev/null || t_fail "could not delete the leader key"
has_leader() { [ -n "$(c_leader)" ]; }
t_wait_for 70 "a node to hold the leader key again" has_leader
r5=$(now_s)
before_tick "$t4" "$r5" "the leader key deleted by another node is taken again (by $(c_leader))" "$t5"
t_wait_for 60 "the cluster to have a running primary" sh -c "curl -sf -o /dev/null http://127.0.0.1:${C_API_PORT[node1]}/primary || curl -sf -o /dev/null http://127.0.0.1:${C_API_PORT[node2]}/primary"
t_done
