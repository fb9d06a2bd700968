/*
 * dcs-client - a test helper that drives the dcs module from bash integration tests.
 *
 *   dcs-client [--endpoints=H1,H2] [--scope=S] [--namespace=N] [--name=M] [--ttl-ms=T]
 *              [--retry-ms=R] [--user=U] [--password=P] [--cacert=F] [--cert=F] [--key=F]
 *              [--protocol=http|https] [--role=R] [--tag=NAME=TEXT]... [--api-url=URL]
 *              [--debug=on]
 *              COMMAND [ARGS]
 *
 * Commands: connect | read | take-leader | renew-leader | release-leader | touch-member [JSON] |
 *   hold SECONDS [JSON] | member SECONDS | cas-config JSON REV | write-failover JSON REV |
 *   clear-failover REV | write-status JSON | write-initialize SYSID | write-history JSON |
 *   watch-wake ROUNDS | watch-log SECONDS | delete-cluster | cas-term TERM REV
 * --role=R sets the role in the member document take-leader and hold write (default replica);
 * each --tag=NAME=TEXT adds a string tag to it (written through dcs_tags_add, as the agent's);
 * --api-url=URL sets its api_url (default http://127.0.0.1:8008/patroni).
 * REV is a number, "absent" or "any". Exit status: 0 on success, 10 + -dcs_error otherwise
 * (11 transient, 12 conflict, 13 lease not found, 14 permission, 15 auth, 16 invalid
 * response), 2 on usage errors. Every command prints "elapsed_ms=N" on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "curl_api.h"
#include "dcs.h"
#include "log.h"
#include "num.h"

#define EXIT_USAGE 2
#define EXIT_DCS_BASE 10
/* How long watch-wake waits for one wake before calling the round a miss. */
#define WAKE_WAIT_MS 2000

static volatile sig_atomic_t stop_requested;

/* The role --role= asked for ("replica" by default), for member documents. */
static char doc_role[DCS_WORD_MAX] = "replica";
/* The api_url --api-url= asked for. */
static char doc_api_url[DCS_URL_MAX] = "http://127.0.0.1:8008/patroni";
/* The tags --tag= asked for. */
static struct dcs_tags doc_tags;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int usage(const char *why)
{
	fprintf(stderr, "dcs-client: %s (see the comment at the top of dcs-client.c)\n", why);
	return EXIT_USAGE;
}

static int result(const char *what, int rc, const char *msg)
{
	if (rc == DCS_OK)
		return 0;
	fprintf(stderr, "dcs-client: %s: %s (%s): %s\n", what, dcs_strerror(rc), dcs_error_name(rc),
		msg);
	return EXIT_DCS_BASE - rc;
}

static int parse_rev(const char *s, int64_t *rev)
{
	if (strcmp(s, "absent") == 0) {
		*rev = DCS_CAS_ABSENT;
		return 0;
	}
	if (strcmp(s, "any") == 0) {
		*rev = DCS_CAS_ANY;
		return 0;
	}
	return num_parse_i64(s, 1, INT64_MAX, rev);
}

