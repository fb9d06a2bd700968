/*
 * rest_server.c - the thin libmicrohttpd transport around rest_handle().
 *
 * Threading: MHD runs an epoll thread pool, one thread per online CPU (REST_POOL_MIN..MAX).
 * Health checks and monitoring are answered right there from the published snapshot, which a
 * pool thread borrows without a lock (rest_snaps.c); nothing waits on etcd, the database or the
 * HA loop. The plain health checks (GET/HEAD/OPTIONS /primary, /replica, ... without a query)
 * are rendered once per snapshot and the same response is queued for every later request
 * (rest_cache.c). Action requests (POST /switchover, PATCH /config, ...) may block in the HA
 * loop's callbacks for many seconds, so their connection is suspended and the work moves to a
 * detached action thread (at most REST_ACTION_THREADS at once); the pool threads keep serving
 * health checks meanwhile.
 *
 * Connections: HTTP/1.0 answers, closed after one response as Patroni does, unless the client
 * sends Connection: keep-alive. MHD sets TCP_NODELAY itself. No TCP Fast Open: health checkers
 * do not use it, and it lets a SYN carry a request before the handshake proves the address.
 *
 * Hostile clients are bounded by MHD's limits: total and per-IP connection counts, an idle
 * timeout, a per-connection memory pool (which caps the request line and headers), and our own
 * body cap. The per-IP limit keeps one noisy address from taking every slot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "hostport.h"
#include "num.h"
#include "rest.h"
#include "rest_cache.h"
#include "rest_internal.h"
#include "rest_mhd.h"
#include "rest_iptable.h"
#include "rest_snaps.h"

/* Threads that serve requests: one per online CPU, since health checks never block (more
 * threads than cores only add wake-ups and context switches: each thread's epoll set holds
 * the listening socket). At least 2, so that one thread busy with a slow /metrics read or a
 * DNS lookup for allowlist_include_members does not hold up health checks. */
#define REST_POOL_MIN 2
#define REST_POOL_MAX 16
_Static_assert(REST_POOL_MAX <= REST_SNAPS_WORKERS_MAX, "each pool thread borrows snapshots");
/* Simultaneous connections in total: idle or slow clients beyond this are refused. */
#define REST_CONNECTION_LIMIT 4000
/* Simultaneous connections from one address (HAProxy, peers and monitors need a few each);
 * addresses in restapi.allowlist and (allowlist_include_members) members' are exempt. */
#define REST_PER_IP_LIMIT 64
/* Seconds a connection may stay idle before it is closed (peers use 2 s timeouts). */
#define REST_IDLE_TIMEOUT_S 10
/* Per-connection memory pool: request line and headers must fit in it (larger -> 431/414). */
#define REST_CONNECTION_MEMORY_BYTES (32 * 1024)
/* Pending connections in the kernel's accept queue (capped by net.core.somaxconn): a burst of
 * health checkers connecting at once waits here instead of getting a reset. */
#define REST_LISTEN_BACKLOG 1024
/* Action requests running at once; more get 503 (actions are rare and serialised by etcd). */
#define REST_ACTION_THREADS 4
/* Stack of each action thread (callbacks talk to etcd; 1 MiB is plenty). */
#define REST_ACTION_STACK_BYTES (1024 * 1024)
/* Request bodies buffered at once over all connections: beyond it, 503 (bodies are only read
 * for unsafe requests that passed the access check, and each is at most REST_BODY_MAX). */
#define REST_BODY_BUDGET_BYTES (4 * 1024 * 1024)
/* Raw request target kept for routing (longer targets get 414 from the memory pool first). */
#define REST_URI_MAX 8192
/* Targets up to this length are kept inside the request context; longer ones are allocated. */
#define REST_URI_INLINE 256
/* TLS key/certificate/CA files read into memory. */
#define REST_PEM_MAX (1024 * 1024)
/* Text of a numeric client address. */
#define REST_IP_MAX INET6_ADDRSTRLEN

/* allowlist_include_members: the most addresses the members' api_url host names give, and how
 * long one lookup of them serves. Patroni resolves them on every unsafe request; the cache
 * bounds the DNS traffic a stranger's requests can cause to one round per interval. */
#define REST_MEMBER_ADDRS_MAX 64
#define REST_MEMBER_DNS_CACHE_MS 10000

