/*
 * db_opengauss.h - the openGauss driver's own declarations: what its files share
 * (db_opengauss.c: gs_ctl actions and the command runner, db_opengauss_conf.c: configuration,
 * db_opengauss_status.c: status, db_opengauss_task.c: bootstrap, clone, rejoin), and the pure
 * role mapping its unit tests check.
 *
 * Internal to the db module: only the openGauss driver's files and tests include it. The rest
 * of gsha reaches the driver through db.h (the member list it needs for replconninfo1..8,
 * opengauss.md §2.6, through db_set_peers).
 */
#ifndef GSHA_DB_OPENGAUSS_H
#define GSHA_DB_OPENGAUSS_H

#include "db_driver.h"
#include "db_opengauss_codec.h"

#include <stdbool.h>
#include <stdint.h>

/* The driver's own state (db->priv): the member list of the last db_set_peers, the HA state
 * row the last status read, and the highest term it was given or saw. */
/* Addresses kept for one resolved upstream host name. */
#define DB_OG_RESOLVED_MAX 4

struct db_og_priv {
	int member_count;
	struct db_peer members[DB_PEERS_MAX];
	bool has_ha;		  /* ha is from the last db_og_get_status */
	struct db_og_ha_state ha; /* pg_stat_get_stream_replications() as last read (§2.7) */
	uint64_t term;		  /* highest cluster term given (start, promote, bootstrap,
				    * db_set_term) or reported by the server (§2.8) */
	/* The upstream's host name resolved, for comparing it with the channel (§2.7). */
	char resolved_for[DB_HOST_MAX];
	char resolved[DB_OG_RESOLVED_MAX][DB_HOST_MAX];
	int resolved_count;
	int64_t resolved_ms;
	char collision_warned[MEMBER_NAME_MAX]; /* last member warned about for its port (§2.1) */
};

/* The highest term openGauss accepts: the top bit of xl_term flags CSN data, a larger term
 * PANICs the next WAL insert and peers read terms as signed 32-bit numbers (§2.8). */
#define DB_OG_TERM_MAX DB_TERM_MAX

/* gs_ctl notify's own wait (-w -t 1, as CM passes it, §2.12); the role is read back after. */
#define DB_OG_NOTIFY_WAIT_MS 1000

/* A set of openGauss roles (enum db_og_role) for db_og_read_back. */
#define DB_OG_WANT(role) (1u << (role))
#define DB_OG_WANT_STANDBY                                                         \
	(DB_OG_WANT(DB_OG_ROLE_STANDBY) | DB_OG_WANT(DB_OG_ROLE_CASCADE_STANDBY) | \
	 DB_OG_WANT(DB_OG_ROLE_MAIN_STANDBY))
#define DB_OG_WANT_PRIMARY (DB_OG_WANT(DB_OG_ROLE_PRIMARY) | DB_OG_WANT(DB_OG_ROLE_NORMAL))

/* db->priv, allocated on first use; NULL when out of memory. */
struct db_og_priv *db_og_priv_of(struct db *db);

/* --- Commands (db_opengauss.c) ------------------------------------------------------------- */

/* A gs_ctl or gs_guc command line being built: the program's path and the codec's argv. */
struct db_og_cmd {
	char prog[DB_PATH_MAX];
	struct db_og_argv *argv; /* allocated: argv vectors are large */
};

/* Resolves program in bin_dir and allocates the argv to build into. 0 or -errno with a
 * message; on success db_og_cmd_done (or db_og_cmd_ctl/spawn) must follow. */
int db_og_cmd_begin(struct db *db, const char *program, struct db_og_cmd *c, char *err,
		    size_t err_cap) __attribute__((warn_unused_result));

/* Frees the argv (c->argv may be NULL). */
void db_og_cmd_done(struct db_og_cmd *c);

/* Runs the built command line to its end within timeout_ms. 0 or -errno with a message. */
int db_og_cmd_exec(struct db *db, const struct db_og_cmd *c, int64_t timeout_ms, char *err,
		   size_t err_cap) __attribute__((warn_unused_result));

/* For a gs_ctl command built with result build_rc (the codec's, "cannot build the gs_ctl <what>
 * command" when negative): runs it to its end, giving it wait_ms (its -t) plus a margin, then
 * frees c. 0 or -errno with "gs_ctl <what> failed: ...". */
