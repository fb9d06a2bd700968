/*
 * ha_decide.c - the pure HA decision function (see ha_decide.h for the contract).
 *
 * Reads like the cycle it decides, in order of precedence:
 *   1. shutdown requested                   -> stop, release
 *   2. the loop stalled or the clock jumped -> TILT (but a primary without proof still demotes)
 *   3. a long action is running             -> wait for it (or stop it when the key is lost)
 *   4. a primary that cannot prove its lease -> demote (the fencing rule; not in pause)
 *   5. data from another cluster            -> halt
 *   6. DCS unreachable                      -> keep what runs; failsafe pings
 *   7. by database state: no data (bootstrap/clone), down (start), starting, replica (follow,
 *      promote, race), primary (manual failover, initialize, synchronous replication)
 *
 * Rules 1-6 and the states other than running are here; a running replica's rules are in
 * ha_decide_replica.c, a running primary's in ha_decide_primary.c (ha_decide_internal.h).
 *
 * Only libc here: no project headers besides our own, no I/O, no clock, no allocation.
 */
#include "ha_decide_internal.h"

#include <stdio.h>
#include <string.h>

/* The best source for a new replica: a running clonefrom member ahead of the others, else the
 * leader. NULL when there is none. */
static const char *clone_source(const struct ctx *c)
{
	const struct ha_member *best = NULL;
	int n = clamp_count(c->in->dcs.member_count);

	for (int i = 0; i < n; i++) {
		const struct ha_member *m = &c->in->dcs.members[i];

		if (!m->tags.clonefrom || !m->running || name_eq(m->name, c->me))
			continue;
		if (!best || m->lsn > best->lsn)
			best = m;
	}
	if (best)
		return best->name;
	if (c->in->dcs.leader_present && !c->holder)
		return c->in->dcs.leader;
	return NULL;
}

static bool start_timed_out(const struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (in->policy.primary_start_timeout_ms <= 0)
		return true;
	return in->db.start_since_ms > 0 &&
	       ssub(in->now_ms, in->db.start_since_ms) >= in->policy.primary_start_timeout_ms;
}

/* A primary that did not start within primary_start_timeout gives up the key when another
 * member could take over. Returns true when it decided so. */
static bool give_up_primary_start(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!start_timed_out(c) ||
	    !hd_failover_possible(c, in->dcs.optime_lsn, in->dcs.status_present))
		return false;
	hd_demote(c, HA_DEMOTE_IMMEDIATE, NULL);
	hd_act(c, HA_ACT_DEMOTE,
	       "primary did not start within primary_start_timeout (%lld ms): stopping it and "
	       "releasing the leader key",
	       (long long)in->policy.primary_start_timeout_ms);
	return true;
}

static bool sysid_mismatch(const struct ctx *c)
{
	const struct ha_input *in = c->in;

	return in->db.state != HA_DB_NO_DATA && in->dcs.initialize_present &&
	       name_set(in->dcs.initialize) && name_set(in->db.sysid) &&
	       strncmp(in->dcs.initialize, in->db.sysid, HA_SYSID_MAX) != 0;
}

/* A primary that cannot prove it is the only one must stop accepting writes now. */
static bool must_fence(const struct ctx *c)
{
	return c->primary_up && !c->paused && !c->keep_primary;
}

static void decide_fence(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!in->dcs.reachable) {
		hd_demote(c, HA_DEMOTE_OFFLINE, NULL);
		if (in->policy.failsafe_mode && c->holder)
			hd_act(c, HA_ACT_DEMOTE,
			       "demoting self because DCS is not accessible, the leader lease ran "
			       "out "
			       "and "
			       "not every failsafe member acknowledged me");
		else
			hd_act(c, HA_ACT_DEMOTE,
			       "demoting self because DCS is not accessible and the leader lease "
			       "can "
			       "no "
			       "longer be proven");
		return;
	}
	if (in->dcs.leader_present && !c->holder) {
		hd_demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, in->dcs.leader);
		hd_act(c, HA_ACT_DEMOTE, "demoting self because \"%.*s\" holds the leader key", NP,
		       in->dcs.leader);
		return;
	}
	if (!in->dcs.leader_present) {
		hd_demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
		hd_act(c, HA_ACT_DEMOTE,
		       "demoting self because postgres runs as primary without the leader key");
		return;
	}
	if (!in->dcs.leader_lease_mine) {
		hd_demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
		hd_act(c, HA_ACT_DEMOTE,
		       "demoting self because the leader key names me but is bound to a lease I do "
		       "not "
		       "keep alive");
		return;
	}
	hd_demote(c, HA_DEMOTE_IMMEDIATE, NULL);
	if (in->dcs.lease_renewed_ms <= 0)
		hd_act(c, HA_ACT_DEMOTE,
		       "demoting self because the leader lease was never renewed");
	else
		hd_act(c, HA_ACT_DEMOTE,
		       "demoting self because failed to renew the leader lease in time (renewed "
		       "%lld "
		       "ms "
		       "ago, fence deadline passed %lld ms ago)",
		       (long long)ssub(in->now_ms, in->dcs.lease_renewed_ms),
		       (long long)ssub(in->now_ms, c->fence));
}

