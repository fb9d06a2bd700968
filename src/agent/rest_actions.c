/*
 * rest_actions.c - the REST API's actions (switchover, restart, reinitialize, reload, failsafe,
 * config): the callbacks run on REST threads and only read the immutable config and talk to etcd;
 * what they ask of the loop goes through the request flags under req_lock, which the loop serves
 * here once per cycle (serve_requests).
 */
#include "agent_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "zpages.h"

/* Patroni's restart filters: every one given must hold. Call with req_lock held. */
static bool restart_filters_hold(const struct agent *a, const struct rest_restart_request *req)
{
	return (!req->restart_pending || a->pub_pending_restart) &&
	       (req->postgres_version == 0 || a->pub_server_version < req->postgres_version) &&
	       (!req->has_role || (req->role == REST_ROLE_PRIMARY) == a->pub_primary);
}

/* Requests from REST action threads: restart and reinitialize. */
void serve_requests(struct agent *a)
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
		/* A bounded wait (a stop, then a start, each within the timeout): the lease lives
		 * through it rather than lapse under a planned restart. */
		lease_heartbeat_ahead(a->lease, 2 * a->dyn.primary_start_timeout_ms);
		rc = db_restart(a->db, DB_STOP_FAST, a->dyn.primary_start_timeout_ms, err,
				sizeof(err));
		lease_heartbeat(a->lease); /* back from the wait: a hang counts from now */
		if (rc != 0)
			log_error("restart failed: %s", err);
		else
			callbacks_fire(a->callbacks, CB_ON_RESTART, NULL);
		a->acted = true;
		pthread_mutex_lock(&a->req_lock);
		a->last_restart_ok = rc == 0;
		a->restarts_done++;
		pthread_mutex_unlock(&a->req_lock);
		if (rc == 0)
			a->counters.restarts++;
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
				/* Patroni: --from-leader always uses basebackup. The list is
				 * built here rather than held as a static const: that was 41 kB
				 * of zeros in the executable's resident read-only data. */
				struct db_replica_methods *basebackup_only = NULL;

				if (from_leader) {
					basebackup_only = zpages_alloc(sizeof(*basebackup_only));
					if (basebackup_only) {
						basebackup_only->count = 1;
						memcpy(basebackup_only->items[0].name, "basebackup",
						       sizeof("basebackup"));
					}
				}
				if (from_leader && !basebackup_only)
					rc = err_fail(err, sizeof(err), -ENOMEM,
						      "out of memory for the method list");
				else
					rc = db_begin_create_replica_with(a->db, basebackup_only,
									  &source, &leader, true,
									  err, sizeof(err));
				zpages_free(basebackup_only);
				begin_task(a, HA_ACT_CLONE, rc, err);
			} else if (rc != 0) {
				log_error("reinitialize failed: %s", err);
			}
			a->acted = true;
		}
	}
}

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
	char msg[DCS_MSG_MAX], old_leader[MEMBER_NAME_MAX], json[DCS_FAILOVER_DOC_MAX + 1];
	struct dcs_failover_doc fo = { 0 };
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
	/* Scheduled or not, as Patroni's is_failover_possible: a scheduled request naming the
	 * wrong leader would otherwise sit in the failover key and demote whoever leads then. */
	if (req->leader[0] != '\0' && (!c->has_leader || strcmp(c->leader, req->leader) != 0)) {
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
	rc = DCS_ERR_INVALID_ARGUMENT;
	if (buf_copy(fo.leader, sizeof(fo.leader), req->leader) == 0 &&
	    buf_copy(fo.member, sizeof(fo.member), req->candidate) == 0 &&
	    buf_copy(fo.scheduled_at, sizeof(fo.scheduled_at),
		     req->scheduled ? req->scheduled_at : "") == 0)
		rc = dcs_doc_failover(&fo, json, sizeof(json), msg, sizeof(msg));
	if (rc == 0)
		rc = dcs_write_failover(a->dcs, json, DCS_CAS_ANY, NULL, msg, sizeof(msg));
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
	} else if (strcmp(c->leader, a->name) == 0) {
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

	agent_reload_requested = 1;
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
	struct cfg_dynamic *dyn = malloc(sizeof(*dyn)); /* 125 kB: not on the loop's stack */
	char msg[DCS_MSG_MAX], err[256];
	int rc;

	memset(out, 0, sizeof(*out));
	if (dyn == NULL)
		return -ENOMEM;
	rc = cfg_dynamic_parse(config_json, strlen(config_json), dyn, err, sizeof(err));
	free(dyn); /* only checked here: the loop takes it from the config key */
	if (rc != 0) {
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

void fill_rest_actions(struct agent *a, struct rest_actions *out)
{
	*out = (struct rest_actions){
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
}
