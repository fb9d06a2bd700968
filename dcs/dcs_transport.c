/*
 * dcs_transport.c - the thin libcurl half of the etcd client: construction, endpoints, timeouts,
 * authentication, one RPC across endpoints.
 *
 * Every public call takes one deadline of retry_timeout and spends it across endpoints: each
 * attempt has a connect timeout and a total timeout cut from it; a connection failure, timeout,
 * 5xx or garbage moves on to the next endpoint. Definite answers (compare failed, lease not
 * found, permission denied, wrong password) come back at once. JSON lives in dcs_codec.c and
 * dcs_docs.c, the public calls in dcs.c, the watch in dcs_watch.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "curl_init.h"
#include "dcs_internal.h"
#include "err.h"
#include "log.h"
#include "name.h"

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

void dcs_conn_setup(const struct dcs_client *c, CURL *h)
{
	curlapi->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curlapi->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curlapi->curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curlapi->curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curlapi->curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (c->opts.cacert[0]) {
		curlapi->curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.cacert);
		/* etcd3.cacert is the one CA to trust, as in Patroni (Python's ssl loads the system
		 * store only when no CA is given). Debian's libcurl would also load every certificate
		 * in /etc/ssl/certs for each connection: about 5 MB per handle on GnuTLS. */
		curlapi->curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (c->opts.cert[0])
		curlapi->curl_easy_setopt(h, CURLOPT_SSLCERT, c->opts.cert);
	if (c->opts.key[0])
		curlapi->curl_easy_setopt(h, CURLOPT_SSLKEY, c->opts.key);
}

CURL *dcs_conn_handle(const struct dcs_client *c)
{
	CURL *h = curlapi->curl_easy_init();

	if (h != NULL)
		dcs_conn_setup(c, h);
	return h;
}

/* libcurl's progress callback on the keepalive connections: a nonzero return ends the transfer
 * (CURLE_ABORTED_BY_CALLBACK) once the call's cancel flag is set. */
static int side_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	const struct dcs_conn *k = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return k->cancel != NULL && atomic_load(k->cancel) ? 1 : 0;
}

/* The keepalive connections: handles whose transfers a cancel flag can end. */
static int side_init(struct dcs_client *c)
{
	for (int i = 0; i < DCS_KEEPALIVE_CONNS; i++) {
		struct dcs_conn *k = &c->side[i].conn;

		k->curl = dcs_conn_handle(c);
		if (k->curl == NULL)
			return -ENOMEM;
		curlapi->curl_easy_setopt(k->curl, CURLOPT_XFERINFOFUNCTION, side_progress);
		curlapi->curl_easy_setopt(k->curl, CURLOPT_XFERINFODATA, k);
		curlapi->curl_easy_setopt(k->curl, CURLOPT_NOPROGRESS, 0L);
	}
	return 0;
}

static void side_done(struct dcs_client *c)
{
	for (int i = 0; i < DCS_KEEPALIVE_CONNS; i++)
		if (c->side[i].conn.curl != NULL)
			curlapi->curl_easy_cleanup(c->side[i].conn.curl);
}

struct dcs_client *dcs_client_new(const struct dcs_options *opts, char *err, size_t errlen)
{
	struct dcs_client *c;
	pthread_condattr_t ca;
	int n;

