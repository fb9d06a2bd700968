/*
 * rest_actions.c - the unsafe endpoints' bodies (patroni-compat.md 1.6, 1.7): reading and
 * validating JSON requests (member names within MEMBER_NAME_LEN, scheduled timestamps strictly
 * ISO 8601 with a zone), the answers of Patroni's handlers, and the hand-over to the action
 * callbacks of struct rest_actions.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "name.h"
#include "num.h"
#include "rest.h"
#include "rest_internal.h"
#include "timefmt.h"

/* ---- request bodies ---- */

enum body_result {
	BODY_OK,
	BODY_MISSING_LENGTH, /* 411 */
	BODY_BAD,	     /* 400 */
};

/* Patroni's _read_json_content: returns the parsed object in *doc (caller frees) or {} for an
 * optional absent body. */
static enum body_result parse_body(const struct rest_request *req, bool optional, cJSON **doc)
{
	const char *end = NULL;
	int64_t len;
	cJSON *d;

	*doc = NULL;
	if (!req->content_length) {
		if (!optional)
			return BODY_MISSING_LENGTH;
		*doc = cJSON_CreateObject();
		return *doc ? BODY_OK : BODY_BAD;
	}
	if (num_parse_i64(req->content_length, 0, REST_BODY_MAX, &len) != 0)
		return BODY_BAD;
	if (len == 0 && optional) {
		*doc = cJSON_CreateObject();
		return *doc ? BODY_OK : BODY_BAD;
	}
	if (!req->body || req->body_len == 0)
		return BODY_BAD;
	d = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, false);
	if (!d)
		return BODY_BAD;
	/* One document: anything but whitespace after it is 400, as Patroni's json.loads. */
	while (end != NULL && end < req->body + req->body_len && strchr(" \t\r\n", *end) && *end)
		end++;
	if (end == NULL || end != req->body + req->body_len) {
		cJSON_Delete(d);
		return BODY_BAD;
	}
	if (!cJSON_IsObject(d) || (!optional && !d->child)) {
		cJSON_Delete(d);
		return BODY_BAD;
	}
	*doc = d;
	return BODY_OK;
}

/* parse_body, answering a body that cannot be used: returns true with *doc (caller frees), or
 * false with 411 (no Content-Length) or 400 (not a JSON object) answered into out and *rc set to
 * that answer's result. */
static bool read_json(const struct rest_request *req, bool optional, cJSON **doc,
		      struct rest_response *out, int *rc)
{
	enum body_result r = parse_body(req, optional, doc);

	if (r == BODY_OK)
		return true;
	*rc = rest_respond_error_page(out, r == BODY_MISSING_LENGTH ? 411 : 400);
	return false;
}

/* A string member; absent, null, "" -> empty. Non-strings are refused. */
static int json_string(const cJSON *doc, const char *key, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	out[0] = '\0';
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return -EINVAL;
	return buf_copy(out, cap, v->valuestring) == 0 ? 0 : -EINVAL;
}

/* A member name of the body (absent, null or "" -> empty), checked where it enters: never cut,
 * never longer than MEMBER_NAME_LEN. Returns 0; -EINVAL for a value that is not a string (the
 * caller answers with the HTML 400 page, as for any malformed body); or 400 with the reason in
 * msg (msgcap bytes). */
static int json_member_name(const cJSON *doc, const char *key, char out[static MEMBER_NAME_MAX],
			    char *msg, size_t msgcap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	int rc;

	out[0] = '\0';
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return -EINVAL;
	if (!v->valuestring[0])
		return 0;
	rc = member_name_copy(out, v->valuestring);
	if (rc == -ENAMETOOLONG)
		return err_fail(msg, msgcap, 400,
				"%s: a member name has at most %d bytes, this one has %zu", key,
				MEMBER_NAME_LEN, strlen(v->valuestring));
	if (rc != 0)
		return err_fail(msg, msgcap, 400, "%s: not a valid member name", key);
	return 0;
}

/* Patroni's parse_bool on a JSON value (bools, "true"/"yes"/"on"/"1", numbers). */
static bool json_bool(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
	bool b = false;

	if (!v)
		return false;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsString(v) && v->valuestring && num_parse_bool(v->valuestring, &b) == 0)
		return b;
	return false;
}

