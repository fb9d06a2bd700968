/*
 * gsctl - the operator's command line for a gsha (or Patroni) cluster: what patronictl is to
 * Patroni. Reads the agent's configuration file, reads the cluster from etcd directly (dcs.h),
 * edits the config key with compare-and-swap, and asks members' REST APIs to act.
 *
 * The pure parts (arguments, renderings, diff, YAML) are in ctl.h; this file is the I/O and the
 * commands. Exit codes: enum ctl_exit, documented in usage() and README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "cfg.h"
#include "clock.h"
#include "ctl.h"
#include "ctl_io.h"
#include "dcs.h"

extern char **environ;

#define REST_TIMEOUT_MS 10000		  /* a simple REST call (GET /patroni, POST /reload) */
#define WAIT_DEFAULT_MS 300000		  /* --wait for reinit, restart, pause when no --timeout */
#define FALLBACK_WAIT_MS 60000		  /* switchover through the failover key, no REST */
#define ANSWER_MAX 512			  /* one line typed at a prompt */
#define EDITOR_CMD_MAX (CTL_PATH_MAX * 2) /* "$EDITOR file" */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct ctl {
	struct ctl_args args;
	struct cfg *cfg;
	struct dcs_client *dcs;
	struct dcs_cluster *cluster; /* the last read */
	struct ctl_view *view;	     /* built from it */
	struct ctl_http http;
	char scope[CTL_NAME_MAX];
	char endpoints[DCS_URL_MAX * 2]; /* for messages */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gsctl [-c CONFIG_FILE] [-d etcd3://HOST:PORT] [-k] COMMAND [ARGS]\n"
		"\n"
		"Manage a gsha (or Patroni) cluster, as patronictl does. gsctl reads the agent's\n"
		"configuration file (-c, or $GSCTL_CONFIG_FILE, or $PATRONICTL_CONFIG_FILE; a file "
		"with\n"
		"just scope and etcd3 is enough), reads the cluster from etcd directly and asks "
		"the\n"
		"members' REST APIs to act, with the credentials of ctl.authentication, else\n"
		"restapi.authentication. CLUSTER defaults to the configuration's scope.\n"
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

static void say_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say_error(const char *fmt, ...)
{
	va_list ap;

	fputs("gsctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void timestamp(char *out, size_t cap)
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
static int ask(const struct ctl *x, const char *question, const char *def, char *answer, size_t cap)
{
	char line[ANSWER_MAX];
	size_t n;

	if (!isatty(STDIN_FILENO)) {
		say_error("%s needs an answer to \"%s\" but stdin is not a terminal: run it with "
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
		say_error("no answer (end of input)");
		return CTL_EXIT_FAILED;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (line[0] == '\0' && def != NULL)
		snprintf(line, sizeof(line), "%s", def);
	if (buf_copy(answer, cap, line) != 0) {
		say_error("the answer is too long");
		return CTL_EXIT_FAILED;
	}
	return 0;
}

/* Returns 0 when confirmed (or --force), CTL_EXIT_FAILED when the answer is no, or
 * CTL_EXIT_NO_TERMINAL. */
static int confirm(const struct ctl *x, const char *question)
{
	char q[1024], a[ANSWER_MAX];
	int rc;

	if (x->args.force)
		return 0;
	snprintf(q, sizeof(q), "%s [y/N]", question);
	rc = ask(x, q, NULL, a, sizeof(a));
	if (rc != 0)
		return rc;
	if (strcmp(a, "y") == 0 || strcmp(a, "Y") == 0 || strcmp(a, "yes") == 0 ||
	    strcmp(a, "Yes") == 0)
		return 0;
	fprintf(stderr, "Aborted!\n");
	return CTL_EXIT_FAILED;
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

static int load_config(struct ctl *x)
{
	const char *path = x->args.config_file[0] != '\0' ? x->args.config_file : NULL;
	struct cfg_diags *diags = calloc(1, sizeof(*diags));
	char **env = NULL;
	size_t envn = 0, base_n = 0;
	int rc;

	x->cfg = calloc(1, sizeof(*x->cfg));
	if (diags == NULL || x->cfg == NULL) {
		free(diags);
		say_error("out of memory");
		return CTL_EXIT_FAILED;
	}
	if (path == NULL && getenv("GSCTL_CONFIG_FILE") != NULL)
		path = getenv("GSCTL_CONFIG_FILE");
	if (path == NULL && getenv("PATRONICTL_CONFIG_FILE") != NULL)
		path = getenv("PATRONICTL_CONFIG_FILE");
	if (path == NULL) {
		free(diags);
		if (x->args.dcs_url[0] == '\0') {
			say_error(
				"no configuration file: give -c FILE, or set GSCTL_CONFIG_FILE or "
				"PATRONICTL_CONFIG_FILE (or give -d etcd3://HOST:PORT and the "
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
				say_error("out of memory");
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
			say_error("could not read the configuration file \"%s\": %s", path,
				  strerror(-rc));
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

static int connect_dcs(struct ctl *x)
{
	const struct cfg *c = x->cfg;
	struct dcs_options o;
	char err[DCS_MSG_MAX];
	int64_t retry;

	memset(&o, 0, sizeof(o));
	if (x->args.dcs_url[0] != '\0') {
		if (dcs_url_endpoint(x->args.dcs_url, o.endpoints[0], DCS_URL_MAX) != 0) {
			say_error("--dcs-url is too long");
			return CTL_EXIT_USAGE;
		}
		o.endpoint_count = 1;
	} else {
		if (c->etcd3.url[0] != '\0' &&
		    buf_copy(o.endpoints[o.endpoint_count++], DCS_URL_MAX, c->etcd3.url) != 0) {
			say_error("\"etcd3.url\" is too long");
			return CTL_EXIT_CONFIG;
		}
		for (int i = 0; i < c->etcd3.hosts.count && o.endpoint_count < DCS_ENDPOINTS_MAX;
		     i++)
			if (buf_copy(o.endpoints[o.endpoint_count], DCS_URL_MAX,
				     c->etcd3.hosts.items[i]) == 0)
				o.endpoint_count++;
	}
	if (o.endpoint_count == 0) {
		say_error("no etcd endpoints: set etcd3.hosts in the configuration file, or give "
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
		say_error("a value of the etcd3 section is too long");
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
		say_error("could not set up the etcd client: %s", err);
		return CTL_EXIT_CONFIG;
	}
	return 0;
}

static int read_cluster(struct ctl *x)
{
	char msg[DCS_MSG_MAX];
	int rc;

	rc = dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg));
	if (rc != 0) {
		say_error("could not read cluster \"%s\" from etcd (%s): %s: %s", x->scope,
			  x->endpoints, dcs_strerror(rc), msg);
		return CTL_EXIT_DCS;
	}
	if (x->cluster->members_dropped > 0)
		fprintf(stderr, "gsctl: warning: %d members beyond the first %d are not shown\n",
			x->cluster->members_dropped, DCS_MEMBERS_MAX);
	ctl_view_build(x->cluster, x->scope, x->view);
	return 0;
}

static void setup_http(struct ctl *x)
{
	const struct cfg *c = x->cfg;
	struct ctl_http *h = &x->http;
	bool ctl_auth = c->ctl.username[0] != '\0';

	buf_copy_or_clear(h->username, sizeof(h->username),
			  ctl_auth ? c->ctl.username : c->restapi.username);
	buf_copy_or_clear(h->password, sizeof(h->password),
			  ctl_auth ? c->ctl.password : c->restapi.password);
	h->insecure = x->args.insecure || c->ctl.insecure;
	buf_copy_or_clear(h->cacert, sizeof(h->cacert),
			  c->ctl.cacert[0] ? c->ctl.cacert : c->restapi.cafile);
	buf_copy_or_clear(h->certfile, sizeof(h->certfile), c->ctl.certfile);
	buf_copy_or_clear(h->keyfile, sizeof(h->keyfile), c->ctl.keyfile);
	buf_copy_or_clear(h->keyfile_password, sizeof(h->keyfile_password),
			  c->ctl.keyfile_password);
}

/* ---- REST ---------------------------------------------------------------------------------- */

struct reply {
	int status;
	char body[CTL_HTTP_RESPONSE_MAX + 1];
	char err[DCS_URL_MAX + CTL_NAME_MAX + 128]; /* transport error, when status is 0 */
};

/* Calls a member's REST API. Returns 0 with r->status set, or -errno (no reply, r->err). */
static int rest(const struct ctl *x, const struct ctl_row *m, const char *method, const char *path,
		const char *body, int64_t timeout_ms, struct reply *r)
{
	char base[DCS_URL_MAX], url[DCS_URL_MAX + 64];
	struct buf b;
	int rc;

	memset(r, 0, sizeof(*r));
	if (ctl_api_base(m->api_url, base, sizeof(base)) != 0 ||
	    buf_format(url, sizeof(url), "%s%s", base, path) != 0) {
		snprintf(r->err, sizeof(r->err), "member \"%s\" has no usable api_url (\"%s\")",
			 m->name, m->api_url);
		return -EINVAL;
	}
	buf_init(&b, CTL_HTTP_RESPONSE_MAX);
	rc = ctl_http_call(&x->http, method, url, body, timeout_ms, &r->status, &b, r->err,
			   sizeof(r->err));
	if (rc == 0) {
		size_t n = b.len < CTL_HTTP_RESPONSE_MAX ? b.len : CTL_HTTP_RESPONSE_MAX;

		if (n > 0)
			memcpy(r->body, b.data, n);
		r->body[n] = '\0';
		while (n > 0 && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
			r->body[--n] = '\0';
	}
	buf_done(&b);
	return rc;
}

static bool auth_refused(const struct reply *r)
{
	return r->status == 401 || r->status == 403;
}

static void say_auth(const struct ctl_row *m, const struct reply *r, const struct ctl *x)
{
	say_error("the REST API of member \"%s\" refused the request (HTTP %d: %s): %s", m->name,
		  r->status, r->body,
		  x->http.username[0] == '\0'
			  ? "no credentials were sent: set ctl.authentication (or "
			    "restapi.authentication) username and password in the configuration"
			  : "check the username and password of ctl.authentication (or "
			    "restapi.authentication)");
}

/* GET /patroni of a member into *doc (caller deletes). Returns 0 or -errno. */
static int member_status(const struct ctl *x, const struct ctl_row *m, cJSON **doc, struct reply *r)
{
	int rc = rest(x, m, "GET", "/patroni", NULL, REST_TIMEOUT_MS, r);

	*doc = NULL;
	if (rc != 0)
		return rc;
	if (r->status != 200 && r->status != 503)
		return -EIO;
	*doc = cJSON_Parse(r->body);
	return *doc != NULL ? 0 : -EINVAL;
}

static const char *json_str(const cJSON *doc, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* ---- commands ---------------------------------------------------------------------------- */

static void sleep_interruptible(int64_t ms)
{
	int64_t end = clock_mono_ms() + ms;

	while (!interrupted && clock_mono_ms() < end)
		clock_sleep_ms(100);
}

static int print_list(struct ctl *x, enum ctl_format f, bool topology)
{
	struct buf out;
	int rc;

	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_render_list(x->view, f, topology, x->args.extended, &out);
	if (rc == 0)
		fputs(out.data != NULL ? out.data : "", stdout);
	else
		say_error("could not render the member list: %s", strerror(-rc));
	buf_done(&out);
	fflush(stdout);
	return rc == 0 ? 0 : CTL_EXIT_FAILED;
}

static int cmd_list(struct ctl *x, bool topology)
{
	for (;;) {
		int rc = read_cluster(x);

		if (rc != 0)
			return rc;
		if (x->args.watch) {
			char ts[64];

			if (isatty(STDOUT_FILENO))
				fputs("\033[H\033[2J", stdout);
			timestamp(ts, sizeof(ts));
			printf("%s\n", ts);
		}
		rc = print_list(x, topology ? CTL_FORMAT_PRETTY : x->args.format, topology);
		if (rc != 0 || !x->args.watch)
			return rc;
		sleep_interruptible(x->args.watch_interval_ms);
		if (interrupted)
			return 0;
	}
}

static int member_or_fail(const struct ctl *x, const char *name, const struct ctl_row **out)
{
	*out = ctl_view_row(x->view, name);
	if (*out == NULL) {
		say_error("member \"%s\" does not exist in cluster \"%s\" (members: %d)", name,
			  x->scope, x->view->count);
		return CTL_EXIT_BAD_MEMBER;
	}
	return 0;
}

/* Waits for the leader key to name someone other than old (and candidate, when given). */
static int wait_leader_change(struct ctl *x, const char *old, const char *candidate,
			      int64_t timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	fprintf(stderr,
		"Waiting up to %" PRId64
		" s for the leader key to move away from \"%s\"%s%s%s...\n",
		timeout_ms / 1000, old, candidate[0] ? " to \"" : "", candidate,
		candidate[0] ? "\"" : "");
	while (!interrupted && clock_mono_ms() < end) {
		char msg[DCS_MSG_MAX];

		if (dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg)) == 0 &&
		    x->cluster->has_leader && strcmp(x->cluster->leader, old) != 0 &&
		    (candidate[0] == '\0' || strcmp(x->cluster->leader, candidate) == 0)) {
			ctl_view_build(x->cluster, x->scope, x->view);
			return 0;
		}
		clock_sleep_ms(500);
	}
	return -ETIMEDOUT;
}

static int cmd_switchover(struct ctl *x, bool failover)
{
	const char *action = failover ? "failover" : "switchover";
	char leader[MEMBER_NAME_MAX] = "", candidate[MEMBER_NAME_MAX] = "";
	char when[CTL_WORD_MAX] = "", typed[ANSWER_MAX] = "", err[512];
	char q[1024], why[256], ts[64];
	const struct ctl_row *cand = NULL, *target;
	struct reply *r = NULL;
	struct buf body;
	int rc = read_cluster(x);
	int64_t timeout_ms;

	if (rc != 0)
		return rc;
	if (!failover && x->view->leader[0] == '\0') {
		say_error("cluster \"%s\" has no leader: a switchover needs one (use failover)",
			  x->scope);
		return CTL_EXIT_BAD_MEMBER;
	}
	/* the leader to demote */
	if (x->args.leader[0] != '\0') {
		snprintf(leader, sizeof(leader), "%s", x->args.leader);
	} else if (!failover && !x->args.force) {
		rc = ask(x, "Primary", x->view->leader, typed, sizeof(typed));
		if (rc != 0)
			return rc;
		if (typed[0] != '\0' &&
		    ctl_member_arg(leader, typed, "Primary", err, sizeof(err)) != 0) {
			say_error("%s", err);
			return CTL_EXIT_BAD_MEMBER;
		}
	} else {
		snprintf(leader, sizeof(leader), "%s", x->view->leader);
	}
	if (leader[0] != '\0' && strcmp(leader, x->view->leader) != 0) {
		const struct ctl_row *m;

		rc = member_or_fail(x, leader, &m);
		if (rc != 0)
			return rc;
		say_error(
			"member \"%s\" is not the leader of cluster \"%s\" (the leader is \"%s\")",
			leader, x->scope, x->view->leader[0] ? x->view->leader : "nobody");
		return CTL_EXIT_BAD_MEMBER;
	}
	/* the candidate */
	if (x->args.candidate[0] != '\0') {
		snprintf(candidate, sizeof(candidate), "%s", x->args.candidate);
	} else if (x->args.force && failover) {
		say_error("failover needs a candidate: give --candidate NAME");
		return CTL_EXIT_USAGE;
	} else if (!x->args.force) {
		struct buf names;
		char list[1024];

		buf_init_fixed(&names, list, sizeof(list));
		buf_puts(&names, "Candidate [");
		/* as patronictl: the members other than the leader without nofailover */
		for (int i = 0, n = 0; i < x->view->count; i++)
			if (strcmp(x->view->rows[i].name, x->view->leader) != 0 &&
			    !x->view->rows[i].nofailover)
				buf_printf(&names, "%s'%s'", n++ ? ", " : "",
					   x->view->rows[i].name);
		buf_puts(&names, "]");
		rc = ask(x, list, "", typed, sizeof(typed));
		if (rc != 0)
			return rc;
		if (typed[0] != '\0' &&
		    ctl_member_arg(candidate, typed, "Candidate", err, sizeof(err)) != 0) {
			say_error("%s", err);
			return CTL_EXIT_BAD_MEMBER;
		}
	}
	if (candidate[0] != '\0') {
		rc = member_or_fail(x, candidate, &cand);
		if (rc != 0)
			return rc;
		if (strcmp(candidate, x->view->leader) == 0 && x->view->leader[0] != '\0') {
			say_error(
				"member \"%s\" is already the leader: %s target and source are the "
				"same",
				candidate, action);
			return CTL_EXIT_BAD_MEMBER;
		}
		if (!ctl_row_can_take_over(x->view, cand, why, sizeof(why))) {
			say_error("member \"%s\" is not a healthy replica to %s to: %s", candidate,
				  action, why);
			return CTL_EXIT_BAD_MEMBER;
		}
	} else if (failover) {
		say_error("failover needs a candidate: give --candidate NAME");
		return CTL_EXIT_USAGE;
	}
	/* when */
	if (!failover) {
		if (x->args.scheduled[0] != '\0') {
			snprintf(typed, sizeof(typed), "%s", x->args.scheduled);
		} else if (!x->args.force) {
			char example[32];
			time_t t = time(NULL) + 3600;
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(example, sizeof(example), "%Y-%m-%dT%H:%M", &tm);
			snprintf(q, sizeof(q), "When should the switchover take place (e.g. %s ) ",
				 example);
			rc = ask(x, q, "now", typed, sizeof(typed));
			if (rc != 0)
				return rc;
		}
		/* strict, as the agent reads scheduled_at; a local time gets its zone here */
		if (ctl_parse_scheduled(typed, when, sizeof(when), err, sizeof(err)) != 0) {
			say_error("%s", err);
			return CTL_EXIT_USAGE;
		}
	}
	printf("Current cluster topology\n");
	rc = print_list(x, CTL_FORMAT_PRETTY, false);
	if (rc != 0)
		return rc;
	{
		char demote[MEMBER_NAME_MAX + 32] = "";

		if (x->view->leader[0] != '\0')
			snprintf(demote, sizeof(demote), ", demoting current leader %s",
				 x->view->leader);
		if (when[0] != '\0')
			snprintf(q, sizeof(q),
				 "Are you sure you want to schedule %s of cluster %s at %s%s?",
				 action, x->scope, when, demote);
		else
			snprintf(q, sizeof(q), "Are you sure you want to %s cluster %s%s?", action,
				 x->scope, demote);
	}
	rc = confirm(x, q);
	if (rc != 0)
		return rc;

	buf_init(&body, DCS_DOC_MAX);
	{
		cJSON *o = cJSON_CreateObject();
		char *text;

		if (o == NULL)
			return CTL_EXIT_FAILED;
		if (x->view->leader[0] != '\0')
			cJSON_AddStringToObject(o, "leader", x->view->leader);
		if (candidate[0] != '\0')
			cJSON_AddStringToObject(o, "candidate", candidate);
		if (when[0] != '\0')
			cJSON_AddStringToObject(o, "scheduled_at", when);
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (text == NULL || buf_puts(&body, text) != 0) {
			free(text);
			buf_done(&body);
			return CTL_EXIT_FAILED;
		}
		free(text);
	}
	/* The leader's API does it (and answers once it is done), else the candidate's. */
	target = x->view->leader[0] != '\0' ? ctl_view_row(x->view, x->view->leader) : cand;
	timeout_ms = x->args.timeout_ms > 0 ? x->args.timeout_ms : 60000;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		buf_done(&body);
		return CTL_EXIT_FAILED;
	}
	if (target != NULL) {
		if (when[0] == '\0')
			fprintf(stderr,
				"Waiting for the %s%s%s%s: asked the REST API of \"%s\", which "
				"answers once a new leader holds the leader key...\n",
				action, candidate[0] ? " to \"" : "", candidate,
				candidate[0] ? "\"" : "", target->name);
		rc = rest(x, target, "POST", failover ? "/failover" : "/switchover", body.data,
			  timeout_ms + 5000, r);
	} else {
		rc = -EHOSTUNREACH;
		snprintf(r->err, sizeof(r->err), "no member to ask");
	}
	timestamp(ts, sizeof(ts));
	if (rc == 0 && (r->status == 200 || r->status == 202)) {
		printf("%s %s\n", ts, r->body);
		rc = 0;
		if (r->status == 200 && read_cluster(x) == 0)
			print_list(x, CTL_FORMAT_PRETTY, false);
	} else if (rc == 0 && auth_refused(r)) {
		say_auth(target, r, x);
		rc = CTL_EXIT_AUTH;
	} else if (rc == 0) {
		printf("%s %s failed, details: %d, %s\n", ts, failover ? "Failover" : "Switchover",
		       r->status, r->body);
		rc = CTL_EXIT_FAILED;
	} else {
		/* No REST API answered: write the failover key, as patronictl does. */
		char msg[DCS_MSG_MAX];
		int drc;

		fprintf(stderr,
			"gsctl: could not reach the REST API of \"%s\" (%s): writing the failover "
			"key in etcd instead\n",
			target != NULL ? target->name : "?", r->err);
		drc = dcs_write_failover(x->dcs, body.data, DCS_CAS_ANY, NULL, msg, sizeof(msg));
		if (drc != 0) {
			say_error("could not write the failover key: %s: %s", dcs_strerror(drc),
				  msg);
			rc = CTL_EXIT_DCS;
		} else if (when[0] != '\0') {
			printf("%s %s scheduled\n", ts, failover ? "Failover" : "Switchover");
			rc = 0;
		} else if (wait_leader_change(x, x->view->leader, candidate,
					      x->args.timeout_ms > 0 ? x->args.timeout_ms
								     : FALLBACK_WAIT_MS) == 0) {
			timestamp(ts, sizeof(ts));
			printf("%s Successfully %s to \"%s\"\n", ts,
			       failover ? "failed over" : "switched over", x->cluster->leader);
			print_list(x, CTL_FORMAT_PRETTY, false);
			rc = 0;
		} else {
			say_error("%s status unknown: the leader key did not move in time", action);
			rc = CTL_EXIT_FAILED;
		}
	}
	free(r);
	buf_done(&body);
	return rc;
}

/* Selects members: the named ones, else by role, else all. Returns 0 or an exit code. */
static int select_members(const struct ctl *x, const struct ctl_row **sel, int *n)
{
	*n = 0;
	if (x->args.member_count > 0) {
		for (int i = 0; i < x->args.member_count; i++) {
			int rc = member_or_fail(x, x->args.members[i], &sel[*n]);

			if (rc != 0)
				return rc;
			(*n)++;
		}
		return 0;
	}
	for (int i = 0; i < x->view->count; i++) {
		const struct ctl_row *r = &x->view->rows[i];
		bool is_leader = strcmp(r->name, x->view->leader) == 0;
		const char *role = x->args.role;

		if (role[0] == '\0' || strcmp(role, "any") == 0 ||
		    ((strcmp(role, "leader") == 0 || strcmp(role, "primary") == 0 ||
		      strcmp(role, "master") == 0) &&
		     is_leader) ||
		    ((strcmp(role, "replica") == 0 || strcmp(role, "standby") == 0) && !is_leader))
			sel[(*n)++] = r;
	}
	if (*n == 0) {
		say_error("no member of cluster \"%s\" has role \"%s\"", x->scope, x->args.role);
		return CTL_EXIT_BAD_MEMBER;
	}
	return 0;
}

static void join_names(const struct ctl_row **sel, int n, char *out, size_t cap)
{
	struct buf b;

	buf_init_fixed(&b, out, cap);
	for (int i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", sel[i]->name);
}

/* Polls GET /patroni until the member runs again. With changed_from set, a postmaster start time
 * equal to it does not count (the action has not happened yet). */
static int wait_running(const struct ctl *x, const struct ctl_row *m, const char *what,
			const char *changed_from, bool must_see_other)
{
	int64_t timeout = x->args.timeout_ms > 0 ? x->args.timeout_ms : WAIT_DEFAULT_MS;
	int64_t end = clock_mono_ms() + timeout;
	bool saw_other = false;
	char last[DCS_WORD_MAX] = "";

	fprintf(stderr, "Waiting for %s to complete on: %s (up to %" PRId64 " s)\n", what, m->name,
		timeout / 1000);
	while (!interrupted && clock_mono_ms() < end) {
		struct reply *r = calloc(1, sizeof(*r));
		cJSON *doc = NULL;
		bool done = false;

		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (member_status(x, m, &doc, r) == 0) {
			const char *state = json_str(doc, "state");
			const char *started = json_str(doc, "postmaster_start_time");

			if (strcmp(state, last) != 0) {
				fprintf(stderr, "  %s: state \"%s\"\n", m->name, state);
				snprintf(last, sizeof(last), "%s", state);
			}
			if (strcmp(state, "running") != 0)
				saw_other = true;
			if (strcmp(state, "running") == 0 &&
			    (!must_see_other || saw_other ||
			     (changed_from != NULL && changed_from[0] != '\0' &&
			      started[0] != '\0' && strcmp(started, changed_from) != 0)))
				done = true;
			if (strstr(state, "failed") != NULL) {
				say_error("%s failed on %s: state \"%s\"", what, m->name, state);
				cJSON_Delete(doc);
				free(r);
				return CTL_EXIT_FAILED;
			}
		} else {
			saw_other = true; /* the API is down while the member rebuilds */
		}
		cJSON_Delete(doc);
		free(r);
		if (done) {
			printf("%s is completed on: %s\n", what, m->name);
			return 0;
		}
		clock_sleep_ms(1000);
	}
	say_error("%s did not complete on %s within %" PRId64 " s (last state \"%s\")", what,
		  m->name, timeout / 1000, last);
	return CTL_EXIT_FAILED;
}

static int cmd_restart_reload(struct ctl *x, bool restart)
{
	const struct ctl_row *sel[DCS_MEMBERS_MAX];
	char names[2048], q[2200], when[CTL_WORD_MAX] = "", typed[ANSWER_MAX] = "", err[512];
	int n = 0, rc = read_cluster(x), result = 0;
	int64_t loop_wait_s;

	if (rc != 0)
		return rc;
	rc = select_members(x, sel, &n);
	if (rc != 0)
		return rc;
	join_names(sel, n, names, sizeof(names));
	if (restart) {
		if (x->args.scheduled[0] != '\0') {
			snprintf(typed, sizeof(typed), "%s", x->args.scheduled);
		} else if (!x->args.force) {
			char example[32], question[96];
			time_t t = time(NULL) + 3600;
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(example, sizeof(example), "%Y-%m-%dT%H:%M", &tm);
			snprintf(question, sizeof(question),
				 "When should the restart take place (e.g. %s) ", example);
			rc = ask(x, question, "now", typed, sizeof(typed));
			if (rc != 0)
				return rc;
		}
		if (ctl_parse_scheduled(typed, when, sizeof(when), err, sizeof(err)) != 0) {
			say_error("%s", err);
			return CTL_EXIT_USAGE;
		}
	}
	print_list(x, CTL_FORMAT_PRETTY, false);
	if (when[0] != '\0')
		snprintf(q, sizeof(q),
			 "Are you sure you want to schedule restart of members %s at %s?", names,
			 when);
	else
		snprintf(q, sizeof(q), "Are you sure you want to %s members %s?",
			 restart ? "restart" : "reload", names);
	rc = confirm(x, q);
	if (rc != 0)
		return rc;
	if (restart && x->args.pg_version[0] == '\0' && !x->args.force) {
		rc = ask(x, "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ",
			 "", x->args.pg_version, sizeof(x->args.pg_version));
		if (rc != 0)
			return rc;
	}
	loop_wait_s =
		x->cluster->config_loop_wait_ms > 0 ? x->cluster->config_loop_wait_ms / 1000 : 10;
	for (int i = 0; i < n; i++) {
		struct reply *r = calloc(1, sizeof(*r));
		char body[256] = "";
		char before[DCS_WORD_MAX] = "";

		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (restart) {
			cJSON *doc = NULL;

			if (x->args.wait && member_status(x, sel[i], &doc, r) == 0)
				snprintf(before, sizeof(before), "%s",
					 json_str(doc, "postmaster_start_time"));
			cJSON_Delete(doc);
			cJSON *o = cJSON_CreateObject();
			char *text;

			if (o == NULL) {
				free(r);
				return CTL_EXIT_FAILED;
			}
			if (when[0] != '\0')
				cJSON_AddStringToObject(o, "schedule", when);
			if (x->args.pending)
				cJSON_AddTrueToObject(o, "restart_pending");
			if (x->args.pg_version[0] != '\0')
				cJSON_AddStringToObject(o, "postgres_version", x->args.pg_version);
			text = cJSON_PrintUnformatted(o);
			cJSON_Delete(o);
			if (text == NULL || buf_copy(body, sizeof(body), text) != 0) {
				free(text);
				free(r);
				return CTL_EXIT_FAILED;
			}
			free(text);
			if (when[0] == '\0')
				fprintf(stderr,
					"Restarting %s (its REST API answers once done)...\n",
					sel[i]->name);
			rc = rest(x, sel[i], "POST", "/restart", body,
				  x->args.timeout_ms > 0 ? x->args.timeout_ms + 5000 : 120000, r);
		} else {
			rc = rest(x, sel[i], "POST", "/reload", NULL, REST_TIMEOUT_MS, r);
		}
		if (rc != 0) {
			printf("Failed: %s for member %s, %s\n", restart ? "restart" : "reload",
			       sel[i]->name, r->err);
			if (result == 0)
				result = CTL_EXIT_UNREACHABLE;
		} else if (auth_refused(r)) {
			say_auth(sel[i], r, x);
			result = CTL_EXIT_AUTH;
		} else if (restart && r->status == 200) {
			printf("Success: restart on member %s\n", sel[i]->name);
			if (x->args.wait) {
				rc = wait_running(x, sel[i], "restart", before, true);
				if (rc != 0 && result == 0)
					result = rc;
			}
		} else if (restart && r->status == 202) {
			printf("Success: restart scheduled on member %s\n", sel[i]->name);
		} else if (!restart && r->status == 202) {
			printf("Reload request received for member %s and will be processed within "
			       "%" PRId64 " seconds\n",
			       sel[i]->name, loop_wait_s);
		} else {
			printf("Failed: %s for member %s, status code=%d, (%s)\n",
			       restart ? "restart" : "reload", sel[i]->name, r->status, r->body);
			if (result == 0 || result == CTL_EXIT_UNREACHABLE)
				result = CTL_EXIT_FAILED;
		}
		free(r);
	}
	return result;
}

static int cmd_reinit(struct ctl *x)
{
	const struct ctl_row *sel[DCS_MEMBERS_MAX];
	char names[2048], q[2200], one[ANSWER_MAX], err[512];
	int n = 0, rc = read_cluster(x), result = 0;

	if (rc != 0)
		return rc;
	if (x->args.member_count == 0) {
		if (x->args.force) {
			say_error("reinit needs the members to rebuild: gsctl reinit CLUSTER "
				  "MEMBER...");
			return CTL_EXIT_USAGE;
		}
		char question[1200];
		struct buf b;

		buf_init_fixed(&b, question, sizeof(question));
		buf_puts(&b, "Which member do you want to reinitialize [");
		for (int i = 0, k = 0; i < x->view->count; i++)
			if (strcmp(x->view->rows[i].name, x->view->leader) != 0)
				buf_printf(&b, "%s%s", k++ ? ", " : "", x->view->rows[i].name);
		buf_puts(&b, "]?");
		rc = ask(x, question, "", one, sizeof(one));
		if (rc != 0)
			return rc;
		if (ctl_member_arg(x->args.members[0], one, "member", err, sizeof(err)) != 0) {
			say_error("%s", err);
			return CTL_EXIT_BAD_MEMBER;
		}
		x->args.member_count = 1;
	}
	rc = select_members(x, sel, &n);
	if (rc != 0)
		return rc;
	join_names(sel, n, names, sizeof(names));
	snprintf(q, sizeof(q), "Are you sure you want to reinitialize members %s?", names);
	rc = confirm(x, q);
	if (rc != 0)
		return rc;
	for (int i = 0; i < n; i++) {
		struct reply *r = calloc(1, sizeof(*r));
		char body[128], before[DCS_WORD_MAX] = "";
		cJSON *doc = NULL;

		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (member_status(x, sel[i], &doc, r) == 0)
			snprintf(before, sizeof(before), "%s",
				 json_str(doc, "postmaster_start_time"));
		cJSON_Delete(doc);
		snprintf(body, sizeof(body), "{\"force\":%s,\"from_leader\":%s}",
			 x->args.force ? "true" : "false", x->args.from_leader ? "true" : "false");
		rc = rest(x, sel[i], "POST", "/reinitialize", body, REST_TIMEOUT_MS, r);
		if (rc == 0 && r->status == 503 && !x->args.force &&
		    strstr(r->body, " already in progress") != NULL &&
		    r->body[strlen(r->body) - 1] == 's') {
			int c = confirm(x, "Do you want to cancel it and reinitialize anyway?");

			if (c == CTL_EXIT_NO_TERMINAL) {
				free(r);
				return c;
			}
			if (c == 0) {
				snprintf(body, sizeof(body), "{\"force\":true,\"from_leader\":%s}",
					 x->args.from_leader ? "true" : "false");
				rc = rest(x, sel[i], "POST", "/reinitialize", body, REST_TIMEOUT_MS,
					  r);
			}
		}
		if (rc != 0) {
			printf("Failed: reinitialize for member %s, %s\n", sel[i]->name, r->err);
			if (result == 0)
				result = CTL_EXIT_UNREACHABLE;
		} else if (auth_refused(r)) {
			say_auth(sel[i], r, x);
			result = CTL_EXIT_AUTH;
		} else if (r->status == 200) {
			printf("Success: reinitialize for member %s\n", sel[i]->name);
			if (x->args.wait) {
				rc = wait_running(x, sel[i], "Reinitialize", before, true);
				if (rc != 0 && result == 0)
					result = rc;
			}
		} else {
			printf("Failed: reinitialize for member %s, status code=%d, (%s)\n",
			       sel[i]->name, r->status, r->body);
			if (result == 0 || result == CTL_EXIT_UNREACHABLE)
				result = CTL_EXIT_FAILED;
		}
		free(r);
	}
	return result;
}

static bool all_members_paused(const struct dcs_cluster *c, bool paused)
{
	for (int i = 0; i < c->member_count; i++)
		if (c->members[i].pause != paused)
			return false;
	return true;
}

static int cmd_pause(struct ctl *x, bool pause)
{
	const char *word = pause ? "paused" : "resumed";
	struct reply *r;
	int rc = read_cluster(x), result = CTL_EXIT_UNREACHABLE;
	const struct ctl_row *order[DCS_MEMBERS_MAX];
	int n = 0;

	if (rc != 0)
		return rc;
	if (pause && x->view->paused) {
		say_error("cluster \"%s\" is already paused", x->scope);
		return CTL_EXIT_FAILED;
	}
	if (!pause && !x->view->paused) {
		say_error("cluster \"%s\" is not paused", x->scope);
		return CTL_EXIT_FAILED;
	}
	/* the leader first, then the others */
	for (int i = 0; i < x->view->count; i++)
		if (strcmp(x->view->rows[i].name, x->view->leader) == 0)
			order[n++] = &x->view->rows[i];
	for (int i = 0; i < x->view->count; i++)
		if (strcmp(x->view->rows[i].name, x->view->leader) != 0)
			order[n++] = &x->view->rows[i];
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return CTL_EXIT_FAILED;
	for (int i = 0; i < n; i++) {
		const char *patch = pause ? "{\"pause\":true}" : "{\"pause\":null}";

		rc = rest(x, order[i], "PATCH", "/config", patch, REST_TIMEOUT_MS, r);
		if (rc == 0 && r->status == 409) /* a concurrent edit: once more, as Patroni */
			rc = rest(x, order[i], "PATCH", "/config", patch, REST_TIMEOUT_MS, r);
		if (rc != 0) {
			fprintf(stderr, "gsctl: could not reach the REST API of \"%s\": %s\n",
				order[i]->name, r->err);
			continue;
		}
		if (auth_refused(r)) {
			say_auth(order[i], r, x);
			result = CTL_EXIT_AUTH;
		} else if (r->status == 200) {
			result = 0;
		} else {
			say_error("the REST API of \"%s\" answered %d: %s", order[i]->name,
				  r->status, r->body);
			result = CTL_EXIT_FAILED;
		}
		break;
	}
	free(r);
	if (result == CTL_EXIT_UNREACHABLE)
		say_error("no member's REST API could be reached");
	if (result != 0)
		return result;
	if (x->args.wait) {
		int64_t timeout = x->args.timeout_ms > 0 ? x->args.timeout_ms : WAIT_DEFAULT_MS;
		int64_t end = clock_mono_ms() + timeout;
		char msg[DCS_MSG_MAX];

		printf("'%s' request sent, waiting until it is recognized by all nodes\n",
		       pause ? "pause" : "resume");
		fflush(stdout);
		for (;;) {
			if (dcs_read_cluster(x->dcs, x->cluster, msg, sizeof(msg)) == 0 &&
			    all_members_paused(x->cluster, pause))
				break;
			if (interrupted || clock_mono_ms() >= end) {
				say_error("not every member saw the cluster %s within %" PRId64
					  " s",
					  word, timeout / 1000);
				return CTL_EXIT_FAILED;
			}
			clock_sleep_ms(500);
		}
	}
	printf("Success: cluster management is %s\n", word);
	return 0;
}

static int cmd_show_config(struct ctl *x)
{
	struct buf out;
	int rc = read_cluster(x);

	if (rc != 0)
		return rc;
	if (!x->cluster->has_config || x->cluster->config_oversized) {
		say_error("cluster \"%s\" has no%s configuration key", x->scope,
			  x->cluster->has_config ? " readable" : "");
		return CTL_EXIT_FAILED;
	}
	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_json_to_yaml(x->cluster->config, &out);
	if (rc == 0)
		fputs(out.data != NULL ? out.data : "", stdout);
	else
		say_error("the configuration key is not valid JSON");
	buf_done(&out);
	return rc == 0 ? 0 : CTL_EXIT_FAILED;
}

/* Reads a whole file ("-" = stdin) into out. */
static int read_file(const char *path, struct buf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (f == NULL) {
		say_error("could not open \"%s\": %s", path, strerror(errno));
		return -errno;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(out, chunk, n) != 0) {
			say_error("\"%s\" is larger than %d bytes", path, CTL_DOC_MAX);
			rc = -EFBIG;
			break;
		}
	if (f != stdin)
		fclose(f);
	if (rc == 0 && out->data == NULL)
		rc = buf_puts(out, "");
	return rc;
}

/* Lets the operator edit yaml in $EDITOR; writes the edited text into out. */
static int run_editor(const char *yaml, struct buf *out)
{
	char path[] = "/tmp/gsctl-config-XXXXXX.yaml";
	const char *editor = getenv("EDITOR");
	char cmd[EDITOR_CMD_MAX];
	int fd, status, rc;
	size_t len = strlen(yaml);

	if (editor == NULL || editor[0] == '\0')
		editor = getenv("VISUAL");
	if (editor == NULL || editor[0] == '\0')
		editor = "vi";
	fd = mkstemps(path, 5);
	if (fd < 0) {
		say_error("could not create a temporary file: %s", strerror(errno));
		return -errno;
	}
	if (write(fd, yaml, len) != (ssize_t)len) {
		say_error("could not write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	if (buf_format(cmd, sizeof(cmd), "%s \"$1\"", editor) != 0) {
		unlink(path);
		say_error("$EDITOR is too long");
		return -E2BIG;
	}
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		unlink(path);
		say_error("could not run the editor: %s", strerror(errno));
		return -EIO;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(path);
		say_error("the editor (%s) failed (status %d): nothing changed", editor,
			  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	rc = read_file(path, out);
	unlink(path);
	return rc;
}

static int cmd_edit_config(struct ctl *x)
{
	struct buf next, tmp, old_yaml, new_yaml, diff;
	char err[512], msg[DCS_MSG_MAX];
	const char *old_json;
	struct cfg_dynamic dyn;
	int rc = read_cluster(x), result = CTL_EXIT_FAILED;
	int64_t rev;

	if (rc != 0)
		return rc;
	if (x->cluster->has_config && (x->cluster->config_oversized || !x->cluster->config_valid)) {
		say_error("the configuration key of \"%s\" is not a readable JSON object",
			  x->scope);
		return CTL_EXIT_FAILED;
	}
	old_json = x->cluster->has_config ? x->cluster->config : "{}";
	rev = x->cluster->has_config ? x->cluster->config_mod_revision : DCS_CAS_ABSENT;
	buf_init(&next, CTL_DOC_MAX);
	buf_init(&tmp, CTL_DOC_MAX);
	buf_init(&old_yaml, CTL_DOC_MAX);
	buf_init(&new_yaml, CTL_DOC_MAX);
	buf_init(&diff, CTL_DOC_MAX);
	if (ctl_json_to_yaml(old_json, &old_yaml) != 0) {
		say_error("the configuration key is not valid JSON");
		goto out;
	}
	if (x->args.replace_file[0] != '\0' || x->args.apply_file[0] != '\0') {
		const char *file =
			x->args.replace_file[0] ? x->args.replace_file : x->args.apply_file;

		if (read_file(file, &tmp) != 0)
			goto out;
		if (ctl_yaml_to_json(tmp.data, tmp.len, &next, err, sizeof(err)) != 0) {
			say_error("%s: %s", file, err);
			goto out;
		}
		if (next.data[0] != '{') {
			say_error("%s: the document is not a mapping of keys to values", file);
			goto out;
		}
		if (x->args.apply_file[0] != '\0') {
			buf_reset(&tmp);
			if (ctl_config_merge(old_json, next.data, &tmp, err, sizeof(err)) != 0) {
				say_error("%s", err);
				goto out;
			}
			buf_reset(&next);
			buf_puts(&next, tmp.data);
		}
	} else if (x->args.set_count == 0) {
		const char *ed = getenv("EDITOR") != NULL ? getenv("EDITOR") : getenv("VISUAL");

		if ((ed == NULL || ed[0] == '\0') && !isatty(STDIN_FILENO)) {
			say_error("edit-config without --set, --pg, --apply or --replace opens an "
				  "editor, but stdin is not a terminal and $EDITOR is not set");
			result = CTL_EXIT_NO_TERMINAL;
			goto out;
		}
		if (run_editor(old_yaml.data, &tmp) != 0)
			goto out;
		if (ctl_yaml_to_json(tmp.data, tmp.len, &next, err, sizeof(err)) != 0) {
			say_error("the edited configuration is not valid YAML: %s", err);
			goto out;
		}
		if (next.data[0] != '{') {
			say_error("the edited configuration is not a mapping of keys to values");
			goto out;
		}
	} else {
		buf_puts(&next, old_json);
	}
	if (x->args.set_count > 0) {
		buf_reset(&tmp);
		if (ctl_config_set(next.data, (const char(*)[CTL_SET_MAX])x->args.sets,
				   x->args.set_count, &tmp, err, sizeof(err)) != 0) {
			say_error("%s", err);
			goto out;
		}
		buf_reset(&next);
		buf_puts(&next, tmp.data);
	}
	if (next.overflow) {
		say_error("the new configuration is larger than %d bytes", CTL_DOC_MAX);
		goto out;
	}
	if (cfg_dynamic_parse(next.data, next.len, &dyn, err, sizeof(err)) != 0) {
		say_error("the new configuration is not valid, nothing was written: %s", err);
		goto out;
	}
	if (ctl_json_to_yaml(next.data, &new_yaml) != 0 ||
	    ctl_diff(old_yaml.data, new_yaml.data, "", "", &diff) != 0) {
		say_error("could not compare the configurations");
		goto out;
	}
	if (diff.len == 0) {
		printf("Not changed\n");
		result = 0;
		goto out;
	}
	if (!x->args.quiet)
		fputs(diff.data, stdout);
	fflush(stdout);
	rc = confirm(x, "Apply these changes?");
	if (rc != 0) {
		result = rc;
		goto out;
	}
	rc = dcs_cas_config(x->dcs, next.data, rev, NULL, msg, sizeof(msg));
	if (rc == DCS_ERR_CONFLICT) {
		say_error("the configuration changed in etcd after gsctl read it (a concurrent "
			  "edit): nothing was written, run edit-config again");
		result = CTL_EXIT_FAILED;
	} else if (rc != 0) {
		say_error("could not write the configuration to etcd: %s: %s", dcs_strerror(rc),
			  msg);
		result = CTL_EXIT_DCS;
	} else {
		printf("Configuration changed\n");
		result = 0;
	}
out:
	buf_done(&next);
	buf_done(&tmp);
	buf_done(&old_yaml);
	buf_done(&new_yaml);
	buf_done(&diff);
	return result;
}

static int cmd_history(struct ctl *x)
{
	struct buf out;
	int rc = read_cluster(x);

	if (rc != 0)
		return rc;
	buf_init(&out, CTL_DOC_MAX);
	rc = ctl_render_history(x->cluster->has_history && !x->cluster->history_oversized
					? x->cluster->history
					: "[]",
				x->args.format, &out);
	if (rc == 0)
		fputs(out.data != NULL ? out.data : "", stdout);
	else
		say_error("the history key is not a list of timeline switches");
	buf_done(&out);
	return rc == 0 ? 0 : CTL_EXIT_FAILED;
}

static int cmd_remove(struct ctl *x)
{
	char a[ANSWER_MAX], q[CTL_NAME_MAX + 128], msg[DCS_MSG_MAX];
	int rc;

	if (x->args.cluster[0] == '\0') {
		say_error("remove needs the cluster name: gsctl remove CLUSTER");
		return CTL_EXIT_USAGE;
	}
	rc = read_cluster(x);
	if (rc != 0)
		return rc;
	print_list(x, x->args.format, false);
	if (!x->args.force) {
		rc = ask(x, "Please confirm the cluster name to remove", NULL, a, sizeof(a));
		if (rc != 0)
			return rc;
		if (strcmp(a, x->scope) != 0) {
			say_error("Cluster names specified do not match");
			return CTL_EXIT_FAILED;
		}
		snprintf(q, sizeof(q),
			 "You are about to remove all information in DCS for %s, please type: "
			 "\"Yes I am aware\"",
			 x->scope);
		rc = ask(x, q, NULL, a, sizeof(a));
		if (rc != 0)
			return rc;
		if (strcmp(a, "Yes I am aware") != 0) {
			say_error("You did not exactly type \"Yes I am aware\"");
			return CTL_EXIT_FAILED;
		}
		if (x->view->leader[0] != '\0') {
			rc = ask(
				x,
				"This cluster currently is healthy. Please specify the leader name "
				"to continue",
				NULL, a, sizeof(a));
			if (rc != 0)
				return rc;
			if (strcmp(a, x->view->leader) != 0) {
				say_error("You did not specify the current leader of the cluster");
				return CTL_EXIT_FAILED;
			}
		}
	}
	rc = dcs_delete_cluster(x->dcs, msg, sizeof(msg));
	if (rc != 0) {
		say_error("could not remove cluster \"%s\" from etcd: %s: %s", x->scope,
			  dcs_strerror(rc), msg);
		return CTL_EXIT_DCS;
	}
	printf("Removed cluster \"%s\" from etcd (%s)\n", x->scope, dcs_client_prefix(x->dcs));
	return 0;
}

static int cmd_version(struct ctl *x, bool with_members)
{
	int rc;

	printf("gsctl version %s\n", GSHA_VERSION);
	if (!with_members)
		return 0;
	rc = read_cluster(x);
	if (rc != 0)
		return rc;
	printf("\n");
	for (int i = 0; i < x->view->count; i++) {
		const struct ctl_row *m = &x->view->rows[i];
		struct reply *r;
		cJSON *doc = NULL;
		bool wanted = x->args.member_count == 0;

		for (int k = 0; k < x->args.member_count; k++)
			if (strcmp(x->args.members[k], m->name) == 0)
				wanted = true;
		if (!wanted)
			continue;
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return CTL_EXIT_FAILED;
		if (member_status(x, m, &doc, r) == 0) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "patroni");
			const cJSON *sv = cJSON_GetObjectItemCaseSensitive(doc, "server_version");
			int v = cJSON_IsNumber(sv) ? sv->valueint : 0;

			printf("%s: gsha %s PostgreSQL %d.%d\n", m->name, json_str(p, "version"),
			       v / 10000, v % 10000);
		} else {
			printf("%s: failed to get version: %s\n", m->name,
			       r->err[0] ? r->err : "no status document");
		}
		cJSON_Delete(doc);
		free(r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl x;
	char err[512];
	int rc;

	memset(&x, 0, sizeof(x));
	if (ctl_parse_args(argc, argv, &x.args, err, sizeof(err)) != 0) {
		say_error("%s", err);
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = load_config(&x);
	if (rc != 0)
		goto out;
	if (buf_copy(x.scope, sizeof(x.scope),
		     x.args.cluster[0] != '\0' ? x.args.cluster : x.cfg->scope) != 0 ||
	    x.scope[0] == '\0') {
		say_error("no cluster name: give it as an argument or set scope in the "
			  "configuration");
		rc = x.scope[0] == '\0' ? CTL_EXIT_USAGE : CTL_EXIT_CONFIG;
		goto out;
	}
	x.cluster = calloc(1, sizeof(*x.cluster));
	x.view = calloc(1, sizeof(*x.view));
	if (x.cluster == NULL || x.view == NULL) {
		say_error("out of memory");
		rc = CTL_EXIT_FAILED;
		goto out;
	}
	rc = connect_dcs(&x);
	if (rc != 0)
		goto out;
	setup_http(&x);
	switch (x.args.command) {
	case CTL_CMD_LIST:
		rc = cmd_list(&x, false);
		break;
	case CTL_CMD_TOPOLOGY:
		rc = cmd_list(&x, true);
		break;
	case CTL_CMD_SWITCHOVER:
		rc = cmd_switchover(&x, false);
		break;
	case CTL_CMD_FAILOVER:
		rc = cmd_switchover(&x, true);
		break;
	case CTL_CMD_REINIT:
		rc = cmd_reinit(&x);
		break;
	case CTL_CMD_RESTART:
		rc = cmd_restart_reload(&x, true);
		break;
	case CTL_CMD_RELOAD:
		rc = cmd_restart_reload(&x, false);
		break;
	case CTL_CMD_PAUSE:
		rc = cmd_pause(&x, true);
		break;
	case CTL_CMD_RESUME:
		rc = cmd_pause(&x, false);
		break;
	case CTL_CMD_SHOW_CONFIG:
		rc = cmd_show_config(&x);
		break;
	case CTL_CMD_EDIT_CONFIG:
		rc = cmd_edit_config(&x);
		break;
	case CTL_CMD_HISTORY:
		rc = cmd_history(&x);
		break;
	case CTL_CMD_REMOVE:
		rc = cmd_remove(&x);
		break;
	case CTL_CMD_VERSION:
		rc = cmd_version(&x, true);
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
	curl_global_cleanup();
	fflush(stdout);
	return rc;
}
