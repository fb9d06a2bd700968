/*
 * dcs_watch.c - the watch thread: one prefix watch from the last read revision, kept honest by a
 * periodic stall probe and rebuilt on errors, endpoint loss and compaction; it wakes
 * dcs_wait_for_change with the kinds of keys that changed (see dcs.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dcs_internal.h"
#include "err.h"
#include "log.h"

/* ---- the watch ------------------------------------------------------------------------------- */

static void notify(struct dcs_client *c, unsigned bits)
{
	pthread_mutex_lock(&c->watch_lock);
	c->pending |= bits;
	if (c->wake_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(c->wake_fd, &one, sizeof(one));
		(void)w; /* EAGAIN: the counter is already non-zero, the fd readable */
	}
	pthread_cond_broadcast(&c->watch_cond);
	pthread_mutex_unlock(&c->watch_lock);
}

int dcs_wake_fd(const struct dcs_client *c)
{
	return c->wake_fd;
}

/* Hands out and clears the pending bits; the eventfd is drained under the same lock, so it is
 * readable exactly while bits are pending. */
static unsigned take_pending(struct dcs_client *c)
{
	unsigned bits;

	pthread_mutex_lock(&c->watch_lock);
	bits = c->pending;
	c->pending = 0;
	if (c->wake_fd >= 0) {
		uint64_t n;
		ssize_t r = read(c->wake_fd, &n, sizeof(n));
		(void)r; /* EAGAIN: nothing was written */
	}
	pthread_mutex_unlock(&c->watch_lock);
	return bits;
}

unsigned dcs_take_changes(struct dcs_client *c)
{
	return take_pending(c);
}

bool dcs_cached_cluster(struct dcs_client *c, struct dcs_cluster *out)
{
	const struct dcs_member *me;
	bool live;

	pthread_mutex_lock(&c->view_lock);
	live = c->view_live && c->view.loaded;
	if (live)
		dcs_view_build(&c->view, out);
	pthread_mutex_unlock(&c->view_lock);
	if (!live)
		return false;
	pthread_mutex_lock(&c->lock);
	/* As dcs_read_cluster: our key gone or changed makes the next dcs_touch_member write. */
	me = dcs_cluster_member(out, c->opts.name);
	if (c->opts.name[0] &&
	    (me == NULL || me->lease != c->lease || strcmp(me->doc, c->member_doc) != 0))
		c->member_lease = 0;
	pthread_mutex_unlock(&c->lock);
	return true;
}

static void set_live(struct dcs_client *c, bool live)
{
	pthread_mutex_lock(&c->view_lock);
	c->view_live = live && c->view.loaded;
	pthread_mutex_unlock(&c->view_lock);
}

void dcs_cap_calls(struct dcs_client *c, int64_t deadline_ms)
{
	atomic_store(&c->call_cap_ms, deadline_ms > 0 ? deadline_ms : 0);
}

void dcs_wake(struct dcs_client *c)
{
	notify(c, DCS_CHANGE_OTHER);
}

static bool stopping(struct dcs_client *c)
{
	bool s;

	pthread_mutex_lock(&c->watch_lock);
	s = c->stop;
	pthread_mutex_unlock(&c->watch_lock);
	return s;
}

/* Sleeps up to ms unless stop is requested. Returns true when stopping. */
static bool pause_unless_stopped(struct dcs_client *c, int64_t ms)
{
	int64_t deadline = clock_mono_ms() + ms;
	struct timespec ts;
	bool s;

	clock_cond_deadline(deadline, &ts);
	pthread_mutex_lock(&c->watch_lock);
	while (!c->stop && clock_mono_ms() < deadline)
		if (pthread_cond_timedwait(&c->watch_cond, &c->watch_lock, &ts) == ETIMEDOUT)
			break;
	s = c->stop;
	pthread_mutex_unlock(&c->watch_lock);
	return s;
}

