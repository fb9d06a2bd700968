/*
 * rest.h - the REST API: Patroni's health checks, status document, monitoring and actions.
 *
 * Two halves (STYLE.md): a pure renderer, rest_handle(), that turns one request plus the last
 * published node snapshot into a status code and a body; and a thin libmicrohttpd server,
 * rest_server_*, that feeds it. The HA loop fills a struct rest_snapshot each cycle and hands
 * it to rest_publish(); health checks answer from that copy only and never wait on etcd or the
 * database. Primary checks fail closed on their own once lease_deadline_ms has passed, so a
 * stalled loop cannot keep a stale "200" alive.
 *
 * Actions (POST /switchover, PATCH /config, ...) are validated here and then handed to the
 * callbacks in struct rest_actions, which the HA loop implements; they may block for a bounded
 * time and run on their own threads, never on the threads that serve health checks.
 *
 * The wire contract is /work/shared/patroni-compat.md section 1 (Patroni 4.x formats).
 */
#ifndef GSHA_REST_H
#define GSHA_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "name.h"

/* Member names are held in MEMBER_NAME_MAX bytes (name.h): the one limit, checked where a name
 * enters (a REST body naming a longer one is refused with 400). */
/* Scopes: Patroni uses host-like names; 64 covers a DNS label. */
#define REST_SCOPE_MAX 64
/* PostgreSQL identifiers shown or received: user, slot and parameter names (NAMEDATALEN). */
#define REST_IDENT_MAX 64
/* URLs and host names (api_url, conn host). */
#define REST_URL_MAX 256
/* Timestamps rendered as text ("2026-11-21T05:32:51.863905+00:00" is 32 bytes). */
#define REST_TIMESTAMP_MAX 48
/* Short identifiers: versions, system identifiers, replication states. */
#define REST_SHORT_MAX 32
/* Tags per node (configured tags, including nofailover and friends). */
#define REST_TAGS_MAX 16
#define REST_TAG_KEY_MAX 64
#define REST_TAG_VALUE_MAX 128
/* Members shown by /cluster; Patroni clusters are a handful of nodes. */
#define REST_MEMBERS_MAX 16
/* Tags shown per member in /cluster (fewer than a node's own to keep snapshots small). */
#define REST_MEMBER_TAGS_MAX 8
/* Rows of /history kept; older rows are dropped by the loop (max_timelines_history). */
#define REST_HISTORY_MAX 32
#define REST_HISTORY_REASON_MAX 256
/* Walsenders listed under "replication" in the status document. */
#define REST_REPLICATION_MAX 16
/* Parameters listed in pending_restart_reason. */
#define REST_PENDING_MAX 16
#define REST_PARAM_VALUE_MAX 128
/* Entries of the failsafe key ({member: api_url}). */
#define REST_FAILSAFE_MAX REST_MEMBERS_MAX
/* The dynamic configuration document (the DCS "config" key), as JSON text. */
#define REST_CONFIG_MAX 32768
/* Replication slots in a POST /failsafe body. */
#define REST_SLOTS_MAX 32
/* Text answers of action callbacks ("Successfully switched over to ..."). */
#define REST_ACTION_TEXT_MAX 512
/* Allow-list entries (restapi.allowlist). */
#define REST_ALLOWLIST_MAX 32
/* Extra response headers (restapi.http_extra_headers). */
#define REST_EXTRA_HEADERS_MAX 8
#define REST_HEADER_NAME_MAX 64
#define REST_HEADER_VALUE_MAX 256
/* File paths of the TLS material. */
#define REST_PATH_MAX 4096
/* Credentials of restapi.authentication. */
#define REST_CREDENTIAL_MAX 128

/* Patroni's role vocabulary (internal role, or pg_is_in_recovery() when PG answers). */
enum rest_role {
	REST_ROLE_UNINITIALIZED,
	REST_ROLE_PRIMARY, /* rendered "primary", or "master" with legacy_master_role */
	REST_ROLE_REPLICA,
	REST_ROLE_STANDBY_LEADER,
	REST_ROLE_DEMOTED,
	REST_ROLE_PROMOTED,
};

