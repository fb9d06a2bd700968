/*
 * gsctl_session.c - what every gsctl command stands on: messages and questions on the terminal,
 * the configuration file (with placeholders for the keys only the agent needs), the etcd client
 * and the REST settings of the ctl/restapi sections.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "clock.h"
#include "gsctl.h"

void ctl_say_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gsctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ctl_timestamp(char *out, size_t cap)
{
	int64_t ms = clock_wall_ms();
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	localtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, cap, "%s.%06d", base, (int)(ms % 1000) * 1000);
}

/* ---- confirmations ------------------------------------------------------------------------- */

/* Asks question on the terminal. Returns 0 with the answer (default when empty), or
 * CTL_EXIT_NO_TERMINAL when stdin is not a terminal, or CTL_EXIT_FAILED on end of input. */
int ctl_ask(const struct ctl *x, const char *question, const char *def, char *answer, size_t cap)
{
	char line[ANSWER_MAX];
	size_t n;

	if (!isatty(STDIN_FILENO)) {
		ctl_say_error(
			"%s needs an answer to \"%s\" but stdin is not a terminal: run it with "
			"--force (and the options that give the answers) to go on without asking",
			ctl_command_name(x->args.command), question);
		return CTL_EXIT_NO_TERMINAL;
	}
	if (def != NULL)
		printf("%s [%s]: ", question, def);
	else
		printf("%s: ", question);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		ctl_say_error("no answer (end of input)");
		return CTL_EXIT_FAILED;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (line[0] == '\0' && def != NULL)
		snprintf(line, sizeof(line), "%s", def);
	if (buf_copy(answer, cap, line) != 0) {
		ctl_say_error("the answer is too long");
		return CTL_EXIT_FAILED;
	}
	return 0;
}

/* Returns 0 when confirmed (or --force), CTL_EXIT_FAILED when the answer is no, or
 * CTL_EXIT_NO_TERMINAL. */
int ctl_confirm(const struct ctl *x, const char *question)
{
	char q[1024], a[ANSWER_MAX];
	int rc;

	if (x->args.force)
		return 0;
	snprintf(q, sizeof(q), "%s [y/N]", question);
	rc = ctl_ask(x, q, NULL, a, sizeof(a));
	if (rc != 0)
		return rc;
	if (strcmp(a, "y") == 0 || strcmp(a, "Y") == 0 || strcmp(a, "yes") == 0 ||
	    strcmp(a, "Yes") == 0)
		return 0;
	fprintf(stderr, "Aborted!\n");
	return CTL_EXIT_FAILED;
}

