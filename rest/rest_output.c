/*
 * rest_output.c - the renderer's words and writing: Patroni's vocabularies (roles, states,
 * status reasons, the Server header), JSON and text output with a sticky error, the helpers
 * every page reads the snapshot with, and the finished responses (text, bare status line,
 * Python's HTML error page).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "enum_name.h"
#include "err.h"
#include "num.h"
#include "rest.h"
#include "rest_internal.h"

/* ---- vocabularies ---- */

static const char *const role_names[] = {
	[REST_ROLE_UNINITIALIZED] = "uninitialized",
	[REST_ROLE_PRIMARY] = "primary",
	[REST_ROLE_REPLICA] = "replica",
	[REST_ROLE_STANDBY_LEADER] = "standby_leader",
	[REST_ROLE_DEMOTED] = "demoted",
	[REST_ROLE_PROMOTED] = "promoted",
};

const char *rest_role_name(enum rest_role role, const char *primary_word)
{
	if (role == REST_ROLE_PRIMARY)
		return primary_word ? primary_word : "primary";
	return ENUM_NAME(role_names, role);
}

int rest_role_parse(const char *s, enum rest_role *out)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "master") == 0) {
		*out = REST_ROLE_PRIMARY;
		return 0;
	}
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (role_names[i] && strcmp(s, role_names[i]) == 0) {
			*out = (enum rest_role)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const state_names[] = {
	[REST_DB_UNKNOWN] = "unknown",
	[REST_DB_RUNNING] = "running",
	[REST_DB_STARTING] = "starting",
	[REST_DB_STOPPED] = "stopped",
	[REST_DB_STOPPING] = "stopping",
	[REST_DB_RESTARTING] = "restarting",
	[REST_DB_CRASHED] = "crashed",
	[REST_DB_CREATING_REPLICA] = "creating replica",
	[REST_DB_INITIALIZING] = "initializing new cluster",
	[REST_DB_CUSTOM_BOOTSTRAP] = "running custom bootstrap script",
	[REST_DB_BOOTSTRAP_STARTING] = "starting after custom bootstrap",
	[REST_DB_START_FAILED] = "start failed",
	[REST_DB_RESTART_FAILED] = "restart failed",
	[REST_DB_STOP_FAILED] = "stop failed",
	[REST_DB_INITDB_FAILED] = "initdb failed",
	[REST_DB_CUSTOM_BOOTSTRAP_FAILED] = "custom bootstrap failed",
};

const char *rest_db_state_name(enum rest_db_state state)
{
	if ((unsigned)state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "unknown";
}

int rest_db_state_parse(const char *s, enum rest_db_state *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (state_names[i] && strcmp(s, state_names[i]) == 0) {
			*out = (enum rest_db_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *rest_status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Request Entity Too Large";
	case 422:
		return "Unprocessable Entity";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

/* The "explain" line of Python's http.server error page. */
static const char *status_explain(int status)
{
	switch (status) {
	case 400:
		return "Bad request syntax or unsupported method";
	case 401:
		return "No permission -- see authorization schemes";
	case 403:
		return "Request forbidden -- authorization will not help";
	case 404:
		return "Nothing matches the given URI";
	case 409:
		return "Request conflict";
	case 411:
		return "Client must specify Content-Length";
	case 413:
		return "Entity is too large";
	case 431:
		return "The server is unwilling to process the request because its header fields "
		       "are "
		       "too large";
	case 500:
		return "Server got itself in trouble";
	case 501:
		return "Server does not support this operation";
	case 502:
		return "Invalid responses from another server/proxy";
	case 503:
		return "The server cannot process the request due to a high load";
	default:
		return rest_status_reason(status);
	}
}

const char *rest_server_header(const struct rest_options *opts, const struct rest_snapshot *snap,
			       char *buf, size_t cap)
{
	switch (opts->server_tokens) {
	case REST_TOKENS_PRODUCT_ONLY:
		return "Patroni";
	case REST_TOKENS_MINIMAL:
		if (snap && snap->version[0] &&
		    buf_format(buf, cap, "Patroni/%s", snap->version) == 0)
			return buf;
		return "Patroni";
	case REST_TOKENS_ORIGINAL:
	default:
		return "gsha/" GSHA_VERSION;
	}
}

void rest_options_init(struct rest_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	buf_copy_or_clear(opts->listen_host, sizeof(opts->listen_host), "0.0.0.0");
	opts->listen_port = 8008;
	opts->server_tokens = REST_TOKENS_ORIGINAL;
	opts->verify_client = REST_VERIFY_NONE;
}

/* ---- output with a sticky error ---- */

void rest_o_put(struct out *o, const char *s)
{
	int rc;

	if (o->err)
		return;
	rc = buf_puts(&o->b, s);
	if (rc)
		o->err = rc;
}

void rest_o_printf(struct out *o, const char *fmt, ...)
{
	char tmp[SCRATCH_MAX * 16];
	char *big;
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->err = -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(tmp)) {
		rest_o_put(o, tmp);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		o->err = -ENOMEM;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rest_o_put(o, big);
	free(big);
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, or 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && n >= 2 && (s[1] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
		return *cp >= 0x80 ? 2 : 0;
	}
	if ((s[0] & 0xF0) == 0xE0 && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
		      (s[2] & 0x3F);
		return (*cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF)) ? 3 : 0;
	}
	if ((s[0] & 0xF8) == 0xF0 && n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
		      ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		return (*cp >= 0x10000 && *cp <= 0x10FFFF) ? 4 : 0;
	}
	return 0;
}

/* A JSON string the way Python's json.dumps writes it (ensure_ascii: non-ASCII as \uXXXX;
 * invalid UTF-8 becomes U+FFFD). */
void rest_o_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	rest_o_put(o, "\"");
	while (n > 0 && !o->err) {
		uint32_t cp;
		size_t len = utf8_decode(p, n, &cp);

		if (len == 0) {
			cp = 0xFFFD;
			len = 1;
		}
		switch (cp) {
		case '"':
			rest_o_put(o, "\\\"");
			break;
		case '\\':
			rest_o_put(o, "\\\\");
			break;
		case '\n':
			rest_o_put(o, "\\n");
			break;
		case '\r':
			rest_o_put(o, "\\r");
			break;
		case '\t':
			rest_o_put(o, "\\t");
			break;
		case '\b':
			rest_o_put(o, "\\b");
			break;
		case '\f':
			rest_o_put(o, "\\f");
			break;
		default:
			if (cp < 0x20 || (cp >= 0x7F && cp < 0x10000)) {
				if (cp == 0x7F) {
					rest_o_put(o, "\x7f");
				} else {
					rest_o_printf(o, "\\u%04x", (unsigned)cp);
				}
			} else if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;

				rest_o_printf(o, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)),
					      (unsigned)(0xDC00 + (v & 0x3FF)));
			} else {
				char c[2] = { (char)cp, 0 };

				rest_o_put(o, c);
			}
		}
		p += len;
		n -= len;
	}
	rest_o_put(o, "\"");
}

