/*
 * Unit tests for the util layer: bounded buffers, number and duration parsing, log settings.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "num.h"

static void test_buf_copy_that_fits_copies(void **state)
{
	char dst[8];

	(void)state;
	assert_int_equal(buf_copy(dst, sizeof(dst), "primary"), 0);
	assert_string_equal(dst, "primary");
}

static void test_buf_copy_too_long_fails_and_leaves_dst(void **state)
{
	char dst[8] = "keep";

	(void)state;
	assert_int_equal(buf_copy(dst, sizeof(dst), "replica1"), -ENAMETOOLONG);
	assert_string_equal(dst, "keep");
}

static void test_buf_format_truncation_is_an_error(void **state)
{
	char dst[4];

	(void)state;
	assert_int_equal(buf_format(dst, sizeof(dst), "%d", 1234), -ENAMETOOLONG);
	assert_string_equal(dst, "");
	assert_int_equal(buf_format(dst, sizeof(dst), "%d", 123), 0);
	assert_string_equal(dst, "123");
}

static void test_buf_growable_refuses_past_limit(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "0123456789"), 0);
	assert_int_equal(buf_puts(&b, "x"), -ENOBUFS);
	assert_true(b.overflow);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	buf_done(&b);
}

static void test_buf_printf_grows_and_steal_hands_over(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%04d", i), 0);
	assert_int_equal(b.len, 4000);
	assert_memory_equal(b.data + 3996, "0999", 4);
	s = buf_steal(&b);
	assert_non_null(s);
	assert_int_equal(strlen(s), 4000);
	assert_null(b.data);
	free(s);
}

static void test_buf_fixed_never_reallocates(void **state)
{
	char storage[6];
	struct buf b;

	(void)state;
	buf_init_fixed(&b, storage, sizeof(storage));
	assert_int_equal(buf_puts(&b, "abcde"), 0);
	assert_int_equal(buf_puts(&b, "f"), -ENOBUFS);
	assert_ptr_equal(b.data, storage);
	assert_string_equal(storage, "abcde");
}

static void test_num_parse_i64_accepts_whole_numbers_in_range(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(num_parse_i64("30", 0, 100, &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(num_parse_i64("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
}

static void test_num_parse_i64_rejects_junk_and_range(void **state)
{
	int64_t v = 42;

	(void)state;
	assert_int_equal(num_parse_i64("", 0, 100, &v), -EINVAL);
	assert_int_equal(num_parse_i64(" 3", 0, 100, &v), -EINVAL);
	assert_int_equal(num_parse_i64("3 ", 0, 100, &v), -EINVAL);
	assert_int_equal(num_parse_i64("3x", 0, 100, &v), -EINVAL);
	assert_int_equal(num_parse_i64(NULL, 0, 100, &v), -EINVAL);
	assert_int_equal(num_parse_i64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(num_parse_i64("99999999999999999999", INT64_MIN, INT64_MAX, &v), -ERANGE);
	assert_int_equal(v, 42);
}

static void test_num_parse_u64_rejects_signs(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(num_parse_u64("-1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(num_parse_u64("+1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(num_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_num_parse_duration_plain_seconds_and_units(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(num_parse_duration_ms("10", 0, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(num_parse_duration_ms("2.5", 0, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(num_parse_duration_ms("500ms", 0, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(num_parse_duration_ms("5s", 0, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(num_parse_duration_ms("1m", 0, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(num_parse_duration_ms("1h", 0, INT64_MAX, &ms), 0);
	assert_int_equal(ms, 3600000);
}

static void test_num_is_whole_as_floor_would_say(void **state)
{
	static const double cases[] = { 0.0,
					-0.0,
					1.0,
					-1.0,
					0.5,
					-0.5,
					2.999999999999999,
					4503599627370495.5,
					9007199254740992.0,
					-9007199254740993.0,
					1e16,
					1e18,
					-1e18,
					9.2e18,
					1e-300 };
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(num_is_whole(cases[i]), cases[i] == floor(cases[i]));
	/* beyond int64, and not numbers: never whole */
	assert_false(num_is_whole(9223372036854775808.0));
	assert_false(num_is_whole(-1e19));
	assert_false(num_is_whole(NAN));
	assert_false(num_is_whole(INFINITY));
	assert_false(num_is_whole(-INFINITY));
}

