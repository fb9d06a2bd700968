/*
 * cfg.c - reading documents through the key table, environment overrides, validation across
 * keys, engine detection, diagnostics and the effective-configuration summary.
 */
#include "cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cfg_internal.h"
#include "num.h"

#define FIELD(base, k) ((char *)(base) + (k)->offset)

void cfg_diags_init(struct cfg_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *source, int line,
		  int column, const char *key, const char *fmt, ...)
{
	struct cfg_diag *x;
	va_list ap;
	int n;

	if (sev == CFG_SEVERITY_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->count >= CFG_DIAGS_MAX) {
		d->dropped++;
		return;
	}
	x = &d->items[d->count++];
	memset(x, 0, sizeof(*x));
	x->severity = sev;
	x->line = line;
	x->column = column;
	if (buf_copy(x->source, sizeof(x->source), source ? source : "") != 0)
		memcpy(x->source, "(long name)", sizeof("(long name)"));
	if (buf_copy(x->key, sizeof(x->key), key ? key : "") != 0)
		memcpy(x->key, "(long key)", sizeof("(long key)"));
	va_start(ap, fmt);
	n = vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(x->message))
		memcpy(x->message + sizeof(x->message) - 4, "...", 4);
}

int cfg_diag_format(const struct cfg_diag *d, bool with_severity, char *out, size_t cap)
{
	const char *sev = d->severity == CFG_SEVERITY_ERROR ? "error" : "warning";
	char where[CFG_PATH_MAX + 32];
	char key[CFG_KEYPATH_MAX + 4];
	int r;

	if (d->line > 0)
		r = buf_format(where, sizeof(where), "%s:%d:%d", d->source, d->line, d->column);
	else
		r = buf_format(where, sizeof(where), "%s", d->source);
	if (r != 0)
		return r;
	if (d->key[0] != '\0')
		r = buf_format(key, sizeof(key), "\"%s\": ", d->key);
	else
		key[0] = '\0';
	if (r != 0)
		return r;
	if (!with_severity)
		return buf_format(out, cap, "%s: %s%s", where, key, d->message);
	return buf_format(out, cap, "%s: %s: %s%s", where, sev, key, d->message);
}

/* Writes a duration the way a person reads it: "10 s", "500 ms", "1.5 s". */
static void fmt_ms(int64_t ms, char *out, size_t cap)
{
	if (ms % 1000 == 0)
		snprintf(out, cap, "%lld s", (long long)(ms / 1000));
	else if (ms < 1000)
		snprintf(out, cap, "%lld ms", (long long)ms);
	else
		snprintf(out, cap, "%.3g s", (double)ms / 1000.0);
}

/* --- the table --- */

static const struct cfg_key *table_find(const struct cfg_key *table, const char *path)
{
	for (const struct cfg_key *k = table; k->path != NULL; k++) {
		if (strcmp(k->path, path) == 0)
			return k;
	}
	return NULL;
}

/* Follows alias_of; returns the row that holds type and field. */
static const struct cfg_key *resolve(const struct cfg_key *table, const struct cfg_key *k)
{
	if (k != NULL && k->alias_of != NULL)
		return table_find(table, k->alias_of);
	return k;
}

static int join_path(char *out, size_t cap, const char *prefix, const char *key)
{
	if (prefix[0] == '\0')
		return buf_copy(out, cap, key);
	return buf_format(out, cap, "%s.%s", prefix, key);
}

