/*
 * rest_health.c - the node status document (/patroni, the body of GET health checks) and the
 * health checks themselves: query strings, ?lag= and ?tag_k=v filters, the substring routing of
 * patroni-compat.md 1.4, /liveness and /readiness.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "num.h"
#include "rest.h"
#include "rest_internal.h"

/* ---- query strings (Python parse_qs: first non-empty value wins) ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes [s, s+n) into out; returns 0 or -ENAMETOOLONG. */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
			   hexval((unsigned char)s[i + 2]) >= 0) {
			c = (char)(hexval((unsigned char)s[i + 1]) * 16 +
				   hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		if (j + 1 >= cap)
			return -ENAMETOOLONG;
		out[j++] = c;
	}
	out[j] = '\0';
	return 0;
}

/* Calls fn for each key=value pair with a non-empty value, in order; stops when fn returns
 * false. Pairs too long to decode are skipped. */
static void query_each(const char *query, bool (*fn)(void *arg, const char *k, const char *v),
		       void *arg)
{
	const char *p = query;

	if (!p)
		return;
	while (*p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		if (eq && eq + 1 < p + len) {
			char k[QUERY_VALUE_MAX], v[QUERY_VALUE_MAX];

			if (url_decode(p, (size_t)(eq - p), k, sizeof(k)) == 0 &&
			    url_decode(eq + 1, (size_t)(p + len - eq - 1), v, sizeof(v)) == 0 &&
			    v[0]) {
				if (!fn(arg, k, v))
					return;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
}

struct query_find {
	const char *key;
	char *out;
	size_t cap;
	bool found;
};

static bool query_find_fn(void *arg, const char *k, const char *v)
{
	struct query_find *f = arg;

	if (strcmp(k, f->key) != 0)
		return true;
	f->found = buf_copy(f->out, f->cap, v) == 0;
	return false;
}

static bool query_get(const char *query, const char *key, char *out, size_t cap)
{
	struct query_find f = { .key = key, .out = out, .cap = cap, .found = false };

	query_each(query, query_find_fn, &f);
	return f.found;
}

/* Patroni's parse_int(value, 'B'): a byte count with an optional unit (kB, MB, GB, TB, and
 * the B default). Returns 0 and *out, or -EINVAL. */
static int parse_bytes(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = { { "", 1 },
		      { "B", 1 },
		      { "kB", 1024 },
		      { "MB", 1024 * 1024 },
		      { "GB", 1024ULL * 1024 * 1024 },
		      { "TB", 1024ULL * 1024 * 1024 * 1024 } };
	char num[QUERY_VALUE_MAX];
	size_t i = 0;
	double v;

	while (s[i] == ' ')
		i++;
	s += i;
	for (i = 0; s[i] && (isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'); i++)
		;
	if (i == 0 || i >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, i);
	num[i] = '\0';
	const char *unit = s + i;
	while (*unit == ' ')
		unit++;
	if (num_parse_double(num, -1e30, 1e30, &v) != 0)
		return -EINVAL;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (strcmp(unit, units[u].unit) == 0) {
			double bytes = v * (double)units[u].mul;

			if (bytes < 0)
				bytes = 0;
			if (bytes >= 1.8e19)
				return -EINVAL;
			*out = (uint64_t)num_round(bytes);
			return 0;
		}
	}
	return -EINVAL;
}

struct tag_filter {
	const struct rest_snapshot *snap;
	bool ok;
};

static bool tag_filter_fn(void *arg, const char *k, const char *v)
{
	struct tag_filter *f = arg;
	const struct rest_tag *t;
	char lowered[REST_TAG_VALUE_MAX];

	if (strncmp(k, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return true;
	t = rest_find_tag(f->snap, k + strlen(TAG_PREFIX));
	if (!t || !t->value[0]) {
		f->ok = false;
		return false;
	}
	if (t->type == REST_TAG_STRING) {
		if (strcmp(t->value, v) != 0)
			f->ok = false;
	} else {
		size_t i;

		for (i = 0; t->value[i] && i + 1 < sizeof(lowered); i++)
			lowered[i] = (char)tolower((unsigned char)t->value[i]);
		lowered[i] = '\0';
		if (strcmp(lowered, v) != 0)
			f->ok = false;
	}
	return f->ok;
}

/* ---- the status document (/patroni and GET health checks) ---- */

void rest_o_status(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s,
		   int64_t now_ms)
{
	bool first = true;
	bool pg = s->pg_reachable;
	bool replica_like = s->role != REST_ROLE_PRIMARY;

	rest_o_put(o, "{");
	rest_o_key(o, &first, "state");
	rest_o_str(o, rest_db_state_name(s->state));
	if (pg) {
		rest_o_key(o, &first, "postmaster_start_time");
		if (s->postmaster_start_wall_us)
			rest_o_pg_timestamp(o, s->postmaster_start_wall_us);
		else
			rest_o_put(o, "null");
	}
	rest_o_key(o, &first, "role");
	rest_o_str(o, rest_role_name(s->role, rest_primary_word(opts)));
	if (pg) {
		rest_o_key(o, &first, "server_version");
		rest_o_printf(o, "%d", s->server_version);
		rest_o_key(o, &first, "xlog");
		if (!replica_like) {
			rest_o_printf(o, "{\"location\": %" PRIu64 "}", s->wal_location_bytes);
		} else {
			rest_o_printf(o,
				      "{\"received_location\": %" PRIu64
				      ", \"replayed_location\": %" PRIu64
				      ", \"replayed_timestamp\": ",
				      s->received_lsn_bytes, s->replayed_lsn_bytes);
			if (s->replayed_timestamp_wall_us)
				rest_o_pg_timestamp(o, s->replayed_timestamp_wall_us);
			else
				rest_o_put(o, "null");
			rest_o_printf(o, ", \"paused\": %s}", s->replay_paused ? "true" : "false");
		}
		if (rest_is_replica_role(s) && s->sync_mode == REST_SYNC_ON && s->is_sync_standby) {
			rest_o_key(o, &first, "sync_standby");
			rest_o_put(o, "true");
		}
		if (rest_is_replica_role(s) && s->sync_mode == REST_SYNC_QUORUM &&
		    s->is_quorum_standby) {
			rest_o_key(o, &first, "quorum_standby");
			rest_o_put(o, "true");
		}
		rest_o_key(o, &first, "timeline");
		rest_o_printf(o, "%" PRId64, s->timeline);
		if (replica_like && s->replication_state != REST_REPLICATION_NONE) {
			rest_o_key(o, &first, "replication_state");
			rest_o_str(o, s->replication_state == REST_REPLICATION_STREAMING
					      ? "streaming"
					      : "in archive recovery");
		}
		int nw = rest_clamp_count(s->walsender_count, REST_REPLICATION_MAX);
		if (nw > 0) {
			rest_o_key(o, &first, "replication");
			rest_o_put(o, "[");
			for (int i = 0; i < nw; i++) {
				const struct rest_walsender *w = &s->walsenders[i];
				bool f2 = true;

				if (i)
					rest_o_put(o, ", ");
				rest_o_put(o, "{");
				rest_o_key(o, &f2, "usename");
				rest_o_str(o, w->usename);
				rest_o_key(o, &f2, "application_name");
				rest_o_str(o, w->application_name);
				rest_o_key(o, &f2, "client_addr");
				if (w->client_addr[0])
					rest_o_str(o, w->client_addr);
				else
					rest_o_put(o, "null");
				rest_o_key(o, &f2, "state");
				rest_o_str(o, w->state);
				rest_o_key(o, &f2, "sync_state");
				rest_o_str(o, w->sync_state);
				rest_o_key(o, &f2, "sync_priority");
				rest_o_printf(o, "%d", w->sync_priority);
				rest_o_put(o, "}");
			}
			rest_o_put(o, "]");
		}
	}
	if (s->paused) {
		rest_o_key(o, &first, "pause");
		rest_o_put(o, "true");
	}
	if (s->cluster_unlocked || !rest_dcs_ok(s, now_ms)) {
		rest_o_key(o, &first, "cluster_unlocked");
		rest_o_put(o, "true");
	}
	if (s->failsafe_active) {
		rest_o_key(o, &first, "failsafe_mode_is_active");
		rest_o_put(o, "true");
	}
	rest_o_key(o, &first, "dcs_last_seen");
	rest_o_printf(o, "%" PRId64, s->dcs_last_seen_wall_ms / 1000);
	int nt = rest_clamp_count(s->tag_count, REST_TAGS_MAX);
	if (nt > 0) {
		rest_o_key(o, &first, "tags");
		rest_o_tags(o, s->tags, nt);
	}
	if (s->system_identifier[0]) {
		rest_o_key(o, &first, "database_system_identifier");
		rest_o_str(o, s->system_identifier);
	}
	if (s->pending_restart) {
		int np = rest_clamp_count(s->pending_count, REST_PENDING_MAX);

		rest_o_key(o, &first, "pending_restart");
		rest_o_put(o, "true");
		if (np > 0) {
			bool f2 = true;

			rest_o_key(o, &first, "pending_restart_reason");
			rest_o_put(o, "{");
			for (int i = 0; i < np; i++) {
				rest_o_key(o, &f2, s->pending[i].name);
				rest_o_put(o, "{\"old_value\": ");
				rest_o_str(o, s->pending[i].old_value);
				rest_o_put(o, ", \"new_value\": ");
				rest_o_str(o, s->pending[i].new_value);
				rest_o_put(o, "}");
			}
			rest_o_put(o, "}");
		}
	}
	rest_o_key(o, &first, "patroni");
	rest_o_put(o, "{\"version\": ");
	rest_o_str(o, s->version);
	rest_o_put(o, ", \"scope\": ");
	rest_o_str(o, s->scope);
	rest_o_put(o, ", \"name\": ");
	rest_o_str(o, s->name);
	rest_o_put(o, "}");
	if (s->has_scheduled_restart) {
		rest_o_key(o, &first, "scheduled_restart");
		rest_o_put(o, "{\"schedule\": ");
		rest_o_str(o, s->scheduled_restart_at);
		rest_o_put(o, "}");
	}
	if (s->watchdog_failed) {
		rest_o_key(o, &first, "watchdog_failed");
		rest_o_put(o, "true");
	}
	rest_o_put(o, "}");
}

/* ---- health checks (patroni-compat.md 1.4) ---- */

struct health {
	bool leader_ok, primary_ok, standby_leader_ok, replica_ok;
};

static struct health compute_health(const struct rest_snapshot *s, const char *query,
				    int64_t now_ms)
{
	struct health h = { 0 };
	char v[QUERY_VALUE_MAX];
	uint64_t max_lag = UINT64_MAX;
	bool lagging = false;
	bool view = rest_dcs_ok(s, now_ms);

	if (query_get(query, "lag", v, sizeof(v)) && parse_bytes(v, &max_lag) != 0)
		max_lag = UINT64_MAX;
	if (s->cluster_optime_bytes && max_lag != UINT64_MAX) {
		uint64_t replayed = s->pg_reachable ? s->replayed_lsn_bytes : 0;

		lagging = s->cluster_optime_bytes > replayed &&
			  s->cluster_optime_bytes - replayed > max_lag;
	}
	h.replica_ok = !rest_tag_true(s, "noloadbalance") && !lagging && s->pg_reachable &&
		       s->role == REST_ROLE_REPLICA && s->state == REST_DB_RUNNING;
	if (query_get(query, "replication_state", v, sizeof(v))) {
		const char *mine = s->replication_state == REST_REPLICATION_STREAMING ? "streaming"
				   : s->replication_state == REST_REPLICATION_ARCHIVE_RECOVERY
					   ? "in archive recovery"
					   : "";
		if (strcmp(mine, v) != 0)
			h.replica_ok = false;
	}

	if (!view && s->paused) {
		/* Maintenance mode with no DCS view: Patroni answers from the role alone. */
		h.leader_ok = s->role == REST_ROLE_PRIMARY || s->role == REST_ROLE_STANDBY_LEADER;
		h.primary_ok = s->role == REST_ROLE_PRIMARY;
		h.standby_leader_ok = s->role == REST_ROLE_STANDBY_LEADER;
	} else if (rest_lease_valid(s, now_ms)) {
		h.leader_ok = true;
		if (s->standby_cluster) {
			h.primary_ok = false;
			h.replica_ok = false;
			h.standby_leader_ok =
				s->role == REST_ROLE_REPLICA || s->role == REST_ROLE_STANDBY_LEADER;
		} else {
			h.primary_ok = true;
		}
	}
	return h;
}

/* The generic GET/HEAD/OPTIONS handler: returns the status code for path. */
int rest_health_status(const struct rest_snapshot *s, const char *path, const char *query,
		       int64_t now_ms)
{
	struct health h;
	int code = 503;
	bool ignore_tags = false;

	if (!s)
		return 503;
	if (strcmp(path, "/") == 0)
		path = "/primary";
	h = compute_health(s, query, now_ms);
	if (strstr(path, "standby_leader") || strstr(path, "standby-leader")) {
		code = h.standby_leader_ok ? 200 : 503;
		ignore_tags = true;
	} else if (strstr(path, "leader")) {
		code = h.leader_ok ? 200 : 503;
		ignore_tags = true;
	} else if (strstr(path, "master") || strstr(path, "primary") ||
		   strstr(path, "read-write")) {
		code = h.primary_ok ? 200 : 503;
		ignore_tags = true;
	} else if (strstr(path, "replica")) {
		code = h.replica_ok ? 200 : 503;
	} else if (strstr(path, "read-only") && !strstr(path, "sync") && !strstr(path, "quorum")) {
		code = (h.primary_ok || h.standby_leader_ok || h.replica_ok) ? 200 : 503;
	} else if (strstr(path, "health")) {
		code = s->state == REST_DB_RUNNING ? 200 : 503;
	} else if (rest_dcs_ok(s, now_ms)) {
		bool sync = s->sync_mode == REST_SYNC_ON && s->is_sync_standby &&
			    rest_is_replica_role(s);
		bool quorum = s->sync_mode == REST_SYNC_QUORUM && s->is_quorum_standby &&
			      rest_is_replica_role(s);

		if (strcmp(path, "/sync") == 0 || strcmp(path, "/synchronous") == 0) {
			code = sync && h.replica_ok ? 200 : 503;
		} else if (strcmp(path, "/quorum") == 0) {
			code = quorum && h.replica_ok ? 200 : 503;
		} else if (strcmp(path, "/async") == 0 || strcmp(path, "/asynchronous") == 0) {
			code = !sync && !quorum && h.replica_ok ? 200 : 503;
		} else if (strcmp(path, "/read-only-sync") == 0 ||
			   strcmp(path, "/read-only-synchronous") == 0) {
			code = (h.primary_ok || h.standby_leader_ok || (sync && h.replica_ok))
				       ? 200
				       : 503;
		} else if (strcmp(path, "/read-only-quorum") == 0) {
			code = (h.primary_ok || h.standby_leader_ok || (quorum && h.replica_ok))
				       ? 200
				       : 503;
		}
	}
	if (!ignore_tags && code == 200) {
		struct tag_filter f = { .snap = s, .ok = true };

		query_each(query, tag_filter_fn, &f);
		if (!f.ok)
			code = 503;
	}
	return code;
}

/* The instant the HA loop counts as late: its next cycle's due time plus ttl (twice ttl unless
 * it runs a healthy primary). */
static int64_t liveness_deadline_ms(const struct rest_snapshot *s)
{
	int64_t threshold = s->ttl_ms;

	if (!(s->role == REST_ROLE_PRIMARY && s->state == REST_DB_RUNNING))
		threshold *= 2;
	return s->next_cycle_due_ms + threshold;
}

int rest_liveness_status(const struct rest_snapshot *s, int64_t now_ms)
{
	if (!s)
		return 503;
	if (s->paused)
		return 200;
	return liveness_deadline_ms(s) > now_ms ? 200 : 503;
}

int rest_readiness_status(const struct rest_snapshot *s, const char *query, int64_t now_ms)
{
	char v[QUERY_VALUE_MAX];
	uint64_t max_lag;
	uint64_t pos;

	if (!s)
		return 503;
	if (rest_lease_valid(s, now_ms))
		return 200;
	if (s->state != REST_DB_RUNNING || !s->pg_reachable)
		return 503;
	if (!rest_dcs_ok(s, now_ms) && !s->failsafe_active && s->received_lsn_bytes == 0)
		return 503;
	if (s->role == REST_ROLE_PRIMARY)
		return rest_dcs_ok(s, now_ms) ? 200 : 503;
	if (s->replication_state != REST_REPLICATION_STREAMING)
		return 503;
	max_lag = s->maximum_lag_on_failover_bytes;
	if (query_get(query, "lag", v, sizeof(v)) && parse_bytes(v, &max_lag) != 0)
		max_lag = s->maximum_lag_on_failover_bytes;
	pos = s->replayed_lsn_bytes;
	if (query_get(query, "mode", v, sizeof(v)) && strcmp(v, "write") == 0)
		pos = s->received_lsn_bytes;
	if (max_lag && s->cluster_optime_bytes > pos && s->cluster_optime_bytes - pos > max_lag)
		return 503;
	return 200;
}

/* The first deadline after now_ms; the comparisons above change exactly there. */
static int64_t first_after(int64_t best, int64_t deadline_ms, int64_t now_ms)
{
	return deadline_ms > now_ms && deadline_ms < best ? deadline_ms : best;
}

int64_t rest_health_stable_until(const struct rest_snapshot *s, int64_t now_ms)
{
	int64_t until = INT64_MAX;

	if (!s)
		return until;
	if (s->has_lock) /* rest_lease_valid: now < lease_deadline_ms */
		until = first_after(until, s->lease_deadline_ms, now_ms);
	if (s->dcs_last_seen_mono_ms > 0) /* rest_dcs_ok: now < last seen + ttl */
		until = first_after(until, s->dcs_last_seen_mono_ms + s->ttl_ms, now_ms);
	if (!s->paused) /* rest_liveness_status: now < liveness_deadline_ms */
		until = first_after(until, liveness_deadline_ms(s), now_ms);
	return until;
}