int dcs_wait_for_change(struct dcs_client *c, int64_t timeout_ms, unsigned *changed)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct timespec ts;
	unsigned bits;

	clock_cond_deadline(deadline, &ts);
	pthread_mutex_lock(&c->watch_lock);
	while (c->pending == 0 && clock_mono_ms() < deadline)
		if (pthread_cond_timedwait(&c->watch_cond, &c->watch_lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&c->watch_lock);
	bits = take_pending(c);
	if (bits == 0)
		return 0;
	if (changed)
		*changed = bits;
	return 1;
}

struct watch_state {
	struct dcs_client *c;
	struct dcs_conn probe; /* own handle: the request path's is the HA loop's */
	CURL *stream;
	struct buf line; /* bytes of the stream not yet split into lines */
	int64_t rev;	 /* every change up to here has been seen */
	int endpoint;
	bool created;
	bool reload;		    /* the view was refused an event: read it again */
	int64_t loaded_at;	    /* the store revision of the last load; 0: none */
	int rc;			    /* why the stream ended */
	char token[DCS_SECRET_MAX]; /* the token the stream was opened with */
	char msg[DCS_MSG_MAX];
};

/* Handles the complete lines in ws->line. Returns false when the stream must be rebuilt. */
static bool watch_lines(struct watch_state *ws)
{
	char *nl;

	while (ws->line.len > 0 && (nl = memchr(ws->line.data, '\n', ws->line.len)) != NULL) {
		size_t n = (size_t)(nl - ws->line.data);
		struct dcs_watch_result r;
		int rc = n == 0 ? DCS_OK
				: dcs_codec_parse_watch(ws->line.data, n, ws->c->prefix, &r,
							ws->msg, sizeof(ws->msg));

		if (n > 0 && rc == DCS_OK && r.events > 0) {
			struct dcs_client *c = ws->c;

			pthread_mutex_lock(&c->view_lock);
			if (c->view.loaded) {
				rc = dcs_view_apply_watch(&c->view, ws->line.data, n, c->prefix,
							  NULL, ws->msg, sizeof(ws->msg));
				if (rc != DCS_OK) {
					c->view_live = false;
					ws->reload = true;
				}
			}
			pthread_mutex_unlock(&c->view_lock);
		}
		if (n > 0 && rc == DCS_OK) {
			if (r.created) {
				ws->created = true;
				/* The stream starts right after the view's revision: no gap. */
				set_live(ws->c, true);
			}
			if (r.events > 0 && r.max_mod_revision > ws->rev) {
				notify(ws->c, r.changed);
				ws->rev = r.max_mod_revision;
			}
			if (r.canceled) {
				if (r.compact_revision > 0) {
					rc = DCS_ERR_COMPACTED;
					err_set(ws->msg, sizeof(ws->msg),
						"watch canceled: compacted at %" PRId64,
						r.compact_revision);
				} else {
					rc = DCS_ERR_TRANSIENT;
					err_set(ws->msg, sizeof(ws->msg), "watch canceled: %s",
						r.cancel_reason);
				}
			}
		}
		memmove(ws->line.data, nl + 1, ws->line.len - n - 1);
		ws->line.len -= n + 1;
		ws->line.data[ws->line.len] = '\0';
		if (rc != DCS_OK) {
			if (rc == DCS_ERR_AUTH)
				dcs_token_drop(ws->c, ws->token);
			ws->rc = rc;
			return false;
		}
	}
	return true;
}

/* The stall probe on the watch's endpoint. With a view: a keys-only listing of the prefix,
 * compared with the view (*behind: the view misses a change etcd has, a delete included).
 * Without: the newest mod_revision under the prefix into *latest_mod. */
