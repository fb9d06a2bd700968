#!/usr/bin/env bash
# The checker on planted logs: each case writes the logs one scenario would leave, with one
# thing wrong (or nothing), and asserts check.py's verdict and the violation it names. The
# checker is the suite's judge; a checker that cannot see a lost row or two primaries would
# pass every scenario.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/gsha-faults-checker.XXXXXX)
trap 'rm -rf "$dir"' EXIT
passed=0
IPS=10.77.0.21,10.77.0.22,10.77.0.23

# A healthy baseline: node1 primary until 10 s, node2 from 12 s (failover), rows 1-4 acked.
# Times in ms, written as microseconds. INJECT at 9 s.
baseline() { # DIR
	local d=$1
	mkdir -p "$d"
	cat >"$d/meta" <<META
MODE=${MODE:-sync}
INITIAL_LEADER=node1
INJECT_US=9000000
HEAL_US=20000000
EXPECT_FAILOVER=${EXPECT:-yes}
HEALTHY_MS=1500
META
	cat >"$d/writer.log" <<LOG
ok 1 1000000 1001000 10.77.0.21
ok 2 2000000 2001000 10.77.0.21
unknown 3 9500000 12500000 10.77.0.21
noconn - - 12600000 -
ok 4 13000000 13001000 10.77.0.22
LOG
	{
		for t in 1 2 3 4 5 6 7 8 9; do echo "ok $t ${t}000000 ${t}000500 -"; done
		echo "unknown 10 10000000 11000000 -"
		echo "fail 11 11100000 11100300 -"
	} >"$d/probe-node1.log"
	{
		for t in 1 2 3 4 5 6 7 8 9 10 11; do echo "fail $t ${t}000000 ${t}000300 -"; done
		for t in 12 13 14; do echo "ok $t ${t}000000 ${t}000500 -"; done
	} >"$d/probe-node2.log"
	for t in 1 2 3; do echo "fail $t ${t}000000 ${t}000300 -"; done >"$d/probe-node3.log"
	printf '1\n2\n4\n' >"$d/final-seqs.txt"
	printf '40 DELETE\n41 PUT node2\n' >"$d/leader-history.txt"
}

expect() { # NAME WANT_VERDICT WANT_TEXT (a fragment of the violations, "" for none)
	local name=$1 want=$2 text=$3 got
	got=$(python3 "$HERE/check.py" "$dir/$name" node1,node2,node3 "$IPS" || true)
	if [[ "$got" != *"\"verdict\": \"$want\""* ]] || [[ -n "$text" && "$got" != *"$text"* ]]; then
		echo "not ok - $name: wanted $want ${text:+($text)}, got $got"
		exit 1
	fi
	passed=$((passed + 1))
	echo "ok $passed - $name: $want${text:+ ($text)}"
}

baseline "$dir/clean"
expect clean PASS ""

baseline "$dir/lost-sync"
printf '1\n4\n' >"$dir/lost-sync/final-seqs.txt"
expect lost-sync FAIL "lost 1 acknowledged rows (first [2])"

MODE=async baseline "$dir/lost-async"
printf '1\n4\n' >"$dir/lost-async/final-seqs.txt"
expect lost-async PASS ""
grep -q '"lost": 1' <(python3 "$HERE/check.py" "$dir/lost-async" node1,node2,node3 "$IPS") ||
	{ echo "not ok - lost-async: the lost row is not counted"; exit 1; }

# A commit that returned with the synchronous-replication warning is not acknowledged: its
# absence is no loss.
baseline "$dir/warned"
sed -i 's/^unknown 3 /warn 3 /' "$dir/warned/writer.log"
expect warned PASS ""

# The old primary's probe still commits at 12.2 s, after node2's first commit at 12 s.
baseline "$dir/old-primary-late"
{
	for t in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "ok $t ${t}000000 ${t}000500 -"; done
	echo "ok 13 12200000 12200400 -"
	echo "fail 14 13000000 13000300 -"
} >"$dir/old-primary-late/probe-node1.log"
expect old-primary-late FAIL "two writable primaries"

# One stray commit of a third node in the middle of node2's epoch.
baseline "$dir/stray"
printf 'fail 1 1000000 1000300 -\nok 2 13500000 13500200 -\nfail 3 13600000 13600300 -\n' \
	>"$dir/stray/probe-node3.log"
expect stray FAIL "node2 [3000, 5000] ms and node3 [4500, 4500] ms"

# The writer acknowledged on node1 at 13.0 s while node2's epoch (12-14 s) ran.
baseline "$dir/writer-on-old"
sed -i 's/^ok 4 13000000 13001000 10.77.0.22/ok 4 13000000 13001000 10.77.0.21/' \
	"$dir/writer-on-old/writer.log"
expect writer-on-old FAIL "writer row 4 acknowledged by node1"

# node1 loses the lead, node2 leads, loses it, node1 leads again: no overlap, no violation.
baseline "$dir/switch-back"
cat "$dir/switch-back/probe-node1.log" >"$dir/switch-back/p1"
printf 'ok 20 20000000 20000500 -\nok 21 21000000 21000500 -\n' >>"$dir/switch-back/p1"
mv "$dir/switch-back/p1" "$dir/switch-back/probe-node1.log"
echo "fail 15 15000000 15000300 -" >>"$dir/switch-back/probe-node2.log"
expect switch-back PASS ""

EXPECT=no baseline "$dir/false-failover"
expect false-failover FAIL "false failover: the leader key went to node2"

EXPECT=no baseline "$dir/same-leader"
printf '40 DELETE\n41 PUT node1\n' >"$dir/same-leader/leader-history.txt"
expect same-leader PASS ""
# ... but the lapse is counted (clock-step: Patroni let its key expire and took it back).
grep -q '"lapses": 1' <(python3 "$HERE/check.py" "$dir/same-leader" node1,node2,node3 "$IPS") ||
	{ echo "not ok - same-leader: the leader key's lapse is not counted"; exit 1; }

baseline "$dir/no-failover"
: >"$dir/no-failover/leader-history.txt"
expect no-failover FAIL "no failover: the leader key never left node1"

baseline "$dir/unhealthy"
sed -i 's/^HEALTHY_MS=.*/HEALTHY_MS=never/' "$dir/unhealthy/meta"
expect unhealthy FAIL "not healthy after the heal"

# A fault that did not take effect is the scenario's own violation (clock-step: now() unmoved).
baseline "$dir/fault-missed"
echo "the wall clock step did not take effect on node1" >"$dir/fault-missed/scenario-violations.txt"
expect fault-missed FAIL "the wall clock step did not take effect on node1"

baseline "$dir/no-final"
rm "$dir/no-final/final-seqs.txt"
expect no-final FAIL "no final primary"

echo "$passed passed, 0 failed"
