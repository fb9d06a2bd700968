/*
 * Unit tests for the watchdog's timing (src/agent/watchdog.c): Patroni's timeout, the checks that
 * refuse what cannot hold, the ping limit against the lease's end, and the device calls on a
 * path that is no watchdog.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guardian.h"
#include "ha_decide.h"
#include "watchdog.h"

/* Patroni's defaults: ttl 30, loop_wait 10, retry_timeout 10. */
static struct ha_policy policy(int64_t ttl_ms, int64_t loop_wait_ms, int64_t retry_timeout_ms)
{
	struct ha_policy p;

	memset(&p, 0, sizeof(p));
	p.ttl_ms = ttl_ms;
	p.loop_wait_ms = loop_wait_ms;
	p.retry_timeout_ms = retry_timeout_ms;
	return p;
}

static void test_timeout_is_ttl_less_safety_margin_in_whole_seconds(void **state)
{
	(void)state;
	assert_int_equal(watchdog_timeout_s(30000, 5000), 25);
	/* -1: ttl / 2, as Patroni. */
	assert_int_equal(watchdog_timeout_s(30000, -1), 15);
	assert_int_equal(watchdog_timeout_s(5000, -1), 2);
	/* Rounded down: the device never fires later than asked. */
	assert_int_equal(watchdog_timeout_s(5500, 2000), 3);
	/* Under 1 s: none. */
	assert_int_equal(watchdog_timeout_s(5000, 5000), 0);
	assert_int_equal(watchdog_timeout_s(5000, 4500), 0);
	assert_int_equal(watchdog_timeout_s(2000, 5000), 0);
}

static void test_defaults_hold_and_fire_after_the_guardian(void **state)
{
	struct ha_policy p = policy(30000, 10000, 10000);
	char why[400];

	(void)state;
	assert_int_equal(watchdog_check_timing(&p, 5000, why, sizeof(why)), WATCHDOG_TIMING_OK);
	assert_string_equal(why, "");
	/* The guardian fences at ttl - margin + grace after a keepalive, well before 25 s. */
	assert_true(p.ttl_ms - ha_fence_margin_ms(&p, p.ttl_ms) + GUARDIAN_GRACE_MS +
			    GUARDIAN_QUIT_WAIT_MS <=
		    25000);
}

static void test_default_safety_margin_at_ttl_5_cannot_hold(void **state)
{
	struct ha_policy p = policy(5000, 1000, 1000);
	char why[400];

	(void)state;
	assert_int_equal(watchdog_check_timing(&p, 5000, why, sizeof(why)), WATCHDOG_TIMING_UNSAFE);
	assert_non_null(strstr(why, "under 1 s"));
}

static void test_ttl_5_with_half_the_ttl_fires_before_the_guardian(void **state)
{
	/* ttl 5, loop_wait 1, retry_timeout 1, safety_margin -1: 2 s, but the guardian fences at
	 * 5 - 1.05 + 0.1 = 4.05 s after a keepalive. */
	struct ha_policy p = policy(5000, 1000, 1000);
	char why[400];

	(void)state;
	assert_int_equal(watchdog_check_timing(&p, -1, why, sizeof(why)), WATCHDOG_TIMING_EARLY);
	assert_non_null(strstr(why, "4050 ms after a keepalive"));
}

static void test_integration_timing_holds(void **state)
{
	/* tests/integration/ha_watchdog.sh: ttl 10, loop_wait 1, retry_timeout 3, margin 2. */
	struct ha_policy p = policy(10000, 1000, 3000);

	(void)state;
	assert_int_equal(watchdog_timeout_s(p.ttl_ms, 2000), 8);
	assert_int_equal(watchdog_check_timing(&p, 2000, NULL, 0), WATCHDOG_TIMING_OK);
}

static void test_fast_profile_ttl_2_cannot_hold(void **state)
{
	/* ttl 2, loop_wait 500 ms, retry_timeout 500 ms (issue 14's fast profile). */
	struct ha_policy p = policy(2000, 500, 500);
	char why[400];

	(void)state;
	printf("fast profile: keepalive gap %lld ms, fence margin %lld ms\n",
	       (long long)(ha_keepalive_interval_ms(&p, true) + ha_keepalive_timeout_ms(&p, true)),
	       (long long)ha_fence_margin_ms(&p, p.ttl_ms));
	/* ttl / 2 = 1 s: the guardian's fence comes at 2 - 0.52 + 0.1 s, and stopping PostgreSQL
	 * may take 0.5 s more: the watchdog cannot wait for it. */
	assert_int_equal(watchdog_check_timing(&p, -1, why, sizeof(why)), WATCHDOG_TIMING_EARLY);
	printf("safety_margin -1: %s\n", why);
	/* safety_margin 5 at ttl 2: no timeout at all. */
	assert_int_equal(watchdog_check_timing(&p, 5000, why, sizeof(why)), WATCHDOG_TIMING_UNSAFE);
	assert_non_null(strstr(why, "under 1 s"));
}

