/*
 * db_opengauss_codec.h - the pure half of the openGauss driver: text in, structs out, and
 * structs in, command lines out. No I/O, no clock, no logging, no allocation.
 *
 * Everything here follows /work/shared/opengauss.md (cited as "§2.x"):
 *   - gs_ctl query output and pg_stat_get_stream_replications() values (§2.7);
 *   - the (term, lsn) record of pg_last_xlog_replay_location() (§2.7, §2.8);
 *   - replconninfoN entries generated from the member list, at most 8 (§2.6);
 *   - the synchronous-replication settings, always written explicitly (§2.9);
 *   - gs_ctl and gs_guc argument vectors (§2.2 - §2.6, §2.12, §2.13);
 *   - whether a standby's reported state calls for a build (§2.5, §2.7).
 *
 * Parsers return 0 or a negative errno and write their output only on success; the optional
 * err buffer (caller-owned, may be NULL) receives a one-line reason on failure.
 */
#ifndef GSHA_DB_OPENGAUSS_CODEC_H
#define GSHA_DB_OPENGAUSS_CODEC_H

#include "name.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest gs_ctl query output we accept: three blocks with up to 8 senders of ~25 rows of
 * ~80 bytes each fit in 32 KiB; anything longer is not gs_ctl talking. */
#define DB_OG_QUERY_TEXT_MAX 65536
/* Longest single line of gs_ctl query output; the real rows are under 100 bytes. */
#define DB_OG_LINE_MAX 512
/* Most walsenders a primary can have: one per replconninfo entry (§2.6). */
#define DB_OG_SENDERS_MAX 8
/* Most replconninfoN entries the server reads: replconninfo1 .. replconninfo8 (§2.6). */
#define DB_OG_REPLCONNINFO_MAX 8
/* Members of a cluster: one primary plus one per replconninfo entry. */
#define DB_OG_MEMBERS_MAX (DB_OG_REPLCONNINFO_MAX + 1)
/* Host names in replconninfo: an IPv6 literal or a DNS name (RFC 1035 caps names at 253). */
#define DB_OG_HOST_MAX 256
/* One rendered replconninfo value: 2 hosts plus ~10 keys and numbers stay under 700 bytes. */
#define DB_OG_CONNINFO_TEXT_MAX 1024
/* Free text reported by the server (detail_information, channel): a connection error is the
 * longest, libpq keeps those under 256 bytes. */
#define DB_OG_DETAIL_MAX 256
/* Most settings one gs_guc command carries: the 8 replconninfo entries plus 4 more. */
#define DB_OG_SETTINGS_MAX 12
/* Most arguments any gs_ctl or gs_guc command line we build has (gs_guc: 4 + 2 per setting). */
#define DB_OG_ARGV_MAX (4 + 2 * DB_OG_SETTINGS_MAX)
/* One argument: a path (PATH_MAX 4096) or a "name = 'value'" setting. */
#define DB_OG_ARG_MAX 4352
/* A GUC name; the longest openGauss names are about 40 bytes. */
#define DB_OG_GUC_NAME_MAX 64
/* A GUC value: a replconninfo entry or a synchronous_standby_names list is the longest. */
#define DB_OG_GUC_VALUE_MAX 2048
/* An application_name: a member's name (base name.h). */
#define DB_OG_APP_NAME_MAX MEMBER_NAME_MAX

/* local_role of pg_stat_get_stream_replications() and gs_ctl query (§2.7). */
enum db_og_role {
	DB_OG_ROLE_UNKNOWN = 0,
	DB_OG_ROLE_NORMAL,
	DB_OG_ROLE_PRIMARY,
	DB_OG_ROLE_STANDBY,
	DB_OG_ROLE_CASCADE_STANDBY,
	DB_OG_ROLE_MAIN_STANDBY,
	DB_OG_ROLE_PENDING,
	DB_OG_ROLE_COUNT
};

/* db_state (§2.7). */
enum db_og_db_state {
	DB_OG_DB_STATE_UNKNOWN = 0,
	DB_OG_DB_STATE_NORMAL,
	DB_OG_DB_STATE_NEED_REPAIR,
	DB_OG_DB_STATE_STARTING,
	DB_OG_DB_STATE_WAIT_PROMOTING,
	DB_OG_DB_STATE_DEMOTING,
	DB_OG_DB_STATE_PROMOTING,
	DB_OG_DB_STATE_BUILDING,
	DB_OG_DB_STATE_CATCHUP,
	DB_OG_DB_STATE_COREDUMP,
	DB_OG_DB_STATE_COUNT
};