struct member_addrs {
	int count;
	struct rest_cidr addrs[REST_MEMBER_ADDRS_MAX];
};

struct rest_server {
	struct MHD_Daemon *daemon;
	struct rest_options opts;
	struct rest_actions actions;
	pthread_mutex_t lock; /* guards actions_running, stopping */
	pthread_cond_t actions_done;
	struct rest_snaps snaps; /* the published snapshot */
	int actions_running;
	bool stopping;
	atomic_size_t body_bytes; /* buffered request bodies, against REST_BODY_BUDGET_BYTES */
	int port;
	char *tls_key;
	char *tls_cert;
	char *tls_trust;
	pthread_mutex_t ip_lock;  /* guards ips */
	struct rest_iptable ips;  /* open connections per client address */
	pthread_mutex_t dns_lock; /* guards dns, dns_at_ms, dns_valid; held across a lookup */
	struct member_addrs dns;
	int64_t dns_at_ms;
	bool dns_valid;
};

/* One request's state, from the URI log callback to the completion notice. */
struct req_ctx {
	struct rest_server *server;
	struct MHD_Connection *conn;
	char *uri; /* uri_inline, or allocated when longer */
	char uri_inline[REST_URI_INLINE];
	bool uri_too_long;
	struct buf body;
	bool body_too_big;
	bool body_over_budget;
	bool unsafe;	      /* an action request: its body is read */
	size_t body_reserved; /* bytes counted in server->body_bytes */
	bool started;	      /* first access-handler call done */
	bool action_done;     /* the action thread filled resp */
	bool action_running;
	struct rest_response resp;
	bool has_resp;
	/* copies of what the action thread needs after the handler returned */
	char method[16];
	char client_ip[REST_IP_MAX];
	char *authorization;
	char *content_length;
	bool cert_valid;
	bool tls;
	int64_t now_mono_ms, now_wall_ms;
	struct member_addrs *members; /* allowlist_include_members: host names resolved */
};

int rest_publish(struct rest_server *server, const struct rest_snapshot *snap)
{
	return rest_snaps_publish(&server->snaps, snap);
}

static struct snap_ref *snap_get(struct rest_server *s)
{
	return rest_snaps_get(&s->snaps);
}

int rest_server_port(const struct rest_server *server)
{
	return server->port;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req_ctx *c = calloc(1, sizeof(*c));
	size_t len;

	if (!c)
		return NULL;
	c->server = cls;
	c->conn = conn;
	c->uri = c->uri_inline;
	if (!uri)
		uri = "/";
	len = strnlen(uri, REST_URI_MAX);
	if (len >= REST_URI_MAX) {
		c->uri_too_long = true;
		c->uri_inline[0] = '\0';
	} else if (len >= sizeof(c->uri_inline)) {
		c->uri = malloc(len + 1);
		if (!c->uri) {
			free(c);
			return NULL;
		}
	}
	if (!c->uri_too_long)
		memcpy(c->uri, uri, len + 1);
	buf_init(&c->body, REST_BODY_MAX);
	return c;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *c = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!c)
		return;
	if (c->body_reserved)
		atomic_fetch_sub(&c->server->body_bytes, c->body_reserved);
	buf_done(&c->body);
	rest_response_done(&c->resp);
	if (c->uri != c->uri_inline)
		free(c->uri);
	free(c->members);
	free(c->authorization);
	free(c->content_length);
	free(c);
	*con_cls = NULL;
}

/* The family and raw bytes of a socket address; false for other families. */
static bool sockaddr_bytes(const struct sockaddr *sa, int *family, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* Appends the addresses host resolves to (each a /32 or /128) to out[*count..cap). Returns 0,
 * -EINVAL when it does not resolve, or -E2BIG when some did not fit (those that fit are kept).
 * Blocks on DNS. */
static int resolve_host(const char *host, struct rest_cidr *out, int cap, int *count)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL;
	int rc = 0;

	if (host == NULL || host[0] == '\0' || getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		struct rest_cidr c = { 0 };

		if (!sockaddr_bytes(ai->ai_addr, &c.family, c.addr))
			continue;
		c.prefix_len = c.family == AF_INET ? 32 : 128;
		if (*count >= cap) {
			rc = -E2BIG;
			break;
		}
		out[(*count)++] = c;
	}
	freeaddrinfo(res);
	return rc;
}

