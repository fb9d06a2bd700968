/*
 * clock.h - the two clocks: monotonic for every deadline, wall only for display and etcd.
 */
#ifndef GSHA_CLOCK_H
#define GSHA_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_BOOTTIME: never jumps backwards and counts time suspended (leases keep
 * running in etcd while this host sleeps). Use for every *_ms deadline. */
int64_t clock_mono_ms(void);

/* Microseconds on the same clock, for measuring short durations (etcd round trips). */
int64_t clock_mono_us(void);

/* Milliseconds since the Unix epoch on CLOCK_REALTIME: for timestamps people read. */
int64_t clock_wall_ms(void);

/* Turns a clock_mono_ms() deadline into an absolute CLOCK_MONOTONIC time for
 * pthread_cond_timedwait on a condition variable set to CLOCK_MONOTONIC (glibc cannot time
 * condition variables on CLOCK_BOOTTIME, and the two clocks differ by the time suspended). */
void clock_cond_deadline(int64_t deadline_ms, struct timespec *out);

/* Sleeps for ms milliseconds, resuming after signals until the time has passed. */
void clock_sleep_ms(int64_t ms);

#endif
