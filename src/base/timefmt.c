/*
 * timefmt.c - ISO 8601 timestamps (see timefmt.h).
 */
#include "timefmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>

int64_t time_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

enum time_parse_result time_parse_iso(const char *s, int64_t *wall_ms, char *norm, size_t norm_cap)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = s;
	int y, mo, d, h, mi, sec = 0, us = 0, tzh = 0, tzm = 0, sign = 1, frac_digits = 0;

	if (s == NULL)
		return TIME_UNPARSABLE;
	while (*p == ' ')
		p++;
	if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' ||
	    !take_digits(&p, 2, &d))
		return TIME_UNPARSABLE;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return TIME_UNPARSABLE;
	p++;
	if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi))
		return TIME_UNPARSABLE;
	if (*p == ':') {
		p++;
		if (!take_digits(&p, 2, &sec))
			return TIME_UNPARSABLE;
		if (*p == '.' || *p == ',') {
			p++;
			while (isdigit((unsigned char)*p)) {
				if (frac_digits < 6) {
					us = us * 10 + (*p - '0');
					frac_digits++;
				}
				p++;
			}
			if (frac_digits == 0)
				return TIME_UNPARSABLE;
			for (int i = frac_digits; i < 6; i++)
				us *= 10;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
		return TIME_UNPARSABLE;
	if (mo == 2 && d == 29 && !is_leap(y))
		return TIME_UNPARSABLE;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return TIME_NO_ZONE;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!take_digits(&p, 2, &tzh))
			return TIME_UNPARSABLE;
		if (*p == ':') {
			p++;
			if (!take_digits(&p, 2, &tzm))
				return TIME_UNPARSABLE;
		} else if (isdigit((unsigned char)*p) && !take_digits(&p, 2, &tzm)) {
			return TIME_UNPARSABLE;
		}
		if (tzh > 23 || tzm > 59)
			return TIME_UNPARSABLE;
	} else {
		return TIME_UNPARSABLE;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return TIME_UNPARSABLE;
	if (norm != NULL) {
		int n;

		if (us)
			n = snprintf(norm, norm_cap,
				     "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02d:%02d", y, mo, d, h,
				     mi, sec, us, sign < 0 ? '-' : '+', tzh, tzm);
		else
			n = snprintf(norm, norm_cap, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y,
				     mo, d, h, mi, sec, sign < 0 ? '-' : '+', tzh, tzm);
		if (n < 0 || (size_t)n >= norm_cap)
			return TIME_UNPARSABLE;
	}
	int64_t offset_s = sign * (tzh * 3600 + tzm * 60);
	int64_t secs = time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;

	*wall_ms = secs * 1000 + us / 1000;
	return TIME_OK;
}

void time_format_iso(int64_t wall_ms, char out[static TIME_ISO_MAX])
{
	int64_t secs = wall_ms >= 0 ? wall_ms / 1000 : (wall_ms - 999) / 1000;
	int ms = (int)(wall_ms - secs * 1000);
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	/* civil_from_days (Howard Hinnant's algorithm), the inverse of time_days_from_civil */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	int64_t y = yoe + era * 400 + (m <= 2);

	snprintf(out, TIME_ISO_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d.%03d+00:00", (long long)y, m,
		 d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), ms);
}
