/*
 * Exhaustive sweep of ha_decide over a lattice of inputs, checked against the invariants that
 * make it safe (STYLE.md, issue 5):
 *   - never promote without holding the key on a provable lease;
 *   - never race while the key is held, beyond the lag limit, with nofailover, or outside the
 *     sync set (a manual failover candidate is the operator's explicit exception to lag/sync);
 *   - a running primary without a provable lease (or failsafe acks) always demotes, unless paused;
 *   - a stall or clock jump gives TILT (fencing excepted), paused gives no automatic role change;
 *   - no DCS writes while the DCS is unreachable;
 *   - always a reason; the same input always gives the same output.
 * A second sweep walks the synchronous-replication steps to a fixpoint and checks that /sync
 * never names a standby that is not synchronous.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ha_decide.h"
#include "ha_fixtures.h"

/* One axis of the lattice per field; the sweep visits every combination. */
enum {
	REACH,
	LEADER,
	DB,
	LAG,
	NOFO,
	SYNC,
	PAUSE,
	LEASE,
	FKEY,
	PROBE,
	STALL,
	FAILSAFE,
	INIT,
	ENGINE,
	AXES
};
static const int radix[AXES] = {
	[REACH] = 2,  /* DCS reachable? */
	[LEADER] = 4, /* leader key: absent, me on my lease, me on a foreign lease, other */
	[DB] = 7,     /* no data, stopped replica, stopped primary, crashed primary, starting
			   primary, running replica, running primary */
	[LAG] = 2,    /* within / beyond maximum_lag_on_failover */
	[NOFO] = 2,   /* tagged nofailover */
	[SYNC] = 3,   /* sync mode off, on with me in /sync, on without me */
	[PAUSE] = 2,  /* paused */
	[LEASE] = 3,  /* renewed just now, past the fence deadline, never */
	[FKEY] = 4,   /* failover key: none, candidate me, candidate node3, switchover me->node3 */
	[PROBE] = 4,  /* not probed, all behind, node3 ahead, node3 still primary */
	[STALL] = 3,  /* no stall, stall, busy promoting */
	[FAILSAFE] = 3, /* off, on and acked, on and not acked */
	[INIT] = 2,	/* initialize key present, absent */
	[ENGINE] = 2,	/* postgres, opengauss */
};

static const char *const axis_names[AXES] = {
	"reach", "leader",   "db",    "lag",   "nofailover", "sync", "paused",
	"lease", "failover", "probe", "stall", "failsafe",   "init", "engine",
};

