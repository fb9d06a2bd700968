#!/usr/bin/env bash
# Issue 10: members talk to each other with the REST security settings. A three-node cluster
# with failsafe_mode on, restapi.authentication set, the REST API over TLS with a private CA
# (made here by openssl) and verify_client "required" (each node presents ctl.certfile): the
# primary cut off from etcd for three lease lifetimes stays primary, because every member
# acknowledges its POST /failsafe. Before peers sent the credentials, the CA and the client
# certificate, every acknowledgement failed and the primary demoted itself. A client without a
# certificate or without the credentials is refused.
#
# The cut is an iptables DROP, so node1's etcd calls time out rather than fail. C_TTL,
# C_LOOP_WAIT and C_RETRY shape the timing: integration.ha_failsafe_tls_timeout runs this script
# at Patroni's default shape scaled down (ttl 6, loop_wait 2, retry_timeout 2, where
# loop_wait + 2 x retry_timeout = ttl): there a keepalive that times out used to reach the
# decision past the fence deadline, and node1 demoted before it asked the members (issue 18).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v iptables >/dev/null || t_fail "iptables is needed to cut a node off from etcd"
command -v openssl >/dev/null || t_fail "openssl is needed to make the test CA"

# ---- the private CA, one server certificate for 127.0.0.1 and one client certificate.
pki=$(t_tmpdir)/pki
mkdir -p "$pki"
ossl() { openssl "$@" >/dev/null 2>&1 || t_fail "openssl $1 failed"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gsha-failsafe-ca -keyout "$pki/ca.key" \
	-out "$pki/ca.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$pki/server.key" -out "$pki/server.csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/san.ext"
ossl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
	-extfile "$pki/san.ext" -out "$pki/server.crt"
ossl req -newkey rsa:2048 -nodes -subj /CN=gsha-member -keyout "$pki/client.key" -out "$pki/client.csr"
ossl x509 -req -in "$pki/client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
	-out "$pki/client.crt"
chown -R postgres:postgres "$pki"
chmod 600 "$pki"/*.key
REST_USER=fs-admin
REST_PASS='fs-secret'

# ---- etcd with a client port per node, so one node can be cut off alone (as ha_fencing.sh).
dir=$(t_tmpdir)/etcd
ETCD_PORT=$(t_free_port)
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
declare -A NODE_ETCD_PORT
urls=$ETCD_URL
for n in node1 node2 node3; do
	NODE_ETCD_PORT[$n]=$(t_free_port)
	urls+=",http://127.0.0.1:${NODE_ETCD_PORT[$n]}"
done
peer=$(t_free_port)
etcd --name single --data-dir "$dir" --listen-client-urls "$urls" --advertise-client-urls "$ETCD_URL" \
	--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
	--initial-cluster "single=http://127.0.0.1:$peer" >"$dir.log" 2>&1 &
t_register_pid $!
t_wait_for 20 "etcd on $ETCD_URL" curl -sf "$ETCD_URL/health"

c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "fstls$$"
for n in node1 node2 node3; do
	C_ETCD="http://127.0.0.1:${NODE_ETCD_PORT[$n]}" c_config "$n" "ctl:
  certfile: $pki/client.crt
  keyfile: $pki/client.key
  cacert: $pki/ca.crt"
	# The restapi and bootstrap.dcs sections are c_config's: add to them in place.
	sed -i -e "/^  connect_address: 127.0.0.1:${C_API_PORT[$n]}\$/a\\
  certfile: $pki/server.crt\\
  keyfile: $pki/server.key\\
  cafile: $pki/ca.crt\\
  verify_client: required\\
  authentication:\\
    username: $REST_USER\\
    password: $REST_PASS" \
		-e "/^    retry_timeout: /a\\
    failsafe_mode: true" "$C_DIR/$n.yml"
	grep -q "verify_client: required" "$C_DIR/$n.yml" || t_fail "could not write $n's restapi section"
done

# REST over TLS with the CA, the client certificate and the credentials, as a member talks.
api() { # NAME METHOD PATH [BODY]: prints the body, the status on the last line
	local args=(-s -m 3 --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key"
		-u "$REST_USER:$REST_PASS" -X "$2" -w '\n%{http_code}')
	[ -z "${4:-}" ] || args+=(-H 'Content-Type: application/json' -d "$4")
	curl "${args[@]}" "https://127.0.0.1:${C_API_PORT[$1]}$3" 2>/dev/null
}
# cluster.sh's helpers speak plain HTTP: these replace the two this test uses.
c_is() {
	local doc
	doc=$(api "$1" GET /patroni) || return 1
	[[ "$doc" == *"\"state\": \"running\""* && "$doc" == *"\"role\": \"$2\""* ]]
}
c_role() { api "$1" GET /patroni | sed -n 's/.*"role": *"\([a-z_]*\)".*/\1/p'; }

RULE_TAG="gsha-it-fstls-$$"
cut_rules() { # -I or -D, port
	iptables "$1" OUTPUT -o lo -p tcp --dport "$2" -m comment --comment "$RULE_TAG" -j DROP
	iptables "$1" OUTPUT -o lo -p tcp --sport "$2" -m comment --comment "$RULE_TAG" -j DROP
}
(
	trap 'while iptables -S OUTPUT | grep -q -- "$RULE_TAG"; do
		iptables -S OUTPUT | grep -- "$RULE_TAG" | sed "s/^-A/-D/" | head -1 |
			xargs -r iptables || break; done; exit 0' TERM
	while :; do sleep 1; done
) &
t_register_pid $!

t_on_failure() {
	iptables -S OUTPUT | grep -- "$RULE_TAG" || true
	for n in node1 node2 node3; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is_one_of() { local l; l=$(c_leader); [ -n "$l" ] && [[ " $* " == *" $l "* ]]; }
has_row() { [ "$(c_psql "$1" "select count(*) from marks where v = '$2'")" = 1 ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
write_one() {
	PGCONNECT_TIMEOUT=1 PGOPTIONS="-c statement_timeout=1000" timeout 3 \
		runuser -u postgres -- "$PG_BIN/psql" -X -q -A -t -h "$C_DIR/$1" -p "${C_PG_PORT[$1]}" \
		-U postgres -d postgres -v ON_ERROR_STOP=1 -c "insert into marks values ('$2')" \
		>/dev/null 2>&1
}

# ---- a healthy cluster: node1 leads, node2 and node3 stream from it.
c_start node1
t_wait_for 60 "node1 to bootstrap and take the leader key" leader_is_one_of node1
t_wait_for 30 "node1 to run as primary" c_is node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to run as a replica" c_is node2 replica
t_wait_for 90 "node3 to run as a replica" c_is node3 replica
c_psql node1 "create table marks(v text primary key)" >/dev/null
c_psql node1 "insert into marks values ('before-cut')" >/dev/null
t_wait_for 30 "the row to reach node2" has_row node2 before-cut
t_wait_for 30 "the row to reach node3" has_row node3 before-cut
t_pass "setup: node1 leads a streaming three-node cluster, REST over TLS with client certificates"

# ---- clients without what the cluster demands are refused.
base="https://127.0.0.1:${C_API_PORT[node2]}"
code() { curl -s -o /dev/null -w "%{http_code}" -m 3 --cacert "$pki/ca.crt" "$@" 2>/dev/null || true; }
fs_body='{"name": "node1", "conn_url": "postgres://127.0.0.1:1/postgres", "api_url": "x", "slots": {}}'
t_assert_eq 403 "$(code "$base/patroni")" \
	"refused: GET /patroni without a client certificate answers 403 (verify_client required)"
got=$(code --cert "$pki/client.crt" --key "$pki/client.key" "http://127.0.0.1:${C_API_PORT[node2]}/patroni")
[ "$got" != 200 ] || t_fail "plain HTTP was answered on the HTTPS port"
t_pass "refused: plain HTTP is not served ($got)"
t_assert_eq 401 "$(code --cert "$pki/client.crt" --key "$pki/client.key" -X POST \
	-H 'Content-Type: application/json' -d "$fs_body" "$base/failsafe")" \
	"refused: POST /failsafe with a client certificate but no credentials answers 401"
t_assert_eq 401 "$(code --cert "$pki/client.crt" --key "$pki/client.key" -u "$REST_USER:wrong" \
	-X POST -H 'Content-Type: application/json' -d "$fs_body" "$base/failsafe")" \
	"refused: POST /failsafe with a wrong password answers 401"
t_assert_eq 200 "$(api node2 GET /patroni | tail -1)" \
	"accepted: GET /patroni with the CA and a client certificate answers 200"

# gsctl talks to the members with the same client and the same settings (ctl, else restapi).
G=$GSHA_BUILD_DIR/ctl/gsctl
"$G" -c "$C_DIR/node1.yml" reload "$C_SCOPE" --force </dev/null >"$C_DIR/gsctl.out" 2>&1 ||
	t_fail "gsctl reload over TLS failed: $(cat "$C_DIR/gsctl.out")"
t_assert_eq 3 "$(grep -c '^Reload request received for member' "$C_DIR/gsctl.out")" \
	"gsctl: reload --force reaches every member over TLS with the CA, its certificate and the credentials"

# ---- the leader keeps the failsafe key with every member.
failsafe_lists_all() {
	local v
	v=$(ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only \
		"/service/$C_SCOPE/failsafe" 2>/dev/null)
	[[ "$v" == *'"node1"'* && "$v" == *'"node2"'* && "$v" == *'"node3"'* && "$v" == *https://* ]]
}
t_wait_for 30 "node1 to list all three members (https api_urls) in the failsafe key" failsafe_lists_all
t_pass "failsafe: node1 keeps the failsafe key with every member's https api_url"

# ---- cut node1 off from etcd for three lease lifetimes: it keeps accepting writes.
fs_pid=$(c_postmaster_pid node1)
CUT_PORT=${NODE_ETCD_PORT[node1]}
cut_rules -I "$CUT_PORT"
t_cut=$(now_ms)
ttl_ms=$((C_TTL * 1000))
i=0
last_ok=$t_cut
gap=0
while [ $(($(now_ms) - t_cut)) -lt $((ttl_ms * 3)) ]; do
	i=$((i + 1))
	write_one node1 "failsafe-$i" ||
		t_fail "failsafe: node1 refused a write $(($(now_ms) - t_cut)) ms after the cut (demoted: the members' acknowledgements failed)"
	t=$(now_ms)
	[ $((t - last_ok)) -le "$gap" ] || gap=$((t - last_ok))
	last_ok=$t
	l=$(c_leader)
	[ -z "$l" ] || [ "$l" = node1 ] || t_fail "failsafe: $l took the leader key"
	sleep 0.2
done
t_pass "failsafe: cut off from etcd (DROP: its calls time out) for $((ttl_ms * 3)) ms at ttl $C_TTL, loop_wait $C_LOOP_WAIT, retry_timeout $C_RETRY; node1 kept accepting writes ($i of them, longest gap between two $gap ms) and no other node took the key"
failsafe_active() { api node1 GET /patroni | grep -q '"failsafe_mode_is_active": *true'; }
t_wait_for 10 "/patroni on node1 to show failsafe_mode_is_active" failsafe_active
t_pass "failsafe: /patroni on node1 shows failsafe_mode_is_active"
grep -q 'did not acknowledge' "$C_DIR/node1.log" &&
	t_fail "failsafe: node1 logged a member that did not acknowledge it"
t_pass "failsafe: every member acknowledged every POST /failsafe"

# ---- heal: node1 takes the key back, its postmaster ran throughout.
cut_rules -D "$CUT_PORT"
t_wait_for 30 "node1 to take the leader key back" leader_is_one_of node1
write_one node1 "failsafe-healed" || t_fail "failsafe: node1 refused a write after the heal"
t_assert_eq primary "$(c_role node1)" "failsafe: after the heal node1 holds the key and runs as primary"
t_assert_eq "$fs_pid" "$(c_postmaster_pid node1)" \
	"failsafe: node1's postmaster ran throughout (never demoted or restarted)"
t_wait_for 30 "the row to reach node3" has_row node3 failsafe-healed
t_pass "heal: the replicas stream from node1 again"
t_done
