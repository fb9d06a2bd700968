/*
 * run.c - the HA loop: observe -> decide -> act -> publish, once per loop_wait or at once when
 * the watch sees the leader, failover or config key change; start-up, signals, and the wait
 * between cycles. The phases live in their own files (agent_state.h lists them).
 */
#include "agent_state.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "clock.h"
#include "guardian.h"
#include "watchdog.h"
#include "log.h"
#include "zpages.h"

/* How long to wait after an action that changed the DCS or the database before observing
 * again: long enough for the change to be visible, short enough not to round detection up.
 * An action that keeps failing backs off from here to loop_wait (ha_retry_wait_ms). */
#define AFTER_ACTION_WAIT_MS 50
/* How often the wait looks at what it has no file descriptor for: a running task's command
 * when no pidfd could be opened on it, a postmaster that exited but is not reaped yet. Only
 * while such a thing is there: an idle loop sleeps until an fd or its deadline. */
#define WAIT_SLICE_MS 100
/* After a leader change or a (re)start as a replica, how often the wait asks the database
 * whether its replication moved (started streaming, switched timeline), so the member key says
 * so at once rather than a loop_wait later (issue 13: GET /cluster, monitoring). For ttl at most:
 * a few status queries a second, only around a change. */
#define SETTLE_POLL_MS 100
/* Member keys changed by others are read again (for GET /cluster) at most this often. */
#define MEMBERS_REFRESH_MS 100
/* Changes of these keys cut the wait short (issue 5: leader gone, failover written). */
#define WAKE_CHANGES                                                                           \
	(DCS_CHANGE_LEADER | DCS_CHANGE_FAILOVER | DCS_CHANGE_CONFIG | DCS_CHANGE_INITIALIZE | \
	 DCS_CHANGE_RESYNC | DCS_CHANGE_OTHER)

volatile sig_atomic_t agent_stop_requested;
volatile sig_atomic_t agent_reload_requested;
/* The write end of the self-pipe that wakes the wait on a signal; -1 before it exists. */
static volatile sig_atomic_t signal_pipe_write = -1;

static void wake_from_signal(void)
{
	int saved = errno, fd = signal_pipe_write;

	if (fd >= 0) {
		ssize_t w = write(fd, "s", 1);
		(void)w; /* a full pipe already wakes the wait */
	}
	errno = saved;
}

static void on_stop_signal(int sig)
{
	(void)sig;
	agent_stop_requested = 1;
	wake_from_signal();
}

static void on_hup(int sig)
{
	(void)sig;
	agent_reload_requested = 1;
	wake_from_signal();
}

/* Opens (or extends) the settle window after this cycle re-pointed, started or rejoined the
 * replica, finished a database task, or saw another leader. */
static void note_settling(struct agent *a, bool task_finished)
{
	enum ha_action done = a->acted ? a->out.action : HA_ACT_NONE;
	const char *leader = a->view_ok && a->cluster->has_leader ? a->cluster->leader : "";

	if (task_finished || done == HA_ACT_FOLLOW || done == HA_ACT_START_REPLICA ||
	    done == HA_ACT_REJOIN || done == HA_ACT_DEMOTE || strcmp(leader, a->settle_leader) != 0)
		a->settle_until_ms = clock_mono_ms() + a->dyn.ttl_ms;
	if (a->view_ok)
		buf_copy_or_clear(a->settle_leader, sizeof(a->settle_leader), leader);
}

/* Arms the guardian: from here the lease thread hands it the leader's fence deadline after every
 * keepalive that succeeds (lease.c, the one place the deadline is computed), so it moves while
 * this loop is busy in a bounded call and stops when the heartbeat gate stops the keepalives; the
 * guardian fences PostgreSQL when it passes. Armed before the action. Disarmed when this node is
 * not the leader, when it is about to demote or release the key (decided before it is carried
 * out, so a slow planned stop is never cut short), in pause mode (no fencing in maintenance, as
 * Patroni), and for a planned shutdown. */