static void build(struct ha_input *in, const int *v)
{
	fix_cluster(in, "node2");
	fix_member(in, "node2", true, false, FIX_LSN);
	in->dcs.reachable = v[REACH] == 0;

	switch (v[LEADER]) {
	case 0:
		break;
	case 1:
	case 2:
		in->dcs.leader_present = true;
		fix_set(in->dcs.leader, MEMBER_NAME_MAX, "node2");
		in->dcs.leader_lease_mine = v[LEADER] == 1;
		break;
	default:
		in->dcs.leader_present = true;
		fix_set(in->dcs.leader, MEMBER_NAME_MAX, "node1");
		break;
	}

	static const struct {
		enum ha_db_state state;
		bool primary;
	} dbs[7] = {
		{ HA_DB_NO_DATA, false }, { HA_DB_STOPPED, false }, { HA_DB_STOPPED, true },
		{ HA_DB_CRASHED, true },  { HA_DB_STARTING, true }, { HA_DB_RUNNING, false },
		{ HA_DB_RUNNING, true },
	};
	in->db.state = dbs[v[DB]].state;
	in->db.is_primary = dbs[v[DB]].primary;
	if (in->db.state != HA_DB_NO_DATA)
		fix_set(in->db.sysid, HA_SYSID_MAX, FIX_SYSID);
	in->db.lsn = FIX_LSN;
	if (v[LAG])
		in->db.lsn = FIX_LSN - in->policy.maximum_lag_on_failover_bytes - 1;
	fix_set(in->db.following, MEMBER_NAME_MAX, "node1");
	if (in->db.is_primary && in->db.state == HA_DB_RUNNING) {
		fix_replication(in, "node1", true, false, FIX_LSN);
		fix_replication(in, "node3", true, false, FIX_LSN);
	}

	in->self.tags.nofailover = v[NOFO];

	if (v[SYNC]) {
		in->policy.synchronous_mode = true;
		in->dcs.sync.present = true;
		fix_set(in->dcs.sync.leader, MEMBER_NAME_MAX, "node1");
		fix_names_add(&in->dcs.sync.standbys, v[SYNC] == 1 ? "node2" : "node3");
	}
	in->policy.paused = v[PAUSE];

	if (v[LEASE] == 1)
		in->dcs.lease_renewed_ms = FIX_NOW_MS - in->policy.ttl_ms + 1000;
	else if (v[LEASE] == 2)
		in->dcs.lease_renewed_ms = 0;

	if (v[FKEY]) {
		in->dcs.failover.present = true;
		fix_set(in->dcs.failover.candidate, MEMBER_NAME_MAX,
			v[FKEY] == 1 ? "node2" : "node3");
		if (v[FKEY] == 3)
			fix_set(in->dcs.failover.leader, MEMBER_NAME_MAX, "node2");
	}

	if (v[PROBE]) {
		struct ha_peer *p = fix_peer(in, "node3", true, false, FIX_LSN - 10);

		fix_peer(in, "node1", false, false, 0);
		if (v[PROBE] == 2)
			p->lsn = FIX_LSN + 10;
		if (v[PROBE] == 3)
			p->is_primary = true;
	}

	if (v[STALL] == 1)
		in->last_call_ms = FIX_NOW_MS - ha_stall_limit_ms(&in->policy) - 1;
	if (v[STALL] == 2) {
		in->self.busy = HA_ACT_PROMOTE;
		in->self.busy_since_ms = FIX_NOW_MS - 500;
	}

	if (v[FAILSAFE]) {
		in->policy.failsafe_mode = true;
		in->dcs.failsafe_present = true;
		fix_names_add(&in->dcs.failsafe, "node1");
		fix_names_add(&in->dcs.failsafe, "node2");
		fix_names_add(&in->dcs.failsafe, "node3");
		in->failsafe.done = true;
		in->failsafe.acked_ms = v[FAILSAFE] == 1 ? FIX_NOW_MS - 100 : 0;
	}

	if (v[INIT]) {
		in->dcs.initialize_present = false;
		in->dcs.initialize[0] = '\0';
	}
	if (v[ENGINE]) {
		in->policy.engine = HA_ENGINE_OPENGAUSS;
		in->dcs.term = 3;
		in->db.term = 3;
	}
}

static char failure[1024];

#define CHECK(cond, ...)                                                 \
	do {                                                             \
		if (!(cond)) {                                           \
			snprintf(failure, sizeof(failure), __VA_ARGS__); \
			return false;                                    \
		}                                                        \
	} while (0)

static bool is_name(const char *a, const char *b)
{
	return strncmp(a, b, MEMBER_NAME_MAX) == 0;
}

