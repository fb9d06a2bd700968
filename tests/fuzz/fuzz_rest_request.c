/*
 * libFuzzer target over request handling: raw bytes are parsed the way the server hands a
 * request to the renderer (request line, Authorization and Content-Length headers, body) and
 * answered by rest_handle() against one of several node snapshots, with FAKE action callbacks.
 * Also feeds the body to json_merge_patch. Any crash, leak, UB or hang is a failure.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json_merge.h"
#include "rest.h"

/* Bytes of input considered (the server caps bodies at REST_BODY_MAX). */
#define FUZZ_INPUT_MAX (REST_BODY_MAX + 4096)
#define FUZZ_LINE_MAX 4096

static int fake_switchover(void *ctx, const struct rest_switchover_request *req,
			   struct rest_action_result *out)
{
	(void)ctx;
	out->status = req->scheduled ? 202 : 200;
	return buf_copy(out->text, sizeof(out->text), req->leader);
}

static int fake_cancel(void *ctx, struct rest_action_result *out)
{
	(void)ctx;
	out->status = 404;
	return 0;
}

static int fake_restart(void *ctx, const struct rest_restart_request *req,
			struct rest_action_result *out)
{
	(void)ctx;
	out->status = req->scheduled ? 202 : 200;
	return 0;
}

static int fake_reinit(void *ctx, const struct rest_reinit_request *req,
		       struct rest_action_result *out)
{
	(void)ctx;
	out->status = req->force ? 200 : 503;
	return 0;
}

static int fake_reload(void *ctx)
{
	(void)ctx;
	return 0;
}

static int fake_failsafe(void *ctx, const struct rest_failsafe_request *req,
			 struct rest_action_result *out)
{
	(void)ctx;
	out->status = req->slot_count > 3 ? 500 : 200;
	return buf_copy(out->lsn, sizeof(out->lsn), "1");
}

static int fake_patch(void *ctx, const char *patch, char *merged, size_t cap,
		      struct rest_action_result *out)
{
	bool changed;
	int rc;

	(void)ctx;
	rc = json_merge_patch("{\"ttl\":30,\"postgresql\":{\"parameters\":{\"a\":1}}}", patch,
			      merged, cap, &changed, NULL, 0);
	out->status = rc == 0 ? 200 : 409;
	out->html_error = rc != 0;
	return 0;
}

static int fake_put(void *ctx, const char *json, struct rest_action_result *out)
{
	(void)ctx;
	out->status = json[0] == '{' ? 200 : 502;
	return 0;
}

static const struct rest_actions fakes = {
	.switchover = fake_switchover,
	.switchover_cancel = fake_cancel,
	.restart = fake_restart,
	.restart_cancel = fake_cancel,
	.reinitialize = fake_reinit,
	.reload = fake_reload,
	.failsafe = fake_failsafe,
	.config_patch = fake_patch,
	.config_put = fake_put,
};

static struct rest_snapshot *snaps[4];

static void make_snapshots(void)
{
	for (int i = 0; i < 4; i++) {
		struct rest_snapshot *s = calloc(1, sizeof(*s));

		if (!s)
			abort();
		if (buf_copy(s->name, sizeof(s->name), "node1") ||
		    buf_copy(s->scope, sizeof(s->scope), "batman") ||
		    buf_copy(s->version, sizeof(s->version), "4.1.4") ||
		    buf_copy(s->config_json, sizeof(s->config_json), "{\"ttl\":30,\"a\":[1,2.5]}"))
			abort();
		s->ttl_ms = 30000;
		s->dcs_last_seen_mono_ms = 999000;
		s->state = REST_DB_RUNNING;
		s->pg_reachable = i != 2;
		s->role = i == 0 ? REST_ROLE_PRIMARY : REST_ROLE_REPLICA;
		s->has_lock = i == 0;
		s->lease_deadline_ms = 1010000;
		s->cluster_optime_bytes = 1000;
		s->replayed_lsn_bytes = 10;
		s->paused = i == 3;
		s->failsafe_mode_enabled = true;
		s->has_failsafe_key = true;
		s->failsafe_count = 1;
		s->tag_count = 2;
		if (buf_copy(s->tags[0].key, REST_TAG_KEY_MAX, "dc") ||
		    buf_copy(s->tags[0].value, REST_TAG_VALUE_MAX, "east") ||
		    buf_copy(s->tags[1].key, REST_TAG_KEY_MAX, "nofailover") ||
		    buf_copy(s->tags[1].value, REST_TAG_VALUE_MAX, "true"))
			abort();
		s->tags[1].type = REST_TAG_BOOL;
		s->member_count = 2;
		s->members[1].has_lsn = true;
		s->history_count = 1;
		snaps[i] = s;
	}
}