	if (curl_init_once(err, errlen) != 0)
		return NULL;
	if (opts->endpoint_count < 1 || opts->endpoint_count > DCS_ENDPOINTS_MAX) {
		err_set(err, errlen, "etcd3: between 1 and %d hosts are required",
			DCS_ENDPOINTS_MAX);
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
		err_set(err, errlen, "etcd3: an option is not terminated");
		return NULL;
	}
	if (opts->protocol[0] && strcmp(opts->protocol, "http") != 0 &&
	    strcmp(opts->protocol, "https") != 0) {
		err_set(err, errlen, "etcd3: protocol \"%s\" must be \"http\" or \"https\"",
			opts->protocol);
		return NULL;
	}
	if (opts->name[0] != '\0' && !member_name_valid(opts->name)) {
		err_set(err, errlen, "member name \"%s\" has control characters", opts->name);
		return NULL;
	}
	if (opts->scope[0] == '\0' || strchr(opts->name, '/')) {
		err_set(err, errlen, "scope is required and the member name may not contain \"/\"");
		return NULL;
	}
	/* The config module holds ttl to etcd's minimum lease (2 s) and retry_timeout to 100 ms;
	 * these are the client's own floors (docs/timing.md, "The fast profile"). */
	if (opts->ttl_ms < 1000 || opts->retry_timeout_ms < DCS_RETRY_TIMEOUT_MIN_MS) {
		err_set(err, errlen, "ttl must be at least 1 s and retry_timeout at least %d ms",
			DCS_RETRY_TIMEOUT_MIN_MS);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	c->opts = *opts;
	if (dcs_make_prefix(opts->namespace, opts->scope, c->prefix, sizeof(c->prefix)) < 0) {
		err_set(err, errlen, "namespace and scope make a key prefix that is too long");
		goto out_free_c;
	}
	for (n = 0; n < opts->endpoint_count; n++) {
		if (!terminated(opts->endpoints[n], DCS_URL_MAX) ||
		    make_url(opts->endpoints[n], opts->protocol, c->urls[n], DCS_URL_MAX) < 0) {
			err_set(err, errlen,
				"etcd3: host \"%.*s\" is not \"host:port\" or an http(s) URL",
				DCS_URL_MAX, opts->endpoints[n]);
			goto out_free_c;
		}
	}
	c->n_urls = n;
	c->attempt_ms = opts->retry_timeout_ms / (n > DCS_ATTEMPTS_MIN ? n : DCS_ATTEMPTS_MIN);
	if (c->attempt_ms < DCS_ATTEMPT_MIN_MS)
		c->attempt_ms = DCS_ATTEMPT_MIN_MS;
	c->conn.curl = dcs_conn_handle(c);
	c->multi = curlapi->curl_multi_init();
	if (c->conn.curl == NULL || side_init(c) != 0 || c->multi == NULL) {
		err_set(err, errlen, "could not create a libcurl handle");
		goto out_free_curl;
	}
	pthread_mutex_init(&c->lock, NULL);
	for (int i = 0; i < DCS_KEEPALIVE_CONNS; i++)
		pthread_mutex_init(&c->side[i].lock, NULL);
	pthread_mutex_init(&c->token_lock, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	pthread_mutex_init(&c->watch_lock, NULL);
	pthread_mutex_init(&c->view_lock, NULL);
	dcs_view_init(&c->view);
	/* Without an eventfd the HA loop still wakes on its deadline; dcs_wake_fd says -1. */
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->watch_cond, &ca);
	pthread_condattr_destroy(&ca);
	return c;
out_free_curl:
	if (c->multi)
		curlapi->curl_multi_cleanup(c->multi);
	if (c->conn.curl)
		curlapi->curl_easy_cleanup(c->conn.curl);
	side_done(c);
out_free_c:
	free(c);
	return NULL;
}

void dcs_client_free(struct dcs_client *c)
{
	if (c == NULL)
		return;
	dcs_watch_stop(c);
	curlapi->curl_multi_cleanup(c->multi);
	curlapi->curl_easy_cleanup(c->conn.curl);
	side_done(c);
	pthread_mutex_destroy(&c->lock);
	for (int i = 0; i < DCS_KEEPALIVE_CONNS; i++)
		pthread_mutex_destroy(&c->side[i].lock);
	pthread_mutex_destroy(&c->token_lock);
	pthread_mutex_destroy(&c->stats_lock);
	pthread_mutex_destroy(&c->watch_lock);
	pthread_cond_destroy(&c->watch_cond);
	pthread_mutex_destroy(&c->view_lock);
	dcs_view_done(&c->view);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
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

size_t dcs_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, data, size * n) < 0)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	return size * n;
}

void dcs_token_get(struct dcs_client *c, char *out, size_t cap)
{
	pthread_mutex_lock(&c->token_lock);
	if (buf_copy(out, cap, c->token) < 0)
		out[0] = '\0';
	pthread_mutex_unlock(&c->token_lock);
}

/* Forgets token if it is still the current one (another thread may have refreshed it). */
void dcs_token_drop(struct dcs_client *c, const char *token)
{
	pthread_mutex_lock(&c->token_lock);
	if (strcmp(c->token, token) == 0)
		c->token[0] = '\0';
	pthread_mutex_unlock(&c->token_lock);
}

struct curl_slist *dcs_http_headers(const char *token)
{
	char auth[DCS_AUTH_HEADER_MAX];
	struct curl_slist *h = NULL, *t;

	h = curlapi->curl_slist_append(h, "Content-Type: application/json");
	if (h == NULL)
		return NULL;
	t = curlapi->curl_slist_append(h, "Expect:");
	if (t == NULL)
		goto out_free_h;
	h = t;
	if (token[0]) {
		if (buf_format(auth, sizeof(auth), "Authorization: %s", token) < 0)
			goto out_free_h;
		t = curlapi->curl_slist_append(h, auth);
		if (t == NULL)
			goto out_free_h;
		h = t;
	}
	return h;
out_free_h:
	curlapi->curl_slist_free_all(h);
	return NULL;
}

/* Sends body (NULL: GET) to url within timeout_ms. Returns DCS_OK with *http set, or
 * DCS_ERR_TRANSIENT (no answer) / DCS_ERR_INVALID_RESPONSE (too large) with msg. */
