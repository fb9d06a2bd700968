/*
 * db_postgres_task.c - the PostgreSQL driver's long actions, run as background tasks of child
 * processes (db.c polls them): bootstrap (initdb, start, the users), create replica
 * (pg_basebackup, configure, start) and rejoin (stop, pg_rewind or a new copy, start).
 */
#include "db_postgres.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Longest argument we render for a command line (--source-server=...). */
#define PG_ARG_MAX (DB_CONNINFO_MAX + 32)

enum pg_task_kind {
	PG_TASK_BOOTSTRAP = 1,
	PG_TASK_CLONE,
	PG_TASK_REJOIN,
};

enum pg_step {
	PG_STEP_INITDB = 0,    /* bootstrap: initdb is running */
	PG_STEP_BOOT_START,    /* bootstrap: pg_ctl start -w is running; then the users */
	PG_STEP_CLONE_COPY,    /* clone: pg_basebackup is running */
	PG_STEP_CLONE_START,   /* clone/rejoin: pg_ctl start is running */
	PG_STEP_REJOIN_STOP,   /* rejoin: pg_ctl stop is running */
	PG_STEP_REJOIN_REWIND, /* rejoin: pg_rewind is running */
};

/* --- Bootstrap, clone, rejoin ------------------------------------------------------------------ */

