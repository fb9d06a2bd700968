/*
 * ha_retry.c - the pace and the voice of a failing action (ha_retry.h).
 */
#include "ha_retry.h"

#include <stdbool.h>
#include <string.h>

enum ha_retry_say ha_retry_note(struct ha_retry *r, const char *failure, int64_t now_ms)
{
	size_t n;

	if (failure == NULL || failure[0] == '\0') {
		bool was_failing = r->count > 0;

		r->count = 0;
		r->same = 0;
		if (!was_failing)
			return HA_RETRY_SILENT;
		memcpy(r->cleared, r->last, sizeof(r->cleared));
		r->last[0] = '\0';
		return HA_RETRY_RECOVERED;
	}
	r->count++;
	if (r->count > 1 && strncmp(r->last, failure, sizeof(r->last) - 1) == 0) {
		r->same++;
		if (now_ms - r->reported_ms < HA_RETRY_REMIND_MS)
			return HA_RETRY_SILENT;
		r->reported_ms = now_ms;
		return HA_RETRY_REMIND;
	}
	/* A log line, not data: a longer one keeps its start, which is what repeats compare. */
	n = strnlen(failure, sizeof(r->last) - 1);
	memcpy(r->last, failure, n);
	r->last[n] = '\0';
	r->same = 1;
	r->reported_ms = now_ms;
	return HA_RETRY_REPORT;
}

int64_t ha_retry_wait_ms(const struct ha_retry *r, int64_t first_ms, int64_t loop_wait_ms)
{
	int64_t shift = r->count > 1 ? r->count - 1 : 0, wait = first_ms;

	if (shift > HA_RETRY_SHIFT_MAX)
		shift = HA_RETRY_SHIFT_MAX;
	if (r->count > 0)
		wait = first_ms << shift;
	if (loop_wait_ms > 0 && wait > loop_wait_ms)
		wait = loop_wait_ms;
	return wait;
}
