/*
 * ctl_args.c - gsctl's command line: global options, the command word, its options and
 * positional arguments. Pure: no environment, no I/O.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "ctl.h"
#include "name.h"
#include "num.h"
#include "timefmt.h"

static const char *const command_names[] = {
	[CTL_CMD_NONE] = "",
	[CTL_CMD_HELP] = "help",
	[CTL_CMD_LIST] = "list",
	[CTL_CMD_TOPOLOGY] = "topology",
	[CTL_CMD_SWITCHOVER] = "switchover",
	[CTL_CMD_FAILOVER] = "failover",
	[CTL_CMD_REINIT] = "reinit",
	[CTL_CMD_RESTART] = "restart",
	[CTL_CMD_RELOAD] = "reload",
	[CTL_CMD_PAUSE] = "pause",
	[CTL_CMD_RESUME] = "resume",
	[CTL_CMD_SHOW_CONFIG] = "show-config",
	[CTL_CMD_EDIT_CONFIG] = "edit-config",
	[CTL_CMD_HISTORY] = "history",
	[CTL_CMD_REMOVE] = "remove",
	[CTL_CMD_VERSION] = "version",
	[CTL_CMD_DEMOTE_CLUSTER] = "demote-cluster",
	[CTL_CMD_PROMOTE_CLUSTER] = "promote-cluster",
	[CTL_CMD_HAPROXY_CONFIG] = "haproxy-config",
};

static const char *const format_names[] = {
	[CTL_FORMAT_PRETTY] = "pretty",
	[CTL_FORMAT_TSV] = "tsv",
	[CTL_FORMAT_JSON] = "json",
	[CTL_FORMAT_YAML] = "yaml",
};

const char *ctl_command_name(enum ctl_command c)
{
	if ((unsigned)c >= sizeof(command_names) / sizeof(command_names[0]))
		return "";
	return command_names[c];
}

const char *ctl_format_name(enum ctl_format f)
{
	if ((unsigned)f >= sizeof(format_names) / sizeof(format_names[0]))
		return "";
	return format_names[f];
}

#define CMD(c) (1u << (c))
#define ALL_CMDS 0xffffffffu

enum opt_id {
	OPT_FORMAT,
	OPT_WATCH_REFRESH,
	OPT_WATCH,
	OPT_EXTENDED,
	OPT_LEADER,
	OPT_CANDIDATE,
	OPT_SCHEDULED,
	OPT_FORCE,
	OPT_WAIT,
	OPT_FROM_LEADER,
	OPT_ROLE,
	OPT_PENDING,
	OPT_TIMEOUT,
	OPT_SET,
	OPT_PG,
	OPT_APPLY,
	OPT_REPLACE,
	OPT_QUIET,
	OPT_PG_VERSION,
	OPT_HOST,
	OPT_PORT,
	OPT_RESTORE_COMMAND,
	OPT_PRIMARY_SLOT_NAME,
	OPT_PRIMARY_PORT,
	OPT_REPLICA_PORT,
	OPT_BIND,
};

struct opt_spec {
	const char *long_name;
	char short_name; /* 0: none */
	bool takes_value;
	enum opt_id id;
	unsigned commands; /* CMD() bits where the option is accepted */
};

