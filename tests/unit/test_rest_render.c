/*
 * Unit tests for the REST renderer: every health endpoint in every node state against the
 * codes of patroni-compat.md section 1.4, the status document, monitoring bodies, access
 * control order, body validation of the action endpoints, and the lease-deadline rule.
 * The action callbacks here are fakes that record what they were given.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "json_merge.h"
#include "rest.h"

/* The fixed "now" of every test (monotonic ms) and the wall clock at that moment. */
#define NOW_MS 1000000
#define NOW_WALL_MS 1795239505000LL
#define TTL_MS 30000

static struct rest_snapshot snap;
static struct rest_options opts;

/* ---- fixtures: one per node state; each test changes one thing ---- */

static void add_tag(struct rest_snapshot *s, const char *k, const char *v, enum rest_tag_type t)
{
	struct rest_tag *tag = &s->tags[s->tag_count++];

	assert_int_equal(buf_copy(tag->key, sizeof(tag->key), k), 0);
	assert_int_equal(buf_copy(tag->value, sizeof(tag->value), v), 0);
	tag->type = t;
}

static void base(struct rest_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(buf_copy(s->name, sizeof(s->name), "node1"), 0);
	assert_int_equal(buf_copy(s->scope, sizeof(s->scope), "batman"), 0);
	assert_int_equal(buf_copy(s->version, sizeof(s->version), "4.1.4"), 0);
	s->ttl_ms = TTL_MS;
	s->dcs_last_seen_mono_ms = NOW_MS - 1000;
	s->dcs_last_seen_wall_ms = NOW_WALL_MS - 1000;
	s->next_cycle_due_ms = NOW_MS + 5000;
	s->state = REST_DB_RUNNING;
	s->pg_reachable = true;
	s->server_version = 150004;
	s->timeline = 1;
	s->postmaster_start_wall_us = 1795239490512906LL;
	s->cluster_optime_bytes = 50331744;
	s->maximum_lag_on_failover_bytes = 1048576;
}

static void fixture_primary(struct rest_snapshot *s)
{
	base(s);
	s->role = REST_ROLE_PRIMARY;
	s->has_lock = true;
	s->lease_deadline_ms = NOW_MS + 20000;
	s->wal_location_bytes = 50331744;
}

static void fixture_replica(struct rest_snapshot *s)
{
	base(s);
	assert_int_equal(buf_copy(s->name, sizeof(s->name), "node2"), 0);
	s->role = REST_ROLE_REPLICA;
	s->replication_state = REST_REPLICATION_STREAMING;
	s->received_lsn_bytes = 50331744;
	s->replayed_lsn_bytes = 50331744;
}

static void fixture_replica_noloadbalance(struct rest_snapshot *s)
{
	fixture_replica(s);
	add_tag(s, "noloadbalance", "true", REST_TAG_BOOL);
}

static void fixture_sync_standby(struct rest_snapshot *s)
{
	fixture_replica(s);
	s->sync_mode = REST_SYNC_ON;
	s->is_sync_standby = true;
}

static void fixture_stopped(struct rest_snapshot *s)
{
	base(s);
	s->role = REST_ROLE_REPLICA;
	s->state = REST_DB_STOPPED;
	s->pg_reachable = false;
}

/* A primary cut off from etcd: the loop runs, but the lease and the DCS view ran out. */
static void fixture_cutoff(struct rest_snapshot *s)
{
	fixture_primary(s);
	s->lease_deadline_ms = NOW_MS - 5000;
	s->dcs_last_seen_mono_ms = NOW_MS - 2 * TTL_MS;
}

/* The lock holder of a standby cluster. */
static void fixture_standby_leader(struct rest_snapshot *s)
{
	base(s);
	s->role = REST_ROLE_STANDBY_LEADER;
	s->standby_cluster = true;
	s->has_lock = true;
	s->lease_deadline_ms = NOW_MS + 20000;
	s->replication_state = REST_REPLICATION_STREAMING;
}

static void fixture_uninitialized(struct rest_snapshot *s)
{
	base(s);
	s->role = REST_ROLE_UNINITIALIZED;
	s->state = REST_DB_STOPPED;
	s->pg_reachable = false;
}

/* ---- request helpers ---- */

struct fake_calls {
	int switchover, restart, reinit, reload, failsafe, patch, put, cancel;
	struct rest_switchover_request sw;
	struct rest_restart_request rs;
	struct rest_reinit_request ri;
	char patch_json[1024];
};

static struct fake_calls calls;

static int fake_switchover(void *ctx, const struct rest_switchover_request *req,
			   struct rest_action_result *out)
{
	(void)ctx;
	calls.switchover++;
	calls.sw = *req;
	out->status = req->scheduled ? 202 : 200;
	return buf_copy(out->text, sizeof(out->text),
			req->scheduled ? "Switchover scheduled" : "ok");
}

static int fake_restart(void *ctx, const struct rest_restart_request *req,
			struct rest_action_result *out)
{
	(void)ctx;
	calls.restart++;
	calls.rs = *req;
	out->status = 200;
	return buf_copy(out->text, sizeof(out->text), "restarted successfully");
}

static int fake_cancel(void *ctx, struct rest_action_result *out)
{
	(void)ctx;
	calls.cancel++;
	out->status = 404;
	return buf_copy(out->text, sizeof(out->text), "no restarts are scheduled");
}

static int fake_reinit(void *ctx, const struct rest_reinit_request *req,
		       struct rest_action_result *out)
{
	(void)ctx;
	calls.reinit++;
	calls.ri = *req;
	out->status = 200;
	return buf_copy(out->text, sizeof(out->text), "reinitialize started");
}

static int fake_reload(void *ctx)
{
	(void)ctx;
	calls.reload++;
	return 0;
}

static int fake_failsafe(void *ctx, const struct rest_failsafe_request *req,
			 struct rest_action_result *out)
{
	(void)ctx;
	(void)req;
	calls.failsafe++;
	out->status = 200;
	assert_int_equal(buf_copy(out->lsn, sizeof(out->lsn), "50331744"), 0);
	return buf_copy(out->text, sizeof(out->text), "Accepted");
}

static int fake_patch(void *ctx, const char *patch, char *merged, size_t cap,
		      struct rest_action_result *out)
{
	bool changed;

	(void)ctx;
	calls.patch++;
	assert_int_equal(buf_copy(calls.patch_json, sizeof(calls.patch_json), patch), 0);
	assert_int_equal(json_merge_patch("{\"ttl\":30,\"postgresql\":{\"parameters\":{\"a\":1}}}",
					  patch, merged, cap, &changed, NULL, 0),
			 0);
	out->status = 200;
	return 0;
}

static int fake_put(void *ctx, const char *json, struct rest_action_result *out)
{
	(void)ctx;
	(void)json;
	calls.put++;
	out->status = 502;
	out->html_error = true;
	return 0;
}

static const struct rest_actions fakes = {
	.switchover = fake_switchover,
	.switchover_cancel = fake_cancel,
	.restart = fake_restart,
	.restart_cancel = fake_cancel,
	.reinitialize = fake_reinit,
	.reload = fake_reload,
	.failsafe = fake_failsafe,
	.config_patch = fake_patch,
	.config_put = fake_put,
};

struct call {
	const char *method;
	const char *path;
	const char *query;
	const char *body; /* sets Content-Length when non-NULL */
	const char *auth;
	const char *ip;
	int64_t now;
	bool tls, cert;
	const struct rest_cidr *member_addrs; /* what the server resolved member names to */
	int member_addr_count;
};

