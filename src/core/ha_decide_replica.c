/*
 * ha_decide_replica.c - the rules for a running replica: follow the leader (or rejoin it when
 * diverged), and without a leader, the race for the key (Patroni's is_healthiest_node: lag,
 * probed peers, failover priority, synchronous mode, a manual failover's candidate); promote once
 * the key is mine.
 */
#include "ha_decide_internal.h"

#include "lsn.h"

#include <stdio.h>

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

static int64_t promote_term(const struct ctx *c)
{
	if (!c->opengauss)
		return 0;
	return sadd(max64(c->in->dcs.term, c->in->db.term), 1);
}

/* No leader key: decide whether to race for it (Patroni's is_healthiest_node). */
/* Quorum commit, before promoting (Patroni's _process_quorum_prepromote): name the sync key's
 * members (the former leader and the voters) but me, waiting for as many as keep the key's
 * invariant; the leader's quorum steps take it from there. */
static void quorum_prepromote(struct ctx *c)
{
	const struct ha_sync_key *key = &c->in->dcs.sync;
	bool active = key->present && name_set(key->leader);
	int quorum = active ? key_quorum(key) : 0, numsync;
	struct ha_names sync;

	memset(&sync, 0, sizeof(sync));
	if (active && !name_eq(key->leader, c->me))
		hd_set_name(sync.name[sync.count++], key->leader);
	for (int i = 0;
	     active && i < clamp_count(key->standbys.count) && sync.count < HA_MEMBERS_MAX; i++)
		if (!name_eq(key->standbys.name[i], c->me) &&
		    !hd_names_has(&sync, key->standbys.name[i]))
			hd_set_name(sync.name[sync.count++], key->standbys.name[i]);
	/* len(leader + voters) - quorum - 1, one more when I was not among them */
	numsync = (active ? 1 + clamp_count(key->standbys.count) : 0) - quorum - 1;
	if (!(active && (name_eq(key->leader, c->me) || hd_names_has(&key->standbys, c->me))))
		numsync++;
	if (numsync > sync.count) /* a key naming a member twice, or me among more than fit */
		numsync = sync.count;
	if (numsync < (c->in->policy.synchronous_mode_strict ? 1 : 0))
		numsync = c->in->policy.synchronous_mode_strict ? 1 : 0;
	c->out->sync = sync;
	c->out->sync_num = numsync;
	c->out->sync_any = true;
	c->out->sync_placeholder = numsync >= 1 && sync.count == 0;
}

