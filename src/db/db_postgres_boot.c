/*
 * db_postgres_boot.c - the PostgreSQL driver's bootstrap task: initdb, or a custom bootstrap
 * method's command (Patroni's bootstrap.method, e.g. restoring a base backup and recovering
 * to a point in time); the start, waiting out that recovery; the users; then
 * bootstrap.post_bootstrap. Patroni 4.1's patroni/postgresql/bootstrap.py is the reference.
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
#include <strings.h>
#include <unistd.h>

enum boot_step {
	BOOT_INITDB = 0, /* initdb is running */
	BOOT_START,	 /* pg_ctl start -w (or restart) is running; then the users */
	BOOT_CUSTOM,	 /* the custom bootstrap method's command is running */
	BOOT_RECOVER,	 /* the restored copy recovers to its target; waiting for a primary */
	BOOT_POST,	 /* post_bootstrap is running */
};

static bool custom_method(const struct db *db)
{
	const char *name = db->opts.bootstrap_method.method.name;
	return name[0] != '\0' && strcmp(name, "initdb") != 0;
}

static int spawn_initdb(struct db *db, char *err, size_t err_cap)
{
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
	return db_spawn_initdb(db, argv, n, BOOT_INITDB, err, err_cap);
}

static int spawn_custom(struct db *db, char *err, size_t err_cap)
{
	const struct db_method *m = &db->opts.bootstrap_method.method;
	char store[DB_METHOD_OPTIONS_MAX * (DB_TOOL_OPTION_MAX + 2) + DB_PATH_MAX + 256];
	const char *argv[PROC_ARGV_MAX];
	int rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	if (db_method_bootstrap_argv(m, db->opts.scope, db->opts.data_dir, store, sizeof(store),
				     argv, PROC_ARGV_MAX) < 0)
		return err_fail(err, err_cap, -E2BIG, "bootstrap method \"%s\": too many arguments",
				m->name);
	db->task.custom_boot = true;
	db->task.step = BOOT_CUSTOM;
	return db_task_spawn(db, argv, err, err_cap);
}

