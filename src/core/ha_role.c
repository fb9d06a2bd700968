/*
 * ha_role.c - the role transition table and the one function that changes the role.
 */
#include "ha_role.h"

#include "enum_name.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const role_names[HA_ROLE_COUNT_] = {
	[HA_ROLE_UNINITIALIZED] = "uninitialized",
	[HA_ROLE_BOOTSTRAPPING] = "bootstrapping",
	[HA_ROLE_CLONING] = "cloning",
	[HA_ROLE_STOPPED] = "stopped",
	[HA_ROLE_REPLICA] = "replica",
	[HA_ROLE_REJOINING] = "rejoining",
	[HA_ROLE_PROMOTING] = "promoting",
	[HA_ROLE_PRIMARY] = "primary",
	[HA_ROLE_DEMOTING] = "demoting",
};

struct transition {
	enum ha_role from;
	enum ha_role to;
	bool allowed;
	const char *reason; /* why this change happens, or why it must not */
};

/* Every change the agent may make, and the tempting ones it must not. Anything not listed is
 * refused. */
static const struct transition transitions[] = {
	/* start-up: the first observation of an agent (re)started beside a database */
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_BOOTSTRAPPING, true, "won the initialize race: initdb" },
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_CLONING, true, "empty data directory: cloning a member" },
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_STOPPED, true, "found a data directory, not running" },
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_REPLICA, true, "found a running replica" },
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_PRIMARY, true,
	  "found a running primary that holds the leader key (agent restart)" },
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_DEMOTING, true,
	  "found a running primary without the leader key: demoting it" },
	{ HA_ROLE_UNINITIALIZED, HA_ROLE_REJOINING, true,
	  "found a stopped data directory whose history diverged: rewinding before start" },

	{ HA_ROLE_BOOTSTRAPPING, HA_ROLE_PRIMARY, true, "initdb done and the leader key taken" },
	{ HA_ROLE_BOOTSTRAPPING, HA_ROLE_UNINITIALIZED, true,
	  "bootstrap failed: data directory moved away" },
	{ HA_ROLE_BOOTSTRAPPING, HA_ROLE_REPLICA, false,
	  "a bootstrapped cluster's first node is its primary" },

	{ HA_ROLE_CLONING, HA_ROLE_REPLICA, true, "clone done: running as a replica" },
	{ HA_ROLE_CLONING, HA_ROLE_STOPPED, true, "clone done: not started yet" },
	{ HA_ROLE_CLONING, HA_ROLE_UNINITIALIZED, true, "clone failed: data directory removed" },
	{ HA_ROLE_CLONING, HA_ROLE_PRIMARY, false, "a clone is a replica until promoted" },

	{ HA_ROLE_STOPPED, HA_ROLE_REPLICA, true, "started as a replica" },
	{ HA_ROLE_STOPPED, HA_ROLE_PRIMARY, true,
	  "restarted in place as primary while holding the leader key" },
	{ HA_ROLE_STOPPED, HA_ROLE_REJOINING, true, "history diverged: rewinding before start" },
	{ HA_ROLE_STOPPED, HA_ROLE_CLONING, true, "reinitializing from a member" },
	{ HA_ROLE_STOPPED, HA_ROLE_UNINITIALIZED, true, "data directory removed" },
	{ HA_ROLE_STOPPED, HA_ROLE_DEMOTING, true,
	  "postgres came up as primary without the leader key (or too late): stopping it" },

	{ HA_ROLE_REPLICA, HA_ROLE_PROMOTING, true, "won the leader key: promoting" },
	{ HA_ROLE_REPLICA, HA_ROLE_REJOINING, true, "history diverged from the leader's" },
	{ HA_ROLE_REPLICA, HA_ROLE_STOPPED, true, "database stopped or crashed" },
	{ HA_ROLE_REPLICA, HA_ROLE_CLONING, true, "reinitializing from a member" },
	{ HA_ROLE_REPLICA, HA_ROLE_PRIMARY, false,
	  "a replica becomes primary only through promotion" },

	{ HA_ROLE_REJOINING, HA_ROLE_REPLICA, true, "rejoined: running as a replica" },
	{ HA_ROLE_REJOINING, HA_ROLE_STOPPED, true, "rejoin finished or failed: not running" },
	{ HA_ROLE_REJOINING, HA_ROLE_CLONING, true, "rewind impossible: reinitializing" },

	{ HA_ROLE_PROMOTING, HA_ROLE_PRIMARY, true, "promotion finished" },
	{ HA_ROLE_PROMOTING, HA_ROLE_DEMOTING, true, "lost the leader key while promoting" },
	{ HA_ROLE_PROMOTING, HA_ROLE_REPLICA, true, "promotion failed: still a replica" },
	{ HA_ROLE_PROMOTING, HA_ROLE_STOPPED, true, "database stopped during promotion" },

	{ HA_ROLE_PRIMARY, HA_ROLE_DEMOTING, true, "stepping down as primary" },
	{ HA_ROLE_PRIMARY, HA_ROLE_STOPPED, true, "primary stopped or crashed" },
	{ HA_ROLE_PRIMARY, HA_ROLE_REPLICA, false,
	  "a primary becomes a replica only through demotion" },

	{ HA_ROLE_DEMOTING, HA_ROLE_REPLICA, true, "demoted: running as a replica" },
	{ HA_ROLE_DEMOTING, HA_ROLE_STOPPED, true, "demoted: database stopped" },
	{ HA_ROLE_DEMOTING, HA_ROLE_REJOINING, true,
	  "demoted: rewinding to follow the new leader" },
	{ HA_ROLE_DEMOTING, HA_ROLE_PRIMARY, false,
	  "a demotion is not undone; race again instead" },
};

static bool role_valid(enum ha_role role)
{
	return (int)role >= 0 && role < HA_ROLE_COUNT_;
}

const char *ha_role_name(enum ha_role role)
{
	return ENUM_NAME(role_names, role);
}

int ha_role_from_name(const char *name, enum ha_role *role)
{
	long v = ENUM_VALUE(role_names, name);

	if (v < 0)
		return -EINVAL;
	*role = (enum ha_role)v;
	return 0;
}

void ha_role_init(struct ha_role_state *st, enum ha_role role, int64_t now_ms)
{
	st->role = role_valid(role) ? role : HA_ROLE_UNINITIALIZED;
	st->role_since_ms = now_ms;
}

bool ha_role_allowed(enum ha_role from, enum ha_role to, const char **why)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
		if (transitions[i].from == from && transitions[i].to == to) {
			if (why)
				*why = transitions[i].reason;
			return transitions[i].allowed;
		}
	}
	if (why)
		*why = "no such transition in the role table";
	return false;
}

int ha_role_change(struct ha_role_state *st, enum ha_role to, int64_t now_ms, const char *reason,
		   char *logline, size_t len)
{
	const char *why;
	int n;

	if (!role_valid(st->role) || !role_valid(to) || !reason || !reason[0])
		return -EINVAL;
	if (st->role == to)
		return -EALREADY;
	if (!ha_role_allowed(st->role, to, &why)) {
		n = snprintf(logline, len, "role \"%s\" -> \"%s\" refused: %s (wanted because: %s)",
			     ha_role_name(st->role), ha_role_name(to), why, reason);
		if (n < 0 || (size_t)n >= len)
			return -ENAMETOOLONG;
		return -EPERM;
	}
	n = snprintf(logline, len, "role \"%s\" -> \"%s\": %s", ha_role_name(st->role),
		     ha_role_name(to), reason);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	st->role = to;
	st->role_since_ms = now_ms;
	return 0;
}
