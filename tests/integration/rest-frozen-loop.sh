#!/usr/bin/env bash
# A frozen HA loop cannot keep a primary in the HAProxy pool: rest-harness (a test harness)
# publishes one primary snapshot whose lease deadline lies a few seconds ahead and then never
# publishes again. The primary checks answer 200 before the deadline and turn to 503 after it
# on their own, while /health (the database is still up) stays 200.
source "$(dirname "$0")/lib/common.sh"

HARNESS=$GSHA_BUILD_DIR/tests/integration/rest-harness
PORT=$(t_free_port)
LEASE_MS=6000
"$HARNESS" --port "$PORT" --state primary --freeze --lease-ms "$LEASE_MS" >"$t_tmpdir/harness.log" 2>&1 &
HPID=$!
t_register_pid "$HPID"
t_wait_for 10 "rest-harness on port $PORT" curl -s -o /dev/null "http://127.0.0.1:$PORT/liveness"
grep -q "frozen" "$t_tmpdir/harness.log" || t_fail "harness did not start in frozen mode"

code() { curl -s -o /dev/null -w '%{http_code}' -m 5 -X "$1" "http://127.0.0.1:$PORT$2"; }

for p in / /primary /master /read-write /leader; do
	t_assert_eq 200 "$(code GET "$p")" "before the deadline: GET $p"
done
t_assert_eq 200 "$(code OPTIONS /)" "before the deadline: OPTIONS /"

# Poll (bounded) until the deadline has passed; the harness publishes nothing meanwhile.
primary_503() { [ "$(code GET /primary)" = 503 ]; }
t_wait_for 30 "GET /primary to turn 503 after the lease deadline" primary_503
for p in / /primary /master /read-write /leader; do
	t_assert_eq 503 "$(code GET "$p")" "after the deadline: GET $p"
	t_assert_eq 503 "$(code HEAD "$p")" "after the deadline: HEAD $p"
done
t_assert_eq 503 "$(code OPTIONS /)" "after the deadline: OPTIONS / (HAProxy's default check)"
t_assert_eq 200 "$(code GET /health)" "after the deadline: /health still 200"
metrics=$(curl -s -m 5 "http://127.0.0.1:$PORT/metrics" || true)
grep -q '^gsha_leader_lease_valid{scope="batman",name="node1"} 0$' <<<"$metrics" ||
	t_fail "metrics do not show the lease as invalid"
t_pass "metrics show gsha_leader_lease_valid 0"
t_done
