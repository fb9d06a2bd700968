/*
 * db.c - the engine-neutral half of db.h: names, option checks, the task runner, dispatch.
 */
#include "db.h"

#include "buf.h"
#include "enum_name.h"
#include "err.h"
#include "clock.h"
#include "db_driver.h"
#include "list_copy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A slot name is a member name lower-cased, and must fit a PostgreSQL identifier. */
_Static_assert(MEMBER_NAME_MAX <= DB_NAME_MAX, "slot names derive from member names");

/* Defaults for the timeouts of db_options (see db.h). */
#define DB_DEFAULT_COMMAND_TIMEOUT_MS (60 * 1000)
#define DB_DEFAULT_TASK_TIMEOUT_MS (60 * 60 * 1000)
#define DB_DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DB_MIN_CONNECT_TIMEOUT_MS 1000
/* How often a task step that waits on a condition looks again within one db_task_poll. */
#define DB_TASK_RECHECK_MS 200

static const char *const engine_names[] = {
	[DB_ENGINE_POSTGRES] = "postgres",
	[DB_ENGINE_OPENGAUSS] = "opengauss",
};

static const char *const role_names[] = {
	[DB_ROLE_UNKNOWN] = "unknown",	 [DB_ROLE_PRIMARY] = "primary",
	[DB_ROLE_REPLICA] = "replica",	 [DB_ROLE_PENDING] = "pending",
	[DB_ROLE_STARTING] = "starting", [DB_ROLE_STOPPING] = "stopping",
	[DB_ROLE_STOPPED] = "stopped",	 [DB_ROLE_CRASHED] = "crashed",
};

static const char *const repl_state_names[] = {
	[DB_REPL_NONE] = "",
	[DB_REPL_STREAMING] = "streaming",
	[DB_REPL_CONNECTING] = "connecting",
	[DB_REPL_DISCONNECTED] = "disconnected",
};

static const char *const sync_state_names[] = {
	[DB_SYNC_ASYNC] = "async",
	[DB_SYNC_POTENTIAL] = "potential",
	[DB_SYNC_SYNC] = "sync",
	[DB_SYNC_QUORUM] = "quorum",
};

static const char *const stop_mode_names[] = {
	[DB_STOP_SMART] = "smart",
	[DB_STOP_FAST] = "fast",
	[DB_STOP_IMMEDIATE] = "immediate",
};

const char *db_engine_name(enum db_engine engine)
{
	return ENUM_NAME(engine_names, engine);
}

const char *db_role_name(enum db_role role)
{
	return ENUM_NAME(role_names, role);
}

const char *db_repl_state_name(enum db_repl_state state)
{
	return ENUM_NAME(repl_state_names, state);
}

const char *db_sync_state_name(enum db_sync_state state)
{
	return ENUM_NAME(sync_state_names, state);
}

const char *db_stop_mode_name(enum db_stop_mode mode)
{
	return ENUM_NAME(stop_mode_names, mode);
}

int db_engine_parse(const char *s, enum db_engine *out)
{
	if (!s)
		return -EINVAL;
	if (strcasecmp(s, "postgres") == 0 || strcasecmp(s, "postgresql") == 0) {
		*out = DB_ENGINE_POSTGRES;
		return 0;
	}
	if (strcasecmp(s, "opengauss") == 0 || strcasecmp(s, "gaussdb") == 0) {
		*out = DB_ENGINE_OPENGAUSS;
		return 0;
	}
	return -EINVAL;
}

int db_slot_name(const char *member, char *out, size_t out_cap)
{
	if (!member || !*member)
		return -EINVAL;
	size_t n = strlen(member);
	if (n + 1 > out_cap)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)member[i]);
		out[i] = (char)((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c
											     : '_');
	}
	out[n] = '\0';
	return 0;
}

static const struct db_driver *driver_for(enum db_engine engine)
{
	switch (engine) {
	case DB_ENGINE_POSTGRES:
		return &db_postgres_driver;
	case DB_ENGINE_OPENGAUSS:
#ifdef GSHA_DB_OPENGAUSS
		return &db_opengauss_driver;
#else
		return NULL;
#endif
	}
	return NULL;
}

static bool valid_peer(const struct db_peer *p)
{
	return p && p->host[0] && p->port > 0 && p->port <= 65535 &&
	       memchr(p->name, '\0', sizeof(p->name)) && memchr(p->host, '\0', sizeof(p->host));
}

/* Every string field of the options must be NUL-terminated within its array. */
#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static int check_recovery_conf(const struct db_param *items, int count, char *err, size_t err_cap)
{
	if (count < 0 || count > DB_RECOVERY_CONF_MAX)
		return err_fail(err, err_cap, -EINVAL, "bad count of recovery_conf settings");
	for (int i = 0; i < count; i++) {
		if (!TERMINATED(items[i].name) || !TERMINATED(items[i].value) ||
		    !items[i].name[0] || strpbrk(items[i].value, "\n\r"))
			return err_fail(err, err_cap, -EINVAL,
					"recovery_conf setting %d is invalid", i + 1);
	}
	return 0;
}

