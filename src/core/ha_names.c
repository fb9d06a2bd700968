/*
 * ha_names.c - the names of the decision's enums (actions, demotion modes, database states),
 * over designated-initializer tables, and their parsers (STYLE.md: every value can be logged).
 */
#include "ha_decide_internal.h"

#include "enum_name.h"

#include <errno.h>
#include <string.h>

static const char *const action_names[HA_ACT_COUNT_] = {
	[HA_ACT_NONE] = "none",
	[HA_ACT_TILT] = "tilt",
	[HA_ACT_PROBE_PEERS] = "probe-peers",
	[HA_ACT_PING_FAILSAFE] = "ping-failsafe",
	[HA_ACT_BOOTSTRAP] = "bootstrap",
	[HA_ACT_WAIT_FOR_BOOTSTRAP] = "wait-for-bootstrap",
	[HA_ACT_CLONE] = "clone",
	[HA_ACT_START_REPLICA] = "start-replica",
	[HA_ACT_FOLLOW] = "follow",
	[HA_ACT_REJOIN] = "rejoin",
	[HA_ACT_RACE] = "race",
	[HA_ACT_PROMOTE] = "promote",
	[HA_ACT_REBIND_LEADER_KEY] = "rebind-leader-key",
	[HA_ACT_DEMOTE] = "demote",
	[HA_ACT_RESTART_PRIMARY] = "restart-primary",
	[HA_ACT_RELEASE_LEADER] = "release-leader",
	[HA_ACT_CLEAR_FAILOVER] = "clear-failover",
	[HA_ACT_SET_SYNC_NAMES] = "set-sync-names",
	[HA_ACT_WRITE_SYNC_KEY] = "write-sync-key",
	[HA_ACT_DELETE_SYNC_KEY] = "delete-sync-key",
	[HA_ACT_WRITE_INITIALIZE] = "write-initialize",
	[HA_ACT_SHUTDOWN] = "shutdown",
	[HA_ACT_HALT] = "halt",
};

static const char *const demote_names[HA_DEMOTE_COUNT_] = {
	[HA_DEMOTE_NONE] = "none",	     [HA_DEMOTE_GRACEFUL] = "graceful",
	[HA_DEMOTE_IMMEDIATE] = "immediate", [HA_DEMOTE_IMMEDIATE_NOLOCK] = "immediate-nolock",
	[HA_DEMOTE_OFFLINE] = "offline",     [HA_DEMOTE_CLUSTER] = "demote-cluster",
};

static const char *const db_state_names[] = {
	[HA_DB_NO_DATA] = "no-data",   [HA_DB_STOPPED] = "stopped", [HA_DB_CRASHED] = "crashed",
	[HA_DB_STARTING] = "starting", [HA_DB_RUNNING] = "running",
};

const char *ha_action_name(enum ha_action action)
{
	return ENUM_NAME(action_names, action);
}

int ha_action_from_name(const char *name, enum ha_action *action)
{
	int v = (int)ENUM_VALUE(action_names, name);

	if (v < 0)
		return v;
	*action = (enum ha_action)v;
	return 0;
}

const char *ha_demote_mode_name(enum ha_demote_mode mode)
{
	return ENUM_NAME(demote_names, mode);
}

int ha_demote_mode_from_name(const char *name, enum ha_demote_mode *mode)
{
	int v = (int)ENUM_VALUE(demote_names, name);

	if (v < 0)
		return v;
	*mode = (enum ha_demote_mode)v;
	return 0;
}

const char *ha_db_state_name(enum ha_db_state state)
{
	return ENUM_NAME(db_state_names, state);
}

int ha_db_state_from_name(const char *name, enum ha_db_state *state)
{
	int v = (int)ENUM_VALUE(db_state_names, name);

	if (v < 0)
		return v;
	*state = (enum ha_db_state)v;
	return 0;
}
