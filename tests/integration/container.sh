#!/usr/bin/env bash
# Issue 17: the container image, built from docker/Dockerfile with podman (no Docker engine runs
# here), run as the Kubernetes manifest runs it: etcd and three gsha containers on a network of
# their own where gsha-N.gsha resolves as in the StatefulSet's headless Service, HAProxy with
# docker/haproxy.cfg, and a client container the checks run in. Checks: the image (user, no
# compiler, tini as PID 1, PostgreSQL's log on the container's output), bootstrap, writes through
# HAProxy, gsctl inside a container from its environment alone, a killed postmaster restarted in
# place (and reaped), PGDATA's mode set back to 0700 at start, `podman kill` of the primary ->
# failover, `podman stop` with the manifest's grace period -> a replica leads, nothing written is
# lost, the old primary exits cleanly in time, also with etcd unreachable; the manifest's preStop
# hook (run as the kubelet would, then SIGTERM) switches over to a replica before the stop.
# Cold (no cached image) it takes about 15 minutes more for debootstrap, the minimal libraries'
# build (scripts/build-minimal-deps) and the image builds.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/container.sh"

for tool in podman debootstrap python3; do
	command -v "$tool" >/dev/null || t_fail "$tool is missing: run scripts/install-deps"
done
manifest=$GSHA_SOURCE_DIR/docker/k8s/gsha.yaml
CT_UID=$(awk '/runAsUser:/{print $2; exit}' "$manifest")
fs_group=$(awk '/fsGroup:/{print $2; exit}' "$manifest")
grace=$(awk '/terminationGracePeriodSeconds:/{print $2; exit}' "$manifest")
[ -n "$CT_UID" ] && [ -n "$fs_group" ] && [ -n "$grace" ] ||
	t_fail "docker/k8s/gsha.yaml lacks runAsUser, fsGroup or terminationGracePeriodSeconds"

t_on_failure() {
	local c
	for c in "${CT_CONTAINERS[@]}"; do
		echo "---- podman logs $c (tail)"
		ct_podman logs --tail 25 "$c" 2>&1
	done
	[ -f "$t_tmpdir/build.log" ] && { echo "---- build.log (tail)"; tail -15 "$t_tmpdir/build.log"; }
}

# Two checkouts running this test at once would race for the image tags: one at a time.
exec 9>/tmp/gsha-container-test.lock
flock -w 900 9 || t_fail "another container test held /tmp/gsha-container-test.lock for 15 min"

t0=$SECONDS
ct_images
t_pass "images built from docker/Dockerfile with podman in $((SECONDS - t0)) s"

# ---- the image ------------------------------------------------------------------------------
user=$(ct_podman image inspect --format '{{.Config.User}}' "$CT_IMAGE")
t_assert_eq "$CT_UID:$CT_UID" "$user" "the image's USER is numeric and is the manifest's runAsUser"
[ "$fs_group" = "$CT_UID" ] || t_fail "the manifest's fsGroup $fs_group is not the image's gid $CT_UID"
found=$(ct_podman run --rm "${CT_LIMITS[@]}" --entrypoint /bin/sh "$CT_IMAGE" -c \
	'for c in cc gcc clang c99 cpp ld make; do command -v $c; done; ls /usr/include 2>/dev/null | head -3' || true)
