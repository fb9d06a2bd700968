/*
 * ha_decide_primary.c - the rules for a running primary holding the key: a manual failover or
 * switchover (step down when a candidate can take over) and writing the initialize key;
 * synchronous replication is in ha_decide_sync.c.
 */
#include "ha_decide_internal.h"

#include <string.h>

/* The leader's handling of the failover key. Returns true when it chose an action. */
static bool leader_failover(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_failover *fo = &in->dcs.failover;
	bool switchover;

	if (!fo->present)
		return false;
	if (fo->scheduled_at_wall_ms > 0) {
		int64_t delta = ssub(fo->scheduled_at_wall_ms, in->now_wall_ms);

		if (c->paused) {
			hd_act(c, HA_ACT_CLEAR_FAILOVER,
			       "clearing a scheduled switchover: not in pause");
			return true;
		}
		if (in->now_wall_ms <= 0) {
			hd_act(c, HA_ACT_NONE,
			       "scheduled switchover waits for a wall clock reading");
			return true;
		}
		if (delta > 0) {
			hd_set_wake(c, sadd(in->now_ms, delta));
			hd_act(c, HA_ACT_NONE,
			       "no action: I am the leader with the lock; switchover scheduled in "
			       "%lld ms",
			       (long long)delta);
			return true;
		}
		if (ssub(0, delta) > sadd(in->policy.loop_wait_ms, in->policy.loop_wait_ms / 2)) {
			hd_act(c, HA_ACT_CLEAR_FAILOVER,
			       "clearing a stale scheduled switchover (%lld ms overdue)",
			       (long long)ssub(0, delta));
			return true;
		}
	}
	if (name_set(fo->leader) && !name_eq(fo->leader, c->me)) {
		hd_act(c, HA_ACT_CLEAR_FAILOVER,
		       "clearing the failover key: it asks \"%.*s\" to step down, but I am the "
		       "leader",
		       NP, fo->leader);
		return true;
	}
	if (name_eq(fo->candidate, c->me)) {
		hd_act(c, HA_ACT_CLEAR_FAILOVER,
		       "clearing the failover key: its candidate is me, the leader");
		return true;
	}
	if (c->paused && !name_set(fo->candidate)) {
		hd_act(c, HA_ACT_CLEAR_FAILOVER,
		       "clearing the failover key: a switchover in pause needs a candidate");
		return true;
	}
	switchover = name_set(fo->leader);
	if (name_set(fo->candidate)) {
		const struct ha_member *m = hd_member_named(c, fo->candidate);

		/* A failover may pick a lagging or asynchronous node; a switchover may not. */
		if (!m || !hd_member_can_take_over(c, m, switchover, in->db.lsn, switchover)) {
			hd_act(c, HA_ACT_CLEAR_FAILOVER,
			       "clearing the failover key: candidate \"%.*s\" is not healthy", NP,
			       fo->candidate);
			return true;
		}
		hd_demote(c, HA_DEMOTE_GRACEFUL, fo->candidate);
		hd_act(c, HA_ACT_DEMOTE, "switchover to \"%.*s\": demoting myself", NP,
		       fo->candidate);
		return true;
	}
	if (!hd_failover_possible(c, in->db.lsn, true)) {
		hd_act(c, HA_ACT_CLEAR_FAILOVER,
		       "clearing the failover key: no healthy member to switch over to");
		return true;
	}
	hd_demote(c, HA_DEMOTE_GRACEFUL, NULL);
	hd_act(c, HA_ACT_DEMOTE, "switchover: demoting myself");
	return true;
}

void hd_decide_primary(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!c->holder) {
		/* Only reachable in pause: outside it, must_fence demoted us already. */
		if (in->dcs.leader_present) {
			hd_act(c, HA_ACT_NONE,
			       "running as primary while \"%.*s\" holds the leader key", NP,
			       in->dcs.leader);
			return;
		}
		if (in->self.tags.nofailover) {
			hd_act(c, HA_ACT_NONE,
			       "running as primary without the leader key; tagged nofailover");
			return;
		}
		hd_race(c, "running as primary without the leader key: racing for it");
		return;
	}
	if (!c->holder_ok) {
		hd_act(c, HA_ACT_NONE, "running as primary, but cannot prove my leader lease");
		return;
	}
	if (leader_failover(c))
		return;
	if (name_set(in->db.sysid) &&
	    (!in->dcs.initialize_present || !name_set(in->dcs.initialize))) {
		hd_act(c, HA_ACT_WRITE_INITIALIZE,
		       "writing my system identifier into the initialize key");
		return;
	}
	if (c->paused) {
		hd_act(c, HA_ACT_NONE, "no action: I am the leader with the lock");
		return;
	}
	if (in->policy.standby_cluster) {
		/* Patroni's demote-cluster: the primary restarts as the standby leader. */
		hd_demote(c, HA_DEMOTE_CLUSTER, NULL);
		hd_act(c, HA_ACT_DEMOTE,
		       "demoting to a standby cluster: standby_cluster is set (demote-cluster)");
		return;
	}
	if (hd_leader_sync(c))
		return;
	hd_act(c, HA_ACT_NONE, "no action: I am the leader with the lock");
}