/* Custom replica and bootstrap methods, recovery_conf (issue 12). */
static int check_method_options(const struct db_options *o, char *err, size_t err_cap)
{
	const struct db_bootstrap_method *b = &o->bootstrap_method;
	int rc = db_methods_check(&o->replica_methods, err, err_cap);

	if (rc == 0)
		rc = check_recovery_conf(o->recovery_conf, o->recovery_conf_count, err, err_cap);
	if (rc == 0)
		rc = check_recovery_conf(b->recovery_conf, b->recovery_conf_count, err, err_cap);
	if (rc == 0 && b->method.name[0] && strcmp(b->method.name, "initdb") != 0)
		rc = db_method_check(&b->method, err, err_cap);
	if (rc == 0 && (b->post_bootstrap_argc < 0 ||
			(b->post_bootstrap_argc > 0 &&
			 !memchr(b->post_bootstrap, '\0', sizeof(b->post_bootstrap)))))
		rc = err_fail(err, err_cap, -EINVAL, "bad post_bootstrap command");
	if (rc < 0 || o->engine != DB_ENGINE_OPENGAUSS)
		return rc;
	/* The openGauss driver builds with gs_ctl build alone: refuse what it would not run. */
	for (int i = 0; i < o->replica_methods.count; i++) {
		if (!db_method_is_basebackup(&o->replica_methods.items[i]))
			return err_fail(err, err_cap, -ENOTSUP,
					"replica method \"%s\": custom replica methods are "
					"implemented for PostgreSQL only",
					o->replica_methods.items[i].name);
	}
	if ((b->method.name[0] && strcmp(b->method.name, "initdb") != 0) ||
	    b->post_bootstrap_argc > 0 || o->recovery_conf_count > 0)
		return err_fail(
			err, err_cap, -ENOTSUP,
			"custom bootstrap, post_bootstrap and recovery_conf are implemented "
			"for PostgreSQL only");
	return 0;
}

static int check_common_options(const struct db_options *o, char *err, size_t err_cap)
{
	if (!TERMINATED(o->name) || !TERMINATED(o->scope) || !TERMINATED(o->data_dir) ||
	    !TERMINATED(o->bin_dir) || !TERMINATED(o->config_dir) || !TERMINATED(o->pgpass_path) ||
	    !TERMINATED(o->listen_host) || !TERMINATED(o->connect_host) ||
	    !TERMINATED(o->local_host) || !TERMINATED(o->superuser.username) ||
	    !TERMINATED(o->superuser.password) || !TERMINATED(o->replication.username) ||
	    !TERMINATED(o->replication.password) || !TERMINATED(o->rewind.username) ||
	    !TERMINATED(o->rewind.password) || !TERMINATED(o->log_file))
		return err_fail(err, err_cap, -EINVAL,
				"database options hold an unterminated string");
	if (!o->name[0])
		return err_fail(err, err_cap, -EINVAL, "\"name\" is required");
	if (o->data_dir[0] != '/')
		return err_fail(err, err_cap, -EINVAL,
				"\"postgresql.data_dir\" must be an absolute path, got \"%s\"",
				o->data_dir);
	if (o->config_dir[0] && strcmp(o->config_dir, o->data_dir) != 0)
		return err_fail(err, err_cap, -ENOTSUP,
				"\"postgresql.config_dir\" other than the data directory is not "
				"supported yet");
	if (o->listen_port <= 0 || o->listen_port > 65535)
		return err_fail(err, err_cap, -EINVAL, "\"postgresql.listen\" needs a port, got %d",
				o->listen_port);
	if (o->connect_port < 0 || o->connect_port > 65535)
		return err_fail(err, err_cap, -EINVAL, "invalid connect port %d", o->connect_port);
	if (!o->superuser.username[0])
		return err_fail(err, err_cap, -EINVAL,
				"\"postgresql.authentication.superuser.username\" is required");
	if (o->parameters.count < 0 || o->parameters.count > DB_PARAMS_MAX || o->hba_count < 0 ||
	    o->hba_count > DB_HBA_MAX || o->initdb_option_count < 0 ||
	    o->initdb_option_count > DB_TOOL_OPTIONS_MAX || o->basebackup_option_count < 0 ||
	    o->basebackup_option_count > DB_TOOL_OPTIONS_MAX)
		return err_fail(err, err_cap, -EINVAL, "database options hold a bad count");
	for (int i = 0; i < o->parameters.count; i++) {
		if (!TERMINATED(o->parameters.items[i].name) ||
		    !TERMINATED(o->parameters.items[i].value))
			return err_fail(err, err_cap, -EINVAL, "unterminated parameter");
	}
	for (int i = 0; i < o->hba_count; i++) {
		if (!TERMINATED(o->hba[i]) || strpbrk(o->hba[i], "\n\r"))
			return err_fail(err, err_cap, -EINVAL, "pg_hba line %d is invalid", i + 1);
	}
	for (int i = 0; i < o->initdb_option_count; i++) {
		if (!TERMINATED(o->initdb_options[i]) || !o->initdb_options[i][0])
			return err_fail(err, err_cap, -EINVAL, "initdb option %d is invalid",
					i + 1);
	}
	for (int i = 0; i < o->basebackup_option_count; i++) {
		if (!TERMINATED(o->basebackup_options[i]) || !o->basebackup_options[i][0])
			return err_fail(err, err_cap, -EINVAL, "basebackup option %d is invalid",
					i + 1);
	}
	if (o->command_timeout_ms < 0 || o->task_timeout_ms < 0 || o->connect_timeout_ms < 0)
		return err_fail(err, err_cap, -EINVAL, "negative timeout in database options");
	return check_method_options(o, err, err_cap);
}

