/*
 * rest_internal.h - what the files of the REST renderer share (not part of rest.h): the output
 * buffer with its sticky error, the writers, the snapshot helpers, the responses and the pages
 * the router dispatches to. Functions are prefixed rest_ and documented where they are defined.
 */
#ifndef GSHA_REST_INTERNAL_H
#define GSHA_REST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "rest.h"

/* A query parameter value or key after percent-decoding. */
#define QUERY_VALUE_MAX 256
/* "tag_" + key. */
#define TAG_PREFIX "tag_"
/* Scratch for one formatted timestamp or number. */
#define SCRATCH_MAX 64

/* Output with a sticky error: the first failure (-ENOBUFS past the limit, -ENOMEM) is kept and
 * every later write is skipped, so a page is built without checking each step. */
struct out {
	struct buf b;
	int err;
};

/* ---- rest_output.c: writing ---- */

/* Appends text as is. */
void rest_o_put(struct out *o, const char *s);

/* Appends printf-style text of any length. */
void rest_o_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON string the way Python's json.dumps writes it (ensure_ascii: non-ASCII as \uXXXX;
 * invalid UTF-8 becomes U+FFFD). */
void rest_o_str(struct out *o, const char *s);

/* Starts a key in an object: ", " separator unless first. */
void rest_o_key(struct out *o, bool *first, const char *key);

/* A number the way Python's repr(float) would print it: shortest round-trip form. */
void rest_o_double(struct out *o, double v);

/* Any cJSON value in Python json.dumps style (", " and ": " separators). */
void rest_o_cjson(struct out *o, const cJSON *item);

/* "2026-11-21 05:30:06.829330+00:00" (Python str(datetime) in UTC). */
void rest_o_pg_timestamp(struct out *o, int64_t wall_us);

/* Epoch seconds as Python prints a float ("1795239490.512906", "0"). */
void rest_o_epoch(struct out *o, int64_t wall_us);

/* The tags object ({"k": v, ...}) as the status document and /cluster show it. */
void rest_o_tags(struct out *o, const struct rest_tag *tags, int count);

/* ---- rest_output.c: the snapshot ---- */

/* The node's tag named key, or NULL. */
const struct rest_tag *rest_find_tag(const struct rest_snapshot *s, const char *key);

/* n within [0, max]: counts in a snapshot are trusted only that far. */
int rest_clamp_count(int n, int max);

/* The node's tag key is set and true (Patroni's parse_bool, or a non-empty string). */
bool rest_tag_true(const struct rest_snapshot *s, const char *key);

/* "primary", or "master" with legacy_master_role. */
const char *rest_primary_word(const struct rest_options *opts);

/* The DCS view is present when the last successful read is younger than ttl. */
bool rest_dcs_ok(const struct rest_snapshot *s, int64_t now_ms);

/* The lease is provably held: the lock and a deadline in the future. */
bool rest_lease_valid(const struct rest_snapshot *s, int64_t now_ms);

/* The role is replica. */
bool rest_is_replica_role(const struct rest_snapshot *s);

/* ---- rest_output.c: responses (each returns 0, -ENOMEM, or -ENOBUFS past the limit) ---- */

/* Hands o's text to *out as the body with status and content type (bare: status line only). */
int rest_finish(struct out *o, struct rest_response *out, int status, const char *ctype, bool bare);

/* A status line only (HEAD, OPTIONS, /liveness, /readiness). */
int rest_respond_bare(struct rest_response *out, int status);

/* A plain-text answer, sent as text/html like Patroni. */
int rest_respond_text(struct rest_response *out, int status, const char *text);

/* Python http.server's send_error page. */
int rest_respond_error_page(struct rest_response *out, int status);

/* ---- rest_health.c ---- */

/* The node status document (/patroni and the body of GET health checks). */
void rest_o_status(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s,
		   int64_t now_ms);

/* The generic GET/HEAD/OPTIONS handler: returns the status code for path. */
int rest_health_status(const struct rest_snapshot *s, const char *path, const char *query,
		       int64_t now_ms);

/* GET /liveness: 200 while the HA loop is not late (or paused), else 503. */
int rest_liveness_status(const struct rest_snapshot *s, int64_t now_ms);

/* GET /readiness: 200 for the lock holder or a streaming replica within ?lag=, else 503. */
int rest_readiness_status(const struct rest_snapshot *s, const char *query, int64_t now_ms);

/* ---- rest_monitor.c: the bodies of /metrics, /cluster, /history and /failsafe ---- */

void rest_o_metrics(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s,
		    const struct rest_process *proc, int64_t now_ms);

void rest_o_cluster(struct out *o, const struct rest_options *opts, const struct rest_snapshot *s);

void rest_o_history(struct out *o, const struct rest_snapshot *s);

void rest_o_failsafe(struct out *o, const struct rest_snapshot *s);

/* ---- rest_actions.c: the unsafe endpoints, after the access check ---- */

/* Answers from an action callback's result. */
int rest_respond_action(struct rest_response *out, int rc, const struct rest_action_result *r);

/* 503 "<what> is not available": the agent gave no callback for it. */
int rest_respond_unavailable(struct rest_response *out, const char *what);

int rest_do_switchover(const struct rest_request *req, const struct rest_snapshot *s,
		       const struct rest_actions *act, bool failover, struct rest_response *out);

int rest_do_restart(const struct rest_request *req, const struct rest_snapshot *s,
		    const struct rest_actions *act, struct rest_response *out);

int rest_do_reinitialize(const struct rest_request *req, const struct rest_actions *act,
			 struct rest_response *out);

int rest_do_failsafe(const struct rest_request *req, const struct rest_snapshot *s,
		     const struct rest_actions *act, struct rest_response *out);

/* True when ip (numeric text) is in opts' allowlist or, when members is set and
 * allowlist_include_members is on, is the host of a member's api_url (a literal in snap, or one
 * of member_addrs, the names the server resolved). snap and member_addrs may be NULL. */
bool rest_addr_admitted(const struct rest_options *opts, const struct rest_snapshot *snap,
			const struct rest_cidr *member_addrs, int member_addr_count, const char *ip,
			bool members);

/* A JSON document in Python json.dumps style. */
int rest_respond_json_doc(struct rest_response *out, int status, const cJSON *doc);

int rest_do_config_write(const struct rest_request *req, const struct rest_actions *act, bool patch,
			 struct rest_response *out);

#endif
