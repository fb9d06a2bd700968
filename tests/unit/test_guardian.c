/*
 * Unit tests for the guardian (src/agent/guardian.c): its pure deadline logic, and the real
 * process against a stand-in postmaster (a sleep whose working directory is the data directory
 * and whose pid a postmaster.pid names, which is what the identity check looks at).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "guardian.h"

/* Every wait of these tests has this bound; none asserts on how long something took. */
#define WAIT_BOUND_MS 20000

static void test_disarmed_waits_until_woken(void **state)
{
	int64_t sleep_ms = 0;

	(void)state;
	assert_int_equal(GUARDIAN_WAIT, guardian_decide(0, 0, false, false, 1000, &sleep_ms));
	assert_int_equal(-1, sleep_ms);
}

static void test_deadline_fences_after_the_grace_once(void **state)
{
	int64_t sleep_ms = -1;

	(void)state;
	/* Armed: it sleeps up to the fire time (deadline + grace) in one go, not beyond it. */
	assert_int_equal(GUARDIAN_WAIT, guardian_decide(10000, 0, false, false, 1000, &sleep_ms));
	assert_int_equal(9000 + GUARDIAN_GRACE_MS, sleep_ms);
	assert_int_equal(GUARDIAN_WAIT, guardian_decide(10000, 0, false, false, 10000, &sleep_ms));
	assert_int_equal(GUARDIAN_GRACE_MS, sleep_ms);
	assert_int_equal(GUARDIAN_WAIT, guardian_decide(10000, 0, false, false,
							10000 + GUARDIAN_GRACE_MS - 1, &sleep_ms));
	assert_int_equal(1, sleep_ms);
	assert_int_equal(
		GUARDIAN_FENCE_DEADLINE,
		guardian_decide(10000, 0, false, false, 10000 + GUARDIAN_GRACE_MS, &sleep_ms));
	/* Fenced for that deadline: not again, while it stays unmoved. */
	assert_int_equal(GUARDIAN_WAIT,
			 guardian_decide(10000, 10000, false, false, 50000, &sleep_ms));
	assert_int_equal(-1, sleep_ms);
	/* The agent came back and leads again: the new deadline counts. */
	assert_int_equal(
		GUARDIAN_FENCE_DEADLINE,
		guardian_decide(60000, 10000, false, false, 60000 + GUARDIAN_GRACE_MS, &sleep_ms));
}

static void test_moved_deadline_does_not_fence(void **state)
{
	int64_t sleep_ms;

	(void)state;
	/* The agent moved it forward before it passed: nothing happens at the old one. */
	assert_int_equal(GUARDIAN_WAIT, guardian_decide(20000, 0, false, false,
							10000 + GUARDIAN_GRACE_MS, &sleep_ms));
	assert_int_equal(10000, sleep_ms);
}

static void test_agent_gone(void **state)
{
	int64_t sleep_ms;

	(void)state;
	/* Armed: its deadline still holds; the guardian waits for it, then fences. */
	assert_int_equal(GUARDIAN_WAIT, guardian_decide(90000, 0, true, false, 1000, &sleep_ms));
	/* ... looking in the meantime whether a new agent took the page over. */
	assert_int_equal(GUARDIAN_RETRY_MS, sleep_ms);
	assert_int_equal(
		GUARDIAN_FENCE_AGENT_GONE,
		guardian_decide(90000, 0, true, false, 90000 + GUARDIAN_GRACE_MS, &sleep_ms));
	/* A restarted agent took the page over before: nothing to do. */
	assert_int_equal(GUARDIAN_EXIT, guardian_decide(90000, 0, true, true, 1000, &sleep_ms));
	assert_int_equal(GUARDIAN_EXIT, guardian_decide(90000, 0, true, true, 95000, &sleep_ms));
	/* Disarmed (not leader, paused, planned shutdown): just exit. */
	assert_int_equal(GUARDIAN_EXIT, guardian_decide(0, 0, true, false, 1000, &sleep_ms));
	/* Already fenced for this deadline: nothing more to fence. */
	assert_int_equal(GUARDIAN_EXIT, guardian_decide(9000, 9000, true, false, 1000, &sleep_ms));
	assert_string_equal("fence: agent gone", guardian_verdict_name(GUARDIAN_FENCE_AGENT_GONE));
}

