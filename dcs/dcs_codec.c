/*
 * dcs_codec.c - the etcd v3 gateway's JSON: request bodies, reply parsing, the watch stream,
 * (see dcs_codec.h). Keys and error names are in dcs_keys.c; the values of Patroni's keys are
 * dcs_docs.c's job.
 *
 * The gateway's encoding (patroni-compat.md 3.2): bytes fields are base64, 64-bit integers are
 * strings, zero values are left out. Every field is optional with a zero default, and every field
 * present must have the right type.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "dcs_codec.h"
#include "dcs_json.h"
#include "err.h"
#include "num.h"

/* ---- request builders ------------------------------------------------------------------------ */

static bool add_b64(cJSON *obj, const char *name, const char *s)
{
	size_t n = strlen(s);
	size_t cap = (n + 2) / 3 * 4 + 1;
	char *enc;
	bool ok;

	if (n > DCS_VALUE_MAX)
		return false;
	enc = malloc(cap);
	if (enc == NULL)
		return false;
	ok = base64_encode(s, n, enc, cap) == 0 && cJSON_AddStringToObject(obj, name, enc);
	free(enc);
	return ok;
}

static bool add_int(cJSON *obj, const char *name, int64_t v)
{
	char text[DCS_INT_TEXT_MAX];

	return buf_format(text, sizeof(text), "%" PRId64, v) == 0 &&
	       cJSON_AddStringToObject(obj, name, text);
}

static bool add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char text[DCS_INT_TEXT_MAX];

	return buf_format(text, sizeof(text), "%" PRIu64, v) == 0 &&
	       cJSON_AddStringToObject(obj, name, text);
}

static bool add_prefix_end(cJSON *obj, const char *prefix)
{
	char end[DCS_KEY_MAX];

	return dcs_prefix_end(prefix, end, sizeof(end)) == 0 && add_b64(obj, "range_end", end);
}

/* Prints obj into out (reset first) and frees it. */
static int emit(struct buf *out, cJSON *obj, bool ok)
{
	char *text;
	int rc = DCS_ERR_INVALID_ARGUMENT;

	buf_reset(out);
	if (obj == NULL || !ok)
		goto out_free_obj;
	text = cJSON_PrintUnformatted(obj);
	if (text == NULL) {
		rc = DCS_ERR_NO_MEMORY;
		goto out_free_obj;
	}
	rc = buf_puts(out, text) == 0 ? DCS_OK : DCS_ERR_INVALID_ARGUMENT;
	free(text);
out_free_obj:
	cJSON_Delete(obj);
	return rc;
}

int dcs_codec_range(struct buf *out, const char *key, bool prefix, bool serializable,
		    bool count_only)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_b64(o, "key", key);

	if (ok && prefix)
		ok = add_prefix_end(o, key);
	if (ok && serializable)
		ok = cJSON_AddTrueToObject(o, "serializable") != NULL;
	if (ok && count_only)
		ok = cJSON_AddTrueToObject(o, "count_only") != NULL;
	return emit(out, o, ok);
}

int dcs_codec_read_cluster(struct buf *out, const char *prefix, bool members)
{
	/* Every key dcs_key_kind knows, one exact range each, and the members' directory: junk
	 * elsewhere under the prefix is never transferred. */
	static const char *const keys[] = { "config",	"leader",	 "initialize", "status",
					    "failover", "history",	 "sync",       "failsafe",
					    "term",	"optime/leader", "members/" };
	cJSON *o = cJSON_CreateObject();
	cJSON *succ = o ? cJSON_AddArrayToObject(o, "success") : NULL;
	bool ok = succ != NULL && cJSON_AddArrayToObject(o, "compare") != NULL;

	for (size_t i = 0; ok && i < sizeof(keys) / sizeof(keys[0]); i++) {
		char key[DCS_KEY_MAX];
		cJSON *op, *range;
		bool dir = strcmp(keys[i], "members/") == 0;

		if (dir && !members)
			continue;
		op = cJSON_CreateObject();
		range = cJSON_CreateObject();
		ok = op && range && buf_format(key, sizeof(key), "%s%s", prefix, keys[i]) == 0 &&
		     add_b64(range, "key", key) && (!dir || add_prefix_end(range, key));
		if (ok && cJSON_AddItemToObject(op, "request_range", range))
			range = NULL;
		else
			ok = false;
		cJSON_Delete(range);
		if (ok && !cJSON_AddItemToArray(succ, op))
			ok = false;
		if (!ok)
			cJSON_Delete(op);
	}
	return emit(out, o, ok);
}

