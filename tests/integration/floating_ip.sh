#!/usr/bin/env bash
# Issue 17, the floating IP (docker/floating-ip.sh) on a live three-node cluster. Each node has a
# network namespace of its own, joined by veth pairs to a bridge in a "LAN" namespace; the test
# creates them all and touches no interface of the host. The agents themselves run on loopback
# as every other test's do, with CAP_NET_ADMIN and CAP_SYS_ADMIN as ambient capabilities (what a
# systemd drop-in gives them), and each node's callbacks run the script inside its namespace:
#   nsenter --net=/run/netns/<node> docker/floating-ip.sh 10.213.0.100/24 vip0
# nsenter is the test's only addition: on a real host the script acts on the host's device.
#
# Checks: after bootstrap the address is on node1 alone and the LAN reaches it at node1's MAC;
# a switchover moves it to node2 and the LAN's neighbour entry follows at once (gratuitous ARP);
# the demoted node1 holds it no more; stopping node2's agent (on_stop) takes it off node2 and
# the next primary takes it; bad usage exits 2.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

for cmd in ip nsenter setpriv arping ping; do
	command -v "$cmd" >/dev/null || t_fail "$cmd is needed (scripts/install-deps)"
done
script="$GSHA_SOURCE_DIR/docker/floating-ip.sh"
vip=10.213.0.100

# ---- the namespaces: lan (a bridge, 10.213.0.1) and one per node (vip0, 10.213.0.1N)
lan="gvlan$$"
declare -A NS
ns_cleanup() {
	local n
	for n in "${NS[@]}" "$lan"; do
		ip netns del "$n" 2>/dev/null || true
	done
}
T_CLEANUP_HOOKS+=(ns_cleanup)
ip netns add "$lan"
ip -n "$lan" link set lo up
ip -n "$lan" link add br0 type bridge
ip -n "$lan" addr add 10.213.0.1/24 dev br0
ip -n "$lan" link set br0 up
i=0
for n in node1 node2 node3; do
	i=$((i + 1))
	NS[$n]="gv$n$$"
	ip netns add "${NS[$n]}"
	ip -n "${NS[$n]}" link set lo up
	ip -n "$lan" link add "p$i" type veth peer name vip0 netns "${NS[$n]}"
	ip -n "$lan" link set "p$i" master br0 up
	ip -n "${NS[$n]}" addr add "10.213.0.1$i/24" dev vip0
	ip -n "${NS[$n]}" link set vip0 up
done
mac_of() { ip -n "${NS[$1]}" -o link show vip0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
# (the listing is read whole first: grep -q under pipefail would fail on ip's SIGPIPE)
holds() { [[ "$(ip -n "${NS[$1]}" -o addr show dev vip0)" == *" $vip/24 "* ]]; }
holders() {
	local n out=""
	for n in node1 node2 node3; do
		holds "$n" && out+="$n "
	done
	echo "${out% }"
}
# What the LAN's neighbour table says the address is at (no probe: what it learnt last).
lan_mac() { ip -n "$lan" neigh show "$vip" dev br0 | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p'; }
lan_reaches() { ip netns exec "$lan" ping -c 1 -W 1 -q "$vip" >/dev/null 2>&1; }

# ---- usage
rc=0
"$script" 10.213.0.100 vip0 on_start primary s >/dev/null 2>&1 || rc=$?
t_assert_eq 2 "$rc" "an address without a prefix length is bad usage (exit 2)"
rc=0
"$script" "$vip/24" vip0 on_start >/dev/null 2>&1 || rc=$?
t_assert_eq 2 "$rc" "missing arguments are bad usage (exit 2)"

# ---- the cluster
t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "vip$$"
for n in node1 node2 node3; do
	hook="nsenter --net=/run/netns/${NS[$n]} $script $vip/24 vip0"
	c_config "$n" "  callbacks:
    on_start: $hook
    on_role_change: $hook
    on_stop: $hook"
done
# c_start with two ambient capabilities: CAP_NET_ADMIN for ip and arping, CAP_SYS_ADMIN for
# nsenter into the node's namespace (the test's part).
vip_start() {
	local name=$1
	setpriv --reuid=postgres --regid=postgres --init-groups \
		--inh-caps=+net_admin,+sys_admin --ambient-caps=+net_admin,+sys_admin -- \
		"$GSHA_BUILD_DIR/gsha" "$C_DIR/$name.yml" >>"$C_DIR/$name.log" 2>&1 &
	C_PID[$name]=$!
	t_register_pid "${C_PID[$name]}"
}
t_on_failure() {
	for n in node1 node2 node3; do
		echo "---- $n.log (callbacks and roles)"
		grep -E 'callback|role "|floating-ip' "$C_DIR/$n.log" 2>/dev/null | tail -20
		echo "---- $n's vip0"
		ip -n "${NS[$n]}" -o addr show dev vip0 2>/dev/null
	done
	echo "---- lan neighbours"
	ip -n "$lan" neigh show 2>/dev/null
}

vip_start node1
t_wait_for 60 "node1 to run as primary" c_running node1 primary
vip_start node2
vip_start node3
t_wait_for 90 "node2 to stream" c_is node2 replica
t_wait_for 90 "node3 to stream" c_is node3 replica
t_wait_for 20 "the address on node1" holds node1
t_assert_eq node1 "$(holders)" "after bootstrap the address is on node1 alone"
t_wait_for 10 "the LAN to reach $vip" lan_reaches
t_assert_eq "$(mac_of node1)" "$(lan_mac)" "the LAN reaches $vip at node1's MAC"

# ---- switchover node1 -> node2: the address moves, and the LAN learns it without asking
code=$(curl -s -o "$C_DIR/switchover.out" -w '%{http_code}' -m 60 -X POST \
	-d '{"leader":"node1","candidate":"node2"}' "http://127.0.0.1:${C_API_PORT[node1]}/switchover")
t_assert_eq 200 "$code" "POST /switchover node1 -> node2 ($(cat "$C_DIR/switchover.out"))"
moved() { [ "$(holders)" = node2 ]; }
t_wait_for 30 "the address on node2 alone" moved
t_pass "switchover: the address moved to node2, and the demoted node1 dropped it"
lan_learnt() { [ "$(lan_mac)" = "$(mac_of node2)" ]; }
t_wait_for 10 "the LAN's neighbour entry to name node2's MAC" lan_learnt
t_pass "the LAN's neighbour entry names node2's MAC before any probe (gratuitous ARP)"
t_wait_for 10 "the LAN to reach $vip" lan_reaches
t_assert_eq "$(mac_of node2)" "$(lan_mac)" "the LAN reaches $vip at node2's MAC"

# ---- node2's agent stopped (SIGTERM): on_stop takes the address off, the next primary takes it
t_wait_for 60 "node1 to stream" c_is node1 replica
c_kill node2 TERM
t_assert_eq "" "$(holds node2 && echo node2)" "the stopped node2 holds the address no more"
new_leader=
taken() { new_leader=$(c_leader); [ -n "$new_leader" ] && [ "$new_leader" != node2 ]; }
t_wait_for 60 "a new leader" taken
on_new() { [ "$(holders)" = "$new_leader" ]; }
t_wait_for 30 "the address on $new_leader alone" on_new
t_wait_for 10 "the LAN to reach $vip" lan_reaches
t_assert_eq "$(mac_of "$new_leader")" "$(lan_mac)" "after node2 stopped, the LAN reaches $vip at $new_leader"
t_done