static void guard(struct agent *a)
{
	enum ha_action act = a->out.action;
	bool planned = act == HA_ACT_DEMOTE || act == HA_ACT_RELEASE_LEADER ||
		       act == HA_ACT_SHUTDOWN || act == HA_ACT_HALT;

	bool armed = a->out.leader && !a->dyn.pause && !planned;

	guardian_poll(a->guardian);
	/* The watchdog is activated before the action (a promotion); with "required", a node that
	 * cannot activate it releases the key instead (watchdog.c). */
	armed = watchdog_guard(a, armed);
	lease_arm_guardian(a->lease, armed, a->failsafe_acked_ms);
}

/* The lease thread's hook (lease.c, announce_locked; 0 while the loop has not armed it): the
 * guardian's deadline is a store to its shared page, and the REST API's /primary answers 200
 * as long as the same proof holds, however late the loop publishes (publish_lease_deadline). */
static void lease_deadline_hook(void *ctx, int64_t deadline_ms)
{
	struct agent *a = ctx;

	guardian_set_deadline(a->guardian, deadline_ms);
	publish_lease_deadline(a, deadline_ms);
}

/* Whether a decision taken on the watch-fed view must be taken again on a linearizable read
 * before it is carried out: every action that writes to etcd or changes the database, and the
 * peer probes that precede a race. Waiting, TILT, and a shutdown or halt (which act on this
 * node's own state and release the key only by compare-and-delete) do not, nor failsafe pings:
 * they are asked only when the keepalive failed, when a read cannot make etcd reachable again
 * and would only spend the time the round needs before the fence deadline (issue 18).
 * docs/ha-loop-contract.md, "Which view". */
static bool needs_proof(enum ha_action action)
{
	switch (action) {
	case HA_ACT_PING_FAILSAFE:
	case HA_ACT_NONE:
	case HA_ACT_TILT:
	case HA_ACT_WAIT_FOR_BOOTSTRAP:
	case HA_ACT_SHUTDOWN:
	case HA_ACT_HALT:
		return false;
	default:
		return true;
	}
}

/* One cycle. Returns the action carried out. */
static enum ha_action cycle(struct agent *a)
{
	int64_t t0 = clock_mono_ms();
	bool had_task = a->busy != HA_ACT_NONE;

