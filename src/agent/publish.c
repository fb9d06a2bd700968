/*
 * publish.c - the publish phase: the member key for peers and patronictl, the REST snapshot
 * for health checks, and the cycle's one outcome line.
 */
#include "agent_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "guardian.h"
#include "log.h"
#include "timefmt.h"

/* The member document; Patroni's are a few hundred bytes. */
#define MEMBER_DOC_MAX (DCS_MEMBER_DOC_MAX + 1)
/* An outcome line repeats at info at most this often while it stays the same (STYLE.md). */
#define HEARTBEAT_MS 60000

/* Patroni's state of this node's database, for the member key and the REST snapshot. */
static enum rest_db_state db_state_of(const struct agent *a)
{
	if (a->busy == HA_ACT_BOOTSTRAP)
		return REST_DB_INITIALIZING;
	if (a->busy == HA_ACT_CLONE)
		return REST_DB_CREATING_REPLICA;
	if (a->busy == HA_ACT_REJOIN)
		return REST_DB_STOPPED;
	switch (a->dbs->role) {
	case DB_ROLE_PRIMARY:
	case DB_ROLE_REPLICA:
		return REST_DB_RUNNING;
	case DB_ROLE_UNKNOWN:
		return REST_DB_UNKNOWN;
	case DB_ROLE_PENDING:
	case DB_ROLE_STARTING:
		return REST_DB_STARTING;
	case DB_ROLE_STOPPING:
		return REST_DB_STOPPING;
	case DB_ROLE_CRASHED:
		return REST_DB_CRASHED;
	case DB_ROLE_STOPPED:
		break;
	}
	return REST_DB_STOPPED;
}

/* Patroni's role of this node, for the member key and /patroni. */
static enum rest_role role_of(const struct agent *a)
{
	if (a->dbs->role == DB_ROLE_PRIMARY)
		return REST_ROLE_PRIMARY;
	if (a->dbs->role == DB_ROLE_REPLICA)
		return in_standby_cluster(a) && i_am_leader_in_view(a) ? REST_ROLE_STANDBY_LEADER
								       : REST_ROLE_REPLICA;
	if (a->role.role == HA_ROLE_DEMOTING)
		return REST_ROLE_DEMOTED;
	if (!a->dbs->initialized)
		return REST_ROLE_UNINITIALIZED;
	return REST_ROLE_REPLICA;
}

/* Their words, from the REST module's one table. */
static const char *state_word(const struct agent *a)
{
	return rest_db_state_name(db_state_of(a));
}

static const char *role_word(const struct agent *a)
{
	return rest_role_name(role_of(a), NULL);
}

/* Reads the history key again when it changed (GET /history serves its newest rows). A key that
 * does not read as a history keeps the rows last read, and is logged once. */
static void update_history(struct agent *a)
{
	const struct dcs_cluster *c = a->cluster;
	char msg[DCS_MSG_MAX];
	int n = 0, total = 0;

	if (!a->view_ok)
		return;
	if (!c->has_history || c->history_oversized) {
		a->history_count = 0;
		a->history_rev = 0;
		return;
	}
	if (c->history_mod_revision == a->history_rev)
		return;
	a->history_rev = c->history_mod_revision;
	if (dcs_history_parse(c->history, a->history, REST_HISTORY_MAX, &n, &total, msg,
			      sizeof(msg)) != 0) {
		log_warning("could not read the history key: %s, ignoring", msg);
		return;
	}
	a->history_count = n;
}

/* The member document's tags: the non-default built-in ones, then the custom ones as typed
 * (dcs builds the JSON, so a quote in a value stays a quote). */
