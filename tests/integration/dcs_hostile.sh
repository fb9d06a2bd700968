#!/usr/bin/env bash
# A process pretending to be etcd (tests/integration/fake-etcd.py, a FAKE) sends malformed,
# mistyped, truncated, oversized, slow or no replies: every call ends in a classified error
# within retry_timeout and never crashes (the helper runs under ASan and UBSan). With a real etcd
# listed after the fake, calls succeed.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/etcd.sh"
. "$(dirname "$0")/lib/dcs.sh"

RETRY_MS=2000
out=$(t_tmpdir)
t_start_etcd

# mode  expected exit (16 = invalid response, 11 = transient)
while read -r mode want; do
	for try in 1 2 3; do
		port=$(t_free_port)
		python3 "$(dirname "$0")/fake-etcd.py" "$port" "$mode" 2>/dev/null &
		fake=$!
		t_register_pid $fake
		for _ in $(seq 50); do
			curl -sf "http://127.0.0.1:$port/version" >/dev/null 2>&1 && break 2
			kill -0 $fake 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL $fake 2>/dev/null || true
		[ "$try" = 3 ] && t_fail "fake etcd ($mode) did not start on three ports"
	done
	for cmd in read take-leader; do
		rc=0
		t_dcs_client --endpoints="127.0.0.1:$port" --retry-ms=$RETRY_MS --name=node1 $cmd \
			>/dev/null 2>"$out/err" || rc=$?
		elapsed=$(sed -n 's/^elapsed_ms=//p' "$out/err")
		t_log "$mode: $cmd -> exit $rc after ${elapsed:-?} ms: $(head -1 "$out/err")"
		[ "$rc" = "$want" ] || t_fail "fake etcd \"$mode\": $cmd exit $rc, want $want: $(cat "$out/err")"
		[ "$elapsed" -le $((RETRY_MS + 1000)) ] ||
			t_fail "fake etcd \"$mode\": $cmd blocked ${elapsed} ms, longer than retry_timeout"
	done
	# The fake first, the real etcd second: the client moves on and succeeds.
	t_dcs_client --endpoints="127.0.0.1:$port,$ETCD_URL" --retry-ms=$RETRY_MS read >/dev/null \
		2>"$out/err" || t_fail "fake etcd \"$mode\" listed before a real one: $(cat "$out/err")"
	t_pass "fake etcd \"$mode\": a classified error (exit $want) within retry_timeout, no crash; a real etcd after it is used"
	kill $fake
	wait $fake 2>/dev/null || true
done <<MODES
garbage 16
mistyped 16
huge 16
truncated 11
hang 11
drip 11
html500 11
MODES
t_done