static int perform(CURL *h, const char *url, const struct buf *req, const char *token,
		   int64_t timeout_ms, struct buf *resp, long *http, char *msg, size_t msglen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = dcs_http_headers(token);
	int64_t connect_ms = timeout_ms / 2 > DCS_ATTEMPT_MIN_MS ? timeout_ms / 2 : timeout_ms;
	CURLcode cc;

	if (headers == NULL) {
		err_set(msg, msglen, "out of memory");
		return DCS_ERR_NO_MEMORY;
	}
	buf_reset(resp);
	curlapi->curl_easy_setopt(h, CURLOPT_URL, url);
	if (req != NULL) {
		curlapi->curl_easy_setopt(h, CURLOPT_POST, 1L);
		curlapi->curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->data ? req->data : "");
		curlapi->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	} else {
		curlapi->curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curlapi->curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curlapi->curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
	curlapi->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
				  (long)(connect_ms > 0 ? connect_ms : 1));
	curlapi->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dcs_on_body);
	curlapi->curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curlapi->curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	cc = curlapi->curl_easy_perform(h);
	curlapi->curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curlapi->curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curlapi->curl_slist_free_all(headers);
	if (cc == CURLE_WRITE_ERROR && resp->overflow) {
		err_set(msg, msglen, "%s: reply larger than %zu bytes", url, resp->limit);
		return DCS_ERR_INVALID_RESPONSE;
	}
	if (cc != CURLE_OK) {
		curl_off_t tcp_us = 0, tls_us = 0;

		/* etcd refusing a client certificate may just reset the connection, and curl then
		 * speaks of sockets: say which step failed, and what to check. */
		curlapi->curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &tcp_us);
		curlapi->curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_us);
		long answered = 0;

		curlapi->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answered);
		if (strncmp(url, "https:", 6) == 0 && tcp_us > 0 && tls_us == 0)
			err_set(msg, msglen,
				"%s: TLS handshake failed (check etcd3.cacert, etcd3.cert and "
				"etcd3.key): %s",
				url, errbuf[0] ? errbuf : curlapi->curl_easy_strerror(cc));
		else if (strncmp(url, "https:", 6) == 0 && tls_us > 0 && answered == 0)
			/* TLS 1.3: the server checks the client certificate after the client's side
			 * of the handshake is done, and refuses it by closing the connection. */
			err_set(msg, msglen,
				"%s: the TLS connection was closed before any answer (a client "
				"certificate etcd refused? check etcd3.cert and etcd3.key): %s",
				url, errbuf[0] ? errbuf : curlapi->curl_easy_strerror(cc));
		else
			err_set(msg, msglen, "%s: %s", url,
				errbuf[0] ? errbuf : curlapi->curl_easy_strerror(cc));
		return DCS_ERR_TRANSIENT;
	}
	curlapi->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, http);
	return DCS_OK;
}

/* ---- one RPC across endpoints ---------------------------------------------------------------- */

bool dcs_auth_wanted(struct dcs_client *c)
{
	bool wanted;

	if (c->opts.username[0] == '\0')
		return false;
	pthread_mutex_lock(&c->token_lock);
	wanted = c->token[0] == '\0' && !c->auth_disabled;
	pthread_mutex_unlock(&c->token_lock);
	return wanted;
}

void dcs_get_stats(struct dcs_client *c, struct dcs_stats *out)
{
	pthread_mutex_lock(&c->stats_lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->stats_lock);
}

static int call_endpoints(struct dcs_client *c, struct dcs_conn *k, const char *path,
			  const struct buf *req, struct buf *resp, int64_t deadline_ms, int flags,
			  char *msg, size_t msglen);

/* Runs path (e.g. "/v3/kv/range") with body req (NULL: GET) until it gets an answer that is not
 * transient or the deadline passes. On DCS_OK, resp holds a 2xx body. Counted in the stats. */
int dcs_call(struct dcs_client *c, struct dcs_conn *k, const char *path, const struct buf *req,
	     struct buf *resp, int64_t deadline_ms, int flags, char *msg, size_t msglen)
{
	int64_t t0 = clock_mono_us();
	int rc = call_endpoints(c, k, path, req, resp, deadline_ms, flags, msg, msglen);
	int64_t took = clock_mono_us() - t0;

	pthread_mutex_lock(&c->stats_lock);
	histogram_observe_us(&c->stats.latency, took);
	/* A failed compare is an answer the caller asked for, not an error. */
	if (rc != DCS_OK && rc != DCS_ERR_CONFLICT)
		c->stats.errors++;
	pthread_mutex_unlock(&c->stats_lock);
	return rc;
}

/* How long one attempt may take, with remaining ms left and tried endpoints already failed in
 * this round: attempt_ms, or with CALL_SPREAD (dcs_internal.h) the time left shared among the
 * endpoints still to try if that is longer; never more than remaining. */
