/*
 * db_local.c - the I/O helpers both drivers share: the data directory (postmaster.pid, files,
 * emptying it, the checks before a task), commands run to their end or as the task's current
 * step, and waiting for a role. The pure helpers are in db_common.c.
 */
#include "db_driver.h"

#include "buf.h"
#include "clock.h"
#include "err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* Environment entries db_run adds, with room for their values. */
#define DB_ENV_ENTRY_MAX (DB_PATH_MAX + 32)
/* Open file descriptors nftw may use while removing a tree. */
#define DB_REMOVE_FDS 16
/* How often db_wait_for_role looks again. */
#define DB_ROLE_POLL_MS 200
/* How often a stop or a promotion in a switchover looks at postmaster.pid: a file read, cheap,
 * and each look's delay is part of the clients' write gap. */
#define DB_FAST_POLL_MS 10

/* --- postmaster.pid and the process --------------------------------------------------------- */

int db_pidfile_read(const char *data_dir, struct db_pidfile *out)
{
	char path[DB_PATH_MAX + 32];
	if (buf_format(path, sizeof(path), "%s/postmaster.pid", data_dir) != 0)
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	char text[DB_PIDFILE_MAX + 1];
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, text + len, sizeof(text) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= sizeof(text) - 1) {
			close(fd);
			return -EINVAL; /* larger than any real postmaster.pid */
		}
	}
	close(fd);
	text[len] = '\0';
	if (strlen(text) != len)
		return -EINVAL; /* a NUL inside */
	return db_pidfile_parse(text, out);
}

bool db_pid_alive(int pid)
{
	char path[64], stat[512];
	const char *end;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	/* A zombie (exited, not yet reaped by its parent) is dead: its state in /proc/<pid>/stat,
	 * the field after the parenthesised command name, is Z. */
	if (snprintf(path, sizeof(path), "/proc/%d/stat", pid) >= (int)sizeof(path))
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return true;
	stat[n] = '\0';
	end = strrchr(stat, ')');
	return end == NULL || end[1] != ' ' || (end[2] != 'Z' && end[2] != 'X');
}

bool db_pid_unreaped(int pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM) && !db_pid_alive(pid);
}

bool db_shm_in_use(const struct db_pidfile *pf, int *attached)
{
	struct shmid_ds ds;

	*attached = 0;
	if (pf->shm_id < 0 || shmctl(pf->shm_id, IPC_STAT, &ds) != 0 || ds.shm_cpid != pf->pid)
		return false;
	*attached = (int)ds.shm_nattch;
	return ds.shm_nattch > 0;
}

bool db_postmaster_alive(const struct db_pidfile *pf, const char *data_dir)
{
	/* A stale postmaster.pid (a crash, a reboot) may name a pid another process has taken
	 * since: alive only when the process proves to be this data directory's postmaster, or
	 * cannot be identified at all (then it is not taken for dead: nothing is started over it). */
	int rc = db_pidfile_owner(pf, data_dir);
	return rc == 1 || rc == -EACCES;
}

void db_pm_watch_close(struct db *db)
{
	if (db->pm_watch_fd >= 0)
		close(db->pm_watch_fd);
	db->pm_watch_fd = -1;
	db->pm_watch_pid = 0;
}

/* A pidfd on pid, or -1 (a kernel before 5.3, a seccomp filter, the process gone already). */
static int open_pidfd(int pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0u);

	if (fd >= 0) {
		/* pidfd_open sets O_CLOEXEC itself (pidfd_open(2)); no child inherits it. */
		return (int)fd;
	}
#else
	(void)pid;
#endif
	return -1;
}

void db_pm_watch_update(struct db *db, const struct db_status *st)
{
	int pid = st->running ? st->postmaster_pid : 0;

	/* Seen crashed, the watched pid stays watched until its reap is reported: the restart
	 * waits for that (db_start). */
	if (pid == db->pm_watch_pid || (pid == 0 && st->postmaster_pid == db->pm_watch_pid))
		return;
	db_pm_watch_close(db);
	/* A pid reported gone that a status still calls running (one it could not identify)
	 * would wake the loop on every look: it is left to the status polls. */
	if (pid <= 0 || pid == db->pm_exited_pid)
		return;
	/* The status proved pid to be this data directory's postmaster a moment ago; should it
	 * have died and been recycled since, the watch only misses one wake-up, and the next
	 * status poll sees the crash as before. */
	db->pm_watch_pid = pid;
	db->pm_watch_fd = open_pidfd(pid);
}