static const char *last_component(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/* True when path is a direct child of prefix ("" = top level). */
static bool is_child_of(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return strchr(path, '.') == NULL;
	return strncmp(path, prefix, n) == 0 && path[n] == '.' && strchr(path + n + 1, '.') == NULL;
}

/* Finds the nearest known key to an unknown one: a sibling within a small edit distance, else
 * the same name anywhere in the file's keys. Writes "" when nothing is close. */
static void suggest(const struct cfg_key *table, const char *prefix, const char *shown_prefix,
		    const char *key, char *out, size_t cap)
{
	int best = 1 << 30;
	const char *best_path = NULL;
	int limit = (int)strlen(key) / 3;

	if (limit < 2)
		limit = 2;
	out[0] = '\0';
	/* The right name in the wrong place: "ttl" at the top level belongs to bootstrap.dcs. */
	for (const struct cfg_key *k = cfg_keys; k->path != NULL; k++) {
		if (strcmp(last_component(k->path), key) == 0 && k->type != CFG_KEY_IGNORED &&
		    buf_copy(out, cap, k->path) == 0)
			return;
	}
	for (const struct cfg_key *k = cfg_dynamic_keys; k->path != NULL; k++) {
		if (strcmp(last_component(k->path), key) == 0 && k->type != CFG_KEY_IGNORED &&
		    buf_format(out, cap, "bootstrap.dcs.%s", k->path) == 0)
			return;
	}
	/* Else a sibling within a small edit distance: a typo. */
	for (const struct cfg_key *k = table; k->path != NULL; k++) {
		int d;

		if (!is_child_of(k->path, prefix))
			continue;
		d = cfg_edit_distance(key, last_component(k->path));
		if (d < best) {
			best = d;
			best_path = k->path;
		}
	}
	if (best_path != NULL && best <= limit) {
		char shown[CFG_KEYPATH_MAX];

		if (join_path(shown, sizeof(shown), shown_prefix, last_component(best_path)) == 0 &&
		    buf_copy(out, cap, shown) == 0)
			return;
	}
	out[0] = '\0';
}

/* --- diagnostics helpers --- */

static void rec_error(struct cfg_reader *r, int line, int col, const char *key, const char *fmt,
		      ...) __attribute__((format(printf, 5, 6)));
static void rec_error(struct cfg_reader *r, int line, int col, const char *key, const char *fmt,
		      ...)
{
	char msg[CFG_DIAG_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_diag_add(r->diags, CFG_SEVERITY_ERROR, r->source, line, col, key, "%s", msg);
}

static void rec_warning(struct cfg_reader *r, int line, int col, const char *key, const char *fmt,
			...) __attribute__((format(printf, 5, 6)));
static void rec_warning(struct cfg_reader *r, int line, int col, const char *key, const char *fmt,
			...)
{
	char msg[CFG_DIAG_TEXT_MAX];
	va_list ap;

	if (r->quiet_warnings)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_diag_add(r->diags, CFG_SEVERITY_WARNING, r->source, line, col, key, "%s", msg);
}

static void mark_seen(struct cfg_reader *r, const struct cfg_key *k, int line, int col)
{
	for (int i = 0; i < r->seen_count; i++) {
		if (r->seen[i].key == k) {
			r->seen[i].line = line;
			r->seen[i].column = col;
			return;
		}
	}
	if (r->seen_count < (int)(sizeof(r->seen) / sizeof(r->seen[0]))) {
		r->seen[r->seen_count].key = k;
		r->seen[r->seen_count].line = line;
		r->seen[r->seen_count].column = col;
		r->seen_count++;
	}
}

static bool find_seen(const struct cfg_reader *r, const struct cfg_key *k, int *line, int *col)
{
	for (int i = 0; i < r->seen_count; i++) {
		if (r->seen[i].key == k) {
			if (line)
				*line = r->seen[i].line;
			if (col)
				*col = r->seen[i].column;
			return true;
		}
	}
	return false;
}

static const char *type_noun(const struct cfg_node *n)
{
	switch (n->type) {
	case CFG_NODE_MAP:
		return "a mapping";
	case CFG_NODE_SEQ:
		return "a list";
	case CFG_NODE_NULL:
		return "empty";
	case CFG_NODE_SCALAR:
		break;
	}
	return "a single value";
}

/* --- values --- */

/* Checks "host:port" (connect) or "host[,host...]:port" with an optional host (listen). */
static int check_address(const char *text, bool listen, char *why, size_t cap, int *port_out)
{
	const char *colon = strrchr(text, ':');
	char hosts[CFG_ADDR_MAX];
	int port;

	if (colon == NULL) {
		snprintf(why, cap, "\"%s\" has no port: write host:port", text);
		return -EINVAL;
	}
	if (num_parse_int(colon + 1, 1, 65535, &port) != 0) {
		snprintf(why, cap, "\"%s\": the port must be a number from 1 to 65535", text);
		return -EINVAL;
	}
	if ((size_t)(colon - text) >= sizeof(hosts)) {
		snprintf(why, cap, "the host name is too long");
		return -EINVAL;
	}
	memcpy(hosts, text, (size_t)(colon - text));
	hosts[colon - text] = '\0';
	if (strpbrk(hosts, " \t/") != NULL) {
		snprintf(why, cap, "\"%s\" is not host:port (a URL or spaces are not allowed here)",
			 text);
		return -EINVAL;
	}
	if (!listen && hosts[0] == '\0') {
		snprintf(why, cap, "\"%s\" has no host: write host:port", text);
		return -EINVAL;
	}
	if (!listen && strchr(hosts, ',') != NULL) {
		snprintf(why, cap, "\"%s\": give one host here", text);
		return -EINVAL;
	}
	if (port_out)
		*port_out = port;
	return 0;
}

static int list_append(struct cfg_reader *r, struct cfg_list *l, const char *text, int line,
		       int col, const char *shown)
{
	if (l->count >= CFG_LIST_MAX) {
		rec_error(r, line, col, shown, "has more than %d entries: shorten the list",
			  CFG_LIST_MAX);
		return -EINVAL;
	}
	if (buf_copy(l->items[l->count], sizeof(l->items[0]), text) != 0) {
		rec_error(r, line, col, shown, "an entry is longer than %d bytes",
			  CFG_LINE_MAX - 1);
		return -EINVAL;
	}
	l->count++;
	return 0;
}

/* A name=value list of either size: struct cfg_params or struct cfg_options. */
struct kv_view {
	int *count;
	struct cfg_kv *items;
	int cap;
};

static struct kv_view params_view(struct cfg_params *p)
{
	return (struct kv_view){ &p->count, p->items, CFG_PARAMS_MAX };
}

static struct kv_view options_view(struct cfg_options *o)
{
	return (struct kv_view){ &o->count, o->items, CFG_OPTIONS_MAX };
}

/* The view of a table field, told apart by its size. */
static struct kv_view field_kv_view(void *field, size_t size)
{
	if (size == sizeof(struct cfg_params))
		return params_view(field);
	return options_view(field);
}

/* Adds or replaces name in a pair list. */
static int params_put(struct cfg_reader *r, struct kv_view p, const char *name, const char *value,
		      enum cfg_value_kind kind, int line, int col, const char *shown)
{
	struct cfg_kv *kv = NULL;

	for (int i = 0; i < *p.count; i++) {
		if (strcasecmp(p.items[i].name, name) == 0)
			kv = &p.items[i];
	}
	if (kv == NULL) {
		if (*p.count >= p.cap) {
			rec_error(r, line, col, shown, "has more than %d entries", p.cap);
			return -EINVAL;
		}
		kv = &p.items[*p.count];
	}
	if (strlen(name) >= sizeof(kv->name)) {
		rec_error(r, line, col, shown, "name \"%.40s...\" is longer than %d bytes", name,
			  CFG_KEY_MAX - 1);
		return -EINVAL;
	}
	if (strlen(value) >= sizeof(kv->value)) {
		rec_error(r, line, col, shown, "value of \"%s\" is longer than %d bytes", name,
			  CFG_VALUE_MAX - 1);
		return -EINVAL;
	}
	if (kv == &p.items[*p.count])
		(*p.count)++;
	memcpy(kv->name, name, strlen(name) + 1);
	memcpy(kv->value, value, strlen(value) + 1);
	kv->kind = kind;
	return 0;
}

/* Splits "a, b" or "[a, b]" (an environment variable or a comma-separated YAML string). */
static int list_from_csv(struct cfg_reader *r, struct cfg_list *l, const char *text, int line,
			 int col, const char *shown)
{
	char tmp[CFG_LIST_MAX * CFG_LINE_MAX];
	char *p, *end;
	size_t n = strlen(text);

	if (n >= sizeof(tmp)) {
		rec_error(r, line, col, shown, "is too long");
		return -EINVAL;
	}
	memcpy(tmp, text, n + 1);
	p = tmp;
	while (*p == ' ')
		p++;
	if (*p == '[') {
		p++;
		end = strrchr(p, ']');
		if (end == NULL) {
			rec_error(r, line, col, shown, "\"[\" without \"]\": write a, b or [a, b]");
			return -EINVAL;
		}
		*end = '\0';
	}
	l->count = 0;
	while (p != NULL) {
		char *comma = strchr(p, ',');
		char *item = p;
		size_t len;

		if (comma)
			*comma = '\0';
		p = comma ? comma + 1 : NULL;
		while (*item == ' ' || *item == '\t')
			item++;
		len = strlen(item);
		while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			item[--len] = '\0';
		if (len >= 2 && (item[0] == '"' || item[0] == '\'') && item[len - 1] == item[0]) {
			item[len - 1] = '\0';
			item++;
		}
		if (*item == '\0')
			continue;
		if (list_append(r, l, item, line, col, shown) != 0)
			return -EINVAL;
	}
	return 0;
}

/* Trims blanks and one pair of matching quotes, in place. */
static char *trim_quoted(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* Reads "{name: value, name: value}" (braces optional), Patroni's dict form for environment
 * variables such as PATRONI_RESTAPI_HTTP_EXTRA_HEADERS. Commas inside values are not
 * supported. */
static int params_from_env(struct cfg_reader *r, struct kv_view p, const char *text,
			   const char *shown)
{
	char tmp[CFG_LIST_ITEM_MAX * 4];
	char *cur, *close;

	if (buf_copy(tmp, sizeof(tmp), text) != 0) {
		rec_error(r, 0, 0, shown, "is too long");
		return -EINVAL;
	}
	cur = trim_quoted(tmp);
	if (*cur == '{') {
		close = strrchr(cur, '}');
		if (close == NULL) {
			rec_error(r, 0, 0, shown, "\"{\" without \"}\": write {name: value, ...}");
			return -EINVAL;
		}
		*close = '\0';
		cur++;
	}
	*p.count = 0;
	while (cur != NULL) {
		char *comma = strchr(cur, ',');
		char *colon, *name, *value;

		if (comma != NULL)
			*comma = '\0';
		if (cur[strspn(cur, " \t")] != '\0') {
			colon = strchr(cur, ':');
			if (colon == NULL) {
				rec_error(r, 0, 0, shown, "\"%s\" is not name: value", cur);
				return -EINVAL;
			}
			*colon = '\0';
			name = trim_quoted(cur);
			value = trim_quoted(colon + 1);
			if (params_put(r, p, name, value, CFG_VALUE_STRING, 0, 0, shown) != 0)
				return -EINVAL;
		}
		cur = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* Sets one scalar-typed key from text. Records an error and returns -EINVAL when it does not
 * fit the key's type or range. */
static int set_scalar(struct cfg_reader *r, const struct cfg_key *k, void *base, const char *text,
		      enum cfg_value_kind kind, int line, int col, const char *shown)
{
	char *field = FIELD(base, k);
	char why[CFG_DIAG_TEXT_MAX];
	int rc;

	switch (k->type) {
	case CFG_KEY_STRING:
		if (buf_copy(field, k->size, text) != 0) {
			rec_error(r, line, col, shown, "is longer than %zu bytes: shorten it",
				  k->size - 1);
			return -EINVAL;
		}
		return 0;
	case CFG_KEY_ADDRESS:
	case CFG_KEY_LISTEN:
		if (check_address(text, k->type == CFG_KEY_LISTEN, why, sizeof(why), NULL) != 0) {
			rec_error(r, line, col, shown, "%s", why);
			return -EINVAL;
		}
		if (buf_copy(field, k->size, text) != 0) {
			rec_error(r, line, col, shown, "is longer than %zu bytes", k->size - 1);
			return -EINVAL;
		}
		return 0;
	case CFG_KEY_BOOL: {
		bool b;

		if (num_parse_bool(text, &b) != 0) {
			rec_error(r, line, col, shown,
				  "\"%s\" is not a boolean: write true or false", text);
			return -EINVAL;
		}
		*(bool *)(void *)field = b;
		return 0;
	}
	case CFG_KEY_INT:
	case CFG_KEY_INT64: {
		int64_t v;

		if (kind == CFG_VALUE_BOOL) {
			rec_error(r, line, col, shown, "must be a number, not a boolean");
			return -EINVAL;
		}
		rc = num_parse_i64(text, k->min, k->max, &v);
		if (rc == -ERANGE) {
			rec_error(r, line, col, shown, "%s is out of range: use %lld to %lld%s%s",
				  text, (long long)k->min, (long long)k->max, k->hint ? "; " : "",
				  k->hint ? k->hint : "");
			return -EINVAL;
		}
		if (rc != 0) {
			rec_error(r, line, col, shown, "\"%s\" is not a whole number", text);
			return -EINVAL;
		}
		if (k->type == CFG_KEY_INT)
			*(int *)(void *)field = (int)v;
		else
			*(int64_t *)(void *)field = v;
		return 0;
	}
	case CFG_KEY_DURATION: {
		int64_t ms;
		char lo[32], hi[32];

		if (kind == CFG_VALUE_BOOL) {
			rec_error(r, line, col, shown, "must be a duration, not a boolean");
			return -EINVAL;
		}
		if (k->min < 0 && strcmp(text, "-1") == 0) {
			*(int64_t *)(void *)field = -1;
			return 0;
		}
		rc = num_parse_duration_ms(text, k->min < 0 ? 0 : k->min, k->max, &ms);
		fmt_ms(k->min < 0 ? 0 : k->min, lo, sizeof(lo));
		fmt_ms(k->max, hi, sizeof(hi));
		if (rc == -ERANGE) {
			rec_error(r, line, col, shown, "%s is out of range: use %s to %s%s%s", text,
				  lo, hi, k->hint ? "; " : "", k->hint ? k->hint : "");
			return -EINVAL;
		}
		if (rc != 0) {
			rec_error(r, line, col, shown,
				  "\"%s\" is not a duration: write seconds (10) or a number with a "
				  "unit (500ms, 5s, 1m)",
				  text);
			return -EINVAL;
		}
		*(int64_t *)(void *)field = ms;
		return 0;
	}
	case CFG_KEY_ENUM: {
		char allowed[256] = "";

		/* YAML 1.1 reads "off" as false: Patroni's watchdog.mode accepts that too. */
		for (int i = 0; k->names[i] != NULL; i++) {
			bool b;

			if (strcasecmp(text, k->names[i]) == 0 ||
			    (strcmp(k->names[i], "off") == 0 && kind == CFG_VALUE_BOOL &&
			     num_parse_bool(text, &b) == 0 && !b)) {
				*(int *)(void *)field = i;
				return 0;
			}
			size_t used = strlen(allowed);
			snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "",
				 k->names[i]);
		}
		rec_error(r, line, col, shown, "\"%s\" is not allowed: use one of %s", text,
			  allowed);
		return -EINVAL;
	}
	case CFG_KEY_LOG_LEVEL: {
		enum log_level lvl;

		if (log_level_parse(text, &lvl) != 0) {
			rec_error(r, line, col, shown,
				  "\"%s\" is not a log level: use debug, info, warning or error",
				  text);
			return -EINVAL;
		}
		*(enum log_level *)(void *)field = lvl;
		return 0;
	}
	case CFG_KEY_LOG_FORMAT: {
		enum log_format f;

		/* Patroni 4's log.type says "plain" for text. */
		if (strcasecmp(text, "plain") == 0) {
			*(enum log_format *)(void *)field = LOG_FORMAT_TEXT;
			return 0;
		}
		if (log_format_parse(text, &f) != 0) {
			rec_warning(
				r, line, col, shown,
				"Python log format strings are not supported (gsha writes text, "
				"or json with \"format: json\"), ignoring");
			return 0;
		}
		*(enum log_format *)(void *)field = f;
		return 0;
	}
	case CFG_KEY_LIST: {
		struct cfg_list *l = (struct cfg_list *)(void *)field;

		if (k->flags & CFG_F_CSV)
			return list_from_csv(r, l, text, line, col, shown);
		l->count = 0;
		return list_append(r, l, text, line, col, shown);
	}
	case CFG_KEY_SECTION:
	case CFG_KEY_PARAMS:
	case CFG_KEY_OPTIONS:
	case CFG_KEY_USERS:
	case CFG_KEY_IGNORED:
		break;
	}
	rec_error(r, line, col, shown, "cannot be given as a single value");
	return -EINVAL;
}

static void read_params(struct cfg_reader *r, const struct cfg_node *n, struct kv_view p,
			const char *shown)
{
	*p.count = 0;
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		char sub[CFG_KEYPATH_MAX];

		if (join_path(sub, sizeof(sub), shown, c->key) != 0)
			continue;
		if (c->type == CFG_NODE_NULL)
			continue;
		if (c->type != CFG_NODE_SCALAR) {
			rec_error(r, c->line, c->column, sub, "must be a single value, not %s",
				  type_noun(c));
			continue;
		}
		(void)params_put(r, p, c->key, c->text, c->kind, c->line, c->column, sub);
	}
}

/* initdb and basebackup: "- switch" or "- name: value" entries (a mapping works too). */
static void read_options(struct cfg_reader *r, const struct cfg_node *n, struct kv_view p,
			 const char *shown)
{
	*p.count = 0;
	if (n->type == CFG_NODE_MAP) {
		read_params(r, n, p, shown);
		return;
	}
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		if (c->type == CFG_NODE_SCALAR) {
			(void)params_put(r, p, c->text, "", CFG_VALUE_NONE, c->line, c->column,
					 shown);
		} else if (c->type == CFG_NODE_MAP && c->child != NULL && c->child->next == NULL &&
			   c->child->type == CFG_NODE_SCALAR) {
			(void)params_put(r, p, c->child->key, c->child->text, c->child->kind,
					 c->line, c->column, shown);
		} else {
			rec_error(r, c->line, c->column, shown,
				  "each entry must be an option (data-checksums) or one option: "
				  "value "
				  "pair (encoding: UTF8)");
		}
	}
}

static void read_list(struct cfg_reader *r, const struct cfg_node *n, struct cfg_list *l,
		      const char *shown)
{
	l->count = 0;
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		if (c->type != CFG_NODE_SCALAR) {
			rec_error(r, c->line, c->column, shown,
				  "each entry must be a single value, not %s", type_noun(c));
			continue;
		}
		if (list_append(r, l, c->text, c->line, c->column, shown) != 0)
			return;
	}
}

static void read_words(struct cfg_reader *r, const struct cfg_node *n, struct cfg_words *w,
		       const char *shown)
{
	w->count = 0;
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		if (c->type != CFG_NODE_SCALAR) {
			rec_error(r, c->line, c->column, shown,
				  "each entry must be a single value, not %s", type_noun(c));
			continue;
		}
		if (w->count >= CFG_WORDS_MAX) {
			rec_error(r, c->line, c->column, shown, "has more than %d entries",
				  CFG_WORDS_MAX);
			return;
		}
		if (buf_copy(w->items[w->count], sizeof(w->items[0]), c->text) != 0) {
			rec_error(r, c->line, c->column, shown, "an entry is longer than %d bytes",
				  CFG_WORD_MAX - 1);
			continue;
		}
		w->count++;
	}
}

