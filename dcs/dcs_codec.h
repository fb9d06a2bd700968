/*
 * dcs_codec.h - the pure half of the etcd client: request JSON and reply parsing (dcs_codec.c),
 * and the values of Patroni's keys: read (dcs_docs.c) and checked before a write
 * (dcs_docs_build.c, which also builds them: see "Documents" in dcs.h).
 *
 * No I/O, no clock, no logging. Every reply is hostile: each parser checks types and sizes and
 * returns DCS_ERR_INVALID_RESPONSE rather than guess. Outputs are written only on success.
 * Internal to dcs/ (the unit tests and the fuzz target include it too).
 */
#ifndef GSHA_DCS_CODEC_H
#define GSHA_DCS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dcs.h"

/* The largest request body built (a value is base64: 4/3 of DCS_VALUE_MAX, plus the rest). */
#define DCS_REQUEST_MAX (2 * DCS_VALUE_MAX)
/* The longest watch response line accepted. */
#define DCS_WATCH_LINE_MAX DCS_RESPONSE_MAX

/* Writes the range end for a prefix (the last byte incremented) into out. Returns 0 or
 * -ENAMETOOLONG / -EINVAL (empty prefix, or all 0xff). */
int dcs_prefix_end(const char *prefix, char *out, size_t cap) __attribute__((warn_unused_result));

/* Builds "/<namespace>/<scope>/" collapsing repeated slashes; empty namespace = "service". */
int dcs_make_prefix(const char *ns, const char *scope, char *out, size_t cap)
	__attribute__((warn_unused_result));

/* Request builders: each resets out and writes one JSON body. Return 0 or a dcs_error
 * (DCS_ERR_INVALID_ARGUMENT when the body would exceed out's limit). */
enum dcs_cmp_target {
	DCS_CMP_CREATE, /* create_revision == revision */
	DCS_CMP_MOD,	/* mod_revision == revision */
	DCS_CMP_VALUE,	/* value == value */
};

struct dcs_txn_compare {
	enum dcs_cmp_target target;
	const char *key;
	int64_t revision;  /* CREATE, MOD */
	const char *value; /* VALUE */
};

enum dcs_op_kind {
	DCS_OP_PUT,
	DCS_OP_DELETE,
};

struct dcs_txn_op {
	enum dcs_op_kind kind;
	const char *key;
	const char *value; /* PUT */
	uint64_t lease;	   /* PUT; 0 = none */
};

/* compare -> success; when has_nested, failure = one nested txn nested_compare -> success op. */
struct dcs_txn {
	struct dcs_txn_compare compare;
	struct dcs_txn_op success;
	bool has_nested;
	struct dcs_txn_compare nested_compare;
};

int dcs_codec_range(struct buf *out, const char *key, bool prefix, bool serializable,
		    bool count_only) __attribute__((warn_unused_result));
/* The cluster read: one txn with an exact range for each key gsha reads and (members) one over
 * members/, so keys it does not use are never transferred (junk under the prefix cannot push
 * the reply past DCS_RESPONSE_MAX). dcs_codec_parse_cluster reads the reply. */
int dcs_codec_read_cluster(struct buf *out, const char *prefix, bool members)
	__attribute__((warn_unused_result));
/* The keys (no values) under dir, at most limit of them: the member keys, when the members'
 * directory holds more than one reply may. */
int dcs_codec_range_keys(struct buf *out, const char *dir, int64_t limit)
	__attribute__((warn_unused_result));
/* The keys of a keys-only range reply, without prefix, into suffixes (at most cap; more are
 * left out). Returns DCS_OK or DCS_ERR_INVALID_RESPONSE with msg. */
int dcs_codec_parse_keys(const char *body, size_t len, const char *prefix,
			 char (*suffixes)[DCS_KEY_MAX], int cap, int *count, char *msg,
			 size_t msglen) __attribute__((warn_unused_result));
/* The stall probe: keys_only, the most recently modified key under the prefix. */
int dcs_codec_range_latest(struct buf *out, const char *prefix) __attribute__((warn_unused_result));
int dcs_codec_put(struct buf *out, const char *key, const char *value, uint64_t lease)
	__attribute__((warn_unused_result));
int dcs_codec_delete(struct buf *out, const char *key, bool prefix)
	__attribute__((warn_unused_result));
int dcs_codec_txn(struct buf *out, const struct dcs_txn *t) __attribute__((warn_unused_result));
int dcs_codec_lease_grant(struct buf *out, int64_t ttl_s) __attribute__((warn_unused_result));
/* {"ID":"<id>"} for keepalive and revoke. */
int dcs_codec_lease_id(struct buf *out, uint64_t id) __attribute__((warn_unused_result));
int dcs_codec_auth(struct buf *out, const char *name, const char *password)
	__attribute__((warn_unused_result));
int dcs_codec_watch_create(struct buf *out, const char *prefix, int64_t start_revision)
	__attribute__((warn_unused_result));

