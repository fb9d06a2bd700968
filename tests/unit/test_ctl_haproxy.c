/*
 * Unit tests for gsctl haproxy-config's pure half (ctl_haproxy.c): the check timing chosen from
 * loop_wait, and the configuration rendered from a cluster view, with hostile and incomplete
 * member keys. The rendered text is also checked by haproxy -c in
 * tests/integration/haproxy_generated.sh.
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

#include "ctl.h"

/* ---- fixtures ------------------------------------------------------------------------------ */

static void add_member(struct dcs_cluster *c, const char *name, const char *host, int port,
		       const char *role)
{
	struct dcs_member *m = &c->members[c->member_count++];

	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->conn_url, sizeof(m->conn_url), "postgres://%s:%d/postgres", host, port);
	snprintf(m->api_url, sizeof(m->api_url), "http://%s:%d/patroni", host, port + 1000);
	snprintf(m->role, sizeof(m->role), "%s", role);
	snprintf(m->state, sizeof(m->state), "running");
	m->timeline = 1;
}

/* Three members on 127.0.0.1, node1 leads. */
static struct dcs_cluster *three_nodes(void)
{
	struct dcs_cluster *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->has_initialize = true;
	c->has_leader = true;
	snprintf(c->leader, sizeof(c->leader), "node1");
	add_member(c, "node1", "127.0.0.1", 15432, "primary");
	add_member(c, "node2", "127.0.0.1", 15433, "replica");
	add_member(c, "node3", "127.0.0.1", 15434, "replica");
	return c;
}

static const struct ctl_haproxy_opts default_opts = {
	.bind = "*", .primary_port = 5000, .replica_port = 5001, .loop_wait_ms = 1000
};

