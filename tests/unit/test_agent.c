/*
 * Unit tests for the agent's glue: from a Patroni configuration to the modules' options,
 * reading what a peer's /patroni says during a leader race, and talking to a peer (a real REST
 * server on 127.0.0.1) with the cluster's REST credentials.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"
#include "agent_state.h"
#include "buf.h"
#include "clock.h"
#include "hostport.h"

/* A Patroni configuration as an operator writes it today. */
static const char fixture_yaml[] = "scope: batman\n"
				   "name: node1\n"
				   "restapi:\n"
				   "  listen: 127.0.0.1:8009\n"
				   "  connect_address: 127.0.0.1:8009\n"
				   "  allowlist: [10.0.0.0/8, 127.0.0.1]\n"
				   "etcd3:\n"
				   "  hosts: 127.0.0.1:2379\n"
				   "bootstrap:\n"
				   "  dcs:\n"
				   "    ttl: 5\n"
				   "    loop_wait: 1\n"
				   "    retry_timeout: 1\n"
				   "    maximum_lag_on_failover: 2097152\n"
				   "    synchronous_mode: true\n"
				   "    postgresql:\n"
				   "      use_pg_rewind: true\n"
				   "      parameters:\n"
				   "        max_connections: 100\n"
				   "        wal_log_hints: 'on'\n"
				   "  initdb:\n"
				   "  - encoding: UTF8\n"
				   "  - data-checksums\n"
				   "  pg_hba:\n"
				   "  - host replication replicator 127.0.0.1/32 md5\n"
				   "postgresql:\n"
				   "  listen: 127.0.0.1:5433\n"
				   "  connect_address: 127.0.0.1:5433\n"
				   "  data_dir: /var/lib/pg/data\n"
				   "  bin_dir: /usr/lib/postgresql/15/bin\n"
				   "  authentication:\n"
				   "    superuser: {username: postgres, password: zalando}\n"
				   "    replication: {username: replicator, password: rep-pass}\n"
				   "  parameters:\n"
				   "    max_connections: 200\n"
				   "tags:\n"
				   "  failover_priority: 0\n";

static struct cfg *load_fixture(void)
{
	struct cfg *c = calloc(1, sizeof(*c));
	struct cfg_diags *d = calloc(1, sizeof(*d));

	assert_non_null(c);
	assert_non_null(d);
	cfg_diags_init(d);
	assert_int_equal(
		cfg_load_text("fixture.yml", fixture_yaml, strlen(fixture_yaml), NULL, c, d), 0);
	free(d);
	return c;
}