int ctl_ask_when(const struct ctl *x, const char *what, char *when, size_t cap)
{
	char typed[ANSWER_MAX] = "", q[128], example[32], err[512];
	time_t t = time(NULL) + 3600;
	struct tm tm;
	int rc;

	if (x->args.scheduled[0] != '\0') {
		snprintf(typed, sizeof(typed), "%s", x->args.scheduled);
	} else if (!x->args.force) {
		localtime_r(&t, &tm);
		strftime(example, sizeof(example), "%Y-%m-%dT%H:%M", &tm);
		/* patronictl's two questions differ by a space */
		snprintf(q, sizeof(q), "When should the %s take place (e.g. %s%s) ", what, example,
			 strcmp(what, "switchover") == 0 ? " " : "");
		rc = ctl_ask(x, q, "now", typed, sizeof(typed));
		if (rc != 0)
			return rc;
	}
	/* strict, as the agent reads scheduled_at; a local time gets its zone here */
	if (ctl_parse_scheduled(typed, when, cap, err, sizeof(err)) != 0) {
		ctl_say_error("%s", err);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* ---- configuration and etcd ---------------------------------------------------------------- */

/* Keys the agent requires that gsctl does not need: a patronictl-style file with only scope and
 * etcd3 gets placeholders for them (through the environment cfg_load reads, below the file's
 * values: only keys the file and the real environment lack are filled). */
static const struct {
	const char *key, *env, *value;
} placeholders[] = {
	{ "name", "PATRONI_NAME", "gsctl" },
	{ "restapi.listen", "PATRONI_RESTAPI_LISTEN", "127.0.0.1:8008" },
	{ "restapi.connect_address", "PATRONI_RESTAPI_CONNECT_ADDRESS", "127.0.0.1:8008" },
	{ "postgresql.listen", "PATRONI_POSTGRESQL_LISTEN", "127.0.0.1:5432" },
	{ "postgresql.connect_address", "PATRONI_POSTGRESQL_CONNECT_ADDRESS", "127.0.0.1:5432" },
	{ "postgresql.data_dir", "PATRONI_POSTGRESQL_DATA_DIR", "/nonexistent/gsctl" },
	{ "postgresql.authentication.superuser.username", "PATRONI_SUPERUSER_USERNAME",
	  "postgres" },
	{ "postgresql.authentication.replication.username", "PATRONI_REPLICATION_USERNAME",
	  "replicator" },
};
#define PLACEHOLDERS_N (sizeof(placeholders) / sizeof(placeholders[0]))

static int placeholder_index(const char *key)
{
	for (size_t i = 0; i < PLACEHOLDERS_N; i++)
		if (strcmp(placeholders[i].key, key) == 0)
			return (int)i;
	return -1;
}

static void print_diags(const struct cfg_diags *d)
{
	for (int i = 0; i < d->count; i++) {
		char line[CFG_DIAG_TEXT_MAX + CFG_PATH_MAX + CFG_KEYPATH_MAX + 64];

		if (d->items[i].severity != CFG_SEVERITY_ERROR)
			continue;
		if (cfg_diag_format(&d->items[i], true, line, sizeof(line)) == 0)
			fprintf(stderr, "gsctl: %s\n", line);
	}
}

/* True when the environment gives the agent's configuration a cluster name. */
static bool env_names_cluster(void)
{
	static const char *const names[] = { "PATRONI_CONFIGURATION", "PATRONI_SCOPE",
					     "GSHA_SCOPE" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);

		if (v != NULL && v[0] != '\0')
			return true;
	}
	return false;
}

int ctl_load_config(struct ctl *x)
{
	const char *path = x->args.config_file[0] != '\0' ? x->args.config_file : NULL;
	struct cfg_diags *diags = calloc(1, sizeof(*diags));
	char **env = NULL;
	size_t envn = 0, base_n = 0;
	int rc;

	x->cfg = calloc(1, sizeof(*x->cfg));
	if (diags == NULL || x->cfg == NULL) {
		free(diags);
		ctl_say_error("out of memory");
		return CTL_EXIT_FAILED;
	}
	if (path == NULL && getenv("GSCTL_CONFIG_FILE") != NULL)
		path = getenv("GSCTL_CONFIG_FILE");
	if (path == NULL && getenv("PATRONICTL_CONFIG_FILE") != NULL)
		path = getenv("PATRONICTL_CONFIG_FILE");
	/* No file: patronictl then reads Patroni's environment (PATRONI_CONFIGURATION, else the
	 * PATRONI_* variables), as in a container whose agent is configured that way. */
	if (path == NULL && (x->args.dcs_url[0] != '\0' || !env_names_cluster())) {
		free(diags);
		if (x->args.dcs_url[0] == '\0') {
			ctl_say_error(
				"no configuration file: give -c FILE, or set GSCTL_CONFIG_FILE or "
				"PATRONICTL_CONFIG_FILE, or the agent's PATRONI_SCOPE and "
				"PATRONI_ETCD3_HOSTS (or give -d etcd3://HOST:PORT and the "
				"cluster name)");
			return CTL_EXIT_CONFIG;
		}
		cfg_defaults(x->cfg);
		return 0;
	}
	cfg_diags_init(diags);
	rc = cfg_load(path, environ, x->cfg, diags);
	if (rc == -EINVAL) {
		/* Required-by-the-agent keys only? Retry with placeholders for those. */
		bool only_agent_keys = diags->errors > 0 && diags->dropped == 0;

		for (int i = 0; i < diags->count && only_agent_keys; i++)
			if (diags->items[i].severity == CFG_SEVERITY_ERROR &&
			    (placeholder_index(diags->items[i].key) < 0 ||
			     strncmp(diags->items[i].message, "is required", 11) != 0))
				only_agent_keys = false;
		if (only_agent_keys) {
			while (environ[envn] != NULL)
				envn++;
			base_n = envn;
			env = calloc(envn + PLACEHOLDERS_N + 1, sizeof(*env));
			if (env == NULL) {
				free(diags);
				ctl_say_error("out of memory");
				return CTL_EXIT_FAILED;
			}
			memcpy(env, environ, envn * sizeof(*env));
			for (int i = 0; i < diags->count && envn < base_n + PLACEHOLDERS_N; i++) {
				int p = placeholder_index(diags->items[i].key);
				char *kv = NULL;

				if (p < 0 || asprintf(&kv, "%s=%s", placeholders[p].env,
						      placeholders[p].value) < 0)
					continue;
				env[envn++] = kv;
			}
			cfg_diags_init(diags);
			rc = cfg_load(path, env, x->cfg, diags);
		}
	}
	if (env != NULL) {
		for (size_t i = base_n; i < envn; i++)
			free(env[i]);
		free(env);
	}
	if (rc != 0) {
		if (rc == -EINVAL)
			print_diags(diags);
		else
			ctl_say_error("could not read the configuration %s%s%s: %s",
				      path ? "file \"" : "from the environment", path ? path : "",
				      path ? "\"" : "", strerror(-rc));
		free(diags);
		return CTL_EXIT_CONFIG;
	}
	free(diags);
	return 0;
}

/* "etcd3://h:p", "etcd://h:p", "http://h:p" or "h:p" -> an endpoint for dcs_options. */
static int dcs_url_endpoint(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");

	if (p != NULL && (strncmp(url, "etcd3://", 8) == 0 || strncmp(url, "etcd://", 7) == 0))
		url = p + 3;
	return buf_copy(out, cap, url);
}

int ctl_connect_dcs(struct ctl *x)
{
	const struct cfg *c = x->cfg;
	struct dcs_options o;
	char err[DCS_MSG_MAX];
	int64_t retry;

	memset(&o, 0, sizeof(o));
	if (x->args.dcs_url[0] != '\0') {
		if (dcs_url_endpoint(x->args.dcs_url, o.endpoints[0], DCS_URL_MAX) != 0) {
			ctl_say_error("--dcs-url is too long");
			return CTL_EXIT_USAGE;
		}
		o.endpoint_count = 1;
	} else {
		if (c->etcd3.url[0] != '\0' &&
		    buf_copy(o.endpoints[o.endpoint_count++], DCS_URL_MAX, c->etcd3.url) != 0) {
			ctl_say_error("\"etcd3.url\" is too long");
			return CTL_EXIT_CONFIG;
		}
		for (int i = 0; i < c->etcd3.hosts.count && o.endpoint_count < DCS_ENDPOINTS_MAX;
		     i++)
			if (buf_copy(o.endpoints[o.endpoint_count], DCS_URL_MAX,
				     c->etcd3.hosts.items[i]) == 0)
				o.endpoint_count++;
	}
	if (o.endpoint_count == 0) {
		ctl_say_error(
			"no etcd endpoints: set etcd3.hosts in the configuration file, or give "
			"-d etcd3://HOST:PORT");
		return CTL_EXIT_CONFIG;
	}
	buf_copy_or_clear(o.protocol, sizeof(o.protocol), cfg_protocol_name(c->etcd3.protocol));
	if (buf_copy(o.username, sizeof(o.username), c->etcd3.username) != 0 ||
	    buf_copy(o.password, sizeof(o.password), c->etcd3.password) != 0 ||
	    buf_copy(o.cacert, sizeof(o.cacert), c->etcd3.cacert) != 0 ||
	    buf_copy(o.cert, sizeof(o.cert), c->etcd3.cert) != 0 ||
	    buf_copy(o.key, sizeof(o.key), c->etcd3.key) != 0 ||
	    buf_copy(o.namespace, sizeof(o.namespace), c->namespace_) != 0 ||
	    buf_copy(o.scope, sizeof(o.scope), x->scope) != 0 ||
	    buf_copy(o.name, sizeof(o.name), c->name[0] != '\0' ? c->name : "gsctl") != 0) {
		ctl_say_error("a value of the etcd3 section is too long");
		return CTL_EXIT_CONFIG;
	}
	/* Bounded: the cluster's retry_timeout, at least 3 s, at most 5 s (a command line
	 * should answer "unreachable" soon; an etcd leader election takes less). */
	retry = c->bootstrap.dcs.retry_timeout_ms;
	o.retry_timeout_ms = retry < 3000 ? 3000 : retry > 5000 ? 5000 : retry;
	o.ttl_ms = c->bootstrap.dcs.ttl_ms > 0 ? c->bootstrap.dcs.ttl_ms : 30000;
	{
		struct buf b;

		buf_init_fixed(&b, x->endpoints, sizeof(x->endpoints));
		for (int i = 0; i < o.endpoint_count; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", o.endpoints[i]);
	}
	x->dcs = dcs_client_new(&o, err, sizeof(err));
	if (x->dcs == NULL) {
		ctl_say_error("could not set up the etcd client: %s", err);
		return CTL_EXIT_CONFIG;
	}
	return 0;
}

int ctl_read_cluster(struct ctl *x)
{
	char msg[DCS_MSG_MAX];
	int rc;

	rc = dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg));
	if (rc != 0) {
		ctl_say_error("could not read cluster \"%s\" from etcd (%s): %s: %s", x->scope,
			      x->endpoints, dcs_strerror(rc), msg);
		return CTL_EXIT_DCS;
	}
	if (x->cluster->members_dropped > 0)
		fprintf(stderr, "gsctl: warning: %d members beyond the first %d are not shown\n",
			x->cluster->members_dropped, DCS_MEMBERS_MAX);
	ctl_view_build(x->cluster, x->scope, x->view);
	if (x->cluster->rejected_count > 0)
		fprintf(stderr,
			"gsctl: warning: %d values in etcd were refused and are not shown: %s\n",
			x->cluster->rejected_count, x->cluster->rejected);
	return 0;
}

void ctl_setup_http(struct ctl *x)
{
	/* Patroni's rule (request.py), as the agent applies it; --insecure adds to ctl.insecure. */
	cfg_member_auth(x->cfg, &x->http);
	if (x->args.insecure)
		x->http.insecure = true;
}
