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
 * Only libc here: no project headers besides our own, no I/O, no clock, no allocation.
 */
#include "ha_decide.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Names are printed with a bounded precision, so a name that lost its NUL cannot overrun. */
#define NP (HA_NAME_MAX - 1)

static const char *const action_names[HA_ACT_COUNT_] = {
	[HA_ACT_NONE] = "none",
	[HA_ACT_TILT] = "tilt",
	[HA_ACT_PROBE_PEERS] = "probe-peers",
	[HA_ACT_PING_FAILSAFE] = "ping-failsafe",
	[HA_ACT_BOOTSTRAP] = "bootstrap",
	[HA_ACT_WAIT_FOR_BOOTSTRAP] = "wait-for-bootstrap",
	[HA_ACT_CLONE] = "clone",
	[HA_ACT_START_REPLICA] = "start-replica",
	[HA_ACT_FOLLOW] = "follow",
	[HA_ACT_REJOIN] = "rejoin",
	[HA_ACT_RACE] = "race",
	[HA_ACT_PROMOTE] = "promote",
	[HA_ACT_REBIND_LEADER_KEY] = "rebind-leader-key",
	[HA_ACT_DEMOTE] = "demote",
	[HA_ACT_RESTART_PRIMARY] = "restart-primary",
	[HA_ACT_RELEASE_LEADER] = "release-leader",
	[HA_ACT_CLEAR_FAILOVER] = "clear-failover",
	[HA_ACT_SET_SYNC_NAMES] = "set-sync-names",
	[HA_ACT_WRITE_SYNC_KEY] = "write-sync-key",
	[HA_ACT_DELETE_SYNC_KEY] = "delete-sync-key",
	[HA_ACT_WRITE_INITIALIZE] = "write-initialize",
	[HA_ACT_SHUTDOWN] = "shutdown",
	[HA_ACT_HALT] = "halt",
};

static const char *const demote_names[HA_DEMOTE_COUNT_] = {
	[HA_DEMOTE_NONE] = "none",	     [HA_DEMOTE_GRACEFUL] = "graceful",
	[HA_DEMOTE_IMMEDIATE] = "immediate", [HA_DEMOTE_IMMEDIATE_NOLOCK] = "immediate-nolock",
	[HA_DEMOTE_OFFLINE] = "offline",
};

static const char *const db_state_names[] = {
	[HA_DB_NO_DATA] = "no-data",   [HA_DB_STOPPED] = "stopped", [HA_DB_CRASHED] = "crashed",
	[HA_DB_STARTING] = "starting", [HA_DB_RUNNING] = "running",
};
#define DB_STATE_COUNT ((int)(sizeof(db_state_names) / sizeof(db_state_names[0])))

const char *ha_action_name(enum ha_action action)
{
	if ((int)action < 0 || action >= HA_ACT_COUNT_ || !action_names[action])
		return "?";
	return action_names[action];
}

