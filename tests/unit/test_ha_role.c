/*
 * Unit tests for the role table: allowed changes stamp the time and produce the one log line,
 * refused ones change nothing and say why. Also the pace and voice of a failing action
 * (ha_retry.h), the other small pure policy of the core.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_retry.h"
#include "ha_role.h"

static void test_role_change_allowed_stamps_and_logs(void **state)
{
	struct ha_role_state st;
	char line[HA_ROLE_LOGLINE_MAX];

	(void)state;
	ha_role_init(&st, HA_ROLE_REPLICA, 100);
	assert_int_equal(
		ha_role_change(&st, HA_ROLE_PROMOTING, 250, "won the race", line, sizeof(line)), 0);
	assert_int_equal(st.role, HA_ROLE_PROMOTING);
	assert_int_equal(st.role_since_ms, 250);
	assert_string_equal(line, "role \"replica\" -> \"promoting\": won the race");
}

static void test_role_replica_to_primary_is_refused_without_promotion(void **state)
{
	struct ha_role_state st;
	char line[HA_ROLE_LOGLINE_MAX];

	(void)state;
	ha_role_init(&st, HA_ROLE_REPLICA, 100);
	assert_int_equal(ha_role_change(&st, HA_ROLE_PRIMARY, 250, "shortcut", line, sizeof(line)),
			 -EPERM);
	assert_int_equal(st.role, HA_ROLE_REPLICA);
	assert_int_equal(st.role_since_ms, 100);
	assert_non_null(strstr(line, "refused: a replica becomes primary only through promotion"));
}

static void test_role_primary_to_replica_is_refused_without_demotion(void **state)
{
	struct ha_role_state st;
	char line[HA_ROLE_LOGLINE_MAX];

	(void)state;
	ha_role_init(&st, HA_ROLE_PRIMARY, 1);
	assert_int_equal(ha_role_change(&st, HA_ROLE_REPLICA, 2, "x", line, sizeof(line)), -EPERM);
	assert_int_equal(st.role, HA_ROLE_PRIMARY);
}

static void test_role_unlisted_change_is_refused(void **state)
{
	struct ha_role_state st;
	char line[HA_ROLE_LOGLINE_MAX];

	(void)state;
	ha_role_init(&st, HA_ROLE_CLONING, 1);
	assert_int_equal(ha_role_change(&st, HA_ROLE_DEMOTING, 2, "x", line, sizeof(line)), -EPERM);
	assert_non_null(strstr(line, "no such transition"));
}

static void test_role_same_role_is_already(void **state)
{
	struct ha_role_state st;
	char line[HA_ROLE_LOGLINE_MAX] = "untouched";

	(void)state;
	ha_role_init(&st, HA_ROLE_PRIMARY, 1);
	assert_int_equal(ha_role_change(&st, HA_ROLE_PRIMARY, 2, "x", line, sizeof(line)),
			 -EALREADY);
	assert_int_equal(st.role_since_ms, 1);
	assert_string_equal(line, "untouched");
}

static void test_role_small_logline_changes_nothing(void **state)
{
	struct ha_role_state st;
	char line[16];

	(void)state;
	ha_role_init(&st, HA_ROLE_REPLICA, 1);
	assert_int_equal(
		ha_role_change(&st, HA_ROLE_PROMOTING, 2, "won the race", line, sizeof(line)),
		-ENAMETOOLONG);
	assert_int_equal(st.role, HA_ROLE_REPLICA);
	assert_int_equal(st.role_since_ms, 1);
}

static void test_role_bad_arguments_are_rejected(void **state)
{
	struct ha_role_state st;
	char line[HA_ROLE_LOGLINE_MAX];

	(void)state;
	ha_role_init(&st, HA_ROLE_REPLICA, 1);
	assert_int_equal(ha_role_change(&st, HA_ROLE_COUNT_, 2, "x", line, sizeof(line)), -EINVAL);
	assert_int_equal(ha_role_change(&st, HA_ROLE_PROMOTING, 2, "", line, sizeof(line)),
			 -EINVAL);
	assert_int_equal(ha_role_change(&st, HA_ROLE_PROMOTING, 2, NULL, line, sizeof(line)),
			 -EINVAL);
	assert_int_equal(st.role, HA_ROLE_REPLICA);
}

/* Every role can be left and reached, so no role is a trap, and the happy paths of the HA loop
 * (failover, switchover, crash, bootstrap, clone) are all in the table. */
