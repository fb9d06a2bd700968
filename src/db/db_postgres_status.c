/*
 * db_postgres_status.c - what the PostgreSQL driver observes: the status queries and their pure
 * parsers (unit-tested), pg_controldata, and db_get_status putting postmaster.pid, the process
 * and SQL together.
 */
#include "db_postgres.h"

#include "db_sql.h"

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "kvtext.h"
#include "lsn.h"
#include "num.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pg_controldata prints about 60 lines of under 80 bytes. */
#define PG_CONTROLDATA_MAX 8192

/* --- Pure parts ------------------------------------------------------------------------------ */

/* Host and port of a primary_conninfo (the first of a multi-host list). Anything unparsable
 * leaves them empty: a bad setting must not hide the rest of the status. */
static void conninfo_target(const char *conninfo, char *host, size_t host_cap, int *port)
{
	host[0] = '\0';
	*port = 0;
	if (!conninfo || !*conninfo)
		return;
	char *msg = NULL;
	PQconninfoOption *opts = db_pq->PQconninfoParse(conninfo, &msg);
	if (!opts) {
		db_pq->PQfreemem(msg);
		return;
	}
	const char *h = NULL;
	const char *ha = NULL;
	const char *pt = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			h = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			ha = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			pt = o->val;
	}
	const char *use = h ? h : ha;
	if (use) {
		size_t n = strcspn(use, ",");
		if (n < host_cap) {
			memcpy(host, use, n);
			host[n] = '\0';
		}
		char first[16] = "5432";
		if (pt) {
			size_t pn = strcspn(pt, ",");
			if (pn > 0 && pn < sizeof(first)) {
				memcpy(first, pt, pn);
				first[pn] = '\0';
			}
		}
		if (host[0] && num_parse_int(first, 1, 65535, port) < 0) {
			host[0] = '\0';
			*port = 0;
		}
	}
	db_pq->PQconninfoFree(opts);
}

int db_pg_parse_xid(const char *v, uint64_t *out)
{
	if (!v || !*v) {
		*out = 0;
		return 0;
	}
	return num_parse_u64(v, 0, UINT32_MAX, out);
}

static int parse_lsn_field(const char *v, uint64_t *out)
{
	if (!v || !*v) {
		*out = 0;
		return 0;
	}
	return lsn_parse(v, out);
}