/* Is the address trusted past REST_PER_IP_LIMIT: in restapi.allowlist, or
 * (allowlist_include_members) a member's? A health checker behind NAT, or the members
 * themselves, are not locked out by strangers' idle sockets from elsewhere, nor by their own.
 * Never a lookup here: the member names as last looked up. */
static bool addr_trusted(struct rest_server *s, int family, const unsigned char *addr)
{
	char ip[INET6_ADDRSTRLEN];
	struct snap_ref *ref;
	struct member_addrs known;
	bool trusted;

	if (!inet_ntop(family, addr, ip, sizeof(ip)))
		return false;
	pthread_mutex_lock(&s->dns_lock);
	known = s->dns;
	pthread_mutex_unlock(&s->dns_lock);
	ref = snap_get(s);
	trusted = rest_addr_admitted(&s->opts, ref ? &ref->snap : NULL, known.addrs, known.count,
				     ip, true);
	rest_snap_put(ref);
	return trusted;
}

/* Counts connections per client address (MHD's per-address limit cannot exempt anyone), and
 * holds the limit where accept_policy alone cannot: the pool's threads accept at once, each
 * checking the count before either connection is counted, so two may both pass at the limit.
 * A connection counted past the limit from an untrusted address is shut down here; MHD then
 * sees its end, closes it and notifies CLOSED, which uncounts it. */
static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			      enum MHD_ConnectionNotificationCode code)
{
	struct rest_server *s = cls;
	const union MHD_ConnectionInfo *ci =
		rest_mhd->MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const union MHD_ConnectionInfo *fdi;
	unsigned char addr[16];
	int family, before = 0;

	(void)socket_context;
	if (!ci || !sockaddr_bytes(ci->client_addr, &family, addr))
		return;
	pthread_mutex_lock(&s->ip_lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		before = rest_iptable_count(&s->ips, family, addr);
		(void)rest_iptable_add(&s->ips, family, addr); /* full: MHD's limit holds first */
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		rest_iptable_remove(&s->ips, family, addr);
	}
	pthread_mutex_unlock(&s->ip_lock);
	if (code != MHD_CONNECTION_NOTIFY_STARTED || before < REST_PER_IP_LIMIT ||
	    addr_trusted(s, family, addr))
		return;
	fdi = rest_mhd->MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (fdi && fdi->connect_fd >= 0)
		(void)shutdown(fdi->connect_fd, SHUT_RDWR);
}

/* Refuses a new connection from an address that holds REST_PER_IP_LIMIT already, unless the
 * address is trusted (addr_trusted); notify_connection closes the race between the pool's
 * threads. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct rest_server *s = cls;
	unsigned char addr[16];
	int family, count;

	(void)len;
	if (!sockaddr_bytes(sa, &family, addr))
		return MHD_YES;
	pthread_mutex_lock(&s->ip_lock);
	count = rest_iptable_count(&s->ips, family, addr);
	pthread_mutex_unlock(&s->ip_lock);
	if (count < REST_PER_IP_LIMIT)
		return MHD_YES;
	return addr_trusted(s, family, addr) ? MHD_YES : MHD_NO;
}

static void client_ip(struct MHD_Connection *conn, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		rest_mhd->MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	out[0] = '\0';
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ci->client_addr;

		if (!inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)cap))
			out[0] = '\0';
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ci->client_addr;

		if (!inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)cap))
			out[0] = '\0';
	}
}

static bool client_cert_valid(struct MHD_Connection *conn)
{
#ifdef REST_HAVE_GNUTLS
	const union MHD_ConnectionInfo *ci =
		rest_mhd->MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session;
	unsigned int status = 0;
	unsigned int n = 0;

	if (!ci || !ci->tls_session)
		return false;
	session = (gnutls_session_t)ci->tls_session;
	if (!rest_mhd->gnutls_certificate_get_peers(session, &n) || n == 0)
		return false;
	if (rest_mhd->gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS)
		return false;
	return status == 0;
#else
	(void)conn;
	return false;
#endif
}

static enum MHD_Result queue(struct rest_server *s, struct MHD_Connection *conn,
			     const struct rest_response *r, const struct rest_snapshot *snap)
{
	struct MHD_Response *resp = rest_mhd_response(&s->opts, r, snap);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = rest_mhd->MHD_queue_response(conn, (unsigned int)r->status, resp);
	rest_mhd->MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result queue_error(struct rest_server *s, struct MHD_Connection *conn, int status)
{
	struct rest_response r;
	enum MHD_Result ret;

	if (rest_response_error_page(&r, status) != 0)
		return MHD_NO;
	ret = queue(s, conn, &r, NULL);
	rest_response_done(&r);
	return ret;
}

/* A plain-text answer decided by the transport (text is a static string). */
static enum MHD_Result queue_text(struct rest_server *s, struct MHD_Connection *conn, int status,
				  const char *text)
{
	struct rest_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.content_type = "text/html";
	r.body = (char *)text;
	r.body_len = strlen(text);
	return queue(s, conn, &r, NULL);
}

