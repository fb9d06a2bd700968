/*
 * agent_state.h - the HA loop's one shared state (struct agent) and what its phase files share;
 * internal to the agent library (the public face is agent.h).
 *
 * The loop is split by the phases of docs/ha-loop-contract.md, each file one job:
 *   observe.c       the lease, the cluster view, the dynamic configuration, the database status
 *   lease.c         the lease thread: keepalives on their own connection, the fence deadline
 *   input.c         the ha_decide() input built from them (and the peer probe and failsafe round
 *                   the decision may ask for)
 *   act.c           carrying out the decision's action: bootstrap, clone, promote, demote,
 *                   follow, tasks; the one place the role changes
 *   leader.c        what only the leader keeps: status, history, sync and failsafe keys, releasing
 *   slots.c         the members' replication slots (on the leader and on replicas)
 *   publish.c       the member key, the REST snapshot, the outcome line
 *   rest_actions.c  the REST action callbacks (act_*) and the loop's side of their requests
 *   view.c          questions about the cluster view every phase asks
 *   run.c           start-up, the cycle, the wait between cycles, signals
 *
 * The loop owns all state (STYLE.md). REST action threads only read the immutable config and
 * talk to etcd through the thread-safe dcs client; what they ask of the loop (restart, reinit,
 * reload) goes through the request flags under req_lock.
 */
#ifndef GSHA_AGENT_STATE_H
#define GSHA_AGENT_STATE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "callbacks.h"
#include "db.h"
#include "dcs.h"
#include "ha_decide.h"
#include "ha_retry.h"
#include "ha_role.h"
#include "rest.h"
#include "timeline_watch.h"

/* Patroni's placeholder in synchronous_standby_names when strict mode finds nobody eligible:
 * commits then wait rather than go unprotected (patroni-compat.md 4.8). */
/* What a reading of the config key skipped: a few "key": reason pairs, cut beyond that. */
#define DYN_BAD_MAX 1024
#define SYNC_PLACEHOLDER "__patroni_strict_sync_replica_placeholder__"

/* Set by the signal handlers (run.c), read by the phases. */
extern volatile sig_atomic_t agent_stop_requested;
extern volatile sig_atomic_t agent_reload_requested;

struct agent {
	const struct cfg *cfg; /* the configuration in effect: cfg_live, read by the loop only */
	struct cfg *cfg_live;  /* owned; reload.c replaces its reloadable sections */
	char name[MEMBER_NAME_MAX]; /* this member's name, for the REST threads (never reloaded) */
	int (*reload)(void *ctx, struct cfg **out); /* reads the configuration again; NULL: none */
	void *reload_ctx;
	/* reload.c: REST switchovers and restarts in flight (__atomic), which wait for the loop;
	 * a reloaded restapi section waits in rest_deferred until none is, since rebuilding the
	 * server waits for them. rest_inner: the REST actions those counters wrap. */
	int long_actions;
	struct cfg *rest_deferred;
	struct rest_actions rest_inner;
	struct cfg_dynamic dyn;	   /* effective dynamic configuration */
	int64_t dyn_mod_revision;  /* config key revision dyn came from; 0 = bootstrap.dcs */
	char dyn_bad[DYN_BAD_MAX]; /* what the config key's last reading skipped, as reported */
	/* synchronous_standby_names as last seen, and the primary's flush position then: a
	 * standby is confirmed synchronous once it has reached it (Patroni's SyncHandler) */
	char ssn_seen[DB_PARAM_VALUE_MAX];
	uint64_t ssn_ready_lsn;
	struct dcs_client *dcs;
	struct db *db;
	struct rest_server *rest;
	struct callbacks *callbacks; /* postgresql.callbacks (callbacks.h) */
	struct guardian *guardian;   /* fences a frozen or dead leader's PostgreSQL (guardian.h) */
	bool watchdog_failed; /* "required" and the watchdog unusable: REST's watchdog_failed */
	struct {
		int failed_timeout_s; /* the timeout an activation last failed with; 0 = none */
		char logged[1200];    /* the last watchdog line logged (each logged once) */
	} wd;			      /* watchdog.c */
	char api_url[AGENT_URL_MAX];
	char conn_url[AGENT_URL_MAX];

