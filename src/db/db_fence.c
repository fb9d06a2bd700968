/*
 * db_fence.c - fencing: making sure no process of this data directory's server accepts a write
 * any more, by killing its postmaster and the postmaster's children.
 *
 * The last resort of a stop that did not finish in time (docs/timing.md). The pid comes from
 * postmaster.pid, which outlives a crashed server: before any signal the process must prove it
 * is the postmaster of this data directory (its working directory, which the postmaster sets to
 * the data directory at start, or its -D argument) and must have started no later than the file
 * says its postmaster did, so a recycled pid is never killed. Shared by both drivers: PostgreSQL
 * and openGauss keep one postmaster pid in postmaster.pid (§2.1). The same check decides
 * whether a postmaster.pid is trusted at all (db_postmaster_alive) and guards every other signal
 * a driver sends its postmaster (db_signal_postmaster). db_fence_target is the same fence, led by
 * an immediate shutdown, for a process that holds no driver: the agent's guardian.
 */
#include "db_driver.h"

#include "buf.h"
#include "err.h"
#include "log.h"
#include "num.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Children of the postmaster one fencing kills: max_connections plus background workers, with
 * room to spare; PostgreSQL's own ceiling on backends is 2^18. */
#define FENCE_KILL_MAX 4096
/* /proc/<pid>/<file> */
#define FENCE_PROC_PATH_MAX 64
/* /proc/<pid>/stat is one line: pid, (comm of up to 16 bytes), then about 50 numbers. */
#define FENCE_STAT_MAX 1024
/* The postmaster's command line: the program, -D <data_dir> and a few options. */
#define FENCE_CMDLINE_MAX (2 * DB_PATH_MAX + 1024)
/* A process that started more than this after the start time its postmaster.pid records is not
 * the postmaster that wrote it. The postmaster writes the file in its first moments; the slack
 * covers that, both clocks' rounding to seconds, and wall-clock steps of up to a minute since it
 * started (process start times count from the boot time, which moves with the wall clock). */
#define FENCE_START_SLACK_S 60
/* A line of /proc/stat before the one sought ("btime"): the per-CPU lines are short. */
#define FENCE_PROC_STAT_LINE_MAX 4096
/* How often db_fence_target looks whether the postmaster ended its immediate shutdown. */
#define DB_FENCE_POLL_MS 10

/* The canonical form of path (symlinks resolved), or path itself when it cannot be resolved. */
static void canonical(const char *path, char out[PATH_MAX])
{
	char *r = realpath(path, out);

	if (r == NULL && buf_copy(out, PATH_MAX, path) != 0)
		out[0] = '\0';
}

/* The data directory a postmaster's command line names (-D dir, -Ddir, --pgdata=dir, --pgdata
 * dir), or NULL. args holds len bytes of NUL-separated arguments. */
static const char *cmdline_data_dir(const char *args, size_t len)
{
	const char *end = args + len;

	for (const char *a = args; a < end; a += strlen(a) + 1) {
		const char *next = a + strlen(a) + 1;

		if (strcmp(a, "-D") == 0 || strcmp(a, "--pgdata") == 0)
			return next < end ? next : NULL;
		if (strncmp(a, "-D", 2) == 0)
			return a + 2;
		if (strncmp(a, "--pgdata=", 9) == 0)
			return a + 9;
	}
	return NULL;
}

/* State letter and parent pid of process pid from /proc/<pid>/stat. 0, or -1 when unreadable. */
static int stat_of(int pid, char *state, int *ppid)
{
	char path[FENCE_PROC_PATH_MAX], line[FENCE_STAT_MAX];
	const char *close_paren;
	FILE *f;
	int rc = -1;

	if (buf_format(path, sizeof(path), "/proc/%d/stat", pid) != 0)
		return -1;
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL) {
		close_paren = strrchr(line, ')'); /* the command name may hold ')' and spaces */
		if (close_paren != NULL && sscanf(close_paren + 1, " %c %d", state, ppid) == 2)
			rc = 0;
	}
	fclose(f);
	return rc;
}

/* When process pid started, in epoch seconds: its start in clock ticks after boot (field 22
 * of /proc/<pid>/stat) plus the boot time (btime of /proc/stat). 0, or -1 when unreadable. */
static int start_epoch_of(int pid, int64_t *out)
{
	char path[FENCE_PROC_PATH_MAX], line[FENCE_PROC_STAT_LINE_MAX];
	const char *close_paren;
	unsigned long long ticks = 0;
	long long btime = -1;
	long hz = sysconf(_SC_CLK_TCK);
	bool got = false;
	FILE *f;

	if (hz <= 0 || buf_format(path, sizeof(path), "/proc/%d/stat", pid) != 0)
		return -1;
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) != NULL) {
		close_paren = strrchr(line, ')');
		/* after the name: state (3) ... itrealvalue (21), then starttime (22) */
		got = close_paren != NULL &&
		      sscanf(close_paren + 1,
			     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
			     "%*d %*d %llu",
			     &ticks) == 1;
	}
	fclose(f);
	f = got ? fopen("/proc/stat", "re") : NULL;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	if (f != NULL)
		fclose(f);
	if (!got || btime < 0)
		return -1;
	*out = (int64_t)btime + (int64_t)(ticks / (unsigned long long)hz);
	return 0;
}

