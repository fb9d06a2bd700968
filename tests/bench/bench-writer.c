/*
 * bench-writer: a libpq client for the HA benchmarks (not a test). It inserts one row every
 * INTERVAL_MS into bench_w(seq) on whichever server of CONNINFO accepts writes (the caller
 * passes a multi-host conninfo with target_session_attrs=read-write), and logs every outcome
 * with wall-clock microseconds (CLOCK_REALTIME, comparable with `date +%s%6N`):
 *
 *   ok SEQ SENT_US ACK_US PORT      the commit was acknowledged by the server on PORT
 *   fail SEQ SENT_US END_US PORT    the server answered with an error: not committed
 *   unknown SEQ SENT_US END_US PORT no answer within the query timeout, or the connection broke
 *                                   after sending: the row may or may not be committed
 *   noconn - - END_US -             no server accepted a read-write connection
 *
 *   bench-writer CONNINFO SECONDS INTERVAL_MS OUTFILE [TABLE]
 *
 * PORT is the server's own port (`show port`, asked once per connection), so a writer that
 * connects through HAProxy still says which node acknowledged. TABLE (default bench_w, a plain
 * lower-case identifier) lets a second writer run beside the first.
 *
 * Environment (for one writer per node, tests/integration/ha_guardian.sh, tests/bench/
 * frozen_agent.sh): BENCH_WRITER_SEQ_BASE, the first SEQ less one (default 0), so writers on
 * different nodes never insert the same key; BENCH_WRITER_RETRY_MS, the pause after a failed
 * connection or insert (default WRITER_RETRY_SLEEP_MS), so a writer aimed at a replica does not
 * open a connection every few milliseconds.
 *
 * Every wait is bounded: connection attempts by connect_timeout in CONNINFO, each insert by
 * WRITER_QUERY_TIMEOUT_MS (after which the connection is dropped, never cancelled: a cancelled
 * wait for a synchronous standby would still report success), the whole run by SECONDS.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WRITER_QUERY_TIMEOUT_MS 3000
#define WRITER_RETRY_SLEEP_MS 5
#define WRITER_SEQ_TEXT 32
#define WRITER_MAX_SECONDS 86400
#define WRITER_MAX_INTERVAL_MS 60000
#define WRITER_SQL_MAX 160 /* the insert statement with a table name of up to 63 characters */
#define WRITER_PORT_MAX 16

/* The server's port as it reports it, or "?" when it does not answer. */
static void writer_server_port(PGconn *conn, char *out, size_t cap)
{
	PGresult *res = PQexec(conn, "show port");

	snprintf(out, cap, "%s",
		 PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
			 ? PQgetvalue(res, 0, 0)
			 : "?");
	PQclear(res);
}

static bool writer_table_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 63)
		return false;
	for (; *t != '\0'; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '_'))
			return false;
	return true;
}

static volatile sig_atomic_t writer_stop;

static void writer_on_signal(int sig)
{
	(void)sig;
	writer_stop = 1;
}

/* Messages a server sends outside a query (a FATAL on shutdown) would clutter the benchmark's
 * output; the outcome of each insert is what the log records. */
static void writer_ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int64_t writer_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t writer_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void writer_sleep_ms(int64_t ms)
{
	struct timespec ts;
	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !writer_stop) {
	}
}

static int writer_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Waits for the result of the query sent on conn; returns 1 committed, 0 error answer,
 * -1 no answer (timeout or broken connection). */
static int writer_wait_result(PGconn *conn)
{
	int64_t deadline = writer_mono_ms() + WRITER_QUERY_TIMEOUT_MS;
	int outcome = -1;
	PGresult *res;
	while (PQisBusy(conn)) {
		struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
		int64_t left = deadline - writer_mono_ms();
		if (left <= 0 || pfd.fd < 0)
			return -1;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
		if (!PQconsumeInput(conn))
			return -1;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (outcome == -1)
			outcome = st == PGRES_COMMAND_OK ? 1 : 0;
		else if (st != PGRES_COMMAND_OK)
			outcome = 0;
		PQclear(res);
	}
	if (PQstatus(conn) != CONNECTION_OK && outcome == 1)
		outcome = -1;
	return outcome;
}

