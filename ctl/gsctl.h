/*
 * gsctl.h - what the files of the gsctl program share (not a public interface): one invocation's
 * state, the session helpers (gsctl_session.c), the REST helpers (gsctl_rest.c) and one entry
 * point per command family (gsctl_cmd_*.c). Each ctl_cmd_* returns an enum ctl_exit code.
 */
#ifndef GSHA_GSCTL_H
#define GSHA_GSCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "ctl.h"
#include "ctl_io.h"
#include "dcs.h"

#define REST_TIMEOUT_MS 10000		  /* a simple REST call (GET /patroni, POST /reload) */
#define WAIT_DEFAULT_MS 300000		  /* --wait for reinit, restart, pause when no --timeout */
#define FALLBACK_WAIT_MS 60000		  /* switchover through the failover key, no REST */
#define ANSWER_MAX 512			  /* one line typed at a prompt */
#define EDITOR_CMD_MAX (CTL_PATH_MAX * 2) /* "$EDITOR file" */

/* Set by SIGINT and SIGTERM: waits and --watch stop. */
extern volatile sig_atomic_t ctl_interrupted;

/* One invocation of gsctl. */
struct ctl {
	struct ctl_args args;
	struct cfg *cfg;
	struct dcs_client *dcs;
	struct dcs_cluster *cluster; /* the last read */
	struct ctl_view *view;	     /* built from it */
	struct member_auth http;     /* how gsctl authenticates to the members */
	char scope[CTL_NAME_MAX];
	char endpoints[DCS_URL_MAX * 2]; /* for messages */
};

/* A member's REST answer. */
struct ctl_reply {
	int status;
	char body[CTL_HTTP_RESPONSE_MAX + 1];
	char err[DCS_URL_MAX + CTL_NAME_MAX + 128]; /* transport error, when status is 0 */
};

/* --- gsctl_session.c --- */

/* Prints "gsctl: error: <message>" on stderr. */
void ctl_say_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The local time as patronictl prints it before a result. */
void ctl_timestamp(char *out, size_t cap);

/* Asks question on the terminal. Returns 0 with the answer (default when empty), or
 * CTL_EXIT_NO_TERMINAL when stdin is not a terminal, or CTL_EXIT_FAILED on end of input. */
int ctl_ask(const struct ctl *x, const char *question, const char *def, char *answer, size_t cap);

/* Returns 0 when confirmed (or --force), CTL_EXIT_FAILED when the answer is no, or
 * CTL_EXIT_NO_TERMINAL. */
int ctl_confirm(const struct ctl *x, const char *question);

/* When a scheduled switchover or restart (what) should happen: --scheduled, else (without
 * --force) the answer to patronictl's question, read strictly by ctl_parse_scheduled into when
 * ("" = now). Returns 0 or an exit code (message printed). */
int ctl_ask_when(const struct ctl *x, const char *what, char *when, size_t cap);

/* The set-up every command shares; each returns 0 or an exit code (message printed). */
int ctl_load_config(struct ctl *x);
int ctl_connect_dcs(struct ctl *x);
void ctl_setup_http(struct ctl *x);

/* Reads the cluster from etcd into x->cluster and x->view. Returns 0 or CTL_EXIT_DCS. */
int ctl_read_cluster(struct ctl *x);

/* --- gsctl_rest.c --- */

/* Calls a member's REST API. Returns 0 with r->status set, or -errno (no reply, r->err). */
int ctl_rest(const struct ctl *x, const struct ctl_row *m, const char *method, const char *path,
	     const char *body, int64_t timeout_ms, struct ctl_reply *r);

/* True when the member refused the credentials (401, 403); ctl_say_auth says what to fix. */
bool ctl_auth_refused(const struct ctl_reply *r);
void ctl_say_auth(const struct ctl_row *m, const struct ctl_reply *r, const struct ctl *x);

/* GET /patroni of a member into *doc (caller deletes). Returns 0 or -errno. */
int ctl_member_status(const struct ctl *x, const struct ctl_row *m, cJSON **doc,
		      struct ctl_reply *r);

/* The string member key of doc, or "". */
const char *ctl_json_str(const cJSON *doc, const char *key);

/* Sleeps ms, or less when interrupted. */
void ctl_sleep_interruptible(int64_t ms);

/* Prints the member list in format f. Returns 0 or CTL_EXIT_FAILED. */
int ctl_print_list(struct ctl *x, enum ctl_format f, bool topology);

/* Points *out at the member called name. Returns 0 or CTL_EXIT_BAD_MEMBER (said). */
int ctl_member_or_fail(const struct ctl *x, const char *name, const struct ctl_row **out);

/* Selects members: the named ones, else by role, else all. Returns 0 or an exit code. */
int ctl_select_members(const struct ctl *x, const struct ctl_row **sel, int *n);

/* "a, b, c" of the selected members' names. */
void ctl_join_names(const struct ctl_row **sel, int n, char *out, size_t cap);

/* Polls GET /patroni until the member runs again (see gsctl_rest.c). Returns 0 or an exit
 * code. */
int ctl_wait_running(const struct ctl *x, const struct ctl_row *m, const char *what,
		     const char *changed_from, bool must_see_other);

/* --- the commands (gsctl_cmd_*.c) --- */

int ctl_cmd_list(struct ctl *x, bool topology); /* list, topology */
int ctl_cmd_history(struct ctl *x);
int ctl_cmd_version(struct ctl *x, bool with_members);
int ctl_cmd_switchover(struct ctl *x, bool failover);	 /* switchover, failover */
int ctl_cmd_restart_reload(struct ctl *x, bool restart); /* restart, reload */
int ctl_cmd_reinit(struct ctl *x);
int ctl_cmd_pause(struct ctl *x, bool pause); /* pause, resume */
/* demote-cluster (demote true), promote-cluster: Patroni 4.1's change_cluster_role */
int ctl_cmd_cluster_role(struct ctl *x, bool demote);
int ctl_cmd_remove(struct ctl *x);
int ctl_cmd_show_config(struct ctl *x);
int ctl_cmd_edit_config(struct ctl *x);
int ctl_cmd_haproxy_config(struct ctl *x);

#endif