static int watch_probe(struct watch_state *ws, int64_t *latest_mod, bool *behind, int64_t *at)
{
	struct dcs_client *c = ws->c;
	struct buf req, resp;
	int64_t rev;
	bool view;
	int rc;

	pthread_mutex_lock(&c->view_lock);
	view = c->view.loaded;
	pthread_mutex_unlock(&c->view_lock);
	*behind = false;
	buf_init(&req, DCS_REQUEST_MAX);
	buf_init(&resp, DCS_RESPONSE_MAX);
	rc = view ? dcs_codec_range_keys(&req, c->prefix, DCS_PROBE_KEYS_MAX)
		  : dcs_codec_range_latest(&req, c->prefix);
	ws->probe.endpoint = ws->endpoint;
	if (rc == DCS_OK)
		rc = dcs_call(c, &ws->probe, "/v3/kv/range", &req, &resp,
			      clock_mono_ms() + c->attempt_ms, CALL_PINNED, ws->msg,
			      sizeof(ws->msg));
	*at = 0;
	if (rc == DCS_OK && view)
		rc = dcs_codec_parse_header(resp.data, resp.len, at, ws->msg, sizeof(ws->msg));
	if (rc == DCS_OK && view) {
		pthread_mutex_lock(&c->view_lock);
		rc = c->view.loaded
			     ? dcs_view_compare_keys(&c->view, resp.data, resp.len, c->prefix,
						     behind, ws->msg, sizeof(ws->msg))
			     : DCS_OK;
		pthread_mutex_unlock(&c->view_lock);
		*latest_mod = 0;
	} else if (rc == DCS_OK) {
		rc = dcs_codec_parse_range_latest(resp.data, resp.len, &rev, latest_mod, ws->msg,
						  sizeof(ws->msg));
	}
	buf_done(&req);
	buf_done(&resp);
	return rc;
}

/* Whether the stall probe may be skipped: the view is live and a reply to any call, newer than
 * the last probe, carried a store revision the view is known complete at (the load's or a clean
 * probe's, or the last change the stream brought), so no key anywhere changed since. A stale
 * member answers with an older revision: no skip. */
static bool quiet_since(struct watch_state *ws, int64_t known_at, int64_t probed_ms)
{
	struct dcs_client *c = ws->c;
	int64_t seen = atomic_load(&c->seen_revision);
	bool quiet;

	if (atomic_load(&c->seen_ms) <= probed_ms)
		return false;
	pthread_mutex_lock(&c->view_lock);
	/* The stream brings every change in order: a live view is also complete up to the last
	 * change it brought, so the prefix's own writes (the usual ones) need no probe either. */
	quiet = c->view.loaded && c->view_live && (seen == known_at || seen == c->view.revision) &&
		seen != 0;
	pthread_mutex_unlock(&c->view_lock);
	return quiet;
}

/* Whether the latest reply to any call carried an older store revision than the newest change
 * the live stream brought (the reply came before that change). */
static bool reply_predates_view(struct watch_state *ws)
{
	struct dcs_client *c = ws->c;
	int64_t seen = atomic_load(&c->seen_revision);
	bool older;

	pthread_mutex_lock(&c->view_lock);
	older = c->view.loaded && c->view_live && seen != 0 && seen < c->view.revision;
	pthread_mutex_unlock(&c->view_lock);
	return older;
}

/* Opens the stream from ws->rev + 1 and follows it until it breaks, stalls or stop is asked.
 * Returns true when the reconnect must announce DCS_CHANGE_RESYNC. */
