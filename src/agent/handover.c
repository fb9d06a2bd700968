/*
 * handover.c - a planned switchover through the engine's native command (openGauss: gs_ctl
 * switchover on the candidate, opengauss.md 2.4), in the leader key's usual order: the leader
 * stops writes and waits for the candidate to flush its position (db_hand_over), then releases
 * the key with its database still running; the candidate takes the key and raises the term as
 * after any switchover, and its promotion (db_promote_planned) runs the native switchover,
 * which turns this primary into a standby of the candidate. Meanwhile this member holds back
 * the actions that would stop its database, for at most a ttl; then it steps down as usual.
 */
#include "agent_state.h"

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

bool hand_over(struct agent *a)
{
	const char *to = a->out.target;
	char err[DB_ERROR_MAX];
	int rc;

	if (to[0] == '\0')
		return false; /* no candidate named: the race picks one, after a stop */
	rc = db_hand_over(a->db, to, a->dyn.retry_timeout_ms, err, sizeof(err));
	if (rc == -ENOTSUP)
		return false;
	if (rc != 0) {
		log_warning("native switchover to \"%s\" not possible: %s; stopping the primary "
			    "instead",
			    to, err);
		return false;
	}
	set_role(a, HA_ROLE_DEMOTING, a->out.reason);
	release_leader(a, a->dbs->flush_lsn);
	a->demoted_ms = clock_mono_ms();
	a->handover_until_ms = a->demoted_ms + a->dyn.ttl_ms;
	buf_copy_or_clear(a->handover_to, sizeof(a->handover_to), to);
	log_notice("handed the leader key to \"%s\" for its native switchover; the database keeps "
		   "running, read-only, for at most %lld ms",
		   to, (long long)a->dyn.ttl_ms);
	return true;
}

bool handover_hold(struct agent *a)
{
	char err[DB_ERROR_MAX];

	if (a->handover_until_ms == 0)
		return false;
	if (a->dbs->running && a->dbs->role == DB_ROLE_REPLICA) {
		log_notice("native switchover to \"%s\" done: the database runs as a standby",
			   a->handover_to);
		a->handover_until_ms = 0;
		return false;
	}
	/* Without etcd the candidate's progress cannot be seen: stop as any primary would. */
	if (!(a->out.action == HA_ACT_DEMOTE && a->out.demote_mode == HA_DEMOTE_OFFLINE) &&
	    clock_mono_ms() < a->handover_until_ms) {
		if (a->out.action != HA_ACT_NONE)
			log_info("waiting for \"%s\"'s native switchover: not acting on \"%s\"",
				 a->handover_to, a->out.reason);
		return true;
	}
	log_warning("the native switchover to \"%s\" did not happen: stepping down as usual",
		    a->handover_to);
	a->handover_until_ms = 0;
	if (a->out.action != HA_ACT_DEMOTE &&
	    db_hand_over_abort(a->db, a->dyn.retry_timeout_ms, err, sizeof(err)) != 0)
		log_warning("could not allow writes again: %s", err);
	return false;
}
