/*
 * base64.h - RFC 4648 base64 with padding: etcd's gateway encodes keys and values so, and HTTP
 * Basic authentication its credentials.
 */
#ifndef GSHA_BASE64_H
#define GSHA_BASE64_H

#include <stddef.h>

/* The encoded length of n bytes, with its terminator. */
#define BASE64_ENCODED_CAP(n) (((n) + 2) / 3 * 4 + 1)

/* Encodes n bytes of in into out (cap bytes, BASE64_ENCODED_CAP(n) needed), terminated.
 * Returns 0, or -ENAMETOOLONG with nothing written. */
int base64_encode(const void *in, size_t n, char *out, size_t cap)
	__attribute__((warn_unused_result));

/* Decodes n characters of in (a multiple of 4, padding only at the end) into out (cap bytes,
 * terminated, so one more than the decoded length), and sets *out_len. Returns 0, -EINVAL for
 * text that is not base64, or -ENAMETOOLONG; nothing useful is written on error. */
int base64_decode(const char *in, size_t n, char *out, size_t cap, size_t *out_len)
	__attribute__((warn_unused_result));

#endif
