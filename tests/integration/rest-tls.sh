#!/usr/bin/env bash
# HTTPS with restapi.certfile/keyfile, and client certificates per verify_client: "optional"
# demands a valid client certificate only on unsafe methods (403 "client certificate required"
# otherwise), "required" on every request. Certificates are made by openssl in the temp dir;
# the server is rest-harness, a test harness around the real REST server.
source "$(dirname "$0")/lib/common.sh"

HARNESS=$GSHA_BUILD_DIR/tests/integration/rest-harness
d=$t_tmpdir/pki
mkdir -p "$d"
ossl() { openssl "$@" >/dev/null 2>&1 || t_fail "openssl $1 failed"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gsha-test-ca -keyout "$d/ca.key" -out "$d/ca.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/server.key" -out "$d/server.csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$d/san.ext"
ossl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
	-extfile "$d/san.ext" -out "$d/server.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=gsha-client -keyout "$d/client.key" -out "$d/client.csr"
ossl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
	-out "$d/client.crt"
# a client certificate from a CA the server does not trust
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=stranger -keyout "$d/bad.key" -out "$d/bad.crt"

start_harness() {
	PORT=$(t_free_port)
	"$HARNESS" --port "$PORT" --state primary "$@" >"$t_tmpdir/harness-$PORT.log" 2>&1 &
	HPID=$!
	t_register_pid "$HPID"
	t_wait_for 10 "rest-harness (TLS) on port $PORT" \
		bash -c "kill -0 $HPID && grep -q serving '$t_tmpdir/harness-$PORT.log'"
}
stop_harness() { kill -TERM "$HPID"; wait "$HPID" || t_fail "rest-harness exited with an error"; }

c() { # extra curl args... URL_PATH
	local path=${*: -1}
	curl -s -o "$t_tmpdir/b" -w '%{http_code}' -m 10 --cacert "$d/ca.crt" "${@:1:$#-1}" "https://127.0.0.1:$PORT$path"
}

start_harness --cert "$d/server.crt" --key "$d/server.key"
t_assert_eq 200 "$(c /primary)" "HTTPS GET /primary with the server certificate verified"
t_assert_eq 202 "$(c -X POST /reload)" "HTTPS POST /reload without verify_client"
got=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$PORT/primary" || true)
[ "$got" != 200 ] || t_fail "plain HTTP was answered on the HTTPS port"
t_pass "plain HTTP is not served on the HTTPS port ($got)"
stop_harness

start_harness --cert "$d/server.crt" --key "$d/server.key" --cafile "$d/ca.crt" --verify optional
t_assert_eq 200 "$(c /primary)" "verify_client optional: GET without a client certificate"
t_assert_eq 403 "$(c -X POST /reload)" "verify_client optional: POST without a client certificate"
t_assert_eq "client certificate required" "$(cat "$t_tmpdir/b")" "its body"
t_assert_eq 403 "$(c --cert "$d/bad.crt" --key "$d/bad.key" -X POST /reload)" \
	"verify_client optional: POST with an untrusted client certificate"
t_assert_eq 202 "$(c --cert "$d/client.crt" --key "$d/client.key" -X POST /reload)" \
	"verify_client optional: POST with a valid client certificate"
stop_harness

start_harness --cert "$d/server.crt" --key "$d/server.key" --cafile "$d/ca.crt" --verify required
t_assert_eq 403 "$(c /primary)" "verify_client required: GET without a client certificate"
t_assert_eq 200 "$(c --cert "$d/client.crt" --key "$d/client.key" /primary)" \
	"verify_client required: GET with a valid client certificate"
stop_harness
t_done
