#!/usr/bin/env bash
# Issue 14, false failovers: an etcd that answers the primary slowly, but answers, costs no
# demotion; an etcd that does not answer for longer than the lease still fences the primary
# before its lease can expire (docs/timing.md, "Keepalives in flight").
#
# etcd listens on one client port per node (plus one for the test itself), as in ha_fencing.sh.
# "Slow": every packet the primary's agent sends to its etcd port is held SLOW_MS by nfq-delay
# (the fault suite's NFQUEUE delayer) before it goes on, so each of its keepalives is answered
# SLOW_MS or more after it was sent: later than the old attempt bound K, earlier than the fence
# window W. The primary must keep its key (same create_revision, never another holder), keep its
# postmaster (same pid) and never change role, for SLOW_SECONDS. "Gone": etcd itself stopped with
# SIGSTOP for 2 x ttl: keepalives pile up unanswered on every connection, and the primary's last
# acknowledged commit (its own writer, bench-writer) must come before the stop + ttl, the
# earliest instant etcd could let the lease expire. The cluster comes back after.
#
# SLOW_PROFILE=ttl5 (the default): ttl 5 / loop_wait 1 / retry_timeout 1 (K = 1 s, W = 3.95 s),
# SLOW_MS 1200. SLOW_PROFILE=fast: ttl 2 / loop_wait 500ms / retry_timeout 500ms (K = 465 ms,
# W = 1.48 s), SLOW_MS 500; its margins are a few hundred ms, which a stall of this shared
# machine (1-2 s seen under load 20-50, the guardian itself late) can eat: run by hand.
source "$(dirname "$0")/lib/common.sh"
case ${SLOW_PROFILE:-ttl5} in
fast) C_TTL=2 C_LOOP_WAIT=500ms C_RETRY=500ms SLOW_MS=${SLOW_MS:-500} ;;
ttl5) C_TTL=5 C_LOOP_WAIT=1 C_RETRY=1 SLOW_MS=${SLOW_MS:-1200} ;;
*) t_fail "SLOW_PROFILE must be fast or ttl5" ;;
esac
source "$(dirname "$0")/lib/cluster.sh"

# 20 s, four ttl at ttl5: a lease lost to late keepalives shows within one fence window W.
SLOW_SECONDS=${SLOW_SECONDS:-20}
NFQ_DELAY=$GSHA_BUILD_DIR/tests/faults/nfq-delay
WRITER=$GSHA_BUILD_DIR/tests/bench/bench-writer
command -v iptables >/dev/null || t_fail "iptables is needed to delay a node's etcd traffic"
[ -x "$NFQ_DELAY" ] || t_fail "$NFQ_DELAY is not built (ninja -C $GSHA_BUILD_DIR)"
[ -x "$WRITER" ] || t_fail "$WRITER is not built (ninja -C $GSHA_BUILD_DIR)"

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
ETCD_PID=$!
t_register_pid $ETCD_PID
t_wait_for 20 "etcd on $ETCD_URL" curl -sf "$ETCD_URL/health"

c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "slowetcd$$"
for n in node1 node2 node3; do
	C_ETCD="http://127.0.0.1:${NODE_ETCD_PORT[$n]}" c_config "$n"
done

# The delay: loopback packets of user postgres (the agents) to one node's etcd port go through an
# NFQUEUE that nfq-delay holds. Only the agent's: etcd's gateway calls etcd's own gRPC server on
# the same port, and those calls must not be delayed too (etcd runs as root here), or each
# request would be held several times. --queue-bypass lets packets through if the delayer is
# gone. A guard process removes the
# rule whatever way the test ends (t_cleanup stops it by PID); nfq-delay is stopped by PID too.
RULE_TAG="gsha-it-slowetcd-$$"
QUEUE=$((2000 + $$ % 20000))
delay_rule() { # -I or -D, port
	iptables "$1" OUTPUT -o lo -p tcp --dport "$2" -m owner --uid-owner postgres \
		-m comment --comment "$RULE_TAG" -j NFQUEUE --queue-num "$QUEUE" --queue-bypass
}
(
	trap 'while iptables -S OUTPUT | grep -q -- "$RULE_TAG"; do
		iptables -S OUTPUT | grep -- "$RULE_TAG" | sed "s/^-A/-D/" | head -1 |
			xargs -r iptables || break; done; exit 0' TERM
	while :; do sleep 1; done
) &
t_register_pid $!

