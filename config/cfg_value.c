/*
 * cfg_value.c - typed values: one text (a YAML scalar, an environment variable, a default) set
 * into a field of the type its key-table row says, with the range checks and the error that
 * says what to write instead; lists and name=value pairs; looking pairs up.
 */
#include "cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "cfg_internal.h"
#include "name.h"
#include "num.h"

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

/* --- values --- */

/* Checks "host:port" (connect) or "host[,host...]:port" with an optional host (listen). */
int cfg_check_address(const char *text, bool listen, char *why, size_t cap, int *port_out)
{
	const char *colon = strrchr(text, ':');
	char hosts[CFG_ADDR_MAX];
	int port;

	if (colon == NULL) {
		return err_fail(why, cap, -EINVAL, "\"%s\" has no port: write host:port", text);
	}
	if (num_parse_int(colon + 1, 1, 65535, &port) != 0) {
		return err_fail(why, cap, -EINVAL,
				"\"%s\": the port must be a number from 1 to 65535", text);
	}
	if ((size_t)(colon - text) >= sizeof(hosts)) {
		return err_fail(why, cap, -EINVAL, "the host name is too long");
	}
	memcpy(hosts, text, (size_t)(colon - text));
	hosts[colon - text] = '\0';
	if (strpbrk(hosts, " \t/") != NULL) {
		return err_fail(why, cap, -EINVAL,
				"\"%s\" is not host:port (a URL or spaces are not allowed here)",
				text);
	}
	if (!listen && hosts[0] == '\0') {
		return err_fail(why, cap, -EINVAL, "\"%s\" has no host: write host:port", text);
	}
	if (!listen && strchr(hosts, ',') != NULL) {
		return err_fail(why, cap, -EINVAL, "\"%s\": give one host here", text);
	}
	if (port_out)
		*port_out = port;
	return 0;
}

int cfg_list_append(struct cfg_reader *r, struct cfg_list *l, const char *text, int line, int col,
		    const char *shown)
{
	if (l->count >= CFG_LIST_MAX) {
		cfg_rec_error(r, line, col, shown, "has more than %d entries: shorten the list",
			      CFG_LIST_MAX);
		return -EINVAL;
	}
	if (buf_copy(l->items[l->count], sizeof(l->items[0]), text) != 0) {
		cfg_rec_error(r, line, col, shown, "an entry is longer than %d bytes",
			      CFG_LINE_MAX - 1);
		return -EINVAL;
	}
	l->count++;
	return 0;
}

static struct cfg_kv_view params_view(struct cfg_params *p)
{
	return (struct cfg_kv_view){ &p->count, p->items, CFG_PARAMS_MAX };
}

struct cfg_kv_view cfg_options_view(struct cfg_options *o)
{
	return (struct cfg_kv_view){ &o->count, o->items, CFG_OPTIONS_MAX };
}

struct cfg_kv_view cfg_field_kv_view(void *field, size_t size)
{
	if (size == sizeof(struct cfg_params))
		return params_view(field);
	return cfg_options_view(field);
}

/* Adds or replaces name in a pair list. */
int cfg_params_put(struct cfg_reader *r, struct cfg_kv_view p, const char *name, const char *value,
		   enum cfg_value_kind kind, int line, int col, const char *shown)
{
	struct cfg_kv *kv = NULL;

