/*
 * dcs_view.c - the watch-fed cluster view (dcs_view.h): keys kept sorted as etcd returns them,
 * changed by watch events, built into a struct dcs_cluster through dcs_docs_store_kv.
 */
#include "dcs_view.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dcs_codec.h"
#include "dcs_json.h"
#include "err.h"
#include "zpages.h"

void dcs_view_init(struct dcs_view *v)
{
	memset(v, 0, sizeof(*v));
}

void dcs_view_clear(struct dcs_view *v)
{
	for (int i = 0; i < v->count; i++)
		free(v->kvs[i].value);
	v->count = 0;
	v->revision = 0;
	v->loaded = false;
}

void dcs_view_done(struct dcs_view *v)
{
	dcs_view_clear(v);
	zpages_free(v->kvs);
	v->kvs = NULL;
}

/* Decodes the base64 member name of obj; absent or null is "". Writes up to keep bytes (and a
 * NUL) into a new buffer and the decoded length, capped at keep, into *len. NULL when it is not a
 * string, not base64 or memory ran out. */
static char *b64_field(const cJSON *obj, const char *name, size_t keep, size_t *len)
{
	size_t got = 0;
	char *out = dcs_json_b64(obj, name, &got);

	if (out == NULL)
		return NULL;
	if (got > keep) {
		got = keep;
		out[got] = '\0';
	}
	*len = got;
	return out;
}

/* Index of suffix in v, or -(insertion point) - 1. */
static int find(const struct dcs_view *v, const char *suffix)
{
	int lo = 0, hi = v->count;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int cmp = strcmp(v->kvs[mid].suffix, suffix);

		if (cmp == 0)
			return mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -lo - 1;
}

static void drop(struct dcs_view *v, const char *suffix)
{
	int i = find(v, suffix);

	if (i < 0)
		return;
	free(v->kvs[i].value);
	memmove(&v->kvs[i], &v->kvs[i + 1], sizeof(v->kvs[0]) * (size_t)(v->count - i - 1));
	v->count--;
}

/* Puts a key (value ownership moves to v). Returns false when the view is full. */
static bool put(struct dcs_view *v, const struct dcs_view_kv *kv)
{
	int i = find(v, kv->suffix);

	if (i >= 0) {
		free(v->kvs[i].value);
		v->kvs[i] = *kv;
		return true;
	}
	if (v->count >= DCS_VIEW_KEYS_MAX)
		return false;
	i = -i - 1;
	memmove(&v->kvs[i + 1], &v->kvs[i], sizeof(v->kvs[0]) * (size_t)(v->count - i));
	v->kvs[i] = *kv;
	v->count++;
	return true;
}

/* Reads one key-value object ("kv" of an event, an entry of "kvs") into out: the key must lie
 * under prefix. with_value: a put (a delete's kv carries no value). Returns 0 or a dcs_error. */
static int read_kv(const cJSON *kv, const char *prefix, bool with_value, struct dcs_view_kv *out,
		   char *msg, size_t msglen)
{
	size_t plen = strlen(prefix), klen = 0;
	char *key;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(kv) ||
	    !dcs_json_i64(kv, "create_revision", 0, INT64_MAX, &out->create_revision) ||
	    !dcs_json_i64(kv, "mod_revision", 0, INT64_MAX, &out->mod_revision) ||
	    !dcs_json_u64(kv, "lease", &out->lease))
		return err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE, "a key-value is mistyped");
	key = b64_field(kv, "key", DCS_KEY_MAX, &klen);
	if (key == NULL || klen <= plen || klen >= DCS_KEY_MAX || memchr(key, '\0', klen) ||
	    strncmp(key, prefix, plen) != 0) {
		free(key);
		return err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				"a key is malformed or outside \"%s\"", prefix);
	}
	memcpy(out->suffix, key + plen, klen - plen);
	out->suffix[klen - plen] = '\0';
	free(key);
	if (!with_value)
		return DCS_OK;
	out->value = b64_field(kv, "value", DCS_VIEW_VALUE_KEEP, &out->len);
	if (out->value == NULL)
		return err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				"the value of \"%.80s\" is not base64", out->suffix);
	return DCS_OK;
}

static bool ensure_table(struct dcs_view *v)
{
	/* fresh pages (zpages.h): 80 kB of which a cluster's few keys use a page or two */
	if (v->kvs == NULL)
		v->kvs = zpages_calloc(DCS_VIEW_KEYS_MAX, sizeof(v->kvs[0]));
	return v->kvs != NULL;
}

