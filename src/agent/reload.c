/*
 * reload.c - SIGHUP and POST /reload: the configuration is read again (file and environment,
 * as at start) and what changed is applied, as Patroni's reload_config does: the log section,
 * tags, the REST API (credentials, certificates, allow-list, headers, listen address: the server
 * is rebuilt), the ctl section, callbacks, pre_promote, before_stop and the local PostgreSQL
 * parameters. A change gsha cannot apply while it runs is named in a warning and takes effect at
 * the next start; a file that no longer validates is refused (its diagnostics are logged with
 * file:line:column by the loader) and the old configuration stays.
 *
 * Threads: only the loop reads a->cfg; the REST threads read a->name, so the sections below are
 * replaced in place without a lock.
 */
#include "agent_state.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

/* What gsha reads only at start: a change is reported, not applied. */
static const struct {
	const char *key;
	size_t offset;
	size_t size;
} fixed[] = {
#define FIXED(key, field)                                                          \
	{                                                                          \
		key, offsetof(struct cfg, field), sizeof(((struct cfg *)0)->field) \
	}
	FIXED("name", name),
	FIXED("scope", scope),
	FIXED("namespace", namespace_),
	FIXED("etcd3", etcd3),
	FIXED("postgresql.engine", postgresql.engine),
	FIXED("postgresql.listen", postgresql.listen),
	FIXED("postgresql.connect_address", postgresql.connect_address),
	FIXED("postgresql.proxy_address", postgresql.proxy_address),
	FIXED("postgresql.data_dir", postgresql.data_dir),
	FIXED("postgresql.config_dir", postgresql.config_dir),
	FIXED("postgresql.bin_dir", postgresql.bin_dir),
	FIXED("postgresql.pgpass", postgresql.pgpass),
	FIXED("postgresql.authentication", postgresql.authentication),
	FIXED("postgresql.pg_hba", postgresql.pg_hba),
	FIXED("postgresql.pg_ident", postgresql.pg_ident),
	FIXED("postgresql.recovery_conf", postgresql.recovery_conf),
	FIXED("postgresql.create_replica_methods", postgresql.create_replica_methods),
	FIXED("postgresql replica method sections", postgresql.replica_methods),
	FIXED("postgresql.basebackup", postgresql.basebackup),
	FIXED("postgresql.pg_ctl_timeout", postgresql.pg_ctl_timeout_ms),
	FIXED("postgresql.use_unix_socket", postgresql.use_unix_socket),
	FIXED("postgresql.use_unix_socket_repl", postgresql.use_unix_socket_repl),
	FIXED("postgresql.use_pg_rewind", postgresql.use_pg_rewind),
	FIXED("postgresql.remove_data_directory_on_rewind_failure",
	      postgresql.remove_data_directory_on_rewind_failure),
	FIXED("postgresql.remove_data_directory_on_diverged_timelines",
	      postgresql.remove_data_directory_on_diverged_timelines),
	FIXED("postgresql.custom_conf", postgresql.custom_conf),
	FIXED("watchdog", watchdog),
#undef FIXED
};

#define SECTION_CHANGED(live, next, field) \
	(memcmp(&(live)->field, &(next)->field, sizeof((live)->field)) != 0)

/* The REST API with the new restapi section: built first, so a section it refuses leaves the
 * old server serving. The old one is stopped before the new one binds (same port). While a
 * switchover or restart runs, *next is kept in rest_deferred instead (taken: *next becomes
 * NULL), not copied: a copy would write the whole struct cfg. */
static void rebuild_rest(struct agent *a, struct cfg **next_p)
{
	const struct cfg *next = *next_p;
	struct rest_options ropts, old_opts;
	struct rest_actions actions;
	char err[DB_ERROR_MAX];

	if (__atomic_load_n(&a->long_actions, __ATOMIC_SEQ_CST) > 0) {
		/* Stopping the server would wait for them, and they wait for this loop. */
		free(a->rest_deferred);
		a->rest_deferred = *next_p;
		*next_p = NULL;
		log_notice("reload: the REST API restarts with the new restapi settings once the "
			   "running switchover or restart ends");
		return;
	}
	if (agent_rest_options(next, &ropts, err, sizeof(err)) != 0 ||
	    agent_rest_options(a->cfg, &old_opts, err, sizeof(err)) != 0) {
		log_warning("reload: restapi: %s; keeping the REST API as it is", err);
		return;
	}
	agent_rest_actions(a, &actions);
	rest_server_free(a->rest);
	a->rest = rest_server_new(&ropts, &actions, err, sizeof(err));
	if (a->rest == NULL) {
		log_error("reload: could not start the REST API with the new settings: %s; "
			  "restoring the old ones",
			  err);
		a->rest = rest_server_new(&old_opts, &actions, err, sizeof(err));
		if (a->rest == NULL) {
			log_error("could not restore the REST API: %s; exiting", err);
			agent_stop_requested = 1;
		}
		return;
	}
	a->cfg_live->restapi = next->restapi;
	if (buf_format(a->api_url, sizeof(a->api_url), "%s://%s/patroni",
		       next->restapi.certfile[0] ? "https" : "http",
		       next->restapi.connect_address[0] ? next->restapi.connect_address
							: next->restapi.listen) != 0)
		log_warning("reload: restapi.connect_address is too long for the member key");
	if (rest_publish(a->rest, a->snap) != 0) /* serve the last state at once */
		log_debug("reload: the REST API answers 503 until the next cycle publishes");
	log_notice("reload: the REST API restarted with the new restapi settings on port %d",
		   rest_server_port(a->rest));
}