static void test_split_host_port_forms(void **state)
{
	char host[64];
	int port = 0;

	(void)state;
	assert_int_equal(hostport_split("10.0.0.1:5432", 0, host, sizeof(host), &port), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 5432);
	assert_int_equal(hostport_split("[::1]:8008", 0, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 8008);
	assert_int_equal(hostport_split("0.0.0.0,::", 5432, host, sizeof(host), &port), 0);
	assert_int_equal(port, 5432);
	assert_int_equal(hostport_split(":8008", 0, host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
}

static void test_split_host_port_rejects_bad_ports(void **state)
{
	char host[8] = "keep";
	int port = 7;

	(void)state;
	assert_int_equal(hostport_split("h:70000", 0, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_split("h:x", 0, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_split("h", 0, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_split("[::1", 0, host, sizeof(host), &port), -EINVAL);
	assert_int_equal(hostport_split("a-very-long-host-name:1", 0, host, sizeof(host), &port),
			 -ENAMETOOLONG);
	assert_string_equal(host, "keep");
	assert_int_equal(port, 7);
}

static void test_db_options_local_parameters_win(void **state)
{
	struct cfg *c = load_fixture();
	struct db_options *o = calloc(1, sizeof(*o));
	char err[256] = "";
	const char *max_conn = NULL;

	(void)state;
	assert_int_equal(agent_db_options(c, &c->bootstrap.dcs, o, err, sizeof(err)), 0);
	assert_string_equal(o->listen_host, "127.0.0.1");
	assert_int_equal(o->listen_port, 5433);
	assert_string_equal(o->superuser.username, "postgres");
	assert_string_equal(o->replication.password, "rep-pass");
	for (int i = 0; i < o->parameters.count; i++)
		if (strcmp(o->parameters.items[i].name, "max_connections") == 0)
			max_conn = o->parameters.items[i].value;
	assert_non_null(max_conn);
	assert_string_equal(max_conn, "200");
	assert_true(o->use_pg_rewind);
	assert_int_equal(o->initdb_option_count, 2);
	assert_string_equal(o->initdb_options[0], "encoding=UTF8");
	assert_string_equal(o->initdb_options[1], "data-checksums");
	assert_int_equal(o->hba_count, 1);
	free(o);
	free(c);
}

static void test_rest_options_from_restapi(void **state)
{
	struct cfg *c = load_fixture();
	struct rest_options o;
	char err[256] = "";

	(void)state;
	assert_int_equal(agent_rest_options(c, &o, err, sizeof(err)), 0);
	assert_int_equal(o.listen_port, 8009);
	assert_int_equal(o.allowlist_count, 2);
	assert_int_equal(o.allowlist[0].prefix_len, 8);
	free(c);
}

static void test_rest_options_reject_host_name_in_allowlist(void **state)
{
	struct cfg *c = load_fixture();
	struct rest_options o;
	char err[256] = "";

	(void)state;
	memcpy(c->restapi.allowlist.items[0], "db.example", sizeof("db.example"));
	assert_int_equal(agent_rest_options(c, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "db.example"));
	free(c);
}

static void test_policy_and_tags_follow_patroni_rules(void **state)
{
	struct cfg *c = load_fixture();
	struct ha_policy p;
	struct ha_tags t;

	(void)state;
	agent_ha_policy(c, &c->bootstrap.dcs, &p);
	assert_int_equal(p.ttl_ms, 5000);
	assert_int_equal(p.loop_wait_ms, 1000);
	assert_int_equal(p.retry_timeout_ms, 1000);
	assert_int_equal(p.maximum_lag_on_failover_bytes, 2097152);
	assert_true(p.synchronous_mode);
	assert_int_equal(p.synchronous_node_count, 1);
	agent_ha_tags(c, &t);
	/* failover_priority 0 without an explicit nofailover means nofailover (Patroni 3.2+). */
	assert_true(t.nofailover);
	free(c);
}

/* ---- the loop (agent_state.h) on a state built by hand ---- */

struct loop_world {
	struct agent a;
	struct dcs_cluster cluster;
	struct db_status dbs;
	struct ha_input in;
};

/* A keepalive of a new lease sent at sent_ms, as the loop sees it (observe.c) and as the lease
 * thread keeps it (lease.c). */
static void world_renewed(struct loop_world *w, int64_t sent_ms)
{
	static uint64_t lease;

	lease_noted(w->a.lease, ++lease, sent_ms);
	w->a.lease_renewed_ms = sent_ms;
}

static void loop_world_free(struct loop_world *w)
{
	lease_keeper_free(w->a.lease);
	free(w);
}

/* The loop's state of a running primary that holds the key on a lease renewed 100 ms ago. */
static void loop_world_init(struct loop_world *w, const struct cfg *c, int64_t ttl_ms,
			    int64_t loop_wait_ms, int64_t retry_ms)
{
	struct ha_policy policy;

	lease_keeper_free(w->a.lease);
	memset(w, 0, sizeof(*w));
	w->a.cfg = c;
	w->a.cluster = &w->cluster;
	w->a.dbs = &w->dbs;
	w->a.in = &w->in;
	w->a.dyn = c->bootstrap.dcs;
	w->a.dyn.ttl_ms = ttl_ms;
	w->a.dyn.loop_wait_ms = loop_wait_ms;
	w->a.dyn.retry_timeout_ms = retry_ms;
	agent_ha_policy(c, &w->a.dyn, &policy);
	/* The lease thread's state, not its thread: lease 1 renewed 100 ms ago. */
	w->a.lease = lease_keeper_new(NULL, &policy);
	assert_non_null(w->a.lease);
	world_renewed(w, clock_mono_ms() - 100);
	w->dbs.role = DB_ROLE_PRIMARY;
	w->dbs.running = true;
	w->cluster.has_leader = true;
	assert_int_equal(buf_copy(w->cluster.leader, sizeof(w->cluster.leader), c->name), 0);
}

/* What ha_decide sees in the same state: reachable etcd (or not), the key on my lease. */
static void loop_world_decide(const struct loop_world *w, bool reachable, struct ha_output *out)
{
	struct ha_input *in = calloc(1, sizeof(*in));

	assert_non_null(in);
	agent_ha_policy(w->a.cfg, &w->a.dyn, &in->policy);
	assert_int_equal(buf_copy(in->self.name, sizeof(in->self.name), w->a.cfg->name), 0);
	in->now_ms = clock_mono_ms();
	in->last_call_ms = in->now_ms - w->a.dyn.loop_wait_ms;
	in->now_wall_ms = 1790000000000LL;
	in->last_call_wall_ms = in->now_wall_ms - w->a.dyn.loop_wait_ms;
	in->dcs.reachable = reachable;
	in->dcs.initialize_present = true;
	in->dcs.leader_present = true;
	assert_int_equal(buf_copy(in->dcs.leader, sizeof(in->dcs.leader), w->a.cfg->name), 0);
	in->dcs.leader_lease_mine = true;
	in->dcs.lease_renewed_ms = w->a.lease_renewed_ms;
	in->dcs.failsafe_present = w->a.dyn.failsafe_mode;
	if (w->a.dyn.failsafe_mode)
		assert_int_equal(buf_copy(in->dcs.failsafe.name[in->dcs.failsafe.count++],
					  sizeof(in->dcs.failsafe.name[0]), w->a.cfg->name),
				 0);
	in->failsafe.done = true;
	in->failsafe.acked_ms = w->a.failsafe_acked_ms;
	in->db.state = HA_DB_RUNNING;
	in->db.is_primary = true;
	ha_decide(in, out);
	free(in);
}

static void test_fence_cap_is_the_decisions_fence_deadline(void **state)
{
	static const int64_t timings[][3] = { { 5000, 1000, 1000 },
					      { 30000, 10000, 10000 },
					      { 10000, 2000, 3000 },
					      { 60000, 10000, 20000 } };
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct ha_output out;

	(void)state;
	assert_non_null(w);
	for (size_t i = 0; i < sizeof(timings) / sizeof(timings[0]); i++) {
		loop_world_init(w, c, timings[i][0], timings[i][1], timings[i][2]);
		loop_world_decide(w, true, &out);
		assert_true(out.leader);
		assert_int_equal(fence_cap(&w->a), out.fence_deadline_ms);
		assert_int_equal(fence_cap(&w->a), w->a.lease_renewed_ms + timings[i][0] -
							   (timings[i][2] + timings[i][0] / 100));
	}
	loop_world_free(w);
	free(c);
}

static void test_fence_cap_in_failsafe_leaves_one_ping_before_the_deadline(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct ha_output out;
	struct ha_policy policy;

	(void)state;
	assert_non_null(w);
	/* Patroni's defaults: etcd silent since the renewal, a full failsafe round just now. */
	loop_world_init(w, c, 30000, 10000, 10000);
	w->a.dyn.failsafe_mode = true;
	world_renewed(w, clock_mono_ms() - 15000);
	w->a.failsafe_acked_ms = clock_mono_ms() - 10;
	loop_world_decide(w, false, &out);
	assert_true(out.leader);
	agent_ha_policy(c, &w->a.dyn, &policy);
	assert_int_equal(fence_cap(&w->a),
			 out.fence_deadline_ms - ha_failsafe_ping_timeout_ms(&policy));
	assert_int_equal(fence_cap(&w->a), ha_leader_deadline_ms(&policy, w->a.lease_renewed_ms, 0,
								 w->a.failsafe_acked_ms));
	loop_world_free(w);
	free(c);
}

static void test_fence_cap_only_for_the_running_primary_with_the_key(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));

	(void)state;
	assert_non_null(w);
	loop_world_init(w, c, 5000, 1000, 1000);
	assert_true(fence_cap(&w->a) > 0);
	w->dbs.role = DB_ROLE_REPLICA;
	assert_int_equal(fence_cap(&w->a), 0);
	loop_world_init(w, c, 5000, 1000, 1000);
	w->a.dyn.pause = true;
	assert_int_equal(fence_cap(&w->a), 0);
	loop_world_init(w, c, 5000, 1000, 1000);
	memcpy(w->cluster.leader, "other", 6);
	assert_int_equal(fence_cap(&w->a), 0);
	loop_world_init(w, c, 5000, 1000, 1000);
	world_renewed(w, clock_mono_ms() - 4000); /* past renewed + 3950 */
	assert_int_equal(fence_cap(&w->a), 0);
	loop_world_free(w);
	free(c);
}

static void record_deadline(void *ctx, int64_t deadline_ms)
{
	*(int64_t *)ctx = deadline_ms;
}

/* The one fence deadline (lease.c): from the newest successful renewal of the current lease,
 * only while the loop says this node leads, handed to the guardian's hook as it moves while the
 * loop has armed the guardian (0 otherwise). */
static void test_lease_fence_deadline_follows_renewals_and_leading(void **state)
{
	struct ha_policy p = { .ttl_ms = 2000, .loop_wait_ms = 500, .retry_timeout_ms = 500 };
	struct lease_keeper *k = lease_keeper_new(NULL, &p);
	struct lease_state st;
	int64_t seen = -1;

	(void)state;
	assert_non_null(k);
	lease_set_deadline_hook(k, record_deadline, &seen);
	lease_noted(k, 7, 10000);
	assert_int_equal(lease_fence_deadline_ms(k), 0); /* not leading */
	assert_int_equal(seen, 0);
	lease_set_leading(k, true, 0);
	/* 10000 + 2000 - (500 + 20) */
	assert_int_equal(lease_fence_deadline_ms(k), 11480);
	assert_int_equal(seen, 0); /* the loop has not armed the guardian yet */
	lease_arm_guardian(k, true, 0);
	assert_int_equal(seen, 11480);
	lease_noted(k, 7, 10400);
	assert_int_equal(seen, 11880);
	lease_noted(k, 7, 10200); /* an older answer never moves it back */
	assert_int_equal(lease_fence_deadline_ms(k), 11880);
	lease_noted(k, 8, 9000); /* a new lease starts over */
	assert_int_equal(lease_fence_deadline_ms(k), 10480);
	lease_get(k, &st);
	assert_int_equal(st.lease, 8);
	assert_int_equal(st.renewed_ms, 9000);
	assert_true(st.ok);
	/* Disarmed (a planned stop): renewals go on, the guardian holds nothing. */
	lease_arm_guardian(k, false, 0);
	assert_int_equal(seen, 0);
	lease_noted(k, 8, 9500);
	assert_int_equal(seen, 0);
	assert_int_equal(lease_fence_deadline_ms(k), 10980);
	lease_arm_guardian(k, true, 0);
	assert_int_equal(seen, 10980);
	/* Armed, the guardian keeps the deadline whatever the cap's "leading" says (a promotion
	 * is guarded before the database runs as a primary). */
	lease_set_leading(k, false, 0);
	assert_int_equal(lease_fence_deadline_ms(k), 0);
	assert_int_equal(seen, 10980);
	lease_arm_guardian(k, false, 0);
	assert_int_equal(seen, 0);
	lease_keeper_free(k);
}

/* A replica of the loop world that may be promoted: node1 follows "node2"; node3 is the other
 * replica. Each member reports its position in its key (node2 the leader's flush, node3 a
 * little behind). */
static void slot_world_init(struct loop_world *w, struct cfg *c)
{
	static const char *const names[] = { "node1", "node2", "node3" };
	static const int64_t lsns[] = { 0x3000000, 0x5000000, 0x4000000 };

	c->tags.failover_priority = 1; /* the fixture's 0 means nofailover */
	loop_world_init(w, c, 10000, 2000, 3000);
	w->a.view_ok = true;
	w->a.dyn.postgresql.use_slots = true;
	w->a.dyn.member_slots_ttl_ms = 1800000;
	w->dbs.role = DB_ROLE_REPLICA;
	w->dbs.replay_lsn = 0x4800000;
	memcpy(w->cluster.leader, "node2", 6);
	for (int i = 0; i < 3; i++) {
		struct dcs_member *m = &w->cluster.members[w->cluster.member_count++];

		memcpy(m->name, names[i], 6);
		m->has_xlog_location = true;
		m->xlog_location_lsn = lsns[i];
	}
}

static void add_slot(struct db_status *s, const char *name, bool active, uint64_t restart_lsn)
{
	struct db_slot *slot = &s->slots[s->slot_count++];

	assert_int_equal(buf_copy(slot->name, sizeof(slot->name), name), 0);
	slot->active = active;
	slot->restart_lsn = restart_lsn;
}

/* Patroni 4's member slots: a replica that may be promoted keeps a slot for every other member,
 * the leader included, so whoever is promoted next already has them (issue 13). */
static void test_slots_replica_keeps_one_for_every_other_member(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	slot_plan_build(&w->a, &plan);
	assert_true(plan.manage);
	assert_int_equal(plan.want_count, 2);
	assert_int_equal(plan.create_count, 2);
	assert_string_equal(plan.create[0].name, "node2");
	assert_string_equal(plan.create[1].name, "node3");
	assert_false(plan.create[0].logical);
	assert_int_equal(plan.advance_count, 0);
	/* Once both exist, nothing to create; an idle slot nobody owns is dropped. */
	add_slot(&w->dbs, "node2", false, 0x4800000);
	add_slot(&w->dbs, "node3", false, 0x4000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.create_count + plan.drop_count, 0);
	add_slot(&w->dbs, "gone", false, 0x1000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.create_count, 0);
	assert_int_equal(plan.drop_count, 1);
	assert_string_equal(plan.drop[0], "gone");
	loop_world_free(w);
	free(c);
}

/* The slots a replica keeps move up to what each member reports, never past the replica's own
 * replay position; a slot in use, unreserved or already there is left alone. */
static void test_slots_replica_advances_them_to_the_members_positions(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	add_slot(&w->dbs, "node2", false, 0x3000000);
	add_slot(&w->dbs, "node3", false, 0x3000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.create_count + plan.drop_count, 0);
	assert_int_equal(plan.advance_count, 2);
	assert_string_equal(plan.advance[0].name, "node2");
	assert_int_equal(plan.advance[0].lsn, 0x4800000); /* capped at my replay */
	assert_string_equal(plan.advance[1].name, "node3");
	assert_int_equal(plan.advance[1].lsn, 0x4000000);
	w->dbs.slots[0].active = true;
	w->dbs.slots[1].restart_lsn = 0x4000000;
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.advance_count, 0);
	loop_world_free(w);
	free(c);
}

/* The leader keeps them too, but never advances them (walsenders move them); a replica tagged
 * nofailover keeps none; nothing is managed without use_slots or a running database. */
static void test_slots_leader_nofailover_and_off(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	w->dbs.role = DB_ROLE_PRIMARY;
	w->a.out.leader = true;
	add_slot(&w->dbs, "node2", false, 0x3000000);
	add_slot(&w->dbs, "node3", false, 0x3000000);
	slot_plan_build(&w->a, &plan);
	assert_true(plan.manage);
	assert_int_equal(plan.want_count, 2);
	assert_int_equal(plan.create_count + plan.drop_count, 0);
	assert_int_equal(plan.advance_count, 0);

	slot_world_init(w, c);
	w->a.out.leader = false;
	c->tags.nofailover = true;
	add_slot(&w->dbs, "node2", false, 0x3000000);
	slot_plan_build(&w->a, &plan);
	assert_true(plan.manage);
	assert_int_equal(plan.want_count, 0);
	assert_int_equal(plan.drop_count, 1); /* drops the idle one */
	c->tags.nofailover = false;

	slot_world_init(w, c);
	w->a.dyn.postgresql.use_slots = false;
	slot_plan_build(&w->a, &plan);
	assert_false(plan.manage);
	slot_world_init(w, c);
	w->dbs.running = false;
	slot_plan_build(&w->a, &plan);
	assert_false(plan.manage);
	loop_world_free(w);
	free(c);
}

static void add_logical_slot(struct db_status *s, const char *name, const char *database,
			     const char *plugin, uint64_t confirmed)
{
	add_slot(s, name, false, confirmed);
	s->slots[s->slot_count - 1].logical = true;
	assert_int_equal(buf_copy(s->slots[s->slot_count - 1].database, DB_NAME_MAX, database), 0);
	assert_int_equal(buf_copy(s->slots[s->slot_count - 1].plugin, DB_NAME_MAX, plugin), 0);
	s->slots[s->slot_count - 1].confirmed_flush_lsn = confirmed;
}

static void add_cfg_slot(struct cfg_slots *slots, const char *name, const char *type,
			 const char *database, const char *plugin)
{
	struct cfg_slot *s = &slots->items[slots->count++];

	memset(s, 0, sizeof(*s));
	assert_int_equal(buf_copy(s->name, sizeof(s->name), name), 0);
	assert_int_equal(buf_copy(s->type, sizeof(s->type), type), 0);
	assert_int_equal(buf_copy(s->database, sizeof(s->database), database), 0);
	assert_int_equal(buf_copy(s->plugin, sizeof(s->plugin), plugin), 0);
}

/* ignore_slots: an idle slot a rule matches (a backup tool's) is never dropped; one the rule
 * does not match (another type, another name) still is. */
static void test_slots_ignore_slots_are_never_dropped(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	add_slot(&w->dbs, "node2", false, 0x4800000);
	add_slot(&w->dbs, "node3", false, 0x4000000);
	add_slot(&w->dbs, "barman", false, 0x1000000);
	add_logical_slot(&w->dbs, "cdc", "app", "pgoutput", 0x1000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 2);
	add_cfg_slot(&w->a.dyn.ignore_slots, "barman", "", "", "");
	add_cfg_slot(&w->a.dyn.ignore_slots, "", "logical", "app", "");
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 0);
	/* A rule for physical slots only does not cover the logical one. */
	memcpy(w->a.dyn.ignore_slots.items[1].type, "physical", 9);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 1);
	assert_string_equal(plan.drop[0], "cdc");
	loop_world_free(w);
	free(c);
}

/* Permanent slots: physical ones on every node that may become leader, logical ones created on
 * the leader only; a logical slot of the name in another database is dropped to be made again;
 * a replica keeps (never creates) the logical one and moves the physical one to the leader's
 * published position. */
static void test_slots_permanent_physical_and_logical(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	add_cfg_slot(&w->a.dyn.slots, "keep_wal", "physical", "", "");
	add_cfg_slot(&w->a.dyn.slots, "cdc", "logical", "app", "test_decoding");
	add_slot(&w->dbs, "node2", false, 0x4800000);
	add_slot(&w->dbs, "node3", false, 0x4000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.want_count, 4);
	assert_int_equal(plan.create_count, 1);
	assert_string_equal(plan.create[0].name, "keep_wal");
	assert_int_equal(plan.copy_count, 0); /* the leader has not published cdc yet */
	add_slot(&w->dbs, "keep_wal", false, 0x1000000);
	w->cluster.status_slots.slot_count = 2;
	memcpy(w->cluster.status_slots.slots[0].name, "keep_wal", 9);
	w->cluster.status_slots.slots[0].lsn = 0x2000000;
	memcpy(w->cluster.status_slots.slots[1].name, "cdc", 4);
	w->cluster.status_slots.slots[1].lsn = 0x5000000;
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.copy_count, 1); /* logical slot failover: copied from the leader */
	assert_string_equal(plan.copy[0], "cdc");
	add_logical_slot(&w->dbs, "cdc", "app", "test_decoding", 0x1000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.create_count + plan.drop_count + plan.copy_count, 0);
	assert_int_equal(plan.advance_count, 2);
	assert_string_equal(plan.advance[0].name, "keep_wal");
	assert_int_equal(plan.advance[0].lsn, 0x2000000);
	assert_string_equal(plan.advance[0].database, "");
	/* the copy follows the leader's consumer, up to my replay position */
	assert_string_equal(plan.advance[1].name, "cdc");
	assert_string_equal(plan.advance[1].database, "app");
	assert_int_equal(plan.advance[1].lsn, 0x4800000);

	/* The leader creates the logical one, and replaces one in another database. */
	w->dbs.role = DB_ROLE_PRIMARY;
	w->a.out.leader = true;
	w->dbs.slot_count = 3; /* node2, node3, keep_wal */
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.copy_count, 0);
	assert_int_equal(plan.create_count, 1);
	assert_string_equal(plan.create[0].name, "cdc");
	assert_true(plan.create[0].logical);
	assert_string_equal(plan.create[0].database, "app");
	assert_string_equal(plan.create[0].plugin, "test_decoding");
	add_logical_slot(&w->dbs, "cdc", "postgres", "test_decoding", 0x1000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.create_count, 0);
	assert_int_equal(plan.drop_count, 1);
	assert_string_equal(plan.drop[0], "cdc");

	/* nofailover: no permanent slots at all. */
	slot_world_init(w, c);
	c->tags.nofailover = true;
	add_cfg_slot(&w->a.dyn.slots, "keep_wal", "physical", "", "");
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.want_count, 0);
	c->tags.nofailover = false;
	loop_world_free(w);
	free(c);
}

