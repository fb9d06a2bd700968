/*
 * loop.c - the HA loop: observe -> decide -> act -> publish, once per loop_wait or at once when
 * the watch sees the leader, failover or config key change.
 *
 * Observe: one lease keepalive (the leader renews its lock with it), one range of the cluster
 * prefix, one database status. Decide: ha_decide(), pure, with every observation in its input.
 * Act: the one action it returned, each bounded by a timeout; long database work (initdb, clone,
 * rewind) runs as a db task that later cycles poll, so the lease keeps being renewed. Publish:
 * the member key for peers and patronictl, and the REST snapshot for health checks.
 *
 * The loop owns all state (STYLE.md). REST action threads only read the immutable config and
 * talk to etcd through the thread-safe dcs client; what they ask of the loop (restart, reinit,
 * reload) goes through the request flags under req_lock.
 */
#include "agent.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "db_opengauss.h"
#include "dcs.h"
#include "ha_role.h"
#include "log.h"
#include "num.h"

/* Patroni's placeholder in synchronous_standby_names when strict mode finds nobody eligible:
 * commits then wait rather than go unprotected (patroni-compat.md 4.8). */
#define SYNC_PLACEHOLDER "__patroni_strict_sync_replica_placeholder__"
/* The member document; Patroni's are a few hundred bytes. */
#define MEMBER_DOC_MAX DCS_DOC_MAX
/* An outcome line repeats at info at most this often while it stays the same (STYLE.md). */
#define HEARTBEAT_MS 60000
/* How long to wait after an action that changed the DCS or the database before observing
 * again: long enough for the change to be visible, short enough not to round detection up. */
#define AFTER_ACTION_WAIT_MS 50
/* Server processes a fencing kill looks for (max_connections plus auxiliary processes). */
#define FENCE_KILL_MAX 4096
/* Wait slice, so a signal is noticed promptly even while the watch is silent. */
#define WAIT_SLICE_MS 100
/* Changes of these keys cut the wait short (issue 5: leader gone, failover written). */
#define WAKE_CHANGES                                                                           \
	(DCS_CHANGE_LEADER | DCS_CHANGE_FAILOVER | DCS_CHANGE_CONFIG | DCS_CHANGE_INITIALIZE | \
	 DCS_CHANGE_RESYNC | DCS_CHANGE_OTHER)

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

struct agent {
	const struct cfg *cfg;
	struct cfg_dynamic dyn;	  /* effective dynamic configuration */
	int64_t dyn_mod_revision; /* config key revision dyn came from; 0 = bootstrap.dcs */
	struct dcs_client *dcs;
	struct db *db;
	struct rest_server *rest;
	char api_url[AGENT_URL_MAX];
	char conn_url[AGENT_URL_MAX];

	struct dcs_cluster *cluster; /* last successful read */
	bool view_ok;		     /* this cycle's read succeeded */
	int64_t view_mono_ms;	     /* when the last successful read finished */
	int64_t view_wall_ms;
	bool lease_ok;		  /* this cycle's keepalive succeeded */
	int64_t lease_renewed_ms; /* send time of the last successful keepalive */
	char dcs_error[DCS_MSG_MAX];

	struct db_status *dbs;
	struct db_control control; /* read while the database is down */
	bool control_ok;
	struct ha_input *in;
	struct ha_output out;
	struct ha_role_state role;
	uint64_t role_changes;
	int64_t last_call_ms, last_call_wall_ms;
	int64_t start_since_ms; /* first start attempt of the current start, 0 = none */
	enum ha_action busy;	/* db task running for this action */
	int64_t busy_since_ms;
	bool need_rewind;	 /* a former primary that must rewind before following */
	int64_t demoted_ms;	 /* when it last stepped down as primary; 0 = never */
	bool clone_failed;	 /* the data directory holds a failed clone: clone again */
	char last_progress[256]; /* the last clone progress logged */
	char task_target[HA_NAME_MAX];

	char last_reason[HA_REASON_MAX];
	int64_t last_reason_ms;
	uint64_t status_optime_written;
	char slots_written[HA_MEMBERS_MAX * HA_NAME_MAX];
	/* openGauss: the member list last handed to the driver (replconninfoN). */
	struct db_peer og_members[DB_OPENGAUSS_MEMBERS_MAX];
	int og_member_count; /* -1: none handed over yet */
	bool params_applied;
	int64_t loop_duration_ms;
	bool acted; /* this cycle changed the DCS or the database */

	struct rest_snapshot *snap;

	/* Failsafe mode (patroni-compat.md 4.7): the failsafe key as last read, and the send time
	 * of the latest POST /failsafe round that every other listed member acknowledged. */
	struct agent_peer_target failsafe[HA_MEMBERS_MAX];
	int failsafe_count;
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

/* ---- small helpers ---------------------------------------------------------------------- */

/* Parses "postgres://host:port/..." into a driver peer. */
static int peer_from_member(const struct dcs_member *m, struct db_peer *out)
{
	const char *p = m->conn_url, *end;
	char hostport[DB_HOST_MAX + 8];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "postgres://", 11) == 0)
		p += 11;
	else if (strncmp(p, "postgresql://", 13) == 0)
		p += 13;
	else
		return -EINVAL;
	/* Credentials are never written into conn_url, but skip them if a peer did. */
	if (strchr(p, '@') != NULL && strchr(p, '@') < strchr(p, '/'))
		p = strchr(p, '@') + 1;
	end = strchr(p, '/');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n >= sizeof(hostport))
		return -EINVAL;
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	if (agent_split_host_port(hostport, 5432, out->host, sizeof(out->host), &out->port) != 0)
		return -EINVAL;
	return buf_copy(out->name, sizeof(out->name), m->name);
}

static bool is_opengauss(const struct agent *a)
{
	return a->cfg->postgresql.engine == CFG_ENGINE_OPENGAUSS;
}

/* openGauss lists every member in replconninfoN: hands the driver the members of the view when
 * they changed since the last list it took. */
static void set_opengauss_members(struct agent *a)
{
	struct db_peer peers[DB_OPENGAUSS_MEMBERS_MAX];
	char err[DB_ERROR_MAX];
	int n = 0;

	if (!is_opengauss(a))
		return;
	for (int i = 0; i < a->cluster->member_count && n < DB_OPENGAUSS_MEMBERS_MAX; i++)
		if (peer_from_member(&a->cluster->members[i], &peers[n]) == 0)
			n++;
	if (n == a->og_member_count && memcmp(peers, a->og_members, sizeof(peers[0]) * n) == 0)
		return;
	if (db_opengauss_set_members(a->db, peers, n, a->dyn.retry_timeout_ms, err, sizeof(err)) !=
	    0) {
		log_warning("could not hand the member list to the openGauss driver: %s, retrying",
			    err);
		return;
	}
	memcpy(a->og_members, peers, sizeof(peers[0]) * n);
	a->og_member_count = n;
	log_info("openGauss member list: %d member(s)", n);
}

static int peer_named(const struct agent *a, const char *name, struct db_peer *out)
{
	const struct dcs_member *m = dcs_cluster_member(a->cluster, name);

	if (name[0] == '\0' || m == NULL)
		return -ENOENT;
	return peer_from_member(m, out);
}

/* Parses an ISO 8601 timestamp with a zone ("2026-11-21T10:00:00+00:00", "...Z") into wall ms. */
static int parse_iso_ms(const char *s, int64_t *out_ms)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, consumed = 0, zh = 0, zm = 0;
	double frac = 0;
	const char *p;
	int64_t t;

	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) !=
		    6 ||
	    consumed == 0)
		return -EINVAL;
	p = s + consumed;
	if (*p == '.') {
		char *end;

		frac = strtod(p, &end);
		p = end;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (sscanf(p + 1, "%2d:%2d", &zh, &zm) != 2)
			return -EINVAL;
		zh *= sign;
		zm *= sign;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	*out_ms = (t - zh * 3600 - zm * 60) * 1000 + (int64_t)(frac * 1000);
	return 0;
}

