/*
 * ha_decide.h - the HA decision function: one pure step of observe -> decide -> act -> publish.
 *
 * The loop observes (cluster view from the DCS watch cache, a keepalive of its own lease, the
 * database status), fills a struct ha_input, calls ha_decide(), carries out the single action it
 * returns, and publishes. ha_decide() does no I/O, reads no clock, logs nothing and allocates
 * nothing: everything it knows is in the input, so every situation can be replayed in a test.
 *
 * One action per call. Plans that take several steps (sync replication, clearing the failover
 * key after a promotion) converge over consecutive cycles; the loop may start the next cycle at
 * once after an action that changed the DCS or the database.
 *
 * Two actions are observation requests, not changes: HA_ACT_PROBE_PEERS and HA_ACT_PING_FAILSAFE.
 * The loop performs the request, fills in->probe or in->failsafe, refreshes now_ms and calls
 * ha_decide() again in the same cycle. ha_decide() asks for each at most once per cycle because
 * it asks only while the corresponding `done` flag is false; the loop clears both flags at the
 * start of every cycle. So a cycle calls ha_decide() at most three times.
 *
 * What else the loop owes this function:
 *   - Keep its lease renewed (the agent's lease thread does, every ha_keepalive_interval_ms,
 *     while the loop shows progress); dcs.lease_renewed_ms is the send time of the last
 *     keepalive that succeeded. At start-up, adopt the lease that the leader
 *     key or members/<me> is still bound to (keepalive on that id) instead of granting a new
 *     one: then an agent restart within ttl keeps the key provable and causes no failover.
 *   - Run long actions (bootstrap, clone, rejoin, promote, demote, restarts) asynchronously and
 *     report them in self.busy, so renewals and fencing go on meanwhile.
 *   - Wake no later than out.wake_by_ms, and bound every DCS call, probe and ping by the time
 *     left until it.
 *   - After an action succeeds, change the role through ha_role_change() (ha_role.h).
 *
 * Fencing (docs/timing.md): a primary may accept writes only while it can prove that no other
 * node can hold the leader key, i.e. until
 *     fence_deadline = lease_renewed_ms + min(ttl, granted ttl) - (retry_timeout + ttl / 100)
 * where lease_renewed_ms is the *send* time of the last successful keepalive of the lease the
 * leader key is bound to. retry_timeout is the budget the loop has to stop accepting writes (an
 * immediate stop); ttl / 100 covers clock rate differences between this host and etcd. At or past
 * the deadline a primary demotes, whatever else is going on (even in TILT). The loop must call
 * ha_decide() again no later than out.wake_by_ms and bound every DCS call by the time left.
 */
#ifndef GSHA_HA_DECIDE_H
#define GSHA_HA_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "name.h" /* MEMBER_NAME_MAX: every member name below fits it */

/* System identifier as decimal text: a uint64 has at most 20 digits. */
#define HA_SYSID_MAX 32
/* Members, peers, sync standbys and replication connections per cluster. openGauss caps
 * replconninfo at 8 entries; Patroni clusters past a few dozen members are not an HA design. */
#define HA_MEMBERS_MAX 32
/* Reasons hold a fixed sentence plus at most two names and a few numbers. */
#define HA_REASON_MAX 384
/* A monotonic/wall clock disagreement larger than this between two calls is a clock jump or a
 * suspend: TILT. NTP slews far slower than this; an NTP step or a resumed VM does not. */
#define HA_CLOCK_JUMP_MS 1000
/* Longest POST /failsafe round (Patroni's timeout), within retry_timeout. */
#define HA_FAILSAFE_PING_MAX_MS 2000
/* Shortest POST /failsafe round: a TLS handshake on a loaded machine still fits. */
#define HA_FAILSAFE_PING_MIN_MS 100
/* Clock rate allowance in the fencing margin: ttl / HA_DRIFT_DIVISOR (1 %, twenty times the
 * 500 ppm an NTP-disciplined clock may be off). */
#define HA_DRIFT_DIVISOR 100

