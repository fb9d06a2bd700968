/*
 * dcs.c - the etcd client's public calls: the lease, the member key, the leader key, the
 * compare-and-swap writes of Patroni's other keys (see dcs.h). Each call runs under the client's
 * request lock with one deadline (dcs_transport.c); JSON is built and parsed by the codecs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dcs_internal.h"
#include "err.h"

static int lease_grant_locked(struct dcs_op *o)
{
	int64_t ttl_s = (o->c->opts.ttl_ms + 999) / 1000;
	uint64_t id;
	int64_t granted;
	int rc;

	if (ttl_s < DCS_LEASE_MIN_S)
		ttl_s = DCS_LEASE_MIN_S;
	rc = dcs_op_call(o, "/v3/lease/grant", dcs_codec_lease_grant(&o->req, ttl_s));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_lease_grant(o->resp.data, o->resp.len, &id, &granted, o->msg,
						 o->msglen);
	if (rc == DCS_OK) {
		o->c->lease = id;
		o->c->lease_refreshed_ms = clock_mono_ms();
	}
	return rc;
}

static int lease_keepalive_locked(struct dcs_op *o)
{
	uint64_t id;
	int64_t ttl;
	int rc;

	if (o->c->lease == 0) {
		err_set(o->msg, o->msglen, "no lease held");
		return DCS_ERR_LEASE_NOT_FOUND;
	}
	rc = dcs_op_call(o, "/v3/lease/keepalive", dcs_codec_lease_id(&o->req, o->c->lease));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_keepalive(o->resp.data, o->resp.len, &id, &ttl, o->msg,
					       o->msglen);
	if (rc == DCS_OK && (id != o->c->lease || ttl <= 0)) {
		err_set(o->msg, o->msglen, "lease %" PRIu64 " has expired", o->c->lease);
		rc = DCS_ERR_LEASE_NOT_FOUND;
	}
	if (rc == DCS_OK)
		o->c->lease_refreshed_ms = clock_mono_ms();
	if (rc == DCS_ERR_LEASE_NOT_FOUND)
		o->c->lease = 0;
	return rc;
}

/* Keepalive, or a new lease when there is none or it expired. */
static int lease_refresh_locked(struct dcs_op *o)
{
	int rc = lease_keepalive_locked(o);

	if (rc == DCS_ERR_LEASE_NOT_FOUND)
		rc = lease_grant_locked(o);
	return rc;
}

/* Runs a txn; *succeeded says which branch ran; *revision is the reply's revision. */
static int txn_locked(struct dcs_op *o, const struct dcs_txn *t, bool *succeeded, int64_t *revision)
{
	int rc = dcs_op_call(o, "/v3/kv/txn", dcs_codec_txn(&o->req, t));

	if (rc == DCS_OK)
		rc = dcs_codec_parse_txn(o->resp.data, o->resp.len, succeeded, revision, o->msg,
					 o->msglen);
	return rc;
}

static int put_locked(struct dcs_op *o, const char *key, const char *value, uint64_t lease,
		      int64_t *revision)
{
	int64_t rev;
	int rc = dcs_op_call(o, "/v3/kv/put", dcs_codec_put(&o->req, key, value, lease));

	if (rc == DCS_OK)
		rc = dcs_codec_parse_header(o->resp.data, o->resp.len, &rev, o->msg, o->msglen);
	if (rc == DCS_OK && revision)
		*revision = rev;
	return rc;
}

/* Reads one key: *found, and its value and lease when found. */
static int get_key_locked(struct dcs_op *o, const char *suffix, bool *found, char *value,
			  size_t cap, uint64_t *lease)
{
	struct dcs_cluster *view = malloc(sizeof(*view));
	char key[DCS_KEY_MAX];
	int rc = dcs_key_of(o->c, suffix, key, sizeof(key));

	if (view == NULL)
		return DCS_ERR_NO_MEMORY;
	if (rc == DCS_OK)
		rc = dcs_op_call(o, "/v3/kv/range",
				 dcs_codec_range(&o->req, key, false, false, false));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_cluster(o->resp.data, o->resp.len, o->c->prefix, view, o->msg,
					     o->msglen);
	if (rc == DCS_OK && strcmp(suffix, "leader") == 0) {
		*found = view->has_leader;
		*lease = view->leader_lease;
		if (buf_copy(value, cap, view->leader) < 0)
			value[0] = '\0';
	}
	free(view);
	return rc;
}

