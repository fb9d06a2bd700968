/*
 * Tests for the REST transport (rest_server.c) on 127.0.0.1: start-up errors are reported
 * with a message, publishing races safely with readers (a publisher swaps snapshots as fast as
 * it can while client threads read /patroni), /metrics answers with the process's figures before
 * any snapshot, and the server stops cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "rest.h"

#define ERR_MAX 256
/* Requests each reader thread makes while the publisher runs. */
#define READS_PER_THREAD 150
#define READER_THREADS 4
/* One response: the status document is well under this. */
#define RESPONSE_MAX 16384

static struct rest_options opts;

static int setup(void **state)
{
	(void)state;
	rest_options_init(&opts);
	assert_int_equal(buf_copy(opts.listen_host, sizeof(opts.listen_host), "127.0.0.1"), 0);
	opts.listen_port = 0; /* any free port */
	return 0;
}

static int http_request(int port, const char *method, const char *path, char *out, size_t cap);

/* Sends one HTTP/1.0 GET and reads the whole answer into out; returns bytes or -1. */
static int http_get(int port, const char *path, char *out, size_t cap)
{
	return http_request(port, "GET", path, out, cap);
}

/* Sends one HTTP/1.0 request without a body and reads the whole answer; returns bytes or -1. */
static int http_request(int port, const char *method, const char *path, char *out, size_t cap)
{
	struct sockaddr_in a = { 0 };
	struct timeval tv = { .tv_sec = 10 };
	char reqbuf[256];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    buf_format(reqbuf, sizeof(reqbuf), "%s %s HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		       method, path) != 0 ||
	    write(fd, reqbuf, strlen(reqbuf)) != (ssize_t)strlen(reqbuf)) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, out + got, cap - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= cap - 1)
			break;
	}
	out[got] = '\0';
	close(fd);
	return (int)got;
}

static void fill(struct rest_snapshot *s, int generation)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(buf_format(s->name, sizeof(s->name), "gen%d", generation), 0);
	assert_int_equal(buf_copy(s->scope, sizeof(s->scope), "batman"), 0);
	s->role = REST_ROLE_REPLICA;
	s->state = REST_DB_RUNNING;
	s->ttl_ms = 30000;
}

struct reader {
	int port;
	int ok;
	int bad;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char *buf = malloc(RESPONSE_MAX);

	if (!buf)
		return NULL;
	for (int i = 0; i < READS_PER_THREAD; i++) {
		if (http_get(r->port, "/patroni", buf, RESPONSE_MAX) > 0 &&
		    strncmp(buf, "HTTP/1.0 200", 12) == 0 && strstr(buf, "\"name\": \"gen"))
			r->ok++;
		else
			r->bad++;
	}
	free(buf);
	return NULL;
}

static void test_server_publish_races_safely_with_readers(void **state)
{
	struct rest_snapshot *snap = calloc(1, sizeof(*snap));
	struct reader readers[READER_THREADS];
	pthread_t tids[READER_THREADS];
	char err[ERR_MAX] = "";
	struct rest_server *srv;
	int generation = 0;
	bool running = true;

	(void)state;
	assert_non_null(snap);
	srv = rest_server_new(&opts, NULL, err, sizeof(err));
	assert_non_null(srv);
	assert_true(rest_server_port(srv) > 0);
	fill(snap, generation);
	assert_int_equal(rest_publish(srv, snap), 0);
	for (int i = 0; i < READER_THREADS; i++) {
		readers[i] = (struct reader){ .port = rest_server_port(srv) };
		assert_int_equal(pthread_create(&tids[i], NULL, reader_main, &readers[i]), 0);
	}
	while (running) {
		fill(snap, ++generation);
		assert_int_equal(rest_publish(srv, snap), 0);
		running = false;
		for (int i = 0; i < READER_THREADS; i++)
			if (readers[i].ok + readers[i].bad < READS_PER_THREAD)
				running = true;
	}
	for (int i = 0; i < READER_THREADS; i++) {
		assert_int_equal(pthread_join(tids[i], NULL), 0);
		assert_int_equal(readers[i].bad, 0);
		assert_int_equal(readers[i].ok, READS_PER_THREAD);
	}
	assert_true(generation > 1);
	rest_server_free(srv);
	free(snap);
}

