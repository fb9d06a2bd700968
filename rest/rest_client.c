/*
 * rest_client.c - the member client (rest_client.h) over libcurl: one easy handle per request,
 * set up in one place with the security settings, run alone (gsctl) or in parallel through a
 * multi handle (the agent's probes and failsafe acknowledgements).
 */
#include "rest_client.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "curl_api.h"
#include "curl_init.h"
#include "err.h"

/* The connection itself is given at most this long, whatever the request's timeout. */
#define CONNECT_TIMEOUT_MAX_MS 5000

/* One transfer: the caller's request and reply, and curl's handle and header list. */
struct transfer {
	const struct rest_client_request *req;
	struct rest_client_reply *reply;
	CURL *easy;
	struct curl_slist *headers;
	char curl_err[CURL_ERROR_SIZE];
};

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
	struct rest_client_reply *r = user;

	/* Returning less than given makes curl fail the transfer: an oversized answer is an error. */
	if (buf_append(&r->body, data, size * n) != 0)
		return 0;
	return size * n;
}

/* Keeps the "lsn" header (POST /failsafe); every other header is ignored. */
static size_t on_header(char *data, size_t size, size_t n, void *user)
{
	struct rest_client_reply *r = user;
	size_t len = size * n, vlen;
	const char *v;

	if (len < 4 || strncasecmp(data, "lsn:", 4) != 0)
		return len;
	v = data + 4;
	vlen = len - 4;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (vlen < sizeof(r->lsn)) {
		memcpy(r->lsn, v, vlen);
		r->lsn[vlen] = '\0';
	}
	return len;
}

static bool url_allowed(const char *url)
{
	return url != NULL &&
	       (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

static int64_t connect_timeout_ms(int64_t timeout_ms)
{
	return timeout_ms < CONNECT_TIMEOUT_MAX_MS ? timeout_ms : CONNECT_TIMEOUT_MAX_MS;
}

/* Prepares t->easy for t->req with every security setting. Returns 0, or a negative errno with
 * t->reply->rc and err set. */
static int transfer_setup(const struct rest_client_options *o, struct transfer *t)
{
	const struct rest_client_request *req = t->req;
	struct rest_client_reply *r = t->reply;
	CURL *c;

	if (!url_allowed(req->url))
		return r->rc = err_fail(r->err, sizeof(r->err), -EPROTONOSUPPORT,
					"\"%s\" is not an http or https URL",
					req->url != NULL ? req->url : "");
	if (req->method == NULL || req->timeout_ms <= 0)
		return r->rc = err_fail(r->err, sizeof(r->err), -EINVAL, "bad request");
	if (curl_init_once(r->err, sizeof(r->err)) != 0)
		return r->rc = -ENOMEM;
	c = t->easy = curlapi->curl_easy_init();
	if (c == NULL)
		return r->rc = err_fail(r->err, sizeof(r->err), -ENOMEM,
					"could not start a HTTP client");
	curlapi->curl_easy_setopt(c, CURLOPT_URL, req->url);
	curlapi->curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curlapi->curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curlapi->curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curlapi->curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curlapi->curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curlapi->curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curlapi->curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				  (long)connect_timeout_ms(req->timeout_ms));
	curlapi->curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->curl_err);
	curlapi->curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curlapi->curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curlapi->curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curlapi->curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(req->method, "HEAD") == 0)
		curlapi->curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
		curlapi->curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		t->headers = curlapi->curl_slist_append(NULL, "Content-Type: application/json");
		if (t->headers == NULL)
			return r->rc = err_fail(r->err, sizeof(r->err), -ENOMEM, "out of memory");
		curlapi->curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
		curlapi->curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curlapi->curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
	} else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		curlapi->curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curlapi->curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (o->auth.username[0] != '\0') {
		curlapi->curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curlapi->curl_easy_setopt(c, CURLOPT_USERNAME, o->auth.username);
		curlapi->curl_easy_setopt(c, CURLOPT_PASSWORD, o->auth.password);
	}
	if (o->auth.insecure) {
		curlapi->curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curlapi->curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (o->auth.cafile[0] != '\0') {
		/* the one CA to trust, as with etcd3.cacert (dcs_transport.c): not the system's too */
		curlapi->curl_easy_setopt(c, CURLOPT_CAINFO, o->auth.cafile);
		curlapi->curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (o->auth.certfile[0] != '\0') {
		curlapi->curl_easy_setopt(c, CURLOPT_SSLCERT, o->auth.certfile);
		if (o->auth.keyfile[0] != '\0')
			curlapi->curl_easy_setopt(c, CURLOPT_SSLKEY, o->auth.keyfile);
		if (o->auth.keyfile_password[0] != '\0')
			curlapi->curl_easy_setopt(c, CURLOPT_KEYPASSWD, o->auth.keyfile_password);
	}
	return 0;
}

/* Turns curl's result into reply->rc/status/err. */
static void transfer_finish(struct transfer *t, CURLcode cc)
{
	struct rest_client_reply *r = t->reply;
	long code = 0;

	if (cc == CURLE_OK) {
		curlapi->curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
		r->status = (int)code;
		r->rc = 0;
		r->err[0] = '\0';
		return;
	}
	err_set(r->err, sizeof(r->err), "%s",
		t->curl_err[0] != '\0' ? t->curl_err : curlapi->curl_easy_strerror(cc));
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		r->rc = -ETIMEDOUT;
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		r->rc = -EHOSTUNREACH;
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		r->rc = -EPROTONOSUPPORT;
		break;
	case CURLE_WRITE_ERROR:
		if (r->body.overflow) {
			r->rc = -EMSGSIZE;
			err_set(r->err, sizeof(r->err), "the answer is larger than %zu bytes",
				r->body.limit);
			break;
		}
		/* fall through */
	default:
		r->rc = -EIO;
	}
}