int dcs_codec_range_keys(struct buf *out, const char *dir, int64_t limit)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_b64(o, "key", dir) && add_prefix_end(o, dir) &&
		  add_int(o, "limit", limit) && cJSON_AddTrueToObject(o, "keys_only");

	return emit(out, o, ok);
}

int dcs_codec_range_latest(struct buf *out, const char *prefix)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_b64(o, "key", prefix) && add_prefix_end(o, prefix) &&
		  cJSON_AddStringToObject(o, "limit", "1") &&
		  cJSON_AddStringToObject(o, "sort_order", "DESCEND") &&
		  cJSON_AddStringToObject(o, "sort_target", "MOD") &&
		  cJSON_AddTrueToObject(o, "keys_only");

	return emit(out, o, ok);
}

static cJSON *make_put(const char *key, const char *value, uint64_t lease)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (!add_b64(o, "key", key) || !add_b64(o, "value", value) ||
	    (lease != 0 && !add_uint(o, "lease", lease))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int dcs_codec_put(struct buf *out, const char *key, const char *value, uint64_t lease)
{
	cJSON *o = make_put(key, value, lease);

	return emit(out, o, o != NULL);
}

int dcs_codec_delete(struct buf *out, const char *key, bool prefix)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_b64(o, "key", key);

	if (ok && prefix)
		ok = add_prefix_end(o, key);
	return emit(out, o, ok);
}

static cJSON *make_compare(const struct dcs_txn_compare *c)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	switch (c->target) {
	case DCS_CMP_CREATE:
		ok = ok && cJSON_AddStringToObject(o, "target", "CREATE") &&
		     add_int(o, "create_revision", c->revision);
		break;
	case DCS_CMP_MOD:
		ok = ok && cJSON_AddStringToObject(o, "target", "MOD") &&
		     add_int(o, "mod_revision", c->revision);
		break;
	case DCS_CMP_VALUE:
		ok = ok && c->value && cJSON_AddStringToObject(o, "target", "VALUE") &&
		     add_b64(o, "value", c->value);
		break;
	default:
		ok = false;
	}
	ok = ok && add_b64(o, "key", c->key);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *make_op(const struct dcs_txn_op *op)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *inner = NULL;

	if (o == NULL)
		return NULL;
	if (op->kind == DCS_OP_PUT && op->value) {
		inner = make_put(op->key, op->value, op->lease);
		if (inner && cJSON_AddItemToObject(o, "request_put", inner))
			return o;
	} else if (op->kind == DCS_OP_DELETE) {
		inner = cJSON_CreateObject();
		if (inner && add_b64(inner, "key", op->key) &&
		    cJSON_AddItemToObject(o, "request_delete_range", inner))
			return o;
	}
	cJSON_Delete(inner);
	cJSON_Delete(o);
	return NULL;
}

/* {"compare":[c],"success":[op]} into a new object. */
static cJSON *make_txn(const struct dcs_txn_compare *c, const struct dcs_txn_op *op)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *cmp = cJSON_AddArrayToObject(o, "compare");
	cJSON *succ = cJSON_AddArrayToObject(o, "success");
	cJSON *item;

	if (o == NULL || cmp == NULL || succ == NULL)
		goto out_free;
	item = make_compare(c);
	if (item == NULL || !cJSON_AddItemToArray(cmp, item)) {
		cJSON_Delete(item);
		goto out_free;
	}
	item = make_op(op);
	if (item == NULL || !cJSON_AddItemToArray(succ, item)) {
		cJSON_Delete(item);
		goto out_free;
	}
	return o;
