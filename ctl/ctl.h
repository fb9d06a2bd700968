/*
 * ctl.h - the pure half of gsctl: argument parsing, the cluster view and its renderings (table,
 * json, yaml, tsv, topology), the history table, the dynamic configuration as YAML, --set
 * edits, YAML to JSON, and a unified diff. Nothing here does I/O; tests/unit/test_ctl.c
 * drives it on golden inputs. The I/O half (etcd through dcs.h, REST through libcurl) lives in
 * ctl_io.c and gsctl*.c.
 */
#ifndef GSHA_CTL_H
#define GSHA_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dcs.h"
#include "name.h"

#define CTL_NAME_MAX 128	/* cluster name (scope) or user name; members: MEMBER_NAME_MAX */
#define CTL_PATH_MAX 1024	/* a file name given on the command line */
#define CTL_URL_MAX 256		/* a --dcs-url or REST base URL (DCS_URL_MAX) */
#define CTL_WORD_MAX 64		/* role, state, a timestamp given with --scheduled */
#define CTL_HOST_MAX 256	/* the host part of a conn_url */
#define CTL_MEMBERS_MAX 32	/* member names on one command line (DCS_MEMBERS_MAX) */
#define CTL_SETS_MAX 64		/* --set / --pg options on one command line */
#define CTL_SET_MAX 1024	/* one "path=value" */
#define CTL_DOC_MAX (1 << 20)	/* the largest YAML/JSON document gsctl builds (etcd's value cap) */
#define CTL_DIFF_LINES_MAX 2000 /* lines per side the diff compares (quadratic table) */

/* Exit codes, documented in gsctl --help and README.md. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,	  /* the action was refused or failed, or the user said no */
	CTL_EXIT_USAGE = 2,	  /* bad command line */
	CTL_EXIT_CONFIG = 3,	  /* the configuration file is missing or invalid */
	CTL_EXIT_DCS = 4,	  /* etcd unreachable or refused the request */
	CTL_EXIT_BAD_MEMBER = 5,  /* unknown member, a candidate that is not a healthy replica,
				    * no leader where one is needed */
	CTL_EXIT_AUTH = 6,	  /* a member's REST API refused the credentials (401/403) */
	CTL_EXIT_NO_TERMINAL = 7, /* a confirmation is needed, stdin is no terminal, no --force */
	CTL_EXIT_UNREACHABLE = 8, /* no member's REST API answered */
};

enum ctl_command {
	CTL_CMD_NONE,
	CTL_CMD_HELP,
	CTL_CMD_LIST,
	CTL_CMD_TOPOLOGY,
	CTL_CMD_SWITCHOVER,
	CTL_CMD_FAILOVER,
	CTL_CMD_REINIT,
	CTL_CMD_RESTART,
	CTL_CMD_RELOAD,
	CTL_CMD_PAUSE,
	CTL_CMD_RESUME,
	CTL_CMD_SHOW_CONFIG,
	CTL_CMD_EDIT_CONFIG,
	CTL_CMD_HISTORY,
	CTL_CMD_REMOVE,
	CTL_CMD_VERSION,
	CTL_CMD_DEMOTE_CLUSTER,	 /* Patroni 4.1: set standby_cluster */
	CTL_CMD_PROMOTE_CLUSTER, /* Patroni 4.1: remove standby_cluster */
	CTL_CMD_HAPROXY_CONFIG,	 /* print an HAProxy configuration for the cluster */
};

enum ctl_format {
	CTL_FORMAT_PRETTY,
	CTL_FORMAT_TSV,
	CTL_FORMAT_JSON,
	CTL_FORMAT_YAML,
};

/* Returns the command's word ("switchover"), or "" for none. */
const char *ctl_command_name(enum ctl_command c);

/* Returns the format's word ("pretty"). */
const char *ctl_format_name(enum ctl_format f);

/* The command line, parsed. Strings are "" when not given. */
struct ctl_args {
	enum ctl_command command;
	char config_file[CTL_PATH_MAX]; /* -c; else $GSCTL_CONFIG_FILE, $PATRONICTL_CONFIG_FILE */
	char dcs_url[CTL_URL_MAX];	/* -d etcd3://host:port overrides the file's etcd3 hosts */
	bool insecure;			/* -k: do not verify REST certificates */
	enum ctl_format format;		/* -f */
	bool watch;			/* -W or -w */
	bool extended;			/* -e: every optional column */
	int64_t watch_interval_ms;	/* -w SECONDS; 2 s with -W */
	char cluster[CTL_NAME_MAX];	/* first positional argument; "" = the config's scope */
	char members[CTL_MEMBERS_MAX][MEMBER_NAME_MAX]; /* the other positional arguments */
	int member_count;
	char leader[MEMBER_NAME_MAX];	 /* switchover --leader / --primary */
	char candidate[MEMBER_NAME_MAX]; /* switchover, failover --candidate */
	char scheduled[CTL_WORD_MAX];	 /* --scheduled, as ctl_parse_scheduled wrote it */
	char role[CTL_WORD_MAX];	 /* restart/reload -r: leader, primary, replica, any */
	char pg_version[CTL_WORD_MAX];	 /* restart --pg-version: only members running older */
	bool force, wait, pending, from_leader, quiet;
	int64_t timeout_ms; /* --timeout SECONDS for waits; 0 = the command's default */
	char sets[CTL_SETS_MAX][CTL_SET_MAX]; /* --set path=value; --pg n=v as
					       * postgresql.parameters.n=v */
	int set_count;
	char apply_file[CTL_PATH_MAX];	 /* --apply FILE or "-" */
	char replace_file[CTL_PATH_MAX]; /* --replace FILE or "-" */
	/* demote-cluster: the standby_cluster keys (each "" / 0 = not given) */
	char host[CTL_HOST_MAX];
	int port;
	char restore_command[CTL_PATH_MAX];
	char primary_slot_name[CTL_NAME_MAX];
	/* haproxy-config: the listeners (0 / "" = not given: 5000, 5001, all addresses) */
	int primary_port, replica_port;
	char bind[CTL_HOST_MAX];
};

