/*
 * db_driver.h - what a database driver implements, and the helpers drivers share.
 *
 * Internal to the db module (db.c, the shared helpers in db_common.c (pure), db_local.c (files
 * and commands), db_fence.c and db_sql.c, the drivers db_postgres*.c and db_opengauss*.c, and
 * their unit tests); the rest of the agent includes db.h only. db.c checks arguments and the
 * "one task at a time" rule, then calls the driver through struct db_driver.
 *
 * Adding a driver: define `const struct db_driver db_<engine>_driver` in db_<engine>.c, declare
 * it below, and list it in db.c's engine table (the openGauss one is compiled in when meson
 * defines GSHA_DB_OPENGAUSS, so each driver lands without touching the other's files).
 *
 * Compatibility: shared with the openGauss driver; change it only by adding.
 */
#ifndef GSHA_DB_DRIVER_H
#define GSHA_DB_DRIVER_H

#include "db.h"
#include "proc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest rendered conninfo or command argument we build (primary_conninfo with every key). */
#define DB_CONNINFO_MAX 2048
/* Longest configuration file the driver renders (DB_PARAMS_MAX values plus hba lines). */
#define DB_CONF_MAX (256 * 1024)
/* A path inside the data directory (or next to it: the pgpass and password files). */
#define DB_DATA_PATH_MAX (DB_PATH_MAX + 64)
/* One rendered tool option: "--" and the option of db_options. */
#define DB_TOOL_OPTION_ARG_MAX (DB_TOOL_OPTION_MAX + 2)
/* Longest postmaster.pid we read: 8 short lines in practice; anything longer is hostile. */
#define DB_PIDFILE_MAX 4096

/* The background task of db_begin_*: a sequence of steps, each either instant or one child
 * process. db_task_poll waits for the current process, then calls driver->task_step. */
struct db_task {
	bool active;
	const char *name;	   /* db_task_name: "creating replica", ... (static string) */
	int kind;		   /* the driver's own task kind */
	int step;		   /* the driver's own step counter, 0 at begin */
	struct proc *proc;	   /* the current step's command, NULL between commands */
	char command[DB_NAME_MAX]; /* its program name, for progress and messages */
	int64_t started_ms;	   /* monotonic start of the task */
	int64_t step_started_ms;   /* monotonic start of the current step */
	struct db_peer source;	   /* create replica: where to copy from */
	struct db_peer primary;	   /* create replica, rejoin: whom to follow afterwards */
	bool has_primary;
	bool replace_existing;
	uint64_t term;
	int attempts;		   /* rejoin: rewind tried, then clone */
	bool standby_signal_moved; /* rejoin: standby.signal set aside for pg_rewind's single-user
				    * crash recovery, to be put back if the rewind fails */
	/* Added for issue 12: create replica tries these in turn (a copy of the caller's list). */
	struct db_replica_methods methods;
	int method;		 /* the index in methods running now */
	bool has_source;	 /* source is set (false: only no_leader methods run) */
	bool custom_boot;	 /* bootstrap: bootstrap_method runs instead of initdb */
	int basebackup_failures; /* of the current basebackup method: Patroni tries twice */
	int64_t retry_at_ms;	 /* monotonic: when the second pg_basebackup starts */
	bool seen_running;	 /* custom bootstrap: the restored copy's postmaster was seen */
	bool end_reported;	 /* db_task_command_ended reported the current command's end */
};

