/*
 * db_postgres_slots.c - logical slot failover on PostgreSQL 11 to 16, as Patroni 4 does it
 * (patroni/postgresql/slots.py, copy_logical_slots): a replica reads each logical slot's state
 * file (pg_replslot/<name>/state) from the primary with pg_read_binary_file, as the rewind user,
 * and installs it in its own pg_replslot while the server is stopped; started again, the server
 * loads the slot, and the loop then moves it forward with pg_replication_slot_advance as the
 * primary's consumer confirms changes. After a promotion the consumer finds the slot where it
 * last confirmed.
 */
#include "db_postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_pq.h"

#include "buf.h"
#include "clock.h"
#include "db_sql.h"
#include "err.h"

/* bytea in hex output ("\x0a1b..."), into out. */
static int unhex(const char *text, unsigned char *out, size_t cap, size_t *len)
{
	size_t n;

	if (strncmp(text, "\\x", 2) != 0)
		return -EINVAL;
	text += 2;
	n = strlen(text);
	if (n % 2 != 0 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v = 0;

		for (int j = 0; j < 2; j++) {
			char c = text[2 * i + (size_t)j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -EINVAL;
		}
		out[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

/* Runs "SELECT slot_name, <column> FROM pg_get_replication_slots() WHERE <filter> NOT
 * pg_is_in_recovery() AND slot_name IN (names)" on primary as the rewind user. Names are [a-z0-9_] (db.c
 * checked): no quoting issue. On 0, *res is the result (PQclear it). */
static int query_primary_slots(struct db *db, const struct db_peer *primary, const char *column,
			       const char *filter, const char (*names)[DB_NAME_MAX], int count,
			       int64_t deadline, PGresult **res, char *err, size_t err_cap)
{
	char ci[DB_CONNINFO_MAX], sql[DB_PG_SQL_MAX];
	struct buf b;
	PGconn *conn;
	int rc;

	buf_init_fixed(&b, sql, sizeof(sql));
	(void)buf_printf(&b,
			 "SELECT slot_name, %s FROM pg_catalog.pg_get_replication_slots()"
			 " WHERE %s NOT pg_catalog.pg_is_in_recovery() AND slot_name IN (",
			 column, filter);
	for (int i = 0; i < count; i++)
		(void)buf_printf(&b, "%s'%s'", i ? "," : "", names[i]);
	(void)buf_puts(&b, ")");
	if (b.overflow ||
	    db_pg_conninfo(db, primary, &db->opts.rewind, "postgres", ci, sizeof(ci)) < 0)
		return err_fail(err, err_cap, -ENOBUFS, "conninfo or slot list too long");
	rc = db_sql_connect_conninfo(ci, deadline, &conn, err, err_cap);
	if (rc < 0)
		return rc;
	rc = db_sql_query(conn, sql, deadline, res, err, err_cap);
	db_pq->PQfinish(conn);
	if (rc == 0 && db_pq->PQnfields(*res) != 2) {
		db_pq->PQclear(*res);
		rc = err_fail(err, err_cap, -EIO, "unexpected answer from the primary");
	}
	return rc;
}

int db_pg_peer_slot_xmins(struct db *db, const struct db_peer *primary,
			  const char (*names)[DB_NAME_MAX], int count, bool *found, uint64_t *xmin,
			  int64_t timeout_ms, char *err, size_t err_cap)
{
	PGresult *res;
	int rc;

	for (int i = 0; i < count; i++) {
		found[i] = false;
		xmin[i] = 0;
	}
	rc = query_primary_slots(db, primary, "COALESCE(catalog_xmin::text, '')", "", names, count,
				 clock_mono_ms() + timeout_ms, &res, err, err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; rc == 0 && r < db_pq->PQntuples(res); r++) {
		for (int i = 0; i < count; i++) {
			if (strcmp(names[i], db_pq->PQgetvalue(res, r, 0)) != 0)
				continue;
			if (db_pg_parse_xid(db_pq->PQgetvalue(res, r, 1), &xmin[i]) < 0)
				rc = err_fail(err, err_cap, -EIO, "bad catalog_xmin of slot \"%s\"",
					      names[i]);
			found[i] = rc == 0;
		}
	}
	db_pq->PQclear(res);
	return rc;
}

int db_pg_fetch_slot_states(struct db *db, const struct db_peer *primary,
			    const char (*names)[DB_NAME_MAX], int count, int64_t deadline,
			    struct db_pg_slot_state *out, int *n, char *err, size_t err_cap)
{
	PGresult *res;
	int rc;

	*n = 0;
	rc = query_primary_slots(db, primary,
				 "pg_catalog.pg_read_binary_file('pg_replslot/' || slot_name || "
				 "'/state')",
				 "slot_type = 'logical' AND", names, count, deadline, &res, err,
				 err_cap);
	if (rc < 0)
		return rc;
	for (int r = 0; rc == 0 && r < db_pq->PQntuples(res) && *n < count; r++) {
		struct db_pg_slot_state *s = &out[*n];

		if (buf_copy(s->name, sizeof(s->name), db_pq->PQgetvalue(res, r, 0)) != 0 ||
		    unhex(db_pq->PQgetvalue(res, r, 1), s->data, sizeof(s->data), &s->len) != 0 ||
		    s->len == 0)
			rc = err_fail(
				err, err_cap, -EIO,
				"the state of logical slot \"%s\" on the primary is unreadable",
				db_pq->PQgetvalue(res, r, 0));
		else
			(*n)++;
	}
	db_pq->PQclear(res);
	return rc;
}

static int fsync_path(const char *path, bool dir, char *err, size_t err_cap)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd) != 0)
		rc = err_fail(err, err_cap, -errno, "could not fsync \"%s\": %s", path,
			      strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* pg_replslot/<name>.tmp/state written and synced, then renamed over pg_replslot/<name>. */
static int install_one(struct db *db, const struct db_pg_slot_state *s, char *err, size_t err_cap)
{
	char dir[DB_PATH_MAX], tmp[DB_PATH_MAX], file[DB_PATH_MAX], parent[DB_PATH_MAX];
	int rc, fd;

	if (buf_format(parent, sizeof(parent), "%s/pg_replslot", db->opts.data_dir) != 0 ||
	    buf_format(dir, sizeof(dir), "%s/%s", parent, s->name) != 0 ||
	    buf_format(tmp, sizeof(tmp), "%s.tmp", dir) != 0 ||
	    buf_format(file, sizeof(file), "%s/state", tmp) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "data_dir too long");
	rc = db_remove_tree(tmp, err, err_cap);
	if (rc < 0)
		return rc;
	if (mkdir(tmp, 0700) != 0)
		return err_fail(err, err_cap, -errno, "could not create \"%s\": %s", tmp,
				strerror(errno));
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_fail(err, err_cap, -errno, "could not create \"%s\": %s", file,
				strerror(errno));
	if (write(fd, s->data, s->len) != (ssize_t)s->len || fsync(fd) != 0) {
		rc = err_fail(err, err_cap, errno ? -errno : -EIO, "could not write \"%s\": %s",
			      file, strerror(errno));
		close(fd);
		return rc;
	}
	close(fd);
	rc = fsync_path(tmp, true, err, err_cap);
	if (rc == 0)
		rc = db_remove_tree(dir, err, err_cap);
	if (rc == 0 && rename(tmp, dir) != 0)
		rc = err_fail(err, err_cap, -errno, "could not rename \"%s\": %s", tmp,
			      strerror(errno));
	if (rc == 0)
		rc = fsync_path(dir, true, err, err_cap);
	if (rc == 0)
		rc = fsync_path(parent, true, err, err_cap);
	return rc;
}

int db_pg_install_slot_states(struct db *db, const struct db_pg_slot_state *states, int n,
			      char *err, size_t err_cap)
{
	for (int i = 0; i < n; i++) {
		int rc = install_one(db, &states[i], err, err_cap);

		if (rc < 0)
			return rc;
	}
	return 0;
}
