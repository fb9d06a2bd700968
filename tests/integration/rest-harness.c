/*
 * rest-harness.c - a TEST HARNESS, not the agent: starts the real REST server (rest_server_new)
 * on 127.0.0.1 and publishes a canned node snapshot, so integration tests can curl every
 * endpoint without etcd or PostgreSQL. A simulated loop republishes the snapshot every
 * HARNESS_CYCLE_MS (renewing the lease and the DCS view) unless --freeze is given, in which case
 * it publishes exactly once and never again, like a stuck HA loop.
 *
 * The action callbacks are FAKES (fake_*): they answer fixed Patroni texts so the tests can
 * check routing, authentication and body validation end to end. fake_switchover sleeps
 * --action-delay-ms first, to show that a slow action does not hold up health checks.
 *
 * Usage: rest-harness --port N --state primary|replica|stopped|cutoff [--freeze]
 *        [--lease-ms N] [--user U --password P] [--allow CIDR]... [--cert F --key F
 *        [--cafile F --verify none|optional|required]] [--action-delay-ms N]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "num.h"
#include "json_merge.h"
#include "rest.h"

/* How often the simulated loop republishes. */
#define HARNESS_CYCLE_MS 500
/* The DCS ttl of the simulated cluster. */
#define HARNESS_TTL_MS 30000
#define HARNESS_ERR_MAX 512

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t action_delay_ms;

static int fake_switchover(void *ctx, const struct rest_switchover_request *req,
			   struct rest_action_result *out)
{
	(void)ctx;
	if (action_delay_ms > 0)
		clock_sleep_ms(action_delay_ms);
	if (req->scheduled) {
		out->status = 202;
		return buf_format(out->text, sizeof(out->text), "%s scheduled",
				  req->failover ? "Failover" : "Switchover");
	}
	if (strcmp(req->leader, "node1") != 0 && req->leader[0]) {
		out->status = 412;
		return buf_copy(out->text, sizeof(out->text), "leader name does not match");
	}
	out->status = 200;
	return buf_format(out->text, sizeof(out->text), "Successfully %s to \"%s\"",
			  req->failover ? "failed over" : "switched over",
			  req->candidate[0] ? req->candidate : "node2");
}

static int fake_switchover_cancel(void *ctx, struct rest_action_result *out)
{
	(void)ctx;
	out->status = 404;
	return buf_copy(out->text, sizeof(out->text), "no switchover is scheduled");
}

static int fake_restart(void *ctx, const struct rest_restart_request *req,
			struct rest_action_result *out)
{
	(void)ctx;
	if (req->scheduled) {
		out->status = 202;
		return buf_copy(out->text, sizeof(out->text), "Restart scheduled");
	}
	out->status = 200;
	return buf_copy(out->text, sizeof(out->text), "restarted successfully");
}

static int fake_restart_cancel(void *ctx, struct rest_action_result *out)
{
	(void)ctx;
	out->status = 404;
	return buf_copy(out->text, sizeof(out->text), "no restarts are scheduled");
}

static int fake_reinitialize(void *ctx, const struct rest_reinit_request *req,
			     struct rest_action_result *out)
{
	(void)ctx;
	(void)req;
	out->status = 503;
	return buf_copy(out->text, sizeof(out->text), "I am the leader, can not reinitialize");
}

static int fake_reload(void *ctx)
{
	(void)ctx;
	return 0;
}

static int fake_config_patch(void *ctx, const char *patch, char *merged, size_t cap,
			     struct rest_action_result *out)
{
	bool changed;
	int rc;

	(void)ctx;
	rc = json_merge_patch("{\"ttl\":30,\"loop_wait\":10}", patch, merged, cap, &changed, NULL,
			      0);
	if (rc)
		return rc;
	out->status = 200;
	return 0;
}

static int fake_config_put(void *ctx, const char *json, struct rest_action_result *out)
{
	(void)ctx;
	(void)json;
	out->status = 200;
	return 0;
}