/* ---- public calls ---------------------------------------------------------------------------- */

int dcs_connect(struct dcs_client *c, char *version, size_t version_cap, char *msg, size_t msglen)
{
	char v[DCS_WORD_MAX];
	struct dcs_op o;
	int rc;

	dcs_op_begin(&o, c, msg, msglen);
	rc = dcs_call(c, &c->conn, "/version", NULL, &o.resp, o.deadline_ms, CALL_NO_AUTH, msg,
		      msglen);
	if (rc == DCS_OK)
		rc = dcs_codec_parse_version(o.resp.data, o.resp.len, v, sizeof(v), msg, msglen);
	if (rc == DCS_OK && c->opts.username[0]) {
		pthread_mutex_lock(&c->token_lock);
		c->token[0] = '\0';
		c->auth_disabled = false;
		pthread_mutex_unlock(&c->token_lock);
		rc = dcs_authenticate(c, &c->conn, o.deadline_ms, msg, msglen);
	}
	if (rc == DCS_OK && version && buf_copy(version, version_cap, v) < 0)
		rc = DCS_ERR_INVALID_ARGUMENT;
	return dcs_op_end(&o, rc);
}

/* Member keys listed when the members' directory is read key by key: the view's members, and
 * as many again that may be refused on the way (oversized, or not member documents). */
#define DCS_MEMBER_KEYS_MAX (2 * DCS_MEMBERS_MAX)

/* The cluster read when the members' directory does not fit one reply (junk under members/):
 * the other keys in one txn, then the member keys listed and read one by one, each within the
 * reply limit and refused by the codec when over its own. */
static int read_cluster_by_member(struct dcs_op *o, struct dcs_cluster *out)
{
	const char *prefix = o->c->prefix;
	char(*keys)[DCS_KEY_MAX] = calloc(DCS_MEMBER_KEYS_MAX, DCS_KEY_MAX);
	struct dcs_cluster *one = malloc(sizeof(*one));
	char dir[DCS_KEY_MAX];
	int n = 0, rc;

	rc = keys && one ? DCS_OK : DCS_ERR_NO_MEMORY;
	if (rc == DCS_OK)
		rc = dcs_op_call(o, "/v3/kv/txn", dcs_codec_read_cluster(&o->req, prefix, false));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_cluster(o->resp.data, o->resp.len, prefix, out, o->msg,
					     o->msglen);
	if (rc == DCS_OK)
		rc = dcs_key_of(o->c, "members/", dir, sizeof(dir));
	if (rc == DCS_OK)
		rc = dcs_op_call(o, "/v3/kv/range",
				 dcs_codec_range_keys(&o->req, dir, DCS_MEMBER_KEYS_MAX));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_keys(o->resp.data, o->resp.len, prefix, keys,
					  DCS_MEMBER_KEYS_MAX, &n, o->msg, o->msglen);
	for (int i = 0; rc == DCS_OK && i < n; i++) {
		char key[DCS_KEY_MAX];
		int r;

		if (dcs_key_kind(keys[i]) != DCS_CHANGE_MEMBERS ||
		    dcs_key_of(o->c, keys[i], key, sizeof(key)) != DCS_OK)
			continue;
		r = dcs_op_call(o, "/v3/kv/range",
				dcs_codec_range(&o->req, key, false, false, false));
		if (r == DCS_OK)
			r = dcs_codec_parse_cluster(o->resp.data, o->resp.len, prefix, one, o->msg,
						    o->msglen);
		if (r != DCS_OK) {
			if (r != DCS_ERR_INVALID_RESPONSE)
				rc = r; /* etcd went away: the read fails as any other */
			else if (out->rejected_count++ == 0)
				err_set(out->rejected, sizeof(out->rejected),
					"key \"%.80s\" refused: larger than a reply may be",
					keys[i]);
			continue;
		}
		if (one->rejected_count > 0 && out->rejected_count++ == 0)
			memcpy(out->rejected, one->rejected, sizeof(out->rejected));
		if (one->member_count != 1)
			continue;
		if (out->member_count < DCS_MEMBERS_MAX)
			out->members[out->member_count++] = one->members[0];
		else
			out->members_dropped++;
	}
	if (rc == DCS_OK && out->rejected_count++ == 0)
		err_set(out->rejected, sizeof(out->rejected),
			"the members' directory is larger than one reply may be: read key by key");
	free(one);
	free(keys);
	return rc;
}