out_free:
	cJSON_Delete(o);
	return NULL;
}

int dcs_codec_txn(struct buf *out, const struct dcs_txn *t)
{
	cJSON *o = make_txn(&t->compare, &t->success);
	bool ok = o != NULL;

	if (ok && t->has_nested) {
		cJSON *fail = cJSON_AddArrayToObject(o, "failure");
		cJSON *wrap = cJSON_CreateObject();
		cJSON *nested = make_txn(&t->nested_compare, &t->success);
		ok = fail && wrap && nested && cJSON_AddItemToObject(wrap, "request_txn", nested);
		if (!ok) {
			if (wrap && !cJSON_GetObjectItemCaseSensitive(wrap, "request_txn"))
				cJSON_Delete(nested);
			cJSON_Delete(wrap);
		} else {
			ok = cJSON_AddItemToArray(fail, wrap);
			if (!ok)
				cJSON_Delete(wrap);
		}
	}
	return emit(out, o, ok);
}

int dcs_codec_lease_grant(struct buf *out, int64_t ttl_s)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && ttl_s > 0 && add_int(o, "TTL", ttl_s);

	return emit(out, o, ok);
}

int dcs_codec_lease_id(struct buf *out, uint64_t id)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && add_uint(o, "ID", id);

	return emit(out, o, ok);
}

int dcs_codec_auth(struct buf *out, const char *name, const char *password)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "name", name) &&
		  cJSON_AddStringToObject(o, "password", password);

	return emit(out, o, ok);
}

int dcs_codec_watch_create(struct buf *out, const char *prefix, int64_t start_revision)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *cr = cJSON_CreateObject();
	bool ok = o && cr && add_b64(cr, "key", prefix) && add_prefix_end(cr, prefix) &&
		  (start_revision <= 0 || add_int(cr, "start_revision", start_revision)) &&
		  cJSON_AddItemToObject(o, "create_request", cr);

	if (!ok && o && !cJSON_GetObjectItemCaseSensitive(o, "create_request"))
		cJSON_Delete(cr);
	return emit(out, o, ok);
}

/* ---- reply parsing helpers ------------------------------------------------------------------- */

