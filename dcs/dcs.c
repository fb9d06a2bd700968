/*
 * dcs.c - the thin libcurl half of the etcd client: endpoints, timeouts, auth, the watch thread.
 *
 * Every public call takes one deadline of retry_timeout and spends it across endpoints: each
 * attempt has a connect timeout and a total timeout cut from it; a connection failure, timeout,
 * 5xx or garbage moves on to the next endpoint. Definite answers (compare failed, lease not
 * found, permission denied, wrong password) come back at once. JSON lives in dcs_codec.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "clock.h"
#include "dcs.h"
#include "dcs_codec.h"
#include "log.h"

/* Per-attempt budget: retry_timeout split as Patroni does (three tries, or one per endpoint). */
#define DCS_ATTEMPTS_MIN 3
/* No attempt gets less than this, unless the deadline itself is closer. */
#define DCS_ATTEMPT_MIN_MS 300
/* Pause after every endpoint failed fast (refused), so a down cluster is not hammered. */
#define DCS_ROUND_PAUSE_MS 100
/* The smallest lease etcd grants by default; shorter TTLs are raised to it. */
#define DCS_LEASE_MIN_S 2
/* The watch: how often the stall probe runs (a third of the TTL, within these bounds). */
#define DCS_PROBE_MIN_MS 500
#define DCS_PROBE_MAX_MS 5000
/* The watch loop's poll step: bounds how late a stop request is noticed. */
#define DCS_WATCH_POLL_MS 100
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
	int endpoint; /* the endpoint tried first; moves on failure */
};

struct dcs_client {
	struct dcs_options opts;
	char prefix[DCS_KEY_MAX];
	char urls[DCS_ENDPOINTS_MAX][DCS_URL_MAX]; /* base URLs without a trailing slash */
	int n_urls;
	int64_t attempt_ms; /* total timeout of one attempt */

	pthread_mutex_t lock; /* the request path: conn, lease and leader state below */
	struct dcs_conn conn;
	uint64_t lease;		      /* 0: none held */
	int64_t lease_refreshed_ms;   /* monotonic time of the last grant or keepalive */
	uint64_t leader_lease;	      /* the lease the leader key was written with; 0: not held */
	char member_doc[DCS_DOC_MAX]; /* last member document written */
	uint64_t member_lease;	      /* ... and the lease it was written with; 0: never written */
	int64_t last_read_revision;
	_Atomic int64_t call_cap_ms; /* dcs_cap_calls: no call runs past it; 0: no cap */

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
};

/* Copies src when it fits, else leaves dst empty: for values already checked to fit. */
static void msgf(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void msgf(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- construction ---------------------------------------------------------------------------- */

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int make_url(const char *host, const char *protocol, char *out, size_t cap)
{
	size_t n;

	if (host[0] == '\0')
		return -EINVAL;
	if (strstr(host, "://")) {
		if (strncmp(host, "http://", 7) != 0 && strncmp(host, "https://", 8) != 0)
			return -EINVAL;
		if (buf_copy(out, cap, host) < 0)
			return -ENAMETOOLONG;
	} else if (buf_format(out, cap, "%s://%s", protocol[0] ? protocol : "http", host) < 0) {
		return -ENAMETOOLONG;
	}
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

static CURL *conn_handle(const struct dcs_client *c)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (c->opts.cacert[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.cacert);
	if (c->opts.cert[0])
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->opts.cert);
	if (c->opts.key[0])
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->opts.key);
	return h;
}

struct dcs_client *dcs_client_new(const struct dcs_options *opts, char *err, size_t errlen)
{
	struct dcs_client *c;
	pthread_condattr_t ca;
	int n;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		msgf(err, errlen, "could not initialize libcurl");
		return NULL;
	}
	if (opts->endpoint_count < 1 || opts->endpoint_count > DCS_ENDPOINTS_MAX) {
		msgf(err, errlen, "etcd3: between 1 and %d hosts are required", DCS_ENDPOINTS_MAX);
		return NULL;
	}
	if (!terminated(opts->protocol, sizeof(opts->protocol)) ||
	    !terminated(opts->username, sizeof(opts->username)) ||
	    !terminated(opts->password, sizeof(opts->password)) ||
	    !terminated(opts->cacert, sizeof(opts->cacert)) ||
	    !terminated(opts->cert, sizeof(opts->cert)) ||
	    !terminated(opts->key, sizeof(opts->key)) ||
	    !terminated(opts->namespace, sizeof(opts->namespace)) ||
	    !terminated(opts->scope, sizeof(opts->scope)) ||
	    !terminated(opts->name, sizeof(opts->name))) {
		msgf(err, errlen, "etcd3: an option is not terminated");
		return NULL;
	}
	if (opts->protocol[0] && strcmp(opts->protocol, "http") != 0 &&
	    strcmp(opts->protocol, "https") != 0) {
		msgf(err, errlen, "etcd3: protocol \"%s\" must be \"http\" or \"https\"",
		     opts->protocol);
		return NULL;
	}
	if (opts->scope[0] == '\0' || strchr(opts->name, '/')) {
		msgf(err, errlen, "scope is required and the member name may not contain \"/\"");
		return NULL;
	}
	if (opts->ttl_ms < 1000 || opts->retry_timeout_ms < 1000) {
		msgf(err, errlen, "ttl and retry_timeout must be at least 1 s");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		msgf(err, errlen, "out of memory");
		return NULL;
	}
	c->opts = *opts;
	if (dcs_make_prefix(opts->namespace, opts->scope, c->prefix, sizeof(c->prefix)) < 0) {
		msgf(err, errlen, "namespace and scope make a key prefix that is too long");
		goto out_free_c;
	}
	for (n = 0; n < opts->endpoint_count; n++) {
		if (!terminated(opts->endpoints[n], DCS_URL_MAX) ||
		    make_url(opts->endpoints[n], opts->protocol, c->urls[n], DCS_URL_MAX) < 0) {
			msgf(err, errlen,
			     "etcd3: host \"%.*s\" is not \"host:port\" or an http(s) URL",
			     DCS_URL_MAX, opts->endpoints[n]);
			goto out_free_c;
		}
	}
	c->n_urls = n;
	c->attempt_ms = opts->retry_timeout_ms / (n > DCS_ATTEMPTS_MIN ? n : DCS_ATTEMPTS_MIN);
	if (c->attempt_ms < DCS_ATTEMPT_MIN_MS)
		c->attempt_ms = DCS_ATTEMPT_MIN_MS;
	c->conn.curl = conn_handle(c);
	c->multi = curl_multi_init();
	if (c->conn.curl == NULL || c->multi == NULL) {
		msgf(err, errlen, "could not create a libcurl handle");
		goto out_free_curl;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->token_lock, NULL);
	pthread_mutex_init(&c->watch_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->watch_cond, &ca);
	pthread_condattr_destroy(&ca);
	return c;
out_free_curl:
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->conn.curl)
		curl_easy_cleanup(c->conn.curl);
out_free_c:
	free(c);
	return NULL;
}

static void watch_stop(struct dcs_client *c);

