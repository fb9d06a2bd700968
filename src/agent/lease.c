/*
 * lease.c - the lease thread: keepalives of the agent's lease (the one the leader key and the
 * member key ride on) on a schedule of their own, on keepalive connections of the etcd client's
 * own (dcs_lease_keepalive_side), so a slow database call, peer probe or cluster read of the HA
 * loop never delays a renewal (issue 14; docs/timing.md, "The lease thread").
 *
 * The HA loop grants, adopts and rebinds (observe.c); this thread only keeps alive whatever lease
 * the client holds. It renews only while the loop stamps its heartbeat: a loop that has not for
 * longer than ha_heartbeat_bound_ms is hung, and its lease is left to lapse so another node can
 * take over. What the loop reads back (lease_get) is the send time of the last keepalive that
 * succeeded, which is what the fence deadline counts from (lease_fence_deadline_ms).
 *
 * A keepalive etcd has not answered yet is not given up when the next one is due: the scheduler
 * hands the next one to another worker, on another connection, and whichever is answered counts,
 * from its own send time. So an etcd that answers every keepalive late, but within the fence
 * window, keeps the lease proven, while an etcd that does not answer at all still lets the
 * deadline pass (docs/timing.md, "Keepalives in flight").
 */
#include "agent_state.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log.h"

/* With no lease held, or while the loop is hung, how often the thread looks again. */
#define LEASE_IDLE_MS 100
/* Keepalives in flight at once, at most: one per keepalive connection of the client. */
#define LEASE_WORKERS DCS_KEEPALIVE_CONNS

struct lease_keeper;

/* A thread that sends the keepalives the scheduler hands it, one at a time. */
struct lease_worker {
	struct lease_keeper *k;
	pthread_t thread;
	bool started;
	bool job;	     /* a keepalive is handed to it and not finished yet */
	uint64_t id;	     /* ... of this lease */
	int64_t handed_ms;   /* ... handed out then (the schedule's clock) */
	int64_t deadline_ms; /* ... given up if not answered by then */
};

struct lease_keeper {
	struct dcs_client *dcs;
	pthread_mutex_t lock; /* everything below but heartbeat_ms and cancel */
	pthread_cond_t cond;  /* stop, a new policy or a new lease, a worker's job or its end */
	pthread_t thread;     /* the scheduler */
	bool running;
	bool stop;
	_Atomic bool cancel;	 /* stopping: keepalives in flight end early */
	struct ha_policy policy; /* ttl, loop_wait, retry_timeout, failsafe_mode */
	struct lease_state st;
	struct lease_worker workers[LEASE_WORKERS];
	uint64_t sched_lease;  /* the lease the two stamps below are about */
	int64_t handed_ms;     /* when the latest keepalive of it was handed out; 0 = none */
	int64_t failed_end_ms; /* end of the latest one's failure; 0 = none, or it is in flight */
	bool slow; /* the last one to end failed or took more than half an interval: etcd is slow */
	bool hung; /* the loop's heartbeat is older than the bound (logged once) */
	bool leading;		/* lease_set_leading: a primary whose fence deadline counts */
	bool armed;		/* lease_arm_guardian: the hook gets the deadline, else 0 */
	int64_t renew_asked_ms; /* lease_renew_now: a keepalive is due now (monotonic); 0 = none */
	int64_t failsafe_acked_ms;
	void (*hook)(void *ctx, int64_t deadline_ms);
	void *hook_ctx;
	_Atomic int64_t heartbeat_ms; /* the loop's last sign of progress (monotonic) */
};

/* The fence deadline from the state under k->lock: the one formula, whoever asks. */
/* Until when the leader is proven (the guardian's deadline). Granted TTL 0: the policy ttl, as
 * in the decision's input (dcs.lease_ttl_ms). */
static int64_t proven_until_locked(const struct lease_keeper *k)
{
	return ha_leader_proof_ms(&k->policy, k->st.renewed_ms, 0, k->failsafe_acked_ms);
}

/* The leader's deadline for its next decision (fence_cap): 0 unless leading. In failsafe mode it
 * comes one round of pings before the proof runs out (ha_leader_deadline_ms). */
static int64_t deadline_locked(const struct lease_keeper *k)
{
	return k->leading ? ha_leader_deadline_ms(&k->policy, k->st.renewed_ms, 0,
						  k->failsafe_acked_ms)
			  : 0;
}

/* Hands the guardian hook the deadline while the loop has armed it, else 0 (called with k->lock
 * held; the hook must not block). So the guardian's deadline moves with every keepalive that
 * succeeds, while the loop is busy too, and stops moving when the heartbeat gate stops the
 * keepalives. Armed is the loop's word alone: a leader about to promote is guarded from the
 * action on, before its database runs as a primary (which "leading" waits for). */
