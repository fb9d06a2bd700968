#!/usr/bin/env bash
# The clock-step scenario's tool on its own (docs/faults.md): clock-shift.so must move the wall
# clock of a preloaded process by the file's offset, through every entry point the cluster's
# programs use (coreutils' date: clock_gettime; Python's time.time: clock_gettime; Perl's time and
# Time::HiRes::gettimeofday: time() and gettimeofday(), which PostgreSQL's now() uses), follow a
# rewritten file, ignore a garbage or missing file, and leave CLOCK_MONOTONIC alone.
#   clock-shift-selftest.sh PATH/clock-shift.so
set -euo pipefail
SO=$(realpath "$1")
dir=$(mktemp -d /tmp/gsha-clock-shift.XXXXXX)
trap 'rm -rf "$dir"' EXIT
F=$dir/offset
passed=0

shifted() { env LD_PRELOAD="$SO" CLOCK_SHIFT_FILE="$F" "$@"; }
# check NAME OFFSET_S CMD...: CMD prints a wall-clock reading in seconds; it must lie within
# OFFSET_S of true time taken just before and just after it (1 s of slack for whole seconds):
# bracketing, not a fixed tolerance, because the machine is loaded and Python may take seconds
# to start.
check() {
	local name=$1 off=$2 before got after
	shift 2
	before=$(date +%s.%N)
	got=$("$@")
	after=$(date +%s.%N)
	if awk -v b="$before" -v a="$after" -v g="$got" -v o="$off" \
		'BEGIN { exit !(g - o >= b - 1 && g - o <= a + 1) }'; then
		passed=$((passed + 1))
	else
		echo "FAIL $name: read $got, true time was $before..$after, expected offset $off s" >&2
		exit 1
	fi
}

echo 3600000 >"$F"
check "date +1 h" 3600 shifted date +%s
check "python time.time +1 h" 3600 shifted python3 -c 'import time; print(time.time())'
check "perl time() +1 h" 3600 shifted perl -e 'print time'
check "perl gettimeofday +1 h" 3600 \
	shifted perl -MTime::HiRes=gettimeofday -e '($s, $u) = gettimeofday(); print "$s.$u"'
echo -3600000 >"$F"
check "date -1 h" -3600 shifted date +%s
echo garbage >"$F"
check "garbage file = 0" 0 shifted date +%s
rm -f "$F"
check "no file = 0" 0 shifted date +%s
# CLOCK_MONOTONIC is never shifted (read by Python: the test build's own programs carry the
# sanitizer runtime, which refuses to run behind a preloaded library).
echo 3600000 >"$F"
mono() { "$@" python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))'; }
m0=$(mono)
m1=$(mono shifted)
m2=$(mono)
if [ "$m1" -ge "$m0" ] && [ "$m1" -le "$m2" ]; then
	passed=$((passed + 1))
else
	echo "FAIL CLOCK_MONOTONIC moved: $m0 <= $m1 <= $m2 does not hold" >&2
	exit 1
fi
# A running process follows a replaced file within CS_REREAD_MS (20 ms): +2 h from 0, less
# whatever the 0.1 s sleep took.
echo 0 >"$F"
jump=$(shifted python3 -c '
import os, sys, time
a, m = time.time(), time.monotonic()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("7200000\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(0.1)
print(time.time() - a - (time.monotonic() - m))' "$F")
if awk -v j="$jump" 'BEGIN { exit !(j > 7199.9 && j < 7200.1) }'; then
	passed=$((passed + 1))
else
	echo "FAIL a running process did not follow the file: stepped $jump s, expected 7200" >&2
	exit 1
fi
echo "clock-shift: $passed checks passed"