void hd_decide_race(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_failover *fo = &in->dcs.failover;
	bool candidate_me = fo->present && name_eq(fo->candidate, c->me);
	bool former_leader = fo->present && name_eq(fo->leader, c->me);
	/* Patroni's quorum_commit_mode_is_active(): quorum mode and a sync key with a leader */
	bool quorum = in->policy.synchronous_quorum && hd_sync_active(c);
	int votes = quorum && hd_in_sync_set(c, c->me) ? 0 : -1, ahead = 0;
	uint64_t lag;
	int n;

	if (in->self.tags.nofailover) {
		hd_act(c, HA_ACT_NONE, "no leader, but not racing because tagged nofailover");
		return;
	}
	if (c->paused && !candidate_me) {
		hd_act(c, HA_ACT_NONE, "no leader, but replicas do not race in pause");
		return;
	}
	if (in->self.failsafe_primary_seen_ms > 0 &&
	    ssub(in->now_ms, in->self.failsafe_primary_seen_ms) < in->policy.ttl_ms) {
		hd_act(c, HA_ACT_NONE,
		       "no leader, but not racing: a primary in failsafe mode contacted me %lld ms "
		       "ago",
		       (long long)ssub(in->now_ms, in->self.failsafe_primary_seen_ms));
		return;
	}
	if (in->policy.failsafe_mode && in->dcs.failsafe_present &&
	    !hd_names_has(&in->dcs.failsafe, c->me)) {
		hd_act(c, HA_ACT_NONE,
		       "no leader, but not racing: I am not listed in the failsafe key");
		return;
	}
	if (candidate_me) {
		hd_race(c, "racing for the leader key: I am the manual failover candidate");
		return;
	}
	if (fo->present && name_set(fo->candidate)) {
		const struct ha_peer *cand;

		if (!in->probe.done) {
			hd_act(c, HA_ACT_PROBE_PEERS,
			       "no leader: checking manual failover candidate \"%.*s\"", NP,
			       fo->candidate);
			return;
		}
		cand = find_peer(c, fo->candidate);
		if (cand && cand->reachable && !cand->tags.nofailover) {
			hd_act(c, HA_ACT_NONE,
			       "no leader: manual failover candidate \"%.*s\" is healthy, leaving "
			       "the "
			       "leader key to it",
			       NP, fo->candidate);
			return;
		}
	}
	lag = lag_behind(in->dcs.optime_lsn, in->db.lsn);
	if (in->dcs.status_present && lag > in->policy.maximum_lag_on_failover_bytes) {
		hd_act(c, HA_ACT_NONE,
		       "no leader, but not racing: %llu bytes behind the last leader position, "
		       "maximum_lag_on_failover is %llu",
		       (unsigned long long)lag,
		       (unsigned long long)in->policy.maximum_lag_on_failover_bytes);
		return;
	}
	if (in->policy.check_timeline && !c->opengauss && in->dcs.cluster_timeline > 0 &&
	    in->db.timeline < in->dcs.cluster_timeline) {
		hd_act(c, HA_ACT_NONE,
		       "no leader, but not racing: my timeline %lld is behind the cluster's %lld",
		       (long long)in->db.timeline, (long long)in->dcs.cluster_timeline);
		return;
	}
	if (in->policy.check_timeline && c->opengauss && in->db.term < in->dcs.term) {
		hd_act(c, HA_ACT_NONE,
		       "no leader, but not racing: my term %lld is behind the cluster's %lld",
		       (long long)in->db.term, (long long)in->dcs.term);
		return;
	}
	/* Quorum commit lets any node race: it needs the voters' votes instead. */
	if (hd_sync_active(c) && !quorum && !hd_in_sync_set(c, c->me)) {
		hd_act(c, HA_ACT_NONE,
		       "no leader, but not racing: synchronous mode and I am not a synchronous "
		       "standby");
		return;
	}
	if (!in->probe.done) {
		hd_act(c, HA_ACT_PROBE_PEERS, "no leader: asking the other members before racing");
		return;
	}
	n = clamp_count(in->probe.count);
	for (int i = 0; i < n; i++) {
		const struct ha_peer *p = &in->probe.peers[i];
		int cmp;

		if (!p->reachable || name_eq(p->name, c->me))
			continue;
		if (p->is_primary) {
			hd_act(c, HA_ACT_NONE, "not racing: primary \"%.*s\" is still alive", NP,
			       p->name);
			return;
		}
		/* a nofailover voter cannot lead, but its vote counts (quorum commit) */
		if (p->tags.nofailover && !(quorum && hd_in_sync_set(c, p->name)))
			continue;
		if (hd_sync_active(c) && !hd_in_sync_set(c, p->name))
			continue;
		/* A switchover's former leader steps aside. */
		if (fo->present && name_eq(fo->leader, p->name))
			continue;
		cmp = peer_cmp(c, p);
		if (cmp > 0) {
			/* In sync mode the former leader may hold WAL nobody acknowledged, which
			 * must not stop a synchronous standby. */
			ahead++;
			if (hd_sync_active(c) && name_eq(in->dcs.sync.leader, p->name))
				continue;
			hd_act(c, HA_ACT_NONE, "not racing: \"%.*s\" is further ahead", NP,
			       p->name);
			return;
		}
		if (p->lsn == 0)
			continue; /* votes only from nodes with a running database */
		if (quorum && hd_in_sync_set(c, p->name))
			votes++;
		if (hd_sync_active(c) && name_eq(in->dcs.sync.leader, p->name))
			continue; /* its failover_priority does not hold a standby back */
		if (quorum && !hd_in_sync_set(c, p->name))
			continue;
		if (cmp == 0 && p->tags.failover_priority > in->self.tags.failover_priority) {
			hd_act(c, HA_ACT_NONE,
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
			    (!hd_sync_active(c) || hd_in_sync_set(c, p->name))) {
				hd_act(c, HA_ACT_NONE,
				       "not racing: I am the switchover's former leader and "
				       "\"%.*s\" "
				       "can "
				       "take over",
				       NP, p->name);
				return;
			}
		}
	}
	/* At least one in any quorum of voters holds the latest commit: votes from that many
	 * voters not ahead of me prove I hold it. The former leader needs none when nobody is
	 * ahead of it. */
	if (quorum && votes < in->dcs.sync.quorum &&
	    !(ahead == 0 && name_eq(in->dcs.sync.leader, c->me))) {
		hd_act(c, HA_ACT_NONE,
		       "not racing: %d of the %d voters the sync key's quorum needs are not ahead "
		       "of me",
		       votes < 0 ? 0 : votes, in->dcs.sync.quorum);
		return;
	}
	hd_race(c, "racing for the leader key: I am the healthiest node");
}

