/*
 * test_proc.c - child processes: exit status, output capture, deadlines, signals, cancel.
 * Runs real /bin/sh commands; each is short and every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_CAP 8192
#define ERR_CAP 256

static int run_sh(const char *script, int64_t timeout_ms, struct proc_result *res, char *out)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	char err[ERR_CAP] = "";
	return proc_run(argv, NULL, timeout_ms, res, out, OUT_CAP, err, sizeof(err));
}

static void test_proc_true_exits_zero(void **state)
{
	(void)state;
	struct proc_result res;
	const char *argv[] = { "true", NULL };
	char err[ERR_CAP];
	assert_int_equal(proc_run(argv, NULL, 5000, &res, NULL, 0, err, sizeof(err)), 0);
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 0);
	assert_false(res.timed_out);
	assert_string_equal(res.reason, "\"true\" exited with status 0");
}

static void test_proc_false_reports_status_one(void **state)
{
	(void)state;
	struct proc_result res;
	const char *argv[] = { "/bin/false", NULL };
	char err[ERR_CAP];
	assert_int_equal(proc_run(argv, NULL, 5000, &res, NULL, 0, err, sizeof(err)), 0);
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 1);
	assert_string_equal(res.reason, "\"false\" exited with status 1");
}

static void test_proc_missing_program_fails_to_start(void **state)
{
	(void)state;
	struct proc_result res;
	const char *argv[] = { "/nonexistent/gsha-no-such-program", NULL };
	char err[ERR_CAP] = "";
	int rc = proc_run(argv, NULL, 5000, &res, NULL, 0, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err, "gsha-no-such-program"));

	const char *argv2[] = { "gsha-no-such-program-in-path", NULL };
	assert_int_equal(proc_run(argv2, NULL, 5000, &res, NULL, 0, err, sizeof(err)), -ENOENT);
}

static void test_proc_captures_stdout_and_stderr(void **state)
{
	(void)state;
	struct proc_result res;
	char out[OUT_CAP];
	assert_int_equal(run_sh("echo one; echo two >&2; printf three", 5000, &res, out), 0);
	assert_string_equal(out, "one\ntwo\nthree");
	assert_int_equal(res.exit_code, 0);
}

static void test_proc_env_additions_override(void **state)
{
	(void)state;
	struct proc_result res;
	char out[OUT_CAP];
	char err[ERR_CAP];
	const char *argv[] = { "/bin/sh", "-c", "echo \"$GSHA_T1-$HOME_OVERRIDE_T\"", NULL };
	const char *env[] = { "GSHA_T1=a b", "HOME_OVERRIDE_T=x", NULL };
	assert_int_equal(proc_run(argv, env, 5000, &res, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "a b-x\n");

	const char *bad_env[] = { "NOEQUALS", NULL };
	assert_int_equal(proc_run(argv, bad_env, 5000, &res, out, sizeof(out), err, sizeof(err)),
			 -EINVAL);
}

/* The agent's settings hold passwords; a child (the postmaster, its backends, archive_command)
 * must not find them in its environment (/proc/<pid>/environ). */
static void test_proc_child_environment_has_no_agent_secrets(void **state)
{
	(void)state;
	struct proc_result res;
	char out[OUT_CAP];
	char err[ERR_CAP];
	assert_int_equal(setenv("PATRONI_SUPERUSER_PASSWORD", "leaked1", 1), 0);
	assert_int_equal(setenv("GSHA_RESTAPI_PASSWORD", "leaked2", 1), 0);
	assert_int_equal(setenv("GSHA_TEST_KEEP_PATH", "kept", 1), 0);
	assert_int_equal(setenv("PGTZ_GSHA_TEST", "kept", 1), 0);
	const char *argv[] = { "/bin/sh", "-c", "env | grep -E '^(PATRONI_|GSHA_|PGTZ_GSHA)'",
			       NULL };
	const char *add[] = { "GSHA_T1=explicit", NULL };
	assert_int_equal(proc_run(argv, add, 5000, &res, out, sizeof(out), err, sizeof(err)), 0);
	assert_null(strstr(out, "leaked1"));
	assert_null(strstr(out, "leaked2"));
	assert_null(strstr(out, "GSHA_TEST_KEEP_PATH"));
	assert_non_null(strstr(out, "PGTZ_GSHA_TEST=kept\n"));
	assert_non_null(strstr(out, "GSHA_T1=explicit\n")); /* what the caller adds is passed */
	unsetenv("PATRONI_SUPERUSER_PASSWORD");
	unsetenv("GSHA_RESTAPI_PASSWORD");
	unsetenv("GSHA_TEST_KEEP_PATH");
	unsetenv("PGTZ_GSHA_TEST");
}