/* Parses argv (argv[0] is the program). Global options come before the command, command options
 * anywhere after it. Fills *out and returns 0, or -EINVAL with a message in err that names the
 * bad argument. "--help" anywhere gives CTL_CMD_HELP. Environment defaults are not applied here:
 * the caller fills config_file from the environment when it is "". */
int ctl_parse_args(int argc, char **argv, struct ctl_args *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Copies a member name given on the command line (or typed at a prompt; what names it in
 * messages) into out. Returns 0, or -EINVAL with a message in err when it is empty, has a
 * control character or is longer than MEMBER_NAME_LEN bytes (the limit of name.h: no member
 * can have such a name). */
int ctl_member_arg(char out[static MEMBER_NAME_MAX], const char *s, const char *what, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/* Reads a time for a scheduled switchover or restart as patronictl does, strictly (timefmt.h):
 * "now" or "" give ""; an ISO 8601 time with a zone is written normalised
 * ("2026-12-07T10:00:00+01:00"); one without a zone is taken in the local time zone, as
 * patronictl does, and written with its offset. Returns 0, or -EINVAL with a message in err for
 * anything else (a wrong date, a missing time, trailing words). out holds cap bytes
 * (CTL_WORD_MAX suffice). */
int ctl_parse_scheduled(const char *s, char *out, size_t cap, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* One member as gsctl shows it. */
struct ctl_row {
	char name[MEMBER_NAME_MAX];
	char host[CTL_HOST_MAX]; /* from conn_url; "" when unknown */
	int port;		 /* 0 when unknown */
	char role[CTL_WORD_MAX]; /* "leader", "standby_leader", "sync_standby", "replica" */
	char state[CTL_WORD_MAX];
	bool has_timeline;
	int64_t timeline;
	bool has_lag; /* false on the leader row */
	bool lag_unknown;
	int64_t lag_bytes; /* cluster optime - member xlog_location, at least 0 */
	bool pending_restart;
	char tags[DCS_TAGS_MAX]; /* the tags object as JSON; "" for none */
	char replicatefrom[MEMBER_NAME_MAX];
	char api_url[DCS_URL_MAX];
	bool nofailover;
};

/* The cluster as gsctl shows it: rows sorted by name. */
struct ctl_view {
	char cluster[CTL_NAME_MAX];
	bool initialized;	      /* the initialize key exists */
	char sysid[DCS_WORD_MAX];     /* its value ("" while bootstrapping) */
	char leader[MEMBER_NAME_MAX]; /* "" without a leader */
	int count;
	struct ctl_row rows[DCS_MEMBERS_MAX];
	bool paused;
	bool has_scheduled_switchover;
	char scheduled_at[DCS_WORD_MAX];
	char scheduled_from[MEMBER_NAME_MAX];
	char scheduled_to[MEMBER_NAME_MAX];
};

/* The lag of a member behind the cluster's last known WAL position (status optime), in bytes:
 * cluster_lsn - member_lsn, and 0 when the member is ahead. */
int64_t ctl_lag_bytes(int64_t cluster_lsn, int64_t member_lsn);

/* Lag in MB as patronictl rounds it (half to even). */
int64_t ctl_lag_mb(int64_t lag_bytes);

/* Builds the view of c (read from etcd) named cluster. Pure; writes *out. */
void ctl_view_build(const struct dcs_cluster *c, const char *cluster, struct ctl_view *out);

/* Returns the row named name, or NULL. */
const struct ctl_row *ctl_view_row(const struct ctl_view *v, const char *name);

/* Renders the member list as patronictl's list (topology: replicas indented under their
 * upstream) in the given format, appended to out. extended forces the optional columns.
 * Returns 0 or a negative errno (-ENOBUFS, -ENOMEM). */
int ctl_render_list(const struct ctl_view *v, enum ctl_format f, bool topology, bool extended,
		    struct buf *out) __attribute__((warn_unused_result));

/* Renders the history key (a JSON list of [tl, lsn, reason, timestamp, leader], read by
 * dcs_history_parse) as patronictl's history table in the given format, a short row padded with
 * "" as patronictl does. Returns 0, -EINVAL when the key is not such a list, -E2BIG for more rows
 * than a table holds, or a buffer error. */
int ctl_render_history(const char *history_json, enum ctl_format f, struct buf *out)
	__attribute__((warn_unused_result));

/* Renders a JSON document as block YAML, keys sorted (PyYAML's safe_dump layout), strings quoted
 * when they would read back as something else. Returns 0, -EINVAL for bad JSON, or a buffer
 * error. */
int ctl_json_to_yaml(const char *json, struct buf *out) __attribute__((warn_unused_result));

/* Parses a YAML document (len bytes) into compact JSON appended to out. Plain scalars resolve
 * as PyYAML's safe_load does (null, booleans incl. on/off/yes/no, integers, floats); an empty
 * document is null. Returns 0 or -EINVAL with a message in err. */
int ctl_yaml_to_json(const char *yaml, size_t len, struct buf *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Applies "a.b.c=value" edits (value read as a YAML scalar; null deletes the key) to the JSON
 * object doc, appending the result (compact JSON, key order kept) to out. This is patronictl's
 * set_path_value, not a merge: a null below an absent parent creates nothing. Returns 0, or
 * -EINVAL or -ENOMEM with a message in err. */
int ctl_config_set(const char *doc, const char (*sets)[CTL_SET_MAX], int count, struct buf *out,
		   char *err, size_t errlen) __attribute__((warn_unused_result));

/* Merges the JSON object patch into the JSON object doc with json_merge.h's merge (Patroni's
 * patch_config, as edit-config --apply does: null deletes, objects merge, anything else replaces,
 * a new subtree keeps its nulls), compact JSON appended to out. Returns 0, or -EINVAL or -ENOMEM
 * with err set (out is then untouched). */
int ctl_config_merge(const char *doc, const char *patch, struct buf *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Appends a unified diff (difflib style, 3 lines of context) of text a to text b, labelled
 * with from/to, to out; nothing when they are equal. Returns 0, -E2BIG when a side has more than
 * CTL_DIFF_LINES_MAX lines, or a buffer error. */
int ctl_diff(const char *a, const char *b, const char *from, const char *to, struct buf *out)
	__attribute__((warn_unused_result));

/* Writes into base the REST API base URL for a member's api_url ("http://h:p/patroni" ->
 * "http://h:p"). Returns 0, or -EINVAL when api_url is empty or not http(s). */
int ctl_api_base(const char *api_url, char *base, size_t cap) __attribute__((warn_unused_result));

/* True when the row is a replica that may take over: not the leader, no nofailover tag, on the
 * leader's timeline (when both are known), running or streaming. When false, writes the reason (lower case) into why. */
bool ctl_row_can_take_over(const struct ctl_view *v, const struct ctl_row *r, char *why,
			   size_t cap);

/* HAProxy's check settings for a cluster (gsctl haproxy-config, docs/timing.md "HAProxy"). */
struct ctl_haproxy_timing {
	int64_t inter_ms;	  /* between checks of a server in a steady state */
	int64_t fastinter_ms;	  /* between checks while a server changes state */
	int64_t downinter_ms;	  /* between checks of a server marked down */
	int64_t check_timeout_ms; /* a check without an answer by then failed */
	int64_t connect_ms;	  /* timeout connect: also HAProxy's pause before retrying a
				   * refused connection while one server is up */
	int rise, fall;		  /* checks in a row to mark a server up, down */
	int64_t up_worst_ms;	  /* from the first 200 to the server taking traffic */
	int64_t down_worst_ms;	  /* from the first 503 to the server dropped */
	int64_t silent_worst_ms;  /* from no more answers to the server dropped */
};

/* Chooses the check timing from loop_wait (0 = absent: Patroni's 10 s): at least five checks
 * per loop_wait, never more often than every 100 ms nor less than every 200 ms; a server marked
 * down is checked twice as often and taken back at its first 200 (docs/timing.md, "HAProxy"). */
void ctl_haproxy_timing(int64_t loop_wait_ms, struct ctl_haproxy_timing *t);

/* What haproxy-config renders: the listeners and the dynamic configuration's loop_wait. */
struct ctl_haproxy_opts {
	char bind[CTL_HOST_MAX]; /* listen address; "" or "*" = all */
	int primary_port;	 /* writes: members answering 200 on /primary */
	int replica_port;	 /* reads: members answering 200 on /replica; 0 = no listener */
	int64_t loop_wait_ms;	 /* 0 when the config key has none */
};

/* Appends to out an HAProxy configuration for the members of v: each member's database
 * (conn_url) checked on its REST API (api_url host and port). A member that cannot be checked
 * (no api_url, no conn_url, a name or host HAProxy cannot read) is left out with a line in warn
 * (caller-owned, cap bytes, "" when all is well), as is a cluster without a leader. Returns 0,
 * -ENOENT when no member can be checked, -EINVAL for a bad bind address, or a buffer error. */
int ctl_render_haproxy(const struct ctl_view *v, const struct ctl_haproxy_opts *o, struct buf *out,
		       char *warn, size_t cap) __attribute__((warn_unused_result));

#endif
