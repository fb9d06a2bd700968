/*
 * rest_monitor.c - the monitoring pages built from the snapshot: /metrics (Prometheus text),
 * /cluster, /history and /failsafe (patroni-compat.md 1.5).
 *
 * /metrics carries Patroni 4.1's series as Patroni renders them, then gsha's own: the process
 * (Prometheus' process_* names), a build-info series, the leader lease, per-replica lag on the
 * primary, etcd request latency and errors, the HA cycle's duration, and counters of failovers,
 * switchovers, fences and restarts. Every series has HELP and TYPE lines, counters end in
 * _total, durations are in seconds (docs: README "Monitoring").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"
#include "num.h"
#include "rest.h"
#include "rest_internal.h"

/* patroni_postgres_state values (4.1.4); -1 = not listed there (unknown). */
static const int state_metric[] = {
	[REST_DB_UNKNOWN] = -1,		  [REST_DB_RUNNING] = 5,
	[REST_DB_STARTING] = 6,		  [REST_DB_STOPPED] = 12,
	[REST_DB_STOPPING] = 11,	  [REST_DB_RESTARTING] = 9,
	[REST_DB_CRASHED] = 14,		  [REST_DB_CREATING_REPLICA] = 4,
	[REST_DB_INITIALIZING] = 0,	  [REST_DB_CUSTOM_BOOTSTRAP] = 2,
	[REST_DB_BOOTSTRAP_STARTING] = 7, [REST_DB_START_FAILED] = 8,
	[REST_DB_RESTART_FAILED] = 10,	  [REST_DB_STOP_FAILED] = 13,
	[REST_DB_INITDB_FAILED] = 1,	  [REST_DB_CUSTOM_BOOTSTRAP_FAILED] = 3,
};

/* ---- monitoring bodies ---- */

/* A label value in the Prometheus text format: quoted, with exactly three escapes (\\, \",
 * \n); every other byte as it is. JSON's escapes (\t, \r, \u00XX) would not parse there. */
static void o_label(struct out *o, const char *v)
{
	rest_o_put(o, "\"");
	for (const char *p = v; *p != '\0' && !o->err; p++) {
		char one[2] = { *p, '\0' };

		rest_o_put(o, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : one);
	}
	rest_o_put(o, "\"");
}

/* "{scope=...,name=..." : the node's labels, left open for more. */
static void o_labels_open(struct out *o, const struct rest_snapshot *s)
{
	rest_o_put(o, "{scope=");
	o_label(o, s->scope);
	rest_o_put(o, ",name=");
	o_label(o, s->name);
}

static void o_labels(struct out *o, const struct rest_snapshot *s)
{
	o_labels_open(o, s);
	rest_o_put(o, "}");
}

static void o_metric(struct out *o, const struct rest_snapshot *s, const char *name,
		     const char *type, const char *help)
{
	rest_o_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s", name, help, name, type, name);
	o_labels(o, s);
	rest_o_put(o, " ");
}

static void o_header(struct out *o, const char *name, const char *type, const char *help)
{
	rest_o_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample line's name and labels: the node's, then key=value when key is not NULL. */
static void o_sample(struct out *o, const struct rest_snapshot *s, const char *name,
		     const char *suffix, const char *key, const char *value)
{
	rest_o_printf(o, "%s%s", name, suffix);
	o_labels_open(o, s);
	if (key) {
		rest_o_printf(o, ",%s=", key);
		o_label(o, value);
	}
	rest_o_put(o, "} ");
}

static void o_histogram(struct out *o, const struct rest_snapshot *s, const char *name,
			const char *help, const struct histogram *h)
{
	o_header(o, name, "histogram", help);
	for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
		char le[REST_SHORT_MAX];

		if (buf_format(le, sizeof(le), "%g", (double)histogram_bounds_us[i] / 1e6) != 0)
			continue;
		o_sample(o, s, name, "_bucket", "le", le);
		rest_o_printf(o, "%" PRIu64 "\n", histogram_cumulative(h, i));
	}
	o_sample(o, s, name, "_bucket", "le", "+Inf");
	rest_o_printf(o, "%" PRIu64 "\n", h->count);
	o_sample(o, s, name, "_sum", NULL, NULL);
	rest_o_double(o, (double)h->sum_us / 1e6);
	rest_o_put(o, "\n");
	o_sample(o, s, name, "_count", NULL, NULL);
	rest_o_printf(o, "%" PRIu64 "\n", h->count);
}

