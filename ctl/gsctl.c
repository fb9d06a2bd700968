/*
 * gsctl - the operator's command line for a gsha cluster (issue 7).
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gsctl [-c CONFIG_FILE] COMMAND [ARGS]\n"
		"\n"
		"Manage a gsha (or Patroni) cluster: reads the same configuration file as the "
		"agent\n"
		"(-c, or $GSCTL_CONFIG_FILE, or $PATRONICTL_CONFIG_FILE) and talks to etcd "
		"directly.\n"
		"\n"
		"Commands:\n"
		"  list            show the members, their roles, states, timelines and lag\n"
		"  topology        show the members as a replication tree\n"
		"  switchover      move the primary to another member in a planned way\n"
		"  failover        promote a member when there is no healthy primary\n"
		"  reinit          rebuild a replica from the primary\n"
		"  restart         restart members' databases\n"
		"  reload          reload members' configuration\n"
		"  pause, resume   stop or restart automatic failover (maintenance mode)\n"
		"  show-config     print the cluster's dynamic configuration\n"
		"  edit-config     change the cluster's dynamic configuration\n"
		"  history         list the timeline switches\n"
		"  remove          delete a cluster's keys from etcd\n"
		"  version         print the versions of gsctl and the members\n"
		"\n"
		"Options:\n"
		"  -c, --config-file FILE   configuration file\n"
		"  -h, --help               show this help and exit\n"
		"\n"
		"Only --help and version work in this build; the commands arrive with issue 7.\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("gsctl version %s\n", GSHA_VERSION);
		return 0;
	}
	fprintf(stderr, "gsctl: this command is not implemented yet (issue 7)\n");
	usage(stderr);
	return 2;
}
