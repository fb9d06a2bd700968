/*
 * rest_render.c - the pure half of the REST API: request + snapshot -> status code and body.
 *
 * No sockets, no threads, no clock: the caller passes now_mono_ms/now_wall_ms in the request.
 * The only side effects are the action callbacks, which the caller injects. Everything follows
 * Patroni 4.x as recorded in patroni-compat.md section 1, with one deliberate difference: the
 * primary checks also require the leader lease deadline to lie in the future.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "num.h"
#include "rest.h"

/* A query parameter value or key after percent-decoding. */
#define QUERY_VALUE_MAX 256
/* "tag_" + key. */
#define TAG_PREFIX "tag_"
/* Scratch for one formatted timestamp or number. */
#define SCRATCH_MAX 64

/* Sets a human message of bounded size; the texts and formats used here always fit, and an
 * impossible overflow leaves an empty message rather than a cut one. */
static void msg_copy(char *dst, size_t cap, const char *s)
{
	if (buf_copy(dst, cap, s) != 0)
		dst[0] = '\0';
}

static void msg_format(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msg_format(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		dst[0] = '\0';
}

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
	if ((unsigned)role < sizeof(role_names) / sizeof(role_names[0]) && role_names[role])
		return role_names[role];
	return "unknown";
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

/* patroni_postgres_state values (4.1.4); -1 = not listed there (unknown). */
static const int state_metric[] = {
	[REST_DB_UNKNOWN] = -1,		  [REST_DB_RUNNING] = 5,
	[REST_DB_STARTING] = 6,		  [REST_DB_STOPPED] = 12,
	[REST_DB_STOPPING] = 11,	  [REST_DB_RESTARTING] = 9,
	[REST_DB_CRASHED] = 14,		  [REST_DB_CREATING_REPLICA] = 4,
	[REST_DB_INITIALIZING] = 0,	  [REST_DB_CUSTOM_BOOTSTRAP] = 2,
	[REST_DB_BOOTSTRAP_STARTING] = 7, [REST_DB_START_FAILED] = 8,
	[REST_DB_RESTART_FAILED] = 10,	  [REST_DB_STOP_FAILED] = 13,
	[REST_DB_INITDB_FAILED] = 1,	  [REST_DB_CUSTOM_BOOTSTRAP_FAILED] = 3,
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
	msg_copy(opts->listen_host, sizeof(opts->listen_host), "0.0.0.0");
	opts->listen_port = 8008;
	opts->server_tokens = REST_TOKENS_ORIGINAL;
	opts->verify_client = REST_VERIFY_NONE;
}

/* ---- output with a sticky error ---- */

struct out {
	struct buf b;
	int err;
};

static void o_put(struct out *o, const char *s)
{
	int rc;

	if (o->err)
		return;
	rc = buf_puts(&o->b, s);
	if (rc)
		o->err = rc;
}

static void o_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void o_printf(struct out *o, const char *fmt, ...)
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
		o_put(o, tmp);
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
	o_put(o, big);
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
static void o_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	o_put(o, "\"");
	while (n > 0 && !o->err) {
		uint32_t cp;
		size_t len = utf8_decode(p, n, &cp);

		if (len == 0) {
			cp = 0xFFFD;
			len = 1;
		}
		switch (cp) {
		case '"':
			o_put(o, "\\\"");
			break;
		case '\\':
			o_put(o, "\\\\");
			break;
		case '\n':
			o_put(o, "\\n");
			break;
		case '\r':
			o_put(o, "\\r");
			break;
		case '\t':
			o_put(o, "\\t");
			break;
		case '\b':
			o_put(o, "\\b");
			break;
		case '\f':
			o_put(o, "\\f");
			break;
		default:
			if (cp < 0x20 || (cp >= 0x7F && cp < 0x10000)) {
				if (cp == 0x7F) {
					o_put(o, "\x7f");
				} else {
					o_printf(o, "\\u%04x", (unsigned)cp);
				}
			} else if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;

				o_printf(o, "\\u%04x\\u%04x", (unsigned)(0xD800 + (v >> 10)),
					 (unsigned)(0xDC00 + (v & 0x3FF)));
			} else {
				char c[2] = { (char)cp, 0 };

				o_put(o, c);
			}
		}
		p += len;
		n -= len;
	}
	o_put(o, "\"");
}

/* Starts a key in an object: ", " separator unless first. */
static void o_key(struct out *o, bool *first, const char *key)
{
	if (!*first)
		o_put(o, ", ");
	*first = false;
	o_str(o, key);
	o_put(o, ": ");
}