static void decide_shutdown(struct ctx *c)
{
	const struct ha_input *in = c->in;
	bool db_up = in->db.state == HA_DB_RUNNING || in->db.state == HA_DB_STARTING;

	if (c->paused) {
		hd_act(c, HA_ACT_SHUTDOWN,
		       "shutting down the agent; leaving postgres and the leader key alone");
		return;
	}
	c->out->stop_db = db_up;
	c->out->release_leader = c->holder && in->dcs.leader_lease_mine;
	if (c->out->release_leader)
		hd_act(c, HA_ACT_SHUTDOWN,
		       "shutting down: stopping postgres, then releasing the leader key so a "
		       "replica "
		       "takes over at once");
	else if (db_up)
		hd_act(c, HA_ACT_SHUTDOWN, "shutting down: stopping postgres");
	else
		hd_act(c, HA_ACT_SHUTDOWN, "shutting down: postgres is not running");
}

/* Stall or clock jump since the previous call? Writes a description into why. */
static bool stalled(const struct ctx *c, char *why, size_t len)
{
	const struct ha_input *in = c->in;
	int64_t gap, wall_gap, skew;

	if (in->last_call_ms <= 0)
		return false;
	gap = ssub(in->now_ms, in->last_call_ms);
	if (gap < 0) {
		snprintf(why, len, "the monotonic clock went back by %lld ms",
			 (long long)ssub(0, gap));
		return true;
	}
	if (gap > ha_stall_limit_ms(&in->policy)) {
		snprintf(why, len, "the loop stalled for %lld ms (limit %lld ms)", (long long)gap,
			 (long long)ha_stall_limit_ms(&in->policy));
		return true;
	}
	if (in->now_wall_ms > 0 && in->last_call_wall_ms > 0) {
		wall_gap = ssub(in->now_wall_ms, in->last_call_wall_ms);
		skew = ssub(wall_gap, gap);
		if (skew > HA_CLOCK_JUMP_MS || skew < -HA_CLOCK_JUMP_MS) {
			snprintf(why, len, "the wall clock jumped by %lld ms", (long long)skew);
			return true;
		}
	}
	return false;
}

static void decide_busy(struct ctx *c)
{
	const struct ha_input *in = c->in;
	enum ha_action busy = in->self.busy;

	if (busy == HA_ACT_PROMOTE && !c->holder_ok && !c->paused) {
		hd_demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
		hd_act(c, HA_ACT_DEMOTE, "cancelling promotion because I lost the leader key");
		return;
	}
	if (busy == HA_ACT_RESTART_PRIMARY && !c->paused) {
		if (!c->holder_ok) {
			hd_demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
			hd_act(c, HA_ACT_DEMOTE,
			       "stopping the primary start because I lost the leader key");
			return;
		}
		if (give_up_primary_start(c))
			return;
	}
	/* A bootstrap's own new primary runs before the leader key is taken (custom bootstrap and
	 * post_bootstrap take a while): the initialize key keeps every other node waiting, as in
	 * Patroni, which does not fence while bootstrapping. */
	if (must_fence(c) && busy != HA_ACT_DEMOTE && busy != HA_ACT_SHUTDOWN &&
	    busy != HA_ACT_BOOTSTRAP) {
		decide_fence(c);
		return;
	}
	hd_act(c, HA_ACT_NONE, "waiting for %s to finish (running for %lld ms)",
	       ha_action_name(busy),
	       (long long)(in->self.busy_since_ms > 0 ? ssub(in->now_ms, in->self.busy_since_ms)
						      : 0));
}