static bool watch_follow(struct watch_state *ws)
{
	struct dcs_client *c = ws->c;
	int64_t interval = c->opts.ttl_ms;
	char url[DCS_FULL_URL_MAX];
	struct curl_slist *headers;
	struct buf req;
	int64_t next_probe, awaited = 0; /* a revision the probe saw and the stream owes us */
	int probe_failures = 0, running = 1;
	bool resync = false, was_behind = false;
	/* The store revision the view is known complete at (the load's, or a clean probe's; 0:
	 * none) and when the last probe ran. */
	int64_t known_at = ws->loaded_at, probed_ms = clock_mono_ms();
	bool deferred = false; /* this interval's probe was put off once already */

	if (interval < DCS_PROBE_MIN_MS)
		interval = DCS_PROBE_MIN_MS;
	if (interval > DCS_PROBE_MAX_MS)
		interval = DCS_PROBE_MAX_MS;
	ws->rc = DCS_OK;
	ws->created = false;
	ws->reload = false;
	buf_reset(&ws->line);
	buf_init(&req, DCS_REQUEST_MAX);
	if (dcs_codec_watch_create(&req, c->prefix, ws->rev + 1) != DCS_OK ||
	    buf_format(url, sizeof(url), "%s/v3/watch", c->urls[ws->endpoint]) < 0) {
		ws->rc = DCS_ERR_INVALID_ARGUMENT;
		buf_done(&req);
		return true;
	}
	if (dcs_auth_wanted(c)) {
		ws->probe.endpoint = ws->endpoint;
		ws->rc = dcs_authenticate(c, &ws->probe, clock_mono_ms() + c->opts.retry_timeout_ms,
					  ws->msg, sizeof(ws->msg));
		if (ws->rc != DCS_OK) {
			buf_done(&req);
			return false;
		}
	}
	dcs_token_get(c, ws->token, sizeof(ws->token));
	headers = dcs_http_headers(ws->token);
	if (headers == NULL) {
		ws->rc = DCS_ERR_NO_MEMORY;
		buf_done(&req);
		return false;
	}
	curlapi->curl_easy_reset(ws->stream);
	dcs_conn_setup(c, ws->stream);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_URL, url);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_POSTFIELDS, req.data);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.len);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_HTTPHEADER, headers);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_CONNECTTIMEOUT_MS, (long)c->attempt_ms);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_WRITEFUNCTION, dcs_on_body);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_WRITEDATA, &ws->line);
	curlapi->curl_multi_add_handle(c->multi, ws->stream);
	next_probe = clock_mono_ms() + interval;
	while (!stopping(c)) {
		struct CURLMsg *m;
		int left;
		bool done = false;

		curlapi->curl_multi_perform(c->multi, &running);
		if (!watch_lines(ws)) {
			resync = ws->rc == DCS_ERR_COMPACTED || ws->reload;
			if (ws->reload)
				ws->rev = 0;
			break;
		}
		while ((m = curlapi->curl_multi_info_read(c->multi, &left)) != NULL) {
			if (m->msg == CURLMSG_DONE)
				done = true;
			if (done && m->data.result != CURLE_OK)
				err_set(ws->msg, sizeof(ws->msg), "watch stream on %s: %s", url,
					curlapi->curl_easy_strerror(m->data.result));
		}
		if (done || running == 0) {
			long http = 0;
			struct dcs_status st;
			if (ws->line.overflow) {
				/* An event too large to take: skip past it (the watch restarts
				 * from now) and have the caller re-read. */
				err_set(ws->msg, sizeof(ws->msg),
					"watch on %s: a message exceeded %d bytes", url,
					DCS_WATCH_LINE_MAX);
				ws->rc = DCS_ERR_INVALID_RESPONSE;
				ws->rev = 0;
				resync = true;
				break;
			}
			curlapi->curl_easy_getinfo(ws->stream, CURLINFO_RESPONSE_CODE, &http);
			dcs_codec_status(http, ws->line.data, ws->line.len, &st);
			if (st.rc != DCS_OK) {
				err_set(ws->msg, sizeof(ws->msg), "watch on %s: %s", url,
					st.message);
				if (st.reauth)
					dcs_token_drop(c, ws->token);
			}
			ws->rc = st.rc != DCS_OK ? st.rc : DCS_ERR_TRANSIENT;
			break;
		}
		if (clock_mono_ms() >= next_probe && quiet_since(ws, known_at, probed_ms)) {
			/* etcd answered another call since the last probe at the very revision the
			 * view is known complete at: nothing changed anywhere, no probe needed. */
			next_probe = clock_mono_ms() + interval;
			deferred = false;
		} else if (clock_mono_ms() >= next_probe && !deferred && reply_predates_view(ws)) {
			/* The stream brought changes after the last reply to any call: that reply
			 * can neither clear nor blame it. Once per probe interval, wait half of
			 * it for a newer reply (the keepalives come every loop_wait). */
			next_probe = clock_mono_ms() + interval / 2;
			deferred = true;
		} else if (clock_mono_ms() >= next_probe) {
			deferred = false;
			int64_t latest = 0, at = 0;
			bool behind = false;
			int rc = watch_probe(ws, &latest, &behind, &at);
			probed_ms = clock_mono_ms();
			next_probe = probed_ms + interval;
			known_at = rc == DCS_OK && !behind ? at : 0;
			if (rc != DCS_OK) {
				if (++probe_failures >= DCS_PROBE_FAILURES_MAX) {
					ws->rc = rc;
					resync = true;
					break;
				}
			} else if (behind && was_behind) {
				/* Behind twice, a grace apart: the stream is stuck. */
				ws->rc = DCS_ERR_TRANSIENT;
				err_set(ws->msg, sizeof(ws->msg),
					"watch on %s missed a change, rebuilding", url);
				ws->rev = 0;
				resync = true;
				break;
			} else if (behind) {
				probe_failures = 0;
				was_behind = true;
				next_probe = clock_mono_ms() + DCS_PROBE_GRACE_MS;
			} else {
				probe_failures = 0;
				was_behind = false;
				if (awaited != 0 && ws->rev < awaited) {
					/* A change seen one probe ago never came down the
					 * stream: it is stuck. */
					ws->rc = DCS_ERR_TRANSIENT;
					err_set(ws->msg, sizeof(ws->msg),
						"watch on %s missed revision %" PRId64
						", rebuilding",
						url, awaited);
					resync = true;
					break;
				}
				/* A newer change may still be in flight: check it soon. */
				awaited = latest > ws->rev ? latest : 0;
				if (awaited != 0)
					next_probe = clock_mono_ms() + DCS_PROBE_GRACE_MS;
			}
		}
		{
			/* Sleep until the stream has data, the next probe, libcurl's own timers
			 * (curl_multi_poll takes the earlier) or dcs_watch_stop's wakeup: nothing
			 * else wakes an idle watch. */
			int64_t wait = next_probe - clock_mono_ms();
			curlapi->curl_multi_poll(c->multi, NULL, 0, wait < 1 ? 1 : (int)wait, NULL);
		}
	}
	set_live(c, false);
	curlapi->curl_multi_remove_handle(c->multi, ws->stream);
	curlapi->curl_easy_setopt(ws->stream, CURLOPT_HTTPHEADER, NULL);
	curlapi->curl_slist_free_all(headers);
	buf_done(&req);
	return resync;
}

