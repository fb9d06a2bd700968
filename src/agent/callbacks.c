/*
 * callbacks.c - see callbacks.h. Two slots, as Patroni's CallbackExecutor and its separate
 * on_reload executor: one for on_start/on_stop/on_restart/on_role_change, one for on_reload.
 * Each child runs through proc.h (its own process group, a deadline, output captured).
 */
#include "callbacks.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "enum_name.h"
#include "log.h"
#include "proc.h"

/* Patroni's words for the roles a callback is told about. */
#define ROLE_WORD_MAX 16

static const char *const action_names[] = {
	[CB_ON_START] = "on_start",
	[CB_ON_STOP] = "on_stop",
	[CB_ON_RESTART] = "on_restart",
	[CB_ON_RELOAD] = "on_reload",
	[CB_ON_ROLE_CHANGE] = "on_role_change",
};

const char *cb_action_name(enum cb_action a)
{
	return ENUM_NAME(action_names, a);
}

struct cb_slot {
	struct proc *p;		  /* the running (or finished, not yet reaped) callback */
	enum cb_action action;	  /* what it is */
	char role[ROLE_WORD_MAX]; /* the role it was told */
};

struct callbacks {
	char commands[CB_ACTION_COUNT_][CFG_LINE_MAX]; /* "" = not configured */
	char scope[CFG_NAME_MAX];
	char primary_word[ROLE_WORD_MAX];
	char announced[ROLE_WORD_MAX]; /* the role last told to a callback; "" = none yet */
	char pre_promote[CFG_LINE_MAX];
	char before_stop[CFG_LINE_MAX];
	int64_t backoff_until_ms; /* monotonic; no leader race before it after a veto */
	struct cb_slot slots[2];  /* [0] everything but on_reload, [1] on_reload */
};

struct callbacks *callbacks_new(const struct cfg *c, const char *primary_word)
{
	struct callbacks *cb = calloc(1, sizeof(*cb));

	if (cb == NULL) {
		log_error("out of memory: callbacks, pre_promote and before_stop will not run");
		return NULL;
	}
	if (buf_copy(cb->commands[CB_ON_START], CFG_LINE_MAX, c->postgresql.callbacks.on_start) !=
		    0 ||
	    buf_copy(cb->commands[CB_ON_STOP], CFG_LINE_MAX, c->postgresql.callbacks.on_stop) !=
		    0 ||
	    buf_copy(cb->commands[CB_ON_RESTART], CFG_LINE_MAX,
		     c->postgresql.callbacks.on_restart) != 0 ||
	    buf_copy(cb->commands[CB_ON_RELOAD], CFG_LINE_MAX, c->postgresql.callbacks.on_reload) !=
		    0 ||
	    buf_copy(cb->commands[CB_ON_ROLE_CHANGE], CFG_LINE_MAX,
		     c->postgresql.callbacks.on_role_change) != 0 ||
	    buf_copy(cb->pre_promote, CFG_LINE_MAX, c->postgresql.pre_promote) != 0 ||
	    buf_copy(cb->before_stop, CFG_LINE_MAX, c->postgresql.before_stop) != 0 ||
	    buf_copy(cb->scope, sizeof(cb->scope), c->scope) != 0 ||
	    buf_copy(cb->primary_word, sizeof(cb->primary_word), primary_word) != 0) {
		free(cb); /* the configuration's limits are the same sizes: cannot happen */
		return NULL;
	}
	return cb;
}

void callbacks_reconfigure(struct callbacks *cb, const struct cfg *c)
{
	struct callbacks *fresh;

	if (cb == NULL)
		return;
	fresh = callbacks_new(c, cb->primary_word);
	if (fresh == NULL)
		return;
	/* The commands change; the running callbacks, the role last announced and the veto's
	 * backoff stay. */
	memcpy(cb->commands, fresh->commands, sizeof(cb->commands));
	memcpy(cb->pre_promote, fresh->pre_promote, sizeof(cb->pre_promote));
	memcpy(cb->before_stop, fresh->before_stop, sizeof(cb->before_stop));
	free(fresh);
}

