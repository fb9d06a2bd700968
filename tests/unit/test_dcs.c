/*
 * Unit tests for the dcs codec: golden replies captured from a real etcd 3.4.23
 * (tests/unit/fixtures/dcs, refreshed by its capture.sh) and hostile variants of them.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "buf.h"
#include "dcs.h"
#include "dcs_codec.h"

#define PREFIX "/service/batman/"
/* The largest fixture file read. */
#define FIXTURE_MAX (64 * 1024)
#define MSG_LEN 256

struct fixture {
	char *data;
	size_t len;
};

/* Reads tests/unit/fixtures/dcs/<name> (DCS_FIXTURE_DIR comes from dcs/meson.build). */
static struct fixture load(const char *name)
{
	char path[PATH_MAX];
	struct fixture f = { 0 };
	FILE *fp;

	assert_int_equal(buf_format(path, sizeof(path), "%s/%s", DCS_FIXTURE_DIR, name), 0);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open fixture %s", path);
	f.data = malloc(FIXTURE_MAX);
	assert_non_null(f.data);
	f.len = fread(f.data, 1, FIXTURE_MAX - 1, fp);
	f.data[f.len] = '\0';
	fclose(fp);
	return f;
}

/* The n-th line (0-based) of a fixture, in place. */
static const char *line_of(struct fixture *f, int n, size_t *len)
{
	char *p = f->data;

	for (int i = 0; i < n; i++) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	*len = strcspn(p, "\n");
	return p;
}

static long http_status_of(const char *name)
{
	struct fixture f = load("http_status.txt");
	char *p = f.data;
	long code = 0;
	size_t n = strlen(name);

	while (p && *p) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			code = strtol(p + n + 1, NULL, 10);
			break;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	free(f.data);
	assert_true(code > 0);
	return code;
}

/* ---- base64, keys ---- */