int dcs_read_cluster(struct dcs_client *c, struct dcs_cluster *out, char *msg, size_t msglen)
{
	struct dcs_op o;
	int rc;

	dcs_op_begin(&o, c, msg, msglen);
	rc = dcs_op_call(&o, "/v3/kv/txn", dcs_codec_read_cluster(&o.req, c->prefix, true));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_cluster(o.resp.data, o.resp.len, c->prefix, out, msg, msglen);
	else if (rc == DCS_ERR_INVALID_RESPONSE && o.resp.overflow)
		rc = read_cluster_by_member(&o, out);
	if (rc == DCS_OK) {
		const struct dcs_member *me = dcs_cluster_member(out, c->opts.name);
		c->last_read_revision = out->revision;
		/* Our key is gone or differs from what we wrote (deleted, expired, edited): the
		 * next dcs_touch_member rewrites it. */
		if (c->opts.name[0] &&
		    (me == NULL || me->lease != c->lease || strcmp(me->doc, c->member_doc) != 0))
			c->member_lease = 0;
	}
	return dcs_op_end(&o, rc);
}

int dcs_lease_grant(struct dcs_client *c, char *msg, size_t msglen)
{
	struct dcs_op o;

	dcs_op_begin(&o, c, msg, msglen);
	return dcs_op_end(&o, lease_grant_locked(&o));
}

int dcs_lease_adopt(struct dcs_client *c, uint64_t lease, bool leader_on_it, char *msg,
		    size_t msglen)
{
	struct dcs_op o;
	uint64_t previous = c->lease;
	int rc;

	if (lease == 0)
		return DCS_ERR_INVALID_ARGUMENT;
	dcs_op_begin(&o, c, msg, msglen);
	c->lease = lease;
	rc = lease_keepalive_locked(&o);
	if (rc == DCS_OK && leader_on_it)
		c->leader_lease = lease;
	else if (rc != DCS_OK && rc != DCS_ERR_LEASE_NOT_FOUND)
		c->lease = previous; /* could not tell: nothing adopted */
	return dcs_op_end(&o, rc);
}

int dcs_lease_keepalive(struct dcs_client *c, char *msg, size_t msglen)
{
	struct dcs_op o;

	dcs_op_begin(&o, c, msg, msglen);
	return dcs_op_end(&o, lease_keepalive_locked(&o));
}

int dcs_lease_keepalive_side(struct dcs_client *c, uint64_t lease, int64_t deadline_ms,
			     const _Atomic bool *cancel, int64_t *ttl_ms, char *msg, size_t msglen)
{
	int64_t now = clock_mono_ms(), ttl = 0;
	struct dcs_side *side = NULL;
	struct buf req, resp;
	uint64_t id = 0, expected = lease;
	int rc;

	if (lease == 0)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT, "no lease to renew");
	if (deadline_ms <= 0)
		deadline_ms = now + c->opts.retry_timeout_ms;
	/* An answer later than the lease's whole TTL renews nothing the caller can count on. */
	if (deadline_ms > now + c->opts.ttl_ms)
		deadline_ms = now + c->opts.ttl_ms;
	for (int i = 0; i < DCS_KEEPALIVE_CONNS && side == NULL; i++)
		if (pthread_mutex_trylock(&c->side[i].lock) == 0)
			side = &c->side[i];
	if (side == NULL)
		return err_fail(msg, msglen, DCS_ERR_TRANSIENT,
				"every keepalive connection is busy (%d keepalives in flight)",
				DCS_KEEPALIVE_CONNS);
	buf_init(&req, DCS_REQUEST_MAX);
	buf_init(&resp, DCS_RESPONSE_MAX);
	side->conn.cancel = cancel;
	rc = dcs_codec_lease_id(&req, lease);
	if (rc == DCS_OK)
		rc = dcs_call(c, &side->conn, "/v3/lease/keepalive", &req, &resp, deadline_ms,
			      CALL_SPREAD, msg, msglen);
	side->conn.cancel = NULL;
	pthread_mutex_unlock(&side->lock);
	if (rc == DCS_OK)
		rc = dcs_codec_parse_keepalive(resp.data, resp.len, &id, &ttl, msg, msglen);
	if (rc == DCS_OK && (id != lease || ttl <= 0)) {
		err_set(msg, msglen, "lease %" PRIu64 " has expired", lease);
		rc = DCS_ERR_LEASE_NOT_FOUND;
	}
	if (rc == DCS_OK) {
		atomic_store(&c->lease_refreshed_ms, clock_mono_ms());
		if (ttl_ms)
			*ttl_ms = ttl * 1000;
	}
	/* Forget it only if it is still the client's: the request path may have replaced it. */
	if (rc == DCS_ERR_LEASE_NOT_FOUND)
		(void)atomic_compare_exchange_strong(&c->lease, &expected, 0);
	buf_done(&resp);
	buf_done(&req);
	return rc;
}

