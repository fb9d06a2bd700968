/*
 * observe.c - the observe phase: the lease as the lease thread keeps it (lease.c; a grant,
 * adoption or rebind when the loop must), the cluster view (watch-fed, or one linearizable read
 * where a decision needs proof), the dynamic configuration from the config key, one database status
 * (and the progress of a running db task). docs/ha-loop-contract.md, "One cycle".
 */
#include "agent_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "lsn.h"

/* Logs a DCS failure only when its text changes (STYLE.md: not every second). */
void note_dcs_error(struct agent *a, const char *what, int rc, const char *msg)
{
	char line[DCS_MSG_MAX];

	a->act_dcs_failed = true;
	if (buf_format(line, sizeof(line), "%s: %s", what,
		       msg[0] != '\0' ? msg : dcs_strerror(rc)) != 0)
		return;
	if (strcmp(line, a->dcs_error) != 0) {
		log_warning("%s, retrying", line);
		memcpy(a->dcs_error, line, sizeof(line));
	}
}

/* Says which values in etcd the view refused (a member name over 63 bytes, a value over its
 * key's limit, trailing garbage): they read as absent, so an operator must hear why. Logged when
 * it changes, not every cycle. */
static void note_rejected(struct agent *a)
{
	const struct dcs_cluster *c = a->cluster;

	if (c->rejected_count == 0) {
		if (a->dcs_rejected[0] != '\0')
			log_notice("etcd holds no refused values any more");
		a->dcs_rejected[0] = '\0';
		return;
	}
	if (strcmp(c->rejected, a->dcs_rejected) != 0) {
		log_warning("%d values in etcd refused and read as absent, the first: %s, ignoring",
			    c->rejected_count, c->rejected);
		memcpy(a->dcs_rejected, c->rejected, sizeof(a->dcs_rejected));
	}
}

/* A running primary that holds the key must decide by its deadline even when etcd is silent:
 * every DCS call of the observe step ends by then (docs/timing.md, "Come back in time"). The
 * deadline is lease_fence_deadline_ms (lease.c, from the core's ha_leader_deadline_ms and the
 * keepalives that succeeded); past it, in failsafe mode, the core's ha_leader_call_cap_ms leaves
 * half of what is left of the proof to a round of pings. This also tells the lease thread the
 * timing in effect and whether this node leads now, so the deadline it hands on (the guardian)
 * is current.
 * Returns it, or 0 when no cap applies (not a primary, paused, never renewed, not the holder). */
int64_t fence_cap(const struct agent *a)
{
	bool leading = a->dbs->role == DB_ROLE_PRIMARY && !a->dyn.pause && i_am_leader_in_view(a);
	struct ha_policy policy;
	int64_t f;

	agent_ha_policy(a->cfg, &a->dyn, &policy);
	lease_set_policy(a->lease, &policy);
	lease_set_leading(a->lease, leading, a->failsafe_acked_ms);
	f = lease_fence_deadline_ms(a->lease);
	if (f != 0 && f <= clock_mono_ms()) {
		struct lease_state st;

		lease_get(a->lease, &st);
		/* Granted TTL 0, as in the decision's input (dcs.lease_ttl_ms). */
		f = ha_leader_call_cap_ms(&policy, st.renewed_ms, 0, a->failsafe_acked_ms,
					  clock_mono_ms());
	}
	return f > clock_mono_ms() ? f : 0;
}

/* After an agent restart the leader key (or the member key) may still ride on the lease the
 * previous process kept alive: adopting it keeps a running primary's key without a demotion
 * (patroni-compat.md 2.3; without it the key names us on a lease we do not renew). Returns 0 when
 * a lease was adopted. */
