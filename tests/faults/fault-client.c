/*
 * fault-client: the libpq client of the fault-injection suite (tests/faults/README in
 * docs/faults.md). One program, three modes, every timestamp on CLOCK_MONOTONIC in
 * microseconds, so the logs of the writer, the probes and the injector compare even while a
 * scenario steps the wall clock:
 *
 *   fault-client write CONNINFO SECONDS INTERVAL_MS OUTFILE
 *       inserts numbered rows into gsha_fault_w(seq), one transaction each, never retried,
 *       through CONNINFO (HAProxy), and logs one line per row:
 *         ok SEQ SENT_US END_US NODE       commit returned without error or warning
 *         warn SEQ SENT_US END_US NODE     commit returned with "canceling wait for synchronous
 *                                          replication": committed locally, NOT acknowledged
 *         fail SEQ SENT_US END_US NODE     the server answered with an error
 *         unknown SEQ SENT_US END_US NODE  no answer in time or the connection broke
 *       NODE is inet_server_addr() of the connection (the node behind HAProxy).
 *   fault-client probe CONNINFO INTERVAL_MS OUTFILE
 *       commits one row into gsha_fault_probe every INTERVAL_MS on the node's local socket
 *       until SIGTERM, and logs ok/warn/fail/unknown SEQ SENT_US END_US (- for NODE), or
 *       noconn when no connection could be made.
 *   fault-client now
 *       prints CLOCK_MONOTONIC in microseconds (for the shell injector).
 *
 * Every wait is bounded: connections by connect_timeout in CONNINFO, a commit by
 * FC_WRITE_TIMEOUT_MS / FC_PROBE_TIMEOUT_MS (the connection is then dropped, never cancelled:
 * a cancelled wait for a synchronous standby would report success), the writer by SECONDS.
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

#define FC_WRITE_TIMEOUT_MS 3000
#define FC_PROBE_TIMEOUT_MS 1000
#define FC_RETRY_SLEEP_MS 20
#define FC_SEQ_TEXT 32	     /* a long long in decimal */
#define FC_NODE_TEXT 64	     /* an inet address as text */
#define FC_MAX_SECONDS 86400 /* one day */
#define FC_MAX_INTERVAL_MS 60000
#define FC_SYNC_CANCEL "canceling wait for synchronous replication"

enum fc_outcome {
	FC_OK,
	FC_WARN,
	FC_FAIL,
	FC_UNKNOWN
};

static const char *const fc_outcome_names[] = {
	[FC_OK] = "ok",
	[FC_WARN] = "warn",
	[FC_FAIL] = "fail",
	[FC_UNKNOWN] = "unknown",
};

static volatile sig_atomic_t fc_stop;

static void fc_on_signal(int sig)
{
	(void)sig;
	fc_stop = 1;
}

static int64_t fc_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fc_sleep_ms(int64_t ms)
{
	struct timespec ts;
	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !fc_stop) {
	}
}

static int fc_parse_long(const char *s, long min, long max, long *out)
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

/* Set by the notice receiver when the server warned that it stopped waiting for a synchronous
 * standby: that commit is local only and must not count as acknowledged. */
static bool fc_sync_cancelled;

static void fc_on_notice(void *arg, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	(void)arg;
	if (msg != NULL && strstr(msg, FC_SYNC_CANCEL) != NULL)
		fc_sync_cancelled = true;
}

/* Sends SQL with one text parameter and waits at most timeout_ms for its outcome. */
static enum fc_outcome fc_exec(PGconn *conn, const char *sql, const char *param, int64_t timeout_ms)
{
	int64_t deadline = fc_mono_us() / 1000 + timeout_ms;
	enum fc_outcome outcome = FC_UNKNOWN;
	bool answered = false;
	PGresult *res;

	fc_sync_cancelled = false;
	if (!PQsendQueryParams(conn, sql, 1, NULL, &param, NULL, NULL, 0))
		return FC_UNKNOWN;
	while (PQisBusy(conn)) {
		struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
		int64_t left = deadline - fc_mono_us() / 1000;
		if (left <= 0 || pfd.fd < 0)
			return FC_UNKNOWN;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return FC_UNKNOWN;
		if (!PQconsumeInput(conn))
			return FC_UNKNOWN;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);
		if (!answered)
			outcome = st == PGRES_COMMAND_OK ? FC_OK : FC_FAIL;
		else if (st != PGRES_COMMAND_OK)
			outcome = FC_FAIL;
		answered = true;
		PQclear(res);
	}
	if (outcome == FC_OK && PQstatus(conn) != CONNECTION_OK)
		return FC_UNKNOWN;
	if (outcome == FC_OK && fc_sync_cancelled)
		return FC_WARN;
	return outcome;
}

