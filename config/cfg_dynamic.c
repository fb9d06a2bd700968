/*
 * cfg_dynamic.c - the dynamic configuration as JSON: the etcd "config" key, PATCH /config.
 *
 * JSON goes through the same tree and key table as the YAML file, so the rules (types, ranges,
 * the timing rule) are the same wherever a value comes from.
 */
#include "cfg.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cfg_internal.h"
#include "err.h"
#include "json_merge.h"
#include "list_copy.h"
#include "num.h"

#define JSON_DEPTH_MAX CFG_TREE_DEPTH_MAX

/* Converts a cJSON value to a tree node. Returns 0, -EINVAL (too deep/large) or -ENOMEM. */
static int json_to_node(const cJSON *j, int depth, int *nodes, struct cfg_node **out)
{
	struct cfg_node *n;

	if (depth > JSON_DEPTH_MAX || ++*nodes > CFG_TREE_NODES_MAX)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		struct cfg_node **tail = &n->child;

		n->type = cJSON_IsObject(j) ? CFG_NODE_MAP : CFG_NODE_SEQ;
		for (const cJSON *c = j->child; c != NULL; c = c->next) {
			struct cfg_node *child = NULL;
			int r = json_to_node(c, depth + 1, nodes, &child);

			if (r != 0) {
				cfg_node_free(n);
				return r;
			}
			*tail = child;
			tail = &child->next;
			if (n->type == CFG_NODE_MAP) {
				child->key = strdup(c->string ? c->string : "");
				if (child->key == NULL) {
					cfg_node_free(n);
					return -ENOMEM;
				}
			}
		}
		*out = n;
		return 0;
	}
	char num[64];
	const char *text;

	n->type = CFG_NODE_SCALAR;
	if (cJSON_IsNull(j)) {
		n->type = CFG_NODE_NULL;
		n->kind = CFG_VALUE_NONE;
		text = "";
	} else if (cJSON_IsBool(j)) {
		n->kind = CFG_VALUE_BOOL;
		text = cJSON_IsTrue(j) ? "true" : "false";
	} else if (cJSON_IsNumber(j)) {
		double v = j->valuedouble;

		n->kind = CFG_VALUE_NUMBER;
		if (!isfinite(v))
			text = "nan";
		else if (num_is_whole(v) && fabs(v) < 9007199254740992.0)
			snprintf(num, sizeof(num), "%lld", (long long)v);
		else
			snprintf(num, sizeof(num), "%.17g", v);
		text = cJSON_IsNumber(j) && isfinite(v) ? num : text;
	} else if (cJSON_IsString(j)) {
		n->kind = CFG_VALUE_STRING;
		text = j->valuestring;
		if (strlen(text) > CFG_SCALAR_MAX) {
			free(n);
			return -EINVAL;
		}
	} else {
		free(n);
		return -EINVAL;
	}
	n->text = strdup(text);
	if (n->text == NULL) {
		free(n);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

/* Reads a parsed JSON object into d (from the defaults). On -EINVAL, when bad is not NULL, it
 * receives every error diagnostic (the key and why). */
static int dynamic_from_json(const cJSON *root, struct cfg_dynamic *out, char *err, size_t errlen,
			     struct cfg_diags *bad)
{
	struct cfg_dynamic *d;
	struct cfg_reader *r;
	struct cfg_diags *diags;
	struct cfg_node *tree = NULL;
	int nodes = 0;
	int rc;

	if (!cJSON_IsObject(root)) {
		err_set(err, errlen, "the dynamic configuration must be a JSON object");
		return -EINVAL;
	}
	d = malloc(sizeof(*d));
	r = calloc(1, sizeof(*r));
	diags = malloc(sizeof(*diags));
	if (d == NULL || r == NULL || diags == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = json_to_node(root, 0, &nodes, &tree);
	if (rc != 0) {
		if (rc == -EINVAL)
			err_set(err, errlen, "the JSON document is nested too deeply or too large");
		goto out_free;
	}
	cfg_dynamic_defaults(d);
	cfg_diags_init(diags);
	r->diags = diags;
	r->source = "config";
	r->ignore_unknown = true;
	r->quiet_warnings = true;
	cfg_read_map(r, tree, cfg_dynamic_keys, "", "", d);
	if (diags->errors == 0) {
		char why[CFG_DIAG_TEXT_MAX];

		if (cfg_dynamic_check(d, why, sizeof(why)) != 0)
			cfg_diag_add(diags, CFG_SEVERITY_ERROR, "config", 0, 0, "ttl", "%s", why);
	}
	if (diags->errors > 0) {
		for (int i = 0; i < diags->count; i++) {
			if (diags->items[i].severity != CFG_SEVERITY_ERROR)
				continue;
			err_set(err, errlen, "\"%s\": %s", diags->items[i].key,
				diags->items[i].message);
			break;
		}
		if (bad != NULL)
			memcpy(bad, diags, sizeof(*diags));
		rc = -EINVAL;
		goto out_free;
	}
	memcpy(out, d, sizeof(*d));
	rc = 0;
out_free:
	cfg_node_free(tree);
	free(diags);
	free(r);
	free(d);
	return rc;
}

static cJSON *parse_json(const char *json, size_t len, char *err, size_t errlen)
{
	cJSON *root;

	if (json == NULL || len > CFG_FILE_MAX_BYTES) {
		err_set(err, errlen, "the JSON document is missing or larger than 1 MiB");
		return NULL;
	}
	root = cJSON_ParseWithLength(json, len);
	if (root == NULL)
		err_set(err, errlen, "invalid JSON");
	return root;
}

int cfg_dynamic_parse(const char *json, size_t len, struct cfg_dynamic *out, char *err,
		      size_t errlen)
{
	cJSON *root = parse_json(json, len, err, errlen);
	int rc;

	if (root == NULL)
		return -EINVAL;
	rc = dynamic_from_json(root, out, err, errlen, NULL);
	cJSON_Delete(root);
	return rc;
}

/* The item at a dotted path under obj, and its parent object. Keys may hold dots themselves
 * (a parameter such as "auto_explain.log_min_duration"), so each level matches a whole key. */
static cJSON *path_item(cJSON *obj, const char *path, cJSON **parent)
{
	for (cJSON *c = cJSON_IsObject(obj) ? obj->child : NULL; c != NULL; c = c->next) {
		size_t n = c->string ? strlen(c->string) : 0;

		if (n == 0 || strncmp(path, c->string, n) != 0)
			continue;
		if (path[n] == '\0') {
			*parent = obj;
			return c;
		}
		if (path[n] == '.' && cJSON_IsObject(c)) {
			cJSON *found = path_item(c, path + n + 1, parent);

			if (found != NULL)
				return found;
		}
	}
	return NULL;
}

/* Puts back at path in target what prev (the configuration in effect, rendered) holds there, or
 * removes the item when prev has none. Returns 0, -ENOENT (no such item in target) or -ENOMEM. */
static int restore_path(cJSON *target, const cJSON *prev, const char *path)
{
	cJSON *parent = NULL, *item = path_item(target, path, &parent);
	cJSON *pparent = NULL, *was = path_item((cJSON *)prev, path, &pparent);
	cJSON *copy;

	if (item == NULL)
		return -ENOENT;
	if (was == NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(parent, item->string);
		return 0;
	}
	copy = cJSON_Duplicate(was, true);
	if (copy == NULL)
		return -ENOMEM;
	if (!cJSON_ReplaceItemViaPointer(parent, item, copy)) {
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	return 0;
}

/* Rounds of repair: each round puts back at least one key, so a document cannot loop. */
#define LENIENT_ROUNDS_MAX 32

int cfg_dynamic_parse_lenient(const char *json, size_t len, const struct cfg_dynamic *prev,
			      struct cfg_dynamic *out, char *bad, size_t badlen)
{
	static const char *const timing[] = { "ttl", "loop_wait", "retry_timeout" };
	char err[CFG_DIAG_TEXT_MAX + CFG_KEYPATH_MAX] = "";
	struct cfg_diags *diags = NULL;
	struct buf prev_text;
	cJSON *root, *was = NULL;
	size_t used = 0;
	int rc;

	if (badlen > 0)
		bad[0] = '\0';
	root = parse_json(json, len, bad, badlen);
	if (root == NULL)
		return -EINVAL;
	if (!cJSON_IsObject(root)) {
		err_set(bad, badlen, "the dynamic configuration must be a JSON object");
		rc = -EINVAL;
		goto out_root;
	}
	buf_init(&prev_text, CFG_FILE_MAX_BYTES);
	diags = malloc(sizeof(*diags));
	if (diags == NULL || cfg_dynamic_render(prev, &prev_text) != 0 ||
	    (was = cJSON_ParseWithLength(prev_text.data, prev_text.len)) == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (int round = 0;; round++) {
		bool repaired = false;

		rc = dynamic_from_json(root, out, err, sizeof(err), diags);
		if (rc != -EINVAL || round == LENIENT_ROUNDS_MAX)
			break;
		for (int i = 0; i < diags->count; i++) {
			const struct cfg_diag *d = &diags->items[i];
			bool rule = strstr(d->message, "must not exceed ttl") != NULL,
			     fixed = false;
			int n;

			if (d->severity != CFG_SEVERITY_ERROR)
				continue;
			/* The timing rule binds three keys: all three go back together. */
			for (size_t t = 0; rule && t < sizeof(timing) / sizeof(timing[0]); t++)
				fixed = restore_path(root, was, timing[t]) == 0 || fixed;
			if (!rule)
				fixed = restore_path(root, was, d->key) == 0;
			repaired = repaired || fixed;
			if (!fixed)
				continue;
			n = snprintf(bad + used, badlen > used ? badlen - used : 0, "%s\"%s\": %s",
				     used ? "; " : "", d->key, d->message);
			if (n > 0 && used + (size_t)n < badlen)
				used += (size_t)n;
		}
		if (!repaired)
			break;
	}
	if (rc != 0 && used == 0)
		err_set(bad, badlen, "%s", err);
out_free:
	cJSON_Delete(was);
	buf_done(&prev_text);
	free(diags);
out_root:
	cJSON_Delete(root);
	return rc;
}

/* The lease thread's room (src/core/ha_timing.c, ha_policy_check; docs/timing.md): a keepalive
 * that fails after a whole retry_timeout is retried before the fence deadline of the last one that
 * succeeded, ttl - retry_timeout - ttl/100 after it, with two keepalive intervals of at least
 * 50 ms (HA_KEEPALIVE_MIN_MS) to spare. */
#define KEEPALIVE_SPARE_MS 100

int cfg_dynamic_check(const struct cfg_dynamic *d, char *err, size_t errlen)
{
	int64_t need = d->loop_wait_ms + 2 * d->retry_timeout_ms;
	int64_t drift = (d->ttl_ms + 99) / 100;
	int64_t fence = 2 * d->retry_timeout_ms + drift + KEEPALIVE_SPARE_MS;

	if (need <= d->ttl_ms && fence <= d->ttl_ms)
		return 0;
	if (need <= d->ttl_ms)
		return err_fail(
			err, errlen, -EINVAL,
			"2 x retry_timeout + ttl/100 + %dms (2 x %lldms + %lldms + %dms = "
			"%lldms) must not exceed ttl (%lldms), or a keepalive that fails "
			"cannot be retried before the fence deadline: lower retry_timeout to "
			"at most %lldms or raise ttl",
			KEEPALIVE_SPARE_MS, (long long)d->retry_timeout_ms, (long long)drift,
			KEEPALIVE_SPARE_MS, (long long)fence, (long long)d->ttl_ms,
			(long long)((d->ttl_ms - drift - KEEPALIVE_SPARE_MS) / 2));
	return err_fail(
		err, errlen, -EINVAL,
		"loop_wait + 2 x retry_timeout (%lldms + 2 x %lldms = %lldms) must not exceed ttl "
		"(%lldms): raise ttl to at least %lldms or lower loop_wait or retry_timeout",
		(long long)d->loop_wait_ms, (long long)d->retry_timeout_ms, (long long)need,
		(long long)d->ttl_ms, (long long)need);
}

/* A duration in Patroni's form: seconds as a JSON number, a fraction below whole seconds
 * (0.5). Patroni's code does arithmetic with these (patronictl pause --wait polls for
 * loop_wait + 1 s): a "500ms" string there fails (docs/timing.md). cJSON prints the shortest
 * text that reads back as the same double, and the reader rounds to whole milliseconds. */
static cJSON *duration_json(int64_t ms)
{
	if (ms % 1000 == 0)
		return cJSON_CreateNumber((double)(ms / 1000));
	return cJSON_CreateNumber((double)ms / 1000.0);
}

static cJSON *kv_json(const struct cfg_kv *kv)
{
	if (kv->kind == CFG_VALUE_BOOL) {
		bool b = false;

		if (num_parse_bool(kv->value, &b) == 0)
			return cJSON_CreateBool(b);
	}
	if (kv->kind == CFG_VALUE_NUMBER) {
		double v;

		if (num_parse_double(kv->value, -1e300, 1e300, &v) == 0)
			return cJSON_CreateNumber(v);
	}
	return cJSON_CreateString(kv->value);
}

static bool add(cJSON *obj, const char *name, cJSON *item)
{
	if (item == NULL)
		return false;
	if (!cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* "slots" as {name: {type, database, plugin}}, "ignore_slots" as [{name, type, ...}], each only
 * when it has entries; empty fields are left out. */
static bool add_slots(cJSON *root, const struct cfg_slots *slots, bool ignore)
{
	cJSON *all;

	if (slots->count == 0)
		return true;
	all = ignore ? cJSON_CreateArray() : cJSON_CreateObject();
	for (int i = 0; all != NULL && i < slots->count; i++) {
		const struct cfg_slot *s = &slots->items[i];
		const char *names[] = { "name", "type", "database", "plugin" };
		const char *values[] = { ignore ? s->name : "", s->type, s->database, s->plugin };
		cJSON *one = cJSON_CreateObject();
		bool ok = one != NULL;

		for (int f = 0; ok && f < 4; f++)
			if (values[f][0] != '\0')
				ok = add(one, names[f], cJSON_CreateString(values[f]));
		if (ok)
			ok = ignore ? cJSON_AddItemToArray(all, one)
				    : cJSON_AddItemToObject(all, s->name, one);
		if (!ok) {
			cJSON_Delete(one);
			cJSON_Delete(all);
			all = NULL;
		}
	}
	return add(root, ignore ? "ignore_slots" : "slots", all);
}

bool cfg_standby_cluster(const struct cfg_dynamic *d)
{
	return d->standby_cluster.host[0] != '\0' || d->standby_cluster.port != 0 ||
	       d->standby_cluster.restore_command[0] != '\0';
}

/* "standby_cluster" with the keys that are set, when it is in effect. */
static bool add_standby_cluster(cJSON *root, const struct cfg_standby_cluster *sc)
{
	const char *names[] = { "host", "primary_slot_name", "restore_command",
				"archive_cleanup_command", "recovery_min_apply_delay" };
	const char *values[] = { sc->host, sc->primary_slot_name, sc->restore_command,
				 sc->archive_cleanup_command, sc->recovery_min_apply_delay };
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	for (size_t i = 0; ok && i < sizeof(names) / sizeof(names[0]); i++)
		if (values[i][0] != '\0')
			ok = add(o, names[i], cJSON_CreateString(values[i]));
	if (ok && sc->port != 0)
		ok = add(o, "port", cJSON_CreateNumber(sc->port));
	if (ok && sc->create_replica_methods.count > 0) {
		cJSON *arr = cJSON_CreateArray();

		for (int i = 0; arr != NULL && i < sc->create_replica_methods.count; i++) {
			cJSON *m = cJSON_CreateString(sc->create_replica_methods.items[i]);

			if (m == NULL || !cJSON_AddItemToArray(arr, m)) {
				cJSON_Delete(m);
				cJSON_Delete(arr);
				arr = NULL;
			}
		}
		ok = add(o, "create_replica_methods", arr);
	}
	if (!ok) {
		cJSON_Delete(o);
		return false;
	}
	return add(root, "standby_cluster", o);
}

static cJSON *dynamic_to_json(const struct cfg_dynamic *d)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *pg = cJSON_CreateObject();
	cJSON *params = cJSON_CreateObject();
	bool ok = root != NULL && pg != NULL && params != NULL;

	ok = ok && add(root, "ttl", duration_json(d->ttl_ms));
	ok = ok && add(root, "loop_wait", duration_json(d->loop_wait_ms));
	ok = ok && add(root, "retry_timeout", duration_json(d->retry_timeout_ms));
	ok = ok && add(root, "maximum_lag_on_failover",
		       cJSON_CreateNumber((double)d->maximum_lag_on_failover_bytes));
	ok = ok && add(root, "maximum_lag_on_syncnode",
		       cJSON_CreateNumber((double)d->maximum_lag_on_syncnode_bytes));
	ok = ok && add(root, "max_timelines_history", cJSON_CreateNumber(d->max_timelines_history));
	ok = ok && add(root, "primary_start_timeout", duration_json(d->primary_start_timeout_ms));
	ok = ok && add(root, "primary_stop_timeout", duration_json(d->primary_stop_timeout_ms));
	ok = ok && add(root, "synchronous_mode",
		       d->synchronous_mode == CFG_SYNC_QUORUM
			       ? cJSON_CreateString("quorum")
			       : cJSON_CreateBool(d->synchronous_mode == CFG_SYNC_ON));
	ok = ok &&
	     add(root, "synchronous_mode_strict", cJSON_CreateBool(d->synchronous_mode_strict));
	ok = ok &&
	     add(root, "synchronous_node_count", cJSON_CreateNumber(d->synchronous_node_count));
	ok = ok && add(root, "failsafe_mode", cJSON_CreateBool(d->failsafe_mode));
	ok = ok && add(root, "check_timeline", cJSON_CreateBool(d->check_timeline));
	if (ok && d->pause)
		ok = add(root, "pause", cJSON_CreateBool(true));
	ok = ok && add(root, "member_slots_ttl", duration_json(d->member_slots_ttl_ms));
	ok = ok && add_slots(root, &d->slots, false);
	ok = ok && add_slots(root, &d->ignore_slots, true);
	if (ok && cfg_standby_cluster(d))
		ok = add_standby_cluster(root, &d->standby_cluster);
	ok = ok && add(pg, "use_pg_rewind", cJSON_CreateBool(d->postgresql.use_pg_rewind));
	ok = ok && add(pg, "use_slots", cJSON_CreateBool(d->postgresql.use_slots));
	for (int i = 0; ok && i < d->postgresql.parameters.count; i++)
		ok = add(params, d->postgresql.parameters.items[i].name,
			 kv_json(&d->postgresql.parameters.items[i]));
	if (ok) {
		ok = add(pg, "parameters", params);
		params = NULL;
	}
	const struct cfg_list *lists[] = { &d->postgresql.pg_hba, &d->postgresql.pg_ident };
	const char *names[] = { "pg_hba", "pg_ident" };

	for (int l = 0; ok && l < 2; l++) {
		cJSON *arr;

		if (lists[l]->count == 0)
			continue;
		arr = cJSON_CreateArray();
		for (int i = 0; arr != NULL && i < lists[l]->count; i++) {
			cJSON *s = cJSON_CreateString(lists[l]->items[i]);

			if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
				cJSON_Delete(s);
				cJSON_Delete(arr);
				arr = NULL;
			}
		}
		ok = add(pg, names[l], arr);
	}
	if (ok) {
		ok = add(root, "postgresql", pg);
		pg = NULL;
	}
	cJSON_Delete(params);
	cJSON_Delete(pg);
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static int print_into(const cJSON *j, struct buf *out)
{
	char *text = cJSON_PrintUnformatted(j);
	int rc;

	if (text == NULL)
		return -ENOMEM;
	rc = buf_puts(out, text);
	cJSON_free(text);
	return rc;
}

int cfg_dynamic_render(const struct cfg_dynamic *d, struct buf *out)
{
	cJSON *root = dynamic_to_json(d);
	int rc;

	if (root == NULL)
		return -ENOMEM;
	rc = print_into(root, out);
	cJSON_Delete(root);
	return rc;
}

/* Does the patch set a key that the merged document has an error at (the timing rule: any of
 * its three keys)? If so err names the first such error. */
static bool patch_touches_errors(cJSON *patch, const struct cfg_diags *diags, char *err,
				 size_t errlen)
{
	static const char *const timing[] = { "ttl", "loop_wait", "retry_timeout" };

	for (int i = 0; i < diags->count; i++) {
		const struct cfg_diag *d = &diags->items[i];
		cJSON *parent = NULL;
		bool touched = path_item(patch, d->key, &parent) != NULL;

		if (d->severity != CFG_SEVERITY_ERROR)
			continue;
		for (size_t t = 0; strstr(d->message, "must not exceed ttl") != NULL &&
				   t < sizeof(timing) / sizeof(timing[0]);
		     t++)
			touched = touched || path_item(patch, timing[t], &parent) != NULL;
		/* an error without a key of its own, or one at a key the patch sets */
		if (touched || d->key[0] == '\0') {
			err_set(err, errlen, "\"%s\": %s", d->key, d->message);
			return true;
		}
	}
	return false;
}

int cfg_dynamic_merge_patch(const char *doc, size_t doc_len, const char *patch, size_t patch_len,
			    struct buf *out, struct cfg_dynamic *parsed, char *err, size_t errlen)
{
	struct cfg_dynamic *d = NULL;
	struct cfg_diags *diags = NULL;
	bool stored_bad = false;
	cJSON *target, *p;
	bool changed;
	char *text;
	int rc;

	target = parse_json(doc, doc_len, err, errlen);
	if (target == NULL)
		return -EINVAL;
	p = parse_json(patch, patch_len, err, errlen);
	if (p == NULL) {
		cJSON_Delete(target);
		return -EINVAL;
	}
	if (!cJSON_IsObject(p) || p->child == NULL) {
		err_set(err, errlen, "the patch must be a non-empty JSON object");
		rc = -EINVAL;
		goto out_patch;
	}
	if (!cJSON_IsObject(target)) {
		err_set(err, errlen, "the stored dynamic configuration is not a JSON object");
		rc = -EINVAL;
		goto out_patch;
	}
	/* Patroni's patch_config: a new subtree keeps its nulls (RFC 7386 would drop them). */
	rc = json_merge_patch_tree(target, p, &changed);
	if (rc != 0) {
		err_set(err, errlen, "out of memory merging the patch");
		goto out_patch;
	}
	d = malloc(sizeof(*d));
	diags = malloc(sizeof(*diags));
	if (d == NULL || diags == NULL) {
		rc = -ENOMEM;
		goto out_patch;
	}
	rc = dynamic_from_json(target, d, err, errlen, diags);
	if (rc == -EINVAL && !patch_touches_errors(p, diags, err, errlen)) {
		/* Only values already stored are bad: they stay as they were (the agents keep
		 * skipping them), and the patch applies. */
		rc = 0;
		stored_bad = true;
	}
	if (rc != 0)
		goto out_patch;
	text = cJSON_PrintUnformatted(target);
	if (text == NULL) {
		rc = -ENOMEM;
		goto out_patch;
	}
	rc = buf_puts(out, text);
	if (rc == 0 && parsed != NULL && stored_bad) {
		struct cfg_dynamic *defaults = malloc(sizeof(*defaults));
		char bad[256];

		rc = defaults == NULL ? -ENOMEM : 0;
		if (rc == 0) {
			cfg_dynamic_defaults(defaults);
			rc = cfg_dynamic_parse_lenient(text, strlen(text), defaults, d, bad,
						       sizeof(bad));
		}
		free(defaults);
	}
	cJSON_free(text);
	if (rc == 0 && parsed != NULL)
		memcpy(parsed, d, sizeof(*d));
out_patch:
	free(diags);
	free(d);
	cJSON_Delete(p);
	cJSON_Delete(target);
	return rc;
}

/* The lists of struct cfg_dynamic, in the order of their offsets. */
#define DYN_LIST(list, max) LIST_SPAN(struct cfg_dynamic, list.items, list.count, max)
static const struct list_span dyn_lists[] = {
	DYN_LIST(slots, CFG_SLOTS_MAX),
	DYN_LIST(ignore_slots, CFG_SLOTS_MAX),
	DYN_LIST(standby_cluster.create_replica_methods, CFG_LIST_MAX),
	DYN_LIST(postgresql.parameters, CFG_PARAMS_MAX),
	DYN_LIST(postgresql.pg_hba, CFG_LIST_MAX),
	DYN_LIST(postgresql.pg_ident, CFG_LIST_MAX),
};
#undef DYN_LIST

void cfg_dynamic_copy(struct cfg_dynamic *dst, const struct cfg_dynamic *src)
{
	list_copy(dst, src, sizeof(*src), dyn_lists, sizeof(dyn_lists) / sizeof(dyn_lists[0]));
}
