/*
 * hostport.c - hosts and ports (see hostport.h).
 */
#include "hostport.h"

#include <errno.h>
#include <string.h>

#include "num.h"

int hostport_split(const char *s, int default_port, char *host, size_t host_cap, int *port)
{
	const char *colon, *host_end;
	char hostbuf[HOSTPORT_HOST_MAX];
	int p = default_port;
	size_t n;

	if (s == NULL)
		return -EINVAL;
	if (s[0] == '[') {
		/* [v6]:port */
		const char *close = strchr(s, ']');

		if (close == NULL)
			return -EINVAL;
		n = (size_t)(close - s - 1);
		if (n >= sizeof(hostbuf))
			return -ENAMETOOLONG;
		memcpy(hostbuf, s + 1, n);
		hostbuf[n] = '\0';
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && colon == NULL)
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		host_end = colon != NULL ? colon : s + strlen(s);
		/* Two colons and no brackets: a bare IPv6 address without a port. */
		if (colon != NULL && memchr(s, ':', (size_t)(colon - s)) != NULL) {
			colon = NULL;
			host_end = s + strlen(s);
		}
		n = (size_t)(host_end - s);
		if (n >= sizeof(hostbuf))
			return -ENAMETOOLONG;
		memcpy(hostbuf, s, n);
		hostbuf[n] = '\0';
	}
	if (colon != NULL) {
		if (num_parse_int(colon + 1, 0, 65535, &p) != 0)
			return -EINVAL;
	} else if (default_port == 0) {
		return -EINVAL;
	}
	if (strlen(hostbuf) >= host_cap)
		return -ENAMETOOLONG;
	memcpy(host, hostbuf, strlen(hostbuf) + 1);
	*port = p;
	return 0;
}

int hostport_from_url(const char *url, int default_port, char *host, size_t host_cap, int *port)
{
	const char *p, *at;
	char hostport[HOSTPORT_HOST_MAX + 8];
	size_t n;

	if (url == NULL || (p = strstr(url, "://")) == NULL)
		return -EINVAL;
	p += 3;
	n = strcspn(p, "/?#");
	at = memchr(p, '@', n);
	if (at != NULL) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(hostport))
		return -ENAMETOOLONG;
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	return hostport_split(hostport, default_port, host, host_cap, port);
}