/* Patroni's parse_schedule: returns 0 when valid, else a status code with text in msg. */
static int parse_schedule(const cJSON *v, const char *action, int64_t now_wall_ms, int64_t *wall_ms,
			  char *norm, size_t cap, char *msg, size_t msgcap)
{
	enum time_parse_result r = TIME_UNPARSABLE;

	if (cJSON_IsString(v) && v->valuestring)
		r = time_parse_iso(v->valuestring, wall_ms, norm, cap);
	if (r == TIME_NO_ZONE) {
		err_set(msg, msgcap, "Timezone information is mandatory for the scheduled %s",
			action);
		return 400;
	}
	if (r == TIME_UNPARSABLE) {
		buf_copy_or_clear(
			msg, msgcap,
			"Unable to parse scheduled timestamp. It should be in an unambiguous "
			"format, e.g. ISO 8601");
		return 422;
	}
	if (*wall_ms < now_wall_ms) {
		err_set(msg, msgcap, "Cannot schedule %s in the past", action);
		return 422;
	}
	return 0;
}

/* Answers from an action callback's result. */
int rest_respond_action(struct rest_response *out, int rc, const struct rest_action_result *r)
{
	int ret;

	if (rc < 0 || r->status < 100 || r->status > 599)
		return rest_respond_error_page(out, 503);
	if (r->html_error)
		return rest_respond_error_page(out, r->status);
	ret = rest_respond_text(out, r->status, r->text);
	if (ret == 0 && r->lsn[0])
		buf_copy_or_clear(out->lsn_header, sizeof(out->lsn_header), r->lsn);
	return ret;
}

int rest_respond_unavailable(struct rest_response *out, const char *what)
{
	char text[REST_ACTION_TEXT_MAX];

	err_set(text, sizeof(text), "%s is not available", what);
	return rest_respond_text(out, 503, text);
}

int rest_do_switchover(const struct rest_request *req, const struct rest_snapshot *s,
		       const struct rest_actions *act, bool failover, struct rest_response *out)
{
	cJSON *doc;
	struct rest_switchover_request r;
	struct rest_action_result res;
	const char *action = failover ? "failover" : "switchover";
	char msg[REST_ACTION_TEXT_MAX] = "";
	int code = 0, rc;
	const cJSON *sched;

	if (!read_json(req, false, &doc, out, &rc))
		return rc;
	memset(&r, 0, sizeof(r));
	code = json_member_name(doc, "leader", r.leader, msg, sizeof(msg));
	if (code == 0)
		code = json_member_name(doc, "candidate", r.candidate, msg, sizeof(msg));
	if (code == 0 && !r.candidate[0])
		code = json_member_name(doc, "member", r.candidate, msg, sizeof(msg));
	if (code != 0) {
		cJSON_Delete(doc);
		return code < 0 ? rest_respond_error_page(out, 400)
				: rest_respond_text(out, code, msg);
	}
	sched = cJSON_GetObjectItemCaseSensitive(doc, "scheduled_at");
	if (sched && (cJSON_IsNull(sched) || (cJSON_IsString(sched) && !sched->valuestring[0])))
		sched = NULL;
	if (failover && !r.candidate[0]) {
		code = 400;
		buf_copy_or_clear(msg, sizeof(msg),
				  "Failover could be performed only to a specific candidate");
	} else if (!failover && !r.leader[0]) {
		code = 400;
		buf_copy_or_clear(msg, sizeof(msg),
				  "Switchover could be performed only from a specific leader");
	}
	if (!code && sched) {
		if (failover) {
			code = 400;
			buf_copy_or_clear(msg, sizeof(msg), "Failover can't be scheduled");
		} else if (s && s->paused) {
			code = 400;
			buf_copy_or_clear(msg, sizeof(msg),
					  "Can't schedule switchover in the paused state");
		} else {
			code = parse_schedule(sched, action, req->now_wall_ms,
					      &r.scheduled_at_wall_ms, r.scheduled_at,
					      sizeof(r.scheduled_at), msg, sizeof(msg));
			r.scheduled = code == 0;
		}
	}
	if (!code && s && s->paused && !r.candidate[0]) {
		code = 400;
		buf_copy_or_clear(
			msg, sizeof(msg),
			"Switchover is possible only to a specific candidate in a paused state");
	}
	if (failover && r.leader[0])
		failover = false;
	if (!code && strcmp(r.leader, r.candidate) == 0) {
		code = 400;
		buf_copy_or_clear(msg, sizeof(msg), "Switchover target and source are the same");
	}
	cJSON_Delete(doc);
	if (code)
		return rest_respond_text(out, code, msg);
	r.failover = failover;
	if (!act->switchover)
		return rest_respond_unavailable(out, failover ? "failover" : "switchover");
	memset(&res, 0, sizeof(res));
	rc = act->switchover(act->ctx, &r, &res);
	return rest_respond_action(out, rc, &res);
}

