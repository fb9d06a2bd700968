/*
 * Focused tests for ha_decide: each starts from a named fixture (ha_fixtures.h) and changes one
 * thing. The invariant sweep lives in test_ha_sweep.c, readable scenarios in the scenario files in scenarios/.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_decide.h"
#include "ha_fixtures.h"

static struct ha_input in;
static struct ha_output out;

/* Runs ha_decide and checks the things every answer must have. */
static void decide(void)
{
	ha_decide(&in, &out);
	assert_true(out.reason[0] != '\0');
	assert_true(strlen(out.reason) < HA_REASON_MAX);
}

#define assert_action(name) assert_string_equal(ha_action_name(out.action), name)
#define assert_mode(name) assert_string_equal(ha_demote_mode_name(out.demote_mode), name)
#define assert_reason_has(text) assert_non_null(strstr(out.reason, text))

/* ---- leader and fencing ---- */

static void test_decide_primary_with_lease_does_nothing(void **state)
{
	(void)state;
	fix_primary(&in);
	decide();
	assert_action("none");
	assert_reason_has("I am the leader with the lock");
	assert_true(out.leader);
	/* renewed 100 ms ago; fence = renewed + 5000 - (1000 + 50) */
	assert_int_equal(out.fence_deadline_ms, FIX_NOW_MS - 100 + 5000 - 1050);
	assert_int_equal(out.wake_by_ms, out.fence_deadline_ms);
}

static void test_decide_primary_without_dcs_stays_until_fence(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.reachable = false;
	in.now_ms = in.dcs.lease_renewed_ms + 3000;
	in.last_call_ms = in.now_ms - 1000;
	decide();
	assert_action("none");
	assert_reason_has("DCS is not accessible");
	assert_true(out.leader);
}

static void test_decide_primary_without_dcs_demotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.reachable = false;
	in.now_ms = ha_fence_deadline_ms(&in.policy, in.dcs.lease_renewed_ms, in.dcs.lease_ttl_ms);
	in.last_call_ms = in.now_ms - 1000;
	decide();
	assert_action("demote");
	assert_mode("offline");
	assert_false(out.leader);
}

static void test_decide_primary_one_ms_before_fence_stays(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.reachable = false;
	in.now_ms =
		ha_fence_deadline_ms(&in.policy, in.dcs.lease_renewed_ms, in.dcs.lease_ttl_ms) - 1;
	in.last_call_ms = in.now_ms - 1000;
	decide();
	assert_action("none");
}

static void test_decide_primary_granted_shorter_ttl_counts(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.lease_ttl_ms = 2000; /* etcd granted less than asked: never count on more */
	in.now_ms = in.dcs.lease_renewed_ms + 2000 - 1000 - 20;
	in.last_call_ms = in.now_ms - 1000;
	decide();
	assert_action("demote");
}

static void test_decide_primary_renewal_failing_with_dcs_demotes_and_releases(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.lease_renewed_ms = FIX_NOW_MS - 4000;
	decide();
	assert_action("demote");
	assert_mode("immediate");
}

static void test_decide_primary_other_holder_demotes_nolock(void **state)
{
	(void)state;
	fix_primary(&in);
	fix_set(in.dcs.leader, sizeof(in.dcs.leader), "node2");
	decide();
	assert_action("demote");
	assert_mode("immediate-nolock");
	assert_string_equal(out.target, "node2");
}

static void test_decide_primary_without_leader_key_demotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.leader_present = false;
	decide();
	assert_action("demote");
	assert_mode("immediate-nolock");
}

static void test_decide_primary_key_on_foreign_lease_demotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.leader_lease_mine = false;
	decide();
	assert_action("demote");
}

static void test_decide_stopped_holder_on_foreign_lease_rebinds(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.leader_lease_mine = false;
	in.db.state = HA_DB_STOPPED;
	decide();
	assert_action("rebind-leader-key");
}

static void test_decide_primary_paused_without_dcs_keeps_running(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.paused = true;
	in.dcs.reachable = false;
	in.dcs.lease_renewed_ms = FIX_NOW_MS - 60000;
	decide();
	assert_action("none");
	assert_reason_has("PAUSE: ");
}

/* ---- failsafe ---- */

static void test_decide_failsafe_primary_without_dcs_asks_for_acks(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node1");
	fix_names_add(&in.dcs.failsafe, "node2");
	in.dcs.reachable = false;
	decide();
	assert_action("ping-failsafe");
}

static void test_decide_failsafe_acked_keeps_primary_past_lease(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node2");
	in.dcs.reachable = false;
	in.dcs.lease_renewed_ms = FIX_NOW_MS - 30000;
	in.failsafe.done = true;
	in.failsafe.acked_ms = FIX_NOW_MS - 200;
	decide();
	assert_action("none");
	assert_reason_has("failsafe mode is enabled and all members are accessible");
	assert_true(out.leader);
}

static void test_decide_failsafe_not_acked_demotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node2");
	in.dcs.reachable = false;
	in.dcs.lease_renewed_ms = FIX_NOW_MS - 30000;
	in.failsafe.done = true;
	in.failsafe.acked_ms = FIX_NOW_MS - 20000; /* the last full ack is too old */
	decide();
	assert_action("demote");
	assert_mode("offline");
}

static void test_decide_failsafe_primary_races_when_dcs_returns_without_key(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node1");
	fix_names_add(&in.dcs.failsafe, "node2");
	/* etcd is back, the key expired during the outage, every member acked me 200 ms ago. */
	in.dcs.leader_present = false;
	in.dcs.leader[0] = '\0';
	in.dcs.leader_lease_mine = false;
	in.failsafe.acked_ms = FIX_NOW_MS - 200;
	decide();
	assert_action("race");
}

static void test_decide_failsafe_acks_too_old_when_dcs_returns_demotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node1");
	fix_names_add(&in.dcs.failsafe, "node2");
	in.dcs.leader_present = false;
	in.dcs.leader[0] = '\0';
	in.dcs.leader_lease_mine = false;
	in.failsafe.acked_ms = FIX_NOW_MS - 20000;
	decide();
	assert_action("demote");
}

static void test_decide_failsafe_acks_do_not_cover_a_key_someone_else_holds(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node1");
	fix_names_add(&in.dcs.failsafe, "node2");
	memcpy(in.dcs.leader, "node2", sizeof("node2"));
	in.dcs.leader_lease_mine = false;
	in.failsafe.acked_ms = FIX_NOW_MS - 200;
	decide();
	assert_action("demote");
	assert_mode("immediate-nolock");
}

static void test_decide_replica_contacted_by_failsafe_primary_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.self.failsafe_primary_seen_ms = FIX_NOW_MS - 1000;
	decide();
	assert_action("none");
	assert_reason_has("failsafe");
}

/* ---- TILT ---- */

static void test_decide_stall_tilts(void **state)
{
	(void)state;
	fix_replica(&in);
	in.last_call_ms = FIX_NOW_MS - ha_stall_limit_ms(&in.policy) - 1;
	in.last_call_wall_ms = in.now_wall_ms - (in.now_ms - in.last_call_ms);
	decide();
	assert_action("tilt");
	assert_true(out.tilt);
}

