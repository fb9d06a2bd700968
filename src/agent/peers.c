/*
 * peers.c - talking to the other members: their /patroni documents during a leader race
 * (patroni-compat.md 4.3: GET <api_url>, 2 s timeout, no retries, in parallel) and POST /failsafe
 * in failsafe mode, both through the member client (rest_client.h) with the REST security
 * settings. See agent.h.
 */
#include "agent.h"

#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rest_client.h"

static uint64_t json_lsn(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1.8e19)
		return 0;
	return (uint64_t)v->valuedouble;
}

/* A peer's answer parsed as a JSON object of at most AGENT_PEER_DOC_MAX bytes, or NULL. */
static cJSON *parse_object(const char *json, size_t len)
{
	cJSON *doc;

	if (json == NULL || len == 0 || len > AGENT_PEER_DOC_MAX)
		return NULL;
	doc = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

int agent_peer_parse(const char *json, size_t len, struct ha_peer *out)
{
	const cJSON *role, *xlog, *tags, *v;
	struct ha_peer p = { 0 };
	cJSON *doc;

	doc = parse_object(json, len);
	if (doc == NULL)
		return -EINVAL;
	role = cJSON_GetObjectItemCaseSensitive(doc, "role");
	if (!cJSON_IsString(role)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	p.reachable = true;
	p.is_primary = strcmp(role->valuestring, "primary") == 0 ||
		       strcmp(role->valuestring, "master") == 0;
	xlog = cJSON_GetObjectItemCaseSensitive(doc, "xlog");
	if (cJSON_IsObject(xlog)) {
		if (p.is_primary) {
			p.lsn = json_lsn(xlog, "location");
		} else {
			uint64_t received = json_lsn(xlog, "received_location");
			uint64_t replayed = json_lsn(xlog, "replayed_location");

			p.lsn = received > replayed ? received : replayed;
		}
	}
	p.tags.failover_priority = 1;
	tags = cJSON_GetObjectItemCaseSensitive(doc, "tags");
	if (cJSON_IsObject(tags)) {
		v = cJSON_GetObjectItemCaseSensitive(tags, "nofailover");
		p.tags.nofailover = cJSON_IsTrue(v);
		v = cJSON_GetObjectItemCaseSensitive(tags, "failover_priority");
		if (cJSON_IsNumber(v) && v->valuedouble >= -1e6 && v->valuedouble <= 1e6) {
			p.tags.failover_priority = (int)v->valuedouble;
			if (p.tags.failover_priority <= 0 &&
			    cJSON_GetObjectItemCaseSensitive(tags, "nofailover") == NULL)
				p.tags.nofailover = true;
		}
		v = cJSON_GetObjectItemCaseSensitive(tags, "nosync");
		p.tags.nosync = cJSON_IsTrue(v);
		v = cJSON_GetObjectItemCaseSensitive(tags, "noloadbalance");
		p.tags.noloadbalance = cJSON_IsTrue(v);
	}
	/* Patroni's failover_limitation: "not watchdog capable". */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "watchdog_failed")))
		p.tags.nofailover = true;
	cJSON_Delete(doc);
	p.term = 0;
	memcpy(p.name, out->name, sizeof(p.name));
	*out = p;
	return 0;
}

/* The status document's answer codes: /patroni answers 200 on every node that runs, and a 503
 * body (a health path) is a document too. */
static bool is_status_answer(const struct rest_client_reply *r)
{
	return r->rc == 0 && (r->status == 200 || r->status == 503) && r->body.len > 0;
}

void agent_probe_peers(const struct rest_client_options *client,
		       const struct agent_peer_target *targets, int count, int64_t timeout_ms,
		       struct ha_peer *out)
{
	struct rest_client_request req[HA_MEMBERS_MAX] = { 0 };
	struct rest_client_reply reply[HA_MEMBERS_MAX];
	int idx[HA_MEMBERS_MAX], n = 0;

	if (count > HA_MEMBERS_MAX)
		count = HA_MEMBERS_MAX;
	for (int i = 0; i < count; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		memcpy(out[i].name, targets[i].name, sizeof(out[i].name));
		if (targets[i].api_url[0] == '\0')
			continue;
		req[n] = (struct rest_client_request){ .method = "GET",
						       .url = targets[i].api_url,
						       .timeout_ms = timeout_ms,
						       .response_max = AGENT_PEER_DOC_MAX };
		idx[n++] = i;
	}
	rest_client_call_all(client, req, n, reply);
	for (int k = 0; k < n; k++) {
		struct ha_peer parsed;

		memcpy(parsed.name, targets[idx[k]].name, sizeof(parsed.name));
		if (is_status_answer(&reply[k]) &&
		    agent_peer_parse(reply[k].body.data, reply[k].body.len, &parsed) == 0)
			out[idx[k]] = parsed;
		rest_client_reply_done(&reply[k]);
	}
}

void agent_failsafe_post(const struct rest_client_options *client,
			 const struct agent_peer_target *targets, int count, const char *body,
			 int64_t timeout_ms, bool *acked)
{
	struct rest_client_request req[HA_MEMBERS_MAX] = { 0 };
	struct rest_client_reply reply[HA_MEMBERS_MAX];
	char url[HA_MEMBERS_MAX][AGENT_URL_MAX + sizeof("/failsafe")];
	int idx[HA_MEMBERS_MAX], n = 0;

	if (count > HA_MEMBERS_MAX)
		count = HA_MEMBERS_MAX;
	for (int i = 0; i < count; i++) {
		acked[i] = false;
		if (rest_client_member_url(targets[i].api_url, "/failsafe", url[n],
					   sizeof(url[n])) != 0)
			continue;
		req[n] = (struct rest_client_request){ .method = "POST",
						       .url = url[n],
						       .body = body,
						       .timeout_ms = timeout_ms,
						       .response_max = AGENT_PEER_DOC_MAX };
		idx[n++] = i;
	}
	rest_client_call_all(client, req, n, reply);
	for (int k = 0; k < n; k++) {
		acked[idx[k]] = reply[k].rc == 0 && reply[k].status == 200;
		rest_client_reply_done(&reply[k]);
	}
}