void dcs_client_free(struct dcs_client *c)
{
	if (c == NULL)
		return;
	watch_stop(c);
	curl_multi_cleanup(c->multi);
	curl_easy_cleanup(c->conn.curl);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->token_lock);
	pthread_mutex_destroy(&c->watch_lock);
	pthread_cond_destroy(&c->watch_cond);
	/* The password is in opts: do not leave it in freed memory. */
	explicit_bzero(c, sizeof(*c));
	free(c);
}

const char *dcs_client_prefix(const struct dcs_client *c)
{
	return c->prefix;
}

uint64_t dcs_lease_id(const struct dcs_client *c)
{
	return c->lease;
}

/* ---- one HTTP exchange ----------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, data, size * n) < 0)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	return size * n;
}

static void token_get(struct dcs_client *c, char *out, size_t cap)
{
	pthread_mutex_lock(&c->token_lock);
	if (buf_copy(out, cap, c->token) < 0)
		out[0] = '\0';
	pthread_mutex_unlock(&c->token_lock);
}

/* Forgets token if it is still the current one (another thread may have refreshed it). */
static void token_drop(struct dcs_client *c, const char *token)
{
	pthread_mutex_lock(&c->token_lock);
	if (strcmp(c->token, token) == 0)
		c->token[0] = '\0';
	pthread_mutex_unlock(&c->token_lock);
}

static struct curl_slist *make_headers(const char *token)
{
	char auth[DCS_AUTH_HEADER_MAX];
	struct curl_slist *h = NULL, *t;

	h = curl_slist_append(h, "Content-Type: application/json");
	if (h == NULL)
		return NULL;
	t = curl_slist_append(h, "Expect:");
	if (t == NULL)
		goto out_free_h;
	h = t;
	if (token[0]) {
		if (buf_format(auth, sizeof(auth), "Authorization: %s", token) < 0)
			goto out_free_h;
		t = curl_slist_append(h, auth);
		if (t == NULL)
			goto out_free_h;
		h = t;
	}
	return h;
out_free_h:
	curl_slist_free_all(h);
	return NULL;
}

/* Sends body (NULL: GET) to url within timeout_ms. Returns DCS_OK with *http set, or
 * DCS_ERR_TRANSIENT (no answer) / DCS_ERR_INVALID_RESPONSE (too large) with msg. */
