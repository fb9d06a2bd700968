/*
 * timeline_watch.c - counts the leader acquisitions that may have created a timeline ID
 * (timeline_watch.h; the reasoning is in docs/db.md, "Timeline IDs").
 */
#include "timeline_watch.h"

#include "buf.h"

#include <string.h>

bool timeline_watch_observe(struct timeline_watch *w, const char *me, const char *leader,
			    int64_t leader_rev, bool leader_primary, int64_t known_tl)
{
	if (known_tl > w->reserved)
		w->reserved = known_tl;
	if (leader == NULL || leader[0] == '\0')
		return false;
	if (leader_rev == w->leader_rev && strcmp(leader, w->leader) == 0)
		return false;
	w->leader_rev = leader_rev;
	/* The view's names fit MEMBER_NAME_MAX (dcs rejects longer ones). */
	buf_copy_or_clear(w->leader, sizeof(w->leader), leader);
	/* My own acquisition: my promotion reserves what it needs itself. A member already
	 * running as primary does not promote again: its timeline is in known_tl. */
	if (strcmp(leader, me) == 0 || leader_primary)
		return false;
	/* It may promote to the ID after the newest it knows, which is at most the newest any
	 * member may have created so far (w->reserved, when all run this). */
	w->reserved++;
	return true;
}