/* A number the way Python's repr(float) would print it: shortest round-trip form. */
static void o_double(struct out *o, double v)
{
	char tmp[SCRATCH_MAX];

	if (!isfinite(v)) {
		o_put(o, v != v ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
		return;
	}
	if (v == floor(v) && fabs(v) < 1e16) {
		o_printf(o, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	o_put(o, tmp);
}

/* Any cJSON value in Python json.dumps style (", " and ": " separators). */
static void o_cjson(struct out *o, const cJSON *item)
{
	bool first = true;
	const cJSON *c;

	if (cJSON_IsObject(item)) {
		o_put(o, "{");
		cJSON_ArrayForEach(c, item)
		{
			o_key(o, &first, c->string ? c->string : "");
			o_cjson(o, c);
		}
		o_put(o, "}");
	} else if (cJSON_IsArray(item)) {
		o_put(o, "[");
		cJSON_ArrayForEach(c, item)
		{
			if (!first)
				o_put(o, ", ");
			first = false;
			o_cjson(o, c);
		}
		o_put(o, "]");
	} else if (cJSON_IsString(item)) {
		o_str(o, item->valuestring ? item->valuestring : "");
	} else if (cJSON_IsNumber(item)) {
		o_double(o, item->valuedouble);
	} else if (cJSON_IsTrue(item)) {
		o_put(o, "true");
	} else if (cJSON_IsFalse(item)) {
		o_put(o, "false");
	} else {
		o_put(o, "null");
	}
}

/* "2026-11-21 05:30:06.829330+00:00" (Python str(datetime) in UTC). */
static void o_pg_timestamp(struct out *o, int64_t wall_us)
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
		o_put(o, "null");
		return;
	}
	if (frac)
		o_printf(o, "\"%s.%06" PRId64 "+00:00\"", tmp, frac);
	else
		o_printf(o, "\"%s+00:00\"", tmp);
}

/* Epoch seconds as Python prints a float ("1795239490.512906", "0"). */
static void o_epoch(struct out *o, int64_t wall_us)
{
	if (wall_us == 0) {
		o_put(o, "0");
		return;
	}
	o_double(o, (double)wall_us / 1e6);
	if (wall_us % 1000000 == 0)
		o_put(o, ".0");
}

static void o_tag_value(struct out *o, const struct rest_tag *t)
{
	if (t->type == REST_TAG_STRING)
		o_str(o, t->value);
	else if (t->value[0])
		o_put(o, t->value);
	else
		o_put(o, "null");
}

static void o_tags(struct out *o, const struct rest_tag *tags, int count)
{
	bool first = true;

	o_put(o, "{");
	for (int i = 0; i < count; i++) {
		o_key(o, &first, tags[i].key);
		o_tag_value(o, &tags[i]);
	}
	o_put(o, "}");
}

/* ---- helpers over the snapshot ---- */

static const struct rest_tag *find_tag(const struct rest_snapshot *s, const char *key)
{
	int n = s->tag_count < 0 ? 0
				 : (s->tag_count > REST_TAGS_MAX ? REST_TAGS_MAX : s->tag_count);

	for (int i = 0; i < n; i++)
		if (strcmp(s->tags[i].key, key) == 0)
			return &s->tags[i];
	return NULL;
}

static int clamp_count(int n, int max)
{
	return n < 0 ? 0 : (n > max ? max : n);
}

static bool tag_true(const struct rest_snapshot *s, const char *key)
{
	const struct rest_tag *t = find_tag(s, key);
	bool v = false;

	if (!t)
		return false;
	if (num_parse_bool(t->value, &v) != 0)
		return t->value[0] != '\0' && t->type == REST_TAG_STRING; /* truthy string */
	return v;
}

static const char *primary_word(const struct rest_options *opts)
{
	return opts->legacy_master_role ? "master" : "primary";
}

/* The DCS view is present when the last successful read is younger than ttl. */
static bool dcs_ok(const struct rest_snapshot *s, int64_t now_ms)
{
	return s->dcs_last_seen_mono_ms > 0 && now_ms - s->dcs_last_seen_mono_ms < s->ttl_ms;
}

/* The lease is provably held: the lock and a deadline in the future. */
static bool lease_valid(const struct rest_snapshot *s, int64_t now_ms)
{
	return s->has_lock && now_ms < s->lease_deadline_ms;
}

static bool is_replica_role(const struct rest_snapshot *s)
{
	return s->role == REST_ROLE_REPLICA;
}

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
			*out = (uint64_t)llround(bytes);
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
	t = find_tag(f->snap, k + strlen(TAG_PREFIX));
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

static void o_status(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s,
		     int64_t now_ms)
{
	bool first = true;
	bool pg = s->pg_reachable;
	bool replica_like = s->role != REST_ROLE_PRIMARY;

	o_put(o, "{");
	o_key(o, &first, "state");
	o_str(o, rest_db_state_name(s->state));
	if (pg) {
		o_key(o, &first, "postmaster_start_time");
		if (s->postmaster_start_wall_us)
			o_pg_timestamp(o, s->postmaster_start_wall_us);
		else
			o_put(o, "null");
	}
	o_key(o, &first, "role");
	o_str(o, rest_role_name(s->role, primary_word(opts)));
	if (pg) {
		o_key(o, &first, "server_version");
		o_printf(o, "%d", s->server_version);
		o_key(o, &first, "xlog");
		if (!replica_like) {
			o_printf(o, "{\"location\": %" PRIu64 "}", s->wal_location_bytes);
		} else {
			o_printf(o,
				 "{\"received_location\": %" PRIu64
				 ", \"replayed_location\": %" PRIu64 ", \"replayed_timestamp\": ",
				 s->received_lsn_bytes, s->replayed_lsn_bytes);
			if (s->replayed_timestamp_wall_us)
				o_pg_timestamp(o, s->replayed_timestamp_wall_us);
			else
				o_put(o, "null");
			o_printf(o, ", \"paused\": %s}", s->replay_paused ? "true" : "false");
		}
		if (is_replica_role(s) && s->sync_mode == REST_SYNC_ON && s->is_sync_standby) {
			o_key(o, &first, "sync_standby");
			o_put(o, "true");
		}
		if (is_replica_role(s) && s->sync_mode == REST_SYNC_QUORUM &&
		    s->is_quorum_standby) {
			o_key(o, &first, "quorum_standby");
			o_put(o, "true");
		}
		o_key(o, &first, "timeline");
		o_printf(o, "%" PRId64, s->timeline);
		if (replica_like && s->replication_state != REST_REPLICATION_NONE) {
			o_key(o, &first, "replication_state");
			o_str(o, s->replication_state == REST_REPLICATION_STREAMING
					 ? "streaming"
					 : "in archive recovery");
		}
		int nw = clamp_count(s->walsender_count, REST_REPLICATION_MAX);
		if (nw > 0) {
			o_key(o, &first, "replication");
			o_put(o, "[");
			for (int i = 0; i < nw; i++) {
				const struct rest_walsender *w = &s->walsenders[i];
				bool f2 = true;

				if (i)
					o_put(o, ", ");
				o_put(o, "{");
				o_key(o, &f2, "usename");
				o_str(o, w->usename);
				o_key(o, &f2, "application_name");
				o_str(o, w->application_name);
				o_key(o, &f2, "client_addr");
				if (w->client_addr[0])
					o_str(o, w->client_addr);
				else
					o_put(o, "null");
				o_key(o, &f2, "state");
				o_str(o, w->state);
				o_key(o, &f2, "sync_state");
				o_str(o, w->sync_state);
				o_key(o, &f2, "sync_priority");
				o_printf(o, "%d", w->sync_priority);
				o_put(o, "}");
			}
			o_put(o, "]");
		}
	}
	if (s->paused) {
		o_key(o, &first, "pause");
		o_put(o, "true");
	}
	if (s->cluster_unlocked || !dcs_ok(s, now_ms)) {
		o_key(o, &first, "cluster_unlocked");
		o_put(o, "true");
	}
	if (s->failsafe_active) {
		o_key(o, &first, "failsafe_mode_is_active");
		o_put(o, "true");
	}
	o_key(o, &first, "dcs_last_seen");
	o_printf(o, "%" PRId64, s->dcs_last_seen_wall_ms / 1000);
	int nt = clamp_count(s->tag_count, REST_TAGS_MAX);
	if (nt > 0) {
		o_key(o, &first, "tags");
		o_tags(o, s->tags, nt);
	}
	if (s->system_identifier[0]) {
		o_key(o, &first, "database_system_identifier");
		o_str(o, s->system_identifier);
	}
	if (s->pending_restart) {
		int np = clamp_count(s->pending_count, REST_PENDING_MAX);

		o_key(o, &first, "pending_restart");
		o_put(o, "true");
		if (np > 0) {
			bool f2 = true;

			o_key(o, &first, "pending_restart_reason");
			o_put(o, "{");
			for (int i = 0; i < np; i++) {
				o_key(o, &f2, s->pending[i].name);
				o_put(o, "{\"old_value\": ");
				o_str(o, s->pending[i].old_value);
				o_put(o, ", \"new_value\": ");
				o_str(o, s->pending[i].new_value);
				o_put(o, "}");
			}
			o_put(o, "}");
		}
	}
	o_key(o, &first, "patroni");
	o_put(o, "{\"version\": ");
	o_str(o, s->version);
	o_put(o, ", \"scope\": ");
	o_str(o, s->scope);
	o_put(o, ", \"name\": ");
	o_str(o, s->name);
	o_put(o, "}");
	if (s->has_scheduled_restart) {
		o_key(o, &first, "scheduled_restart");
		o_put(o, "{\"schedule\": ");
		o_str(o, s->scheduled_restart_at);
		o_put(o, "}");
	}
	if (s->watchdog_failed) {
		o_key(o, &first, "watchdog_failed");
		o_put(o, "true");
	}
	o_put(o, "}");
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
	bool view = dcs_ok(s, now_ms);

	if (query_get(query, "lag", v, sizeof(v)) && parse_bytes(v, &max_lag) != 0)
		max_lag = UINT64_MAX;
	if (s->cluster_optime_bytes && max_lag != UINT64_MAX) {
		uint64_t replayed = s->pg_reachable ? s->replayed_lsn_bytes : 0;

		lagging = s->cluster_optime_bytes > replayed &&
			  s->cluster_optime_bytes - replayed > max_lag;
	}
	h.replica_ok = !tag_true(s, "noloadbalance") && !lagging && s->pg_reachable &&
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
	} else if (lease_valid(s, now_ms)) {
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
static int health_status(const struct rest_snapshot *s, const char *path, const char *query,
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
	} else if (dcs_ok(s, now_ms)) {
		bool sync =
			s->sync_mode == REST_SYNC_ON && s->is_sync_standby && is_replica_role(s);
		bool quorum = s->sync_mode == REST_SYNC_QUORUM && s->is_quorum_standby &&
			      is_replica_role(s);

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

static int liveness_status(const struct rest_snapshot *s, int64_t now_ms)
{
	int64_t threshold;

	if (!s)
		return 503;
	if (s->paused)
		return 200;
	threshold = s->ttl_ms;
	if (!(s->role == REST_ROLE_PRIMARY && s->state == REST_DB_RUNNING))
		threshold *= 2;
	return s->next_cycle_due_ms + threshold > now_ms ? 200 : 503;
}

static int readiness_status(const struct rest_snapshot *s, const char *query, int64_t now_ms)
{
	char v[QUERY_VALUE_MAX];
	uint64_t max_lag;
	uint64_t pos;

	if (!s)
		return 503;
	if (lease_valid(s, now_ms))
		return 200;
	if (s->state != REST_DB_RUNNING || !s->pg_reachable)
		return 503;
	if (!dcs_ok(s, now_ms) && !s->failsafe_active && s->received_lsn_bytes == 0)
		return 503;
	if (s->role == REST_ROLE_PRIMARY)
		return dcs_ok(s, now_ms) ? 200 : 503;
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

/* ---- monitoring bodies ---- */

static void o_metric(struct out *o, const struct rest_snapshot *s, const char *name,
		     const char *type, const char *help)
{
	o_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s", name, help, name, type, name);
	o_put(o, "{scope=");
	o_str(o, s->scope);
	o_put(o, ",name=");
	o_str(o, s->name);
	o_put(o, "} ");
}

static void o_metrics(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s,
		      int64_t now_ms)
{
	bool pg = s->pg_reachable;
	bool primary = s->role == REST_ROLE_PRIMARY;
	bool replica_like = !primary;
	char padded[REST_SHORT_MAX * 2] = "";
	const char *p = s->version;
	int64_t lease_left = 0;
	const struct rest_tag *prio;
	int64_t priority = 1;

	(void)opts;
	/* "4.1.4" -> "040104" */
	while (*p) {
		char part[REST_SHORT_MAX];
		size_t n = strcspn(p, ".");
		size_t used = strlen(padded);

		if (n >= sizeof(part))
			break;
		memcpy(part, p, n);
		part[n] = '\0';
		if (buf_format(padded + used, sizeof(padded) - used, "%s%s", n < 2 ? "0" : "",
			       part) != 0)
			break;
		p += n;
		if (*p == '.')
			p++;
	}
	o_metric(o, s, "patroni_version", "gauge", "Patroni semver without periods.");
	o_printf(o, "%s\n", padded[0] ? padded : "0");
	o_metric(o, s, "patroni_postgres_running", "gauge",
		 "Value is 1 if Postgres is running, 0 otherwise.");
	o_printf(o, "%d\n", s->state == REST_DB_RUNNING);
	o_metric(o, s, "patroni_postmaster_start_time", "gauge",
		 "Epoch seconds since Postgres started.");
	o_epoch(o, pg ? s->postmaster_start_wall_us : 0);
	o_put(o, "\n");
	o_metric(o, s, "patroni_primary", "gauge",
		 "Value is 1 if this node is the leader, 0 otherwise.");
	o_printf(o, "%d\n", primary);
	o_metric(o, s, "patroni_xlog_location", "counter",
		 "Current location of the Postgres transaction log, 0 if this node is not the "
		 "leader.");
	o_printf(o, "%" PRIu64 "\n", pg && primary ? s->wal_location_bytes : 0);
	o_metric(o, s, "patroni_standby_leader", "gauge",
		 "Value is 1 if this node is the standby_leader, 0 otherwise.");
	o_printf(o, "%d\n", s->role == REST_ROLE_STANDBY_LEADER);
	o_metric(o, s, "patroni_replica", "gauge",
		 "Value is 1 if this node is a replica, 0 otherwise.");
	o_printf(o, "%d\n", s->role == REST_ROLE_REPLICA);
	o_metric(o, s, "patroni_sync_standby", "gauge",
		 "Value is 1 if this node is a sync standby, 0 otherwise.");
	o_printf(o, "%d\n",
		 pg && is_replica_role(s) && s->sync_mode == REST_SYNC_ON && s->is_sync_standby);
	o_metric(o, s, "patroni_quorum_standby", "gauge",
		 "Value is 1 if this node is a quorum standby, 0 otherwise.");
	o_printf(o, "%d\n",
		 pg && is_replica_role(s) && s->sync_mode == REST_SYNC_QUORUM &&
			 s->is_quorum_standby);
	o_metric(o, s, "patroni_xlog_received_location", "counter",
		 "Current location of the received Postgres transaction log, 0 if this node is not "
		 "a replica.");
	o_printf(o, "%" PRIu64 "\n", pg && replica_like ? s->received_lsn_bytes : 0);
	o_metric(o, s, "patroni_xlog_replayed_location", "counter",
		 "Current location of the replayed Postgres transaction log, 0 if this node is not "
		 "a replica.");
	o_printf(o, "%" PRIu64 "\n", pg && replica_like ? s->replayed_lsn_bytes : 0);
	o_metric(o, s, "patroni_xlog_replayed_timestamp", "gauge",
		 "Current timestamp of the replayed Postgres transaction log, 0 if null.");
	o_epoch(o, pg && replica_like ? s->replayed_timestamp_wall_us : 0);
	o_put(o, "\n");
	o_metric(o, s, "patroni_xlog_paused", "gauge",
		 "Value is 1 if the Postgres xlog is paused, 0 otherwise.");
	o_printf(o, "%d\n", pg && replica_like && s->replay_paused);
	if (!pg || s->server_version >= 90600) {
		o_metric(o, s, "patroni_postgres_streaming", "gauge",
			 "Value is 1 if Postgres is streaming, 0 otherwise.");
		o_printf(o, "%d\n", pg && s->replication_state == REST_REPLICATION_STREAMING);
		o_metric(o, s, "patroni_postgres_in_archive_recovery", "gauge",
			 "Value is 1 if Postgres is replicating from archive, 0 otherwise.");
		o_printf(o, "%d\n",
			 pg && s->replication_state == REST_REPLICATION_ARCHIVE_RECOVERY);
	}
	o_metric(o, s, "patroni_postgres_server_version", "gauge",
		 "Version of Postgres (if running), 0 otherwise.");
	o_printf(o, "%d\n", pg ? s->server_version : 0);
	o_metric(o, s, "patroni_cluster_unlocked", "gauge",
		 "Value is 1 if the cluster is unlocked, 0 if locked.");
	o_printf(o, "%d\n", s->cluster_unlocked || !dcs_ok(s, now_ms));
	o_metric(o, s, "patroni_failsafe_mode_is_active", "gauge",
		 "Value is 1 if failsafe mode is active, 0 if inactive.");
	o_printf(o, "%d\n", s->failsafe_active);
	o_metric(o, s, "patroni_failsafe_mode_enabled", "gauge",
		 "Value is 1 if failsafe mode is enabled, 0 otherwise.");
	o_printf(o, "%d\n", s->failsafe_mode_enabled);
	bool in_failsafe = false;
	for (int i = 0; i < clamp_count(s->failsafe_count, REST_FAILSAFE_MAX); i++)
		if (s->has_failsafe_key && strcmp(s->failsafe[i].name, s->name) == 0)
			in_failsafe = true;
	o_metric(o, s, "patroni_failsafe_member", "gauge",
		 "Value is 1 if this node is a member of the failsafe key, 0 otherwise.");
	o_printf(o, "%d\n", in_failsafe);
	o_metric(o, s, "patroni_postgres_timeline", "gauge",
		 "Postgres timeline of this node (if running), 0 otherwise.");
	o_printf(o, "%" PRId64 "\n", pg ? s->timeline : 0);
	o_metric(o, s, "patroni_dcs_last_seen", "gauge",
		 "Epoch timestamp when DCS was last contacted successfully by Patroni.");
	o_printf(o, "%" PRId64 "\n", s->dcs_last_seen_wall_ms / 1000);
	o_metric(o, s, "patroni_pending_restart", "gauge",
		 "Value is 1 if the node needs a restart, 0 otherwise.");
	o_printf(o, "%d\n", s->pending_restart);
	o_metric(o, s, "patroni_is_paused", "gauge",
		 "Value is 1 if auto failover is disabled, 0 otherwise.");
	o_printf(o, "%d\n", s->paused);
	o_printf(o,
		 "# HELP patroni_postgres_state Numeric representation of Postgres state.\n"
		 "# Values: 0=initdb, 1=initdb_failed, 2=custom_bootstrap, "
		 "3=custom_bootstrap_failed, "
		 "4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, "
		 "9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, "
		 "14=crashed\n");
	o_printf(o, "# TYPE patroni_postgres_state gauge\npatroni_postgres_state{scope=");
	o_str(o, s->scope);
	o_put(o, ",name=");
	o_str(o, s->name);
	o_printf(o, "} %d\n",
		 (unsigned)s->state < sizeof(state_metric) / sizeof(state_metric[0])
			 ? state_metric[s->state]
			 : -1);
	prio = find_tag(s, "failover_priority");
	if (prio) {
		int64_t v;

		if (num_parse_i64(prio->value, INT32_MIN, INT32_MAX, &v) == 0)
			priority = v;
	}
	if (tag_true(s, "nofailover"))
		priority = 0;
	o_metric(
		o, s, "patroni_failover_priority", "gauge",
		"Value is 0 or less if the node is not allowed to be promoted, otherwise it is the "
		"failover priority.");
	o_printf(o, "%" PRId64 "\n", priority);

	/* gsha's own */
	if (lease_valid(s, now_ms))
		lease_left = s->lease_deadline_ms - now_ms;
	o_metric(o, s, "gsha_leader_lease_valid", "gauge",
		 "Value is 1 if this node holds the leader lock and its lease deadline is ahead.");
	o_printf(o, "%d\n", lease_valid(s, now_ms));
	o_metric(o, s, "gsha_leader_lease_remaining_seconds", "gauge",
		 "Seconds until the leader lease can no longer be proven, 0 if not held.");
	o_double(o, (double)lease_left / 1000.0);
	o_put(o, "\n");
	o_metric(o, s, "gsha_role_changes_total", "counter",
		 "Role transitions since the agent started.");
	o_printf(o, "%" PRIu64 "\n", s->role_changes);
	o_metric(o, s, "gsha_dcs_last_contact_age_seconds", "gauge",
		 "Seconds since the last successful DCS read, -1 if never.");
	if (s->dcs_last_seen_mono_ms > 0)
		o_double(o, (double)(now_ms - s->dcs_last_seen_mono_ms) / 1000.0);
	else
		o_put(o, "-1");
	o_put(o, "\n");
	o_metric(o, s, "gsha_loop_duration_seconds", "gauge", "Duration of the last HA cycle.");
	o_double(o, (double)s->loop_duration_ms / 1000.0);
	o_put(o, "\n");
}

/* "0/3042800" */
static void o_lsn_text(struct out *o, uint64_t lsn)
{
	o_printf(o, "\"%" PRIX64 "/%" PRIX64 "\"", lsn >> 32, lsn & 0xFFFFFFFFu);
}

static void o_cluster(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s)
{
	int n = clamp_count(s->member_count, REST_MEMBERS_MAX);
	int order[REST_MEMBERS_MAX];
	bool first_outer = true;

	(void)opts;
	for (int i = 0; i < n; i++)
		order[i] = i;
	/* insertion sort by name, as Patroni sorts members */
	for (int i = 1; i < n; i++) {
		int v = order[i], j = i - 1;

		while (j >= 0 && strcmp(s->members[order[j]].name, s->members[v].name) > 0) {
			order[j + 1] = order[j];
			j--;
		}
		order[j + 1] = v;
	}
	o_put(o, "{");
	o_key(o, &first_outer, "members");
	o_put(o, "[");
	for (int k = 0; k < n; k++) {
		const struct rest_member *m = &s->members[order[k]];
		bool first = true;
		const char *role;
		const char *state;

		if (m->is_leader)
			role = s->standby_cluster ? "standby_leader" : "leader";
		else if (m->is_sync_standby && s->sync_mode == REST_SYNC_QUORUM)
			role = "quorum_standby";
		else if (m->is_sync_standby && s->sync_mode == REST_SYNC_ON)
			role = "sync_standby";
		else
			role = "replica";
		state = (!m->is_leader && m->replication_state[0]) ? m->replication_state
								   : m->state;
		if (k)
			o_put(o, ", ");
		o_put(o, "{");
		o_key(o, &first, "name");
		o_str(o, m->name);
		o_key(o, &first, "role");
		o_str(o, role);
		o_key(o, &first, "state");
		o_str(o, state);
		o_key(o, &first, "api_url");
		o_str(o, m->api_url);
		if (m->host[0]) {
			o_key(o, &first, "host");
			o_str(o, m->host);
			if (m->port > 0) {
				o_key(o, &first, "port");
				o_printf(o, "%d", m->port);
			}
		}
		if (m->timeline > 0) {
			o_key(o, &first, "timeline");
			o_printf(o, "%" PRId64, m->timeline);
		}
		if (m->pending_restart) {
			o_key(o, &first, "pending_restart");
			o_put(o, "true");
		}
		int nt = clamp_count(m->tag_count, REST_MEMBER_TAGS_MAX);
		if (nt > 0) {
			o_key(o, &first, "tags");
			o_tags(o, m->tags, nt);
		}
		if (!m->is_leader) {
			const struct {
				const char *lag, *lsn;
				bool has;
				uint64_t v;
			} l[] = {
				{ "receive_lag", "receive_lsn", m->has_receive_lsn,
				  m->receive_lsn_bytes },
				{ "replay_lag", "replay_lsn", m->has_replay_lsn,
				  m->replay_lsn_bytes },
				{ "lag", "lsn", m->has_lsn, m->lsn_bytes },
			};
			for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
				o_key(o, &first, l[i].lag);
				if (!l[i].has) {
					o_put(o, "\"unknown\"");
					continue;
				}
				o_printf(o, "%" PRIu64,
					 s->cluster_optime_bytes > l[i].v
						 ? s->cluster_optime_bytes - l[i].v
						 : 0);
				o_key(o, &first, l[i].lsn);
				o_lsn_text(o, l[i].v);
			}
		}
		o_put(o, "}");
	}
	o_put(o, "]");
	o_key(o, &first_outer, "scope");
	o_str(o, s->scope);
	if (s->paused) {
		o_key(o, &first_outer, "pause");
		o_put(o, "true");
	}
	if (s->has_scheduled_switchover) {
		bool f2 = true;

		o_key(o, &first_outer, "scheduled_switchover");
		o_put(o, "{");
		o_key(o, &f2, "at");
		o_str(o, s->scheduled_switchover_at);
		if (s->scheduled_switchover_from[0]) {
			o_key(o, &f2, "from");
			o_str(o, s->scheduled_switchover_from);
		}
		if (s->scheduled_switchover_to[0]) {
			o_key(o, &f2, "to");
			o_str(o, s->scheduled_switchover_to);
		}
		o_put(o, "}");
	}
	o_put(o, "}");
}

static void o_history(struct out *o, const struct rest_snapshot *s)
{
	int n = clamp_count(s->history_count, REST_HISTORY_MAX);

	o_put(o, "[");
	for (int i = 0; i < n; i++) {
		const struct rest_history_row *r = &s->history[i];

		if (i)
			o_put(o, ", ");
		o_printf(o, "[%" PRId64 ", %" PRIu64 ", ", r->timeline, r->lsn_bytes);
		o_str(o, r->reason);
		if (r->timestamp[0]) {
			o_put(o, ", ");
			o_str(o, r->timestamp);
			if (r->new_leader[0]) {
				o_put(o, ", ");
				o_str(o, r->new_leader);
			}
		}
		o_put(o, "]");
	}
	o_put(o, "]");
}

static void o_failsafe(struct out *o, const struct rest_snapshot *s)
{
	bool first = true;

	o_put(o, "{");
	for (int i = 0; i < clamp_count(s->failsafe_count, REST_FAILSAFE_MAX); i++) {
		o_key(o, &first, s->failsafe[i].name);
		o_str(o, s->failsafe[i].api_url);
	}
	o_put(o, "}");
}

/* ---- responses ---- */

static int finish(struct out *o, struct rest_response *out, int status, const char *ctype,
		  bool bare)
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

static int respond_bare(struct rest_response *out, int status)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	out->bare = true;
	out->content_type = NULL;
	return 0;
}

static int respond_text(struct rest_response *out, int status, const char *text)
{
	struct out o = { .err = 0 };

	buf_init(&o.b, REST_RESPONSE_MAX);
	o_put(&o, text);
	return finish(&o, out, status, "text/html", false);
}

/* Python http.server's send_error page. */
static int respond_error_page(struct rest_response *out, int status)
{
	struct out o = { .err = 0 };
	int rc;

	buf_init(&o.b, REST_RESPONSE_MAX);
	o_printf(&o,
		 "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n"
		 "        <meta charset=\"utf-8\">\n"
		 "        <title>Error response</title>\n    </head>\n    <body>\n"
		 "        <h1>Error response</h1>\n        <p>Error code: %d</p>\n",
		 status);
	o_printf(&o, "        <p>Message: %s.</p>\n", rest_status_reason(status));
	o_printf(&o, "        <p>Error code explanation: %d - ", status);
	o_put(&o, status_explain(status));
	o_put(&o, ".</p>\n    </body>\n</html>\n");
	rc = finish(&o, out, status, "text/html;charset=utf-8", false);
	if (rc == 0)
		out->html_error = true;
	return rc;
}

/* Exposed to the server for transport-level errors (413, 431). */
int rest_response_error_page(struct rest_response *out, int status)
{
	return respond_error_page(out, status);
}

void rest_response_done(struct rest_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

/* ---- access control (patroni-compat.md 1.2) ---- */

static bool cidr_contains(const struct rest_cidr *c, int family, const unsigned char *addr)
{
	int bits = c->prefix_len;
	int i = 0;

	if (c->family != family)
		return false;
	for (; bits >= 8; bits -= 8, i++)
		if (c->addr[i] != addr[i])
			return false;
	if (bits > 0) {
		unsigned char mask = (unsigned char)(0xFF << (8 - bits));

		if ((c->addr[i] & mask) != (addr[i] & mask))
			return false;
	}
	return true;
}

int rest_cidr_parse(const char *s, struct rest_cidr *out)
{
	char host[REST_URL_MAX];
	const char *slash;
	struct rest_cidr c = { 0 };
	int max_len;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (buf_copy(host, sizeof(host), s) != 0)
		return -EINVAL;
	if (slash)
		host[slash - s] = '\0';
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		max_len = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		max_len = 128;
	} else {
		return -EINVAL;
	}
	c.prefix_len = max_len;
	if (slash && num_parse_int(slash + 1, 0, max_len, &c.prefix_len) != 0)
		return -EINVAL;
	*out = c;
	return 0;
}

/* Parses a client address; IPv4-mapped IPv6 addresses count as IPv4. */
static bool parse_ip(const char *ip, int *family, unsigned char *addr)
{
	if (!ip)
		return false;
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, addr) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF
		};

		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return true;
	}
	return false;
}

