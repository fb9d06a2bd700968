/*
 * input.c - the decide phase's input: ha_decide()'s struct ha_input built from this cycle's
 * observations (docs/ha-loop-contract.md, "Who fills what"), and the peer probe and failsafe
 * round that the decision may ask for before deciding again.
 */
#include "agent_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "timefmt.h"
#include "watchdog.h"

/* The failover key's scheduled_at as wall ms (0 when it has none). A value that is not a strict
 * ISO 8601 time with a zone is refused, never taken for "now": returns -EINVAL, and the caller
 * leaves the key alone (no switchover runs on it). Logged once per refused value. */
static int failover_schedule(struct agent *a, const char *scheduled_at, int64_t *wall_ms)
{
	enum time_parse_result r;

	*wall_ms = 0;
	if (scheduled_at[0] == '\0')
		return 0;
	r = time_parse_iso(scheduled_at, wall_ms, NULL, 0);
	if (r == TIME_OK) {
		a->refused_scheduled_at[0] = '\0';
		return 0;
	}
	*wall_ms = 0;
	if (strcmp(a->refused_scheduled_at, scheduled_at) != 0) {
		log_warning("ignoring the failover key: \"scheduled_at\": \"%s\" is not %s",
			    scheduled_at,
			    r == TIME_NO_ZONE ? "a time with a zone"
					      : "an ISO 8601 time (YYYY-MM-DDTHH:MM:SS+HH:MM)");
		buf_copy_or_clear(a->refused_scheduled_at, sizeof(a->refused_scheduled_at),
				  scheduled_at);
	}
	return -EINVAL;
}

/* Reads synchronous_standby_names into a set, with the driver's parser; Patroni's strict-mode
 * placeholder is reported apart. An unparsable value counts as no names (the leader rewrites it). */
static void names_from_ssn(const char *ssn, struct ha_names *out, bool *placeholder, int *num,
			   bool *any)
{
	struct db_sync sync;

	memset(out, 0, sizeof(*out));
	*placeholder = false;
	*num = 0;
	*any = false;
	if (db_parse_sync_names(ssn, &sync) != 0)
		return;
	if (sync.method != DB_SYNC_METHOD_OFF)
		*num = sync.num;
	*any = sync.method == DB_SYNC_METHOD_QUORUM;
	for (int i = 0; i < sync.count && out->count < HA_MEMBERS_MAX; i++) {
		if (strcmp(sync.names[i], SYNC_PLACEHOLDER) == 0)
			*placeholder = true;
		else
			buf_copy_or_clear(out->name[out->count++], MEMBER_NAME_MAX, sync.names[i]);
	}
}

/* Which member the replica follows, by host:port. */
static void following_member(const struct agent *a, char *out, size_t cap)
{
	/* Whom it is configured to follow, connected or not (a replica still connecting is
	 * following already; re-pointing it again would only restart the attempt). */
	const char *host =
		a->dbs->following_host[0] ? a->dbs->following_host : a->dbs->upstream_host;
	int port = a->dbs->following_host[0] ? a->dbs->following_port : a->dbs->upstream_port;

	out[0] = '\0';
	if (host[0] == '\0')
		return;
	for (int i = 0; i < a->cluster->member_count; i++) {
		struct db_peer p;

		if (peer_from_member(&a->cluster->members[i], &p) == 0 &&
		    strcmp(p.host, host) == 0 && p.port == port) {
			if (buf_copy(out, cap, p.name) != 0)
				out[0] = '\0';
			return;
		}
	}
}

/* Whether the replica follows standby_cluster's remote primary: configured with its host and
 * port, and that is no member's address. */
static bool following_remote(const struct agent *a, const char *member)
{
	const char *host =
		a->dbs->following_host[0] ? a->dbs->following_host : a->dbs->upstream_host;
	int port = a->dbs->following_host[0] ? a->dbs->following_port : a->dbs->upstream_port;
	struct db_peer r;

	if (member[0] != '\0' || remote_peer(a, &r) != 0)
		return false;
	if (r.host[0] == '\0') /* archive only: nothing to stream from */
		return host[0] == '\0';
	return strcmp(r.host, host) == 0 && r.port == port;
}

