/*
 * cfg.h - gsha's configuration: Patroni's YAML file, environment overrides, validation, and the
 * dynamic (DCS-stored) configuration.
 *
 * One declarative key table (cfg_keys.c) drives loading, defaults, validation, environment
 * overrides, the effective-configuration summary and "did you mean" suggestions. The loaded
 * configuration is one plain struct with fixed-size fields: copy it, compare it, hand it around.
 * Nothing here logs above debug; problems come back as a caller-owned list of diagnostics.
 */
#ifndef GSHA_CFG_H
#define GSHA_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "member_auth.h"
#include "name.h"

/* Sizes. Every limit is generous for real configurations; running into one is an error. */
#define CFG_NAME_MAX 128      /* scope, namespace, user names; member names: MEMBER_NAME_MAX */
#define CFG_PATH_MAX 1024     /* file system paths, URLs */
#define CFG_ADDR_MAX 256      /* host:port, host names */
#define CFG_SECRET_MAX 256    /* passwords */
#define CFG_WORD_MAX 64	      /* short words: sslmode, gssencmode, a role option */
#define CFG_KEY_MAX 64	      /* a parameter, tag, header or option name */
#define CFG_VALUE_MAX 512     /* a parameter, tag or option value (archive_command fits) */
#define CFG_LINE_MAX 512      /* a command line (callbacks, scripts), ciphers */
#define CFG_PARAMS_MAX 100    /* PostgreSQL parameters in one list */
#define CFG_OPTIONS_MAX 16    /* entries of a short name=value list (initdb, tags, headers) */
#define CFG_LIST_MAX 64	      /* entries in one string list (hosts, pg_hba lines) */
#define CFG_LIST_ITEM_MAX 256 /* one entry of a string list: a pg_hba line, a host:port */
#define CFG_WORDS_MAX 16      /* entries in a list of words (CREATE ROLE options) */
#define CFG_USERS_MAX 8	      /* bootstrap.users entries */
#define CFG_METHODS_MAX 4     /* custom replica creation methods */
#define CFG_SLOTS_MAX 32      /* entries of slots and of ignore_slots (as db.h's DB_SLOTS_MAX) */

/* Diagnostics. */
#define CFG_DIAGS_MAX 64	   /* kept diagnostics; more are counted in dropped */
#define CFG_DIAG_TEXT_MAX 512	   /* one message */
#define CFG_KEYPATH_MAX 256	   /* a dotted key path such as "bootstrap.dcs.ttl" */
#define CFG_FILE_MAX_BYTES 1048576 /* biggest configuration file or JSON document read */

enum cfg_engine {
	CFG_ENGINE_POSTGRESQL,
	CFG_ENGINE_OPENGAUSS,
};

enum cfg_verify_client {
	CFG_VERIFY_CLIENT_NONE,
	CFG_VERIFY_CLIENT_OPTIONAL,
	CFG_VERIFY_CLIENT_REQUIRED,
};

enum cfg_watchdog_mode {
	CFG_WATCHDOG_OFF,
	CFG_WATCHDOG_AUTOMATIC,
	CFG_WATCHDOG_REQUIRED,
};

/* synchronous_mode: Patroni's booleans, plus Patroni 4's "quorum" (ANY n). */
enum cfg_sync_mode {
	CFG_SYNC_OFF,
	CFG_SYNC_ON,
	CFG_SYNC_QUORUM,
};

enum cfg_protocol {
	CFG_PROTOCOL_HTTP,
	CFG_PROTOCOL_HTTPS,
};

/* What a value looked like where it was written, so it can be rendered back the same way
 * (tags and parameters go out as JSON in the member key and the config key). */
enum cfg_value_kind {
	CFG_VALUE_STRING,
	CFG_VALUE_NUMBER,
	CFG_VALUE_BOOL,
	CFG_VALUE_NONE, /* an option without a value, such as initdb's "data-checksums" */
};

