/*
 * guardian.h - a separate process that fences PostgreSQL when the agent cannot (issue 14 item 2).
 *
 * The agent's own fencing (docs/timing.md) runs in the agent's loop: a frozen agent (SIGSTOP, a
 * hung call, a VM pause of the process) or a dead one never gets there, and its PostgreSQL keeps
 * acknowledging commits after the lease it no longer renews lets another node promote. The
 * guardian is the agent's own binary started again (posix_spawn of /proc/self/exe with
 * GUARDIAN_ARG: no fork() of the threaded agent) and holds nothing but a deadline (in a
 * MAP_SHARED page: CLOCK_MONOTONIC is the same clock in both processes), the data directory, the
 * postmaster's pid and start time for the identity check, and the watchdog device when the
 * agent handed it one (watchdog.h). It never waits for the agent to answer:
 * - armed with the leader's fence deadline, it fences PostgreSQL (immediate shutdown, then a
 *   kill of the postmaster and its children, db_fence_target) once the deadline plus
 *   GUARDIAN_GRACE_MS passed without the agent moving it forward;
 * - it learns of the agent's death at once (EOF on a socket whose other end only the agent holds); when
 *   it was armed, it fences at the dead agent's deadline unless an agent restarted meanwhile took
 *   the page over (the page is a file per data directory, GUARDIAN_PAGE_DIR), then exits;
 * - disarmed (not the leader, pause mode, a planned shutdown or release), it does nothing
 *   (and disables the watchdog it holds);
 * - when it dies (kill -9), a watcher thread of the agent sees it on a pidfd and starts a new
 *   one at once, which finds the deadline in the page (and gets the watchdog again).
 */
#ifndef GSHA_GUARDIAN_H
#define GSHA_GUARDIAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* After the fence deadline, how long the guardian leaves the agent to act on it itself: a live
 * agent wakes at its deadline and, unable to renew, disarms the guardian before it demotes.
 * Far inside the fence margin (retry_timeout + ttl / 100, at least 1 s), which is what is
 * left before another node may take over. */
#define GUARDIAN_GRACE_MS 100
/* How long an immediate shutdown may take before the postmaster and its children are killed. */
#define GUARDIAN_QUIT_WAIT_MS 500
/* How soon the guardian tries a fence again that failed (the postmaster could not be identified
 * or signalled), and how often a dead agent's armed guardian looks whether a new agent took its
 * page over. It has no other periodic wake: disarmed, it sleeps in poll() until the agent
 * arms it (a byte on the socket) or dies (EOF); armed, it sleeps until the deadline plus
 * GUARDIAN_GRACE_MS and reads the deadline again then (the agent only moves it forward while
 * armed, and wakes the guardian when it sets an earlier one; a disarm needs no wake). */
#define GUARDIAN_RETRY_MS 100

/* The agent's first argument that makes it the guardian (main.c): gsha --guardian DATA_DIR
 * AGENT_PID LOG_LEVEL, with its socket on fd 3 and the shared page on fd 4. */
#define GUARDIAN_ARG "--guardian"

struct guardian;

/* The guardian process's main (main.c hands over when argv[1] is GUARDIAN_ARG). Its exit code. */
int guardian_process_main(int argc, char **argv);

/* Starts the guardian for the server in data_dir, taking the data directory's page over from a
 * dead predecessor's guardian (which then exits), and the thread that starts it again when it
 * dies. Returns NULL, with a warning logged, when it could not (the agent runs on without it). */
struct guardian *guardian_start(const char *data_dir);

/* Arms the guardian with the leader's fence deadline (monotonic ms): it fences PostgreSQL
 * GUARDIAN_GRACE_MS after it, and when the agent dies. 0 disarms. Wakes the guardian (one byte
 * on the socket, never blocking) only when the deadline is set from 0 or moved back; moving it
 * forward or disarming costs the guardian no wake. g may be NULL. */
void guardian_set_deadline(struct guardian *g, int64_t fence_deadline_ms);

/* Disarms the guardian: it fences nothing, and exits quietly when the agent exits. */
void guardian_disarm(struct guardian *g);

