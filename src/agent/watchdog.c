/*
 * watchdog.c - the watchdog's timing, the Linux watchdog API, and the loop's part: activate
 * before acting as the leader, refuse the leadership with "required" when that fails
 * (watchdog.h, docs/timing.md "Watchdog").
 */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent_state.h"
#include "buf.h"
#include "guardian.h"
#include "ha_decide.h"
#include "log.h"

/* --- Timing ------------------------------------------------------------------------------ */

int watchdog_timeout_s(int64_t ttl_ms, int64_t safety_margin_ms)
{
	int64_t t = safety_margin_ms == -1 ? ttl_ms / 2 : ttl_ms - safety_margin_ms;

	if (t < 1000)
		return 0;
	return t / 1000 > 86400 ? 86400 : (int)(t / 1000);
}

enum watchdog_timing watchdog_check_timing(const struct ha_policy *policy, int64_t safety_margin_ms,
					   char *why, size_t cap)
{
	int timeout_s = watchdog_timeout_s(policy->ttl_ms, safety_margin_ms);
	int64_t t_ms = (int64_t)timeout_s * 1000;
	int64_t gap =
		ha_keepalive_interval_ms(policy, true) + ha_keepalive_timeout_ms(policy, true);
	int64_t margin = ha_fence_margin_ms(policy, policy->ttl_ms);
	char dummy[1];

	if (why == NULL) {
		why = dummy;
		cap = sizeof(dummy);
	}
	why[0] = '\0';
	if (timeout_s < 1) {
		snprintf(why, cap,
			 "the watchdog timeout ttl - safety_margin (%lld ms) is under 1 s, the "
			 "device's smallest unit",
			 (long long)(safety_margin_ms == -1 ? policy->ttl_ms / 2
							    : policy->ttl_ms - safety_margin_ms));
		return WATCHDOG_TIMING_UNSAFE;
	}
	/* Patroni's timing_slack: the device must outlive the gap between two pings. Here the
	 * pings follow the leader's keepalives (and the loop must still come by once). */
	if (t_ms < gap || t_ms < policy->loop_wait_ms) {
		snprintf(why, cap,
			 "the watchdog timeout %d s is shorter than the gap between two keepalives "
			 "of the leader's lease (%lld ms) or loop_wait (%lld ms): it would reset a "
			 "healthy node",
			 timeout_s, (long long)gap, (long long)policy->loop_wait_ms);
		return WATCHDOG_TIMING_UNSAFE;
	}
	/* A ping right after a keepalive must still fire before that lease's end. */
	if (policy->ttl_ms - t_ms < 2 * WATCHDOG_LEASE_SLACK_MS) {
		snprintf(why, cap,
			 "the watchdog timeout %d s leaves less than %d ms before the lease ends: "
			 "no "
			 "ping could be sent in time (raise safety_margin)",
			 timeout_s, 2 * WATCHDOG_LEASE_SLACK_MS);
		return WATCHDOG_TIMING_UNSAFE;
	}
	/* The guardian fences at ttl - margin + grace after the keepalive, and its immediate
	 * shutdown takes up to GUARDIAN_QUIT_WAIT_MS. */
	if (t_ms < policy->ttl_ms - margin + GUARDIAN_GRACE_MS + GUARDIAN_QUIT_WAIT_MS) {
		snprintf(
			why, cap,
			"the watchdog timeout %d s ends before the guardian's fence (%lld ms after "
			"a keepalive, and up to %d ms to stop PostgreSQL): a frozen agent resets "
			"the node instead of only stopping PostgreSQL (lower safety_margin)",
			timeout_s, (long long)(policy->ttl_ms - margin + GUARDIAN_GRACE_MS),
			GUARDIAN_QUIT_WAIT_MS);
		return WATCHDOG_TIMING_EARLY;
	}
	return WATCHDOG_TIMING_OK;
}

