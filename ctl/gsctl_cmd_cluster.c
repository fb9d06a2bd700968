/*
 * gsctl_cmd_cluster.c - the commands on the cluster as a whole: pause and resume (maintenance
 * mode, through PATCH /config), remove (deleting its keys from etcd), and demote-cluster /
 * promote-cluster (Patroni 4.1: standby_cluster through PATCH /config).
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

static bool all_members_paused(const struct dcs_cluster *c, bool paused)
{
	for (int i = 0; i < c->member_count; i++)
		if (c->members[i].pause != paused)
			return false;
	return true;
}

int ctl_cmd_pause(struct ctl *x, bool pause)
{
	const char *word = pause ? "paused" : "resumed";
	struct ctl_reply *r;
	int rc = ctl_read_cluster(x), result = CTL_EXIT_UNREACHABLE;
	const struct ctl_row *order[DCS_MEMBERS_MAX];
	int n = 0;

	if (rc != 0)
		return rc;
	if (pause && x->view->paused) {
		ctl_say_error("cluster \"%s\" is already paused", x->scope);
		return CTL_EXIT_FAILED;
	}
	if (!pause && !x->view->paused) {
		ctl_say_error("cluster \"%s\" is not paused", x->scope);
		return CTL_EXIT_FAILED;
	}
	/* the leader first, then the others */
	for (int i = 0; i < x->view->count; i++)
		if (strcmp(x->view->rows[i].name, x->view->leader) == 0)
			order[n++] = &x->view->rows[i];
	for (int i = 0; i < x->view->count; i++)
		if (strcmp(x->view->rows[i].name, x->view->leader) != 0)
			order[n++] = &x->view->rows[i];
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return CTL_EXIT_FAILED;
	for (int i = 0; i < n; i++) {
		const char *patch = pause ? "{\"pause\":true}" : "{\"pause\":null}";

		rc = ctl_rest(x, order[i], "PATCH", "/config", patch, REST_TIMEOUT_MS, r);
		if (rc == 0 && r->status == 409) /* a concurrent edit: once more, as Patroni */
			rc = ctl_rest(x, order[i], "PATCH", "/config", patch, REST_TIMEOUT_MS, r);
		if (rc != 0) {
			fprintf(stderr, "gsctl: could not reach the REST API of \"%s\": %s\n",
				order[i]->name, r->err);
			continue;
		}
		if (ctl_auth_refused(r)) {
			ctl_say_auth(order[i], r, x);
			result = CTL_EXIT_AUTH;
		} else if (r->status == 200) {
			result = 0;
		} else {
			ctl_say_error("the REST API of \"%s\" answered %d: %s", order[i]->name,
				      r->status, r->body);
			result = CTL_EXIT_FAILED;
		}
		break;
	}
	free(r);
	if (result == CTL_EXIT_UNREACHABLE)
		ctl_say_error("no member's REST API could be reached");
	if (result != 0)
		return result;
	if (x->args.wait) {
		int64_t timeout = x->args.timeout_ms > 0 ? x->args.timeout_ms : WAIT_DEFAULT_MS;
		int64_t end = clock_mono_ms() + timeout;
		char msg[DCS_MSG_MAX];

		printf("'%s' request sent, waiting until it is recognized by all nodes\n",
		       pause ? "pause" : "resume");
		fflush(stdout);
		for (;;) {
			if (dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg)) == 0 &&
			    all_members_paused(x->cluster, pause))
				break;
			if (ctl_interrupted || clock_mono_ms() >= end) {
				ctl_say_error("not every member saw the cluster %s within %" PRId64
					      " s",
					      word, timeout / 1000);
				return CTL_EXIT_FAILED;
			}
			clock_sleep_ms(500);
		}
	}
	printf("Success: cluster management is %s\n", word);
	return 0;
}

