#!/usr/bin/env bash
# Issue 14 item 2, the second line: Patroni's watchdog, on a FAKE watchdog device (there is no
# watchdog device, softdog or CUSE here): tests/tools/fake-watchdog.c, a FUSE file system over
# /dev/fuse whose one file answers the Linux watchdog ioctls and, when its timer runs out,
# "resets the node" (SIGKILL of the pids in its targets file) and records it. Three nodes, real
# etcd and PostgreSQL 15, ttl 10 / loop_wait 1 / retry_timeout 3, safety_margin 2 (timeout 8 s):
#   node1  watchdog.mode required, the fake device
#   node2  watchdog.mode required, a device that does not exist: never leads, watchdog_failed
#   node3  watchdog.mode automatic, no device: runs without one (said once)
# Cases:
#   activation on leadership with the timeout ttl - safety_margin, keepalives as the lease moves
#   /patroni watchdog_failed on node2 only; /metrics gsha_watchdog_active on the leader
#   switchover away from node1: magic close; back: activated again
#   SIGTERM of the leader's agent: magic close with the clean shutdown
#   kill -9 of the guardian: a new one at once (log, /metrics), the device handed to it again;
#     then the agent alone frozen: the new guardian fences PostgreSQL and disables the watchdog,
#     which does not fire
#   agent and guardian both frozen: the watchdog fires (kills the node) before another node
#     can take the leader key
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
C_TTL=10 C_LOOP_WAIT=1 C_RETRY=3
source "$(dirname "$0")/lib/cluster.sh"

FAKE=${GSHA_FAKE_WATCHDOG:-$GSHA_BUILD_DIR/tests/integration/fake-watchdog}
[ -e /dev/fuse ] || t_fail "no /dev/fuse: the fake watchdog cannot run here"

WD=$(t_tmpdir)/wd
mkdir -p "$WD/mnt"
chmod 755 "$WD" "$WD/mnt"
: >"$WD/targets"
"$FAKE" "$WD/mnt" "$WD/log" "$WD/targets" >"$WD/out" 2>&1 &
FAKE_PID=$!
t_register_pid "$FAKE_PID"
unmount_fake() { umount -l "$WD/mnt" 2>/dev/null || true; }
T_CLEANUP_HOOKS+=(unmount_fake)
t_wait_for 10 "the fake watchdog to mount" grep -q ready "$WD/out"
[ -e "$WD/mnt/watchdog" ] || t_fail "the fake watchdog exposes no file"


t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "wd$$"
c_config node1 "watchdog:
  mode: required
  device: $WD/mnt/watchdog
  safety_margin: 2"
c_config node2 "watchdog:
  mode: required
  device: $WD/none/watchdog
  safety_margin: 2"
c_config node3 "watchdog:
  mode: automatic
  device: $WD/none/watchdog
  safety_margin: 2"
for n in node1 node2 node3; do C_GUARDIAN_PAGES+=("$(c_guardian_page "$C_DIR/$n/data")"); done

FROZEN=
t_on_failure() {
	[ -z "$FROZEN" ] || kill -CONT $FROZEN 2>/dev/null || true
	echo "---- fake watchdog log"
	tail -40 "$WD/log"
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
	done
}

agent_pid() { pgrep -P "${C_PID[$1]}" -x gsha || true; }
guardian_pid() { local a; a=$(agent_pid "$1"); [ -z "$a" ] || pgrep -P "$a" -x gsha-guardian || true; }
pid_gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
role_is() { c_is "$1" "$2"; }
leader_is() { [ "$(c_leader)" = "$1" ]; }
count() { grep -c -- "$1" "$WD/log" || true; }
metric() { # node name
	curl -s -m 5 "http://127.0.0.1:${C_API_PORT[$1]}/metrics" | awk -v m="$2" '$1 ~ "^"m"({|$)" {print $2}'
}
patroni() { curl -s -m 5 "http://127.0.0.1:${C_API_PORT[$1]}/patroni"; }
switchover() { # from to
	curl -s -o /dev/null -w '%{http_code}' -m 30 -X POST -H 'Content-Type: application/json' \
		-d "{\"leader\": \"$1\", \"candidate\": \"$2\"}" "http://127.0.0.1:${C_API_PORT[$1]}/switchover"
}
replicas() { local n; for n in "$@"; do role_is "$n" replica || return 1; done; }

