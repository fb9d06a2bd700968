/*
 * curl_init.h - libcurl's process-wide initialisation, once, for every module that uses curl.
 */
#ifndef GSHA_CURL_INIT_H
#define GSHA_CURL_INIT_H

#include <stddef.h>

/* Initialises libcurl once per process (safe to call from any thread, any number of times).
 * Returns 0, or -EIO with curl's reason in err (when err is not NULL). Initialises no crypto
 * library of its own: see curl_init.c. */
int curl_init_once(char *err, size_t err_cap) __attribute__((warn_unused_result));

/* The TLS library libcurl was built on ("GnuTLS/3.7.9"), or "none". */
const char *curl_init_tls_name(void);

#endif