int64_t watchdog_safety_margin_hint_ms(const struct ha_policy *policy)
{
	/* The longest timeout that holds leaves the guardian the most time before the reset. */
	for (int64_t t = policy->ttl_ms / 1000; t >= 1; t--)
		if (watchdog_check_timing(policy, policy->ttl_ms - t * 1000, NULL, 0) ==
		    WATCHDOG_TIMING_OK)
			return policy->ttl_ms - t * 1000;
	return -1;
}

int64_t watchdog_fire_by_ms(const struct ha_policy *policy, int64_t deadline_ms)
{
	if (deadline_ms == 0)
		return 0;
	return deadline_ms + ha_fence_margin_ms(policy, policy->ttl_ms) - WATCHDOG_LEASE_SLACK_MS;
}

int64_t watchdog_ping_limit_ms(const struct ha_policy *policy, int64_t deadline_ms, int timeout_s)
{
	if (deadline_ms == 0)
		return 0;
	return watchdog_fire_by_ms(policy, deadline_ms) - (int64_t)timeout_s * 1000;
}

int watchdog_first_timeout_s(int timeout_s, int64_t fire_by_ms, int64_t now_ms)
{
	int64_t left_s;

	if (fire_by_ms <= now_ms)
		return 0;
	left_s = (fire_by_ms - now_ms) / 1000; /* rounded down: never later than fire_by_ms */
	return left_s < timeout_s ? (int)left_s : timeout_s;
}

/* --- The device -------------------------------------------------------------------------- */

int watchdog_open(const char *device, int timeout_s, int *fd_out, int *actual_s, bool *can_stop,
		  char *identity, size_t identity_cap, char *msg, size_t cap)
{
	struct watchdog_info info;
	int fd, rc, t = timeout_s;

	fd = open(device, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(msg, cap, "could not open watchdog device \"%s\": %s", device,
			 strerror(errno));
		return rc;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, WDIOC_GETSUPPORT, &info) != 0) {
		rc = -errno;
		snprintf(msg, cap, "could not read the capabilities of \"%s\": %s", device,
			 strerror(errno));
		goto out_close;
	}
	info.identity[sizeof(info.identity) - 1] = 0;
	buf_copy_or_clear(identity, identity_cap, (const char *)info.identity);
	*can_stop = (info.options & WDIOF_MAGICCLOSE) != 0;
	if ((info.options & WDIOF_SETTIMEOUT) != 0 && ioctl(fd, WDIOC_SETTIMEOUT, &t) != 0) {
		rc = -errno;
		snprintf(msg, cap, "could not set the timeout of \"%s\" to %d s: %s", device,
			 timeout_s, strerror(errno));
		goto out_close;
	}
	t = 0;
	if (ioctl(fd, WDIOC_GETTIMEOUT, &t) != 0) {
		rc = -errno;
		snprintf(msg, cap, "could not read the timeout of \"%s\": %s", device,
			 strerror(errno));
		goto out_close;
	}
	if (t <= 0 || t > timeout_s) {
		rc = -ERANGE;
		snprintf(msg, cap,
			 "\"%s\" runs with a %d s timeout, not the %d s that fires before the "
			 "lease ends%s",
			 device, t, timeout_s,
			 (info.options & WDIOF_SETTIMEOUT) ? "" : " (it cannot set a timeout)");
		goto out_close;
	}
	if (ioctl(fd, WDIOC_KEEPALIVE, &(int){ 0 }) != 0) {
		rc = -errno;
		snprintf(msg, cap, "could not ping \"%s\": %s", device, strerror(errno));
		goto out_close;
	}
	*actual_s = t;
	*fd_out = fd;
	msg[0] = '\0';
	return 0;
out_close:
	(void)watchdog_magic_close(fd);
	return rc;
}

int watchdog_keepalive(int fd)
{
	return ioctl(fd, WDIOC_KEEPALIVE, &(int){ 0 }) == 0 ? 0 : -errno;
}

