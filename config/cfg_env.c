/*
 * cfg_env.c - environment overrides: PATRONI_<KEY> and GSHA_<KEY> for every key-table row that
 * names one, and Patroni's PATRONI_<user>_PASSWORD / _OPTIONS bootstrap users.
 */
#include "cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cfg_internal.h"

const char *cfg_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (envp == NULL)
		return NULL;
	for (char *const *e = envp; *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	}
	return NULL;
}

/* Finds the first set one of GSHA_<env>, PATRONI_<env>, GSHA_<alias>, PATRONI_<alias>. */
static const char *env_lookup(char *const *envp, const struct cfg_key *k, char *name, size_t cap)
{
	const char *suffixes[2] = { k->env, k->env_alias };
	static const char *const prefixes[2] = { "GSHA_", "PATRONI_" };

	for (int s = 0; s < 2; s++) {
		if (suffixes[s] == NULL)
			continue;
		for (int p = 0; p < 2; p++) {
			const char *v;

			if (buf_format(name, cap, "%s%s", prefixes[p], suffixes[s]) != 0)
				continue;
			v = cfg_env_get(envp, name);
			if (v != NULL && v[0] != '\0') /* Patroni ignores empty variables */
				return v;
		}
	}
	return NULL;
}

static void apply_env_table(struct cfg_reader *r, char *const *envp, const struct cfg_key *table,
			    const char *shown_prefix, void *base)
{
	for (const struct cfg_key *k = table; k->path != NULL; k++) {
		char name[128], shown[CFG_KEYPATH_MAX], source[160];
		const char *value;
		const char *saved = r->source;
		enum cfg_value_kind kind;

		if (k->env == NULL)
			continue;
		value = env_lookup(envp, k, name, sizeof(name));
		if (value == NULL)
			continue;
		if (cfg_join_path(shown, sizeof(shown), shown_prefix, k->path) != 0 ||
		    buf_format(source, sizeof(source), "environment variable %s", name) != 0)
			continue;
		r->source = source;
		cfg_mark_seen(r, k, 0, 0);
		if (k->type == CFG_KEY_IGNORED) {
			cfg_rec_warning(r, 0, 0, shown, CFG_TODO_TEXT);
		} else if (k->type == CFG_KEY_LIST) {
			(void)cfg_list_from_csv(r, (struct cfg_list *)(void *)CFG_FIELD(base, k),
						value, 0, 0, shown);
		} else if (k->type == CFG_KEY_PARAMS) {
			(void)cfg_params_from_env(r, cfg_field_kv_view(CFG_FIELD(base, k), k->size),
						  value, shown);
		} else {
			if (cfg_plain_scalar_type(value, &kind) == CFG_NODE_NULL)
				kind = CFG_VALUE_STRING;
			(void)cfg_set_scalar(r, k, base, value, kind, 0, 0, shown);
		}
		cfg_warn_todo(r, k, base, 0, 0, shown);
		r->source = saved;
	}
}

/* True when NAME (after the prefix) is the environment name of a key in either table. */
static bool is_key_env(const char *name, size_t len)
{
	const struct cfg_key *tables[] = { cfg_keys, cfg_dynamic_keys };

	for (int t = 0; t < 2; t++) {
		for (const struct cfg_key *k = tables[t]; k->path != NULL; k++) {
			if ((k->env && strlen(k->env) == len && strncmp(k->env, name, len) == 0) ||
			    (k->env_alias && strlen(k->env_alias) == len &&
			     strncmp(k->env_alias, name, len) == 0))
				return true;
		}
	}
	return false;
}

/* Patroni's bootstrap users from the environment: PATRONI_<user>_PASSWORD=<password> and
 * PATRONI_<user>_OPTIONS=<option,...> (GSHA_ works too). Replaces bootstrap.users when any is
 * set, as Patroni's environment replaces the file's section. */