static void read_users(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
		       const char *shown)
{
	c->bootstrap.users_count = 0;
	for (const struct cfg_node *u = n->child; u != NULL; u = u->next) {
		char upath[CFG_KEYPATH_MAX];
		struct cfg_user *user;

		if (join_path(upath, sizeof(upath), shown, u->key) != 0)
			continue;
		if (u->type != CFG_NODE_MAP) {
			rec_error(r, u->line, u->column, upath,
				  "must be a mapping with password: and options:");
			continue;
		}
		if (c->bootstrap.users_count >= CFG_USERS_MAX) {
			rec_error(r, u->line, u->column, upath, "more than %d users",
				  CFG_USERS_MAX);
			return;
		}
		user = &c->bootstrap.users[c->bootstrap.users_count];
		memset(user, 0, sizeof(*user));
		if (buf_copy(user->name, sizeof(user->name), u->key) != 0) {
			rec_error(r, u->line, u->column, upath, "the user name is too long");
			continue;
		}
		c->bootstrap.users_count++;
		for (const struct cfg_node *f = u->child; f != NULL; f = f->next) {
			char fpath[CFG_KEYPATH_MAX];

			if (join_path(fpath, sizeof(fpath), upath, f->key) != 0)
				continue;
			if (strcmp(f->key, "password") == 0 && f->type == CFG_NODE_SCALAR) {
				if (buf_copy(user->password, sizeof(user->password), f->text) != 0)
					rec_error(r, f->line, f->column, fpath, "is too long");
			} else if (strcmp(f->key, "options") == 0 && f->type == CFG_NODE_SEQ) {
				read_words(r, f, &user->options, fpath);
			} else if (f->type == CFG_NODE_NULL) {
				continue;
			} else if (strcmp(f->key, "password") == 0 ||
				   strcmp(f->key, "options") == 0) {
				rec_error(r, f->line, f->column, fpath, "must be %s",
					  f->key[0] == 'p' ? "a single value" : "a list");
			} else {
				const char *near =
					cfg_edit_distance(f->key, "password") <
							cfg_edit_distance(f->key, "options")
						? "password"
						: "options";
				rec_error(r, f->line, f->column, fpath,
					  "unknown key \"%s\": did you mean \"%s\"?", f->key, near);
			}
		}
	}
}

