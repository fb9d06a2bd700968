#!/usr/bin/env bash
# Issue 5, fencing: the primary cut off from etcd stops accepting writes before its lease can
# expire, another node takes over, and the old primary rejoins as a replica once the cut heals.
#
# etcd listens on one client port per node (plus one for the test itself); the cut is an
# iptables rule on the loopback interface that drops the traffic of the primary's port, so the
# primary's agent loses etcd while its database, its REST API and replication stay reachable.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v iptables >/dev/null || t_fail "iptables is needed to cut a node off from etcd"

# ---- etcd with a client port per node.
dir=$(t_tmpdir)/etcd
ETCD_PORT=$(t_free_port)
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
declare -A NODE_ETCD_PORT
urls=$ETCD_URL
for n in node1 node2 node3; do
	NODE_ETCD_PORT[$n]=$(t_free_port)
	urls+=",http://127.0.0.1:${NODE_ETCD_PORT[$n]}"
done
peer=$(t_free_port)
etcd --name single --data-dir "$dir" --listen-client-urls "$urls" --advertise-client-urls "$ETCD_URL" \
	--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
	--initial-cluster "single=http://127.0.0.1:$peer" >"$dir.log" 2>&1 &
t_register_pid $!
t_wait_for 20 "etcd on $ETCD_URL" curl -sf "$ETCD_URL/health"

c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "fence$$"
for n in node1 node2 node3; do
	C_ETCD="http://127.0.0.1:${NODE_ETCD_PORT[$n]}" c_config "$n"
done

# The cut: drop loopback packets to and from one node's etcd port. A guard process removes the
# rule whatever way the test ends (t_cleanup stops it by PID).
RULE_TAG="gsha-it-fence-$$"
cut_rules() { # -I or -D, port
	iptables "$1" OUTPUT -o lo -p tcp --dport "$2" -m comment --comment "$RULE_TAG" -j DROP
	iptables "$1" OUTPUT -o lo -p tcp --sport "$2" -m comment --comment "$RULE_TAG" -j DROP
}
CUT_PORT=
(
	trap 'while iptables -S OUTPUT | grep -q -- "$RULE_TAG"; do
		iptables -S OUTPUT | grep -- "$RULE_TAG" | sed "s/^-A/-D/" | head -1 |
			xargs -r iptables || break; done; exit 0' TERM
	while :; do sleep 1; done
) &
t_register_pid $!

