/*
 * rest_client.h - the one client for talking to members' REST APIs, used by the agent (leader
 * race probes, failsafe acknowledgements) and by gsctl (every command that calls a member).
 *
 * It carries the REST security settings, so a cluster with restapi.authentication, a private CA
 * or verify_client works between its own members: Basic credentials, the CA that signs the
 * members' certificates, and a client certificate with its key. Only http and https URLs are
 * followed (never a redirect to another protocol), proxies from the environment are ignored
 * (members are on the cluster network), every request is bounded by its timeout and every answer
 * by a size limit. libcurl stays inside rest_client.c.
 *
 * Which settings a member uses (Patroni's request.py, patroni-compat.md 1.2): the ctl section,
 * each value falling back to the restapi section's (ctl.authentication or
 * restapi.authentication; ctl.certfile/keyfile/keyfile_password or restapi's; ctl.cacert or
 * restapi.cafile). config/ applies that rule (cfg_member_auth) and fills struct member_auth.
 */
#ifndef GSHA_REST_CLIENT_H
#define GSHA_REST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "member_auth.h"

/* Default cap of an answer: member documents and action texts are a few hundred bytes, /cluster
 * and /config a few kilobytes. */
#define REST_CLIENT_RESPONSE_MAX 65536
/* A transport error message ("Connection refused", a TLS handshake failure, ...). */
#define REST_CLIENT_ERR_MAX 256
/* The "lsn" header of a POST /failsafe answer. */
#define REST_CLIENT_HEADER_MAX 64
/* Requests one rest_client_call_all may run at once. */
#define REST_CLIENT_PARALLEL_MAX 64

/* How to reach the members (the settings cfg_member_auth() resolves). Zeroed memory is valid. */
struct rest_client_options {
	struct member_auth auth;
};

/* One request. Strings are the caller's and must live until the call returns. */
struct rest_client_request {
	const char *method;  /* "GET", "POST", "PATCH", ... */
	const char *url;     /* http:// or https:// only */
	const char *body;    /* JSON sent with Content-Type: application/json; NULL: none */
	int64_t timeout_ms;  /* the whole exchange, connect included */
	size_t response_max; /* largest answer body accepted; 0 = REST_CLIENT_RESPONSE_MAX */
};

/* What came back. */
struct rest_client_reply {
	int rc;		 /* 0: an answer came (status is valid); else -ETIMEDOUT, -EHOSTUNREACH,
		     * -EPROTONOSUPPORT (not http/https), -EMSGSIZE (answer too large), -ENOMEM,
		     * -EINVAL or -EIO, with err saying what happened */
	int status;	 /* HTTP status of the answer */
	struct buf body; /* the answer's body; release with rest_client_reply_done */
	char lsn[REST_CLIENT_HEADER_MAX]; /* the "lsn" header, if any (POST /failsafe) */
	char err[REST_CLIENT_ERR_MAX];	  /* transport error, when rc != 0 */
};

/* Sends one request and waits for its answer (at most req->timeout_ms). Initialises *reply
 * (release it with rest_client_reply_done whatever happened) and returns reply->rc. */
int rest_client_call(const struct rest_client_options *opts, const struct rest_client_request *req,
		     struct rest_client_reply *reply);

/* Sends count requests (at most REST_CLIENT_PARALLEL_MAX) at once and waits until each has
 * answered or reached its own timeout; reply[i] is the answer to req[i], initialised as by
 * rest_client_call (release each with rest_client_reply_done). Requests beyond the limit fail
 * with -E2BIG. */
void rest_client_call_all(const struct rest_client_options *opts,
			  const struct rest_client_request *req, int count,
			  struct rest_client_reply *reply);

/* Frees a reply's body; accepts a zeroed reply. */
void rest_client_reply_done(struct rest_client_reply *reply);

/* Writes "<scheme>://<host:port><path>" for a member whose api_url is
 * "<scheme>://<host:port>/patroni" (any path) into out (cap bytes). Returns 0, -EINVAL when
 * api_url is not an http or https URL, or -ENAMETOOLONG. */
int rest_client_member_url(const char *api_url, const char *path, char *out, size_t cap)
	__attribute__((warn_unused_result));

#endif
