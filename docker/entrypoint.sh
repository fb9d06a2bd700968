#!/bin/sh
# Container entrypoint, run by tini (PID 1): derive the per-pod settings the agent cannot know
# from the pod's environment, check the data volume, then exec gsha. SIGTERM from the kubelet
# (or `podman stop`) reaches gsha through tini: gsha stops PostgreSQL and releases the leader
# key. Everything else comes from PATRONI_* / GSHA_* variables over /etc/gsha/gsha.yml, or over
# the file named by GSHA_CONFIG_FILE.
set -eu

say() { echo "gsha-entrypoint: $*" >&2; }

: "${PATRONI_NAME:=${POD_NAME:-$(hostname)}}"
pod_ip=${POD_IP:-$(hostname -i 2>/dev/null | cut -d' ' -f1)}
if [ -z "$pod_ip" ]; then
	say "cannot tell this pod's address: set POD_IP (fieldRef status.podIP)"
	exit 1
fi
: "${PATRONI_RESTAPI_CONNECT_ADDRESS:=$pod_ip:8008}"
: "${PATRONI_POSTGRESQL_CONNECT_ADDRESS:=$pod_ip:5432}"
export PATRONI_NAME PATRONI_RESTAPI_CONNECT_ADDRESS PATRONI_POSTGRESQL_CONNECT_ADDRESS

# The data directory: PostgreSQL refuses one that others can read, and a volume mounted with
# fsGroup (kubelet's recursive chown/chmod, unless fsGroupChangePolicy is OnRootMismatch) comes
# back group-writable at every start. Check it here, where the message can say what to fix.
data_dir=${GSHA_POSTGRESQL_DATA_DIR:-${PATRONI_POSTGRESQL_DATA_DIR:-}}
if [ -n "$data_dir" ]; then
	uid=$(id -u)
	parent=$(dirname "$data_dir")
	if [ ! -d "$parent" ] || [ ! -w "$parent" ]; then
		say "$parent (the volume holding $data_dir) is missing or not writable by uid $uid;" \
			"mount the volume there and give the pod fsGroup $(id -g)"
		exit 1
	fi
	if [ -e "$data_dir" ]; then
		owner=$(stat -c %u "$data_dir")
		mode=$(stat -c %a "$data_dir")
		if [ "$owner" != "$uid" ]; then
			say "$data_dir belongs to uid $owner, not to uid $uid that runs PostgreSQL here;" \
				"run the pod as uid $owner or chown the volume"
			exit 1
		fi
		if [ "$mode" != 700 ]; then
			# 00700: GNU chmod keeps a directory's setgid bit unless the mode has 5 digits.
			chmod 00700 "$data_dir"
			if [ "$(stat -c %a "$data_dir")" != 700 ]; then
				say "$data_dir has mode $mode and cannot be set to 0700"
				exit 1
			fi
			say "$data_dir had mode $mode; set it to 0700 as PostgreSQL requires"
		fi
	fi
fi

exec gsha "${GSHA_CONFIG_FILE:-/etc/gsha/gsha.yml}"