static int set_opt(struct dcs_options *o, const char *arg)
{
	const char *v = strchr(arg, '=');
	int64_t n;

	if (v == NULL)
		return -EINVAL;
	v++;
	if (strncmp(arg, "--endpoints=", 12) == 0) {
		char list[DCS_ENDPOINTS_MAX * DCS_URL_MAX];
		char *save = NULL, *tok;
		if (buf_copy(list, sizeof(list), v) < 0)
			return -EINVAL;
		o->endpoint_count = 0;
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (o->endpoint_count >= DCS_ENDPOINTS_MAX ||
			    buf_copy(o->endpoints[o->endpoint_count], DCS_URL_MAX, tok) < 0)
				return -EINVAL;
			o->endpoint_count++;
		}
		return 0;
	}
	if (strncmp(arg, "--protocol=", 11) == 0)
		return buf_copy(o->protocol, sizeof(o->protocol), v);
	if (strncmp(arg, "--scope=", 8) == 0)
		return buf_copy(o->scope, sizeof(o->scope), v);
	if (strncmp(arg, "--namespace=", 12) == 0)
		return buf_copy(o->namespace, sizeof(o->namespace), v);
	if (strncmp(arg, "--name=", 7) == 0)
		return buf_copy(o->name, sizeof(o->name), v);
	if (strncmp(arg, "--user=", 7) == 0)
		return buf_copy(o->username, sizeof(o->username), v);
	if (strncmp(arg, "--password=", 11) == 0)
		return buf_copy(o->password, sizeof(o->password), v);
	if (strncmp(arg, "--cacert=", 9) == 0)
		return buf_copy(o->cacert, sizeof(o->cacert), v);
	if (strncmp(arg, "--cert=", 7) == 0)
		return buf_copy(o->cert, sizeof(o->cert), v);
	if (strcmp(arg, "--debug=on") == 0) {
		log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT, "dcs-client");
		return 0;
	}
	if (strncmp(arg, "--role=", 7) == 0)
		return buf_copy(doc_role, sizeof(doc_role), v);
	if (strncmp(arg, "--api-url=", 10) == 0)
		return buf_copy(doc_api_url, sizeof(doc_api_url), v);
	if (strncmp(arg, "--tag=", 6) == 0) {
		char name[DCS_TAG_NAME_MAX];
		const char *eq = strchr(v, '=');
		if (eq == NULL || (size_t)(eq - v) >= sizeof(name))
			return -EINVAL;
		memcpy(name, v, (size_t)(eq - v));
		name[eq - v] = '\0';
		return dcs_tags_add(&doc_tags, name, DCS_TAG_STRING, eq + 1) == DCS_OK ? 0
										       : -EINVAL;
	}
	if (strncmp(arg, "--key=", 6) == 0)
		return buf_copy(o->key, sizeof(o->key), v);
	if (strncmp(arg, "--ttl-ms=", 9) == 0 && num_parse_i64(v, 1000, 3600000, &n) == 0) {
		o->ttl_ms = n;
		return 0;
	}
	if (strncmp(arg, "--retry-ms=", 11) == 0 && num_parse_i64(v, 1000, 3600000, &n) == 0) {
		o->retry_timeout_ms = n;
		return 0;
	}
	return -EINVAL;
}

static void print_cluster(const struct dcs_cluster *c)
{
	printf("revision=%" PRId64 "\n", c->revision);
	printf("leader=%s\n", c->has_leader ? c->leader : "");
	printf("leader_lease=%" PRIu64 "\n", c->leader_lease);
	printf("leader_mod_revision=%" PRId64 "\n", c->leader_mod_revision);
	printf("initialize=%s\n", c->has_initialize ? c->initialize : "");
	printf("config=%s\n", c->config);
	printf("config_mod_revision=%" PRId64 "\n", c->config_mod_revision);
	printf("failover=%s %s %s\n", c->failover_leader, c->failover_member,
	       c->failover_scheduled_at);
	printf("failover_mod_revision=%" PRId64 "\n", c->failover_mod_revision);
	printf("optime=%" PRId64 "\n", c->optime_lsn);
	printf("term=%" PRId64 " valid=%d\n", c->term, c->term_valid);
	printf("term_mod_revision=%" PRId64 "\n", c->term_mod_revision);
	printf("rejected=%d %s\n", c->rejected_count, c->rejected);
	printf("members=%d\n", c->member_count);
	for (int i = 0; i < c->member_count; i++)
		printf("member=%s role=%s state=%s api_url=%s lease=%" PRIu64 "\n",
		       c->members[i].name, c->members[i].role, c->members[i].state,
		       c->members[i].api_url, c->members[i].lease);
}

/* A member document as the agent writes it, built by dcs_member_doc_build. */
static const char *default_doc(struct dcs_client *c, const struct dcs_options *o, char *out,
			       size_t cap)
{
	static struct dcs_member_doc m = { .timeline = 1, .has_xlog_location = true };
	char msg[DCS_MSG_MAX];

	if (o->name[0] == '\0' ||
	    buf_copy(m.conn_url, sizeof(m.conn_url), "postgres://127.0.0.1:5432/postgres") < 0 ||
	    buf_copy(m.api_url, sizeof(m.api_url), doc_api_url) < 0 ||
	    buf_copy(m.state, sizeof(m.state), "running") < 0 ||
	    buf_copy(m.role, sizeof(m.role), doc_role) < 0 ||
	    buf_copy(m.version, sizeof(m.version), GSHA_VERSION) < 0 ||
	    (m.tags = doc_tags, dcs_member_doc_build(c, &m, out, cap, msg, sizeof(msg))) !=
		    DCS_OK) {
		fprintf(stderr, "dcs-client: could not build the member document: %s\n", msg);
		return NULL;
	}
	return out;
}

