/*
 * dcs_docs.c - reading the values of Patroni's keys under /<namespace>/<scope>/ into the cluster
 * view (patroni-compat.md 2). Each key's value is bounded by its own limit (dcs.h) and must be
 * exactly one JSON value (trailing garbage is refused); member names longer than
 * MEMBER_NAME_LEN are refused, never cut. A refused value reads as invalid, and the view says
 * why (rejected). Building the documents gsha writes is dcs_docs_build.c's job.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "dcs_codec.h"
#include "dcs_json.h"
#include "err.h"
#include "hostport.h"
#include "name.h"
#include "num.h"
#include "timefmt.h"

/* A member's legacy "postgres://...?application_name=<api_url>" form. */
#define DCS_LEGACY_APP_PARAM "application_name="

/* Notes a refused value: the first reason is kept for the log, the others counted. */
static void reject(struct dcs_cluster *c, const char *key, const char *why)
{
	if (c->rejected_count++ == 0)
		err_set(c->rejected, sizeof(c->rejected), "key \"%.80s%s\" refused: %s", key,
			strlen(key) > 80 ? "..." : "", why);
}

static void percent_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hex[3] = { p[1], p[2], '\0' };
			char *end;
			long v = strtol(hex, &end, 16);
			if (*end == '\0' && v > 0) {
				*o++ = (char)v;
				p += 2;
				continue;
			}
		}
		*o++ = *p == '+' ? ' ' : *p;
	}
	*o = '\0';
}

/* True for an api_url a member may be called at: empty (none given), or http:// or https://
 * with a host. A member that publishes gopher:// or dict:// would make every agent send raw
 * bytes to an internal service during a leader race. */
static bool api_url_allowed(const char *url)
{
	char host[HOSTPORT_HOST_MAX];
	int port;

	if (url[0] == '\0')
		return true;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return false;
	return hostport_from_url(url, 80, host, sizeof(host), &port) == 0 && host[0] != '\0';
}

/* Clears an api_url that api_url_allowed refuses, and notes it for the caller to report. */
static void check_api_url(struct dcs_member *m)
{
	if (!api_url_allowed(m->api_url)) {
		m->api_url[0] = '\0';
		m->api_url_refused = true;
	}
}

/* Patroni's legacy member value: "postgres://...?application_name=<api_url>". */
static void parse_legacy_member(const char *value, struct dcs_member *m)
{
	const char *q = strchr(value, '?');
	const char *app;
	char api[DCS_URL_MAX];
	size_t n;

	if (buf_copy(m->conn_url, sizeof(m->conn_url), value) < 0)
		return;
	if (q == NULL)
		return;
	m->conn_url[q - value] = '\0';
	app = strstr(q, DCS_LEGACY_APP_PARAM);
	if (app == NULL)
		return;
	app += strlen(DCS_LEGACY_APP_PARAM);
	n = strcspn(app, "&");
	if (n + 1 > sizeof(api))
		return;
	memcpy(api, app, n);
	api[n] = '\0';
	percent_decode(api);
	if (buf_copy(m->api_url, sizeof(m->api_url), api) < 0)
		m->api_url[0] = '\0';
	check_api_url(m);
}

