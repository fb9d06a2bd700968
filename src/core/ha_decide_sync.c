/*
 * ha_decide_sync.c - a running primary's synchronous replication, as Patroni 4's
 * _process_multisync_replication does it: which standbys to name in synchronous_standby_names
 * (the healthy candidates, up to synchronous_node_count, waiting for as many as are named), and
 * the sync key that records the ones known to hold every commit.
 *
 * The invariant: a name is in the sync key only while it is in synchronous_standby_names and
 * confirmed synchronous. So names leave the key before they leave the server's list, and enter
 * the key only after the server confirms them. One step per call; the loop calls again at once.
 * In strict mode with a key that names no standby and none streaming, the server waits for the
 * first member that may stream (Patroni's "*"), the placeholder only when no member may.
 *
 * synchronous_mode "quorum" (Patroni 4's _process_quorum_replication) names every healthy
 * candidate with ANY n and keeps the key's quorum so that any set of standbys able to confirm a
 * commit overlaps any set able to elect a new leader; ha_quorum.c works out the steps.
 */
#include "ha_decide_internal.h"

#include <string.h>

#include "ha_quorum.h"

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

/* The members of a that are also in b. */
static void names_common(const struct ha_names *a, const struct ha_names *b, struct ha_names *out)
{
	int n = clamp_count(a->count);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++)
		if (hd_names_has(b, a->name[i]))
			names_add(out, a->name[i]);
}

/* What Patroni's SyncHandler.current_state works out. */
struct sync_state {
	struct ha_names active;	   /* picked: healthy candidates, best first, up to the count */
	struct ha_names confirmed; /* of those, named now and reported synchronous by the server */
};

/* Is replication row r a candidate: streaming, a running member that accepts the role? */
static bool candidate(const struct ctx *c, const struct ha_replication *r)
{
	const struct ha_member *m = hd_member_named(c, r->name);

	return r->streaming && m != NULL && m->running && !m->tags.nosync &&
	       !name_eq(r->name, c->me);
}

/* Ordering of candidates (Patroni's _ReplicaList, then "prefer members without nofailover"):
 * not nofailover, higher sync_priority, already synchronous, further ahead. True when a goes
 * before b. */
static bool better(const struct ctx *c, const struct ha_replication *a,
		   const struct ha_replication *b)
{
	const struct ha_member *ma = hd_member_named(c, a->name), *mb = hd_member_named(c, b->name);

	if (ma->tags.nofailover != mb->tags.nofailover)
		return !ma->tags.nofailover;
	if (ma->tags.sync_priority != mb->tags.sync_priority)
		return ma->tags.sync_priority > mb->tags.sync_priority;
	if (a->sync != b->sync)
		return a->sync;
	return a->flush_lsn > b->flush_lsn;
}

/* quorum: Patroni's quorum commit variant: every healthy candidate is active (nofailover ones
 * only while fewer than the count are), none is cut at the count. */
static void current_state(const struct ctx *c, struct sync_state *st, bool quorum)
{
	const struct ha_input *in = c->in;
	int n = clamp_count(in->db.replication_count), count = 0, limit;
	const struct ha_replication *cand[HA_MEMBERS_MAX];
	uint64_t max_lsn = 0;

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < n; i++)
		if (candidate(c, &in->db.replication[i]))
			cand[count++] = &in->db.replication[i];
	/* insertion sort: at most HA_MEMBERS_MAX rows, stable */
	for (int i = 1; i < count; i++)
		for (int j = i; j > 0 && better(c, cand[j], cand[j - 1]); j--) {
			const struct ha_replication *t = cand[j];

			cand[j] = cand[j - 1];
			cand[j - 1] = t;
		}
	/* The lag limit counts from the most advanced candidate, or alone from the primary. */
	for (int i = 0; i < count; i++)
		if (cand[i]->flush_lsn > max_lsn)
			max_lsn = cand[i]->flush_lsn;
	if (count == 1)
		max_lsn = in->db.lsn;
	limit = in->policy.synchronous_node_count < 1 ? 1 : in->policy.synchronous_node_count;
	for (int i = 0; i < count && (quorum || st->active.count < limit); i++) {
		uint64_t maxlag = in->policy.maximum_lag_on_syncnode_bytes;
		const struct ha_member *m = hd_member_named(c, cand[i]->name);

		if (maxlag > 0 && lag_behind(max_lsn, cand[i]->flush_lsn) > maxlag)
			continue;
		if (quorum && m->tags.nofailover && st->active.count >= limit)
			continue;
		names_add(&st->active, cand[i]->name);
		if (cand[i]->sync && hd_names_has(&in->db.sync_names, cand[i]->name))
			names_add(&st->confirmed, cand[i]->name);
	}
}

/* Asks for synchronous_standby_names := names, waiting for as many as listed, or the strict
 * placeholder when placeholder is set and names is empty. The caller then states the reason. */
