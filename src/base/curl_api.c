/*
 * curl_api.c - the libcurl table (curl_api.h).
 */
#include "curl_api.h"

#include <errno.h>

#define CURL_API_COUNT(f) +1

static const struct curl_api linked = { CURL_API_FUNCS(TLSLIB_LINKED) };
static struct curl_api loaded;
const struct curl_api *curlapi = &linked;

int curl_api_use_tls(char *err, size_t err_cap)
{
	static const char *const names[] = { CURL_API_FUNCS(TLSLIB_NAME) };
	void (*fns[0 CURL_API_FUNCS(CURL_API_COUNT)])(void);
	size_t i = 0;
	int rc;

	if (!tlslib_split() || curlapi == &loaded)
		return 0;
	rc = tlslib_load("libcurl.so.4", names, fns, sizeof(names) / sizeof(names[0]), err,
			 err_cap);
	if (rc != 0)
		return rc;
#define CURL_API_FILL(f) loaded.f = (__typeof__(loaded.f))fns[i++];
	CURL_API_FUNCS(CURL_API_FILL)
#undef CURL_API_FILL
	curlapi = &loaded;
	return 0;
}

bool curl_api_has_tls(void)
{
	const curl_version_info_data *v = curlapi->curl_version_info(CURLVERSION_NOW);

	return v != NULL && v->ssl_version != NULL && v->ssl_version[0] != '\0';
}
