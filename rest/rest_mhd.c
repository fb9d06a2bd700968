/*
 * rest_mhd.c - the libmicrohttpd table (rest_mhd.h).
 */
#include "rest_mhd.h"

#include "rest.h"

#define REST_MHD_COUNT(f) +1

#if defined(GSHA_TLS_LIBDIR)
/* A minimal build links the plain libmicrohttpd and no GnuTLS. */
static const struct rest_mhd_api linked = { REST_MHD_FUNCS(TLSLIB_LINKED) };
#else
static const struct rest_mhd_api linked = { REST_MHD_FUNCS(TLSLIB_LINKED)
						    REST_GNUTLS_FUNCS(TLSLIB_LINKED) };
#endif
static struct rest_mhd_api loaded;
const struct rest_mhd_api *rest_mhd = &linked;

int rest_mhd_use_tls(char *err, size_t err_cap)
{
	static const char *const names[] = { REST_MHD_FUNCS(TLSLIB_NAME)
						     REST_GNUTLS_FUNCS(TLSLIB_NAME) };
	void (*fns[0 REST_MHD_FUNCS(REST_MHD_COUNT) REST_GNUTLS_FUNCS(REST_MHD_COUNT)])(void);
	size_t i = 0;
	int rc;

	if (!tlslib_split() || rest_mhd == &loaded)
		return 0;
	rc = tlslib_load("libmicrohttpd.so.12", names, fns, sizeof(names) / sizeof(names[0]), err,
			 err_cap);
	if (rc != 0)
		return rc;
#define REST_MHD_FILL(f) loaded.f = (__typeof__(loaded.f))fns[i++];
	REST_MHD_FUNCS(REST_MHD_FILL)
	REST_GNUTLS_FUNCS(REST_MHD_FILL)
#undef REST_MHD_FILL
	rest_mhd = &loaded;
	return 0;
}

bool rest_mhd_has_tls(void)
{
	return rest_mhd->MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}