/* options_copy() copies every field, but these lists only as far as their counts go: a struct
 * assignment would write all DB_PARAMS_MAX parameters (some 140 kB resident for the agent's
 * life), while a new struct db is calloc'ed, so the rest of them is never written and costs no
 * memory (issue 15). In the order of their offsets. */
#define OPT_LIST(items_, count_, max_) LIST_SPAN(struct db_options, items_, count_, max_)
static const struct list_span opt_lists[] = {
	OPT_LIST(parameters.items, parameters.count, DB_PARAMS_MAX),
	OPT_LIST(hba, hba_count, DB_HBA_MAX),
	OPT_LIST(initdb_options, initdb_option_count, DB_TOOL_OPTIONS_MAX),
	OPT_LIST(basebackup_options, basebackup_option_count, DB_TOOL_OPTIONS_MAX),
	OPT_LIST(recovery_conf, recovery_conf_count, DB_RECOVERY_CONF_MAX),
};
#undef OPT_LIST

static void options_copy(struct db_options *dst, const struct db_options *src)
{
	list_copy(dst, src, sizeof(*src), opt_lists, sizeof(opt_lists) / sizeof(opt_lists[0]));
}

int db_new(const struct db_options *opts, struct db **out, char *err, size_t err_cap)
{
	if (!opts || !out)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	const struct db_driver *driver = driver_for(opts->engine);
	if (!driver)
		return err_fail(err, err_cap, -ENOTSUP, "database engine \"%s\" is not built in",
				db_engine_name(opts->engine));
	int rc = check_common_options(opts, err, err_cap);
	if (rc < 0)
		return rc;
	struct db *db = calloc(1, sizeof(*db));
	if (!db)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	options_copy(&db->opts, opts);
	struct db_options *o = &db->opts;
	if (o->connect_port == 0)
		o->connect_port = o->listen_port;
	if (o->command_timeout_ms == 0)
		o->command_timeout_ms = DB_DEFAULT_COMMAND_TIMEOUT_MS;
	if (o->task_timeout_ms == 0)
		o->task_timeout_ms = DB_DEFAULT_TASK_TIMEOUT_MS;
	if (o->connect_timeout_ms == 0)
		o->connect_timeout_ms = DB_DEFAULT_CONNECT_TIMEOUT_MS;
	if (o->connect_timeout_ms < DB_MIN_CONNECT_TIMEOUT_MS)
		o->connect_timeout_ms = DB_MIN_CONNECT_TIMEOUT_MS;
	if (!o->rewind.username[0])
		o->rewind = o->superuser;
	if (!o->pgpass_path[0]) {
		/* Next to the data directory, not in it: a clone must not copy it around. */
		char parent[DB_PATH_MAX];
		if (buf_copy(parent, sizeof(parent), o->data_dir) != 0)
			goto out_too_long;
		size_t n = strlen(parent);
		while (n > 1 && parent[n - 1] == '/')
			parent[--n] = '\0';
		char *slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else
			*slash = '\0';
		if (buf_format(o->pgpass_path, sizeof(o->pgpass_path), "%s%s.pgpass_%s", parent,
			       strcmp(parent, "/") == 0 ? "" : "/", o->name) != 0)
			goto out_too_long;
	}
	if (!o->log_file[0] &&
	    buf_format(o->log_file, sizeof(o->log_file), "%s/postmaster.log", o->data_dir) != 0)
		goto out_too_long;
	if (!o->local_host[0]) {
		/* Patroni's choice: the first socket directory when one is configured, else the
		 * first listen address, with the wildcards mapped to loopback. */
		const char *dirs = db_params_get(&o->parameters, "unix_socket_directories");
		if (!dirs) /* openGauss's name: one directory (opengauss.md 2.1) */
			dirs = db_params_get(&o->parameters, "unix_socket_directory");
		if (dirs)
			dirs += strspn(dirs, ", ");
		size_t len = dirs ? strcspn(dirs, ", ") : 0;
		const char *host = o->listen_host + strspn(o->listen_host, ", ");
		size_t hlen = strcspn(host, ", ");
		int rc2;
		if (len > 0)
			rc2 = buf_format(o->local_host, sizeof(o->local_host), "%.*s", (int)len,
					 dirs);
		else if (hlen == 0 || (hlen == 1 && host[0] == '*') ||
			 (hlen == 7 && strncmp(host, "0.0.0.0", 7) == 0))
			rc2 = buf_copy(o->local_host, sizeof(o->local_host), "127.0.0.1");
		else if (hlen == 2 && strncmp(host, "::", 2) == 0)
			rc2 = buf_copy(o->local_host, sizeof(o->local_host), "::1");
		else
			rc2 = buf_format(o->local_host, sizeof(o->local_host), "%.*s", (int)hlen,
					 host);
		if (rc2 != 0)
			goto out_too_long;
	}
	db->driver = driver;
	db->pm_watch_fd = -1;
	if (driver->check_options) {
		rc = driver->check_options(o, err, err_cap);
		if (rc < 0) {
			free(db);
			return rc;
		}
	}
	*out = db;
	return 0;

out_too_long:
	free(db);
	return err_fail(err, err_cap, -ENAMETOOLONG, "a path derived from \"%s\" is too long",
			opts->data_dir);
}

