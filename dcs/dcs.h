/*
 * dcs.h - the etcd v3 client: the agent's only source of truth about who leads.
 *
 * Talks to etcd 3.4+ through its JSON gateway under /v3/ and keeps Patroni's key layout under
 * /<namespace>/<scope>/ (patroni-compat.md section 2), so patronictl can read a gsha cluster.
 *
 * Every call is bounded by retry_timeout across all endpoints and comes back classified:
 * DCS_ERR_TRANSIENT and DCS_ERR_INVALID_RESPONSE mean "I cannot see right now"
 * (dcs_error_is_transient); DCS_ERR_CONFLICT, DCS_ERR_LEASE_NOT_FOUND, DCS_ERR_PERMISSION and
 * DCS_ERR_AUTH are definite answers.
 *
 * Threads: the HA loop makes the calls; dcs_wait_for_change may be called from one other thread,
 * and dcs_lease_keepalive_side from the lease thread's workers. Requests are serialized
 * internally. The watch runs in a thread owned by the client.
 * Nothing in this header exposes libcurl or cJSON.
 */
#ifndef GSHA_DCS_H
#define GSHA_DCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "name.h"

/* Sizes. Values from etcd that do not fit are reported (the *_oversized flags), never cut. */
#define DCS_ENDPOINTS_MAX 16 /* etcd3.hosts entries */
#define DCS_URL_MAX 256	     /* an endpoint, api_url or conn_url */
#define DCS_NAME_MAX 128     /* scope, namespace, user name (member names: MEMBER_NAME_MAX) */
#define DCS_SECRET_MAX 256   /* password, auth token */
#define DCS_PATH_MAX 512     /* TLS file paths */
#define DCS_KEY_MAX 512	     /* a full etcd key */
#define DCS_MEMBERS_MAX 32   /* members kept in one cluster view */
#define DCS_DOC_MAX 4096     /* the small documents: member, sync, status (limits below) */
#define DCS_TAGS_MAX 1024    /* a member's tags object as JSON */
#define DCS_WORD_MAX 64	     /* role, state, version, replication_state, timestamps */
#define DCS_MSG_MAX 512	     /* a good size for the caller's error message buffer */
/* The largest openGauss term (gs_ctl -T takes a uint32). */
#define DCS_TERM_MAX 4294967295LL
/*
 * Each key's value has its own limit, from what the document holds; a longer value is refused
 * on write and flagged (not cut) on read. Sizes in bytes, without the terminator.
 */
/* members/<name>: two URLs, five words, three LSNs, the tags (DCS_TAGS_MAX) and some flags. */
#define DCS_MEMBER_DOC_MAX DCS_DOC_MAX
/* leader: a bare member name. */
#define DCS_LEADER_VALUE_MAX MEMBER_NAME_LEN
/* sync: the leader and up to DCS_MEMBERS_MAX comma-joined names of MEMBER_NAME_LEN bytes. */
#define DCS_SYNC_DOC_MAX DCS_DOC_MAX
/* failover: two member names and an ISO 8601 timestamp; the rest is room for Patroni's
 * additions. */
#define DCS_FAILOVER_DOC_MAX 1024
/* status: the optime, and Patroni 4's slot positions and retained member slots: at most
 * DCS_STATUS_SLOTS_MAX of each, a name of 63 bytes and an LSN of 20 digits apiece. */
#define DCS_STATUS_SLOTS_MAX 32
#define DCS_STATUS_DOC_MAX (2 * DCS_DOC_MAX)
/* history: a row is about 120 bytes, so some 540 timeline switches (older rows are dropped on
 * append past this; Patroni keeps them all unless max_timelines_history says otherwise). */
#define DCS_HISTORY_MAX 65536
/* failsafe: {name: api_url} for DCS_FAILSAFE_MEMBERS_MAX members. */
#define DCS_FAILSAFE_MEMBERS_MAX (DCS_MEMBERS_MAX + 1) /* the view's members, and this one */
#define DCS_FAILSAFE_DOC_MAX (DCS_FAILSAFE_MEMBERS_MAX * (MEMBER_NAME_MAX + DCS_URL_MAX + 8))
/* initialize: a 64-bit system identifier in decimal ("" while bootstrapping). */
#define DCS_INITIALIZE_MAX (DCS_WORD_MAX - 1)
/* config: the dynamic configuration (postgresql parameters add up). Parsed by config/. */
#define DCS_CONFIG_MAX 16384
/* term (openGauss): decimal 1..DCS_TERM_MAX, with its terminator. */
#define DCS_TERM_TEXT_MAX 16
/* Tags in a member document: the configuration's built-in tags and its custom ones. */
#define DCS_TAGS_COUNT_MAX 24
#define DCS_TAG_NAME_MAX 64   /* a tag name, with its terminator (the configuration's key size) */
#define DCS_TAG_VALUE_MAX 512 /* a tag value, with its terminator (the configuration's) */
/* A history row's reason ("no recovery target specified"), with its terminator. */
#define DCS_REASON_MAX 128
/* The largest value this client writes (etcd's own limit is 1.5 MiB). */
#define DCS_VALUE_MAX (1 << 20)
#define DCS_RESPONSE_MAX (8 << 20) /* the largest etcd reply accepted, in bytes */