/* True once the pid is gone altogether: reaped by its parent (or by init, which an orphaned
 * postmaster has), no longer a zombie. */
static bool pid_reaped(int pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

bool db_pm_watch_exited(struct db *db)
{
	bool exited;

	if (db->pm_watch_pid <= 0)
		return false;
	/* The agent is a child subreaper: the postmaster and, once it died, its backends are
	 * reparented to it, and only it reaps them. */
	proc_reap_orphans();
	if (db->pm_watch_fd >= 0) {
		struct pollfd pfd = { .fd = db->pm_watch_fd, .events = POLLIN };

		/* Readable once the process has exited, reaped or not. */
		exited = poll(&pfd, 1, 0) > 0;
	} else {
		exited = !db_pid_alive(db->pm_watch_pid);
	}
	/* PostgreSQL refuses to start while the pid its postmaster.pid names still exists, and a
	 * zombie does ("lock file ... already exists"): a restart launched before the reap fails
	 * and is judged only a start settle later. So the exit is reported once the pid is reaped,
	 * the first moment a start can succeed; a zombie nobody reaps is left to the status
	 * polls, as before (it is crashed to db_get_status all the same). */
	if (!exited || !pid_reaped(db->pm_watch_pid))
		return false;
	db->pm_exited_pid = db->pm_watch_pid;
	db_pm_watch_close(db);
	return true;
}

void db_probe_read(struct db *db, struct db_probe *probe)
{
	memset(probe, 0, sizeof(*probe));
	probe->initialized = db_data_file_exists(db, "PG_VERSION");
	probe->pidfile_rc = db_pidfile_read(db->opts.data_dir, &probe->pf);
	if (probe->pidfile_rc == 0)
		probe->alive = db_postmaster_alive(&probe->pf, db->opts.data_dir);
}

bool db_wait_for_role(struct db *db, int64_t deadline_ms, enum db_role want, struct db_status *st)
{
	for (;;) {
		memset(st, 0, sizeof(*st));
		db->driver->get_status(db, st);
		if (st->role == want)
			return true;
		if (!st->running && st->role != DB_ROLE_UNKNOWN)
			return false; /* gone: no point waiting */
		int64_t left = deadline_ms - clock_mono_ms();
		if (left <= 0)
			return false;
		clock_sleep_ms(left < DB_ROLE_POLL_MS ? left : DB_ROLE_POLL_MS);
	}
}

bool db_wait_stopped(struct db *db, int64_t deadline_ms)
{
	for (;;) {
		proc_reap_orphans(); /* the postmaster is the agent's child (a subreaper) */
		if (!db_server_running(db))
			return true;
		int64_t left = deadline_ms - clock_mono_ms();
		if (left <= 0)
			return false;
		clock_sleep_ms(left < DB_FAST_POLL_MS ? left : DB_FAST_POLL_MS);
	}
}

void db_set_upstream(struct db *db, const struct db_peer *primary)
{
	db->has_upstream = primary != NULL;
	if (primary)
		db->upstream = *primary;
	db->upstream_known = true;
}

/* --- Files and the data directory ----------------------------------------------------------- */

int db_bin_path(const struct db *db, const char *program, char *out, size_t out_cap)
{
	if (!db->opts.bin_dir[0])
		return buf_copy(out, out_cap, program) == 0 ? 0 : -ENAMETOOLONG;
	return buf_format(out, out_cap, "%s/%s", db->opts.bin_dir, program) == 0 ? 0
										 : -ENAMETOOLONG;
}

/* The suffix of db_write_file's temporary file: mkostemp fills in the X's. */
#define DB_TMP_SUFFIX ".tmp.XXXXXX"

int db_write_file(const char *path, const char *content, int mode, char *err, size_t err_cap)
{
	/* A fresh name, created exclusively with mode 0600 before a byte is written: a file a
	 * local user planted (or linked) at a predictable "<path>.tmp" in a shared directory
	 * can neither receive the secrets nor be opened beforehand to read them later. */
	char tmp[DB_PATH_MAX + sizeof(DB_TMP_SUFFIX)];
	if (buf_format(tmp, sizeof(tmp), "%s" DB_TMP_SUFFIX, path) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path \"%s\" is too long", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_fail(err, err_cap, -errno, "could not create \"%s\": %s", tmp,
				strerror(errno));
	if (fchmod(fd, (mode_t)mode & 0600) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return err_fail(err, err_cap, -e, "could not set the mode of \"%s\": %s", tmp,
				strerror(e));
	}
	size_t len = strlen(content);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, content + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return err_fail(err, err_cap, -e, "could not write \"%s\": %s", tmp,
					strerror(e));
		}
		off += (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return err_fail(err, err_cap, -e, "could not sync \"%s\": %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return err_fail(err, err_cap, -e, "could not rename \"%s\" to \"%s\": %s", tmp,
				path, strerror(e));
	}
	return 0;
}

/* The directory part of path ("." for a bare name, "/" for a file at the root) into dir. */
static int dir_of(const char *path, char dir[static DB_PATH_MAX])
{
	if (buf_copy(dir, DB_PATH_MAX, path) != 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/* Creates the directory of a secret file (the pgpass file, say "data/pgpass0" before initdb
 * made "data") private to this user when it is missing; one level, like Patroni's paths. */
static int make_secret_dir(const char *path, char *err, size_t err_cap)
{
	char dir[DB_PATH_MAX];
	if (dir_of(path, dir) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path \"%s\" is too long", path);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return err_fail(err, err_cap, -errno, "could not create directory \"%s\": %s", dir,
				strerror(errno));
	return 0;
}

int db_check_private_dir(const char *path, char *err, size_t err_cap)
{
	char dir[DB_PATH_MAX];
	if (dir_of(path, dir) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path \"%s\" is too long", path);
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return err_fail(err, err_cap, -errno, "could not stat \"%s\": %s", dir,
				strerror(errno));
	if (!(sb.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	return err_fail(err, err_cap, 1,
			"directory \"%s\" of \"%s\" is writable by %s: other users can see which "
			"files appear there and plant their own; use a directory only this user "
			"can write",
			dir, path, (sb.st_mode & S_IWOTH) ? "every user" : "its group");
}

/* True when the file at path holds exactly len bytes equal to content. */
static bool file_equals(const char *path, const char *content, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	bool same = true;
	size_t off = 0;
	char chunk[4096];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			same = false;
			break;
		}
		if (r == 0)
			break;
		if (off + (size_t)r > len || memcmp(chunk, content + off, (size_t)r) != 0) {
			same = false;
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	return same && off == len;
}

/* True when the file at path is this user's and no one else may write it: only then may its
 * content be trusted as what this process wrote. */
static bool file_is_mine(const char *path, int mode)
{
	struct stat sb;
	return lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
	       (sb.st_mode & 07777) == (mode_t)mode;
}

int db_write_file_if_changed(const char *path, const char *content, int mode, bool *changed,
			     char *err, size_t err_cap)
{
	if (file_is_mine(path, mode) && file_equals(path, content, strlen(content))) {
		if (changed)
			*changed = false;
		return 0;
	}
	int rc = db_write_file(path, content, mode, err, err_cap);
	if (rc == 0 && changed)
		*changed = true;
	return rc;
}

bool db_server_running(const struct db *db)
{
	struct db_pidfile pf;
	return db_pidfile_read(db->opts.data_dir, &pf) == 0 &&
	       db_postmaster_alive(&pf, db->opts.data_dir);
}

int db_prepare_clone_dir(struct db *db, char *err, size_t err_cap)
{
	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "a server is running in \"%s\"",
				db->opts.data_dir);
	if (db_dir_empty(db->opts.data_dir))
		return 0;
	if (!db->task.replace_existing)
		return err_fail(err, err_cap, -EEXIST, "data directory \"%s\" is not empty",
				db->opts.data_dir);
	return db_clear_dir(db->opts.data_dir, err, err_cap);
}

int db_data_path(const struct db *db, const char *name, char *out, size_t out_cap)
{
	return buf_format(out, out_cap, "%s/%s", db->opts.data_dir, name) == 0 ? 0 : -ENAMETOOLONG;
}

bool db_data_file_exists(const struct db *db, const char *name)
{
	char path[DB_DATA_PATH_MAX];
	return db_data_path(db, name, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

/* The superuser's password file for initdb: next to the pgpass file, outside the data
 * directory. */
static int pwfile_path(const struct db *db, char *out, size_t cap)
{
	return buf_format(out, cap, "%s.pwfile", db->opts.pgpass_path) == 0 ? 0 : -ENAMETOOLONG;
}

int db_write_pwfile(struct db *db, char *arg, size_t arg_cap, char *err, size_t err_cap)
{
	char path[DB_DATA_PATH_MAX];
	char content[DB_PASSWORD_MAX + 2];
	arg[0] = '\0';
	if (!db->opts.superuser.password[0])
		return 0;
	if (pwfile_path(db, path, sizeof(path)) < 0 ||
	    buf_format(arg, arg_cap, "--pwfile=%s", path) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path too long");
	if (buf_format(content, sizeof(content), "%s\n", db->opts.superuser.password) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "password too long");
	int rc = make_secret_dir(path, err, err_cap);
	if (rc == 0)
		rc = db_write_file(path, content, 0600, err, err_cap);
	return rc < 0 ? rc : 1;
}

void db_remove_pwfile(const struct db *db)
{
	char path[DB_DATA_PATH_MAX];
	if (pwfile_path(db, path, sizeof(path)) == 0)
		unlink(path);
}

int db_spawn_initdb(struct db *db, const char **argv, int n, int step, char *err, size_t err_cap)
{
	char pw_arg[DB_DATA_PATH_MAX + 16];
	char storage[DB_TOOL_OPTIONS_MAX][DB_TOOL_OPTION_ARG_MAX];
	int rc = db_write_pwfile(db, pw_arg, sizeof(pw_arg), err, err_cap);

	if (rc < 0)
		return rc;
	if (rc == 1)
		argv[n++] = pw_arg;
	argv[n] = NULL;
	if (db_add_tool_options(storage, argv, &n, PROC_ARGV_MAX, db->opts.initdb_options,
				db->opts.initdb_option_count) < 0) {
		db_remove_pwfile(db);
		return err_fail(err, err_cap, -E2BIG, "bad initdb options");
	}
	db->task.step = step;
	rc = db_task_spawn(db, argv, err, err_cap);
	if (rc != -EINPROGRESS)
		db_remove_pwfile(db);
	return rc;
}

int db_check_bootstrap_dir(const struct db *db, char *err, size_t err_cap)
{
	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "a server is running in \"%s\"",
				db->opts.data_dir);
	if (!db_dir_empty(db->opts.data_dir))
		return err_fail(err, err_cap, -EEXIST, "data directory \"%s\" is not empty",
				db->opts.data_dir);
	return 0;
}

int db_check_initialized(const struct db *db, char *err, size_t err_cap)
{
	if (!db_data_file_exists(db, "PG_VERSION"))
		return err_fail(err, err_cap, -ENOENT, "data directory \"%s\" is not initialized",
				db->opts.data_dir);
	return 0;
}

int db_check_rejoin(const struct db *db, char *err, size_t err_cap)
{
	int rc = db_check_initialized(db, err, err_cap);
	if (rc < 0)
		return rc;
	if (!db->opts.use_pg_rewind && !db->opts.remove_data_directory_on_diverged_timelines)
		return err_fail(err, err_cap, -ENOTSUP,
				"cannot rejoin: use_pg_rewind and "
				"remove_data_directory_on_diverged_timelines are both off");
	return 0;
}

bool db_reclone_allowed(const struct db *db)
{
	return db->opts.use_pg_rewind ? db->opts.remove_data_directory_on_rewind_failure
				      : db->opts.remove_data_directory_on_diverged_timelines;
}

int db_check_bin(const struct db_options *o, const char *program, char *err, size_t err_cap)
{
	char path[DB_PATH_MAX + 16];
	if (!o->bin_dir[0])
		return 0;
	if (buf_format(path, sizeof(path), "%s/%s", o->bin_dir, program) != 0 ||
	    access(path, X_OK) != 0)
		return err_fail(err, err_cap, -EINVAL,
				"\"postgresql.bin_dir\": no executable %s in \"%s\"", program,
				o->bin_dir);
	return 0;
}

bool db_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT;
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	return rc == 0 || errno == ENOENT ? 0 : -1;
}

/* Renames path to "<path>.failed", removing an older one first. */
static int move_to_failed(const char *path, char *err, size_t err_cap)
{
	char aside[DB_DATA_PATH_MAX + 8];
	int rc;

	if (buf_format(aside, sizeof(aside), "%s.failed", path) != 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "path too long: \"%s\"", path);
	rc = db_remove_tree(aside, err, err_cap);
	if (rc < 0)
		return rc;
	if (rename(path, aside) != 0)
		return err_fail(err, err_cap, -errno, "could not rename \"%s\" to \"%s\": %s", path,
				aside, strerror(errno));
	return 0;
}

int db_move_data_aside(struct db *db, char *err, size_t err_cap)
{
	char wal[DB_DATA_PATH_MAX], target[DB_DATA_PATH_MAX], aside[DB_DATA_PATH_MAX + 8];
	struct stat st;
	ssize_t n;
	int rc;

	if (db_server_running(db))
		return err_fail(err, err_cap, -EBUSY, "the server still runs in \"%s\"",
				db->opts.data_dir);
	if (lstat(db->opts.data_dir, &st) != 0)
		return errno == ENOENT ? 0
				       : err_fail(err, err_cap, -errno, "could not stat \"%s\": %s",
						  db->opts.data_dir, strerror(errno));
	/* pg_wal elsewhere (initdb --waldir): move its target too and point the link at it. */
	if (db_data_path(db, "pg_wal", wal, sizeof(wal)) == 0 &&
	    (n = readlink(wal, target, sizeof(target) - 1)) > 0 &&
	    (target[n] = '\0', target[0] == '/')) {
		rc = move_to_failed(target, err, err_cap);
		if (rc < 0)
			return rc;
		if (buf_format(aside, sizeof(aside), "%s.failed", target) != 0 ||
		    unlink(wal) != 0 || symlink(aside, wal) != 0)
			return err_fail(err, err_cap, -EIO,
					"could not point \"%s\" at \"%s.failed\"", wal, target);
	}
	return move_to_failed(db->opts.data_dir, err, err_cap);
}

int db_remove_tree(const char *path, char *err, size_t err_cap)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
				       : err_fail(err, err_cap, -errno, "could not stat \"%s\": %s",
						  path, strerror(errno));
	if (nftw(path, remove_entry, DB_REMOVE_FDS, FTW_DEPTH | FTW_PHYS) != 0)
		return err_fail(err, err_cap, errno ? -errno : -EIO, "could not remove \"%s\": %s",
				path, strerror(errno));
	return 0;
}

static int remove_below_root(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return remove_entry(path, sb, flag, ftw);
}

int db_clear_dir(const char *path, char *err, size_t err_cap)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
				       : err_fail(err, err_cap, -errno, "could not stat \"%s\": %s",
						  path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_fail(err, err_cap, -ENOTDIR, "\"%s\" is not a directory", path);
	if (nftw(path, remove_below_root, DB_REMOVE_FDS, FTW_DEPTH | FTW_PHYS) != 0)
		return err_fail(err, err_cap, errno ? -errno : -EIO, "could not empty \"%s\": %s",
				path, strerror(errno));
	return 0;
}

/* --- Commands ------------------------------------------------------------------------------- */

/* The environment every command gets: our pgpass file, and C messages so output parses. */
struct db_env {
	char pgpass[DB_ENV_ENTRY_MAX];
	const char *list[5];
};

static int make_env(struct db *db, struct db_env *env)
{
	if (buf_format(env->pgpass, sizeof(env->pgpass), "PGPASSFILE=%s", db->opts.pgpass_path) !=
	    0)
		return -ENAMETOOLONG;
	env->list[0] = env->pgpass;
	env->list[1] = "LC_ALL=C";
	env->list[2] = "LANG=C";
	env->list[3] = NULL;
	return 0;
}

/* "pg_rewind failed: "pg_rewind" exited with status 1: could not connect ..." */
static int command_error(const char *program, const struct proc_result *res, const char *last,
			 char *err, size_t err_cap)
{
	return err_fail(err, err_cap, res->timed_out ? -ETIMEDOUT : -EIO, "%s failed: %s%s%s",
			program, res->reason, last && last[0] ? ": " : "", last ? last : "");
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int db_run(struct db *db, const char *const argv[], int64_t timeout_ms, char *output,
	   size_t output_cap, char *err, size_t err_cap)
{
	db->control_seen_fresh = false; /* the command may change pg_control */
	struct db_env env;
	if (make_env(db, &env) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "pgpass path too long");
	struct proc *p;
	int rc = proc_start(&p, argv, env.list, timeout_ms > 0 ? timeout_ms : 1, err, err_cap);
	if (rc < 0)
		return rc;
	while (proc_poll(p, 1000) == -EINPROGRESS)
		;
	if (output && output_cap > 0) {
		const char *o = proc_output(p);
		size_t n = strlen(o);
		if (n >= output_cap)
			n = output_cap - 1;
		memcpy(output, o, n);
		output[n] = '\0';
	}
	rc = 0;
	if (!proc_ok(p))
		rc = command_error(base_name(argv[0]), proc_get_result(p), proc_last_line(p), err,
				   err_cap);
	proc_free(p);
	return rc;
}

int db_launch(struct db *db, const char *const argv[], const char *log_path, char *err,
	      size_t err_cap)
{
	db->control_seen_fresh = false; /* the command may change pg_control */
	struct db_env env;
	if (make_env(db, &env) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "pgpass path too long");
	int pid = proc_launch(argv, env.list, log_path, err, err_cap);
	return pid < 0 ? pid : 0;
}

int db_add_tool_options(char storage[][DB_TOOL_OPTION_ARG_MAX], const char **argv, int *n, int max,
			const char opts[][DB_TOOL_OPTION_MAX], int count)
{
	for (int i = 0; i < count; i++) {
		if (*n + 1 >= max)
			return -E2BIG;
		const char *o = opts[i];
		while (*o == '-')
			o++;
		if (buf_format(storage[i], DB_TOOL_OPTION_ARG_MAX, "--%s", o) != 0)
			return -ENAMETOOLONG;
		argv[(*n)++] = storage[i];
	}
	argv[*n] = NULL;
	return 0;
}

int db_task_spawn(struct db *db, const char *const argv[], char *err, size_t err_cap)
{
	return db_task_spawn_timeout(db, argv, db->opts.task_timeout_ms, err, err_cap);
}

int db_task_spawn_timeout(struct db *db, const char *const argv[], int64_t timeout_ms, char *err,
			  size_t err_cap)
{
	return db_task_spawn_env(db, argv, NULL, timeout_ms, err, err_cap);
}

int db_task_spawn_env(struct db *db, const char *const argv[], const char *extra_env,
		      int64_t timeout_ms, char *err, size_t err_cap)
{
	db->control_seen_fresh = false; /* the command may change pg_control */
	struct db_env env;
	if (make_env(db, &env) < 0)
		return err_fail(err, err_cap, -ENAMETOOLONG, "pgpass path too long");
	env.list[3] = extra_env;
	env.list[4] = NULL;
	proc_free(db->task.proc);
	db->task.proc = NULL;
	db->task.end_reported = false;
	int rc = proc_start(&db->task.proc, argv, env.list, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	if (buf_copy(db->task.command, sizeof(db->task.command), base_name(argv[0])) != 0)
		db->task.command[0] = '\0';
	db->task.step_started_ms = clock_mono_ms();
	return -EINPROGRESS;
}

int db_task_reap(struct db *db, char *err, size_t err_cap)
{
	struct proc *p = db->task.proc;
	if (!p)
		return err_fail(err, err_cap, -EINVAL, "no command to reap");
	int rc = 0;
	if (!proc_ok(p))
		rc = command_error(db->task.command, proc_get_result(p), proc_last_line(p), err,
				   err_cap);
	proc_free(p);
	db->task.proc = NULL;
	return rc;
}

/* Escapes ':' and '\' as the pgpass format wants. */
static int pgpass_field(struct buf *b, const char *s)
{
	for (const char *c = s; *c; c++) {
		if (*c == '\n' || *c == '\r')
			return -EINVAL;
		if ((*c == ':' || *c == '\\') && buf_puts(b, "\\") < 0)
			return -ENOBUFS;
		if (buf_append(b, c, 1) < 0)
			return -ENOBUFS;
	}
	return 0;
}

int db_write_pgpass(struct db *db, char *err, size_t err_cap)
{
	const struct db_user *users[] = { &db->opts.replication, &db->opts.rewind,
					  &db->opts.superuser };
	struct buf b;
	buf_init(&b, DB_CONNINFO_MAX * 4);
	int rc = 0;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (!users[i]->username[0] || !users[i]->password[0])
			continue;
		if (buf_puts(&b, "*:*:*:") < 0 || pgpass_field(&b, users[i]->username) < 0 ||
		    buf_puts(&b, ":") < 0 || pgpass_field(&b, users[i]->password) < 0 ||
		    buf_puts(&b, "\n") < 0) {
			rc = err_fail(err, err_cap, -EINVAL,
				      "could not render the pgpass entry of \"%s\"",
				      users[i]->username);
			goto out_done;
		}
	}
	rc = make_secret_dir(db->opts.pgpass_path, err, err_cap);
	if (rc == 0)
		rc = db_write_file_if_changed(db->opts.pgpass_path, b.data ? b.data : "", 0600,
					      NULL, err, err_cap);
out_done:
	buf_done(&b);
	return rc;
}