static void test_decide_wall_clock_jump_tilts(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.last_call_wall_ms = in.now_wall_ms - 1000 - HA_CLOCK_JUMP_MS - 1;
	decide();
	assert_action("tilt");
}

static void test_decide_next_call_after_tilt_acts(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.last_call_ms = FIX_NOW_MS - 100000;
	decide();
	assert_action("tilt");
	in.last_call_ms = in.now_ms;
	in.last_call_wall_ms = in.now_wall_ms;
	in.now_ms += 1000;
	in.now_wall_ms += 1000;
	decide();
	assert_action("race");
}

static void test_decide_tilt_still_fences_a_primary(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.reachable = false;
	in.last_call_ms = in.dcs.lease_renewed_ms;
	in.now_ms = in.dcs.lease_renewed_ms + 60000;
	decide();
	assert_true(out.tilt);
	assert_action("demote");
}

/* ---- replicas and the race ---- */

static void test_decide_replica_following_leader_does_nothing(void **state)
{
	(void)state;
	fix_replica(&in);
	decide();
	assert_action("none");
	assert_reason_has("following leader \"node1\"");
	assert_false(out.leader);
}

static void test_decide_replica_repoints_to_new_leader(void **state)
{
	(void)state;
	fix_replica(&in);
	fix_set(in.dcs.leader, sizeof(in.dcs.leader), "node3");
	decide();
	assert_action("follow");
	assert_string_equal(out.target, "node3");
}

static void test_decide_diverged_replica_rejoins(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.rejoin_needed = true;
	decide();
	assert_action("rejoin");
	assert_string_equal(out.target, "node1");
}

static void test_decide_diverged_replica_without_rewind_waits(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.rejoin_needed = true;
	in.policy.use_pg_rewind = false;
	decide();
	assert_action("none");
	assert_reason_has("reinitialize");
	/* remove_data_directory_on_diverged_timelines: a new copy, as Patroni reinitializes */
	in.policy.reinit_on_diverged = true;
	decide();
	assert_action("rejoin");
	assert_string_equal(out.target, "node1");
	assert_reason_has("with a new copy");
}

static void test_decide_forked_replica_rewinds(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.fork_timeline = 2;
	in.db.fork_lsn = 0x3000060;
	in.db.replay_lsn = 0x3000148;
	decide();
	assert_action("rejoin");
	assert_string_equal(out.target, "node1");
	assert_reason_has("pg_rewind");
	assert_reason_has("forked off at 0/3000060, before my replay position 0/3000148");
}

static void test_decide_forked_replica_reinit_or_waits(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.fork_timeline = 3;
	in.policy.use_pg_rewind = false;
	decide();
	assert_action("none");
	assert_reason_has("timeline 3 of my upstream is not a child of my timeline");
	assert_reason_has("remove_data_directory_on_diverged_timelines are off");
	in.policy.reinit_on_diverged = true;
	decide();
	assert_action("rejoin");
	assert_reason_has("a new copy");
	/* in pause nothing is done about it */
	in.policy.paused = true;
	decide();
	assert_action("none");
}

static void test_decide_leaderless_replica_probes_first(void **state)
{
	(void)state;
	fix_leaderless(&in);
	decide();
	assert_action("probe-peers");
}

static void test_decide_healthiest_replica_races(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	decide();
	assert_action("race");
}

static void test_decide_peer_ahead_backs_off(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.probe.peers[0].lsn = FIX_LSN + 1;
	decide();
	assert_action("none");
	assert_reason_has("\"node3\" is further ahead");
}

static void test_decide_peer_still_primary_backs_off(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.probe.peers[0].is_primary = true;
	decide();
	assert_action("none");
	assert_reason_has("still alive");
}

static void test_decide_equal_peer_with_higher_priority_backs_off(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.probe.peers[0].tags.failover_priority = 2;
	decide();
	assert_action("none");
	assert_reason_has("higher failover_priority");
}

static void test_decide_unreachable_peer_ahead_is_ignored(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.probe.peers[0].lsn = FIX_LSN + 100;
	in.probe.peers[0].reachable = false;
	decide();
	assert_action("race");
}

static void test_decide_nofailover_peer_ahead_is_ignored(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.probe.peers[0].lsn = FIX_LSN + 100;
	in.probe.peers[0].tags.nofailover = true;
	decide();
	assert_action("race");
}

static void test_decide_lagging_replica_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.db.lsn = FIX_LSN - in.policy.maximum_lag_on_failover_bytes - 1;
	decide();
	assert_action("none");
	assert_reason_has("maximum_lag_on_failover");
}

static void test_decide_replica_at_lag_limit_races(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.db.lsn = FIX_LSN - in.policy.maximum_lag_on_failover_bytes;
	in.probe.peers[0].lsn = in.db.lsn;
	decide();
	assert_action("race");
}

static void test_decide_nofailover_replica_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.self.tags.nofailover = true;
	decide();
	assert_action("none");
	assert_reason_has("nofailover");
}

static void test_decide_sync_mode_non_member_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.policy.synchronous_mode = true;
	in.dcs.sync.present = true;
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node1");
	fix_names_add(&in.dcs.sync.standbys, "node3");
	decide();
	assert_action("none");
	assert_reason_has("synchronous");
}

static void test_decide_sync_mode_member_races_against_members_only(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.policy.synchronous_mode = true;
	in.dcs.sync.present = true;
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node1");
	fix_names_add(&in.dcs.sync.standbys, "node2");
	in.probe.peers[0].lsn = FIX_LSN + 100; /* node3 is ahead but asynchronous */
	decide();
	assert_action("race");
}

static void test_decide_timeline_behind_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.policy.check_timeline = true;
	in.dcs.cluster_timeline = 2;
	decide();
	assert_action("none");
	assert_reason_has("timeline");
}

static void test_decide_dcs_unreachable_replica_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.dcs.reachable = false;
	decide();
	assert_action("none");
	assert_reason_has("DCS is not accessible");
}

static void test_decide_paused_replica_does_not_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.policy.paused = true;
	decide();
	assert_action("none");
	assert_reason_has("PAUSE: ");
}

static void test_decide_opengauss_compares_term_before_lsn(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.policy.engine = HA_ENGINE_OPENGAUSS;
	in.db.term = 3;
	in.probe.peers[0].term = 2;
	in.probe.peers[0].lsn = FIX_LSN + 1000; /* more WAL, but from an older term */
	decide();
	assert_action("race");
}

/* ---- manual failover without a leader ---- */

static void test_decide_failover_candidate_races_even_lagging(void **state)
{
	(void)state;
	fix_leaderless(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node2");
	in.db.lsn = 0;
	decide();
	assert_action("race");
	assert_reason_has("candidate");
}

static void test_decide_healthy_candidate_elsewhere_is_left_the_key(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node3");
	decide();
	assert_action("none");
	assert_reason_has("candidate \"node3\" is healthy");
}

static void test_decide_unreachable_candidate_falls_back_to_race(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node3");
	in.probe.peers[0].reachable = false;
	decide();
	assert_action("race");
}

static void test_decide_former_leader_steps_aside_after_switchover(void **state)
{
	(void)state;
	fix_leaderless_probed(&in);
	fix_set(in.self.name, MEMBER_NAME_MAX, "node1");
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	decide();
	assert_action("none");
	assert_reason_has("former leader");
}

/* ---- promotion ---- */

static void test_decide_holder_replica_promotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	decide();
	assert_action("promote");
	assert_int_equal(out.term, 0);
}