void dcs_lease_thread_keeps(struct dcs_client *c)
{
	atomic_store(&c->lease_thread, true);
}

int dcs_lease_revoke(struct dcs_client *c, char *msg, size_t msglen)
{
	int64_t rev;
	struct dcs_op o;
	int rc = DCS_OK;

	dcs_op_begin(&o, c, msg, msglen);
	if (c->lease != 0) {
		rc = dcs_op_call(&o, "/v3/lease/revoke", dcs_codec_lease_id(&o.req, c->lease));
		if (rc == DCS_OK)
			rc = dcs_codec_parse_header(o.resp.data, o.resp.len, &rev, msg, msglen);
		if (rc == DCS_ERR_LEASE_NOT_FOUND)
			rc = DCS_OK; /* gone already: what we wanted */
		if (rc == DCS_OK) {
			c->lease = 0;
			c->leader_lease = 0;
		}
	}
	return dcs_op_end(&o, rc);
}

static int member_put_locked(struct dcs_op *o, const char *doc)
{
	char key[DCS_KEY_MAX];
	int rc = DCS_OK;

	if (buf_format(key, sizeof(key), "%smembers/%s", o->c->prefix, o->c->opts.name) < 0)
		rc = DCS_ERR_INVALID_ARGUMENT;
	if (rc == DCS_OK && o->c->lease == 0)
		rc = lease_grant_locked(o);
	if (rc == DCS_OK)
		rc = put_locked(o, key, doc, o->c->lease, NULL);
	if (rc == DCS_ERR_LEASE_NOT_FOUND) {
		o->c->lease = 0;
		rc = lease_grant_locked(o);
		if (rc == DCS_OK)
			rc = put_locked(o, key, doc, o->c->lease, NULL);
	}
	if (rc == DCS_OK) {
		buf_copy_or_clear(o->c->member_doc, sizeof(o->c->member_doc), doc);
		o->c->member_lease = o->c->lease;
	}
	return rc;
}

int dcs_touch_member(struct dcs_client *c, const char *doc, char *msg, size_t msglen)
{
	char suffix[DCS_KEY_MAX];
	struct dcs_op o;
	int rc;

	if (c->opts.name[0] == '\0')
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT, "member name is not set");
	if (buf_format(suffix, sizeof(suffix), "members/%s", c->opts.name) != 0)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT, "member key too long");
	rc = dcs_docs_check(suffix, doc, msg, msglen);
	if (rc != DCS_OK)
		return rc;
	dcs_op_begin(&o, c, msg, msglen);
	/* Replicas renew their lease here (the leader does in dcs_renew_leader): Patroni too
	 * refreshes in touch_member once the last refresh is old. A lost lease is re-granted and
	 * the document rewritten on the new one. */
	if (c->lease != 0 && !atomic_load(&c->lease_thread) &&
	    clock_mono_ms() - c->lease_refreshed_ms >= c->opts.ttl_ms / 3) {
		rc = lease_keepalive_locked(&o);
		if (rc != DCS_OK && rc != DCS_ERR_LEASE_NOT_FOUND)
			return dcs_op_end(&o, rc);
	}
	if (c->lease != 0 && c->member_lease == c->lease && strcmp(c->member_doc, doc) == 0)
		return dcs_op_end(&o, DCS_OK);
	return dcs_op_end(&o, member_put_locked(&o, doc));
}

int dcs_member_doc_build(const struct dcs_client *c, const struct dcs_member_doc *m, char *out,
			 size_t cap, char *msg, size_t msglen)
{
	return dcs_doc_member(m, c->opts.legacy_master_role, out, cap, msg, msglen);
}

