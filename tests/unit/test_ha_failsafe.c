/*
 * Failsafe mode when etcd calls time out rather than fail (issue 18's finding): the timing that
 * lets the round of POST /failsafe go out and end before the fence deadline, and the decisions
 * around it. The rest of ha_decide's focused tests are in test_ha_decide.c.
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

/* ---- the timing ---- */

/* The failsafe round fits between the start of the cycle that first meets a silent etcd
 * (loop_wait after the last proof) and the fence deadline, at every timing Patroni's rule allows:
 * the cycle's etcd calls end by ha_leader_deadline_ms, then one round of ha_failsafe_ping_timeout_ms.
 */
static void test_failsafe_round_fits_before_the_fence(void **state)
{
	static const int64_t shapes[][3] = {
		{ 30000, 10000, 10000 }, /* Patroni's defaults */
		{ 6000, 2000, 2000 }, /* the same shape scaled down, ttl = loop_wait + 2 x retry */
		{ 5000, 1000, 2000 }, /* the fault suite's fast timing */
		{ 5000, 1000, 1000 }, /* docs/timing.md's fast settings */
		{ 4000, 2000, 1000 },	 { 60000, 10000, 25000 },
	};
	const int64_t r = 100000;

	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct ha_policy p = { .ttl_ms = shapes[i][0],
				       .loop_wait_ms = shapes[i][1],
				       .retry_timeout_ms = shapes[i][2],
				       .failsafe_mode = true };
		int64_t fence = ha_fence_deadline_ms(&p, r, 0);
		int64_t ask = ha_leader_deadline_ms(&p, r, 0, 0);
		int64_t ping = ha_failsafe_ping_timeout_ms(&p);
		char err[256];

		assert_int_equal(ha_policy_check(&p, err, sizeof(err)), 0);
		/* the next cycle starts loop_wait after r; its keepalive still gets some time */
		assert_true(ask > r + p.loop_wait_ms);
		/* the round ends by the fence deadline, and every ack comes within retry_timeout */
		assert_true(ask + ping <= fence);
		assert_true(ping >= HA_FAILSAFE_PING_MIN_MS && ping <= p.retry_timeout_ms &&
			    ping <= HA_FAILSAFE_PING_MAX_MS);
		/* a full round at ask proves until its own fence, later than the lease's */
		assert_true(ha_fence_deadline_ms(&p, ask, 0) > fence);
		/* without failsafe mode the deadline is the lease's own */
		p.failsafe_mode = false;
		assert_int_equal(ha_leader_deadline_ms(&p, r, 0, 0), fence);
	}
}

/* The cap on a leader's etcd calls: the deadline while ahead; late, in failsafe mode, half of what
 * is left of the proof, so a round still fits; none once the proof is gone or without failsafe. */
static void test_leader_call_cap_leaves_time_for_a_round(void **state)
{
	struct ha_policy p = { .ttl_ms = 5000, .loop_wait_ms = 1000, .retry_timeout_ms = 2000 };
	const int64_t r = 100000;
	int64_t fence = ha_fence_deadline_ms(&p, r, 0), ask;

	(void)state;
	assert_int_equal(ha_leader_call_cap_ms(&p, 0, 0, 0, r), 0);
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, 0, r + 1000), fence);
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, 0, fence + 1), 0);
	p.failsafe_mode = true;
	ask = ha_leader_deadline_ms(&p, r, 0, 0);
	assert_int_equal(ask, fence - ha_failsafe_ping_timeout_ms(&p));
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, 0, r + 1000), ask);
	/* 400 ms left of the lease's proof: the call gets 200, the round the rest */
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, 0, fence - 400), fence - 200);
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, 0, fence - 1), fence);
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, 0, fence), 0);
	/* a full round's proof counts the same way */
	assert_int_equal(ha_leader_call_cap_ms(&p, r, 0, r + 3000, fence),
			 ha_leader_deadline_ms(&p, r, 0, r + 3000));
}

/* ---- the decisions ---- */

/* Patroni's default timing scaled down (ttl 6, loop_wait 2, retry_timeout 2): the keepalive of
 * the cycle after the last renewal times out. The loop bounds it by ha_leader_deadline_ms, so the
 * decision comes while the lease still proves, asks the members, and a full round keeps the
 * primary (the finding of issue 18: it used to reach ha_decide past the fence and demote). */
