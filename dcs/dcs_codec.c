/*
 * dcs_codec.c - etcd v3 gateway JSON: request bodies, reply parsing, base64 (see dcs_codec.h).
 *
 * The gateway's encoding (patroni-compat.md 3.2): bytes fields are base64, 64-bit integers are
 * strings, zero values are left out. Every field is optional with a zero default, and every field
 * present must have the right type.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dcs_codec.h"
#include "num.h"

/* A decimal 64-bit number as text, with room for the sign and the NUL. */
#define DCS_INT_TEXT_MAX 24
/* The largest integer a JSON number (a double) carries exactly. */
#define DCS_JSON_INT_MAX 9007199254740992.0
/* A member's legacy "postgres://...?application_name=<api_url>" form. */
#define DCS_LEGACY_APP_PARAM "application_name="

/* Copies src when it fits, else leaves dst empty: for values already checked to fit. */
static void msgf(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msgf(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* ---- base64 ---------------------------------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int dcs_b64_encode(const void *in, size_t n, char *out, size_t cap)
{
	const unsigned char *p = in;
	size_t need = (n + 2) / 3 * 4 + 1;
	size_t i, o = 0;

	if (n > SIZE_MAX / 2 || need > cap)
		return -ENAMETOOLONG;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int dcs_b64_decode(const char *in, size_t n, char *out, size_t cap, size_t *out_len)
{
	size_t i, o = 0, pad = 0;

	if (n % 4 != 0)
		return -EINVAL;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	if (n / 4 * 3 - pad + 1 > cap)
		return -ENAMETOOLONG;
	for (i = 0; i < n; i += 4) {
		int v[4];
		bool last = i + 4 == n;
		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0 && !(last && in[i + k] == '=' && k >= 4 - (int)pad))
				return -EINVAL;
			if (v[k] < 0)
				v[k] = 0;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		out[o++] = (char)(w >> 16 & 0xff);
		if (!(last && pad == 2))
			out[o++] = (char)(w >> 8 & 0xff);
		if (!(last && pad >= 1))
			out[o++] = (char)(w & 0xff);
	}
	out[o] = '\0';
	*out_len = o;
	return 0;
}

/* ---- keys ------------------------------------------------------------------------------------ */

int dcs_prefix_end(const char *prefix, char *out, size_t cap)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return -EINVAL;
	if (n + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, prefix, n + 1);
	while (n > 0 && (unsigned char)out[n - 1] == 0xff)
		out[--n] = '\0';
	if (n == 0)
		return -EINVAL;
	out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
	return 0;
}

int dcs_make_prefix(const char *ns, const char *scope, char *out, size_t cap)
{
	char raw[DCS_KEY_MAX];
	size_t o = 0;

	if (scope[0] == '\0')
		return -EINVAL;
	if (buf_format(raw, sizeof(raw), "/%s/%s/", ns[0] ? ns : "service", scope) < 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; raw[i]; i++) {
		if (raw[i] == '/' && o > 0 && out[o - 1] == '/')
			continue;
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = raw[i];
	}
	out[o] = '\0';
	return 0;
}

unsigned dcs_key_kind(const char *suffix)
{
	static const struct {
		const char *name;
		unsigned kind;
	} table[] = {
		{ "leader", DCS_CHANGE_LEADER },     { "config", DCS_CHANGE_CONFIG },
		{ "failover", DCS_CHANGE_FAILOVER }, { "sync", DCS_CHANGE_SYNC },
		{ "status", DCS_CHANGE_STATUS },     { "optime/leader", DCS_CHANGE_STATUS },
		{ "history", DCS_CHANGE_HISTORY },   { "initialize", DCS_CHANGE_INITIALIZE },
		{ "failsafe", DCS_CHANGE_FAILSAFE }, { "term", DCS_CHANGE_TERM },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(suffix, table[i].name) == 0)
			return table[i].kind;
	if (strncmp(suffix, "members/", 8) == 0 && suffix[8] != '\0' && !strchr(suffix + 8, '/'))
		return DCS_CHANGE_MEMBERS;
	return DCS_CHANGE_OTHER;
}

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
	ok = dcs_b64_encode(s, n, enc, cap) == 0 && cJSON_AddStringToObject(obj, name, enc);
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
		msgf(msg, msglen, "empty reply");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (root == NULL) {
		msgf(msg, msglen, "reply is not valid JSON");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		msgf(msg, msglen, "reply is not a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Reads an optional 64-bit integer field: a decimal string (the gateway's form) or an integral
 * JSON number within the exact range of a double. Absent = 0. False on a wrong type or range. */
static bool get_i64(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	int64_t v;

	if (it == NULL || cJSON_IsNull(it)) {
		*out = 0;
		return 0 >= min && 0 <= max;
	}
	if (cJSON_IsString(it)) {
		if (num_parse_i64(it->valuestring, min, max, &v) < 0)
			return false;
		*out = v;
		return true;
	}
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!isfinite(d) || d != floor(d) || d > DCS_JSON_INT_MAX || d < -DCS_JSON_INT_MAX)
			return false;
		v = (int64_t)d;
		if (v < min || v > max)
			return false;
		*out = v;
		return true;
	}
	return false;
}

static bool get_u64(const cJSON *obj, const char *name, uint64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	uint64_t v;

	if (it == NULL || cJSON_IsNull(it)) {
		*out = 0;
		return true;
	}
	if (cJSON_IsString(it)) {
		if (num_parse_u64(it->valuestring, 0, UINT64_MAX, &v) < 0)
			return false;
		*out = v;
		return true;
	}
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!isfinite(d) || d != floor(d) || d < 0 || d > DCS_JSON_INT_MAX)
			return false;
		*out = (uint64_t)d;
		return true;
	}
	return false;
}

