/*
 * db_postgres_task.c - the PostgreSQL driver's long actions, run as background tasks of child
 * processes (db.c polls them): create replica (the replica methods in turn: pg_basebackup or a
 * custom command; configure, start) and rejoin (stop, pg_rewind or a new copy, start). The
 * bootstrap is db_postgres_boot.c's.
 */
#include "db_postgres.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"
#include "log.h"
#include "num.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Between Patroni's two pg_basebackup attempts. */
#define PG_BASEBACKUP_RETRY_MS 5000
/* Longest argument we render for a command line (--source-server=...). */
#define PG_ARG_MAX (DB_CONNINFO_MAX + 32)

enum pg_task_kind {
	PG_TASK_CLONE = DB_PG_TASK_BOOTSTRAP + 1,
	PG_TASK_REJOIN,
};

/* The bootstrap's steps are db_postgres_boot.c's own. */
enum pg_step {
	PG_STEP_CLONE_COPY = 0, /* clone: pg_basebackup is running */
	PG_STEP_CLONE_START,	/* clone/rejoin: pg_ctl start is running */
	PG_STEP_REJOIN_STOP,	/* rejoin: pg_ctl stop is running */
	PG_STEP_REJOIN_REWIND,	/* rejoin: pg_rewind is running */
	PG_STEP_CLONE_METHOD,	/* clone: a custom replica method's command is running */
	PG_STEP_CLONE_RETRY,	/* clone: waiting to run pg_basebackup a second time */
};

/* --- Bootstrap, clone, rejoin ------------------------------------------------------------------ */

static int spawn_basebackup(struct db *db, const struct db_peer *source, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	char ci[DB_CONNINFO_MAX];
	if (db_bin_path(db, "pg_basebackup", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	if (db_pg_conninfo(db, source, &db->opts.replication, NULL, ci, sizeof(ci)) < 0)
		return err_fail(err, err_cap, -ENOBUFS, "clone source conninfo too long");
	int rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	const char *argv[PROC_ARGV_MAX];
	int n = 0;
	argv[n++] = prog;
	argv[n++] = "-D";
	argv[n++] = db->opts.data_dir;
	argv[n++] = "-d";
	argv[n++] = ci;
	argv[n++] = "-X";
	argv[n++] = "stream";
	argv[n++] = "--progress";
	argv[n++] = "--verbose";
	argv[n++] = "--no-password";
	argv[n] = NULL;
	char storage[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_ARG_MAX];
	if (db_add_tool_options(storage, argv, &n, PROC_ARGV_MAX, db->opts.basebackup_options,
				db->opts.basebackup_option_count) < 0)
		return err_fail(err, err_cap, -E2BIG, "bad basebackup options");
	db->task.kind = db->task.kind ? db->task.kind : PG_TASK_CLONE;
	db->task.step = PG_STEP_CLONE_COPY;
	return db_task_spawn(db, argv, err, err_cap);
}

/* Patroni's --connstring: the source's replication conninfo without the password (format_dsn
 * of conn_kwargs: dbname, user, host, port; values with a quote, backslash or space escaped with
 * a backslash). */
static int method_connstring(const struct db *db, char *out, size_t cap)
{
	char port[16];
	const char *keys[] = { "dbname", "user", "host", "port" };
	const char *values[] = { "postgres", db->opts.replication.username, db->task.source.host,
				 port };
	size_t len = 0;

	if (buf_format(port, sizeof(port), "%d", db->task.source.port) != 0 || cap == 0)
		return -ENOBUFS;
	out[0] = '\0';
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!values[k][0])
			continue;
		int n = snprintf(out + len, cap - len, "%s%s=", len ? " " : "", keys[k]);
		if (n < 0 || (size_t)n >= cap - len)
			return -ENOBUFS;
		len += (size_t)n;
		for (const char *c = values[k]; *c; c++) {
			if (len + 3 >= cap)
				return -ENOBUFS;
			if (*c == '\'' || *c == '\\' || *c == ' ')
				out[len++] = '\\';
			out[len++] = *c;
		}
		out[len] = '\0';
	}
	return 0;
}

/* Empties the data directory before a method, unless it keeps the data. */
static int clear_for_method(struct db *db, const struct db_method *m, char *err, size_t err_cap)
{
	if (m->keep_data && !db_method_is_basebackup(m))
		return 0;
	if (db_dir_empty(db->opts.data_dir))
		return 0;
	return db_clear_dir(db->opts.data_dir, err, err_cap);
}

/* Starts a custom replica method's command (Patroni's create_replica for a method other than
 * basebackup). */
