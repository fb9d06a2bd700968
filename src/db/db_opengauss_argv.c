/*
 * db_opengauss_argv.c - the pure renderers of the openGauss driver: replconninfoN entries from
 * the member list (§2.6), the synchronous settings (§2.9), whether a configured value differs
 * from the running one, and the gs_guc and gs_ctl command lines (§2.2 - §2.6, §2.12, §2.13).
 * Declared in db_opengauss_codec.h with the parsers (db_opengauss_codec.c).
 */
#include "db_opengauss_codec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "num.h"

/* Highest client port for which port + 5 (the heartbeat port, §2.1) is still a port. */
#define PORT_MAX_WITH_OFFSETS (65535 - 5)

/* replconninfo ------------------------------------------------------------------------------ */

/* Host names go unquoted into a key=value list: letters, digits and . - _ : only. */
static bool host_is_safe(const char *host)
{
	const char *c;

	if (host[0] == '\0')
		return false;
	for (c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_' && *c != ':')
			return false;
	return true;
}

static bool node_is_valid(const struct db_og_node *n)
{
	return memchr(n->host, '\0', sizeof(n->host)) != NULL && host_is_safe(n->host) &&
	       n->port >= 1 && n->port <= PORT_MAX_WITH_OFFSETS;
}

int db_og_render_replconninfo_entry(const struct db_og_node *self, const struct db_og_node *peer,
				    char *out, size_t cap)
{
	if (!node_is_valid(self) || !node_is_valid(peer))
		return -EINVAL;
	/* HA port + 1, service port + 4, heartbeat port + 5 (§2.1, §2.6). */
	return buf_format(out, cap,
			  "localhost=%s localport=%d localheartbeatport=%d localservice=%d "
			  "remotehost=%s remoteport=%d remoteheartbeatport=%d remoteservice=%d",
			  self->host, self->port + 1, self->port + 5, self->port + 4, peer->host,
			  peer->port + 1, peer->port + 5, peer->port + 4);
}

int db_og_render_replconninfo(const struct db_og_node *members, int n, int self_index,
			      struct db_og_replconninfo *out, char *err, size_t err_cap)
{
	struct db_og_replconninfo r;
	int i, rc;

	if (n < 1 || self_index < 0 || self_index >= n) {
		err_set(err, err_cap, "member index %d outside 0..%d", self_index, n - 1);
		return -EINVAL;
	}
	if (n - 1 > DB_OG_REPLCONNINFO_MAX) {
		err_set(err, err_cap, "%d peers exceed openGauss's %d replconninfo entries", n - 1,
			DB_OG_REPLCONNINFO_MAX);
		return -E2BIG;
	}
	memset(&r, 0, sizeof(r));
	for (i = 0; i < n; i++) {
		if (i == self_index)
			continue;
		if (strcmp(members[i].host, members[self_index].host) == 0 &&
		    members[i].port == members[self_index].port) {
			err_set(err, err_cap, "member %d has the same address as this node", i);
			return -EINVAL;
		}
		rc = db_og_render_replconninfo_entry(&members[self_index], &members[i],
						     r.entry[r.count], sizeof(r.entry[r.count]));
		if (rc < 0) {
			err_set(err, err_cap, "member %d: invalid host or port", i);
			return rc == -ENAMETOOLONG ? rc : -EINVAL;
		}
		r.count++;
	}
	*out = r;
	return 0;
}

/* Settings and command lines ---------------------------------------------------------------- */

static bool app_name_is_safe(const char *name)
{
	const char *c;

	if (name[0] == '\0')
		return false;
	for (c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return false;
	return true;
}

static int setting_put(struct db_og_setting *s, const char *name, const char *value)
{
	if (buf_copy(s->name, sizeof(s->name), name) < 0 ||
	    buf_copy(s->value, sizeof(s->value), value) < 0)
		return -ENAMETOOLONG;
	return 0;
}

int db_og_sync_settings(const struct db_og_sync_policy *policy, struct db_og_setting out[3],
			char *err, size_t err_cap)
{
	char names[DB_OG_GUC_VALUE_MAX];
	struct buf b;
	int i, rc;

	buf_init_fixed(&b, names, sizeof(names));
	if (!policy->enabled) {
		/* Asynchronous: an empty list overrides the '*' default that blocks commits. */
		rc = buf_puts(&b, "");
	} else {
		if (policy->n_names < 0 || policy->n_names > DB_OG_MEMBERS_MAX) {
			err_set(err, err_cap, "%d synchronous standby names", policy->n_names);
			return -EINVAL;
		}
		if (policy->num_sync < 1 ||
		    (policy->n_names > 0 && policy->num_sync > policy->n_names) ||
		    policy->num_sync > DB_OG_REPLCONNINFO_MAX) {
			err_set(err, err_cap, "synchronous standby count %d out of range",
				policy->num_sync);
			return -EINVAL;
		}
		rc = buf_printf(&b, "%s %d (", policy->quorum ? "ANY" : "FIRST", policy->num_sync);
		if (policy->n_names == 0 && rc == 0)
			rc = buf_puts(&b, "*");
		for (i = 0; i < policy->n_names && rc == 0; i++) {
			if (memchr(policy->names[i], '\0', sizeof(policy->names[i])) == NULL ||
			    !app_name_is_safe(policy->names[i])) {
				err_set(err, err_cap, "unsafe synchronous standby name %d", i);
				return -EINVAL;
			}
			rc = buf_printf(&b, "%s%s", i ? "," : "", policy->names[i]);
		}
		if (rc == 0)
			rc = buf_puts(&b, ")");
	}
	if (rc < 0) {
		err_set(err, err_cap, "synchronous_standby_names too long");
		return -ENAMETOOLONG;
	}
	/* synchronous_commit on waits for the listed standbys. most_available_sync stays off in
	 * every mode: on, the primary stops waiting for a departed standby without asking anyone,
	 * before /sync drops it, so a standby still named there can miss acknowledged commits
	 * (§2.9). A non-strict mode degrades through the agent instead: /sync first, then
	 * synchronous_standby_names. */
	if (setting_put(&out[0], "synchronous_standby_names", names) < 0 ||
	    setting_put(&out[1], "synchronous_commit", "on") < 0 ||
	    setting_put(&out[2], "most_available_sync", "off") < 0) {
		err_set(err, err_cap, "setting too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Splits "16MB" into 16 and the multiplier of its unit in base units (bytes or ms); a bare
 * number has multiplier 0 (unknown unit). Returns false when it is not a number with a known
 * unit. */
static bool split_quantity(const char *text, double *number, double *mult)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {
		{ "kB", 1024.0 },
		{ "MB", 1024.0 * 1024 },
		{ "GB", 1024.0 * 1024 * 1024 },
		{ "TB", 1024.0 * 1024 * 1024 * 1024 },
		{ "B", 1.0 },
		{ "us", 0.001 },
		{ "ms", 1.0 },
		{ "s", 1000.0 },
		{ "min", 60000.0 },
		{ "h", 3600000.0 },
		{ "d", 86400000.0 },
	};
	char digits[64];
	size_t n = strlen(text), i, len;

	for (len = 0; len < n && (isdigit((unsigned char)text[len]) || text[len] == '.' ||
				  (len == 0 && text[len] == '-'));
	     len++)
		;
	if (len == 0 || len >= sizeof(digits))
		return false;
	memcpy(digits, text, len);
	digits[len] = '\0';
	if (num_parse_double(digits, -1e18, 1e18, number) < 0)
		return false;
	while (text[len] == ' ')
		len++;
	if (text[len] == '\0') {
		*mult = 0;
		return true;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(text + len, units[i].suffix) == 0) {
			*mult = units[i].mult;
			return true;
		}
	}
	return false;
}

bool db_og_setting_differs(const char *configured, const char *setting, const char *unit)
{
	double cv, cm, sv, sm, um = 0, un;
	bool cb, sb;

	if (configured == NULL || setting == NULL)
		return false;
	if (strcasecmp(configured, setting) == 0)
		return false;
	if (num_parse_bool(configured, &cb) == 0 && num_parse_bool(setting, &sb) == 0)
		return cb != sb;
	if (!split_quantity(configured, &cv, &cm) || !split_quantity(setting, &sv, &sm))
		return true;
	/* The running value is in units of unit ("8kB": 8192 bytes); a bare configured number is
	 * in those units too. */
	if (unit != NULL && unit[0] != '\0') {
		char unit1[32];

		/* "8kB" carries its count; "kB" or "s" mean one of them. */
		if (buf_format(unit1, sizeof(unit1), "%s%s",
			       isdigit((unsigned char)unit[0]) ? "" : "1", unit) < 0 ||
		    !split_quantity(unit1, &un, &um))
			return true;
		if (um == 0)
			um = 1;
		um *= un;
	} else {
		um = 1;
	}
	if (sm == 0)
		sv *= um;
	else
		sv *= sm;
	if (cm == 0)
		cv *= um;
	else
		cv *= cm;
	return cv != sv;
}

static int argv_add(struct db_og_argv *a, const char *s)
{
	if (s == NULL || a->argc >= DB_OG_ARGV_MAX)
		return -E2BIG;
	if (buf_copy(a->arg[a->argc], sizeof(a->arg[a->argc]), s) < 0)
		return -ENAMETOOLONG;
	a->argc++;
	return 0;
}

static int argv_addf(struct db_og_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int argv_addf(struct db_og_argv *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->argc >= DB_OG_ARGV_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	n = vsnprintf(a->arg[a->argc], sizeof(a->arg[a->argc]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->arg[a->argc])) {
		a->arg[a->argc][0] = '\0';
		return -ENAMETOOLONG;
	}
	a->argc++;
	return 0;
}

/* Appends the option opt and its value. */
static int argv_opt(struct db_og_argv *a, const char *opt, const char *value)
{
	int rc = argv_add(a, opt);

	return rc == 0 ? argv_add(a, value) : rc;
}

static bool value_is_safe(const char *v)
{
	const char *c;

	for (c = v; *c; c++)
		if (*c == '\'' || *c == '\\' || iscntrl((unsigned char)*c))
			return false;
	return true;
}

static bool guc_name_is_safe(const char *n)
{
	const char *c;

	if (n[0] == '\0')
		return false;
	for (c = n; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

int db_og_guc_argv(struct db_og_argv *out, const char *gs_guc, const char *datadir, bool reload,
		   const struct db_og_setting *settings, int n, char *err, size_t err_cap)
{
	struct db_og_argv a;
	int i, rc;

	if (n < 1 || n > DB_OG_SETTINGS_MAX) {
		err_set(err, err_cap, "%d settings for one gs_guc call", n);
		return -EINVAL;
	}
	if (gs_guc == NULL || datadir == NULL || datadir[0] == '\0') {
		err_set(err, err_cap, "gs_guc path or data directory missing");
		return -EINVAL;
	}
	a.argc = 0;
	rc = argv_add(&a, gs_guc);
	if (rc == 0)
		rc = argv_add(&a, reload ? "reload" : "set");
	if (rc == 0)
		rc = argv_add(&a, "-D");
	if (rc == 0)
		rc = argv_add(&a, datadir);
	for (i = 0; i < n && rc == 0; i++) {
		if (memchr(settings[i].name, '\0', sizeof(settings[i].name)) == NULL ||
		    memchr(settings[i].value, '\0', sizeof(settings[i].value)) == NULL ||
		    !guc_name_is_safe(settings[i].name) || !value_is_safe(settings[i].value)) {
			err_set(err, err_cap, "setting %d: unsafe name or value", i);
			return -EINVAL;
		}
		rc = argv_add(&a, "-c");
		if (rc == 0)
			rc = argv_addf(&a, "%s = '%s'", settings[i].name, settings[i].value);
	}
	if (rc < 0) {
		err_set(err, err_cap, "gs_guc command line too long");
		return rc;
	}
	*out = a;
	return 0;
}

static bool mode_is_valid(const char *mode)
{
	/* The modes gaussdb -M accepts that the agent uses (§2.2). */
	return mode != NULL &&
	       (strcmp(mode, "pending") == 0 || strcmp(mode, "primary") == 0 ||
		strcmp(mode, "standby") == 0 || strcmp(mode, "cascade_standby") == 0);
}

/* Starts "gs_ctl <cmd> -D <dir>". */
static int ctl_head(struct db_og_argv *a, const char *gs_ctl, const char *cmd, const char *datadir)
{
	int rc;

	if (gs_ctl == NULL || gs_ctl[0] == '\0' || datadir == NULL || datadir[0] == '\0')
		return -EINVAL;
	a->argc = 0;
	rc = argv_add(a, gs_ctl);
	if (rc == 0)
		rc = argv_add(a, cmd);
	if (rc == 0)
		rc = argv_opt(a, "-D", datadir);
	return rc;
}

static int ctl_wait(struct db_og_argv *a, int timeout_s)
{
	int rc;

	if (timeout_s < 1)
		return -EINVAL;
	rc = argv_add(a, "-w");
	if (rc == 0)
		rc = argv_add(a, "-t");
	if (rc == 0)
		rc = argv_addf(a, "%d", timeout_s);
	return rc;
}

static int ctl_opts(struct db_og_argv *a, const char *opts, const char *logfile)
{
	int rc = 0;

	if (opts != NULL && opts[0] != '\0')
		rc = argv_opt(a, "-o", opts);
	if (rc == 0 && logfile != NULL && logfile[0] != '\0')
		rc = argv_opt(a, "-l", logfile);
	return rc;
}

/* Hands the built command line a to the caller when every step succeeded (rc 0): outputs are
 * written only on success. */
static int ctl_finish(struct db_og_argv *out, const struct db_og_argv *a, int rc)
{
	if (rc < 0)
		return rc;
	*out = *a;
	return 0;
}

static int ctl_term(struct db_og_argv *a, uint32_t term)
{
	int rc = argv_add(a, "-T");

	if (rc == 0)
		rc = argv_addf(a, "%" PRIu32, term);
	return rc;
}

static bool stop_is_valid(enum db_og_stop_mode stop)
{
	return stop == DB_OG_STOP_FAST || stop == DB_OG_STOP_IMMEDIATE;
}

int db_og_ctl_start(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		    const char *mode, int timeout_s, const char *opts, const char *logfile)
{
	struct db_og_argv a;
	int rc;

	if (!mode_is_valid(mode))
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "start", datadir);
	if (rc == 0)
		rc = argv_opt(&a, "-M", mode);
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc == 0)
		rc = ctl_opts(&a, opts, logfile);
	return ctl_finish(out, &a, rc);
}

int db_og_ctl_restart(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		      const char *mode, enum db_og_stop_mode stop, int timeout_s, const char *opts,
		      const char *logfile)
{
	struct db_og_argv a;
	int rc;

	if (!mode_is_valid(mode) || !stop_is_valid(stop))
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "restart", datadir);
	if (rc == 0)
		rc = argv_opt(&a, "-M", mode);
	if (rc == 0)
		rc = argv_opt(&a, "-m", db_og_stop_mode_name(stop));
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	if (rc == 0)
		rc = ctl_opts(&a, opts, logfile);
	return ctl_finish(out, &a, rc);
}

int db_og_ctl_stop(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		   enum db_og_stop_mode stop, int timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (!stop_is_valid(stop))
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "stop", datadir);
	if (rc == 0)
		rc = argv_opt(&a, "-m", db_og_stop_mode_name(stop));
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	return ctl_finish(out, &a, rc);
}

/* gs_ctl <cmd> -D datadir [-M|-m mode] [-T term] -w -t timeout_s: the commands that carry the
 * cluster term (§2.2, §2.4). */
static int ctl_termed(struct db_og_argv *out, const char *gs_ctl, const char *cmd,
		      const char *datadir, const char *opt, const char *mode, uint32_t term,
		      int timeout_s)
{
	struct db_og_argv a;
	int rc = ctl_head(&a, gs_ctl, cmd, datadir);

	if (rc == 0 && opt != NULL)
		rc = argv_opt(&a, opt, mode);
	if (rc == 0 && term > 0)
		rc = ctl_term(&a, term);
	if (rc == 0)
		rc = ctl_wait(&a, timeout_s);
	return ctl_finish(out, &a, rc);
}

int db_og_ctl_notify(struct db_og_argv *out, const char *gs_ctl, const char *datadir, bool primary,
		     uint32_t term, int timeout_s)
{
	if (primary && term == 0)
		return -EINVAL;
	return ctl_termed(out, gs_ctl, "notify", datadir, "-M", primary ? "primary" : "standby",
			  term, timeout_s);
}

int db_og_ctl_failover(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		       uint32_t term, int timeout_s)
{
	if (term == 0)
		return -EINVAL;
	return ctl_termed(out, gs_ctl, "failover", datadir, NULL, NULL, term, timeout_s);
}

int db_og_ctl_switchover(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
			 uint32_t term, int timeout_s)
{
	if (term == 0)
		return -EINVAL;
	/* smart and immediate are rejected (§2.4) */
	return ctl_termed(out, gs_ctl, "switchover", datadir, "-m", "fast", term, timeout_s);
}

int db_og_ctl_build(struct db_og_argv *out, const char *gs_ctl, const char *datadir,
		    enum db_og_build_mode mode, uint32_t term, int recv_timeout_s)
{
	struct db_og_argv a;
	int rc;

	if (mode < 0 || mode >= DB_OG_BUILD_COUNT || recv_timeout_s < 1)
		return -EINVAL;
	rc = ctl_head(&a, gs_ctl, "build", datadir);
	if (rc == 0)
		rc = argv_opt(&a, "-b", db_og_build_mode_name(mode));
	if (rc == 0)
		rc = argv_opt(&a, "-M", "standby");
	if (rc == 0)
		rc = argv_add(&a, "-r");
	if (rc == 0)
		rc = argv_addf(&a, "%d", recv_timeout_s);
	if (rc == 0 && term > 0)
		rc = ctl_term(&a, term);
	return ctl_finish(out, &a, rc);
}

int db_og_ctl_query(struct db_og_argv *out, const char *gs_ctl, const char *datadir)
{
	struct db_og_argv a;

	return ctl_finish(out, &a, ctl_head(&a, gs_ctl, "query", datadir));
}

void db_og_argv_ptrs(const struct db_og_argv *a, const char *ptrs[DB_OG_ARGV_MAX + 1])
{
	int i;

	for (i = 0; i < a->argc && i < DB_OG_ARGV_MAX; i++)
		ptrs[i] = a->arg[i];
	ptrs[i] = NULL;
}

/* gs_initdb's input rules ------------------------------------------------------------------- */

#define OG_NODE_NAME_MAX 64
#define OG_PASSWORD_MIN 8
#define OG_PASSWORD_MAX 32

int db_og_check_node_name(const char *name, char *err, size_t err_cap)
{
	size_t n = name ? strlen(name) : 0;
	bool ok = n >= 1 && n <= OG_NODE_NAME_MAX &&
		  (islower((unsigned char)name[0]) || name[0] == '_');

	for (size_t i = 1; ok && i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		ok = islower(c) || isdigit(c) || c == '_' || c == '#' || c == '$';
	}
	if (ok)
		return 0;
	err_set(err, err_cap,
		"openGauss node name \"%.80s\" is invalid: gs_initdb --nodename takes "
		"[a-z_][a-z0-9_#$]*, at most %d characters (e.g. \"node_1\", not \"node-1\" or "
		"\"Node1\")",
		name ? name : "", OG_NODE_NAME_MAX);
	return -EINVAL;
}

/* name equals password, or its reverse, ignoring case. */
static bool same_or_reversed(const char *name, const char *pw)
{
	size_t n = strlen(name);

	if (n == 0 || n != strlen(pw))
		return false;
	if (strcasecmp(name, pw) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)name[n - 1 - i]) != tolower((unsigned char)pw[i]))
			return false;
	return true;
}

