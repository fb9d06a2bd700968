/*
 * gsctl_cmd_switchover.c - switchover and failover: choosing the leader, the candidate and the
 * time, asking the leader's (else the candidate's) REST API, and writing the failover key
 * when no member answers.
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

static int wait_leader_change(struct ctl *x, const char *old, const char *candidate,
			      int64_t timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	fprintf(stderr,
		"Waiting up to %" PRId64
		" s for the leader key to move away from \"%s\"%s%s%s...\n",
		timeout_ms / 1000, old, candidate[0] ? " to \"" : "", candidate,
		candidate[0] ? "\"" : "");
	while (!ctl_interrupted && clock_mono_ms() < end) {
		char msg[DCS_MSG_MAX];

		if (dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg)) == 0 &&
		    x->cluster->has_leader && strcmp(x->cluster->leader, old) != 0 &&
		    (candidate[0] == '\0' || strcmp(x->cluster->leader, candidate) == 0)) {
			ctl_view_build(x->cluster, x->scope, x->view);
			return 0;
		}
		clock_sleep_ms(500);
	}
	return -ETIMEDOUT;
}

int ctl_cmd_switchover(struct ctl *x, bool failover)
{
	const char *action = failover ? "failover" : "switchover";
	char leader[MEMBER_NAME_MAX] = "", candidate[MEMBER_NAME_MAX] = "";
	char when[CTL_WORD_MAX] = "", typed[ANSWER_MAX] = "", err[512];
	char q[1024], why[256], ts[64];
	const struct ctl_row *cand = NULL, *target;
	struct ctl_reply *r = NULL;
	struct buf body;
	int rc = ctl_read_cluster(x);
	int64_t timeout_ms;

	if (rc != 0)
		return rc;
	if (!failover && x->view->leader[0] == '\0') {
		ctl_say_error("cluster \"%s\" has no leader: a switchover needs one (use failover)",
			      x->scope);
		return CTL_EXIT_BAD_MEMBER;
	}
	/* the leader to demote */
	if (x->args.leader[0] != '\0') {
		snprintf(leader, sizeof(leader), "%s", x->args.leader);
	} else if (!failover && !x->args.force) {
		rc = ctl_ask(x, "Primary", x->view->leader, typed, sizeof(typed));
		if (rc != 0)
			return rc;
		if (typed[0] != '\0' &&
		    ctl_member_arg(leader, typed, "Primary", err, sizeof(err)) != 0) {
			ctl_say_error("%s", err);
			return CTL_EXIT_BAD_MEMBER;
		}
	} else {
		snprintf(leader, sizeof(leader), "%s", x->view->leader);
	}
	if (leader[0] != '\0' && strcmp(leader, x->view->leader) != 0) {
		const struct ctl_row *m;

		rc = ctl_member_or_fail(x, leader, &m);
		if (rc != 0)
			return rc;
		ctl_say_error(
			"member \"%s\" is not the leader of cluster \"%s\" (the leader is \"%s\")",
			leader, x->scope, x->view->leader[0] ? x->view->leader : "nobody");
		return CTL_EXIT_BAD_MEMBER;
	}
	/* the candidate */
	if (x->args.candidate[0] != '\0') {
		snprintf(candidate, sizeof(candidate), "%s", x->args.candidate);
	} else if (x->args.force && failover) {
		ctl_say_error("failover needs a candidate: give --candidate NAME");
		return CTL_EXIT_USAGE;
	} else if (!x->args.force) {
		struct buf names;
		char list[1024];

		buf_init_fixed(&names, list, sizeof(list));
		buf_puts(&names, "Candidate [");
		/* as patronictl: the members other than the leader without nofailover */
		for (int i = 0, n = 0; i < x->view->count; i++)
			if (strcmp(x->view->rows[i].name, x->view->leader) != 0 &&
			    !x->view->rows[i].nofailover)
				buf_printf(&names, "%s'%s'", n++ ? ", " : "",
					   x->view->rows[i].name);
		buf_puts(&names, "]");
		rc = ctl_ask(x, list, "", typed, sizeof(typed));
		if (rc != 0)
			return rc;
		if (typed[0] != '\0' &&
		    ctl_member_arg(candidate, typed, "Candidate", err, sizeof(err)) != 0) {
			ctl_say_error("%s", err);
			return CTL_EXIT_BAD_MEMBER;
		}
	}
	if (candidate[0] != '\0') {
		rc = ctl_member_or_fail(x, candidate, &cand);
		if (rc != 0)
			return rc;
		if (strcmp(candidate, x->view->leader) == 0 && x->view->leader[0] != '\0') {
			ctl_say_error(
				"member \"%s\" is already the leader: %s target and source are the "
				"same",
				candidate, action);
			return CTL_EXIT_BAD_MEMBER;
		}
		if (!ctl_row_can_take_over(x->view, cand, why, sizeof(why))) {
			ctl_say_error("member \"%s\" is not a healthy replica to %s to: %s",
				      candidate, action, why);
			return CTL_EXIT_BAD_MEMBER;
		}
	} else if (failover) {
		ctl_say_error("failover needs a candidate: give --candidate NAME");
		return CTL_EXIT_USAGE;
	}
	/* when */
	if (!failover) {
		rc = ctl_ask_when(x, "switchover", when, sizeof(when));
		if (rc != 0)
			return rc;
	}
	printf("Current cluster topology\n");
	rc = ctl_print_list(x, CTL_FORMAT_PRETTY, false);
	if (rc != 0)
		return rc;
	{
		char demote[MEMBER_NAME_MAX + 32] = "";

		if (x->view->leader[0] != '\0')
			snprintf(demote, sizeof(demote), ", demoting current leader %s",
				 x->view->leader);
		if (when[0] != '\0')
			snprintf(q, sizeof(q),
				 "Are you sure you want to schedule %s of cluster %s at %s%s?",
				 action, x->scope, when, demote);
		else
			snprintf(q, sizeof(q), "Are you sure you want to %s cluster %s%s?", action,
				 x->scope, demote);
	}
	rc = ctl_confirm(x, q);
	if (rc != 0)
		return rc;

	buf_init(&body, DCS_DOC_MAX);
	{
		cJSON *o = cJSON_CreateObject();
		char *text;

		if (o == NULL)
			return CTL_EXIT_FAILED;
		if (x->view->leader[0] != '\0')
			cJSON_AddStringToObject(o, "leader", x->view->leader);
		if (candidate[0] != '\0')
			cJSON_AddStringToObject(o, "candidate", candidate);
		if (when[0] != '\0')
			cJSON_AddStringToObject(o, "scheduled_at", when);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (text == NULL || buf_puts(&body, text) != 0) {
			free(text);
			buf_done(&body);
			return CTL_EXIT_FAILED;
		}
		free(text);
	}
	/* The leader's API does it (and answers once it is done), else the candidate's. */
	target = x->view->leader[0] != '\0' ? ctl_view_row(x->view, x->view->leader) : cand;
	timeout_ms = x->args.timeout_ms > 0 ? x->args.timeout_ms : 60000;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		buf_done(&body);
		return CTL_EXIT_FAILED;
	}
	if (target != NULL) {
		if (when[0] == '\0')
			fprintf(stderr,
				"Waiting for the %s%s%s%s: asked the REST API of \"%s\", which "
				"answers once a new leader holds the leader key...\n",
				action, candidate[0] ? " to \"" : "", candidate,
				candidate[0] ? "\"" : "", target->name);
		rc = ctl_rest(x, target, "POST", failover ? "/failover" : "/switchover", body.data,
			      timeout_ms + 5000, r);
	} else {
		rc = -EHOSTUNREACH;
		err_set(r->err, sizeof(r->err), "no member to ask");
	}
	ctl_timestamp(ts, sizeof(ts));
	if (rc == 0 && (r->status == 200 || r->status == 202)) {
		printf("%s %s\n", ts, r->body);
		rc = 0;
		if (r->status == 200 && ctl_read_cluster(x) == 0)
			ctl_print_list(x, CTL_FORMAT_PRETTY, false);
	} else if (rc == 0 && ctl_auth_refused(r)) {
		ctl_say_auth(target, r, x);
		rc = CTL_EXIT_AUTH;
	} else if (rc == 0) {
		printf("%s %s failed, details: %d, %s\n", ts, failover ? "Failover" : "Switchover",
		       r->status, r->body);
		rc = CTL_EXIT_FAILED;
	} else {
		/* No REST API answered: write the failover key, as patronictl does. */
		char msg[DCS_MSG_MAX];
		int drc;

		fprintf(stderr,
			"gsctl: could not reach the REST API of \"%s\" (%s): writing the failover "
			"key in etcd instead\n",
			target != NULL ? target->name : "?", r->err);
		drc = dcs_write_failover(x->dcs, body.data, DCS_CAS_ANY, NULL, msg, sizeof(msg));
		if (drc != 0) {
			ctl_say_error("could not write the failover key: %s: %s", dcs_strerror(drc),
				      msg);
			rc = CTL_EXIT_DCS;
		} else if (when[0] != '\0') {
			printf("%s %s scheduled\n", ts, failover ? "Failover" : "Switchover");
			rc = 0;
		} else if (wait_leader_change(x, x->view->leader, candidate,
					      x->args.timeout_ms > 0 ? x->args.timeout_ms
								     : FALLBACK_WAIT_MS) == 0) {
			ctl_timestamp(ts, sizeof(ts));
			printf("%s Successfully %s to \"%s\"\n", ts,
			       failover ? "failed over" : "switched over", x->cluster->leader);
			ctl_print_list(x, CTL_FORMAT_PRETTY, false);
			rc = 0;
		} else {
			ctl_say_error("%s status unknown: the leader key did not move in time",
				      action);
			rc = CTL_EXIT_FAILED;
		}
	}
	free(r);
	buf_done(&body);
	return rc;
}

/* Selects members: the named ones, else by role, else all. Returns 0 or an exit code. */
