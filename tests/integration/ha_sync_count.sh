#!/usr/bin/env bash
# Issue 13, synchronous_node_count 2 on four nodes (node4 tagged nosync, so two candidates):
# node1 names both, FIRST 2, and the sync key lists both. A writer records every row whose
# COMMIT returned. Non-strict: one sync standby killed with -9, the leader drops it from the
# key and then from synchronous_standby_names, and writes go on. Strict (as Patroni): the other
# killed too, nobody is left to name, the leader keeps waiting for the one the key names, and
# writes block until it is back. Both back: FIRST 2 again; then the primary is killed with -9
# mid-stream and every acknowledged row is on the standby that takes over.
# Patroni 4.1.4, run by hand in the same layout (four nodes, node4 nosync, count 2, strict), did
# the same: one sync standby killed, synchronous_standby_names "node2" and commits in 16-35 ms;
# both killed, "node2" kept and every commit blocked.
# Then a value gsha does not know for synchronous_mode, written into the config key directly:
# reported once, and a later change (loop_wait) still applies.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/lib/sync.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "count$$"
for n in node1 node2 node3; do c_config "$n"; done
c_config node4 "tags:
  nosync: true"
NODES="node1 node2 node3 node4"

t_on_failure() {
	echo "---- sync key: $(sync_key)"
	for n in $NODES; do
		echo "---- $n: ssn \"$(ssn "$n")\", walsenders \"$(sync_states "$n")\""
	done
	for n in $NODES; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

etcd_get() {
	ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/$1" 2>/dev/null || true
}
# The sync key of leader $1 lists exactly the names given (sorted, comma-joined).
key_lists() {
	local want=$2 k
	k=$(sync_key | tr -d ' ')
	[[ "$k" == *"\"leader\":\"$1\""* ]] || return 1
	if [ -z "$want" ]; then
		[[ "$k" == *'"sync_standby":null'* ]]
	else
		[[ "$k" == *"\"sync_standby\":\"$want\""* ]]
	fi
}
sync_states() { # node: "name:state,..." of its walsenders, sorted
	tcp_psql "$1" "select string_agg(application_name || ':' || sync_state, ',' order by application_name)
		from pg_stat_replication"
}
# FIRST 2 (node2, node3) in effect on $1, both confirmed, and the key lists both.
two_synchronous() {
	[[ "$(ssn "$1")" =~ ^(FIRST\ )?2\ \((node2,\ ?node3|node3,\ ?node2)\)$ ]] || return 1
	[[ "$(sync_states "$1")" == *"node2:sync"*"node3:sync"* ]] || return 1
	key_lists "$1" "node2,node3"
}

# ---- four nodes, then synchronous_mode with synchronous_node_count 2.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" c_is node1 primary
for n in node2 node3 node4; do c_start "$n"; done
for n in node2 node3 node4; do t_wait_for 120 "$n to run as a replica" c_is "$n" replica; done
tcp_psql node1 "create table acked(id int primary key)" >/dev/null
t_assert_eq 200 "$(patch_config node1 '{"synchronous_mode": true, "synchronous_node_count": 2}')" \
	"PATCH /config synchronous_mode true, synchronous_node_count 2 answers 200"
t_wait_for 60 "node1 to name node2 and node3 as FIRST 2, both sync, both in the key" \
	two_synchronous node1
t_pass "count 2: synchronous_standby_names \"$(ssn node1)\", sync key $(sync_key)"
[[ "$(ssn node1)" != *node4* ]] || t_fail "node4 (nosync) is named in synchronous_standby_names"
t_pass "nosync: node4 is never named"

writer_start node1
t_wait_for 60 "the writer to get 20 commits acknowledged" acked_past 20

# ---- non-strict: one sync standby killed; the list shrinks and writes go on.
kill_node node3
t0=$SECONDS
base=$(acked_count)
t_wait_for 60 "node1 to drop node3 from the key" key_lists node1 node2
t_wait_for 60 "node1 to name node2 alone" eval '[ "$(ssn node1)" = node2 ]'
t_wait_for 60 "writes to go on after node3 died (20 more acknowledged)" acked_past $((base + 20))
t_pass "non-strict: node3 killed, key and synchronous_standby_names shrank to node2, 20 more commits within $((SECONDS - t0)) s"

# ---- strict: node2 killed too, nobody left to name: writes block.
t_assert_eq 200 "$(patch_config node1 '{"synchronous_mode_strict": true}')" \
	"PATCH /config synchronous_mode_strict true answers 200"
# GET /config shows the configuration node1's HA loop last read: strict is in effect from then on.
strict_read() {
	curl -s -m 2 "http://127.0.0.1:${C_API_PORT[node1]}/config" |
		jq -e '.synchronous_mode_strict == true' >/dev/null
}
t_wait_for 10 "node1 to read synchronous_mode_strict" strict_read
kill_node node2
sleep 4 # a few cycles of the leader with nobody to name
base=$(acked_count)
sleep 6
t_assert_eq "$base" "$(acked_count)" "strict: with node2 and node3 dead no commit is acknowledged in 6 s"
t_assert_eq node2 "$(ssn node1)" \
	"strict: synchronous_standby_names keeps naming node2, the standby the key names"
key_lists node1 node2 || t_fail "strict: the sync key no longer names node2: $(sync_key)"
t_pass "strict: the sync key keeps node2"

# ---- both back: FIRST 2 again, writes resume.
c_start node2
c_start node3
t_wait_for 120 "node2 and node3 to be FIRST 2 again" two_synchronous node1
t_wait_for 60 "writes to resume (20 more acknowledged)" acked_past $((base + 20))
t_pass "strict: writes resume once the standbys are back, FIRST 2 again"

# ---- the primary killed mid-stream: nothing acknowledged is lost.
kill_primary_under_writer node1
total=$ACKED_TOTAL
t_wait_for 60 "node2 or node3 to take the leader key" leader_is_one_of node2 node3
new_leader=$(c_leader)
t_pass "failover: $new_leader (a synchronous standby, never nosync node4) took over"
t_wait_for 60 "$new_leader to run as primary" c_is "$new_leader" primary
missing=$(acked_missing "$new_leader")
t_assert_eq 0 "$missing" "failover: all $total acknowledged rows are on $new_leader"

# ---- a synchronous_mode gsha does not know: reported once, later changes still apply.
cfg=$(etcd_get config)
bad=$(echo "$cfg" | jq -c '.synchronous_mode = "sometimes"')
ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" put "/service/$C_SCOPE/config" "$bad" >/dev/null
# The leader reports the bad value when its HA loop reads it: the PATCH below then makes the
# second revision, after the bad one was read.
warned() { grep -q 'synchronous_mode.*sometimes' "$C_DIR/$new_leader.log"; }
t_wait_for 10 "$new_leader to report the bad synchronous_mode" warned
t_assert_eq 200 "$(patch_config "$new_leader" '{"postgresql": {"parameters": {"work_mem": "7MB"}}}')" \
	"PATCH /config of another key answers 200 while synchronous_mode is bad"
t_wait_for 30 "$new_leader to apply work_mem 7MB from the patched config key" \
	eval '[ "$(tcp_psql "$new_leader" "show work_mem")" = 7MB ]'
t_pass "a later change applies although the config key holds a bad synchronous_mode"
t_assert_eq 1 "$(grep -c 'synchronous_mode.*sometimes' "$C_DIR/$new_leader.log")" \
	"the bad synchronous_mode is reported once across two revisions of the config key"
[ -n "$(ssn "$new_leader")" ] && key_lists "$new_leader" "$(sync_key | jq -r '.sync_standby // empty')" ||
	t_fail "synchronous mode did not stay on: $(sync_key), \"$(ssn "$new_leader")\""
t_pass "synchronous mode stays on (the value in effect is kept): \"$(ssn "$new_leader")\""
t_done
