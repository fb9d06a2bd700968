/*
 * rest_snaps.h - the snapshot the HA loop publishes, as the server's request threads read it
 * (rest_snaps.c): reference-counted, swapped under a mutex the publisher holds only for the
 * swap, and borrowed by pool threads without a lock in the steady state.
 */
#ifndef GSHA_REST_SNAPS_H
#define GSHA_REST_SNAPS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rest.h"
#include "rest_cache.h"

/* Threads that may borrow (the server's pool is at most this large). */
#define REST_SNAPS_WORKERS_MAX 16

/* One published snapshot with its rendered health answers; freed with its last reference. */
struct snap_ref {
	atomic_int refs;
	struct rest_cache cache;
	struct rest_snapshot snap;
};

/* What a thread keeps between requests: the snapshot it used last and its generation. Only
 * the owning thread touches ref and generation; tid is written once, before count covers it. */
struct rest_snaps_worker {
	pthread_t tid;
	uint64_t generation;
	struct snap_ref *ref;
};

struct rest_snaps {
	pthread_mutex_t lock; /* guards current and the claiming of worker slots */
	struct snap_ref *current;
	atomic_uint_fast64_t generation; /* of current: written under lock, read without */
	struct rest_snaps_worker workers[REST_SNAPS_WORKERS_MAX];
	atomic_int worker_count;
};

void rest_snaps_init(struct rest_snaps *h);
/* Drops every reference held; the threads that borrowed must have ended. */
void rest_snaps_done(struct rest_snaps *h);

/* Publishes a copy of snap. Returns 0 or -ENOMEM (the previous snapshot stays). */
int rest_snaps_publish(struct rest_snaps *h, const struct rest_snapshot *snap)
	__attribute__((warn_unused_result));

/* A reference to the current snapshot (NULL before the first publication); rest_snap_put it. */
struct snap_ref *rest_snaps_get(struct rest_snaps *h);
void rest_snap_put(struct snap_ref *r);

/* The current snapshot for the calling thread, kept for it until a newer one is published:
 * no lock and no reference count change while the generation stands. *owned: the caller must
 * rest_snap_put() the result (only when more than REST_SNAPS_WORKERS_MAX threads borrow). */
struct snap_ref *rest_snaps_borrow(struct rest_snaps *h, bool *owned);

#endif