static struct rest_response resp;

static int call_full(const struct call *c, const struct rest_snapshot *s)
{
	struct rest_request rq;
	char len[32];

	memset(&rq, 0, sizeof(rq));
	rq.method = c->method;
	rq.path = c->path;
	rq.query = c->query;
	rq.authorization = c->auth;
	rq.client_ip = c->ip ? c->ip : "127.0.0.1";
	rq.now_mono_ms = c->now ? c->now : NOW_MS;
	rq.now_wall_ms = NOW_WALL_MS;
	rq.tls = c->tls;
	rq.client_cert_valid = c->cert;
	rq.member_addrs = c->member_addrs;
	rq.member_addr_count = c->member_addr_count;
	if (c->body) {
		assert_int_equal(buf_format(len, sizeof(len), "%zu", strlen(c->body)), 0);
		rq.content_length = len;
		rq.body = c->body;
		rq.body_len = strlen(c->body);
	}
	rest_response_done(&resp);
	assert_int_equal(rest_handle(&opts, &fakes, &rq, s, &resp), 0);
	return resp.status;
}

static int req(const char *method, const char *path, const char *query)
{
	struct call c = { .method = method, .path = path, .query = query };

	return call_full(&c, &snap);
}

static int post(const char *path, const char *body)
{
	struct call c = { .method = "POST", .path = path, .body = body };

	return call_full(&c, &snap);
}

static const char *body(void)
{
	return resp.body ? resp.body : "";
}

static int setup(void **state)
{
	(void)state;
	rest_options_init(&opts);
	memset(&calls, 0, sizeof(calls));
	memset(&resp, 0, sizeof(resp));
	fixture_primary(&snap);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rest_response_done(&resp);
	return 0;
}

/* ---- the exhaustive sweep: endpoint x state x method ---- */

enum {
	ST_PRIMARY,
	ST_REPLICA,
	ST_NOLB,
	ST_SYNC,
	ST_STOPPED,
	ST_CUTOFF,
	ST_STANDBY,
	ST_UNINIT,
	ST_N
};

static void (*const fixtures[ST_N])(struct rest_snapshot *) = {
	fixture_primary, fixture_replica, fixture_replica_noloadbalance, fixture_sync_standby,
	fixture_stopped, fixture_cutoff,  fixture_standby_leader,	 fixture_uninitialized,
};

static const char *const state_label[ST_N] = {
	"primary", "replica", "replica-noloadbalance", "sync-standby",
	"stopped", "cutoff",  "standby-leader",	       "uninitialized",
};

/* Expected GET codes, from patroni-compat.md 1.4 (the live table) plus the lease rule. */
static const struct {
	const char *path;
	int code[ST_N]; /* primary replica nolb sync stopped cutoff standby uninit */
} sweep[] = {
	{ "/", { 200, 503, 503, 503, 503, 503, 503, 503 } },
	{ "/primary", { 200, 503, 503, 503, 503, 503, 503, 503 } },
	{ "/master", { 200, 503, 503, 503, 503, 503, 503, 503 } },
	{ "/read-write", { 200, 503, 503, 503, 503, 503, 503, 503 } },
	{ "/standby-leader", { 503, 503, 503, 503, 503, 503, 200, 503 } },
	{ "/standby_leader", { 503, 503, 503, 503, 503, 503, 200, 503 } },
	{ "/leader", { 200, 503, 503, 503, 503, 503, 200, 503 } },
	{ "/replica", { 503, 200, 503, 200, 503, 503, 503, 503 } },
	{ "/read-only", { 200, 200, 503, 200, 503, 503, 200, 503 } },
	{ "/synchronous", { 503, 503, 503, 200, 503, 503, 503, 503 } },
	{ "/sync", { 503, 503, 503, 200, 503, 503, 503, 503 } },
	{ "/asynchronous", { 503, 200, 503, 503, 503, 503, 503, 503 } },
	{ "/async", { 503, 200, 503, 503, 503, 503, 503, 503 } },
	{ "/read-only-sync", { 200, 503, 503, 200, 503, 503, 200, 503 } },
	{ "/health", { 200, 200, 200, 200, 503, 200, 200, 503 } },
	{ "/liveness", { 200, 200, 200, 200, 200, 200, 200, 200 } },
	{ "/readiness", { 200, 200, 200, 200, 503, 503, 200, 503 } },
	{ "/foo", { 503, 503, 503, 503, 503, 503, 503, 503 } },
	{ "/primaryfoo", { 200, 503, 503, 503, 503, 503, 503, 503 } },
};

static void test_health_sweep_every_endpoint_state_and_method_matches_contract(void **state)
{
	static const char *const methods[] = { "GET", "HEAD", "OPTIONS" };

	(void)state;
	for (int st = 0; st < ST_N; st++) {
		fixtures[st](&snap);
		for (size_t p = 0; p < sizeof(sweep) / sizeof(sweep[0]); p++) {
			for (size_t m = 0; m < 3; m++) {
				const char *path = sweep[p].path;
				bool dedicated = strcmp(path, "/liveness") == 0 ||
						 strcmp(path, "/readiness") == 0;
				int want = sweep[p].code[st];
				int got;

				/* HEAD/OPTIONS on GET-only handlers fall to the generic one: 503 */
				if (m > 0 && dedicated)
					want = 503;
				got = req(methods[m], path, NULL);
				if (got != want)
					fail_msg("%s %s on %s: want %d, got %d", methods[m], path,
						 state_label[st], want, got);
				if (m > 0 || dedicated) {
					if (!resp.bare || resp.body_len != 0)
						fail_msg("%s %s on %s: want a bare status line",
							 methods[m], path, state_label[st]);
				} else if (resp.bare || !strstr(body(), "\"state\": ")) {
					fail_msg("GET %s on %s: want the status document", path,
						 state_label[st]);
				}
			}
		}
	}
}

/* ---- the lease rule: a stuck loop cannot keep the primary checks green ---- */

static void test_primary_checks_turn_503_once_lease_deadline_passes(void **state)
{
	static const char *const paths[] = { "/", "/primary", "/master", "/read-write", "/leader" };
	struct call c = { .method = "GET" };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		c.path = paths[i];
		c.now = snap.lease_deadline_ms - 1;
		assert_int_equal(call_full(&c, &snap), 200);
		c.now = snap.lease_deadline_ms;
		assert_int_equal(call_full(&c, &snap), 503);
		c.method = "OPTIONS";
		assert_int_equal(call_full(&c, &snap), 503);
		c.method = "GET";
	}
	/* the database is still up: /health stays 200 */
	c.path = "/health";
	assert_int_equal(call_full(&c, &snap), 200);
}

static void test_replica_checks_unaffected_by_lease_deadline(void **state)
{
	struct call c = { .method = "GET", .path = "/replica", .now = NOW_MS + 3600 * 1000 };

	(void)state;
	fixture_replica(&snap);
	snap.dcs_last_seen_mono_ms = c.now - 1000;
	assert_int_equal(call_full(&c, &snap), 200);
}

static void test_lock_without_deadline_is_not_primary(void **state)
{
	(void)state;
	snap.lease_deadline_ms = 0;
	assert_int_equal(req("GET", "/primary", NULL), 503);
}