static void test_decide_opengauss_promotion_raises_term(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.policy.engine = HA_ENGINE_OPENGAUSS;
	in.dcs.term = 4;
	in.db.term = 4;
	decide();
	assert_action("promote");
	assert_int_equal(out.term, 5);
	assert_reason_has("term 4 -> 5");
}

/* opengauss.md 2.8: terms stay within 1..2147483647; the term key may hold up to 2^32-1. */
static void test_decide_opengauss_term_capped(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.policy.engine = HA_ENGINE_OPENGAUSS;
	in.dcs.term = HA_TERM_MAX - 1;
	in.db.term = 3;
	decide();
	assert_action("promote");
	assert_int_equal(out.term, HA_TERM_MAX);
	in.dcs.term = HA_TERM_MAX;
	decide();
	assert_action("none");
	assert_int_equal(out.term, 0);
	assert_reason_has("exceed openGauss's limit 2147483647");
	in.dcs.term = 4294967295LL;
	decide();
	assert_action("none");
}

static void test_decide_holder_replica_without_provable_lease_does_not_promote(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.dcs.lease_renewed_ms = FIX_NOW_MS - 10000;
	decide();
	assert_action("none");
	assert_reason_has("not promoting");
}

/* Strict mode: the promoted server names FIRST 1 of the members that may stream (Patroni's
 * "*"), so the first commit waits for whichever streams first, not for the cycle after it; the
 * placeholder only when none may. */
static void test_decide_strict_sync_promotion_blocks_writes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.policy.synchronous_mode = true;
	in.policy.synchronous_mode_strict = true;
	in.dcs.members[2].tags.nosync = true; /* node3 never */
	decide();
	assert_action("promote");
	assert_false(out.sync_placeholder);
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node2");
	assert_int_equal(out.sync_num, 1);
	assert_false(out.sync_any);
	/* nobody else runs: the placeholder, writes block */
	in.dcs.members[1].running = false;
	decide();
	assert_action("promote");
	assert_true(out.sync_placeholder);
	assert_int_equal(out.sync.count, 0);
}

/* A synchronous standby that took the key writes the sync key as its leader before it
 * promotes (Patroni's write_sync_state), unless the key says so already. */
static void test_decide_sync_promotion_writes_sync_key_first(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.policy.synchronous_mode = true;
	in.dcs.sync.present = true;
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node1");
	decide();
	assert_action("promote");
	assert_true(out.sync_key_first);
	assert_false(out.sync_placeholder);
	assert_int_equal(out.sync.count, 0);
	/* a promotion that outlasted its cycle: the key names me already */
	memset(&in.dcs.sync.standbys, 0, sizeof(in.dcs.sync.standbys));
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node1");
	decide();
	assert_action("promote");
	assert_false(out.sync_key_first);
	/* no sync key yet (synchronous mode just turned on): written first too */
	in.dcs.sync.present = false;
	decide();
	assert_action("promote");
	assert_true(out.sync_key_first);
	/* asynchronous: no sync key */
	in.policy.synchronous_mode = false;
	decide();
	assert_action("promote");
	assert_false(out.sync_key_first);
}

/* The key taken on a view in which the sync key named me; it names others now (the last leader
 * dropped me just before its lease ran out): only a member it names may promote. */
static void test_decide_sync_holder_dropped_from_key_releases(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.policy.synchronous_mode = true;
	in.dcs.sync.present = true;
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node3");
	decide();
	assert_action("release-leader");
	assert_reason_has("sync key no longer names me");
	/* quorum commit decides by votes instead (quorum_prepromote) */
	in.policy.synchronous_quorum = true;
	decide();
	assert_action("promote");
	assert_false(out.sync_key_first);
}

static void test_decide_paused_holder_replica_releases(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.is_primary = false;
	in.policy.paused = true;
	decide();
	assert_action("release-leader");
}

static void test_decide_lost_key_while_promoting_cancels(void **state)
{
	(void)state;
	fix_replica(&in);
	in.self.busy = HA_ACT_PROMOTE;
	decide();
	assert_action("demote");
	assert_mode("immediate-nolock");
}

static void test_decide_busy_waits(void **state)
{
	(void)state;
	fix_replica(&in);
	in.self.busy = HA_ACT_CLONE;
	in.self.busy_since_ms = FIX_NOW_MS - 5000;
	decide();
	assert_action("none");
	assert_reason_has("waiting for clone to finish (running for 5000 ms)");
}

/* ---- crashes ---- */

static void test_decide_crashed_primary_with_key_restarts_in_place(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.state = HA_DB_CRASHED;
	decide();
	assert_action("restart-primary");
}

static void test_decide_primary_not_back_in_time_releases(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.state = HA_DB_CRASHED;
	in.db.start_since_ms = FIX_NOW_MS - in.policy.primary_start_timeout_ms;
	decide();
	assert_action("release-leader");
	assert_reason_has("primary_start_timeout");
}

static void test_decide_primary_not_back_but_nobody_to_fail_over_to_retries(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.state = HA_DB_CRASHED;
	in.db.start_since_ms = FIX_NOW_MS - in.policy.primary_start_timeout_ms;
	in.dcs.members[1].running = false;
	in.dcs.members[2].tags.nofailover = true;
	decide();
	assert_action("restart-primary");
}

static void test_decide_primary_stuck_in_crash_recovery_demotes_immediate(void **state)
{
	(void)state;
	fix_primary(&in);
	in.db.state = HA_DB_STARTING;
	in.db.start_since_ms = FIX_NOW_MS - in.policy.primary_start_timeout_ms - 1;
	decide();
	assert_action("demote");
	assert_mode("immediate");
}

static void test_decide_crashed_former_primary_rejoins_new_leader(void **state)
{
	(void)state;
	fix_primary(&in);
	fix_set(in.dcs.leader, MEMBER_NAME_MAX, "node2");
	in.db.state = HA_DB_CRASHED;
	decide();
	assert_action("rejoin");
	assert_string_equal(out.target, "node2");
}

static void test_decide_stopped_replica_starts_following_leader(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.state = HA_DB_STOPPED;
	decide();
	assert_action("start-replica");
	assert_string_equal(out.target, "node1");
}

static void test_decide_paused_stopped_replica_is_not_started(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.state = HA_DB_STOPPED;
	in.policy.paused = true;
	decide();
	assert_action("none");
}

/* ---- bootstrap and clone ---- */

static void test_decide_empty_cluster_bootstraps(void **state)
{
	(void)state;
	fix_empty(&in);
	decide();
	assert_action("bootstrap");
}

static void test_decide_bootstrap_in_progress_waits(void **state)
{
	(void)state;
	fix_empty(&in);
	in.dcs.initialize_present = true;
	decide();
	assert_action("wait-for-bootstrap");
}

static void test_decide_nofailover_node_does_not_bootstrap(void **state)
{
	(void)state;
	fix_empty(&in);
	in.self.tags.nofailover = true;
	decide();
	assert_action("wait-for-bootstrap");
}