void db_free(struct db *db)
{
	if (!db)
		return;
	db_task_cancel(db);
	db_pm_watch_close(db);
	if (db->driver->free_priv)
		db->driver->free_priv(db);
	free(db);
}

const struct db_options *db_get_options(const struct db *db)
{
	return &db->opts;
}

void db_status_clear(struct db_status *out)
{
	const size_t standbys_end = offsetof(struct db_status, standbys) + sizeof(out->standbys);
	const size_t slots_end = offsetof(struct db_status, slots) + sizeof(out->slots);
	int standbys = out->standby_count, slots = out->slot_count;

	_Static_assert(offsetof(struct db_status, standbys) < offsetof(struct db_status, slots),
		       "db_status_clear clears the standbys before the slots");
	/* a count out of range (not an earlier result): all of the list */
	standbys = standbys < 0 || standbys >= DB_STANDBYS_MAX ? DB_STANDBYS_MAX : standbys + 1;
	slots = slots < 0 || slots >= DB_SLOTS_MAX ? DB_SLOTS_MAX : slots + 1;
	memset(out, 0, offsetof(struct db_status, standbys));
	memset(out->standbys, 0, sizeof(out->standbys[0]) * (size_t)standbys);
	memset((char *)out + standbys_end, 0, offsetof(struct db_status, slots) - standbys_end);
	memset(out->slots, 0, sizeof(out->slots[0]) * (size_t)slots);
	memset((char *)out + slots_end, 0, sizeof(*out) - slots_end);
}

int db_get_status(struct db *db, struct db_status *out)
{
	if (!db || !out)
		return -EINVAL;
	/* Straight into out (always filled): a copy on the stack would add its 27 kB to the
	 * deepest call chain of every cycle, resident for the agent's life (issue 15). */
	db_status_clear(out);
	db->control_seen_fresh = false;
	db->driver->get_status(db, out);
	out->observed_ms = clock_mono_ms();
	db_pm_watch_update(db, out);
	return 0;
}

bool db_postmaster_exited(struct db *db)
{
	/* Whatever the watch: orphans of callbacks and tasks are the subreaper's to reap too. */
	proc_reap_orphans();
	return db != NULL && db_pm_watch_exited(db);
}

int db_postmaster_fd(const struct db *db)
{
	return db != NULL && db->pm_watch_pid > 0 ? db->pm_watch_fd : -1;
}

int db_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
		    size_t err_cap)
{
	if (!db || !out || timeout_ms <= 0)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	if (db->control_seen_fresh) {
		db->control_seen_fresh = false;
		*out = db->control_seen;
		return 0;
	}
	return db->driver->read_control(db, out, timeout_ms, err, err_cap);
}

/* --- Tasks ----------------------------------------------------------------------------------- */

/* Clears the task as a memset would, except the replica methods past their count, which
 * nothing reads (issue 15: DB_METHODS_MAX methods are 112 kB, and every task cleared them all,
 * resident for the agent's life; a list in use holds one or two). */
static void task_clear(struct db_task *t)
{
	const size_t at = offsetof(struct db_task, methods.items);
	const size_t end = at + sizeof(t->methods.items);

	memset(t, 0, at);
	memset((char *)t + end, 0, sizeof(*t) - end);
}

/* *dst = *src with the items only up to the count (db_methods_check bounded it). */
static void methods_copy(struct db_replica_methods *dst, const struct db_replica_methods *src)
{
	int n = src->count < 0 ? 0 : src->count > DB_METHODS_MAX ? DB_METHODS_MAX : src->count;

	dst->count = src->count;
	memcpy(dst->items, src->items, sizeof(src->items[0]) * (size_t)n);
}

static int begin_task(struct db *db, const char *name, int (*begin)(struct db *, char *, size_t),
		      char *err, size_t err_cap)
{
	if (!begin)
		return err_fail(err, err_cap, -ENOTSUP, "%s is not supported by the %s driver",
				name, db->driver->name);
	db->task.active = true;
	db->task.name = name;
	db->task.started_ms = clock_mono_ms();
	db->task.step_started_ms = db->task.started_ms;
	int rc = begin(db, err, err_cap);
	if (rc < 0 && rc != -EINPROGRESS) {
		proc_free(db->task.proc);
		task_clear(&db->task);
		return rc;
	}
	return 0;
}

int db_begin_bootstrap(struct db *db, uint64_t term, char *err, size_t err_cap)
{
	if (!db)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	if (db->task.active)
		return err_fail(err, err_cap, -EBUSY, "\"%s\" is in progress", db->task.name);
	task_clear(&db->task);
	db->task.term = term;
	return begin_task(db, "initializing new cluster", db->driver->begin_bootstrap, err,
			  err_cap);
}