/* The highest openGauss term: a larger one PANICs the server on its next WAL write, and peers
 * read terms as signed 32-bit numbers (opengauss.md 2.8). */
#define HA_TERM_MAX 2147483647LL

enum ha_engine {
	HA_ENGINE_POSTGRES = 0,
	HA_ENGINE_OPENGAUSS, /* keeps a cluster term in the DCS, passed to gs_ctl -T */
};

/* The local database as the db module sees it. */
enum ha_db_state {
	HA_DB_NO_DATA = 0, /* data directory missing or empty */
	HA_DB_STOPPED,	   /* data present, not running, shut down cleanly */
	HA_DB_CRASHED,	   /* data present, not running, not shut down cleanly or start failed */
	HA_DB_STARTING,	   /* server process up, not yet accepting connections (crash recovery) */
	HA_DB_RUNNING,	   /* accepting connections; see ha_db.is_primary */
};

/* What the loop should do next; each action's comment says what the loop carries out. */
enum ha_action {
	/* Nothing to do: steady state or waiting; the reason says which. */
	HA_ACT_NONE = 0,
	/* The loop stalled or the clock jumped: no action for this cycle. */
	HA_ACT_TILT,
	/* Request: GET /patroni of every other member (timeout min(2 s, retry_timeout), in
	 * parallel), fill in->probe, call again. */
	HA_ACT_PROBE_PEERS,
	/* Request: POST /failsafe to every member in the failsafe key, set in->failsafe, call
	 * again. */
	HA_ACT_PING_FAILSAFE,
	/* txn CREATE(initialize)==0 put ""; if won: initdb, start as primary, put initialize=sysid
	 * and config, put the leader key with my lease (openGauss: term key = 1). Lost: nothing. */
	HA_ACT_BOOTSTRAP,
	/* Another node is bootstrapping, or I may not: wait. */
	HA_ACT_WAIT_FOR_BOOTSTRAP,
	/* New replica from member `target`: pg_basebackup, or gs_ctl build -b full. */
	HA_ACT_CLONE,
	/* Start the database read-only following `target` ("" = no upstream yet). */
	HA_ACT_START_REPLICA,
	/* Re-point the running replica at `target`: primary_conninfo and reload (or restart). */
	HA_ACT_FOLLOW,
	/* pg_rewind or gs_ctl build -b incremental against `target`, then start as its replica. */
	HA_ACT_REJOIN,
	/* txn CREATE(leader)==0 put(leader, my name, my lease); the next cycle sees who won. */
	HA_ACT_RACE,
	/* I hold the key with a provable lease: openGauss: CAS the term key from dcs.term to
	 * out.term first (failed CAS: do not promote); sync mode: set synchronous_standby_names from
	 * out.sync/out.sync_placeholder first; then promote (gs_ctl failover -T out.term). */
	HA_ACT_PROMOTE,
	/* The leader key names me but is bound to another lease: txn VALUE(leader)==me put(leader,
	 * me, my lease). */
	HA_ACT_REBIND_LEADER_KEY,
	/* Stop being primary as out.demote_mode says (out.target: the new leader if known). */
	HA_ACT_DEMOTE,
	/* I hold the key and my primary is down: start it again as primary (openGauss: -T
	 * out.term). Keep db.start_since_ms from the first attempt until it runs. */
	HA_ACT_RESTART_PRIMARY,
	/* Write status optime, then txn VALUE(leader)==me delete. */
	HA_ACT_RELEASE_LEADER,
	/* CAS (mod_revision) write {} into the failover key. */
	HA_ACT_CLEAR_FAILOVER,
	/* synchronous_standby_names := FIRST out.sync_num (out.sync), or the strict placeholder
	 * when out.sync_placeholder; reload. Empty and no placeholder: asynchronous. */
	HA_ACT_SET_SYNC_NAMES,
	/* CAS write sync = {"leader": me, "quorum": out.sync_quorum, "sync_standby": out.sync
	 * joined by commas, or null}. */
	HA_ACT_WRITE_SYNC_KEY,
	/* CAS delete the sync key: synchronous mode was switched off. */
	HA_ACT_DELETE_SYNC_KEY,
	/* Put initialize = db.sysid: adopting a running cluster whose DCS lacks it. */
	HA_ACT_WRITE_INITIALIZE,
	/* SIGTERM/SIGINT: stop the database if out.stop_db, then release the key if
	 * out.release_leader, publish state "stopped", exit. */
	HA_ACT_SHUTDOWN,
	/* Refuse to take part: the data directory belongs to another cluster. Log the reason as an
	 * error, leave the database alone, stop renewing and exit. */
	HA_ACT_HALT,
	HA_ACT_COUNT_,
};