static void test_role_table_covers_the_lifecycles(void **state)
{
	static const enum ha_role paths[][6] = {
		{ HA_ROLE_UNINITIALIZED, HA_ROLE_BOOTSTRAPPING, HA_ROLE_PRIMARY, HA_ROLE_DEMOTING,
		  HA_ROLE_REPLICA, HA_ROLE_PROMOTING },
		{ HA_ROLE_UNINITIALIZED, HA_ROLE_CLONING, HA_ROLE_REPLICA, HA_ROLE_PROMOTING,
		  HA_ROLE_PRIMARY, HA_ROLE_STOPPED },
		{ HA_ROLE_STOPPED, HA_ROLE_REJOINING, HA_ROLE_REPLICA, HA_ROLE_STOPPED,
		  HA_ROLE_PRIMARY, HA_ROLE_DEMOTING },
		/* an agent restarted beside its crashed primary after another member took over:
		 * its first act is the rewind */
		{ HA_ROLE_UNINITIALIZED, HA_ROLE_REJOINING, HA_ROLE_REPLICA, HA_ROLE_PROMOTING,
		  HA_ROLE_PRIMARY, HA_ROLE_DEMOTING },
	};
	bool reached[HA_ROLE_COUNT_] = { false }, left[HA_ROLE_COUNT_] = { false };

	(void)state;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (int i = 0; i + 1 < 6; i++) {
			const char *why = NULL;

			assert_true(ha_role_allowed(paths[p][i], paths[p][i + 1], &why));
			assert_non_null(why);
		}
	}
	for (int f = 0; f < HA_ROLE_COUNT_; f++) {
		for (int t = 0; t < HA_ROLE_COUNT_; t++) {
			const char *why = NULL;

			if (ha_role_allowed(f, t, &why) && f != t) {
				left[f] = true;
				reached[t] = true;
			}
			assert_non_null(why);
			assert_true(why[0] != '\0');
		}
	}
	for (int r = 0; r < HA_ROLE_COUNT_; r++) {
		assert_true(left[r]);
		assert_true(reached[r]);
	}
}

static void test_role_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < HA_ROLE_COUNT_; i++) {
		enum ha_role r;

		assert_string_not_equal(ha_role_name((enum ha_role)i), "?");
		assert_int_equal(ha_role_from_name(ha_role_name((enum ha_role)i), &r), 0);
		assert_int_equal(r, i);
	}
	assert_string_equal(ha_role_name(HA_ROLE_COUNT_), "?");
	assert_int_equal(ha_role_from_name("master", &(enum ha_role){ 0 }), -EINVAL);
}

/* Issue 11: a start that cannot succeed was retried every 50 ms with a warning each time. */
static void test_retry_same_failure_backs_off_to_loop_wait_and_reports_once(void **state)
{
	struct ha_retry r = { 0 };
	int64_t now = 1000, waited = 0;
	int reports = 0;

	(void)state;
	assert_int_equal(ha_retry_wait_ms(&r, 50, 1000), 50); /* after an action that worked */
	for (int i = 0; i < 20; i++) {
		enum ha_retry_say say = ha_retry_note(&r, "could not start: no such file", now);
		int64_t w = ha_retry_wait_ms(&r, 50, 1000);

		reports += say == HA_RETRY_REPORT;
		assert_true(say == HA_RETRY_REPORT || say == HA_RETRY_SILENT);
		assert_true(w >= waited && w <= 1000);
		waited = w;
		now += w;
	}
	assert_int_equal(reports, 1);
	assert_int_equal(waited, 1000);
	assert_int_equal(r.count, 20);
	/* 20 retries spread over more than 10 s instead of 1 s */
	assert_true(now - 1000 > 10000);
}

