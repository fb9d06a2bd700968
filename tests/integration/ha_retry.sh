#!/usr/bin/env bash
# Issue 11 (Low): a failed action was retried every 50 ms with a warning each time. Now the
# retries back off to loop_wait and the failure is logged when it changes (ha_retry.h).
#
# One node leads; its postgresql.auto.conf gets a syntax error and its postmaster is killed, so
# every start the agent tries fails the same way. For LASTING seconds the agent keeps trying
# (each try leaves a FATAL line in the server log) but logs the failure once ("could not start
# the primary again"), after the one notice that it starts the primary again; the old loop logged
# a line every 200-300 ms. Then the file is repaired: the primary starts again and the agent
# says the failure ended.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/etcd.sh"
source "$(dirname "$0")/lib/cluster.sh"

LASTING=10

t_start_etcd
c_init "$(t_tmpdir)/cluster" "$ETCD_URL" "retry$$"
c_config node1
t_on_failure() {
	echo "---- node1.log (tail)"
	tail -60 "$C_DIR/node1.log" 2>/dev/null
}

c_start node1
t_wait_for 60 "node1 to bootstrap and run as primary" c_is node1 primary
auto=$C_DIR/node1/data/postgresql.auto.conf
cp -p "$auto" "$C_DIR/auto.good"
echo "this line is not a setting" >>"$auto"
# Tries show in the server log (postmaster.log) as the configuration error, once per start.
tries() { grep -c "syntax error in file .*postgresql.auto.conf" "$C_DIR/node1/data/postmaster.log" || true; }
# The agent's lines about it, at notice and above (a retry below is at debug).
lines() { grep -cE '(notice|warning|error): .*(start|starting) the primary again' "$C_DIR/node1.log" || true; }
before=$(tries)
c_kill_db node1
t_wait_for 20 "the agent to try a start" eval '[ "$(tries)" -gt "$before" ]'
sleep "$LASTING"
n_tries=$(($(tries) - before))
n_lines=$(lines)
t_log "in about ${LASTING}s: $n_tries failed start(s), $n_lines log line(s) about them"
[ "$n_tries" -ge 3 ] || t_fail "the agent stopped retrying: $n_tries start(s) in ${LASTING}s"
t_pass "the agent keeps retrying the start ($n_tries tries in ${LASTING}s)"
[ "$n_lines" -le 2 ] ||
	t_fail "a lasting failure was logged $n_lines times in ${LASTING}s, not once"
grep -q 'warning: could not start the primary again' "$C_DIR/node1.log" ||
	t_fail "the failed start was not reported"
t_pass "the lasting failure was logged once ($n_lines lines with the first notice), not on every retry"
# loop_wait is 1 s: about LASTING tries after the back-off, not one every 50 ms.
[ "$n_tries" -le $((2 * LASTING + 6)) ] ||
	t_fail "$n_tries start tries in ${LASTING}s: the retries did not back off to loop_wait"
t_pass "the retries backed off to loop_wait ($n_tries tries in ${LASTING}s, loop_wait 1 s)"

cp -p "$C_DIR/auto.good" "$auto"
t_wait_for 30 "node1 to run as primary again" c_is node1 primary
t_wait_for 10 "the agent to say the failure ended" \
	grep -q 'no longer failing: could not start the primary again' "$C_DIR/node1.log"
t_pass "after the repair the primary runs again and the end of the failure is logged"
t_done
