/*
 * ha_decide_primary.c - the rules for a running primary holding the key: a manual failover or
 * switchover (step down when a candidate can take over), writing the initialize key, and
 * synchronous replication (which standbys to name, and the sync key that records them).
 */
#include "ha_decide_internal.h"

#include <string.h>

/* Same members, order ignored. */
static bool names_same(const struct ha_names *a, const struct ha_names *b)
{
	int na = clamp_count(a->count), nb = clamp_count(b->count);

	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!hd_names_has(b, a->name[i]))
			return false;
	return true;
}

static void names_add(struct ha_names *set, const char *name)
{
	int n = clamp_count(set->count);

	if (n >= HA_MEMBERS_MAX || hd_names_has(set, name))
		return;
	memcpy(set->name[n], name, MEMBER_NAME_MAX);
	set->name[n][MEMBER_NAME_MAX - 1] = '\0';
	set->count = n + 1;
}

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

/* Standbys that may be synchronous, best first: already confirmed ones, then by position. */
static void sync_desired(const struct ctx *c, struct ha_names *want)
{
	const struct ha_input *in = c->in;
	int n = clamp_count(in->db.replication_count);
	int limit = in->policy.synchronous_node_count < 1 ? 1 : in->policy.synchronous_node_count;
	bool taken[HA_MEMBERS_MAX] = { false };

	memset(want, 0, sizeof(*want));
	if (limit > HA_MEMBERS_MAX)
		limit = HA_MEMBERS_MAX;
	while (want->count < limit) {
		int best = -1;

		for (int i = 0; i < n; i++) {
			const struct ha_replication *r = &in->db.replication[i];
			const struct ha_replication *b =
				best >= 0 ? &in->db.replication[best] : NULL;
			const struct ha_member *m = hd_member_named(c, r->name);

			if (taken[i] || !r->streaming || !m || m->tags.nosync ||
			    name_eq(r->name, c->me) || hd_names_has(want, r->name))
				continue;
			if (!b || (r->sync && !b->sync) ||
			    (r->sync == b->sync && r->flush_lsn > b->flush_lsn))
				best = i;
		}
		if (best < 0)
			break;
		taken[best] = true;
		names_add(want, in->db.replication[best].name);
	}
}

static bool replication_confirmed(const struct ctx *c, const char *name)
{
	int n = clamp_count(c->in->db.replication_count);

	for (int i = 0; i < n; i++)
		if (name_eq(c->in->db.replication[i].name, name))
			return c->in->db.replication[i].streaming && c->in->db.replication[i].sync;
	return false;
}

/* Synchronous replication, one step per cycle. A name is in /sync only while it is also in
 * synchronous_standby_names and confirmed synchronous: remove from /sync before PG, add to PG
 * before /sync. Returns true when it chose an action. */
static bool leader_sync(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_sync_key *key = &in->dcs.sync;
	bool key_mine = key->present && name_eq(key->leader, c->me);
	struct ha_names want, keep, grow;
	bool placeholder;
	int n;

	if (!in->policy.synchronous_mode) {
		if (in->db.sync_names.count > 0 || in->db.sync_placeholder) {
			hd_act(c, HA_ACT_SET_SYNC_NAMES,
			       "synchronous mode is off: clearing synchronous_standby_names");
			return true;
		}
		if (key->present) {
			hd_act(c, HA_ACT_DELETE_SYNC_KEY,
			       "synchronous mode is off: deleting the sync key");
			return true;
		}
		return false;
	}
	sync_desired(c, &want);
	memset(&keep, 0, sizeof(keep));
	if (key_mine) {
		n = clamp_count(key->standbys.count);
		for (int i = 0; i < n; i++)
			if (hd_names_has(&want, key->standbys.name[i]) &&
			    replication_confirmed(c, key->standbys.name[i]))
				names_add(&keep, key->standbys.name[i]);
	}
	if (!key_mine || !names_same(&keep, &key->standbys)) {
		c->out->sync = keep;
		hd_act(c, HA_ACT_WRITE_SYNC_KEY,
		       key_mine ? "removing standbys that are no longer synchronous from the sync "
				  "key"
				: "taking over the sync key as the new leader");
		return true;
	}
	placeholder = in->policy.synchronous_mode_strict && want.count == 0;
	if (!names_same(&want, &in->db.sync_names) || placeholder != in->db.sync_placeholder) {
		c->out->sync = want;
		c->out->sync_placeholder = placeholder;
		if (placeholder)
			hd_act(c, HA_ACT_SET_SYNC_NAMES,
			       "no standby can be synchronous: blocking writes "
			       "(synchronous_mode_strict)");
		else
			hd_act(c, HA_ACT_SET_SYNC_NAMES,
			       "setting synchronous_standby_names to %d standby(s)", want.count);
		return true;
	}
	memset(&grow, 0, sizeof(grow));
	for (int i = 0; i < want.count; i++)
		if (replication_confirmed(c, want.name[i]))
			names_add(&grow, want.name[i]);
	if (!names_same(&grow, &key->standbys)) {
		c->out->sync = grow;
		hd_act(c, HA_ACT_WRITE_SYNC_KEY,
		       "adding confirmed synchronous standbys to the sync key");
		return true;
	}
	return false;
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
	if (leader_sync(c))
		return;
	hd_act(c, HA_ACT_NONE, "no action: I am the leader with the lock");
}