static PGconn *fc_connect(const char *conninfo, char *node, size_t node_size)
{
	PGconn *conn = PQconnectdb(conninfo);
	PGresult *res;
	if (PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeReceiver(conn, fc_on_notice, NULL);
	snprintf(node, node_size, "-");
	res = PQexec(conn, "select coalesce(host(inet_server_addr()), 'local')");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strlen(PQgetvalue(res, 0, 0)) < node_size)
		snprintf(node, node_size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return conn;
}

/* The writer and the probe share one loop: WRITER stops after seconds, the probe on SIGTERM. */
static int fc_loop(const char *conninfo, long seconds, long interval_ms, FILE *out, bool writer)
{
	const char *sql = writer ? "insert into gsha_fault_w(seq) values ($1::bigint)"
				 : "insert into gsha_fault_probe(seq) values ($1::bigint)";
	int64_t timeout_ms = writer ? FC_WRITE_TIMEOUT_MS : FC_PROBE_TIMEOUT_MS;
	int64_t end_us = fc_mono_us() + (int64_t)seconds * 1000000;
	int64_t next_us = fc_mono_us();
	char node[FC_NODE_TEXT];
	char seqtext[FC_SEQ_TEXT];
	PGconn *conn = NULL;
	long long seq = 0;

	while (!fc_stop && fc_mono_us() < end_us) {
		enum fc_outcome outcome;
		int64_t sent;
		if (conn == NULL) {
			conn = fc_connect(conninfo, node, sizeof(node));
			if (conn == NULL) {
				fprintf(out, "noconn - - %" PRId64 " -\n", fc_mono_us());
				fc_sleep_ms(writer ? FC_RETRY_SLEEP_MS : interval_ms);
				continue;
			}
		}
		seq++;
		if (snprintf(seqtext, sizeof(seqtext), "%lld", seq) >= (int)sizeof(seqtext))
			return 2;
		sent = fc_mono_us();
		outcome = fc_exec(conn, sql, seqtext, timeout_ms);
		fprintf(out, "%s %lld %" PRId64 " %" PRId64 " %s\n", fc_outcome_names[outcome], seq,
			sent, fc_mono_us(), writer ? node : "-");
		if (outcome == FC_UNKNOWN || (writer && outcome != FC_OK)) {
			/* A broken or doubtful connection is not reused; the writer also reconnects
			 * after an error so HAProxy can route it to the new primary. */
			PQfinish(conn);
			conn = NULL;
			fc_sleep_ms(FC_RETRY_SLEEP_MS);
			continue;
		}
		next_us += interval_ms * 1000;
		if (next_us < fc_mono_us())
			next_us = fc_mono_us();
		fc_sleep_ms((next_us - fc_mono_us()) / 1000);
	}
	if (conn != NULL)
		PQfinish(conn);
	return 0;
}

static void fc_usage(void)
{
	fprintf(stderr, "usage: fault-client write CONNINFO SECONDS INTERVAL_MS OUTFILE\n"
			"       fault-client probe CONNINFO INTERVAL_MS OUTFILE\n"
			"       fault-client now\n");
}

int main(int argc, char **argv)
{
	long seconds = FC_MAX_SECONDS, interval;
	const char *path;
	bool writer;
	FILE *out;
	int rc;

	if (argc == 2 && strcmp(argv[1], "now") == 0) {
		printf("%" PRId64 "\n", fc_mono_us());
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "write") == 0) {
		writer = true;
		if (fc_parse_long(argv[3], 1, FC_MAX_SECONDS, &seconds) != 0 ||
		    fc_parse_long(argv[4], 1, FC_MAX_INTERVAL_MS, &interval) != 0) {
			fc_usage();
			return 2;
		}
		path = argv[5];
	} else if (argc == 5 && strcmp(argv[1], "probe") == 0) {
		writer = false;
		if (fc_parse_long(argv[3], 1, FC_MAX_INTERVAL_MS, &interval) != 0) {
			fc_usage();
			return 2;
		}
		path = argv[4];
	} else {
		fc_usage();
		return 2;
	}
	out = fopen(path, "w");
	if (out == NULL) {
		fprintf(stderr, "fault-client: cannot open %s: %s\n", path, strerror(errno));
		return 2;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	signal(SIGTERM, fc_on_signal);
	signal(SIGINT, fc_on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = fc_loop(argv[2], seconds, interval, out, writer);
	fclose(out);
	return rc;
}