/* Stores the "kvs" of one range reply. Returns 0 or a dcs_error. */
static int load_range(struct dcs_view *v, const cJSON *range, const char *prefix, char *msg,
		      size_t msglen)
{
	const cJSON *kvs, *it;
	bool ok = true;

	kvs = dcs_json_array(range, "kvs", &ok);
	if (!ok)
		return err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				"range reply \"kvs\" is not a list");
	cJSON_ArrayForEach(it, kvs)
	{
		struct dcs_view_kv kv;
		int rc = read_kv(it, prefix, true, &kv, msg, msglen);

		if (rc != DCS_OK)
			return rc;
		if (dcs_key_kind(kv.suffix) == DCS_CHANGE_OTHER) {
			free(kv.value);
			continue;
		}
		if (!put(v, &kv)) {
			free(kv.value);
			return err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
					"more than %d keys under \"%s\"", DCS_VIEW_KEYS_MAX,
					prefix);
		}
	}
	return DCS_OK;
}

int dcs_view_load(struct dcs_view *v, const char *body, size_t len, const char *prefix, char *msg,
		  size_t msglen)
{
	cJSON *root;
	const cJSON *header, *responses, *it;
	int64_t revision = 0;
	bool ok = true;
	int rc = DCS_ERR_INVALID_RESPONSE;

	dcs_view_clear(v);
	if (!ensure_table(v))
		return err_fail(msg, msglen, DCS_ERR_NO_MEMORY, "out of memory");
	root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		err_set(msg, msglen, "range reply is not a JSON object");
		goto out_free_root;
	}
	header = dcs_json_object(root, "header", &ok);
	if (!ok || header == NULL || !dcs_json_i64(header, "revision", 1, INT64_MAX, &revision)) {
		err_set(msg, msglen, "range reply header is mistyped");
		goto out_free_root;
	}
	responses = dcs_json_array(root, "responses", &ok);
	if (!ok) {
		err_set(msg, msglen, "txn reply \"responses\" is not a list");
		goto out_free_root;
	}
	if (responses == NULL) {
		rc = load_range(v, root, prefix, msg, msglen);
	} else {
		rc = DCS_OK;
		cJSON_ArrayForEach(it, responses)
		{
			const cJSON *range =
				cJSON_IsObject(it)
					? cJSON_GetObjectItemCaseSensitive(it, "response_range")
					: NULL;

			rc = cJSON_IsObject(range) ? load_range(v, range, prefix, msg, msglen)
						   : err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
							      "txn reply has a response that is "
							      "not a range");
			if (rc != DCS_OK)
				break;
		}
	}
	for (int i = 0; rc == DCS_OK && i < v->count; i++)
		if (v->kvs[i].mod_revision > revision)
			rc = err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				      "a key is newer than the reply's revision");
out_free_root:
	cJSON_Delete(root);
	if (rc != DCS_OK) {
		dcs_view_clear(v);
		return rc;
	}
	v->revision = revision;
	v->loaded = true;
	return DCS_OK;
}

/* Whether a watch event is a delete: "type" absent (PUT, proto3's default), "PUT"/"DELETE", or
 * 0/1. Returns false with *bad set for anything else. */
static bool event_is_delete(const cJSON *ev, bool *bad)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");

	*bad = false;
	if (type == NULL || cJSON_IsNull(type))
		return false;
	if (cJSON_IsString(type) && strcmp(type->valuestring, "PUT") == 0)
		return false;
	if (cJSON_IsString(type) && strcmp(type->valuestring, "DELETE") == 0)
		return true;
	if (cJSON_IsNumber(type) && (type->valuedouble == 0 || type->valuedouble == 1))
		return type->valuedouble == 1;
	*bad = true;
	return false;
}