/* --- Against real processes ---------------------------------------------------------------- */

struct fake_pm {
	char dir[64];
	pid_t pid;
};

/* Starts a stand-in postmaster in a new temporary data directory; deaf_to_quit: it ignores
 * SIGQUIT (an ignored disposition survives exec), as a postmaster stuck in its shutdown would. */
static void fake_pm_start_as(struct fake_pm *pm, bool deaf_to_quit)
{
	char path[128], text[256];
	FILE *f;

	assert_int_equal(0, buf_copy(pm->dir, sizeof(pm->dir), "/tmp/gsha-guardian-XXXXXX"));
	assert_non_null(mkdtemp(pm->dir));
	pm->pid = fork();
	assert_true(pm->pid >= 0);
	if (pm->pid == 0) {
		/* Set either way: a shell's background job (CI runs under one) starts with SIGQUIT
		 * ignored, and the stand-in would inherit that through exec. */
		signal(SIGQUIT, deaf_to_quit ? SIG_IGN : SIG_DFL);
		if (chdir(pm->dir) == 0)
			execl("/bin/sleep", "sleep", "120", (char *)NULL);
		_exit(127);
	}
	/* After the fork: the start time must not lie before the process started. */
	assert_int_equal(0,
			 buf_format(text, sizeof(text), "%d\n%s\n%lld\n5432\n/tmp\n*\n1 2\nready\n",
				    (int)pm->pid, pm->dir, (long long)time(NULL)));
	assert_int_equal(0, buf_format(path, sizeof(path), "%s/postmaster.pid", pm->dir));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(0, fclose(f));
	/* Until exec has set the working directory, the identity check would say "another
	 * process". */
	for (int i = 0; i < WAIT_BOUND_MS / 10; i++) {
		char link[128], cwd[128];
		ssize_t n;

		assert_int_equal(0, buf_format(link, sizeof(link), "/proc/%d/cwd", (int)pm->pid));
		n = readlink(link, cwd, sizeof(cwd) - 1);
		if (n > 0 && (cwd[n] = '\0', strcmp(cwd, pm->dir) == 0))
			break;
		clock_sleep_ms(10);
	}
}

static void fake_pm_start(struct fake_pm *pm)
{
	fake_pm_start_as(pm, false);
}

/* Waits (bounded) for pid to end; returns its wait status, or -1 when it did not end. */
static int wait_end(pid_t pid)
{
	int status;

	for (int i = 0; i < WAIT_BOUND_MS / 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		clock_sleep_ms(10);
	}
	return -1;
}

static void fake_pm_done(struct fake_pm *pm)
{
	char path[128];

	if (pm->pid > 0 && waitpid(pm->pid, NULL, WNOHANG) == 0) {
		kill(pm->pid, SIGKILL);
		(void)waitpid(pm->pid, NULL, 0);
	}
	assert_int_equal(0, buf_format(path, sizeof(path), "%s/postmaster.pid", pm->dir));
	unlink(path);
	/* A page a test's dead agent left behind (a clean stop removes its own). */
	if (guardian_page_path(pm->dir, path, sizeof(path)) == 0)
		unlink(path);
	rmdir(pm->dir);
}