static void test_decide_empty_node_clones_from_leader(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.state = HA_DB_NO_DATA;
	decide();
	assert_action("clone");
	assert_string_equal(out.target, "node1");
}

static void test_decide_empty_node_prefers_clonefrom_member(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.state = HA_DB_NO_DATA;
	in.dcs.members[2].tags.clonefrom = true;
	decide();
	assert_action("clone");
	assert_string_equal(out.target, "node3");
}

static void test_decide_foreign_data_directory_halts(void **state)
{
	(void)state;
	fix_replica(&in);
	fix_set(in.db.sysid, HA_SYSID_MAX, "6999999999999999999");
	decide();
	assert_action("halt");
}

static void test_decide_running_primary_adopts_missing_initialize(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.initialize_present = false;
	decide();
	assert_action("write-initialize");
}

/* ---- switchover ---- */

static void test_decide_switchover_demotes_gracefully(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node2");
	decide();
	assert_action("demote");
	assert_mode("graceful");
	assert_string_equal(out.target, "node2");
}

static void test_decide_switchover_to_lagging_candidate_is_cleared(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node2");
	in.db.lsn = FIX_LSN + in.policy.maximum_lag_on_failover_bytes + 1;
	decide();
	assert_action("clear-failover");
}

static void test_decide_failover_to_lagging_candidate_proceeds(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node2");
	in.db.lsn = FIX_LSN + in.policy.maximum_lag_on_failover_bytes + 1;
	decide();
	assert_action("demote");
	assert_mode("graceful");
}

static void test_decide_switchover_for_another_leader_is_cleared(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node3");
	decide();
	assert_action("clear-failover");
}

static void test_decide_scheduled_switchover_waits_and_wakes_in_time(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	in.dcs.failover.scheduled_at_wall_ms = FIX_WALL_MS + 600;
	decide();
	assert_action("none");
	assert_int_equal(out.wake_by_ms, FIX_NOW_MS + 600);
}

static void test_decide_scheduled_switchover_due_demotes(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	in.dcs.failover.scheduled_at_wall_ms = FIX_WALL_MS - 100;
	decide();
	assert_action("demote");
	assert_mode("graceful");
}

static void test_decide_stale_scheduled_switchover_is_cleared(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	in.dcs.failover.scheduled_at_wall_ms = FIX_WALL_MS - 1501;
	decide();
	assert_action("clear-failover");
}

static void test_decide_new_leader_clears_finished_switchover(void **state)
{
	(void)state;
	fix_primary(&in);
	fix_set(in.self.name, MEMBER_NAME_MAX, "node2");
	fix_set(in.dcs.leader, MEMBER_NAME_MAX, "node2");
	in.dcs.failover.present = true;
	fix_set(in.dcs.failover.leader, MEMBER_NAME_MAX, "node1");
	fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, "node2");
	decide();
	assert_action("clear-failover");
}

/* ---- synchronous replication ---- */

static void sync_primary(void)
{
	fix_primary(&in);
	in.policy.synchronous_mode = true;
	in.dcs.sync.present = true;
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node1");
}

static void test_decide_sync_new_leader_takes_over_sync_key(void **state)
{
	(void)state;
	sync_primary();
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node1");
	decide();
	assert_action("write-sync-key");
	assert_int_equal(out.sync.count, 0);
}

static void test_decide_sync_adds_standby_to_postgres_first(void **state)
{
	(void)state;
	sync_primary();
	in.db.replication[1].flush_lsn = FIX_LSN - 10; /* node2 is the better choice */
	decide();
	assert_action("set-sync-names");
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node2");
}

static void test_decide_sync_confirmed_standby_enters_key(void **state)
{
	(void)state;
	sync_primary();
	fix_names_add(&in.db.sync_names, "node2");
	in.db.replication[0].sync = true;
	decide();
	assert_action("write-sync-key");
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node2");
}

