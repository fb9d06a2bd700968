/*
 * db_sql.c - libpq with our own deadline on connecting and on every query.
 *
 * Connecting uses PQconnectStartParams + PQconnectPoll and polls the socket ourselves, so the
 * deadline holds even when the server accepted the TCP connection but never answers (stopped,
 * hung). Queries are sent with PQsendQuery and collected as the socket becomes readable.
 */
#include "db_sql.h"

#include "buf.h"
#include "err.h"
#include "lsn.h"
#include "clock.h"
#include "db_driver.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Size of the small numbers we render into connection keywords. */
#define DB_SQL_NUM_MAX 32
/* The backend option that bounds statements server-side as well. */
#define DB_SQL_OPTIONS_MAX 64

/* One line of libpq's (multi-line) message. */
static void first_line(const char *msg, char *err, size_t err_cap, const char *prefix)
{
	size_t len = strcspn(msg, "\n");
	err_fail(err, err_cap, 0, "%s%.*s", prefix, (int)len, msg);
}

static int wait_socket(PGconn *conn, bool for_write, int64_t deadline_ms)
{
	int fd = db_pq->PQsocket(conn);
	if (fd < 0)
		return -EIO;
	int64_t left = deadline_ms - clock_mono_ms();
	if (left <= 0)
		return -ETIMEDOUT;
	struct pollfd pfd = { .fd = fd, .events = for_write ? POLLOUT : POLLIN };
	int r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
	if (r < 0 && errno != EINTR)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

static int connect_params(const char *const *keys, const char *const *values, int64_t deadline_ms,
			  PGconn **out, char *err, size_t err_cap)
{
	PGconn *conn = db_pq->PQconnectStartParams(keys, values, 1);
	if (!conn)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	if (db_pq->PQstatus(conn) == CONNECTION_BAD) {
		first_line(db_pq->PQerrorMessage(conn), err, err_cap, "could not connect: ");
		db_pq->PQfinish(conn);
		return -ECONNREFUSED;
	}
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	for (;;) {
		if (st == PGRES_POLLING_OK)
			break;
		if (st == PGRES_POLLING_FAILED) {
			first_line(db_pq->PQerrorMessage(conn), err, err_cap,
				   "could not connect: ");
			db_pq->PQfinish(conn);
			return -ECONNREFUSED;
		}
		int rc = wait_socket(conn, st == PGRES_POLLING_WRITING, deadline_ms);
		if (rc == -ETIMEDOUT) {
			db_pq->PQfinish(conn);
			return err_fail(err, err_cap, -ETIMEDOUT,
					"could not connect: no answer before the deadline");
		}
		if (rc < 0) {
			db_pq->PQfinish(conn);
			return err_fail(err, err_cap, rc, "could not connect: %s", strerror(-rc));
		}
		st = db_pq->PQconnectPoll(conn);
	}
	*out = conn;
	return 0;
}

/* The agent's own connections go to its local server. libpq's defaults (sslmode and gssencmode
 * "prefer") set up OpenSSL and Kerberos before the first packet, even when the server then says
 * no: about 2 MB of resident memory for encryption a loopback or socket connection does not need.
 * "allow" tries plain first and SSL only when the server refuses plain (a hostssl-only pg_hba
 * still works); GSS encryption is not tried (GSS authentication still is). The environment's
 * PGSSLMODE and PGGSSENCMODE, when set, win: a NULL value leaves the keyword to libpq. */
static const char *local_mode(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v != NULL && v[0] != '\0' ? NULL : dflt;
}

int db_sql_connect(struct db *db, const char *dbname, int64_t deadline_ms, PGconn **out, char *err,
		   size_t err_cap)
{
	char port[DB_SQL_NUM_MAX];
	char timeout[DB_SQL_NUM_MAX];
	char options[DB_SQL_OPTIONS_MAX];
	int64_t left = deadline_ms - clock_mono_ms();
	if (left <= 0)
		return err_fail(err, err_cap, -ETIMEDOUT, "no time left to connect");
	/* libpq's connect_timeout has a 2 s floor and whole seconds; our poll deadline is exact. */
	int64_t secs = (left + 999) / 1000;
	if (secs < 2)
		secs = 2;
	if (buf_format(port, sizeof(port), "%d", db->opts.listen_port) != 0 ||
	    buf_format(timeout, sizeof(timeout), "%lld", (long long)secs) != 0 ||
	    buf_format(options, sizeof(options), "-c statement_timeout=%lld",
		       (long long)(left > 1000 ? left : 1000)) != 0)
		return err_fail(err, err_cap, -EINVAL, "bad connection settings");
	const char *keys[] = { "host",
			       "port",
			       "user",
			       "dbname",
			       "connect_timeout",
			       "options",
			       "password",
			       "application_name",
			       "passfile",
			       "sslmode",
			       "gssencmode",
			       NULL };
	const char *values[] = { db->opts.local_host,
				 port,
				 db->opts.superuser.username,
				 dbname ? dbname : "postgres",
				 timeout,
				 options,
				 db->opts.superuser.password[0] ? db->opts.superuser.password
								: NULL,
				 "gsha",
				 db->opts.pgpass_path,
				 local_mode("PGSSLMODE", "allow"),
				 local_mode("PGGSSENCMODE", "disable"),
				 NULL };
	/* libpq skips keywords whose value is NULL or empty (no password: pgpass or trust). */
	return connect_params(keys, values, deadline_ms, out, err, err_cap);
}

int db_sql_connect_conninfo(const char *conninfo, int64_t deadline_ms, PGconn **out, char *err,
			    size_t err_cap)
{
	const char *keys[] = { "dbname", NULL };
	const char *values[] = { conninfo, NULL };
	return connect_params(keys, values, deadline_ms, out, err, err_cap);
}

int db_sql_query(PGconn *conn, const char *sql, int64_t deadline_ms, PGresult **out, char *err,
		 size_t err_cap)
{
	if (!db_pq->PQsendQuery(conn, sql)) {
		first_line(db_pq->PQerrorMessage(conn), err, err_cap, "could not send query: ");
		return -EIO;
	}
	PGresult *keep = NULL;
	int rc = 0;
	for (;;) {
		while (db_pq->PQisBusy(conn)) {
			int w = wait_socket(conn, false, deadline_ms);
			if (w < 0) {
				db_pq->PQclear(keep);
				return err_fail(err, err_cap, w == -ETIMEDOUT ? -ETIMEDOUT : w,
						"query did not finish before the deadline");
			}
			if (!db_pq->PQconsumeInput(conn)) {
				db_pq->PQclear(keep);
				first_line(db_pq->PQerrorMessage(conn), err, err_cap,
					   "query failed: ");
				return -EIO;
			}
		}
		PGresult *res = db_pq->PQgetResult(conn);
		if (!res)
			break;
		ExecStatusType st = db_pq->PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			if (rc == 0) {
				db_pq->PQclear(keep);
				keep = res;
			} else {
				db_pq->PQclear(res);
			}
		} else {
			if (rc == 0)
				first_line(db_pq->PQresultErrorMessage(res), err, err_cap, "");
			rc = -EIO;
			db_pq->PQclear(res);
		}
	}
	if (rc < 0 || !keep) {
		db_pq->PQclear(keep);
		return rc < 0 ? rc : err_fail(err, err_cap, -EIO, "query returned no result");
	}
	if (out)
		*out = keep;
	else
		db_pq->PQclear(keep);
	return 0;
}