static void test_liveness_fails_when_loop_is_late(void **state)
{
	struct call c = { .method = "GET", .path = "/liveness" };

	(void)state;
	c.now = snap.next_cycle_due_ms + TTL_MS - 1;
	assert_int_equal(call_full(&c, &snap), 200);
	c.now = snap.next_cycle_due_ms + TTL_MS;
	assert_int_equal(call_full(&c, &snap), 503);
	snap.paused = true;
	assert_int_equal(call_full(&c, &snap), 200);
}

static void test_paused_without_dcs_primary_answers_from_role(void **state)
{
	(void)state;
	snap.paused = true;
	snap.has_lock = false;
	snap.dcs_last_seen_mono_ms = 0;
	assert_int_equal(req("GET", "/primary", NULL), 200);
	assert_int_equal(req("GET", "/leader", NULL), 200);
}

static void test_no_snapshot_yet_answers_503(void **state)
{
	struct call c = { .method = "GET", .path = "/replica" };

	(void)state;
	assert_int_equal(call_full(&c, NULL), 503);
	c.path = "/patroni";
	assert_int_equal(call_full(&c, NULL), 503);
	c.method = "OPTIONS";
	c.path = "/";
	assert_int_equal(call_full(&c, NULL), 503);
}

/* ---- query parameters ---- */

static void test_replica_lag_query_param(void **state)
{
	(void)state;
	fixture_replica(&snap);
	snap.replayed_lsn_bytes = snap.cluster_optime_bytes - 2 * 1024 * 1024;
	assert_int_equal(req("GET", "/replica", NULL), 200);
	assert_int_equal(req("GET", "/replica", "lag=1048576"), 503);
	assert_int_equal(req("GET", "/replica", "lag=1MB"), 503);
	assert_int_equal(req("GET", "/replica", "lag=16MB"), 200);
	assert_int_equal(req("GET", "/async", "lag=1MB"), 503);
	assert_int_equal(req("GET", "/replica", "lag=garbage"), 200);
	assert_int_equal(req("GET", "/replica", "lag="), 200);
}

static void test_tag_filters_apply_to_replica_not_primary(void **state)
{
	(void)state;
	fixture_replica(&snap);
	add_tag(&snap, "dc", "east", REST_TAG_STRING);
	add_tag(&snap, "nofailover", "true", REST_TAG_BOOL);
	assert_int_equal(req("GET", "/replica", "tag_dc=east"), 200);
	assert_int_equal(req("GET", "/replica", "tag_dc=west"), 503);
	assert_int_equal(req("GET", "/replica", "tag_rack=1"), 503);
	assert_int_equal(req("GET", "/replica", "tag_nofailover=true"), 200);
	assert_int_equal(req("GET", "/replica", "lag=1GB&tag_dc=east"), 200);
	assert_int_equal(req("GET", "/health", "tag_dc=west"), 503);
	fixture_primary(&snap);
	assert_int_equal(req("GET", "/primary", "tag_dc=west"), 200);
}

static void test_replication_state_query_param(void **state)
{
	(void)state;
	fixture_replica(&snap);
	assert_int_equal(req("GET", "/replica", "replication_state=streaming"), 200);
	assert_int_equal(req("GET", "/replica", "replication_state=in%20archive%20recovery"), 503);
}

static void test_readiness_lag_and_mode(void **state)
{
	(void)state;
	fixture_replica(&snap);
	snap.replayed_lsn_bytes = snap.cluster_optime_bytes - 2 * 1024 * 1024;
	assert_int_equal(req("GET", "/readiness", NULL), 503); /* max lag 1 MB by default */
	assert_int_equal(req("GET", "/readiness", "lag=4MB"), 200);
	assert_int_equal(req("GET", "/readiness", "mode=write"), 200); /* received is current */
}

/* ---- the status document ---- */

static void test_patroni_document_of_replica_is_exact(void **state)
{
	(void)state;
	fixture_replica(&snap);
	add_tag(&snap, "dc", "north", REST_TAG_STRING);
	assert_int_equal(buf_copy(snap.system_identifier, sizeof(snap.system_identifier),
				  "7710494829095195138"),
			 0);
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_string_equal(resp.content_type, "application/json");
	assert_string_equal(
		body(),
		"{\"state\": \"running\", \"postmaster_start_time\": \"2026-11-21 "
		"05:38:10.512906+00:00\", \"role\": \"replica\", \"server_version\": 150004, "
		"\"xlog\": {\"received_location\": 50331744, \"replayed_location\": 50331744, "
		"\"replayed_timestamp\": null, \"paused\": false}, \"timeline\": 1, "
		"\"replication_state\": \"streaming\", \"dcs_last_seen\": 1795239504, \"tags\": "
		"{\"dc\": \"north\"}, \"database_system_identifier\": \"7710494829095195138\", "
		"\"patroni\": {\"version\": \"4.1.4\", \"scope\": \"batman\", \"name\": "
		"\"node2\"}}");
}

static void test_patroni_document_of_primary_is_exact(void **state)
{
	(void)state;
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_string_equal(body(),
			    "{\"state\": \"running\", \"postmaster_start_time\": "
			    "\"2026-11-21 05:38:10.512906+00:00\", \"role\": \"primary\", "
			    "\"server_version\": 150004, \"xlog\": {\"location\": 50331744}, "
			    "\"timeline\": 1, \"dcs_last_seen\": 1795239504, \"patroni\": "
			    "{\"version\": \"4.1.4\", \"scope\": \"batman\", \"name\": "
			    "\"node1\"}}");
}

static void test_patroni_document_of_stopped_node_shrinks(void **state)
{
	(void)state;
	fixture_stopped(&snap);
	snap.watchdog_failed = true;
	snap.paused = true;
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_string_equal(body(),
			    "{\"state\": \"stopped\", \"role\": \"replica\", \"pause\": true, "
			    "\"dcs_last_seen\": 1795239504, \"patroni\": {\"version\": "
			    "\"4.1.4\", \"scope\": \"batman\", \"name\": \"node1\"}, "
			    "\"watchdog_failed\": true}");
}

static void test_patroni_document_marks_cluster_unlocked_without_dcs_view(void **state)
{
	(void)state;
	fixture_cutoff(&snap);
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_non_null(strstr(body(), "\"cluster_unlocked\": true"));
}

static void test_legacy_master_role_word(void **state)
{
	(void)state;
	opts.legacy_master_role = true;
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_non_null(strstr(body(), "\"role\": \"master\""));
}

static void test_json_strings_are_escaped_like_python(void **state)
{
	(void)state;
	add_tag(&snap, "note", "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\xff", REST_TAG_STRING);
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_non_null(strstr(body(), "\"note\": \"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\ufffd\""));
}

static void test_sync_standby_field_only_in_sync_mode(void **state)
{
	(void)state;
	fixture_sync_standby(&snap);
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_non_null(strstr(body(), "\"sync_standby\": true"));
	snap.sync_mode = REST_SYNC_OFF;
	assert_int_equal(req("GET", "/patroni", NULL), 200);
	assert_null(strstr(body(), "sync_standby"));
}

/* ---- monitoring ---- */

