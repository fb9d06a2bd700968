#!/usr/bin/env bash
# Issue 15: the agent's own libpq connections to its server use sslmode=allow (plain first, SSL
# only when the server refuses plain), so a plain-HTTP cluster never initialises OpenSSL. This
# checks the other side of that choice: a server whose pg_hba accepts TCP connections over SSL
# only (hostssl), with no socket directory, so the agent must connect over TCP. The agent
# bootstraps it and leads; the server's log shows the agent's connections authorized with SSL,
# and a plain connection refused.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v openssl >/dev/null || t_fail "openssl is needed to make the server certificate"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "lssl$$"
c_config node1
pki=$C_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout "$pki/server.key" \
	-out "$pki/server.crt" >/dev/null 2>&1 || t_fail "could not make the server certificate"
chown -R postgres:postgres "$pki"
chmod 600 "$pki/server.key"
yml=$C_DIR/node1.yml
# hostssl instead of host for every TCP line; no socket directory; SSL on; connections logged.
sed -i -e 's/^  - host /  - hostssl /' \
	-e "s|^    unix_socket_directories: .*|    unix_socket_directories: ''\n    ssl: 'on'\n    ssl_cert_file: $pki/server.crt\n    ssl_key_file: $pki/server.key\n    log_connections: 'on'|" \
	"$yml"
grep -q "^  - hostssl all all 127.0.0.1/32 trust" "$yml" || t_fail "could not edit pg_hba in $yml"
grep -q "^    ssl: 'on'" "$yml" || t_fail "could not edit the parameters in $yml"
t_on_failure() {
	echo "---- node1.log (tail)"
	tail -40 "$C_DIR/node1.log" 2>/dev/null
	echo "---- postmaster.log (tail)"
	tail -20 "$C_DIR/node1/data/postmaster.log" 2>/dev/null
}

c_start node1
t_wait_for 90 "node1 to bootstrap and run as primary" c_is node1 primary
t_pass "an SSL-only server (hostssl, no socket): the agent bootstraps it and leads"

plog=$C_DIR/node1/data/postmaster.log
t_wait_for 20 "an SSL connection of the agent in the server log" \
	grep -qE 'connection authorized: .*application_name=gsha SSL enabled' "$plog"
t_pass "the agent's connections are authorized over SSL (the server's log)"

port=${C_PG_PORT[node1]}
if t_as_postgres /usr/lib/postgresql/15/bin/psql -X -q -A -t \
	"host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=disable" -c 'select 1' \
	>/dev/null 2>&1; then
	t_fail "a plain connection was accepted: the server does not require SSL, nothing is shown"
fi
t_pass "a plain connection is refused, so the agent's fell back to SSL"
t_assert_eq "on" "$(t_as_postgres /usr/lib/postgresql/15/bin/psql -X -q -A -t \
	"host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=require" -c 'show ssl' 2>/dev/null)" \
	"the server itself runs with ssl on"
t_done