static void announce_locked(struct lease_keeper *k)
{
	if (k->hook != NULL)
		k->hook(k->hook_ctx, k->armed ? proven_until_locked(k) : 0);
}

int64_t lease_fence_deadline_ms(struct lease_keeper *k)
{
	int64_t f;

	pthread_mutex_lock(&k->lock);
	f = deadline_locked(k);
	pthread_mutex_unlock(&k->lock);
	return f;
}

/* Whether the lease carries a fence deadline (the leader key, or an armed guardian): the
 * leader's schedule, else the member key's (ha_keepalive_interval_ms). */
static bool fencing_locked(const struct lease_keeper *k)
{
	return k->leading || k->armed;
}

/* A renewal of the current lease sent at sent_ms succeeded (by the thread, or by the loop's grant,
 * adoption or rebind): the deadline counts from it, failures are forgotten, the guardian hears. */
static void succeeded_locked(struct lease_keeper *k, int64_t sent_ms)
{
	if (sent_ms > k->st.renewed_ms)
		k->st.renewed_ms = sent_ms;
	k->st.ok = true;
	k->st.failures = 0;
	k->st.error[0] = '\0';
	k->st.last_rc = 0;
	k->failed_end_ms = 0;
	announce_locked(k);
}

/* A keepalive of lease id sent at sent_ms ended at ended_ms with rc: the deadline counts from
 * the send time of whichever succeeded last in send order, whenever its answer came. */
static void settle_locked(struct lease_keeper *k, const struct lease_worker *w, int64_t sent_ms,
			  int64_t ended_ms, int rc, const char *msg)
{
	k->slow = rc != DCS_OK ||
		  ended_ms - sent_ms > ha_keepalive_interval_ms(&k->policy, fencing_locked(k)) / 2;
	if (k->st.lease != w->id) {
		/* A lease the thread had not renewed yet (the request path granted it): from now
		 * on the thread's, unless the client moved on again meanwhile. */
		if (w->id != dcs_lease_id(k->dcs))
			return;
		k->st.lease = w->id;
		k->st.renewed_ms = 0;
	}
	if (rc == DCS_OK) {
		succeeded_locked(k, sent_ms);
		return;
	}
	k->st.errors_total++;
	/* etcd no longer knows the lease: the keys on it are gone, so it proves nothing (the
	 * client forgot it too; the loop grants a new one). Whatever else was in flight. */
	if (rc == DCS_ERR_LEASE_NOT_FOUND)
		k->st.renewed_ms = 0;
	/* A keepalive sent before one that succeeded says nothing about the lease now (it timed
	 * out while a later one was answered): counted above, not reported. */
	else if (sent_ms < k->st.renewed_ms)
		return;
	k->st.ok = false;
	k->st.failures++;
	k->st.last_rc = rc;
	buf_copy_or_clear(k->st.error, sizeof(k->st.error), msg[0] ? msg : dcs_strerror(rc));
	/* The latest one handed out failed: the next goes out a retry slot after it. An older
	 * one's failure leaves the schedule to the later one still in flight. */
	if (w->handed_ms == k->handed_ms && k->sched_lease == w->id)
		k->failed_end_ms = ended_ms;
}

/* Runs the keepalive handed to w, with k->lock released around the request; bounded by the
 * deadline the scheduler gave it. Wakes the scheduler when it ends. */
static void run_job(struct lease_keeper *k, struct lease_worker *w)
{
	char msg[DCS_MSG_MAX] = "";
	int64_t sent, ended;
	int rc;

	pthread_mutex_unlock(&k->lock);
	sent = clock_mono_ms();
	rc = dcs_lease_keepalive_side(k->dcs, w->id, w->deadline_ms, &k->cancel, NULL, msg,
				      sizeof(msg));
	ended = clock_mono_ms();
	pthread_mutex_lock(&k->lock);
	settle_locked(k, w, sent, ended, rc, msg);
	w->job = false;
	pthread_cond_broadcast(&k->cond);
}