/* How a primary steps down (patroni-compat.md 4.5). Every mode stops accepting writes within
 * retry_timeout_ms: the fencing margin counts on it. */
enum ha_demote_mode {
	HA_DEMOTE_NONE = 0,
	/* Switchover: fast stop with a checkpoint, release the key once a replica has the shutdown
	 * checkpoint (or after the stop), restart as a replica. */
	HA_DEMOTE_GRACEFUL,
	/* Not fit to be primary: immediate stop, release the key, restart as a replica. */
	HA_DEMOTE_IMMEDIATE,
	/* The key is not (provably) mine: immediate stop, leave the key alone, restart as a
	 * replica. */
	HA_DEMOTE_IMMEDIATE_NOLOCK,
	/* The DCS is unreachable: immediate stop, restart read-only with no upstream; the key is
	 * left to expire with the lease. */
	HA_DEMOTE_OFFLINE,
	/* standby_cluster was set on a primary cluster (demote-cluster): fast stop with its
	 * shutdown checkpoint, keep the key, restart as the standby leader following the remote
	 * primary. Added for issue 13. */
	HA_DEMOTE_CLUSTER,
	HA_DEMOTE_COUNT_,
};

/* A set of member names, in order. */
struct ha_names {
	int count;				    /* entries used, 0..HA_MEMBERS_MAX */
	char name[HA_MEMBERS_MAX][MEMBER_NAME_MAX]; /* each NUL-terminated, non-empty */
};

/* Effective tags (the config module applies Patroni's rules: failover_priority <= 0 without an
 * explicit nofailover means nofailover, and so on). */
struct ha_tags {
	bool nofailover;       /* never becomes primary automatically */
	bool noloadbalance;    /* REST only; ha_decide ignores it */
	bool nosync;	       /* never chosen as a synchronous standby */
	int sync_priority;     /* Patroni 4: higher is chosen first (default 1; 0 = nosync) */
	bool clonefrom;	       /* preferred source for new replicas */
	int failover_priority; /* higher wins a race between equally advanced nodes (default 1) */
	bool nostream;	       /* Patroni 4: no streaming at all, WAL from the archive only */
	char replicatefrom[MEMBER_NAME_MAX]; /* cascade: stream from this member ("" = leader) */
};

struct ha_policy {
	int64_t ttl_ms;				/* leader lease TTL */
	int64_t loop_wait_ms;			/* nominal cycle period */
	int64_t retry_timeout_ms;		/* bound on every DCS call and on a fencing stop */
	uint64_t maximum_lag_on_failover_bytes; /* race only within this of status.optime */
	int64_t primary_start_timeout_ms; /* crashed primary: restart this long, then fail over */
	bool synchronous_mode;		  /* only /sync members may race; maintain /sync */
	bool synchronous_mode_strict;	  /* no eligible standby -> block writes */
	bool synchronous_quorum;	  /* synchronous_mode "quorum": ANY n, quorum in /sync */
	int synchronous_node_count;	  /* standbys to keep synchronous (>= 1) */
	/* a standby further than this behind the most advanced one (or, alone, behind the
	 * primary) is not chosen as synchronous; 0 = no limit */
	uint64_t maximum_lag_on_syncnode_bytes;
	bool failsafe_mode;	 /* keep a primary without DCS if all members ack */
	bool check_timeline;	 /* race only with a timeline (term) not behind */
	bool paused;		 /* maintenance mode: no automatic action */
	bool use_pg_rewind;	 /* PostgreSQL: rejoin with pg_rewind (else stop) */
	bool reinit_on_diverged; /* PostgreSQL without pg_rewind: a diverged replica is
				  * cloned anew (remove_data_directory_on_diverged_timelines) */
	enum ha_engine engine;
	bool clone_without_leader; /* a replica method has no_leader: an empty node of an
				    * initialized cluster without a leader makes itself a replica
				    * from it (CLONE with target "": Patroni's "bootstrap (without
				    * leader)") instead of waiting */
	/* standby_cluster is set: the leader is a standby leader that follows the remote primary
	 * (out.remote) instead of promoting */
	bool standby_cluster;
};

