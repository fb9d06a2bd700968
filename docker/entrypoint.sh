#!/bin/sh
# Container entrypoint: derive the per-pod settings the agent cannot know from the pod's
# environment, then exec gsha (PID 1 receives SIGTERM from the kubelet: gsha stops PostgreSQL
# and releases the leader key on it). Everything else comes from PATRONI_* / GSHA_* variables
# or from a mounted file named by GSHA_CONFIG_FILE.
set -eu

: "${PATRONI_NAME:=${POD_NAME:-$(hostname)}}"
pod_ip=${POD_IP:-$(hostname -i 2>/dev/null | cut -d' ' -f1)}
: "${PATRONI_RESTAPI_CONNECT_ADDRESS:=$pod_ip:8008}"
: "${PATRONI_POSTGRESQL_CONNECT_ADDRESS:=$pod_ip:5432}"
export PATRONI_NAME PATRONI_RESTAPI_CONNECT_ADDRESS PATRONI_POSTGRESQL_CONNECT_ADDRESS

if [ -n "${GSHA_CONFIG_FILE:-}" ]; then
	exec gsha "$GSHA_CONFIG_FILE"
fi
exec gsha
