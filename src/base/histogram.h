/*
 * histogram.h - a fixed-bucket duration histogram, the one shape every gsha latency takes (the
 * HA cycle, etcd requests), so /metrics renders them all alike as Prometheus histograms.
 */
#ifndef GSHA_HISTOGRAM_H
#define GSHA_HISTOGRAM_H

#include <stdint.h>

/* Upper bounds from 1 ms to 10 s: an etcd round trip on a LAN is a few ms, an HA cycle that
 * takes seconds is the thing to see. Past the last bound a value counts only in +Inf. */
#define HISTOGRAM_BUCKETS 13

/* The bounds in microseconds, ascending. */
extern const int64_t histogram_bounds_us[HISTOGRAM_BUCKETS];

/* Plain data, copyable into snapshots. counts are per bucket (not cumulative): counts[i] holds
 * the values v with bounds[i-1] < v <= bounds[i]; count is every value, +Inf included. */
struct histogram {
	uint64_t counts[HISTOGRAM_BUCKETS];
	uint64_t count;
	int64_t sum_us; /* sum of the values, microseconds */
};

/* Adds one value (microseconds; a negative one counts as 0). Not thread-safe: the owner locks. */
void histogram_observe_us(struct histogram *h, int64_t us);

/* The number of values at or below bounds[i] (Prometheus' cumulative "le" bucket). */
uint64_t histogram_cumulative(const struct histogram *h, int i);

#endif