/* This agent. */
struct ha_self {
	char name[MEMBER_NAME_MAX]; /* member name */
	struct ha_tags tags;
	bool shutdown_requested;	  /* SIGTERM or SIGINT received */
	enum ha_action busy;		  /* long action still running (async), or NONE */
	int64_t busy_since_ms;		  /* when it started (monotonic) */
	int64_t failsafe_primary_seen_ms; /* last POST /failsafe a primary sent me; 0 = never */
};

/* The failover key: {"leader", "member", "scheduled_at"}; "{}" or missing = not present. */
struct ha_failover {
	bool present;			 /* a non-empty failover key */
	char leader[MEMBER_NAME_MAX];	 /* switchover from this leader; "" = failover */
	char candidate[MEMBER_NAME_MAX]; /* "member": the requested new leader; "" = any */
	int64_t scheduled_at_wall_ms;	 /* wall clock; 0 = at once */
};

/* The sync key: {"leader", "quorum", "sync_standby"}. */
struct ha_sync_key {
	bool present;
	char leader[MEMBER_NAME_MAX];
	int quorum; /* Patroni 4: voters a leader race must hear from; 0 outside quorum mode */
	struct ha_names standbys;
};

/* A member as its DCS member key describes it. */
struct ha_member {
	char name[MEMBER_NAME_MAX];
	bool running;	 /* state "running" */
	bool is_primary; /* role "primary" or "master" */
	uint64_t lsn;	 /* xlog_location */
	/* replication_state "streaming", or none published (Patroni 3 publishes none): a running
	 * replica that may serve a cascade */
	bool streaming;
	struct ha_tags tags;
};

/* The cluster view, from the DCS watch cache. */
struct ha_dcs {
	bool reachable;		       /* this cycle: view current and my keepalive succeeded */
	bool initialize_present;       /* the initialize key exists */
	char initialize[HA_SYSID_MAX]; /* its value: "" while bootstrap runs, then the sysid */
	bool leader_present;	       /* the leader key exists */
	char leader[MEMBER_NAME_MAX];  /* its value: the holder's name */
	bool leader_lease_mine;	       /* the leader key is bound to the lease I keep alive */
	int64_t lease_renewed_ms; /* send time of my lease's last successful keepalive; 0 = never */
	int64_t lease_ttl_ms;	  /* TTL etcd granted my lease; 0 = use policy ttl */
	struct ha_failover failover;
	struct ha_sync_key sync;
	bool status_present;	  /* status key with an optime */
	uint64_t optime_lsn;	  /* status.optime: the last leader's WAL position */
	int64_t cluster_timeline; /* latest timeline from the history key; 0 = unknown */
	int64_t term;		  /* openGauss cluster term key; 0 = absent */
	bool failsafe_present;	  /* failsafe key with at least one name */
	struct ha_names failsafe; /* members listed in the failsafe key */
	int member_count;
	struct ha_member members[HA_MEMBERS_MAX]; /* every member key, me included */
};

/* A standby connected to the local primary (pg_stat_replication). */
struct ha_replication {
	char name[MEMBER_NAME_MAX]; /* application_name = member name */
	bool streaming;		    /* state "streaming" */
	bool sync;		    /* sync_state "sync" or "quorum": confirmed synchronous */
	uint64_t flush_lsn;	    /* flushed position */
};