/* Patroni's "state" vocabulary for the database. */
enum rest_db_state {
	REST_DB_UNKNOWN, /* believed running, status query failed */
	REST_DB_RUNNING,
	REST_DB_STARTING,
	REST_DB_STOPPED,
	REST_DB_STOPPING,
	REST_DB_RESTARTING,
	REST_DB_CRASHED,
	REST_DB_CREATING_REPLICA,
	REST_DB_INITIALIZING,	    /* "initializing new cluster" */
	REST_DB_CUSTOM_BOOTSTRAP,   /* "running custom bootstrap script" */
	REST_DB_BOOTSTRAP_STARTING, /* "starting after custom bootstrap" */
	REST_DB_START_FAILED,
	REST_DB_RESTART_FAILED,
	REST_DB_STOP_FAILED,
	REST_DB_INITDB_FAILED,
	REST_DB_CUSTOM_BOOTSTRAP_FAILED,
};

/* The replica's replication state (4.x field; NONE omits it, as on primaries). */
enum rest_replication_state {
	REST_REPLICATION_NONE,
	REST_REPLICATION_STREAMING,
	REST_REPLICATION_ARCHIVE_RECOVERY, /* "in archive recovery" */
};

/* synchronous_mode from the dynamic configuration. */
enum rest_sync_mode {
	REST_SYNC_OFF,
	REST_SYNC_ON,
	REST_SYNC_QUORUM,
};

/* How a tag value is rendered in JSON and compared by ?tag_k=v filters. */
enum rest_tag_type {
	REST_TAG_STRING,
	REST_TAG_BOOL,	 /* value is "true" or "false" */
	REST_TAG_NUMBER, /* value is a JSON number as text */
};

struct rest_tag {
	char key[REST_TAG_KEY_MAX];
	char value[REST_TAG_VALUE_MAX]; /* text form; see type */
	enum rest_tag_type type;
};

/* A walsender row of the primary ("replication" in /patroni). */
struct rest_walsender {
	char usename[REST_IDENT_MAX];
	char application_name[REST_IDENT_MAX];
	char client_addr[REST_SHORT_MAX * 2]; /* empty renders null (unix socket) */
	char state[REST_SHORT_MAX];
	char sync_state[REST_SHORT_MAX];
	int sync_priority;
	/* pg_stat_replication's positions, bytes: the replica's lag on this primary (/metrics) */
	uint64_t write_lsn_bytes;
	uint64_t flush_lsn_bytes;
	uint64_t replay_lsn_bytes;
};

/* One pending_restart_reason entry. */
struct rest_pending_param {
	char name[REST_IDENT_MAX];
	char old_value[REST_PARAM_VALUE_MAX];
	char new_value[REST_PARAM_VALUE_MAX];
};

/* A member as /cluster shows it, from its DCS member key. */
struct rest_member {
	char name[MEMBER_NAME_MAX];
	bool is_leader;				/* holds the leader key */
	bool is_sync_standby;			/* listed in /sync while synchronous_mode is on */
	char state[REST_SHORT_MAX];		/* member key "state" */
	char replication_state[REST_SHORT_MAX]; /* member key "replication_state", may be empty */
	char api_url[REST_URL_MAX];
	char host[REST_URL_MAX]; /* from conn_url; empty omits host and port */
	int port;		 /* 0 omits it */
	int64_t timeline;	 /* 0 omits it */
	bool has_lsn, has_receive_lsn, has_replay_lsn;
	uint64_t lsn_bytes;	    /* xlog_location of the member key */
	uint64_t receive_lsn_bytes; /* receive_lsn */
	uint64_t replay_lsn_bytes;  /* replay_lsn */
	bool pending_restart;
	int tag_count;
	struct rest_tag tags[REST_MEMBER_TAGS_MAX];
};

