/*
 * db_opengauss.h - what the openGauss driver needs beyond db.h.
 *
 * openGauss lists every member in replconninfo1..8 (opengauss.md §2.6), so its driver needs the
 * whole member list, which db.h has no call for. Until db.h grows one, the caller hands the
 * list over here whenever it changes (the HA loop: after reading the members from the DCS).
 */
#ifndef GSHA_DB_OPENGAUSS_H
#define GSHA_DB_OPENGAUSS_H

#include "db.h"
#include "db_opengauss_codec.h"

#include <stdbool.h>

/* Most members the openGauss driver keeps: the node itself plus 8 replconninfo peers (§2.6). */
#define DB_OPENGAUSS_MEMBERS_MAX 9

/* Replaces the member list (this node may be in it; it is recognised by name) used to render
 * replconninfoN. The list is copied. When the server runs, the new entries are written and
 * reloaded at once (gs_guc reload, §2.6: SIGHUP settings); otherwise at the next start.
 * Returns 0, -EINVAL for a bad peer or a driver that is not openGauss, -E2BIG for more than 8
 * peers, or the error of gs_guc with a message. */
int db_opengauss_set_members(struct db *db, const struct db_peer *members, int count,
			     int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Internal, pure, exported for the unit tests: maps an HA state row (§2.7) and
 * pg_is_in_recovery() onto role, replication_state, needs_rejoin and detail of st. */
void db_opengauss_fill_role(const struct db_og_ha_state *ha, bool in_recovery,
			    struct db_status *st);

#endif
