/*
 * db.h - the one interface through which the HA loop touches the database.
 *
 * Two drivers implement it: PostgreSQL 12+ (db_postgres.c: pg_ctl, initdb, pg_basebackup,
 * pg_rewind, standby.signal + primary_conninfo) and openGauss (db_opengauss.c: gs_ctl with -M
 * modes, pending + notify, failover -T term, gs_ctl build). The caller picks one with
 * db_options.engine and never sees which commands run.
 *
 * Rules every function follows:
 * - Nothing blocks without a deadline. Short actions take timeout_ms and return -ETIMEDOUT when
 *   it passes. Long actions (bootstrap, create replica, rejoin) run as a background task of child
 *   processes that db_task_poll advances, so the loop keeps renewing its lease meanwhile.
 * - Every external command runs as a child process with a timeout (proc.h); its output goes to
 *   the log at debug and its failure comes back as a negative errno plus a message in the
 *   caller's err buffer (err may be NULL when err_cap is 0).
 * - Errors: -EINVAL bad argument or option, -EBUSY a task is running, -ETIMEDOUT a deadline
 *   passed, -EIO a command or SQL statement failed (the message says which and why), -ENOTSUP the
 *   engine has no such operation, -ESRCH the server is not running when it must be, -EEXIST the
 *   data directory is not empty when it must be, -ECONNREFUSED the server did not accept a
 *   connection, -ENOBUFS an answer or a rendering did not fit a fixed-size field.
 * - Outputs are written only on success. No libpq type appears here (STYLE.md).
 * A leaf module: it logs at debug at most; the HA loop decides what deserves a log line.
 *
 * Compatibility: this header is shared with the openGauss driver; change it only by adding.
 */
#ifndef GSHA_DB_H
#define GSHA_DB_H

#include "name.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PostgreSQL identifiers other than member names (user names, slot names, the cluster name; and
 * the system identifier) are at most NAMEDATALEN - 1 = 63 bytes. Member names, which become
 * application_name and, lower-cased, slot names, use base name.h's MEMBER_NAME_MAX (the same
 * 63 bytes, checked where names enter gsha). */
#define DB_NAME_MAX 64
/* Paths of the data, binary and config directories and of files in them. */
#define DB_PATH_MAX 1024
/* Host names, IP addresses, Unix socket directories, listen_addresses lists. */
#define DB_HOST_MAX 256
/* Passwords from postgresql.authentication. */
#define DB_PASSWORD_MAX 256
/* Server parameter names (the longest built-in is 39 bytes; extensions use "ext.name"). */
#define DB_PARAM_NAME_MAX 64
/* Server parameter values: archive_command, shared_preload_libraries and
 * synchronous_standby_names are the long ones. */
#define DB_PARAM_VALUE_MAX 1024
/* Parameters one configuration may set (postgresql.parameters plus DCS postgresql.parameters). */
#define DB_PARAMS_MAX 128
/* pg_hba lines from postgresql.pg_hba, and the length of one. */
#define DB_HBA_MAX 64
#define DB_HBA_LINE_MAX 512
/* bootstrap.initdb and postgresql.basebackup options, and the length of one. */
#define DB_TOOL_OPTIONS_MAX 16
#define DB_TOOL_OPTION_MAX 256
/* Standbys one status reports (openGauss allows 8 replconninfo peers; Patroni clusters rarely
 * exceed a dozen members). Further ones are counted in standbys_omitted. */
#define DB_STANDBYS_MAX 32
/* Replication slots one status reports and one db_ensure_slots call manages. */
#define DB_SLOTS_MAX 32
/* Parameters waiting for a restart that one status names; further ones are counted. */
#define DB_PENDING_MAX 32
/* Messages and detail texts: one line, PostgreSQL's error style. */
#define DB_ERROR_MAX 512
/* Short state words ("streaming", "in production", "Need repair"). */
#define DB_STATE_MAX 64
/* Members one db_set_peers call takes: openGauss lists the node itself plus at most eight
 * others in replconninfo1..8 (opengauss.md §2.6). */
#define DB_PEERS_MAX 9
/* The highest cluster term (db_set_term): openGauss's limit (§2.8). */
#define DB_TERM_MAX 2147483647u
/* Timestamps rendered by the server, e.g. "2026-11-21 05:30:06.829330+00:00". */
#define DB_TIME_MAX 64

/* Which database the driver drives. */
enum db_engine {
	DB_ENGINE_POSTGRES,
	DB_ENGINE_OPENGAUSS,
};

/* What the server is doing, as observed by db_get_status. */
enum db_role {
	DB_ROLE_UNKNOWN, /* alive and "ready", but it did not answer SQL in time: hung or overloaded */
	DB_ROLE_PRIMARY, /* accepts writes (pg_is_in_recovery() false; openGauss Primary or Normal) */
	DB_ROLE_REPLICA,  /* in recovery, following (or trying to follow) a primary */
	DB_ROLE_PENDING,  /* openGauss only: started with -M pending, role not yet decided */
	DB_ROLE_STARTING, /* process alive, not accepting connections yet (recovery, startup) */
	DB_ROLE_STOPPING, /* process alive and shutting down */
	DB_ROLE_STOPPED,  /* no server process, shut down cleanly (or never started) */
	DB_ROLE_CRASHED,  /* postmaster.pid left behind by a process that is gone */
};

/* The replica's replication connection (Patroni's replication_state). */
enum db_repl_state {
	DB_REPL_NONE,	      /* not a replica, or unknown */
	DB_REPL_STREAMING,    /* WAL receiver is streaming from a primary */
	DB_REPL_CONNECTING,   /* WAL receiver is starting, waiting or reconnecting */
	DB_REPL_DISCONNECTED, /* no WAL receiver: archive recovery or no usable upstream */
};

/* A standby's sync state as its primary sees it (pg_stat_replication.sync_state). */
enum db_sync_state {
	DB_SYNC_ASYNC,
	DB_SYNC_POTENTIAL,
	DB_SYNC_SYNC,
	DB_SYNC_QUORUM,
};

