#!/usr/bin/env bash
# Benchmark, not a test (not registered in meson): health-check throughput and tail latency of
# the agents' REST servers, gsha beside Patroni and beside a static HTTP server, in one run.
#
#   tests/bench/rest_health.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
#
# BUILD_DIR defaults to $GSHA_BUILD_DIR, else /tmp/build-bench-rel (an optimized build without
# sanitizers, with the targets gsha and tests/bench/rest-paced: the script prints which build it
# used). SECONDS (default 10) is the length of each wrk run, CONNECTIONS (default 32) wrk's
# connections. Each system runs as a real three-node cluster (tests/bench/lib.sh: the same YAML
# for gsha and Patroni, ttl 5, loop_wait 1), HA loops running. Per system:
#
# 1. saturation: wrk -t2 -cCONNECTIONS on GET /primary of the leader and GET /replica of a
#    replica, in two client modes: "close", one request per connection (what HAProxy's checks
#    and Kubernetes probes do), and "keep-alive" (Connection: keep-alive: monitoring clients
#    that keep their connection). Right before each, the same wrk against the static reference
#    server in the same mode, so every ratio compares runs made a few seconds apart on this
#    shared machine: req/s, p50, p99, ratio to the static server, and the server's CPU time per
#    request (the agent process; nginx's master and workers), steadier than req/s here.
# 2. steady load: tests/bench/rest-paced at PACED_RATE (default 1000) req/s for PACED_SECONDS
#    (default SECONDS) on GET /primary, one connection per request, latency from each request's
#    due time (wrk cannot pace); the static server the same. Beside each, the server's wake-ups
#    (voluntary context switches, all threads) and CPU time per request. PACED_RT=1 runs the
#    client and the server's threads at SCHED_FIFO 50 for these two runs: on a shared machine,
#    the latency they would have on a quiet one (docs/architecture.md, "REST server").
# 3. switchover: wrk (close mode) on the leader's /primary for SWITCHOVER_SECONDS (default 15)
#    with POST /switchover {"leader","candidate"} sent 3 s in, and rest-paced at 200 req/s on
#    the candidate's and on the old leader's /primary in 500 ms windows: req/s, max latency,
#    errors while the roles change, and the windows around it for both nodes (a stall shows as
#    a window's max latency or failures).
#
# The static reference is Debian's nginx (installed here with apt-get if missing: nginx-light)
# answering a fixed 200 from a minimal configuration on a free port, one worker per CPU, started
# and stopped by PID. STATIC_URL=http://127.0.0.1:PORT/path uses another static server instead.
# SYSTEMS="gsha" or "patroni" runs one side only; HARNESS=1 adds rest-harness (gsha's REST
# server alone, canned primary snapshot, no HA loop) in both modes. Patroni 3.0.2 closes every connection
# (HTTP/1.0, as its compat contract; gsha answers the same way unless the client asks for
# keep-alive), so its keep-alive figures are close figures.
root=$(cd "$(dirname "$0")/../.." && pwd)
export GSHA_BUILD_DIR=${1:-${GSHA_BUILD_DIR:-/tmp/build-bench-rel}}
SECONDS_RUN=${2:-10}
CONNS=${3:-32}
SYSTEMS=${SYSTEMS:-gsha patroni}
PACED_RATE=${PACED_RATE:-1000}
PACED_SECONDS=${PACED_SECONDS:-$SECONDS_RUN}
SWITCHOVER_SECONDS=${SWITCHOVER_SECONDS:-15}
source "$root/tests/integration/lib/common.sh"
source "$root/tests/integration/lib/etcd.sh"
source "$root/tests/bench/lib.sh"
set +e
b_trap
command -v wrk >/dev/null || t_fail "wrk is not installed"
[[ "$SECONDS_RUN" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "SECONDS must be 1..9999"
[[ "$CONNS" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "CONNECTIONS must be 1..9999"
[[ "$PACED_RATE" =~ ^[1-9][0-9]{0,5}$ ]] || t_fail "PACED_RATE must be 1..999999"
[[ "$PACED_SECONDS" =~ ^[1-9][0-9]{0,3}$ ]] || t_fail "PACED_SECONDS must be 1..9999"
[[ "$SWITCHOVER_SECONDS" =~ ^[1-9][0-9]{0,3}$ ]] && [ "$SWITCHOVER_SECONDS" -ge 8 ] ||
	t_fail "SWITCHOVER_SECONDS must be 8..9999"
PACED=$GSHA_BUILD_DIR/tests/bench/rest-paced
[ -x "$PACED" ] || t_fail "$PACED is missing: ninja -C $GSHA_BUILD_DIR tests/bench/rest-paced"
RES=$t_tmpdir/results # lines: KIND SYSTEM PATH MODE RPS P50_MS P99_MS [STATIC_RPS STATIC_P99_MS]
: >"$RES"

echo "== REST health-check benchmark: wrk -t2 -c$CONNS -d${SECONDS_RUN}s; paced $PACED_RATE req/s for ${PACED_SECONDS}s; switchover under load (${SWITCHOVER_SECONDS}s)"
b_build_info
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the static reference server ----
STATIC_PID=
start_static() {
	local port conf dir=$t_tmpdir/nginx
	if [ -n "${STATIC_URL:-}" ]; then
		echo "static reference: $STATIC_URL (STATIC_URL)"
		return 0
	fi
	if ! [ -x /usr/sbin/nginx ]; then
		b_log "nginx is missing: apt-get install nginx-light (Debian's static server, for the reference)"
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
				>"$t_tmpdir/apt.log" 2>&1 || tail -5 "$t_tmpdir/apt.log" >&2
		fi
	fi
	if ! [ -x /usr/sbin/nginx ]; then
		b_log "no static reference server (nginx could not be installed): ratios are left out"
		return 1
	fi
	port=$(t_free_port)
	mkdir -p "$dir"
	conf=$dir/nginx.conf
	cat >"$conf" <<-EOF
		worker_processes auto;
		daemon off;
		pid $dir/nginx.pid;
		error_log $dir/error.log;
		events { worker_connections 4096; }
		http {
		    access_log off;
		    client_body_temp_path $dir/body;
		    proxy_temp_path $dir/proxy;
		    fastcgi_temp_path $dir/fastcgi;
		    uwsgi_temp_path $dir/uwsgi;
		    scgi_temp_path $dir/scgi;
		    server {
		        listen 127.0.0.1:$port backlog=1024;
		        location / { default_type text/plain; return 200 "ok\n"; }
		    }
		}
	EOF
	/usr/sbin/nginx -e "$dir/error.log" -p "$dir" -c "$conf" >"$dir/stdout.log" 2>&1 &
	STATIC_PID=$!
	t_register_pid "$STATIC_PID"
	STATIC_URL=http://127.0.0.1:$port/
	if ! b_wait 10 curl -sf -o /dev/null "$STATIC_URL"; then
		b_log "nginx did not answer on $port: $(tail -3 "$dir/error.log" 2>/dev/null)"
		STATIC_URL=
		return 1
	fi
	echo "static reference: $(/usr/sbin/nginx -v 2>&1), $(nproc) workers, fixed 200 on $STATIC_URL (pid $STATIC_PID)"
}
static_port() { sed -E 's|^http://[^:]+:([0-9]+).*|\1|' <<<"$STATIC_URL"; }
static_path() { sed -E 's|^http://[^/]+(/.*)?$|\1|' <<<"$STATIC_URL" | sed 's|^$|/|'; }

# ---- wrk and rest-paced, their figures ----
# wrk prints latencies with a unit: us, ms, s, m. Prints milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
		if (f > 0 && v != "") printf "%.3f", v * f; else print "n/a" }'
}
wrk_rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
wrk_pct() { to_ms "$(awk -v p="$2" '$1 == p { print $2 }' "$1")"; }
wrk_max() { to_ms "$(awk '$1 == "Latency" && NF >= 4 { print $4 }' "$1")"; }
wrk_errors() { # connect/read/write/timeout errors and non-2xx/3xx answers
	awk '/Socket errors/ { gsub(/,/, ""); e = $4 + $6 + $8 + $10 } /Non-2xx/ { n = $NF }
		END { printf "socket errors %d, non-2xx/3xx %d", e, n }' "$1"
}

# run_wrk FILE MODE URL: wrk in client mode close or keep-alive.
run_wrk() {
	local hdr=close
	[ "$2" = keep-alive ] && hdr=keep-alive
	wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 10s --latency -H "Connection: $hdr" "$3" >"$1" 2>&1
}

# CPU clock ticks (user + system, all threads) of the given PIDs.
cpu_ticks() {
	local pid t=0 v
	for pid in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) && t=$((t + v))
	done
	echo "$t"
}
# The static server's processes: nginx's master and its workers.
static_pids() { [ -n "$STATIC_PID" ] && echo "$STATIC_PID $(pgrep -P "$STATIC_PID" | tr '\n' ' ')"; }
# Microseconds of server CPU per answered request: TICKS REQUESTS_FILE (wrk output).
cpu_per_req() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" '/requests in/ { n = $1 }
		END { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "n/a" }' "$2"
}