	struct dcs_cluster *cluster; /* last successful read */
	bool view_ok;		     /* this cycle's read succeeded */
	bool view_cached;	     /* ... and came from the watch-fed view, not a read */
	bool read_next;		     /* the next observe reads linearizably (after an action) */
	int64_t view_mono_ms;	     /* when the last successful read finished */
	int64_t view_wall_ms;
	struct lease_keeper *lease; /* the lease thread (lease.c) */
	bool lease_ok;		    /* the lease thread's last keepalive of my lease succeeded */
	int64_t lease_renewed_ms;   /* send time of the last successful keepalive of my lease */
	char dcs_error[DCS_MSG_MAX];
	char dcs_rejected[DCS_MSG_MAX]; /* the view's refused values, as last logged */

	struct db_status *dbs;
	struct db_control control; /* read while the database is down */
	bool control_ok;
	struct ha_input *in;
	struct ha_output out;
	struct ha_role_state role;
	uint64_t role_changes;
	int64_t last_call_ms, last_call_wall_ms;
	int64_t start_since_ms;	   /* first start attempt of the current start, 0 = none */
	int64_t start_launched_ms; /* the last start launched, until the server runs; 0 = none */
	char start_wait_reason
		[DB_ERROR_MAX]; /* why db_start last declined (-EAGAIN), logged once */
	enum ha_action busy;	/* db task running for this action */
	int64_t busy_since_ms;
	bool need_rewind;	       /* a former primary that must rewind before following */
	int64_t rejoin_wait_since_ms;  /* waiting for the leader's promotion to rejoin; 0 = not */
	int64_t rejoin_wait_logged_ms; /* the last "waiting for the checkpoint" line; 0 = none */
	/* A promotion this agent asked for whose steps after it (counters, the history row) are
	 * not done yet: db_promote may give up waiting while PostgreSQL still promotes. */
	bool promotion_pending;
	bool promotion_switchover;	 /* it relieves a named leader (counted as a switchover) */
	int64_t promotion_old_timeline;	 /* the timeline it ended, for the history row */
	uint64_t promotion_lsn;		 /* bytes: where it ended it, for the history row */
	int64_t promotion_checkpoint_ms; /* the last CHECKPOINT asked for after it; 0 = none */
	bool promotion_reserved;	 /* it stepped over timeline IDs others may have used */
	struct timeline_watch tl_watch;	 /* timeline IDs other members may have created */
	int64_t demoted_ms;		 /* when it last stepped down as primary; 0 = never */
	bool clone_failed;		 /* the data directory holds a failed clone: clone again */
	bool bootstrap_failed;	   /* this node's bootstrap failed: cancel it and exit (Patroni) */
	int64_t handover_until_ms; /* native switchover: hold back until then; 0 = none */
	char handover_to[MEMBER_NAME_MAX]; /* its candidate */
	bool frozen;			   /* WAL receipt frozen for an election (election.c) */
	char last_progress[256];	   /* the last clone progress logged */

	char refused_scheduled_at[DCS_WORD_MAX]; /* the failover key's, last logged as refused */
	char last_reason[HA_REASON_MAX];
	int64_t last_reason_ms;
	uint64_t status_optime_written;
	char status_written[DCS_STATUS_DOC_MAX + 1]; /* the status key as last written */
	/* slots.c: member slots the leader retains (names and when last seen, monotonic) */
	struct {
		char name[DB_NAME_MAX];
		int64_t seen_ms;
	} retain[DB_SLOTS_MAX];
	int retain_count;
	bool retain_seeded; /* seeded from the status key since this node became the leader */
	/* slots.c: logical slots on this replica not yet proven safe to use after a promotion
	 * (Patroni's _logical_slots_processing_queue), with the primary's catalog_xmin of each
	 * once read */
	struct {
		char name[DB_NAME_MAX];
		bool known;
		uint64_t primary_xmin;
	} pending[DB_SLOTS_MAX];
	int pending_count;
	bool pending_seeded;		  /* every logical slot found at start was queued */
	char readiness_err[DB_ERROR_MAX]; /* the last failure of that check, as last logged */
	int64_t copied_observed_ms;	  /* db status time of the last slot copy */
	/* The member list last handed to the driver (db_set_peers; openGauss replconninfoN). */
	struct db_peer db_peers[DB_PEERS_MAX];
	int db_peer_count; /* -1: none handed over yet */
	bool params_applied;
	int64_t loop_duration_ms;
	bool acted; /* this cycle changed the DCS or the database */
	/* This cycle took the leader key: the next one (a read, then the promotion) starts at once,
	 * not after AFTER_ACTION_WAIT_MS (run.c). */
	bool race_won;
	/* This cycle's action failed (act.c, act_fail): its line and level, or a DCS failure that
	 * note_dcs_error already logged; and the pace and voice of failures in a row (ha_retry.h). */
	char act_failure[HA_RETRY_TEXT_MAX];
	bool act_failure_is_error;
	bool act_dcs_failed;
	struct ha_retry retry;