static void test_decide_sync_steady_does_nothing(void **state)
{
	(void)state;
	sync_primary();
	fix_names_add(&in.db.sync_names, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node2");
	in.db.replication[0].sync = true;
	decide();
	assert_action("none");
}

static void test_decide_sync_lost_standby_leaves_key_before_postgres(void **state)
{
	(void)state;
	sync_primary();
	fix_names_add(&in.db.sync_names, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node2");
	in.db.replication[0].streaming = false; /* node2 went away */
	decide();
	assert_action("write-sync-key");
	assert_int_equal(out.sync.count, 0);
}

static void test_decide_sync_strict_without_standbys_blocks_writes(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_mode_strict = true;
	in.db.replication_count = 0;
	/* the key names none and node2, node3 run: the first of them that streams */
	decide();
	assert_action("set-sync-names");
	assert_false(out.sync_placeholder);
	assert_int_equal(out.sync.count, 2);
	assert_int_equal(out.sync_num, 1);
	/* in effect: nothing to do until one streams */
	in.db.sync_names = out.sync;
	in.db.sync_num = 1;
	decide();
	assert_action("none");
	/* nobody may stream: the placeholder */
	in.dcs.members[1].running = false;
	in.dcs.members[2].running = false;
	decide();
	assert_action("set-sync-names");
	assert_true(out.sync_placeholder);
	assert_int_equal(out.sync.count, 0);
}

static void test_decide_sync_nosync_member_is_never_chosen(void **state)
{
	(void)state;
	sync_primary();
	in.dcs.members[1].tags.nosync = true;
	decide();
	assert_action("set-sync-names");
	assert_string_equal(out.sync.name[0], "node3");
}

/* Four nodes, synchronous_node_count 2: node4 joins the two replicas of the fixture. */
static void sync_four(void)
{
	sync_primary();
	in.policy.synchronous_node_count = 2;
	fix_member(&in, "node4", true, false, FIX_LSN);
	fix_replication(&in, "node4", true, false, FIX_LSN - 100);
}

static void test_decide_sync_count_two_names_the_two_best_and_waits_for_both(void **state)
{
	(void)state;
	sync_four();
	decide();
	assert_action("set-sync-names");
	assert_int_equal(out.sync.count, 2);
	assert_int_equal(out.sync_num, 2);
	assert_false(out.sync_placeholder);
	assert_false(fix_names_has(&out.sync, "node4")); /* the furthest behind */
}

static void test_decide_sync_count_above_candidates_names_those_there_are(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_node_count = 3; /* two replicas stream */
	decide();
	assert_action("set-sync-names");
	assert_int_equal(out.sync.count, 2);
	assert_int_equal(out.sync_num, 2);
}

/* FIRST 2 (node2,node3) in effect, both in the key; node3 dies. */
static void sync_two_in_effect_one_dies(void)
{
	sync_primary();
	in.policy.synchronous_node_count = 2;
	fix_names_add(&in.db.sync_names, "node2");
	fix_names_add(&in.db.sync_names, "node3");
	in.db.sync_num = 2;
	fix_names_add(&in.dcs.sync.standbys, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node3");
	in.db.replication[0].sync = true;
	in.db.replication_count = 1; /* node3's walsender is gone */
}

static void test_decide_sync_count_two_steady_does_nothing(void **state)
{
	(void)state;
	sync_two_in_effect_one_dies();
	in.db.replication_count = 2;
	in.db.replication[1].sync = true;
	decide();
	assert_action("none");
}

static void test_decide_sync_count_two_dead_standby_leaves_key_first(void **state)
{
	(void)state;
	sync_two_in_effect_one_dies();
	decide();
	assert_action("write-sync-key");
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node2");
}

static void test_decide_sync_count_two_then_shrinks_to_one(void **state)
{
	(void)state;
	sync_two_in_effect_one_dies();
	in.dcs.sync.standbys.count = 1; /* the key already shrank */
	decide();
	assert_action("set-sync-names");
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node2");
	assert_int_equal(out.sync_num, 1);
}

static void test_decide_sync_count_two_swaps_in_a_third_replica(void **state)
{
	(void)state;
	sync_two_in_effect_one_dies();
	fix_member(&in, "node4", true, false, FIX_LSN);
	fix_replication(&in, "node4", true, false, FIX_LSN);
	in.dcs.sync.standbys.count = 1;
	decide();
	assert_action("set-sync-names");
	assert_int_equal(out.sync_num, 2);
	assert_true(fix_names_has(&out.sync, "node2") && fix_names_has(&out.sync, "node4"));
}

static void test_decide_sync_strict_keeps_waiting_for_the_key_standbys(void **state)
{
	(void)state;
	sync_two_in_effect_one_dies();
	in.policy.synchronous_mode_strict = true;
	fix_names_remove(&in.db.sync_names, "node3");
	in.db.sync_num = 1;
	fix_names_remove(&in.dcs.sync.standbys, "node3");
	in.db.replication_count = 0; /* node2 is gone too */
	decide();
	assert_action("none"); /* "node2" stays named: writes wait for it */
}

static void test_decide_sync_strict_names_the_key_standbys_not_the_placeholder(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_mode_strict = true;
	fix_names_add(&in.dcs.sync.standbys, "node2");
	in.db.replication_count = 0;
	decide();
	assert_action("set-sync-names");
	assert_false(out.sync_placeholder);
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node2");
}

static void test_decide_sync_priority_wins_over_position(void **state)
{
	(void)state;
	sync_primary();
	in.dcs.members[2].tags.sync_priority = 5; /* node3 */
	in.dcs.members[1].tags.sync_priority = 1;
	in.db.replication[1].flush_lsn = FIX_LSN - 1000;
	decide();
	assert_action("set-sync-names");
	assert_string_equal(out.sync.name[0], "node3");
}

static void test_decide_sync_lagging_standby_is_not_chosen(void **state)
{
	(void)state;
	sync_primary();
	in.policy.maximum_lag_on_syncnode_bytes = 1000;
	in.db.replication[0].flush_lsn = FIX_LSN - 5000; /* node2 */
	in.db.replication[0].sync = true;
	decide();
	assert_action("set-sync-names");
	assert_int_equal(out.sync.count, 1);
	assert_string_equal(out.sync.name[0], "node3");
}

static void test_decide_sync_nofailover_standby_is_chosen_last(void **state)
{
	(void)state;
	sync_primary();
	in.dcs.members[1].tags.nofailover = true; /* node2, further ahead */
	in.db.replication[1].flush_lsn = FIX_LSN - 1000;
	decide();
	assert_action("set-sync-names");
	assert_string_equal(out.sync.name[0], "node3");
}

/* ---- quorum commit (synchronous_mode: quorum) ---- */

static void test_decide_quorum_enables_the_sync_key(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_quorum = true;
	in.dcs.sync.present = false;
	decide();
	assert_action("write-sync-key");
	assert_int_equal(out.sync.count, 0);
	assert_int_equal(out.sync_quorum, 0);
}

static void test_decide_quorum_names_all_candidates_with_any(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_quorum = true;
	decide();
	assert_action("set-sync-names");
	assert_true(out.sync_any);
	assert_int_equal(out.sync_num, 1);
	assert_int_equal(out.sync.count, 2); /* both, though synchronous_node_count is 1 */
}

static void test_decide_quorum_confirmed_standbys_enter_key_with_quorum(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_quorum = true;
	fix_names_add(&in.db.sync_names, "node2");
	fix_names_add(&in.db.sync_names, "node3");
	in.db.sync_num = 1;
	in.db.sync_any = true;
	in.db.replication[0].sync = true;
	in.db.replication[1].sync = true;
	decide();
	assert_action("write-sync-key");
	assert_int_equal(out.sync.count, 2);
	assert_int_equal(out.sync_quorum, 1); /* ANY 1 of 2: a race must hear from 1 voter */
}

/* node1 (the leader) is gone; the key: voters node2, node3, quorum 1. */
static void quorum_leaderless(void)
{
	fix_leaderless_probed(&in);
	in.policy.synchronous_mode = true;
	in.policy.synchronous_quorum = true;
	in.dcs.sync.present = true;
	fix_set(in.dcs.sync.leader, MEMBER_NAME_MAX, "node1");
	fix_names_add(&in.dcs.sync.standbys, "node2");
	fix_names_add(&in.dcs.sync.standbys, "node3");
	in.dcs.sync.quorum = 1;
}

static void test_decide_quorum_voter_races_with_a_vote(void **state)
{
	(void)state;
	quorum_leaderless();
	decide();
	assert_action("race");
}

static void test_decide_quorum_voter_without_votes_does_not_race(void **state)
{
	(void)state;
	quorum_leaderless();
	in.probe.peers[0].reachable = false; /* node3 does not answer */
	decide();
	assert_action("none");
	assert_reason_has("voters");
}

static void test_decide_quorum_non_voter_needs_quorum_plus_one(void **state)
{
	(void)state;
	quorum_leaderless();
	fix_names_remove(&in.dcs.sync.standbys, "node2"); /* node2 is no voter: only node3 */
	in.dcs.sync.quorum = 0;
	fix_names_add(&in.dcs.sync.standbys, "node4");
	fix_member(&in, "node4", true, false, FIX_LSN);
	in.dcs.sync.quorum = 1;
	decide();
	assert_action("none"); /* one vote (node3) of the two a non-voter needs */
	fix_peer(&in, "node4", true, false, FIX_LSN);
	decide();
	assert_action("race");
}

static void test_decide_quorum_promote_names_former_leader_and_voters(void **state)
{
	(void)state;
	quorum_leaderless();
	in.dcs.leader_present = true;
	fix_set(in.dcs.leader, sizeof(in.dcs.leader), "node2");
	in.dcs.leader_lease_mine = true;
	decide();
	assert_action("promote");
	assert_true(out.sync_any);
	assert_true(fix_names_has(&out.sync, "node1") && fix_names_has(&out.sync, "node3"));
	assert_int_equal(out.sync_num, 1); /* 3 members - quorum 1 - 1 */
}

static void test_decide_sync_off_deletes_key(void **state)
{
	(void)state;
	sync_primary();
	in.policy.synchronous_mode = false;
	decide();
	assert_action("delete-sync-key");
}

/* ---- shutdown ---- */

static void test_decide_shutdown_leader_stops_and_releases(void **state)
{
	(void)state;
	fix_primary(&in);
	in.self.shutdown_requested = true;
	decide();
	assert_action("shutdown");
	assert_true(out.stop_db);
	assert_true(out.release_leader);
}

static void test_decide_shutdown_paused_leaves_everything(void **state)
{
	(void)state;
	fix_primary(&in);
	in.self.shutdown_requested = true;
	in.policy.paused = true;
	decide();
	assert_action("shutdown");
	assert_false(out.stop_db);
	assert_false(out.release_leader);
}

/* ---- names and timing helpers ---- */

static void test_action_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < HA_ACT_COUNT_; i++) {
		enum ha_action a;

		assert_string_not_equal(ha_action_name((enum ha_action)i), "?");
		assert_int_equal(ha_action_from_name(ha_action_name((enum ha_action)i), &a), 0);
		assert_int_equal(a, i);
	}
	assert_string_equal(ha_action_name(HA_ACT_COUNT_), "?");
	assert_string_equal(ha_action_name((enum ha_action) - 1), "?");
	for (int i = 0; i < HA_DEMOTE_COUNT_; i++) {
		enum ha_demote_mode m;

		assert_int_equal(
			ha_demote_mode_from_name(ha_demote_mode_name((enum ha_demote_mode)i), &m),
			0);
		assert_int_equal(m, i);
	}
}

static void test_policy_check_accepts_fast_and_patroni_defaults(void **state)
{
	struct ha_policy p = { 0 };
	char err[256];

	(void)state;
	p.ttl_ms = 5000;
	p.loop_wait_ms = 1000;
	p.retry_timeout_ms = 1000;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), 0);
	p.ttl_ms = 30000;
	p.loop_wait_ms = 10000;
	p.retry_timeout_ms = 10000;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), 0);
	assert_true(ha_fence_deadline_ms(&p, 0, 0) > 0);
}