static void decide_no_dcs(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!c->primary_up) {
		hd_act(c, HA_ACT_NONE, "DCS is not accessible");
		return;
	}
	if (c->paused) {
		hd_act(c, HA_ACT_NONE, "DCS is not accessible; postgres keeps running as primary");
		return;
	}
	if (in->policy.failsafe_mode && c->holder && in->dcs.failsafe_present &&
	    !in->failsafe.done) {
		hd_act(c, HA_ACT_PING_FAILSAFE,
		       "DCS is not accessible: asking every failsafe member to acknowledge me");
		return;
	}
	if (c->failsafe_ok) {
		hd_act(c, HA_ACT_NONE,
		       "continue to run as a leader because failsafe mode is enabled and all "
		       "members "
		       "are accessible");
		return;
	}
	hd_act(c, HA_ACT_NONE,
	       "DCS is not accessible: staying primary while the leader lease lasts (%lld ms left)",
	       (long long)ssub(max64(c->fence, c->failsafe_fence), in->now_ms));
}

static void decide_no_data(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const char *src;

	if (c->paused) {
		hd_act(c, HA_ACT_NONE, "data directory is empty: not bootstrapping or cloning");
		return;
	}
	if (c->holder) {
		hd_act(c, HA_ACT_RELEASE_LEADER,
		       "releasing the leader key because my data directory is empty");
		return;
	}
	src = clone_source(c);
	if (src) {
		hd_set_name(c->out->target, src);
		hd_act(c, HA_ACT_CLONE, "creating a replica from \"%.*s\"", NP, src);
		return;
	}
	if (!in->dcs.initialize_present) {
		if (in->self.tags.nofailover) {
			hd_act(c, HA_ACT_WAIT_FOR_BOOTSTRAP,
			       "not bootstrapping because tagged nofailover: waiting for another "
			       "member");
			return;
		}
		hd_act(c, HA_ACT_BOOTSTRAP, "no cluster in the DCS: racing to bootstrap it");
		return;
	}
	/* Patroni: a no_leader method (a restore from backup) needs no member to copy from, once
	 * the cluster was initialized and nobody is bootstrapping it. */
	if (name_set(in->dcs.initialize) && in->policy.clone_without_leader &&
	    !in->dcs.leader_present) {
		c->out->target[0] = '\0';
		hd_act(c, HA_ACT_CLONE, "bootstrap (without leader)");
		return;
	}
	if (name_set(in->dcs.initialize))
		hd_act(c, HA_ACT_WAIT_FOR_BOOTSTRAP, "waiting for a leader to clone from");
	else
		hd_act(c, HA_ACT_WAIT_FOR_BOOTSTRAP, "waiting for leader to bootstrap");
}

static int64_t current_term(const struct ctx *c)
{
	if (!c->opengauss)
		return 0;
	int64_t t = max64(max64(c->in->dcs.term, c->in->db.term), 1);
	return t > HA_TERM_MAX ? HA_TERM_MAX : t;
}

static void decide_down(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const char *state = ha_db_state_name(in->db.state);

	if (c->paused) {
		if (c->holder && in->dcs.leader_lease_mine) {
			hd_act(c, HA_ACT_RELEASE_LEADER,
			       "released the leader key because postgres is not running");
			return;
		}
		hd_act(c, HA_ACT_NONE, "postgres is %s: not starting it", state);
		return;
	}
	if (c->holder) {
		if (!c->holder_ok) {
			hd_act(c, HA_ACT_NONE,
			       "not starting postgres: I hold the leader key but cannot prove my "
			       "lease");
			return;
		}
		if (in->policy.standby_cluster && !in->self.tags.nofailover) {
			c->out->remote = true;
			hd_act(c, HA_ACT_START_REPLICA,
			       "starting as the standby leader: following the remote primary");
			return;
		}
		if (in->db.is_primary) {
			if (start_timed_out(c) &&
			    hd_failover_possible(c, in->dcs.optime_lsn, in->dcs.status_present)) {
				hd_act(c, HA_ACT_RELEASE_LEADER,
				       "primary did not start within primary_start_timeout (%lld "
				       "ms): "
				       "releasing the leader key",
				       (long long)in->policy.primary_start_timeout_ms);
				return;
			}
			c->out->term = current_term(c);
			hd_act(c, HA_ACT_RESTART_PRIMARY,
			       "starting primary after failure: postgres is %s and I hold the "
			       "leader "
			       "key",
			       state);
			return;
		}
		if (in->self.tags.nofailover) {
			hd_act(c, HA_ACT_RELEASE_LEADER,
			       "releasing the leader key because tagged nofailover");
			return;
		}
		hd_act(c, HA_ACT_START_REPLICA,
		       "starting as read-only because I hold the leader key; promoting once it "
		       "runs");
		return;
	}
	if (in->dcs.leader_present) {
		if (in->db.is_primary && in->db.state == HA_DB_CRASHED) {
			hd_rejoin(c, in->dcs.leader, "I crashed as a primary");
			return;
		}
		if (in->db.rejoin_needed) {
			hd_rejoin(c, in->dcs.leader, "my history diverged from the leader's");
			return;
		}
		const char *up = hd_upstream(c, in->dcs.leader);

		if (name_set(up)) {
			hd_set_name(c->out->target, up);
			hd_act(c, HA_ACT_START_REPLICA, "starting as a replica of \"%.*s\"", NP,
			       up);
		} else {
			hd_act(c, HA_ACT_START_REPLICA,
			       "starting as a replica of \"%.*s\" restoring WAL from the archive "
			       "(nostream)",
			       NP, in->dcs.leader);
		}
		return;
	}
	hd_act(c, HA_ACT_START_REPLICA, "no leader: starting read-only without an upstream");
}

