/*
 * fake-watchdog.c - a FAKE Linux watchdog device for the integration tests (there is no watchdog
 * device, softdog or CUSE here). A FUSE file system spoken over /dev/fuse directly (the kernel
 * protocol of <linux/fuse.h>, no libfuse) that exposes one file, MOUNT/watchdog, behaving as a
 * Linux watchdog device:
 * - one open at a time (-EBUSY otherwise); an open starts the timer (default 60 s);
 * - WDIOC_GETSUPPORT (SETTIMEOUT | MAGICCLOSE | KEEPALIVEPING), WDIOC_SETTIMEOUT (pings),
 *   WDIOC_GETTIMEOUT, WDIOC_KEEPALIVE, WDIOC_GETTIMELEFT; a write pings, a 'V' in it arms the
 *   magic close;
 * - the last close after a 'V' stops the timer; without one it keeps running ("nowayout"-like:
 *   the kernel's "watchdog did not stop!");
 * - when the timer runs out it "resets the node": it SIGKILLs every pid (or -pgid) listed in the
 *   targets file, as a reboot would, records it, and stops.
 * Every event goes to the log file, one line: "<monotonic ms> <wall ms> <event> [value]".
 *
 * Usage: fake-watchdog MOUNT_DIR LOG_FILE TARGETS_FILE. Runs as root, mounts on MOUNT_DIR,
 * prints "ready" on stdout once mounted, and unmounts on SIGTERM/SIGINT.
 * FUSE passes these ioctls because they are "restricted" ones: their argument's size and
 * direction are encoded in the command number, which is all the kernel needs to copy them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/watchdog.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROOT_ID 1
#define FILE_ID 2
#define FILE_NAME "watchdog"
/* A FUSE read must offer at least this much (FUSE_MIN_READ_BUFFER) plus the largest write. */
#define BUF_BYTES (1 << 17)
#define MAX_WRITE 4096
#define DEFAULT_TIMEOUT_S 60

static volatile sig_atomic_t stop;
static FILE *log_file;
static const char *targets_path;

