/*
 * db_opengauss.c - the openGauss driver behind db.h.
 *
 * Follows the map of /work/shared/opengauss.md §2.13 (sections cited as §2.x):
 * - every start passes -M; a primary starts pending and is notified with the cluster term
 *   (§2.2, §2.8); a replica starts with -M standby;
 * - promotion is gs_ctl failover -T term (a pending instance: notify -M primary -T term) (§2.4);
 * - replicas are created with gs_ctl build -b full, old primaries rejoin with -b incremental
 *   and, when allowed, -b full (§2.5);
 * - replconninfo1..8 list every other member (§2.6), written with gs_guc like every other
 *   setting, the synchronous settings always explicitly (§2.9);
 * - status comes from pg_stat_get_stream_replications(), locations are parsed from text and
 *   (term, lsn) from pg_last_xlog_replay_location() (§2.7, §2.8);
 * - the agent connects over the local socket as the configured superuser and never relies on
 *   sha256 authentication, which stock libpq cannot do (§2.10).
 * The text formats are parsed by the pure db_opengauss_codec.c.
 */
#include "db_opengauss.h"

#include "buf.h"
#include "err.h"
#include "clock.h"
#include "db_driver.h"
#include "db_opengauss_codec.h"
#include "db_postgres.h"
#include "db_sql.h"
#include "log.h"
#include "lsn.h"
#include "num.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Extra time a gs_ctl -w -t N command gets beyond its N seconds before we kill it. */
#define OG_CTL_MARGIN_MS 10000
/* Settings one configuration write may carry: the driver's own plus every user parameter. */
#define OG_SETTINGS_ALL_MAX (DB_PARAMS_MAX + 16)
/* A path inside the data directory. */
#define OG_FILE_PATH_MAX (DB_PATH_MAX + 64)
/* gs_ctl output we keep for an error message. */
#define OG_OUTPUT_MAX 4096
/* An argument such as "--nodename=<name>" or "--pwfile=<path>". */
#define OG_ARG_MAX (OG_FILE_PATH_MAX + 32)
/* How often waits on a role look again. */
#define OG_POLL_MS 200

enum og_step {
	OG_STEP_NONE,
	OG_STEP_BOOT_INITDB,	    /* gs_initdb of a new cluster */
	OG_STEP_BOOT_START,	    /* gs_ctl start -M pending */
	OG_STEP_BOOT_NOTIFY,	    /* gs_ctl notify -M primary -T term */
	OG_STEP_CLONE_INITDB,	    /* gs_initdb, for a configuration to build into */
	OG_STEP_CLONE_BUILD,	    /* gs_ctl build -b full */
	OG_STEP_REJOIN_INCREMENTAL, /* gs_ctl build -b incremental */
	OG_STEP_REJOIN_FULL,	    /* gs_ctl build -b full after incremental failed */
};

struct og_priv {
	int member_count;
	struct db_peer members[DB_PEERS_MAX];
};

static struct og_priv *priv_of(struct db *db)
{
	if (!db->priv)
		db->priv = calloc(1, sizeof(struct og_priv));
	return db->priv;
}

static int64_t secs_of(int64_t ms)
{
	int64_t s = (ms + 999) / 1000;
	return s > 0 ? s : 1;
}

static int ctl_path(const struct db *db, const char *program, char *out, size_t cap)
{
	return db_bin_path(db, program, out, cap);
}

/* Runs a codec-built command line to its end. */
static int run_argv(struct db *db, const struct db_og_argv *a, int64_t timeout_ms, char *output,
		    size_t output_cap, char *err, size_t err_cap)
{
	const char *ptrs[DB_OG_ARGV_MAX + 1];
	db_og_argv_ptrs(a, ptrs);
	return db_run(db, ptrs, timeout_ms, output, output_cap, err, err_cap);
}

static int spawn_argv(struct db *db, const struct db_og_argv *a, int64_t timeout_ms, char *err,
		      size_t err_cap)
{
	const char *ptrs[DB_OG_ARGV_MAX + 1];
	db_og_argv_ptrs(a, ptrs);
	return db_task_spawn_timeout(db, ptrs, timeout_ms, err, err_cap);
}

static bool data_file_exists(const struct db *db, const char *name)
{
	char path[OG_FILE_PATH_MAX];
	return buf_format(path, sizeof(path), "%s/%s", db->opts.data_dir, name) == 0 &&
	       access(path, F_OK) == 0;
}

/* openGauss terms are uint32 and start at 1 (§2.8); 0 would lose the fencing. */
static int check_term(uint64_t term, char *err, size_t err_cap)
{
	if (term == 0 || term > UINT32_MAX)
		return err_fail(err, err_cap, -EINVAL,
				"openGauss needs a cluster term in 1..4294967295, got %llu",
				(unsigned long long)term);
	return 0;
}

/* --- Configuration ---------------------------------------------------------------------------- */

static int node_of(const char *host, int port, struct db_og_node *out)
{
	if (buf_copy(out->host, sizeof(out->host), host) != 0)
		return -ENAMETOOLONG;
	out->port = port;
	return 0;
}

static void self_node(const struct db *db, struct db_og_node *out)
{
	const char *host = db->opts.connect_host[0]  ? db->opts.connect_host
			   : db->opts.listen_host[0] ? db->opts.listen_host
						     : "127.0.0.1";
	if (node_of(host, db->opts.connect_port, out) != 0)
		out->host[0] = '\0'; /* rejected by the renderer */
}

