/*
 * hostport.h - "host:port" and the host and port of a URL, as the configuration
 * (restapi.listen, postgresql.listen, connect_address) and member documents (conn_url, api_url)
 * write them.
 */
#ifndef GSHA_HOSTPORT_H
#define GSHA_HOSTPORT_H

#include <stddef.h>

/* A host name or address, with its terminator (DNS allows 253 bytes). */
#define HOSTPORT_HOST_MAX 256

/* Splits "host:port", "[v6]:port", a bare IPv6 address or "host1,host2:port" (PostgreSQL's
 * listen) into host (brackets removed) and port. The host may be empty (":8008");
 * default_port applies when no port is given (0: a port is required). Returns 0, or -EINVAL /
 * -ENAMETOOLONG with nothing written. */
int hostport_split(const char *s, int default_port, char *host, size_t host_cap, int *port)
	__attribute__((warn_unused_result));

/* The host and port of "scheme://[user@]host[:port][/path][?query]" (postgres://, http://,
 * https://; credentials are skipped), as hostport_split reads them. Returns 0, or -EINVAL /
 * -ENAMETOOLONG with nothing written. */
int hostport_from_url(const char *url, int default_port, char *host, size_t host_cap, int *port)
	__attribute__((warn_unused_result));

#endif
