#!/bin/sh
# Kubernetes preStop hook (docker/k8s/gsha.yaml): before the kubelet sends SIGTERM, the member
# that leads hands the primary to a healthy replica with a planned switchover, so a rolling
# update or a node drain moves the primary on purpose instead of stopping it first. On SIGTERM
# alone, gsha does what Patroni does: it stops PostgreSQL, then releases the leader key with the
# last checkpoint's position, and the healthy replicas race for it.
# The hook never fails the pod's termination: when this member does not lead, no replica is
# healthy or etcd is unreachable, it returns and SIGTERM does the rest. Its lines go to the
# container's output (PID 1's), where `kubectl logs` shows them. Bounded by
# GSHA_PRESTOP_TIMEOUT seconds (default 30), inside terminationGracePeriodSeconds.
set -u
exec >/proc/1/fd/1 2>&1 || true

me=${POD_NAME:-$(hostname)}
limit=${GSHA_PRESTOP_TIMEOUT:-30}
leader=$(timeout 10 gsctl list -f tsv |
	awk -F '\t' 'NR > 1 && $4 == "Leader" { print $2 }')
if [ "$leader" != "$me" ]; then
	echo "gsha-prestop: $me does not lead (leader: ${leader:-none known}); nothing to hand over"
	exit 0
fi
echo "gsha-prestop: $me leads; switching over to a healthy replica before stopping"
if timeout "$limit" gsctl switchover --leader "$me" --force; then
	echo "gsha-prestop: switched over"
else
	echo "gsha-prestop: no switchover (failed, or not done within ${limit} s); SIGTERM releases the leader key instead"
fi
exit 0