	struct rest_snapshot *snap;
	/* The last snapshot published while this node leads (its lease_deadline_ms set), for the
	 * lease thread to publish again with a later deadline after each keepalive that succeeds
	 * (publish_lease_deadline): so /primary does not answer 503 for a starved loop whose
	 * lease still holds. live_valid is false once a snapshot without a deadline went out. */
	pthread_mutex_t live_lock; /* live_snap, live_valid, and the order of rest_publish calls */
	struct rest_snapshot *live_snap;
	bool live_valid;
	struct rest_counters counters; /* for /metrics; dcs fills its own part at publish */
	bool db_ran; /* the database has run under this agent: a start now is a restart */

	/* Around a leader change (run.c, wait_next): until when the wait polls the replica's
	 * replication, the leader it last saw, and the status buffer it polls into. */
	int64_t settle_until_ms;
	char settle_leader[MEMBER_NAME_MAX];
	struct db_status *settle_dbs;
	/* A database task that ended while the loop waited (run.c): its db_task_poll result. */
	bool task_ended;
	int task_rc;
	char task_err[DB_ERROR_MAX];
	/* The view member keys are read into between cycles, and when that last happened. */
	struct dcs_cluster *refresh_view;
	int64_t members_refreshed_ms;
	/* The wait's file descriptors (run.c): the signal handlers' self-pipe (read end; -1: none)
	 * and a pidfd on the running task's current command (-1: none) with the pid it is for. */
	int signal_fd;
	int task_pidfd;
	int task_pidfd_pid;

	/* Failsafe mode (patroni-compat.md 4.7): the failsafe key as last read, and the send time
	 * of the latest POST /failsafe round that every other listed member acknowledged. */
	struct agent_peer_target failsafe[HA_MEMBERS_MAX];
	int failsafe_count;
	/* The history key's newest rows as dcs read them, for GET /history; parsed again only when
	 * the key's revision changes. */
	struct dcs_history_row history[REST_HISTORY_MAX];
	int history_count;
	int64_t history_rev;
	int64_t failsafe_acked_ms;
	bool failsafe_active; /* failsafe keeps this primary up, or a primary pinged me lately */

	pthread_mutex_t req_lock; /* guards the request flags set by REST action threads */
	bool req_restart, req_reinit, req_reinit_from_leader;
	uint64_t restarts_done;	  /* restarts carried out for REST requests */
	bool last_restart_ok;	  /* how the last of them ended */
	bool pub_pending_restart; /* the last observation, for the REST filters */
	int pub_server_version;
	bool pub_primary;
	bool sched_restart; /* a restart is scheduled (POST /restart with "schedule") */
	struct rest_restart_request sched_req; /* its schedule and filters */
	/* Also under req_lock, for the POST /failsafe handler: */
	int64_t failsafe_seen_ms; /* when a primary last pinged me; 0 = never */
	bool running_primary;	  /* this node runs as primary: refuse pings */
	uint64_t wal_lsn;	  /* my WAL position, for the lsn header */
};

/* ---- unique_name.c ---- */

/* Before the REST API starts: 0 when no live agent uses c->name, -EEXIST (logged) when one
 * answers on the api_url of the member key of that name (Patroni's ensure_unique_name), -EINTR
 * when a stop signal came while etcd did not answer. */
