#!/usr/bin/env bash
# The fault scenarios of run.sh. Each is one function called with a phase:
#   setup   before the cluster is built: sets SC_EXPECT (no|may|yes: must the leader key move?)
#           and F_FAILSAFE
#   ready   after the cluster is up and the writer runs: waits for the scenario's precondition
#   inject  the fault, on SC_PRIMARY (the primary when the fault lands)
#   hold    how long it lasts
#   heal    undo it (restart what was killed, remove the rules)
# RANDOM is seeded per scenario, so every choice below replays from the seed.
SC_ALL=(node-loss etcd-cut isolate postmaster-kill primary-freeze replica-freeze etcd-leader-kill
	quorum-loss quorum-loss-failsafe etcd-latency asym-partition flapping disk-full
	switchover-node-loss etcd-disk-slow clock-step)

sc_list() {
	cat <<'LIST'
node-loss             kill -9 the primary's agent, postmaster and backends; restart after 3 x ttl
etcd-cut              drop the primary's packets to and from the three etcd members for 3 x ttl
isolate               drop every packet of the primary's interface for 3 x ttl
postmaster-kill       kill -9 the primary's postmaster (the agent stays); no failover expected
primary-freeze        SIGSTOP the primary's agent for 2 x ttl, then SIGCONT
replica-freeze        SIGSTOP a replica's agent for 2 x ttl; no failover expected
etcd-leader-kill      kill -9 the etcd leader, restart it after 2 x ttl; no failover expected
quorum-loss           kill -9 two etcd members (the leader among them) for 2 x ttl
quorum-loss-failsafe  the same with failsafe_mode on; no failover expected
etcd-latency          +300 ms on every packet between the primary and etcd (an NFQUEUE delayer)
                      for 3 x ttl; no failover expected
asym-partition        the primary reaches etcd and the client but not the replicas, 3 x ttl;
                      no failover expected
flapping              the primary's interface down 1 s, up 1 s, for 3 x ttl
disk-full             fill the primary's data file system (a tmpfs) for 2 x ttl
switchover-node-loss  ask for a switchover to a replica, kill -9 that replica 0-1 s later
etcd-disk-slow        every etcd member's disk (ext4 on a loop device) throttled to 50 write
                      IOPS for 3 x ttl; no failover expected
clock-step            the primary's wall clock (agent and PostgreSQL, through clock-shift.so)
                      stepped forward (+1 h or +5 x ttl) for 2 x ttl, then back to as far behind
                      true time for 2 x ttl, then true again; no failover expected
LIST
}

sc_ms() { awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'; } # ms -> seconds for sleep
sc_ipt() { nsenter --net="/run/netns/$(f_ns "$SC_PRIMARY")" iptables "$@"; }
sc_flush() { sc_ipt -F INPUT; sc_ipt -F OUTPUT; }

sc_node_loss() {
	case $1 in
	setup) SC_EXPECT=yes ;;
	inject) f_kill_node "$SC_PRIMARY" ;;
	hold) sleep $((3 * F_TTL)) ;;
	heal) f_start_node "$SC_PRIMARY" ;;
	esac
}

sc_etcd_cut() {
	local e
	case $1 in
	setup) SC_EXPECT=yes ;;
	inject)
		for e in "${F_ETCDS[@]}"; do
			sc_ipt -A OUTPUT -d "$(f_ip "$e")" -j DROP
			sc_ipt -A INPUT -s "$(f_ip "$e")" -j DROP
		done
		;;
	hold) sleep $((3 * F_TTL)) ;;
	heal) sc_flush ;;
	esac
}

sc_isolate() {
	case $1 in
	setup) SC_EXPECT=yes ;;
	inject)
		sc_ipt -A OUTPUT -o eth0 -j DROP
		sc_ipt -A INPUT -i eth0 -j DROP
		;;
	hold) sleep $((3 * F_TTL)) ;;
	heal) sc_flush ;;
	esac
}

sc_postmaster_kill() {
	local pm
	case $1 in
	setup) SC_EXPECT=no ;;
	inject)
		pm=$(f_postmaster_pid "$SC_PRIMARY")
		[ -n "$pm" ] && kill -KILL "$pm"
		;;
	hold) sleep $((2 * F_TTL)) ;;
	heal) ;;
	esac
}

