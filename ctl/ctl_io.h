/*
 * ctl_io.h - gsctl's thin I/O half: REST calls to the members' APIs through the member client
 * (rest_client.h, the one the agent uses), with timeouts, Basic auth and TLS settings from the
 * ctl/restapi sections.
 */
#ifndef GSHA_CTL_IO_H
#define GSHA_CTL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ctl.h"
#include "member_auth.h"

#define CTL_HTTP_RESPONSE_MAX 65536 /* the largest REST reply read */

/*
 * Sends method url with body, authenticated as auth says (cfg_member_auth), (JSON, may be NULL for none) and waits at most timeout_ms.
 * On a reply writes its status into *status and its body into resp (appended) and returns 0;
 * when no reply came (refused, timeout, TLS) returns -EHOSTUNREACH, -ETIMEDOUT or -EIO with a
 * message in err.
 */
int ctl_http_call(const struct member_auth *auth, const char *method, const char *url,
		  const char *body, int64_t timeout_ms, int *status, struct buf *resp, char *err,
		  size_t errlen) __attribute__((warn_unused_result));

#endif
