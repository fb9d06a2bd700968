/*
 * dcs_view.h - the cluster's keys as the watch keeps them: loaded from one read of the prefix,
 * then changed by the watch's events, and turned into a struct dcs_cluster by the same code that
 * reads a range reply (dcs_docs_store_kv), so a watch-fed view and a read view are the same.
 * Pure (no I/O, no locks): the watch thread owns one under the client's view lock. Internal to
 * dcs/.
 */
#ifndef GSHA_DCS_VIEW_H
#define GSHA_DCS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcs.h"

/* Keys kept: every key dcs_key_kind knows is one of nine fixed names or a member; members past
 * the view's DCS_MEMBERS_MAX are still kept here (the built view counts them as dropped). */
#define DCS_VIEW_KEYS_MAX (4 * DCS_MEMBERS_MAX + 16)
/* A value longer than any key's limit is kept cut to this plus one byte: the view refuses it as
 * over its key's limit, as a read does, without holding megabytes of junk. */
#define DCS_VIEW_VALUE_KEEP (DCS_HISTORY_MAX + 1)

struct dcs_view_kv {
	char suffix[DCS_KEY_MAX]; /* the key without the prefix */
	char *value;		  /* len bytes and a NUL; owned */
	size_t len;		  /* bytes kept (at most DCS_VIEW_VALUE_KEEP) */
	int64_t create_revision;
	int64_t mod_revision;
	uint64_t lease;
};

struct dcs_view {
	int count;
	struct dcs_view_kv *kvs; /* DCS_VIEW_KEYS_MAX entries, sorted by suffix (etcd's order) */
	int64_t revision;	 /* every change under the prefix up to here is in the view */
	bool loaded;		 /* a read filled it; false: nothing to build from */
};

void dcs_view_init(struct dcs_view *v);
/* Forgets every key (loaded becomes false). */
void dcs_view_clear(struct dcs_view *v);
void dcs_view_done(struct dcs_view *v);

/* Replaces the view with a read of the prefix: a range reply or dcs_codec_read_cluster's txn
 * reply. Returns 0; or DCS_ERR_INVALID_RESPONSE (a mistyped reply, a key outside prefix, more
 * keys than DCS_VIEW_KEYS_MAX) or DCS_ERR_NO_MEMORY with msg set, the view then cleared. */
int dcs_view_load(struct dcs_view *v, const char *body, size_t len, const char *prefix, char *msg,
		  size_t msglen) __attribute__((warn_unused_result));

/* Applies the events of one watch line (see dcs_codec_parse_watch) in order. An event at or
 * below v->revision is already in the view (a read overtook the stream) and is skipped; a line
 * whose revisions go backwards, or an event that is mistyped, outside prefix or would exceed
 * DCS_VIEW_KEYS_MAX, refuses the whole line and clears the view (the caller reads again).
 * Keys dcs_key_kind does not know are not kept. *changed (may be NULL) gets the dcs_change bits
 * of the keys the line changed. Returns 0 or a dcs_error with msg set. */
int dcs_view_apply_watch(struct dcs_view *v, const char *line, size_t len, const char *prefix,
			 unsigned *changed, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* The stall probe: compares a keys-only range reply over the prefix with the view. *behind is
 * true when etcd holds a known key the view lacks or has at another mod_revision, or the view
 * holds one etcd no longer has (a reply cut by its limit compares only the keys listed). Returns
 * 0 or DCS_ERR_INVALID_RESPONSE with msg set. */
int dcs_view_compare_keys(const struct dcs_view *v, const char *body, size_t len,
			  const char *prefix, bool *behind, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* The store revision of a reply whose header sits under "result" (a lease keepalive through the
 * gateway), 0 when there is none. */
int64_t dcs_view_reply_revision(const char *body, size_t len);

/* Builds the cluster view from the keys (out->revision = v->revision). */
void dcs_view_build(const struct dcs_view *v, struct dcs_cluster *out);

#endif
