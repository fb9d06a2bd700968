/*
 * dcs_internal.h - what the three files of the etcd client share: the client structure, one
 * RPC across endpoints (dcs_transport.c), and the request helpers of the public calls (dcs.c).
 * The watch thread lives in dcs_watch.c. Internal to dcs/: nothing here is public.
 */
#ifndef GSHA_DCS_INTERNAL_H
#define GSHA_DCS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "curl_api.h"
#include "dcs.h"
#include "dcs_codec.h"
#include "dcs_view.h"

/* Per-attempt budget: retry_timeout split as Patroni does (three tries, or one per endpoint). */
#define DCS_ATTEMPTS_MIN 3
/* No attempt gets less than this, unless the deadline itself is closer. */
#define DCS_ATTEMPT_MIN_MS 300
/* Pause after every endpoint failed fast (refused), so a down cluster is not hammered. */
#define DCS_ROUND_PAUSE_MS 100
/* The shortest retry_timeout the client takes: one attempt needs a connect and a reply. */
#define DCS_RETRY_TIMEOUT_MIN_MS 100
/* The smallest lease etcd grants by default; shorter TTLs are raised to it. */
#define DCS_LEASE_MIN_S 2
/* The watch: how often the stall probe runs (once a TTL, within these bounds: the HA loop reads
 * from the watch-fed view, so a stuck stream is found within a TTL of a missed change, and the
 * probe costs etcd one small request per TTL; docs/ha-loop-contract.md). */
#define DCS_PROBE_MIN_MS 1000
#define DCS_PROBE_MAX_MS 30000
/* After a probe saw the view behind etcd: how long the stream has to deliver before it counts as
 * stuck (events arrive within milliseconds of their commit). */
#define DCS_PROBE_GRACE_MS 1000
/* Keys a stall probe lists (keys only) to compare with the view; more: compared by revision. */
#define DCS_PROBE_KEYS_MAX 1024
/* Pause before the watch reconnects after a failure (doubling up to the max). */
#define DCS_WATCH_BACKOFF_MIN_MS 100
#define DCS_WATCH_BACKOFF_MAX_MS 2000
/* Consecutive failed probes before the watch endpoint is abandoned. */
#define DCS_PROBE_FAILURES_MAX 2
/* A full request URL: endpoint plus RPC path. */
#define DCS_FULL_URL_MAX (DCS_URL_MAX + 64)
/* "Authorization: <token>". */
#define DCS_AUTH_HEADER_MAX (DCS_SECRET_MAX + 32)

struct dcs_conn {
	CURL *curl;
	int endpoint;		    /* the endpoint tried first; moves on failure */
	const _Atomic bool *cancel; /* set: the call in progress ends (a keepalive's); NULL: none */
};

/* One keepalive connection of the lease thread and the lock of the call on it. */
struct dcs_side {
	pthread_mutex_t lock;
	struct dcs_conn conn;
};

struct dcs_client {
	struct dcs_options opts;
	char prefix[DCS_KEY_MAX];
	char urls[DCS_ENDPOINTS_MAX][DCS_URL_MAX]; /* base URLs without a trailing slash */
	int n_urls;
	int64_t attempt_ms; /* total timeout of one attempt */

	pthread_mutex_t lock; /* the request path: conn, lease and leader state below */
	struct dcs_conn conn;
	/* The lease id (0: none held) and when it was last granted or renewed (monotonic). Atomic:
	 * the lease thread's keepalives (side[]) renew and forget it without c->lock. */
	_Atomic uint64_t lease;
	_Atomic int64_t lease_refreshed_ms;
	uint64_t leader_lease; /* the lease the leader key was written with; 0: not held */
	char member_doc[DCS_MEMBER_DOC_MAX + 1]; /* last member document written */
	uint64_t member_lease; /* ... and the lease it was written with; 0: never written */
	int64_t last_read_revision;
	_Atomic int64_t call_cap_ms; /* dcs_cap_calls: no call runs past it; 0: no cap */
	/* The store revision in the header of the latest 2xx reply of any call (a keepalive, a
	 * read, a write), and when it came (monotonic ms): the watch skips its stall probe while
	 * etcd's revision has not moved past what the view is known complete at. */
	_Atomic int64_t seen_revision;
	_Atomic int64_t seen_ms;

