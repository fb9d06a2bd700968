/*
 * main.c - the gsha agent: option parsing, start-up, and handing over to the HA loop.
 *
 * Exit codes: 0 success (or a valid configuration with --validate-config), 1 an invalid
 * configuration or a start-up failure, 2 a usage error.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "agent.h"
#include "agent_tls.h"
#include "guardian.h"
#include "cfg.h"
#include "log.h"

extern char **environ;

/* The summary of the effective configuration logged at start-up (debug level shows it all). */
#define MAIN_SUMMARY_MAX (256 * 1024)

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

/* Prints every diagnostic: plain lines on stderr for --validate-config, log lines otherwise. */
static void report_diags(const struct cfg_diags *d, bool plain)
{
	for (int i = 0; i < d->count; i++) {
		char line[CFG_PATH_MAX + CFG_KEYPATH_MAX + CFG_DIAG_TEXT_MAX + 64];

		if (cfg_diag_format(&d->items[i], plain, line, sizeof(line)) != 0)
			continue;
		if (plain)
			fprintf(stderr, "%s\n", line);
		else if (d->items[i].severity == CFG_SEVERITY_ERROR)
			log_error("%s", line);
		else
			log_warning("%s", line);
	}
	if (d->dropped > 0) {
		if (plain)
			fprintf(stderr, "(%d more problems not shown)\n", d->dropped);
		else
			log_error("%d more configuration problems not shown", d->dropped);
	}
}

/* Sets the log level and format from GSHA_/PATRONI_LOG_LEVEL and _LOG_FORMAT before the
 * configuration is loaded, so its own messages already follow them. */
static void log_setup_from_env(void)
{
	enum log_level level = LOG_LEVEL_INFO;
	enum log_format format = LOG_FORMAT_TEXT;
	static const char *const levels[] = { "GSHA_LOG_LEVEL", "PATRONI_LOG_LEVEL",
					      "PATRONI_LOGLEVEL" };
	static const char *const formats[] = { "GSHA_LOG_FORMAT", "PATRONI_LOG_FORMAT" };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const char *v = getenv(levels[i]);

		if (v != NULL && log_level_parse(v, &level) == 0)
			break;
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const char *v = getenv(formats[i]);

		if (v != NULL && log_format_parse(v, &format) == 0)
			break;
	}
	log_setup(level, format, NULL);
}

static int validate_config(const char *path)
{
	struct cfg_diags *diags = malloc(sizeof(*diags));
	struct cfg *c = NULL;
	char why[512];
	int rc;

	if (diags == NULL) {
		fprintf(stderr, "gsha: out of memory\n");
		return 1;
	}
	cfg_diags_init(diags);
	rc = cfg_load_new(path, environ, &c, diags);
	report_diags(diags, true);
	if (rc == 0 && agent_check_config(c, why, sizeof(why)) != 0) {
		fprintf(stderr, "error: %s\n", why);
		diags->errors++;
		rc = -1;
	}
	if (rc == 0)
		fprintf(stderr, "%s: configuration is valid (%d warning%s)\n", path,
			diags->warnings, diags->warnings == 1 ? "" : "s");
	else
		fprintf(stderr, "%s: configuration is invalid (%d error%s)\n", path, diags->errors,
			diags->errors == 1 ? "" : "s");
	free(diags);
	free(c);
	return rc == 0 ? 0 : 1;
}

/* SIGHUP and POST /reload: loads the configuration again the way the agent started (ctx is
 * the file's path, or NULL for the environment), logging what the loader found. */
static int reload_config(void *ctx, struct cfg **out)
{
	struct cfg_diags *diags = malloc(sizeof(*diags));
	int rc;

	if (diags == NULL)
		return -ENOMEM;
	cfg_diags_init(diags);
	rc = cfg_load_new(ctx, environ, out, diags);
	report_diags(diags, false);
	free(diags);
	if (rc == 0) /* TLS asked for now, not at start: said at error level, not applied */
		(void)agent_tls_reload_check(*out);
	return rc;
}

/* Says what the agent starts with; the effective configuration at debug, one key per line
 * (passwords masked). */
static void log_start(const struct cfg *c)
{
	struct buf summary;

	log_info("starting gsha %s as member \"%s\" of cluster \"%s\" (%s, data directory \"%s\")",
		 GSHA_VERSION, c->name, c->scope, cfg_engine_name(c->postgresql.engine),
		 c->postgresql.data_dir);
	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	buf_init(&summary, MAIN_SUMMARY_MAX);
	if (cfg_summary(c, &summary) == 0 && summary.data != NULL) {
		char *line = summary.data;

		while (*line != '\0') {
			char *nl = strchr(line, '\n');

			if (nl != NULL)
				*nl = '\0';
			log_debug("configuration: %s", line);
			if (nl == NULL)
				break;
			line = nl + 1;
		}
	}
	buf_done(&summary);
}

/* The agent's heap (docs/architecture.md, "Footprint"). glibc gives each thread that allocates
 * its own arena (up to 8 per core), each keeping what it once held; the agent's threads (the
 * loop, the etcd watch, the REST server's) allocate little, so two arenas serve them. A fixed
 * mmap threshold keeps the configuration's and the cluster view's worst-case structs (hundreds
 * of kB, mostly untouched) out of the heap, so freeing one returns it to the system at once; by
 * default glibc raises the threshold after the first such free and the heap keeps them. (The
 * threshold applies only when no free chunk of the heap is large enough: the structs that must
 * cost only the pages they use take them from zpages_alloc, src/base/zpages.h.) A fixed trim
 * threshold returns the heap's free top instead of holding up to 32 MB of it. */
static void heap_setup(void)
{
	(void)mallopt(M_ARENA_MAX, 2);
	(void)mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

int main(int argc, char **argv)
{
	struct cfg_diags *diags;
	struct cfg *c;
	const char *path = NULL;
	char why[1024];
	int rc;

	/* The guardian: this binary started again by the agent (guardian.h). */
	if (argc >= 2 && strcmp(argv[1], GUARDIAN_ARG) == 0)
		return guardian_process_main(argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("gsha %s\n", GSHA_VERSION);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--validate-config") == 0) {
		if (argc != 3) {
			fprintf(stderr, "gsha: --validate-config needs exactly one CONFIG_FILE\n");
			usage(stderr);
			return 2;
		}
		return validate_config(argv[2]);
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "gsha: unexpected argument \"%s\"\n", argv[argc - 1]);
		usage(stderr);
		return 2;
	}
	if (argc == 2)
		path = argv[1];

	agent_split_if_pid1();
	heap_setup();
	log_setup_from_env();
	agent_become_subreaper();
	diags = malloc(sizeof(*diags));
	c = NULL;
	if (diags == NULL) {
		log_error("could not start: out of memory");
		return 1;
	}
	cfg_diags_init(diags);
	rc = cfg_load_new(path, environ, &c, diags);
	if (rc == 0 && cfg_log_setup(c) != 0) /* warnings follow the configured log format */
		log_warning("the log section could not be applied in full, see above");
	report_diags(diags, false);
	free(diags);
	if (rc != 0) {
		log_error("could not load the configuration from %s, exiting",
			  path ? path : "the environment");
		free(c);
		return 1;
	}
	log_start(c);
	if (agent_tls_setup(c, why, sizeof(why)) != 0) {
		log_error("could not start: %s", why);
		free(c);
		return 1;
	}
	return agent_run(c, reload_config, (void *)path); /* takes c */
}