/* A running replica with a leader: streams from its upstream (hd_upstream), re-pointed when
 * that changes; under nostream it has none and restores WAL from the archive. */
static void follow_upstream(struct ctx *c, const char *leader)
{
	const struct ha_input *in = c->in;
	const char *up = hd_upstream(c, leader);

	if (!name_set(up)) {
		if (in->db.has_upstream) {
			hd_act(c, HA_ACT_FOLLOW,
			       "tagged nostream: removing the replication connection, WAL comes "
			       "from the archive only");
			return;
		}
		hd_act(c, HA_ACT_NONE,
		       "no action: I am a replica restoring WAL from the archive (nostream), "
		       "leader \"%.*s\"",
		       NP, leader);
		return;
	}
	if (name_eq(in->db.following, up)) {
		if (name_eq(up, leader))
			hd_act(c, HA_ACT_NONE,
			       "no action: I am a replica following leader \"%.*s\"", NP, leader);
		else
			hd_act(c, HA_ACT_NONE,
			       "no action: I am a replica streaming from \"%.*s\" (replicatefrom), "
			       "leader \"%.*s\"",
			       NP, up, NP, leader);
		return;
	}
	hd_set_name(c->out->target, up);
	if (!name_eq(up, leader))
		hd_act(c, HA_ACT_FOLLOW, "re-pointing replication to \"%.*s\" (replicatefrom)", NP,
		       up);
	else if (name_set(in->self.tags.replicatefrom) &&
		 !name_eq(in->self.tags.replicatefrom, c->me))
		hd_act(c, HA_ACT_FOLLOW,
		       "re-pointing replication to the leader \"%.*s\": replicatefrom member "
		       "\"%.*s\" is not running and streaming",
		       NP, leader, NP, in->self.tags.replicatefrom);
	else
		hd_act(c, HA_ACT_FOLLOW, "re-pointing replication to the new leader \"%.*s\"", NP,
		       leader);
}

/* A running replica whose upstream's timeline forked off before its replay position: it holds
 * WAL the new timeline does not have (an async failover with lag, WAL streamed from an old
 * primary) and PostgreSQL retries forever. Patroni's rewind check ("needs rewind"): pg_rewind
 * against the leader, or a new copy when remove_data_directory_on_diverged_timelines. */
static void rejoin_forked(struct ctx *c, const char *leader)
{
	const struct ha_input *in = c->in;
	char why[160], fork[LSN_TEXT_MAX], replay[LSN_TEXT_MAX];

	lsn_format(in->db.fork_lsn, fork);
	lsn_format(in->db.replay_lsn, replay);
	if (in->db.fork_lsn == 0)
		snprintf(why, sizeof(why),
			 "timeline %lld of my upstream is not a child of my timeline",
			 (long long)in->db.fork_timeline);
	else
		snprintf(why, sizeof(why),
			 "timeline %lld of my upstream forked off at %s, before my replay "
			 "position %s",
			 (long long)in->db.fork_timeline, fork, replay);
	if (in->policy.use_pg_rewind || in->policy.reinit_on_diverged) {
		hd_set_name(c->out->target, leader);
		hd_act(c, HA_ACT_REJOIN, "rejoining leader \"%.*s\" with %s: %s", NP, leader,
		       in->policy.use_pg_rewind ? "pg_rewind" : "a new copy", why);
		return;
	}
	hd_act(c, HA_ACT_NONE,
	       "waiting: %s, and use_pg_rewind and remove_data_directory_on_diverged_timelines "
	       "are off; reinitialize this member from \"%.*s\"",
	       why, NP, leader);
}