/* The host of an http(s)://host:port/... URL, as a literal address. */
static bool url_host_matches(const char *url, int family, const unsigned char *addr)
{
	const char *p = strstr(url, "://");
	char host[REST_URL_MAX];
	size_t n;
	unsigned char a[16];
	int fam;

	if (!p)
		return false;
	p += 3;
	if (*p == '[') {
		p++;
		n = strcspn(p, "]");
	} else {
		n = strcspn(p, ":/");
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	if (!parse_ip(host, &fam, a))
		return false;
	return fam == family && memcmp(a, addr, family == AF_INET ? 4 : 16) == 0;
}

/* Returns 0 when allowed, else fills *out with Patroni's refusal. */
static int check_access(const struct rest_options *opts, const struct rest_request *req,
			const struct rest_snapshot *snap, bool skip_members,
			struct rest_response *out, bool *refused)
{
	*refused = false;
	if (opts->allowlist_count > 0 || opts->allowlist_include_members) {
		unsigned char addr[16] = { 0 };
		int family = 0;
		bool ok = false;

		if (parse_ip(req->client_ip, &family, addr)) {
			for (int i = 0; i < clamp_count(opts->allowlist_count, REST_ALLOWLIST_MAX);
			     i++)
				if (cidr_contains(&opts->allowlist[i], family, addr))
					ok = true;
			if (!ok && opts->allowlist_include_members && !skip_members && snap) {
				for (int i = 0;
				     i < clamp_count(snap->member_count, REST_MEMBERS_MAX); i++)
					if (url_host_matches(snap->members[i].api_url, family,
							     addr))
						ok = true;
			}
		}
		if (!ok) {
			*refused = true;
			return respond_text(out, 403, "Access is denied");
		}
	}
	if (req->tls && opts->verify_client != REST_VERIFY_NONE && !req->client_cert_valid) {
		*refused = true;
		return respond_text(out, 403, "client certificate required");
	}
	if (opts->username[0]) {
		char plain[2 * REST_CREDENTIAL_MAX + 2];
		char expected[4 * (sizeof(plain) / 3 + 1) + 1];
		const char *reason = NULL;
		int rc;

		if (buf_format(plain, sizeof(plain), "%s:%s", opts->username, opts->password) != 0)
			return -EINVAL;
		/* base64 */
		{
			static const char tbl[] =
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			size_t n = strlen(plain), j = 0;

			for (size_t i = 0; i < n; i += 3) {
				uint32_t v = (uint32_t)(unsigned char)plain[i] << 16;

				if (i + 1 < n)
					v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
				if (i + 2 < n)
					v |= (unsigned char)plain[i + 2];
				expected[j++] = tbl[(v >> 18) & 63];
				expected[j++] = tbl[(v >> 12) & 63];
				expected[j++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
				expected[j++] = i + 2 < n ? tbl[v & 63] : '=';
			}
			expected[j] = '\0';
		}
		if (!req->authorization) {
			reason = "no auth header received";
		} else if (strncmp(req->authorization, "Basic ", 6) != 0) {
			reason = "not authenticated";
		} else {
			/* constant time over the expected length */
			const char *got = req->authorization + 6;
			size_t elen = strlen(expected), glen = strlen(got);
			unsigned char diff = (unsigned char)(elen != glen);

			for (size_t i = 0; i < elen; i++)
				diff |= (unsigned char)(expected[i] ^ (i < glen ? got[i] : 0));
			if (diff)
				reason = "not authenticated";
		}
		if (reason) {
			*refused = true;
			rc = respond_text(out, 401, reason);
			if (rc == 0)
				out->www_authenticate = true;
			return rc;
		}
	}
	return 0;
}

/* ---- request bodies ---- */

enum body_result {
	BODY_OK,
	BODY_MISSING_LENGTH, /* 411 */
	BODY_BAD,	     /* 400 */
};

/* Patroni's _read_json_content: returns the parsed object in *doc (caller frees) or {} for an
 * optional absent body. */
static enum body_result read_json(const struct rest_request *req, bool optional, cJSON **doc)
{
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
	d = cJSON_ParseWithLength(req->body, req->body_len);
	if (!d)
		return BODY_BAD;
	if (!cJSON_IsObject(d) || (!optional && !d->child)) {
		cJSON_Delete(d);
		return BODY_BAD;
	}
	*doc = d;
	return BODY_OK;
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

/* Days from 1970-01-01 for a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

enum ts_result {
	TS_OK,
	TS_NO_TIMEZONE,
	TS_UNPARSABLE,
};

/* Parses ISO 8601 "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]](Z|±HH[:MM])" into wall milliseconds and a
 * normalised "YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM" text. */
static enum ts_result parse_timestamp(const char *s, int64_t *wall_ms, char *norm, size_t cap)
{
	const char *p = s;
	int y, mo, d, h, mi, sec = 0, us = 0, tzh = 0, tzm = 0, sign = 0;
	int frac_digits = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	while (*p == ' ')
		p++;
	if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
	    !take_digits(&p, 2, &d))
		return TS_UNPARSABLE;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return TS_UNPARSABLE;
	p++;
	if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi))
		return TS_UNPARSABLE;
	if (*p == ':') {
		p++;
		if (!take_digits(&p, 2, &sec))
			return TS_UNPARSABLE;
		if (*p == '.' || *p == ',') {
			p++;
			while (isdigit((unsigned char)*p)) {
				if (frac_digits < 6) {
					us = us * 10 + (*p - '0');
					frac_digits++;
				}
				p++;
			}
			if (frac_digits == 0)
				return TS_UNPARSABLE;
			for (int i = frac_digits; i < 6; i++)
				us *= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
		return TS_UNPARSABLE;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return TS_UNPARSABLE;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return TS_NO_TIMEZONE;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!take_digits(&p, 2, &tzh))
			return TS_UNPARSABLE;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p) && !take_digits(&p, 2, &tzm))
			return TS_UNPARSABLE;
		if (tzh > 23 || tzm > 59)
			return TS_UNPARSABLE;
	} else {
		return TS_UNPARSABLE;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return TS_UNPARSABLE;
	int64_t offset_s = sign * (tzh * 3600 + tzm * 60);
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
	*wall_ms = secs * 1000 + us / 1000;
	if (us) {
		if (buf_format(norm, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02d:%02d", y, mo, d,
			       h, mi, sec, us, sign < 0 ? '-' : '+', tzh, tzm) != 0)
			return TS_UNPARSABLE;
	} else if (buf_format(norm, cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, h,
			      mi, sec, sign < 0 ? '-' : '+', tzh, tzm) != 0) {
		return TS_UNPARSABLE;
	}
	return TS_OK;
}