/* How db_stop stops the server. openGauss has no smart mode: it is refused with -ENOTSUP. */
enum db_stop_mode {
	DB_STOP_SMART,	   /* wait for clients to disconnect */
	DB_STOP_FAST,	   /* disconnect clients, shut down cleanly */
	DB_STOP_IMMEDIATE, /* quit at once; crash recovery on the next start */
};

/* The role db_start starts the server in. */
enum db_start_role {
	DB_START_PRIMARY, /* PostgreSQL: no standby.signal. openGauss: -M pending, then notify primary */
	DB_START_REPLICA, /* PostgreSQL: standby.signal + primary_conninfo. openGauss: -M standby */
	DB_START_PENDING, /* openGauss only (-M pending); -ENOTSUP on PostgreSQL */
};

/* What kind of synchronous replication db_set_sync_standbys asks for. */
enum db_sync_method {
	DB_SYNC_METHOD_OFF,	 /* synchronous_standby_names empty: asynchronous */
	DB_SYNC_METHOD_PRIORITY, /* Patroni synchronous_mode on: "FIRST n (a,b)", or "a" alone */
	DB_SYNC_METHOD_QUORUM,	 /* Patroni synchronous_mode quorum: "ANY n (a,b)" */
};

/* One user of postgresql.authentication. An empty username means "not configured". */
struct db_user {
	char username[DB_NAME_MAX];
	char password[DB_PASSWORD_MAX]; /* empty: no password (trust, peer or .pgpass) */
};

/* One server parameter, name = value, value as the configuration file spells it (unquoted). */
struct db_param {
	char name[DB_PARAM_NAME_MAX];
	char value[DB_PARAM_VALUE_MAX];
};

/* A set of parameters, in the order given. A later duplicate name overrides an earlier one. */
struct db_params {
	int count;
	struct db_param items[DB_PARAMS_MAX];
};

/* Another member: where to clone from, whom to follow, whom to rewind against. */
struct db_peer {
	char name[MEMBER_NAME_MAX]; /* member name (its application_name and slot name derive
				     * from it) */
	char host[DB_HOST_MAX];	    /* from its conn_url */
	int port;		    /* from its conn_url */
	/* Added for issue 13 (compatible): a standby cluster's remote primary (Patroni's
	 * RemoteMember) rather than a member: the replica uses slot ("" = none) instead of its own
	 * slot name, no primary_conninfo when host is "", and these recovery settings (each "" =
	 * not written) over postgresql.recovery_conf's. */
	bool remote;
	char slot[DB_NAME_MAX];
	char restore_command[DB_PARAM_VALUE_MAX];
	char archive_cleanup_command[DB_PARAM_VALUE_MAX];
	char recovery_min_apply_delay[DB_NAME_MAX];
};

/* postgresql.create_replica_methods entries, bootstrap.<method> and replica method options. */
#define DB_METHODS_MAX 8
/* A method's command split into words (each NUL-terminated, one after the other). */
#define DB_METHOD_WORDS_MAX 1024
/* A method's own options ("key=value"), passed as --key=value. */
#define DB_METHOD_OPTIONS_MAX 16
/* postgresql.recovery_conf and bootstrap.<method>.recovery_conf entries. */
#define DB_RECOVERY_CONF_MAX 16

/*
 * A user's command that fills the data directory (Patroni's replica_bootstrap.rst): a custom
 * replica creation method, or a custom bootstrap method. The caller splits the command line
 * into words (as shlex.split); the options are the method's other keys in file order, each
 * "key=value" (booleans as Python writes them, "True"/"False", because Patroni passes
 * str(value)), including keep_data, no_params and no_leader themselves.
 */
struct db_method {
	char name[DB_NAME_MAX]; /* "basebackup": the engine's own copy (no command) */
	int argc;		/* words in words; 0 only for basebackup */
	char words[DB_METHOD_WORDS_MAX];
	bool keep_data; /* the data directory is not emptied before (or after a failure) */
	bool no_params; /* only the method's options: no --scope, --role, --datadir, --connstring
			 * (and keep_data, no_leader, no_params are not passed either) */
	bool no_leader; /* may run without a member to copy from (connstring "") */
	int option_count;
	char options[DB_METHOD_OPTIONS_MAX][DB_TOOL_OPTION_MAX];
};

/* An ordered list of methods, tried in turn until one exits 0. */
struct db_replica_methods {
	int count; /* 0: basebackup alone */
	struct db_method items[DB_METHODS_MAX];
};

/* bootstrap.method when it is not initdb: its command runs instead of initdb with --scope and
 * --datadir (unless no_params) and the method's options; then recovery_conf is written (a
 * point-in-time recovery that ends in a promotion), or, unless keep_existing_recovery_conf,
 * the recovery files the command left are removed. */
struct db_bootstrap_method {
	struct db_method method; /* name "" (or "initdb"): initdb */
	bool keep_existing_recovery_conf;
	bool has_recovery_conf; /* recovery_conf was given (possibly empty) */
	int recovery_conf_count;
	struct db_param recovery_conf[DB_RECOVERY_CONF_MAX];
	int post_bootstrap_argc; /* bootstrap.post_bootstrap (post_init) split; 0: none */
	char post_bootstrap[DB_METHOD_WORDS_MAX];
};

/* Everything a driver needs, filled by the caller (from cfg) before db_new. Plain and fixed-size:
 * zero it, then set fields. Empty strings and 0 mean "default" where a default is stated. */