static const struct opt_spec opt_specs[] = {
	{ "format", 'f', true, OPT_FORMAT,
	  CMD(CTL_CMD_LIST) | CMD(CTL_CMD_HISTORY) | CMD(CTL_CMD_REMOVE) },
	{ NULL, 'W', false, OPT_WATCH_REFRESH, CMD(CTL_CMD_LIST) | CMD(CTL_CMD_TOPOLOGY) },
	{ "watch", 'w', true, OPT_WATCH, CMD(CTL_CMD_LIST) | CMD(CTL_CMD_TOPOLOGY) },
	{ "extended", 'e', false, OPT_EXTENDED, CMD(CTL_CMD_LIST) | CMD(CTL_CMD_TOPOLOGY) },
	{ "leader", 0, true, OPT_LEADER, CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_FAILOVER) },
	{ "primary", 0, true, OPT_LEADER, CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_FAILOVER) },
	{ "master", 0, true, OPT_LEADER, CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_FAILOVER) },
	{ "candidate", 0, true, OPT_CANDIDATE, CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_FAILOVER) },
	{ "scheduled", 0, true, OPT_SCHEDULED, CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_RESTART) },
	{ "force", 0, false, OPT_FORCE,
	  CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_FAILOVER) | CMD(CTL_CMD_REINIT) |
		  CMD(CTL_CMD_RESTART) | CMD(CTL_CMD_RELOAD) | CMD(CTL_CMD_EDIT_CONFIG) |
		  CMD(CTL_CMD_REMOVE) | CMD(CTL_CMD_DEMOTE_CLUSTER) |
		  CMD(CTL_CMD_PROMOTE_CLUSTER) },
	{ "wait", 0, false, OPT_WAIT,
	  CMD(CTL_CMD_REINIT) | CMD(CTL_CMD_RESTART) | CMD(CTL_CMD_PAUSE) | CMD(CTL_CMD_RESUME) },
	{ "from-leader", 0, false, OPT_FROM_LEADER, CMD(CTL_CMD_REINIT) },
	{ "role", 'r', true, OPT_ROLE, CMD(CTL_CMD_RESTART) | CMD(CTL_CMD_RELOAD) },
	{ "pending", 0, false, OPT_PENDING, CMD(CTL_CMD_RESTART) },
	{ "timeout", 0, true, OPT_TIMEOUT,
	  CMD(CTL_CMD_REINIT) | CMD(CTL_CMD_RESTART) | CMD(CTL_CMD_PAUSE) | CMD(CTL_CMD_RESUME) |
		  CMD(CTL_CMD_SWITCHOVER) | CMD(CTL_CMD_FAILOVER) | CMD(CTL_CMD_DEMOTE_CLUSTER) |
		  CMD(CTL_CMD_PROMOTE_CLUSTER) },
	{ "set", 's', true, OPT_SET, CMD(CTL_CMD_EDIT_CONFIG) },
	{ "pg", 'p', true, OPT_PG, CMD(CTL_CMD_EDIT_CONFIG) },
	{ "apply", 0, true, OPT_APPLY, CMD(CTL_CMD_EDIT_CONFIG) },
	{ "replace", 0, true, OPT_REPLACE, CMD(CTL_CMD_EDIT_CONFIG) },
	{ "quiet", 'q', false, OPT_QUIET, CMD(CTL_CMD_EDIT_CONFIG) },
	{ "pg-version", 0, true, OPT_PG_VERSION, CMD(CTL_CMD_RESTART) },
	{ "host", 0, true, OPT_HOST, CMD(CTL_CMD_DEMOTE_CLUSTER) },
	{ "port", 0, true, OPT_PORT, CMD(CTL_CMD_DEMOTE_CLUSTER) },
	{ "restore-command", 0, true, OPT_RESTORE_COMMAND, CMD(CTL_CMD_DEMOTE_CLUSTER) },
	{ "primary-slot-name", 0, true, OPT_PRIMARY_SLOT_NAME, CMD(CTL_CMD_DEMOTE_CLUSTER) },
	{ "primary-port", 0, true, OPT_PRIMARY_PORT, CMD(CTL_CMD_HAPROXY_CONFIG) },
	{ "replica-port", 0, true, OPT_REPLICA_PORT, CMD(CTL_CMD_HAPROXY_CONFIG) },
	{ "bind", 0, true, OPT_BIND, CMD(CTL_CMD_HAPROXY_CONFIG) },
};

static const struct opt_spec *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(opt_specs) / sizeof(opt_specs[0]); i++) {
		const char *l = opt_specs[i].long_name;

		if (l != NULL && strlen(l) == len && strncmp(l, name, len) == 0)
			return &opt_specs[i];
	}
	return NULL;
}

static const struct opt_spec *find_short(char c)
{
	for (size_t i = 0; i < sizeof(opt_specs) / sizeof(opt_specs[0]); i++)
		if (opt_specs[i].short_name == c)
			return &opt_specs[i];
	return NULL;
}

static int copy_arg(char *dst, size_t cap, const char *value, const char *what, char *err,
		    size_t errlen)
{
	if (buf_copy(dst, cap, value) != 0) {
		return err_fail(err, errlen, -EINVAL, "%s is too long (at most %zu bytes)", what,
				cap - 1);
	}
	return 0;
}

int ctl_member_arg(char out[static MEMBER_NAME_MAX], const char *s, const char *what, char *err,
		   size_t errlen)
{
	int rc = member_name_copy(out, s);

	if (rc == -ENAMETOOLONG)
		return err_fail(
			err, errlen, -EINVAL,
			"%s \"%.20s...\" is %zu bytes long: a member name has at most %d "
			"bytes (PostgreSQL keeps %d bytes of application_name and slot names), "
			"so no member is called that",
			what, s, strlen(s), MEMBER_NAME_LEN, MEMBER_NAME_LEN);
	if (rc != 0)
		return err_fail(err, errlen, -EINVAL,
				"%s \"%.64s\" is not a member name: it is empty or has a control "
				"character",
				what, s);
	return 0;
}

