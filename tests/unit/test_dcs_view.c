/*
 * Unit tests for the watch-fed cluster view (dcs/dcs_view.c): loaded from golden etcd replies
 * (tests/unit/fixtures/dcs, captured from etcd 3.4.23), changed by watch events, and built into
 * the same struct dcs_cluster a read gives; out-of-order and hostile events.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "dcs.h"
#include "dcs_codec.h"
#include "dcs_view.h"

#define PREFIX "/service/batman/"
#define FIXTURE_MAX (64 * 1024)
#define MSG_LEN 256
#define LINE_MAX_BYTES 8192

struct fixture {
	char *data;
	size_t len;
};

static struct fixture load(const char *name)
{
	char path[PATH_MAX];
	struct fixture f = { 0 };
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", DCS_FIXTURE_DIR, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	f.data = calloc(1, FIXTURE_MAX + 1);
	assert_non_null(f.data);
	f.len = fread(f.data, 1, FIXTURE_MAX, fp);
	fclose(fp);
	return f;
}

/* One watch line with one event: a put of value (or a delete when value is NULL) of
 * PREFIX + suffix at revision rev. */
static void event_line(char *out, size_t cap, const char *suffix, const char *value, int64_t rev)
{
	char key[512], k64[1024], v64[4096];

	snprintf(key, sizeof(key), "%s%s", PREFIX, suffix);
	assert_int_equal(base64_encode(key, strlen(key), k64, sizeof(k64)), 0);
	if (value == NULL) {
		snprintf(out, cap,
			 "{\"result\":{\"header\":{\"revision\":\"%lld\"},\"events\":[{\"type\":"
			 "\"DELETE\",\"kv\":{\"key\":\"%s\",\"mod_revision\":\"%lld\"}}]}}",
			 (long long)rev, k64, (long long)rev);
		return;
	}
	assert_int_equal(base64_encode(value, strlen(value), v64, sizeof(v64)), 0);
	snprintf(out, cap,
		 "{\"result\":{\"header\":{\"revision\":\"%lld\"},\"events\":[{\"kv\":{\"key\":\"%"
		 "s\","
		 "\"create_revision\":\"%lld\",\"mod_revision\":\"%lld\",\"version\":\"1\","
		 "\"value\":\"%s\"}}]}}",
		 (long long)rev, k64, (long long)rev, (long long)rev, v64);
}

struct state {
	struct dcs_view v;
	struct dcs_cluster *c;
	char msg[MSG_LEN];
};

/* Fixture: a view loaded from the captured range reply over the cluster (revision 11: config,
 * failover "{}", failsafe, history, initialize, leader node1, members node1 and node2, ...). */
static int setup_loaded(void **st)
{
	struct state *s = calloc(1, sizeof(*s));
	struct fixture f = load("range_cluster.json");

	assert_non_null(s);
	s->c = calloc(1, sizeof(*s->c));
	assert_non_null(s->c);
	dcs_view_init(&s->v);
	assert_int_equal(dcs_view_load(&s->v, f.data, f.len, PREFIX, s->msg, sizeof(s->msg)), 0);
	free(f.data);
	*st = s;
	return 0;
}

static int teardown(void **st)
{
	struct state *s = *st;

	dcs_view_done(&s->v);
	free(s->c);
	free(s);
	return 0;
}

static int apply(struct state *s, const char *line, unsigned *changed)
{
	return dcs_view_apply_watch(&s->v, line, strlen(line), PREFIX, changed, s->msg,
				    sizeof(s->msg));
}

static void test_view_load_builds_what_a_read_parses(void **st)
{
	struct state *s = *st;
	struct fixture f = load("range_cluster.json");
	struct dcs_cluster *read = calloc(1, sizeof(*read));

	assert_non_null(read);
	assert_int_equal(
		dcs_codec_parse_cluster(f.data, f.len, PREFIX, read, s->msg, sizeof(s->msg)), 0);
	dcs_view_build(&s->v, s->c);
	assert_int_equal(s->v.revision, 11);
	assert_int_equal(s->c->revision, read->revision);
	assert_true(s->c->has_leader);
	assert_string_equal(s->c->leader, read->leader);
	assert_int_equal(s->c->member_count, read->member_count);
	/* The whole view, field by field: the same code built both from the same keys. */
	assert_memory_equal(s->c, read, sizeof(*read));
	free(read);
	free(f.data);
}

/* The texts dcs_cluster_copy and dcs_cluster_clear write only up to their terminators, in the
 * order of their offsets. */