static char *dup_header(struct MHD_Connection *conn, const char *name)
{
	const char *v = rest_mhd->MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	return v ? strdup(v) : NULL;
}

/* Builds the renderer's request from the saved context. */
static void fill_request(struct req_ctx *c, struct rest_request *rq, char *path_buf)
{
	char *q;

	memcpy(path_buf, c->uri, strlen(c->uri) + 1); /* shorter than REST_URI_MAX */
	q = strchr(path_buf, '?');
	if (q)
		*q++ = '\0';
	/* a fragment is never sent by well-behaved clients; drop it if present */
	memset(rq, 0, sizeof(*rq));
	rq->method = c->method;
	rq->path = path_buf;
	rq->query = q;
	rq->authorization = c->authorization;
	rq->content_length = c->content_length;
	rq->body = c->body.data;
	rq->body_len = c->body.len;
	rq->client_ip = c->client_ip;
	rq->client_cert_valid = c->cert_valid;
	rq->tls = c->tls;
	rq->now_mono_ms = c->now_mono_ms;
	rq->now_wall_ms = c->now_wall_ms;
	rq->member_addrs = c->members ? c->members->addrs : NULL;
	rq->member_addr_count = c->members ? c->members->count : 0;
}

/* The addresses of the members' api_url hosts that are names (literal addresses the renderer
 * reads from the snapshot), as Patroni resolves them for allowlist_include_members; from a
 * cache at most REST_MEMBER_DNS_CACHE_MS old. Only unsafe requests wait for a lookup. */
static void member_addrs_get(struct rest_server *s, const struct rest_snapshot *snap,
			     struct member_addrs *out)
{
	int64_t now = clock_mono_ms();

	pthread_mutex_lock(&s->dns_lock);
	if (!s->dns_valid || now - s->dns_at_ms >= REST_MEMBER_DNS_CACHE_MS) {
		struct member_addrs fresh = { 0 };
		int n = snap->member_count < REST_MEMBERS_MAX ? snap->member_count
							      : REST_MEMBERS_MAX;

		for (int i = 0; i < n; i++) {
			char host[HOSTPORT_HOST_MAX];
			unsigned char lit[16];
			int port;

			if (hostport_from_url(snap->members[i].api_url, 80, host, sizeof(host),
					      &port) == 0 &&
			    inet_pton(AF_INET, host, lit) != 1 &&
			    inet_pton(AF_INET6, host, lit) != 1)
				(void)resolve_host(host, fresh.addrs, REST_MEMBER_ADDRS_MAX,
						   &fresh.count);
		}
		s->dns = fresh;
		s->dns_at_ms = clock_mono_ms();
		s->dns_valid = true;
	}
	*out = s->dns;
	pthread_mutex_unlock(&s->dns_lock);
}

