/*
 * db_postgres.c - the PostgreSQL (12 and later) driver: its short actions through pg_ctl and
 * SQL, and its driver table.
 *
 * pg_ctl for start/stop/reload/promote; a replica is standby.signal plus primary_conninfo (and
 * primary_slot_name when use_slots) in the postgresql.conf gsha writes (db_postgres_conf.c).
 * Status: db_postgres_status.c; bootstrap, clone and rejoin: db_postgres_task.c.
 */
#include "db_postgres.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"
#include "lsn.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Extra time a background command gets beyond the -t we give pg_ctl, so pg_ctl's own timeout
 * fires first and we never kill a postmaster pg_ctl is still waiting for. */
#define PG_CTL_MARGIN_MS 10000

/* --- pg_ctl ---------------------------------------------------------------------------------- */

void db_pg_log_tail(const struct db *db, char *out, size_t cap)
{
	out[0] = '\0';
	int fd = open(db->opts.log_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[DB_PG_LOG_TAIL_MAX + 1];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > DB_PG_LOG_TAIL_MAX ? end - DB_PG_LOG_TAIL_MAX : 0;
	ssize_t n = pread(fd, buf, DB_PG_LOG_TAIL_MAX, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	const char *last = strrchr(buf, '\n');
	last = last ? last + 1 : buf;
	/* A quoted log line, not data: cutting a long one short is fine. */
	size_t len = strlen(last);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, last, len);
	out[len] = '\0';
}

/* Arguments of "pg_ctl start": with -w -t <secs> when wait_ms > 0 (pg_ctl then waits until the
 * server accepts connections and reports a failed start itself), else -W. */
struct pg_start_cmd {
	char prog[DB_PATH_MAX];
	char secs[32];
	const char *argv[12];
};

static int pg_start_cmd(struct db *db, int64_t wait_ms, struct pg_start_cmd *c)
{
	if (db_bin_path(db, "pg_ctl", c->prog, sizeof(c->prog)) < 0 ||
	    buf_format(c->secs, sizeof(c->secs), "%lld", (long long)db_secs_of(wait_ms)) != 0)
		return -ENAMETOOLONG;
	int n = 0;
	c->argv[n++] = c->prog;
	c->argv[n++] = "start";
	c->argv[n++] = "-D";
	c->argv[n++] = db->opts.data_dir;
	c->argv[n++] = "-l";
	c->argv[n++] = db->opts.log_file;
	if (wait_ms > 0) {
		c->argv[n++] = "-w";
		c->argv[n++] = "-t";
		c->argv[n++] = c->secs;
	} else {
		c->argv[n++] = "-W";
	}
	c->argv[n] = NULL;
	return 0;
}

/* A start that does not wait: "postgres -D DATA" launched directly, its output appended to the
 * server log, in a session of its own. That is what "pg_ctl start -W" runs, without pg_ctl's own
 * exec, its "postgres -V" check through a shell and the shell it starts the server with: four
 * program starts fewer between a crash and the restarted server (tens of milliseconds each on a
 * loaded machine; docs/timing.md, "A crashed postmaster"). Patroni starts its postmaster directly
 * too. A server that exits at once (a bad setting, a taken port) is seen, as after pg_ctl -W,
 * when the next status finds it not running. */
static int launch_postgres(struct db *db, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "postgres", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "-D", db->opts.data_dir, NULL };
	char why[DB_ERROR_MAX];
	int rc = db_launch(db, argv, db->opts.log_file, why, sizeof(why));
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "could not start the server: %s", why);
	return 0;
}

/* Runs pg_ctl start, waiting up to wait_ms (0: launch only, without pg_ctl). A failed start is
 * -ETIMEDOUT when the server still runs (slow recovery), else -EIO with the last line of the
 * server log. */