# ---- activation on leadership
c_start node1
t_wait_for 90 "node1 to bootstrap and run as primary" role_is node1 primary
t_wait_for 20 "node1 to open the fake watchdog" grep -q ' open ' "$WD/log"
grep -q ' settimeout 8$' "$WD/log" || t_fail "the watchdog was not set to ttl - safety_margin = 8 s"
k0=$(count ' keepalive$')
t1=$SECONDS
t_wait_for 5 "keepalives as the lease moves (2 within 5 s)" eval '[ "$(count " keepalive$")" -gt $((k0 + 1)) ]'
t_pass "node1 activated the watchdog with 8 s (ttl 10 - safety_margin 2); 2 keepalives within $((SECONDS - t1 + 1)) s"
grep -q 'watchdog ".*" (fake-watchdog) activated with a 8 s timeout' "$C_DIR/node1.log" ||
	t_fail "node1's log does not say it activated the watchdog"
# /metrics renders the snapshot the next HA cycle publishes: wait for it, then check the value.
t_wait_for 10 "/metrics to show the active watchdog" eval '[ "$(metric node1 gsha_watchdog_active)" = 1 ]'
t_assert_eq 1 "$(metric node1 gsha_watchdog_active)" "/metrics: gsha_watchdog_active 1 on the leader"

c_start node2
c_start node3
t_wait_for 120 "node2 and node3 to run as replicas" replicas node2 node3
patroni node2 | grep -q '"watchdog_failed": true' || t_fail "node2's /patroni lacks watchdog_failed: true: $(patroni node2)"
patroni node3 | grep -q 'watchdog_failed' && t_fail "node3 (automatic) reports watchdog_failed"
patroni node1 | grep -q 'watchdog_failed' && t_fail "node1 reports watchdog_failed"
t_pass "/patroni: node2 (required, no device) reports \"watchdog_failed\": true; node1 and node3 do not"

# ---- switchover away: magic close; back: activated again
closes=$(count ' magic-close$')
t_assert_eq 200 "$(switchover node1 node3)" "switchover node1 -> node3 answers 200"
t_wait_for 60 "node3 to lead" leader_is node3
t_wait_for 30 "node1's guardian to disable the watchdog" eval '[ "$(count " magic-close$")" -gt '"$closes"' ]'
t_pass "switchover: node1 disabled the watchdog with the magic close ('V')"
grep -q 'watchdog: no device ".*": leading without a watchdog (mode: automatic' "$C_DIR/node3.log" ||
	t_fail "node3 (automatic, no device) did not say it leads without the watchdog"
[ "$(grep -c 'watchdog:' "$C_DIR/node3.log")" = 1 ] ||
	t_fail "node3 said more than once that it runs without the watchdog: $(grep 'watchdog:' "$C_DIR/node3.log")"
t_pass "node3 (automatic, no device) leads without the watchdog and said so once, without a timing warning"
t_wait_for 120 "node1 to rejoin as a replica" role_is node1 replica
opens=$(count ' open ')
t_assert_eq 200 "$(switchover node3 node1)" "switchover node3 -> node1 answers 200"
t_wait_for 60 "node1 to lead" leader_is node1
t_wait_for 30 "node1 to activate the watchdog again" eval '[ "$(count " open ")" -gt '"$opens"' ]'
t_pass "switchover back: node1 activated the watchdog again"

# ---- clean shutdown of the leader: magic close
closes=$(count ' magic-close$')
c_kill node1 TERM
[ "$(count ' magic-close$')" -gt "$closes" ] || t_fail "node1's clean shutdown left the watchdog running"
grep -q 'unexpected-close' "$WD/log" && t_fail "a close without the magic character: $(grep unexpected-close "$WD/log")"
t_pass "SIGTERM of the leader: its shutdown disabled the watchdog"
t_wait_for 60 "node3 to lead" leader_is node3
c_start node1
t_wait_for 120 "node1 to rejoin as a replica" role_is node1 replica
t_assert_eq 200 "$(switchover node3 node1)" "switchover node3 -> node1 answers 200"
t_wait_for 60 "node1 to lead" leader_is node1
t_wait_for 30 "node1 to hold an active watchdog" eval '[ "$(metric node1 gsha_watchdog_active)" = 1 ]'