static void o_counter(struct out *o, const struct rest_snapshot *s, const char *name,
		      const char *help, uint64_t v)
{
	o_header(o, name, "counter", help);
	o_sample(o, s, name, "", NULL, NULL);
	rest_o_printf(o, "%" PRIu64 "\n", v);
}

/* Prometheus' process_* series (the names its client libraries use). */
static void o_process(struct out *o, const struct rest_snapshot *s, const struct rest_process *p)
{
	o_header(o, "process_cpu_seconds_total", "counter",
		 "Total user and system CPU time spent in seconds.");
	o_sample(o, s, "process_cpu_seconds_total", "", NULL, NULL);
	rest_o_double(o, p->cpu_seconds);
	rest_o_put(o, "\n");
	o_metric(o, s, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	rest_o_printf(o, "%" PRIu64 "\n", p->resident_bytes);
	o_metric(o, s, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	rest_o_printf(o, "%" PRIu64 "\n", p->virtual_bytes);
	o_metric(o, s, "process_open_fds", "gauge", "Number of open file descriptors.");
	rest_o_printf(o, "%" PRId64 "\n", p->open_fds);
	o_metric(o, s, "process_max_fds", "gauge",
		 "Maximum number of open file descriptors, -1 if unlimited.");
	rest_o_printf(o, "%" PRId64 "\n", p->max_fds);
	o_metric(o, s, "process_threads", "gauge", "Number of OS threads in the process.");
	rest_o_printf(o, "%" PRId64 "\n", p->threads);
	o_metric(o, s, "process_start_time_seconds", "gauge",
		 "Start time of the process since unix epoch in seconds.");
	rest_o_double(o, p->start_time_seconds);
	rest_o_put(o, "\n");
}

/* Each replica's distance behind this primary, from pg_stat_replication. */
static void o_replica_lag(struct out *o, const struct rest_snapshot *s)
{
	static const char *const stage[] = { "write", "flush", "replay" };
	int n = rest_clamp_count(s->walsender_count, REST_REPLICATION_MAX);

	o_header(o, "gsha_replica_lag_bytes", "gauge",
		 "Bytes of WAL a replica has not yet written, flushed or replayed, as this "
		 "primary sees it (pg_stat_replication); only on the primary.");
	if (!s->pg_reachable || s->role != REST_ROLE_PRIMARY)
		return;
	for (int i = 0; i < n; i++) {
		const struct rest_walsender *w = &s->walsenders[i];
		const uint64_t at[] = { w->write_lsn_bytes, w->flush_lsn_bytes,
					w->replay_lsn_bytes };

		for (int k = 0; k < 3; k++) {
			rest_o_put(o, "gsha_replica_lag_bytes");
			o_labels_open(o, s);
			rest_o_put(o, ",replica=");
			o_label(o, w->application_name);
			rest_o_printf(o, ",stage=\"%s\"} %" PRIu64 "\n", stage[k],
				      s->wal_location_bytes > at[k] ? s->wal_location_bytes - at[k]
								    : 0);
		}
	}
}

void rest_o_metrics(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s,
		    const struct rest_process *proc, int64_t now_ms)
{
	bool pg = s->pg_reachable;
	bool primary = s->role == REST_ROLE_PRIMARY;
	bool replica_like = !primary;
	char padded[REST_SHORT_MAX * 2] = "";
	const char *p = s->version;
	int64_t lease_left = 0;
	const struct rest_tag *prio;
	int64_t priority = 1;

	(void)opts;
	/* "4.1.4" -> "040104" */
	while (*p) {
		char part[REST_SHORT_MAX];
		size_t n = strcspn(p, ".");
		size_t used = strlen(padded);

		if (n >= sizeof(part))
			break;
		memcpy(part, p, n);
		part[n] = '\0';
		if (buf_format(padded + used, sizeof(padded) - used, "%s%s", n < 2 ? "0" : "",
			       part) != 0)
			break;
		p += n;
		if (*p == '.')
			p++;
	}
	o_metric(o, s, "patroni_version", "gauge", "Patroni semver without periods.");
	rest_o_printf(o, "%s\n", padded[0] ? padded : "0");
	o_metric(o, s, "patroni_postgres_running", "gauge",
		 "Value is 1 if Postgres is running, 0 otherwise.");
	rest_o_printf(o, "%d\n", s->state == REST_DB_RUNNING);
	o_metric(o, s, "patroni_postmaster_start_time", "gauge",
		 "Epoch seconds since Postgres started.");
	rest_o_epoch(o, pg ? s->postmaster_start_wall_us : 0);
	rest_o_put(o, "\n");
	o_metric(o, s, "patroni_primary", "gauge",
		 "Value is 1 if this node is the leader, 0 otherwise.");
	rest_o_printf(o, "%d\n", primary);
	o_metric(o, s, "patroni_xlog_location", "counter",
		 "Current location of the Postgres transaction log, 0 if this node is not the "
		 "leader.");
	rest_o_printf(o, "%" PRIu64 "\n", pg && primary ? s->wal_location_bytes : 0);
	o_metric(o, s, "patroni_standby_leader", "gauge",
		 "Value is 1 if this node is the standby_leader, 0 otherwise.");
	rest_o_printf(o, "%d\n", s->role == REST_ROLE_STANDBY_LEADER);
	o_metric(o, s, "patroni_replica", "gauge",
		 "Value is 1 if this node is a replica, 0 otherwise.");
	rest_o_printf(o, "%d\n", s->role == REST_ROLE_REPLICA);
	o_metric(o, s, "patroni_sync_standby", "gauge",
		 "Value is 1 if this node is a sync standby, 0 otherwise.");
	rest_o_printf(o, "%d\n",
		      pg && rest_is_replica_role(s) && s->sync_mode == REST_SYNC_ON &&
			      s->is_sync_standby);
	o_metric(o, s, "patroni_quorum_standby", "gauge",
		 "Value is 1 if this node is a quorum standby, 0 otherwise.");
	rest_o_printf(o, "%d\n",
		      pg && rest_is_replica_role(s) && s->sync_mode == REST_SYNC_QUORUM &&
			      s->is_quorum_standby);
	o_metric(o, s, "patroni_xlog_received_location", "counter",
		 "Current location of the received Postgres transaction log, 0 if this node is not "
		 "a replica.");
	rest_o_printf(o, "%" PRIu64 "\n", pg && replica_like ? s->received_lsn_bytes : 0);
	o_metric(o, s, "patroni_xlog_replayed_location", "counter",
		 "Current location of the replayed Postgres transaction log, 0 if this node is not "
		 "a replica.");
	rest_o_printf(o, "%" PRIu64 "\n", pg && replica_like ? s->replayed_lsn_bytes : 0);
	o_metric(o, s, "patroni_xlog_replayed_timestamp", "gauge",
		 "Current timestamp of the replayed Postgres transaction log, 0 if null.");
	rest_o_epoch(o, pg && replica_like ? s->replayed_timestamp_wall_us : 0);
	rest_o_put(o, "\n");
	o_metric(o, s, "patroni_xlog_paused", "gauge",
		 "Value is 1 if the Postgres xlog is paused, 0 otherwise.");
	rest_o_printf(o, "%d\n", pg && replica_like && s->replay_paused);
	if (!pg || s->server_version >= 90600) {
		o_metric(o, s, "patroni_postgres_streaming", "gauge",
			 "Value is 1 if Postgres is streaming, 0 otherwise.");
		rest_o_printf(o, "%d\n", pg && s->replication_state == REST_REPLICATION_STREAMING);
		o_metric(o, s, "patroni_postgres_in_archive_recovery", "gauge",
			 "Value is 1 if Postgres is replicating from archive, 0 otherwise.");
		rest_o_printf(o, "%d\n",
			      pg && s->replication_state == REST_REPLICATION_ARCHIVE_RECOVERY);
	}
	o_metric(o, s, "patroni_postgres_server_version", "gauge",
		 "Version of Postgres (if running), 0 otherwise.");
	rest_o_printf(o, "%d\n", pg ? s->server_version : 0);
	o_metric(o, s, "patroni_cluster_unlocked", "gauge",
		 "Value is 1 if the cluster is unlocked, 0 if locked.");
	rest_o_printf(o, "%d\n", s->cluster_unlocked || !rest_dcs_ok(s, now_ms));
	o_metric(o, s, "patroni_failsafe_mode_is_active", "gauge",
		 "Value is 1 if failsafe mode is active, 0 if inactive.");
	rest_o_printf(o, "%d\n", s->failsafe_active);
	o_metric(o, s, "patroni_failsafe_mode_enabled", "gauge",
		 "Value is 1 if failsafe mode is enabled, 0 otherwise.");
	rest_o_printf(o, "%d\n", s->failsafe_mode_enabled);
	bool in_failsafe = false;
	for (int i = 0; i < rest_clamp_count(s->failsafe_count, REST_FAILSAFE_MAX); i++)
		if (s->has_failsafe_key && strcmp(s->failsafe[i].name, s->name) == 0)
			in_failsafe = true;
	o_metric(o, s, "patroni_failsafe_member", "gauge",
		 "Value is 1 if this node is a member of the failsafe key, 0 otherwise.");
	rest_o_printf(o, "%d\n", in_failsafe);
	o_metric(o, s, "patroni_postgres_timeline", "gauge",
		 "Postgres timeline of this node (if running), 0 otherwise.");
	rest_o_printf(o, "%" PRId64 "\n", pg ? s->timeline : 0);
	o_metric(o, s, "patroni_dcs_last_seen", "gauge",
		 "Epoch timestamp when DCS was last contacted successfully by Patroni.");
	rest_o_printf(o, "%" PRId64 "\n", s->dcs_last_seen_wall_ms / 1000);
	o_metric(o, s, "patroni_pending_restart", "gauge",
		 "Value is 1 if the node needs a restart, 0 otherwise.");
	rest_o_printf(o, "%d\n", s->pending_restart);
	o_metric(o, s, "patroni_is_paused", "gauge",
		 "Value is 1 if auto failover is disabled, 0 otherwise.");
	rest_o_printf(o, "%d\n", s->paused);
	rest_o_printf(
		o,
		"# HELP patroni_postgres_state Numeric representation of Postgres state.\n"
		"# Values: 0=initdb, 1=initdb_failed, 2=custom_bootstrap, "
		"3=custom_bootstrap_failed, "
		"4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, "
		"9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, "
		"14=crashed\n");
	rest_o_printf(o, "# TYPE patroni_postgres_state gauge\npatroni_postgres_state");
	o_labels(o, s);
	rest_o_printf(o, " %d\n",
		      (unsigned)s->state < sizeof(state_metric) / sizeof(state_metric[0])
			      ? state_metric[s->state]
			      : -1);
	prio = rest_find_tag(s, "failover_priority");
	if (prio) {
		int64_t v;

		if (num_parse_i64(prio->value, INT32_MIN, INT32_MAX, &v) == 0)
			priority = v;
	}
	if (rest_tag_true(s, "nofailover"))
		priority = 0;
	o_metric(
		o, s, "patroni_failover_priority", "gauge",
		"Value is 0 or less if the node is not allowed to be promoted, otherwise it is the "
		"failover priority.");
	rest_o_printf(o, "%" PRId64 "\n", priority);

	/* gsha's own */
	if (rest_lease_valid(s, now_ms))
		lease_left = s->lease_deadline_ms - now_ms;
	o_metric(o, s, "gsha_leader_lease_valid", "gauge",
		 "Value is 1 if this node holds the leader lock and its lease deadline is ahead.");
	rest_o_printf(o, "%d\n", rest_lease_valid(s, now_ms));
	o_metric(o, s, "gsha_leader_lease_remaining_seconds", "gauge",
		 "Seconds until the leader lease can no longer be proven, 0 if not held.");
	rest_o_double(o, (double)lease_left / 1000.0);
	rest_o_put(o, "\n");
	o_metric(o, s, "gsha_role_changes_total", "counter",
		 "Role transitions since the agent started.");
	rest_o_printf(o, "%" PRIu64 "\n", s->role_changes);
	o_metric(o, s, "gsha_dcs_last_contact_age_seconds", "gauge",
		 "Seconds since the last successful DCS read, -1 if never.");
	if (s->dcs_last_seen_mono_ms > 0)
		rest_o_double(o, (double)(now_ms - s->dcs_last_seen_mono_ms) / 1000.0);
	else
		rest_o_put(o, "-1");
	rest_o_put(o, "\n");
	o_histogram(o, s, "gsha_loop_duration_seconds", "How long each HA cycle took.",
		    &s->counters.loop);
	o_histogram(o, s, "gsha_dcs_request_duration_seconds",
		    "How long each request to etcd took, all endpoints and retries included.",
		    &s->counters.dcs_latency);
	o_counter(o, s, "gsha_dcs_request_errors_total",
		  "Requests to etcd that ended without a usable answer.", s->counters.dcs_errors);
	o_counter(o, s, "gsha_failovers_total",
		  "Promotions of this node that no planned switchover asked for.",
		  s->counters.failovers);
	o_counter(o, s, "gsha_switchovers_total",
		  "Promotions of this node that completed a planned switchover.",
		  s->counters.switchovers);
	o_counter(o, s, "gsha_fences_total",
		  "Database servers this node killed because they did not stop in time.",
		  s->counters.fences);
	o_counter(o, s, "gsha_postgres_restarts_total",
		  "Times the agent started PostgreSQL again in place: on request, or after it "
		  "stopped or crashed.",
		  s->counters.restarts);
	o_counter(o, s, "gsha_guardian_respawns_total",
		  "Guardians the agent started again after one died (docs/timing.md, Guardian).",
		  s->counters.guardian_respawns);
	o_counter(o, s, "gsha_watchdog_keepalives_total",
		  "Watchdog keepalives the guardian sent as the leader's fence deadline moved.",
		  s->counters.watchdog_pings);
	o_counter(o, s, "gsha_watchdog_keepalives_skipped_total",
		  "Watchdog keepalives given up because they came too late for the lease.",
		  s->counters.watchdog_skipped);
	o_metric(o, s, "gsha_watchdog_active", "gauge",
		 "1 while the guardian holds an active watchdog device.");
	rest_o_printf(o, "%d\n", s->counters.watchdog_active ? 1 : 0);
	o_replica_lag(o, s);
	o_header(o, "gsha_build_info", "gauge",
		 "Always 1; the version label says which gsha this is.");
	o_sample(o, s, "gsha_build_info", "", "version", GSHA_VERSION);
	rest_o_put(o, "1\n");
	if (proc)
		o_process(o, s, proc);
}

/* "0/3042800" */
static void o_lsn_text(struct out *o, uint64_t lsn)
{
	rest_o_printf(o, "\"%" PRIX64 "/%" PRIX64 "\"", lsn >> 32, lsn & 0xFFFFFFFFu);
}

void rest_o_cluster(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s)
{
	int n = rest_clamp_count(s->member_count, REST_MEMBERS_MAX);
	int order[REST_MEMBERS_MAX];
	bool first_outer = true;

	(void)opts;
	for (int i = 0; i < n; i++)
		order[i] = i;
	/* insertion sort by name, as Patroni sorts members */
	for (int i = 1; i < n; i++) {
		int v = order[i], j = i - 1;

		while (j >= 0 && strcmp(s->members[order[j]].name, s->members[v].name) > 0) {
			order[j + 1] = order[j];
			j--;
		}
		order[j + 1] = v;
	}
	rest_o_put(o, "{");
	rest_o_key(o, &first_outer, "members");
	rest_o_put(o, "[");
	for (int k = 0; k < n; k++) {
		const struct rest_member *m = &s->members[order[k]];
		bool first = true;
		const char *role;
		const char *state;

		if (m->is_leader)
			role = s->standby_cluster ? "standby_leader" : "leader";
		else if (m->is_sync_standby && s->sync_mode == REST_SYNC_QUORUM)
			role = "quorum_standby";
		else if (m->is_sync_standby && s->sync_mode == REST_SYNC_ON)
			role = "sync_standby";
		else
			role = "replica";
		state = (!m->is_leader && m->replication_state[0]) ? m->replication_state
								   : m->state;
		if (k)
			rest_o_put(o, ", ");
		rest_o_put(o, "{");
		rest_o_key(o, &first, "name");
		rest_o_str(o, m->name);
		rest_o_key(o, &first, "role");
		rest_o_str(o, role);
		rest_o_key(o, &first, "state");
		rest_o_str(o, state);
		rest_o_key(o, &first, "api_url");
		rest_o_str(o, m->api_url);
		if (m->host[0]) {
			rest_o_key(o, &first, "host");
			rest_o_str(o, m->host);
			if (m->port > 0) {
				rest_o_key(o, &first, "port");
				rest_o_printf(o, "%d", m->port);
			}
		}
		if (m->timeline > 0) {
			rest_o_key(o, &first, "timeline");
			rest_o_printf(o, "%" PRId64, m->timeline);
		}
		if (m->pending_restart) {
			rest_o_key(o, &first, "pending_restart");
			rest_o_put(o, "true");
		}
		int nt = rest_clamp_count(m->tag_count, REST_MEMBER_TAGS_MAX);
		if (nt > 0) {
			rest_o_key(o, &first, "tags");
			rest_o_tags(o, m->tags, nt);
		}
		if (!m->is_leader) {
			const struct {
				const char *lag, *lsn;
				bool has;
				uint64_t v;
			} l[] = {
				{ "receive_lag", "receive_lsn", m->has_receive_lsn,
				  m->receive_lsn_bytes },
				{ "replay_lag", "replay_lsn", m->has_replay_lsn,
				  m->replay_lsn_bytes },
				{ "lag", "lsn", m->has_lsn, m->lsn_bytes },
			};
			for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
				rest_o_key(o, &first, l[i].lag);
				if (!l[i].has) {
					rest_o_put(o, "\"unknown\"");
					continue;
				}
				rest_o_printf(o, "%" PRIu64,
					      s->cluster_optime_bytes > l[i].v
						      ? s->cluster_optime_bytes - l[i].v
						      : 0);
				rest_o_key(o, &first, l[i].lsn);
				o_lsn_text(o, l[i].v);
			}
		}
		rest_o_put(o, "}");
	}
	rest_o_put(o, "]");
	rest_o_key(o, &first_outer, "scope");
	rest_o_str(o, s->scope);
	if (s->paused) {
		rest_o_key(o, &first_outer, "pause");
		rest_o_put(o, "true");
	}
	if (s->has_scheduled_switchover) {
		bool f2 = true;

		rest_o_key(o, &first_outer, "scheduled_switchover");
		rest_o_put(o, "{");
		rest_o_key(o, &f2, "at");
		rest_o_str(o, s->scheduled_switchover_at);
		if (s->scheduled_switchover_from[0]) {
			rest_o_key(o, &f2, "from");
			rest_o_str(o, s->scheduled_switchover_from);
		}
		if (s->scheduled_switchover_to[0]) {
			rest_o_key(o, &f2, "to");
			rest_o_str(o, s->scheduled_switchover_to);
		}
		rest_o_put(o, "}");
	}
	rest_o_put(o, "}");
}

void rest_o_history(struct out *o, const struct rest_snapshot *s)
{
	int n = rest_clamp_count(s->history_count, REST_HISTORY_MAX);

	rest_o_put(o, "[");
	for (int i = 0; i < n; i++) {
		const struct rest_history_row *r = &s->history[i];

		if (i)
			rest_o_put(o, ", ");
		rest_o_printf(o, "[%" PRId64 ", %" PRIu64 ", ", r->timeline, r->lsn_bytes);
		rest_o_str(o, r->reason);
		if (r->timestamp[0]) {
			rest_o_put(o, ", ");
			rest_o_str(o, r->timestamp);
			if (r->new_leader[0]) {
				rest_o_put(o, ", ");
				rest_o_str(o, r->new_leader);
			}
		}
		rest_o_put(o, "]");
	}
	rest_o_put(o, "]");
}

void rest_o_failsafe(struct out *o, const struct rest_snapshot *s)
{
	bool first = true;

	rest_o_put(o, "{");
	for (int i = 0; i < rest_clamp_count(s->failsafe_count, REST_FAILSAFE_MAX); i++) {
		rest_o_key(o, &first, s->failsafe[i].name);
		rest_o_str(o, s->failsafe[i].api_url);
	}
	rest_o_put(o, "}");
}