SC_FROZEN= SC_FROZEN_PARENT=
# runuser, the agent's parent, stops itself when its child stops (util-linux su) and stays
# stopped: the thaw continues it too, or it could not reap the agent at the teardown.
sc_freeze() { # NODE
	SC_FROZEN=$(f_agent_pid "$1")
	SC_FROZEN_PARENT=${F_PID[$1]:-}
	[ -n "$SC_FROZEN" ] && kill -STOP "$SC_FROZEN"
	echo "froze $1's agent (pid $SC_FROZEN)"
}
sc_thaw() {
	[ -n "$SC_FROZEN" ] && kill -CONT "$SC_FROZEN"
	[ -n "${SC_FROZEN_PARENT:-}" ] && kill -CONT "$SC_FROZEN_PARENT" 2>/dev/null
	SC_FROZEN= SC_FROZEN_PARENT=
}

sc_primary_freeze() {
	case $1 in
	setup) SC_EXPECT=yes ;;
	inject) sc_freeze "$SC_PRIMARY" ;;
	hold) sleep $((2 * F_TTL)) ;;
	heal) sc_thaw ;;
	esac
}

sc_replica_freeze() {
	local n
	case $1 in
	setup) SC_EXPECT=no ;;
	inject)
		for n in "${F_NODES[@]}"; do
			[ "$n" != "$SC_PRIMARY" ] && break
		done
		sc_freeze "$n"
		;;
	hold) sleep $((2 * F_TTL)) ;;
	heal) sc_thaw ;;
	esac
}

SC_KILLED_ETCD=()
sc_etcd_leader_kill() {
	local e
	case $1 in
	setup) SC_EXPECT=no ;;
	inject)
		SC_KILLED_ETCD=("$(f_etcd_leader)")
		echo "killing etcd leader ${SC_KILLED_ETCD[*]}"
		f_kill_etcd "${SC_KILLED_ETCD[0]}"
		;;
	hold) sleep $((2 * F_TTL)) ;;
	heal) for e in "${SC_KILLED_ETCD[@]}"; do f_start_etcd "$e"; done ;;
	esac
}

sc_quorum_loss() {
	local e leader other
	case $1 in
	setup) SC_EXPECT=may ;;
	inject)
		leader=$(f_etcd_leader)
		[ -n "$leader" ] || leader=e1
		for e in "${F_ETCDS[@]}"; do
			[ "$e" != "$leader" ] && other=$e && [ $((RANDOM % 2)) = 0 ] && break
		done
		SC_KILLED_ETCD=("$leader" "$other")
		echo "killing etcd members ${SC_KILLED_ETCD[*]}"
		for e in "${SC_KILLED_ETCD[@]}"; do f_kill_etcd "$e"; done
		;;
	hold) sleep $((2 * F_TTL)) ;;
	heal) for e in "${SC_KILLED_ETCD[@]}"; do f_start_etcd "$e"; done ;;
	esac
}

# Failsafe protects only once the leader has published the members that may acknowledge it.
sc_failsafe_lists_all() {
	local v
	v=$(f_etcdctl get --print-value-only "/service/$C_SCOPE/failsafe" 2>/dev/null)
	[[ "$v" == *'"node1"'* && "$v" == *'"node2"'* && "$v" == *'"node3"'* ]]
}

sc_quorum_loss_failsafe() {
	case $1 in
	setup) SC_EXPECT=no F_FAILSAFE=1 ;;
	ready) f_wait 30 sc_failsafe_lists_all ;;
	*) sc_quorum_loss "$1" ;;
	esac
}

SC_DELAYER=
sc_etcd_latency() {
	local e
	case $1 in
	setup) SC_EXPECT=no ;;
	inject)
		nsenter --net="/run/netns/$(f_ns "$SC_PRIMARY")" "$GSHA_BUILD_DIR/tests/faults/nfq-delay" 7 150 &
		SC_DELAYER=$!
		F_EXTRA_PIDS+=("$SC_DELAYER")
		sleep 0.5
		# 150 ms each way: +300 ms on every round trip to etcd.
		for e in "${F_ETCDS[@]}"; do
			sc_ipt -A OUTPUT -d "$(f_ip "$e")" -j NFQUEUE --queue-num 7
			sc_ipt -A INPUT -s "$(f_ip "$e")" -j NFQUEUE --queue-num 7
		done
		;;
	hold) sleep $((3 * F_TTL)) ;;
	heal)
		sc_flush
		f_stop_pid "$SC_DELAYER"
		;;
	esac
}