/* The local database. */
struct ha_db {
	enum ha_db_state state;
	bool is_primary;	  /* running: not in recovery; down: pg_control says it was one */
	char sysid[HA_SYSID_MAX]; /* system identifier; "" unknown */
	int64_t timeline;	  /* current timeline */
	int64_t term;		  /* openGauss term (term_file / WAL); 0 unknown */
	uint64_t lsn;		  /* primary: flush position; replica: max(receive, replay) */
	char following[MEMBER_NAME_MAX]; /* member primary_conninfo points at; "" = none */
	bool has_upstream;		 /* primary_conninfo names an upstream, a member or not */
	bool following_remote; /* primary_conninfo names standby_cluster's host and port */
	bool rejoin_needed;    /* history diverged from the leader: rewind or build first */
	/* PostgreSQL replica: its upstream's timeline fork_timeline forked off at fork_lsn, before
	 * its replay position (db_status.fork_timeline): it cannot follow without a rejoin. 0: no */
	int64_t fork_timeline;
	uint64_t fork_lsn;
	uint64_t replay_lsn; /* where it replayed to, for the log */
	/* first attempt of the current start; 0 = none; kept across retries until the database
	 * runs */
	int64_t start_since_ms;
	struct ha_names sync_names; /* members in synchronous_standby_names now */
	bool sync_placeholder;	    /* synchronous_standby_names holds the strict placeholder */
	int sync_num;  /* its number of standbys to wait for (FIRST/ANY n); 0 = as many as listed */
	bool sync_any; /* it says ANY n (quorum commit), not FIRST n */
	int replication_count;
	struct ha_replication replication[HA_MEMBERS_MAX];
};

/* What another member said about itself (GET <api_url>, its /patroni document). */
struct ha_peer {
	char name[MEMBER_NAME_MAX];
	bool reachable;	 /* answered within the probe timeout */
	bool is_primary; /* reports it is not in recovery */
	uint64_t lsn;	 /* primary: xlog.location; replica: max(received, replayed) */
	int64_t term;	 /* openGauss term; 0 unknown */
	struct ha_tags tags;
};

struct ha_probe {
	bool done; /* probed during this cycle (the loop clears it at each cycle start) */
	int count;
	struct ha_peer peers[HA_MEMBERS_MAX];
};

/* POST /failsafe rounds, sent by a primary that lost the DCS (failsafe_mode). A member that acks
 * promises not to race for ttl, so an all-acked round proves what a keepalive proves. */
struct ha_failsafe_round {
	bool done; /* a round ran during this cycle (the loop clears it at each cycle start) */
	int64_t acked_ms; /* send time of the latest round every failsafe member acked; 0 = none */
};

struct ha_input {
	int64_t now_ms;	     /* monotonic, read after observing */
	int64_t now_wall_ms; /* wall clock at the same moment; 0 = unknown */
	/* now_ms of the previous call (or the end of the action it returned, if that ran
	 * synchronously); 0 = first call */
	int64_t last_call_ms;
	int64_t last_call_wall_ms; /* now_wall_ms of the previous call; 0 = unknown */
	struct ha_policy policy;
	struct ha_self self;
	struct ha_dcs dcs;
	struct ha_db db;
	struct ha_probe probe;
	struct ha_failsafe_round failsafe;
};