static void read_custom_tag(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
			    const char *shown)
{
	if (n->type == CFG_NODE_NULL)
		return;
	if (n->type != CFG_NODE_SCALAR) {
		rec_error(r, n->line, n->column, shown, "a tag must be a single value, not %s",
			  type_noun(n));
		return;
	}
	(void)params_put(r, options_view(&c->tags.custom), n->key, n->text, n->kind, n->line,
			 n->column, shown);
}

static void read_replica_method(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
				const char *shown)
{
	struct cfg_replica_method *m;

	if (c->postgresql.replica_methods_count >= CFG_METHODS_MAX) {
		rec_error(r, n->line, n->column, shown, "more than %d replica methods",
			  CFG_METHODS_MAX);
		return;
	}
	m = &c->postgresql.replica_methods[c->postgresql.replica_methods_count];
	memset(m, 0, sizeof(*m));
	if (buf_copy(m->name, sizeof(m->name), n->key) != 0) {
		rec_error(r, n->line, n->column, shown, "the name is too long");
		return;
	}
	c->postgresql.replica_methods_count++;
	for (const struct cfg_node *f = n->child; f != NULL; f = f->next) {
		char fpath[CFG_KEYPATH_MAX];

		if (join_path(fpath, sizeof(fpath), shown, f->key) != 0)
			continue;
		if (f->type != CFG_NODE_SCALAR) {
			if (f->type != CFG_NODE_NULL)
				rec_error(r, f->line, f->column, fpath, "must be a single value");
			continue;
		}
		if (strcmp(f->key, "command") == 0) {
			if (buf_copy(m->command, sizeof(m->command), f->text) != 0)
				rec_error(r, f->line, f->column, fpath, "is too long");
		} else {
			(void)params_put(r, options_view(&m->params), f->key, f->text, f->kind,
					 f->line, f->column, fpath);
		}
	}
	if (m->command[0] == '\0')
		rec_error(r, n->line, n->column, shown,
			  "a replica method needs a command: give the script to run");
}

static void read_value(struct cfg_reader *r, const struct cfg_key *table, const struct cfg_key *k,
		       const struct cfg_node *n, void *base, const char *shown)
{
	void *field = FIELD(base, k);
	int kline = n->key_line ? n->key_line : n->line;
	int kcol = n->key_line ? n->key_column : n->column;

	mark_seen(r, k, kline, kcol);
	if (k->type == CFG_KEY_IGNORED) {
		rec_warning(r, kline, kcol, shown,
			    "Patroni setting that gsha does not implement yet, ignoring%s%s",
			    k->hint ? ": " : "", k->hint ? k->hint : "");
		return;
	}
	if (n->type == CFG_NODE_NULL)
		return; /* an empty value leaves the default, as in Patroni */
	switch (k->type) {
	case CFG_KEY_SECTION:
		if (n->type != CFG_NODE_MAP) {
			rec_error(r, n->line, n->column, shown,
				  "must be a mapping (keys indented below it), not %s",
				  type_noun(n));
			return;
		}
		if (k->sub != NULL)
			cfg_read_map(r, n, k->sub, "", shown, (char *)base + k->sub_offset);
		else
			cfg_read_map(r, n, table, k->path, shown, base);
		return;
	case CFG_KEY_PARAMS:
		if (n->type != CFG_NODE_MAP) {
			rec_error(r, n->line, n->column, shown,
				  "must be a mapping of name: value, not %s", type_noun(n));
			return;
		}
		read_params(r, n, field_kv_view(field, k->size), shown);
		return;
	case CFG_KEY_OPTIONS:
		if (n->type != CFG_NODE_SEQ && n->type != CFG_NODE_MAP) {
			rec_error(r, n->line, n->column, shown, "must be a list of options, not %s",
				  type_noun(n));
			return;
		}
		read_options(r, n, field_kv_view(field, k->size), shown);
		return;
	case CFG_KEY_USERS:
		if (n->type != CFG_NODE_MAP || r->cfg == NULL) {
			rec_error(r, n->line, n->column, shown,
				  "must be a mapping of user names, not %s", type_noun(n));
			return;
		}
		read_users(r, n, r->cfg, shown);
		return;
	case CFG_KEY_LIST:
		if (n->type == CFG_NODE_SEQ) {
			read_list(r, n, field, shown);
			return;
		}
		if (n->type == CFG_NODE_SCALAR && (k->flags & CFG_F_CSV)) {
			(void)set_scalar(r, k, base, n->text, n->kind, n->line, n->column, shown);
			return;
		}
		rec_error(r, n->line, n->column, shown, "must be a list, not %s", type_noun(n));
		return;
	default:
		break;
	}
	if (n->type != CFG_NODE_SCALAR) {
		rec_error(r, n->line, n->column, shown, "must be a single value, not %s",
			  type_noun(n));
		return;
	}
	(void)set_scalar(r, k, base, n->text, n->kind, n->line, n->column, shown);
}

