/*
 * slots.c - the replication slots, as Patroni 4 keeps them (patroni/dcs/__init__.py
 * get_replication_slots, patroni/postgresql/slots.py sync_replication_slots):
 *
 * - Member slots: the leader keeps one for every other member, and so does every replica that
 *   may be promoted. A replica that re-points to a newly promoted leader then finds its slot
 *   there and streams at once; without it the first connection fails ("replication slot does
 *   not exist") and PostgreSQL waits wal_retrieve_retry_interval (5 s by default) before trying
 *   again (issue 13). A member tagged nostream has none anywhere; a replica tagged nofailover
 *   keeps slots only for the members that cascade from it (replicatefrom).
 * - Retained slots: a member whose key went away keeps its slot for member_slots_ttl; the
 *   leader lists them in the status key's retain_slots, and every promotable replica keeps them
 *   too. member_slots_ttl 0 turns this off, and with it member slots on replicas (Patroni's
 *   behaviour before 4.0: only the members that cascade from them).
 * - Permanent slots (the "slots" key): physical ones on every node that may become leader,
 *   logical ones created on the leader.
 * - Every other slot that is idle is dropped, unless it matches an ignore_slots rule (a backup
 *   tool's slot, say).
 * A replica moves the idle slots it keeps forward: member slots to the position each member
 * reports in its member key, the others to the position the leader published in the status key
 * (its own replay position caps both); the leader does the same for the slot of a member that
 * streams from another member.
 */
#include "agent_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

/* Whether this node keeps slots now, and as what. */
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

static const struct db_slot_spec *wanted(const struct slot_plan *p, const char *name)
{
	for (int i = 0; i < p->want_count; i++)
		if (strcmp(p->want[i].name, name) == 0)
			return &p->want[i];
	return NULL;
}

static const struct dcs_member *member_named(const struct agent *a, const char *name)
{
	for (int i = 0; i < a->cluster->member_count; i++)
		if (strcmp(a->cluster->members[i].name, name) == 0)
			return &a->cluster->members[i];
	return NULL;
}

/* Adds a physical slot to the plan's list unless one of that name is there already. */
static void want_physical(struct slot_plan *p, const char *name)
{
	struct db_slot_spec *s;

	if (wanted(p, name) != NULL || p->want_count >= DB_SLOTS_MAX)
		return;
	s = &p->want[p->want_count];
	memset(s, 0, sizeof(*s));
	if (buf_copy(s->name, sizeof(s->name), name) == 0)
		p->want_count++;
}

/* Does the slot match an ignore_slots rule (every field the rule gives)? */
static bool ignored(const struct agent *a, const struct db_slot *s)
{
	for (int i = 0; i < a->dyn.ignore_slots.count; i++) {
		const struct cfg_slot *r = &a->dyn.ignore_slots.items[i];

		if ((r->name[0] == '\0' || strcmp(r->name, s->name) == 0) &&
		    (r->type[0] == '\0' ||
		     strcmp(r->type, s->logical ? "logical" : "physical") == 0) &&
		    (r->database[0] == '\0' || strcmp(r->database, s->database) == 0) &&
		    (r->plugin[0] == '\0' || strcmp(r->plugin, s->plugin) == 0))
			return true;
	}
	return false;
}

/* Does the member's slot belong here? (Patroni's _get_members_slots) */
static bool keeps_member_slot(const struct agent *a, enum slot_keeper k, bool nofailover,
			      const struct dcs_member *m)
{
	const char *me = a->cfg->name;

	if (strcmp(m->name, me) == 0 || m->nostream)
		return false;
	if (a->dyn.member_slots_ttl_ms > 0)
		return k == KEEP_AS_LEADER || !nofailover || strcmp(m->replicatefrom, me) == 0;
	if (k == KEEP_AS_LEADER)
		return m->replicatefrom[0] == '\0' || strcmp(m->replicatefrom, me) == 0 ||
		       member_named(a, m->replicatefrom) == NULL;
	return strcmp(m->replicatefrom, me) == 0 && strcmp(m->name, a->cluster->leader) != 0;
}

static uint64_t status_lsn(const struct agent *a, const char *name)
{
	const struct dcs_status_doc *st = &a->cluster->status_slots;

	for (int i = 0; i < st->slot_count; i++)
		if (strcmp(st->slots[i].name, name) == 0)
			return st->slots[i].lsn;
	return 0;
}