/* detail_information (§2.7). OTHER is free text such as a connection error or "Access denied"
 * from the gaussdb.state fallback; the text itself is kept in detail_text. */
enum db_og_detail {
	DB_OG_DETAIL_UNKNOWN = 0,
	DB_OG_DETAIL_NORMAL,
	DB_OG_DETAIL_CONNECTING,
	DB_OG_DETAIL_DISCONNECTED,
	DB_OG_DETAIL_WAL_REMOVED,
	DB_OG_DETAIL_VERSION_NOT_MATCHED,
	DB_OG_DETAIL_MODE_NOT_MATCHED,
	DB_OG_DETAIL_SYSID_NOT_MATCHED,
	DB_OG_DETAIL_TIMELINE_NOT_MATCHED,
	DB_OG_DETAIL_DCF_LOG_LOSS,
	DB_OG_DETAIL_OTHER,
	DB_OG_DETAIL_COUNT
};

/* A walsender's state (§2.7, SQL 2). */
enum db_og_sender_state {
	DB_OG_SENDER_UNKNOWN = 0,
	DB_OG_SENDER_STARTUP,
	DB_OG_SENDER_BACKUP,
	DB_OG_SENDER_CATCHUP,
	DB_OG_SENDER_STREAMING,
	DB_OG_SENDER_COUNT
};

/* sync_state (§2.7, SQL 2). openGauss capitalises these; PostgreSQL does not. */
enum db_og_sync_state {
	DB_OG_SYNC_UNKNOWN = 0,
	DB_OG_SYNC_ASYNC,
	DB_OG_SYNC_SYNC,
	DB_OG_SYNC_QUORUM,
	DB_OG_SYNC_POTENTIAL,
	DB_OG_SYNC_COUNT
};

/* The stop modes gs_ctl accepts: there is no smart shutdown (§2.3). */
enum db_og_stop_mode {
	DB_OG_STOP_FAST = 0,
	DB_OG_STOP_IMMEDIATE,
	DB_OG_STOP_COUNT
};

/* gs_ctl build -b modes the agent uses (§2.5). */
enum db_og_build_mode {
	DB_OG_BUILD_AUTO = 0,
	DB_OG_BUILD_FULL,
	DB_OG_BUILD_INCREMENTAL,
	DB_OG_BUILD_COUNT
};

/* What a standby's reported state calls for (§2.5, §2.7 "a sensible rule for the agent"). */
enum db_og_build_advice {
	DB_OG_ADVICE_NONE = 0,	 /* healthy, or not a standby: nothing to do */
	DB_OG_ADVICE_WAIT,	 /* connecting or disconnected: wait, then consider a build */
	DB_OG_ADVICE_BUILD,	 /* diverged or fell behind: gs_ctl build (auto, then full) */
	DB_OG_ADVICE_BUILD_FULL, /* another cluster's data: only a full build can fix it */
	DB_OG_ADVICE_REFUSE,	 /* mode mismatch: a build cannot fix it; needs a human */
	DB_OG_ADVICE_COUNT
};

/* The HA state block (gs_ctl query "HA state:") or the row of
 * pg_stat_get_stream_replications(). */
struct db_og_ha_state {
	enum db_og_role local_role;
	int static_connections; /* configured replconninfo entries; -1 if absent */
	enum db_og_db_state db_state;
	enum db_og_detail detail;
	char detail_text[DB_OG_DETAIL_MAX]; /* detail_information as reported */
	bool has_sync_mode;		    /* the gaussdb.state fallback printed sync_mode */
	bool sync_mode;			    /* sync_mode: Sync (true) or Async */
	bool from_state_file;		    /* gs_ctl could not connect and read gaussdb.state */
};

/* One walsender (gs_ctl query "Senders info:" or a row of pg_stat_get_wal_senders()). */
struct db_og_sender {
	int64_t sender_pid; /* 0 when not reported */
	enum db_og_role local_role;
	char peer_role[32];  /* Standby, Cascade Standby, Secondary, ... */
	char peer_state[32]; /* Normal, Need repair, ... */
	enum db_og_sender_state state;
	uint64_t sent_lsn;   /* sender_sent_location */
	uint64_t write_lsn;  /* receiver_write_location */
	uint64_t flush_lsn;  /* receiver_flush_location */
	uint64_t replay_lsn; /* receiver_replay_location */
	int sync_percent;    /* 0..100, -1 if absent */
	enum db_og_sync_state sync_state;
	int sync_priority;		/* -1 if absent */
	bool sync_most_available;	/* sync_most_available: On */
	char channel[DB_OG_DETAIL_MAX]; /* "ip:port-->ip:port" */
};

