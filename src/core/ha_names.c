/*
 * ha_names.c - the names of the decision's enums (actions, demotion modes, database states),
 * over designated-initializer tables, and their parsers (STYLE.md: every value can be logged).
 */
#include "ha_decide_internal.h"

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
	[HA_DEMOTE_OFFLINE] = "offline",
};

static const char *const db_state_names[] = {
	[HA_DB_NO_DATA] = "no-data",   [HA_DB_STOPPED] = "stopped", [HA_DB_CRASHED] = "crashed",
	[HA_DB_STARTING] = "starting", [HA_DB_RUNNING] = "running",
};
#define DB_STATE_COUNT ((int)(sizeof(db_state_names) / sizeof(db_state_names[0])))

const char *ha_action_name(enum ha_action action)
{
	if ((int)action < 0 || action >= HA_ACT_COUNT_ || !action_names[action])
		return "?";
	return action_names[action];
}

int ha_action_from_name(const char *name, enum ha_action *action)
{
	for (int i = 0; i < HA_ACT_COUNT_; i++) {
		if (action_names[i] && strcmp(action_names[i], name) == 0) {
			*action = (enum ha_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ha_demote_mode_name(enum ha_demote_mode mode)
{
	if ((int)mode < 0 || mode >= HA_DEMOTE_COUNT_ || !demote_names[mode])
		return "?";
	return demote_names[mode];
}

int ha_demote_mode_from_name(const char *name, enum ha_demote_mode *mode)
{
	for (int i = 0; i < HA_DEMOTE_COUNT_; i++) {
		if (demote_names[i] && strcmp(demote_names[i], name) == 0) {
			*mode = (enum ha_demote_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ha_db_state_name(enum ha_db_state state)
{
	if ((int)state < 0 || (int)state >= DB_STATE_COUNT || !db_state_names[state])
		return "?";
	return db_state_names[state];
}

int ha_db_state_from_name(const char *name, enum ha_db_state *state)
{
	for (int i = 0; i < DB_STATE_COUNT; i++) {
		if (db_state_names[i] && strcmp(db_state_names[i], name) == 0) {
			*state = (enum ha_db_state)i;
			return 0;
		}
	}
	return -EINVAL;
}