void dcs_codec_parse_member_doc(const char *value, size_t len, struct dcs_member *m)
{
	cJSON *root = NULL;
	const cJSON *tags;

	m->doc_valid = false;
	m->doc_oversized = len > DCS_MEMBER_DOC_MAX;
	if (m->doc_oversized || !dcs_copy_text(m->doc, sizeof(m->doc), value, len)) {
		m->doc[0] = '\0';
		return;
	}
	if (strncmp(value, "postgres", 8) == 0) {
		parse_legacy_member(value, m);
		m->doc_valid = true;
		return;
	}
	root = dcs_json_parse_value(m->doc, len, DCS_MEMBER_DOC_MAX);
	if (!cJSON_IsObject(root))
		goto out_free_root;
	m->doc_valid = true;
	dcs_json_text(root, "role", m->role, sizeof(m->role));
	m->is_primary = strcmp(m->role, "primary") == 0 || strcmp(m->role, "master") == 0;
	dcs_json_text(root, "state", m->state, sizeof(m->state));
	dcs_json_text(root, "api_url", m->api_url, sizeof(m->api_url));
	check_api_url(m);
	dcs_json_text(root, "conn_url", m->conn_url, sizeof(m->conn_url));
	dcs_json_text(root, "version", m->version, sizeof(m->version));
	dcs_json_text(root, "replication_state", m->replication_state,
		      sizeof(m->replication_state));
	dcs_json_count(root, "xlog_location", &m->has_xlog_location, &m->xlog_location_lsn);
	dcs_json_count(root, "replay_lsn", &m->has_replay_lsn, &m->replay_lsn);
	dcs_json_count(root, "receive_lsn", &m->has_receive_lsn, &m->receive_lsn);
	{
		bool has = false;
		dcs_json_count(root, "timeline", &has, &m->timeline);
	}
	tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
	if (cJSON_IsObject(tags)) {
		char *text = cJSON_PrintUnformatted(tags);
		if (text == NULL || buf_copy(m->tags, sizeof(m->tags), text) < 0)
			m->tags[0] = '\0';
		free(text);
		m->nofailover = dcs_json_boolish(tags, "nofailover");
		m->noloadbalance = dcs_json_boolish(tags, "noloadbalance");
		m->nosync = dcs_json_boolish(tags, "nosync");
		m->nostream = dcs_json_boolish(tags, "nostream");
		dcs_json_text(tags, "replicatefrom", m->replicatefrom, sizeof(m->replicatefrom));
		if (cJSON_GetObjectItemCaseSensitive(tags, "failover_priority")) {
			int64_t v;
			if (dcs_json_i64(tags, "failover_priority", INT32_MIN, INT32_MAX, &v)) {
				m->has_failover_priority = true;
				m->failover_priority = v;
			}
		}
		if (cJSON_GetObjectItemCaseSensitive(tags, "sync_priority")) {
			int64_t v;
			if (dcs_json_i64(tags, "sync_priority", INT32_MIN, INT32_MAX, &v)) {
				m->has_sync_priority = true;
				m->sync_priority = v;
			}
		}
	}
	m->pause = dcs_json_boolish(root, "pause");
	m->pending_restart = dcs_json_boolish(root, "pending_restart");
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(root, "checkpoint_after_promote"))) {
		m->has_checkpoint_after_promote = true;
		m->checkpoint_after_promote = dcs_json_boolish(root, "checkpoint_after_promote");
	}
out_free_root:
	cJSON_Delete(root);
}

/* Seconds (a number or numeric text) to milliseconds; 0 for absent or garbage. */
static int64_t get_seconds_ms(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	int64_t ms;

	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (isfinite(d) && d >= 0 && d <= 1e9)
			return (int64_t)(d * 1000.0 + 0.5);
		return 0;
	}
	if (cJSON_IsString(it) &&
	    num_parse_duration_ms(it->valuestring, 0, INT64_C(1000000000000), &ms) == 0)
		return ms;
	return 0;
}

static void parse_config(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = dcs_json_parse_value(value, len, DCS_CONFIG_MAX);
	const cJSON *sm;

	if (!cJSON_IsObject(root))
		goto out_free_root;
	c->config_valid = true;
	c->config_ttl_ms = get_seconds_ms(root, "ttl");
	c->config_loop_wait_ms = get_seconds_ms(root, "loop_wait");
	c->config_retry_timeout_ms = get_seconds_ms(root, "retry_timeout");
	dcs_json_count(root, "maximum_lag_on_failover", &c->has_config_maximum_lag_on_failover,
		       &c->config_maximum_lag_on_failover);
	c->config_pause = dcs_json_boolish(root, "pause");
	c->config_failsafe_mode = dcs_json_boolish(root, "failsafe_mode");
	c->config_synchronous_mode_strict = dcs_json_boolish(root, "synchronous_mode_strict");
	sm = cJSON_GetObjectItemCaseSensitive(root, "synchronous_mode");
	if (cJSON_IsString(sm) && strcmp(sm->valuestring, "quorum") == 0)
		buf_copy_or_clear(c->config_synchronous_mode, sizeof(c->config_synchronous_mode),
				  "quorum");
	else
		buf_copy_or_clear(c->config_synchronous_mode, sizeof(c->config_synchronous_mode),
				  dcs_json_boolish(root, "synchronous_mode") ? "on" : "off");
out_free_root:
	cJSON_Delete(root);
}