static int member_tags(const struct cfg *c, struct dcs_tags *t)
{
	static const enum dcs_tag_kind kinds[] = {
		[CFG_VALUE_STRING] = DCS_TAG_STRING,
		[CFG_VALUE_NUMBER] = DCS_TAG_NUMBER,
		[CFG_VALUE_BOOL] = DCS_TAG_BOOL,
		[CFG_VALUE_NONE] = DCS_TAG_NULL,
	};
	char priority[DCS_TAG_VALUE_MAX];
	int rc = 0;

	t->count = 0;
	if (c->tags.nofailover)
		rc = rc ? rc : dcs_tags_add(t, "nofailover", DCS_TAG_BOOL, "true");
	if (c->tags.noloadbalance)
		rc = rc ? rc : dcs_tags_add(t, "noloadbalance", DCS_TAG_BOOL, "true");
	if (c->tags.clonefrom)
		rc = rc ? rc : dcs_tags_add(t, "clonefrom", DCS_TAG_BOOL, "true");
	if (c->tags.nosync)
		rc = rc ? rc : dcs_tags_add(t, "nosync", DCS_TAG_BOOL, "true");
	if (c->tags.sync_priority != 1) {
		snprintf(priority, sizeof(priority), "%d", c->tags.sync_priority);
		rc = rc ? rc : dcs_tags_add(t, "sync_priority", DCS_TAG_NUMBER, priority);
	}
	if (c->tags.failover_priority != 1) {
		snprintf(priority, sizeof(priority), "%d", c->tags.failover_priority);
		rc = rc ? rc : dcs_tags_add(t, "failover_priority", DCS_TAG_NUMBER, priority);
	}
	if (c->tags.nostream)
		rc = rc ? rc : dcs_tags_add(t, "nostream", DCS_TAG_BOOL, "true");
	if (c->tags.replicatefrom[0] != '\0')
		rc = rc ? rc
			: dcs_tags_add(t, "replicatefrom", DCS_TAG_STRING, c->tags.replicatefrom);
	for (int i = 0; i < c->tags.custom.count; i++) {
		const struct cfg_kv *kv = &c->tags.custom.items[i];

		rc = rc ? rc
			: dcs_tags_add(t, kv->name,
				       kv->kind <= CFG_VALUE_NONE ? kinds[kv->kind]
								  : DCS_TAG_STRING,
				       kv->value);
	}
	return rc;
}

void touch_member(struct agent *a)
{
	struct dcs_member_doc *m;
	char doc[MEMBER_DOC_MAX], msg[DCS_MSG_MAX];
	const struct db_status *s = a->dbs;
	int rc;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return;
	buf_copy_or_clear(m->conn_url, sizeof(m->conn_url), a->conn_url);
	buf_copy_or_clear(m->api_url, sizeof(m->api_url), a->api_url);
	buf_copy_or_clear(m->state, sizeof(m->state), state_word(a));
	buf_copy_or_clear(m->role, sizeof(m->role), role_word(a));
	buf_copy_or_clear(m->version, sizeof(m->version), GSHA_VERSION);
	if (s->role == DB_ROLE_PRIMARY) {
		m->has_xlog_location = true;
		m->xlog_location_lsn = s->flush_lsn;
	} else if (s->role == DB_ROLE_REPLICA) {
		m->has_xlog_location = true;
		m->xlog_location_lsn =
			s->receive_lsn > s->replay_lsn ? s->receive_lsn : s->replay_lsn;
		m->has_replay_lsn = true;
		m->replay_lsn = s->replay_lsn;
		m->has_receive_lsn = true;
		m->receive_lsn = s->receive_lsn;
		buf_copy_or_clear(m->replication_state, sizeof(m->replication_state),
				  s->replication_state == DB_REPL_STREAMING
					  ? "streaming"
					  : "in archive recovery");
	}
	m->timeline = s->timeline;
	/* Patroni's wire form: false while a promoted leader's pg_control is still on an older
	 * timeline (pg_rewind against it would see that one), absent once its checkpoint after
	 * promotion is done, which Patroni reads as true for a primary. */
	if (s->role == DB_ROLE_PRIMARY && s->checkpoint_timeline != 0 &&
	    s->checkpoint_timeline != s->timeline) {
		m->has_checkpoint_after_promote = true;
		m->checkpoint_after_promote = false;
	}
	if (member_tags(a->cfg, &m->tags) != 0)
		log_warning("the tags do not fit a member document, writing those that fit");
	m->pause = a->dyn.pause;
	m->pending_restart = s->pending_restart;
	rc = dcs_member_doc_build(a->dcs, m, doc, sizeof(doc), msg, sizeof(msg));
	if (rc == 0)
		rc = dcs_touch_member(a->dcs, doc, msg, sizeof(msg));
	if (rc != 0)
		note_dcs_error(a, "could not write the member key", rc, msg);
	free(m);
}

