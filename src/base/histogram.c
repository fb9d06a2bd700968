/*
 * histogram.c - the fixed-bucket duration histogram (histogram.h).
 */
#include "histogram.h"

const int64_t histogram_bounds_us[HISTOGRAM_BUCKETS] = {
	1000,	2500,	5000,	 10000,	  25000,   50000,    100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void histogram_observe_us(struct histogram *h, int64_t us)
{
	if (us < 0)
		us = 0;
	for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
		if (us <= histogram_bounds_us[i]) {
			h->counts[i]++;
			break;
		}
	}
	h->count++;
	h->sum_us += us;
}

uint64_t histogram_cumulative(const struct histogram *h, int i)
{
	uint64_t n = 0;

	for (int k = 0; k <= i && k < HISTOGRAM_BUCKETS; k++)
		n += h->counts[k];
	return n;
}
