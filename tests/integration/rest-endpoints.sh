#!/usr/bin/env bash
# The real REST server (through rest-harness, a test harness serving canned snapshots) answers
# every endpoint with Patroni's codes on a primary, a replica, a stopped database and a node
# cut off from etcd; HEAD/OPTIONS get bare HTTP/1.0 status lines; action endpoints enforce
# Basic auth, the allow-list and body rules end to end; a slow action does not hold up health
# checks.
source "$(dirname "$0")/lib/common.sh"

HARNESS=$GSHA_BUILD_DIR/tests/integration/rest-harness
[ -x "$HARNESS" ] || t_fail "rest-harness not built at $HARNESS"

# start_harness ARGS... : starts it on a free port, sets PORT and HPID
start_harness() {
	PORT=$(t_free_port)
	"$HARNESS" --port "$PORT" "$@" >"$t_tmpdir/harness-$PORT.log" 2>&1 &
	HPID=$!
	t_register_pid "$HPID"
	t_wait_for 10 "rest-harness on port $PORT" curl -s -o /dev/null "http://127.0.0.1:$PORT/liveness"
}

stop_harness() {
	kill -TERM "$HPID"
	for _ in $(seq 50); do kill -0 "$HPID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$HPID" 2>/dev/null && t_fail "rest-harness did not stop on SIGTERM"
	wait "$HPID" || t_fail "rest-harness exited with an error"
}

code() { # METHOD PATH -> status code
	curl -s -o /dev/null -w '%{http_code}' -m 5 -X "$1" "http://127.0.0.1:$PORT$2"
}

# Expected GET codes per state: primary replica stopped cutoff
declare -A want=(
	[/]="200 503 503 503"
	[/primary]="200 503 503 503"
	[/master]="200 503 503 503"
	[/read-write]="200 503 503 503"
	[/standby-leader]="503 503 503 503"
	[/leader]="200 503 503 503"
	[/replica]="503 200 503 503"
	["/replica?lag=1MB"]="503 200 503 503"
	["/replica?tag_dc=east"]="503 200 503 503"
	["/replica?tag_dc=west"]="503 503 503 503"
	[/read-only]="200 200 503 503"
	[/synchronous]="503 503 503 503"
	[/sync]="503 503 503 503"
	[/asynchronous]="503 200 503 503"
	[/async]="503 200 503 503"
	[/health]="200 200 503 200"
	[/liveness]="200 200 200 200"
	[/readiness]="200 200 503 503"
	[/patroni]="200 200 200 200"
	[/cluster]="200 200 200 200"
	[/history]="200 200 200 200"
	[/config]="200 200 200 200"
	[/metrics]="200 200 200 200"
	[/failsafe]="502 502 502 502"
	[/nonexistent]="503 503 503 503"
)
states=(primary replica stopped cutoff)

for i in "${!states[@]}"; do
	st=${states[$i]}
	start_harness --state "$st"
	for path in "${!want[@]}"; do
		read -r -a codes <<<"${want[$path]}"
		w=${codes[$i]}
		got=$(code GET "$path")
		[ "$got" = "$w" ] || t_fail "GET $path on $st: expected $w, got $got"
		for m in HEAD OPTIONS; do
			hw=$w
			case "$path" in
			/liveness | /readiness | /patroni | /cluster | /history | /config | /metrics | /failsafe) hw=503 ;;
			esac
			got=$(code "$m" "$path")
			[ "$got" = "$hw" ] || t_fail "$m $path on $st: expected $hw, got $got"
		done
	done
	t_pass "$st: GET/HEAD/OPTIONS on ${#want[@]} paths answer the contract's codes"

	# bare status line for OPTIONS (what HAProxy's plain httpchk sends), HTTP/1.0, no body
	raw=$(printf 'OPTIONS / HTTP/1.0\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; cat <&3")
	first=$(printf '%s' "$raw" | head -1 | tr -d '\r')
	case $st in primary) t_assert_eq "HTTP/1.0 200 OK" "$first" "$st: OPTIONS / status line" ;;
	*) t_assert_eq "HTTP/1.0 503 Service Unavailable" "$first" "$st: OPTIONS / status line" ;;
	esac
	body=$(printf '%s' "$raw" | sed -n '/^\r$/,$p' | tail -n +2)
	t_assert_eq "" "$body" "$st: OPTIONS / has no body"
	stop_harness
done

# The status document and headers of a replica
start_harness --state replica
hdrs=$(curl -s -D - -o "$t_tmpdir/patroni.json" "http://127.0.0.1:$PORT/patroni")
grep -q '^HTTP/1.0 200' <<<"$hdrs" || t_fail "GET /patroni is not HTTP/1.0 200: $hdrs"
grep -qi '^Server: gsha/' <<<"$hdrs" || t_fail "no Server header: $hdrs"
grep -qi '^Content-Type: application/json' <<<"$hdrs" || t_fail "no JSON content type: $hdrs"
python3 - "$t_tmpdir/patroni.json" <<'EOF' || t_fail "/patroni document is not what peers expect"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "running" and d["role"] == "replica", d
assert d["xlog"]["received_location"] == 50331744 and d["xlog"]["replayed_location"] == 50331744, d
assert d["timeline"] == 1 and d["replication_state"] == "streaming", d
assert d["patroni"] == {"version": "4.1.4", "scope": "batman", "name": "node2"}, d
assert d["tags"] == {"dc": "east"}, d
EOF
t_pass "GET /patroni on a replica: HTTP/1.0, Server header, the fields peers read"
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
for m in patroni_replica patroni_postgres_running gsha_leader_lease_valid gsha_role_changes_total \
	gsha_dcs_last_contact_age_seconds gsha_loop_duration_seconds_count; do
	grep -q "^$m{scope=\"batman\",name=\"node2\"} " <<<"$metrics" || t_fail "metric $m missing"
