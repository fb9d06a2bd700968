/*
 * cfg_internal.h - what the files of the configuration module share; not a public header.
 */
#ifndef GSHA_CFG_INTERNAL_H
#define GSHA_CFG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

/* Limits on the document tree, against hostile or broken input. */
#define CFG_TREE_NODES_MAX 20000 /* nodes in one document */
#define CFG_TREE_DEPTH_MAX 32	 /* nesting depth */
#define CFG_SCALAR_MAX 65536	 /* bytes in one scalar or key */

/* What the key table knows how to read. */
enum cfg_key_type {
	CFG_KEY_SECTION,     /* a mapping of further keys */
	CFG_KEY_STRING,	     /* char[size] */
	CFG_KEY_MEMBER_NAME, /* char[MEMBER_NAME_MAX]: a member's name (name.h) */
	CFG_KEY_ADDRESS,     /* char[size] holding host:port; the host may not be empty */
	CFG_KEY_LISTEN,	     /* char[size] holding host[,host...]:port; the host may be empty */
	CFG_KEY_BOOL,	     /* bool */
	CFG_KEY_INT,	     /* int within [min, max] */
	CFG_KEY_INT64,	     /* int64_t within [min, max] */
	CFG_KEY_DURATION,    /* int64_t milliseconds within [min, max]; plain numbers are seconds */
	CFG_KEY_ENUM,	     /* an enum (int) whose values are names[] */
	CFG_KEY_LOG_LEVEL,   /* enum log_level */
	CFG_KEY_LOG_FORMAT,  /* enum log_format; Python format strings warn and keep text */
	CFG_KEY_LIST,	 /* struct cfg_list: a sequence of scalars (or, with CFG_F_CSV, "a,b") */
	CFG_KEY_PARAMS,	 /* struct cfg_params: a mapping of names to scalars */
	CFG_KEY_OPTIONS, /* struct cfg_params: a sequence of "switch" or {name: value} */
	CFG_KEY_USERS,	 /* bootstrap.users: name -> {password, options} */
	CFG_KEY_SLOTS,	 /* struct cfg_slots from Patroni's "slots": name -> {type, ...} */
	CFG_KEY_IGNORE_SLOTS, /* struct cfg_slots from "ignore_slots": [{name, type, ...}] */
	CFG_KEY_IGNORED,      /* Patroni knows it, gsha does not implement it yet: warn, skip */
};

enum cfg_key_flag {
	CFG_F_REQUIRED = 1 << 0,    /* must be set (non-empty) after file and environment */
	CFG_F_SECRET = 1 << 1,	    /* masked in summaries */
	CFG_F_CSV = 1 << 2,	    /* a list may also be written as one comma-separated string */
	CFG_F_TAGS = 1 << 3,	    /* a section whose unknown keys are custom tags */
	CFG_F_METHODS = 1 << 4,	    /* a section whose unknown mappings may be replica methods */
	CFG_F_BOOT_METHOD = 1 << 5, /* a section whose unknown mappings may be bootstrap methods */
	/* Patroni acts on it, gsha reads it but does not yet: a value other than the default
	 * (which is what gsha does) is warned about once, naming the key; hint says why. */
	CFG_F_TODO = 1 << 6,
	/* a command: one string (split as a shell would), or Patroni's list of words, which is
	 * kept as one string with each word single-quoted */
	CFG_F_ARGV = 1 << 7,
};

/* One row of the key table: everything gsha knows about one key. */
struct cfg_key {
	const char *path; /* dotted path, relative to the table's base struct */
	enum cfg_key_type type;
	unsigned flags;		   /* enum cfg_key_flag */
	size_t offset;		   /* of the field in the base struct */
	size_t size;		   /* of the field */
	int64_t min, max;	   /* numbers and durations (ms) */
	const char *def;	   /* default, as text the setter reads; NULL = zero */
	const char *env;	   /* environment name after PATRONI_ / GSHA_; NULL = none */
	const char *env_alias;	   /* an older or alternative environment name */
	const char *const *names;  /* CFG_KEY_ENUM values, NULL-terminated, in enum order */
	const struct cfg_key *sub; /* a section read with another table (bootstrap.dcs) */
	size_t sub_offset;	   /* where that table's base struct lies in this one */
	const char *alias_of;	   /* this key is another name for that path */
	const char *hint;	   /* what to do, appended to range and required errors */
};

