/*
 * err.h - the one way a leaf module fills a caller-owned error message (STYLE.md: leaf modules
 * return a code plus an optional message; they do not log above debug).
 */
#ifndef GSHA_ERR_H
#define GSHA_ERR_H

#include <stddef.h>

/* Formats a message into err (errlen bytes, always terminated; a longer message is cut, which is
 * acceptable for a message and only for a message). err may be NULL or errlen 0: nothing is
 * written. */
void err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* err_set, then returns rc: `return err_fail(err, errlen, -EINVAL, "bad \"%s\"", v);`. */
int err_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