/* (Re)loads the view with one read of the prefix (the keys dcs_codec_read_cluster reads) and
 * sets ws->rev to its revision, so the stream follows on from it. A prefix the view cannot hold
 * (a reply over DCS_RESPONSE_MAX, too many keys) leaves the view unloaded: the watch then only
 * announces changes from the prefix's current revision, and the HA loop reads for itself.
 * Returns 0 or the read's dcs_error with ws->msg set. */
static int watch_load(struct watch_state *ws)
{
	struct dcs_client *c = ws->c;
	struct buf req, resp;
	int64_t latest = 0, rev = 0;
	bool loaded = false;
	int rc;

	buf_init(&req, DCS_REQUEST_MAX);
	buf_init(&resp, DCS_RESPONSE_MAX);
	rc = dcs_codec_read_cluster(&req, c->prefix, true);
	ws->probe.endpoint = ws->endpoint;
	if (rc == DCS_OK)
		rc = dcs_call(c, &ws->probe, "/v3/kv/txn", &req, &resp,
			      clock_mono_ms() + c->opts.retry_timeout_ms, 0, ws->msg,
			      sizeof(ws->msg));
	pthread_mutex_lock(&c->view_lock);
	c->view_live = false;
	if (rc == DCS_OK) {
		rc = dcs_view_load(&c->view, resp.data, resp.len, c->prefix, ws->msg,
				   sizeof(ws->msg));
		rev = c->view.revision;
		loaded = rc == DCS_OK;
	} else {
		dcs_view_clear(&c->view);
	}
	pthread_mutex_unlock(&c->view_lock);
	if (rc == DCS_ERR_INVALID_RESPONSE) {
		log_debug(
			"dcs watch: the view cannot hold the prefix (%s): announcing changes only",
			ws->msg);
		buf_reset(&req);
		buf_reset(&resp);
		rc = dcs_codec_range_latest(&req, c->prefix);
		if (rc == DCS_OK)
			rc = dcs_call(c, &ws->probe, "/v3/kv/range", &req, &resp,
				      clock_mono_ms() + c->opts.retry_timeout_ms, 0, ws->msg,
				      sizeof(ws->msg));
		if (rc == DCS_OK)
			rc = dcs_codec_parse_range_latest(resp.data, resp.len, &rev, &latest,
							  ws->msg, sizeof(ws->msg));
	}
	ws->endpoint = ws->probe.endpoint;
	buf_done(&req);
	buf_done(&resp);
	if (rc == DCS_OK)
		ws->rev = rev;
	ws->loaded_at = rc == DCS_OK && loaded ? rev : 0;
	return rc;
}

