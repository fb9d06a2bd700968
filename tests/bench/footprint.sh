#!/usr/bin/env bash
# Benchmark, not a test: the agent's own footprint in an idle three-node cluster (same YAML for
# gsha and Patroni: ttl 5, loop_wait 1). For each system: bootstrap, let it settle, then over
# PERIOD seconds of idleness read each agent's /proc/PID/status VmRSS (resident memory at the
# end) and the CPU it used (utime+stime deltas of /proc/PID/stat, clock ticks; reaped children
# such as pg_ctl or pg_controldata counted apart as cutime+cstime). For Patroni the agent is the
# python process; PostgreSQL's own processes are not counted for either system.
# Also per agent: PSS from /proc/PID/smaps_rollup (shared library pages divided among the
# processes that map them), the connections its node's PostgreSQL saw opened per minute
# (pg_stat_database.sessions, summed over databases, minus the one psql session of the first
# reading; this counts every client, and an idle cluster has no other than the agents), and for
# the leader's agent and one replica's the mappings that hold most of its RSS (Rss, Pss and
# Anonymous summed per file; B_MAPS sets how many, default 14, the rest summed on one line).
# C_TTL, C_LOOP_WAIT and BENCH_RETRY_TIMEOUT set the timing (default ttl 5, loop_wait 1).
# MODES="plain tls" (the default) runs each system twice: a plain-HTTP cluster, then one with TLS
# configured the same way for both (etcd3 over https with the CA and a client certificate, the
# REST API over https), to show what TLS adds. MODES=plain or MODES=tls runs one.
#
#   GSHA_BUILD_DIR=/tmp/build-bench-rel tests/bench/footprint.sh [PERIOD_SECONDS] [SETTLE_SECONDS]
#
# PERIOD defaults to 60, SETTLE to 10. SYSTEMS="gsha" or "patroni" runs one side only.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${GSHA_BUILD_DIR:-/tmp/build-bench-rel}
PERIOD=${1:-60}
SETTLE=${2:-10}
SYSTEMS=${SYSTEMS:-gsha patroni}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
# Idle means no load balancer checking the agents unless asked (B_HAPROXY=1).
export B_HAPROXY=${B_HAPROXY:-0}
source "$root/tests/bench/lib.sh"
set +e
b_trap
[[ "$PERIOD" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "PERIOD must be 1..9999 seconds"
[[ "$SETTLE" =~ ^[0-9]{1,3}$ ]] || t_fail "SETTLE must be 0..999 seconds"
TCK=$(getconf CLK_TCK)

echo "== footprint benchmark: idle 3-node cluster, ${PERIOD}s measured after ${SETTLE}s settling"
b_build_info
# Which builds of the fixed libraries the agent links (docs/architecture.md "Footprint"): the
# minimal static ones of scripts/build-minimal-deps, or Debian's shared libraries; and the
# shared libraries it still loads at start-up.
min_deps=$(meson introspect --buildoptions "$GSHA_BUILD_DIR" 2>/dev/null | python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o.get("minimal_deps", "?"), o.get("minimal_deps_prefix", ""))' 2>/dev/null)
if ldd "$GSHA_BUILD_DIR/gsha" 2>/dev/null | grep -q 'libpq\.so'; then
	echo "gsha libraries: Debian's shared builds (minimal_deps $min_deps: not linked)"
else
	echo "gsha libraries: minimal static builds (minimal_deps $min_deps)"
fi
echo "gsha shared libraries at start-up: $(ldd "$GSHA_BUILD_DIR/gsha" 2>/dev/null | awk '$1 !~ /vdso/ { sub(/.*\//, "", $1); sub(/\.so.*/, "", $1); printf "%s ", $1 }' | sed 's/ $//') ($(ldd "$GSHA_BUILD_DIR/gsha" 2>/dev/null | grep -vc vdso))"
echo "HAProxy checking the agents: $([ "$B_HAPROXY" = 1 ] && echo yes || echo "no (B_HAPROXY=1 adds it)")"
MODES=${MODES:-plain tls}
t_start_etcd
PLAIN_ETCD_URL=$ETCD_URL
results=$t_tmpdir/results
: >"$results"

# ---- TLS mode: a private CA, one certificate for 127.0.0.1 (server and client), and a second
# etcd that serves https with client certificates required (the agents) and plain http (this
# script's etcdctl and its own reads of the leader key).
pki=$t_tmpdir/pki
TLS_ETCD_URL= TLS_ETCD_HOST=
tls_setup() {
	local peer port dir
	[ -n "$TLS_ETCD_URL" ] && return 0
	command -v openssl >/dev/null || t_fail "openssl is needed for MODES=tls"
	mkdir -p "$pki"
	(cd "$pki" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
			-subj /CN=gsha-footprint-ca &&
		openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr -subj /CN=127.0.0.1 &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >node.ext &&
		openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile node.ext -out node.crt) >/dev/null 2>&1 || t_fail "could not make the test CA"
	chown -R postgres:postgres "$pki"
	chmod 600 "$pki"/*.key
	port=$(t_free_port)
	peer=$(t_free_port)
	TLS_ETCD_HOST=127.0.0.1:$port
	TLS_ETCD_URL=http://127.0.0.1:$(t_free_port)
	dir=$t_tmpdir/etcd-tls
	etcd --name tls --data-dir "$dir" \
		--listen-client-urls "https://$TLS_ETCD_HOST,$TLS_ETCD_URL" \
		--advertise-client-urls "https://$TLS_ETCD_HOST" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "tls=http://127.0.0.1:$peer" --cert-file "$pki/node.crt" \
		--key-file "$pki/node.key" --trusted-ca-file "$pki/ca.crt" --client-cert-auth \
		>"$dir.log" 2>&1 &
	t_register_pid $!
	t_wait_for 20 "etcd on $TLS_ETCD_URL" curl -sf "$TLS_ETCD_URL/health"
	curl -sf --cacert "$pki/ca.crt" --cert "$pki/node.crt" --key "$pki/node.key" \
		"https://$TLS_ETCD_HOST/health" >/dev/null || t_fail "etcd does not answer over https"
}

# c_config's YAML, and in TLS mode its etcd3 and restapi sections switched to https.
eval "plain_c_config() $(declare -f c_config | tail -n +2)"
c_config() {
	plain_c_config "$@"
	[ "$MODE" = tls ] || return 0
	local yml=$C_DIR/$1.yml
	sed -i -e "s|^  hosts: .*|  hosts: $TLS_ETCD_HOST\n  protocol: https\n  cacert: $pki/ca.crt\n  cert: $pki/node.crt\n  key: $pki/node.key|" \
		-e "s|^  connect_address: 127.0.0.1:${C_API_PORT[$1]}\$|&\n  certfile: $pki/node.crt\n  keyfile: $pki/node.key|" "$yml"
}
# The REST checks the bench helpers make, over https in TLS mode (the test CA).
c_rest() {
	local scheme=http
	[ "$MODE" = tls ] && scheme=https
	curl -s -o /dev/null -w '%{http_code}' -m 2 --cacert "$pki/ca.crt" \
		"$scheme://127.0.0.1:${C_API_PORT[$1]}$2" 2>/dev/null || true
}

# PID -> "RSS_KB TICKS CHILD_TICKS THREADS ANON_KB PSS_KB"; stat fields are read after the
# command name, which may hold spaces.
sample() {
	local pid=$1 rss stat pss
	rss=$(awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { if (r != "") print r, a }' "/proc/$pid/status" 2>/dev/null)
	stat=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null)
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
	[ -n "$rss" ] && [ -n "$stat" ] || return 1
	# after "pid (comm) ": state=1 ... utime=12 stime=13 cutime=14 cstime=15 num_threads=18
	echo "$stat" | awk -v rss="${rss% *}" -v anon="${rss#* }" -v pss="${pss:-0}" '{ print rss, $12 + $13, $14 + $15, $18, anon, pss }'
}

# NODE -> connections its PostgreSQL has seen opened so far (all databases).
sessions() {
	c_psql "$1" "SELECT sum(sessions) FROM pg_catalog.pg_stat_database" || echo ""
}

run_system() {
	local system=$1 n pid role s0 s1 rss cpu ccpu thr anon pss conn
	declare -A before agent sess
	# the label is "gsha" or "gsha/tls"; the bench library starts the system its name says
	if ! b_cluster_up_retry "${system%/tls}" "$t_tmpdir/${system%/tls}-$MODE" "fp-${system%/tls}-$MODE-$$"; then
		b_cluster_down
		echo "$system - failed-to-start" >>"$results"
		return
	fi
	sleep "$SETTLE"
	for n in "${B_NODES[@]}"; do
		agent[$n]=$(b_agent_pid "$n")
		before[$n]=$(sample "${agent[$n]}")
		sess[$n]=$(sessions "$n")
	done
	b_log "$system: measuring ${PERIOD}s of idleness (agents: ${agent[*]})"
	sleep "$PERIOD"
	for n in "${B_NODES[@]}"; do
		pid=${agent[$n]}
		s1=$(sample "$pid") || { b_log "$system: agent $n ($pid) is gone"; continue; }
		s0=${before[$n]}
		role=replica
		[ "$(c_leader)" = "$n" ] && role=leader
		read -r rss cpu ccpu thr anon pss < <(echo "$s0 $s1" | awk -v t="$TCK" '{ printf "%d %.3f %.3f %d %d %d\n", $7, ($8 - $2) / t, ($9 - $3) / t, $10, $11, $12 }')
		conn=$(awk -v a="${sess[$n]}" -v b="$(sessions "$n")" -v p="$PERIOD" \
			'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.1f", (b - a - 1) * 60 / p }')
		printf '%-8s %s (%s, pid %s, %s threads, %d descendants besides PostgreSQL): RSS %.1f MB (anonymous %.1f MB), PSS %.1f MB, CPU %.2f s in %ss (%.3f s/min), reaped children %.2f s, PostgreSQL connections opened %s/min\n' \
			"$system" "$n" "$role" "$pid" "$thr" "$(pgrep -P "$pid" | xargs -r ps -o comm= -p | grep -vc '^postgres$')" \
			"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$anon" 'BEGIN { print k / 1024 }')" \
			"$(awk -v k="$pss" 'BEGIN { print k / 1024 }')" "$cpu" "$PERIOD" \
			"$(awk -v c="$cpu" -v p="$PERIOD" 'BEGIN { print c * 60 / p }')" "$ccpu" "$conn"
		echo "$system $n ok $rss $cpu $ccpu $anon $pss $conn" >>"$results"
	done
	# where the agent's memory is, for the leader and for one replica (a bootstrapping leader
	# also initialised libcrypto to hash the users' passwords): resident, proportional and
	# anonymous (written: heap, stacks, thread arenas, relocated data) kB per mapped file,
	# summed over its mappings, largest RSS first, with the total of the rest
	for n in "$(c_leader)" $(for m in "${B_NODES[@]}"; do [ "$m" != "$(c_leader)" ] && echo "$m"; done | head -1); do
		pid=${agent[$n]:-}
		[ -n "$pid" ] && [ -r "/proc/$pid/smaps" ] || continue
		role=replica
		[ "$(c_leader)" = "$n" ] && role=leader
		echo "$system $role agent $n (pid $pid), kB per mapping: Rss (Pss, Anonymous), top ${B_MAPS:-14}:"
		awk '/^[0-9a-f]+-[0-9a-f]+ / { f = ($6 == "") ? "[anon]" : $6; sub(/.*\//, "", f) }
			/^Rss:/ { r[f] += $2 } /^Pss:/ { p[f] += $2 } /^Anonymous:/ { a[f] += $2 }
			END { for (k in r) print r[k], p[k], a[k], k }' "/proc/$pid/smaps" | sort -rn |
			awk -v top="${B_MAPS:-14}" 'NR <= top { printf "    %6d (%6d, %6d) %s\n", $1, $2, $3, $4; next }
				{ r += $1; p += $2; a += $3; n++ }
				END { if (n) printf "    %6d (%6d, %6d) the other %d mappings\n", r, p, a, n }'
	done
	b_cluster_down
}

for MODE in $MODES; do
	ETCD_URL=$PLAIN_ETCD_URL
	if [ "$MODE" = tls ]; then
		tls_setup
		ETCD_URL=$TLS_ETCD_URL
	elif [ "$MODE" != plain ]; then
		t_fail "MODES: plain and/or tls, not \"$MODE\""
	fi
	for s in $SYSTEMS; do
		system=$s
		[ "$MODE" = tls ] && system=$s/tls
		run_system "$system"
	done
done

echo "== footprint summary (idle, ${PERIOD}s; per agent, mean of the three nodes)"
declare -A rss cpm
systems=
for MODE in $MODES; do
	for s in $SYSTEMS; do
		if [ "$MODE" = tls ]; then systems+=" $s/tls"; else systems+=" $s"; fi
	done
done
for system in $systems; do
	rss[$system]=$(awk -v s="$system" '$1 == s && $3 == "ok" { r += $4; n++ } END { if (n) printf "%.2f", r / n / 1024; else print "n/a" }' "$results")
	cpm[$system]=$(awk -v s="$system" -v p="$PERIOD" '$1 == s && $3 == "ok" { c += $5; n++ } END { if (n) printf "%.4f", c / n * 60 / p; else print "n/a" }' "$results")
	ccpm=$(awk -v s="$system" -v p="$PERIOD" '$1 == s && $3 == "ok" { c += $6; n++ } END { if (n) printf "%.4f", c / n * 60 / p; else print "n/a" }' "$results")
	anon=$(awk -v s="$system" '$1 == s && $3 == "ok" { r += $7; n++ } END { if (n) printf "%.2f", r / n / 1024; else print "n/a" }' "$results")
	pss=$(awk -v s="$system" '$1 == s && $3 == "ok" { r += $8; n++ } END { if (n) printf "%.2f", r / n / 1024; else print "n/a" }' "$results")
	conn=$(awk -v s="$system" '$1 == s && $3 == "ok" && $9 != "n/a" { c += $9; n++ } END { if (n) printf "%.1f", c / n; else print "n/a" }' "$results")
	printf '%-8s RSS %s MB per agent (anonymous %s MB, PSS %s MB); CPU %s s per minute per agent (+ %s s/min in reaped children); PostgreSQL connections opened %s/min per node\n' \
		"$system" "${rss[$system]}" "$anon" "$pss" "${cpm[$system]}" "$ccpm" "$conn"
done
for sfx in "" /tls; do
	if [ -n "${rss[gsha$sfx]:-}" ] && [ -n "${rss[patroni$sfx]:-}" ]; then
		echo "ratio patroni$sfx/gsha$sfx: RSS $(b_ratio "${rss[patroni$sfx]}" "${rss[gsha$sfx]}")x, idle CPU $(b_ratio "${cpm[patroni$sfx]}" "${cpm[gsha$sfx]}")x (CPU resolution: 1/$TCK s per agent)"
	fi
done