/* One row of the DCS history key: [timeline, lsn, reason, timestamp, new_leader]. */
struct rest_history_row {
	int64_t timeline;
	uint64_t lsn_bytes;
	char reason[REST_HISTORY_REASON_MAX];
	char timestamp[REST_TIMESTAMP_MAX]; /* empty: the row has 3 fields */
	char new_leader[MEMBER_NAME_MAX];   /* empty: the row has at most 4 fields */
};

/* One entry of the DCS failsafe key. */
struct rest_failsafe_entry {
	char name[MEMBER_NAME_MAX];
	char api_url[REST_URL_MAX];
};

/*
 * Everything the REST API shows about this node, filled by the HA loop once per cycle and
 * handed to rest_publish(). A plain value: no pointers, copyable. Monotonic stamps (*_mono_ms)
 * come from clock_mono_ms(); wall stamps (*_wall_ms, *_wall_us) from the Unix epoch.
 * Zeroed memory is a valid "nothing known yet" snapshot (uninitialized, unknown state).
 */
/* What the agent counts for /metrics (Prometheus counters and histograms: only ever growing,
 * from 0 at the agent's start). The agent increments them where each thing happens. */
struct rest_counters {
	uint64_t failovers;   /* promotions of this node that no planned switchover asked for */
	uint64_t switchovers; /* promotions of this node that completed a planned switchover */
	uint64_t fences;      /* database servers this node killed (db_fence) when a stop failed */
	uint64_t restarts; /* PostgreSQL started again in place: on request, or after it stopped */
	struct histogram loop;	      /* how long each HA cycle took */
	struct histogram dcs_latency; /* every request to etcd (dcs_get_stats) */
	uint64_t dcs_errors;	      /* ... that ended without a usable answer */
	uint64_t guardian_respawns;   /* guardians started again after one died */
	uint64_t watchdog_pings;      /* watchdog keepalives the guardians sent */
	uint64_t watchdog_skipped;    /* ... given up as too late for the lease */
	bool watchdog_active;	      /* a guardian holds an active watchdog */
};

/* The agent process, read by the server when /metrics is asked (rest_process_read). */
struct rest_process {
	double cpu_seconds;	   /* user + system CPU time */
	uint64_t resident_bytes;   /* RSS */
	uint64_t virtual_bytes;	   /* VSZ */
	int64_t open_fds;	   /* entries of /proc/self/fd */
	int64_t max_fds;	   /* RLIMIT_NOFILE's soft limit */
	double start_time_seconds; /* epoch seconds the process started */
	int64_t threads;	   /* threads of the process */
};

struct rest_snapshot {
	/* identity */
	char name[MEMBER_NAME_MAX];
	char scope[REST_SCOPE_MAX];
	char version[REST_SHORT_MAX]; /* Patroni-compatible version shown as patroni.version */

	/* the database */
	enum rest_role role;
	enum rest_db_state state;
	bool pg_reachable; /* the status query succeeded: the fields below are valid */
	int64_t postmaster_start_wall_us; /* pg_postmaster_start_time(), microseconds */
	int server_version;		  /* e.g. 150002 */
	int64_t timeline;
	uint64_t wal_location_bytes;	    /* primary: flush LSN ("xlog.location") */
	uint64_t received_lsn_bytes;	    /* replica: last received (falls back to replayed) */
	uint64_t replayed_lsn_bytes;	    /* replica: last replayed */
	int64_t replayed_timestamp_wall_us; /* replica: last replayed xact; 0 renders null */
	bool replay_paused;
	enum rest_replication_state replication_state;
	int walsender_count;
	struct rest_walsender walsenders[REST_REPLICATION_MAX];
	char system_identifier[REST_SHORT_MAX]; /* empty omits it */
	bool pending_restart;
	int pending_count;
	struct rest_pending_param pending[REST_PENDING_MAX];