	for (int i = 0; i < *p.count; i++) {
		if (strcasecmp(p.items[i].name, name) == 0)
			kv = &p.items[i];
	}
	if (kv == NULL) {
		if (*p.count >= p.cap) {
			cfg_rec_error(r, line, col, shown, "has more than %d entries", p.cap);
			return -EINVAL;
		}
		kv = &p.items[*p.count];
	}
	if (strlen(name) >= sizeof(kv->name)) {
		cfg_rec_error(r, line, col, shown, "name \"%.40s...\" is longer than %d bytes",
			      name, CFG_KEY_MAX - 1);
		return -EINVAL;
	}
	if (strlen(value) >= sizeof(kv->value)) {
		cfg_rec_error(r, line, col, shown, "value of \"%s\" is longer than %d bytes", name,
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
int cfg_list_from_csv(struct cfg_reader *r, struct cfg_list *l, const char *text, int line, int col,
		      const char *shown)
{
	char tmp[CFG_LIST_MAX * CFG_LINE_MAX];
	char *p, *end;
	size_t n = strlen(text);

	if (n >= sizeof(tmp)) {
		cfg_rec_error(r, line, col, shown, "is too long");
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
			cfg_rec_error(r, line, col, shown,
				      "\"[\" without \"]\": write a, b or [a, b]");
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
		if (cfg_list_append(r, l, item, line, col, shown) != 0)
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
int cfg_params_from_env(struct cfg_reader *r, struct cfg_kv_view p, const char *text,
			const char *shown)
{
	char tmp[CFG_LIST_ITEM_MAX * 4];
	char *cur, *close;

	if (buf_copy(tmp, sizeof(tmp), text) != 0) {
		cfg_rec_error(r, 0, 0, shown, "is too long");
		return -EINVAL;
	}
	cur = trim_quoted(tmp);
	if (*cur == '{') {
		close = strrchr(cur, '}');
		if (close == NULL) {
			cfg_rec_error(r, 0, 0, shown,
				      "\"{\" without \"}\": write {name: value, ...}");
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
				cfg_rec_error(r, 0, 0, shown, "\"%s\" is not name: value", cur);
				return -EINVAL;
			}
			*colon = '\0';
			name = trim_quoted(cur);
			value = trim_quoted(colon + 1);
			if (cfg_params_put(r, p, name, value, CFG_VALUE_STRING, 0, 0, shown) != 0)
				return -EINVAL;
		}
		cur = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* A member's name becomes its application_name and replication slot name, of which PostgreSQL
 * keeps 63 bytes (name.h): refuse a longer one here, where it enters, with the reason. "" is left
 * for the required-key check to report. */
static int set_member_name(struct cfg_reader *r, char *field, size_t size, const char *text,
			   int line, int col, const char *shown)
{
	int rc;

	if (size != MEMBER_NAME_MAX) {
		cfg_rec_error(r, line, col, shown, "is not sized for a member name (a bug)");
		return -EINVAL;
	}
	if (text[0] == '\0') {
		field[0] = '\0';
		return 0;
	}
	rc = member_name_copy(field, text);
	if (rc == -ENAMETOOLONG)
		cfg_rec_error(r, line, col, shown,
			      "\"%.20s...\" is %zu bytes long, more than the %d a member name may "
			      "have: PostgreSQL keeps only %d bytes of application_name and of "
			      "replication slot names, which are made from it; shorten it",
			      text, strlen(text), MEMBER_NAME_LEN, MEMBER_NAME_LEN);
	else if (rc != 0)
		cfg_rec_error(r, line, col, shown,
			      "contains a control character: a member name becomes an "
			      "application_name and a replication slot name, write it without one");
	return rc == 0 ? 0 : -EINVAL;
}

/* Sets one scalar-typed key from text. Records an error and returns -EINVAL when it does not
 * fit the key's type or range. */
int cfg_set_scalar(struct cfg_reader *r, const struct cfg_key *k, void *base, const char *text,
		   enum cfg_value_kind kind, int line, int col, const char *shown)
{
	char *field = CFG_FIELD(base, k);
	char why[CFG_DIAG_TEXT_MAX];
	int rc;

	switch (k->type) {
	case CFG_KEY_STRING:
		if (buf_copy(field, k->size, text) != 0) {
			cfg_rec_error(r, line, col, shown, "is longer than %zu bytes: shorten it",
				      k->size - 1);
			return -EINVAL;
		}
		return 0;
	case CFG_KEY_MEMBER_NAME:
		return set_member_name(r, field, k->size, text, line, col, shown);
	case CFG_KEY_ADDRESS:
	case CFG_KEY_LISTEN:
		if (cfg_check_address(text, k->type == CFG_KEY_LISTEN, why, sizeof(why), NULL) !=
		    0) {
			cfg_rec_error(r, line, col, shown, "%s", why);
			return -EINVAL;
		}
		if (buf_copy(field, k->size, text) != 0) {
			cfg_rec_error(r, line, col, shown, "is longer than %zu bytes", k->size - 1);
			return -EINVAL;
		}
		return 0;
	case CFG_KEY_BOOL: {
		bool b;

		if (num_parse_bool(text, &b) != 0) {
			cfg_rec_error(r, line, col, shown,
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
			cfg_rec_error(r, line, col, shown, "must be a number, not a boolean");
			return -EINVAL;
		}
		rc = num_parse_i64(text, k->min, k->max, &v);
		if (rc == -ERANGE) {
			cfg_rec_error(r, line, col, shown,
				      "%s is out of range: use %lld to %lld%s%s", text,
				      (long long)k->min, (long long)k->max, k->hint ? "; " : "",
				      k->hint ? k->hint : "");
			return -EINVAL;
		}
		if (rc != 0) {
			cfg_rec_error(r, line, col, shown, "\"%s\" is not a whole number", text);
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
			cfg_rec_error(r, line, col, shown, "must be a duration, not a boolean");
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
			cfg_rec_error(r, line, col, shown, "%s is out of range: use %s to %s%s%s",
				      text, lo, hi, k->hint ? "; " : "", k->hint ? k->hint : "");
			return -EINVAL;
		}
		if (rc != 0) {
			cfg_rec_error(
				r, line, col, shown,
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

		bool has_on = false, b = false, is_bool;

		for (int i = 0; k->names[i] != NULL; i++)
			has_on = has_on || strcmp(k->names[i], "on") == 0;
		/* YAML 1.1 reads "off" as false: Patroni's watchdog.mode accepts that too. An
		 * enum with "on" and "off" (synchronous_mode) is a boolean that grew a third value:
		 * every spelling of true and false parse_bool takes, from YAML, JSON or the
		 * environment, is "on" or "off". */
		is_bool = (kind == CFG_VALUE_BOOL || has_on) && num_parse_bool(text, &b) == 0;
		for (int i = 0; k->names[i] != NULL; i++) {
			if (strcasecmp(text, k->names[i]) == 0 ||
			    (is_bool && strcmp(k->names[i], b ? "on" : "off") == 0)) {
				*(int *)(void *)field = i;
				return 0;
			}
			size_t used = strlen(allowed);
			snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "",
				 k->names[i]);
		}
		cfg_rec_error(r, line, col, shown, "\"%s\" is not allowed: use one of %s", text,
			      allowed);
		return -EINVAL;
	}
	case CFG_KEY_LOG_LEVEL: {
		enum log_level lvl;

		if (log_level_parse(text, &lvl) != 0) {
			cfg_rec_error(
				r, line, col, shown,
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
			cfg_rec_warning(
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
			return cfg_list_from_csv(r, l, text, line, col, shown);
		l->count = 0;
		return cfg_list_append(r, l, text, line, col, shown);
	}
	case CFG_KEY_SECTION:
	case CFG_KEY_PARAMS:
	case CFG_KEY_OPTIONS:
	case CFG_KEY_USERS:
	case CFG_KEY_SLOTS:
	case CFG_KEY_IGNORE_SLOTS:
	case CFG_KEY_IGNORED:
		break;
	}
	cfg_rec_error(r, line, col, shown, "cannot be given as a single value");
	return -EINVAL;
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

/* Patroni's request.py: a ctl value, else the restapi one. */
static const char *ctl_or_restapi(const char *ctl, const char *restapi)
{
	return ctl[0] != '\0' ? ctl : restapi;
}

void cfg_member_auth(const struct cfg *c, struct member_auth *out)
{
	bool ctl_auth = c->ctl.username[0] != '\0';

	memset(out, 0, sizeof(*out));
	/* Every field is at least as large as its cfg source: nothing is cut. */
	buf_copy_or_clear(out->username, sizeof(out->username),
			  ctl_auth ? c->ctl.username : c->restapi.username);
	buf_copy_or_clear(out->password, sizeof(out->password),
			  ctl_auth ? c->ctl.password : c->restapi.password);
	buf_copy_or_clear(out->cafile, sizeof(out->cafile),
			  ctl_or_restapi(c->ctl.cacert, c->restapi.cafile));
	buf_copy_or_clear(out->certfile, sizeof(out->certfile),
			  ctl_or_restapi(c->ctl.certfile, c->restapi.certfile));
	buf_copy_or_clear(out->keyfile, sizeof(out->keyfile),
			  ctl_or_restapi(c->ctl.keyfile, c->restapi.keyfile));
	buf_copy_or_clear(out->keyfile_password, sizeof(out->keyfile_password),
			  ctl_or_restapi(c->ctl.keyfile_password, c->restapi.keyfile_password));
	out->insecure = c->ctl.insecure;
}
