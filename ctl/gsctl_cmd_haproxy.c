/*
 * gsctl_cmd_haproxy.c - haproxy-config: reads the cluster from etcd (the members, as list does,
 * and the dynamic configuration's loop_wait) and prints an HAProxy configuration for it
 * (ctl_render_haproxy). Members that cannot be checked are left out with a warning on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "gsctl.h"

#define HAPROXY_WARN_MAX 8192 /* a line per member left out (DCS_MEMBERS_MAX), with names */

int ctl_cmd_haproxy_config(struct ctl *x)
{
	struct ctl_haproxy_opts o;
	char warn[HAPROXY_WARN_MAX];
	struct buf out;
	int rc = ctl_read_cluster(x);

	if (rc != 0)
		return rc;
	memset(&o, 0, sizeof(o));
	buf_copy_or_clear(o.bind, sizeof(o.bind), x->args.bind);
	o.primary_port = x->args.primary_port > 0 ? x->args.primary_port : 5000;
	o.replica_port = x->args.replica_port > 0 ? x->args.replica_port : 5001;
	if (o.primary_port == o.replica_port) {
		ctl_say_error("the primary and replica listeners would both use port %d: give "
			      "--primary-port and --replica-port",
			      o.primary_port);
		return CTL_EXIT_USAGE;
	}
	o.loop_wait_ms = x->cluster->config_loop_wait_ms;
	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_render_haproxy(x->view, &o, &out, warn, sizeof(warn));
	for (char *line = warn, *nl; rc != -EINVAL && *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line) - 1;
		fprintf(stderr, "gsctl: warning: %.*s\n", (int)(nl - line), line);
	}
	if (rc == 0) {
		fputs(out.data != NULL ? out.data : "", stdout);
	} else if (rc == -ENOENT) {
		ctl_say_error("no member of cluster \"%s\" can be checked (none has both a "
			      "conn_url and an api_url): no configuration written",
			      x->scope);
		rc = CTL_EXIT_BAD_MEMBER;
	} else if (rc == -EINVAL) {
		ctl_say_error("--bind \"%s\" is not an address HAProxy can listen on", o.bind);
		rc = CTL_EXIT_USAGE;
	} else {
		ctl_say_error("the configuration does not fit in %d bytes", CTL_DOC_MAX);
		rc = CTL_EXIT_FAILED;
	}
	buf_done(&out);
	return rc == 0 ? 0 : rc;
}
