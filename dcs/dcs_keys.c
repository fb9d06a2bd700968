/*
 * dcs_keys.c - the cluster's keys (the prefix, its range end, which key is which) and the names of
 * the dcs error codes: small pure helpers the codec, the transport and the watch share (see
 * dcs_codec.h and dcs.h). Split from dcs_codec.c, which keeps the gateway's JSON.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "dcs_codec.h"

/* ---- keys ------------------------------------------------------------------------------------ */

int dcs_prefix_end(const char *prefix, char *out, size_t cap)
{
	size_t n = strlen(prefix);

	if (n == 0)
		return -EINVAL;
	if (n + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, prefix, n + 1);
	while (n > 0 && (unsigned char)out[n - 1] == 0xff)
		out[--n] = '\0';
	if (n == 0)
		return -EINVAL;
	out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
	return 0;
}

int dcs_make_prefix(const char *ns, const char *scope, char *out, size_t cap)
{
	char raw[DCS_KEY_MAX];
	size_t o = 0;

	if (scope[0] == '\0')
		return -EINVAL;
	if (buf_format(raw, sizeof(raw), "/%s/%s/", ns[0] ? ns : "service", scope) < 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; raw[i]; i++) {
		if (raw[i] == '/' && o > 0 && out[o - 1] == '/')
			continue;
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = raw[i];
	}
	out[o] = '\0';
	return 0;
}

unsigned dcs_key_kind(const char *suffix)
{
	static const struct {
		const char *name;
		unsigned kind;
	} table[] = {
		{ "leader", DCS_CHANGE_LEADER },     { "config", DCS_CHANGE_CONFIG },
		{ "failover", DCS_CHANGE_FAILOVER }, { "sync", DCS_CHANGE_SYNC },
		{ "status", DCS_CHANGE_STATUS },     { "optime/leader", DCS_CHANGE_STATUS },
		{ "history", DCS_CHANGE_HISTORY },   { "initialize", DCS_CHANGE_INITIALIZE },
		{ "failsafe", DCS_CHANGE_FAILSAFE }, { "term", DCS_CHANGE_TERM },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(suffix, table[i].name) == 0)
			return table[i].kind;
	if (strncmp(suffix, "members/", 8) == 0 && suffix[8] != '\0' && !strchr(suffix + 8, '/'))
		return DCS_CHANGE_MEMBERS;
	return DCS_CHANGE_OTHER;
}

/* ---- names and small helpers shared with the transport --------------------------------------- */

static const char *const dcs_error_names[] = {
	[0] = "DCS_OK",
	[-DCS_ERR_TRANSIENT] = "DCS_ERR_TRANSIENT",
	[-DCS_ERR_CONFLICT] = "DCS_ERR_CONFLICT",
	[-DCS_ERR_LEASE_NOT_FOUND] = "DCS_ERR_LEASE_NOT_FOUND",
	[-DCS_ERR_PERMISSION] = "DCS_ERR_PERMISSION",
	[-DCS_ERR_AUTH] = "DCS_ERR_AUTH",
	[-DCS_ERR_INVALID_RESPONSE] = "DCS_ERR_INVALID_RESPONSE",
	[-DCS_ERR_COMPACTED] = "DCS_ERR_COMPACTED",
	[-DCS_ERR_REQUEST] = "DCS_ERR_REQUEST",
	[-DCS_ERR_INVALID_ARGUMENT] = "DCS_ERR_INVALID_ARGUMENT",
	[-DCS_ERR_NO_MEMORY] = "DCS_ERR_NO_MEMORY",
};

static const char *const dcs_error_texts[] = {
	[0] = "success",
	[-DCS_ERR_TRANSIENT] = "etcd is not reachable right now",
	[-DCS_ERR_CONFLICT] = "compare failed",
	[-DCS_ERR_LEASE_NOT_FOUND] = "lease not found",
	[-DCS_ERR_PERMISSION] = "permission denied",
	[-DCS_ERR_AUTH] = "authentication failed",
	[-DCS_ERR_INVALID_RESPONSE] = "invalid response from etcd",
	[-DCS_ERR_COMPACTED] = "revision compacted",
	[-DCS_ERR_REQUEST] = "request rejected by etcd",
	[-DCS_ERR_INVALID_ARGUMENT] = "invalid argument",
	[-DCS_ERR_NO_MEMORY] = "out of memory",
};

#define DCS_ERROR_COUNT (sizeof(dcs_error_names) / sizeof(dcs_error_names[0]))

const char *dcs_error_name(int rc)
{
	if (rc > 0 || (size_t)-rc >= DCS_ERROR_COUNT)
		return "DCS_ERR_UNKNOWN";
	return dcs_error_names[-rc];
}

const char *dcs_strerror(int rc)
{
	if (rc > 0 || (size_t)-rc >= DCS_ERROR_COUNT)
		return "unknown error";
	return dcs_error_texts[-rc];
}

bool dcs_error_is_transient(int rc)
{
	return rc == DCS_ERR_TRANSIENT || rc == DCS_ERR_INVALID_RESPONSE || rc == DCS_ERR_COMPACTED;
}