static void test_metrics_carry_patroni_and_gsha_names(void **state)
{
	static const char *const wanted[] = {
		"patroni_version{scope=\"batman\",name=\"node1\"} 040104\n",
		"patroni_postgres_running{scope=\"batman\",name=\"node1\"} 1\n",
		"patroni_primary{scope=\"batman\",name=\"node1\"} 1\n",
		"patroni_xlog_location{scope=\"batman\",name=\"node1\"} 50331744\n",
		"# TYPE patroni_postgres_timeline gauge\n",
		"patroni_postgres_state{scope=\"batman\",name=\"node1\"} 5\n",
		"patroni_failover_priority{scope=\"batman\",name=\"node1\"} 1\n",
		"gsha_leader_lease_valid{scope=\"batman\",name=\"node1\"} 1\n",
		"gsha_leader_lease_remaining_seconds{scope=\"batman\",name=\"node1\"} 20\n",
		"gsha_role_changes_total{scope=\"batman\",name=\"node1\"} 3\n",
		"gsha_dcs_last_contact_age_seconds{scope=\"batman\",name=\"node1\"} 1\n",
		"gsha_loop_duration_seconds_bucket{scope=\"batman\",name=\"node1\",le=\"0.25\"} "
		"1\n",
		"gsha_loop_duration_seconds_bucket{scope=\"batman\",name=\"node1\",le=\"0.1\"} 0\n",
		"gsha_loop_duration_seconds_sum{scope=\"batman\",name=\"node1\"} 0.25\n",
		"gsha_loop_duration_seconds_count{scope=\"batman\",name=\"node1\"} 1\n",
	};

	(void)state;
	snap.role_changes = 3;
	histogram_observe_us(&snap.counters.loop, 250000);
	assert_int_equal(req("GET", "/metrics", NULL), 200);
	assert_string_equal(resp.content_type, "text/plain");
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (!strstr(body(), wanted[i]))
			fail_msg("metrics lack \"%s\"", wanted[i]);
	assert_int_equal(body()[resp.body_len - 1], '\n');
}

static void test_metrics_of_nofailover_node_have_priority_zero(void **state)
{
	(void)state;
	add_tag(&snap, "nofailover", "true", REST_TAG_BOOL);
	assert_int_equal(req("GET", "/metrics", NULL), 200);
	assert_non_null(
		strstr(body(), "patroni_failover_priority{scope=\"batman\",name=\"node1\"} 0\n"));
}

static void test_cluster_sorts_members_and_computes_lag(void **state)
{
	struct rest_member *m;

	(void)state;
	snap.member_count = 2;
	m = &snap.members[0];
	assert_int_equal(buf_copy(m->name, sizeof(m->name), "node2"), 0);
	assert_int_equal(buf_copy(m->state, sizeof(m->state), "running"), 0);
	assert_int_equal(buf_copy(m->replication_state, sizeof(m->replication_state), "streaming"),
			 0);
	assert_int_equal(buf_copy(m->api_url, sizeof(m->api_url), "http://h2:8008/patroni"), 0);
	assert_int_equal(buf_copy(m->host, sizeof(m->host), "h2"), 0);
	m->port = 5432;
	m->timeline = 1;
	m->is_sync_standby = true;
	m->has_lsn = m->has_replay_lsn = true;
	m->lsn_bytes = snap.cluster_optime_bytes - 100;
	m->replay_lsn_bytes = snap.cluster_optime_bytes + 100;
	m = &snap.members[1];
	assert_int_equal(buf_copy(m->name, sizeof(m->name), "node1"), 0);
	assert_int_equal(buf_copy(m->state, sizeof(m->state), "running"), 0);
	assert_int_equal(buf_copy(m->api_url, sizeof(m->api_url), "http://h1:8008/patroni"), 0);
	m->is_leader = true;
	snap.sync_mode = REST_SYNC_ON;
	snap.has_scheduled_switchover = true;
	assert_int_equal(buf_copy(snap.scheduled_switchover_at, REST_TIMESTAMP_MAX,
				  "2026-11-21T06:00:00+00:00"),
			 0);
	assert_int_equal(buf_copy(snap.scheduled_switchover_from, MEMBER_NAME_MAX, "node1"), 0);
	assert_int_equal(req("GET", "/cluster", NULL), 200);
	assert_string_equal(
		body(),
		"{\"members\": [{\"name\": \"node1\", \"role\": \"leader\", \"state\": "
		"\"running\", "
		"\"api_url\": \"http://h1:8008/patroni\"}, {\"name\": \"node2\", \"role\": "
		"\"sync_standby\", \"state\": \"streaming\", \"api_url\": "
		"\"http://h2:8008/patroni\", "
		"\"host\": \"h2\", \"port\": 5432, \"timeline\": 1, \"receive_lag\": \"unknown\", "
		"\"replay_lag\": 0, \"replay_lsn\": \"0/30000C4\", \"lag\": 100, \"lsn\": "
		"\"0/2FFFFFC\"}], \"scope\": \"batman\", \"scheduled_switchover\": {\"at\": "
		"\"2026-11-21T06:00:00+00:00\", \"from\": \"node1\"}}");
}

static void test_history_rows_render_as_python_lists(void **state)
{
	(void)state;
	snap.history_count = 2;
	snap.history[0].timeline = 1;
	snap.history[0].lsn_bytes = 67405800;
	assert_int_equal(buf_copy(snap.history[0].reason, REST_HISTORY_REASON_MAX,
				  "no recovery target specified"),
			 0);
	assert_int_equal(buf_copy(snap.history[0].timestamp, REST_TIMESTAMP_MAX,
				  "2026-11-21T05:32:51.863905+00:00"),
			 0);
	assert_int_equal(buf_copy(snap.history[0].new_leader, MEMBER_NAME_MAX, "node2"), 0);
	snap.history[1].timeline = 2;
	snap.history[1].lsn_bytes = 100663512;
	assert_int_equal(buf_copy(snap.history[1].reason, REST_HISTORY_REASON_MAX, "x"), 0);
	assert_int_equal(req("GET", "/history", NULL), 200);
	assert_string_equal(body(), "[[1, 67405800, \"no recovery target specified\", "
				    "\"2026-11-21T05:32:51.863905+00:00\", \"node2\"], [2, "
				    "100663512, \"x\"]]");
}

static void test_config_get_renders_stored_json_or_502(void **state)
{
	(void)state;
	assert_int_equal(buf_copy(snap.config_json, sizeof(snap.config_json),
				  "{\"ttl\":30,\"a\":{\"b\":[1,2.5,true,null,\"x\"]}}"),
			 0);
	assert_int_equal(req("GET", "/config", NULL), 200);
	assert_string_equal(body(), "{\"ttl\": 30, \"a\": {\"b\": [1, 2.5, true, null, \"x\"]}}");
	snap.config_json[0] = '\0';
	assert_int_equal(req("GET", "/config", NULL), 502);
	assert_true(resp.html_error);
	assert_int_equal(buf_copy(snap.config_json, sizeof(snap.config_json), "[1]"), 0);
	assert_int_equal(req("GET", "/config", NULL), 502);
}

static void test_failsafe_get_is_502_without_key(void **state)
{
	(void)state;
	assert_int_equal(req("GET", "/failsafe", NULL), 502);
	snap.has_failsafe_key = true;
	snap.failsafe_count = 1;
	assert_int_equal(buf_copy(snap.failsafe[0].name, MEMBER_NAME_MAX, "node1"), 0);
	assert_int_equal(buf_copy(snap.failsafe[0].api_url, REST_URL_MAX, "http://a/patroni"), 0);
	assert_int_equal(req("GET", "/failsafe", NULL), 200);
	assert_string_equal(body(), "{\"node1\": \"http://a/patroni\"}");
}