static void fill_tags_from_member(const struct dcs_member *m, struct ha_tags *t)
{
	*t = (struct ha_tags){ .nofailover = m->nofailover,
			       .noloadbalance = m->noloadbalance,
			       .nosync = m->nosync,
			       .clonefrom = member_clonefrom(m),
			       .failover_priority = 1,
			       .sync_priority = 1,
			       .nostream = m->nostream };
	memcpy(t->replicatefrom, m->replicatefrom, sizeof(t->replicatefrom));
	if (m->has_failover_priority) {
		t->failover_priority =
			(int)(m->failover_priority > 1000000	? 1000000
			      : m->failover_priority < -1000000 ? -1000000
								: m->failover_priority);
		if (t->failover_priority <= 0)
			t->nofailover = true;
	}
	/* Patroni 4's Tags: nosync wins; sync_priority <= 0 means nosync. */
	if (m->has_sync_priority)
		t->sync_priority = (int)(m->sync_priority > 1000000    ? 1000000
					 : m->sync_priority < -1000000 ? -1000000
								       : m->sync_priority);
	if (t->sync_priority <= 0)
		t->nosync = true;
	if (t->nosync)
		t->sync_priority = 0;
}

/* Counts a leader acquisition by another member that may have created a timeline ID. */
static void watch_timelines(struct agent *a)
{
	const struct dcs_cluster *c = a->cluster;
	const struct dcs_member *leader;
	int64_t known = a->in->db.timeline;
	int64_t before = a->tl_watch.reserved;

	if (a->view_mono_ms == 0 || !a->view_ok)
		return;
	for (int i = 0; i < c->member_count; i++)
		if (c->members[i].timeline > known)
			known = c->members[i].timeline;
	leader = c->has_leader ? dcs_cluster_member(c, c->leader) : NULL;
	if (timeline_watch_observe(&a->tl_watch, a->cfg->name, c->has_leader ? c->leader : NULL,
				   c->leader_create_revision,
				   leader != NULL && leader->is_primary &&
					   strcmp(leader->state, "running") == 0,
				   known))
		log_info(
			"timeline IDs up to %lld reserved: member \"%s\" took the leader key as a "
			"replica while the newest timeline known was %lld (it may promote to %lld)",
			(long long)a->tl_watch.reserved, c->leader, (long long)before,
			(long long)a->tl_watch.reserved);
}

