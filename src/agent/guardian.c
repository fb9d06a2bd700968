/*
 * guardian.c - the process that fences PostgreSQL when the agent is frozen or dead (guardian.h,
 * docs/timing.md "Guardian").
 *
 * The agent and the guardian share one page: the agent stores the leader's fence deadline in
 * it (or 0), the guardian counts the fences it did. Nothing else passes between them but the
 * socket (and the watchdog device the agent hands over it): a byte on it wakes the guardian
 * when it is armed (or its deadline moved back, or it holds the watchdog), its EOF tells the
 * guardian that the agent is gone. The guardian never asks the agent anything, so an agent
 * that does not answer cannot hold it back, and it wakes for nothing periodic: an idle cluster
 * costs it no CPU.
 */
#include "guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "num.h"
#include "watchdog.h"

extern char **environ;

/* How long guardian_stop waits for the guardian to exit after the socket closed before it kills
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
/* Bytes one read drains from the socket (the agent writes a byte to wake the guardian). */
#define GUARDIAN_PIPE_READ 64
/* The descriptors an exec'd guardian finds: its end of the socket, and the shared page. */
#define GUARDIAN_SOCK_FD 3
#define GUARDIAN_PAGE_FD 4
/* Descriptors are moved above this before the spawn's dup2 onto 3 and 4, so none is clobbered. */
#define GUARDIAN_FD_FLOOR 10

/* The shared page, one per data directory: GUARDIAN_PAGE_DIR/gsha-guardian-<hash of the data
 * directory>, so an agent restarted after a crash finds the page its predecessor's guardian still
 * watches and takes it over (an anonymous page where the file cannot be used). Lock-free 64-bit
 * atomics work across processes on a MAP_SHARED mapping; CLOCK_MONOTONIC values mean the same
 * in every process of the machine, and the directory is a tmpfs that a reboot empties. */
struct guardian_page {
	_Atomic int64_t deadline_ms; /* the leader's fence deadline (monotonic), 0 = disarmed */
	_Atomic uint64_t fences;     /* fences the guardians of this data directory carried out */
	_Atomic int64_t owner_pid;   /* the agent whose guardian watches the page now */
	/* The watchdog (watchdog.h): the guardian holds the open device, the agent tunes it. */
	_Atomic int32_t wd_active;    /* 1 while a guardian holds the device (it sets it) */
	_Atomic int32_t wd_timeout_s; /* the timeout the agent wants; the guardian applies it */
	/* the timeout the device was opened with: wd_timeout_s, or less when the proof it was
	 * opened on was older than a ping's (watchdog_first_timeout_s) */
	_Atomic int32_t wd_opened_s;
	_Atomic int64_t wd_ping_offset_ms; /* a ping is allowed while now <= deadline + this */
	_Atomic uint64_t wd_pings;	   /* keepalives the guardians sent */
	_Atomic uint64_t wd_skipped;	   /* pings given up: too late for the lease's end */
	_Atomic uint64_t wd_closes;	   /* magic closes (the watchdog disabled) */
	_Atomic uint64_t wd_taken;  /* hand-overs the guardians took (the agent waits for it) */
	_Atomic int32_t wd_disable; /* the agent asks for the magic close (it does not lead) */
};