FROZEN_PID=
t_on_failure() {
	[ -z "$FROZEN_PID" ] || kill -CONT $FROZEN_PID 2>/dev/null || true
	iptables -S OUTPUT | grep -- "$RULE_TAG" || true
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -60 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
role_is() { c_is "$1" "$2"; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# One write with short timeouts; succeeds only when COMMIT returned.
write_one() {
	PGCONNECT_TIMEOUT=1 PGOPTIONS="-c statement_timeout=1000" timeout 3 \
		runuser -u postgres -- "$PG_BIN/psql" -X -q -A -t -h "$C_DIR/$1" -p "${C_PG_PORT[$1]}" \
		-U postgres -d postgres -v ON_ERROR_STOP=1 -c "insert into marks values ('$2')" \
		>/dev/null 2>&1
}

# ---- a healthy cluster: node1 leads, node2 and node3 stream from it.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" role_is node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" role_is node2 replica
t_wait_for 90 "node3 to run as a replica" role_is node3 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('before-cut')" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 before-cut
t_wait_for 30 "the row to reach node3" has_row node3 before-cut
t_pass "setup: node1 leads a streaming three-node cluster, each agent on its own etcd port"

# ---- cut node1 off from etcd, then write to it until it refuses.
CUT_PORT=${NODE_ETCD_PORT[node1]}
cut_rules -I "$CUT_PORT"
t_cut=$(now_ms)
ttl_ms=$((C_TTL * 1000))
last_ok=0 first_refused=0 i=0
while [ $(($(now_ms) - t_cut)) -lt $((ttl_ms * 4)) ]; do
	i=$((i + 1))
	if write_one node1 "cut-$i"; then
		last_ok=$(now_ms)
		[ "$first_refused" = 0 ] || t_fail "node1 accepted a write after it had refused one"
	elif [ "$first_refused" = 0 ]; then
		first_refused=$(now_ms)
	fi
	# Keep probing until another node holds the key, to see that node1 stays fenced.
	if [ "$first_refused" != 0 ] && leader_is_one_of node2 node3; then
		break
	fi
	sleep 0.05
done
[ "$first_refused" != 0 ] || t_fail "node1 kept accepting writes for $((ttl_ms * 4)) ms after the cut"
t_log "cut at 0 ms; node1's last accepted write at $((last_ok - t_cut)) ms, first refusal at" \
	"$((first_refused - t_cut)) ms; the lease expires at $ttl_ms ms at the earliest"
[ "$last_ok" != 0 ] || t_fail "node1 refused writes at once after the cut (no write was ever accepted: test is not measuring)"
if [ $((last_ok - t_cut)) -lt "$ttl_ms" ]; then
	t_pass "fencing: node1 stopped accepting writes before its lease could expire (cut + ttl)"
else
	t_fail "fencing: node1 accepted a write $((last_ok - t_cut)) ms after the cut, past ttl $ttl_ms ms"
fi

# ---- another node takes over and accepts writes; node1 never does meanwhile.
t_wait_for 60 "node2 or node3 to take the leader key" leader_is_one_of node2 node3
new_leader=$(c_leader)
until write_one "$new_leader" "new-leader-first"; do
	[ $(($(now_ms) - t_cut)) -lt 90000 ] || t_fail "$new_leader never accepted a write"
	sleep 0.1
done
t_new=$(now_ms)
[ "$t_new" -gt "$last_ok" ] || t_fail "the new primary accepted a write before node1 stopped"
t_pass "takeover: $new_leader leads and accepts writes ($((t_new - t_cut)) ms after the cut)"
write_one node1 "after-takeover" && t_fail "node1 accepted a write while $new_leader leads"
t_pass "fencing: node1 still refuses writes while $new_leader leads"
t_assert_eq 1 "$(c_psql "$new_leader" "select count(*) from marks where v = 'before-cut'")" \
	"takeover: the row written before the cut is on the new primary"

# ---- heal the cut: node1 rejoins as a replica of the new leader.
cut_rules -D "$CUT_PORT"
t_wait_for 90 "node1 to rejoin as a replica" role_is node1 replica
c_psql "$new_leader" "insert into marks values ('after-heal')" >/dev/null
t_wait_for 30 "the new row to reach node1" has_row node1 after-heal
t_assert_eq "$new_leader" "$(c_leader)" "heal: $new_leader kept the leader key"
t_pass "heal: node1 rejoined as a replica of $new_leader and streams"

# ---- failsafe_mode: the same cut, but every member acknowledges the primary's POST /failsafe,
# so it keeps running past the lease, no replica takes over, and it takes the key back after.
patch_code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH -H 'Content-Type: application/json' \
	-d '{"failsafe_mode": true}' "http://127.0.0.1:${C_API_PORT[$new_leader]}/config")
t_assert_eq 200 "$patch_code" "failsafe: PATCH /config {\"failsafe_mode\": true} answers 200"
failsafe_lists_all() {
	local v
	v=$(ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/failsafe" 2>/dev/null)
	[[ "$v" == *'"node1"'* && "$v" == *'"node2"'* && "$v" == *'"node3"'* ]] || return 1
	# ... and the leader's own view of it (GET /failsafe), which its pings will use.
	v=$(curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$new_leader]}/failsafe")
	[[ "$v" == *'"node1"'* && "$v" == *'"node2"'* && "$v" == *'"node3"'* ]]
}
t_wait_for 30 "the leader to list all three members in the failsafe key" failsafe_lists_all
t_pass "failsafe: $new_leader keeps the failsafe key with every member's api_url"
fs_pid=$(c_postmaster_pid "$new_leader")
CUT_PORT=${NODE_ETCD_PORT[$new_leader]}
cut_rules -I "$CUT_PORT"
t_cut=$(now_ms)
failsafe_active() {
	curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$new_leader]}/patroni" | grep -q '"failsafe_mode_is_active": *true'
}
# Three lease lifetimes: the primary keeps accepting writes, nobody else takes the key.
i=0
while [ $(($(now_ms) - t_cut)) -lt $((ttl_ms * 3)) ]; do
	i=$((i + 1))
	write_one "$new_leader" "failsafe-$i" ||
		t_fail "failsafe: $new_leader refused a write $(($(now_ms) - t_cut)) ms after the cut"
	l=$(c_leader)
	[ -z "$l" ] || [ "$l" = "$new_leader" ] || t_fail "failsafe: $l took the leader key"
	sleep 0.2