/* Result codes: 0 or one of these negative values. */
enum dcs_error {
	DCS_OK = 0,
	DCS_ERR_TRANSIENT = -1, /* timeout, refused, 5xx, leader change, no quorum: retry */
	DCS_ERR_CONFLICT = -2,	/* a compare failed: the key is held or changed by someone else */
	DCS_ERR_LEASE_NOT_FOUND = -3,  /* the lease expired or was revoked */
	DCS_ERR_PERMISSION = -4,       /* etcd denied the operation to this user */
	DCS_ERR_AUTH = -5,	       /* authentication failed (wrong user or password, no user) */
	DCS_ERR_INVALID_RESPONSE = -6, /* malformed, truncated, oversized or mistyped reply */
	DCS_ERR_COMPACTED = -7,	       /* the requested revision was compacted away */
	DCS_ERR_REQUEST = -8,	       /* etcd rejected the request (a 4xx not listed above) */
	/* The caller passed something unusable (too long, bad JSON): nothing was sent. */
	DCS_ERR_INVALID_ARGUMENT = -9,
	DCS_ERR_NO_MEMORY = -10,
};

/* Returns a short lower-case description of a dcs_error ("compare failed", ...). */
const char *dcs_strerror(int rc);

/* Returns the enum's name ("DCS_ERR_CONFLICT") for logs. */
const char *dcs_error_name(int rc);

/* True for results that say "I cannot see right now" rather than "the answer is no":
 * DCS_ERR_TRANSIENT, DCS_ERR_INVALID_RESPONSE, DCS_ERR_COMPACTED. */
bool dcs_error_is_transient(int rc);

/* Connection settings; the config module fills them from the etcd3 section and the top level. */
struct dcs_options {
	char endpoints[DCS_ENDPOINTS_MAX][DCS_URL_MAX]; /* "host:port" or "http(s)://host:port" */
	int endpoint_count;				/* at least 1 */
	char protocol[8];	       /* "http" (default when empty) or "https" for bare hosts */
	char username[DCS_NAME_MAX];   /* empty: no authentication */
	char password[DCS_SECRET_MAX]; /* with username */
	char cacert[DCS_PATH_MAX];     /* CA bundle to verify etcd; empty: system default */
	char cert[DCS_PATH_MAX];       /* client certificate (PEM); empty: none */
	char key[DCS_PATH_MAX];	       /* client key (PEM); empty: in cert or none */
	char namespace[DCS_NAME_MAX];  /* Patroni "namespace"; empty means "/service" */
	char scope[DCS_NAME_MAX];      /* cluster name; required */
	char name[MEMBER_NAME_MAX];    /* this member's name; required for member/leader calls */
	int64_t ttl_ms;		  /* lease TTL, milliseconds (whole seconds on the wire, min 2 s) */
	int64_t retry_timeout_ms; /* the most any one call may block, across all endpoints */
	bool legacy_master_role;  /* dcs_member_doc_build writes "master" instead of "primary" */
};

/* Which keys changed, for dcs_wait_for_change and dcs_key_kind. */
enum dcs_change {
	DCS_CHANGE_LEADER = 1u << 0,
	DCS_CHANGE_CONFIG = 1u << 1,
	DCS_CHANGE_FAILOVER = 1u << 2,
	DCS_CHANGE_SYNC = 1u << 3,
	DCS_CHANGE_MEMBERS = 1u << 4,
	DCS_CHANGE_STATUS = 1u << 5, /* status or legacy optime/leader */
	DCS_CHANGE_HISTORY = 1u << 6,
	DCS_CHANGE_INITIALIZE = 1u << 7,
	DCS_CHANGE_FAILSAFE = 1u << 8,
	DCS_CHANGE_OTHER = 1u << 9, /* any other key under the prefix */
	/* The watch was rebuilt (compaction, a stall, a lost endpoint): re-read everything. */
	DCS_CHANGE_RESYNC = 1u << 10,
	DCS_CHANGE_TERM = 1u << 11, /* the openGauss cluster term (not a Patroni key) */
};