struct guardian {
	struct guardian_page *page;
	int page_fd; /* kept open: every guardian spawned maps it (GUARDIAN_PAGE_FD) */
	/* The agent's end of the socket. Its number never changes (a respawn dup3s the new
	 * socket onto it), so the lease thread's wake needs no lock. Closed (by exit or death) =
	 * the agent is gone. */
	int sock;
	pthread_mutex_t lock; /* pid, pidfd, the watchdog's hand-over and wd_* below */
	pid_t pid;	      /* the guardian, 0 once it is gone */
	int pidfd;	      /* on pid, -1 where pidfd_open is missing */
	pthread_t watcher;    /* respawns the guardian the moment it dies */
	bool watching;
	int stop_pipe[2]; /* wakes the watcher to end */
	_Atomic bool stopping;
	_Atomic uint64_t respawns;
	_Atomic bool wd_wanted; /* the agent activated the watchdog and has not disarmed since */
	char wd_device[PATH_MAX];
	int wd_timeout_s;
	uint64_t fences_seen;
	char data_dir[PATH_MAX];
	char page_path[GUARDIAN_PAGE_PATH_MAX]; /* "" for an anonymous page (a memfd) */
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

/* What the guardian process holds. */
struct gproc {
	struct guardian_page *page;
	int sock;	    /* its end of the socket: bytes wake it, EOF = the agent is gone */
	int wd_fd;	    /* the watchdog the agent handed over, -1 = none */
	int wd_timeout_s;   /* the timeout it runs with */
	int64_t pinged_for; /* the deadline last pinged for (or given up on) */
	bool wd_armed;	    /* armed since it took the device (the arming follows the hand-over) */
	pid_t agent;
};

/* Takes over a watchdog the agent opened and pinged (watchdog_open). */
static void wd_take(struct gproc *gp, int fd)
{
	if (gp->wd_fd >= 0 && watchdog_magic_close(gp->wd_fd) == 0)
		atomic_fetch_add(&gp->page->wd_closes, 1);
	gp->wd_fd = fd;
	gp->wd_timeout_s = atomic_load(&gp->page->wd_opened_s);
	gp->pinged_for = atomic_load(&gp->page->deadline_ms);
	gp->wd_armed = gp->pinged_for != 0;
	atomic_store(&gp->page->wd_active, 1);
	atomic_fetch_add(&gp->page->wd_taken, 1);
	log_info("guardian: holding the watchdog (%d s timeout)", gp->wd_timeout_s);
}

/* Disables the watchdog (PostgreSQL is fenced, or this node does not lead any more). */
static void wd_stop(struct gproc *gp, const char *why)
{
	int rc;

	if (gp->wd_fd < 0)
		return;
	rc = watchdog_magic_close(gp->wd_fd);
	gp->wd_fd = -1;
	atomic_store(&gp->page->wd_active, 0);
	if (rc == 0) {
		atomic_fetch_add(&gp->page->wd_closes, 1);
		log_info("guardian: watchdog disabled: %s", why);
	} else {
		log_error("guardian: could not disable the watchdog (%s): it may reset the node",
			  strerror(-rc));
	}
}

/* Pings the watchdog when the deadline moved forward, as long as the ping still lets it fire
 * before the lease that proved the deadline can end; applies a new timeout first. */
static void wd_step(struct gproc *gp, int64_t now)
{
	int64_t deadline = atomic_load(&gp->page->deadline_ms);
	int want = atomic_load(&gp->page->wd_timeout_s);

	if (gp->wd_fd < 0)
		return;
	if (atomic_exchange(&gp->page->wd_disable, 0) != 0) {
		wd_stop(gp, "this node does not lead");
		return;
	}
	/* The agent hands the device over before it arms: a 0 before the first arming is not a
	 * disarm. */
	if (deadline == 0) {
		if (gp->wd_armed)
			wd_stop(gp, "disarmed");
		return;
	}
	gp->wd_armed = true;
	if (deadline == gp->pinged_for)
		return;
	gp->pinged_for = deadline;
	if (now > deadline + atomic_load(&gp->page->wd_ping_offset_ms)) {
		atomic_fetch_add(&gp->page->wd_skipped, 1);
		log_warning(
			"guardian: not pinging the watchdog: too late for the lease that "
			"proved the deadline (%lld ms past the limit)",
			(long long)(now - deadline - atomic_load(&gp->page->wd_ping_offset_ms)));
		return;
	}
	/* Only after the limit: setting a timeout pings the device (Linux's WDIOC_SETTIMEOUT). */
	if (want > 0 && want != gp->wd_timeout_s) {
		int t = want;

		if (ioctl(gp->wd_fd, WDIOC_SETTIMEOUT, &t) == 0) {
			log_info("guardian: watchdog timeout now %d s", t);
			gp->wd_timeout_s = t;
		} else {
			log_error("guardian: could not set the watchdog timeout to %d s: %s", want,
				  strerror(errno));
		}
	}
	if (watchdog_keepalive(gp->wd_fd) == 0)
		atomic_fetch_add(&gp->page->wd_pings, 1);
	else
		log_error("guardian: could not ping the watchdog: %s", strerror(errno));
}

/* Waits up to sleep_ms (-1: without a bound) for the socket, draining the bytes that woke it and
 * taking over a watchdog passed with them; returns true once it reported EOF (the agent is gone). */
static bool agent_gone(struct gproc *gp, int64_t sleep_ms)
{
	struct pollfd p = { .fd = gp->sock, .events = POLLIN };
	char buf[GUARDIAN_PIPE_READ];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (sleep_ms > INT_MAX)
		sleep_ms = INT_MAX;
	if (poll(&p, 1, sleep_ms < 0 ? -1 : (int)sleep_ms) <= 0 ||
	    (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
		return false;
	m.msg_control = ctl.space;
	m.msg_controllen = sizeof(ctl.space);
	n = recvmsg(gp->sock, &m, MSG_CMSG_CLOEXEC);
	for (c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int fd;

			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			wd_take(gp, fd);
		}
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

static void guardian_main(struct gproc *gp, const char *data_dir)
{
	struct guardian_page *page = gp->page;
	struct db_fence_target target;
	int64_t fenced_for = 0, failed_for = 0;
	pid_t agent = gp->agent;
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

		if (!gone)
			wd_step(gp, now);
		v = guardian_decide(deadline, fenced_for, gone, superseded, now, &sleep_ms);
		switch (v) {
		case GUARDIAN_WAIT:
			if (!gone) {
				gone = agent_gone(gp, sleep_ms);
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
				/* PostgreSQL is down: nothing left for the watchdog to stop. */
				wd_stop(gp, "PostgreSQL is fenced");
			} else {
				failed_for = deadline;
			}
			if (fenced_for != deadline)
				gone = agent_gone(gp, GUARDIAN_RETRY_MS);
			break;
		case GUARDIAN_FENCE_AGENT_GONE:
			snprintf(
				why, sizeof(why),
				"the agent (pid %d) died while it held the leader key and no agent "
				"took over by its fence deadline",
				(int)agent);
			for (int i = 0; i < GUARDIAN_GONE_TRIES; i++) {
				refresh_target(data_dir, &target);
				if (fence(page, &target, why, i > 0)) {
					wd_stop(gp, "PostgreSQL is fenced");
					break;
				}
				clock_sleep_ms(GUARDIAN_RETRY_MS);
			}
			/* A fence that failed leaves the watchdog running: it resets the node. */
			spend(page, deadline);
			return;
		case GUARDIAN_EXIT:
			if (gone && superseded && deadline != 0 && deadline != fenced_for)
				log_notice(
					"guardian: a new agent (pid %lld) took over from the dead "
					"agent (pid %d): exiting without fencing",
					(long long)atomic_load(&page->owner_pid), (int)agent);
			wd_stop(gp, "the agent is gone and this node does not lead");
			return;
		}
	}
}

int guardian_process_main(int argc, char **argv)
{
	struct gproc gp = { .sock = GUARDIAN_SOCK_FD, .wd_fd = -1 };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	enum log_level level = LOG_LEVEL_INFO;
	int64_t agent;

	if (argc != 5 || num_parse_i64(argv[3], 1, INT_MAX, &agent) != 0) {
		fprintf(stderr, "usage: gsha " GUARDIAN_ARG " DATA_DIR AGENT_PID LOG_LEVEL\n");
		return 2;
	}
	if (log_level_parse(argv[4], &level) != 0)
		level = LOG_LEVEL_INFO;
	log_setup(level, LOG_FORMAT_TEXT, NULL);
	gp.agent = (pid_t)agent;
	gp.page = mmap(NULL, sizeof(*gp.page), PROT_READ | PROT_WRITE, MAP_SHARED, GUARDIAN_PAGE_FD,
		       0);
	if (gp.page == MAP_FAILED) {
		log_error("guardian: could not map the shared page: %s", strerror(errno));
		return 1;
	}
	close(GUARDIAN_PAGE_FD);
	/* It ends when the agent does, not on the signals a terminal or a service manager sends
	 * the agent's group (the agent's own shutdown disarms it first). */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	(void)prctl(PR_SET_NAME, "gsha-guardian");
	/* The agent may be gone already (it died between the spawn and now). */
	if (getppid() != gp.agent)
		log_warning("guardian: the agent (pid %d) is not its parent", (int)gp.agent);
	guardian_main(&gp, argv[2]);
	return 0;
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

/* --- The agent's side ---------------------------------------------------------------------- */

/* The lowest level the log shows, handed on to every guardian spawned. */
static const char *log_level_now(void)
{
	static const enum log_level order[] = { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_NOTICE,
						LOG_LEVEL_WARNING, LOG_LEVEL_ERROR };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (log_enabled(order[i]))
			return log_level_name(order[i]);
	return "error";
}

/* Starts a guardian by exec of this very binary (posix_spawn: no fork() of a threaded
 * process), its socket and the page on GUARDIAN_SOCK_FD and GUARDIAN_PAGE_FD; puts the agent's
 * new end of the socket on g->sock (or there from the first start). Called with g->lock held,
 * or before the watcher runs. 0 or a negative errno. */
static int spawn_locked(struct guardian *g)
{
	char pid_arg[24];
	char *argv[] = {
		"gsha", GUARDIAN_ARG, g->data_dir, pid_arg, (char *)log_level_now(), NULL
	};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int fds[2], child = -1, page = -1, rc;
	pid_t pid;

	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		return -errno;
	/* Both above the two numbers the child gets, so no dup2 clobbers the other's source. */
	child = fcntl(fds[1], F_DUPFD_CLOEXEC, GUARDIAN_FD_FLOOR);
	page = fcntl(g->page_fd, F_DUPFD_CLOEXEC, GUARDIAN_FD_FLOOR);
	close(fds[1]);
	if (child < 0 || page < 0) {
		rc = -EMFILE;
		goto out_close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, child, GUARDIAN_SOCK_FD);
	posix_spawn_file_actions_adddup2(&fa, page, GUARDIAN_PAGE_FD);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = -posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		goto out_close;
	/* The first start puts it in place; a respawn replaces the dead one's socket atomically,
	 * so the lease thread never writes to a closed or reused number. */
	if (g->sock < 0) {
		g->sock = fds[0];
	} else {
		(void)dup3(fds[0], g->sock, O_CLOEXEC);
		close(fds[0]);
	}
	fds[0] = -1;
	/* A wake never blocks the agent: a full socket already holds one for the guardian. */
	(void)fcntl(g->sock, F_SETFL, O_NONBLOCK);
	g->pid = pid;
	g->pidfd = -1;
#ifdef SYS_pidfd_open
	g->pidfd = (int)syscall(SYS_pidfd_open, pid, 0u);
#endif
	rc = 0;
out_close:
	if (fds[0] >= 0)
		close(fds[0]);
	if (child >= 0)
		close(child);
	if (page >= 0)
		close(page);
	return rc;
}

/* Opens the watchdog so that it fires by fire_by_ms (watchdog_first_timeout_s), hands it to the
 * guardian and waits for it to hold it. Called with g->lock. */
static int activate_locked(struct guardian *g, int64_t fire_by_ms, char *msg, size_t cap)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = "w", .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	bool can_stop = true;
	char identity[64] = "";
	int fd, actual = 0, first, rc;

	uint64_t taken = atomic_load(&g->page->wd_taken);

	if (g->pid <= 0) {
		snprintf(msg, cap, "no guardian runs to hold the watchdog");
		return -ESRCH;
	}
	/* Opening starts it: the first timeout counts from now, so it is cut to what the proof
	 * leaves (a ping would be given up that late) rather than run past the lease's end. */
	first = watchdog_first_timeout_s(g->wd_timeout_s, fire_by_ms, clock_mono_ms());
	if (first < 1) {
		snprintf(msg, cap,
			 "the lease's proof leaves less than 1 s before it may end (%lld ms): no "
			 "activation on it",
			 (long long)(fire_by_ms - clock_mono_ms() + WATCHDOG_LEASE_SLACK_MS));
		return -ETIME;
	}
	atomic_store(&g->page->wd_timeout_s, g->wd_timeout_s);
	atomic_store(&g->page->wd_disable, 0);
	rc = watchdog_open(g->wd_device, first, &fd, &actual, &can_stop, identity, sizeof(identity),
			   msg, cap);
	if (rc != 0)
		return rc;
	atomic_store(&g->page->wd_opened_s, actual);
	m.msg_control = ctl.space;
	m.msg_controllen = sizeof(ctl.space);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	if (sendmsg(g->sock, &m, MSG_NOSIGNAL) != 1) {
		rc = -errno;
		snprintf(msg, cap, "could not hand the watchdog to the guardian: %s",
			 strerror(errno));
		(void)watchdog_magic_close(fd);
		return rc;
	}
	/* The guardian's copy is the only one from here: its close is the device's release. */
	close(fd);
	for (int64_t t = 0; atomic_load(&g->page->wd_taken) == taken; t += GUARDIAN_REAP_STEP_MS) {
		if (t >= WATCHDOG_HANDOVER_MS) {
			snprintf(msg, cap, "the guardian (pid %d) did not take the watchdog over",
				 (int)g->pid);
			return -ETIMEDOUT;
		}
		clock_sleep_ms(GUARDIAN_REAP_STEP_MS);
	}
	atomic_store(&g->wd_wanted, true);
	if (actual == g->wd_timeout_s)
		log_info("watchdog \"%s\" (%s) activated with a %d s timeout%s", g->wd_device,
			 identity[0] ? identity : "no identity", actual,
			 can_stop ? ""
				  : "; it cannot be disabled (no magic close): it resets the node "
				    "once this node stops leading");
	else
		log_info("watchdog \"%s\" (%s) activated with a %d s timeout, the first one %d s "
			 "(the lease's last keepalive leaves no more)%s",
			 g->wd_device, identity[0] ? identity : "no identity", g->wd_timeout_s,
			 actual,
			 can_stop ? ""
				  : "; it cannot be disabled (no magic close): it resets the node "
				    "once this node stops leading");
	return 0;
}

/* The guardian died: start a new one at once, which finds the deadline in the page, and give
 * it the watchdog again when the dead one held it for this leader. status -1: reaped elsewhere
 * (proc_reap_orphans' waitpid(-1) may take it first), unknown. */
static void respawn(struct guardian *g, int status)
{
	char msg[300];

	pthread_mutex_lock(&g->lock);
	if (status == -1)
		log_error("the guardian (pid %d) exited (status unknown, reaped elsewhere): "
			  "starting a new one",
			  (int)g->pid);
	else
		log_error("the guardian (pid %d) exited (%s %d): starting a new one", (int)g->pid,
			  WIFSIGNALED(status) ? "signal" : "status",
			  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (g->pidfd >= 0)
		close(g->pidfd);
	g->pidfd = -1;
	g->pid = 0;
	/* Its copy of the device closed without the magic close: the watchdog still runs. */
	atomic_store(&g->page->wd_active, 0);
	while (!atomic_load(&g->stopping)) {
		int rc = spawn_locked(g);

		if (rc == 0)
			break;
		log_error("could not start a new guardian: %s, retrying", strerror(-rc));
		pthread_mutex_unlock(&g->lock);
		clock_sleep_ms(GUARDIAN_RETRY_MS);
		pthread_mutex_lock(&g->lock);
	}
	if (g->pid > 0) {
		atomic_fetch_add(&g->respawns, 1);
		log_notice("guardian started again (pid %d), armed with the deadline in its page",
			   (int)g->pid);
		int64_t deadline = atomic_load(&g->page->deadline_ms);

		/* The dead guardian's device still runs from its last ping; the open pings it
		 * again, so it is cut to the deadline in the page (fire_by as the tuning says). */
		if (atomic_load(&g->wd_wanted) && deadline != 0 &&
		    activate_locked(g,
				    deadline + atomic_load(&g->page->wd_ping_offset_ms) +
					    (int64_t)atomic_load(&g->page->wd_timeout_s) * 1000,
				    msg, sizeof(msg)) != 0)
			log_error("could not hand the watchdog to the new guardian: %s", msg);
	}
	pthread_mutex_unlock(&g->lock);
}

/* The watcher thread: waits for the guardian's death (its pidfd; without one, polls) or the
 * stop pipe, and respawns it. */
static void *watch(void *arg)
{
	struct guardian *g = arg;

	while (!atomic_load(&g->stopping)) {
		struct pollfd p[2] = { { .fd = g->stop_pipe[0], .events = POLLIN },
				       { .fd = g->pidfd, .events = POLLIN } };
		int status = 0;
		pid_t r;

		(void)poll(p, g->pidfd >= 0 ? 2 : 1, g->pidfd >= 0 ? -1 : GUARDIAN_RETRY_MS);
		if (atomic_load(&g->stopping))
			break;
		r = waitpid(g->pid, &status, WNOHANG);
		/* ECHILD: reaped elsewhere (PID 1's reaper), and the pidfd said it exited. */
		if (r == g->pid)
			respawn(g, status);
		else if (r < 0 && errno == ECHILD && (p[1].revents & POLLIN))
			respawn(g, -1);
	}
	return NULL;
}

/* Opens and sizes the page file, or a memfd when it cannot be used. -1 on failure. */
static int open_page(struct guardian *g)
{
	struct stat st;
	int fd = -1;

	if (guardian_page_path(g->data_dir, g->page_path, sizeof(g->page_path)) == 0)
		fd = open(g->page_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		g->page_path[0] = '\0';
		fd = memfd_create("gsha-guardian", MFD_CLOEXEC);
		if (fd < 0)
			return -1;
		log_warning("guardian: could not use a page file in " GUARDIAN_PAGE_DIR
			    ": an agent restarted after a crash cannot take over from this "
			    "one's guardian");
		st.st_size = 0;
	}
	if (st.st_size < (off_t)sizeof(*g->page) && ftruncate(fd, sizeof(*g->page)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct guardian *guardian_start(const char *data_dir)
{
	struct guardian *g = calloc(1, sizeof(*g));
	int64_t now;

	if (g == NULL)
		goto out_warn;
	g->sock = -1;
	g->pidfd = -1;
	g->stop_pipe[0] = g->stop_pipe[1] = -1;
	pthread_mutex_init(&g->lock, NULL);
	buf_copy_or_clear(g->data_dir, sizeof(g->data_dir), data_dir);
	g->page_fd = open_page(g);
	if (g->page_fd < 0)
		goto out_free;
	g->page = mmap(NULL, sizeof(*g->page), PROT_READ | PROT_WRITE, MAP_SHARED, g->page_fd, 0);
	if (g->page == MAP_FAILED)
		goto out_close_page;
	/* A predecessor's deadline that still runs is kept, and enforced by this guardian until
	 * this agent moves it; one that passed is spent (its guardian fenced or is gone too). */
	now = clock_mono_ms();
	if (atomic_load(&g->page->deadline_ms) <= now)
		atomic_store(&g->page->deadline_ms, 0);
	atomic_store(&g->page->owner_pid, (int64_t)getpid());
	atomic_store(&g->page->wd_active, 0);
	g->fences_seen = atomic_load(&g->page->fences);
	if (pipe2(g->stop_pipe, O_CLOEXEC) != 0 || (errno = -spawn_locked(g)) != 0)
		goto out_unmap;
	if (pthread_create(&g->watcher, NULL, watch, g) != 0)
		log_warning("guardian: could not start its watcher: a dead guardian is noticed "
			    "once a cycle and not started again");
	else
		g->watching = true;
	log_info("guardian started (pid %d): it fences PostgreSQL if this agent freezes or dies "
		 "while it leads",
		 (int)g->pid);
	return g;
out_unmap:
	munmap(g->page, sizeof(*g->page));
out_close_page:
	close(g->page_fd);
out_free:
	if (g->stop_pipe[0] >= 0) {
		close(g->stop_pipe[0]);
		close(g->stop_pipe[1]);
	}
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
	 * then, a disarm too; only an earlier one, or an arming, must wake it now. Holding the
	 * watchdog, it pings on every move and disables it on a disarm: every change wakes it. */
	if ((fence_deadline_ms != 0 && (old == 0 || fence_deadline_ms < old)) ||
	    (old != fence_deadline_ms && atomic_load(&g->page->wd_active) != 0))
		(void)!write(g->sock, &byte, 1);
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
	/* Without the watcher thread, a dead guardian is noticed here (and not started again). */
	if (!g->watching && g->pid > 0 && waitpid(g->pid, &status, WNOHANG) == g->pid) {
		log_error(
			"the guardian (pid %d) exited (%s %d): a frozen agent's PostgreSQL is not "
			"fenced any more",
			(int)g->pid, WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		g->pid = 0;
	}
}

void guardian_watchdog_tune(struct guardian *g, int timeout_s, int64_t ping_offset_ms)
{
	if (g == NULL)
		return;
	atomic_store(&g->page->wd_ping_offset_ms, ping_offset_ms);
	if (timeout_s > 0)
		atomic_store(&g->page->wd_timeout_s, timeout_s);
}

int guardian_watchdog_activate(struct guardian *g, const char *device, int timeout_s,
			       int64_t fire_by_ms, char *msg, size_t cap)
{
	int rc;

	if (g == NULL) {
		snprintf(msg, cap, "no guardian runs to hold the watchdog");
		return -ESRCH;
	}
	pthread_mutex_lock(&g->lock);
	buf_copy_or_clear(g->wd_device, sizeof(g->wd_device), device);
	g->wd_timeout_s = timeout_s;
	/* The watcher may have handed it to a respawned guardian meanwhile. */
	rc = atomic_load(&g->page->wd_active) != 0 ? 0 : activate_locked(g, fire_by_ms, msg, cap);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void guardian_watchdog_disable(struct guardian *g)
{
	if (g == NULL || atomic_load(&g->page->wd_active) == 0)
		return;
	atomic_store(&g->wd_wanted, false);
	atomic_store(&g->page->wd_disable, 1);
	(void)!write(g->sock, "", 1);
}

bool guardian_watchdog_active(const struct guardian *g)
{
	return g != NULL && atomic_load(&g->page->wd_active) != 0;
}

void guardian_stats(const struct guardian *g, struct guardian_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (g == NULL)
		return;
	out->respawns = atomic_load(&g->respawns);
	out->watchdog_active = atomic_load(&g->page->wd_active) != 0;
	out->watchdog_pings = atomic_load(&g->page->wd_pings);
	out->watchdog_skipped = atomic_load(&g->page->wd_skipped);
	out->watchdog_closes = atomic_load(&g->page->wd_closes);
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
	atomic_store(&g->stopping, true);
	if (g->watching) {
		(void)!write(g->stop_pipe[1], "x", 1);
		pthread_join(g->watcher, NULL);
	}
	if (atomic_load(&g->page->owner_pid) == (int64_t)getpid()) {
		guardian_disarm(g);
		/* A clean exit leaves nothing for a successor to take over. */
		if (g->page_path[0] != '\0')
			(void)unlink(g->page_path);
	}
	close(g->sock);
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
	if (g->pidfd >= 0)
		close(g->pidfd);
	close(g->stop_pipe[0]);
	close(g->stop_pipe[1]);
	munmap(g->page, sizeof(*g->page));
	close(g->page_fd);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