done
t_pass "failsafe: cut off from etcd for $((ttl_ms * 3)) ms, $new_leader kept accepting writes ($i of them) and no other node took the key"
t_wait_for 10 "/patroni on $new_leader to show failsafe_mode_is_active" failsafe_active
t_pass "failsafe: /patroni on $new_leader shows failsafe_mode_is_active"
cut_rules -D "$CUT_PORT"
t_wait_for 30 "$new_leader to take the leader key back" leader_is_one_of "$new_leader"
write_one "$new_leader" "failsafe-healed" || t_fail "failsafe: $new_leader refused a write after the heal"
t_assert_eq primary "$(c_role "$new_leader")" "failsafe: after the heal $new_leader holds the key again and runs as primary"
t_assert_eq "$fs_pid" "$(c_postmaster_pid "$new_leader")" \
	"failsafe: $new_leader's postmaster ran throughout (never demoted or restarted)"

# ---- failsafe with one member silent (its agent stopped with SIGSTOP, so it cannot answer
# POST /failsafe): the primary has no proof and must stop accepting writes before its lease
# could expire, exactly as without failsafe_mode.
t_wait_for 30 "node1 to replicate again" has_row node1 failsafe-healed
# runuser stops itself when its child stops (util-linux su), so both are continued later.
frozen=$(pgrep -P "${C_PID[node1]}" -x gsha || echo "${C_PID[node1]}")
kill -STOP "$frozen"
FROZEN_PID="$frozen ${C_PID[node1]}"
CUT_PORT=${NODE_ETCD_PORT[$new_leader]}
cut_rules -I "$CUT_PORT"
t_cut=$(now_ms)
last_ok=0 first_refused=0 i=0
while [ $(($(now_ms) - t_cut)) -lt $((ttl_ms * 3)) ]; do
	i=$((i + 1))
	if write_one "$new_leader" "silent-$i"; then
		last_ok=$(now_ms)
		[ "$first_refused" = 0 ] || t_fail "$new_leader accepted a write after it had refused one"
	elif [ "$first_refused" = 0 ]; then
		first_refused=$(now_ms)
		break
	fi
	sleep 0.05
done
t_log "failsafe, node1 silent: $new_leader's last accepted write at $((last_ok - t_cut)) ms after the cut"
[ "$first_refused" != 0 ] || t_fail "failsafe: $new_leader kept accepting writes although node1 cannot acknowledge it"
[ "$last_ok" != 0 ] || t_fail "failsafe: $new_leader refused writes at once (test is not measuring)"
[ $((last_ok - t_cut)) -lt "$ttl_ms" ] ||
	t_fail "failsafe: $new_leader accepted a write $((last_ok - t_cut)) ms after the cut, past ttl"