# ---- kill -9 of the guardian: respawned, the watchdog handed over again
g=$(guardian_pid node1)
[ -n "$g" ] || t_fail "node1 runs no guardian"
opens=$(count ' open ')
kill -KILL "$g"
t_wait_for 10 "a new guardian on node1" eval 'n=$(guardian_pid node1); [ -n "$n" ] && [ "$n" != '"$g"' ]'
g2=$(guardian_pid node1)
# (signal 9), or "status unknown" when the agent's orphan reaper took the status first.
grep -Eq "the guardian \(pid $g\) exited \((signal 9|status unknown, reaped elsewhere)\): starting a new one" "$C_DIR/node1.log" ||
	t_fail "node1's log does not say its guardian died and was started again"
# /metrics renders the snapshot the next HA cycle publishes: wait for it, then check the value.
t_wait_for 10 "/metrics to count the respawn" eval '[ -n "$(metric node1 gsha_guardian_respawns_total)" ] && [ "$(metric node1 gsha_guardian_respawns_total)" != 0 ]'
t_assert_eq 1 "$(metric node1 gsha_guardian_respawns_total)" "/metrics: gsha_guardian_respawns_total 1"
grep -q 'unexpected-close still-running' "$WD/log" || t_fail "the dead guardian's close is not in the fake's log"
t_wait_for 10 "the new guardian to hold the watchdog" eval '[ "$(count " open ")" -gt '"$opens"' ]'
k0=$(count ' keepalive$')
t_wait_for 3 "a keepalive from the new guardian" eval '[ "$(count " keepalive$")" -gt '"$k0"' ]'
t_pass "guardian $g killed: guardian $g2 started at once, holds the watchdog and pings it"

# ... and still fences a frozen agent; the watchdog, disabled after the fence, does not fire.
pm=$(c_postmaster_pid node1)
a=$(agent_pid node1)
fires=$(count ' fire ')
closes=$(count ' magic-close$')
kill -STOP "$a"
FROZEN="$a ${C_PID[node1]}"
t_wait_for 30 "the new guardian to fence node1's PostgreSQL" pid_gone "$pm"
# The guardian logs the fence once the shutdown is done, which may be just after the pid is gone.
t_wait_for 10 "the new guardian's fence line in node1's log" \
	grep -q 'guardian: the agent (pid [0-9]*) did not renew the leader.s fence deadline.*fenced PostgreSQL' "$C_DIR/node1.log"
t_wait_for 10 "the guardian to disable the watchdog after the fence" eval '[ "$(count " magic-close$")" -gt '"$closes"' ]'
sleep 10 # longer than the watchdog's 8 s
t_assert_eq "$fires" "$(count ' fire ')" "the watchdog did not fire: the guardian fenced first"
kill -CONT $FROZEN
FROZEN=
t_pass "frozen agent: the respawned guardian fenced PostgreSQL, disabled the watchdog, no reset"
t_wait_for 60 "another node to lead" eval '[ -n "$(c_leader)" ] && [ "$(c_leader)" != node1 ]'
new=$(c_leader)
t_wait_for 120 "node1 to rejoin as a replica" role_is node1 replica

