/*
 * rest_cache.c - health answers rendered once per published snapshot.
 *
 * A load balancer asks the same few questions many times a second (GET /primary, OPTIONS /
 * from HAProxy's plain httpchk, /replica, /liveness). Their answer depends only on the snapshot
 * and on which deadlines have passed (rest_health_stable_until), so the first request after a
 * publication renders it into a libmicrohttpd response and every later one queues that same
 * response: no rendering, no allocation, no lock of ours. The HA loop does no extra work when
 * it publishes; a snapshot nobody asks about costs nothing.
 *
 * A slot is written once (compare-and-swap from NULL) and freed with its snapshot, when the
 * last reference goes. MHD counts references to a response itself, so a connection still
 * sending it is unaffected. Once a deadline passes (the HA loop stopped publishing) the entry
 * is stale and each request is rendered on its own, as before the cache.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "rest_cache.h"
#include "rest_mhd.h"

/* The Server header value. */
#define REST_SERVER_HEADER_MAX 96

static const char *const cache_methods[REST_CACHE_METHODS] = { "GET", "HEAD", "OPTIONS" };

/* Patroni's health check paths (patroni-compat.md 1.4) and the probes' dedicated ones. */
static const char *const cache_paths[REST_CACHE_PATHS] = {
	"/",
	"/primary",
	"/master",
	"/leader",
	"/read-write",
	"/replica",
	"/read-only",
	"/health",
	"/liveness",
	"/readiness",
	"/standby-leader",
	"/standby_leader",
	"/sync",
	"/synchronous",
	"/async",
	"/asynchronous",
	"/quorum",
	"/read-only-sync",
	"/read-only-synchronous",
	"/read-only-quorum",
};

int rest_cache_slot(const char *method, const char *uri)
{
	int m = -1;

	if (!method || !uri)
		return -1;
	for (int i = 0; i < REST_CACHE_METHODS; i++)
		if (strcmp(method, cache_methods[i]) == 0)
			m = i;
	if (m < 0)
		return -1;
	for (int p = 0; p < REST_CACHE_PATHS; p++)
		if (strcmp(uri, cache_paths[p]) == 0)
			return m * REST_CACHE_PATHS + p;
	return -1;
}

struct MHD_Response *rest_mhd_response(const struct rest_options *opts,
				       const struct rest_response *r,
				       const struct rest_snapshot *snap)
{
	struct MHD_Response *resp;
	char server_hdr[REST_SERVER_HEADER_MAX];

	if (r->bare) {
		resp = rest_mhd->MHD_create_response_from_buffer(0, (void *)"",
								 MHD_RESPMEM_PERSISTENT);
	} else {
		resp = rest_mhd->MHD_create_response_from_buffer(
			r->body_len, r->body ? r->body : (void *)"", MHD_RESPMEM_MUST_COPY);
	}
	if (!resp)
		return NULL;
	/* HTTP/1.0, as Patroni's BaseHTTPRequestHandler: the connection closes after one
	 * response unless the client asked for keep-alive (Connection: keep-alive). */
	(void)rest_mhd->MHD_set_response_options(resp, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END);
	if (r->bare)
		return resp;
	(void)rest_mhd->MHD_add_response_header(
		resp, MHD_HTTP_HEADER_SERVER,
		rest_server_header(opts, snap, server_hdr, sizeof(server_hdr)));
	if (r->content_type)
		(void)rest_mhd->MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
							r->content_type);
	if (r->html_error)
		(void)rest_mhd->MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (r->www_authenticate)
		(void)rest_mhd->MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
							"Basic realm=\"Patroni\"");
	if (r->lsn_header[0])
		(void)rest_mhd->MHD_add_response_header(resp, "lsn", r->lsn_header);
	for (int i = 0; i < opts->extra_header_count && i < REST_EXTRA_HEADERS_MAX; i++)
		(void)rest_mhd->MHD_add_response_header(resp, opts->extra_headers[i].name,
							opts->extra_headers[i].value);
	return resp;
}

/* Renders the slot's request as rest_handle() answers it at now_ms. */
static struct rest_cache_entry *render(int slot, const struct rest_options *opts,
				       const struct rest_snapshot *snap, int64_t now_ms)
{
	struct rest_request rq;
	struct rest_response r;
	struct rest_cache_entry *e;

	memset(&rq, 0, sizeof(rq));
	rq.method = cache_methods[slot / REST_CACHE_PATHS];
	rq.path = cache_paths[slot % REST_CACHE_PATHS];
	rq.now_mono_ms = now_ms;
	rq.now_wall_ms = clock_wall_ms();
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	if (rest_handle(opts, NULL, &rq, snap, &r) != 0) {
		free(e);
		return NULL;
	}
	e->status = (unsigned int)r.status;
	e->until_ms = rest_health_stable_until(snap, now_ms);
	e->resp = rest_mhd_response(opts, &r, snap);
	rest_response_done(&r);
	if (!e->resp) {
		free(e);
		return NULL;
	}
	return e;
}

static void entry_free(struct rest_cache_entry *e)
{
	if (!e)
		return;
	rest_mhd->MHD_destroy_response(e->resp);
	free(e);
}

const struct rest_cache_entry *rest_cache_get(struct rest_cache *cache, int slot,
					      const struct rest_options *opts,
					      const struct rest_snapshot *snap, int64_t now_ms)
{
	struct rest_cache_entry *e, *expected = NULL;

	if (slot < 0 || slot >= REST_CACHE_SLOTS || !snap)
		return NULL;
	e = atomic_load_explicit(&cache->slot[slot], memory_order_acquire);
	if (!e) {
		e = render(slot, opts, snap, now_ms);
		if (!e)
			return NULL;
		if (!atomic_compare_exchange_strong_explicit(&cache->slot[slot], &expected, e,
							     memory_order_acq_rel,
							     memory_order_acquire)) {
			/* another thread rendered it first: use theirs (the deadline check below
			 * still applies to this request) */
			entry_free(e);
			e = expected;
		}
	}
	return now_ms < e->until_ms ? e : NULL;
}

void rest_cache_done(struct rest_cache *cache)
{
	for (int i = 0; i < REST_CACHE_SLOTS; i++)
		entry_free(atomic_exchange(&cache->slot[i], NULL));
}