static void test_head_on_monitoring_paths_is_503(void **state)
{
	(void)state;
	assert_int_equal(req("HEAD", "/patroni", NULL), 503);
	assert_int_equal(req("OPTIONS", "/metrics", NULL), 503);
	assert_int_equal(req("HEAD", "/cluster", NULL), 503);
}

/* ---- access control ---- */

static void test_unsafe_without_auth_header_is_401(void **state)
{
	(void)state;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	assert_int_equal(buf_copy(opts.password, sizeof(opts.password), "secret"), 0);
	assert_int_equal(post("/reload", NULL), 401);
	assert_true(resp.www_authenticate);
	assert_string_equal(body(), "no auth header received");
	assert_int_equal(calls.reload, 0);
}

static void test_unsafe_with_wrong_auth_is_401_and_right_auth_passes(void **state)
{
	struct call c = { .method = "POST", .path = "/reload", .auth = "Basic YWRtaW46d3Jvbmc=" };

	(void)state;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	assert_int_equal(buf_copy(opts.password, sizeof(opts.password), "secret"), 0);
	assert_int_equal(call_full(&c, &snap), 401);
	assert_string_equal(body(), "not authenticated");
	c.auth = "Bearer YWRtaW46c2VjcmV0";
	assert_int_equal(call_full(&c, &snap), 401);
	c.auth = "Basic YWRtaW46c2VjcmV0"; /* admin:secret */
	assert_int_equal(call_full(&c, &snap), 202);
	assert_string_equal(body(), "reload scheduled");
	assert_int_equal(calls.reload, 1);
	/* safe methods never ask */
	assert_int_equal(req("GET", "/patroni", NULL), 200);
}

static void test_auth_is_checked_before_body(void **state)
{
	(void)state;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	assert_int_equal(post("/switchover", NULL), 401);
}

static void test_allowlist_refuses_before_auth(void **state)
{
	struct call c = { .method = "POST", .path = "/reload", .ip = "10.1.2.3" };

	(void)state;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	assert_int_equal(rest_cidr_parse("127.0.0.0/8", &opts.allowlist[0]), 0);
	opts.allowlist_count = 1;
	assert_int_equal(call_full(&c, &snap), 403);
	assert_string_equal(body(), "Access is denied");
	c.ip = "127.0.0.2";
	assert_int_equal(call_full(&c, &snap), 401);
	c.ip = "::ffff:127.0.0.9";
	assert_int_equal(call_full(&c, &snap), 401);
	c.ip = "::1";
	assert_int_equal(call_full(&c, &snap), 403);
	/* health checks ignore the allow-list, like Patroni */
	c.method = "GET";
	c.path = "/primary";
	c.ip = "10.1.2.3";
	assert_int_equal(call_full(&c, &snap), 200);
}

static void test_check_access_alone_refuses_unsafe_and_passes_safe(void **state)
{
	struct rest_request rq = { .method = "PATCH", .path = "/config", .client_ip = "127.0.0.1" };
	bool refused = false;

	(void)state;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	rest_response_done(&resp);
	assert_int_equal(rest_check_access(&opts, &rq, &snap, &resp, &refused), 0);
	assert_true(refused);
	assert_int_equal(resp.status, 401);
	rest_response_done(&resp);
	rq.method = "GET";
	refused = true;
	assert_int_equal(rest_check_access(&opts, &rq, &snap, &resp, &refused), 0);
	assert_false(refused);
}

static void test_allowlist_includes_member_api_hosts(void **state)
{
	struct call c = { .method = "POST", .path = "/reload", .ip = "10.0.0.7" };

	(void)state;
	opts.allowlist_include_members = true;
	assert_int_equal(call_full(&c, &snap), 403);
	snap.member_count = 1;
	assert_int_equal(
		buf_copy(snap.members[0].api_url, REST_URL_MAX, "http://10.0.0.7:8008/patroni"), 0);
	assert_int_equal(call_full(&c, &snap), 202);
}

/* Patroni checks no member list for POST /failsafe: with allowlist_include_members alone, any
 * address gets through to authentication (gsha answered 403, so failsafe never worked). */
static void test_allowlist_include_members_alone_admits_failsafe(void **state)
{
	struct call c = { .method = "POST", .path = "/failsafe", .ip = "10.0.0.9" };

	(void)state;
	opts.allowlist_include_members = true;
	assert_int_not_equal(call_full(&c, &snap), 403);
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	assert_int_equal(call_full(&c, &snap), 401);
	/* with an allow-list too, the list still applies to failsafe */
	assert_int_equal(rest_cidr_parse("127.0.0.0/8", &opts.allowlist[0]), 0);
	opts.allowlist_count = 1;
	assert_int_equal(call_full(&c, &snap), 403);
	/* and other unsafe requests still need a member address */
	opts.allowlist_count = 0;
	c.path = "/reload";
	assert_int_equal(call_full(&c, &snap), 403);
}

static void test_unprotected_options_are_those_open_beyond_loopback(void **state)
{
	struct rest_options o;

	(void)state;
	rest_options_init(&o);
	assert_true(rest_options_unprotected(&o)); /* all interfaces, nothing set */
	assert_int_equal(buf_copy(o.listen_host, sizeof(o.listen_host), "10.0.0.1"), 0);
	assert_true(rest_options_unprotected(&o));
	assert_int_equal(buf_copy(o.listen_host, sizeof(o.listen_host), "127.0.0.1"), 0);
	assert_false(rest_options_unprotected(&o));
	assert_int_equal(buf_copy(o.listen_host, sizeof(o.listen_host), "localhost"), 0);
	assert_false(rest_options_unprotected(&o));
	assert_int_equal(buf_copy(o.listen_host, sizeof(o.listen_host), "0.0.0.0"), 0);
	assert_int_equal(buf_copy(o.username, sizeof(o.username), "admin"), 0);
	assert_false(rest_options_unprotected(&o));
	o.username[0] = '\0';
	assert_int_equal(rest_cidr_parse("10.0.0.0/8", &o.allowlist[0]), 0);
	o.allowlist_count = 1;
	assert_false(rest_options_unprotected(&o));
	o.allowlist_count = 0;
	assert_int_equal(buf_copy(o.certfile, sizeof(o.certfile), "/x.pem"), 0);
	assert_true(rest_options_unprotected(&o)); /* TLS alone authenticates no one */
	o.verify_client = REST_VERIFY_OPTIONAL;
	assert_false(rest_options_unprotected(&o));
}

/* A member whose api_url names a host (not an address) is admitted by what the server resolved
 * that name to, as Patroni resolves members' hosts; before, only literal addresses matched. */
static void test_allowlist_includes_member_host_names_as_resolved(void **state)
{
	struct rest_cidr resolved;
	struct call c = { .method = "POST", .path = "/reload", .ip = "10.0.0.7" };

	(void)state;
	opts.allowlist_include_members = true;
	snap.member_count = 1;
	assert_int_equal(buf_copy(snap.members[0].api_url, REST_URL_MAX,
				  "http://node2.example:8008/patroni"),
			 0);
	assert_int_equal(call_full(&c, &snap), 403);
	assert_int_equal(rest_cidr_parse("10.0.0.7", &resolved), 0);
	c.member_addrs = &resolved;
	c.member_addr_count = 1;
	assert_int_equal(call_full(&c, &snap), 202);
	c.ip = "10.0.0.8";
	assert_int_equal(call_full(&c, &snap), 403);
}

