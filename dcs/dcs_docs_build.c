/*
 * dcs_docs_build.c - the documents gsha writes into Patroni's keys (dcs.h, "Documents"): typed
 * values in, compact JSON out. Everything goes through cJSON, so any text (a quote in a tag value,
 * a backslash in a URL) is escaped, never pasted into JSON. Also the check every value passes
 * before it is written: it must read back through dcs_docs.c without being refused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "dcs_codec.h"
#include "dcs_json.h"
#include "err.h"
#include "name.h"
#include "num.h"
#include "timefmt.h"

/* An exact decimal integer: cJSON keeps numbers as doubles, which lose LSNs above 2^53. */
static cJSON *exact_u64(uint64_t v)
{
	char text[DCS_INT_TEXT_MAX];

	if (buf_format(text, sizeof(text), "%" PRIu64, v) != 0)
		return NULL;
	return cJSON_CreateRaw(text);
}

static cJSON *exact_i64(int64_t v)
{
	char text[DCS_INT_TEXT_MAX];

	if (buf_format(text, sizeof(text), "%" PRId64, v) != 0)
		return NULL;
	return cJSON_CreateRaw(text);
}

static bool add_item(cJSON *o, const char *name, cJSON *item)
{
	if (item == NULL || !cJSON_AddItemToObject(o, name, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Adds name: v unless v is empty. */
static bool add_text(cJSON *o, const char *name, const char *v)
{
	return v[0] == '\0' || cJSON_AddStringToObject(o, name, v) != NULL;
}

static bool add_lsn(cJSON *o, const char *name, bool has, uint64_t v)
{
	return !has || add_item(o, name, exact_u64(v));
}

/* Prints doc (freed here) into out when it fits both the key's limit and cap. ok false means a
 * cJSON allocation failed while building it. */
static int emit(cJSON *doc, bool ok, const char *key, size_t limit, char *out, size_t cap,
		char *msg, size_t msglen)
{
	char *text = ok && doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
	size_t n;
	int rc = DCS_OK;

	cJSON_Delete(doc);
	if (text == NULL)
		return err_fail(msg, msglen, DCS_ERR_NO_MEMORY,
				"out of memory building the %s document", key);
	n = strlen(text);
	if (n > limit || n >= cap)
		rc = err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
			      "the %s document would be %zu bytes, over its limit of %zu", key, n,
			      limit < cap ? limit : cap - 1);
	else
		memcpy(out, text, n + 1);
	free(text);
	return rc;
}

/* Refuses a member name that is not 1 to MEMBER_NAME_LEN bytes of text. */
static int check_name(const char *key, const char *field, const char *name, char *msg,
		      size_t msglen)
{
	if (member_name_valid(name))
		return DCS_OK;
	return err_fail(
		msg, msglen, DCS_ERR_INVALID_ARGUMENT,
		"%s: \"%s\" must be a member name of 1 to %d bytes of text, not \"%.40s%s\"", key,
		field, MEMBER_NAME_LEN, name, strlen(name) > 40 ? "..." : "");
}

/* ---- tags ------------------------------------------------------------------------------------ */

int dcs_tags_add(struct dcs_tags *t, const char *name, enum dcs_tag_kind kind, const char *value)
{
	struct dcs_tag *tag;

	if (t->count < 0 || t->count >= DCS_TAGS_COUNT_MAX || name[0] == '\0')
		return DCS_ERR_INVALID_ARGUMENT;
	tag = &t->items[t->count];
	if (buf_copy(tag->name, sizeof(tag->name), name) != 0 ||
	    buf_copy(tag->value, sizeof(tag->value), value != NULL ? value : "") != 0)
		return DCS_ERR_INVALID_ARGUMENT;
	tag->kind = kind;
	t->count++;
	return DCS_OK;
}

/* A tag's value as its JSON type; text that is not of the kind stays a string. */
static cJSON *tag_value(const struct dcs_tag *t)
{
	bool b;

	switch (t->kind) {
	case DCS_TAG_NULL:
		return cJSON_CreateNull();
	case DCS_TAG_BOOL:
		if (num_parse_bool(t->value, &b) == 0)
			return cJSON_CreateBool(b);
		break;
	case DCS_TAG_NUMBER: {
		/* Kept as written (exact), when it is one JSON number and nothing else. */
		cJSON *n = dcs_json_parse_value(t->value, strlen(t->value), DCS_TAG_VALUE_MAX);
		bool number = cJSON_IsNumber(n) && strpbrk(t->value, " \t\r\n") == NULL;

		cJSON_Delete(n);
		if (number)
			return cJSON_CreateRaw(t->value);
		break;
	}
	case DCS_TAG_STRING:
		break;
	}
	return cJSON_CreateString(t->value);
}

/* The tags object; a name given twice keeps its first value. */
static cJSON *tags_object(const struct dcs_tags *t)
{
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; o != NULL && i < t->count && i < DCS_TAGS_COUNT_MAX; i++) {
		const struct dcs_tag *tag = &t->items[i];

		if (cJSON_GetObjectItemCaseSensitive(o, tag->name) != NULL)
			continue;
		if (!add_item(o, tag->name, tag_value(tag))) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* ---- documents ------------------------------------------------------------------------------- */

int dcs_doc_member(const struct dcs_member_doc *m, bool legacy_master_role, char *out, size_t cap,
		   char *msg, size_t msglen)
{
	cJSON *o = cJSON_CreateObject();
	const char *role = m->role;
	bool ok;

	if (legacy_master_role && strcmp(role, "primary") == 0)
		role = "master";
	else if (!legacy_master_role && strcmp(role, "master") == 0)
		role = "primary";
	ok = o && add_text(o, "conn_url", m->conn_url) && add_text(o, "api_url", m->api_url) &&
	     add_text(o, "state", m->state) && add_text(o, "role", role) &&
	     add_text(o, "version", m->version);
	if (ok && m->tags.count > 0)
		ok = add_item(o, "tags", tags_object(&m->tags));
	ok = ok && add_lsn(o, "xlog_location", m->has_xlog_location, m->xlog_location_lsn) &&
	     add_lsn(o, "replay_lsn", m->has_replay_lsn, m->replay_lsn) &&
	     add_lsn(o, "receive_lsn", m->has_receive_lsn, m->receive_lsn) &&
	     add_text(o, "replication_state", m->replication_state) &&
	     (m->timeline <= 0 || add_item(o, "timeline", exact_i64(m->timeline)));
	if (ok && m->pause)
		ok = cJSON_AddTrueToObject(o, "pause") != NULL;
	if (ok && m->pending_restart)
		ok = cJSON_AddTrueToObject(o, "pending_restart") != NULL;
	if (ok && m->has_checkpoint_after_promote)
		ok = cJSON_AddBoolToObject(o, "checkpoint_after_promote",
					   m->checkpoint_after_promote) != NULL;
	return emit(o, ok, "member", DCS_MEMBER_DOC_MAX, out, cap, msg, msglen);
}

int dcs_doc_sync(const struct dcs_sync_doc *d, char *out, size_t cap, char *msg, size_t msglen)
{
	char joined[DCS_SYNC_DOC_MAX + 1] = "";
	cJSON *o;
	size_t n = 0;
	bool ok;
	int rc = check_name("sync", "leader", d->leader, msg, msglen);

	if (rc != DCS_OK)
		return rc;
	if (d->standby_count < 0 || d->standby_count > DCS_MEMBERS_MAX)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"sync: %d standbys, at most %d", d->standby_count, DCS_MEMBERS_MAX);
	for (int i = 0; i < d->standby_count; i++) {
		size_t len = strlen(d->standbys[i]);

		rc = check_name("sync", "sync_standby", d->standbys[i], msg, msglen);
		if (rc != DCS_OK)
			return rc;
		if (strchr(d->standbys[i], ',') != NULL)
			return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
					"sync: the standby name \"%s\" has a comma, which "
					"sync_standby uses between names",
					d->standbys[i]);
		if (i > 0)
			joined[n++] = ',';
		memcpy(joined + n, d->standbys[i], len + 1); /* 32 x 64 bytes fit */
		n += len;
	}
	o = cJSON_CreateObject();
	ok = o && cJSON_AddStringToObject(o, "leader", d->leader) &&
	     add_item(o, "quorum", exact_i64(d->quorum)) &&
	     (d->standby_count == 0 ? cJSON_AddNullToObject(o, "sync_standby") != NULL
				    : cJSON_AddStringToObject(o, "sync_standby", joined) != NULL);
	return emit(o, ok, "sync", DCS_SYNC_DOC_MAX, out, cap, msg, msglen);
}

int dcs_doc_failover(const struct dcs_failover_doc *d, char *out, size_t cap, char *msg,
		     size_t msglen)
{
	int64_t at;
	cJSON *o;
	bool ok;

	if (d->leader[0] != '\0' && check_name("failover", "leader", d->leader, msg, msglen) != 0)
		return DCS_ERR_INVALID_ARGUMENT;
	if (d->member[0] != '\0' && check_name("failover", "member", d->member, msg, msglen) != 0)
		return DCS_ERR_INVALID_ARGUMENT;
	if (d->scheduled_at[0] != '\0' && time_parse_iso(d->scheduled_at, &at, NULL, 0) != TIME_OK)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"failover: \"scheduled_at\" \"%s\" is not an ISO 8601 time with a "
				"zone",
				d->scheduled_at);
	o = cJSON_CreateObject();
	ok = o && add_text(o, "leader", d->leader) && add_text(o, "member", d->member) &&
	     add_text(o, "scheduled_at", d->scheduled_at);
	return emit(o, ok, "failover", DCS_FAILOVER_DOC_MAX, out, cap, msg, msglen);
}