	/* The lease thread's keepalives (dcs_lease_keepalive_side) run on connections of their
	 * own, each under its own lock, never behind the request path nor behind each other. */
	struct dcs_side side[DCS_KEEPALIVE_CONNS];
	_Atomic bool lease_thread; /* dcs_lease_thread_keeps: touch_member sends no keepalive */

	pthread_mutex_t stats_lock; /* guards stats: requests run on the loop and REST threads */
	struct dcs_stats stats;

	pthread_mutex_t token_lock;
	char token[DCS_SECRET_MAX]; /* "" when none (no auth, or must fetch) */
	bool auth_disabled;	    /* etcd said authentication is not enabled */

	pthread_mutex_t watch_lock;
	pthread_cond_t watch_cond; /* pending changed, or stop */
	unsigned pending;	   /* dcs_change bits not yet handed to a waiter */
	bool stop;
	bool watch_running;
	pthread_t watch_thread;
	CURLM *multi;
	int wake_fd; /* eventfd, readable while pending != 0 (dcs_wake_fd); -1: none */

	pthread_mutex_t view_lock; /* the watch-fed view: written by the watch thread only */
	struct dcs_view view;
	bool view_live; /* the stream follows on from view.revision: the view is current */
};

/* Applies the client's TLS settings and safe defaults (no redirects, http and https only). */
void dcs_conn_setup(const struct dcs_client *c, CURL *h);

/* libcurl's write callback: appends to the struct buf in arg; a full buffer aborts the transfer. */
size_t dcs_on_body(char *data, size_t size, size_t n, void *arg);

/* Creates an easy handle with the client's TLS settings and safe defaults (no redirects,
 * http and https only). NULL when libcurl has no memory. */
CURL *dcs_conn_handle(const struct dcs_client *c);

/* The request headers: JSON content type, no "Expect: 100-continue", the auth token if any. */
struct curl_slist *dcs_http_headers(const char *token);

/* The current auth token ("" when none), and forgetting a token etcd rejected. */
void dcs_token_get(struct dcs_client *c, char *out, size_t cap);
void dcs_token_drop(struct dcs_client *c, const char *token);

/* True when a username is set, no token is held and etcd did not say auth is off. */
bool dcs_auth_wanted(struct dcs_client *c);

enum {
	CALL_NO_AUTH = 1, /* the authenticate RPC itself */
	CALL_PINNED = 2,  /* one attempt on k->endpoint, no failover (the watch's probe) */
	/* An attempt may take the time left shared among the endpoints not yet tried this round
	 * when that is longer than attempt_ms: for a keepalive, whose caller already bounds it
	 * tightly, an etcd that answers slowly is better waited for than asked again (a timed-out
	 * attempt is lost work and its retry queues behind it); with one endpoint that is one
	 * attempt for the whole bound. */
	CALL_SPREAD = 4,
};

/* Runs path (e.g. "/v3/kv/range") with body req (NULL: GET) until it gets an answer that is not
 * transient or the deadline passes. On DCS_OK, resp holds a 2xx body. Returns 0 or a dcs_error
 * with msg set. */
int dcs_call(struct dcs_client *c, struct dcs_conn *k, const char *path, const struct buf *req,
	     struct buf *resp, int64_t deadline_ms, int flags, char *msg, size_t msglen);

/* Fetches a token for the configured user. Returns 0 (also when etcd has auth disabled) or a
 * dcs_error with msg set. */
int dcs_authenticate(struct dcs_client *c, struct dcs_conn *k, int64_t deadline_ms, char *msg,
		     size_t msglen);

/* One public call: its deadline, its buffers and the caller's message buffer. dcs_op_begin takes
 * c->lock, dcs_op_end releases it and returns rc. */
struct dcs_op {
	struct dcs_client *c;
	int64_t deadline_ms;
	struct buf req;
	struct buf resp;
	char *msg;
	size_t msglen;
};

void dcs_op_begin(struct dcs_op *o, struct dcs_client *c, char *msg, size_t msglen);
int dcs_op_end(struct dcs_op *o, int rc);
/* Sends o->req (built is the builder's result) to path on the request path's connection. */
int dcs_op_call(struct dcs_op *o, const char *path, int built);
/* prefix + suffix into key. */
int dcs_key_of(const struct dcs_client *c, const char *suffix, char *key, size_t cap);

/* Stops the watch thread, if running (dcs_client_free). */
void dcs_watch_stop(struct dcs_client *c);

#endif