/* Patroni's parse_schedule: returns 0 when valid, else a status code with text in msg. */
static int parse_schedule(const cJSON *v, const char *action, int64_t now_wall_ms, int64_t *wall_ms,
			  char *norm, size_t cap, char *msg, size_t msgcap)
{
	enum ts_result r = TS_UNPARSABLE;

	if (cJSON_IsString(v) && v->valuestring)
		r = parse_timestamp(v->valuestring, wall_ms, norm, cap);
	if (r == TS_NO_TIMEZONE) {
		msg_format(msg, msgcap, "Timezone information is mandatory for the scheduled %s",
			   action);
		return 400;
	}
	if (r == TS_UNPARSABLE) {
		msg_copy(msg, msgcap,
			 "Unable to parse scheduled timestamp. It should be in an unambiguous "
			 "format, e.g. ISO 8601");
		return 422;
	}
	if (*wall_ms < now_wall_ms) {
		msg_format(msg, msgcap, "Cannot schedule %s in the past", action);
		return 422;
	}
	return 0;
}

/* Answers from an action callback's result. */
static int respond_action(struct rest_response *out, int rc, const struct rest_action_result *r)
{
	int ret;

	if (rc < 0 || r->status < 100 || r->status > 599)
		return respond_error_page(out, 503);
	if (r->html_error)
		return respond_error_page(out, r->status);
	ret = respond_text(out, r->status, r->text);
	if (ret == 0 && r->lsn[0])
		msg_copy(out->lsn_header, sizeof(out->lsn_header), r->lsn);
	return ret;
}