int db_begin_create_replica(struct db *db, const struct db_peer *source,
			    const struct db_peer *primary, bool replace_existing, char *err,
			    size_t err_cap)
{
	if (!source)
		return err_fail(err, err_cap, -EINVAL, "invalid clone source");
	return db_begin_create_replica_with(db, NULL, source, primary, replace_existing, err,
					    err_cap);
}

int db_begin_create_replica_with(struct db *db, const struct db_replica_methods *methods,
				 const struct db_peer *source, const struct db_peer *primary,
				 bool replace_existing, char *err, size_t err_cap)
{
	if (!db || (source && !valid_peer(source)) || (primary && !valid_peer(primary)))
		return err_fail(err, err_cap, -EINVAL, "invalid clone source");
	if (methods && db_methods_check(methods, err, err_cap) < 0)
		return -EINVAL;
	if (db->task.active)
		return err_fail(err, err_cap, -EBUSY, "\"%s\" is in progress", db->task.name);
	task_clear(&db->task);
	methods_copy(&db->task.methods, methods ? methods : &db->opts.replica_methods);
	if (db->task.methods.count == 0) {
		db->task.methods.count = 1;
		memset(&db->task.methods.items[0], 0, sizeof(db->task.methods.items[0]));
		memcpy(db->task.methods.items[0].name, "basebackup", sizeof("basebackup"));
	}
	if (db_method_next(&db->task.methods, 0, source != NULL) < 0)
		return err_fail(err, err_cap, -ENOENT,
				"no replica method can run without a member to copy from");
	if (source)
		db->task.source = *source;
	db->task.has_source = source != NULL;
	if (primary || source)
		db->task.primary = primary ? *primary : *source;
	db->task.has_primary = primary || source;
	db->task.replace_existing = replace_existing;
	return begin_task(db, "creating replica", db->driver->begin_create_replica, err, err_cap);
}

bool db_replica_methods_leaderless(const struct db *db, const struct db_replica_methods *methods)
{
	if (!db)
		return false;
	return db_method_next(methods ? methods : &db->opts.replica_methods, 0, false) >= 0;
}

int db_begin_rejoin(struct db *db, const struct db_peer *primary, char *err, size_t err_cap)
{
	if (!db || !valid_peer(primary))
		return err_fail(err, err_cap, -EINVAL, "invalid primary to rejoin");
	if (db->task.active)
		return err_fail(err, err_cap, -EBUSY, "\"%s\" is in progress", db->task.name);
	task_clear(&db->task);
	db->task.source = *primary;
	db->task.primary = *primary;
	db->task.has_primary = true;
	return begin_task(db, "rejoining", db->driver->begin_rejoin, err, err_cap);
}

static void end_task(struct db *db)
{
	proc_free(db->task.proc);
	task_clear(&db->task);
}

int db_task_poll(struct db *db, int64_t wait_ms, char *err, size_t err_cap)
{
	if (!db)
		return -EINVAL;
	if (!db->task.active)
		return err_fail(err, err_cap, -ENOENT, "no task is running");
	int64_t until = clock_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	for (;;) {
		if (db->task.proc && !proc_done(db->task.proc)) {
			int64_t left = until - clock_mono_ms();
			if (proc_poll(db->task.proc, left > 0 ? left : 0) == -EINPROGRESS)
				return -EINPROGRESS;
		}
		int rc = db->driver->task_step(db, err, err_cap);
		if (rc != -EINPROGRESS) {
			end_task(db);
			return rc;
		}
		/* A new command started, or the step waits on a condition (the server accepting
		 * connections): keep at it while time is left, looking again every so often. */
		int64_t left = until - clock_mono_ms();
		if (left <= 0)
			return -EINPROGRESS;
		if (!db->task.proc)
			clock_sleep_ms(left < DB_TASK_RECHECK_MS ? left : DB_TASK_RECHECK_MS);
	}
}

bool db_task_command_ended(struct db *db)
{
	if (!db || !db->task.active || !db->task.proc || db->task.end_reported)
		return false;
	if (!proc_done(db->task.proc) && proc_poll(db->task.proc, 0) == -EINPROGRESS)
		return false;
	db->task.end_reported = true;
	return true;
}

int db_task_command_pid(const struct db *db)
{
	if (!db || !db->task.active || !db->task.proc || db->task.end_reported ||
	    proc_done(db->task.proc))
		return 0;
	return proc_pid(db->task.proc);
}

bool db_task_running(const struct db *db)
{
	return db && db->task.active;
}

const char *db_task_name(const struct db *db)
{
	return db && db->task.active && db->task.name ? db->task.name : "";
}

int db_task_progress(const struct db *db, char *out, size_t out_cap)
{
	if (!db || !db->task.active)
		return -ENOENT;
	const char *line = db->task.proc ? proc_last_line(db->task.proc) : "";
	int64_t secs = (clock_mono_ms() - db->task.started_ms) / 1000;
	int n;
	if (db->task.proc)
		n = snprintf(out, out_cap, "%s for %lld s: running \"%s\"%s%s", db->task.name,
			     (long long)secs, db->task.command, line[0] ? ": " : "", line);
	else
		n = snprintf(out, out_cap, "%s for %lld s: step %d", db->task.name, (long long)secs,
			     db->task.step);
	return n >= 0 && (size_t)n < out_cap ? 0 : -ENOBUFS;
}

