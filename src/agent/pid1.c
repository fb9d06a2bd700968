/*
 * pid1.c - when the agent is PID 1 (a container started without an init such as tini), it
 * splits in two before anything else starts: PID 1 stays a minimal init that reaps every orphan
 * (the postmaster pg_ctl daemonizes is one) and forwards signals, and the agent runs as its only
 * child. Reaping in a separate process keeps the agent's own waitpid() on the children it spawns
 * (tasks, callbacks) from racing a reaper for their exit statuses; and a killed postmaster is
 * reaped at once instead of staying a zombie that kill(pid, 0) counts as alive.
 * Wherever it runs, the agent is also a child subreaper (agent_become_subreaper), so the
 * postmaster it starts and what a crashed one leaves behind are its own children to reap.
 */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* PID 1's loop: never returns; exits with the agent's status once it has ended. */
static void init_loop(pid_t agent, const sigset_t *all)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(all, &si);

		if (sig < 0)
			continue; /* EINTR */
		if (sig != SIGCHLD) {
			/* Forward what an operator or the runtime sends (TERM, INT, HUP, ...). */
			kill(agent, sig);
			continue;
		}
		for (;;) {
			int status;
			pid_t p = waitpid(-1, &status, WNOHANG);

			if (p <= 0)
				break;
			if (p == agent)
				_exit(WIFEXITED(status)
					      ? WEXITSTATUS(status)
					      : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
		}
	}
}

void agent_split_if_pid1(void)
{
	sigset_t all, old;
	pid_t agent;

	if (getpid() != 1)
		return;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	agent = fork();
	if (agent < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_warning(
			"running as PID 1 without an init: could not fork a reaper (%s); orphans "
			"will not be reaped",
			errno == EAGAIN ? "too many processes" : "out of memory");
		return;
	}
	if (agent == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	init_loop(agent, &all);
}

void agent_become_subreaper(void)
{
	/* pg_ctl start forks the postmaster and exits, so the postmaster would be reparented to
	 * init, and so would the backends of a postmaster that crashed. An init that reaps them
	 * late (about once a second on some hosts) keeps a dead postmaster a zombie, which
	 * PostgreSQL's lock file check takes for alive: the restart waits for it. As a subreaper the
	 * agent inherits them and reaps them itself at once (db_postmaster_exited, db_start). */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0)
		log_warning("could not become a child subreaper (%s): a crashed postmaster is "
			    "restarted only once this process's init reaps it",
			    strerror(errno));
}