int dcs_doc_status(uint64_t optime_lsn, char *out, size_t cap, char *msg, size_t msglen)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_item(o, "optime", exact_u64(optime_lsn));

	return emit(o, ok, "status", DCS_STATUS_DOC_MAX, out, cap, msg, msglen);
}

int dcs_doc_status_slots(const struct dcs_status_doc *st, char *out, size_t cap, char *msg,
			 size_t msglen)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_item(o, "optime", exact_u64(st->optime_lsn));

	if (st->slot_count > DCS_STATUS_SLOTS_MAX || st->retain_count < 0 ||
	    st->retain_count > DCS_STATUS_SLOTS_MAX) {
		cJSON_Delete(o);
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT, "status: more than %d slots",
				DCS_STATUS_SLOTS_MAX);
	}
	if (ok && st->slot_count > 0) {
		cJSON *slots = cJSON_CreateObject();

		ok = add_item(o, "slots", slots);
		for (int i = 0; ok && i < st->slot_count; i++)
			ok = memchr(st->slots[i].name, '\0', MEMBER_NAME_MAX) != NULL &&
			     st->slots[i].name[0] != '\0' &&
			     add_item(slots, st->slots[i].name, exact_u64(st->slots[i].lsn));
	}
	if (ok && st->retain_count > 0) {
		cJSON *retain = cJSON_CreateArray();

		ok = add_item(o, "retain_slots", retain);
		for (int i = 0; ok && i < st->retain_count; i++) {
			cJSON *name = memchr(st->retain[i], '\0', MEMBER_NAME_MAX) != NULL
					      ? cJSON_CreateString(st->retain[i])
					      : NULL;

			ok = name != NULL && cJSON_AddItemToArray(retain, name);
			if (!ok)
				cJSON_Delete(name);
		}
	}
	return emit(o, ok, "status", DCS_STATUS_DOC_MAX, out, cap, msg, msglen);
}