/* The lease thread's schedule (docs/timing.md, "The lease thread"). W = ttl - retry_timeout -
 * ttl/100. Leader: every I = min(loop_wait, W - 50 - 2K), attempts bounded by
 * K = min(retry_timeout, max(100, (W - loop_wait - 50) / 2)). Member key only: every
 * min(ttl / 2, W - K_leader - 50), attempts bounded so the lease outlives a failure and its
 * retry. And the heartbeat bound max(2 x ttl, the stall limit). */
static void test_keepalive_schedule_fits_the_fence_window(void **state)
{
	static const struct {
		int64_t ttl, loop_wait, retry, lead_i, lead_k, member_i, member_k, bound;
	} cases[] = {
		/* fast profile: W 1480, K (1480 - 500 - 50) / 2 = 465, member min(1000, 965) */
		{ 2000, 500, 500, 500, 465, 965, 492, 4000 },
		/* the tests' ttl 5 / loop_wait 1 / retry 1: W 3950, K = retry_timeout */
		{ 5000, 1000, 1000, 1000, 1000, 2500, 1000, 10000 },
		/* 5 / 1 / 2: W 2950, K (2950 - 1000 - 50) / 2 = 950, member min(2500, 1950) */
		{ 5000, 1000, 2000, 1000, 950, 1950, 1500, 10000 },
		/* ttl 4 / 1 / 1 (ha_lease_thread): W 2960, K 955, member min(2000, 1955) */
		{ 4000, 1000, 1000, 1000, 955, 1955, 997, 8000 },
		/* Patroni's defaults: W 19700, K 4825, every loop_wait; member min(15000, 14825) */
		{ 30000, 10000, 10000, 10000, 4825, 14825, 7562, 60000 },
		/* refused by Patroni's rule; the floor K = 100 shortens the leader's interval */
		{ 5000, 3000, 3000, 1700, 100, 1800, 1575, 12000 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ha_policy p = { .ttl_ms = cases[i].ttl,
				       .loop_wait_ms = cases[i].loop_wait,
				       .retry_timeout_ms = cases[i].retry };
		int64_t li = ha_keepalive_interval_ms(&p, true),
			lk = ha_keepalive_timeout_ms(&p, true);
		int64_t mi = ha_keepalive_interval_ms(&p, false);
		int64_t mk = ha_keepalive_timeout_ms(&p, false), renewed = 1000000;
		int64_t fence = ha_fence_deadline_ms(&p, renewed, 0);

		if (li != cases[i].lead_i || lk != cases[i].lead_k || mi != cases[i].member_i ||
		    mk != cases[i].member_k || ha_heartbeat_bound_ms(&p) != cases[i].bound)
			fail_msg("case %zu: leader %lld/%lld, member %lld/%lld, bound %lld", i,
				 (long long)li, (long long)lk, (long long)mi, (long long)mk,
				 (long long)ha_heartbeat_bound_ms(&p));
		assert_int_equal(ha_keepalive_due_ms(&p, true, renewed, 0), renewed + li);
		assert_int_equal(ha_keepalive_due_ms(&p, false, renewed, 0), renewed + mi);
		/* never renewed: due now */
		assert_int_equal(ha_keepalive_due_ms(&p, true, 0, 0), 0);
		/* after a failure: a retry at once, whatever the schedule */
		assert_int_equal(ha_keepalive_due_ms(&p, false, renewed, renewed + mi + mk),
				 renewed + mi + mk + HA_KEEPALIVE_RETRY_MS);
		assert_true(lk <= p.retry_timeout_ms && mk <= p.retry_timeout_ms);
		if (ha_policy_check(&p, (char[512]){ 0 }, 512) != 0)
			continue;
		/* The properties, where the policy check passes. The leader: a keepalive that fails
		 * after its whole bound is retried, and the retry answered, by the fence deadline. */
		assert_true(renewed + li + lk + HA_KEEPALIVE_RETRY_MS + lk <= fence);
		/* A member that starts leading just before its next renewal still has an attempt
		 * and a retry slot before its deadline. */
		assert_true(renewed + mi + lk + HA_KEEPALIVE_RETRY_MS <= fence);
		/* A member's lease outlives a failed attempt and its retry. */
		assert_true(mi + mk + HA_KEEPALIVE_RETRY_MS + mk <= p.ttl_ms);
		/* Never more often than Patroni's loop renews a leader's key. */
		assert_true(li <= p.loop_wait_ms);
	}
}

static void test_policy_check_refuses_no_room_for_a_keepalive_retry(void **state)
{
	/* Patroni's rule holds (100 + 2 x 150 = 400) but W = 400 - 150 - 4 = 246 leaves no
	 * interval of 50 ms beside a retry slot and two attempts of at least 100 ms. */
	struct ha_policy p = { .ttl_ms = 400, .loop_wait_ms = 100, .retry_timeout_ms = 150 };
	char err[512];

	(void)state;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "lower retry_timeout or raise ttl"));
	/* ttl 500: W 345, K 100, every min(100, 345 - 50 - 200 = 95) ms */
	p.ttl_ms = 500;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), 0);
	assert_int_equal(ha_keepalive_interval_ms(&p, true), 95);
	/* the old refusal (2000 / 100 / 950): W 1030, K 440, every 100 ms: it holds now */
	p.ttl_ms = 2000;
	p.retry_timeout_ms = 950;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), 0);
	assert_int_equal(ha_keepalive_timeout_ms(&p, true), 440);
	/* the fast profile */
	p.loop_wait_ms = 500;
	p.retry_timeout_ms = 500;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), 0);
}