/* Splits Patroni's comma-joined sync_standby ("a,b"; spaces and double quotes around names, as
 * synchronous_standby_names quotes them, are dropped). */
static bool split_names(const char *csv, char out[][MEMBER_NAME_MAX], int cap, int *count)
{
	int n = 0;

	for (const char *p = csv; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		char name[MEMBER_NAME_MAX];

		while (len > 0 && (*p == ' ' || *p == '"')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '"'))
			len--;
		if (len > MEMBER_NAME_LEN || n >= cap)
			return false;
		memcpy(name, p, len);
		name[len] = '\0';
		if (len > 0) {
			if (!member_name_valid(name))
				return false;
			memcpy(out[n++], name, len + 1);
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	*count = n;
	return true;
}

/* A member name field: absent or null leaves dst "" (true); a name that is not a string, empty,
 * or longer than MEMBER_NAME_LEN bytes is refused (false, dst ""). */
static bool get_name(const cJSON *obj, const char *field, char dst[static MEMBER_NAME_MAX])
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);

	dst[0] = '\0';
	if (it == NULL || cJSON_IsNull(it))
		return true;
	return cJSON_IsString(it) && member_name_copy(dst, it->valuestring) == 0;
}

static void parse_sync(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = dcs_json_parse_value(value, len, DCS_SYNC_DOC_MAX);
	const cJSON *standby;

	if (!cJSON_IsObject(root)) {
		reject(c, "sync",
		       root == NULL ? "not one JSON value within its size limit"
				    : "not a JSON object");
		goto out_free_root;
	}
	if (!get_name(root, "leader", c->sync_leader)) {
		reject(c, "sync", "\"leader\" is not a member name of 1 to 63 bytes");
		goto out_free_root;
	}
	standby = cJSON_GetObjectItemCaseSensitive(root, "sync_standby");
	if (cJSON_IsString(standby) &&
	    (buf_copy(c->sync_standby, sizeof(c->sync_standby), standby->valuestring) < 0 ||
	     !split_names(c->sync_standby, c->sync_standbys, DCS_MEMBERS_MAX,
			  &c->sync_standby_count))) {
		c->sync_standby[0] = '\0';
		c->sync_leader[0] = '\0';
		reject(c, "sync", "\"sync_standby\" names a member over 63 bytes or too many");
		goto out_free_root;
	}
	dcs_json_count(root, "quorum", &c->has_sync_quorum, &c->sync_quorum);
	c->sync_valid = true;
out_free_root:
	cJSON_Delete(root);
}