/* Optional boolean: absent = false. */
static bool get_bool(const cJSON *obj, const char *name, bool *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (it == NULL || cJSON_IsNull(it)) {
		*out = false;
		return true;
	}
	if (!cJSON_IsBool(it))
		return false;
	*out = cJSON_IsTrue(it);
	return true;
}

/* Optional base64 field decoded into a new heap string (NUL-terminated, *len bytes). Absent
 * gives "". NULL on a wrong type, bad base64 or no memory. */
static char *get_b64(const cJSON *obj, const char *name, size_t *len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	const char *s = "";
	size_t n, cap;
	char *out;

	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsString(it))
			return NULL;
		s = it->valuestring;
	}
	n = strlen(s);
	cap = n / 4 * 3 + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	if (dcs_b64_decode(s, n, out, cap, len) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static const cJSON *get_object(const cJSON *obj, const char *name, bool *ok)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (it != NULL && !cJSON_IsNull(it) && !cJSON_IsObject(it)) {
		*ok = false;
		return NULL;
	}
	return cJSON_IsObject(it) ? it : NULL;
}

static const cJSON *get_array(const cJSON *obj, const char *name, bool *ok)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (it != NULL && !cJSON_IsNull(it) && !cJSON_IsArray(it)) {
		*ok = false;
		return NULL;
	}
	return cJSON_IsArray(it) ? it : NULL;
}

static bool parse_header_obj(const cJSON *root, int64_t *revision)
{
	bool ok = true;
	const cJSON *h = get_object(root, "header", &ok);
	int64_t rev = 0, term = 0;
	uint64_t ignored;

	if (!ok)
		return false;
	if (h != NULL &&
	    (!get_i64(h, "revision", 0, INT64_MAX, &rev) ||
	     !get_i64(h, "raft_term", 0, INT64_MAX, &term) || !get_u64(h, "cluster_id", &ignored) ||
	     !get_u64(h, "member_id", &ignored)))
		return false;
	*revision = rev;
	return true;
}