/* Splits a comma-joined name list into a set (the sync key's sync_standby). */
static void names_from_csv(const char *csv, struct ha_names *out)
{
	const char *p = csv;

	memset(out, 0, sizeof(*out));
	while (*p != '\0' && out->count < HA_MEMBERS_MAX) {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

		while (n > 0 && (*p == ' ' || *p == '"')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '"'))
			n--;
		if (n > 0 && n < HA_NAME_MAX) {
			memcpy(out->name[out->count], p, n);
			out->name[out->count][n] = '\0';
			out->count++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
}

static bool names_contain(const struct ha_names *names, const char *name)
{
	for (int i = 0; i < names->count; i++)
		if (strcmp(names->name[i], name) == 0)
			return true;
	return false;
}

/* Reads synchronous_standby_names into a set, with the driver's parser; Patroni's strict-mode
 * placeholder is reported apart. An unparsable value counts as no names (the leader rewrites it). */
static void names_from_ssn(const char *ssn, struct ha_names *out, bool *placeholder)
{
	struct db_sync sync;

	memset(out, 0, sizeof(*out));
	*placeholder = false;
	if (db_parse_sync_names(ssn, &sync) != 0)
		return;
	for (int i = 0; i < sync.count && out->count < HA_MEMBERS_MAX; i++) {
		if (strcmp(sync.names[i], SYNC_PLACEHOLDER) == 0)
			*placeholder = true;
		else
			buf_copy_or_clear(out->name[out->count++], HA_NAME_MAX, sync.names[i]);
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

/* Logs a DCS failure only when its text changes (STYLE.md: not every second). */
static void note_dcs_error(struct agent *a, const char *what, int rc, const char *msg)
{
	char line[DCS_MSG_MAX];

	if (buf_format(line, sizeof(line), "%s: %s", what,
		       msg[0] != '\0' ? msg : dcs_strerror(rc)) != 0)
		return;
	if (strcmp(line, a->dcs_error) != 0) {
		log_warning("%s, retrying", line);
		memcpy(a->dcs_error, line, sizeof(line));
	}
}

/* The one place the node's role changes (STYLE.md). */
static void set_role(struct agent *a, enum ha_role to, const char *reason)
{
	char line[HA_REASON_MAX + 128];
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
}

/* POST /failsafe: Patroni's 2 s, within retry_timeout. */
static int64_t failsafe_timeout_ms(const struct agent *a)
{
	return a->dyn.retry_timeout_ms < 2000 ? a->dyn.retry_timeout_ms : 2000;
}

/* A running primary that holds the key must decide by its fence deadline even when etcd is
 * silent: every DCS call of the observe step ends by then (docs/timing.md, "Come back in time").
 * Returns the deadline, or 0 when no cap applies (not a primary, paused, never renewed). */
static int64_t fence_cap(const struct agent *a)
{
	struct ha_policy policy;
	int64_t f;

	if (a->dbs->role != DB_ROLE_PRIMARY || a->dyn.pause || a->lease_renewed_ms == 0 ||
	    !a->cluster->has_leader || strcmp(a->cluster->leader, a->cfg->name) != 0)
		return 0;
	agent_ha_policy(a->cfg, &a->dyn, &policy);
	f = ha_fence_deadline_ms(&policy, a->lease_renewed_ms, 0);
	/* Failsafe acks extend the proof; leave time for the next round of pings. */
	if (a->dyn.failsafe_mode && a->failsafe_acked_ms > 0) {
		int64_t ff = ha_fence_deadline_ms(&policy, a->failsafe_acked_ms, 0) -
			     failsafe_timeout_ms(a);

		if (ff > f)
			f = ff;
	}
	return f > clock_mono_ms() ? f : 0;
}

/* ---- observe ---------------------------------------------------------------------------- */

static bool i_am_leader_in_view(const struct agent *a)
{
	return a->cluster->has_leader && strcmp(a->cluster->leader, a->cfg->name) == 0;
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

static void observe_dcs(struct agent *a)
{
	char msg[DCS_MSG_MAX] = "";
	int64_t sent = clock_mono_ms();
	int rc;

	/* Shutting down: decide on the last view rather than wait retry_timeout twice for an etcd
	 * that may be gone; the shutdown itself still releases the key if it can. */
	if (stop_requested && a->view_mono_ms != 0) {
		a->view_ok = false;
		a->lease_ok = false;
		return;
	}
	if (dcs_lease_id(a->dcs) == 0 && a->view_mono_ms == 0 && adopt_lease(a) == 0) {
		rc = 0;
	} else if (dcs_lease_id(a->dcs) == 0) {
		rc = dcs_lease_grant(a->dcs, msg, sizeof(msg));
	} else if (a->view_ok && i_am_leader_in_view(a)) {
		rc = dcs_renew_leader(a->dcs, msg, sizeof(msg));
		if (rc == DCS_ERR_CONFLICT)
			rc = 0; /* the lease lives; the view shows who holds the key */
	} else {
		rc = dcs_lease_keepalive(a->dcs, msg, sizeof(msg));
		if (rc == DCS_ERR_LEASE_NOT_FOUND) {
			sent = clock_mono_ms();
			rc = dcs_lease_grant(a->dcs, msg, sizeof(msg));
		}
	}
	a->lease_ok = rc == 0;
	if (rc == 0) {
		a->lease_renewed_ms = sent;
		dcs_cap_calls(a->dcs, fence_cap(a));
	} else {
		note_dcs_error(a, "could not renew the lease", rc, msg);
		if (dcs_error_is_transient(rc)) {
			/* etcd is silent: a read would only spend another retry_timeout. */
			a->view_ok = false;
			return;
		}
	}

	rc = dcs_read_cluster(a->dcs, a->cluster, msg, sizeof(msg));
	a->view_ok = rc == 0;
	if (rc == 0) {
		a->view_mono_ms = clock_mono_ms();
		a->view_wall_ms = clock_wall_ms();
		if (a->lease_ok)
			a->dcs_error[0] = '\0';
		set_opengauss_members(a);
	} else {
		note_dcs_error(a, "could not read the cluster from etcd", rc, msg);
	}
}

/* Takes the dynamic configuration from the config key when it changed, and applies its
 * server parameters. */
static void observe_config(struct agent *a)
{
	struct cfg_dynamic dyn;
	char err[256];

	if (!a->view_ok || !a->cluster->has_config ||
	    a->cluster->config_mod_revision == a->dyn_mod_revision)
		return;
	if (cfg_dynamic_parse(a->cluster->config, strlen(a->cluster->config), &dyn, err,
			      sizeof(err)) != 0) {
		log_warning("ignoring the dynamic configuration in etcd: %s", err);
		a->dyn_mod_revision = a->cluster->config_mod_revision;
		return;
	}
	if (a->dyn_mod_revision != 0)
		log_info("dynamic configuration changed (revision %lld)",
			 (long long)a->cluster->config_mod_revision);
	a->dyn = dyn;
	a->dyn_mod_revision = a->cluster->config_mod_revision;
	a->params_applied = false;
}

static void apply_params(struct agent *a)
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

static void observe_db(struct agent *a)
{
	char err[DB_ERROR_MAX] = "";
	int rc;

	if (a->busy != HA_ACT_NONE && db_task_running(a->db)) {
		char progress[256];

		rc = db_task_poll(a->db, 0, err, sizeof(err));
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
		} else {
			log_error("%s failed: %s", ha_action_name(a->busy), err);
			/* A half-copied data directory is no database: the next cycle clones
			 * again (replacing it) instead of taking it for a crashed primary. */
			if (a->busy == HA_ACT_CLONE)
				a->clone_failed = true;
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
}

/* ---- build the decision's input ---------------------------------------------------------- */

/* tags.clonefrom of a member key (the dcs codec keeps the tags object as text). */
static bool member_clonefrom(const struct dcs_member *m)
{
	cJSON *tags;
	bool yes;

	if (m->tags[0] == '\0')
		return false;
	tags = cJSON_Parse(m->tags);
	yes = cJSON_IsObject(tags) &&
	      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tags, "clonefrom"));
	cJSON_Delete(tags);
	return yes;
}

static void fill_tags_from_member(const struct dcs_member *m, struct ha_tags *t)
{
	*t = (struct ha_tags){ .nofailover = m->nofailover,
			       .noloadbalance = m->noloadbalance,
			       .nosync = m->nosync,
			       .clonefrom = member_clonefrom(m),
			       .failover_priority = 1 };
	if (m->has_failover_priority) {
		t->failover_priority =
			(int)(m->failover_priority > 1000000	? 1000000
			      : m->failover_priority < -1000000 ? -1000000
								: m->failover_priority);
		if (t->failover_priority <= 0)
			t->nofailover = true;
	}
}

static void build_input(struct agent *a)
{
	struct ha_input *in = a->in;
	const struct dcs_cluster *c = a->cluster;
	const struct db_status *s = a->dbs;

	memset(in, 0, sizeof(*in));
	agent_ha_policy(a->cfg, &a->dyn, &in->policy);
	buf_copy_or_clear(in->self.name, sizeof(in->self.name), a->cfg->name);
	agent_ha_tags(a->cfg, &in->self.tags);
	in->self.shutdown_requested = stop_requested != 0;
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
		    (c->failover_leader[0] != '\0' || c->failover_member[0] != '\0')) {
			in->dcs.failover.present = true;
			buf_copy_or_clear(in->dcs.failover.leader, HA_NAME_MAX, c->failover_leader);
			buf_copy_or_clear(in->dcs.failover.candidate, HA_NAME_MAX,
					  c->failover_member);
			if (c->failover_scheduled_at[0] != '\0' &&
			    parse_iso_ms(c->failover_scheduled_at,
					 &in->dcs.failover.scheduled_at_wall_ms) != 0)
				in->dcs.failover.scheduled_at_wall_ms = 0;
		}
		if (c->has_sync && c->sync_valid) {
			in->dcs.sync.present = true;
			buf_copy_or_clear(in->dcs.sync.leader, HA_NAME_MAX, c->sync_leader);
			names_from_csv(c->sync_standby, &in->dcs.sync.standbys);
		}
		a->failsafe_count = 0;
		if (c->has_failsafe && c->failsafe[0] != '\0') {
			int n = agent_failsafe_parse(c->failsafe, strlen(c->failsafe), a->failsafe,
						     HA_MEMBERS_MAX);

			a->failsafe_count = n > 0 ? n : 0;
		}
		for (int i = 0; i < a->failsafe_count; i++)
			buf_copy_or_clear(in->dcs.failsafe.name[in->dcs.failsafe.count++],
					  HA_NAME_MAX, a->failsafe[i].name);
		in->dcs.failsafe_present = in->dcs.failsafe.count > 0;
		in->dcs.term = c->has_term && c->term_valid ? c->term : 0;
		in->dcs.status_present = c->has_optime;
		in->dcs.optime_lsn = c->optime_lsn > 0 ? (uint64_t)c->optime_lsn : 0;
		for (int i = 0; i < c->member_count && i < HA_MEMBERS_MAX; i++) {
			const struct dcs_member *m = &c->members[i];
			struct ha_member *h = &in->dcs.members[in->dcs.member_count++];

			buf_copy_or_clear(h->name, HA_NAME_MAX, m->name);
			h->running = strcmp(m->state, "running") == 0;
			h->is_primary = m->is_primary;
			h->lsn = m->xlog_location_lsn > 0 ? (uint64_t)m->xlog_location_lsn : 0;
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
	if (s->running)
		in->db.is_primary = s->role == DB_ROLE_PRIMARY;
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
	in->db.rejoin_needed = s->needs_rejoin || a->need_rewind;
	in->db.start_since_ms = a->start_since_ms;
	names_from_ssn(s->synchronous_standby_names, &in->db.sync_names, &in->db.sync_placeholder);
	for (int i = 0; i < s->standby_count && i < HA_MEMBERS_MAX; i++) {
		struct ha_replication *r = &in->db.replication[in->db.replication_count++];

		buf_copy_or_clear(r->name, HA_NAME_MAX, s->standbys[i].application_name);
		r->streaming = strcmp(s->standbys[i].state, "streaming") == 0;
		r->sync = s->standbys[i].sync_state == DB_SYNC_SYNC ||
			  s->standbys[i].sync_state == DB_SYNC_QUORUM;
		r->flush_lsn = s->standbys[i].flush_lsn;
	}
}

static void probe_peers(struct agent *a)
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
		buf_copy_or_clear(targets[n].name, HA_NAME_MAX, m->name);
		buf_copy_or_clear(targets[n].api_url, AGENT_URL_MAX, m->api_url);
		n++;
	}
	agent_rest_client_options(a->cfg, &client);
	agent_probe_peers(&client, targets, n, timeout < 200 ? 200 : timeout, a->in->probe.peers);
	a->in->probe.count = n;
	a->in->probe.done = true;
}

/* One failsafe round: POST /failsafe to every other member of the failsafe key. All acked
 * (or no other member): the round's send time proves what a keepalive proves. */
static void ping_failsafe(struct agent *a)
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
	agent_rest_client_options(a->cfg, &client);
	agent_failsafe_post(&client, targets, n, body, failsafe_timeout_ms(a), acked);
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

/* ---- act ---------------------------------------------------------------------------------- */

/* Writes the leader's WAL position into the status key (replicas judge their lag by it). */
static void write_status(struct agent *a, uint64_t lsn)
{
	char json[64], msg[DCS_MSG_MAX];
	int rc;

	if (lsn == 0 || lsn == a->status_optime_written)
		return;
	if (buf_format(json, sizeof(json), "{\"optime\":%llu}", (unsigned long long)lsn) != 0)
		return;
	rc = dcs_write_status(a->dcs, json, msg, sizeof(msg));
	if (rc == 0)
		a->status_optime_written = lsn;
	else
		note_dcs_error(a, "could not write the status key", rc, msg);
}

/* Releases the leader key (after writing the WAL position into status) and forgets it in the
 * local view, so the next cycle's renewal does not take it again from a stale view. */
static void release_leader(struct agent *a, uint64_t lsn)
{
	char msg[DCS_MSG_MAX];
	int rc;

	write_status(a, lsn);
	rc = dcs_release_leader(a->dcs, msg, sizeof(msg));
	if (rc != 0 && rc != DCS_ERR_CONFLICT) {
		note_dcs_error(a, "could not release the leader key", rc, msg);
		return;
	}
	if (rc == 0)
		log_notice("released the leader key");
	a->cluster->has_leader = false;
	a->cluster->leader[0] = '\0';
}

/* Appends a row to the history key after a promotion (Patroni's format). */
static void write_history(struct agent *a, int64_t old_timeline, uint64_t lsn)
{
	struct buf b;
	char stamp[40], msg[DCS_MSG_MAX];
	time_t now = time(NULL);
	struct tm tm;
	const char *old = a->cluster->has_history ? a->cluster->history : "[]";
	size_t n = strlen(old);
	int rc;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	buf_init(&b, DCS_HISTORY_MAX);
	while (n > 0 && old[n - 1] != ']')
		n--;
	if (n < 1 || old[0] != '[') {
		old = "[]";
		n = 2;
	}
	buf_append(&b, old, n - 1);
	if (n > 2)
		buf_puts(&b, ",");
	buf_printf(&b, "[%lld,%llu,\"no recovery target specified\",\"%s\",\"%s\"]]",
		   (long long)old_timeline, (unsigned long long)lsn, stamp, a->cfg->name);
	if (!b.overflow) {
		rc = dcs_write_history(a->dcs, b.data, msg, sizeof(msg));
		if (rc != 0)
			note_dcs_error(a, "could not write the history key", rc, msg);
	}
	buf_done(&b);
}

static int sync_from_names(const struct ha_names *names, bool placeholder, int node_count,
			   struct db_sync *out)
{
	memset(out, 0, sizeof(*out));
	out->method = DB_SYNC_METHOD_PRIORITY;
	out->num = node_count;
	for (int i = 0; i < names->count && out->count < DB_STANDBYS_MAX; i++)
		if (buf_copy(out->names[out->count++], DB_NAME_MAX, names->name[i]) != 0)
			return -ENAMETOOLONG;
	if (placeholder && out->count < DB_STANDBYS_MAX)
		memcpy(out->names[out->count++], SYNC_PLACEHOLDER, sizeof(SYNC_PLACEHOLDER));
	if (out->count == 0)
		out->method = DB_SYNC_METHOD_OFF;
	return 0;
}

/* Parent pid of process pid from /proc/<pid>/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
	char path[64], line[512];
	const char *close;
	FILE *f;
	int ppid = -1;

	if (buf_format(path, sizeof(path), "/proc/%d/stat", (int)pid) != 0)
		return -1;
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL) {
		close = strrchr(line, ')'); /* the command name may hold spaces and parentheses */
		if (close == NULL || sscanf(close + 1, " %*c %d", &ppid) != 1)
			ppid = -1;
	}
	fclose(f);
	return (pid_t)ppid;
}