/* The status code of one request, or -1. */
static int http_status(int port, const char *method, const char *path)
{
	char buf[RESPONSE_MAX];
	int code = -1;

	if (http_request(port, method, path, buf, sizeof(buf)) > 12 &&
	    strncmp(buf, "HTTP/1.0 ", 9) == 0)
		code = (int)strtol(buf + 9, NULL, 10);
	return code;
}

/* Health answers are rendered once per snapshot (rest_cache.c): repeated requests get the same
 * answer, the lease deadline still turns /primary to 503 without a new snapshot (as for a frozen
 * HA loop), a new snapshot is answered at once, and a query string is rendered per request. */
static void test_server_cached_health_answers_follow_deadlines_and_snapshots(void **state)
{
	struct rest_snapshot *snap = calloc(1, sizeof(*snap));
	char err[ERR_MAX] = "";
	char a[RESPONSE_MAX], b[RESPONSE_MAX];
	struct rest_server *srv;
	int port;
	int64_t deadline;

	(void)state;
	assert_non_null(snap);
	srv = rest_server_new(&opts, NULL, err, sizeof(err));
	assert_non_null(srv);
	port = rest_server_port(srv);
	fill(snap, 1);
	snap->role = REST_ROLE_PRIMARY;
	snap->has_lock = true;
	snap->dcs_last_seen_mono_ms = clock_mono_ms();
	snap->next_cycle_due_ms = clock_mono_ms() + 1000;
	deadline = clock_mono_ms() + 700;
	snap->lease_deadline_ms = deadline;
	assert_int_equal(rest_publish(srv, snap), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(http_status(port, "GET", "/primary"), 200);
		assert_int_equal(http_status(port, "OPTIONS", "/"), 200);
		assert_int_equal(http_status(port, "GET", "/replica"), 503);
	}
	/* the Date header aside, the same bytes each time */
	assert_true(http_get(port, "/primary", a, sizeof(a)) > 0);
	assert_true(http_get(port, "/primary", b, sizeof(b)) > 0);
	assert_non_null(strstr(a, "\r\n\r\n{\"state\": \"running\""));
	assert_string_equal(strstr(a, "\r\n\r\n"), strstr(b, "\r\n\r\n"));
	while (clock_mono_ms() <= deadline)
		usleep(20 * 1000);
	assert_int_equal(http_status(port, "GET", "/primary"), 503);
	assert_int_equal(http_status(port, "OPTIONS", "/"), 503);
	assert_int_equal(http_status(port, "GET", "/health"), 200);
	/* the loop publishes again: the next request sees it */
	snap->lease_deadline_ms = clock_mono_ms() + 60000;
	assert_int_equal(rest_publish(srv, snap), 0);
	assert_int_equal(http_status(port, "GET", "/primary"), 200);
	snap->role = REST_ROLE_REPLICA;
	snap->has_lock = false;
	snap->replication_state = REST_REPLICATION_STREAMING;
	snap->pg_reachable = true;
	assert_int_equal(rest_publish(srv, snap), 0);
	assert_int_equal(http_status(port, "GET", "/primary"), 503);
	assert_int_equal(http_status(port, "GET", "/replica"), 200);
	/* with a query: rendered for the request (a tag filter that does not match) */
	assert_int_equal(http_status(port, "GET", "/replica?tag_dc=west"), 503);
	rest_server_free(srv);
	free(snap);
}

static void test_server_without_snapshot_answers_503(void **state)
{
	char err[ERR_MAX] = "";
	char buf[RESPONSE_MAX];
	struct rest_server *srv = rest_server_new(&opts, NULL, err, sizeof(err));

	(void)state;
	assert_non_null(srv);
	assert_true(http_get(rest_server_port(srv), "/replica", buf, sizeof(buf)) > 0);
	assert_memory_equal(buf, "HTTP/1.0 503", 12);
	rest_server_free(srv);
}