int ctl_cmd_remove(struct ctl *x)
{
	char a[ANSWER_MAX], q[CTL_NAME_MAX + 128], msg[DCS_MSG_MAX];
	int rc;

	if (x->args.cluster[0] == '\0') {
		ctl_say_error("remove needs the cluster name: gsctl remove CLUSTER");
		return CTL_EXIT_USAGE;
	}
	rc = ctl_read_cluster(x);
	if (rc != 0)
		return rc;
	ctl_print_list(x, x->args.format, false);
	if (!x->args.force) {
		rc = ctl_ask(x, "Please confirm the cluster name to remove", NULL, a, sizeof(a));
		if (rc != 0)
			return rc;
		if (strcmp(a, x->scope) != 0) {
			ctl_say_error("Cluster names specified do not match");
			return CTL_EXIT_FAILED;
		}
		snprintf(q, sizeof(q),
			 "You are about to remove all information in DCS for %s, please type: "
			 "\"Yes I am aware\"",
			 x->scope);
		rc = ctl_ask(x, q, NULL, a, sizeof(a));
		if (rc != 0)
			return rc;
		if (strcmp(a, "Yes I am aware") != 0) {
			ctl_say_error("You did not exactly type \"Yes I am aware\"");
			return CTL_EXIT_FAILED;
		}
		if (x->view->leader[0] != '\0') {
			rc = ctl_ask(
				x,
				"This cluster currently is healthy. Please specify the leader name "
				"to continue",
				NULL, a, sizeof(a));
			if (rc != 0)
				return rc;
			if (strcmp(a, x->view->leader) != 0) {
				ctl_say_error(
					"You did not specify the current leader of the cluster");
				return CTL_EXIT_FAILED;
			}
		}
	}
	rc = dcs_delete_cluster(x->dcs, msg, sizeof(msg));
	if (rc != 0) {
		ctl_say_error("could not remove cluster \"%s\" from etcd: %s: %s", x->scope,
			      dcs_strerror(rc), msg);
		return CTL_EXIT_DCS;
	}
	printf("Removed cluster \"%s\" from etcd (%s)\n", x->scope, dcs_client_prefix(x->dcs));
	return 0;
}

/* The PATCH /config body of demote-cluster (the standby_cluster keys given) or promote-cluster
 * (standby_cluster null). NULL when out of memory; the caller frees it. */
static char *cluster_role_patch(const struct ctl_args *a, bool demote)
{
	cJSON *root = cJSON_CreateObject(),
	      *sc = demote ? cJSON_CreateObject() : cJSON_CreateNull();
	char *out = NULL;
	bool ok = root != NULL && sc != NULL;

	if (ok && demote) {
		if (a->host[0])
			ok = cJSON_AddStringToObject(sc, "host", a->host) != NULL;
		if (ok && a->port)
			ok = cJSON_AddNumberToObject(sc, "port", a->port) != NULL;
		if (ok && a->primary_slot_name[0])
			ok = cJSON_AddStringToObject(sc, "primary_slot_name",
						     a->primary_slot_name) != NULL;
		if (ok && a->restore_command[0])
			ok = cJSON_AddStringToObject(sc, "restore_command", a->restore_command) !=
			     NULL;
	}
	if (ok && cJSON_AddItemToObject(root, "standby_cluster", sc))
		out = cJSON_PrintUnformatted(root);
	else
		cJSON_Delete(sc);
	cJSON_Delete(root);
	return out;
}

/* Whether the change took: a leader in the target role, running (demote: the old leader too). */
static bool cluster_role_done(const struct ctl_view *v, const char *target, const char *old)
{
	const struct ctl_row *l = v->leader[0] ? ctl_view_row(v, v->leader) : NULL;
	const struct ctl_row *o = ctl_view_row(v, old);

	if (l == NULL || strcmp(l->role, target) != 0 || strcmp(l->state, "running") != 0)
		return false;
	return strcmp(target, "standby_leader") != 0 ||
	       (o != NULL && strcmp(o->state, "running") == 0);
}