	/* the node's configured tags, in configuration order (nofailover, noloadbalance, clonefrom,
	 * nosync, failover_priority and custom ones). Health checks derive noloadbalance from here. */
	int tag_count;
	struct rest_tag tags[REST_TAGS_MAX];

	/* leadership: primary checks need has_lock AND clock_mono_ms() < lease_deadline_ms */
	bool has_lock;		   /* this node owns the leader key */
	int64_t lease_deadline_ms; /* last moment the lease is provably held (monotonic) */
	bool standby_cluster;	   /* the cluster replicates from elsewhere (standby_leader) */

	/* the DCS view */
	int64_t dcs_last_seen_mono_ms; /* last successful read of the cluster; 0 = never */
	int64_t dcs_last_seen_wall_ms; /* same moment on the wall clock (dcs_last_seen) */
	int64_t ttl_ms;		       /* the view is missing when older than this */
	bool cluster_unlocked;	       /* no leader key in the last view */
	uint64_t cluster_optime_bytes; /* max(/status optime, WAL receiver latest end) for ?lag= */
	uint64_t maximum_lag_on_failover_bytes; /* /readiness default lag */
	bool paused;				/* maintenance mode */
	enum rest_sync_mode sync_mode;
	bool is_sync_standby;	    /* this node is listed in /sync (sync_mode on) */
	bool is_quorum_standby;	    /* this node is listed in /sync (sync_mode quorum) */
	bool failsafe_mode_enabled; /* failsafe_mode in the dynamic config */
	bool failsafe_active;	    /* failsafe currently keeps this primary running */
	bool watchdog_failed;

	/* the HA loop's own clock, for /liveness and metrics */
	int64_t next_cycle_due_ms; /* when the loop expects its next cycle (monotonic) */
	int64_t loop_duration_ms;  /* how long the last cycle took */
	uint64_t role_changes;	   /* role transitions since start */
	struct rest_counters counters;

	/* scheduled actions */
	bool has_scheduled_restart;
	char scheduled_restart_at[REST_TIMESTAMP_MAX]; /* ISO 8601 as stored */
	bool has_scheduled_switchover;
	char scheduled_switchover_at[REST_TIMESTAMP_MAX];
	char scheduled_switchover_from[MEMBER_NAME_MAX]; /* empty omits it */
	char scheduled_switchover_to[MEMBER_NAME_MAX];	 /* empty omits it */

	/* /cluster, /history, /config, /failsafe: the counts here, the arrays they count last */
	int member_count;
	int history_count;
	bool has_failsafe_key;
	int failsafe_count;

	/* The bulk, sized for the worst case (some 85 kB): rest_snapshot_clear() and
	 * rest_snapshot_copy() write it only as far as the counts (config_json: its string) go,
	 * so a snapshot costs the pages its contents use (issue 15). Nothing but these four
	 * fields may follow member_count's group: rest_snaps.c checks the layout. */
	struct rest_member members[REST_MEMBERS_MAX];
	struct rest_history_row history[REST_HISTORY_MAX];
	char config_json[REST_CONFIG_MAX]; /* the config key as stored; empty/invalid -> 502 */
	struct rest_failsafe_entry failsafe[REST_FAILSAFE_MAX];
};

/* Empties snap for the loop to fill: every field before the bulk arrays is zeroed, config_json
 * is "", and the arrays' slots are left as they are (the counts say none is in use). */
void rest_snapshot_clear(struct rest_snapshot *snap);

/* Copies src to dst field for field, each bulk array only up to its count and config_json up
 * to its NUL; the rest of dst's arrays is left unwritten. */
void rest_snapshot_copy(struct rest_snapshot *dst, const struct rest_snapshot *src);

/* restapi.server_tokens: what the Server header says. */
enum rest_server_tokens {
	REST_TOKENS_ORIGINAL,	  /* "gsha/<version>" (Patroni: its Python versions) */
	REST_TOKENS_MINIMAL,	  /* "Patroni/<snapshot version>" */
	REST_TOKENS_PRODUCT_ONLY, /* "Patroni" */
};

