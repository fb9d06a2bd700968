/*
 * rest_mhd.h - every libmicrohttpd call of the REST server goes through this table (tlslib.h):
 * the linked libmicrohttpd, or, in a minimal build once rest_mhd_use_tls() chose it, its HTTPS
 * build loaded with dlopen (with GnuTLS). Calls read rest_mhd->MHD_queue_response(...) where
 * they read MHD_queue_response(...). The two GnuTLS functions (client certificates) are in the
 * table too: a minimal build links no GnuTLS, and finds them beside the HTTPS build.
 */
#ifndef GSHA_REST_MHD_H
#define GSHA_REST_MHD_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>
#ifdef REST_HAVE_GNUTLS
#include <gnutls/gnutls.h>
#endif

#include "tlslib.h"

#define REST_MHD_FUNCS(X)                  \
	X(MHD_start_daemon)                \
	X(MHD_stop_daemon)                 \
	X(MHD_get_daemon_info)             \
	X(MHD_is_feature_supported)        \
	X(MHD_get_connection_info)         \
	X(MHD_lookup_connection_value)     \
	X(MHD_suspend_connection)          \
	X(MHD_resume_connection)           \
	X(MHD_create_response_from_buffer) \
	X(MHD_add_response_header)         \
	X(MHD_set_response_options)        \
	X(MHD_queue_response)              \
	X(MHD_destroy_response)

#ifdef REST_HAVE_GNUTLS
#define REST_GNUTLS_FUNCS(X)            \
	X(gnutls_certificate_get_peers) \
	X(gnutls_certificate_verify_peers2)
#else
#define REST_GNUTLS_FUNCS(X)
#endif

struct rest_mhd_api {
	REST_MHD_FUNCS(TLSLIB_MEMBER)
	REST_GNUTLS_FUNCS(TLSLIB_MEMBER) /* NULL in a minimal build's plain table */
};

/* The table in use; written only by rest_mhd_use_tls(), at start-up before the server starts
 * (responses and daemons of one build must never meet the other's). */
extern const struct rest_mhd_api *rest_mhd;

/* rest_mhd_use_tls() and rest_mhd_has_tls() are in rest.h. */

#endif
