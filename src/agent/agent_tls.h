/*
 * agent_tls.h - which TLS builds of libcurl, libmicrohttpd and libpq the agent loads, chosen
 * once at start-up from the configuration (docs/architecture.md, "Footprint"). A build on
 * Debian's shared libraries has TLS linked in and loads nothing.
 */
#ifndef GSHA_AGENT_TLS_H
#define GSHA_AGENT_TLS_H

#include <stddef.h>

#include "cfg.h"

/* Loads what c needs: libcurl's TLS build when the DCS or the members' REST APIs are reached
 * over https (etcd3 https, a CA or client certificate, restapi.certfile, ctl's certificates),
 * libmicrohttpd's HTTPS build when restapi.certfile is set, libpq's SSL build when a connection
 * may need SSL (an sslmode of require or verify-* in postgresql.authentication or PGSSLMODE,
 * or ssl = on among the server's parameters, whose pg_hba.conf may then accept only hostssl).
 * Logs what it loaded at info. Returns 0, or -ENOENT with what is missing in err. */
int agent_tls_setup(const struct cfg *c, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* For a reload: logs an error for each TLS need of next that the libraries loaded at start-up
 * do not meet (the choice holds for the process's life), saying to restart the agent. Returns
 * the number of such needs. */
int agent_tls_reload_check(const struct cfg *next);

#endif