static bool same_node(const struct db_og_node *a, const struct db_og_node *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Adds a peer unless it is this node or already listed. */
static int add_node(struct db_og_node *nodes, int *n, const struct db_peer *p,
		    const char *self_name)
{
	struct db_og_node node;
	if (p->name[0] && strcmp(p->name, self_name) == 0)
		return 0;
	if (node_of(p->host, p->port, &node) != 0)
		return -ENAMETOOLONG;
	for (int i = 0; i < *n; i++)
		if (same_node(&nodes[i], &node))
			return 0;
	if (*n >= DB_OG_MEMBERS_MAX)
		return -E2BIG;
	nodes[(*n)++] = node;
	return 0;
}

/* The replconninfo entries for this node: every member, plus the peers we were told to follow
 * or copy from (§2.6 "each node lists every other node"). */
static int render_replconninfo(struct db *db, const struct db_peer *extra,
			       struct db_og_replconninfo *out, char *err, size_t err_cap)
{
	struct db_og_node nodes[DB_OG_MEMBERS_MAX];
	int n = 1, rc = 0;
	self_node(db, &nodes[0]);
	struct og_priv *p = priv_of(db);
	for (int i = 0; p && i < p->member_count && rc == 0; i++)
		rc = add_node(nodes, &n, &p->members[i], db->opts.name);
	if (rc == 0 && db->has_upstream)
		rc = add_node(nodes, &n, &db->upstream, db->opts.name);
	if (rc == 0 && extra)
		rc = add_node(nodes, &n, extra, db->opts.name);
	if (rc == -E2BIG)
		return err_fail(err, err_cap, -E2BIG,
				"more than %d peers: openGauss has only replconninfo1..%d",
				DB_OG_REPLCONNINFO_MAX, DB_OG_REPLCONNINFO_MAX);
	if (rc < 0)
		return err_fail(err, err_cap, rc, "member host too long");
	char why[DB_ERROR_MAX];
	rc = db_og_render_replconninfo(nodes, n, 0, out, why, sizeof(why));
	if (rc < 0)
		return err_fail(err, err_cap, rc, "could not render replconninfo: %s", why);
	return 0;
}

/* Parameters the driver writes itself; a user value for them is ignored. */
static bool driver_owned(const char *name)
{
	static const char *const owned[] = {
		"port",
		"listen_addresses",
		"application_name",
		"synchronous_standby_names",
		"synchronous_commit",
		"most_available_sync",
		"hot_standby",
	};
	if (strncmp(name, "replconninfo", 12) == 0)
		return true;
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strcmp(name, owned[i]) == 0)
			return true;
	return false;
}

static int put_setting(struct db_og_setting *s, int *n, const char *name, const char *value)
{
	if (*n >= OG_SETTINGS_ALL_MAX)
		return -E2BIG;
	if (buf_copy(s[*n].name, sizeof(s[*n].name), name) != 0 ||
	    buf_copy(s[*n].value, sizeof(s[*n].value), value) != 0)
		return -ENAMETOOLONG;
	(*n)++;
	return 0;
}

/* The three synchronous settings of §2.9 from db_set_sync_standbys' choice (asynchronous until
 * the loop says otherwise: that overrides the blocking '*' default). */
static int sync_settings(struct db *db, struct db_og_setting out[3], char *err, size_t err_cap)
{
	struct db_og_sync_policy pol;
	memset(&pol, 0, sizeof(pol));
	const struct db_sync *s = &db->sync;
	if (db->sync_managed && s->method != DB_SYNC_METHOD_OFF && s->count > 0) {
		pol.enabled = true;
		pol.quorum = s->method == DB_SYNC_METHOD_QUORUM;
		pol.num_sync = s->num > 0 ? s->num : 1;
		bool star = s->count == 1 && strcmp(s->names[0], "*") == 0;
		for (int i = 0; !star && i < s->count; i++) {
			if (pol.n_names >= DB_OG_MEMBERS_MAX)
				return err_fail(err, err_cap, -E2BIG,
						"too many synchronous standbys");
			if (buf_copy(pol.names[pol.n_names++], sizeof(pol.names[0]), s->names[i]) !=
			    0)
				return err_fail(err, err_cap, -ENAMETOOLONG,
						"standby name too long");
		}
		if (pol.n_names > 0 && pol.num_sync > pol.n_names)
			pol.num_sync = pol.n_names;
	}
	char why[DB_ERROR_MAX];
	int rc = db_og_sync_settings(&pol, out, why, sizeof(why));
	if (rc < 0)
		return err_fail(err, err_cap, rc, "synchronous settings: %s", why);
	return 0;
}