static void parse_failover(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = dcs_json_parse_value(value, len, DCS_FAILOVER_DOC_MAX);
	const char *colon;
	int64_t at;

	if (cJSON_IsObject(root)) {
		if (!get_name(root, "leader", c->failover_leader) ||
		    !get_name(root, "member", c->failover_member)) {
			c->failover_leader[0] = c->failover_member[0] = '\0';
			reject(c, "failover", "a member name is not 1 to 63 bytes of text");
			goto out_free_root;
		}
		dcs_json_text(root, "scheduled_at", c->failover_scheduled_at,
			      sizeof(c->failover_scheduled_at));
		/* A schedule that does not parse is left for the agent to refuse (and say so):
		 * the key stays valid, without failover_has_schedule. */
		if (c->failover_scheduled_at[0] != '\0' &&
		    time_parse_iso(c->failover_scheduled_at, &at, NULL, 0) == TIME_OK) {
			c->failover_has_schedule = true;
			c->failover_scheduled_at_wall_ms = at;
		}
		c->failover_valid = true;
	} else if (root == NULL && len <= DCS_FAILOVER_DOC_MAX &&
		   memchr(value, '\0', len) == NULL && value[0] != '{' &&
		   (colon = strchr(value, ':')) != NULL) {
		/* Legacy "leader:candidate" (not a broken JSON object). */
		size_t n = (size_t)(colon - value);
		char leader[MEMBER_NAME_MAX];

		if (n > MEMBER_NAME_LEN || member_name_copy(c->failover_member, colon + 1) != 0) {
			reject(c, "failover", "a member name is not 1 to 63 bytes of text");
			goto out_free_root;
		}
		memcpy(leader, value, n);
		leader[n] = '\0';
		if (n > 0 && member_name_copy(c->failover_leader, leader) != 0) {
			c->failover_member[0] = '\0';
			reject(c, "failover", "a member name is not 1 to 63 bytes of text");
			goto out_free_root;
		}
		c->failover_valid = true;
	} else {
		reject(c, "failover", "not one JSON object within its size limit");
	}
out_free_root:
	cJSON_Delete(root);
}

static void parse_status(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = dcs_json_parse_value(value, len, DCS_STATUS_DOC_MAX);

	struct dcs_status_doc *st = &c->status_slots;
	const cJSON *slots, *retain, *it;

	st->slot_count = -1;
	if (!cJSON_IsObject(root)) {
		reject(c, "status", "not one JSON object within its size limit");
		goto out_free_root;
	}
	dcs_json_count(root, "optime", &c->has_optime, &c->optime_lsn);
	/* As Patroni's Status.from_node: a "slots" that is not an object is none, a bad entry
	 * is left out, and so is a "retain_slots" entry that is not a slot name. */
	slots = cJSON_GetObjectItemCaseSensitive(root, "slots");
	if (cJSON_IsObject(slots)) {
		st->slot_count = 0;
		cJSON_ArrayForEach(it, slots)
		{
			struct dcs_status_slot *s = &st->slots[st->slot_count];
			int64_t v;

			if (st->slot_count < DCS_STATUS_SLOTS_MAX &&
			    dcs_json_i64(slots, it->string, 0, INT64_MAX, &v) &&
			    member_name_copy(s->name, it->string) == 0) {
				s->lsn = (uint64_t)v;
				st->slot_count++;
			}
		}
	}
	retain = cJSON_GetObjectItemCaseSensitive(root, "retain_slots");
	if (!cJSON_IsArray(retain))
		retain = NULL;
	cJSON_ArrayForEach(it, retain)
	{
		if (st->retain_count < DCS_STATUS_SLOTS_MAX && cJSON_IsString(it) &&
		    member_name_copy(st->retain[st->retain_count], it->valuestring) == 0)
			st->retain_count++;
	}
out_free_root:
	cJSON_Delete(root);
}

static void parse_failsafe(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = dcs_json_parse_value(value, len, DCS_FAILSAFE_DOC_MAX);
	const cJSON *it;
	int n = 0;

	if (!cJSON_IsObject(root)) {
		reject(c, "failsafe", "not one JSON object within its size limit");
		goto out_free_root;
	}
	cJSON_ArrayForEach(it, root)
	{
		struct dcs_failsafe_member *f = &c->failsafe_members[n];

		if (n >= DCS_FAILSAFE_MEMBERS_MAX || !cJSON_IsString(it) ||
		    member_name_copy(f->name, it->string) != 0 ||
		    buf_copy(f->api_url, sizeof(f->api_url), it->valuestring) != 0 ||
		    !api_url_allowed(f->api_url) || f->api_url[0] == '\0') {
			memset(c->failsafe_members, 0, sizeof(c->failsafe_members));
			reject(c, "failsafe",
			       "an entry is not a member name of 1 to 63 bytes with an http:// or "
			       "https:// URL");
			goto out_free_root;
		}
		n++;
	}
	c->failsafe_count = n;
	c->failsafe_valid = true;
out_free_root:
	cJSON_Delete(root);
}