/* Last resort of a fencing stop: no process of the server may accept a write any more. The
 * postmaster is stopped first so it cannot fork, then its children (each PostgreSQL child is
 * its own session leader, so a process group kill would miss them) and it are killed. */
static void kill_postmaster(const struct agent *a)
{
	pid_t pid = (pid_t)a->dbs->postmaster_pid, children[FENCE_KILL_MAX];
	int n = 0;
	DIR *d;
	struct dirent *e;

	if (pid <= 1)
		return;
	if (kill(pid, SIGSTOP) != 0) {
		log_error("could not stop the postmaster (pid %d): %s", (int)pid, strerror(errno));
		return;
	}
	d = opendir("/proc");
	while (d != NULL && (e = readdir(d)) != NULL &&
	       n < (int)(sizeof(children) / sizeof(children[0]))) {
		int64_t child;

		if (num_parse_i64(e->d_name, 2, INT32_MAX, &child) == 0 &&
		    parent_of((pid_t)child) == pid)
			children[n++] = (pid_t)child;
	}
	if (d != NULL)
		closedir(d);
	for (int i = 0; i < n; i++)
		(void)kill(children[i], SIGKILL);
	(void)kill(pid, SIGKILL);
	log_warning("killed the postmaster (pid %d) and %d of its processes", (int)pid, n);
}