static void set_names(struct ctx *c, const struct ha_names *names, bool placeholder)
{
	c->out->sync = *names;
	c->out->sync.count = clamp_count(names->count);
	c->out->sync_num = placeholder && names->count == 0 ? 1 : c->out->sync.count;
	c->out->sync_placeholder = placeholder && names->count == 0;
}

/* The members that may stream from this node: running, not nosync, not me, not a primary. */
static void may_stream(const struct ctx *c, struct ha_names *out)
{
	int n = clamp_count(c->in->dcs.member_count);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		const struct ha_member *m = &c->in->dcs.members[i];

		if (m->running && !m->is_primary && !m->tags.nosync && !name_eq(m->name, c->me))
			names_add(out, m->name);
	}
}

void hd_sync_strict_any(struct ctx *c)
{
	struct ha_names any;

	may_stream(c, &any);
	c->out->sync = any;
	c->out->sync_num = 1;
	c->out->sync_any = false;
	c->out->sync_placeholder = any.count == 0;
}

/* Does synchronous_standby_names name exactly these, waiting for one of them? */
static bool first_one_in_effect(const struct ctx *c, const struct ha_names *want)
{
	const struct ha_db *db = &c->in->db;

	return !db->sync_placeholder && !db->sync_any && names_same(want, &db->sync_names) &&
	       (db->sync_num == 1 || (db->sync_num == 0 && want->count == 1));
}

static void write_key(struct ctx *c, const struct ha_names *names, const char *why)
{
	c->out->sync = *names;
	c->out->sync.count = clamp_count(names->count);
	hd_act(c, HA_ACT_WRITE_SYNC_KEY, "%s", why);
}

/* Does synchronous_standby_names now name exactly these, waiting for all of them? */
static bool names_in_effect(const struct ctx *c, const struct ha_names *want, bool placeholder)
{
	const struct ha_db *db = &c->in->db;

	if (placeholder && want->count == 0)
		return db->sync_placeholder && db->sync_names.count == 0;
	return !db->sync_placeholder && !db->sync_any && names_same(want, &db->sync_names) &&
	       (db->sync_num == 0 || db->sync_num == want->count);
}

/* Asks for synchronous_standby_names := ANY num (names); the placeholder when num >= 1 and
 * names is empty (Patroni's set_synchronous_standby_names in quorum mode). */
static void set_any(struct ctx *c, const struct ha_names *names, int num)
{
	c->out->sync = *names;
	c->out->sync.count = clamp_count(names->count);
	c->out->sync_num = num;
	c->out->sync_any = true;
	c->out->sync_placeholder = num >= 1 && names->count == 0;
}

static int db_numsync(const struct ctx *c)
{
	const struct ha_db *db = &c->in->db;

	return db->sync_num > 0 ? db->sync_num : db->sync_names.count;
}

/* Quorum commit, one step per call. */
static bool leader_quorum(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_sync_key *key = &in->dcs.sync;
	struct ha_quorum_step steps[HA_QUORUM_STEPS_MAX];
	struct ha_quorum_state qs;
	struct sync_state st;
	char err[160];
	int n, numsync = db_numsync(c);

	if (!key->present || !name_set(key->leader)) {
		struct ha_names none;

		memset(&none, 0, sizeof(none));
		write_key(c, &none, "enabling quorum commit: writing the sync key");
		return true;
	}
	current_state(c, &st, true);
	if (name_eq(key->leader, c->me) && in->policy.synchronous_mode_strict &&
	    st.active.count == 0) {
		/* nobody streams: wait for the voters, those the key says hold every commit */
		int want = clamp_count(key->standbys.count) - key_quorum(key);

		want = want < 1 ? 1 : want;
		if (names_same(&key->standbys, &in->db.sync_names) && numsync == want &&
		    in->db.sync_any && in->db.sync_placeholder == (key->standbys.count == 0))
			return false;
		set_any(c, &key->standbys, want);
		hd_act(c, HA_ACT_SET_SYNC_NAMES,
		       "no standby streams: waiting for %d of the %d voters the sync key names "
		       "(synchronous_mode_strict)",
		       want, key->standbys.count);
		return true;
	}
	if (!in->policy.synchronous_mode_strict && st.active.count == 0 &&
	    key->standbys.count == 0 && (in->db.sync_names.count > 0 || in->db.sync_placeholder)) {
		struct ha_names none;

		memset(&none, 0, sizeof(none));
		set_any(c, &none, 0);
		hd_act(c, HA_ACT_SET_SYNC_NAMES,
		       "no standby can be synchronous: clearing synchronous_standby_names");
		return true;
	}
	memset(&qs, 0, sizeof(qs));
	memcpy(qs.leader, key->leader, MEMBER_NAME_MAX);
	qs.quorum = key_quorum(key);
	qs.voters = key->standbys;
	qs.numsync = numsync;
	qs.sync = in->db.sync_names;
	qs.numsync_confirmed = st.confirmed.count;
	qs.active = st.active;
	qs.sync_wanted =
		in->policy.synchronous_node_count < 1 ? 1 : in->policy.synchronous_node_count;
	hd_set_name(qs.leader_wanted, c->me);
	if (ha_quorum_resolve(&qs, steps, HA_QUORUM_STEPS_MAX, &n, err, sizeof(err)) != 0) {
		hd_act(c, HA_ACT_NONE, "quorum commit: %s, leaving the state as it is", err);
		return true;
	}
	if (n == 0) {
		if (in->db.sync_any || in->db.sync_names.count == 0)
			return false;
		set_any(c, &in->db.sync_names, numsync);
		hd_act(c, HA_ACT_SET_SYNC_NAMES,
		       "quorum commit: turning FIRST %d into ANY %d in synchronous_standby_names",
		       numsync, numsync);
		return true;
	}
	switch (steps[0].type) {
	case HA_QUORUM_SYNC:
		set_any(c, &steps[0].names, steps[0].num);
		hd_act(c, HA_ACT_SET_SYNC_NAMES,
		       "quorum commit: synchronous_standby_names to ANY %d of %d standby(s)",
		       steps[0].num, steps[0].names.count);
		return true;
	case HA_QUORUM_KEY:
		c->out->sync_quorum = steps[0].num;
		write_key(c, &steps[0].names, "quorum commit: writing the sync key");
		return true;
	case HA_QUORUM_RESTART:
	default:
		hd_set_wake(c, sadd(in->now_ms, 1000));
		hd_act(c, HA_ACT_NONE,
		       "quorum commit: waiting for the newly named standbys to catch up");
		return true;
	}
}