/* Returns the lower-case name used in the configuration ("postgresql", "opengauss", ...). */
const char *cfg_engine_name(enum cfg_engine e);
const char *cfg_verify_client_name(enum cfg_verify_client v);
const char *cfg_watchdog_mode_name(enum cfg_watchdog_mode m);
const char *cfg_protocol_name(enum cfg_protocol p);
const char *cfg_sync_mode_name(enum cfg_sync_mode m);
const char *cfg_value_kind_name(enum cfg_value_kind k);

/* One name = value pair: a PostgreSQL parameter, a custom tag, an initdb option. */
struct cfg_kv {
	char name[CFG_KEY_MAX];
	char value[CFG_VALUE_MAX]; /* the text as written; "" for CFG_VALUE_NONE */
	enum cfg_value_kind kind;
};

/* An ordered list of pairs; names are unique (a later value replaces an earlier one). */
struct cfg_params {
	int count;
	struct cfg_kv items[CFG_PARAMS_MAX];
};

/* A short ordered list of pairs, as struct cfg_params. */
struct cfg_options {
	int count;
	struct cfg_kv items[CFG_OPTIONS_MAX];
};

/* An ordered list of strings. */
struct cfg_list {
	int count;
	char items[CFG_LIST_MAX][CFG_LIST_ITEM_MAX];
};

/* A short list of words. */
struct cfg_words {
	int count;
	char items[CFG_WORDS_MAX][CFG_WORD_MAX];
};

/* Credentials of one PostgreSQL role plus the libpq TLS settings Patroni passes along. */
struct cfg_pg_auth {
	char username[CFG_NAME_MAX];
	char password[CFG_SECRET_MAX];
	char sslmode[CFG_WORD_MAX];
	char sslcert[CFG_PATH_MAX];
	char sslkey[CFG_PATH_MAX];
	char sslpassword[CFG_SECRET_MAX];
	char sslrootcert[CFG_PATH_MAX];
	char sslcrl[CFG_PATH_MAX];
	char sslcrldir[CFG_PATH_MAX];
	char gssencmode[CFG_WORD_MAX];
	char channel_binding[CFG_WORD_MAX];
};

/* A bootstrap.users entry: a role created after initdb. */
struct cfg_user {
	char name[CFG_NAME_MAX];
	char password[CFG_SECRET_MAX];
	struct cfg_words options; /* CREATE ROLE options: "createrole", "createdb" */
};

/* A custom replica creation method, postgresql.<name>: {command: ..., other: params}, or a
 * custom bootstrap method, bootstrap.<name> (Patroni's replica_bootstrap.rst). */
struct cfg_replica_method {
	char name[CFG_KEY_MAX];
	char command[CFG_LINE_MAX]; /* "" = the method's name, as Patroni runs it */
	struct cfg_options params;  /* every other scalar key in file order (keep_data, no_params,
				     * no_leader among them), passed as --key=value */
	bool keep_data;		    /* Python's truth of each switch, as Patroni reads it */
	bool no_params;
	bool no_leader;
	bool keep_existing_recovery_conf; /* bootstrap methods */
	bool has_recovery_conf;		  /* bootstrap methods: recovery_conf was given */
	struct cfg_options recovery_conf;
};

/* A replication slot of the dynamic configuration: a permanent slot (the "slots" key), or a
 * rule of "ignore_slots", where an empty field matches any value. */
struct cfg_slot {
	char name[CFG_KEY_MAX];	    /* [a-z0-9_]{1,63}, as Patroni requires */
	char type[CFG_WORD_MAX];    /* "physical" or "logical"; "" (ignore_slots) any */
	char database[CFG_KEY_MAX]; /* logical slots */
	char plugin[CFG_KEY_MAX];   /* logical slots: the output plugin */
};

struct cfg_slots {
	int count;
	struct cfg_slot items[CFG_SLOTS_MAX];
	int skipped; /* entries left out as not understood (Patroni logs them too) */
	char skipped_why[CFG_LINE_MAX]; /* what was wrong with the first, for the agent's log */
};

/*
 * The dynamic configuration: what Patroni keeps as JSON in the etcd key "config" and what
 * bootstrap.dcs seeds it with. Durations are milliseconds (Patroni writes seconds).
 */