static void decide_starting(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!c->paused && in->db.is_primary) {
		if (!c->holder_ok) {
			hd_demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
			hd_act(c, HA_ACT_DEMOTE,
			       "stopping postgres: it is starting as a primary but I do not hold "
			       "the "
			       "leader key");
			return;
		}
		if (give_up_primary_start(c))
			return;
	}
	hd_act(c, HA_ACT_NONE, "waiting for postgres to start");
}

static void decide(struct ctx *c)
{
	const struct ha_input *in = c->in;
	char why[128];

	if (in->self.shutdown_requested) {
		decide_shutdown(c);
		return;
	}
	if (stalled(c, why, sizeof(why))) {
		c->out->tilt = true;
		if (must_fence(c)) {
			decide_fence(c);
			return;
		}
		hd_act(c, HA_ACT_TILT, "no action for one cycle: %s", why);
		return;
	}
	if (in->self.busy != HA_ACT_NONE) {
		decide_busy(c);
		return;
	}
	if (must_fence(c)) {
		decide_fence(c);
		return;
	}
	if (sysid_mismatch(c)) {
		if (c->primary_running && c->holder_ok && !c->paused) {
			hd_demote(c, HA_DEMOTE_IMMEDIATE, NULL);
			hd_act(c, HA_ACT_DEMOTE,
			       "demoting self: data directory system identifier \"%.*s\" is not "
			       "the "
			       "cluster's \"%.*s\"",
			       HA_SYSID_MAX - 1, in->db.sysid, HA_SYSID_MAX - 1,
			       in->dcs.initialize);
			return;
		}
		hd_act(c, HA_ACT_HALT,
		       "data directory system identifier \"%.*s\" is not the cluster's \"%.*s\": "
		       "refusing to take part",
		       HA_SYSID_MAX - 1, in->db.sysid, HA_SYSID_MAX - 1, in->dcs.initialize);
		return;
	}
	if (!in->dcs.reachable) {
		decide_no_dcs(c);
		return;
	}
	if (c->holder && !in->dcs.leader_lease_mine && in->db.state != HA_DB_NO_DATA) {
		hd_act(c, HA_ACT_REBIND_LEADER_KEY,
		       "the leader key names me but is bound to another lease: rebinding it to "
		       "mine");
		return;
	}
	switch (in->db.state) {
	case HA_DB_NO_DATA:
		decide_no_data(c);
		return;
	case HA_DB_STOPPED:
	case HA_DB_CRASHED:
		decide_down(c);
		return;
	case HA_DB_STARTING:
		decide_starting(c);
		return;
	case HA_DB_RUNNING:
		if (in->db.is_primary)
			hd_decide_primary(c);
		else
			hd_decide_replica(c);
		return;
	}
	hd_act(c, HA_ACT_NONE, "unknown database state %d: waiting", (int)in->db.state);
}

void ha_decide(const struct ha_input *in, struct ha_output *out)
{
	struct ctx c;

	memset(out, 0, sizeof(*out));
	hd_ctx_init(&c, in, out);
	out->leader = c.holder && in->dcs.leader_lease_mine && c.keep_primary;
	out->fence_deadline_ms =
		max64(c.lease_ok ? c.fence : 0, c.failsafe_ok ? c.failsafe_fence : 0);
	if (out->fence_deadline_ms == 0)
		out->fence_deadline_ms = c.fence;
	decide(&c);
	/* A leader must be asked again before its proof runs out, whatever the loop_wait; in
	 * failsafe mode one round of pings before, so that the round still fits. */
	if (c.primary_up || c.holder) {
		int64_t ask =
			ssub(out->fence_deadline_ms, ha_failsafe_ping_timeout_ms(&in->policy));

		if (in->policy.failsafe_mode && !c.paused && ask > in->now_ms)
			hd_set_wake(&c, ask);
		hd_set_wake(&c, out->fence_deadline_ms);
	}
}