/* Cascades and nostream: no slot for a nostream member anywhere; with member_slots_ttl 0 a
 * replica keeps only the slots of the members that stream from it, and a nofailover replica
 * keeps those too. */
static void test_slots_cascade_nostream_and_no_retention(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	w->cluster.members[2].nostream = true; /* node3 */
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.want_count, 1);
	assert_string_equal(plan.want[0].name, "node2");
	w->cluster.members[2].nostream = false;
	memcpy(w->cluster.members[2].replicatefrom, "node1", 6); /* node3 cascades from me */
	w->a.dyn.member_slots_ttl_ms = 0;
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.want_count, 1);
	assert_string_equal(plan.want[0].name, "node3");
	w->a.dyn.member_slots_ttl_ms = 1800000;
	c->tags.nofailover = true;
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.want_count, 1);
	assert_string_equal(plan.want[0].name, "node3");
	c->tags.nofailover = false;
	loop_world_free(w);
	free(c);
}

/* member_slots_ttl: the leader keeps the slot of a member whose key went away, lists it in the
 * status key's retain_slots, and drops it once member_slots_ttl passed; a replica keeps what
 * the status key lists. */
static void test_slots_retained_for_member_slots_ttl(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	struct slot_plan plan;
	struct dcs_status_doc st;

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	w->dbs.role = DB_ROLE_PRIMARY;
	w->a.out.leader = true;
	add_slot(&w->dbs, "node2", false, 0x4800000);
	add_slot(&w->dbs, "node3", false, 0x4000000);
	slot_retention_update(&w->a, 1000);
	slot_status(&w->a, &st);
	assert_int_equal(st.retain_count, 2);
	assert_string_equal(st.retain[0], "node2");
	assert_int_equal(st.slot_count, 2);
	assert_int_equal(st.slots[1].lsn, 0x4000000);
	w->cluster.member_count = 2; /* node3's key expired */
	slot_retention_update(&w->a, 1000 + 1799000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 0);
	slot_retention_update(&w->a, 1000 + 1800000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 1);
	assert_string_equal(plan.drop[0], "node3");

	/* A replica keeps what the leader retains. */
	slot_world_init(w, c);
	w->cluster.member_count = 2;
	add_slot(&w->dbs, "node2", false, 0x4800000);
	add_slot(&w->dbs, "node3", false, 0x4000000);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 1);
	w->cluster.status_slots.retain_count = 1;
	memcpy(w->cluster.status_slots.retain[0], "node3", 6);
	slot_plan_build(&w->a, &plan);
	assert_int_equal(plan.drop_count, 0);
	loop_world_free(w);
	free(c);
}