/* Before the loop's first snapshot, /metrics still answers, with the process's own figures. */
static void test_server_metrics_before_the_first_snapshot(void **state)
{
	char err[ERR_MAX] = "";
	char *buf = malloc(64 * 1024);
	struct rest_server *srv = rest_server_new(&opts, NULL, err, sizeof(err));
	struct rest_process p;
	const char *line;
	double started;

	(void)state;
	assert_non_null(buf);
	assert_non_null(srv);
	assert_true(http_get(rest_server_port(srv), "/metrics", buf, 64 * 1024) > 0);
	assert_memory_equal(buf, "HTTP/1.0 200", 12);
	assert_non_null(strstr(buf, "\npatroni_cluster_unlocked{"));
	line = strstr(buf, "\nprocess_start_time_seconds{");
	assert_non_null(line);
	line = strchr(line, '}');
	assert_non_null(line);
	started = strtod(line + 1, NULL);
	assert_true(started > (double)clock_wall_ms() / 1000.0 - 3600.0);
	assert_true(started <= (double)clock_wall_ms() / 1000.0 + 1.0);
	/* the reader itself: figures a running process must have */
	assert_int_equal(rest_process_read(&p), 0);
	assert_true(p.resident_bytes > 0 && p.virtual_bytes >= p.resident_bytes);
	assert_true(p.open_fds >= 3 && (p.max_fds < 0 || p.open_fds <= p.max_fds));
	assert_true(p.threads >= 2); /* the server's own threads */
	assert_true(p.cpu_seconds >= 0.0);
	rest_server_free(srv);
	free(buf);
}

static void test_server_port_in_use_fails_with_message(void **state)
{
	char err[ERR_MAX] = "";
	struct rest_server *a = rest_server_new(&opts, NULL, err, sizeof(err));
	struct rest_server *b;

	(void)state;
	assert_non_null(a);
	opts.listen_port = rest_server_port(a);
	b = rest_server_new(&opts, NULL, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "could not start the REST API"));
	rest_server_free(a);
}