static void test_fences_when_the_deadline_passes(void **state)
{
	struct fake_pm pm;
	struct guardian *g;
	int status;

	(void)state;
	fake_pm_start(&pm);
	g = guardian_start(pm.dir);
	assert_non_null(g);
	guardian_set_deadline(g, clock_mono_ms() - 1);
	status = wait_end(pm.pid);
	assert_true(status != -1);
	/* The immediate shutdown: SIGQUIT (sleep dies of it; a postmaster shuts down). */
	assert_true(WIFSIGNALED(status));
	assert_int_equal(SIGQUIT, WTERMSIG(status));
	pm.pid = 0;
	guardian_stop(g);
	fake_pm_done(&pm);
}

static void test_kills_a_postmaster_that_ignores_the_immediate_shutdown(void **state)
{
	struct fake_pm pm;
	struct guardian *g;
	int status;

	(void)state;
	fake_pm_start_as(&pm, true);
	g = guardian_start(pm.dir);
	assert_non_null(g);
	guardian_set_deadline(g, clock_mono_ms() - 1);
	status = wait_end(pm.pid);
	assert_true(status != -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(SIGKILL, WTERMSIG(status));
	pm.pid = 0;
	guardian_stop(g);
	fake_pm_done(&pm);
}

/* A child that plays the agent: starts a guardian, arms it for armed_for_ms (0: not), reports the guardian's pid
 * on fd and waits to be killed. */
static pid_t fake_agent(const char *dir, int64_t armed_for_ms, pid_t *guardian)
{
	int fds[2];
	pid_t pid;
	int gpid = 0;

	assert_int_equal(0, pipe(fds));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct guardian *g = guardian_start(dir);

		close(fds[0]);
		gpid = guardian_pid(g);
		if (armed_for_ms > 0)
			guardian_set_deadline(g, clock_mono_ms() + armed_for_ms);
		if (write(fds[1], &gpid, sizeof(gpid)) != (ssize_t)sizeof(gpid))
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal((ssize_t)sizeof(gpid), read(fds[0], &gpid, sizeof(gpid)));
	close(fds[0]);
	assert_true(gpid > 0);
	*guardian = gpid;
	return pid;
}

static void test_earlier_deadline_wakes_the_guardian(void **state)
{
	struct fake_pm pm;
	struct guardian *g;
	int status;

	(void)state;
	fake_pm_start(&pm);
	g = guardian_start(pm.dir);
	assert_non_null(g);
	/* Armed an hour ahead, it sleeps until then; an earlier deadline must wake it. */
	guardian_set_deadline(g, clock_mono_ms() + 3600 * 1000);
	guardian_set_deadline(g, clock_mono_ms() - 1);
	status = wait_end(pm.pid);
	assert_true(status != -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(SIGQUIT, WTERMSIG(status));
	pm.pid = 0;
	guardian_stop(g);
	fake_pm_done(&pm);
}

/* The guardian's voluntary context switches so far (each sleep that ended is one). */
static long guardian_switches(pid_t pid)
{
	char path[64], line[256];
	long n = -1;
	FILE *f;

	assert_int_equal(0, buf_format(path, sizeof(path), "/proc/%d/status", (int)pid));
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	assert_true(n >= 0);
	return n;
}

/* Disarmed, and armed with a deadline far ahead that the agent keeps moving forward, the
 * guardian sleeps through: it has no periodic wake (an idle cluster costs it no CPU). */
static void test_idle_guardian_does_not_wake(void **state)
{
	struct fake_pm pm;
	struct guardian *g;
	long before, after;
	int64_t deadline;

	(void)state;
	fake_pm_start(&pm);
	g = guardian_start(pm.dir);
	assert_non_null(g);
	/* Armed once (one wake), then only moved forward and disarmed: no more wakes. */
	deadline = clock_mono_ms() + 3600 * 1000;
	guardian_set_deadline(g, deadline);
	/* Until it has taken that wake and gone back to sleep (bounded). */
	before = guardian_switches(guardian_pid(g));
	for (int i = 0; i < WAIT_BOUND_MS / 100; i++) {
		clock_sleep_ms(100);
		after = guardian_switches(guardian_pid(g));
		if (after == before && after > 0)
			break;
		before = after;
	}
	for (int i = 0; i < 5; i++) {
		clock_sleep_ms(100);
		guardian_set_deadline(g, deadline + 1000 * (i + 1));
	}
	guardian_disarm(g);
	clock_sleep_ms(300);
	after = guardian_switches(guardian_pid(g));
	assert_int_equal(before, after);
	assert_int_equal(0, waitpid(pm.pid, NULL, WNOHANG)); /* nothing was fenced */
	guardian_stop(g);
	fake_pm_done(&pm);
}

static void test_fences_when_an_armed_agent_dies(void **state)
{
	struct fake_pm pm;
	pid_t agent, guardian;
	int status;

	(void)state;
	fake_pm_start(&pm);
	agent = fake_agent(pm.dir, 300, &guardian);
	kill(agent, SIGKILL);
	assert_true(wait_end(agent) != -1);
	/* No agent takes over: fenced at the dead agent's deadline. */
	status = wait_end(pm.pid);
	assert_true(status != -1);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(SIGQUIT, WTERMSIG(status));
	pm.pid = 0;
	/* It exits once it fenced (reparented to this subreaper). */
	assert_true(wait_end(guardian) != -1);
	fake_pm_done(&pm);
}

static void test_restarted_agent_takes_over_from_a_dead_one(void **state)
{
	struct fake_pm pm;
	struct guardian *g;
	pid_t agent, guardian;

	(void)state;
	fake_pm_start(&pm);
	/* Far enough ahead that the takeover comes first even on a loaded machine. */
	agent = fake_agent(pm.dir, 60000, &guardian);
	kill(agent, SIGKILL);
	assert_true(wait_end(agent) != -1);
	/* This process plays the restarted agent: its guardian takes the page over ... */
	g = guardian_start(pm.dir);
	assert_non_null(g);
	/* ... and the dead agent's guardian exits without fencing. */
	assert_true(wait_end(guardian) != -1);
	assert_int_equal(0, waitpid(pm.pid, NULL, WNOHANG));
	guardian_stop(g);
	assert_int_equal(0, waitpid(pm.pid, NULL, WNOHANG));
	fake_pm_done(&pm);
}

static void test_disarmed_agent_death_fences_nothing(void **state)
{
	struct fake_pm pm;
	pid_t agent, guardian;

	(void)state;
	fake_pm_start(&pm);
	agent = fake_agent(pm.dir, 0, &guardian);
	kill(agent, SIGKILL);
	assert_true(wait_end(agent) != -1);
	/* The guardian exits on the EOF ... */
	assert_true(wait_end(guardian) != -1);
	/* ... and left the postmaster alone. */
	assert_int_equal(0, waitpid(pm.pid, NULL, WNOHANG));
	fake_pm_done(&pm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disarmed_waits_until_woken),
		cmocka_unit_test(test_deadline_fences_after_the_grace_once),
		cmocka_unit_test(test_moved_deadline_does_not_fence),
		cmocka_unit_test(test_agent_gone),
		cmocka_unit_test(test_fences_when_the_deadline_passes),
		cmocka_unit_test(test_kills_a_postmaster_that_ignores_the_immediate_shutdown),
		cmocka_unit_test(test_earlier_deadline_wakes_the_guardian),
		cmocka_unit_test(test_idle_guardian_does_not_wake),
		cmocka_unit_test(test_fences_when_an_armed_agent_dies),
		cmocka_unit_test(test_restarted_agent_takes_over_from_a_dead_one),
		cmocka_unit_test(test_disarmed_agent_death_fences_nothing),
	};

	/* guardian_start spawns /proc/self/exe: this binary plays the agent's. */
	if (argc >= 2 && strcmp(argv[1], GUARDIAN_ARG) == 0)
		return guardian_process_main(argc, argv);
	/* Orphaned guardians come back to this process, so a test can see them exit. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