static void test_leader_deadline_is_the_later_proof_less_one_ping(void **state)
{
	struct ha_policy p = { .ttl_ms = 30000, .loop_wait_ms = 10000, .retry_timeout_ms = 10000 };

	(void)state;
	assert_int_equal(ha_leader_deadline_ms(&p, 0, 0, 0), 0);
	/* The lease alone: its fence deadline. */
	assert_int_equal(ha_leader_deadline_ms(&p, 1000, 0, 5000),
			 ha_fence_deadline_ms(&p, 1000, 0));
	/* Failsafe acks count only in failsafe mode, less one ping (Patroni's 2 s). */
	p.failsafe_mode = true;
	assert_int_equal(ha_failsafe_ping_timeout_ms(&p), 2000);
	assert_int_equal(ha_leader_deadline_ms(&p, 1000, 0, 5000),
			 ha_fence_deadline_ms(&p, 5000, 0) - 2000);
	assert_int_equal(ha_leader_deadline_ms(&p, 0, 0, 5000),
			 ha_fence_deadline_ms(&p, 5000, 0) - 2000);
	/* An older round than the lease's renewal proves nothing more; the lease's deadline is
	 * also one ping early, so the round asked when the keepalive times out fits before it. */
	assert_int_equal(ha_leader_deadline_ms(&p, 5000, 0, 1000),
			 ha_fence_deadline_ms(&p, 5000, 0) - 2000);
	assert_int_equal(ha_leader_deadline_ms(&p, 5000, 0, 0),
			 ha_fence_deadline_ms(&p, 5000, 0) - 2000);
	/* The ping timeout stays within retry_timeout. */
	p.retry_timeout_ms = 1000;
	assert_int_equal(ha_failsafe_ping_timeout_ms(&p), 1000);
}

static void test_policy_check_rejects_ttl_below_patroni_rule(void **state)
{
	struct ha_policy p = { 0 };
	char err[256];

	(void)state;
	p.ttl_ms = 4000;
	p.loop_wait_ms = 1000;
	p.retry_timeout_ms = 2000;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"ttl\""));
}

static void test_decide_empty_holder_on_foreign_lease_releases(void **state)
{
	(void)state;
	fix_primary(&in);
	in.dcs.leader_lease_mine = false;
	in.db.state = HA_DB_NO_DATA;
	decide();
	assert_action("release-leader");
}

static void test_decide_primary_starting_without_key_is_stopped(void **state)
{
	(void)state;
	fix_replica(&in);
	in.db.state = HA_DB_STARTING;
	in.db.is_primary = true;
	decide();
	assert_action("demote");
	assert_mode("immediate-nolock");
}

static void test_decide_empty_node_without_leader_waits_for_one(void **state)
{
	(void)state;
	fix_leaderless(&in);
	in.db.state = HA_DB_NO_DATA;
	decide();
	assert_action("wait-for-bootstrap");
	assert_reason_has("waiting for a leader to clone from");
}

static void test_decide_stopped_node_without_leader_starts_read_only(void **state)
{
	(void)state;
	fix_leaderless(&in);
	in.db.state = HA_DB_STOPPED;
	decide();
	assert_action("start-replica");
	assert_string_equal(out.target, "");
}

static void test_decide_first_call_after_start_is_not_a_stall(void **state)
{
	(void)state;
	fix_replica(&in);
	in.last_call_ms = 0;
	in.last_call_wall_ms = 0;
	decide();
	assert_action("none");
	assert_false(out.tilt);
}

static void test_decide_monotonic_clock_going_back_tilts(void **state)
{
	(void)state;
	fix_replica(&in);
	in.last_call_ms = in.now_ms + 1;
	decide();
	assert_action("tilt");
	assert_reason_has("went back");
}

