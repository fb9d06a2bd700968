/*
 * nfq-delay: holds every packet of an iptables NFQUEUE queue for a fixed delay, then accepts it
 * (the fault suite's stand-in for netem, which this kernel lacks; docs/faults.md).
 *
 *   nfq-delay QUEUE_NUM DELAY_MS
 *
 * It speaks nfnetlink_queue over a raw NETLINK_NETFILTER socket: bind the queue (copy mode
 * "meta": the payload is not needed), read each packet's id, and after DELAY_MS send an
 * NF_ACCEPT verdict. A fixed delay on a FIFO keeps the packet order. The queue is bound in the
 * network namespace the program runs in (ip netns exec). On SIGTERM or SIGINT every held packet
 * is accepted before exit, so stopping the delayer never drops traffic. libnetfilter_queue would
 * do the same in fewer lines, but it is another library to install for 200 lines of netlink.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ND_MAX_HELD 65536	/* packets held at once; the kernel queue is sized to match */
#define ND_RECV_BYTES 65536	/* one recv: many packet messages of metadata only */
#define ND_SEND_BYTES 256	/* one config or verdict message */
#define ND_RCVBUF_BYTES 4194304 /* a burst of queued packets must not overflow the socket */
#define ND_MAX_DELAY_MS 60000

struct nd_held {
	uint32_t id;	/* the kernel's packet id */
	int64_t due_ms; /* monotonic instant of the verdict */
};

static struct nd_held nd_ring[ND_MAX_HELD];
static size_t nd_head, nd_count;
static volatile sig_atomic_t nd_stop;

static void nd_on_signal(int sig)
{
	(void)sig;
	nd_stop = 1;
}

static int64_t nd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends one attribute at *len in buf; returns 0 or -ENOSPC. */
static int nd_put_attr(char *buf, size_t size, size_t *len, uint16_t type, const void *data,
		       size_t data_len)
{
	struct nlattr *a = (struct nlattr *)(buf + *len);
	size_t total = NLA_ALIGN(NLA_HDRLEN + data_len);
	if (*len + total > size)
		return -ENOSPC;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + data_len);
	memcpy((char *)a + NLA_HDRLEN, data, data_len);
	*len += total;
	return 0;
}

/* Starts a queue message of TYPE in buf; returns its length so far. */
static size_t nd_start(char *buf, uint16_t type, uint16_t flags, uint16_t queue)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nfgenmsg *nfg = (struct nfgenmsg *)(buf + NLMSG_HDRLEN);
	memset(buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nfg)));
	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(queue);
	return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nfg));
}

static int nd_send(int fd, char *buf, size_t len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		return -errno;
	return 0;
}

/* Binds queue: the command, copy mode meta, a kernel queue as long as ours, fail-open (a full
 * queue accepts rather than drops). Returns 0 or a negative errno from the kernel's ack. */
static int nd_bind(int fd, uint16_t queue)
{
	char buf[ND_SEND_BYTES], ack[ND_SEND_BYTES];
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET) };
	struct nfqnl_msg_config_params params = { .copy_range = htonl(0),
						  .copy_mode = NFQNL_COPY_META };
	uint32_t maxlen = htonl(ND_MAX_HELD);
	uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
	size_t len;
	ssize_t n;
	int steps;

	for (steps = 0; steps < 2; steps++) {
		len = nd_start(buf, NFQNL_MSG_CONFIG, NLM_F_ACK, queue);
		if (steps == 0) {
			if (nd_put_attr(buf, sizeof(buf), &len, NFQA_CFG_CMD, &cmd, sizeof(cmd)) !=
			    0)
				return -ENOSPC;
		} else if (nd_put_attr(buf, sizeof(buf), &len, NFQA_CFG_PARAMS, &params,
				       sizeof(params)) != 0 ||
			   nd_put_attr(buf, sizeof(buf), &len, NFQA_CFG_QUEUE_MAXLEN, &maxlen,
				       sizeof(maxlen)) != 0 ||
			   nd_put_attr(buf, sizeof(buf), &len, NFQA_CFG_FLAGS, &flags,
				       sizeof(flags)) != 0 ||
			   nd_put_attr(buf, sizeof(buf), &len, NFQA_CFG_MASK, &flags,
				       sizeof(flags)) != 0) {
			return -ENOSPC;
		}
		if (nd_send(fd, buf, len) != 0)
			return -errno;
		n = recv(fd, ack, sizeof(ack), 0);
		if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(struct nlmsgerr)))
			return -EPROTO;
		if (((struct nlmsghdr *)ack)->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = (struct nlmsgerr *)(ack + NLMSG_HDRLEN);
			if (e->error != 0)
				return e->error;
		}
	}
	return 0;
}

