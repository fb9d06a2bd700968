/*
 * test_rest_metrics.c - GET /metrics in the Prometheus text format: label values escaped as
 * that format says (\\, \", \n and nothing else), so a scope or member name with a quote, a
 * backslash, a tab or a line feed cannot break the scrape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rest.h"

#define NOW_MS 1000000
#define NOW_WALL_MS 1795239505000LL

static struct rest_response resp;

static const char *metrics(const struct rest_snapshot *s)
{
	struct rest_options opts;
	struct rest_actions actions;
	struct rest_request rq;

	rest_options_init(&opts);
	memset(&actions, 0, sizeof(actions));
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = "/metrics";
	rq.client_ip = "127.0.0.1";
	rq.now_mono_ms = NOW_MS;
	rq.now_wall_ms = NOW_WALL_MS;
	rest_response_done(&resp);
	assert_int_equal(rest_handle(&opts, &actions, &rq, s, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(resp.body);
	return resp.body;
}

static void snapshot(struct rest_snapshot *s, const char *scope, const char *name)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(buf_copy(s->scope, sizeof(s->scope), scope), 0);
	assert_int_equal(buf_copy(s->name, sizeof(s->name), name), 0);
	assert_int_equal(buf_copy(s->version, sizeof(s->version), "4.1.4"), 0);
	s->ttl_ms = 30000;
	s->dcs_last_seen_mono_ms = NOW_MS - 1000;
	s->state = REST_DB_RUNNING;
	s->role = REST_ROLE_REPLICA;
}

static void test_plain_labels(void **state)
{
	struct rest_snapshot s;

	(void)state;
	snapshot(&s, "batman", "node1");
	assert_non_null(
		strstr(metrics(&s), "patroni_version{scope=\"batman\",name=\"node1\"} 040104\n"));
	assert_non_null(
		strstr(metrics(&s), "patroni_postgres_state{scope=\"batman\",name=\"node1\"} 5\n"));
}

static void test_labels_escaped_as_prometheus_says(void **state)
{
	struct rest_snapshot s;
	const char *body;

	(void)state;
	/* quote, backslash, line feed: escaped; tab and carriage return: as they are (JSON's \t
	 * and \r are not escapes of the Prometheus text format, and its parser refuses them) */
	snapshot(&s, "a\"b\\c\nd", "e\tf\rg");
	body = metrics(&s);
	assert_non_null(strstr(
		body, "patroni_version{scope=\"a\\\"b\\\\c\\nd\",name=\"e\tf\rg\"} 040104\n"));
	assert_non_null(strstr(
		body, "patroni_postgres_state{scope=\"a\\\"b\\\\c\\nd\",name=\"e\tf\rg\"} 5\n"));
	assert_null(strstr(body, "\\t"));
	assert_null(strstr(body, "\\r"));
	assert_null(strstr(body, "\\u00"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_labels),
		cmocka_unit_test(test_labels_escaped_as_prometheus_says),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	rest_response_done(&resp);
	return rc;
}