static int64_t attempt_bound(const struct dcs_client *c, int flags, int64_t remaining, int tried)
{
	int64_t b = c->attempt_ms;
	int left = c->n_urls - tried;

	if ((flags & CALL_SPREAD) && left > 0 && remaining / left > b)
		b = remaining / left;
	return remaining < b ? remaining : b;
}

static int call_endpoints(struct dcs_client *c, struct dcs_conn *k, const char *path,
			  const struct buf *req, struct buf *resp, int64_t deadline_ms, int flags,
			  char *msg, size_t msglen)
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
		if (k->cancel != NULL && atomic_load(k->cancel)) {
			err_set(last, sizeof(last), "cancelled");
			break;
		}
		if (!(flags & CALL_NO_AUTH) && dcs_auth_wanted(c)) {
			rc = dcs_authenticate(c, k, deadline_ms, last, sizeof(last));
			if (rc != DCS_OK && !dcs_error_is_transient(rc)) {
				err_set(msg, msglen, "%s", last);
				return rc;
			}
			if (rc != DCS_OK)
				break; /* authenticate spent the deadline across endpoints */
		}
		token[0] = '\0';
		if (!(flags & CALL_NO_AUTH))
			dcs_token_get(c, token, sizeof(token));
		if (buf_format(url, sizeof(url), "%s%s", c->urls[k->endpoint], path) < 0) {
			err_set(msg, msglen, "request URL too long");
			return DCS_ERR_INVALID_ARGUMENT;
		}
		rc = perform(k->curl, url, req, token, attempt_bound(c, flags, remaining, tried),
			     resp, &http, last, sizeof(last));
		if (rc == DCS_OK) {
			dcs_codec_status(http, resp->data, resp->len, &st);
			if (st.rc == DCS_OK) {
				int64_t rev;
				/* Every 2xx reply is one JSON object with a well-typed header, or
				 * this endpoint is not a sane etcd: try the next one. */
				rc = dcs_codec_parse_header(resp->data, resp->len, &rev, st.message,
							    sizeof(st.message));
				if (rc == DCS_OK && rev == 0)
					rev = dcs_view_reply_revision(resp->data, resp->len);
				if (rc == DCS_OK && rev > 0) {
					atomic_store(&c->seen_revision, rev);
					atomic_store(&c->seen_ms, clock_mono_ms());
				}
				if (rc == DCS_OK)
					return DCS_OK;
				st.rc = rc;
			}
			if (st.reauth && c->opts.username[0] && !(flags & CALL_NO_AUTH) &&
			    !reauthed) {
				log_debug("dcs: %s rejected the auth token (%s), re-authenticating",
					  url, st.message);
				reauthed = true;
				dcs_token_drop(c, token);
				/* Auth may have been enabled since etcd said it was not. */
				pthread_mutex_lock(&c->token_lock);
				c->auth_disabled = false;
				pthread_mutex_unlock(&c->token_lock);
				continue;
			}
			rc = st.rc;
			if (rc == DCS_ERR_AUTH && st.reauth && c->opts.username[0] == '\0')
				err_set(last, sizeof(last),
					"%s: %s (etcd requires authentication: set etcd3.username)",
					url, st.message);
			else
				err_set(last, sizeof(last), "%s: %s", url, st.message);
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
		err_set(msg, msglen, "%s (first failure: %s)", last, first);
	else
		err_set(msg, msglen, "%s", last);
	return rc;
}

int dcs_authenticate(struct dcs_client *c, struct dcs_conn *k, int64_t deadline_ms, char *msg,
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
		err_set(msg, msglen, "could not build the authenticate request");
		goto out_free_bufs;
	}
	rc = dcs_call(c, k, "/v3/auth/authenticate", &req, &resp, deadline_ms, CALL_NO_AUTH, why,
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
		err_set(msg, msglen, "could not authenticate to etcd as user \"%s\": %s",
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

void dcs_op_begin(struct dcs_op *o, struct dcs_client *c, char *msg, size_t msglen)
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

int dcs_op_end(struct dcs_op *o, int rc)
{
	pthread_mutex_unlock(&o->c->lock);
	buf_done(&o->req);
	buf_done(&o->resp);
	return rc;
}

int dcs_op_call(struct dcs_op *o, const char *path, int built)
{
	if (built != DCS_OK) {
		err_set(o->msg, o->msglen, "could not build the %s request: value too large", path);
		return built;
	}
	return dcs_call(o->c, &o->c->conn, path, &o->req, &o->resp, o->deadline_ms, 0, o->msg,
			o->msglen);
}

int dcs_key_of(const struct dcs_client *c, const char *suffix, char *key, size_t cap)
{
	return buf_format(key, cap, "%s%s", c->prefix, suffix) < 0 ? DCS_ERR_INVALID_ARGUMENT
								   : DCS_OK;
}