static void leader_put_txn(struct dcs_client *c, const char *key, struct dcs_txn *t)
{
	memset(t, 0, sizeof(*t));
	t->compare.target = DCS_CMP_CREATE;
	t->compare.key = key;
	t->compare.revision = 0;
	t->success.kind = DCS_OP_PUT;
	t->success.key = key;
	t->success.value = c->opts.name;
	t->success.lease = c->lease;
}

/* After a conflict, was the write ours after all (an earlier attempt that timed out but
 * committed)? */
static bool leader_is_mine_locked(struct dcs_op *o)
{
	char holder[MEMBER_NAME_MAX];
	uint64_t lease = 0;
	bool found = false;

	return get_key_locked(o, "leader", &found, holder, sizeof(holder), &lease) == DCS_OK &&
	       found && strcmp(holder, o->c->opts.name) == 0 && lease == o->c->lease;
}

/* Begins a call on the leader key, which needs the member name. On 0 the call is begun (end it
 * with dcs_op_end) and key (DCS_KEY_MAX bytes) holds the leader key; otherwise nothing is. */
static int leader_op_begin(struct dcs_op *o, struct dcs_client *c, char *key, char *msg,
			   size_t msglen)
{
	int rc;

	if (c->opts.name[0] == '\0')
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT, "member name is not set");
	dcs_op_begin(o, c, msg, msglen);
	rc = dcs_key_of(c, "leader", key, DCS_KEY_MAX);
	return rc == DCS_OK ? DCS_OK : dcs_op_end(o, rc);
}

int dcs_take_leader(struct dcs_client *c, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool won = false;
	int64_t rev;
	struct dcs_op o;
	int rc;

	rc = leader_op_begin(&o, c, key, msg, msglen);
	if (rc != DCS_OK)
		return rc;
	rc = lease_refresh_locked(&o);
	for (int attempt = 0; rc == DCS_OK && attempt < 2; attempt++) {
		leader_put_txn(c, key, &t);
		rc = txn_locked(&o, &t, &won, &rev);
		if (rc != DCS_ERR_LEASE_NOT_FOUND)
			break;
		c->lease = 0;
		rc = lease_grant_locked(&o);
	}
	if (rc == DCS_OK && !won && leader_is_mine_locked(&o))
		won = true;
	if (rc == DCS_OK && !won) {
		err_set(msg, msglen, "leader key is held by another member");
		rc = DCS_ERR_CONFLICT;
	}
	if (rc == DCS_OK)
		c->leader_lease = c->lease;
	return dcs_op_end(&o, rc);
}

int dcs_renew_leader(struct dcs_client *c, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	char doc[DCS_MEMBER_DOC_MAX + 1];
	struct dcs_txn t;
	bool ok = false;
	int64_t rev;
	struct dcs_op o;
	int rc;

	rc = leader_op_begin(&o, c, key, msg, msglen);
	if (rc != DCS_OK)
		return rc;
	rc = lease_refresh_locked(&o);
	if (rc != DCS_OK || (c->leader_lease != 0 && c->leader_lease == c->lease))
		return dcs_op_end(&o, rc);
	/* The lease changed (or this process never wrote the key): re-put on the new lease if
	 * the key still names us, or if nobody holds it. */
	leader_put_txn(c, key, &t);
	t.compare.target = DCS_CMP_VALUE;
	t.compare.value = c->opts.name;
	t.has_nested = true;
	t.nested_compare.target = DCS_CMP_CREATE;
	t.nested_compare.key = key;
	t.nested_compare.revision = 0;
	rc = txn_locked(&o, &t, &ok, &rev);
	if (rc == DCS_OK && !ok && leader_is_mine_locked(&o))
		ok = true;
	if (rc == DCS_OK && !ok) {
		c->leader_lease = 0;
		err_set(msg, msglen, "leader key was taken by another member");
		return dcs_op_end(&o, DCS_ERR_CONFLICT);
	}
	if (rc != DCS_OK)
		return dcs_op_end(&o, rc);
	c->leader_lease = c->lease;
	/* The member key rode on the old lease too. */
	if (c->member_lease != 0 && c->member_lease != c->lease &&
	    buf_copy(doc, sizeof(doc), c->member_doc) == 0)
		(void)member_put_locked(&o, doc);
	return dcs_op_end(&o, DCS_OK);
}