/* Logs how a finished callback ended and frees it. */
static void reap(struct cb_slot *s)
{
	const struct proc_result *res = proc_get_result(s->p);

	if (proc_ok(s->p))
		log_info("callback %s (role \"%s\") finished in %lld ms", cb_action_name(s->action),
			 s->role, (long long)res->elapsed_ms);
	else
		log_warning("callback %s (role \"%s\") failed: %s%s%s", cb_action_name(s->action),
			    s->role, res->reason, proc_last_line(s->p)[0] ? ": " : "",
			    proc_last_line(s->p));
	proc_free(s->p);
	s->p = NULL;
}

/* Ends the slot's callback at once, as Patroni does (its process group gets SIGKILL). */
static void end_running(struct cb_slot *s, enum cb_action newer)
{
	int pid;

	if (s->p == NULL)
		return;
	if (proc_poll(s->p, 0) == 0) {
		reap(s);
		return;
	}
	pid = proc_pid(s->p);
	if (pid > 0)
		(void)kill(-pid, SIGKILL);
	/* A killed group is reaped within milliseconds; proc_free bounds the rare rest. */
	(void)proc_poll(s->p, 200);
	log_notice("callback %s (role \"%s\") was still running: ended it for %s",
		   cb_action_name(s->action), s->role, cb_action_name(newer));
	proc_free(s->p);
	s->p = NULL;
}

void callbacks_fire(struct callbacks *cb, enum cb_action action, const char *role)
{
	char store[CFG_LINE_MAX + 3 * CFG_NAME_MAX];
	const char *argv[PROC_ARGV_MAX];
	char err[PROC_REASON_MAX];
	struct cb_slot *s;
	int n, rc;

	if (cb == NULL || (unsigned)action >= CB_ACTION_COUNT_ || cb->commands[action][0] == '\0')
		return;
	if (role == NULL)
		role = cb->announced[0] ? cb->announced : "replica";
	s = &cb->slots[action == CB_ON_RELOAD ? 1 : 0];
	end_running(s, action);

	n = callbacks_split(cb->commands[action], store, sizeof(store), argv, PROC_ARGV_MAX - 3);
	if (n <= 0) {
		log_warning("callback %s: could not split \"%s\" into words: %s, skipping it",
			    cb_action_name(action), cb->commands[action],
			    n == 0	   ? "it is empty"
			    : n == -EINVAL ? "a quote is not closed"
					   : "it is too long");
		return;
	}
	argv[n++] = cb_action_name(action);
	argv[n++] = role;
	argv[n++] = cb->scope;
	argv[n] = NULL;
	rc = proc_start(&s->p, argv, NULL, CALLBACK_TIMEOUT_MS, err, sizeof(err));
	if (rc != 0) {
		s->p = NULL;
		log_warning("callback %s: could not run \"%s\": %s", cb_action_name(action),
			    argv[0], err);
		return;
	}
	s->action = action;
	buf_copy_or_clear(s->role, sizeof(s->role), role); /* a role word: fits */
	log_info("callback %s: running %s %s %s %s", cb_action_name(action), cb->commands[action],
		 cb_action_name(action), role, cb->scope);
}

void callbacks_role_changed(struct callbacks *cb, enum ha_role from, enum ha_role to)
{
	const char *word;
	bool first;

	if (cb == NULL || (to != HA_ROLE_PRIMARY && to != HA_ROLE_REPLICA))
		return;
	word = to == HA_ROLE_PRIMARY ? cb->primary_word : "replica";
	first = cb->announced[0] == '\0';
	if (!first && strcmp(cb->announced, word) == 0)
		return; /* same role again (a restart in place): nothing changed for scripts */
	/* Promotion, or a former primary following: on_role_change. Patroni runs on_start once
	 * after it starts, with the role it finds. */
	if (first && from != HA_ROLE_PROMOTING)
		callbacks_fire(cb, CB_ON_START, word);
	else
		callbacks_fire(cb, CB_ON_ROLE_CHANGE, word);
	buf_copy_or_clear(cb->announced, sizeof(cb->announced), word);
}

void callbacks_poll(struct callbacks *cb)
{
	if (cb == NULL)
		return;
	for (size_t i = 0; i < sizeof(cb->slots) / sizeof(cb->slots[0]); i++) {
		if (cb->slots[i].p != NULL && proc_poll(cb->slots[i].p, 0) == 0)
			reap(&cb->slots[i]);
	}
}