bool names_contain(const struct ha_names *names, const char *name)
{
	for (int i = 0; i < names->count; i++)
		if (strcmp(names->name[i], name) == 0)
			return true;
	return false;
}

void publish(struct agent *a)
{
	const struct ha_names *sync_names;
	struct rest_snapshot *sn = a->snap;
	const struct db_status *s = a->dbs;
	const struct dcs_cluster *c = a->cluster;

	rest_snapshot_clear(sn);
	buf_copy_or_clear(sn->name, sizeof(sn->name), a->cfg->name);
	buf_copy_or_clear(sn->scope, sizeof(sn->scope), a->cfg->scope);
	buf_copy_or_clear(sn->version, sizeof(sn->version), GSHA_VERSION);
	sn->role = role_of(a);
	sn->state = db_state_of(a);
	sn->standby_cluster = in_standby_cluster(a);
	sn->pg_reachable = s->accepting;
	if (s->postmaster_start_time[0] != '\0') {
		int64_t ms;

		if (time_parse_iso(s->postmaster_start_time, &ms, NULL, 0) == TIME_OK)
			sn->postmaster_start_wall_us = ms * 1000;
	}
	sn->server_version = s->server_version;
	sn->timeline = s->timeline;
	sn->wal_location_bytes = s->flush_lsn;
	sn->received_lsn_bytes = s->receive_lsn != 0 ? s->receive_lsn : s->replay_lsn;
	sn->replayed_lsn_bytes = s->replay_lsn;
	sn->replay_paused = s->replay_paused;
	if (s->role == DB_ROLE_REPLICA)
		sn->replication_state = s->replication_state == DB_REPL_STREAMING
						? REST_REPLICATION_STREAMING
						: REST_REPLICATION_ARCHIVE_RECOVERY;
	for (int i = 0; i < s->standby_count && sn->walsender_count < REST_REPLICATION_MAX; i++) {
		struct rest_walsender *w = &sn->walsenders[sn->walsender_count++];

		buf_copy_or_clear(w->usename, sizeof(w->usename), s->standbys[i].usename);
		buf_copy_or_clear(w->application_name, sizeof(w->application_name),
				  s->standbys[i].application_name);
		buf_copy_or_clear(w->client_addr, sizeof(w->client_addr),
				  s->standbys[i].client_addr);
		buf_copy_or_clear(w->state, sizeof(w->state), s->standbys[i].state);
		buf_copy_or_clear(w->sync_state, sizeof(w->sync_state),
				  db_sync_state_name(s->standbys[i].sync_state));
		w->sync_priority = s->standbys[i].sync_priority;
		w->write_lsn_bytes = s->standbys[i].write_lsn;
		w->flush_lsn_bytes = s->standbys[i].flush_lsn;
		w->replay_lsn_bytes = s->standbys[i].replay_lsn;
	}
	buf_copy_or_clear(sn->system_identifier, sizeof(sn->system_identifier),
			  s->system_identifier);
	sn->pending_restart = s->pending_restart;
	/* Tags as configured. */
#define SNAP_TAG(field)                                            \
	if (a->cfg->tags.field && sn->tag_count < REST_TAGS_MAX) { \
		struct rest_tag *t = &sn->tags[sn->tag_count++];   \
		memcpy(t->key, #field, sizeof(#field));            \
		memcpy(t->value, "true", 5);                       \
		t->type = REST_TAG_BOOL;                           \
	}
	SNAP_TAG(nofailover)
	SNAP_TAG(noloadbalance)
	SNAP_TAG(clonefrom)
	SNAP_TAG(nosync)
	SNAP_TAG(nostream)
#undef SNAP_TAG
	if (a->cfg->tags.replicatefrom[0] != '\0' && sn->tag_count < REST_TAGS_MAX &&
	    buf_copy(sn->tags[sn->tag_count].key, sizeof(sn->tags[0].key), "replicatefrom") == 0 &&
	    buf_copy(sn->tags[sn->tag_count].value, sizeof(sn->tags[0].value),
		     a->cfg->tags.replicatefrom) == 0)
		sn->tags[sn->tag_count++].type = REST_TAG_STRING;
	for (int i = 0; i < a->cfg->tags.custom.count && sn->tag_count < REST_TAGS_MAX; i++) {
		const struct cfg_kv *kv = &a->cfg->tags.custom.items[i];
		struct rest_tag *t = &sn->tags[sn->tag_count];

		if (buf_copy(t->key, sizeof(t->key), kv->name) != 0 ||
		    buf_copy(t->value, sizeof(t->value), kv->value) != 0)
			continue;
		t->type = kv->kind == CFG_VALUE_BOOL	 ? REST_TAG_BOOL
			  : kv->kind == CFG_VALUE_NUMBER ? REST_TAG_NUMBER
							 : REST_TAG_STRING;
		sn->tag_count++;
	}
	sn->has_lock = a->out.leader;
	/* A demoting leader still holds the key, but is about to stop taking writes, and one that
	 * released the key this cycle (release_leader clears the view's leader) holds nothing: no
	 * longer a primary to send clients to (the switchover's load balancer hand-off,
	 * docs/timing.md). With rise 1, one stale 200 would bring a stopped primary back. */
	sn->lease_deadline_ms =
		a->out.leader && a->role.role != HA_ROLE_DEMOTING && i_am_leader_in_view(a)
			? a->out.fence_deadline_ms
			: 0;
	sn->dcs_last_seen_mono_ms = a->view_mono_ms;
	sn->dcs_last_seen_wall_ms = a->view_wall_ms;
	sn->ttl_ms = a->dyn.ttl_ms;
	sn->cluster_unlocked = !c->has_leader || !a->view_ok;
	sn->cluster_optime_bytes = c->has_optime && c->optime_lsn > 0 ? (uint64_t)c->optime_lsn : 0;
	sn->maximum_lag_on_failover_bytes = (uint64_t)a->dyn.maximum_lag_on_failover_bytes;
	sn->paused = a->dyn.pause;
	sn->sync_mode = a->dyn.synchronous_mode == CFG_SYNC_QUORUM ? REST_SYNC_QUORUM
			: a->dyn.synchronous_mode == CFG_SYNC_ON   ? REST_SYNC_ON
								   : REST_SYNC_OFF;
	/* The sync key as build_input parsed it this cycle. */
	sync_names = a->dyn.synchronous_mode && a->in->dcs.sync.present ? &a->in->dcs.sync.standbys
									: NULL;
	sn->is_sync_standby = sync_names != NULL && names_contain(sync_names, a->cfg->name);
	sn->is_quorum_standby = sn->is_sync_standby; /* the renderer reads the one its mode uses */
	sn->failsafe_mode_enabled = a->dyn.failsafe_mode;
	sn->failsafe_active = a->failsafe_active;
	sn->has_failsafe_key = a->failsafe_count > 0;
	for (int i = 0; i < a->failsafe_count && sn->failsafe_count < REST_FAILSAFE_MAX; i++) {
		struct rest_failsafe_entry *e = &sn->failsafe[sn->failsafe_count];

		if (buf_copy(e->name, sizeof(e->name), a->failsafe[i].name) == 0 &&
		    buf_copy(e->api_url, sizeof(e->api_url), a->failsafe[i].api_url) == 0)
			sn->failsafe_count++;
	}
	update_history(a);
	for (int i = 0; i < a->history_count && i < REST_HISTORY_MAX; i++) {
		const struct dcs_history_row *h = &a->history[i];
		struct rest_history_row *r = &sn->history[sn->history_count++];

		r->timeline = h->timeline;
		r->lsn_bytes = h->lsn;
		buf_copy_or_clear(r->reason, sizeof(r->reason), h->reason);
		/* rest_o_history prints a timestamp only when set, and a leader only after one */
		buf_copy_or_clear(r->timestamp, sizeof(r->timestamp),
				  h->fields >= 4 ? h->timestamp : "");
		buf_copy_or_clear(r->new_leader, sizeof(r->new_leader),
				  h->fields >= 5 ? h->leader : "");
	}
	sn->next_cycle_due_ms = clock_mono_ms() + a->dyn.loop_wait_ms + a->dyn.retry_timeout_ms;
	sn->loop_duration_ms = a->loop_duration_ms;
	sn->role_changes = a->role_changes;
	sn->counters = a->counters;
	{
		struct guardian_stats gs;

		guardian_stats(a->guardian, &gs);
		sn->counters.guardian_respawns = gs.respawns;
		sn->counters.watchdog_pings = gs.watchdog_pings;
		sn->counters.watchdog_skipped = gs.watchdog_skipped;
		sn->counters.watchdog_active = gs.watchdog_active;
	}
	sn->watchdog_failed = a->watchdog_failed;
	{
		struct dcs_stats st;

		dcs_get_stats(a->dcs, &st);
		sn->counters.dcs_latency = st.latency;
		sn->counters.dcs_errors = st.errors;
	}
	for (int i = 0; i < c->member_count && sn->member_count < REST_MEMBERS_MAX; i++) {
		const struct dcs_member *m = &c->members[i];
		struct rest_member *r = &sn->members[sn->member_count];
		struct db_peer p;

		if (buf_copy(r->name, sizeof(r->name), m->name) != 0)
			continue;
		r->is_leader = c->has_leader && strcmp(c->leader, m->name) == 0;
		buf_copy_or_clear(r->state, sizeof(r->state), m->state);
		buf_copy_or_clear(r->replication_state, sizeof(r->replication_state),
				  m->replication_state);
		buf_copy_or_clear(r->api_url, sizeof(r->api_url), m->api_url);
		if (peer_from_member(m, &p) == 0) {
			buf_copy_or_clear(r->host, sizeof(r->host), p.host);
			r->port = p.port;
		}
		r->timeline = m->timeline;
		r->has_lsn = m->has_xlog_location;
		r->lsn_bytes = (uint64_t)m->xlog_location_lsn;
		r->has_receive_lsn = m->has_receive_lsn;
		r->receive_lsn_bytes = (uint64_t)m->receive_lsn;
		r->has_replay_lsn = m->has_replay_lsn;
		r->replay_lsn_bytes = (uint64_t)m->replay_lsn;
		r->pending_restart = m->pending_restart;
		r->is_sync_standby = sync_names != NULL && names_contain(sync_names, m->name);
		sn->member_count++;
	}
	if (c->has_config && buf_copy(sn->config_json, sizeof(sn->config_json), c->config) != 0)
		sn->config_json[0] = '\0';
	pthread_mutex_lock(&a->req_lock);
	sn->has_scheduled_restart = a->sched_restart;
	if (a->sched_restart)
		buf_copy_or_clear(sn->scheduled_restart_at, sizeof(sn->scheduled_restart_at),
				  a->sched_req.schedule);
	a->pub_pending_restart = s->pending_restart;
	a->pub_server_version = s->server_version;
	a->pub_primary = s->role == DB_ROLE_PRIMARY;
	pthread_mutex_unlock(&a->req_lock);
	/* Under live_lock, so that the lease thread never publishes an older copy after this one. */
	pthread_mutex_lock(&a->live_lock);
	if (rest_publish(a->rest, sn) != 0)
		log_warning("could not publish the REST snapshot: out of memory");
	a->live_valid = sn->lease_deadline_ms != 0;
	if (a->live_valid)
		rest_snapshot_copy(a->live_snap, sn);
	pthread_mutex_unlock(&a->live_lock);
}

/*
 * The snapshot's lease deadline is the fence deadline the loop decided with, and the snapshot is
 * published at the end of the cycle. When the loop is starved (a CPU-hogged node, etcd writes
 * that take their whole retry_timeout) a cycle can end after that deadline although the lease
 * thread renewed the lease meanwhile, and /primary would answer 503 for a healthy leader: a load
 * balancer with rise 1 / fall 3 at 100 ms takes it out and cuts its clients' sessions
 * (tests/bench/false_failover.sh saw it). So the lease thread moves the published deadline on.
 *
 * Safe because deadline_ms is the guardian's deadline: the same proof of the leader key
 * (ha_leader_proof_ms, from the send time of the last keepalive that succeeded), handed over only
 * while the loop arms the guardian (a leader, not paused, no demotion, release or shutdown
 * decided: run.c, guard()), and it stops moving when the heartbeat gate stops the keepalives of a
 * hung loop. /primary thus never answers 200 after the guardian would fence. It only ever
 * extends a snapshot that leads; the loop's next publish replaces it (a demotion publishes
 * before it stops the server, act.c).
 *
 * Called by the lease thread with its own lock held, after the guardian's deadline is stored: it
 * never waits for the loop, which may hang while it holds live_lock (publishing), or the lease
 * thread would stop renewing behind it (integration.ha_lease_thread saw the lease lapse 5 s into
 * a hang of the loop's thread). While the loop holds the lock the move is skipped: the loop's
 * own publish carries the deadline, and the next keepalive tries again.
 */
void publish_lease_deadline(struct agent *a, int64_t deadline_ms)
{
	if (pthread_mutex_trylock(&a->live_lock) != 0)
		return;
	if (a->live_valid && deadline_ms > a->live_snap->lease_deadline_ms) {
		a->live_snap->lease_deadline_ms = deadline_ms;
		if (rest_publish(a->rest, a->live_snap) != 0)
			log_warning("could not publish the REST snapshot: out of memory");
	}
	pthread_mutex_unlock(&a->live_lock);
}

/* Logs the cycle's outcome at info when it changes, else at most once a minute. */
void log_outcome(struct agent *a)
{
	int64_t now = clock_mono_ms();
	const char *prefix = a->dyn.pause ? "PAUSE: " : "";

	if (strcmp(a->out.reason, a->last_reason) != 0 || now - a->last_reason_ms >= HEARTBEAT_MS) {
		log_info("%s%s", prefix, a->out.reason);
		memcpy(a->last_reason, a->out.reason, sizeof(a->last_reason));
		a->last_reason_ms = now;
	} else {
		log_debug("%s%s", prefix, a->out.reason);
	}
}

/* What POST /failsafe and the REST snapshot need from this cycle. */
void note_failsafe_state(struct agent *a)
{
	int64_t now = clock_mono_ms();
	struct ha_policy policy;
	bool primary = a->dbs->role == DB_ROLE_PRIMARY;

	agent_ha_policy(a->cfg, &a->dyn, &policy);
	pthread_mutex_lock(&a->req_lock);
	a->running_primary = primary;
	a->wal_lsn = primary ? a->dbs->flush_lsn
			     : (a->dbs->receive_lsn > a->dbs->replay_lsn ? a->dbs->receive_lsn
									 : a->dbs->replay_lsn);
	if (primary)
		a->failsafe_active = a->dyn.failsafe_mode && a->out.leader &&
				     !a->in->dcs.reachable && a->failsafe_acked_ms > 0 &&
				     now < ha_fence_deadline_ms(&policy, a->failsafe_acked_ms, 0);
	else
		a->failsafe_active = a->dyn.failsafe_mode && a->failsafe_seen_ms > 0 &&
				     now - a->failsafe_seen_ms < a->dyn.ttl_ms;
	pthread_mutex_unlock(&a->req_lock);
}