	/* Observe with every etcd call bounded by the fence deadline (see fence_cap). */
	dcs_cap_calls(a->dcs, fence_cap(a));
	observe_dcs(a);
	dcs_cap_calls(a->dcs, 0);
	observe_config(a);
	observe_db(a);
	if (a->busy == HA_ACT_NONE && a->role.role == HA_ROLE_BOOTSTRAPPING &&
	    finish_bootstrap(a)) {
		a->read_next = true; /* what the bootstrap wrote, before the watch brings it */
		observe_dcs(a);
	}
	build_input(a);
	for (int call = 0; call < 3; call++) {
		a->in->now_ms = clock_mono_ms();
		a->in->now_wall_ms = clock_wall_ms();
		a->in->last_call_ms = a->last_call_ms;
		a->in->last_call_wall_ms = a->last_call_wall_ms;
		ha_decide(a->in, &a->out);
		a->last_call_ms = a->in->now_ms;
		a->last_call_wall_ms = a->in->now_wall_ms;
		if (a->view_ok && a->view_cached && needs_proof(a->out.action)) {
			/* Decided on the watch-fed view: read it for sure, then decide again. */
			observe_dcs_proof(a);
			observe_config(a);
			build_input(a);
			call--;
			continue;
		}
		if (election_freeze(a))
			break;
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
	guard(a);
	lease_heartbeat(a->lease); /* the action's waits are bounded each; count from here */
	act(a);
	election_thaw(a);
	/* The leader's upkeep writes too end by its deadline: etcd that falls silent after this
	 * cycle's keepalive must not spend the time the next decision and its failsafe round
	 * need (issue 18). */
	dcs_cap_calls(a->dcs, fence_cap(a));
	if (a->out.action != HA_ACT_SHUTDOWN && a->out.action != HA_ACT_HALT) {
		serve_requests(a);
		/* What is published must be what the database is now, not before the action. */
		if (a->acted && !a->race_won)
			(void)db_get_status(a->db, a->dbs);
		/* A won race leaves the upkeep (slots, parameters, the member key) to the cycle after
		 * the promotion: it is no use to anyone before, and its database calls stood between
		 * the key and the promotion (a slot query's connect hung 0.6 s at load 25: issue 14,
		 * docs/timing.md "Synchronous node loss"). */
		if (a->view_ok && !a->race_won) {
			set_db_peers(a);
			apply_params(a);
			maintain_as_leader(a);
			maintain_slots(a);
		}
		settle_role(a);
		if (a->view_ok && !db_task_running(a->db))
			finish_promotion(a);
		if (a->lease_ok && !a->race_won)
			touch_member(a);
	}
	dcs_cap_calls(a->dcs, 0);
	/* This node's own writes are decided on next from a read, not from a watch that may not
	 * have brought them yet. */
	if (a->acted)
		a->read_next = true;
	note_settling(a, had_task && a->busy == HA_ACT_NONE);
	a->loop_duration_ms = clock_mono_ms() - t0;
	histogram_observe_us(&a->counters.loop, a->loop_duration_ms * 1000);
	note_failsafe_state(a);
	publish(a);
	return a->out.action;
}

/* Whether what the cycle observed and published already is what the settle window waits for:
 * the replica streaming on the timeline the leader's member key shows. Then nothing is left to
 * catch early and the window's status polls stop (an idle replica after a start or a failover
 * would otherwise query its database ten times a second for the rest of ttl: issue 15). A leader
 * that moves to a new timeline later republishes its member key, which the watch brings into
 * the view (refresh_members), and the polls resume. Without a timeline on both sides (openGauss,
 * an old member key) the window runs its full length. */
static bool replication_settled(const struct agent *a)
{
	const struct dcs_cluster *c = a->cluster;

	if (!a->view_ok || !c->has_leader || a->dbs->role != DB_ROLE_REPLICA ||
	    a->dbs->replication_state != DB_REPL_STREAMING || a->dbs->timeline == 0)
		return false;
	for (int i = 0; i < c->member_count; i++)
		if (strcmp(c->members[i].name, c->leader) == 0)
			return c->members[i].timeline == (int64_t)a->dbs->timeline;
	return false;
}

/* In the settle window: whether the running replica's replication changed since the cycle
 * observed it (state, timeline, role), which is worth a cycle now. */
static bool replication_moved(struct agent *a)
{
	const struct db_status *was = a->dbs;
	struct db_status *now = a->settle_dbs;

	if (clock_mono_ms() >= a->settle_until_ms || was->role != DB_ROLE_REPLICA ||
	    db_task_running(a->db))
		return false;
	(void)db_get_status(a->db, now);
	return now->role != was->role || now->replication_state != was->replication_state ||
	       now->timeline != was->timeline;
}

/* Advances a running rejoin between cycles, so its steps (stop, pg_rewind, start) follow one
 * another at once rather than a loop_wait apart; the outcome is kept for observe_db. Returns
 * true when it succeeded (a failure waits for the next cycle, which paces the retries).
 * Bootstrap and clone keep their per-cycle pace: a bootstrap's primary must not meet a cycle
 * between its start and the leader key. */
static bool rejoin_done(struct agent *a)
{
	int rc;

	if (a->busy != HA_ACT_REJOIN || a->task_ended || !db_task_running(a->db))
		return false;
	rc = db_task_poll(a->db, 0, a->task_err, sizeof(a->task_err));
	if (rc == -EINPROGRESS)
		return false;
	a->task_ended = true;
	a->task_rc = rc;
	return rc == 0;
}

/* Takes the member keys from the watch-fed view after others changed theirs, so GET /cluster
 * shows what they wrote now rather than at this node's next cycle, and the member slots follow
 * the members. No request: while the view is not current (the watch rebuilding) this waits for
 * the next cycle. Only the members are taken: the cycle's decision stands on its own view. */
static void refresh_members(struct agent *a)
{
	struct dcs_cluster *c = a->refresh_view;

	a->members_refreshed_ms = clock_mono_ms();
	if (!a->view_ok || !dcs_cached_cluster(a->dcs, c))
		return;
	a->cluster->member_count = c->member_count;
	a->cluster->members_dropped = c->members_dropped;
	memcpy(a->cluster->members, c->members, sizeof(c->members[0]) * (size_t)c->member_count);
	/* A member that comes back (a rejoin after its key expired) finds its slot made before its
	 * database connects, not at this node's next cycle. */
	maintain_slots(a);
	publish(a);
}

/* A pidfd on the running task's current command, kept while that command runs; -1 when there is
 * none or none could be opened (the wait then looks every WAIT_SLICE_MS). */
static int task_pidfd(struct agent *a)
{
	int pid = a->busy != HA_ACT_NONE ? db_task_command_pid(a->db) : 0;

	if (pid == a->task_pidfd_pid)
		return a->task_pidfd;
	if (a->task_pidfd >= 0)
		close(a->task_pidfd);
	a->task_pidfd = -1;
	a->task_pidfd_pid = pid;
#ifdef SYS_pidfd_open
	if (pid > 0)
		a->task_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0u);
#endif
	return a->task_pidfd;
}