int watchdog_magic_close(int fd)
{
	int rc = write(fd, "V", 1) == 1 ? 0 : -errno;

	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

bool watchdog_device_usable(const char *device)
{
	return access(device, W_OK) == 0;
}

/* --- The loop's part --------------------------------------------------------------------- */

/* Logs text at level once per distinct text (repeated failures are logged when they change). */
static void log_once(struct agent *a, enum log_level level, const char *text)
{
	if (strcmp(a->wd.logged, text) == 0)
		return;
	buf_copy_or_clear(a->wd.logged, sizeof(a->wd.logged), text);
	log_msg(level, "%s", text);
}

/* Refuses to act as the leader (Patroni's enforce_primary_role): a running primary demotes at
 * once, anything else gives the key back. */
static void refuse_leadership(struct agent *a)
{
	bool primary = a->in->db.is_primary;

	a->out.action = primary ? HA_ACT_DEMOTE : HA_ACT_RELEASE_LEADER;
	a->out.demote_mode = primary ? HA_DEMOTE_IMMEDIATE : HA_DEMOTE_NONE;
	buf_copy_or_clear(a->out.reason, sizeof(a->out.reason),
			  primary ? "demoting self because watchdog could not be activated"
				  : "not promoting self because watchdog could not be activated");
	log_warning("%s", a->out.reason);
}

int watchdog_check_config(const struct cfg *c, char *err, size_t cap)
{
	struct ha_policy p;
	char why[400];

	if (c->watchdog.mode != CFG_WATCHDOG_REQUIRED)
		return 0;
	agent_ha_policy(c, &c->bootstrap.dcs, &p);
	if (watchdog_check_timing(&p, c->watchdog.safety_margin_ms, why, sizeof(why)) ==
	    WATCHDOG_TIMING_OK)
		return 0;
	snprintf(err, cap, "\"watchdog.mode\" is required but %s", why);
	return -EINVAL;
}

bool watchdog_failed_now(const struct agent *a, const struct ha_policy *policy)
{
	const struct cfg *c = a->cfg;
	int timeout_s;

	if (c->watchdog.mode != CFG_WATCHDOG_REQUIRED)
		return false;
	timeout_s = watchdog_timeout_s(policy->ttl_ms, c->watchdog.safety_margin_ms);
	return watchdog_check_timing(policy, c->watchdog.safety_margin_ms, NULL, 0) !=
		       WATCHDOG_TIMING_OK ||
	       !watchdog_device_usable(c->watchdog.device) ||
	       (a->wd.failed_timeout_s != 0 && a->wd.failed_timeout_s == timeout_s);
}

/* Says once what the operator can do about a timing that does not hold: the safety_margin that
 * would, or that none does at this ttl. */
static void timing_hint(const struct ha_policy *policy, char *out, size_t cap)
{
	int64_t sm = watchdog_safety_margin_hint_ms(policy);

	if (sm >= 0)
		snprintf(out, cap, "set watchdog.safety_margin to %lld.%03lld (s) to use it",
			 (long long)(sm / 1000), (long long)(sm % 1000));
	else
		snprintf(out, cap,
			 "no watchdog.safety_margin fits ttl %lld ms: raise ttl, or set "
			 "watchdog.mode to off to run on the guardian alone",
			 (long long)policy->ttl_ms);
}

/* Activates the watchdog on a fresh proof of the lease: Patroni refreshes its lease right before
 * it takes the key and activates the watchdog in that same cycle, and every later ping here
 * follows a keepalive that moved the deadline; opening the device starts it, so an activation on
 * the replica's last keepalive (up to ttl / 2 old) would run past the lease's end. A keepalive
 * that does not come within one attempt's bound leaves the older proof, on which the first
 * timeout is cut (watchdog_first_timeout_s) or the activation refused (-ETIME). */
static int activate(struct agent *a, int timeout_s, char *why, size_t cap)
{
	const struct ha_policy *policy = &a->in->policy;
	int64_t proof = 0;

	if (lease_renew_now(a->lease, ha_keepalive_timeout_ms(policy, true), &proof) != 0)
		log_warning("watchdog: no keepalive of the lease answered within %lld ms before "
			    "the activation: its first timeout counts from the last one",
			    (long long)ha_keepalive_timeout_ms(policy, true));
	if (proof == 0) {
		snprintf(why, cap, "no keepalive of the lease proves this node's leadership");
		return -ETIME;
	}
	return guardian_watchdog_activate(a->guardian, a->cfg->watchdog.device, timeout_s,
					  watchdog_fire_by_ms(policy, proof), why, cap);
}

bool watchdog_guard(struct agent *a, bool armed)
{
	const struct cfg *c = a->cfg;
	bool required = c->watchdog.mode == CFG_WATCHDOG_REQUIRED;
	int timeout_s = watchdog_timeout_s(a->in->policy.ttl_ms, c->watchdog.safety_margin_ms);
	enum watchdog_timing timing;
	char why[400], hint[200], line[1200];
	int rc;

	if (c->watchdog.mode == CFG_WATCHDOG_OFF) {
		a->watchdog_failed = false;
		return armed;
	}
	timing = watchdog_check_timing(&a->in->policy, c->watchdog.safety_margin_ms, why,
				       sizeof(why));
	/* Patroni's is_healthy (required only): a usable device and a timing that holds; an
	 * activation that failed stays failed until the timeout it was tried with changes. */
	if (a->wd.failed_timeout_s != 0 && a->wd.failed_timeout_s != timeout_s)
		a->wd.failed_timeout_s = 0;
	a->watchdog_failed = watchdog_failed_now(a, &a->in->policy);
	guardian_watchdog_tune(a->guardian, timeout_s,
			       watchdog_ping_limit_ms(&a->in->policy, 1, timeout_s) - 1);
	if (!armed) {
		guardian_watchdog_disable(a->guardian);
		return armed;
	}
	if (guardian_watchdog_active(a->guardian))
		return armed;
	/* "automatic" without a device (a container, a host without softdog): nothing to time;
	 * said once, as cfg_validate stays silent on the timing then too. */
	if (!required && access(c->watchdog.device, F_OK) != 0) {
		snprintf(
			line, sizeof(line),
			"watchdog: no device \"%s\": leading without a watchdog (mode: "
			"automatic; the guardian alone fences a frozen agent; set watchdog.mode to "
			"off where none is meant to be used)",
			c->watchdog.device);
		log_once(a, LOG_LEVEL_INFO, line);
		return armed;
	}
	timing_hint(&a->in->policy, hint, sizeof(hint));
	/* "required" holds to the order too: the guardian fences first (docs/timing.md). */
	if (timing == WATCHDOG_TIMING_UNSAFE || (required && timing == WATCHDOG_TIMING_EARLY)) {
		snprintf(line, sizeof(line), "watchdog: %s: %s; %s", why,
			 required ? "refusing the leadership (mode: required)"
				  : "running without the watchdog (mode: automatic)",
			 hint);
		log_once(a, required ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, line);
		if (!required)
			return armed;
		refuse_leadership(a);
		return false;
	}
	if (!required && a->wd.failed_timeout_s == timeout_s)
		return armed; /* automatic: tried once for this timeout, runs without it */
	rc = activate(a, timeout_s, why, sizeof(why));
	if (rc == 0) {
		a->wd.failed_timeout_s = 0;
		if (timing == WATCHDOG_TIMING_EARLY) {
			(void)watchdog_check_timing(&a->in->policy, c->watchdog.safety_margin_ms,
						    why, sizeof(why));
			snprintf(line, sizeof(line), "watchdog: %s; %s", why, hint);
			log_once(a, LOG_LEVEL_WARNING, line);
		}
		return armed;
	}
	/* A proof too old to start the device on is this cycle's, not the device's: "automatic"
	 * tries again next cycle (the lease thread renews meanwhile). */
	if (rc != -ETIME)
		a->wd.failed_timeout_s = timeout_s;
	snprintf(line, sizeof(line), "watchdog: %s: %s", why,
		 required ? "refusing the leadership (mode: required)"
			  : "running without the watchdog (mode: automatic)");
	log_once(a, required ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, line);
	if (!required)
		return armed;
	a->watchdog_failed = true;
	refuse_leadership(a);
	return false;
}