static void test_timeout_shorter_than_loop_wait_is_unsafe(void **state)
{
	struct ha_policy p = policy(30000, 10000, 10000);
	char why[400];

	(void)state;
	/* 30 - 25 = 5 s < loop_wait: Patroni's timing_slack < 0. */
	assert_int_equal(watchdog_check_timing(&p, 25000, why, sizeof(why)),
			 WATCHDOG_TIMING_UNSAFE);
	assert_non_null(strstr(why, "shorter than the gap"));
}

static void test_no_safety_margin_leaves_no_time_to_ping(void **state)
{
	struct ha_policy p = policy(30000, 10000, 10000);
	char why[400];

	(void)state;
	assert_int_equal(watchdog_check_timing(&p, 0, why, sizeof(why)), WATCHDOG_TIMING_UNSAFE);
	assert_non_null(strstr(why, "before the lease ends"));
}

static void test_large_safety_margin_fires_before_the_guardian(void **state)
{
	/* ttl 30, retry_timeout 4: the fence comes at 30 - 4.3 = 25.7 s; a 20 s watchdog (margin
	 * 10) fires first: safe for the lease, but it resets what the guardian would only stop. */
	struct ha_policy p = policy(30000, 10000, 4000);
	char why[400];

	(void)state;
	assert_int_equal(watchdog_check_timing(&p, 10000, why, sizeof(why)), WATCHDOG_TIMING_EARLY);
	assert_non_null(strstr(why, "before the guardian's fence"));
	assert_int_equal(watchdog_check_timing(&p, 2000, why, sizeof(why)), WATCHDOG_TIMING_OK);
}

static void test_ping_limit_keeps_the_fire_time_before_the_lease_end(void **state)
{
	struct ha_policy p = policy(30000, 10000, 10000);
	int64_t renewed = 1000000;
	int64_t deadline = ha_fence_deadline_ms(&p, renewed, 0);
	int64_t limit = watchdog_ping_limit_ms(&p, deadline, 25);

	(void)state;
	/* A ping at the limit fires at limit + 25 s, the slack before renewed + ttl. */
	assert_int_equal(limit + 25000, renewed + p.ttl_ms - WATCHDOG_LEASE_SLACK_MS);
	/* It leaves the ping safety_margin less the slack after the keepalive's send. */
	assert_int_equal(limit - renewed, 5000 - WATCHDOG_LEASE_SLACK_MS);
	assert_int_equal(watchdog_ping_limit_ms(&p, 0, 25), 0);
}

/* The replica's member lease is renewed only every ha_keepalive_interval_ms(policy, false): the
 * cycle that promotes may come that long (and a cycle more) after the keepalive that proves it.
 * Opening the device starts it, so a full timeout from there fired after the lease could end:
 * the first timeout is cut to what the proof leaves, for every age of it. */
static void test_first_timeout_never_fires_after_the_lease_end(void **state)
{
	struct ha_policy p = policy(10000, 1000, 3000); /* integration.ha_watchdog */
	int t = watchdog_timeout_s(p.ttl_ms, 2000);
	int64_t renewed = 5000000, deadline = ha_fence_deadline_ms(&p, renewed, 0);
	int64_t fire_by = watchdog_fire_by_ms(&p, deadline);
	int64_t oldest = ha_keepalive_interval_ms(&p, false) + p.loop_wait_ms;
	bool old_was_late = false;

	(void)state;
	assert_int_equal(t, 8);
	/* fire_by is the slack before the earliest end of the lease in etcd (send time + ttl). */
	assert_int_equal(fire_by, renewed + p.ttl_ms - WATCHDOG_LEASE_SLACK_MS);
	for (int64_t age = 0; age <= oldest; age += 25) {
		int64_t now = renewed + age;
		int first = watchdog_first_timeout_s(t, fire_by, now);

		/* What the activation did before: a full timeout from the open. */
		if (now + (int64_t)t * 1000 > renewed + p.ttl_ms)
			old_was_late = true;
		if (first == 0) {
			/* refused only when not even 1 s is left before fire_by */
			assert_true(fire_by - now < 1000);
			continue;
		}
		assert_in_range(first, 1, t);
		assert_true(now + (int64_t)first * 1000 <= fire_by);
		/* and cut no more than needed: one more second would pass fire_by */
		if (first < t)
			assert_true(now + (int64_t)(first + 1) * 1000 > fire_by);
	}
	assert_true(old_was_late);
}

/* After the keepalive lease_renew_now has sent right before the activation, the first timeout
 * is the whole one and the device fires safety_margin before the lease's end, later only by the
 * keepalive's round trip and the hand-over, as after every later ping (and as Patroni, which
 * activates right after its lease refresh and key write). */
