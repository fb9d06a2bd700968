/*
 * ha_decide_ctx.c - what one call of ha_decide() has worked out about its input (struct ctx:
 * the leader key's holder, the lease and failsafe proofs), and the helpers the rules of every
 * role share: setting the action and its reason, the demotion mode, the wake-up time, who could
 * take over.
 */
#include "ha_decide_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hd_ctx_init(struct ctx *c, const struct ha_input *in, struct ha_output *out)
{
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->out = out;
	c->me = in->self.name;
	c->paused = in->policy.paused;
	c->opengauss = in->policy.engine == HA_ENGINE_OPENGAUSS;
	c->holder = in->dcs.leader_present && name_eq(in->dcs.leader, c->me);
	c->primary_running = in->db.state == HA_DB_RUNNING && in->db.is_primary;
	c->primary_up = (in->db.state == HA_DB_RUNNING || in->db.state == HA_DB_STARTING) &&
			in->db.is_primary;
	if (c->holder && in->dcs.leader_lease_mine && in->dcs.lease_renewed_ms > 0) {
		c->fence = ha_fence_deadline_ms(&in->policy, in->dcs.lease_renewed_ms,
						in->dcs.lease_ttl_ms);
		c->lease_ok = in->now_ms < c->fence;
	}
	/* Every failsafe member acked me: none of them races before ack + ttl. That proof holds
	 * while etcd is gone (I held the key), and also once it is back and the key expired
	 * meanwhile: then I may race for it again as Patroni does, rather than demote. */
	if (in->policy.failsafe_mode && in->dcs.failsafe_present && in->failsafe.acked_ms > 0 &&
	    (in->dcs.reachable ? !in->dcs.leader_present && hd_names_has(&in->dcs.failsafe, c->me)
			       : c->holder)) {
		c->failsafe_fence = ha_fence_deadline_ms(&in->policy, in->failsafe.acked_ms, 0);
		c->failsafe_ok = in->now_ms < c->failsafe_fence;
	}
	c->keep_primary = c->lease_ok || c->failsafe_ok;
	c->holder_ok = c->holder && c->lease_ok;
}

bool hd_names_has(const struct ha_names *set, const char *name)
{
	int n = clamp_count(set->count);

	for (int i = 0; i < n; i++)
		if (name_eq(set->name[i], name))
			return true;
	return false;
}

void hd_set_name(char *dst, const char *src)
{
	memcpy(dst, src, MEMBER_NAME_MAX);
	dst[MEMBER_NAME_MAX - 1] = '\0';
}

void hd_set_wake(struct ctx *c, int64_t at_ms)
{
	if (at_ms > 0 && (c->out->wake_by_ms == 0 || at_ms < c->out->wake_by_ms))
		c->out->wake_by_ms = at_ms;
}

/* Sets the action and its reason. Reasons are sized so they cannot be truncated (names are
 * printed with bounded precision); the unit tests hold every reason to that. */
__attribute__((format(printf, 3, 4))) void hd_act(struct ctx *c, enum ha_action action,
						  const char *fmt, ...)
{
	size_t off = 0;
	va_list ap;
	int n;

	c->out->action = action;
	if (c->paused) {
		memcpy(c->out->reason, "PAUSE: ", 8);
		off = 7;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->out->reason + off, sizeof(c->out->reason) - off, fmt, ap);
	va_end(ap);
	assert(n > 0 && (size_t)n < sizeof(c->out->reason) - off);
}

bool hd_sync_active(const struct ctx *c)
{
	return c->in->policy.synchronous_mode && c->in->dcs.sync.present &&
	       name_set(c->in->dcs.sync.leader);
}

/* In synchronous mode only the last sync leader and its listed standbys hold every commit. */
bool hd_in_sync_set(const struct ctx *c, const char *name)
{
	return name_eq(c->in->dcs.sync.leader, name) ||
	       hd_names_has(&c->in->dcs.sync.standbys, name);
}

