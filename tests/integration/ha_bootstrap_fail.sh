#!/usr/bin/env bash
# A failed bootstrap does not leave the cluster stuck (Patroni's cancel_initialization, real
# etcd and PostgreSQL 15): node1 wins the initialize race with a bootstrap method that fails
# after writing into the data directory. It must remove the initialize key, move the data
# directory aside to "<data_dir>.failed" and exit 1 saying so. Before, the key stayed "" and
# every node waited for a bootstrap that would never finish. node2, started afterwards with the
# default initdb, then bootstraps the cluster and leads.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "bootfail$$"
cat >"$C_DIR/broken.sh" <<'SH'
#!/bin/sh
# A bootstrap method that fails half-way: it leaves a file in --datadir, then exits 3.
for a in "$@"; do case "$a" in --datadir=*) d=${a#--datadir=} ;; esac; done
mkdir -p "$d" && echo half-done >"$d/half-done" && exit 3
SH
chmod 755 "$C_DIR/broken.sh"
c_config node1
python3 - "$C_DIR/node1.yml" "$C_DIR/broken.sh" <<'PY'
import sys
path, cmd = sys.argv[1], sys.argv[2]
text = open(path).read()
text = text.replace("bootstrap:\n", "bootstrap:\n  method: broken\n  broken:\n    command: %s\n" % cmd, 1)
open(path, "w").write(text)
PY
c_config node2

t_on_failure() {
	for n in node1 node2; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
	done
}
init_key() {
	ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" get --print-value-only "/service/$C_SCOPE/initialize"
}
init_key_exists() {
	[ -n "$(ETCDCTL_API=3 etcdctl --endpoints="$C_ETCD" get --keys-only "/service/$C_SCOPE/initialize")" ]
}

c_start node1
node1_pid=${C_PID[node1]}
t_wait_for 60 "node1 to exit after its failed bootstrap" sh -c "! kill -0 $node1_pid 2>/dev/null"
rc=0
wait "$node1_pid" || rc=$?
C_PID[node1]=
t_assert_eq 1 "$rc" "node1 exited 1 after its bootstrap method failed"
grep -q "won the initialize key" "$C_DIR/node1.log" || t_fail "node1 never won the initialize race"
grep -q "failed to bootstrap the cluster" "$C_DIR/node1.log" || t_fail "node1 did not say why it exited"
t_pass "node1 won the race, its bootstrap failed, and it said so"
init_key_exists && t_fail "the initialize key is still there ('$(init_key)')"
t_pass "the initialize key was removed"
# (the driver empties the directory a failed method wrote into; what is left is moved aside)
[ -d "$C_DIR/node1/data.failed" ] || t_fail "the failed data directory was not moved to data.failed"
[ ! -e "$C_DIR/node1/data" ] || t_fail "node1's data directory is still in place"
t_pass "the failed attempt's data directory was moved aside to data.failed"

c_start node2
t_wait_for 90 "node2 to bootstrap and lead" eval '[ "$(c_leader)" = node2 ]'
t_wait_for 30 "node2 to run as primary" c_running node2 primary
sysid=$(init_key)
[[ "$sysid" =~ ^[0-9]+$ ]] || t_fail "the initialize key holds '$sysid', not a system identifier"
t_pass "node2 bootstrapped the cluster (system identifier $sysid) and leads"
t_done