/* A member's tags, in the order written. Each kind is written as its JSON type: a tag value is
 * data, never JSON text (a quote in a value stays a quote). */
enum dcs_tag_kind {
	DCS_TAG_STRING, /* the value as a JSON string */
	DCS_TAG_NUMBER, /* a number; text that is not a JSON number is written as a string */
	DCS_TAG_BOOL,	/* true/false (also yes/no/on/off/1/0); anything else as a string */
	DCS_TAG_NULL,	/* null; the value is ignored */
};

struct dcs_tag {
	char name[DCS_TAG_NAME_MAX];
	enum dcs_tag_kind kind;
	char value[DCS_TAG_VALUE_MAX];
};

struct dcs_tags {
	int count;
	struct dcs_tag items[DCS_TAGS_COUNT_MAX];
};

/* Appends a tag. Returns 0, or DCS_ERR_INVALID_ARGUMENT when the list is full or the name
 * (empty or over DCS_TAG_NAME_MAX - 1 bytes) or value does not fit: nothing is cut. */
int dcs_tags_add(struct dcs_tags *t, const char *name, enum dcs_tag_kind kind, const char *value)
	__attribute__((warn_unused_result));

/* One members/<name> key. Fields absent from the document are zero / empty / false. */
struct dcs_member {
	char name[MEMBER_NAME_MAX];
	char doc[DCS_MEMBER_DOC_MAX + 1]; /* the value as stored; empty when doc_oversized */
	bool doc_oversized; /* the value exceeded DCS_MEMBER_DOC_MAX (nothing parsed from it) */
	bool doc_valid;	    /* the value was one JSON object (or Patroni's legacy URL form) */
	char role[DCS_WORD_MAX];    /* as written; "master" from Patroni 3.x */
	bool is_primary;	    /* role is "primary" or "master" */
	char state[DCS_WORD_MAX];   /* "running", "stopped", ... */
	char api_url[DCS_URL_MAX];  /* REST /patroni URL peers query during elections; only
				     * http:// or https://, else empty and api_url_refused */
	bool api_url_refused;	    /* the document's api_url had another scheme or no host */
	char conn_url[DCS_URL_MAX]; /* postgres://host:port/postgres */
	char version[DCS_WORD_MAX]; /* Patroni (or gsha) version string */
	char replication_state[DCS_WORD_MAX];
	bool has_xlog_location;
	int64_t xlog_location_lsn; /* bytes; primary: current WAL, replica: max(receive, replay) */
	bool has_replay_lsn;
	int64_t replay_lsn; /* bytes */
	bool has_receive_lsn;
	int64_t receive_lsn;	 /* bytes */
	int64_t timeline;	 /* 0 when absent */
	char tags[DCS_TAGS_MAX]; /* the tags object as JSON, "" when absent or too large */
	bool nofailover;	 /* tags.nofailover */
	bool noloadbalance;	 /* tags.noloadbalance */
	bool nosync;		 /* tags.nosync */
	bool nostream;		 /* tags.nostream (Patroni 4) */
	char replicatefrom[MEMBER_NAME_MAX]; /* tags.replicatefrom, "" when absent or too long */
	bool has_failover_priority;
	int64_t failover_priority; /* tags.failover_priority */
	bool has_sync_priority;
	int64_t sync_priority; /* tags.sync_priority (Patroni 4) */
	bool pause;	       /* the member saw the cluster paused */
	bool pending_restart;
	bool has_checkpoint_after_promote;
	bool checkpoint_after_promote;
	int64_t create_revision;
	int64_t mod_revision;
	uint64_t lease; /* 0 when the key has no lease */
};

/* Patroni 4's status document beyond the optime: the positions of the slots on the leader
 * ("slots": {name: lsn}) and the member slots it retains ("retain_slots": [name]). Names are
 * slot names (db_slot_name of a member, or a permanent slot's). */
struct dcs_status_slot {
	char name[MEMBER_NAME_MAX];
	uint64_t lsn; /* bytes: restart_lsn, or confirmed_flush_lsn of a logical slot */
};
struct dcs_status_doc {
	uint64_t optime_lsn; /* bytes */
	int slot_count;	     /* -1 when the document has no "slots" object */
	struct dcs_status_slot slots[DCS_STATUS_SLOTS_MAX];
	int retain_count;
	char retain[DCS_STATUS_SLOTS_MAX][MEMBER_NAME_MAX];
};

/* One entry of the failsafe key. */
struct dcs_failsafe_member {
	char name[MEMBER_NAME_MAX];
	char api_url[DCS_URL_MAX];
};

