#!/usr/bin/env bash
# Issue 17, monitoring: a real Prometheus (Debian's package, started here on a free loopback port
# with its own configuration and data directory) scrapes a live three-node cluster every second,
# and every check below asks Prometheus's HTTP API, not the agents.
#
#   - /metrics answers before the agent's first HA cycle has ended (an agent whose etcd stops
#     answering after its start-up check: gsha_loop_duration_seconds_count is 0 in what
#     Prometheus stored);
#   - promtool finds nothing to lint in gsha's own series (Patroni's names are the contract);
#   - every series family of /metrics is in Prometheus for all three nodes, with label values
#     escaped per the text format (the scope holds a quote and a backslash);
#   - Patroni's series say one primary and two streaming replicas; per-replica lag on the primary,
#     etcd request latency, the HA cycle histogram, process and build-info series are there;
#   - the counters follow what happens: a switchover, a replica's killed postmaster restarted in
#     place, POST /restart, a failover after the leader is lost, and a fence when the primary's
#     checkpointer is frozen while etcd is out (its immediate stop cannot finish in time);
#   - patroni_cluster_unlocked keeps Patroni 4.1's meaning (api.py get_postgresql_status:
#     "not cluster or cluster.is_unlocked()", where dcs.cluster is None once the last successful
#     read is older than ttl): 0 while a leader holds the key, 1 during an etcd outage longer
#     than ttl, 0 again when etcd is back.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

command -v prometheus >/dev/null || t_fail "prometheus is needed (scripts/install-deps)"
command -v promtool >/dev/null || t_fail "promtool is needed (Debian's prometheus package)"

t_start_etcd
# A scope with a quote and a backslash: label values must be escaped for the scrape to parse.
scope="pm\"q\\s$$"
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "$scope"
for n in node1 node2 node3; do
	c_config "$n"
done

# ---- an agent whose first HA cycle cannot end: it reaches etcd through a test proxy (a fake in
# front of the real etcd) that forwards requests until the first read of the cluster has been
# answered (the start-up check that the member name is free, before the REST API starts), then
# holds every later request unanswered, so the first cycle waits on etcd.
early_etcd=$(t_free_port)
python3 - "$early_etcd" "$ETCD_URL" "$C_DIR/early-proxy.log" <<'PY' &
import http.client, http.server, sys, threading, time, urllib.parse
port, target, logfile = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]
state = {"read_answered": False}
lock = threading.Lock()
def log(line):
    with open(logfile, "a") as f:
        f.write(line + "\n")
