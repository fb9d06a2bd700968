/*
 * num.h - the one checked way to turn text into numbers (atoi and friends are banned).
 */
#ifndef GSHA_NUM_H
#define GSHA_NUM_H

#include <stdbool.h>
#include <stdint.h>

/* Parses a whole decimal number (optional sign, no spaces, nothing after it) within [min, max].
 * Returns 0, -EINVAL for anything that is not such a number, or -ERANGE outside the range;
 * *out is written only on success. */
int num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
	__attribute__((warn_unused_result));

/* As num_parse_i64 for unsigned 64-bit values (LSNs, revisions, lease ids); no sign allowed. */
int num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));

/* As num_parse_i64 into an int. */
int num_parse_int(const char *s, int min, int max, int *out) __attribute__((warn_unused_result));

/* True when d is a whole number of magnitude below 2^63 (false for NaN and the infinities).
 * Instead of d == floor(d): at -Os gcc calls floor() in libm rather than inlining it, and libm
 * is then loaded for that one function (docs/architecture.md, "Footprint"). */
static inline bool num_is_whole(double d)
{
	return d > -9223372036854775808.0 && d < 9223372036854775808.0 && d == (double)(int64_t)d;
}

/* Parses a finite decimal number such as "0.5" or "3" within [min, max]; as num_parse_i64. */
int num_parse_double(const char *s, double min, double max, double *out)
	__attribute__((warn_unused_result));

/* Parses a duration into milliseconds: Patroni's plain seconds ("10", "2.5") or a number with a
 * unit: "500ms", "5s", "1m", "2h", "1d". Fractions of a millisecond round to the nearest.
 * The result must lie in [min_ms, max_ms]. Returns 0, -EINVAL or -ERANGE; *out_ms is written
 * only on success. */
int num_parse_duration_ms(const char *s, int64_t min_ms, int64_t max_ms, int64_t *out_ms)
	__attribute__((warn_unused_result));

/* round() without libm (docs/architecture.md, "Footprint": the agent maps no library it needs
 * for two functions): the nearest whole number, halves away from zero; whole numbers, values
 * beyond 2^52 (all whole) and NaN come back as they are. */
double num_round(double v);

/* Parses a boolean the way YAML and Patroni's environment variables do: true/false, yes/no,
 * on/off, 1/0, any case. Returns 0 or -EINVAL; *out is written only on success. */
int num_parse_bool(const char *s, bool *out) __attribute__((warn_unused_result));

#endif