/* Patroni's postgres_version_to_int: "X.Y" (X >= 10) or "X.Y.Z". */
static int parse_pg_version(const char *v, int *out, char *msg, size_t cap)
{
	int parts[4];
	int n = 0;
	const char *p = v;

	while (n < 4) {
		char num[16];
		size_t len = strcspn(p, ".");

		if (len == 0 || len >= sizeof(num))
			goto invalid;
		memcpy(num, p, len);
		num[len] = '\0';
		if (num_parse_int(num, 0, 99, &parts[n]) != 0)
			goto invalid;
		n++;
		p += len;
		if (*p != '.')
			break;
		p++;
	}
	if (*p != '\0' || n < 2 || n > 3 || (n == 2 && parts[0] < 10)) {
		err_set(msg, cap, "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: %s",
			v);
		return -EINVAL;
	}
	if (n == 2)
		*out = parts[0] * 10000 + parts[1];
	else
		*out = parts[0] * 10000 + parts[1] * 100 + parts[2];
	return 0;
invalid:
	err_set(msg, cap, "Invalid PostgreSQL version: %s", v);
	return -EINVAL;
}

int rest_do_restart(const struct rest_request *req, const struct rest_snapshot *s,
		    const struct rest_actions *act, struct rest_response *out)
{
	cJSON *doc;
	const cJSON *k;
	struct rest_restart_request r;
	struct rest_action_result res;
	char msg[REST_ACTION_TEXT_MAX] = "";
	int code = 0, rc;

	if (!read_json(req, true, &doc, out, &rc))
		return rc;
	memset(&r, 0, sizeof(r));
	if (s && s->paused && cJSON_GetObjectItemCaseSensitive(doc, "schedule")) {
		cJSON_Delete(doc);
		return rest_respond_text(out, 500, "Can't schedule restart in the paused state");
	}
	cJSON_ArrayForEach(k, doc)
	{
		const char *key = k->string ? k->string : "";

		if (strcmp(key, "schedule") == 0) {
			code = parse_schedule(k, "restart", req->now_wall_ms, &r.schedule_wall_ms,
					      r.schedule, sizeof(r.schedule), msg, sizeof(msg));
			r.scheduled = code == 0;
		} else if (strcmp(key, "role") == 0) {
			enum rest_role role;

			if (!cJSON_IsString(k) || rest_role_parse(k->valuestring, &role) != 0 ||
			    !(role == REST_ROLE_PRIMARY || role == REST_ROLE_STANDBY_LEADER ||
			      role == REST_ROLE_REPLICA)) {
				code = 400;
				buf_copy_or_clear(msg, sizeof(msg),
						  "PostgreSQL role should be either primary, "
						  "standby_leader, or replica");
			} else {
				r.role = role;
				r.has_role = true;
			}
		} else if (strcmp(key, "postgres_version") == 0) {
			char v[REST_SHORT_MAX];

			if (cJSON_IsNumber(k)) {
				char tmp[SCRATCH_MAX];
				struct out o = { .err = 0 };

				buf_init_fixed(&o.b, tmp, sizeof(tmp));
				rest_o_double(&o, k->valuedouble);
				buf_copy_or_clear(v, sizeof(v), o.err ? "?" : tmp);
			} else if (!cJSON_IsString(k) ||
				   buf_copy(v, sizeof(v), k->valuestring) != 0) {
				buf_copy_or_clear(v, sizeof(v), "?");
			}
			if (parse_pg_version(v, &r.postgres_version, msg, sizeof(msg)) != 0)
				code = 400;
		} else if (strcmp(key, "timeout") == 0) {
			int64_t ms = 0;
			bool ok = false;

			if (cJSON_IsNumber(k) && k->valuedouble >= 1 && k->valuedouble < 1e9) {
				ms = (int64_t)k->valuedouble * 1000;
				ok = true;
			} else if (cJSON_IsString(k) &&
				   num_parse_duration_ms(k->valuestring, 1000, 1000000000000LL,
							 &ms) == 0) {
				ok = true;
			}
			if (!ok) {
				code = 400;
				buf_copy_or_clear(msg, sizeof(msg),
						  "Timeout should be a positive number of seconds");
			} else {
				r.timeout_s = (int)(ms / 1000);
			}
		} else if (strcmp(key, "restart_pending") == 0) {
			r.restart_pending = true;
		} else {
			code = 400;
			err_set(msg, sizeof(msg),
				"Unknown filter for the scheduled restart: %.200s", key);
		}
		if (code)
			break;
	}
	cJSON_Delete(doc);
	if (code)
		return rest_respond_text(out, code, msg);
	if (!act->restart)
		return rest_respond_unavailable(out, "restart");
	memset(&res, 0, sizeof(res));
	rc = act->restart(act->ctx, &r, &res);
	return rest_respond_action(out, rc, &res);
}