/* The slots this node keeps (want), in Patroni's order: members, retained, permanent. */
static void plan_wanted(const struct agent *a, enum slot_keeper k, struct slot_plan *p)
{
	struct ha_tags tags;
	char own[DB_NAME_MAX];

	agent_ha_tags(a->cfg, &tags);
	if (db_slot_name(a->cfg->name, own, sizeof(own)) != 0)
		own[0] = '\0';
	for (int i = 0; i < a->cluster->member_count; i++) {
		const struct dcs_member *m = &a->cluster->members[i];
		char slot[DB_NAME_MAX];

		if (keeps_member_slot(a, k, tags.nofailover, m) &&
		    db_slot_name(m->name, slot, sizeof(slot)) == 0)
			want_physical(p, slot);
	}
	if (tags.nofailover)
		return;
	if (a->dyn.member_slots_ttl_ms > 0) {
		if (k == KEEP_AS_LEADER) {
			for (int i = 0; i < a->retain_count; i++)
				if (strcmp(a->retain[i].name, own) != 0)
					want_physical(p, a->retain[i].name);
		} else {
			const struct dcs_status_doc *st = &a->cluster->status_slots;

			for (int i = 0; i < st->retain_count; i++)
				if (strcmp(st->retain[i], own) != 0)
					want_physical(p, st->retain[i]);
		}
	}
	for (int i = 0; i < a->dyn.slots.count && p->want_count < DB_SLOTS_MAX; i++) {
		const struct cfg_slot *c = &a->dyn.slots.items[i];
		struct db_slot_spec *s = &p->want[p->want_count];

		if (strcmp(c->type, "logical") != 0) {
			if (strcmp(c->name, own) != 0)
				want_physical(p, c->name);
			continue;
		}
		/* A replica that streams nothing sends no feedback to the primary: a logical slot
		 * there could not be trusted (Patroni keeps none). */
		if (tags.nostream)
			continue;
		/* A member's slot takes the name first (Patroni logs the conflict). */
		if (wanted(p, c->name) != NULL)
			continue;
		memset(s, 0, sizeof(*s));
		s->logical = true;
		if (buf_copy(s->name, sizeof(s->name), c->name) == 0 &&
		    buf_copy(s->database, sizeof(s->database), c->database) == 0 &&
		    buf_copy(s->plugin, sizeof(s->plugin), c->plugin) == 0)
			p->want_count++;
	}
}

/* Where an idle slot this node keeps should be: a member's reported position for its member
 * slot, else the leader's published one; 0 when nobody says. */
static uint64_t advance_target(const struct agent *a, enum slot_keeper k, const char *slot)
{
	for (int i = 0; i < a->cluster->member_count; i++) {
		const struct dcs_member *m = &a->cluster->members[i];
		char name[DB_NAME_MAX];

		if (db_slot_name(m->name, name, sizeof(name)) != 0 || strcmp(name, slot) != 0)
			continue;
		/* The leader's slot for a member is moved by its walsender, unless that member
		 * streams from another member (replicatefrom). */
		if ((k == KEEP_AS_LEADER && m->replicatefrom[0] == '\0') || !m->has_xlog_location ||
		    m->xlog_location_lsn <= 0)
			return 0;
		return (uint64_t)m->xlog_location_lsn;
	}
	return k == KEEP_AS_REPLICA ? status_lsn(a, slot) : 0;
}

