/*
 * cfg_validate.c - validation across keys, once the file and the environment are read: required
 * keys, the etcd endpoints, the timing rule, TLS and authentication pairs, replica and bootstrap
 * methods, and the engine (written, or detected from what bin_dir holds).
 */
#include "cfg.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cfg_internal.h"

/* True when path, or a key written as its alias ("etcd" for "etcd3"), was seen. */
static bool seen_path(const struct cfg_reader *r, const char *path, int *line, int *col)
{
	const struct cfg_key *k = cfg_table_find(cfg_keys, path);

	if (k != NULL && cfg_find_seen(r, k, line, col))
		return true;
	for (k = cfg_keys; k->path != NULL; k++) {
		if (k->alias_of && strcmp(k->alias_of, path) == 0 && cfg_find_seen(r, k, line, col))
			return true;
	}
	return false;
}

/* Where path was written or else its nearest written section; 0:0 when nowhere. */
static void position_of(const struct cfg_reader *r, const char *path, int *line, int *col)
{
	char parent[CFG_KEYPATH_MAX];
	char *dot;

	*line = 0;
	*col = 0;
	if (buf_copy(parent, sizeof(parent), path) != 0 || seen_path(r, parent, line, col))
		return;
	while ((dot = strrchr(parent, '.')) != NULL) {
		*dot = '\0';
		if (seen_path(r, parent, line, col))
			return;
	}
}

static const struct cfg_key *dyn_key(const char *path)
{
	return cfg_table_find(cfg_dynamic_keys, path);
}

/* Errors of the timing rule, at the position of whichever of the three keys was written. */
static void check_timing(struct cfg_reader *r, const struct cfg_dynamic *d)
{
	char err[CFG_DIAG_TEXT_MAX];
	int line = 0, col = 0;

	if (cfg_dynamic_check(d, err, sizeof(err)) == 0)
		return;
	if (!cfg_find_seen(r, dyn_key("ttl"), &line, &col) &&
	    !cfg_find_seen(r, dyn_key("loop_wait"), &line, &col))
		(void)cfg_find_seen(r, dyn_key("retry_timeout"), &line, &col);
	cfg_rec_error(r, line, col, "bootstrap.dcs.ttl", "%s", err);
}

/* Patroni's watchdog timing on bootstrap.dcs's values (the agent checks the live ones again,
 * with the keepalive schedule, when it activates the device: src/agent/watchdog.c): the timeout
 * ttl - safety_margin (ttl / 2 for -1) is whole seconds, at least 1, and no shorter than
 * loop_wait (Patroni's timing_slack), and it must leave a moment before the lease ends. A setting
 * that cannot hold is refused with "required" and warned about with "automatic" (which then runs
 * without the watchdog) where the device exists: without one, "automatic" runs without it anyway
 * and says so once when it would activate it. */
static void check_watchdog(struct cfg_reader *r, const struct cfg *c)
{
	const struct cfg_dynamic *d = &c->bootstrap.dcs;
	int64_t sm = c->watchdog.safety_margin_ms;
	int64_t t = sm == -1 ? d->ttl_ms / 2 : d->ttl_ms - sm;
	int64_t whole = t >= 1000 ? t / 1000 * 1000 : 0;
	char why[CFG_DIAG_TEXT_MAX];
	int line = 0, col = 0;

	if (c->watchdog.mode == CFG_WATCHDOG_OFF ||
	    (c->watchdog.mode == CFG_WATCHDOG_AUTOMATIC && access(c->watchdog.device, F_OK) != 0))
		return;
	if (whole < 1000)
		snprintf(why, sizeof(why),
			 "the watchdog timeout ttl - safety_margin is %lld ms, under the device's "
			 "1 s: lower watchdog.safety_margin (or -1 for ttl / 2)",
			 (long long)t);
	else if (whole < d->loop_wait_ms)
		snprintf(
			why, sizeof(why),
			"the watchdog timeout %lld s is shorter than loop_wait (%lld ms): it would "
			"reset a healthy node (Patroni's timing_slack)",
			(long long)(whole / 1000), (long long)d->loop_wait_ms);
	else if (d->ttl_ms - whole < 200)
		snprintf(why, sizeof(why),
			 "the watchdog timeout %lld s leaves no time before the lease ends: raise "
			 "watchdog.safety_margin",
			 (long long)(whole / 1000));
	else
		return;
	position_of(r, "watchdog.safety_margin", &line, &col);
	if (c->watchdog.mode == CFG_WATCHDOG_REQUIRED)
		cfg_rec_error(r, line, col, "watchdog.safety_margin", "%s", why);
	else
		cfg_rec_warning(r, line, col, "watchdog.safety_margin",
				"%s; running without the watchdog", why);
}