static int parse_bool_field(const char *v, bool *out)
{
	if (!v || !*v) {
		*out = false;
		return 0;
	}
	if (strcmp(v, "t") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "f") == 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int copy_field(const char *v, char *out, size_t cap)
{
	return buf_copy(out, cap, v ? v : "") == 0 ? 0 : -EINVAL;
}

/* The fields of struct db_status that a status row sets, parsed here first so that st is
 * written only on success without a copy of all of it (27 kB, most of it the standby and slot
 * lists this row does not touch) on the loop's stack each cycle. */
struct status_row {
	int server_version;
	char postmaster_start_time[DB_TIME_MAX];
	char system_identifier[DB_NAME_MAX];
	char replay_timestamp[DB_TIME_MAX];
	char synchronous_standby_names[DB_PARAM_VALUE_MAX];
	uint64_t write_lsn, flush_lsn, receive_lsn, replay_lsn;
	bool replay_paused;
	uint32_t timeline, checkpoint_timeline;
	uint64_t term;
	char upstream_host[DB_HOST_MAX];
	int upstream_port;
	char following_host[DB_HOST_MAX];
	int following_port;
	enum db_repl_state replication_state;
	enum db_role role;
};

static void status_row_store(const struct status_row *s, struct db_status *st)
{
	st->server_version = s->server_version;
	memcpy(st->postmaster_start_time, s->postmaster_start_time,
	       sizeof(st->postmaster_start_time));
	memcpy(st->system_identifier, s->system_identifier, sizeof(st->system_identifier));
	memcpy(st->replay_timestamp, s->replay_timestamp, sizeof(st->replay_timestamp));
	/* by length: the rest of the 1 kB stays as the caller had it, like the other texts */
	memcpy(st->synchronous_standby_names, s->synchronous_standby_names,
	       strlen(s->synchronous_standby_names) + 1);
	st->write_lsn = s->write_lsn;
	st->flush_lsn = s->flush_lsn;
	st->receive_lsn = s->receive_lsn;
	st->replay_lsn = s->replay_lsn;
	st->replay_paused = s->replay_paused;
	st->timeline = s->timeline;
	st->checkpoint_timeline = s->checkpoint_timeline;
	st->term = s->term;
	memcpy(st->upstream_host, s->upstream_host, sizeof(st->upstream_host));
	st->upstream_port = s->upstream_port;
	memcpy(st->following_host, s->following_host, sizeof(st->following_host));
	st->following_port = s->following_port;
	st->replication_state = s->replication_state;
	st->role = s->role;
}

int db_pg_parse_status_row(const char *const v[DB_PG_STATUS_COLS], struct db_status *st)
{
	struct status_row s;
	bool rec;

	memset(&s, 0, sizeof(s));
	if (!v[DB_PG_COL_IN_RECOVERY] || parse_bool_field(v[DB_PG_COL_IN_RECOVERY], &rec) < 0)
		return -EINVAL;
	if (!v[DB_PG_COL_VERSION] ||
	    num_parse_int(v[DB_PG_COL_VERSION], 0, INT_MAX, &s.server_version) < 0)
		return -EINVAL;
	if (copy_field(v[DB_PG_COL_START_TIME], s.postmaster_start_time,
		       sizeof(s.postmaster_start_time)) < 0 ||
	    copy_field(v[DB_PG_COL_SYSID], s.system_identifier, sizeof(s.system_identifier)) < 0 ||
	    copy_field(v[DB_PG_COL_REPLAY_TS], s.replay_timestamp, sizeof(s.replay_timestamp)) <
		    0 ||
	    copy_field(v[DB_PG_COL_SYNC_NAMES], s.synchronous_standby_names,
		       sizeof(s.synchronous_standby_names)) < 0)
		return -EINVAL;
	if (parse_lsn_field(v[DB_PG_COL_WRITE_LSN], &s.write_lsn) < 0 ||
	    parse_lsn_field(v[DB_PG_COL_FLUSH_LSN], &s.flush_lsn) < 0 ||
	    parse_lsn_field(v[DB_PG_COL_RECEIVE_LSN], &s.receive_lsn) < 0 ||
	    parse_lsn_field(v[DB_PG_COL_REPLAY_LSN], &s.replay_lsn) < 0 ||
	    parse_bool_field(v[DB_PG_COL_PAUSED], &s.replay_paused) < 0)
		return -EINVAL;
	int tli = 0;
	const char *tli_text = rec ? (v[DB_PG_COL_RECEIVED_TLI] && *v[DB_PG_COL_RECEIVED_TLI]
					      ? v[DB_PG_COL_RECEIVED_TLI]
					      : v[DB_PG_COL_CHECKPOINT_TLI])
				   : v[DB_PG_COL_PRIMARY_TLI];
	if (tli_text && *tli_text && num_parse_int(tli_text, 0, INT_MAX, &tli) < 0)
		return -EINVAL;
	s.timeline = (uint32_t)tli;
	/* A primary's pg_control timeline lags its own until the promotion's first checkpoint. */
	tli = 0;
	if (!rec && v[DB_PG_COL_CHECKPOINT_TLI] && *v[DB_PG_COL_CHECKPOINT_TLI] &&
	    num_parse_int(v[DB_PG_COL_CHECKPOINT_TLI], 0, INT_MAX, &tli) < 0)
		return -EINVAL;
	s.checkpoint_timeline = (uint32_t)tli;
	s.term = 0;
	s.upstream_host[0] = '\0';
	s.upstream_port = 0;
	s.following_host[0] = '\0';
	s.following_port = 0;
	s.replication_state = DB_REPL_NONE;
	if (rec) {
		const char *ws = v[DB_PG_COL_RECEIVER_STATUS];
		if (ws && strcmp(ws, "streaming") == 0)
			s.replication_state = DB_REPL_STREAMING;
		else if (ws && (strcmp(ws, "starting") == 0 || strcmp(ws, "waiting") == 0 ||
				strcmp(ws, "restarting") == 0))
			s.replication_state = DB_REPL_CONNECTING;
		else
			s.replication_state = DB_REPL_DISCONNECTED;
		if (copy_field(v[DB_PG_COL_SENDER_HOST], s.upstream_host, sizeof(s.upstream_host)) <
		    0)
			return -EINVAL;
		const char *sp = v[DB_PG_COL_SENDER_PORT];
		if (sp && *sp && num_parse_int(sp, 0, 65535, &s.upstream_port) < 0)
			return -EINVAL;
		conninfo_target(v[DB_PG_COL_PRIMARY_CONNINFO], s.following_host,
				sizeof(s.following_host), &s.following_port);
		s.write_lsn = 0;
		s.flush_lsn = 0;
	} else {
		s.receive_lsn = 0;
		s.replay_lsn = 0;
		s.replay_timestamp[0] = '\0';
		s.replay_paused = false;
	}
	s.role = rec ? DB_ROLE_REPLICA : DB_ROLE_PRIMARY;
	status_row_store(&s, st);
	return 0;
}

int db_pg_parse_standby_row(const char *const v[DB_PG_STANDBY_COLS], struct db_standby *out)
{
	struct db_standby sb;
	memset(&sb, 0, sizeof(sb));
	if (copy_field(v[DB_PG_SB_APP], sb.application_name, sizeof(sb.application_name)) < 0 ||
	    copy_field(v[DB_PG_SB_USER], sb.usename, sizeof(sb.usename)) < 0 ||
	    copy_field(v[DB_PG_SB_ADDR], sb.client_addr, sizeof(sb.client_addr)) < 0 ||
	    copy_field(v[DB_PG_SB_STATE], sb.state, sizeof(sb.state)) < 0)
		return -EINVAL;
	const char *ss = v[DB_PG_SB_SYNC_STATE] ? v[DB_PG_SB_SYNC_STATE] : "async";
	if (strcmp(ss, "async") == 0)
		sb.sync_state = DB_SYNC_ASYNC;
	else if (strcmp(ss, "potential") == 0)
		sb.sync_state = DB_SYNC_POTENTIAL;
	else if (strcmp(ss, "sync") == 0)
		sb.sync_state = DB_SYNC_SYNC;
	else if (strcmp(ss, "quorum") == 0)
		sb.sync_state = DB_SYNC_QUORUM;
	else
		return -EINVAL;
	const char *pr = v[DB_PG_SB_SYNC_PRIORITY];
	if (pr && *pr && num_parse_int(pr, 0, INT_MAX, &sb.sync_priority) < 0)
		return -EINVAL;
	if (parse_lsn_field(v[DB_PG_SB_SENT], &sb.sent_lsn) < 0 ||
	    parse_lsn_field(v[DB_PG_SB_WRITE], &sb.write_lsn) < 0 ||
	    parse_lsn_field(v[DB_PG_SB_FLUSH], &sb.flush_lsn) < 0 ||
	    parse_lsn_field(v[DB_PG_SB_REPLAY], &sb.replay_lsn) < 0)
		return -EINVAL;
	*out = sb;
	return 0;
}

int db_pg_parse_controldata(const char *text, struct db_control *out)
{
	struct db_control c;
	memset(&c, 0, sizeof(c));
	char v[DB_STATE_MAX];
	int tli;
	if (!kvtext_value(text, "Database cluster state", c.cluster_state,
			  sizeof(c.cluster_state)) ||
	    !kvtext_value(text, "Database system identifier", c.system_identifier,
			  sizeof(c.system_identifier)))
		return -EINVAL;
	if (!kvtext_value(text, "Latest checkpoint location", v, sizeof(v)) ||
	    lsn_parse(v, &c.checkpoint_lsn) < 0)
		return -EINVAL;
	if (!kvtext_value(text, "Latest checkpoint's REDO location", v, sizeof(v)) ||
	    lsn_parse(v, &c.redo_lsn) < 0)
		return -EINVAL;
	if (!kvtext_value(text, "Latest checkpoint's TimeLineID", v, sizeof(v)) ||
	    num_parse_int(v, 0, INT_MAX, &tli) < 0)
		return -EINVAL;
	c.timeline = (uint32_t)tli;
	if (kvtext_value(text, "Min recovery ending loc's timeline", v, sizeof(v)) &&
	    num_parse_int(v, 0, INT_MAX, &tli) == 0)
		c.min_recovery_timeline = (uint32_t)tli;
	if (kvtext_value(text, "Minimum recovery ending location", v, sizeof(v)) &&
	    lsn_parse(v, &c.min_recovery_lsn) < 0)
		c.min_recovery_lsn = 0;
	if (kvtext_value(text, "wal_log_hints setting", v, sizeof(v)))
		c.wal_log_hints = strcmp(v, "on") == 0;
	if (kvtext_value(text, "Data page checksum version", v, sizeof(v)))
		c.data_checksums = strcmp(v, "0") != 0;
	*out = c;
	return 0;
}

/* --- Status ---------------------------------------------------------------------------------- */

int db_pg_history_switchpoint(const char *text, uint32_t tli, uint64_t *switchpoint)
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[256], tok[2][LSN_TEXT_MAX + 8];
		int ntok = 0;
		size_t i = 0;
		if (len >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (eol ? 1 : 0);
		/* the first two whitespace-separated fields; the reason after them is free text */
		while (ntok < 2) {
			size_t n = 0;
			while (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')
				i++;
			if (line[i] == '\0' || line[i] == '#')
				break;
			while (line[i] && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
				if (n + 1 >= sizeof(tok[0]))
					return -EINVAL;
				tok[ntok][n++] = line[i++];
			}
			tok[ntok++][n] = '\0';
		}
		if (ntok == 0)
			continue;
		int64_t parent;
		uint64_t lsn;
		if (ntok != 2 || num_parse_i64(tok[0], 1, UINT32_MAX, &parent) < 0 ||
		    lsn_parse(tok[1], &lsn) < 0)
			return -EINVAL;
		if ((uint32_t)parent == tli) {
			*switchpoint = lsn;
			return 0;
		}
	}
	return -ENOENT;
}

static const char status_sql[] =
	"SELECT pg_catalog.pg_is_in_recovery(),"
	" pg_catalog.current_setting('server_version_num'),"
	" pg_catalog.to_char(pg_catalog.pg_postmaster_start_time() AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00',"
	" (SELECT system_identifier FROM pg_catalog.pg_control_system()),"
	" CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL"
	" ELSE pg_catalog.pg_current_wal_lsn() END,"
	" CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL"
	" ELSE pg_catalog.pg_current_wal_flush_lsn() END,"
	" pg_catalog.pg_last_wal_receive_lsn(),"
	" pg_catalog.pg_last_wal_replay_lsn(),"
	" pg_catalog.to_char(pg_catalog.pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00',"
	" CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_is_wal_replay_paused()"
	" ELSE false END,"
	" w.status, w.received_tli, w.sender_host, w.sender_port,"
	" (SELECT timeline_id FROM pg_catalog.pg_control_checkpoint()),"
	" CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL"
	" ELSE ('x' || pg_catalog.substr(pg_catalog.pg_walfile_name("
	"pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END,"
	" pg_catalog.current_setting('synchronous_standby_names'),"
	" pg_catalog.current_setting('primary_conninfo')"
	" FROM pg_catalog.pg_stat_get_wal_receiver() w";

static const char standbys_sql[] =
	"SELECT application_name, usename, COALESCE(client_addr::text, ''), state, sync_state,"
	" sync_priority, sent_lsn, write_lsn, flush_lsn, replay_lsn"
	" FROM pg_catalog.pg_stat_replication ORDER BY application_name, pid";

const char db_pg_slots_sql[] =
	"SELECT slot_name, active, restart_lsn, slot_type = 'logical',"
	" COALESCE(database::text, ''), COALESCE(plugin::text, ''), confirmed_flush_lsn,"
	" COALESCE(catalog_xmin::text, '')"
	" FROM pg_catalog.pg_replication_slots WHERE NOT temporary ORDER BY slot_name";

static const char pending_sql[] =
	"SELECT name FROM pg_catalog.pg_settings WHERE pending_restart ORDER BY name";

/* The status queries (db_sql_status_fn): fills st's SQL fields. */
static int query_status(struct db *db, PGconn *conn, int64_t deadline, struct db_status *st,
			char *err, size_t err_cap)
{
	(void)db;
	PGresult *res;
	int rc = db_sql_one_row(conn, status_sql, DB_PG_STATUS_COLS, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	const char *v[DB_PG_STATUS_COLS];
	for (int i = 0; i < DB_PG_STATUS_COLS; i++)
		v[i] = db_sql_value(res, 0, i);
	rc = db_pg_parse_status_row(v, st);
	db_pq->PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "status query returned a malformed value");

	if (st->role == DB_ROLE_PRIMARY) {
		rc = db_sql_query(conn, standbys_sql, deadline, &res, err, err_cap);
		if (rc < 0)
			return rc;
		int n = db_pq->PQntuples(res);
		if (db_pq->PQnfields(res) != DB_PG_STANDBY_COLS)
			n = 0;
		for (int r = 0; r < n; r++) {
			if (st->standby_count >= DB_STANDBYS_MAX) {
				st->standbys_omitted++;
				continue;
			}
			const char *sv[DB_PG_STANDBY_COLS];
			for (int i = 0; i < DB_PG_STANDBY_COLS; i++)
				sv[i] = db_sql_value(res, r, i);
			if (db_pg_parse_standby_row(sv, &st->standbys[st->standby_count]) == 0)
				st->standby_count++;
			else
				st->standbys_omitted++;
		}
		db_pq->PQclear(res);
	}

	rc = db_sql_query(conn, db_pg_slots_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < db_pq->PQntuples(res) && db_pq->PQnfields(res) == 8; r++) {
		if (st->slot_count >= DB_SLOTS_MAX) {
			st->slots_omitted++;
			continue;
		}
		struct db_slot *s = &st->slots[st->slot_count];
		const char *lsn = db_sql_value(res, r, 2);
		if (copy_field(db_sql_value(res, r, 0), s->name, sizeof(s->name)) < 0 ||
		    parse_bool_field(db_sql_value(res, r, 1), &s->active) < 0 ||
		    parse_lsn_field(lsn, &s->restart_lsn) < 0 ||
		    parse_bool_field(db_sql_value(res, r, 3), &s->logical) < 0 ||
		    copy_field(db_sql_value(res, r, 4), s->database, sizeof(s->database)) < 0 ||
		    copy_field(db_sql_value(res, r, 5), s->plugin, sizeof(s->plugin)) < 0 ||
		    parse_lsn_field(db_sql_value(res, r, 6), &s->confirmed_flush_lsn) < 0 ||
		    db_pg_parse_xid(db_sql_value(res, r, 7), &s->catalog_xmin) < 0) {
			memset(s, 0, sizeof(*s));
			st->slots_omitted++;
			continue;
		}
		st->slot_count++;
	}
	db_pq->PQclear(res);

	rc = db_sql_query(conn, pending_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < db_pq->PQntuples(res) && db_pq->PQnfields(res) == 1; r++) {
		st->pending_restart = true;
		/* The first DB_PENDING_MAX are named; the count says how many there are. */
		if (st->pending_count < DB_PENDING_MAX &&
		    copy_field(db_sql_value(res, r, 0), st->pending[st->pending_count],
			       sizeof(st->pending[0])) < 0)
			st->pending[st->pending_count][0] = '\0';
		st->pending_count++;
	}
	db_pq->PQclear(res);
	return 0;
}

/* A cluster that last ran as a primary: following anyone else may need a rewind. */
static bool state_was_primary(const char *cluster_state)
{
	return strcmp(cluster_state, "in production") == 0 ||
	       strcmp(cluster_state, "shut down") == 0 ||
	       strcmp(cluster_state, "in crash recovery") == 0;
}

/* The driver's state (db->priv): the kept status connection, allocated on the first read. Without
 * memory for it, status reads open a connection each, as before. */
struct db_sql_kept *db_pg_status_conn(struct db *db)
{
	if (!db->priv)
		db->priv = calloc(1, sizeof(struct db_sql_kept));
	return db->priv;
}

void db_pg_close_status_conn(struct db *db)
{
	db_sql_kept_close(db->priv);
}

void db_pg_free_priv(struct db *db)
{
	db_sql_kept_close(db->priv);
	free(db->priv);
	db->priv = NULL;
}

/* Is name "<8 hex>" followed by exactly rest? Its timeline in *tli. */
static bool wal_name(const char *name, size_t hex, const char *rest, uint32_t *tli)
{
	uint32_t v = 0;
	for (size_t i = 0; i < hex; i++) {
		char ch = name[i];
		int d = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
						 : -1;
		if (d < 0)
			return false;
		if (i < 8)
			v = v * 16 + (uint32_t)d;
	}
	if (strcmp(name + hex, rest) != 0)
		return false;
	*tli = v;
	return true;
}

/* The newest timeline history file in pg_wal, when it is newer than above: its timeline in
 * *hist_tli and its text (a history longer than the buffer, dozens of timelines, loses its cut
 * last line; *whole says whether all of it was read). Also the newest timeline of a WAL segment
 * in pg_wal, in *seg_tli. Returns 0 when such a history file was read. */
#define HISTORY_TEXT_MAX 4096 /* dozens of timelines: enough to find ours */
static int newest_history(struct db *db, uint32_t above, uint32_t *seg_tli, uint32_t *hist_tli,
			  char text[HISTORY_TEXT_MAX], bool *whole)
{
	char path[DB_PATH_MAX + 32];
	uint32_t tli;
	struct dirent *e;
	DIR *d;
	*seg_tli = 0;
	*hist_tli = 0;
	if (snprintf(path, sizeof(path), "%s/pg_wal", db->opts.data_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strlen(e->d_name) >= 24 && (wal_name(e->d_name, 24, "", &tli) ||
						wal_name(e->d_name, 24, ".partial", &tli))) {
			if (tli > *seg_tli)
				*seg_tli = tli;
		} else if (wal_name(e->d_name, 8, ".history", &tli) && tli > *hist_tli) {
			*hist_tli = tli;
		}
	}
	closedir(d);
	if (above == 0)
		above = *seg_tli;
	if (above == 0 || *hist_tli <= above)
		return -ENOENT;
	if (snprintf(path, sizeof(path), "%s/pg_wal/%08X.history", db->opts.data_dir, *hist_tli) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, text, HISTORY_TEXT_MAX - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	text[n] = '\0';
	*whole = (size_t)n < HISTORY_TEXT_MAX - 1;
	if (!*whole) {
		char *eol = strrchr(text, '\n');
		if (!eol)
			return -EIO;
		eol[1] = '\0';
	}
	return 0;
}

/* A running replica that is not streaming: has its upstream a timeline it cannot follow? The
 * history files the WAL receiver fetched from the upstream are in pg_wal; the newest one names a
 * timeline this replica has no WAL of yet. When the timeline whose WAL it does hold ends in that
 * history before the replica's replay position (or is not in it at all), the startup process
 * cannot switch (PostgreSQL's rescanLatestTimeLine: "forked off the current database system
 * timeline before current recovery point") and waits forever: st->fork_timeline says so. */
static void check_fork(struct db *db, struct db_status *st)
{
	char text[HISTORY_TEXT_MAX];
	uint32_t seg_tli, hist_tli;
	bool whole;
	if (newest_history(db, 0, &seg_tli, &hist_tli, text, &whole) != 0)
		return;
	uint64_t fork = 0;
	int rc = db_pg_history_switchpoint(text, seg_tli, &fork);
	if ((rc == -ENOENT && whole) || (rc == 0 && fork < st->replay_lsn)) {
		st->fork_timeline = hist_tli;
		st->fork_lsn = fork;
	}
}

void db_pg_probe_status(struct db *db, struct db_status *st)
{
	struct db_probe probe;
	db_sql_observe_kept(db, query_status, db_pg_status_conn(db), &probe, st);
}

/* A stopped server: would its start fail on the newest timeline in pg_wal? PostgreSQL refuses
 * to start when its latest checkpoint lies on or past the point where that timeline forked off
 * its own ("requested timeline N is not a child of this server's history"), or its minimum
 * recovery point past it: a former primary that started on the old timeline after a rewind that
 * had nothing to undo (its source had not yet checkpointed its promotion) is left so, and every
 * start fails until it is rewound. */
static void check_fork_stopped(struct db *db, const struct db_control *c, struct db_status *st)
{
	char text[HISTORY_TEXT_MAX];
	uint32_t seg_tli, hist_tli, tli = c->timeline;
	uint64_t ckpt = c->checkpoint_lsn, minrec = 0, fork = 0;
	bool whole;
	if (c->min_recovery_timeline > tli) {
		tli = c->min_recovery_timeline;
		ckpt = 0;
	}
	if (c->min_recovery_timeline == tli)
		minrec = c->min_recovery_lsn;
	if (tli == 0 || newest_history(db, tli, &seg_tli, &hist_tli, text, &whole) != 0)
		return;
	int rc = db_pg_history_switchpoint(text, tli, &fork);
	if ((rc == -ENOENT && whole) ||
	    (rc == 0 && ((ckpt != 0 && ckpt >= fork) || (minrec != 0 && minrec > fork)))) {
		st->fork_timeline = hist_tli;
		st->fork_lsn = fork;
	}
}

void db_pg_get_status(struct db *db, struct db_status *st)
{
	struct db_probe probe;
	db_sql_observe_kept(db, query_status, db_pg_status_conn(db), &probe, st);
	if (st->running && st->role == DB_ROLE_REPLICA &&
	    st->replication_state != DB_REPL_STREAMING && st->replay_lsn > 0 &&
	    !db_task_running(db))
		check_fork(db, st);
	if (!st->running && st->initialized && probe.pidfile_rc != -EINVAL &&
	    !db_task_running(db)) {
		struct db_control c;
		char why[DB_ERROR_MAX];
		if (db_pg_read_control(db, &c, db->opts.connect_timeout_ms, why, sizeof(why)) ==
		    0) {
			db->control_seen = c;
			db->control_seen_fresh = true;
			memcpy(st->cluster_state, c.cluster_state, sizeof(st->cluster_state));
			memcpy(st->system_identifier, c.system_identifier,
			       sizeof(st->system_identifier));
			st->timeline = c.timeline;
			st->needs_rejoin = state_was_primary(c.cluster_state);
			check_fork_stopped(db, &c, st);
		}
	}
}

int db_pg_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
		       size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "pg_controldata", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "-D", db->opts.data_dir, NULL };
	char *text = malloc(PG_CONTROLDATA_MAX);
	if (!text)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = db_run(db, argv, timeout_ms, text, PG_CONTROLDATA_MAX, err, err_cap);
	if (rc == 0) {
		rc = db_pg_parse_controldata(text, out);
		if (rc < 0)
			err_fail(err, err_cap, -EIO, "could not parse pg_controldata output");
	}
	free(text);
	return rc;
}