void db_task_cancel(struct db *db)
{
	if (!db || !db->task.active)
		return;
	if (db->task.proc)
		proc_cancel(db->task.proc);
	end_task(db);
}

/* --- Short actions ------------------------------------------------------------------------- */

/* timeout_ms 0 means the command_timeout_ms option (db_start alone reads 0 as "do not wait"). */
#define DEFAULT_TIMEOUT(db, timeout_ms)                               \
	do {                                                          \
		if ((timeout_ms) == 0)                                \
			(timeout_ms) = (db)->opts.command_timeout_ms; \
	} while (0)

#define CHECK_SHORT(db, timeout_ms, err, err_cap)                                      \
	do {                                                                           \
		if (!(db) || (timeout_ms) < 0)                                         \
			return err_fail(err, err_cap, -EINVAL, "invalid arguments");   \
		if ((db)->task.active)                                                 \
			return err_fail(err, err_cap, -EBUSY, "\"%s\" is in progress", \
					(db)->task.name);                              \
	} while (0)

int db_start(struct db *db, enum db_start_role role, const struct db_peer *primary, uint64_t term,
	     int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	if (primary && !valid_peer(primary))
		return err_fail(err, err_cap, -EINVAL, "invalid primary");
	if (role != DB_START_PRIMARY && role != DB_START_REPLICA && role != DB_START_PENDING)
		return err_fail(err, err_cap, -EINVAL, "invalid start role");
	struct db_pidfile pf;
	int attached;
	/* The agent is a child subreaper: a crashed postmaster and its backends are its to reap. */
	proc_reap_orphans();
	if (db_pidfile_read(db->opts.data_dir, &pf) == 0 && db_pid_unreaped(pf.pid))
		return err_fail(err, err_cap, -EAGAIN,
				"the last postmaster (pid %d) has exited but is not reaped yet",
				pf.pid);
	if (db_pidfile_read(db->opts.data_dir, &pf) == 0 && !db_pid_alive(pf.pid) &&
	    db_shm_in_use(&pf, &attached))
		return err_fail(
			err, err_cap, -EAGAIN,
			"%d process(es) of the last postmaster (pid %d) still hold its shared "
			"memory",
			attached, pf.pid);
	return db->driver->start(db, role, primary, term, timeout_ms, err, err_cap);
}

int db_stop(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (mode != DB_STOP_SMART && mode != DB_STOP_FAST && mode != DB_STOP_IMMEDIATE)
		return err_fail(err, err_cap, -EINVAL, "invalid stop mode");
	return db->driver->stop(db, mode, timeout_ms, err, err_cap);
}

int db_restart(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (mode != DB_STOP_SMART && mode != DB_STOP_FAST && mode != DB_STOP_IMMEDIATE)
		return err_fail(err, err_cap, -EINVAL, "invalid stop mode");
	return db->driver->restart(db, mode, timeout_ms, err, err_cap);
}

int db_reload(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	return db->driver->reload(db, timeout_ms, err, err_cap);
}

int db_promote(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	return db->driver->promote(db, term, timeout_ms, err, err_cap);
}

int db_follow(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
	      size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (primary && !valid_peer(primary))
		return err_fail(err, err_cap, -EINVAL, "invalid primary");
	return db->driver->follow(db, primary, timeout_ms, err, err_cap);
}

void db_params_copy(struct db_params *dst, const struct db_params *src)
{
	int n = src->count < 0 ? 0 : src->count > DB_PARAMS_MAX ? DB_PARAMS_MAX : src->count;

	dst->count = src->count;
	memcpy(dst->items, src->items, sizeof(src->items[0]) * (size_t)n);
}

int db_apply_parameters(struct db *db, const struct db_params *params, int64_t timeout_ms,
			char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!params || params->count < 0 || params->count > DB_PARAMS_MAX)
		return err_fail(err, err_cap, -EINVAL, "invalid parameters");
	for (int i = 0; i < params->count; i++) {
		if (!TERMINATED(params->items[i].name) || !TERMINATED(params->items[i].value))
			return err_fail(err, err_cap, -EINVAL, "unterminated parameter");
	}
	/* The old list on the heap, not in a frame of some 140 kB that would stay resident in
	 * the caller's stack (issue 15). */
	struct db_params *old = malloc(sizeof(*old));
	if (old == NULL)
		return err_fail(err, err_cap, -ENOMEM, "out of memory");
	db_params_copy(old, &db->opts.parameters);
	db_params_copy(&db->opts.parameters, params);
	int rc = db->driver->apply_parameters(db, timeout_ms, err, err_cap);
	if (rc < 0 && rc != -ETIMEDOUT)
		db_params_copy(&db->opts.parameters, old); /* a refused one keeps the old list */
	free(old);
	return rc;
}