int ha_action_from_name(const char *name, enum ha_action *action)
{
	for (int i = 0; i < HA_ACT_COUNT_; i++) {
		if (action_names[i] && strcmp(action_names[i], name) == 0) {
			*action = (enum ha_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ha_demote_mode_name(enum ha_demote_mode mode)
{
	if ((int)mode < 0 || mode >= HA_DEMOTE_COUNT_ || !demote_names[mode])
		return "?";
	return demote_names[mode];
}

int ha_demote_mode_from_name(const char *name, enum ha_demote_mode *mode)
{
	for (int i = 0; i < HA_DEMOTE_COUNT_; i++) {
		if (demote_names[i] && strcmp(demote_names[i], name) == 0) {
			*mode = (enum ha_demote_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ha_db_state_name(enum ha_db_state state)
{
	if ((int)state < 0 || (int)state >= DB_STATE_COUNT || !db_state_names[state])
		return "?";
	return db_state_names[state];
}

int ha_db_state_from_name(const char *name, enum ha_db_state *state)
{
	for (int i = 0; i < DB_STATE_COUNT; i++) {
		if (db_state_names[i] && strcmp(db_state_names[i], name) == 0) {
			*state = (enum ha_db_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- timing ---------------------------------------------------------------------------- */

/* Saturating arithmetic: times and settings come from outside, and no value may overflow. */
static int64_t sadd(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t ssub(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

int64_t ha_fence_margin_ms(const struct ha_policy *policy, int64_t ttl_ms)
{
	return sadd(policy->retry_timeout_ms,
		    sadd(ttl_ms, HA_DRIFT_DIVISOR - 1) / HA_DRIFT_DIVISOR);
}

int64_t ha_fence_deadline_ms(const struct ha_policy *policy, int64_t renewed_ms,
			     int64_t granted_ttl_ms)
{
	int64_t ttl = policy->ttl_ms;

	/* etcd may grant more than we asked (its minimum TTL); never count on more than either. */
	if (granted_ttl_ms > 0 && granted_ttl_ms < ttl)
		ttl = granted_ttl_ms;
	return ssub(sadd(renewed_ms, ttl), ha_fence_margin_ms(policy, ttl));
}

int64_t ha_failsafe_ping_timeout_ms(const struct ha_policy *policy)
{
	return policy->retry_timeout_ms < HA_FAILSAFE_PING_MAX_MS ? policy->retry_timeout_ms
								  : HA_FAILSAFE_PING_MAX_MS;
}

int64_t ha_leader_deadline_ms(const struct ha_policy *policy, int64_t lease_renewed_ms,
			      int64_t lease_ttl_ms, int64_t failsafe_acked_ms)
{
	int64_t f = 0, ff;

	if (lease_renewed_ms > 0)
		f = ha_fence_deadline_ms(policy, lease_renewed_ms, lease_ttl_ms);
	if (policy->failsafe_mode && failsafe_acked_ms > 0) {
		/* Leave time for the next round of pings while the last one still proves. */
		ff = ssub(ha_fence_deadline_ms(policy, failsafe_acked_ms, 0),
			  ha_failsafe_ping_timeout_ms(policy));
		if (ff > f)
			f = ff;
	}
	return f;
}

int64_t ha_stall_limit_ms(const struct ha_policy *policy)
{
	int64_t cycle = sadd(policy->loop_wait_ms, policy->retry_timeout_ms);

	return sadd(cycle, cycle);
}

int ha_policy_check(const struct ha_policy *policy, char *err, size_t errlen)
{
	int64_t need;

	if (policy->ttl_ms <= 0 || policy->loop_wait_ms <= 0 || policy->retry_timeout_ms <= 0) {
		snprintf(err, errlen,
			 "\"ttl\", \"loop_wait\" and \"retry_timeout\" must be positive");
		return -EINVAL;
	}
	/* Patroni's rule: it lets a leader see one failed renewal and still fence in time. */
	need = sadd(policy->loop_wait_ms, sadd(policy->retry_timeout_ms, policy->retry_timeout_ms));
	if (policy->ttl_ms < need) {
		snprintf(err, errlen,
			 "\"ttl\": %lld ms is too short: it must be at least loop_wait + 2 x "
			 "retry_timeout = %lld ms",
			 (long long)policy->ttl_ms, (long long)need);
		return -EINVAL;
	}
	if (policy->synchronous_mode && policy->synchronous_node_count < 1) {
		snprintf(err, errlen, "\"synchronous_node_count\" must be at least 1");
		return -EINVAL;
	}
	return 0;
}

/* ---- small helpers --------------------------------------------------------------------- */

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
	bool paused;
	bool opengauss;
	int64_t fence;		/* deadline from the lease; 0 = none */
	int64_t failsafe_fence; /* deadline from failsafe acks; 0 = none */
};

static bool name_set(const char *a)
{
	return a[0] != '\0';
}

static bool name_eq(const char *a, const char *b)
{
	return a[0] != '\0' && strncmp(a, b, HA_NAME_MAX) == 0;
}

static int clamp_count(int n)
{
	if (n < 0)
		return 0;
	return n > HA_MEMBERS_MAX ? HA_MEMBERS_MAX : n;
}

static bool names_has(const struct ha_names *set, const char *name)
{
	int n = clamp_count(set->count);

	for (int i = 0; i < n; i++)
		if (name_eq(set->name[i], name))
			return true;
	return false;
}

/* Same members, order ignored. */
static bool names_same(const struct ha_names *a, const struct ha_names *b)
{
	int na = clamp_count(a->count), nb = clamp_count(b->count);

	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!names_has(b, a->name[i]))
			return false;
	return true;
}

static void names_add(struct ha_names *set, const char *name)
{
	int n = clamp_count(set->count);

	if (n >= HA_MEMBERS_MAX || names_has(set, name))
		return;
	memcpy(set->name[n], name, HA_NAME_MAX);
	set->name[n][HA_NAME_MAX - 1] = '\0';
	set->count = n + 1;
}

static void set_name(char *dst, const char *src)
{
	memcpy(dst, src, HA_NAME_MAX);
	dst[HA_NAME_MAX - 1] = '\0';
}

static void set_wake(struct ctx *c, int64_t at_ms)
{
	if (at_ms > 0 && (c->out->wake_by_ms == 0 || at_ms < c->out->wake_by_ms))
		c->out->wake_by_ms = at_ms;
}

/* Sets the action and its reason. Reasons are sized so they cannot be truncated (names are
 * printed with bounded precision); the unit tests hold every reason to that. */
__attribute__((format(printf, 3, 4))) static void act(struct ctx *c, enum ha_action action,
						      const char *fmt, ...)
{
	size_t off = 0;
	va_list ap;
	int n;

	c->out->action = action;
	if (c->paused) {
		memcpy(c->out->reason, "PAUSE: ", 8);
		off = 7;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->out->reason + off, sizeof(c->out->reason) - off, fmt, ap);
	va_end(ap);
	assert(n > 0 && (size_t)n < sizeof(c->out->reason) - off);
}

static const struct ha_member *find_member(const struct ctx *c, const char *name)
{
	int n = clamp_count(c->in->dcs.member_count);

	for (int i = 0; i < n; i++)
		if (name_eq(c->in->dcs.members[i].name, name))
			return &c->in->dcs.members[i];
	return NULL;
}

static uint64_t lag_behind(uint64_t ahead, uint64_t mine)
{
	return ahead > mine ? ahead - mine : 0;
}

static bool sync_active(const struct ctx *c)
{
	return c->in->policy.synchronous_mode && c->in->dcs.sync.present &&
	       name_set(c->in->dcs.sync.leader);
}

/* In synchronous mode only the last sync leader and its listed standbys hold every commit. */
static bool in_sync_set(const struct ctx *c, const char *name)
{
	return name_eq(c->in->dcs.sync.leader, name) || names_has(&c->in->dcs.sync.standbys, name);
}

/* Could member m take over from me? Lag counts against ref_lsn when check_lag is set;
 * synchronous mode restricts to the sync set when check_sync is set. */
static bool member_can_take_over(const struct ctx *c, const struct ha_member *m, bool check_lag,
				 uint64_t ref_lsn, bool check_sync)
{
	if (name_eq(m->name, c->me) || !m->running || m->is_primary || m->tags.nofailover)
		return false;
	if (check_lag && lag_behind(ref_lsn, m->lsn) > c->in->policy.maximum_lag_on_failover_bytes)
		return false;
	if (check_sync && sync_active(c) && !in_sync_set(c, m->name))
		return false;
	return true;
}

/* Is there a member that could be promoted if I stepped down? */
static bool failover_possible(const struct ctx *c, uint64_t ref_lsn, bool check_lag)
{
	int n = clamp_count(c->in->dcs.member_count);

	for (int i = 0; i < n; i++)
		if (member_can_take_over(c, &c->in->dcs.members[i], check_lag, ref_lsn, true))
			return true;
	return false;
}

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

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static bool start_timed_out(const struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (in->policy.primary_start_timeout_ms <= 0)
		return true;
	return in->db.start_since_ms > 0 &&
	       ssub(in->now_ms, in->db.start_since_ms) >= in->policy.primary_start_timeout_ms;
}

static bool sysid_mismatch(const struct ctx *c)
{
	const struct ha_input *in = c->in;

	return in->db.state != HA_DB_NO_DATA && in->dcs.initialize_present &&
	       name_set(in->dcs.initialize) && name_set(in->db.sysid) &&
	       strncmp(in->dcs.initialize, in->db.sysid, HA_SYSID_MAX) != 0;
}

/* ---- the rules ------------------------------------------------------------------------- */

static void ctx_init(struct ctx *c, const struct ha_input *in, struct ha_output *out)
{
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->out = out;
	c->me = in->self.name;
	c->paused = in->policy.paused;
	c->opengauss = in->policy.engine == HA_ENGINE_OPENGAUSS;
	c->holder = in->dcs.leader_present && name_eq(in->dcs.leader, c->me);
	c->primary_running = in->db.state == HA_DB_RUNNING && in->db.is_primary;
	if (c->holder && in->dcs.leader_lease_mine && in->dcs.lease_renewed_ms > 0) {
		c->fence = ha_fence_deadline_ms(&in->policy, in->dcs.lease_renewed_ms,
						in->dcs.lease_ttl_ms);
		c->lease_ok = in->now_ms < c->fence;
	}
	/* Every failsafe member acked me: none of them races before ack + ttl. That proof holds
	 * while etcd is gone (I held the key), and also once it is back and the key expired
	 * meanwhile: then I may race for it again as Patroni does, rather than demote. */
	if (in->policy.failsafe_mode && in->dcs.failsafe_present && in->failsafe.acked_ms > 0 &&
	    (in->dcs.reachable ? !in->dcs.leader_present && names_has(&in->dcs.failsafe, c->me)
			       : c->holder)) {
		c->failsafe_fence = ha_fence_deadline_ms(&in->policy, in->failsafe.acked_ms, 0);
		c->failsafe_ok = in->now_ms < c->failsafe_fence;
	}
	c->keep_primary = c->lease_ok || c->failsafe_ok;
	c->holder_ok = c->holder && c->lease_ok;
}

/* A primary that cannot prove it is the only one must stop accepting writes now. */
static bool must_fence(const struct ctx *c)
{
	return c->primary_running && !c->paused && !c->keep_primary;
}

static void demote(struct ctx *c, enum ha_demote_mode mode, const char *target)
{
	c->out->demote_mode = mode;
	if (target)
		set_name(c->out->target, target);
}

static void decide_fence(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!in->dcs.reachable) {
		demote(c, HA_DEMOTE_OFFLINE, NULL);
		if (in->policy.failsafe_mode && c->holder)
			act(c, HA_ACT_DEMOTE,
			    "demoting self because DCS is not accessible, the leader lease ran out "
			    "and "
			    "not every failsafe member acknowledged me");
		else
			act(c, HA_ACT_DEMOTE,
			    "demoting self because DCS is not accessible and the leader lease can "
			    "no "
			    "longer be proven");
		return;
	}
	if (in->dcs.leader_present && !c->holder) {
		demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, in->dcs.leader);
		act(c, HA_ACT_DEMOTE, "demoting self because \"%.*s\" holds the leader key", NP,
		    in->dcs.leader);
		return;
	}
	if (!in->dcs.leader_present) {
		demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
		act(c, HA_ACT_DEMOTE,
		    "demoting self because postgres runs as primary without the leader key");
		return;
	}
	if (!in->dcs.leader_lease_mine) {
		demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
		act(c, HA_ACT_DEMOTE,
		    "demoting self because the leader key names me but is bound to a lease I do "
		    "not "
		    "keep alive");
		return;
	}
	demote(c, HA_DEMOTE_IMMEDIATE, NULL);
	if (in->dcs.lease_renewed_ms <= 0)
		act(c, HA_ACT_DEMOTE, "demoting self because the leader lease was never renewed");
	else
		act(c, HA_ACT_DEMOTE,
		    "demoting self because failed to renew the leader lease in time (renewed %lld "
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
		act(c, HA_ACT_SHUTDOWN,
		    "shutting down the agent; leaving postgres and the leader key alone");
		return;
	}
	c->out->stop_db = db_up;
	c->out->release_leader = c->holder && in->dcs.leader_lease_mine;
	if (c->out->release_leader)
		act(c, HA_ACT_SHUTDOWN,
		    "shutting down: stopping postgres, then releasing the leader key so a replica "
		    "takes over at once");
	else if (db_up)
		act(c, HA_ACT_SHUTDOWN, "shutting down: stopping postgres");
	else
		act(c, HA_ACT_SHUTDOWN, "shutting down: postgres is not running");
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
		demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
		act(c, HA_ACT_DEMOTE, "cancelling promotion because I lost the leader key");
		return;
	}
	if (busy == HA_ACT_RESTART_PRIMARY && !c->paused) {
		if (!c->holder_ok) {
			demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
			act(c, HA_ACT_DEMOTE,
			    "stopping the primary start because I lost the leader key");
			return;
		}
		if (start_timed_out(c) &&
		    failover_possible(c, in->dcs.optime_lsn, in->dcs.status_present)) {
			demote(c, HA_DEMOTE_IMMEDIATE, NULL);
			act(c, HA_ACT_DEMOTE,
			    "primary did not start within primary_start_timeout (%lld ms): "
			    "stopping it "
			    "and releasing the leader key",
			    (long long)in->policy.primary_start_timeout_ms);
			return;
		}
	}
	if (must_fence(c) && busy != HA_ACT_DEMOTE && busy != HA_ACT_SHUTDOWN) {
		decide_fence(c);
		return;
	}
	act(c, HA_ACT_NONE, "waiting for %s to finish (running for %lld ms)", ha_action_name(busy),
	    (long long)(in->self.busy_since_ms > 0 ? ssub(in->now_ms, in->self.busy_since_ms) : 0));
}

static void decide_no_dcs(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!c->primary_running) {
		act(c, HA_ACT_NONE, "DCS is not accessible");
		return;
	}
	if (c->paused) {
		act(c, HA_ACT_NONE, "DCS is not accessible; postgres keeps running as primary");
		return;
	}
	if (in->policy.failsafe_mode && c->holder && in->dcs.failsafe_present &&
	    !in->failsafe.done) {
		act(c, HA_ACT_PING_FAILSAFE,
		    "DCS is not accessible: asking every failsafe member to acknowledge me");
		return;
	}
	if (c->failsafe_ok && !c->lease_ok) {
		act(c, HA_ACT_NONE,
		    "continue to run as a leader because failsafe mode is enabled and all members "
		    "are accessible");
		return;
	}
	act(c, HA_ACT_NONE,
	    "DCS is not accessible: staying primary while the leader lease lasts (%lld ms left)",
	    (long long)ssub(max64(c->fence, c->failsafe_fence), in->now_ms));
}

static void rejoin(struct ctx *c, const char *leader, const char *why)
{
	if (c->opengauss || c->in->policy.use_pg_rewind) {
		set_name(c->out->target, leader);
		act(c, HA_ACT_REJOIN, "rejoining leader \"%.*s\": %s", NP, leader, why);
		return;
	}
	act(c, HA_ACT_NONE,
	    "not starting: %s, and use_pg_rewind is off; reinitialize this member from \"%.*s\"",
	    why, NP, leader);
}

static void decide_no_data(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const char *src;

	if (c->paused) {
		act(c, HA_ACT_NONE, "data directory is empty: not bootstrapping or cloning");
		return;
	}
	if (c->holder) {
		act(c, HA_ACT_RELEASE_LEADER,
		    "releasing the leader key because my data directory is empty");
		return;
	}
	src = clone_source(c);
	if (src) {
		set_name(c->out->target, src);
		act(c, HA_ACT_CLONE, "creating a replica from \"%.*s\"", NP, src);
		return;
	}
	if (!in->dcs.initialize_present) {
		if (in->self.tags.nofailover) {
			act(c, HA_ACT_WAIT_FOR_BOOTSTRAP,
			    "not bootstrapping because tagged nofailover: waiting for another "
			    "member");
			return;
		}
		act(c, HA_ACT_BOOTSTRAP, "no cluster in the DCS: racing to bootstrap it");
		return;
	}
	if (name_set(in->dcs.initialize))
		act(c, HA_ACT_WAIT_FOR_BOOTSTRAP, "waiting for a leader to clone from");
	else
		act(c, HA_ACT_WAIT_FOR_BOOTSTRAP, "waiting for leader to bootstrap");
}

static int64_t promote_term(const struct ctx *c)
{
	if (!c->opengauss)
		return 0;
	return sadd(max64(c->in->dcs.term, c->in->db.term), 1);
}

static int64_t current_term(const struct ctx *c)
{
	if (!c->opengauss)
		return 0;
	return max64(max64(c->in->dcs.term, c->in->db.term), 1);
}

static void decide_down(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const char *state = ha_db_state_name(in->db.state);

	if (c->paused) {
		if (c->holder && in->dcs.leader_lease_mine) {
			act(c, HA_ACT_RELEASE_LEADER,
			    "released the leader key because postgres is not running");
			return;
		}
		act(c, HA_ACT_NONE, "postgres is %s: not starting it", state);
		return;
	}
	if (c->holder) {
		if (!c->holder_ok) {
			act(c, HA_ACT_NONE,
			    "not starting postgres: I hold the leader key but cannot prove my "
			    "lease");
			return;
		}
		if (in->db.is_primary) {
			if (start_timed_out(c) &&
			    failover_possible(c, in->dcs.optime_lsn, in->dcs.status_present)) {
				act(c, HA_ACT_RELEASE_LEADER,
				    "primary did not start within primary_start_timeout (%lld ms): "
				    "releasing the leader key",
				    (long long)in->policy.primary_start_timeout_ms);
				return;
			}
			c->out->term = current_term(c);
			act(c, HA_ACT_RESTART_PRIMARY,
			    "starting primary after failure: postgres is %s and I hold the leader "
			    "key",
			    state);
			return;
		}
		if (in->self.tags.nofailover) {
			act(c, HA_ACT_RELEASE_LEADER,
			    "releasing the leader key because tagged nofailover");
			return;
		}
		act(c, HA_ACT_START_REPLICA,
		    "starting as read-only because I hold the leader key; promoting once it runs");
		return;
	}
	if (in->dcs.leader_present) {
		if (in->db.is_primary && in->db.state == HA_DB_CRASHED) {
			rejoin(c, in->dcs.leader, "I crashed as a primary");
			return;
		}
		if (in->db.rejoin_needed) {
			rejoin(c, in->dcs.leader, "my history diverged from the leader's");
			return;
		}
		set_name(c->out->target, in->dcs.leader);
		act(c, HA_ACT_START_REPLICA, "starting as a replica of \"%.*s\"", NP,
		    in->dcs.leader);
		return;
	}
	act(c, HA_ACT_START_REPLICA, "no leader: starting read-only without an upstream");
}

static void decide_starting(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!c->paused && in->db.is_primary) {
		if (!c->holder_ok) {
			demote(c, HA_DEMOTE_IMMEDIATE_NOLOCK, NULL);
			act(c, HA_ACT_DEMOTE,
			    "stopping postgres: it is starting as a primary but I do not hold the "
			    "leader key");
			return;
		}
		if (start_timed_out(c) &&
		    failover_possible(c, in->dcs.optime_lsn, in->dcs.status_present)) {
			demote(c, HA_DEMOTE_IMMEDIATE, NULL);
			act(c, HA_ACT_DEMOTE,
			    "primary did not start within primary_start_timeout (%lld ms): "
			    "stopping it "
			    "and releasing the leader key",
			    (long long)in->policy.primary_start_timeout_ms);
			return;
		}
	}
	act(c, HA_ACT_NONE, "waiting for postgres to start");
}

/* Is the peer further ahead than me? openGauss compares (term, lsn), PostgreSQL the LSN. */
static int peer_cmp(const struct ctx *c, const struct ha_peer *p)
{
	if (c->opengauss && p->term != c->in->db.term)
		return p->term > c->in->db.term ? 1 : -1;
	if (p->lsn != c->in->db.lsn)
		return p->lsn > c->in->db.lsn ? 1 : -1;
	return 0;
}

static const struct ha_peer *find_peer(const struct ctx *c, const char *name)
{
	int n = clamp_count(c->in->probe.count);

	for (int i = 0; i < n; i++)
		if (name_eq(c->in->probe.peers[i].name, name))
			return &c->in->probe.peers[i];
	return NULL;
}

static void race(struct ctx *c, const char *fmt_reason)
{
	act(c, HA_ACT_RACE, "%s", fmt_reason);
}

/* No leader key: decide whether to race for it (Patroni's is_healthiest_node). */
static void decide_race(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_failover *fo = &in->dcs.failover;
	bool candidate_me = fo->present && name_eq(fo->candidate, c->me);
	bool former_leader = fo->present && name_eq(fo->leader, c->me);
	uint64_t lag;
	int n;

	if (in->self.tags.nofailover) {
		act(c, HA_ACT_NONE, "no leader, but not racing because tagged nofailover");
		return;
	}
	if (c->paused && !candidate_me) {
		act(c, HA_ACT_NONE, "no leader, but replicas do not race in pause");
		return;
	}
	if (in->self.failsafe_primary_seen_ms > 0 &&
	    ssub(in->now_ms, in->self.failsafe_primary_seen_ms) < in->policy.ttl_ms) {
		act(c, HA_ACT_NONE,
		    "no leader, but not racing: a primary in failsafe mode contacted me %lld ms "
		    "ago",
		    (long long)ssub(in->now_ms, in->self.failsafe_primary_seen_ms));
		return;
	}
	if (in->policy.failsafe_mode && in->dcs.failsafe_present &&
	    !names_has(&in->dcs.failsafe, c->me)) {
		act(c, HA_ACT_NONE,
		    "no leader, but not racing: I am not listed in the failsafe key");
		return;
	}
	if (candidate_me) {
		race(c, "racing for the leader key: I am the manual failover candidate");
		return;
	}
	if (fo->present && name_set(fo->candidate)) {
		const struct ha_peer *cand;

		if (!in->probe.done) {
			act(c, HA_ACT_PROBE_PEERS,
			    "no leader: checking manual failover candidate \"%.*s\"", NP,
			    fo->candidate);
			return;
		}
		cand = find_peer(c, fo->candidate);
		if (cand && cand->reachable && !cand->tags.nofailover) {
			act(c, HA_ACT_NONE,
			    "no leader: manual failover candidate \"%.*s\" is healthy, leaving the "
			    "leader key to it",
			    NP, fo->candidate);
			return;
		}
	}
	lag = lag_behind(in->dcs.optime_lsn, in->db.lsn);
	if (in->dcs.status_present && lag > in->policy.maximum_lag_on_failover_bytes) {
		act(c, HA_ACT_NONE,
		    "no leader, but not racing: %llu bytes behind the last leader position, "
		    "maximum_lag_on_failover is %llu",
		    (unsigned long long)lag,
		    (unsigned long long)in->policy.maximum_lag_on_failover_bytes);
		return;
	}
	if (in->policy.check_timeline && !c->opengauss && in->dcs.cluster_timeline > 0 &&
	    in->db.timeline < in->dcs.cluster_timeline) {
		act(c, HA_ACT_NONE,
		    "no leader, but not racing: my timeline %lld is behind the cluster's %lld",
		    (long long)in->db.timeline, (long long)in->dcs.cluster_timeline);
		return;
	}
	if (in->policy.check_timeline && c->opengauss && in->db.term < in->dcs.term) {
		act(c, HA_ACT_NONE,
		    "no leader, but not racing: my term %lld is behind the cluster's %lld",
		    (long long)in->db.term, (long long)in->dcs.term);
		return;
	}
	if (sync_active(c) && !in_sync_set(c, c->me)) {
		act(c, HA_ACT_NONE,
		    "no leader, but not racing: synchronous mode and I am not a synchronous "
		    "standby");
		return;
	}
	if (!in->probe.done) {
		act(c, HA_ACT_PROBE_PEERS, "no leader: asking the other members before racing");
		return;
	}
	n = clamp_count(in->probe.count);
	for (int i = 0; i < n; i++) {
		const struct ha_peer *p = &in->probe.peers[i];
		int cmp;

		if (!p->reachable || name_eq(p->name, c->me))
			continue;
		if (p->is_primary) {
			act(c, HA_ACT_NONE, "not racing: primary \"%.*s\" is still alive", NP,
			    p->name);
			return;
		}
		if (p->tags.nofailover)
			continue;
		if (sync_active(c) && !in_sync_set(c, p->name))
			continue;
		/* A switchover's former leader steps aside; in sync mode the former leader may
		 * hold WAL nobody acknowledged, which must not stop a synchronous standby. */
		if (fo->present && name_eq(fo->leader, p->name))
			continue;
		if (sync_active(c) && name_eq(in->dcs.sync.leader, p->name))
			continue;
		cmp = peer_cmp(c, p);
		if (cmp > 0) {
			act(c, HA_ACT_NONE, "not racing: \"%.*s\" is further ahead", NP, p->name);
			return;
		}
		if (cmp == 0 && p->tags.failover_priority > in->self.tags.failover_priority) {
			act(c, HA_ACT_NONE,
			    "not racing: \"%.*s\" is as far ahead and has a higher "
			    "failover_priority",
			    NP, p->name);
			return;
		}
	}
	if (former_leader) {
		for (int i = 0; i < n; i++) {
			const struct ha_peer *p = &in->probe.peers[i];

			if (p->reachable && !p->tags.nofailover && !name_eq(p->name, c->me) &&
			    (!sync_active(c) || in_sync_set(c, p->name))) {
				act(c, HA_ACT_NONE,
				    "not racing: I am the switchover's former leader and \"%.*s\" "
				    "can "
				    "take over",
				    NP, p->name);
				return;
			}
		}
	}
	race(c, "racing for the leader key: I am the healthiest node");
}

static void decide_replica(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_failover *fo = &in->dcs.failover;
	bool candidate_me = fo->present && name_eq(fo->candidate, c->me);

	if (c->holder) {
		if (c->paused && !candidate_me) {
			act(c, HA_ACT_RELEASE_LEADER,
			    "released the leader key because postgres is not running as primary");
			return;
		}
		if (!c->holder_ok) {
			act(c, HA_ACT_NONE,
			    "not promoting because failed to update leader lock in DCS");
			return;
		}
		if (in->self.tags.nofailover) {
			act(c, HA_ACT_RELEASE_LEADER,
			    "releasing the leader key because tagged nofailover");
			return;
		}
		c->out->term = promote_term(c);
		if (in->policy.synchronous_mode)
			c->out->sync_placeholder = in->policy.synchronous_mode_strict;
		if (c->opengauss)
			act(c, HA_ACT_PROMOTE,
			    "promoted self to leader by acquiring session lock (term %lld -> %lld)",
			    (long long)in->dcs.term, (long long)c->out->term);
		else
			act(c, HA_ACT_PROMOTE, "promoted self to leader by acquiring session lock");
		return;
	}
	if (in->dcs.leader_present) {
		const char *leader = in->dcs.leader;

		if (c->paused) {
			act(c, HA_ACT_NONE, "no action: I am a replica and \"%.*s\" is the leader",
			    NP, leader);
			return;
		}
		if (in->db.rejoin_needed) {
			rejoin(c, leader, "my history diverged from the leader's");
			return;
		}
		if (!name_eq(in->db.following, leader)) {
			set_name(c->out->target, leader);
			act(c, HA_ACT_FOLLOW, "re-pointing replication to the new leader \"%.*s\"",
			    NP, leader);
			return;
		}
		act(c, HA_ACT_NONE, "no action: I am a replica following leader \"%.*s\"", NP,
		    leader);
		return;
	}
	decide_race(c);
}

/* The leader's handling of the failover key. Returns true when it chose an action. */
static bool leader_failover(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_failover *fo = &in->dcs.failover;
	bool switchover;

	if (!fo->present)
		return false;
	if (fo->scheduled_at_wall_ms > 0) {
		int64_t delta = ssub(fo->scheduled_at_wall_ms, in->now_wall_ms);

		if (c->paused) {
			act(c, HA_ACT_CLEAR_FAILOVER,
			    "clearing a scheduled switchover: not in pause");
			return true;
		}
		if (in->now_wall_ms <= 0) {
			act(c, HA_ACT_NONE, "scheduled switchover waits for a wall clock reading");
			return true;
		}
		if (delta > 0) {
			set_wake(c, sadd(in->now_ms, delta));
			act(c, HA_ACT_NONE,
			    "no action: I am the leader with the lock; switchover scheduled in "
			    "%lld ms",
			    (long long)delta);
			return true;
		}
		if (ssub(0, delta) > sadd(in->policy.loop_wait_ms, in->policy.loop_wait_ms / 2)) {
			act(c, HA_ACT_CLEAR_FAILOVER,
			    "clearing a stale scheduled switchover (%lld ms overdue)",
			    (long long)ssub(0, delta));
			return true;
		}
	}
	if (name_set(fo->leader) && !name_eq(fo->leader, c->me)) {
		act(c, HA_ACT_CLEAR_FAILOVER,
		    "clearing the failover key: it asks \"%.*s\" to step down, but I am the leader",
		    NP, fo->leader);
		return true;
	}
	if (name_eq(fo->candidate, c->me)) {
		act(c, HA_ACT_CLEAR_FAILOVER,
		    "clearing the failover key: its candidate is me, the leader");
		return true;
	}
	if (c->paused && !name_set(fo->candidate)) {
		act(c, HA_ACT_CLEAR_FAILOVER,
		    "clearing the failover key: a switchover in pause needs a candidate");
		return true;
	}
	switchover = name_set(fo->leader);
	if (name_set(fo->candidate)) {
		const struct ha_member *m = find_member(c, fo->candidate);

		/* A failover may pick a lagging or asynchronous node; a switchover may not. */
		if (!m || !member_can_take_over(c, m, switchover, in->db.lsn, switchover)) {
			act(c, HA_ACT_CLEAR_FAILOVER,
			    "clearing the failover key: candidate \"%.*s\" is not healthy", NP,
			    fo->candidate);
			return true;
		}
		demote(c, HA_DEMOTE_GRACEFUL, fo->candidate);
		act(c, HA_ACT_DEMOTE, "switchover to \"%.*s\": demoting myself", NP, fo->candidate);
		return true;
	}
	if (!failover_possible(c, in->db.lsn, true)) {
		act(c, HA_ACT_CLEAR_FAILOVER,
		    "clearing the failover key: no healthy member to switch over to");
		return true;
	}
	demote(c, HA_DEMOTE_GRACEFUL, NULL);
	act(c, HA_ACT_DEMOTE, "switchover: demoting myself");
	return true;
}

/* Standbys that may be synchronous, best first: already confirmed ones, then by position. */
static void sync_desired(const struct ctx *c, struct ha_names *want)
{
	const struct ha_input *in = c->in;
	int n = clamp_count(in->db.replication_count);
	int limit = in->policy.synchronous_node_count < 1 ? 1 : in->policy.synchronous_node_count;
	bool taken[HA_MEMBERS_MAX] = { false };

	memset(want, 0, sizeof(*want));
	if (limit > HA_MEMBERS_MAX)
		limit = HA_MEMBERS_MAX;
	while (want->count < limit) {
		int best = -1;

		for (int i = 0; i < n; i++) {
			const struct ha_replication *r = &in->db.replication[i];
			const struct ha_replication *b =
				best >= 0 ? &in->db.replication[best] : NULL;
			const struct ha_member *m = find_member(c, r->name);

			if (taken[i] || !r->streaming || !m || m->tags.nosync ||
			    name_eq(r->name, c->me) || names_has(want, r->name))
				continue;
			if (!b || (r->sync && !b->sync) ||
			    (r->sync == b->sync && r->flush_lsn > b->flush_lsn))
				best = i;
		}
		if (best < 0)
			break;
		taken[best] = true;
		names_add(want, in->db.replication[best].name);
	}
}

static bool replication_confirmed(const struct ctx *c, const char *name)
{
	int n = clamp_count(c->in->db.replication_count);

	for (int i = 0; i < n; i++)
		if (name_eq(c->in->db.replication[i].name, name))
			return c->in->db.replication[i].streaming && c->in->db.replication[i].sync;
	return false;
}

/* Synchronous replication, one step per cycle. A name is in /sync only while it is also in
 * synchronous_standby_names and confirmed synchronous: remove from /sync before PG, add to PG
 * before /sync. Returns true when it chose an action. */
static bool leader_sync(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_sync_key *key = &in->dcs.sync;
	bool key_mine = key->present && name_eq(key->leader, c->me);
	struct ha_names want, keep, grow;
	bool placeholder;
	int n;

	if (!in->policy.synchronous_mode) {
		if (in->db.sync_names.count > 0 || in->db.sync_placeholder) {
			act(c, HA_ACT_SET_SYNC_NAMES,
			    "synchronous mode is off: clearing synchronous_standby_names");
			return true;
		}
		if (key->present) {
			act(c, HA_ACT_DELETE_SYNC_KEY,
			    "synchronous mode is off: deleting the sync key");
			return true;
		}
		return false;
	}
	sync_desired(c, &want);
	memset(&keep, 0, sizeof(keep));
	if (key_mine) {
		n = clamp_count(key->standbys.count);
		for (int i = 0; i < n; i++)
			if (names_has(&want, key->standbys.name[i]) &&
			    replication_confirmed(c, key->standbys.name[i]))
				names_add(&keep, key->standbys.name[i]);
	}
	if (!key_mine || !names_same(&keep, &key->standbys)) {
		c->out->sync = keep;
		act(c, HA_ACT_WRITE_SYNC_KEY,
		    key_mine ? "removing standbys that are no longer synchronous from the sync key"
			     : "taking over the sync key as the new leader");
		return true;
	}
	placeholder = in->policy.synchronous_mode_strict && want.count == 0;
	if (!names_same(&want, &in->db.sync_names) || placeholder != in->db.sync_placeholder) {
		c->out->sync = want;
		c->out->sync_placeholder = placeholder;
		if (placeholder)
			act(c, HA_ACT_SET_SYNC_NAMES,
			    "no standby can be synchronous: blocking writes "
			    "(synchronous_mode_strict)");
		else
			act(c, HA_ACT_SET_SYNC_NAMES,
			    "setting synchronous_standby_names to %d standby(s)", want.count);
		return true;
	}
	memset(&grow, 0, sizeof(grow));
	for (int i = 0; i < want.count; i++)
		if (replication_confirmed(c, want.name[i]))
			names_add(&grow, want.name[i]);
	if (!names_same(&grow, &key->standbys)) {
		c->out->sync = grow;
		act(c, HA_ACT_WRITE_SYNC_KEY,
		    "adding confirmed synchronous standbys to the sync key");
		return true;
	}
	return false;
}

static void decide_primary(struct ctx *c)
{
	const struct ha_input *in = c->in;

	if (!c->holder) {
		/* Only reachable in pause: outside it, must_fence demoted us already. */
		if (in->dcs.leader_present) {
			act(c, HA_ACT_NONE,
			    "running as primary while \"%.*s\" holds the leader key", NP,
			    in->dcs.leader);
			return;
		}
		if (in->self.tags.nofailover) {
			act(c, HA_ACT_NONE,
			    "running as primary without the leader key; tagged nofailover");
			return;
		}
		race(c, "running as primary without the leader key: racing for it");
		return;
	}
	if (!c->holder_ok) {
		act(c, HA_ACT_NONE, "running as primary, but cannot prove my leader lease");
		return;
	}
	if (leader_failover(c))
		return;
	if (name_set(in->db.sysid) &&
	    (!in->dcs.initialize_present || !name_set(in->dcs.initialize))) {
		act(c, HA_ACT_WRITE_INITIALIZE,
		    "writing my system identifier into the initialize key");
		return;
	}
	if (c->paused) {
		act(c, HA_ACT_NONE, "no action: I am the leader with the lock");
		return;
	}
	if (leader_sync(c))
		return;
	act(c, HA_ACT_NONE, "no action: I am the leader with the lock");
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
		act(c, HA_ACT_TILT, "no action for one cycle: %s", why);
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
			demote(c, HA_DEMOTE_IMMEDIATE, NULL);
			act(c, HA_ACT_DEMOTE,
			    "demoting self: data directory system identifier \"%.*s\" is not the "
			    "cluster's \"%.*s\"",
			    HA_SYSID_MAX - 1, in->db.sysid, HA_SYSID_MAX - 1, in->dcs.initialize);
			return;
		}
		act(c, HA_ACT_HALT,
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
		act(c, HA_ACT_REBIND_LEADER_KEY,
		    "the leader key names me but is bound to another lease: rebinding it to mine");
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
			decide_primary(c);
		else
			decide_replica(c);
		return;
	}
	act(c, HA_ACT_NONE, "unknown database state %d: waiting", (int)in->db.state);
}

void ha_decide(const struct ha_input *in, struct ha_output *out)
{
	struct ctx c;

	memset(out, 0, sizeof(*out));
	ctx_init(&c, in, out);
	out->leader = c.holder && in->dcs.leader_lease_mine && c.keep_primary;
	out->fence_deadline_ms =
		max64(c.lease_ok ? c.fence : 0, c.failsafe_ok ? c.failsafe_fence : 0);
	if (out->fence_deadline_ms == 0)
		out->fence_deadline_ms = c.fence;
	decide(&c);
	/* A leader must be asked again before its proof runs out, whatever the loop_wait. */
	if (c.primary_running || c.holder)
		set_wake(&c, out->fence_deadline_ms);
}
