#!/usr/bin/env bash
# Hostile clients cannot crash the REST server, exhaust its memory or starve its health checks:
# 2000 idle connections, a slowloris, malformed requests, huge URIs, headers and bodies. During
# each attack a health check from another loopback address still answers 200 within 5 s, and
# the server (rest-harness, a test harness around the real server) stays up throughout.
# Traffic stays on 127.0.0.0/8.
source "$(dirname "$0")/lib/common.sh"

HARNESS=$GSHA_BUILD_DIR/tests/integration/rest-harness
CLIENT=$GSHA_SOURCE_DIR/tests/integration/rest-hostile-client.py
PORT=$(t_free_port)
"$HARNESS" --port "$PORT" --state primary >"$t_tmpdir/harness.log" 2>&1 &
HPID=$!
t_register_pid "$HPID"
t_wait_for 10 "rest-harness on port $PORT" curl -s -o /dev/null "http://127.0.0.1:$PORT/liveness"

health_ok() { # the check HAProxy would make, with a generous bound
	local got
	got=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X OPTIONS "http://127.0.0.1:$PORT/primary")
	[ "$got" = 200 ] || t_fail "health check during $1 answered \"$got\" (server alive: $(kill -0 "$HPID" 2>/dev/null && echo yes || echo no))"
	got=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$PORT/patroni")
	[ "$got" = 200 ] || t_fail "GET /patroni during $1 answered \"$got\""
}

alive() { kill -0 "$HPID" 2>/dev/null || t_fail "the server died after $1 ($(tail -5 "$t_tmpdir/harness.log"))"; }

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$HPID/status"; }
rss_before=$(rss_kb)

# 1. 2000 idle connections from 40 addresses (127.0.0.2 .. 127.0.0.41), held for 8 s
python3 "$CLIENT" hold "$PORT" 2000 2 8 >"$t_tmpdir/hold.out" &
holder=$!
t_wait_for 30 "2000 idle connections opened" grep -q opened "$t_tmpdir/hold.out"
for _ in 1 2 3; do health_ok "2000 idle connections"; done
t_pass "health checks answer while 2000 idle connections are open ($(head -1 "$t_tmpdir/hold.out"))"
wait "$holder"
alive "idle connections"

# 2. one address hogging: 300 connections from 127.0.0.50; the per-address limit keeps most out
python3 "$CLIENT" hold "$PORT" 300 50 3 300 >"$t_tmpdir/hog.out" 2>&1 || true
kept=$(sed -n 's/^still open after 3s: //p' "$t_tmpdir/hog.out")
[ -n "$kept" ] && [ "$kept" -le 64 ] || t_fail "one address kept $kept connections (limit 64): $(cat "$t_tmpdir/hog.out")"
t_pass "one address holds at most 64 connections (kept $kept of 300)"
alive "one-address hog"

# 3. slowloris: 40 connections trickling header bytes for 8 s
python3 "$CLIENT" slowloris "$PORT" 40 127.0.0.60 8 >"$t_tmpdir/slow.out" &
slow=$!
sleep 1
for _ in 1 2 3; do health_ok "a slowloris attack"; done
t_pass "health checks answer during a slowloris attack"
wait "$slow"
alive "slowloris"

# 4. malformed and oversized requests, one at a time
for kind in garbage noversion badmethod badheader hugeuri hugeheader manyheaders \
	hugebody_declared hugebody_sent hugebody_chunked negative_length deepjson; do
	line=$(timeout 30 python3 "$CLIENT" oneshot "$PORT" "$kind") || t_fail "$kind: client failed"
	case "$line" in
	"HTTP/1."[01]" 2"*) t_fail "$kind was accepted: $line" ;;
	esac
	alive "$kind"
	health_ok "$kind"
	t_pass "$kind refused (${line:-closed}); server up, health check 200"
done

# 5. memory stayed bounded (generous: the attacks above must not have grown it by 200 MB)
rss_after=$(rss_kb)
[ $((rss_after - rss_before)) -lt 204800 ] || t_fail "RSS grew from ${rss_before} kB to ${rss_after} kB"
t_pass "RSS ${rss_before} kB -> ${rss_after} kB"
t_done
