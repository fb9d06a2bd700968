#!/usr/bin/env bash
# SIGHUP reads the configuration file again and applies what changed, as Patroni's reload does
# (real etcd, PostgreSQL 15, a two-node cluster): a changed tag reaches GET /patroni and the
# member key, a changed log level shows at once, and a changed REST password is the one
# DELETE /restart accepts; a key gsha reads only at start is named in a warning; a file that no
# longer validates is refused with file:line:column and the old configuration stays. The
# leader never changes meanwhile.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
scope="hup$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
c_config node1
c_config node2
# Tags and REST credentials on node1, added to c_config's sections in place.
sed -i -e "/^  connect_address: 127.0.0.1:${C_API_PORT[node1]}\$/a\\
  authentication:\\
    username: admin\\
    password: old-pass" "$C_DIR/node1.yml"
cat >>"$C_DIR/node1.yml" <<'YAML'
tags:
  dc: north
YAML
grep -q "password: old-pass" "$C_DIR/node1.yml" || t_fail "could not write node1's restapi section"

t_on_failure() {
	for n in node1 node2; do
		echo "---- $n.log (tail)"
		tail -40 "$C_DIR/$n.log" 2>/dev/null
	done
}

leader_is() { [ "$(c_leader)" = "$1" ]; }
api() { echo "http://127.0.0.1:${C_API_PORT[node1]}"; }
code() { curl -s -o /dev/null -w '%{http_code}' -m 5 "$@" 2>/dev/null || true; }
tag_is() { # tag_is VALUE: GET /patroni and the member key both show dc: VALUE
	curl -s -m 2 "$(api)/patroni" | grep -q "\"dc\": *\"$1\"" &&
		ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" get --print-value-only \
			"/service/$scope/members/node1" | grep -q "\"dc\": *\"$1\""
}
hup() { # sends SIGHUP to node1's agent (runuser's child)
	local agent
	agent=$(pgrep -P "${C_PID[node1]}" -x gsha) || t_fail "node1's agent is not running"
	kill -HUP "$agent"
}

c_start node1
t_wait_for 60 "node1 to lead" leader_is node1
c_start node2
t_wait_for 90 "node2 to run as a replica" c_running node2 replica
t_wait_for 20 "node1's tag dc: north" tag_is north
t_assert_eq 401 "$(code -u admin:new-pass -X DELETE "$(api)/restart")" \
	"before the reload the new password is refused"
t_assert_eq 404 "$(code -u admin:old-pass -X DELETE "$(api)/restart")" \
	"before the reload the old password is accepted (no restart scheduled: 404)"
grep -q " debug: " "$C_DIR/node1.log" && t_fail "node1 logged at debug before the reload"

# ---- change the tag, the log level, the REST password and a start-only key; SIGHUP
sed -i -e 's/^  dc: north$/  dc: south/' -e 's/^  level: INFO$/  level: DEBUG/' \
	-e 's/password: old-pass$/password: new-pass/' "$C_DIR/node1.yml"
sed -i "/^  bin_dir: /a\\
  pg_ctl_timeout: 77" "$C_DIR/node1.yml"
t0=$(date +%s%N)
hup
t_wait_for 20 "node1's tag dc: south" tag_is south
t_pass "SIGHUP applied the changed tag to GET /patroni and the member key in $((($(date +%s%N) - t0) / 1000000)) ms"
t_wait_for 20 "the new REST password" \
	sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -m 5 -u admin:new-pass -X DELETE $(api)/restart)\" = 404 ]"
t_assert_eq 401 "$(code -u admin:old-pass -X DELETE "$(api)/restart")" \
	"after the reload the old password is refused"
t_pass "SIGHUP applied the changed REST password"
t_wait_for 20 "debug lines in node1's log" grep -q " debug: " "$C_DIR/node1.log"
grep -q 'reload: applied the log section (level debug)' "$C_DIR/node1.log" ||
	t_fail "the log level change was not reported"
t_pass "SIGHUP applied the changed log level"
grep -q 'reload: "postgresql.pg_ctl_timeout" changed; gsha applies it at its next start' \
	"$C_DIR/node1.log" || t_fail "the start-only key was not warned about"
t_pass "a key gsha reads only at start is named in a warning"

# ---- a file that no longer validates is refused; the old configuration stays
cp "$C_DIR/node1.yml" "$C_DIR/node1.yml.good"
sed -i 's/^  dc: south$/  dc: west\n  nofailover: maybe/' "$C_DIR/node1.yml"
hup
t_wait_for 20 "the refused reload in the log" grep -q "reload: the configuration does not validate" \
	"$C_DIR/node1.log"
grep -q "node1.yml:[0-9]*:[0-9]*: .*nofailover" "$C_DIR/node1.log" ||
	t_fail "the error does not name file:line:column and the key"
sleep 2
tag_is south || t_fail "a refused file changed the tags"
t_assert_eq 404 "$(code -u admin:new-pass -X DELETE "$(api)/restart")" \
	"after a refused reload the REST API still takes the password in effect"
t_pass "a file that no longer validates is refused and the old configuration stays"
t_assert_eq node1 "$(c_leader)" "the leader never changed"
t_done