static int run_pg_ctl_start(struct db *db, int64_t wait_ms, char *err, size_t err_cap)
{
	if (wait_ms <= 0)
		return launch_postgres(db, err, err_cap);
	struct pg_start_cmd c;
	if (pg_start_cmd(db, wait_ms, &c) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	int64_t limit = wait_ms > 0 ? db_secs_of(wait_ms) * 1000 + PG_CTL_MARGIN_MS
				    : db->opts.command_timeout_ms;
	char why[DB_ERROR_MAX];
	int rc = db_run(db, c.argv, limit, NULL, 0, why, sizeof(why));
	if (rc == 0)
		return 0;
	if (db_server_running(db))
		return err_fail(err, err_cap, -ETIMEDOUT,
				"server did not accept connections within %lld s",
				(long long)db_secs_of(wait_ms));
	char tail[DB_PG_LOG_TAIL_MAX];
	db_pg_log_tail(db, tail, sizeof(tail));
	return err_fail(err, err_cap, -EIO, "could not start the server: %s", tail[0] ? tail : why);
}

int db_pg_spawn_start(struct db *db, char *err, size_t err_cap)
{
	struct pg_start_cmd c;
	if (pg_start_cmd(db, db->opts.command_timeout_ms, &c) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	return db_task_spawn_timeout(
		db, c.argv, db_secs_of(db->opts.command_timeout_ms) * 1000 + PG_CTL_MARGIN_MS, err,
		err_cap);
}

static int pg_start(struct db *db, enum db_start_role role, const struct db_peer *primary,
		    uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)term;
	if (role == DB_START_PENDING)
		return err_fail(err, err_cap, -ENOTSUP, "PostgreSQL has no pending mode");
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_pg_probe_status(db, &st);
	if (!st.initialized)
		return err_fail(err, err_cap, -ENOENT, "data directory \"%s\" is not initialized",
				db->opts.data_dir);
	bool replica = role == DB_START_REPLICA;
	if (st.running) {
		if ((replica && st.role == DB_ROLE_REPLICA) ||
		    (!replica && st.role == DB_ROLE_PRIMARY))
			return 0;
		return err_fail(err, err_cap, -EALREADY, "server is already running as \"%s\"",
				db_role_name(st.role));
	}
	if (replica)
		db_set_upstream(db, primary);
	int rc = db_pg_write_config(db, replica, NULL, err, err_cap);
	if (rc < 0)
		return rc;
	return run_pg_ctl_start(db, timeout_ms, err, err_cap);
}

static const char *const pg_ctl_modes[] = {
	[DB_STOP_SMART] = "smart",
	[DB_STOP_FAST] = "fast",
	[DB_STOP_IMMEDIATE] = "immediate",
};

static int pg_stop(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		   size_t err_cap)
{
	/* Our own status connection would hold a smart shutdown; the next read opens a new one. */
	db_pg_close_status_conn(db);
	if (!db_server_running(db))
		return 0;
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	/* pg_ctl -W only signals; its own wait (-w) looks every 100 ms. The server is gone the
	 * moment its postmaster exits (it removes postmaster.pid then): db_wait_stopped looks
	 * every few ms, so in a switchover the leader key is released, and the next primary
	 * promoted, that much sooner. */
	const char *argv[] = { prog, "stop", "-D", db->opts.data_dir, "-m", pg_ctl_modes[mode],
			       "-W", NULL };
	char why[DB_ERROR_MAX];
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int rc = db_run(db, argv, PG_CTL_MARGIN_MS, NULL, 0, why, sizeof(why));
	if (rc == 0 && db_wait_stopped(db, deadline))
		return 0;
	if (!db_server_running(db))
		return 0; /* it went away after all (pg_ctl raced with the exit) */
	return err_fail(err, err_cap, -ETIMEDOUT, "server did not stop (%s) within %lld s%s%s",
			pg_ctl_modes[mode], (long long)db_secs_of(timeout_ms), rc == 0 ? "" : ": ",
			rc == 0 ? "" : why);
}

static int pg_restart(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		      size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int rc = pg_stop(db, mode, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	/* The configuration on disk is current (standby.signal included): start it as it is. */
	int64_t left = deadline - clock_mono_ms();
	return run_pg_ctl_start(db, left > 1000 ? left : 1000, err, err_cap);
}

/* SIGHUP to the postmaster, what pg_ctl reload sends (it too only signals: the server rereads
 * its files on its own), without the fork and exec of pg_ctl, which took 20-45 ms on an idle
 * 2-core machine and 100-340 ms on a loaded one: every re-pointed replica and every change of
 * synchronous_standby_names paid it, a failover in synchronous mode twice (issue 14). Only once
 * postmaster.pid proves to name this data directory's postmaster; pg_ctl when the identity
 * cannot be read. */
static int pg_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	int rc = db_signal_postmaster(db, SIGHUP, err, err_cap);

	if (rc == 0 || rc == -ESRCH)
		return rc;
	if (!db_server_running(db))
		return err_fail(err, err_cap, -ESRCH, "server is not running");
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "reload", "-D", db->opts.data_dir, NULL };
	return db_run(db, argv, timeout_ms > 0 ? timeout_ms : 1, NULL, 0, err, err_cap);
}

