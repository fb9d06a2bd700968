/*
 * test_ctl.c - gsctl's pure half: argument parsing, the cluster view, the list / topology /
 * history renderings in every format, YAML <-> JSON, --set edits, merges and the diff.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "ctl.h"

/* ---- fixtures ------------------------------------------------------------------------------ */

static void add_member(struct dcs_cluster *c, const char *name, int port, const char *role,
		       const char *state, int64_t xlog, const char *tags)
{
	struct dcs_member *m = &c->members[c->member_count++];

	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->conn_url, sizeof(m->conn_url), "postgres://127.0.0.1:%d/postgres", port);
	snprintf(m->api_url, sizeof(m->api_url), "http://127.0.0.1:%d/patroni", port + 1000);
	snprintf(m->role, sizeof(m->role), "%s", role);
	snprintf(m->state, sizeof(m->state), "%s", state);
	m->timeline = 1;
	if (xlog >= 0) {
		m->has_xlog_location = true;
		m->xlog_location_lsn = xlog;
	}
	if (tags != NULL)
		snprintf(m->tags, sizeof(m->tags), "%s", tags);
}

/* Three members, node1 leads, node2 is 3 MB behind, node3 has not reported a position. */
static struct dcs_cluster *three_nodes(void)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->has_initialize = true;
	snprintf(c->initialize, sizeof(c->initialize), "7310000000000000001");
	c->has_leader = true;
	snprintf(c->leader, sizeof(c->leader), "node1");
	c->has_optime = true;
	c->optime_lsn = 50331648 + 3 * 1048576;
	add_member(c, "node3", 15434, "replica", "running", -1, NULL);
	add_member(c, "node1", 15432, "primary", "running", 50331648 + 3 * 1048576, NULL);
	add_member(c, "node2", 15433, "replica", "running", 50331648, NULL);
	return c;
}

static char *render(const struct dcs_cluster *c, enum ctl_format f, bool topology)
{
	struct ctl_view *v = calloc(1, sizeof(*v));
	struct buf out;
	char *s;

	assert_non_null(v);
	ctl_view_build(c, "demo", v);
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(ctl_render_list(v, f, topology, false, &out), 0);
	s = buf_steal(&out);
	free(v);
	return s;
}

/* A member state from etcd holding terminal controls (clear the screen, set the title, CSI as
 * one C1 byte) is shown escaped in the table and the TSV, never sent raw to the terminal. */
static void test_list_escapes_control_characters_from_etcd(void **state)
{
	struct dcs_cluster *c = three_nodes();
	const enum ctl_format formats[] = { CTL_FORMAT_PRETTY, CTL_FORMAT_TSV };

	(void)state;
	snprintf(c->members[0].state, sizeof(c->members[0].state),
		 "run\x1b[2J\x1b]0;pwned\x07ning\r\xc2\x9b"
		 "31m\tx\ny");
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *s = render(c, formats[i], false);

		assert_null(strchr(s, 0x1b));
		assert_null(strchr(s, 0x07));
		assert_null(strchr(s, '\r'));
		assert_null(strstr(s, "\xc2\x9b"));
		assert_non_null(strstr(s, "run\\x1b[2J\\x1b]0;pwned\\x07ning\\x0d\\u009b31m"));
		free(s);
	}
	free(c);
}

/* ---- arguments ----------------------------------------------------------------------------- */