/* Parses the first JSON value of body; trailing whitespace or further stream objects are left. */
static cJSON *parse_body(const char *body, size_t len, char *msg, size_t msglen)
{
	const char *end = NULL;
	cJSON *root;

	if (body == NULL || len == 0) {
		err_set(msg, msglen, "empty reply");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (root == NULL) {
		err_set(msg, msglen, "reply is not valid JSON");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		err_set(msg, msglen, "reply is not a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static bool parse_header_obj(const cJSON *root, int64_t *revision)
{
	bool ok = true;
	const cJSON *h = dcs_json_object(root, "header", &ok);
	int64_t rev = 0, term = 0;
	uint64_t ignored;

	if (!ok)
		return false;
	if (h != NULL &&
	    (!dcs_json_i64(h, "revision", 0, INT64_MAX, &rev) ||
	     !dcs_json_i64(h, "raft_term", 0, INT64_MAX, &term) ||
	     !dcs_json_u64(h, "cluster_id", &ignored) || !dcs_json_u64(h, "member_id", &ignored)))
		return false;
	*revision = rev;
	return true;
}

/* ---- status classification ------------------------------------------------------------------- */

enum {
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

/* Maps a gRPC code and message (etcd's words) to a dcs_error. */
static int classify_grpc(int code, const char *m, bool *reauth)
{
	*reauth = false;
	switch (code) {
	case GRPC_UNAVAILABLE:
	case GRPC_DEADLINE_EXCEEDED:
	case GRPC_RESOURCE_EXHAUSTED:
		return DCS_ERR_TRANSIENT;
	case GRPC_UNKNOWN:
		if (strstr(m, "not a primary lessor") || strstr(m, "leader changed") ||
		    strstr(m, "no leader") || strstr(m, "timed out"))
			return DCS_ERR_TRANSIENT;
		return DCS_ERR_REQUEST;
	case GRPC_NOT_FOUND:
		return strstr(m, "lease not found") ? DCS_ERR_LEASE_NOT_FOUND : DCS_ERR_REQUEST;
	case GRPC_PERMISSION_DENIED:
		return DCS_ERR_PERMISSION;
	case GRPC_UNAUTHENTICATED:
		*reauth = true;
		return DCS_ERR_AUTH;
	case GRPC_INVALID_ARGUMENT:
		if (strstr(m, "user name is empty")) {
			*reauth = true;
			return DCS_ERR_AUTH;
		}
		if (strstr(m, "authentication failed") || strstr(m, "user name not found"))
			return DCS_ERR_AUTH;
		return DCS_ERR_REQUEST;
	case GRPC_FAILED_PRECONDITION:
		if (strstr(m, "authentication is not enabled"))
			return DCS_ERR_AUTH;
		if (strstr(m, "revision of auth store is old")) {
			*reauth = true;
			return DCS_ERR_TRANSIENT;
		}
		return DCS_ERR_TRANSIENT;
	case GRPC_OUT_OF_RANGE:
		return strstr(m, "compacted") ? DCS_ERR_COMPACTED : DCS_ERR_REQUEST;
	default:
		return DCS_ERR_REQUEST;
	}
}

void dcs_codec_status(long http_status, const char *body, size_t len, struct dcs_status *out)
{
	cJSON *root = NULL;
	const cJSON *m;
	int64_t code = -1;

	memset(out, 0, sizeof(*out));
	out->grpc_code = -1;
	if (http_status >= 200 && http_status < 300) {
		out->rc = DCS_OK;
		return;
	}
	if (body != NULL && len > 0)
		root = cJSON_ParseWithLength(body, len);
	if (cJSON_IsObject(root)) {
		m = cJSON_GetObjectItemCaseSensitive(root, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(root, "error");
		if (cJSON_IsString(m))
			dcs_copy_printable(out->message, sizeof(out->message), m->valuestring,
					   strlen(m->valuestring));
		if (!dcs_json_i64(root, "code", 0, 1000, &code) ||
		    !cJSON_GetObjectItemCaseSensitive(root, "code"))
			code = -1;
	} else if (body != NULL) {
		dcs_copy_printable(out->message, sizeof(out->message), body, len);
	}
	cJSON_Delete(root);
	out->grpc_code = (int)code;
	if (http_status >= 500 && http_status < 600) {
		bool reauth;
		int rc = code >= 0 ? classify_grpc((int)code, out->message, &reauth) : 0;
		/* A 5xx is transient, except the rare codes that say something definite. */
		out->rc = rc == DCS_ERR_LEASE_NOT_FOUND || rc == DCS_ERR_PERMISSION ||
					  rc == DCS_ERR_COMPACTED
				  ? rc
				  : DCS_ERR_TRANSIENT;
		if (out->message[0] == '\0')
			err_set(out->message, sizeof(out->message), "HTTP %ld", http_status);
		return;
	}
	if (http_status >= 400 && http_status < 500) {
		if (code >= 0) {
			out->rc = classify_grpc((int)code, out->message, &out->reauth);
		} else {
			out->rc = DCS_ERR_REQUEST;
			if (http_status == 401) {
				out->rc = DCS_ERR_AUTH;
				out->reauth = true;
			}
		}
		if (out->message[0] == '\0')
			err_set(out->message, sizeof(out->message), "HTTP %ld", http_status);
		return;
	}
	out->rc = DCS_ERR_INVALID_RESPONSE;
	err_set(out->message, sizeof(out->message), "unexpected HTTP status %ld", http_status);
}

/* A stream error object {"error":{"grpc_code":N,"http_code":N,"message":".."}} inside a 200. */
static bool stream_error(const cJSON *root, int *rc, char *msg, size_t msglen)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *m;
	char text[DCS_MSG_MAX] = "";
	int64_t code = -1;
	bool reauth;

	if (e == NULL)
		return false;
	if (!cJSON_IsObject(e)) {
		*rc = DCS_ERR_INVALID_RESPONSE;
		err_set(msg, msglen, "stream error is not an object");
		return true;
	}
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(m))
		dcs_copy_printable(text, sizeof(text), m->valuestring, strlen(m->valuestring));
	if (!cJSON_GetObjectItemCaseSensitive(e, "grpc_code") ||
	    !dcs_json_i64(e, "grpc_code", 0, 1000, &code))
		code = -1;
	*rc = code >= 0 ? classify_grpc((int)code, text, &reauth) : DCS_ERR_TRANSIENT;
	err_set(msg, msglen, "%s", text[0] ? text : "stream error");
	return true;
}

/* ---- unary replies --------------------------------------------------------------------------- */

int dcs_codec_parse_header(const char *body, size_t len, int64_t *revision, char *msg,
			   size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	int64_t rev;

	if (root == NULL)
		return DCS_ERR_INVALID_RESPONSE;
	if (!parse_header_obj(root, &rev)) {
		cJSON_Delete(root);
		err_set(msg, msglen, "reply header is mistyped");
		return DCS_ERR_INVALID_RESPONSE;
	}
	cJSON_Delete(root);
	*revision = rev;
	return DCS_OK;
}

int dcs_codec_parse_txn(const char *body, size_t len, bool *succeeded, int64_t *revision, char *msg,
			size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	bool ok = true, top = false, nested = false;
	const cJSON *responses, *first;
	int64_t rev = 0;

	if (root == NULL)
		return DCS_ERR_INVALID_RESPONSE;
	ok = parse_header_obj(root, &rev) && dcs_json_bool(root, "succeeded", &top);
	responses = ok ? dcs_json_array(root, "responses", &ok) : NULL;
	first = responses ? cJSON_GetArrayItem(responses, 0) : NULL;
	if (ok && first != NULL) {
		const cJSON *rt;
		if (!cJSON_IsObject(first))
			ok = false;
		rt = ok ? dcs_json_object(first, "response_txn", &ok) : NULL;
		if (ok && rt != NULL)
			ok = dcs_json_bool(rt, "succeeded", &nested);
	}
	cJSON_Delete(root);
	if (!ok) {
		err_set(msg, msglen, "txn reply is mistyped");
		return DCS_ERR_INVALID_RESPONSE;
	}
	*succeeded = top || nested;
	*revision = rev;
	return DCS_OK;
}

int dcs_codec_parse_lease_grant(const char *body, size_t len, uint64_t *id, int64_t *ttl_s,
				char *msg, size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	uint64_t lid = 0;
	int64_t ttl = 0, rev;
	const cJSON *err;
	bool ok;

	if (root == NULL)
		return DCS_ERR_INVALID_RESPONSE;
	err = cJSON_GetObjectItemCaseSensitive(root, "error");
	ok = parse_header_obj(root, &rev) && dcs_json_u64(root, "ID", &lid) &&
	     dcs_json_i64(root, "TTL", 0, INT64_MAX, &ttl);
	cJSON_Delete(root);
	if (!ok || lid == 0 || ttl <= 0) {
		err_set(msg, msglen, "lease grant reply %s",
			!ok   ? "is mistyped"
			: err ? "carries an error"
			      : "has no lease id or TTL");
		return DCS_ERR_INVALID_RESPONSE;
	}
	*id = lid;
	*ttl_s = ttl;
	return DCS_OK;
}

int dcs_codec_parse_keepalive(const char *body, size_t len, uint64_t *id, int64_t *ttl_s, char *msg,
			      size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	const cJSON *res;
	uint64_t lid = 0;
	int64_t ttl = 0, rev;
	bool ok = true;
	int rc;

	if (root == NULL)
		return DCS_ERR_INVALID_RESPONSE;
	if (stream_error(root, &rc, msg, msglen)) {
		cJSON_Delete(root);
		return rc;
	}
	res = dcs_json_object(root, "result", &ok);
	ok = ok && res != NULL && parse_header_obj(res, &rev) && dcs_json_u64(res, "ID", &lid) &&
	     dcs_json_i64(res, "TTL", 0, INT64_MAX, &ttl);
	cJSON_Delete(root);
	if (!ok || lid == 0) {
		err_set(msg, msglen, "keepalive reply is mistyped or has no result");
		return DCS_ERR_INVALID_RESPONSE;
	}
	*id = lid;
	*ttl_s = ttl;
	return DCS_OK;
}

int dcs_codec_parse_auth(const char *body, size_t len, char *token, size_t token_cap, char *msg,
			 size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	const cJSON *t;
	int rc = DCS_ERR_INVALID_RESPONSE;

	if (root == NULL)
		return rc;
	t = cJSON_GetObjectItemCaseSensitive(root, "token");
	if (!cJSON_IsString(t) || t->valuestring[0] == '\0') {
		err_set(msg, msglen, "authenticate reply has no token");
		goto out_free_root;
	}
	for (const char *p = t->valuestring; *p; p++) {
		/* The token goes into a header: no control characters, no spaces. */
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			err_set(msg, msglen, "authenticate reply has a malformed token");
			goto out_free_root;
		}
	}
	if (buf_copy(token, token_cap, t->valuestring) < 0) {
		err_set(msg, msglen, "auth token is longer than %zu bytes", token_cap - 1);
		goto out_free_root;
	}
	rc = DCS_OK;
out_free_root:
	cJSON_Delete(root);
	return rc;
}

int dcs_codec_parse_version(const char *body, size_t len, char *version, size_t cap, char *msg,
			    size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	const cJSON *v;
	int major = 0, minor = 0, rc = DCS_ERR_INVALID_RESPONSE;
	char text[DCS_WORD_MAX];
	char *dot, *dot2;

	if (root == NULL)
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "etcdcluster");
	if (!cJSON_IsString(v) || buf_copy(text, sizeof(text), v->valuestring) < 0) {
		err_set(msg, msglen, "version reply has no etcdcluster string");
		goto out_free_root;
	}
	dot = strchr(text, '.');
	if (dot == NULL) {
		err_set(msg, msglen, "unrecognized etcd cluster version \"%s\"", text);
		goto out_free_root;
	}
	*dot = '\0';
	dot2 = strchr(dot + 1, '.');
	if (dot2)
		*dot2 = '\0';
	if (num_parse_int(text, 0, 1000, &major) < 0 ||
	    num_parse_int(dot + 1, 0, 1000, &minor) < 0) {
		err_set(msg, msglen, "unrecognized etcd cluster version \"%s\"", v->valuestring);
		goto out_free_root;
	}
	if (major < 3 || (major == 3 && minor < 4)) {
		err_set(msg, msglen,
			"etcd cluster version %d.%d is too old: 3.4 or later is required", major,
			minor);
		rc = DCS_ERR_REQUEST;
		goto out_free_root;
	}
	if (buf_copy(version, cap, v->valuestring) < 0) {
		err_set(msg, msglen, "etcd version string too long");
		goto out_free_root;
	}
	rc = DCS_OK;
out_free_root:
	cJSON_Delete(root);
	return rc;
}

int dcs_codec_parse_keys(const char *body, size_t len, const char *prefix,
			 char (*suffixes)[DCS_KEY_MAX], int cap, int *count, char *msg,
			 size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	const cJSON *kvs, *kv;
	size_t plen = strlen(prefix);
	int64_t rev;
	bool ok;
	int n = 0;

	if (root == NULL)
		return DCS_ERR_INVALID_RESPONSE;
	ok = parse_header_obj(root, &rev);
	kvs = ok ? dcs_json_array(root, "kvs", &ok) : NULL;
	cJSON_ArrayForEach(kv, kvs)
	{
		size_t klen;
		char *key = cJSON_IsObject(kv) ? dcs_json_b64(kv, "key", &klen) : NULL;

		if (key == NULL || klen <= plen || klen - plen >= DCS_KEY_MAX ||
		    memchr(key, '\0', klen) || strncmp(key, prefix, plen) != 0) {
			free(key);
			ok = false;
			break;
		}
		if (n < cap)
			memcpy(suffixes[n++], key + plen, klen - plen + 1);
		free(key);
	}
	cJSON_Delete(root);
	if (!ok) {
		err_set(msg, msglen, "keys reply is mistyped");
		return DCS_ERR_INVALID_RESPONSE;
	}
	*count = n;
	return DCS_OK;
}

int dcs_codec_parse_range_latest(const char *body, size_t len, int64_t *revision,
				 int64_t *latest_mod, char *msg, size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	const cJSON *kvs, *kv;
	int64_t rev = 0, mod = 0;
	bool ok;

	if (root == NULL)
		return DCS_ERR_INVALID_RESPONSE;
	ok = parse_header_obj(root, &rev);
	kvs = ok ? dcs_json_array(root, "kvs", &ok) : NULL;
	cJSON_ArrayForEach(kv, kvs)
	{
		int64_t m;
		if (!cJSON_IsObject(kv) || !dcs_json_i64(kv, "mod_revision", 0, INT64_MAX, &m)) {
			ok = false;
			break;
		}
		if (m > mod)
			mod = m;
	}
	cJSON_Delete(root);
	if (!ok || mod > rev) {
		err_set(msg, msglen, "range reply is mistyped");
		return DCS_ERR_INVALID_RESPONSE;
	}
	*revision = rev;
	*latest_mod = mod;
	return DCS_OK;
}

/* Stores every key-value of a range reply's "kvs" in c. Returns true, or false with msg. */
static bool store_kvs(const cJSON *range, const char *prefix, struct dcs_cluster *c, char *msg,
		      size_t msglen)
{
	const cJSON *kvs, *kv;
	size_t plen = strlen(prefix);
	bool ok = true;

	kvs = dcs_json_array(range, "kvs", &ok);
	if (!ok) {
		err_set(msg, msglen, "range reply \"kvs\" is not a list");
		return false;
	}
	cJSON_ArrayForEach(kv, kvs)
	{
		int64_t create_rev, mod_rev;
		uint64_t lease;
		size_t klen, vlen;
		char *key, *value;

		if (!cJSON_IsObject(kv) ||
		    !dcs_json_i64(kv, "create_revision", 0, INT64_MAX, &create_rev) ||
		    !dcs_json_i64(kv, "mod_revision", 0, INT64_MAX, &mod_rev) ||
		    !dcs_json_u64(kv, "lease", &lease)) {
			err_set(msg, msglen, "range reply has a mistyped key-value");
			return false;
		}
		key = dcs_json_b64(kv, "key", &klen);
		if (key == NULL) {
			err_set(msg, msglen, "range reply has a key that is not base64");
			return false;
		}
		if (klen <= plen || klen >= DCS_KEY_MAX || memchr(key, '\0', klen) ||
		    strncmp(key, prefix, plen) != 0) {
			err_set(msg, msglen, "range reply has a key outside \"%s\"", prefix);
			free(key);
			return false;
		}
		value = dcs_json_b64(kv, "value", &vlen);
		if (value == NULL) {
			err_set(msg, msglen, "range reply has a value that is not base64");
			free(key);
			return false;
		}
		dcs_docs_store_kv(c, key + plen, value, vlen, create_rev, mod_rev, lease);
		free(value);
		free(key);
	}
	return true;
}

int dcs_codec_parse_cluster(const char *body, size_t len, const char *prefix,
			    struct dcs_cluster *out, char *msg, size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	struct dcs_cluster *c;
	const cJSON *responses, *it;
	int rc = DCS_ERR_INVALID_RESPONSE;
	bool ok = true;

	if (root == NULL)
		return rc;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = DCS_ERR_NO_MEMORY;
		goto out_free_root;
	}
	if (!parse_header_obj(root, &c->revision)) {
		err_set(msg, msglen, "range reply header is mistyped");
		goto out_free_c;
	}
	responses = dcs_json_array(root, "responses", &ok);
	if (!ok) {
		err_set(msg, msglen, "txn reply \"responses\" is not a list");
		goto out_free_c;
	}
	if (responses == NULL) {
		/* one range reply */
		if (!store_kvs(root, prefix, c, msg, msglen))
			goto out_free_c;
	} else {
		/* dcs_codec_read_cluster's txn: one range reply per response */
		cJSON_ArrayForEach(it, responses)
		{
			const cJSON *range =
				cJSON_IsObject(it)
					? cJSON_GetObjectItemCaseSensitive(it, "response_range")
					: NULL;

			if (!cJSON_IsObject(range)) {
				err_set(msg, msglen,
					"txn reply has a response that is not a range");
				goto out_free_c;
			}
			if (!store_kvs(range, prefix, c, msg, msglen))
				goto out_free_c;
		}
	}
	dcs_cluster_copy(out, c);
	rc = DCS_OK;
out_free_c:
	free(c);
out_free_root:
	cJSON_Delete(root);
	return rc;
}

/* ---- watch ----------------------------------------------------------------------------------- */

int dcs_codec_parse_watch(const char *line, size_t len, const char *prefix,
			  struct dcs_watch_result *out, char *msg, size_t msglen)
{
	cJSON *root = parse_body(line, len, msg, msglen);
	struct dcs_watch_result r;
	const cJSON *res, *events, *ev, *reason;
	size_t plen = strlen(prefix);
	bool ok = true;
	int rc = DCS_ERR_INVALID_RESPONSE;

	if (root == NULL)
		return rc;
	if (stream_error(root, &rc, msg, msglen))
		goto out_free_root;
	rc = DCS_ERR_INVALID_RESPONSE;
	memset(&r, 0, sizeof(r));
	res = dcs_json_object(root, "result", &ok);
	if (!ok || res == NULL) {
		err_set(msg, msglen, "watch message has no result");
		goto out_free_root;
	}
	if (!parse_header_obj(res, &r.revision) || !dcs_json_bool(res, "created", &r.created) ||
	    !dcs_json_bool(res, "canceled", &r.canceled) ||
	    !dcs_json_i64(res, "compact_revision", 0, INT64_MAX, &r.compact_revision)) {
		err_set(msg, msglen, "watch message is mistyped");
		goto out_free_root;
	}
	reason = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");
	if (cJSON_IsString(reason))
		dcs_copy_printable(r.cancel_reason, sizeof(r.cancel_reason), reason->valuestring,
				   strlen(reason->valuestring));
	events = dcs_json_array(res, "events", &ok);
	if (!ok) {
		err_set(msg, msglen, "watch events are not a list");
		goto out_free_root;
	}
	cJSON_ArrayForEach(ev, events)
	{
		const cJSON *kv, *type;
		int64_t mod;
		size_t klen;
		char *key;

		kv = cJSON_IsObject(ev) ? dcs_json_object(ev, "kv", &ok) : NULL;
		type = cJSON_IsObject(ev) ? cJSON_GetObjectItemCaseSensitive(ev, "type") : NULL;
		if (!ok || kv == NULL || (type && !cJSON_IsString(type) && !cJSON_IsNumber(type)) ||
		    !dcs_json_i64(kv, "mod_revision", 0, INT64_MAX, &mod)) {
			err_set(msg, msglen, "watch event is mistyped");
			goto out_free_root;
		}
		key = dcs_json_b64(kv, "key", &klen);
		if (key == NULL || klen < plen || memchr(key, '\0', klen) ||
		    strncmp(key, prefix, plen) != 0) {
			err_set(msg, msglen, "watch event key is malformed or outside \"%s\"",
				prefix);
			free(key);
			goto out_free_root;
		}
		r.changed |= dcs_key_kind(key + plen);
		free(key);
		if (mod > r.max_mod_revision)
			r.max_mod_revision = mod;
		r.events++;
	}
	*out = r;
	rc = DCS_OK;
out_free_root:
	cJSON_Delete(root);
	return rc;
}