bool hd_leader_sync(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_sync_key *key = &in->dcs.sync;
	struct ha_names voters, common, none;
	struct sync_state st;

	memset(&none, 0, sizeof(none));
	if (!in->policy.synchronous_mode) {
		if (in->db.sync_names.count > 0 || in->db.sync_placeholder) {
			set_names(c, &none, false);
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
	if (in->policy.synchronous_quorum)
		return leader_quorum(c);
	if (!key->present || !name_eq(key->leader, c->me)) {
		write_key(c, &none, "taking over the sync key as the new leader");
		return true;
	}
	voters = key->standbys;
	current_state(c, &st, false);
	if (names_same(&st.active, &voters) && !names_same(&voters, &st.confirmed)) {
		write_key(c, &st.confirmed,
			  "the sync key names standbys the server does not confirm as synchronous: "
			  "keeping the confirmed ones");
		return true;
	}
	/* Strict mode with nobody to name: keep waiting for the standbys the key names (the last
	 * known to hold every commit), or for the placeholder nobody can be. */
	if (in->policy.synchronous_mode_strict && st.active.count == 0) {
		struct ha_names any;

		/* The key names none: no standby holds every commit, so none has to be waited
		 * for; any member that streams first may (Patroni's "*"), rather than the
		 * placeholder until the next cycle names it. */
		may_stream(c, &any);
		if (voters.count == 0 && any.count > 0) {
			if (first_one_in_effect(c, &any))
				return false;
			hd_sync_strict_any(c);
			hd_act(c, HA_ACT_SET_SYNC_NAMES,
			       "no standby streams and the sync key names none: waiting for the "
			       "first of the %d members that may stream (synchronous_mode_strict)",
			       any.count);
			return true;
		}
		if (names_in_effect(c, &voters, true))
			return false;
		set_names(c, &voters, true);
		hd_act(c, HA_ACT_SET_SYNC_NAMES,
		       voters.count > 0 ? "no standby can be synchronous: waiting for the %d the "
					  "sync key names (synchronous_mode_strict)"
					: "no standby can be synchronous: blocking writes "
					  "(synchronous_mode_strict)",
		       voters.count);
		return true;
	}
	if (names_same(&st.active, &voters) && names_in_effect(c, &st.active, false))
		return false;
	/* First the key shrinks to the standbys that stay confirmed ... */
	names_common(&voters, &st.confirmed, &common);
	if (!names_same(&common, &voters)) {
		write_key(c, &common,
			  "removing standbys that are no longer synchronous from the "
			  "sync key");
		return true;
	}
	/* ... then the server names the candidates, waiting for as many as are named ... */
	if (!names_in_effect(c, &st.active, false)) {
		set_names(c, &st.active, false);
		if (st.active.count == 0)
			hd_act(c, HA_ACT_SET_SYNC_NAMES,
			       "no standby can be synchronous: clearing synchronous_standby_names");
		else
			hd_act(c, HA_ACT_SET_SYNC_NAMES,
			       "setting synchronous_standby_names to %d standby(s), waiting for "
			       "all",
			       st.active.count);
		return true;
	}
	/* ... and the key grows only by those the server confirms. */
	if (st.confirmed.count > 0 && !names_same(&st.confirmed, &voters)) {
		write_key(c, &st.confirmed,
			  "adding confirmed synchronous standbys to the sync key");
		return true;
	}
	return false;
}
