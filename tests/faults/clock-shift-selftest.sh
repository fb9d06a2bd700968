#!/usr/bin/env bash
# The clock-step scenario's tool on its own (docs/faults.md): clock-shift.so must move the wall
# clock of a preloaded process by the file's offset, through every entry point the cluster's
# programs use (coreutils' date: clock_gettime; Python's time.time: clock_gettime; Perl's time and
# Time::HiRes::gettimeofday: time() and gettimeofday(), which PostgreSQL's now() uses), follow a
# rewritten file, ignore a garbage file, and leave CLOCK_MONOTONIC alone.
#   clock-shift-selftest.sh PATH/clock-shift.so PATH/fault-client
set -euo pipefail
SO=$(realpath "$1")
CLIENT=$(realpath "$2")
dir=$(mktemp -d /tmp/gsha-clock-shift.XXXXXX)
trap 'rm -rf "$dir"' EXIT
F=$dir/offset
passed=0

shifted() { env LD_PRELOAD="$SO" CLOCK_SHIFT_FILE="$F" "$@"; }
# NAME EXPECTED_S GOT_S: |got - expected| within 5 s (the machine is loaded; the offsets are hours)
near() {
	if awk -v e="$2" -v g="$3" 'BEGIN { d = g - e; exit !(d < 5 && d > -5) }'; then
		passed=$((passed + 1))
	else
		echo "FAIL $1: expected about $2 s, got $3 s" >&2
		exit 1
	fi
}

echo 3600000 >"$F"
t0=$(date +%s)
near "date +1 h" 3600 $(($(shifted date +%s) - t0))
near "python time.time +1 h" 3600 "$(shifted python3 -c 'import time; print(time.time() - '"$t0"')')"
near "perl time() +1 h" 3600 $(($(shifted perl -e 'print time') - t0))
near "perl gettimeofday +1 h" 3600 \
	"$(shifted perl -MTime::HiRes=gettimeofday -e '($s, $u) = gettimeofday(); print $s - '"$t0"'')"
echo -3600000 >"$F"
near "date -1 h" -3600 $(($(shifted date +%s) - $(date +%s)))
# Monotonic: fault-client now prints CLOCK_MONOTONIC in microseconds.
m0=$("$CLIENT" now)
near "CLOCK_MONOTONIC unshifted" 0 $((($(shifted "$CLIENT" now) - m0) / 1000000))
echo garbage >"$F"
near "garbage file = 0" 0 $(($(shifted date +%s) - $(date +%s)))
rm -f "$F"
near "no file = 0" 0 $(($(shifted date +%s) - $(date +%s)))
# A running process follows a replaced file within CS_REREAD_MS (20 ms).
echo 0 >"$F"
jump=$(shifted python3 -c '
import os, sys, time
a = time.time()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("7200000\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(0.1)
print(time.time() - a)' "$F")
near "running process follows the file (+2 h)" 7200 "$jump"
echo "clock-shift: $passed checks passed"
