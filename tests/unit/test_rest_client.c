/*
 * Tests for the member client (rest_client.c) against the real REST server on 127.0.0.1: the
 * Basic credentials reach a server that demands them (the failsafe acknowledgement that used to
 * fail), answers and the "lsn" header come back, parallel requests each get their own outcome,
 * and what the client refuses (other protocols, oversized answers) is refused with a code.
 * TLS, the CA and client certificates are exercised by integration.ha_failsafe_tls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rest.h"
#include "rest_client.h"

#define ERR_MAX 256
#define URL_MAX 128
#define TIMEOUT_MS 5000

static struct rest_server *server;
static int port;
static int failsafe_calls;

static int on_failsafe(void *ctx, const struct rest_failsafe_request *req,
		       struct rest_action_result *out)
{
	(void)ctx;
	failsafe_calls++;
	assert_string_equal(req->name, "node1");
	out->status = 200;
	assert_int_equal(buf_copy(out->text, sizeof(out->text), "Accepted"), 0);
	assert_int_equal(buf_copy(out->lsn, sizeof(out->lsn), "50331744"), 0);
	return 0;
}

static int setup(void **state)
{
	struct rest_options opts;
	struct rest_actions actions = { .failsafe = on_failsafe };
	static struct rest_snapshot snap;
	char err[ERR_MAX] = "";

	(void)state;
	rest_options_init(&opts);
	assert_int_equal(buf_copy(opts.listen_host, sizeof(opts.listen_host), "127.0.0.1"), 0);
	opts.listen_port = 0;
	assert_int_equal(buf_copy(opts.username, sizeof(opts.username), "member"), 0);
	assert_int_equal(buf_copy(opts.password, sizeof(opts.password), "s3cret:x"), 0);
	server = rest_server_new(&opts, &actions, err, sizeof(err));
	if (server == NULL)
		fail_msg("rest_server_new: %s", err);
	port = rest_server_port(server);
	memset(&snap, 0, sizeof(snap));
	assert_int_equal(buf_copy(snap.name, sizeof(snap.name), "node2"), 0);
	snap.failsafe_mode_enabled = true;
	assert_int_equal(rest_publish(server, &snap), 0);
	failsafe_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rest_server_free(server);
	server = NULL;
	return 0;
}

static void url(char *out, const char *path)
{
	assert_int_equal(buf_format(out, URL_MAX, "http://127.0.0.1:%d%s", port, path), 0);
}

static const char failsafe_body[] =
	"{\"name\": \"node1\", \"conn_url\": \"postgres://127.0.0.1:5432/postgres\", "
	"\"api_url\": \"http://127.0.0.1:8008/patroni\", \"slots\": {}}";

static void test_failsafe_post_without_credentials_is_refused(void **state)
{
	struct rest_client_options o = { 0 };
	char u[URL_MAX];
	struct rest_client_request req = {
		.method = "POST", .url = u, .body = failsafe_body, .timeout_ms = TIMEOUT_MS
	};
	struct rest_client_reply r;

	(void)state;
	url(u, "/failsafe");
	assert_int_equal(rest_client_call(&o, &req, &r), 0);
	assert_int_equal(r.status, 401);
	assert_string_equal(r.body.data, "no auth header received");
	rest_client_reply_done(&r);
	assert_int_equal(failsafe_calls, 0);
}

static void test_failsafe_post_with_credentials_is_acknowledged(void **state)
{
	struct rest_client_options o = { 0 };
	char u[URL_MAX];
	struct rest_client_request req = {
		.method = "POST", .url = u, .body = failsafe_body, .timeout_ms = TIMEOUT_MS
	};
	struct rest_client_reply r;

	(void)state;
	assert_int_equal(buf_copy(o.auth.username, sizeof(o.auth.username), "member"), 0);
	assert_int_equal(buf_copy(o.auth.password, sizeof(o.auth.password), "s3cret:x"), 0);
	url(u, "/failsafe");
	assert_int_equal(rest_client_call(&o, &req, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "Accepted");
	assert_string_equal(r.lsn, "50331744");
	rest_client_reply_done(&r);
	assert_int_equal(failsafe_calls, 1);

	assert_int_equal(buf_copy(o.auth.password, sizeof(o.auth.password), "wrong"), 0);
	assert_int_equal(rest_client_call(&o, &req, &r), 0);
	assert_int_equal(r.status, 401);
	rest_client_reply_done(&r);
	assert_int_equal(failsafe_calls, 1);
}

static void test_parallel_requests_each_get_their_outcome(void **state)
{
	struct rest_client_options o = { 0 };
	char ok[URL_MAX], closed[URL_MAX];
	struct rest_client_request req[4] = {
		{ .method = "GET", .url = ok, .timeout_ms = TIMEOUT_MS },
		/* port 1 on loopback: nothing listens, the connection is refused */
		{ .method = "GET", .url = closed, .timeout_ms = TIMEOUT_MS },
		{ .method = "GET", .url = "file:///etc/passwd", .timeout_ms = TIMEOUT_MS },
		{ .method = "GET", .url = ok, .timeout_ms = TIMEOUT_MS, .response_max = 8 },
	};
	struct rest_client_reply r[4];

	(void)state;
	url(ok, "/patroni");
	assert_int_equal(buf_copy(closed, sizeof(closed), "http://127.0.0.1:1/patroni"), 0);
	rest_client_call_all(&o, req, 4, r);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[0].status, 200);
	assert_non_null(strstr(r[0].body.data, "\"role\""));
	assert_int_equal(r[1].rc, -EHOSTUNREACH);
	assert_true(r[1].err[0] != '\0');
	assert_int_equal(r[2].rc, -EPROTONOSUPPORT);
	assert_int_equal(r[3].rc, -EMSGSIZE);
	for (int i = 0; i < 4; i++)
		rest_client_reply_done(&r[i]);
}

