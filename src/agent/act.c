/*
 * act.c - the act phase: carries out the one action ha_decide() returned (bootstrap, clone,
 * start, follow, rejoin, race, promote, demote, the sync and failover keys), each bounded by a
 * timeout; long database work (initdb, clone, rewind) runs as a db task that later cycles poll,
 * so the lease keeps being renewed. Also the one place the node's role changes.
 */
#include "agent_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "zpages.h"

/* Marks this cycle's action failed with what failed and why; act_report() logs it when it
 * changes rather than on every retry, and the wait backs off (ha_retry.h). */
static void act_fail(struct agent *a, bool is_error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void act_fail(struct agent *a, bool is_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* A log line: a longer one is cut, as log_msg cuts it. */
	(void)vsnprintf(a->act_failure, sizeof(a->act_failure), fmt, ap);
	va_end(ap);
	a->act_failure_is_error = is_error;
}

/* After the action: feeds its outcome to the retry policy and logs what the policy says. DCS
 * failures were logged by note_dcs_error when their text changed; they only set the pace. */
static void act_report(struct agent *a)
{
	const char *failure = a->act_failure[0] != '\0' ? a->act_failure
			      : a->act_dcs_failed	? (a->dcs_error[0] ? a->dcs_error : "etcd")
							: NULL;
	enum log_level level = a->act_failure_is_error ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING;

	if (!a->acted)
		return;
	switch (ha_retry_note(&a->retry, failure, clock_mono_ms())) {
	case HA_RETRY_REPORT:
		if (a->act_failure[0] != '\0')
			log_msg(level, "%s, retrying", a->act_failure);
		break;
	case HA_RETRY_REMIND:
		if (a->act_failure[0] != '\0')
			log_msg(level, "%s, still retrying (%lld times in a row)", a->act_failure,
				(long long)a->retry.same);
		break;
	case HA_RETRY_RECOVERED:
		log_info("no longer failing: %s", a->retry.cleared);
		break;
	case HA_RETRY_SILENT:
		log_debug("%s, retrying", failure != NULL ? failure : "");
		break;
	}
}

/* The one place the node's role changes (STYLE.md). */
void set_role(struct agent *a, enum ha_role to, const char *reason)
{
	char line[HA_REASON_MAX + 128];
	enum ha_role from = a->role.role;
	int r = ha_role_change(&a->role, to, clock_mono_ms(), reason, line, sizeof(line));

	if (r == 0) {
		a->role_changes++;
		log_notice("%s", line);
	} else if (r == -EPERM) {
		/* The table refuses: observation wins (the database is what it is), but say so. */
		log_warning("%s; following the observed state", line);
		ha_role_init(&a->role, to, clock_mono_ms());
		a->role_changes++;
	}
	if (r == 0 || r == -EPERM)
		callbacks_role_changed(a->callbacks, from, to);
}

/* synchronous_standby_names from the decision: names, waiting for num of them (0 = all). */
static int sync_from_names(const struct ha_names *names, bool placeholder, int num, bool any,
			   struct db_sync *out)
{
	memset(out, 0, sizeof(*out));
	out->method = any ? DB_SYNC_METHOD_QUORUM : DB_SYNC_METHOD_PRIORITY;
	out->num = num;
	for (int i = 0; i < names->count && out->count < DB_STANDBYS_MAX; i++)
		if (buf_copy(out->names[out->count++], DB_NAME_MAX, names->name[i]) != 0)
			return -ENAMETOOLONG;
	if (placeholder && out->count < DB_STANDBYS_MAX)
		memcpy(out->names[out->count++], SYNC_PLACEHOLDER, sizeof(SYNC_PLACEHOLDER));
	if (out->count == 0)
		out->method = DB_SYNC_METHOD_OFF;
	return 0;
}

static void demote(struct agent *a)
{
	const struct ha_output *o = &a->out;
	char err[DB_ERROR_MAX];
	struct db_peer leader, *upstream = NULL;
	bool cluster = o->demote_mode == HA_DEMOTE_CLUSTER;
	bool graceful = o->demote_mode == HA_DEMOTE_GRACEFUL || cluster;
	int rc;

	set_role(a, HA_ROLE_DEMOTING, o->reason);
	a->demoted_ms = clock_mono_ms();
	if (graceful) { /* a planned stop; bounded so the fencing margin holds (docs/timing.md) */
		uint64_t redo;

		callbacks_before_stop(a->callbacks, a->dyn.retry_timeout_ms);
		/* A checkpoint while the server still takes writes leaves its shutdown checkpoint
		 * little to write, so writes stop for less time (Patroni does the same). */
		if (a->dbs->role == DB_ROLE_PRIMARY &&
		    db_checkpoint(a->db, &redo, a->dyn.retry_timeout_ms / 2, err, sizeof(err)) != 0)
			log_info("no checkpoint before stopping: %s", err);
	}
	/* From here /primary answers 503 (publish.c), before the server stops accepting: a load
	 * balancer checking it takes this node out and sends clients to the next primary. */
	publish(a);
	/* Every mode stops accepting writes within retry_timeout (the fencing margin counts on
	 * it); a graceful one first tries a fast stop with its shutdown checkpoint. */
	rc = db_stop(a->db, graceful ? DB_STOP_FAST : DB_STOP_IMMEDIATE,
		     graceful ? a->dyn.ttl_ms / 2 : a->dyn.retry_timeout_ms, err, sizeof(err));
	if (rc != 0 && graceful) {
		log_warning("could not stop the database: %s; stopping it immediately", err);
		rc = db_stop(a->db, DB_STOP_IMMEDIATE, a->dyn.retry_timeout_ms, err, sizeof(err));
	}
	if (rc != 0) {
		/* The budget is spent: writes must stop now (docs/timing.md). */
		log_error("could not stop the database immediately: %s; killing it", err);
		rc = db_fence(a->db, err, sizeof(err));
		if (rc == 0) {
			log_warning("killed the database server (fenced)");
			a->counters.fences++;
		} else if (rc == -ESRCH)
			log_warning("did not kill the database server: %s", err);
		else
			log_error("could not kill the database server: %s", err);
	}
	if (o->demote_mode == HA_DEMOTE_GRACEFUL || o->demote_mode == HA_DEMOTE_IMMEDIATE) {
		struct db_control control;

		if (db_read_control(a->db, &control, a->dyn.retry_timeout_ms, err, sizeof(err)) !=
		    0)
			control.checkpoint_lsn = 0;
		release_leader(a, control.checkpoint_lsn);
	}
	if (cluster) {
		/* demote-cluster: the key stays; the clean shutdown checkpoint lets the server
		 * follow the remote primary as the standby leader at once. */
		a->need_rewind = false;
		rc = db_start(a->db, DB_START_REPLICA,
			      remote_peer(a, &leader) == 0 ? &leader : NULL, 0, 0, err,
			      sizeof(err));
		if (rc != 0)
			log_warning("could not start the database as the standby leader: %s", err);
		else
			a->start_launched_ms = clock_mono_ms();
		a->start_since_ms = clock_mono_ms();
		return;
	}
	/* A former primary may have written WAL the new leader never saw: rewind first. */
	a->need_rewind = true;
	if (o->demote_mode != HA_DEMOTE_OFFLINE && peer_named(a, o->target, &leader) == 0)
		upstream = &leader;
	if (!(a->cfg->postgresql.use_pg_rewind_set ? a->cfg->postgresql.use_pg_rewind
						   : a->dyn.postgresql.use_pg_rewind)) {
		/* Without pg_rewind, a clean (graceful) shutdown checkpoint lets it follow as is. */
		if (graceful)
			a->need_rewind = false;
		rc = db_start(a->db, DB_START_REPLICA, upstream, 0, 0, err, sizeof(err));
		if (rc != 0)
			log_warning("could not start the database as a replica: %s", err);
		else
			a->start_launched_ms = clock_mono_ms();
	}
	a->start_since_ms = clock_mono_ms();
}

/* A planned switchover may step down only while its target streams from this primary: a fast
 * shutdown waits for connected walsenders to confirm the shutdown checkpoint, so a streaming
 * candidate then has every acknowledged commit, while one still reconnecting (just rejoined)
 * would lose what it missed (seen in the switchover benchmark). With no candidate named, any
 * streaming replica will do: the race picks the most advanced. */
static bool switchover_target_streams(struct agent *a)
{
	const char *want = a->cluster->failover_member;

	for (int i = 0; i < a->dbs->standby_count; i++) {
		const struct db_standby *st = &a->dbs->standbys[i];

		if (strcmp(st->state, "streaming") == 0 &&
		    (want[0] == '\0' || strcmp(st->application_name, want) == 0))
			return true;
	}
	log_info("switchover: waiting for %s%s%s to stream from me before stepping down",
		 want[0] ? "\"" : "a replica", want, want[0] ? "\"" : "");
	return false;
}

/* A start is launched without waiting (pg_ctl -W): for this long after, a server that is not
 * running yet may still be coming up, so no second start is launched; after it, a server that is
 * not running means the start failed (a bad setting, a taken port), which paces and reports as
 * a failed action instead of a start launched again every cycle (issue 11). */
#define START_SETTLE_MS 1000

/* For a start action: true when the last launch is too recent to judge (the cycle waits); sets
 * *failed when the last launch left the server down. */
static bool start_settling(struct agent *a, bool *failed)
{
	int64_t now = clock_mono_ms();

	*failed = false;
	if (a->start_launched_ms == 0)
		return false;
	if (now - a->start_launched_ms < START_SETTLE_MS) {
		a->acted = false;
		a->out.wake_by_ms = a->start_launched_ms + START_SETTLE_MS;
		return true;
	}
	*failed = true;
	return false;
}

/* While db_start declines (-EAGAIN) over the last postmaster's remains (a zombie, backends
 * still holding its shared memory): no failed start to report and back off from, a wait. The
 * postmaster's reap wakes the loop (db_postmaster_exited); backends' exits do not, so it looks
 * again every START_WAIT_POLL_MS. */
#define START_WAIT_POLL_MS 50

static void start_wait(struct agent *a, const char *what, const char *why)
{
	if (strcmp(a->start_wait_reason, why) != 0)
		log_info("waiting to start %s: %s", what, why);
	buf_copy_or_clear(a->start_wait_reason, sizeof(a->start_wait_reason), why);
	a->acted = false;
	a->out.wake_by_ms = clock_mono_ms() + START_WAIT_POLL_MS;
}

/* After a start: a launch to judge next time, or the failure of this one or the last. */
static void start_outcome(struct agent *a, const char *what, int rc, const char *err,
			  bool last_failed)
{
	if (rc == 0)
		a->start_launched_ms = clock_mono_ms();
	a->start_wait_reason[0] = '\0';
	if (rc != 0 && rc != -EALREADY)
		act_fail(a, false, "could not start %s: %s", what, err);
	else if (rc == 0 && last_failed)
		act_fail(
			a, false,
			"could not start %s: the server was \"%s\" again after its last start (the "
			"server log says why)",
			what, db_role_name(a->dbs->role));
}

/* After a promotion stopped by a sync key changed since it was read: the next look, on a new
 * read. */
#define AFTER_SYNC_KEY_CONFLICT_MS 50

/* While the leader's promotion runs, how often a member waiting to rewind against it looks (a
 * connection to the leader each time). */
#define PROMOTION_POLL_MS 100

/* pg_rewind takes the source's timeline from its pg_control, which a promotion updates only with
 * its first checkpoint on the new timeline: run against a leader before that, it finds both on
 * the old timeline, says "no rewind required", and the server then cannot follow the new one
 * (issue 18's primary-freeze: every start failed "requested timeline 2 is not a child of this
 * server's history"). As Patroni's rewind, a member waits for that checkpoint first: it asks the
 * leader itself, as the rewind user, what pg_rewind will read (db_peer_rewind_ready), and waits
 * as long as the answer is no, since a rewind would then be useless. When the leader cannot be
 * asked, its member key decides: checkpoint_after_promote false, or (a key of an older agent)
 * still a replica on my timeline; that wait ends after ttl whatever the key says. */
static bool leader_promoting(struct agent *a, const char *leader)
{
	const struct dcs_member *m = dcs_cluster_member(a->cluster, leader);
	int64_t now = clock_mono_ms();
	char err[DB_ERROR_MAX], why[DB_ERROR_MAX + 64];
	uint32_t ckpt_tli = 0, tli = 0;
	struct db_peer peer;
	bool ready = false, asked = false, wait;
	bool rewind = a->cfg->postgresql.use_pg_rewind_set ? a->cfg->postgresql.use_pg_rewind
							   : a->dyn.postgresql.use_pg_rewind;

	if (is_opengauss(a) || !rewind)
		return false;
	if (peer_named(a, leader, &peer) == 0 &&
	    db_peer_rewind_ready(a->db, &peer, a->dyn.retry_timeout_ms / 2, &ready, &ckpt_tli, &tli,
				 err, sizeof(err)) == 0)
		asked = true;
	if (asked) {
		wait = !ready;
		if (tli == 0)
			(void)snprintf(why, sizeof(why), "it is still in recovery");
		else
			(void)snprintf(why, sizeof(why),
				       "its pg_control is on timeline %u, it writes timeline %u",
				       ckpt_tli, tli);
	} else {
		wait = m != NULL &&
		       ((m->has_checkpoint_after_promote && !m->checkpoint_after_promote) ||
			(m->timeline > 0 && a->dbs->timeline != 0 && !m->is_primary &&
			 m->timeline == (int64_t)a->dbs->timeline));
		(void)snprintf(why, sizeof(why), "its member key says so (cannot ask it: %s)", err);
	}
	if (!wait) {
		if (a->rejoin_wait_since_ms != 0)
			log_info("\"%s\" finished its checkpoint after promotion: rewinding",
				 leader);
		return false;
	}
	if (a->rejoin_wait_since_ms == 0) {
		a->rejoin_wait_since_ms = now;
		a->rejoin_wait_logged_ms = 0;
	}
	if (!asked && now - a->rejoin_wait_since_ms >= a->dyn.ttl_ms)
		return false;
	if (a->rejoin_wait_logged_ms == 0 || now - a->rejoin_wait_logged_ms >= a->dyn.ttl_ms) {
		log_info("waiting for checkpoint on \"%s\" before rewind: %s%s", leader, why,
			 a->rejoin_wait_logged_ms == 0 ? "" : ", still waiting");
		a->rejoin_wait_logged_ms = now;
	}
	return true;
}

void begin_task(struct agent *a, enum ha_action action, int rc, const char *err)
{
	if (rc == 0) {
		a->busy = action;
		a->busy_since_ms = clock_mono_ms();
		a->task_ended = false;
	} else {
		log_error("could not start %s: %s", ha_action_name(action), err);
	}
}

/* begin_task for the cycle's action: a failure paces and reports as the action's (act_fail). */
/* Before a promotion: makes PostgreSQL step over the timeline IDs other members may have created
 * (timeline_watch.h, docs/db.md "Timeline IDs"). Returns how many it reserved. A failure is only
 * a warning: the promotion itself needs the same pg_wal, so refusing would only keep the cluster
 * without a primary. */
static int reserve_timelines(struct agent *a)
{
	char err[DB_ERROR_MAX];
	int64_t current = a->dbs->timeline > 0 ? a->dbs->timeline : 1;
	int written = 0;

	if (a->tl_watch.reserved <= current)
		return 0;
	if (db_reserve_timelines(a->db, (uint64_t)current, (uint64_t)a->tl_watch.reserved, &written,
				 err, sizeof(err)) != 0) {
		log_warning("could not reserve timeline IDs %lld to %lld before promoting: %s, "
			    "promoting anyway",
			    (long long)current + 1, (long long)a->tl_watch.reserved, err);
		return 0;
	}
	if (written > 0)
		log_notice("reserved timeline IDs %lld to %lld before promoting: other members may "
			   "have created them (placeholder history files in pg_wal)",
			   (long long)current + 1, (long long)a->tl_watch.reserved);
	return written;
}

static void act_begin_task(struct agent *a, enum ha_action action, int rc, const char *err)
{
	if (rc == 0)
		begin_task(a, action, rc, err);
	else
		act_fail(a, true, "could not start %s: %s", ha_action_name(action), err);
}

/* The upstream of START_REPLICA and FOLLOW: standby_cluster's remote primary, the target
 * member, or none. */
static const struct db_peer *upstream_of(const struct agent *a, const struct ha_output *o,
					 struct db_peer *peer)
{
	if (o->remote)
		return remote_peer(a, peer) == 0 ? peer : NULL;
	return peer_named(a, o->target, peer) == 0 ? peer : NULL;
}

/* Patroni's bootstrap_standby_leader: the first member of a standby cluster clones the remote
 * primary with standby_cluster's create_replica_methods (basebackup when none) and starts as its
 * replica; finish_bootstrap then takes the leader key. */
static int bootstrap_standby(struct agent *a, char *err, size_t errlen)
{
	/* The method list (41 kB) on zpages, not on the stack: inlined into act(), it made
	 * act()'s frame 48 kB, and everything act() calls ran that much deeper on the loop's
	 * stack, whose touched pages stay resident (docs/architecture.md, "Footprint"). */
	struct db_replica_methods *methods;
	struct db_peer remote;
	const struct cfg_list *names = &a->dyn.standby_cluster.create_replica_methods;
	int rc = remote_peer(a, &remote);

	if (rc != 0)
		return err_fail(err, errlen, rc, "standby_cluster does not fit a peer");
	methods = zpages_alloc(sizeof(*methods));
	if (!methods)
		return err_fail(err, errlen, -ENOMEM, "out of memory for the method list");
	rc = agent_replica_methods(a->cfg, names, methods, err, errlen);
	if (rc != 0)
		goto out_free_methods;
	log_notice("won the initialize key: bootstrapping a standby cluster from %s:%d",
		   remote.host[0] ? remote.host : "(archive)", remote.port);
	set_role(a, HA_ROLE_BOOTSTRAPPING,
		 "won the initialize race: cloning the standby cluster's remote primary");
	rc = db_begin_create_replica_with(a->db, methods, remote.host[0] ? &remote : NULL, &remote,
					  false, err, errlen);
out_free_methods:
	zpages_free(methods);
	return rc;
}

static void bootstrap(struct agent *a)
{
	char err[DB_ERROR_MAX], msg[DCS_MSG_MAX];
	int rc = dcs_take_initialize(a->dcs, "", msg, sizeof(msg));

	if (rc == DCS_ERR_CONFLICT) {
		log_info("another member is bootstrapping the cluster");
		return;
	}
	if (rc != 0) {
		note_dcs_error(a, "could not take the initialize key", rc, msg);
		return;
	}
	if (in_standby_cluster(a)) {
		rc = bootstrap_standby(a, err, sizeof(err));
		act_begin_task(a, HA_ACT_BOOTSTRAP, rc, err);
		return;
	}
	log_notice("won the initialize key: bootstrapping a new cluster");
	set_role(a, HA_ROLE_BOOTSTRAPPING,
		 db_get_options(a->db)->bootstrap_method.method.argc > 0
			 ? "won the initialize race: custom bootstrap method"
			 : "won the initialize race: initdb");
	rc = db_begin_bootstrap(a->db, 1, err, sizeof(err));
	act_begin_task(a, HA_ACT_BOOTSTRAP, rc, err);
}

/* After initdb: the cluster's identity, configuration and leader key. Returns true when it
 * wrote them, so the cycle reads the cluster again before deciding on a stale view. */
bool finish_bootstrap(struct agent *a)
{
	char msg[DCS_MSG_MAX];
	struct buf json;
	int rc;

	bool standby = in_standby_cluster(a);

	if (a->dbs->role != (standby ? DB_ROLE_REPLICA : DB_ROLE_PRIMARY) ||
	    a->dbs->system_identifier[0] == '\0')
		return false;
	if (a->cluster->has_initialize && a->cluster->initialize[0] != '\0')
		return false;
	rc = dcs_take_leader(a->dcs, msg, sizeof(msg));
	if (rc != 0) {
		note_dcs_error(a, "could not take the leader key after bootstrap", rc, msg);
		return false;
	}
	buf_init(&json, DCS_CONFIG_MAX);
	if (!a->cluster->has_config && cfg_dynamic_render(&a->dyn, &json) == 0) {
		rc = dcs_cas_config(a->dcs, json.data, DCS_CAS_ABSENT, NULL, msg, sizeof(msg));
		if (rc != 0 && rc != DCS_ERR_CONFLICT)
			note_dcs_error(a, "could not write the config key", rc, msg);
	}
	buf_done(&json);
	if (is_opengauss(a)) {
		/* The first term (db_begin_bootstrap ran with term 1). */
		rc = dcs_cas_term(a->dcs, 1, DCS_CAS_ABSENT, NULL, msg, sizeof(msg));
		if (rc != 0 && rc != DCS_ERR_CONFLICT)
			note_dcs_error(a, "could not write the term key", rc, msg);
	}
	rc = dcs_write_initialize(a->dcs, a->dbs->system_identifier, msg, sizeof(msg));
	if (rc != 0)
		note_dcs_error(a, "could not write the initialize key", rc, msg);
	else
		log_notice("initialized a new cluster with system identifier \"%s\"",
			   a->dbs->system_identifier);
	a->acted = true;
	return true;
}

void cancel_bootstrap(struct agent *a)
{
	char err[DB_ERROR_MAX], msg[DCS_MSG_MAX];
	int rc;

	log_notice("removing the initialize key after the failed attempt to bootstrap the cluster");
	rc = dcs_cancel_initialize(a->dcs, msg, sizeof(msg));
	if (rc != 0)
		log_error("could not remove the initialize key: %s", msg);
	if (db_stop(a->db, DB_STOP_IMMEDIATE, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0)
		log_warning("could not stop the database: %s", err);
	if (db_move_data_aside(a->db, err, sizeof(err)) != 0)
		log_error("could not move the data directory aside: %s", err);
	else
		log_notice("moved the failed bootstrap's data directory to \"%s.failed\"",
			   db_get_options(a->db)->data_dir);
}

void act(struct agent *a)
{
	const struct ha_output *o = &a->out;
	char err[DB_ERROR_MAX] = "", msg[DCS_MSG_MAX] = "";
	struct db_peer peer, source;
	struct db_sync sync;
	bool last_failed;
	int rc;

	a->race_won = false;
	if (handover_hold(a)) {
		a->acted = false;
		return;
	}
	a->acted = true;
	a->act_failure[0] = '\0';
	a->act_dcs_failed = false;
	if (a->dbs->running && a->start_launched_ms != 0) {
		/* The last start worked: a run of failed starts ends here, not with an action. */
		a->start_launched_ms = 0;
		if (ha_retry_note(&a->retry, NULL, clock_mono_ms()) == HA_RETRY_RECOVERED)
			log_info("no longer failing: %s", a->retry.cleared);
	}
	if (o->action != HA_ACT_REJOIN)
		a->rejoin_wait_since_ms = 0;
	switch (o->action) {
	case HA_ACT_NONE:
	case HA_ACT_TILT:
	case HA_ACT_WAIT_FOR_BOOTSTRAP:
	case HA_ACT_PROBE_PEERS:
	case HA_ACT_PING_FAILSAFE:
	case HA_ACT_COUNT_:
		a->acted = false;
		break;
	case HA_ACT_BOOTSTRAP:
		bootstrap(a);
		break;
	case HA_ACT_CLONE:
		if (o->target[0] == '\0') {
			/* "bootstrap (without leader)": the no_leader methods, from nobody. */
			set_role(a, HA_ROLE_CLONING, o->reason);
			rc = db_begin_create_replica_with(a->db, NULL, NULL, NULL, true, err,
							  sizeof(err));
			begin_task(a, HA_ACT_CLONE, rc, err);
			break;
		}
		if (peer_named(a, o->target, &source) != 0) {
			act_fail(a, false, "cannot clone from \"%s\": no usable conn_url",
				 o->target);
			break;
		}
		set_role(a, HA_ROLE_CLONING, o->reason);
		{
			struct db_peer leader, *primary = NULL;

			if (a->cluster->has_leader &&
			    peer_named(a, a->cluster->leader, &leader) == 0)
				primary = &leader;
			rc = db_begin_create_replica(a->db, &source, primary, true, err,
						     sizeof(err));
		}
		act_begin_task(a, HA_ACT_CLONE, rc, err);
		break;
	case HA_ACT_START_REPLICA:
		/* A former primary waiting for a leader to rewind against is not started
		 * read-only meanwhile: the rewind would then race the starting postmaster (seen
		 * in the switchover benchmark). After a ttl with no leader it starts anyway. */
		if ((a->need_rewind && a->demoted_ms != 0 &&
		     clock_mono_ms() - a->demoted_ms < a->dyn.ttl_ms) ||
		    start_settling(a, &last_failed)) {
			a->acted = false;
			break;
		}
		rc = db_start(a->db, DB_START_REPLICA, upstream_of(a, o, &peer), 0, 0, err,
			      sizeof(err));
		if (rc == -EAGAIN) {
			start_wait(a, "a replica", err);
			break;
		}
		start_outcome(a, "the database as a replica", rc, err, last_failed);
		if (a->start_since_ms == 0)
			a->start_since_ms = clock_mono_ms();
		break;
	case HA_ACT_FOLLOW:
		rc = db_follow(a->db, upstream_of(a, o, &peer), a->dyn.retry_timeout_ms * 2, err,
			       sizeof(err));
		if (rc != 0)
			act_fail(a, false, "could not follow \"%s\": %s",
				 o->remote ? "the remote primary" : o->target, err);
		break;
	case HA_ACT_REJOIN:
		if (leader_promoting(a, o->target)) {
			a->acted = false;
			a->out.wake_by_ms = clock_mono_ms() + PROMOTION_POLL_MS;
			break;
		}
		a->rejoin_wait_since_ms = 0;
		if (peer_named(a, o->target, &peer) != 0) {
			act_fail(a, false, "cannot rejoin \"%s\": no usable conn_url", o->target);
			break;
		}
		set_role(a, HA_ROLE_REJOINING, o->reason);
		rc = db_begin_rejoin(a->db, &peer, err, sizeof(err));
		act_begin_task(a, HA_ACT_REJOIN, rc, err);
		break;
	case HA_ACT_RACE:
		if (callbacks_race_backoff(a->callbacks)) {
			log_info("not racing for the leader key: backing off after pre_promote "
				 "vetoed");
			break;
		}
		rc = dcs_take_leader(a->dcs, msg, sizeof(msg));
		a->race_won = rc == 0;
		if (rc == 0)
			log_notice("acquired the leader key");
		else if (rc == DCS_ERR_CONFLICT)
			log_info("another member took the leader key first");
		else
			note_dcs_error(a, "could not race for the leader key", rc, msg);
		break;
	case HA_ACT_PROMOTE: {
		int64_t old_tl = a->dbs->timeline;
		uint64_t lsn = a->dbs->replay_lsn;

		/* The fencing script may veto; the key goes so another member can lead. */
		if (callbacks_pre_promote(a->callbacks, a->dyn.ttl_ms / 2, a->dyn.ttl_ms) != 0) {
			/* As Patroni, which clears a manual failover once it holds the lock. */
			if (strcmp(a->cluster->failover_member, a->cfg->name) == 0 &&
			    dcs_clear_failover(a->dcs, a->cluster->failover_mod_revision, msg,
					       sizeof(msg)) != 0)
				log_warning("could not clear the failover key: %s", msg);
			release_leader(a, lsn);
			break;
		}
		/* The sync key first, as Patroni does: from the moment this server can acknowledge
		 * a commit the key must name it, and a key changed since the view (the last leader
		 * dropping me from it) stops the promotion; the next cycle decides on a new read. */
		if (o->sync_key_first) {
			struct ha_names none;

			memset(&none, 0, sizeof(none));
			rc = write_sync_key_names(a, &none, 0);
			if (rc != 0) {
				if (rc == DCS_ERR_CONFLICT)
					log_info("not promoting yet: the sync key changed since it "
						 "was read");
				a->out.wake_by_ms = clock_mono_ms() + AFTER_SYNC_KEY_CONFLICT_MS;
				break;
			}
			log_info("wrote the sync key as its new leader before promoting");
		}
		if (a->dyn.synchronous_mode) {
			if (sync_from_names(&o->sync, o->sync_placeholder, o->sync_num, o->sync_any,
					    &sync) == 0 &&
			    db_set_sync_standbys(a->db, &sync, a->dyn.retry_timeout_ms, err,
						 sizeof(err)) != 0)
				log_warning("could not set the synchronous standbys: %s", err);
		}
		if (is_opengauss(a)) {
			/* Raise the cluster term first: a lost CAS means another promotion (or a
			 * newer term) got there first, so this cycle does not promote. */
			rc = dcs_cas_term(a->dcs, o->term,
					  a->cluster->has_term ? a->cluster->term_mod_revision
							       : DCS_CAS_ABSENT,
					  NULL, msg, sizeof(msg));
			if (rc != 0) {
				note_dcs_error(
					a,
					rc == DCS_ERR_CONFLICT
						? "not promoting: the term key changed"
						: "not promoting: could not raise the term key",
					rc, msg);
				break;
			}
			log_notice("raised the cluster term to %lld", (long long)o->term);
		}
		set_role(a, HA_ROLE_PROMOTING, o->reason);
		/* The steps after it are owed from here, whether this call sees it end or a later
		 * cycle finds the server primary (finish_promotion). */
		if (!a->promotion_pending) {
			a->promotion_pending = true;
			/* A switchover's failover key names the leader it relieves. */
			a->promotion_switchover =
				a->cluster->has_failover && a->cluster->failover_leader[0] != '\0';
			a->promotion_old_timeline = old_tl;
			a->promotion_lsn = lsn;
			a->promotion_reserved = false;
		}
		if (reserve_timelines(a) > 0)
			a->promotion_reserved = true;
		/* A switchover's leader may have handed over with its server running (handover.c). */
		if (a->cluster->has_failover && a->cluster->failover_leader[0] != '\0' &&
		    strcmp(a->cluster->failover_member, a->cfg->name) == 0)
			rc = db_promote_planned(a->db, (uint64_t)o->term, a->dyn.ttl_ms, err,
						sizeof(err));
		else
			rc = db_promote(a->db, (uint64_t)o->term, a->dyn.ttl_ms, err, sizeof(err));
		if (rc != 0) {
			act_fail(a, true, "could not promote: %s", err);
			break;
		}
		set_role(a, HA_ROLE_PRIMARY, "promotion finished");
		(void)db_get_status(a->db, a->dbs);
		/* Clients first: /primary answers 200 from here (a load balancer's next check), the
		 * checkpoint comes after; until it is done, the member key says
		 * checkpoint_after_promote false and former primaries wait to rewind. */
		publish(a);
		finish_promotion(a);
		break;
	}
	case HA_ACT_REBIND_LEADER_KEY:
		rc = dcs_renew_leader(a->dcs, msg, sizeof(msg));
		if (rc != 0)
			note_dcs_error(a, "could not rebind the leader key to my lease", rc, msg);
		break;
	case HA_ACT_DEMOTE:
		if (o->demote_mode == HA_DEMOTE_GRACEFUL && !switchover_target_streams(a)) {
			a->acted = false;
			break;
		}
		if (o->demote_mode == HA_DEMOTE_GRACEFUL && hand_over(a))
			break;
		demote(a);
		break;
	case HA_ACT_RESTART_PRIMARY:
		if (start_settling(a, &last_failed))
			break;
		if (a->start_since_ms == 0)
			a->start_since_ms = clock_mono_ms();
		rc = db_start(a->db, DB_START_PRIMARY, NULL, (uint64_t)o->term, 0, err,
			      sizeof(err));
		if (rc == -EAGAIN) {
			start_wait(a, "the primary again", err);
			break;
		}
		start_outcome(a, "the primary again", rc, err, last_failed);
		if (rc == 0 && !last_failed)
			log_notice("starting the primary again after it stopped");
		break;
	case HA_ACT_RELEASE_LEADER:
		release_leader(a, a->dbs->flush_lsn);
		break;
	case HA_ACT_CLEAR_FAILOVER:
		rc = dcs_clear_failover(a->dcs, a->cluster->failover_mod_revision, msg,
					sizeof(msg));
		if (rc != 0 && rc != DCS_ERR_CONFLICT)
			note_dcs_error(a, "could not clear the failover key", rc, msg);
		break;
	case HA_ACT_SET_SYNC_NAMES:
		if (sync_from_names(&o->sync, o->sync_placeholder, o->sync_num, o->sync_any,
				    &sync) != 0 ||
		    db_set_sync_standbys(a->db, &sync, a->dyn.retry_timeout_ms, err, sizeof(err)) !=
			    0)
			act_fail(a, false, "could not set synchronous_standby_names: %s", err);
		break;
	case HA_ACT_WRITE_SYNC_KEY:
		write_sync_key(a);
		break;
	case HA_ACT_DELETE_SYNC_KEY:
		rc = dcs_delete_sync(a->dcs, a->cluster->sync_mod_revision, msg, sizeof(msg));
		if (rc != 0 && rc != DCS_ERR_CONFLICT)
			note_dcs_error(a, "could not delete the sync key", rc, msg);
		break;
	case HA_ACT_WRITE_INITIALIZE:
		rc = dcs_write_initialize(a->dcs, a->dbs->system_identifier, msg, sizeof(msg));
		if (rc != 0)
			note_dcs_error(a, "could not write the initialize key", rc, msg);
		break;
	case HA_ACT_SHUTDOWN:
	case HA_ACT_HALT:
		/* Carried out by agent_run, which then leaves the loop. */
		break;
	}
	act_report(a);
}

/* Hands the database driver the view's members when they changed since the last list it took
 * (openGauss lists them in replconninfoN; PostgreSQL needs none). Acting, not observing: it may
 * run gs_guc, so it comes after the cycle's action rather than on the lease's path. */
void set_db_peers(struct agent *a)
{
	struct db_peer peers[DB_PEERS_MAX];
	char err[DB_ERROR_MAX];
	int n = 0;

	/* The cluster term, for openGauss's gs_ctl build -T (PostgreSQL ignores it). */
	if (a->cluster->has_term && a->cluster->term_valid && a->cluster->term > 0 &&
	    a->cluster->term <= (int64_t)DB_TERM_MAX &&
	    db_set_term(a->db, (uint64_t)a->cluster->term, err, sizeof(err)) != 0)
		log_debug("could not hand the term to the database driver: %s", err);
	for (int i = 0; i < a->cluster->member_count && n < DB_PEERS_MAX; i++)
		if (peer_from_member(&a->cluster->members[i], &peers[n]) == 0)
			n++;
	if (n == a->db_peer_count && memcmp(peers, a->db_peers, sizeof(peers[0]) * n) == 0)
		return;
	if (db_set_peers(a->db, peers, n, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0) {
		log_warning("could not hand the member list to the database driver: %s, retrying",
			    err);
		return;
	}
	memcpy(a->db_peers, peers, sizeof(peers[0]) * n);
	a->db_peer_count = n;
	if (is_opengauss(a))
		log_info("openGauss member list: %d member(s)", n);
}

void apply_params(struct agent *a)
{
	struct db_params *params;
	char err[DB_ERROR_MAX];

	if (a->params_applied || !a->dbs->running || db_task_running(a->db))
		return;
	params = calloc(1, sizeof(*params));
	if (params == NULL)
		return;
	if (agent_db_params(a->cfg, &a->dyn, params, err, sizeof(err)) != 0 ||
	    db_apply_parameters(a->db, params, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0)
		log_warning("could not apply the server parameters: %s, retrying", err);
	else
		a->params_applied = true;
	free(params);
}

/* The CHECKPOINT after a promotion: PostgreSQL's own one after it is spread over
 * checkpoint_completion_target (4 s under load in issue 18's primary-freeze), an asked one runs
 * at full speed. Its wait is bounded short of the loop's deadlines; one that did not finish in
 * time still runs in the checkpointer, and is asked for again after a ttl. */
static void promotion_checkpoint(struct agent *a)
{
	const struct db_status *s = a->dbs;
	int64_t now = clock_mono_ms();
	char err[DB_ERROR_MAX];
	uint64_t redo;

	if (is_opengauss(a) || s->role != DB_ROLE_PRIMARY || s->checkpoint_timeline == 0 ||
	    s->checkpoint_timeline == s->timeline || !i_am_leader_in_view(a)) {
		a->promotion_checkpoint_ms = 0;
		return;
	}
	if (a->promotion_checkpoint_ms != 0 && now - a->promotion_checkpoint_ms < a->dyn.ttl_ms)
		return;
	a->promotion_checkpoint_ms = now;
	if (db_checkpoint(a->db, &redo, a->dyn.retry_timeout_ms / 2, err, sizeof(err)) != 0) {
		log_warning("checkpoint after promotion has not finished: %s; members wait to "
			    "rewind until it does, retrying",
			    err);
		return;
	}
	(void)db_get_status(a->db, a->dbs);
	log_info("checkpoint after promotion finished: pg_control is on timeline %u",
		 a->dbs->checkpoint_timeline);
}

void finish_promotion(struct agent *a)
{
	int64_t old_tl = a->promotion_old_timeline;

	if (a->promotion_pending && !i_am_leader_in_view(a) && a->dbs->role != DB_ROLE_PRIMARY) {
		a->promotion_pending = false; /* the key went: whoever leads now does them */
		return;
	}
	if (a->promotion_pending && a->dbs->role == DB_ROLE_PRIMARY &&
	    a->role.role == HA_ROLE_PRIMARY) {
		char err[DB_ERROR_MAX];

		a->promotion_pending = false;
		if (a->promotion_switchover)
			a->counters.switchovers++;
		else
			a->counters.failovers++;
		a->need_rewind = false;
		/* db_promote gave up waiting (or this is the first cycle after): it writes the
		 * configuration of a primary now that the server is one. */
		if (!is_opengauss(a) &&
		    db_promote(a->db, 0, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0)
			log_warning("could not write the configuration after promotion: %s", err);
		/* A replica's reported timeline can lag the one it replays; the row names the
		 * timeline the promotion ended, which is the new one minus one unless it stepped
		 * over reserved IDs (then the one seen before it). */
		if (a->dbs->timeline > 1 && !a->promotion_reserved)
			old_tl = (int64_t)a->dbs->timeline - 1;
		write_history(a, old_tl, a->promotion_lsn);
	}
	promotion_checkpoint(a);
}

/* Keeps the role in step with what the database is (after tasks, restarts, crashes). */
void settle_role(struct agent *a)
{
	enum ha_role want;

	if (a->handover_until_ms != 0)
		return; /* demoting: a native switchover turns the primary into a standby */
	if (a->busy == HA_ACT_BOOTSTRAP)
		want = HA_ROLE_BOOTSTRAPPING;
	else if (a->busy == HA_ACT_CLONE)
		want = HA_ROLE_CLONING;
	else if (a->busy == HA_ACT_REJOIN)
		want = HA_ROLE_REJOINING;
	else if (a->dbs->role == DB_ROLE_PRIMARY)
		want = HA_ROLE_PRIMARY;
	else if (a->dbs->role == DB_ROLE_REPLICA)
		/* A promotion db_promote stopped waiting for is still one while I lead. */
		want = a->promotion_pending && i_am_leader_in_view(a) ? HA_ROLE_PROMOTING
								      : HA_ROLE_REPLICA;
	else if (!a->dbs->initialized)
		want = HA_ROLE_UNINITIALIZED;
	else if (!a->dbs->running)
		want = HA_ROLE_STOPPED;
	else
		return; /* starting or stopping: keep the role until it settles */
	/* It ran under this agent, stopped (a crash, a kill, a fence) and runs again in place. */
	if (a->db_ran && a->role.role == HA_ROLE_STOPPED &&
	    (want == HA_ROLE_PRIMARY || want == HA_ROLE_REPLICA))
		a->counters.restarts++;
	a->db_ran = a->db_ran || want == HA_ROLE_PRIMARY || want == HA_ROLE_REPLICA;
	if (want == a->role.role)
		return;
	if (a->role.role == HA_ROLE_UNINITIALIZED && want == HA_ROLE_PRIMARY &&
	    !i_am_leader_in_view(a))
		set_role(a, HA_ROLE_DEMOTING, "found a running primary without the leader key");
	else
		set_role(a, want,
			 want == HA_ROLE_PRIMARY && a->role.role == HA_ROLE_PROMOTING
				 ? "promotion finished"
			 : want == HA_ROLE_PRIMARY	 ? "running as primary"
			 : want == HA_ROLE_REPLICA	 ? "running as a replica"
			 : want == HA_ROLE_PROMOTING	 ? "the server is still promoting"
			 : want == HA_ROLE_STOPPED	 ? "database not running"
			 : want == HA_ROLE_UNINITIALIZED ? "no data directory"
							 : "task running");
}