# ---- the first timeout after an activation: node1 frozen whole right after it activates the
# watchdog, before a later keepalive of the lease moved the deadline. Opening the device starts
# it; an activation on the replica's last keepalive (up to ttl / 2 old) would fire after that
# lease could end. The fire time is measured against the lease's earliest end: the send time of
# the last keepalive that succeeded + ttl = F + margin, F being the fence deadline in the
# guardian's page (read after the freeze, so no later keepalive can have moved it).
a=$(agent_pid node1)
g=$(guardian_pid node1)
pm=$(c_postmaster_pid node1)
[ -n "$a" ] && [ -n "$g" ] && [ -n "$pm" ] || t_fail "node1's agent, guardian or postmaster not found"
{ echo "$a"; echo "$g"; echo "$pm"; echo "${C_PID[node1]}"; } >"$WD/targets"
PAGE1=$(c_guardian_page "$C_DIR/node1/data")
MARGIN_MS=$((C_RETRY * 1000 + C_TTL * 1000 / 100)) # retry_timeout + ttl / 100
SM_MS=2000
opens=$(count ' open ')
fires=$(count ' fire ')
# Freezes agent and guardian at the first ping after the new open that follows the arming (the
# guardian took the device and got the deadline): pings after the open, open's own included.
freeze_after_activation() {
	local i n
	for ((i = 0; i < 3000; i++)); do
		if [ "$(count ' open ')" -gt "$opens" ]; then
			n=$(awk -v o="$opens" '/ open /{k++} k > o && / keepalive$/{p++} END {print p + 0}' "$WD/log")
			if [ "$n" -ge 2 ]; then
				kill -STOP "$g" "$a"
				echo "$n"
				return 0
			fi
		fi
		sleep 0.01
	done
	return 1
}
freeze_after_activation >"$WD/frozen-after" &
freezer=$!
t_assert_eq 200 "$(switchover "$new" node1)" "switchover $new -> node1 answers 200"
wait "$freezer" || t_fail "node1 did not activate the watchdog after the switchover"
FROZEN="$g $a ${C_PID[node1]}"
# node1 holds the key now: the instant is the key's first change from here.
c_key_instant 60 '!node1' >"$WD/key-instant" &
watcher=$!
pings_after_open=$(cat "$WD/frozen-after")
deadline=$(od -An -t d8 -N8 "$PAGE1" | tr -d ' ')
[ -n "$deadline" ] && [ "$deadline" -gt 0 ] || t_fail "no fence deadline in node1's guardian page ($deadline)"
t_wait_for 30 "the fake watchdog to fire" eval '[ "$(count " fire ")" -gt '"$fires"' ]'
fire_wall=$(grep ' fire ' "$WD/log" | tail -1 | awk '{print $2}')
fire_mono=$(grep ' fire ' "$WD/log" | tail -1 | awk '{print $1}')
open_mono=$(grep ' open ' "$WD/log" | tail -1 | awk '{print $1}')
t_wait_for 20 "node1's postmaster to be gone" pid_gone "$pm"
FROZEN=
wait "$watcher" || t_fail "no other node took the leader key"
key_ms=$(($(cat "$WD/key-instant") / 1000000))
lease_end=$((deadline + MARGIN_MS))
t_log "activation at $((open_mono - lease_end)) ms from the lease's earliest end, frozen after $pings_after_open pings; fired at $((fire_mono - lease_end)) ms from it (safety_margin: -$SM_MS); another node took the key $((key_ms - fire_wall)) ms after the fire"
[ "$fire_mono" -lt "$lease_end" ] || t_fail "the watchdog fired $((fire_mono - lease_end)) ms after the lease's earliest end"
# safety_margin before the lease's end, later only by the keepalive's round trip and the
# activation (the fresh keepalive before it): at most 500 ms on this loaded machine.
[ "$fire_mono" -le $((lease_end - SM_MS + 500)) ] ||
	t_fail "the watchdog fired $((fire_mono - lease_end + SM_MS)) ms after the lease's end less safety_margin"
[ "$fire_wall" -lt "$key_ms" ] || t_fail "the watchdog fired after another node took the leader key"
t_pass "frozen right after the activation: the watchdog fired $((lease_end - fire_mono)) ms before the lease's earliest end (safety_margin $SM_MS ms), $((key_ms - fire_wall)) ms before another node took the key"
grep -q 'not pinging the watchdog: too late' "$C_DIR/node1.log" &&
	t_fail "a ping came too late for its lease: $(grep 'not pinging the watchdog' "$C_DIR/node1.log" | head -3)"
t_pass "no ping of the watchdog came too late for the lease that proved it"
# node3 (automatic, no device, ttl 10) said it once, whatever the number of its promotions.
t_assert_eq 1 "$(grep -c 'watchdog:' "$C_DIR/node3.log")" "node3's watchdog lines over $(grep -c -- '-> "primary"' "$C_DIR/node3.log") promotions"
# Through every leader change above, node2 (required, no usable device) was no candidate.
grep -q -- '-> "primary"' "$C_DIR/node2.log" && t_fail "node2 (required, no device) ran as primary"
grep -q 'not racing because tagged nofailover' "$C_DIR/node2.log" ||
	t_fail "node2 never said why it does not race"
t_pass "node2 (required, no usable device) never took the leadership through $(grep -c -- '-> "primary"' "$C_DIR/node1.log" "$C_DIR/node3.log" | awk -F: '{s += $2} END {print s}') promotions of the others"
t_done