/* restapi.verify_client */
enum rest_verify_client {
	REST_VERIFY_NONE,
	REST_VERIFY_OPTIONAL, /* unsafe methods need a valid client certificate */
	REST_VERIFY_REQUIRED, /* every request needs one */
};

/* An allow-list entry: an address with a prefix length (a plain IP is a /32 or /128). */
struct rest_cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network byte order */
	int prefix_len;
};

struct rest_header {
	char name[REST_HEADER_NAME_MAX];
	char value[REST_HEADER_VALUE_MAX];
};

/* The restapi section, already validated by the config module. */
struct rest_options {
	/* the node's identity, for /metrics' labels before the loop's first snapshot */
	char scope[REST_SCOPE_MAX];
	char name[MEMBER_NAME_MAX];
	char listen_host[REST_URL_MAX];	    /* "" or "*" or "0.0.0.0": all IPv4 interfaces */
	int listen_port;		    /* default 8008 */
	char username[REST_CREDENTIAL_MAX]; /* empty: no Basic authentication */
	char password[REST_CREDENTIAL_MAX];
	char certfile[REST_PATH_MAX]; /* non-empty enables HTTPS */
	char keyfile[REST_PATH_MAX];
	char cafile[REST_PATH_MAX]; /* trust for client certificates */
	enum rest_verify_client verify_client;
	int allowlist_count;
	struct rest_cidr allowlist[REST_ALLOWLIST_MAX];
	bool allowlist_include_members; /* also admit members' api_url hosts (literal IPs) */
	int extra_header_count;
	struct rest_header extra_headers[REST_EXTRA_HEADERS_MAX]; /* http(s)_extra_headers */
	enum rest_server_tokens server_tokens;
	bool legacy_master_role; /* render the primary's role as "master" (Patroni 3.x) */
};

/* An answer from an action callback. */
struct rest_action_result {
	int status;			 /* HTTP status, e.g. 200, 202, 412, 503 */
	bool html_error;		 /* answer with the standard HTML error page for status */
	char text[REST_ACTION_TEXT_MAX]; /* plain-text body (text/html like Patroni) */
	char lsn[REST_SHORT_MAX]; /* POST /failsafe: the "lsn" response header; may be empty */
};

/* POST /switchover and /failover, validated. A failover that names a leader has already been
 * turned into a switchover (Patroni does the same). */
struct rest_switchover_request {
	bool failover;			 /* the action word: "failover" or "switchover" */
	char leader[MEMBER_NAME_MAX];	 /* empty: none given (failover); else a valid name */
	char candidate[MEMBER_NAME_MAX]; /* empty: any healthy member; else a valid name */
	bool scheduled;
	int64_t scheduled_at_wall_ms;	       /* valid when scheduled; in the future */
	char scheduled_at[REST_TIMESTAMP_MAX]; /* ISO 8601 with offset, for the failover key */
};

/* POST /restart, validated. Every filter is optional. */
struct rest_restart_request {
	bool scheduled;
	int64_t schedule_wall_ms;
	char schedule[REST_TIMESTAMP_MAX]; /* ISO 8601 with offset */
	enum rest_role role; /* valid when has_role: PRIMARY, REPLICA or STANDBY_LEADER */
	bool has_role;
	int postgres_version; /* 0: no filter; else restart only if running version is lower */
	int timeout_s;	      /* 0: primary_start_timeout */
	bool restart_pending; /* only if a restart is pending */
};

struct rest_reinit_request {
	bool force;
	bool from_leader;
};

/* POST /failsafe from the primary. */
struct rest_failsafe_request {
	char name[MEMBER_NAME_MAX];
	char conn_url[REST_URL_MAX];
	char api_url[REST_URL_MAX];
	int slot_count;
	char slot_names[REST_SLOTS_MAX][REST_IDENT_MAX];
	uint64_t slot_lsn_bytes[REST_SLOTS_MAX];
};