struct cfg_dynamic {
	int64_t ttl_ms;			       /* leader lease TTL; default 30 s */
	int64_t loop_wait_ms;		       /* HA loop period; default 10 s */
	int64_t retry_timeout_ms;	       /* DCS and database retry budget; default 10 s */
	int64_t maximum_lag_on_failover_bytes; /* default 1048576 */
	int64_t maximum_lag_on_syncnode_bytes; /* -1 (the default) disables the check */
	int64_t primary_race_backoff_ms;       /* Patroni 4; 0 (the default) = race at once */
	int max_timelines_history;	       /* 0 keeps all */
	int64_t primary_start_timeout_ms;      /* default 300 s */
	int64_t primary_stop_timeout_ms;       /* 0 waits forever (Patroni's default) */
	enum cfg_sync_mode synchronous_mode;   /* true/false as on/off, or "quorum" */
	bool synchronous_mode_strict;
	int synchronous_node_count; /* default 1 */
	bool failsafe_mode;
	bool check_timeline;
	bool pause;		       /* maintenance mode, set by "patronictl pause" */
	struct cfg_slots slots;	       /* permanent slots (Patroni's "slots") */
	struct cfg_slots ignore_slots; /* slots gsha never drops */
	int64_t member_slots_ttl_ms;   /* keep a gone member's slot this long; default 30 min */
	/* standby_cluster: this cluster replicates from a remote primary, its leader is a standby
	 * leader (Patroni's standby cluster). In effect when cfg_standby_cluster() says so. */
	struct cfg_standby_cluster {
		char host[CFG_ADDR_MAX]; /* the remote primary; "" = none (archive only) */
		int port;		 /* 0 = not set (PostgreSQL's 5432 when host is set) */
		char primary_slot_name[CFG_NAME_MAX]; /* "" = stream without a slot */
		char restore_command[CFG_VALUE_MAX];
		char archive_cleanup_command[CFG_VALUE_MAX];
		char recovery_min_apply_delay[CFG_WORD_MAX]; /* as PostgreSQL reads it: "5min" */
		/* names of postgresql's replica methods for the first clone; empty = basebackup */
		struct cfg_list create_replica_methods;
	} standby_cluster;
	struct {
		bool use_pg_rewind;
		bool use_slots; /* default true */
		struct cfg_params parameters;
		struct cfg_list pg_hba;
		struct cfg_list pg_ident;
	} postgresql;
};

/* True when d describes a standby cluster: standby_cluster with a host, port or restore_command,
 * as Patroni's is_standby_cluster(). */
bool cfg_standby_cluster(const struct cfg_dynamic *d);

/* The whole local configuration. Strings are "" when not set. */
struct cfg {
	char source[CFG_PATH_MAX];     /* the file read, or "environment" */
	char name[MEMBER_NAME_MAX];    /* this member's name, unique in the cluster */
	char scope[CFG_NAME_MAX];      /* the cluster name */
	char namespace_[CFG_NAME_MAX]; /* DCS key prefix; default "/service/" */

	struct {
		enum log_level level;	/* default info */
		enum log_format format; /* text, or json */
		/* log.format as Patroni 4's list: record attribute = name shown (kind
		 * CFG_VALUE_NONE: its own name); empty = gsha's default JSON fields */
		struct cfg_options fields;
		struct cfg_options static_fields; /* log.static_fields: added to JSON lines */
		char dir[CFG_PATH_MAX];		  /* "" = stderr; else dir/patroni.log */
		int64_t file_size_bytes;	  /* rotate past this; default 25000000 */
		int file_num;			  /* rotated files kept; default 4 */
	} log;

	struct {
		char listen[CFG_ADDR_MAX];	    /* host:port the REST API binds */
		char connect_address[CFG_ADDR_MAX]; /* host:port peers and patronictl use */
		char username[CFG_NAME_MAX];	    /* Basic auth for unsafe endpoints; "" = none */
		char password[CFG_SECRET_MAX];
		char certfile[CFG_PATH_MAX]; /* set = HTTPS */
		char keyfile[CFG_PATH_MAX];
		char keyfile_password[CFG_SECRET_MAX];
		char cafile[CFG_PATH_MAX];
		char ciphers[CFG_LINE_MAX];
		enum cfg_verify_client verify_client;
		struct cfg_list
			allowlist; /* hosts, IPs or CIDRs allowed to call unsafe endpoints */
		bool allowlist_include_members;
		struct cfg_options http_extra_headers;
		struct cfg_options https_extra_headers;
		int request_queue_size; /* listen backlog; default 5 */
	} restapi;

