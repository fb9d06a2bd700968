/*
 * ha_timing.c - the fencing and timing rules of docs/timing.md: the fence margin and deadline, the
 * leader's deadline for its next decision, the stall limit, the lease thread's schedule and
 * heartbeat bound, and Patroni's rule between ttl, loop_wait and retry_timeout.
 */
#include "ha_decide_internal.h"

#include <errno.h>
#include <stdio.h>

int64_t ha_fence_margin_ms(const struct ha_policy *policy, int64_t ttl_ms)
{
	return sadd(policy->retry_timeout_ms,
		    sadd(ttl_ms, HA_DRIFT_DIVISOR - 1) / HA_DRIFT_DIVISOR);
}

int64_t ha_fence_deadline_ms(const struct ha_policy *policy, int64_t renewed_ms,
			     int64_t granted_ttl_ms)
{
	int64_t ttl = policy->ttl_ms;

	/* etcd may grant more than we asked (its minimum TTL); never count on more than either. */
	if (granted_ttl_ms > 0 && granted_ttl_ms < ttl)
		ttl = granted_ttl_ms;
	return ssub(sadd(renewed_ms, ttl), ha_fence_margin_ms(policy, ttl));
}

/* The time a leader's next cycle has before its proof runs out: the cycle starts about
 * loop_wait after the keepalive (or failsafe round) that proves it, and the proof holds until
 * ttl - margin after that. Patroni's rule keeps it at least retry_timeout - ttl/100. */
static int64_t cycle_slack_ms(const struct ha_policy *policy)
{
	return ssub(ssub(policy->ttl_ms, ha_fence_margin_ms(policy, policy->ttl_ms)),
		    policy->loop_wait_ms);
}

int64_t ha_failsafe_ping_timeout_ms(const struct ha_policy *policy)
{
	int64_t t = policy->retry_timeout_ms < HA_FAILSAFE_PING_MAX_MS ? policy->retry_timeout_ms
								       : HA_FAILSAFE_PING_MAX_MS;
	int64_t half = cycle_slack_ms(policy) / 2;

	/* The round must fit after the cycle's etcd calls and before the proof runs out: it gets
	 * at most half of the slack, the calls the other half (docs/timing.md, "Failsafe mode"). */
	if (half < t)
		t = half;
	if (t < HA_FAILSAFE_PING_MIN_MS)
		t = HA_FAILSAFE_PING_MIN_MS;
	/* Never longer than retry_timeout: every ack must come while the lease still binds the
	 * key in etcd (docs/timing.md, "Failsafe mode"). */
	return t < policy->retry_timeout_ms ? t : policy->retry_timeout_ms;
}

int64_t ha_leader_proof_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			   int64_t lease_ttl_ms, int64_t failsafe_acked_ms)
{
	int64_t f = 0, ff;

	if (lease_renewed_ms > 0)
		f = ha_fence_deadline_ms(policy, lease_renewed_ms, lease_ttl_ms);
	if (policy->failsafe_mode && failsafe_acked_ms > 0) {
		ff = ha_fence_deadline_ms(policy, failsafe_acked_ms, 0);
		if (ff > f)
			f = ff;
	}
	return f;
}

int64_t ha_leader_deadline_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			      int64_t lease_ttl_ms, int64_t failsafe_acked_ms)
{
	int64_t f = ha_leader_proof_ms(policy, lease_renewed_ms, lease_ttl_ms, failsafe_acked_ms);

	if (!policy->failsafe_mode || f == 0)
		return f;
	/* Failsafe mode: whichever proof holds longer, the decision must come one round of pings
	 * before it runs out, so that the round asked when etcd stops answering (a keepalive that
	 * times out, not only one that fails fast) still ends while the proof holds. */
	f = ssub(f, ha_failsafe_ping_timeout_ms(policy));
	return f > 0 ? f : 1;
}

int64_t ha_leader_call_cap_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			      int64_t lease_ttl_ms, int64_t failsafe_acked_ms, int64_t now_ms)
{
	int64_t f =
		ha_leader_deadline_ms(policy, lease_renewed_ms, lease_ttl_ms, failsafe_acked_ms);
	int64_t proof;

	if (f == 0 || f > now_ms)
		return f;
	if (!policy->failsafe_mode)
		return 0;
	/* Late for a whole round (a slow cycle, or etcd fell silent after this cycle's keepalive
	 * and the leader's writes spent the time): the calls get half of what is left of the
	 * proof, the round the other half (it is cut to end there), rather than the call all of it
	 * and the round nothing. */
	proof = sadd(f, ha_failsafe_ping_timeout_ms(policy));
	if (proof <= now_ms)
		return 0;
	return sadd(now_ms, max64((proof - now_ms) / 2, 1));
}

int64_t ha_stall_limit_ms(const struct ha_policy *policy)
{
	int64_t cycle = sadd(policy->loop_wait_ms, policy->retry_timeout_ms);

	return sadd(cycle, cycle);
}