void build_input(struct agent *a)
{
	struct ha_input *in = a->in;
	const struct dcs_cluster *c = a->cluster;
	const struct db_status *s = a->dbs;

	memset(in, 0, sizeof(*in));
	agent_ha_policy(a->cfg, &a->dyn, &in->policy);
	buf_copy_or_clear(in->self.name, sizeof(in->self.name), a->cfg->name);
	agent_ha_tags(a->cfg, &in->self.tags);
	/* Patroni: a member whose required watchdog is unusable is no candidate (watchdog.h). */
	a->watchdog_failed = watchdog_failed_now(a, &in->policy);
	if (a->watchdog_failed)
		in->self.tags.nofailover = true;
	in->self.shutdown_requested = agent_stop_requested != 0;
	in->self.busy = a->busy;
	in->self.busy_since_ms = a->busy_since_ms;
	pthread_mutex_lock(&a->req_lock);
	in->self.failsafe_primary_seen_ms = a->failsafe_seen_ms;
	pthread_mutex_unlock(&a->req_lock);
	in->failsafe.acked_ms = a->failsafe_acked_ms;

	/* The DCS view: current only when this cycle's read and keepalive both worked. */
	in->dcs.reachable = a->view_ok && a->lease_ok;
	in->dcs.lease_renewed_ms = a->lease_renewed_ms;
	if (a->view_mono_ms != 0) {
		in->dcs.initialize_present = c->has_initialize;
		buf_copy_or_clear(in->dcs.initialize, sizeof(in->dcs.initialize), c->initialize);
		in->dcs.leader_present = c->has_leader;
		buf_copy_or_clear(in->dcs.leader, sizeof(in->dcs.leader), c->leader);
		in->dcs.leader_lease_mine = c->has_leader && c->leader_lease != 0 &&
					    c->leader_lease == dcs_lease_id(a->dcs);
		if (c->has_failover && c->failover_valid &&
		    (c->failover_leader[0] != '\0' || c->failover_member[0] != '\0') &&
		    failover_schedule(a, c->failover_scheduled_at,
				      &in->dcs.failover.scheduled_at_wall_ms) == 0) {
			in->dcs.failover.present = true;
			buf_copy_or_clear(in->dcs.failover.leader, MEMBER_NAME_MAX,
					  c->failover_leader);
			buf_copy_or_clear(in->dcs.failover.candidate, MEMBER_NAME_MAX,
					  c->failover_member);
		}
		if (c->has_sync && c->sync_valid) {
			in->dcs.sync.present = true;
			buf_copy_or_clear(in->dcs.sync.leader, MEMBER_NAME_MAX, c->sync_leader);
			/* Patroni's SyncState: the quorum counts only with a leader */
			if (c->has_sync_quorum && c->sync_leader[0] != '\0' && c->sync_quorum > 0)
				in->dcs.sync.quorum = c->sync_quorum > HA_MEMBERS_MAX
							      ? HA_MEMBERS_MAX
							      : (int)c->sync_quorum;
			/* dcs split the names; the view holds as many as the decision does */
			for (int i = 0; i < c->sync_standby_count && i < HA_MEMBERS_MAX; i++)
				buf_copy_or_clear(in->dcs.sync.standbys.name[i], MEMBER_NAME_MAX,
						  c->sync_standbys[i]);
			in->dcs.sync.standbys.count = c->sync_standby_count < HA_MEMBERS_MAX
							      ? c->sync_standby_count
							      : HA_MEMBERS_MAX;
		}
		a->failsafe_count = 0;
		/* The failsafe key as dcs read it; more members than the loop keeps: none. */
		if (c->has_failsafe && c->failsafe_valid && c->failsafe_count <= HA_MEMBERS_MAX) {
			for (int i = 0; i < c->failsafe_count; i++)
				if (buf_copy(a->failsafe[a->failsafe_count].name,
					     sizeof(a->failsafe[0].name),
					     c->failsafe_members[i].name) == 0 &&
				    buf_copy(a->failsafe[a->failsafe_count].api_url,
					     sizeof(a->failsafe[0].api_url),
					     c->failsafe_members[i].api_url) == 0)
					a->failsafe_count++;
		}
		for (int i = 0; i < a->failsafe_count; i++)
			buf_copy_or_clear(in->dcs.failsafe.name[in->dcs.failsafe.count++],
					  MEMBER_NAME_MAX, a->failsafe[i].name);
		in->dcs.failsafe_present = in->dcs.failsafe.count > 0;
		in->dcs.term = c->has_term && c->term_valid ? c->term : 0;
		in->dcs.status_present = c->has_optime;
		in->dcs.optime_lsn = c->optime_lsn > 0 ? (uint64_t)c->optime_lsn : 0;
		for (int i = 0; i < c->member_count && i < HA_MEMBERS_MAX; i++) {
			const struct dcs_member *m = &c->members[i];
			struct ha_member *h = &in->dcs.members[in->dcs.member_count++];

			buf_copy_or_clear(h->name, MEMBER_NAME_MAX, m->name);
			h->running = strcmp(m->state, "running") == 0;
			h->is_primary = m->is_primary;
			h->lsn = m->xlog_location_lsn > 0 ? (uint64_t)m->xlog_location_lsn : 0;
			h->streaming = m->replication_state[0] == '\0' ||
				       strcmp(m->replication_state, "streaming") == 0;
			fill_tags_from_member(m, &h->tags);
		}
	}

	/* The database. */
	if (!s->initialized || a->clone_failed)
		in->db.state = HA_DB_NO_DATA;
	else if (s->role == DB_ROLE_CRASHED)
		in->db.state = HA_DB_CRASHED;
	else if (!s->running)
		in->db.state = HA_DB_STOPPED;
	else if (s->role == DB_ROLE_PRIMARY || s->role == DB_ROLE_REPLICA)
		in->db.state = HA_DB_RUNNING;
	else
		in->db.state = HA_DB_STARTING;
	/* A stopped database that was not shut down cleanly counts as crashed. */
	if (in->db.state == HA_DB_STOPPED && a->control_ok &&
	    strcmp(a->control.cluster_state, "shut down") != 0 &&
	    strcmp(a->control.cluster_state, "shut down in recovery") != 0)
		in->db.state = HA_DB_CRASHED;
	if (s->running && (s->role == DB_ROLE_PRIMARY || s->role == DB_ROLE_REPLICA))
		in->db.is_primary = s->role == DB_ROLE_PRIMARY;
	else if (s->running)
		/* Up but not answering (hung, frozen, starting): what this node last ran as. A
		 * primary that stops answering may still commit on the connections it has, so it
		 * stays a primary for fencing until it is proven stopped. */
		in->db.is_primary = a->role.role == HA_ROLE_PRIMARY ||
				    a->role.role == HA_ROLE_PROMOTING ||
				    a->role.role == HA_ROLE_DEMOTING;
	else if (a->control_ok)
		in->db.is_primary = strcmp(a->control.cluster_state, "in production") == 0 ||
				    strcmp(a->control.cluster_state, "shut down") == 0;
	buf_copy_or_clear(in->db.sysid, HA_SYSID_MAX,
			  s->system_identifier[0] != '\0' ? s->system_identifier
			  : a->control_ok		  ? a->control.system_identifier
							  : "");
	in->db.timeline = s->timeline != 0 ? s->timeline : a->control_ok ? a->control.timeline : 0;
	in->db.term = (int64_t)s->term;
	if (s->role == DB_ROLE_PRIMARY)
		in->db.lsn = s->flush_lsn;
	else if (s->running)
		in->db.lsn = s->receive_lsn > s->replay_lsn ? s->receive_lsn : s->replay_lsn;
	else if (a->control_ok)
		in->db.lsn = a->control.checkpoint_lsn;
	following_member(a, in->db.following, sizeof(in->db.following));
	in->db.following_remote = following_remote(a, in->db.following);
	in->db.has_upstream = s->following_host[0] != '\0' || s->upstream_host[0] != '\0';
	in->db.rejoin_needed = s->needs_rejoin || a->need_rewind;
	in->db.fork_timeline = s->fork_timeline;
	in->db.fork_lsn = s->fork_lsn;
	in->db.replay_lsn = s->replay_lsn;
	in->db.start_since_ms = a->start_since_ms;
	names_from_ssn(s->synchronous_standby_names, &in->db.sync_names, &in->db.sync_placeholder,
		       &in->db.sync_num, &in->db.sync_any);
	/* As Patroni's SyncHandler: when synchronous_standby_names changes, a standby counts as
	 * synchronous only once it has reached the primary's position at that moment. */
	if (s->role == DB_ROLE_PRIMARY && strcmp(s->synchronous_standby_names, a->ssn_seen) != 0) {
		buf_copy_or_clear(a->ssn_seen, sizeof(a->ssn_seen), s->synchronous_standby_names);
		a->ssn_ready_lsn = s->flush_lsn;
	}
	for (int i = 0; i < s->standby_count && i < HA_MEMBERS_MAX; i++) {
		struct ha_replication *r = &in->db.replication[in->db.replication_count++];

		buf_copy_or_clear(r->name, MEMBER_NAME_MAX, s->standbys[i].application_name);
		r->streaming = strcmp(s->standbys[i].state, "streaming") == 0;
		/* Priority mode also trusts a standby the sync key names, as Patroni does. */
		r->sync = (s->standbys[i].sync_state == DB_SYNC_SYNC ||
			   s->standbys[i].sync_state == DB_SYNC_QUORUM) &&
			  (s->standbys[i].flush_lsn >= a->ssn_ready_lsn ||
			   (!in->policy.synchronous_quorum && in->dcs.sync.present &&
			    names_contain(&in->dcs.sync.standbys, r->name)));
		r->flush_lsn = s->standbys[i].flush_lsn;
	}
	watch_timelines(a);
}