static int spawn_custom_method(struct db *db, const struct db_method *m, char *err, size_t err_cap)
{
	char connstring[DB_CONNINFO_MAX];
	char store[DB_CONNINFO_MAX + DB_METHOD_OPTIONS_MAX * (DB_TOOL_OPTION_MAX + 2) + 256 +
		   DB_PATH_MAX];
	const char *argv[PROC_ARGV_MAX];

	connstring[0] = '\0';
	if (db->task.has_source && method_connstring(db, connstring, sizeof(connstring)) < 0)
		return err_fail(err, err_cap, -ENOBUFS, "clone source conninfo too long");
	int rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	if (db_method_replica_argv(m, db->opts.scope, db->opts.data_dir, connstring, store,
				   sizeof(store), argv, PROC_ARGV_MAX) < 0)
		return err_fail(err, err_cap, -E2BIG, "replica method \"%s\": too many arguments",
				m->name);
	log_debug("replica method \"%s\": running %s", m->name, argv[0]);
	db->task.step = PG_STEP_CLONE_METHOD;
	return db_task_spawn(db, argv, err, err_cap);
}

/* Starts the first method at or after from that can run; one that cannot even start counts as
 * failed and the next one is tried. Returns -EINPROGRESS, or the last failure when no method
 * is left (why_rc/why: the failure that led here, when there was one). */
static int try_methods(struct db *db, int from, int why_rc, const char *why, char *err,
		       size_t err_cap)
{
	char last[DB_ERROR_MAX];
	int last_rc = why_rc;

	buf_copy_or_clear(last, sizeof(last), why ? why : "");
	for (int i = db_method_next(&db->task.methods, from, db->task.has_source); i >= 0;
	     i = db_method_next(&db->task.methods, i + 1, db->task.has_source)) {
		const struct db_method *m = &db->task.methods.items[i];
		int rc;

		db->task.method = i;
		db->task.basebackup_failures = 0;
		rc = clear_for_method(db, m, last, sizeof(last));
		if (rc == 0)
			rc = db_method_is_basebackup(m)
				     ? spawn_basebackup(db, &db->task.source, last, sizeof(last))
				     : spawn_custom_method(db, m, last, sizeof(last));
		if (rc == -EINPROGRESS)
			return rc;
		last_rc = rc;
		/* A warning from the leaf, as warn_unwritable_params: Patroni logs every failed
		 * method, and without it a fallback would hide why the first one failed. */
		log_warning("replica method \"%s\" failed: %s", m->name, last);
	}
	if (last_rc == 0)
		return err_fail(err, err_cap, -ENOENT, "no replica method can run");
	return err_fail(err, err_cap, last_rc, "%s", last);
}

/* The running method failed with rc and why: clean up after it and try the next one. */
static int method_failed(struct db *db, int rc, const char *why, char *err, size_t err_cap)
{
	const struct db_method *m = &db->task.methods.items[db->task.method];
	char clean[DB_ERROR_MAX];

	/* Patroni runs pg_basebackup twice, 5 s apart, before it gives the method up. */
	if (db_method_is_basebackup(m) && db->task.basebackup_failures++ == 0) {
		log_warning("%s; trying again in %d seconds", why, PG_BASEBACKUP_RETRY_MS / 1000);
		db->task.retry_at_ms = clock_mono_ms() + PG_BASEBACKUP_RETRY_MS;
		db->task.step = PG_STEP_CLONE_RETRY;
		return -EINPROGRESS;
	}
	db->task.basebackup_failures = 0;
	if (clear_for_method(db, m, clean, sizeof(clean)) < 0)
		log_debug("could not clean up after replica method \"%s\": %s", m->name, clean);
	if (db_method_next(&db->task.methods, db->task.method + 1, db->task.has_source) >= 0)
		log_warning("replica method \"%s\" failed: %s; trying the next one", m->name, why);
	return try_methods(db, db->task.method + 1, rc, why, err, err_cap);
}

int db_pg_begin_create_replica(struct db *db, char *err, size_t err_cap)
{
	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "a server is running in \"%s\"",
				db->opts.data_dir);
	if (!db->task.replace_existing && !db_dir_empty(db->opts.data_dir))
		return err_fail(err, err_cap, -EEXIST, "data directory \"%s\" is not empty",
				db->opts.data_dir);
	db->task.kind = PG_TASK_CLONE;
	return try_methods(db, 0, 0, NULL, err, err_cap);
}

/* Patroni's check_leader_has_run_checkpoint, with both timelines for the message; the CASE
 * keeps pg_walfile_name (an error during recovery) off a server still in recovery. */
static const char rewind_ready_sql[] = "SELECT pg_catalog.pg_is_in_recovery(), c.timeline_id,"
				       " CASE WHEN pg_catalog.pg_is_in_recovery() THEN 0"
				       " ELSE ('x' || pg_catalog.substr(pg_catalog.pg_walfile_name("
				       "pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
				       " FROM pg_catalog.pg_control_checkpoint() c";