static void test_policy_check_rejects_sync_without_standbys(void **state)
{
	struct ha_policy p = { 0 };
	char err[256];

	(void)state;
	p.ttl_ms = 5000;
	p.loop_wait_ms = 1000;
	p.retry_timeout_ms = 1000;
	p.synchronous_mode = true;
	p.synchronous_node_count = 0;
	assert_int_equal(ha_policy_check(&p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "synchronous_node_count"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_primary_with_lease_does_nothing),
		cmocka_unit_test(test_decide_primary_without_dcs_stays_until_fence),
		cmocka_unit_test(test_decide_primary_without_dcs_demotes),
		cmocka_unit_test(test_decide_primary_one_ms_before_fence_stays),
		cmocka_unit_test(test_decide_primary_granted_shorter_ttl_counts),
		cmocka_unit_test(test_decide_primary_renewal_failing_with_dcs_demotes_and_releases),
		cmocka_unit_test(test_decide_primary_other_holder_demotes_nolock),
		cmocka_unit_test(test_decide_primary_without_leader_key_demotes),
		cmocka_unit_test(test_decide_primary_key_on_foreign_lease_demotes),
		cmocka_unit_test(test_decide_stopped_holder_on_foreign_lease_rebinds),
		cmocka_unit_test(test_decide_primary_paused_without_dcs_keeps_running),
		cmocka_unit_test(test_decide_failsafe_primary_without_dcs_asks_for_acks),
		cmocka_unit_test(test_decide_failsafe_acked_keeps_primary_past_lease),
		cmocka_unit_test(test_decide_failsafe_not_acked_demotes),
		cmocka_unit_test(test_decide_failsafe_primary_races_when_dcs_returns_without_key),
		cmocka_unit_test(test_decide_failsafe_acks_too_old_when_dcs_returns_demotes),
		cmocka_unit_test(test_decide_failsafe_acks_do_not_cover_a_key_someone_else_holds),
		cmocka_unit_test(test_decide_replica_contacted_by_failsafe_primary_does_not_race),
		cmocka_unit_test(test_decide_stall_tilts),
		cmocka_unit_test(test_decide_wall_clock_jump_tilts),
		cmocka_unit_test(test_decide_next_call_after_tilt_acts),
		cmocka_unit_test(test_decide_tilt_still_fences_a_primary),
		cmocka_unit_test(test_decide_replica_following_leader_does_nothing),
		cmocka_unit_test(test_decide_replica_repoints_to_new_leader),
		cmocka_unit_test(test_decide_diverged_replica_rejoins),
		cmocka_unit_test(test_decide_diverged_replica_without_rewind_waits),
		cmocka_unit_test(test_decide_forked_replica_rewinds),
		cmocka_unit_test(test_decide_forked_replica_reinit_or_waits),
		cmocka_unit_test(test_decide_leaderless_replica_probes_first),
		cmocka_unit_test(test_decide_healthiest_replica_races),
		cmocka_unit_test(test_decide_peer_ahead_backs_off),
		cmocka_unit_test(test_decide_peer_still_primary_backs_off),
		cmocka_unit_test(test_decide_equal_peer_with_higher_priority_backs_off),
		cmocka_unit_test(test_decide_unreachable_peer_ahead_is_ignored),
		cmocka_unit_test(test_decide_nofailover_peer_ahead_is_ignored),
		cmocka_unit_test(test_decide_lagging_replica_does_not_race),
		cmocka_unit_test(test_decide_replica_at_lag_limit_races),
		cmocka_unit_test(test_decide_nofailover_replica_does_not_race),
		cmocka_unit_test(test_decide_sync_mode_non_member_does_not_race),
		cmocka_unit_test(test_decide_sync_mode_member_races_against_members_only),
		cmocka_unit_test(test_decide_timeline_behind_does_not_race),
		cmocka_unit_test(test_decide_dcs_unreachable_replica_does_not_race),
		cmocka_unit_test(test_decide_paused_replica_does_not_race),
		cmocka_unit_test(test_decide_opengauss_compares_term_before_lsn),
		cmocka_unit_test(test_decide_failover_candidate_races_even_lagging),
		cmocka_unit_test(test_decide_healthy_candidate_elsewhere_is_left_the_key),
		cmocka_unit_test(test_decide_unreachable_candidate_falls_back_to_race),
		cmocka_unit_test(test_decide_former_leader_steps_aside_after_switchover),
		cmocka_unit_test(test_decide_holder_replica_promotes),
		cmocka_unit_test(test_decide_opengauss_promotion_raises_term),
		cmocka_unit_test(test_decide_opengauss_term_capped),
		cmocka_unit_test(
			test_decide_holder_replica_without_provable_lease_does_not_promote),
		cmocka_unit_test(test_decide_strict_sync_promotion_blocks_writes),
		cmocka_unit_test(test_decide_sync_promotion_writes_sync_key_first),
		cmocka_unit_test(test_decide_sync_holder_dropped_from_key_releases),
		cmocka_unit_test(test_decide_paused_holder_replica_releases),
		cmocka_unit_test(test_decide_lost_key_while_promoting_cancels),
		cmocka_unit_test(test_decide_busy_waits),
		cmocka_unit_test(test_decide_crashed_primary_with_key_restarts_in_place),
		cmocka_unit_test(test_decide_primary_not_back_in_time_releases),
		cmocka_unit_test(test_decide_primary_not_back_but_nobody_to_fail_over_to_retries),
		cmocka_unit_test(test_decide_primary_stuck_in_crash_recovery_demotes_immediate),
		cmocka_unit_test(test_decide_crashed_former_primary_rejoins_new_leader),
		cmocka_unit_test(test_decide_stopped_replica_starts_following_leader),
		cmocka_unit_test(test_decide_paused_stopped_replica_is_not_started),
		cmocka_unit_test(test_decide_empty_cluster_bootstraps),
		cmocka_unit_test(test_decide_bootstrap_in_progress_waits),
		cmocka_unit_test(test_decide_nofailover_node_does_not_bootstrap),
		cmocka_unit_test(test_decide_empty_node_clones_from_leader),
		cmocka_unit_test(test_decide_empty_node_prefers_clonefrom_member),
		cmocka_unit_test(test_decide_foreign_data_directory_halts),
		cmocka_unit_test(test_decide_running_primary_adopts_missing_initialize),
		cmocka_unit_test(test_decide_switchover_demotes_gracefully),
		cmocka_unit_test(test_decide_switchover_to_lagging_candidate_is_cleared),
		cmocka_unit_test(test_decide_failover_to_lagging_candidate_proceeds),
		cmocka_unit_test(test_decide_switchover_for_another_leader_is_cleared),
		cmocka_unit_test(test_decide_scheduled_switchover_waits_and_wakes_in_time),
		cmocka_unit_test(test_decide_scheduled_switchover_due_demotes),
		cmocka_unit_test(test_decide_stale_scheduled_switchover_is_cleared),
		cmocka_unit_test(test_decide_new_leader_clears_finished_switchover),
		cmocka_unit_test(test_decide_sync_new_leader_takes_over_sync_key),
		cmocka_unit_test(test_decide_sync_adds_standby_to_postgres_first),
		cmocka_unit_test(test_decide_sync_confirmed_standby_enters_key),
		cmocka_unit_test(test_decide_sync_steady_does_nothing),
		cmocka_unit_test(test_decide_sync_lost_standby_leaves_key_before_postgres),
		cmocka_unit_test(test_decide_sync_strict_without_standbys_blocks_writes),
		cmocka_unit_test(test_decide_sync_nosync_member_is_never_chosen),
		cmocka_unit_test(test_decide_sync_off_deletes_key),
		cmocka_unit_test(test_decide_quorum_enables_the_sync_key),
		cmocka_unit_test(test_decide_quorum_names_all_candidates_with_any),
		cmocka_unit_test(test_decide_quorum_confirmed_standbys_enter_key_with_quorum),
		cmocka_unit_test(test_decide_quorum_voter_races_with_a_vote),
		cmocka_unit_test(test_decide_quorum_voter_without_votes_does_not_race),
		cmocka_unit_test(test_decide_quorum_non_voter_needs_quorum_plus_one),
		cmocka_unit_test(test_decide_quorum_promote_names_former_leader_and_voters),
		cmocka_unit_test(test_decide_sync_count_two_names_the_two_best_and_waits_for_both),
		cmocka_unit_test(test_decide_sync_count_above_candidates_names_those_there_are),
		cmocka_unit_test(test_decide_sync_count_two_steady_does_nothing),
		cmocka_unit_test(test_decide_sync_count_two_dead_standby_leaves_key_first),
		cmocka_unit_test(test_decide_sync_count_two_then_shrinks_to_one),
		cmocka_unit_test(test_decide_sync_count_two_swaps_in_a_third_replica),
		cmocka_unit_test(test_decide_sync_strict_keeps_waiting_for_the_key_standbys),
		cmocka_unit_test(
			test_decide_sync_strict_names_the_key_standbys_not_the_placeholder),
		cmocka_unit_test(test_decide_sync_priority_wins_over_position),
		cmocka_unit_test(test_decide_sync_lagging_standby_is_not_chosen),
		cmocka_unit_test(test_decide_sync_nofailover_standby_is_chosen_last),
		cmocka_unit_test(test_decide_shutdown_leader_stops_and_releases),
		cmocka_unit_test(test_decide_shutdown_paused_leaves_everything),
		cmocka_unit_test(test_action_names_round_trip),
		cmocka_unit_test(test_policy_check_accepts_fast_and_patroni_defaults),
		cmocka_unit_test(test_keepalive_schedule_fits_the_fence_window),
		cmocka_unit_test(test_policy_check_refuses_no_room_for_a_keepalive_retry),
		cmocka_unit_test(test_leader_deadline_is_the_later_proof_less_one_ping),
		cmocka_unit_test(test_policy_check_rejects_ttl_below_patroni_rule),
		cmocka_unit_test(test_decide_empty_holder_on_foreign_lease_releases),
		cmocka_unit_test(test_decide_primary_starting_without_key_is_stopped),
		cmocka_unit_test(test_decide_empty_node_without_leader_waits_for_one),
		cmocka_unit_test(test_decide_stopped_node_without_leader_starts_read_only),
		cmocka_unit_test(test_decide_first_call_after_start_is_not_a_stall),
		cmocka_unit_test(test_decide_monotonic_clock_going_back_tilts),
		cmocka_unit_test(test_policy_check_rejects_sync_without_standbys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