int db_og_check_password(const char *user, const char *password, char *err, size_t err_cap)
{
	static const char specials[] = "~!@#$%^&*()-_=+\\|[{}];:,<.>/?";
	bool lower = false, upper = false, digit = false, special = false;
	size_t n = password ? strlen(password) : 0;

	if (n < OG_PASSWORD_MIN || n > OG_PASSWORD_MAX) {
		err_set(err, err_cap,
			"the openGauss superuser password must have %d to %d characters",
			OG_PASSWORD_MIN, OG_PASSWORD_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)password[i];

		if (islower(c))
			lower = true;
		else if (isupper(c))
			upper = true;
		else if (isdigit(c))
			digit = true;
		else if (c != '\0' && strchr(specials, c))
			special = true;
		else {
			err_set(err, err_cap,
				"the openGauss superuser password may hold only letters, digits "
				"and "
				"%s",
				specials);
			return -EINVAL;
		}
	}
	if ((int)lower + (int)upper + (int)digit + (int)special < 3) {
		err_set(err, err_cap,
			"the openGauss superuser password needs at least three of: lower-case, "
			"upper-case, digits, special characters");
		return -EINVAL;
	}
	if (user && same_or_reversed(user, password)) {
		err_set(err, err_cap,
			"the openGauss superuser password may not be the user name or its reverse");
		return -EINVAL;
	}
	return 0;
}
