/*
 * clock.c - see clock.h.
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

static int64_t read_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	/* CLOCK_BOOTTIME is monotonic too, and also counts time suspended: etcd's lease TTL runs
	 * on while this host sleeps, so lease deadlines must not pause with it. */
	return read_ms(CLOCK_BOOTTIME);
}

int64_t clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}

void clock_cond_deadline(int64_t deadline_ms, struct timespec *out)
{
	int64_t left = deadline_ms - clock_mono_ms();

	if (left < 0)
		left = 0;
	clock_gettime(CLOCK_MONOTONIC, out);
	out->tv_sec += left / 1000;
	out->tv_nsec += (left % 1000) * 1000000;
	if (out->tv_nsec >= 1000000000) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000;
	}
}

void clock_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