static void drain(int fd)
{
	char junk[64];

	while (read(fd, junk, sizeof(junk)) > 0)
		;
}

/* Waits for the next cycle: loop_wait, cut short by a watch event on the leader, failover or
 * config key, by a REST request (dcs_wake), by a signal, by a rejoin ending, by a task's command
 * ending, by the postmaster's exit (issue 14), or in the settle window by the replica's
 * replication moving. Member key changes refresh the REST snapshot's members meanwhile.
 * It sleeps in poll(2) on the watch's wake fd, the signal self-pipe, the postmaster's pidfd and
 * the task command's pidfd, until the earliest of its deadlines: an idle agent wakes only for
 * those (issue 15); only the settle window and a task without a pidfd poll on a timer. */
static void wait_next(struct agent *a, int64_t cycle_start_ms)
{
	int64_t due = cycle_start_ms + a->dyn.loop_wait_ms;
	int64_t next_probe = clock_mono_ms() + SETTLE_POLL_MS;
	bool members_pending = false, pm_zombie = false;

	if (a->out.wake_by_ms != 0 && a->out.wake_by_ms < due)
		due = a->out.wake_by_ms;
	if (a->acted)
		due = clock_mono_ms() +
		      ha_retry_wait_ms(&a->retry, AFTER_ACTION_WAIT_MS, a->dyn.loop_wait_ms);
	/* The key just taken was a transaction of this node's own: the next cycle's read (read_next)
	 * sees it without waiting, and the promotion it decides is what a node loss waits for. */
	if (a->race_won)
		due = clock_mono_ms();
	while (!agent_stop_requested) {
		struct pollfd fds[4];
		int64_t now = clock_mono_ms(), left = due - now, timeout;
		int nfds = 0, dcs_at = -1, tfd;
		bool settling;

		lease_heartbeat(a->lease); /* waiting is progress: the lease thread renews on */
		if (left <= 0)
			return;
		if (a->busy != HA_ACT_NONE && db_task_command_ended(a->db))
			return; /* the cycle's db_task_poll takes the task's next step */
		if (db_postmaster_exited(a->db)) {
			log_info("the postmaster (pid %d) exited and was reaped: observing at once",
				 a->dbs->postmaster_pid);
			return;
		}
		if (members_pending && now - a->members_refreshed_ms >= MEMBERS_REFRESH_MS) {
			members_pending = false;
			refresh_members(a); /* before settling: the leader's timeline may move */
		}
		settling = (a->busy == HA_ACT_REJOIN && !a->task_ended) ||
			   (now < a->settle_until_ms && a->dbs->role == DB_ROLE_REPLICA &&
			    !replication_settled(a));
		if (settling && now >= next_probe) {
			next_probe = now + SETTLE_POLL_MS;
			if (rejoin_done(a) || replication_moved(a))
				return;
		}

		timeout = left;
		if (settling && next_probe - now < timeout)
			timeout = next_probe - now;
		if (members_pending && a->members_refreshed_ms + MEMBERS_REFRESH_MS - now < timeout)
			timeout = a->members_refreshed_ms + MEMBERS_REFRESH_MS - now;
		if (dcs_wake_fd(a->dcs) >= 0) {
			dcs_at = nfds;
			fds[nfds++] =
				(struct pollfd){ .fd = dcs_wake_fd(a->dcs), .events = POLLIN };
		}
		if (a->signal_fd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = a->signal_fd, .events = POLLIN };
		if (!pm_zombie && db_postmaster_fd(a->db) >= 0)
			fds[nfds++] =
				(struct pollfd){ .fd = db_postmaster_fd(a->db), .events = POLLIN };
		else if (pm_zombie && timeout > WAIT_SLICE_MS)
			timeout = WAIT_SLICE_MS;
		tfd = task_pidfd(a);
		if (tfd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = tfd, .events = POLLIN };
		else if (a->busy != HA_ACT_NONE && timeout > WAIT_SLICE_MS)
			timeout = WAIT_SLICE_MS;
		if ((dcs_at < 0 || a->signal_fd < 0) && timeout > WAIT_SLICE_MS)
			timeout = WAIT_SLICE_MS; /* no wake fd: look on a timer */
		if (poll(fds, (nfds_t)nfds, timeout < 1 ? 1 : (int)timeout) <= 0)
			continue;
		for (int i = 0; i < nfds; i++) {
			unsigned changed;

			if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			if (fds[i].fd == a->signal_fd) {
				drain(a->signal_fd);
				if (agent_reload_requested)
					return; /* the loop reloads before its next cycle */
			} else if (i == dcs_at) {
				changed = dcs_take_changes(a->dcs);
				if ((changed & WAKE_CHANGES) != 0)
					return;
				/* Without a leader, what the others write about themselves (a primary
				 * that stepped down, a member gone) can decide the race: at once. */
				if ((changed & DCS_CHANGE_MEMBERS) != 0 && a->view_ok &&
				    !a->cluster->has_leader)
					return;
				members_pending =
					members_pending || (changed & DCS_CHANGE_MEMBERS) != 0;
			} else if (fds[i].fd == db_postmaster_fd(a->db) && fds[i].fd != tfd) {
				/* Exited; reported once reaped (the check at the top), until then the
				 * fd stays readable and is looked at on a timer instead. */
				pm_zombie = !db_postmaster_exited(a->db);
				if (!pm_zombie) {
					log_info("the postmaster (pid %d) exited and was reaped: "
						 "observing at once",
						 a->dbs->postmaster_pid);
					return;
				}
			}
		}
	}
}

