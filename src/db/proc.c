/*
 * proc.c - child processes with deadlines, captured output and process-group kills.
 *
 * Everything that can fail or allocate happens before fork(): the agent has HTTP threads, so
 * the child only calls async-signal-safe functions between fork() and execve(). An exec failure
 * travels back to the parent through a close-on-exec pipe, so "no such program" is an error of
 * proc_start and not a mysterious exit status 127.
 */
#include "proc.h"

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Longest program name kept for messages and log lines. */
#define PROC_NAME_MAX 64
/* Longest resolved program path. */
#define PROC_PATH_MAX PATH_MAX
/* How often a waiting proc_poll looks at the child when no output arrives. */
#define PROC_POLL_SLICE_MS 20
/* Environment entries we pass on at most (the agent's plus additions). */
#define PROC_ENVIRON_MAX 512
/* Highest descriptor the fallback marks close-on-exec when close_range is missing. */
#define PROC_FD_SCAN_MAX 65536

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The agent is a child subreaper (agent_become_subreaper): what the processes it starts leave
 * behind (the postmaster pg_ctl daemonizes, a crashed postmaster's backends) becomes its child,
 * and proc_reap_orphans() reaps those with waitpid(-1). That call may take the exit status of a
 * child proc_start spawned before the owner's waitpid(pid) does; such a status is kept in this
 * table until try_reap collects it. A child table belongs to the process (as signal dispositions
 * do), hence file-scope state under a lock, not a field of one struct proc. */
#define PROC_TRACKED_MAX 128
struct tracked {
	pid_t pid;   /* 0: free slot */
	bool reaped; /* proc_reap_orphans took its status */
	int wstatus;
};
static struct tracked tracked[PROC_TRACKED_MAX];
static pthread_mutex_t tracked_lock = PTHREAD_MUTEX_INITIALIZER;

/* With tracked_lock held. */
static struct tracked *tracked_find(pid_t pid)
{
	for (int i = 0; i < PROC_TRACKED_MAX; i++)
		if (tracked[i].pid == pid)
			return &tracked[i];
	return NULL;
}

/* With tracked_lock held; forgets pid (no-op when untracked). */
static void tracked_forget(pid_t pid)
{
	struct tracked *t = pid > 0 ? tracked_find(pid) : NULL;

	if (t != NULL)
		memset(t, 0, sizeof(*t));
}

struct proc {
	pid_t pid;   /* child and process group id; 0 once reaped */
	int out_fd;  /* read end of the output pipe, -1 once closed */
	bool done;   /* reaped and drained */
	bool reaped; /* waitpid returned the child */
	int wstatus; /* its status */
	int64_t start_ms;
	int64_t deadline_ms;  /* 0: none */
	int64_t timeout_ms;   /* as given, for the reason text */
	int64_t term_sent_ms; /* when TERM went to the group, 0 if not yet */
	bool kill_sent;	      /* KILL went to the group */
	bool timed_out;
	bool cancelled;
	char name[PROC_NAME_MAX];
	char out[PROC_OUTPUT_MAX + 1];
	size_t out_len;
	size_t dropped;
	char line[PROC_LINE_MAX]; /* the line being assembled */
	size_t line_len;
	bool line_overflow;
	char last_line[PROC_LINE_MAX];
	struct proc_result result;
};

/* Finds prog in PATH unless it holds a slash. */
static int resolve_program(const char *prog, char *out, size_t cap)
{
	if (strchr(prog, '/'))
		return buf_copy(out, cap, prog) == 0 ? 0 : -ENAMETOOLONG;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	const char *p = path;
	while (*p) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len > 0) {
			if (buf_format(out, cap, "%.*s/%s", (int)len, p, prog) == 0 &&
			    access(out, X_OK) == 0)
				return 0;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	return -ENOENT;
}

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* True for the agent's own settings in its environment (Patroni's PATRONI_* and gsha's GSHA_*):
 * they carry the superuser, replication and REST passwords, and a child (the postmaster, and
 * through it every backend and archive_command) has no use for them. Patroni strips them too. */
static bool agent_secret(const char *entry)
{
	return strncmp(entry, "PATRONI_", 8) == 0 || strncmp(entry, "GSHA_", 5) == 0;
}

/* environ without the agent's settings, with env_add entries overriding same-named ones, into
 * envp (NULL-terminated). */
static int build_env(const char *const env_add[], const char **envp, size_t cap)
{
	size_t n = 0;
	size_t adds = 0;
	if (env_add) {
		while (env_add[adds]) {
			if (!strchr(env_add[adds], '='))
				return -EINVAL;
			adds++;
		}
		if (adds > PROC_ENV_MAX)
			return -E2BIG;
	}
	for (char **e = environ; e && *e; e++) {
		bool overridden = false;
		for (size_t i = 0; i < adds; i++) {
			size_t l = name_len(env_add[i]);
			if (name_len(*e) == l && strncmp(*e, env_add[i], l) == 0)
				overridden = true;
		}
		if (overridden || agent_secret(*e))
			continue;
		if (n + 1 >= cap)
			return -E2BIG;
		envp[n++] = *e;
	}
	for (size_t i = 0; i < adds; i++) {
		if (n + 1 >= cap)
			return -E2BIG;
		envp[n++] = env_add[i];
	}
	envp[n] = NULL;
	return 0;
}

/* The child's side of proc_start and proc_launch after its process group or session: default
 * signal handlers and an empty mask, IN as standard input and OUT as standard output and error,
 * nothing else inherited, then the program; an exec failure's errno goes to ERR_WR. Only
 * async-signal-safe calls: it runs between fork and exec in a threaded process. */
static _Noreturn void child_exec(int in, int out, int err_wr, int fd_max, const char *path,
				 const char *const argv[], const char **env)
{
	for (int s = 1; s < NSIG; s++) {
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) >= 0 && dup2(out, 1) >= 0 && dup2(out, 2) >= 0) {
		if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
			for (int fd = 3; fd < fd_max; fd++)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
		execve(path, (char *const *)argv, (char *const *)env);
	}
	int e = errno;
	ssize_t w = write(err_wr, &e, sizeof(e));
	(void)w;
	_exit(127);
}

