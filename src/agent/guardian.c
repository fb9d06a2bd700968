/*
 * guardian.c - the process that fences PostgreSQL when the agent is frozen or dead (guardian.h,
 * docs/timing.md "Guardian").
 *
 * The agent and the guardian share one page: the agent stores the leader's fence deadline in
 * it (or 0), the guardian counts the fences it did. Nothing else passes between them but the
 * pipe: a byte on it wakes the guardian when it is armed (or its deadline moved back), its EOF
 * tells the guardian that the agent is gone. The guardian never asks the agent anything, so an
 * agent that does not answer cannot hold it back, and it wakes for nothing periodic: an idle
 * cluster costs it no CPU.
 */
#include "guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"

/* How long guardian_stop waits for the guardian to exit after the pipe closed before it kills
 * it: a disarmed guardian exits on the EOF at once; an armed one (an agent that exits while it
 * leads, e.g. on a fatal error) fences first, which takes at most GUARDIAN_QUIT_WAIT_MS plus a
 * kill. */
#define GUARDIAN_STOP_WAIT_MS (GUARDIAN_QUIT_WAIT_MS + 2000)
/* The reap loop's step in guardian_stop. */
#define GUARDIAN_REAP_STEP_MS 10
/* Attempts to fence after the agent died before the guardian gives up and exits (a fence fails
 * only when the postmaster cannot be identified or signalled), GUARDIAN_RETRY_MS apart. */
#define GUARDIAN_GONE_TRIES 10
/* Where the page's file lives: a tmpfs on every Linux (also in containers). */
#define GUARDIAN_PAGE_DIR "/dev/shm"
/* "/dev/shm/gsha-guardian-" and 16 hex digits. */
#define GUARDIAN_PAGE_PATH_MAX 64
/* Bytes one read drains from the pipe (the agent writes a byte to wake the guardian). */
#define GUARDIAN_PIPE_READ 64

/* The shared page, one per data directory: GUARDIAN_PAGE_DIR/gsha-guardian-<hash of the data
 * directory>, so an agent restarted after a crash finds the page its predecessor's guardian still
 * watches and takes it over (an anonymous page where the file cannot be used). Lock-free 64-bit
 * atomics work across processes on a MAP_SHARED mapping; CLOCK_MONOTONIC values mean the same
 * in every process of the machine, and the directory is a tmpfs that a reboot empties. */
struct guardian_page {
	_Atomic int64_t deadline_ms; /* the leader's fence deadline (monotonic), 0 = disarmed */
	_Atomic uint64_t fences;     /* fences the guardians of this data directory carried out */
	_Atomic int64_t owner_pid;   /* the agent whose guardian watches the page now */
};

struct guardian {
	struct guardian_page *page;
	int pipe_wr; /* the agent's end: closed (by exit or death) = the agent is gone */
	pid_t pid;   /* the guardian, 0 once reaped */
	uint64_t fences_seen;
	char page_path[GUARDIAN_PAGE_PATH_MAX]; /* "" for an anonymous page */
};

static const char *const verdict_names[] = {
	[GUARDIAN_WAIT] = "wait",
	[GUARDIAN_FENCE_DEADLINE] = "fence: deadline passed",
	[GUARDIAN_FENCE_AGENT_GONE] = "fence: agent gone",
	[GUARDIAN_EXIT] = "exit",
};

const char *guardian_verdict_name(enum guardian_verdict v)
{
	return (unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]) ? verdict_names[v]
									      : "?";
}

enum guardian_verdict guardian_decide(int64_t deadline_ms, int64_t fenced_for_ms, bool agent_gone,
				      bool superseded, int64_t now_ms, int64_t *sleep_ms)
{
	bool armed = deadline_ms != 0 && deadline_ms != fenced_for_ms;
	int64_t fire_ms;

	*sleep_ms = -1;
	if (agent_gone && (superseded || !armed))
		return GUARDIAN_EXIT;
	if (!armed)
		return GUARDIAN_WAIT;
	fire_ms = deadline_ms + GUARDIAN_GRACE_MS;
	if (now_ms >= fire_ms)
		return agent_gone ? GUARDIAN_FENCE_AGENT_GONE : GUARDIAN_FENCE_DEADLINE;
	*sleep_ms = fire_ms - now_ms;
	/* A dead agent's guardian looks for a new agent's takeover (nothing wakes it for that):
	 * a state that lasts until a restart, not the idle one. */
	if (agent_gone && *sleep_ms > GUARDIAN_RETRY_MS)
		*sleep_ms = GUARDIAN_RETRY_MS;
	return GUARDIAN_WAIT;
}