	struct {
		char username[CFG_NAME_MAX]; /* falls back to restapi's credentials */
		char password[CFG_SECRET_MAX];
		bool insecure;
		char cacert[CFG_PATH_MAX];
		char certfile[CFG_PATH_MAX];
		char keyfile[CFG_PATH_MAX];
		char keyfile_password[CFG_SECRET_MAX];
	} ctl;

	struct {
		struct cfg_list hosts; /* host:port endpoints; "host" and "hosts" both land here */
		/* hosts is empty when url or proxy is given instead */
		int port; /* added to hosts written without one; default 2379 */
		enum cfg_protocol protocol;
		char url[CFG_PATH_MAX]; /* alternative to hosts; sets protocol and host */
		char proxy[CFG_PATH_MAX];
		bool use_proxies;
		char username[CFG_NAME_MAX];
		char password[CFG_SECRET_MAX];
		char cacert[CFG_PATH_MAX];
		char cert[CFG_PATH_MAX];
		char key[CFG_PATH_MAX];
	} etcd3;

	struct {
		struct cfg_dynamic
			dcs; /* written to the "config" key when the cluster is created */
		/* initdb options: name=value, or kind CFG_VALUE_NONE for a switch */
		struct cfg_options initdb;
		struct cfg_list pg_hba; /* lines added to pg_hba.conf after initdb */
		struct cfg_user users[CFG_USERS_MAX];
		int users_count;
		char post_bootstrap[CFG_LINE_MAX];    /* post_init is the same key */
		char method[CFG_KEY_MAX];	      /* "" or "initdb": initdb */
		struct cfg_replica_method method_def; /* bootstrap.<method>, when given */
		bool has_method_def;
	} bootstrap;

	struct {
		enum cfg_engine engine; /* from postgresql.engine, else from what bin_dir holds */
		bool engine_explicit;	/* engine was written, not detected */
		char listen[CFG_ADDR_MAX]; /* "host[,host...]:port" PostgreSQL listens on */
		char connect_address[CFG_ADDR_MAX];
		char proxy_address[CFG_ADDR_MAX];
		int port; /* the port of listen, for convenience */
		char data_dir[CFG_PATH_MAX];
		char config_dir[CFG_PATH_MAX]; /* "" = data_dir */
		char bin_dir[CFG_PATH_MAX];    /* "" = search PATH */
		char pgpass[CFG_PATH_MAX];
		struct {
			struct cfg_pg_auth superuser;
			struct cfg_pg_auth replication;
			struct cfg_pg_auth rewind;
		} authentication;
		struct cfg_params parameters; /* local parameters (override the dynamic ones) */
		struct cfg_list pg_hba;	      /* replaces pg_hba.conf when set */
		struct cfg_list pg_ident;
		struct cfg_options recovery_conf;	/* extra recovery settings on replicas */
		struct cfg_list create_replica_methods; /* default: "basebackup" */
		struct cfg_options basebackup;		/* pg_basebackup options, like initdb */
		struct cfg_replica_method replica_methods[CFG_METHODS_MAX];
		int replica_methods_count;
		struct {
			char on_start[CFG_LINE_MAX];
			char on_stop[CFG_LINE_MAX];
			char on_restart[CFG_LINE_MAX];
			char on_reload[CFG_LINE_MAX];
			char on_role_change[CFG_LINE_MAX];
		} callbacks;
		char pre_promote[CFG_LINE_MAX];
		char before_stop[CFG_LINE_MAX];
		int64_t pg_ctl_timeout_ms; /* default 60 s */
		bool use_unix_socket;
		bool use_unix_socket_repl;
		bool use_pg_rewind;	/* local override of the dynamic use_pg_rewind ... */
		bool use_pg_rewind_set; /* ... when this is true (the key was written) */
		bool remove_data_directory_on_rewind_failure;
		bool remove_data_directory_on_diverged_timelines;
		char custom_conf[CFG_PATH_MAX];
	} postgresql;