/* The offset of the local time zone from UTC, in seconds, at the wall time whose fields read
 * as UTC give utc_ms (a time written without a zone). */
static long local_offset_s(int64_t utc_ms)
{
	time_t t = (time_t)(utc_ms / 1000);
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	off = tm.tm_gmtoff;
	t = (time_t)(utc_ms / 1000 - off); /* the instant itself, for a DST change in between */
	if (localtime_r(&t, &tm) == NULL)
		return off;
	return tm.tm_gmtoff;
}

int ctl_parse_scheduled(const char *s, char *out, size_t cap, char *err, size_t errlen)
{
	char norm[TIME_ISO_MAX], zoned[CTL_WORD_MAX + 8];
	size_t n;
	int64_t ms;
	long off;
	enum time_parse_result r;

	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || (n == 3 && strncmp(s, "now", 3) == 0)) {
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	r = time_parse_iso(s, &ms, norm, sizeof(norm));
	if (r == TIME_NO_ZONE && n < CTL_WORD_MAX) {
		/* patronictl: a time without a zone is in the local time zone */
		if (buf_format(zoned, sizeof(zoned), "%.*s+00:00", (int)n, s) != 0 ||
		    time_parse_iso(zoned, &ms, NULL, 0) != TIME_OK)
			r = TIME_UNPARSABLE;
		else {
			off = local_offset_s(ms);
			if (buf_format(zoned, sizeof(zoned), "%.*s%c%02ld:%02ld", (int)n, s,
				       off < 0 ? '-' : '+', labs(off) / 3600,
				       labs(off) % 3600 / 60) != 0)
				r = TIME_UNPARSABLE;
			else
				r = time_parse_iso(zoned, &ms, norm, sizeof(norm));
		}
	}
	if (r != TIME_OK)
		return err_fail(
			err, errlen, -EINVAL,
			"could not read the scheduled time \"%.64s\": write an ISO 8601 time "
			"such as 2026-12-07T10:00+01:00 (without a zone it is local time), "
			"or now",
			s);
	if (buf_copy(out, cap, norm) != 0)
		return err_fail(err, errlen, -EINVAL, "the scheduled time is too long");
	return 0;
}