static void set_tag(struct rest_snapshot *s, const char *k, const char *v, enum rest_tag_type t)
{
	struct rest_tag *tag = &s->tags[s->tag_count++];

	if (buf_copy(tag->key, sizeof(tag->key), k) || buf_copy(tag->value, sizeof(tag->value), v))
		abort();
	tag->type = t;
}

/* Fills the snapshot of the chosen state as the HA loop would at time now. */
static void fill(struct rest_snapshot *s, const char *state, int64_t now, int64_t lease_ms)
{
	memset(s, 0, sizeof(*s));
	if (buf_copy(s->name, sizeof(s->name), "node1") ||
	    buf_copy(s->scope, sizeof(s->scope), "batman") ||
	    buf_copy(s->version, sizeof(s->version), "4.1.4") ||
	    buf_copy(s->system_identifier, sizeof(s->system_identifier), "7710494829095195138") ||
	    buf_copy(s->config_json, sizeof(s->config_json), "{\"ttl\":30,\"loop_wait\":10}"))
		abort();
	s->ttl_ms = HARNESS_TTL_MS;
	s->dcs_last_seen_mono_ms = now;
	s->dcs_last_seen_wall_ms = clock_wall_ms();
	s->next_cycle_due_ms = now + 10000;
	s->server_version = 150004;
	s->timeline = 1;
	s->postmaster_start_wall_us = 1795239490512906LL;
	s->state = REST_DB_RUNNING;
	s->pg_reachable = true;
	s->cluster_optime_bytes = 50331744;
	s->maximum_lag_on_failover_bytes = 1048576;
	s->loop_duration_ms = 3;
	set_tag(s, "dc", "east", REST_TAG_STRING);
	s->member_count = 2;
	if (buf_copy(s->members[0].name, MEMBER_NAME_MAX, "node1") ||
	    buf_copy(s->members[0].state, REST_SHORT_MAX, "running") ||
	    buf_copy(s->members[0].api_url, REST_URL_MAX, "http://127.0.0.1:8008/patroni") ||
	    buf_copy(s->members[1].name, MEMBER_NAME_MAX, "node2") ||
	    buf_copy(s->members[1].state, REST_SHORT_MAX, "running") ||
	    buf_copy(s->members[1].replication_state, REST_SHORT_MAX, "streaming") ||
	    buf_copy(s->members[1].api_url, REST_URL_MAX, "http://127.0.0.1:8009/patroni"))
		abort();
	s->members[0].is_leader = true;
	s->members[1].has_lsn = true;
	s->members[1].lsn_bytes = 50331744;

	if (strcmp(state, "primary") == 0) {
		s->role = REST_ROLE_PRIMARY;
		s->has_lock = true;
		s->lease_deadline_ms = now + lease_ms;
		s->wal_location_bytes = 50331744;
	} else if (strcmp(state, "replica") == 0) {
		s->role = REST_ROLE_REPLICA;
		s->replication_state = REST_REPLICATION_STREAMING;
		s->received_lsn_bytes = 50331744;
		s->replayed_lsn_bytes = 50331744;
		if (buf_copy(s->name, sizeof(s->name), "node2"))
			abort();
	} else if (strcmp(state, "stopped") == 0) {
		s->role = REST_ROLE_REPLICA;
		s->state = REST_DB_STOPPED;
		s->pg_reachable = false;
	} else { /* cutoff: a primary that lost etcd; its lease ran out, the loop still runs */
		s->role = REST_ROLE_PRIMARY;
		s->has_lock = true;
		s->lease_deadline_ms = now - 5000;
		s->dcs_last_seen_mono_ms = now - 2 * HARNESS_TTL_MS;
		s->dcs_last_seen_wall_ms -= 2 * HARNESS_TTL_MS;
		s->wal_location_bytes = 50331744;
	}
}