/* The walreceiver (gs_ctl query "Receiver info:" or pg_stat_get_wal_receiver()). */
struct db_og_receiver {
	int64_t receiver_pid; /* 0 when not reported */
	enum db_og_role local_role;
	char peer_role[32];
	char peer_state[32];
	char state[32];		   /* Startup, Catchup, Normal, ... as reported */
	uint64_t sender_flush_lsn; /* the primary's flush position */
	uint64_t received_lsn;	   /* receiver_received_location */
	uint64_t flush_lsn;	   /* receiver_flush_location */
	uint64_t replay_lsn;	   /* receiver_replay_location */
	int sync_percent;	   /* 0..100, -1 if absent */
	char channel[DB_OG_DETAIL_MAX];
};

/* Everything one gs_ctl query prints. */
struct db_og_query {
	struct db_og_ha_state ha;
	int n_senders;
	struct db_og_sender senders[DB_OG_SENDERS_MAX];
	bool has_receiver;
	struct db_og_receiver receiver;
};

/* One (term, lsn) pair from pg_last_xlog_replay_location() (§2.7, §2.8). */
struct db_og_term_lsn {
	uint32_t term;
	uint64_t lsn;
};

/* One cluster member as replconninfo needs it: its host and its client port. */
struct db_og_node {
	char host[DB_OG_HOST_MAX];
	int port; /* the client port; HA port is port + 1 (§2.1) */
};

/* The replconninfo1..8 values for one node; unused entries are empty strings, which clears a
 * stale entry of a member that left. */
struct db_og_replconninfo {
	int count; /* entries in use, 0..8 */
	char entry[DB_OG_REPLCONNINFO_MAX][DB_OG_CONNINFO_TEXT_MAX];
};

/* One GUC assignment for gs_guc. */
struct db_og_setting {
	char name[DB_OG_GUC_NAME_MAX];
	char value[DB_OG_GUC_VALUE_MAX]; /* unquoted; the renderer adds the quotes */
};

/* The synchronous-replication policy the agent wants (§2.9). */
struct db_og_sync_policy {
	bool enabled; /* synchronous replication wanted at all */
	bool strict;  /* block commits when no sync standby is left */
	bool quorum;  /* ANY n (...) instead of FIRST n (...) */
	int num_sync; /* FIRST n; at least 1 when enabled */
	int n_names;  /* 0 means '*' (any standby) */
	char names[DB_OG_MEMBERS_MAX][DB_OG_APP_NAME_MAX]; /* application_name of each candidate */
};

/* A command line as fixed-size storage: copyable, no pointers. db_og_argv_ptrs turns it into
 * the char *[] that exec wants. */
struct db_og_argv {
	int argc;
	char arg[DB_OG_ARGV_MAX][DB_OG_ARG_MAX];
};

/* Names of enum values, for logs and the REST view; never NULL. */
const char *db_og_role_name(enum db_og_role role);
const char *db_og_db_state_name(enum db_og_db_state state);
const char *db_og_detail_name(enum db_og_detail detail);
const char *db_og_sender_state_name(enum db_og_sender_state state);
const char *db_og_sync_state_name(enum db_og_sync_state state);
const char *db_og_stop_mode_name(enum db_og_stop_mode mode);
const char *db_og_build_mode_name(enum db_og_build_mode mode);
const char *db_og_build_advice_name(enum db_og_build_advice advice);

/* Parses the (term, lsn) pair from its two column texts, as `select term, lsn from
 * pg_last_xlog_replay_location()` returns them (§2.11). Returns 0 or -EINVAL. */
