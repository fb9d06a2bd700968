/*
 * unique_name.c - refusing to start under a member name another live agent uses, as Patroni's
 * ensure_unique_name (patroni/__main__.py): before this agent's REST API starts and before it
 * writes anything, the member key of its name is read; when one exists and its api_url answers
 * GET /liveness within 3 s (any status), another agent runs under this name and starting would
 * let two agents share one member key (and one would take over the other's lease): refuse.
 */
#include "agent_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "rest_client.h"

/* Patroni's request timeout for the check. */
#define UNIQUE_NAME_TIMEOUT_MS 3000
/* Between attempts to read the cluster while etcd does not answer. */
#define UNIQUE_NAME_RETRY_MS 2000

int agent_ensure_unique_name(const struct cfg *c, struct dcs_client *dcs)
{
	struct dcs_cluster *view = calloc(1, sizeof(*view));
	const struct dcs_member *m = NULL;
	char msg[DCS_MSG_MAX];
	int rc;

	if (view == NULL)
		return -ENOMEM;
	/* Patroni waits for the DCS here too; a stop signal ends the wait. */
	while ((rc = dcs_read_cluster(dcs, view, msg, sizeof(msg))) != 0) {
		if (agent_stop_requested) {
			free(view);
			return -EINTR;
		}
		log_warning("could not read the cluster to check that member name \"%s\" is free: "
			    "%s, retrying",
			    c->name, msg);
		clock_sleep_ms(UNIQUE_NAME_RETRY_MS);
	}
	for (int i = 0; i < view->member_count; i++) {
		if (strcmp(view->members[i].name, c->name) == 0)
			m = &view->members[i];
	}
	rc = 0;
	if (m != NULL && m->api_url[0] != '\0') {
		struct rest_client_options client;
		struct rest_client_request req = { .method = "GET",
						   .timeout_ms = UNIQUE_NAME_TIMEOUT_MS };
		struct rest_client_reply reply;
		char url[DCS_URL_MAX + 16];

		memset(&client, 0, sizeof(client));
		cfg_member_auth(c, &client.auth);
		if (rest_client_member_url(m->api_url, "/liveness", url, sizeof(url)) == 0) {
			req.url = url;
			if (rest_client_call(&client, &req, &reply) == 0) {
				log_error(
					"can't start; there is already a node named \"%s\" running "
					"(its REST API at \"%s\" answered %d): give this member "
					"another name",
					c->name, m->api_url, reply.status);
				rc = -EEXIST;
			} else {
				log_info("member key \"%s\" is left from an agent that does not "
					 "answer "
					 "(%s): taking the name over",
					 c->name, reply.err);
			}
			rest_client_reply_done(&reply);
		}
	}
	free(view);
	return rc;
}