static void *action_thread(void *arg)
{
	struct req_ctx *c = arg;
	struct rest_server *s = c->server;
	struct snap_ref *ref = snap_get(s);
	struct rest_request rq;
	char *path = malloc(REST_URI_MAX);
	int rc = -ENOMEM;

	if (path) {
		fill_request(c, &rq, path);
		rc = rest_handle(&s->opts, &s->actions, &rq, ref ? &ref->snap : NULL, &c->resp);
		free(path);
	}
	rest_snap_put(ref);
	if (rc != 0)
		rc = rest_response_error_page(&c->resp, 503);
	c->has_resp = rc == 0;
	c->action_done = true;
	rest_mhd->MHD_resume_connection(c->conn);
	pthread_mutex_lock(&s->lock);
	s->actions_running--;
	pthread_cond_broadcast(&s->actions_done);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static bool start_action(struct rest_server *s, struct req_ctx *c)
{
	pthread_attr_t attr;
	pthread_t tid;
	bool ok = false;

	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->actions_running >= REST_ACTION_THREADS) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	s->actions_running++;
	pthread_mutex_unlock(&s->lock);

	c->action_running = true;
	rest_mhd->MHD_suspend_connection(c->conn);
	if (pthread_attr_init(&attr) == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		(void)pthread_attr_setstacksize(&attr, REST_ACTION_STACK_BYTES);
		ok = pthread_create(&tid, &attr, action_thread, c) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!ok) {
		c->action_running = false;
		rest_mhd->MHD_resume_connection(c->conn);
		pthread_mutex_lock(&s->lock);
		s->actions_running--;
		pthread_cond_broadcast(&s->actions_done);
		pthread_mutex_unlock(&s->lock);
	}
	return ok;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct rest_server *s = cls;
	struct req_ctx *c = *con_cls;

	(void)url;
	(void)version;
	if (!c)
		return queue_error(s, conn, 503); /* out of memory at the URI stage */

	if (!c->started) {
		const char *cl;
		int64_t len;

		c->started = true;
		c->now_mono_ms = clock_mono_ms();
		c->now_wall_ms = clock_wall_ms();
		if (c->uri_too_long)
			return queue_error(s, conn, 414);
		if (buf_copy(c->method, sizeof(c->method), method) != 0)
			return queue_error(s, conn, 501);
		client_ip(conn, c->client_ip, sizeof(c->client_ip));
		c->tls = s->opts.certfile[0] != '\0';
		if (c->tls && s->opts.verify_client != REST_VERIFY_NONE)
			c->cert_valid = client_cert_valid(conn);
		if (c->tls && s->opts.verify_client == REST_VERIFY_REQUIRED && !c->cert_valid)
			return queue_text(s, conn, 403, "client certificate required");
		c->authorization = dup_header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
		c->content_length = dup_header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
		c->unsafe = rest_request_is_unsafe(c->method, c->uri);
		if (!c->unsafe)
			return MHD_YES; /* a body on a safe request is read and dropped */
		/* Refuse strangers before reading their bodies, as Patroni's check_access does. */
		{
			struct snap_ref *ref = snap_get(s);
			struct rest_request rq;
			struct rest_response r;
			char path[REST_URI_MAX];
			bool refused = false;
			enum MHD_Result ret = MHD_YES;

			if (s->opts.allowlist_include_members && ref) {
				c->members = calloc(1, sizeof(*c->members));
				if (c->members)
					member_addrs_get(s, &ref->snap, c->members);
			}
			fill_request(c, &rq, path);
			if (rest_check_access(&s->opts, &rq, ref ? &ref->snap : NULL, &r,
					      &refused) != 0) {
				ret = queue_error(s, conn, 503);
			} else if (refused) {
				ret = queue(s, conn, &r, ref ? &ref->snap : NULL);
				rest_response_done(&r);
			}
			rest_snap_put(ref);
			if (ret != MHD_YES || refused)
				return ret;
		}
		cl = c->content_length;
		if (cl && num_parse_i64(cl, 0, INT64_MAX, &len) == 0 && len > REST_BODY_MAX)
			return queue_error(s, conn, 413);
		return MHD_YES;
	}

	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (!c->unsafe || c->body_too_big || c->body_over_budget)
			return MHD_YES;
		if (atomic_fetch_add(&s->body_bytes, n) + n > REST_BODY_BUDGET_BYTES) {
			atomic_fetch_sub(&s->body_bytes, n);
			c->body_over_budget = true;
			return MHD_YES;
		}
		c->body_reserved += n;
		if (buf_append(&c->body, upload_data, n) != 0)
			c->body_too_big = true;
		return MHD_YES;
	}

	if (c->action_running) {
		/* resumed after the action thread finished */
		enum MHD_Result ret = MHD_NO;

		if (c->action_done && c->has_resp) {
			struct snap_ref *ref = snap_get(s);

			ret = queue(s, conn, &c->resp, ref ? &ref->snap : NULL);
			rest_snap_put(ref);
		}
		return ret;
	}
	if (c->body_too_big)
		return queue_error(s, conn, 413);
	if (c->body_over_budget)
		return queue_error(s, conn, 503);

	/* the route is decided on the path alone, exactly as rest_handle() will see it */
	if (rest_request_is_action(c->method, c->uri)) {
		if (start_action(s, c))
			return MHD_YES;
		return queue_text(s, conn, 503, "too many actions in progress");
	}

	/* health checks and monitoring: answer on this thread from the snapshot */
	{
		bool owned;
		struct snap_ref *ref = rest_snaps_borrow(&s->snaps, &owned);
		int slot = ref ? rest_cache_slot(c->method, c->uri) : -1;
		struct rest_request rq;
		struct rest_response r;
		struct rest_process proc;
		char path[REST_URI_MAX];
		enum MHD_Result ret;

		if (slot >= 0) {
			const struct rest_cache_entry *e = rest_cache_get(
				&ref->cache, slot, &s->opts, &ref->snap, c->now_mono_ms);

			if (e) {
				ret = rest_mhd->MHD_queue_response(conn, e->status, e->resp);
				if (owned)
					rest_snap_put(ref);
				return ret;
			}
		}
		fill_request(c, &rq, path);
		if (strncmp(rq.path, "/metrics", 8) == 0 && rest_process_read(&proc) == 0)
			rq.process = &proc;
		if (rest_handle(&s->opts, &s->actions, &rq, ref ? &ref->snap : NULL, &r) != 0) {
			if (owned)
				rest_snap_put(ref);
			return queue_error(s, conn, 503);
		}
		ret = queue(s, conn, &r, ref ? &ref->snap : NULL);
		if (owned)
			rest_snap_put(ref);
		rest_response_done(&r);
		return ret;
	}
}