/* The fence window: how long a renewal proves the lease, counted from its send time. */
static int64_t fence_window_ms(const struct ha_policy *policy)
{
	return ssub(policy->ttl_ms, ha_fence_margin_ms(policy, policy->ttl_ms));
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The leader's attempt bound: what the window W leaves beside loop_wait and one retry slot,
 * halved (the failed attempt and its retry), at least HA_KEEPALIVE_TIMEOUT_MIN_MS, at most
 * retry_timeout. */
static int64_t leader_timeout_ms(const struct ha_policy *policy)
{
	int64_t k =
		ssub(ssub(fence_window_ms(policy), policy->loop_wait_ms), HA_KEEPALIVE_RETRY_MS) /
		2;

	if (k < HA_KEEPALIVE_TIMEOUT_MIN_MS)
		k = HA_KEEPALIVE_TIMEOUT_MIN_MS;
	return min64(k, policy->retry_timeout_ms);
}

/* The leader's interval before the floor: loop_wait, or less where a failed attempt and its
 * answered retry would not fit in the window after it (W - retry slot - 2 x K). */
static int64_t leader_interval_ms(const struct ha_policy *policy)
{
	int64_t fit = ssub(ssub(fence_window_ms(policy), HA_KEEPALIVE_RETRY_MS),
			   sadd(leader_timeout_ms(policy), leader_timeout_ms(policy)));

	return min64(policy->loop_wait_ms, fit);
}

int64_t ha_keepalive_interval_ms(const struct ha_policy *policy, bool leading)
{
	int64_t interval;

	if (leading)
		interval = leader_interval_ms(policy);
	else /* ttl / 2, and a replica that starts leading still has an attempt and a retry slot
	      * left in its window (W - K_leader - retry slot) */
		interval = min64(policy->ttl_ms / 2,
				 ssub(ssub(fence_window_ms(policy), leader_timeout_ms(policy)),
				      HA_KEEPALIVE_RETRY_MS));
	return interval < HA_KEEPALIVE_MIN_MS ? HA_KEEPALIVE_MIN_MS : interval;
}

int64_t ha_keepalive_timeout_ms(const struct ha_policy *policy, bool leading)
{
	int64_t k;

	if (leading)
		return leader_timeout_ms(policy);
	/* The member key's lease must outlive a failed attempt and its retry: I + 2 K + retry
	 * slot <= ttl. */
	k = ssub(ssub(policy->ttl_ms, ha_keepalive_interval_ms(policy, false)),
		 HA_KEEPALIVE_RETRY_MS) /
	    2;
	if (k < HA_KEEPALIVE_TIMEOUT_MIN_MS)
		k = HA_KEEPALIVE_TIMEOUT_MIN_MS;
	return min64(k, policy->retry_timeout_ms);
}

int64_t ha_keepalive_due_ms(const struct ha_policy *policy, bool leading, int64_t last_ok_sent_ms,
			    int64_t failed_end_ms)
{
	if (failed_end_ms > 0)
		return sadd(failed_end_ms, HA_KEEPALIVE_RETRY_MS);
	if (last_ok_sent_ms <= 0)
		return 0;
	return sadd(last_ok_sent_ms, ha_keepalive_interval_ms(policy, leading));
}

int64_t ha_heartbeat_bound_ms(const struct ha_policy *policy)
{
	int64_t twice_ttl = sadd(policy->ttl_ms, policy->ttl_ms), stall = ha_stall_limit_ms(policy);

	return twice_ttl > stall ? twice_ttl : stall;
}

int ha_policy_check(const struct ha_policy *policy, char *err, size_t errlen)
{
	int64_t need;

	if (policy->ttl_ms <= 0 || policy->loop_wait_ms <= 0 || policy->retry_timeout_ms <= 0) {
		snprintf(err, errlen,
			 "\"ttl\", \"loop_wait\" and \"retry_timeout\" must be positive");
		return -EINVAL;
	}
	/* Patroni's rule: it lets a leader see one failed renewal and still fence in time. */
	need = sadd(policy->loop_wait_ms, sadd(policy->retry_timeout_ms, policy->retry_timeout_ms));
	if (policy->ttl_ms < need) {
		snprintf(err, errlen,
			 "\"ttl\": %lld ms is too short: it must be at least loop_wait + 2 x "
			 "retry_timeout = %lld ms",
			 (long long)policy->ttl_ms, (long long)need);
		return -EINVAL;
	}
	/* The leader's schedule must hold: every interval of at least HA_KEEPALIVE_MIN_MS, a
	 * failed attempt and its retry, both bounded, answered inside the fence window. */
	if (leader_interval_ms(policy) < HA_KEEPALIVE_MIN_MS) {
		snprintf(err, errlen,
			 "\"retry_timeout\": %lld ms is too long for ttl %lld ms: the leader's "
			 "keepalive (every min(loop_wait, ...) >= %d ms), a failed attempt and its "
			 "retry (each bounded by %lld ms) must all be answered within the fence "
			 "window ttl - retry_timeout - ttl/100 = %lld ms; lower retry_timeout or "
			 "raise ttl",
			 (long long)policy->retry_timeout_ms, (long long)policy->ttl_ms,
			 HA_KEEPALIVE_MIN_MS, (long long)leader_timeout_ms(policy),
			 (long long)fence_window_ms(policy));
		return -EINVAL;
	}
	if (policy->synchronous_mode && policy->synchronous_node_count < 1) {
		snprintf(err, errlen, "\"synchronous_node_count\" must be at least 1");
		return -EINVAL;
	}
	return 0;
}
