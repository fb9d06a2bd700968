#!/usr/bin/env bash
# Runs every benchmark with short defaults, gsha beside Patroni, and prints their summaries
# together at the end. Benchmarks print figures; none asserts on them.
#
#   tests/bench/run-all.sh [RUNS] [FOOTPRINT_SECONDS] [REST_SECONDS]
#
# RUNS (default 3) failovers per system in async and in sync mode and switchovers per system;
# FOOTPRINT_SECONDS (default 30) of idle measurement; REST_SECONDS (default 10) of wrk with 32
# connections. GSHA_BUILD_DIR (default /tmp/build-bench-rel) must be an optimized build without
# sanitizers; when it has no gsha binary it is set up as a release build here. Only the targets the
# benchmarks use are built. Full outputs go to BENCH_OUT (default /tmp/gsha-bench-DATE).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-3}
FOOTPRINT_SECONDS=${2:-30}
REST_SECONDS=${3:-10}
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
BENCH_OUT=${BENCH_OUT:-/tmp/gsha-bench-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$BENCH_OUT" || exit 1

if [ ! -x "$GSHA_BUILD_DIR/gsha" ]; then
	meson setup "$GSHA_BUILD_DIR" "$root" -Dbuildtype=release || exit 1
fi
ninja -C "$GSHA_BUILD_DIR" gsha tests/bench/bench-writer tests/bench/rest-paced tests/integration/rest-harness || exit 1

run() { # NAME SCRIPT ARGS...
	local name=$1
	shift
	echo "######## $name: $*"
	"$@" 2>&1 | tee "$BENCH_OUT/$name.txt"
}

start=$(date -u +%s)
run failover-async "$root/tests/bench/failover.sh" "$RUNS" async
run failover-sync "$root/tests/bench/failover.sh" "$RUNS" sync
run switchover "$root/tests/bench/switchover.sh" "$RUNS"
run footprint "$root/tests/bench/footprint.sh" "$FOOTPRINT_SECONDS"
run rest "$root/tests/bench/rest_health.sh" "$GSHA_BUILD_DIR" "$REST_SECONDS" 32

echo
echo "######## summaries (full outputs in $BENCH_OUT, $(($(date -u +%s) - start)) s in all)"
for name in failover-async failover-sync switchover footprint rest; do
	sed -n '/^== .*summary/,$p' "$BENCH_OUT/$name.txt"
done