t_assert_eq "" "$found" "the runtime image has no compiler, linker or headers"
# The image's agent is the minimal build (scripts/build-minimal-deps): libcurl, libpq,
# libmicrohttpd, cJSON and libyaml linked statically, and their TLS builds present for dlopen,
# with every library they need in the image.
ldd_out=$(ct_podman run --rm "${CT_LIMITS[@]}" --entrypoint /bin/sh "$CT_IMAGE" -c \
	'ldd /usr/local/bin/gsha /usr/local/bin/gsctl; echo ----; ls /opt/gsha-deps/lib/gsha-tls;
	 echo ----; ldd /opt/gsha-deps/lib/gsha-tls/*' 2>&1) || t_fail "ldd in the image failed: $ldd_out"
linked=$(printf '%s\n' "$ldd_out" | sed '/^----/,$d' | grep -oE 'lib(curl|pq|microhttpd|cjson|yaml)[^ ]*' || true)
t_assert_eq "" "$linked" "gsha and gsctl in the image link none of the five libraries as shared objects"
tls=$(printf '%s\n' "$ldd_out" | sed -n '/^----/,/^----/p' | grep -v '^----' | sort | tr '\n' ' ')
t_assert_eq "libcurl.so.4 libmicrohttpd.so.12 libpq.so.5 " "$tls" "the TLS builds are in the image"
missing=$(printf '%s\n' "$ldd_out" | grep 'not found' || true)
t_assert_eq "" "$missing" "every library the TLS builds need is in the image"

# ---- the cluster ----------------------------------------------------------------------------
ct_net_create
ct_run etcd etcd "$CT_TOOLS" etcd --name e0 --data-dir /tmp/etcd \
	--listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://etcd:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster e0=http://127.0.0.1:2380
ct_run client client "$CT_TOOLS" sleep infinity
t_wait_for 30 "etcd to answer" ct_exec etcd etcdctl --endpoints=http://127.0.0.1:2379 endpoint health
# etcd by address: podman's DNS server (aardvark-dns) sometimes took over 500 ms to answer while
# containers came and went, longer than the agent's and gsctl's connect timeout (half an etcd
# attempt) allows. The members and HAProxy still find each other by the StatefulSet's names.
CT_ETCD_HOSTS=$(ct_ip etcd):2379
for n in 0 1 2; do ct_gsha "$n"; done
# docker/haproxy.cfg's maxconn 1000 needs about 2,050 descriptors; HAProxy refuses to start in 1024.
CT_NOFILE=4096 ct_run haproxy haproxy -v "$GSHA_SOURCE_DIR/docker/haproxy.cfg:/etc/haproxy/haproxy.cfg:ro,Z" \
	"$CT_TOOLS" haproxy -W -db -f /etc/haproxy/haproxy.cfg

# Member N runs as a replica that streams from the primary (GET /patroni: role, state and
# replication_state, as Patroni 3 shows them).
member_streams() {
	local r
	r=$(ct_member_json "$1") && [ "$(echo "$r" | ct_field role)" = replica ] &&
		[ "$(echo "$r" | ct_field state)" = running ] &&
		[ "$(echo "$r" | ct_field replication_state)" = streaming ]
}
members_running() {
	local n r leaders=0 replicas=0
	for n in 0 1 2; do
		r=$(ct_member_json "$n") || return 1
		case "$(echo "$r" | ct_field role)/$(echo "$r" | ct_field state)" in
		primary/running | master/running) leaders=$((leaders + 1)) ;;
		replica/running) replicas=$((replicas + 1)) ;;
		*) return 1 ;;
		esac
	done
	[ "$leaders" = 1 ] && [ "$replicas" = 2 ]
}
t0=$SECONDS
t_wait_for 120 "one primary and two running replicas" members_running
leader=$(ct_leader)
t_pass "bootstrap: $leader leads, two replicas run ($((SECONDS - t0)) s from start)"

[ "$(ct_exec gsha-0 cat /proc/1/comm)" = tini ] || t_fail "PID 1 of gsha-0 is not tini"
t_pass "tini is PID 1, gsha its child"
# For the record, not a check (tests/bench/footprint.sh measures memory beside Patroni): each
# agent's resident memory in its container, seconds after the bootstrap.
rss_line=
for n in gsha-0 gsha-1 gsha-2; do
	kb=$(ct_exec "$n" sh -c 'for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = gsha ] && sed -n "s/^VmRSS:[[:space:]]*//p" "$p/status"; done' || true)
	rss_line+=" $n ${kb:-?}"
done
t_log "agents' VmRSS after the bootstrap:$rss_line"
t_wait_for 20 "PostgreSQL's own log lines on the container's output" \
	bash -c "podman logs $CT_ID-$leader 2>&1 | grep 'LOG:  database system is ready to accept connections' >/dev/null"
if ct_exec "$leader" grep -q 'ready to accept connections' /home/postgres/pgdata/data/postmaster.log; then
	t_fail "PostgreSQL still logs into PGDATA/postmaster.log"
fi
t_pass "PostgreSQL logs to the container's output (podman logs), not into PGDATA"

# ---- writes through HAProxy ------------------------------------------------------------------
t_wait_for 30 "HAProxy to route writes to the primary" ct_psql haproxy 5000 -c 'select 1'
ct_psql haproxy 5000 -c 'create table t (id int primary key, at text)' >/dev/null
ct_psql haproxy 5000 -c "insert into t values (1, 'bootstrap')" >/dev/null
t_assert_eq f "$(ct_psql haproxy 5000 -c 'select pg_is_in_recovery()')" \
	"HAProxy port 5000 reaches the primary; a row was written through it"
replica_has() {
	[ "$(ct_psql haproxy 5001 -c "select pg_is_in_recovery() || ':' || count(*) from t where id = $1")" = "true:1" ]
}
t_wait_for 30 "row 1 on a replica through HAProxy port 5001" replica_has 1
t_pass "HAProxy port 5001 reaches a replica, which has the row"

# ---- gsctl from the container's environment alone ---------------------------------------------
rc=0
out=$(ct_exec gsha-1 gsctl list -f json 2>&1) || rc=$?
[ "$rc" = 0 ] || t_fail "gsctl list in gsha-1 exited $rc: $out"
t_assert_eq 3 "$(echo "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	"gsctl list inside a container, from PATRONI_* alone, lists the three members"

# ---- a killed postmaster is restarted in place and reaped ----------------------------------
victim=gsha-2
[ "$leader" = gsha-2 ] && victim=gsha-1
pm=$(ct_exec "$victim" head -1 /home/postgres/pgdata/data/postmaster.pid)
started=$(ct_podman inspect --format '{{.State.StartedAt}}' "$CT_ID-$victim")
ct_exec "$victim" sh -c "kill -KILL $pm"
t0=$SECONDS
new_postmaster() {
	local p
	p=$(ct_exec "$victim" head -1 /home/postgres/pgdata/data/postmaster.pid) &&
		[ -n "$p" ] && [ "$p" != "$pm" ] && ct_exec "$victim" sh -c "kill -0 $p" &&
		member_streams "${victim#gsha-}"
}
t_wait_for 60 "$victim's postmaster to be started again" new_postmaster
[ "$(ct_podman inspect --format '{{.State.StartedAt}}' "$CT_ID-$victim")" = "$started" ] ||
	t_fail "$victim's container was restarted instead"
zombies=$(ct_procs "$victim" | awk '$2 == "Z"')
t_assert_eq "" "$zombies" "a killed postmaster is restarted in place in $((SECONDS - t0)) s, streaming again, and no zombie is left"

# ---- PGDATA's mode, as a volume with fsGroup leaves it, is set back at start ----------------
ct_podman stop -t "$grace" "$CT_ID-$victim" >/dev/null
vol=$(ct_podman volume inspect --format '{{.Mountpoint}}' "$CT_ID-pgdata-${victim#gsha-}")
chmod 2770 "$vol/data"
ct_podman start "$CT_ID-$victim" >/dev/null
t_wait_for 60 "$victim to stream again after its restart" member_streams "${victim#gsha-}"
t_assert_eq 700 "$(stat -c %a "$vol/data")" "a group-writable PGDATA is set back to 0700 at start (the entrypoint says so)"
# grep -q would end the pipe early, and pipefail would take podman's SIGPIPE for a failure.
ct_podman logs "$CT_ID-$victim" >"$t_tmpdir/victim.log" 2>&1 || true
grep -q 'had mode 2770; set it to 0700' "$t_tmpdir/victim.log" ||
	t_fail "the entrypoint did not report the mode it fixed"

# ---- podman kill of the primary: failover ---------------------------------------------------
# After a change of leader: $leader names the new one, a write through HAProxy reaches it, and
# the rows IDS written before are all there.
writes_reach_new_leader() {
	local row=$1 ids=$2 want t_start=$SECONDS
	# 60 s: HAProxy finds a restarted member's new address through podman's DNS server, and
	# aardvark-dns 1.4 has stopped answering for 20-40 s after a container restart (its
	# sockets dropped on each reload), so HAProxy kept the stale address that long; a
	# cluster DNS (CoreDNS) does not. The time taken is logged.
	local deadline=$((SECONDS + 60)) err=""
	leader=$(ct_leader)
	# An insert whose commit went through but whose answer was lost is not repeated as a
	# duplicate key: the row counts once it is there.
	until err=$(ct_psql haproxy 5000 -c "insert into t values ($row, 'after') on conflict (id) do nothing" 2>&1); do
		[ "$SECONDS" -lt "$deadline" ] ||
			t_fail "timed out after 60s waiting for writes through HAProxy on the new primary $leader (leader now: $(ct_leader); last error: $err)"
		sleep 0.5
	done
	t_log "a write through HAProxy reached $leader $((SECONDS - t_start)) s after it led"
	want=$(echo "$ids" | tr ',' '\n' | wc -l)
	[ "$(ct_psql haproxy 5000 -c "select count(*) from t where id in ($ids)")" = "$want" ] ||
		t_fail "rows $ids are not all on $leader"
}
ct_psql haproxy 5000 -c "insert into t values (2, 'before kill')" >/dev/null
old=$leader
t0=$SECONDS
ct_podman kill "$CT_ID-$old" >/dev/null
new_leader() { local l; l=$(ct_leader) && [ -n "$l" ] && [ "$l" != "$old" ]; }
t_wait_for 60 "a new leader after podman kill of $old" new_leader
writes_reach_new_leader 3 1,2
t_pass "podman kill of primary $old: $leader leads after $((SECONDS - t0)) s, writes go through HAProxy, nothing acknowledged is lost"
ct_podman start "$CT_ID-$old" >/dev/null
t_wait_for 90 "$old to rejoin as a replica" member_streams "${old#gsha-}"
t_pass "$old, started again, rejoins as a streaming replica"

# ---- podman stop of the primary with the manifest's grace period -----------------------------
ct_psql haproxy 5000 -c "insert into t values (4, 'before stop')" >/dev/null
old=$leader
t0=$(date +%s%N)
ct_podman stop -t "$grace" "$CT_ID-$old" >/dev/null
stop_ms=$((($(date +%s%N) - t0) / 1000000))
code=$(ct_podman inspect --format '{{.State.ExitCode}}' "$CT_ID-$old")
[ "$code" = 0 ] || t_fail "podman stop -t $grace of primary $old: it exited $code (137: SIGKILL came first)"
t_wait_for 10 "a new leader after podman stop of $old" new_leader
lead_ms=$((($(date +%s%N) - t0) / 1000000))
writes_reach_new_leader 5 1,2,4
t_pass "podman stop -t $grace of primary $old: exit 0 after $stop_ms ms, $leader leads $lead_ms ms after the stop began, nothing lost"
ct_podman start "$CT_ID-$old" >/dev/null
t_wait_for 90 "$old to rejoin as a replica" member_streams "${old#gsha-}"

# ---- the manifest's preStop hook, then SIGTERM, as the kubelet runs them --------------------
ct_psql haproxy 5000 -c "insert into t values (6, 'before prestop')" >/dev/null
old=$leader
t0=$(date +%s%N)
ct_exec "$old" gsha-prestop
prestop_ms=$((($(date +%s%N) - t0) / 1000000))
leader=$(ct_leader)
[ -n "$leader" ] && [ "$leader" != "$old" ] ||
	t_fail "after the preStop hook ($prestop_ms ms), the leader is \"$leader\", not a replica"
hook_logged() { ct_podman logs "$CT_ID-$old" 2>&1 | grep 'gsha-prestop: switched over' >/dev/null; }
t_wait_for 5 "the preStop hook's lines on the container's output" hook_logged
t_wait_for 30 "$old to run as a streaming replica before SIGTERM" member_streams "${old#gsha-}"
left=$((grace - ($(date +%s%N) - t0) / 1000000000))
ct_podman stop -t "$left" "$CT_ID-$old" >/dev/null
code=$(ct_podman inspect --format '{{.State.ExitCode}}' "$CT_ID-$old")
[ "$code" = 0 ] || t_fail "podman stop of $old after its preStop hook: exit $code"
writes_reach_new_leader 7 1,2,4,5,6
t_pass "preStop hook on primary $old: switched over to $leader in $prestop_ms ms, before SIGTERM; then exit 0, nothing lost"
ct_podman start "$CT_ID-$old" >/dev/null
t_wait_for 90 "$old to rejoin as a replica" member_streams "${old#gsha-}"

# ---- with etcd unreachable, gsha must still exit within the grace period -------------------
# With the image's own timing (docker/gsha.yml: ttl 30, loop_wait 10, retry_timeout 10, which
# the manifest's pods run with), since the etcd calls' bounds follow retry_timeout.
# The REST credentials the pods get (the manifest's gsha-restapi Secret) are enforced:
code=$(ct_exec client curl -s -o /dev/null -w '%{http_code}' -m 5 -X PATCH -d '{"ttl": 30}' \
	"http://$leader.gsha:8008/config" || true)
t_assert_eq 401 "$code" "PATCH /config without the REST credentials of the pods' Secret is refused"
ct_exec client curl -s -m 5 -u gsha:rest-secret -X PATCH -d '{"ttl": 30, "loop_wait": 10, "retry_timeout": 10}' \
	"http://$leader.gsha:8008/config" >/dev/null
config_applied() {
	ct_exec client curl -s -m 2 "http://$leader.gsha:8008/config" | grep '"retry_timeout": *10' >/dev/null
}
t_wait_for 10 "the timing change in the cluster's configuration" config_applied
sleep 3 # members read the configuration at their next cycle: loop_wait was 2 s
old=$leader
ct_podman pause "$CT_ID-etcd" >/dev/null
t0=$(date +%s%N)
ct_podman stop -t "$grace" "$CT_ID-$old" >/dev/null
stop_ms=$((($(date +%s%N) - t0) / 1000000))
ct_podman unpause "$CT_ID-etcd" >/dev/null
code=$(ct_podman inspect --format '{{.State.ExitCode}}' "$CT_ID-$old")
[ "$code" = 0 ] || t_fail "podman stop -t $grace of primary $old with etcd paused: exit $code after $stop_ms ms (137: SIGKILL came first)"
t_pass "podman stop -t $grace of primary $old with etcd unreachable: exit 0 after $stop_ms ms"

t_done