# saturate SYSTEM PORT PATH MODE [PID...]: the static server, then SYSTEM's server on PORT, same
# wrk; with PIDs, the server's CPU time per request as well (the agent process: its HA loop's
# few milliseconds a second included).
saturate() {
	local system=$1 port=$2 path=$3 mode=$4 f s= c0 c1 cpu=n/a scpu=n/a
	shift 4
	f=$t_tmpdir/wrk-$system-${path#/}-$mode.txt
	if [ -n "$STATIC_URL" ]; then
		s=$t_tmpdir/wrk-static-$system-${path#/}-$mode.txt
		c0=$(cpu_ticks $(static_pids))
		run_wrk "$s" "$mode" "$STATIC_URL"
		c1=$(cpu_ticks $(static_pids))
		[ -n "$STATIC_PID" ] && scpu=$(cpu_per_req $((c1 - c0)) "$s")
	fi
	c0=$(cpu_ticks "$@")
	run_wrk "$f" "$mode" "http://127.0.0.1:$port$path"
	c1=$(cpu_ticks "$@")
	[ $# -gt 0 ] && cpu=$(cpu_per_req $((c1 - c0)) "$f")
	printf '%-8s GET %-8s %-10s %9s req/s  p50 %8s ms  p99 %8s ms  cpu %s us/req  (%s)' "$system" \
		"$path" "$mode" "$(wrk_rps "$f")" "$(wrk_pct "$f" 50%)" "$(wrk_pct "$f" 99%)" "$cpu" \
		"$(wrk_errors "$f")"
	if [ -n "$s" ]; then
		printf ' | static %9s req/s p99 %8s ms cpu %s us/req: ratio %s, p99 %s of static' \
			"$(wrk_rps "$s")" "$(wrk_pct "$s" 99%)" "$scpu" \
			"$(b_ratio "$(wrk_rps "$f")" "$(wrk_rps "$s")")" \
			"$(b_ratio "$(wrk_pct "$f" 99%)" "$(wrk_pct "$s" 99%)")"
	fi
	echo
	# A health check that is not 200 while the cluster sits healthy is a finding, not noise:
	# keep every node's log of the run (the temporary directory goes with the cluster).
	if grep -q 'Non-2xx' "$f" && [ -n "${C_DIR:-}" ] && ls "$C_DIR"/*.log >/dev/null 2>&1; then
		local keep=/tmp/rest_health-non2xx.$$
		mkdir -p "$keep" && cp "$C_DIR"/*.log "$keep/" &&
			echo "         non-2xx answers from $system $path ($mode) at $(date +%T): the nodes' logs are kept in $keep"
	fi
	echo "sat $system $path $mode $(wrk_rps "$f") $(wrk_pct "$f" 50%) $(wrk_pct "$f" 99%)" \
		"${s:+$(wrk_rps "$s") $(wrk_pct "$s" 99%)}" >>"$RES"
	echo "cpu $system $path $mode $cpu $scpu" >>"$RES"
}

# Voluntary context switches (each one a wake-up: the thread slept, something woke it) of every
# thread of the given PIDs.
wakeups() {
	local pid t n=0 v
	for pid in "$@"; do
		for t in /proc/"$pid"/task/*; do
			v=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status" 2>/dev/null) && n=$((n + ${v:-0}))
		done
	done
	echo "$n"
}

# rt_set POLICY PID...: every thread of PIDs to SCHED_FIFO 50 ("fifo") or back to SCHED_OTHER
# ("other"), for PACED_RT=1.
rt_set() {
	local policy=$1 pid
	shift
	for pid in "$@"; do
		if [ "$policy" = fifo ]; then
			chrt -a -f -p 50 "$pid" >/dev/null 2>&1 || b_log "PACED_RT: could not make $pid SCHED_FIFO"
		else
			chrt -a -o -p 0 "$pid" >/dev/null 2>&1
		fi
	done
}

# paced LABEL TAG PORT PATH [PID...]: rest-paced at PACED_RATE; prints and records p50/p99/max, and
# with PIDs the server's wake-ups and CPU time per request (steadier than latency on a shared
# machine: each wake-up is a thread the scheduler must find a CPU for, and on a busy machine it
# may wait there for another task's slice). PACED_RT=1 runs the client and the server (every
# thread of PIDs) at SCHED_FIFO 50 for the run, ahead of the machine's other work: latency as on
# a quiet machine, from a shared one.
paced() {
	local label=$1 out=$t_tmpdir/paced-$2.txt port=$3 path=$4 w0 w1 c0 c1 per=
	shift 4
	w0=$(wakeups "$@")
	c0=$(cpu_ticks "$@")
	if [ "${PACED_RT:-0}" = 1 ] && [ $# -gt 0 ]; then
		rt_set fifo "$@"
		chrt -f 50 "$PACED" "$port" "$path" "$PACED_RATE" "$PACED_SECONDS" 64 >"$out" 2>&1
		rt_set other "$@"
	else
		"$PACED" "$port" "$path" "$PACED_RATE" "$PACED_SECONDS" 64 >"$out" 2>&1
	fi
	w1=$(wakeups "$@")
	c1=$(cpu_ticks "$@")
	if [ $# -gt 0 ]; then
		per=$(awk -v w=$((w1 - w0)) -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
			-v n=$((PACED_RATE * PACED_SECONDS)) \
			'BEGIN { printf "%.2f wake-ups and %.0f us CPU per request", w / n, c / hz * 1e6 / n }')
	fi
	printf '%-8s paced %s req/s GET %s: %s%s\n' "$label" "$PACED_RATE" "$path" \
		"$(grep -E '^(paced|latency)' "$out" | sed 's/^paced [0-9]* req\/s for [0-9]* s on [0-9]* connections: //' | paste -sd';' | sed 's/;/; /')" \
		"${per:+; server $per}"
	echo "paced $label $path $(awk '/^latency/ { print $6, $12, $18 }' "$out") ${per:+$(awk '{ print $1, $4 }' <<<"$per")}" >>"$RES"
}

# switchover_under_load SYSTEM: wrk on the leader's /primary, POST /switchover 3 s in, rest-paced
# on the candidate's /primary in windows.
switchover_under_load() {
	local system=$1 leader cand n f p q code t0 t1 wrk_pid paced_pid paced_pid2
	leader=$(c_leader)
	# the paced run may have left a slow server with a backlog: wait for it to answer again
	for n in "${B_NODES[@]}"; do
		[ "$n" != "$leader" ] && b_wait 30 b_is_replica "$n" && cand=$n && break
	done
	if [ -z "$leader" ] || [ -z "$cand" ]; then
		b_log "$system: no leader and replica for the switchover run"
		return 1
	fi
	f=$t_tmpdir/wrk-$system-switchover.txt
	p=$t_tmpdir/paced-$system-switchover.txt
	q=$t_tmpdir/paced-$system-switchover-leader.txt
	wrk -t2 -c"$CONNS" -d"${SWITCHOVER_SECONDS}s" --timeout 10s --latency -H 'Connection: close' \
		"http://127.0.0.1:${C_API_PORT[$leader]}/primary" >"$f" 2>&1 &
	wrk_pid=$!
	t_register_pid "$wrk_pid"
	"$PACED" "${C_API_PORT[$cand]}" /primary 200 "$SWITCHOVER_SECONDS" 64 --window-ms 500 >"$p" 2>&1 &
	paced_pid=$!
	t_register_pid "$paced_pid"
	# the old leader too, beside wrk's connections: a stall on either node shows in its windows
	"$PACED" "${C_API_PORT[$leader]}" /primary 200 "$SWITCHOVER_SECONDS" 64 --window-ms 500 >"$q" 2>&1 &
	paced_pid2=$!
	t_register_pid "$paced_pid2"
	sleep 3
	t0=$(b_now_us)
	code=$(curl -s -o "$t_tmpdir/so-$system.out" -w '%{http_code}' -m 60 -X POST \
		-H 'Content-Type: application/json' -d "{\"leader\":\"$leader\",\"candidate\":\"$cand\"}" \
		"http://127.0.0.1:${C_API_PORT[$leader]}/switchover")
	t1=$(b_now_us)
	wait "$wrk_pid"
	wait "$paced_pid"
	wait "$paced_pid2"
	echo "$system switchover $leader -> $cand under load: POST /switchover HTTP $code after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }') s ($(head -c 120 "$t_tmpdir/so-$system.out" | tr '\n' ' '))"
	echo "  wrk on $leader /primary (${SWITCHOVER_SECONDS}s, close): $(wrk_rps "$f") req/s, p50 $(wrk_pct "$f" 50%) ms, p99 $(wrk_pct "$f" 99%) ms, max $(wrk_max "$f") ms, $(wrk_errors "$f") (503 once demoted is expected)"
	echo "  paced 200 req/s on $cand /primary: $(grep -E '^latency' "$p")"
	echo "  paced 200 req/s on $leader /primary: $(grep -E '^latency' "$q")"
	echo "  500 ms windows (ok/non-2xx/failed of 100 due, max latency), from 1 s before the POST:"
	# window lines: "window MS ms: due D ok O non-2xx N failed F max M ms"
	awk -v t="$(((3000 / 500 - 2) * 500))" -v a="$leader" -v b="$cand" '
		$1 != "window" || $2 + 0 < t { next }
		FNR == NR { old[$2] = sprintf("%s/%s/%s max %7s ms", $7, $9, $11, $13); next }
		{ printf "    %6d ms  %s %-28s  %s %s/%s/%s max %7s ms\n", $2, a, old[$2], b, $7, $9, $11, $13 }
	' "$q" "$p" | head -24
	echo "sw $system /primary close $(wrk_rps "$f") $(wrk_pct "$f" 50%) $(wrk_pct "$f" 99%) max $(wrk_max "$f") paced-max $(awk '/^latency/ { print $18 }' "$p") $(awk '/^latency/ { print $18 }' "$q")" >>"$RES"
	b_wait 60 b_is_primary "$cand" || b_log "$system: $cand is not primary 60 s after the switchover"
}

start_static

if [ -n "${HARNESS:-}" ]; then
	# The REST server alone: rest-harness serves a canned primary snapshot, no HA loop.
	hport=$(t_free_port)
	"$GSHA_BUILD_DIR/tests/integration/rest-harness" --port "$hport" --state primary >"$t_tmpdir/harness.log" 2>&1 &
	hpid=$!
	t_register_pid "$hpid"
	if b_wait 10 curl -sf -o /dev/null "http://127.0.0.1:$hport/primary"; then
		echo "== gsha-harness: rest-harness on $hport"
		for mode in close keep-alive; do
			saturate gsha-harness "$hport" /primary "$mode" "$hpid"
		done
	else
		b_log "rest-harness did not answer on $hport"
	fi
fi

t_start_etcd
for system in $SYSTEMS; do
	if ! b_cluster_up_retry "$system" "$t_tmpdir/$system" "rh-$system-$$"; then
		b_cluster_down
		continue
	fi
	leader=$(c_leader)
	replica=
	for n in "${B_NODES[@]}"; do
		[ "$n" != "$leader" ] && replica=$n && break
	done
	if [ -z "$leader" ] || ! b_wait 30 b_is_primary "$leader" || ! b_wait 30 b_is_replica "$replica"; then
		b_log "$system: no leader answering /primary and replica answering /replica"
		b_cluster_down
		continue
	fi
	echo "== $system: leader $leader, replica $replica"
	for mode in close keep-alive; do
		saturate "$system" "${C_API_PORT[$leader]}" /primary "$mode" "$(b_agent_pid "$leader")"
		saturate "$system" "${C_API_PORT[$replica]}" /replica "$mode" "$(b_agent_pid "$replica")"
	done
	if [ -n "$STATIC_URL" ]; then
		paced static "static-$system" "$(static_port)" "$(static_path)" $(static_pids)
	fi
	paced "$system" "$system" "${C_API_PORT[$leader]}" /primary "$(b_agent_pid "$leader")"
	switchover_under_load "$system"
	b_cluster_down
done

echo "== REST summary ($CONNS connections, ${SECONDS_RUN}s per wrk run; static = the reference run just before)"
awk '$1 == "sat" { printf "%-12s GET %-8s %-10s %9s req/s p50 %7s ms p99 %8s ms", $2, $3, $4, $5, $6, $7
		if (NF >= 9) printf " | static %9s req/s p99 %8s ms | throughput %.0f %% of static, p99 %s static", $8, $9, 100 * $5 / ($8 > 0 ? $8 : 1), ($7 <= $9 ? "<=" : ">")
		printf "\n" }' "$RES"
awk '$1 == "cpu" { printf "%-12s GET %-8s %-10s server CPU %s us/request (static server %s)\n", $2, $3, $4, $5, $6 }' "$RES"
awk -v r="$PACED_RATE" -v rt="${PACED_RT:-0}" '$1 == "paced" { printf "%-8s paced %s req/s GET %-8s p50 %s ms p99 %s ms max %s ms", $2, r, $3, $4, $5, $6
		if (NF >= 8) printf " | %s wake-ups, %s us CPU per request", $7, $8
		printf "%s\n", (rt == 1 ? " (PACED_RT=1: client and server at SCHED_FIFO)" : "") }' "$RES"
awk '$1 == "sw" { printf "%-8s during switchover: %s req/s p99 %s ms max %s ms (wrk on the old leader); max %s ms at 200 req/s on the candidate, %s ms on the old leader\n", $2, $5, $7, $9, $11, $12 }' "$RES"
g=$(awk '$1 == "sat" && $2 == "gsha" && $3 == "/primary" && $4 == "close" { print $5 }' "$RES")
p=$(awk '$1 == "sat" && $2 == "patroni" && $3 == "/primary" && $4 == "close" { print $5 }' "$RES")
if [ -n "$g" ] && [ -n "$p" ]; then
	echo "ratio gsha/patroni GET /primary throughput (close): $(b_ratio "$g" "$p")x"
fi
