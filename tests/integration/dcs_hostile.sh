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

# Junk under the cluster prefix: five keys of 1.4 MB each (etcd takes up to 1.5 MiB a request)
# pushed a read of the whole prefix past its 8 MiB cap, so no agent saw the cluster. The read
# asks for the keys gsha uses only: the leader and the member are seen, the junk never read.
junk=$out/junk
head -c 1400000 /dev/zero | tr '\0' x >"$junk"
etcdctl --endpoints="$ETCD_URL" put /service/batman/leader node1 >/dev/null ||
	t_fail "could not write the leader key"
etcdctl --endpoints="$ETCD_URL" put /service/batman/members/node1 \
	'{"role":"primary","state":"running","api_url":"http://127.0.0.1:8008/patroni"}' \
	>/dev/null || t_fail "could not write the member key"
for i in 1 2 3 4 5; do
	etcdctl --endpoints="$ETCD_URL" put "/service/batman/junk$i" <"$junk" >/dev/null ||
		t_fail "could not write junk key $i"
done
t_dcs_client --endpoints="$ETCD_URL" --retry-ms=$RETRY_MS read >"$out/read" 2>"$out/err" ||
	t_fail "read with 7 MB of junk under the prefix: $(cat "$out/err")"
grep -qx "leader=node1" "$out/read" || t_fail "junk: leader not seen: $(cat "$out/read")"
grep -q "^member=node1 role=primary" "$out/read" || t_fail "junk: member not seen"
t_pass "7 MB of junk keys under the prefix: the cluster is still read (leader and member seen)"
etcdctl --endpoints="$ETCD_URL" put /service/batman/junk6 <"$junk" >/dev/null ||
	t_fail "could not write junk key 6"
t_dcs_client --endpoints="$ETCD_URL" --retry-ms=$RETRY_MS read >"$out/read" 2>"$out/err" ||
	t_fail "read with 8.4 MB of junk under the prefix: $(cat "$out/err")"
grep -qx "leader=node1" "$out/read" || t_fail "junk past 8 MiB: leader not seen"
t_pass "8.4 MB of junk keys (past the reply cap): the cluster is still read"
# Junk inside the members' directory itself: past the reply cap, the member keys are listed and
# read one by one; the junk is refused as oversized, the real member is seen.
for i in 1 2 3 4 5 6; do
	etcdctl --endpoints="$ETCD_URL" put "/service/batman/members/junk$i" <"$junk" >/dev/null ||
		t_fail "could not write junk member key $i"
done
t_dcs_client --endpoints="$ETCD_URL" --retry-ms=$RETRY_MS read >"$out/read" 2>"$out/err" ||
	t_fail "read with 8.4 MB of junk under members/: $(cat "$out/err")"
grep -qx "leader=node1" "$out/read" || t_fail "junk in members/: leader not seen"
grep -q "^member=node1 role=primary" "$out/read" || t_fail "junk in members/: node1 not seen"
grep -q "^rejected=[1-9].*members/junk" "$out/read" ||
	t_fail "junk in members/: not reported: $(grep '^rejected=' "$out/read")"
t_pass "8.4 MB of junk under members/: read key by key, node1 seen, the junk refused and reported"
t_done