/* Rewrites the configuration for the role on disk and reloads a running server. */
static int rewrite_and_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	bool replica = db_data_file_exists(db, "standby.signal");
	bool changed = false;
	int rc = db_pg_write_config(db, replica, &changed, err, err_cap);
	if (rc < 0)
		return rc;
	if (!changed || !db_server_running(db))
		return 0;
	return pg_reload(db, timeout_ms, err, err_cap);
}

/* pg_control's fields up to the cluster state have kept their place since PostgreSQL 8
 * (system_identifier, pg_control_version, catalog_version_no, state), and DB_IN_PRODUCTION is
 * 6: what pg_ctl promote -w waits for. The startup process sets it as it allows writes, after it
 * has removed standby.signal. */
#define PG_CONTROL_STATE_OFFSET 16
#define PG_DB_IN_PRODUCTION 6
#define PG_PROMOTE_POLL_MS 10
/* How long a promotion may go unnoticed before the promote request is sent again (below). */
#define PG_PROMOTE_NUDGE_MS 100

/* Bound of the promote request by SQL before pg_ctl is asked instead. */
#define PG_PROMOTE_SQL_MS 1000

/* Sends the promote request: pg_promote(false) on the kept status connection (PostgreSQL 12+:
 * it writes the "promote" file and signals the postmaster, as pg_ctl promote does, without a
 * fork and exec of pg_ctl, which alone took 100-340 ms on a loaded machine), else pg_ctl
 * promote without waiting (-W). */
static int pg_send_promote(struct db *db, char *err, size_t err_cap)
{
	struct db_sql_kept *kept = db_pg_status_conn(db);
	PGconn *conn = kept ? db_sql_kept_take(kept) : NULL;
	char prog[DB_PATH_MAX];

	if (conn) {
		int rc = db_sql_exec(conn, "SELECT pg_catalog.pg_promote(false)",
				     clock_mono_ms() + PG_PROMOTE_SQL_MS, NULL, 0);

		/* an error ("recovery is not in progress") leaves it idle and usable */
		db_sql_kept_give(kept, conn,
				 db_pq->PQstatus(conn) == CONNECTION_OK &&
					 db_pq->PQtransactionStatus(conn) == PQTRANS_IDLE);
		if (rc == 0)
			return 0;
	}
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "promote", "-D", db->opts.data_dir, "-W", NULL };
	return db_run(db, argv, PG_CTL_MARGIN_MS, NULL, 0, err, err_cap);
}

/* Waits until pg_control says "in production", looking every PG_PROMOTE_POLL_MS; false at
 * deadline_ms or when the server is gone (the caller then asks by SQL).
 *
 * While it waits it sends the promote request again every PG_PROMOTE_NUDGE_MS. PostgreSQL
 * (15 at least) can sit on a promotion for up to wal_retrieve_retry_interval (5 s by default):
 * a standby whose walreceiver just lost its primary (a node loss) sleeps that long between
 * sources; the promote signal wakes it, but when it finds the request while looking at the
 * stream it counts that as the stream failing and goes back to the same sleep for what is left
 * of the interval, with the request already taken (measured: "received promote request", then
 * "redo done" 2.7 s later, exactly 5 s after the walreceiver's last failure). A second signal
 * wakes that sleep, and recovery then ends at once. A request PostgreSQL no longer needs is
 * harmless: pg_ctl refuses once the server left recovery, and a "promote" file left behind
 * is removed below and by every postmaster start. */