static int respond_unavailable(struct rest_response *out, const char *what)
{
	char text[REST_ACTION_TEXT_MAX];

	msg_format(text, sizeof(text), "%s is not available", what);
	return respond_text(out, 503, text);
}

static int do_switchover(const struct rest_request *req, const struct rest_snapshot *s,
			 const struct rest_actions *act, bool failover, struct rest_response *out)
{
	cJSON *doc;
	struct rest_switchover_request r;
	struct rest_action_result res;
	const char *action = failover ? "failover" : "switchover";
	char msg[REST_ACTION_TEXT_MAX] = "";
	int code = 0, rc;
	const cJSON *sched;

	switch (read_json(req, false, &doc)) {
	case BODY_MISSING_LENGTH:
		return respond_error_page(out, 411);
	case BODY_BAD:
		return respond_error_page(out, 400);
	case BODY_OK:
		break;
	}
	memset(&r, 0, sizeof(r));
	if (json_string(doc, "leader", r.leader, sizeof(r.leader)) != 0 ||
	    json_string(doc, "candidate", r.candidate, sizeof(r.candidate)) != 0) {
		cJSON_Delete(doc);
		return respond_error_page(out, 400);
	}
	if (!r.candidate[0] && json_string(doc, "member", r.candidate, sizeof(r.candidate)) != 0) {
		cJSON_Delete(doc);
		return respond_error_page(out, 400);
	}
	sched = cJSON_GetObjectItemCaseSensitive(doc, "scheduled_at");
	if (sched && (cJSON_IsNull(sched) || (cJSON_IsString(sched) && !sched->valuestring[0])))
		sched = NULL;
	if (failover && !r.candidate[0]) {
		code = 400;
		msg_copy(msg, sizeof(msg),
			 "Failover could be performed only to a specific candidate");
	} else if (!failover && !r.leader[0]) {
		code = 400;
		msg_copy(msg, sizeof(msg),
			 "Switchover could be performed only from a specific leader");
	}
	if (!code && sched) {
		if (failover) {
			code = 400;
			msg_copy(msg, sizeof(msg), "Failover can't be scheduled");
		} else if (s && s->paused) {
			code = 400;
			msg_copy(msg, sizeof(msg), "Can't schedule switchover in the paused state");
		} else {
			code = parse_schedule(sched, action, req->now_wall_ms,
					      &r.scheduled_at_wall_ms, r.scheduled_at,
					      sizeof(r.scheduled_at), msg, sizeof(msg));
			r.scheduled = code == 0;
		}
	}
	if (!code && s && s->paused && !r.candidate[0]) {
		code = 400;
		msg_copy(msg, sizeof(msg),
			 "Switchover is possible only to a specific candidate in a paused state");
	}
	if (failover && r.leader[0])
		failover = false;
	if (!code && strcmp(r.leader, r.candidate) == 0) {
		code = 400;
		msg_copy(msg, sizeof(msg), "Switchover target and source are the same");
	}
	cJSON_Delete(doc);
	if (code)
		return respond_text(out, code, msg);
	r.failover = failover;
	if (!act->switchover)
		return respond_unavailable(out, failover ? "failover" : "switchover");
	memset(&res, 0, sizeof(res));
	rc = act->switchover(act->ctx, &r, &res);
	return respond_action(out, rc, &res);
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
		msg_format(msg, cap,
			   "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: %s", v);
		return -EINVAL;
	}
	if (n == 2)
		*out = parts[0] * 10000 + parts[1];
	else
		*out = parts[0] * 10000 + parts[1] * 100 + parts[2];
	return 0;
