/*
 * db_postgres_conf.c - the PostgreSQL driver's files: postgresql.conf (rendered whole, pure and
 * unit-tested), postgresql.base.conf, pg_hba.conf, the pgpass file and standby.signal.
 *
 * Layout (Patroni's, see db_postgres.h): the server reads <data_dir>/postgresql.conf, which
 * gsha owns; it includes postgresql.base.conf, the file initdb (or the clone) wrote.
 */
#include "db_postgres.h"

#include "buf.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* The recovery settings a standby cluster's remote primary brings (Patroni's RemoteMember). */
static const char *remote_setting(const struct db_peer *up, int i, const char **name)
{
	static const char *const names[] = { "restore_command", "archive_cleanup_command",
					     "recovery_min_apply_delay" };
	const char *values[] = { up->restore_command, up->archive_cleanup_command,
				 up->recovery_min_apply_delay };

	if (i < 0 || i >= 3)
		return NULL;
	*name = names[i];
	return values[i];
}

/* True when the remote primary sets name itself, over postgresql.recovery_conf. */
static bool remote_sets(const struct db_peer *up, const char *name)
{
	const char *n, *v;

	for (int i = 0; (v = remote_setting(up, i, &n)) != NULL; i++)
		if (v[0] != '\0' && strcasecmp(n, name) == 0)
			return true;
	return false;
}

/* A standby leader's recovery settings: primary_conninfo to the remote host (none without
 * one), standby_cluster's primary_slot_name (none without one: Patroni's no_replication_slot),
 * and the remote's restore_command, archive_cleanup_command and recovery_min_apply_delay. */
static int remote_recovery_conf(const struct db *db, const struct db_peer *up, char *out,
				size_t out_cap)
{
	const char *n, *v;

	if (up->host[0] != '\0') {
		char ci[DB_CONNINFO_MAX];

		if (db_pg_conninfo(db, up, &db->opts.replication, NULL, ci, sizeof(ci)) < 0 ||
		    db_conf_add(out, out_cap, "primary_conninfo", ci) < 0)
			return -ENOBUFS;
		if (up->slot[0] != '\0' &&
		    db_conf_add(out, out_cap, "primary_slot_name", up->slot) < 0)
			return -ENOBUFS;
	}
	for (int i = 0; (v = remote_setting(up, i, &n)) != NULL; i++)
		if (v[0] != '\0' && db_conf_add(out, out_cap, n, v) < 0)
			return -ENOBUFS;
	return 0;
}

/* Parameters a configuration must never set: they would move the data or the file we write. */
static bool forbidden_param(const char *name)
{
	static const char *const names[] = { "data_directory",	 "config_file", "hba_file",
					     "ident_file",	 "include",	"include_dir",
					     "include_if_exists" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0) /* PostgreSQL's names ignore case */
			return true;
	}
	return false;
}