#define TEXT(f)                                                                       \
	{                                                                             \
		offsetof(struct dcs_cluster, f), sizeof(((struct dcs_cluster *)0)->f) \
	}
static const struct {
	size_t at, size;
} texts[] = { TEXT(config), TEXT(sync_standby), TEXT(status), TEXT(history), TEXT(failsafe) };

/* got holds what want holds: every byte outside the members and the texts, the texts as
 * strings, and the first n members. */
static void assert_cluster_same(const struct dcs_cluster *got, const struct dcs_cluster *want,
				int n)
{
	const size_t members = offsetof(struct dcs_cluster, members);
	size_t at = 0;

	for (size_t i = 0; i <= sizeof(texts) / sizeof(texts[0]); i++) {
		size_t end = i < sizeof(texts) / sizeof(texts[0]) ? texts[i].at : sizeof(*got);

		if (at <= members && members < end) { /* skip the members array */
			assert_memory_equal((const char *)got + at, (const char *)want + at,
					    members - at);
			at = members + sizeof(got->members);
		}
		assert_memory_equal((const char *)got + at, (const char *)want + at, end - at);
		if (i == sizeof(texts) / sizeof(texts[0]))
			break;
		assert_string_equal((const char *)got + end, (const char *)want + end);
		at = end + texts[i].size;
	}
	assert_memory_equal(got->members, want->members, sizeof(want->members[0]) * n);
}

/* A build into a struct that held something else, and a copy: every field and every member up
 * to member_count as the read has them; the member slots past the count and the bytes past each
 * text's terminator are never written (issue 15: each copy of the view would otherwise be some
 * 200 kB resident, then 88 kB of an empty history). */
static void test_view_build_and_copy_write_only_the_members_used(void **st)
{
	struct state *s = *st;
	struct fixture f = load("range_cluster.json");
	struct dcs_cluster *read = calloc(1, sizeof(*read));
	struct dcs_cluster *copy = malloc(sizeof(*copy));
	int n;

	assert_non_null(read);
	assert_non_null(copy);
	assert_int_equal(
		dcs_codec_parse_cluster(f.data, f.len, PREFIX, read, s->msg, sizeof(s->msg)), 0);
	n = read->member_count;
	assert_true(n >= 2 && n < DCS_MEMBERS_MAX);
	memset(s->c, 0xa5, sizeof(*s->c));
	dcs_view_build(&s->v, s->c);
	memset(copy, 0x5a, sizeof(*copy));
	dcs_cluster_copy(copy, read);
	for (int k = 0; k < 2; k++) {
		const struct dcs_cluster *got = k == 0 ? s->c : copy;
		const unsigned char *past = (const unsigned char *)&got->members[n];

		const unsigned char *history = (const unsigned char *)got->history;
		size_t hlen = strlen(read->history);

		assert_cluster_same(got, read, n);
		assert_int_equal(past[0], k == 0 ? 0xa5 : 0x5a);
		assert_int_equal(past[sizeof(read->members[0]) - 1], k == 0 ? 0xa5 : 0x5a);
		assert_int_equal(history[hlen + 1], k == 0 ? 0xa5 : 0x5a);
		assert_int_equal(history[sizeof(read->history) - 1], k == 0 ? 0xa5 : 0x5a);
	}
	assert_string_equal(dcs_cluster_member(copy, "node2")->name, "node2");
	assert_null(dcs_cluster_member(copy, "node3"));
	dcs_cluster_clear(copy);
	assert_int_equal(copy->member_count, 0);
	assert_false(copy->has_leader);
	assert_string_equal(copy->history, "");
	assert_string_equal(copy->config, "");
	assert_string_equal(copy->failsafe, "");
	assert_null(dcs_cluster_member(copy, "node1"));
	free(copy);
	free(read);
	free(f.data);
}

static void test_view_captured_stream_applies_puts_and_delete(void **st)
{
	struct state *s = *st;
	struct fixture f = load("watch_stream.json");
	char *line = f.data, *nl;
	unsigned all = 0;

	dcs_view_build(&s->v, s->c);
	assert_true(s->c->has_failover);
	while ((nl = memchr(line, '\n', f.len - (size_t)(line - f.data))) != NULL) {
		unsigned changed = 0;

		*nl = '\0';
		if (nl > line)
			assert_int_equal(dcs_view_apply_watch(&s->v, line, (size_t)(nl - line),
							      PREFIX, &changed, s->msg,
							      sizeof(s->msg)),
					 0);
		all |= changed;
		line = nl + 1;
	}
	dcs_view_build(&s->v, s->c);
	/* Revision 11's failsafe event is already in the view (read at 11); 12 empties it. */
	assert_int_equal(s->v.revision, 14);
	assert_true(s->c->has_failsafe);
	assert_string_equal(s->c->failsafe, "{}");
	assert_int_equal(s->c->failsafe_mod_revision, 12);
	assert_int_equal(s->c->leader_mod_revision, 13);
	assert_false(s->c->has_failover); /* deleted at 14 */
	assert_int_equal(all, DCS_CHANGE_FAILSAFE | DCS_CHANGE_LEADER | DCS_CHANGE_FAILOVER);
	free(f.data);
}

