/*
 * ha_retry.h - how the loop paces and reports an action that keeps failing (issue 11): the
 * retries back off from a quick first one to loop_wait, and the failure is reported when its
 * text changes (and once a minute while it lasts), not on every retry. Before this, a failed
 * action was retried every 50 ms with a warning each time.
 * Pure like ha_decide: the caller passes the clock and does the logging.
 */
#ifndef GSHA_HA_RETRY_H
#define GSHA_HA_RETRY_H

#include <stdint.h>

/* One failure line: what failed and why (a reason plus a database or etcd message). */
#define HA_RETRY_TEXT_MAX 1024
/* While the same failure lasts, it is reported again this often, with its count. */
#define HA_RETRY_REMIND_MS 60000
/* Doublings of the first wait before the cap; bounds the shift. */
#define HA_RETRY_SHIFT_MAX 20

struct ha_retry {
	char last[HA_RETRY_TEXT_MAX]; /* the failure being retried; "" = the last action worked */
	char cleared[HA_RETRY_TEXT_MAX]; /* after HA_RETRY_RECOVERED: the failure that ended */
	int64_t count;			 /* consecutive failed actions (any text); 0 = none */
	int64_t same;			 /* failures of the text in last since it changed */
	int64_t reported_ms;		 /* monotonic time last was last reported */
};

enum ha_retry_say {
	HA_RETRY_SILENT,    /* nothing new: the same failure again, or a success after success */
	HA_RETRY_REPORT,    /* a new or changed failure: log it at warning */
	HA_RETRY_REMIND,    /* the same failure for HA_RETRY_REMIND_MS: log it with its count */
	HA_RETRY_RECOVERED, /* an action worked after failures: say once that cleared ended */
};

/* Records the outcome of one cycle's action: failure is its one line, or NULL or "" when it
 * worked. Returns what the caller should log. r starts zeroed. */
enum ha_retry_say ha_retry_note(struct ha_retry *r, const char *failure, int64_t now_ms);

/* How long the loop waits before the next cycle after one that acted: first_ms after an action
 * that worked (observe its effect soon), then doubling with each consecutive failure up to
 * loop_wait_ms, which it never exceeds. */
int64_t ha_retry_wait_ms(const struct ha_retry *r, int64_t first_ms, int64_t loop_wait_ms);

#endif