invalid:
	msg_format(msg, cap, "Invalid PostgreSQL version: %s", v);
	return -EINVAL;
}

static int do_restart(const struct rest_request *req, const struct rest_snapshot *s,
		      const struct rest_actions *act, struct rest_response *out)
{
	cJSON *doc;
	const cJSON *k;
	struct rest_restart_request r;
	struct rest_action_result res;
	char msg[REST_ACTION_TEXT_MAX] = "";
	int code = 0, rc;

	switch (read_json(req, true, &doc)) {
	case BODY_MISSING_LENGTH:
		return respond_error_page(out, 411);
	case BODY_BAD:
		return respond_error_page(out, 400);
	case BODY_OK:
		break;
	}
	memset(&r, 0, sizeof(r));
	if (s && s->paused && cJSON_GetObjectItemCaseSensitive(doc, "schedule")) {
		cJSON_Delete(doc);
		return respond_text(out, 500, "Can't schedule restart in the paused state");
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
				msg_copy(msg, sizeof(msg),
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
				o_double(&o, k->valuedouble);
				msg_copy(v, sizeof(v), o.err ? "?" : tmp);
			} else if (!cJSON_IsString(k) ||
				   buf_copy(v, sizeof(v), k->valuestring) != 0) {
				msg_copy(v, sizeof(v), "?");
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
				msg_copy(msg, sizeof(msg),
					 "Timeout should be a positive number of seconds");
			} else {
				r.timeout_s = (int)(ms / 1000);
			}
		} else if (strcmp(key, "restart_pending") == 0) {
			r.restart_pending = true;
		} else {
			code = 400;
			msg_format(msg, sizeof(msg),
				   "Unknown filter for the scheduled restart: %.200s", key);
		}
		if (code)
			break;
	}
	cJSON_Delete(doc);
	if (code)
		return respond_text(out, code, msg);
	if (!act->restart)
		return respond_unavailable(out, "restart");
	memset(&res, 0, sizeof(res));
	rc = act->restart(act->ctx, &r, &res);
	return respond_action(out, rc, &res);
}