/* Copies the next CRLF/LF-terminated line of [*p, end) into out; returns false at the end. */
static bool next_line(const char **p, const char *end, char *out, size_t cap)
{
	const char *nl;
	size_t n;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	if (n > 0 && (*p)[n - 1] == '\r')
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl ? nl + 1 : end;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[FUZZ_LINE_MAX], auth[FUZZ_LINE_MAX], clen[FUZZ_LINE_MAX];
	static char method[FUZZ_LINE_MAX], target[FUZZ_LINE_MAX];
	struct rest_options opts;
	struct rest_request rq;
	struct rest_response resp;
	const char *p, *end;
	char *copy, *sp, *q, *body;
	uint8_t sel;
	bool have_auth = false, have_len = false;

	if (!snaps[0])
		make_snapshots();
	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	sel = data[0];
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	p = copy;
	end = copy + size - 1;

	rest_options_init(&opts);
	if (sel & 0x10) {
		(void)!buf_copy(opts.username, sizeof(opts.username), "admin");
		(void)!buf_copy(opts.password, sizeof(opts.password), "secret");
	}
	if (sel & 0x20) {
		opts.allowlist_count = 1;
		(void)!rest_cidr_parse("127.0.0.0/8", &opts.allowlist[0]);
		opts.allowlist_include_members = true;
	}
	opts.legacy_master_role = sel & 0x40;
	opts.verify_client = (sel & 0x80) ? REST_VERIFY_OPTIONAL : REST_VERIFY_NONE;

	if (!next_line(&p, end, line, sizeof(line)))
		goto out;
	sp = strchr(line, ' ');
	if (!sp)
		goto out;
	*sp = '\0';
	(void)!buf_copy(method, sizeof(method), line);
	(void)!buf_copy(target, sizeof(target), sp + 1);
	sp = strchr(target, ' ');
	if (sp)
		*sp = '\0';
	while (next_line(&p, end, line, sizeof(line)) && line[0]) {
		if (strncasecmp(line, "Authorization: ", 15) == 0) {
			(void)!buf_copy(auth, sizeof(auth), line + 15);
			have_auth = true;
		} else if (strncasecmp(line, "Content-Length: ", 16) == 0) {
			(void)!buf_copy(clen, sizeof(clen), line + 16);
			have_len = true;
		}
	}
	/* the server NUL-terminates the body it collected */
	body = malloc((size_t)(end - p) + 1);
	if (!body)
		goto out;
	memcpy(body, p, (size_t)(end - p));
	body[end - p] = '\0';
	q = strchr(target, '?');
	if (q)
		*q++ = '\0';

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = target;
	rq.query = q;
	rq.authorization = have_auth ? auth : NULL;
	rq.content_length = have_len ? clen : NULL;
	rq.body = body;
	rq.body_len = (size_t)(end - p);
	rq.client_ip = (sel & 0x08) ? "10.0.0.1" : "127.0.0.1";
	rq.tls = sel & 0x04;
	rq.client_cert_valid = sel & 0x02;
	rq.now_mono_ms = 1000000;
	rq.now_wall_ms = 1795239505000LL;
	if (rest_handle(&opts, &fakes, &rq,
			(sel & 0x3) == 3 && (sel & 0x04) ? NULL : snaps[sel & 3], &resp) == 0) {
		if (resp.status < 100 || resp.status > 599)
			abort();
		if (resp.body && strlen(resp.body) != resp.body_len)
			abort();
		rest_response_done(&resp);
	}
	{
		char merged[1024];
		bool changed;

		(void)!json_merge_patch("{\"a\":{\"b\":1}}", body, merged, sizeof(merged), &changed,
					NULL, 0);
	}
	free(body);
out:
	free(copy);
	return 0;
}
