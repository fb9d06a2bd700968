/*
 * rest-paced - a paced HTTP health-check load generator (benchmark tool, not a test).
 *
 *   rest-paced PORT PATH RATE SECONDS [CONNECTIONS] [--window-ms N]
 *
 * Sends GET PATH to 127.0.0.1:PORT at a steady RATE requests per second for SECONDS, each on a
 * new connection as HAProxy's checks and Kubernetes probes do ("GET PATH HTTP/1.0", read to
 * the end of the answer), with at most CONNECTIONS (default 64) in flight. wrk cannot pace: it
 * measures a saturated server. Latency counts from the instant a request was due, not from
 * when it was sent, so a stall shows up in full instead of pausing the clock (no coordinated
 * omission). Prints the percentiles, the count of non-2xx/3xx answers and of failures
 * (connection refused, reset, no answer within 5 s), and with --window-ms one line per window
 * (due requests, answered, failures, max latency): what a switchover does to health checks.
 * Single-threaded, non-blocking sockets on epoll. Between requests it sleeps until the next
 * due instant (epoll_pwait2, microseconds), as a health checker does: a client that polled
 * would take a whole core of this 2-core machine away from the server it measures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A request without a complete answer after this long counts as failed. */
#define PACED_TIMEOUT_US 5000000LL
/* Bytes of an answer kept (the status line is all that is parsed). */
#define PACED_ANSWER_MAX 512
/* The most connections in flight that may be asked for. */
#define PACED_CONNS_MAX 1024
/* The longest request line. */
#define PACED_REQUEST_MAX 600
/* The longest sleep: the 5 s deadlines of requests in flight are checked after each wait. */
#define PACED_IDLE_US 10000
/* Windows kept for --window-ms output. */
#define PACED_WINDOWS_MAX 100000

struct slot {
	int fd; /* -1: free */
	int64_t due_us;
	size_t sent;
	size_t got;
	char answer[PACED_ANSWER_MAX];
};