sc_asym_partition() {
	local n
	case $1 in
	setup) SC_EXPECT=no ;;
	inject)
		for n in "${F_NODES[@]}"; do
			[ "$n" = "$SC_PRIMARY" ] && continue
			sc_ipt -A OUTPUT -d "$(f_ip "$n")" -j DROP
			sc_ipt -A INPUT -s "$(f_ip "$n")" -j DROP
		done
		;;
	hold) sleep $((3 * F_TTL)) ;;
	heal) sc_flush ;;
	esac
}

sc_flapping() {
	local end
	case $1 in
	setup) SC_EXPECT=may ;;
	inject) ;;
	hold)
		end=$((SECONDS + 3 * F_TTL))
		while [ "$SECONDS" -lt "$end" ]; do
			ip -n "$(f_ns "$SC_PRIMARY")" link set eth0 down
			sleep 1
			ip -n "$(f_ns "$SC_PRIMARY")" link set eth0 up
			sleep 1
		done
		;;
	heal) ip -n "$(f_ns "$SC_PRIMARY")" link set eth0 up ;;
	esac
}

sc_disk_full() {
	case $1 in
	setup) SC_EXPECT=may ;;
	inject)
		# Whatever is free, less nothing: the next WAL segment or data page cannot be written.
		fallocate -l "$(($(stat -f -c '%a * %S' "$C_DIR/$SC_PRIMARY")))" \
			"$C_DIR/$SC_PRIMARY/filler" || dd if=/dev/zero of="$C_DIR/$SC_PRIMARY/filler" bs=1M
		df -h "$C_DIR/$SC_PRIMARY"
		;;
	hold) sleep $((2 * F_TTL)) ;;
	heal) rm -f "$C_DIR/$SC_PRIMARY/filler" ;;
	esac
}

SC_CANDIDATE=
sc_switchover_node_loss() {
	local n
	case $1 in
	setup) SC_EXPECT=may ;;
	inject)
		for n in "${F_NODES[@]}"; do
			[ "$n" != "$SC_PRIMARY" ] && SC_CANDIDATE=$n && break
		done
		fx curl -s -m 60 -X POST -H 'Content-Type: application/json' \
			-d "{\"leader\": \"$SC_PRIMARY\", \"candidate\": \"$SC_CANDIDATE\"}" \
			"http://$(f_ip "$SC_PRIMARY"):8008/switchover" >"$F_DIR/switchover.out" 2>&1 &
		F_EXTRA_PIDS+=($!)
		sleep "$(sc_ms $((RANDOM % 1000)))"
		echo "killing the switchover candidate $SC_CANDIDATE"
		f_kill_node "$SC_CANDIDATE"
		;;
	hold) sleep $((3 * F_TTL)) ;;
	heal) f_start_node "$SC_CANDIDATE" ;;
	esac
}

sc_etcd_disk_slow() {
	case $1 in
	setup) SC_EXPECT=no F_ETCD_DISK=loop ;;
	inject) f_etcd_disk_throttle 50 ;;
	hold) sleep $((3 * F_TTL)) ;;
	heal) f_etcd_disk_throttle 0 ;;
	esac
}