/* The whole of /<namespace>/<scope>/ as read at one revision. A plain value: copy it freely
 * (it is about 200 KiB: keep it on the heap or in struct agent, not on a thread's stack). */
struct dcs_cluster {
	int64_t revision; /* etcd revision of the read */

	/* Values refused on read (a member name over MEMBER_NAME_LEN bytes, a value over its key's
	 * limit, trailing garbage): how many, and what was wrong with the first, for the log. The
	 * refused key reads as invalid, never as a cut or emptied value. */
	int rejected_count;
	char rejected[DCS_MSG_MAX];

	bool has_initialize;
	char initialize[DCS_INITIALIZE_MAX + 1]; /* system identifier, "" while bootstrap runs */
	int64_t initialize_mod_revision;

	bool has_leader;
	char leader[MEMBER_NAME_MAX]; /* the lock holder's member name */
	bool leader_oversized;	      /* longer than MEMBER_NAME_LEN: leader is "", see rejected */
	int64_t leader_create_revision;
	int64_t leader_mod_revision;
	uint64_t leader_lease;

	bool has_config;
	char config[DCS_CONFIG_MAX + 1]; /* dynamic configuration JSON as stored */
	bool config_oversized;
	bool config_valid; /* config was a JSON object; the fields below come from it */
	int64_t config_mod_revision;
	int64_t config_ttl_ms;		 /* 0 when absent */
	int64_t config_loop_wait_ms;	 /* 0 when absent */
	int64_t config_retry_timeout_ms; /* 0 when absent */
	bool has_config_maximum_lag_on_failover;
	int64_t config_maximum_lag_on_failover; /* bytes */
	bool config_pause;
	bool config_failsafe_mode;
	char config_synchronous_mode[DCS_WORD_MAX]; /* "off", "on" or "quorum" */
	bool config_synchronous_mode_strict;

	int member_count;
	int members_dropped;			    /* members beyond DCS_MEMBERS_MAX, not kept */
	struct dcs_member members[DCS_MEMBERS_MAX]; /* sorted by key, as etcd returns them */

	bool has_sync;
	bool sync_valid;
	char sync_leader[MEMBER_NAME_MAX];
	char sync_standby[DCS_SYNC_DOC_MAX + 1]; /* comma-joined names, "" for none (null) */
	int sync_standby_count;			 /* the same names, split */
	char sync_standbys[DCS_MEMBERS_MAX][MEMBER_NAME_MAX];
	bool has_sync_quorum;
	int64_t sync_quorum; /* 4.x only */
	int64_t sync_mod_revision;

	bool has_failover; /* the key exists; "{}" leaves the fields empty */
	bool failover_valid;
	char failover_leader[MEMBER_NAME_MAX];
	char failover_member[MEMBER_NAME_MAX];	  /* the candidate */
	char failover_scheduled_at[DCS_WORD_MAX]; /* as written */
	/* scheduled_at parsed strictly (time_parse_iso): false when absent or not an ISO 8601
	 * time with a zone (the key stays valid: refusing such a schedule is the agent's call). */
	bool failover_has_schedule;
	int64_t failover_scheduled_at_wall_ms;
	int64_t failover_mod_revision;

	bool has_status;
	bool has_optime;
	int64_t optime_lsn;		     /* status.optime, else legacy optime/leader */
	char status[DCS_STATUS_DOC_MAX + 1]; /* status JSON as stored (slots, retain_slots) */
	struct dcs_status_doc status_slots;  /* its slots and retain_slots, parsed */
	bool status_oversized;
	int64_t status_mod_revision;

	bool has_history;
	char history[DCS_HISTORY_MAX + 1]; /* JSON list as stored */
	bool history_oversized;
	int64_t history_mod_revision;

	bool has_failsafe;
	char failsafe[DCS_FAILSAFE_DOC_MAX + 1]; /* JSON {member: api_url} as stored */
	bool failsafe_oversized;
	bool failsafe_valid; /* an object of names (MEMBER_NAME_LEN) to URLs that fit, split below */
	int failsafe_count;
	struct dcs_failsafe_member failsafe_members[DCS_FAILSAFE_MEMBERS_MAX];
	int64_t failsafe_mod_revision;

	/* openGauss cluster term: decimal text 1..DCS_TERM_MAX (Patroni ignores the key). */
	bool has_term;
	bool term_valid; /* false: absent, or a value that is not such a number (term = 0) */
	int64_t term;
	int64_t term_mod_revision;
};

/* Returns the member named name in c, or NULL. */
const struct dcs_member *dcs_cluster_member(const struct dcs_cluster *c, const char *name);

