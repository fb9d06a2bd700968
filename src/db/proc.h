/*
 * proc.h - run an external command as a child process with a deadline.
 *
 * Every external command the agent runs (pg_ctl, initdb, pg_basebackup, pg_rewind, gs_ctl, ...)
 * goes through here. The child runs in a process group of its own, with stdin from /dev/null and
 * stdout and stderr captured into one bounded buffer; each complete output line is also logged
 * at debug. When the deadline passes, the whole group is killed (TERM, then KILL), so nothing the
 * command started outlives it. The exit status comes back with a human reason.
 *
 * Two ways to use it: proc_run blocks until the command ends or its deadline passes; proc_start
 * plus proc_poll let the HA loop keep working (renewing its lease) while a long command runs.
 * A leaf module: it logs at debug only and returns codes plus caller-owned messages.
 */
#ifndef GSHA_PROC_H
#define GSHA_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most arguments of one command, the program included: our longest (pg_basebackup with the
 * configured options) needs about 30. */
#define PROC_ARGV_MAX 64
/* Most environment additions for one command (PGPASSFILE, LC_ALL, PGCONNECT_TIMEOUT, ...). */
#define PROC_ENV_MAX 16
/* Captured output kept per command: enough for any pg_ctl/initdb/pg_rewind transcript. Output
 * beyond it is dropped (and counted); the log still shows every line at debug. */
#define PROC_OUTPUT_MAX (64 * 1024)
/* Longest reason text, e.g. "\"pg_basebackup\" timed out after 300 s and was killed". */
#define PROC_REASON_MAX 256
/* The last output line is kept for progress reports (pg_basebackup -P rewrites it with \r). */
#define PROC_LINE_MAX 512
/* Grace between TERM and KILL when a deadline passes or a command is cancelled. */
#define PROC_KILL_GRACE_MS 2000

/* How a finished command ended. */
struct proc_result {
	bool exited;	    /* ended by exit(); exit_code is valid */
	int exit_code;	    /* 0..255 when exited */
	int signal;	    /* the signal that ended it when !exited, else 0 */
	bool timed_out;	    /* we killed it because its deadline passed */
	bool cancelled;	    /* we killed it because proc_cancel or proc_free asked */
	int64_t elapsed_ms; /* from start to reaping */
	char reason
		[PROC_REASON_MAX]; /* "\"pg_ctl\" exited with status 1", "... killed by signal 9" */
};

/* A running or finished child. Opaque: owned by whoever called proc_start. */
struct proc;

/* Starts argv[0] (a path, or a name looked up in PATH) with arguments argv[1..] (NULL-terminated)
 * and the agent's environment without its settings (PATRONI_*, GSHA_*: they hold passwords) plus
 * env_add ("NAME=value" strings, NULL-terminated; may be NULL).
 * timeout_ms > 0 is the deadline after which the child's process group is killed; 0 means none
 * (the caller then must cancel it). On success *out owns the handle (release with proc_free).
 * Returns 0, -EINVAL (bad arguments), -E2BIG (too many), or the errno of pipe/fork/exec; err gets
 * a message on failure. */
int proc_start(struct proc **out, const char *const argv[], const char *const env_add[],
	       int64_t timeout_ms, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Collects output and checks for the end of the child, waiting at most wait_ms (0 = just look).
 * Enforces the deadline. Returns 0 once the child has ended and been reaped (see proc_result),
 * or -EINPROGRESS while it still runs. */
int proc_poll(struct proc *p, int64_t wait_ms);

/* True once proc_poll has reaped the child. */
bool proc_done(const struct proc *p);

/* How the child ended; valid only when proc_done. True when it exited with status 0. */
bool proc_ok(const struct proc *p);
const struct proc_result *proc_get_result(const struct proc *p);

/* The captured stdout+stderr so far (NUL-terminated, owned by p), and how many bytes did not
 * fit into PROC_OUTPUT_MAX. */
const char *proc_output(const struct proc *p);
size_t proc_output_dropped(const struct proc *p);

/* The last non-empty output line seen so far (a line ends at \n or \r), "" if none. */
const char *proc_last_line(const struct proc *p);

/* The child's pid (also its process group id), 0 once reaped. */
int proc_pid(const struct proc *p);

/* Kills the child's process group (TERM, then KILL after PROC_KILL_GRACE_MS) and reaps it; blocks
 * at most about PROC_KILL_GRACE_MS + 1 s. The result then says cancelled. No-op when done. */
void proc_cancel(struct proc *p);

/* Cancels the child if it still runs, then frees the handle. Accepts NULL. */
void proc_free(struct proc *p);

/* Reaps every child that has exited and was not started by proc_start (the agent is a child
 * subreaper: an orphaned postmaster or backend is its child); a proc_start child it meets keeps
 * its status for its owner's proc_poll. Never blocks. Returns how many orphans it reaped. */
int proc_reap_orphans(void);

/* Starts argv[0] as a daemon that outlives the call, as "pg_ctl start" starts a postmaster: in a
 * session of its own (setsid), stdin from /dev/null, stdout and stderr appended to log_path
 * (created 0600 if missing), the environment as proc_start builds it. It is not tracked: nothing
 * kills it, and the agent (a child subreaper) reaps it with proc_reap_orphans once it exits.
 * Returns its pid once it runs the program, or a negative errno with a message in err (an exec
 * that failed is reaped before the return). */
int proc_launch(const char *const argv[], const char *const env_add[], const char *log_path,
		char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Runs a command to its end or its deadline (timeout_ms > 0 required) and reports how it ended.
 * When output is not NULL it receives a copy of the captured output (up to output_cap - 1 bytes,
 * the tail is cut; output_cap may be 0). Returns 0 when the command ran (whatever its exit status:
 * see result), or the errno of starting it, with a message in err. */
int proc_run(const char *const argv[], const char *const env_add[], int64_t timeout_ms,
	     struct proc_result *result, char *output, size_t output_cap, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

#endif
