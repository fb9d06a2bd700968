/*
 * lsn.h - write-ahead log positions as PostgreSQL and openGauss print them ("16/B374D848").
 */
#ifndef GSHA_LSN_H
#define GSHA_LSN_H

#include <stddef.h>
#include <stdint.h>

/* "FFFFFFFF/FFFFFFFF" and its terminator. */
#define LSN_TEXT_MAX 18

/* Parses "X/Y" (each half 1 to 8 hex digits, nothing else, no sign or space) into *out.
 * Returns 0, or -EINVAL with nothing written. */
int lsn_parse(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/* Writes lsn as PostgreSQL prints it (upper-case hex, no leading zeros) into out, which holds
 * at least LSN_TEXT_MAX bytes. */
void lsn_format(uint64_t lsn, char out[static LSN_TEXT_MAX]);

#endif