/* Copies a value kept as text (config, status, history, failsafe) when it is within limit;
 * otherwise leaves dst empty and says so. Returns true when copied. */
static bool keep_text(struct dcs_cluster *c, const char *key, char *dst, size_t cap, size_t limit,
		      const char *value, size_t len)
{
	if (len <= limit && dcs_copy_text(dst, cap, value, len))
		return true;
	dst[0] = '\0';
	reject(c, key, len > limit ? "longer than the key's limit" : "holds a NUL byte");
	return false;
}

/* Stores one key of the prefix into the view (see dcs_codec.h). */
void dcs_docs_store_kv(struct dcs_cluster *c, const char *suffix, const char *value, size_t len,
		       int64_t create_rev, int64_t mod_rev, uint64_t lease)
{
	unsigned kind = dcs_key_kind(suffix);

	switch (kind) {
	case DCS_CHANGE_LEADER:
		c->has_leader = true;
		c->leader_oversized = len > DCS_LEADER_VALUE_MAX ||
				      !dcs_copy_text(c->leader, sizeof(c->leader), value, len);
		if (c->leader_oversized) {
			c->leader[0] = '\0';
			reject(c, suffix, "not a member name of 1 to 63 bytes");
		}
		c->leader_create_revision = create_rev;
		c->leader_mod_revision = mod_rev;
		c->leader_lease = lease;
		break;
	case DCS_CHANGE_INITIALIZE:
		c->has_initialize = true;
		(void)keep_text(c, suffix, c->initialize, sizeof(c->initialize), DCS_INITIALIZE_MAX,
				value, len);
		c->initialize_mod_revision = mod_rev;
		break;
	case DCS_CHANGE_CONFIG:
		c->has_config = true;
		c->config_mod_revision = mod_rev;
		c->config_oversized = !keep_text(c, suffix, c->config, sizeof(c->config),
						 DCS_CONFIG_MAX, value, len);
		parse_config(value, len, c);
		break;
	case DCS_CHANGE_SYNC:
		c->has_sync = true;
		c->sync_mod_revision = mod_rev;
		parse_sync(value, len, c);
		break;
	case DCS_CHANGE_FAILOVER:
		c->has_failover = true;
		c->failover_mod_revision = mod_rev;
		parse_failover(value, len, c);
		break;
	case DCS_CHANGE_STATUS:
		if (strcmp(suffix, "status") == 0) {
			c->has_status = true;
			c->status_mod_revision = mod_rev;
			c->status_oversized = !keep_text(c, suffix, c->status, sizeof(c->status),
							 DCS_STATUS_DOC_MAX, value, len);
			parse_status(value, len, c);
		} else if (!c->has_optime) {
			/* Legacy optime/leader: only when status gave none (keys come sorted,
			 * "optime/" before "status": a valid status overrides it). */
			int64_t v;
			char text[DCS_INT_TEXT_MAX];
			if (dcs_copy_text(text, sizeof(text), value, len) &&
			    num_parse_i64(text, 0, INT64_MAX, &v) == 0) {
				c->has_optime = true;
				c->optime_lsn = v;
			}
		}
		break;
	case DCS_CHANGE_HISTORY:
		c->has_history = true;
		c->history_mod_revision = mod_rev;
		c->history_oversized = !keep_text(c, suffix, c->history, sizeof(c->history),
						  DCS_HISTORY_MAX, value, len);
		if (!c->history_oversized) {
			cJSON *list = dcs_json_parse_value(value, len, DCS_HISTORY_MAX);
			if (!cJSON_IsArray(list))
				reject(c, suffix, "not one JSON list");
			cJSON_Delete(list);
		}
		break;
	case DCS_CHANGE_FAILSAFE:
		c->has_failsafe = true;
		c->failsafe_mod_revision = mod_rev;
		c->failsafe_oversized = !keep_text(c, suffix, c->failsafe, sizeof(c->failsafe),
						   DCS_FAILSAFE_DOC_MAX, value, len);
		parse_failsafe(value, len, c);
		break;
	case DCS_CHANGE_TERM: {
		int64_t v;
		char text[DCS_INT_TEXT_MAX];
		c->has_term = true;
		c->term_mod_revision = mod_rev;
		/* Plain digits only: no sign, no spaces. */
		if (dcs_copy_text(text, sizeof(text), value, len) &&
		    isdigit((unsigned char)text[0]) &&
		    num_parse_i64(text, 1, DCS_TERM_MAX, &v) == 0) {
			c->term_valid = true;
			c->term = v;
		}
		break;
	}
	case DCS_CHANGE_MEMBERS: {
		struct dcs_member *m;
		const char *name = suffix + strlen("members/");
		if (!member_name_valid(name)) {
			reject(c, suffix, "the member name is longer than 63 bytes or not text");
			break;
		}
		if (c->member_count >= DCS_MEMBERS_MAX) {
			c->members_dropped++;
			break;
		}
		m = &c->members[c->member_count];
		memset(m, 0, sizeof(*m));
		if (member_name_copy(m->name, name) != 0)
			break;
		m->create_revision = create_rev;
		m->mod_revision = mod_rev;
		m->lease = lease;
		dcs_codec_parse_member_doc(value, len, m);
		if (!m->doc_valid)
			reject(c, suffix,
			       m->doc_oversized ? "longer than the key's limit"
						: "not one JSON object");
		else if (m->api_url_refused)
			reject(c, suffix, "api_url is not an http:// or https:// URL");
		c->member_count++;
		break;
	}
	default:
		break;
	}
}