/* Takes the lock and keeps it like the HA loop would: every ttl/3 a read of the cluster and a
 * renewal, until seconds pass (0: until a signal). Read or renewal failures are printed and
 * retried; losing the key to someone else ends the command with a conflict. */
static int cmd_hold(struct dcs_client *c, const struct dcs_options *o, int seconds, const char *doc)
{
	struct dcs_cluster *view = malloc(sizeof(*view));
	char msg[DCS_MSG_MAX] = "";
	int64_t end = clock_mono_ms() + (int64_t)seconds * 1000;
	int rc = view ? dcs_touch_member(c, doc, msg, sizeof(msg)) : DCS_ERR_NO_MEMORY;

	if (rc != DCS_OK)
		goto out_free;
	rc = dcs_take_leader(c, msg, sizeof(msg));
	if (rc != DCS_OK)
		goto out_free;
	printf("holding lease=%" PRIu64 "\n", dcs_lease_id(c));
	fflush(stdout);
	while (!stop_requested && (seconds == 0 || clock_mono_ms() < end)) {
		clock_sleep_ms(o->ttl_ms / 3);
		rc = dcs_read_cluster(c, view, msg, sizeof(msg));
		if (rc == DCS_OK && view->has_leader && strcmp(view->leader, o->name) != 0) {
			rc = DCS_ERR_CONFLICT;
			snprintf(msg, sizeof(msg), "leader key now names \"%s\"", view->leader);
			goto out_free;
		}
		if (rc != DCS_OK)
			fprintf(stderr, "dcs-client: read: %s: %s\n", dcs_error_name(rc), msg);
		rc = dcs_renew_leader(c, msg, sizeof(msg));
		if (rc == DCS_ERR_CONFLICT)
			goto out_free;
		if (rc != DCS_OK)
			fprintf(stderr, "dcs-client: renew: %s: %s\n", dcs_error_name(rc), msg);
	}
	rc = DCS_OK;
out_free:
	free(view);
	return result("hold", rc, msg);
}

/* Runs like a replica's HA loop: every ttl/3 a read and a touch of the member key (which keeps
 * the lease alive), until seconds pass. */
static int cmd_member(struct dcs_client *c, const struct dcs_options *o, int seconds,
		      const char *doc)
{
	struct dcs_cluster *view = malloc(sizeof(*view));
	char msg[DCS_MSG_MAX] = "";
	int64_t end = clock_mono_ms() + (int64_t)seconds * 1000;
	int rc = view ? DCS_OK : DCS_ERR_NO_MEMORY;

	while (rc == DCS_OK && !stop_requested && clock_mono_ms() < end) {
		rc = dcs_read_cluster(c, view, msg, sizeof(msg));
		if (rc == DCS_OK)
			rc = dcs_touch_member(c, doc, msg, sizeof(msg));
		if (rc != DCS_OK) {
			fprintf(stderr, "dcs-client: member cycle: %s: %s\n", dcs_error_name(rc),
				msg);
			rc = DCS_OK;
		}
		printf("cycle lease=%" PRIu64 "\n", dcs_lease_id(c));
		clock_sleep_ms(o->ttl_ms / 3);
	}
	free(view);
	return result("member", rc, msg);
}

/* Starts the watch and prints every wake with its change bits for seconds. */
static int cmd_watch_log(struct dcs_client *c, int seconds)
{
	int64_t end = clock_mono_ms() + (int64_t)seconds * 1000;
	struct dcs_cluster *view = malloc(sizeof(*view));
	char msg[DCS_MSG_MAX] = "";
	int64_t delay_ms = 0;
	const char *delay = getenv("DCS_CLIENT_WATCH_DELAY_MS");
	int rc;

	/* Like the HA loop: read first, and the watch starts from that read's revision. A delay
	 * between the two lets a test compact the history in between. */
	if (delay != NULL && num_parse_i64(delay, 0, 60000, &delay_ms) < 0)
		delay_ms = 0;
	rc = view ? dcs_read_cluster(c, view, msg, sizeof(msg)) : DCS_ERR_NO_MEMORY;
	free(view);
	if (rc == DCS_OK) {
		printf("read\n");
		clock_sleep_ms(delay_ms);
		rc = dcs_watch_start(c, msg, sizeof(msg));
	}
	if (rc != DCS_OK)
		return result("watch-log", rc, msg);
	printf("watching\n");
	while (!stop_requested && clock_mono_ms() < end) {
		unsigned changed = 0;
		if (dcs_wait_for_change(c, 200, &changed) == 1)
			printf("changed=0x%x%s%s%s\n", changed,
			       changed & DCS_CHANGE_STATUS ? " status" : "",
			       changed & DCS_CHANGE_LEADER ? " leader" : "",
			       changed & DCS_CHANGE_RESYNC ? " resync" : "");
	}
	return 0;
}