struct db_options {
	enum db_engine engine;
	char name[MEMBER_NAME_MAX];    /* this member's name: application_name, own slot name */
	char scope[DB_NAME_MAX];       /* cluster name: becomes cluster_name */
	char data_dir[DB_PATH_MAX];    /* postgresql.data_dir (required, absolute) */
	char bin_dir[DB_PATH_MAX];     /* postgresql.bin_dir; empty: commands are found in PATH */
	char config_dir[DB_PATH_MAX];  /* postgresql.config_dir; empty or equal to data_dir */
	char pgpass_path[DB_PATH_MAX]; /* postgresql.pgpass; empty: <data_dir>/../.pgpass_<name> */
	char listen_host[DB_HOST_MAX]; /* listen_addresses from postgresql.listen, e.g. "0.0.0.0" */
	int listen_port;	       /* port from postgresql.listen (required) */
	char connect_host[DB_HOST_MAX]; /* host of postgresql.connect_address (what peers use) */
	int connect_port;		/* port of postgresql.connect_address; 0: listen_port */
	char local_host[DB_HOST_MAX];	/* where the agent itself connects: a Unix socket directory
					 * or an address; empty: the first unix_socket_directories
					 * entry of parameters, else the first listen_host address
					 * ("*", "0.0.0.0" and "::" become loopback) */
	struct db_user superuser; /* postgresql.authentication.superuser (required username) */
	struct db_user
		replication;   /* postgresql.authentication.replication (PostgreSQL: required) */
	struct db_user rewind; /* postgresql.authentication.rewind; empty: use superuser */
	struct db_params parameters; /* postgresql.parameters merged over the DCS ones */
	int hba_count;		     /* 0: leave pg_hba.conf as initdb or the clone wrote it */
	char hba[DB_HBA_MAX][DB_HBA_LINE_MAX];
	/* bootstrap.initdb and postgresql.basebackup: each entry is one long option without its
	 * dashes, "data-checksums" or "encoding=UTF8"; the driver passes "--data-checksums" and
	 * "--encoding=UTF8". */
	int initdb_option_count;
	char initdb_options[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_MAX];
	int basebackup_option_count;
	char basebackup_options[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_MAX];
	bool use_slots;	    /* postgresql.use_slots (Patroni default true) */
	bool use_pg_rewind; /* postgresql.use_pg_rewind */
	bool remove_data_directory_on_rewind_failure;	  /* re-clone when rewind fails */
	bool remove_data_directory_on_diverged_timelines; /* re-clone when rewind is impossible */
	int64_t command_timeout_ms; /* deadline of short commands (pg_ctl, initdb); 0: 60 s */
	int64_t task_timeout_ms;    /* deadline of one clone or rewind command; 0: 1 h */
	int64_t connect_timeout_ms; /* libpq connect and status query deadline; 0: 2 s, min 1 s */
	/* Where the server's own output goes until its logging collector takes over (pg_ctl -l);
	 * empty: <data_dir>/postmaster.log. Added after the first commit of this header. */
	char log_file[DB_PATH_MAX];
	/* Added for issue 12 (compatible): postgresql.create_replica_methods in order (count 0:
	 * basebackup alone), postgresql.recovery_conf for replicas, and bootstrap.method. */
	struct db_replica_methods replica_methods;
	int recovery_conf_count;
	struct db_param recovery_conf[DB_RECOVERY_CONF_MAX]; /* restore_command, ... */
	struct db_bootstrap_method bootstrap_method;
};

/* A standby attached to this (primary) server. */
struct db_standby {
	char application_name[MEMBER_NAME_MAX]; /* the standby's member name */
	char usename[DB_NAME_MAX];
	char client_addr[DB_HOST_MAX]; /* "" for Unix socket connections */
	char state[DB_STATE_MAX];      /* lower case: "streaming", "catchup", "startup", "backup" */
	enum db_sync_state sync_state;
	int sync_priority;
	uint64_t sent_lsn;   /* bytes */
	uint64_t write_lsn;  /* bytes */
	uint64_t flush_lsn;  /* bytes */
	uint64_t replay_lsn; /* bytes */
};

/* A replication slot on this server (not a temporary one). */
struct db_slot {
	char name[DB_NAME_MAX];
	bool active;	      /* a walreceiver (or a logical consumer) is using it */
	uint64_t restart_lsn; /* bytes; 0 when not yet reserved */
	/* Added after the first commit (compatible): logical slots. */
	bool logical;		      /* slot_type 'logical' (else physical) */
	char database[DB_NAME_MAX];   /* logical: its database */
	char plugin[DB_NAME_MAX];     /* logical: its output plugin */
	uint64_t confirmed_flush_lsn; /* logical: bytes the consumer confirmed; 0 unknown */
	uint64_t catalog_xmin;	      /* the oldest catalog xid it needs; 0 when null */
};

/* One observation of the server. Plain and fixed-size: copy and compare freely. Fields the
 * engine cannot tell stay zero or empty rather than invented. */
