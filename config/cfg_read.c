/*
 * cfg_read.c - reading a document tree (YAML or JSON) through the key table: finding a key's row,
 * "did you mean" suggestions, sections, lists, pairs, users, tags and replica methods, and the
 * table's defaults.
 */
#include "cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cfg_internal.h"
#include "log.h"

/* --- the table --- */

const struct cfg_key *cfg_table_find(const struct cfg_key *table, const char *path)
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
		return cfg_table_find(table, k->alias_of);
	return k;
}

int cfg_join_path(char *out, size_t cap, const char *prefix, const char *key)
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
void cfg_suggest(const struct cfg_key *table, const char *prefix, const char *shown_prefix,
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

		if (cfg_join_path(shown, sizeof(shown), shown_prefix, last_component(best_path)) ==
			    0 &&
		    buf_copy(out, cap, shown) == 0)
			return;
	}
	out[0] = '\0';
}

void cfg_mark_seen(struct cfg_reader *r, const struct cfg_key *k, int line, int col)
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

bool cfg_find_seen(const struct cfg_reader *r, const struct cfg_key *k, int *line, int *col)
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

const char *cfg_type_noun(const struct cfg_node *n)
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

static void read_params(struct cfg_reader *r, const struct cfg_node *n, struct cfg_kv_view p,
			const char *shown)
{
	*p.count = 0;
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		char sub[CFG_KEYPATH_MAX];

		if (cfg_join_path(sub, sizeof(sub), shown, c->key) != 0)
			continue;
		if (c->type == CFG_NODE_NULL)
			continue;
		if (c->type != CFG_NODE_SCALAR) {
			cfg_rec_error(r, c->line, c->column, sub, "must be a single value, not %s",
				      cfg_type_noun(c));
			continue;
		}
		(void)cfg_params_put(r, p, c->key, c->text, c->kind, c->line, c->column, sub);
	}
}

/* initdb and basebackup: "- switch" or "- name: value" entries (a mapping works too). */
static void read_options(struct cfg_reader *r, const struct cfg_node *n, struct cfg_kv_view p,
			 const char *shown)
{
	*p.count = 0;
	if (n->type == CFG_NODE_MAP) {
		read_params(r, n, p, shown);
		return;
	}
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		if (c->type == CFG_NODE_SCALAR) {
			(void)cfg_params_put(r, p, c->text, "", CFG_VALUE_NONE, c->line, c->column,
					     shown);
		} else if (c->type == CFG_NODE_MAP && c->child != NULL && c->child->next == NULL &&
			   c->child->type == CFG_NODE_SCALAR) {
			(void)cfg_params_put(r, p, c->child->key, c->child->text, c->child->kind,
					     c->line, c->column, shown);
		} else {
			cfg_rec_error(
				r, c->line, c->column, shown,
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
			cfg_rec_error(r, c->line, c->column, shown,
				      "each entry must be a single value, not %s",
				      cfg_type_noun(c));
			continue;
		}
		if (cfg_list_append(r, l, c->text, c->line, c->column, shown) != 0)
			return;
	}
}