int dcs_release_leader(struct dcs_client *c, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool ok = false;
	int64_t rev;
	struct dcs_op o;
	int rc;

	rc = leader_op_begin(&o, c, key, msg, msglen);
	if (rc != DCS_OK)
		return rc;
	memset(&t, 0, sizeof(t));
	t.compare.target = DCS_CMP_VALUE;
	t.compare.key = key;
	t.compare.value = c->opts.name;
	t.success.kind = DCS_OP_DELETE;
	t.success.key = key;
	rc = txn_locked(&o, &t, &ok, &rev);
	if (rc == DCS_OK) {
		c->leader_lease = 0;
		if (!ok) {
			err_set(msg, msglen, "leader key is not held by this member");
			rc = DCS_ERR_CONFLICT;
		}
	}
	return dcs_op_end(&o, rc);
}

/* txn compare -> delete key; a failed compare is DCS_ERR_CONFLICT with conflict as message. */
static int delete_if(struct dcs_op *o, const char *key, const struct dcs_txn_compare *compare,
		     const char *conflict)
{
	struct dcs_txn t;
	bool ok = false;
	int64_t rev;
	int rc;

	memset(&t, 0, sizeof(t));
	t.compare = *compare;
	t.compare.key = key;
	t.success.kind = DCS_OP_DELETE;
	t.success.key = key;
	rc = txn_locked(o, &t, &ok, &rev);
	if (rc == DCS_OK && !ok) {
		err_set(o->msg, o->msglen, "%s", conflict);
		rc = DCS_ERR_CONFLICT;
	}
	return rc;
}

int dcs_cancel_initialize(struct dcs_client *c, char *msg, size_t msglen)
{
	const struct dcs_txn_compare empty = { .target = DCS_CMP_VALUE, .value = "" };
	char key[DCS_KEY_MAX];
	struct dcs_op o;
	int rc;

	dcs_op_begin(&o, c, msg, msglen);
	rc = dcs_key_of(c, "initialize", key, sizeof(key));
	if (rc == DCS_OK)
		rc = delete_if(&o, key, &empty, "\"initialize\" holds a system identifier");
	return dcs_op_end(&o, rc);
}

/* Writes prefix+suffix = value under a dcs_cas condition. */
static int cas_put(struct dcs_client *c, const char *suffix, const char *value,
		   int64_t mod_revision, int64_t *new_mod_revision, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	struct dcs_txn t;
	bool ok = false;
	int64_t rev = 0;
	struct dcs_op o;
	int rc;

	if (mod_revision < DCS_CAS_ANY) {
		err_set(msg, msglen, "invalid mod_revision %" PRId64, mod_revision);
		return DCS_ERR_INVALID_ARGUMENT;
	}
	dcs_op_begin(&o, c, msg, msglen);
	rc = dcs_key_of(c, suffix, key, sizeof(key));
	if (rc == DCS_OK && mod_revision == DCS_CAS_ANY) {
		rc = put_locked(&o, key, value, 0, &rev);
	} else if (rc == DCS_OK) {
		memset(&t, 0, sizeof(t));
		t.compare.target = mod_revision == DCS_CAS_ABSENT ? DCS_CMP_CREATE : DCS_CMP_MOD;
		t.compare.key = key;
		t.compare.revision = mod_revision;
		t.success.kind = DCS_OP_PUT;
		t.success.key = key;
		t.success.value = value;
		rc = txn_locked(&o, &t, &ok, &rev);
		if (rc == DCS_OK && !ok) {
			err_set(msg, msglen, "\"%s\" was changed by someone else", suffix);
			rc = DCS_ERR_CONFLICT;
		}
	}
	if (rc == DCS_OK && new_mod_revision)
		*new_mod_revision = rev;
	return dcs_op_end(&o, rc);
}

int dcs_take_initialize(struct dcs_client *c, const char *value, char *msg, size_t msglen)
{
	if (strlen(value) > DCS_INITIALIZE_MAX)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"initialize: the value is longer than %d bytes",
				DCS_INITIALIZE_MAX);
	return cas_put(c, "initialize", value, DCS_CAS_ABSENT, NULL, msg, msglen);
}