void hd_decide_replica(struct ctx *c)
{
	const struct ha_input *in = c->in;
	const struct ha_failover *fo = &in->dcs.failover;
	bool candidate_me = fo->present && name_eq(fo->candidate, c->me);

	if (c->holder) {
		if (c->paused && !candidate_me) {
			hd_act(c, HA_ACT_RELEASE_LEADER,
			       "released the leader key because postgres is not running as "
			       "primary");
			return;
		}
		if (!c->holder_ok) {
			hd_act(c, HA_ACT_NONE,
			       "not promoting because failed to update leader lock in DCS");
			return;
		}
		if (in->self.tags.nofailover) {
			hd_act(c, HA_ACT_RELEASE_LEADER,
			       "releasing the leader key because tagged nofailover");
			return;
		}
		if (in->policy.standby_cluster) {
			if (in->db.following_remote) {
				hd_act(c, HA_ACT_NONE,
				       "no action: I am the standby leader with the lock");
				return;
			}
			c->out->remote = true;
			hd_act(c, HA_ACT_FOLLOW,
			       "promoted self to a standby leader by acquiring session lock: "
			       "following the remote primary");
			return;
		}
		c->out->term = promote_term(c);
		if (c->out->term > HA_TERM_MAX) {
			c->out->term = 0;
			hd_act(c, HA_ACT_NONE,
			       "not promoting: the next term would exceed openGauss's limit %lld "
			       "(cluster term %lld, mine %lld; opengauss.md 2.8)",
			       HA_TERM_MAX, (long long)in->dcs.term, (long long)in->db.term);
			return;
		}
		/* The race saw me in the sync set on the view before it; the sync key's last leader
		 * may have dropped me since (its last write before its lease ran out). Only a
		 * member the key names holds every acknowledged commit. */
		if (hd_sync_active(c) && !in->policy.synchronous_quorum && !candidate_me &&
		    !hd_in_sync_set(c, c->me)) {
			hd_act(c, HA_ACT_RELEASE_LEADER,
			       "releasing the leader key: synchronous mode and the sync key "
			       "no longer names me");
			return;
		}
		if (in->policy.synchronous_quorum) {
			quorum_prepromote(c);
		} else if (in->policy.synchronous_mode) {
			/* strict: the key will name none, so a commit waits for whichever member
			 * streams first, not for the next cycle after it does */
			if (in->policy.synchronous_mode_strict)
				hd_sync_strict_any(c);
			c->out->sync_key_first =
				!(in->dcs.sync.present && name_eq(in->dcs.sync.leader, c->me) &&
				  in->dcs.sync.standbys.count == 0);
		}
		if (c->opengauss)
			hd_act(c, HA_ACT_PROMOTE,
			       "promoted self to leader by acquiring session lock (term %lld -> "
			       "%lld)",
			       (long long)in->dcs.term, (long long)c->out->term);
		else
			hd_act(c, HA_ACT_PROMOTE,
			       "promoted self to leader by acquiring session lock");
		return;
	}
	if (in->dcs.leader_present) {
		const char *leader = in->dcs.leader;

		if (c->paused) {
			hd_act(c, HA_ACT_NONE,
			       "no action: I am a replica and \"%.*s\" is the leader", NP, leader);
			return;
		}
		if (in->db.rejoin_needed) {
			hd_rejoin(c, leader, "my history diverged from the leader's");
			return;
		}
		if (in->db.fork_timeline > 0 && !c->opengauss) {
			rejoin_forked(c, leader);
			return;
		}
		follow_upstream(c, leader);
		return;
	}
	hd_decide_race(c);
}
