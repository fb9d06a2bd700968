/*
 * db_postgres.c - the PostgreSQL (12 and later) driver.
 *
 * pg_ctl for start/stop/reload/promote, initdb for a new cluster, pg_basebackup for a new
 * replica, pg_rewind for a diverged old primary. A replica is standby.signal plus
 * primary_conninfo (and primary_slot_name when use_slots) in the postgresql.conf gsha writes
 * (layout: see db_postgres.h). Status comes from postmaster.pid plus kill(pid, 0), then SQL.
 */
#include "db_postgres.h"

#include "buf.h"
#include "err.h"
#include "clock.h"
#include "db_sql.h"
#include "log.h"
#include "lsn.h"
#include "num.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest path of a file inside the data directory. */
#define PG_FILE_PATH_MAX (DB_PATH_MAX + 64)
/* Longest argument we render for a command line (--source-server=..., -d ...). */
#define PG_ARG_MAX (DB_CONNINFO_MAX + 32)
/* pg_controldata prints about 60 lines of under 80 bytes. */
#define PG_CONTROLDATA_MAX 8192
/* The tail of the server log we quote when a start fails. */
#define PG_LOG_TAIL_MAX 1024
/* Longest SQL statement we build (CREATE ROLE with an escaped password is the long one). */
#define PG_SQL_MAX 2048
/* Extra time a background command gets beyond the -t we give pg_ctl, so pg_ctl's own timeout
 * fires first and we never kill a postmaster pg_ctl is still waiting for. */
#define PG_CTL_MARGIN_MS 10000

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

/* --- Pure parts ------------------------------------------------------------------------------ */

int db_pg_conninfo(const struct db *db, const struct db_peer *peer, const struct db_user *user,
		   const char *dbname, char *out, size_t out_cap)
{
	char port[16];
	if (out_cap == 0 || buf_format(port, sizeof(port), "%d", peer->port) != 0)
		return -EINVAL;
	out[0] = '\0';
	if (db_conninfo_add(out, out_cap, "user", user->username) < 0 ||
	    db_conninfo_add(out, out_cap, "passfile", db->opts.pgpass_path) < 0 ||
	    db_conninfo_add(out, out_cap, "host", peer->host) < 0 ||
	    db_conninfo_add(out, out_cap, "port", port) < 0 ||
	    (dbname && db_conninfo_add(out, out_cap, "dbname", dbname) < 0) ||
	    db_conninfo_add(out, out_cap, "application_name", db->opts.name) < 0 ||
	    db_conninfo_add(out, out_cap, "connect_timeout", "5") < 0) {
		out[0] = '\0';
		return -ENOBUFS;
	}
	return 0;
}

/* Parameters a configuration must never set: they would move the data or the file we write. */
static bool forbidden_param(const char *name)
{
	static const char *const names[] = { "data_directory",	 "config_file", "hba_file",
					     "ident_file",	 "include",	"include_dir",
					     "include_if_exists" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0)
			return true;
	}
	return false;
}

int db_pg_render_conf(const struct db *db, bool replica, const char *preserved, char *out,
		      size_t out_cap)
{
	const struct db_options *o = &db->opts;
	/* Merged view: configured parameters first, then what the driver insists on. */
	struct db_params *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->count = 0;
	int rc = 0;
	char num[32];
	for (int i = 0; i < o->parameters.count && rc == 0; i++) {
		const struct db_param *pp = &o->parameters.items[i];
		if (forbidden_param(pp->name))
			continue;
		rc = db_params_set(p, pp->name, pp->value);
	}
	if (rc == 0 && !db_params_get(p, "wal_level"))
		rc = db_params_set(p, "wal_level", "replica");
	if (rc == 0 && !db_params_get(p, "max_wal_senders"))
		rc = db_params_set(p, "max_wal_senders", "10");
	if (rc == 0 && !db_params_get(p, "max_replication_slots"))
		rc = db_params_set(p, "max_replication_slots", "10");
	if (rc == 0 && o->listen_host[0])
		rc = db_params_set(p, "listen_addresses", o->listen_host);
	if (rc == 0 && buf_format(num, sizeof(num), "%d", o->listen_port) == 0)
		rc = db_params_set(p, "port", num);
	if (rc == 0 && o->scope[0])
		rc = db_params_set(p, "cluster_name", o->scope);
	if (rc == 0)
		rc = db_params_set(p, "hot_standby", "on");
	if (rc == 0 && o->use_pg_rewind)
		rc = db_params_set(p, "wal_log_hints", "on");
	if (rc == 0 && db->sync_managed) {
		char names[DB_PARAM_VALUE_MAX];
		rc = db_render_sync_names(&db->sync, names, sizeof(names));
		if (rc == 0)
			rc = db_params_set(p, "synchronous_standby_names", names);
	}
	/* Recovery settings belong to the driver alone. */
	for (int i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].name, "primary_conninfo") == 0 ||
		    strcmp(p->items[i].name, "primary_slot_name") == 0) {
			p->items[i] = p->items[--p->count];
			i--;
		}
	}
	if (rc < 0)
		goto out_free;

	out[0] = '\0';
	rc = -ENOBUFS;
	if (buf_format(out, out_cap,
		       DB_PG_CONF_HEADER "\n# Put settings in the gsha configuration; the original "
					 "file is " DB_PG_BASE_CONF ".\ninclude '" DB_PG_BASE_CONF
					 "'\n\n") != 0)
		goto out_free;
	for (int i = 0; i < p->count; i++) {
		rc = db_conf_add(out, out_cap, p->items[i].name, p->items[i].value);
		if (rc < 0)
			goto out_free;
	}
	if (replica) {
		/* recovery_target_timeline is left at its default, 'latest' since PostgreSQL 12:
		 * writing it only for replicas would make every promotion a pending restart. */
		if (db->has_upstream) {
			char ci[DB_CONNINFO_MAX];
			char slot[DB_NAME_MAX];
			if (db_pg_conninfo(db, &db->upstream, &o->replication, NULL, ci,
					   sizeof(ci)) < 0 ||
			    db_conf_add(out, out_cap, "primary_conninfo", ci) < 0) {
				rc = -ENOBUFS;
				goto out_free;
			}
			if (o->use_slots &&
			    (db_slot_name(o->name, slot, sizeof(slot)) < 0 ||
			     db_conf_add(out, out_cap, "primary_slot_name", slot) < 0)) {
				rc = -ENOBUFS;
				goto out_free;
			}
		} else if (!db->upstream_known && preserved && preserved[0]) {
			size_t len = strlen(out);
			if (len + strlen(preserved) + 1 > out_cap) {
				rc = -ENOBUFS;
				goto out_free;
			}
			memcpy(out + len, preserved, strlen(preserved) + 1);
		}
	}
	rc = 0;
