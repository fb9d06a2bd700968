/*
 * db_sql.h - SQL over libpq with a deadline on everything, for the database drivers.
 *
 * Internal to the db module: this is the one place where libpq types appear, and db.h never
 * includes it. A connection attempt is bounded by connect_timeout (libpq) and by our own
 * deadline; a query is sent asynchronously and we poll its socket until the deadline, then
 * cancel it and drop the connection, so a hung (SIGSTOPped, overloaded) server cannot block the
 * HA loop.
 *
 * Compatibility: shared with the openGauss driver; change it only by adding.
 */
#ifndef GSHA_DB_SQL_H
#define GSHA_DB_SQL_H

#include "db_driver.h"

#include "db_pq.h"
#include <stdint.h>

/* Opens a connection to the local server as the superuser (database "postgres", or dbname when
 * not NULL), application_name "gsha", statement_timeout set to the deadline. deadline_ms is
 * monotonic (clock_mono_ms). Returns 0 and *out (PQfinish it), -ETIMEDOUT, or -ECONNREFUSED with
 * the libpq message in err. */
int db_sql_connect(struct db *db, const char *dbname, int64_t deadline_ms, PGconn **out, char *err,
		   size_t err_cap) __attribute__((warn_unused_result));

/* Connects with an explicit conninfo string (a peer, or the replication user); otherwise as
 * db_sql_connect. */
int db_sql_connect_conninfo(const char *conninfo, int64_t deadline_ms, PGconn **out, char *err,
			    size_t err_cap) __attribute__((warn_unused_result));

/* Sends sql and waits until deadline_ms for its result. Returns 0 and *out (PQclear it) for
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK, -EIO with the server's message for an error, -ETIMEDOUT
 * after cancelling the query (the connection is then unusable: PQfinish it). */
int db_sql_query(PGconn *conn, const char *sql, int64_t deadline_ms, PGresult **out, char *err,
		 size_t err_cap) __attribute__((warn_unused_result));

/* As db_sql_query, discarding the result. */
int db_sql_exec(PGconn *conn, const char *sql, int64_t deadline_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Copies field (row, col) of res into out; NULL fields become "". Returns 0, -ERANGE for a
 * missing field, -ENOBUFS when it does not fit. */
int db_sql_get(const PGresult *res, int row, int col, char *out, size_t out_cap)
	__attribute__((warn_unused_result));

/* True when field (row, col) is SQL NULL or missing. */
bool db_sql_is_null(const PGresult *res, int row, int col);

/* The text of field (row, col), or NULL when it is SQL NULL or missing. Owned by res. */
const char *db_sql_value(const PGresult *res, int row, int col);

/* As db_sql_query, but the result must be exactly one row of cols columns (-EIO otherwise). */
int db_sql_one_row(PGconn *conn, const char *sql, int cols, int64_t deadline_ms, PGresult **out,
		   char *err, size_t err_cap) __attribute__((warn_unused_result));

/* A driver's status queries: fill the SQL part of st (zeroed) over conn before deadline_ms.
 * 0, or -errno with the reason in err (the server then counts as not answering). */
typedef int (*db_sql_status_fn)(struct db *db, PGconn *conn, int64_t deadline_ms,
				struct db_status *st, char *err, size_t err_cap);

/* Observes the server the same way for both engines: the process part of probe
 * (db_probe_read), then, when the postmaster lives, SQL through query within connect_timeout_ms
 * for the connection and again for the queries, then the role decision (db_classify). st gets
 * the SQL fields when SQL answered, else only what the process showed; probe says how it went
 * (pidfile_rc, connected, conn_error). */
void db_sql_observe(struct db *db, db_sql_status_fn query, struct db_probe *probe,
		    struct db_status *st);

/* A status connection kept from one observation to the next, so an idle agent does not open a
 * connection (a backend fork, authentication) every cycle. Closed on any failure, when the
 * postmaster it was opened to is gone or another one runs, and by the driver before it stops
 * the server (a smart shutdown would otherwise wait for it). Embedded and zeroed by its owner. */
struct db_sql_kept {
	PGconn *conn;	    /* NULL while closed */
	int postmaster_pid; /* the postmaster conn was opened to */
	uint64_t opened;    /* connections opened so far (for logs and tests) */
};

/* db_sql_observe over kept's connection, opened when needed. A reused connection that fails at
 * once (closed by the server, restarted postmaster) is replaced by a fresh one within the same
 * observation, as a per-read connection would have been; one that times out is not retried, so a
 * hung server blocks no longer than with a connection per read. kept may be NULL (per read). */
void db_sql_observe_kept(struct db *db, db_sql_status_fn query, struct db_sql_kept *kept,
			 struct db_probe *probe, struct db_status *st);

/* Closes kept's connection, if open (NULL is fine). */
void db_sql_kept_close(struct db_sql_kept *kept);

/* Lends kept's connection for other statements on the local server in its default database
 * (the caller owns it until db_sql_kept_give): NULL when there is none or it is not idle. */
PGconn *db_sql_kept_take(struct db_sql_kept *kept);

/* Gives conn back after db_sql_kept_take: kept again when ok (its statements succeeded), else
 * closed, so the next status read opens a fresh one. */
void db_sql_kept_give(struct db_sql_kept *kept, PGconn *conn, bool ok);

/* Connects to the local server, runs CHECKPOINT, then position_sql (one row, one LSN column:
 * the engine's way to say where the checkpoint left the WAL) and writes that position to
 * *out_lsn (may be NULL). Returns 0, or the error of the connection or a statement, or -EIO for
 * a malformed position, with a message. */
int db_sql_checkpoint(struct db *db, const char *position_sql, int64_t deadline_ms,
		      uint64_t *out_lsn, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

#endif
