/*
 * cfg_slots.c - Patroni's "slots" (permanent replication slots) and "ignore_slots" keys of the
 * dynamic configuration. As in Patroni (dcs/__init__.py, _merge_permanent_slots), an entry that
 * is not understood is reported and skipped: one bad slot never voids the configuration.
 *
 *   slots:         {name: null | {type: physical} | {type: logical, database: d, plugin: p}}
 *                  (no type: logical when database and plugin are given, else physical)
 *   ignore_slots:  [{name: n, type: t, database: d, plugin: p}, ...], every field optional
 */
#include "cfg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

/* Patroni's slot_name_re: lower-case letters, digits and "_", at most NAMEDATALEN - 1. */
static bool valid_slot_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* Reports an entry left out: a warning at its place, and the count and first reason in out (the
 * DCS "config" key is read without recording warnings; the agent logs these). */
__attribute__((format(printf, 5, 6))) static void skip(struct cfg_reader *r, struct cfg_slots *out,
						       const struct cfg_node *n, const char *shown,
						       const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cfg_rec_warning(r, n->line, n->column, shown, "%s", why);
	/* Both fit: why is under 256 bytes, and a key path is shown up to 200 (the full text went
	 * to the diagnostics). */
	if (out->skipped++ == 0)
		snprintf(out->skipped_why, sizeof(out->skipped_why), "%.200s: %.255s", shown, why);
}

/* Reads the fields of one entry; false (with a warning) when one is not understood. */
static bool read_fields(struct cfg_reader *r, struct cfg_slots *out, const struct cfg_node *m,
			struct cfg_slot *s, bool ignore, const char *shown)
{
	for (const struct cfg_node *f = m->child; f != NULL; f = f->next) {
		char *dst = NULL;
		size_t cap = 0;

		if (strcmp(f->key, "type") == 0) {
			dst = s->type;
			cap = sizeof(s->type);
		} else if (strcmp(f->key, "database") == 0) {
			dst = s->database;
			cap = sizeof(s->database);
		} else if (strcmp(f->key, "plugin") == 0) {
			dst = s->plugin;
			cap = sizeof(s->plugin);
		} else if (ignore && strcmp(f->key, "name") == 0) {
			dst = s->name;
			cap = sizeof(s->name);
		} else {
			/* Patroni 4 knows more (cluster_type); they change nothing here. */
			continue;
		}
		if (f->type == CFG_NODE_NULL)
			continue;
		if (f->type != CFG_NODE_SCALAR || buf_copy(dst, cap, f->text) != 0) {
			skip(r, out, f, shown, "\"%s\" must be a short single value: entry skipped",
			     f->key);
			return false;
		}
	}
	if (s->type[0] && strcmp(s->type, "physical") != 0 && strcmp(s->type, "logical") != 0) {
		skip(r, out, m, shown, "type \"%s\" is neither physical nor logical: entry skipped",
		     s->type);
		return false;
	}
	return true;
}

static void read_permanent(struct cfg_reader *r, const struct cfg_node *e, struct cfg_slots *out,
			   const char *shown)
{
	struct cfg_slot s;

	memset(&s, 0, sizeof(s));
	if (!valid_slot_name(e->key) || buf_copy(s.name, sizeof(s.name), e->key) != 0) {
		skip(r, out, e, shown,
		     "slot name \"%.64s\" may only contain lower case letters, numbers and \"_\" "
		     "(at most 63): slot skipped",
		     e->key);
		return;
	}
	if (e->type == CFG_NODE_MAP) {
		if (!read_fields(r, out, e, &s, false, shown))
			return;
	} else if (e->type != CFG_NODE_NULL) {
		skip(r, out, e, shown,
		     "must be a mapping with type (and database, plugin): slot skipped");
		return;
	}
	if (s.type[0] == '\0')
		memcpy(s.type, s.database[0] && s.plugin[0] ? "logical" : "physical",
		       s.database[0] && s.plugin[0] ? sizeof("logical") : sizeof("physical"));
	if (strcmp(s.type, "logical") == 0 && (s.database[0] == '\0' || s.plugin[0] == '\0')) {
		skip(r, out, e, shown, "a logical slot needs database and plugin: slot skipped");
		return;
	}
	if (out->count >= CFG_SLOTS_MAX) {
		skip(r, out, e, shown, "more than %d slots: the rest are skipped", CFG_SLOTS_MAX);
		return;
	}
	out->items[out->count++] = s;
}

void cfg_read_slots(struct cfg_reader *r, const struct cfg_node *n, struct cfg_slots *out,
		    bool ignore, const char *shown)
{
	memset(out, 0, sizeof(*out));
	if (n->type == CFG_NODE_NULL)
		return;
	if (n->type != (ignore ? CFG_NODE_SEQ : CFG_NODE_MAP)) {
		skip(r, out, n, shown, "must be %s, not %s: ignored",
		     ignore ? "a list of mappings" : "a mapping of slot names", cfg_type_noun(n));
		return;
	}
	for (const struct cfg_node *e = n->child; e != NULL; e = e->next) {
		struct cfg_slot s;

		if (!ignore) {
			read_permanent(r, e, out, shown);
			continue;
		}
		memset(&s, 0, sizeof(s));
		if (e->type != CFG_NODE_MAP) {
			skip(r, out, e, shown,
			     "an entry must be a mapping (name, type, database, plugin): entry "
			     "skipped");
			continue;
		}
		if (!read_fields(r, out, e, &s, true, shown))
			continue;
		if (out->count >= CFG_SLOTS_MAX) {
			skip(r, out, e, shown, "more than %d entries: the rest are skipped",
			     CFG_SLOTS_MAX);
			return;
		}
		out->items[out->count++] = s;
	}
}