done
t_pass "GET /metrics carries Patroni's and gsha's metric names"
stop_harness

# Actions with authentication and an allow-list
start_harness --state primary --user admin --password secret
url=http://127.0.0.1:$PORT
got=$(curl -s -D "$t_tmpdir/h" -o "$t_tmpdir/b" -w '%{http_code}' -X POST "$url/reload")
t_assert_eq 401 "$got" "POST /reload without credentials is 401"
grep -qi '^WWW-Authenticate: Basic realm="Patroni"' "$t_tmpdir/h" || t_fail "401 lacks WWW-Authenticate"
t_assert_eq "no auth header received" "$(cat "$t_tmpdir/b")" "401 body"
head -c 60000 /dev/zero | tr '\0' ' ' >"$t_tmpdir/big.json"
got=$(curl -s -o "$t_tmpdir/b" -w '%{http_code}' -X PATCH --data-binary @"$t_tmpdir/big.json" "$url/config")
t_assert_eq 401 "$got" "PATCH /config with a 60 kB body and no credentials is refused with 401"
got=$(curl -s -o /dev/null -w '%{http_code}' -u admin:wrong -X POST "$url/reload")
t_assert_eq 401 "$got" "POST /reload with a wrong password is 401"
got=$(curl -s -o "$t_tmpdir/b" -w '%{http_code}' -u admin:secret -X POST "$url/reload")
t_assert_eq 202 "$got" "POST /reload with credentials is 202"
t_assert_eq "reload scheduled" "$(cat "$t_tmpdir/b")" "POST /reload body"
got=$(curl -s -o /dev/null -w '%{http_code}' -u admin:secret -X POST -H 'Content-Length:' "$url/switchover")
t_assert_eq 411 "$got" "POST /switchover without Content-Length is 411"
got=$(curl -s -o /dev/null -w '%{http_code}' -u admin:secret -d '{bad' "$url/switchover")
t_assert_eq 400 "$got" "POST /switchover with bad JSON is 400"
got=$(curl -s -o "$t_tmpdir/b" -w '%{http_code}' -u admin:secret -d '{"candidate":"node2"}' "$url/switchover")
t_assert_eq 400 "$got" "POST /switchover without leader is 400"
t_assert_eq "Switchover could be performed only from a specific leader" "$(cat "$t_tmpdir/b")" "its text"
got=$(curl -s -o "$t_tmpdir/b" -w '%{http_code}' -u admin:secret -d '{"leader":"node1","candidate":"node2"}' "$url/switchover")
t_assert_eq 200 "$got" "POST /switchover reaches the (fake) callback"
t_assert_eq 'Successfully switched over to "node2"' "$(cat "$t_tmpdir/b")" "its text"
got=$(curl -s -o "$t_tmpdir/b" -w '%{http_code}' -u admin:secret -X PATCH -d '{"ttl":20,"loop_wait":null}' "$url/config")
t_assert_eq 200 "$got" "PATCH /config is 200"
t_assert_eq '{"ttl": 20}' "$(cat "$t_tmpdir/b")" "PATCH /config answers the merged document"
got=$(curl -s -o /dev/null -w '%{http_code}' -u admin:secret -X DELETE "$url/restart")
t_assert_eq 404 "$got" "DELETE /restart with nothing scheduled is 404"
got=$(curl -s -o /dev/null -w '%{http_code}' -u admin:secret -X POST -d '{}' "$url/nonexistent")
t_assert_eq 501 "$got" "POST to an unknown path is 501"
got=$(code GET /primary)
t_assert_eq 200 "$got" "GET /primary needs no credentials"
stop_harness

start_harness --state primary --allow 10.0.0.0/8
got=$(curl -s -o "$t_tmpdir/b" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/reload")
t_assert_eq 403 "$got" "POST /reload from outside the allow-list is 403"
t_assert_eq "Access is denied" "$(cat "$t_tmpdir/b")" "403 body"
stop_harness

# A slow action (12 s, longer than the 10 s idle timeout, as a switchover can take 20 s) runs
# on its own thread: health checks answer meanwhile, and the answer still arrives
start_harness --state primary --action-delay-ms 12000
curl -s -o "$t_tmpdir/slow" -w '%{http_code}' -m 30 -d '{"leader":"node1","candidate":"node2"}' \
	"http://127.0.0.1:$PORT/switchover" >"$t_tmpdir/slow.code" &
slow=$!
sleep 0.5
kill -0 "$slow" 2>/dev/null || t_fail "the slow switchover returned too early"
for _ in $(seq 20); do
	got=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$PORT/primary")
	[ "$got" = 200 ] || t_fail "GET /primary during a slow action: $got"
done
kill -0 "$slow" 2>/dev/null || t_fail "the slow switchover finished before the health checks"
t_pass "20 health checks answered while a switchover callback was still running"
wait "$slow"
t_assert_eq 200 "$(cat "$t_tmpdir/slow.code")" "the slow switchover then answers 200"
stop_harness

t_done