int ctl_cmd_cluster_role(struct ctl *x, bool demote)
{
	const char *act = demote ? "demot" : "promot";
	const char *target = demote ? "standby_leader" : "leader";
	const struct ctl_row *leader;
	char old[MEMBER_NAME_MAX], q[CTL_NAME_MAX + 64], msg[DCS_MSG_MAX], stamp[CTL_WORD_MAX];
	struct ctl_reply *r;
	char *body;
	int64_t timeout, end;
	int rc;

	if (demote && !x->args.host[0] && !x->args.port && !x->args.restore_command[0]) {
		ctl_say_error("At least --host, --port or --restore-command should be specified");
		return CTL_EXIT_USAGE;
	}
	rc = ctl_read_cluster(x);
	if (rc != 0)
		return rc;
	leader = x->view->leader[0] ? ctl_view_row(x->view, x->view->leader) : NULL;
	if (leader == NULL) {
		ctl_say_error("Cluster has no leader, %sion is not possible", act);
		return CTL_EXIT_FAILED;
	}
	if (strcmp(leader->role, target) == 0) {
		ctl_say_error("Cluster is already in the required state");
		return CTL_EXIT_FAILED;
	}
	memcpy(old, leader->name, sizeof(old));
	printf("Current cluster topology\n");
	ctl_print_list(x, CTL_FORMAT_PRETTY, false);
	snprintf(q, sizeof(q), "Are you sure you want to %se %s cluster?", act, x->scope);
	rc = ctl_confirm(x, q);
	if (rc != 0)
		return rc;
	body = cluster_role_patch(&x->args, demote);
	r = calloc(1, sizeof(*r));
	if (body == NULL || r == NULL) {
		free(body);
		free(r);
		return CTL_EXIT_FAILED;
	}
	rc = ctl_rest(x, leader, "PATCH", "/config", body, REST_TIMEOUT_MS, r);
	free(body);
	if (rc != 0 || ctl_auth_refused(r) || r->status != 200) {
		if (rc != 0)
			ctl_say_error("Failed to %se %s cluster: %s", act, x->scope, r->err);
		else if (ctl_auth_refused(r))
			ctl_say_auth(leader, r, x);
		else
			ctl_say_error(
				"Failed to %se %s cluster: /config PATCH status code=%d, (%s)", act,
				x->scope, r->status, r->body);
		rc = rc == 0 && ctl_auth_refused(r) ? CTL_EXIT_AUTH : CTL_EXIT_FAILED;
		free(r);
		return rc;
	}
	free(r);
	/* Patroni watches without end; gsctl waits --timeout (default 300 s). */
	timeout = x->args.timeout_ms > 0 ? x->args.timeout_ms : WAIT_DEFAULT_MS;
	end = clock_mono_ms() + timeout;
	for (;;) {
		if (dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg)) == 0) {
			const struct ctl_row *l;

			ctl_view_build(x->cluster, x->scope, x->view);
			ctl_timestamp(stamp, sizeof(stamp));
			if (cluster_role_done(x->view, target, old)) {
				printf("%s cluster is successfully %sed\n", stamp, act);
				break;
			}
			l = x->view->leader[0] ? ctl_view_row(x->view, x->view->leader) : NULL;
			printf("%s cluster is unlocked: %s, leader role: %s, leader state: %s\n",
			       stamp, x->view->leader[0] ? "False" : "True", l ? l->role : "None",
			       l ? l->state : "None");
			fflush(stdout);
		}
		if (ctl_interrupted || clock_mono_ms() >= end) {
			ctl_say_error("cluster \"%s\" was not %sed within %" PRId64 " s", x->scope,
				      act, timeout / 1000);
			return CTL_EXIT_FAILED;
		}
		clock_sleep_ms(1000);
	}
	ctl_print_list(x, CTL_FORMAT_PRETTY, false);
	return 0;
}