/* Starts a key in an object: ", " separator unless first. */
void rest_o_key(struct out *o, bool *first, const char *key)
{
	if (!*first)
		rest_o_put(o, ", ");
	*first = false;
	rest_o_str(o, key);
	rest_o_put(o, ": ");
}

/* A number the way Python's repr(float) would print it: shortest round-trip form. */
void rest_o_double(struct out *o, double v)
{
	char tmp[SCRATCH_MAX];

	if (!isfinite(v)) {
		rest_o_put(o, v != v ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
		return;
	}
	if (num_is_whole(v) && fabs(v) < 1e16) {
		rest_o_printf(o, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	rest_o_put(o, tmp);
}

/* Any cJSON value in Python json.dumps style (", " and ": " separators). */
void rest_o_cjson(struct out *o, const cJSON *item)
{
	bool first = true;
	const cJSON *c;

	if (cJSON_IsObject(item)) {
		rest_o_put(o, "{");
		cJSON_ArrayForEach(c, item)
		{
			rest_o_key(o, &first, c->string ? c->string : "");
			rest_o_cjson(o, c);
		}
		rest_o_put(o, "}");
	} else if (cJSON_IsArray(item)) {
		rest_o_put(o, "[");
		cJSON_ArrayForEach(c, item)
		{
			if (!first)
				rest_o_put(o, ", ");
			first = false;
			rest_o_cjson(o, c);
		}
		rest_o_put(o, "]");
	} else if (cJSON_IsString(item)) {
		rest_o_str(o, item->valuestring ? item->valuestring : "");
	} else if (cJSON_IsNumber(item)) {
		rest_o_double(o, item->valuedouble);
	} else if (cJSON_IsTrue(item)) {
		rest_o_put(o, "true");
	} else if (cJSON_IsFalse(item)) {
		rest_o_put(o, "false");
	} else {
		rest_o_put(o, "null");
	}
}

/* "2026-11-21 05:30:06.829330+00:00" (Python str(datetime) in UTC). */
void rest_o_pg_timestamp(struct out *o, int64_t wall_us)
{
	time_t secs = (time_t)(wall_us / 1000000);
	int64_t frac = wall_us % 1000000;
	struct tm tm;
	char tmp[SCRATCH_MAX];

	if (frac < 0) {
		frac += 1000000;
		secs -= 1;
	}
	if (!gmtime_r(&secs, &tm) || strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		rest_o_put(o, "null");
		return;
	}
	if (frac)
		rest_o_printf(o, "\"%s.%06" PRId64 "+00:00\"", tmp, frac);
	else
		rest_o_printf(o, "\"%s+00:00\"", tmp);
}

/* Epoch seconds as Python prints a float ("1795239490.512906", "0"). */
void rest_o_epoch(struct out *o, int64_t wall_us)
{
	if (wall_us == 0) {
		rest_o_put(o, "0");
		return;
	}
	rest_o_double(o, (double)wall_us / 1e6);
	if (wall_us % 1000000 == 0)
		rest_o_put(o, ".0");
}

static void o_tag_value(struct out *o, const struct rest_tag *t)
{
	if (t->type == REST_TAG_STRING)
		rest_o_str(o, t->value);
	else if (t->value[0])
		rest_o_put(o, t->value);
	else
		rest_o_put(o, "null");
}

void rest_o_tags(struct out *o, const struct rest_tag *tags, int count)
{
	bool first = true;

	rest_o_put(o, "{");
	for (int i = 0; i < count; i++) {
		rest_o_key(o, &first, tags[i].key);
		o_tag_value(o, &tags[i]);
	}
	rest_o_put(o, "}");
}

/* ---- helpers over the snapshot ---- */

const struct rest_tag *rest_find_tag(const struct rest_snapshot *s, const char *key)
{
	int n = s->tag_count < 0 ? 0
				 : (s->tag_count > REST_TAGS_MAX ? REST_TAGS_MAX : s->tag_count);

	for (int i = 0; i < n; i++)
		if (strcmp(s->tags[i].key, key) == 0)
			return &s->tags[i];
	return NULL;
}

int rest_clamp_count(int n, int max)
{
	return n < 0 ? 0 : (n > max ? max : n);
}

bool rest_tag_true(const struct rest_snapshot *s, const char *key)
{
	const struct rest_tag *t = rest_find_tag(s, key);
	bool v = false;

	if (!t)
		return false;
	if (num_parse_bool(t->value, &v) != 0)
		return t->value[0] != '\0' && t->type == REST_TAG_STRING; /* truthy string */
	return v;
}

const char *rest_primary_word(const struct rest_options *opts)
{
	return opts->legacy_master_role ? "master" : "primary";
}

/* The DCS view is present when the last successful read is younger than ttl. */
bool rest_dcs_ok(const struct rest_snapshot *s, int64_t now_ms)
{
	return s->dcs_last_seen_mono_ms > 0 && now_ms - s->dcs_last_seen_mono_ms < s->ttl_ms;
}

/* The lease is provably held: the lock and a deadline in the future. */
bool rest_lease_valid(const struct rest_snapshot *s, int64_t now_ms)
{
	return s->has_lock && now_ms < s->lease_deadline_ms;
}

bool rest_is_replica_role(const struct rest_snapshot *s)
{
	return s->role == REST_ROLE_REPLICA;
}

/* ---- responses ---- */

int rest_finish(struct out *o, struct rest_response *out, int status, const char *ctype, bool bare)
{
	char *body;

	if (o->err) {
		buf_done(&o->b);
		return o->err == -ENOMEM ? -ENOMEM : -ENOBUFS;
	}
	memset(out, 0, sizeof(*out));
	out->status = status;
	out->bare = bare;
	out->content_type = ctype;
	out->body_len = o->b.len;
	body = buf_steal(&o->b);
	if (!body) {
		body = strdup("");
		if (!body)
			return -ENOMEM;
	}
	out->body = body;
	return 0;
}

int rest_respond_bare(struct rest_response *out, int status)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	out->bare = true;
	out->content_type = NULL;
	return 0;
}

int rest_respond_text(struct rest_response *out, int status, const char *text)
{
	struct out o = { .err = 0 };

	buf_init(&o.b, REST_RESPONSE_MAX);
	rest_o_put(&o, text);
	return rest_finish(&o, out, status, "text/html", false);
}

/* Python http.server's send_error page. */
int rest_respond_error_page(struct rest_response *out, int status)
{
	struct out o = { .err = 0 };
	int rc;

	buf_init(&o.b, REST_RESPONSE_MAX);
	rest_o_printf(&o,
		      "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n"
		      "        <meta charset=\"utf-8\">\n"
		      "        <title>Error response</title>\n    </head>\n    <body>\n"
		      "        <h1>Error response</h1>\n        <p>Error code: %d</p>\n",
		      status);
	rest_o_printf(&o, "        <p>Message: %s.</p>\n", rest_status_reason(status));
	rest_o_printf(&o, "        <p>Error code explanation: %d - ", status);
	rest_o_put(&o, status_explain(status));
	rest_o_put(&o, ".</p>\n    </body>\n</html>\n");
	rc = rest_finish(&o, out, status, "text/html;charset=utf-8", false);
	if (rc == 0)
		out->html_error = true;
	return rc;
}

/* Exposed to the server for transport-level errors (413, 431). */
int rest_response_error_page(struct rest_response *out, int status)
{
	return rest_respond_error_page(out, status);
}

void rest_response_done(struct rest_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}