/* What proc_start and proc_launch check and build before they fork: the argument count, the
 * child's environment (*env, the caller frees it) and the program's path. */
static int prepare_exec(const char *const argv[], const char *const env_add[], const char ***env,
			char path[PROC_PATH_MAX], char *err, size_t err_cap)
{
	if (!argv || !argv[0] || !argv[0][0])
		return err_fail(err, err_cap, -EINVAL, "invalid command");
	size_t argc = 0;
	while (argv[argc]) {
		if (++argc >= PROC_ARGV_MAX)
			return err_fail(err, err_cap, -E2BIG,
					"command \"%s\" has too many arguments", argv[0]);
	}
	*env = calloc(PROC_ENVIRON_MAX, sizeof(**env));
	if (!*env)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	int rc = build_env(env_add, *env, PROC_ENVIRON_MAX);
	if (rc < 0)
		rc = err_fail(err, err_cap, rc, "invalid environment for \"%s\"", argv[0]);
	else if ((rc = resolve_program(argv[0], path, PROC_PATH_MAX)) < 0)
		rc = err_fail(err, err_cap, rc, "could not find program \"%s\"", argv[0]);
	if (rc < 0) {
		free(*env);
		*env = NULL;
		return rc;
	}
	return 0;
}

int proc_start(struct proc **out, const char *const argv[], const char *const env_add[],
	       int64_t timeout_ms, char *err, size_t err_cap)
{
	if (!out || timeout_ms < 0)
		return err_fail(err, err_cap, -EINVAL, "invalid command");
	const char **env;
	char path[PROC_PATH_MAX];
	int rc = prepare_exec(argv, env_add, &env, path, err, err_cap);
	if (rc < 0)
		return rc;

	struct proc *p = calloc(1, sizeof(*p));
	if (!p) {
		rc = err_fail(err, err_cap, -ENOMEM, "out of memory");
		goto out_free_env;
	}
	p->out_fd = -1;
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (buf_copy(p->name, sizeof(p->name), base) != 0)
		snprintf(p->name, sizeof(p->name), "%.*s", (int)sizeof(p->name) - 1, base);

	int out_pipe[2];
	int err_pipe[2];
	if (pipe2(out_pipe, O_CLOEXEC) != 0) {
		rc = err_fail(err, err_cap, -errno, "could not create pipe: %s", strerror(errno));
		goto out_free_proc;
	}
	if (pipe2(err_pipe, O_CLOEXEC) != 0) {
		rc = err_fail(err, err_cap, -errno, "could not create pipe: %s", strerror(errno));
		goto out_close_out;
	}
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		rc = err_fail(err, err_cap, -errno, "could not open /dev/null: %s",
			      strerror(errno));
		goto out_close_err;
	}

	/* The child must not inherit the agent's sockets and files (a postmaster started by pg_ctl
	 * would keep the REST port busy forever): everything above stderr is closed on exec. */
	struct rlimit nofile;
	int fd_max = PROC_FD_SCAN_MAX;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (rlim_t)fd_max)
		fd_max = (int)nofile.rlim_cur;

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Tracked before any proc_reap_orphans can see it exit (the child never touches the lock). */
	pthread_mutex_lock(&tracked_lock);
	struct tracked *slot = tracked_find(0);
	if (!slot) {
		pthread_mutex_unlock(&tracked_lock);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(devnull);
		rc = err_fail(err, err_cap, -EAGAIN,
			      "could not start \"%s\": %d child processes are running already",
			      p->name, PROC_TRACKED_MAX);
		goto out_close_err;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Child: async-signal-safe calls only. */
		setpgid(0, 0);
		child_exec(devnull, out_pipe[1], err_pipe[1], fd_max, path, argv, env);
	}
	int fork_errno = errno;
	if (pid > 0) {
		slot->pid = pid;
		slot->reaped = false;
	}
	pthread_mutex_unlock(&tracked_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(devnull);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		close(err_pipe[0]);
		close(out_pipe[0]);
		rc = err_fail(err, err_cap, -fork_errno, "could not fork for \"%s\": %s", p->name,
			      strerror(fork_errno));
		goto out_free_proc;
	}
	setpgid(pid, pid); /* also in the parent, so a kill right after start finds the group */

	int child_errno = 0;
	ssize_t r;
	do {
		r = read(err_pipe[0], &child_errno, sizeof(child_errno));
	} while (r < 0 && errno == EINTR);
	close(err_pipe[0]);
	if (r == (ssize_t)sizeof(child_errno)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&tracked_lock);
		tracked_forget(pid);
		pthread_mutex_unlock(&tracked_lock);
		close(out_pipe[0]);
		rc = err_fail(err, err_cap, -child_errno, "could not execute \"%s\": %s", path,
			      strerror(child_errno));
		goto out_free_proc;
	}

	int fl = fcntl(out_pipe[0], F_GETFL);
	fcntl(out_pipe[0], F_SETFL, fl | O_NONBLOCK);
	p->pid = pid;
	p->out_fd = out_pipe[0];
	p->start_ms = clock_mono_ms();
	p->timeout_ms = timeout_ms;
	p->deadline_ms = timeout_ms > 0 ? p->start_ms + timeout_ms : 0;
	log_debug("started \"%s\" as pid %d", p->name, (int)pid);
	free(env);
	*out = p;
	return 0;

