/*
 * lsn.c - write-ahead log positions (see lsn.h).
 */
#include "lsn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 1 to 8 hex digits, all of [s, s + n). */
static int parse_hex32(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (n == 0 || n > 8)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

int lsn_parse(const char *s, uint64_t *out)
{
	const char *slash;
	uint32_t hi, lo;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL)
		return -EINVAL;
	if (parse_hex32(s, (size_t)(slash - s), &hi) < 0 ||
	    parse_hex32(slash + 1, strlen(slash + 1), &lo) < 0)
		return -EINVAL;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

void lsn_format(uint64_t lsn, char out[static LSN_TEXT_MAX])
{
	snprintf(out, LSN_TEXT_MAX, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}
