#!/bin/sh
# floating-ip.sh - a floating IP address that follows the primary, for sites without a load
# balancer (the way many openGauss sites run today). gsha (or Patroni) runs it as a callback and
# appends three arguments, ACTION ROLE SCOPE, to the command line configured:
#
#   postgresql:
#     callbacks:
#       on_start:       /usr/local/share/gsha/floating-ip.sh 10.0.0.100/24 eth0
#       on_role_change: /usr/local/share/gsha/floating-ip.sh 10.0.0.100/24 eth0
#       on_stop:        /usr/local/share/gsha/floating-ip.sh 10.0.0.100/24 eth0
#
# While ROLE is primary ("master" in Patroni 3) or standby_leader, and ACTION is not on_stop, the
# address is put on DEVICE and announced with gratuitous ARP (arping from iputils-arping), so
# the LAN's hosts send to this node at once instead of when their cache expires. Any other role
# (replica after a switchover or a demotion) or on_stop takes it off.
#
# Privileges: the agent runs as postgres, and adding an address needs CAP_NET_ADMIN. Give it to
# the agent, whose callbacks inherit it: with systemd, a drop-in for gsha.service with
#   [Service]
#   AmbientCapabilities=CAP_NET_ADMIN
#   CapabilityBoundingSet=CAP_NET_ADMIN
#
# What it cannot do: take the address off a node whose agent is dead or cut off (no callback
# runs there). The new primary's gratuitous ARP moves the traffic, but the old node still holds
# the address until its agent runs again and finds itself a replica. Where that matters, use a
# load balancer with /primary health checks (docker/haproxy.cfg) or vip-manager.
#
# Exit status: 0 when the address is where the role says, 1 when ip failed, 2 on bad usage.
set -u

usage() {
	echo "usage: floating-ip.sh ADDRESS/PREFIX DEVICE ACTION ROLE SCOPE" >&2
	exit 2
}
[ $# -eq 5 ] || usage
addr=$1 dev=$2 action=$3 role=$4 scope=$5
case "$addr" in
*/*) ;;
*) usage ;;
esac
ip=$(command -v ip || true)
[ -n "$ip" ] || for p in /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip; do [ -x "$p" ] && ip=$p && break; done
[ -n "$ip" ] || {
	echo "floating-ip.sh: the ip command (iproute2) is not installed" >&2
	exit 1
}
host=${addr%/*}

holds() { "$ip" -o addr show dev "$dev" 2>/dev/null | grep -q " $host/"; }

hold=false
case "$action:$role" in
on_stop:*) ;;
*:primary | *:master | *:standby_leader) hold=true ;;
esac

if $hold; then
	if ! holds; then
		"$ip" addr add "$addr" dev "$dev" || {
			echo "floating-ip.sh: could not add $addr to $dev (scope $scope)" >&2
			exit 1
		}
		echo "floating-ip.sh: $addr on $dev ($action, $role, scope $scope)" >&2
	fi
	# Announce on every call: a neighbour may still point at the former primary.
	case "$host" in
	*:*) ;; # IPv6: the kernel sends unsolicited neighbour advertisements itself
	*)
		if command -v arping >/dev/null 2>&1; then
			arping -q -U -c 2 -w 3 -I "$dev" "$host" || true
		else
			echo "floating-ip.sh: arping not installed, neighbours learn the move only when their cache expires" >&2
		fi
		;;
	esac
	exit 0
fi
if holds; then
	"$ip" addr del "$addr" dev "$dev" || {
		echo "floating-ip.sh: could not remove $addr from $dev (scope $scope)" >&2
		exit 1
	}
	echo "floating-ip.sh: $addr off $dev ($action, $role, scope $scope)" >&2
fi
exit 0