int db_pg_begin_bootstrap(struct db *db, char *err, size_t err_cap)
{
	int rc = db_check_bootstrap_dir(db, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.kind = DB_PG_TASK_BOOTSTRAP;
	db->boot_recovery = false;
	db->boot_keep_recovery = false;
	db->boot_hot_standby_off = false;
	return custom_method(db) ? spawn_custom(db, err, err_cap) : spawn_initdb(db, err, err_cap);
}

/* Creates role u with attrs, or (after a custom bootstrap, whose copy may have it already)
 * updates it: Patroni's create_or_update_role. The password goes to the server hashed as its
 * password_encryption says, never in clear: log_statement = ddl would log it, and so would an
 * error. */
static int ensure_role(struct db *db, PGconn *conn, const struct db_user *u, const char *attrs,
		       bool may_exist, int64_t deadline, char *err, size_t err_cap)
{
	char *ident = db_pq->PQescapeIdentifier(conn, u->username, strlen(u->username));
	char *name = db_pq->PQescapeLiteral(conn, u->username, strlen(u->username));
	char *hashed = u->password[0]
			       ? db_pq->PQencryptPasswordConn(conn, u->password, u->username, NULL)
			       : NULL;
	char *pw = hashed ? db_pq->PQescapeLiteral(conn, hashed, strlen(hashed)) : NULL;
	char sql[DB_PG_SQL_MAX];
	bool exists = false;
	int rc = 0;

	if (hashed)
		db_pq->PQfreemem(hashed);
	if (!ident || !name || (u->password[0] && !pw))
		rc = err_fail(err, err_cap, -ENOMEM, "could not render the role");
	if (rc == 0 && may_exist) {
		PGresult *res = NULL;
		if (buf_format(sql, sizeof(sql),
			       "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", name) != 0)
			rc = err_fail(err, err_cap, -ENAMETOOLONG, "user name too long");
		else
			rc = db_sql_query(conn, sql, deadline, &res, err, err_cap);
		if (rc == 0)
			exists = db_pq->PQntuples(res) > 0;
		db_pq->PQclear(res);
	}
	if (rc == 0 &&
	    buf_format(sql, sizeof(sql), "%s ROLE %s WITH %s%s%s", exists ? "ALTER" : "CREATE",
		       ident, attrs, pw ? " PASSWORD " : "", pw ? pw : "") != 0)
		rc = err_fail(err, err_cap, -ENOMEM, "could not render CREATE ROLE");
	if (rc == 0)
		rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	db_pq->PQfreemem(ident);
	db_pq->PQfreemem(name);
	if (pw)
		db_pq->PQfreemem(pw);
	(void)db;
	return rc;
}

/* Creates the replication and rewind users and the rewind grants pg_rewind needs; after a custom
 * bootstrap also sets the superuser's password (Patroni: the backup's may differ). */
static int create_users(struct db *db, char *err, size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + db->opts.command_timeout_ms;
	bool custom = db->task.custom_boot;
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	if (custom && db->opts.superuser.password[0])
		rc = ensure_role(db, conn, &db->opts.superuser, "SUPERUSER", true, deadline, err,
				 err_cap);
	const struct db_user *users[] = { &db->opts.replication, &db->opts.rewind };
	const char *attrs[] = { "REPLICATION LOGIN", "LOGIN" };
	for (int i = 0; i < 2 && rc == 0; i++) {
		const struct db_user *u = users[i];
		if (strcmp(u->username, db->opts.superuser.username) == 0)
			continue;
		if (i == 1 && strcmp(u->username, db->opts.replication.username) == 0)
			continue;
		rc = ensure_role(db, conn, u, attrs[i], custom, deadline, err, err_cap);
		static const char *const grants[] = {
			"GRANT EXECUTE ON function pg_catalog.pg_ls_dir(text, boolean, boolean) TO "
			"%s",
			"GRANT EXECUTE ON function pg_catalog.pg_stat_file(text, boolean) TO %s",
			"GRANT EXECUTE ON function pg_catalog.pg_read_binary_file(text) TO %s",
			"GRANT EXECUTE ON function pg_catalog.pg_read_binary_file(text, bigint, "
			"bigint, boolean) TO %s",
		};
		char *ident = rc == 0 && i == 1 ? db_pq->PQescapeIdentifier(conn, u->username,
									    strlen(u->username))
						: NULL;
		for (size_t g = 0; ident && rc == 0 && g < sizeof(grants) / sizeof(grants[0]);
		     g++) {
			char sql[DB_PG_SQL_MAX];
			int n = snprintf(sql, sizeof(sql), grants[g], ident);
			if (n < 0 || (size_t)n >= sizeof(sql))
				rc = err_fail(err, err_cap, -ENAMETOOLONG, "user name too long");
			else
				rc = db_sql_exec(conn, sql, deadline, err, err_cap);
		}
		if (ident)
			db_pq->PQfreemem(ident);
	}
	db_pq->PQfinish(conn);
	return rc;
}

/* Patroni's call_post_bootstrap: the script gets the local connection string (no password: it
 * is in PGPASSFILE) and PGOPTIONS="-c synchronous_commit=local -c statement_timeout=0"; a
 * non-zero exit fails the bootstrap. */
static int spawn_post_bootstrap(struct db *db, char *err, size_t err_cap)
{
	const struct db_bootstrap_method *b = &db->opts.bootstrap_method;
	char port[16];
	char dsn[DB_CONNINFO_MAX];
	const char *argv[PROC_ARGV_MAX];
	const char *w = b->post_bootstrap;
	int n = 0;

	if (buf_format(port, sizeof(port), "%d", db->opts.listen_port) != 0)
		return err_fail(err, err_cap, -EINVAL, "bad port");
	dsn[0] = '\0';
	if (db_conninfo_add(dsn, sizeof(dsn), "dbname", "postgres") < 0 ||
	    db_conninfo_add(dsn, sizeof(dsn), "user", db->opts.superuser.username) < 0 ||
	    db_conninfo_add(dsn, sizeof(dsn), "host", db->opts.local_host) < 0 ||
	    db_conninfo_add(dsn, sizeof(dsn), "port", port) < 0)
		return err_fail(err, err_cap, -ENOBUFS, "connection string too long");
	for (int i = 0; i < b->post_bootstrap_argc && n + 2 < PROC_ARGV_MAX; i++) {
		argv[n++] = w;
		w += strlen(w) + 1;
	}
	argv[n++] = dsn[0] == ' ' ? dsn + 1 : dsn;
	argv[n] = NULL;
	int rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.step = BOOT_POST;
	return db_task_spawn_env(db, argv,
				 "PGOPTIONS=-c synchronous_commit=local -c statement_timeout=0",
				 db->opts.task_timeout_ms, err, err_cap);
}

static int after_start(struct db *db, char *err, size_t err_cap)
{
	int rc = create_users(db, err, err_cap);
	if (rc < 0 || db->opts.bootstrap_method.post_bootstrap_argc == 0)
		return rc;
	return spawn_post_bootstrap(db, err, err_cap);
}

/* Removes what a recovery would act on: recovery.signal, standby.signal and the recovery
 * settings in postgresql.auto.conf (Patroni's remove_recovery_conf and _sanitize_auto_conf). */
static int remove_recovery(struct db *db, char *err, size_t err_cap)
{
	static const char *const files[] = { "recovery.signal", "standby.signal", "recovery.conf" };
	char path[DB_DATA_PATH_MAX];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (db_data_path(db, files[i], path, sizeof(path)) < 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "data directory too long");
		if (unlink(path) != 0 && errno != ENOENT)
			return err_fail(err, err_cap, -errno, "could not remove \"%s\": %s", path,
					strerror(errno));
	}
	return db_pg_sanitize_auto_conf(db, err, err_cap);
}

