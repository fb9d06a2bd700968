/*
 * rest_render.c - the entry of the pure half of the REST API: request + snapshot -> status
 * code and body. Routing by method and first path segment, and the access check of unsafe
 * requests (allow-list, client certificate, Basic authentication) before any action runs.
 *
 * No sockets, no threads, no clock: the caller passes now_mono_ms/now_wall_ms in the request.
 * The only side effects are the action callbacks, which the caller injects. Everything follows
 * Patroni 4.x as recorded in patroni-compat.md section 1, with one deliberate difference: the
 * primary checks also require the leader lease deadline to lie in the future. The pages live in
 * rest_health.c, rest_monitor.c and rest_actions.c; the writing in rest_output.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "num.h"
#include "rest.h"
#include "rest_internal.h"
#include "zpages.h"

/* ---- access control (patroni-compat.md 1.2) ---- */

static bool cidr_contains(const struct rest_cidr *c, int family, const unsigned char *addr)
{
	int bits = c->prefix_len;
	int i = 0;

	if (c->family != family)
		return false;
	for (; bits >= 8; bits -= 8, i++)
		if (c->addr[i] != addr[i])
			return false;
	if (bits > 0) {
		unsigned char mask = (unsigned char)(0xFF << (8 - bits));

		if ((c->addr[i] & mask) != (addr[i] & mask))
			return false;
	}
	return true;
}

int rest_cidr_parse(const char *s, struct rest_cidr *out)
{
	char host[REST_URL_MAX];
	const char *slash;
	struct rest_cidr c = { 0 };
	int max_len;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (buf_copy(host, sizeof(host), s) != 0)
		return -EINVAL;
	if (slash)
		host[slash - s] = '\0';
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		max_len = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		max_len = 128;
	} else {
		return -EINVAL;
	}
	c.prefix_len = max_len;
	if (slash && num_parse_int(slash + 1, 0, max_len, &c.prefix_len) != 0)
		return -EINVAL;
	*out = c;
	return 0;
}

bool rest_options_unprotected(const struct rest_options *opts)
{
	unsigned char addr[16];
	const char *h = opts->listen_host;

	if (opts->username[0] || opts->allowlist_count > 0 || opts->allowlist_include_members ||
	    (opts->certfile[0] && opts->verify_client != REST_VERIFY_NONE))
		return false;
	if (strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
		return false;
	return !(inet_pton(AF_INET, h, addr) == 1 && addr[0] == 127);
}

/* Parses a client address; IPv4-mapped IPv6 addresses count as IPv4. */
static bool parse_ip(const char *ip, int *family, unsigned char *addr)
{
	if (!ip)
		return false;
	if (inet_pton(AF_INET, ip, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, addr) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF
		};

		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return true;
	}
	return false;
}

/* The host of an http(s)://host:port/... URL, as a literal address. */
static bool url_host_matches(const char *url, int family, const unsigned char *addr)
{
	const char *p = strstr(url, "://");
	char host[REST_URL_MAX];
	size_t n;
	unsigned char a[16];
	int fam;

	if (!p)
		return false;
	p += 3;
	if (*p == '[') {
		p++;
		n = strcspn(p, "]");
	} else {
		n = strcspn(p, ":/");
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, p, n);
	host[n] = '\0';
	if (!parse_ip(host, &fam, a))
		return false;
	return fam == family && memcmp(a, addr, family == AF_INET ? 4 : 16) == 0;
}

bool rest_addr_admitted(const struct rest_options *opts, const struct rest_snapshot *snap,
			const struct rest_cidr *member_addrs, int member_addr_count, const char *ip,
			bool members)
{
	unsigned char addr[16] = { 0 };
	int family = 0;

	if (!parse_ip(ip, &family, addr))
		return false;
	for (int i = 0; i < rest_clamp_count(opts->allowlist_count, REST_ALLOWLIST_MAX); i++)
		if (cidr_contains(&opts->allowlist[i], family, addr))
			return true;
	if (!members || !opts->allowlist_include_members)
		return false;
	for (int i = 0; snap && i < rest_clamp_count(snap->member_count, REST_MEMBERS_MAX); i++)
		if (url_host_matches(snap->members[i].api_url, family, addr))
			return true;
	for (int i = 0; member_addrs && i < member_addr_count; i++)
		if (cidr_contains(&member_addrs[i], family, addr))
			return true;
	return false;
}

