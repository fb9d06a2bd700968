/*
 * db_opengauss.h - what the openGauss driver needs beyond db.h.
 *
 * Internal to the db module and its tests. The member list openGauss needs for replconninfo1..8
 * (opengauss.md §2.6) is handed over with db_set_peers (db.h) now; db_opengauss_set_members is
 * its old name, kept only until the agent calls db_set_peers.
 */
#ifndef GSHA_DB_OPENGAUSS_H
#define GSHA_DB_OPENGAUSS_H

#include "db.h"
#include "db_opengauss_codec.h"

#include <stdbool.h>

/* Most members the openGauss driver keeps: the node itself plus 8 replconninfo peers (§2.6). */
#define DB_OPENGAUSS_MEMBERS_MAX DB_PEERS_MAX

/* db_set_peers for an openGauss driver (-EINVAL for any other). Deprecated: call db_set_peers. */
int db_opengauss_set_members(struct db *db, const struct db_peer *members, int count,
			     int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Internal, pure, exported for the unit tests: maps an HA state row (§2.7) and
 * pg_is_in_recovery() onto role, replication_state, needs_rejoin and detail of st. */
void db_opengauss_fill_role(const struct db_og_ha_state *ha, bool in_recovery,
			    struct db_status *st);

#endif