int db_set_sync_standbys(struct db *db, const struct db_sync *sync, int64_t timeout_ms, char *err,
			 size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!sync || sync->count < 0 || sync->count > DB_STANDBYS_MAX)
		return err_fail(err, err_cap, -EINVAL, "invalid synchronous standby list");
	char rendered[DB_PARAM_VALUE_MAX];
	int rc = db_render_sync_names(sync, rendered, sizeof(rendered));
	if (rc < 0)
		return err_fail(err, err_cap, rc, "invalid synchronous standby list");
	struct db_sync old = db->sync;
	bool old_managed = db->sync_managed;
	db->sync = *sync;
	db->sync_managed = true;
	rc = db->driver->set_sync_standbys(db, timeout_ms, err, err_cap);
	if (rc < 0 && rc != -ETIMEDOUT) {
		db->sync = old;
		db->sync_managed = old_managed;
	}
	return rc;
}

int db_ensure_slots(struct db *db, const char names[][MEMBER_NAME_MAX], int count,
		    int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (count < 0 || count > DB_SLOTS_MAX || (count > 0 && !names))
		return err_fail(err, err_cap, -EINVAL, "invalid slot list");
	for (int i = 0; i < count; i++) {
		if (!memchr(names[i], '\0', MEMBER_NAME_MAX) || !names[i][0])
			return err_fail(err, err_cap, -EINVAL, "invalid member name for a slot");
	}
	return db->driver->ensure_slots(db, names, count, timeout_ms, err, err_cap);
}

static bool slot_name_ok(const char *name)
{
	size_t n = strnlen(name, DB_NAME_MAX);

	if (n == 0 || n == DB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	return true;
}

int db_apply_slots(struct db *db, const struct db_slot_spec *create, int create_count,
		   const char (*drop)[DB_NAME_MAX], int drop_count, int64_t timeout_ms, char *err,
		   size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (create_count < 0 || create_count > DB_SLOTS_MAX || (create_count > 0 && !create) ||
	    drop_count < 0 || drop_count > DB_SLOTS_MAX || (drop_count > 0 && !drop))
		return err_fail(err, err_cap, -EINVAL, "invalid slot list");
	for (int i = 0; i < create_count; i++) {
		const struct db_slot_spec *s = &create[i];

		if (!slot_name_ok(s->name) ||
		    (s->logical && (!memchr(s->database, '\0', DB_NAME_MAX) || !s->database[0] ||
				    !memchr(s->plugin, '\0', DB_NAME_MAX) || !s->plugin[0])))
			return err_fail(err, err_cap, -EINVAL, "invalid slot to create");
	}
	for (int i = 0; i < drop_count; i++)
		if (!memchr(drop[i], '\0', DB_NAME_MAX) || !drop[i][0])
			return err_fail(err, err_cap, -EINVAL, "invalid slot name to drop");
	if (!db->driver->apply_slots)
		return err_fail(err, err_cap, -ENOTSUP, "%s has no replication slots",
				db->driver->name);
	if (create_count == 0 && drop_count == 0)
		return 0;
	return db->driver->apply_slots(db, create, create_count, drop, drop_count, timeout_ms, err,
				       err_cap);
}

int db_copy_logical_slots(struct db *db, const struct db_peer *primary,
			  const char (*names)[DB_NAME_MAX], int count, int64_t timeout_ms,
			  int *copied, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!copied || !primary || !valid_peer(primary) || count < 1 || count > DB_SLOTS_MAX ||
	    !names)
		return err_fail(err, err_cap, -EINVAL, "invalid slot list or primary");
	*copied = 0;
	for (int i = 0; i < count; i++)
		if (!slot_name_ok(names[i]))
			return err_fail(err, err_cap, -EINVAL, "invalid slot name");
	if (!db->driver->copy_logical_slots)
		return err_fail(err, err_cap, -ENOTSUP, "%s has no logical slot failover",
				db->driver->name);
	return db->driver->copy_logical_slots(db, primary, names, count, timeout_ms, copied, err,
					      err_cap);
}

int db_peer_slot_xmins(struct db *db, const struct db_peer *primary,
		       const char (*names)[DB_NAME_MAX], int count, bool *found, uint64_t *xmin,
		       int64_t timeout_ms, char *err, size_t err_cap)
{
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!primary || !valid_peer(primary) || count < 1 || count > DB_SLOTS_MAX || !names ||
	    !found || !xmin)
		return err_fail(err, err_cap, -EINVAL, "invalid slot list or primary");
	for (int i = 0; i < count; i++)
		if (!slot_name_ok(names[i]))
			return err_fail(err, err_cap, -EINVAL, "invalid slot name");
	if (!db->driver->peer_slot_xmins)
		return err_fail(err, err_cap, -ENOTSUP, "%s has no logical slot failover",
				db->driver->name);
	return db->driver->peer_slot_xmins(db, primary, names, count, found, xmin, timeout_ms, err,
					   err_cap);
}

int db_peer_rewind_ready(struct db *db, const struct db_peer *primary, int64_t timeout_ms,
			 bool *ready, uint32_t *checkpoint_tli, uint32_t *tli, char *err,
			 size_t err_cap)
{
	if (!db || timeout_ms < 0 || !primary || !valid_peer(primary) || !ready ||
	    !checkpoint_tli || !tli)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!db->driver->peer_rewind_ready)
		return err_fail(err, err_cap, -ENOTSUP, "%s has no pg_rewind", db->driver->name);
	return db->driver->peer_rewind_ready(db, primary, timeout_ms, ready, checkpoint_tli, tli,
					     err, err_cap);
}