static int adopt_lease(struct agent *a)
{
	const struct dcs_member *me;
	char msg[DCS_MSG_MAX];
	uint64_t lease = 0;
	bool leader = false;
	int rc;

	if (dcs_read_cluster(a->dcs, a->cluster, msg, sizeof(msg)) != 0)
		return -EAGAIN;
	if (i_am_leader_in_view(a) && a->cluster->leader_lease != 0) {
		lease = a->cluster->leader_lease;
		leader = true;
	} else if ((me = dcs_cluster_member(a->cluster, a->cfg->name)) != NULL) {
		lease = me->lease;
	}
	if (lease == 0)
		return -ENOENT;
	rc = dcs_lease_adopt(a->dcs, lease, leader, msg, sizeof(msg));
	if (rc != 0)
		return -EAGAIN;
	log_notice("adopted lease %llu of the previous agent%s", (unsigned long long)lease,
		   leader ? " (it holds the leader key)" : "");
	return 0;
}

/* Slack on top of a keepalive's interval and bound before its answer counts as overdue. */
#define KEEPALIVE_LATE_MS 100

/* The lease as the lease thread keeps it. lease_ok: its last keepalive of the lease the client
 * holds succeeded and the next is not overdue (due an interval later, bounded by the attempt
 * bound of the lease thread's schedule, both the leader's or a member's);
 * so a keepalive that hangs in etcd's silence counts as failed before it times out, as it did
 * when the loop sent it. A failure is logged when its text changes. Returns true when etcd looks
 * silent (a transient failure, or an overdue answer): the cluster read would only spend another
 * retry_timeout. */
static bool take_lease_state(struct agent *a)
{
	struct ha_policy policy;
	struct lease_state st;
	uint64_t id = dcs_lease_id(a->dcs);
	int64_t age;
	bool overdue, leading;

	lease_get(a->lease, &st);
	if (id == 0 || st.lease != id) {
		a->lease_ok = false;
		a->lease_renewed_ms = 0;
		return false;
	}
	agent_ha_policy(a->cfg, &a->dyn, &policy);
	age = clock_mono_ms() - st.renewed_ms;
	leading = lease_fence_deadline_ms(a->lease) != 0;
	overdue = st.renewed_ms <= 0 || age > ha_keepalive_interval_ms(&policy, leading) +
							ha_keepalive_timeout_ms(&policy, leading) +
							KEEPALIVE_LATE_MS;
	/* The lease thread lets a keepalive wait for its answer up to the fence window (lease.c),
	 * and its late answer still counts; to the loop, etcd is silent once one has waited the
	 * attempt bound, so that it pings the failsafe members (and skips the cluster read) while
	 * time is left before the deadline, as when a keepalive was cut at that bound. */
	if (st.waiting_since_ms > 0 &&
	    clock_mono_ms() - st.waiting_since_ms >= ha_keepalive_timeout_ms(&policy, leading))
		overdue = true;
	a->lease_renewed_ms = st.renewed_ms;
	a->lease_ok = st.ok && !overdue;
	if (!st.ok && st.error[0] != '\0')
		note_dcs_error(a, "could not renew the lease", st.last_rc, st.error);
	else if (st.ok && overdue && st.renewed_ms > 0)
		note_dcs_error(a, "could not renew the lease", DCS_ERR_TRANSIENT,
			       "no keepalive answered in time");
	return (!st.ok && dcs_error_is_transient(st.last_rc)) || (st.ok && overdue);
}

/* The cluster view of this cycle: the watch-fed one while the watch follows without a gap and
 * no proof is asked, else one linearizable read (docs/ha-loop-contract.md, "Which view"). */
static void observe_view(struct agent *a, bool proof)
{
	char msg[DCS_MSG_MAX] = "";
	int rc = 0;

	a->read_next = false;
	a->view_cached = !proof && a->view_mono_ms != 0 && dcs_cached_cluster(a->dcs, a->cluster);
	if (!a->view_cached)
		rc = dcs_read_cluster(a->dcs, a->cluster, msg, sizeof(msg));
	a->view_ok = rc == 0;
	if (rc == 0) {
		a->view_mono_ms = clock_mono_ms();
		a->view_wall_ms = clock_wall_ms();
		if (a->lease_ok)
			a->dcs_error[0] = '\0';
		note_rejected(a);
	} else {
		note_dcs_error(a, "could not read the cluster from etcd", rc, msg);
	}
}

