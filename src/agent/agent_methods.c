/*
 * agent_methods.c - custom replica and bootstrap methods and recovery_conf, from struct cfg to
 * the database layer's plain structs (db.h: struct db_method). The one place that turns
 * Patroni's method sections into commands: create_replica_methods here, and standby_cluster's
 * list through agent_replica_methods too.
 */
#include "agent.h"
#include "callbacks.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "proc.h"

/* str() of the YAML value, as Patroni renders --key=value: booleans are True and False. */
static const char *python_str(const struct cfg_kv *kv)
{
	if (kv->kind != CFG_VALUE_BOOL)
		return kv->value;
	return strcasecmp(kv->value, "true") == 0 || strcasecmp(kv->value, "yes") == 0 ||
			       strcasecmp(kv->value, "on") == 0 || strcasecmp(kv->value, "y") == 0
		       ? "True"
		       : "False";
}

/* Splits command (as shlex.split) into out->words. */
static int split_words(const char *command, const char *what, char *words, size_t cap, int *argc,
		       char *err, size_t errlen)
{
	const char *argv[PROC_ARGV_MAX];
	char store[DB_METHOD_WORDS_MAX];
	size_t used = 0;
	int n = callbacks_split(command, store, sizeof(store), argv, PROC_ARGV_MAX);

	if (n <= 0)
		return err_fail(err, errlen, -EINVAL, "%s: could not split \"%s\" into words: %s",
				what, command,
				n == 0	       ? "it is empty"
				: n == -EINVAL ? "a quote is not closed"
					       : "it is too long");
	for (int i = 0; i < n; i++) {
		size_t len = strlen(argv[i]) + 1;

		if (used + len > cap)
			return err_fail(err, errlen, -E2BIG, "%s: the command is too long", what);
		memcpy(words + used, argv[i], len);
		used += len;
	}
	*argc = n;
	return 0;
}

/* One method: its section (may be NULL: Patroni then runs the method's name). */
static int method_of(const char *name, const struct cfg_replica_method *def, struct db_method *out,
		     char *err, size_t errlen)
{
	char what[CFG_KEY_MAX + 16];

	memset(out, 0, sizeof(*out));
	if (buf_copy(out->name, sizeof(out->name), name) != 0)
		return err_fail(err, errlen, -ENAMETOOLONG, "method name \"%s\" is too long", name);
	if (strcmp(name, "basebackup") == 0)
		return 0; /* its options are postgresql.basebackup */
	if (buf_format(what, sizeof(what), "postgresql.%s", name) != 0)
		what[0] = '\0'; /* the name fitted above: only the message is at stake */
	int rc = split_words(def && def->command[0] ? def->command : name, what, out->words,
			     sizeof(out->words), &out->argc, err, errlen);
	if (rc < 0 || def == NULL)
		return rc;
	out->keep_data = def->keep_data;
	out->no_params = def->no_params;
	out->no_leader = def->no_leader;
	if (def->params.count > DB_METHOD_OPTIONS_MAX)
		return err_fail(err, errlen, -E2BIG, "%s: more than %d options", what,
				DB_METHOD_OPTIONS_MAX);
	for (int i = 0; i < def->params.count; i++) {
		const struct cfg_kv *kv = &def->params.items[i];

		if (buf_format(out->options[i], sizeof(out->options[i]), "%s=%s", kv->name,
			       python_str(kv)) != 0)
			return err_fail(err, errlen, -ENAMETOOLONG, "%s.%s is too long", what,
					kv->name);
	}
	out->option_count = def->params.count;
	return 0;
}