int dcs_write_initialize(struct dcs_client *c, const char *sysid, char *msg, size_t msglen)
{
	if (strlen(sysid) > DCS_INITIALIZE_MAX)
		return err_fail(msg, msglen, DCS_ERR_INVALID_ARGUMENT,
				"initialize: the value is longer than %d bytes",
				DCS_INITIALIZE_MAX);
	return cas_put(c, "initialize", sysid, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_cas_config(struct dcs_client *c, const char *json, int64_t mod_revision,
		   int64_t *new_mod_revision, char *msg, size_t msglen)
{
	int rc = dcs_docs_check("config", json, msg, msglen);

	return rc ? rc : cas_put(c, "config", json, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_cas_sync(struct dcs_client *c, const char *json, int64_t mod_revision,
		 int64_t *new_mod_revision, char *msg, size_t msglen)
{
	int rc = dcs_docs_check("sync", json, msg, msglen);

	return rc ? rc : cas_put(c, "sync", json, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_cas_term(struct dcs_client *c, int64_t term, int64_t mod_revision,
		 int64_t *new_mod_revision, char *msg, size_t msglen)
{
	char text[DCS_TERM_TEXT_MAX];

	if (term < 1 || term > DCS_TERM_MAX ||
	    buf_format(text, sizeof(text), "%" PRId64, term) != 0) {
		err_set(msg, msglen, "term must be 1..%lld", DCS_TERM_MAX);
		return DCS_ERR_INVALID_ARGUMENT;
	}
	return cas_put(c, "term", text, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_write_failover(struct dcs_client *c, const char *json, int64_t mod_revision,
		       int64_t *new_mod_revision, char *msg, size_t msglen)
{
	int rc = dcs_docs_check("failover", json, msg, msglen);

	return rc ? rc : cas_put(c, "failover", json, mod_revision, new_mod_revision, msg, msglen);
}

int dcs_clear_failover(struct dcs_client *c, int64_t mod_revision, char *msg, size_t msglen)
{
	return cas_put(c, "failover", "{}", mod_revision, NULL, msg, msglen);
}

int dcs_delete_sync(struct dcs_client *c, int64_t mod_revision, char *msg, size_t msglen)
{
	char key[DCS_KEY_MAX];
	int64_t rev;
	struct dcs_op o;
	int rc;

	dcs_op_begin(&o, c, msg, msglen);
	rc = dcs_key_of(c, "sync", key, sizeof(key));
	if (rc == DCS_OK && mod_revision <= 0) {
		rc = dcs_op_call(&o, "/v3/kv/deleterange", dcs_codec_delete(&o.req, key, false));
		if (rc == DCS_OK)
			rc = dcs_codec_parse_header(o.resp.data, o.resp.len, &rev, msg, msglen);
	} else if (rc == DCS_OK) {
		const struct dcs_txn_compare same = { .target = DCS_CMP_MOD,
						      .revision = mod_revision };

		rc = delete_if(&o, key, &same, "\"sync\" was changed by someone else");
	}
	return dcs_op_end(&o, rc);
}

int dcs_write_status(struct dcs_client *c, const char *json, char *msg, size_t msglen)
{
	int rc = dcs_docs_check("status", json, msg, msglen);

	return rc ? rc : cas_put(c, "status", json, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_write_history(struct dcs_client *c, const char *json, char *msg, size_t msglen)
{
	int rc = dcs_docs_check("history", json, msg, msglen);

	return rc ? rc : cas_put(c, "history", json, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_write_failsafe(struct dcs_client *c, const char *json, char *msg, size_t msglen)
{
	int rc = dcs_docs_check("failsafe", json, msg, msglen);

	return rc ? rc : cas_put(c, "failsafe", json, DCS_CAS_ANY, NULL, msg, msglen);
}

int dcs_delete_cluster(struct dcs_client *c, char *msg, size_t msglen)
{
	int64_t rev;
	struct dcs_op o;
	int rc;

	dcs_op_begin(&o, c, msg, msglen);
	rc = dcs_op_call(&o, "/v3/kv/deleterange", dcs_codec_delete(&o.req, c->prefix, true));
	if (rc == DCS_OK)
		rc = dcs_codec_parse_header(o.resp.data, o.resp.len, &rev, msg, msglen);
	return dcs_op_end(&o, rc);
}