out_free:
	free(p);
	if (rc < 0 && out_cap > 0)
		out[0] = '\0';
	return rc;
}

int db_pg_recovery_lines(const char *conf, char *out, size_t out_cap)
{
	if (out_cap == 0)
		return -ENOBUFS;
	out[0] = '\0';
	size_t len = 0;
	const char *p = conf;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if ((strncmp(p, "primary_conninfo = ", 19) == 0 ||
		     strncmp(p, "primary_slot_name = ", 20) == 0)) {
			if (len + n + 2 > out_cap) {
				out[0] = '\0';
				return -ENOBUFS;
			}
			memcpy(out + len, p, n);
			len += n;
			out[len++] = '\n';
			out[len] = '\0';
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/* Host and port of a primary_conninfo (the first of a multi-host list). Anything unparsable
 * leaves them empty: a bad setting must not hide the rest of the status. */
static void conninfo_target(const char *conninfo, char *host, size_t host_cap, int *port)
{
	host[0] = '\0';
	*port = 0;
	if (!conninfo || !*conninfo)
		return;
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
	if (!opts) {
		PQfreemem(msg);
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
	PQconninfoFree(opts);
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

int db_pg_parse_status_row(const char *const v[DB_PG_STATUS_COLS], struct db_status *st)
{
	struct db_status s = *st;
	bool rec;
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
	*st = s;
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

/* Finds "key:" at the start of a line and returns its value, trimmed, in out. */
static bool control_value(const char *text, const char *key, char *out, size_t out_cap)
{
	size_t klen = strlen(key);
	const char *p = text;
	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			const char *v = p + klen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\n");
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\r'))
				n--;
			if (n + 1 > out_cap)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

int db_pg_parse_controldata(const char *text, struct db_control *out)
{
	struct db_control c;
	memset(&c, 0, sizeof(c));
	char v[DB_STATE_MAX];
	int tli;
	if (!control_value(text, "Database cluster state", c.cluster_state,
			   sizeof(c.cluster_state)) ||
	    !control_value(text, "Database system identifier", c.system_identifier,
			   sizeof(c.system_identifier)))
		return -EINVAL;
	if (!control_value(text, "Latest checkpoint location", v, sizeof(v)) ||
	    lsn_parse(v, &c.checkpoint_lsn) < 0)
		return -EINVAL;
	if (!control_value(text, "Latest checkpoint's REDO location", v, sizeof(v)) ||
	    lsn_parse(v, &c.redo_lsn) < 0)
		return -EINVAL;
	if (!control_value(text, "Latest checkpoint's TimeLineID", v, sizeof(v)) ||
	    num_parse_int(v, 0, INT_MAX, &tli) < 0)
		return -EINVAL;
	c.timeline = (uint32_t)tli;
	if (control_value(text, "Min recovery ending loc's timeline", v, sizeof(v)) &&
	    num_parse_int(v, 0, INT_MAX, &tli) == 0)
		c.min_recovery_timeline = (uint32_t)tli;
	if (control_value(text, "wal_log_hints setting", v, sizeof(v)))
		c.wal_log_hints = strcmp(v, "on") == 0;
	if (control_value(text, "Data page checksum version", v, sizeof(v)))
		c.data_checksums = strcmp(v, "0") != 0;
	*out = c;
	return 0;
}

void db_pg_classify(const struct db_pg_probe *probe, struct db_status *st)
{
	st->initialized = probe->initialized;
	st->running = false;
	st->accepting = false;
	st->postmaster_pid = 0;
	if (probe->pidfile_rc == -ENOENT) {
		st->role = DB_ROLE_STOPPED;
		if (!probe->initialized)
			snprintf(st->detail, sizeof(st->detail),
				 "data directory is not initialized");
		return;
	}
	if (probe->pidfile_rc < 0) {
		st->role = DB_ROLE_UNKNOWN;
		snprintf(st->detail, sizeof(st->detail), "could not read postmaster.pid: %s",
			 strerror(-probe->pidfile_rc));
		return;
	}
	st->postmaster_pid = probe->pf.pid;
	if (!probe->alive) {
		st->role = DB_ROLE_CRASHED;
		snprintf(st->detail, sizeof(st->detail),
			 "postmaster.pid names pid %d, which is not running", probe->pf.pid);
		return;
	}
	st->running = true;
	if (probe->connected) {
		st->accepting = true;
		st->role = probe->in_recovery ? DB_ROLE_REPLICA : DB_ROLE_PRIMARY;
		return;
	}
	const char *e = probe->conn_error;
	const char *pm = probe->pf.status;
	if (strcmp(pm, "stopping") == 0 || strstr(e, "shutting down"))
		st->role = DB_ROLE_STOPPING;
	else if (strcmp(pm, "starting") == 0 || pm[0] == '\0' || strstr(e, "starting up") ||
		 strstr(e, "in recovery mode") || strstr(e, "not yet accepting"))
		st->role = DB_ROLE_STARTING;
	else
		st->role = DB_ROLE_UNKNOWN; /* "ready" or "standby" yet no answer: hung */
	snprintf(st->detail, sizeof(st->detail), "%s", e);
}

/* --- Files ---------------------------------------------------------------------------------- */

static int data_path(const struct db *db, const char *name, char *out, size_t cap)
{
	return buf_format(out, cap, "%s/%s", db->opts.data_dir, name) == 0 ? 0 : -ENAMETOOLONG;
}

static bool data_file_exists(const struct db *db, const char *name)
{
	char path[PG_FILE_PATH_MAX];
	return data_path(db, name, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* Reads a small file whole into a malloc'd string; NULL when absent or too big. */
static char *read_small_file(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *data = malloc(max + 1);
	size_t len = 0;
	while (data) {
		ssize_t r = read(fd, data + len, max - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(data);
			data = NULL;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == max) {
			free(data);
			data = NULL;
			break;
		}
	}
	close(fd);
	if (data)
		data[len] = '\0';
	return data;
}

/* Keeps initdb's (or the clone's) postgresql.conf as postgresql.base.conf, once. */
static int keep_base_conf(struct db *db, char *err, size_t err_cap)
{
	char conf[PG_FILE_PATH_MAX];
	char base[PG_FILE_PATH_MAX];
	if (data_path(db, "postgresql.conf", conf, sizeof(conf)) < 0 ||
	    data_path(db, DB_PG_BASE_CONF, base, sizeof(base)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "data directory path too long");
	if (access(base, F_OK) == 0)
		return 0;
	char *text = read_small_file(conf, DB_CONF_MAX);
	bool ours = text && strncmp(text, DB_PG_CONF_HEADER, strlen(DB_PG_CONF_HEADER)) == 0;
	free(text);
	if (access(conf, F_OK) == 0 && !ours) {
		if (rename(conf, base) != 0)
			return err_fail(err, err_cap, -errno, "could not rename \"%s\": %s", conf,
					strerror(errno));
		return 0;
	}
	return db_write_file(base, "# written by gsha: the original postgresql.conf was missing\n",
			     0600, err, err_cap);
}

/* Writes postgresql.conf, pg_hba.conf (when configured), the pgpass file and standby.signal
 * (created for a replica, removed for a primary). Files that already hold the right contents
 * are left alone; *reload_needed (may be NULL) says whether postgresql.conf or pg_hba.conf
 * changed. */
static int write_config(struct db *db, bool replica, bool *reload_needed, char *err, size_t err_cap)
{
	bool conf_changed = false;
	bool hba_changed = false;
	int rc = keep_base_conf(db, err, err_cap);
	if (rc < 0)
		return rc;
	char conf_path[PG_FILE_PATH_MAX];
	char signal_path[PG_FILE_PATH_MAX];
	if (data_path(db, "postgresql.conf", conf_path, sizeof(conf_path)) < 0 ||
	    data_path(db, "standby.signal", signal_path, sizeof(signal_path)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "data directory path too long");
	char *preserved = NULL;
	if (replica && !db->upstream_known) {
		char *old = read_small_file(conf_path, DB_CONF_MAX);
		if (old) {
			preserved = malloc(DB_CONNINFO_MAX * 2);
			if (preserved &&
			    db_pg_recovery_lines(old, preserved, DB_CONNINFO_MAX * 2) < 0)
				preserved[0] = '\0';
			free(old);
		}
	}
	char *text = malloc(DB_CONF_MAX);
	if (!text) {
		free(preserved);
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	}
	rc = db_pg_render_conf(db, replica, preserved, text, DB_CONF_MAX);
	free(preserved);
	if (rc < 0) {
		free(text);
		return err_fail(err, err_cap, rc, "could not render postgresql.conf: %s",
				rc == -EINVAL ? "a parameter name or value cannot be written"
					      : "too large");
	}
	rc = db_write_file_if_changed(conf_path, text, 0600, &conf_changed, err, err_cap);
	free(text);
	if (rc < 0)
		return rc;
	if (db->opts.hba_count > 0) {
		struct buf b;
		buf_init(&b, DB_CONF_MAX);
		rc = buf_puts(&b, "# Written by gsha from postgresql.pg_hba.\n");
		for (int i = 0; i < db->opts.hba_count && rc == 0; i++)
			rc = buf_printf(&b, "%s\n", db->opts.hba[i]);
		char hba_path[PG_FILE_PATH_MAX];
		if (rc == 0 && data_path(db, "pg_hba.conf", hba_path, sizeof(hba_path)) == 0)
			rc = db_write_file_if_changed(hba_path, b.data, 0600, &hba_changed, err,
						      err_cap);
		else if (rc == 0)
			rc = err_fail(err, err_cap, -ENAMETOOLONG, "data directory path too long");
		else
			rc = err_fail(err, err_cap, rc, "could not render pg_hba.conf");
		buf_done(&b);
		if (rc < 0)
			return rc;
	}
	rc = db_write_pgpass(db, err, err_cap);
	if (rc < 0)
		return rc;
	if (reload_needed)
		*reload_needed = conf_changed || hba_changed;
	if (replica) {
		if (access(signal_path, F_OK) != 0)
			return db_write_file(signal_path, "", 0600, err, err_cap);
	} else if (unlink(signal_path) != 0 && errno != ENOENT) {
		return err_fail(err, err_cap, -errno, "could not remove \"%s\": %s", signal_path,
				strerror(errno));
	}
	return 0;
}

/* The last non-empty line of the server log, for "could not start" messages. */
static void log_tail(const struct db *db, char *out, size_t cap)
{
	out[0] = '\0';
	int fd = open(db->opts.log_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[PG_LOG_TAIL_MAX + 1];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > PG_LOG_TAIL_MAX ? end - PG_LOG_TAIL_MAX : 0;
	ssize_t n = pread(fd, buf, PG_LOG_TAIL_MAX, from);
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

/* --- Status ---------------------------------------------------------------------------------- */

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

static const char slots_sql[] = "SELECT slot_name, active, restart_lsn"
				" FROM pg_catalog.pg_replication_slots"
				" WHERE slot_type = 'physical' ORDER BY slot_name";

static const char pending_sql[] =
	"SELECT name FROM pg_catalog.pg_settings WHERE pending_restart ORDER BY name";

static const char *field(const PGresult *res, int row, int col)
{
	if (db_sql_is_null(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

/* Runs the status queries; fills st's SQL fields. */
static int query_status(PGconn *conn, int64_t deadline, struct db_status *st, char *err,
			size_t err_cap)
{
	PGresult *res;
	int rc = db_sql_query(conn, status_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	if (PQntuples(res) != 1 || PQnfields(res) != DB_PG_STATUS_COLS) {
		PQclear(res);
		return err_fail(err, err_cap, -EIO, "status query returned an unexpected shape");
	}
	const char *v[DB_PG_STATUS_COLS];
	for (int i = 0; i < DB_PG_STATUS_COLS; i++)
		v[i] = field(res, 0, i);
	rc = db_pg_parse_status_row(v, st);
	PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "status query returned a malformed value");

	if (st->role == DB_ROLE_PRIMARY) {
		rc = db_sql_query(conn, standbys_sql, deadline, &res, err, err_cap);
		if (rc < 0)
			return rc;
		int n = PQntuples(res);
		if (PQnfields(res) != DB_PG_STANDBY_COLS)
			n = 0;
		for (int r = 0; r < n; r++) {
			if (st->standby_count >= DB_STANDBYS_MAX) {
				st->standbys_omitted++;
				continue;
			}
			const char *sv[DB_PG_STANDBY_COLS];
			for (int i = 0; i < DB_PG_STANDBY_COLS; i++)
				sv[i] = field(res, r, i);
			if (db_pg_parse_standby_row(sv, &st->standbys[st->standby_count]) == 0)
				st->standby_count++;
			else
				st->standbys_omitted++;
		}
		PQclear(res);
	}

	rc = db_sql_query(conn, slots_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < PQntuples(res) && PQnfields(res) == 3; r++) {
		if (st->slot_count >= DB_SLOTS_MAX) {
			st->slots_omitted++;
			continue;
		}
		struct db_slot *s = &st->slots[st->slot_count];
		const char *lsn = field(res, r, 2);
		if (copy_field(field(res, r, 0), s->name, sizeof(s->name)) < 0 ||
		    parse_bool_field(field(res, r, 1), &s->active) < 0 ||
		    parse_lsn_field(lsn, &s->restart_lsn) < 0) {
			memset(s, 0, sizeof(*s));
			st->slots_omitted++;
			continue;
		}
		st->slot_count++;
	}
	PQclear(res);

	rc = db_sql_query(conn, pending_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < PQntuples(res) && PQnfields(res) == 1; r++) {
		st->pending_restart = true;
		/* The first DB_PENDING_MAX are named; the count says how many there are. */
		if (st->pending_count < DB_PENDING_MAX &&
		    copy_field(field(res, r, 0), st->pending[st->pending_count],
			       sizeof(st->pending[0])) < 0)
			st->pending[st->pending_count][0] = '\0';
		st->pending_count++;
	}
	PQclear(res);
	return 0;
}

static int pg_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
			   size_t err_cap);

/* A cluster that last ran as a primary: following anyone else may need a rewind. */
static bool state_was_primary(const char *cluster_state)
{
	return strcmp(cluster_state, "in production") == 0 ||
	       strcmp(cluster_state, "shut down") == 0 ||
	       strcmp(cluster_state, "in crash recovery") == 0;
}

static void pg_get_status(struct db *db, struct db_status *st)
{
	struct db_pg_probe probe;
	memset(&probe, 0, sizeof(probe));
	probe.initialized = data_file_exists(db, "PG_VERSION");
	probe.pidfile_rc = db_pidfile_read(db->opts.data_dir, &probe.pf);
	if (probe.pidfile_rc == 0)
		probe.alive = db_pid_alive(probe.pf.pid);
	PGconn *conn = NULL;
	if (probe.pidfile_rc == 0 && probe.alive) {
		int64_t deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
		int rc = db_sql_connect(db, NULL, deadline, &conn, probe.conn_error,
					sizeof(probe.conn_error));
		if (rc == 0) {
			deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
			rc = query_status(conn, deadline, st, probe.conn_error,
					  sizeof(probe.conn_error));
			if (rc == 0) {
				probe.connected = true;
				probe.in_recovery = st->role == DB_ROLE_REPLICA;
			}
			PQfinish(conn);
		}
	}
	db_pg_classify(&probe, st);
	if (!probe.connected && probe.pidfile_rc == 0 && probe.alive) {
		/* keep only what classify set: SQL fields may be half-filled after a failure */
		struct db_status clean;
		memset(&clean, 0, sizeof(clean));
		clean.initialized = st->initialized;
		clean.running = st->running;
		clean.role = st->role;
		clean.postmaster_pid = st->postmaster_pid;
		memcpy(clean.detail, st->detail, sizeof(clean.detail));
		*st = clean;
	}
	if (!st->running && st->initialized && probe.pidfile_rc != -EINVAL &&
	    !db_task_running(db)) {
		struct db_control c;
		char why[DB_ERROR_MAX];
		if (pg_read_control(db, &c, db->opts.connect_timeout_ms, why, sizeof(why)) == 0) {
			memcpy(st->cluster_state, c.cluster_state, sizeof(st->cluster_state));
			memcpy(st->system_identifier, c.system_identifier,
			       sizeof(st->system_identifier));
			st->timeline = c.timeline;
			st->needs_rejoin = state_was_primary(c.cluster_state);
		}
	}
}

static int pg_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
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

/* --- pg_ctl ---------------------------------------------------------------------------------- */

static int64_t secs_of(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;
	return s > 0 ? s : 1;
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
	    buf_format(c->secs, sizeof(c->secs), "%lld", (long long)secs_of(wait_ms)) != 0)
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

/* Runs pg_ctl start, waiting up to wait_ms (0: launch only). A failed start is -ETIMEDOUT when
 * the server still runs (slow recovery), else -EIO with the last line of the server log. */
static int run_pg_ctl_start(struct db *db, int64_t wait_ms, char *err, size_t err_cap)
{
	struct pg_start_cmd c;
	if (pg_start_cmd(db, wait_ms, &c) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	int64_t limit = wait_ms > 0 ? secs_of(wait_ms) * 1000 + PG_CTL_MARGIN_MS
				    : db->opts.command_timeout_ms;
	char why[DB_ERROR_MAX];
	int rc = db_run(db, c.argv, limit, NULL, 0, why, sizeof(why));
	if (rc == 0)
		return 0;
	struct db_pidfile pf;
	if (db_pidfile_read(db->opts.data_dir, &pf) == 0 && db_pid_alive(pf.pid))
		return err_fail(err, err_cap, -ETIMEDOUT,
				"server did not accept connections within %lld s",
				(long long)secs_of(wait_ms));
	char tail[PG_LOG_TAIL_MAX];
	log_tail(db, tail, sizeof(tail));
	return err_fail(err, err_cap, -EIO, "could not start the server: %s", tail[0] ? tail : why);
}

/* Starts pg_ctl start -w as the task's command: pg_ctl waits for the server itself. */
static int spawn_pg_ctl_start(struct db *db, char *err, size_t err_cap)
{
	struct pg_start_cmd c;
	if (pg_start_cmd(db, db->opts.command_timeout_ms, &c) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	return db_task_spawn_timeout(db, c.argv,
				     secs_of(db->opts.command_timeout_ms) * 1000 + PG_CTL_MARGIN_MS,
				     err, err_cap);
}

/* Polls status until pred holds or the deadline passes. */
static bool wait_for_role(struct db *db, int64_t deadline, bool want_primary, bool want_replica,
			  struct db_status *st)
{
	for (;;) {
		memset(st, 0, sizeof(*st));
		pg_get_status(db, st);
		if ((want_primary && st->role == DB_ROLE_PRIMARY) ||
		    (want_replica && st->role == DB_ROLE_REPLICA))
			return true;
		if (!st->running && st->role != DB_ROLE_UNKNOWN)
			return false; /* gone: no point waiting */
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0)
			return false;
		clock_sleep_ms(left < 200 ? left : 200);
	}
}

static int pg_start(struct db *db, enum db_start_role role, const struct db_peer *primary,
		    uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)term;
	if (role == DB_START_PENDING)
		return err_fail(err, err_cap, -ENOTSUP, "PostgreSQL has no pending mode");
	struct db_status st;
	memset(&st, 0, sizeof(st));
	pg_get_status(db, &st);
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
	if (replica) {
		db->has_upstream = primary != NULL;
		if (primary)
			db->upstream = *primary;
		db->upstream_known = true;
	}
	int rc = write_config(db, replica, NULL, err, err_cap);
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
	struct db_pidfile pf;
	if (db_pidfile_read(db->opts.data_dir, &pf) != 0 || !db_pid_alive(pf.pid))
		return 0;
	char prog[DB_PATH_MAX];
	char secs[32];
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0 ||
	    buf_format(secs, sizeof(secs), "%lld", (long long)secs_of(timeout_ms)) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = {
		prog, "stop", "-D", db->opts.data_dir, "-m", pg_ctl_modes[mode], "-w",
		"-t", secs,   NULL
	};
	char why[DB_ERROR_MAX];
	int rc = db_run(db, argv, secs_of(timeout_ms) * 1000 + PG_CTL_MARGIN_MS, NULL, 0, why,
			sizeof(why));
	if (rc == 0)
		return 0;
	if (db_pidfile_read(db->opts.data_dir, &pf) != 0 || !db_pid_alive(pf.pid))
		return 0; /* it went away after all (pg_ctl raced with the exit) */
	return err_fail(err, err_cap, -ETIMEDOUT, "server did not stop (%s) within %lld s: %s",
			pg_ctl_modes[mode], (long long)secs_of(timeout_ms), why);
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

static int pg_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	struct db_pidfile pf;
	if (db_pidfile_read(db->opts.data_dir, &pf) != 0 || !db_pid_alive(pf.pid))
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
	bool replica = data_file_exists(db, "standby.signal");
	bool changed = false;
	int rc = write_config(db, replica, &changed, err, err_cap);
	if (rc < 0)
		return rc;
	if (!changed || !db_server_running(db))
		return 0;
	return pg_reload(db, timeout_ms, err, err_cap);
}

static int sql_checkpoint(struct db *db, uint64_t *out_lsn, int64_t deadline, char *err,
			  size_t err_cap)
{
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_sql_exec(conn, "CHECKPOINT", deadline, err, err_cap);
	PGresult *res = NULL;
	if (rc == 0)
		rc = db_sql_query(conn, "SELECT redo_lsn FROM pg_catalog.pg_control_checkpoint()",
				  deadline, &res, err, err_cap);
	if (rc == 0) {
		uint64_t lsn;
		if (PQntuples(res) == 1 && lsn_parse(field(res, 0, 0), &lsn) == 0) {
			if (out_lsn)
				*out_lsn = lsn;
		} else {
			rc = err_fail(err, err_cap, -EIO, "checkpoint location is malformed");
		}
		PQclear(res);
	}
	PQfinish(conn);
	return rc;
}

static int pg_promote(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)term;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_status st;
	memset(&st, 0, sizeof(st));
	pg_get_status(db, &st);
	if (st.role == DB_ROLE_PRIMARY)
		return 0;
	if (st.role != DB_ROLE_REPLICA)
		return err_fail(err, err_cap, -ESRCH, "cannot promote: server is \"%s\"",
				db_role_name(st.role));
	char prog[DB_PATH_MAX];
	char secs[32];
	if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0 ||
	    buf_format(secs, sizeof(secs), "%lld", (long long)secs_of(timeout_ms)) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	const char *argv[] = { prog, "promote", "-D", db->opts.data_dir, "-w", "-t", secs, NULL };
	int rc = db_run(db, argv, secs_of(timeout_ms) * 1000 + PG_CTL_MARGIN_MS, NULL, 0, err,
			err_cap);
	if (rc < 0)
		return rc;
	/* standby.signal is gone now; the next start must not follow anyone. */
	db->has_upstream = false;
	db->upstream_known = true;
	rc = write_config(db, false, NULL, err, err_cap);
	if (rc < 0)
		return rc;
	if (!wait_for_role(db, deadline, true, false, &st))
		return err_fail(err, err_cap, -ETIMEDOUT, "server is \"%s\" after promotion",
				db_role_name(st.role));
	/* A checkpoint puts the new timeline into pg_control, which pg_rewind on the old primary
	 * reads (Patroni's checkpoint_after_promote). Best effort: the promotion stands. */
	char why[DB_ERROR_MAX];
	int64_t cp_deadline = deadline > clock_mono_ms() + db->opts.connect_timeout_ms
				      ? deadline
				      : clock_mono_ms() + db->opts.connect_timeout_ms;
	if (sql_checkpoint(db, NULL, cp_deadline, why, sizeof(why)) < 0)
		log_debug("checkpoint after promotion failed: %s", why);
	return 0;
}

static int pg_follow(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
		     size_t err_cap)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	db->has_upstream = primary != NULL;
	if (primary)
		db->upstream = *primary;
	db->upstream_known = true;
	struct db_status st;
	memset(&st, 0, sizeof(st));
	pg_get_status(db, &st);
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
	int rc = write_config(db, true, &changed, err, err_cap);
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

static int pg_ensure_slots(struct db *db, const char names[][DB_NAME_MAX], int count,
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
	rc = db_sql_query(conn, slots_sql, deadline, &res, err, err_cap);
	if (rc < 0)
		goto out_finish;
	bool have[DB_SLOTS_MAX] = { false };
	char sql[PG_SQL_MAX];
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		const char *name = PQgetvalue(res, r, 0);
		bool active = strcmp(PQgetvalue(res, r, 1), "t") == 0;
		bool wanted = false;
		for (int j = 0; j < nwant; j++) {
			if (strcmp(want[j], name) == 0) {
				have[j] = true;
				wanted = true;
			}
		}
		if (wanted || active)
			continue;
		char *lit = PQescapeLiteral(conn, name, strlen(name));
		if (!lit) {
			rc = err_fail(err, err_cap, -ENOMEM, "could not quote slot name");
			break;
		}
		if (buf_format(sql, sizeof(sql), "SELECT pg_catalog.pg_drop_replication_slot(%s)",
			       lit) != 0)
			rc = err_fail(err, err_cap, -ENAMETOOLONG, "slot name too long");
		PQfreemem(lit);
		if (rc == 0)
			rc = db_sql_exec(conn, sql, deadline, err, err_cap);
	}
	PQclear(res);
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
	PQfinish(conn);
	return rc;
}

static int pg_checkpoint(struct db *db, uint64_t *out_lsn, int64_t timeout_ms, char *err,
			 size_t err_cap)
{
	return sql_checkpoint(db, out_lsn, clock_mono_ms() + timeout_ms, err, err_cap);
}

/* --- Tasks: bootstrap, clone, rejoin ---------------------------------------------------------- */

static int pwfile_path(const struct db *db, char *out, size_t cap)
{
	return buf_format(out, cap, "%s.pwfile", db->opts.pgpass_path) == 0 ? 0 : -ENAMETOOLONG;
}

/* Appends "--opt" for each "opt" of a tool option list to argv at *n. */
static int add_tool_options(char storage[][DB_TOOL_OPTION_MAX + 2], const char **argv, int *n,
			    int max, const char opts[][DB_TOOL_OPTION_MAX], int count)
{
	for (int i = 0; i < count; i++) {
		if (*n + 1 >= max)
			return -E2BIG;
		const char *o = opts[i];
		while (*o == '-')
			o++;
		if (buf_format(storage[i], DB_TOOL_OPTION_MAX + 2, "--%s", o) != 0)
			return -ENAMETOOLONG;
		argv[(*n)++] = storage[i];
	}
	argv[*n] = NULL;
	return 0;
}

static int pg_begin_bootstrap(struct db *db, char *err, size_t err_cap)
{
	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "a server is running in \"%s\"",
				db->opts.data_dir);
	if (!db_dir_empty(db->opts.data_dir))
		return err_fail(err, err_cap, -EEXIST, "data directory \"%s\" is not empty",
				db->opts.data_dir);
	db->task.kind = PG_TASK_BOOTSTRAP;
	db->task.step = PG_STEP_INITDB;
	char pw[PG_FILE_PATH_MAX];
	char pw_arg[PG_FILE_PATH_MAX + 16];
	char prog[DB_PATH_MAX];
	char user_arg[DB_NAME_MAX + 16];
	if (pwfile_path(db, pw, sizeof(pw)) < 0 ||
	    db_bin_path(db, "initdb", prog, sizeof(prog)) < 0 ||
	    buf_format(pw_arg, sizeof(pw_arg), "--pwfile=%s", pw) != 0 ||
	    buf_format(user_arg, sizeof(user_arg), "--username=%s", db->opts.superuser.username) !=
		    0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path too long");
	const char *argv[PROC_ARGV_MAX];
	int n = 0;
	argv[n++] = prog;
	argv[n++] = "-D";
	argv[n++] = db->opts.data_dir;
	argv[n++] = user_arg;
	if (db->opts.superuser.password[0]) {
		char content[DB_PASSWORD_MAX + 2];
		if (buf_format(content, sizeof(content), "%s\n", db->opts.superuser.password) != 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "password too long");
		int rc = db_write_file(pw, content, 0600, err, err_cap);
		if (rc < 0)
			return rc;
		argv[n++] = pw_arg;
	}
	argv[n] = NULL;
	char storage[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_MAX + 2];
	if (add_tool_options(storage, argv, &n, PROC_ARGV_MAX, db->opts.initdb_options,
			     db->opts.initdb_option_count) < 0) {
		unlink(pw);
		return err_fail(err, err_cap, -E2BIG, "bad initdb options");
	}
	int rc = db_task_spawn(db, argv, err, err_cap);
	if (rc != -EINPROGRESS)
		unlink(pw);
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
		char *pw = u->password[0] ? PQescapeLiteral(conn, u->password, strlen(u->password))
					  : NULL;
		char sql[PG_SQL_MAX];
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
	char storage[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_MAX + 2];
	if (add_tool_options(storage, argv, &n, PROC_ARGV_MAX, db->opts.basebackup_options,
			     db->opts.basebackup_option_count) < 0)
		return err_fail(err, err_cap, -E2BIG, "bad basebackup options");
	db->task.kind = db->task.kind ? db->task.kind : PG_TASK_CLONE;
	db->task.step = PG_STEP_CLONE_COPY;
	return db_task_spawn(db, argv, err, err_cap);
}

static int pg_begin_create_replica(struct db *db, char *err, size_t err_cap)
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
	char signal_path[PG_FILE_PATH_MAX];
	if (data_path(db, "standby.signal", signal_path, sizeof(signal_path)) < 0)
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
	bool allowed = db->opts.use_pg_rewind
			       ? db->opts.remove_data_directory_on_rewind_failure
			       : db->opts.remove_data_directory_on_diverged_timelines;
	if (!allowed)
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

static int pg_begin_rejoin(struct db *db, char *err, size_t err_cap)
{
	if (!data_file_exists(db, "PG_VERSION"))
		return err_fail(err, err_cap, -ENOENT, "data directory \"%s\" is not initialized",
				db->opts.data_dir);
	if (!db->opts.use_pg_rewind && !db->opts.remove_data_directory_on_diverged_timelines)
		return err_fail(err, err_cap, -ENOTSUP,
				"cannot rejoin: use_pg_rewind and "
				"remove_data_directory_on_diverged_timelines are both off");
	db->task.kind = PG_TASK_REJOIN;
	if (db_server_running(db)) {
		char prog[DB_PATH_MAX];
		char secs[32];
		if (db_bin_path(db, "pg_ctl", prog, sizeof(prog)) < 0 ||
		    buf_format(secs, sizeof(secs), "%lld",
			       (long long)secs_of(db->opts.command_timeout_ms)) != 0)
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
	db->upstream = db->task.primary;
	db->has_upstream = true;
	db->upstream_known = true;
	int rc = write_config(db, true, NULL, err, err_cap);
	if (rc < 0)
		return rc;
	db->task.step = PG_STEP_CLONE_START;
	return spawn_pg_ctl_start(db, err, err_cap);
}

static int pg_task_step(struct db *db, char *err, size_t err_cap)
{
	int rc;
	char pw[PG_FILE_PATH_MAX];
	switch (db->task.step) {
	case PG_STEP_INITDB:
		rc = db_task_reap(db, err, err_cap);
		if (pwfile_path(db, pw, sizeof(pw)) == 0)
			unlink(pw);
		if (rc < 0) {
			char why[DB_ERROR_MAX];
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after initdb: %s", why);
			return rc;
		}
		rc = write_config(db, false, NULL, err, err_cap);
		if (rc < 0)
			return rc;
		db->task.step = PG_STEP_BOOT_START;
		return spawn_pg_ctl_start(db, err, err_cap);
	case PG_STEP_BOOT_START: {
		char why[DB_ERROR_MAX];
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0) {
			char tail[PG_LOG_TAIL_MAX];
			log_tail(db, tail, sizeof(tail));
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
			char signal_path[PG_FILE_PATH_MAX];
			if (db->task.standby_signal_moved &&
			    data_path(db, "standby.signal", signal_path, sizeof(signal_path)) ==
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

static int pg_check_options(const struct db_options *o, char *err, size_t err_cap)
{
	/* Streaming, cloning and pg_basebackup all connect as this user (openGauss replicates as
	 * its initial user instead, so the check lives here). */
	if (!o->replication.username[0])
		return err_fail(err, err_cap, -EINVAL,
				"\"postgresql.authentication.replication.username\" is required");
	if (o->bin_dir[0]) {
		char path[DB_PATH_MAX + 16];
		if (buf_format(path, sizeof(path), "%s/pg_ctl", o->bin_dir) != 0 ||
		    access(path, X_OK) != 0)
			return err_fail(err, err_cap, -EINVAL,
					"\"postgresql.bin_dir\": no executable pg_ctl in \"%s\"",
					o->bin_dir);
	}
	return 0;
}

const struct db_driver db_postgres_driver = {
	.name = "postgres",
	.check_options = pg_check_options,
	.get_status = pg_get_status,
	.read_control = pg_read_control,
	.begin_bootstrap = pg_begin_bootstrap,
	.begin_create_replica = pg_begin_create_replica,
	.begin_rejoin = pg_begin_rejoin,
	.task_step = pg_task_step,
	.start = pg_start,
	.stop = pg_stop,
	.restart = pg_restart,
	.reload = pg_reload,
	.promote = pg_promote,
	.follow = pg_follow,
	.apply_parameters = pg_apply_parameters,
	.set_sync_standbys = pg_set_sync_standbys,
	.ensure_slots = pg_ensure_slots,
	.checkpoint = pg_checkpoint,
	.fence = db_fence_postmaster,
	.set_peers = NULL, /* streaming needs only the primary, from follow/start */
	.free_priv = NULL,
};
