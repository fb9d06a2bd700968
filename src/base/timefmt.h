/*
 * timefmt.h - ISO 8601 timestamps as Patroni writes and accepts them: scheduled switchovers and
 * restarts, history rows, member documents.
 */
#ifndef GSHA_TIMEFMT_H
#define GSHA_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-21T10:00:00.123456+00:00" and its terminator. */
#define TIME_ISO_MAX 40

/* Why a timestamp was refused: Patroni answers the two differently (400 and 422). */
enum time_parse_result {
	TIME_OK,
	TIME_NO_ZONE,	 /* a valid local time without a zone: Patroni refuses it as ambiguous */
	TIME_UNPARSABLE, /* not "YYYY-MM-DD[T ]HH:MM[:SS[.f]](Z|+HH[:MM]|-HH[:MM])" */
};

/* Parses s strictly: a real calendar date and time, fractions of up to any length (the first six
 * digits count), a zone Z or +-HH[:MM], surrounding spaces allowed, nothing else. On TIME_OK
 * writes the instant as wall milliseconds since the epoch to *wall_ms and, when norm is not NULL,
 * the normalised form "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM" (norm_cap bytes, TIME_ISO_MAX
 * suffice). Writes nothing otherwise. */
enum time_parse_result time_parse_iso(const char *s, int64_t *wall_ms, char *norm, size_t norm_cap)
	__attribute__((warn_unused_result));

/* Writes wall_ms as "YYYY-MM-DDTHH:MM:SS.mmm+00:00" (UTC) into out (TIME_ISO_MAX bytes). */
void time_format_iso(int64_t wall_ms, char out[static TIME_ISO_MAX]);

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (m 1..12, d 1..31). */
int64_t time_days_from_civil(int64_t y, int m, int d);

#endif