/*
 * Implemented by the HA loop. Each callback fills *out and returns 0, or returns a negative
 * errno, which answers 503 with an HTML error page. They run on an action thread, may block
 * for a bounded time (they talk to etcd and peers) and must be thread-safe against the loop.
 * A NULL callback answers 503 "<action> is not available".
 */
struct rest_actions {
	void *ctx;
	/* POST /switchover, /failover: 412 checks (leader name, candidate, sync standby, peer
	 * health), write the failover key, then 202 scheduled or poll for the outcome (200/503). */
	int (*switchover)(void *ctx, const struct rest_switchover_request *req,
			  struct rest_action_result *out);
	/* DELETE /switchover: 200 "scheduled switchover deleted", 404 "no switchover is
	 * scheduled", 409 on a failed compare-and-swap (html_error). */
	int (*switchover_cancel)(void *ctx, struct rest_action_result *out);
	/* POST /restart: immediate (200 "restarted successfully", 503 reasons) or scheduled (202
	 * "Restart scheduled", 409 "Another restart is already scheduled"). */
	int (*restart)(void *ctx, const struct rest_restart_request *req,
		       struct rest_action_result *out);
	/* DELETE /restart: 200 "scheduled restart deleted" or 404 "no restarts are scheduled". */
	int (*restart_cancel)(void *ctx, struct rest_action_result *out);
	/* POST /reinitialize: 200 "reinitialize started" or 503 with the reason. */
	int (*reinitialize)(void *ctx, const struct rest_reinit_request *req,
			    struct rest_action_result *out);
	/* POST /reload: the renderer answers 202 "reload scheduled" once this returns 0. */
	int (*reload)(void *ctx);
	/* POST /failsafe (only when failsafe_mode_enabled): 200 "Accepted" with out->lsn, or 500
	 * "Running as a leader". */
	int (*failsafe)(void *ctx, const struct rest_failsafe_request *req,
			struct rest_action_result *out);
	/* PATCH /config: read the config key, merge patch_json into it, compare-and-swap it
	 * back when changed. On success set out->status 200 and write the merged document (JSON)
	 * to merged_json; else status 503 (no config key), 409 (CAS failed) with html_error, or
	 * 400 when the merged document does not validate. The merge is Patroni's patch_config,
	 * written once in base's json_merge.h (the agent reaches it through the config module,
	 * which also validates the result). */
	int (*config_patch)(void *ctx, const char *patch_json, char *merged_json, size_t merged_cap,
			    struct rest_action_result *out);
	/* PUT /config: write config_json (compact) unless equal to the stored one: 200, or 502
	 * (html_error) when the write failed. The renderer echoes the request. */
	int (*config_put)(void *ctx, const char *config_json, struct rest_action_result *out);
};

/* Returns Patroni's word for a role ("primary", "replica", ...); primary_word replaces
 * "primary" (pass "master" for legacy output). */
const char *rest_role_name(enum rest_role role, const char *primary_word);
/* Returns Patroni's state text ("running", "creating replica", ...). */
const char *rest_db_state_name(enum rest_db_state state);
/* Parses a state text back; returns 0 or -EINVAL. */
int rest_db_state_parse(const char *s, enum rest_db_state *out) __attribute__((warn_unused_result));
/* Parses a role word ("master" is accepted for primary); returns 0 or -EINVAL. */
int rest_role_parse(const char *s, enum rest_role *out) __attribute__((warn_unused_result));

/* Parses one allow-list entry ("10.0.0.0/8", "192.168.1.5", "::1", "fd00::/8") into *out.
 * Host names are not resolved here (rest_allowlist_add resolves them). Returns 0 or -EINVAL. */
int rest_cidr_parse(const char *s, struct rest_cidr *out) __attribute__((warn_unused_result));

