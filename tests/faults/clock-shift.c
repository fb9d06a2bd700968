/*
 * clock-shift.so: a TEST TOOL of the fault suite, never part of gsha. An LD_PRELOAD library that
 * adds an offset to the wall clock of the process it is loaded into (and of its children, which
 * inherit LD_PRELOAD), so the "clock-step" scenario can step one node's wall clock without
 * touching the machine's (docs/faults.md: CLOCK_REALTIME cannot be namespaced, and the machine
 * is shared).
 *
 *   LD_PRELOAD=.../clock-shift.so CLOCK_SHIFT_FILE=/path/to/offset PROGRAM ...
 *
 * The file holds the offset in milliseconds as one signed decimal integer ("3600000", "-3600000",
 * "0"); a missing, empty or unparsable file means 0. It is read again at most every
 * CS_REREAD_MS of CLOCK_MONOTONIC_COARSE, so a writer that replaces it (write a temporary file,
 * rename it over) steps the clock of every process within that time, without a syscall per call.
 *
 * Shifted: clock_gettime(CLOCK_REALTIME and CLOCK_REALTIME_COARSE), gettimeofday(), time() and
 * timespec_get(TIME_UTC): what programs call through libc (the vDSO is reached only through
 * these, so interposing them is enough). Never shifted: CLOCK_MONOTONIC, CLOCK_BOOTTIME and the
 * others, which a real step of the wall clock does not move either. Not shifted either (a real
 * step would move them): kernel timers armed on CLOCK_REALTIME (timerfd, pthread_cond_timedwait
 * on a realtime condition, clock_nanosleep with TIMER_ABSTIME); gsha, Python's threading and
 * PostgreSQL's latches use relative or monotonic waits. The variable is not GSHA_*: gsha reads
 * those as settings and strips them from PostgreSQL's environment.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CS_REREAD_MS 20 /* how stale the offset may be: a step lands within this */
#define CS_FILE_MAX 32	/* bytes read from the file: a 64-bit integer and a newline */
#define CS_NS_PER_MS 1000000LL
#define CS_NS_PER_S 1000000000LL

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static _Atomic(clock_gettime_fn) real_clock_gettime;
static _Atomic int64_t offset_ns;	  /* the offset last read */
static _Atomic int64_t next_read_ns = -1; /* CLOCK_MONOTONIC_COARSE of the next read; -1 = never */

static clock_gettime_fn real(void)
{
	clock_gettime_fn f = atomic_load(&real_clock_gettime);

	if (f == NULL) {
		f = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
		if (f == NULL)
			abort(); /* no libc below us: nothing sensible to return */
		atomic_store(&real_clock_gettime, f);
	}
	return f;
}

/* Parses "[-]digits[\n]" into ms; false on anything else. */
static int parse_ms(const char *s, int64_t *ms)
{
	int64_t v = 0;
	int neg = 0, digits = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++, digits++) {
		if (v > (INT64_MAX / CS_NS_PER_MS - 9) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	while (*s == '\n' || *s == ' ' || *s == '\r')
		s++;
	if (digits == 0 || *s != '\0')
		return 0;
	*ms = neg ? -v : v;
	return 1;
}

static int64_t read_offset_ns(void)
{
	const char *path = getenv("CLOCK_SHIFT_FILE");
	char buf[CS_FILE_MAX + 1];
	ssize_t n;
	int64_t ms = 0;
	int fd, saved = errno;

	if (path == NULL || *path == '\0')
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = saved;
		return 0;
	}
	n = read(fd, buf, CS_FILE_MAX);
	close(fd);
	errno = saved;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return parse_ms(buf, &ms) ? ms * CS_NS_PER_MS : 0;
}

/* The current offset, read again when CS_REREAD_MS have passed. Threads race harmlessly: each
 * reads the same file and stores the same value. */
static int64_t offset(void)
{
	struct timespec m;
	int64_t now, next = atomic_load(&next_read_ns);

	if (real()(CLOCK_MONOTONIC_COARSE, &m) != 0)
		return atomic_load(&offset_ns);
	now = (int64_t)m.tv_sec * CS_NS_PER_S + m.tv_nsec;
	if (next < 0 || now >= next) {
		atomic_store(&offset_ns, read_offset_ns());
		atomic_store(&next_read_ns, now + CS_REREAD_MS * CS_NS_PER_MS);
	}
	return atomic_load(&offset_ns);
}

static void shift(struct timespec *ts, int64_t ns)
{
	int64_t t = (int64_t)ts->tv_sec * CS_NS_PER_S + ts->tv_nsec + ns;

	ts->tv_sec = (time_t)(t / CS_NS_PER_S);
	ts->tv_nsec = (long)(t % CS_NS_PER_S);
	if (ts->tv_nsec < 0) {
		ts->tv_sec--;
		ts->tv_nsec += CS_NS_PER_S;
	}
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = real()(id, ts);

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		shift(ts, offset());
	return rc;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz; /* obsolete; glibc ignores it too. tv is declared nonnull by glibc. */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *out)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	if (out != NULL)
		*out = ts.tv_sec;
	return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base)
{
	if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) != 0)
		return 0;
	return base;
}