int agent_ensure_unique_name(const struct cfg *c, struct dcs_client *dcs);

/* ---- reload.c: SIGHUP and POST /reload ---- */

/* Reads the configuration again and applies what can change at run time (see reload.c). */
void agent_reload(struct agent *a);

/* Once per cycle: applies a deferred restapi section when no switchover or restart runs. */
void agent_reload_poll(struct agent *a);

/* The REST actions the server gets: fill_rest_actions' with switchover and restart counted. */
void agent_rest_actions(struct agent *a, struct rest_actions *out);

/* ---- view.c: questions about the cluster view ---- */

/* Parses "postgres://host:port/..." into a driver peer. */
int peer_from_member(const struct dcs_member *m, struct db_peer *out);
bool is_opengauss(const struct agent *a);
/* The driver peer of the member called name in the view: 0, or -ENOENT / -EINVAL. */
int peer_named(const struct agent *a, const char *name, struct db_peer *out);
/* standby_cluster's remote primary as a driver peer (Patroni's RemoteMember): host, port
 * (5432 when unset), primary_slot_name and the recovery commands. -ENOENT when the dynamic
 * configuration has no standby cluster, -ENAMETOOLONG when a value does not fit. */
int remote_peer(const struct agent *a, struct db_peer *out);

/* The dynamic configuration makes this a standby cluster, and the engine supports one. */
bool in_standby_cluster(const struct agent *a);
bool i_am_leader_in_view(const struct agent *a);
/* tags.clonefrom of a member key. */
bool member_clonefrom(const struct dcs_member *m);

/* ---- lease.c: the lease thread ---- */

/* What the lease thread knows, as lease_get copies it. */
struct lease_state {
	uint64_t lease;		 /* the lease it renews (or the loop noted); 0 = none yet */
	int64_t renewed_ms;	 /* send time of its last successful renewal; 0 = none */
	bool ok;		 /* the last attempt on it succeeded */
	uint64_t failures;	 /* failed keepalives since the last success */
	uint64_t errors_total;	 /* failed keepalives since start */
	int last_rc;		 /* the last failure's dcs_error, 0 after a success */
	char error[DCS_MSG_MAX]; /* ... and its text */
	/* When the oldest keepalive of this lease handed out after its last success, and not
	 * answered yet, was handed out; 0 = none in flight (lease_get). */
	int64_t waiting_since_ms;
};

/* Created stopped with the policy in effect; lease_keeper_start starts the thread (0 or a
 * negative errno); lease_keeper_free stops and joins it (NULL is fine). */
struct lease_keeper *lease_keeper_new(struct dcs_client *dcs, const struct ha_policy *policy);
int lease_keeper_start(struct lease_keeper *k);
void lease_keeper_free(struct lease_keeper *k);
/* The HA loop shows progress: stamped each cycle and in every slice of its waits. The thread
 * renews only while the last stamp is at most ha_heartbeat_bound_ms old. Lock-free. */
void lease_heartbeat(struct lease_keeper *k);
/* The loop enters a synchronous wait bounded by wait_ms (a shutdown's stop of the database): a
 * heartbeat stamped wait_ms ahead, so the lease is renewed through the wait and for the bound
 * after it, while a wait that overruns its bound still counts as a hang. Lock-free. */
void lease_heartbeat_ahead(struct lease_keeper *k, int64_t wait_ms);
/* The timing in effect (ttl, loop_wait, retry_timeout, failsafe_mode) after a config change. */
void lease_set_policy(struct lease_keeper *k, const struct ha_policy *policy);
/* Whether this node is a primary whose fence deadline counts (running as primary, holding the
 * leader key, not paused), and the send time of its last acknowledged failsafe round. */
void lease_set_leading(struct lease_keeper *k, bool leading, int64_t failsafe_acked_ms);
/* The loop renewed lease on the request path (a grant, an adoption, a rebind) with a request
 * sent at sent_ms. */