bool db_pg_param_writable(const char *name, const char *value)
{
	/* db_conf_add is the one judge of what can be written: try it on a scratch line. */
	char line[DB_PARAM_NAME_MAX + 2 * DB_PARAM_VALUE_MAX + 8];
	line[0] = '\0';
	return !forbidden_param(name) && strcasecmp(name, "primary_conninfo") != 0 &&
	       strcasecmp(name, "primary_slot_name") != 0 &&
	       db_conf_add(line, sizeof(line), name, value) == 0;
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
		if (!db_pg_param_writable(pp->name, pp->value))
			continue; /* db_pg_write_config warns; the others still apply */
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
		rc = db_params_set(p, "hot_standby", db->boot_hot_standby_off ? "off" : "on");
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
		if (strcasecmp(p->items[i].name, "primary_conninfo") == 0 ||
		    strcasecmp(p->items[i].name, "primary_slot_name") == 0) {
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
		const struct db_peer *up = &db->upstream;

		if (db->has_upstream && up->remote) {
			rc = remote_recovery_conf(db, up, out, out_cap);
			if (rc < 0)
				goto out_free;
		} else if (db->has_upstream) {
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
		/* postgresql.recovery_conf as Patroni's build_recovery_params: every setting but
		 * the recovery targets and what the driver writes itself. */
		for (int i = 0; i < o->recovery_conf_count; i++) {
			const struct db_param *r = &o->recovery_conf[i];
			if (db->has_upstream && up->remote && remote_sets(up, r->name))
				continue;
			if (strncasecmp(r->name, "recovery_target", 15) == 0 ||
			    strcasecmp(r->name, "primary_conninfo") == 0 ||
			    strcasecmp(r->name, "primary_slot_name") == 0 ||
			    strcasecmp(r->name, "standby_mode") == 0)
				continue;
			if (db_conf_add(out, out_cap, r->name, r->value) < 0) {
				rc = -ENOBUFS;
				goto out_free;
			}
		}
	} else if (db->boot_recovery) {
		/* A custom bootstrap's recovery_conf (Patroni's write_recovery_conf without
		 * standby_mode): a point-in-time recovery that ends as the new primary. */
		const struct db_bootstrap_method *b = &o->bootstrap_method;
		for (int i = 0; i < b->recovery_conf_count; i++) {
			const struct db_param *r = &b->recovery_conf[i];
			if (strcasecmp(r->name, "standby_mode") == 0)
				continue;
			if (db_conf_add(out, out_cap, r->name, r->value) < 0) {
				rc = -ENOBUFS;
				goto out_free;
			}
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

/* --- Files ---------------------------------------------------------------------------------- */

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
	char conf[DB_DATA_PATH_MAX];
	char base[DB_DATA_PATH_MAX];
	if (db_data_path(db, "postgresql.conf", conf, sizeof(conf)) < 0 ||
	    db_data_path(db, DB_PG_BASE_CONF, base, sizeof(base)) < 0)
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

/* Logs the parameters db_pg_render_conf leaves out, once for each new set of them. A warning
 * from the database layer, against the leaf rule: the entry came from etcd (PATCH /config refuses
 * such values), and without it a setting would vanish in silence. */
static void warn_unwritable_params(struct db *db)
{
	char names[sizeof(db->conf_skipped)];
	size_t len = 0;
	names[0] = '\0';
	for (int i = 0; i < db->opts.parameters.count; i++) {
		const struct db_param *pp = &db->opts.parameters.items[i];
		if (db_pg_param_writable(pp->name, pp->value))
			continue;
		int n = snprintf(names + len, sizeof(names) - len, "%s\"%.*s\"", len ? ", " : "",
				 40, pp->name);
		if (n < 0 || (size_t)n >= sizeof(names) - len)
			break; /* the list is for the log: its start is enough */
		len += (size_t)n;
	}
	if (strcmp(names, db->conf_skipped) == 0)
		return;
	memcpy(db->conf_skipped, names, len + 1);
	if (names[0])
		log_warning(
			"postgresql.parameters: ignoring %s: a name PostgreSQL does not accept, a "
			"value with a line break, or a setting gsha owns; the others apply",
			names);
}

int db_pg_write_config(struct db *db, bool replica, bool *reload_needed, char *err, size_t err_cap)
{
	bool conf_changed = false;
	bool hba_changed = false;
	int rc = keep_base_conf(db, err, err_cap);
	if (rc < 0)
		return rc;
	char conf_path[DB_DATA_PATH_MAX];
	char signal_path[DB_DATA_PATH_MAX];
	if (db_data_path(db, "postgresql.conf", conf_path, sizeof(conf_path)) < 0 ||
	    db_data_path(db, "standby.signal", signal_path, sizeof(signal_path)) < 0)
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
	warn_unwritable_params(db);
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
		char hba_path[DB_DATA_PATH_MAX];
		if (rc == 0 && db_data_path(db, "pg_hba.conf", hba_path, sizeof(hba_path)) == 0)
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
	} else if (!db->boot_keep_recovery && unlink(signal_path) != 0 && errno != ENOENT) {
		return err_fail(err, err_cap, -errno, "could not remove \"%s\": %s", signal_path,
				strerror(errno));
	}
	return 0;
}

/* Patroni's recovery parameters (patroni/postgresql/available_parameters): what a recovery acts
 * on, compared without regard to case. */
static bool recovery_param(const char *name, size_t len)
{
	static const char *const names[] = {
		"archive_cleanup_command",
		"pause_at_recovery_target",
		"primary_conninfo",
		"primary_slot_name",
		"promote_trigger_file",
		"recovery_end_command",
		"recovery_min_apply_delay",
		"restore_command",
		"standby_mode",
		"trigger_file",
	};
	if (len >= 15 && strncasecmp(name, "recovery_target", 15) == 0)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
			return true;
	}
	return false;
}

int db_pg_sanitize_auto_conf(struct db *db, char *err, size_t err_cap)
{
	char path[DB_DATA_PATH_MAX];
	if (db_data_path(db, "postgresql.auto.conf", path, sizeof(path)) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "data directory path too long");
	char *text = read_small_file(path, DB_CONF_MAX);
	if (!text)
		return 0; /* none, or unreadable: PostgreSQL will say so itself */
	char *out = malloc(strlen(text) + 1);
	if (!out) {
		free(text);
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	}
	size_t len = 0;
	bool dropped = false;
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *k = p;
		while (k < p + n && (*k == ' ' || *k == '\t'))
			k++;
		size_t klen = 0;
		while (k + klen < p + n &&
		       (k[klen] == '_' || k[klen] == '.' || (k[klen] >= 'a' && k[klen] <= 'z') ||
			(k[klen] >= 'A' && k[klen] <= 'Z') || (k[klen] >= '0' && k[klen] <= '9')))
			klen++;
		if (klen > 0 && recovery_param(k, klen)) {
			dropped = true;
		} else {
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	out[len] = '\0';
	int rc = dropped ? db_write_file(path, out, 0600, err, err_cap) : 0;
	free(out);
	free(text);
	return rc;
}