static void read_words(struct cfg_reader *r, const struct cfg_node *n, struct cfg_words *w,
		       const char *shown)
{
	w->count = 0;
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		if (c->type != CFG_NODE_SCALAR) {
			cfg_rec_error(r, c->line, c->column, shown,
				      "each entry must be a single value, not %s",
				      cfg_type_noun(c));
			continue;
		}
		if (w->count >= CFG_WORDS_MAX) {
			cfg_rec_error(r, c->line, c->column, shown, "has more than %d entries",
				      CFG_WORDS_MAX);
			return;
		}
		if (buf_copy(w->items[w->count], sizeof(w->items[0]), c->text) != 0) {
			cfg_rec_error(r, c->line, c->column, shown,
				      "an entry is longer than %d bytes", CFG_WORD_MAX - 1);
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

		if (cfg_join_path(upath, sizeof(upath), shown, u->key) != 0)
			continue;
		if (u->type != CFG_NODE_MAP) {
			cfg_rec_error(r, u->line, u->column, upath,
				      "must be a mapping with password: and options:");
			continue;
		}
		if (c->bootstrap.users_count >= CFG_USERS_MAX) {
			cfg_rec_error(r, u->line, u->column, upath, "more than %d users",
				      CFG_USERS_MAX);
			return;
		}
		user = &c->bootstrap.users[c->bootstrap.users_count];
		memset(user, 0, sizeof(*user));
		if (buf_copy(user->name, sizeof(user->name), u->key) != 0) {
			cfg_rec_error(r, u->line, u->column, upath, "the user name is too long");
			continue;
		}
		c->bootstrap.users_count++;
		for (const struct cfg_node *f = u->child; f != NULL; f = f->next) {
			char fpath[CFG_KEYPATH_MAX];

			if (cfg_join_path(fpath, sizeof(fpath), upath, f->key) != 0)
				continue;
			if (strcmp(f->key, "password") == 0 && f->type == CFG_NODE_SCALAR) {
				if (buf_copy(user->password, sizeof(user->password), f->text) != 0)
					cfg_rec_error(r, f->line, f->column, fpath, "is too long");
			} else if (strcmp(f->key, "options") == 0 && f->type == CFG_NODE_SEQ) {
				read_words(r, f, &user->options, fpath);
			} else if (f->type == CFG_NODE_NULL) {
				continue;
			} else if (strcmp(f->key, "password") == 0 ||
				   strcmp(f->key, "options") == 0) {
				cfg_rec_error(r, f->line, f->column, fpath, "must be %s",
					      f->key[0] == 'p' ? "a single value" : "a list");
			} else {
				const char *near =
					cfg_edit_distance(f->key, "password") <
							cfg_edit_distance(f->key, "options")
						? "password"
						: "options";
				cfg_rec_error(r, f->line, f->column, fpath,
					      "unknown key \"%s\": did you mean \"%s\"?", f->key,
					      near);
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
		cfg_rec_error(r, n->line, n->column, shown, "a tag must be a single value, not %s",
			      cfg_type_noun(n));
		return;
	}
	(void)cfg_params_put(r, cfg_options_view(&c->tags.custom), n->key, n->text, n->kind,
			     n->line, n->column, shown);
}

/* Python's truth of a YAML scalar, as Patroni tests a method's switches. */
static bool python_truth(const struct cfg_node *f)
{
	if (f->kind == CFG_VALUE_BOOL)
		return strcasecmp(f->text, "true") == 0 || strcasecmp(f->text, "yes") == 0 ||
		       strcasecmp(f->text, "on") == 0 || strcasecmp(f->text, "y") == 0;
	if (f->kind == CFG_VALUE_NUMBER)
		return strspn(f->text, "+-0._") != strlen(f->text) || strchr(f->text, 'x');
	return f->type != CFG_NODE_NULL && f->text[0] != '\0';
}

static void read_method(struct cfg_reader *r, const struct cfg_node *n,
			struct cfg_replica_method *m, const char *shown, bool bootstrap)
{
	memset(m, 0, sizeof(*m));
	if (buf_copy(m->name, sizeof(m->name), n->key) != 0) {
		cfg_rec_error(r, n->line, n->column, shown, "the name is too long");
		return;
	}
	for (const struct cfg_node *f = n->child; f != NULL; f = f->next) {
		char fpath[CFG_KEYPATH_MAX];

		if (cfg_join_path(fpath, sizeof(fpath), shown, f->key) != 0)
			continue;
		if (bootstrap && strcmp(f->key, "recovery_conf") == 0 &&
		    (f->type == CFG_NODE_MAP || f->type == CFG_NODE_NULL)) {
			m->has_recovery_conf = true;
			for (const struct cfg_node *g = f->child; g != NULL; g = g->next) {
				char gpath[CFG_KEYPATH_MAX];

				if (cfg_join_path(gpath, sizeof(gpath), fpath, g->key) != 0)
					continue;
				if (g->type != CFG_NODE_SCALAR)
					cfg_rec_error(r, g->line, g->column, gpath,
						      "must be a single value");
				else
					(void)cfg_params_put(r, cfg_options_view(&m->recovery_conf),
							     g->key, g->text, g->kind, g->line,
							     g->column, gpath);
			}
			continue;
		}
		if (f->type != CFG_NODE_SCALAR) {
			if (f->type != CFG_NODE_NULL)
				cfg_rec_error(r, f->line, f->column, fpath,
					      "must be a single value");
			continue;
		}
		if (strcmp(f->key, "command") == 0) {
			if (buf_copy(m->command, sizeof(m->command), f->text) != 0)
				cfg_rec_error(r, f->line, f->column, fpath, "is too long");
			continue;
		}
		if (strcmp(f->key, "keep_data") == 0)
			m->keep_data = python_truth(f);
		else if (strcmp(f->key, "no_params") == 0)
			m->no_params = python_truth(f);
		else if (strcmp(f->key, "no_leader") == 0)
			m->no_leader = python_truth(f);
		else if (strcmp(f->key, "keep_existing_recovery_conf") == 0)
			m->keep_existing_recovery_conf = python_truth(f);
		else if (strcmp(f->key, "no_master") == 0 && !bootstrap)
			cfg_rec_warning(r, f->line, f->column, fpath,
					"Patroni 4 reads no_leader, not no_master: it is passed "
					"as --no_master=%s and the method still needs a leader",
					f->text);
		(void)cfg_params_put(r, cfg_options_view(&m->params), f->key, f->text, f->kind,
				     f->line, f->column, fpath);
	}
	/* Patroni runs the method's name when it has no command (bootstrap methods need one). */
	if (m->command[0] == '\0' && bootstrap)
		cfg_rec_error(r, n->line, n->column, shown,
			      "a bootstrap method needs a command: give the script to run");
}

void cfg_read_replica_method(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
			     const char *shown)
{
	if (c->postgresql.replica_methods_count >= CFG_METHODS_MAX) {
		cfg_rec_error(r, n->line, n->column, shown, "more than %d replica methods",
			      CFG_METHODS_MAX);
		return;
	}
	read_method(r, n, &c->postgresql.replica_methods[c->postgresql.replica_methods_count],
		    shown, false);
	c->postgresql.replica_methods_count++;
}

void cfg_read_bootstrap_method(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
			       const char *shown)
{
	read_method(r, n, &c->bootstrap.method_def, shown, true);
	c->bootstrap.has_method_def = true;
}

static void k_read_value(struct cfg_reader *r, const struct cfg_key *table, const struct cfg_key *k,
			 const struct cfg_node *n, void *base, const char *shown);

/* Whether a key's field holds what its default gives (zero when it has none). */
static bool field_is_default(const struct cfg_key *k, const void *base)
{
	struct cfg_key row = *k;
	struct cfg_diags *scratch_diags;
	struct cfg_reader *scratch;
	char *def;
	bool same = false;

	def = calloc(1, k->size);
	scratch_diags = calloc(1, sizeof(*scratch_diags));
	scratch = calloc(1, sizeof(*scratch));
	if (def == NULL || scratch_diags == NULL || scratch == NULL)
		goto out_free;
	row.offset = 0;
	cfg_diags_init(scratch_diags);
	scratch->diags = scratch_diags;
	scratch->source = "the key table";
	scratch->quiet_warnings = true;
	if (k->def != NULL)
		(void)cfg_set_scalar(scratch, &row, def, k->def, CFG_VALUE_STRING, 0, 0, k->path);
	same = memcmp(def, (const char *)base + k->offset, k->size) == 0;
out_free:
	free(scratch);
	free(scratch_diags);
	free(def);
	return same;
}

void cfg_warn_todo(struct cfg_reader *r, const struct cfg_key *k, const void *base, int line,
		   int col, const char *shown)
{
	if (!(k->flags & CFG_F_TODO) || field_is_default(k, base))
		return;
	cfg_rec_warning(r, line, col, shown, CFG_TODO_TEXT "%s%s", k->hint ? ": " : "",
			k->hint ? k->hint : "");
}

static void read_value(struct cfg_reader *r, const struct cfg_key *table, const struct cfg_key *k,
		       const struct cfg_node *n, void *base, const char *shown)
{
	int kline = n->key_line ? n->key_line : n->line;
	int kcol = n->key_line ? n->key_column : n->column;

	cfg_mark_seen(r, k, kline, kcol);
	if (k->type == CFG_KEY_IGNORED) {
		cfg_rec_warning(r, kline, kcol, shown, CFG_TODO_TEXT "%s%s", k->hint ? ": " : "",
				k->hint ? k->hint : "");
		return;
	}
	if (n->type == CFG_NODE_NULL)
		return; /* an empty value leaves the default, as in Patroni */
	if (k->flags & CFG_F_TODO) {
		k_read_value(r, table, k, n, base, shown);
		cfg_warn_todo(r, k, base, kline, kcol, shown);
		return;
	}
	k_read_value(r, table, k, n, base, shown);
}

/* Patroni 4's log.format list: "- attr" or "- attr: shown_name" entries. */
static void read_log_fields(struct cfg_reader *r, const struct cfg_node *n, const char *shown)
{
	struct cfg_kv_view v;

	if (r->cfg == NULL)
		return;
	v = cfg_options_view(&r->cfg->log.fields);
	*v.count = 0;
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		const struct cfg_node *e = c;
		const char *attr, *value = "";
		enum cfg_value_kind kind = CFG_VALUE_NONE;

		if (c->type == CFG_NODE_MAP && c->child != NULL && c->child->next == NULL &&
		    c->child->type == CFG_NODE_SCALAR) {
			e = c->child;
			attr = e->key;
			value = e->text;
			kind = CFG_VALUE_STRING;
		} else if (c->type == CFG_NODE_SCALAR) {
			attr = c->text;
		} else {
			cfg_rec_error(r, c->line, c->column, shown,
				      "each entry must be a record attribute (message) or one "
				      "attribute: name pair (levelname: level)");
			continue;
		}
		if (!log_field_known(attr)) {
			cfg_rec_warning(r, c->line, c->column, shown,
					"\"%s\": gsha does not write this log record attribute "
					"(it writes asctime, created, levelname, levelno, message, "
					"name, process, thread), ignoring it",
					attr);
			continue;
		}
		(void)cfg_params_put(r, v, attr, value, kind, c->line, c->column, shown);
	}
	if (*v.count == 0)
		cfg_rec_warning(r, n->line, n->column, shown,
				"names no attribute gsha writes: the default JSON fields are used");
}

/* A command given as a list of words: each word single-quoted, so splitting the string as a
 * shell would gives the words back unchanged. */
static void read_argv(struct cfg_reader *r, const struct cfg_node *n, char *out, size_t cap,
		      const char *shown)
{
	struct buf b;

	buf_init_fixed(&b, out, cap);
	for (const struct cfg_node *c = n->child; c != NULL; c = c->next) {
		if (c->type != CFG_NODE_SCALAR) {
			cfg_rec_error(r, c->line, c->column, shown,
				      "each word of the command must be a single value, not %s",
				      cfg_type_noun(c));
			out[0] = '\0';
			return;
		}
		/* appends past the limit are refused and set b.overflow, checked below */
		if (c != n->child)
			(void)buf_puts(&b, " ");
		(void)buf_puts(&b, "'");
		for (const char *p = c->text; *p != '\0'; p++)
			(void)(*p == '\'' ? buf_puts(&b, "'\\''") : buf_append(&b, p, 1));
		(void)buf_puts(&b, "'");
	}
	if (b.overflow) {
		cfg_rec_error(r, n->line, n->column, shown, "the command is longer than %zu bytes",
			      cap - 1);
		out[0] = '\0';
	}
}

/* Reads one key's value by its type (CFG_F_TODO and ignored keys are handled by the caller). */
static void k_read_value(struct cfg_reader *r, const struct cfg_key *table, const struct cfg_key *k,
			 const struct cfg_node *n, void *base, const char *shown)
{
	void *field = CFG_FIELD(base, k);

	if ((k->flags & CFG_F_ARGV) && n->type == CFG_NODE_SEQ) {
		read_argv(r, n, field, k->size, shown);
		return;
	}
	if (k->type == CFG_KEY_LOG_FORMAT && n->type == CFG_NODE_SEQ &&
	    strcmp(k->path, "log.format") == 0) {
		read_log_fields(r, n, shown);
		return;
	}
	switch (k->type) {
	case CFG_KEY_SECTION:
		if (n->type != CFG_NODE_MAP) {
			cfg_rec_error(r, n->line, n->column, shown,
				      "must be a mapping (keys indented below it), not %s",
				      cfg_type_noun(n));
			return;
		}
		if (k->sub != NULL)
			cfg_read_map(r, n, k->sub, "", shown, (char *)base + k->sub_offset);
		else
			cfg_read_map(r, n, table, k->path, shown, base);
		return;
	case CFG_KEY_PARAMS:
		if (n->type != CFG_NODE_MAP) {
			cfg_rec_error(r, n->line, n->column, shown,
				      "must be a mapping of name: value, not %s", cfg_type_noun(n));
			return;
		}
		read_params(r, n, cfg_field_kv_view(field, k->size), shown);
		return;
	case CFG_KEY_OPTIONS:
		if (n->type != CFG_NODE_SEQ && n->type != CFG_NODE_MAP) {
			cfg_rec_error(r, n->line, n->column, shown,
				      "must be a list of options, not %s", cfg_type_noun(n));
			return;
		}
		read_options(r, n, cfg_field_kv_view(field, k->size), shown);
		return;
	case CFG_KEY_SLOTS:
	case CFG_KEY_IGNORE_SLOTS:
		cfg_read_slots(r, n, field, k->type == CFG_KEY_IGNORE_SLOTS, shown);
		return;
	case CFG_KEY_USERS:
		if (n->type != CFG_NODE_MAP || r->cfg == NULL) {
			cfg_rec_error(r, n->line, n->column, shown,
				      "must be a mapping of user names, not %s", cfg_type_noun(n));
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
			(void)cfg_set_scalar(r, k, base, n->text, n->kind, n->line, n->column,
					     shown);
			return;
		}
		cfg_rec_error(r, n->line, n->column, shown, "must be a list, not %s",
			      cfg_type_noun(n));
		return;
	default:
		break;
	}
	if (n->type != CFG_NODE_SCALAR) {
		cfg_rec_error(r, n->line, n->column, shown, "must be a single value, not %s",
			      cfg_type_noun(n));
		return;
	}
	(void)cfg_set_scalar(r, k, base, n->text, n->kind, n->line, n->column, shown);
}

void cfg_read_map(struct cfg_reader *r, const struct cfg_node *map, const struct cfg_key *table,
		  const char *prefix, const char *shown_prefix, void *base)
{
	const struct cfg_key *section = prefix[0] ? cfg_table_find(table, prefix) : NULL;

	for (const struct cfg_node *n = map->child; n != NULL; n = n->next) {
		char path[CFG_KEYPATH_MAX], shown[CFG_KEYPATH_MAX];
		const struct cfg_key *k, *real;
		bool dup = false;

		for (const struct cfg_node *p = map->child; p != n; p = p->next)
			dup = dup || strcmp(p->key, n->key) == 0;
		if (cfg_join_path(path, sizeof(path), prefix, n->key) != 0 ||
		    cfg_join_path(shown, sizeof(shown), shown_prefix, n->key) != 0) {
			cfg_rec_error(r, n->line, n->column, shown_prefix, "a key is too long");
			continue;
		}
		if (dup) {
			cfg_rec_error(r, n->key_line, n->key_column, shown,
				      "is given twice in the same section: keep one");
			continue;
		}
		k = cfg_table_find(table, path);
		real = resolve(table, k);
		if (real != NULL) {
			if (k != real)
				cfg_mark_seen(r, k, n->key_line, n->key_column);
			if (real->type == CFG_KEY_SECTION && k != real) {
				/* An alias section ("etcd" for "etcd3"): read with the real prefix.
				 * Only the alias is marked, so both sections written can be told. */
				if (n->type != CFG_NODE_MAP) {
					if (n->type != CFG_NODE_NULL)
						cfg_rec_error(r, n->line, n->column, shown,
							      "must be a mapping, not %s",
							      cfg_type_noun(n));
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
		cfg_rec_unknown(r, table, prefix, shown_prefix, n, shown,
				"neither gsha nor Patroni knows it, remove it");
	}
}

void cfg_rec_unknown(struct cfg_reader *r, const struct cfg_key *table, const char *prefix,
		     const char *shown_prefix, const struct cfg_node *n, const char *shown,
		     const char *otherwise)
{
	char near[CFG_KEYPATH_MAX];

	cfg_suggest(table, prefix, shown_prefix, n->key, near, sizeof(near));
	if (near[0] != '\0')
		cfg_rec_error(r, n->key_line, n->key_column, shown,
			      "unknown key: did you mean \"%s\"?", near);
	else
		cfg_rec_error(r, n->key_line, n->key_column, shown, "unknown key: %s", otherwise);
}

int cfg_apply_defaults(const struct cfg_key *table, void *base)
{
	/* On the heap: some 115 kB that would stay resident in the caller's stack (issue 15). */
	struct cfg_diags *scratch = malloc(sizeof(*scratch));
	struct cfg_reader r;
	int errors;

	if (scratch == NULL)
		return 1; /* counted as an error: the defaults are not all set */
	memset(&r, 0, sizeof(r));
	cfg_diags_init(scratch);
	r.diags = scratch;
	r.source = "defaults";
	for (const struct cfg_key *k = table; k->path != NULL; k++) {
		enum cfg_value_kind kind;

		if (k->def == NULL || k->alias_of != NULL)
			continue;
		(void)cfg_plain_scalar_type(k->def, &kind);
		/* The table's own defaults always parse; a unit test checks the count. */
		(void)cfg_set_scalar(&r, k, base, k->def, kind, 0, 0, k->path);
	}
	errors = scratch->errors;
	free(scratch);
	return errors;
}

void cfg_dynamic_defaults(struct cfg_dynamic *d)
{
	memset(d, 0, sizeof(*d));
	(void)cfg_apply_defaults(cfg_dynamic_keys, d);
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	cfg_defaults_zeroed(c);
}

void cfg_defaults_zeroed(struct cfg *c)
{
	(void)cfg_apply_defaults(cfg_keys, c);
	(void)cfg_apply_defaults(cfg_dynamic_keys, &c->bootstrap.dcs);
	if (buf_copy(c->postgresql.create_replica_methods.items[0],
		     sizeof(c->postgresql.create_replica_methods.items[0]), "basebackup") == 0)
		c->postgresql.create_replica_methods.count = 1;
}