/* Empties c: every field zero, no members. The member slots past member_count are not written
 * (each is cleared when a member is stored in it), so a view of a few members touches a few of
 * its DCS_MEMBERS_MAX slots, not all (some 200 kB resident per copy otherwise; issue 15); the
 * texts kept as stored (config, sync_standby, status, history, failsafe) are emptied by their
 * first byte only (88 kB more otherwise): read them as strings, never past the terminator. */
void dcs_cluster_clear(struct dcs_cluster *c);

/* Copies src into dst as dcs_cluster_clear does: every field, the members up to
 * src->member_count and the texts up to their terminators only. */
void dcs_cluster_copy(struct dcs_cluster *dst, const struct dcs_cluster *src);

struct dcs_client;

/* Creates a client. Nothing is sent yet; no thread is started. On error returns NULL and writes
 * a message into err (may be NULL). Release with dcs_client_free. */
struct dcs_client *dcs_client_new(const struct dcs_options *opts, char *err, size_t errlen);

/* Stops the watch thread (waiting for its request in flight: at most retry_timeout), closes
 * connections and frees the client. Accepts NULL. Does not revoke the lease (Patroni lets it
 * expire; call dcs_release_leader first when leaving as leader). */
void dcs_client_free(struct dcs_client *c);

/* What the client's requests to etcd took, for /metrics: every request (all attempts across the
 * endpoints until an answer or the deadline; the watch's long poll is not one), and how many
 * ended without a usable answer (no endpoint answered, or etcd refused the request). */
struct dcs_stats {
	struct histogram latency;
	uint64_t errors;
};

/* Copies the counts so far into *out. Thread-safe. */
void dcs_get_stats(struct dcs_client *c, struct dcs_stats *out);

/* The key prefix, "/service/<scope>/". */
const char *dcs_client_prefix(const struct dcs_client *c);

/* Checks that an endpoint answers as etcd 3.4 or later and, with a username, authenticates.
 * Writes the cluster version ("etcdcluster" of GET /version, e.g. "3.4.0") into version (may
 * be NULL). Returns 0 or a dcs_error; a wrong password gives DCS_ERR_AUTH with a message saying
 * so. Optional: every call authenticates by itself when it needs to. */