int db_pg_begin_bootstrap(struct db *db, char *err, size_t err_cap)
{
	int rc = db_check_bootstrap_dir(db, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.kind = PG_TASK_BOOTSTRAP;
	db->task.step = PG_STEP_INITDB;
	char pw_arg[DB_DATA_PATH_MAX + 16];
	char prog[DB_PATH_MAX];
	char user_arg[DB_NAME_MAX + 16];
	if (db_bin_path(db, "initdb", prog, sizeof(prog)) < 0 ||
	    buf_format(user_arg, sizeof(user_arg), "--username=%s", db->opts.superuser.username) !=
		    0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path too long");
	const char *argv[PROC_ARGV_MAX];
	int n = 0;
	argv[n++] = prog;
	argv[n++] = "-D";
	argv[n++] = db->opts.data_dir;
	argv[n++] = user_arg;
	rc = db_write_pwfile(db, pw_arg, sizeof(pw_arg), err, err_cap);
	if (rc < 0)
		return rc;
	if (rc == 1)
		argv[n++] = pw_arg;
	argv[n] = NULL;
	char storage[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_ARG_MAX];
	if (db_add_tool_options(storage, argv, &n, PROC_ARGV_MAX, db->opts.initdb_options,
				db->opts.initdb_option_count) < 0) {
		db_remove_pwfile(db);
		return err_fail(err, err_cap, -E2BIG, "bad initdb options");
	}
	rc = db_task_spawn(db, argv, err, err_cap);
	if (rc != -EINPROGRESS)
		db_remove_pwfile(db);
	return rc;
}

/* Creates the replication and rewind users and the rewind grants pg_rewind needs. */
static int create_users(struct db *db, char *err, size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + db->opts.command_timeout_ms;
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	const struct db_user *users[] = { &db->opts.replication, &db->opts.rewind };
	const char *attrs[] = { "REPLICATION LOGIN", "LOGIN" };
	for (int i = 0; i < 2 && rc == 0; i++) {
		const struct db_user *u = users[i];
		if (strcmp(u->username, db->opts.superuser.username) == 0)
			continue;
		if (i == 1 && strcmp(u->username, db->opts.replication.username) == 0)
			continue;
		char *ident = PQescapeIdentifier(conn, u->username, strlen(u->username));
		/* The server gets the password hashed as its password_encryption says (SCRAM or
		 * MD5), never in clear: log_statement = ddl would log it, and so would an error. */
		char *hashed = u->password[0]
				       ? PQencryptPasswordConn(conn, u->password, u->username, NULL)
				       : NULL;
		char *pw = hashed ? PQescapeLiteral(conn, hashed, strlen(hashed)) : NULL;
		if (hashed)
			PQfreemem(hashed);
		char sql[DB_PG_SQL_MAX];
		if (!ident || (u->password[0] && !pw) ||
		    buf_format(sql, sizeof(sql), "CREATE ROLE %s WITH %s%s%s", ident, attrs[i],
			       pw ? " PASSWORD " : "", pw ? pw : "") != 0)
			rc = err_fail(err, err_cap, -ENOMEM, "could not render CREATE ROLE");
		if (rc == 0)
			rc = db_sql_exec(conn, sql, deadline, err, err_cap);
		static const char *const grants[] = {
			"GRANT EXECUTE ON function pg_catalog.pg_ls_dir(text, boolean, boolean) TO "
			"%s",
			"GRANT EXECUTE ON function pg_catalog.pg_stat_file(text, boolean) TO %s",
			"GRANT EXECUTE ON function pg_catalog.pg_read_binary_file(text) TO %s",
			"GRANT EXECUTE ON function pg_catalog.pg_read_binary_file(text, bigint, "
			"bigint, boolean) TO %s",
		};
		for (size_t g = 0; i == 1 && rc == 0 && g < sizeof(grants) / sizeof(grants[0]);
		     g++) {
			int n = snprintf(sql, sizeof(sql), grants[g], ident);
			if (n < 0 || (size_t)n >= sizeof(sql))
				rc = err_fail(err, err_cap, -ENAMETOOLONG, "user name too long");
			else
				rc = db_sql_exec(conn, sql, deadline, err, err_cap);
		}
		PQfreemem(ident);
		if (pw)
			PQfreemem(pw);
	}
	PQfinish(conn);
	return rc;
}

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

int db_pg_begin_create_replica(struct db *db, char *err, size_t err_cap)
{
	int rc = db_prepare_clone_dir(db, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.kind = PG_TASK_CLONE;
	return spawn_basebackup(db, &db->task.source, err, err_cap);
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
	return spawn_basebackup(db, &db->task.primary, err, err_cap);
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

/* Configures the fresh copy as a replica of the task's primary and launches it. */
static int configure_and_start_replica(struct db *db, char *err, size_t err_cap)
{
	db_set_upstream(db, &db->task.primary);
	int rc = db_pg_write_config(db, true, NULL, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.step = PG_STEP_CLONE_START;
	return db_pg_spawn_start(db, err, err_cap);
}

int db_pg_task_step(struct db *db, char *err, size_t err_cap)
{
	int rc;
	switch (db->task.step) {
	case PG_STEP_INITDB:
		rc = db_task_reap(db, err, err_cap);
		db_remove_pwfile(db);
		if (rc < 0) {
			char why[DB_ERROR_MAX];
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after initdb: %s", why);
			return rc;
		}
		rc = db_pg_write_config(db, false, NULL, err, err_cap);
		if (rc < 0)
			return rc;
		db->task.step = PG_STEP_BOOT_START;
		return db_pg_spawn_start(db, err, err_cap);
	case PG_STEP_BOOT_START: {
		char why[DB_ERROR_MAX];
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0) {
			char tail[DB_PG_LOG_TAIL_MAX];
			db_pg_log_tail(db, tail, sizeof(tail));
			return err_fail(err, err_cap, rc, "new cluster did not start: %s",
					tail[0] ? tail : why);
		}
		return create_users(db, err, err_cap);
	}
	case PG_STEP_CLONE_COPY:
		rc = db_task_reap(db, err, err_cap);
		if (rc < 0) {
			char why[DB_ERROR_MAX];
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after a failed clone: %s", why);
			return rc;
		}
		return configure_and_start_replica(db, err, err_cap);
	case PG_STEP_CLONE_START:
		return db_task_reap(db, err, err_cap);
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
		return configure_and_start_replica(db, err, err_cap);
	}
	default:
		return err_fail(err, err_cap, -EINVAL, "unknown task step %d", db->task.step);
	}
}
