/*
 * dcs_docs.c - the values of Patroni's keys under /<namespace>/<scope>/ (patroni-compat.md 2):
 * reading each key into the cluster view, and building every document gsha writes. All JSON
 * goes through cJSON: never printf. Each key's value is bounded by its own size limit (dcs.h)
 * and must be exactly one JSON value: trailing garbage is rejected.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dcs_codec.h"
#include "dcs_json.h"
#include "err.h"
#include "name.h"
#include "num.h"

/* A member's legacy "postgres://...?application_name=<api_url>" form. */
#define DCS_LEGACY_APP_PARAM "application_name="

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
}

void dcs_codec_parse_member_doc(const char *value, size_t len, struct dcs_member *m)
{
	cJSON *root = NULL;
	const cJSON *tags;

	m->doc_valid = false;
	m->doc_oversized = !dcs_copy_text(m->doc, sizeof(m->doc), value, len);
	if (m->doc_oversized)
		m->doc[0] = '\0';
	if (memchr(value, '\0', len) != NULL)
		return;
	if (strncmp(value, "postgres", 8) == 0) {
		parse_legacy_member(value, m);
		m->doc_valid = true;
		return;
	}
	root = cJSON_ParseWithLength(value, len);
	if (!cJSON_IsObject(root))
		goto out_free_root;
	m->doc_valid = true;
	dcs_json_text(root, "role", m->role, sizeof(m->role));
	m->is_primary = strcmp(m->role, "primary") == 0 || strcmp(m->role, "master") == 0;
	dcs_json_text(root, "state", m->state, sizeof(m->state));
	dcs_json_text(root, "api_url", m->api_url, sizeof(m->api_url));
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
		if (cJSON_GetObjectItemCaseSensitive(tags, "failover_priority")) {
			int64_t v;
			if (dcs_json_i64(tags, "failover_priority", INT32_MIN, INT32_MAX, &v)) {
				m->has_failover_priority = true;
				m->failover_priority = v;
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
	cJSON *root = cJSON_ParseWithLength(value, len);
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

static void parse_sync(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = cJSON_ParseWithLength(value, len);

	if (!cJSON_IsObject(root))
		goto out_free_root;
	c->sync_valid = true;
	dcs_json_text(root, "leader", c->sync_leader, sizeof(c->sync_leader));
	dcs_json_text(root, "sync_standby", c->sync_standby, sizeof(c->sync_standby));
	dcs_json_count(root, "quorum", &c->has_sync_quorum, &c->sync_quorum);
out_free_root:
	cJSON_Delete(root);
}

static void parse_failover(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = cJSON_ParseWithLength(value, len);
	const char *colon;

	if (cJSON_IsObject(root)) {
		c->failover_valid = true;
		dcs_json_text(root, "leader", c->failover_leader, sizeof(c->failover_leader));
		dcs_json_text(root, "member", c->failover_member, sizeof(c->failover_member));
		dcs_json_text(root, "scheduled_at", c->failover_scheduled_at,
			      sizeof(c->failover_scheduled_at));
	} else if (root == NULL && memchr(value, '\0', len) == NULL &&
		   (colon = strchr(value, ':')) != NULL) {
		/* Legacy "leader:candidate". */
		size_t n = (size_t)(colon - value);
		if (n < sizeof(c->failover_leader) &&
		    buf_copy(c->failover_member, sizeof(c->failover_member), colon + 1) == 0) {
			memcpy(c->failover_leader, value, n);
			c->failover_leader[n] = '\0';
			c->failover_valid = true;
		}
	}
	cJSON_Delete(root);
}

static void parse_status(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = cJSON_ParseWithLength(value, len);

	if (cJSON_IsObject(root))
		dcs_json_count(root, "optime", &c->has_optime, &c->optime_lsn);
	cJSON_Delete(root);
}

/* Stores one key of the prefix into the view (see dcs_codec.h). */
void dcs_docs_store_kv(struct dcs_cluster *c, const char *suffix, const char *value, size_t len,
		       int64_t create_rev, int64_t mod_rev, uint64_t lease)
{
	unsigned kind = dcs_key_kind(suffix);

	switch (kind) {
	case DCS_CHANGE_LEADER:
		c->has_leader = true;
		c->leader_oversized = !dcs_copy_text(c->leader, sizeof(c->leader), value, len);
		if (c->leader_oversized)
			c->leader[0] = '\0';
		c->leader_create_revision = create_rev;
		c->leader_mod_revision = mod_rev;
		c->leader_lease = lease;
		break;
	case DCS_CHANGE_INITIALIZE:
		c->has_initialize = true;
		if (!dcs_copy_text(c->initialize, sizeof(c->initialize), value, len))
			c->initialize[0] = '\0';
		c->initialize_mod_revision = mod_rev;
		break;
	case DCS_CHANGE_CONFIG:
		c->has_config = true;
		c->config_mod_revision = mod_rev;
		c->config_oversized = !dcs_copy_text(c->config, sizeof(c->config), value, len);
		if (c->config_oversized)
			c->config[0] = '\0';
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
			c->status_oversized =
				!dcs_copy_text(c->status, sizeof(c->status), value, len);
			if (c->status_oversized)
				c->status[0] = '\0';
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
		c->history_oversized = !dcs_copy_text(c->history, sizeof(c->history), value, len);
		if (c->history_oversized)
			c->history[0] = '\0';
		break;
	case DCS_CHANGE_FAILSAFE:
		c->has_failsafe = true;
		c->failsafe_mod_revision = mod_rev;
		c->failsafe_oversized =
			!dcs_copy_text(c->failsafe, sizeof(c->failsafe), value, len);
		if (c->failsafe_oversized)
			c->failsafe[0] = '\0';
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
		if (c->member_count >= DCS_MEMBERS_MAX || strlen(name) >= DCS_NAME_MAX) {
			c->members_dropped++;
			break;
		}
		m = &c->members[c->member_count];
		memset(m, 0, sizeof(*m));
		buf_copy_or_clear(m->name, sizeof(m->name), name);
		m->create_revision = create_rev;
		m->mod_revision = mod_rev;
		m->lease = lease;
		dcs_codec_parse_member_doc(value, len, m);
		c->member_count++;
		break;
	}
	default:
		break;
	}
}

bool dcs_codec_json_ok(const char *json, bool object)
{
	size_t n = strlen(json);
	cJSON *root;
	bool ok;

	if (n == 0 || n > DCS_VALUE_MAX)
		return false;
	root = cJSON_ParseWithLength(json, n);
	ok = root != NULL && (!object || cJSON_IsObject(root));
	cJSON_Delete(root);
	return ok;
}

const struct dcs_member *dcs_cluster_member(const struct dcs_cluster *c, const char *name)
{
	for (int i = 0; i < c->member_count && i < DCS_MEMBERS_MAX; i++)
		if (strcmp(c->members[i].name, name) == 0)
			return &c->members[i];
	return NULL;
}

static bool add_text(cJSON *o, const char *name, const char *v)
{
	return v[0] == '\0' || cJSON_AddStringToObject(o, name, v) != NULL;
}

static bool add_number(cJSON *o, const char *name, bool has, int64_t v)
{
	/* Patroni writes LSNs and timelines as JSON numbers; they stay exact below 2^53. */
	return !has || cJSON_AddNumberToObject(o, name, (double)v) != NULL;
}

int dcs_codec_member_doc(const struct dcs_member *m, bool legacy_master_role, char *out, size_t cap)
{
	cJSON *o = cJSON_CreateObject();
	const char *role = m->role;
	char *text = NULL;
	int rc = DCS_ERR_INVALID_ARGUMENT;
	bool ok;

	if (legacy_master_role && strcmp(role, "primary") == 0)
		role = "master";
	else if (!legacy_master_role && strcmp(role, "master") == 0)
		role = "primary";
	ok = o && add_text(o, "conn_url", m->conn_url) && add_text(o, "api_url", m->api_url) &&
	     add_text(o, "state", m->state) && add_text(o, "role", role) &&
	     add_text(o, "version", m->version);
	if (ok && m->tags[0]) {
		cJSON *tags = cJSON_Parse(m->tags);
		ok = cJSON_IsObject(tags) && cJSON_AddItemToObject(o, "tags", tags);
		if (!ok)
			cJSON_Delete(tags);
	}
	ok = ok && add_number(o, "xlog_location", m->has_xlog_location, m->xlog_location_lsn) &&
	     add_number(o, "replay_lsn", m->has_replay_lsn, m->replay_lsn) &&
	     add_number(o, "receive_lsn", m->has_receive_lsn, m->receive_lsn) &&
	     add_text(o, "replication_state", m->replication_state) &&
	     add_number(o, "timeline", m->timeline > 0, m->timeline);
	if (ok && m->pause)
		ok = cJSON_AddTrueToObject(o, "pause") != NULL;
	if (ok && m->pending_restart)
		ok = cJSON_AddTrueToObject(o, "pending_restart") != NULL;
	if (ok && m->has_checkpoint_after_promote)
		ok = cJSON_AddBoolToObject(o, "checkpoint_after_promote",
					   m->checkpoint_after_promote) != NULL;
	if (!ok)
		goto out_free_o;
	text = cJSON_PrintUnformatted(o);
	if (text == NULL) {
		rc = DCS_ERR_NO_MEMORY;
		goto out_free_o;
	}
	if (buf_copy(out, cap, text) == 0)
		rc = DCS_OK;
	free(text);
out_free_o:
	cJSON_Delete(o);
	return rc;
}
