/*
 * db_opengauss_task.c - the openGauss driver's long actions, run as background tasks (§2.5,
 * §2.12, §2.13): bootstrap (gs_initdb, start pending, notify primary with the term, the
 * superuser password set again, §2.10), create replica (gs_initdb for a configuration, gs_ctl
 * build -b full) and rejoin (gs_ctl build -b incremental, then -b full when allowed).
 */
#include "db_opengauss.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include "db_pq.h"
#include <string.h>

/* An argument such as "--nodename=<name>" or "--pwfile=<path>". */
#define OG_ARG_MAX (DB_DATA_PATH_MAX + 32)
/* Longest gs_ctl build -t we pass: a day. */
#define OG_BUILD_SECS_MAX 86400

enum og_step {
	OG_STEP_NONE,
	OG_STEP_BOOT_INITDB,	    /* gs_initdb of a new cluster */
	OG_STEP_BOOT_START,	    /* gs_ctl start -M pending */
	OG_STEP_CLONE_INITDB,	    /* gs_initdb, for a configuration to build into */
	OG_STEP_CLONE_BUILD,	    /* gs_ctl build -b full */
	OG_STEP_REJOIN_INCREMENTAL, /* gs_ctl build -b incremental */
	OG_STEP_REJOIN_FULL,	    /* gs_ctl build -b full after incremental failed */
	/* Reading the role back (§2.4), one look per poll so the loop never blocks on it: */
	OG_STEP_BOOT_PENDING, /* after start: Pending, then notify and Primary (or Normal) */
	OG_STEP_BUILT,	      /* after a build: the Standby it started (§2.5) */
};

/* gs_initdb -D dir --nodename=<name> -U <superuser> [--pwfile=...] [--<initdb option>...]. */
static int spawn_initdb(struct db *db, enum og_step step, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX], node_arg[OG_ARG_MAX];
	if (db_bin_path(db, "gs_initdb", prog, sizeof(prog)) < 0 ||
	    buf_format(node_arg, sizeof(node_arg), "--nodename=%s", db->opts.name) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path too long");
	const char *argv[PROC_ARGV_MAX];
	int n = 0;
	argv[n++] = prog;
	argv[n++] = "-D";
	argv[n++] = db->opts.data_dir;
	argv[n++] = node_arg;
	argv[n++] = "-U";
	argv[n++] = db->opts.superuser.username;
	return db_spawn_initdb(db, argv, n, (int)step, err, err_cap);
}

static int spawn_build(struct db *db, enum db_og_build_mode mode, enum og_step step, char *err,
		       size_t err_cap)
{
	struct db_og_cmd c;
	int64_t secs = db_secs_of(db->opts.task_timeout_ms);
	int rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.5: -T <cluster term>, so that a stale old primary listed first in replconninfo,
	 * with a lower term, is never the source (CM passes it too, §2.12). */
	rc = db_og_ctl_build(c.argv, c.prog, db->opts.data_dir, mode,
			     (uint32_t)db_og_note_term(db, 0),
			     (int)(secs < OG_BUILD_SECS_MAX ? secs : OG_BUILD_SECS_MAX));
	return db_og_cmd_spawn(db, &c, rc, db->opts.task_timeout_ms, step, "build", err, err_cap);
}

int db_og_begin_bootstrap(struct db *db, char *err, size_t err_cap)
{
	int rc = db_og_check_term(db->task.term, err, err_cap);
	if (rc == 0)
		rc = db_check_bootstrap_dir(db, err, err_cap);
	if (rc == 0)
		db_og_note_term(db, db->task.term);
	if (rc < 0)
		return rc;
	return spawn_initdb(db, OG_STEP_BOOT_INITDB, err, err_cap);
}