int dcs_connect(struct dcs_client *c, char *version, size_t version_cap, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Reads the whole prefix with one linearizable range into *out (written only on success),
 * remembers the revision for the watch, and notes whether this member's key is still as last
 * written (if not, the next dcs_touch_member rewrites it). Returns 0 or a dcs_error. */
int dcs_read_cluster(struct dcs_client *c, struct dcs_cluster *out, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* The agent's lease. dcs_lease_grant grants a new one of ttl (replacing the remembered id).
 * dcs_lease_keepalive renews it; when etcd no longer knows it, it returns
 * DCS_ERR_LEASE_NOT_FOUND and forgets it. dcs_lease_revoke revokes it (keys on it vanish). */
int dcs_lease_grant(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_lease_keepalive(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_lease_revoke(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Keepalives the lease thread may have in flight at once, each on a connection of its own. */
#define DCS_KEEPALIVE_CONNS 3

/* The lease thread's keepalive (src/agent/lease.c): renews lease (the id dcs_lease_id gave) on
 * the first of the client's DCS_KEEPALIVE_CONNS keepalive connections not in use, each under a
 * lock of its own, so it never waits behind the request path's calls (a cluster read, a write)
 * nor behind another keepalive that etcd has not answered yet. Bounded by deadline_ms and by ttl
 * from now, whichever comes first (deadline_ms <= 0: retry_timeout): no answer is worth waiting
 * for longer than the lease it renews. *cancel (may be NULL) set to true by another thread ends
 * the call early (within about a second: libcurl's progress callback). On success writes the TTL
 * etcd says is left (ms) into *ttl_ms (may be NULL). Returns 0, DCS_ERR_LEASE_NOT_FOUND (the
 * client then forgets the lease if it still holds that one, so the next call grants a new one),
 * DCS_ERR_TRANSIENT when every keepalive connection is busy, or another dcs_error. Safe from up
 * to DCS_KEEPALIVE_CONNS threads beside the HA loop. */
int dcs_lease_keepalive_side(struct dcs_client *c, uint64_t lease, int64_t deadline_ms,
			     const _Atomic bool *cancel, int64_t *ttl_ms, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Says that a lease thread keeps the lease alive (dcs_lease_keepalive_side): from then on
 * dcs_touch_member sends no keepalive of its own, so the request path never blocks on one. */
void dcs_lease_thread_keeps(struct dcs_client *c);

/* Adopts a lease this member already had: after an agent restart, the lease its leader key (or
 * member key) is still bound to, so a running primary keeps its key without a demotion. Sends a
 * keepalive on it; on success the client holds that lease (and, with leader_on_it, treats the
 * leader key as bound to it). Returns 0, DCS_ERR_LEASE_NOT_FOUND when it has expired (no lease
 * is then held), or another dcs_error (nothing changed). */
int dcs_lease_adopt(struct dcs_client *c, uint64_t lease, bool leader_on_it, char *msg,
		    size_t msglen) __attribute__((warn_unused_result));
/* The current lease id, 0 when none is held. */
uint64_t dcs_lease_id(const struct dcs_client *c);

/* Writes members/<name> = doc (JSON object, under DCS_DOC_MAX bytes) on the lease, granting one
 * if needed. First renews the lease when its last renewal is older than ttl/3, unless a lease
 * thread keeps it (dcs_lease_thread_keeps): without one, this is how a replica keeps its lease
 * alive (the leader's is renewed by dcs_renew_leader). The put is
 * skipped when doc and lease are unchanged since the last successful write and the last
 * dcs_read_cluster saw the key as written (Patroni does the same). A lost lease is re-granted
 * and the put retried once. doc (from dcs_member_doc_build) is checked as dcs_cas_config's
 * values are. Returns 0 or a dcs_error. */
int dcs_touch_member(struct dcs_client *c, const char *doc, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* A member document as dcs_member_doc_build writes it (dcs_doc_member). */
struct dcs_member_doc {
	char conn_url[DCS_URL_MAX]; /* postgres://host:port/postgres */
	char api_url[DCS_URL_MAX];  /* the REST /patroni URL */
	char state[DCS_WORD_MAX];   /* "running", "stopped", ... */
	char role[DCS_WORD_MAX];    /* "primary", "replica", ... */
	char version[DCS_WORD_MAX];
	bool has_xlog_location;
	uint64_t xlog_location_lsn; /* bytes */
	bool has_replay_lsn;
	uint64_t replay_lsn; /* bytes */
	bool has_receive_lsn;
	uint64_t receive_lsn;		      /* bytes */
	char replication_state[DCS_WORD_MAX]; /* "" leaves it out */
	int64_t timeline;		      /* 0 leaves it out */
	struct dcs_tags tags;		      /* none leaves "tags" out */
	bool pause;
	bool pending_restart;
	bool has_checkpoint_after_promote;
	bool checkpoint_after_promote;
};

/* Builds the member document for m with the client's role spelling (see dcs_doc_member). */
int dcs_member_doc_build(const struct dcs_client *c, const struct dcs_member_doc *m, char *out,
			 size_t cap, char *msg, size_t msglen) __attribute__((warn_unused_result));

/* Tries to take the leader key: refreshes the lease (granting one if needed), then
 * txn CREATE(leader)==0 -> put(leader, name, lease). Returns 0 when this member now holds the
 * lock, DCS_ERR_CONFLICT when someone else does, or another dcs_error. */
int dcs_take_leader(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Renews the lock: a lease keepalive (a new lease when etcd lost the old one). Only when the
 * lease differs from the one this client wrote the key with (re-granted, or never written by
 * this process: a restart while the key still names us) is the key rewritten, with txn
 * VALUE==name -> put, else CREATE==0 -> put (fact 9), and the member document with it.
 * Returns 0, DCS_ERR_CONFLICT when another member holds the key, or another dcs_error. Whether
 * the key still names this member is for the caller to read from the cluster view. */
int dcs_renew_leader(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Releases the lock: txn VALUE(leader)==name -> delete. Write the checkpoint into status first
 * (dcs_write_status). Returns 0, DCS_ERR_CONFLICT when the key was not ours, or a dcs_error. */
int dcs_release_leader(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Bootstrap race: txn CREATE(initialize)==0 -> put(initialize, value) (value "" while
 * bootstrapping). Returns 0 when this member won, DCS_ERR_CONFLICT when the key exists. */
int dcs_take_initialize(struct dcs_client *c, const char *value, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* After a failed bootstrap (Patroni's cancel_initialization): txn VALUE(initialize)=="" ->
 * delete, so another member may bootstrap; a key that already holds a system identifier is
 * left alone. Returns 0, DCS_ERR_CONFLICT when the key holds something else, or a dcs_error. */
int dcs_cancel_initialize(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Unconditional put of initialize (the system identifier after initdb). */
int dcs_write_initialize(struct dcs_client *c, const char *sysid, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Compare-and-swap conditions for dcs_cas_*: DCS_CAS_ANY writes unconditionally, DCS_CAS_ABSENT
 * only when the key does not exist, a positive value only when the key's mod_revision equals it. */
#define DCS_CAS_ANY (-1)
#define DCS_CAS_ABSENT 0

/* Writes config / sync / failover (JSON: build sync and failover with dcs_doc_sync and
 * dcs_doc_failover) under the condition above. Every value written is first checked to read
 * back unrefused (one JSON value within the key's limit, member names of at most
 * MEMBER_NAME_LEN bytes): DCS_ERR_INVALID_ARGUMENT with the reason, nothing sent. On success
 * writes the key's new mod_revision into *new_mod_revision (may be NULL). Returns 0,
 * DCS_ERR_CONFLICT when the condition did not hold, or a dcs_error. dcs_clear_failover writes "{}" as Patroni does;
 * dcs_delete_sync deletes the key (sync mode switched off). */
int dcs_cas_config(struct dcs_client *c, const char *json, int64_t mod_revision,
		   int64_t *new_mod_revision, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_cas_sync(struct dcs_client *c, const char *json, int64_t mod_revision,
		 int64_t *new_mod_revision, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_delete_sync(struct dcs_client *c, int64_t mod_revision, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
/* Writes the openGauss term key (decimal text; term in 1..DCS_TERM_MAX, else
 * DCS_ERR_INVALID_ARGUMENT) under the same conditions and with the same results as dcs_cas_sync. */
int dcs_cas_term(struct dcs_client *c, int64_t term, int64_t mod_revision,
		 int64_t *new_mod_revision, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_write_failover(struct dcs_client *c, const char *json, int64_t mod_revision,
		       int64_t *new_mod_revision, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_clear_failover(struct dcs_client *c, int64_t mod_revision, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Unconditional puts of status ({"optime":..,"slots":..,"retain_slots":..}), history (JSON list)
 * and failsafe ({member: api_url}), built with dcs_doc_status, dcs_doc_history_append and
 * dcs_doc_failsafe, and checked as dcs_cas_config's are before they are sent. */
int dcs_write_status(struct dcs_client *c, const char *json, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_write_history(struct dcs_client *c, const char *json, char *msg, size_t msglen)
	__attribute__((warn_unused_result));
int dcs_write_failsafe(struct dcs_client *c, const char *json, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Deletes every key under the prefix (gsctl remove). */
int dcs_delete_cluster(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Starts the watch thread: one prefix watch from the revision of the last dcs_read_cluster (or
 * the current one), rebuilt on errors, endpoint loss, compaction and silent stalls (a periodic
 * linearizable probe). Returns 0 or a dcs_error (thread creation). Idempotent. */
int dcs_watch_start(struct dcs_client *c, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Waits up to timeout_ms for a change under the prefix seen by the watch. Returns 1 and writes
 * the accumulated dcs_change bits into *changed (may be NULL) and clears them, or 0 on timeout.
 * Returns at once when changes are already pending. Without a running watch it just waits. */
int dcs_wait_for_change(struct dcs_client *c, int64_t timeout_ms, unsigned *changed);

/* A file descriptor that polls readable while changes are pending (a watch event, dcs_wake), for
 * a caller that waits on several sources at once (poll(2) for POLLIN); the caller then takes the
 * bits with dcs_take_changes, which makes it unreadable again. -1 when none could be made: the
 * caller waits on its deadline alone. Owned by the client: do not close or read it. */
int dcs_wake_fd(const struct dcs_client *c);

/* The pending dcs_change bits, cleared (0 when none). */
unsigned dcs_take_changes(struct dcs_client *c);

/* The watch-fed view: the keys of the prefix as the last read and every watch event since made
 * them, built as dcs_read_cluster builds a read (out->revision: the newest change in it, which
 * is not etcd's revision at the time). Writes *out and returns true only while the watch stream
 * follows on without a gap from the view's revision; false (nothing written) before the first
 * load, while the stream is being rebuilt, or when the prefix does not fit the view (then read
 * with dcs_read_cluster). It is at most as old as the watch's delivery: a decision that writes
 * a key depending on it reads linearizably first (docs/ha-loop-contract.md). Like
 * dcs_read_cluster, it notes whether this member's key is still as last written. */
bool dcs_cached_cluster(struct dcs_client *c, struct dcs_cluster *out);

/* Ends every call that starts while the cap is set no later than deadline_ms (monotonic), even
 * when retry_timeout would allow more; 0 removes the cap. The HA loop caps its calls at a
 * primary's fence deadline so a dead etcd cannot delay the fencing decision (docs/timing.md). */
void dcs_cap_calls(struct dcs_client *c, int64_t deadline_ms);

/* Wakes a dcs_wait_for_change waiter early with DCS_CHANGE_OTHER (e.g. from a REST request). */
void dcs_wake(struct dcs_client *c);

/* Classifies a key relative to the prefix ("leader" -> DCS_CHANGE_LEADER). */
unsigned dcs_key_kind(const char *suffix);

/*
 * Documents: typed values in, compact JSON text out, as Patroni writes them (patroni-compat.md
 * 2.1); built with cJSON, never printf. Each writes out (cap bytes) only on success and returns
 * 0, or DCS_ERR_INVALID_ARGUMENT with msg set when a member name is empty or over
 * MEMBER_NAME_LEN bytes, a timestamp is not ISO 8601 with a zone, or the text would exceed the
 * key's limit or cap. Pass the text to the matching dcs_write_* / dcs_cas_* call.
 */

/* members/<name>: conn_url, api_url, state, role ("master" for "primary" with
 * legacy_master_role, "primary" for "master" without), version, tags, the LSNs, replication_state,
 * timeline, pause, pending_restart, checkpoint_after_promote; empty fields are left out. */
int dcs_doc_member(const struct dcs_member_doc *m, bool legacy_master_role, char *out, size_t cap,
		   char *msg, size_t msglen) __attribute__((warn_unused_result));

/* sync: {"leader":..,"quorum":N,"sync_standby":"a,b"} (null when there are none). */
struct dcs_sync_doc {
	char leader[MEMBER_NAME_MAX];
	int64_t quorum; /* Patroni 4's field; 0 outside quorum mode */
	int standby_count;
	char standbys[DCS_MEMBERS_MAX][MEMBER_NAME_MAX]; /* joined in this order */
};
int dcs_doc_sync(const struct dcs_sync_doc *d, char *out, size_t cap, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* failover: {"leader":..,"member":..,"scheduled_at":..}; empty fields are left out, so an empty
 * document is Patroni's cleared "{}". */
struct dcs_failover_doc {
	char leader[MEMBER_NAME_MAX];	 /* the primary to move away from */
	char member[MEMBER_NAME_MAX];	 /* the candidate */
	char scheduled_at[DCS_WORD_MAX]; /* ISO 8601 with a zone */
};
int dcs_doc_failover(const struct dcs_failover_doc *d, char *out, size_t cap, char *msg,
		     size_t msglen) __attribute__((warn_unused_result));

/* status: {"optime":N} (N exact, in bytes). */
int dcs_doc_status(uint64_t optime_lsn, char *out, size_t cap, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* status in Patroni 4's form: {"optime":N,"slots":{name:N},"retain_slots":[name]}, "slots"
 * left out when slot_count <= 0 and "retain_slots" when retain_count is 0. */
int dcs_doc_status_slots(const struct dcs_status_doc *st, char *out, size_t cap, char *msg,
			 size_t msglen) __attribute__((warn_unused_result));

/* failsafe: {name: api_url, ...} for count entries, in order. */
int dcs_doc_failsafe(const struct dcs_failsafe_member *members, int count, char *out, size_t cap,
		     char *msg, size_t msglen) __attribute__((warn_unused_result));

/* history: the list history (the key as read; NULL when there is no key) with row appended as
 * [timeline, lsn, reason, timestamp, leader], keeping the newest max_rows rows (0: all; Patroni's
 * max_timelines_history) and dropping the oldest past DCS_HISTORY_MAX. A history that is present
 * but could not be read (over the limit, not a JSON list: pass "" for a key the view refused) is
 * never rewritten: DCS_ERR_INVALID_ARGUMENT with a message. */
struct dcs_history_row {
	int64_t timeline; /* the timeline the promotion ended */
	uint64_t lsn;	  /* where it ended, bytes */
	char reason[DCS_REASON_MAX];
	char timestamp[DCS_WORD_MAX]; /* ISO 8601 with a zone */
	char leader[MEMBER_NAME_MAX]; /* the new leader */
	int fields;		      /* read: how many of the five the row had (2..5) */
};
int dcs_doc_history_append(const char *history, const struct dcs_history_row *row, int max_rows,
			   char *out, size_t cap, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Reads the history key (NULL or "" is an empty history) into its rows, oldest first: the
 * newest cap rows are kept when there are more, *total says how many there were. A row has a
 * timeline and an LSN (whole numbers) and may have a reason, a timestamp and the new leader
 * (strings or null); anything else refuses the whole key (DCS_ERR_INVALID_RESPONSE, message in
 * msg), as does a value over DCS_HISTORY_MAX or with trailing garbage. */
int dcs_history_parse(const char *history, struct dcs_history_row *rows, int cap, int *count,
		      int *total, char *msg, size_t msglen) __attribute__((warn_unused_result));

#endif