/* The invariants. Returns false with `failure` describing the broken one. */
static bool invariants_hold(const struct ha_input *in, const struct ha_output *out)
{
	const char *me = in->self.name;
	enum ha_action a = out->action;
	bool holder = in->dcs.leader_present && is_name(in->dcs.leader, me);
	int64_t fence =
		ha_fence_deadline_ms(&in->policy, in->dcs.lease_renewed_ms, in->dcs.lease_ttl_ms);
	bool lease_ok = holder && in->dcs.leader_lease_mine && in->dcs.lease_renewed_ms > 0 &&
			in->now_ms < fence;
	bool listed = false;

	for (int i = 0; i < in->dcs.failsafe.count; i++)
		listed = listed || is_name(in->dcs.failsafe.name[i], me);
	/* Failsafe acks are proof while etcd is gone (I held the key), and once it is back with
	 * the key expired (I may race for it again). */
	bool failsafe_ok = in->policy.failsafe_mode &&
			   (in->dcs.reachable ? !in->dcs.leader_present && listed : holder) &&
			   in->dcs.failsafe_present && in->failsafe.acked_ms > 0 &&
			   in->now_ms < ha_fence_deadline_ms(&in->policy, in->failsafe.acked_ms, 0);
	bool primary_running = in->db.state == HA_DB_RUNNING && in->db.is_primary;
	bool stall = in->last_call_ms > 0 &&
		     in->now_ms - in->last_call_ms > ha_stall_limit_ms(&in->policy);
	bool candidate_me = in->dcs.failover.present && is_name(in->dcs.failover.candidate, me);
	uint64_t lag = in->dcs.optime_lsn > in->db.lsn ? in->dcs.optime_lsn - in->db.lsn : 0;
	bool lag_ok = !in->dcs.status_present || lag <= in->policy.maximum_lag_on_failover_bytes;
	bool sync_ok = true;
	bool peer_primary = false;

	if (in->policy.synchronous_mode && in->dcs.sync.present) {
		sync_ok = is_name(in->dcs.sync.leader, me);
		for (int i = 0; i < in->dcs.sync.standbys.count; i++)
			sync_ok = sync_ok || is_name(in->dcs.sync.standbys.name[i], me);
	}
	for (int i = 0; i < in->probe.count; i++)
		peer_primary = peer_primary ||
			       (in->probe.peers[i].reachable && in->probe.peers[i].is_primary);

	CHECK(a >= 0 && a < HA_ACT_COUNT_, "action %d out of range", (int)a);
	CHECK(out->reason[0] != '\0', "empty reason");
	CHECK(memchr(out->reason, '\0', sizeof(out->reason)) != NULL, "reason not terminated");
	CHECK(strchr(out->reason, '\n') == NULL, "reason spans lines");

	if (in->self.shutdown_requested)
		return true; /* the shutdown sweep checks the rest */

	if (a == HA_ACT_PROMOTE) {
		CHECK(holder && in->dcs.leader_lease_mine, "promote without holding the key");
		CHECK(lease_ok, "promote without a provable lease");
		CHECK(in->dcs.reachable, "promote without the DCS");
		CHECK(!in->self.tags.nofailover, "promote with nofailover");
		CHECK(!stall, "promote in TILT");
		CHECK(in->db.state == HA_DB_RUNNING && !in->db.is_primary, "promote a non-replica");
		CHECK(!in->policy.paused || candidate_me, "automatic promotion in pause");
		if (in->policy.engine == HA_ENGINE_OPENGAUSS)
			CHECK(out->term > in->dcs.term && out->term > in->db.term,
			      "promotion does not raise the term");
	}
	if (a == HA_ACT_RACE) {
		CHECK(in->dcs.reachable, "race without the DCS");
		CHECK(!in->dcs.leader_present, "race while the key is held");
		CHECK(!in->self.tags.nofailover, "race with nofailover");
		CHECK(!stall, "race in TILT");
		CHECK(candidate_me || primary_running || lag_ok, "race beyond the lag limit");
		CHECK(candidate_me || primary_running || sync_ok, "race outside the sync set");
		CHECK(candidate_me || primary_running || in->probe.done,
		      "race without asking peers");
		CHECK(candidate_me || primary_running || !peer_primary,
		      "race while a peer is still primary");
		CHECK(!in->policy.paused || candidate_me || primary_running,
		      "replica races in pause");
	}
	if (primary_running && !in->policy.paused && !lease_ok && !failsafe_ok)
		CHECK(a == HA_ACT_DEMOTE, "primary without a provable lease does not demote");
	if (a == HA_ACT_DEMOTE) {
		CHECK(out->demote_mode != HA_DEMOTE_NONE, "demote without a mode");
		CHECK(in->db.is_primary || in->self.busy == HA_ACT_PROMOTE, "demote a non-primary");
		CHECK(!in->policy.paused || out->demote_mode == HA_DEMOTE_GRACEFUL,
		      "automatic demotion in pause");
	}
	if (stall)
		CHECK(a == HA_ACT_TILT || a == HA_ACT_DEMOTE, "stall without TILT");
	if (out->tilt)
		CHECK(stall, "TILT without a stall");
	if (in->policy.paused)
		CHECK(a != HA_ACT_START_REPLICA && a != HA_ACT_RESTART_PRIMARY &&
			      a != HA_ACT_REJOIN && a != HA_ACT_CLONE && a != HA_ACT_BOOTSTRAP &&
			      a != HA_ACT_FOLLOW,
		      "automatic action in pause");
	if (!in->dcs.reachable)
		CHECK(a != HA_ACT_RACE && a != HA_ACT_PROMOTE && a != HA_ACT_BOOTSTRAP &&
			      a != HA_ACT_CLONE && a != HA_ACT_RELEASE_LEADER &&
			      a != HA_ACT_CLEAR_FAILOVER && a != HA_ACT_WRITE_SYNC_KEY &&
			      a != HA_ACT_DELETE_SYNC_KEY && a != HA_ACT_WRITE_INITIALIZE &&
			      a != HA_ACT_REBIND_LEADER_KEY && a != HA_ACT_START_REPLICA &&
			      a != HA_ACT_RESTART_PRIMARY,
		      "acts on the DCS or the database without the DCS");
	if (a == HA_ACT_RESTART_PRIMARY)
		CHECK(lease_ok && in->db.is_primary, "restart as primary without a provable lease");
	if (a == HA_ACT_CLONE || a == HA_ACT_FOLLOW || a == HA_ACT_REJOIN) {
		CHECK(out->target[0] != '\0' ||
			      (a == HA_ACT_CLONE && in->policy.clone_without_leader &&
			       !in->dcs.leader_present),
		      "%s without a target", ha_action_name(a));
		CHECK(!is_name(out->target, me), "%s targets myself", ha_action_name(a));
	}
	if (a == HA_ACT_BOOTSTRAP)
		CHECK(!in->dcs.initialize_present && !in->dcs.leader_present &&
			      in->db.state == HA_DB_NO_DATA && !in->self.tags.nofailover,
		      "bootstrap into an existing cluster");
	if (out->leader)
		CHECK(holder && in->dcs.leader_lease_mine && (lease_ok || failsafe_ok),
		      "claims leadership without proof");
	if (primary_running && !in->policy.paused && a != HA_ACT_DEMOTE)
		CHECK(out->wake_by_ms > in->now_ms,
		      "a running primary is not told when to re-check");
	return true;
}