static void test_view_leader_delete_then_new_leader(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES];
	unsigned changed = 0;

	event_line(line, sizeof(line), "leader", NULL, 20);
	assert_int_equal(apply(s, line, &changed), 0);
	assert_int_equal(changed, DCS_CHANGE_LEADER);
	dcs_view_build(&s->v, s->c);
	assert_false(s->c->has_leader);
	event_line(line, sizeof(line), "leader", "node2", 21);
	assert_int_equal(apply(s, line, NULL), 0);
	dcs_view_build(&s->v, s->c);
	assert_true(s->c->has_leader);
	assert_string_equal(s->c->leader, "node2");
	assert_int_equal(s->c->leader_create_revision, 21);
	assert_int_equal(s->c->revision, 21);
}

static void test_view_new_member_is_kept_in_key_order(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES];
	int before;

	dcs_view_build(&s->v, s->c);
	before = s->c->member_count;
	event_line(line, sizeof(line), "members/aaa",
		   "{\"role\":\"replica\",\"state\":\"running\",\"api_url\":\"http://127.0.0.1:1/"
		   "patroni\",\"conn_url\":\"postgres://127.0.0.1:2/postgres\"}",
		   30);
	assert_int_equal(apply(s, line, NULL), 0);
	dcs_view_build(&s->v, s->c);
	assert_int_equal(s->c->member_count, before + 1);
	assert_string_equal(s->c->members[0].name, "aaa");
	assert_string_equal(s->c->members[0].state, "running");
	event_line(line, sizeof(line), "members/aaa", NULL, 31);
	assert_int_equal(apply(s, line, NULL), 0);
	dcs_view_build(&s->v, s->c);
	assert_int_equal(s->c->member_count, before);
	assert_null(dcs_cluster_member(s->c, "aaa"));
}

static void test_view_config_change_is_parsed(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES];
	unsigned changed = 0;

	event_line(line, sizeof(line), "config", "{\"ttl\":20,\"loop_wait\":5,\"pause\":true}", 40);
	assert_int_equal(apply(s, line, &changed), 0);
	assert_int_equal(changed, DCS_CHANGE_CONFIG);
	dcs_view_build(&s->v, s->c);
	assert_true(s->c->config_valid);
	assert_int_equal(s->c->config_ttl_ms, 20000);
	assert_int_equal(s->c->config_loop_wait_ms, 5000);
	assert_true(s->c->config_pause);
	assert_int_equal(s->c->config_mod_revision, 40);
}

/* A read overtook the stream: events at or below the view's revision are already in it. */
static void test_view_old_event_is_skipped(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES];

	event_line(line, sizeof(line), "leader", NULL, 5);
	assert_int_equal(apply(s, line, NULL), 0);
	dcs_view_build(&s->v, s->c);
	assert_true(s->c->has_leader);
	assert_int_equal(s->v.revision, 11);
}

static void test_view_revisions_going_backwards_clear_the_view(void **st)
{
	struct state *s = *st;
	char k64[128], v64[64];
	char line[LINE_MAX_BYTES];

	assert_int_equal(base64_encode(PREFIX "leader", strlen(PREFIX "leader"), k64, sizeof(k64)),
			 0);
	assert_int_equal(base64_encode("node2", 5, v64, sizeof(v64)), 0);
	snprintf(line, sizeof(line),
		 "{\"result\":{\"header\":{\"revision\":\"30\"},\"events\":["
		 "{\"kv\":{\"key\":\"%s\",\"create_revision\":\"30\",\"mod_revision\":\"30\","
		 "\"value\":\"%s\"}},"
		 "{\"kv\":{\"key\":\"%s\",\"create_revision\":\"29\",\"mod_revision\":\"29\","
		 "\"value\":\"%s\"}}]}}",
		 k64, v64, k64, v64);
	assert_int_equal(apply(s, line, NULL), DCS_ERR_INVALID_RESPONSE);
	assert_false(s->v.loaded);
	assert_int_equal(s->v.count, 0);
}