static void demote(struct agent *a)
{
	const struct ha_output *o = &a->out;
	char err[DB_ERROR_MAX];
	struct db_peer leader, *upstream = NULL;
	bool graceful = o->demote_mode == HA_DEMOTE_GRACEFUL;
	int rc;

	set_role(a, HA_ROLE_DEMOTING, o->reason);
	a->demoted_ms = clock_mono_ms();
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
		kill_postmaster(a);
	}
	if (o->demote_mode == HA_DEMOTE_GRACEFUL || o->demote_mode == HA_DEMOTE_IMMEDIATE) {
		struct db_control control;

		if (db_read_control(a->db, &control, a->dyn.retry_timeout_ms, err, sizeof(err)) !=
		    0)
			control.checkpoint_lsn = 0;
		release_leader(a, control.checkpoint_lsn);
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

static void begin_task(struct agent *a, enum ha_action action, int rc, const char *err)
{
	if (rc == 0) {
		a->busy = action;
		a->busy_since_ms = clock_mono_ms();
	} else {
		log_error("could not start %s: %s", ha_action_name(action), err);
	}
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
	log_notice("won the initialize key: bootstrapping a new cluster");
	set_role(a, HA_ROLE_BOOTSTRAPPING, "won the initialize race: initdb");
	rc = db_begin_bootstrap(a->db, 1, err, sizeof(err));
	begin_task(a, HA_ACT_BOOTSTRAP, rc, err);
}

/* After initdb: the cluster's identity, configuration and leader key. Returns true when it
 * wrote them, so the cycle reads the cluster again before deciding on a stale view. */
static bool finish_bootstrap(struct agent *a)
{
	char msg[DCS_MSG_MAX];
	struct buf json;
	int rc;

	if (a->dbs->role != DB_ROLE_PRIMARY || a->dbs->system_identifier[0] == '\0')
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

static void act(struct agent *a)
{
	const struct ha_output *o = &a->out;
	char err[DB_ERROR_MAX] = "", msg[DCS_MSG_MAX] = "";
	struct db_peer peer, source;
	struct db_sync sync;
	int rc;

	a->acted = true;
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
		if (peer_named(a, o->target, &source) != 0) {
			log_warning("cannot clone from \"%s\": no usable conn_url", o->target);
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
		begin_task(a, HA_ACT_CLONE, rc, err);
		break;
	case HA_ACT_START_REPLICA:
		/* A former primary waiting for a leader to rewind against is not started
		 * read-only meanwhile: the rewind would then race the starting postmaster (seen
		 * in the switchover benchmark). After a ttl with no leader it starts anyway. */
		if (a->need_rewind && a->demoted_ms != 0 &&
		    clock_mono_ms() - a->demoted_ms < a->dyn.ttl_ms) {
			a->acted = false;
			break;
		}
		rc = db_start(a->db, DB_START_REPLICA,
			      peer_named(a, o->target, &peer) == 0 ? &peer : NULL, 0, 0, err,
			      sizeof(err));
		if (rc != 0 && rc != -EALREADY)
			log_warning("could not start the database as a replica: %s, retrying", err);
		if (a->start_since_ms == 0)
			a->start_since_ms = clock_mono_ms();
		break;
	case HA_ACT_FOLLOW:
		rc = db_follow(a->db, peer_named(a, o->target, &peer) == 0 ? &peer : NULL,
			       a->dyn.retry_timeout_ms * 2, err, sizeof(err));
		if (rc != 0)
			log_warning("could not follow \"%s\": %s, retrying", o->target, err);
		break;
	case HA_ACT_REJOIN:
		if (peer_named(a, o->target, &peer) != 0) {
			log_warning("cannot rejoin \"%s\": no usable conn_url", o->target);
			break;
		}
		set_role(a, HA_ROLE_REJOINING, o->reason);
		rc = db_begin_rejoin(a->db, &peer, err, sizeof(err));
		begin_task(a, HA_ACT_REJOIN, rc, err);
		break;
	case HA_ACT_RACE:
		rc = dcs_take_leader(a->dcs, msg, sizeof(msg));
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

		if (a->dyn.synchronous_mode) {
			if (sync_from_names(&o->sync, o->sync_placeholder,
					    a->dyn.synchronous_node_count, &sync) == 0 &&
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
		rc = db_promote(a->db, (uint64_t)o->term, a->dyn.ttl_ms, err, sizeof(err));
		if (rc != 0) {
			log_error("could not promote: %s", err);
			break;
		}
		set_role(a, HA_ROLE_PRIMARY, "promotion finished");
		a->need_rewind = false;
		/* A replica's reported timeline can lag the one it replays; the row names the
		 * timeline the promotion ended, which is the new one minus one. */
		if (db_get_status(a->db, a->dbs) == 0 && a->dbs->timeline > 1)
			old_tl = (int64_t)a->dbs->timeline - 1;
		write_history(a, old_tl, lsn);
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
		demote(a);
		break;
	case HA_ACT_RESTART_PRIMARY:
		if (a->start_since_ms == 0)
			a->start_since_ms = clock_mono_ms();
		rc = db_start(a->db, DB_START_PRIMARY, NULL, (uint64_t)o->term, 0, err,
			      sizeof(err));
		if (rc != 0 && rc != -EALREADY)
			log_warning("could not start the primary again: %s, retrying", err);
		else
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
		if (sync_from_names(&o->sync, o->sync_placeholder, a->dyn.synchronous_node_count,
				    &sync) != 0 ||
		    db_set_sync_standbys(a->db, &sync, a->dyn.retry_timeout_ms, err, sizeof(err)) !=
			    0)
			log_warning("could not set synchronous_standby_names: %s, retrying", err);
		break;
	case HA_ACT_WRITE_SYNC_KEY: {
		struct buf json;

		buf_init(&json, DCS_DOC_MAX);
		buf_printf(&json,
			   "{\"leader\":\"%s\",\"quorum\":0,\"sync_standby\":", a->cfg->name);
		if (o->sync.count == 0) {
			buf_puts(&json, "null}");
		} else {
			buf_puts(&json, "\"");
			for (int i = 0; i < o->sync.count; i++)
				buf_printf(&json, "%s%s", i ? "," : "", o->sync.name[i]);
			buf_puts(&json, "\"}");
		}
		rc = json.overflow
			     ? DCS_ERR_INVALID_ARGUMENT
			     : dcs_cas_sync(a->dcs, json.data,
					    a->cluster->has_sync ? a->cluster->sync_mod_revision
								 : DCS_CAS_ABSENT,
					    NULL, msg, sizeof(msg));
		if (rc != 0 && rc != DCS_ERR_CONFLICT)
			note_dcs_error(a, "could not write the sync key", rc, msg);
		buf_done(&json);
		break;
	}
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
}

/* Patroni's restart filters: every one given must hold. Call with req_lock held. */
static bool restart_filters_hold(const struct agent *a, const struct rest_restart_request *req)
{
	return (!req->restart_pending || a->pub_pending_restart) &&
	       (req->postgres_version == 0 || a->pub_server_version < req->postgres_version) &&
	       (!req->has_role || (req->role == REST_ROLE_PRIMARY) == a->pub_primary);
}

/* Requests from REST action threads: restart and reinitialize. */
static void serve_requests(struct agent *a)
{
	char err[DB_ERROR_MAX];
	bool restart, reinit, from_leader;
	struct db_peer source;
	int rc;

	pthread_mutex_lock(&a->req_lock);
	if (a->sched_restart && clock_wall_ms() >= a->sched_req.schedule_wall_ms) {
		/* Its time has come: the filters are judged now, as Patroni does. */
		a->sched_restart = false;
		if (restart_filters_hold(a, &a->sched_req)) {
			a->req_restart = true;
			log_notice("scheduled restart (\"%s\") is due", a->sched_req.schedule);
		} else {
			log_notice("scheduled restart (\"%s\") skipped: its conditions do not hold",
				   a->sched_req.schedule);
		}
	}
	restart = a->req_restart;
	reinit = a->req_reinit;
	from_leader = a->req_reinit_from_leader;
	a->req_restart = a->req_reinit = false;
	pthread_mutex_unlock(&a->req_lock);

	if (restart && a->busy == HA_ACT_NONE) {
		log_notice("restarting the database on request");
		rc = db_restart(a->db, DB_STOP_FAST, a->dyn.primary_start_timeout_ms, err,
				sizeof(err));
		if (rc != 0)
			log_error("restart failed: %s", err);
		a->acted = true;
		pthread_mutex_lock(&a->req_lock);
		a->last_restart_ok = rc == 0;
		a->restarts_done++;
		pthread_mutex_unlock(&a->req_lock);
	}
	if (reinit && a->busy == HA_ACT_NONE && !i_am_leader_in_view(a) && a->cluster->has_leader) {
		const char *from = a->cluster->leader;

		/* A clonefrom member spares the leader the copy, unless from_leader asks. */
		for (int i = 0; !from_leader && i < a->cluster->member_count; i++) {
			const struct dcs_member *m = &a->cluster->members[i];

			if (strcmp(m->name, a->cfg->name) != 0 && member_clonefrom(m))
				from = m->name;
		}
		if (peer_named(a, from, &source) == 0) {
			struct db_peer leader;

			log_notice("reinitializing from \"%s\" on request", from);
			rc = db_stop(a->db, DB_STOP_IMMEDIATE, a->dyn.retry_timeout_ms, err,
				     sizeof(err));
			if (rc == 0 && peer_named(a, a->cluster->leader, &leader) == 0) {
				set_role(a, HA_ROLE_CLONING, "reinitializing on request");
				rc = db_begin_create_replica(a->db, &source, &leader, true, err,
							     sizeof(err));
				begin_task(a, HA_ACT_CLONE, rc, err);
			} else if (rc != 0) {
				log_error("reinitialize failed: %s", err);
			}
			a->acted = true;
		}
	}
}

/* ---- publish ---------------------------------------------------------------------------- */

static const char *state_word(const struct agent *a)
{
	if (a->busy == HA_ACT_BOOTSTRAP)
		return "initializing new cluster";
	if (a->busy == HA_ACT_CLONE)
		return "creating replica";
	if (a->busy == HA_ACT_REJOIN)
		return "stopped";
	switch (a->dbs->role) {
	case DB_ROLE_PRIMARY:
	case DB_ROLE_REPLICA:
		return "running";
	case DB_ROLE_UNKNOWN:
		return "unknown";
	case DB_ROLE_PENDING:
	case DB_ROLE_STARTING:
		return "starting";
	case DB_ROLE_STOPPING:
		return "stopping";
	case DB_ROLE_CRASHED:
		return "crashed";
	case DB_ROLE_STOPPED:
		break;
	}
	return "stopped";
}

/* The role word of the member key and /patroni. */
static const char *role_word(const struct agent *a)
{
	if (a->dbs->role == DB_ROLE_PRIMARY)
		return "primary";
	if (a->dbs->role == DB_ROLE_REPLICA)
		return "replica";
	if (a->role.role == HA_ROLE_DEMOTING)
		return "demoted";
	if (!a->dbs->initialized)
		return "uninitialized";
	return "replica";
}

static void render_tags(const struct cfg *c, struct buf *out)
{
	bool first = true;

	buf_puts(out, "{");
#define TAG_BOOL(field)                                                     \
	if (c->tags.field) {                                                \
		buf_printf(out, "%s\"" #field "\":true", first ? "" : ","); \
		first = false;                                              \
	}
	TAG_BOOL(nofailover)
	TAG_BOOL(noloadbalance)
	TAG_BOOL(clonefrom)
	TAG_BOOL(nosync)
#undef TAG_BOOL
	if (c->tags.failover_priority != 1) {
		buf_printf(out, "%s\"failover_priority\":%d", first ? "" : ",",
			   c->tags.failover_priority);
		first = false;
	}
	if (c->tags.replicatefrom[0] != '\0') {
		buf_printf(out, "%s\"replicatefrom\":\"%s\"", first ? "" : ",",
			   c->tags.replicatefrom);
		first = false;
	}
	for (int i = 0; i < c->tags.custom.count; i++) {
		const struct cfg_kv *kv = &c->tags.custom.items[i];

		if (kv->kind == CFG_VALUE_STRING)
			buf_printf(out, "%s\"%s\":\"%s\"", first ? "" : ",", kv->name, kv->value);
		else
			buf_printf(out, "%s\"%s\":%s", first ? "" : ",", kv->name,
				   kv->value[0] ? kv->value : "null");
		first = false;
	}
	buf_puts(out, "}");
}

static void touch_member(struct agent *a)
{
	struct dcs_member *m;
	struct buf tags;
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
	m->is_primary = s->role == DB_ROLE_PRIMARY;
	buf_copy_or_clear(m->version, sizeof(m->version), GSHA_VERSION);
	if (s->role == DB_ROLE_PRIMARY) {
		m->has_xlog_location = true;
		m->xlog_location_lsn = (int64_t)s->flush_lsn;
	} else if (s->role == DB_ROLE_REPLICA) {
		m->has_xlog_location = true;
		m->xlog_location_lsn =
			(int64_t)(s->receive_lsn > s->replay_lsn ? s->receive_lsn : s->replay_lsn);
		m->has_replay_lsn = true;
		m->replay_lsn = (int64_t)s->replay_lsn;
		m->has_receive_lsn = true;
		m->receive_lsn = (int64_t)s->receive_lsn;
		buf_copy_or_clear(m->replication_state, sizeof(m->replication_state),
				  s->replication_state == DB_REPL_STREAMING
					  ? "streaming"
					  : "in archive recovery");
	}
	m->timeline = s->timeline;
	buf_init_fixed(&tags, m->tags, sizeof(m->tags));
	render_tags(a->cfg, &tags);
	if (tags.overflow || strcmp(m->tags, "{}") == 0)
		m->tags[0] = '\0';
	m->pause = a->dyn.pause;
	m->pending_restart = s->pending_restart;
	if (dcs_member_doc_build(a->dcs, m, doc, sizeof(doc)) == 0) {
		rc = dcs_touch_member(a->dcs, doc, msg, sizeof(msg));
		if (rc != 0)
			note_dcs_error(a, "could not write the member key", rc, msg);
	}
	free(m);
}

/* Failsafe mode: the leader keeps the failsafe key = every member's api_url, itself included,
 * so that without etcd it knows whom to ask (patroni-compat.md 4.7). */
static void write_failsafe_key(struct agent *a)
{
	cJSON *doc = cJSON_CreateObject();
	char *json = NULL, msg[DCS_MSG_MAX];
	bool me = false;
	int rc;

	if (doc == NULL)
		return;
	for (int i = 0; i < a->cluster->member_count; i++) {
		const struct dcs_member *m = &a->cluster->members[i];

		if (m->api_url[0] == '\0')
			continue;
		me = me || strcmp(m->name, a->cfg->name) == 0;
		if (cJSON_AddStringToObject(doc, m->name, m->api_url) == NULL)
			goto out;
	}
	if (!me && cJSON_AddStringToObject(doc, a->cfg->name, a->api_url) == NULL)
		goto out;
	json = cJSON_PrintUnformatted(doc);
	if (json == NULL || (a->cluster->has_failsafe && strcmp(json, a->cluster->failsafe) == 0))
		goto out;
	rc = dcs_write_failsafe(a->dcs, json, msg, sizeof(msg));
	if (rc != 0)
		note_dcs_error(a, "could not write the failsafe key", rc, msg);
	else if (buf_copy(a->cluster->failsafe, sizeof(a->cluster->failsafe), json) == 0)
		a->cluster->has_failsafe = true; /* usable at once if etcd goes away now */
out:
	free(json);
	cJSON_Delete(doc);
}

/* Things only the leader keeps: its WAL position in status, slots for every member, the
 * config key when the cluster lacks one. */
static void maintain_as_leader(struct agent *a)
{
	char names[HA_MEMBERS_MAX][DB_NAME_MAX];
	char signature[sizeof(a->slots_written)] = "";
	char err[DB_ERROR_MAX];
	int n = 0;

	if (!a->out.leader || a->dbs->role != DB_ROLE_PRIMARY) {
		/* Slots do not survive pg_rewind or pg_basebackup: after the next promotion they
		 * are made again, whatever this node made when it led before. */
		a->slots_written[0] = '\0';
		return;
	}
	write_status(a, a->dbs->flush_lsn);
	if (a->dyn.failsafe_mode)
		write_failsafe_key(a);
	/* openGauss replicates through replconninfo, without slots (opengauss.md 2.6). */
	if (!a->dyn.postgresql.use_slots || is_opengauss(a))
		return;
	for (int i = 0; i < a->cluster->member_count && n < HA_MEMBERS_MAX; i++) {
		const struct dcs_member *m = &a->cluster->members[i];

		if (strcmp(m->name, a->cfg->name) == 0)
			continue;
		if (buf_copy(names[n], DB_NAME_MAX, m->name) != 0)
			continue;
		strncat(signature, m->name, sizeof(signature) - strlen(signature) - 2);
		strncat(signature, ",", sizeof(signature) - strlen(signature) - 1);
		n++;
	}
	if (strcmp(signature, a->slots_written) == 0)
		return;
	if (db_ensure_slots(a->db, (const char(*)[DB_NAME_MAX])names, n, a->dyn.retry_timeout_ms,
			    err, sizeof(err)) == 0)
		memcpy(a->slots_written, signature, sizeof(signature));
	else
		log_warning("could not manage replication slots: %s, retrying", err);
}

static enum rest_db_state rest_state(const struct agent *a)
{
	enum rest_db_state s;

	if (rest_db_state_parse(state_word(a), &s) != 0)
		s = REST_DB_UNKNOWN;
	return s;
}

static void publish(struct agent *a)
{
	const struct ha_names *sync_names;
	struct rest_snapshot *sn = a->snap;
	const struct db_status *s = a->dbs;
	const struct dcs_cluster *c = a->cluster;

	memset(sn, 0, sizeof(*sn));
	buf_copy_or_clear(sn->name, sizeof(sn->name), a->cfg->name);
	buf_copy_or_clear(sn->scope, sizeof(sn->scope), a->cfg->scope);
	buf_copy_or_clear(sn->version, sizeof(sn->version), GSHA_VERSION);
	sn->role = s->role == DB_ROLE_PRIMARY	      ? REST_ROLE_PRIMARY
		   : s->role == DB_ROLE_REPLICA	      ? REST_ROLE_REPLICA
		   : a->role.role == HA_ROLE_DEMOTING ? REST_ROLE_DEMOTED
		   : s->initialized		      ? REST_ROLE_REPLICA
						      : REST_ROLE_UNINITIALIZED;
	sn->state = rest_state(a);
	sn->pg_reachable = s->accepting;
	if (s->postmaster_start_time[0] != '\0') {
		int64_t ms;

		if (parse_iso_ms(s->postmaster_start_time, &ms) == 0)
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
#undef SNAP_TAG
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
	sn->lease_deadline_ms = a->out.leader ? a->out.fence_deadline_ms : 0;
	sn->dcs_last_seen_mono_ms = a->view_mono_ms;
	sn->dcs_last_seen_wall_ms = a->view_wall_ms;
	sn->ttl_ms = a->dyn.ttl_ms;
	sn->cluster_unlocked = !c->has_leader || !a->view_ok;
	sn->cluster_optime_bytes = c->has_optime && c->optime_lsn > 0 ? (uint64_t)c->optime_lsn : 0;
	sn->maximum_lag_on_failover_bytes = (uint64_t)a->dyn.maximum_lag_on_failover_bytes;
	sn->paused = a->dyn.pause;
	sn->sync_mode = a->dyn.synchronous_mode ? REST_SYNC_ON : REST_SYNC_OFF;
	/* The sync key as build_input parsed it this cycle. */
	sync_names = a->dyn.synchronous_mode && a->in->dcs.sync.present ? &a->in->dcs.sync.standbys
									: NULL;
	sn->is_sync_standby = sync_names != NULL && names_contain(sync_names, a->cfg->name);
	sn->failsafe_mode_enabled = a->dyn.failsafe_mode;
	sn->failsafe_active = a->failsafe_active;
	sn->has_failsafe_key = a->failsafe_count > 0;
	for (int i = 0; i < a->failsafe_count && sn->failsafe_count < REST_FAILSAFE_MAX; i++) {
		struct rest_failsafe_entry *e = &sn->failsafe[sn->failsafe_count];

		if (buf_copy(e->name, sizeof(e->name), a->failsafe[i].name) == 0 &&
		    buf_copy(e->api_url, sizeof(e->api_url), a->failsafe[i].api_url) == 0)
			sn->failsafe_count++;
	}
	sn->next_cycle_due_ms = clock_mono_ms() + a->dyn.loop_wait_ms + a->dyn.retry_timeout_ms;
	sn->loop_duration_ms = a->loop_duration_ms;
	sn->role_changes = a->role_changes;
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
	if (rest_publish(a->rest, sn) != 0)
		log_warning("could not publish the REST snapshot: out of memory");
}

/* Logs the cycle's outcome at info when it changes, else at most once a minute. */
static void log_outcome(struct agent *a)
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

/* Keeps the role in step with what the database is (after tasks, restarts, crashes). */
static void settle_role(struct agent *a)
{
	enum ha_role want;

	if (a->busy == HA_ACT_BOOTSTRAP)
		want = HA_ROLE_BOOTSTRAPPING;
	else if (a->busy == HA_ACT_CLONE)
		want = HA_ROLE_CLONING;
	else if (a->busy == HA_ACT_REJOIN)
		want = HA_ROLE_REJOINING;
	else if (a->dbs->role == DB_ROLE_PRIMARY)
		want = HA_ROLE_PRIMARY;
	else if (a->dbs->role == DB_ROLE_REPLICA)
		want = HA_ROLE_REPLICA;
	else if (!a->dbs->initialized)
		want = HA_ROLE_UNINITIALIZED;
	else if (!a->dbs->running)
		want = HA_ROLE_STOPPED;
	else
		return; /* starting or stopping: keep the role until it settles */
	if (want == a->role.role)
		return;
	if (a->role.role == HA_ROLE_UNINITIALIZED && want == HA_ROLE_PRIMARY &&
	    !i_am_leader_in_view(a))
		set_role(a, HA_ROLE_DEMOTING, "found a running primary without the leader key");
	else
		set_role(a, want,
			 want == HA_ROLE_PRIMARY	 ? "running as primary"
			 : want == HA_ROLE_REPLICA	 ? "running as a replica"
			 : want == HA_ROLE_STOPPED	 ? "database not running"
			 : want == HA_ROLE_UNINITIALIZED ? "no data directory"
							 : "task running");
}

/* What POST /failsafe and the REST snapshot need from this cycle. */
static void note_failsafe_state(struct agent *a)
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

/* One cycle. Returns the action carried out. */
static enum ha_action cycle(struct agent *a)
{
	int64_t t0 = clock_mono_ms();

	/* Observe with every etcd call bounded by the fence deadline (see fence_cap). */
	dcs_cap_calls(a->dcs, fence_cap(a));
	observe_dcs(a);
	dcs_cap_calls(a->dcs, 0);
	observe_config(a);
	observe_db(a);
	if (a->busy == HA_ACT_NONE && a->role.role == HA_ROLE_BOOTSTRAPPING && finish_bootstrap(a))
		observe_dcs(a);
	build_input(a);
	for (int call = 0; call < 3; call++) {
		a->in->now_ms = clock_mono_ms();
		a->in->now_wall_ms = clock_wall_ms();
		a->in->last_call_ms = a->last_call_ms;
		a->in->last_call_wall_ms = a->last_call_wall_ms;
		ha_decide(a->in, &a->out);
		a->last_call_ms = a->in->now_ms;
		a->last_call_wall_ms = a->in->now_wall_ms;
		if (a->out.action == HA_ACT_PROBE_PEERS && !a->in->probe.done) {
			probe_peers(a);
			continue;
		}
		if (a->out.action == HA_ACT_PING_FAILSAFE && !a->in->failsafe.done) {
			ping_failsafe(a);
			continue;
		}
		break;
	}
	log_outcome(a);
	act(a);
	if (a->out.action != HA_ACT_SHUTDOWN && a->out.action != HA_ACT_HALT) {
		serve_requests(a);
		/* What is published must be what the database is now, not before the action. */
		if (a->acted)
			(void)db_get_status(a->db, a->dbs);
		if (a->view_ok) {
			apply_params(a);
			maintain_as_leader(a);
		}
		settle_role(a);
		if (a->lease_ok)
			touch_member(a);
	}
	a->loop_duration_ms = clock_mono_ms() - t0;
	note_failsafe_state(a);
	publish(a);
	return a->out.action;
}

/* Waits for the next cycle: loop_wait, cut short by a watch event on the leader, failover or
 * config key, by a REST request, or by a signal. */
static void wait_next(struct agent *a, int64_t cycle_start_ms)
{
	int64_t due = cycle_start_ms + a->dyn.loop_wait_ms;

	if (a->out.wake_by_ms != 0 && a->out.wake_by_ms < due)
		due = a->out.wake_by_ms;
	if (a->acted)
		due = clock_mono_ms() + AFTER_ACTION_WAIT_MS;
	while (!stop_requested) {
		int64_t left = due - clock_mono_ms();
		unsigned changed = 0;

		if (left <= 0)
			return;
		if (dcs_wait_for_change(a->dcs, left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS,
					&changed) == 1 &&
		    (changed & WAKE_CHANGES) != 0)
			return;
	}
}

/* ---- REST actions ------------------------------------------------------------------------ */

static void result(struct rest_action_result *out, int status, const char *fmt, const char *arg)
{
	memset(out, 0, sizeof(*out));
	out->status = status;
	snprintf(out->text, sizeof(out->text), fmt, arg);
}

static int act_switchover(void *ctx, const struct rest_switchover_request *req,
			  struct rest_action_result *out)
{
	struct agent *a = ctx;
	const char *action = req->failover ? "Failover" : "Switchover";
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[DCS_MSG_MAX], old_leader[DCS_NAME_MAX];
	struct buf json;
	int64_t deadline;
	bool key_seen = false;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	rc = dcs_read_cluster(a->dcs, c, msg, sizeof(msg));
	if (rc != 0) {
		free(c);
		result(out, 503, "failed to read the cluster from DCS: %.400s", msg);
		return 0;
	}
	if (!req->scheduled && req->leader[0] != '\0' &&
	    (!c->has_leader || strcmp(c->leader, req->leader) != 0)) {
		free(c);
		result(out, 412, "leader name does not match%s", "");
		return 0;
	}
	if (req->candidate[0] != '\0' && dcs_cluster_member(c, req->candidate) == NULL) {
		free(c);
		result(out, 412, "candidate does not exists%s", "");
		return 0;
	}
	if (req->candidate[0] == '\0' && c->member_count <= 1) {
		free(c);
		result(out, 412,
		       "switchover is not possible: cluster does not have members except leader%s",
		       "");
		return 0;
	}
	buf_copy_or_clear(old_leader, sizeof(old_leader), c->has_leader ? c->leader : "");
	buf_init(&json, DCS_DOC_MAX);
	buf_puts(&json, "{");
	if (req->leader[0] != '\0')
		buf_printf(&json, "\"leader\":\"%s\"", req->leader);
	if (req->candidate[0] != '\0')
		buf_printf(&json, "%s\"member\":\"%s\"", req->leader[0] ? "," : "", req->candidate);
	if (req->scheduled)
		buf_printf(&json, ",\"scheduled_at\":\"%s\"", req->scheduled_at);
	buf_puts(&json, "}");
	rc = json.overflow
		     ? DCS_ERR_INVALID_ARGUMENT
		     : dcs_write_failover(a->dcs, json.data, DCS_CAS_ANY, NULL, msg, sizeof(msg));
	buf_done(&json);
	if (rc != 0) {
		free(c);
		result(out, 503, "failed to write failover key into DCS%s", "");
		return 0;
	}
	dcs_wake(a->dcs);
	if (req->scheduled) {
		free(c);
		result(out, 202, "%s scheduled", action);
		return 0;
	}
	/* Poll the DCS for the outcome, as Patroni's handler does: 2 * max(10 s, loop_wait). */
	deadline =
		clock_mono_ms() + 2 * (a->dyn.loop_wait_ms > 10000 ? a->dyn.loop_wait_ms : 10000);
	while (clock_mono_ms() < deadline) {
		clock_sleep_ms(100);
		if (dcs_read_cluster(a->dcs, c, msg, sizeof(msg)) != 0)
			continue;
		if (c->has_leader && strcmp(c->leader, old_leader) != 0) {
			if (req->candidate[0] == '\0' || strcmp(c->leader, req->candidate) == 0)
				snprintf(out->text, sizeof(out->text), "Successfully %s to \"%s\"",
					 req->failover ? "failed over" : "switched over",
					 c->leader);
			else
				snprintf(out->text, sizeof(out->text),
					 "%s over to \"%s\" instead of \"%s\"",
					 req->failover ? "Failed" : "Switched", c->leader,
					 req->candidate);
			out->status = 200;
			free(c);
			return 0;
		}
		/* The key cleared while the leader stayed: the leader refused (Patroni: failed). */
		if (c->has_failover &&
		    (c->failover_leader[0] != '\0' || c->failover_member[0] != '\0'))
			key_seen = true;
		else if (key_seen && c->has_leader && strcmp(c->leader, old_leader) == 0) {
			free(c);
			result(out, 503, "%s failed", action);
			return 0;
		}
	}
	free(c);
	snprintf(out->text, sizeof(out->text),
		 "%s status unknown after %lld seconds; operation may still be in progress", action,
		 (long long)(2 * (a->dyn.loop_wait_ms > 10000 ? a->dyn.loop_wait_ms : 10000) /
			     1000));
	out->status = 503;
	return 0;
}

static int act_switchover_cancel(void *ctx, struct rest_action_result *out)
{
	struct agent *a = ctx;
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[DCS_MSG_MAX];
	int rc;

	if (c == NULL)
		return -ENOMEM;
	rc = dcs_read_cluster(a->dcs, c, msg, sizeof(msg));
	if (rc == 0 && (!c->has_failover || c->failover_scheduled_at[0] == '\0')) {
		result(out, 404, "no switchover is scheduled%s", "");
	} else if (rc == 0) {
		rc = dcs_clear_failover(a->dcs, c->failover_mod_revision, msg, sizeof(msg));
		if (rc == 0)
			result(out, 200, "scheduled switchover deleted%s", "");
		else
			result(out, 409, "%s", msg);
		out->html_error = rc != 0;
	} else {
		result(out, 503, "%s", msg);
	}
	free(c);
	return 0;
}

static int act_restart(void *ctx, const struct rest_restart_request *req,
		       struct rest_action_result *out)
{
	struct agent *a = ctx;
	uint64_t before;
	bool match;

	if (req->scheduled) {
		/* Kept by the loop and carried out at its time (serve_requests); shown in
		 * /patroni. The renderer already refused it in the paused state. */
		pthread_mutex_lock(&a->req_lock);
		match = !a->sched_restart;
		if (match) {
			a->sched_restart = true;
			a->sched_req = *req;
		}
		pthread_mutex_unlock(&a->req_lock);
		if (match)
			result(out, 202, "Restart scheduled%s", "");
		else
			result(out, 409, "Another restart is already scheduled%s", "");
		return 0;
	}
	pthread_mutex_lock(&a->req_lock);
	match = restart_filters_hold(a, req);
	before = a->restarts_done;
	if (match)
		a->req_restart = true;
	pthread_mutex_unlock(&a->req_lock);
	if (!match) {
		result(out, 503, "restart conditions are not satisfied%s", "");
		return 0;
	}
	dcs_wake(a->dcs);
	/* Answer once the loop has restarted the database (or failed to), as Patroni does. */
	for (int64_t waited = 0; waited < a->dyn.primary_start_timeout_ms + 60000; waited += 100) {
		bool done, ok;

		clock_sleep_ms(100);
		pthread_mutex_lock(&a->req_lock);
		done = a->restarts_done != before;
		ok = a->last_restart_ok;
		pthread_mutex_unlock(&a->req_lock);
		if (done) {
			result(out, ok ? 200 : 503,
			       ok ? "restarted successfully%s" : "restart failed%s", "");
			return 0;
		}
	}
	result(out, 503, "restart failed%s", "");
	return 0;
}

static int act_restart_cancel(void *ctx, struct rest_action_result *out)
{
	struct agent *a = ctx;
	bool had;

	pthread_mutex_lock(&a->req_lock);
	had = a->sched_restart;
	a->sched_restart = false;
	pthread_mutex_unlock(&a->req_lock);
	if (had)
		result(out, 200, "scheduled restart deleted%s", "");
	else
		result(out, 404, "no restarts are scheduled%s", "");
	return 0;
}

static int act_reinitialize(void *ctx, const struct rest_reinit_request *req,
			    struct rest_action_result *out)
{
	struct agent *a = ctx;
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[DCS_MSG_MAX];

	if (c == NULL)
		return -ENOMEM;
	if (dcs_read_cluster(a->dcs, c, msg, sizeof(msg)) != 0) {
		result(out, 503, "%s", msg);
	} else if (!c->has_leader) {
		result(out, 503, "Cluster has no leader, can not reinitialize%s", "");
	} else if (strcmp(c->leader, a->cfg->name) == 0) {
		result(out, 503, "I am the leader, can not reinitialize%s", "");
	} else {
		pthread_mutex_lock(&a->req_lock);
		a->req_reinit = true;
		a->req_reinit_from_leader = req->from_leader;
		pthread_mutex_unlock(&a->req_lock);
		dcs_wake(a->dcs);
		result(out, 200, "reinitialize started%s", "");
	}
	free(c);
	return 0;
}

/* POST /failsafe: a primary without etcd asks me not to race for ttl; refused when I run as
 * primary myself (Patroni's "Running as a leader"). */
static int act_failsafe(void *ctx, const struct rest_failsafe_request *req,
			struct rest_action_result *out)
{
	struct agent *a = ctx;
	bool primary;
	uint64_t lsn;

	pthread_mutex_lock(&a->req_lock);
	primary = a->running_primary;
	if (!primary)
		a->failsafe_seen_ms = clock_mono_ms();
	lsn = a->wal_lsn;
	pthread_mutex_unlock(&a->req_lock);
	if (primary) {
		result(out, 500, "Running as a leader%s", "");
		return 0;
	}
	log_debug("failsafe: \"%s\" asked me not to race", req->name);
	result(out, 200, "Accepted%s", "");
	snprintf(out->lsn, sizeof(out->lsn), "%llu", (unsigned long long)lsn);
	return 0;
}

static int act_reload(void *ctx)
{
	struct agent *a = ctx;

	reload_requested = 1;
	dcs_wake(a->dcs);
	return 0;
}

static int act_config_patch(void *ctx, const char *patch_json, char *merged_json, size_t merged_cap,
			    struct rest_action_result *out)
{
	struct agent *a = ctx;
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char msg[DCS_MSG_MAX], err[256];
	struct buf merged;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	rc = dcs_read_cluster(a->dcs, c, msg, sizeof(msg));
	if (rc != 0 || !c->has_config) {
		free(c);
		out->status = 503;
		out->html_error = true;
		return 0;
	}
	buf_init(&merged, DCS_CONFIG_MAX);
	rc = cfg_dynamic_merge_patch(c->config, strlen(c->config), patch_json, strlen(patch_json),
				     &merged, NULL, err, sizeof(err));
	if (rc != 0) {
		out->status = 400;
		snprintf(out->text, sizeof(out->text), "%s", err);
	} else if (dcs_cas_config(a->dcs, merged.data, c->config_mod_revision, NULL, msg,
				  sizeof(msg)) != 0) {
		out->status = 409;
		out->html_error = true;
	} else if (buf_copy(merged_json, merged_cap, merged.data) != 0) {
		out->status = 503;
		out->html_error = true;
	} else {
		out->status = 200;
		dcs_wake(a->dcs);
	}
	buf_done(&merged);
	free(c);
	return 0;
}

static int act_config_put(void *ctx, const char *config_json, struct rest_action_result *out)
{
	struct agent *a = ctx;
	struct cfg_dynamic dyn;
	char msg[DCS_MSG_MAX], err[256];

	memset(out, 0, sizeof(*out));
	if (cfg_dynamic_parse(config_json, strlen(config_json), &dyn, err, sizeof(err)) != 0) {
		out->status = 400;
		snprintf(out->text, sizeof(out->text), "%s", err);
		return 0;
	}
	if (dcs_cas_config(a->dcs, config_json, DCS_CAS_ANY, NULL, msg, sizeof(msg)) != 0) {
		out->status = 502;
		out->html_error = true;
		return 0;
	}
	dcs_wake(a->dcs);
	out->status = 200;
	return 0;
}

/* ---- start-up and the loop ---------------------------------------------------------------- */

static int build_dcs_options(const struct cfg *c, const struct cfg_dynamic *dyn,
			     struct dcs_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	if (c->etcd3.hosts.count == 0 && c->etcd3.url[0] == '\0') {
		snprintf(err, errlen,
			 "no etcd endpoints: set etcd3.hosts (or PATRONI_ETCD3_HOSTS)");
		return -EINVAL;
	}
	if (c->etcd3.url[0] != '\0' &&
	    buf_copy(o->endpoints[o->endpoint_count++], DCS_URL_MAX, c->etcd3.url) != 0) {
		snprintf(err, errlen, "\"etcd3.url\" is too long");
		return -ENAMETOOLONG;
	}
	for (int i = 0; i < c->etcd3.hosts.count && o->endpoint_count < DCS_ENDPOINTS_MAX; i++)
		if (buf_copy(o->endpoints[o->endpoint_count], DCS_URL_MAX,
			     c->etcd3.hosts.items[i]) == 0)
			o->endpoint_count++;
	buf_copy_or_clear(o->protocol, sizeof(o->protocol), cfg_protocol_name(c->etcd3.protocol));
	if (buf_copy(o->username, sizeof(o->username), c->etcd3.username) != 0 ||
	    buf_copy(o->password, sizeof(o->password), c->etcd3.password) != 0 ||
	    buf_copy(o->cacert, sizeof(o->cacert), c->etcd3.cacert) != 0 ||
	    buf_copy(o->cert, sizeof(o->cert), c->etcd3.cert) != 0 ||
	    buf_copy(o->key, sizeof(o->key), c->etcd3.key) != 0 ||
	    buf_copy(o->namespace, sizeof(o->namespace), c->namespace_) != 0 ||
	    buf_copy(o->scope, sizeof(o->scope), c->scope) != 0 ||
	    buf_copy(o->name, sizeof(o->name), c->name) != 0) {
		snprintf(err, errlen, "a value of the etcd3 section is too long");
		return -ENAMETOOLONG;
	}
	o->ttl_ms = dyn->ttl_ms;
	o->retry_timeout_ms = dyn->retry_timeout_ms;
	return 0;
}

static void agent_free(struct agent *a)
{
	rest_server_free(a->rest);
	db_free(a->db);
	dcs_client_free(a->dcs);
	free(a->cluster);
	free(a->dbs);
	free(a->in);
	free(a->snap);
	pthread_mutex_destroy(&a->req_lock);
	free(a);
}

static int agent_start(const struct cfg *c, struct agent **out)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct dcs_options dopts;
	struct db_options *dbopts = NULL;
	struct rest_options ropts;
	struct rest_actions actions;
	char err[DB_ERROR_MAX];
	int r;

	if (a == NULL)
		return -ENOMEM;
	a->og_member_count = -1;
	pthread_mutex_init(&a->req_lock, NULL);
	a->cfg = c;
	a->dyn = c->bootstrap.dcs;
	a->cluster = calloc(1, sizeof(*a->cluster));
	a->dbs = calloc(1, sizeof(*a->dbs));
	a->in = calloc(1, sizeof(*a->in));
	a->snap = calloc(1, sizeof(*a->snap));
	dbopts = calloc(1, sizeof(*dbopts));
	if (a->cluster == NULL || a->dbs == NULL || a->in == NULL || a->snap == NULL ||
	    dbopts == NULL) {
		r = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
		goto out_fail;
	}
	ha_role_init(&a->role, HA_ROLE_UNINITIALIZED, clock_mono_ms());
	if (buf_format(a->api_url, sizeof(a->api_url), "%s://%s/patroni",
		       c->restapi.certfile[0] ? "https" : "http",
		       c->restapi.connect_address[0] ? c->restapi.connect_address
						     : c->restapi.listen) != 0 ||
	    buf_format(a->conn_url, sizeof(a->conn_url), "postgres://%s/postgres",
		       c->postgresql.connect_address[0] ? c->postgresql.connect_address
							: c->postgresql.listen) != 0) {
		r = -ENAMETOOLONG;
		snprintf(err, sizeof(err), "restapi or postgresql connect_address is too long");
		goto out_fail;
	}

	r = build_dcs_options(c, &a->dyn, &dopts, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	a->dcs = dcs_client_new(&dopts, err, sizeof(err));
	if (a->dcs == NULL) {
		r = -EINVAL;
		goto out_fail;
	}
	r = agent_db_options(c, &a->dyn, dbopts, err, sizeof(err));
	if (r == 0)
		r = db_new(dbopts, &a->db, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	r = agent_rest_options(c, &ropts, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	actions = (struct rest_actions){
		.ctx = a,
		.switchover = act_switchover,
		.switchover_cancel = act_switchover_cancel,
		.restart = act_restart,
		.restart_cancel = act_restart_cancel,
		.reinitialize = act_reinitialize,
		.reload = act_reload,
		.failsafe = act_failsafe,
		.config_patch = act_config_patch,
		.config_put = act_config_put,
	};
	a->rest = rest_server_new(&ropts, &actions, err, sizeof(err));
	if (a->rest == NULL) {
		r = -EINVAL;
		goto out_fail;
	}
	free(dbopts);
	*out = a;
	return 0;
out_fail:
	log_error("could not start: %s", err);
	free(dbopts);
	agent_free(a);
	return r;
}

int agent_run(const struct cfg *c)
{
	struct sigaction sa = { 0 };
	struct agent *a;
	int exit_code = 0;
	char msg[DCS_MSG_MAX];

	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (agent_start(c, &a) != 0)
		return 1;
	if (dcs_watch_start(a->dcs, msg, sizeof(msg)) != 0)
		log_warning("could not start the etcd watch: %s; polling every loop_wait", msg);
	log_notice("gsha %s starting: member \"%s\" of cluster \"%s\", REST API on port %d",
		   GSHA_VERSION, c->name, c->scope, rest_server_port(a->rest));

	for (;;) {
		int64_t start = clock_mono_ms();
		enum ha_action done = cycle(a);

		if (done == HA_ACT_SHUTDOWN) {
			char err[DB_ERROR_MAX];

			if (a->out.stop_db &&
			    db_stop(a->db, DB_STOP_FAST, a->dyn.ttl_ms, err, sizeof(err)) != 0)
				log_warning("could not stop the database: %s", err);
			if (a->out.release_leader) {
				struct db_control control;

				release_leader(a, db_read_control(a->db, &control,
								  a->dyn.retry_timeout_ms, err,
								  sizeof(err)) == 0
							  ? control.checkpoint_lsn
							  : 0);
			}
			(void)db_get_status(a->db, a->dbs);
			touch_member(a);
			log_notice("shut down: %s", a->out.reason);
			break;
		}
		if (done == HA_ACT_HALT) {
			log_error("%s", a->out.reason);
			exit_code = 1;
			break;
		}
		if (reload_requested) {
			reload_requested = 0;
			log_notice("reload requested: the configuration file is re-read at restart "
				   "in this version; reloading the server's parameters");
			a->params_applied = false;
		}
		wait_next(a, start);
	}
	agent_free(a);
	return exit_code;
}