/* Returns 0 when allowed, else fills *out with Patroni's refusal. */
static int check_access(const struct rest_options *opts, const struct rest_request *req,
			const struct rest_snapshot *snap, bool skip_members,
			struct rest_response *out, bool *refused)
{
	*refused = false;
	/* Patroni skips the members for POST /failsafe (its callers are the members, which may
	 * not be in etcd's member list when etcd is down), so include_members alone admits all. */
	if (opts->allowlist_count > 0 || (opts->allowlist_include_members && !skip_members)) {
		bool ok;

		ok = rest_addr_admitted(opts, snap, req->member_addrs, req->member_addr_count,
					req->client_ip, !skip_members);
		if (!ok) {
			*refused = true;
			return rest_respond_text(out, 403, "Access is denied");
		}
	}
	if (req->tls && opts->verify_client != REST_VERIFY_NONE && !req->client_cert_valid) {
		*refused = true;
		return rest_respond_text(out, 403, "client certificate required");
	}
	if (opts->username[0]) {
		char plain[2 * REST_CREDENTIAL_MAX + 2];
		char expected[BASE64_ENCODED_CAP(sizeof(plain))];
		const char *reason = NULL;
		int rc;

		/* Patroni compares the header's token with base64("user:password") as text. */
		if (buf_format(plain, sizeof(plain), "%s:%s", opts->username, opts->password) !=
			    0 ||
		    base64_encode(plain, strlen(plain), expected, sizeof(expected)) != 0)
			return -EINVAL;
		if (!req->authorization) {
			reason = "no auth header received";
		} else if (strncmp(req->authorization, "Basic ", 6) != 0) {
			reason = "not authenticated";
		} else {
			/* constant time over the expected length */
			const char *got = req->authorization + 6;
			size_t elen = strlen(expected), glen = strlen(got);
			unsigned char diff = (unsigned char)(elen != glen);

			for (size_t i = 0; i < elen; i++)
				diff |= (unsigned char)(expected[i] ^ (i < glen ? got[i] : 0));
			if (diff)
				reason = "not authenticated";
		}
		if (reason) {
			*refused = true;
			rc = rest_respond_text(out, 401, reason);
			if (rc == 0)
				out->www_authenticate = true;
			return rc;
		}
	}
	return 0;
}

/* ---- routing ---- */

/* The first path segment ("/patroni?x" -> "patroni"), as Patroni's parse_request picks it. */
static void first_segment(const char *path, char *out, size_t cap)
{
	const char *p = path;
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/?");
	if (n >= cap)
		n = 0;
	memcpy(out, p, n);
	out[n] = '\0';
}

bool rest_request_is_unsafe(const char *method, const char *path)
{
	char seg[QUERY_VALUE_MAX];

	if (!method || !path)
		return false;
	first_segment(path, seg, sizeof(seg));
	if (strcmp(method, "POST") == 0)
		return strcmp(seg, "switchover") == 0 || strcmp(seg, "failover") == 0 ||
		       strcmp(seg, "restart") == 0 || strcmp(seg, "reinitialize") == 0 ||
		       strcmp(seg, "reload") == 0 || strcmp(seg, "failsafe") == 0;
	if (strcmp(method, "DELETE") == 0)
		return strcmp(seg, "switchover") == 0 || strcmp(seg, "restart") == 0;
	if (strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0)
		return strcmp(seg, "config") == 0;
	return false;
}

bool rest_request_is_action(const char *method, const char *path)
{
	return rest_request_is_unsafe(method, path);
}

static int handle_get(const struct rest_options *opts, const struct rest_request *req,
		      const struct rest_snapshot *s, const char *seg, struct rest_response *out)
{
	struct out o = { .err = 0 };
	int64_t now = req->now_mono_ms;

	if (strcmp(seg, "liveness") == 0)
		return rest_respond_bare(out, rest_liveness_status(s, now));
	if (strcmp(seg, "readiness") == 0)
		return rest_respond_bare(out, rest_readiness_status(s, req->query, now));
	buf_init(&o.b, REST_RESPONSE_MAX);
	if (!s && strcmp(seg, "metrics") == 0) {
		/* Before the first HA cycle a scrape still gets every series: the identity from the
		 * options, nothing known of the database or etcd yet (cluster_unlocked 1, as
		 * Patroni says while it has no view), the process and the build. */
		struct rest_snapshot *first = zpages_alloc(sizeof(*first)); /* zpages.h */

		if (!first) {
			buf_done(&o.b);
			return -ENOMEM;
		}
		memcpy(first->scope, opts->scope, sizeof(first->scope));
		memcpy(first->name, opts->name, sizeof(first->name));
		buf_copy_or_clear(first->version, sizeof(first->version), GSHA_VERSION);
		first->role = REST_ROLE_UNINITIALIZED;
		first->state = REST_DB_UNKNOWN;
		rest_o_metrics(&o, opts, first, req->process, now);
		zpages_free(first);
		return rest_finish(&o, out, 200, "text/plain", false);
	}
	if (!s) {
		/* Nothing published yet: every page says so. */
		if (strcmp(seg, "metrics") == 0 || strcmp(seg, "patroni") == 0 ||
		    strcmp(seg, "cluster") == 0 || strcmp(seg, "history") == 0 ||
		    strcmp(seg, "config") == 0 || strcmp(seg, "failsafe") == 0) {
			buf_done(&o.b);
			return rest_respond_error_page(out, 503);
		}
		rest_o_put(&o, "{\"state\": \"unknown\", \"role\": \"uninitialized\"}");
		return rest_finish(&o, out, 503, "application/json", false);
	}
	if (strcmp(seg, "patroni") == 0) {
		rest_o_status(&o, opts, s, now);
		return rest_finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "metrics") == 0) {
		rest_o_metrics(&o, opts, s, req->process, now);
		return rest_finish(&o, out, 200, "text/plain", false);
	}
	if (strcmp(seg, "cluster") == 0) {
		rest_o_cluster(&o, opts, s);
		return rest_finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "history") == 0) {
		rest_o_history(&o, s);
		return rest_finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "failsafe") == 0) {
		if (!s->has_failsafe_key) {
			buf_done(&o.b);
			return rest_respond_error_page(out, 502);
		}
		rest_o_failsafe(&o, s);
		return rest_finish(&o, out, 200, "application/json", false);
	}
	if (strcmp(seg, "config") == 0) {
		cJSON *doc = cJSON_ParseWithLength(s->config_json,
						   strnlen(s->config_json, sizeof(s->config_json)));
		int rc;

		buf_done(&o.b);
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			return rest_respond_error_page(out, 502);
		}
		rc = rest_respond_json_doc(out, 200, doc);
		cJSON_Delete(doc);
		return rc;
	}
	/* the generic health handler */
	int code = rest_health_status(s, req->path, req->query, now);
	rest_o_status(&o, opts, s, now);
	return rest_finish(&o, out, code, "application/json", false);
}