STOPPED=0
t_on_failure() {
	[ "$STOPPED" = 0 ] || kill -CONT "$ETCD_PID" 2>/dev/null || true
	iptables -S OUTPUT | grep -- "$RULE_TAG" || true
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -60 "$C_DIR/$n.log" 2>/dev/null
	done
}

etcdctl_t() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s "$@"; }
leader_is() { [ "$(c_leader)" = "$1" ]; }
leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
# The leader key's create_revision ("" when there is none): a key lost and taken again has a
# new one, even when the same node took it.
leader_created() {
	etcdctl_t get "/service/$C_SCOPE/leader" -w json 2>/dev/null |
		python3 -c 'import json, sys; k = json.load(sys.stdin).get("kvs") or [{}]; print(k[0].get("create_revision", ""))'
}
has_row() { [ "$(c_psql "$1" "select count(*) from bench_w where seq = $2")" = 1 ]; }
now_us() { date +%s%6N; }
# bench-writer on one node only (single-host conninfo): every commit that node acknowledged.
writer_start() { # NAME SECONDS LOG
	BENCH_WRITER_SEQ_BASE=$((RANDOM * 100000 + 1)) BENCH_WRITER_RETRY_MS=50 "$WRITER" \
		"host=127.0.0.1 port=${C_PG_PORT[$1]} user=postgres dbname=postgres connect_timeout=1 target_session_attrs=read-write" \
		"$2" 50 "$3" >/dev/null 2>&1 &
	WRITER_PID=$!
	t_register_pid $WRITER_PID
}
writer_wait() {
	for _ in $(seq 600); do
		kill -0 "$WRITER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$WRITER_PID" 2>/dev/null || true
	wait "$WRITER_PID" 2>/dev/null || true
}

# ---- a healthy cluster: node1 leads, node2 and node3 stream from it.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is node1
t_wait_for 30 "node1 to run as primary" c_running node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_wait_for 90 "node3 to run as a replica" c_running node3 replica
c_psql node1 "create table bench_w(seq bigint primary key, at timestamptz default now())" >/dev/null
c_psql node1 "insert into bench_w(seq) values (0)" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 0
t_wait_for 30 "the row to reach node3" has_row node3 0
t_pass "setup: node1 leads at ttl $C_TTL / loop_wait $C_LOOP_WAIT / retry_timeout $C_RETRY, each agent on its own etcd port"

# ---- slow: node1's etcd requests held SLOW_MS each, for SLOW_SECONDS.
"$NFQ_DELAY" "$QUEUE" "$SLOW_MS" >"$(t_tmpdir)/nfq-delay.log" 2>&1 &
NFQ_PID=$!
t_register_pid $NFQ_PID
sleep 0.5
kill -0 $NFQ_PID 2>/dev/null || t_fail "nfq-delay did not start: $(cat "$(t_tmpdir)/nfq-delay.log")"
created=$(leader_created)
pm=$(c_postmaster_pid node1)
log_lines=$(wc -l <"$C_DIR/node1.log")
[ -n "$created" ] && [ -n "$pm" ] || t_fail "no leader key or no postmaster pid before the delay"
delay_rule -I "${NODE_ETCD_PORT[node1]}"
took=$(t_as_postgres curl -s -o /dev/null -m 5 -w '%{time_total}' -X POST -d '{}' \
	"http://127.0.0.1:${NODE_ETCD_PORT[node1]}/v3/maintenance/status")
t_log "a request on node1's etcd port now takes $took s (delay $SLOW_MS ms per packet)"
awk -v t="$took" -v d="$SLOW_MS" 'BEGIN { exit !(t * 1000 >= d) }' ||
	t_fail "the delay is not in effect: a request on node1's port took $took s"
writer_start node1 "$SLOW_SECONDS" "$(t_tmpdir)/w-slow.log"
start=$SECONDS end=$((SECONDS + SLOW_SECONDS))
polls=0
while [ "$SECONDS" -lt "$end" ]; do
	l=$(c_leader)
	[ -z "$l" ] || [ "$l" = node1 ] || t_fail "slow etcd: $l took the leader key $((SECONDS - start)) s in"
	polls=$((polls + 1))
	sleep 0.25
done
writer_wait
delay_rule -D "${NODE_ETCD_PORT[node1]}"
kill -TERM $NFQ_PID 2>/dev/null
wait $NFQ_PID 2>/dev/null
t_log "node1's log during the delay (etcd trouble and role changes):"
tail -n +$((log_lines + 1)) "$C_DIR/node1.log" | grep -E 'role "|demot|lease|not accessible|timed out' |
	cut -c25-140 | sort | uniq -c | sort -rn | awk 'NR <= 12' >&2 || true