struct db_status {
	int64_t observed_ms; /* monotonic time of this observation */
	bool initialized;    /* the data directory holds a database cluster */
	bool running;	     /* a server process is alive for this data directory */
	enum db_role role;
	int postmaster_pid; /* from postmaster.pid, 0 if none */
	bool accepting;	    /* SQL over libpq answered */
	int server_version; /* server_version_num, e.g. 150004; 0 when not connected */
	char postmaster_start_time[DB_TIME_MAX]; /* Patroni's format, "" when not connected */
	char system_identifier[DB_NAME_MAX];	 /* decimal, "" when unknown */
	uint32_t timeline;    /* PostgreSQL: the current timeline; 0 when unknown or openGauss */
	uint64_t term;	      /* openGauss: the term; 0 on PostgreSQL */
	uint64_t write_lsn;   /* bytes; primary: WAL written (pg_current_wal_lsn) */
	uint64_t flush_lsn;   /* bytes; primary: WAL flushed (Patroni's xlog.location) */
	uint64_t receive_lsn; /* bytes; replica: last WAL received and flushed */
	uint64_t replay_lsn;  /* bytes; replica: last WAL replayed */
	char replay_timestamp[DB_TIME_MAX];   /* replica: commit time of the last replayed xact */
	bool replay_paused;		      /* replica: pg_is_wal_replay_paused() */
	enum db_repl_state replication_state; /* replica only */
	char upstream_host[DB_HOST_MAX];      /* replica: the host it streams from, "" if none */
	int upstream_port;		      /* replica: its port, 0 if none */
	bool needs_rejoin; /* following another primary needs db_begin_rejoin first: the data may
			    * have diverged. openGauss: the standby reports timeline/system id
			    * mismatch or a removed WAL segment. PostgreSQL: the server is down
			    * and pg_controldata says it last ran as a primary (it cannot be ruled
			    * out cheaply; pg_rewind finds out, cheaply, whether to undo anything) */
	uint32_t fork_timeline; /* PostgreSQL replica: a newer timeline (its history file is in
				 * pg_wal, fetched from the upstream) that forked off the timeline
				 * this replica holds WAL of before replay_lsn: it cannot follow
				 * it without a rewind (the server logs "new timeline N forked off
				 * the current database system timeline before current recovery
				 * point"). 0: none seen; looked for only while not streaming.
				 * A stopped server: the same against pg_control's latest
				 * checkpoint and minimum recovery point (a start would fail with
				 * "requested timeline N is not a child of this server's history") */
	uint64_t fork_lsn;	/* where fork_timeline forked off (its switch point) */
	uint32_t checkpoint_timeline; /* PostgreSQL primary: pg_control_checkpoint()'s timeline;
				       * until it equals timeline, a promotion's first checkpoint
				       * has not finished and pg_rewind against this server would
				       * see the old timeline (Patroni's checkpoint_after_promote).
				       * 0 when unknown, a replica or openGauss */
	int standby_count;	      /* primary: entries used in standbys */
	int standbys_omitted;	      /* primary: attached standbys that did not fit */
	struct db_standby standbys[DB_STANDBYS_MAX];
	int slot_count; /* replication slots on this server, physical and logical */
	int slots_omitted;
	struct db_slot slots[DB_SLOTS_MAX];
	char synchronous_standby_names[DB_PARAM_VALUE_MAX]; /* the value in effect */
	bool pending_restart; /* a changed parameter waits for a restart (Patroni pending_restart) */
	int pending_count;    /* how many; the first DB_PENDING_MAX are named below */
	char pending[DB_PENDING_MAX][DB_PARAM_NAME_MAX];
	char detail[DB_ERROR_MAX]; /* why the role is what it is when not plainly running:
				    * the connection error, "postmaster.pid names dead pid 123" */
	/* Added after the first commit (compatible): the upstream the replica is configured to
	 * follow (PostgreSQL: host and port of primary_conninfo), known even while it is not
	 * connected; "" and 0 on a primary or when none is configured. */
	char following_host[DB_HOST_MAX];
	int following_port;
	/* Added after the first commit (compatible): pg_controldata's "Database cluster state" when
	 * the server is down ("shut down", "shut down in recovery", "in production" after a crash,
	 * "in archive recovery" after a crashed replica), "" while it runs or when unreadable.
	 * timeline and system_identifier then come from pg_control too. */
	char cluster_state[DB_STATE_MAX];
};

/* pg_controldata (gs_controldata) of the data directory: readable while the server is down. */
struct db_control {
	/* "shut down", "in production", "shut down in recovery", "in archive recovery" */
	char cluster_state[DB_STATE_MAX];
	char system_identifier[DB_NAME_MAX];
	uint64_t checkpoint_lsn;	/* bytes: "Latest checkpoint location" */
	uint64_t redo_lsn;		/* bytes: "Latest checkpoint's REDO location" */
	uint32_t timeline;		/* "Latest checkpoint's TimeLineID" */
	uint32_t min_recovery_timeline; /* "Min recovery ending loc's timeline", 0 if none */
	uint64_t min_recovery_lsn;	/* bytes: "Minimum recovery ending location", 0 if none */
	bool wal_log_hints;		/* "wal_log_hints setting" */
	bool data_checksums;		/* "Data page checksum version" is not 0 */
};

/* Synchronous standby selection for db_set_sync_standbys. */
struct db_sync {
	enum db_sync_method method;
	int num;   /* standbys that must confirm (n of "FIRST n" / "ANY n"); 0: count */
	int count; /* names used; a single "*" means any standby */
	char names[DB_STANDBYS_MAX][MEMBER_NAME_MAX]; /* member names (application_name) */
};

/* A driver instance for one data directory. Opaque; owned by the caller of db_new. */
struct db;

/* Returns "postgres" or "opengauss". */
const char *db_engine_name(enum db_engine engine);

/* Parses "postgres"/"postgresql" or "opengauss"/"gaussdb" (any case). Returns 0 or -EINVAL;
 * *out is written only on success. */
int db_engine_parse(const char *s, enum db_engine *out) __attribute__((warn_unused_result));

/* Returns "unknown", "primary", "replica", "pending", "starting", "stopping", "stopped",
 * "crashed". */
const char *db_role_name(enum db_role role);

/* Returns "", "streaming", "connecting", "disconnected" (DB_REPL_NONE is ""). */
const char *db_repl_state_name(enum db_repl_state state);

/* Returns "async", "potential", "sync", "quorum" (pg_stat_replication's words). */
const char *db_sync_state_name(enum db_sync_state state);

/* Returns "smart", "fast", "immediate". */
const char *db_stop_mode_name(enum db_stop_mode mode);

/* Parses a synchronous_standby_names value into *out: "" (method OFF), "*", "a, b" (PostgreSQL's
 * plain list: priority, num 1), "n (a,b)" and "FIRST n (...)" (priority), "ANY n (...)" (quorum).
 * Double-quoted names lose their quotes ("" becomes "); unquoted ones keep their case (PostgreSQL
 * compares them case-insensitively). Returns 0, or -EINVAL for anything else (more than
 * DB_STANDBYS_MAX names, a name too long, trailing text); *out is written only on success. */