static void test_b64_roundtrip_of_every_length(void **state)
{
	const char *src = "/service/batman/members/node1";
	char enc[64], dec[64];
	size_t n;

	(void)state;
	for (size_t len = 0; len <= strlen(src); len++) {
		assert_int_equal(base64_encode(src, len, enc, sizeof(enc)), 0);
		assert_int_equal(base64_decode(enc, strlen(enc), dec, sizeof(dec), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, src, len);
	}
	assert_int_equal(base64_encode("node1", 5, enc, sizeof(enc)), 0);
	assert_string_equal(enc, "bm9kZTE=");
}

static void test_b64_bad_input_is_rejected(void **state)
{
	char out[16];
	size_t n;

	(void)state;
	assert_int_equal(base64_decode("bm9kZTE", 7, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(base64_decode("bm9k*TE=", 8, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(base64_decode("A===", 4, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(base64_decode("bm=kZTE=", 8, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(base64_decode("bm9kZTE=", 8, out, 3, &n), -ENAMETOOLONG);
	assert_int_equal(base64_encode("node1", 5, out, 8), -ENAMETOOLONG);
}

static void test_prefix_collapses_slashes_and_defaults_namespace(void **state)
{
	char p[64], end[64];

	(void)state;
	assert_int_equal(dcs_make_prefix("", "batman", p, sizeof(p)), 0);
	assert_string_equal(p, "/service/batman/");
	assert_int_equal(dcs_make_prefix("/service/", "batman", p, sizeof(p)), 0);
	assert_string_equal(p, "/service/batman/");
	assert_int_equal(dcs_make_prefix("ns", "batman", p, sizeof(p)), 0);
	assert_string_equal(p, "/ns/batman/");
	assert_int_equal(dcs_make_prefix("ns", "", p, sizeof(p)), -EINVAL);
	assert_int_equal(dcs_make_prefix("ns", "batman", p, 8), -ENAMETOOLONG);
	assert_int_equal(dcs_prefix_end("/service/batman/", end, sizeof(end)), 0);
	assert_string_equal(end, "/service/batman0");
	assert_int_equal(dcs_prefix_end("", end, sizeof(end)), -EINVAL);
}

static void test_key_kind_follows_patroni_layout(void **state)
{
	(void)state;
	assert_int_equal(dcs_key_kind("leader"), DCS_CHANGE_LEADER);
	assert_int_equal(dcs_key_kind("config"), DCS_CHANGE_CONFIG);
	assert_int_equal(dcs_key_kind("failover"), DCS_CHANGE_FAILOVER);
	assert_int_equal(dcs_key_kind("members/node1"), DCS_CHANGE_MEMBERS);
	assert_int_equal(dcs_key_kind("members/"), DCS_CHANGE_OTHER);
	assert_int_equal(dcs_key_kind("members/a/b"), DCS_CHANGE_OTHER);
	assert_int_equal(dcs_key_kind("optime/leader"), DCS_CHANGE_STATUS);
	assert_int_equal(dcs_key_kind("leaderx"), DCS_CHANGE_OTHER);
	assert_int_equal(dcs_key_kind("term"), DCS_CHANGE_TERM);
}

/* ---- request bodies ---- */

static void test_leader_txn_body_matches_patroni(void **state)
{
	struct buf b;
	struct dcs_txn t = {
		.compare = { .target = DCS_CMP_CREATE, .key = PREFIX "leader", .revision = 0 },
		.success = { .kind = DCS_OP_PUT,
			     .key = PREFIX "leader",
			     .value = "node1",
			     .lease = 4581183353252118279ULL },
	};

	(void)state;
	buf_init(&b, DCS_REQUEST_MAX);
	assert_int_equal(dcs_codec_txn(&b, &t), DCS_OK);
	assert_string_equal(
		b.data,
		"{\"compare\":[{\"target\":\"CREATE\",\"create_revision\":\"0\",\"key\":"
		"\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\"}],\"success\":[{\"request_put\":{\"key\":"
		"\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"value\":\"bm9kZTE=\",\"lease\":"
		"\"4581183353252118279\"}}]}");
	buf_done(&b);
}

static void test_renew_txn_body_nests_create_fallback(void **state)
{
	struct buf b;
	struct dcs_txn t = {
		.compare = { .target = DCS_CMP_VALUE, .key = PREFIX "leader", .value = "node1" },
		.success = { .kind = DCS_OP_PUT,
			     .key = PREFIX "leader",
			     .value = "node1",
			     .lease = 7 },
		.has_nested = true,
		.nested_compare = { .target = DCS_CMP_CREATE, .key = PREFIX "leader" },
	};

	(void)state;
	buf_init(&b, DCS_REQUEST_MAX);
	assert_int_equal(dcs_codec_txn(&b, &t), DCS_OK);
	assert_string_equal(
		b.data,
		"{\"compare\":[{\"target\":\"VALUE\",\"value\":\"bm9kZTE=\",\"key\":"
		"\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\"}],\"success\":[{\"request_put\":{\"key\":"
		"\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"value\":\"bm9kZTE=\",\"lease\":\"7\"}}],"
		"\"failure\":[{\"request_txn\":{\"compare\":[{\"target\":\"CREATE\","
		"\"create_revision\":\"0\",\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\"}],"
		"\"success\":[{\"request_put\":{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\","
		"\"value\":\"bm9kZTE=\",\"lease\":\"7\"}}]}}]}");
	buf_done(&b);
}

static void test_release_txn_body_deletes_on_value(void **state)
{
	struct buf b;
	struct dcs_txn t = {
		.compare = { .target = DCS_CMP_VALUE, .key = PREFIX "leader", .value = "node1" },
		.success = { .kind = DCS_OP_DELETE, .key = PREFIX "leader" },
	};

	(void)state;
	buf_init(&b, DCS_REQUEST_MAX);
	assert_int_equal(dcs_codec_txn(&b, &t), DCS_OK);
	assert_non_null(strstr(b.data, "\"success\":[{\"request_delete_range\":{\"key\":"
				       "\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\"}}]"));
	buf_done(&b);
}

static void test_other_bodies(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, DCS_REQUEST_MAX);
	assert_int_equal(dcs_codec_range(&b, PREFIX, true, false, false), DCS_OK);
	assert_string_equal(b.data, "{\"key\":\"L3NlcnZpY2UvYmF0bWFuLw==\",\"range_end\":"
				    "\"L3NlcnZpY2UvYmF0bWFuMA==\"}");
	assert_int_equal(dcs_codec_lease_grant(&b, 30), DCS_OK);
	assert_string_equal(b.data, "{\"TTL\":\"30\"}");
	assert_int_equal(dcs_codec_lease_id(&b, 18446744073709551615ULL), DCS_OK);
	assert_string_equal(b.data, "{\"ID\":\"18446744073709551615\"}");
	assert_int_equal(dcs_codec_watch_create(&b, PREFIX, 12), DCS_OK);
	assert_string_equal(b.data, "{\"create_request\":{\"key\":\"L3NlcnZpY2UvYmF0bWFuLw==\","
				    "\"range_end\":\"L3NlcnZpY2UvYmF0bWFuMA==\",\"start_revision\":"
				    "\"12\"}}");
	assert_int_equal(dcs_codec_auth(&b, "root", "p\"w"), DCS_OK);
	assert_string_equal(b.data, "{\"name\":\"root\",\"password\":\"p\\\"w\"}");
	buf_done(&b);
}

static void test_body_over_limit_is_an_error(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 32);
	assert_int_equal(dcs_codec_put(&b, PREFIX "config", "{\"ttl\":30,\"loop_wait\":10}", 0),
			 DCS_ERR_INVALID_ARGUMENT);
	buf_done(&b);
}

/* ---- the cluster view from a real range ---- */

static struct dcs_cluster *parse_fixture_cluster(const char *name, int want)
{
	struct fixture f = load(name);
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[MSG_LEN] = "";

	assert_non_null(c);
	assert_int_equal(dcs_codec_parse_cluster(f.data, f.len, PREFIX, c, msg, sizeof(msg)), want);
	free(f.data);
	return c;
}

static void test_cluster_from_real_range_has_every_key(void **state)
{
	struct dcs_cluster *c = parse_fixture_cluster("range_cluster.json", DCS_OK);
	const struct dcs_member *m1, *m2;

	(void)state;
	assert_int_equal(c->revision, 11);
	assert_true(c->has_initialize);
	assert_string_equal(c->initialize, "7710492817741103471");
	assert_true(c->has_leader);
	assert_string_equal(c->leader, "node1");
	assert_int_equal(c->leader_create_revision, 4);
	assert_true(c->leader_lease > (1ULL << 53)); /* ids exceed a double's exact range */
	assert_true(c->has_config && c->config_valid);
	assert_int_equal(c->config_ttl_ms, 30000);
	assert_int_equal(c->config_loop_wait_ms, 10000);
	assert_int_equal(c->config_retry_timeout_ms, 10000);
	assert_int_equal(c->config_maximum_lag_on_failover, 1048576);
	assert_int_equal(c->config_mod_revision, 3);
	assert_string_equal(c->config_synchronous_mode, "off");
	assert_non_null(strstr(c->config, "\"use_pg_rewind\":true"));
	assert_int_equal(c->member_count, 2);
	assert_int_equal(c->members_dropped, 0);
	m1 = dcs_cluster_member(c, "node1");
	m2 = dcs_cluster_member(c, "node2");
	assert_non_null(m1);
	assert_non_null(m2);
	assert_null(dcs_cluster_member(c, "node3"));
	assert_true(m1->doc_valid);
	assert_string_equal(m1->role, "master");
	assert_true(m1->is_primary);
	assert_string_equal(m1->state, "running");
	assert_string_equal(m1->api_url, "http://127.0.0.1:18008/patroni");
	assert_string_equal(m1->conn_url, "postgres://127.0.0.1:15432/postgres");
	assert_int_equal(m1->xlog_location_lsn, 100663888);
	assert_int_equal(m1->timeline, 3);
	assert_int_equal(m1->lease, c->leader_lease);
	assert_false(m2->is_primary);
	assert_string_equal(m2->replication_state, "streaming");
	assert_int_equal(m2->receive_lsn, 100663888);
	assert_int_equal(m2->replay_lsn, 100663800);
	assert_false(m2->nofailover);
	assert_true(m2->noloadbalance);
	assert_true(m2->has_failover_priority);
	assert_int_equal(m2->failover_priority, 2);
	assert_non_null(strstr(m2->tags, "\"dc\":\"north\""));
	assert_true(c->has_sync && c->sync_valid);
	assert_string_equal(c->sync_leader, "node1");
	assert_string_equal(c->sync_standby, "node2,node3");
	assert_true(c->has_sync_quorum);
	assert_true(c->has_failover && c->failover_valid);
	assert_string_equal(c->failover_leader, "");
	assert_int_equal(c->failover_mod_revision, 7);
	assert_true(c->has_status && c->has_optime);
	assert_int_equal(c->optime_lsn, 100663888);
	assert_true(c->has_history);
	assert_non_null(strstr(c->history, "no recovery target specified"));
	assert_true(c->has_failsafe);
	assert_non_null(strstr(c->failsafe, "18009"));
	free(c);
}

static void test_cluster_from_empty_range_is_empty(void **state)
{
	struct dcs_cluster *c = parse_fixture_cluster("range_empty.json", DCS_OK);

	(void)state;
	assert_int_equal(c->revision, 1);
	assert_false(c->has_leader);
	assert_false(c->has_initialize);
	assert_int_equal(c->member_count, 0);
	free(c);
}

/* Builds a range reply with the given kvs JSON (already encoded). */
static char *range_reply(const char *kvs)
{
	struct buf b;

	buf_init(&b, DCS_RESPONSE_MAX);
	assert_int_equal(buf_printf(&b, "{\"header\":{\"revision\":\"9\"},\"kvs\":[%s]}", kvs), 0);
	return buf_steal(&b);
}

static char *kv_json(const char *key, const char *value, const char *mod)
{
	char k[1024], v[16384];
	struct buf b;

	assert_int_equal(base64_encode(key, strlen(key), k, sizeof(k)), 0);
	assert_int_equal(base64_encode(value, strlen(value), v, sizeof(v)), 0);
	buf_init(&b, sizeof(v) * 2);
	assert_int_equal(
		buf_printf(&b, "{\"key\":\"%s\",\"value\":\"%s\",\"mod_revision\":%s}", k, v, mod),
		0);
	return buf_steal(&b);
}

static int parse_kvs(const char *kvs, struct dcs_cluster *c)
{
	char *body = range_reply(kvs);
	char msg[MSG_LEN];
	int rc = dcs_codec_parse_cluster(body, strlen(body), PREFIX, c, msg, sizeof(msg));

	free(body);
	return rc;
}

/* The cluster read asks etcd for the keys gsha uses (one exact range each) and the members'
 * directory, in one txn; its reply (one range per response) fills the view like a range. */
static void test_cluster_read_asks_for_known_keys_only(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *leader = kv_json(PREFIX "leader", "node1", "3");
	char *member = kv_json(PREFIX "members/node1", "{\"role\":\"primary\"}", "4");
	char msg[MSG_LEN];
	struct buf b;
	cJSON *req, *ops, *op;
	int n = 0;
	bool members_prefix = false;

	(void)state;
	assert_non_null(c);
	buf_init(&b, DCS_REQUEST_MAX);
	assert_int_equal(dcs_codec_read_cluster(&b, PREFIX, true), DCS_OK);
	req = cJSON_Parse(b.data);
	ops = cJSON_GetObjectItemCaseSensitive(req, "success");
	cJSON_ArrayForEach(op, ops)
	{
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(op, "request_range");
		const cJSON *end = cJSON_GetObjectItemCaseSensitive(r, "range_end");
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(r, "key");
		char k[DCS_KEY_MAX];
		size_t klen;

		assert_true(cJSON_IsString(key));
		assert_int_equal(base64_decode(key->valuestring, strlen(key->valuestring), k,
					       sizeof(k) - 1, &klen),
				 0);
		k[klen] = '\0';
		assert_int_equal(strncmp(k, PREFIX, strlen(PREFIX)), 0);
		if (end != NULL) { /* only the members' directory is a range */
			assert_string_equal(k, PREFIX "members/");
			members_prefix = true;
		} else {
			assert_true(dcs_key_kind(k + strlen(PREFIX)) != DCS_CHANGE_OTHER);
		}
		n++;
	}
	assert_true(members_prefix);
	assert_int_equal(n, 11);
	cJSON_Delete(req);
	buf_reset(&b);
	assert_int_equal(
		buf_printf(&b,
			   "{\"header\":{\"revision\":\"9\"},\"succeeded\":true,\"responses\":["
			   "{\"response_range\":{\"kvs\":[%s]}},{\"response_range\":{}},"
			   "{\"response_range\":{\"kvs\":[%s]}}]}",
			   leader, member),
		0);
	assert_int_equal(dcs_codec_parse_cluster(b.data, b.len, PREFIX, c, msg, sizeof(msg)),
			 DCS_OK);
	assert_true(c->has_leader);
	assert_string_equal(c->leader, "node1");
	assert_int_equal(c->member_count, 1);
	assert_int_equal(c->revision, 9);
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "{\"header\":{\"revision\":\"9\"},\"responses\":[1]}"), 0);
	assert_int_equal(dcs_codec_parse_cluster(b.data, b.len, PREFIX, c, msg, sizeof(msg)),
			 DCS_ERR_INVALID_RESPONSE);
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "{\"header\":{\"revision\":\"9\"},\"responses\":{}}"), 0);
	assert_int_equal(dcs_codec_parse_cluster(b.data, b.len, PREFIX, c, msg, sizeof(msg)),
			 DCS_ERR_INVALID_RESPONSE);
	buf_done(&b);
	free(leader);
	free(member);
	free(c);
}

/* When the members' directory does not fit one reply, its keys are listed (no values) and read
 * one by one: the listing asks for keys only, and its reply gives the suffixes. */
static void test_member_keys_listing_takes_keys_only(void **state)
{
	char keys[4][DCS_KEY_MAX], msg[MSG_LEN];
	char k1[128], k2[128];
	struct buf b;
	int n = 0;

	(void)state;
	buf_init(&b, DCS_REQUEST_MAX);
	assert_int_equal(dcs_codec_range_keys(&b, PREFIX "members/", 64), DCS_OK);
	assert_non_null(strstr(b.data, "\"keys_only\":true"));
	assert_non_null(strstr(b.data, "\"limit\":\"64\""));
	assert_non_null(strstr(b.data, "\"range_end\""));
	assert_int_equal(
		base64_encode(PREFIX "members/n1", strlen(PREFIX "members/n1"), k1, sizeof(k1)), 0);
	assert_int_equal(
		base64_encode(PREFIX "members/junk", strlen(PREFIX "members/junk"), k2, sizeof(k2)),
		0);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b,
				    "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"%s\"},"
				    "{\"key\":\"%s\"}]}",
				    k1, k2),
			 0);
	assert_int_equal(dcs_codec_parse_keys(b.data, b.len, PREFIX, keys, 4, &n, msg, sizeof(msg)),
			 DCS_OK);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0], "members/n1");
	assert_string_equal(keys[1], "members/junk");
	assert_int_equal(dcs_codec_parse_keys(b.data, b.len, PREFIX, keys, 1, &n, msg, sizeof(msg)),
			 DCS_OK);
	assert_int_equal(n, 1);
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":1}]}"),
			 0);
	assert_int_equal(dcs_codec_parse_keys(b.data, b.len, PREFIX, keys, 4, &n, msg, sizeof(msg)),
			 DCS_ERR_INVALID_RESPONSE);
	buf_done(&b);
}

