/*
 * Unit tests for the role table: allowed changes stamp the time and produce the one log line,
 * refused ones change nothing and say why.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