int db_parse_sync_names(const char *s, struct db_sync *out) __attribute__((warn_unused_result));

/* Patroni's slot name for a member: lower case, every character outside [a-z0-9_] becomes "_".
 * Returns 0, -EINVAL for an empty name, -ENAMETOOLONG when out_cap is too small. */
int db_slot_name(const char *member, char *out, size_t out_cap) __attribute__((warn_unused_result));

/* Checks opts and creates a driver for them (no I/O besides checking the binaries exist).
 * The options are copied. Returns 0 and *out, or -EINVAL/-ENOTSUP/-ENOMEM with a message. */
int db_new(const struct db_options *opts, struct db **out, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Cancels a running task (killing its commands), then frees. Accepts NULL. Leaves the server
 * itself running or stopped as it is. */
void db_free(struct db *db);

/* The options in effect (owned by db). */
const struct db_options *db_get_options(const struct db *db);

/* Observes the server: postmaster.pid plus kill(pid, 0), then SQL over libpq with the connect
 * timeout. Always fills *out with what it could see (role unknown, starting, crashed, ... with the
 * reason in detail) and returns 0; -EINVAL only for bad arguments. Bounded by connect_timeout_ms
 * (twice at most: connect, then the queries). Allowed while a task runs. *out must hold zeros
 * (calloc, zpages_alloc) or an earlier db_get_status result: its standby and slot lists are
 * cleared only as far as that result used them, so their unused pages stay unwritten. */
int db_get_status(struct db *db, struct db_status *out);

/* True, once, when the postmaster the last db_get_status saw running has exited since and its
 * pid has been reaped (the agent, a child subreaper, reaps its orphans here first, the postmaster
 * among them; init or whoever else its parent is otherwise): the first moment a restart can succeed,
 * since PostgreSQL refuses to start while the pid in postmaster.pid exists, zombie or not. The HA
 * loop asks between cycles, so a crash is acted on at once rather than at the next status poll
 * (issue 14). Linux 5.3+ watches it through a pidfd (pidfd_open), elsewhere kill(pid, 0) plus
 * the zombie check; never blocks; false when no running postmaster was seen, and for a zombie
 * nobody reaps (db_get_status still reports it crashed). */
bool db_postmaster_exited(struct db *db);

/* For a caller that sleeps on file descriptors (the HA loop's poll): a pidfd that polls readable
 * once the watched postmaster has exited, -1 when none is watched. Owned by db (do not close or
 * read it); it may change at every db_get_status. Readable means "ask db_postmaster_exited",
 * which may still say false for a zombie nobody reaps: such a caller stops polling the fd. */
int db_postmaster_fd(const struct db *db);

/* Reads pg_controldata of the data directory (the server may be down). Returns 0, -EIO or
 * -ETIMEDOUT with a message. */
int db_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
		    size_t err_cap) __attribute__((warn_unused_result));

/* --- Long actions: run as a background task, one at a time --------------------------------
 * Each db_begin_* checks its preconditions, starts the first command and returns 0 at once
 * (-EBUSY if a task is running). Then call db_task_poll every loop cycle until it stops returning
 * -EINPROGRESS. On success the server is running in its new role (not necessarily accepting
 * connections yet); on failure it is left stopped. */

/* Bootstraps a new cluster: initdb with opts.initdb_options and the superuser (password via a
 * temporary pwfile), the driver's configuration and pg_hba, start as primary, then create the
 * replication and rewind users (with pg_rewind's function grants). Requires an empty or missing
 * data directory (-EEXIST otherwise). openGauss: term is passed to notify -M primary -T. */
