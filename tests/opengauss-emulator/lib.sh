#!/usr/bin/env bash
# openGauss EMULATOR - shared helpers. NOT openGauss: a test stand-in over real PostgreSQL 15.
#
# Sourced by the emulated gs_ctl, gaussdb, gs_guc and gs_initdb in this directory. Every faked
# behaviour cites the section of /work/shared/opengauss.md (shared/opengauss.md) it follows.
#
# Files the emulator keeps in a data directory (all named og_emulator*, none exists in openGauss):
#   og_emulator.conf            openGauss-only parameters PostgreSQL would refuse (replconninfoN,
#                               most_available_sync, ...), as name = 'value' lines
#   og_emulator.state           mode=<-M mode> and detail=<detail_information> for the SQL view,
#                               log=<server log>, wal_term=<the standby's last term read by SQL>
#   og_emulator_walreceiver.conf  primary_conninfo chosen by the emulated walreceiver
#   og_emulator.sidecar.pid     the emulated HA thread (see gaussdb)
#   og_emulator.log             what the emulator did, one line per action
# Files that openGauss itself uses and the emulator reproduces: term_file (binary uint32, §2.8),
# and the signal files failover, switchover, primary, standby (§2.4, §2.2).

OG_EMU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
OG_EMU_TAG="[openGauss emulator]"

# Parameters openGauss has and PostgreSQL 15 lacks: kept in og_emulator.conf so PostgreSQL starts.
# (§2.6 replconninfoN, §2.9 most_available_sync / keep_sync_window / enable_save_confirmed_lsn,
# §2.10 password_encryption_type and password_reuse_time, §2.6 remote_read_mode)
OG_EMU_ONLY_PARAMS=" replconninfo1 replconninfo2 replconninfo3 replconninfo4 replconninfo5
 replconninfo6 replconninfo7 replconninfo8 most_available_sync keep_sync_window
 enable_save_confirmed_lsn password_encryption_type password_reuse_time remote_read_mode
 sync_config_strategy "

og_emu_is_og_only() { case "$OG_EMU_ONLY_PARAMS" in *[[:space:]]"$1"[[:space:]]*) return 0 ;; esac; return 1; }

og_emu_die() {
	echo "$OG_EMU_TAG $(basename "$0"): $*" >&2
	exit 1
}

# Appends one line to the data directory's emulator log and to stderr (gs_ctl prints on stderr,
# §2.7).
og_emu_note() {
	local dir=$1
	shift
	echo "$OG_EMU_TAG $*" >&2
	[ -d "$dir" ] && echo "$(date -u '+%F %T') $OG_EMU_TAG $*" >>"$dir/og_emulator.log" 2>/dev/null
	return 0
}

# Reads a parameter from og_emulator.conf or postgresql.conf (last assignment wins), unquoted.
og_emu_param() {
	local dir=$1 name=$2 file
	if og_emu_is_og_only "$name"; then file=$dir/og_emulator.conf; else file=$dir/postgresql.conf; fi
	[ -f "$file" ] || return 0
	sed -n -E "s/^[[:space:]]*$name[[:space:]]*=[[:space:]]*'?([^']*)'?[[:space:]]*(#.*)?$/\1/p" \
		"$file" | tail -n 1
}

og_emu_port() {
	local p
	p=$(og_emu_param "$1" port)
	echo "${p:-5432}"
}

og_emu_socket_dir() {
	local s
	s=$(og_emu_param "$1" unix_socket_directories)
	s=${s%%,*}
	echo "${s:-/tmp}"
}

# Runs one SQL statement on the local instance through its Unix socket; prints unaligned rows.
og_emu_sql() {
	local dir=$1 sql=$2
	PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -A -t -F '|' -h "$(og_emu_socket_dir "$dir")" \
		-p "$(og_emu_port "$dir")" -d postgres -v ON_ERROR_STOP=1 -c "$sql" 2>/dev/null
}

# Runs SQL on a peer by host and client port.
og_emu_sql_peer() {
	local host=$1 port=$2 sql=$3
	PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -A -t -F '|' -h "$host" -p "$port" -d postgres \
		-v ON_ERROR_STOP=1 -c "$sql" 2>/dev/null
}

# The pid in postmaster.pid, if that process is alive.
og_emu_live_pid() {
	local dir=$1 pid
	[ -f "$dir/postmaster.pid" ] || return 1
	pid=$(head -n 1 "$dir/postmaster.pid")
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

og_emu_state_get() {
	local dir=$1 key=$2
	[ -f "$dir/og_emulator.state" ] || return 0
	sed -n "s/^$key=//p" "$dir/og_emulator.state" | tail -n 1
}

og_emu_state_set() {
	local dir=$1 key=$2 value=$3 tmp
	tmp=$(mktemp "$dir/og_emulator.state.XXXXXX")
	{
		[ -f "$dir/og_emulator.state" ] && grep -v "^$key=" "$dir/og_emulator.state"
		echo "$key=$value"
	} >"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$dir/og_emulator.state"
}

# §2.8: term_file holds the term as a binary uint32 (native byte order, little-endian here).
og_emu_write_term() {
	local dir=$1 term=$2
	[[ "$term" =~ ^[0-9]+$ ]] && [ "$term" -le 4294967295 ] || og_emu_die "invalid term \"$term\""
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((term & 255)) $(((term >> 8) & 255)) \
		$(((term >> 16) & 255)) $(((term >> 24) & 255)))" >"$dir/term_file"
}

og_emu_read_term_file() {
	local dir=$1
	[ -f "$dir/term_file" ] || { echo 1; return 0; } # §2.8: both terms start at 1
	od -An -t u4 -N 4 "$dir/term_file" | tr -d ' \n'
	echo
}

# The replconninfo entries as "host clientport" lines: the client port is remoteport - 1, the
# convention every tool uses (§2.6, §2.1 "HA port = port + 1").
og_emu_peers() {
	local dir=$1 i v host rport
	for i in 1 2 3 4 5 6 7 8; do
		v=$(og_emu_param "$dir" "replconninfo$i")
		[ -n "$v" ] || continue
		host=$(sed -n -E 's/.*(^|[[:space:]])remotehost=([^[:space:]]+).*/\2/p' <<<"$v")
		rport=$(sed -n -E 's/.*(^|[[:space:]])remoteport=([0-9]+).*/\2/p' <<<"$v")
		[ -n "$host" ] && [ -n "$rport" ] && echo "$host $((rport - 1))"
	done
	return 0
}

og_emu_static_connections() { og_emu_peers "$1" | grep -c . || true; }