static struct {
	bool open;
	bool running;
	bool magic; /* a 'V' since the open */
	bool fired;
	int timeout_s;
	int64_t last_ping_ms;
} wd = { .timeout_s = DEFAULT_TIMEOUT_S };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void event(const char *fmt, ...)
{
	struct timespec wall;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &wall);
	fprintf(log_file, "%lld %lld ", (long long)now_ms(),
		(long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(log_file, fmt, ap);
	va_end(ap);
	fputc('\n', log_file);
	fflush(log_file);
}

static void ping(void)
{
	wd.last_ping_ms = now_ms();
}

/* The reset: SIGKILL of every target, as a reboot would. */
static void fire(void)
{
	FILE *f = fopen(targets_path, "r");
	char line[64];

	event("fire late_by_ms=%lld",
	      (long long)(now_ms() - wd.last_ping_ms - (int64_t)wd.timeout_s * 1000));
	wd.fired = true;
	wd.running = false;
	if (f == NULL) {
		event("no-targets %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end;
		long v = strtol(line, &end, 10);

		if (end == line || v == 0 || v == 1 || v == -1)
			continue;
		event("kill %ld %s", v, kill((pid_t)v, SIGKILL) == 0 ? "ok" : strerror(errno));
	}
	fclose(f);
}

static void reply(int fd, uint64_t unique, int error, const void *body, size_t len)
{
	char buf[sizeof(struct fuse_out_header) + 512];
	struct fuse_out_header *h = (void *)buf;

	if (len > sizeof(buf) - sizeof(*h))
		len = 0;
	h->len = (uint32_t)(sizeof(*h) + (error ? 0 : len));
	h->error = error;
	h->unique = unique;
	if (!error && len)
		memcpy(buf + sizeof(*h), body, len);
	if (write(fd, buf, h->len) < 0 && errno != ENOENT)
		event("reply-failed %s", strerror(errno));
}

static void fill_attr(uint64_t id, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = id;
	a->mode = id == ROOT_ID ? (S_IFDIR | 0755) : (S_IFREG | 0666);
	a->nlink = id == ROOT_ID ? 2 : 1;
	a->blksize = 4096;
}

static void do_ioctl(int fd, const struct fuse_in_header *in, const struct fuse_ioctl_in *io,
		     const char *data)
{
	char buf[sizeof(struct fuse_ioctl_out) + sizeof(struct watchdog_info)];
	struct fuse_ioctl_out *out = (void *)buf;
	size_t len = 0;
	int v = 0;

	memset(buf, 0, sizeof(buf));
	switch (io->cmd) {
	case WDIOC_GETSUPPORT: {
		struct watchdog_info info = { .options = WDIOF_SETTIMEOUT | WDIOF_MAGICCLOSE |
							 WDIOF_KEEPALIVEPING };

		snprintf((char *)info.identity, sizeof(info.identity), "fake-watchdog");
		memcpy(buf + sizeof(*out), &info, sizeof(info));
		len = sizeof(info);
		break;
	}
	case WDIOC_SETTIMEOUT:
		if (io->in_size < sizeof(int)) {
			reply(fd, in->unique, -EINVAL, NULL, 0);
			return;
		}
		memcpy(&v, data, sizeof(v));
		if (v < 1 || v > 3600) {
			reply(fd, in->unique, -EINVAL, NULL, 0);
			return;
		}
		wd.timeout_s = v;
		ping();
		event("settimeout %d", v);
		memcpy(buf + sizeof(*out), &v, sizeof(v));
		len = sizeof(v);
		break;
	case WDIOC_GETTIMEOUT:
		memcpy(buf + sizeof(*out), &wd.timeout_s, sizeof(int));
		len = sizeof(int);
		break;
	case WDIOC_GETTIMELEFT:
		v = wd.running ? (int)((wd.last_ping_ms + wd.timeout_s * 1000LL - now_ms()) / 1000)
			       : 0;
		memcpy(buf + sizeof(*out), &v, sizeof(v));
		len = sizeof(v);
		break;
	case WDIOC_KEEPALIVE:
		ping();
		event("keepalive");
		memcpy(buf + sizeof(*out), &v, sizeof(v));
		len = sizeof(v);
		break;
	default:
		reply(fd, in->unique, -ENOTTY, NULL, 0);
		return;
	}
	if (len > io->out_size)
		len = io->out_size;
	reply(fd, in->unique, 0, buf, sizeof(*out) + len);
}

static void handle(int fd, const char *msg)
{
	const struct fuse_in_header *in = (const void *)msg;
	const char *arg = msg + sizeof(*in);

	switch (in->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *i = (const void *)arg;
		struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
					   .minor = FUSE_KERNEL_MINOR_VERSION,
					   .max_readahead = i->max_readahead,
					   .max_write = MAX_WRITE,
					   .time_gran = 1,
					   .max_background = 4,
					   .congestion_threshold = 3 };

		reply(fd, in->unique, 0, &o, sizeof(o));
		event("init %u.%u", i->major, i->minor);
		break;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out e;

		if (in->nodeid != ROOT_ID || strcmp(arg, FILE_NAME) != 0) {
			reply(fd, in->unique, -ENOENT, NULL, 0);
			break;
		}
		memset(&e, 0, sizeof(e));
		e.nodeid = FILE_ID;
		e.generation = 1;
		fill_attr(FILE_ID, &e.attr);
		reply(fd, in->unique, 0, &e, sizeof(e));
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a;

		memset(&a, 0, sizeof(a));
		fill_attr(in->nodeid == ROOT_ID ? ROOT_ID : FILE_ID, &a.attr);
		reply(fd, in->unique, 0, &a, sizeof(a));
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_out o = { .fh = 1,
					   .open_flags = FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE };

		if (in->nodeid != FILE_ID) {
			reply(fd, in->unique, -EISDIR, NULL, 0);
			break;
		}
		if (wd.open) {
			event("open-busy pid=%u", in->pid);
			reply(fd, in->unique, -EBUSY, NULL, 0);
			break;
		}
		wd.open = true;
		wd.magic = false;
		if (!wd.running)
			ping();
		wd.running = true;
		event("open pid=%u uid=%u", in->pid, in->uid);
		reply(fd, in->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_WRITE: {
		const struct fuse_write_in *w = (const void *)arg;
		const char *data = arg + sizeof(*w);
		struct fuse_write_out o = { .size = w->size };

		if (memchr(data, 'V', w->size) != NULL) {
			wd.magic = true;
			event("write-magic");
		}
		ping();
		reply(fd, in->unique, 0, &o, sizeof(o));
		break;
	}
	case FUSE_IOCTL: {
		const struct fuse_ioctl_in *io = (const void *)arg;

		do_ioctl(fd, in, io, arg + sizeof(*io));
		break;
	}
	case FUSE_FLUSH:
		reply(fd, in->unique, 0, NULL, 0);
		break;
	case FUSE_RELEASE:
		if (in->nodeid == FILE_ID && wd.open) {
			wd.open = false;
			if (wd.magic) {
				wd.running = false;
				event("magic-close");
			} else {
				event("unexpected-close still-running");
			}
		}
		reply(fd, in->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break; /* no reply */
	case FUSE_DESTROY:
		reply(fd, in->unique, 0, NULL, 0);
		stop = 1;
		break;
	default:
		reply(fd, in->unique, -ENOSYS, NULL, 0);
		break;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static char buf[BUF_BYTES];
	struct sigaction sa = { .sa_handler = on_signal };
	char opts[128];
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: fake-watchdog MOUNT_DIR LOG_FILE TARGETS_FILE\n");
		return 2;
	}
	targets_path = argv[3];
	log_file = fopen(argv[2], "a");
	if (log_file == NULL) {
		perror(argv[2]);
		return 1;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("/dev/fuse");
		return 1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("fake-watchdog", argv[1], "fuse.fake-watchdog", MS_NOSUID | MS_NODEV, opts) !=
	    0) {
		perror("mount");
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int wait = -1;
		ssize_t n;

		if (wd.running) {
			int64_t left = wd.last_ping_ms + wd.timeout_s * 1000LL - now_ms();

			if (left <= 0) {
				fire();
				continue;
			}
			wait = left > 1000 ? 1000 : (int)left;
		}
		if (poll(&p, 1, wait) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR || errno == ENOENT || errno == EAGAIN)
				continue;
			if (errno == ENODEV) /* unmounted */
				break;
			event("read-failed %s", strerror(errno));
			break;
		}
		if ((size_t)n >= sizeof(struct fuse_in_header))
			handle(fd, buf);
	}
	if (umount2(argv[1], MNT_DETACH) != 0 && errno != EINVAL)
		event("umount-failed %s", strerror(errno));
	event("exit running=%d fired=%d", wd.running, wd.fired);
	fclose(log_file);
	return 0;
}