void agent_reload(struct agent *a)
{
	struct cfg *live = a->cfg_live;
	struct cfg *next;
	int applied = 0;

	if (a->reload == NULL) {
		log_warning("reload requested, but there is no configuration source to read again");
		return;
	}
	next = NULL;
	if (a->reload(a->reload_ctx, &next) != 0) {
		log_error(
			"reload: the configuration does not validate (see above), keeping the old "
			"one");
		return;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (memcmp((const char *)live + fixed[i].offset,
			   (const char *)next + fixed[i].offset, fixed[i].size) != 0)
			log_warning("reload: \"%s\" changed; gsha applies it at its next start",
				    fixed[i].key);
	}
	if (SECTION_CHANGED(live, next, log)) {
		live->log = next->log;
		if (cfg_log_setup(live) != 0)
			log_warning("reload: the log section could not be applied in full");
		log_notice("reload: applied the log section (level %s)",
			   log_level_name(live->log.level));
		applied++;
	}
	if (SECTION_CHANGED(live, next, tags)) {
		live->tags = next->tags;
		log_notice("reload: applied the tags");
		applied++;
	}
	if (SECTION_CHANGED(live, next, ctl)) {
		live->ctl = next->ctl;
		applied++;
	}
	if (SECTION_CHANGED(live, next, postgresql.callbacks) ||
	    SECTION_CHANGED(live, next, postgresql.pre_promote) ||
	    SECTION_CHANGED(live, next, postgresql.before_stop)) {
		live->postgresql.callbacks = next->postgresql.callbacks;
		memcpy(live->postgresql.pre_promote, next->postgresql.pre_promote,
		       sizeof(live->postgresql.pre_promote));
		memcpy(live->postgresql.before_stop, next->postgresql.before_stop,
		       sizeof(live->postgresql.before_stop));
		callbacks_reconfigure(a->callbacks, live);
		log_notice("reload: applied the callbacks, pre_promote and before_stop");
		applied++;
	}
	if (SECTION_CHANGED(live, next, postgresql.parameters)) {
		live->postgresql.parameters = next->postgresql.parameters;
		applied++;
	}
	if (SECTION_CHANGED(live, next, restapi)) { /* last: it may take next */
		applied++;
		rebuild_rest(a, &next);
	}
	free(next);
	log_notice("reload: configuration read again from %s, %d section%s changed; reloading the "
		   "server's parameters",
		   live->source, applied, applied == 1 ? "" : "s");
	a->params_applied = false; /* the next cycle writes the parameters and reloads the server */
	callbacks_fire(a->callbacks, CB_ON_RELOAD, NULL);
}

void agent_reload_poll(struct agent *a)
{
	struct cfg *next = a->rest_deferred;

	if (next == NULL || __atomic_load_n(&a->long_actions, __ATOMIC_SEQ_CST) > 0)
		return;
	a->rest_deferred = NULL;
	rebuild_rest(a, &next); /* a switchover begun meanwhile defers it again */
	free(next);
}

static int counted_switchover(void *ctx, const struct rest_switchover_request *req,
			      struct rest_action_result *out)
{
	struct agent *a = ctx;
	int rc;

	__atomic_add_fetch(&a->long_actions, 1, __ATOMIC_SEQ_CST);
	rc = a->rest_inner.switchover(ctx, req, out);
	__atomic_sub_fetch(&a->long_actions, 1, __ATOMIC_SEQ_CST);
	return rc;
}

static int counted_restart(void *ctx, const struct rest_restart_request *req,
			   struct rest_action_result *out)
{
	struct agent *a = ctx;
	int rc;

	__atomic_add_fetch(&a->long_actions, 1, __ATOMIC_SEQ_CST);
	rc = a->rest_inner.restart(ctx, req, out);
	__atomic_sub_fetch(&a->long_actions, 1, __ATOMIC_SEQ_CST);
	return rc;
}

void agent_rest_actions(struct agent *a, struct rest_actions *out)
{
	fill_rest_actions(a, &a->rest_inner);
	*out = a->rest_inner;
	out->switchover = counted_switchover;
	out->restart = counted_restart;
}
