/*
 * run.c - the HA loop: observe -> decide -> act -> publish, once per loop_wait or at once when
 * the watch sees the leader, failover or config key change; start-up, signals, and the wait
 * between cycles. The phases live in their own files (agent_state.h lists them).
 */
#include "agent_state.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "clock.h"
#include "log.h"

/* How long to wait after an action that changed the DCS or the database before observing
 * again: long enough for the change to be visible, short enough not to round detection up. */
#define AFTER_ACTION_WAIT_MS 50
/* Wait slice, so a signal is noticed promptly even while the watch is silent. */
#define WAIT_SLICE_MS 100
/* Changes of these keys cut the wait short (issue 5: leader gone, failover written). */
#define WAKE_CHANGES                                                                           \
	(DCS_CHANGE_LEADER | DCS_CHANGE_FAILOVER | DCS_CHANGE_CONFIG | DCS_CHANGE_INITIALIZE | \
	 DCS_CHANGE_RESYNC | DCS_CHANGE_OTHER)

volatile sig_atomic_t agent_stop_requested;
volatile sig_atomic_t agent_reload_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	agent_stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	agent_reload_requested = 1;
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
			set_db_peers(a);
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
	while (!agent_stop_requested) {
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
	a->db_peer_count = -1;
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
	r = agent_db_options(c, &a->dyn, dbopts, err, sizeof(err));
	if (r == 0)
		r = db_new(dbopts, &a->db, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	r = agent_rest_options(c, &ropts, err, sizeof(err));
	if (r != 0)
		goto out_fail;
	fill_rest_actions(a, &actions);
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

			if (a->out.stop_db)
				callbacks_before_stop(a->callbacks, a->dyn.retry_timeout_ms);
			if (a->out.stop_db &&
			    db_stop(a->db, DB_STOP_FAST, a->dyn.ttl_ms, err, sizeof(err)) != 0)
				log_warning("could not stop the database: %s", err);
			else if (a->out.stop_db)
				callbacks_fire(a->callbacks, CB_ON_STOP, NULL);
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
		if (agent_reload_requested) {
			agent_reload_requested = 0;
			log_notice("reload requested: the configuration file is re-read at restart "
				   "in this version; reloading the server's parameters");
			a->params_applied = false;
			callbacks_fire(a->callbacks, CB_ON_RELOAD, NULL);
		}
		callbacks_poll(a->callbacks);
		wait_next(a, start);
	}
	agent_free(a);
	return exit_code;
}