/* The table of struct cfg (the YAML file) and of struct cfg_dynamic (bootstrap.dcs and the DCS
 * "config" key). Each ends with a row whose path is NULL. */
extern const struct cfg_key cfg_keys[];
extern const struct cfg_key cfg_dynamic_keys[];

/* A parsed document (YAML or JSON) as a tree with positions. */
enum cfg_node_type {
	CFG_NODE_NULL,
	CFG_NODE_SCALAR,
	CFG_NODE_MAP,
	CFG_NODE_SEQ,
};

struct cfg_node {
	enum cfg_node_type type;
	enum cfg_value_kind kind; /* scalars: string (quoted or plain text), number or bool */
	char *text;		  /* scalars: the value; NULL otherwise */
	char *key;		  /* children of a map: the key */
	int line, column;	  /* of the value; 1-based; 0 when unknown (JSON) */
	int key_line, key_column; /* of the key, for children of a map */
	struct cfg_node *child;	  /* first child of a map or sequence */
	struct cfg_node *next;	  /* next sibling */
};

/* Frees a tree; accepts NULL. */
void cfg_node_free(struct cfg_node *n);

/* Parses YAML text into a tree. Returns 0 and *out, or -EINVAL with diag filled (line, column
 * and message), or -ENOMEM. */
int cfg_yaml_parse(const char *text, size_t len, struct cfg_node **out, struct cfg_diag *diag);

/* Classifies a plain (unquoted) scalar as YAML 1.1 does: null, bool, number or string. */
enum cfg_node_type cfg_plain_scalar_type(const char *text, enum cfg_value_kind *kind);

/* Levenshtein distance between two short strings (capped at 255 characters). */
int cfg_edit_distance(const char *a, const char *b);

/* The reading machinery shared by the YAML loader and the JSON parser. */
struct cfg_reader {
	struct cfg_diags *diags;
	const char *source;  /* file name or "environment variable X" */
	struct cfg *cfg;     /* the struct being filled; NULL when reading only a cfg_dynamic */
	bool ignore_unknown; /* the DCS "config" key: unknown keys are skipped silently */
	bool quiet_warnings; /* do not record warnings */
	/* where each key was set: for cross-key errors and required-key checks */
	struct {
		const struct cfg_key *key;
		int line, column;
	} seen[512];
	int seen_count;
	/* Unknown mappings under postgresql and bootstrap: replica or bootstrap method sections,
	 * or typos. Decided once the whole document is read (the tree is still alive then). */
	struct {
		const struct cfg_node *node;
		bool bootstrap; /* under bootstrap (else under postgresql) */
	} pending[CFG_METHODS_MAX * 2];
	int pending_count;
};