static void describe(const int *v, char *buf, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < AXES && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s=%d ", axis_names[i], v[i]);
}

static void test_sweep_invariants_hold_on_the_whole_lattice(void **state)
{
	static struct ha_input in;
	static struct ha_output out, again;
	int v[AXES] = { 0 };
	long visited = 0, per_action[HA_ACT_COUNT_] = { 0 };

	(void)state;
	for (;;) {
		build(&in, v);
		ha_decide(&in, &out);
		if (!invariants_hold(&in, &out)) {
			char where[256];

			describe(v, where, sizeof(where));
			fail_msg("%s\n  at %s\n  got %s: %s", failure, where,
				 ha_action_name(out.action), out.reason);
		}
		if (visited % 5 == 0) {
			ha_decide(&in, &again);
			assert_memory_equal(&out, &again, sizeof(out));
		}
		per_action[out.action]++;
		visited++;

		int axis = 0;

		while (axis < AXES && ++v[axis] == radix[axis])
			v[axis++] = 0;
		if (axis == AXES)
			break;
	}
	printf("sweep: %ld inputs\n", visited);
	for (int i = 0; i < HA_ACT_COUNT_; i++)
		if (per_action[i])
			printf("  %-20s %ld\n", ha_action_name((enum ha_action)i), per_action[i]);
	/* The lattice must reach the decisions that matter, or it proves little. */
	assert_true(per_action[HA_ACT_PROMOTE] > 0);
	assert_true(per_action[HA_ACT_RACE] > 0);
	assert_true(per_action[HA_ACT_DEMOTE] > 0);
	assert_true(per_action[HA_ACT_TILT] > 0);
	assert_true(per_action[HA_ACT_PROBE_PEERS] > 0);
	assert_true(per_action[HA_ACT_BOOTSTRAP] > 0);
	assert_true(per_action[HA_ACT_RESTART_PRIMARY] > 0);
}