void cfg_read_map(struct cfg_reader *r, const struct cfg_node *map, const struct cfg_key *table,
		  const char *prefix, const char *shown_prefix, void *base)
{
	const struct cfg_key *section = prefix[0] ? table_find(table, prefix) : NULL;

	for (const struct cfg_node *n = map->child; n != NULL; n = n->next) {
		char path[CFG_KEYPATH_MAX], shown[CFG_KEYPATH_MAX];
		const struct cfg_key *k, *real;
		bool dup = false;

		for (const struct cfg_node *p = map->child; p != n; p = p->next)
			dup = dup || strcmp(p->key, n->key) == 0;
		if (join_path(path, sizeof(path), prefix, n->key) != 0 ||
		    join_path(shown, sizeof(shown), shown_prefix, n->key) != 0) {
			rec_error(r, n->line, n->column, shown_prefix, "a key is too long");
			continue;
		}
		if (dup) {
			rec_error(r, n->key_line, n->key_column, shown,
				  "is given twice in the same section: keep one");
			continue;
		}
		k = table_find(table, path);
		real = resolve(table, k);
		if (real != NULL) {
			if (k != real)
				mark_seen(r, k, n->key_line, n->key_column);
			if (real->type == CFG_KEY_SECTION && k != real) {
				/* An alias section ("etcd" for "etcd3"): read with the real prefix.
				 * Only the alias is marked, so both sections written can be told. */
				if (n->type != CFG_NODE_MAP) {
					if (n->type != CFG_NODE_NULL)
						rec_error(r, n->line, n->column, shown,
							  "must be a mapping, not %s",
							  type_noun(n));
					continue;
				}
				cfg_read_map(r, n, table, real->path, shown, base);
				continue;
			}
			read_value(r, table, real, n, base, shown);
			continue;
		}
		if (section != NULL && (section->flags & CFG_F_TAGS) && r->cfg != NULL) {
			read_custom_tag(r, n, r->cfg, shown);
			continue;
		}
		if (section != NULL && (section->flags & (CFG_F_METHODS | CFG_F_BOOT_METHOD)) &&
		    r->cfg != NULL && n->type == CFG_NODE_MAP &&
		    r->pending_count < (int)(sizeof(r->pending) / sizeof(r->pending[0]))) {
			r->pending[r->pending_count].node = n;
			r->pending[r->pending_count].bootstrap = section->flags & CFG_F_BOOT_METHOD;
			r->pending_count++;
			continue;
		}
		if (r->ignore_unknown)
			continue;
		char near[CFG_KEYPATH_MAX];

		suggest(table, prefix, shown_prefix, n->key, near, sizeof(near));
		if (near[0] != '\0')
			rec_error(r, n->key_line, n->key_column, shown,
				  "unknown key: did you mean \"%s\"?", near);
		else
			rec_error(r, n->key_line, n->key_column, shown,
				  "unknown key: neither gsha nor Patroni knows it, remove it");
	}
}

int cfg_apply_defaults(const struct cfg_key *table, void *base)
{
	struct cfg_diags scratch;
	struct cfg_reader r;

	memset(&r, 0, sizeof(r));
	cfg_diags_init(&scratch);
	r.diags = &scratch;
	r.source = "defaults";
	for (const struct cfg_key *k = table; k->path != NULL; k++) {
		enum cfg_value_kind kind;

		if (k->def == NULL || k->alias_of != NULL)
			continue;
		(void)cfg_plain_scalar_type(k->def, &kind);
		/* The table's own defaults always parse; a unit test checks the count. */
		(void)set_scalar(&r, k, base, k->def, kind, 0, 0, k->path);
	}
	return scratch.errors;
}

void cfg_dynamic_defaults(struct cfg_dynamic *d)
{
	memset(d, 0, sizeof(*d));
	(void)cfg_apply_defaults(cfg_dynamic_keys, d);
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	(void)cfg_apply_defaults(cfg_keys, c);
	cfg_dynamic_defaults(&c->bootstrap.dcs);
	if (buf_copy(c->postgresql.create_replica_methods.items[0],
		     sizeof(c->postgresql.create_replica_methods.items[0]), "basebackup") == 0)
		c->postgresql.create_replica_methods.count = 1;
}

static const struct cfg_kv *kv_find(const struct cfg_kv *items, int count, const char *name)
{
	for (int i = 0; i < count; i++) {
		if (strcasecmp(items[i].name, name) == 0)
			return &items[i];
	}
	return NULL;
}

const struct cfg_kv *cfg_params_get(const struct cfg_params *p, const char *name)
{
	return kv_find(p->items, p->count, name);
}

const struct cfg_kv *cfg_options_get(const struct cfg_options *o, const char *name)
{
	return kv_find(o->items, o->count, name);
}

/* --- environment --- */

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (envp == NULL)
		return NULL;
	for (char *const *e = envp; *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	}
	return NULL;
}

/* Finds the first set one of GSHA_<env>, PATRONI_<env>, GSHA_<alias>, PATRONI_<alias>. */
static const char *env_lookup(char *const *envp, const struct cfg_key *k, char *name, size_t cap)
{
	const char *suffixes[2] = { k->env, k->env_alias };
	static const char *const prefixes[2] = { "GSHA_", "PATRONI_" };

	for (int s = 0; s < 2; s++) {
		if (suffixes[s] == NULL)
			continue;
		for (int p = 0; p < 2; p++) {
			const char *v;

			if (buf_format(name, cap, "%s%s", prefixes[p], suffixes[s]) != 0)
				continue;
			v = env_get(envp, name);
			if (v != NULL && v[0] != '\0') /* Patroni ignores empty variables */
				return v;
		}
	}
	return NULL;
}

static void apply_env_table(struct cfg_reader *r, char *const *envp, const struct cfg_key *table,
			    const char *shown_prefix, void *base)
{
	for (const struct cfg_key *k = table; k->path != NULL; k++) {
		char name[128], shown[CFG_KEYPATH_MAX], source[160];
		const char *value;
		const char *saved = r->source;
		enum cfg_value_kind kind;

		if (k->env == NULL)
			continue;
		value = env_lookup(envp, k, name, sizeof(name));
		if (value == NULL)
			continue;
		if (join_path(shown, sizeof(shown), shown_prefix, k->path) != 0 ||
		    buf_format(source, sizeof(source), "environment variable %s", name) != 0)
			continue;
		r->source = source;
		mark_seen(r, k, 0, 0);
		if (k->type == CFG_KEY_IGNORED) {
			rec_warning(r, 0, 0, shown,
				    "Patroni setting that gsha does not implement yet, ignoring");
		} else if (k->type == CFG_KEY_LIST) {
			(void)list_from_csv(r, (struct cfg_list *)(void *)FIELD(base, k), value, 0,
					    0, shown);
		} else if (k->type == CFG_KEY_PARAMS) {
			(void)params_from_env(r, field_kv_view(FIELD(base, k), k->size), value,
					      shown);
		} else {
			if (cfg_plain_scalar_type(value, &kind) == CFG_NODE_NULL)
				kind = CFG_VALUE_STRING;
			(void)set_scalar(r, k, base, value, kind, 0, 0, shown);
		}
		r->source = saved;
	}
}