int db_og_parse_term_lsn_fields(const char *term, const char *lsn, struct db_og_term_lsn *out,
				char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Parses the record text "(term,lsn)" of `select pg_last_xlog_replay_location()`, where the
 * Patroni fork had to strip the parentheses and split on the comma (§2.7). Returns 0 or
 * -EINVAL. */
int db_og_parse_term_lsn_record(const char *text, struct db_og_term_lsn *out, char *err,
				size_t err_cap) __attribute__((warn_unused_result));

/* Orders two (term, lsn) pairs: term first, then lsn (§2.8 agent rule, §2.11 step 3).
 * Returns <0, 0 or >0. */
int db_og_term_lsn_cmp(const struct db_og_term_lsn *a, const struct db_og_term_lsn *b);

/* Maps reported texts to enums. Unknown text maps to the UNKNOWN value (or DETAIL_OTHER):
 * the server may grow values, and the caller must still see something. */
enum db_og_role db_og_role_parse(const char *text);
enum db_og_db_state db_og_db_state_parse(const char *text);
enum db_og_detail db_og_detail_parse(const char *text);
enum db_og_sender_state db_og_sender_state_parse(const char *text);
enum db_og_sync_state db_og_sync_state_parse(const char *text);

/* Fills *out from the column texts of one pg_stat_get_stream_replications() row (§2.7, SQL 1).
 * Any text may be NULL (SQL NULL). Returns 0, or -EINVAL when local_role or db_state is missing
 * or a number is malformed. */
int db_og_ha_state_from_row(const char *local_role, const char *static_connections,
			    const char *db_state, const char *detail_information,
			    struct db_og_ha_state *out, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Sets one column of a walsender row by name, from SQL 2 or a "Senders info:" line. Unknown
 * names are ignored (0); malformed values give -EINVAL. */
int db_og_sender_set(struct db_og_sender *s, const char *name, const char *value, char *err,
		     size_t err_cap) __attribute__((warn_unused_result));

/* Sets one column of the walreceiver row by name; as db_og_sender_set. */
int db_og_receiver_set(struct db_og_receiver *r, const char *name, const char *value, char *err,
		       size_t err_cap) __attribute__((warn_unused_result));

/* Parses the whole output of `gs_ctl query -D dir 2>&1` (§2.7): the "HA state:",
 * "Senders info:" and "Receiver info:" blocks, the "No information" placeholder and the
 * gaussdb.state fallback. Log-prefix lines ("[2024-...] gs_ctl query ,datadir is ...") are
 * skipped. Returns 0, -EINVAL for malformed text (no HA state block, a bad value, more senders
 * than DB_OG_SENDERS_MAX) or -E2BIG past DB_OG_QUERY_TEXT_MAX. */
int db_og_parse_query(const char *text, size_t len, struct db_og_query *out, char *err,
		      size_t err_cap) __attribute__((warn_unused_result));

/* Reads the upstream of a walreceiver from its channel "localip:port<--host:haport" (§2.7) into
 * host (cap bytes) and the peer's client port, which is the HA port - 1 (§2.1, §2.6). Returns 0
 * or -EINVAL (no "<--", no port, or a port outside 2..65535), or -ENAMETOOLONG. */
int db_og_parse_channel_upstream(const char *channel, char *host, size_t cap, int *port)
	__attribute__((warn_unused_result));

/* Decides what a node's HA state calls for (§2.5, §2.7): only a Standby is ever told to
 * build. Never fails. */
enum db_og_build_advice db_og_build_advice(const struct db_og_ha_state *ha);

/* Renders the replconninfo entry for self -> peer with the convention every tool uses (§2.6):
 * localport = port + 1, localheartbeatport = port + 5, localservice = port + 4, and the same
 * for the remote side. Returns 0, -EINVAL for an empty or unsafe host or a port whose + 5 does
 * not fit, or -ENAMETOOLONG. */
int db_og_render_replconninfo_entry(const struct db_og_node *self, const struct db_og_node *peer,
				    char *out, size_t cap) __attribute__((warn_unused_result));

/* Renders replconninfo1..8 for member self_index of members[0..n): one entry per other member,
 * in member order (§2.6: "each node lists every other node"). Returns 0, -EINVAL for a bad
 * index, a duplicate of self or a bad member, or -E2BIG for more than 8 peers. */
int db_og_render_replconninfo(const struct db_og_node *members, int n, int self_index,
			      struct db_og_replconninfo *out, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Produces the three synchronous settings that must always be written explicitly (§2.9):
 * synchronous_standby_names, synchronous_commit and most_available_sync. Writes out[0..2].
 * Returns 0 or -EINVAL (num_sync out of range, unsafe name). */
int db_og_sync_settings(const struct db_og_sync_policy *policy, struct db_og_setting out[3],
			char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Tells whether a restart-only parameter's configured text differs from the value the server
 * runs with, as pg_settings reports it (setting in units of unit: "8kB", "kB", "MB", "ms", "s",
 * "min" or ""). Numbers with memory or time units are compared after conversion, booleans by
 * meaning, anything else as text ignoring case. openGauss's pg_settings has no pending_restart
 * column (its catalog predates PostgreSQL 9.5), so the driver derives pending restarts from
 * this. Never fails: unparseable text compares as text. */
bool db_og_setting_differs(const char *configured, const char *setting, const char *unit);

/* Builds `gs_guc set|reload -D dir -c "name = 'value'" ...` (§2.6 "gs_guc usage"). Values
 * holding a quote, a backslash or a control character are refused (-EINVAL): nothing we
 * generate needs them, and they could break out of the quoting. */
int db_og_guc_argv(struct db_og_argv *out, const char *gs_guc, const char *datadir, bool reload,
		   const struct db_og_setting *settings, int n, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* gs_ctl start -D dir -M mode -w -t secs [-o opts] [-l logfile] (§2.2). mode is "pending",
 * "primary", "standby" or "cascade_standby"; opts and logfile may be NULL. */
int db_og_ctl_start(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		    const char *mode, int timeout_s, const char *opts, const char *logfile)
	__attribute__((warn_unused_result));

/* gs_ctl restart -D dir -M mode -m fast|immediate -w -t secs (§2.12, §2.13 "demote self"). */
int db_og_ctl_restart(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		      const char *mode, enum db_og_stop_mode stop, int timeout_s, const char *opts,
		      const char *logfile) __attribute__((warn_unused_result));

/* gs_ctl stop -D dir -m fast|immediate -w -t secs (§2.3; no smart mode exists). */
int db_og_ctl_stop(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		   enum db_og_stop_mode stop, int timeout_s) __attribute__((warn_unused_result));

/* gs_ctl notify -M primary -T term -D dir -w -t secs, or notify -M standby (term 0 omits -T)
 * (§2.2, §2.4). A primary notify without a term (0) is refused: it would lose the fencing of
 * §2.8. */
int db_og_ctl_notify(struct db_og_argv *out, const char *gs_ctl, const char *datadir, bool primary,
		     uint32_t term, int timeout_s) __attribute__((warn_unused_result));

/* gs_ctl failover -D dir -T term -w -t secs (§2.4, §2.13). term must be >= 1. */
int db_og_ctl_failover(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		       uint32_t term, int timeout_s) __attribute__((warn_unused_result));

/* gs_ctl switchover -D dir -m fast -T term -w -t secs (§2.4, §2.13). term must be >= 1. */
int db_og_ctl_switchover(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
			 uint32_t term, int timeout_s) __attribute__((warn_unused_result));

/* gs_ctl build -D dir -b mode -M standby -r recv_timeout [-T term] (§2.5). term 0 omits -T. */
int db_og_ctl_build(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		    enum db_og_build_mode mode, uint32_t term, int recv_timeout_s)
	__attribute__((warn_unused_result));

/* gs_ctl query -D dir (§2.7). */
int db_og_ctl_query(struct db_og_argv *out, const char *gs_ctl, const char *datadir)
	__attribute__((warn_unused_result));

/* Points ptrs[0..argc) at the arguments of a and sets ptrs[argc] = NULL; ptrs must have room
 * for DB_OG_ARGV_MAX + 1 entries. The pointers live as long as *a. */
void db_og_argv_ptrs(const struct db_og_argv *a, const char *ptrs[DB_OG_ARGV_MAX + 1]);

/* pg_controldata [<dir>] (§2.7 "Added"): readable while the server is down; no term. */
struct db_og_control {
	char cluster_state[64]; /* "Database cluster state": "shut down", "in production", ... */
	char system_identifier[32]; /* "Database system identifier", decimal */
	uint64_t checkpoint_lsn;    /* "Latest checkpoint location" */
};

/* Parses pg_controldata's text (NUL-terminated). 0, or -EINVAL with a message when the system
 * identifier or the cluster state is missing or malformed. */
int db_og_parse_controldata(const char *text, struct db_og_control *out, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* gs_initdb's input rules (§2.1, initdb.cpp:2351-2383, 4369-4381, 5376-5485) ---------------- */

/* The node name gs_initdb --nodename takes: [a-z_][a-z0-9_#$]*, at most 64 characters. 0, or
 * -EINVAL with a message naming the rule. */
int db_og_check_node_name(const char *name, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* The initial user's password gs_initdb takes: 8-32 characters, letters, digits and
 * ~!@#$%^&*()-_=+\|[{}];:,<.>/? only, at least three of the four classes, neither the user name
 * nor its reverse (ignoring case). 0, or -EINVAL with a message (never the password). */
int db_og_check_password(const char *user, const char *password, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

#endif