static void test_retry_changed_failure_is_reported_and_the_end_is_said(void **state)
{
	struct ha_retry r = { 0 };

	(void)state;
	assert_int_equal(ha_retry_note(&r, NULL, 0), HA_RETRY_SILENT);
	assert_int_equal(ha_retry_note(&r, "", 0), HA_RETRY_SILENT);
	assert_int_equal(ha_retry_note(&r, "could not follow: a", 10), HA_RETRY_REPORT);
	assert_int_equal(ha_retry_note(&r, "could not follow: a", 20), HA_RETRY_SILENT);
	assert_int_equal(ha_retry_note(&r, "could not follow: b", 30), HA_RETRY_REPORT);
	assert_int_equal(r.count, 3);
	assert_int_equal(r.same, 1);
	assert_int_equal(ha_retry_note(&r, NULL, 40), HA_RETRY_RECOVERED);
	assert_string_equal(r.cleared, "could not follow: b");
	assert_int_equal(r.count, 0);
	assert_int_equal(ha_retry_wait_ms(&r, 50, 1000), 50);
	/* the same text after a success is new again */
	assert_int_equal(ha_retry_note(&r, "could not follow: b", 50), HA_RETRY_REPORT);
	assert_int_equal(ha_retry_note(&r, NULL, 60), HA_RETRY_RECOVERED);
	assert_int_equal(ha_retry_note(&r, NULL, 70), HA_RETRY_SILENT);
}

static void test_retry_lasting_failure_is_reminded_once_a_minute(void **state)
{
	struct ha_retry r = { 0 };
	int reminders = 0;

	(void)state;
	assert_int_equal(ha_retry_note(&r, "x", 0), HA_RETRY_REPORT);
	for (int64_t t = 1000; t <= 3 * HA_RETRY_REMIND_MS; t += 1000)
		reminders += ha_retry_note(&r, "x", t) == HA_RETRY_REMIND;
	assert_int_equal(reminders, 3);
	assert_int_equal(r.same, 1 + 3 * HA_RETRY_REMIND_MS / 1000);
}

static void test_retry_wait_never_exceeds_loop_wait_nor_overflows(void **state)
{
	struct ha_retry r = { .count = INT64_MAX };

	(void)state;
	assert_int_equal(ha_retry_wait_ms(&r, 50, 10000), 10000);
	r.count = 2;
	assert_int_equal(ha_retry_wait_ms(&r, 50, 10000), 100);
	r.count = 1;
	assert_int_equal(ha_retry_wait_ms(&r, 50, 10000), 50);
	assert_int_equal(ha_retry_wait_ms(&r, 50, 20), 20);
}

static void test_retry_long_failure_text_is_kept_by_its_start(void **state)
{
	static char text[3 * HA_RETRY_TEXT_MAX];
	struct ha_retry r = { 0 };

	(void)state;
	memset(text, 'e', sizeof(text) - 1);
	assert_int_equal(ha_retry_note(&r, text, 0), HA_RETRY_REPORT);
	assert_int_equal(strlen(r.last), HA_RETRY_TEXT_MAX - 1);
	assert_int_equal(ha_retry_note(&r, text, 1), HA_RETRY_SILENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_change_allowed_stamps_and_logs),
		cmocka_unit_test(test_role_replica_to_primary_is_refused_without_promotion),
		cmocka_unit_test(test_role_primary_to_replica_is_refused_without_demotion),
		cmocka_unit_test(test_role_unlisted_change_is_refused),
		cmocka_unit_test(test_role_same_role_is_already),
		cmocka_unit_test(test_role_small_logline_changes_nothing),
		cmocka_unit_test(test_role_bad_arguments_are_rejected),
		cmocka_unit_test(test_role_table_covers_the_lifecycles),
		cmocka_unit_test(test_role_names_round_trip),
		cmocka_unit_test(test_retry_same_failure_backs_off_to_loop_wait_and_reports_once),
		cmocka_unit_test(test_retry_changed_failure_is_reported_and_the_end_is_said),
		cmocka_unit_test(test_retry_lasting_failure_is_reminded_once_a_minute),
		cmocka_unit_test(test_retry_wait_never_exceeds_loop_wait_nor_overflows),
		cmocka_unit_test(test_retry_long_failure_text_is_kept_by_its_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