int db_sql_exec(PGconn *conn, const char *sql, int64_t deadline_ms, char *err, size_t err_cap)
{
	return db_sql_query(conn, sql, deadline_ms, NULL, err, err_cap);
}

int db_sql_get(const PGresult *res, int row, int col, char *out, size_t out_cap)
{
	if (row < 0 || col < 0 || row >= db_pq->PQntuples(res) || col >= db_pq->PQnfields(res))
		return -ERANGE;
	if (db_pq->PQgetisnull(res, row, col)) {
		if (out_cap == 0)
			return -ENOBUFS;
		out[0] = '\0';
		return 0;
	}
	return buf_copy(out, out_cap, db_pq->PQgetvalue(res, row, col)) == 0 ? 0 : -ENOBUFS;
}

bool db_sql_is_null(const PGresult *res, int row, int col)
{
	if (row < 0 || col < 0 || row >= db_pq->PQntuples(res) || col >= db_pq->PQnfields(res))
		return true;
	return db_pq->PQgetisnull(res, row, col);
}

const char *db_sql_value(const PGresult *res, int row, int col)
{
	if (db_sql_is_null(res, row, col))
		return NULL;
	return db_pq->PQgetvalue(res, row, col);
}

int db_sql_one_row(PGconn *conn, const char *sql, int cols, int64_t deadline_ms, PGresult **out,
		   char *err, size_t err_cap)
{
	PGresult *res = NULL;
	int rc = db_sql_query(conn, sql, deadline_ms, &res, err, err_cap);
	if (rc < 0)
		return rc;
	if (db_pq->PQntuples(res) != 1 || db_pq->PQnfields(res) != cols) {
		db_pq->PQclear(res);
		return err_fail(err, err_cap, -EIO, "unexpected result shape for \"%.40s\"", sql);
	}
	*out = res;
	return 0;
}