static int nd_verdict(int fd, uint16_t queue, uint32_t id)
{
	char buf[ND_SEND_BYTES];
	struct nfqnl_msg_verdict_hdr v = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
	size_t len = nd_start(buf, NFQNL_MSG_VERDICT, 0, queue);
	if (nd_put_attr(buf, sizeof(buf), &len, NFQA_VERDICT_HDR, &v, sizeof(v)) != 0)
		return -ENOSPC;
	return nd_send(fd, buf, len);
}

/* Holds every packet of one recv's messages; a packet beyond the ring is accepted at once. */
static void nd_take(int fd, uint16_t queue, const char *buf, size_t n, int64_t delay_ms)
{
	const struct nlmsghdr *nlh;
	for (nlh = (const struct nlmsghdr *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
		size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
		if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET)
			continue;
		while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
			const struct nlattr *a = (const struct nlattr *)((const char *)nlh + off);
			if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nlh->nlmsg_len)
				break;
			if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
			    a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
				struct nfqnl_msg_packet_hdr ph;
				memcpy(&ph, (const char *)a + NLA_HDRLEN, sizeof(ph));
				if (nd_count == ND_MAX_HELD) {
					(void)nd_verdict(fd, queue, ntohl(ph.packet_id));
				} else {
					nd_ring[(nd_head + nd_count) % ND_MAX_HELD] =
						(struct nd_held){
							.id = ntohl(ph.packet_id),
							.due_ms = nd_now_ms() + delay_ms,
						};
					nd_count++;
				}
				break;
			}
			off += NLA_ALIGN(a->nla_len);
		}
	}
}

/* Accepts every held packet that is due (all of them when all is set). */
static void nd_release(int fd, uint16_t queue, int all)
{
	while (nd_count > 0 && (all || nd_ring[nd_head].due_ms <= nd_now_ms())) {
		(void)nd_verdict(fd, queue, nd_ring[nd_head].id);
		nd_head = (nd_head + 1) % ND_MAX_HELD;
		nd_count--;
	}
}

static int nd_parse(const char *s, long max, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= 0 && *out <= max ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static char buf[ND_RECV_BYTES];
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int rcvbuf = ND_RCVBUF_BYTES;
	long queue, delay;
	int fd, rc;

	if (argc != 3 || nd_parse(argv[1], 65535, &queue) != 0 ||
	    nd_parse(argv[2], ND_MAX_DELAY_MS, &delay) != 0) {
		fprintf(stderr, "usage: nfq-delay QUEUE_NUM DELAY_MS\n");
		return 2;
	}
	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
		fprintf(stderr, "nfq-delay: netlink socket: %s\n", strerror(errno));
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	rc = nd_bind(fd, (uint16_t)queue);
	if (rc != 0) {
		fprintf(stderr, "nfq-delay: could not bind queue %ld: %s\n", queue, strerror(-rc));
		return 1;
	}
	signal(SIGTERM, nd_on_signal);
	signal(SIGINT, nd_on_signal);
	fprintf(stderr, "nfq-delay: holding the packets of queue %ld for %ld ms\n", queue, delay);
	while (!nd_stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t wait_ms = 1000;
		ssize_t n;
		if (nd_count > 0) {
			wait_ms = nd_ring[nd_head].due_ms - nd_now_ms();
			if (wait_ms < 0)
				wait_ms = 0;
		}
		if (poll(&pfd, 1, (int)wait_ms) > 0) {
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				nd_take(fd, (uint16_t)queue, buf, (size_t)n, delay);
			else if (n < 0 && errno == ENOBUFS)
				fprintf(stderr,
					"nfq-delay: socket overrun, some packets were lost\n");
		}
		nd_release(fd, (uint16_t)queue, 0);
	}
	nd_release(fd, (uint16_t)queue, 1);
	close(fd);
	return 0;
}