static void test_hostile_range_shapes_are_invalid(void **state)
{
	static const char *const bodies[] = {
		"",
		"[]",
		"{\"header\":[]}",
		"{\"header\":{\"revision\":{}}}",
		"{\"header\":{\"revision\":\"-1\"}}",
		"{\"header\":{\"revision\":\"99999999999999999999\"}}",
		"{\"header\":{\"revision\":1e300}}",
		"{\"header\":{\"revision\":1.5}}",
		"{\"kvs\":{}}",
		"{\"kvs\":[1]}",
		"{\"kvs\":[{\"key\":\"*\"}]}",
		"{\"kvs\":[{\"key\":7}]}",
		"{\"kvs\":[{\"key\":\"L2V0Yy9wYXNzd2Q=\"}]}", /* /etc/passwd: outside the prefix */
		"{\"kvs\":[{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"value\":\"!!\"}]}",
		"{\"kvs\":[{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"lease\":\"x\"}]}",
		"{\"kvs\":[{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"mod_revision\":[]}]}",
		"{\"header\":{}",
	};
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[MSG_LEN];

	(void)state;
	assert_non_null(c);
	c->revision = 77;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		msg[0] = '\0';
		assert_int_equal(dcs_codec_parse_cluster(bodies[i], strlen(bodies[i]), PREFIX, c,
							 msg, sizeof(msg)),
				 DCS_ERR_INVALID_RESPONSE);
		assert_true(msg[0] != '\0');
		assert_int_equal(c->revision, 77); /* untouched on failure */
	}
	free(c);
}

static void test_truncated_real_range_never_crashes(void **state)
{
	struct fixture f = load("range_cluster.json");
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[MSG_LEN];
	int ok = 0;

	(void)state;
	for (size_t n = 0; n < f.len; n++) {
		char *copy = malloc(n + 1);
		memcpy(copy, f.data, n);
		copy[n] = '\0';
		if (dcs_codec_parse_cluster(copy, n, PREFIX, c, msg, sizeof(msg)) == DCS_OK)
			ok++;
		free(copy);
	}
	/* Only the complete object (with or without its last byte, the newline) parses. */
	assert_int_equal(ok, 1);
	free(f.data);
	free(c);
}

static void test_more_members_than_the_cap_are_counted_as_dropped(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	struct buf kvs;

	(void)state;
	buf_init(&kvs, DCS_RESPONSE_MAX);
	for (int i = 0; i < DCS_MEMBERS_MAX + 3; i++) {
		char key[64];
		char *kv;
		assert_int_equal(buf_format(key, sizeof(key), PREFIX "members/n%02d", i), 0);
		kv = kv_json(key, "{\"role\":\"replica\"}", "\"5\"");
		assert_int_equal(buf_printf(&kvs, "%s%s", i ? "," : "", kv), 0);
		free(kv);
	}
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	assert_int_equal(c->member_count, DCS_MEMBERS_MAX);
	assert_int_equal(c->members_dropped, 3);
	buf_done(&kvs);
	free(c);
}

static void test_oversized_values_are_flagged_not_cut(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *doc = malloc(DCS_MEMBER_DOC_MAX + 100);
	char *leader = malloc(DCS_NAME_MAX + 10);
	struct buf kvs;
	char *kv;

	(void)state;
	/* A member document past the cap, still a valid object. */
	memset(doc, 'x', DCS_MEMBER_DOC_MAX + 99);
	memcpy(doc, "{\"role\":\"primary\",\"timeline\":4,\"pad\":\"", 38);
	memcpy(doc + DCS_MEMBER_DOC_MAX + 97, "\"}", 3);
	memset(leader, 'l', DCS_NAME_MAX + 9);
	leader[DCS_NAME_MAX + 9] = '\0';
	buf_init(&kvs, DCS_RESPONSE_MAX);
	kv = kv_json(PREFIX "members/big", doc, "3");
	assert_int_equal(buf_puts(&kvs, kv), 0);
	free(kv);
	kv = kv_json(PREFIX "leader", leader, "4");
	assert_int_equal(buf_printf(&kvs, ",%s", kv), 0);
	free(kv);
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	assert_int_equal(c->member_count, 1);
	/* The member's key is bounded: an oversized document is refused whole, not half read. */
	assert_true(c->members[0].doc_oversized);
	assert_string_equal(c->members[0].doc, "");
	assert_false(c->members[0].doc_valid);
	assert_false(c->members[0].is_primary);
	assert_int_equal(c->members[0].timeline, 0);
	assert_true(c->has_leader);
	assert_true(c->leader_oversized);
	assert_string_equal(c->leader, "");
	assert_int_equal(c->rejected_count, 2);
	assert_non_null(strstr(c->rejected, "members/big"));
	buf_done(&kvs);
	free(doc);
	free(leader);
	free(c);
}

static void test_mistyped_values_degrade_to_empty_fields(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *a = kv_json(PREFIX "members/a",
			  "{\"role\":7,\"api_url\":[],\"xlog_location\":-5,\"timeline\":\"x\","
			  "\"tags\":{\"nofailover\":\"yes\",\"failover_priority\":1e99}}",
			  "1");
	char *b = kv_json(PREFIX "members/b", "not json", "2");
	char *cfg =
		kv_json(PREFIX "config", "{\"ttl\":\"abc\",\"synchronous_mode\":\"quorum\"}", "3");
	char *fo = kv_json(PREFIX "failover", "node1:node2", "4");
	char *st = kv_json(PREFIX "status", "[1]", "5");
	char *opt = kv_json(PREFIX "optime/leader", "12345", "6");
	char *legacy = kv_json(PREFIX "members/old",
			       "postgres://u@10.0.0.1:5432/postgres?application_name="
			       "http%3A%2F%2F10.0.0.1%3A8008%2Fpatroni",
			       "7");
	struct buf kvs;

	(void)state;
	buf_init(&kvs, DCS_RESPONSE_MAX);
	assert_int_equal(buf_printf(&kvs, "%s,%s,%s,%s,%s,%s,%s", a, b, cfg, fo, opt, st, legacy),
			 0);
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	assert_int_equal(c->member_count, 3);
	assert_true(c->members[0].doc_valid);
	assert_string_equal(c->members[0].role, "");
	assert_false(c->members[0].has_xlog_location);
	assert_int_equal(c->members[0].timeline, 0);
	assert_true(c->members[0].nofailover);
	assert_false(c->members[0].has_failover_priority);
	assert_false(c->members[1].doc_valid);
	assert_string_equal(c->members[1].doc, "not json");
	assert_string_equal(c->members[2].conn_url, "postgres://u@10.0.0.1:5432/postgres");
	assert_string_equal(c->members[2].api_url, "http://10.0.0.1:8008/patroni");
	assert_int_equal(c->config_ttl_ms, 0);
	assert_string_equal(c->config_synchronous_mode, "quorum");
	assert_string_equal(c->failover_leader, "node1");
	assert_string_equal(c->failover_member, "node2");
	/* status is garbage; the legacy optime/leader key still gives the optime. */
	assert_true(c->has_status);
	assert_true(c->has_optime);
	assert_int_equal(c->optime_lsn, 12345);
	buf_done(&kvs);
	free(a);
	free(b);
	free(cfg);
	free(fo);
	free(st);
	free(opt);
	free(legacy);
	free(c);
}

static void test_value_with_nul_byte_is_not_text(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	/* leader = "no\0de" */
	const char *kvs = "{\"key\":\"L3NlcnZpY2UvYmF0bWFuL2xlYWRlcg==\",\"value\":\"bm8AZGU=\"}";

	(void)state;
	assert_int_equal(parse_kvs(kvs, c), DCS_OK);
	assert_true(c->has_leader);
	assert_string_equal(c->leader, "");
	free(c);
}

/* ---- the openGauss term key ---- */

static void parse_term(const char *value, struct dcs_cluster *c)
{
	char *kv = kv_json(PREFIX "term", value, "\"42\"");

	memset(c, 0, sizeof(*c));
	assert_int_equal(parse_kvs(kv, c), DCS_OK);
	free(kv);
}

static void test_term_key_valid_is_read_with_its_revision(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));

	(void)state;
	parse_term("7", c);
	assert_true(c->has_term);
	assert_true(c->term_valid);
	assert_int_equal(c->term, 7);
	assert_int_equal(c->term_mod_revision, 42);
	parse_term("4294967295", c);
	assert_true(c->term_valid);
	assert_int_equal(c->term, DCS_TERM_MAX);
	free(c);
}

static void test_term_key_absent_is_not_present(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *kv = kv_json(PREFIX "leader", "node1", "\"3\"");

	(void)state;
	assert_int_equal(parse_kvs(kv, c), DCS_OK);
	assert_true(c->has_leader);
	assert_false(c->has_term);
	assert_false(c->term_valid);
	assert_int_equal(c->term, 0);
	free(kv);
	free(c);
}