static void test_client_certificate_required_after_allowlist_before_auth(void **state)
{
	struct call c = { .method = "POST", .path = "/reload", .tls = true };

	(void)state;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "admin"), 0);
	opts.verify_client = REST_VERIFY_OPTIONAL;
	assert_int_equal(call_full(&c, &snap), 403);
	assert_string_equal(body(), "client certificate required");
	c.cert = true;
	assert_int_equal(call_full(&c, &snap), 401);
}

static void test_cidr_parse_rejects_garbage(void **state)
{
	struct rest_cidr c;

	(void)state;
	assert_int_equal(rest_cidr_parse("10.0.0.0/33", &c), -EINVAL);
	assert_int_equal(rest_cidr_parse("host.example", &c), -EINVAL);
	assert_int_equal(rest_cidr_parse("10.0.0.0/x", &c), -EINVAL);
	assert_int_equal(rest_cidr_parse("fd00::/8", &c), 0);
	assert_int_equal(c.prefix_len, 8);
}

/* ---- routing of other methods ---- */

static void test_action_routing_ignores_query_string(void **state)
{
	(void)state;
	assert_true(rest_request_is_action("POST", "/switchover?x=1"));
	assert_true(rest_request_is_action("DELETE", "/restart"));
	assert_true(rest_request_is_action("PATCH", "/config/"));
	assert_false(rest_request_is_action("GET", "/switchover"));
	assert_false(rest_request_is_action("POST", "/patroni"));
	assert_int_equal(post("/reload", NULL), 202);
	assert_int_equal(calls.reload, 1);
}

static void test_unknown_method_or_path_is_501(void **state)
{
	(void)state;
	assert_int_equal(post("/foo", "{}"), 501);
	assert_true(resp.html_error);
	assert_int_equal(req("PUT", "/patroni", NULL), 501);
	assert_int_equal(req("DELETE", "/config", NULL), 501);
	assert_int_equal(req("BREW", "/", NULL), 501);
}

/* ---- action bodies ---- */

static void test_switchover_without_content_length_is_411(void **state)
{
	(void)state;
	assert_int_equal(post("/switchover", NULL), 411);
	assert_true(resp.html_error);
	assert_non_null(strstr(body(), "Error code: 411"));
}

static void test_switchover_bad_json_or_empty_object_is_400(void **state)
{
	(void)state;
	assert_int_equal(post("/switchover", "{not json"), 400);
	assert_int_equal(post("/switchover", "{}"), 400);
	assert_int_equal(post("/switchover", "[1]"), 400);
	assert_int_equal(post("/switchover", "{\"leader\": 5}"), 400);
	assert_int_equal(calls.switchover, 0);
}

/* Issue 11: a body is one JSON document; anything after it is refused with 400, as Patroni's
 * json.loads does, for every action that reads a body (200 before: cJSON stopped reading after
 * the first document and the rest was ignored). */
static void test_bodies_with_trailing_garbage_are_400(void **state)
{
	static const char *const paths[] = { "/switchover", "/failover", "/restart",
					     "/reinitialize" };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(post(paths[i], "{\"leader\": \"node1\", \"candidate\": "
						"\"node2\"} {\"x\": 1}"),
				 400);
		assert_int_equal(post(paths[i], "{\"leader\": \"node1\"} x"), 400);
	}
	for (int m = 0; m < 2; m++) {
		struct call c = { .method = m ? "PUT" : "PATCH",
				  .path = "/config",
				  .body = "{\"ttl\": 30} {\"postgresql\": {\"parameters\": "
					  "{\"archive_command\": \"x\"}}}" };

		assert_int_equal(call_full(&c, &snap), 400);
	}
	assert_int_equal(calls.switchover, 0);
	/* whitespace after the document is not garbage */
	assert_int_equal(
		post("/switchover", "{\"leader\": \"node1\", \"candidate\": \"node2\"}\r\n \t"),
		200);
}