/* --- The guardian process ------------------------------------------------------------------ */

/* Waits up to sleep_ms (-1: without a bound) for the pipe, draining the bytes that woke it;
 * returns true once it reported EOF (the agent is gone). */
static bool agent_gone(int fd, int64_t sleep_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[GUARDIAN_PIPE_READ];
	ssize_t n;

	if (sleep_ms > INT_MAX)
		sleep_ms = INT_MAX;
	if (poll(&p, 1, sleep_ms < 0 ? -1 : (int)sleep_ms) <= 0 ||
	    (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
}

/* Fences target's server and logs the one line that says why and how. Returns true when it is
 * done (fenced, or nothing runs), false when it failed and is worth another try. */
static bool fence(struct guardian_page *page, const struct db_fence_target *target, const char *why,
		  bool quiet_failure)
{
	char msg[DB_ERROR_MAX];
	int rc = db_fence_target(target, GUARDIAN_QUIT_WAIT_MS, msg, sizeof(msg));

	if (rc == 0) {
		atomic_fetch_add(&page->fences, 1);
		log_error("guardian: %s: fenced PostgreSQL in \"%s\": %s", why, target->data_dir,
			  msg);
		return true;
	}
	if (rc == -ESRCH) {
		log_notice("guardian: %s: nothing to fence: %s", why, msg);
		return true;
	}
	if (!quiet_failure)
		log_error("guardian: %s: could not fence PostgreSQL in \"%s\": %s; trying again",
			  why, target->data_dir, msg);
	return false;
}

/* After a fence: the deadline it was for is spent (a later agent must not meet it again). */
static void spend(struct guardian_page *page, int64_t deadline)
{
	int64_t expected = deadline;

	(void)atomic_compare_exchange_strong(&page->deadline_ms, &expected, 0);
}

/* The postmaster's identity, read right before a fence (a restart since arming changed it);
 * when postmaster.pid cannot be read now, the last one read stays the fallback, which
 * db_fence_target checks again before it signals anything. */
static void refresh_target(const char *data_dir, struct db_fence_target *target)
{
	struct db_fence_target seen;

	if (db_fence_target_read(data_dir, &seen) == 0)
		*target = seen;
}

static void guardian_main(struct guardian_page *page, int fd, const char *data_dir, pid_t agent)
{
	struct db_fence_target target;
	int64_t fenced_for = 0, failed_for = 0;
	bool gone = false;
	char why[200];

	memset(&target, 0, sizeof(target));
	buf_copy_or_clear(target.data_dir, sizeof(target.data_dir), data_dir);
	/* The server that runs now: the fallback identity should its postmaster.pid go missing. */
	refresh_target(data_dir, &target);
	for (;;) {
		int64_t now = clock_mono_ms(), sleep_ms;
		int64_t deadline = atomic_load(&page->deadline_ms);
		bool superseded = atomic_load(&page->owner_pid) != (int64_t)agent;
		enum guardian_verdict v;

		v = guardian_decide(deadline, fenced_for, gone, superseded, now, &sleep_ms);
		switch (v) {
		case GUARDIAN_WAIT:
			if (!gone) {
				gone = agent_gone(fd, sleep_ms);
				/* Read again: a clean exit disarmed it while the poll waited. */
				deadline = atomic_load(&page->deadline_ms);
				if (gone && deadline != 0 && deadline != fenced_for)
					log_warning("guardian: the agent (pid %d) died while it "
						    "held the leader key: PostgreSQL is fenced at "
						    "its fence deadline, in %lld ms, unless a new "
						    "agent takes over",
						    (int)agent,
						    (long long)(deadline + GUARDIAN_GRACE_MS -
								clock_mono_ms()));
			} else {
				clock_sleep_ms(sleep_ms);
			}
			break;
		case GUARDIAN_FENCE_DEADLINE:
			refresh_target(data_dir, &target);
			snprintf(why, sizeof(why),
				 "the agent (pid %d) did not renew the leader's fence deadline, "
				 "passed %lld ms ago",
				 (int)agent, (long long)(now - deadline));
			if (fence(page, &target, why, failed_for == deadline)) {
				fenced_for = deadline;
				spend(page, deadline);
			} else {
				failed_for = deadline;
			}
			if (fenced_for != deadline)
				gone = agent_gone(fd, GUARDIAN_RETRY_MS);
			break;
		case GUARDIAN_FENCE_AGENT_GONE:
			snprintf(
				why, sizeof(why),
				"the agent (pid %d) died while it held the leader key and no agent "
				"took over by its fence deadline",
				(int)agent);
			for (int i = 0; i < GUARDIAN_GONE_TRIES; i++) {
				refresh_target(data_dir, &target);
				if (fence(page, &target, why, i > 0))
					break;
				clock_sleep_ms(GUARDIAN_RETRY_MS);
			}
			spend(page, deadline);
			return;
		case GUARDIAN_EXIT:
			if (gone && superseded && deadline != 0 && deadline != fenced_for)
				log_notice(
					"guardian: a new agent (pid %lld) took over from the dead "
					"agent (pid %d): exiting without fencing",
					(long long)atomic_load(&page->owner_pid), (int)agent);
			return;
		}
	}
}

/* FNV-1a, 64 bits: names the page's file after the data directory. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int guardian_page_path(const char *data_dir, char *out, size_t cap)
{
	/* The path as configured, not resolved: it is the same for every agent started from the
	 * same configuration, also before initdb has created the directory. */
	if (buf_format(out, cap, GUARDIAN_PAGE_DIR "/gsha-guardian-%016llx",
		       (unsigned long long)fnv1a(data_dir)) != 0)
		return -ENAMETOOLONG;
	return 0;
}

/* Maps the page file at path, created on first use; NULL when it cannot be used (no such
 * directory, a file another user made or that is not a plain file). */
static struct guardian_page *map_page_file(const char *path)
{
	struct guardian_page *page;
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_size < (off_t)sizeof(*page) && ftruncate(fd, sizeof(*page)) != 0)) {
		close(fd);
		return NULL;
	}
	page = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return page == MAP_FAILED ? NULL : page;
}

