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

#include "db.h"

#include <libpq-fe.h>
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

#endif