void lease_noted(struct lease_keeper *k, uint64_t lease, int64_t sent_ms);
void lease_get(struct lease_keeper *k, struct lease_state *out);
/* Has a keepalive of the current lease sent now, whatever the schedule, and waits up to bound_ms
 * for one sent at or after the call to succeed (the watchdog's activation counts from it, as its
 * later pings count from the keepalives that move the deadline). *proof_ms: until when the lease
 * proves the leader then (ha_leader_proof_ms of the last success, whenever sent; 0 = none).
 * Returns 0 when the fresh keepalive succeeded, -ETIMEDOUT when none did within bound_ms (or
 * the thread is not running). Called by the loop; blocks it for at most bound_ms. */
int lease_renew_now(struct lease_keeper *k, int64_t bound_ms, int64_t *proof_ms);
/* THE leader's current fence deadline (monotonic ms): ha_leader_deadline_ms over the send time
 * of the last keepalive of the current lease that succeeded and the last failsafe round, while
 * lease_set_leading says this node leads; 0 otherwise. Thread-safe. Every user (fence_cap, the
 * guardian) takes it from here. */
int64_t lease_fence_deadline_ms(struct lease_keeper *k);
/* Whether the guardian holds this node to its fence deadline (the loop decides: a leader not
 * paused and not stopping on purpose), with the failsafe round of this cycle. Hands the hook the
 * deadline (armed; the same formula as lease_fence_deadline_ms, whatever lease_set_leading says)
 * or 0 at once. */
void lease_arm_guardian(struct lease_keeper *k, bool armed, int64_t failsafe_acked_ms);
/* Calls hook(ctx, deadline) whenever that deadline may have moved: after every renewal and
 * every change of lease_set_leading or lease_arm_guardian (from the lease thread or the loop;
 * 0 = no fencing now, also while not armed). The hook runs under the keeper's lock and must not
 * block (the guardian's deadline is a store to its shared page). */
void lease_set_deadline_hook(struct lease_keeper *k, void (*hook)(void *ctx, int64_t deadline_ms),
			     void *ctx);

/* ---- observe.c ---- */

/* Logs a DCS failure only when its text changes; one during act() marks the action failed. */
void note_dcs_error(struct agent *a, const char *what, int rc, const char *msg);
/* The fence deadline that bounds every etcd call of the observe step, or 0 for none. */
int64_t fence_cap(const struct agent *a);
void observe_dcs(struct agent *a);
/* Reads the cluster linearizably into the view, whatever the watch-fed view says: the proof a
 * decision that writes takes first (docs/ha-loop-contract.md, "Which view"). */
void observe_dcs_proof(struct agent *a);
void observe_config(struct agent *a);
void observe_db(struct agent *a);

/* ---- input.c ---- */

/* Fills a->in from this cycle's observations. */
void build_input(struct agent *a);
/* Fill a->in->probe / a->in->failsafe when ha_decide asks for them. */
void probe_peers(struct agent *a);
void ping_failsafe(struct agent *a);

/* ---- act.c ---- */

/* The one place the node's role changes (STYLE.md). */
void set_role(struct agent *a, enum ha_role to, const char *reason);
/* Marks a db task started for action (or logs why it did not start). */
void begin_task(struct agent *a, enum ha_action action, int rc, const char *err);
/* After initdb: writes the cluster's identity, configuration and leader key; true when it did. */
bool finish_bootstrap(struct agent *a);
/* After a failed bootstrap, as Patroni's cancel_initialization: removes the initialize key (while
 * it is still ""), stops the server at once and moves the data directory aside. The caller then
 * exits with an error ("Failed to bootstrap cluster"). */
void cancel_bootstrap(struct agent *a);
/* Carries out a->out.action. */
void act(struct agent *a);
/* Hands the database driver the view's member list when it changed (db_set_peers). */
void set_db_peers(struct agent *a);
/* Applies the server parameters of the dynamic configuration once they changed. */
void apply_params(struct agent *a);
/* Keeps the role in step with what the database is. */
void settle_role(struct agent *a);
/* After a promotion, however the server got there (db_promote, or observed primary after
 * db_promote stopped waiting, or after a restart): the history row and counters once, and a
 * CHECKPOINT while pg_control lags the timeline (Patroni's checkpoint_after_promote). */
void finish_promotion(struct agent *a);

/* ---- leader.c ---- */