static bool pg_wait_in_production(struct db *db, int64_t deadline_ms)
{
	char path[DB_PATH_MAX + 32];
	int64_t nudge_ms = clock_mono_ms() + PG_PROMOTE_NUDGE_MS;

	if (buf_format(path, sizeof(path), "%s/global/pg_control", db->opts.data_dir) != 0)
		return false;
	for (;;) {
		int32_t state = -1;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (pread(fd, &state, sizeof(state), PG_CONTROL_STATE_OFFSET) !=
			    (ssize_t)sizeof(state))
				state = -1;
			close(fd);
		}
		if (state == PG_DB_IN_PRODUCTION)
			return true;
		if (!db_server_running(db))
			return false; /* gone: the caller's SQL look says what it is */
		int64_t left = deadline_ms - clock_mono_ms();
		if (left <= 0)
			return false;
		if (clock_mono_ms() >= nudge_ms) {
			char ignored[DB_ERROR_MAX];

			/* fails once the server left recovery: the next look sees it */
			(void)pg_send_promote(db, ignored, sizeof(ignored));
			nudge_ms = clock_mono_ms() + PG_PROMOTE_NUDGE_MS;
			continue;
		}
		clock_sleep_ms(left < PG_PROMOTE_POLL_MS ? left : PG_PROMOTE_POLL_MS);
	}
}

/* After the promotion: the startup process removed standby.signal as it ended recovery (doing it
 * first would make that removal fail, and the startup process with it); the next start must not
 * follow anyone. The checkpoint that puts the new timeline into pg_control (Patroni's
 * checkpoint_after_promote) is the caller's, after it has told clients (db.h). */
static int promoted_config(struct db *db, char *err, size_t err_cap)
{
	/* A request sent again as recovery ended stays unread; nothing reads it while the server
	 * runs as a primary, but a backup taken from it must not carry it. */
	char trigger[DB_DATA_PATH_MAX];
	if (db_data_path(db, "promote", trigger, sizeof(trigger)) == 0)
		(void)unlink(trigger);
	db->has_upstream = false;
	db->upstream_known = true;
	int rc = db_pg_write_config(db, false, NULL, err, err_cap);
	return rc < 0 ? rc : 0;
}

static int pg_promote(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)term;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_pg_get_status(db, &st);
	/* Already primary: a promotion that outlasted the last call's wait ended meanwhile, and
	 * its configuration is written now, as below. */
	if (st.role == DB_ROLE_PRIMARY && db->upstream_known && !db->has_upstream)
		return 0;
	if (st.role == DB_ROLE_PRIMARY)
		return promoted_config(db, err, err_cap);
	if (st.role != DB_ROLE_REPLICA)
		return err_fail(err, err_cap, -ESRCH, "cannot promote: server is \"%s\"",
				db_role_name(st.role));
	/* pg_ctl -W only signals; its own wait (-w) looks at pg_control every 100 ms, a tenth of
	 * a second of every switchover's write gap: pg_wait_in_production looks every few ms. */
	int rc = pg_send_promote(db, err, err_cap);
	if (rc < 0)
		return rc;
	bool ready = pg_wait_in_production(db, deadline);
	if (!ready && !db_wait_for_role(db, deadline, DB_ROLE_PRIMARY, &st))
		return err_fail(err, err_cap, -ETIMEDOUT, "server is \"%s\" after promotion",
				db_role_name(st.role));
	return promoted_config(db, err, err_cap);
}

static int pg_follow(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
		     size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	db_set_upstream(db, primary);
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_pg_get_status(db, &st);
	if (st.role == DB_ROLE_PRIMARY) {
		/* Demote: a primary cannot become a replica without a restart. */
		int rc = pg_stop(db, DB_STOP_FAST, timeout_ms, err, err_cap);
		if (rc < 0)
			return rc;
		int64_t left = deadline - clock_mono_ms();
		return pg_start(db, DB_START_REPLICA, primary, 0, left > 0 ? left : 0, err,
				err_cap);
	}
	bool changed = false;
	int rc = db_pg_write_config(db, true, &changed, err, err_cap);
	if (rc < 0)
		return rc;
	if (!st.running || !changed)
		return 0;
	return pg_reload(db, timeout_ms, err, err_cap);
}

static int pg_apply_parameters(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	return rewrite_and_reload(db, timeout_ms, err, err_cap);
}

static int pg_set_sync_standbys(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	return rewrite_and_reload(db, timeout_ms, err, err_cap);
}