void probe_peers(struct agent *a)
{
	struct agent_peer_target targets[HA_MEMBERS_MAX];
	struct rest_client_options client;
	int n = 0;
	int64_t timeout = a->dyn.retry_timeout_ms < 2000 ? a->dyn.retry_timeout_ms : 2000;

	for (int i = 0; i < a->cluster->member_count && n < HA_MEMBERS_MAX; i++) {
		const struct dcs_member *m = &a->cluster->members[i];

		if (strcmp(m->name, a->cfg->name) == 0 || m->api_url[0] == '\0')
			continue;
		memset(&targets[n], 0, sizeof(targets[n]));
		buf_copy_or_clear(targets[n].name, MEMBER_NAME_MAX, m->name);
		buf_copy_or_clear(targets[n].api_url, AGENT_URL_MAX, m->api_url);
		n++;
	}
	cfg_member_auth(a->cfg, &client.auth);
	agent_probe_peers(&client, targets, n, timeout < 200 ? 200 : timeout, a->in->probe.peers);
	a->in->probe.count = n;
	a->in->probe.done = true;
}

/* How long a failsafe round may wait for the acks: one ping timeout, cut to end when the proof
 * this decision ran on (the lease or the last full round) runs out, since a primary past it is
 * fenced whatever the members answer (docs/timing.md, "Failsafe mode"). */
