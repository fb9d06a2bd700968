/*
 * gsctl - the operator's command line for a gsha (or Patroni) cluster: what patronictl is to
 * Patroni. Reads the agent's configuration file, reads the cluster from etcd directly (dcs.h),
 * edits the config key with compare-and-swap, and asks members' REST APIs to act.
 *
 * This file is the dispatcher: usage, signals, the set-up every command shares, and one call
 * per command. The commands live in gsctl_cmd_*.c by family, what they share in
 * gsctl_session.c and gsctl_rest.c (gsctl.h); the pure parts (arguments, renderings, diff,
 * YAML) in ctl.h. Exit codes: enum ctl_exit, documented in usage() and README.md.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "curl_api.h"
#include "curl_init.h"
#include "gsctl.h"

volatile sig_atomic_t ctl_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	ctl_interrupted = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gsctl [-c CONFIG_FILE] [-d etcd3://HOST:PORT] [-k] COMMAND [ARGS]\n"
		"\n"
		"Manage a gsha (or Patroni) cluster, as patronictl does. gsctl reads the agent's\n"
		"configuration file (-c, or $GSCTL_CONFIG_FILE, or $PATRONICTL_CONFIG_FILE; a file "
		"with\n"
		"just scope and etcd3 is enough; without one, the agent's PATRONI_* environment),\n"
		"reads the cluster from etcd directly and asks the members' REST APIs to act,\n"
		"with the credentials of ctl.authentication, else restapi.authentication.\n"
		"CLUSTER defaults to the configuration's scope.\n"
		"\n"
		"Commands:\n"
		"  list [CLUSTER] [-f pretty|tsv|json|yaml] [-e] [-W | -w SECONDS]\n"
		"                  the members: host, role, state, timeline, lag in MB, pending\n"
		"                  restart and tags (the last two only when some member has them)\n"
		"  topology [CLUSTER] [-W | -w SECONDS]\n"
		"                  the same table, replicas indented under their upstream\n"
		"  switchover [CLUSTER] [--leader NAME] [--candidate NAME] [--scheduled TS|now] "
		"[--force]\n"
		"                  move the primary to a healthy replica in a planned way\n"
		"  failover [CLUSTER] --candidate NAME [--force]\n"
		"                  promote a replica, with or without a healthy primary\n"
		"  reinit CLUSTER MEMBER... [--force] [--wait] [--from-leader] [--timeout S]\n"
		"                  rebuild replicas from the primary\n"
		"  restart CLUSTER [MEMBER...] [-r leader|replica|any] [--pending] [--scheduled "
		"TS]\n"
		"          [--pg-version V] [--force] [--wait] [--timeout S]\n"
		"                  restart members' databases\n"
		"  reload CLUSTER [MEMBER...] [-r leader|replica|any] [--force]\n"
		"                  make members re-read their configuration\n"
		"  pause [CLUSTER] [--wait], resume [CLUSTER] [--wait]\n"
		"                  stop or restart automatic failover (maintenance mode)\n"
		"  demote-cluster [CLUSTER] [--host H] [--port P] [--restore-command C]\n"
		"          [--primary-slot-name S] [--force] [--timeout S]\n"
		"                  make the cluster a standby cluster of that primary (sets\n"
		"                  standby_cluster); waits until its leader is the standby leader\n"
		"  promote-cluster [CLUSTER] [--force] [--timeout S]\n"
		"                  make a standby cluster a primary cluster (removes "
		"standby_cluster)\n"
		"  show-config [CLUSTER]\n"
		"                  print the dynamic configuration as YAML\n"
		"  edit-config [CLUSTER] [-s PATH=VALUE]... [-p NAME=VALUE]... [--apply FILE|-]\n"
		"          [--replace FILE|-] [--force] [-q]\n"
		"                  change the dynamic configuration ($EDITOR without options); "
		"shows\n"
		"                  a diff, asks, then writes with compare-and-swap: a concurrent\n"
		"                  edit is never lost (the command fails instead)\n"
		"  history [CLUSTER] [-f FORMAT]\n"
		"                  the timeline switches\n"
		"  remove CLUSTER [--force]\n"
		"                  delete the cluster's keys from etcd (asks for the name, \"Yes I "
		"am\n"
		"                  aware\" and the leader's name)\n"
		"  version [CLUSTER [MEMBER...]]\n"
		"                  gsctl's version and the members' versions\n"
		"  haproxy-config [CLUSTER] [--primary-port P] [--replica-port P] [--bind ADDR]\n"
		"                  print an HAProxy configuration for the members (writes on "
		"5000,\n"
		"                  reads on 5001), its checks timed from loop_wait\n"
		"\n"
		"Options:\n"
		"  -c, --config-file FILE   configuration file\n"
		"  -d, --dcs-url URL        etcd endpoint (etcd3://host:port), overrides the file\n"
		"  -k, --insecure           do not verify the REST APIs' certificates\n"
		"  --force                  do not ask for confirmation\n"
		"  -h, --help               show this help and exit\n"
		"\n"
		"Confirmations are read only from a terminal: without one, commands that ask need\n"
		"--force, and fail with exit code 7 instead of waiting.\n"
		"\n"
		"Exit codes:\n"
		"  0  success\n"
		"  1  the action failed or was refused, or the answer was no\n"
		"  2  bad command line\n"
		"  3  configuration file missing or invalid\n"
		"  4  etcd unreachable, or it refused the request\n"
		"  5  unknown member, a candidate that is not a healthy replica, or no leader\n"
		"  6  a REST API refused the credentials (HTTP 401 or 403)\n"
		"  7  a confirmation is needed but stdin is not a terminal (use --force)\n"
		"  8  no member's REST API could be reached\n");
}

int main(int argc, char **argv)
{
	struct ctl x;
	char err[512];
	int rc;

	memset(&x, 0, sizeof(x));
	if (ctl_parse_args(argc, argv, &x.args, err, sizeof(err)) != 0) {
		ctl_say_error("%s", err);
		return CTL_EXIT_USAGE;
	}
	if (x.args.command == CTL_CMD_HELP) {
		usage(stdout);
		return 0;
	}
	if (x.args.command == CTL_CMD_VERSION && x.args.cluster[0] == '\0') {
		printf("gsctl version %s\n", GSHA_VERSION);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* gsctl talks to whatever the members' api_url and the DCS say, https included: in a
	 * minimal build it loads libcurl's TLS build whatever its configuration (a short-lived
	 * command; the agent's footprint is what docs/architecture.md "Footprint" is about). */
	if (curl_api_use_tls(err, sizeof(err)) != 0 || curl_init_once(err, sizeof(err)) != 0) {
		ctl_say_error("%s", err);
		return CTL_EXIT_FAILED;
	}
	rc = ctl_load_config(&x);
	if (rc != 0)
		goto out;
	if (buf_copy(x.scope, sizeof(x.scope),
		     x.args.cluster[0] != '\0' ? x.args.cluster : x.cfg->scope) != 0 ||
	    x.scope[0] == '\0') {
		ctl_say_error("no cluster name: give it as an argument or set scope in the "
			      "configuration");
		rc = x.scope[0] == '\0' ? CTL_EXIT_USAGE : CTL_EXIT_CONFIG;
		goto out;
	}
	x.cluster = calloc(1, sizeof(*x.cluster));
	x.view = calloc(1, sizeof(*x.view));
	if (x.cluster == NULL || x.view == NULL) {
		ctl_say_error("out of memory");
		rc = CTL_EXIT_FAILED;
		goto out;
	}
	rc = ctl_connect_dcs(&x);
	if (rc != 0)
		goto out;
	ctl_setup_http(&x);
	switch (x.args.command) {
	case CTL_CMD_LIST:
		rc = ctl_cmd_list(&x, false);
		break;
	case CTL_CMD_TOPOLOGY:
		rc = ctl_cmd_list(&x, true);
		break;
	case CTL_CMD_SWITCHOVER:
		rc = ctl_cmd_switchover(&x, false);
		break;
	case CTL_CMD_FAILOVER:
		rc = ctl_cmd_switchover(&x, true);
		break;
	case CTL_CMD_REINIT:
		rc = ctl_cmd_reinit(&x);
		break;
	case CTL_CMD_RESTART:
		rc = ctl_cmd_restart_reload(&x, true);
		break;
	case CTL_CMD_RELOAD:
		rc = ctl_cmd_restart_reload(&x, false);
		break;
	case CTL_CMD_PAUSE:
		rc = ctl_cmd_pause(&x, true);
		break;
	case CTL_CMD_RESUME:
		rc = ctl_cmd_pause(&x, false);
		break;
	case CTL_CMD_SHOW_CONFIG:
		rc = ctl_cmd_show_config(&x);
		break;
	case CTL_CMD_EDIT_CONFIG:
		rc = ctl_cmd_edit_config(&x);
		break;
	case CTL_CMD_HISTORY:
		rc = ctl_cmd_history(&x);
		break;
	case CTL_CMD_REMOVE:
		rc = ctl_cmd_remove(&x);
		break;
	case CTL_CMD_VERSION:
		rc = ctl_cmd_version(&x, true);
		break;
	case CTL_CMD_DEMOTE_CLUSTER:
		rc = ctl_cmd_cluster_role(&x, true);
		break;
	case CTL_CMD_PROMOTE_CLUSTER:
		rc = ctl_cmd_cluster_role(&x, false);
		break;
	case CTL_CMD_HAPROXY_CONFIG:
		rc = ctl_cmd_haproxy_config(&x);
		break;
	default:
		usage(stderr);
		rc = CTL_EXIT_USAGE;
		break;
	}
out:
	dcs_client_free(x.dcs);
	free(x.cluster);
	free(x.view);
	free(x.cfg);
	curlapi->curl_global_cleanup();
	fflush(stdout);
	return rc;
}