out_close_err:
	close(err_pipe[0]);
	close(err_pipe[1]);
out_close_out:
	close(out_pipe[0]);
	close(out_pipe[1]);
out_free_proc:
	free(p);
out_free_env:
	free(env);
	return rc;
}

int proc_launch(const char *const argv[], const char *const env_add[], const char *log_path,
		char *err, size_t err_cap)
{
	if (!log_path || !log_path[0])
		return err_fail(err, err_cap, -EINVAL, "invalid command");
	const char **env;
	char path[PROC_PATH_MAX];
	int rc = prepare_exec(argv, env_add, &env, path, err, err_cap);
	if (rc < 0)
		return rc;
	int err_pipe[2];
	if (pipe2(err_pipe, O_CLOEXEC) != 0) {
		rc = err_fail(err, err_cap, -errno, "could not create pipe: %s", strerror(errno));
		goto out_free_env;
	}
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		rc = err_fail(err, err_cap, -errno, "could not open /dev/null: %s",
			      strerror(errno));
		goto out_close_err;
	}
	int logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (logfd < 0) {
		rc = err_fail(err, err_cap, -errno, "could not open \"%s\": %s", log_path,
			      strerror(errno));
		goto out_close_null;
	}
	struct rlimit nofile;
	int fd_max = PROC_FD_SCAN_MAX;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (rlim_t)fd_max)
		fd_max = (int)nofile.rlim_cur;

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		/* Child: async-signal-safe calls only. A session of its own, as pg_ctl gives the
		 * postmaster: no signal meant for the agent's group or terminal reaches it. */
		setsid();
		child_exec(devnull, logfd, err_pipe[1], fd_max, path, argv, env);
	}
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(logfd);
	close(devnull);
	close(err_pipe[1]);
	err_pipe[1] = -1;
	if (pid < 0) {
		rc = err_fail(err, err_cap, -fork_errno, "could not fork for \"%s\": %s", argv[0],
			      strerror(fork_errno));
		goto out_close_err;
	}
	/* The pipe closes on exec (success) or carries the child's errno (failure). */
	int child_errno = 0;
	ssize_t r;
	do {
		r = read(err_pipe[0], &child_errno, sizeof(child_errno));
	} while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(child_errno)) {
		/* Reaped here unless proc_reap_orphans took it first. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		rc = err_fail(err, err_cap, -child_errno, "could not execute \"%s\": %s", path,
			      strerror(child_errno));
		goto out_close_err;
	}
	log_debug("launched \"%s\" as pid %d", path, (int)pid);
	rc = (int)pid;
	goto out_close_err;

out_close_null:
	close(devnull);
out_close_err:
	close(err_pipe[0]);
	if (err_pipe[1] >= 0)
		close(err_pipe[1]);
out_free_env:
	free(env);
	return rc;
}

static void finish_line(struct proc *p)
{
	if (p->line_len == 0)
		return;
	p->line[p->line_len] = '\0';
	log_debug("%s: %s%s", p->name, p->line, p->line_overflow ? "..." : "");
	memcpy(p->last_line, p->line, p->line_len + 1);
	p->line_len = 0;
	p->line_overflow = false;
}

static void take_output(struct proc *p, const char *data, size_t n)
{
	size_t room = PROC_OUTPUT_MAX - p->out_len;
	size_t keep = n < room ? n : room;
	memcpy(p->out + p->out_len, data, keep);
	p->out_len += keep;
	p->out[p->out_len] = '\0';
	p->dropped += n - keep;
	for (size_t i = 0; i < n; i++) {
		char c = data[i];
		if (c == '\n' || c == '\r') {
			finish_line(p);
		} else if (p->line_len + 1 < sizeof(p->line)) {
			p->line[p->line_len++] = c == '\0' ? ' ' : c;
		} else {
			p->line_overflow = true;
		}
	}
}

/* Reads what the pipe holds now; closes it at EOF. */
static void drain(struct proc *p)
{
	char chunk[4096];
	while (p->out_fd >= 0) {
		ssize_t r = read(p->out_fd, chunk, sizeof(chunk));
		if (r > 0) {
			take_output(p, chunk, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(p->out_fd); /* EOF or a real error: either way nothing more comes */
		p->out_fd = -1;
	}
}

static void fill_result(struct proc *p)
{
	struct proc_result *res = &p->result;
	memset(res, 0, sizeof(*res));
	res->elapsed_ms = clock_mono_ms() - p->start_ms;
	res->timed_out = p->timed_out;
	res->cancelled = p->cancelled;
	if (WIFEXITED(p->wstatus)) {
		res->exited = true;
		res->exit_code = WEXITSTATUS(p->wstatus);
	} else if (WIFSIGNALED(p->wstatus)) {
		res->signal = WTERMSIG(p->wstatus);
	}
	int n;
	if (p->timed_out)
		n = snprintf(res->reason, sizeof(res->reason),
			     "\"%s\" timed out after %lld s and was killed", p->name,
			     (long long)((p->timeout_ms + 999) / 1000));
	else if (p->cancelled)
		n = snprintf(res->reason, sizeof(res->reason), "\"%s\" was cancelled", p->name);
	else if (res->exited)
		n = snprintf(res->reason, sizeof(res->reason), "\"%s\" exited with status %d",
			     p->name, res->exit_code);
	else
		n = snprintf(res->reason, sizeof(res->reason), "\"%s\" was killed by signal %d",
			     p->name, res->signal);
	(void)n; /* name is at most PROC_NAME_MAX, so the reason always fits */
}

static void signal_group(struct proc *p, int sig)
{
	if (p->pid > 0 && !p->reaped) {
		if (killpg(p->pid, sig) != 0)
			kill(p->pid, sig);
	}
}

/* Sends TERM, then KILL after the grace, as the deadline or a cancel demands. */
static void enforce(struct proc *p, int64_t now)
{
	if (p->reaped)
		return;
	if (!p->timed_out && !p->cancelled && p->deadline_ms > 0 && now >= p->deadline_ms) {
		p->timed_out = true;
		log_debug("\"%s\" (pid %d) passed its deadline of %lld ms, killing it", p->name,
			  (int)p->pid, (long long)p->timeout_ms);
	}
	if ((p->timed_out || p->cancelled) && p->term_sent_ms == 0) {
		signal_group(p, SIGTERM);
		signal_group(p, SIGCONT);
		p->term_sent_ms = now > 0 ? now : 1;
	}
	if (p->term_sent_ms > 0 && !p->kill_sent && now - p->term_sent_ms >= PROC_KILL_GRACE_MS) {
		signal_group(p, SIGKILL);
		p->kill_sent = true;
	}
}

static void try_reap(struct proc *p)
{
	if (p->reaped)
		return;
	int st = 0;
	pid_t r;
	pthread_mutex_lock(&tracked_lock);
	do {
		r = waitpid(p->pid, &st, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno == ECHILD) {
		/* proc_reap_orphans took it first: its status waits in the table. */
		const struct tracked *t = tracked_find(p->pid);

		st = t != NULL && t->reaped ? t->wstatus : 0;
	}
	if (r == p->pid || (r < 0 && errno == ECHILD))
		tracked_forget(p->pid);
	pthread_mutex_unlock(&tracked_lock);
	if (r == p->pid || (r < 0 && errno == ECHILD)) {
		p->reaped = true;
		p->wstatus = st;
		/* The group may hold grandchildren (a postmaster started by pg_ctl keeps running
		 * on purpose); after a timeout or cancel, they go too. */
		if (p->timed_out || p->cancelled)
			killpg(p->pid, SIGKILL);
	}
}

int proc_poll(struct proc *p, int64_t wait_ms)
{
	if (p->done)
		return 0;
	int64_t until = clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	for (;;) {
		int64_t now = clock_mono_ms();
		enforce(p, now);
		drain(p);
		try_reap(p);
		if (p->reaped) {
			/* Grandchildren may keep the pipe open: take what is there and stop. */
			drain(p);
			if (p->out_fd >= 0) {
				close(p->out_fd);
				p->out_fd = -1;
			}
			if (p->line_len > 0)
				finish_line(p);
			fill_result(p);
			p->done = true;
			log_debug("%s", p->result.reason);
			p->pid = 0;
			return 0;
		}
		if (now >= until)
			return -EINPROGRESS;
		int64_t slice = until - now;
		if (slice > PROC_POLL_SLICE_MS)
			slice = PROC_POLL_SLICE_MS;
		if (p->out_fd >= 0) {
			struct pollfd pfd = { .fd = p->out_fd, .events = POLLIN };
			poll(&pfd, 1, (int)slice);
		} else {
			clock_sleep_ms(slice);
		}
	}
}

bool proc_done(const struct proc *p)
{
	return p->done;
}

bool proc_ok(const struct proc *p)
{
	return p->done && p->result.exited && p->result.exit_code == 0 && !p->result.timed_out &&
	       !p->result.cancelled;
}

const struct proc_result *proc_get_result(const struct proc *p)
{
	return &p->result;
}

const char *proc_output(const struct proc *p)
{
	return p->out;
}

size_t proc_output_dropped(const struct proc *p)
{
	return p->dropped;
}

const char *proc_last_line(const struct proc *p)
{
	return p->last_line;
}

int proc_pid(const struct proc *p)
{
	return p->done ? 0 : (int)p->pid;
}

void proc_cancel(struct proc *p)
{
	if (p->done)
		return;
	p->cancelled = true;
	int64_t give_up = clock_mono_ms() + PROC_KILL_GRACE_MS + 1000;
	while (proc_poll(p, PROC_POLL_SLICE_MS) == -EINPROGRESS) {
		if (clock_mono_ms() >= give_up) {
			/* KILL went out at the grace; a child that is still not reaped is in
			 * uninterruptible sleep. Stop waiting: it will be a zombie until exit. */
			log_debug("\"%s\" (pid %d) did not die after SIGKILL", p->name,
				  (int)p->pid);
			if (p->out_fd >= 0) {
				close(p->out_fd);
				p->out_fd = -1;
			}
			pthread_mutex_lock(&tracked_lock);
			tracked_forget(p->pid); /* its zombie is an orphan's from now on */
			pthread_mutex_unlock(&tracked_lock);
			p->wstatus = SIGKILL; /* reported as killed by signal 9 */
			p->reaped = true;
			fill_result(p);
			p->done = true;
			p->pid = 0;
			return;
		}
	}
}

void proc_free(struct proc *p)
{
	if (!p)
		return;
	proc_cancel(p);
	if (p->out_fd >= 0)
		close(p->out_fd);
	free(p);
}

int proc_run(const char *const argv[], const char *const env_add[], int64_t timeout_ms,
	     struct proc_result *result, char *output, size_t output_cap, char *err, size_t err_cap)
{
	if (timeout_ms <= 0 || !result)
		return err_fail(err, err_cap, -EINVAL, "a command needs a timeout");
	struct proc *p;
	int rc = proc_start(&p, argv, env_add, timeout_ms, err, err_cap);
	if (rc < 0)
		return rc;
	while (proc_poll(p, 1000) == -EINPROGRESS)
		;
	*result = p->result;
	if (output && output_cap > 0) {
		size_t n = p->out_len < output_cap - 1 ? p->out_len : output_cap - 1;
		memcpy(output, p->out, n);
		output[n] = '\0';
	}
	proc_free(p);
	return 0;
}

int proc_reap_orphans(void)
{
	int n = 0;

	pthread_mutex_lock(&tracked_lock);
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, WNOHANG);
		struct tracked *t;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* none exited (0) or no children at all (ECHILD) */
		t = tracked_find(r);
		if (t != NULL) {
			t->reaped = true;
			t->wstatus = st;
		} else {
			n++;
		}
	}
	pthread_mutex_unlock(&tracked_lock);
	return n;
}