/* Patroni's readiness check of a copied logical slot: safe once the primary's physical slot for
 * this replica holds a catalog_xmin between the primary's logical slot's and the copy's. */
static void test_slots_copied_logical_slot_is_safe_once_catalog_xmin_is_held(void **state)
{
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));
	char safe[DB_SLOTS_MAX][DB_NAME_MAX];
	bool found[2] = { true, false };
	uint64_t xmins[2] = { 740, 0 };

	(void)state;
	assert_non_null(w);
	slot_world_init(w, c);
	add_logical_slot(&w->dbs, "cdc", "app", "test_decoding", 0x1000000);
	add_logical_slot(&w->dbs, "other", "app", "test_decoding", 0x1000000);
	w->dbs.slots[0].catalog_xmin = 745;
	w->dbs.slots[1].catalog_xmin = 745;
	w->a.pending_count = 2;
	memcpy(w->a.pending[0].name, "cdc", 4);
	memcpy(w->a.pending[1].name, "other", 6);
	/* No catalog_xmin on the physical slot yet (no feedback): nothing is safe. */
	assert_int_equal(slot_readiness(&w->a, found, xmins, 0, safe), 0);
	assert_int_equal(w->a.pending_count, 2);
	assert_true(w->a.pending[0].known);
	/* The physical slot's catalog_xmin behind the primary's logical one: not yet. */
	assert_int_equal(slot_readiness(&w->a, found, xmins, 730, safe), 0);
	/* Past the copy's own catalog_xmin: not yet either. */
	assert_int_equal(slot_readiness(&w->a, found, xmins, 750, safe), 0);
	/* Between the two: cdc is safe; "other" stays (its primary catalog_xmin is unknown). */
	assert_int_equal(slot_readiness(&w->a, found, xmins, 742, safe), 1);
	assert_string_equal(safe[0], "cdc");
	assert_int_equal(w->a.pending_count, 1);
	assert_string_equal(w->a.pending[0].name, "other");
	/* A queued slot that is gone here needs no check. */
	w->dbs.slot_count = 0;
	assert_int_equal(slot_readiness(&w->a, found, xmins, 0, safe), 0);
	assert_int_equal(w->a.pending_count, 0);
	loop_world_free(w);
	free(c);
}