static void test_proc_deadline_kills_whole_group(void **state)
{
	(void)state;
	struct proc_result res;
	char out[OUT_CAP];
	/* The grandchild sleep holds the pipe: the group kill must end it too. */
	int64_t t0 = clock_mono_ms();
	assert_int_equal(run_sh("sleep 30 & echo started; wait", 300, &res, out), 0);
	int64_t took = clock_mono_ms() - t0;
	assert_true(res.timed_out);
	assert_false(res.exited);
	assert_int_equal(res.signal, SIGTERM);
	assert_non_null(strstr(res.reason, "timed out after 1 s"));
	assert_string_equal(out, "started\n");
	assert_true(took < 10000); /* bounded: not the 30 s of the sleep */
}

static void test_proc_term_ignoring_child_gets_killed(void **state)
{
	(void)state;
	struct proc_result res;
	char out[OUT_CAP];
	assert_int_equal(
		run_sh("trap '' TERM; echo ready; while :; do sleep 0.05; done", 200, &res, out),
		0);
	assert_true(res.timed_out);
	assert_int_equal(res.signal, SIGKILL);
}

static void test_proc_signal_death_is_reported(void **state)
{
	(void)state;
	struct proc_result res;
	char out[OUT_CAP];
	assert_int_equal(run_sh("kill -9 $$", 5000, &res, out), 0);
	assert_false(res.exited);
	assert_false(res.timed_out);
	assert_int_equal(res.signal, 9);
	assert_string_equal(res.reason, "\"sh\" was killed by signal 9");
}

static void test_proc_large_output_is_bounded(void **state)
{
	(void)state;
	const char *argv[] = { "/bin/sh", "-c",
			       "head -c 200000 /dev/zero | tr '\\0' x; echo; echo end", NULL };
	struct proc *p;
	char err[ERR_CAP];
	assert_int_equal(proc_start(&p, argv, NULL, 10000, err, sizeof(err)), 0);
	while (proc_poll(p, 500) == -EINPROGRESS)
		;
	assert_true(proc_ok(p));
	assert_int_equal(strlen(proc_output(p)), PROC_OUTPUT_MAX);
	assert_int_equal(proc_output_dropped(p), 200000 + 1 + 4 - PROC_OUTPUT_MAX);
	assert_string_equal(proc_last_line(p), "end");
	proc_free(p);
}

static void test_proc_poll_does_not_block_past_wait(void **state)
{
	(void)state;
	const char *argv[] = { "sleep", "5", NULL };
	struct proc *p;
	char err[ERR_CAP];
	assert_int_equal(proc_start(&p, argv, NULL, 0, err, sizeof(err)), 0);
	assert_true(proc_pid(p) > 0);
	int64_t t0 = clock_mono_ms();
	assert_int_equal(proc_poll(p, 50), -EINPROGRESS);
	assert_int_equal(proc_poll(p, 0), -EINPROGRESS);
	assert_true(clock_mono_ms() - t0 < 4000);
	assert_false(proc_done(p));
	int pid = proc_pid(p);
	proc_cancel(p);
	assert_true(proc_done(p));
	assert_true(proc_get_result(p)->cancelled);
	assert_false(proc_ok(p));
	assert_string_equal(proc_get_result(p)->reason, "\"sleep\" was cancelled");
	assert_int_equal(kill(pid, 0), -1); /* reaped, gone */
	proc_free(p);
}

static void test_proc_progress_lines_split_on_carriage_return(void **state)
{
	(void)state;
	const char *argv[] = { "/bin/sh", "-c",
			       "printf '10%%\\r50%%\\r'; sleep 0.2; printf '90%%\\r'", NULL };
	struct proc *p;
	char err[ERR_CAP];
	assert_int_equal(proc_start(&p, argv, NULL, 10000, err, sizeof(err)), 0);
	while (proc_poll(p, 500) == -EINPROGRESS)
		;
	assert_string_equal(proc_last_line(p), "90%");
	proc_free(p);
}

/* The subreaper's reaping of orphans (waitpid(-1)) may come before the owner's poll: the exit
 * status of a proc_start child is kept for it, while an orphan's is only counted. */
static void test_proc_reap_orphans_keeps_the_status_of_started_children(void **state)
{
	(void)state;
	const char *argv[] = { "sh", "-c", "exit 3", NULL };
	struct proc *p;
	char err[256];
	assert_int_equal(proc_start(&p, argv, NULL, 10000, err, sizeof(err)), 0);
	pid_t orphan = fork();
	assert_true(orphan >= 0);
	if (orphan == 0)
		_exit(0);
	int reaped = 0;
	usleep(300 * 1000); /* sh has exited too, usually: then this call takes its status */
	for (int i = 0; i < 500 && reaped == 0; i++) {
		usleep(10 * 1000);
		reaped = proc_reap_orphans();
	}
	assert_int_equal(reaped, 1);
	assert_int_equal(waitpid(orphan, NULL, WNOHANG), -1);
	/* sh exited too by now (or soon): its status still reaches its owner. */
	while (proc_poll(p, 1000) == -EINPROGRESS)
		;
	assert_true(proc_get_result(p)->exited);
	assert_int_equal(proc_get_result(p)->exit_code, 3);
	proc_free(p);
}