int rest_do_reinitialize(const struct rest_request *req, const struct rest_actions *act,
			 struct rest_response *out)
{
	cJSON *doc;
	struct rest_reinit_request r;
	struct rest_action_result res;
	int rc;

	if (!read_json(req, true, &doc, out, &rc))
		return rc;
	r.force = json_bool(doc, "force");
	r.from_leader = json_bool(doc, "from_leader");
	cJSON_Delete(doc);
	if (!act->reinitialize)
		return rest_respond_unavailable(out, "reinitialize");
	memset(&res, 0, sizeof(res));
	rc = act->reinitialize(act->ctx, &r, &res);
	return rest_respond_action(out, rc, &res);
}

int rest_do_failsafe(const struct rest_request *req, const struct rest_snapshot *s,
		     const struct rest_actions *act, struct rest_response *out)
{
	cJSON *doc;
	const cJSON *slots, *it;
	struct rest_failsafe_request *r;
	struct rest_action_result res;
	char msg[REST_ACTION_TEXT_MAX] = "";
	int rc;

	if (!s || !s->failsafe_mode_enabled)
		return rest_respond_error_page(out, 502);
	if (!read_json(req, false, &doc, out, &rc))
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	rc = json_member_name(doc, "name", r->name, msg, sizeof(msg));
	if (rc > 0) {
		cJSON_Delete(doc);
		free(r);
		return rest_respond_text(out, rc, msg);
	}
	if (rc != 0 || json_string(doc, "conn_url", r->conn_url, sizeof(r->conn_url)) != 0 ||
	    json_string(doc, "api_url", r->api_url, sizeof(r->api_url)) != 0)
		goto bad;
	slots = cJSON_GetObjectItemCaseSensitive(doc, "slots");
	if (slots && !cJSON_IsNull(slots)) {
		if (!cJSON_IsObject(slots))
			goto bad;
		cJSON_ArrayForEach(it, slots)
		{
			if (r->slot_count >= REST_SLOTS_MAX || !cJSON_IsNumber(it) ||
			    it->valuedouble < 0 || it->valuedouble >= 1.8e19 ||
			    buf_copy(r->slot_names[r->slot_count], REST_IDENT_MAX,
				     it->string ? it->string : "") != 0)
				goto bad;
			r->slot_lsn_bytes[r->slot_count] = (uint64_t)it->valuedouble;
			r->slot_count++;
		}
	}
	cJSON_Delete(doc);
	if (!act->failsafe) {
		free(r);
		return rest_respond_unavailable(out, "failsafe");
	}
	memset(&res, 0, sizeof(res));
	rc = act->failsafe(act->ctx, r, &res);
	free(r);
	return rest_respond_action(out, rc, &res);
bad:
	cJSON_Delete(doc);
	free(r);
	return rest_respond_error_page(out, 400);
}

int rest_respond_json_doc(struct rest_response *out, int status, const cJSON *doc)
{
	struct out o = { .err = 0 };

	buf_init(&o.b, REST_RESPONSE_MAX);
	rest_o_cjson(&o, doc);
	return rest_finish(&o, out, status, "application/json", false);
}

/* Server parameters that take a whole number, with PostgreSQL's range (Patroni's validator):
 * the ones a node passes on the command line, where a bad value stops the server from starting. */
static const struct {
	const char *name;
	int min, max;
} int_params[] = {
	{ "max_connections", 1, 262143 },	    { "max_locks_per_transaction", 10, INT32_MAX },
	{ "max_prepared_transactions", 0, 262143 }, { "max_replication_slots", 0, 262143 },
	{ "max_wal_senders", 0, 262143 },	    { "max_worker_processes", 0, 262143 },
	{ "wal_keep_segments", 0, INT32_MAX },
};

/* Checks one postgresql.parameters entry of a configuration body. Returns 0, or 400 with the
 * reason in msg. null deletes the entry (PATCH) and is fine. */
