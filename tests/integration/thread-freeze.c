/*
 * thread-freeze.c - a test tool: stops ONE thread of a process (by default its main thread,
 * whose tid is the pid) for a number of seconds while the process's other threads run on, then
 * lets it go. ptrace(PTRACE_SEIZE) + PTRACE_INTERRUPT stop only the traced thread, unlike SIGSTOP,
 * which stops the whole thread group. ha_lease_thread.sh uses it to hang the HA loop of an agent
 * while its lease thread keeps running (issue 14).
 *
 *   thread-freeze TID SECONDS
 *
 * Prints "frozen <unix ns>" once the thread is in its ptrace stop and "thawed <unix ns>" after
 * the detach. Exit status 0, or 1 with a message when the thread could not be stopped or let go.
 * Needs CAP_SYS_PTRACE or the same user (and a permissive yama ptrace_scope).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The longest freeze the tool accepts: a test that wants more has a bug. */
#define FREEZE_MAX_S 600

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Waits (bounded) for the tracee's PTRACE_EVENT_STOP; any other stop (a signal arriving) is
 * passed on with PTRACE_CONT and waited for again. */
static int wait_for_interrupt(pid_t tid)
{
	for (int tries = 0; tries < 100; tries++) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!WIFSTOPPED(status))
			return -ESRCH; /* it exited */
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* a signal-delivery stop: deliver the signal, then interrupt again */
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(status)) != 0 ||
		    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0)
			return -errno;
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	long tid, seconds;
	struct timespec left;
	int rc;

	if (argc != 3 || parse_long(argv[1], 1, INT32_MAX, &tid) != 0 ||
	    parse_long(argv[2], 0, FREEZE_MAX_S, &seconds) != 0) {
		fprintf(stderr, "usage: thread-freeze TID SECONDS (0..%d)\n", FREEZE_MAX_S);
		return 1;
	}
	if (ptrace(PTRACE_SEIZE, (pid_t)tid, NULL, NULL) != 0) {
		fprintf(stderr, "thread-freeze: PTRACE_SEIZE %ld: %s\n", tid, strerror(errno));
		return 1;
	}
	if (ptrace(PTRACE_INTERRUPT, (pid_t)tid, NULL, NULL) != 0) {
		fprintf(stderr, "thread-freeze: PTRACE_INTERRUPT %ld: %s\n", tid, strerror(errno));
		return 1;
	}
	rc = wait_for_interrupt((pid_t)tid);
	if (rc != 0) {
		fprintf(stderr, "thread-freeze: thread %ld did not stop: %s\n", tid, strerror(-rc));
		return 1;
	}
	printf("frozen %" PRId64 "\n", wall_ns());
	fflush(stdout);
	left.tv_sec = seconds;
	left.tv_nsec = 0;
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
	if (ptrace(PTRACE_DETACH, (pid_t)tid, NULL, NULL) != 0) {
		fprintf(stderr, "thread-freeze: PTRACE_DETACH %ld: %s\n", tid, strerror(errno));
		return 1;
	}
	printf("thawed %" PRId64 "\n", wall_ns());
	return 0;
}