/* True when the options let anyone who can reach the port change the cluster: the API listens
 * beyond loopback with no credentials, no allow-list and no client certificates (Patroni's
 * default; PATCH /config then POST /restart runs archive_command as postgres). The agent warns. */
bool rest_options_unprotected(const struct rest_options *opts);

/* Adds one restapi.allowlist entry to o: an address or CIDR, or a host name resolved now to
 * each of its addresses (Patroni resolves the list when it loads it; a later DNS change needs a
 * reload). Returns 0, -EINVAL (neither an address nor a name that resolves) or -E2BIG (more
 * than REST_ALLOWLIST_MAX addresses in all). May block on DNS: call at start or reload. */
int rest_allowlist_add(struct rest_options *o, const char *entry)
	__attribute__((warn_unused_result));

/* ---- the renderer ---- */

/* Largest request body accepted (PATCH /config carries the whole dynamic configuration). */
#define REST_BODY_MAX 65536
/* Largest response body (the /config document re-rendered, /cluster with every member). */
#define REST_RESPONSE_MAX (4 * REST_CONFIG_MAX)

/* One parsed HTTP request, as the server hands it to the renderer. Strings are NUL-terminated
 * and owned by the caller; NULL means absent. */
struct rest_request {
	const char *method;	    /* "GET", "HEAD", ... */
	const char *path;	    /* without the query string */
	const char *query;	    /* after '?', undecoded; NULL or "" when none */
	const char *authorization;  /* the Authorization header */
	const char *content_length; /* the Content-Length header as sent */
	const char *body;	    /* the request body (NUL-terminated) */
	size_t body_len;
	const char *client_ip;	/* numeric IPv4/IPv6 text of the peer */
	bool client_cert_valid; /* TLS: the peer presented a certificate the CA verifies */
	bool tls;
	int64_t now_mono_ms; /* clock_mono_ms() at arrival */
	int64_t now_wall_ms; /* clock_wall_ms() at arrival */
	/* allowlist_include_members: the addresses the members' api_url host names resolve to,
	 * as the server looked them up (literal addresses are matched from the snapshot) */
	const struct rest_cidr *member_addrs; /* may be NULL */
	int member_addr_count;
	/* GET /metrics: the process's own figures as the server read them; NULL omits them */
	const struct rest_process *process;
};

/* What the renderer decided. */
struct rest_response {
	int status;
	bool bare;	 /* HEAD/OPTIONS and /liveness, /readiness: status line only */
	bool html_error; /* body is the standard HTML error page (Connection: close, Content-Length) */
	bool www_authenticate;		 /* add WWW-Authenticate: Basic realm="Patroni" */
	const char *content_type;	 /* static string */
	char lsn_header[REST_SHORT_MAX]; /* non-empty: add "lsn: <value>" (POST /failsafe) */
	char *body; /* owned; free with rest_response_done; may be NULL when bare */
	size_t body_len;
};

/*
 * The instant (monotonic ms) until which every health answer about snap stays what it is at
 * now_ms: the status and body of GET/HEAD/OPTIONS health checks, /liveness and /readiness.
 * Without a new snapshot they change only when a deadline passes (the lease, the DCS view's
 * ttl, the HA loop's liveness threshold); this returns the first one after now_ms, or
 * INT64_MAX when none lies ahead. The server keeps a rendered answer until then.
 */
int64_t rest_health_stable_until(const struct rest_snapshot *snap, int64_t now_ms);

/* Which request kinds need an action thread (they call struct rest_actions callbacks and may
 * block). Health checks and monitoring never do. */
bool rest_request_is_action(const char *method, const char *path);

/* Whether method+path requires the body (so the server can answer 411/413 before reading it). */
bool rest_request_is_unsafe(const char *method, const char *path);