struct ha_output {
	enum ha_action action;
	char target[MEMBER_NAME_MAX]; /* member the action points at ("" = none) */
	/* START_REPLICA / FOLLOW: the upstream is standby_cluster's remote primary, not a member
	 * (target is ""). */
	bool remote;
	enum ha_demote_mode demote_mode; /* HA_ACT_DEMOTE */
	/* PROMOTE / RESTART_PRIMARY on openGauss: the -T value; for PROMOTE the DCS term must
	 * first move dcs.term -> term */
	int64_t term;
	struct ha_names sync; /* SET_SYNC_NAMES, WRITE_SYNC_KEY, PROMOTE in sync mode */
	int sync_num;	 /* SET_SYNC_NAMES/PROMOTE: standbys to wait for; 0 = as many as listed */
	bool sync_any;	 /* SET_SYNC_NAMES/PROMOTE: ANY sync_num (...), not FIRST */
	int sync_quorum; /* WRITE_SYNC_KEY: the key's quorum field */
	/* SET_SYNC_NAMES/PROMOTE: strict mode, nobody eligible: list the placeholder so writes
	 * block */
	bool sync_placeholder;
	/* PROMOTE in synchronous mode (not quorum): first write the sync key naming me as its
	 * leader with no standbys, compare-and-swap on the one observed, and promote only if that
	 * write succeeded (Patroni's write_sync_state before it promotes; docs/timing.md,
	 * "Synchronous node loss") */
	bool sync_key_first;
	bool stop_db;		    /* SHUTDOWN: stop the database */
	bool release_leader;	    /* SHUTDOWN: then release the leader key */
	bool leader;		    /* I hold the key and can prove my lease (REST "/" = 200) */
	bool tilt;		    /* this call saw a stall or clock jump */
	int64_t fence_deadline_ms;  /* leader: demote by this instant; 0 = not leader */
	int64_t wake_by_ms;	    /* call again no later than this; 0 = after loop_wait */
	char reason[HA_REASON_MAX]; /* one line, PostgreSQL message style, never empty */
};

/* Decides the next action from a complete observation. Pure: reads only *in, writes only *out
 * (entirely, every call). Never fails; out->reason always says why. */
void ha_decide(const struct ha_input *in, struct ha_output *out);

/* Name of an action for logs and tests ("race", "promote"); "?" for values out of range. */
const char *ha_action_name(enum ha_action action);

/* Parses an action name as ha_action_name prints it. Returns 0 or -EINVAL. */
int ha_action_from_name(const char *name, enum ha_action *action);

/* Name of a demotion mode ("graceful", "immediate-nolock", ...); "?" when out of range. */
const char *ha_demote_mode_name(enum ha_demote_mode mode);

/* Parses a demotion mode name. Returns 0 or -EINVAL. */
int ha_demote_mode_from_name(const char *name, enum ha_demote_mode *mode);

/* Name of a database state ("no-data", "running", ...); "?" when out of range. */
const char *ha_db_state_name(enum ha_db_state state);

/* Parses a database state name. Returns 0 or -EINVAL. */
int ha_db_state_from_name(const char *name, enum ha_db_state *state);

/* The fencing margin for a lease of ttl_ms: retry_timeout + ttl / HA_DRIFT_DIVISOR (rounded up). */
int64_t ha_fence_margin_ms(const struct ha_policy *policy, int64_t ttl_ms);

/* The instant by which a primary whose lease was last renewed (keepalive sent) at renewed_ms
 * must have stopped accepting writes. granted_ttl_ms 0 means the policy ttl. */
int64_t ha_fence_deadline_ms(const struct ha_policy *policy, int64_t renewed_ms,
			     int64_t granted_ttl_ms);

/* Timeout of one POST /failsafe round: Patroni's 2 s, within retry_timeout, and at most half of
 * what a leader's cycle has between its start (loop_wait after the last proof) and the fence
 * deadline, so that the round fits after etcd calls that time out. */
int64_t ha_failsafe_ping_timeout_ms(const struct ha_policy *policy);

/* The instant until which a primary that holds the leader key is proven the only writable one:
 * the fence deadline of its lease (renewed at lease_renewed_ms, granted lease_ttl_ms, 0 = the
 * policy ttl) or, in failsafe mode, the later of it and the fence deadline of the last failsafe
 * round every member acknowledged (sent at failsafe_acked_ms). Past it the primary must not
 * accept writes: the guardian fences there (docs/timing.md, "Guardian"). 0 when neither proof
 * exists. */
int64_t ha_leader_proof_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			   int64_t lease_ttl_ms, int64_t failsafe_acked_ms);