static void *worker_main(void *arg)
{
	struct lease_worker *w = arg;
	struct lease_keeper *k = w->k;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		if (w->job)
			run_job(k, w);
		else
			pthread_cond_wait(&k->cond, &k->lock);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* An idle worker, started on first use; NULL when every one has a keepalive in flight (or a
 * thread cannot be created: the scheduler waits for one to end). */
static struct lease_worker *idle_worker_locked(struct lease_keeper *k)
{
	for (int i = 0; i < LEASE_WORKERS; i++) {
		struct lease_worker *w = &k->workers[i];

		if (w->started && !w->job)
			return w;
	}
	for (int i = 0; i < LEASE_WORKERS; i++) {
		struct lease_worker *w = &k->workers[i];

		if (!w->started) {
			w->k = k;
			if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
				return NULL;
			w->started = true;
			return w;
		}
	}
	return NULL;
}

/* How long a keepalive handed out now may wait for its answer: the fence window, after which
 * its answer would prove a deadline already past (dcs_lease_keepalive_side caps it at ttl too). */
static int64_t job_bound_ms(const struct lease_keeper *k)
{
	return ha_fence_deadline_ms(&k->policy, 0, 0);
}

/* When the next keepalive of lease id is due: an interval after the latest handed out or the
 * last success, whichever is later, whether or not the one before has been answered (half an
 * interval while etcd is slow, so that the answers, each late, still come close together); a
 * retry slot after the latest one failed; now when nothing of it was sent or renewed. The
 * interval and the slot are the schedule's (ha_keepalive_interval_ms, ha_keepalive_due_ms). */
static int64_t due_locked(struct lease_keeper *k, uint64_t id)
{
	int64_t renewed = k->st.lease == id ? k->st.renewed_ms : 0, last, interval;

	if (k->sched_lease != id) {
		k->sched_lease = id;
		k->handed_ms = 0;
		k->failed_end_ms = 0;
	}
	/* Asked for now (lease_renew_now) and none handed out since: now, whatever the schedule. */
	if (k->renew_asked_ms > k->handed_ms)
		return k->renew_asked_ms;
	last = renewed > k->handed_ms ? renewed : k->handed_ms;
	if (k->failed_end_ms > 0 || last <= 0)
		return ha_keepalive_due_ms(&k->policy, fencing_locked(k), last, k->failed_end_ms);
	interval = ha_keepalive_interval_ms(&k->policy, fencing_locked(k));
	if (k->slow && interval / 2 >= HA_KEEPALIVE_MIN_MS)
		interval /= 2;
	return last + interval;
}

static void hand_out_locked(struct lease_keeper *k, struct lease_worker *w, uint64_t id,
			    int64_t now)
{
	w->id = id;
	w->handed_ms = now;
	w->deadline_ms = now + job_bound_ms(k);
	w->job = true;
	k->handed_ms = now;
	k->failed_end_ms = 0;
	pthread_cond_broadcast(&k->cond);
}

static void *lease_main(void *arg)
{
	struct lease_keeper *k = arg;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		int64_t now = clock_mono_ms(), bound = ha_heartbeat_bound_ms(&k->policy);
		int64_t beat = atomic_load(&k->heartbeat_ms), due, wake;
		uint64_t id = dcs_lease_id(k->dcs);
		struct lease_worker *w;
		struct timespec ts;

		if (beat != 0 && now - beat > bound) {
			if (!k->hung)
				log_error("the HA loop has shown no progress for %lld ms (more "
					  "than %lld "
					  "ms): no more keepalives, lease %llu is left to lapse",
					  (long long)(now - beat), (long long)bound,
					  (unsigned long long)id);
			k->hung = true;
			wake = now + LEASE_IDLE_MS;
		} else if (id == 0) {
			wake = now + LEASE_IDLE_MS; /* the loop grants one */
		} else {
			if (k->hung)
				log_notice("the HA loop moves again: keepalives resume");
			k->hung = false;
			due = due_locked(k, id);
			if (due <= now && (w = idle_worker_locked(k)) != NULL) {
				hand_out_locked(k, w, id, now);
				continue;
			}
			/* Due and every worker busy: a worker that ends wakes this wait. */
			wake = due <= now ? now + LEASE_IDLE_MS : due;
			/* Look again when the heartbeat would pass its bound. */
			if (beat != 0 && beat + bound + 1 < wake)
				wake = beat + bound + 1;
		}
		clock_cond_deadline(wake, &ts);
		(void)pthread_cond_timedwait(&k->cond, &k->lock, &ts);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

struct lease_keeper *lease_keeper_new(struct dcs_client *dcs, const struct ha_policy *policy)
{
	struct lease_keeper *k = calloc(1, sizeof(*k));
	pthread_condattr_t ca;

	if (k == NULL)
		return NULL;
	k->dcs = dcs;
	k->policy = *policy;
	atomic_init(&k->heartbeat_ms, 0);
	atomic_init(&k->cancel, false);
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &ca);
	pthread_condattr_destroy(&ca);
	return k;
}

int lease_keeper_start(struct lease_keeper *k)
{
	int rc;

	lease_heartbeat(k);
	pthread_mutex_lock(&k->lock);
	rc = k->running ? 0 : -pthread_create(&k->thread, NULL, lease_main, k);
	if (rc == 0 && !k->running)
		dcs_lease_thread_keeps(k->dcs);
	if (rc == 0)
		k->running = true;
	pthread_mutex_unlock(&k->lock);
	return rc;
}

void lease_keeper_free(struct lease_keeper *k)
{
	bool running;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	atomic_store(&k->cancel, true);
	running = k->running;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	if (running)
		pthread_join(k->thread, NULL);
	/* Only the scheduler starts workers, and it has ended. */
	for (int i = 0; i < LEASE_WORKERS; i++)
		if (k->workers[i].started)
			pthread_join(k->workers[i].thread, NULL);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
}

void lease_heartbeat(struct lease_keeper *k)
{
	atomic_store(&k->heartbeat_ms, clock_mono_ms());
}

void lease_heartbeat_ahead(struct lease_keeper *k, int64_t wait_ms)
{
	atomic_store(&k->heartbeat_ms, clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0));
}