int db_sql_checkpoint(struct db *db, const char *position_sql, int64_t deadline_ms,
		      uint64_t *out_lsn, char *err, size_t err_cap)
{
	PGconn *conn;
	PGresult *res = NULL;
	uint64_t lsn;
	int rc = db_sql_connect(db, NULL, deadline_ms, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_sql_exec(conn, "CHECKPOINT", deadline_ms, err, err_cap);
	if (rc == 0)
		rc = db_sql_one_row(conn, position_sql, 1, deadline_ms, &res, err, err_cap);
	if (rc == 0) {
		if (lsn_parse(db_sql_value(res, 0, 0), &lsn) != 0)
			rc = err_fail(err, err_cap, -EIO, "checkpoint location is malformed");
		else if (out_lsn)
			*out_lsn = lsn;
		db_pq->PQclear(res);
	}
	db_pq->PQfinish(conn);
	return rc;
}

void db_sql_kept_close(struct db_sql_kept *kept)
{
	if (!kept || !kept->conn)
		return;
	db_pq->PQfinish(kept->conn);
	kept->conn = NULL;
	kept->postmaster_pid = 0;
}

PGconn *db_sql_kept_take(struct db_sql_kept *kept)
{
	if (!kept || !kept->conn || db_pq->PQstatus(kept->conn) != CONNECTION_OK ||
	    db_pq->PQtransactionStatus(kept->conn) != PQTRANS_IDLE)
		return NULL;
	PGconn *conn = kept->conn;
	kept->conn = NULL; /* postmaster_pid stays: the connection comes back to the same server */
	return conn;
}

void db_sql_kept_give(struct db_sql_kept *kept, PGconn *conn, bool ok)
{
	if (!conn)
		return;
	if (ok && kept && !kept->conn && db_pq->PQstatus(conn) == CONNECTION_OK &&
	    db_pq->PQtransactionStatus(conn) == PQTRANS_IDLE) {
		kept->conn = conn;
		return;
	}
	db_pq->PQfinish(conn);
	if (kept && !kept->conn)
		kept->postmaster_pid = 0;
}

/* Whether kept's connection can serve this observation: open, idle (no statement left running by
 * a timeout) and to the postmaster that runs now. */
static bool kept_usable(const struct db_sql_kept *kept, const struct db_probe *probe)
{
	return kept && kept->conn && db_pq->PQstatus(kept->conn) == CONNECTION_OK &&
	       db_pq->PQtransactionStatus(kept->conn) == PQTRANS_IDLE && probe->pidfile_rc == 0 &&
	       probe->alive && probe->pf.pid == kept->postmaster_pid;
}

/* Connects, then runs query within a fresh connect_timeout_ms; *conn is left open on success. */
static int connect_and_query(struct db *db, db_sql_status_fn query, PGconn **conn,
			     struct db_status *sql, struct db_probe *probe)
{
	int64_t deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
	int rc = db_sql_connect(db, NULL, deadline, conn, probe->conn_error,
				sizeof(probe->conn_error));
	if (rc < 0)
		return rc;
	deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
	db_status_clear(sql);
	rc = query(db, *conn, deadline, sql, probe->conn_error, sizeof(probe->conn_error));
	if (rc < 0) {
		db_pq->PQfinish(*conn);
		*conn = NULL;
	}
	return rc;
}

void db_sql_observe_kept(struct db *db, db_sql_status_fn query, struct db_sql_kept *kept,
			 struct db_probe *probe, struct db_status *st)
{
	/* The queries fill st itself, then the probe's facts go over them: no second struct
	 * db_status on the stack (27 kB more in every cycle's deepest call chain; issue 15). */
	db_status_clear(st);
	db_probe_read(db, probe);
	if (!kept_usable(kept, probe))
		db_sql_kept_close(kept);
	if (probe->pidfile_rc == 0 && probe->alive) {
		int rc = -ENOTCONN;
		PGconn *conn = NULL;
		if (kept && kept->conn) {
			conn = kept->conn;
			kept->conn = NULL;
			int64_t deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
			rc = query(db, conn, deadline, st, probe->conn_error,
				   sizeof(probe->conn_error));
			if (rc < 0) {
				db_pq->PQfinish(conn);
				conn = NULL;
			}
		}
		/* A reused connection that timed out means a hung server: do not wait for it twice. */
		if (rc < 0 && rc != -ETIMEDOUT) {
			rc = connect_and_query(db, query, &conn, st, probe);
			if (rc == 0 && kept)
				kept->opened++;
		}
		probe->connected = rc == 0;
		probe->in_recovery = probe->connected && st->role == DB_ROLE_REPLICA;
		if (conn && kept) {
			kept->conn = conn;
			kept->postmaster_pid = probe->pf.pid;
		} else if (conn) {
			db_pq->PQfinish(conn);
		}
	}
	if (!probe->connected) {
		/* what a failed query left is not an observation */
		db_status_clear(st);
		db_classify(probe, st);
	} else {
		/* The probe's initialized, running, accepting and postmaster_pid over the queries';
		 * the engine's own role words (openGauss: pending) and the queries' detail win over
		 * the probe's (db_classify writes a detail when postmaster.pid went away meanwhile). */
		enum db_role role = st->role;
		char detail[sizeof(st->detail)];

		memcpy(detail, st->detail, sizeof(detail));
		db_classify(probe, st);
		st->role = role;
		memcpy(st->detail, detail, sizeof(detail));
	}
}

void db_sql_observe(struct db *db, db_sql_status_fn query, struct db_probe *probe,
		    struct db_status *st)
{
	db_sql_observe_kept(db, query, NULL, probe, st);
}