static void test_activation_on_a_fresh_keepalive_keeps_the_safety_margin(void **state)
{
	struct ha_policy p = policy(10000, 1000, 3000);
	int64_t sm = 2000;
	int t = watchdog_timeout_s(p.ttl_ms, sm);
	int64_t renewed = 5000000,
		fire_by = watchdog_fire_by_ms(&p, ha_fence_deadline_ms(&p, renewed, 0));

	(void)state;
	for (int64_t latency = 0; latency <= sm - WATCHDOG_LEASE_SLACK_MS; latency += 10) {
		int first = watchdog_first_timeout_s(t, fire_by, renewed + latency);

		assert_int_equal(first, t);
		/* fires at renewed + ttl - safety_margin + latency */
		assert_int_equal(renewed + latency + (int64_t)first * 1000,
				 renewed + p.ttl_ms - sm + latency);
	}
	/* A later activation on that proof is cut to stay before its end. */
	assert_int_equal(watchdog_first_timeout_s(t, fire_by, renewed + sm), t - 1);
	assert_int_equal(watchdog_first_timeout_s(t, fire_by, fire_by - 999), 0);
	assert_int_equal(watchdog_first_timeout_s(t, fire_by, fire_by), 0);
	assert_int_equal(watchdog_first_timeout_s(t, fire_by, fire_by + 5), 0);
	assert_int_equal(watchdog_fire_by_ms(&p, 0), 0);
}

/* The hint the warning gives: the safety_margin whose timing holds, or none at this ttl. */
static void test_safety_margin_hint(void **state)
{
	struct ha_policy patroni = policy(30000, 10000, 10000), itest = policy(10000, 1000, 3000);
	struct ha_policy ttl5 = policy(5000, 1000, 1000), fast = policy(2000, 500, 500);
	int64_t sm;

	(void)state;
	sm = watchdog_safety_margin_hint_ms(&patroni);
	assert_true(sm >= 0);
	assert_int_equal(watchdog_check_timing(&patroni, sm, NULL, 0), WATCHDOG_TIMING_OK);
	/* the longest timeout that holds: one second more does not */
	assert_int_not_equal(watchdog_check_timing(&patroni, sm - 1000, NULL, 0),
			     WATCHDOG_TIMING_OK);
	sm = watchdog_safety_margin_hint_ms(&itest);
	assert_int_equal(watchdog_check_timing(&itest, sm, NULL, 0), WATCHDOG_TIMING_OK);
	/* ttl 5 (the default safety_margin 5 gives no timeout) and the fast profile: none fits */
	assert_int_equal(watchdog_safety_margin_hint_ms(&ttl5), -1);
	assert_int_equal(watchdog_safety_margin_hint_ms(&fast), -1);
}

static void test_open_of_a_file_that_is_no_watchdog_fails(void **state)
{
	char msg[300], identity[64];
	int fd = -1, actual = 0;
	bool can_stop = false;

	(void)state;
	assert_int_equal(watchdog_open("/nonexistent/watchdog", 10, &fd, &actual, &can_stop,
				       identity, sizeof(identity), msg, sizeof(msg)),
			 -ENOENT);
	assert_non_null(strstr(msg, "could not open"));
	/* /dev/null opens but answers no watchdog ioctl. */
	assert_true(watchdog_open("/dev/null", 10, &fd, &actual, &can_stop, identity,
				  sizeof(identity), msg, sizeof(msg)) < 0);
	assert_non_null(strstr(msg, "capabilities"));
	assert_int_equal(fd, -1);
	assert_false(watchdog_device_usable("/nonexistent/watchdog"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_is_ttl_less_safety_margin_in_whole_seconds),
		cmocka_unit_test(test_defaults_hold_and_fire_after_the_guardian),
		cmocka_unit_test(test_default_safety_margin_at_ttl_5_cannot_hold),
		cmocka_unit_test(test_ttl_5_with_half_the_ttl_fires_before_the_guardian),
		cmocka_unit_test(test_integration_timing_holds),
		cmocka_unit_test(test_fast_profile_ttl_2_cannot_hold),
		cmocka_unit_test(test_timeout_shorter_than_loop_wait_is_unsafe),
		cmocka_unit_test(test_no_safety_margin_leaves_no_time_to_ping),
		cmocka_unit_test(test_large_safety_margin_fires_before_the_guardian),
		cmocka_unit_test(test_ping_limit_keeps_the_fire_time_before_the_lease_end),
		cmocka_unit_test(test_first_timeout_never_fires_after_the_lease_end),
		cmocka_unit_test(test_activation_on_a_fresh_keepalive_keeps_the_safety_margin),
		cmocka_unit_test(test_safety_margin_hint),
		cmocka_unit_test(test_open_of_a_file_that_is_no_watchdog_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