static int pg_ensure_slots(struct db *db, const char names[][MEMBER_NAME_MAX], int count,
			   int64_t timeout_ms, char *err, size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	char want[DB_SLOTS_MAX][DB_NAME_MAX];
	int nwant = 0;
	char own[DB_NAME_MAX];
	if (db_slot_name(db->opts.name, own, sizeof(own)) < 0)
		return err_fail(err, err_cap, -EINVAL, "invalid member name");
	for (int i = 0; i < count; i++) {
		char s[DB_NAME_MAX];
		if (db_slot_name(names[i], s, sizeof(s)) < 0)
			return err_fail(err, err_cap, -EINVAL, "invalid member name \"%s\"",
					names[i]);
		if (strcmp(s, own) == 0)
			continue;
		bool dup = false;
		for (int j = 0; j < nwant; j++)
			dup = dup || strcmp(want[j], s) == 0;
		if (!dup)
			memcpy(want[nwant++], s, sizeof(s));
	}
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	PGresult *res = NULL;
	rc = db_sql_query(conn, db_pg_slots_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		goto out_finish;
	bool have[DB_SLOTS_MAX] = { false };
	char sql[DB_PG_SQL_MAX];
	for (int r = 0; r < db_pq->PQntuples(res) && rc == 0; r++) {
		const char *name = db_pq->PQgetvalue(res, r, 0);
		bool active = strcmp(db_pq->PQgetvalue(res, r, 1), "t") == 0;
		bool logical = strcmp(db_pq->PQgetvalue(res, r, 3), "t") == 0;
		bool wanted = logical; /* physical slots only */
		for (int j = 0; j < nwant; j++) {
			if (strcmp(want[j], name) == 0) {
				have[j] = true;
				wanted = true;
			}
		}
		if (wanted || active)
			continue;
		char *lit = db_pq->PQescapeLiteral(conn, name, strlen(name));
		if (!lit) {
			rc = err_fail(err, err_cap, -ENOMEM, "could not quote slot name");
			break;
		}
		if (buf_format(sql, sizeof(sql), "SELECT pg_catalog.pg_drop_replication_slot(%s)",
			       lit) != 0)
			rc = err_fail(err, err_cap, -ENAMETOOLONG, "slot name too long");
		db_pq->PQfreemem(lit);
		if (rc == 0)
			rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	}
	db_pq->PQclear(res);
	for (int j = 0; j < nwant && rc == 0; j++) {
		if (have[j])
			continue;
		/* Slot names are [a-z0-9_] by construction: no quoting issue. */
		if (buf_format(sql, sizeof(sql),
			       "SELECT pg_catalog.pg_create_physical_replication_slot('%s', true)",
			       want[j]) != 0) {
			rc = err_fail(err, err_cap, -ENAMETOOLONG, "slot name too long");
			break;
		}
		rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	}
out_finish:
	db_pq->PQfinish(conn);
	return rc;
}

/* Creates a logical slot in its database (a connection of its own). */
static int create_logical_slot(struct db *db, const struct db_slot_spec *s, int64_t deadline,
			       char *err, size_t err_cap)
{
	char sql[DB_PG_SQL_MAX];
	PGconn *conn;
	int rc = db_sql_connect(db, s->database, deadline, &conn, err, err_cap);

	if (rc < 0)
		return rc;
	char *plugin = db_pq->PQescapeLiteral(conn, s->plugin, strlen(s->plugin));
	if (!plugin) {
		rc = err_fail(err, err_cap, -ENOMEM, "could not quote plugin name");
		goto out_finish;
	}
	/* Slot names are [a-z0-9_] (db.c checked): no quoting issue. */
	if (buf_format(sql, sizeof(sql),
		       "SELECT pg_catalog.pg_create_logical_replication_slot('%s', %s)"
		       " WHERE NOT pg_catalog.pg_is_in_recovery() AND NOT EXISTS (SELECT 1"
		       " FROM pg_catalog.pg_replication_slots WHERE slot_name = '%s')",
		       s->name, plugin, s->name) != 0)
		rc = err_fail(err, err_cap, -ENAMETOOLONG, "slot name too long");
	db_pq->PQfreemem(plugin);
	if (rc == 0)
		rc = db_sql_exec(conn, sql, deadline, err, err_cap);
out_finish:
	db_pq->PQfinish(conn);
	return rc;
}

static int pg_apply_slots(struct db *db, const struct db_slot_spec *create, int create_count,
			  const char (*drop)[DB_NAME_MAX], int drop_count, int64_t timeout_ms,
			  char *err, size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	char sql[DB_PG_SQL_MAX];
	int first = 0;
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);

	if (rc < 0)
		return rc;
	for (int i = 0; i < drop_count; i++) {
		char *lit = db_pq->PQescapeLiteral(conn, drop[i], strlen(drop[i]));

		char *e = first ? NULL : err;
		size_t e_cap = first ? 0 : err_cap;

		if (!lit) {
			rc = err_fail(e, e_cap, -ENOMEM, "could not quote slot name");
		} else {
			rc = buf_format(sql, sizeof(sql),
					"SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
					" FROM pg_catalog.pg_replication_slots"
					" WHERE slot_name = %s AND NOT active",
					lit) != 0
				     ? err_fail(e, e_cap, -ENAMETOOLONG, "slot name too long")
				     : db_sql_exec(conn, sql, deadline, e, e_cap);
			db_pq->PQfreemem(lit);
		}
		first = first ? first : rc;
	}
	for (int i = 0; i < create_count; i++) {
		if (create[i].logical) {
			rc = create_logical_slot(db, &create[i], deadline, first ? NULL : err,
						 first ? 0 : err_cap);
		} else {
			rc = buf_format(
				     sql, sizeof(sql),
				     "SELECT pg_catalog.pg_create_physical_replication_slot('%s', "
				     "true) WHERE NOT EXISTS (SELECT 1 FROM "
				     "pg_catalog.pg_replication_slots WHERE slot_name = '%s')",
				     create[i].name, create[i].name) != 0
				     ? err_fail(first ? NULL : err, first ? 0 : err_cap,
						-ENAMETOOLONG, "slot name too long")
				     : db_sql_exec(conn, sql, deadline, first ? NULL : err,
						   first ? 0 : err_cap);
		}
		first = first ? first : rc;
	}
	db_pq->PQfinish(conn);
	return first;
}