/* The instant by which a primary that holds the leader key must have decided again, so every
 * DCS call before that decision is bounded by it (docs/timing.md, "Come back in time"): the fence
 * deadline of its lease (renewed at lease_renewed_ms, granted lease_ttl_ms, 0 = the policy ttl)
 * or, in failsafe mode, the later of it and the fence deadline of the last failsafe round that
 * every member acknowledged (sent at failsafe_acked_ms), less one round's timeout, so that the
 * next round still goes out while the proof holds, also when etcd calls time out rather than
 * fail. 0 when neither proof exists (both times 0). */
int64_t ha_leader_deadline_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			      int64_t lease_ttl_ms, int64_t failsafe_acked_ms);

/* The cap on a leader's etcd calls at now_ms (dcs_cap_calls), 0 for none: the deadline above
 * while it is ahead; past it, in failsafe mode, while the proof itself still holds, now plus half
 * of what is left of the proof, so that a round of pings still fits after the call; else 0. */
int64_t ha_leader_call_cap_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			      int64_t lease_ttl_ms, int64_t failsafe_acked_ms, int64_t now_ms);

/* A cycle gap longer than this is a stall: 2 x (loop_wait + retry_timeout). */
int64_t ha_stall_limit_ms(const struct ha_policy *policy);

/*
 * The lease thread's schedule (src/agent/lease.c, docs/timing.md "The lease thread"). A renewal
 * proves the lease for the fence window W = ttl - fence margin, counted from its send time.
 * leading: the lease carries the leader key (or the guardian is armed): the thread renews every
 * I = min(loop_wait, W - retry slot - 2 x K), each attempt bounded by
 * K = min(retry_timeout, max(HA_KEEPALIVE_TIMEOUT_MIN_MS, (W - loop_wait - retry slot) / 2)),
 * so a failed attempt and its retry are both answered before the fence deadline. Otherwise it
 * only carries the member key: every min(ttl / 2, W - K_leader - retry slot) (a replica that
 * starts leading still has an attempt and a retry slot before its deadline), each attempt
 * bounded so that a failed one and its retry end before the lease expires. Never below
 * HA_KEEPALIVE_MIN_MS.
 */
#define HA_KEEPALIVE_MIN_MS 50
/* After a failed keepalive, the next one goes out this soon (the retry slot). */
#define HA_KEEPALIVE_RETRY_MS 50
/* The shortest bound of one keepalive attempt (unless retry_timeout is shorter): one small
 * request on a connection of its own, answered in milliseconds on a LAN. */
#define HA_KEEPALIVE_TIMEOUT_MIN_MS 100
int64_t ha_keepalive_interval_ms(const struct ha_policy *policy, bool leading);

/* How long one keepalive attempt may take (K above). */
int64_t ha_keepalive_timeout_ms(const struct ha_policy *policy, bool leading);

/* When the next keepalive is due: last_ok_sent_ms + interval after a success (0: never renewed:
 * now), or HA_KEEPALIVE_RETRY_MS after the end of a failed one (failed_end_ms, 0: none since the
 * last success). */
int64_t ha_keepalive_due_ms(const struct ha_policy *policy, bool leading, int64_t last_ok_sent_ms,
			    int64_t failed_end_ms);

/* How long the lease thread goes on renewing without a heartbeat of the HA loop: a loop that
 * has not stamped one for longer is hung, and its lease is left to lapse. max(2 x ttl, the stall
 * limit): a freeze of a whole ttl more than the lease itself would allow costs no failover,
 * while a hung loop holds the key for at most this plus the fence window (docs/timing.md). */
int64_t ha_heartbeat_bound_ms(const struct ha_policy *policy);

/* Checks that the timing settings leave a leader time to renew and to fence itself: Patroni's
 * rule ttl >= loop_wait + 2 x retry_timeout, and room in the fence window for the leader's
 * keepalive schedule above: W - retry slot - 2 x K >= HA_KEEPALIVE_MIN_MS (docs/timing.md).
 * Returns 0, or -EINVAL with a message in err (caller-owned, errlen bytes). */
int ha_policy_check(const struct ha_policy *policy, char *err, size_t errlen);

#endif
