/*
 * ha_role.h - the node's role and the only function that changes it.
 *
 * The loop keeps one struct ha_role_state. After an action succeeds it calls ha_role_change(),
 * which checks the transition table (every row carries a human reason, as in pg_auto_failover's
 * fsm.c), stamps role_since_ms and formats the one log line the loop then logs at notice:
 *     role "replica" -> "primary": promoted self to leader by acquiring session lock
 * Pure like ha_decide: no I/O, no clock, no logging.
 */
#ifndef GSHA_HA_ROLE_H
#define GSHA_HA_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A role log line: two role names, fixed words and a reason (HA_REASON_MAX in ha_decide.h). */
#define HA_ROLE_LOGLINE_MAX 512

enum ha_role {
	HA_ROLE_UNINITIALIZED = 0, /* agent started; nothing known or no data yet */
	HA_ROLE_BOOTSTRAPPING,	   /* won the initialize race; running initdb */
	HA_ROLE_CLONING,	   /* building a new replica from a member */
	HA_ROLE_STOPPED,	   /* data present, database not running */
	HA_ROLE_REPLICA,	   /* running read-only, following the leader (or nobody) */
	HA_ROLE_REJOINING,	   /* pg_rewind / gs_ctl build against the leader */
	HA_ROLE_PROMOTING,	   /* holds the key; promotion under way */
	HA_ROLE_PRIMARY,	   /* holds the key; accepting writes */
	HA_ROLE_DEMOTING,	   /* stopping as primary */
	HA_ROLE_COUNT_,
};

struct ha_role_state {
	enum ha_role role;     /* current role */
	int64_t role_since_ms; /* monotonic time of the last change */
};

/* Name of a role ("replica", "primary", ...); "?" when out of range. */
const char *ha_role_name(enum ha_role role);

/* Parses a role name. Returns 0 or -EINVAL. */
int ha_role_from_name(const char *name, enum ha_role *role);

/* Sets st to role at now_ms without a transition check: for the loop's first observation. */
void ha_role_init(struct ha_role_state *st, enum ha_role role, int64_t now_ms);

/* Does the transition table allow from -> to? If why is not NULL it receives the row's reason
 * (or why the change is refused); the string is static. */
bool ha_role_allowed(enum ha_role from, enum ha_role to, const char **why);

/* Changes st->role to `to`, stamps role_since_ms = now_ms and writes the log line
 * `role "<from>" -> "<to>": <reason>` into logline (caller-owned, len bytes). Returns 0;
 * -EALREADY when the role is already `to` (nothing written); -EPERM when the table refuses the
 * change (logline then holds the refusal, to log as a warning); -EINVAL for an unknown role or
 * empty reason; -ENAMETOOLONG when logline is too small. st changes only when 0 is returned. */
int ha_role_change(struct ha_role_state *st, enum ha_role to, int64_t now_ms, const char *reason,
		   char *logline, size_t len) __attribute__((warn_unused_result));

#endif
