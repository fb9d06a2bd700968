/*
 * main.c - the gsha agent: option parsing, start-up, and handing over to the HA loop.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gsha [CONFIG_FILE]\n"
		"       gsha --validate-config CONFIG_FILE\n"
		"\n"
		"High-availability agent for PostgreSQL and openGauss, compatible with Patroni's\n"
		"configuration file, etcd key layout and REST API.\n"
		"\n"
		"With CONFIG_FILE it reads that YAML file (Patroni's format). Without one it reads "
		"its\n"
		"configuration from the environment (PATRONI_* or GSHA_* variables, such as\n"
		"PATRONI_NAME, PATRONI_SCOPE, PATRONI_ETCD3_HOSTS, PATRONI_POSTGRESQL_DATA_DIR).\n"
		"Environment variables override the file.\n"
		"\n"
		"Options:\n"
		"  --validate-config FILE  check the configuration and exit 0 (valid) or 1 "
		"(invalid)\n"
		"  --version               print the version and exit\n"
		"  -h, --help              show this help and exit\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("gsha %s\n", GSHA_VERSION);
		return 0;
	}
	log_error("the agent is not implemented yet");
	return 1;
}