void slot_plan_build(const struct agent *a, struct slot_plan *p)
{
	const struct db_status *s = a->dbs;
	enum slot_keeper k = keeper_of(a);

	memset(p, 0, sizeof(*p));
	if (k == KEEP_NONE)
		return;
	p->manage = true;
	plan_wanted(a, k, p);
	for (int i = 0; i < p->want_count; i++) {
		const struct db_slot_spec *w = &p->want[i];
		const struct db_slot *have = slot_in(s, w->name);

		if (have == NULL) {
			/* A replica gets a logical slot by copying it from the primary, once the
			 * leader published its position (Patroni copies only those). */
			if (w->logical && k == KEEP_AS_REPLICA) {
				if (status_lsn(a, w->name) != 0 && p->copy_count < DB_SLOTS_MAX)
					memcpy(p->copy[p->copy_count++], w->name, sizeof(w->name));
			} else if (p->create_count < DB_SLOTS_MAX) {
				p->create[p->create_count++] = *w;
			}
			continue;
		}
		if (have->logical != w->logical ||
		    (w->logical && (strcmp(have->database, w->database) != 0 ||
				    strcmp(have->plugin, w->plugin) != 0))) {
			/* Another slot of that name: dropped now, made again next cycle. */
			if (!have->active && p->drop_count < DB_SLOTS_MAX)
				memcpy(p->drop[p->drop_count++], have->name, sizeof(have->name));
			continue;
		}
		if (have->active || (!w->logical && have->restart_lsn == 0) ||
		    (w->logical && k != KEEP_AS_REPLICA))
			continue;
		uint64_t to = advance_target(a, k, w->name);
		uint64_t at = w->logical ? have->confirmed_flush_lsn : have->restart_lsn;
		/* The server stops at its replay position anyway; asking for less spares a call
		 * every cycle while this replica lags. */
		if (k == KEEP_AS_REPLICA && s->replay_lsn != 0 && to > s->replay_lsn)
			to = s->replay_lsn;
		if (to > at && p->advance_count < DB_SLOTS_MAX) {
			struct db_slot_target *t = &p->advance[p->advance_count++];

			memcpy(t->name, w->name, sizeof(w->name));
			t->lsn = to;
			memcpy(t->database, w->logical ? w->database : "",
			       w->logical ? sizeof(w->database) : 1);
		}
	}
	for (int i = 0; i < s->slot_count; i++) {
		const struct db_slot *have = &s->slots[i];

		if (!have->active && wanted(p, have->name) == NULL && !ignored(a, have) &&
		    p->drop_count < DB_SLOTS_MAX)
			memcpy(p->drop[p->drop_count++], have->name, sizeof(have->name));
	}
}

void slot_retention_update(struct agent *a, int64_t now_ms)
{
	const struct db_status *s = a->dbs;
	int n = 0;

	if (!a->out.leader) {
		a->retain_count = 0;
		a->retain_seeded = false;
		return;
	}
	/* Patroni resets the retention of the listed slots when it takes the leader key. */
	if (!a->retain_seeded && a->view_ok) {
		const struct dcs_status_doc *st = &a->cluster->status_slots;

		a->retain_count = 0;
		for (int i = 0; i < st->retain_count && a->retain_count < DB_SLOTS_MAX; i++)
			if (buf_copy(a->retain[a->retain_count].name, DB_NAME_MAX, st->retain[i]) ==
			    0)
				a->retain[a->retain_count++].seen_ms = now_ms;
		a->retain_seeded = true;
	}
	if (!a->view_ok || a->dyn.member_slots_ttl_ms <= 0)
		return;
	/* A member's slot that exists here is seen now. */
	for (int i = 0; i < a->cluster->member_count; i++) {
		const struct dcs_member *m = &a->cluster->members[i];
		char slot[DB_NAME_MAX];
		int j;

		if (m->nostream || db_slot_name(m->name, slot, sizeof(slot)) != 0 ||
		    slot_in(s, slot) == NULL)
			continue;
		for (j = 0; j < a->retain_count && strcmp(a->retain[j].name, slot) != 0; j++)
			;
		if (j == a->retain_count) {
			if (a->retain_count >= DB_SLOTS_MAX)
				continue;
			memcpy(a->retain[a->retain_count++].name, slot, sizeof(slot));
		}
		a->retain[j].seen_ms = now_ms;
	}
	for (int i = 0; i < a->retain_count; i++) {
		if (now_ms - a->retain[i].seen_ms >= a->dyn.member_slots_ttl_ms) {
			log_info("replication slot \"%s\" of an absent member expired after "
				 "member_slots_ttl (%lld s)",
				 a->retain[i].name, (long long)(a->dyn.member_slots_ttl_ms / 1000));
			continue;
		}
		a->retain[n++] = a->retain[i];
	}
	a->retain_count = n;
}

void slot_status(const struct agent *a, struct dcs_status_doc *st)
{
	struct slot_plan plan;

	slot_plan_build(a, &plan);
	st->slot_count = 0;
	st->retain_count = 0;
	for (int i = 0; i < plan.want_count; i++) {
		const struct db_slot *have = slot_in(a->dbs, plan.want[i].name);

		if (have == NULL || have->logical != plan.want[i].logical ||
		    st->slot_count >= DCS_STATUS_SLOTS_MAX)
			continue;
		memcpy(st->slots[st->slot_count].name, have->name, sizeof(st->slots[0].name));
		st->slots[st->slot_count++].lsn =
			have->logical ? have->confirmed_flush_lsn : have->restart_lsn;
	}
	/* Sorted, as Patroni writes them, so the document changes only when the set does. */
	for (int i = 0; i < a->retain_count && st->retain_count < DCS_STATUS_SLOTS_MAX; i++) {
		int j = st->retain_count++;

		while (j > 0 && strcmp(st->retain[j - 1], a->retain[i].name) > 0) {
			memcpy(st->retain[j], st->retain[j - 1], sizeof(st->retain[0]));
			j--;
		}
		memcpy(st->retain[j], a->retain[i].name, sizeof(st->retain[0]));
	}
}