/* True when NAME (after the prefix) is the environment name of a key in either table. */
static bool is_key_env(const char *name, size_t len)
{
	const struct cfg_key *tables[] = { cfg_keys, cfg_dynamic_keys };

	for (int t = 0; t < 2; t++) {
		for (const struct cfg_key *k = tables[t]; k->path != NULL; k++) {
			if ((k->env && strlen(k->env) == len && strncmp(k->env, name, len) == 0) ||
			    (k->env_alias && strlen(k->env_alias) == len &&
			     strncmp(k->env_alias, name, len) == 0))
				return true;
		}
	}
	return false;
}

/* Patroni's bootstrap users from the environment: PATRONI_<user>_PASSWORD=<password> and
 * PATRONI_<user>_OPTIONS=<option,...> (GSHA_ works too). Replaces bootstrap.users when any is
 * set, as Patroni's environment replaces the file's section. */
static void apply_env_users(struct cfg_reader *r, char *const *envp, struct cfg *c)
{
	static const char *const prefixes[] = { "GSHA_", "PATRONI_" };
	bool replaced = false;

	for (char *const *e = envp; e != NULL && *e != NULL; e++) {
		for (int p = 0; p < 2; p++) {
			size_t plen = strlen(prefixes[p]);
			const char *eq = strchr(*e, '=');
			const char *user = *e + plen;
			char source[160], shown[CFG_KEYPATH_MAX], opt_name[160];
			struct cfg_user *u;
			size_t ulen;

			if (strncmp(*e, prefixes[p], plen) != 0 || eq == NULL || eq - user <= 9 ||
			    strncmp(eq - 9, "_PASSWORD", 9) != 0 || eq[1] == '\0')
				continue;
			if (is_key_env(user, (size_t)(eq - user)))
				continue;
			ulen = (size_t)(eq - 9 - user);
			if (buf_format(source, sizeof(source), "environment variable %.*s",
				       (int)(eq - *e), *e) != 0 ||
			    buf_format(shown, sizeof(shown), "bootstrap.users.%.*s", (int)ulen,
				       user) != 0)
				continue;
			if (!replaced) {
				c->bootstrap.users_count = 0;
				replaced = true;
			}
			const char *saved = r->source;

			r->source = source;
			if (c->bootstrap.users_count >= CFG_USERS_MAX || ulen >= CFG_NAME_MAX ||
			    strlen(eq + 1) >= CFG_SECRET_MAX) {
				rec_error(r, 0, 0, shown,
					  "too many users, or a name or password "
					  "that is too long");
				r->source = saved;
				continue;
			}
			u = &c->bootstrap.users[c->bootstrap.users_count++];
			memset(u, 0, sizeof(*u));
			memcpy(u->name, user, ulen);
			memcpy(u->password, eq + 1, strlen(eq + 1) + 1);
			if (buf_format(opt_name, sizeof(opt_name), "%s%.*s_OPTIONS", prefixes[p],
				       (int)ulen, user) == 0) {
				const char *opts = env_get(envp, opt_name);
				struct cfg_list *tmp = opts ? malloc(sizeof(*tmp)) : NULL;

				if (tmp != NULL && list_from_csv(r, tmp, opts, 0, 0, shown) == 0) {
					for (int i = 0; i < tmp->count; i++) {
						if (u->options.count >= CFG_WORDS_MAX ||
						    buf_copy(u->options.items[u->options.count],
							     CFG_WORD_MAX, tmp->items[i]) != 0) {
							rec_error(r, 0, 0, shown,
								  "too many or too long options");
							break;
						}
						u->options.count++;
					}
				}
				free(tmp);
			}
			r->source = saved;
		}
	}
}

/* --- validation across keys --- */

/* True when path, or a key written as its alias ("etcd" for "etcd3"), was seen. */
static bool seen_path(const struct cfg_reader *r, const char *path, int *line, int *col)
{
	const struct cfg_key *k = table_find(cfg_keys, path);

	if (k != NULL && find_seen(r, k, line, col))
		return true;
	for (k = cfg_keys; k->path != NULL; k++) {
		if (k->alias_of && strcmp(k->alias_of, path) == 0 && find_seen(r, k, line, col))
			return true;
	}
	return false;
}

/* Where path was written or else its nearest written section; 0:0 when nowhere. */
static void position_of(const struct cfg_reader *r, const char *path, int *line, int *col)
{
	char parent[CFG_KEYPATH_MAX];
	char *dot;

	*line = 0;
	*col = 0;
	if (buf_copy(parent, sizeof(parent), path) != 0 || seen_path(r, parent, line, col))
		return;
	while ((dot = strrchr(parent, '.')) != NULL) {
		*dot = '\0';
		if (seen_path(r, parent, line, col))
			return;
	}
}

static const struct cfg_key *dyn_key(const char *path)
{
	return table_find(cfg_dynamic_keys, path);
}

/* Errors of the timing rule, at the position of whichever of the three keys was written. */
static void check_timing(struct cfg_reader *r, const struct cfg_dynamic *d)
{
	char err[CFG_DIAG_TEXT_MAX];
	int line = 0, col = 0;

	if (cfg_dynamic_check(d, err, sizeof(err)) == 0)
		return;
	if (!find_seen(r, dyn_key("ttl"), &line, &col) &&
	    !find_seen(r, dyn_key("loop_wait"), &line, &col))
		(void)find_seen(r, dyn_key("retry_timeout"), &line, &col);
	rec_error(r, line, col, "bootstrap.dcs.ttl", "%s", err);
}

static bool list_has(const struct cfg_list *l, const char *s)
{
	for (int i = 0; i < l->count; i++) {
		if (strcmp(l->items[i], s) == 0)
			return true;
	}
	return false;
}

static bool is_executable(const char *dir, const char *prog)
{
	char path[CFG_PATH_MAX + 32];

	if (buf_format(path, sizeof(path), "%s/%s", dir, prog) != 0)
		return false;
	return access(path, X_OK) == 0;
}