int rest_check_access(const struct rest_options *opts, const struct rest_request *req,
		      const struct rest_snapshot *snap, struct rest_response *out, bool *refused)
{
	char seg[QUERY_VALUE_MAX];

	*refused = false;
	if (!rest_request_is_unsafe(req->method, req->path ? req->path : "/"))
		return 0;
	first_segment(req->path ? req->path : "/", seg, sizeof(seg));
	return check_access(opts, req, snap, strcmp(seg, "failsafe") == 0, out, refused);
}

int rest_handle(const struct rest_options *opts, const struct rest_actions *actions,
		const struct rest_request *req, const struct rest_snapshot *snap,
		struct rest_response *out)
{
	static const struct rest_actions none = { 0 };
	const char *method = req->method ? req->method : "";
	const char *path = req->path && req->path[0] ? req->path : "/";
	char seg[QUERY_VALUE_MAX];
	struct rest_request r = *req;
	bool refused;
	int rc;

	if (!actions)
		actions = &none;
	r.path = path;
	first_segment(path, seg, sizeof(seg));
	if (strcmp(method, "GET") == 0)
		return handle_get(opts, &r, snap, seg, out);
	if (strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0)
		return rest_respond_bare(out,
					 rest_health_status(snap, path, r.query, r.now_mono_ms));
	if (!rest_request_is_unsafe(method, path))
		return rest_respond_error_page(out, 501);

	rc = check_access(opts, &r, snap, strcmp(seg, "failsafe") == 0, out, &refused);
	if (rc || refused)
		return rc;

	if (strcmp(method, "POST") == 0) {
		if (strcmp(seg, "switchover") == 0)
			return rest_do_switchover(&r, snap, actions, false, out);
		if (strcmp(seg, "failover") == 0)
			return rest_do_switchover(&r, snap, actions, true, out);
		if (strcmp(seg, "restart") == 0)
			return rest_do_restart(&r, snap, actions, out);
		if (strcmp(seg, "reinitialize") == 0)
			return rest_do_reinitialize(&r, actions, out);
		if (strcmp(seg, "failsafe") == 0)
			return rest_do_failsafe(&r, snap, actions, out);
		if (strcmp(seg, "reload") == 0) {
			if (!actions->reload)
				return rest_respond_unavailable(out, "reload");
			if (actions->reload(actions->ctx) != 0)
				return rest_respond_error_page(out, 503);
			return rest_respond_text(out, 202, "reload scheduled");
		}
	} else if (strcmp(method, "DELETE") == 0) {
		struct rest_action_result res;

		memset(&res, 0, sizeof(res));
		if (strcmp(seg, "switchover") == 0) {
			if (!actions->switchover_cancel)
				return rest_respond_unavailable(out, "switchover");
			rc = actions->switchover_cancel(actions->ctx, &res);
		} else {
			if (!actions->restart_cancel)
				return rest_respond_unavailable(out, "restart");
			rc = actions->restart_cancel(actions->ctx, &res);
		}
		return rest_respond_action(out, rc, &res);
	} else {
		return rest_do_config_write(&r, actions, strcmp(method, "PATCH") == 0, out);
	}
	return rest_respond_error_page(out, 501);
}
