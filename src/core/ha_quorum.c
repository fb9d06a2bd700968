/*
 * ha_quorum.c - Patroni 4.1's QuorumStateResolver (patroni/quorum.py) in C. Each function
 * below is the Python method of the same name; the comments quote its rule. Python's generator
 * becomes an array the stages append to, and QuorumError becomes the `broken` flag: a step that
 * would break the invariant stops the resolution (only the first stage recovers from it, as the
 * Python try/except does).
 */
#include "ha_quorum.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct resolver {
	struct ha_quorum_state s;
	struct ha_quorum_step steps[HA_QUORUM_STEPS_MAX];
	int n;
	bool broken;
	bool stopped; /* the generator returned early */
	char why[160];
};

/* ---- sets of names (struct ha_names, exact comparison) ---- */

static bool has(const struct ha_names *a, const char *name)
{
	for (int i = 0; i < a->count; i++)
		if (strncmp(a->name[i], name, MEMBER_NAME_MAX) == 0)
			return true;
	return false;
}

static void add(struct ha_names *a, const char *name)
{
	if (name[0] == '\0' || has(a, name) || a->count >= HA_MEMBERS_MAX)
		return;
	memcpy(a->name[a->count], name, MEMBER_NAME_MAX);
	a->name[a->count][MEMBER_NAME_MAX - 1] = '\0';
	a->count++;
}

static struct ha_names set_union(const struct ha_names *a, const struct ha_names *b)
{
	struct ha_names r = *a;

	for (int i = 0; i < b->count; i++)
		add(&r, b->name[i]);
	return r;
}

static struct ha_names set_inter(const struct ha_names *a, const struct ha_names *b)
{
	struct ha_names r = { 0 };

	for (int i = 0; i < a->count; i++)
		if (has(b, a->name[i]))
			add(&r, a->name[i]);
	return r;
}

static struct ha_names set_minus(const struct ha_names *a, const struct ha_names *b)
{
	struct ha_names r = { 0 };

	for (int i = 0; i < a->count; i++)
		if (!has(b, a->name[i]))
			add(&r, a->name[i]);
	return r;
}

static struct ha_names one(const char *name)
{
	struct ha_names r = { 0 };

	add(&r, name);
	return r;
}

static bool subset(const struct ha_names *a, const struct ha_names *b)
{
	for (int i = 0; i < a->count; i++)
		if (!has(b, a->name[i]))
			return false;
	return true;
}

static bool same(const struct ha_names *a, const struct ha_names *b)
{
	return a->count == b->count && subset(a, b);
}

/* The first n names in sorted order (descending when reverse). */
static struct ha_names sorted_first(const struct ha_names *a, int n, bool reverse)
{
	struct ha_names s = *a, r = { 0 };

	for (int i = 1; i < s.count; i++)
		for (int j = i; j > 0; j--) {
			int c = strcmp(s.name[j - 1], s.name[j]);
			char t[MEMBER_NAME_MAX];

			if (reverse ? c >= 0 : c <= 0)
				break;
			memcpy(t, s.name[j], MEMBER_NAME_MAX);
			memcpy(s.name[j], s.name[j - 1], MEMBER_NAME_MAX);
			memcpy(s.name[j - 1], t, MEMBER_NAME_MAX);
		}
	for (int i = 0; i < s.count && i < n; i++)
		add(&r, s.name[i]);
	return r;
}