static void test_term_key_garbage_or_out_of_range_is_invalid(void **state)
{
	static const char *const bad[] = {
		"",    "abc",	       "7x",
		" 7",  "+7",	       "-1",
		"0",   "4294967296",   "99999999999999999999999",
		"1.5", "{\"term\":3}", "0x10",
	};
	struct dcs_cluster *c = calloc(1, sizeof(*c));

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_term(bad[i], c);
		assert_true(c->has_term);
		assert_false(c->term_valid);
		assert_int_equal(c->term, 0);
		assert_int_equal(c->term_mod_revision, 42);
	}
	free(c);
}

/* ---- unary replies ---- */

static void expect_txn(const char *name, bool want)
{
	struct fixture f = load(name);
	bool ok = !want;
	int64_t rev = -1;
	char msg[MSG_LEN];

	assert_int_equal(dcs_codec_parse_txn(f.data, f.len, &ok, &rev, msg, sizeof(msg)), DCS_OK);
	assert_true(ok == want);
	assert_true(rev > 0);
	free(f.data);
}

static void test_txn_replies_say_which_branch_ran(void **state)
{
	(void)state;
	expect_txn("txn_create_success.json", true);
	expect_txn("txn_create_failed.json", false);
	expect_txn("txn_nested_success.json", true);
	expect_txn("txn_nested_failed.json", false);
	expect_txn("txn_mod_success.json", true);
	expect_txn("txn_mod_failed.json", false);
	expect_txn("txn_delete_value.json", true);
}