/* Renders c with o; returns the text (caller frees) and the warnings in warn, rc in *rc. */
static char *render(const struct dcs_cluster *c, const struct ctl_haproxy_opts *o, char *warn,
		    size_t cap, int *rc)
{
	struct ctl_view *v = calloc(1, sizeof(*v));
	struct buf out;
	char *s;

	assert_non_null(v);
	ctl_view_build(c, "demo", v);
	buf_init(&out, CTL_DOC_MAX);
	*rc = ctl_render_haproxy(v, o, &out, warn, cap);
	s = buf_steal(&out);
	free(v);
	return s != NULL ? s : calloc(1, 1);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ---- timing -------------------------------------------------------------------------------- */

/* loop_wait 1 s: every 200 ms, 100 ms while changing state or down; up at the first 200
 * (within 100 ms), down in 400 ms after a 503, in 1 s when the member falls silent; a refused
 * connection is retried after 100 ms, not HAProxy's second. */
static void test_timing_loop_wait_1s_sees_a_role_change_in_few_hundred_ms(void **state)
{
	struct ctl_haproxy_timing t;

	(void)state;
	ctl_haproxy_timing(1000, &t);
	assert_int_equal(t.inter_ms, 200);
	assert_int_equal(t.fastinter_ms, 100);
	assert_int_equal(t.downinter_ms, 100);
	assert_int_equal(t.rise, 1);
	assert_int_equal(t.fall, 3);
	assert_int_equal(t.connect_ms, 100);
	assert_int_equal(t.up_worst_ms, 100);
	assert_int_equal(t.down_worst_ms, 200 + 2 * 100);
	assert_int_equal(t.silent_worst_ms, 200 + 2 * 100 + 3 * 200);
}

/* The fast profile checks every 100 ms; Patroni's default (or no loop_wait) is capped at 200. */
static void test_timing_is_bounded_at_both_ends(void **state)
{
	struct ctl_haproxy_timing t;

	(void)state;
	ctl_haproxy_timing(500, &t);
	assert_int_equal(t.inter_ms, 100);
	assert_int_equal(t.fastinter_ms, 50);
	ctl_haproxy_timing(10000, &t);
	assert_int_equal(t.inter_ms, 200);
	ctl_haproxy_timing(0, &t);
	assert_int_equal(t.inter_ms, 200);
	ctl_haproxy_timing(-5, &t);
	assert_int_equal(t.inter_ms, 200);
	for (int64_t lw = 0; lw <= 3600000; lw += 250) {
		ctl_haproxy_timing(lw, &t);
		assert_true(t.up_worst_ms <= 100);
		assert_true(t.down_worst_ms <= 400);
		assert_true(t.silent_worst_ms <= 1000);
		assert_true(t.fastinter_ms > 0);
	}
}

/* ---- rendering ----------------------------------------------------------------------------- */

static void test_render_three_members_two_listeners_rest_ports(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char warn[1024];
	int rc;
	char *s = render(c, &default_opts, warn, sizeof(warn), &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_string_equal(warn, "");
	assert_non_null(strstr(s, "listen primary\n\tbind *:5000\n"));
	assert_non_null(strstr(s, "listen replicas\n\tbind *:5001\n\tbalance roundrobin\n"));
	assert_non_null(strstr(s, "option httpchk OPTIONS /primary\n"));
	assert_non_null(strstr(s, "option httpchk OPTIONS /replica\n"));
	assert_int_equal(count(s, "http-check expect status 200\n"), 2);
	assert_int_equal(count(s, "\tdefault-server inter 200ms fastinter 100ms downinter 100ms "
				  "rise 1 fall 3 on-marked-down shutdown-sessions\n"),
			 2);
	assert_non_null(strstr(s, "\ttimeout check 200ms\n"));
	assert_non_null(strstr(s, "\ttimeout connect 100ms\n"));
	assert_int_equal(count(s, "\tserver node1 127.0.0.1:15432 maxconn 100 check port 16432\n"),
			 2);
	assert_int_equal(count(s, "\tserver node3 127.0.0.1:15434 maxconn 100 check port 16434\n"),
			 2);
	assert_int_equal(count(s, "\tserver "), 6);
	free(s);
	free(c);
}

/* A member without api_url cannot be checked: it is left out, with a warning, not guessed. */
static void test_render_member_without_api_url_is_left_out_with_warning(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char warn[1024];
	int rc;
	char *s;

	(void)state;
	c->members[1].api_url[0] = '\0';
	s = render(c, &default_opts, warn, sizeof(warn), &rc);
	assert_int_equal(rc, 0);
	assert_null(strstr(s, "node2"));
	assert_int_equal(count(s, "\tserver "), 4);
	assert_non_null(strstr(warn, "member \"node2\" left out: no api_url"));
	free(s);
	free(c);
}

/* IPv6 hosts are bracketed, as HAProxy reads them; a REST host other than the database's is
 * checked through addr. */
static void test_render_ipv6_hosts_are_bracketed(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char warn[1024];
	int rc;
	char *s;

	(void)state;
	snprintf(c->members[0].conn_url, sizeof(c->members[0].conn_url),
		 "postgres://[fd00::1]:5432/postgres");
	snprintf(c->members[0].api_url, sizeof(c->members[0].api_url),
		 "http://[fd00::2]:8008/patroni");
	s = render(c, &default_opts, warn, sizeof(warn), &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(warn, "");
	assert_int_equal(count(s, "\tserver node1 [fd00::1]:5432 maxconn 100 check port 8008 addr "
				  "[fd00::2]\n"),
			 2);
	free(s);
	free(c);
}

/* Without a leader the configuration is the same (HAProxy follows /primary, not the key), and
 * the operator is told that writes have nowhere to go yet. */
static void test_render_without_leader_warns_and_keeps_every_member(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char warn[1024];
	int rc;
	char *with, *without;

	(void)state;
	with = render(c, &default_opts, warn, sizeof(warn), &rc);
	assert_int_equal(rc, 0);
	c->has_leader = false;
	c->leader[0] = '\0';
	without = render(c, &default_opts, warn, sizeof(warn), &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(with, without);
	assert_non_null(strstr(warn, "no leader"));
	free(with);
	free(without);
	free(c);
}

/* A member key from etcd is hostile: a name or host that would add configuration lines is left
 * out; with no member left, nothing is rendered. */
static void test_render_hostile_member_keys_are_left_out(void **state)
{
	struct dcs_cluster *c = three_nodes();
	char warn[2048];
	int rc;
	char *s;

	(void)state;
	snprintf(c->members[0].name, sizeof(c->members[0].name), "x\n\tbind *:22");
	snprintf(c->members[1].api_url, sizeof(c->members[1].api_url),
		 "http://h\tbackup:8008/patroni");
	snprintf(c->members[2].api_url, sizeof(c->members[2].api_url), "ftp://h:8008/");
	s = render(c, &default_opts, warn, sizeof(warn), &rc);
	assert_int_equal(rc, -ENOENT);
	assert_null(strstr(s, ":22"));
	assert_null(strstr(s, "backup"));
	assert_int_equal(count(warn, "left out"), 3);
	free(s);
	free(c);
}

/* The listen ports and address are the operator's; an IPv6 bind is bracketed, a hostile one
 * refused. */
static void test_render_listen_options(void **state)
{
	struct dcs_cluster *c = three_nodes();
	struct ctl_haproxy_opts o = default_opts;
	char warn[1024];
	int rc;
	char *s;

	(void)state;
	snprintf(o.bind, sizeof(o.bind), "::1");
	o.primary_port = 6432;
	o.replica_port = 6433;
	s = render(c, &o, warn, sizeof(warn), &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "\tbind [::1]:6432\n"));
	assert_non_null(strstr(s, "\tbind [::1]:6433\n"));
	free(s);
	snprintf(o.bind, sizeof(o.bind), "0.0.0.0:1\n\tmode http");
	s = render(c, &o, warn, sizeof(warn), &rc);
	assert_int_equal(rc, -EINVAL);
	free(s);
	free(c);
}

static void test_args_haproxy_config_options(void **state)
{
	struct ctl_args a;
	char err[256];
	char *ok[] = { "gsctl", "haproxy-config",      "demo",	 "--primary-port",
		       "6000",	"--replica-port=6001", "--bind", "127.0.0.1" };
	char *same[] = { "gsctl", "haproxy-config", "--primary-port",
			 "6000",  "--replica-port", "6000" };
	char *bad[] = { "gsctl", "haproxy-config", "--primary-port", "70000" };
	char *wrong_cmd[] = { "gsctl", "list", "--bind", "x" };

	(void)state;
	assert_int_equal(ctl_parse_args(8, ok, &a, err, sizeof(err)), 0);
	assert_int_equal(a.command, CTL_CMD_HAPROXY_CONFIG);
	assert_string_equal(a.cluster, "demo");
	assert_int_equal(a.primary_port, 6000);
	assert_int_equal(a.replica_port, 6001);
	assert_string_equal(a.bind, "127.0.0.1");
	assert_int_equal(ctl_parse_args(6, same, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must differ"));
	assert_int_equal(ctl_parse_args(4, bad, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(ctl_parse_args(4, wrong_cmd, &a, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timing_loop_wait_1s_sees_a_role_change_in_few_hundred_ms),
		cmocka_unit_test(test_timing_is_bounded_at_both_ends),
		cmocka_unit_test(test_render_three_members_two_listeners_rest_ports),
		cmocka_unit_test(test_render_member_without_api_url_is_left_out_with_warning),
		cmocka_unit_test(test_render_ipv6_hosts_are_bracketed),
		cmocka_unit_test(test_render_without_leader_warns_and_keeps_every_member),
		cmocka_unit_test(test_render_hostile_member_keys_are_left_out),
		cmocka_unit_test(test_render_listen_options),
		cmocka_unit_test(test_args_haproxy_config_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
