/*
 * ctl_haproxy.c - the pure half of gsctl haproxy-config: the HAProxy check timing chosen from
 * loop_wait, and an HAProxy configuration rendered from the cluster view (a primary listener
 * checking /primary, a replica listener checking /replica, each member checked on its own REST
 * host and port). docs/timing.md gives the arithmetic; tests/unit/test_ctl_haproxy.c drives it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ctl.h"
#include "hostport.h"

#define CHECK_MIN_MS 100	   /* the fastest check period: REST answers from a snapshot */
#define CHECK_MAX_MS 200	   /* the slowest: a role change is seen within a few 100 ms */
#define CHECKS_PER_LOOP 5	   /* at least five checks per loop_wait */
#define LOOP_WAIT_DEFAULT_MS 10000 /* Patroni's loop_wait when the config key has none */

/* HAProxy waits min(timeout connect, 1 s) before it retries a connection the server refused
 * while the backend has one server up, which the primary listener always has: an old primary
 * that has just stopped would hold each client for a second. Connects on a LAN take a few ms. */
#define CONNECT_TIMEOUT_MS 100

void ctl_haproxy_timing(int64_t loop_wait_ms, struct ctl_haproxy_timing *t)
{
	int64_t p = (loop_wait_ms > 0 ? loop_wait_ms : LOOP_WAIT_DEFAULT_MS) / CHECKS_PER_LOOP;

	if (p < CHECK_MIN_MS)
		p = CHECK_MIN_MS;
	if (p > CHECK_MAX_MS)
		p = CHECK_MAX_MS;
	t->inter_ms = p;
	/* A server marked down (a replica on the primary listener, the next primary in a
	 * switchover) is looked at twice as often, and its first 200 brings it in: a 200 on
	 * /primary needs the leader key and a running primary (rest_health.c), so one answer is
	 * proof enough, and the switchover's write gap does not wait for a second one. */
	t->downinter_ms = p / 2;
	t->fastinter_ms = p / 2;
	t->check_timeout_ms = p;
	t->connect_ms = CONNECT_TIMEOUT_MS;
	t->rise = 1;
	/* Dropping the primary cuts every session (on-marked-down shutdown-sessions): never on
	 * one slow or lost answer. */
	t->fall = 3;
	/* the first 200 on a down server comes at most downinter after the change, then rise - 1
	 * more at fastinter; the first 503 at most inter after, then fall - 1 more. A server
	 * that falls silent fails each of its fall checks only after timeout check. */
	t->up_worst_ms = t->downinter_ms + (t->rise - 1) * t->fastinter_ms;
	t->down_worst_ms = t->inter_ms + (t->fall - 1) * t->fastinter_ms;
	t->silent_worst_ms = t->down_worst_ms + t->fall * t->check_timeout_ms;
}

/* True when s is a non-empty word of letters, digits and the characters in extra. HAProxy reads
 * a server name with extra "-_.:" and a host (an IPv6 address with a %zone) with "-_.:%";
 * anything else (a space, a newline from a hostile member key) would break or extend the
 * configuration. */
static bool haproxy_word_ok(const char *s, const char *extra)
{
	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	return true;
}

#define NAME_CHARS "-_.:"
#define HOST_CHARS "-_.:%"

/* "[v6]" or "host", as HAProxy reads an address before ":port" or after "addr". */
static int host_word(const char *host, char *out, size_t cap)
{
	if (strchr(host, ':') != NULL)
		return buf_format(out, cap, "[%s]", host);
	return buf_format(out, cap, "%s", host);
}

static int warn_add(char *warn, size_t cap, const char *fmt, const char *name, const char *what)
{
	size_t used = strlen(warn);

	if (used >= cap)
		return -ENOBUFS;
	/* a warning that does not fit is cut: the member is still left out */
	snprintf(warn + used, cap - used, fmt, name, what);
	return 0;
}

/* One member's server line, or a warning and nothing when it cannot be checked. */
static int server_line(const struct ctl_row *r, char *line, size_t cap, char *warn, size_t warn_cap)
{
	char api_host[HOSTPORT_HOST_MAX], pg_word[HOSTPORT_HOST_MAX + 2];
	char api_word[HOSTPORT_HOST_MAX + 2], addr[HOSTPORT_HOST_MAX + 8] = "";
	int api_port;
	bool tls = strncmp(r->api_url, "https://", 8) == 0;
	const char *fmt = "member \"%s\" left out: %s\n";

	line[0] = '\0';
	if (!haproxy_word_ok(r->name, NAME_CHARS))
		return warn_add(warn, warn_cap, fmt, r->name,
				"its name is not one HAProxy accepts (letters, digits, -_.:)");
	if (r->api_url[0] == '\0')
		return warn_add(warn, warn_cap, fmt, r->name,
				"no api_url in its member key, so nothing to check");
	if ((strncmp(r->api_url, "http://", 7) != 0 && !tls) ||
	    hostport_from_url(r->api_url, tls ? 443 : 80, api_host, sizeof(api_host), &api_port) !=
		    0 ||
	    !haproxy_word_ok(api_host, HOST_CHARS))
		return warn_add(warn, warn_cap, fmt, r->name,
				"its api_url is not http(s)://host:port");
	if (r->host[0] == '\0' || r->port <= 0 || !haproxy_word_ok(r->host, HOST_CHARS))
		return warn_add(warn, warn_cap, fmt, r->name,
				"no usable host and port in its conn_url");
	if (host_word(r->host, pg_word, sizeof(pg_word)) != 0 ||
	    host_word(api_host, api_word, sizeof(api_word)) != 0)
		return -ENAMETOOLONG;
	if (strcmp(api_host, r->host) != 0 && buf_format(addr, sizeof(addr), " addr %s", api_word))
		return -ENAMETOOLONG;
	if (tls)
		warn_add(warn, warn_cap, "member \"%s\": %s\n", r->name,
			 "its REST API is https: checked with check-ssl verify none (HAProxy "
			 "does not verify the certificate; add ca-file to verify it)");
	return buf_format(line, cap, "\tserver %s %s:%d maxconn 100 check port %d%s%s\n", r->name,
			  pg_word, r->port, api_port, addr, tls ? " check-ssl verify none" : "");
}