void lease_set_policy(struct lease_keeper *k, const struct ha_policy *policy)
{
	pthread_mutex_lock(&k->lock);
	if (policy->ttl_ms != k->policy.ttl_ms ||
	    policy->retry_timeout_ms != k->policy.retry_timeout_ms ||
	    policy->loop_wait_ms != k->policy.loop_wait_ms ||
	    policy->failsafe_mode != k->policy.failsafe_mode) {
		k->policy = *policy;
		pthread_cond_broadcast(&k->cond);
	}
	pthread_mutex_unlock(&k->lock);
}

void lease_set_leading(struct lease_keeper *k, bool leading, int64_t failsafe_acked_ms)
{
	pthread_mutex_lock(&k->lock);
	if (leading != k->leading || failsafe_acked_ms != k->failsafe_acked_ms) {
		k->leading = leading;
		k->failsafe_acked_ms = failsafe_acked_ms;
		announce_locked(k);
		pthread_cond_broadcast(&k->cond); /* the schedule may have changed */
	}
	pthread_mutex_unlock(&k->lock);
}

void lease_arm_guardian(struct lease_keeper *k, bool armed, int64_t failsafe_acked_ms)
{
	pthread_mutex_lock(&k->lock);
	if (armed != k->armed)
		pthread_cond_broadcast(&k->cond); /* the schedule may have changed */
	k->armed = armed;
	k->failsafe_acked_ms = failsafe_acked_ms;
	announce_locked(k);
	pthread_mutex_unlock(&k->lock);
}

void lease_set_deadline_hook(struct lease_keeper *k, void (*hook)(void *ctx, int64_t deadline_ms),
			     void *ctx)
{
	pthread_mutex_lock(&k->lock);
	k->hook = hook;
	k->hook_ctx = ctx;
	pthread_mutex_unlock(&k->lock);
}

int lease_renew_now(struct lease_keeper *k, int64_t bound_ms, int64_t *proof_ms)
{
	int64_t asked = clock_mono_ms(), until = asked + (bound_ms > 0 ? bound_ms : 0);
	struct timespec ts;
	bool fresh;

	pthread_mutex_lock(&k->lock);
	k->renew_asked_ms = asked;
	pthread_cond_broadcast(&k->cond);
	/* A worker broadcasts when its keepalive ends; the scheduler hands this one out at once
	 * (due_locked). Only a keepalive sent at or after the ask counts. */
	while (!(fresh = k->st.lease != 0 && k->st.renewed_ms >= asked) && !k->stop && k->running &&
	       clock_mono_ms() < until) {
		clock_cond_deadline(until, &ts);
		(void)pthread_cond_timedwait(&k->cond, &k->lock, &ts);
	}
	if (k->renew_asked_ms == asked)
		k->renew_asked_ms = 0;
	*proof_ms = k->st.renewed_ms > 0 ? proven_until_locked(k) : 0;
	pthread_mutex_unlock(&k->lock);
	return fresh ? 0 : -ETIMEDOUT;
}

void lease_noted(struct lease_keeper *k, uint64_t lease, int64_t sent_ms)
{
	pthread_mutex_lock(&k->lock);
	if (lease != k->st.lease) {
		k->st.lease = lease;
		k->st.renewed_ms = 0;
	}
	succeeded_locked(k, sent_ms);
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

void lease_get(struct lease_keeper *k, struct lease_state *out)
{
	pthread_mutex_lock(&k->lock);
	*out = k->st;
	out->waiting_since_ms = 0;
	for (int i = 0; i < LEASE_WORKERS; i++) {
		const struct lease_worker *w = &k->workers[i];

		if (w->job && w->id == k->st.lease && w->handed_ms > k->st.renewed_ms &&
		    (out->waiting_since_ms == 0 || w->handed_ms < out->waiting_since_ms))
			out->waiting_since_ms = w->handed_ms;
	}
	pthread_mutex_unlock(&k->lock);
}
