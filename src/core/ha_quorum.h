/*
 * ha_quorum.h - quorum commit (synchronous_mode: quorum, Patroni 4): the state machine that
 * moves synchronous_standby_names ("ANY numsync (sync)") and the sync key ("quorum" of "voters")
 * from any state to the optimal one without ever breaking the invariant that every set of nodes
 * able to acknowledge a commit overlaps every set able to reach quorum in a leader race.
 * A port of Patroni 4.1's patroni/quorum.py QuorumStateResolver, transition for transition.
 *
 * Pure: no I/O, no allocation. Names are compared exactly (Patroni compares them without case).
 */
#ifndef GSHA_HA_QUORUM_H
#define GSHA_HA_QUORUM_H

#include <stdbool.h>
#include <stddef.h>

#include "ha_decide.h" /* struct ha_names */

/* Transitions one resolution can produce: a handful per stage, five stages. */
#define HA_QUORUM_STEPS_MAX 32

enum ha_quorum_step_type {
	HA_QUORUM_SYNC,	   /* set synchronous_standby_names to ANY num (names) */
	HA_QUORUM_KEY,	   /* write the sync key: leader, quorum num, sync_standby names */
	HA_QUORUM_RESTART, /* stop here; resolve again once the standbys have caught up */
};

struct ha_quorum_step {
	enum ha_quorum_step_type type;
	char leader[MEMBER_NAME_MAX];
	int num;
	struct ha_names names;
};

/* The state QuorumStateResolver starts from (its constructor's arguments). */
struct ha_quorum_state {
	char leader[MEMBER_NAME_MAX];	     /* the sync key's leader */
	int quorum;			     /* the sync key's quorum */
	struct ha_names voters;		     /* the sync key's sync_standby */
	int numsync;			     /* n of synchronous_standby_names */
	struct ha_names sync;		     /* the names in synchronous_standby_names */
	int numsync_confirmed;		     /* listed standbys known to have caught up */
	struct ha_names active;		     /* streaming standbys that may be synchronous */
	int sync_wanted;		     /* synchronous_node_count */
	char leader_wanted[MEMBER_NAME_MAX]; /* the node resolving: the leader now */
};

/* Works out the transitions from st, in order, merged as Patroni merges them (of several
 * consecutive steps of one type only the last is kept; nothing after a restart). Writes up to
 * cap steps into steps and their number into *count. Returns 0, or -EINVAL when the state is
 * broken beyond repair or a step would break the invariant (Patroni's QuorumError), with a
 * reason in err (caller-owned, errlen bytes); then *count is 0. */
int ha_quorum_resolve(const struct ha_quorum_state *st, struct ha_quorum_step *steps, int cap,
		      int *count, char *err, size_t errlen);

#endif