/* Gives a connection of advance_all back: to the kept status connection when it came from it. */
static void release_conn(struct db *db, PGconn *conn, bool borrowed, bool ok)
{
	if (borrowed)
		db_sql_kept_give(db_pg_status_conn(db), conn, ok);
	else if (conn)
		db_pq->PQfinish(conn);
}

/* pg_advance_slots' statements; physical slots through the kept status connection when
 * use_kept and it is there (no connection a cycle on a replica). *used_kept says it was. */
static int advance_all(struct db *db, const struct db_slot_target *targets, int count,
		       int64_t deadline, bool use_kept, bool *used_kept, char *err, size_t err_cap)
{
	PGconn *conn = NULL;
	bool borrowed = false;
	int rc = 0;
	char sql[DB_PG_SQL_MAX];
	const char *connected = NULL; /* the database conn is connected to ("" the default) */
	*used_kept = false;
	for (int i = 0; i < count && rc == 0; i++) {
		const struct db_slot_target *t = &targets[i];
		bool logical = t->database[0] != '\0';
		if (!conn || strcmp(connected, t->database) != 0) {
			release_conn(db, conn, borrowed, true);
			conn = NULL;
			borrowed = false;
			if (!logical && use_kept)
				conn = db_sql_kept_take(db_pg_status_conn(db));
			if (conn) {
				borrowed = true;
				*used_kept = true;
			} else {
				rc = db_sql_connect(db, logical ? t->database : NULL, deadline,
						    &conn, err, err_cap);
				if (rc < 0)
					break;
			}
			connected = t->database;
		}
		char lsn[LSN_TEXT_MAX];
		lsn_format(t->lsn, lsn);
		char *name = db_pq->PQescapeLiteral(conn, t->name, strlen(t->name));
		if (!name) {
			rc = err_fail(err, err_cap, -ENOMEM, "could not quote slot name");
			break;
		}
		if (buf_format(
			    sql, sizeof(sql),
			    "SELECT pg_catalog.pg_replication_slot_advance(slot_name, '%s')"
			    " FROM pg_catalog.pg_replication_slots WHERE slot_name = %s"
			    " AND slot_type = '%s' AND NOT active AND %s < '%s'::pg_catalog.pg_lsn",
			    lsn, name, logical ? "logical" : "physical",
			    logical ? "confirmed_flush_lsn" : "restart_lsn", lsn) != 0)
			rc = err_fail(err, err_cap, -ENAMETOOLONG, "slot name too long");
		db_pq->PQfreemem(name);
		if (rc == 0)
			rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	}
	release_conn(db, conn, borrowed, rc == 0);
	return rc;
}