static void test_hostile_txn_replies_are_invalid(void **state)
{
	static const char *const bodies[] = {
		"{\"succeeded\":\"true\"}",
		"{\"responses\":{}}",
		"{\"responses\":[7]}",
		"{\"responses\":[{\"response_txn\":[]}]}",
		"{\"responses\":[{\"response_txn\":{\"succeeded\":1}}]}",
		"null",
	};
	bool ok = false;
	int64_t rev;
	char msg[MSG_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_int_equal(dcs_codec_parse_txn(bodies[i], strlen(bodies[i]), &ok, &rev, msg,
						     sizeof(msg)),
				 DCS_ERR_INVALID_RESPONSE);
}

static void test_lease_replies(void **state)
{
	struct fixture g = load("lease_grant.json");
	struct fixture k = load("lease_keepalive.json");
	struct fixture u = load("lease_keepalive_unknown.json");
	uint64_t id = 0, id2 = 0;
	int64_t ttl = -1;
	char msg[MSG_LEN];
	const char *bad = "{\"result\":{\"ID\":\"1\",\"TTL\":\"x\"}}";
	const char *streamerr = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
				"\"etcdserver: leader changed\",\"http_status\":\"Unavailable\"}}";

	(void)state;
	assert_int_equal(dcs_codec_parse_lease_grant(g.data, g.len, &id, &ttl, msg, sizeof(msg)),
			 DCS_OK);
	assert_int_equal(ttl, 30);
	assert_true(id > 0);
	assert_int_equal(dcs_codec_parse_keepalive(k.data, k.len, &id2, &ttl, msg, sizeof(msg)),
			 DCS_OK);
	assert_true(id2 == id);
	assert_int_equal(ttl, 30);
	assert_int_equal(dcs_codec_parse_keepalive(u.data, u.len, &id2, &ttl, msg, sizeof(msg)),
			 DCS_OK);
	assert_int_equal(id2, 12345);
	assert_int_equal(ttl, 0); /* etcd's way to say the lease is gone */
	assert_int_equal(dcs_codec_parse_keepalive(bad, strlen(bad), &id2, &ttl, msg, sizeof(msg)),
			 DCS_ERR_INVALID_RESPONSE);
	assert_int_equal(dcs_codec_parse_keepalive(streamerr, strlen(streamerr), &id2, &ttl, msg,
						   sizeof(msg)),
			 DCS_ERR_TRANSIENT);
	assert_string_equal(msg, "etcdserver: leader changed");
	/* A grant reply without an ID (an error body in a 200) is not a lease. */
	assert_int_equal(dcs_codec_parse_lease_grant("{}", 2, &id, &ttl, msg, sizeof(msg)),
			 DCS_ERR_INVALID_RESPONSE);
	free(g.data);
	free(k.data);
	free(u.data);
}

static void test_auth_and_version_replies(void **state)
{
	struct fixture a = load("auth_authenticate.json");
	struct fixture v = load("version.json");
	char token[DCS_SECRET_MAX], ver[DCS_WORD_MAX], msg[MSG_LEN];
	const char *old = "{\"etcdserver\":\"3.3.9\",\"etcdcluster\":\"3.3.0\"}";
	const char *evil = "{\"token\":\"abc\\r\\nX-Evil: 1\"}";

	(void)state;
	assert_int_equal(
		dcs_codec_parse_auth(a.data, a.len, token, sizeof(token), msg, sizeof(msg)),
		DCS_OK);
	assert_non_null(strchr(token, '.'));
	assert_int_equal(dcs_codec_parse_auth(a.data, a.len, token, 4, msg, sizeof(msg)),
			 DCS_ERR_INVALID_RESPONSE);
	assert_int_equal(
		dcs_codec_parse_auth(evil, strlen(evil), token, sizeof(token), msg, sizeof(msg)),
		DCS_ERR_INVALID_RESPONSE);
	assert_int_equal(dcs_codec_parse_version(v.data, v.len, ver, sizeof(ver), msg, sizeof(msg)),
			 DCS_OK);
	assert_string_equal(ver, "3.4.0");
	assert_int_equal(
		dcs_codec_parse_version(old, strlen(old), ver, sizeof(ver), msg, sizeof(msg)),
		DCS_ERR_REQUEST);
	assert_non_null(strstr(msg, "3.4 or later"));
	free(a.data);
	free(v.data);
}

/* ---- error classification ---- */

static void expect_status(const char *name, int want_rc, bool want_reauth)
{
	char file[64];
	struct fixture f;
	struct dcs_status st;

	assert_int_equal(buf_format(file, sizeof(file), "%s.json", name), 0);
	f = load(file);
	dcs_codec_status(http_status_of(name), f.data, f.len, &st);
	if (st.rc != want_rc)
		fail_msg("%s: got %s, want %s (%s)", name, dcs_error_name(st.rc),
			 dcs_error_name(want_rc), st.message);
	assert_true(st.reauth == want_reauth);
	assert_true(st.message[0] != '\0');
	free(f.data);
}

static void test_real_errors_are_classified(void **state)
{
	(void)state;
	expect_status("error_lease_not_found", DCS_ERR_LEASE_NOT_FOUND, false);
	expect_status("error_revoke_unknown", DCS_ERR_LEASE_NOT_FOUND, false);
	expect_status("error_malformed", DCS_ERR_REQUEST, false);
	expect_status("error_compacted", DCS_ERR_COMPACTED, false);
	expect_status("error_auth_failed", DCS_ERR_AUTH, false);
	expect_status("error_auth_not_enabled", DCS_ERR_AUTH, false);
	expect_status("error_no_token", DCS_ERR_AUTH, true);
	expect_status("error_invalid_token", DCS_ERR_AUTH, true);
}

static void test_unavailable_and_garbage_errors_are_transient_or_rejected(void **state)
{
	struct dcs_status st;
	const char *unavailable = "{\"error\":\"etcdserver: leader changed\",\"message\":"
				  "\"etcdserver: leader changed\",\"code\":14}";
	const char *denied = "{\"error\":\"etcdserver: permission denied\",\"message\":"
			     "\"etcdserver: permission denied\",\"code\":7}";

	(void)state;
	dcs_codec_status(503, unavailable, strlen(unavailable), &st);
	assert_int_equal(st.rc, DCS_ERR_TRANSIENT);
	assert_int_equal(st.grpc_code, 14);
	dcs_codec_status(500, "<html>\x01oops", 11, &st);
	assert_int_equal(st.rc, DCS_ERR_TRANSIENT);
	assert_null(strchr(st.message, '\x01'));
	dcs_codec_status(502, NULL, 0, &st);
	assert_int_equal(st.rc, DCS_ERR_TRANSIENT);
	dcs_codec_status(403, denied, strlen(denied), &st);
	assert_int_equal(st.rc, DCS_ERR_PERMISSION);
	dcs_codec_status(404, "404 page not found\n", 19, &st);
	assert_int_equal(st.rc, DCS_ERR_REQUEST);
	assert_string_equal(st.message, "404 page not found");
	dcs_codec_status(302, "", 0, &st);
	assert_int_equal(st.rc, DCS_ERR_INVALID_RESPONSE);
	dcs_codec_status(200, "garbage", 7, &st);
	assert_int_equal(st.rc, DCS_OK);
}

/* ---- watch ---- */

static void test_watch_stream_lines_from_real_etcd(void **state)
{
	struct fixture f = load("watch_stream.json");
	struct dcs_watch_result r;
	char msg[MSG_LEN];
	const char *line;
	size_t n;

	(void)state;
	line = line_of(&f, 0, &n);
	assert_int_equal(dcs_codec_parse_watch(line, n, PREFIX, &r, msg, sizeof(msg)), DCS_OK);
	assert_true(r.created);
	assert_int_equal(r.events, 0);
	line = line_of(&f, 1, &n);
	assert_int_equal(dcs_codec_parse_watch(line, n, PREFIX, &r, msg, sizeof(msg)), DCS_OK);
	assert_int_equal(r.events, 2);
	assert_int_equal(r.changed, DCS_CHANGE_FAILSAFE);
	assert_int_equal(r.max_mod_revision, 12);
	line = line_of(&f, 2, &n);
	assert_int_equal(dcs_codec_parse_watch(line, n, PREFIX, &r, msg, sizeof(msg)), DCS_OK);
	assert_int_equal(r.changed, DCS_CHANGE_LEADER);
	line = line_of(&f, 3, &n);
	assert_int_equal(dcs_codec_parse_watch(line, n, PREFIX, &r, msg, sizeof(msg)), DCS_OK);
	assert_int_equal(r.changed, DCS_CHANGE_FAILOVER);
	assert_int_equal(r.max_mod_revision, 14);
	free(f.data);
}

static void test_watch_cancel_for_compaction(void **state)
{
	struct fixture f = load("watch_compacted.json");
	struct dcs_watch_result r;
	char msg[MSG_LEN];
	const char *line;
	size_t n;

	(void)state;
	line = line_of(&f, 1, &n);
	assert_int_equal(dcs_codec_parse_watch(line, n, PREFIX, &r, msg, sizeof(msg)), DCS_OK);
	assert_true(r.canceled);
	assert_true(r.compact_revision > 0);
	free(f.data);
}

static void test_hostile_watch_lines_are_invalid(void **state)
{
	static const char *const lines[] = {
		"{}",
		"{\"result\":[]}",
		"{\"result\":{\"events\":{}}}",
		"{\"result\":{\"events\":[{}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L2V0Yy9wYXNzd2Q=\"}}]}}",
		"{\"result\":{\"events\":[{\"type\":{},\"kv\":{}}]}}",
		"{\"result\":{\"created\":\"yes\"}}",
		"{\"result\":{\"compact_revision\":\"-3\"}}",
		"{\"error\":7}",
	};
	struct dcs_watch_result r;
	char msg[MSG_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(dcs_codec_parse_watch(lines[i], strlen(lines[i]), PREFIX, &r, msg,
						       sizeof(msg)),
				 DCS_ERR_INVALID_RESPONSE);
}

/* ---- member documents ---- */

static void test_member_doc_writes_primary_or_legacy_master(void **state)
{
	struct dcs_member_doc *m = calloc(1, sizeof(*m));
	struct dcs_member back = { 0 };
	char doc[DCS_MEMBER_DOC_MAX + 1], msg[MSG_LEN];

	(void)state;
	assert_int_equal(buf_copy(m->role, sizeof(m->role), "primary"), 0);
	assert_int_equal(buf_copy(m->state, sizeof(m->state), "running"), 0);
	assert_int_equal(
		buf_copy(m->conn_url, sizeof(m->conn_url), "postgres://127.0.0.1:5432/postgres"),
		0);
	assert_int_equal(buf_copy(m->api_url, sizeof(m->api_url), "http://127.0.0.1:8008/patroni"),
			 0);
	assert_int_equal(buf_copy(m->version, sizeof(m->version), "0.1.0"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "nofailover", DCS_TAG_BOOL, "true"), 0);
	m->has_xlog_location = true;
	m->xlog_location_lsn = 100663888;
	m->timeline = 3;
	assert_int_equal(dcs_doc_member(m, false, doc, sizeof(doc), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(doc, "{\"conn_url\":\"postgres://127.0.0.1:5432/postgres\",\"api_url\":"
				 "\"http://127.0.0.1:8008/patroni\",\"state\":\"running\",\"role\":"
				 "\"primary\",\"version\":\"0.1.0\",\"tags\":{\"nofailover\":true},"
				 "\"xlog_location\":100663888,\"timeline\":3}");
	dcs_codec_parse_member_doc(doc, strlen(doc), &back);
	assert_true(back.is_primary);
	assert_true(back.nofailover);
	assert_int_equal(back.xlog_location_lsn, 100663888);
	assert_int_equal(dcs_doc_member(m, true, doc, sizeof(doc), msg, sizeof(msg)), DCS_OK);
	assert_non_null(strstr(doc, "\"role\":\"master\""));
	assert_int_equal(dcs_doc_member(m, false, doc, 16, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "over its limit"));
	free(m);
}

/* The bug: tags were rendered with printf, so a quote in a value made the member document
 * invalid and the member key was silently not written. */
static void test_member_doc_tag_with_a_quote_stays_valid_json(void **state)
{
	struct dcs_member_doc *m = calloc(1, sizeof(*m));
	struct dcs_member back = { 0 };
	char doc[DCS_MEMBER_DOC_MAX + 1], msg[MSG_LEN];

	(void)state;
	assert_int_equal(buf_copy(m->role, sizeof(m->role), "replica"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "dc", DCS_TAG_STRING, "say \"north\" \\ 1"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "rack\"id", DCS_TAG_STRING, "r1"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "failover_priority", DCS_TAG_NUMBER, "2"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "size", DCS_TAG_NUMBER, "1_000"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "nosync", DCS_TAG_BOOL, "yes"), 0);
	assert_int_equal(dcs_tags_add(&m->tags, "spare", DCS_TAG_NULL, ""), 0);
	assert_int_equal(dcs_doc_member(m, false, doc, sizeof(doc), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(doc,
			    "{\"role\":\"replica\",\"tags\":{\"dc\":\"say \\\"north\\\" \\\\ 1\","
			    "\"rack\\\"id\":\"r1\",\"failover_priority\":2,\"size\":\"1_000\","
			    "\"nosync\":true,\"spare\":null}}");
	/* It reads back as written, and passes the check every member key passes. */
	assert_int_equal(dcs_docs_check("members/n1", doc, msg, sizeof(msg)), DCS_OK);
	dcs_codec_parse_member_doc(doc, strlen(doc), &back);
	assert_true(back.doc_valid);
	assert_true(back.nosync);
	assert_int_equal(back.failover_priority, 2);
	assert_non_null(strstr(back.tags, "\"dc\":\"say \\\"north\\\" \\\\ 1\""));
	free(m);
}

static void test_tags_that_do_not_fit_are_refused_not_cut(void **state)
{
	struct dcs_tags *t = calloc(1, sizeof(*t));
	char long_value[DCS_TAG_VALUE_MAX + 1];

	(void)state;
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(dcs_tags_add(t, "a", DCS_TAG_STRING, long_value),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_tags_add(t, "", DCS_TAG_STRING, "x"), DCS_ERR_INVALID_ARGUMENT);
	for (int i = 0; i < DCS_TAGS_COUNT_MAX; i++)
		assert_int_equal(dcs_tags_add(t, "t", DCS_TAG_STRING, "x"), DCS_OK);
	assert_int_equal(dcs_tags_add(t, "t", DCS_TAG_STRING, "x"), DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(t->count, DCS_TAGS_COUNT_MAX);
	free(t);
}

/* ---- the documents gsha writes, as Patroni writes them ---- */

static void test_sync_doc_joins_names_or_writes_null(void **state)
{
	struct dcs_sync_doc d = { 0 };
	char out[DCS_SYNC_DOC_MAX + 1], msg[MSG_LEN];

	(void)state;
	assert_int_equal(buf_copy(d.leader, sizeof(d.leader), "node1"), 0);
	assert_int_equal(dcs_doc_sync(&d, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"leader\":\"node1\",\"quorum\":0,\"sync_standby\":null}");
	d.standby_count = 2;
	assert_int_equal(buf_copy(d.standbys[0], sizeof(d.standbys[0]), "node2"), 0);
	assert_int_equal(buf_copy(d.standbys[1], sizeof(d.standbys[1]), "node3"), 0);
	assert_int_equal(dcs_doc_sync(&d, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out,
			    "{\"leader\":\"node1\",\"quorum\":0,\"sync_standby\":\"node2,node3\"}");
	assert_int_equal(dcs_docs_check("sync", out, msg, sizeof(msg)), DCS_OK);
	/* A comma would turn one name into two. */
	assert_int_equal(buf_copy(d.standbys[1], sizeof(d.standbys[1]), "a,b"), 0);
	assert_int_equal(dcs_doc_sync(&d, out, sizeof(out), msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	d.leader[0] = '\0';
	assert_int_equal(dcs_doc_sync(&d, out, sizeof(out), msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
}

/* Issue 11: POST /switchover with a quote in "leader" and a scheduled_at in 2099 once became a
 * failover key with an immediate schedule and a candidate of the caller's choosing (the key was
 * built with printf). Built with cJSON, the quote stays inside the leader's name, the schedule
 * stays 2099, and the key reads back exactly as it was given. */
static void test_failover_doc_with_a_quote_in_a_name_cannot_inject_fields(void **state)
{
	static const char leader[] = "node1\",\"scheduled_at\":\"2000-01-01T00:00:00+00:00";
	struct dcs_failover_doc d = { 0 };
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char out[DCS_FAILOVER_DOC_MAX + 1], msg[MSG_LEN], *kv;

	(void)state;
	assert_non_null(c);
	assert_int_equal(buf_copy(d.leader, sizeof(d.leader), leader), 0);
	assert_int_equal(buf_copy(d.member, sizeof(d.member), "node2\",\"member\":\"evil"), 0);
	assert_int_equal(
		buf_copy(d.scheduled_at, sizeof(d.scheduled_at), "2099-01-01T00:00:00+00:00"), 0);
	assert_int_equal(dcs_doc_failover(&d, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	kv = kv_json(PREFIX "failover", out, "7");
	assert_int_equal(parse_kvs(kv, c), DCS_OK);
	assert_true(c->failover_valid);
	assert_string_equal(c->failover_leader, leader);
	assert_string_equal(c->failover_member, "node2\",\"member\":\"evil");
	assert_string_equal(c->failover_scheduled_at, "2099-01-01T00:00:00+00:00");
	assert_int_equal(c->rejected_count, 0);
	free(kv);
	free(c);
}

static void test_failover_doc_leaves_out_empty_fields_and_checks_the_time(void **state)
{
	struct dcs_failover_doc d = { 0 };
	char out[DCS_FAILOVER_DOC_MAX + 1], msg[MSG_LEN];

	(void)state;
	assert_int_equal(dcs_doc_failover(&d, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{}");
	assert_int_equal(buf_copy(d.member, sizeof(d.member), "node2"), 0);
	assert_int_equal(dcs_doc_failover(&d, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"member\":\"node2\"}");
	assert_int_equal(buf_copy(d.leader, sizeof(d.leader), "node1"), 0);
	assert_int_equal(
		buf_copy(d.scheduled_at, sizeof(d.scheduled_at), "2026-11-21T06:32:48+00:00"), 0);
	assert_int_equal(dcs_doc_failover(&d, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"leader\":\"node1\",\"member\":\"node2\",\"scheduled_at\":"
				 "\"2026-11-21T06:32:48+00:00\"}");
	assert_int_equal(dcs_docs_check("failover", out, msg, sizeof(msg)), DCS_OK);
	assert_int_equal(buf_copy(d.scheduled_at, sizeof(d.scheduled_at), "2026-11-21 06:32"), 0);
	assert_int_equal(dcs_doc_failover(&d, out, sizeof(out), msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "scheduled_at"));
}

static void test_status_doc_keeps_a_large_lsn_exact(void **state)
{
	char out[DCS_STATUS_DOC_MAX + 1], msg[MSG_LEN];

	(void)state;
	assert_int_equal(dcs_doc_status(67405904, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"optime\":67405904}");
	/* Above 2^53 a double would round it. */
	assert_int_equal(
		dcs_doc_status(UINT64_C(1152921504606846977), out, sizeof(out), msg, sizeof(msg)),
		DCS_OK);
	assert_string_equal(out, "{\"optime\":1152921504606846977}");
}

/* Patroni 4's status: {"optime":N,"slots":{name:N},"retain_slots":[...]}, read back as written;
 * entries Patroni would not take (a negative position, a long name) are left out. */
static void test_status_doc_with_slots_round_trips(void **state)
{
	struct dcs_status_doc st = { .optime_lsn = 67405904, .slot_count = 2, .retain_count = 2 };
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char out[DCS_STATUS_DOC_MAX + 1], msg[MSG_LEN];
	struct buf kvs;
	char *kv;

	(void)state;
	assert_non_null(c);
	memcpy(st.slots[0].name, "cdc", 4);
	st.slots[0].lsn = UINT64_C(1152921504606846977);
	memcpy(st.slots[1].name, "node2", 6);
	st.slots[1].lsn = 67405000;
	memcpy(st.retain[0], "node2", 6);
	memcpy(st.retain[1], "node3", 6);
	assert_int_equal(dcs_doc_status_slots(&st, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"optime\":67405904,\"slots\":{\"cdc\":1152921504606846977,"
				 "\"node2\":67405000},\"retain_slots\":[\"node2\",\"node3\"]}");
	st.slot_count = 0;
	st.retain_count = 0;
	assert_int_equal(dcs_doc_status_slots(&st, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"optime\":67405904}");

	kv = kv_json(PREFIX "status",
		     "{\"optime\":5,\"slots\":{\"a\":7,\"bad\":-1,\"b\":\"x\"},"
		     "\"retain_slots\":[\"node2\",7,\"node3\"]}",
		     "5");
	buf_init(&kvs, DCS_RESPONSE_MAX);
	assert_int_equal(buf_printf(&kvs, "%s", kv), 0);
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	assert_int_equal(c->optime_lsn, 5);
	assert_int_equal(c->status_slots.slot_count, 1);
	assert_string_equal(c->status_slots.slots[0].name, "a");
	assert_int_equal(c->status_slots.slots[0].lsn, 7);
	assert_int_equal(c->status_slots.retain_count, 2);
	assert_string_equal(c->status_slots.retain[1], "node3");
	buf_done(&kvs);
	free(kv);
	free(c);
}

static void test_failsafe_doc_maps_names_to_urls(void **state)
{
	struct dcs_failsafe_member f[2] = { { "node1", "http://127.0.0.1:8008/patroni" },
					    { "node2", "http://127.0.0.1:8009/pat\"roni" } };
	char out[DCS_FAILSAFE_DOC_MAX + 1], msg[MSG_LEN];

	(void)state;
	assert_int_equal(dcs_doc_failsafe(f, 2, out, sizeof(out), msg, sizeof(msg)), DCS_OK);
	assert_string_equal(out, "{\"node1\":\"http://127.0.0.1:8008/patroni\",\"node2\":"
				 "\"http://127.0.0.1:8009/pat\\\"roni\"}");
	assert_int_equal(dcs_docs_check("failsafe", out, msg, sizeof(msg)), DCS_OK);
	assert_int_equal(buf_copy(f[1].name, sizeof(f[1].name), "node1"), 0);
	assert_int_equal(dcs_doc_failsafe(f, 2, out, sizeof(out), msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
}

static void test_history_doc_appends_a_row_to_what_was_read(void **state)
{
	struct dcs_history_row row = { .timeline = 2, .lsn = 100663512 };
	char out[DCS_HISTORY_MAX + 1], msg[MSG_LEN];
	const char *old = "[[1,67405800,\"no recovery target specified\","
			  "\"2026-11-21T05:32:51.863905+00:00\",\"node2\"]]";

	(void)state;
	assert_int_equal(buf_copy(row.reason, sizeof(row.reason), "no recovery target specified"),
			 0);
	assert_int_equal(
		buf_copy(row.timestamp, sizeof(row.timestamp), "2026-11-21T05:34:50+00:00"), 0);
	assert_int_equal(buf_copy(row.leader, sizeof(row.leader), "node1"), 0);
	assert_int_equal(dcs_doc_history_append(old, &row, 0, out, sizeof(out), msg, sizeof(msg)),
			 DCS_OK);
	assert_string_equal(out, "[[1,67405800,\"no recovery target specified\","
				 "\"2026-11-21T05:32:51.863905+00:00\",\"node2\"],[2,100663512,"
				 "\"no recovery target specified\",\"2026-11-21T05:34:50+00:00\","
				 "\"node1\"]]");
	assert_int_equal(dcs_docs_check("history", out, msg, sizeof(msg)), DCS_OK);
	/* No key starts a new list. */
	assert_int_equal(dcs_doc_history_append(NULL, &row, 0, out, sizeof(out), msg, sizeof(msg)),
			 DCS_OK);
	assert_string_equal(out, "[[2,100663512,\"no recovery target specified\","
				 "\"2026-11-21T05:34:50+00:00\",\"node1\"]]");
	/* A history that could not be read (garbage, or the "" of a key over the limit) is left
	 * alone: rewriting it would erase what another writer kept (Patroni's longer lists). */
	assert_int_equal(
		dcs_doc_history_append("[[1,2]] x", &row, 0, out, sizeof(out), msg, sizeof(msg)),
		DCS_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "not rewritten"));
	assert_int_equal(dcs_doc_history_append("", &row, 0, out, sizeof(out), msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_doc_history_append(old, &row, 0, out, 40, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	/* max_timelines_history keeps the newest rows. */
	assert_int_equal(dcs_doc_history_append(old, &row, 1, out, sizeof(out), msg, sizeof(msg)),
			 DCS_OK);
	assert_string_equal(out, "[[2,100663512,\"no recovery target specified\","
				 "\"2026-11-21T05:34:50+00:00\",\"node1\"]]");
}

/* A history at the reader's limit keeps growing: the oldest rows make room for the new one,
 * and the result is one the reader takes (it stopped at 16 KiB before, each promotion failing). */
static void test_history_at_the_limit_drops_its_oldest_rows(void **state)
{
	struct dcs_history_row row = { .timeline = 100000, .lsn = 1 };
	char *out = malloc(DCS_HISTORY_MAX + 1), msg[MSG_LEN];
	struct buf h;
	int tl = 0;

	(void)state;
	assert_non_null(out);
	memset(row.reason, 'r', 100); /* longer than the room left below */
	row.reason[100] = '\0';
	assert_int_equal(buf_copy(row.timestamp, sizeof(row.timestamp), "2026-11-21T05:34:50Z"), 0);
	assert_int_equal(buf_copy(row.leader, sizeof(row.leader), "node1"), 0);
	buf_init(&h, DCS_HISTORY_MAX + 1);
	assert_int_equal(buf_puts(&h, "["), 0);
	while (h.len + 100 < DCS_HISTORY_MAX) {
		assert_int_equal(buf_printf(&h,
					    "%s[%d,100,\"no recovery target specified\","
					    "\"2026-11-21T05:32:51.863905+00:00\",\"node2\"]",
					    tl ? "," : "", tl + 1),
				 0);
		tl++;
	}
	assert_int_equal(buf_puts(&h, "]"), 0);
	assert_int_equal(
		dcs_doc_history_append(h.data, &row, 0, out, DCS_HISTORY_MAX + 1, msg, sizeof(msg)),
		DCS_OK);
	assert_true(strlen(out) <= DCS_HISTORY_MAX);
	assert_null(strstr(out, "[1,100,"));	    /* the oldest went */
	assert_non_null(strstr(out, "[100000,1,")); /* the new one is there */
	assert_int_equal(dcs_docs_check("history", out, msg, sizeof(msg)), DCS_OK);
	buf_done(&h);
	free(out);
}

/* ---- member names: one limit, 63 bytes, refused with a reason, never cut ---- */

static void test_member_names_over_63_bytes_are_refused_on_read(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char name63[64], name64[65], key[DCS_KEY_MAX], value[512];
	char *kv[6];
	struct buf kvs;

	(void)state;
	memset(name63, 'a', 63);
	name63[63] = '\0';
	memset(name64, 'b', 64);
	name64[64] = '\0';
	assert_int_equal(buf_format(key, sizeof(key), PREFIX "members/%s", name63), 0);
	kv[0] = kv_json(key, "{\"role\":\"replica\"}", "1");
	assert_int_equal(buf_format(key, sizeof(key), PREFIX "members/%s", name64), 0);
	kv[1] = kv_json(key, "{\"role\":\"replica\"}", "2");
	kv[2] = kv_json(PREFIX "leader", name64, "3");
	assert_int_equal(
		buf_format(value, sizeof(value), "{\"leader\":\"%s\",\"member\":\"x\"}", name64),
		0);
	kv[3] = kv_json(PREFIX "failover", value, "4");
	assert_int_equal(buf_format(value, sizeof(value),
				    "{\"leader\":\"x\",\"sync_standby\":\"%s,%s\"}", name63,
				    name64),
			 0);
	kv[4] = kv_json(PREFIX "sync", value, "5");
	kv[5] = kv_json(PREFIX "status", "{\"optime\":1}", "6");
	buf_init(&kvs, DCS_RESPONSE_MAX);
	assert_int_equal(
		buf_printf(&kvs, "%s,%s,%s,%s,%s,%s", kv[0], kv[1], kv[2], kv[3], kv[4], kv[5]), 0);
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	/* 63 bytes is a name; 64 is refused whole, with a reason, and nothing is cut. */
	assert_int_equal(c->member_count, 1);
	assert_string_equal(c->members[0].name, name63);
	assert_int_equal(c->members_dropped, 0);
	assert_true(c->has_leader);
	assert_true(c->leader_oversized);
	assert_string_equal(c->leader, "");
	assert_true(c->has_failover);
	assert_false(c->failover_valid);
	assert_string_equal(c->failover_leader, "");
	assert_true(c->has_sync);
	assert_false(c->sync_valid);
	assert_string_equal(c->sync_standby, "");
	assert_int_equal(c->sync_standby_count, 0);
	assert_int_equal(c->rejected_count, 4);
	assert_non_null(strstr(c->rejected, "63 bytes"));
	assert_true(c->has_optime);
	buf_done(&kvs);
	for (int i = 0; i < 6; i++)
		free(kv[i]);
	free(c);
}

/* A member that publishes a gopher:// or dict:// api_url would make every agent send raw bytes
 * to an internal service during a leader race: only http and https are taken, in the member
 * document (JSON and Patroni's legacy form) and in the failsafe key. */
static void test_member_api_url_other_than_http_is_refused_on_read(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *kv[5];
	struct buf kvs;

	(void)state;
	assert_non_null(c);
	kv[0] = kv_json(PREFIX "members/n1",
			"{\"role\":\"replica\",\"api_url\":\"gopher://127.0.0.1:6379/_FLUSHALL\"}",
			"1");
	kv[1] = kv_json(PREFIX "members/n2",
			"postgres://10.0.0.2:5432/"
			"postgres?application_name=dict%3A%2F%2F10.0.0.9%3A11211%2F",
			"2");
	kv[2] = kv_json(PREFIX "members/n3",
			"{\"role\":\"replica\",\"api_url\":\"HTTPS://10.0.0.3:8008/patroni\"}",
			"3");
	kv[3] = kv_json(PREFIX "members/n4", "{\"role\":\"replica\",\"api_url\":\"http://\"}", "4");
	kv[4] = kv_json(PREFIX "failsafe", "{\"n1\":\"file:///etc/passwd\"}", "5");
	buf_init(&kvs, DCS_RESPONSE_MAX);
	assert_int_equal(buf_printf(&kvs, "%s,%s,%s,%s,%s", kv[0], kv[1], kv[2], kv[3], kv[4]), 0);
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	assert_int_equal(c->member_count, 4);
	for (int i = 0; i < c->member_count; i++) {
		const struct dcs_member *m = &c->members[i];

		if (strcmp(m->name, "n3") == 0) {
			assert_string_equal(m->api_url, "HTTPS://10.0.0.3:8008/patroni");
			assert_false(m->api_url_refused);
		} else {
			assert_string_equal(m->api_url, "");
			assert_true(m->api_url_refused);
			assert_true(m->doc_valid); /* still a member, with no API to call */
		}
	}
	assert_false(c->failsafe_valid);
	assert_int_equal(c->failsafe_count, 0);
	assert_int_equal(c->rejected_count, 4);
	assert_non_null(strstr(c->rejected, "http://"));
	buf_done(&kvs);
	for (int i = 0; i < 5; i++)
		free(kv[i]);
	free(c);
}

/* The agent takes the sync standbys as dcs split them: spaces and the double quotes of
 * synchronous_standby_names around a name are dropped, empty entries skipped. */
static void test_sync_standbys_are_split_once_here(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *kv =
		kv_json(PREFIX "sync",
			"{\"leader\":\"node1\",\"sync_standby\":\" \\\"node2\\\", node3,,\"}", "5");

	(void)state;
	assert_non_null(c);
	assert_int_equal(parse_kvs(kv, c), DCS_OK);
	assert_true(c->sync_valid);
	assert_string_equal(c->sync_leader, "node1");
	assert_int_equal(c->sync_standby_count, 2);
	assert_string_equal(c->sync_standbys[0], "node2");
	assert_string_equal(c->sync_standbys[1], "node3");
	assert_int_equal(c->rejected_count, 0);
	free(kv);
	free(c);
}

static void test_member_names_over_63_bytes_are_refused_on_write(void **state)
{
	char name64[65], doc[512], msg[MSG_LEN];
	struct dcs_sync_doc s = { 0 };

	(void)state;
	memset(name64, 'b', 64);
	name64[64] = '\0';
	assert_int_equal(buf_format(doc, sizeof(doc), "{\"leader\":\"%s\"}", name64), 0);
	assert_int_equal(dcs_docs_check("sync", doc, msg, sizeof(msg)), DCS_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "63"));
	assert_int_equal(buf_format(doc, sizeof(doc), "{\"member\":\"%s\"}", name64), 0);
	assert_int_equal(dcs_docs_check("failover", doc, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(buf_format(doc, sizeof(doc), "{\"%s\":\"http://h/patroni\"}", name64), 0);
	assert_int_equal(dcs_docs_check("failsafe", doc, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(buf_format(doc, sizeof(doc), "members/%s", name64), 0);
	assert_int_equal(dcs_docs_check(doc, "{}", msg, sizeof(msg)), DCS_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "63 bytes"));
	/* The typed builders take MEMBER_NAME_MAX fields and refuse a name without room for it. */
	memset(s.leader, 'x', sizeof(s.leader) - 1);
	assert_int_equal(dcs_doc_sync(&s, doc, sizeof(doc), msg, sizeof(msg)), DCS_OK);
}

/* ---- trailing garbage and per-key limits ---- */

static void test_values_with_trailing_garbage_are_refused(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *kv[6];
	struct buf kvs;
	char msg[MSG_LEN];

	(void)state;
	kv[0] = kv_json(PREFIX "members/n1", "{\"role\":\"primary\"} {}", "1");
	kv[1] = kv_json(PREFIX "sync", "{\"leader\":\"n1\",\"sync_standby\":\"n2\"}x", "2");
	kv[2] = kv_json(PREFIX "failover", "{\"member\":\"n2\"}]", "3");
	kv[3] = kv_json(PREFIX "status", "{\"optime\":5}{\"optime\":6}", "4");
	kv[4] = kv_json(PREFIX "failsafe", "{\"n1\":\"http://h/patroni\"} ", "5");
	kv[5] = kv_json(PREFIX "history", "[[1,2,\"r\",\"t\",\"n1\"]],", "6");
	buf_init(&kvs, DCS_RESPONSE_MAX);
	assert_int_equal(
		buf_printf(&kvs, "%s,%s,%s,%s,%s,%s", kv[0], kv[1], kv[2], kv[3], kv[4], kv[5]), 0);
	assert_int_equal(parse_kvs(kvs.data, c), DCS_OK);
	assert_false(c->members[0].doc_valid);
	assert_false(c->members[0].is_primary);
	assert_false(c->sync_valid);
	assert_false(c->failover_valid);
	assert_false(c->has_optime);
	/* Trailing whitespace is not garbage. */
	assert_true(c->failsafe_valid);
	assert_int_equal(c->failsafe_count, 1);
	assert_string_equal(c->failsafe_members[0].name, "n1");
	assert_string_equal(c->failsafe_members[0].api_url, "http://h/patroni");
	assert_int_equal(c->rejected_count, 5);
	assert_int_equal(dcs_docs_check("config", "{\"ttl\":30} x", msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_docs_check("config", "{\"ttl\":30}", msg, sizeof(msg)), DCS_OK);
	assert_int_equal(dcs_docs_check("history", "{}", msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_docs_check("status", "7", msg, sizeof(msg)), DCS_ERR_INVALID_ARGUMENT);
	buf_done(&kvs);
	for (int i = 0; i < 6; i++)
		free(kv[i]);
	free(c);
}

static void test_failover_schedule_is_parsed_strictly(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *kv =
		kv_json(PREFIX "failover",
			"{\"leader\":\"n1\",\"scheduled_at\":\"2026-11-21T06:32:48+01:00\"}", "1");
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(parse_kvs(kv, c), DCS_OK);
	assert_true(c->failover_valid);
	assert_true(c->failover_has_schedule);
	assert_int_equal(c->failover_scheduled_at_wall_ms, INT64_C(1795239168000));
	free(kv);
	memset(c, 0, sizeof(*c));
	kv = kv_json(PREFIX "failover", "{\"leader\":\"n1\",\"scheduled_at\":\"tomorrow\"}", "1");
	assert_int_equal(parse_kvs(kv, c), DCS_OK);
	/* Read as written, without a schedule: the agent refuses it and says so. Never written. */
	assert_true(c->has_failover);
	assert_true(c->failover_valid);
	assert_false(c->failover_has_schedule);
	assert_string_equal(c->failover_scheduled_at, "tomorrow");
	assert_int_equal(dcs_docs_check("failover",
					"{\"leader\":\"n1\",\"scheduled_at\":\"tomorrow\"}", msg,
					sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "scheduled_at"));
	free(kv);
	free(c);
}

static void test_error_names_cover_every_code(void **state)
{
	(void)state;
	for (int rc = 0; rc >= DCS_ERR_NO_MEMORY; rc--) {
		assert_string_not_equal(dcs_error_name(rc), "DCS_ERR_UNKNOWN");
		assert_string_not_equal(dcs_strerror(rc), "unknown error");
	}
	assert_string_equal(dcs_error_name(-99), "DCS_ERR_UNKNOWN");
	assert_string_equal(dcs_error_name(5), "DCS_ERR_UNKNOWN");
	assert_true(dcs_error_is_transient(DCS_ERR_TRANSIENT));
	assert_true(dcs_error_is_transient(DCS_ERR_INVALID_RESPONSE));
	assert_false(dcs_error_is_transient(DCS_ERR_CONFLICT));
	assert_false(dcs_error_is_transient(DCS_ERR_LEASE_NOT_FOUND));
	assert_false(dcs_error_is_transient(DCS_ERR_AUTH));
}

/* ---- client options (no network: dcs_client_new sends nothing) ---- */

static void base_options(struct dcs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->endpoint_count = 1;
	assert_int_equal(buf_copy(o->endpoints[0], DCS_URL_MAX, "127.0.0.1:2379"), 0);
	assert_int_equal(buf_copy(o->scope, sizeof(o->scope), "batman"), 0);
	assert_int_equal(buf_copy(o->name, sizeof(o->name), "node1"), 0);
	o->ttl_ms = 30000;
	o->retry_timeout_ms = 10000;
}

static void test_client_new_builds_the_patroni_prefix(void **state)
{
	struct dcs_options o;
	struct dcs_client *c;
	char err[MSG_LEN] = "";

	(void)state;
	base_options(&o);
	assert_int_equal(buf_copy(o.namespace, sizeof(o.namespace), "/service/"), 0);
	c = dcs_client_new(&o, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(dcs_client_prefix(c), "/service/batman/");
	assert_int_equal(dcs_lease_id(c), 0);
	assert_int_equal(dcs_wait_for_change(c, 0, NULL), 0); /* no watch: nothing pending */
	dcs_wake(c);
	assert_int_equal(dcs_wait_for_change(c, 0, NULL), 1);
	dcs_client_free(c);
	dcs_client_free(NULL);
}

static void test_client_new_rejects_bad_options_with_a_message(void **state)
{
	struct dcs_options o;
	char err[MSG_LEN];

	(void)state;
	base_options(&o);
	o.endpoint_count = 0;
	err[0] = '\0';
	assert_null(dcs_client_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "hosts"));
	base_options(&o);
	assert_int_equal(buf_copy(o.endpoints[0], DCS_URL_MAX, "ftp://127.0.0.1:2379"), 0);
	assert_null(dcs_client_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "ftp://"));
	base_options(&o);
	assert_int_equal(buf_copy(o.protocol, sizeof(o.protocol), "gopher"), 0);
	assert_null(dcs_client_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "protocol"));
	base_options(&o);
	o.scope[0] = '\0';
	assert_null(dcs_client_new(&o, err, sizeof(err)));
	base_options(&o);
	assert_int_equal(buf_copy(o.name, sizeof(o.name), "a/b"), 0);
	assert_null(dcs_client_new(&o, err, sizeof(err)));
	base_options(&o);
	o.retry_timeout_ms = 0;
	assert_null(dcs_client_new(&o, err, sizeof(err)));
	base_options(&o);
	memset(o.scope, 'x', sizeof(o.scope)); /* not terminated */
	assert_null(dcs_client_new(&o, err, sizeof(err)));
}

static void test_calls_with_bad_json_fail_before_any_request(void **state)
{
	struct dcs_options o;
	struct dcs_client *c;
	char msg[MSG_LEN];

	(void)state;
	base_options(&o);
	c = dcs_client_new(&o, msg, sizeof(msg));
	assert_non_null(c);
	assert_int_equal(dcs_touch_member(c, "not json", msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_touch_member(c, "[1]", msg, sizeof(msg)), DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_cas_config(c, "{", DCS_CAS_ANY, NULL, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_write_status(c, "7", msg, sizeof(msg)), DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_cas_sync(c, "{}", -5, NULL, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_cas_term(c, 0, DCS_CAS_ABSENT, NULL, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	assert_int_equal(dcs_cas_term(c, DCS_TERM_MAX + 1, DCS_CAS_ABSENT, NULL, msg, sizeof(msg)),
			 DCS_ERR_INVALID_ARGUMENT);
	dcs_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_roundtrip_of_every_length),
		cmocka_unit_test(test_b64_bad_input_is_rejected),
		cmocka_unit_test(test_prefix_collapses_slashes_and_defaults_namespace),
		cmocka_unit_test(test_key_kind_follows_patroni_layout),
		cmocka_unit_test(test_leader_txn_body_matches_patroni),
		cmocka_unit_test(test_renew_txn_body_nests_create_fallback),
		cmocka_unit_test(test_release_txn_body_deletes_on_value),
		cmocka_unit_test(test_other_bodies),
		cmocka_unit_test(test_body_over_limit_is_an_error),
		cmocka_unit_test(test_cluster_from_real_range_has_every_key),
		cmocka_unit_test(test_cluster_from_empty_range_is_empty),
		cmocka_unit_test(test_cluster_read_asks_for_known_keys_only),
		cmocka_unit_test(test_member_keys_listing_takes_keys_only),
		cmocka_unit_test(test_hostile_range_shapes_are_invalid),
		cmocka_unit_test(test_truncated_real_range_never_crashes),
		cmocka_unit_test(test_more_members_than_the_cap_are_counted_as_dropped),
		cmocka_unit_test(test_oversized_values_are_flagged_not_cut),
		cmocka_unit_test(test_mistyped_values_degrade_to_empty_fields),
		cmocka_unit_test(test_value_with_nul_byte_is_not_text),
		cmocka_unit_test(test_term_key_valid_is_read_with_its_revision),
		cmocka_unit_test(test_term_key_absent_is_not_present),
		cmocka_unit_test(test_term_key_garbage_or_out_of_range_is_invalid),
		cmocka_unit_test(test_txn_replies_say_which_branch_ran),
		cmocka_unit_test(test_hostile_txn_replies_are_invalid),
		cmocka_unit_test(test_lease_replies),
		cmocka_unit_test(test_auth_and_version_replies),
		cmocka_unit_test(test_real_errors_are_classified),
		cmocka_unit_test(test_unavailable_and_garbage_errors_are_transient_or_rejected),
		cmocka_unit_test(test_watch_stream_lines_from_real_etcd),
		cmocka_unit_test(test_watch_cancel_for_compaction),
		cmocka_unit_test(test_hostile_watch_lines_are_invalid),
		cmocka_unit_test(test_member_doc_writes_primary_or_legacy_master),
		cmocka_unit_test(test_member_doc_tag_with_a_quote_stays_valid_json),
		cmocka_unit_test(test_tags_that_do_not_fit_are_refused_not_cut),
		cmocka_unit_test(test_sync_doc_joins_names_or_writes_null),
		cmocka_unit_test(test_failover_doc_leaves_out_empty_fields_and_checks_the_time),
		cmocka_unit_test(test_failover_doc_with_a_quote_in_a_name_cannot_inject_fields),
		cmocka_unit_test(test_status_doc_keeps_a_large_lsn_exact),
		cmocka_unit_test(test_status_doc_with_slots_round_trips),
		cmocka_unit_test(test_failsafe_doc_maps_names_to_urls),
		cmocka_unit_test(test_history_doc_appends_a_row_to_what_was_read),
		cmocka_unit_test(test_history_at_the_limit_drops_its_oldest_rows),
		cmocka_unit_test(test_member_names_over_63_bytes_are_refused_on_read),
		cmocka_unit_test(test_member_names_over_63_bytes_are_refused_on_write),
		cmocka_unit_test(test_member_api_url_other_than_http_is_refused_on_read),
		cmocka_unit_test(test_sync_standbys_are_split_once_here),
		cmocka_unit_test(test_values_with_trailing_garbage_are_refused),
		cmocka_unit_test(test_failover_schedule_is_parsed_strictly),
		cmocka_unit_test(test_error_names_cover_every_code),
		cmocka_unit_test(test_client_new_builds_the_patroni_prefix),
		cmocka_unit_test(test_client_new_rejects_bad_options_with_a_message),
		cmocka_unit_test(test_calls_with_bad_json_fail_before_any_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
