/*
 * ctl_io.c - gsctl's REST calls to members, through the member client (rest_client.h) that the
 * agent uses too: one blocking call each, bounded by a timeout, the reply capped at
 * CTL_HTTP_RESPONSE_MAX.
 */
#include <errno.h>
#include <string.h>

#include "ctl_io.h"
#include "err.h"
#include "rest_client.h"

int ctl_http_call(const struct member_auth *auth, const char *method, const char *url,
		  const char *body, int64_t timeout_ms, int *status, struct buf *resp, char *err,
		  size_t errlen)
{
	struct rest_client_options opts = { .auth = *auth };
	struct rest_client_request req = { .method = method,
					   .url = url,
					   .body = body,
					   .timeout_ms = timeout_ms,
					   .response_max = CTL_HTTP_RESPONSE_MAX };
	struct rest_client_reply reply;
	int rc;

	rc = rest_client_call(&opts, &req, &reply);
	if (rc == 0) {
		rc = buf_append(resp, reply.body.data != NULL ? reply.body.data : "",
				reply.body.len);
		if (rc == 0)
			*status = reply.status;
		else
			err_set(err, errlen, "the answer does not fit");
	} else {
		err_set(err, errlen, "%s", reply.err);
		/* Callers tell "no answer" apart by these three codes. */
		if (rc != -ETIMEDOUT && rc != -EHOSTUNREACH)
			rc = -EIO;
	}
	rest_client_reply_done(&reply);
	return rc;
}