static void apply_env_users(struct cfg_reader *r, char *const *envp, struct cfg *c)
{
	static const char *const prefixes[] = { "GSHA_", "PATRONI_" };
	bool replaced = false;

	for (char *const *e = envp; e != NULL && *e != NULL; e++) {
		for (int p = 0; p < 2; p++) {
			size_t plen = strlen(prefixes[p]);
			const char *eq = strchr(*e, '=');
			const char *user = *e + plen;
			char source[160], shown[CFG_KEYPATH_MAX], opt_name[160];
			struct cfg_user *u;
			size_t ulen;

			if (strncmp(*e, prefixes[p], plen) != 0 || eq == NULL || eq - user <= 9 ||
			    strncmp(eq - 9, "_PASSWORD", 9) != 0 || eq[1] == '\0')
				continue;
			if (is_key_env(user, (size_t)(eq - user)))
				continue;
			ulen = (size_t)(eq - 9 - user);
			if (buf_format(source, sizeof(source), "environment variable %.*s",
				       (int)(eq - *e), *e) != 0 ||
			    buf_format(shown, sizeof(shown), "bootstrap.users.%.*s", (int)ulen,
				       user) != 0)
				continue;
			if (!replaced) {
				c->bootstrap.users_count = 0;
				replaced = true;
			}
			const char *saved = r->source;

			r->source = source;
			if (c->bootstrap.users_count >= CFG_USERS_MAX || ulen >= CFG_NAME_MAX ||
			    strlen(eq + 1) >= CFG_SECRET_MAX) {
				cfg_rec_error(r, 0, 0, shown,
					      "too many users, or a name or password "
					      "that is too long");
				r->source = saved;
				continue;
			}
			/* As bootstrap.users in the file: gsha creates no such user; say so. */
			cfg_rec_warning(r, 0, 0, shown,
					CFG_TODO_TEXT
					": create the users by hand (Patroni 4 dropped "
					"this key)");
			u = &c->bootstrap.users[c->bootstrap.users_count++];
			memset(u, 0, sizeof(*u));
			memcpy(u->name, user, ulen);
			memcpy(u->password, eq + 1, strlen(eq + 1) + 1);
			if (buf_format(opt_name, sizeof(opt_name), "%s%.*s_OPTIONS", prefixes[p],
				       (int)ulen, user) == 0) {
				const char *opts = cfg_env_get(envp, opt_name);
				struct cfg_list *tmp = opts ? malloc(sizeof(*tmp)) : NULL;

				if (tmp != NULL &&
				    cfg_list_from_csv(r, tmp, opts, 0, 0, shown) == 0) {
					for (int i = 0; i < tmp->count; i++) {
						if (u->options.count >= CFG_WORDS_MAX ||
						    buf_copy(u->options.items[u->options.count],
							     CFG_WORD_MAX, tmp->items[i]) != 0) {
							cfg_rec_error(
								r, 0, 0, shown,
								"too many or too long options");
							break;
						}
						u->options.count++;
					}
				}
				free(tmp);
			}
			r->source = saved;
		}
	}
}

/* Patroni's other DCS sections from the environment (PATRONI_KUBERNETES_POD_IP, ...): named
 * once each, as the same sections in a file are. */
static void warn_env_other_dcs(struct cfg_reader *r, char *const *envp)
{
	static const char *const sections[] = { "KUBERNETES", "CONSUL", "ZOOKEEPER", "EXHIBITOR",
						"RAFT" };

	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		char prefix[32], source[160], key[16];
		size_t plen;

		if (buf_format(prefix, sizeof(prefix), "PATRONI_%s_", sections[s]) != 0)
			continue;
		plen = strlen(prefix);
		for (char *const *e = envp; e != NULL && *e != NULL; e++) {
			const char *eq = strchr(*e, '=');
			const char *saved = r->source;

			if (strncmp(*e, prefix, plen) != 0 || eq == NULL ||
			    buf_format(source, sizeof(source), "environment variable %.*s",
				       (int)(eq - *e), *e) != 0)
				continue;
			for (size_t i = 0; i <= strlen(sections[s]) && i < sizeof(key); i++)
				key[i] = (char)(sections[s][i] >= 'A' && sections[s][i] <= 'Z'
							? sections[s][i] - 'A' + 'a'
							: sections[s][i]);
			r->source = source;
			cfg_rec_warning(r, 0, 0, key,
					CFG_TODO_TEXT
					": gsha keeps the cluster's state in etcd only");
			r->source = saved;
			break;
		}
	}
}

void cfg_env_apply(struct cfg_reader *r, char *const *envp, struct cfg *c)
{
	warn_env_other_dcs(r, envp);
	apply_env_table(r, envp, cfg_keys, "", c);
	apply_env_table(r, envp, cfg_dynamic_keys, "bootstrap.dcs", &c->bootstrap.dcs);
	apply_env_users(r, envp, c);
}