static void test_proc_free_accepts_null_and_rejects_bad_args(void **state)
{
	(void)state;
	proc_free(NULL);
	struct proc *p;
	char err[ERR_CAP];
	const char *empty[] = { NULL };
	assert_int_equal(proc_start(&p, empty, NULL, 0, err, sizeof(err)), -EINVAL);
	struct proc_result res;
	const char *argv[] = { "true", NULL };
	assert_int_equal(proc_run(argv, NULL, 0, &res, NULL, 0, err, sizeof(err)), -EINVAL);
}

static void test_proc_child_does_not_inherit_descriptors(void **state)
{
	(void)state;
	int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
	assert_true(fd > 2);
	char script[256];
	snprintf(script, sizeof(script),
		 "if { true <&%d; } 2>/dev/null; then echo leaked; else echo closed; fi", fd);
	struct proc_result res;
	char out[OUT_CAP];
	assert_int_equal(run_sh(script, 5000, &res, out), 0);
	close(fd);
	assert_string_equal(out, "closed\n");
}

/* The contents of path (at most OUT_CAP - 1 bytes), "" when unreadable. */
static void read_file(const char *path, char *out)
{
	out[0] = '\0';
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, OUT_CAP - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
}

/* What the crash restart starts postgres with: a session of its own, output appended to the log
 * (what was there stays), the environment additions, no descriptor of ours; not waited for. */
static void test_proc_launch_detaches_and_appends_to_the_log(void **state)
{
	(void)state;
	char log[] = "/tmp/gsha-test-launch.XXXXXX";
	int fd = mkstemp(log);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "before\n", 7), 7);
	int ours = open("/dev/null", O_RDONLY); /* not close-on-exec: must not reach the child */
	assert_true(ours >= 0);
	char script[256];
	snprintf(script, sizeof(script),
		 "set -- $(cut -d' ' -f6 /proc/$$/stat); [ \"$1\" = $$ ] && echo own-session; "
		 "echo \"$LAUNCH_MARK\"; [ -e /proc/$$/fd/%d ] || echo no-fd",
		 ours);
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	const char *env[] = { "LAUNCH_MARK=marked", NULL };
	char err[ERR_CAP] = "";
	int pid = proc_launch(argv, env, log, err, sizeof(err));
	assert_true(pid > 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid); /* our child: the caller's to reap */
	assert_true(WIFEXITED(status));
	char out[OUT_CAP];
	read_file(log, out);
	assert_string_equal(out, "before\nown-session\nmarked\nno-fd\n");
	close(ours);
	close(fd);
	unlink(log);
}

static void test_proc_launch_reports_a_failed_exec(void **state)
{
	(void)state;
	char log[] = "/tmp/gsha-test-launch.XXXXXX";
	int fd = mkstemp(log);
	assert_true(fd >= 0);
	const char *argv[] = { "/nonexistent/gsha-no-such-program", NULL };
	char err[ERR_CAP] = "";
	assert_int_equal(proc_launch(argv, NULL, log, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "gsha-no-such-program"));
	/* The failed child was reaped: no child is left. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	close(fd);
	unlink(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_true_exits_zero),
		cmocka_unit_test(test_proc_false_reports_status_one),
		cmocka_unit_test(test_proc_missing_program_fails_to_start),
		cmocka_unit_test(test_proc_captures_stdout_and_stderr),
		cmocka_unit_test(test_proc_env_additions_override),
		cmocka_unit_test(test_proc_child_environment_has_no_agent_secrets),
		cmocka_unit_test(test_proc_deadline_kills_whole_group),
		cmocka_unit_test(test_proc_term_ignoring_child_gets_killed),
		cmocka_unit_test(test_proc_signal_death_is_reported),
		cmocka_unit_test(test_proc_large_output_is_bounded),
		cmocka_unit_test(test_proc_poll_does_not_block_past_wait),
		cmocka_unit_test(test_proc_reap_orphans_keeps_the_status_of_started_children),
		cmocka_unit_test(test_proc_progress_lines_split_on_carriage_return),
		cmocka_unit_test(test_proc_free_accepts_null_and_rejects_bad_args),
		cmocka_unit_test(test_proc_child_does_not_inherit_descriptors),
		cmocka_unit_test(test_proc_launch_detaches_and_appends_to_the_log),
		cmocka_unit_test(test_proc_launch_reports_a_failed_exec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