static void pending_add(struct agent *a, const char *name)
{
	for (int i = 0; i < a->pending_count; i++)
		if (strcmp(a->pending[i].name, name) == 0)
			return;
	if (a->pending_count >= DB_SLOTS_MAX)
		return;
	memset(&a->pending[a->pending_count], 0, sizeof(a->pending[0]));
	if (buf_copy(a->pending[a->pending_count].name, DB_NAME_MAX, name) == 0)
		a->pending_count++;
}

int slot_readiness(struct agent *a, const bool *found, const uint64_t *primary_xmins,
		   uint64_t physical_xmin, char (*safe)[DB_NAME_MAX])
{
	int n = 0, kept = 0;

	for (int i = 0; i < a->pending_count; i++) {
		if (!a->pending[i].known && found[i]) {
			a->pending[i].known = true;
			a->pending[i].primary_xmin = primary_xmins[i];
		}
	}
	for (int i = 0; i < a->pending_count; i++) {
		const struct db_slot *mine = slot_in(a->dbs, a->pending[i].name);
		bool ready = mine == NULL || (a->pending[i].known && physical_xmin != 0 &&
					      a->pending[i].primary_xmin <= physical_xmin &&
					      physical_xmin <= mine->catalog_xmin);

		if (ready && mine != NULL && n < DB_SLOTS_MAX)
			memcpy(safe[n++], a->pending[i].name, DB_NAME_MAX);
		if (!ready)
			a->pending[kept++] = a->pending[i];
	}
	a->pending_count = kept;
	return n;
}

/* The name of the slot this replica's WAL comes through on the primary: its own, or, in a
 * cascade, that of the member at the top of its chain (Patroni's get_slot_name_on_primary). */
static int slot_on_primary(const struct agent *a, char *out)
{
	const char *name = a->cfg->name, *from = a->cfg->tags.replicatefrom;
	bool nostream = a->cfg->tags.nostream;

	for (int hops = 0; hops <= a->cluster->member_count; hops++) {
		const struct dcs_member *m =
			from[0] && strcmp(from, name) != 0 ? member_named(a, from) : NULL;

		if (nostream)
			return -ENOENT;
		if (m == NULL)
			return db_slot_name(name, out, DB_NAME_MAX);
		name = m->name;
		from = m->replicatefrom;
		nostream = m->nostream;
	}
	return -ELOOP; /* members naming each other */
}

