/*
 * agent_tls.c - the TLS builds the agent loads, once, at start-up (agent_tls.h).
 *
 * A plain-HTTP agent of a minimal build maps no TLS library at all: GnuTLS merely linked costs
 * 2.7 MB of resident memory and OpenSSL 1.4-3.5 MB (docs/architecture.md, "Footprint"). So the
 * need is read from the configuration before anything connects, and what a reload asks for
 * beyond it is refused by the module concerned and reported here: restart the agent.
 */
#include "agent_tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "curl_api.h"
#include "db.h"
#include "log.h"
#include "rest.h"
#include "tlslib.h"

static bool is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}

static bool needs_curl_tls(const struct cfg *c)
{
	return c->etcd3.protocol == CFG_PROTOCOL_HTTPS || is_https(c->etcd3.url) ||
	       is_https(c->etcd3.proxy) || c->etcd3.cacert[0] != '\0' || c->etcd3.cert[0] != '\0' ||
	       c->etcd3.key[0] != '\0' || c->restapi.certfile[0] != '\0' ||
	       c->ctl.certfile[0] != '\0' || c->ctl.cacert[0] != '\0';
}

static bool needs_mhd_tls(const struct cfg *c)
{
	return c->restapi.certfile[0] != '\0';
}

static bool sslmode_needs_ssl(const char *mode)
{
	return mode != NULL && (strcmp(mode, "require") == 0 || strcmp(mode, "verify-ca") == 0 ||
				strcmp(mode, "verify-full") == 0);
}

static bool param_on(const struct cfg_params *p, const char *name)
{
	const struct cfg_kv *kv = cfg_params_get(p, name);

	return kv != NULL &&
	       (strcasecmp(kv->value, "on") == 0 || strcasecmp(kv->value, "true") == 0 ||
		strcasecmp(kv->value, "yes") == 0 || strcmp(kv->value, "1") == 0);
}

static bool needs_pq_ssl(const struct cfg *c)
{
	const struct cfg_pg_auth *auths[] = {
		&c->postgresql.authentication.superuser,
		&c->postgresql.authentication.replication,
		&c->postgresql.authentication.rewind,
	};

	for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++)
		if (sslmode_needs_ssl(auths[i]->sslmode))
			return true;
	return sslmode_needs_ssl(getenv("PGSSLMODE")) ||
	       param_on(&c->postgresql.parameters, "ssl") ||
	       param_on(&c->bootstrap.dcs.postgresql.parameters, "ssl");
}

int agent_tls_setup(const struct cfg *c, char *err, size_t err_cap)
{
	char why[512];
	const char *loaded[3];
	size_t n = 0;

	if (needs_curl_tls(c)) {
		if (curl_api_use_tls(why, sizeof(why)) != 0)
			goto out_fail;
		loaded[n++] = "libcurl";
	}
	if (needs_mhd_tls(c)) {
		if (rest_mhd_use_tls(why, sizeof(why)) != 0)
			goto out_fail;
		loaded[n++] = "libmicrohttpd";
	}
	if (needs_pq_ssl(c)) {
		if (db_pq_use_ssl(why, sizeof(why)) != 0)
			goto out_fail;
		loaded[n++] = "libpq";
	}
	if (!tlslib_split())
		log_debug("TLS: the linked libcurl, libmicrohttpd and libpq serve TLS themselves");
	else if (n == 0)
		log_info("TLS: none configured, no TLS library loaded");
	else
		log_info("TLS: loaded the TLS builds of %s%s%s%s%s", loaded[0], n > 1 ? ", " : "",
			 n > 1 ? loaded[1] : "", n > 2 ? ", " : "", n > 2 ? loaded[2] : "");
	return 0;

out_fail:
	(void)!buf_format(err, err_cap, "could not load a TLS library the configuration needs: %s",
			  why);
	return -ENOENT;
}

int agent_tls_reload_check(const struct cfg *next)
{
	int missing = 0;

	if (needs_curl_tls(next) && !curl_api_has_tls()) {
		log_error(
			"reload: the etcd3 or restapi TLS settings need libcurl's TLS build, which "
			"gsha loads only at start-up: restart the agent to use them");
		missing++;
	}
	if (needs_mhd_tls(next) && !rest_mhd_has_tls()) {
		log_error("reload: restapi.certfile needs libmicrohttpd's HTTPS build, which gsha "
			  "loads only at start-up: restart the agent to serve HTTPS");
		missing++;
	}
	if (needs_pq_ssl(next) && !db_pq_has_ssl()) {
		log_error("reload: sslmode or ssl = on needs libpq's SSL build, which gsha loads "
			  "only "
			  "at start-up: restart the agent to connect over SSL");
		missing++;
	}
	return missing;
}