static int apply_opt(struct ctl_args *a, const struct opt_spec *s, const char *shown,
		     const char *value, char *err, size_t errlen)
{
	int64_t n;

	switch (s->id) {
	case OPT_FORMAT:
		for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
			if (strcmp(value, format_names[i]) == 0) {
				a->format = (enum ctl_format)i;
				return 0;
			}
		}
		err_set(err, errlen, "%s: unknown format \"%.64s\" (use pretty, tsv, json or yaml)",
			shown, value);
		return -EINVAL;
	case OPT_WATCH_REFRESH:
		a->watch = true;
		a->watch_interval_ms = 2000;
		return 0;
	case OPT_WATCH:
		if (num_parse_i64(value, 1, 3600, &n) != 0) {
			return err_fail(err, errlen, -EINVAL,
					"%s: \"%.64s\" is not a number of seconds (1-3600)", shown,
					value);
		}
		a->watch = true;
		a->watch_interval_ms = n * 1000;
		return 0;
	case OPT_EXTENDED:
		a->extended = true;
		return 0;
	case OPT_LEADER:
		if (value[0] == '\0') /* "" is not given: gsctl asks or takes the leader */
			return 0;
		return ctl_member_arg(a->leader, value, shown, err, errlen);
	case OPT_CANDIDATE:
		if (value[0] == '\0')
			return 0;
		return ctl_member_arg(a->candidate, value, shown, err, errlen);
	case OPT_SCHEDULED:
		if (ctl_parse_scheduled(value, a->scheduled, sizeof(a->scheduled), err, errlen) !=
		    0)
			return -EINVAL;
		/* "now" given is not "not given": gsctl does not ask when */
		if (a->scheduled[0] == '\0')
			return copy_arg(a->scheduled, sizeof(a->scheduled), "now", shown, err,
					errlen);
		return 0;
	case OPT_FORCE:
		a->force = true;
		return 0;
	case OPT_WAIT:
		a->wait = true;
		return 0;
	case OPT_FROM_LEADER:
		a->from_leader = true;
		return 0;
	case OPT_ROLE:
		if (strcmp(value, "leader") != 0 && strcmp(value, "primary") != 0 &&
		    strcmp(value, "master") != 0 && strcmp(value, "replica") != 0 &&
		    strcmp(value, "standby") != 0 && strcmp(value, "any") != 0) {
			err_set(err, errlen,
				"%s: unknown role \"%.64s\" (use leader, primary, replica or any)",
				shown, value);
			return -EINVAL;
		}
		return copy_arg(a->role, sizeof(a->role), value, shown, err, errlen);
	case OPT_PENDING:
		a->pending = true;
		return 0;
	case OPT_TIMEOUT:
		if (num_parse_i64(value, 1, 86400, &n) != 0) {
			return err_fail(err, errlen, -EINVAL,
					"%s: \"%.64s\" is not a number of seconds (1-86400)", shown,
					value);
		}
		a->timeout_ms = n * 1000;
		return 0;
	case OPT_SET:
	case OPT_PG: {
		const char *eq = strchr(value, '=');
		int rc;

		if (eq == NULL || eq == value) {
			return err_fail(err, errlen, -EINVAL,
					"%s: \"%.64s\" is not of the form name=value", shown,
					value);
		}
		if (a->set_count >= CTL_SETS_MAX) {
			return err_fail(err, errlen, -EINVAL,
					"too many --set/--pg options (at most %d)", CTL_SETS_MAX);
		}
		if (s->id == OPT_PG)
			rc = buf_format(a->sets[a->set_count], CTL_SET_MAX,
					"postgresql.parameters.%s", value);
		else
			rc = buf_copy(a->sets[a->set_count], CTL_SET_MAX, value);
		if (rc != 0) {
			return err_fail(err, errlen, -EINVAL, "%s is too long (at most %d bytes)",
					shown, CTL_SET_MAX - 1);
		}
		a->set_count++;
		return 0;
	}
	case OPT_APPLY:
		return copy_arg(a->apply_file, sizeof(a->apply_file), value, shown, err, errlen);
	case OPT_REPLACE:
		return copy_arg(a->replace_file, sizeof(a->replace_file), value, shown, err,
				errlen);
	case OPT_QUIET:
		a->quiet = true;
		return 0;
	case OPT_PG_VERSION:
		return copy_arg(a->pg_version, sizeof(a->pg_version), value, shown, err, errlen);
	case OPT_HOST:
		return copy_arg(a->host, sizeof(a->host), value, shown, err, errlen);
	case OPT_PORT:
	case OPT_PRIMARY_PORT:
	case OPT_REPLICA_PORT:
		if (num_parse_i64(value, 1, 65535, &n) != 0)
			return err_fail(err, errlen, -EINVAL,
					"%s: \"%.64s\" is not a port number (1-65535)", shown,
					value);
		if (s->id == OPT_PORT)
			a->port = (int)n;
		else if (s->id == OPT_PRIMARY_PORT)
			a->primary_port = (int)n;
		else
			a->replica_port = (int)n;
		return 0;
	case OPT_BIND:
		return copy_arg(a->bind, sizeof(a->bind), value, shown, err, errlen);
	case OPT_RESTORE_COMMAND:
		return copy_arg(a->restore_command, sizeof(a->restore_command), value, shown, err,
				errlen);
	case OPT_PRIMARY_SLOT_NAME:
		return copy_arg(a->primary_slot_name, sizeof(a->primary_slot_name), value, shown,
				err, errlen);
	}
	return -EINVAL;
}

/* Global options, before the command word. Returns the index of the command word. */
static int parse_global(int argc, char **argv, struct ctl_args *a, char *err, size_t errlen)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		const char *o = argv[i];
		const char *value = NULL;
		char *target = NULL;
		size_t cap = 0;

		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			a->command = CTL_CMD_HELP;
			i++;
			continue;
		}
		if (strcmp(o, "--version") == 0) {
			a->command = CTL_CMD_VERSION;
			i++;
			continue;
		}
		if (strcmp(o, "-k") == 0 || strcmp(o, "--insecure") == 0) {
			a->insecure = true;
			i++;
			continue;
		}
		if (strcmp(o, "-c") == 0 || strcmp(o, "--config-file") == 0 ||
		    strncmp(o, "--config-file=", 14) == 0) {
			target = a->config_file;
			cap = sizeof(a->config_file);
		} else if (strcmp(o, "-d") == 0 || strcmp(o, "--dcs-url") == 0 ||
			   strcmp(o, "--dcs") == 0 || strncmp(o, "--dcs-url=", 10) == 0) {
			target = a->dcs_url;
			cap = sizeof(a->dcs_url);
		} else {
			err_set(err, errlen,
				"unknown option \"%.64s\" (global options: -c, -d, -k)", o);
			return -EINVAL;
		}
		value = strchr(o, '=');
		if (value != NULL && o[1] == '-') {
			value++;
		} else {
			if (i + 1 >= argc) {
				return err_fail(err, errlen, -EINVAL, "option %.64s needs a value",
						o);
			}
			value = argv[++i];
		}
		if (copy_arg(target, cap, value, o, err, errlen) != 0)
			return -EINVAL;
		i++;
	}
	return i;
}

