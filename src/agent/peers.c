/*
 * peers.c - asking the other members how they are during a leader race (patroni-compat.md 4.3:
 * GET <api_url>, 2 s timeout, no retries, in parallel). See agent.h.
 */
#include "agent.h"

#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"

static uint64_t json_lsn(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1.8e19)
		return 0;
	return (uint64_t)v->valuedouble;
}

int agent_peer_parse(const char *json, size_t len, struct ha_peer *out)
{
	const cJSON *role, *xlog, *tags, *v;
	struct ha_peer p = { 0 };
	cJSON *doc;

	if (json == NULL || len == 0 || len > AGENT_PEER_DOC_MAX)
		return -EINVAL;
	doc = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
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
	cJSON_Delete(doc);
	p.term = 0;
	memcpy(p.name, out->name, sizeof(p.name));
	*out = p;
	return 0;
}

struct probe {
	struct buf body;
	CURL *easy;
};

static size_t probe_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct probe *pr = userdata;

	/* Returning less than given makes curl fail the transfer: an oversized answer is an error. */
	if (buf_append(&pr->body, data, size * nmemb) != 0)
		return 0;
	return size * nmemb;
}

/* Prepares one request of a parallel round: peers are on the cluster network, so no proxy from
 * the environment applies; the whole exchange, connect included, is bounded by timeout_ms.
 * With a body it is a POST carrying headers. Returns the handle, added to multi, or NULL. */
static CURL *probe_start(CURLM *multi, struct probe *pr, const char *url, int64_t timeout_ms,
			 const char *body, struct curl_slist *headers)
{
	CURL *easy = curl_easy_init();

	if (easy == NULL)
		return NULL;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, probe_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, pr);
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	if (body != NULL) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	}
	curl_multi_add_handle(multi, easy);
	return easy;
}

/* Runs every request added to multi until all are done (each bounded by its own timeout). */
static void probe_run(CURLM *multi)
{
	int running = 0;

	do {
		int numfds;

		if (curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (running > 0 && curl_multi_poll(multi, NULL, 0, 100, &numfds) != CURLM_OK)
			break;
	} while (running > 0);
}

void agent_probe_peers(const struct agent_peer_target *targets, int count, int64_t timeout_ms,
		       struct ha_peer *out)
{
	struct probe probes[HA_MEMBERS_MAX];
	CURLM *multi;

	if (count > HA_MEMBERS_MAX)
		count = HA_MEMBERS_MAX;
	for (int i = 0; i < count; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		memcpy(out[i].name, targets[i].name, sizeof(out[i].name));
	}
	multi = curl_multi_init();
	if (multi == NULL)
		return;
	for (int i = 0; i < count; i++) {
		buf_init(&probes[i].body, AGENT_PEER_DOC_MAX);
		/* A peer's certificate is verified by the system CAs; no credentials are sent. */
		probes[i].easy = targets[i].api_url[0] == '\0'
					 ? NULL
					 : probe_start(multi, &probes[i], targets[i].api_url,
						       timeout_ms, NULL, NULL);
	}
	probe_run(multi);
	for (int i = 0; i < count; i++) {
		long code = 0;
		struct ha_peer parsed;

		if (probes[i].easy == NULL)
			goto next;
		curl_easy_getinfo(probes[i].easy, CURLINFO_RESPONSE_CODE, &code);
		/* /patroni answers 200 on every node that runs; 503 bodies are documents too. */
		if ((code == 200 || code == 503) && probes[i].body.len > 0) {
			memcpy(parsed.name, targets[i].name, sizeof(parsed.name));
			if (agent_peer_parse(probes[i].body.data, probes[i].body.len, &parsed) == 0)
				out[i] = parsed;
		}
		curl_multi_remove_handle(multi, probes[i].easy);
		curl_easy_cleanup(probes[i].easy);
	next:
		buf_done(&probes[i].body);
	}
	curl_multi_cleanup(multi);
}

int agent_failsafe_parse(const char *json, size_t len, struct agent_peer_target *out, int cap)
{
	const cJSON *it;
	cJSON *doc;
	int n = 0;

	if (json == NULL || len == 0 || len > AGENT_PEER_DOC_MAX)
		return -EINVAL;
	doc = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, doc)
	{
		if (n >= cap || !cJSON_IsString(it) || it->string == NULL ||
		    buf_copy(out[n].name, sizeof(out[n].name), it->string) != 0 ||
		    buf_copy(out[n].api_url, sizeof(out[n].api_url), it->valuestring) != 0) {
			cJSON_Delete(doc);
			return -EINVAL;
		}
		n++;
	}
	cJSON_Delete(doc);
	return n;
}

/* <scheme://host:port>/failsafe from a member's api_url (".../patroni"). */
static int failsafe_url(const char *api_url, char *out, size_t cap)
{
	const char *host = strstr(api_url, "://");
	const char *path = host != NULL ? strchr(host + 3, '/') : NULL;
	size_t n = path != NULL ? (size_t)(path - api_url) : strlen(api_url);

	if (host == NULL || n + sizeof("/failsafe") > cap)
		return -EINVAL;
	memcpy(out, api_url, n);
	memcpy(out + n, "/failsafe", sizeof("/failsafe"));
	return 0;
}

void agent_failsafe_post(const struct agent_peer_target *targets, int count, const char *body,
			 int64_t timeout_ms, bool *acked)
{
	struct probe posts[HA_MEMBERS_MAX];
	struct curl_slist *headers;
	char url[AGENT_URL_MAX + 16];
	CURLM *multi;

	if (count > HA_MEMBERS_MAX)
		count = HA_MEMBERS_MAX;
	for (int i = 0; i < count; i++)
		acked[i] = false;
	multi = curl_multi_init();
	if (multi == NULL)
		return;
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	for (int i = 0; i < count; i++) {
		buf_init(&posts[i].body, AGENT_PEER_DOC_MAX);
		posts[i].easy = NULL;
		if (failsafe_url(targets[i].api_url, url, sizeof(url)) != 0)
			continue;
		posts[i].easy = probe_start(multi, &posts[i], url, timeout_ms, body, headers);
	}
	probe_run(multi);
	for (int i = 0; i < count; i++) {
		long code = 0;

		if (posts[i].easy != NULL) {
			curl_easy_getinfo(posts[i].easy, CURLINFO_RESPONSE_CODE, &code);
			acked[i] = code == 200;
			curl_multi_remove_handle(multi, posts[i].easy);
			curl_easy_cleanup(posts[i].easy);
		}
		buf_done(&posts[i].body);
	}
	curl_slist_free_all(headers);
	curl_multi_cleanup(multi);
}