/* Writes the status optime and releases the leader key. */
void release_leader(struct agent *a, uint64_t lsn);
/* handover.c: a native switchover's leader side (hand_over: true when it handed the key over)
 * and the hold while the candidate runs it (handover_hold: true to skip this cycle's action). */
bool hand_over(struct agent *a);
bool handover_hold(struct agent *a);
/* election.c: election_freeze (true: froze instead of this cycle's probe or race) and
 * election_thaw (after the action: pin a frozen replica to the new leader). */
bool election_freeze(struct agent *a);
void election_thaw(struct agent *a);
/* Appends a row to the history key after a promotion. */
void write_history(struct agent *a, int64_t old_timeline, uint64_t lsn);
/* Is name in the set? */
bool names_contain(const struct ha_names *names, const char *name);

/* Writes the sync key naming a->out.sync. */
void write_sync_key(struct agent *a);
/* Writes the sync key: this node as leader, names as standbys, CAS on the view's key. Returns 0,
 * DCS_ERR_CONFLICT or another dcs_error (logged). */
int write_sync_key_names(struct agent *a, const struct ha_names *names, int quorum);
/* Status and failsafe key, while this node leads. */
void maintain_as_leader(struct agent *a);

/* ---- slots.c ---- */

/* What this cycle does about the replication slots (slot_plan_build is pure, for the unit
 * tests): Patroni 4's member slots, retained ones, permanent ones, and ignore_slots. */
struct slot_plan {
	bool manage;				/* this node keeps slots now */
	struct db_slot_spec want[DB_SLOTS_MAX]; /* every slot it keeps */
	int want_count;
	struct db_slot_spec create[DB_SLOTS_MAX]; /* ... of which these are missing */
	int create_count;
	char drop[DB_SLOTS_MAX][DB_NAME_MAX]; /* idle slots nobody keeps, not in ignore_slots */
	int drop_count;
	struct db_slot_target advance[DB_SLOTS_MAX]; /* idle slots to move forward */
	int advance_count;
	char copy[DB_SLOTS_MAX][DB_NAME_MAX]; /* replica: logical slots to copy from the leader */
	int copy_count;
};
void slot_plan_build(const struct agent *a, struct slot_plan *p);
/* The leader's record of member slots to retain after a member's key went away (Patroni's
 * retain_slots): refreshed from the view and the slots at now_ms, expired after
 * member_slots_ttl; seeded from the status key when this node becomes the leader. */
void slot_retention_update(struct agent *a, int64_t now_ms);
/* The status key's slot positions and retained slots, from the last plan (leader.c writes). */
void slot_status(const struct agent *a, struct dcs_status_doc *st);
/* Patroni's check that a logical slot copied to this replica is safe to use after a promotion
 * (slots.py check_logical_slots_readiness): the primary's physical slot for this replica must
 * hold a catalog_xmin, not older than the primary's logical slot's, nor newer than the copy's.
 * primary_xmins[i] is the primary's catalog_xmin of pending slot i (found[i] false: unknown),
 * physical_xmin the physical slot's (0: null). Pure; removes the slots found safe, names them
 * in safe (at most DB_SLOTS_MAX), returns how many. */
int slot_readiness(struct agent *a, const bool *found, const uint64_t *primary_xmins,
		   uint64_t physical_xmin, char (*safe)[DB_NAME_MAX]);
/* Creates, drops and advances the slots by the plan. */
void maintain_slots(struct agent *a);

/* ---- publish.c ---- */

void touch_member(struct agent *a);
void publish(struct agent *a);
/* From the lease thread's deadline hook: when the last snapshot published leads and
 * deadline_ms is later than its lease deadline, publishes it again with deadline_ms. Any
 * thread; does not block on I/O. */
void publish_lease_deadline(struct agent *a, int64_t deadline_ms);
void log_outcome(struct agent *a);
void note_failsafe_state(struct agent *a);

/* ---- rest_actions.c ---- */

/* Carries out what REST action threads asked of the loop (restart, reinitialize). */
void serve_requests(struct agent *a);
/* The REST server's action callbacks, with a as their context. */
void fill_rest_actions(struct agent *a, struct rest_actions *out);

#endif