static int build_dcs_options(const struct cfg *c, const struct cfg_dynamic *dyn,
			     struct dcs_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	if (c->etcd3.hosts.count == 0 && c->etcd3.url[0] == '\0') {
		return err_fail(err, errlen, -EINVAL,
				"no etcd endpoints: set etcd3.hosts (or PATRONI_ETCD3_HOSTS)");
	}
	if (c->etcd3.url[0] != '\0' &&
	    buf_copy(o->endpoints[o->endpoint_count++], DCS_URL_MAX, c->etcd3.url) != 0) {
		return err_fail(err, errlen, -ENAMETOOLONG, "\"etcd3.url\" is too long");
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
		return err_fail(err, errlen, -ENAMETOOLONG,
				"a value of the etcd3 section is too long");
	}
	o->ttl_ms = dyn->ttl_ms;
	o->retry_timeout_ms = dyn->retry_timeout_ms;
	return 0;
}

static void agent_free(struct agent *a)
{
	callbacks_free(a->callbacks);
	rest_server_free(a->rest);
	db_free(a->db);
	lease_keeper_free(a->lease); /* before the client its keepalives use */
	dcs_client_free(a->dcs);
	zpages_free(a->cluster);
	zpages_free(a->dbs);
	free(a->in);
	zpages_free(a->snap);
	zpages_free(a->live_snap);
	zpages_free(a->settle_dbs);
	zpages_free(a->refresh_view);
	free(a->rest_deferred);
	if (a->task_pidfd >= 0)
		close(a->task_pidfd);
	if (a->signal_fd >= 0) {
		int w = signal_pipe_write;

		signal_pipe_write = -1;
		close(w);
		close(a->signal_fd);
	}
	pthread_mutex_destroy(&a->req_lock);
	pthread_mutex_destroy(&a->live_lock);
	free(a);
}

