/*
 * json_merge.h - the one merge of a JSON patch into a JSON document, with the semantics of
 * Patroni's patch_config (PATCH /config, patronictl edit-config --set, dynamic configuration):
 *   - a key whose patch value is null is removed from the document;
 *   - an object patched onto an object is merged key by key, recursively;
 *   - any other value (including an object onto a non-object) replaces the old one whole, as
 *     given: a new subtree keeps its nulls, as Patroni stores them (this is where Patroni differs
 *     from RFC 7386, which would drop them).
 */
#ifndef GSHA_JSON_MERGE_H
#define GSHA_JSON_MERGE_H

#include <stdbool.h>
#include <stddef.h>

/* Merges patch_json (an object) into doc_json (an object; NULL or "" is taken as {}) and writes
 * the compact result into out (cap bytes). *changed says whether anything differs. Returns 0,
 * -EINVAL when either text is not a JSON object (message in err), -ENOMEM, or -ENAMETOOLONG when
 * the result does not fit; out and *changed are written only on success. */
int json_merge_patch(const char *doc_json, const char *patch_json, char *out, size_t cap,
		     bool *changed, char *err, size_t errlen) __attribute__((warn_unused_result));

/* The same on parsed trees, for a module that already holds cJSON values (cJSON stays out of
 * this header: the arguments are cJSON pointers). Merges patch into doc in place; doc and patch
 * must be objects. Returns 0 or -ENOMEM (doc may then be partly merged). */
int json_merge_patch_tree(void *doc, const void *patch, bool *changed)
	__attribute__((warn_unused_result));

#endif
