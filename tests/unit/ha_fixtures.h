/*
 * ha_fixtures.h - named starting points for ha_decide tests: each test (and each scenario file)
 * starts from one of these and changes one thing.
 */
#ifndef GSHA_HA_FIXTURES_H
#define GSHA_HA_FIXTURES_H

#include "ha_decide.h"

#define FIX_NOW_MS 1000000		/* monotonic "now" of every fixture */
#define FIX_WALL_MS 1790000000000LL	/* wall clock at FIX_NOW_MS */
#define FIX_SYSID "7310000000000000001" /* the cluster's system identifier */
#define FIX_LSN 50331648ULL		/* everybody's WAL position: 0/3000000 */

/* Three members node1 (primary), node2, node3 (replicas), all running and caught up; the DCS is
 * reachable, the cluster is initialized, ttl 5 s, loop_wait 1 s, retry_timeout 1 s, the previous
 * call was loop_wait ago. No leader key and no local database: the fixtures below add those. */
void fix_cluster(struct ha_input *in, const char *self);

/* node1: the leader with a lease renewed 100 ms ago, running as primary, node2 and node3
 * streaming from it asynchronously. */
void fix_primary(struct ha_input *in);

/* node2: a running replica following leader node1. */
void fix_replica(struct ha_input *in);

/* node2: a running replica whose leader key vanished (node1 died, its lease expired; its member
 * key is gone too). No peers probed yet. */
void fix_leaderless(struct ha_input *in);

/* fix_leaderless, after the probe: node3 answered, a replica just as far ahead (priority 1). */
void fix_leaderless_probed(struct ha_input *in);

/* node1 on a fresh machine: empty data directory, an empty DCS (no initialize, no members). */
void fix_empty(struct ha_input *in);

/* Appends or replaces member `name` in the DCS view. */
struct ha_member *fix_member(struct ha_input *in, const char *name, bool running, bool primary,
			     unsigned long long lsn);

/* Removes member `name` from the DCS view. */
void fix_member_remove(struct ha_input *in, const char *name);

/* Appends a probe result for `name`. */
struct ha_peer *fix_peer(struct ha_input *in, const char *name, bool reachable, bool primary,
			 unsigned long long lsn);

/* Appends a replication connection to the local primary. */
struct ha_replication *fix_replication(struct ha_input *in, const char *name, bool streaming,
				       bool sync, unsigned long long flush_lsn);

/* Adds name to a name set. */
void fix_names_add(struct ha_names *set, const char *name);
/* Is name in set? */
bool fix_names_has(const struct ha_names *set, const char *name);
/* Takes name out of set, keeping the order of the rest. */
void fix_names_remove(struct ha_names *set, const char *name);

/* Copies a name into a fixed field, failing the test when it does not fit. */
void fix_set(char *dst, size_t len, const char *src);

#endif