static int agent_start(const struct cfg *c, struct agent **out)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct dcs_options dopts;
	struct ha_policy policy;
	struct db_options *dbopts = NULL;
	struct rest_options ropts;
	struct rest_actions actions;
	char err[DB_ERROR_MAX];
	int r;

	if (a == NULL)
		return -ENOMEM;
	a->db_peer_count = -1;
	a->signal_fd = -1;
	a->task_pidfd = -1;
	pthread_mutex_init(&a->req_lock, NULL);
	pthread_mutex_init(&a->live_lock, NULL);
	a->cfg = c;
	buf_copy_or_clear(a->name, sizeof(a->name), c->name); /* both MEMBER_NAME_MAX */
	cfg_dynamic_copy(&a->dyn, &c->bootstrap.dcs);	      /* its lists by count (issue 15) */
	/* The worst-case structs on fresh pages (zpages.h): resident only as far as written. */
	a->cluster = zpages_alloc(sizeof(*a->cluster));
	a->dbs = zpages_alloc(sizeof(*a->dbs));
	a->in = calloc(1, sizeof(*a->in));
	a->snap = zpages_alloc(sizeof(*a->snap));
	a->live_snap = zpages_alloc(sizeof(*a->live_snap));
	a->settle_dbs = zpages_alloc(sizeof(*a->settle_dbs));
	a->refresh_view = zpages_alloc(sizeof(*a->refresh_view));
	dbopts = calloc(1, sizeof(*dbopts));
	if (a->cluster == NULL || a->dbs == NULL || a->in == NULL || a->snap == NULL ||
	    a->live_snap == NULL || a->settle_dbs == NULL || a->refresh_view == NULL ||
	    dbopts == NULL) {
		r = -ENOMEM;
		err_set(err, sizeof(err), "out of memory");
		goto out_fail;
	}
	ha_role_init(&a->role, HA_ROLE_UNINITIALIZED, clock_mono_ms());
	a->callbacks = callbacks_new(c, "primary");
	if (buf_format(a->api_url, sizeof(a->api_url), "%s://%s/patroni",
		       c->restapi.certfile[0] ? "https" : "http",
		       c->restapi.connect_address[0] ? c->restapi.connect_address
						     : c->restapi.listen) != 0 ||
	    buf_format(a->conn_url, sizeof(a->conn_url), "postgres://%s/postgres",
		       c->postgresql.connect_address[0] ? c->postgresql.connect_address
							: c->postgresql.listen) != 0) {
		r = -ENAMETOOLONG;
		err_set(err, sizeof(err), "restapi or postgresql connect_address is too long");
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
	agent_ha_policy(c, &a->dyn, &policy);
	a->lease = lease_keeper_new(a->dcs, &policy);
	if (a->lease == NULL) {
		r = -ENOMEM;
		err_set(err, sizeof(err), "out of memory");
		goto out_fail;
	}
	r = agent_rest_options(c, &ropts, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	if (rest_options_unprotected(&ropts))
		log_warning(
			"the REST API on \"%s\" accepts changes from anyone who reaches it: set "
			"restapi.authentication or restapi.allowlist (docs/security.md)",
			c->restapi.listen);
	/* Before this agent's REST API answers (it would answer its own check) and before the
	 * database layer writes anything. */
	r = agent_ensure_unique_name(c, a->dcs);
	if (r == -EEXIST)
		err_set(err, sizeof(err), "member name \"%s\" is in use", c->name);
	else if (r == -EINTR)
		err_set(err, sizeof(err),
			"stopped while waiting for etcd to check that member name \"%s\" is free",
			c->name);
	else if (r != 0)
		err_set(err, sizeof(err), "could not check that member name \"%s\" is free: %s",
			c->name, strerror(-r));
	if (r != 0)
		goto out_fail;
	r = agent_db_options(c, &a->dyn, dbopts, err, sizeof(err));
	if (r == 0)
		r = db_new(dbopts, &a->db, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	agent_rest_actions(a, &actions);
	a->rest = rest_server_new(&ropts, &actions, err, sizeof(err));
	if (a->rest == NULL) {
		r = -EINVAL;
		goto out_fail;
	}
	if (db_check_private_dir(dbopts->pgpass_path, err, sizeof(err)) != 0)
		log_warning("postgresql.pgpass: %s", err);
	free(dbopts);
	*out = a;
	return 0;
out_fail:
	log_error("could not start: %s", err);
	free(dbopts);
	agent_free(a);
	return r;
}

int agent_run(struct cfg *c, int (*reload)(void *ctx, struct cfg **out), void *reload_ctx)
{
	struct sigaction sa = { 0 };
	struct agent *a;
	int exit_code = 0;
	char msg[DCS_MSG_MAX];
	struct guardian *guardian;

	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (watchdog_check_config(c, msg, sizeof(msg)) != 0) {
		log_error("could not start: %s", msg);
		free(c);
		return 1;
	}
	/* An exec of this binary (posix_spawn), so it may start while threads run. */
	guardian = guardian_start(c->postgresql.data_dir);
	if (agent_start(c, &a) != 0) {
		guardian_stop(guardian);
		free(c);
		return 1;
	}
	a->guardian = guardian;
	lease_set_deadline_hook(a->lease, lease_deadline_hook, a);
	a->cfg_live = c;
	{
		int p[2];

		/* Without the pipe a signal is still seen, at the wait's next deadline. */
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0) {
			a->signal_fd = p[0];
			signal_pipe_write = p[1];
		} else {
			log_warning("could not create the signal pipe: %s, ignoring",
				    strerror(errno));
		}
	}
	a->reload = reload;
	a->reload_ctx = reload_ctx;
	if (dcs_watch_start(a->dcs, msg, sizeof(msg)) != 0)
		log_warning("could not start the etcd watch: %s; polling every loop_wait", msg);
	if (lease_keeper_start(a->lease) != 0) {
		log_error("could not start the lease thread");
		agent_free(a);
		free(c);
		return 1;
	}
	log_notice("gsha %s starting: member \"%s\" of cluster \"%s\", REST API on port %d",
		   GSHA_VERSION, c->name, c->scope, rest_server_port(a->rest));

	for (;;) {
		int64_t start = clock_mono_ms();
		enum ha_action done = cycle(a);

		if (done == HA_ACT_SHUTDOWN) {
			char err[DB_ERROR_MAX];

			/* Each step is a bounded wait: the lease lives through it (lease.c). */
			lease_heartbeat_ahead(a->lease, a->dyn.retry_timeout_ms);
			if (a->out.stop_db)
				callbacks_before_stop(a->callbacks, a->dyn.retry_timeout_ms);
			lease_heartbeat_ahead(a->lease, a->dyn.ttl_ms);
			if (a->out.stop_db &&
			    db_stop(a->db, DB_STOP_FAST, a->dyn.ttl_ms, err, sizeof(err)) != 0)
				log_warning("could not stop the database: %s", err);
			else if (a->out.stop_db)
				callbacks_fire(a->callbacks, CB_ON_STOP, NULL);
			if (a->out.release_leader) {
				struct db_control control;

				lease_heartbeat_ahead(a->lease, a->dyn.retry_timeout_ms * 2);
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
		if (a->bootstrap_failed) {
			cancel_bootstrap(a);
			log_error("failed to bootstrap the cluster: exiting");
			exit_code = 1;
			break;
		}
		if (done == HA_ACT_HALT) {
			log_error("%s", a->out.reason);
			exit_code = 1;
			break;
		}
		if (agent_reload_requested) {
			agent_reload_requested = 0;
			agent_reload(a);
		}
		agent_reload_poll(a);
		callbacks_poll(a->callbacks);
		wait_next(a, start);
	}
	lease_set_deadline_hook(a->lease, NULL, NULL); /* before the guardian goes */
	guardian_stop(a->guardian);
	agent_free(a);
	free(c);
	return exit_code;
}