/*
 * Answers one request from snap (NULL: nothing published yet, answered like a node that knows
 * nothing: 503 on every health check). Calls at most one action callback. Writes *out; release
 * it with rest_response_done. Returns 0, or -ENOMEM when the answer could not be built (*out is
 * then untouched).
 */
int rest_handle(const struct rest_options *opts, const struct rest_actions *actions,
		const struct rest_request *req, const struct rest_snapshot *snap,
		struct rest_response *out) __attribute__((warn_unused_result));

/* Fills *out with Python http.server's HTML error page for status (Patroni's send_error), for
 * transport-level refusals such as 413. Returns 0 or -ENOMEM. */
int rest_response_error_page(struct rest_response *out, int status)
	__attribute__((warn_unused_result));

/*
 * The access check of an unsafe request (allow-list, client certificate, Basic auth, in that
 * order), so the server can refuse before reading a body. Sets *refused and fills *out (403 or
 * 401) when the request must be refused; *out is untouched otherwise. Safe requests always
 * pass. Returns 0 or -ENOMEM. rest_handle() runs the same check itself.
 */
int rest_check_access(const struct rest_options *opts, const struct rest_request *req,
		      const struct rest_snapshot *snap, struct rest_response *out, bool *refused)
	__attribute__((warn_unused_result));

/* Frees the body of a response; accepts a zeroed response. */
void rest_response_done(struct rest_response *resp);

/* Returns the standard reason phrase for an HTTP status ("OK", "Service Unavailable"). */
const char *rest_status_reason(int status);

/* Returns the Server header value for restapi.server_tokens: a static string, or buf (cap
 * bytes) filled with "Patroni/<snap->version>" for Minimal. */
const char *rest_server_header(const struct rest_options *opts, const struct rest_snapshot *snap,
			       char *buf, size_t cap);

/* ---- the server ---- */

struct rest_server;

/* Sets defaults: listen 0.0.0.0:8008, no auth, no TLS, server_tokens Original. */
void rest_options_init(struct rest_options *opts);

/* Reads this process's CPU time, memory, descriptors, threads and start time from /proc into
 * *out (for GET /metrics). Returns 0, or a negative errno when /proc could not be read (then
 * *out is untouched). */
int rest_process_read(struct rest_process *out) __attribute__((warn_unused_result));

/*
 * Starts serving on opts->listen_host:listen_port with its own threads. Both structs are
 * copied. Until rest_publish() is called every health check answers 503. Returns the server, or
 * NULL with a message in err (errlen bytes) saying what failed (bad address, port in use,
 * unreadable certificate, TLS not supported).
 */
struct rest_server *rest_server_new(const struct rest_options *opts,
				    const struct rest_actions *actions, char *err, size_t errlen);

/*
 * Publishes a new snapshot: copies *snap into a new immutable allocation and swaps it in; the
 * previous one is freed when its last reader is done. Cheap enough to call every cycle.
 * Returns 0 or -ENOMEM (the previous snapshot stays).
 */
int rest_publish(struct rest_server *server, const struct rest_snapshot *snap)
	__attribute__((warn_unused_result));

/* Returns the TCP port actually bound (useful with listen_port 0 in tests). */
int rest_server_port(const struct rest_server *server);

/* Stops accepting, waits for running actions to return, stops the threads and frees
 * everything. Accepts NULL. */
void rest_server_free(struct rest_server *server);

/* Makes the REST server able to serve HTTPS: in a build linking the minimal libraries, loads
 * libmicrohttpd's HTTPS build (with GnuTLS) by dlopen, once (docs/architecture.md, "Footprint");
 * elsewhere does nothing. Call it at start-up, before the first rest_server_new(), when
 * restapi.certfile is set: servers and responses of one build never meet the other's, so the
 * choice holds for the process's life. Returns 0, or -ENOENT with the reason in err. */
int rest_mhd_use_tls(char *err, size_t err_cap) __attribute__((warn_unused_result));

/* True when the REST server can serve HTTPS. */
bool rest_mhd_has_tls(void);

#endif