int db_begin_bootstrap(struct db *db, uint64_t term, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Creates a replica by copying source (the leader, or a clonefrom member) with pg_basebackup
 * (openGauss: gs_ctl build -b full), configures it to follow primary (NULL: follow source), and
 * starts it. The server must be stopped (-EBUSY otherwise). A non-empty data directory is refused
 * with -EEXIST unless replace_existing, in which case it is removed first. A failed copy removes
 * what it copied. */
int db_begin_create_replica(struct db *db, const struct db_peer *source,
			    const struct db_peer *primary, bool replace_existing, char *err,
			    size_t err_cap) __attribute__((warn_unused_result));

/* As db_begin_create_replica, trying methods in order (NULL: opts.replica_methods) until one
 * succeeds (Patroni's create_replica): "basebackup" is the engine's own copy; a custom method
 * runs its command with the method's options and, unless no_params, --scope, --role=replica,
 * --datadir and --connstring (the source's replication conninfo without the password; the
 * password is in the PGPASSFILE the command gets). The data directory is emptied before a
 * method unless it has keep_data, and after a failed one likewise. source NULL (no member to
 * copy from) runs only the no_leader custom methods, with an empty connstring, and primary NULL
 * leaves the replica without an upstream. A method that fails is logged with its error and the
 * next one runs; the task fails with the last error when none is left. openGauss: custom
 * methods are refused by db_new (-ENOTSUP). */
int db_begin_create_replica_with(struct db *db, const struct db_replica_methods *methods,
				 const struct db_peer *source, const struct db_peer *primary,
				 bool replace_existing, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* True when some custom method in methods (NULL: opts.replica_methods) has no_leader: a replica
 * can then be made without a member to copy from (Patroni's "bootstrap (without leader)"). */
bool db_replica_methods_leaderless(const struct db *db, const struct db_replica_methods *methods);

/* Rejoins a diverged old primary (or a replica that cannot follow) to primary: stops the server if
 * it runs, pg_rewind against primary when use_pg_rewind (openGauss: gs_ctl build -b
 * incremental), and when that fails and remove_data_directory_on_rewind_failure (or rewind is off
 * and remove_data_directory_on_diverged_timelines) removes the data directory and clones again.
 * Then it starts as a replica of primary. Without any allowed way it fails with -ENOTSUP. */
int db_begin_rejoin(struct db *db, const struct db_peer *primary, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Advances the running task, waiting at most wait_ms for its current command. Returns
 * -EINPROGRESS while it runs, 0 once it succeeded, or the task's error (with a message) once it
 * failed; after 0 or an error the task is gone. Returns -ENOENT when no task runs. */
int db_task_poll(struct db *db, int64_t wait_ms, char *err, size_t err_cap);

/* True, once per command, when the running task's current command (initdb, pg_basebackup,
 * pg_rewind, pg_ctl, ...) has ended: the caller's next db_task_poll takes the next step. Looks
 * without waiting and advances nothing, so the HA loop can cut its wait short when a task can
 * move (issue 14) and still take every step in a cycle. */
bool db_task_command_ended(struct db *db);

/* The pid of the running task's current command whose end db_task_command_ended has not yet
 * reported, or 0: a caller that sleeps on file descriptors opens a pidfd on it. */
int db_task_command_pid(const struct db *db);

/* True while a task runs. */
bool db_task_running(const struct db *db);

/* The running task in Patroni's state words: "initializing new cluster", "creating replica",
 * "rejoining", or "" when none. */
const char *db_task_name(const struct db *db);

/* What the task is doing now, for the log: the current command and its last output line (e.g.
 * pg_basebackup's "20480/30720 kB (66%), 0/1 tablespace"). Returns 0 or -ENOENT. */
int db_task_progress(const struct db *db, char *out, size_t out_cap);

/* Kills the running task's commands and forgets it; blocks at most a few seconds. The data
 * directory may be left half-built: the next create_replica needs replace_existing. */
void db_task_cancel(struct db *db);

/* --- Short actions: each bounded by timeout_ms, -EBUSY while a task runs -------------------
 * timeout_ms 0 means the command_timeout_ms option, except in db_start (see there). */

/* Starts the server in role. DB_START_REPLICA writes the standby configuration for primary
 * (NULL: a replica with no upstream yet). openGauss: DB_START_PRIMARY uses term. Waits up to
 * timeout_ms for connections to be accepted; on -ETIMEDOUT the server keeps starting (status
 * says starting). timeout_ms 0 returns as soon as the server process is launched. Returns 0 at
 * once if it already runs in that role; -EALREADY if it runs in another role; -EAGAIN (nothing
 * launched) while the last postmaster is an unreaped zombie or its orphaned backends still hold
 * its shared memory, as PostgreSQL would refuse to start: try again shortly. Reaps the agent's
 * orphaned children first. */
int db_start(struct db *db, enum db_start_role role, const struct db_peer *primary, uint64_t term,
	     int64_t timeout_ms, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* After a failed bootstrap (Patroni's move_data_directory): renames the data directory to
 * "<data_dir>.failed" (replacing an older one), and a pg_wal that is a symlink has its target
 * renamed to "<target>.failed" too, so that a later bootstrap starts from empty directories and
 * the failed attempt is kept for a look. The server must not run. 0 (also when there is no data
 * directory) or -errno with a message. */
int db_move_data_aside(struct db *db, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Stops the server in mode, waiting up to timeout_ms. Returns 0 (also when already stopped). On
 * -ETIMEDOUT the caller may repeat with DB_STOP_IMMEDIATE. */
int db_stop(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Stops (mode) and starts again in the same role, applying pending parameters. */
int db_restart(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Makes the running server reread its configuration (SIGHUP). */
int db_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Promotes this replica to primary and waits up to timeout_ms until it accepts writes.
 * PostgreSQL: pg_ctl promote; the standby configuration is removed. openGauss: gs_ctl failover
 * -T term (a pending instance: notify -M primary -T term). 0 at once if already primary. */
int db_promote(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Highest timeline ID PostgreSQL can have (TimeLineID is 32 bits). */
#define DB_TLI_MAX 0xFFFFFFFFu
/* Placeholders one promotion writes at most: each is one leader change the agent saw without
 * seeing the new leader's timeline; more means a bug, not a cluster. */
#define DB_TLI_RESERVE_MAX 64

/* Before db_promote: makes the promotion pick a timeline ID above reserved_tli, IDs that other
 * members may have created (docs/db.md, "Timeline IDs"). PostgreSQL: a placeholder
 * <tli>.history in pg_wal for every ID in current_tli+1..reserved_tli without one; other
 * engines: nothing. *written: how many it wrote. 0 or a negative errno. */
int db_reserve_timelines(struct db *db, uint64_t current_tli, uint64_t reserved_tli, int *written,
			 char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Makes the server follow primary (NULL: no upstream). A running replica is re-pointed with a
 * reload (only when its configuration changed); a running primary is demoted (fast stop, then
 * start as a replica); a stopped server only gets its configuration written. Does not rewind:
 * a former primary (demoted, crashed or stopped) may have diverged, so the loop should bring it
 * back with db_begin_rejoin instead; on PostgreSQL pg_rewind itself finds out whether anything
 * must be undone ("no rewind required" costs one short run). PostgreSQL does not report a
 * diverged running replica (needs_rejoin covers a server that is down). openGauss: a pending instance is notified to
 * standby. */
int db_follow(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
	      size_t err_cap) __attribute__((warn_unused_result));

/* Replaces the parameters (postgresql.parameters merged with DCS ones), rewrites the
 * configuration the server reads and reloads a running server. Parameters that need a restart
 * then show up in db_status.pending_restart. The driver's own settings (listen address, port,
 * cluster_name, hot_standby, recovery settings) always win over params. */
/* Copies the count and the used entries of src into dst; the entries past the count are left as
 * they were (a struct assignment would write all DB_PARAMS_MAX of them, some 140 kB). */
void db_params_copy(struct db_params *dst, const struct db_params *src);

int db_apply_parameters(struct db *db, const struct db_params *params, int64_t timeout_ms,
			char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Sets synchronous_standby_names from sync (the agent manages it; a value in parameters is
 * overridden), rewrites the configuration and reloads. */
int db_set_sync_standbys(struct db *db, const struct db_sync *sync, int64_t timeout_ms, char *err,
			 size_t err_cap) __attribute__((warn_unused_result));

/* On a running server: creates a physical replication slot for each member in names (Patroni's
 * slot names, see db_slot_name; own name skipped) and drops inactive physical slots that are not
 * in the list. count 0 drops them all. The primary keeps slots for every member, and so does a
 * replica that may be promoted (Patroni 4's member slots: a promoted replica already has them).
 * openGauss: -ENOTSUP is not an error the loop needs to log (replconninfo replaces slots). */
int db_ensure_slots(struct db *db, const char names[][MEMBER_NAME_MAX], int count,
		    int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* A slot and the position db_advance_slots moves it to. */
struct db_slot_target {
	char name[DB_NAME_MAX]; /* the slot's name (db_slot_name of a member) */
	uint64_t lsn;		/* bytes */
	/* Added after the first commit (compatible): a logical slot's database ("" for a physical
	 * slot); its confirmed_flush_lsn moves, through a connection to that database. */
	char database[DB_NAME_MAX];
};

/* On a running replica: logical slot failover (Patroni 4, PostgreSQL 11 to 16). Reads the state
 * of each logical slot named from primary (as the rewind user: pg_read_binary_file), and when
 * the primary has any of them, stops this server (fast), installs the slots in its pg_replslot
 * and starts it again in the same role; db_advance_slots then keeps them where the primary's
 * consumers confirmed. *copied says how many were installed (0: nothing was done, the server
 * was not restarted). Returns 0, or a negative errno with a message (the server is started
 * again whatever happened after it stopped); -ENOTSUP on openGauss. */
int db_copy_logical_slots(struct db *db, const struct db_peer *primary,
			  const char (*names)[DB_NAME_MAX], int count, int64_t timeout_ms,
			  int *copied, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Can pg_rewind use primary (the leader) as its source now? pg_rewind takes the source's
 * timeline from its pg_control, which a promotion updates only with its first checkpoint on the
 * new timeline: before that, a former primary on the old timeline is told "no rewind required"
 * and then cannot start on the new one. Asks primary, as the rewind user, for
 * pg_control_checkpoint()'s timeline and the timeline it writes (Patroni's
 * check_leader_has_run_checkpoint). Sets *ready (true: not in recovery and both equal) and, for
 * the caller's message, *checkpoint_tli and *tli (0 when in recovery). Returns 0, or a negative
 * errno with a message: -ENOTSUP on openGauss (no pg_rewind), a connection or query error. */
int db_peer_rewind_ready(struct db *db, const struct db_peer *primary, int64_t timeout_ms,
			 bool *ready, uint32_t *checkpoint_tli, uint32_t *tli, char *err,
			 size_t err_cap) __attribute__((warn_unused_result));

/* The catalog_xmin of slots on another member (the primary), for Patroni's check that a copied
 * logical slot is safe to use after a promotion. Reads, as the rewind user, the slots named in
 * names from primary while it is not in recovery; found[i] says whether names[i] exists there,
 * xmin[i] its catalog_xmin (0 when null). Returns 0, or a negative errno with a message. */
int db_peer_slot_xmins(struct db *db, const struct db_peer *primary,
		       const char (*names)[DB_NAME_MAX], int count, bool *found, uint64_t *xmin,
		       int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* On a running server: moves each slot in targets forward to its lsn
 * (pg_replication_slot_advance; a replica stops at its own replay position), so a member slot a
 * replica keeps for its next promotion retains no WAL that member already has. A slot that is
 * gone, in use or already there is left alone. Returns 0, or a negative errno with a message;
 * -ENOTSUP when the engine has no slots (openGauss). */
int db_advance_slots(struct db *db, const struct db_slot_target *targets, int count,
		     int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* A slot db_apply_slots creates. */
struct db_slot_spec {
	char name[DB_NAME_MAX];	    /* [a-z0-9_], at most 63 bytes */
	bool logical;		    /* else physical (reserved at once) */
	char database[DB_NAME_MAX]; /* logical: the database it decodes */
	char plugin[DB_NAME_MAX];   /* logical: the output plugin */
};

/* On a running server: drops each slot named in drop unless it is in use (a slot in use or gone
 * is left alone), then creates each slot in create that does not exist yet. Logical slots are
 * created in their database, on a primary only (a replica gets them otherwise). The caller
 * decides which slots these are (the agent's slot plan: member slots, Patroni's permanent slots,
 * ignore_slots). Returns 0, or the first error with a message after trying the rest; -ENOTSUP
 * when the engine has no slots (openGauss). */
int db_apply_slots(struct db *db, const struct db_slot_spec *create, int create_count,
		   const char (*drop)[DB_NAME_MAX], int drop_count, int64_t timeout_ms, char *err,
		   size_t err_cap) __attribute__((warn_unused_result));

/* Runs CHECKPOINT on the running server and returns its redo LSN in *out_lsn (bytes): after a
 * promotion (Patroni's checkpoint_after_promote) and before a planned switchover. */
int db_checkpoint(struct db *db, uint64_t *out_lsn, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Fences the server: kills its postmaster and every child of it at once (SIGKILL; the
 * postmaster is stopped first so it cannot fork meanwhile), so no process of this data
 * directory accepts a write any more. The last resort when a stop did not finish in time; no
 * shutdown checkpoint, crash recovery on the next start. The pid comes from postmaster.pid, and
 * is signalled only after it proved to be the postmaster of this data directory (/proc/<pid>
 * exists and its working directory or -D argument is the data directory): a pid that a stale
 * postmaster.pid names and another process now uses is left alone. Allowed while a task runs.
 * Returns 0 when it killed the server; -ESRCH when no postmaster of this data directory runs
 * (no postmaster.pid, a dead pid, or a recycled one: the message says which), which leaves
 * writes just as stopped; -EACCES when the process could not be identified, or another -errno,
 * with a message. */
int db_fence(struct db *db, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* What a process that holds no driver (the agent's guardian, src/agent/guardian.c) needs to
 * fence this data directory's server: the data directory, and the postmaster's pid and start
 * time (epoch seconds, from postmaster.pid) as last proven, for the identity check when the
 * file is gone by the time of the fence. */
struct db_fence_target {
	char data_dir[DB_PATH_MAX];
	int pid;
	int64_t start_time;
};

/* Fills *out from data_dir's postmaster.pid once its pid proved to be the postmaster that
 * wrote it (the identity and start time checks of db_fence). Returns 0, -ESRCH when no such
 * postmaster runs (no file, a dead or recycled pid), or another negative errno. */
int db_fence_target_read(const char *data_dir, struct db_fence_target *out)
	__attribute__((warn_unused_result));

/* Fences target's server without a driver handle: an immediate shutdown (SIGQUIT to the
 * postmaster, whose backends then quit at once), and when the postmaster is still there after
 * quit_wait_ms, db_fence's kill of the postmaster, its process group and its children. The
 * postmaster is the one postmaster.pid names now if it proves to be this data directory's,
 * else target's pid if that still proves to be. Blocks at most quit_wait_ms plus the kill.
 * Returns 0 when it fenced a server (err says how), -ESRCH when none runs, or another negative
 * errno, with a message. */
int db_fence_target(const struct db_fence_target *target, int64_t quit_wait_ms, char *err,
		    size_t err_cap) __attribute__((warn_unused_result));

/* Checks the directory that will hold path (the pgpass file, initdb's password file): returns
 * 0 when only its owner may write it, 1 with a message saying so when its group or every user
 * may (the agent warns: files there are created exclusively with mode 0600, but other users see
 * them come and go, and where the directory is not sticky may replace them), or -errno. */
int db_check_private_dir(const char *path, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Tells the driver the cluster's current members (this node may be among them; it is
 * recognised by its name), at most DB_PEERS_MAX. PostgreSQL needs no member list: a no-op.
 * openGauss lists every other member in replconninfo1..8 (§2.6): the list is copied, and a
 * running server gets the new replconninfoN at once (gs_guc reload: SIGHUP settings), a stopped
 * one at its next start. Allowed while a task runs (the task writes the configuration itself).
 * Returns 0, -EINVAL for a bad peer, -E2BIG for too many, or the error of gs_guc with a
 * message. */
int db_set_peers(struct db *db, const struct db_peer *peers, int count, int64_t timeout_ms,
		 char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Runs the engine's own checks of the options, as db_new does, without creating anything: for
 * configuration validation. openGauss: the member name must be a name gs_initdb --nodename
 * takes and a superuser password one gs_initdb -w takes (opengauss.md 2.1), gs_ctl in bin_dir.
 * PostgreSQL: pg_ctl in bin_dir, a replication user. 0, or -errno with a message naming the
 * rule; -ENOTSUP for an engine this build lacks. */
int db_check_options(const struct db_options *opts, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Tells the driver the cluster term the DCS holds (the term key). PostgreSQL fences with
 * timelines and ignores it: a documented no-op. openGauss keeps the highest term it was given or
 * saw and passes it as -T to gs_ctl build, so that a stale old primary listed first in
 * replconninfo is never the source (§2.5), and to the notify that turns a Normal primary into
 * one serving joining members (§2.2). Does no I/O. Returns 0, or -EINVAL for a term outside
 * 1..2147483647 (§2.8: a larger one PANICs openGauss on its next WAL write). */
int db_set_term(struct db *db, uint64_t term, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* db_promote as the candidate of a planned switchover whose leader handed over with
 * db_hand_over: openGauss runs gs_ctl switchover -T term while the replica streams from a
 * running primary (which then turns standby, §2.4), else as db_promote; other engines: as
 * db_promote. */
int db_promote_planned(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Prepares a native switchover to the standby named candidate (its application_name) on a
 * running primary, for the engines that have one: openGauss stops new writes
 * (default_transaction_read_only, reloaded into every session), then waits until candidate has
 * flushed the primary's current WAL location; the candidate then runs gs_ctl switchover (§2.4,
 * db_promote_planned) while this server keeps running. Writes come back with the next db_start,
 * db_follow or db_apply_parameters, or db_hand_over_abort. Returns 0, -ENOTSUP for an engine
 * without a native switchover (PostgreSQL: stop the primary instead), -ETIMEDOUT when the
 * candidate did not catch up (writes are allowed again), or another -errno with a message. */
int db_hand_over(struct db *db, const char *candidate, int64_t timeout_ms, char *err,
		 size_t err_cap) __attribute__((warn_unused_result));

/* Before an election (no leader key): stops a running replica from receiving WAL from anyone,
 * so the (term, LSN) it reports stays put while the candidates are compared; db_follow lifts it
 * by pinning the replica to the new primary. openGauss: disable_conn('prohibit_connection'),
 * retried while the server refuses it until its local redo is done (§2.6, §2.11 lock1); it
 * survives restarts. Returns 0, -ENOTSUP for an engine without it (PostgreSQL), -ETIMEDOUT, or
 * another -errno with a message. */
int db_freeze_upstream(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Allows writes again after db_hand_over when the switchover did not happen. 0 or -errno. */
int db_hand_over_abort(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Makes the agent's libpq able to negotiate SSL: in a build linking the minimal libraries, whose
 * libpq has no SSL, loads libpq's SSL build (OpenSSL) by dlopen, once (docs/architecture.md,
 * "Footprint"); elsewhere does nothing. Call it at start-up, before any connection, when a
 * connection may need SSL: connections and results of one build never meet the other's, so
 * the choice holds for the process's life. Returns 0, or -ENOENT with the reason in err. */
int db_pq_use_ssl(char *err, size_t err_cap) __attribute__((warn_unused_result));

/* True when the agent's libpq can negotiate SSL. */
bool db_pq_has_ssl(void);

#endif