int dcs_doc_failsafe(const struct dcs_failsafe_member *members, int count, char *out, size_t cap,
		     char *msg, size_t msglen)
{
	cJSON *o;
	bool ok;

	if (count < 0 || count > DCS_FAILSAFE_MEMBERS_MAX)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"failsafe: %d members, at most %d", count,
				DCS_FAILSAFE_MEMBERS_MAX);
	for (int i = 0; i < count; i++) {
		if (check_name("failsafe", "name", members[i].name, msg, msglen) != 0)
			return DCS_ERR_INVALID_ARGUMENT;
		for (int j = 0; j < i; j++)
			if (strcmp(members[i].name, members[j].name) == 0)
				return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
						"failsafe: \"%s\" is named twice", members[i].name);
	}
	o = cJSON_CreateObject();
	ok = o != NULL;
	for (int i = 0; ok && i < count; i++)
		ok = cJSON_AddStringToObject(o, members[i].name, members[i].api_url) != NULL;
	return emit(o, ok, "failsafe", DCS_FAILSAFE_DOC_MAX, out, cap, msg, msglen);
}

int dcs_doc_history_append(const char *history, const struct dcs_history_row *row, int max_rows,
			   char *out, size_t cap, char *msg, size_t msglen)
{
	cJSON *list = NULL, *r;
	int64_t at;
	bool ok;
	int rc;

	if (check_name("history", "leader", row->leader, msg, msglen) != 0)
		return DCS_ERR_INVALID_ARGUMENT;
	if (time_parse_iso(row->timestamp, &at, NULL, 0) != TIME_OK)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"history: the timestamp \"%s\" is not an ISO 8601 time with a zone",
				row->timestamp);
	if (history != NULL) {
		list = dcs_json_parse_value(history, strlen(history), DCS_HISTORY_MAX);
		if (!cJSON_IsArray(list)) {
			/* Patroni starts a new list here; that would erase a history someone
			 * else wrote (a longer one, say): it is left as it is. */
			cJSON_Delete(list);
			return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
					"history: the key is not a JSON list of at most %d bytes "
					"that could be read; not rewritten",
					DCS_HISTORY_MAX);
		}
	} else {
		list = cJSON_CreateArray();
	}
	r = cJSON_CreateArray();
	ok = list != NULL && r != NULL && cJSON_AddItemToArray(list, r);
	if (!ok)
		cJSON_Delete(r);
	ok = ok && cJSON_AddItemToArray(r, exact_i64(row->timeline)) &&
	     cJSON_AddItemToArray(r, exact_u64(row->lsn)) &&
	     cJSON_AddItemToArray(r, cJSON_CreateString(row->reason)) &&
	     cJSON_AddItemToArray(r, cJSON_CreateString(row->timestamp)) &&
	     cJSON_AddItemToArray(r, cJSON_CreateString(row->leader));
	/* max_timelines_history keeps the newest rows (Patroni's history[-max:]). */
	while (ok && max_rows > 0 && cJSON_GetArraySize(list) > max_rows)
		cJSON_DeleteItemFromArray(list, 0);
	/* Past what a reader takes, the oldest rows go too: a longer key would be refused by
	 * every agent's reader, and the history would stop growing. */
	for (;;) {
		char *text = ok ? cJSON_PrintUnformatted(list) : NULL;
		bool fits = text != NULL && strlen(text) <= DCS_HISTORY_MAX;

		free(text);
		if (!ok || fits || cJSON_GetArraySize(list) <= 1)
			break;
		cJSON_DeleteItemFromArray(list, 0);
	}
	rc = emit(list, ok, "history", DCS_HISTORY_MAX, out, cap, msg, msglen);
	return rc;
}