/* The parts of a struct dcs_cluster that are written only as far as they are used (issue 15),
 * in the order of their offsets: the members up to member_count, and the texts kept as stored
 * (config, sync_standby, status, history, failsafe) up to their terminators, so that a copy of
 * a view whose history is a few hundred bytes costs a page of it, not sixteen. Every other byte
 * is cleared and copied whole. The bytes past a text's terminator are left as they were: every
 * reader takes these fields as strings. */
#define CLUSTER_TEXT(f)                                                               \
	{                                                                             \
		offsetof(struct dcs_cluster, f), sizeof(((struct dcs_cluster *)0)->f) \
	}
static const struct {
	size_t at;   /* offset */
	size_t size; /* bytes */
} cluster_parts[] = {
	CLUSTER_TEXT(config), CLUSTER_TEXT(members), CLUSTER_TEXT(sync_standby),
	CLUSTER_TEXT(status), CLUSTER_TEXT(history), CLUSTER_TEXT(failsafe),
};
#define CLUSTER_MEMBERS_PART 1 /* cluster_parts[] index of the members; the others are texts */
_Static_assert(
	offsetof(struct dcs_cluster, config) < offsetof(struct dcs_cluster, members) &&
		offsetof(struct dcs_cluster, members) <
			offsetof(struct dcs_cluster, sync_standby) &&
		offsetof(struct dcs_cluster, sync_standby) < offsetof(struct dcs_cluster, status) &&
		offsetof(struct dcs_cluster, status) < offsetof(struct dcs_cluster, history) &&
		offsetof(struct dcs_cluster, history) < offsetof(struct dcs_cluster, failsafe),
	"cluster_parts is in the order of the offsets");