static int do_reinitialize(const struct rest_request *req, const struct rest_actions *act,
			   struct rest_response *out)
{
	cJSON *doc;
	struct rest_reinit_request r;
	struct rest_action_result res;
	int rc;

	switch (read_json(req, true, &doc)) {
	case BODY_MISSING_LENGTH:
		return respond_error_page(out, 411);
	case BODY_BAD:
		return respond_error_page(out, 400);
	case BODY_OK:
		break;
	}
	r.force = json_bool(doc, "force");
	r.from_leader = json_bool(doc, "from_leader");
	cJSON_Delete(doc);
	if (!act->reinitialize)
		return respond_unavailable(out, "reinitialize");
	memset(&res, 0, sizeof(res));
	rc = act->reinitialize(act->ctx, &r, &res);
	return respond_action(out, rc, &res);
}

static int do_failsafe(const struct rest_request *req, const struct rest_snapshot *s,
		       const struct rest_actions *act, struct rest_response *out)
{
	cJSON *doc;
	const cJSON *slots, *it;
	struct rest_failsafe_request *r;
	struct rest_action_result res;
	int rc;

	if (!s || !s->failsafe_mode_enabled)
		return respond_error_page(out, 502);
	switch (read_json(req, false, &doc)) {
	case BODY_MISSING_LENGTH:
		return respond_error_page(out, 411);
	case BODY_BAD:
		return respond_error_page(out, 400);
	case BODY_OK:
		break;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		cJSON_Delete(doc);
		return -ENOMEM;
	}
	if (json_string(doc, "name", r->name, sizeof(r->name)) != 0 ||
	    json_string(doc, "conn_url", r->conn_url, sizeof(r->conn_url)) != 0 ||
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
			    buf_copy(r->slot_names[r->slot_count], REST_NAME_MAX,
				     it->string ? it->string : "") != 0)
				goto bad;
			r->slot_lsn_bytes[r->slot_count] = (uint64_t)it->valuedouble;
			r->slot_count++;
		}
	}
	cJSON_Delete(doc);
	if (!act->failsafe) {
		free(r);
		return respond_unavailable(out, "failsafe");
	}
	memset(&res, 0, sizeof(res));
	rc = act->failsafe(act->ctx, r, &res);
	free(r);
	return respond_action(out, rc, &res);
bad:
	cJSON_Delete(doc);
	free(r);
	return respond_error_page(out, 400);
}

static int respond_json_doc(struct rest_response *out, int status, const cJSON *doc)
{
	struct out o = { .err = 0 };

	buf_init(&o.b, REST_RESPONSE_MAX);
	o_cjson(&o, doc);
	return finish(&o, out, status, "application/json", false);
}

static int do_config_write(const struct rest_request *req, const struct rest_actions *act,
			   bool patch, struct rest_response *out)
{
	cJSON *doc, *merged;
	char *compact;
	char *merged_text;
	struct rest_action_result res;
	int rc;

	switch (read_json(req, false, &doc)) {
	case BODY_MISSING_LENGTH:
		return respond_error_page(out, 411);
	case BODY_BAD:
		return respond_error_page(out, 400);
	case BODY_OK:
		break;
	}
	if ((patch && !act->config_patch) || (!patch && !act->config_put)) {
		cJSON_Delete(doc);
		return respond_unavailable(out, "config");
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
			rc = respond_json_doc(out, 200, doc);
		else
			rc = respond_action(out, rc, &res);
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
			rc = respond_json_doc(out, 200, merged);
			cJSON_Delete(merged);
		} else {
			rc = respond_error_page(out, 503);
		}
	} else {
		rc = respond_action(out, rc, &res);
	}
	free(merged_text);
	return rc;
}

/* Patroni's patch_config over cJSON trees; takes ownership of nothing. */
static int merge_into(cJSON *dst, const cJSON *patch, bool *changed)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, patch)
	{
		const char *name = p->string ? p->string : "";
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, name);

		if (cJSON_IsNull(p)) {
			if (cur) {
				if (!cJSON_IsNull(cur))
					*changed = true;
				cJSON_DeleteItemFromObjectCaseSensitive(dst, name);
			}
		} else if (cur && cJSON_IsObject(p) && cJSON_IsObject(cur)) {
			if (merge_into(cur, p, changed) != 0)
				return -ENOMEM;
		} else if (!cur || !cJSON_Compare(cur, p, true)) {
			cJSON *copy = cJSON_Duplicate(p, true);

			if (!copy)
				return -ENOMEM;
			if (cur) {
				if (!cJSON_ReplaceItemInObjectCaseSensitive(dst, name, copy)) {
					cJSON_Delete(copy);
					return -ENOMEM;
				}
			} else if (!cJSON_AddItemToObject(dst, name, copy)) {
				cJSON_Delete(copy);
				return -ENOMEM;
			}
			*changed = true;
		}
	}
	return 0;
}