/* Copies printable text for a message, replacing anything else: etcd's words go into logs. */
static void copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && src[i] && o + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[o] = '\0';
	while (o > 0 && dst[o - 1] == '?')
		dst[--o] = '\0';
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
			copy_printable(out->message, sizeof(out->message), m->valuestring,
				       strlen(m->valuestring));
		if (!get_i64(root, "code", 0, 1000, &code) ||
		    !cJSON_GetObjectItemCaseSensitive(root, "code"))
			code = -1;
	} else if (body != NULL) {
		copy_printable(out->message, sizeof(out->message), body, len);
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
			msgf(out->message, sizeof(out->message), "HTTP %ld", http_status);
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
			msgf(out->message, sizeof(out->message), "HTTP %ld", http_status);
		return;
	}
	out->rc = DCS_ERR_INVALID_RESPONSE;
	msgf(out->message, sizeof(out->message), "unexpected HTTP status %ld", http_status);
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
		msgf(msg, msglen, "stream error is not an object");
		return true;
	}
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(m))
		copy_printable(text, sizeof(text), m->valuestring, strlen(m->valuestring));
	if (!cJSON_GetObjectItemCaseSensitive(e, "grpc_code") ||
	    !get_i64(e, "grpc_code", 0, 1000, &code))
		code = -1;
	*rc = code >= 0 ? classify_grpc((int)code, text, &reauth) : DCS_ERR_TRANSIENT;
	msgf(msg, msglen, "%s", text[0] ? text : "stream error");
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
		msgf(msg, msglen, "reply header is mistyped");
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
	ok = parse_header_obj(root, &rev) && get_bool(root, "succeeded", &top);
	responses = ok ? get_array(root, "responses", &ok) : NULL;
	first = responses ? cJSON_GetArrayItem(responses, 0) : NULL;
	if (ok && first != NULL) {
		const cJSON *rt;
		if (!cJSON_IsObject(first))
			ok = false;
		rt = ok ? get_object(first, "response_txn", &ok) : NULL;
		if (ok && rt != NULL)
			ok = get_bool(rt, "succeeded", &nested);
	}
	cJSON_Delete(root);
	if (!ok) {
		msgf(msg, msglen, "txn reply is mistyped");
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
	ok = parse_header_obj(root, &rev) && get_u64(root, "ID", &lid) &&
	     get_i64(root, "TTL", 0, INT64_MAX, &ttl);
	cJSON_Delete(root);
	if (!ok || lid == 0 || ttl <= 0) {
		msgf(msg, msglen, "lease grant reply %s",
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
	res = get_object(root, "result", &ok);
	ok = ok && res != NULL && parse_header_obj(res, &rev) && get_u64(res, "ID", &lid) &&
	     get_i64(res, "TTL", 0, INT64_MAX, &ttl);
	cJSON_Delete(root);
	if (!ok || lid == 0) {
		msgf(msg, msglen, "keepalive reply is mistyped or has no result");
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
		msgf(msg, msglen, "authenticate reply has no token");
		goto out_free_root;
	}
	for (const char *p = t->valuestring; *p; p++) {
		/* The token goes into a header: no control characters, no spaces. */
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			msgf(msg, msglen, "authenticate reply has a malformed token");
			goto out_free_root;
		}
	}
	if (buf_copy(token, token_cap, t->valuestring) < 0) {
		msgf(msg, msglen, "auth token is longer than %zu bytes", token_cap - 1);
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
		msgf(msg, msglen, "version reply has no etcdcluster string");
		goto out_free_root;
	}
	dot = strchr(text, '.');
	if (dot == NULL) {
		msgf(msg, msglen, "unrecognized etcd cluster version \"%s\"", text);
		goto out_free_root;
	}
	*dot = '\0';
	dot2 = strchr(dot + 1, '.');
	if (dot2)
		*dot2 = '\0';
	if (num_parse_int(text, 0, 1000, &major) < 0 ||
	    num_parse_int(dot + 1, 0, 1000, &minor) < 0) {
		msgf(msg, msglen, "unrecognized etcd cluster version \"%s\"", v->valuestring);
		goto out_free_root;
	}
	if (major < 3 || (major == 3 && minor < 4)) {
		msgf(msg, msglen, "etcd cluster version %d.%d is too old: 3.4 or later is required",
		     major, minor);
		rc = DCS_ERR_REQUEST;
		goto out_free_root;
	}
	if (buf_copy(version, cap, v->valuestring) < 0) {
		msgf(msg, msglen, "etcd version string too long");
		goto out_free_root;
	}
	rc = DCS_OK;
out_free_root:
	cJSON_Delete(root);
	return rc;
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
	kvs = ok ? get_array(root, "kvs", &ok) : NULL;
	cJSON_ArrayForEach(kv, kvs)
	{
		int64_t m;
		if (!cJSON_IsObject(kv) || !get_i64(kv, "mod_revision", 0, INT64_MAX, &m)) {
			ok = false;
			break;
		}
		if (m > mod)
			mod = m;
	}
	cJSON_Delete(root);
	if (!ok || mod > rev) {
		msgf(msg, msglen, "range reply is mistyped");
		return DCS_ERR_INVALID_RESPONSE;
	}
	*revision = rev;
	*latest_mod = mod;
	return DCS_OK;
}

/* ---- the cluster view ------------------------------------------------------------------------ */

/* Copies a decoded value as text: false when it holds a NUL byte or does not fit. */
static bool copy_text(char *dst, size_t cap, const char *v, size_t n)
{
	if (memchr(v, '\0', n) != NULL || n + 1 > cap)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

/* A string member field, copied only when it is a string that fits. */
static void get_text(const cJSON *obj, const char *name, char *dst, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (cJSON_IsString(it) && buf_copy(dst, cap, it->valuestring) < 0)
		dst[0] = '\0';
}

/* A boolean that Patroni may have written as true/false or as text ("true", "yes"). */
static bool get_boolish(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	bool v = false;

	if (cJSON_IsBool(it))
		return cJSON_IsTrue(it);
	if (cJSON_IsString(it) && num_parse_bool(it->valuestring, &v) == 0)
		return v;
	return false;
}

/* A non-negative integer field; *has stays false for absent or garbage values. */
static void get_count(const cJSON *obj, const char *name, bool *has, int64_t *out)
{
	int64_t v;

	if (cJSON_GetObjectItemCaseSensitive(obj, name) && get_i64(obj, name, 0, INT64_MAX, &v)) {
		*has = true;
		*out = v;
	}
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
	m->doc_oversized = !copy_text(m->doc, sizeof(m->doc), value, len);
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
	get_text(root, "role", m->role, sizeof(m->role));
	m->is_primary = strcmp(m->role, "primary") == 0 || strcmp(m->role, "master") == 0;
	get_text(root, "state", m->state, sizeof(m->state));
	get_text(root, "api_url", m->api_url, sizeof(m->api_url));
	get_text(root, "conn_url", m->conn_url, sizeof(m->conn_url));
	get_text(root, "version", m->version, sizeof(m->version));
	get_text(root, "replication_state", m->replication_state, sizeof(m->replication_state));
	get_count(root, "xlog_location", &m->has_xlog_location, &m->xlog_location_lsn);
	get_count(root, "replay_lsn", &m->has_replay_lsn, &m->replay_lsn);
	get_count(root, "receive_lsn", &m->has_receive_lsn, &m->receive_lsn);
	{
		bool has = false;
		get_count(root, "timeline", &has, &m->timeline);
	}
	tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
	if (cJSON_IsObject(tags)) {
		char *text = cJSON_PrintUnformatted(tags);
		if (text == NULL || buf_copy(m->tags, sizeof(m->tags), text) < 0)
			m->tags[0] = '\0';
		free(text);
		m->nofailover = get_boolish(tags, "nofailover");
		m->noloadbalance = get_boolish(tags, "noloadbalance");
		m->nosync = get_boolish(tags, "nosync");
		if (cJSON_GetObjectItemCaseSensitive(tags, "failover_priority")) {
			int64_t v;
			if (get_i64(tags, "failover_priority", INT32_MIN, INT32_MAX, &v)) {
				m->has_failover_priority = true;
				m->failover_priority = v;
			}
		}
	}
	m->pause = get_boolish(root, "pause");
	m->pending_restart = get_boolish(root, "pending_restart");
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(root, "checkpoint_after_promote"))) {
		m->has_checkpoint_after_promote = true;
		m->checkpoint_after_promote = get_boolish(root, "checkpoint_after_promote");
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
	get_count(root, "maximum_lag_on_failover", &c->has_config_maximum_lag_on_failover,
		  &c->config_maximum_lag_on_failover);
	c->config_pause = get_boolish(root, "pause");
	c->config_failsafe_mode = get_boolish(root, "failsafe_mode");
	c->config_synchronous_mode_strict = get_boolish(root, "synchronous_mode_strict");
	sm = cJSON_GetObjectItemCaseSensitive(root, "synchronous_mode");
	if (cJSON_IsString(sm) && strcmp(sm->valuestring, "quorum") == 0)
		buf_copy_or_clear(c->config_synchronous_mode, sizeof(c->config_synchronous_mode),
				  "quorum");
	else
		buf_copy_or_clear(c->config_synchronous_mode, sizeof(c->config_synchronous_mode),
				  get_boolish(root, "synchronous_mode") ? "on" : "off");
out_free_root:
	cJSON_Delete(root);
}

static void parse_sync(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = cJSON_ParseWithLength(value, len);

	if (!cJSON_IsObject(root))
		goto out_free_root;
	c->sync_valid = true;
	get_text(root, "leader", c->sync_leader, sizeof(c->sync_leader));
	get_text(root, "sync_standby", c->sync_standby, sizeof(c->sync_standby));
	get_count(root, "quorum", &c->has_sync_quorum, &c->sync_quorum);
out_free_root:
	cJSON_Delete(root);
}

static void parse_failover(const char *value, size_t len, struct dcs_cluster *c)
{
	cJSON *root = cJSON_ParseWithLength(value, len);
	const char *colon;

	if (cJSON_IsObject(root)) {
		c->failover_valid = true;
		get_text(root, "leader", c->failover_leader, sizeof(c->failover_leader));
		get_text(root, "member", c->failover_member, sizeof(c->failover_member));
		get_text(root, "scheduled_at", c->failover_scheduled_at,
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
		get_count(root, "optime", &c->has_optime, &c->optime_lsn);
	cJSON_Delete(root);
}

/* Stores one key of the prefix into the view. Returns false only on a hostile reply shape. */
static bool store_kv(struct dcs_cluster *c, const char *suffix, const char *value, size_t len,
		     int64_t create_rev, int64_t mod_rev, uint64_t lease)
{
	unsigned kind = dcs_key_kind(suffix);

	switch (kind) {
	case DCS_CHANGE_LEADER:
		c->has_leader = true;
		c->leader_oversized = !copy_text(c->leader, sizeof(c->leader), value, len);
		if (c->leader_oversized)
			c->leader[0] = '\0';
		c->leader_create_revision = create_rev;
		c->leader_mod_revision = mod_rev;
		c->leader_lease = lease;
		break;
	case DCS_CHANGE_INITIALIZE:
		c->has_initialize = true;
		if (!copy_text(c->initialize, sizeof(c->initialize), value, len))
			c->initialize[0] = '\0';
		c->initialize_mod_revision = mod_rev;
		break;
	case DCS_CHANGE_CONFIG:
		c->has_config = true;
		c->config_mod_revision = mod_rev;
		c->config_oversized = !copy_text(c->config, sizeof(c->config), value, len);
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
			c->status_oversized = !copy_text(c->status, sizeof(c->status), value, len);
			if (c->status_oversized)
				c->status[0] = '\0';
			parse_status(value, len, c);
		} else if (!c->has_optime) {
			/* Legacy optime/leader: only when status gave none (keys come sorted,
			 * "optime/" before "status": a valid status overrides it). */
			int64_t v;
			char text[DCS_INT_TEXT_MAX];
			if (copy_text(text, sizeof(text), value, len) &&
			    num_parse_i64(text, 0, INT64_MAX, &v) == 0) {
				c->has_optime = true;
				c->optime_lsn = v;
			}
		}
		break;
	case DCS_CHANGE_HISTORY:
		c->has_history = true;
		c->history_mod_revision = mod_rev;
		c->history_oversized = !copy_text(c->history, sizeof(c->history), value, len);
		if (c->history_oversized)
			c->history[0] = '\0';
		break;
	case DCS_CHANGE_FAILSAFE:
		c->has_failsafe = true;
		c->failsafe_mod_revision = mod_rev;
		c->failsafe_oversized = !copy_text(c->failsafe, sizeof(c->failsafe), value, len);
		if (c->failsafe_oversized)
			c->failsafe[0] = '\0';
		break;
	case DCS_CHANGE_TERM: {
		int64_t v;
		char text[DCS_INT_TEXT_MAX];
		c->has_term = true;
		c->term_mod_revision = mod_rev;
		/* Plain digits only: no sign, no spaces. */
		if (copy_text(text, sizeof(text), value, len) && isdigit((unsigned char)text[0]) &&
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
	return true;
}

int dcs_codec_parse_cluster(const char *body, size_t len, const char *prefix,
			    struct dcs_cluster *out, char *msg, size_t msglen)
{
	cJSON *root = parse_body(body, len, msg, msglen);
	struct dcs_cluster *c;
	const cJSON *kvs, *kv;
	size_t plen = strlen(prefix);
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
		msgf(msg, msglen, "range reply header is mistyped");
		goto out_free_c;
	}
	kvs = get_array(root, "kvs", &ok);
	if (!ok) {
		msgf(msg, msglen, "range reply \"kvs\" is not a list");
		goto out_free_c;
	}
	cJSON_ArrayForEach(kv, kvs)
	{
		int64_t create_rev, mod_rev;
		uint64_t lease;
		size_t klen, vlen;
		char *key, *value;

		if (!cJSON_IsObject(kv) ||
		    !get_i64(kv, "create_revision", 0, INT64_MAX, &create_rev) ||
		    !get_i64(kv, "mod_revision", 0, INT64_MAX, &mod_rev) ||
		    !get_u64(kv, "lease", &lease)) {
			msgf(msg, msglen, "range reply has a mistyped key-value");
			goto out_free_c;
		}
		key = get_b64(kv, "key", &klen);
		if (key == NULL) {
			msgf(msg, msglen, "range reply has a key that is not base64");
			goto out_free_c;
		}
		if (klen <= plen || klen >= DCS_KEY_MAX || memchr(key, '\0', klen) ||
		    strncmp(key, prefix, plen) != 0) {
			msgf(msg, msglen, "range reply has a key outside \"%s\"", prefix);
			free(key);
			goto out_free_c;
		}
		value = get_b64(kv, "value", &vlen);
		if (value == NULL) {
			msgf(msg, msglen, "range reply has a value that is not base64");
			free(key);
			goto out_free_c;
		}
		store_kv(c, key + plen, value, vlen, create_rev, mod_rev, lease);
		free(value);
		free(key);
	}
	*out = *c;
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
	res = get_object(root, "result", &ok);
	if (!ok || res == NULL) {
		msgf(msg, msglen, "watch message has no result");
		goto out_free_root;
	}
	if (!parse_header_obj(res, &r.revision) || !get_bool(res, "created", &r.created) ||
	    !get_bool(res, "canceled", &r.canceled) ||
	    !get_i64(res, "compact_revision", 0, INT64_MAX, &r.compact_revision)) {
		msgf(msg, msglen, "watch message is mistyped");
		goto out_free_root;
	}
	reason = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");
	if (cJSON_IsString(reason))
		copy_printable(r.cancel_reason, sizeof(r.cancel_reason), reason->valuestring,
			       strlen(reason->valuestring));
	events = get_array(res, "events", &ok);
	if (!ok) {
		msgf(msg, msglen, "watch events are not a list");
		goto out_free_root;
	}
	cJSON_ArrayForEach(ev, events)
	{
		const cJSON *kv, *type;
		int64_t mod;
		size_t klen;
		char *key;

		kv = cJSON_IsObject(ev) ? get_object(ev, "kv", &ok) : NULL;
		type = cJSON_IsObject(ev) ? cJSON_GetObjectItemCaseSensitive(ev, "type") : NULL;
		if (!ok || kv == NULL || (type && !cJSON_IsString(type) && !cJSON_IsNumber(type)) ||
		    !get_i64(kv, "mod_revision", 0, INT64_MAX, &mod)) {
			msgf(msg, msglen, "watch event is mistyped");
			goto out_free_root;
		}
		key = get_b64(kv, "key", &klen);
		if (key == NULL || klen < plen || memchr(key, '\0', klen) ||
		    strncmp(key, prefix, plen) != 0) {
			msgf(msg, msglen, "watch event key is malformed or outside \"%s\"", prefix);
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

/* ---- names and small helpers shared with the transport --------------------------------------- */

static const char *const dcs_error_names[] = {
	[0] = "DCS_OK",
	[-DCS_ERR_TRANSIENT] = "DCS_ERR_TRANSIENT",
	[-DCS_ERR_CONFLICT] = "DCS_ERR_CONFLICT",
	[-DCS_ERR_LEASE_NOT_FOUND] = "DCS_ERR_LEASE_NOT_FOUND",
	[-DCS_ERR_PERMISSION] = "DCS_ERR_PERMISSION",
	[-DCS_ERR_AUTH] = "DCS_ERR_AUTH",
	[-DCS_ERR_INVALID_RESPONSE] = "DCS_ERR_INVALID_RESPONSE",
	[-DCS_ERR_COMPACTED] = "DCS_ERR_COMPACTED",
	[-DCS_ERR_REQUEST] = "DCS_ERR_REQUEST",
	[-DCS_ERR_INVALID_ARGUMENT] = "DCS_ERR_INVALID_ARGUMENT",
	[-DCS_ERR_NO_MEMORY] = "DCS_ERR_NO_MEMORY",
};

static const char *const dcs_error_texts[] = {
	[0] = "success",
	[-DCS_ERR_TRANSIENT] = "etcd is not reachable right now",
	[-DCS_ERR_CONFLICT] = "compare failed",
	[-DCS_ERR_LEASE_NOT_FOUND] = "lease not found",
	[-DCS_ERR_PERMISSION] = "permission denied",
	[-DCS_ERR_AUTH] = "authentication failed",
	[-DCS_ERR_INVALID_RESPONSE] = "invalid response from etcd",
	[-DCS_ERR_COMPACTED] = "revision compacted",
	[-DCS_ERR_REQUEST] = "request rejected by etcd",
	[-DCS_ERR_INVALID_ARGUMENT] = "invalid argument",
	[-DCS_ERR_NO_MEMORY] = "out of memory",
};

#define DCS_ERROR_COUNT (sizeof(dcs_error_names) / sizeof(dcs_error_names[0]))

const char *dcs_error_name(int rc)
{
	if (rc > 0 || (size_t)-rc >= DCS_ERROR_COUNT)
		return "DCS_ERR_UNKNOWN";
	return dcs_error_names[-rc];
}

const char *dcs_strerror(int rc)
{
	if (rc > 0 || (size_t)-rc >= DCS_ERROR_COUNT)
		return "unknown error";
	return dcs_error_texts[-rc];
}

bool dcs_error_is_transient(int rc)
{
	return rc == DCS_ERR_TRANSIENT || rc == DCS_ERR_INVALID_RESPONSE || rc == DCS_ERR_COMPACTED;
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
