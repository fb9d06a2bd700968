/*
 * callbacks.h - Patroni's callbacks (postgresql.callbacks): on_start, on_stop, on_restart,
 * on_reload and on_role_change run as "COMMAND ACTION ROLE SCOPE", as Patroni runs them.
 *
 * Patroni's rules: one callback at a time, and a newer one ends the running one (its whole
 * process group is killed); on_reload runs beside the others and only replaces an older
 * on_reload. gsha adds a bound: a callback still running after CALLBACK_TIMEOUT_MS is killed.
 * Nothing here waits for a callback: the HA loop fires them and polls them each cycle.
 */
#ifndef GSHA_CALLBACKS_H
#define GSHA_CALLBACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "ha_role.h"

/* A callback still running after this long is killed: a hung VIP script must not pile up. */
#define CALLBACK_TIMEOUT_MS (5 * 60 * 1000)
/* How long freeing the runner (agent exit) lets a running callback finish before killing it. */
#define CALLBACK_EXIT_GRACE_MS 5000

enum cb_action {
	CB_ON_START,
	CB_ON_STOP,
	CB_ON_RESTART,
	CB_ON_RELOAD,
	CB_ON_ROLE_CHANGE,
	CB_ACTION_COUNT_,
};

/* "on_start", "on_stop", ...: the action word passed to the command. */
const char *cb_action_name(enum cb_action a);

struct callbacks;

/* Makes a runner for the configured commands and scope; primary_word is what a primary is
 * called ("primary", or "master" for Patroni 3 scripts). Returns NULL when out of memory. */
struct callbacks *callbacks_new(const struct cfg *c, const char *primary_word);

/* Lets a running callback finish for up to CALLBACK_EXIT_GRACE_MS, kills what is left, frees.
 * Accepts NULL. */
void callbacks_free(struct callbacks *cb);

/* Takes the commands of c (a reloaded configuration): running callbacks go on, the next ones
 * run the new commands. */
void callbacks_reconfigure(struct callbacks *cb, const struct cfg *c);

/* Starts the command of action (if one is configured) with action, role and scope as its last
 * three arguments, first killing the running callback (an on_reload only kills an older
 * on_reload). Never waits for the command. role NULL = the role last announced. */
void callbacks_fire(struct callbacks *cb, enum cb_action action, const char *role);

/* Tells the runner the node's role changed (called by set_role): becoming primary by promotion,
 * or replica after having been primary, fires on_role_change; the first time the node runs as
 * primary or replica fires on_start, as Patroni does once after it starts. */
void callbacks_role_changed(struct callbacks *cb, enum ha_role from, enum ha_role to);

/* Reaps finished callbacks and logs how each ended. Call once a cycle. */
void callbacks_poll(struct callbacks *cb);

/* Runs postgresql.pre_promote (no arguments, as Patroni) and waits for it, at most timeout_ms
 * (the caller holds the leader key: keep it under the lease). Returns 0 when no script is
 * configured or it exited 0; -EPERM when it vetoes the promotion (a non-zero exit, a signal,
 * the deadline, or it could not start), which also starts a backoff of backoff_ms during which
 * callbacks_race_backoff() is true (Patroni skips the leader race for ttl). */
int callbacks_pre_promote(struct callbacks *cb, int64_t timeout_ms, int64_t backoff_ms);

/* Runs postgresql.before_stop (no arguments, as Patroni) and waits for it, at most timeout_ms,
 * before a planned stop of PostgreSQL; how it ended is only logged, as in Patroni. */
void callbacks_before_stop(struct callbacks *cb, int64_t timeout_ms);

/* True while the backoff after a vetoed promotion lasts: the node does not race. */
bool callbacks_race_backoff(const struct callbacks *cb);

/* Splits a command line as Python's shlex.split does in POSIX mode (whitespace, '...', "..."
 * with \" \\ \$ \` escapes, backslash outside quotes) into words stored in store (each
 * NUL-terminated, one after the other), pointers in argv (NULL-terminated). Returns the number
 * of words, or -EINVAL (an unterminated quote) or -E2BIG (over argv_cap - 1 words or store_cap
 * bytes). */
int callbacks_split(const char *line, char *store, size_t store_cap, const char **argv,
		    int argv_cap);

#endif
