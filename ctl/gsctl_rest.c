/*
 * gsctl_rest.c - asking members' REST APIs through ctl_io.h, choosing the members a command acts
 * on, and waiting for a member to run again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "err.h"
#include "gsctl.h"

/* Calls a member's REST API. Returns 0 with r->status set, or -errno (no reply, r->err). */
int ctl_rest(const struct ctl *x, const struct ctl_row *m, const char *method, const char *path,
	     const char *body, int64_t timeout_ms, struct ctl_reply *r)
{
	char base[DCS_URL_MAX], url[DCS_URL_MAX + 64];
	struct buf b;
	int rc;

	memset(r, 0, sizeof(*r));
	if (ctl_api_base(m->api_url, base, sizeof(base)) != 0 ||
	    buf_format(url, sizeof(url), "%s%s", base, path) != 0) {
		return err_fail(r->err, sizeof(r->err), -EINVAL,
				"member \"%s\" has no usable api_url (\"%s\")", m->name,
				m->api_url);
	}
	buf_init(&b, CTL_HTTP_RESPONSE_MAX);
	rc = ctl_http_call(&x->http, method, url, body, timeout_ms, &r->status, &b, r->err,
			   sizeof(r->err));
	if (rc == 0) {
		size_t n = b.len < CTL_HTTP_RESPONSE_MAX ? b.len : CTL_HTTP_RESPONSE_MAX;

		if (n > 0)
			memcpy(r->body, b.data, n);
		r->body[n] = '\0';
		while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
			r->body[--n] = '\0';
	}
	buf_done(&b);
	return rc;
}

bool ctl_auth_refused(const struct ctl_reply *r)
{
	return r->status == 401 || r->status == 403;
}

void ctl_say_auth(const struct ctl_row *m, const struct ctl_reply *r, const struct ctl *x)
{
	ctl_say_error("the REST API of member \"%s\" refused the request (HTTP %d: %s): %s",
		      m->name, r->status, r->body,
		      x->http.username[0] == '\0'
			      ? "no credentials were sent: set ctl.authentication (or "
				"restapi.authentication) username and password in the configuration"
			      : "check the username and password of ctl.authentication (or "
				"restapi.authentication)");
}

/* GET /patroni of a member into *doc (caller deletes). Returns 0 or -errno. */
int ctl_member_status(const struct ctl *x, const struct ctl_row *m, cJSON **doc,
		      struct ctl_reply *r)
{
	int rc = ctl_rest(x, m, "GET", "/patroni", NULL, REST_TIMEOUT_MS, r);

	*doc = NULL;
	if (rc != 0)
		return rc;
	if (r->status != 200 && r->status != 503)
		return -EIO;
	*doc = cJSON_Parse(r->body);
	return *doc != NULL ? 0 : -EINVAL;
}

const char *ctl_json_str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

void ctl_sleep_interruptible(int64_t ms)
{
	int64_t end = clock_mono_ms() + ms;

	while (!ctl_interrupted && clock_mono_ms() < end)
		clock_sleep_ms(100);
}

int ctl_print_list(struct ctl *x, enum ctl_format f, bool topology)
{
	struct buf out;
	int rc;

	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_render_list(x->view, f, topology, x->args.extended, &out);
	if (rc == 0)
		fputs(out.data != NULL ? out.data : "", stdout);
	else
		ctl_say_error("could not render the member list: %s", strerror(-rc));
	buf_done(&out);
	fflush(stdout);
	return rc == 0 ? 0 : CTL_EXIT_FAILED;
}

int ctl_member_or_fail(const struct ctl *x, const char *name, const struct ctl_row **out)
{
	*out = ctl_view_row(x->view, name);
	if (*out == NULL) {
		ctl_say_error("member \"%s\" does not exist in cluster \"%s\" (members: %d)", name,
			      x->scope, x->view->count);
		return CTL_EXIT_BAD_MEMBER;
	}
	return 0;
}

/* Waits for the leader key to name someone other than old (and candidate, when given). */
int ctl_select_members(const struct ctl *x, const struct ctl_row **sel, int *n)
{
	*n = 0;
	if (x->args.member_count > 0) {
		for (int i = 0; i < x->args.member_count; i++) {
			int rc = ctl_member_or_fail(x, x->args.members[i], &sel[*n]);

			if (rc != 0)
				return rc;
			(*n)++;
		}
		return 0;
	}
	for (int i = 0; i < x->view->count; i++) {
		const struct ctl_row *r = &x->view->rows[i];
		bool is_leader = strcmp(r->name, x->view->leader) == 0;
		const char *role = x->args.role;

		if (role[0] == '\0' || strcmp(role, "any") == 0 ||
		    ((strcmp(role, "leader") == 0 || strcmp(role, "primary") == 0 ||
		      strcmp(role, "master") == 0) &&
		     is_leader) ||
		    ((strcmp(role, "replica") == 0 || strcmp(role, "standby") == 0) && !is_leader))
			sel[(*n)++] = r;
	}
	if (*n == 0) {
		ctl_say_error("no member of cluster \"%s\" has role \"%s\"", x->scope,
			      x->args.role);
		return CTL_EXIT_BAD_MEMBER;
	}
	return 0;
}

void ctl_join_names(const struct ctl_row **sel, int n, char *out, size_t cap)
{
	struct buf b;

	buf_init_fixed(&b, out, cap);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", sel[i]->name);
}

/* Polls GET /patroni until the member runs again. With changed_from set, a postmaster start time
 * equal to it does not count (the action has not happened yet). */
int ctl_wait_running(const struct ctl *x, const struct ctl_row *m, const char *what,
		     const char *changed_from, bool must_see_other)
{
	int64_t timeout = x->args.timeout_ms > 0 ? x->args.timeout_ms : WAIT_DEFAULT_MS;
	int64_t end = clock_mono_ms() + timeout;
	bool saw_other = false;
	char last[DCS_WORD_MAX] = "";

	fprintf(stderr, "Waiting for %s to complete on: %s (up to %" PRId64 " s)\n", what, m->name,
		timeout / 1000);
	while (!ctl_interrupted && clock_mono_ms() < end) {
		struct ctl_reply *r = calloc(1, sizeof(*r));
		cJSON *doc = NULL;
		bool done = false;

		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (ctl_member_status(x, m, &doc, r) == 0) {
			const char *state = ctl_json_str(doc, "state");
			const char *started = ctl_json_str(doc, "postmaster_start_time");

			if (strcmp(state, last) != 0) {
				fprintf(stderr, "  %s: state \"%s\"\n", m->name, state);
				snprintf(last, sizeof(last), "%s", state);
			}
			if (strcmp(state, "running") != 0)
				saw_other = true;
			if (strcmp(state, "running") == 0 &&
			    (!must_see_other || saw_other ||
			     (changed_from != NULL && changed_from[0] != '\0' &&
			      started[0] != '\0' && strcmp(started, changed_from) != 0)))
				done = true;
			if (strstr(state, "failed") != NULL) {
				ctl_say_error("%s failed on %s: state \"%s\"", what, m->name,
					      state);
				cJSON_Delete(doc);
				free(r);
				return CTL_EXIT_FAILED;
			}
		} else {
			saw_other = true; /* the API is down while the member rebuilds */
		}
		cJSON_Delete(doc);
		free(r);
		if (done) {
			printf("%s is completed on: %s\n", what, m->name);
			return 0;
		}
		clock_sleep_ms(1000);
	}
	ctl_say_error("%s did not complete on %s within %" PRId64 " s (last state \"%s\")", what,
		      m->name, timeout / 1000, last);
	return CTL_EXIT_FAILED;
}
