/*
 * gsctl_cmd_members.c - the commands that act on chosen members: restart (now or scheduled),
 * reload and reinit, each through the member's REST API, with --wait.
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
#include "gsctl.h"

int ctl_cmd_restart_reload(struct ctl *x, bool restart)
{
	const struct ctl_row *sel[DCS_MEMBERS_MAX];
	char names[2048], q[2200], when[CTL_WORD_MAX] = "";
	int n = 0, rc = ctl_read_cluster(x), result = 0;
	int64_t loop_wait_s;

	if (rc != 0)
		return rc;
	rc = ctl_select_members(x, sel, &n);
	if (rc != 0)
		return rc;
	ctl_join_names(sel, n, names, sizeof(names));
	if (restart) {
		rc = ctl_ask_when(x, "restart", when, sizeof(when));
		if (rc != 0)
			return rc;
	}
	ctl_print_list(x, CTL_FORMAT_PRETTY, false);
	if (when[0] != '\0')
		snprintf(q, sizeof(q),
			 "Are you sure you want to schedule restart of members %s at %s?", names,
			 when);
	else
		snprintf(q, sizeof(q), "Are you sure you want to %s members %s?",
			 restart ? "restart" : "reload", names);
	rc = ctl_confirm(x, q);
	if (rc != 0)
		return rc;
	if (restart && x->args.pg_version[0] == '\0' && !x->args.force) {
		rc = ctl_ask(
			x, "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ",
			"", x->args.pg_version, sizeof(x->args.pg_version));
		if (rc != 0)
			return rc;
	}
	loop_wait_s =
		x->cluster->config_loop_wait_ms > 0 ? x->cluster->config_loop_wait_ms / 1000 : 10;
	for (int i = 0; i < n; i++) {
		struct ctl_reply *r = calloc(1, sizeof(*r));
		char body[256] = "";
		char before[DCS_WORD_MAX] = "";

		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (restart) {
			cJSON *doc = NULL;

			if (x->args.wait && ctl_member_status(x, sel[i], &doc, r) == 0)
				snprintf(before, sizeof(before), "%s",
					 ctl_json_str(doc, "postmaster_start_time"));
			cJSON_Delete(doc);
			cJSON *o = cJSON_CreateObject();
			char *text;

			if (o == NULL) {
				free(r);
				return CTL_EXIT_FAILED;
			}
			if (when[0] != '\0')
				cJSON_AddStringToObject(o, "schedule", when);
			if (x->args.pending)
				cJSON_AddTrueToObject(o, "restart_pending");
			if (x->args.pg_version[0] != '\0')
				cJSON_AddStringToObject(o, "postgres_version", x->args.pg_version);
			text = cJSON_PrintUnformatted(o);
			cJSON_Delete(o);
			if (text == NULL || buf_copy(body, sizeof(body), text) != 0) {
				free(text);
				free(r);
				return CTL_EXIT_FAILED;
			}
			free(text);
			if (when[0] == '\0')
				fprintf(stderr,
					"Restarting %s (its REST API answers once done)...\n",
					sel[i]->name);
			rc = ctl_rest(x, sel[i], "POST", "/restart", body,
				      x->args.timeout_ms > 0 ? x->args.timeout_ms + 5000 : 120000,
				      r);
		} else {
			rc = ctl_rest(x, sel[i], "POST", "/reload", NULL, REST_TIMEOUT_MS, r);
		}
		if (rc != 0) {
			printf("Failed: %s for member %s, %s\n", restart ? "restart" : "reload",
			       sel[i]->name, r->err);
			if (result == 0)
				result = CTL_EXIT_UNREACHABLE;
		} else if (ctl_auth_refused(r)) {
			ctl_say_auth(sel[i], r, x);
			result = CTL_EXIT_AUTH;
		} else if (restart && r->status == 200) {
			printf("Success: restart on member %s\n", sel[i]->name);
			if (x->args.wait) {
				rc = ctl_wait_running(x, sel[i], "restart", before, true);
				if (rc != 0 && result == 0)
					result = rc;
			}
		} else if (restart && r->status == 202) {
			printf("Success: restart scheduled on member %s\n", sel[i]->name);
		} else if (!restart && r->status == 202) {
			printf("Reload request received for member %s and will be processed within "
			       "%" PRId64 " seconds\n",
			       sel[i]->name, loop_wait_s);
		} else {
			printf("Failed: %s for member %s, status code=%d, (%s)\n",
			       restart ? "restart" : "reload", sel[i]->name, r->status, r->body);
			if (result == 0 || result == CTL_EXIT_UNREACHABLE)
				result = CTL_EXIT_FAILED;
		}
		free(r);
	}
	return result;
}

int ctl_cmd_reinit(struct ctl *x)
{
	const struct ctl_row *sel[DCS_MEMBERS_MAX];
	char names[2048], q[2200], one[ANSWER_MAX], err[512];
	int n = 0, rc = ctl_read_cluster(x), result = 0;

	if (rc != 0)
		return rc;
	if (x->args.member_count == 0) {
		if (x->args.force) {
			ctl_say_error("reinit needs the members to rebuild: gsctl reinit CLUSTER "
				      "MEMBER...");
			return CTL_EXIT_USAGE;
		}
		char question[1200];
		struct buf b;

		buf_init_fixed(&b, question, sizeof(question));
		buf_puts(&b, "Which member do you want to reinitialize [");
		for (int i = 0, k = 0; i < x->view->count; i++)
			if (strcmp(x->view->rows[i].name, x->view->leader) != 0)
				buf_printf(&b, "%s%s", k++ ? ", " : "", x->view->rows[i].name);
		buf_puts(&b, "]?");
		rc = ctl_ask(x, question, "", one, sizeof(one));
		if (rc != 0)
			return rc;
		if (ctl_member_arg(x->args.members[0], one, "member", err, sizeof(err)) != 0) {
			ctl_say_error("%s", err);
			return CTL_EXIT_BAD_MEMBER;
		}
		x->args.member_count = 1;
	}
	rc = ctl_select_members(x, sel, &n);
	if (rc != 0)
		return rc;
	ctl_join_names(sel, n, names, sizeof(names));
	snprintf(q, sizeof(q), "Are you sure you want to reinitialize members %s?", names);
	rc = ctl_confirm(x, q);
	if (rc != 0)
		return rc;
	for (int i = 0; i < n; i++) {
		struct ctl_reply *r = calloc(1, sizeof(*r));
		char body[128], before[DCS_WORD_MAX] = "";
		cJSON *doc = NULL;

		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (ctl_member_status(x, sel[i], &doc, r) == 0)
			snprintf(before, sizeof(before), "%s",
				 ctl_json_str(doc, "postmaster_start_time"));
		cJSON_Delete(doc);
		snprintf(body, sizeof(body), "{\"force\":%s,\"from_leader\":%s}",
			 x->args.force ? "true" : "false", x->args.from_leader ? "true" : "false");
		rc = ctl_rest(x, sel[i], "POST", "/reinitialize", body, REST_TIMEOUT_MS, r);
		if (rc == 0 && r->status == 503 && !x->args.force &&
		    strstr(r->body, " already in progress") != NULL &&
		    r->body[strlen(r->body) - 1] == 's') {
			int c = ctl_confirm(x, "Do you want to cancel it and reinitialize anyway?");

			if (c == CTL_EXIT_NO_TERMINAL) {
				free(r);
				return c;
			}
			if (c == 0) {
				snprintf(body, sizeof(body), "{\"force\":true,\"from_leader\":%s}",
					 x->args.from_leader ? "true" : "false");
				rc = ctl_rest(x, sel[i], "POST", "/reinitialize", body,
					      REST_TIMEOUT_MS, r);
			}
		}
		if (rc != 0) {
			printf("Failed: reinitialize for member %s, %s\n", sel[i]->name, r->err);
			if (result == 0)
				result = CTL_EXIT_UNREACHABLE;
		} else if (ctl_auth_refused(r)) {
			ctl_say_auth(sel[i], r, x);
			result = CTL_EXIT_AUTH;
		} else if (r->status == 200) {
			printf("Success: reinitialize for member %s\n", sel[i]->name);
			if (x->args.wait) {
				rc = ctl_wait_running(x, sel[i], "Reinitialize", before, true);
				if (rc != 0 && result == 0)
					result = rc;
			}
		} else {
			printf("Failed: reinitialize for member %s, status code=%d, (%s)\n",
			       sel[i]->name, r->status, r->body);
			if (result == 0 || result == CTL_EXIT_UNREACHABLE)
				result = CTL_EXIT_FAILED;
		}
		free(r);
	}
	return result;
}