static int min_int(int a, int b)
{
	return a < b ? a : b;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* ---- the resolver ---- */

__attribute__((format(printf, 2, 3))) static void fail(struct resolver *q, const char *fmt, ...)
{
	va_list ap;

	if (q->broken)
		return;
	q->broken = true;
	va_start(ap, fmt);
	vsnprintf(q->why, sizeof(q->why), fmt, ap);
	va_end(ap);
}

static void yield(struct resolver *q, enum ha_quorum_step_type type, int num,
		  const struct ha_names *names)
{
	struct ha_quorum_step *t;

	if (q->n >= HA_QUORUM_STEPS_MAX) {
		fail(q, "more than %d transitions", HA_QUORUM_STEPS_MAX);
		return;
	}
	t = &q->steps[q->n++];
	t->type = type;
	memcpy(t->leader, q->s.leader, MEMBER_NAME_MAX);
	t->num = num;
	t->names = *names;
}

/* "any subset of nodes that can acknowledge a commit overlaps with any subset of nodes that can
 * achieve quorum to promote a new leader" */
static void check_invariants(struct resolver *q)
{
	struct ha_names one_l = one(q->s.leader), one_w = one(q->s.leader_wanted);
	struct ha_names voters = set_union(&q->s.voters, &one_l);
	struct ha_names sync = set_union(&q->s.sync, &one_w);
	struct ha_names all = set_union(&voters, &sync);

	if (q->s.voters.count > 0 && !(all.count <= q->s.quorum + q->s.numsync + 1))
		fail(q,
		     "quorum and sync not guaranteed to overlap: nodes %d >= quorum %d + sync %d + "
		     "1",
		     all.count, q->s.quorum, q->s.numsync);
	else if (!subset(&voters, &sync) && !subset(&sync, &voters))
		fail(q, "mismatched sets of voters and synchronous standbys");
}

static void quorum_update(struct resolver *q, int quorum, struct ha_names voters,
			  const char *leader, bool adjust_quorum)
{
	char old_leader[MEMBER_NAME_MAX];

	if (q->broken)
		return;
	if (quorum < 0) {
		fail(q, "quorum %d < 0", quorum);
		return;
	}
	if (quorum > 0 && quorum >= voters.count) {
		fail(q, "quorum %d >= N of %d voters", quorum, voters.count);
		return;
	}
	memcpy(old_leader, q->s.leader, MEMBER_NAME_MAX);
	if (leader != NULL) {
		memcpy(q->s.leader, leader, MEMBER_NAME_MAX);
	} else if (q->s.numsync_confirmed == 0 && q->s.voters.count == 0) {
		quorum = 0;
		memset(&voters, 0, sizeof(voters));
	} else if (adjust_quorum) {
		quorum += max_int(q->s.numsync - q->s.numsync_confirmed, 0);
	}
	if (strcmp(q->s.leader, old_leader) == 0 && quorum == q->s.quorum &&
	    same(&voters, &q->s.voters)) {
		if (q->s.voters.count > 0)
			return;
		yield(q, HA_QUORUM_RESTART, q->s.quorum, &q->s.voters);
	}
	q->s.quorum = quorum;
	q->s.voters = voters;
	check_invariants(q);
	if (!q->broken)
		yield(q, HA_QUORUM_KEY, q->s.quorum, &q->s.voters);
}

static void sync_update(struct resolver *q, int numsync, struct ha_names sync)
{
	if (q->broken)
		return;
	if (numsync < 0) {
		fail(q, "sync %d < 0", numsync);
		return;
	}
	if (numsync > sync.count) {
		fail(q, "sync %d > N of %d", numsync, sync.count);
		return;
	}
	q->s.numsync = numsync;
	q->s.sync = sync;
	check_invariants(q);
	if (!q->broken)
		yield(q, HA_QUORUM_SYNC, q->s.numsync, &q->s.sync);
}

/* "Handle cases when set of transitions produced on previous run was interrupted." */
static void handle_non_steady_cases(struct resolver *q)
{
	struct ha_quorum_state *s = &q->s;
	int margin;

	if (subset(&s->sync, &s->voters) && !same(&s->sync, &s->voters)) {
		/* Case 1: synchronous_standby_names is a subset of the DCS state */
		struct ha_names sa = set_union(&s->sync, &s->active);
		struct ha_names remove = set_minus(&s->voters, &sa);
		struct ha_names gone = set_minus(&s->sync, &s->active);

		if (remove.count > 0)
			quorum_update(q, s->voters.count - remove.count - s->numsync,
				      set_minus(&s->voters, &remove), NULL, gone.count == 0);
		struct ha_names va = set_inter(&s->voters, &s->active);
		struct ha_names to_sync = set_minus(&va, &s->sync);

		if (to_sync.count > 0)
			sync_update(q, s->numsync, set_union(&s->sync, &to_sync));
	} else if (subset(&s->voters, &s->sync) && !same(&s->sync, &s->voters)) {
		/* Case 2: synchronous_standby_names is a superset of the DCS state */
		struct ha_names remove = set_minus(&s->sync, &s->active);
		struct ha_names sync = set_minus(&s->sync, &remove);
		struct ha_names common = set_inter(&sync, &s->voters);

		if (remove.count > 0 && sync.count > 0 &&
		    (s->voters.count == 0 || common.count > 0))
			sync_update(q, min_int(s->numsync, s->sync.count - remove.count), sync);
		struct ha_names sv = set_minus(&s->sync, &s->voters);
		struct ha_names to_voters = set_inter(&sv, &s->active);

		if (to_voters.count > 0) {
			struct ha_names voters = set_union(&s->voters, &to_voters);

			quorum_update(q, voters.count - s->numsync, voters, NULL, true);
		}
		remove = set_minus(&s->sync, &s->voters);
		if (remove.count > 0)
			sync_update(q, min_int(s->numsync, s->sync.count - remove.count),
				    set_minus(&s->sync, &remove));
	}
	if (q->broken)
		return;
	if (!same(&s->voters, &s->sync)) {
		fail(q, "voters and synchronous standbys differ after repair");
		return;
	}
	struct ha_names all = set_union(&s->voters, &s->sync);

	margin = s->quorum + min_int(s->numsync, s->numsync_confirmed) - all.count;
	if (margin > 0) { /* in the middle of changing the replication factor */
		if (s->numsync > s->sync_wanted)
			/* Case 3: replication factor is bigger than needed */
			sync_update(q, max_int(s->sync_wanted, s->voters.count - s->quorum),
				    s->sync);
		else
			/* Case 4: quorum is bigger than needed */
			quorum_update(q, s->sync.count - s->numsync, s->voters, NULL, true);
	} else {
		margin = s->quorum + s->numsync - all.count;
		if (s->numsync == s->sync_wanted && margin > 0 && s->numsync > s->numsync_confirmed)
			quorum_update(q, s->sync.count - s->numsync, s->voters, NULL, true);
	}
}

/* "Remove inactive nodes from synchronous_standby_names and from /sync key." */
static void remove_gone_nodes(struct resolver *q)
{
	struct ha_quorum_state *s = &q->s;
	struct ha_names to_remove = set_minus(&s->sync, &s->active), none = { 0 };

	if (q->broken || to_remove.count == 0)
		return;
	if (same(&s->sync, &to_remove)) {
		quorum_update(q, 0, none, NULL, false);
		sync_update(q, 0, none);
		return;
	}
	if (s->quorum > 0) {
		struct ha_names remove = sorted_first(&to_remove, s->quorum, true);
		struct ha_names sync = set_minus(&s->sync, &remove);
		int numsync = min_int(s->sync_wanted > s->numsync ? s->sync_wanted : s->numsync,
				      sync.count);

		sync_update(q, numsync, sync);
		struct ha_names voters = set_minus(&s->voters, &remove);

		to_remove = set_inter(&to_remove, &s->sync);
		quorum_update(q, voters.count - s->numsync, voters, NULL, to_remove.count == 0);
	}
	if (q->broken || to_remove.count == 0)
		return;
	if (s->quorum != 0) {
		fail(q, "quorum %d is not 0 while removing gone nodes", s->quorum);
		return;
	}
	int numsync = s->numsync - to_remove.count;
	struct ha_names sync = set_minus(&s->sync, &to_remove);
	struct ha_names voters = set_minus(&s->voters, &to_remove);
	int sync_decrease = numsync - min_int(s->sync_wanted, sync.count);
	int quorum = sync_decrease ? min_int(sync_decrease, voters.count - 1) : 0;

	quorum_update(q, quorum, voters, NULL, false);
	sync_update(q, numsync, sync);
}

/* "Add new active nodes to synchronous_standby_names and to /sync key." */
static void add_new_nodes(struct resolver *q)
{
	struct ha_quorum_state *s = &q->s;
	struct ha_names to_add = set_minus(&s->active, &s->sync);

	if (q->broken || to_add.count == 0)
		return;
	struct ha_names all = set_union(&s->sync, &to_add);
	int sync_wanted = min_int(s->sync_wanted, all.count);
	int increase = sync_wanted - s->numsync;

	if (increase > 0) {
		struct ha_names added;

		if (s->sync.count > 0) {
			added = sorted_first(&to_add, increase, false);
			increase = added.count;
		} else { /* only the leader: safe to add every node at once */
			added = to_add;
		}
		sync_update(q, s->numsync + increase, set_union(&s->sync, &added));
		struct ha_names voters = set_union(&s->voters, &added);

		quorum_update(q, voters.count - sync_wanted, voters, NULL, true);
		to_add = set_minus(&to_add, &s->sync);
	}
	if (q->broken || to_add.count == 0)
		return;
	struct ha_names voters = set_union(&s->voters, &to_add);

	quorum_update(q, voters.count - sync_wanted, voters, NULL,
		      sync_wanted > s->numsync_confirmed);
	sync_update(q, sync_wanted, set_union(&s->sync, &to_add));
}

/* "Handle change of the replication factor (synchronous_node_count)." */
static void handle_replication_factor_change(struct resolver *q)
{
	struct ha_quorum_state *s = &q->s;
	int increase;

	if (q->broken)
		return;
	increase = min_int(s->sync_wanted, s->sync.count) - s->numsync;
	if (increase > 0) {
		sync_update(q, s->numsync + increase, s->sync);
		quorum_update(q, s->voters.count - s->numsync, s->voters, NULL, true);
	} else if (increase < 0) {
		if (s->quorum - increase < s->voters.count)
			quorum_update(q, s->voters.count - s->numsync - increase, s->voters, NULL,
				      s->sync_wanted > s->numsync_confirmed);
		sync_update(q, s->numsync + increase, s->sync);
	}
}

static void generate_transitions(struct resolver *q)
{
	struct ha_quorum_state *s = &q->s;

	/* try: */
	if (strcmp(s->leader_wanted, s->leader) != 0) { /* failover */
		struct ha_names w = one(s->leader_wanted), l = one(s->leader);
		struct ha_names v = set_minus(&s->voters, &w);
		struct ha_names voters = set_union(&v, &l);

		if (s->sync.count == 0)
			sync_update(q, voters.count - s->quorum, voters);
		quorum_update(q, s->quorum, voters, s->leader_wanted, true);
		if (!q->broken) {
			struct ha_names sa = set_inter(&s->sync, &s->active);

			/* right after promote there could be no replication connections yet */
			if (sa.count == 0) {
				q->stopped = true;
				return;
			}
		}
	} else {
		check_invariants(q);
	}
	/* except QuorumError: */
	if (q->broken) {
		q->broken = false;
		quorum_update(q, s->sync.count - s->numsync, s->sync, NULL, true);
		if (q->broken)
			return;
	}
	if (strcmp(s->leader, s->leader_wanted) != 0) {
		fail(q, "the sync key's leader is not the node resolving");
		return;
	}
	/* numsync_confirmed could be 0 after restart/failover: calculate it from quorum */
	struct ha_names sa = set_inter(&s->sync, &s->active);

	if (s->numsync_confirmed == 0 && sa.count > 0)
		s->numsync_confirmed = min_int(sa.count, s->voters.count - s->quorum);
	handle_non_steady_cases(q);
	remove_gone_nodes(q);
	add_new_nodes(q);
	handle_replication_factor_change(q);
}

/* A set as the caller filled it, made safe to walk: count in range, names terminated. */
static void sanitize(struct ha_names *a)
{
	a->count = a->count < 0 ? 0 : a->count > HA_MEMBERS_MAX ? HA_MEMBERS_MAX : a->count;
	for (int i = 0; i < a->count; i++)
		a->name[i][MEMBER_NAME_MAX - 1] = '\0';
}

int ha_quorum_resolve(const struct ha_quorum_state *st, struct ha_quorum_step *steps, int cap,
		      int *count, char *err, size_t errlen)
{
	/* Cleared with memset, not copied from a static zero struct: gcc places a never-written
	 * static in .rodata, which put 74 kB of zeros in the executable's resident pages
	 * (docs/architecture.md, "Footprint"). */
	struct resolver q;
	int n = 0;

	memset(&q, 0, sizeof(q));
	*count = 0;
	q.s = *st;
	q.s.leader[MEMBER_NAME_MAX - 1] = '\0';
	q.s.leader_wanted[MEMBER_NAME_MAX - 1] = '\0';
	sanitize(&q.s.voters);
	sanitize(&q.s.sync);
	sanitize(&q.s.active);
	/* numsync can't be bigger than the number of listed synchronous nodes */
	q.s.numsync = min_int(q.s.numsync, q.s.sync.count);
	generate_transitions(&q);
	if (q.broken) {
		if (errlen > 0)
			snprintf(err, errlen, "%s", q.why);
		return -EINVAL;
	}
	/* Two transitions of one type in a row: only the last counts (skipping the first is the
	 * same as nobody observing the intermediate state); nothing after a restart. */
	for (int i = 0; i < q.n; i++) {
		if (i + 1 < q.n && q.steps[i + 1].type == q.steps[i].type)
			continue;
		if (n >= cap) {
			if (errlen > 0)
				snprintf(err, errlen, "more than %d transitions", cap);
			return -EINVAL;
		}
		steps[n++] = q.steps[i];
		if (q.steps[i].type == HA_QUORUM_RESTART)
			break;
	}
	*count = n;
	return 0;
}