/* Could member m take over from me? Lag counts against ref_lsn when check_lag is set;
 * synchronous mode restricts to the sync set when check_sync is set. */
bool hd_member_can_take_over(const struct ctx *c, const struct ha_member *m, bool check_lag,
			     uint64_t ref_lsn, bool check_sync)
{
	if (name_eq(m->name, c->me) || !m->running || m->is_primary || m->tags.nofailover)
		return false;
	if (check_lag && lag_behind(ref_lsn, m->lsn) > c->in->policy.maximum_lag_on_failover_bytes)
		return false;
	if (check_sync && hd_sync_active(c) && !hd_in_sync_set(c, m->name))
		return false;
	return true;
}

/* Is there a member that could be promoted if I stepped down? */
bool hd_failover_possible(const struct ctx *c, uint64_t ref_lsn, bool check_lag)
{
	int n = clamp_count(c->in->dcs.member_count), healthy = 0;
	const struct ha_failover *fo = &c->in->dcs.failover;

	for (int i = 0; i < n; i++)
		if (hd_member_can_take_over(c, &c->in->dcs.members[i], check_lag, ref_lsn, true))
			healthy++;
	/* Quorum commit: a new leader needs the votes of quorum voters, so quorum + 1 of them
	 * must be healthy (unless a manual failover names its candidate). */
	if (c->in->policy.synchronous_quorum && hd_sync_active(c) &&
	    !(fo->present && name_set(fo->candidate)))
		return healthy > c->in->dcs.sync.quorum;
	return healthy > 0;
}

void hd_demote(struct ctx *c, enum ha_demote_mode mode, const char *target)
{
	c->out->demote_mode = mode;
	if (target)
		hd_set_name(c->out->target, target);
}

const struct ha_member *hd_member_named(const struct ctx *c, const char *name)
{
	int n = clamp_count(c->in->dcs.member_count);

	for (int i = 0; i < n; i++)
		if (name_eq(c->in->dcs.members[i].name, name))
			return &c->in->dcs.members[i];
	return NULL;
}

const char *hd_upstream(const struct ctx *c, const char *leader)
{
	const struct ha_tags *t = &c->in->self.tags;
	const struct ha_member *m;

	if (t->nostream)
		return "";
	if (!name_set(t->replicatefrom) || name_eq(t->replicatefrom, c->me))
		return leader;
	m = hd_member_named(c, t->replicatefrom);
	/* Patroni follows the member whatever its state; a member that is down, or a replica
	 * that streams from nobody, would only pass on the WAL it already has, so until it runs
	 * and streams again this replica takes the leader's. Two members naming each other would
	 * each wait for the other: both follow the leader. */
	if (m == NULL || !m->running || (!name_eq(m->name, leader) && !m->streaming) ||
	    m->tags.nostream || name_eq(m->tags.replicatefrom, c->me))
		return leader;
	return m->name;
}

void hd_race(struct ctx *c, const char *fmt_reason)
{
	hd_act(c, HA_ACT_RACE, "%s", fmt_reason);
}

/* Without pg_rewind, remove_data_directory_on_diverged_timelines makes the rejoin a new copy
 * (db_begin_rejoin), as Patroni reinitializes; with neither, the operator decides. */
void hd_rejoin(struct ctx *c, const char *leader, const char *why)
{
	const struct ha_policy *p = &c->in->policy;

	if (c->opengauss || p->use_pg_rewind || p->reinit_on_diverged) {
		hd_set_name(c->out->target, leader);
		hd_act(c, HA_ACT_REJOIN, "rejoining leader \"%.*s\"%s: %s", NP, leader,
		       c->opengauss || p->use_pg_rewind ? "" : " with a new copy", why);
		return;
	}
	hd_act(c, HA_ACT_NONE,
	       "not starting: %s, and use_pg_rewind and "
	       "remove_data_directory_on_diverged_timelines "
	       "are off; reinitialize this member from \"%.*s\"",
	       why, NP, leader);
}