int db_og_cmd_ctl(struct db *db, struct db_og_cmd *c, int build_rc, int64_t wait_ms,
		  const char *what, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* As db_og_cmd_ctl, but starts it as the task's current command and sets the task's step.
 * -EINPROGRESS, or -errno with a message. */
int db_og_cmd_spawn(struct db *db, struct db_og_cmd *c, int build_rc, int64_t wait_ms, int step,
		    const char *what, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* openGauss terms are 1..2147483647 (§2.8): -EINVAL with a message outside. */
int db_og_check_term(uint64_t term, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Remembers term as the cluster term when it is higher than the one kept; returns the kept one
 * (0 when none is known). */
uint64_t db_og_note_term(struct db *db, uint64_t term);

/* §2.4: gs_ctl's exit code does not prove the role. Reads the role and state back (after what,
 * a gs_ctl command name) until the server reports one of want (DB_OG_WANT bits) or deadline_ms
 * (monotonic) passes, logging what it found; *out (may be NULL) gets the last HA state row.
 * 0, or -EIO/-ETIMEDOUT with "gs_ctl <what>: the server is ..." */
int db_og_read_back(struct db *db, const char *what, unsigned want, int64_t deadline_ms,
		    struct db_og_ha_state *out, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* One look of db_og_read_back, for the task steps, which must not block the loop: 0 (logged),
 * -EINPROGRESS while the server runs in another role (err says which), -EIO when none runs. */
int db_og_read_back_once(struct db *db, const char *what, unsigned want, struct db_og_ha_state *out,
			 char *err, size_t err_cap) __attribute__((warn_unused_result));

/* After a primary start, notify or failover: accepts Primary, and Normal without replconninfo
 * (a degraded primary, §2.2); turns Normal with entries into Primary with notify -M primary -T
 * term. 0 or -errno with a message. */
int db_og_settle_primary(struct db *db, uint64_t term, int64_t deadline_ms, char *err,
			 size_t err_cap) __attribute__((warn_unused_result));

/* --- Configuration (db_opengauss_conf.c) --------------------------------------------------- */

/* True for the parameters the driver writes itself (port, listen_addresses, application_name,
 * the synchronous settings, hot_standby, replconninfoN): a user value for them is ignored. */
bool db_og_driver_owned(const char *name);

/* gs_guc reload of default_transaction_read_only: "on" to stop new writes (db_hand_over),
 * else the user's value ("off" by default). 0 or -errno with a message. */
int db_og_set_read_only(struct db *db, bool stop_writes, int64_t timeout_ms, char *err,
			size_t err_cap) __attribute__((warn_unused_result));

/* Writes the whole configuration the driver owns plus the user parameters with gs_guc (reload
 * when the server runs, §2.6). extra is a peer to list in replconninfo besides the members
 * (may be NULL). 0 or -errno with a message. */
int db_og_write_config(struct db *db, const struct db_peer *extra, int64_t timeout_ms, char *err,
		       size_t err_cap) __attribute__((warn_unused_result));

/* Settings written once into a new data directory (password_encryption_type, pg_hba lines),
 * then db_og_write_config. */
int db_og_write_initial_config(struct db *db, const struct db_peer *extra, char *err,
			       size_t err_cap) __attribute__((warn_unused_result));

/* --- The driver operations of the same name (db_driver.h) ---------------------------------- */

void db_og_get_status(struct db *db, struct db_status *st);
int db_og_read_control(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
		       size_t err_cap);
int db_og_begin_bootstrap(struct db *db, char *err, size_t err_cap);
int db_og_begin_create_replica(struct db *db, char *err, size_t err_cap);
int db_og_begin_rejoin(struct db *db, char *err, size_t err_cap);
int db_og_task_step(struct db *db, char *err, size_t err_cap);
int db_og_apply_parameters(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
int db_og_set_sync_standbys(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
int db_og_set_term(struct db *db, uint64_t term, char *err, size_t err_cap);
int db_og_set_peers(struct db *db, const struct db_peer *peers, int count, int64_t timeout_ms,
		    char *err, size_t err_cap);

/* Pure, exported for the unit tests: maps an HA state row (§2.7) and pg_is_in_recovery() onto
 * role, replication_state, needs_rejoin and detail of st. */
void db_opengauss_fill_role(const struct db_og_ha_state *ha, bool in_recovery,
			    struct db_status *st);

#endif