static void test_num_round_halves_away_from_zero(void **state)
{
	(void)state;
	assert_true(num_round(2.5) == 3.0);
	assert_true(num_round(-2.5) == -3.0);
	assert_true(num_round(2.4999) == 2.0);
	assert_true(num_round(-2.4999) == -2.0);
	assert_true(num_round(0.5) == 1.0);
	assert_true(num_round(0.49999999999999994) == 0.0); /* x + 0.5 would give 1 */
	assert_true(num_round(7.0) == 7.0);
	assert_true(num_round(1e19) == 1e19); /* beyond int64: whole, unchanged */
	assert_true(num_round(-1e300) == -1e300);
	assert_true(num_round(4503599627370495.5) == 4503599627370496.0);
	assert_true(isnan(num_round(NAN)));
}

static void test_num_parse_duration_rejects_bad_units_and_range(void **state)
{
	int64_t ms = 1;

	(void)state;
	assert_int_equal(num_parse_duration_ms("5 s", 0, INT64_MAX, &ms), -EINVAL);
	assert_int_equal(num_parse_duration_ms("5parsecs", 0, INT64_MAX, &ms), -EINVAL);
	assert_int_equal(num_parse_duration_ms("s", 0, INT64_MAX, &ms), -EINVAL);
	assert_int_equal(num_parse_duration_ms("-1", 0, INT64_MAX, &ms), -ERANGE);
	assert_int_equal(num_parse_duration_ms("nan", 0, INT64_MAX, &ms), -EINVAL);
	assert_int_equal(num_parse_duration_ms("2s", 0, 1000, &ms), -ERANGE);
	assert_int_equal(ms, 1);
}

static void test_num_parse_bool_accepts_yaml_words(void **state)
{
	bool v = false;

	(void)state;
	assert_int_equal(num_parse_bool("On", &v), 0);
	assert_true(v);
	assert_int_equal(num_parse_bool("no", &v), 0);
	assert_false(v);
	assert_int_equal(num_parse_bool("maybe", &v), -EINVAL);
}

static void test_log_level_parse_accepts_patroni_names(void **state)
{
	enum log_level level = LOG_LEVEL_INFO;

	(void)state;
	assert_int_equal(log_level_parse("WARNING", &level), 0);
	assert_int_equal(level, LOG_LEVEL_WARNING);
	assert_int_equal(log_level_parse("CRITICAL", &level), 0);
	assert_int_equal(level, LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("loud", &level), -EINVAL);
	assert_int_equal(level, LOG_LEVEL_ERROR);
	assert_string_equal(log_level_name(LOG_LEVEL_NOTICE), "notice");
}

static void test_log_enabled_follows_threshold(void **state)
{
	(void)state;
	log_setup(LOG_LEVEL_WARNING, LOG_FORMAT_JSON, "node1");
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	assert_false(log_enabled(LOG_LEVEL_INFO));
	/* A message with characters JSON must escape must not crash or overflow. */
	log_warning("quote \" backslash \\ newline \n tab \t and a long tail %0*d", 4000, 7);
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, NULL);
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_clock_cond_deadline_is_on_the_monotonic_clock(void **state)
{
	struct timespec ts;
	int64_t at, now;

	(void)state;
	now = monotonic_ms();
	clock_cond_deadline(clock_mono_ms() + 500, &ts);
	at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* Half a second ahead on CLOCK_MONOTONIC, whatever CLOCK_BOOTTIME says. */
	assert_true(at >= now + 450 && at <= now + 600);
	assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	/* A deadline in the past is "now", never a wait. */
	clock_cond_deadline(clock_mono_ms() - 10000, &ts);
	at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_true(at >= now && at <= monotonic_ms() + 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_copy_that_fits_copies),
		cmocka_unit_test(test_buf_copy_too_long_fails_and_leaves_dst),
		cmocka_unit_test(test_buf_format_truncation_is_an_error),
		cmocka_unit_test(test_buf_growable_refuses_past_limit),
		cmocka_unit_test(test_buf_printf_grows_and_steal_hands_over),
		cmocka_unit_test(test_buf_fixed_never_reallocates),
		cmocka_unit_test(test_num_parse_i64_accepts_whole_numbers_in_range),
		cmocka_unit_test(test_num_parse_i64_rejects_junk_and_range),
		cmocka_unit_test(test_num_parse_u64_rejects_signs),
		cmocka_unit_test(test_num_parse_duration_plain_seconds_and_units),
		cmocka_unit_test(test_num_is_whole_as_floor_would_say),
		cmocka_unit_test(test_num_round_halves_away_from_zero),
		cmocka_unit_test(test_num_parse_duration_rejects_bad_units_and_range),
		cmocka_unit_test(test_num_parse_bool_accepts_yaml_words),
		cmocka_unit_test(test_log_level_parse_accepts_patroni_names),
		cmocka_unit_test(test_log_enabled_follows_threshold),
		cmocka_unit_test(test_clock_cond_deadline_is_on_the_monotonic_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