static void test_server_missing_certificate_fails_with_message(void **state)
{
	char err[ERR_MAX] = "";

	(void)state;
	assert_int_equal(buf_copy(opts.certfile, sizeof(opts.certfile), "/nonexistent/cert.pem"),
			 0);
	/* as the agent does at start-up when restapi.certfile is set (a minimal build loads
	 * libmicrohttpd's HTTPS build here; elsewhere nothing) */
	assert_int_equal(rest_mhd_use_tls(err, sizeof(err)), 0);
	assert_true(rest_mhd_has_tls());
	assert_null(rest_server_new(&opts, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
}

static void test_server_bad_listen_host_fails_with_message(void **state)
{
	char err[ERR_MAX] = "";

	(void)state;
	assert_int_equal(
		buf_copy(opts.listen_host, sizeof(opts.listen_host), "no such host.invalid"), 0);
	assert_null(rest_server_new(&opts, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "could not resolve listen address"));
}

/* restapi.allowlist takes host names, resolved when the list is loaded (Patroni does the same);
 * gsha refused them at start. */
static void test_allowlist_takes_host_names_resolved_at_load(void **state)
{
	struct rest_options o;
	bool has_v4_loopback = false;

	(void)state;
	rest_options_init(&o);
	assert_int_equal(rest_allowlist_add(&o, "10.0.0.0/8"), 0);
	assert_int_equal(o.allowlist_count, 1);
	assert_int_equal(rest_allowlist_add(&o, "localhost"), 0);
	assert_true(o.allowlist_count >= 2);
	for (int i = 1; i < o.allowlist_count; i++)
		if (o.allowlist[i].family == AF_INET && o.allowlist[i].addr[0] == 127 &&
		    o.allowlist[i].prefix_len == 32)
			has_v4_loopback = true;
	assert_true(has_v4_loopback);
	assert_int_equal(rest_allowlist_add(&o, "localhost/24"), -EINVAL);
	assert_int_equal(rest_allowlist_add(&o, ""), -EINVAL);
	while (o.allowlist_count < REST_ALLOWLIST_MAX)
		assert_int_equal(rest_allowlist_add(&o, "10.1.0.0/16"), 0);
	assert_int_equal(rest_allowlist_add(&o, "10.2.0.0/16"), -E2BIG);
}

/* allowlist_include_members with a member whose api_url is "localhost": the server resolves the
 * name, so a request from 127.0.0.1 passes the allowlist (and, with no action wired, gets 503
 * rather than 403); a member list without it still refuses. */
static void test_server_resolves_member_host_names_for_the_allowlist(void **state)
{
	struct rest_snapshot *snap = calloc(1, sizeof(*snap));
	char err[ERR_MAX];
	char *buf = malloc(RESPONSE_MAX);
	struct rest_server *s;

	(void)state;
	assert_non_null(snap);
	assert_non_null(buf);
	opts.allowlist_include_members = true;
	s = rest_server_new(&opts, NULL, err, sizeof(err));
	assert_non_null(s);
	fill(snap, 1);
	snap->member_count = 1;
	assert_int_equal(buf_copy(snap->members[0].name, sizeof(snap->members[0].name), "n2"), 0);
	assert_int_equal(
		buf_copy(snap->members[0].api_url, REST_URL_MAX, "http://localhost:8008/patroni"),
		0);
	assert_int_equal(rest_publish(s, snap), 0);
	assert_true(http_request(rest_server_port(s), "POST", "/reload", buf, RESPONSE_MAX) > 0);
	assert_null(strstr(buf, " 403 "));
	rest_server_free(s);

	s = rest_server_new(&opts, NULL, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(
		buf_copy(snap->members[0].api_url, REST_URL_MAX, "http://10.9.9.9:8008/patroni"),
		0);
	assert_int_equal(rest_publish(s, snap), 0);
	assert_true(http_request(rest_server_port(s), "POST", "/reload", buf, RESPONSE_MAX) > 0);
	assert_non_null(strstr(buf, " 403 "));
	rest_server_free(s);
	free(buf);
	free(snap);
}

/* Opens n idle connections to port from 127.0.0.1 into fds. */
static void open_idle(int port, int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
	}
	usleep(200 * 1000); /* the server counts them as it accepts them */
}

/* 64 idle sockets from one address lock that address out (HAProxy behind NAT); an address in
 * restapi.allowlist is exempt, so its health checks still answer. */
static void test_server_per_address_limit_exempts_allowlisted_addresses(void **state)
{
	struct rest_snapshot *snap = calloc(1, sizeof(*snap));
	char err[ERR_MAX];
	char *buf = malloc(RESPONSE_MAX);
	int fds[64];

	(void)state;
	assert_non_null(snap);
	assert_non_null(buf);
	fill(snap, 1);
	for (int round = 0; round < 2; round++) {
		struct rest_server *s;

		if (round == 1) {
			assert_int_equal(rest_cidr_parse("127.0.0.0/8", &opts.allowlist[0]), 0);
			opts.allowlist_count = 1;
		}
		s = rest_server_new(&opts, NULL, err, sizeof(err));
		assert_non_null(s);
		assert_int_equal(rest_publish(s, snap), 0);
		open_idle(rest_server_port(s), fds, 64);
		int got = http_get(rest_server_port(s), "/patroni", buf, RESPONSE_MAX);
		if (round == 0)
			assert_true(got <= 0 || strncmp(buf, "HTTP/1.0 200", 12) != 0);
		else
			assert_true(got > 0 && strncmp(buf, "HTTP/1.0 200", 12) == 0);
		for (int i = 0; i < 64; i++)
			close(fds[i]);
		rest_server_free(s);
	}
	free(buf);
	free(snap);
}

static void test_server_free_accepts_null(void **state)
{
	(void)state;
	rest_server_free(NULL);
}

/* A snapshot copy writes the fields before the bulk arrays, and of the arrays only what their
 * counts cover (config_json: its string): the rest of the destination is left as it was, so a
 * copy into fresh pages costs what the snapshot holds (issue 15). */
#define POISON 0xa5
static bool all_poison(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != POISON)
			return false;
	return true;
}

static void test_snapshot_copy_writes_only_what_the_counts_cover(void **state)
{
	struct rest_snapshot *src = malloc(sizeof(*src));
	struct rest_snapshot *dst = malloc(sizeof(*dst));
	size_t head = offsetof(struct rest_snapshot, members);

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	memset(src, 0x5a, sizeof(*src)); /* every byte of the head set, not only the known fields */
	src->member_count = 3;
	src->history_count = 2;
	src->failsafe_count = 1;
	snprintf(src->config_json, sizeof(src->config_json), "{\"ttl\":30}");
	memset(dst, POISON, sizeof(*dst));
	rest_snapshot_copy(dst, src);
	assert_memory_equal(dst, src, head);
	assert_memory_equal(dst->members, src->members, 3 * sizeof(src->members[0]));
	assert_true(all_poison(&dst->members[3], (REST_MEMBERS_MAX - 3) * sizeof(dst->members[0])));
	assert_memory_equal(dst->history, src->history, 2 * sizeof(src->history[0]));
	assert_true(all_poison(&dst->history[2], (REST_HISTORY_MAX - 2) * sizeof(dst->history[0])));
	assert_string_equal(dst->config_json, "{\"ttl\":30}");
	assert_true(all_poison(dst->config_json + strlen("{\"ttl\":30}") + 1,
			       REST_CONFIG_MAX - strlen("{\"ttl\":30}") - 1));
	assert_memory_equal(dst->failsafe, src->failsafe, sizeof(src->failsafe[0]));
	assert_true(
		all_poison(&dst->failsafe[1], (REST_FAILSAFE_MAX - 1) * sizeof(dst->failsafe[0])));

	/* Counts past the arrays (never published so, but not trusted) copy the whole array. */
	src->member_count = REST_MEMBERS_MAX + 5;
	src->history_count = -1;
	memset(src->config_json, 'x', sizeof(src->config_json)); /* no NUL: stops at the end */
	memset(dst, POISON, sizeof(*dst));
	rest_snapshot_copy(dst, src);
	assert_memory_equal(dst->members, src->members, sizeof(src->members));
	assert_true(all_poison(dst->history, sizeof(dst->history)));
	assert_int_equal(strlen(dst->config_json), REST_CONFIG_MAX - 1);

	/* clear: the head zeroed, config_json "", the arrays untouched */
	memset(dst, POISON, sizeof(*dst));
	rest_snapshot_clear(dst);
	for (size_t i = 0; i < head; i++)
		assert_int_equal(((const unsigned char *)dst)[i], 0);
	assert_int_equal(dst->member_count, 0);
	assert_string_equal(dst->config_json, "");
	assert_true(all_poison(dst->members, sizeof(dst->members)));
	assert_true(all_poison(dst->config_json + 1, REST_CONFIG_MAX - 1));
	free(src);
	free(dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_server_publish_races_safely_with_readers, setup),
		cmocka_unit_test(test_allowlist_takes_host_names_resolved_at_load),
		cmocka_unit_test_setup(test_server_per_address_limit_exempts_allowlisted_addresses,
				       setup),
		cmocka_unit_test_setup(test_server_resolves_member_host_names_for_the_allowlist,
				       setup),
		cmocka_unit_test_setup(
			test_server_cached_health_answers_follow_deadlines_and_snapshots, setup),
		cmocka_unit_test_setup(test_server_without_snapshot_answers_503, setup),
		cmocka_unit_test_setup(test_server_metrics_before_the_first_snapshot, setup),
		cmocka_unit_test_setup(test_server_port_in_use_fails_with_message, setup),
		cmocka_unit_test_setup(test_server_missing_certificate_fails_with_message, setup),
		cmocka_unit_test_setup(test_server_bad_listen_host_fails_with_message, setup),
		cmocka_unit_test_setup(test_server_free_accepts_null, setup),
		cmocka_unit_test(test_snapshot_copy_writes_only_what_the_counts_cover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
