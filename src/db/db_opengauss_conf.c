/*
 * db_opengauss_conf.c - the openGauss driver's configuration, all written with gs_guc (§2.6):
 * replconninfo1..8 from the member list (db_set_peers), the synchronous settings always
 * explicitly (§2.9), the driver's own settings, the user parameters, and pg_hba lines.
 */
#include "db_opengauss.h"

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long db_og_set_peers waits for a Normal primary to read back as Primary after notify. */
#define OG_SETTLE_MS 3000
/* Settings one configuration write may carry: the driver's own plus every user parameter. */
#define OG_SETTINGS_ALL_MAX (DB_PARAMS_MAX + 16)

struct db_og_priv *db_og_priv_of(struct db *db)
{
	if (!db->priv)
		db->priv = calloc(1, sizeof(struct db_og_priv));
	return db->priv;
}

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
	struct db_og_priv *p = db_og_priv_of(db);
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

/* wal_level given by the user was warned about (once a process). */
static bool warned_wal_level;

/* sync_config_strategy given by the user was warned about (once a process). */
static bool warned_sync_config;

/* default_transaction_read_only as the user configured it, "off" when not. */
static const char *user_read_only(const struct db *db)
{
	const char *v = db_params_get(&db->opts.parameters, "default_transaction_read_only");
	return v ? v : "off";
}