int db_og_begin_create_replica(struct db *db, char *err, size_t err_cap)
{
	int rc = db_prepare_clone_dir(db, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.12 simpleInstall: gs_initdb the new directory for its configuration, set
	 * replconninfo, then gs_ctl build -b full. */
	return spawn_initdb(db, OG_STEP_CLONE_INITDB, err, err_cap);
}

static int rejoin_full_or_fail(struct db *db, int why_rc, const char *why, char *err,
			       size_t err_cap)
{
	if (!db_reclone_allowed(db))
		return err_fail(err, err_cap, why_rc, "%s", why);
	log_debug("rejoin: %s; rebuilding \"%s\" in full", why, db->opts.data_dir);
	return spawn_build(db, DB_OG_BUILD_FULL, OG_STEP_REJOIN_FULL, err, err_cap);
}

/* Stops the server unless it runs as a standby (§2.5), fast, then immediate. */
static int stop_unless_standby(struct db *db, char *err, size_t err_cap)
{
	struct db_og_priv *p = db_og_priv_of(db);
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	if (p)
		p->has_ha = false;
	db_og_get_status(db, &st);
	if (!st.running || (p && p->has_ha && (DB_OG_WANT_STANDBY & DB_OG_WANT(p->ha.local_role))))
		return 0;
	log_info("rejoin: stopping the server, which runs as %s, before gs_ctl build (opengauss.md "
		 "2.5)",
		 p && p->has_ha ? db_og_role_name(p->ha.local_role) : db_role_name(st.role));
	int rc = db->driver->stop(db, DB_STOP_FAST, db->opts.command_timeout_ms, err, err_cap);
	if (rc < 0)
		rc = db->driver->stop(db, DB_STOP_IMMEDIATE, db->opts.command_timeout_ms, err,
				      err_cap);
	return rc;
}

/* Enters a step that reads the role back (no command runs meanwhile); -EINPROGRESS. */
static int check_step(struct db *db, enum og_step step)
{
	db->task.step = step;
	db->task.step_started_ms = clock_mono_ms();
	return -EINPROGRESS;
}

/* One look at the role for a check step: -EINPROGRESS until want is seen or the command timeout
 * since the step began has passed. */
static int check_role(struct db *db, const char *what, unsigned want, struct db_og_ha_state *ha,
		      char *err, size_t err_cap)
{
	int rc = db_og_read_back_once(db, what, want, ha, err, err_cap);
	if (rc == -EINPROGRESS &&
	    clock_mono_ms() - db->task.step_started_ms >= db->opts.command_timeout_ms)
		return -ETIMEDOUT; /* err says what was seen */
	return rc;
}

/* §2.10: gs_initdb hashed the superuser's password under password_encryption_type 2 (sha256
 * only), which stock libpq cannot answer; set it again now that type 1 stores md5 too. The
 * initial user changes its own password without REPLACE; password_reuse_time 0 (initial
 * configuration) lets the same password through. */
static int reset_superuser_password(struct db *db, char *err, size_t err_cap)
{
	const struct db_user *u = &db->opts.superuser;
	if (!u->password[0])
		return 0;
	int64_t deadline = clock_mono_ms() + db->opts.command_timeout_ms;
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	char *ident = db_pq->PQescapeIdentifier(conn, u->username, strlen(u->username));
	char *pw = db_pq->PQescapeLiteral(conn, u->password, strlen(u->password));
	char sql[DB_NAME_MAX + DB_PASSWORD_MAX * 2 + 64];
	if (!ident || !pw ||
	    buf_format(sql, sizeof(sql), "ALTER ROLE %s PASSWORD %s", ident, pw) != 0)
		rc = err_fail(err, err_cap, -ENOMEM, "could not render ALTER ROLE");
	else
		rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	db_pq->PQfreemem(ident);
	db_pq->PQfreemem(pw);
	db_pq->PQfinish(conn);
	if (rc == 0)
		log_info("set the superuser's password again under password_encryption_type 1 "
			 "(opengauss.md 2.10)");
	return rc;
}

/* notify -M primary -T term, then the role read back, in one step: the server turns primary
 * only inside the poll that ends the task, as on PostgreSQL, so the loop never sees a primary
 * while "initializing new cluster" runs. A node without replconninfo ends Normal (§2.2). */
static int notify_primary(struct db *db, char *err, size_t err_cap)
{
	struct db_og_cmd c;
	char why[DB_ERROR_MAX];
	int rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
	if (rc < 0)
		return rc;
	/* -w -t 1 as CM: the role read back after it decides (§2.2, §2.12). */
	rc = db_og_ctl_notify(c.argv, c.prog, db->opts.data_dir, true, (uint32_t)db->task.term,
			      (int)db_secs_of(DB_OG_NOTIFY_WAIT_MS));
	if (db_og_cmd_ctl(db, &c, rc, DB_OG_NOTIFY_WAIT_MS, "notify", why, sizeof(why)) < 0)
		log_info("%s; reading the role back", why);
	rc = db_og_settle_primary(db, db->task.term, clock_mono_ms() + db->opts.command_timeout_ms,
				  err, err_cap);
	return rc < 0 ? rc : reset_superuser_password(db, err, err_cap);
}

int db_og_begin_rejoin(struct db *db, char *err, size_t err_cap)
{
	int rc = db_check_rejoin(db, err, err_cap);
	if (rc < 0)
		return rc;
	db_set_upstream(db, &db->task.primary);
	/* §2.5: gs_ctl build stops a running Standby itself but refuses any other running
	 * instance ("The local server run as Primary,build cannot be executed."): stop it first. */
	rc = stop_unless_standby(db, err, err_cap);
	if (rc < 0)
		return rc;
	/* gs_ctl build finds the primary through replconninfo (§2.5). */
	rc = db_og_write_config(db, &db->task.primary, db->opts.command_timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	if (!db->opts.use_pg_rewind)
		return rejoin_full_or_fail(db, -ENOTSUP, "use_pg_rewind is off", err, err_cap);
	/* §2.13: a diverged old primary rejoins with an incremental build. */
	return spawn_build(db, DB_OG_BUILD_INCREMENTAL, OG_STEP_REJOIN_INCREMENTAL, err, err_cap);
}

int db_og_task_step(struct db *db, char *err, size_t err_cap)
{
	int rc;
	char why[DB_ERROR_MAX];
	switch (db->task.step) {
	case OG_STEP_BOOT_INITDB:
	case OG_STEP_CLONE_INITDB: {
		bool clone = db->task.step == OG_STEP_CLONE_INITDB;
		rc = db_task_reap(db, err, err_cap);
		db_remove_pwfile(db);
		if (rc == 0)
			rc = db_og_write_initial_config(db, clone ? &db->task.primary : NULL, err,
							err_cap);
		if (rc < 0) {
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after gs_initdb: %s", why);
			return rc;
		}
		if (clone) {
			db_set_upstream(db, &db->task.primary);
			return spawn_build(db, DB_OG_BUILD_FULL, OG_STEP_CLONE_BUILD, err, err_cap);
		}
		struct db_og_cmd c;
		rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
		if (rc < 0)
			return rc;
		rc = db_og_ctl_start(c.argv, c.prog, db->opts.data_dir, "pending",
				     (int)db_secs_of(db->opts.command_timeout_ms), NULL,
				     db->opts.log_file);
		return db_og_cmd_spawn(db, &c, rc, db->opts.command_timeout_ms, OG_STEP_BOOT_START,
				       "start", err, err_cap);
	}
	case OG_STEP_BOOT_START:
		rc = db_task_reap(db, err, err_cap);
		/* §2.4: start exits 0 without proving the role. */
		return rc < 0 ? rc : check_step(db, OG_STEP_BOOT_PENDING);
	case OG_STEP_BOOT_PENDING:
		rc = check_role(db, "start", DB_OG_WANT(DB_OG_ROLE_PENDING), NULL, err, err_cap);
		return rc < 0 ? rc : notify_primary(db, err, err_cap);
	case OG_STEP_CLONE_BUILD:
		rc = db_task_reap(db, err, err_cap);
		if (rc < 0) {
			if (!db_server_running(db) &&
			    db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after a failed build: %s", why);
			return rc;
		}
		return check_step(db, OG_STEP_BUILT);
	case OG_STEP_REJOIN_INCREMENTAL:
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0)
			return rejoin_full_or_fail(db, rc, why, err, err_cap);
		return check_step(db, OG_STEP_BUILT);
	case OG_STEP_REJOIN_FULL:
		rc = db_task_reap(db, err, err_cap);
		return rc < 0 ? rc : check_step(db, OG_STEP_BUILT);
	case OG_STEP_BUILT:
		/* §2.5: build starts the instance itself as a standby; see that it did. */
		return check_role(db, "build", DB_OG_WANT_STANDBY, NULL, err, err_cap);
	default:
		return err_fail(err, err_cap, -EINVAL, "unknown task step %d", db->task.step);
	}
}
