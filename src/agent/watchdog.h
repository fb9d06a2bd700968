/*
 * watchdog.h - Patroni's watchdog as the second line behind the guardian (issue 14 item 2;
 * docs/timing.md, "Watchdog").
 *
 * Patroni's semantics: watchdog.mode off / automatic / required, watchdog.device (default
 * /dev/watchdog), watchdog.safety_margin (default 5 s; -1 = ttl / 2). The device is activated
 * when this node is about to act as the leader (before it promotes), with the timeout
 * ttl - safety_margin in whole seconds, right after a keepalive of the lease sent for it (opening
 * starts it: its first timeout counts from there like a ping's, and is cut when the proof is
 * older); it is kept alive by every keepalive of the leader's lease that moves the fence deadline
 * forward, and disabled with the magic close ('V') on demotion,
 * release, pause and a clean shutdown. With "required", a node that cannot activate it does not
 * promote (it releases the key, or demotes when it runs as a primary), reports
 * "watchdog_failed": true in /patroni when the device is unusable, and is no failover candidate.
 *
 * Who holds the device: the guardian (guardian.h). The agent opens and configures it (so a
 * "required" failure is known before the promotion) and hands the open file over the guardian's
 * socket; the guardian pings it when the deadline moved and disables it once it fenced
 * PostgreSQL. So the watchdog fires only when the guardian could not fence, or when the guardian
 * itself is frozen (the whole node), never merely because the agent froze.
 */
#ifndef GSHA_WATCHDOG_H
#define GSHA_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ha_policy;
struct agent;
struct cfg;

/* A ping is given up when it would let the watchdog fire later than this before the earliest
 * end of the lease in etcd (the keepalive's send time + ttl): the watchdog then fires at the
 * previous ping's timeout, still before the lease can have expired. */
#define WATCHDOG_LEASE_SLACK_MS 100
/* How long the agent waits for the guardian to take the opened device over. */
#define WATCHDOG_HANDOVER_MS 1000

/* --- The pure timing (unit-tested) ------------------------------------------------------- */

enum watchdog_timing {
	WATCHDOG_TIMING_OK, /* fires after the guardian fenced, before the lease can end */
	/* safe for the lease, but may fire before the guardian would have fenced: "required"
	 * refuses it, "automatic" warns and uses it */
	WATCHDOG_TIMING_EARLY,
	WATCHDOG_TIMING_UNSAFE /* cannot hold: timeout < 1 s or shorter than the pings' gaps */
};

/* Patroni's timeout in whole seconds (the device's unit, rounded down so it never fires later):
 * ttl - safety_margin, or ttl / 2 when safety_margin_ms is -1. 0 when that is under 1 s. */
int watchdog_timeout_s(int64_t ttl_ms, int64_t safety_margin_ms);

/* Checks the watchdog's timing against the policy: the timeout must be at least 1 s and longer
 * than the gap between two of the leader's keepalives (the interval plus one attempt's bound,
 * Patroni's "loop_wait" rule); it fires before the guardian fences when the timeout ends before
 * the fence deadline plus the guardian's grace and its immediate shutdown. why (may be NULL)
 * says what does not fit. */
enum watchdog_timing watchdog_check_timing(const struct ha_policy *policy, int64_t safety_margin_ms,
					   char *why, size_t cap);

/* The safety_margin (ms) with the longest timeout whose timing holds (WATCHDOG_TIMING_OK) for
 * the policy, or -1 when none does (the lease is too short for a fence and a later reset). */
int64_t watchdog_safety_margin_hint_ms(const struct ha_policy *policy);

/* The latest instant the watchdog may fire for the fence deadline deadline_ms (monotonic):
 * WATCHDOG_LEASE_SLACK_MS before the lease that proved the deadline can end in etcd (deadline +
 * the fence margin = the proving keepalive's send time + ttl). 0 when deadline_ms is. */
int64_t watchdog_fire_by_ms(const struct ha_policy *policy, int64_t deadline_ms);

/* Until when a ping is allowed for the fence deadline deadline_ms (monotonic): a ping at now
 * lets the watchdog fire at now + timeout_s, which must come by watchdog_fire_by_ms. 0 when
 * deadline_ms is. */
int64_t watchdog_ping_limit_ms(const struct ha_policy *policy, int64_t deadline_ms, int timeout_s);

/* The timeout to open the device with at now_ms (opening it starts it, like a ping) so that it
 * fires by fire_by_ms: timeout_s, or the whole seconds left when the proof is older than a ping
 * would be (the guardian sets timeout_s at its next ping); 0 when not even 1 s is left: no
 * activation on that proof. */
int watchdog_first_timeout_s(int timeout_s, int64_t fire_by_ms, int64_t now_ms);

/* --- The device (the Linux watchdog API) ------------------------------------------------- */

/* Opens device, checks it can be configured (WDIOF_SETTIMEOUT, else its fixed timeout must not
 * exceed timeout_s) and stopped (WDIOF_MAGICCLOSE: *can_stop false otherwise), sets and reads
 * back the timeout (*actual_s) and pings it once. On success *fd_out is the open device (the
 * watchdog runs from here). Returns 0 or a negative errno with msg filled. */
int watchdog_open(const char *device, int timeout_s, int *fd_out, int *actual_s, bool *can_stop,
		  char *identity, size_t identity_cap, char *msg, size_t cap);

/* One keepalive (WDIOC_KEEPALIVE). 0 or a negative errno. */
int watchdog_keepalive(int fd);

/* Disables the watchdog (the magic close: 'V', then close). Closes fd in any case. 0 or a
 * negative errno (the device may stay running). */
int watchdog_magic_close(int fd);

/* Whether device is there and writable (Patroni's is_healthy for "required"). */
bool watchdog_device_usable(const char *device);

/* --- The agent's side -------------------------------------------------------------------- */

/* "required" with a timing that does not hold on bootstrap.dcs's values (the keepalive schedule
 * included; cfg_validate checked Patroni's own rules): -EINVAL with err filled, else 0. */
int watchdog_check_config(const struct cfg *c, char *err, size_t cap);

/* Patroni's "not watchdog capable" (mode required only): the timing cannot hold, the device is
 * missing or not writable, or an activation with the current timeout failed. Such a member
 * reports "watchdog_failed": true and is no failover candidate (it neither races nor
 * bootstraps, as nofailover). policy: this cycle's. */
bool watchdog_failed_now(const struct agent *a, const struct ha_policy *policy);

/* Called by the loop every cycle before the action (run.c, guard): armed says whether this node
 * acts as the leader now. Activates the watchdog (hands it to the guardian) when it is armed and
 * not active; with "required", a failure changes the cycle's action to a release of the key (or
 * an immediate demotion of a running primary) and returns false (not armed any more). Keeps
 * a->watchdog_failed (REST's "watchdog_failed") up to date. Returns whether to stay armed. */
bool watchdog_guard(struct agent *a, bool armed);

#endif