static bool list_has(const struct cfg_list *l, const char *s)
{
	for (int i = 0; i < l->count; i++) {
		if (strcmp(l->items[i], s) == 0)
			return true;
	}
	return false;
}

static bool is_executable(const char *dir, const char *prog)
{
	char path[CFG_PATH_MAX + 32];

	if (buf_format(path, sizeof(path), "%s/%s", dir, prog) != 0)
		return false;
	return access(path, X_OK) == 0;
}

void cfg_validate(struct cfg_reader *r, struct cfg *c, bool have_file)
{
	int line, col;
	const char *how = have_file ? "set it in the file or with" : "set";

	for (const struct cfg_key *k = cfg_keys; k->path != NULL; k++) {
		if (!(k->flags & CFG_F_REQUIRED) || CFG_FIELD(c, k)[0] != '\0' ||
		    cfg_find_seen(r, k, NULL, NULL))
			continue;
		position_of(r, k->path, &line, &col);
		cfg_rec_error(r, line, col, k->path, "is required: %s; %s PATRONI_%s", k->hint, how,
			      k->env);
	}

	if (c->etcd3.hosts.count == 0 && c->etcd3.url[0] == '\0' && c->etcd3.proxy[0] == '\0') {
		static const char *const others[] = { "consul", "zookeeper", "exhibitor",
						      "kubernetes", "raft" };
		const char *other = NULL;

		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			if (cfg_find_seen(r, cfg_table_find(cfg_keys, others[i]), NULL, NULL))
				other = others[i];
		}
		position_of(r, "etcd3", &line, &col);
		if (other != NULL)
			cfg_rec_error(
				r, line, col, "etcd3",
				"gsha keeps its state in etcd v3 only, not in %s: add an etcd3 "
				"section with hosts",
				other);
		else
			cfg_rec_error(r, line, col, "etcd3",
				      "no etcd endpoint: set etcd3.hosts (host:port list) or "
				      "PATRONI_ETCD3_HOSTS");
	}
	if (cfg_find_seen(r, cfg_table_find(cfg_keys, "etcd3.host"), NULL, NULL) &&
	    cfg_find_seen(r, cfg_table_find(cfg_keys, "etcd3.hosts"), &line, &col))
		cfg_rec_warning(
			r, line, col, "etcd3.hosts",
			"both host and hosts are given: the one read last is used, keep one");
	if (cfg_find_seen(r, cfg_table_find(cfg_keys, "etcd"), NULL, NULL) &&
	    cfg_find_seen(r, cfg_table_find(cfg_keys, "etcd3"), &line, &col))
		cfg_rec_warning(
			r, line, col, "etcd3",
			"both etcd and etcd3 sections are given: gsha reads both as etcd3 (the "
			"later wins), keep one");
	for (int i = 0; i < c->etcd3.hosts.count; i++) {
		char why[CFG_DIAG_TEXT_MAX];
		char *h = c->etcd3.hosts.items[i];
		size_t n = strlen(h);

		/* Patroni adds etcd's port (etcd3.port, default 2379) to a bare host. */
		if (n > 0 && (strchr(h, ':') == NULL || h[n - 1] == ']') &&
		    snprintf(h + n, CFG_LIST_ITEM_MAX - n, ":%d", c->etcd3.port) >=
			    (int)(CFG_LIST_ITEM_MAX - n))
			h[n] = '\0'; /* no room: the check below reports the missing port */
		if (cfg_check_address(h, false, why, sizeof(why), NULL) != 0) {
			position_of(r, "etcd3.hosts", &line, &col);
			if (line == 0)
				position_of(r, "etcd3.host", &line, &col);
			cfg_rec_error(r, line, col, "etcd3.hosts", "%s", why);
		}
	}
	if (c->etcd3.url[0] != '\0' && strncmp(c->etcd3.url, "http://", 7) != 0 &&
	    strncmp(c->etcd3.url, "https://", 8) != 0) {
		position_of(r, "etcd3.url", &line, &col);
		cfg_rec_error(r, line, col, "etcd3.url",
			      "\"%s\" must start with http:// or https://", c->etcd3.url);
	}

	check_timing(r, &c->bootstrap.dcs);

	if (c->restapi.verify_client != CFG_VERIFY_CLIENT_NONE && c->restapi.certfile[0] == '\0') {
		position_of(r, "restapi.verify_client", &line, &col);
		cfg_rec_error(
			r, line, col, "restapi.verify_client",
			"client certificates need HTTPS: set restapi.certfile and restapi.keyfile");
	}
	if (c->restapi.keyfile[0] != '\0' && c->restapi.certfile[0] == '\0') {
		position_of(r, "restapi.keyfile", &line, &col);
		cfg_rec_error(r, line, col, "restapi.keyfile",
			      "a key without a certificate: set restapi.certfile too");
	}
	if ((c->restapi.username[0] == '\0') != (c->restapi.password[0] == '\0')) {
		position_of(r, "restapi.authentication", &line, &col);
		cfg_rec_error(r, line, col, "restapi.authentication",
			      "give both username and password, or neither");
	}
	if (c->tags.nofailover &&
	    cfg_find_seen(r, cfg_table_find(cfg_keys, "tags.failover_priority"), &line, &col) &&
	    c->tags.failover_priority > 0)
		cfg_rec_warning(
			r, line, col, "tags.failover_priority",
			"nofailover is true, so failover_priority %d has no effect: give only "
			"one of them",
			c->tags.failover_priority);

	/* postgresql.<name> must be named in create_replica_methods (postgresql's or
	 * standby_cluster's), bootstrap.<name> in
	 * bootstrap.method; anything else is a typo of a known key. */
	for (int i = 0; i < r->pending_count; i++) {
		const struct cfg_node *n = r->pending[i].node;
		const char *prefix = r->pending[i].bootstrap ? "bootstrap" : "postgresql";
		char shown[CFG_KEYPATH_MAX];

		if (buf_format(shown, sizeof(shown), "%s.%s", prefix, n->key) != 0)
			continue;
		if (r->pending[i].bootstrap && strcmp(n->key, c->bootstrap.method) == 0) {
			cfg_read_bootstrap_method(r, n, c, shown);
			continue;
		}
		/* standby_cluster's create_replica_methods names sections of postgresql too */
		if (!r->pending[i].bootstrap &&
		    (list_has(&c->postgresql.create_replica_methods, n->key) ||
		     list_has(&c->bootstrap.dcs.standby_cluster.create_replica_methods, n->key))) {
			cfg_read_replica_method(r, n, c, shown);
			continue;
		}
		cfg_rec_unknown(
			r, cfg_keys, prefix, prefix, n, shown,
			r->pending[i].bootstrap
				? "name it in bootstrap.method or remove it"
				: "name it in postgresql.create_replica_methods or remove it");
	}
	/* Patroni runs initdb when the method has no section with a command: say so. */
	if (c->bootstrap.method[0] != '\0' && strcmp(c->bootstrap.method, "initdb") != 0 &&
	    !c->bootstrap.has_method_def) {
		position_of(r, "bootstrap.method", &line, &col);
		cfg_rec_warning(r, line, col, "bootstrap.method",
				"there is no bootstrap.%s section with a command, so a new cluster "
				"is made with initdb (as Patroni does)",
				c->bootstrap.method);
	}

	if ((c->log.fields.count > 0 || c->log.static_fields.count > 0) &&
	    c->log.format != LOG_FORMAT_JSON) {
		const char *key = c->log.fields.count > 0 ? "log.format" : "log.static_fields";

		position_of(r, key, &line, &col);
		cfg_rec_warning(
			r, line, col, key,
			"applies to JSON logs only (log.type: json), ignoring for text logs");
	}

	check_watchdog(r, c);

	c->postgresql.use_pg_rewind_set =
		cfg_find_seen(r, cfg_table_find(cfg_keys, "postgresql.use_pg_rewind"), NULL, NULL);

	/* The engine: written, or what bin_dir holds. */
	const struct cfg_key *ek = cfg_table_find(cfg_keys, "postgresql.engine");

	c->postgresql.engine_explicit = cfg_find_seen(r, ek, &line, &col);
	if (!c->postgresql.engine_explicit) {
		c->postgresql.engine =
			c->postgresql.bin_dir[0] != '\0' &&
					is_executable(c->postgresql.bin_dir, "gs_ctl")
				? CFG_ENGINE_OPENGAUSS
				: CFG_ENGINE_POSTGRESQL;
	} else if (c->postgresql.bin_dir[0] != '\0') {
		const char *want =
			c->postgresql.engine == CFG_ENGINE_OPENGAUSS ? "gs_ctl" : "pg_ctl";

		if (!is_executable(c->postgresql.bin_dir, want))
			cfg_rec_warning(
				r, line, col, "postgresql.engine",
				"engine is %s but \"%s\" has no %s: check postgresql.bin_dir",
				cfg_engine_name(c->postgresql.engine), c->postgresql.bin_dir, want);
	}
	/* The openGauss driver copies with gs_ctl build alone (db_new refuses the rest too). */
	if (c->postgresql.engine == CFG_ENGINE_OPENGAUSS) {
		for (int i = 0; i < c->postgresql.create_replica_methods.count; i++) {
			if (strcmp(c->postgresql.create_replica_methods.items[i], "basebackup") ==
			    0)
				continue;
			position_of(r, "postgresql.create_replica_methods", &line, &col);
			cfg_rec_error(r, line, col, "postgresql.create_replica_methods",
				      "custom replica methods are implemented for PostgreSQL only; "
				      "openGauss replicas are built with gs_ctl build");
			break;
		}
		if (c->bootstrap.has_method_def && strcmp(c->bootstrap.method, "initdb") != 0) {
			position_of(r, "bootstrap.method", &line, &col);
			cfg_rec_error(
				r, line, col, "bootstrap.method",
				"custom bootstrap methods are implemented for PostgreSQL only");
		}
		if (c->bootstrap.post_bootstrap[0] != '\0' ||
		    c->postgresql.recovery_conf.count > 0) {
			const char *key = c->bootstrap.post_bootstrap[0] != '\0'
						  ? "bootstrap.post_bootstrap"
						  : "postgresql.recovery_conf";

			position_of(r, key, &line, &col);
			cfg_rec_error(r, line, col, key, "implemented for PostgreSQL only");
		}
		if (cfg_standby_cluster(&c->bootstrap.dcs)) {
			position_of(r, "bootstrap.dcs.standby_cluster", &line, &col);
			cfg_rec_error(r, line, col, "bootstrap.dcs.standby_cluster",
				      "standby clusters are implemented for PostgreSQL only");
		}
	}
	if (c->postgresql.listen[0] != '\0') {
		char why[CFG_DIAG_TEXT_MAX];

		(void)cfg_check_address(c->postgresql.listen, true, why, sizeof(why),
					&c->postgresql.port);
	}
}