static int perform(CURL *h, const char *url, const struct buf *req, const char *token,
		   int64_t timeout_ms, struct buf *resp, long *http, char *msg, size_t msglen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = make_headers(token);
	int64_t connect_ms = timeout_ms / 2 > DCS_ATTEMPT_MIN_MS ? timeout_ms / 2 : timeout_ms;
	CURLcode cc;

	if (headers == NULL) {
		msgf(msg, msglen, "out of memory");
		return DCS_ERR_NO_MEMORY;
	}
	buf_reset(resp);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (req != NULL) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->data ? req->data : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect_ms > 0 ? connect_ms : 1));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	if (cc == CURLE_WRITE_ERROR && resp->overflow) {
		msgf(msg, msglen, "%s: reply larger than %zu bytes", url, resp->limit);
		return DCS_ERR_INVALID_RESPONSE;
	}
	if (cc != CURLE_OK) {
		curl_off_t tcp_us = 0, tls_us = 0;

		/* etcd refusing a client certificate may just reset the connection, and curl then
		 * speaks of sockets: say which step failed, and what to check. */
		curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &tcp_us);
		curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_us);
		if (strncmp(url, "https:", 6) == 0 && tcp_us > 0 && tls_us == 0)
			msgf(msg, msglen,
			     "%s: TLS handshake failed (check etcd3.cacert, etcd3.cert and "
			     "etcd3.key): %s",
			     url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		else
			msgf(msg, msglen, "%s: %s", url,
			     errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return DCS_ERR_TRANSIENT;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
	return DCS_OK;
}

/* ---- one RPC across endpoints ---------------------------------------------------------------- */

enum {
	CALL_NO_AUTH = 1, /* the authenticate RPC itself */
	CALL_PINNED = 2,  /* one attempt on k->endpoint, no failover (the watch's probe) */
};

static int authenticate(struct dcs_client *c, struct dcs_conn *k, int64_t deadline_ms, char *msg,
			size_t msglen);

static bool auth_wanted(struct dcs_client *c)
{
	bool wanted;

	if (c->opts.username[0] == '\0')
		return false;
	pthread_mutex_lock(&c->token_lock);
	wanted = c->token[0] == '\0' && !c->auth_disabled;
	pthread_mutex_unlock(&c->token_lock);
	return wanted;
}

/* Runs path (e.g. "/v3/kv/range") with body req (NULL: GET) until it gets an answer that is not
 * transient or the deadline passes. On DCS_OK, resp holds a 2xx body. */
static int call(struct dcs_client *c, struct dcs_conn *k, const char *path, const struct buf *req,
		struct buf *resp, int64_t deadline_ms, int flags, char *msg, size_t msglen)
{
	char last[DCS_MSG_MAX] = "deadline passed before any endpoint was tried";
	char first[DCS_MSG_MAX] = ""; /* the first failure often says the most (a TLS alert) */
	char token[DCS_SECRET_MAX];
	char url[DCS_FULL_URL_MAX];
	int rc = DCS_ERR_TRANSIENT, tried = 0;
	bool round_transient = false, reauthed = false;

	for (;;) {
		int64_t remaining = deadline_ms - clock_mono_ms();
		struct dcs_status st;
		long http = 0;

		if (remaining <= 0)
			break;
		if (!(flags & CALL_NO_AUTH) && auth_wanted(c)) {
			rc = authenticate(c, k, deadline_ms, last, sizeof(last));
			if (rc != DCS_OK && !dcs_error_is_transient(rc)) {
				msgf(msg, msglen, "%s", last);
				return rc;
			}
			if (rc != DCS_OK)
				break; /* authenticate spent the deadline across endpoints */
		}
		token[0] = '\0';
		if (!(flags & CALL_NO_AUTH))
			token_get(c, token, sizeof(token));
		if (buf_format(url, sizeof(url), "%s%s", c->urls[k->endpoint], path) < 0) {
			msgf(msg, msglen, "request URL too long");
			return DCS_ERR_INVALID_ARGUMENT;
		}
		rc = perform(k->curl, url, req, token,
			     remaining < c->attempt_ms ? remaining : c->attempt_ms, resp, &http,
			     last, sizeof(last));
		if (rc == DCS_OK) {
			dcs_codec_status(http, resp->data, resp->len, &st);
			if (st.rc == DCS_OK) {
				int64_t rev;
				/* Every 2xx reply is one JSON object with a well-typed header, or
				 * this endpoint is not a sane etcd: try the next one. */
				rc = dcs_codec_parse_header(resp->data, resp->len, &rev, st.message,
							    sizeof(st.message));
				if (rc == DCS_OK)
					return DCS_OK;
				st.rc = rc;
			}
			if (st.reauth && c->opts.username[0] && !(flags & CALL_NO_AUTH) &&
			    !reauthed) {
				log_debug("dcs: %s rejected the auth token (%s), re-authenticating",
					  url, st.message);
				reauthed = true;
				token_drop(c, token);
				/* Auth may have been enabled since etcd said it was not. */
				pthread_mutex_lock(&c->token_lock);
				c->auth_disabled = false;
				pthread_mutex_unlock(&c->token_lock);
				continue;
			}
			rc = st.rc;
			if (rc == DCS_ERR_AUTH && st.reauth && c->opts.username[0] == '\0')
				msgf(last, sizeof(last),
				     "%s: %s (etcd requires authentication: set etcd3.username)",
				     url, st.message);
			else
				msgf(last, sizeof(last), "%s: %s", url, st.message);
		}
		if (rc != DCS_ERR_TRANSIENT && rc != DCS_ERR_INVALID_RESPONSE)
			break;
		if (first[0] == '\0')
			memcpy(first, last, sizeof(first));
		if (flags & CALL_PINNED)
			break;
		round_transient = round_transient || rc == DCS_ERR_TRANSIENT;
		k->endpoint = (k->endpoint + 1) % c->n_urls;
		if (++tried >= c->n_urls) {
			/* Every endpoint failed once: garbage everywhere is an answer; silence is
			 * retried until the deadline. */
			if (!round_transient)
				break;
			tried = 0;
			round_transient = false;
			remaining = deadline_ms - clock_mono_ms();
			clock_sleep_ms(remaining < DCS_ROUND_PAUSE_MS ? remaining
								      : DCS_ROUND_PAUSE_MS);
		}
	}
	if (first[0] && strcmp(first, last) != 0)
		msgf(msg, msglen, "%s (first failure: %s)", last, first);
	else
		msgf(msg, msglen, "%s", last);
	return rc;
}

static int authenticate(struct dcs_client *c, struct dcs_conn *k, int64_t deadline_ms, char *msg,
			size_t msglen)
{
	char token[DCS_SECRET_MAX];
	char why[DCS_MSG_MAX] = "";
	struct buf req, resp;
	int rc;

	buf_init(&req, DCS_REQUEST_MAX);
	buf_init(&resp, DCS_RESPONSE_MAX);
	rc = dcs_codec_auth(&req, c->opts.username, c->opts.password);
	if (rc != DCS_OK) {
		msgf(msg, msglen, "could not build the authenticate request");
		goto out_free_bufs;
	}
	rc = call(c, k, "/v3/auth/authenticate", &req, &resp, deadline_ms, CALL_NO_AUTH, why,
		  sizeof(why));
	if (rc == DCS_ERR_AUTH && strstr(why, "authentication is not enabled")) {
		/* A username against an etcd without auth: go on without a token. */
		pthread_mutex_lock(&c->token_lock);
		c->auth_disabled = true;
		pthread_mutex_unlock(&c->token_lock);
		rc = DCS_OK;
		goto out_free_bufs;
	}
	if (rc == DCS_OK)
		rc = dcs_codec_parse_auth(resp.data, resp.len, token, sizeof(token), why,
					  sizeof(why));
	if (rc != DCS_OK) {
		msgf(msg, msglen, "could not authenticate to etcd as user \"%s\": %s",
		     c->opts.username, why);
		goto out_free_bufs;
	}
	pthread_mutex_lock(&c->token_lock);
	buf_copy_or_clear(c->token, sizeof(c->token), token);
	pthread_mutex_unlock(&c->token_lock);
	explicit_bzero(token, sizeof(token));
out_free_bufs:
	if (req.data)
		explicit_bzero(req.data, req.len);
	buf_done(&req);
	buf_done(&resp);
	return rc;
}

/* ---- request helpers for the public calls (c->lock held) ------------------------------------- */

struct op {
	struct dcs_client *c;
	int64_t deadline_ms;
	struct buf req;
	struct buf resp;
	char *msg;
	size_t msglen;
};

static void op_begin(struct op *o, struct dcs_client *c, char *msg, size_t msglen)
{
	int64_t cap = atomic_load(&c->call_cap_ms);

	o->c = c;
	o->deadline_ms = clock_mono_ms() + c->opts.retry_timeout_ms;
	if (cap > 0 && cap < o->deadline_ms)
		o->deadline_ms = cap;
	buf_init(&o->req, DCS_REQUEST_MAX);
	buf_init(&o->resp, DCS_RESPONSE_MAX);
	o->msg = msg;
	o->msglen = msglen;
	if (msg && msglen)
		msg[0] = '\0';
	pthread_mutex_lock(&c->lock);
}

static int op_end(struct op *o, int rc)
{
	pthread_mutex_unlock(&o->c->lock);
	buf_done(&o->req);
	buf_done(&o->resp);
	return rc;
}

static int op_call(struct op *o, const char *path, int built)
{
	if (built != DCS_OK) {
		msgf(o->msg, o->msglen, "could not build the %s request: value too large", path);
		return built;
	}
	return call(o->c, &o->c->conn, path, &o->req, &o->resp, o->deadline_ms, 0, o->msg,
		    o->msglen);
}

static int key_of(const struct dcs_client *c, const char *suffix, char *key, size_t cap)
{
	return buf_format(key, cap, "%s%s", c->prefix, suffix) < 0 ? DCS_ERR_INVALID_ARGUMENT
								   : DCS_OK;
}

static int lease_grant_locked(struct op *o)
{
	int64_t ttl_s = (o->c->opts.ttl_ms + 999) / 1000;
	uint64_t id;
	int64_t granted;
	int rc;

	if (ttl_s < DCS_LEASE_MIN_S)
		ttl_s = DCS_LEASE_MIN_S;
	rc = op_call(o, "/v3/lease/grant", dcs_codec_lease_grant(&o->req, ttl_s));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_lease_grant(o->resp.data, o->resp.len, &id, &granted, o->msg,
						 o->msglen);
	if (rc == DCS_OK) {
		o->c->lease = id;
		o->c->lease_refreshed_ms = clock_mono_ms();
	}
	return rc;
}

static int lease_keepalive_locked(struct op *o)
{
	uint64_t id;
	int64_t ttl;
	int rc;

	if (o->c->lease == 0) {
		msgf(o->msg, o->msglen, "no lease held");
		return DCS_ERR_LEASE_NOT_FOUND;
	}
	rc = op_call(o, "/v3/lease/keepalive", dcs_codec_lease_id(&o->req, o->c->lease));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_keepalive(o->resp.data, o->resp.len, &id, &ttl, o->msg,
					       o->msglen);
	if (rc == DCS_OK && (id != o->c->lease || ttl <= 0)) {
		msgf(o->msg, o->msglen, "lease %" PRIu64 " has expired", o->c->lease);
		rc = DCS_ERR_LEASE_NOT_FOUND;
	}
	if (rc == DCS_OK)
		o->c->lease_refreshed_ms = clock_mono_ms();
	if (rc == DCS_ERR_LEASE_NOT_FOUND)
		o->c->lease = 0;
	return rc;
}

/* Keepalive, or a new lease when there is none or it expired. */
static int lease_refresh_locked(struct op *o)
{
	int rc = lease_keepalive_locked(o);

	if (rc == DCS_ERR_LEASE_NOT_FOUND)
		rc = lease_grant_locked(o);
	return rc;
}

/* Runs a txn; *succeeded says which branch ran; *revision is the reply's revision. */
static int txn_locked(struct op *o, const struct dcs_txn *t, bool *succeeded, int64_t *revision)
{
	int rc = op_call(o, "/v3/kv/txn", dcs_codec_txn(&o->req, t));

	if (rc == DCS_OK)
		rc = dcs_codec_parse_txn(o->resp.data, o->resp.len, succeeded, revision, o->msg,
					 o->msglen);
	return rc;
}

static int put_locked(struct op *o, const char *key, const char *value, uint64_t lease,
		      int64_t *revision)
{
	int64_t rev;
	int rc = op_call(o, "/v3/kv/put", dcs_codec_put(&o->req, key, value, lease));

	if (rc == DCS_OK)
		rc = dcs_codec_parse_header(o->resp.data, o->resp.len, &rev, o->msg, o->msglen);
	if (rc == DCS_OK && revision)
		*revision = rev;
	return rc;
}

/* Reads one key: *found, and its value and lease when found. */
static int get_key_locked(struct op *o, const char *suffix, bool *found, char *value, size_t cap,
			  uint64_t *lease)
{
	struct dcs_cluster *view = malloc(sizeof(*view));
	char key[DCS_KEY_MAX];
	int rc = key_of(o->c, suffix, key, sizeof(key));

	if (view == NULL)
		return DCS_ERR_NO_MEMORY;
	if (rc == DCS_OK)
		rc = op_call(o, "/v3/kv/range", dcs_codec_range(&o->req, key, false, false, false));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_cluster(o->resp.data, o->resp.len, o->c->prefix, view, o->msg,
					     o->msglen);
	if (rc == DCS_OK && strcmp(suffix, "leader") == 0) {
		*found = view->has_leader;
		*lease = view->leader_lease;
		if (buf_copy(value, cap, view->leader) < 0)
			value[0] = '\0';
	}
	free(view);
	return rc;
}

/* ---- public calls ---------------------------------------------------------------------------- */

int dcs_connect(struct dcs_client *c, char *version, size_t version_cap, char *msg, size_t msglen)
{
	char v[DCS_WORD_MAX];
	struct op o;
	int rc;

	op_begin(&o, c, msg, msglen);
	rc = call(c, &c->conn, "/version", NULL, &o.resp, o.deadline_ms, CALL_NO_AUTH, msg, msglen);
	if (rc == DCS_OK)
		rc = dcs_codec_parse_version(o.resp.data, o.resp.len, v, sizeof(v), msg, msglen);
	if (rc == DCS_OK && c->opts.username[0]) {
		pthread_mutex_lock(&c->token_lock);
		c->token[0] = '\0';
		c->auth_disabled = false;
		pthread_mutex_unlock(&c->token_lock);
		rc = authenticate(c, &c->conn, o.deadline_ms, msg, msglen);
	}
	if (rc == DCS_OK && version && buf_copy(version, version_cap, v) < 0)
		rc = DCS_ERR_INVALID_ARGUMENT;
	return op_end(&o, rc);
}

int dcs_read_cluster(struct dcs_client *c, struct dcs_cluster *out, char *msg, size_t msglen)
{
	struct op o;
	int rc;

	op_begin(&o, c, msg, msglen);
	rc = op_call(&o, "/v3/kv/range", dcs_codec_range(&o.req, c->prefix, true, false, false));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_cluster(o.resp.data, o.resp.len, c->prefix, out, msg, msglen);
	if (rc == DCS_OK) {
		const struct dcs_member *me = dcs_cluster_member(out, c->opts.name);
		c->last_read_revision = out->revision;
		/* Our key is gone or differs from what we wrote (deleted, expired, edited): the
		 * next dcs_touch_member rewrites it. */
		if (c->opts.name[0] &&
		    (me == NULL || me->lease != c->lease || strcmp(me->doc, c->member_doc) != 0))
			c->member_lease = 0;
	}
	return op_end(&o, rc);
}

int dcs_lease_grant(struct dcs_client *c, char *msg, size_t msglen)
{
	struct op o;

	op_begin(&o, c, msg, msglen);
	return op_end(&o, lease_grant_locked(&o));
}

int dcs_lease_adopt(struct dcs_client *c, uint64_t lease, bool leader_on_it, char *msg,
		    size_t msglen)
{
	struct op o;
	uint64_t previous = c->lease;
	int rc;

	if (lease == 0)
		return DCS_ERR_INVALID_ARGUMENT;
	op_begin(&o, c, msg, msglen);
	c->lease = lease;
	rc = lease_keepalive_locked(&o);
	if (rc == DCS_OK && leader_on_it)
		c->leader_lease = lease;
	else if (rc != DCS_OK && rc != DCS_ERR_LEASE_NOT_FOUND)
		c->lease = previous; /* could not tell: nothing adopted */
	return op_end(&o, rc);
}

int dcs_lease_keepalive(struct dcs_client *c, char *msg, size_t msglen)
{
	struct op o;

	op_begin(&o, c, msg, msglen);
	return op_end(&o, lease_keepalive_locked(&o));
}

int dcs_lease_revoke(struct dcs_client *c, char *msg, size_t msglen)
{
	int64_t rev;
	struct op o;
	int rc = DCS_OK;

	op_begin(&o, c, msg, msglen);
	if (c->lease != 0) {
		rc = op_call(&o, "/v3/lease/revoke", dcs_codec_lease_id(&o.req, c->lease));
		if (rc == DCS_OK)
			rc = dcs_codec_parse_header(o.resp.data, o.resp.len, &rev, msg, msglen);
		if (rc == DCS_ERR_LEASE_NOT_FOUND)
			rc = DCS_OK; /* gone already: what we wanted */
		if (rc == DCS_OK) {
			c->lease = 0;
			c->leader_lease = 0;
		}
	}
	return op_end(&o, rc);
}

static int member_put_locked(struct op *o, const char *doc)
{
	char key[DCS_KEY_MAX];
	int rc = DCS_OK;

	if (buf_format(key, sizeof(key), "%smembers/%s", o->c->prefix, o->c->opts.name) < 0)
		rc = DCS_ERR_INVALID_ARGUMENT;
	if (rc == DCS_OK && o->c->lease == 0)
		rc = lease_grant_locked(o);
	if (rc == DCS_OK)
		rc = put_locked(o, key, doc, o->c->lease, NULL);
	if (rc == DCS_ERR_LEASE_NOT_FOUND) {
		o->c->lease = 0;
		rc = lease_grant_locked(o);
		if (rc == DCS_OK)
			rc = put_locked(o, key, doc, o->c->lease, NULL);
	}
	if (rc == DCS_OK) {
		buf_copy_or_clear(o->c->member_doc, sizeof(o->c->member_doc), doc);
		o->c->member_lease = o->c->lease;
	}
	return rc;
}

int dcs_touch_member(struct dcs_client *c, const char *doc, char *msg, size_t msglen)
{
	struct op o;

	if (c->opts.name[0] == '\0' || strlen(doc) >= DCS_DOC_MAX ||
	    !dcs_codec_json_ok(doc, true)) {
		msgf(msg, msglen,
		     "member document must be a JSON object under %d bytes and the "
		     "member name must be set",
		     DCS_DOC_MAX);
		return DCS_ERR_INVALID_ARGUMENT;
	}
	op_begin(&o, c, msg, msglen);
	/* Replicas renew their lease here (the leader does in dcs_renew_leader): Patroni too
	 * refreshes in touch_member once the last refresh is old. A lost lease is re-granted and
	 * the document rewritten on the new one. */
	if (c->lease != 0 && clock_mono_ms() - c->lease_refreshed_ms >= c->opts.ttl_ms / 3) {
		int rc = lease_keepalive_locked(&o);
		if (rc != DCS_OK && rc != DCS_ERR_LEASE_NOT_FOUND)
			return op_end(&o, rc);
	}
	if (c->lease != 0 && c->member_lease == c->lease && strcmp(c->member_doc, doc) == 0)
		return op_end(&o, DCS_OK);
	return op_end(&o, member_put_locked(&o, doc));
}

int dcs_member_doc_build(const struct dcs_client *c, const struct dcs_member *m, char *out,
			 size_t cap)
{
	return dcs_codec_member_doc(m, c->opts.legacy_master_role, out, cap);
}

static void leader_put_txn(struct dcs_client *c, const char *key, struct dcs_txn *t)
{
	memset(t, 0, sizeof(*t));
	t->compare.target = DCS_CMP_CREATE;
	t->compare.key = key;
	t->compare.revision = 0;
	t->success.kind = DCS_OP_PUT;
	t->success.key = key;
	t->success.value = c->opts.name;
	t->success.lease = c->lease;
}

/* After a conflict, was the write ours after all (an earlier attempt that timed out but
 * committed)? */
static bool leader_is_mine_locked(struct op *o)
{
	char holder[DCS_NAME_MAX];
	uint64_t lease = 0;
	bool found = false;

	return get_key_locked(o, "leader", &found, holder, sizeof(holder), &lease) == DCS_OK &&
	       found && strcmp(holder, o->c->opts.name) == 0 && lease == o->c->lease;
}

int dcs_take_leader(struct dcs_client *c, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool won = false;
	int64_t rev;
	struct op o;
	int rc;

	if (c->opts.name[0] == '\0') {
		msgf(msg, msglen, "member name is not set");
		return DCS_ERR_INVALID_ARGUMENT;
	}
	op_begin(&o, c, msg, msglen);
	rc = key_of(c, "leader", key, sizeof(key));
	if (rc == DCS_OK)
		rc = lease_refresh_locked(&o);
	for (int attempt = 0; rc == DCS_OK && attempt < 2; attempt++) {
		leader_put_txn(c, key, &t);
		rc = txn_locked(&o, &t, &won, &rev);
		if (rc != DCS_ERR_LEASE_NOT_FOUND)
			break;
		c->lease = 0;
		rc = lease_grant_locked(&o);
	}
	if (rc == DCS_OK && !won && leader_is_mine_locked(&o))
		won = true;
	if (rc == DCS_OK && !won) {
		msgf(msg, msglen, "leader key is held by another member");
		rc = DCS_ERR_CONFLICT;
	}
	if (rc == DCS_OK)
		c->leader_lease = c->lease;
	return op_end(&o, rc);
}

int dcs_renew_leader(struct dcs_client *c, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	char doc[DCS_DOC_MAX];
	struct dcs_txn t;
	bool ok = false;
	int64_t rev;
	struct op o;
	int rc;

	if (c->opts.name[0] == '\0') {
		msgf(msg, msglen, "member name is not set");
		return DCS_ERR_INVALID_ARGUMENT;
	}
	op_begin(&o, c, msg, msglen);
	rc = key_of(c, "leader", key, sizeof(key));
	if (rc == DCS_OK)
		rc = lease_refresh_locked(&o);
	if (rc != DCS_OK || (c->leader_lease != 0 && c->leader_lease == c->lease))
		return op_end(&o, rc);
	/* The lease changed (or this process never wrote the key): re-put on the new lease if
	 * the key still names us, or if nobody holds it. */
	leader_put_txn(c, key, &t);
	t.compare.target = DCS_CMP_VALUE;
	t.compare.value = c->opts.name;
	t.has_nested = true;
	t.nested_compare.target = DCS_CMP_CREATE;
	t.nested_compare.key = key;
	t.nested_compare.revision = 0;
	rc = txn_locked(&o, &t, &ok, &rev);
	if (rc == DCS_OK && !ok && leader_is_mine_locked(&o))
		ok = true;
	if (rc == DCS_OK && !ok) {
		c->leader_lease = 0;
		msgf(msg, msglen, "leader key was taken by another member");
		return op_end(&o, DCS_ERR_CONFLICT);
	}
	if (rc != DCS_OK)
		return op_end(&o, rc);
	c->leader_lease = c->lease;
	/* The member key rode on the old lease too. */
	if (c->member_lease != 0 && c->member_lease != c->lease &&
	    buf_copy(doc, sizeof(doc), c->member_doc) == 0)
		(void)member_put_locked(&o, doc);
	return op_end(&o, DCS_OK);
}

int dcs_release_leader(struct dcs_client *c, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool ok = false;
	int64_t rev;
	struct op o;
	int rc;

	if (c->opts.name[0] == '\0') {
		msgf(msg, msglen, "member name is not set");
		return DCS_ERR_INVALID_ARGUMENT;
	}
	op_begin(&o, c, msg, msglen);
	rc = key_of(c, "leader", key, sizeof(key));
	memset(&t, 0, sizeof(t));
	t.compare.target = DCS_CMP_VALUE;
	t.compare.key = key;
	t.compare.value = c->opts.name;
	t.success.kind = DCS_OP_DELETE;
	t.success.key = key;
	if (rc == DCS_OK)
		rc = txn_locked(&o, &t, &ok, &rev);
	if (rc == DCS_OK) {
		c->leader_lease = 0;
		if (!ok) {
			msgf(msg, msglen, "leader key is not held by this member");
			rc = DCS_ERR_CONFLICT;
		}
	}
	return op_end(&o, rc);
}

/* Writes prefix+suffix = value under a dcs_cas condition. */
/* The term key's decimal text ("4294967295" and a NUL fit). */
#define DCS_TERM_TEXT_MAX 16

static int cas_put(struct dcs_client *c, const char *suffix, const char *value,
		   int64_t mod_revision, int64_t *new_mod_revision, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool ok = false;
	int64_t rev = 0;
	struct op o;
	int rc;

	if (mod_revision < DCS_CAS_ANY) {
		msgf(msg, msglen, "invalid mod_revision %" PRId64, mod_revision);
		return DCS_ERR_INVALID_ARGUMENT;
	}
	op_begin(&o, c, msg, msglen);
	rc = key_of(c, suffix, key, sizeof(key));
	if (rc == DCS_OK && mod_revision == DCS_CAS_ANY) {
		rc = put_locked(&o, key, value, 0, &rev);
	} else if (rc == DCS_OK) {
		memset(&t, 0, sizeof(t));
		t.compare.target = mod_revision == DCS_CAS_ABSENT ? DCS_CMP_CREATE : DCS_CMP_MOD;
		t.compare.key = key;
		t.compare.revision = mod_revision;
		t.success.kind = DCS_OP_PUT;
		t.success.key = key;
		t.success.value = value;
		rc = txn_locked(&o, &t, &ok, &rev);
		if (rc == DCS_OK && !ok) {
			msgf(msg, msglen, "\"%s\" was changed by someone else", suffix);
			rc = DCS_ERR_CONFLICT;
		}
	}
	if (rc == DCS_OK && new_mod_revision)
		*new_mod_revision = rev;
	return op_end(&o, rc);
}

static int checked_json(const char *what, const char *json, bool object, char *msg, size_t msglen)
{
	if (dcs_codec_json_ok(json, object))
		return DCS_OK;
	msgf(msg, msglen, "%s must be a JSON %s under %d bytes", what, object ? "object" : "value",
	     DCS_VALUE_MAX);
	return DCS_ERR_INVALID_ARGUMENT;
}

int dcs_take_initialize(struct dcs_client *c, const char *value, char *msg, size_t msglen)
{
	if (strlen(value) > DCS_VALUE_MAX)
		return DCS_ERR_INVALID_ARGUMENT;
	return cas_put(c, "initialize", value, DCS_CAS_ABSENT, NULL, msg, msglen);
}

int dcs_write_initialize(struct dcs_client *c, const char *sysid, char *msg, size_t msglen)
{
	if (strlen(sysid) >= DCS_WORD_MAX)
		return DCS_ERR_INVALID_ARGUMENT;
	return cas_put(c, "initialize", sysid, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_cas_config(struct dcs_client *c, const char *json, int64_t mod_revision,
		   int64_t *new_mod_revision, char *msg, size_t msglen)
{
	int rc = checked_json("config", json, true, msg, msglen);

	return rc ? rc : cas_put(c, "config", json, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_cas_sync(struct dcs_client *c, const char *json, int64_t mod_revision,
		 int64_t *new_mod_revision, char *msg, size_t msglen)
{
	int rc = checked_json("sync", json, true, msg, msglen);

	return rc ? rc : cas_put(c, "sync", json, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_cas_term(struct dcs_client *c, int64_t term, int64_t mod_revision,
		 int64_t *new_mod_revision, char *msg, size_t msglen)
{
	char text[DCS_TERM_TEXT_MAX];

	if (term < 1 || term > DCS_TERM_MAX ||
	    buf_format(text, sizeof(text), "%" PRId64, term) != 0) {
		msgf(msg, msglen, "term must be 1..%lld", DCS_TERM_MAX);
		return DCS_ERR_INVALID_ARGUMENT;
	}
	return cas_put(c, "term", text, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_write_failover(struct dcs_client *c, const char *json, int64_t mod_revision,
		       int64_t *new_mod_revision, char *msg, size_t msglen)
{
	int rc = checked_json("failover", json, true, msg, msglen);

	return rc ? rc : cas_put(c, "failover", json, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_clear_failover(struct dcs_client *c, int64_t mod_revision, char *msg, size_t msglen)
{
	return cas_put(c, "failover", "{}", mod_revision, NULL, msg, msglen);
}

int dcs_delete_sync(struct dcs_client *c, int64_t mod_revision, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool ok = true;
	int64_t rev;
	struct op o;
	int rc;

	op_begin(&o, c, msg, msglen);
	rc = key_of(c, "sync", key, sizeof(key));
	if (rc == DCS_OK && mod_revision <= 0) {
		rc = op_call(&o, "/v3/kv/deleterange", dcs_codec_delete(&o.req, key, false));
		if (rc == DCS_OK)
			rc = dcs_codec_parse_header(o.resp.data, o.resp.len, &rev, msg, msglen);
	} else if (rc == DCS_OK) {
		memset(&t, 0, sizeof(t));
		t.compare.target = DCS_CMP_MOD;
		t.compare.key = key;
		t.compare.revision = mod_revision;
		t.success.kind = DCS_OP_DELETE;
		t.success.key = key;
		rc = txn_locked(&o, &t, &ok, &rev);
		if (rc == DCS_OK && !ok) {
			msgf(msg, msglen, "\"sync\" was changed by someone else");
			rc = DCS_ERR_CONFLICT;
		}
	}
	return op_end(&o, rc);
}

int dcs_write_status(struct dcs_client *c, const char *json, char *msg, size_t msglen)
{
	int rc = checked_json("status", json, true, msg, msglen);

	return rc ? rc : cas_put(c, "status", json, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_write_history(struct dcs_client *c, const char *json, char *msg, size_t msglen)
{
	int rc = checked_json("history", json, false, msg, msglen);

	return rc ? rc : cas_put(c, "history", json, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_write_failsafe(struct dcs_client *c, const char *json, char *msg, size_t msglen)
{
	int rc = checked_json("failsafe", json, true, msg, msglen);

	return rc ? rc : cas_put(c, "failsafe", json, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_delete_cluster(struct dcs_client *c, char *msg, size_t msglen)
{
	int64_t rev;
	struct op o;
	int rc;

	op_begin(&o, c, msg, msglen);
	rc = op_call(&o, "/v3/kv/deleterange", dcs_codec_delete(&o.req, c->prefix, true));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_header(o.resp.data, o.resp.len, &rev, msg, msglen);
	return op_end(&o, rc);
}

/* ---- the watch ------------------------------------------------------------------------------- */

static void notify(struct dcs_client *c, unsigned bits)
{
	pthread_mutex_lock(&c->watch_lock);
	c->pending |= bits;
	pthread_cond_broadcast(&c->watch_cond);
	pthread_mutex_unlock(&c->watch_lock);
}

void dcs_cap_calls(struct dcs_client *c, int64_t deadline_ms)
{
	atomic_store(&c->call_cap_ms, deadline_ms > 0 ? deadline_ms : 0);
}

void dcs_wake(struct dcs_client *c)
{
	notify(c, DCS_CHANGE_OTHER);
}

static bool stopping(struct dcs_client *c)
{
	bool s;

	pthread_mutex_lock(&c->watch_lock);
	s = c->stop;
	pthread_mutex_unlock(&c->watch_lock);
	return s;
}

/* Sleeps up to ms unless stop is requested. Returns true when stopping. */
static bool pause_unless_stopped(struct dcs_client *c, int64_t ms)
{
	int64_t deadline = clock_mono_ms() + ms;
	struct timespec ts;
	bool s;

	clock_cond_deadline(deadline, &ts);
	pthread_mutex_lock(&c->watch_lock);
	while (!c->stop && clock_mono_ms() < deadline)
		if (pthread_cond_timedwait(&c->watch_cond, &c->watch_lock, &ts) == ETIMEDOUT)
			break;
	s = c->stop;
	pthread_mutex_unlock(&c->watch_lock);
	return s;
}

int dcs_wait_for_change(struct dcs_client *c, int64_t timeout_ms, unsigned *changed)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts;
	unsigned bits;

	clock_cond_deadline(deadline, &ts);
	pthread_mutex_lock(&c->watch_lock);
	while (c->pending == 0 && clock_mono_ms() < deadline)
		if (pthread_cond_timedwait(&c->watch_cond, &c->watch_lock, &ts) == ETIMEDOUT)
			break;
	bits = c->pending;
	c->pending = 0;
	pthread_mutex_unlock(&c->watch_lock);
	if (bits == 0)
		return 0;
	if (changed)
		*changed = bits;
	return 1;
}

struct watch_state {
	struct dcs_client *c;
	struct dcs_conn probe; /* own handle: the request path's is the HA loop's */
	CURL *stream;
	struct buf line; /* bytes of the stream not yet split into lines */
	int64_t rev;	 /* every change up to here has been seen */
	int endpoint;
	bool created;
	int rc;			    /* why the stream ended */
	char token[DCS_SECRET_MAX]; /* the token the stream was opened with */
	char msg[DCS_MSG_MAX];
};

/* Handles the complete lines in ws->line. Returns false when the stream must be rebuilt. */
static bool watch_lines(struct watch_state *ws)
{
	char *nl;

	while (ws->line.len > 0 && (nl = memchr(ws->line.data, '\n', ws->line.len)) != NULL) {
		size_t n = (size_t)(nl - ws->line.data);
		struct dcs_watch_result r;
		int rc = n == 0 ? DCS_OK
				: dcs_codec_parse_watch(ws->line.data, n, ws->c->prefix, &r,
							ws->msg, sizeof(ws->msg));

		if (n > 0 && rc == DCS_OK) {
			if (r.created)
				ws->created = true;
			if (r.events > 0 && r.max_mod_revision > ws->rev) {
				notify(ws->c, r.changed);
				ws->rev = r.max_mod_revision;
			}
			if (r.canceled) {
				if (r.compact_revision > 0) {
					rc = DCS_ERR_COMPACTED;
					msgf(ws->msg, sizeof(ws->msg),
					     "watch canceled: compacted at %" PRId64,
					     r.compact_revision);
				} else {
					rc = DCS_ERR_TRANSIENT;
					msgf(ws->msg, sizeof(ws->msg), "watch canceled: %s",
					     r.cancel_reason);
				}
			}
		}
		memmove(ws->line.data, nl + 1, ws->line.len - n - 1);
		ws->line.len -= n + 1;
		ws->line.data[ws->line.len] = '\0';
		if (rc != DCS_OK) {
			if (rc == DCS_ERR_AUTH)
				token_drop(ws->c, ws->token);
			ws->rc = rc;
			return false;
		}
	}
	return true;
}

/* The stall probe on the watch's endpoint: the newest mod_revision under the prefix. */
static int watch_probe(struct watch_state *ws, int64_t *latest_mod)
{
	struct dcs_client *c = ws->c;
	struct buf req, resp;
	int64_t rev;
	int rc;

	buf_init(&req, DCS_REQUEST_MAX);
	buf_init(&resp, DCS_RESPONSE_MAX);
	rc = dcs_codec_range_latest(&req, c->prefix);
	ws->probe.endpoint = ws->endpoint;
	if (rc == DCS_OK)
		rc = call(c, &ws->probe, "/v3/kv/range", &req, &resp,
			  clock_mono_ms() + c->attempt_ms, CALL_PINNED, ws->msg, sizeof(ws->msg));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_range_latest(resp.data, resp.len, &rev, latest_mod, ws->msg,
						  sizeof(ws->msg));
	buf_done(&req);
	buf_done(&resp);
	return rc;
}

static size_t on_watch_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, data, size * n) < 0)
		return 0;
	return size * n;
}

/* Opens the stream from ws->rev + 1 and follows it until it breaks, stalls or stop is asked.
 * Returns true when the reconnect must announce DCS_CHANGE_RESYNC. */
static bool watch_follow(struct watch_state *ws)
{
	struct dcs_client *c = ws->c;
	int64_t interval = c->opts.ttl_ms / 3;
	char url[DCS_FULL_URL_MAX];
	struct curl_slist *headers;
	struct buf req;
	int64_t next_probe, awaited = 0; /* a revision the probe saw and the stream owes us */
	int probe_failures = 0, running = 1;
	bool resync = false;

	if (interval < DCS_PROBE_MIN_MS)
		interval = DCS_PROBE_MIN_MS;
	if (interval > DCS_PROBE_MAX_MS)
		interval = DCS_PROBE_MAX_MS;
	ws->rc = DCS_OK;
	ws->created = false;
	buf_reset(&ws->line);
	buf_init(&req, DCS_REQUEST_MAX);
	if (dcs_codec_watch_create(&req, c->prefix, ws->rev + 1) != DCS_OK ||
	    buf_format(url, sizeof(url), "%s/v3/watch", c->urls[ws->endpoint]) < 0) {
		ws->rc = DCS_ERR_INVALID_ARGUMENT;
		buf_done(&req);
		return true;
	}
	if (auth_wanted(c)) {
		ws->probe.endpoint = ws->endpoint;
		ws->rc = authenticate(c, &ws->probe, clock_mono_ms() + c->opts.retry_timeout_ms,
				      ws->msg, sizeof(ws->msg));
		if (ws->rc != DCS_OK) {
			buf_done(&req);
			return false;
		}
	}
	token_get(c, ws->token, sizeof(ws->token));
	headers = make_headers(ws->token);
	if (headers == NULL) {
		ws->rc = DCS_ERR_NO_MEMORY;
		buf_done(&req);
		return false;
	}
	curl_easy_reset(ws->stream);
	curl_easy_setopt(ws->stream, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ws->stream, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ws->stream, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->opts.cacert[0])
		curl_easy_setopt(ws->stream, CURLOPT_CAINFO, c->opts.cacert);
	if (c->opts.cert[0])
		curl_easy_setopt(ws->stream, CURLOPT_SSLCERT, c->opts.cert);
	if (c->opts.key[0])
		curl_easy_setopt(ws->stream, CURLOPT_SSLKEY, c->opts.key);
	curl_easy_setopt(ws->stream, CURLOPT_URL, url);
	curl_easy_setopt(ws->stream, CURLOPT_POSTFIELDS, req.data);
	curl_easy_setopt(ws->stream, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
	curl_easy_setopt(ws->stream, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(ws->stream, CURLOPT_CONNECTTIMEOUT_MS, (long)c->attempt_ms);
	curl_easy_setopt(ws->stream, CURLOPT_WRITEFUNCTION, on_watch_body);
	curl_easy_setopt(ws->stream, CURLOPT_WRITEDATA, &ws->line);
	curl_multi_add_handle(c->multi, ws->stream);
	next_probe = clock_mono_ms() + interval;
	while (!stopping(c)) {
		struct CURLMsg *m;
		int left;
		bool done = false;

		curl_multi_perform(c->multi, &running);
		if (!watch_lines(ws)) {
			resync = ws->rc == DCS_ERR_COMPACTED;
			break;
		}
		while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
			if (m->msg == CURLMSG_DONE)
				done = true;
			if (done && m->data.result != CURLE_OK)
				msgf(ws->msg, sizeof(ws->msg), "watch stream on %s: %s", url,
				     curl_easy_strerror(m->data.result));
		}
		if (done || running == 0) {
			long http = 0;
			struct dcs_status st;
			if (ws->line.overflow) {
				/* An event too large to take: skip past it (the watch restarts
				 * from now) and have the caller re-read. */
				msgf(ws->msg, sizeof(ws->msg),
				     "watch on %s: a message exceeded %d bytes", url,
				     DCS_WATCH_LINE_MAX);
				ws->rc = DCS_ERR_INVALID_RESPONSE;
				ws->rev = 0;
				resync = true;
				break;
			}
			curl_easy_getinfo(ws->stream, CURLINFO_RESPONSE_CODE, &http);
			dcs_codec_status(http, ws->line.data, ws->line.len, &st);
			if (st.rc != DCS_OK) {
				msgf(ws->msg, sizeof(ws->msg), "watch on %s: %s", url, st.message);
				if (st.reauth)
					token_drop(c, ws->token);
			}
			ws->rc = st.rc != DCS_OK ? st.rc : DCS_ERR_TRANSIENT;
			break;
		}
		if (clock_mono_ms() >= next_probe) {
			int64_t latest = 0;
			int rc = watch_probe(ws, &latest);
			next_probe = clock_mono_ms() + interval;
			if (rc != DCS_OK) {
				if (++probe_failures >= DCS_PROBE_FAILURES_MAX) {
					ws->rc = rc;
					resync = true;
					break;
				}
			} else {
				probe_failures = 0;
				if (awaited != 0 && ws->rev < awaited) {
					/* A change seen one probe ago never came down the
					 * stream: it is stuck. */
					ws->rc = DCS_ERR_TRANSIENT;
					msgf(ws->msg, sizeof(ws->msg),
					     "watch on %s missed revision %" PRId64 ", rebuilding",
					     url, awaited);
					resync = true;
					break;
				}
				/* A newer change may still be in flight: check it next time. */
				awaited = latest > ws->rev ? latest : 0;
			}
		}
		curl_multi_poll(c->multi, NULL, 0, DCS_WATCH_POLL_MS, NULL);
	}
	curl_multi_remove_handle(c->multi, ws->stream);
	curl_easy_setopt(ws->stream, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	buf_done(&req);
	return resync;
}

static void *watch_main(void *arg)
{
	struct watch_state ws = { .c = arg };
	struct dcs_client *c = ws.c;
	int64_t backoff = DCS_WATCH_BACKOFF_MIN_MS;
	bool announce = false;

	buf_init(&ws.line, DCS_WATCH_LINE_MAX);
	ws.probe.curl = conn_handle(c);
	ws.stream = curl_easy_init();
	if (ws.probe.curl == NULL || ws.stream == NULL)
		goto out_free;
	pthread_mutex_lock(&c->lock);
	ws.rev = c->last_read_revision;
	ws.endpoint = c->conn.endpoint;
	pthread_mutex_unlock(&c->lock);
	while (!stopping(c)) {
		if (ws.rev == 0) {
			int64_t latest = 0, rev;
			struct buf req, resp;
			int rc;

			/* Start from now: the caller re-reads on the RESYNC this announces. */
			buf_init(&req, DCS_REQUEST_MAX);
			buf_init(&resp, DCS_RESPONSE_MAX);
			rc = dcs_codec_range_latest(&req, c->prefix);
			ws.probe.endpoint = ws.endpoint;
			if (rc == DCS_OK)
				rc = call(c, &ws.probe, "/v3/kv/range", &req, &resp,
					  clock_mono_ms() + c->opts.retry_timeout_ms, 0, ws.msg,
					  sizeof(ws.msg));
			if (rc == DCS_OK)
				rc = dcs_codec_parse_range_latest(resp.data, resp.len, &rev,
								  &latest, ws.msg, sizeof(ws.msg));
			ws.endpoint = ws.probe.endpoint;
			buf_done(&req);
			buf_done(&resp);
			if (rc != DCS_OK) {
				log_debug("dcs watch: %s, retrying", ws.msg);
				if (pause_unless_stopped(c, backoff))
					break;
				backoff = backoff * 2 > DCS_WATCH_BACKOFF_MAX_MS
						  ? DCS_WATCH_BACKOFF_MAX_MS
						  : backoff * 2;
				continue;
			}
			ws.rev = rev;
			announce = true;
		}
		if (announce) {
			notify(c, DCS_CHANGE_RESYNC);
			announce = false;
		}
		announce = watch_follow(&ws);
		if (stopping(c))
			break;
		log_debug("dcs watch: %s (%s), reconnecting", ws.msg, dcs_error_name(ws.rc));
		if (ws.rc == DCS_ERR_COMPACTED)
			ws.rev = 0;
		if (ws.created && !announce) {
			/* A stream that worked and just ended: reconnect to the same endpoint. */
			backoff = DCS_WATCH_BACKOFF_MIN_MS;
			if (pause_unless_stopped(c, backoff))
				break;
		} else {
			ws.endpoint = (ws.endpoint + 1) % c->n_urls;
			if (pause_unless_stopped(c, backoff))
				break;
			backoff = backoff * 2 > DCS_WATCH_BACKOFF_MAX_MS ? DCS_WATCH_BACKOFF_MAX_MS
									 : backoff * 2;
		}
	}
out_free:
	if (ws.stream)
		curl_easy_cleanup(ws.stream);
	if (ws.probe.curl)
		curl_easy_cleanup(ws.probe.curl);
	buf_done(&ws.line);
	return NULL;
}

int dcs_watch_start(struct dcs_client *c, char *msg, size_t msglen)
{
	int err;

	pthread_mutex_lock(&c->watch_lock);
	if (c->watch_running) {
		pthread_mutex_unlock(&c->watch_lock);
		return DCS_OK;
	}
	c->stop = false;
	err = pthread_create(&c->watch_thread, NULL, watch_main, c);
	if (err == 0)
		c->watch_running = true;
	pthread_mutex_unlock(&c->watch_lock);
	if (err != 0) {
		msgf(msg, msglen, "could not start the watch thread: %s", strerror(err));
		return DCS_ERR_NO_MEMORY;
	}
	return DCS_OK;
}

static void watch_stop(struct dcs_client *c)
{
	bool running;

	pthread_mutex_lock(&c->watch_lock);
	running = c->watch_running;
	c->stop = true;
	pthread_cond_broadcast(&c->watch_cond);
	pthread_mutex_unlock(&c->watch_lock);
	if (!running)
		return;
	curl_multi_wakeup(c->multi);
	pthread_join(c->watch_thread, NULL);
	c->watch_running = false;
}