/* The custom method's copy is there: Patroni's _post_restore, then its recovery settings. */
static int configure_restored(struct db *db, char *err, size_t err_cap)
{
	const struct db_bootstrap_method *b = &db->opts.bootstrap_method;
	char path[DB_DATA_PATH_MAX];
	int rc;

	if (!db_data_file_exists(db, "PG_VERSION"))
		return err_fail(err, err_cap, -EIO,
				"bootstrap method \"%s\" exited 0 but left no PG_VERSION in \"%s\"",
				b->method.name, db->opts.data_dir);
	/* A promote trigger file restored with the data would end the recovery at once. */
	if (db_data_path(db, "promote", path, sizeof(path)) == 0)
		(void)unlink(path);
	if (b->has_recovery_conf) {
		const char *action = "pause";
		for (int i = 0; i < b->recovery_conf_count; i++) {
			if (strcasecmp(b->recovery_conf[i].name, "recovery_target_action") == 0)
				action = b->recovery_conf[i].value;
		}
		rc = remove_recovery(db, err, err_cap);
		if (rc < 0)
			return rc;
		db->boot_recovery = true;
		/* Patroni: a recovery that ends in a promotion runs with hot_standby off, so a
		 * max_connections lower than the backup's cannot stop it. */
		db->boot_hot_standby_off =
			b->keep_existing_recovery_conf || strcasecmp(action, "promote") == 0;
		rc = db_pg_write_config(db, false, NULL, err, err_cap);
		if (rc == 0 && db_data_path(db, "recovery.signal", path, sizeof(path)) == 0)
			rc = db_write_file(path, "", 0600, err, err_cap);
		return rc;
	}
	if (b->keep_existing_recovery_conf) {
		db->boot_keep_recovery = true;
		db->boot_hot_standby_off = true; /* Patroni trusts the tool's recovery settings */
		return db_pg_write_config(db, false, NULL, err, err_cap);
	}
	rc = remove_recovery(db, err, err_cap);
	if (rc == 0)
		rc = db_pg_write_config(db, false, NULL, err, err_cap);
	return rc;
}

/* Launches pg_ctl start without waiting: the recovery may take longer than pg_ctl_timeout. */
static int spawn_start_nowait(struct db *db, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "start",		"-D", db->opts.data_dir,
			       "-l", db->opts.log_file, "-W", NULL };
	db->task.step = BOOT_RECOVER;
	return db_task_spawn_timeout(db, argv, db->opts.command_timeout_ms, err, err_cap);
}