/* Several events of one txn share a revision: all of them apply. */
static void test_view_events_of_one_revision_all_apply(void **st)
{
	struct state *s = *st;
	char k1[128], k2[128], v64[64];
	char line[LINE_MAX_BYTES];

	assert_int_equal(base64_encode(PREFIX "leader", strlen(PREFIX "leader"), k1, sizeof(k1)),
			 0);
	assert_int_equal(
		base64_encode(PREFIX "failover", strlen(PREFIX "failover"), k2, sizeof(k2)), 0);
	assert_int_equal(base64_encode("node2", 5, v64, sizeof(v64)), 0);
	snprintf(line, sizeof(line),
		 "{\"result\":{\"header\":{\"revision\":\"50\"},\"events\":["
		 "{\"kv\":{\"key\":\"%s\",\"create_revision\":\"4\",\"mod_revision\":\"50\","
		 "\"value\":\"%s\"}},"
		 "{\"type\":\"DELETE\",\"kv\":{\"key\":\"%s\",\"mod_revision\":\"50\"}}]}}",
		 k1, v64, k2);
	assert_int_equal(apply(s, line, NULL), 0);
	dcs_view_build(&s->v, s->c);
	assert_string_equal(s->c->leader, "node2");
	assert_false(s->c->has_failover);
}

static void test_view_key_outside_prefix_is_refused(void **st)
{
	struct state *s = *st;
	char k64[128], line[LINE_MAX_BYTES];

	assert_int_equal(base64_encode("/service/other/leader", 21, k64, sizeof(k64)), 0);
	snprintf(line, sizeof(line),
		 "{\"result\":{\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"%s\","
		 "\"mod_revision\":\"60\"}}]}}",
		 k64);
	assert_int_equal(apply(s, line, NULL), DCS_ERR_INVALID_RESPONSE);
	assert_false(s->v.loaded);
}

static void test_view_hostile_lines_are_refused_whole(void **st)
{
	struct state *s = *st;
	static const char *const bad[] = {
		"not json",
		"{\"result\":{\"events\":{}}}",
		"{\"result\":{\"events\":[7]}}",
		"{\"result\":{\"events\":[{\"type\":\"TRUNCATE\",\"kv\":{\"key\":"
		"\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"mod_revision\":\"90\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"!!!\",\"mod_revision\":\"90\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\","
		"\"mod_revision\":\"-1\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\","
		"\"mod_revision\":\"90\",\"value\":\"@@@@\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\","
		"\"mod_revision\":\"0\"}}]}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fixture f = load("range_cluster.json");

		assert_int_equal(
			dcs_view_load(&s->v, f.data, f.len, PREFIX, s->msg, sizeof(s->msg)), 0);
		free(f.data);
		print_message("line %zu\n", i);
		assert_int_not_equal(apply(s, bad[i], NULL), 0);
		assert_false(s->v.loaded);
		assert_true(s->msg[0] != '\0');
	}
}

static void test_view_unknown_keys_are_not_kept(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES];
	int before = s->v.count;
	unsigned changed = 0;

	event_line(line, sizeof(line), "junk/deep/key", "whatever", 70);
	assert_int_equal(apply(s, line, &changed), 0);
	assert_int_equal(s->v.count, before);
	assert_int_equal(changed, DCS_CHANGE_OTHER);
	assert_int_equal(s->v.revision, 70);
}

/* Too many members: the view refuses rather than hold an unbounded prefix (the loop reads). */
static void test_view_too_many_keys_clear_the_view(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES], name[64];
	int rc = 0;

	for (int i = 0; i < DCS_VIEW_KEYS_MAX + 1 && rc == 0; i++) {
		snprintf(name, sizeof(name), "members/m%04d", i);
		event_line(line, sizeof(line), name, "{}", 100 + i);
		rc = apply(s, line, NULL);
	}
	assert_int_equal(rc, DCS_ERR_INVALID_RESPONSE);
	assert_false(s->v.loaded);
}

