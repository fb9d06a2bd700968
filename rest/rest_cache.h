/*
 * rest_cache.h - the server half's pre-built health answers (rest_cache.c), shared by
 * rest_server.c only: libmicrohttpd responses built once per published snapshot.
 */
#ifndef GSHA_REST_CACHE_H
#define GSHA_REST_CACHE_H

#include <stdatomic.h>
#include <stdint.h>

#include "rest.h"

struct MHD_Response;

/* GET, HEAD and OPTIONS. */
#define REST_CACHE_METHODS 3
/* The health paths with a slot (rest_cache.c lists them): what load balancers and probes ask. */
#define REST_CACHE_PATHS 20
#define REST_CACHE_SLOTS (REST_CACHE_METHODS * REST_CACHE_PATHS)

/* One rendered answer: valid for requests before until_ms (rest_health_stable_until). */
struct rest_cache_entry {
	struct MHD_Response *resp;
	unsigned int status;
	int64_t until_ms;
};

/* Belongs to one snapshot: slots fill on first use and are never replaced, so a reader that
 * holds the snapshot may use an entry without a lock. Zeroed memory is an empty cache. */
struct rest_cache {
	_Atomic(struct rest_cache_entry *) slot[REST_CACHE_SLOTS];
};

/* The slot for a request (method and raw target, query included), or -1 when it is not a
 * plain health check without a query string. */
int rest_cache_slot(const char *method, const char *uri);

/* The answer for slot at now_ms, rendered now unless an earlier request did; NULL when the
 * stored answer has expired or could not be built (the caller renders the request itself). */
const struct rest_cache_entry *rest_cache_get(struct rest_cache *cache, int slot,
					      const struct rest_options *opts,
					      const struct rest_snapshot *snap, int64_t now_ms);

/* Releases every rendered answer (connections still sending one keep their reference). */
void rest_cache_done(struct rest_cache *cache);

/* A libmicrohttpd response for r with the headers Patroni sends (Server, Content-Type, the
 * configured extra headers, ...), HTTP/1.0 status line. NULL when out of memory. */
struct MHD_Response *rest_mhd_response(const struct rest_options *opts,
				       const struct rest_response *r,
				       const struct rest_snapshot *snap);

#endif