read -r ok fail unknown < <(awk '$1=="ok"{o++} $1=="fail"{f++} $1=="unknown"{u++} END {print o+0, f+0, u+0}' "$(t_tmpdir)/w-slow.log")
t_log "node1's writer during the delay: $ok commits acknowledged, $fail failed, $unknown unknown"
t_assert_eq "$created" "$(leader_created)" \
	"slow etcd: node1 kept the leader key for $SLOW_SECONDS s (same create_revision, $polls polls never saw another holder)"
t_assert_eq "$pm" "$(c_postmaster_pid node1)" "slow etcd: node1's postmaster ran throughout (same pid)"
demotions=$(tail -n +$((log_lines + 1)) "$C_DIR/node1.log" | grep -c 'role "primary" -> ' || true)
t_assert_eq 0 "$demotions" "slow etcd: node1 never left the primary role (no role change in its log)"
[ "$ok" -gt 0 ] || t_fail "slow etcd: node1 acknowledged no commit (the writer did not measure)"
t_pass "slow etcd: node1 acknowledged $ok commits while every keepalive took $SLOW_MS ms or more"

# ---- gone: etcd stopped for 2 x ttl. node1 must stop acknowledging commits before stop + ttl.
t_wait_for 30 "node1 to be back on a live etcd view" c_running node1 primary
# The writer runs 2 s before the stop, through it, and 2 s past the continue: every commit node1
# acknowledged after the stop is judged (it ran 8 s past the continue; who leads after the
# outage is the recovery check's).
writer_start node1 $((2 * C_TTL + 4)) "$(t_tmpdir)/w-gone.log"
sleep 2
t_stop=$(now_us)
kill -STOP $ETCD_PID
STOPPED=1
sleep $((2 * C_TTL))
kill -CONT $ETCD_PID
STOPPED=0
writer_wait
# Microseconds since the stop of node1's last acknowledged commit after it (-1: none), and how
# many came before it (bench-writer: "ok SEQ SENT_US ACK_US PORT"; awk keeps the text whole).
after_ms=$(awk -v t="$t_stop" '$1 == "ok" && $4 >= t { l = $4 } END { if (l == "") print -1; else printf "%.0f\n", (l - t) / 1000 }' "$(t_tmpdir)/w-gone.log")
before=$(awk -v t="$t_stop" '$1 == "ok" && $4 < t { n++ } END { print n + 0 }' "$(t_tmpdir)/w-gone.log")
[[ "$after_ms" =~ ^-?[0-9]+$ ]] || t_fail "gone: could not read the writer's log ($after_ms)"
[ "$before" -gt 0 ] || t_fail "gone: node1 acknowledged nothing before the stop (the writer did not measure)"
ttl_ms=$((C_TTL * 1000))
t_log "etcd stopped at 0 ms; node1's last acknowledged commit after it at $after_ms ms (-1: none);" \
	"the lease expires at $ttl_ms ms at the earliest"
if [ "$after_ms" -lt "$ttl_ms" ]; then
	t_pass "gone: node1 stopped acknowledging commits before etcd could let its lease expire (stop + ttl)"
else
	t_fail "gone: node1 acknowledged a commit $after_ms ms after etcd stopped, past ttl"
fi
grep -q 'demoting self because DCS is not accessible' "$C_DIR/node1.log" ||
	t_fail "gone: node1's log has no demotion for an inaccessible DCS"
t_pass "gone: node1 demoted itself (\"DCS is not accessible and the leader lease can no longer be proven\")"

# ---- etcd back: a leader is elected again and takes writes, the others replicate.
t_wait_for 90 "a node to take the leader key" leader_is_one_of node1 node2 node3
leader=$(c_leader)
t_wait_for 90 "$leader to run as primary" c_running "$leader" primary
for n in node1 node2 node3; do
	[ "$n" = "$leader" ] || t_wait_for 120 "$n to run as a replica" c_running "$n" replica
done
c_psql "$leader" "insert into bench_w(seq) values (-1)" >/dev/null
for n in node1 node2 node3; do
	[ "$n" = "$leader" ] || t_wait_for 30 "the row to reach $n" has_row "$n" -1
done
t_pass "recovery: $leader leads after etcd came back and the other two replicate"
t_done
