/*
 * slots.c - the members' physical replication slots, as Patroni 4 keeps them ("member slots"):
 * the leader keeps one for every other member, and so does every replica that may be promoted.
 * A replica that re-points to a newly promoted leader then finds its slot there and streams at
 * once; without it the first connection fails ("replication slot does not exist") and
 * PostgreSQL waits wal_retrieve_retry_interval (5 s by default) before trying again (issue 13).
 * A replica moves the slots it keeps forward to the position each member reports in its member
 * key, so they hold back no WAL that member already has (its own replay position caps them);
 * the leader does the same for a member that streams from another member (replicatefrom).
 */
#include "agent_state.h"

#include <string.h>

#include "log.h"

/* Whether this node keeps member slots now, and as what. */
enum slot_keeper {
	KEEP_NONE,
	KEEP_AS_LEADER,
	KEEP_AS_REPLICA
};

static enum slot_keeper keeper_of(const struct agent *a)
{
	/* openGauss replicates through replconninfo, without slots (opengauss.md 2.6). */
	if (!a->dyn.postgresql.use_slots || is_opengauss(a) || !a->view_ok || !a->dbs->running ||
	    db_task_running(a->db))
		return KEEP_NONE;
	if (a->out.leader && a->dbs->role == DB_ROLE_PRIMARY)
		return KEEP_AS_LEADER;
	return a->dbs->role == DB_ROLE_REPLICA ? KEEP_AS_REPLICA : KEEP_NONE;
}

static const struct db_slot *slot_in(const struct db_status *s, const char *name)
{
	for (int i = 0; i < s->slot_count; i++)
		if (strcmp(s->slots[i].name, name) == 0)
			return &s->slots[i];
	return NULL;
}

void slot_plan_build(const struct agent *a, struct slot_plan *p)
{
	const struct db_status *s = a->dbs;
	enum slot_keeper k = keeper_of(a);
	struct ha_tags tags;

	memset(p, 0, sizeof(*p));
	if (k == KEEP_NONE)
		return;
	p->manage = true;
	agent_ha_tags(a->cfg, &tags);
	for (int i = 0; i < a->cluster->member_count; i++) {
		const struct dcs_member *m = &a->cluster->members[i];
		const struct db_slot *have;
		char slot[DB_NAME_MAX];

		/* A member tagged nostream streams from nobody: no slot anywhere. A replica that
		 * is never promoted keeps slots only for the members that cascade from it. */
		if (strcmp(m->name, a->cfg->name) == 0 || m->nostream ||
		    (k == KEEP_AS_REPLICA && tags.nofailover &&
		     strcmp(m->replicatefrom, a->cfg->name) != 0))
			continue;
		if (p->keep_count >= DB_SLOTS_MAX || db_slot_name(m->name, slot, sizeof(slot)) != 0)
			continue;
		memcpy(p->keep[p->keep_count++], m->name, sizeof(m->name));
		have = slot_in(s, slot);
		if (have == NULL) {
			p->ensure = true;
			continue;
		}
		/* The leader's slot for a member that cascades from another is idle: it moves
		 * with the position that member reports, as in Patroni 4. */
		if ((k != KEEP_AS_REPLICA && m->replicatefrom[0] == '\0') || have->active ||
		    have->restart_lsn == 0 || !m->has_xlog_location || m->xlog_location_lsn <= 0)
			continue;
		/* The server stops at its replay position anyway; asking for less spares a call
		 * every cycle while this replica lags the member. */
		uint64_t to = (uint64_t)m->xlog_location_lsn;
		if (k == KEEP_AS_REPLICA && s->replay_lsn != 0 && to > s->replay_lsn)
			to = s->replay_lsn;
		if (to > have->restart_lsn && p->advance_count < DB_SLOTS_MAX) {
			memcpy(p->advance[p->advance_count].name, slot, sizeof(slot));
			p->advance[p->advance_count++].lsn = to;
		}
	}
	/* An idle physical slot no member owns is dropped by db_ensure_slots. */
	for (int i = 0; i < s->slot_count && !p->ensure; i++) {
		bool kept = false;

		for (int j = 0; j < p->keep_count && !kept; j++) {
			char slot[DB_NAME_MAX];

			kept = db_slot_name(p->keep[j], slot, sizeof(slot)) == 0 &&
			       strcmp(slot, s->slots[i].name) == 0;
		}
		p->ensure = !kept && !s->slots[i].active;
	}
	if (s->slots_omitted > 0)
		p->ensure = true;
}

void maintain_slots(struct agent *a)
{
	struct slot_plan plan;
	char err[DB_ERROR_MAX];

	slot_plan_build(a, &plan);
	if (!plan.manage)
		return;
	if (plan.ensure &&
	    db_ensure_slots(a->db, (const char(*)[MEMBER_NAME_MAX])plan.keep, plan.keep_count,
			    a->dyn.retry_timeout_ms, err, sizeof(err)) != 0)
		log_warning("could not manage replication slots: %s, retrying", err);
	if (plan.advance_count > 0 &&
	    db_advance_slots(a->db, plan.advance, plan.advance_count, a->dyn.retry_timeout_ms, err,
			     sizeof(err)) != 0)
		log_warning("could not advance the member slots: %s, retrying", err);
}