/* The failover key's scheduled_at: a strict ISO 8601 time with a zone schedules the switchover;
 * anything else makes the loop ignore the key (it used to mean "at once"). */
static void test_input_refuses_a_scheduled_at_that_does_not_parse(void **state)
{
	static const char *const refused[] = { "garbage", "2026-11-21T10:00:00",
					       "2026-02-30T10:00:00+00:00",
					       "2026-11-21T10:00:00+00:00x", "tomorrow at noon" };
	struct cfg *c = load_fixture();
	struct loop_world *w = calloc(1, sizeof(*w));

	(void)state;
	assert_non_null(w);
	loop_world_init(w, c, 5000, 1000, 1000);
	pthread_mutex_init(&w->a.req_lock, NULL);
	w->a.view_ok = w->a.lease_ok = true;
	w->a.view_mono_ms = clock_mono_ms();
	w->cluster.has_failover = w->cluster.failover_valid = true;
	memcpy(w->cluster.failover_leader, "node1", 6);
	memcpy(w->cluster.failover_member, "node2", 6);

	/* No schedule: a switchover now. */
	build_input(&w->a);
	assert_true(w->in.dcs.failover.present);
	assert_int_equal(w->in.dcs.failover.scheduled_at_wall_ms, 0);
	assert_string_equal(w->in.dcs.failover.candidate, "node2");

	/* A valid schedule, in any zone. */
	assert_int_equal(buf_copy(w->cluster.failover_scheduled_at,
				  sizeof(w->cluster.failover_scheduled_at),
				  "2026-11-21T12:00:00.250+02:00"),
			 0);
	build_input(&w->a);
	assert_true(w->in.dcs.failover.present);
	assert_int_equal(w->in.dcs.failover.scheduled_at_wall_ms, 1795255200250LL);

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(buf_copy(w->cluster.failover_scheduled_at,
					  sizeof(w->cluster.failover_scheduled_at), refused[i]),
				 0);
		build_input(&w->a);
		assert_false(w->in.dcs.failover.present);
		assert_int_equal(w->in.dcs.failover.scheduled_at_wall_ms, 0);
	}
	pthread_mutex_destroy(&w->a.req_lock);
	loop_world_free(w);
	free(c);
}

