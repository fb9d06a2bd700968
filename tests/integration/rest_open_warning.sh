#!/usr/bin/env bash
# Issue 11 (High): the control API is open by default, as in Patroni, so the agent must say so
# at start when it listens beyond loopback with neither credentials, an allowlist nor client
# certificates ("accepts changes from anyone who reaches it"), and stay quiet once any of them is
# set or it listens on loopback only. Also the README's claim that restapi.listen is required
# (as in Patroni) rather than defaulted to 0.0.0.0:8008.
#
# Each agent runs in a network namespace of its own (unshare -n, only its loopback up) with an
# etcd of its own, so 0.0.0.0 reaches nothing outside it and nothing outside reaches it; each run
# is stopped after a few seconds.
source "$(dirname "$0")/lib/common.sh"

command -v unshare >/dev/null || t_fail "unshare (util-linux) is needed for a private network namespace"
dir=$(t_tmpdir)
WARNING='accepts changes from anyone who reaches it'

config() { # name, restapi lines (indented two spaces)
	mkdir -p "$dir/$1"
	chmod 700 "$dir/$1"
	cat >"$dir/$1.yml" <<YAML
scope: warn$$
namespace: /service/
name: $1
restapi:
$2
etcd3:
  hosts: 127.0.0.1:2379
postgresql:
  listen: 127.0.0.1:5432
  connect_address: 127.0.0.1:5432
  data_dir: $dir/$1/data
  bin_dir: ${PG_BIN}
  pgpass: $dir/$1/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: rep-pass
YAML
	chown -R postgres:postgres "$dir/$1" "$dir/$1.yml"
}

# Runs the agent of config name for 4 s in a private network namespace with an etcd of its own
# (the agent waits for the DCS before its REST API starts, as Patroni does), then kills both. The
# cluster's initialize key is written first, so the agent never bootstraps a database there.
# Every process in the namespace is bounded by timeout, whatever happens to this script.
run_agent() {
	unshare -n sh -c '
		ip link set lo up || exit 1
		timeout -s KILL 20 etcd --name "$1" --data-dir "$2/etcd-$1" \
			--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
			--listen-peer-urls http://127.0.0.1:2380 >"$2/etcd-$1.log" 2>&1 &
		e=$!
		trap "kill -TERM $e 2>/dev/null; wait $e" EXIT INT TERM
		for _ in $(seq 100); do
			ETCDCTL_API=3 timeout 2 etcdctl --endpoints=http://127.0.0.1:2379 \
				put "/service/$3/initialize" 1 >/dev/null 2>&1 && break
			sleep 0.1
		done
		runuser -u postgres -- timeout -s KILL 4 "$0" "$2/$1.yml"
	' "$GSHA_BUILD_DIR/gsha" "$1" "$dir" "warn$$" >"$dir/$1.log" 2>&1 || true
	grep -q 'starting: member' "$dir/$1.log" || {
		cat "$dir/$1.log" >&2
		t_fail "$1: the agent did not start"
	}
}

config open "  listen: 0.0.0.0:8008
  connect_address: 127.0.0.1:8008"
run_agent open
grep -q "warning: .*$WARNING" "$dir/open.log" || {
	cat "$dir/open.log" >&2
	t_fail "an agent listening on 0.0.0.0 with no credentials nor allowlist did not warn"
}
t_pass "open REST API on 0.0.0.0: the agent warns at start ($(grep -o 'the REST API on "[^"]*"' "$dir/open.log"))"

config auth "  listen: 0.0.0.0:8008
  connect_address: 127.0.0.1:8008
  authentication:
    username: admin
    password: s3cret"
config allow "  listen: 0.0.0.0:8008
  connect_address: 127.0.0.1:8008
  allowlist:
  - 127.0.0.1"
config loop "  listen: 127.0.0.1:8008
  connect_address: 127.0.0.1:8008"
for n in auth allow loop; do
	run_agent "$n"
	if grep -q "$WARNING" "$dir/$n.log"; then
		cat "$dir/$n.log" >&2
		t_fail "$n: the agent warned although the API is protected or on loopback"
	fi
done
t_pass "no warning with restapi.authentication, with an allowlist, or on loopback only"

# The README says restapi.listen is required (as in Patroni), not defaulted to 0.0.0.0:8008.
config nolisten "  connect_address: 127.0.0.1:8008"
set +e
out=$("$GSHA_BUILD_DIR/gsha" --validate-config "$dir/nolisten.yml" 2>&1)
rc=$?
set -e
t_assert_eq 1 "$rc" "a configuration without restapi.listen is refused"
grep -q '"restapi.listen": is required' <<<"$out" || {
	echo "$out" >&2
	t_fail "the refusal does not name restapi.listen"
}
t_pass "the refusal names restapi.listen: no REST API listens on a default address"

# The shipped examples, copied as they are, must not leave the API open or the passwords in a
# shared directory (issue 11: they had neither credentials nor a private pgpass directory).
for f in "$GSHA_SOURCE_DIR"/config/gsha.example.yml "$GSHA_SOURCE_DIR"/config/examples/*.yml; do
	python3 - "$f" <<'PY' || t_fail "$(basename "$f"): the example is not locked down"
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
auth = (c.get("restapi") or {}).get("authentication") or {}
assert auth.get("username") and auth.get("password"), "no restapi.authentication"
pgpass = (c.get("postgresql") or {}).get("pgpass", "")
assert pgpass and not pgpass.startswith(("/tmp/", "/var/tmp/", "/dev/shm/")), "pgpass in " + pgpass
PY
done
t_pass "every example configuration sets REST credentials and keeps pgpass out of shared directories"
t_done