int db_pg_peer_rewind_ready(struct db *db, const struct db_peer *primary, int64_t timeout_ms,
			    bool *ready, uint32_t *checkpoint_tli, uint32_t *tli, char *err,
			    size_t err_cap)
{
	char ci[DB_CONNINFO_MAX];
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int ckpt = 0, cur = 0;
	PGresult *res;
	PGconn *conn;
	if (db_pg_conninfo(db, primary, &db->opts.rewind, "postgres", ci, sizeof(ci)) < 0)
		return err_fail(err, err_cap, -ENOBUFS, "rewind source conninfo too long");
	int rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_sql_connect_conninfo(ci, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_sql_one_row(conn, rewind_ready_sql, 3, deadline, &res, err, err_cap);
	db_pq->PQfinish(conn);
	if (rc < 0)
		return rc;
	const char *rec = db_sql_value(res, 0, 0), *ckpt_text = db_sql_value(res, 0, 1),
		   *cur_text = db_sql_value(res, 0, 2);
	if (!rec || !ckpt_text || !cur_text || num_parse_int(ckpt_text, 0, INT_MAX, &ckpt) < 0 ||
	    num_parse_int(cur_text, 0, INT_MAX, &cur) < 0)
		rc = err_fail(err, err_cap, -EIO, "unexpected answer from the rewind source");
	else {
		*checkpoint_tli = (uint32_t)ckpt;
		*tli = (uint32_t)cur;
		*ready = strcmp(rec, "f") == 0 && ckpt == cur;
	}
	db_pq->PQclear(res);
	return rc;
}

static int spawn_rewind(struct db *db, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	char ci[DB_CONNINFO_MAX];
	char arg[PG_ARG_MAX];
	if (db_bin_path(db, "pg_rewind", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	if (db_pg_conninfo(db, &db->task.primary, &db->opts.rewind, "postgres", ci, sizeof(ci)) <
		    0 ||
	    buf_format(arg, sizeof(arg), "--source-server=%s", ci) != 0)
		return err_fail(err, err_cap, -ENOBUFS, "rewind source conninfo too long");
	int rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	/* pg_rewind finishes crash recovery in single-user mode first, which refuses to run with
	 * standby.signal (a replica that crashed). Set it aside; it comes back either way: from
	 * configure_and_start_replica, or below when the rewind fails. */
	char signal_path[DB_DATA_PATH_MAX];
	if (db_data_path(db, "standby.signal", signal_path, sizeof(signal_path)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "data directory path too long");
	/* The caller waited for the source's checkpoint after its promotion; it is checked again
	 * here, after the stop. A source whose pg_control is still on an older timeline would
	 * find "no rewind required" and leave this server on the wrong timeline: -EAGAIN, the
	 * rejoin is retried. A source that cannot be asked is left to pg_rewind's own errors. */
	bool ready = true;
	uint32_t ckpt_tli = 0, src_tli = 0;
	char why[DB_ERROR_MAX];
	if (db_pg_peer_rewind_ready(db, &db->task.primary, db->opts.connect_timeout_ms, &ready,
				    &ckpt_tli, &src_tli, why, sizeof(why)) == 0 &&
	    !ready)
		return err_fail(err, err_cap, -EAGAIN,
				"the rewind source's pg_control is on timeline %u, it writes "
				"timeline %u: its checkpoint after promotion has not finished",
				ckpt_tli, src_tli);
	if (unlink(signal_path) == 0)
		db->task.standby_signal_moved = true;
	else if (errno != ENOENT)
		return err_fail(err, err_cap, -errno, "could not remove \"%s\": %s", signal_path,
				strerror(errno));
	const char *argv[] = { prog, "-D", db->opts.data_dir, arg, "--progress", NULL };
	db->task.step = PG_STEP_REJOIN_REWIND;
	db->task.attempts++;
	return db_task_spawn(db, argv, err, err_cap);
}

/* Rewind is not possible or failed: clone again when the configuration allows it. */
static int reclone_or_fail(struct db *db, int why_rc, const char *why, char *err, size_t err_cap)
{
	if (!db_reclone_allowed(db))
		return err_fail(err, err_cap, why_rc, "%s", why);
	log_debug("rejoin: %s; removing \"%s\" to clone it again", why, db->opts.data_dir);
	int rc = db_clear_dir(db->opts.data_dir, err, err_cap);
	if (rc < 0)
		return rc;
	/* A new copy is made as a new replica is: by the configured methods, from the primary. */
	db->task.methods = db->opts.replica_methods;
	if (db->task.methods.count == 0) {
		db->task.methods.count = 1;
		buf_copy_or_clear(db->task.methods.items[0].name,
				  sizeof(db->task.methods.items[0].name), "basebackup");
	}
	db->task.source = db->task.primary;
	db->task.has_source = true;
	return try_methods(db, 0, 0, NULL, err, err_cap);
}

static int rejoin_after_stop(struct db *db, char *err, size_t err_cap)
{
	if (db->opts.use_pg_rewind)
		return spawn_rewind(db, err, err_cap);
	return reclone_or_fail(db, -ENOTSUP, "use_pg_rewind is off", err, err_cap);
}

int db_pg_begin_rejoin(struct db *db, char *err, size_t err_cap)
{
	int rc = db_check_rejoin(db, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.kind = PG_TASK_REJOIN;
	if (db_server_running(db)) {
		char prog[DB_PATH_MAX];
		char secs[32];
		if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0 ||
		    buf_format(secs, sizeof(secs), "%lld",
			       (long long)db_secs_of(db->opts.command_timeout_ms)) != 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
		const char *argv[] = { prog, "stop", "-D", db->opts.data_dir, "-m", "fast", "-w",
				       "-t", secs,   NULL };
		db->task.step = PG_STEP_REJOIN_STOP;
		return db_task_spawn(db, argv, err, err_cap);
	}
	return rejoin_after_stop(db, err, err_cap);
}

/* Configures the fresh copy as a replica of primary (NULL: none yet) and launches it. */
static int configure_and_start_replica(struct db *db, const struct db_peer *primary, char *err,
				       size_t err_cap)
{
	/* Patroni's _post_restore: a promote trigger file restored with the data would promote
	 * the new replica at once. */
	char trigger[DB_DATA_PATH_MAX];
	if (db_data_path(db, "promote", trigger, sizeof(trigger)) == 0)
		(void)unlink(trigger);
	db_set_upstream(db, primary);
	int rc = db_pg_write_config(db, true, NULL, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.step = PG_STEP_CLONE_START;
	return db_pg_spawn_start(db, err, err_cap);
}

int db_pg_task_step(struct db *db, char *err, size_t err_cap)
{
	int rc;
	if (db->task.kind == DB_PG_TASK_BOOTSTRAP)
		return db_pg_boot_step(db, err, err_cap);
	switch (db->task.step) {
	case PG_STEP_CLONE_COPY:
	case PG_STEP_CLONE_METHOD: {
		char why[DB_ERROR_MAX];
		const char *name = db->task.methods.items[db->task.method].name;
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0)
			return method_failed(db, rc, why, err, err_cap);
		if (!db_data_file_exists(db, "PG_VERSION"))
			return method_failed(db, -EIO, "it exited 0 but left no PG_VERSION", err,
					     err_cap);
		log_info("replica has been created using %s", name);
		if (!db->task.has_primary)
			return configure_and_start_replica(db, NULL, err, err_cap);
		return configure_and_start_replica(db, &db->task.primary, err, err_cap);
	}
	case PG_STEP_CLONE_RETRY: {
		const struct db_method *m = &db->task.methods.items[db->task.method];
		char why[DB_ERROR_MAX];
		if (clock_mono_ms() < db->task.retry_at_ms)
			return -EINPROGRESS;
		rc = clear_for_method(db, m, why, sizeof(why));
		if (rc == 0)
			rc = spawn_basebackup(db, &db->task.source, why, sizeof(why));
		if (rc == -EINPROGRESS)
			return rc;
		return method_failed(db, rc, why, err, err_cap);
	}
	case PG_STEP_CLONE_START: {
		char why[DB_ERROR_MAX];
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0) {
			char tail[DB_PG_LOG_TAIL_MAX];
			db_pg_log_tail(db, tail, sizeof(tail));
			return err_fail(err, err_cap, rc, "the new replica did not start: %s",
					tail[0] ? tail : why);
		}
		return 0;
	}
	case PG_STEP_REJOIN_STOP:
		rc = db_task_reap(db, err, err_cap);
		if (rc < 0)
			return rc;
		return rejoin_after_stop(db, err, err_cap);
	case PG_STEP_REJOIN_REWIND: {
		char why[DB_ERROR_MAX];
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0) {
			char signal_path[DB_DATA_PATH_MAX];
			if (db->task.standby_signal_moved &&
			    db_data_path(db, "standby.signal", signal_path, sizeof(signal_path)) ==
				    0) {
				int wrc = db_write_file(signal_path, "", 0600, err, err_cap);
				if (wrc < 0)
					return wrc;
				db->task.standby_signal_moved = false;
			}
			return reclone_or_fail(db, rc, why, err, err_cap);
		}
		return configure_and_start_replica(db, &db->task.primary, err, err_cap);
	}
	default:
		return err_fail(err, err_cap, -EINVAL, "unknown task step %d", db->task.step);
	}
}