int rest_config_merge(const char *stored_json, const char *patch_json, char *out, size_t cap,
		      bool *changed)
{
	cJSON *dst = cJSON_Parse(stored_json ? stored_json : "");
	cJSON *patch = cJSON_Parse(patch_json ? patch_json : "");
	bool ch = false;
	char *text = NULL;
	int rc = -EINVAL;

	if (!cJSON_IsObject(dst) || !cJSON_IsObject(patch))
		goto out_free;
	rc = merge_into(dst, patch, &ch);
	if (rc)
		goto out_free;
	text = cJSON_PrintUnformatted(dst);
	if (!text) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = buf_copy(out, cap, text);
	if (rc == 0)
		*changed = ch;
out_free:
	free(text);
	cJSON_Delete(patch);
	cJSON_Delete(dst);
	return rc;
}

/* ---- routing ---- */

/* The first path segment ("/patroni?x" -> "patroni"), as Patroni's parse_request picks it. */
static void first_segment(const char *path, char *out, size_t cap)
{
	const char *p = path;
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/?");
	if (n >= cap)
		n = 0;
	memcpy(out, p, n);
	out[n] = '\0';
}

bool rest_request_is_unsafe(const char *method, const char *path)
{
	char seg[QUERY_VALUE_MAX];

	if (!method || !path)
		return false;
	first_segment(path, seg, sizeof(seg));
	if (strcmp(method, "POST") == 0)
		return strcmp(seg, "switchover") == 0 || strcmp(seg, "failover") == 0 ||
		       strcmp(seg, "restart") == 0 || strcmp(seg, "reinitialize") == 0 ||
		       strcmp(seg, "reload") == 0 || strcmp(seg, "failsafe") == 0;
	if (strcmp(method, "DELETE") == 0)
		return strcmp(seg, "switchover") == 0 || strcmp(seg, "restart") == 0;
	if (strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0)
		return strcmp(seg, "config") == 0;
	return false;
}

bool rest_request_is_action(const char *method, const char *path)
{
	return rest_request_is_unsafe(method, path);
}

static int handle_get(const struct rest_options *opts, const struct rest_request *req,
		      const struct rest_snapshot *s, const char *seg, struct rest_response *out)
{
	struct out o = { .err = 0 };
	int64_t now = req->now_mono_ms;

	if (strcmp(seg, "liveness") == 0)
		return respond_bare(out, liveness_status(s, now));
	if (strcmp(seg, "readiness") == 0)
		return respond_bare(out, readiness_status(s, req->query, now));
	buf_init(&o.b, REST_RESPONSE_MAX);
	if (!s) {
		/* Nothing published yet: every page says so. */
		if (strcmp(seg, "metrics") == 0 || strcmp(seg, "patroni") == 0 ||
		    strcmp(seg, "cluster") == 0 || strcmp(seg, "history") == 0 ||
		    strcmp(seg, "config") == 0 || strcmp(seg, "failsafe") == 0) {
			buf_done(&o.b);
			return respond_error_page(out, 503);
		}
		o_put(&o, "{\"state\": \"unknown\", \"role\": \"uninitialized\"}");
		return finish(&o, out, 503, "application/json", false);
	}
	if (strcmp(seg, "patroni") == 0) {
		o_status(&o, opts, s, now);
		return finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "metrics") == 0) {
		o_metrics(&o, opts, s, now);
		return finish(&o, out, 200, "text/plain", false);
	}
	if (strcmp(seg, "cluster") == 0) {
		o_cluster(&o, opts, s);
		return finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "history") == 0) {
		o_history(&o, s);
		return finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "failsafe") == 0) {
		if (!s->has_failsafe_key) {
			buf_done(&o.b);
			return respond_error_page(out, 502);
		}
		o_failsafe(&o, s);
		return finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "config") == 0) {
		cJSON *doc = cJSON_ParseWithLength(s->config_json,
						   strnlen(s->config_json, sizeof(s->config_json)));
		int rc;

		buf_done(&o.b);
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			return respond_error_page(out, 502);
		}
		rc = respond_json_doc(out, 200, doc);
		cJSON_Delete(doc);
		return rc;
	}
	/* the generic health handler */
	int code = health_status(s, req->path, req->query, now);
	o_status(&o, opts, s, now);
	return finish(&o, out, code, "application/json", false);
}

int rest_check_access(const struct rest_options *opts, const struct rest_request *req,
		      const struct rest_snapshot *snap, struct rest_response *out, bool *refused)
{
	char seg[QUERY_VALUE_MAX];

	*refused = false;
	if (!rest_request_is_unsafe(req->method, req->path ? req->path : "/"))
		return 0;
	first_segment(req->path ? req->path : "/", seg, sizeof(seg));
	return check_access(opts, req, snap, strcmp(seg, "failsafe") == 0, out, refused);
}

int rest_handle(const struct rest_options *opts, const struct rest_actions *actions,
		const struct rest_request *req, const struct rest_snapshot *snap,
		struct rest_response *out)
{
	static const struct rest_actions none = { 0 };
	const char *method = req->method ? req->method : "";
	const char *path = req->path && req->path[0] ? req->path : "/";
	char seg[QUERY_VALUE_MAX];
	struct rest_request r = *req;
	bool refused;
	int rc;

	if (!actions)
		actions = &none;
	r.path = path;
	first_segment(path, seg, sizeof(seg));
	if (strcmp(method, "GET") == 0)
		return handle_get(opts, &r, snap, seg, out);
	if (strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0)
		return respond_bare(out, health_status(snap, path, r.query, r.now_mono_ms));
	if (!rest_request_is_unsafe(method, path))
		return respond_error_page(out, 501);

	rc = check_access(opts, &r, snap, strcmp(seg, "failsafe") == 0, out, &refused);
	if (rc || refused)
		return rc;

	if (strcmp(method, "POST") == 0) {
		if (strcmp(seg, "switchover") == 0)
			return do_switchover(&r, snap, actions, false, out);
		if (strcmp(seg, "failover") == 0)
			return do_switchover(&r, snap, actions, true, out);
		if (strcmp(seg, "restart") == 0)
			return do_restart(&r, snap, actions, out);
		if (strcmp(seg, "reinitialize") == 0)
			return do_reinitialize(&r, actions, out);
		if (strcmp(seg, "failsafe") == 0)
			return do_failsafe(&r, snap, actions, out);
		if (strcmp(seg, "reload") == 0) {
			if (!actions->reload)
				return respond_unavailable(out, "reload");
			if (actions->reload(actions->ctx) != 0)
				return respond_error_page(out, 503);
			return respond_text(out, 202, "reload scheduled");
		}
	} else if (strcmp(method, "DELETE") == 0) {
		struct rest_action_result res;

		memset(&res, 0, sizeof(res));
		if (strcmp(seg, "switchover") == 0) {
			if (!actions->switchover_cancel)
				return respond_unavailable(out, "switchover");
			rc = actions->switchover_cancel(actions->ctx, &res);
		} else {
			if (!actions->restart_cancel)
				return respond_unavailable(out, "restart");
			rc = actions->restart_cancel(actions->ctx, &res);
		}
		return respond_action(out, rc, &res);
	} else {
		return do_config_write(&r, actions, strcmp(method, "PATCH") == 0, out);
	}
	return respond_error_page(out, 501);
}