	struct {
		bool nofailover;
		bool noloadbalance;
		bool clonefrom;
		bool nosync;
		int failover_priority;		     /* default 1; 0 behaves like nofailover */
		char replicatefrom[MEMBER_NAME_MAX]; /* a member's name */
		bool nostream;			     /* Patroni 4: WAL from the archive only */
		int sync_priority;	   /* Patroni 4; default 1; 0 behaves like nosync */
		struct cfg_options custom; /* every other tag, in file order */
	} tags;

	struct {
		enum cfg_watchdog_mode mode; /* default automatic */
		char device[CFG_PATH_MAX];   /* default /dev/watchdog */
		int64_t safety_margin_ms;    /* default 5 s */
	} watchdog;
};

/* Diagnostics: what loading found, in the order found. */
enum cfg_severity {
	CFG_SEVERITY_ERROR,
	CFG_SEVERITY_WARNING,
};

struct cfg_diag {
	enum cfg_severity severity;
	char source[CFG_PATH_MAX]; /* file name, or "environment variable PATRONI_NAME" */
	int line;		   /* 1-based; 0 when the source has no lines */
	int column;		   /* 1-based; 0 when the source has no lines */
	char key[CFG_KEYPATH_MAX]; /* dotted key path; "" when none applies */
	char message[CFG_DIAG_TEXT_MAX];
};

struct cfg_diags {
	int count; /* kept in items */
	int errors;
	int warnings;
	int dropped; /* found beyond CFG_DIAGS_MAX */
	struct cfg_diag items[CFG_DIAGS_MAX];
};

/* Empties a diagnostics list. */
void cfg_diags_init(struct cfg_diags *d);

/* Formats one diagnostic as "file:line:column: error: "key": message" (the position is left out
 * when the source has no lines; the severity when with_severity is false, for log lines that
 * carry their own level). Returns 0 or -ENAMETOOLONG (out is then ""). */
int cfg_diag_format(const struct cfg_diag *d, bool with_severity, char *out, size_t cap)
	__attribute__((warn_unused_result));

/* Fills c with Patroni's defaults (ttl 30 s, loop_wait 10 s, ...), the key table's defaults. */
void cfg_defaults(struct cfg *c);

/*
 * Loads the configuration the way the agent starts: the YAML file at path (or, when path is
 * NULL, the YAML text in PATRONI_CONFIGURATION, or nothing), then the environment envp (a NULL
 * terminated "NAME=value" array such as environ; NULL means none) on top, then validation and
 * engine detection. Warnings and errors are appended to diags (caller-owned, initialized).
 * Returns 0 and writes *out; -EINVAL when an error was found; -ENOENT, -EACCES, -EFBIG or
 * -ENOMEM when the file could not be read. *out is written only on success.
 */
int cfg_load(const char *path, char *const *envp, struct cfg *out, struct cfg_diags *diags)
	__attribute__((warn_unused_result));

/* As cfg_load, but the loaded configuration is a new struct handed over in *out (release it
 * with free()): built in place in calloc'ed memory, neither cleared nor copied whole, so it
 * costs the pages its values use rather than sizeof(struct cfg) (issue 15). The agent loads
 * this way; cfg_load copies the whole struct into the caller's. *out is written only on
 * success. */
int cfg_load_new(const char *path, char *const *envp, struct cfg **out, struct cfg_diags *diags)
	__attribute__((warn_unused_result));

/* As cfg_load, from YAML text of len bytes; source names it in diagnostics. */
int cfg_load_text(const char *source, const char *text, size_t len, char *const *envp,
		  struct cfg *out, struct cfg_diags *diags) __attribute__((warn_unused_result));

/* Applies the log section to the process's logging (log.h): level, format, member name, the
 * log file (log.dir, file_size, file_num) and Patroni's JSON layout (log.format as a list,
 * log.static_fields). Returns 0; or a negative errno when the log file cannot be opened (logged;
 * stderr stays) or -EINVAL when the layout does not fit log.h's limits (the rest is applied). */
int cfg_log_setup(const struct cfg *c) __attribute__((warn_unused_result));