/* Called by the agent once a cycle: logs, once, that the guardian fenced (while the agent was
 * frozen) or that it is gone. g may be NULL. */
void guardian_poll(struct guardian *g);

/* The path of data_dir's shared page file (GUARDIAN_PAGE_DIR), named after data_dir as given.
 * 0 or -ENAMETOOLONG. */
int guardian_page_path(const char *data_dir, char *out, size_t cap);

/* Sets the timeout the watchdog should run with (applied by the guardian at its next ping) and
 * the offset from the fence deadline until which a ping is allowed (watchdog_ping_limit_ms). */
void guardian_watchdog_tune(struct guardian *g, int timeout_s, int64_t ping_offset_ms);

/* Opens device (watchdog_open), hands it to the guardian and waits (at most
 * WATCHDOG_HANDOVER_MS) until it holds it; a respawned guardian gets it again until the next
 * disarm. Opening starts the device, so its first timeout is timeout_s, or less so that it fires
 * by fire_by_ms (watchdog_fire_by_ms of the proof it is opened on; watchdog_first_timeout_s);
 * the guardian sets timeout_s at its next ping. 0, -ETIME when fire_by_ms leaves less than 1 s,
 * or another negative errno, with msg filled. */
int guardian_watchdog_activate(struct guardian *g, const char *device, int timeout_s,
			       int64_t fire_by_ms, char *msg, size_t cap);

/* Asks the guardian to disable the watchdog it holds (the magic close): this node does not
 * lead. A disarm does too; this covers a device handed over and never armed. */
void guardian_watchdog_disable(struct guardian *g);

/* Whether a guardian holds an active watchdog. */
bool guardian_watchdog_active(const struct guardian *g);

/* What /metrics shows of the guardian and the watchdog. */
struct guardian_stats {
	uint64_t respawns;	   /* guardians started again after one died */
	bool watchdog_active;	   /* a guardian holds the watchdog */
	uint64_t watchdog_pings;   /* keepalives sent (by every guardian of the data directory) */
	uint64_t watchdog_skipped; /* pings given up as too late for the lease */
	uint64_t watchdog_closes;  /* magic closes */
};

/* Fills *out (zeros for g NULL). */
void guardian_stats(const struct guardian *g, struct guardian_stats *out);

/* The guardian's pid, 0 once it is gone. */
int guardian_pid(const struct guardian *g);

/* Disarms the guardian (unless a newer agent owns the page), closes the socket (the guardian exits) and reaps it within a bound.
 * Accepts NULL. */
void guardian_stop(struct guardian *g);

/* --- The pure deadline logic (unit-tested) ------------------------------------------------- */

enum guardian_verdict {
	GUARDIAN_WAIT,		   /* sleep (*sleep_ms, -1 = until woken) and look again */
	GUARDIAN_FENCE_DEADLINE,   /* the deadline passed unmoved: fence, then keep watching */
	GUARDIAN_FENCE_AGENT_GONE, /* the agent died armed and its deadline passed: fence, exit */
	GUARDIAN_EXIT,		   /* the agent is gone and there is nothing (more) to fence */
};

const char *guardian_verdict_name(enum guardian_verdict v);

/* What the guardian does now. deadline_ms: the shared fence deadline, 0 = disarmed.
 * fenced_for_ms: the deadline it last fenced for (0 = none), so one missed deadline fences
 * once. agent_gone: the socket reported EOF. superseded: a new agent (after this one died) owns
 * the shared page. A dead agent's deadline still holds: the guardian fences when it passes
 * (GUARDIAN_FENCE_AGENT_GONE, then exits), unless a new agent took over first, as a restarted
 * Patroni takes over its predecessor's watchdog; nothing else could take over before it.
 * *sleep_ms is set for GUARDIAN_WAIT: until the fire time (deadline + GUARDIAN_GRACE_MS) when
 * armed, -1 (until the agent wakes it or dies) when not; at most GUARDIAN_RETRY_MS once the
 * agent is gone (a new agent's takeover wakes nothing). */
enum guardian_verdict guardian_decide(int64_t deadline_ms, int64_t fenced_for_ms, bool agent_gone,
				      bool superseded, int64_t now_ms, int64_t *sleep_ms);

#endif
