/*
 * db_opengauss.c - the openGauss driver behind db.h: its short actions through gs_ctl, the
 * gs_ctl and gs_guc command runner its files share, and its driver table.
 *
 * Follows the map of /work/shared/opengauss.md §2.13 (sections cited as §2.x):
 * - every start passes -M; a primary starts pending and is notified with the cluster term
 *   (§2.2, §2.8); a replica starts with -M standby;
 * - promotion is gs_ctl failover -T term (a pending instance: notify -M primary -T term) (§2.4);
 * - replicas are created with gs_ctl build -b full, old primaries rejoin with -b incremental
 *   and, when allowed, -b full (§2.5): db_opengauss_task.c;
 * - replconninfo1..8 list every other member (§2.6), written with gs_guc like every other
 *   setting, the synchronous settings always explicitly (§2.9): db_opengauss_conf.c;
 * - status comes from pg_stat_get_stream_replications(), locations are parsed from text and
 *   (term, lsn) from pg_last_xlog_replay_location() (§2.7, §2.8): db_opengauss_status.c;
 * - the agent connects over the local socket as the configured superuser and never relies on
 *   sha256 authentication, which stock libpq cannot do (§2.10).
 * The text formats are parsed and the command lines built by the pure db_opengauss_codec.c and
 * db_opengauss_argv.c.
 */
#include "db_opengauss.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"
#include "log.h"
#include "lsn.h"

#include <errno.h>
#include "db_pq.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* How often db_og_read_back looks at the role again. */
#define OG_READ_BACK_EVERY_MS 200
/* Extra time a gs_ctl -w -t N command gets beyond its N seconds before we kill it. */
#define OG_CTL_MARGIN_MS 10000
/* gs_ctl output we keep for an error message. */
#define OG_OUTPUT_MAX 4096
/* Where a checkpoint left the WAL: the current location on a primary, the replayed one on a
 * standby (both text, §2.7). */
#define OG_CHECKPOINT_SQL                                   \
	"SELECT CASE WHEN pg_is_in_recovery() THEN"         \
	" (SELECT lsn FROM pg_last_xlog_replay_location())" \
	" ELSE pg_current_xlog_location() END"

/* --- Commands --------------------------------------------------------------------------------- */