/* Reads a whole file of at most REST_PEM_MAX bytes into a NUL-terminated string. */
static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;
	char *out;

	if (!f) {
		(void)!buf_format(err, errlen, "could not open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, REST_PEM_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) != 0) {
			(void)!buf_format(err, errlen, "\"%s\" is larger than %d bytes", path,
					  REST_PEM_MAX);
			fclose(f);
			buf_done(&b);
			return NULL;
		}
	}
	fclose(f);
	out = buf_steal(&b);
	if (!out)
		out = strdup("");
	return out;
}

/* Resolves listen_host into a socket address for MHD. */
static int listen_addr(const struct rest_options *o, struct sockaddr_storage *ss, bool *v6,
		       char *err, size_t errlen)
{
	const char *host = o->listen_host;
	struct addrinfo hints = { 0 }, *res = NULL;
	int rc;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (o->listen_port < 0 || o->listen_port > 65535) {
		(void)!buf_format(err, errlen, "invalid listen port %d", o->listen_port);
		return -EINVAL;
	}
	if (host[0] == '\0' || strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)o->listen_port);
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || !res) {
		(void)!buf_format(err, errlen, "could not resolve listen address \"%s\": %s", host,
				  gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)o->listen_port);
		*v6 = true;
	} else {
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)o->listen_port);
	}
	freeaddrinfo(res);
	return 0;
}

int rest_allowlist_add(struct rest_options *o, const char *entry)
{
	if (o->allowlist_count >= REST_ALLOWLIST_MAX)
		return -E2BIG;
	if (rest_cidr_parse(entry, &o->allowlist[o->allowlist_count]) == 0) {
		o->allowlist_count++;
		return 0;
	}
	/* Not an address: a host name, resolved now as Patroni does when it loads the list. */
	if (entry == NULL || strchr(entry, '/') != NULL)
		return -EINVAL;
	return resolve_host(entry, o->allowlist, REST_ALLOWLIST_MAX, &o->allowlist_count);
}

/* REST_POOL_MIN..REST_POOL_MAX threads, one per online CPU. */
static unsigned int pool_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < REST_POOL_MIN)
		return REST_POOL_MIN;
	return n > REST_POOL_MAX ? REST_POOL_MAX : (unsigned int)n;
}

