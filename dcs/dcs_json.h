/*
 * dcs_json.h - typed access to cJSON values, shared by the gateway codec (dcs_codec.c) and the
 * documents codec (dcs_docs.c). Internal to dcs/. Every value read is checked for type and range.
 */
#ifndef GSHA_DCS_JSON_H
#define GSHA_DCS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* A decimal 64-bit number as text, with room for the sign and the NUL. */
#define DCS_INT_TEXT_MAX 24
/* The largest whole number a JSON number (a double, in cJSON) holds exactly: 2^53. */
#define DCS_JSON_INT_MAX 9007199254740992.0

/* An optional 64-bit integer field: a decimal string (the gateway's form) or an integral JSON
 * number within the exact range of a double. Absent = 0. False on a wrong type or range. */
bool dcs_json_i64(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out);
bool dcs_json_u64(const cJSON *obj, const char *name, uint64_t *out);
/* An optional boolean: absent = false. False on a wrong type. */
bool dcs_json_bool(const cJSON *obj, const char *name, bool *out);
/* An optional object / array member: NULL when absent or null; *ok = false on a wrong type. */
const cJSON *dcs_json_object(const cJSON *obj, const char *name, bool *ok);
const cJSON *dcs_json_array(const cJSON *obj, const char *name, bool *ok);
/* An optional base64 member (etcd's keys and values) decoded into a new heap string,
 * NUL-terminated, *len bytes. Absent or null gives "". NULL on a wrong type, bad base64 or no
 * memory. The caller frees it. */
char *dcs_json_b64(const cJSON *obj, const char *name, size_t *len);
/* A string member copied into dst when it is a string that fits (dst emptied when it does not;
 * left alone when absent or not a string). */
void dcs_json_text(const cJSON *obj, const char *name, char *dst, size_t cap);
/* A boolean that Patroni may have written as true/false or as text ("true", "yes"). */
bool dcs_json_boolish(const cJSON *obj, const char *name);
/* A non-negative integer member; *has stays false for absent or garbage values. */
void dcs_json_count(const cJSON *obj, const char *name, bool *has, int64_t *out);

/* Copies printable text for a message, replacing anything else: etcd's words go into logs. */
void dcs_copy_printable(char *dst, size_t cap, const char *src, size_t n);
/* Copies a decoded value as text: false when it holds a NUL byte or does not fit. */
bool dcs_copy_text(char *dst, size_t cap, const char *v, size_t n);

/* Parses a whole etcd value of len bytes (v[len] must be its NUL) as one JSON value: NULL when
 * it is longer than max, holds a NUL byte, is not JSON or has anything but whitespace after the
 * value (trailing garbage). The caller frees the result with cJSON_Delete. */
cJSON *dcs_json_parse_value(const char *v, size_t len, size_t max);

#endif