int main(int argc, char **argv)
{
	struct rest_options opts;
	struct rest_actions actions = {
		.switchover = fake_switchover,
		.switchover_cancel = fake_switchover_cancel,
		.restart = fake_restart,
		.restart_cancel = fake_restart_cancel,
		.reinitialize = fake_reinitialize,
		.reload = fake_reload,
		.config_patch = fake_config_patch,
		.config_put = fake_config_put,
	};
	struct rest_snapshot *snap = calloc(1, sizeof(*snap));
	struct rest_server *server;
	char err[HARNESS_ERR_MAX];
	const char *state = "primary";
	bool freeze = false;
	int64_t lease_ms = HARNESS_TTL_MS;

	if (!snap)
		return 1;
	rest_options_init(&opts);
	if (buf_copy(opts.listen_host, sizeof(opts.listen_host), "127.0.0.1"))
		return 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(a, "--freeze") == 0) {
			freeze = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "rest-harness: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--port") == 0)
			rc = num_parse_int(v, 0, 65535, &opts.listen_port);
		else if (strcmp(a, "--state") == 0)
			state = v;
		else if (strcmp(a, "--lease-ms") == 0)
			rc = num_parse_i64(v, -3600000, 3600000, &lease_ms);
		else if (strcmp(a, "--action-delay-ms") == 0)
			rc = num_parse_i64(v, 0, 60000, &action_delay_ms);
		else if (strcmp(a, "--user") == 0)
			rc = buf_copy(opts.username, sizeof(opts.username), v);
		else if (strcmp(a, "--password") == 0)
			rc = buf_copy(opts.password, sizeof(opts.password), v);
		else if (strcmp(a, "--allow") == 0 && opts.allowlist_count < REST_ALLOWLIST_MAX)
			rc = rest_cidr_parse(v, &opts.allowlist[opts.allowlist_count++]);
		else if (strcmp(a, "--cert") == 0)
			rc = buf_copy(opts.certfile, sizeof(opts.certfile), v);
		else if (strcmp(a, "--key") == 0)
			rc = buf_copy(opts.keyfile, sizeof(opts.keyfile), v);
		else if (strcmp(a, "--cafile") == 0)
			rc = buf_copy(opts.cafile, sizeof(opts.cafile), v);
		else if (strcmp(a, "--verify") == 0)
			opts.verify_client = strcmp(v, "required") == 0	  ? REST_VERIFY_REQUIRED
					     : strcmp(v, "optional") == 0 ? REST_VERIFY_OPTIONAL
									  : REST_VERIFY_NONE;
		else
			rc = -EINVAL;
		if (rc) {
			fprintf(stderr, "rest-harness: bad argument %s \"%s\"\n", a, v);
			return 2;
		}
	}
	if (strcmp(state, "primary") && strcmp(state, "replica") && strcmp(state, "stopped") &&
	    strcmp(state, "cutoff")) {
		fprintf(stderr, "rest-harness: unknown state \"%s\"\n", state);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	/* As the agent does at start-up (src/agent/agent_tls.c): HTTPS needs MHD's TLS build. */
	if (opts.certfile[0] != '\0' && rest_mhd_use_tls(err, sizeof(err)) != 0) {
		fprintf(stderr, "rest-harness: %s\n", err);
		return 1;
	}
	server = rest_server_new(&opts, &actions, err, sizeof(err));
	if (!server) {
		fprintf(stderr, "rest-harness: %s\n", err);
		return 1;
	}
	fill(snap, state, clock_mono_ms(), lease_ms);
	if (rest_publish(server, snap) != 0)
		return 1;
	printf("rest-harness: serving state \"%s\" on port %d%s\n", state, rest_server_port(server),
	       freeze ? " (frozen: no more publishes)" : "");
	fflush(stdout);
	while (!stop_requested) {
		clock_sleep_ms(freeze ? 100 : HARNESS_CYCLE_MS);
		if (!freeze) {
			fill(snap, state, clock_mono_ms(), lease_ms);
			if (rest_publish(server, snap) != 0)
				fprintf(stderr, "rest-harness: publish failed, retrying\n");
		}
	}
	rest_server_free(server);
	free(snap);
	return 0;
}