int db_og_cmd_begin(struct db *db, const char *program, struct db_og_cmd *c, char *err,
		    size_t err_cap)
{
	c->argv = NULL;
	if (db_bin_path(db, program, c->prog, sizeof(c->prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	c->argv = malloc(sizeof(*c->argv));
	if (!c->argv)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	return 0;
}

void db_og_cmd_done(struct db_og_cmd *c)
{
	free(c->argv);
	c->argv = NULL;
}

/* Runs the command line to its end, keeping output_cap bytes of its output. */
static int run_argv(struct db *db, const struct db_og_cmd *c, int64_t timeout_ms, char *output,
		    size_t output_cap, char *err, size_t err_cap)
{
	const char *ptrs[DB_OG_ARGV_MAX + 1];
	db_og_argv_ptrs(c->argv, ptrs);
	return db_run(db, ptrs, timeout_ms, output, output_cap, err, err_cap);
}

int db_og_cmd_exec(struct db *db, const struct db_og_cmd *c, int64_t timeout_ms, char *err,
		   size_t err_cap)
{
	return run_argv(db, c, timeout_ms, NULL, 0, err, err_cap);
}

int db_og_cmd_ctl(struct db *db, struct db_og_cmd *c, int build_rc, int64_t wait_ms,
		  const char *what, char *err, size_t err_cap)
{
	char out[OG_OUTPUT_MAX];
	char why[DB_ERROR_MAX];
	int rc = build_rc;
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl %s command", what);
	else if ((rc = run_argv(db, c, db_secs_of(wait_ms) * 1000 + OG_CTL_MARGIN_MS, out,
				sizeof(out), why, sizeof(why))) < 0)
		rc = err_fail(err, err_cap, rc, "gs_ctl %s failed: %s", what, why);
	db_og_cmd_done(c);
	return rc;
}

int db_og_cmd_spawn(struct db *db, struct db_og_cmd *c, int build_rc, int64_t wait_ms, int step,
		    const char *what, char *err, size_t err_cap)
{
	const char *ptrs[DB_OG_ARGV_MAX + 1];
	int rc = build_rc;
	if (rc < 0) {
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl %s command", what);
	} else {
		db->task.step = step;
		db_og_argv_ptrs(c->argv, ptrs);
		rc = db_task_spawn_timeout(db, ptrs, db_secs_of(wait_ms) * 1000 + OG_CTL_MARGIN_MS,
					   err, err_cap);
	}
	db_og_cmd_done(c);
	return rc;
}

/* openGauss terms start at 1 (§2.8; 0 would lose the fencing) and end at 2147483647: a larger
 * one PANICs the server on its next WAL write and peers read it as a negative number. */
int db_og_check_term(uint64_t term, char *err, size_t err_cap)
{
	if (term == 0 || term > DB_OG_TERM_MAX)
		return err_fail(err, err_cap, -EINVAL,
				"openGauss needs a cluster term in 1..%u, got %llu", DB_OG_TERM_MAX,
				(unsigned long long)term);
	return 0;
}

int db_og_set_term(struct db *db, uint64_t term, char *err, size_t err_cap)
{
	if (!db_og_priv_of(db))
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	db_og_note_term(db, term);
	return 0;
}

uint64_t db_og_note_term(struct db *db, uint64_t term)
{
	struct db_og_priv *p = db_og_priv_of(db);
	if (!p)
		return term <= DB_OG_TERM_MAX ? term : 0;
	if (term > p->term && term <= DB_OG_TERM_MAX)
		p->term = term;
	return p->term;
}

/* "Standby, Need repair: Connecting..." for the log and for errors. */
static void describe_ha(const struct db_og_ha_state *ha, char *out, size_t cap)
{
	snprintf(out, cap, "%s, %s: %s (%d replconninfo entries)", db_og_role_name(ha->local_role),
		 db_og_db_state_name(ha->db_state),
		 ha->detail_text[0] ? ha->detail_text : db_og_detail_name(ha->detail),
		 ha->static_connections);
}

int db_og_read_back_once(struct db *db, const char *what, unsigned want, struct db_og_ha_state *out,
			 char *err, size_t err_cap)
{
	struct db_og_priv *p = db_og_priv_of(db);
	if (!p)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	char found[DB_ERROR_MAX];
	p->has_ha = false;
	memset(&st, 0, sizeof(st));
	db_og_get_status(db, &st);
	if (p->has_ha) {
		describe_ha(&p->ha, found, sizeof(found));
		if (out)
			*out = p->ha;
		if (want & DB_OG_WANT(p->ha.local_role)) {
			log_info("gs_ctl %s: the server reports %s", what, found);
			return 0;
		}
	} else {
		snprintf(found, sizeof(found), "%s (%.300s)", db_role_name(st.role),
			 st.detail[0] ? st.detail : "no HA state");
	}
	if (!st.running)
		return err_fail(err, err_cap, -EIO, "gs_ctl %s: no server runs (%s)", what, found);
	return err_fail(err, err_cap, -EINPROGRESS, "gs_ctl %s: the server is %s", what, found);
}

int db_og_read_back(struct db *db, const char *what, unsigned want, int64_t deadline_ms,
		    struct db_og_ha_state *out, char *err, size_t err_cap)
{
	for (;;) {
		int rc = db_og_read_back_once(db, what, want, out, err, err_cap);
		if (rc != -EINPROGRESS)
			return rc;
		if (clock_mono_ms() >= deadline_ms)
			return -ETIMEDOUT; /* err says what was seen */
		clock_sleep_ms(OG_READ_BACK_EVERY_MS);
	}
}

/* --- gs_ctl ------------------------------------------------------------------------------------ */

static int ctl_start(struct db *db, const char *mode, int64_t wait_ms, char *err, size_t err_cap)
{
	struct db_og_cmd c;
	int rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_og_ctl_start(c.argv, c.prog, db->opts.data_dir, mode, (int)db_secs_of(wait_ms),
			     NULL, db->opts.log_file);
	return db_og_cmd_ctl(db, &c, rc, wait_ms, "start", err, err_cap);
}

/* gs_ctl notify -M primary|standby -T term -w -t 1, as CM runs it (§2.12): its exit code proves
 * nothing (-w polls for exactly the role, and a node without replconninfo ends Normal, §2.2), so
 * the callers read the role back with their own deadline instead of waiting -t out. */
static int ctl_notify(struct db *db, bool primary, uint64_t term, char *err, size_t err_cap)
{
	struct db_og_cmd c;
	int rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_og_ctl_notify(c.argv, c.prog, db->opts.data_dir, primary, (uint32_t)term,
			      (int)db_secs_of(DB_OG_NOTIFY_WAIT_MS));
	return db_og_cmd_ctl(db, &c, rc, DB_OG_NOTIFY_WAIT_MS, "notify", err, err_cap);
}

int db_og_settle_primary(struct db *db, uint64_t term, int64_t deadline_ms, char *err,
			 size_t err_cap)
{
	struct db_og_ha_state ha;
	int rc = db_og_read_back(db, "notify", DB_OG_WANT_PRIMARY, deadline_ms, &ha, err, err_cap);
	if (rc < 0 || ha.local_role == DB_OG_ROLE_PRIMARY)
		return rc;
	if (ha.static_connections <= 0) {
		/* §2.2: writable, but it serves no standby and never waits for a sync one; it
		 * becomes Primary once members appear (db_og_set_peers). */
		log_notice("openGauss runs as Normal, a primary without replconninfo entries: no "
			   "standby can attach until a member joins");
		return 0;
	}
	/* §2.2: only notify -M primary leaves Normal, and only with an entry. */
	rc = ctl_notify(db, true, term, err, err_cap);
	if (rc < 0)
		log_info("%s", err);
	return db_og_read_back(db, "notify", DB_OG_WANT(DB_OG_ROLE_PRIMARY), deadline_ms, NULL, err,
			       err_cap);
}

/* gs_ctl restart -M mode -m stop: keeps (or sets) the role it is given (§2.12). */
static int ctl_restart(struct db *db, const char *mode, enum db_og_stop_mode stop,
		       int64_t timeout_ms, char *err, size_t err_cap)
{
	struct db_og_cmd c;
	int rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_og_ctl_restart(c.argv, c.prog, db->opts.data_dir, mode, stop,
			       (int)db_secs_of(timeout_ms), NULL, db->opts.log_file);
	return db_og_cmd_ctl(db, &c, rc, timeout_ms, "restart", err, err_cap);
}

static const char *mode_for_role(enum db_role role)
{
	switch (role) {
	case DB_ROLE_PRIMARY:
		return "primary";
	case DB_ROLE_REPLICA:
		return "standby";
	default:
		return "pending";
	}
}

static int og_start(struct db *db, enum db_start_role role, const struct db_peer *primary,
		    uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	int64_t wait_ms = timeout_ms > 0 ? timeout_ms : db->opts.command_timeout_ms;
	int64_t deadline = clock_mono_ms() + wait_ms;
	if (role == DB_START_PRIMARY) {
		int rc = db_og_check_term(term, err, err_cap);
		if (rc < 0)
			return rc;
		db_og_note_term(db, term);
	}
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_og_get_status(db, &st);
	if (!st.initialized)
		return db_check_initialized(db, err, err_cap);
	if (role == DB_START_REPLICA)
		db_set_upstream(db, primary);
	if (st.running) {
		if (role == DB_START_PRIMARY && st.role == DB_ROLE_PRIMARY)
			return db_og_settle_primary(db, term, deadline, err, err_cap);
		if ((role == DB_START_REPLICA && st.role == DB_ROLE_REPLICA) ||
		    (role == DB_START_PENDING && st.role == DB_ROLE_PENDING))
			return 0;
		/* A pending instance takes its role without a restart (§2.2). */
		if (st.role == DB_ROLE_PENDING && role != DB_START_PENDING) {
			int rc = ctl_notify(db, role == DB_START_PRIMARY, term, err, err_cap);
			if (rc < 0)
				log_info("%s; reading the role back", err);
			if (role == DB_START_PRIMARY)
				return db_og_settle_primary(db, term, deadline, err, err_cap);
			return db_og_read_back(db, "notify", DB_OG_WANT_STANDBY, deadline, NULL,
					       err, err_cap);
		}
		return err_fail(err, err_cap, -EALREADY, "server is already running as \"%s\"",
				db_role_name(st.role));
	}
	int rc = db_og_write_config(db, role == DB_START_REPLICA ? primary : NULL,
				    db->opts.command_timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.13: a leader boots pending and is notified with the term; a replica starts standby.
	 * notify needs a running server, so a primary start always waits for pending. */
	const char *mode = role == DB_START_REPLICA ? "standby" : "pending";
	rc = ctl_start(db, mode, wait_ms, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.4: start exits 0 although another server runs there or the wait ran out: read the
	 * role back. timeout_ms 0 asks only for the launch. */
	if (timeout_ms <= 0 && role != DB_START_PRIMARY)
		return 0;
	rc = db_og_read_back(db, "start",
			     role == DB_START_REPLICA ? DB_OG_WANT_STANDBY
						      : DB_OG_WANT(DB_OG_ROLE_PENDING),
			     deadline, NULL, err, err_cap);
	if (rc < 0 || role != DB_START_PRIMARY)
		return rc;
	rc = ctl_notify(db, true, term, err, err_cap);
	if (rc < 0) /* notify -w exits 1 on Normal (§2.2): the role read back decides */
		log_info("%s; reading the role back", err);
	return db_og_settle_primary(db, term, deadline, err, err_cap);
}

static int og_stop(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		   size_t err_cap)
{
	/* §2.3: gs_ctl has no smart mode. */
	if (mode == DB_STOP_SMART)
		return err_fail(err, err_cap, -ENOTSUP, "openGauss has no smart shutdown");
	if (!db_server_running(db))
		return 0;
	struct db_og_cmd c;
	int rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_og_ctl_stop(c.argv, c.prog, db->opts.data_dir,
			    mode == DB_STOP_FAST ? DB_OG_STOP_FAST : DB_OG_STOP_IMMEDIATE,
			    (int)db_secs_of(timeout_ms));
	rc = db_og_cmd_ctl(db, &c, rc, timeout_ms, "stop", err, err_cap);
	if (rc < 0 && !db_server_running(db))
		return 0; /* it went away after all */
	if (rc < 0)
		return err_fail(err, err_cap, -ETIMEDOUT, "server did not stop (%s)",
				db_stop_mode_name(mode));
	return 0;
}

static unsigned want_for_role(enum db_role role)
{
	switch (role) {
	case DB_ROLE_PRIMARY:
		return DB_OG_WANT_PRIMARY;
	case DB_ROLE_REPLICA:
		return DB_OG_WANT_STANDBY;
	default:
		return DB_OG_WANT(DB_OG_ROLE_PENDING);
	}
}

static int og_restart(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		      size_t err_cap)
{
	if (mode == DB_STOP_SMART)
		return err_fail(err, err_cap, -ENOTSUP, "openGauss has no smart shutdown");
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_og_get_status(db, &st);
	if (!st.running)
		return err_fail(err, err_cap, -ESRCH,
				"server is not running, so its role is unknown");
	/* §2.12: gs_ctl restart -M <mode> -m fast|immediate keeps the role it is given. */
	int rc = ctl_restart(db, mode_for_role(st.role),
			     mode == DB_STOP_FAST ? DB_OG_STOP_FAST : DB_OG_STOP_IMMEDIATE,
			     timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.4: restart exits 0 while another gs_ctl holds pg_ctl.lock. A primary restarted with
	 * -M primary may come back Normal (§2.2). */
	if (st.role == DB_ROLE_PRIMARY)
		return db_og_settle_primary(db, db_og_note_term(db, st.term), deadline, err,
					    err_cap);
	return db_og_read_back(db, "restart", want_for_role(st.role), deadline, NULL, err, err_cap);
}

static int og_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)timeout_ms;
	/* One gaussdb process per instance (§2.1): SIGHUP to it is what gs_guc reload sends; only
	 * once it proves to be this data directory's (never a stale file's recycled pid). */
	return db_signal_postmaster(db, SIGHUP, err, err_cap);
}

static int promote(struct db *db, uint64_t term, int64_t timeout_ms, bool planned, char *err,
		   size_t err_cap)
{
	int rc = db_og_check_term(term, err, err_cap);
	if (rc < 0)
		return rc;
	db_og_note_term(db, term);
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_og_get_status(db, &st);
	if (st.role == DB_ROLE_PRIMARY)
		return db_og_settle_primary(db, term, deadline, err, err_cap);
	if (st.role == DB_ROLE_PENDING) {
		rc = ctl_notify(db, true, term, err, err_cap);
	} else if (st.role == DB_ROLE_REPLICA) {
		/* §2.4: in a planned switchover, a replica streaming from a running primary (the
		 * walreceiver attaches only to one, §2.6) switches over with it: the primary ships
		 * everything and turns standby. Otherwise failover onto self. Both carry the cluster term and are idempotent when
		 * Primary; a switchover that timed out exits 0 (read back below). */
		bool native = planned && st.upstream_host[0] != '\0';
		struct db_og_cmd c;
		char why[DB_ERROR_MAX];
		if (db_og_set_read_only(db, false, timeout_ms, why, sizeof(why)) < 0)
			log_warning("could not reset default_transaction_read_only: %s", why);
		rc = db_og_cmd_begin(db, "gs_ctl", &c, err, err_cap);
		if (rc < 0)
			return rc;
		if (native) {
			log_info("gs_ctl switchover with the primary at %s:%d, term %llu",
				 st.upstream_host, st.upstream_port, (unsigned long long)term);
			rc = db_og_ctl_switchover(c.argv, c.prog, db->opts.data_dir, (uint32_t)term,
						  (int)db_secs_of(timeout_ms));
		} else {
			rc = db_og_ctl_failover(c.argv, c.prog, db->opts.data_dir, (uint32_t)term,
						(int)db_secs_of(timeout_ms));
		}
		rc = db_og_cmd_ctl(db, &c, rc, timeout_ms, native ? "switchover" : "failover", err,
				   err_cap);
	} else {
		return err_fail(err, err_cap, -ESRCH, "cannot promote: server is \"%s\"",
				db_role_name(st.role));
	}
	if (rc < 0)
		log_info("%s; reading the role back", err);
	/* §2.4: the role read back, not the exit code, says whether it was promoted. */
	rc = db_og_settle_primary(db, term, deadline, err, err_cap);
	if (rc < 0)
		return rc;
	db_set_upstream(db, NULL);
	if (!db_wait_for_role(db, deadline, DB_ROLE_PRIMARY, &st))
		return err_fail(err, err_cap, -ETIMEDOUT, "server is \"%s\" after promotion",
				db_role_name(st.role));
	return 0;
}

static int og_promote(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	return promote(db, term, timeout_ms, false, err, err_cap);
}

static int og_promote_planned(struct db *db, uint64_t term, int64_t timeout_ms, char *err,
			      size_t err_cap)
{
	return promote(db, term, timeout_ms, true, err, err_cap);
}

/* §2.6, §2.11 lock2: pins the walreceiver to primary (an entry's remotehost and its remoteport,
 * the HA port) with disable_conn('specify_connection'), so that it cannot attach to a returning
 * old primary whose term it has not yet outgrown (§2.8); NULL: back to polling the entries. */
static int pin_upstream(struct db *db, const struct db_peer *primary, int64_t deadline, char *err,
			size_t err_cap)
{
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	char sql[DB_HOST_MAX * 2 + 128];
	char *host =
		primary ? db_pq->PQescapeLiteral(conn, primary->host, strlen(primary->host)) : NULL;
	if (primary && !host)
		rc = err_fail(err, err_cap, -ENOMEM, "out of memory");
	else if (buf_format(sql, sizeof(sql), "SELECT disable_conn(%s, %s, %d)",
			    primary ? "'specify_connection'" : "'polling_connection'",
			    host ? host : "''", primary ? primary->port + 1 : 0) != 0)
		rc = err_fail(err, err_cap, -ENAMETOOLONG, "host too long");
	else
		rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	if (host)
		db_pq->PQfreemem(host);
	db_pq->PQfinish(conn);
	return rc;
}

/* §2.11 lock1: disable_conn('prohibit_connection') ERRORs until local redo is done and two
 * reads of the replay LSN agree (§2.6); CM resends it, so do we, until the deadline. */
static int og_freeze_upstream(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	for (;;) {
		PGconn *conn;
		int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
		if (rc == 0) {
			rc = db_sql_exec(conn, "SELECT disable_conn('prohibit_connection', '', 0)",
					 deadline, err, err_cap);
			db_pq->PQfinish(conn);
		}
		if (rc == 0)
			return 0;
		if (clock_mono_ms() >= deadline)
			return rc;
		clock_sleep_ms(OG_READ_BACK_EVERY_MS);
	}
}

static int og_follow(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
		     size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	db_set_upstream(db, primary);
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	db_og_get_status(db, &st);
	/* The standby walks replconninfo and attaches to whichever peer is primary (§2.6): listing
	 * primary there is all a running replica needs. */
	int rc = db_og_write_config(db, primary, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	if (st.role == DB_ROLE_PENDING) {
		rc = ctl_notify(db, false, 0, err, err_cap);
		if (rc < 0)
			log_info("%s; reading the role back", err);
	} else if (st.role == DB_ROLE_PRIMARY) {
		/* §2.13 "demote self": there is no in-place demotion; restart as a standby. */
		rc = ctl_restart(db, "standby", DB_OG_STOP_FAST, timeout_ms, err, err_cap);
		if (rc < 0)
			return rc;
	} else if (st.role != DB_ROLE_REPLICA) {
		return 0;
	}
	if (st.role != DB_ROLE_REPLICA) {
		rc = db_og_read_back(db, st.role == DB_ROLE_PENDING ? "notify" : "restart",
				     DB_OG_WANT_STANDBY, deadline, NULL, err, err_cap);
		if (rc < 0)
			return rc;
	}
	char why[DB_ERROR_MAX];
	/* The pin gets at least a connection's time, even when the configuration took it all. */
	int64_t pin_deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
	if (pin_upstream(db, primary, deadline > pin_deadline ? deadline : pin_deadline, why,
			 sizeof(why)) < 0)
		log_warning("could not pin the standby to its primary with disable_conn: %s", why);
	return 0;
}

static int og_ensure_slots(struct db *db, const char names[][MEMBER_NAME_MAX], int count,
			   int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)db;
	(void)names;
	(void)count;
	(void)timeout_ms;
	return err_fail(err, err_cap, -ENOTSUP,
			"openGauss replicates through replconninfo, not "
			"replication slots");
}

static int og_checkpoint(struct db *db, uint64_t *out_lsn, int64_t timeout_ms, char *err,
			 size_t err_cap)
{
	return db_sql_checkpoint(db, OG_CHECKPOINT_SQL, clock_mono_ms() + timeout_ms, out_lsn, err,
				 err_cap);
}

static int og_check_options(const struct db_options *o, char *err, size_t err_cap)
{
	/* openGauss replicates as its initial user (§2.6), so no replication user is needed. */
	int rc = db_check_bin(o, "gs_ctl", err, err_cap);
	/* §2.1: the server opens port + 1 itself (the HA port gs_ctl and the standbys use). */
	if (rc == 0 && o->listen_port >= 65535)
		rc = err_fail(err, err_cap, -EINVAL,
			      "port %d leaves no room for openGauss's HA port (port + 1, "
			      "opengauss.md 2.1)",
			      o->listen_port);
	/* §2.1: the member name is gs_initdb's --nodename, the superuser password its -w: refuse
	 * now what gs_initdb would refuse at bootstrap. */
	if (rc == 0)
		rc = db_og_check_node_name(o->name, err, err_cap);
	if (rc == 0 && o->superuser.password[0])
		rc = db_og_check_password(o->superuser.username, o->superuser.password, err,
					  err_cap);
	return rc;
}

/* §2.4 native switchover, the primary's part (db_hand_over): new transactions are read-only,
 * then a checkpoint fixes the position candidate must have flushed before its gs_ctl
 * switchover; the server keeps running, and the switchover itself demotes it. */
static int og_hand_over(struct db *db, const char *candidate, int64_t timeout_ms, char *err,
			size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_status *st = calloc(1, sizeof(*st));
	if (!st)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	uint64_t target = 0;
	int rc = 0;
	char why[DB_ERROR_MAX];
	db_og_get_status(db, st);
	if (st->role != DB_ROLE_PRIMARY) {
		rc = err_fail(err, err_cap, -ESRCH, "not a running primary (%s)",
			      db_role_name(st->role));
		goto out;
	}
	rc = db_og_set_read_only(db, true, timeout_ms, err, err_cap);
	if (rc < 0)
		goto out;
	rc = og_checkpoint(db, &target, deadline - clock_mono_ms(), err, err_cap);
	while (rc == 0) {
		const struct db_standby *sb = NULL;
		db_og_get_status(db, st);
		for (int i = 0; i < st->standby_count && !sb; i++)
			if (strcmp(st->standbys[i].application_name, candidate) == 0)
				sb = &st->standbys[i];
		if (sb && strcmp(sb->state, "streaming") == 0 && sb->flush_lsn >= target)
			break;
		if (clock_mono_ms() >= deadline) {
			char want[LSN_TEXT_MAX], has[LSN_TEXT_MAX];
			lsn_format(target, want);
			lsn_format(sb ? sb->flush_lsn : 0, has);
			rc = err_fail(err, err_cap, -ETIMEDOUT, "\"%s\" has %s %s, not %s",
				      candidate, sb ? "flushed" : "not attached, at", has, want);
			break;
		}
		clock_sleep_ms(OG_READ_BACK_EVERY_MS);
	}
	if (rc < 0 &&
	    db_og_set_read_only(db, false, db->opts.command_timeout_ms, why, sizeof(why)) < 0)
		log_warning("could not allow writes again: %s", why);
	if (rc == 0) {
		char at[LSN_TEXT_MAX];
		lsn_format(target, at);
		log_notice("writes stopped; \"%s\" has flushed %s: ready for its gs_ctl switchover",
			   candidate, at);
	}
out:
	free(st);
	return rc;
}

static int og_hand_over_abort(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	if (!db_server_running(db))
		return 0;
	return db_og_set_read_only(db, false, timeout_ms, err, err_cap);
}

static void og_free_priv(struct db *db)
{
	free(db->priv);
	db->priv = NULL;
}

const struct db_driver db_opengauss_driver = {
	.name = "opengauss",
	.check_options = og_check_options,
	.get_status = db_og_get_status,
	.read_control = db_og_read_control,
	.begin_bootstrap = db_og_begin_bootstrap,
	.begin_create_replica = db_og_begin_create_replica,
	.begin_rejoin = db_og_begin_rejoin,
	.task_step = db_og_task_step,
	.start = og_start,
	.stop = og_stop,
	.restart = og_restart,
	.reload = og_reload,
	.promote = og_promote,
	.promote_planned = og_promote_planned,
	.follow = og_follow,
	.apply_parameters = db_og_apply_parameters,
	.set_sync_standbys = db_og_set_sync_standbys,
	.ensure_slots = og_ensure_slots,
	.checkpoint = og_checkpoint,
	.fence = db_fence_postmaster,
	.set_peers = db_og_set_peers,
	.free_priv = og_free_priv,
	.set_term = db_og_set_term,
	.hand_over = og_hand_over,
	.hand_over_abort = og_hand_over_abort,
	.freeze_upstream = og_freeze_upstream,
};