static void test_switchover_validation_texts(void **state)
{
	static const struct {
		const char *path, *body;
		int code;
		const char *text;
	} cases[] = {
		{ "/failover", "{\"leader\": \"node1\"}", 400,
		  "Failover could be performed only to a specific candidate" },
		{ "/switchover", "{\"candidate\": \"node2\"}", 400,
		  "Switchover could be performed only from a specific leader" },
		{ "/failover",
		  "{\"candidate\": \"node2\", \"scheduled_at\": \"2030-01-01T00:00+00:00\"}", 400,
		  "Failover can't be scheduled" },
		{ "/switchover",
		  "{\"leader\": \"node1\", \"scheduled_at\": \"2030-01-01T00:00:00\"}", 400,
		  "Timezone information is mandatory for the scheduled switchover" },
		{ "/switchover", "{\"leader\": \"node1\", \"scheduled_at\": \"2020-01-01T00:00Z\"}",
		  422, "Cannot schedule switchover in the past" },
		{ "/switchover", "{\"leader\": \"node1\", \"scheduled_at\": \"tomorrow\"}", 422,
		  "Unable to parse scheduled timestamp. It should be in an unambiguous format, "
		  "e.g. ISO "
		  "8601" },
		{ "/switchover", "{\"leader\": \"node1\", \"candidate\": \"node1\"}", 400,
		  "Switchover target and source are the same" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = post(cases[i].path, cases[i].body);

		if (got != cases[i].code || strcmp(body(), cases[i].text) != 0)
			fail_msg("%s %s: want %d \"%s\", got %d \"%s\"", cases[i].path,
				 cases[i].body, cases[i].code, cases[i].text, got, body());
	}
	assert_int_equal(calls.switchover, 0);
}

static void test_switchover_in_pause_needs_candidate_and_no_schedule(void **state)
{
	(void)state;
	snap.paused = true;
	assert_int_equal(post("/switchover", "{\"leader\": \"node1\"}"), 400);
	assert_string_equal(
		body(), "Switchover is possible only to a specific candidate in a paused state");
	assert_int_equal(post("/switchover",
			      "{\"leader\": \"node1\", \"scheduled_at\": \"2030-01-01T00:00Z\"}"),
			 400);
	assert_string_equal(body(), "Can't schedule switchover in the paused state");
}

static void test_switchover_valid_reaches_callback_with_plain_values(void **state)
{
	(void)state;
	assert_int_equal(post("/switchover", "{\"leader\": \"node1\", \"member\": \"node2\"}"),
			 200);
	assert_int_equal(calls.switchover, 1);
	assert_false(calls.sw.failover);
	assert_string_equal(calls.sw.leader, "node1");
	assert_string_equal(calls.sw.candidate, "node2");
	assert_false(calls.sw.scheduled);
	assert_string_equal(resp.content_type, "text/html");
	assert_string_equal(body(), "ok");
}

static void test_failover_with_leader_becomes_switchover(void **state)
{
	(void)state;
	assert_int_equal(post("/failover", "{\"leader\": \"node1\", \"candidate\": \"node2\"}"),
			 200);
	assert_false(calls.sw.failover);
	assert_int_equal(post("/failover", "{\"candidate\": \"node2\"}"), 200);
	assert_true(calls.sw.failover);
}

static void test_scheduled_switchover_passes_parsed_time(void **state)
{
	(void)state;
	assert_int_equal(post("/switchover", "{\"leader\": \"node1\", \"scheduled_at\": "
					     "\"2030-01-02T03:04:05.5+02:00\"}"),
			 202);
	assert_true(calls.sw.scheduled);
	assert_string_equal(calls.sw.scheduled_at, "2030-01-02T03:04:05.500000+02:00");
	/* 2030-01-02T01:04:05.5Z */
	assert_int_equal(calls.sw.scheduled_at_wall_ms, 1893546245500LL);
}

/* Member names enter through REST bodies too: one over MEMBER_NAME_LEN bytes is refused with a
 * 400 that says why, never cut to fit (a cut name would name another member, or none). */
static void test_member_names_over_63_bytes_are_400_never_cut(void **state)
{
	char name63[MEMBER_NAME_LEN + 1], name64[MEMBER_NAME_LEN + 2];
	char json[512];

	(void)state;
	memset(name63, 'n', MEMBER_NAME_LEN);
	name63[MEMBER_NAME_LEN] = '\0';
	memset(name64, 'n', MEMBER_NAME_LEN + 1);
	name64[MEMBER_NAME_LEN + 1] = '\0';

	assert_int_equal(buf_format(json, sizeof(json), "{\"leader\": \"%s\"}", name64), 0);
	assert_int_equal(post("/switchover", json), 400);
	assert_string_equal(body(), "leader: a member name has at most 63 bytes, this one has 64");
	assert_int_equal(buf_format(json, sizeof(json),
				    "{\"leader\": \"node1\", \"candidate\": \"%s\"}", name64),
			 0);
	assert_int_equal(post("/switchover", json), 400);
	assert_string_equal(body(),
			    "candidate: a member name has at most 63 bytes, this one has 64");
	assert_int_equal(buf_format(json, sizeof(json), "{\"member\": \"%s\"}", name64), 0);
	assert_int_equal(post("/failover", json), 400);
	assert_string_equal(body(), "member: a member name has at most 63 bytes, this one has 64");
	assert_int_equal(post("/failover", "{\"candidate\": \"node\\u0001\"}"), 400);
	assert_string_equal(body(), "candidate: not a valid member name");
	assert_int_equal(calls.switchover, 0);

	/* 63 bytes is a name, and it reaches the agent whole. */
	assert_int_equal(buf_format(json, sizeof(json),
				    "{\"leader\": \"node1\", \"candidate\": \"%s\"}", name63),
			 0);
	assert_int_equal(post("/switchover", json), 200);
	assert_int_equal(calls.switchover, 1);
	assert_string_equal(calls.sw.candidate, name63);

	snap.failsafe_mode_enabled = true;
	assert_int_equal(buf_format(json, sizeof(json), "{\"name\": \"%s\"}", name64), 0);
	assert_int_equal(post("/failsafe", json), 400);
	assert_string_equal(body(), "name: a member name has at most 63 bytes, this one has 64");
}

/* scheduled_at and schedule are read with base's strict ISO 8601 parser: what it refuses is 422
 * (400 when only the zone is missing), never a switchover at once. */
static void test_schedules_are_parsed_strictly(void **state)
{
	static const char *const unparsable[] = {
		"2030-02-30T00:00Z",
		"2030-01-01T24:00Z",
		"2030-01-01T00:00Z junk",
		"2030-01-01T00:00+2400",
		"2030-1-01T00:00Z",
		"2030-01-01T00:00:00.Z",
		"2030-01-01",
		"20300101T000000Z",
		"",
	};
	char json[256];

	(void)state;
	for (size_t i = 0; i < sizeof(unparsable) / sizeof(unparsable[0]); i++) {
		int got;

		assert_int_equal(buf_format(json, sizeof(json),
					    "{\"leader\": \"node1\", \"scheduled_at\": \"%s\"}",
					    unparsable[i]),
				 0);
		got = post("/switchover", json);
		/* "" means "not scheduled" (Patroni's own reading): the immediate path answers */
		if (unparsable[i][0] == '\0')
			continue;
		if (got != 422)
			fail_msg("scheduled_at \"%s\": want 422, got %d \"%s\"", unparsable[i], got,
				 body());
		assert_int_equal(
			buf_format(json, sizeof(json), "{\"schedule\": \"%s\"}", unparsable[i]), 0);
		got = post("/restart", json);
		if (got != 422)
			fail_msg("schedule \"%s\": want 422, got %d \"%s\"", unparsable[i], got,
				 body());
	}
	assert_int_equal(calls.sw.scheduled, false);
	assert_int_equal(post("/restart", "{\"schedule\": \"2030-01-01 00:00\"}"), 400);
	assert_string_equal(body(), "Timezone information is mandatory for the scheduled restart");
}

static void test_restart_validation(void **state)
{
	static const struct {
		const char *body;
		int code;
		const char *text;
	} cases[] = {
		{ "{\"foo\": 1}", 400, "Unknown filter for the scheduled restart: foo" },
		{ "{\"role\": \"leader\"}", 400,
		  "PostgreSQL role should be either primary, standby_leader, or replica" },
		{ "{\"postgres_version\": \"9.6\"}", 400,
		  "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 9.6" },
		{ "{\"postgres_version\": \"fifteen\"}", 400,
		  "Invalid PostgreSQL version: fifteen" },
		{ "{\"timeout\": -5}", 400, "Timeout should be a positive number of seconds" },
		{ "{\"schedule\": \"2020-01-01T00:00Z\"}", 422,
		  "Cannot schedule restart in the past" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = post("/restart", cases[i].body);

		if (got != cases[i].code || strcmp(body(), cases[i].text) != 0)
			fail_msg("%s: want %d \"%s\", got %d \"%s\"", cases[i].body, cases[i].code,
				 cases[i].text, got, body());
	}
	assert_int_equal(calls.restart, 0);
}

static void test_restart_without_body_and_with_filters_reaches_callback(void **state)
{
	(void)state;
	assert_int_equal(post("/restart", NULL), 200);
	assert_int_equal(calls.restart, 1);
	assert_false(calls.rs.has_role);
	assert_int_equal(post("/restart", "{\"role\": \"master\", \"postgres_version\": \"15.2\", "
					  "\"timeout\": \"30s\", \"restart_pending\": true}"),
			 200);
	assert_true(calls.rs.has_role);
	assert_int_equal(calls.rs.role, REST_ROLE_PRIMARY);
	assert_int_equal(calls.rs.postgres_version, 150002);
	assert_int_equal(calls.rs.timeout_s, 30);
	assert_true(calls.rs.restart_pending);
}

static void test_restart_schedule_in_pause_is_500(void **state)
{
	(void)state;
	snap.paused = true;
	assert_int_equal(post("/restart", "{\"schedule\": \"2030-01-01T00:00Z\"}"), 500);
	assert_string_equal(body(), "Can't schedule restart in the paused state");
}

static void test_reinitialize_passes_flags(void **state)
{
	(void)state;
	assert_int_equal(post("/reinitialize", "{\"force\": true, \"from_leader\": \"yes\"}"), 200);
	assert_true(calls.ri.force);
	assert_true(calls.ri.from_leader);
	assert_string_equal(body(), "reinitialize started");
}

static void test_delete_restart_and_switchover_use_callbacks(void **state)
{
	(void)state;
	assert_int_equal(req("DELETE", "/restart", NULL), 404);
	assert_int_equal(req("DELETE", "/switchover", NULL), 404);
	assert_int_equal(calls.cancel, 2);
}

static void test_failsafe_post_needs_failsafe_mode(void **state)
{
	(void)state;
	assert_int_equal(post("/failsafe", "{\"name\": \"node1\"}"), 502);
	snap.failsafe_mode_enabled = true;
	assert_int_equal(post("/failsafe", "{\"name\": \"node1\", \"slots\": {\"node2\": 100}}"),
			 200);
	assert_string_equal(body(), "Accepted");
	assert_string_equal(resp.lsn_header, "50331744");
	assert_int_equal(post("/failsafe", "{\"slots\": [1]}"), 400);
}

static void test_patch_config_answers_merged_document(void **state)
{
	struct call c = { .method = "PATCH",
			  .path = "/config",
			  .body = "{\"ttl\": 20, \"postgresql\": {\"parameters\": {\"a\": null, "
				  "\"b\": 2}}}" };

	(void)state;
	assert_int_equal(call_full(&c, &snap), 200);
	assert_string_equal(calls.patch_json,
			    "{\"ttl\":20,\"postgresql\":{\"parameters\":{\"a\":null,\"b\":2}}}");
	assert_string_equal(body(), "{\"ttl\": 20, \"postgresql\": {\"parameters\": {\"b\": 2}}}");
	c.body = "{}";
	assert_int_equal(call_full(&c, &snap), 400);
}

/* A newline in a parameter name or value, or max_connections "-5", stored in etcd once, blocked
 * every node's configuration; such a body is answered with 400 before anything is stored. */
static void test_config_write_refuses_bad_parameters_with_400(void **state)
{
	static const char *const bad[] = {
		"{\"postgresql\": {\"parameters\": {\"work_mem\": \"1MB\\nfsync = off\"}}}",
		"{\"postgresql\": {\"parameters\": {\"work_mem\\nfsync\": \"1MB\"}}}",
		"{\"postgresql\": {\"parameters\": {\"max_connections\": \"-5\"}}}",
		"{\"postgresql\": {\"parameters\": {\"MAX_CONNECTIONS\": -5}}}",
		"{\"postgresql\": {\"parameters\": {\"max_wal_senders\": \"ten\"}}}",
		"{\"postgresql\": {\"parameters\": {\"a\": {\"b\": 1}}}}",
		"{\"postgresql\": {\"parameters\": {\"\": 1}}}",
		"{\"postgresql\": {\"parameters\": [1]}}",
	};
	struct call c = { .method = "PATCH", .path = "/config" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.body = bad[i];
		c.method = "PATCH";
		assert_int_equal(call_full(&c, &snap), 400);
		assert_non_null(strstr(body(), "postgresql.parameters"));
		c.method = "PUT";
		assert_int_equal(call_full(&c, &snap), 400);
	}
	assert_int_equal(calls.put, 0);
	assert_string_equal(calls.patch_json, "");
	c.method = "PATCH";
	c.body = "{\"postgresql\": {\"parameters\": {\"max_connections\": 200, "
		 "\"work_mem\": \"4MB\", \"hot_standby\": true, \"wal_keep_size\": null}}}";
	assert_int_equal(call_full(&c, &snap), 200);
}

static void test_put_config_reports_callback_failure(void **state)
{
	struct call c = { .method = "PUT", .path = "/config", .body = "{\"ttl\": 20}" };

	(void)state;
	assert_int_equal(call_full(&c, &snap), 502);
	assert_true(resp.html_error);
	assert_int_equal(calls.put, 1);
}

static void test_missing_callback_answers_503(void **state)
{
	struct rest_request rq = {
		.method = "POST", .path = "/reload", .client_ip = "127.0.0.1", .now_mono_ms = NOW_MS
	};

	(void)state;
	rest_response_done(&resp);
	assert_int_equal(rest_handle(&opts, NULL, &rq, &snap, &resp), 0);
	assert_int_equal(resp.status, 503);
	assert_string_equal(body(), "reload is not available");
}

static void test_enum_names_round_trip(void **state)
{
	(void)state;
	for (int st = REST_DB_UNKNOWN; st <= REST_DB_CUSTOM_BOOTSTRAP_FAILED; st++) {
		enum rest_db_state back;

		assert_int_equal(rest_db_state_parse(rest_db_state_name(st), &back), 0);
		assert_int_equal(back, st);
	}
	for (int r = REST_ROLE_UNINITIALIZED; r <= REST_ROLE_PROMOTED; r++) {
		enum rest_role back;

		assert_int_equal(rest_role_parse(rest_role_name(r, NULL), &back), 0);
		assert_int_equal(back, r);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_health_sweep_every_endpoint_state_and_method_matches_contract),
		T(test_primary_checks_turn_503_once_lease_deadline_passes),
		T(test_replica_checks_unaffected_by_lease_deadline),
		T(test_lock_without_deadline_is_not_primary),
		T(test_liveness_fails_when_loop_is_late),
		T(test_paused_without_dcs_primary_answers_from_role),
		T(test_no_snapshot_yet_answers_503),
		T(test_replica_lag_query_param),
		T(test_tag_filters_apply_to_replica_not_primary),
		T(test_replication_state_query_param),
		T(test_readiness_lag_and_mode),
		T(test_patroni_document_of_replica_is_exact),
		T(test_patroni_document_of_primary_is_exact),
		T(test_patroni_document_of_stopped_node_shrinks),
		T(test_patroni_document_marks_cluster_unlocked_without_dcs_view),
		T(test_legacy_master_role_word),
		T(test_json_strings_are_escaped_like_python),
		T(test_sync_standby_field_only_in_sync_mode),
		T(test_metrics_carry_patroni_and_gsha_names),
		T(test_metrics_of_nofailover_node_have_priority_zero),
		T(test_cluster_sorts_members_and_computes_lag),
		T(test_history_rows_render_as_python_lists),
		T(test_config_get_renders_stored_json_or_502),
		T(test_failsafe_get_is_502_without_key),
		T(test_head_on_monitoring_paths_is_503),
		T(test_unsafe_without_auth_header_is_401),
		T(test_unsafe_with_wrong_auth_is_401_and_right_auth_passes),
		T(test_auth_is_checked_before_body),
		T(test_allowlist_refuses_before_auth),
		T(test_check_access_alone_refuses_unsafe_and_passes_safe),
		T(test_allowlist_includes_member_api_hosts),
		T(test_allowlist_include_members_alone_admits_failsafe),
		T(test_unprotected_options_are_those_open_beyond_loopback),
		T(test_allowlist_includes_member_host_names_as_resolved),
		T(test_client_certificate_required_after_allowlist_before_auth),
		T(test_cidr_parse_rejects_garbage),
		T(test_action_routing_ignores_query_string),
		T(test_unknown_method_or_path_is_501),
		T(test_switchover_without_content_length_is_411),
		T(test_switchover_bad_json_or_empty_object_is_400),
		T(test_bodies_with_trailing_garbage_are_400),
		T(test_switchover_validation_texts),
		T(test_switchover_in_pause_needs_candidate_and_no_schedule),
		T(test_switchover_valid_reaches_callback_with_plain_values),
		T(test_failover_with_leader_becomes_switchover),
		T(test_scheduled_switchover_passes_parsed_time),
		T(test_member_names_over_63_bytes_are_400_never_cut),
		T(test_schedules_are_parsed_strictly),
		T(test_restart_validation),
		T(test_restart_without_body_and_with_filters_reaches_callback),
		T(test_restart_schedule_in_pause_is_500),
		T(test_reinitialize_passes_flags),
		T(test_delete_restart_and_switchover_use_callbacks),
		T(test_failsafe_post_needs_failsafe_mode),
		T(test_patch_config_answers_merged_document),
		T(test_config_write_refuses_bad_parameters_with_400),
		T(test_put_config_reports_callback_failure),
		T(test_missing_callback_answers_503),
		T(test_enum_names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