# What the node's wall clock reads, beside true time: the machine's date, PostgreSQL's now() on
# the node (a backend forked by the preloaded postmaster) and the agent's newest log line (gsha's
# and Patroni's log stamps come from the wall clock).
sc_clock_proof() { # NODE LABEL
	local n=$1
	echo "clock $2: true $(date -u '+%F %T') UTC; $n now() $(f_psql "$n" \
		"select to_char(now() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS')") UTC;" \
		"$n agent's last log line: $(tail -1 "$C_DIR/$n.log" | cut -c1-160)"
}

# The step must show in the node's now() (a backend of the preloaded postmaster): the epoch it
# reads, less the offset, must lie between true time just before and just after the query.
# Otherwise the fault did not happen, which is the scenario's own violation (check.py). The agent
# may have stopped PostgreSQL because of the step (Patroni does, seed 6): then the reading is
# retried for up to 10 s, and if PostgreSQL never answers the step stays unverified there, not
# a violation (the other two verifications and the ready check still stand).
sc_clock_verify() { # NODE OFFSET_MS LABEL
	local before pg after tries=0
	while :; do
		before=$(date +%s)
		pg=$(f_psql "$1" "select floor(extract(epoch from now()))::bigint")
		after=$(date +%s)
		[ -z "$pg" ] && [ $((tries += 1)) -lt 20 ] || break
		sleep 0.5
	done
	if [ -z "$pg" ]; then
		echo "unverified $3: $1's PostgreSQL did not answer for 10 s"
	elif [ $((pg - $2 / 1000)) -ge $((before - 1)) ] && [ $((pg - $2 / 1000)) -le $((after + 1)) ]; then
		echo "verified $3: $1's now() is $(($2 / 1000)) s off true time"
	else
		echo "the wall clock step did not take effect on $1 $3: now() read ${pg:-nothing}," \
			"true time $before..$after, offset $(($2 / 1000)) s" | tee -a "$F_DIR/scenario-violations.txt"
	fi
}

SC_CLOCK_STEP_MS=0
sc_clock_step() {
	local n pid
	case $1 in
	setup) SC_EXPECT=no F_CLOCK_SHIFT=1 ;;
	ready)
		# Every agent and postmaster must carry the library, or the step proves nothing.
		for n in "${F_NODES[@]}"; do
			pid=$(f_agent_pid "$n")
			if ! f_clock_loaded "$pid"; then
				echo "clock-shift.so is not in $n's agent ($pid)" | tee -a "$F_DIR/scenario-violations.txt"
				return 1
			fi
			pid=$(f_postmaster_pid "$n")
			if ! f_clock_loaded "$pid"; then
				echo "clock-shift.so is not in $n's postmaster ($pid)" | tee -a "$F_DIR/scenario-violations.txt"
				return 1
			fi
			echo "clock-shift.so is loaded in $n's agent and postmaster"
		done
		;;
	inject)
		if [ $((RANDOM % 2)) = 0 ]; then
			SC_CLOCK_STEP_MS=3600000
		else
			SC_CLOCK_STEP_MS=$((5 * F_TTL * 1000))
		fi
		sc_clock_proof "$SC_PRIMARY" "before the step"
		f_clock_set "$SC_PRIMARY" "$SC_CLOCK_STEP_MS"
		echo "stepped $SC_PRIMARY's wall clock forward by $SC_CLOCK_STEP_MS ms"
		sleep 0.5
		sc_clock_proof "$SC_PRIMARY" "0.5 s after the forward step"
		sc_clock_verify "$SC_PRIMARY" "$SC_CLOCK_STEP_MS" "after the forward step"
		;;
	hold)
		sleep $((2 * F_TTL))
		sc_clock_proof "$SC_PRIMARY" "2 x ttl after the forward step"
		f_clock_set "$SC_PRIMARY" "-$SC_CLOCK_STEP_MS"
		echo "stepped $SC_PRIMARY's wall clock back to $SC_CLOCK_STEP_MS ms behind true time"
		sleep 0.5
		sc_clock_proof "$SC_PRIMARY" "0.5 s after the backward step"
		sc_clock_verify "$SC_PRIMARY" "-$SC_CLOCK_STEP_MS" "after the backward step"
		sleep $((2 * F_TTL))
		sc_clock_proof "$SC_PRIMARY" "2 x ttl after the backward step"
		;;
	heal)
		f_clock_set "$SC_PRIMARY" 0
		echo "set $SC_PRIMARY's wall clock back to true time"
		sleep 0.5
		sc_clock_proof "$SC_PRIMARY" "0.5 s after healing"
		sc_clock_verify "$SC_PRIMARY" 0 "after healing"
		# gsha logs each jump it sees ("no action for one cycle: the wall clock jumped"); Patroni
		# logs a line every loop_wait, whose stamp shows its clock.
		sleep $((F_LOOP_WAIT + 1))
		sc_clock_proof "$SC_PRIMARY" "loop_wait + 1 s after healing"
		;;
	esac
}