/* Measures how long after a put returns the watcher wakes, for rounds puts of status. */
static int cmd_watch_wake(struct dcs_client *watcher, const struct dcs_options *o, int rounds)
{
	struct dcs_cluster *view = malloc(sizeof(*view));
	struct dcs_client *writer;
	char msg[DCS_MSG_MAX] = "";
	int rc, woke = 0;

	if (view == NULL)
		return EXIT_USAGE;
	writer = dcs_client_new(o, msg, sizeof(msg));
	if (writer == NULL) {
		free(view);
		return usage(msg);
	}
	rc = dcs_read_cluster(watcher, view, msg, sizeof(msg));
	if (rc == DCS_OK)
		rc = dcs_watch_start(watcher, msg, sizeof(msg));
	if (rc != DCS_OK)
		goto out_free;
	for (int i = 0; i < rounds; i++) {
		char json[64];
		unsigned changed = 0;
		int64_t t0, waited;
		/* Let the stream settle, then drop wakes from earlier rounds or the start. */
		clock_sleep_ms(200);
		(void)dcs_wait_for_change(watcher, 0, &changed);
		changed = 0;
		if (buf_format(json, sizeof(json), "{\"optime\":%d}", i + 1) < 0)
			break;
		rc = dcs_write_status(writer, json, msg, sizeof(msg));
		if (rc != DCS_OK)
			goto out_free;
		t0 = clock_mono_ms();
		if (dcs_wait_for_change(watcher, WAKE_WAIT_MS, &changed) == 1 &&
		    (changed & DCS_CHANGE_STATUS)) {
			waited = clock_mono_ms() - t0;
			printf("wake_ms=%" PRId64 " changed=0x%x\n", waited, changed);
			woke++;
		} else {
			printf("wake_ms=none changed=0x%x\n", changed);
		}
	}
	printf("woke=%d rounds=%d\n", woke, rounds);
out_free:
	dcs_client_free(writer);
	free(view);
	if (rc != DCS_OK)
		return result("watch-wake", rc, msg);
	return woke == rounds ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct dcs_options o = { .endpoint_count = 0 };
	struct dcs_client *c;
	char msg[DCS_MSG_MAX] = "";
	char doc[DCS_MEMBER_DOC_MAX + 1];
	const char *cmd;
	int64_t start = clock_mono_ms(), rev = 0;
	int i, rc = DCS_OK, status = 0;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	o.ttl_ms = 3000;
	o.retry_timeout_ms = 3000;
	if (buf_copy(o.scope, sizeof(o.scope), "batman") < 0)
		return EXIT_USAGE;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++)
		if (set_opt(&o, argv[i]) < 0)
			return usage("bad option");
	if (i >= argc)
		return usage("no command");
	cmd = argv[i++];
	/* A test tool: libcurl's TLS build whatever the options (the agent loads it only when its
	 * configuration asks for TLS: src/agent/agent_tls.c). */
	if (curl_api_use_tls(msg, sizeof(msg)) != 0)
		return usage(msg);
	c = dcs_client_new(&o, msg, sizeof(msg));
	if (c == NULL)
		return usage(msg);
	if (strcmp(cmd, "connect") == 0) {
		char version[DCS_WORD_MAX] = "";
		rc = dcs_connect(c, version, sizeof(version), msg, sizeof(msg));
		if (rc == DCS_OK)
			printf("version=%s\n", version);
		status = result(cmd, rc, msg);
	} else if (strcmp(cmd, "read") == 0) {
		struct dcs_cluster *view = malloc(sizeof(*view));
		rc = view ? dcs_read_cluster(c, view, msg, sizeof(msg)) : DCS_ERR_NO_MEMORY;
		if (rc == DCS_OK)
			print_cluster(view);
		free(view);
		status = result(cmd, rc, msg);
	} else if (strcmp(cmd, "take-leader") == 0) {
		const char *d = default_doc(c, &o, doc, sizeof(doc));
		rc = d ? dcs_touch_member(c, d, msg, sizeof(msg)) : DCS_ERR_INVALID_ARGUMENT;
		if (rc == DCS_OK)
			rc = dcs_take_leader(c, msg, sizeof(msg));
		status = result(cmd, rc, msg);
	} else if (strcmp(cmd, "renew-leader") == 0) {
		status = result(cmd, dcs_renew_leader(c, msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "release-leader") == 0) {
		status = result(cmd, dcs_release_leader(c, msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "touch-member") == 0) {
		const char *d = i < argc ? argv[i] : default_doc(c, &o, doc, sizeof(doc));
		status = d == NULL ? usage("touch-member [JSON] needs --name")
				   : result(cmd, dcs_touch_member(c, d, msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "hold") == 0 && i < argc) {
		int seconds;
		const char *d = i + 1 < argc ? argv[i + 1] : default_doc(c, &o, doc, sizeof(doc));
		if (num_parse_int(argv[i], 0, 86400, &seconds) < 0 || d == NULL)
			status = usage("hold SECONDS [JSON] needs --name");
		else
			status = cmd_hold(c, &o, seconds, d);
	} else if ((strcmp(cmd, "cas-config") == 0 || strcmp(cmd, "write-failover") == 0) &&
		   i + 1 < argc) {
		int64_t new_rev = 0;
		if (parse_rev(argv[i + 1], &rev) < 0)
			return usage("bad REV");
		if (strcmp(cmd, "cas-config") == 0)
			rc = dcs_cas_config(c, argv[i], rev, &new_rev, msg, sizeof(msg));
		else
			rc = dcs_write_failover(c, argv[i], rev, &new_rev, msg, sizeof(msg));
		if (rc == DCS_OK)
			printf("mod_revision=%" PRId64 "\n", new_rev);
		status = result(cmd, rc, msg);
	} else if (strcmp(cmd, "cas-term") == 0 && i + 1 < argc) {
		int64_t term, new_rev = 0;
		if (num_parse_i64(argv[i], 0, INT64_MAX, &term) < 0 ||
		    parse_rev(argv[i + 1], &rev) < 0)
			return usage("bad TERM or REV");
		rc = dcs_cas_term(c, term, rev, &new_rev, msg, sizeof(msg));
		if (rc == DCS_OK)
			printf("mod_revision=%" PRId64 "\n", new_rev);
		status = result(cmd, rc, msg);
	} else if (strcmp(cmd, "clear-failover") == 0 && i < argc) {
		if (parse_rev(argv[i], &rev) < 0)
			return usage("bad REV");
		status = result(cmd, dcs_clear_failover(c, rev, msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "write-initialize") == 0 && i < argc) {
		status = result(cmd, dcs_write_initialize(c, argv[i], msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "write-history") == 0 && i < argc) {
		status = result(cmd, dcs_write_history(c, argv[i], msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "write-status") == 0 && i < argc) {
		status = result(cmd, dcs_write_status(c, argv[i], msg, sizeof(msg)), msg);
	} else if (strcmp(cmd, "watch-wake") == 0 && i < argc) {
		int rounds;
		if (num_parse_int(argv[i], 1, 100, &rounds) < 0)
			status = usage("bad ROUNDS");
		else
			status = cmd_watch_wake(c, &o, rounds);
	} else if (strcmp(cmd, "member") == 0 && i < argc) {
		int seconds;
		const char *d = default_doc(c, &o, doc, sizeof(doc));
		if (num_parse_int(argv[i], 1, 86400, &seconds) < 0 || d == NULL)
			status = usage("member SECONDS needs --name");
		else
			status = cmd_member(c, &o, seconds, d);
	} else if (strcmp(cmd, "watch-log") == 0 && i < argc) {
		int seconds;
		if (num_parse_int(argv[i], 1, 3600, &seconds) < 0)
			status = usage("bad SECONDS");
		else
			status = cmd_watch_log(c, seconds);
	} else if (strcmp(cmd, "delete-cluster") == 0) {
		status = result(cmd, dcs_delete_cluster(c, msg, sizeof(msg)), msg);
	} else {
		status = usage("unknown command or missing arguments");
	}
	dcs_client_free(c);
	fprintf(stderr, "elapsed_ms=%" PRId64 "\n", clock_mono_ms() - start);
	return status;
}