/* Reads what slot_readiness needs from the leader, at most once per cycle while slots wait. */
static void check_readiness(struct agent *a)
{
	char names[DB_SLOTS_MAX + 1][DB_NAME_MAX], safe[DB_SLOTS_MAX][DB_NAME_MAX];
	bool found[DB_SLOTS_MAX + 1];
	uint64_t xmins[DB_SLOTS_MAX + 1];
	char err[DB_ERROR_MAX];
	struct db_peer leader;
	int n = a->pending_count;

	if (n == 0 || peer_named(a, a->cluster->leader, &leader) != 0 ||
	    slot_on_primary(a, names[n]) != 0)
		return;
	for (int i = 0; i < n; i++)
		memcpy(names[i], a->pending[i].name, DB_NAME_MAX);
	if (db_peer_slot_xmins(a->db, &leader, (const char(*)[DB_NAME_MAX])names, n + 1, found,
			       xmins, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0) {
		if (strcmp(err, a->readiness_err) != 0)
			log_warning(
				"could not read the slots' catalog_xmin on \"%s\": %s, retrying",
				leader.name, err);
		memcpy(a->readiness_err, err, sizeof(err));
		return;
	}
	a->readiness_err[0] = '\0';
	if (!found[n])
		log_debug("slot \"%s\" is not on the leader \"%s\"", names[n], leader.name);
	/* No catalog_xmin on my physical slot there: not streaming yet, or no
	 * hot_standby_feedback. */
	int safe_count = slot_readiness(a, found, xmins, found[n] ? xmins[n] : 0, safe);
	for (int i = 0; i < safe_count; i++)
		log_info("logical replication slot \"%s\" is safe to use after a failover",
			 safe[i]);
}

/* Logical slot failover (Patroni 4, db_copy_logical_slots): copies the leader's logical slots
 * this replica lacks, which restarts it. Bounded by half the ttl, so the member key outlives
 * it. */
static void copy_logical_slots(struct agent *a, const struct slot_plan *plan)
{
	char err[DB_ERROR_MAX];
	struct db_peer leader;
	int copied = 0;
	int64_t timeout = a->dyn.ttl_ms / 2 > 2000 ? a->dyn.ttl_ms / 2 : 2000;

	/* The status this plan came from predates a copy made since (between cycles). */
	if (peer_named(a, a->cluster->leader, &leader) != 0 ||
	    (a->copied_observed_ms != 0 && a->dbs->observed_ms <= a->copied_observed_ms))
		return;
	a->copied_observed_ms = clock_mono_ms();
	log_notice("copying %d logical replication slot(s) from the leader \"%s\" (first \"%s\"): "
		   "postgres restarts to load them",
		   plan->copy_count, leader.name, plan->copy[0]);
	if (db_copy_logical_slots(a->db, &leader, (const char(*)[DB_NAME_MAX])plan->copy,
				  plan->copy_count, timeout, &copied, err, sizeof(err)) != 0)
		log_warning("could not copy the logical slots from \"%s\": %s, retrying",
			    leader.name, err);
	else if (copied > 0) {
		log_notice("copied %d logical replication slot(s) from \"%s\"", copied,
			   leader.name);
		for (int i = 0; i < plan->copy_count; i++)
			pending_add(a, plan->copy[i]);
	}
}

/* Replica: queues the logical slots found at start (their safety is unknown), then checks the
 * queue. Leader: warns about the slots still queued when it was promoted, as Patroni does. */
static void logical_readiness(struct agent *a, const struct slot_plan *plan)
{
	enum slot_keeper k = keeper_of(a);

	if (k == KEEP_AS_LEADER && a->pending_count > 0) {
		char list[DB_SLOTS_MAX * (DB_NAME_MAX + 2)];
		size_t len = 0;

		list[0] = '\0';
		for (int i = 0; i < a->pending_count; i++) {
			int w = snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i ? ", " : "",
					 a->pending[i].name);
			if (w > 0 && (size_t)w < sizeof(list) - len)
				len += (size_t)w;
		}
		log_warning("logical replication slots that might be unsafe to use after the "
			    "promotion: %s",
			    list);
		a->pending_count = 0;
	}
	if (k != KEEP_AS_REPLICA) {
		a->pending_seeded = false;
		return;
	}
	/* A copy made since this status was observed is not in it yet. */
	if (a->copied_observed_ms != 0 && a->dbs->observed_ms <= a->copied_observed_ms)
		return;
	if (!a->pending_seeded) {
		for (int i = 0; i < plan->want_count; i++)
			if (plan->want[i].logical && slot_in(a->dbs, plan->want[i].name) != NULL)
				pending_add(a, plan->want[i].name);
		a->pending_seeded = true;
	}
	check_readiness(a);
}

void maintain_slots(struct agent *a)
{
	struct slot_plan plan;
	char err[DB_ERROR_MAX];

	slot_retention_update(a, clock_mono_ms());
	slot_plan_build(a, &plan);
	if (!plan.manage)
		return;
	for (int i = 0; i < plan.drop_count; i++)
		log_info("dropping replication slot \"%s\": no member or permanent slot needs it "
			 "and ignore_slots does not name it",
			 plan.drop[i]);
	if ((plan.create_count > 0 || plan.drop_count > 0) &&
	    db_apply_slots(a->db, plan.create, plan.create_count,
			   (const char(*)[DB_NAME_MAX])plan.drop, plan.drop_count,
			   a->dyn.retry_timeout_ms, err, sizeof(err)) != 0)
		log_warning("could not manage replication slots: %s, retrying", err);
	if (plan.copy_count > 0)
		copy_logical_slots(a, &plan);
	logical_readiness(a, &plan);
	if (plan.advance_count > 0 &&
	    db_advance_slots(a->db, plan.advance, plan.advance_count, a->dyn.retry_timeout_ms, err,
			     sizeof(err)) != 0)
		log_warning("could not advance the member slots: %s, retrying", err);
}
