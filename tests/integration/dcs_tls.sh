#!/usr/bin/env bash
# dcs against a real etcd that serves TLS and requires client certificates: with the CA, the
# client certificate and its key everything works (including the watch); without the client
# certificate, or without the CA, calls fail with a message that names the TLS problem.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/dcs.sh"

pki=$(t_tmpdir)/pki
mkdir -p "$pki"
cd "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
	-subj /CN=gsha-test-ca 2>/dev/null
issue() { # issue NAME CN USAGE
	openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
issue server 127.0.0.1 serverAuth,clientAuth
issue client gsha-client clientAuth
cd - >/dev/null

t_dcs_start_etcd1 https curl -sf --cacert "$pki/ca.crt" --cert "$pki/client.crt" \
	--key "$pki/client.key" -- --cert-file "$pki/server.crt" --key-file "$pki/server.key" \
	--trusted-ca-file "$pki/ca.crt" --client-cert-auth
url=$DCS_ETCD_URL
port=${url##*:}
out=$(t_tmpdir)
TLS=(--cacert="$pki/ca.crt" --cert="$pki/client.crt" --key="$pki/client.key")

t_dcs_client --endpoints="127.0.0.1:$port" --protocol=https "${TLS[@]}" connect >/dev/null 2>&1 ||
	t_fail "connect over TLS with CA, client certificate and key"
t_dcs_client --endpoints="$url" "${TLS[@]}" --name=node1 take-leader 2>/dev/null ||
	t_fail "take the lock over TLS"
t_assert_eq node1 "$(t_dcs_client --endpoints="$url" "${TLS[@]}" read 2>/dev/null | sed -n 's/^leader=//p')" \
	"TLS with client certificate: the lock was taken and is read back"
woke=$(t_dcs_client --endpoints="$url" "${TLS[@]}" watch-wake 3 2>/dev/null | sed -n 's/^woke=//p')
t_assert_eq "3 rounds=3" "$woke" "TLS: the watch stream wakes on every change"

rc=0
t_dcs_client --endpoints="$url" --retry-ms=1000 --cacert="$pki/ca.crt" read >/dev/null 2>"$out/err" || rc=$?
[ "$rc" != 0 ] || t_fail "a client without a certificate was let in"
grep -qiE 'ssl|tls|certificate|handshake|alert' "$out/err" ||
	t_fail "no client certificate: the message does not name the TLS problem: $(head -1 "$out/err")"
t_pass "no client certificate: refused, and the message says why: $(head -1 "$out/err")"
rc=0
t_dcs_client --endpoints="$url" --retry-ms=1000 --cert="$pki/client.crt" --key="$pki/client.key" \
	read >/dev/null 2>"$out/err" || rc=$?
[ "$rc" != 0 ] || t_fail "a server certificate from an unknown CA was trusted"
grep -qiE 'certificate|ssl' "$out/err" ||
	t_fail "unknown CA: the message does not name the certificate problem: $(head -1 "$out/err")"
t_pass "server certificate from an unknown CA: refused: $(head -1 "$out/err")"
t_done