struct rest_server *rest_server_new(const struct rest_options *opts,
				    const struct rest_actions *actions, char *err, size_t errlen)
{
	struct rest_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	bool v6 = false;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem tls_opts[4];
	int ntls = 0;
	const union MHD_DaemonInfo *info;

	if (!s) {
		(void)!buf_format(err, errlen, "out of memory");
		return NULL;
	}
	s->opts = *opts;
	if (actions)
		s->actions = *actions;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->dns_lock, NULL);
	pthread_mutex_init(&s->ip_lock, NULL);
	pthread_cond_init(&s->actions_done, NULL);
	atomic_init(&s->body_bytes, 0);
	rest_snaps_init(&s->snaps);
	if (listen_addr(opts, &ss, &v6, err, errlen) != 0)
		goto out_free;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (rest_mhd->MHD_is_feature_supported(MHD_FEATURE_EPOLL) ==
	    MHD_YES) /* Linux: say it outright */
		flags = (flags & ~(unsigned int)MHD_USE_AUTO_INTERNAL_THREAD) |
			MHD_USE_EPOLL_INTERNAL_THREAD;
	memset(tls_opts, 0, sizeof(tls_opts));
	if (opts->certfile[0]) {
		if (rest_mhd->MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			(void)!buf_format(err, errlen,
					  "libmicrohttpd was built without TLS support (a minimal "
					  "build loads its HTTPS build only when restapi.certfile "
					  "is set at start-up: restart the agent)");
			goto out_free;
		}
		s->tls_cert = read_file(opts->certfile, err, errlen);
		if (!s->tls_cert)
			goto out_free;
		s->tls_key =
			read_file(opts->keyfile[0] ? opts->keyfile : opts->certfile, err, errlen);
		if (!s->tls_key)
			goto out_free;
		flags |= MHD_USE_TLS;
		tls_opts[ntls++] =
			(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert };
		tls_opts[ntls++] =
			(struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key };
		if (opts->cafile[0] && opts->verify_client != REST_VERIFY_NONE) {
#ifndef REST_HAVE_GNUTLS
			(void)!buf_format(err, errlen,
					  "verify_client needs gsha built with gnutls headers");
			goto out_free;
#endif
			s->tls_trust = read_file(opts->cafile, err, errlen);
			if (!s->tls_trust)
				goto out_free;
			tls_opts[ntls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
								    s->tls_trust };
		}
	}
	tls_opts[ntls] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	if (rest_iptable_init(&s->ips, REST_CONNECTION_LIMIT) != 0) {
		(void)!buf_format(err, errlen, "out of memory");
		goto out_free;
	}
	s->daemon = rest_mhd->MHD_start_daemon(
		flags, (uint16_t)opts->listen_port, accept_policy, s, access_handler, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
		pool_threads(), MHD_OPTION_CONNECTION_LIMIT, (unsigned int)REST_CONNECTION_LIMIT,
		MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)REST_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)REST_CONNECTION_MEMORY_BYTES, MHD_OPTION_LISTEN_BACKLOG_SIZE,
		(unsigned int)REST_LISTEN_BACKLOG, MHD_OPTION_URI_LOG_CALLBACK, uri_log, s,
		MHD_OPTION_NOTIFY_COMPLETED, request_completed, s, MHD_OPTION_ARRAY, tls_opts,
		MHD_OPTION_END);
	if (!s->daemon) {
		(void)!buf_format(err, errlen,
				  "could not start the REST API on \"%s\" port %d (address in use, "
				  "bad certificate or key?)",
				  opts->listen_host, opts->listen_port);
		goto out_free;
	}
	info = rest_mhd->MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : opts->listen_port;
	return s;

out_free:
	free(s->tls_cert);
	free(s->tls_key);
	free(s->tls_trust);
	pthread_cond_destroy(&s->actions_done);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->dns_lock);
	pthread_mutex_destroy(&s->ip_lock);
	rest_iptable_done(&s->ips);
	rest_snaps_done(&s->snaps);
	free(s);
	return NULL;
}

void rest_server_free(struct rest_server *server)
{
	if (!server)
		return;
	/* Stop taking new actions and let running ones resume their connections first: MHD must
	 * not be stopped with suspended connections. The callbacks' own bounds limit this wait. */
	pthread_mutex_lock(&server->lock);
	server->stopping = true;
	while (server->actions_running > 0)
		pthread_cond_wait(&server->actions_done, &server->lock);
	pthread_mutex_unlock(&server->lock);
	rest_mhd->MHD_stop_daemon(
		server->daemon); /* joins the pool threads before their references go */
	rest_snaps_done(&server->snaps);
	free(server->tls_cert);
	free(server->tls_key);
	free(server->tls_trust);
	pthread_cond_destroy(&server->actions_done);
	pthread_mutex_destroy(&server->lock);
	pthread_mutex_destroy(&server->dns_lock);
	pthread_mutex_destroy(&server->ip_lock);
	rest_iptable_done(&server->ips);
	free(server);
}