static void test_peer_parse_replica_takes_max_of_received_and_replayed(void **state)
{
	static const char doc[] =
		"{\"state\": \"running\", \"role\": \"replica\", \"xlog\": {\"received_location\": "
		"50331744, \"replayed_location\": 50331000, \"paused\": false}, \"timeline\": 1, "
		"\"tags\": {\"failover_priority\": 3}}";
	struct ha_peer p = { .name = "node2" };

	(void)state;
	assert_int_equal(agent_peer_parse(doc, strlen(doc), &p), 0);
	assert_true(p.reachable);
	assert_false(p.is_primary);
	assert_int_equal(p.lsn, 50331744);
	assert_int_equal(p.tags.failover_priority, 3);
	assert_false(p.tags.nofailover);
	assert_string_equal(p.name, "node2");
}

static void test_peer_parse_patroni3_master_is_primary(void **state)
{
	static const char doc[] = "{\"state\": \"running\", \"role\": \"master\", \"xlog\": "
				  "{\"location\": 100663888}, \"tags\": {\"nofailover\": true}}";
	struct ha_peer p = { .name = "node1" };

	(void)state;
	assert_int_equal(agent_peer_parse(doc, strlen(doc), &p), 0);
	assert_true(p.is_primary);
	assert_int_equal(p.lsn, 100663888);
	assert_true(p.tags.nofailover);
}