int db_advance_slots(struct db *db, const struct db_slot_target *targets, int count,
		     int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (count < 0 || count > DB_SLOTS_MAX || (count > 0 && !targets))
		return err_fail(err, err_cap, -EINVAL, "invalid slot list");
	for (int i = 0; i < count; i++) {
		if (!memchr(targets[i].name, '\0', DB_NAME_MAX) || !targets[i].name[0] ||
		    !memchr(targets[i].database, '\0', DB_NAME_MAX))
			return err_fail(err, err_cap, -EINVAL, "invalid slot name");
	}
	if (!db->driver->advance_slots)
		return err_fail(err, err_cap, -ENOTSUP, "%s has no replication slots",
				db->driver->name);
	return db->driver->advance_slots(db, targets, count, timeout_ms, err, err_cap);
}

int db_checkpoint(struct db *db, uint64_t *out_lsn, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!out_lsn)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	return db->driver->checkpoint(db, out_lsn, timeout_ms, err, err_cap);
}

int db_fence(struct db *db, char *err, size_t err_cap)
{
	if (!db)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	if (!db->driver->fence)
		return err_fail(err, err_cap, -ENOTSUP, "the %s driver cannot fence",
				db->driver->name);
	return db->driver->fence(db, err, err_cap);
}

int db_set_peers(struct db *db, const struct db_peer *peers, int count, int64_t timeout_ms,
		 char *err, size_t err_cap)
{
	if (!db || count < 0 || (count > 0 && !peers) || timeout_ms < 0)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	if (count > DB_PEERS_MAX)
		return err_fail(err, err_cap, -E2BIG, "%d members exceed the %d a driver takes",
				count, DB_PEERS_MAX);
	for (int i = 0; i < count; i++) {
		if (!valid_peer(&peers[i]))
			return err_fail(err, err_cap, -EINVAL, "member %d is invalid", i);
	}
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!db->driver->set_peers)
		return 0;
	return db->driver->set_peers(db, peers, count, timeout_ms, err, err_cap);
}

int db_check_options(const struct db_options *opts, char *err, size_t err_cap)
{
	if (!opts)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	const struct db_driver *driver = driver_for(opts->engine);
	if (!driver)
		return err_fail(err, err_cap, -ENOTSUP, "engine \"%s\" is not built in",
				db_engine_name(opts->engine));
	return driver->check_options ? driver->check_options(opts, err, err_cap) : 0;
}

int db_set_term(struct db *db, uint64_t term, char *err, size_t err_cap)
{
	if (!db || term == 0 || term > DB_TERM_MAX)
		return err_fail(err, err_cap, -EINVAL, "term %llu outside 1..%u",
				(unsigned long long)term, DB_TERM_MAX);
	if (!db->driver->set_term)
		return 0; /* PostgreSQL: timelines fence, the term is not used */
	return db->driver->set_term(db, term, err, err_cap);
}

int db_hand_over(struct db *db, const char *candidate, int64_t timeout_ms, char *err,
		 size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!candidate || !candidate[0] || strlen(candidate) >= DB_NAME_MAX)
		return err_fail(err, err_cap, -EINVAL, "invalid candidate");
	if (!db->driver->hand_over)
		return err_fail(err, err_cap, -ENOTSUP, "%s has no native switchover",
				db->driver->name);
	return db->driver->hand_over(db, candidate, timeout_ms, err, err_cap);
}

int db_hand_over_abort(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!db->driver->hand_over_abort)
		return 0;
	return db->driver->hand_over_abort(db, timeout_ms, err, err_cap);
}

int db_freeze_upstream(struct db *db, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!db->driver->freeze_upstream)
		return err_fail(err, err_cap, -ENOTSUP, "%s cannot freeze a replica",
				db->driver->name);
	return db->driver->freeze_upstream(db, timeout_ms, err, err_cap);
}

int db_reserve_timelines(struct db *db, uint64_t current_tli, uint64_t reserved_tli, int *written,
			 char *err, size_t err_cap)
{
	if (!db || !written || current_tli < 1 || reserved_tli > DB_TLI_MAX)
		return err_fail(err, err_cap, -EINVAL, "invalid arguments");
	*written = 0;
	if (db->task.active)
		return err_fail(err, err_cap, -EBUSY, "\"%s\" is in progress", db->task.name);
	if (reserved_tli <= current_tli || !db->driver->reserve_timelines)
		return 0;
	return db->driver->reserve_timelines(db, current_tli, reserved_tli, written, err, err_cap);
}

int db_promote_planned(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap)
{
	CHECK_SHORT(db, timeout_ms, err, err_cap);
	DEFAULT_TIMEOUT(db, timeout_ms);
	if (!db->driver->promote_planned)
		return db->driver->promote(db, term, timeout_ms, err, err_cap);
	return db->driver->promote_planned(db, term, timeout_ms, err, err_cap);
}
