/*
 * election.c - the freeze around an election, as openGauss's CM does it (opengauss.md 2.11):
 * when a replica first finds no leader key it stops receiving WAL (db_freeze_upstream, lock1)
 * and lets the next cycle, which observes the frozen (term, LSN), compare the candidates; once
 * a leader holds the key again the replica follows it, which pins it there (lock2, db_follow),
 * so no frozen replica can attach to a returning old primary.
 */
#include "agent_state.h"

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

/* How soon the cycle after a freeze comes: enough for the observation to see it. */
#define FREEZE_RECHECK_MS 200

bool election_freeze(struct agent *a)
{
	char err[DB_ERROR_MAX];
	int rc;

	/* A switchover's leader handed the key over with its server running (handover.c): the
	 * candidate must keep streaming from it for gs_ctl switchover. */
	bool switchover = a->cluster->has_failover && a->cluster->failover_leader[0] != '\0';

	if (switchover || a->frozen || a->cluster->has_leader || !a->dbs->running ||
	    a->dbs->role != DB_ROLE_REPLICA ||
	    (a->out.action != HA_ACT_PROBE_PEERS && a->out.action != HA_ACT_RACE))
		return false;
	rc = db_freeze_upstream(a->db, a->dyn.retry_timeout_ms, err, sizeof(err));
	if (rc == -ENOTSUP)
		return false;
	if (rc != 0) {
		log_warning("no leader: could not freeze my WAL receipt before the election: %s",
			    err);
		return false;
	}
	a->frozen = true;
	a->out.action = HA_ACT_NONE;
	a->out.wake_by_ms = clock_mono_ms() + FREEZE_RECHECK_MS;
	buf_copy_or_clear(a->out.reason, sizeof(a->out.reason),
			  "no leader: froze my WAL receipt (disable_conn) before comparing "
			  "positions");
	return true;
}

void election_thaw(struct agent *a)
{
	struct db_peer leader;
	char err[DB_ERROR_MAX];

	if (!a->frozen || !a->cluster->has_leader)
		return;
	if (strcmp(a->cluster->leader, a->cfg->name) != 0 &&
	    !(a->acted && a->out.action == HA_ACT_FOLLOW)) {
		if (peer_named(a, a->cluster->leader, &leader) != 0 ||
		    db_follow(a->db, &leader, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0) {
			log_warning("could not pin my WAL receipt to the new leader \"%s\": %s",
				    a->cluster->leader, err);
			return;
		}
		log_notice("pinned my WAL receipt to the new leader \"%s\"", a->cluster->leader);
	}
	a->frozen = false;
}
