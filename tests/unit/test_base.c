/*
 * Unit tests for the ground floor's shared concepts: LSNs, ISO 8601 timestamps, base64, the JSON
 * merge with Patroni's patch_config semantics, member names and error messages.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "base64.h"
#include "err.h"
#include "histogram.h"
#include "hostport.h"
#include "json_merge.h"
#include "kvtext.h"
#include "lsn.h"
#include "name.h"
#include "timefmt.h"
#include "zpages.h"

static void test_lsn_parse_and_format_round_trip(void **state)
{
	uint64_t lsn = 0;
	char text[LSN_TEXT_MAX];

	(void)state;
	assert_int_equal(lsn_parse("16/B374D848", &lsn), 0);
	assert_true(lsn == ((uint64_t)0x16 << 32 | 0xB374D848));
	lsn_format(lsn, text);
	assert_string_equal(text, "16/B374D848");
	assert_int_equal(lsn_parse("FFFFFFFF/FFFFFFFF", &lsn), 0);
	assert_true(lsn == UINT64_MAX);
	lsn_format(0, text);
	assert_string_equal(text, "0/0");
}

static void test_lsn_parse_rejects_junk_and_leaves_output(void **state)
{
	const char *bad[] = { "",     "/",    "0/",   "/0",	     "16B374D848", "1/2/3",
			      "-1/0", " 1/0", "1/0 ", "123456789/0", "g/0",	   "0x1/0" };
	uint64_t lsn = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lsn_parse(bad[i], &lsn), -EINVAL);
		assert_true(lsn == 42);
	}
	assert_int_equal(lsn_parse(NULL, &lsn), -EINVAL);
}

static void test_time_parse_iso_accepts_patroni_forms(void **state)
{
	int64_t ms = 0;
	char norm[TIME_ISO_MAX];

	(void)state;
	assert_int_equal(time_parse_iso("2026-11-21T10:00:00+00:00", &ms, norm, sizeof(norm)),
			 TIME_OK);
	assert_true(ms == 1795255200000LL);
	assert_string_equal(norm, "2026-11-21T10:00:00+00:00");
	assert_int_equal(time_parse_iso("2026-11-21 12:00Z", &ms, NULL, 0), TIME_OK);
	assert_true(ms == 1795262400000LL);
	assert_int_equal(time_parse_iso("2026-11-21T12:00:00.5+0200", &ms, norm, sizeof(norm)),
			 TIME_OK);
	assert_true(ms == 1795255200500LL);
	assert_string_equal(norm, "2026-11-21T12:00:00.500000+02:00");
	assert_int_equal(time_parse_iso("2024-02-29T00:00:00-01:30", &ms, NULL, 0), TIME_OK);
}

static void test_time_parse_iso_is_strict(void **state)
{
	const char *bad[] = { "",
			      "tomorrow",
			      "2026-11-21",
			      "2026-11-21T25:00:00Z",
			      "2026-02-29T00:00:00Z",
			      "2026-13-01T00:00:00Z",
			      "2026-11-21T10:00:00+",
			      "2026-11-21T10:00:00+00:0",
			      "2026-11-21T10:00:00Zjunk",
			      "2026-11-21T10:00:00+24:00",
			      "2026-11-21T10:00:00.Z",
			      "26-11-21T10:00Z" };
	int64_t ms = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(time_parse_iso(bad[i], &ms, NULL, 0), TIME_UNPARSABLE);
	assert_int_equal(time_parse_iso("2026-11-21T10:00:00", &ms, NULL, 0), TIME_NO_ZONE);
	assert_true(ms == 7);
}

static void test_time_format_iso_inverts_parse(void **state)
{
	char text[TIME_ISO_MAX];
	int64_t ms = 0;

	(void)state;
	time_format_iso(1795255200123LL, text);
	assert_string_equal(text, "2026-11-21T10:00:00.123+00:00");
	assert_int_equal(time_parse_iso(text, &ms, NULL, 0), TIME_OK);
	assert_true(ms == 1795255200123LL);
	time_format_iso(0, text);
	assert_string_equal(text, "1970-01-01T00:00:00.000+00:00");
}

static void test_base64_round_trip_and_rejects_junk(void **state)
{
	char enc[BASE64_ENCODED_CAP(5)], dec[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(base64_encode("a:b:c", 5, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "YTpiOmM=");
	assert_int_equal(base64_decode(enc, strlen(enc), dec, sizeof(dec), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(dec, "a:b:c", 5);
	assert_int_equal(base64_encode("a:b:c", 5, enc, sizeof(enc) - 1), -ENAMETOOLONG);
	assert_int_equal(base64_decode("YTp", 3, dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(base64_decode("Y=pi", 4, dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(base64_decode("YT!i", 4, dec, sizeof(dec), &n), -EINVAL);
	assert_int_equal(base64_decode("YTpiOmM=", 8, dec, 5, &n), -ENAMETOOLONG);
}

/* Patroni's patch_config: null deletes, objects merge, other values replace; a new subtree
 * keeps its nulls. */
