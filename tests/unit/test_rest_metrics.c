/*
 * test_rest_metrics.c - GET /metrics in the Prometheus text format: label values escaped as
 * that format says (\\, \", \n and nothing else), so a scope or member name with a quote, a
 * backslash, a tab or a line feed cannot break the scrape; every series before the first HA
 * cycle; gsha's own series (process, build, counters, histograms, replica lag).
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

static const char *metrics_of(const struct rest_snapshot *s, const struct rest_process *proc)
{
	struct rest_options opts;
	struct rest_actions actions;
	struct rest_request rq;

	rest_options_init(&opts);
	assert_int_equal(buf_copy(opts.scope, sizeof(opts.scope), "batman"), 0);
	assert_int_equal(buf_copy(opts.name, sizeof(opts.name), "node1"), 0);
	memset(&actions, 0, sizeof(actions));
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = "/metrics";
	rq.client_ip = "127.0.0.1";
	rq.now_mono_ms = NOW_MS;
	rq.now_wall_ms = NOW_WALL_MS;
	rq.process = proc;
	rest_response_done(&resp);
	assert_int_equal(rest_handle(&opts, &actions, &rq, s, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(resp.body);
	return resp.body;
}

static const char *metrics(const struct rest_snapshot *s)
{
	return metrics_of(s, NULL);
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

static void must_have(const char *body, const char *line)
{
	if (!strstr(body, line))
		fail_msg("metrics lack \"%s\"", line);
}

static void test_before_the_first_cycle_every_series_answers(void **state)
{
	struct rest_process p = { .cpu_seconds = 1.5,
				  .resident_bytes = 4096,
				  .virtual_bytes = 8192,
				  .open_fds = 9,
				  .max_fds = 1024,
				  .start_time_seconds = 1795239000,
				  .threads = 4 };
	const char *body;

	(void)state;
	body = metrics_of(NULL, &p);
	must_have(body, "patroni_postgres_running{scope=\"batman\",name=\"node1\"} 0\n");
	/* no view of etcd yet: Patroni's cluster is None, so it says unlocked */
	must_have(body, "patroni_cluster_unlocked{scope=\"batman\",name=\"node1\"} 1\n");
	must_have(body, "gsha_build_info{scope=\"batman\",name=\"node1\",version=\"");
	must_have(body, "# TYPE process_cpu_seconds_total counter\n");
	must_have(body, "process_cpu_seconds_total{scope=\"batman\",name=\"node1\"} 1.5\n");
	must_have(body, "process_resident_memory_bytes{scope=\"batman\",name=\"node1\"} 4096\n");
	must_have(body, "process_open_fds{scope=\"batman\",name=\"node1\"} 9\n");
	must_have(body, "process_max_fds{scope=\"batman\",name=\"node1\"} 1024\n");
	must_have(body, "process_start_time_seconds{scope=\"batman\",name=\"node1\"} 1795239000\n");
	must_have(body, "gsha_loop_duration_seconds_count{scope=\"batman\",name=\"node1\"} 0\n");
	must_have(body, "gsha_failovers_total{scope=\"batman\",name=\"node1\"} 0\n");
}

