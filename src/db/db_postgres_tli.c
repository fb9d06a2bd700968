/*
 * db_postgres_tli.c - timeline IDs another member may already have taken (issue 18 finding).
 *
 * PostgreSQL names the timeline of a promotion findNewestTimeLine(recovery target) + 1: it
 * probes <tli>.history (restore_command first, then pg_wal) upwards from its recovery target
 * timeline and stops at the first ID with no file. It only knows its own files, so a member that
 * promoted and died before anyone copied its history file leaves an ID that the next promotion
 * picks again: two different timelines with one ID, forked at the same LSN, which neither
 * PostgreSQL nor pg_rewind can tell apart. Before a promotion the agent therefore puts one
 * placeholder <tli>.history into pg_wal for every ID it knows another member may have used
 * (docs/db.md, "Timeline IDs"), so that PostgreSQL steps over them.
 *
 * A placeholder holds only '#' comment lines: every reader of history files (readTimeLineHistory,
 * pg_rewind, a walreceiver that fetches it) skips them, so read as a timeline's history it says
 * "no parents" and never names a switch point that did not happen. It gets no .ready file: the
 * archive may later receive the real file of that ID from the member that created it.
 */
#include "db_postgres.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "pg_wal/" + 8 hex digits + ".history" and a temporary suffix, well inside DB_PATH_MAX. */
#define TLI_NAME_MAX 32

int db_tli_placeholder(uint64_t tli, char *name, size_t name_cap, char *text, size_t text_cap)
{
	int n;

	if (tli < 2 || tli > DB_TLI_MAX)
		return -ERANGE;
	n = snprintf(name, name_cap, "%08X.history", (unsigned)tli);
	if (n < 0 || (size_t)n >= name_cap)
		return -ENAMETOOLONG;
	n = snprintf(text, text_cap,
		     "# gsha: timeline %u reserved, never used by this server: another member may\n"
		     "# have promoted to it, so this server's promotion must pick a newer ID\n",
		     (unsigned)tli);
	if (n < 0 || (size_t)n >= text_cap)
		return -ENAMETOOLONG;
	return 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes one placeholder through a temporary file and link(): an existing file (the real
 * history of that ID, or an earlier placeholder) is never replaced. 1 written, 0 present. */
static int write_placeholder(struct db *db, uint64_t tli, char *err, size_t err_cap)
{
	char name[TLI_NAME_MAX], text[256], rel[TLI_NAME_MAX + 16];
	char path[DB_PATH_MAX], tmp[DB_PATH_MAX];
	int fd, rc;
	size_t len;

	rc = db_tli_placeholder(tli, name, sizeof(name), text, sizeof(text));
	if (rc != 0)
		return err_fail(err, err_cap, rc, "no placeholder for timeline %llu",
				(unsigned long long)tli);
	snprintf(rel, sizeof(rel), "pg_wal/%s", name);
	if (db_data_path(db, rel, path, sizeof(path)) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.gsha", path) >= (int)sizeof(tmp))
		return err_fail(err, err_cap, -ENAMETOOLONG, "data_dir too long");
	if (access(path, F_OK) == 0)
		return 0;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_fail(err, err_cap, -errno, "could not create \"%s\": %s", tmp,
				strerror(errno));
	len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		rc = errno != 0 ? -errno : -EIO;
		close(fd);
		(void)unlink(tmp);
		return err_fail(err, err_cap, rc, "could not write \"%s\": %s", tmp, strerror(-rc));
	}
	close(fd);
	rc = link(tmp, path) == 0 ? 1 : errno == EEXIST ? 0 : -errno;
	(void)unlink(tmp);
	if (rc < 0)
		return err_fail(err, err_cap, rc, "could not link \"%s\": %s", path, strerror(-rc));
	return rc;
}

int db_pg_reserve_timelines(struct db *db, uint64_t current_tli, uint64_t reserved_tli,
			    int *written, char *err, size_t err_cap)
{
	char dir[DB_PATH_MAX];
	int count = 0;

	if (current_tli < 1 || reserved_tli > DB_TLI_MAX)
		return err_fail(err, err_cap, -ERANGE, "timelines %llu..%llu out of range",
				(unsigned long long)current_tli, (unsigned long long)reserved_tli);
	if (reserved_tli - current_tli > DB_TLI_RESERVE_MAX && reserved_tli > current_tli)
		return err_fail(
			err, err_cap, -ERANGE, "will not reserve %llu timeline IDs (at most %d)",
			(unsigned long long)(reserved_tli - current_tli), DB_TLI_RESERVE_MAX);
	for (uint64_t tli = current_tli + 1; tli <= reserved_tli; tli++) {
		int rc = write_placeholder(db, tli, err, err_cap);

		if (rc < 0)
			return rc;
		count += rc;
	}
	if (count > 0) {
		if (db_data_path(db, "pg_wal", dir, sizeof(dir)) != 0)
			return err_fail(err, err_cap, -ENAMETOOLONG, "data_dir too long");
		int rc = fsync_path(dir, O_RDONLY | O_DIRECTORY);
		if (rc != 0)
			return err_fail(err, err_cap, rc, "could not fsync \"%s\": %s", dir,
					strerror(-rc));
	}
	*written = count;
	return 0;
}
