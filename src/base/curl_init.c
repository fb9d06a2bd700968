/*
 * curl_init.c - libcurl's process-wide initialisation, once.
 *
 * gsha builds on libcurl's GnuTLS variant: libmicrohttpd (the REST server) is built on GnuTLS
 * and initialises it when it is loaded, so curl on GnuTLS adds no second TLS stack. Debian's
 * libcurl also links libssh2 (for scp:// and sftp://, which gsha never enables), and
 * curl_global_init calls libssh2_init(0), which initialises OpenSSL's libcrypto: about 1.5 MB of
 * resident memory for a library nothing here uses (libpq maps it too, but initialises it only
 * for a connection that negotiates SSL). libssh2_init counts its callers and sets up crypto only
 * on the first, so calling it first with LIBSSH2_INIT_NO_CRYPTO leaves libcrypto untouched.
 * libssh2 is looked up in the libraries already loaded (dlsym), not linked: a libcurl without
 * it simply skips this step.
 */
#include "curl_init.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "curl_api.h"

#define LIBSSH2_INIT_NO_CRYPTO 0x0001 /* libssh2.h; its header is not needed for one flag */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void init(void)
{
	int (*ssh2_init)(int) = NULL;
	void *sym = dlsym(RTLD_DEFAULT, "libssh2_init");

	if (sym != NULL) {
		/* POSIX's blessed way from a data pointer to a function pointer */
		*(void **)&ssh2_init = sym;
		(void)ssh2_init(LIBSSH2_INIT_NO_CRYPTO);
	}
	init_rc = curlapi->curl_global_init(CURL_GLOBAL_DEFAULT);
}

int curl_init_once(char *err, size_t err_cap)
{
	pthread_once(&once, init);
	if (init_rc == CURLE_OK)
		return 0;
	if (err != NULL && err_cap > 0)
		snprintf(err, err_cap, "curl_global_init: %s",
			 curlapi->curl_easy_strerror(init_rc));
	return -EIO;
}

const char *curl_init_tls_name(void)
{
	const curl_version_info_data *v = curlapi->curl_version_info(CURLVERSION_NOW);

	return v != NULL && v->ssl_version != NULL ? v->ssl_version : "none";
}
