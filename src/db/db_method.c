/*
 * db_method.c - the one home of Patroni's user-supplied data directory commands: custom replica
 * creation methods (postgresql.create_replica_methods) and custom bootstrap methods
 * (bootstrap.method). Pure: which method runs next, and the command line each one gets, in
 * Patroni 4.1's argument forms (patroni/postgresql/bootstrap.py). The driver runs them.
 */
#include "db_driver.h"

#include "buf.h"
#include "err.h"

#include <errno.h>
#include <string.h>

/* Appends "--name=value" to store and its pointer to argv. */
static int add_arg(const char *name, const char *value, char *store, size_t cap, size_t *used,
		   const char **argv, int argv_cap, int *n)
{
	if (*n + 1 >= argv_cap)
		return -E2BIG;
	if (buf_format(store + *used, cap - *used, "--%s=%s", name, value) != 0)
		return -E2BIG;
	argv[(*n)++] = store + *used;
	*used += strlen(store + *used) + 1;
	return 0;
}

/* The command's words. */
static int add_words(const struct db_method *m, const char **argv, int argv_cap, int *n)
{
	const char *w = m->words;
	const char *end = m->words + sizeof(m->words);

	if (m->argc <= 0)
		return -EINVAL;
	for (int i = 0; i < m->argc; i++) {
		const char *nul = memchr(w, '\0', (size_t)(end - w));

		if (nul == NULL || *n + 1 >= argv_cap)
			return nul == NULL ? -EINVAL : -E2BIG;
		argv[(*n)++] = w;
		w = nul + 1;
	}
	return 0;
}

/* Splits an option "key=value" into its key (copied to key) and value. */
static const char *option_split(const char *opt, char *key, size_t key_cap)
{
	const char *eq = strchr(opt, '=');
	size_t len = eq ? (size_t)(eq - opt) : strlen(opt);

	if (len >= key_cap)
		len = key_cap - 1;
	memcpy(key, opt, len);
	key[len] = '\0';
	return eq ? eq + 1 : "";
}

static bool is_one_of(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, words[i]) == 0)
			return true;
	}
	return false;
}

int db_method_replica_argv(const struct db_method *m, const char *scope, const char *datadir,
			   const char *connstring, char *store, size_t cap, const char **argv,
			   int argv_cap)
{
	/* Patroni: method_config.update({scope, role, datadir, connstring}) unless no_params, so a
	 * key of the method with one of these names gets Patroni's value in its place, and the
	 * others follow the method's options; with no_params its three switches are dropped. */
	const char *fixed_names[] = { "scope", "role", "datadir", "connstring" };
	const char *fixed_values[] = { scope, "replica", datadir, connstring };
	static const char *const switches[] = { "no_params", "no_leader", "keep_data" };
	bool used_fixed[4] = { false, false, false, false };
	size_t used = 0;
	int n = 0;
	int rc = add_words(m, argv, argv_cap, &n);

	for (int i = 0; rc == 0 && i < m->option_count; i++) {
		char key[DB_TOOL_OPTION_MAX];
		const char *value = option_split(m->options[i], key, sizeof(key));

		if (m->no_params && is_one_of(key, switches, 3))
			continue;
		for (int f = 0; !m->no_params && f < 4; f++) {
			if (strcmp(key, fixed_names[f]) == 0) {
				value = fixed_values[f];
				used_fixed[f] = true;
			}
		}
		rc = add_arg(key, value, store, cap, &used, argv, argv_cap, &n);
	}
	for (int f = 0; rc == 0 && !m->no_params && f < 4; f++) {
		if (!used_fixed[f])
			rc = add_arg(fixed_names[f], fixed_values[f], store, cap, &used, argv,
				     argv_cap, &n);
	}
	if (rc < 0)
		return rc;
	argv[n] = NULL;
	return n;
}

int db_method_bootstrap_argv(const struct db_method *m, const char *scope, const char *datadir,
			     char *store, size_t cap, const char **argv, int argv_cap)
{
	/* Patroni: ["--scope=", "--datadir="] unless no_params, then every other key but the
	 * reserved ones. */
	static const char *const reserved[] = {
		"command",	 "no_params", "keep_existing_recovery_conf",
		"recovery_conf", "scope",     "datadir"
	};
	size_t used = 0;
	int n = 0;
	int rc = add_words(m, argv, argv_cap, &n);

	if (rc == 0 && !m->no_params) {
		rc = add_arg("scope", scope, store, cap, &used, argv, argv_cap, &n);
		if (rc == 0)
			rc = add_arg("datadir", datadir, store, cap, &used, argv, argv_cap, &n);
	}
	for (int i = 0; rc == 0 && i < m->option_count; i++) {
		char key[DB_TOOL_OPTION_MAX];
		const char *value = option_split(m->options[i], key, sizeof(key));

		if (!is_one_of(key, reserved, sizeof(reserved) / sizeof(reserved[0])))
			rc = add_arg(key, value, store, cap, &used, argv, argv_cap, &n);
	}
	if (rc < 0)
		return rc;
	argv[n] = NULL;
	return n;
}

bool db_method_is_basebackup(const struct db_method *m)
{
	return strcmp(m->name, "basebackup") == 0;
}

int db_method_next(const struct db_replica_methods *ms, int from, bool have_source)
{
	for (int i = from < 0 ? 0 : from; i < ms->count; i++) {
		const struct db_method *m = &ms->items[i];

		/* Without a member to copy from only the methods that need none can run. */
		if (have_source || (!db_method_is_basebackup(m) && m->no_leader))
			return i;
	}
	return -1;
}

int db_methods_check(const struct db_replica_methods *ms, char *err, size_t err_cap)
{
	if (ms->count < 0 || ms->count > DB_METHODS_MAX)
		return err_fail(err, err_cap, -EINVAL, "bad count of replica methods");
	for (int i = 0; i < ms->count; i++) {
		int rc = db_method_check(&ms->items[i], err, err_cap);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int db_method_check(const struct db_method *m, char *err, size_t err_cap)
{
	const char *w = m->words;
	const char *end = m->words + sizeof(m->words);

	if (memchr(m->name, '\0', sizeof(m->name)) == NULL || m->name[0] == '\0')
		return err_fail(err, err_cap, -EINVAL, "a method has no name");
	if (m->argc < 0 || m->option_count < 0 || m->option_count > DB_METHOD_OPTIONS_MAX ||
	    (m->argc == 0 && !db_method_is_basebackup(m)))
		return err_fail(err, err_cap, -EINVAL, "method \"%s\" has no command", m->name);
	for (int i = 0; i < m->argc; i++) {
		const char *nul = memchr(w, '\0', (size_t)(end - w));

		if (nul == NULL)
			return err_fail(err, err_cap, -EINVAL, "method \"%s\": bad command",
					m->name);
		w = nul + 1;
	}
	for (int i = 0; i < m->option_count; i++) {
		if (memchr(m->options[i], '\0', sizeof(m->options[i])) == NULL ||
		    m->options[i][0] == '\0' || m->options[i][0] == '=')
			return err_fail(err, err_cap, -EINVAL, "method \"%s\": bad option %d",
					m->name, i + 1);
	}
	return 0;
}