static void test_args_global_and_command_options_parse(void **state)
{
	char *argv[] = { "gsctl", "-c", "/etc/p.yml", "list", "-f", "json", "-W", "demo", NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(ctl_parse_args(8, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.command, CTL_CMD_LIST);
	assert_string_equal(a.config_file, "/etc/p.yml");
	assert_int_equal(a.format, CTL_FORMAT_JSON);
	assert_true(a.watch);
	assert_int_equal(a.watch_interval_ms, 2000);
	assert_string_equal(a.cluster, "demo");
}

static void test_args_switchover_takes_leader_candidate_force(void **state)
{
	char *argv[] = { "gsctl",   "switchover", "--primary=node1", "--candidate", "node2",
			 "--force", NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(ctl_parse_args(6, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.command, CTL_CMD_SWITCHOVER);
	assert_string_equal(a.leader, "node1");
	assert_string_equal(a.candidate, "node2");
	assert_true(a.force);
}

/* Patroni 4.1's demote-cluster and promote-cluster options; --port is a port, and the
 * standby_cluster options belong to demote-cluster alone. */
static void test_args_demote_and_promote_cluster(void **state)
{
	char *demote[] = { "gsctl",	  "demote-cluster",
			   "c1",	  "--host",
			   "10.0.0.5",	  "--port",
			   "5433",	  "--primary-slot-name",
			   "sb",	  "--restore-command",
			   "cp /a/%f %p", "--force",
			   "--timeout",	  "60" };
	char *bad_port[] = { "gsctl", "demote-cluster", "--port", "70000", NULL };
	char *promote_host[] = { "gsctl", "promote-cluster", "--host", "h", NULL };
	char *promote[] = { "gsctl", "promote-cluster", "c1", "--force", NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(ctl_parse_args(14, demote, &a, err, sizeof(err)), 0);
	assert_int_equal(a.command, CTL_CMD_DEMOTE_CLUSTER);
	assert_string_equal(a.cluster, "c1");
	assert_string_equal(a.host, "10.0.0.5");
	assert_int_equal(a.port, 5433);
	assert_string_equal(a.primary_slot_name, "sb");
	assert_string_equal(a.restore_command, "cp /a/%f %p");
	assert_true(a.force);
	assert_int_equal(a.timeout_ms, 60000);
	assert_int_equal(ctl_parse_args(4, bad_port, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "port"));
	assert_int_equal(ctl_parse_args(4, promote_host, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_parse_args(4, promote, &a, err, sizeof(err)), 0);
	assert_int_equal(a.command, CTL_CMD_PROMOTE_CLUSTER);
	assert_true(a.force);
}

static void test_args_restart_positional_cluster_then_members(void **state)
{
	char *argv[] = { "gsctl", "restart", "demo", "node2", "node3", "--pending", NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(ctl_parse_args(6, argv, &a, err, sizeof(err)), 0);
	assert_string_equal(a.cluster, "demo");
	assert_int_equal(a.member_count, 2);
	assert_string_equal(a.members[1], "node3");
	assert_true(a.pending);
}

static void test_args_pg_becomes_parameters_path(void **state)
{
	char *argv[] = { "gsctl", "edit-config", "-s", "ttl=20", "--pg", "work_mem=8MB", NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(ctl_parse_args(6, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.set_count, 2);
	assert_string_equal(a.sets[0], "ttl=20");
	assert_string_equal(a.sets[1], "postgresql.parameters.work_mem=8MB");
}

static void test_args_rejects_bad_input_with_message(void **state)
{
	struct {
		int argc;
		char *argv[6];
		const char *needle;
	} cases[] = {
		{ 2, { "gsctl", "frobnicate" }, "unknown command" },
		{ 4, { "gsctl", "list", "-f", "xml" }, "unknown format" },
		{ 3, { "gsctl", "list", "--force" }, "no such option" },
		{ 3, { "gsctl", "switchover", "--candidate" }, "needs a value" },
		{ 4, { "gsctl", "edit-config", "--set", "novalue" }, "name=value" },
		{ 4, { "gsctl", "restart", "-r", "boss" }, "unknown role" },
		{ 1, { "gsctl" }, "no command" },
		{ 4, { "gsctl", "list", "-w", "0" }, "seconds" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_args a;
		char err[256] = "";

		assert_int_equal(ctl_parse_args(cases[i].argc, cases[i].argv, &a, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, cases[i].needle));
	}
}

/* Issue 10: --scheduled is read strictly with timefmt.h (what the agent accepts as scheduled_at):
 * it was sent as typed, so "tomorrow" or a 30th of February reached the agent, whose lax parser
 * ran the switchover at once. A time without a zone is local time, as patronictl takes it. */
static void test_args_scheduled_is_strict_iso8601(void **state)
{
	static const struct {
		const char *given, *want; /* want NULL: refused */
	} cases[] = {
		{ "2026-12-07T10:00+01:00", "2026-12-07T10:00:00+01:00" },
		{ "2026-12-07 10:00:30.5Z", "2026-12-07T10:00:30.500000+00:00" },
		{ "now", "now" },
		{ "tomorrow", NULL },
		{ "2026-02-30T10:00Z", NULL },
		{ "2026-12-07", NULL },
		{ "2026-12-07T10:00+01:00 please", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = { "gsctl", "switchover", "--scheduled", (char *)cases[i].given,
				 NULL };
		struct ctl_args a;
		char err[256] = "";
		int rc = ctl_parse_args(4, argv, &a, err, sizeof(err));

		if (cases[i].want == NULL) {
			if (rc != -EINVAL || strstr(err, "ISO 8601") == NULL)
				fail_msg("\"%s\": rc %d err \"%s\"", cases[i].given, rc, err);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": %s", cases[i].given, err);
		assert_string_equal(a.scheduled, cases[i].want);
	}
}

static void test_scheduled_without_zone_is_local_time(void **state)
{
	char out[CTL_WORD_MAX], err[256];
	char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	(void)state;
	setenv("TZ", "<+02>-2", 1);
	tzset();
	assert_int_equal(
		ctl_parse_scheduled("2026-12-07T10:00", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "2026-12-07T10:00:00+02:00");
	setenv("TZ", "UTC0", 1);
	tzset();
	assert_int_equal(
		ctl_parse_scheduled(" 2026-12-07 10:00:05 ", out, sizeof(out), err, sizeof(err)),
		0);
	assert_string_equal(out, "2026-12-07T10:00:05+00:00");
	assert_int_equal(ctl_parse_scheduled("now", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "");
	assert_int_equal(ctl_parse_scheduled("", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "");
	if (tz != NULL)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	free(tz);
	tzset();
}

/* Issue 10: a member argument over MEMBER_NAME_LEN (63) bytes is refused clearly; it was taken
 * up to 127 bytes and then could match no member (names hold 63 bytes everywhere else). */
static void test_args_member_over_63_bytes_is_refused(void **state)
{
	char name[MEMBER_NAME_LEN + 2];
	char *restart[] = { "gsctl", "restart", "batman", name, NULL };
	char *cand[] = { "gsctl", "failover", "--candidate", name, NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	memset(name, 'm', MEMBER_NAME_LEN);
	name[MEMBER_NAME_LEN] = '\0';
	assert_int_equal(ctl_parse_args(4, restart, &a, err, sizeof(err)), 0);
	assert_string_equal(a.members[0], name);
	assert_int_equal(ctl_parse_args(4, cand, &a, err, sizeof(err)), 0);
	assert_string_equal(a.candidate, name);
	name[MEMBER_NAME_LEN] = 'm';
	name[MEMBER_NAME_LEN + 1] = '\0';
	assert_int_equal(ctl_parse_args(4, restart, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is 64 bytes long: a member name has at most 63 bytes"));
	assert_int_equal(ctl_parse_args(4, cand, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--candidate \"mmmmmmmmmmmmmmmmmmmm...\" is 64 bytes long"));
}

static void test_args_help_anywhere(void **state)
{
	char *argv[] = { "gsctl", "switchover", "--help", NULL };
	struct ctl_args a;
	char err[256];

	(void)state;
	assert_int_equal(ctl_parse_args(3, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(a.command, CTL_CMD_HELP);
}

/* ---- view and lag -------------------------------------------------------------------------- */

static void test_lag_is_optime_minus_position_never_negative(void **state)
{
	(void)state;
	assert_int_equal(ctl_lag_bytes(1000, 400), 600);
	assert_int_equal(ctl_lag_bytes(400, 1000), 0);
	assert_int_equal(ctl_lag_mb(3 * 1048576), 3);
	assert_int_equal(ctl_lag_mb(1048576 / 2), 0); /* half to even, as Python's round */
	assert_int_equal(ctl_lag_mb(1048576 + 1048576 / 2), 2);
	assert_int_equal(ctl_lag_mb(0), 0);
}

static void test_view_sorts_names_and_marks_leader_sync(void **state)
{
	struct dcs_cluster *c = three_nodes();
	struct ctl_view *v = calloc(1, sizeof(*v));

	(void)state;
	c->has_sync = c->sync_valid = true;
	snprintf(c->sync_standby, sizeof(c->sync_standby), "node3");
	snprintf(c->sync_standbys[0], sizeof(c->sync_standbys[0]), "node3");
	c->sync_standby_count = 1;
	snprintf(c->config_synchronous_mode, sizeof(c->config_synchronous_mode), "on");
	ctl_view_build(c, "demo", v);
	assert_int_equal(v->count, 3);
	assert_string_equal(v->rows[0].name, "node1");
	assert_string_equal(v->rows[0].role, "leader");
	assert_false(v->rows[0].has_lag);
	assert_string_equal(v->rows[1].role, "replica");
	assert_int_equal(v->rows[1].lag_bytes, 3 * 1048576);
	assert_string_equal(v->rows[2].role, "sync_standby");
	assert_true(v->rows[2].lag_unknown);
	snprintf(c->config_synchronous_mode, sizeof(c->config_synchronous_mode), "quorum");
	ctl_view_build(c, "demo", v);
	assert_string_equal(v->rows[2].role, "quorum_standby");
	snprintf(c->config_synchronous_mode, sizeof(c->config_synchronous_mode), "off");
	ctl_view_build(c, "demo", v);
	assert_string_equal(v->rows[2].role, "replica");
	assert_string_equal(v->rows[1].host, "127.0.0.1");
	assert_int_equal(v->rows[1].port, 15433);
	free(v);
	free(c);
}

static void test_candidate_checks_leader_nofailover_state(void **state)
{
	struct dcs_cluster *c = three_nodes();
	struct ctl_view *v = calloc(1, sizeof(*v));
	char why[128];

	(void)state;
	c->members[0].nofailover = true;					/* node3 */
	snprintf(c->members[2].state, sizeof(c->members[2].state), "starting"); /* node2 */
	ctl_view_build(c, "demo", v);
	assert_false(ctl_row_can_take_over(v, ctl_view_row(v, "node1"), why, sizeof(why)));
	assert_non_null(strstr(why, "leader"));
	assert_false(ctl_row_can_take_over(v, ctl_view_row(v, "node3"), why, sizeof(why)));
	assert_non_null(strstr(why, "nofailover"));
	assert_false(ctl_row_can_take_over(v, ctl_view_row(v, "node2"), why, sizeof(why)));
	assert_non_null(strstr(why, "starting"));
	/* a replica still on an older timeline than the leader's */
	snprintf(c->members[2].state, sizeof(c->members[2].state), "streaming");
	c->members[1].timeline = 2; /* node1 */
	ctl_view_build(c, "demo", v);
	assert_false(ctl_row_can_take_over(v, ctl_view_row(v, "node2"), why, sizeof(why)));
	assert_non_null(strstr(why, "timeline 1, behind the leader's 2"));
	c->members[2].timeline = 2;
	ctl_view_build(c, "demo", v);
	assert_true(ctl_row_can_take_over(v, ctl_view_row(v, "node2"), why, sizeof(why)));
	free(v);
	free(c);
}

static void test_api_base_strips_path(void **state)
{
	char base[64];

	(void)state;
	assert_int_equal(ctl_api_base("http://127.0.0.1:8008/patroni", base, sizeof(base)), 0);
	assert_string_equal(base, "http://127.0.0.1:8008");
	assert_int_equal(ctl_api_base("https://[::1]:8008", base, sizeof(base)), 0);
	assert_string_equal(base, "https://[::1]:8008");
	assert_int_equal(ctl_api_base("", base, sizeof(base)), -EINVAL);
	assert_int_equal(ctl_api_base("ftp://x/patroni", base, sizeof(base)), -EINVAL);
}

/* ---- list renderings ----------------------------------------------------------------------- */

static void test_list_pretty_matches_patronictl_layout(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char *s = render(c, CTL_FORMAT_PRETTY, false);

	(void)state;
	assert_string_equal(s,
			    "+ Cluster: demo (7310000000000000001) ---------+----+-----------+\n"
			    "| Member | Host            | Role    | State   | TL | Lag in MB |\n"
			    "+--------+-----------------+---------+---------+----+-----------+\n"
			    "| node1  | 127.0.0.1:15432 | Leader  | running |  1 |           |\n"
			    "| node2  | 127.0.0.1:15433 | Replica | running |  1 |         3 |\n"
			    "| node3  | 127.0.0.1:15434 | Replica | running |  1 |   unknown |\n"
			    "+--------+-----------------+---------+---------+----+-----------+\n");
	free(s);
	free(c);
}

static void test_list_pretty_tags_and_pending_add_columns_and_rules(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char *s;

	(void)state;
	snprintf(c->members[2].tags, sizeof(c->members[2].tags),
		 "{\"dc\":\"east\",\"failover_priority\":2}");
	c->members[0].pending_restart = true;
	c->has_config = c->config_valid = c->config_pause = true;
	s = render(c, CTL_FORMAT_PRETTY, false);
	assert_string_equal(s,
			    "+ Cluster: demo (7310000000000000001) "
			    "---------+----+-----------+-----------------+----------------------+\n"
			    "| Member | Host            | Role    | State   | TL | Lag in MB | "
			    "Pending restart | Tags                 |\n"
			    "+--------+-----------------+---------+---------+----+-----------+-----"
			    "------------+----------------------+\n"
			    "| node1  | 127.0.0.1:15432 | Leader  | running |  1 |           |     "
			    "            |                      |\n"
			    "+--------+-----------------+---------+---------+----+-----------+-----"
			    "------------+----------------------+\n"
			    "| node2  | 127.0.0.1:15433 | Replica | running |  1 |         3 |     "
			    "            | dc: east             |\n"
			    "|        |                 |         |         |    |           |     "
			    "            | failover_priority: 2 |\n"
			    "+--------+-----------------+---------+---------+----+-----------+-----"
			    "------------+----------------------+\n"
			    "| node3  | 127.0.0.1:15434 | Replica | running |  1 |   unknown | *   "
			    "            |                      |\n"
			    "+--------+-----------------+---------+---------+----+-----------+-----"
			    "------------+----------------------+\n"
			    " Maintenance mode: on\n");
	free(s);
	free(c);
}

static void test_list_host_without_port_when_all_default_and_distinct(void **state)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));
	char *s;

	(void)state;
	c->has_initialize = true;
	c->has_leader = true;
	snprintf(c->leader, sizeof(c->leader), "a");
	add_member(c, "a", 5432, "primary", "running", 10, NULL);
	add_member(c, "b", 5432, "replica", "streaming", 10, NULL);
	snprintf(c->members[1].conn_url, sizeof(c->members[1].conn_url),
		 "postgres://10.0.0.2:5432/postgres");
	s = render(c, CTL_FORMAT_TSV, false);
	assert_string_equal(s, "Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB\n"
			       "demo\ta\t127.0.0.1\tLeader\trunning\t1\t\n"
			       "demo\tb\t10.0.0.2\tReplica\tstreaming\t1\t0\n");
	free(s);
	free(c);
}

static void test_list_json_is_python_style_array(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char *s;

	(void)state;
	snprintf(c->members[2].tags, sizeof(c->members[2].tags), "{\"dc\":\"east\"}");
	s = render(c, CTL_FORMAT_JSON, false);
	assert_string_equal(
		s, "[{\"Cluster\": \"demo\", \"Member\": \"node1\", \"Host\": \"127.0.0.1:15432\", "
		   "\"Role\": \"Leader\", \"State\": \"running\", \"TL\": 1}, "
		   "{\"Cluster\": \"demo\", \"Member\": \"node2\", \"Host\": \"127.0.0.1:15433\", "
		   "\"Role\": \"Replica\", \"State\": \"running\", \"TL\": 1, \"Lag in MB\": 3, "
		   "\"Tags\": {\"dc\": \"east\"}}, "
		   "{\"Cluster\": \"demo\", \"Member\": \"node3\", \"Host\": \"127.0.0.1:15434\", "
		   "\"Role\": \"Replica\", \"State\": \"running\", \"TL\": 1, \"Lag in MB\": "
		   "\"unknown\"}]\n");
	free(s);
	free(c);
}

static void test_list_yaml_sorted_keys(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char *s;

	(void)state;
	c->member_count = 2; /* node3, node1 */
	s = render(c, CTL_FORMAT_YAML, false);
	assert_string_equal(s, "- Cluster: demo\n"
			       "  Host: 127.0.0.1:15432\n"
			       "  Member: node1\n"
			       "  Role: Leader\n"
			       "  State: running\n"
			       "  TL: 1\n"
			       "- Cluster: demo\n"
			       "  Host: 127.0.0.1:15434\n"
			       "  Lag in MB: unknown\n"
			       "  Member: node3\n"
			       "  Role: Replica\n"
			       "  State: running\n"
			       "  TL: 1\n");
	free(s);
	free(c);
}

static void test_topology_indents_cascading_replica(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char *s;

	(void)state;
	snprintf(c->members[0].tags, sizeof(c->members[0].tags),
		 "{\"replicatefrom\":\"node2\"}"); /* node3 streams from node2 */
	s = render(c, CTL_FORMAT_PRETTY, true);
	assert_non_null(strstr(s, "| node1     |"));
	assert_non_null(strstr(s, "| + node2   |"));
	assert_non_null(strstr(s, "|   + node3 |"));
	assert_true(strstr(s, "+ node2") < strstr(s, "+ node3"));
	free(s);
	free(c);
}

static void test_list_uninitialized_title_and_scheduled_footer(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char *s;

	(void)state;
	c->has_initialize = false;
	c->has_failover = c->failover_valid = true;
	snprintf(c->failover_scheduled_at, sizeof(c->failover_scheduled_at),
		 "2026-11-21T06:32:48+00:00");
	snprintf(c->failover_leader, sizeof(c->failover_leader), "node1");
	snprintf(c->failover_member, sizeof(c->failover_member), "node3");
	s = render(c, CTL_FORMAT_PRETTY, false);
	assert_memory_equal(s, "+ Cluster: demo (uninitialized) ", 32);
	assert_non_null(strstr(s, " Switchover scheduled at: 2026-11-21T06:32:48+00:00\n"
				  "                   from: node1\n"
				  "                     to: node3\n"));
	free(s);
	free(c);
}

/* ---- history ------------------------------------------------------------------------------- */

static void test_history_table_and_tsv(void **state)
{
	const char *h = "[[1,67405800,\"no recovery target specified\","
			"\"2026-11-21T05:32:51.863905+00:00\",\"node2\"],[2,100663512,\"x\"]]";
	struct buf out;

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(ctl_render_history(h, CTL_FORMAT_PRETTY, &out), 0);
	assert_string_equal(out.data, "+----+-----------+------------------------------+-----------"
				      "-----------------------+------------+\n"
				      "| TL |       LSN | Reason                       | Timestamp "
				      "                       | New Leader |\n"
				      "+----+-----------+------------------------------+-----------"
				      "-----------------------+------------+\n"
				      "|  1 |  67405800 | no recovery target specified | "
				      "2026-11-21T05:32:51.863905+00:00 | node2      |\n"
				      "|  2 | 100663512 | x                            |           "
				      "                       |            |\n"
				      "+----+-----------+------------------------------+-----------"
				      "-----------------------+------------+\n");
	buf_reset(&out);
	assert_int_equal(ctl_render_history(h, CTL_FORMAT_TSV, &out), 0);
	assert_string_equal(out.data, "TL\tLSN\tReason\tTimestamp\tNew Leader\n"
				      "1\t67405800\tno recovery target "
				      "specified\t2026-11-21T05:32:51.863905+00:00\tnode2\n"
				      "2\t100663512\tx\t\t\n");
	buf_reset(&out);
	assert_int_equal(ctl_render_history("{\"not\":\"a list\"}", CTL_FORMAT_PRETTY, &out),
			 -EINVAL);
	/* patronictl pads a short row with "" in JSON too */
	buf_reset(&out);
	assert_int_equal(ctl_render_history("[[2,100663512,\"x\"]]", CTL_FORMAT_JSON, &out), 0);
	assert_string_equal(out.data, "[{\"TL\": 2, \"LSN\": 100663512, \"Reason\": \"x\", "
				      "\"Timestamp\": \"\", \"New Leader\": \"\"}]\n");
	/* a row that is no history row refuses the key instead of printing half of it */
	buf_reset(&out);
	assert_int_equal(ctl_render_history("[[1,2,\"a\"],[\"x\",1]]", CTL_FORMAT_PRETTY, &out),
			 -EINVAL);
	assert_int_equal(ctl_render_history("[[1,2,\"a\"]] trailing", CTL_FORMAT_PRETTY, &out),
			 -EINVAL);
	buf_done(&out);
}

/* ---- YAML, edits, diff --------------------------------------------------------------------- */

static void test_json_to_yaml_quotes_what_would_change_type(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(
		ctl_json_to_yaml(
			"{\"ttl\":30,\"postgresql\":{\"parameters\":{\"hot_standby\":\"on\","
			"\"max_connections\":100,\"port\":\"5432\",\"wal_keep_size\":"
			"\"128MB\"},\"pg_hba\":[\"local all all trust\"]},\"pause\":true,"
			"\"empty\":{},\"ratio\":0.5,\"note\":\"a: b\",\"none\":null}",
			&out),
		0);
	assert_string_equal(out.data, "empty: {}\n"
				      "none: null\n"
				      "note: 'a: b'\n"
				      "pause: true\n"
				      "postgresql:\n"
				      "  parameters:\n"
				      "    hot_standby: 'on'\n"
				      "    max_connections: 100\n"
				      "    port: '5432'\n"
				      "    wal_keep_size: 128MB\n"
				      "  pg_hba:\n"
				      "  - local all all trust\n"
				      "ratio: 0.5\n"
				      "ttl: 30\n");
	buf_done(&out);
}

static void test_yaml_round_trip_keeps_types(void **state)
{
	const char *json =
		"{\"a\":{\"b\":[1,\"2\",true,\"on\",null,1.5]},\"c\":\"x y\",\"d\":\"\"}";
	struct buf y, j;
	char err[128];

	(void)state;
	buf_init(&y, CTL_DOC_MAX);
	buf_init(&j, CTL_DOC_MAX);
	assert_int_equal(ctl_json_to_yaml(json, &y), 0);
	assert_int_equal(ctl_yaml_to_json(y.data, y.len, &j, err, sizeof(err)), 0);
	assert_string_equal(j.data, json);
	buf_done(&y);
	buf_done(&j);
}

/* Found by fuzz.ctl_yaml: NEL (U+0085) inside a string and a float without a dot. */
static void test_yaml_round_trip_keeps_line_separators_and_exponents(void **state)
{
	const char *json = "[1e+84,\"a\\u0085b\",\"c\\u2028d\",\"tab\\there\"]";
	struct buf y, j;
	char err[128];
	cJSON *a, *b;

	(void)state;
	buf_init(&y, CTL_DOC_MAX);
	buf_init(&j, CTL_DOC_MAX);
	assert_int_equal(ctl_json_to_yaml(json, &y), 0);
	assert_string_equal(y.data,
			    "- 1.0e+84\n- \"a\\u0085b\"\n- \"c\\u2028d\"\n- \"tab\\there\"\n");
	assert_int_equal(ctl_yaml_to_json(y.data, y.len, &j, err, sizeof(err)), 0);
	a = cJSON_Parse(json);
	b = cJSON_Parse(j.data);
	assert_true(cJSON_Compare(a, b, true));
	cJSON_Delete(a);
	cJSON_Delete(b);
	buf_done(&y);
	buf_done(&j);
}

static void test_yaml_to_json_resolves_plain_scalars_and_reports_errors(void **state)
{
	const char *y = "ttl: 20\nflag: yes\nname: abc\nquoted: '20'\nneg: -3\nf: 2.5\nn: ~\n";
	struct buf j;
	char err[128] = "";

	(void)state;
	buf_init(&j, CTL_DOC_MAX);
	assert_int_equal(ctl_yaml_to_json(y, strlen(y), &j, err, sizeof(err)), 0);
	assert_string_equal(j.data, "{\"ttl\":20,\"flag\":true,\"name\":\"abc\",\"quoted\":\"20\","
				    "\"neg\":-3,\"f\":2.5,\"n\":null}");
	buf_reset(&j);
	assert_int_equal(ctl_yaml_to_json("a: [1, 2\n", 9, &j, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line"));
	buf_done(&j);
}

static void test_config_set_creates_replaces_and_deletes(void **state)
{
	const char sets[4][CTL_SET_MAX] = { "ttl=20", "postgresql.parameters.work_mem=8MB",
					    "loop_wait=null", "postgresql.use_slots=false" };
	struct buf out;
	char err[128];

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(
		ctl_config_set("{\"ttl\":30,\"loop_wait\":10,\"postgresql\":{\"use_slots\":"
			       "true}}",
			       sets, 4, &out, err, sizeof(err)),
		0);
	assert_string_equal(out.data, "{\"ttl\":20,\"postgresql\":{\"use_slots\":false,"
				      "\"parameters\":{\"work_mem\":\"8MB\"}}}");
	buf_reset(&out);
	assert_int_equal(ctl_config_set("[1]", sets, 1, &out, err, sizeof(err)), -EINVAL);
	buf_done(&out);
}

static void test_config_merge_deep_with_null_delete(void **state)
{
	struct buf out;
	char err[128];

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(ctl_config_merge("{\"a\":1,\"p\":{\"x\":1,\"y\":2}}",
					  "{\"a\":null,\"p\":{\"y\":3,\"z\":4}}", &out, err,
					  sizeof(err)),
			 0);
	assert_string_equal(out.data, "{\"p\":{\"x\":1,\"y\":3,\"z\":4}}");
	buf_reset(&out);
	assert_int_equal(ctl_config_merge("{}", "[1]", &out, err, sizeof(err)), -EINVAL);
	buf_done(&out);
}

/* Issue 10: --apply merges with json_merge.h (Patroni's patch_config): a patch that introduces a
 * subtree keeps the nulls inside it (patronictl stores them so), a null for an existing key
 * deletes it. */
static void test_config_merge_new_subtree_keeps_nulls(void **state)
{
	struct buf out;
	char err[128];

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(ctl_config_merge("{\"ttl\":30,\"pause\":true}",
					  "{\"pause\":null,\"postgresql\":{\"parameters\":{"
					  "\"work_mem\":null,\"wal_level\":\"logical\"}}}",
					  &out, err, sizeof(err)),
			 0);
	assert_string_equal(out.data, "{\"ttl\":30,\"postgresql\":{\"parameters\":{\"work_mem\":"
				      "null,\"wal_level\":\"logical\"}}}");
	buf_done(&out);
}

/* A cJSON allocator whose fail_at-th allocation (counting from 0) fails and no other: the code
 * after the failure runs with memory again, as after a transient shortage. */
static int alloc_count, alloc_fail_at = -1;

static void *one_failing_malloc(size_t n)
{
	if (alloc_count++ == alloc_fail_at)
		return NULL;
	return malloc(n);
}

/* Runs op once for each allocation it makes, with that one allocation failing: each run must
 * fail with nothing in out and a message, or (once no allocation failed) give want. Returns
 * how many runs failed with -ENOMEM. */
static int fail_each_allocation(int (*op)(struct buf *out, char *err, size_t errlen),
				const char *want)
{
	cJSON_Hooks hooks = { one_failing_malloc, free };
	int failures = 0, budget;
	struct buf out;

	buf_init(&out, CTL_DOC_MAX);
	for (budget = 0; budget < 1000; budget++) {
		char err[128] = "";
		int rc;

		buf_reset(&out);
		alloc_count = 0;
		alloc_fail_at = budget;
		cJSON_InitHooks(&hooks);
		rc = op(&out, err, sizeof(err));
		cJSON_InitHooks(NULL);
		alloc_fail_at = -1;
		if (rc == 0 && alloc_count <= budget) {
			assert_string_equal(out.data, want); /* no allocation failed */
			break;
		}
		if (rc == 0)
			fail_msg("allocation %d failed and the call said 0: \"%s\"", budget,
				 out.data);
		assert_int_equal(out.len, 0);
		assert_true(err[0] != '\0');
		failures += rc == -ENOMEM;
	}
	assert_true(budget < 1000);
	buf_done(&out);
	return failures;
}

static int merge_op(struct buf *out, char *err, size_t errlen)
{
	return ctl_config_merge(
		"{\"a\":1,\"p\":{\"x\":1,\"y\":2}}",
		"{\"a\":null,\"p\":{\"y\":3,\"z\":4},\"n\":{\"k\":[1,2],\"m\":\"v\"}}", out, err,
		errlen);
}

/* Issue 10: out of memory during the --apply merge was ignored (the patch was applied in part
 * and the partial document written back). Now it is an error, at every allocation that fails. */
static void test_config_merge_out_of_memory_is_an_error(void **state)
{
	(void)state;
	/* > 0: the merge itself ran out, not only the parser */
	assert_true(fail_each_allocation(merge_op, "{\"p\":{\"x\":1,\"y\":3,\"z\":4},\"n\":{\"k\":["
						   "1,2],\"m\":\"v\"}}") > 0);
}

static int set_op(struct buf *out, char *err, size_t errlen)
{
	const char sets[3][CTL_SET_MAX] = { "ttl=20", "postgresql.parameters.work_mem=8MB",
					    "tags={a: [1, 2], b: x}" };

	return ctl_config_set("{\"ttl\":30,\"postgresql\":{\"use_slots\":true}}", sets, 3, out, err,
			      errlen);
}

/* The same for --set edits: a failed allocation is an error, never a document with part of the
 * edits in it. */
static void test_config_set_out_of_memory_is_an_error(void **state)
{
	(void)state;
	(void)fail_each_allocation(set_op,
				   "{\"ttl\":20,\"postgresql\":{\"use_slots\":true,"
				   "\"parameters\":{\"work_mem\":\"8MB\"}},\"tags\":{\"a\":[1,"
				   "2],\"b\":\"x\"}}");
}

/* edit-config --set with a null: unchanged by issue 10, since --set is patronictl's
 * set_path_value and not a merge. The null deletes the key, and below an absent parent it creates
 * nothing (the merge would have stored {"absent":{"key":null}}). */
static void test_config_set_null_deletes_and_creates_nothing(void **state)
{
	const char sets[3][CTL_SET_MAX] = { "postgresql.parameters.work_mem=null",
					    "absent.key=null", "ttl=~" };
	struct buf out;
	char err[128];

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(ctl_config_set("{\"ttl\":30,\"postgresql\":{\"parameters\":{\"work_mem\":"
					"\"4MB\",\"a\":1}}}",
					sets, 3, &out, err, sizeof(err)),
			 0);
	assert_string_equal(out.data, "{\"postgresql\":{\"parameters\":{\"a\":1}}}");
	buf_done(&out);
}

static void test_diff_is_difflib_unified(void **state)
{
	const char *a = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";
	const char *b = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
	struct buf out;

	(void)state;
	buf_init(&out, CTL_DOC_MAX);
	assert_int_equal(ctl_diff(a, b, "", "", &out), 0);
	assert_string_equal(out.data, "--- \n+++ \n"
				      "@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n"
				      "@@ -9,3 +9,4 @@\n i\n j\n k\n+l\n");
	buf_reset(&out);
	assert_int_equal(ctl_diff(a, a, "", "", &out), 0);
	assert_int_equal(out.len, 0);
	buf_done(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_escapes_control_characters_from_etcd),
		cmocka_unit_test(test_args_global_and_command_options_parse),
		cmocka_unit_test(test_args_switchover_takes_leader_candidate_force),
		cmocka_unit_test(test_args_demote_and_promote_cluster),
		cmocka_unit_test(test_args_restart_positional_cluster_then_members),
		cmocka_unit_test(test_args_pg_becomes_parameters_path),
		cmocka_unit_test(test_args_rejects_bad_input_with_message),
		cmocka_unit_test(test_args_help_anywhere),
		cmocka_unit_test(test_args_scheduled_is_strict_iso8601),
		cmocka_unit_test(test_scheduled_without_zone_is_local_time),
		cmocka_unit_test(test_args_member_over_63_bytes_is_refused),
		cmocka_unit_test(test_lag_is_optime_minus_position_never_negative),
		cmocka_unit_test(test_view_sorts_names_and_marks_leader_sync),
		cmocka_unit_test(test_candidate_checks_leader_nofailover_state),
		cmocka_unit_test(test_api_base_strips_path),
		cmocka_unit_test(test_list_pretty_matches_patronictl_layout),
		cmocka_unit_test(test_list_pretty_tags_and_pending_add_columns_and_rules),
		cmocka_unit_test(test_list_host_without_port_when_all_default_and_distinct),
		cmocka_unit_test(test_list_json_is_python_style_array),
		cmocka_unit_test(test_list_yaml_sorted_keys),
		cmocka_unit_test(test_topology_indents_cascading_replica),
		cmocka_unit_test(test_list_uninitialized_title_and_scheduled_footer),
		cmocka_unit_test(test_history_table_and_tsv),
		cmocka_unit_test(test_json_to_yaml_quotes_what_would_change_type),
		cmocka_unit_test(test_yaml_round_trip_keeps_types),
		cmocka_unit_test(test_yaml_round_trip_keeps_line_separators_and_exponents),
		cmocka_unit_test(test_yaml_to_json_resolves_plain_scalars_and_reports_errors),
		cmocka_unit_test(test_config_set_creates_replaces_and_deletes),
		cmocka_unit_test(test_config_merge_deep_with_null_delete),
		cmocka_unit_test(test_config_merge_new_subtree_keeps_nulls),
		cmocka_unit_test(test_config_merge_out_of_memory_is_an_error),
		cmocka_unit_test(test_config_set_out_of_memory_is_an_error),
		cmocka_unit_test(test_config_set_null_deletes_and_creates_nothing),
		cmocka_unit_test(test_diff_is_difflib_unified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
