/*
 * db_opengauss_status.c - what the openGauss driver observes (§2.7, §2.8): the HA state of
 * pg_stat_get_stream_replications(), (term, lsn) of pg_last_xlog_replay_location(), the text
 * locations, the attached standbys, the upstream, parameters waiting for a restart, and
 * pg_controldata while the server is down.
 */
#include "db_opengauss.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"
#include "lsn.h"
#include "num.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum db_sync_state sync_state_of(enum db_og_sync_state s)
{
	switch (s) {
	case DB_OG_SYNC_SYNC:
		return DB_SYNC_SYNC;
	case DB_OG_SYNC_QUORUM:
		return DB_SYNC_QUORUM;
	case DB_OG_SYNC_POTENTIAL:
		return DB_SYNC_POTENTIAL;
	default:
		return DB_SYNC_ASYNC;
	}
}

static int parse_lsn_or_zero(const char *v, uint64_t *out)
{
	if (!v || !v[0]) {
		*out = 0;
		return 0;
	}
	return lsn_parse(v, out);
}

/* The standbys attached to a primary, from openGauss's pg_stat_replication, whose locations are
 * text (§2.7). */
static int query_standbys(PGconn *conn, int64_t deadline, struct db_status *st, char *err,
			  size_t err_cap)
{
	static const char sql[] =
		"SELECT application_name, usename, COALESCE(client_addr::text, ''), state,"
		" sync_state, sync_priority, sender_sent_location, receiver_write_location,"
		" receiver_flush_location, receiver_replay_location"
		" FROM pg_stat_replication ORDER BY application_name, pid";
	PGresult *res = NULL;
	int rc = db_sql_query(conn, sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < db_pq->PQntuples(res) && db_pq->PQnfields(res) == 10; r++) {
		if (st->standby_count >= DB_STANDBYS_MAX) {
			st->standbys_omitted++;
			continue;
		}
		struct db_standby *s = &st->standbys[st->standby_count];
		memset(s, 0, sizeof(*s));
		int prio = 0;
		const char *state = db_sql_value(res, r, 3);
		bool ok = buf_copy(s->application_name, sizeof(s->application_name),
				   db_sql_value(res, r, 0) ? db_sql_value(res, r, 0) : "") == 0 &&
			  buf_copy(s->usename, sizeof(s->usename),
				   db_sql_value(res, r, 1) ? db_sql_value(res, r, 1) : "") == 0 &&
			  buf_copy(s->client_addr, sizeof(s->client_addr),
				   db_sql_value(res, r, 2) ? db_sql_value(res, r, 2) : "") == 0 &&
			  buf_copy(s->state, sizeof(s->state), state ? state : "") == 0 &&
			  (!db_sql_value(res, r, 5) ||
			   num_parse_int(db_sql_value(res, r, 5), 0, 1000000, &prio) == 0) &&
			  parse_lsn_or_zero(db_sql_value(res, r, 6), &s->sent_lsn) == 0 &&
			  parse_lsn_or_zero(db_sql_value(res, r, 7), &s->write_lsn) == 0 &&
			  parse_lsn_or_zero(db_sql_value(res, r, 8), &s->flush_lsn) == 0 &&
			  parse_lsn_or_zero(db_sql_value(res, r, 9), &s->replay_lsn) == 0;
		if (!ok) {
			memset(s, 0, sizeof(*s));
			st->standbys_omitted++;
			continue;
		}
		/* db.h wants pg_stat_replication's lower-case words. */
		for (char *c = s->state; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		s->sync_state = sync_state_of(db_og_sync_state_parse(db_sql_value(res, r, 4)));
		s->sync_priority = prio;
		st->standby_count++;
	}
	db_pq->PQclear(res);
	return 0;
}

/* How long a resolved upstream host name is trusted. */
#define OG_RESOLVE_TTL_MS 60000

/* Whether host (as the member list names it) has the numeric address ip: the channel shows
 * addresses only (§2.7). A name is resolved at most once a minute (the status path must not
 * wait on DNS each poll). */
static bool same_address(struct db *db, const char *host, const char *ip)
{
	if (strcmp(host, ip) == 0)
		return true;
	struct db_og_priv *p = db_og_priv_of(db);
	if (!p)
		return false;
	int64_t now = clock_mono_ms();
	if (strcmp(p->resolved_for, host) != 0 || now - p->resolved_ms >= OG_RESOLVE_TTL_MS) {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
		struct addrinfo *res = NULL;
		p->resolved_count = 0;
		p->resolved_ms = now;
		buf_copy_or_clear(p->resolved_for, sizeof(p->resolved_for), host);
		if (getaddrinfo(host, NULL, &hints, &res) == 0) {
			for (struct addrinfo *ai = res;
			     ai && p->resolved_count < DB_OG_RESOLVED_MAX; ai = ai->ai_next)
				if (getnameinfo(ai->ai_addr, ai->ai_addrlen,
						p->resolved[p->resolved_count],
						sizeof(p->resolved[0]), NULL, 0,
						NI_NUMERICHOST) == 0)
					p->resolved_count++;
			freeaddrinfo(res);
		}
	}
	for (int i = 0; i < p->resolved_count; i++)
		if (strcmp(p->resolved[i], ip) == 0)
			return true;
	return false;
}

/* Whether disable_conn lets the walreceiver reach peer (§2.6): polling, or specify_connection
 * naming the peer's host and HA port; not prohibit_connection nor a pin to another peer. */
static bool conn_allows(PGconn *conn, int64_t deadline, const struct db_peer *peer)
{
	PGresult *res = NULL;
	char why[DB_ERROR_MAX];
	if (db_sql_query(conn, "SELECT * FROM read_disable_conn_file()", deadline, &res, why,
			 sizeof(why)) < 0)
		return true;
	bool yes = true;
	if (db_pq->PQntuples(res) >= 1 && db_pq->PQnfields(res) >= 3 && db_sql_value(res, 0, 0)) {
		const char *mode = db_sql_value(res, 0, 0);
		const char *host = db_sql_value(res, 0, 1);
		const char *port = db_sql_value(res, 0, 2);
		char want[16];
		if (strcmp(mode, "prohibit_connection") == 0)
			yes = false;
		else if (strcmp(mode, "specify_connection") == 0)
			yes = host && port && strcmp(host, peer->host) == 0 &&
			      buf_format(want, sizeof(want), "%d", peer->port + 1) == 0 &&
			      strcmp(port, want) == 0;
	}
	db_pq->PQclear(res);
	return yes;
}

/* The upstream of a standby, from the walreceiver's channel (§2.7): a numeric address and the
 * HA port. When that is the peer it was told to follow, compared by address, the status names
 * it as the member list does; while not streaming, following_* names that peer. */
static void query_upstream(struct db *db, PGconn *conn, int64_t deadline, struct db_status *st)
{
	PGresult *res = NULL;
	char why[DB_ERROR_MAX];
	if (db_sql_query(conn, "SELECT channel FROM pg_stat_get_wal_receiver()", deadline, &res,
			 why, sizeof(why)) < 0)
		return;
	const char *ch = db_pq->PQntuples(res) == 1 && db_pq->PQnfields(res) == 1
				 ? db_sql_value(res, 0, 0)
				 : NULL;
	int port;
	if (db_og_parse_channel_upstream(ch, st->upstream_host, sizeof(st->upstream_host), &port) ==
	    0) {
		st->upstream_port = port;
		if (db->has_upstream && db->upstream.port == port &&
		    same_address(db, db->upstream.host, st->upstream_host))
			buf_copy_or_clear(st->upstream_host, sizeof(st->upstream_host),
					  db->upstream.host);
	} else {
		/* Not streaming: it follows what it was told to, still connecting, unless
		 * disable_conn keeps it from that peer (§2.6: the mode survives restarts, so a
		 * replica frozen for an election, or whose pin failed, is pinned again). */
		st->upstream_host[0] = '\0';
		if (db->has_upstream && conn_allows(conn, deadline, &db->upstream)) {
			buf_copy_or_clear(st->following_host, sizeof(st->following_host),
					  db->upstream.host);
			st->following_port = db->upstream.port;
		}
	}
	db_pq->PQclear(res);
}

void db_opengauss_fill_role(const struct db_og_ha_state *ha, bool in_recovery, struct db_status *st)
{
	switch (ha->local_role) {
	case DB_OG_ROLE_PRIMARY:
	case DB_OG_ROLE_NORMAL:
		/* Primary while still in recovery: a failover in flight. */
		st->role = in_recovery ? DB_ROLE_STARTING : DB_ROLE_PRIMARY;
		break;
	case DB_OG_ROLE_STANDBY:
	case DB_OG_ROLE_CASCADE_STANDBY:
	case DB_OG_ROLE_MAIN_STANDBY:
		st->role = DB_ROLE_REPLICA;
		break;
	case DB_OG_ROLE_PENDING:
		st->role = DB_ROLE_PENDING;
		break;
	default:
		st->role = DB_ROLE_UNKNOWN;
		break;
	}
	st->replication_state = DB_REPL_NONE;
	st->needs_rejoin = false;
	if (st->role == DB_ROLE_REPLICA) {
		if (ha->db_state == DB_OG_DB_STATE_NORMAL && ha->detail == DB_OG_DETAIL_NORMAL)
			st->replication_state = DB_REPL_STREAMING;
		else if (ha->detail == DB_OG_DETAIL_CONNECTING ||
			 ha->db_state == DB_OG_DB_STATE_STARTING ||
			 ha->db_state == DB_OG_DB_STATE_CATCHUP)
			st->replication_state = DB_REPL_CONNECTING;
		else
			st->replication_state = DB_REPL_DISCONNECTED;
		/* §2.7: system id, timeline or removed WAL mean a build. */
		enum db_og_build_advice advice = db_og_build_advice(ha);
		st->needs_rejoin =
			advice == DB_OG_ADVICE_BUILD || advice == DB_OG_ADVICE_BUILD_FULL;
	}
	st->detail[0] = '\0';
	if (ha->local_role == DB_OG_ROLE_NORMAL)
		/* §2.2: writable, but it opens no replication listener for new entries and never
		 * waits for a sync standby. */
		snprintf(st->detail, sizeof(st->detail),
			 "Normal: a primary that serves no standby (%d replconninfo entries)",
			 ha->static_connections);
	else if (ha->detail != DB_OG_DETAIL_NORMAL || ha->db_state != DB_OG_DB_STATE_NORMAL)
		snprintf(st->detail, sizeof(st->detail), "%s: %s",
			 db_og_db_state_name(ha->db_state), ha->detail_text);
}

/* Restart-only parameters whose configured value differs from the running one. openGauss's
 * pg_settings has no pending_restart column, so the driver compares them itself. */
static int query_pending(struct db *db, PGconn *conn, int64_t deadline, struct db_status *st,
			 char *err, size_t err_cap)
{
	PGresult *res = NULL;
	int rc = db_sql_query(conn,
			      "SELECT name, setting, COALESCE(unit, '') FROM pg_settings"
			      " WHERE context = 'postmaster'",
			      deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < db_pq->PQntuples(res) && db_pq->PQnfields(res) == 3; r++) {
		const char *name = db_sql_value(res, r, 0);
		const char *v = name ? db_params_get(&db->opts.parameters, name) : NULL;
		if (!v || db_og_driver_owned(name) ||
		    !db_og_setting_differs(v, db_sql_value(res, r, 1), db_sql_value(res, r, 2)))
			continue;
		st->pending_restart = true;
		if (st->pending_count < DB_PENDING_MAX &&
		    buf_copy(st->pending[st->pending_count], sizeof(st->pending[0]), name) != 0)
			st->pending[st->pending_count][0] = '\0';
		st->pending_count++;
	}
	db_pq->PQclear(res);
	return 0;
}

static int query_status(struct db *db, PGconn *conn, int64_t deadline, struct db_status *st,
			char *err, size_t err_cap)
{
	PGresult *res = NULL;
	char why[DB_ERROR_MAX];
	/* §2.7 SQL 1: the role, as gs_ctl query's "HA state" block shows it. */
	int rc =
		db_sql_one_row(conn,
			       "SELECT local_role, static_connections, db_state, detail_information"
			       " FROM pg_stat_get_stream_replications()",
			       4, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	struct db_og_ha_state ha;
	rc = db_og_ha_state_from_row(db_sql_value(res, 0, 0), db_sql_value(res, 0, 1),
				     db_sql_value(res, 0, 2), db_sql_value(res, 0, 3), &ha, why,
				     sizeof(why));
	db_pq->PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "stream replication state: %s", why);
	struct db_og_priv *priv = db_og_priv_of(db);
	if (priv) {
		priv->ha = ha;
		priv->has_ha = true;
	}

	/* §2.8: (term, lsn) from the replay location record. */
	rc = db_sql_one_row(conn, "SELECT term, lsn FROM pg_last_xlog_replay_location()", 2,
			    deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	struct db_og_term_lsn tl;
	rc = db_og_parse_term_lsn_fields(db_sql_value(res, 0, 0), db_sql_value(res, 0, 1), &tl, why,
					 sizeof(why));
	db_pq->PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "replay location: %s", why);
	st->term = tl.term;
	st->replay_lsn = tl.lsn;
	db_og_note_term(db, tl.term);

	/* §2.7 location functions: PG 9.x names, text results. */
	rc = db_sql_one_row(
		conn,
		"SELECT pg_is_in_recovery(), current_setting('server_version_num'),"
		" to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00',"
		" CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_xlog_location() END,"
		" pg_last_xlog_receive_location(), current_setting('synchronous_standby_names')",
		6, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	bool in_recovery = db_sql_value(res, 0, 0) && strcmp(db_sql_value(res, 0, 0), "t") == 0;
	int version = 0;
	if (db_sql_value(res, 0, 1) &&
	    num_parse_int(db_sql_value(res, 0, 1), 0, 10000000, &version) == 0)
		st->server_version = version;
	snprintf(st->postmaster_start_time, sizeof(st->postmaster_start_time), "%s",
		 db_sql_value(res, 0, 2) ? db_sql_value(res, 0, 2) : "");
	uint64_t current = 0;
	rc = parse_lsn_or_zero(db_sql_value(res, 0, 3), &current);
	if (rc == 0)
		rc = parse_lsn_or_zero(db_sql_value(res, 0, 4), &st->receive_lsn);
	if (buf_copy(st->synchronous_standby_names, sizeof(st->synchronous_standby_names),
		     db_sql_value(res, 0, 5) ? db_sql_value(res, 0, 5) : "") != 0)
		rc = -ENOBUFS;
	db_pq->PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "malformed location in status");
	st->write_lsn = current;
	st->flush_lsn = current;

	/* The system identifier, which the loop writes into the initialize key after bootstrap
	 * (as Patroni does). pg_control_system() is not named by opengauss.md: when the server
	 * has no such function the identifier stays empty and the status is still good. */
	if (db_sql_one_row(conn, "SELECT system_identifier FROM pg_control_system()", 1, deadline,
			   &res, why, sizeof(why)) == 0) {
		if (!db_sql_value(res, 0, 0) ||
		    buf_copy(st->system_identifier, sizeof(st->system_identifier),
			     db_sql_value(res, 0, 0)) != 0)
			st->system_identifier[0] = '\0';
		db_pq->PQclear(res);
	}

	db_opengauss_fill_role(&ha, in_recovery, st);
	if (st->role == DB_ROLE_REPLICA)
		query_upstream(db, conn, deadline, st);
	if (st->role == DB_ROLE_PRIMARY) {
		rc = query_standbys(conn, deadline, st, err, err_cap);
		if (rc < 0)
			return rc;
	}
	return query_pending(db, conn, deadline, st, err, err_cap);
}

/* pg_controldata prints a few kB. */
#define OG_CONTROLDATA_MAX 8192

void db_og_get_status(struct db *db, struct db_status *st)
{
	struct db_probe probe;
	/* The process-level picture (stopped, crashed, starting, ...) is the same as PostgreSQL's:
	 * openGauss keeps one gaussdb pid in postmaster.pid (§2.1). */
	db_sql_observe(db, query_status, &probe, st);
	/* §2.7: a server that is down still tells its cluster state and system identifier. */
	if (!st->running && st->initialized && probe.pidfile_rc != -EINVAL &&
	    !db_task_running(db)) {
		struct db_control c;
		char why[DB_ERROR_MAX];
		if (db_og_read_control(db, &c, db->opts.connect_timeout_ms, why, sizeof(why)) ==
		    0) {
			memcpy(st->cluster_state, c.cluster_state, sizeof(st->cluster_state));
			memcpy(st->system_identifier, c.system_identifier,
			       sizeof(st->system_identifier));
		}
	}
}

/* §2.7 "Added": pg_controldata [<dir>] ships with openGauss and works while it is stopped. It
 * names no term and no timeline: those stay 0. */
int db_og_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
		       size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "pg_controldata", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, db->opts.data_dir, NULL };
	char *text = malloc(OG_CONTROLDATA_MAX);
	if (!text)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	struct db_og_control c;
	char why[DB_ERROR_MAX];
	int rc = db_run(db, argv, timeout_ms, text, OG_CONTROLDATA_MAX, err, err_cap);
	if (rc == 0 && db_og_parse_controldata(text, &c, why, sizeof(why)) < 0)
		rc = err_fail(err, err_cap, -EIO, "%s", why);
	free(text);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (buf_copy(out->cluster_state, sizeof(out->cluster_state), c.cluster_state) != 0 ||
	    buf_copy(out->system_identifier, sizeof(out->system_identifier), c.system_identifier) !=
		    0)
		return err_fail(err, err_cap, -EIO, "pg_controldata value too long");
	out->checkpoint_lsn = c.checkpoint_lsn;
	return 0;
}