/* Clears dst (src NULL) or copies src into it, part by part as cluster_parts says. */
static void cluster_write(struct dcs_cluster *dst, const struct dcs_cluster *src)
{
	const size_t parts = sizeof(cluster_parts) / sizeof(cluster_parts[0]);
	char *d = (char *)dst;
	const char *s = (const char *)src;
	size_t at = 0;

	for (size_t i = 0; i <= parts; i++) {
		size_t end = i < parts ? cluster_parts[i].at : sizeof(*dst);
		size_t n;

		/* the bytes before the part (after the last one: up to the end) */
		if (s)
			memcpy(d + at, s + at, end - at);
		else
			memset(d + at, 0, end - at);
		if (i == parts)
			break;
		if (i == CLUSTER_MEMBERS_PART) {
			/* cleared: nothing (a member is cleared when it is stored) */
			n = !s || src->member_count < 0		  ? 0
			    : src->member_count > DCS_MEMBERS_MAX ? DCS_MEMBERS_MAX
								  : (size_t)src->member_count;
			if (n > 0)
				memcpy(dst->members, src->members, sizeof(src->members[0]) * n);
		} else {
			n = s ? strnlen(s + end, cluster_parts[i].size - 1) : 0;
			if (n > 0)
				memcpy(d + end, s + end, n);
			d[end + n] = '\0';
		}
		at = end + cluster_parts[i].size;
	}
}

void dcs_cluster_clear(struct dcs_cluster *c)
{
	cluster_write(c, NULL);
}

void dcs_cluster_copy(struct dcs_cluster *dst, const struct dcs_cluster *src)
{
	if (dst == src)
		return;
	cluster_write(dst, src);
}

const struct dcs_member *dcs_cluster_member(const struct dcs_cluster *c, const char *name)
{
	for (int i = 0; i < c->member_count && i < DCS_MEMBERS_MAX; i++)
		if (strcmp(c->members[i].name, name) == 0)
			return &c->members[i];
	return NULL;
}

/* ---- history, read ---------------------------------------------------------------------------- */

/* A whole number that fits a double exactly (cJSON's numbers are doubles). */
static bool exact_number(const cJSON *v, double max, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !num_is_whole(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > max)
		return false;
	*out = v->valuedouble;
	return true;
}

/* A text cell of a history row: a string that fits, or null / absent as "". */
static bool history_text(const cJSON *row, int i, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetArrayItem(row, i);

	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return true;
	return cJSON_IsString(v) && buf_copy(out, cap, v->valuestring) == 0;
}

int dcs_history_parse(const char *history, struct dcs_history_row *rows, int cap, int *count,
		      int *total, char *msg, size_t msglen)
{
	cJSON *list = NULL;
	const cJSON *row;
	int n = 0, all, skip, i = 0, rc = DCS_OK;

	if (history == NULL || history[0] == '\0') {
		*count = 0;
		*total = 0;
		return DCS_OK;
	}
	list = dcs_json_parse_value(history, strlen(history), DCS_HISTORY_MAX);
	if (!cJSON_IsArray(list)) {
		rc = err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
			      "history: not one JSON list within %d bytes", DCS_HISTORY_MAX);
		goto out_free;
	}
	all = cJSON_GetArraySize(list);
	skip = all > cap ? all - cap : 0;
	cJSON_ArrayForEach(row, list)
	{
		struct dcs_history_row r = { 0 };
		double tl, lsn;
		int fields = cJSON_GetArraySize(row);

		if (!cJSON_IsArray(row) || fields < 2 ||
		    !exact_number(cJSON_GetArrayItem(row, 0), DCS_JSON_INT_MAX, &tl) ||
		    !exact_number(cJSON_GetArrayItem(row, 1), DCS_JSON_INT_MAX, &lsn) ||
		    !history_text(row, 2, r.reason, sizeof(r.reason)) ||
		    !history_text(row, 3, r.timestamp, sizeof(r.timestamp)) ||
		    !history_text(row, 4, r.leader, sizeof(r.leader)) ||
		    (r.leader[0] != '\0' && !member_name_valid(r.leader))) {
			rc = err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				      "history: row %d is not [timeline, lsn, reason, timestamp, "
				      "leader]",
				      i + 1);
			goto out_free;
		}
		r.timeline = (int64_t)tl;
		r.lsn = (uint64_t)lsn;
		r.fields = fields > 5 ? 5 : fields;
		if (i++ >= skip)
			rows[n++] = r;
	}
	*count = n;
	*total = i;
out_free:
	cJSON_Delete(list);
	return rc;
}