static void *watch_main(void *arg)
{
	struct watch_state ws = { .c = arg };
	struct dcs_client *c = ws.c;
	int64_t backoff = DCS_WATCH_BACKOFF_MIN_MS;
	bool announce = false;

	buf_init(&ws.line, DCS_WATCH_LINE_MAX);
	ws.probe.curl = dcs_conn_handle(c);
	ws.stream = curlapi->curl_easy_init();
	if (ws.probe.curl == NULL || ws.stream == NULL)
		goto out_free;
	pthread_mutex_lock(&c->lock);
	ws.endpoint = c->conn.endpoint;
	pthread_mutex_unlock(&c->lock);
	while (!stopping(c)) {
		if (ws.rev == 0) {
			int rc = watch_load(&ws);

			if (rc != DCS_OK) {
				log_debug("dcs watch: %s, retrying", ws.msg);
				if (pause_unless_stopped(c, backoff))
					break;
				backoff = backoff * 2 > DCS_WATCH_BACKOFF_MAX_MS
						  ? DCS_WATCH_BACKOFF_MAX_MS
						  : backoff * 2;
				continue;
			}
			announce = true;
		}
		if (announce) {
			notify(c, DCS_CHANGE_RESYNC);
			announce = false;
		}
		announce = watch_follow(&ws);
		if (stopping(c))
			break;
		log_debug("dcs watch: %s (%s), reconnecting", ws.msg, dcs_error_name(ws.rc));
		if (ws.rc == DCS_ERR_COMPACTED)
			ws.rev = 0;
		if (ws.created && !announce) {
			/* A stream that worked and just ended: reconnect to the same endpoint. */
			backoff = DCS_WATCH_BACKOFF_MIN_MS;
			if (pause_unless_stopped(c, backoff))
				break;
		} else {
			ws.endpoint = (ws.endpoint + 1) % c->n_urls;
			if (pause_unless_stopped(c, backoff))
				break;
			backoff = backoff * 2 > DCS_WATCH_BACKOFF_MAX_MS ? DCS_WATCH_BACKOFF_MAX_MS
									 : backoff * 2;
		}
	}
out_free:
	if (ws.stream)
		curlapi->curl_easy_cleanup(ws.stream);
	if (ws.probe.curl)
		curlapi->curl_easy_cleanup(ws.probe.curl);
	buf_done(&ws.line);
	return NULL;
}

int dcs_watch_start(struct dcs_client *c, char *msg, size_t msglen)
{
	int err;

	pthread_mutex_lock(&c->watch_lock);
	if (c->watch_running) {
		pthread_mutex_unlock(&c->watch_lock);
		return DCS_OK;
	}
	c->stop = false;
	err = pthread_create(&c->watch_thread, NULL, watch_main, c);
	if (err == 0)
		c->watch_running = true;
	pthread_mutex_unlock(&c->watch_lock);
	if (err != 0) {
		err_set(msg, msglen, "could not start the watch thread: %s", strerror(err));
		return DCS_ERR_NO_MEMORY;
	}
	return DCS_OK;
}

void dcs_watch_stop(struct dcs_client *c)
{
	bool running;

	pthread_mutex_lock(&c->watch_lock);
	running = c->watch_running;
	c->stop = true;
	pthread_cond_broadcast(&c->watch_cond);
	pthread_mutex_unlock(&c->watch_lock);
	if (!running)
		return;
	curlapi->curl_multi_wakeup(c->multi);
	pthread_join(c->watch_thread, NULL);
	c->watch_running = false;
}