/* Parameters the driver writes itself; a user value for them is ignored. */
bool db_og_driver_owned(const char *name)
{
	static const char *const owned[] = {
		"port",
		"listen_addresses",
		"application_name",
		"synchronous_standby_names",
		"synchronous_commit",
		"most_available_sync",
		"hot_standby",
		"wal_level",
		"default_transaction_read_only",
		"sync_config_strategy",
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

/* §2.1: openGauss has unix_socket_directory, one directory; PostgreSQL's
 * unix_socket_directories (as Patroni configurations carry it) is written under that name, its
 * first directory only. */
static int put_socket_directory(struct db_og_setting *s, int *n, const char *dirs)
{
	static bool warned;
	char first[DB_OG_GUC_VALUE_MAX];
	dirs += strspn(dirs, ", ");
	size_t len = strcspn(dirs, ",");
	while (len > 0 && dirs[len - 1] == ' ')
		len--;
	if (buf_format(first, sizeof(first), "%.*s", (int)len, dirs) != 0)
		return -ENAMETOOLONG;
	if (dirs[strcspn(dirs, ",")] != '\0' && !warned) {
		warned = true;
		log_warning("unix_socket_directories \"%s\": openGauss takes one directory "
			    "(unix_socket_directory), using \"%s\" (opengauss.md 2.1)",
			    dirs, first);
	}
	return put_setting(s, n, "unix_socket_directory", first);
}

/* Appends replconninfo1..8 for this node (see render_replconninfo) to s at *n; an unused entry
 * is "", which clears a stale one. */
static int put_replconninfo(struct db *db, const struct db_peer *extra, struct db_og_setting *s,
			    int *n, char *err, size_t err_cap)
{
	struct db_og_replconninfo *ri = malloc(sizeof(*ri));
	if (!ri)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = render_replconninfo(db, extra, ri, err, err_cap);
	for (int i = 0; i < DB_OG_REPLCONNINFO_MAX && rc == 0; i++) {
		char name[32];
		if (buf_format(name, sizeof(name), "replconninfo%d", i + 1) != 0 ||
		    put_setting(s, n, name, ri->entry[i]) != 0)
			rc = err_fail(err, err_cap, -E2BIG, "replconninfo does not fit");
	}
	free(ri);
	return rc;
}

/* The three synchronous settings of §2.9 from db_set_sync_standbys' choice (asynchronous until
 * the loop says otherwise: that overrides the blocking '*' default). */
/* §2.6: on a host installed by openGauss's OM tools ($GAUSSHOME/bin/cluster_static_config),
 * gs_guc rewrites synchronous_standby_names (one digit as n, no ANY/FIRST n(*), only the AZ or
 * data-node names of its static configuration) and drops a value it refuses: say so once. */
static void warn_om_host(void)
{
	static bool warned;
	const char *home = getenv("GAUSSHOME");
	char path[DB_PATH_MAX + 64];
	if (warned || !home || !home[0] ||
	    buf_format(path, sizeof(path), "%s/bin/cluster_static_config", home) != 0 ||
	    access(path, F_OK) != 0)
		return;
	warned = true;
	log_warning("%s exists: on hosts installed by openGauss's OM tools gs_guc rewrites or "
		    "refuses synchronous_standby_names, so synchronous mode may not take effect; "
		    "unset GAUSSHOME in gsha's environment (opengauss.md 2.6)",
		    path);
}

static int sync_settings(struct db *db, struct db_og_setting out[3], char *err, size_t err_cap)
{
	warn_om_host();
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
	struct db_og_cmd c;
	int rc = db_og_cmd_begin(db, "gs_guc", &c, err, err_cap);
	for (int i = 0; i < n && rc == 0; i += DB_OG_SETTINGS_MAX) {
		int chunk = n - i < DB_OG_SETTINGS_MAX ? n - i : DB_OG_SETTINGS_MAX;
		char why[DB_ERROR_MAX];
		rc = db_og_guc_argv(c.argv, c.prog, db->opts.data_dir, reload, s + i, chunk, why,
				    sizeof(why));
		if (rc < 0) {
			rc = err_fail(err, err_cap, rc, "cannot write settings with gs_guc: %s",
				      why);
			break;
		}
		rc = db_og_cmd_exec(db, &c, timeout_ms, err, err_cap);
	}
	db_og_cmd_done(&c);
	return rc;
}

int db_og_set_read_only(struct db *db, bool stop_writes, int64_t timeout_ms, char *err,
			size_t err_cap)
{
	struct db_og_setting s;
	memset(&s, 0, sizeof(s));
	if (buf_copy(s.name, sizeof(s.name), "default_transaction_read_only") != 0 ||
	    buf_copy(s.value, sizeof(s.value), stop_writes ? "on" : user_read_only(db)) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "setting too long");
	return run_guc(db, true, &s, 1, timeout_ms, err, err_cap);
}

/* Writes the whole configuration the driver owns plus the user parameters with gs_guc (reload
 * when the server runs, §2.6). extra is a peer to list in replconninfo besides the members. */
int db_og_write_config(struct db *db, const struct db_peer *extra, int64_t timeout_ms, char *err,
		       size_t err_cap)
{
	struct db_og_setting *s = calloc(OG_SETTINGS_ALL_MAX, sizeof(*s));
	int n = 0, rc = 0;
	if (!s)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	rc = put_replconninfo(db, extra, s, &n, err, err_cap);
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
	/* §2.2: notify -M primary is ignored unless wal_level is exactly hot_standby (openGauss
	 * has no "replica"; "logical" is refused there too). */
	if (rc == 0)
		rc = put_setting(s, &n, "wal_level", "hot_standby");
	/* db_hand_over stops writes with it; any other write of the configuration ends that. */
	if (rc == 0)
		rc = put_setting(s, &n, "default_transaction_read_only", user_read_only(db));
	/* §2.6: with all_node (the default) a standby takes the primary's postgresql.conf, the
	 * driver's per-node settings and a handed-over primary's read-only switch included. */
	if (rc == 0)
		rc = put_setting(s, &n, "sync_config_strategy", "none_node");
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
		if (db_og_driver_owned(p->name)) {
			if (strcmp(p->name, "sync_config_strategy") == 0 &&
			    strcmp(p->value, "none_node") != 0 && !warned_sync_config) {
				warned_sync_config = true;
				log_warning("sync_config_strategy \"%s\" ignored: gsha writes each "
					    "node's settings itself and keeps none_node "
					    "(opengauss.md 2.6)",
					    p->value);
			}
			if (strcmp(p->name, "wal_level") == 0 &&
			    strcmp(p->value, "hot_standby") != 0 && !warned_wal_level) {
				warned_wal_level = true;
				log_warning("wal_level \"%s\" ignored: openGauss needs hot_standby "
					    "for notify -M primary (opengauss.md 2.2)",
					    p->value);
			}
			continue;
		}
		if (strcmp(p->name, "unix_socket_directories") == 0) {
			rc = put_socket_directory(s, &n, p->value);
			continue;
		}
		rc = put_setting(s, &n, p->name, p->value);
	}
	if (rc < 0) {
		rc = err_fail(err, err_cap, rc, "configuration does not fit");
		goto out_free;
	}
	rc = run_guc(db, db_server_running(db), s, n, timeout_ms, err, err_cap);
out_free:
	free(s);
	return rc;
}

/* Writes replconninfo1..8 alone and reloads (§2.6). */
static int write_replconninfo(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	struct db_og_setting *s = calloc(DB_OG_REPLCONNINFO_MAX, sizeof(*s));
	int n = 0;
	if (!s)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = put_replconninfo(db, NULL, s, &n, err, err_cap);
	if (rc == 0)
		rc = run_guc(db, true, s, n, timeout_ms, err, err_cap);
	free(s);
	return rc;
}

/* pg_hba lines of the options, with gs_guc -h (§2.6). */
static int write_hba(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	char prog[DB_PATH_MAX];
	if (db_bin_path(db, "gs_guc", prog, sizeof(prog)) < 0)
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
int db_og_write_initial_config(struct db *db, const struct db_peer *extra, char *err,
			       size_t err_cap)
{
	/* password_reuse_time 0: the bootstrap sets the superuser's password again, hashed under
	 * type 1; within the default 60 days the same password is refused (§2.10). A user value in
	 * the parameters, written after these, wins. */
	struct db_og_setting s[2];
	int rc = buf_copy(s[0].name, sizeof(s[0].name), "password_encryption_type") |
		 buf_copy(s[0].value, sizeof(s[0].value), "1") |
		 buf_copy(s[1].name, sizeof(s[1].name), "password_reuse_time") |
		 buf_copy(s[1].value, sizeof(s[1].value), "0");
	if (rc != 0)
		return err_fail(err, err_cap, -EINVAL, "internal setting too long");
	rc = run_guc(db, false, s, 2, db->opts.command_timeout_ms, err, err_cap);
	if (rc == 0)
		rc = write_hba(db, db->opts.command_timeout_ms, err, err_cap);
	if (rc == 0)
		rc = db_og_write_config(db, extra, db->opts.command_timeout_ms, err, err_cap);
	return rc;
}

/* §2.1: every instance also listens on its port + 1 (the HA port): another member on the same
 * host whose client or HA port is one of mine cannot start, or takes mine. Said once a peer. */
static void warn_port_collisions(struct db *db, const struct db_peer *members, int count)
{
	struct db_og_priv *p = db_og_priv_of(db);
	const char *me = db->opts.connect_host[0] ? db->opts.connect_host : db->opts.listen_host;
	int port = db->opts.connect_port ? db->opts.connect_port : db->opts.listen_port;
	for (int i = 0; p && i < count; i++) {
		const struct db_peer *m = &members[i];
		if (strcmp(m->name, db->opts.name) == 0 || strcmp(m->host, me) != 0 ||
		    (m->port != port + 1 && m->port + 1 != port && m->port != port) ||
		    strcmp(p->collision_warned, m->name) == 0)
			continue;
		buf_copy_or_clear(p->collision_warned, sizeof(p->collision_warned), m->name);
		log_warning("member \"%s\" at %s:%d collides with my port %d or its HA port %d "
			    "on the same host: openGauss listens on port + 1 too, so ports of "
			    "instances on one host must differ by at least 2 (opengauss.md 2.1)",
			    m->name, m->host, m->port, port, port + 1);
	}
}

int db_og_set_peers(struct db *db, const struct db_peer *members, int count, int64_t timeout_ms,
		    char *err, size_t err_cap)
{
	struct db_og_priv *p = db_og_priv_of(db);
	if (!p)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	memcpy(p->members, members, sizeof(members[0]) * (size_t)count);
	p->member_count = count;
	warn_port_collisions(db, members, count);
	/* §2.6: replconninfoN are SIGHUP settings, so a running server takes the new list at once
	 * (a running task writes the configuration itself). Only replconninfoN: the rest of the
	 * configuration, synchronous_standby_names above all, stays as the last call wrote it. */
	if (db_task_running(db) || !db_server_running(db))
		return 0;
	/* Short: this runs in the agent's loop; an error makes the agent hand the list again
	 * next cycle. */
	int64_t deadline =
		clock_mono_ms() + (timeout_ms < OG_SETTLE_MS ? timeout_ms : OG_SETTLE_MS);
	int rc = write_replconninfo(db, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	/* §2.2: a Normal primary stays Normal when entries are added (it opens no replication
	 * listener for them); notify -M primary -T term makes it a Primary that serves them. */
	struct db_status st = { 0 }; /* db_status_clear: zeros or an observation */
	memset(&st, 0, sizeof(st));
	p->has_ha = false;
	db_og_get_status(db, &st);
	if (!p->has_ha || p->ha.local_role != DB_OG_ROLE_NORMAL)
		return 0;
	uint64_t term = db_og_note_term(db, st.term);
	if (term == 0)
		term = 1;
	log_notice("members joined a Normal primary: notify -M primary -T %llu (opengauss.md 2.2)",
		   (unsigned long long)term);
	return db_og_settle_primary(db, term, deadline, err, err_cap);
}

int db_og_apply_parameters(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	return db_og_write_config(db, NULL, timeout_ms, err, err_cap);
}

int db_og_set_sync_standbys(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	struct db_og_setting s[3];
	int rc = sync_settings(db, s, err, err_cap);
	if (rc < 0)
		return rc;
	return run_guc(db, db_server_running(db), s, 3, timeout_ms, err, err_cap);
}
