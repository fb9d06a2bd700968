/*
 * ha_fixtures.c - the named ha_decide fixtures (see ha_fixtures.h).
 */
#include "ha_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fix_set(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len) {
		fprintf(stderr, "fixture value too long: \"%s\"\n", src);
		abort();
	}
	memcpy(dst, src, n + 1);
}

void fix_names_add(struct ha_names *set, const char *name)
{
	if (set->count >= HA_MEMBERS_MAX)
		abort();
	fix_set(set->name[set->count], MEMBER_NAME_MAX, name);
	set->count++;
}

struct ha_member *fix_member(struct ha_input *in, const char *name, bool running, bool primary,
			     unsigned long long lsn)
{
	struct ha_member *m = NULL;

	for (int i = 0; i < in->dcs.member_count; i++)
		if (strcmp(in->dcs.members[i].name, name) == 0)
			m = &in->dcs.members[i];
	if (!m) {
		if (in->dcs.member_count >= HA_MEMBERS_MAX)
			abort();
		m = &in->dcs.members[in->dcs.member_count++];
	}
	memset(m, 0, sizeof(*m));
	fix_set(m->name, sizeof(m->name), name);
	m->running = running;
	m->is_primary = primary;
	m->lsn = lsn;
	m->tags.failover_priority = 1;
	m->tags.sync_priority = 1;
	return m;
}

void fix_member_remove(struct ha_input *in, const char *name)
{
	for (int i = 0; i < in->dcs.member_count; i++) {
		if (strcmp(in->dcs.members[i].name, name) != 0)
			continue;
		memmove(&in->dcs.members[i], &in->dcs.members[i + 1],
			(size_t)(in->dcs.member_count - i - 1) * sizeof(in->dcs.members[0]));
		in->dcs.member_count--;
		return;
	}
}

struct ha_peer *fix_peer(struct ha_input *in, const char *name, bool reachable, bool primary,
			 unsigned long long lsn)
{
	struct ha_peer *p;

	if (in->probe.count >= HA_MEMBERS_MAX)
		abort();
	p = &in->probe.peers[in->probe.count++];
	memset(p, 0, sizeof(*p));
	fix_set(p->name, sizeof(p->name), name);
	p->reachable = reachable;
	p->is_primary = primary;
	p->lsn = lsn;
	p->term = 1;
	p->tags.failover_priority = 1;
	in->probe.done = true;
	return p;
}

struct ha_replication *fix_replication(struct ha_input *in, const char *name, bool streaming,
				       bool sync, unsigned long long flush_lsn)
{
	struct ha_replication *r;

	if (in->db.replication_count >= HA_MEMBERS_MAX)
		abort();
	r = &in->db.replication[in->db.replication_count++];
	memset(r, 0, sizeof(*r));
	fix_set(r->name, sizeof(r->name), name);
	r->streaming = streaming;
	r->sync = sync;
	r->flush_lsn = flush_lsn;
	return r;
}

void fix_cluster(struct ha_input *in, const char *self)
{
	memset(in, 0, sizeof(*in));
	in->now_ms = FIX_NOW_MS;
	in->now_wall_ms = FIX_WALL_MS;
	in->last_call_ms = FIX_NOW_MS - 1000;
	in->last_call_wall_ms = FIX_WALL_MS - 1000;

	in->policy.ttl_ms = 5000;
	in->policy.loop_wait_ms = 1000;
	in->policy.retry_timeout_ms = 1000;
	in->policy.maximum_lag_on_failover_bytes = 1048576;
	in->policy.primary_start_timeout_ms = 30000;
	in->policy.synchronous_node_count = 1;
	in->policy.use_pg_rewind = true;
	in->policy.engine = HA_ENGINE_POSTGRES;

	fix_set(in->self.name, sizeof(in->self.name), self);
	in->self.tags.failover_priority = 1;

	in->dcs.reachable = true;
	in->dcs.initialize_present = true;
	fix_set(in->dcs.initialize, sizeof(in->dcs.initialize), FIX_SYSID);
	in->dcs.lease_renewed_ms = FIX_NOW_MS - 100;
	in->dcs.lease_ttl_ms = 5000;
	in->dcs.status_present = true;
	in->dcs.optime_lsn = FIX_LSN;
	in->dcs.cluster_timeline = 1;
	fix_member(in, "node1", true, true, FIX_LSN);
	fix_member(in, "node2", true, false, FIX_LSN);
	fix_member(in, "node3", true, false, FIX_LSN);

	in->db.state = HA_DB_NO_DATA;
	in->db.timeline = 1;
	in->db.term = 1;
}

static void running_db(struct ha_input *in, bool primary)
{
	in->db.state = HA_DB_RUNNING;
	in->db.is_primary = primary;
	fix_set(in->db.sysid, sizeof(in->db.sysid), FIX_SYSID);
	in->db.lsn = FIX_LSN;
}

void fix_primary(struct ha_input *in)
{
	fix_cluster(in, "node1");
	in->dcs.leader_present = true;
	fix_set(in->dcs.leader, sizeof(in->dcs.leader), "node1");
	in->dcs.leader_lease_mine = true;
	running_db(in, true);
	fix_replication(in, "node2", true, false, FIX_LSN);
	fix_replication(in, "node3", true, false, FIX_LSN);
}

void fix_replica(struct ha_input *in)
{
	fix_cluster(in, "node2");
	in->dcs.leader_present = true;
	fix_set(in->dcs.leader, sizeof(in->dcs.leader), "node1");
	running_db(in, false);
	fix_set(in->db.following, sizeof(in->db.following), "node1");
}

void fix_leaderless(struct ha_input *in)
{
	fix_replica(in);
	in->dcs.leader_present = false;
	in->dcs.leader[0] = '\0';
	fix_member_remove(in, "node1");
}

void fix_leaderless_probed(struct ha_input *in)
{
	fix_leaderless(in);
	fix_peer(in, "node3", true, false, FIX_LSN);
}

void fix_empty(struct ha_input *in)
{
	fix_cluster(in, "node1");
	in->dcs.initialize_present = false;
	in->dcs.initialize[0] = '\0';
	in->dcs.status_present = false;
	in->dcs.optime_lsn = 0;
	in->dcs.cluster_timeline = 0;
	in->dcs.member_count = 0;
	memset(in->dcs.members, 0, sizeof(in->dcs.members));
}

bool fix_names_has(const struct ha_names *set, const char *name)
{
	for (int i = 0; i < set->count; i++)
		if (strcmp(set->name[i], name) == 0)
			return true;
	return false;
}

void fix_names_remove(struct ha_names *set, const char *name)
{
	for (int i = 0; i < set->count; i++) {
		if (strcmp(set->name[i], name) != 0)
			continue;
		memmove(set->name[i], set->name[i + 1],
			(size_t)(set->count - i - 1) * sizeof(set->name[0]));
		set->count--;
		return;
	}
}