static int64_t failsafe_ask_ms(const struct agent *a, int64_t now)
{
	int64_t t = ha_failsafe_ping_timeout_ms(&a->in->policy);
	int64_t left = a->out.fence_deadline_ms - now;

	if (a->out.fence_deadline_ms > 0 && left < t)
		t = left;
	return t < 1 ? 1 : t;
}

/* One failsafe round: POST /failsafe to every other member of the failsafe key. All acked
 * (or no other member): the round's send time proves what a keepalive proves. */
void ping_failsafe(struct agent *a)
{
	struct agent_peer_target targets[HA_MEMBERS_MAX];
	struct rest_client_options client;
	bool acked[HA_MEMBERS_MAX];
	bool listed = false, all = true;
	int64_t sent = clock_mono_ms();
	cJSON *doc = cJSON_CreateObject();
	char *body = NULL;
	int n = 0;

	a->in->failsafe.done = true;
	for (int i = 0; i < a->failsafe_count; i++) {
		if (strcmp(a->failsafe[i].name, a->cfg->name) == 0)
			listed = true;
		else
			targets[n++] = a->failsafe[i];
	}
	if (doc != NULL && cJSON_AddStringToObject(doc, "name", a->cfg->name) != NULL &&
	    cJSON_AddStringToObject(doc, "conn_url", a->conn_url) != NULL &&
	    cJSON_AddStringToObject(doc, "api_url", a->api_url) != NULL &&
	    cJSON_AddObjectToObject(doc, "slots") != NULL)
		body = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!listed || body == NULL) {
		log_warning("failsafe: %s",
			    listed ? "out of memory" : "I am not in the failsafe key");
		free(body);
		return;
	}
	cfg_member_auth(a->cfg, &client.auth);
	agent_failsafe_post(&client, targets, n, body, failsafe_ask_ms(a, sent), acked);
	free(body);
	for (int i = 0; i < n; i++) {
		if (!acked[i]) {
			log_info("failsafe: member \"%s\" did not acknowledge me", targets[i].name);
			all = false;
		}
	}
	if (all) {
		a->failsafe_acked_ms = sent;
		a->in->failsafe.acked_ms = sent;
	}
}