static void test_zero_requests_and_too_many_are_handled(void **state)
{
	struct rest_client_options o = { 0 };
	struct rest_client_request req[REST_CLIENT_PARALLEL_MAX + 1] = { 0 };
	struct rest_client_reply r[REST_CLIENT_PARALLEL_MAX + 1];

	(void)state;
	rest_client_call_all(&o, req, 0, r);
	for (int i = 0; i <= REST_CLIENT_PARALLEL_MAX; i++)
		req[i] = (struct rest_client_request){ .method = "GET",
						       .url = "gopher://127.0.0.1/",
						       .timeout_ms = TIMEOUT_MS };
	rest_client_call_all(&o, req, REST_CLIENT_PARALLEL_MAX + 1, r);
	assert_int_equal(r[0].rc, -EPROTONOSUPPORT);
	assert_int_equal(r[REST_CLIENT_PARALLEL_MAX].rc, -E2BIG);
	for (int i = 0; i <= REST_CLIENT_PARALLEL_MAX; i++)
		rest_client_reply_done(&r[i]);
}

static void test_member_url_replaces_the_path(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(rest_client_member_url("https://10.0.0.1:8008/patroni", "/failsafe", out,
						sizeof(out)),
			 0);
	assert_string_equal(out, "https://10.0.0.1:8008/failsafe");
	assert_int_equal(rest_client_member_url("http://[::1]:8008", "/patroni", out, sizeof(out)),
			 0);
	assert_string_equal(out, "http://[::1]:8008/patroni");
	assert_int_equal(rest_client_member_url("ftp://h/patroni", "/x", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(rest_client_member_url("http:///patroni", "/x", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(rest_client_member_url("http://a-rather-long-host-name.example:8008/p",
						"/failsafe", out, 40),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failsafe_post_without_credentials_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failsafe_post_with_credentials_is_acknowledged,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_parallel_requests_each_get_their_outcome,
						setup, teardown),
		cmocka_unit_test(test_zero_requests_and_too_many_are_handled),
		cmocka_unit_test(test_member_url_replaces_the_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
