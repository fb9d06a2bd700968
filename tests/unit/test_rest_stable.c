/*
 * Tests for rest_health_stable_until(): the server serves a health answer rendered once per
 * snapshot until that instant (rest_cache.c), so for every node state, every cached health
 * path and method, the status and body rendered at any instant before it must equal the ones
 * rendered when the snapshot was first asked about; and it must not be later than needed: at
 * the instant it names, some answer does change. Walks every deadline of each snapshot in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rest.h"

#define NOW_MS 1000000
#define NOW_WALL_MS 1795239505000LL
#define TTL_MS 30000

/* The paths rest_cache.c renders once per snapshot, with every method it caches. */
static const char *const paths[] = {
	"/",
	"/primary",
	"/master",
	"/leader",
	"/read-write",
	"/replica",
	"/read-only",
	"/health",
	"/liveness",
	"/readiness",
	"/standby-leader",
	"/standby_leader",
	"/sync",
	"/synchronous",
	"/async",
	"/asynchronous",
	"/quorum",
	"/read-only-sync",
	"/read-only-synchronous",
	"/read-only-quorum",
};
static const char *const methods[] = { "GET", "HEAD", "OPTIONS" };
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))
#define NANSWERS (NPATHS * NMETHODS)

static struct rest_options opts;

struct answer {
	int status;
	char *body;
};

static void render_all(const struct rest_snapshot *s, int64_t now, struct answer *out)
{
	for (size_t m = 0; m < NMETHODS; m++) {
		for (size_t p = 0; p < NPATHS; p++) {
			struct rest_request rq = { .method = methods[m], .path = paths[p] };
			struct rest_response r;
			struct answer *a = &out[m * NPATHS + p];

			rq.now_mono_ms = now;
			rq.now_wall_ms = NOW_WALL_MS + (now - NOW_MS);
			assert_int_equal(rest_handle(&opts, NULL, &rq, s, &r), 0);
			a->status = r.status;
			a->body = r.body ? strndup(r.body, r.body_len) : strdup("");
			assert_non_null(a->body);
			rest_response_done(&r);
		}
	}
}

static void free_all(struct answer *a)
{
	for (size_t i = 0; i < NANSWERS; i++)
		free(a[i].body);
}

/* Number of answers that differ between a and b. */
static int differences(const struct answer *a, const struct answer *b)
{
	int n = 0;

	for (size_t i = 0; i < NANSWERS; i++)
		if (a[i].status != b[i].status || strcmp(a[i].body, b[i].body) != 0)
			n++;
	return n;
}

/* From NOW_MS on, deadline by deadline: answers hold until the instant named, and change
 * there. Returns the number of deadlines walked. */
static int walk(const struct rest_snapshot *s)
{
	int64_t t = NOW_MS;
	int steps = 0;

	for (;;) {
		struct answer first[NANSWERS], later[NANSWERS];
		int64_t until = rest_health_stable_until(s, t);
		int64_t probes[3];

		assert_true(until > t);
		render_all(s, t, first);
		if (until == INT64_MAX) {
			render_all(s, t + 24LL * 3600 * 1000, later);
			assert_int_equal(differences(first, later), 0);
			free_all(later);
			free_all(first);
			return steps;
		}
		probes[0] = t + 1;
		probes[1] = t + (until - t) / 2;
		probes[2] = until - 1;
		for (int i = 0; i < 3; i++) {
			render_all(s, probes[i], later);
			assert_int_equal(differences(first, later), 0);
			free_all(later);
		}
		render_all(s, until, later);
		assert_true(differences(first, later) > 0);
		free_all(later);
		free_all(first);
		t = until;
		steps++;
		assert_true(steps < 10);
	}
}

static void base(struct rest_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(buf_copy(s->name, sizeof(s->name), "node1"), 0);
	assert_int_equal(buf_copy(s->scope, sizeof(s->scope), "batman"), 0);
	s->ttl_ms = TTL_MS;
	s->dcs_last_seen_mono_ms = NOW_MS - 1000;
	s->dcs_last_seen_wall_ms = NOW_WALL_MS - 1000;
	s->next_cycle_due_ms = NOW_MS + 5000;
	s->state = REST_DB_RUNNING;
	s->pg_reachable = true;
	s->server_version = 150004;
	s->timeline = 1;
	s->cluster_optime_bytes = 50331744;
}

static int setup(void **state)
{
	(void)state;
	rest_options_init(&opts);
	return 0;
}

static void test_primary_walks_lease_view_and_liveness(void **state)
{
	struct rest_snapshot s;

	(void)state;
	base(&s);
	s.role = REST_ROLE_PRIMARY;
	s.has_lock = true;
	s.lease_deadline_ms = NOW_MS + 20000;
	assert_int_equal(rest_health_stable_until(&s, NOW_MS), NOW_MS + 20000);
	/* lease, then the DCS view (last seen + ttl), then liveness (due + ttl) */
	assert_int_equal(walk(&s), 3);
}

static void test_replica_walks_view_and_liveness(void **state)
{
	struct rest_snapshot s;

	(void)state;
	base(&s);
	s.role = REST_ROLE_REPLICA;
	s.replication_state = REST_REPLICATION_STREAMING;
	s.sync_mode = REST_SYNC_ON;
	s.is_sync_standby = true;
	s.received_lsn_bytes = s.replayed_lsn_bytes = 50331744;
	assert_int_equal(rest_health_stable_until(&s, NOW_MS), NOW_MS - 1000 + TTL_MS);
	assert_int_equal(walk(&s), 2);
}

static void test_standby_leader_walks_every_deadline(void **state)
{
	struct rest_snapshot s;

	(void)state;
	base(&s);
	s.role = REST_ROLE_STANDBY_LEADER;
	s.standby_cluster = true;
	s.has_lock = true;
	s.lease_deadline_ms = NOW_MS + 40000;
	s.replication_state = REST_REPLICATION_STREAMING;
	assert_int_equal(walk(&s), 3);
}

static void test_paused_primary_has_no_liveness_deadline(void **state)
{
	struct rest_snapshot s;

	(void)state;
	base(&s);
	s.role = REST_ROLE_PRIMARY;
	s.paused = true;
	s.has_lock = true;
	s.lease_deadline_ms = NOW_MS + 20000;
	assert_int_equal(walk(&s), 2);
}

static void test_cut_off_primary_is_stable_for_ever(void **state)
{
	struct rest_snapshot s;

	(void)state;
	base(&s);
	s.role = REST_ROLE_PRIMARY;
	s.has_lock = true;
	s.lease_deadline_ms = NOW_MS - 5000;
	s.dcs_last_seen_mono_ms = NOW_MS - 2 * TTL_MS;
	s.next_cycle_due_ms = NOW_MS - 2 * TTL_MS;
	assert_int_equal(rest_health_stable_until(&s, NOW_MS), INT64_MAX);
	assert_int_equal(walk(&s), 0);
}

static void test_no_snapshot_is_stable(void **state)
{
	(void)state;
	assert_int_equal(rest_health_stable_until(NULL, NOW_MS), INT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_primary_walks_lease_view_and_liveness, setup),
		cmocka_unit_test_setup(test_replica_walks_view_and_liveness, setup),
		cmocka_unit_test_setup(test_standby_leader_walks_every_deadline, setup),
		cmocka_unit_test_setup(test_paused_primary_has_no_liveness_deadline, setup),
		cmocka_unit_test_setup(test_cut_off_primary_is_stable_for_ever, setup),
		cmocka_unit_test_setup(test_no_snapshot_is_stable, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