/* Names that fill every field to the limit still give a complete, unbroken reason. */
static void test_sweep_longest_names_fit_every_reason(void **state)
{
	static struct ha_input in;
	static struct ha_output out;
	char a[MEMBER_NAME_MAX], b[MEMBER_NAME_MAX];
	int v[AXES] = { 0 };

	(void)state;
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memset(b, 'b', sizeof(b) - 1);
	b[sizeof(b) - 1] = '\0';
	for (;;) {
		build(&in, v);
		if (in.dcs.leader_present && !is_name(in.dcs.leader, in.self.name))
			fix_set(in.dcs.leader, MEMBER_NAME_MAX, a);
		if (in.dcs.failover.present && !is_name(in.dcs.failover.candidate, "node2"))
			fix_set(in.dcs.failover.candidate, MEMBER_NAME_MAX, b);
		if (in.probe.count > 0)
			fix_set(in.probe.peers[0].name, MEMBER_NAME_MAX, b);
		ha_decide(&in, &out);
		assert_true(out.reason[0] != '\0');
		assert_true(strlen(out.reason) < sizeof(out.reason) - 1);

		int axis = 0;

		/* every axis but ENGINE and INIT, to keep this sweep short */
		while (axis < AXES - 2 && ++v[axis] == radix[axis])
			v[axis++] = 0;
		if (axis == AXES - 2)
			break;
	}
}

static void test_sweep_shutdown_always_stops_and_releases_only_its_key(void **state)
{
	static struct ha_input in;
	static struct ha_output out;
	int v[AXES] = { 0 };

	(void)state;
	for (v[LEADER] = 0; v[LEADER] < radix[LEADER]; v[LEADER]++) {
		for (v[DB] = 0; v[DB] < radix[DB]; v[DB]++) {
			for (v[PAUSE] = 0; v[PAUSE] < 2; v[PAUSE]++) {
				for (v[STALL] = 0; v[STALL] < radix[STALL]; v[STALL]++) {
					build(&in, v);
					in.self.shutdown_requested = true;
					ha_decide(&in, &out);
					assert_int_equal(out.action, HA_ACT_SHUTDOWN);
					if (v[PAUSE]) {
						assert_false(out.stop_db);
						assert_false(out.release_leader);
						continue;
					}
					assert_int_equal(out.stop_db,
							 in.db.state == HA_DB_RUNNING ||
								 in.db.state == HA_DB_STARTING);
					assert_int_equal(out.release_leader, v[LEADER] == 1);
				}
			}
		}
	}
}

/* ---- synchronous replication: walk the steps to a fixpoint ---- */

static bool set_has(const struct ha_names *s, const char *n)
{
	for (int i = 0; i < s->count; i++)
		if (is_name(s->name[i], n))
			return true;
	return false;
}

static bool confirmed(const struct ha_input *in, const char *n)
{
	for (int i = 0; i < in->db.replication_count; i++)
		if (is_name(in->db.replication[i].name, n))
			return in->db.replication[i].streaming && in->db.replication[i].sync;
	return false;
}

/* What PostgreSQL does after a reload: the listed standbys that stream become synchronous. */
static void postgres_confirms(struct ha_input *in)
{
	for (int i = 0; i < in->db.replication_count; i++) {
		struct ha_replication *r = &in->db.replication[i];

		r->sync = r->streaming && set_has(&in->db.sync_names, r->name);
	}
}