static int check_parameter(const cJSON *v, char *msg, size_t msgcap)
{
	const char *name = v->string ? v->string : "";
	char text[64];
	const char *value;
	int n;

	if (!name[0] || strlen(name) >= REST_IDENT_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") !=
		    strlen(name))
		return err_fail(msg, msgcap, 400,
				"postgresql.parameters: \"%.*s\" is not a parameter name", 64,
				name);
	if (cJSON_IsNull(v))
		return 0;
	if (cJSON_IsString(v) && v->valuestring) {
		value = v->valuestring;
		for (const char *c = value; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return err_fail(
					msg, msgcap, 400,
					"postgresql.parameters: the value of \"%s\" holds a "
					"control character",
					name);
	} else if (cJSON_IsNumber(v)) {
		if (buf_format(text, sizeof(text), "%.17g", v->valuedouble) != 0)
			return err_fail(msg, msgcap, 400, "postgresql.parameters: bad number");
		value = text;
	} else if (cJSON_IsBool(v)) {
		value = cJSON_IsTrue(v) ? "on" : "off";
	} else {
		return err_fail(
			msg, msgcap, 400,
			"postgresql.parameters: the value of \"%s\" is not a string, number "
			"or boolean",
			name);
	}
	for (size_t i = 0; i < sizeof(int_params) / sizeof(int_params[0]); i++)
		if (strcasecmp(name, int_params[i].name) == 0 &&
		    num_parse_int(value, int_params[i].min, int_params[i].max, &n) != 0)
			return err_fail(msg, msgcap, 400,
					"postgresql.parameters: \"%s\" must be a whole number "
					"from %d to %d, not \"%.*s\"",
					name, int_params[i].min, int_params[i].max, 64, value);
	return 0;
}

/* Checks the postgresql.parameters of a PATCH or PUT /config body before anything is stored: a
 * bad entry stored in etcd reaches every node. Returns 0, or 400 with the reason in msg. */
static int check_config_body(const cJSON *doc, char *msg, size_t msgcap)
{
	const cJSON *pg = cJSON_GetObjectItemCaseSensitive(doc, "postgresql");
	const cJSON *params = pg ? cJSON_GetObjectItemCaseSensitive(pg, "parameters") : NULL;
	const cJSON *v;
	int rc;

	if (!params || cJSON_IsNull(params))
		return 0;
	if (!cJSON_IsObject(params))
		return err_fail(msg, msgcap, 400, "postgresql.parameters must be an object");
	cJSON_ArrayForEach(v, params)
	{
		rc = check_parameter(v, msg, msgcap);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int rest_do_config_write(const struct rest_request *req, const struct rest_actions *act, bool patch,
			 struct rest_response *out)
{
	cJSON *doc, *merged;
	char *compact;
	char *merged_text;
	struct rest_action_result res;
	int rc;

	if (!read_json(req, false, &doc, out, &rc))
		return rc;
	rc = check_config_body(doc, res.text, sizeof(res.text));
	if (rc != 0) {
		cJSON_Delete(doc);
		return rest_respond_text(out, 400, res.text);
	}
	if ((patch && !act->config_patch) || (!patch && !act->config_put)) {
		cJSON_Delete(doc);
		return rest_respond_unavailable(out, "config");
	}
	compact = cJSON_PrintUnformatted(doc);
	if (!compact) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	memset(&res, 0, sizeof(res));
	if (!patch) {
		rc = act->config_put(act->ctx, compact, &res);
		free(compact);
		if (rc == 0 && res.status == 200 && !res.html_error)
			rc = rest_respond_json_doc(out, 200, doc);
		else
			rc = rest_respond_action(out, rc, &res);
		cJSON_Delete(doc);
		return rc;
	}
	cJSON_Delete(doc);
	merged_text = calloc(1, REST_CONFIG_MAX);
	if (!merged_text) {
		free(compact);
		return -ENOMEM;
	}
	rc = act->config_patch(act->ctx, compact, merged_text, REST_CONFIG_MAX, &res);
	free(compact);
	if (rc == 0 && res.status == 200 && !res.html_error) {
		merged = cJSON_ParseWithLength(merged_text, strnlen(merged_text, REST_CONFIG_MAX));
		if (merged) {
			rc = rest_respond_json_doc(out, 200, merged);
			cJSON_Delete(merged);
		} else {
			rc = rest_respond_error_page(out, 503);
		}
	} else {
		rc = rest_respond_action(out, rc, &res);
	}
	free(merged_text);
	return rc;
}