int dcs_view_apply_watch(struct dcs_view *v, const char *line, size_t len, const char *prefix,
			 unsigned *changed, char *msg, size_t msglen)
{
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *res, *events, *ev;
	int64_t base = v->revision, last = 0;
	unsigned bits = 0;
	bool ok = true;
	int rc = DCS_ERR_INVALID_RESPONSE;

	if (!cJSON_IsObject(root)) {
		err_set(msg, msglen, "watch message is not a JSON object");
		goto out_fail;
	}
	res = dcs_json_object(root, "result", &ok);
	events = ok && res != NULL ? dcs_json_array(res, "events", &ok) : NULL;
	if (!ok || res == NULL) {
		err_set(msg, msglen, "watch message has no result or mistyped events");
		goto out_fail;
	}
	/* Check the whole line before changing anything: it is taken whole or not at all. */
	cJSON_ArrayForEach(ev, events)
	{
		struct dcs_view_kv kv;
		bool bad;

		if (!cJSON_IsObject(ev)) {
			err_set(msg, msglen, "watch event is not an object");
			goto out_fail;
		}
		(void)event_is_delete(ev, &bad);
		rc = bad ? err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				    "watch event type is neither PUT nor DELETE")
			 : read_kv(dcs_json_object(ev, "kv", &ok), prefix, false, &kv, msg, msglen);
		if (rc != DCS_OK)
			goto out_fail;
		rc = DCS_ERR_INVALID_RESPONSE;
		if (kv.mod_revision < last || kv.mod_revision == 0) {
			err_set(msg, msglen, "watch event revisions go backwards (%lld after %lld)",
				(long long)kv.mod_revision, (long long)last);
			goto out_fail;
		}
		last = kv.mod_revision;
	}
	cJSON_ArrayForEach(ev, events)
	{
		struct dcs_view_kv kv;
		bool bad, del = event_is_delete(ev, &bad);
		unsigned kind;

		rc = read_kv(dcs_json_object(ev, "kv", &ok), prefix, !del, &kv, msg, msglen);
		if (rc != DCS_OK)
			goto out_fail;
		kind = dcs_key_kind(kv.suffix);
		if (kv.mod_revision <= base || kind == DCS_CHANGE_OTHER || !v->loaded) {
			/* Already in the view, not a key the view holds, or nothing to change. */
			free(kv.value);
			if (kv.mod_revision > base)
				bits |= kind;
			continue;
		}
		bits |= kind;
		if (del) {
			drop(v, kv.suffix);
		} else if (!ensure_table(v) || !put(v, &kv)) {
			free(kv.value);
			rc = err_fail(msg, msglen, DCS_ERR_INVALID_RESPONSE,
				      "more than %d keys under \"%s\"", DCS_VIEW_KEYS_MAX, prefix);
			goto out_fail;
		}
	}
	if (v->loaded && last > v->revision)
		v->revision = last;
	cJSON_Delete(root);
	if (changed)
		*changed = bits;
	return DCS_OK;
out_fail:
	cJSON_Delete(root);
	dcs_view_clear(v);
	return rc;
}

void dcs_view_build(const struct dcs_view *v, struct dcs_cluster *out)
{
	dcs_cluster_clear(out);
	out->revision = v->revision;
	/* In the read's order (dcs_codec_read_cluster): the legacy optime/leader after status, which
	 * overrides it. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < v->count; i++) {
			const struct dcs_view_kv *kv = &v->kvs[i];

			if ((strcmp(kv->suffix, "optime/leader") == 0) != (pass == 1))
				continue;
			dcs_docs_store_kv(out, kv->suffix, kv->value, kv->len, kv->create_revision,
					  kv->mod_revision, kv->lease);
		}
}

int dcs_view_compare_keys(const struct dcs_view *v, const char *body, size_t len,
			  const char *prefix, bool *behind, char *msg, size_t msglen)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *kvs, *it;
	int known = 0, rc = DCS_ERR_INVALID_RESPONSE;
	bool ok = true, more = false, differs = false;

	if (!cJSON_IsObject(root)) {
		err_set(msg, msglen, "range reply is not a JSON object");
		goto out_free_root;
	}
	kvs = dcs_json_array(root, "kvs", &ok);
	if (!ok || !dcs_json_bool(root, "more", &more)) {
		err_set(msg, msglen, "range reply is mistyped");
		goto out_free_root;
	}
	cJSON_ArrayForEach(it, kvs)
	{
		struct dcs_view_kv kv;
		int i;

		rc = read_kv(it, prefix, false, &kv, msg, msglen);
		if (rc != DCS_OK)
			goto out_free_root;
		if (dcs_key_kind(kv.suffix) == DCS_CHANGE_OTHER)
			continue;
		known++;
		i = find(v, kv.suffix);
		if (i < 0 || v->kvs[i].mod_revision != kv.mod_revision)
			differs = true;
	}
	/* A key the view holds that etcd no longer has: a delete the stream has not brought. */
	if (!more && known != v->count)
		differs = true;
	*behind = differs;
	rc = DCS_OK;
out_free_root:
	cJSON_Delete(root);
	return rc;
}

int64_t dcs_view_reply_revision(const char *body, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *res, *header;
	int64_t rev = 0;
	bool ok = true;

	res = cJSON_IsObject(root) ? dcs_json_object(root, "result", &ok) : NULL;
	header = ok && res != NULL ? dcs_json_object(res, "header", &ok) : NULL;
	if (!ok || header == NULL || !dcs_json_i64(header, "revision", 0, INT64_MAX, &rev))
		rev = 0;
	cJSON_Delete(root);
	return rev;
}