int agent_replica_methods(const struct cfg *c, const struct cfg_list *names,
			  struct db_replica_methods *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (names->count > DB_METHODS_MAX)
		return err_fail(err, errlen, -E2BIG, "more than %d replica methods",
				DB_METHODS_MAX);
	for (int i = 0; i < names->count; i++) {
		const struct cfg_replica_method *def = NULL;

		for (int d = 0; d < c->postgresql.replica_methods_count; d++) {
			if (strcmp(c->postgresql.replica_methods[d].name, names->items[i]) == 0)
				def = &c->postgresql.replica_methods[d];
		}
		int rc = method_of(names->items[i], def, &out->items[i], err, errlen);
		if (rc < 0)
			return rc;
	}
	out->count = names->count;
	return 0;
}

static int recovery_conf_of(const struct cfg_options *in, struct db_param *out, int *count,
			    const char *what, char *err, size_t errlen)
{
	if (in->count > DB_RECOVERY_CONF_MAX)
		return err_fail(err, errlen, -E2BIG, "%s: more than %d settings", what,
				DB_RECOVERY_CONF_MAX);
	for (int i = 0; i < in->count; i++) {
		if (buf_copy(out[i].name, sizeof(out[i].name), in->items[i].name) != 0 ||
		    buf_copy(out[i].value, sizeof(out[i].value), in->items[i].value) != 0)
			return err_fail(err, errlen, -ENAMETOOLONG, "%s.%s is too long", what,
					in->items[i].name);
	}
	*count = in->count;
	return 0;
}

int agent_method_options(const struct cfg *c, struct db_options *o, char *err, size_t errlen)
{
	struct db_bootstrap_method *b = &o->bootstrap_method;
	const struct cfg_replica_method *def = &c->bootstrap.method_def;
	/* postgresql.recovery_conf is a cfg_params (the big list) that must fit the short one. */
	struct cfg_options rc_short;
	int rc;

	if (c->postgresql.recovery_conf.count > DB_RECOVERY_CONF_MAX)
		return err_fail(err, errlen, -E2BIG,
				"postgresql.recovery_conf: more than %d settings",
				DB_RECOVERY_CONF_MAX);
	memset(&rc_short, 0, sizeof(rc_short));
	for (int i = 0; i < c->postgresql.recovery_conf.count && i < CFG_OPTIONS_MAX; i++)
		rc_short.items[rc_short.count++] = c->postgresql.recovery_conf.items[i];
	rc = agent_replica_methods(c, &c->postgresql.create_replica_methods, &o->replica_methods,
				   err, errlen);
	if (rc == 0)
		rc = recovery_conf_of(&rc_short, o->recovery_conf, &o->recovery_conf_count,
				      "postgresql.recovery_conf", err, errlen);
	memset(b, 0, sizeof(*b));
	/* Patroni: a method other than initdb runs when its section has a command. */
	if (rc == 0 && c->bootstrap.method[0] && strcmp(c->bootstrap.method, "initdb") != 0 &&
	    c->bootstrap.has_method_def && def->command[0]) {
		rc = method_of(def->name, def, &b->method, err, errlen);
		b->keep_existing_recovery_conf = def->keep_existing_recovery_conf;
		b->has_recovery_conf = def->has_recovery_conf;
		if (rc == 0)
			rc = recovery_conf_of(&def->recovery_conf, b->recovery_conf,
					      &b->recovery_conf_count,
					      "bootstrap.method recovery_conf", err, errlen);
	}
	if (rc == 0 && c->bootstrap.post_bootstrap[0])
		rc = split_words(c->bootstrap.post_bootstrap, "bootstrap.post_bootstrap",
				 b->post_bootstrap, sizeof(b->post_bootstrap),
				 &b->post_bootstrap_argc, err, errlen);
	return rc;
}

bool agent_leaderless_methods(const struct cfg *c)
{
	const struct cfg_list *names = &c->postgresql.create_replica_methods;

	for (int i = 0; i < names->count; i++) {
		for (int d = 0; d < c->postgresql.replica_methods_count; d++) {
			const struct cfg_replica_method *m = &c->postgresql.replica_methods[d];

			if (strcmp(m->name, names->items[i]) == 0 && m->no_leader &&
			    strcmp(m->name, "basebackup") != 0)
				return true;
		}
	}
	return false;
}
