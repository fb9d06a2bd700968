/*
 * json_merge.c - Patroni's patch_config over cJSON trees (see json_merge.h).
 */
#include "json_merge.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int merge_into(cJSON *dst, const cJSON *patch, bool *changed)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, patch)
	{
		const char *name = p->string ? p->string : "";
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, name);

		if (cJSON_IsNull(p)) {
			if (cur) {
				/* patch_config: config.pop(name) counts as a change unless it held None */
				if (!cJSON_IsNull(cur))
					*changed = true;
				cJSON_DeleteItemFromObjectCaseSensitive(dst, name);
			}
		} else if (cur && cJSON_IsObject(p) && cJSON_IsObject(cur)) {
			if (merge_into(cur, p, changed) != 0)
				return -ENOMEM;
		} else if (!cur || !cJSON_Compare(cur, p, true)) {
			cJSON *copy = cJSON_Duplicate(p, true);

			if (!copy)
				return -ENOMEM;
			if (cur) {
				/* Not cJSON_ReplaceItemInObject: cJSON 1.7.15 does not check the copy
				 * of the key it makes there and files the value under a NULL key when
				 * that allocation fails. copy already carries p's key. */
				if (!cJSON_ReplaceItemViaPointer(dst, cur, copy)) {
					cJSON_Delete(copy);
					return -ENOMEM;
				}
			} else if (!cJSON_AddItemToObject(dst, name, copy)) {
				cJSON_Delete(copy);
				return -ENOMEM;
			}
			*changed = true;
		}
	}
	return 0;
}

int json_merge_patch_tree(void *doc, const void *patch, bool *changed)
{
	bool ch = false;
	int rc;

	if (!cJSON_IsObject((const cJSON *)doc) || !cJSON_IsObject((const cJSON *)patch))
		return -EINVAL;
	rc = merge_into(doc, patch, &ch);
	if (rc == 0)
		*changed = ch;
	return rc;
}

/* Parses text as one JSON object with nothing after it. */
static cJSON *parse_object(const char *text, const char *what, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *v;

	if (text == NULL || text[0] == '\0')
		return cJSON_CreateObject();
	v = cJSON_ParseWithOpts(text, &end, true);
	if (!cJSON_IsObject(v)) {
		err_set(err, errlen, "%s is not a JSON object", what);
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

int json_merge_patch(const char *doc_json, const char *patch_json, char *out, size_t cap,
		     bool *changed, char *err, size_t errlen)
{
	cJSON *doc, *patch = NULL;
	char *text = NULL;
	bool ch = false;
	int rc = -EINVAL;

	doc = parse_object(doc_json, "the document", err, errlen);
	if (!doc)
		return -EINVAL;
	if (patch_json == NULL || patch_json[0] == '\0') {
		err_set(err, errlen, "the patch is empty");
		goto out_free;
	}
	patch = parse_object(patch_json, "the patch", err, errlen);
	if (!patch)
		goto out_free;
	rc = merge_into(doc, patch, &ch);
	if (rc != 0) {
		err_set(err, errlen, "out of memory");
		goto out_free;
	}
	text = cJSON_PrintUnformatted(doc);
	if (!text) {
		rc = -ENOMEM;
		err_set(err, errlen, "out of memory");
		goto out_free;
	}
	if (strlen(text) + 1 > cap) {
		rc = -ENAMETOOLONG;
		err_set(err, errlen, "the merged document is larger than %zu bytes", cap - 1);
		goto out_free;
	}
	memcpy(out, text, strlen(text) + 1);
	*changed = ch;
	rc = 0;
out_free:
	free(text);
	cJSON_Delete(patch);
	cJSON_Delete(doc);
	return rc;
}
