/*
 * timeline_watch.h - which timeline IDs other members may have created (issue 18 finding).
 *
 * A member that takes the leader key as a replica promotes, and PostgreSQL names its new timeline
 * after the history files it has. If it dies before anyone copied that file, the next promotion
 * elsewhere picks the same ID: two timelines with one ID, forked at one LSN, that nothing can
 * tell apart afterwards. So every agent counts the leader acquisitions it sees: one by another
 * member, while that member's key does not show it running as primary, may have used the next
 * ID. The promotion then reserves those IDs (db_reserve_timelines). Pure: no I/O, no logging.
 */
#ifndef GSHA_TIMELINE_WATCH_H
#define GSHA_TIMELINE_WATCH_H

#include "name.h"

#include <stdbool.h>
#include <stdint.h>

struct timeline_watch {
	int64_t leader_rev;	      /* create revision of the leader key last seen; 0 = none */
	char leader[MEMBER_NAME_MAX]; /* its holder then */
	/* highest timeline ID another member may have created, as far as this agent saw; 0 =
	 * nothing seen yet */
	int64_t reserved;
};

/* One look at the view. me: this member's name; leader: the leader key's holder ("" or NULL:
 * no key) with its create revision; leader_primary: that member's key says it runs as primary
 * (it promoted already, or never had to); known_tl: the newest timeline this node knows to be
 * in use (its own, the members' keys'). Returns true when the acquisition just seen raised
 * w->reserved (the caller logs it). */
bool timeline_watch_observe(struct timeline_watch *w, const char *me, const char *leader,
			    int64_t leader_rev, bool leader_primary, int64_t known_tl);

#endif