static void validate(struct cfg_reader *r, struct cfg *c, bool have_file)
{
	int line, col;
	const char *how = have_file ? "set it in the file or with" : "set";

	for (const struct cfg_key *k = cfg_keys; k->path != NULL; k++) {
		if (!(k->flags & CFG_F_REQUIRED) || FIELD(c, k)[0] != '\0' ||
		    find_seen(r, k, NULL, NULL))
			continue;
		position_of(r, k->path, &line, &col);
		rec_error(r, line, col, k->path, "is required: %s; %s PATRONI_%s", k->hint, how,
			  k->env);
	}

	if (c->etcd3.hosts.count == 0 && c->etcd3.url[0] == '\0' && c->etcd3.proxy[0] == '\0') {
		static const char *const others[] = { "consul", "zookeeper", "exhibitor",
						      "kubernetes", "raft" };
		const char *other = NULL;

		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			if (find_seen(r, table_find(cfg_keys, others[i]), NULL, NULL))
				other = others[i];
		}
		position_of(r, "etcd3", &line, &col);
		if (other != NULL)
			rec_error(r, line, col, "etcd3",
				  "gsha keeps its state in etcd v3 only, not in %s: add an etcd3 "
				  "section with hosts",
				  other);
		else
			rec_error(r, line, col, "etcd3",
				  "no etcd endpoint: set etcd3.hosts (host:port list) or "
				  "PATRONI_ETCD3_HOSTS");
	}
	if (find_seen(r, table_find(cfg_keys, "etcd3.host"), NULL, NULL) &&
	    find_seen(r, table_find(cfg_keys, "etcd3.hosts"), &line, &col))
		rec_warning(r, line, col, "etcd3.hosts",
			    "both host and hosts are given: the one read last is used, keep one");
	if (find_seen(r, table_find(cfg_keys, "etcd"), NULL, NULL) &&
	    find_seen(r, table_find(cfg_keys, "etcd3"), &line, &col))
		rec_warning(r, line, col, "etcd3",
			    "both etcd and etcd3 sections are given: gsha reads both as etcd3 (the "
			    "later wins), keep one");
	for (int i = 0; i < c->etcd3.hosts.count; i++) {
		char why[CFG_DIAG_TEXT_MAX];
		char *h = c->etcd3.hosts.items[i];
		size_t n = strlen(h);

		/* Patroni adds etcd's port (etcd3.port, default 2379) to a bare host. */
		if (n > 0 && (strchr(h, ':') == NULL || h[n - 1] == ']') &&
		    snprintf(h + n, CFG_LIST_ITEM_MAX - n, ":%d", c->etcd3.port) >=
			    (int)(CFG_LIST_ITEM_MAX - n))
			h[n] = '\0'; /* no room: the check below reports the missing port */
		if (check_address(h, false, why, sizeof(why), NULL) != 0) {
			position_of(r, "etcd3.hosts", &line, &col);
			if (line == 0)
				position_of(r, "etcd3.host", &line, &col);
			rec_error(r, line, col, "etcd3.hosts", "%s", why);
		}
	}
	if (c->etcd3.url[0] != '\0' && strncmp(c->etcd3.url, "http://", 7) != 0 &&
	    strncmp(c->etcd3.url, "https://", 8) != 0) {
		position_of(r, "etcd3.url", &line, &col);
		rec_error(r, line, col, "etcd3.url", "\"%s\" must start with http:// or https://",
			  c->etcd3.url);
	}

	check_timing(r, &c->bootstrap.dcs);

	if (c->restapi.verify_client != CFG_VERIFY_CLIENT_NONE && c->restapi.certfile[0] == '\0') {
		position_of(r, "restapi.verify_client", &line, &col);
		rec_error(
			r, line, col, "restapi.verify_client",
			"client certificates need HTTPS: set restapi.certfile and restapi.keyfile");
	}
	if (c->restapi.keyfile[0] != '\0' && c->restapi.certfile[0] == '\0') {
		position_of(r, "restapi.keyfile", &line, &col);
		rec_error(r, line, col, "restapi.keyfile",
			  "a key without a certificate: set restapi.certfile too");
	}
	if ((c->restapi.username[0] == '\0') != (c->restapi.password[0] == '\0')) {
		position_of(r, "restapi.authentication", &line, &col);
		rec_error(r, line, col, "restapi.authentication",
			  "give both username and password, or neither");
	}
	if (c->tags.nofailover &&
	    find_seen(r, table_find(cfg_keys, "tags.failover_priority"), &line, &col) &&
	    c->tags.failover_priority > 0)
		rec_warning(r, line, col, "tags.failover_priority",
			    "nofailover is true, so failover_priority %d has no effect: give only "
			    "one of them",
			    c->tags.failover_priority);

	/* postgresql.<name> must be named in create_replica_methods, bootstrap.<name> in
	 * bootstrap.method; anything else is a typo of a known key. */
	for (int i = 0; i < r->pending_count; i++) {
		const struct cfg_node *n = r->pending[i].node;
		const char *prefix = r->pending[i].bootstrap ? "bootstrap" : "postgresql";
		char near[CFG_KEYPATH_MAX], shown[CFG_KEYPATH_MAX];

		if (buf_format(shown, sizeof(shown), "%s.%s", prefix, n->key) != 0)
			continue;
		if (r->pending[i].bootstrap && strcmp(n->key, c->bootstrap.method) == 0) {
			rec_warning(r, n->key_line, n->key_column, shown,
				    "custom bootstrap methods are a Patroni setting that gsha does "
				    "not implement yet, ignoring");
			continue;
		}
		if (!r->pending[i].bootstrap &&
		    list_has(&c->postgresql.create_replica_methods, n->key)) {
			read_replica_method(r, n, c, shown);
			continue;
		}
		suggest(cfg_keys, prefix, prefix, n->key, near, sizeof(near));
		if (near[0] != '\0')
			rec_error(r, n->key_line, n->key_column, shown,
				  "unknown key: did you mean \"%s\"?", near);
		else
			rec_error(r, n->key_line, n->key_column, shown,
				  "unknown key: name it in %s or remove it",
				  r->pending[i].bootstrap ? "bootstrap.method"
							  : "postgresql.create_replica_methods");
	}
	if (c->bootstrap.method[0] != '\0' && strcmp(c->bootstrap.method, "initdb") != 0) {
		position_of(r, "bootstrap.method", &line, &col);
		rec_warning(r, line, col, "bootstrap.method",
			    "custom bootstrap methods are not implemented yet: gsha runs initdb, "
			    "ignoring");
	}

	c->postgresql.use_pg_rewind_set =
		find_seen(r, table_find(cfg_keys, "postgresql.use_pg_rewind"), NULL, NULL);

	/* The engine: written, or what bin_dir holds. */
	const struct cfg_key *ek = table_find(cfg_keys, "postgresql.engine");

	c->postgresql.engine_explicit = find_seen(r, ek, &line, &col);
	if (!c->postgresql.engine_explicit) {
		c->postgresql.engine =
			c->postgresql.bin_dir[0] != '\0' &&
					is_executable(c->postgresql.bin_dir, "gs_ctl")
				? CFG_ENGINE_OPENGAUSS
				: CFG_ENGINE_POSTGRESQL;
	} else if (c->postgresql.bin_dir[0] != '\0') {
		const char *want =
			c->postgresql.engine == CFG_ENGINE_OPENGAUSS ? "gs_ctl" : "pg_ctl";

		if (!is_executable(c->postgresql.bin_dir, want))
			rec_warning(r, line, col, "postgresql.engine",
				    "engine is %s but \"%s\" has no %s: check postgresql.bin_dir",
				    cfg_engine_name(c->postgresql.engine), c->postgresql.bin_dir,
				    want);
	}
	if (c->postgresql.listen[0] != '\0') {
		char why[CFG_DIAG_TEXT_MAX];

		(void)check_address(c->postgresql.listen, true, why, sizeof(why),
				    &c->postgresql.port);
	}
}

/* --- loading --- */

static int load(const char *source, const char *text, size_t len, char *const *envp,
		struct cfg *out, struct cfg_diags *diags)
{
	struct cfg_reader *r;
	struct cfg *c;
	struct cfg_node *root = NULL;
	int errors_before = diags->errors;
	int rc = 0;