class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            hold = state["read_answered"]
        if hold:
            log("held " + self.path)
            time.sleep(900)
            return
        c = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        c.request("POST", self.path, body, {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        log("forwarded %s %d" % (self.path, r.status))
        if self.path == "/v3/kv/txn":
            with lock:
                state["read_answered"] = True
    do_GET = do_POST
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
PY
t_register_pid $!
early_api=$(t_free_port)
mkdir -p "$C_DIR/early"
chown postgres:postgres "$C_DIR/early"
chmod 700 "$C_DIR/early"
cat >"$C_DIR/early.yml" <<YAML
scope: early$$
name: early
restapi:
  listen: 127.0.0.1:$early_api
  connect_address: 127.0.0.1:$early_api
etcd3:
  hosts: 127.0.0.1:$early_etcd
bootstrap:
  dcs:
    ttl: 60
    loop_wait: 10
    retry_timeout: 20
postgresql:
  listen: 127.0.0.1:$(t_free_port)
  connect_address: 127.0.0.1:1
  data_dir: $C_DIR/early/data
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: $C_DIR/early/pgpass
  authentication:
    superuser: {username: postgres, password: postgres}
    replication: {username: replicator, password: rep-pass}
YAML
chown postgres:postgres "$C_DIR/early.yml"

# ---- Prometheus: scrapes the four agents every second
prom_port=$(t_free_port)
prom="http://127.0.0.1:$prom_port"
mkdir -p "$C_DIR/prometheus"
cat >"$C_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: gsha
    static_configs:
      - targets: ['127.0.0.1:${C_API_PORT[node1]}', '127.0.0.1:${C_API_PORT[node2]}',
                  '127.0.0.1:${C_API_PORT[node3]}', '127.0.0.1:$early_api']
YAML
promtool check config "$C_DIR/prometheus.yml" >"$C_DIR/promtool-config.out" 2>&1 ||
	t_fail "promtool refuses the test's configuration: $(cat "$C_DIR/promtool-config.out")"
prometheus --config.file="$C_DIR/prometheus.yml" --storage.tsdb.path="$C_DIR/prometheus" \
	--web.listen-address="127.0.0.1:$prom_port" >"$C_DIR/prometheus.log" 2>&1 &
t_register_pid $!
t_wait_for 60 "Prometheus on $prom" curl -sf "$prom/-/ready"

t_on_failure() {
	for n in node1 node2 node3 early; do
		echo "---- $n.log (tail)"
		tail -30 "$C_DIR/$n.log" 2>/dev/null
		[ "$n" = early ] && continue
		echo "---- $n's counters"
		curl -s -m 2 "http://127.0.0.1:${C_API_PORT[$n]}/metrics" 2>/dev/null |
			grep -E '^gsha_[a-z_]*_total|^patroni_cluster_unlocked' || true
	done
	echo "---- early-proxy.log"
	cat "$C_DIR/early-proxy.log" 2>/dev/null
	echo "---- prometheus.log (tail)"
	tail -20 "$C_DIR/prometheus.log" 2>/dev/null
}

# prom_query EXPR: prints the samples of an instant query, one "labels value" line each, sorted.
prom_query() {
	curl -s -m 5 --get "$prom/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
r = d["data"]["result"]
if d["data"]["resultType"] == "scalar":
    print(r[1])
else:
    for s in sorted(r, key=lambda s: json.dumps(s["metric"], sort_keys=True)):
        print(json.dumps(s["metric"], sort_keys=True), s["value"][1])'
}
# prom_value EXPR: the value of an expression that yields one sample ("" when none).
prom_value() { prom_query "$1" | awk 'END { if (NR == 1) print $NF }'; }
# prom_is EXPR WANT: Prometheus now says EXPR is WANT.
prom_is() { [ "$(prom_value "$1")" = "$2" ]; }
# The scope as a PromQL string: backslash and quote escaped.
sel="scope=\"pm\\\"q\\\\s$$\""

# ---- /metrics before the first HA cycle
c_start early
early_says() { curl -sf -m 2 "http://127.0.0.1:$early_api/metrics" >"$C_DIR/early.metrics"; }
t_wait_for 30 "the early agent's /metrics to answer" early_says
grep -qx 'gsha_loop_duration_seconds_count{scope="early'$$'",name="early"} 0' "$C_DIR/early.metrics" ||
	t_fail "early /metrics does not say that no HA cycle ended yet: $(grep loop_duration "$C_DIR/early.metrics")"
t_pass "GET /metrics answers 200 while the agent's first HA cycle is still waiting on etcd"
t_wait_for 30 "Prometheus to store the early agent's series" \
	prom_is "gsha_loop_duration_seconds_count{name=\"early\"}" 0
t_assert_eq 1 "$(prom_value "patroni_cluster_unlocked{name=\"early\"}")" \
	"before the loop's first view of etcd, patroni_cluster_unlocked is 1 (Patroni: no cluster)"
t_assert_eq 1 "$(prom_value "up{instance=\"127.0.0.1:$early_api\"}")" \
	"Prometheus scraped the early agent successfully (up 1) before its first cycle"
# Its part is done. SIGTERM would wait out the etcd read it is retrying (retry_timeout 20 s, the
# proxy holds it) and then c_kill's 30 s bound: SIGKILL ends it at once, nothing checks its exit.
c_kill early KILL

# ---- the cluster
c_start node1
t_wait_for 60 "node1 to lead" c_running node1 primary
c_start node2
c_start node3
t_wait_for 90 "node2 to stream" c_is node2 replica
t_wait_for 90 "node3 to stream" c_is node3 replica
c_psql node1 "create table t (v int); insert into t select generate_series(1, 1000)" >/dev/null

# ---- promtool: gsha's own series pass its lint; Patroni's names are kept as Patroni has them
for n in node1 node2 node3; do
	curl -sf -m 5 "http://127.0.0.1:${C_API_PORT[$n]}/metrics" >"$C_DIR/$n.metrics" ||
		t_fail "GET /metrics on $n failed"
	rc=0
	promtool check metrics <"$C_DIR/$n.metrics" >"$C_DIR/$n.lint" 2>&1 || rc=$?
	# promtool exits 1 on a parse error, 3 on lint problems only
	[ "$rc" = 0 ] || [ "$rc" = 3 ] || t_fail "promtool cannot parse $n's /metrics: $(cat "$C_DIR/$n.lint")"
	own=$(grep -v '^patroni_' "$C_DIR/$n.lint" || true)
	[ -z "$own" ] || t_fail "promtool lints gsha's own series on $n: $own"
done
t_log "promtool on Patroni's own names: $(cut -d' ' -f1 "$C_DIR/node1.lint" | sort -u | tr '\n' ' ')"
t_pass "promtool check metrics parses every node's /metrics and lints nothing of gsha's own"

# ---- every family of /metrics is in Prometheus for the three nodes
families=$(sed -n 's/^# TYPE \([a-zA-Z_:][a-zA-Z0-9_:]*\) \(.*\)$/\1 \2/p' "$C_DIR/node1.metrics")
[ "$(wc -l <<<"$families")" -ge 40 ] || t_fail "only $(wc -l <<<"$families") families in /metrics"
all_scraped() {
	local f type q
	while read -r f type; do
		q=$f
		[ "$type" = histogram ] && q=${f}_count
		case "$f" in gsha_replica_lag_bytes) continue ;; esac # the primary's alone, below
		[ "$(prom_value "count($q{$sel})")" = 3 ] || { echo "$f" >"$C_DIR/missing"; return 1; }
	done <<<"$families"
}
t_wait_for 30 "Prometheus to hold every family for 3 nodes (last missing: $(cat "$C_DIR/missing" 2>/dev/null))" all_scraped
t_pass "Prometheus holds all $(wc -l <<<"$families") series families for all three nodes, scope label escaped"

# ---- Patroni's series
t_assert_eq 1 "$(prom_value "sum(patroni_primary{$sel})")" "patroni_primary: one primary"
t_assert_eq 2 "$(prom_value "sum(patroni_replica{$sel})")" "patroni_replica: two replicas"
t_assert_eq 2 "$(prom_value "sum(patroni_postgres_streaming{$sel})")" \
	"patroni_postgres_streaming: both replicas stream"
t_assert_eq 3 "$(prom_value "sum(patroni_postgres_running{$sel})")" "patroni_postgres_running: 3"
t_assert_eq 0 "$(prom_value "sum(patroni_cluster_unlocked{$sel})")" \
	"patroni_cluster_unlocked: 0 on every node while node1 holds the key"
t_assert_eq 1 "$(prom_value "count(patroni_xlog_location{$sel,name=\"node1\"} > 0)")" \
	"patroni_xlog_location: the primary's WAL position"
t_assert_eq 3 "$(prom_value "count(patroni_postgres_server_version{$sel} >= 150000)")" \
	"patroni_postgres_server_version: 15 everywhere"
t_assert_eq 3 "$(prom_value "count(patroni_postgres_state{$sel} == 5)")" \
	"patroni_postgres_state: running (5) everywhere"

# ---- gsha's own
t_assert_eq 3 "$(prom_value "sum(gsha_build_info{$sel})")" "gsha_build_info: 1 per node"
t_assert_eq 3 "$(prom_value "count(process_resident_memory_bytes{$sel} > 1000000)")" \
	"process_resident_memory_bytes: above 1 MB"
t_assert_eq 3 "$(prom_value "count(process_open_fds{$sel} > 3 and process_open_fds{$sel} < process_max_fds{$sel})")" \
	"process_open_fds: between 3 and process_max_fds"
now=$(date +%s)
t_assert_eq 3 "$(prom_value "count(process_start_time_seconds{$sel} > $((now - 600)) and process_start_time_seconds{$sel} <= $now)")" \
	"process_start_time_seconds: within the last ten minutes"
t_assert_eq 3 "$(prom_value "count(process_cpu_seconds_total{$sel} > 0)")" \
	"process_cpu_seconds_total: above 0"
lag_series() { [ "$(prom_value "count(gsha_replica_lag_bytes{$sel,name=\"node1\"} >= 0)")" = 6 ]; }
t_wait_for 20 "6 lag series on node1" lag_series
t_assert_eq "node2 node3" "$(prom_query "gsha_replica_lag_bytes{$sel,stage=\"replay\"}" |
	sed -n 's/.*"replica": "\([^"]*\)".*/\1/p' | tr '\n' ' ' | sed 's/ $//')" \
	"gsha_replica_lag_bytes: write, flush and replay for node2 and node3, on the primary only"
t_assert_eq 3 "$(prom_value "count(gsha_dcs_request_duration_seconds_count{$sel} > 5)")" \
	"gsha_dcs_request_duration_seconds: every node timed its etcd requests"
t_assert_eq 3 "$(prom_value "count(gsha_dcs_request_duration_seconds_bucket{$sel,le=\"+Inf\"} == on(name) gsha_dcs_request_duration_seconds_count{$sel})")" \
	"gsha_dcs_request_duration_seconds: the +Inf bucket equals the count"
t_assert_eq 3 "$(prom_value "count(gsha_loop_duration_seconds_count{$sel} > 3)")" \
	"gsha_loop_duration_seconds: a histogram of the HA cycles"
t_assert_eq 0 "$(prom_value "sum(gsha_failovers_total{$sel}) + sum(gsha_switchovers_total{$sel}) + sum(gsha_fences_total{$sel})")" \
	"no failover, switchover or fence counted after a bootstrap"

# ---- switchover node1 -> node2
code=$(curl -s -o "$C_DIR/switchover.out" -w '%{http_code}' -m 60 -X POST \
	-d '{"leader":"node1","candidate":"node2"}' "http://127.0.0.1:${C_API_PORT[node1]}/switchover")
t_assert_eq 200 "$code" "POST /switchover node1 -> node2 ($(cat "$C_DIR/switchover.out"))"
t_wait_for 30 "Prometheus to count the switchover on node2" \
	prom_is "gsha_switchovers_total{$sel,name=\"node2\"}" 1
t_pass "gsha_switchovers_total: 1 on node2, which took over"
t_assert_eq 0 "$(prom_value "sum(gsha_failovers_total{$sel})")" "a switchover is not a failover"
t_wait_for 60 "node1 to stream from node2" c_is node1 replica

# ---- a replica's postmaster killed: restarted in place; POST /restart
c_kill_db node3
t_wait_for 60 "node3 to run again" c_is node3 replica
t_wait_for 30 "Prometheus to count node3's restart" \
	prom_is "gsha_postgres_restarts_total{$sel,name=\"node3\"}" 1
t_pass "gsha_postgres_restarts_total: a replica's killed postmaster started again in place"
t_assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -m 60 -X POST "http://127.0.0.1:${C_API_PORT[node1]}/restart")" \
	"POST /restart on node1"
t_wait_for 30 "Prometheus to count node1's restart" \
	prom_is "gsha_postgres_restarts_total{$sel,name=\"node1\"}" 1
t_pass "gsha_postgres_restarts_total: POST /restart counted on node1"

# ---- failover: node2 (the leader) is lost
t_wait_for 60 "node1 to stream" c_is node1 replica
t_wait_for 60 "node3 to stream" c_is node3 replica
db_pid=$(c_postmaster_pid node2)
c_kill node2 KILL
kill -KILL "$db_pid" 2>/dev/null || true
new_leader=
took_over() { new_leader=$(c_leader); [ -n "$new_leader" ] && [ "$new_leader" != node2 ]; }
t_wait_for 60 "a replica to take over from node2" took_over
t_wait_for 30 "Prometheus to count the failover on $new_leader" \
	prom_is "gsha_failovers_total{$sel,name=\"$new_leader\"}" 1
t_pass "gsha_failovers_total: 1 on $new_leader, which took over from the lost leader"
t_assert_eq 0 "$(prom_value "gsha_switchovers_total{$sel,name=\"$new_leader\"}")" \
	"the failover is not counted as a switchover on $new_leader"
c_start node2
t_wait_for 90 "node2 to rejoin as a replica" c_is node2 replica

# ---- etcd out for longer than ttl while the primary's checkpointer is frozen: the primary
# demotes, its immediate stop cannot finish within retry_timeout (PostgreSQL waits for the frozen
# child), so the agent fences it; patroni_cluster_unlocked is 1 on every node (no view of the
# cluster), and 0 again once etcd is back and a leader holds the key.
t_wait_for 30 "every node to say locked again" prom_is "sum(patroni_cluster_unlocked{$sel})" 0
pm=$(c_postmaster_pid "$new_leader")
frozen=$(ps -o pid=,args= --ppid "$pm" | awk '/checkpointer/ { print $1 }')
[ -n "$frozen" ] || t_fail "no checkpointer under $new_leader's postmaster $pm"
errors0=$(prom_value "sum(gsha_dcs_request_errors_total{$sel})")
kill -STOP "$frozen" "$ETCD_PID"
unfreeze() { kill -CONT "$ETCD_PID" "$frozen" 2>/dev/null || true; }
T_CLEANUP_HOOKS=(unfreeze "${T_CLEANUP_HOOKS[@]}")
t_wait_for 60 "Prometheus to see patroni_cluster_unlocked 1 on all three nodes" \
	prom_is "sum(patroni_cluster_unlocked{$sel})" 3
t_pass "patroni_cluster_unlocked: 1 everywhere once the view is older than ttl (Patroni's meaning)"
t_wait_for 90 "Prometheus to count the fence on $new_leader" \
	prom_is "gsha_fences_total{$sel,name=\"$new_leader\"}" 1
t_pass "gsha_fences_total: $new_leader killed its server when the immediate stop did not finish"
errors_grew() { [ "$(prom_value "sum(gsha_dcs_request_errors_total{$sel}) > $errors0")" != "" ]; }
t_wait_for 30 "the etcd error counters to grow" errors_grew
t_pass "gsha_dcs_request_errors_total: grew during the outage"
kill -CONT "$ETCD_PID"
kill -CONT "$frozen" 2>/dev/null || true
led() { [ -n "$(c_leader)" ]; }
t_wait_for 90 "a leader after etcd is back" led
t_wait_for 60 "patroni_cluster_unlocked 0 everywhere again" \
	prom_is "sum(patroni_cluster_unlocked{$sel})" 0
t_pass "patroni_cluster_unlocked: 0 on every node again once a leader holds the key"
t_done