static void test_counters_histograms_and_replica_lag(void **state)
{
	struct rest_snapshot s;
	const char *body;

	(void)state;
	snapshot(&s, "batman", "node1");
	s.role = REST_ROLE_PRIMARY;
	s.pg_reachable = true;
	s.wal_location_bytes = 5000;
	s.walsender_count = 1;
	assert_int_equal(buf_copy(s.walsenders[0].application_name,
				  sizeof(s.walsenders[0].application_name), "node\"2"),
			 0);
	s.walsenders[0].write_lsn_bytes = 4900;
	s.walsenders[0].flush_lsn_bytes = 4800;
	s.walsenders[0].replay_lsn_bytes = 6000; /* ahead of a stale reading: 0, not negative */
	s.counters.failovers = 2;
	s.counters.switchovers = 3;
	s.counters.fences = 1;
	s.counters.restarts = 4;
	s.counters.dcs_errors = 7;
	histogram_observe_us(&s.counters.dcs_latency, 3000);
	histogram_observe_us(&s.counters.dcs_latency, 20000000);
	body = metrics(&s);
	must_have(body, "# TYPE gsha_failovers_total counter\n");
	must_have(body, "gsha_failovers_total{scope=\"batman\",name=\"node1\"} 2\n");
	must_have(body, "gsha_switchovers_total{scope=\"batman\",name=\"node1\"} 3\n");
	must_have(body, "gsha_fences_total{scope=\"batman\",name=\"node1\"} 1\n");
	must_have(body, "gsha_postgres_restarts_total{scope=\"batman\",name=\"node1\"} 4\n");
	must_have(body, "gsha_dcs_request_errors_total{scope=\"batman\",name=\"node1\"} 7\n");
	must_have(body, "# TYPE gsha_dcs_request_duration_seconds histogram\n");
	must_have(body, "gsha_dcs_request_duration_seconds_bucket{scope=\"batman\",name=\"node1\","
			"le=\"0.0025\"} 0\n");
	must_have(body, "gsha_dcs_request_duration_seconds_bucket{scope=\"batman\",name=\"node1\","
			"le=\"0.005\"} 1\n");
	must_have(body, "gsha_dcs_request_duration_seconds_bucket{scope=\"batman\",name=\"node1\","
			"le=\"10\"} 1\n");
	must_have(body, "gsha_dcs_request_duration_seconds_bucket{scope=\"batman\",name=\"node1\","
			"le=\"+Inf\"} 2\n");
	must_have(body, "gsha_dcs_request_duration_seconds_sum{scope=\"batman\",name=\"node1\"} "
			"20.003\n");
	must_have(body, "gsha_dcs_request_duration_seconds_count{scope=\"batman\",name=\"node1\"} "
			"2\n");
	must_have(body,
		  "gsha_replica_lag_bytes{scope=\"batman\",name=\"node1\",replica=\"node\\\"2\","
		  "stage=\"write\"} 100\n");
	must_have(body,
		  "gsha_replica_lag_bytes{scope=\"batman\",name=\"node1\",replica=\"node\\\"2\","
		  "stage=\"flush\"} 200\n");
	must_have(body,
		  "gsha_replica_lag_bytes{scope=\"batman\",name=\"node1\",replica=\"node\\\"2\","
		  "stage=\"replay\"} 0\n");
	/* on a replica the same walsender rows (there are none in practice) give no lag series */
	s.role = REST_ROLE_REPLICA;
	assert_null(strstr(metrics(&s), "gsha_replica_lag_bytes{"));
}

static void test_cluster_unlocked_as_patroni_says(void **state)
{
	struct rest_snapshot s;

	(void)state;
	snapshot(&s, "batman", "node1");
	/* a leader key in a fresh view: locked */
	must_have(metrics(&s), "patroni_cluster_unlocked{scope=\"batman\",name=\"node1\"} 0\n");
	/* no leader key: unlocked */
	s.cluster_unlocked = true;
	must_have(metrics(&s), "patroni_cluster_unlocked{scope=\"batman\",name=\"node1\"} 1\n");
	/* the last view is older than ttl: Patroni's dcs.cluster is None, and it says unlocked */
	s.cluster_unlocked = false;
	s.dcs_last_seen_mono_ms = NOW_MS - s.ttl_ms;
	must_have(metrics(&s), "patroni_cluster_unlocked{scope=\"batman\",name=\"node1\"} 1\n");
	/* a read that failed within ttl keeps the view (Patroni 4.1 would say unlocked at once) */
	s.dcs_last_seen_mono_ms = NOW_MS - s.ttl_ms + 1;
	must_have(metrics(&s), "patroni_cluster_unlocked{scope=\"batman\",name=\"node1\"} 0\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_labels),
		cmocka_unit_test(test_labels_escaped_as_prometheus_says),
		cmocka_unit_test(test_before_the_first_cycle_every_series_answers),
		cmocka_unit_test(test_counters_histograms_and_replica_lag),
		cmocka_unit_test(test_cluster_unlocked_as_patroni_says),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	rest_response_done(&resp);
	return rc;
}