/* The verdict on one reply: HTTP status plus body. */
struct dcs_status {
	int rc;	       /* DCS_OK or the classified dcs_error */
	int grpc_code; /* -1 when the body carried none */
	bool reauth;   /* the token is missing, invalid or stale: authenticate and retry */
	char message[DCS_MSG_MAX]; /* etcd's message, or what was wrong with the reply */
};

/* Classifies a reply: 2xx -> DCS_OK (the body is not looked at; a streamed error object inside
 * a 200 body is found by the parsers), 5xx -> transient, 4xx by gRPC code and message. Never
 * fails. */
void dcs_codec_status(long http_status, const char *body, size_t len, struct dcs_status *out);

/* Unary replies. Each takes the body and returns 0 or DCS_ERR_INVALID_RESPONSE with a reason in
 * msg. *revision is header.revision (0 when etcd left it out). */
int dcs_codec_parse_header(const char *body, size_t len, int64_t *revision, char *msg,
			   size_t msglen) __attribute__((warn_unused_result));
/* succeeded is the top-level flag or, for a nested txn, responses[0].response_txn.succeeded.
 * *revision is header.revision: the mod_revision of a put that succeeded. */
int dcs_codec_parse_txn(const char *body, size_t len, bool *succeeded, int64_t *revision, char *msg,
			size_t msglen) __attribute__((warn_unused_result));
int dcs_codec_parse_lease_grant(const char *body, size_t len, uint64_t *id, int64_t *ttl_s,
				char *msg, size_t msglen) __attribute__((warn_unused_result));
/* The keepalive stream's first object. *ttl_s is 0 when etcd no longer knows the lease. A stream
 * error object gives its classified code (e.g. DCS_ERR_TRANSIENT). */
int dcs_codec_parse_keepalive(const char *body, size_t len, uint64_t *id, int64_t *ttl_s, char *msg,
			      size_t msglen) __attribute__((warn_unused_result));
int dcs_codec_parse_auth(const char *body, size_t len, char *token, size_t token_cap, char *msg,
			 size_t msglen) __attribute__((warn_unused_result));
/* GET /version: writes "etcdcluster" (e.g. "3.4.0") and checks it is 3.4 or later
 * (DCS_ERR_REQUEST otherwise). */
int dcs_codec_parse_version(const char *body, size_t len, char *version, size_t cap, char *msg,
			    size_t msglen) __attribute__((warn_unused_result));
/* The stall probe's reply: header revision and the newest mod_revision under the prefix (0 when
 * empty). */
int dcs_codec_parse_range_latest(const char *body, size_t len, int64_t *revision,
				 int64_t *latest_mod, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Stores one key of the prefix (suffix: the key without it; value: len bytes followed by a NUL)
 * into the view c, refusing what dcs.h's limits refuse (noted in c->rejected) (dcs_docs.c). */
void dcs_docs_store_kv(struct dcs_cluster *c, const char *suffix, const char *value, size_t len,
		       int64_t create_rev, int64_t mod_rev, uint64_t lease);

/* A range reply over the prefix, or the txn reply of dcs_codec_read_cluster (one range reply per
 * response), into a cluster view. Keys outside prefix are rejected. */
int dcs_codec_parse_cluster(const char *body, size_t len, const char *prefix,
			    struct dcs_cluster *out, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Parses one member value (JSON object or Patroni's legacy postgres:// form) into m's parsed
 * fields and doc; name and revisions are left alone. Never fails: bad documents (over
 * DCS_MEMBER_DOC_MAX, trailing garbage) leave doc_valid false and the fields empty. */
void dcs_codec_parse_member_doc(const char *value, size_t len, struct dcs_member *m);

/* One line of the watch stream. */
struct dcs_watch_result {
	int64_t revision;	  /* header.revision, 0 when absent */
	bool created;		  /* the watch was set up */
	bool canceled;		  /* etcd ended the watch */
	int64_t compact_revision; /* set when canceled for compaction */
	int events;		  /* events in this line */
	int64_t max_mod_revision; /* newest event */
	unsigned changed;	  /* dcs_change bits of the events' keys */
	char cancel_reason[DCS_MSG_MAX];
};

/* Parses one watch line. Returns 0, DCS_ERR_INVALID_RESPONSE, or the classified code of a
 * stream error object ({"error":{...}}), with msg set. */
int dcs_codec_parse_watch(const char *line, size_t len, const char *prefix,
			  struct dcs_watch_result *out, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Checks a value before it is written to prefix + suffix: it must read back through the
 * cluster-view parser without being refused (one JSON value of the key's kind within the key's
 * limit, member names of at most MEMBER_NAME_LEN bytes). Returns 0, or DCS_ERR_INVALID_ARGUMENT
 * with the reason in msg (DCS_ERR_NO_MEMORY). */
int dcs_docs_check(const char *suffix, const char *value, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

#endif