static void test_view_oversized_value_reads_as_refused(void **st)
{
	struct state *s = *st;
	size_t n = DCS_CONFIG_MAX + 100;
	char *value = malloc(n + 1), *line = malloc(4 * n);

	assert_non_null(value);
	assert_non_null(line);
	memset(value, 'x', n);
	value[0] = '{';
	value[n] = '\0';
	{
		char k64[128];
		char *v64 = malloc(BASE64_ENCODED_CAP(n));

		assert_non_null(v64);
		assert_int_equal(
			base64_encode(PREFIX "config", strlen(PREFIX "config"), k64, sizeof(k64)),
			0);
		assert_int_equal(base64_encode(value, n, v64, BASE64_ENCODED_CAP(n)), 0);
		snprintf(line, 4 * n,
			 "{\"result\":{\"events\":[{\"kv\":{\"key\":\"%s\",\"create_revision\":"
			 "\"3\",\"mod_revision\":\"80\",\"value\":\"%s\"}}]}}",
			 k64, v64);
		free(v64);
	}
	assert_int_equal(apply(s, line, NULL), 0);
	dcs_view_build(&s->v, s->c);
	assert_true(s->c->has_config);
	assert_true(s->c->config_oversized);
	assert_false(s->c->config_valid);
	assert_true(s->c->rejected_count > 0);
	free(value);
	free(line);
}

static void test_view_probe_sees_a_missed_delete(void **st)
{
	struct state *s = *st;
	struct fixture f = load("range_cluster.json");
	bool behind = true;

	/* The same keys at the same revisions: nothing missed. */
	assert_int_equal(dcs_view_compare_keys(&s->v, f.data, f.len, PREFIX, &behind, s->msg,
					       sizeof(s->msg)),
			 0);
	assert_false(behind);
	/* The view still holds a key etcd deleted: behind. */
	{
		char line[LINE_MAX_BYTES];

		event_line(line, sizeof(line), "members/zzz", "{}", 90);
		assert_int_equal(apply(s, line, NULL), 0);
	}
	assert_int_equal(dcs_view_compare_keys(&s->v, f.data, f.len, PREFIX, &behind, s->msg,
					       sizeof(s->msg)),
			 0);
	assert_true(behind);
	free(f.data);
}

static void test_view_probe_sees_a_missed_put(void **st)
{
	struct state *s = *st;
	struct fixture f = load("range_cluster.json");
	bool behind = false;
	char line[LINE_MAX_BYTES];

	/* The view lost the leader key etcd has (a delete the view took that etcd undid). */
	event_line(line, sizeof(line), "leader", NULL, 95);
	assert_int_equal(apply(s, line, NULL), 0);
	assert_int_equal(dcs_view_compare_keys(&s->v, f.data, f.len, PREFIX, &behind, s->msg,
					       sizeof(s->msg)),
			 0);
	assert_true(behind);
	free(f.data);
}

static void test_view_unloaded_takes_no_events(void **st)
{
	struct state *s = *st;
	char line[LINE_MAX_BYTES];
	unsigned changed = 0;

	dcs_view_clear(&s->v);
	event_line(line, sizeof(line), "leader", "node3", 99);
	assert_int_equal(apply(s, line, &changed), 0);
	assert_int_equal(changed, DCS_CHANGE_LEADER);
	assert_false(s->v.loaded);
	assert_int_equal(s->v.count, 0);
}

/* The stall probe is skipped on the revision of any reply: a keepalive's sits under "result". */
static void test_view_keepalive_reply_revision(void **st)
{
	struct fixture f = load("lease_keepalive.json");
	static const char *const none[] = {
		"{\"result\":{}}",
		"[1]",
		"{\"result\":{\"header\":{\"revision\":\"-3\"}}}",
		"{\"header\":{\"revision\":\"5\"}}",
	};

	(void)st;
	assert_int_equal(dcs_view_reply_revision(f.data, f.len), 12);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(dcs_view_reply_revision(none[i], strlen(none[i])), 0);
	free(f.data);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_loaded, teardown)
	const struct CMUnitTest tests[] = {
		T(test_view_load_builds_what_a_read_parses),
		T(test_view_build_and_copy_write_only_the_members_used),
		T(test_view_captured_stream_applies_puts_and_delete),
		T(test_view_leader_delete_then_new_leader),
		T(test_view_new_member_is_kept_in_key_order),
		T(test_view_config_change_is_parsed),
		T(test_view_old_event_is_skipped),
		T(test_view_revisions_going_backwards_clear_the_view),
		T(test_view_events_of_one_revision_all_apply),
		T(test_view_key_outside_prefix_is_refused),
		T(test_view_hostile_lines_are_refused_whole),
		T(test_view_unknown_keys_are_not_kept),
		T(test_view_too_many_keys_clear_the_view),
		T(test_view_oversized_value_reads_as_refused),
		T(test_view_probe_sees_a_missed_delete),
		T(test_view_probe_sees_a_missed_put),
		T(test_view_unloaded_takes_no_events),
		T(test_view_keepalive_reply_revision),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