struct window {
	long due, ok, bad_status, failed;
	int64_t max_us;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double pct_ms(const int64_t *v, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

int main(int argc, char **argv)
{
	static struct slot slots[PACED_CONNS_MAX];
	static struct window windows[PACED_WINDOWS_MAX];
	long port, rate, seconds, conns = 64, window_ms = 0;
	char request[PACED_REQUEST_MAX];
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int64_t *lat, start, interval_ns, end_us;
	long total, issued = 0, done = 0, ok = 0, bad_status = 0, failed = 0, nlat = 0;
	long nwindows = 0, inflight = 0;
	int ep, argi = 5;

	if (argc < 5 || parse_long(argv[1], 1, 65535, &port) || strlen(argv[2]) > 512 ||
	    argv[2][0] != '/' || parse_long(argv[3], 1, 1000000, &rate) ||
	    parse_long(argv[4], 1, 3600, &seconds)) {
		fprintf(stderr, "usage: rest-paced PORT PATH RATE SECONDS [CONNECTIONS] "
				"[--window-ms N]\n");
		return 2;
	}
	if (argi < argc && argv[argi][0] != '-' &&
	    parse_long(argv[argi++], 1, PACED_CONNS_MAX, &conns) != 0) {
		fprintf(stderr, "CONNECTIONS must be 1..%d\n", PACED_CONNS_MAX);
		return 2;
	}
	if (argi + 1 < argc && strcmp(argv[argi], "--window-ms") == 0 &&
	    parse_long(argv[argi + 1], 10, 60000, &window_ms) == 0)
		argi += 2;
	if (argi != argc) {
		fprintf(stderr, "unexpected argument \"%s\"\n", argv[argi]);
		return 2;
	}
	total = rate * seconds;
	if (window_ms) {
		nwindows = seconds * 1000 / window_ms + 1;
		if (nwindows > PACED_WINDOWS_MAX) {
			fprintf(stderr, "too many windows\n");
			return 2;
		}
	}
	snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", argv[2]);
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lat = calloc((size_t)total, sizeof(*lat));
	ep = epoll_create1(0);
	if (!lat || ep < 0) {
		perror("rest-paced");
		return 1;
	}
	for (long i = 0; i < conns; i++)
		slots[i].fd = -1;
	/* wake at the due instant, not up to 50 us later (the default slack): that lateness
	 * would count as the server's latency */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	interval_ns = 1000000000LL / rate;
	start = now_us() + 10000;
	end_us = start + seconds * 1000000LL + PACED_TIMEOUT_US + 1000000;

	while (done < total && now_us() < end_us) {
		struct epoll_event evs[64];
		int64_t t = now_us();
		int64_t next_due = start + (issued * interval_ns) / 1000;
		struct timespec timeout;
		int64_t wait_us;
		int n;

		/* start every request that is due, while a connection slot is free */
		while (issued < total && next_due <= t && inflight < conns) {
			struct slot *s = NULL;
			struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
			int one = 1;

			for (long i = 0; i < conns && !s; i++)
				if (slots[i].fd < 0)
					s = &slots[i];
			s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			s->due_us = next_due;
			s->sent = s->got = 0;
			issued++;
			if (window_ms)
				windows[(next_due - start) / 1000 / window_ms].due++;
			if (s->fd < 0 ||
			    (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
			     errno != EINPROGRESS)) {
				if (s->fd >= 0)
					close(s->fd);
				s->fd = -1;
				failed++;
				done++;
				if (window_ms)
					windows[(s->due_us - start) / 1000 / window_ms].failed++;
			} else {
				(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one,
						 sizeof(one));
				ev.data.ptr = s;
				(void)epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
				inflight++;
			}
			next_due = start + (issued * interval_ns) / 1000;
		}
		/* Sleep until the next request is due (to the microsecond: epoll_wait's
		 * milliseconds would round a 1 ms interval down to 0 and spin a core), or
		 * until an answer comes, or at most PACED_IDLE_US. */
		wait_us = PACED_IDLE_US;
		if (issued < total && inflight < conns)
			wait_us = next_due > t ? next_due - t : 0;
		if (wait_us > PACED_IDLE_US)
			wait_us = PACED_IDLE_US;
		timeout.tv_sec = (time_t)(wait_us / 1000000);
		timeout.tv_nsec = (long)(wait_us % 1000000) * 1000;
		n = epoll_pwait2(ep, evs, 64, &timeout, NULL);
		t = now_us();
		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;
			bool finished = false, good = false;

			if (s->sent < strlen(request) && (evs[i].events & EPOLLOUT)) {
				ssize_t w = send(s->fd, request + s->sent,
						 strlen(request) - s->sent, MSG_NOSIGNAL);

				if (w > 0) {
					s->sent += (size_t)w;
					if (s->sent == strlen(request)) {
						struct epoll_event ev = { .events = EPOLLIN,
									  .data.ptr = s };

						(void)epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
					}
				} else if (w < 0 && errno != EAGAIN) {
					finished = true;
				}
			}
			if (!finished && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
				char sink[4096];
				ssize_t r = recv(s->fd, sink, sizeof(sink), 0);

				if (r > 0) {
					size_t keep = (size_t)r;

					if (keep > sizeof(s->answer) - 1 - s->got)
						keep = sizeof(s->answer) - 1 - s->got;
					memcpy(s->answer + s->got, sink, keep);
					s->got += keep;
				} else if (r == 0) {
					finished = true;
					good = true;
				} else if (errno != EAGAIN) {
					finished = true;
				}
			}
			if (!finished)
				continue;
			s->answer[s->got] = '\0';
			close(s->fd);
			s->fd = -1;
			inflight--;
			done++;
			{
				int64_t l = t - s->due_us;
				long w = window_ms ? (s->due_us - start) / 1000 / window_ms : 0;
				int code = 0;

				if (good && sscanf(s->answer, "HTTP/%*s %d", &code) == 1 &&
				    code >= 200 && code < 400) {
					ok++;
					lat[nlat++] = l;
					if (window_ms)
						windows[w].ok++;
				} else if (good && code > 0) {
					bad_status++;
					lat[nlat++] = l;
					if (window_ms)
						windows[w].bad_status++;
				} else {
					failed++;
					if (window_ms)
						windows[w].failed++;
				}
				if (window_ms && l > windows[w].max_us)
					windows[w].max_us = l;
			}
		}
		/* give up on requests without an answer in time */
		for (long i = 0; i < conns; i++) {
			if (slots[i].fd >= 0 && t - slots[i].due_us > PACED_TIMEOUT_US) {
				close(slots[i].fd);
				slots[i].fd = -1;
				inflight--;
				done++;
				failed++;
				if (window_ms)
					windows[(slots[i].due_us - start) / 1000 / window_ms]
						.failed++;
			}
		}
	}
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_i64);
	if (window_ms) {
		for (long w = 0; w < nwindows; w++)
			if (windows[w].due)
				printf("window %ld ms: due %ld ok %ld non-2xx %ld failed %ld max "
				       "%.3f ms\n",
				       w * window_ms, windows[w].due, windows[w].ok,
				       windows[w].bad_status, windows[w].failed,
				       (double)windows[w].max_us / 1000.0);
	}
	printf("paced %ld req/s for %ld s on %ld connections: sent %ld answered %ld (2xx/3xx %ld, "
	       "other status %ld) failed %ld not sent %ld\n",
	       rate, seconds, conns, issued, ok + bad_status, ok, bad_status, failed,
	       total - issued);
	printf("latency from due time: p50 %.3f ms p90 %.3f ms p99 %.3f ms p99.9 %.3f ms max %.3f "
	       "ms\n",
	       pct_ms(lat, nlat, 50), pct_ms(lat, nlat, 90), pct_ms(lat, nlat, 99),
	       pct_ms(lat, nlat, 99.9), nlat ? (double)lat[nlat - 1] / 1000.0 : 0.0);
	free(lat);
	close(ep);
	return 0;
}
