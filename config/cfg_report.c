/*
 * cfg_report.c - what loading tells: the list of diagnostics (file:line:column, key, message),
 * their formatting, and the effective-configuration summary.
 *
 * A diagnostic is not err.h's message: it carries a source, a position and a key, and loading
 * collects many of them instead of stopping at the first.
 */
#include "cfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cfg_internal.h"

void cfg_diags_init(struct cfg_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void cfg_diag_addv(struct cfg_diags *d, enum cfg_severity sev, const char *source, int line,
		   int column, const char *key, const char *fmt, va_list ap)
{
	struct cfg_diag *x;
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
	n = vsnprintf(x->message, sizeof(x->message), fmt, ap);
	if (n >= (int)sizeof(x->message))
		memcpy(x->message + sizeof(x->message) - 4, "...", 4);
}

void cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *source, int line,
		  int column, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_addv(d, sev, source, line, column, key, fmt, ap);
	va_end(ap);
}

void cfg_rec_error(struct cfg_reader *r, int line, int col, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_diag_addv(r->diags, CFG_SEVERITY_ERROR, r->source, line, col, key, fmt, ap);
	va_end(ap);
}

void cfg_rec_warning(struct cfg_reader *r, int line, int col, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (r->quiet_warnings)
		return;
	va_start(ap, fmt);
	cfg_diag_addv(r->diags, CFG_SEVERITY_WARNING, r->source, line, col, key, fmt, ap);
	va_end(ap);
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
		if (cfg_join_path(shown, sizeof(shown), prefix, k->path) != 0)
			continue;
		switch (k->type) {
		case CFG_KEY_STRING:
		case CFG_KEY_MEMBER_NAME:
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
			struct cfg_kv_view p = cfg_field_kv_view((void *)(uintptr_t)field, k->size);

			for (int i = 0; i < *p.count && rc == 0; i++)
				rc = buf_printf(out, "%s.%s = %s\n", shown, p.items[i].name,
						p.items[i].value);
			break;
		}
		case CFG_KEY_SECTION:
		case CFG_KEY_USERS:
		case CFG_KEY_SLOTS:
		case CFG_KEY_IGNORE_SLOTS:
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