int main(int argc, char **argv)
{
	long seconds, interval, seq_base = 0, retry_ms = WRITER_RETRY_SLEEP_MS;
	const char *env;
	FILE *out;
	PGconn *conn = NULL;
	int64_t end_ms, next_ms;
	long long seq = 0;
	char seqtext[WRITER_SEQ_TEXT], sql[WRITER_SQL_MAX], port[WRITER_PORT_MAX] = "?";
	const char *table = argc == 6 ? argv[5] : "bench_w";

	if ((argc != 5 && argc != 6) || !writer_table_ok(table) ||
	    writer_parse_long(argv[2], 1, WRITER_MAX_SECONDS, &seconds) != 0 ||
	    writer_parse_long(argv[3], 1, WRITER_MAX_INTERVAL_MS, &interval) != 0) {
		fprintf(stderr,
			"usage: bench-writer CONNINFO SECONDS INTERVAL_MS OUTFILE [TABLE]\n");
		return 2;
	}
	env = getenv("BENCH_WRITER_SEQ_BASE");
	if (env != NULL && writer_parse_long(env, 0, 1000000000000L, &seq_base) != 0) {
		fprintf(stderr, "bench-writer: BENCH_WRITER_SEQ_BASE: not a number\n");
		return 2;
	}
	env = getenv("BENCH_WRITER_RETRY_MS");
	if (env != NULL && writer_parse_long(env, 1, WRITER_MAX_INTERVAL_MS, &retry_ms) != 0) {
		fprintf(stderr, "bench-writer: BENCH_WRITER_RETRY_MS: not a number\n");
		return 2;
	}
	seq = seq_base;
	snprintf(sql, sizeof(sql), "insert into %s(seq) values ($1::bigint)", table);
	out = fopen(argv[4], "w");
	if (out == NULL) {
		fprintf(stderr, "bench-writer: cannot open %s: %s\n", argv[4], strerror(errno));
		return 2;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	signal(SIGTERM, writer_on_signal);
	signal(SIGINT, writer_on_signal);
	signal(SIGPIPE, SIG_IGN);

	end_ms = writer_mono_ms() + seconds * 1000;
	next_ms = writer_mono_ms();
	while (!writer_stop && writer_mono_ms() < end_ms) {
		const char *params[1];
		int64_t sent;
		int outcome;
		if (conn == NULL) {
			conn = PQconnectdb(argv[1]);
			if (PQstatus(conn) != CONNECTION_OK) {
				fprintf(out, "noconn - - %" PRId64 " -\n", writer_wall_us());
				PQfinish(conn);
				conn = NULL;
				writer_sleep_ms(retry_ms);
				continue;
			}
			PQsetNoticeProcessor(conn, writer_ignore_notice, NULL);
			writer_server_port(conn, port, sizeof(port));
		}
		seq++;
		if (snprintf(seqtext, sizeof(seqtext), "%lld", seq) >= (int)sizeof(seqtext))
			return 2;
		params[0] = seqtext;
		sent = writer_wall_us();
		if (!PQsendQueryParams(conn, sql, 1, NULL, params, NULL, NULL, 0))
			outcome = -1;
		else
			outcome = writer_wait_result(conn);
		fprintf(out, "%s %lld %" PRId64 " %" PRId64 " %s\n",
			outcome == 1 ? "ok" : (outcome == 0 ? "fail" : "unknown"), seq, sent,
			writer_wall_us(), port);
		if (outcome != 1) {
			PQfinish(conn);
			conn = NULL;
			writer_sleep_ms(retry_ms);
			continue;
		}
		next_ms += interval;
		if (next_ms < writer_mono_ms())
			next_ms = writer_mono_ms();
		writer_sleep_ms(next_ms - writer_mono_ms());
	}
	if (conn != NULL)
		PQfinish(conn);
	fclose(out);
	return 0;
}