/* Parent pid of process pid, or -1. */
static int parent_of(int pid)
{
	char state;
	int ppid;

	return stat_of(pid, &state, &ppid) == 0 ? ppid : -1;
}

int db_pid_is_postmaster(int pid, const char *data_dir)
{
	char path[FENCE_PROC_PATH_MAX], want[PATH_MAX], seen[PATH_MAX], link[PATH_MAX];
	char *args;
	bool known = false;
	char state;
	ssize_t n;
	int fd, ppid;

	if (pid <= 1 || pid == (int)getpid())
		return 0;
	if (buf_format(path, sizeof(path), "/proc/%d", pid) != 0 || access(path, F_OK) != 0)
		return -ESRCH;
	/* A zombie has exited: it accepts nothing, and has neither cwd nor command line. */
	if (stat_of(pid, &state, &ppid) == 0 && (state == 'Z' || state == 'X'))
		return -ESRCH;
	canonical(data_dir, want);
	/* The postmaster's first act is chdir(DataDir). */
	if (buf_format(path, sizeof(path), "/proc/%d/cwd", pid) == 0 &&
	    (n = readlink(path, link, sizeof(link) - 1)) > 0) {
		link[n] = '\0';
		known = true;
		canonical(link, seen);
		if (strcmp(seen, want) == 0)
			return 1;
	}
	/* Before that chdir (or without the right to read cwd): its -D argument. */
	if (buf_format(path, sizeof(path), "/proc/%d/cmdline", pid) != 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return known ? 0 : -errno;
	args = malloc(FENCE_CMDLINE_MAX + 1);
	n = args != NULL ? read(fd, args, FENCE_CMDLINE_MAX) : -1;
	close(fd);
	if (n > 0) {
		const char *dir;

		args[n] = '\0';
		known = true;
		dir = cmdline_data_dir(args, (size_t)n);
		if (dir != NULL) {
			canonical(dir, seen);
			if (strcmp(seen, want) == 0) {
				free(args);
				return 1;
			}
		}
	}
	free(args);
	return known ? 0 : -EACCES;
}

int db_pidfile_owner(const struct db_pidfile *pf, const char *data_dir)
{
	int rc = db_pid_is_postmaster(pf->pid, data_dir);
	int64_t started;

	/* Also when the identity could not be read: the start time is readable by anyone. */
	if (rc != -ESRCH && rc != 0 && pf->start_time > 0 &&
	    start_epoch_of(pf->pid, &started) == 0 &&
	    started > pf->start_time + FENCE_START_SLACK_S)
		return 0;
	return rc;
}

/* Reads postmaster.pid into *pf and checks that its pid is the postmaster that wrote it
 * (db_pidfile_owner). Returns 0, or -ESRCH (no file, a dead or recycled pid) or another negative
 * errno (unreadable file, identity unknown) with the reason in err. */
static int proven_postmaster(struct db *db, struct db_pidfile *pf, char *err, size_t err_cap)
{
	const char *dir = db->opts.data_dir;
	int rc = db_pidfile_read(dir, pf);

	if (rc == -ENOENT)
		return err_fail(err, err_cap, -ESRCH, "no server is running in \"%s\"", dir);
	if (rc < 0)
		return err_fail(err, err_cap, rc, "could not read \"%s/postmaster.pid\": %s", dir,
				strerror(-rc));
	rc = db_pidfile_owner(pf, dir);
	if (rc == -ESRCH)
		return err_fail(err, err_cap, -ESRCH,
				"postmaster.pid names pid %d, which is not running", pf->pid);
	if (rc == 0)
		return err_fail(
			err, err_cap, -ESRCH,
			"postmaster.pid names pid %d, which is not the postmaster of \"%s\" "
			"(a recycled pid): left alone",
			pf->pid, dir);
	if (rc < 0)
		return err_fail(err, err_cap, rc,
				"could not tell whether pid %d is the postmaster of \"%s\": %s",
				pf->pid, dir, strerror(-rc));
	return 0;
}

int db_signal_postmaster(struct db *db, int sig, char *err, size_t err_cap)
{
	struct db_pidfile pf;
	int rc = proven_postmaster(db, &pf, err, err_cap);

	if (rc < 0)
		return rc;
	if (kill(pf.pid, sig) != 0)
		return err_fail(err, err_cap, -errno, "could not signal pid %d: %s", pf.pid,
				strerror(errno));
	return 0;
}

/* Kills every child of the stopped postmaster pid (each PostgreSQL child makes itself a
 * session leader, so a process group kill alone would miss them). Returns how many. */
static int kill_children(int pid)
{
	int children[FENCE_KILL_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	d = opendir("/proc");
	while (d != NULL && (e = readdir(d)) != NULL && n < FENCE_KILL_MAX) {
		int64_t child;

		if (num_parse_i64(e->d_name, 2, INT32_MAX, &child) == 0 &&
		    parent_of((int)child) == pid)
			children[n++] = (int)child;
	}
	if (d != NULL)
		closedir(d);
	for (int i = 0; i < n; i++)
		(void)kill(children[i], SIGKILL);
	return n;
}

/* Kills the proven postmaster pf names and every child of it: SIGSTOP first, so it can neither
 * fork nor exit while its children are looked up, then the identity once more. */
static int kill_proven(const struct db_pidfile *pf, const char *dir, int *killed, char *err,
		       size_t err_cap)
{
	if (kill(pf->pid, SIGSTOP) != 0)
		return err_fail(err, err_cap, -errno, "could not stop the postmaster (pid %d): %s",
				pf->pid, strerror(errno));
	if (db_pidfile_owner(pf, dir) != 1) {
		(void)kill(pf->pid, SIGCONT);
		return err_fail(err, err_cap, -ESRCH, "pid %d changed before it could be killed",
				pf->pid);
	}
	*killed = kill_children(pf->pid);
	/* pg_ctl starts the postmaster as its own process group leader: take the group too. */
	if (getpgid(pf->pid) == pf->pid)
		(void)kill(-pf->pid, SIGKILL);
	if (kill(pf->pid, SIGKILL) != 0 && errno != ESRCH)
		return err_fail(err, err_cap, -errno, "could not kill the postmaster (pid %d): %s",
				pf->pid, strerror(errno));
	return 0;
}

int db_fence_postmaster(struct db *db, char *err, size_t err_cap)
{
	const char *dir = db->opts.data_dir;
	struct db_pidfile pf;
	int rc, killed = 0;

	rc = proven_postmaster(db, &pf, err, err_cap);
	if (rc < 0)
		return rc;
	rc = kill_proven(&pf, dir, &killed, err, err_cap);
	if (rc < 0)
		return rc;
	log_debug("fenced \"%s\": killed the postmaster (pid %d) and %d of its processes", dir,
		  pf.pid, killed);
	return 0;
}

int db_fence_target_read(const char *data_dir, struct db_fence_target *out)
{
	struct db_pidfile pf;
	int rc = db_pidfile_read(data_dir, &pf);

	if (rc == -ENOENT)
		return -ESRCH;
	if (rc < 0)
		return rc;
	rc = db_pidfile_owner(&pf, data_dir);
	if (rc == 0)
		return -ESRCH;
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (buf_copy(out->data_dir, sizeof(out->data_dir), data_dir) != 0)
		return -ENAMETOOLONG;
	out->pid = pf.pid;
	out->start_time = pf.start_time;
	return 0;
}

/* Whether the proven postmaster pf names is gone (exited, reaped or a zombie, or its pid taken
 * by another process). */
static bool postmaster_gone(const struct db_pidfile *pf, const char *dir)
{
	int rc = db_pidfile_owner(pf, dir);

	return rc == 0 || rc == -ESRCH;
}

int db_fence_target(const struct db_fence_target *known, int64_t quit_wait_ms, char *err,
		    size_t err_cap)
{
	const char *dir = known->data_dir;
	struct db_pidfile pf;
	struct timespec tick = { 0, DB_FENCE_POLL_MS * 1000000L };
	int64_t waited_ms = 0;
	int rc, killed = 0;

	/* The postmaster that runs now, if its file is still there; else the one last seen. */
	memset(&pf, 0, sizeof(pf));
	if (db_pidfile_read(dir, &pf) != 0 || db_pidfile_owner(&pf, dir) != 1) {
		pf.pid = known->pid;
		pf.start_time = known->start_time;
	}
	rc = pf.pid > 0 ? db_pidfile_owner(&pf, dir) : -ESRCH;
	if (rc == 0 || rc == -ESRCH)
		return err_fail(err, err_cap, -ESRCH, "no postmaster of \"%s\" is running", dir);
	if (rc < 0)
		return err_fail(err, err_cap, rc,
				"could not tell whether pid %d is the postmaster of \"%s\": %s",
				pf.pid, dir, strerror(-rc));
	/* Immediate shutdown: the postmaster sends SIGQUIT to every backend, which exits at once
	 * without acknowledging anything more. */
	if (kill(pf.pid, SIGQUIT) != 0 && errno != ESRCH)
		return err_fail(err, err_cap, -errno,
				"could not signal the postmaster (pid %d): %s", pf.pid,
				strerror(errno));
	while (!postmaster_gone(&pf, dir) && waited_ms < quit_wait_ms) {
		nanosleep(&tick, NULL);
		waited_ms += DB_FENCE_POLL_MS;
	}
	if (postmaster_gone(&pf, dir))
		return err_fail(err, err_cap, 0,
				"immediate shutdown of the postmaster (pid %d) took %lld ms",
				pf.pid, (long long)waited_ms);
	rc = kill_proven(&pf, dir, &killed, err, err_cap);
	if (rc < 0)
		return rc;
	return err_fail(err, err_cap, 0,
			"the postmaster (pid %d) ignored an immediate shutdown for %lld ms: killed "
			"it and %d of its processes",
			pf.pid, (long long)waited_ms, killed);
}