/* Appends a diagnostic; fmt is printf-style (cfg_report.c). */
void cfg_diag_add(struct cfg_diags *d, enum cfg_severity sev, const char *source, int line,
		  int column, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void cfg_diag_addv(struct cfg_diags *d, enum cfg_severity sev, const char *source, int line,
		   int column, const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

/* Records an error or (unless quiet_warnings) a warning at line:col of r's source. */
void cfg_rec_error(struct cfg_reader *r, int line, int col, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void cfg_rec_warning(struct cfg_reader *r, int line, int col, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* cfg_slots.c: reads "slots" (ignore false) or "ignore_slots" (ignore true) into out. A bad
 * entry is warned about and skipped, as Patroni does: it never voids the document. */
void cfg_read_slots(struct cfg_reader *r, const struct cfg_node *n, struct cfg_slots *out,
		    bool ignore, const char *shown);

/* "a mapping", "a list", "empty" or "a single value": what a node is, for messages. */
const char *cfg_type_noun(const struct cfg_node *n);

/* --- the key table (cfg_read.c) --- */

/* The field a row describes inside the struct at base. */
#define CFG_FIELD(base, k) ((char *)(base) + (k)->offset)

/* The row of path in table, or NULL. */
const struct cfg_key *cfg_table_find(const struct cfg_key *table, const char *path);

/* "prefix.key", or "key" when prefix is "". Returns 0 or -ENAMETOOLONG. */
int cfg_join_path(char *out, size_t cap, const char *prefix, const char *key);

/* The nearest known key to an unknown one under prefix (shown as under shown_prefix), or "". */
void cfg_suggest(const struct cfg_key *table, const char *prefix, const char *shown_prefix,
		 const char *key, char *out, size_t cap);

/* Records "unknown key" for the map child n: with the nearest known key (cfg_suggest), else
 * with otherwise ("remove it"). */
void cfg_rec_unknown(struct cfg_reader *r, const struct cfg_key *table, const char *prefix,
		     const char *shown_prefix, const struct cfg_node *n, const char *shown,
		     const char *otherwise);

/* Remembers where a key was set; finds it again (line and col may be NULL). */
void cfg_mark_seen(struct cfg_reader *r, const struct cfg_key *k, int line, int col);
bool cfg_find_seen(const struct cfg_reader *r, const struct cfg_key *k, int *line, int *col);

/* Reads postgresql.<name> as a custom replica method, once it is known to be one. */
void cfg_read_replica_method(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
			     const char *shown);
/* Reads bootstrap.<name> as the custom bootstrap method (bootstrap.method names it). */
void cfg_read_bootstrap_method(struct cfg_reader *r, const struct cfg_node *n, struct cfg *c,
			       const char *shown);

/* Records the warning of a CFG_F_TODO key whose field in base is not its default. */
void cfg_warn_todo(struct cfg_reader *r, const struct cfg_key *k, const void *base, int line,
		   int col, const char *shown);

/* The text of the not-yet-implemented warning, shared with the guard test. */
#define CFG_TODO_TEXT "Patroni setting that gsha does not implement yet, ignoring"

/* --- typed values (cfg_value.c) --- */

/* A name=value list of either size: struct cfg_params or struct cfg_options. */
struct cfg_kv_view {
	int *count;
	struct cfg_kv *items;
	int cap;
};

struct cfg_kv_view cfg_options_view(struct cfg_options *o);
/* The view of a table field, told apart by its size. */
struct cfg_kv_view cfg_field_kv_view(void *field, size_t size);

/* Checks "host:port" (connect) or "host[,host...]:port" with an optional host (listen). Returns
 * 0 (and the port, when port_out is not NULL) or -EINVAL with the reason in why. */
int cfg_check_address(const char *text, bool listen, char *why, size_t cap, int *port_out);

/* Each records an error at line:col under the key shown and returns -EINVAL when the value does
 * not fit: append one list entry; add or replace a pair; split "a, b" or "[a, b]"; read
 * "{name: value, ...}" from the environment; set a scalar-typed key from text. */
int cfg_list_append(struct cfg_reader *r, struct cfg_list *l, const char *text, int line, int col,
		    const char *shown);
int cfg_params_put(struct cfg_reader *r, struct cfg_kv_view p, const char *name, const char *value,
		   enum cfg_value_kind kind, int line, int col, const char *shown);
int cfg_list_from_csv(struct cfg_reader *r, struct cfg_list *l, const char *text, int line, int col,
		      const char *shown);
int cfg_params_from_env(struct cfg_reader *r, struct cfg_kv_view p, const char *text,
			const char *shown);
int cfg_set_scalar(struct cfg_reader *r, const struct cfg_key *k, void *base, const char *text,
		   enum cfg_value_kind kind, int line, int col, const char *shown);

/* --- the sources and the checks across keys --- */

/* The value of name in envp ("NAME=value" strings), or NULL (cfg_env.c). */
const char *cfg_env_get(char *const *envp, const char *name);

/* Applies the environment's overrides to c (cfg_env.c). */
void cfg_env_apply(struct cfg_reader *r, char *const *envp, struct cfg *c);

/* Checks across keys once everything is read; detects the engine (cfg_validate.c). */
void cfg_validate(struct cfg_reader *r, struct cfg *c, bool have_file);

/* Reads the mapping node into base with table; shown_prefix is the path shown in messages. */
void cfg_read_map(struct cfg_reader *r, const struct cfg_node *map, const struct cfg_key *table,
		  const char *prefix, const char *shown_prefix, void *base);

/* Applies every default of a table to base (zeroed first by the caller). Returns how many
 * defaults did not parse: 0, or a bug in the table. */
int cfg_apply_defaults(const struct cfg_key *table, void *base);

/* cfg_defaults() for a struct that is all zero already (calloc'ed): nothing is cleared, so of a
 * configuration above the mmap threshold only the pages the defaults and the file write become
 * resident (issue 15). */
void cfg_defaults_zeroed(struct cfg *c);

#endif