struct db_driver {
	const char *name;
	/* Engine-specific checks of options on db_new (db.c has checked the common ones). */
	int (*check_options)(const struct db_options *opts, char *err, size_t err_cap);
	/* Each callback below has the contract of the db.h function of the same name; db.c has
	 * checked arguments and that no task runs (except get_status and read_control). */
	void (*get_status)(struct db *db, struct db_status *out);
	int (*read_control)(struct db *db, struct db_control *out, int64_t timeout_ms, char *err,
			    size_t err_cap);
	/* begin_*: set up db->task (db.c has zeroed it, set name/active after success) and start
	 * the first step. task_step: called when the current command ended (db->task.proc done)
	 * or when no command runs; consumes the result, starts the next step. Returns
	 * -EINPROGRESS, 0 when the task finished, or a negative errno with a message. */
	int (*begin_bootstrap)(struct db *db, char *err, size_t err_cap);
	int (*begin_create_replica)(struct db *db, char *err, size_t err_cap);
	int (*begin_rejoin)(struct db *db, char *err, size_t err_cap);
	int (*task_step)(struct db *db, char *err, size_t err_cap);
	int (*start)(struct db *db, enum db_start_role role, const struct db_peer *primary,
		     uint64_t term, int64_t timeout_ms, char *err, size_t err_cap);
	int (*stop)(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		    size_t err_cap);
	int (*restart)(struct db *db, enum db_stop_mode mode, int64_t timeout_ms, char *err,
		       size_t err_cap);
	int (*reload)(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
	int (*promote)(struct db *db, uint64_t term, int64_t timeout_ms, char *err, size_t err_cap);
	int (*follow)(struct db *db, const struct db_peer *primary, int64_t timeout_ms, char *err,
		      size_t err_cap);
	/* db.c has already stored the new parameters / sync in db before calling these. */
	int (*apply_parameters)(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
	int (*set_sync_standbys)(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
	int (*ensure_slots)(struct db *db, const char names[][MEMBER_NAME_MAX], int count,
			    int64_t timeout_ms, char *err, size_t err_cap);
	/* db_apply_slots: db.c has checked the lists. NULL: the engine has no slots. */
	int (*apply_slots)(struct db *db, const struct db_slot_spec *create, int create_count,
			   const char (*drop)[DB_NAME_MAX], int drop_count, int64_t timeout_ms,
			   char *err, size_t err_cap);
	/* db_copy_logical_slots: db.c has checked the list. NULL: not supported. */
	int (*copy_logical_slots)(struct db *db, const struct db_peer *primary,
				  const char (*names)[DB_NAME_MAX], int count, int64_t timeout_ms,
				  int *copied, char *err, size_t err_cap);
	/* db_peer_slot_xmins: db.c has checked the list. NULL: not supported. */
	int (*peer_slot_xmins)(struct db *db, const struct db_peer *primary,
			       const char (*names)[DB_NAME_MAX], int count, bool *found,
			       uint64_t *xmin, int64_t timeout_ms, char *err, size_t err_cap);
	/* db_peer_rewind_ready: db.c has checked the peer. NULL: no pg_rewind. */
	int (*peer_rewind_ready)(struct db *db, const struct db_peer *primary, int64_t timeout_ms,
				 bool *ready, uint32_t *checkpoint_tli, uint32_t *tli, char *err,
				 size_t err_cap);
	/* db_advance_slots: db.c has checked the list. NULL: the engine has no slots. */
	int (*advance_slots)(struct db *db, const struct db_slot_target *targets, int count,
			     int64_t timeout_ms, char *err, size_t err_cap);
	int (*checkpoint)(struct db *db, uint64_t *out_lsn, int64_t timeout_ms, char *err,
			  size_t err_cap);
	/* db_fence: both drivers use db_fence_postmaster. */
	int (*fence)(struct db *db, char *err, size_t err_cap);
	/* db_set_peers: db.c has checked the list. NULL: the engine needs no member list. */
	int (*set_peers)(struct db *db, const struct db_peer *peers, int count, int64_t timeout_ms,
			 char *err, size_t err_cap);
	/* Frees db->priv (may be NULL). */
	void (*free_priv)(struct db *db);
	/* db_set_term: db.c has checked 1..DB_TERM_MAX. NULL: the engine uses no term. */
	int (*set_term)(struct db *db, uint64_t term, char *err, size_t err_cap);
	/* db_reserve_timelines: db.c has checked the range. NULL: nothing to reserve. */
	int (*reserve_timelines)(struct db *db, uint64_t current_tli, uint64_t reserved_tli,
				 int *written, char *err, size_t err_cap);
	/* db_promote_planned. NULL: as promote. */
	int (*promote_planned)(struct db *db, uint64_t term, int64_t timeout_ms, char *err,
			       size_t err_cap);
	/* db_hand_over, db_hand_over_abort. NULL: the engine has no native switchover. */
	int (*hand_over)(struct db *db, const char *candidate, int64_t timeout_ms, char *err,
			 size_t err_cap);
	int (*hand_over_abort)(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
	/* db_freeze_upstream. NULL: the engine cannot freeze a replica's WAL receipt. */
	int (*freeze_upstream)(struct db *db, int64_t timeout_ms, char *err, size_t err_cap);
};

extern const struct db_driver db_postgres_driver;
extern const struct db_driver db_opengauss_driver;

struct db {
	struct db_options opts; /* as given, defaults filled in by db_new */
	const struct db_driver *driver;
	struct db_task task;
	struct db_sync sync;	 /* the last db_set_sync_standbys; method OFF at start */
	bool sync_managed;	 /* db_set_sync_standbys was called at least once */
	struct db_peer upstream; /* the primary last configured to follow */
	bool has_upstream;
	bool upstream_known;	   /* upstream was set in this process (start/follow/task);
				       * until then a rewrite keeps the recovery lines on disk */
	void *priv;		   /* the driver's own state */
	char conf_skipped[512];	   /* the parameters last warned about as unwritable, for the log */
	bool boot_recovery;	   /* a custom bootstrap recovers to its target: postgresql.conf
				 * carries bootstrap_method.recovery_conf (issue 12) */
	bool boot_keep_recovery;   /* a custom bootstrap keeps the recovery files and settings its
				  * command left (keep_existing_recovery_conf) */
	bool boot_hot_standby_off; /* ... and recovers with hot_standby off, as Patroni does */
	int pm_watch_pid;	   /* the postmaster the last db_get_status saw running, 0: none */
	int pm_watch_fd;	   /* a pidfd on it (pidfd_open), -1 where none could be opened */
	int pm_exited_pid; /* the last one db_pm_watch_exited reported: never watched again */
	/* pg_control as the last db_get_status read it (a stopped server), until db_read_control
	 * takes it or a command runs (db_run, db_launch, a task): the HA loop's observation asks
	 * for both, and each read is a fork and exec of pg_controldata on a crashed primary's way
	 * back. */
	struct db_control control_seen;
	bool control_seen_fresh;
};

/* --- Pure helpers (db_common.c), unit-tested ---------------------------------------------- */

/* The parsed postmaster.pid (PostgreSQL and openGauss write the same first lines). */
struct db_pidfile {
	int pid;		       /* line 1 */
	char data_dir[DB_PATH_MAX];    /* line 2 */
	int64_t start_time;	       /* line 3, epoch seconds */
	int port;		       /* line 4 */
	char socket_dir[DB_HOST_MAX];  /* line 5, may be empty */
	char listen_addr[DB_HOST_MAX]; /* line 6, may be empty */
	int shm_id;		       /* line 7's second field: the SysV shared memory id of the
					* server's interlock segment; -1 when absent */
	char status[DB_STATE_MAX];     /* line 8 (PG 10+): "starting", "stopping", "ready",
					* "standby"; "" when absent */
};

/* Parses postmaster.pid contents (text, NUL-terminated). Returns 0, or -EINVAL for anything not
 * shaped like one (no pid, pid <= 0, over-long lines, ...). *out is written only on success. */
int db_pidfile_parse(const char *text, struct db_pidfile *out) __attribute__((warn_unused_result));

/* Reads and parses <data_dir>/postmaster.pid. Returns 0, -ENOENT when absent, -EINVAL when
 * malformed or larger than DB_PIDFILE_MAX, or another -errno. */
int db_pidfile_read(const char *data_dir, struct db_pidfile *out)
	__attribute__((warn_unused_result));

/* What we know of the server without SQL, plus whether SQL answered: the role decision's
 * input. PostgreSQL and openGauss alike (openGauss keeps one gaussdb pid in postmaster.pid). */
struct db_probe {
	bool initialized;	       /* PG_VERSION exists */
	int pidfile_rc;		       /* db_pidfile_read's result: 0, -ENOENT, -EINVAL, ... */
	struct db_pidfile pf;	       /* when pidfile_rc == 0 */
	bool alive;		       /* pf.pid names a live process */
	bool connected;		       /* SQL answered */
	bool in_recovery;	       /* when connected */
	char conn_error[DB_ERROR_MAX]; /* when not connected */
};

/* Decides running, role, postmaster_pid and detail of st from a probe (pure): stopped without
 * postmaster.pid, crashed with a dead pid, then by SQL, else by the pid file's status line and
 * the connection error (starting, stopping, or unknown for a server that should answer). */
void db_classify(const struct db_probe *probe, struct db_status *st);

/* Clears st as memset would, given that it holds zeros or an earlier observation: the standby
 * and slot lists (21 kB of the 27) only as far as that observation wrote them, its counts and
 * the entry past them that a refused row may have left half-filled. The rest of each list is
 * zero already and its pages stay untouched (issue 15); a count out of range clears all. */
void db_status_clear(struct db_status *st);

/* Whole seconds for a command's -t option: ms rounded up, at least 1. */
int64_t db_secs_of(int64_t ms);

/* Appends " key=value" to a conninfo string in buf (of cap bytes, NUL-terminated), quoting the
 * value with single quotes and backslash escapes when it is empty or holds a space, quote or
 * backslash. Returns 0 or -ENOBUFS (dst unchanged). */
int db_conninfo_add(char *dst, size_t cap, const char *key, const char *value)
	__attribute__((warn_unused_result));

/* Quotes an identifier the way PostgreSQL's quote_ident does: as is when it is a plain lower
 * case identifier, otherwise in double quotes with inner quotes doubled. Returns 0 or
 * -ENAMETOOLONG. */
int db_quote_ident(const char *s, char *out, size_t out_cap) __attribute__((warn_unused_result));

/* Renders synchronous_standby_names for sync: "" when off or no names; a single quoted name
 * (priority, one name, num 1); "FIRST n (a,b)" / "ANY n (a,b)"; "*" as given. Names are sorted.
 * Returns 0, -EINVAL for a bad num, or -ENAMETOOLONG. */
int db_render_sync_names(const struct db_sync *sync, char *out, size_t out_cap)
	__attribute__((warn_unused_result));

/* Renders one configuration file line: name = 'value' with single quotes doubled and
 * backslashes doubled. Appends to dst of cap. Returns 0 or -ENOBUFS. */
int db_conf_add(char *dst, size_t cap, const char *name, const char *value)
	__attribute__((warn_unused_result));

/* Sets name = value in params, replacing an existing entry. Returns 0, -ENOBUFS (full) or
 * -ENAMETOOLONG. */
int db_params_set(struct db_params *params, const char *name, const char *value)
	__attribute__((warn_unused_result));

/* Returns the value of name in params (the last one wins), or NULL. */
const char *db_params_get(const struct db_params *params, const char *name);

/* --- Custom methods (db_method.c), pure, unit-tested ------------------------------------- */

/* Renders the command line of a custom replica method into argv (argv_cap pointers, the last
 * NULL; pointers into m and into store of cap bytes) as Patroni does: the command's words, then
 * --key=value for each option, where unless no_params --scope, --role=replica, --datadir and
 * --connstring take the place of options of the same name or follow them; with no_params the
 * options but no_params, no_leader and keep_data. Returns the number of words or -E2BIG /
 * -EINVAL. */
int db_method_replica_argv(const struct db_method *m, const char *scope, const char *datadir,
			   const char *connstring, char *store, size_t cap, const char **argv,
			   int argv_cap) __attribute__((warn_unused_result));

/* As db_method_replica_argv for a custom bootstrap method: the words, then --scope and
 * --datadir unless no_params, then the options but command, no_params,
 * keep_existing_recovery_conf, recovery_conf, scope and datadir. */
int db_method_bootstrap_argv(const struct db_method *m, const char *scope, const char *datadir,
			     char *store, size_t cap, const char **argv, int argv_cap)
	__attribute__((warn_unused_result));

/* True for the built-in method "basebackup". */
bool db_method_is_basebackup(const struct db_method *m);

/* The index of the first method at or after from that can run (without a source only custom
 * no_leader methods), or -1 when none is left. */
int db_method_next(const struct db_replica_methods *ms, int from, bool have_source);

/* Checks a method (name, command words, options) or a list of them: 0 or -EINVAL with a
 * message. */
int db_method_check(const struct db_method *m, char *err, size_t err_cap)
	__attribute__((warn_unused_result));
int db_methods_check(const struct db_replica_methods *ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* --- I/O helpers (db_local.c) --------------------------------------------------------------- */

/* True when pid names a live process (kill(pid, 0) succeeds or fails with EPERM) that is not a
 * zombie (exited, not yet reaped: dead, though kill() still finds it). */
bool db_pid_alive(int pid);

/* Waits until the server no longer runs (postmaster.pid gone or its postmaster dead), reaping
 * the agent's orphans meanwhile, looking every few ms; false at deadline_ms. */
bool db_wait_stopped(struct db *db, int64_t deadline_ms);

/* True when pid is a zombie: exited, not yet reaped. PostgreSQL's lock file check still finds
 * it, so a start over its postmaster.pid would fail ("lock file ... already exists"). */
bool db_pid_unreaped(int pid);

/* True while processes of the server that wrote pf (its backends, orphaned after a postmaster
 * crash) still have its shared memory interlock segment attached: PostgreSQL refuses to start
 * then ("pre-existing shared memory block ... is still in use"). *attached gets their number.
 * Only a segment the pidfile's postmaster created counts, so a recycled id never blocks. */
bool db_shm_in_use(const struct db_pidfile *pf, int *attached);

/* True when pf's pid is alive and the postmaster that wrote pf (db_pidfile_owner), or alive
 * and impossible to identify; false for a dead pid or one another process recycled. */
bool db_postmaster_alive(const struct db_pidfile *pf, const char *data_dir);

/* Follows the postmaster a status names (db_get_status calls it): a new running pid gets a
 * pidfd (Linux 5.3+; without one, db_pm_watch_exited falls back to db_pid_alive), a server
 * seen down drops the watch. */
void db_pm_watch_update(struct db *db, const struct db_status *st);

/* True once when the watched postmaster has exited since and its pid has been reaped (then the
 * watch is dropped). A status that still names the pid, crashed, keeps the watch. */
bool db_pm_watch_exited(struct db *db);

/* Closes the pidfd, if any. */
void db_pm_watch_close(struct db *db);

/* Fills the process part of a probe: PG_VERSION, postmaster.pid, whether its pid lives. */
void db_probe_read(struct db *db, struct db_probe *probe);

/* Polls the driver's get_status every 200 ms until the role is want (true) or the server is
 * gone or the monotonic deadline passed (false). *st holds the last observation. */
bool db_wait_for_role(struct db *db, int64_t deadline_ms, enum db_role want, struct db_status *st);

/* Remembers primary (NULL: none) as the upstream a replica follows, known from now on. */
void db_set_upstream(struct db *db, const struct db_peer *primary);

/* <data_dir>/<name> into out. 0 or -ENAMETOOLONG. */
int db_data_path(const struct db *db, const char *name, char *out, size_t out_cap)
	__attribute__((warn_unused_result));

/* True when <data_dir>/<name> exists. */
bool db_data_file_exists(const struct db *db, const char *name);

/* Writes the superuser's password (when one is configured) into a file for initdb's --pwfile,
 * mode 0600, and the argument "--pwfile=<path>" into arg. Returns 1 when written, 0 when there
 * is no password (arg ""), or -errno with a message. */
int db_write_pwfile(struct db *db, char *arg, size_t arg_cap, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Removes the file of db_write_pwfile (once initdb ended or did not start). */
void db_remove_pwfile(const struct db *db);

/* Ends an initdb-like command line argv[0..n) (gs_initdb too) with --pwfile (when a superuser
 * password is configured) and the configured initdb options, and spawns it as the task at step.
 * The password file is removed again unless the task started. -EINPROGRESS when started, else
 * -errno with a message. */
int db_spawn_initdb(struct db *db, const char **argv, int n, int step, char *err, size_t err_cap);

/* Before a bootstrap: -EBUSY when a server runs in the data directory, -EEXIST when it is not
 * empty, else 0. */
int db_check_bootstrap_dir(const struct db *db, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* -ENOENT with a message when the data directory holds no cluster (no PG_VERSION), else 0. */
int db_check_initialized(const struct db *db, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Before a rejoin: an initialized data directory, and some allowed way (rewind, or a new copy
 * when remove_data_directory_on_diverged_timelines): -ENOENT / -ENOTSUP, else 0. */
int db_check_rejoin(const struct db *db, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Whether a failed or impossible rewind may be replaced by a new copy: with use_pg_rewind,
 * remove_data_directory_on_rewind_failure; without, remove_data_directory_on_diverged_timelines. */
bool db_reclone_allowed(const struct db *db);

/* For check_options: -EINVAL with a message when bin_dir is set and holds no executable
 * program. */
int db_check_bin(const struct db_options *o, const char *program, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Appends "--opt" for each "opt" (leading dashes dropped) of a tool option list to argv at *n,
 * rendered into storage (count entries), and terminates argv. 0, -E2BIG (argv holds max
 * entries with its NULL) or -ENAMETOOLONG. */
int db_add_tool_options(char storage[][DB_TOOL_OPTION_ARG_MAX], const char **argv, int *n, int max,
			const char opts[][DB_TOOL_OPTION_MAX], int count)
	__attribute__((warn_unused_result));

/* Writes <bin_dir>/<program> (or the bare name when bin_dir is empty) into out. */
int db_bin_path(const struct db *db, const char *program, char *out, size_t out_cap)
	__attribute__((warn_unused_result));

/* Writes content to path atomically with mode: a temporary file with a fresh name next to path,
 * created exclusively and made private before the first byte, then fsync and rename. */
int db_write_file(const char *path, const char *content, int mode, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* As db_write_file, but leaves the file alone when it already holds exactly content and is a
 * regular file of this user with exactly mode; *changed (may be NULL) says whether it wrote. */
int db_write_file_if_changed(const char *path, const char *content, int mode, bool *changed,
			     char *err, size_t err_cap) __attribute__((warn_unused_result));

/* True when path is missing or an empty directory. */
bool db_dir_empty(const char *path);

/* Removes path and everything under it (no symlinks followed). 0 or -errno with a message. */
int db_remove_tree(const char *path, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Removes everything inside the directory path but keeps path itself (it may be a mount point
 * or carry permissions someone set on purpose). 0 (also when path is missing) or -errno. */
int db_clear_dir(const char *path, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* True when postmaster.pid of the data directory names a live process. */
bool db_server_running(const struct db *db);

/* Readies the data directory for a new replica (both engines): -EBUSY when a server runs in it,
 * -EEXIST when it is not empty and task.replace_existing is false, else emptied. 0 or -errno
 * with a message. */
int db_prepare_clone_dir(struct db *db, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Runs argv with the driver's environment (PGPASSFILE, LC_ALL=C) to its end or timeout_ms. When
 * output is not NULL it gets the captured output. Returns 0 when it exited with status 0,
 * -ETIMEDOUT, or -EIO with "<program> failed: <reason>: <last output line>" in err. */
int db_run(struct db *db, const char *const argv[], int64_t timeout_ms, char *output,
	   size_t output_cap, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Starts argv as a server that outlives the call (proc_launch) with the driver's environment, as
 * db_run gives it to pg_ctl (and pg_ctl to the postmaster), its output appended to log_path.
 * Returns 0 once the program runs, or a negative errno with a message. */
int db_launch(struct db *db, const char *const argv[], const char *log_path, char *err,
	      size_t err_cap) __attribute__((warn_unused_result));

/* Starts argv as the task's current command (db->task.proc) with the task timeout. */
int db_task_spawn(struct db *db, const char *const argv[], char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* As db_task_spawn with an explicit deadline (a pg_ctl -w that must end before we kill it). */
int db_task_spawn_timeout(struct db *db, const char *const argv[], int64_t timeout_ms, char *err,
			  size_t err_cap) __attribute__((warn_unused_result));

/* As db_task_spawn_timeout with one more "NAME=value" in the environment (may be NULL). */
int db_task_spawn_env(struct db *db, const char *const argv[], const char *extra_env,
		      int64_t timeout_ms, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* Consumes the task's finished command: 0 when it exited with status 0, else -EIO/-ETIMEDOUT
 * with a message; frees db->task.proc either way. */
int db_task_reap(struct db *db, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* Writes the pgpass file (replication, rewind and superuser entries, mode 0600). */
int db_write_pgpass(struct db *db, char *err, size_t err_cap) __attribute__((warn_unused_result));

/* --- Fencing (db_fence.c) ------------------------------------------------------------------- */

/* Whether pid is the postmaster of data_dir: its working directory (the postmaster's first act
 * is chdir to it) or its -D/--pgdata argument names data_dir (symlinks resolved). Returns 1
 * when it is, 0 when it is another process (a recycled pid; also our own pid and pids <= 1),
 * -ESRCH when no such process runs (none, or a zombie), or -EACCES/-errno when neither can be
 * read. */
int db_pid_is_postmaster(int pid, const char *data_dir) __attribute__((warn_unused_result));

/* Whether pf's pid is the postmaster that wrote pf: db_pid_is_postmaster, and started no later
 * than pf's start time (with a minute's slack for wall-clock steps). Same returns; a process
 * that started later is another one (0), even when its identity could not be read. */
int db_pidfile_owner(const struct db_pidfile *pf, const char *data_dir)
	__attribute__((warn_unused_result));

/* Sends sig to this data directory's postmaster once db_pidfile_owner proves postmaster.pid
 * names it; never to a stale file's recycled pid. Returns 0, -ESRCH (no server, a dead or
 * recycled pid), another negative errno (postmaster.pid unreadable, the process impossible to
 * identify) or -errno from kill, with the reason in err. */
int db_signal_postmaster(struct db *db, int sig, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

/* The driver operation fence for engines that keep their postmaster's pid in postmaster.pid
 * (both): see db_fence in db.h. */
int db_fence_postmaster(struct db *db, char *err, size_t err_cap)
	__attribute__((warn_unused_result));

#endif