/* BOOT_RECOVER: the server recovers from the archive; a primary ends the wait. */
static int recover_step(struct db *db, char *err, size_t err_cap)
{
	char tail[DB_PG_LOG_TAIL_MAX];
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	int rc;

	if (db->task.proc) {
		char why[DB_ERROR_MAX];
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0)
			return err_fail(err, err_cap, rc, "could not start the restored copy: %s",
					why);
	}
	memset(&st, 0, sizeof(st));
	db_pg_get_status(db, &st);
	/* pg_ctl -W returns before the postmaster writes postmaster.pid: until it has been seen
	 * running, "not running" is a start still under way (for pg_ctl_timeout at most). */
	if (!st.running && !db->task.seen_running &&
	    clock_mono_ms() - db->task.step_started_ms < db->opts.command_timeout_ms)
		return -EINPROGRESS;
	if (st.running)
		db->task.seen_running = true;
	if (!st.running) {
		db_pg_log_tail(db, tail, sizeof(tail));
		return err_fail(err, err_cap, -EIO, "the restored copy stopped during recovery: %s",
				tail[0] ? tail : st.detail);
	}
	if (st.role != DB_ROLE_PRIMARY || !st.accepting) {
		if (clock_mono_ms() - db->task.step_started_ms > db->opts.task_timeout_ms)
			return err_fail(err, err_cap, -ETIMEDOUT,
					"the restored copy did not end its recovery in time");
		return -EINPROGRESS; /* Patroni: "waiting for end of recovery after bootstrap" */
	}
	/* Promoted: the recovery settings go, and hot_standby comes back with a restart. */
	bool restart = db->boot_hot_standby_off;
	db->boot_recovery = false;
	db->boot_keep_recovery = false;
	db->boot_hot_standby_off = false;
	rc = db_pg_write_config(db, false, NULL, err, err_cap);
	if (rc < 0)
		return rc;
	if (!restart) {
		char prog[DB_PATH_MAX];
		if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
		const char *argv[] = { prog, "reload", "-D", db->opts.data_dir, NULL };
		rc = db_run(db, argv, db->opts.command_timeout_ms, NULL, 0, err, err_cap);
		return rc < 0 ? rc : after_start(db, err, err_cap);
	}
	char prog[DB_PATH_MAX];
	char secs[32];
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0 ||
	    buf_format(secs, sizeof(secs), "%lld",
		       (long long)db_secs_of(db->opts.command_timeout_ms)) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "restart", "-D", db->opts.data_dir,
			       "-m", "fast",	"-l", db->opts.log_file,
			       "-w", "-t",	secs, NULL };
	db->task.step = BOOT_START;
	return db_task_spawn(db, argv, err, err_cap);
}

int db_pg_boot_step(struct db *db, char *err, size_t err_cap)
{
	char why[DB_ERROR_MAX];
	int rc;

	switch (db->task.step) {
	case BOOT_INITDB:
		rc = db_task_reap(db, err, err_cap);
		db_remove_pwfile(db);
		if (rc < 0) {
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after initdb: %s", why);
			return rc;
		}
		rc = db_pg_write_config(db, false, NULL, err, err_cap);
		if (rc < 0)
			return rc;
		db->task.step = BOOT_START;
		return db_pg_spawn_start(db, err, err_cap);
	case BOOT_CUSTOM:
		rc = db_task_reap(db, err, err_cap);
		if (rc == 0)
			rc = configure_restored(db, err, err_cap);
		if (rc < 0) {
			/* Patroni: bootstrap methods are neither chained nor fall back to initdb. */
			db->boot_recovery = db->boot_keep_recovery = db->boot_hot_standby_off =
				false;
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after the bootstrap method: %s", why);
			return rc;
		}
		if (db->boot_recovery || db->boot_keep_recovery)
			return spawn_start_nowait(db, err, err_cap);
		db->task.step = BOOT_START;
		return db_pg_spawn_start(db, err, err_cap);
	case BOOT_RECOVER:
		return recover_step(db, err, err_cap);
	case BOOT_START: {
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0) {
			char tail[DB_PG_LOG_TAIL_MAX];
			db_pg_log_tail(db, tail, sizeof(tail));
			return err_fail(err, err_cap, rc, "new cluster did not start: %s",
					tail[0] ? tail : why);
		}
		return after_start(db, err, err_cap);
	}
	case BOOT_POST:
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0)
			return err_fail(err, err_cap, rc, "post_bootstrap failed: %s", why);
		return 0;
	default:
		return err_fail(err, err_cap, -EINVAL, "unknown bootstrap step %d", db->task.step);
	}
}
