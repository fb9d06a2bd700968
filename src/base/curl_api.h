/*
 * curl_api.h - every libcurl call of gsha goes through this table (tlslib.h): the linked
 * libcurl, or, in a minimal build once curl_api_use_tls() chose it, its TLS build loaded with
 * dlopen. Calls read curlapi->curl_easy_perform(h) where they read curl_easy_perform(h).
 */
#ifndef GSHA_CURL_API_H
#define GSHA_CURL_API_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "tlslib.h"

/* curl's type-checking wrappers (typecheck-gcc.h) are function-like macros of these names,
 * which would expand the table's members; the calls through the table are not checked. */
#undef curl_easy_setopt
#undef curl_easy_getinfo

#define CURL_API_FUNCS(X)           \
	X(curl_global_init)         \
	X(curl_global_cleanup)      \
	X(curl_version_info)        \
	X(curl_easy_init)           \
	X(curl_easy_cleanup)        \
	X(curl_easy_reset)          \
	X(curl_easy_setopt)         \
	X(curl_easy_getinfo)        \
	X(curl_easy_perform)        \
	X(curl_easy_strerror)       \
	X(curl_multi_init)          \
	X(curl_multi_cleanup)       \
	X(curl_multi_add_handle)    \
	X(curl_multi_remove_handle) \
	X(curl_multi_perform)       \
	X(curl_multi_poll)          \
	X(curl_multi_wakeup)        \
	X(curl_multi_info_read)     \
	X(curl_slist_append)        \
	X(curl_slist_free_all)

struct curl_api {
	CURL_API_FUNCS(TLSLIB_MEMBER)
};

/* The table in use. Written only by curl_api_use_tls(), at start-up before any thread uses
 * curl (the one global of its kind: a library binding chosen once, like the dynamic linker's). */
extern const struct curl_api *curlapi;

/* Makes curlapi a libcurl that speaks TLS: in a minimal build, loads the TLS build (once; a
 * second call returns 0); elsewhere the linked libcurl already does. Call it before
 * curl_init_once(). Returns 0, or -ENOENT with the reason in err. */
int curl_api_use_tls(char *err, size_t err_cap) __attribute__((warn_unused_result));

/* True when curlapi can speak https. */
bool curl_api_has_tls(void);

#endif