/* One statement per slot, each a no-op unless the slot exists, is idle and is behind. A logical
 * slot moves through a connection to its own database. Physical slots use the kept status
 * connection; when that fails (a server restarted since the last status read), they are tried
 * once more over a fresh connection: the statements are idempotent. A timeout is not retried. */
static int pg_advance_slots(struct db *db, const struct db_slot_target *targets, int count,
			    int64_t timeout_ms, char *err, size_t err_cap)
{
	if (count == 0)
		return 0;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	bool used_kept;
	int rc = advance_all(db, targets, count, deadline, true, &used_kept, err, err_cap);
	if (rc < 0 && rc != -ETIMEDOUT && used_kept)
		rc = advance_all(db, targets, count, deadline, false, &used_kept, err, err_cap);
	return rc;
}

static int pg_copy_logical_slots(struct db *db, const struct db_peer *primary,
				 const char (*names)[DB_NAME_MAX], int count, int64_t timeout_ms,
				 int *copied, char *err, size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_pg_slot_state *states = calloc((size_t)count, sizeof(*states));
	int n = 0, rc;

	if (!states)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	if (!db_server_running(db)) {
		rc = err_fail(err, err_cap, -ESRCH, "server is not running");
		goto out_free;
	}
	rc = db_pg_fetch_slot_states(db, primary, names, count, deadline, states, &n, err, err_cap);
	if (rc < 0 || n == 0)
		goto out_free;
	int64_t left = deadline - clock_mono_ms();
	rc = pg_stop(db, DB_STOP_FAST, left > 1000 ? left : 1000, err, err_cap);
	if (rc < 0)
		goto out_free;
	rc = db_pg_install_slot_states(db, states, n, err, err_cap);
	/* Started again whatever happened: the configuration on disk is current. */
	left = deadline - clock_mono_ms();
	int start_rc = run_pg_ctl_start(db, left > 1000 ? left : 1000, rc < 0 ? NULL : err,
					rc < 0 ? 0 : err_cap);
	if (rc == 0)
		rc = start_rc;
	if (rc == 0)
		*copied = n;
out_free:
	free(states);
	return rc;
}

static int pg_checkpoint(struct db *db, uint64_t *out_lsn, int64_t timeout_ms, char *err,
			 size_t err_cap)
{
	return db_sql_checkpoint(db, DB_PG_CHECKPOINT_SQL, clock_mono_ms() + timeout_ms, out_lsn,
				 err, err_cap);
}

static int pg_check_options(const struct db_options *o, char *err, size_t err_cap)
{
	/* Streaming, cloning and pg_basebackup all connect as this user (openGauss replicates as
	 * its initial user instead, so the check lives here). */
	if (!o->replication.username[0])
		return err_fail(err, err_cap, -EINVAL,
				"\"postgresql.authentication.replication.username\" is required");
	return db_check_bin(o, "pg_ctl", err, err_cap);
}

const struct db_driver db_postgres_driver = {
	.name = "postgres",
	.check_options = pg_check_options,
	.get_status = db_pg_get_status,
	.read_control = db_pg_read_control,
	.begin_bootstrap = db_pg_begin_bootstrap,
	.begin_create_replica = db_pg_begin_create_replica,
	.begin_rejoin = db_pg_begin_rejoin,
	.task_step = db_pg_task_step,
	.start = pg_start,
	.stop = pg_stop,
	.restart = pg_restart,
	.reload = pg_reload,
	.promote = pg_promote,
	.follow = pg_follow,
	.apply_parameters = pg_apply_parameters,
	.set_sync_standbys = pg_set_sync_standbys,
	.ensure_slots = pg_ensure_slots,
	.apply_slots = pg_apply_slots,
	.copy_logical_slots = pg_copy_logical_slots,
	.peer_slot_xmins = db_pg_peer_slot_xmins,
	.peer_rewind_ready = db_pg_peer_rewind_ready,
	.advance_slots = pg_advance_slots,
	.checkpoint = pg_checkpoint,
	.reserve_timelines = db_pg_reserve_timelines,
	.fence = db_fence_postmaster,
	.set_peers = NULL, /* streaming needs only the primary, from follow/start */
	.free_priv = db_pg_free_priv,
};
