/*
 * num.c - see num.h.
 */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull accepts a sign and negates; we do not. */
	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int num_parse_int(const char *s, int min, int max, int *out)
{
	int64_t v;
	int r = num_parse_i64(s, min, max, &v);

	if (r == 0)
		*out = (int)v;
	return r;
}

int num_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v))
		return -EINVAL;
	/* Hex floats, "inf" and "nan" are not numbers a person writes in a config file. */
	if (strpbrk(s, "xXnN") != NULL)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int num_parse_duration_ms(const char *s, int64_t min_ms, int64_t max_ms, int64_t *out_ms)
{
	static const struct {
		const char *suffix;
		double ms;
	} units[] = {
		{ "ms", 1.0 },	  { "s", 1000.0 },    { "sec", 1000.0 },   { "min", 60000.0 },
		{ "m", 60000.0 }, { "h", 3600000.0 }, { "d", 86400000.0 },
	};
	char number[32];
	size_t n, digits;
	double v, scale = 1000.0;
	int r;

	if (s == NULL)
		return -EINVAL;
	n = strlen(s);
	digits = n;
	while (digits > 0 && isalpha((unsigned char)s[digits - 1]))
		digits--;
	if (digits == 0 || digits >= sizeof(number))
		return -EINVAL;
	if (digits < n) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcasecmp(s + digits, units[i].suffix) == 0)
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		scale = units[i].ms;
	}
	memcpy(number, s, digits);
	number[digits] = '\0';
	r = num_parse_double(number, 0.0, 1e15, &v);
	if (r != 0)
		return r;
	v = num_round(v * scale);
	if (v < (double)min_ms || v > (double)max_ms)
		return -ERANGE;
	*out_ms = (int64_t)v;
	return 0;
}

double num_round(double v)
{
	double whole, frac;

	if (!(v > -4503599627370496.0 && v < 4503599627370496.0)) /* 2^52, or NaN */
		return v;
	whole = (double)(int64_t)v; /* truncation toward zero, exact in this range */
	frac = v - whole;	    /* exact too */
	if (frac >= 0.5)
		whole += 1.0;
	else if (frac <= -0.5)
		whole -= 1.0;
	return whole;
}

int num_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "y" };
	static const char *const no[] = { "false", "no", "off", "0", "n" };

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}