/* ---- the check before a write ---------------------------------------------------------------- */

int dcs_docs_check(const char *suffix, const char *value, char *msg, size_t msglen)
{
	struct dcs_cluster *c;
	size_t len = strlen(value);
	unsigned kind = dcs_key_kind(suffix);
	bool valid;
	int rc = DCS_OK;

	if (len > DCS_VALUE_MAX)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"\"%s\": the value is longer than %d bytes", suffix, DCS_VALUE_MAX);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_fail(msg, msglen, DCS_ERR_NO_MEMORY, "out of memory");
	dcs_docs_store_kv(c, suffix, value, len, 0, 0, 0);
	switch (kind) {
	case DCS_CHANGE_CONFIG:
		valid = c->config_valid;
		break;
	case DCS_CHANGE_SYNC:
		valid = c->sync_valid;
		break;
	case DCS_CHANGE_FAILOVER:
		valid = c->failover_valid &&
			(c->failover_scheduled_at[0] == '\0' || c->failover_has_schedule);
		break;
	case DCS_CHANGE_FAILSAFE:
		valid = c->failsafe_valid;
		break;
	case DCS_CHANGE_MEMBERS:
		valid = c->member_count == 1 && c->members[0].doc_valid;
		break;
	default:
		valid = true;
	}
	if (c->rejected_count > 0)
		rc = err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT, "%s", c->rejected);
	else if (!valid)
		rc = err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
			      "\"%s\" must be one JSON object within %s's limit%s", suffix, suffix,
			      kind == DCS_CHANGE_FAILOVER ? ", scheduled_at ISO 8601 with a zone"
							  : "");
	free(c);
	return rc;
}