static void test_json_merge_follows_patroni_patch_config(void **state)
{
	char out[512], err[128];
	bool changed = false;

	(void)state;
	assert_int_equal(
		json_merge_patch(
			"{\"ttl\":30,\"postgresql\":{\"parameters\":{\"a\":1,\"b\":2}},\"x\":{"
			"\"y\":1}}",
			"{\"ttl\":null,\"postgresql\":{\"parameters\":{\"a\":null,\"c\":3}},"
			"\"x\":5,\"new\":{\"k\":null}}",
			out, sizeof(out), &changed, err, sizeof(err)),
		0);
	assert_true(changed);
	assert_string_equal(out, "{\"postgresql\":{\"parameters\":{\"b\":2,\"c\":3}},\"x\":5,"
				 "\"new\":{\"k\":null}}");
}

static void test_json_merge_reports_no_change(void **state)
{
	char out[128], err[128];
	bool changed = true;

	(void)state;
	assert_int_equal(json_merge_patch("{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1},\"gone\":null}",
					  out, sizeof(out), &changed, err, sizeof(err)),
			 0);
	assert_false(changed);
	assert_string_equal(out, "{\"a\":{\"b\":1}}");
}

static void test_json_merge_refuses_non_objects_and_trailing_garbage(void **state)
{
	char out[64] = "keep", err[128];
	bool changed = false;

	(void)state;
	assert_int_equal(
		json_merge_patch("{}", "[1]", out, sizeof(out), &changed, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "the patch is not a JSON object");
	assert_int_equal(
		json_merge_patch("{}", "{\"a\":1} x", out, sizeof(out), &changed, err, sizeof(err)),
		-EINVAL);
	assert_int_equal(
		json_merge_patch("nope", "{\"a\":1}", out, sizeof(out), &changed, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "the document is not a JSON object");
	assert_int_equal(json_merge_patch("{}",
					  "{\"a\":\"0123456789012345678901234567890123456789"
					  "012345678901234567890123\"}",
					  out, sizeof(out), &changed, err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_string_equal(out, "keep");
}

static void test_member_name_limit_is_63_bytes(void **state)
{
	char name[MEMBER_NAME_MAX] = "keep";
	char long_name[80];

	(void)state;
	memset(long_name, 'n', sizeof(long_name));
	long_name[MEMBER_NAME_LEN] = '\0';
	assert_true(member_name_valid(long_name));
	assert_int_equal(member_name_copy(name, long_name), 0);
	assert_string_equal(name, long_name);
	long_name[MEMBER_NAME_LEN] = 'n';
	long_name[MEMBER_NAME_LEN + 1] = '\0';
	assert_false(member_name_valid(long_name));
	assert_int_equal(member_name_copy(name, long_name), -ENAMETOOLONG);
	assert_int_equal(member_name_copy(name, ""), -EINVAL);
	assert_int_equal(member_name_copy(name, "a\nb"), -EINVAL);
	assert_false(member_name_valid(NULL));
}

static void test_err_fail_formats_and_returns_the_code(void **state)
{
	char err[16];

	(void)state;
	assert_int_equal(err_fail(err, sizeof(err), -EINVAL, "bad \"%s\"", "x"), -EINVAL);
	assert_string_equal(err, "bad \"x\"");
	assert_int_equal(err_fail(NULL, 0, -ENOENT, "ignored"), -ENOENT);
	err_set(err, sizeof(err), "%s", "a message longer than sixteen bytes");
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_hostport_from_url_reads_member_urls(void **state)
{
	char host[HOSTPORT_HOST_MAX] = "keep";
	int port = 0;

	(void)state;
	assert_int_equal(hostport_from_url("postgres://10.0.0.2:5433/postgres", 5432, host,
					   sizeof(host), &port),
			 0);
	assert_string_equal(host, "10.0.0.2");
	assert_int_equal(port, 5433);
	assert_int_equal(hostport_from_url("postgresql://rep@[::1]/postgres?sslmode=require", 5432,
					   host, sizeof(host), &port),
			 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 5432);
	assert_int_equal(
		hostport_from_url("http://node1:8008/patroni", 0, host, sizeof(host), &port), 0);
	assert_string_equal(host, "node1");
	assert_int_equal(port, 8008);
	assert_int_equal(hostport_from_url("node1:5432", 5432, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_from_url("postgres:///db", 5432, host, sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(
		hostport_from_url("postgres://h:99999/db", 5432, host, sizeof(host), &port),
		-EINVAL);
	assert_string_equal(host, "node1");
}

static void test_kvtext_value_reads_controldata_lines(void **state)
{
	const char *text = "pg_control version number:            1300\r\n"
			   "Database cluster state:               in production  \n"
			   "Empty:\n";
	char out[32] = "keep";

	(void)state;
	assert_true(kvtext_value(text, "Database cluster state", out, sizeof(out)));
	assert_string_equal(out, "in production");
	assert_true(kvtext_value(text, "pg_control version number", out, sizeof(out)));
	assert_string_equal(out, "1300");
	assert_false(kvtext_value(text, "Empty", out, sizeof(out)));
	assert_false(kvtext_value(text, "Database cluster", out, sizeof(out)));
	assert_false(kvtext_value(text, "Database cluster state", out, 5));
	assert_string_equal(out, "1300");
}

static void test_histogram_counts_each_value_in_its_bucket_and_cumulates(void **state)
{
	struct histogram h = { 0 };

	(void)state;
	histogram_observe_us(&h, -5);	    /* counts as 0: the first bucket */
	histogram_observe_us(&h, 1000);	    /* on the 1 ms bound: still the first bucket */
	histogram_observe_us(&h, 1001);	    /* 2.5 ms bucket */
	histogram_observe_us(&h, 60000000); /* past 10 s: only +Inf */
	assert_int_equal(h.count, 4);
	assert_int_equal(h.counts[0], 2);
	assert_int_equal(h.counts[1], 1);
	assert_int_equal(histogram_cumulative(&h, 0), 2);
	assert_int_equal(histogram_cumulative(&h, 1), 3);
	assert_int_equal(histogram_cumulative(&h, HISTOGRAM_BUCKETS - 1), 3);
	assert_true(h.sum_us == 1000 + 1001 + 60000000);
	for (int i = 1; i < HISTOGRAM_BUCKETS; i++)
		assert_true(histogram_bounds_us[i - 1] < histogram_bounds_us[i]);
}

/* zpages (issue 15): zeroed, aligned, and resident only where written, whatever the heap holds
 * (calloc would place a block this size in a free hole of the heap and clear all of it). */
static void test_zpages_are_zero_aligned_and_resident_only_where_written(void **state)
{
	(void)state;
	const size_t bytes = 1024 * 1024;
	const long page = sysconf(_SC_PAGESIZE);
	size_t pages, resident = 0;
	unsigned char *vec, *p;
	uintptr_t first;

	assert_true(page > 0);
	pages = (bytes + 2 * (size_t)page) / (size_t)page;
	vec = calloc(pages, 1);
	assert_non_null(vec);
	p = zpages_alloc(bytes);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	p[1] = 7;
	first = (uintptr_t)p & ~((uintptr_t)page - 1);
	assert_int_equal(mincore((void *)first, bytes, vec), 0);
	for (size_t i = 0; i < pages - 2; i++)
		resident += vec[i] & 1;
	assert_int_equal(resident, 1); /* the page of the header and the byte written */
	assert_int_equal(p[0], 0);
	assert_int_equal(p[bytes / 2], 0);
	assert_int_equal(p[bytes - 1], 0);
	zpages_free(p);
	free(vec);

	assert_null(zpages_alloc(0));
	assert_null(zpages_calloc(SIZE_MAX / 4, 8));
	p = zpages_calloc(3, 5);
	assert_non_null(p);
	for (int i = 0; i < 15; i++)
		assert_int_equal(p[i], 0);
	zpages_free(p);
	zpages_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lsn_parse_and_format_round_trip),
		cmocka_unit_test(test_lsn_parse_rejects_junk_and_leaves_output),
		cmocka_unit_test(test_time_parse_iso_accepts_patroni_forms),
		cmocka_unit_test(test_time_parse_iso_is_strict),
		cmocka_unit_test(test_time_format_iso_inverts_parse),
		cmocka_unit_test(test_base64_round_trip_and_rejects_junk),
		cmocka_unit_test(test_json_merge_follows_patroni_patch_config),
		cmocka_unit_test(test_json_merge_reports_no_change),
		cmocka_unit_test(test_json_merge_refuses_non_objects_and_trailing_garbage),
		cmocka_unit_test(test_member_name_limit_is_63_bytes),
		cmocka_unit_test(test_err_fail_formats_and_returns_the_code),
		cmocka_unit_test(test_hostport_from_url_reads_member_urls),
		cmocka_unit_test(test_kvtext_value_reads_controldata_lines),
		cmocka_unit_test(test_histogram_counts_each_value_in_its_bucket_and_cumulates),
		cmocka_unit_test(test_zpages_are_zero_aligned_and_resident_only_where_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