static void failsafe_primary_6_2_2(void)
{
	fix_primary(&in);
	in.policy.ttl_ms = 6000;
	in.policy.loop_wait_ms = 2000;
	in.policy.retry_timeout_ms = 2000;
	in.policy.failsafe_mode = true;
	in.dcs.lease_ttl_ms = 6000;
	in.dcs.failsafe_present = true;
	fix_names_add(&in.dcs.failsafe, "node1");
	fix_names_add(&in.dcs.failsafe, "node2");
	fix_names_add(&in.dcs.failsafe, "node3");
	in.dcs.reachable = false;
	in.dcs.lease_renewed_ms = FIX_NOW_MS - 2000;
	in.last_call_ms = FIX_NOW_MS - 2000;
	in.now_wall_ms = 0; /* the monotonic clock alone: no wall clock jump to see */
	/* the cycle started at FIX_NOW_MS; its keepalive timed out at the loop's cap */
	in.now_ms = ha_leader_deadline_ms(&in.policy, in.dcs.lease_renewed_ms, 0, 0);
}

static void test_decide_failsafe_keepalive_timeout_asks_before_fence(void **state)
{
	int64_t fence, sent;

	(void)state;
	failsafe_primary_6_2_2();
	fence = ha_fence_deadline_ms(&in.policy, in.dcs.lease_renewed_ms, 0);
	assert_true(in.now_ms > FIX_NOW_MS);
	decide();
	assert_action("ping-failsafe");
	assert_true(out.leader);
	/* every member acks; the round took its whole timeout and ends at the fence */
	sent = in.now_ms;
	in.failsafe.done = true;
	in.failsafe.acked_ms = sent;
	in.now_ms = sent + ha_failsafe_ping_timeout_ms(&in.policy);
	assert_true(in.now_ms <= fence);
	decide();
	assert_action("none");
	assert_true(out.leader);
	assert_int_equal(out.fence_deadline_ms, ha_fence_deadline_ms(&in.policy, sent, 0));
	/* past the lease's fence the acks alone keep it */
	in.last_call_ms = in.now_ms;
	in.now_ms = fence + 500;
	decide();
	assert_action("none");
	assert_reason_has("failsafe mode is enabled and all members are accessible");
	assert_true(out.leader);
}

static void test_decide_failsafe_keepalive_timeout_partial_acks_demote(void **state)
{
	int64_t fence;

	(void)state;
	failsafe_primary_6_2_2();
	fence = ha_fence_deadline_ms(&in.policy, in.dcs.lease_renewed_ms, 0);
	decide();
	assert_action("ping-failsafe");
	/* node3 refused: no proof, the loop comes back by the fence and demotes there */
	in.failsafe.done = true;
	in.now_ms += 10;
	decide();
	assert_action("none");
	assert_int_equal(out.fence_deadline_ms, fence);
	assert_true(out.wake_by_ms <= fence);
	in.last_call_ms = in.now_ms;
	in.now_ms = fence;
	in.failsafe.done = false;
	decide();
	assert_action("demote");
	assert_mode("offline");
	assert_false(out.leader);
	/* a round that waited its whole timeout for node3 ends at the fence: demote there too */
	failsafe_primary_6_2_2();
	decide();
	assert_action("ping-failsafe");
	in.failsafe.done = true;
	in.now_ms += ha_failsafe_ping_timeout_ms(&in.policy);
	assert_true(in.now_ms <= fence);
	decide();
	assert_action("demote");
	assert_false(out.leader);
}

static void test_decide_failsafe_reached_past_fence_still_demotes(void **state)
{
	(void)state;
	/* A decision that comes too late (the loop could not bound its calls) never keeps a
	 * primary on a round it has not made yet: the fencing rule wins over the ping. */
	failsafe_primary_6_2_2();
	in.now_ms = ha_fence_deadline_ms(&in.policy, in.dcs.lease_renewed_ms, 0);
	decide();
	assert_action("demote");
	assert_false(out.leader);
}

static void test_decide_failsafe_wakes_one_round_before_the_fence(void **state)
{
	(void)state;
	fix_primary(&in);
	in.policy.failsafe_mode = true;
	decide();
	assert_action("none");
	assert_int_equal(out.wake_by_ms,
			 out.fence_deadline_ms - ha_failsafe_ping_timeout_ms(&in.policy));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_failsafe_keepalive_timeout_asks_before_fence),
		cmocka_unit_test(test_decide_failsafe_keepalive_timeout_partial_acks_demote),
		cmocka_unit_test(test_decide_failsafe_reached_past_fence_still_demotes),
		cmocka_unit_test(test_decide_failsafe_wakes_one_round_before_the_fence),
		cmocka_unit_test(test_failsafe_round_fits_before_the_fence),
		cmocka_unit_test(test_leader_call_cap_leaves_time_for_a_round),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