void observe_dcs(struct agent *a)
{
	char msg[DCS_MSG_MAX] = "";
	int64_t sent = clock_mono_ms();
	int rc = 0;

	lease_heartbeat(a->lease);
	(void)fence_cap(a); /* the timing in effect, and whether I lead, for the lease thread */
	/* Shutting down: decide on the last view rather than wait retry_timeout twice for an etcd
	 * that may be gone; the shutdown itself still releases the key if it can. */
	if (agent_stop_requested && a->view_mono_ms != 0) {
		a->view_ok = false;
		a->lease_ok = false;
		return;
	}
	/* The lease thread keeps the lease alive; the loop grants one when there is none (at
	 * start, or after the thread found it gone), adopts the previous agent's at start, and
	 * rebinds the leader key when it rides on another lease. */
	if (dcs_lease_id(a->dcs) == 0 && a->view_mono_ms == 0 && adopt_lease(a) == 0) {
		lease_noted(a->lease, dcs_lease_id(a->dcs), sent);
	} else if (dcs_lease_id(a->dcs) == 0) {
		rc = dcs_lease_grant(a->dcs, msg, sizeof(msg));
		if (rc == 0)
			lease_noted(a->lease, dcs_lease_id(a->dcs), sent);
	} else if (a->view_ok && i_am_leader_in_view(a) &&
		   a->cluster->leader_lease != dcs_lease_id(a->dcs)) {
		rc = dcs_renew_leader(a->dcs, msg, sizeof(msg));
		if (rc == DCS_ERR_CONFLICT)
			rc = 0; /* the lease lives; the view shows who holds the key */
		if (rc == 0)
			lease_noted(a->lease, dcs_lease_id(a->dcs), sent);
	}
	if (rc != 0)
		note_dcs_error(a, "could not renew the lease", rc, msg);
	if (take_lease_state(a) || (rc != 0 && dcs_error_is_transient(rc))) {
		/* etcd is silent: decide now on the fence deadline, not a retry_timeout later. */
		a->view_ok = false;
		(void)fence_cap(a);
		return;
	}
	if (a->lease_ok)
		dcs_cap_calls(a->dcs, fence_cap(a));

	observe_view(a, a->read_next);
	/* The view may have changed who leads: tell the lease thread (and the guardian). */
	(void)fence_cap(a);
}

void observe_dcs_proof(struct agent *a)
{
	observe_view(a, true);
	(void)fence_cap(a);
}

/* Takes the dynamic configuration from the config key when it changed, and applies its
 * server parameters. A value gsha cannot use keeps the value in effect and is reported once,
 * when what is skipped changes; it never voids the rest of the document. */
void observe_config(struct agent *a)
{
	struct cfg_dynamic *dyn;
	char bad[DYN_BAD_MAX];
	int64_t before = a->dyn_mod_revision;
	int rc;

	if (!a->view_ok || !a->cluster->has_config ||
	    a->cluster->config_mod_revision == a->dyn_mod_revision)
		return;
	/* On the heap: some 125 kB that would stay resident in the loop's stack (issue 15). */
	dyn = malloc(sizeof(*dyn));
	if (dyn == NULL) {
		log_warning("could not parse the dynamic configuration: out of memory, retrying");
		return;
	}
	rc = cfg_dynamic_parse_lenient(a->cluster->config, strlen(a->cluster->config), &a->dyn, dyn,
				       bad, sizeof(bad));
	if (strcmp(bad, a->dyn_bad) != 0) {
		if (bad[0] == '\0')
			log_info("the dynamic configuration in etcd is valid again");
		else if (rc != 0)
			log_warning("ignoring the dynamic configuration in etcd: %s", bad);
		else
			log_warning(
				"dynamic configuration in etcd: keeping the values in effect for "
				"%s",
				bad);
		memcpy(a->dyn_bad, bad, sizeof(bad));
	}
	a->dyn_mod_revision = a->cluster->config_mod_revision;
	if (rc != 0)
		goto out_free_dyn;
	if (before != 0)
		log_info("dynamic configuration changed (revision %lld)",
			 (long long)a->cluster->config_mod_revision);
	/* Patroni skips a slot entry it does not understand and says so; so does gsha. */
	if (dyn->slots.skipped > 0)
		log_warning("dynamic configuration: %d entries of \"slots\" skipped, first %s",
			    dyn->slots.skipped, dyn->slots.skipped_why);
	if (dyn->ignore_slots.skipped > 0)
		log_warning(
			"dynamic configuration: %d entries of \"ignore_slots\" skipped, first %s",
			dyn->ignore_slots.skipped, dyn->ignore_slots.skipped_why);
	cfg_dynamic_copy(&a->dyn, dyn);
	a->params_applied = false;
out_free_dyn:
	free(dyn);
}