/* Runs gs_guc set|reload over settings, DB_OG_SETTINGS_MAX at a time. */
static int run_guc(struct db *db, bool reload, const struct db_og_setting *s, int n,
		   int64_t timeout_ms, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (ctl_path(db, "gs_guc", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i += DB_OG_SETTINGS_MAX) {
		int chunk = n - i < DB_OG_SETTINGS_MAX ? n - i : DB_OG_SETTINGS_MAX;
		char why[DB_ERROR_MAX];
		rc = db_og_guc_argv(a, prog, db->opts.data_dir, reload, s + i, chunk, why,
				    sizeof(why));
		if (rc < 0) {
			rc = err_fail(err, err_cap, rc, "cannot write settings with gs_guc: %s",
				      why);
			break;
		}
		rc = run_argv(db, a, timeout_ms, NULL, 0, err, err_cap);
	}
	free(a);
	return rc;
}

/* Writes the whole configuration the driver owns plus the user parameters with gs_guc (reload
 * when the server runs, §2.6). extra is a peer to list in replconninfo besides the members. */
static int write_config(struct db *db, const struct db_peer *extra, int64_t timeout_ms, char *err,
			size_t err_cap)
{
	struct db_og_setting *s = calloc(OG_SETTINGS_ALL_MAX, sizeof(*s));
	struct db_og_replconninfo *ri = malloc(sizeof(*ri));
	int n = 0, rc = 0;
	if (!s || !ri) {
		rc = err_fail(err, err_cap, -ENOMEM, "out of memory");
		goto out_free;
	}
	rc = render_replconninfo(db, extra, ri, err, err_cap);
	if (rc < 0)
		goto out_free;
	char port[16];
	if (buf_format(port, sizeof(port), "%d", db->opts.listen_port) != 0)
		rc = -EINVAL;
	if (rc == 0)
		rc = put_setting(s, &n, "port", port);
	if (rc == 0 && db->opts.listen_host[0])
		rc = put_setting(s, &n, "listen_addresses", db->opts.listen_host);
	/* Standbys are named after their member in synchronous_standby_names (§2.9). */
	if (rc == 0)
		rc = put_setting(s, &n, "application_name", db->opts.name);
	if (rc == 0)
		rc = put_setting(s, &n, "hot_standby", "on");
	for (int i = 0; i < DB_OG_REPLCONNINFO_MAX && rc == 0; i++) {
		char name[32];
		if (buf_format(name, sizeof(name), "replconninfo%d", i + 1) != 0)
			rc = -EINVAL;
		else
			rc = put_setting(s, &n, name, ri->entry[i]); /* "" clears a stale entry */
	}
	if (rc == 0) {
		if (n + 3 > OG_SETTINGS_ALL_MAX) {
			rc = -E2BIG;
		} else {
			rc = sync_settings(db, &s[n], err, err_cap);
			if (rc < 0)
				goto out_free;
			n += 3;
		}
	}
	for (int i = 0; i < db->opts.parameters.count && rc == 0; i++) {
		const struct db_param *p = &db->opts.parameters.items[i];
		if (driver_owned(p->name))
			continue;
		rc = put_setting(s, &n, p->name, p->value);
	}
	if (rc < 0) {
		rc = err_fail(err, err_cap, rc, "configuration does not fit");
		goto out_free;
	}
	rc = run_guc(db, db_server_running(db), s, n, timeout_ms, err, err_cap);
out_free:
	free(ri);
	free(s);
	return rc;
}

/* Writes replconninfo1..8 alone and reloads (§2.6). */
static int write_replconninfo(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	struct db_og_setting *s = calloc(DB_OG_REPLCONNINFO_MAX, sizeof(*s));
	struct db_og_replconninfo *ri = malloc(sizeof(*ri));
	int n = 0, rc = 0;
	if (!s || !ri) {
		rc = err_fail(err, err_cap, -ENOMEM, "out of memory");
		goto out_free;
	}
	rc = render_replconninfo(db, NULL, ri, err, err_cap);
	for (int i = 0; i < DB_OG_REPLCONNINFO_MAX && rc == 0; i++) {
		char name[32];
		if (buf_format(name, sizeof(name), "replconninfo%d", i + 1) != 0)
			rc = err_fail(err, err_cap, -EINVAL, "replconninfo name");
		else if (put_setting(s, &n, name, ri->entry[i]) != 0)
			rc = err_fail(err, err_cap, -E2BIG, "replconninfo does not fit");
	}
	if (rc == 0)
		rc = run_guc(db, true, s, n, timeout_ms, err, err_cap);
out_free:
	free(ri);
	free(s);
	return rc;
}

/* pg_hba lines of the options, with gs_guc -h (§2.6). */
static int write_hba(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (ctl_path(db, "gs_guc", prog, sizeof(prog)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "bin_dir too long");
	for (int i = 0; i < db->opts.hba_count; i++) {
		const char *argv[] = { prog, "set",	      "-D", db->opts.data_dir,
				       "-h", db->opts.hba[i], NULL };
		int rc = db_run(db, argv, timeout_ms, NULL, 0, err, err_cap);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Settings written once into a new data directory: stock libpq cannot answer sha256, so
 * passwords are stored as md5 too (§2.10, password_encryption_type = 1). */
static int write_initial_config(struct db *db, const struct db_peer *extra, char *err,
				size_t err_cap)
{
	struct db_og_setting s;
	int rc = buf_copy(s.name, sizeof(s.name), "password_encryption_type") |
		 buf_copy(s.value, sizeof(s.value), "1");
	if (rc != 0)
		return err_fail(err, err_cap, -EINVAL, "internal setting too long");
	rc = run_guc(db, false, &s, 1, db->opts.command_timeout_ms, err, err_cap);
	if (rc == 0)
		rc = write_hba(db, db->opts.command_timeout_ms, err, err_cap);
	if (rc == 0)
		rc = write_config(db, extra, db->opts.command_timeout_ms, err, err_cap);
	return rc;
}

/* db_set_peers (db.c has checked the peers and their count). */
static int og_set_peers(struct db *db, const struct db_peer *members, int count, int64_t timeout_ms,
			char *err, size_t err_cap)
{
	struct og_priv *p = priv_of(db);
	if (!p)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	memcpy(p->members, members, sizeof(members[0]) * (size_t)count);
	p->member_count = count;
	/* §2.6: replconninfoN are SIGHUP settings, so a running server takes the new list at once
	 * (a running task writes the configuration itself). Only replconninfoN: the rest of the
	 * configuration, synchronous_standby_names above all, stays as the last call wrote it. */
	if (db_task_running(db) || !db_server_running(db))
		return 0;
	return write_replconninfo(db, timeout_ms, err, err_cap);
}

int db_opengauss_set_members(struct db *db, const struct db_peer *members, int count,
			     int64_t timeout_ms, char *err, size_t err_cap)
{
	if (!db || db->opts.engine != DB_ENGINE_OPENGAUSS)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	return db_set_peers(db, members, count, timeout_ms, err, err_cap);
}

/* --- Status ----------------------------------------------------------------------------------- */

static const char *field(const PGresult *res, int row, int col)
{
	if (db_sql_is_null(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

/* Runs sql expecting exactly one row of cols columns. */
static int one_row(PGconn *conn, const char *sql, int cols, int64_t deadline, PGresult **out,
		   char *err, size_t err_cap)
{
	PGresult *res = NULL;
	int rc = db_sql_query(conn, sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	if (PQntuples(res) != 1 || PQnfields(res) != cols) {
		PQclear(res);
		return err_fail(err, err_cap, -EIO, "unexpected result shape for \"%.40s\"", sql);
	}
	*out = res;
	return 0;
}

static enum db_sync_state sync_state_of(enum db_og_sync_state s)
{
	switch (s) {
	case DB_OG_SYNC_SYNC:
		return DB_SYNC_SYNC;
	case DB_OG_SYNC_QUORUM:
		return DB_SYNC_QUORUM;
	case DB_OG_SYNC_POTENTIAL:
		return DB_SYNC_POTENTIAL;
	default:
		return DB_SYNC_ASYNC;
	}
}

static int parse_lsn_or_zero(const char *v, uint64_t *out)
{
	if (!v || !v[0]) {
		*out = 0;
		return 0;
	}
	return lsn_parse(v, out);
}

/* The standbys attached to a primary, from openGauss's pg_stat_replication, whose locations are
 * text (§2.7). */
static int query_standbys(PGconn *conn, int64_t deadline, struct db_status *st, char *err,
			  size_t err_cap)
{
	static const char sql[] =
		"SELECT application_name, usename, COALESCE(client_addr::text, ''), state,"
		" sync_state, sync_priority, sender_sent_location, receiver_write_location,"
		" receiver_flush_location, receiver_replay_location"
		" FROM pg_stat_replication ORDER BY application_name, pid";
	PGresult *res = NULL;
	int rc = db_sql_query(conn, sql, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < PQntuples(res) && PQnfields(res) == 10; r++) {
		if (st->standby_count >= DB_STANDBYS_MAX) {
			st->standbys_omitted++;
			continue;
		}
		struct db_standby *s = &st->standbys[st->standby_count];
		memset(s, 0, sizeof(*s));
		int prio = 0;
		const char *state = field(res, r, 3);
		bool ok = buf_copy(s->application_name, sizeof(s->application_name),
				   field(res, r, 0) ? field(res, r, 0) : "") == 0 &&
			  buf_copy(s->usename, sizeof(s->usename),
				   field(res, r, 1) ? field(res, r, 1) : "") == 0 &&
			  buf_copy(s->client_addr, sizeof(s->client_addr),
				   field(res, r, 2) ? field(res, r, 2) : "") == 0 &&
			  buf_copy(s->state, sizeof(s->state), state ? state : "") == 0 &&
			  (!field(res, r, 5) ||
			   num_parse_int(field(res, r, 5), 0, 1000000, &prio) == 0) &&
			  parse_lsn_or_zero(field(res, r, 6), &s->sent_lsn) == 0 &&
			  parse_lsn_or_zero(field(res, r, 7), &s->write_lsn) == 0 &&
			  parse_lsn_or_zero(field(res, r, 8), &s->flush_lsn) == 0 &&
			  parse_lsn_or_zero(field(res, r, 9), &s->replay_lsn) == 0;
		if (!ok) {
			memset(s, 0, sizeof(*s));
			st->standbys_omitted++;
			continue;
		}
		/* db.h wants pg_stat_replication's lower-case words. */
		for (char *c = s->state; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		s->sync_state = sync_state_of(db_og_sync_state_parse(field(res, r, 4)));
		s->sync_priority = prio;
		st->standby_count++;
	}
	PQclear(res);
	return 0;
}

/* The upstream of a standby, from the walreceiver's channel (§2.7). */
static void query_upstream(PGconn *conn, int64_t deadline, struct db_status *st)
{
	PGresult *res = NULL;
	char why[DB_ERROR_MAX];
	if (db_sql_query(conn, "SELECT channel FROM pg_stat_get_wal_receiver()", deadline, &res,
			 why, sizeof(why)) < 0)
		return;
	const char *ch = PQntuples(res) == 1 && PQnfields(res) == 1 ? field(res, 0, 0) : NULL;
	int port;
	if (db_og_parse_channel_upstream(ch, st->upstream_host, sizeof(st->upstream_host), &port) ==
	    0)
		st->upstream_port = port;
	else
		st->upstream_host[0] = '\0';
	PQclear(res);
}

void db_opengauss_fill_role(const struct db_og_ha_state *ha, bool in_recovery, struct db_status *st)
{
	switch (ha->local_role) {
	case DB_OG_ROLE_PRIMARY:
	case DB_OG_ROLE_NORMAL:
		/* Primary while still in recovery: a failover in flight. */
		st->role = in_recovery ? DB_ROLE_STARTING : DB_ROLE_PRIMARY;
		break;
	case DB_OG_ROLE_STANDBY:
	case DB_OG_ROLE_CASCADE_STANDBY:
	case DB_OG_ROLE_MAIN_STANDBY:
		st->role = DB_ROLE_REPLICA;
		break;
	case DB_OG_ROLE_PENDING:
		st->role = DB_ROLE_PENDING;
		break;
	default:
		st->role = DB_ROLE_UNKNOWN;
		break;
	}
	st->replication_state = DB_REPL_NONE;
	st->needs_rejoin = false;
	if (st->role == DB_ROLE_REPLICA) {
		if (ha->db_state == DB_OG_DB_STATE_NORMAL && ha->detail == DB_OG_DETAIL_NORMAL)
			st->replication_state = DB_REPL_STREAMING;
		else if (ha->detail == DB_OG_DETAIL_CONNECTING ||
			 ha->db_state == DB_OG_DB_STATE_STARTING ||
			 ha->db_state == DB_OG_DB_STATE_CATCHUP)
			st->replication_state = DB_REPL_CONNECTING;
		else
			st->replication_state = DB_REPL_DISCONNECTED;
		/* §2.7: system id, timeline or removed WAL mean a build. */
		enum db_og_build_advice advice = db_og_build_advice(ha);
		st->needs_rejoin =
			advice == DB_OG_ADVICE_BUILD || advice == DB_OG_ADVICE_BUILD_FULL;
	}
	st->detail[0] = '\0';
	if (ha->detail != DB_OG_DETAIL_NORMAL || ha->db_state != DB_OG_DB_STATE_NORMAL)
		snprintf(st->detail, sizeof(st->detail), "%s: %s",
			 db_og_db_state_name(ha->db_state), ha->detail_text);
}

/* Restart-only parameters whose configured value differs from the running one. openGauss's
 * pg_settings has no pending_restart column, so the driver compares them itself. */
static int query_pending(struct db *db, PGconn *conn, int64_t deadline, struct db_status *st,
			 char *err, size_t err_cap)
{
	PGresult *res = NULL;
	int rc = db_sql_query(conn,
			      "SELECT name, setting, COALESCE(unit, '') FROM pg_settings"
			      " WHERE context = 'postmaster'",
			      deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; r < PQntuples(res) && PQnfields(res) == 3; r++) {
		const char *name = field(res, r, 0);
		const char *v = name ? db_params_get(&db->opts.parameters, name) : NULL;
		if (!v || driver_owned(name) ||
		    !db_og_setting_differs(v, field(res, r, 1), field(res, r, 2)))
			continue;
		st->pending_restart = true;
		if (st->pending_count < DB_PENDING_MAX &&
		    buf_copy(st->pending[st->pending_count], sizeof(st->pending[0]), name) != 0)
			st->pending[st->pending_count][0] = '\0';
		st->pending_count++;
	}
	PQclear(res);
	return 0;
}

static int query_status(struct db *db, PGconn *conn, int64_t deadline, struct db_status *st,
			char *err, size_t err_cap)
{
	PGresult *res = NULL;
	char why[DB_ERROR_MAX];
	/* §2.7 SQL 1: the role, as gs_ctl query's "HA state" block shows it. */
	int rc = one_row(conn,
			 "SELECT local_role, static_connections, db_state, detail_information"
			 " FROM pg_stat_get_stream_replications()",
			 4, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	struct db_og_ha_state ha;
	rc = db_og_ha_state_from_row(field(res, 0, 0), field(res, 0, 1), field(res, 0, 2),
				     field(res, 0, 3), &ha, why, sizeof(why));
	PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "stream replication state: %s", why);

	/* §2.8: (term, lsn) from the replay location record. */
	rc = one_row(conn, "SELECT term, lsn FROM pg_last_xlog_replay_location()", 2, deadline,
		     &res, err, err_cap);
	if (rc < 0)
		return rc;
	struct db_og_term_lsn tl;
	rc = db_og_parse_term_lsn_fields(field(res, 0, 0), field(res, 0, 1), &tl, why, sizeof(why));
	PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "replay location: %s", why);
	st->term = tl.term;
	st->replay_lsn = tl.lsn;

	/* §2.7 location functions: PG 9.x names, text results. */
	rc = one_row(
		conn,
		"SELECT pg_is_in_recovery(), current_setting('server_version_num'),"
		" to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC',"
		" 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00',"
		" CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_xlog_location() END,"
		" pg_last_xlog_receive_location(), current_setting('synchronous_standby_names')",
		6, deadline, &res, err, err_cap);
	if (rc < 0)
		return rc;
	bool in_recovery = field(res, 0, 0) && strcmp(field(res, 0, 0), "t") == 0;
	int version = 0;
	if (field(res, 0, 1) && num_parse_int(field(res, 0, 1), 0, 10000000, &version) == 0)
		st->server_version = version;
	snprintf(st->postmaster_start_time, sizeof(st->postmaster_start_time), "%s",
		 field(res, 0, 2) ? field(res, 0, 2) : "");
	uint64_t current = 0;
	rc = parse_lsn_or_zero(field(res, 0, 3), &current);
	if (rc == 0)
		rc = parse_lsn_or_zero(field(res, 0, 4), &st->receive_lsn);
	if (buf_copy(st->synchronous_standby_names, sizeof(st->synchronous_standby_names),
		     field(res, 0, 5) ? field(res, 0, 5) : "") != 0)
		rc = -ENOBUFS;
	PQclear(res);
	if (rc < 0)
		return err_fail(err, err_cap, -EIO, "malformed location in status");
	st->write_lsn = current;
	st->flush_lsn = current;

	/* The system identifier, which the loop writes into the initialize key after bootstrap
	 * (as Patroni does). pg_control_system() is not named by opengauss.md: when the server
	 * has no such function the identifier stays empty and the status is still good. */
	if (one_row(conn, "SELECT system_identifier FROM pg_control_system()", 1, deadline, &res,
		    why, sizeof(why)) == 0) {
		if (!field(res, 0, 0) ||
		    buf_copy(st->system_identifier, sizeof(st->system_identifier),
			     field(res, 0, 0)) != 0)
			st->system_identifier[0] = '\0';
		PQclear(res);
	}

	db_opengauss_fill_role(&ha, in_recovery, st);
	if (st->role == DB_ROLE_REPLICA)
		query_upstream(conn, deadline, st);
	if (st->role == DB_ROLE_PRIMARY) {
		rc = query_standbys(conn, deadline, st, err, err_cap);
		if (rc < 0)
			return rc;
	}
	return query_pending(db, conn, deadline, st, err, err_cap);
}

static void og_get_status(struct db *db, struct db_status *st)
{
	struct db_pg_probe probe;
	memset(&probe, 0, sizeof(probe));
	probe.initialized = data_file_exists(db, "PG_VERSION");
	probe.pidfile_rc = db_pidfile_read(db->opts.data_dir, &probe.pf);
	if (probe.pidfile_rc == 0)
		probe.alive = db_pid_alive(probe.pf.pid);
	struct db_status sql;
	memset(&sql, 0, sizeof(sql));
	if (probe.pidfile_rc == 0 && probe.alive) {
		PGconn *conn = NULL;
		int64_t deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
		int rc = db_sql_connect(db, NULL, deadline, &conn, probe.conn_error,
					sizeof(probe.conn_error));
		if (rc == 0) {
			deadline = clock_mono_ms() + db->opts.connect_timeout_ms;
			rc = query_status(db, conn, deadline, &sql, probe.conn_error,
					  sizeof(probe.conn_error));
			probe.connected = rc == 0;
			PQfinish(conn);
		}
	}
	/* The process-level picture (stopped, crashed, starting, ...) is the same as PostgreSQL's:
	 * openGauss keeps one gaussdb pid in postmaster.pid (§2.1). */
	db_pg_classify(&probe, st);
	if (probe.connected) {
		enum db_role role = sql.role;
		sql.initialized = st->initialized;
		sql.running = st->running;
		sql.accepting = st->accepting;
		sql.postmaster_pid = st->postmaster_pid;
		*st = sql;
		st->role = role;
	}
}

static int og_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
			   size_t err_cap)
{
	(void)db;
	(void)out;
	(void)timeout_ms;
	return err_fail(
		err, err_cap, -ENOTSUP,
		"the openGauss driver does not read the control file (opengauss.md names no "
		"tool for it)");
}

/* Polls status until the role is want or the deadline passes. */
static bool wait_for_role(struct db *db, int64_t deadline, enum db_role want, struct db_status *st)
{
	for (;;) {
		memset(st, 0, sizeof(*st));
		og_get_status(db, st);
		if (st->role == want)
			return true;
		if (!st->running && st->role != DB_ROLE_UNKNOWN)
			return false;
		int64_t left = deadline - clock_mono_ms();
		if (left <= 0)
			return false;
		clock_sleep_ms(left < OG_POLL_MS ? left : OG_POLL_MS);
	}
}

/* --- gs_ctl ------------------------------------------------------------------------------------ */

/* Runs a gs_ctl command line built by the codec; -w -t commands get their seconds plus a margin. */
static int run_ctl(struct db *db, const struct db_og_argv *a, int64_t wait_ms, const char *what,
		   char *err, size_t err_cap)
{
	char out[OG_OUTPUT_MAX];
	char why[DB_ERROR_MAX];
	int rc = run_argv(db, a, secs_of(wait_ms) * 1000 + OG_CTL_MARGIN_MS, out, sizeof(out), why,
			  sizeof(why));
	if (rc < 0)
		return err_fail(err, err_cap, rc, "gs_ctl %s failed: %s", what, why);
	return 0;
}

static int ctl_start(struct db *db, const char *mode, int64_t wait_ms, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
	if (rc == 0)
		rc = db_og_ctl_start(a, prog, db->opts.data_dir, mode, (int)secs_of(wait_ms), NULL,
				     db->opts.log_file);
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl start command");
	else
		rc = run_ctl(db, a, wait_ms, "start", err, err_cap);
	free(a);
	return rc;
}

static int ctl_notify(struct db *db, bool primary, uint64_t term, int64_t wait_ms, char *err,
		      size_t err_cap)
{
	char prog[DB_PATH_MAX];
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
	if (rc == 0)
		rc = db_og_ctl_notify(a, prog, db->opts.data_dir, primary, (uint32_t)term,
				      (int)secs_of(wait_ms));
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl notify command");
	else
		rc = run_ctl(db, a, wait_ms, "notify", err, err_cap);
	free(a);
	return rc;
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
	int64_t deadline = clock_mono_ms() + timeout_ms;
	if (role == DB_START_PRIMARY) {
		int rc = check_term(term, err, err_cap);
		if (rc < 0)
			return rc;
	}
	struct db_status st;
	memset(&st, 0, sizeof(st));
	og_get_status(db, &st);
	if (!st.initialized)
		return err_fail(err, err_cap, -ENOENT, "data directory \"%s\" is not initialized",
				db->opts.data_dir);
	if (role == DB_START_REPLICA) {
		db->has_upstream = primary != NULL;
		if (primary)
			db->upstream = *primary;
		db->upstream_known = true;
	}
	if (st.running) {
		if ((role == DB_START_PRIMARY && st.role == DB_ROLE_PRIMARY) ||
		    (role == DB_START_REPLICA && st.role == DB_ROLE_REPLICA) ||
		    (role == DB_START_PENDING && st.role == DB_ROLE_PENDING))
			return 0;
		/* A pending instance takes its role without a restart (§2.2). */
		if (st.role == DB_ROLE_PENDING && role != DB_START_PENDING)
			return ctl_notify(db, role == DB_START_PRIMARY, term,
					  timeout_ms > 0 ? timeout_ms : db->opts.command_timeout_ms,
					  err, err_cap);
		return err_fail(err, err_cap, -EALREADY, "server is already running as \"%s\"",
				db_role_name(st.role));
	}
	int rc = write_config(db, role == DB_START_REPLICA ? primary : NULL,
			      db->opts.command_timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.13: a leader boots pending and is notified with the term; a replica starts standby.
	 * notify needs a running server, so a primary start always waits for pending. */
	int64_t wait_ms = timeout_ms > 0 ? timeout_ms : db->opts.command_timeout_ms;
	rc = ctl_start(db, role == DB_START_REPLICA ? "standby" : "pending", wait_ms, err, err_cap);
	if (rc < 0 || role != DB_START_PRIMARY)
		return rc;
	int64_t left = deadline - clock_mono_ms();
	return ctl_notify(db, true, term, left > 1000 ? left : 1000, err, err_cap);
}

static int og_stop(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		   size_t err_cap)
{
	/* §2.3: gs_ctl has no smart mode. */
	if (mode == DB_STOP_SMART)
		return err_fail(err, err_cap, -ENOTSUP, "openGauss has no smart shutdown");
	if (!db_server_running(db))
		return 0;
	char prog[DB_PATH_MAX];
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
	if (rc == 0)
		rc = db_og_ctl_stop(a, prog, db->opts.data_dir,
				    mode == DB_STOP_FAST ? DB_OG_STOP_FAST : DB_OG_STOP_IMMEDIATE,
				    (int)secs_of(timeout_ms));
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl stop command");
	else
		rc = run_ctl(db, a, timeout_ms, "stop", err, err_cap);
	free(a);
	if (rc < 0 && !db_server_running(db))
		return 0; /* it went away after all */
	if (rc < 0)
		return err_fail(err, err_cap, -ETIMEDOUT, "server did not stop (%s)",
				db_stop_mode_name(mode));
	return 0;
}

static int og_restart(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		      size_t err_cap)
{
	if (mode == DB_STOP_SMART)
		return err_fail(err, err_cap, -ENOTSUP, "openGauss has no smart shutdown");
	struct db_status st;
	memset(&st, 0, sizeof(st));
	og_get_status(db, &st);
	if (!st.running)
		return err_fail(err, err_cap, -ESRCH,
				"server is not running, so its role is unknown");
	/* §2.12: gs_ctl restart -M <mode> -m fast|immediate keeps the role it is given. */
	char prog[DB_PATH_MAX];
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
	if (rc == 0)
		rc = db_og_ctl_restart(a, prog, db->opts.data_dir, mode_for_role(st.role),
				       mode == DB_STOP_FAST ? DB_OG_STOP_FAST
							    : DB_OG_STOP_IMMEDIATE,
				       (int)secs_of(timeout_ms), NULL, db->opts.log_file);
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl restart command");
	else
		rc = run_ctl(db, a, timeout_ms, "restart", err, err_cap);
	free(a);
	return rc;
}

static int og_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	(void)timeout_ms;
	struct db_pidfile pf;
	if (db_pidfile_read(db->opts.data_dir, &pf) != 0 || !db_pid_alive(pf.pid))
		return err_fail(err, err_cap, -ESRCH, "server is not running");
	/* One gaussdb process per instance (§2.1): SIGHUP to it is what gs_guc reload sends. */
	if (kill(pf.pid, SIGHUP) != 0)
		return err_fail(err, err_cap, -errno, "could not signal pid %d: %s", pf.pid,
				strerror(errno));
	return 0;
}

static int og_promote(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	int rc = check_term(term, err, err_cap);
	if (rc < 0)
		return rc;
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct db_status st;
	memset(&st, 0, sizeof(st));
	og_get_status(db, &st);
	if (st.role == DB_ROLE_PRIMARY)
		return 0;
	if (st.role == DB_ROLE_PENDING) {
		rc = ctl_notify(db, true, term, timeout_ms, err, err_cap);
	} else if (st.role == DB_ROLE_REPLICA) {
		/* §2.4: failover onto self with the cluster term, idempotent when Primary. */
		char prog[DB_PATH_MAX];
		struct db_og_argv *a = malloc(sizeof(*a));
		if (!a)
			return err_fail(err, err_cap, -ENOMEM, "out of memory");
		rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
		if (rc == 0)
			rc = db_og_ctl_failover(a, prog, db->opts.data_dir, (uint32_t)term,
						(int)secs_of(timeout_ms));
		if (rc < 0)
			rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl failover command");
		else
			rc = run_ctl(db, a, timeout_ms, "failover", err, err_cap);
		free(a);
	} else {
		return err_fail(err, err_cap, -ESRCH, "cannot promote: server is \"%s\"",
				db_role_name(st.role));
	}
	if (rc < 0)
		return rc;
	db->has_upstream = false;
	db->upstream_known = true;
	if (!wait_for_role(db, deadline, DB_ROLE_PRIMARY, &st))
		return err_fail(err, err_cap, -ETIMEDOUT, "server is \"%s\" after promotion",
				db_role_name(st.role));
	return 0;
}

static int og_follow(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
		     size_t err_cap)
{
	db->has_upstream = primary != NULL;
	if (primary)
		db->upstream = *primary;
	db->upstream_known = true;
	struct db_status st;
	memset(&st, 0, sizeof(st));
	og_get_status(db, &st);
	/* The standby walks replconninfo and attaches to whichever peer is primary (§2.6): listing
	 * primary there is all a running replica needs. */
	int rc = write_config(db, primary, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	if (st.role == DB_ROLE_PENDING)
		return ctl_notify(db, false, 0, timeout_ms, err, err_cap);
	if (st.role != DB_ROLE_PRIMARY)
		return 0;
	/* §2.13 "demote self": there is no in-place demotion; restart as a standby. */
	char prog[DB_PATH_MAX];
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
	if (rc == 0)
		rc = db_og_ctl_restart(a, prog, db->opts.data_dir, "standby", DB_OG_STOP_FAST,
				       (int)secs_of(timeout_ms), NULL, db->opts.log_file);
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl restart command");
	else
		rc = run_ctl(db, a, timeout_ms, "restart", err, err_cap);
	free(a);
	return rc;
}

static int og_apply_parameters(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	return write_config(db, NULL, timeout_ms, err, err_cap);
}

static int og_set_sync_standbys(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	struct db_og_setting s[3];
	int rc = sync_settings(db, s, err, err_cap);
	if (rc < 0)
		return rc;
	return run_guc(db, db_server_running(db), s, 3, timeout_ms, err, err_cap);
}

static int og_ensure_slots(struct db *db, const char names[][DB_NAME_MAX], int count,
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
	int64_t deadline = clock_mono_ms() + timeout_ms;
	PGconn *conn;
	int rc = db_sql_connect(db, NULL, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_sql_exec(conn, "CHECKPOINT", deadline, err, err_cap);
	PGresult *res = NULL;
	/* The position after the checkpoint: the current location on a primary, the replayed one
	 * on a standby (both text, §2.7). */
	if (rc == 0)
		rc = one_row(conn,
			     "SELECT CASE WHEN pg_is_in_recovery() THEN"
			     " (SELECT lsn FROM pg_last_xlog_replay_location())"
			     " ELSE pg_current_xlog_location() END",
			     1, deadline, &res, err, err_cap);
	if (rc == 0) {
		uint64_t lsn;
		if (lsn_parse(field(res, 0, 0), &lsn) == 0)
			*out_lsn = lsn;
		else
			rc = err_fail(err, err_cap, -EIO, "checkpoint location is malformed");
		PQclear(res);
	}
	PQfinish(conn);
	return rc;
}

/* --- Tasks --------------------------------------------------------------------------------- */

static int pwfile_path(const struct db *db, char *out, size_t cap)
{
	return buf_format(out, cap, "%s.pwfile", db->opts.pgpass_path) == 0 ? 0 : -ENAMETOOLONG;
}

/* gs_initdb -D dir --nodename=<name> -U <superuser> [--pwfile=...] [--<initdb option>...]. */
static int spawn_initdb(struct db *db, enum og_step step, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX], pw[OG_FILE_PATH_MAX], pw_arg[OG_ARG_MAX], node_arg[OG_ARG_MAX];
	if (ctl_path(db, "gs_initdb", prog, sizeof(prog)) < 0 ||
	    pwfile_path(db, pw, sizeof(pw)) < 0 ||
	    buf_format(pw_arg, sizeof(pw_arg), "--pwfile=%s", pw) != 0 ||
	    buf_format(node_arg, sizeof(node_arg), "--nodename=%s", db->opts.name) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path too long");
	const char *argv[PROC_ARGV_MAX];
	char storage[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_MAX + 2];
	int n = 0;
	argv[n++] = prog;
	argv[n++] = "-D";
	argv[n++] = db->opts.data_dir;
	argv[n++] = node_arg;
	argv[n++] = "-U";
	argv[n++] = db->opts.superuser.username;
	if (db->opts.superuser.password[0]) {
		char content[DB_PASSWORD_MAX + 2];
		if (buf_format(content, sizeof(content), "%s\n", db->opts.superuser.password) != 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "password too long");
		int rc = db_write_file(pw, content, 0600, err, err_cap);
		if (rc < 0)
			return rc;
		argv[n++] = pw_arg;
	}
	for (int i = 0; i < db->opts.initdb_option_count && n + 1 < PROC_ARGV_MAX; i++) {
		const char *o = db->opts.initdb_options[i];
		while (*o == '-')
			o++;
		if (buf_format(storage[i], sizeof(storage[i]), "--%s", o) != 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "initdb option too long");
		argv[n++] = storage[i];
	}
	argv[n] = NULL;
	db->task.step = step;
	int rc = db_task_spawn(db, argv, err, err_cap);
	if (rc != -EINPROGRESS)
		unlink(pw);
	return rc;
}

static int spawn_ctl(struct db *db, struct db_og_argv *a, int64_t wait_ms, enum og_step step,
		     char *err, size_t err_cap)
{
	db->task.step = step;
	return spawn_argv(db, a, secs_of(wait_ms) * 1000 + OG_CTL_MARGIN_MS, err, err_cap);
}

static int spawn_build(struct db *db, enum db_og_build_mode mode, enum og_step step, char *err,
		       size_t err_cap)
{
	char prog[DB_PATH_MAX];
	struct db_og_argv *a = malloc(sizeof(*a));
	if (!a)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int64_t secs = secs_of(db->opts.task_timeout_ms);
	int rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
	if (rc == 0)
		rc = db_og_ctl_build(a, prog, db->opts.data_dir, mode, 0,
				     (int)(secs < 86400 ? secs : 86400));
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl build command");
	else
		rc = spawn_ctl(db, a, db->opts.task_timeout_ms, step, err, err_cap);
	free(a);
	return rc;
}

static int og_begin_bootstrap(struct db *db, char *err, size_t err_cap)
{
	int rc = check_term(db->task.term, err, err_cap);
	if (rc < 0)
		return rc;
	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "a server is running in \"%s\"",
				db->opts.data_dir);
	if (!db_dir_empty(db->opts.data_dir))
		return err_fail(err, err_cap, -EEXIST, "data directory \"%s\" is not empty",
				db->opts.data_dir);
	return spawn_initdb(db, OG_STEP_BOOT_INITDB, err, err_cap);
}

static int og_begin_create_replica(struct db *db, char *err, size_t err_cap)
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
	bool allowed = db->opts.use_pg_rewind
			       ? db->opts.remove_data_directory_on_rewind_failure
			       : db->opts.remove_data_directory_on_diverged_timelines;
	if (!allowed)
		return err_fail(err, err_cap, why_rc, "%s", why);
	log_debug("rejoin: %s; rebuilding \"%s\" in full", why, db->opts.data_dir);
	return spawn_build(db, DB_OG_BUILD_FULL, OG_STEP_REJOIN_FULL, err, err_cap);
}

static int og_begin_rejoin(struct db *db, char *err, size_t err_cap)
{
	if (!data_file_exists(db, "PG_VERSION"))
		return err_fail(err, err_cap, -ENOENT, "data directory \"%s\" is not initialized",
				db->opts.data_dir);
	if (!db->opts.use_pg_rewind && !db->opts.remove_data_directory_on_diverged_timelines)
		return err_fail(err, err_cap, -ENOTSUP,
				"cannot rejoin: use_pg_rewind and "
				"remove_data_directory_on_diverged_timelines are both off");
	db->upstream = db->task.primary;
	db->has_upstream = true;
	db->upstream_known = true;
	/* gs_ctl build finds the primary through replconninfo (§2.5) and stops the local
	 * instance itself. */
	int rc = write_config(db, &db->task.primary, db->opts.command_timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	if (!db->opts.use_pg_rewind)
		return rejoin_full_or_fail(db, -ENOTSUP, "use_pg_rewind is off", err, err_cap);
	/* §2.13: a diverged old primary rejoins with an incremental build. */
	return spawn_build(db, DB_OG_BUILD_INCREMENTAL, OG_STEP_REJOIN_INCREMENTAL, err, err_cap);
}

static int og_task_step(struct db *db, char *err, size_t err_cap)
{
	int rc;
	char pw[OG_FILE_PATH_MAX];
	char why[DB_ERROR_MAX];
	switch (db->task.step) {
	case OG_STEP_BOOT_INITDB:
	case OG_STEP_CLONE_INITDB: {
		bool clone = db->task.step == OG_STEP_CLONE_INITDB;
		rc = db_task_reap(db, err, err_cap);
		if (pwfile_path(db, pw, sizeof(pw)) == 0)
			unlink(pw);
		if (rc == 0)
			rc = write_initial_config(db, clone ? &db->task.primary : NULL, err,
						  err_cap);
		if (rc < 0) {
			if (db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after gs_initdb: %s", why);
			return rc;
		}
		if (clone) {
			db->upstream = db->task.primary;
			db->has_upstream = true;
			db->upstream_known = true;
			return spawn_build(db, DB_OG_BUILD_FULL, OG_STEP_CLONE_BUILD, err, err_cap);
		}
		char prog[DB_PATH_MAX];
		struct db_og_argv *a = malloc(sizeof(*a));
		if (!a)
			return err_fail(err, err_cap, -ENOMEM, "out of memory");
		rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
		if (rc == 0)
			rc = db_og_ctl_start(a, prog, db->opts.data_dir, "pending",
					     (int)secs_of(db->opts.command_timeout_ms), NULL,
					     db->opts.log_file);
		if (rc < 0)
			rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl start command");
		else
			rc = spawn_ctl(db, a, db->opts.command_timeout_ms, OG_STEP_BOOT_START, err,
				       err_cap);
		free(a);
		return rc;
	}
	case OG_STEP_BOOT_START: {
		rc = db_task_reap(db, err, err_cap);
		if (rc < 0)
			return rc;
		char prog[DB_PATH_MAX];
		struct db_og_argv *a = malloc(sizeof(*a));
		if (!a)
			return err_fail(err, err_cap, -ENOMEM, "out of memory");
		rc = ctl_path(db, "gs_ctl", prog, sizeof(prog));
		if (rc == 0)
			rc = db_og_ctl_notify(a, prog, db->opts.data_dir, true,
					      (uint32_t)db->task.term,
					      (int)secs_of(db->opts.command_timeout_ms));
		if (rc < 0)
			rc = err_fail(err, err_cap, rc, "cannot build the gs_ctl notify command");
		else
			rc = spawn_ctl(db, a, db->opts.command_timeout_ms, OG_STEP_BOOT_NOTIFY, err,
				       err_cap);
		free(a);
		return rc;
	}
	case OG_STEP_BOOT_NOTIFY:
		return db_task_reap(db, err, err_cap);
	case OG_STEP_CLONE_BUILD:
		rc = db_task_reap(db, err, err_cap);
		if (rc < 0) {
			if (!db_server_running(db) &&
			    db_clear_dir(db->opts.data_dir, why, sizeof(why)) < 0)
				log_debug("could not clean up after a failed build: %s", why);
		}
		return rc;
	case OG_STEP_REJOIN_INCREMENTAL:
		rc = db_task_reap(db, why, sizeof(why));
		if (rc < 0)
			return rejoin_full_or_fail(db, rc, why, err, err_cap);
		return 0;
	case OG_STEP_REJOIN_FULL:
		return db_task_reap(db, err, err_cap);
	default:
		return err_fail(err, err_cap, -EINVAL, "unknown task step %d", db->task.step);
	}
}

static int og_check_options(const struct db_options *o, char *err, size_t err_cap)
{
	/* openGauss replicates as its initial user (§2.6), so no replication user is needed. */
	if (o->bin_dir[0]) {
		char path[DB_PATH_MAX + 16];
		if (buf_format(path, sizeof(path), "%s/gs_ctl", o->bin_dir) != 0 ||
		    access(path, X_OK) != 0)
			return err_fail(err, err_cap, -EINVAL,
					"\"postgresql.bin_dir\": no executable gs_ctl in \"%s\"",
					o->bin_dir);
	}
	return 0;
}

static void og_free_priv(struct db *db)
{
	free(db->priv);
	db->priv = NULL;
}

const struct db_driver db_opengauss_driver = {
	.name = "opengauss",
	.check_options = og_check_options,
	.get_status = og_get_status,
	.read_control = og_read_control,
	.begin_bootstrap = og_begin_bootstrap,
	.begin_create_replica = og_begin_create_replica,
	.begin_rejoin = og_begin_rejoin,
	.task_step = og_task_step,
	.start = og_start,
	.stop = og_stop,
	.restart = og_restart,
	.reload = og_reload,
	.promote = og_promote,
	.follow = og_follow,
	.apply_parameters = og_apply_parameters,
	.set_sync_standbys = og_set_sync_standbys,
	.ensure_slots = og_ensure_slots,
	.checkpoint = og_checkpoint,
	.fence = db_fence_postmaster,
	.set_peers = og_set_peers,
	.free_priv = og_free_priv,
};