/* Appends the effective configuration, one "key = value" per line, passwords masked, to out.
 * Returns 0 or the buf error. */
int cfg_summary(const struct cfg *c, struct buf *out) __attribute__((warn_unused_result));

/* Look up a pair by name (case-insensitively, as PostgreSQL does); NULL when absent. */
const struct cfg_kv *cfg_params_get(const struct cfg_params *p, const char *name);
const struct cfg_kv *cfg_options_get(const struct cfg_options *o, const char *name);

/* Copies src to dst, every field, but of each list (slots, ignore_slots, pg_hba, pg_ident,
 * parameters, standby_cluster.create_replica_methods) only the items its count covers: the
 * rest of dst's lists is left unwritten, so a copy costs the pages its contents use rather
 * than the 126 kB of the struct (issue 15). */
void cfg_dynamic_copy(struct cfg_dynamic *dst, const struct cfg_dynamic *src);

/* Fills d with Patroni's dynamic defaults. */
void cfg_dynamic_defaults(struct cfg_dynamic *d);

/*
 * Parses the JSON stored in the DCS "config" key (len bytes, not NUL-terminated) into *out,
 * starting from the defaults. Unknown keys are ignored as Patroni does; wrong types, values out
 * of range and broken timing rules are errors. Returns 0 and writes *out, or -EINVAL with a
 * message in err (caller-owned, errlen bytes).
 */
int cfg_dynamic_parse(const char *json, size_t len, struct cfg_dynamic *out, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/*
 * Parses the "config" key as the agent applies it: a value gsha cannot use (an unknown
 * synchronous_mode, a ttl that is not a number, a broken timing rule) does not void the rest.
 * That key keeps its value in *prev, the configuration in effect (the three timing keys go back
 * together), and bad lists what was skipped ("\"key\": why", joined by "; "; "" when nothing
 * was). Returns 0 and writes *out, or -EINVAL (bad says why, *out untouched) when the document
 * is not a JSON object or cannot be repaired; -ENOMEM.
 */
int cfg_dynamic_parse_lenient(const char *json, size_t len, const struct cfg_dynamic *prev,
			      struct cfg_dynamic *out, char *bad, size_t badlen)
	__attribute__((warn_unused_result));

/* Renders d as compact JSON (Patroni's layout: durations in whole seconds where they are whole,
 * else as "500ms" strings) appended to out. Returns 0, -ENOBUFS or -ENOMEM. */
int cfg_dynamic_render(const struct cfg_dynamic *d, struct buf *out)
	__attribute__((warn_unused_result));

/*
 * Applies a JSON patch to the JSON document doc with json_merge.h's merge (Patroni's
 * patch_config, as PATCH /config does: null deletes a key, objects merge, anything else replaces,
 * a new subtree keeps its nulls) and checks the result with cfg_dynamic_parse. Keys gsha does
 * not know are kept. A value the patch sets must validate; a bad value already stored that the
 * patch leaves alone does not block it (the agents skip that value, cfg_dynamic_parse_lenient).
 * Appends the merged document as compact JSON to out and, when parsed is not NULL, writes the
 * parsed result there (bad stored values at their defaults).
 * Returns 0; -EINVAL with err set for bad JSON, a patch that is not an object, or a patch that
 * sets a value that does not validate; -ENOBUFS or -ENOMEM. Nothing is written on failure.
 */
int cfg_dynamic_merge_patch(const char *doc, size_t doc_len, const char *patch, size_t patch_len,
			    struct buf *out, struct cfg_dynamic *parsed, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Checks the timing rule loop_wait + 2 * retry_timeout <= ttl. Returns 0 or -EINVAL with a
 * message in err that says what to change. */
int cfg_dynamic_check(const struct cfg_dynamic *d, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Fills how this node (or gsctl) authenticates to the members' REST APIs the way Patroni picks
 * it (request.py): each of the ctl section's values, else the restapi section's (credentials,
 * certificate, key and its password; ctl.cacert else restapi.cafile); ctl.insecure skips
 * verifying the members' certificates. */
void cfg_member_auth(const struct cfg *c, struct member_auth *out);

#endif
