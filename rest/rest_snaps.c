/*
 * rest_snaps.c - publication of the HA loop's snapshot to the REST server's threads.
 *
 * The HA loop publishes every cycle; health checks read the snapshot thousands of times a
 * second. A reader used to take the mutex and bump the reference count twice per request; now
 * each pool thread keeps the reference it took last, with the snapshot's generation, and takes
 * the lock only when the generation moved: once per publication per thread. The publisher
 * swaps the pointer and bumps the generation under the lock and never waits for a reader; an
 * old snapshot is freed by whoever drops its last reference (a thread that borrowed it lets go
 * at its next request after the publication).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rest_snaps.h"
#include "zpages.h"

/* The bulk arrays are the snapshot's tail, in this order and with nothing between them: the
 * head before them is cleared and copied whole, so a field added there is never missed. */
#define SNAP_BULK offsetof(struct rest_snapshot, members)
_Static_assert(offsetof(struct rest_snapshot, history) ==
		       SNAP_BULK + sizeof(((struct rest_snapshot *)0)->members),
	       "history follows members");
_Static_assert(offsetof(struct rest_snapshot, config_json) ==
		       offsetof(struct rest_snapshot, history) +
			       sizeof(((struct rest_snapshot *)0)->history),
	       "config_json follows history");
_Static_assert(offsetof(struct rest_snapshot, failsafe) ==
		       offsetof(struct rest_snapshot, config_json) + REST_CONFIG_MAX,
	       "failsafe follows config_json");
_Static_assert(sizeof(struct rest_snapshot) - (offsetof(struct rest_snapshot, failsafe) +
					       sizeof(((struct rest_snapshot *)0)->failsafe)) <
		       _Alignof(struct rest_snapshot),
	       "failsafe ends the snapshot");

void rest_snapshot_clear(struct rest_snapshot *snap)
{
	memset(snap, 0, SNAP_BULK);
	snap->config_json[0] = '\0';
}

/* How many slots of an array of max the count covers. */
static size_t used(int count, size_t max)
{
	return count <= 0 ? 0 : (size_t)count < max ? (size_t)count : max;
}

void rest_snapshot_copy(struct rest_snapshot *dst, const struct rest_snapshot *src)
{
	memcpy(dst, src, SNAP_BULK);
	memcpy(dst->members, src->members,
	       used(src->member_count, REST_MEMBERS_MAX) * sizeof(src->members[0]));
	memcpy(dst->history, src->history,
	       used(src->history_count, REST_HISTORY_MAX) * sizeof(src->history[0]));
	memcpy(dst->config_json, src->config_json, strnlen(src->config_json, REST_CONFIG_MAX - 1));
	dst->config_json[strnlen(src->config_json, REST_CONFIG_MAX - 1)] = '\0';
	memcpy(dst->failsafe, src->failsafe,
	       used(src->failsafe_count, REST_FAILSAFE_MAX) * sizeof(src->failsafe[0]));
}

void rest_snaps_init(struct rest_snaps *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->generation, 0);
	atomic_init(&h->worker_count, 0);
}

void rest_snap_put(struct snap_ref *r)
{
	if (r && atomic_fetch_sub(&r->refs, 1) == 1) {
		rest_cache_done(&r->cache);
		zpages_free(r);
	}
}

void rest_snaps_done(struct rest_snaps *h)
{
	int n = atomic_load(&h->worker_count);

	for (int i = 0; i < n; i++) {
		rest_snap_put(h->workers[i].ref);
		h->workers[i].ref = NULL;
	}
	rest_snap_put(h->current);
	h->current = NULL;
	pthread_mutex_destroy(&h->lock);
}

int rest_snaps_publish(struct rest_snaps *h, const struct rest_snapshot *snap)
{
	/* fresh pages (zpages.h), so that only those the copy writes become resident */
	struct snap_ref *r = zpages_alloc(sizeof(*r));
	struct snap_ref *old;

	if (!r)
		return -ENOMEM;
	atomic_init(&r->refs, 1);
	rest_snapshot_copy(&r->snap, snap);
	pthread_mutex_lock(&h->lock);
	old = h->current;
	h->current = r;
	atomic_fetch_add_explicit(&h->generation, 1, memory_order_release);
	pthread_mutex_unlock(&h->lock);
	rest_snap_put(old);
	return 0;
}

struct snap_ref *rest_snaps_get(struct rest_snaps *h)
{
	struct snap_ref *r;

	pthread_mutex_lock(&h->lock);
	r = h->current;
	if (r)
		atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* The calling thread's slot, claimed on its first call; NULL when all are taken. */
static struct rest_snaps_worker *worker_slot(struct rest_snaps *h)
{
	pthread_t self = pthread_self();
	int n = atomic_load_explicit(&h->worker_count, memory_order_acquire);
	struct rest_snaps_worker *w = NULL;

	for (int i = 0; i < n; i++)
		if (pthread_equal(h->workers[i].tid, self))
			return &h->workers[i];
	pthread_mutex_lock(&h->lock);
	n = atomic_load_explicit(&h->worker_count, memory_order_relaxed);
	if (n < REST_SNAPS_WORKERS_MAX) {
		w = &h->workers[n];
		w->tid = self;
		w->ref = NULL;
		atomic_store_explicit(&h->worker_count, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&h->lock);
	return w;
}

struct snap_ref *rest_snaps_borrow(struct rest_snaps *h, bool *owned)
{
	struct rest_snaps_worker *w = worker_slot(h);

	*owned = w == NULL;
	if (!w)
		return rest_snaps_get(h);
	if (!w->ref ||
	    w->generation != atomic_load_explicit(&h->generation, memory_order_acquire)) {
		struct snap_ref *old = w->ref;

		pthread_mutex_lock(&h->lock);
		w->ref = h->current;
		if (w->ref)
			atomic_fetch_add(&w->ref->refs, 1);
		w->generation = atomic_load_explicit(&h->generation, memory_order_relaxed);
		pthread_mutex_unlock(&h->lock);
		rest_snap_put(old);
	}
	return w->ref;
}