static void test_sync_steps_converge_and_never_overstate_the_sync_key(void **state)
{
	static struct ha_input in;
	static struct ha_output out;
	static const char *const names[2] = { "node2", "node3" };
	long runs = 0;

	(void)state;
	/* node2/node3 replication: absent, streaming, connected but not streaming (catching up);
	 * ssn subset; key subset; key leader me, other, absent; strict; node count 1 or 2 */
	for (int r = 0; r < 9; r++)
		for (int ssn = 0; ssn < 4; ssn++)
			for (int key = 0; key < 4; key++)
				for (int kl = 0; kl < 3; kl++)
					for (int strict = 0; strict < 2; strict++)
						for (int count = 1; count <= 2; count++) {
							fix_primary(&in);
							in.db.replication_count = 0;
							in.policy.synchronous_mode = true;
							in.policy.synchronous_mode_strict = strict;
							in.policy.synchronous_node_count = count;
							for (int i = 0; i < 2; i++) {
								int st = i == 0 ? r % 3 : r / 3;

								if (st > 0)
									fix_replication(
										&in, names[i],
										st == 1, false,
										FIX_LSN -
											(uint64_t)
												i);
								if (ssn & (1 << i))
									fix_names_add(
										&in.db.sync_names,
										names[i]);
								if (key & (1 << i))
									fix_names_add(
										&in.dcs.sync
											 .standbys,
										names[i]);
							}
							/* PostgreSQL's view is consistent: exactly the listed, streaming standbys are
		 * synchronous (FIRST <number listed> (...)) */
							postgres_confirms(&in);
							in.dcs.sync.present = kl < 2;
							if (kl < 2)
								fix_set(in.dcs.sync.leader,
									MEMBER_NAME_MAX,
									kl == 0 ? "node1"
										: "node3");
							else
								in.dcs.sync.standbys.count = 0;

							int step;

							for (step = 0; step < 8; step++) {
								bool key_mine =
									in.dcs.sync.present &&
									is_name(in.dcs.sync.leader,
										"node1");

								ha_decide(&in, &out);
								if (out.action == HA_ACT_NONE)
									break;
								if (out.action ==
								    HA_ACT_WRITE_SYNC_KEY) {
									/* every name written is already in the key or listed and confirmed */
									for (int i = 0;
									     i < out.sync.count;
									     i++)
										assert_true(
											(key_mine &&
											 set_has(&in.dcs.sync
													  .standbys,
												 out.sync.name
													 [i])) ||
											(set_has(&in.db.sync_names,
												 out.sync.name
													 [i]) &&
											 confirmed(
												 &in,
												 out.sync.name
													 [i])));
									in.dcs.sync.present = true;
									fix_set(in.dcs.sync.leader,
										MEMBER_NAME_MAX,
										"node1");
									in.dcs.sync.standbys =
										out.sync;
								} else if (out.action ==
									   HA_ACT_SET_SYNC_NAMES) {
									/* a standby leaves PostgreSQL's list only after it left the key */
									for (int i = 0;
									     i <
									     in.db.sync_names.count;
									     i++)
										if (!set_has(
											    &out.sync,
											    in.db.sync_names
												    .name[i]))
											assert_false(
												key_mine &&
												set_has(&in.dcs.sync
														 .standbys,
													in.db.sync_names
														.name[i]));
									in.db.sync_names = out.sync;
									in.db.sync_num =
										out.sync_num;
									in.db.sync_placeholder =
										out.sync_placeholder;
									postgres_confirms(&in);
								} else {
									fail_msg(
										"unexpected action "
										"%s: %s",
										ha_action_name(
											out.action),
										out.reason);
								}
							}
							assert_true(step < 8);
							/* fixpoint: the key is mine and names only listed standbys,
							 * confirmed ones, except in strict mode with nobody to
							 * name: then the key keeps the last ones known to hold
							 * every commit, and the server waits for them (Patroni's
							 * _handle_synchronous_strict_mode) */
							int streaming = (r % 3 == 1) + (r / 3 == 1);
							int want = streaming < count ? streaming
										     : count;
							bool kept = strict && want == 0;

							assert_true(in.dcs.sync.present &&
								    is_name(in.dcs.sync.leader,
									    "node1"));
							for (int i = 0;
							     i < in.dcs.sync.standbys.count; i++) {
								assert_true(
									set_has(&in.db.sync_names,
										in.dcs.sync.standbys
											.name[i]));
								assert_true(
									kept ||
									confirmed(
										&in,
										in.dcs.sync.standbys
											.name[i]));
							}
							/* as many synchronous standbys as asked for and available */
							if (!kept)
								assert_int_equal(
									in.dcs.sync.standbys.count,
									want);
							/* kept with a key that names none: FIRST 1 of the
							 * members that may stream (node2, node3 run), never
							 * the placeholder */
							assert_false(in.db.sync_placeholder);
							if (kept &&
							    in.dcs.sync.standbys.count == 0) {
								assert_int_equal(
									in.db.sync_names.count, 2);
								assert_int_equal(in.db.sync_num, 1);
							}
							runs++;
						}
	printf("sync sweep: %ld starting states converged\n", runs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_invariants_hold_on_the_whole_lattice),
		cmocka_unit_test(test_sweep_longest_names_fit_every_reason),
		cmocka_unit_test(test_sweep_shutdown_always_stops_and_releases_only_its_key),
		cmocka_unit_test(test_sync_steps_converge_and_never_overstate_the_sync_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