int ctl_parse_args(int argc, char **argv, struct ctl_args *out, char *err, size_t errlen)
{
	struct ctl_args a;
	bool options_done = false;
	int i;

	memset(&a, 0, sizeof(a));
	a.format = CTL_FORMAT_PRETTY;
	i = parse_global(argc, argv, &a, err, errlen);
	if (i < 0)
		return -EINVAL;
	if (a.command == CTL_CMD_HELP || (a.command == CTL_CMD_VERSION && i >= argc)) {
		*out = a;
		return 0;
	}
	if (i >= argc) {
		return err_fail(err, errlen, -EINVAL, "no command given (try gsctl --help)");
	}
	a.command = CTL_CMD_NONE;
	for (size_t c = CTL_CMD_HELP; c < sizeof(command_names) / sizeof(command_names[0]); c++) {
		if (strcmp(argv[i], command_names[c]) == 0)
			a.command = (enum ctl_command)c;
	}
	if (a.command == CTL_CMD_NONE) {
		return err_fail(err, errlen, -EINVAL,
				"unknown command \"%.64s\" (try gsctl --help)", argv[i]);
	}
	for (i++; i < argc; i++) {
		const char *arg = argv[i];
		const struct opt_spec *s = NULL;
		const char *value = NULL;
		char shown[80];

		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			a.command = CTL_CMD_HELP;
			*out = a;
			return 0;
		}
		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			if (a.cluster[0] == '\0' && a.member_count == 0) {
				if (copy_arg(a.cluster, sizeof(a.cluster), arg, "the cluster name",
					     err, errlen) != 0)
					return -EINVAL;
			} else if (a.member_count >= CTL_MEMBERS_MAX) {
				return err_fail(err, errlen, -EINVAL,
						"too many member names (at most %d)",
						CTL_MEMBERS_MAX);
			} else if (ctl_member_arg(a.members[a.member_count++], arg, "member", err,
						  errlen) != 0) {
				return -EINVAL;
			}
			continue;
		}
		if (arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);

			s = find_long(arg + 2, len);
			if (eq != NULL)
				value = eq + 1;
			snprintf(shown, sizeof(shown), "--%.*s", (int)(len > 64 ? 64 : len),
				 arg + 2);
		} else {
			s = arg[2] == '\0' ? find_short(arg[1]) : NULL;
			if (s == NULL && arg[2] != '\0') {
				/* -fjson */
				s = find_short(arg[1]);
				if (s != NULL && s->takes_value)
					value = arg + 2;
				else
					s = NULL;
			}
			snprintf(shown, sizeof(shown), "-%c", arg[1]);
		}
		if (s == NULL || !(s->commands & CMD(a.command))) {
			return err_fail(err, errlen, -EINVAL, "%s: no such option \"%.64s\"",
					command_names[a.command], arg);
		}
		if (s->takes_value && value == NULL) {
			if (i + 1 >= argc) {
				return err_fail(err, errlen, -EINVAL, "option %s needs a value",
						shown);
			}
			value = argv[++i];
		} else if (!s->takes_value && value != NULL) {
			return err_fail(err, errlen, -EINVAL, "option %s takes no value", shown);
		}
		if (apply_opt(&a, s, shown, value, err, errlen) != 0)
			return -EINVAL;
	}
	if (a.apply_file[0] != '\0' && a.replace_file[0] != '\0') {
		return err_fail(err, errlen, -EINVAL,
				"edit-config: --apply and --replace exclude each other");
	}
	if (a.primary_port != 0 && a.primary_port == a.replica_port) {
		return err_fail(err, errlen, -EINVAL,
				"haproxy-config: --primary-port and --replica-port must differ");
	}
	if (a.command == CTL_CMD_FAILOVER && a.scheduled[0] != '\0') {
		return err_fail(err, errlen, -EINVAL, "failover: a failover cannot be scheduled");
	}
	*out = a;
	return 0;
}