void observe_db(struct agent *a)
{
	char err[DB_ERROR_MAX] = "";
	int rc;

	if (a->busy != HA_ACT_NONE && (a->task_ended || db_task_running(a->db))) {
		char progress[256];

		if (a->task_ended) {
			/* It ended while the loop waited (run.c polls it then). */
			rc = a->task_rc;
			memcpy(err, a->task_err, sizeof(err));
			a->task_ended = false;
		} else {
			rc = db_task_poll(a->db, 0, err, sizeof(err));
		}
		if (rc == -EINPROGRESS) {
			/* pg_basebackup's progress goes to the log when it moves (issue 4). */
			if (db_task_progress(a->db, progress, sizeof(progress)) == 0 &&
			    progress[0] != '\0' && strcmp(progress, a->last_progress) != 0) {
				log_info("%s: %s", db_task_name(a->db), progress);
				buf_copy_or_clear(a->last_progress, sizeof(a->last_progress),
						  progress);
			}
		} else if (rc == 0) {
			log_info("%s finished", ha_action_name(a->busy));
			if (a->busy == HA_ACT_REJOIN)
				a->need_rewind = false;
			if (a->busy == HA_ACT_BOOTSTRAP)
				a->start_since_ms = 0;
			if (a->busy == HA_ACT_CLONE)
				a->clone_failed = false;
			a->busy = HA_ACT_NONE;
		} else if (rc == -EAGAIN && a->busy == HA_ACT_REJOIN) {
			/* The leader's checkpoint after promotion is not done: rewind later. */
			log_info("%s postponed: %s", ha_action_name(a->busy), err);
			a->need_rewind = true;
			a->busy = HA_ACT_NONE;
		} else {
			log_error("%s failed: %s", ha_action_name(a->busy), err);
			/* A half-copied data directory is no database: the next cycle clones
			 * again (replacing it) instead of taking it for a crashed primary. */
			if (a->busy == HA_ACT_CLONE)
				a->clone_failed = true;
			if (a->busy == HA_ACT_BOOTSTRAP)
				a->bootstrap_failed = true;
			a->busy = HA_ACT_NONE;
		}
	} else if (a->busy != HA_ACT_NONE) {
		a->busy = HA_ACT_NONE;
	}
	(void)db_get_status(a->db, a->dbs);
	a->control_ok = false;
	if (a->dbs->initialized && !a->dbs->running && !db_task_running(a->db))
		a->control_ok = db_read_control(a->db, &a->control, a->dyn.retry_timeout_ms, err,
						sizeof(err)) == 0;
	if (a->dbs->running && a->dbs->accepting)
		a->start_since_ms = 0;
	/* A stopped server whose checkpoint lies past the fork of the timeline it would follow
	 * fails every start ("requested timeline N is not a child of this server's history"):
	 * it is rewound (or cloned anew) first, as a former primary is. */
	if (!a->dbs->running && a->dbs->fork_timeline > 0 && !a->need_rewind &&
	    a->busy == HA_ACT_NONE) {
		char fork[LSN_TEXT_MAX];

		lsn_format(a->dbs->fork_lsn, fork);
		log_warning("the data directory is past the fork of timeline %u at %s: it must be "
			    "rewound before it can start",
			    a->dbs->fork_timeline, fork);
		a->need_rewind = true;
	}
}
