/*
 * ha_decide_internal.h - what the files of the decision share (internal to src/core; the
 * contract is ha_decide.h): the per-call context the rules read like sentences, the small pure
 * helpers, and the hd_ functions that rules in several files call.
 *
 *   ha_decide.c          ha_decide(): the order of precedence, and the rules every node follows
 *                        (fencing, shutdown, TILT, busy, no DCS, no data, down, starting)
 *   ha_decide_replica.c  a running replica: follow, rejoin, race for the key, promote
 *   ha_decide_primary.c  a running primary: manual failover, the initialize key
 *   ha_decide_sync.c     a running primary: synchronous replication (the sync key, the names)
 *   ha_decide_ctx.c      the context built from the input, and the helpers the rules share
 *   ha_timing.c          the fencing and timing rules (ha_fence_deadline_ms, ha_policy_check)
 *   ha_names.c           the names of the decision's enums
 *
 * Pure like ha_decide(): libc only, no I/O, no clock, no allocation.
 */
#ifndef GSHA_HA_DECIDE_INTERNAL_H
#define GSHA_HA_DECIDE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ha_decide.h"

/* Names are printed with a bounded precision, so a name that lost its NUL cannot overrun. */
#define NP (MEMBER_NAME_MAX - 1)

/* What one call has worked out about its input, so the rules below read as sentences. */
struct ctx {
	const struct ha_input *in;
	struct ha_output *out;
	const char *me;
	bool holder;	      /* the leader key names me */
	bool holder_ok;	      /* ... is bound to my lease, and the lease is provably alive */
	bool lease_ok;	      /* my leadership lease is provable now */
	bool failsafe_ok;     /* DCS gone, but every failsafe member acked me recently */
	bool keep_primary;    /* lease_ok || failsafe_ok */
	bool primary_running; /* the database runs as a primary */
	/* the server process is up as a primary, answering or not (a hung or frozen primary may
	 * still commit on the connections it has): fenced like a running one */
	bool primary_up;
	bool paused;
	bool opengauss;
	int64_t fence;		/* deadline from the lease; 0 = none */
	int64_t failsafe_fence; /* deadline from failsafe acks; 0 = none */
};

/* Saturating arithmetic: times and settings come from outside, and no value may overflow. */
static inline int64_t sadd(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static inline int64_t ssub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static inline int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static inline bool name_set(const char *a)
{
	return a[0] != '\0';
}

static inline bool name_eq(const char *a, const char *b)
{
	return a[0] != '\0' && strncmp(a, b, MEMBER_NAME_MAX) == 0;
}

static inline int clamp_count(int n)
{
	if (n < 0)
		return 0;
	return n > HA_MEMBERS_MAX ? HA_MEMBERS_MAX : n;
}

/* The sync key's quorum, within what a set of members can need. */
static inline int key_quorum(const struct ha_sync_key *key)
{
	return key->quorum < 0 ? 0 : key->quorum > HA_MEMBERS_MAX ? HA_MEMBERS_MAX : key->quorum;
}

static inline uint64_t lag_behind(uint64_t ahead, uint64_t mine)
{
	return ahead > mine ? ahead - mine : 0;
}

/* ---- ha_decide_ctx.c ---- */

/* Works out what the rules need to know about in (leader key holder, lease and failsafe proofs). */
void hd_ctx_init(struct ctx *c, const struct ha_input *in, struct ha_output *out);
bool hd_names_has(const struct ha_names *set, const char *name);
/* Copies a name into a MEMBER_NAME_MAX field, always terminated. */
void hd_set_name(char *dst, const char *src);
/* Asks to be called again no later than at_ms (the earliest request wins). */
void hd_set_wake(struct ctx *c, int64_t at_ms);
/* Sets the action and its reason (never truncated: the unit tests hold every reason to that). */
__attribute__((format(printf, 3, 4))) void hd_act(struct ctx *c, enum ha_action action,
						  const char *fmt, ...);
bool hd_sync_active(const struct ctx *c);
/* The leader's synchronous replication, one step per cycle (ha_decide_sync.c). Returns true
 * when it chose an action. */
bool hd_leader_sync(struct ctx *c);
/* In synchronous mode only the last sync leader and its listed standbys hold every commit. */
bool hd_in_sync_set(const struct ctx *c, const char *name);
/* synchronous_mode_strict with no standby named anywhere (a promotion; a primary whose sync key
 * names none and to which none streams): asks for synchronous_standby_names := FIRST 1 of the
 * members that may stream (running, not nosync, not me), so a commit waits for whichever of them
 * streams first, as Patroni's "*" does, or for the placeholder when there is none. The key names
 * none of them until the server confirms one (ha_decide_sync.c). */
void hd_sync_strict_any(struct ctx *c);
/* Could member m take over from me? (lag against ref_lsn when check_lag, sync set when
 * check_sync) */
bool hd_member_can_take_over(const struct ctx *c, const struct ha_member *m, bool check_lag,
			     uint64_t ref_lsn, bool check_sync);
/* Is there a member that could be promoted if I stepped down? */
bool hd_failover_possible(const struct ctx *c, uint64_t ref_lsn, bool check_lag);
/* Sets the demotion mode (and the member to follow afterwards, or NULL). */
void hd_demote(struct ctx *c, enum ha_demote_mode mode, const char *target);
/* The member key of that name in the view, or NULL. */
const struct ha_member *hd_member_named(const struct ctx *c, const char *name);
/* Whom a replica streams from (Patroni's _get_node_to_follow): "" under nostream; the
 * replicatefrom member while it runs and streams (or leads); else the leader. */
const char *hd_upstream(const struct ctx *c, const char *leader);
/* Races for the leader key with the reason given. */
void hd_race(struct ctx *c, const char *fmt_reason);
/* Rejoins leader (rewind or rebuild) with the reason given. */
void hd_rejoin(struct ctx *c, const char *leader, const char *why);

/* ---- the rules by database role ---- */

/* ha_decide_replica.c: a running replica; and the race for the key of a leaderless one. */
void hd_decide_replica(struct ctx *c);
void hd_decide_race(struct ctx *c);
/* ha_decide_primary.c: a running primary. */
void hd_decide_primary(struct ctx *c);

#endif