/* --- The agent's side ---------------------------------------------------------------------- */

struct guardian *guardian_start(const char *data_dir)
{
	struct guardian *g = calloc(1, sizeof(*g));
	pid_t agent = getpid(), pid;
	int64_t now;
	int fds[2];

	if (g == NULL)
		goto out_warn;
	if (guardian_page_path(data_dir, g->page_path, sizeof(g->page_path)) == 0)
		g->page = map_page_file(g->page_path);
	if (g->page == NULL) {
		g->page_path[0] = '\0';
		g->page = mmap(NULL, sizeof(*g->page), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (g->page == MAP_FAILED)
			goto out_free;
		log_warning("guardian: could not use a page file in " GUARDIAN_PAGE_DIR
			    ": an agent restarted after a crash cannot take over from this "
			    "one's guardian");
	}
	/* A predecessor's deadline that still runs is kept, and enforced by this guardian until
	 * this agent moves it; one that passed is spent (its guardian fenced or is gone too). */
	now = clock_mono_ms();
	if (atomic_load(&g->page->deadline_ms) <= now)
		atomic_store(&g->page->deadline_ms, 0);
	atomic_store(&g->page->owner_pid, (int64_t)agent);
	g->fences_seen = atomic_load(&g->page->fences);
	/* Close-on-exec: no task, callback or server the agent starts may keep the pipe open. */
	if (pipe2(fds, O_CLOEXEC) != 0)
		goto out_unmap;
	pid = fork();
	if (pid < 0)
		goto out_close;
	if (pid == 0) {
		struct sigaction ign = { .sa_handler = SIG_IGN };

		close(fds[1]);
		/* It ends when the agent does, not on the signals a terminal or a service manager
		 * sends the agent's group (the agent's own shutdown disarms it first). */
		sigemptyset(&ign.sa_mask);
		sigaction(SIGTERM, &ign, NULL);
		sigaction(SIGINT, &ign, NULL);
		sigaction(SIGHUP, &ign, NULL);
		sigaction(SIGPIPE, &ign, NULL);
		(void)prctl(PR_SET_NAME, "gsha-guardian");
		guardian_main(g->page, fds[0], data_dir, agent);
		_exit(0);
	}
	close(fds[0]);
	/* A wake never blocks the agent: a full pipe already holds one for the guardian. */
	(void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
	g->pipe_wr = fds[1];
	g->pid = pid;
	log_info("guardian started (pid %d): it fences PostgreSQL if this agent freezes or dies "
		 "while it leads",
		 (int)pid);
	return g;
out_close:
	close(fds[0]);
	close(fds[1]);
out_unmap:
	munmap(g->page, sizeof(*g->page));
out_free:
	free(g);
out_warn:
	log_warning("could not start the guardian (%s): a frozen agent's PostgreSQL is not fenced",
		    strerror(errno));
	return NULL;
}

void guardian_set_deadline(struct guardian *g, int64_t fence_deadline_ms)
{
	int64_t old;
	char byte = 0;

	if (g == NULL)
		return;
	old = atomic_exchange(&g->page->deadline_ms, fence_deadline_ms);
	/* Armed, the guardian sleeps until the old deadline's fire time: a later one it finds
	 * then, a disarm too; only an earlier one, or an arming, must wake it now. */
	if (fence_deadline_ms != 0 && (old == 0 || fence_deadline_ms < old))
		(void)!write(g->pipe_wr, &byte, 1);
}

void guardian_disarm(struct guardian *g)
{
	guardian_set_deadline(g, 0);
}

void guardian_poll(struct guardian *g)
{
	uint64_t fences;
	int status;

	if (g == NULL)
		return;
	fences = atomic_load(&g->page->fences);
	if (fences != g->fences_seen) {
		log_warning(
			"the guardian fenced PostgreSQL while this agent did not renew its fence "
			"deadline (frozen or stalled): see its log line");
		g->fences_seen = fences;
	}
	if (g->pid > 0 && waitpid(g->pid, &status, WNOHANG) == g->pid) {
		log_error(
			"the guardian (pid %d) exited (%s %d): a frozen agent's PostgreSQL is not "
			"fenced any more",
			(int)g->pid, WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		g->pid = 0;
	}
}

int guardian_pid(const struct guardian *g)
{
	return g != NULL ? (int)g->pid : 0;
}

void guardian_stop(struct guardian *g)
{
	struct timespec step = { 0, GUARDIAN_REAP_STEP_MS * 1000000L };

	if (g == NULL)
		return;
	if (atomic_load(&g->page->owner_pid) == (int64_t)getpid()) {
		guardian_disarm(g);
		/* A clean exit leaves nothing for a successor to take over. */
		if (g->page_path[0] != '\0')
			(void)unlink(g->page_path);
	}
	close(g->pipe_wr);
	for (int64_t waited = 0; g->pid > 0; waited += GUARDIAN_REAP_STEP_MS) {
		pid_t r = waitpid(g->pid, NULL, WNOHANG);

		if (r == g->pid || (r < 0 && errno == ECHILD))
			break;
		if (waited >= GUARDIAN_STOP_WAIT_MS) {
			log_warning("the guardian (pid %d) did not exit: killing it", (int)g->pid);
			kill(g->pid, SIGKILL);
			(void)waitpid(g->pid, NULL, 0);
			break;
		}
		nanosleep(&step, NULL);
	}
	munmap(g->page, sizeof(*g->page));
	free(g);
}
