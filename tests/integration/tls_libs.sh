#!/usr/bin/env bash
# Issue 15: a plain-HTTP agent maps no TLS library, and TLS asked for by a reload is not applied
# in silence (real etcd, PostgreSQL 15, one node). With a build linking the minimal libraries
# (-Dminimal_deps), the agent logs that it loaded no TLS library and its memory maps hold no
# GnuTLS, OpenSSL or TLS build; a reload that adds restapi.certfile is refused with the advice
# to restart (the REST API keeps serving http); after a restart the agent loads the HTTPS build
# and serves https. With Debian's shared libraries (TLS linked in), the same reload restarts the
# REST API on https at once.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v openssl >/dev/null || t_fail "openssl is needed to make the REST certificate"
# Debian's libraries link GnuTLS (through libmicrohttpd); a minimal build links only libc.
# (A variable, not a pipe into grep -q: with pipefail, ldd's SIGPIPE would decide.)
needed=$(ldd "$GSHA_BUILD_DIR/gsha") || t_fail "ldd $GSHA_BUILD_DIR/gsha failed"
case "$needed" in
*libgnutls*) minimal=0 ;;
*) minimal=1 ;;
esac

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "tls$$"
c_config node1
yml=$C_DIR/node1.yml
pki=$C_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout "$pki/rest.key" \
	-out "$pki/rest.crt" >/dev/null 2>&1 || t_fail "openssl could not make a certificate"
chown -R postgres:postgres "$pki"

t_on_failure() {
	echo "---- node1.log (tail)"
	tail -40 "$C_DIR/node1.log" 2>/dev/null
	echo "---- GET /liveness over https and http"
	curl -skv -m 5 "https://127.0.0.1:${C_API_PORT[node1]}/liveness" 2>&1 | tail -15
	curl -sv -m 5 "http://127.0.0.1:${C_API_PORT[node1]}/liveness" 2>&1 | tail -5
}
leader_is() { [ "$(c_leader)" = "$1" ]; }
agent_pid() { pgrep -P "${C_PID[node1]}" -x gsha; }
api_code() { curl -s -o /dev/null -w '%{http_code}' -m 5 "$@" 2>/dev/null || true; }
answers() { [ "$(api_code "${@:2}")" = "$1" ]; } # answers CODE [CURL ARGS] URL
tls_maps() { grep -E 'libgnutls|libssl|libcrypto|gsha-tls' "/proc/$1/maps" | awk '{print $6}' | sort -u; }

c_start node1
t_wait_for 60 "node1 to lead" leader_is node1
pid=$(agent_pid) || t_fail "node1's agent is not running"
if [ "$minimal" = 1 ]; then
	grep -q "TLS: none configured, no TLS library loaded" "$C_DIR/node1.log" ||
		t_fail "no \"TLS: none configured\" line in the log"
	t_assert_eq "" "$(tls_maps "$pid")" "a plain-HTTP agent maps no TLS library (/proc/PID/maps)"
else
	t_log "Debian's shared libraries: TLS is linked in, nothing to check in the maps"
fi

# restapi.certfile by reload
sed -i "/^  connect_address: 127.0.0.1:${C_API_PORT[node1]}\$/a\\
  certfile: $pki/rest.crt\\
  keyfile: $pki/rest.key" "$yml"
grep -q "certfile: $pki/rest.crt" "$yml" || t_fail "could not add restapi.certfile to $yml"
kill -HUP "$pid"
api="127.0.0.1:${C_API_PORT[node1]}"
if [ "$minimal" = 1 ]; then
	t_wait_for 20 "the restart advice in the log" grep -q \
		"reload: restapi.certfile needs libmicrohttpd's HTTPS build, which gsha loads only at start-up: restart the agent" \
		"$C_DIR/node1.log"
	t_pass "a reload that adds restapi.certfile says at error level to restart"
	t_wait_for 40 "the REST API to keep serving http" \
		answers 200 "http://$api/liveness" ||
		t_fail "GET http://$api/liveness: $(api_code "http://$api/liveness"), https: $(api_code -k "https://$api/liveness")"
	t_pass "the REST API keeps serving http after the refused TLS"
	c_kill node1
	c_start node1
	t_wait_for 60 "node1 to serve https after the restart" \
		answers 200 -k "https://$api/liveness"
	grep -q "TLS: loaded the TLS builds of libcurl, libmicrohttpd" "$C_DIR/node1.log" ||
		t_fail "no \"TLS: loaded the TLS builds\" line after the restart"
	pid=$(agent_pid) || t_fail "node1's agent is not running"
	maps=$(tls_maps "$pid")
	case "$maps" in *libgnutls*) ;; *) t_fail "the restarted agent maps no GnuTLS: $maps" ;; esac
	case "$maps" in *libssl* | *libcrypto*) t_fail "the restarted agent maps OpenSSL, which only libpq's SSL needs: $maps" ;; esac
	t_pass "after a restart the agent loads the HTTPS builds (GnuTLS, no OpenSSL) and serves https"
else
	t_wait_for 30 "the REST API on https" answers 200 -k "https://$api/liveness"
	t_pass "Debian's libraries: the reload restarts the REST API on https"
fi
t_done