static int listener(const struct ctl_view *v, const struct ctl_haproxy_opts *o,
		    const struct ctl_haproxy_timing *t, bool primary, struct buf *out, char *warn,
		    size_t warn_cap, int *servers)
{
	char bind[HOSTPORT_HOST_MAX + 2], line[1024];
	int rc;

	if (host_word(o->bind[0] != '\0' ? o->bind : "*", bind, sizeof(bind)) != 0)
		return -ENAMETOOLONG;
	rc = buf_printf(out,
			"\nlisten %s\n"
			"\tbind %s:%d\n"
			"%s"
			"\toption httpchk OPTIONS /%s\n"
			"\thttp-check expect status 200\n"
			"\tdefault-server inter %" PRId64 "ms fastinter %" PRId64
			"ms downinter %" PRId64 "ms rise %d fall %d on-marked-down "
			"shutdown-sessions\n",
			primary ? "primary" : "replicas", bind,
			primary ? o->primary_port : o->replica_port,
			primary ? "" : "\tbalance roundrobin\n", primary ? "primary" : "replica",
			t->inter_ms, t->fastinter_ms, t->downinter_ms, t->rise, t->fall);
	*servers = 0;
	for (int i = 0; rc == 0 && i < v->count; i++) {
		/* warnings once, from the primary listener */
		char scratch[4096] = "";

		rc = server_line(&v->rows[i], line, sizeof(line), primary ? warn : scratch,
				 primary ? warn_cap : sizeof(scratch));
		if (rc == 0 && line[0] != '\0') {
			rc = buf_puts(out, line);
			(*servers)++;
		}
	}
	return rc;
}

int ctl_render_haproxy(const struct ctl_view *v, const struct ctl_haproxy_opts *o, struct buf *out,
		       char *warn, size_t warn_cap)
{
	struct ctl_haproxy_timing t;
	int servers = 0, rc;

	if (warn_cap > 0)
		warn[0] = '\0';
	if (o->bind[0] != '\0' && strcmp(o->bind, "*") != 0 &&
	    !haproxy_word_ok(o->bind, HOST_CHARS))
		return -EINVAL;
	ctl_haproxy_timing(o->loop_wait_ms, &t);
	rc = buf_printf(
		out,
		"# HAProxy for the gsha cluster \"%s\", written by gsctl haproxy-config from\n"
		"# its members in etcd and loop_wait %" PRId64
		" ms: a server is checked every %" PRId64 " ms\n"
		"# (%" PRId64 " ms while it changes state or is down); a new primary is routed "
		"to within %" PRId64 " ms\n"
		"# of answering 200 on /primary, an old one dropped within %" PRId64
		" ms of answering\n"
		"# 503 (%" PRId64 " ms of falling silent); docs/timing.md, \"HAProxy\". Run it "
		"again after\n"
		"# members change.\n"
		"global\n"
		"\tmaxconn 1000\n"
		"\ndefaults\n"
		"\tmode tcp\n"
		"\tretries 2\n"
		"\ttimeout connect %" PRId64 "ms\n"
		"\ttimeout client 30m\n"
		"\ttimeout server 30m\n"
		"\ttimeout check %" PRId64 "ms\n",
		v->cluster, o->loop_wait_ms > 0 ? o->loop_wait_ms : (int64_t)LOOP_WAIT_DEFAULT_MS,
		t.inter_ms, t.fastinter_ms, t.up_worst_ms, t.down_worst_ms, t.silent_worst_ms,
		t.connect_ms, t.check_timeout_ms);
	if (rc == 0)
		rc = listener(v, o, &t, true, out, warn, warn_cap, &servers);
	if (rc == 0 && o->replica_port > 0) {
		int replicas = 0;

		rc = listener(v, o, &t, false, out, warn, warn_cap, &replicas);
	}
	if (rc != 0)
		return rc;
	if (servers == 0)
		return -ENOENT;
	if (v->leader[0] == '\0')
		warn_add(warn, warn_cap, "%s%s", "the cluster has no leader now: ",
			 "the primary listener sends nowhere until one is elected\n");
	return 0;
}
