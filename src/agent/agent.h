/*
 * agent.h - the agent's glue: turning the loaded configuration into each module's options,
 * the member document peers and patronictl read, and the HA loop that ties them together.
 *
 * Module boundaries (STYLE.md): the leaf modules (dcs, db, rest, ha_decide) know nothing of
 * struct cfg; this layer is the only one that reads it and fills their plain option structs.
 */
#ifndef GSHA_AGENT_H
#define GSHA_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "db.h"
#include "ha_decide.h"
#include "rest.h"
#include "rest_client.h"

/* When this process is PID 1, splits in two (pid1.c): this call returns only in the child, which
 * runs the agent, while PID 1 reaps every orphan and forwards signals until the agent exits,
 * then exits with its status. Elsewhere it returns at once. Call it before any thread starts. */
void agent_split_if_pid1(void);

/* Makes the agent a child subreaper (prctl PR_SET_CHILD_SUBREAPER): orphans among its
 * descendants (the postmaster pg_ctl daemonizes, a crashed postmaster's backends) become its
 * children, which the db layer reaps (proc_reap_orphans), so a crashed postmaster is gone, and can
 * be started again, without waiting for a slow init. Logs a warning when the kernel refuses. */
void agent_become_subreaper(void);

/* Fills the database driver's options from the configuration (local postgresql.parameters win
 * over the dynamic ones in dyn). Returns 0, or -EINVAL / -ENAMETOOLONG with a message. */
int agent_db_options(const struct cfg *c, const struct cfg_dynamic *dyn, struct db_options *out,
		     char *err, size_t errlen) __attribute__((warn_unused_result));

/* Fills a replica method list from the method names in names (postgresql.create_replica_methods,
 * or standby_cluster's) and the postgresql.<name> sections of c (agent_methods.c): commands split
 * as shlex.split, options rendered as Patroni passes them. Returns 0 or -errno with a message. */
int agent_replica_methods(const struct cfg *c, const struct cfg_list *names,
			  struct db_replica_methods *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* True when a listed replica method of c has no_leader (HA policy clone_without_leader). */
bool agent_leaderless_methods(const struct cfg *c);

/* Fills o's replica methods, recovery_conf, bootstrap method and post_bootstrap from c. */
int agent_method_options(const struct cfg *c, struct db_options *o, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Fills the merged server parameters (dynamic first, then local overrides) for
 * db_apply_parameters. Returns 0 or -ENOBUFS / -ENAMETOOLONG with a message. */
int agent_db_params(const struct cfg *c, const struct cfg_dynamic *dyn, struct db_params *out,
		    char *err, size_t errlen) __attribute__((warn_unused_result));

/* Fills the REST API's options from the restapi section. Returns 0, or -EINVAL with a message
 * (an allow-list entry that is not an address or CIDR, a bad listen address). */
int agent_rest_options(const struct cfg *c, struct rest_options *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Fills the HA policy from the dynamic configuration and the local one. */
void agent_ha_policy(const struct cfg *c, const struct cfg_dynamic *dyn, struct ha_policy *out);

/* Fills this node's effective tags (Patroni's rule: failover_priority <= 0 means nofailover). */
void agent_ha_tags(const struct cfg *c, struct ha_tags *out);

/* Largest /patroni answer read from a peer; Patroni's documents are a few hundred bytes. */
#define AGENT_PEER_DOC_MAX 65536
/* URL of a peer's REST API. */
#define AGENT_URL_MAX 256

/* A peer to probe: its name and the api_url of its member key. */
struct agent_peer_target {
	char name[MEMBER_NAME_MAX];
	char api_url[AGENT_URL_MAX];
};

/* Parses a peer's /patroni status document (len bytes) into *out (name is left alone; reachable
 * is set). Reads role, xlog, tags.nofailover and tags.failover_priority the way Patroni's
 * _MemberStatus does. Returns 0, or -EINVAL for a document that is not such an object (nothing
 * written). */
int agent_peer_parse(const char *json, size_t len, struct ha_peer *out)
	__attribute__((warn_unused_result));

/* GETs every target's api_url in parallel with client's settings, each within timeout_ms, and
 * fills out[i] for targets[i]: reachable false when it did not answer 200 with a valid document
 * in time. */
void agent_probe_peers(const struct rest_client_options *client,
		       const struct agent_peer_target *targets, int count, int64_t timeout_ms,
		       struct ha_peer *out);

/* POSTs body (a JSON document) to /failsafe on the REST API of every target in parallel with
 * client's settings (the members demand the cluster's REST credentials), each within timeout_ms
 * (failsafe mode, patroni-compat.md 4.7), and sets acked[i] when targets[i] answered 200. */
void agent_failsafe_post(const struct rest_client_options *client,
			 const struct agent_peer_target *targets, int count, const char *body,
			 int64_t timeout_ms, bool *acked);

/* The checks only the database driver knows, for --validate-config (openGauss:
 * gs_initdb's node name and password rules, the HA port, opengauss.md 2.1). 0, or a negative
 * errno with the reason in err. */
int agent_check_config(const struct cfg *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Runs the agent until SIGTERM or SIGINT: returns the process exit code. It takes c (allocated
 * with malloc, best by cfg_load_new) and frees it: a copy would keep a second struct cfg (half
 * a megabyte, written whole) resident for the agent's life. On SIGHUP and POST /reload, reload
 * (may be NULL) loads the configuration again as at start into a new struct handed over in
 * *out (the agent frees it), reporting its diagnostics, and returns 0 or a negative errno (the
 * old configuration stays). */
int agent_run(struct cfg *c, int (*reload)(void *ctx, struct cfg **out), void *reload_ctx);

#endif