void callbacks_free(struct callbacks *cb)
{
	if (cb == NULL)
		return;
	for (size_t i = 0; i < sizeof(cb->slots) / sizeof(cb->slots[0]); i++) {
		struct cb_slot *s = &cb->slots[i];

		if (s->p == NULL)
			continue;
		if (proc_poll(s->p, CALLBACK_EXIT_GRACE_MS) == 0) {
			reap(s);
			continue;
		}
		log_warning("callback %s (role \"%s\") still runs at exit: ending it",
			    cb_action_name(s->action), s->role);
		proc_free(s->p);
	}
	free(cb);
}

/* Runs a script of the postgresql section (what: its key) to its end or timeout_ms. Returns
 * 0 when it exited 0, else -1; the outcome is logged. */
static int run_script(const char *cmd, const char *what, int64_t timeout_ms)
{
	char store[CFG_LINE_MAX];
	const char *argv[PROC_ARGV_MAX];
	char err[PROC_REASON_MAX];
	struct proc_result res;
	int n = callbacks_split(cmd, store, sizeof(store), argv, PROC_ARGV_MAX);

	if (n <= 0) {
		log_error("%s: could not split \"%s\" into words", what, cmd);
		return -1;
	}
	log_info("%s: running %s", what, cmd);
	if (proc_run(argv, NULL, timeout_ms > 0 ? timeout_ms : 1000, &res, NULL, 0, err,
		     sizeof(err)) != 0) {
		log_error("%s: could not run \"%s\": %s", what, argv[0], err);
		return -1;
	}
	if (res.exited && res.exit_code == 0) {
		log_info("%s script \"%s\" exited with 0", what, cmd);
		return 0;
	}
	log_warning("%s script \"%s\" failed: %s", what, cmd, res.reason);
	return -1;
}

int callbacks_pre_promote(struct callbacks *cb, int64_t timeout_ms, int64_t backoff_ms)
{
	if (cb == NULL || cb->pre_promote[0] == '\0')
		return 0;
	if (run_script(cb->pre_promote, "pre_promote", timeout_ms) == 0)
		return 0;
	log_error("pre_promote script \"%s\" vetoed the promotion: not promoting, releasing "
		  "the leader key",
		  cb->pre_promote);
	cb->backoff_until_ms = clock_mono_ms() + backoff_ms;
	return -EPERM;
}

void callbacks_before_stop(struct callbacks *cb, int64_t timeout_ms)
{
	if (cb != NULL && cb->before_stop[0] != '\0')
		(void)run_script(cb->before_stop, "before_stop", timeout_ms);
}

bool callbacks_race_backoff(const struct callbacks *cb)
{
	return cb != NULL && cb->backoff_until_ms != 0 && clock_mono_ms() < cb->backoff_until_ms;
}

/* Appends one byte to the word being built. */
static int put(char *store, size_t cap, size_t *len, char c)
{
	if (*len + 1 >= cap)
		return -E2BIG;
	store[(*len)++] = c;
	return 0;
}

int callbacks_split(const char *line, char *store, size_t store_cap, const char **argv,
		    int argv_cap)
{
	size_t len = 0;
	int n = 0;
	const char *p = line;

	if (store_cap == 0 || argv_cap < 1)
		return -E2BIG;
	for (;;) {
		bool in_word = false;
		size_t start = len;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == '\0')
			break;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			in_word = true;
			if (*p == '\'') {
				for (p++; *p != '\'' && *p != '\0'; p++)
					if (put(store, store_cap, &len, *p) != 0)
						return -E2BIG;
				if (*p == '\0')
					return -EINVAL;
				p++;
			} else if (*p == '"') {
				for (p++; *p != '"' && *p != '\0'; p++) {
					if (*p == '\\' && p[1] != '\0' && strchr("\"\\$`", p[1]))
						p++;
					if (put(store, store_cap, &len, *p) != 0)
						return -E2BIG;
				}
				if (*p == '\0')
					return -EINVAL;
				p++;
			} else if (*p == '\\') {
				if (p[1] == '\0')
					return -EINVAL;
				if (put(store, store_cap, &len, p[1]) != 0)
					return -E2BIG;
				p += 2;
			} else {
				if (put(store, store_cap, &len, *p) != 0)
					return -E2BIG;
				p++;
			}
		}
		if (!in_word)
			continue;
		if (n + 1 >= argv_cap || len >= store_cap)
			return -E2BIG;
		store[len++] = '\0'; /* put() kept room for it */
		argv[n++] = store + start;
	}
	argv[n] = NULL;
	return n;
}