static void test_peer_parse_rejects_hostile_documents(void **state)
{
	static const char *const bad[] = {
		"",	"[]", "{\"role\": 7}", "{\"state\": \"running\"}", "{\"role\": \"replica\"",
		"null",
	};
	struct ha_peer p = { .name = "x", .lsn = 42 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(agent_peer_parse(bad[i], strlen(bad[i]), &p), -EINVAL);
	assert_int_equal(p.lsn, 42);
}

static void test_peer_parse_ignores_absurd_numbers(void **state)
{
	static const char doc[] =
		"{\"role\": \"replica\", \"xlog\": {\"received_location\": -5, "
		"\"replayed_location\": 1e300}, \"tags\": {\"failover_priority\": "
		"1e300}}";
	struct ha_peer p = { .name = "x" };

	(void)state;
	assert_int_equal(agent_peer_parse(doc, strlen(doc), &p), 0);
	assert_int_equal(p.lsn, 0);
	assert_int_equal(p.tags.failover_priority, 1);
}

/* Patroni's request.py: a member talks to another with the ctl section's settings, each falling
 * back to the restapi section's (credentials, client certificate and key; cacert to cafile). */
static void test_client_options_take_ctl_then_restapi(void **state)
{
	struct cfg *c = load_fixture();
	struct rest_client_options o;

	(void)state;
	memset(&c->ctl, 0, sizeof(c->ctl));
	assert_int_equal(buf_copy(c->restapi.username, sizeof(c->restapi.username), "api"), 0);
	assert_int_equal(buf_copy(c->restapi.password, sizeof(c->restapi.password), "api-pw"), 0);
	assert_int_equal(buf_copy(c->restapi.certfile, sizeof(c->restapi.certfile), "/s.crt"), 0);
	assert_int_equal(buf_copy(c->restapi.keyfile, sizeof(c->restapi.keyfile), "/s.key"), 0);
	assert_int_equal(buf_copy(c->restapi.cafile, sizeof(c->restapi.cafile), "/ca.crt"), 0);
	cfg_member_auth(c, &o.auth);
	assert_string_equal(o.auth.username, "api");
	assert_string_equal(o.auth.password, "api-pw");
	assert_string_equal(o.auth.certfile, "/s.crt");
	assert_string_equal(o.auth.keyfile, "/s.key");
	assert_string_equal(o.auth.cafile, "/ca.crt");
	assert_false(o.auth.insecure);

	assert_int_equal(buf_copy(c->ctl.username, sizeof(c->ctl.username), "ctl"), 0);
	assert_int_equal(buf_copy(c->ctl.password, sizeof(c->ctl.password), "ctl-pw"), 0);
	assert_int_equal(buf_copy(c->ctl.certfile, sizeof(c->ctl.certfile), "/c.crt"), 0);
	assert_int_equal(buf_copy(c->ctl.keyfile, sizeof(c->ctl.keyfile), "/c.key"), 0);
	assert_int_equal(buf_copy(c->ctl.cacert, sizeof(c->ctl.cacert), "/ctl-ca.crt"), 0);
	c->ctl.insecure = true;
	cfg_member_auth(c, &o.auth);
	assert_string_equal(o.auth.username, "ctl");
	assert_string_equal(o.auth.password, "ctl-pw");
	assert_string_equal(o.auth.certfile, "/c.crt");
	assert_string_equal(o.auth.keyfile, "/c.key");
	assert_string_equal(o.auth.cafile, "/ctl-ca.crt");
	assert_true(o.auth.insecure);
	free(c);
}

/* A member that demands restapi.authentication, served by the real REST server. */
static int peer_failsafe(void *ctx, const struct rest_failsafe_request *req,
			 struct rest_action_result *out)
{
	(void)ctx;
	(void)req;
	out->status = 200;
	return buf_copy(out->text, sizeof(out->text), "Accepted");
}

static struct rest_server *start_peer(struct agent_peer_target *t)
{
	struct rest_options o;
	struct rest_actions act = { .failsafe = peer_failsafe };
	struct rest_snapshot *snap = calloc(1, sizeof(*snap));
	struct rest_server *srv;
	char err[256] = "";

	assert_non_null(snap);
	rest_options_init(&o);
	assert_int_equal(buf_copy(o.listen_host, sizeof(o.listen_host), "127.0.0.1"), 0);
	o.listen_port = 0;
	assert_int_equal(buf_copy(o.username, sizeof(o.username), "patroni"), 0);
	assert_int_equal(buf_copy(o.password, sizeof(o.password), "pw"), 0);
	srv = rest_server_new(&o, &act, err, sizeof(err));
	if (srv == NULL)
		fail_msg("rest_server_new: %s", err);
	snap->role = REST_ROLE_REPLICA;
	snap->state = REST_DB_RUNNING;
	snap->failsafe_mode_enabled = true;
	assert_int_equal(rest_publish(srv, snap), 0);
	free(snap);
	memset(t, 0, sizeof(*t));
	assert_int_equal(buf_copy(t->name, sizeof(t->name), "node2"), 0);
	assert_int_equal(buf_format(t->api_url, sizeof(t->api_url), "http://127.0.0.1:%d/patroni",
				    rest_server_port(srv)),
			 0);
	return srv;
}

/* The bug of issue 10: the agent's POST /failsafe carried no credentials, so a member with
 * restapi.authentication never acknowledged it. With the cluster's credentials it does. */
static void test_failsafe_post_carries_the_rest_credentials(void **state)
{
	struct agent_peer_target t;
	struct rest_server *srv = start_peer(&t);
	struct rest_client_options none = { 0 }, creds = { 0 };
	struct ha_peer p;
	bool acked = true;

	(void)state;
	agent_failsafe_post(&none, &t, 1, "{\"name\": \"node1\"}", 2000, &acked);
	assert_false(acked);
	assert_int_equal(buf_copy(creds.auth.username, sizeof(creds.auth.username), "patroni"), 0);
	assert_int_equal(buf_copy(creds.auth.password, sizeof(creds.auth.password), "pw"), 0);
	agent_failsafe_post(&creds, &t, 1, "{\"name\": \"node1\"}", 2000, &acked);
	assert_true(acked);

	agent_probe_peers(&creds, &t, 1, 2000, &p);
	assert_true(p.reachable);
	assert_false(p.is_primary);
	assert_string_equal(p.name, "node2");
	rest_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_host_port_forms),
		cmocka_unit_test(test_split_host_port_rejects_bad_ports),
		cmocka_unit_test(test_db_options_local_parameters_win),
		cmocka_unit_test(test_rest_options_from_restapi),
		cmocka_unit_test(test_rest_options_reject_host_name_in_allowlist),
		cmocka_unit_test(test_policy_and_tags_follow_patroni_rules),
		cmocka_unit_test(test_fence_cap_is_the_decisions_fence_deadline),
		cmocka_unit_test(test_fence_cap_in_failsafe_leaves_one_ping_before_the_deadline),
		cmocka_unit_test(test_fence_cap_only_for_the_running_primary_with_the_key),
		cmocka_unit_test(test_lease_fence_deadline_follows_renewals_and_leading),
		cmocka_unit_test(test_input_refuses_a_scheduled_at_that_does_not_parse),
		cmocka_unit_test(test_client_options_take_ctl_then_restapi),
		cmocka_unit_test(test_failsafe_post_carries_the_rest_credentials),
		cmocka_unit_test(test_peer_parse_replica_takes_max_of_received_and_replayed),
		cmocka_unit_test(test_peer_parse_patroni3_master_is_primary),
		cmocka_unit_test(test_peer_parse_rejects_hostile_documents),
		cmocka_unit_test(test_peer_parse_ignores_absurd_numbers),
		cmocka_unit_test(test_slots_replica_keeps_one_for_every_other_member),
		cmocka_unit_test(test_slots_replica_advances_them_to_the_members_positions),
		cmocka_unit_test(test_slots_leader_nofailover_and_off),
		cmocka_unit_test(test_slots_ignore_slots_are_never_dropped),
		cmocka_unit_test(test_slots_permanent_physical_and_logical),
		cmocka_unit_test(test_slots_cascade_nostream_and_no_retention),
		cmocka_unit_test(test_slots_retained_for_member_slots_ttl),
		cmocka_unit_test(test_slots_copied_logical_slot_is_safe_once_catalog_xmin_is_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