t_pass "failsafe: with node1 silent, $new_leader stopped accepting writes before its lease could expire"
kill -CONT $FROZEN_PID
FROZEN_PID=
cut_rules -D "$CUT_PORT"
t_wait_for 60 "a leader again" eval '[ -n "$(c_leader)" ]'
lead=$(c_leader)
until write_one "$lead" "after-silent"; do
	[ $(($(now_ms) - t_cut)) -lt 90000 ] || t_fail "$lead never accepted a write"
	sleep 0.1
	lead=$(c_leader)
	[ -n "$lead" ] || lead=$new_leader
done
t_pass "failsafe: after the heal $lead leads and accepts writes"

# ---- a hung primary: its postmaster frozen (SIGSTOP), so the agent's status reads time out,
# while a session it already has keeps committing. Cut from etcd, the agent must count it as a
# primary and fence it (the postmaster's process group killed) before its lease could expire.
# Before, a server that did not answer counted as "starting", not as a primary: never fenced.
patch_code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -X PATCH -H 'Content-Type: application/json' \
	-d '{"failsafe_mode": null}' "http://127.0.0.1:${C_API_PORT[$lead]}/config")
t_assert_eq 200 "$patch_code" "hung primary: failsafe_mode switched off again"
for n in node1 node2 node3; do
	[ "$n" = "$lead" ] || t_wait_for 60 "$n to stream from $lead" has_row "$n" after-silent
done
hung_pid=$(c_postmaster_pid "$lead")
# One session, opened before the freeze, commits a row every 100 ms and prints the time of each.
hung_out="$C_DIR/hung-session.out"
echo "insert into marks select 'hung-' || (extract(epoch from clock_timestamp()) * 1000)::bigint returning (extract(epoch from clock_timestamp()) * 1000)::bigint \\watch 0.1" |
	runuser -u postgres -- "$PG_BIN/psql" -X -q -A -t -h "$C_DIR/$lead" -p "${C_PG_PORT[$lead]}" \
		-U postgres -d postgres >"$hung_out" 2>&1 &
t_register_pid $!
t_wait_for 10 "the session to commit" test -s "$hung_out"
kill -STOP "$hung_pid"
FROZEN_PID=$hung_pid
CUT_PORT=${NODE_ETCD_PORT[$lead]}
cut_rules -I "$CUT_PORT"
t_cut=$(now_ms)
gone() { [ ! -e "/proc/$hung_pid" ] || grep -q '^State:.*Z' "/proc/$hung_pid/status" 2>/dev/null; }
until gone; do
	[ $(($(now_ms) - t_cut)) -lt $((ttl_ms * 4)) ] ||
		t_fail "hung primary: its postmaster $hung_pid still exists $((ttl_ms * 4)) ms after the cut"
	sleep 0.05
done
t_gone=$(now_ms)
FROZEN_PID=
last_commit=$(grep -E '^[0-9]+$' "$hung_out" | tail -1)
t_log "hung primary: postmaster gone $((t_gone - t_cut)) ms after the cut; the held session's last commit $((last_commit - t_cut)) ms after it"
[ $((t_gone - t_cut)) -lt "$ttl_ms" ] ||
	t_fail "hung primary: fenced $((t_gone - t_cut)) ms after the cut, past ttl $ttl_ms ms"
[ $((last_commit - t_cut)) -lt "$ttl_ms" ] ||
	t_fail "hung primary: the held session committed $((last_commit - t_cut)) ms after the cut, past ttl"
[ $((last_commit - t_cut)) -gt 0 ] ||
	t_fail "hung primary: the held session never committed after the cut (test is not measuring)"
t_pass "hung primary: $lead's frozen postmaster was fenced $((t_gone - t_cut)) ms after the cut, before its lease could expire"
cut_rules -D "$CUT_PORT"
t_wait_for 90 "a new leader" eval '[ -n "$(c_leader)" ] && [ "$(c_leader)" != "$lead" ]'
t_pass "hung primary: $(c_leader) took over"
t_done