	c = malloc(sizeof(*c));
	r = calloc(1, sizeof(*r));
	if (c == NULL || r == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	cfg_defaults(c);
	r->diags = diags;
	r->source = source;
	r->cfg = c;
	if (buf_copy(c->source, sizeof(c->source), source) != 0)
		c->source[0] = '\0';

	if (text != NULL) {
		struct cfg_diag d;

		memset(&d, 0, sizeof(d));
		rc = cfg_yaml_parse(text, len, &root, &d);
		if (rc == -ENOMEM)
			goto out_free;
		if (rc != 0) {
			cfg_diag_add(diags, CFG_SEVERITY_ERROR, source, d.line, d.column, "", "%s",
				     d.message);
			rc = -EINVAL;
			goto out_free;
		}
		if (root->type == CFG_NODE_MAP) {
			cfg_read_map(r, root, cfg_keys, "", "", c);
		} else if (root->type != CFG_NODE_NULL) {
			cfg_diag_add(
				diags, CFG_SEVERITY_ERROR, source, root->line, root->column, "",
				"the file must be a mapping of keys (scope:, name:, ...), not %s",
				type_noun(root));
		}
	}
	apply_env_table(r, envp, cfg_keys, "", c);
	apply_env_table(r, envp, cfg_dynamic_keys, "bootstrap.dcs", &c->bootstrap.dcs);
	apply_env_users(r, envp, c);
	validate(r, c, text != NULL);

	if (diags->errors > errors_before) {
		rc = -EINVAL;
		goto out_free;
	}
	memcpy(out, c, sizeof(*c));
	rc = 0;
out_free:
	cfg_node_free(root);
	free(r);
	free(c);
	return rc;
}

int cfg_load_text(const char *source, const char *text, size_t len, char *const *envp,
		  struct cfg *out, struct cfg_diags *diags)
{
	if (text != NULL && len > CFG_FILE_MAX_BYTES) {
		cfg_diag_add(diags, CFG_SEVERITY_ERROR, source, 0, 0, "",
			     "is larger than %d bytes: this is not a configuration file",
			     CFG_FILE_MAX_BYTES);
		return -EFBIG;
	}
	return load(source, text, len, envp, out, diags);
}

int cfg_load(const char *path, char *const *envp, struct cfg *out, struct cfg_diags *diags)
{
	struct buf text;
	char chunk[65536];
	FILE *f;
	int rc;

	if (path == NULL) {
		static const char *const names[] = { "GSHA_CONFIGURATION",
						     "PATRONI_CONFIGURATION" };

		for (size_t i = 0; i < 2; i++) {
			const char *v = env_get(envp, names[i]);
			char source[64];

			if (v == NULL || v[0] == '\0')
				continue;
			if (buf_format(source, sizeof(source), "environment variable %s",
				       names[i]) != 0)
				return -ENAMETOOLONG;
			return cfg_load_text(source, v, strlen(v), envp, out, diags);
		}
		return load("environment", NULL, 0, envp, out, diags);
	}
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		cfg_diag_add(diags, CFG_SEVERITY_ERROR, path, 0, 0, "", "could not open file: %s",
			     strerror(-rc));
		return rc;
	}
	buf_init(&text, CFG_FILE_MAX_BYTES);
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);

		if (n > 0 && (rc = buf_append(&text, chunk, n)) != 0) {
			if (rc == -ENOBUFS) {
				cfg_diag_add(diags, CFG_SEVERITY_ERROR, path, 0, 0, "",
					     "is larger than %d bytes: this is not a configuration "
					     "file",
					     CFG_FILE_MAX_BYTES);
				rc = -EFBIG;
			}
			goto out_close;
		}
		if (n < sizeof(chunk)) {
			if (ferror(f)) {
				rc = -EIO;
				cfg_diag_add(diags, CFG_SEVERITY_ERROR, path, 0, 0, "",
					     "could not read file");
				goto out_close;
			}
			break;
		}
	}
	rc = cfg_load_text(path, text.data ? text.data : "", text.len, envp, out, diags);
out_close:
	buf_done(&text);
	fclose(f);
	return rc;
}

/* --- summary --- */

static int summary_table(const struct cfg_key *table, const char *prefix, const void *base,
			 struct buf *out)
{
	int rc = 0;

	for (const struct cfg_key *k = table; k->path != NULL && rc == 0; k++) {
		const char *field = (const char *)base + k->offset;
		char shown[CFG_KEYPATH_MAX];

		bool shown_before = false;

		if (k->alias_of != NULL || k->sub != NULL)
			continue;
		/* Two names for one field ("etcd3.host" and "hosts"): show it once. */
		for (const struct cfg_key *e = table; e != k; e++)
			shown_before =
				shown_before || (e->offset == k->offset && e->size == k->size &&
						 e->type != CFG_KEY_SECTION &&
						 e->type != CFG_KEY_IGNORED && e->alias_of == NULL);
		if (shown_before && k->type != CFG_KEY_SECTION && k->type != CFG_KEY_IGNORED)
			continue;
		if (join_path(shown, sizeof(shown), prefix, k->path) != 0)
			continue;
		switch (k->type) {
		case CFG_KEY_STRING:
		case CFG_KEY_ADDRESS:
		case CFG_KEY_LISTEN:
			if (field[0] == '\0')
				break;
			rc = buf_printf(out, "%s = %s\n", shown,
					(k->flags & CFG_F_SECRET) ? "********" : field);
			break;
		case CFG_KEY_BOOL:
			rc = buf_printf(out, "%s = %s\n", shown,
					*(const bool *)(const void *)field ? "true" : "false");
			break;
		case CFG_KEY_INT:
			rc = buf_printf(out, "%s = %d\n", shown, *(const int *)(const void *)field);
			break;
		case CFG_KEY_INT64:
			rc = buf_printf(out, "%s = %lld\n", shown,
					(long long)*(const int64_t *)(const void *)field);
			break;
		case CFG_KEY_DURATION:
			rc = buf_printf(out, "%s = %lldms\n", shown,
					(long long)*(const int64_t *)(const void *)field);
			break;
		case CFG_KEY_ENUM:
			rc = buf_printf(out, "%s = %s\n", shown,
					k->names[*(const int *)(const void *)field]);
			break;
		case CFG_KEY_LOG_LEVEL:
			rc = buf_printf(
				out, "%s = %s\n", shown,
				log_level_name(*(const enum log_level *)(const void *)field));
			break;
		case CFG_KEY_LOG_FORMAT:
			rc = buf_printf(out, "%s = %s\n", shown,
					*(const enum log_format *)(const void *)field ==
							LOG_FORMAT_JSON
						? "json"
						: "text");
			break;
		case CFG_KEY_LIST: {
			const struct cfg_list *l = (const void *)field;

			if (l->count == 0)
				break;
			rc = buf_printf(out, "%s = ", shown);
			for (int i = 0; i < l->count && rc == 0; i++)
				rc = buf_printf(out, "%s%s", i ? ", " : "", l->items[i]);
			if (rc == 0)
				rc = buf_puts(out, "\n");
			break;
		}
		case CFG_KEY_PARAMS:
		case CFG_KEY_OPTIONS: {
			struct kv_view p = field_kv_view((void *)(uintptr_t)field, k->size);

			for (int i = 0; i < *p.count && rc == 0; i++)
				rc = buf_printf(out, "%s.%s = %s\n", shown, p.items[i].name,
						p.items[i].value);
			break;
		}
		case CFG_KEY_SECTION:
		case CFG_KEY_USERS:
		case CFG_KEY_IGNORED:
			break;
		}
	}
	return rc;
}

int cfg_summary(const struct cfg *c, struct buf *out)
{
	int rc = summary_table(cfg_keys, "", c, out);

	if (rc == 0)
		rc = summary_table(cfg_dynamic_keys, "bootstrap.dcs", &c->bootstrap.dcs, out);
	for (int i = 0; i < c->tags.custom.count && rc == 0; i++)
		rc = buf_printf(out, "tags.%s = %s\n", c->tags.custom.items[i].name,
				c->tags.custom.items[i].value);
	if (rc == 0)
		rc = buf_printf(out, "postgresql.engine_explicit = %s\n",
				c->postgresql.engine_explicit ? "true" : "false");
	return rc;
}
