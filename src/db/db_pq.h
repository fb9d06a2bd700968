/*
 * db_pq.h - every libpq call of the database layer goes through this table (tlslib.h): the
 * linked libpq, or, in a minimal build once db_pq_use_ssl() chose it, its SSL build (OpenSSL)
 * loaded with dlopen. Calls read db_pq->PQclear(r) where they read PQclear(r).
 *
 * The minimal build's plain libpq has no SSL: sslmode disable, allow and prefer connect without
 * it, and SCRAM uses PostgreSQL's own SHA-256 (src/common). A connection that needs SSL
 * (sslmode require or verify-*, PGSSLMODE, a server configured with ssl = on whose pg_hba.conf
 * may accept only hostssl) needs the SSL build, chosen once at start-up: a PGconn or PGresult of
 * one build must never meet the other's functions.
 */
#ifndef GSHA_DB_PQ_H
#define GSHA_DB_PQ_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "tlslib.h"

#define DB_PQ_FUNCS(X)          \
	X(PQconnectStartParams) \
	X(PQconnectPoll)        \
	X(PQconninfoParse)      \
	X(PQconninfoFree)       \
	X(PQfinish)             \
	X(PQstatus)             \
	X(PQtransactionStatus)  \
	X(PQsocket)             \
	X(PQerrorMessage)       \
	X(PQsendQuery)          \
	X(PQconsumeInput)       \
	X(PQisBusy)             \
	X(PQgetResult)          \
	X(PQresultStatus)       \
	X(PQresultErrorMessage) \
	X(PQntuples)            \
	X(PQnfields)            \
	X(PQgetvalue)           \
	X(PQgetisnull)          \
	X(PQclear)              \
	X(PQfreemem)            \
	X(PQescapeLiteral)      \
	X(PQescapeIdentifier)   \
	X(PQencryptPasswordConn)

struct db_pq_api {
	DB_PQ_FUNCS(TLSLIB_MEMBER)
};

/* The table in use; written only by db_pq_use_ssl(), at start-up before any connection. */
extern const struct db_pq_api *db_pq;

/* db_pq_use_ssl() and db_pq_has_ssl() are in db.h. */

#endif
