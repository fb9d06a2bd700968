/*
 * dcs_json.c - typed access to cJSON values (see dcs_json.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dcs_json.h"
#include "base64.h"
#include "buf.h"
#include "num.h"

/* The largest integer a JSON number (a double) carries exactly. */

/* Reads an optional 64-bit integer field: a decimal string (the gateway's form) or an integral
 * JSON number within the exact range of a double. Absent = 0. False on a wrong type or range. */
bool dcs_json_i64(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	int64_t v;

	if (it == NULL || cJSON_IsNull(it)) {
		*out = 0;
		return 0 >= min && 0 <= max;
	}
	if (cJSON_IsString(it)) {
		if (num_parse_i64(it->valuestring, min, max, &v) < 0)
			return false;
		*out = v;
		return true;
	}
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!isfinite(d) || !num_is_whole(d) || d > DCS_JSON_INT_MAX ||
		    d < -DCS_JSON_INT_MAX)
			return false;
		v = (int64_t)d;
		if (v < min || v > max)
			return false;
		*out = v;
		return true;
	}
	return false;
}

bool dcs_json_u64(const cJSON *obj, const char *name, uint64_t *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	uint64_t v;

	if (it == NULL || cJSON_IsNull(it)) {
		*out = 0;
		return true;
	}
	if (cJSON_IsString(it)) {
		if (num_parse_u64(it->valuestring, 0, UINT64_MAX, &v) < 0)
			return false;
		*out = v;
		return true;
	}
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!isfinite(d) || !num_is_whole(d) || d < 0 || d > DCS_JSON_INT_MAX)
			return false;
		*out = (uint64_t)d;
		return true;
	}
	return false;
}

/* Optional boolean: absent = false. */
bool dcs_json_bool(const cJSON *obj, const char *name, bool *out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (it == NULL || cJSON_IsNull(it)) {
		*out = false;
		return true;
	}
	if (!cJSON_IsBool(it))
		return false;
	*out = cJSON_IsTrue(it);
	return true;
}

const cJSON *dcs_json_object(const cJSON *obj, const char *name, bool *ok)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (it != NULL && !cJSON_IsNull(it) && !cJSON_IsObject(it)) {
		*ok = false;
		return NULL;
	}
	return cJSON_IsObject(it) ? it : NULL;
}

const cJSON *dcs_json_array(const cJSON *obj, const char *name, bool *ok)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (it != NULL && !cJSON_IsNull(it) && !cJSON_IsArray(it)) {
		*ok = false;
		return NULL;
	}
	return cJSON_IsArray(it) ? it : NULL;
}

/* Copies printable text for a message, replacing anything else: etcd's words go into logs. */
void dcs_copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && src[i] && o + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[o] = '\0';
	while (o > 0 && dst[o - 1] == '?')
		dst[--o] = '\0';
}

/* Copies a decoded value as text: false when it holds a NUL byte or does not fit. */
bool dcs_copy_text(char *dst, size_t cap, const char *v, size_t n)
{
	if (memchr(v, '\0', n) != NULL || n + 1 > cap)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

/* A string member field, copied only when it is a string that fits. */
void dcs_json_text(const cJSON *obj, const char *name, char *dst, size_t cap)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (cJSON_IsString(it) && buf_copy(dst, cap, it->valuestring) < 0)
		dst[0] = '\0';
}

/* A boolean that Patroni may have written as true/false or as text ("true", "yes"). */
bool dcs_json_boolish(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	bool v = false;

	if (cJSON_IsBool(it))
		return cJSON_IsTrue(it);
	if (cJSON_IsString(it) && num_parse_bool(it->valuestring, &v) == 0)
		return v;
	return false;
}

/* A non-negative integer field; *has stays false for absent or garbage values. */
void dcs_json_count(const cJSON *obj, const char *name, bool *has, int64_t *out)
{
	int64_t v;

	if (cJSON_GetObjectItemCaseSensitive(obj, name) &&
	    dcs_json_i64(obj, name, 0, INT64_MAX, &v)) {
		*has = true;
		*out = v;
	}
}
cJSON *dcs_json_parse_value(const char *v, size_t len, size_t max)
{
	const char *end = NULL;

	if (v == NULL || len > max || memchr(v, '\0', len) != NULL || v[len] != '\0')
		return NULL;
	/* Parsing the terminator too makes cJSON reject anything after the value. */
	return cJSON_ParseWithLengthOpts(v, len + 1, &end, true);
}

char *dcs_json_b64(const cJSON *obj, const char *name, size_t *len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	const char *s = "";
	size_t n, cap;
	char *out;

	if (it != NULL && !cJSON_IsNull(it)) {
		if (!cJSON_IsString(it))
			return NULL;
		s = it->valuestring;
	}
	n = strlen(s);
	cap = n / 4 * 3 + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	if (base64_decode(s, n, out, cap, len) < 0) {
		free(out);
		return NULL;
	}
	return out;
}