static void transfer_done(struct transfer *t)
{
	if (t->easy != NULL)
		curlapi->curl_easy_cleanup(t->easy);
	curlapi->curl_slist_free_all(t->headers);
	t->easy = NULL;
	t->headers = NULL;
}

static void reply_init(struct rest_client_reply *r, const struct rest_client_request *req)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, req->response_max != 0 ? req->response_max : REST_CLIENT_RESPONSE_MAX);
	r->rc = err_fail(r->err, sizeof(r->err), -EIO, "no answer");
}

int rest_client_call(const struct rest_client_options *opts, const struct rest_client_request *req,
		     struct rest_client_reply *reply)
{
	struct transfer t = { .req = req, .reply = reply };

	reply_init(reply, req);
	if (transfer_setup(opts, &t) == 0)
		transfer_finish(&t, curlapi->curl_easy_perform(t.easy));
	transfer_done(&t);
	return reply->rc;
}

void rest_client_call_all(const struct rest_client_options *opts,
			  const struct rest_client_request *req, int count,
			  struct rest_client_reply *reply)
{
	struct transfer t[REST_CLIENT_PARALLEL_MAX];
	int running = 0, n = count < REST_CLIENT_PARALLEL_MAX ? count : REST_CLIENT_PARALLEL_MAX;
	CURLM *multi = curlapi->curl_multi_init();
	CURLMsg *msg;
	int left;

	for (int i = 0; i < count; i++) {
		reply_init(&reply[i], &req[i]);
		if (i >= n || multi == NULL)
			reply[i].rc = err_fail(reply[i].err, sizeof(reply[i].err),
					       i >= n ? -E2BIG : -ENOMEM,
					       i >= n ? "too many requests at once"
						      : "could not start a HTTP client");
	}
	if (multi == NULL)
		return;
	for (int i = 0; i < n; i++) {
		t[i] = (struct transfer){ .req = &req[i], .reply = &reply[i] };
		if (transfer_setup(opts, &t[i]) == 0 &&
		    curlapi->curl_multi_add_handle(multi, t[i].easy) != CURLM_OK) {
			reply[i].rc = err_fail(reply[i].err, sizeof(reply[i].err), -ENOMEM,
					       "could not start a HTTP request");
			transfer_done(&t[i]);
		}
	}
	/* Each transfer ends by its own timeout, so this loop ends too. */
	do {
		if (curlapi->curl_multi_perform(multi, &running) != CURLM_OK)
			break;
		if (running > 0 && curlapi->curl_multi_poll(multi, NULL, 0, 100, NULL) != CURLM_OK)
			break;
	} while (running > 0);
	while ((msg = curlapi->curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (int i = 0; i < n; i++) {
			if (t[i].easy == msg->easy_handle) {
				transfer_finish(&t[i], msg->data.result);
				break;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (t[i].easy != NULL)
			curlapi->curl_multi_remove_handle(multi, t[i].easy);
		transfer_done(&t[i]);
	}
	curlapi->curl_multi_cleanup(multi);
}

void rest_client_reply_done(struct rest_client_reply *reply)
{
	buf_done(&reply->body);
}

int rest_client_member_url(const char *api_url, const char *path, char *out, size_t cap)
{
	const char *host, *end;
	size_t n, plen = strlen(path);

	if (!url_allowed(api_url))
		return -EINVAL;
	host = strstr(api_url, "://") + 3;
	end = host + strcspn(host, "/?#");
	if (end == host)
		return -EINVAL;
	n = (size_t)(end - api_url);
	if (n + plen + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, api_url, n);
	memcpy(out + n, path, plen + 1);
	return 0;
}
