/*
 * db-tool.c - TEST TOOL: a command-line front end to db.h for the integration tests.
 *
 * Not part of the agent. Each run builds a struct db_options from its flags, performs one
 * operation through the db API (running a long action to its end by polling it) and prints
 * the outcome. tests/integration/db_postgres.sh drives real PostgreSQL 15 servers with it.
 *
 *   gsha-db-tool [options] COMMAND [ARGS]
 *   options: --engine E --name N --scope S --data-dir D --bin-dir B --port P --listen-host H
 *            --local-host H --superuser U:PW --replication U:PW --rewind U:PW --param K=V
 *            --hba LINE --initdb-option O --basebackup-option O --use-slots --use-pg-rewind
 *            --remove-data-on-rewind-failure --timeout-ms MS --verbose
 *            --member PEER (repeated: every member, db_set_peers; openGauss's replconninfo)
 *            --term N (db_set_term, and the term of bootstrap, start primary and promote;
 *            without it 1, 1 and 2)
 *   commands: bootstrap | clone PEER [PRIMARY] | reclone PEER | start primary|replica [PEER]
 *            | stop MODE | restart MODE | reload | promote | follow [PEER] | rejoin PEER
 *            | status | control | apply | sync off|priority|quorum NUM [NAME...]
 *            | watch COUNT MS [stop MODE] (COUNT status reads MS apart in this one process,
 *              as the agent reads, then the last status; then optionally a stop)
 *            | slots [NAME...] | checkpoint | fence
 *   PEER is name@host:port.
 */
#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "num.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_ERR_MAX 1024
#define TOOL_PROGRESS_MAX 1024
/* Progress is printed at most this often while a task runs. */
#define TOOL_PROGRESS_EVERY_MS 2000

static void usage(void)
{
	fprintf(stderr, "usage: gsha-db-tool [options] COMMAND [ARGS] (see db-tool.c)\n");
	exit(2);
}

static void die(const char *what, int rc, const char *msg)
{
	fprintf(stderr, "error: %s: %s (%s)\n", what, msg[0] ? msg : "failed", strerror(-rc));
	exit(1);
}

static int parse_user(const char *s, struct db_user *u)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 0 || n >= sizeof(u->username))
		return -EINVAL;
	memcpy(u->username, s, n);
	u->username[n] = '\0';
	return buf_copy(u->password, sizeof(u->password), colon ? colon + 1 : "");
}

static int parse_peer(const char *s, struct db_peer *p)
{
	memset(p, 0, sizeof(*p));
	const char *at = strchr(s, '@');
	const char *colon = strrchr(s, ':');
	if (!at || !colon || colon < at)
		return -EINVAL;
	if ((size_t)(at - s) >= sizeof(p->name) || (size_t)(colon - at - 1) >= sizeof(p->host))
		return -EINVAL;
	memcpy(p->name, s, (size_t)(at - s));
	memcpy(p->host, at + 1, (size_t)(colon - at - 1));
	return num_parse_int(colon + 1, 1, 65535, &p->port);
}

static void print_status(const struct db_status *st)
{
	printf("initialized=%d\nrunning=%d\nrole=%s\naccepting=%d\npid=%d\n", st->initialized,
	       st->running, db_role_name(st->role), st->accepting, st->postmaster_pid);
	printf("server_version=%d\nsystem_identifier=%s\ntimeline=%u\nterm=%llu\n",
	       st->server_version, st->system_identifier, st->timeline,
	       (unsigned long long)st->term);
	printf("write_lsn=%llu\nflush_lsn=%llu\nreceive_lsn=%llu\nreplay_lsn=%llu\n",
	       (unsigned long long)st->write_lsn, (unsigned long long)st->flush_lsn,
	       (unsigned long long)st->receive_lsn, (unsigned long long)st->replay_lsn);
	printf("replication_state=%s\nupstream=%s:%d\nfollowing=%s:%d\n",
	       db_repl_state_name(st->replication_state), st->upstream_host, st->upstream_port,
	       st->following_host, st->following_port);
	printf("standbys=%d\n", st->standby_count);
	for (int i = 0; i < st->standby_count; i++) {
		const struct db_standby *s = &st->standbys[i];
		printf("standby.%s=%s,%s,%d,%llu\n", s->application_name, s->state,
		       db_sync_state_name(s->sync_state), s->sync_priority,
		       (unsigned long long)s->replay_lsn);
	}
	printf("slots=");
	for (int i = 0; i < st->slot_count; i++)
		printf("%s%s", i ? "," : "", st->slots[i].name);
	printf("\nsynchronous_standby_names=%s\n", st->synchronous_standby_names);
	printf("pending_restart=%d\npending=", st->pending_restart);
	for (int i = 0; i < st->pending_count && i < DB_PENDING_MAX; i++)
		printf("%s%s", i ? "," : "", st->pending[i]);
	printf("\ndetail=%s\ncluster_state=%s\nneeds_rejoin=%d\n", st->detail, st->cluster_state,
	       st->needs_rejoin);
}

static void run_task(struct db *db, const char *what, int rc, const char *err)
{
	if (rc < 0)
		die(what, rc, err);
	char msg[TOOL_ERR_MAX] = "";
	int64_t last = 0;
	for (;;) {
		rc = db_task_poll(db, 500, msg, sizeof(msg));
		if (rc != -EINPROGRESS)
			break;
		if (clock_mono_ms() - last >= TOOL_PROGRESS_EVERY_MS) {
			char progress[TOOL_PROGRESS_MAX];
			if (db_task_progress(db, progress, sizeof(progress)) == 0)
				fprintf(stderr, "progress: %s\n", progress);
			last = clock_mono_ms();
		}
	}
	if (rc < 0)
		die(what, rc, msg);
	printf("%s: done\n", what);
}

int main(int argc, char **argv)
{
	static struct db_options o;
	memset(&o, 0, sizeof(o));
	o.engine = DB_ENGINE_POSTGRES;
	int64_t timeout_ms = 60000;
	int64_t term = 0; /* --term: 0 when not given */
	static struct db_peer members[DB_PEERS_MAX];
	int member_count = 0;
	bool verbose = false;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *k = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (strcmp(k, "--use-slots") == 0) {
			o.use_slots = true;
			continue;
		} else if (strcmp(k, "--use-pg-rewind") == 0) {
			o.use_pg_rewind = true;
			continue;
		} else if (strcmp(k, "--remove-data-on-rewind-failure") == 0) {
			o.remove_data_directory_on_rewind_failure = true;
			continue;
		} else if (strcmp(k, "--verbose") == 0) {
			verbose = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(k, "--engine") == 0) {
			rc = db_engine_parse(v, &o.engine);
		} else if (strcmp(k, "--name") == 0) {
			rc = buf_copy(o.name, sizeof(o.name), v);
		} else if (strcmp(k, "--scope") == 0) {
			rc = buf_copy(o.scope, sizeof(o.scope), v);
		} else if (strcmp(k, "--data-dir") == 0) {
			rc = buf_copy(o.data_dir, sizeof(o.data_dir), v);
		} else if (strcmp(k, "--bin-dir") == 0) {
			rc = buf_copy(o.bin_dir, sizeof(o.bin_dir), v);
		} else if (strcmp(k, "--listen-host") == 0) {
			rc = buf_copy(o.listen_host, sizeof(o.listen_host), v);
			if (rc == 0)
				rc = buf_copy(o.connect_host, sizeof(o.connect_host), v);
		} else if (strcmp(k, "--local-host") == 0) {
			rc = buf_copy(o.local_host, sizeof(o.local_host), v);
		} else if (strcmp(k, "--port") == 0) {
			rc = num_parse_int(v, 1, 65535, &o.listen_port);
		} else if (strcmp(k, "--superuser") == 0) {
			rc = parse_user(v, &o.superuser);
		} else if (strcmp(k, "--replication") == 0) {
			rc = parse_user(v, &o.replication);
		} else if (strcmp(k, "--rewind") == 0) {
			rc = parse_user(v, &o.rewind);
		} else if (strcmp(k, "--param") == 0) {
			const char *eq = strchr(v, '=');
			if (!eq || o.parameters.count >= DB_PARAMS_MAX ||
			    (size_t)(eq - v) >= DB_PARAM_NAME_MAX) {
				rc = -EINVAL;
			} else {
				struct db_param *p = &o.parameters.items[o.parameters.count++];
				memcpy(p->name, v, (size_t)(eq - v));
				p->name[eq - v] = '\0';
				rc = buf_copy(p->value, sizeof(p->value), eq + 1);
			}
		} else if (strcmp(k, "--hba") == 0) {
			rc = o.hba_count < DB_HBA_MAX
				     ? buf_copy(o.hba[o.hba_count++], DB_HBA_LINE_MAX, v)
				     : -E2BIG;
		} else if (strcmp(k, "--initdb-option") == 0) {
			rc = o.initdb_option_count < DB_TOOL_OPTIONS_MAX
				     ? buf_copy(o.initdb_options[o.initdb_option_count++],
						DB_TOOL_OPTION_MAX, v)
				     : -E2BIG;
		} else if (strcmp(k, "--basebackup-option") == 0) {
			rc = o.basebackup_option_count < DB_TOOL_OPTIONS_MAX
				     ? buf_copy(o.basebackup_options[o.basebackup_option_count++],
						DB_TOOL_OPTION_MAX, v)
				     : -E2BIG;
		} else if (strcmp(k, "--member") == 0) { /* openGauss: every member, repeated */
			rc = member_count < DB_PEERS_MAX ? parse_peer(v, &members[member_count++])
							 : -E2BIG;
		} else if (strcmp(k, "--term") == 0) {
			rc = num_parse_i64(v, 1, 2147483647, &term);
		} else if (strcmp(k, "--timeout-ms") == 0) {
			rc = num_parse_i64(v, 0, 3600000, &timeout_ms);
		} else {
			usage();
		}
		if (rc != 0) {
			fprintf(stderr, "error: bad value for %s: \"%s\"\n", k, v);
			return 2;
		}
	}
	if (i >= argc)
		usage();
	log_setup(verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING, LOG_FORMAT_TEXT, o.name);
	const char *cmd = argv[i++];
	char err[TOOL_ERR_MAX] = "";
	struct db *db;
	int rc = db_new(&o, &db, err, sizeof(err));
	if (rc < 0)
		die("db_new", rc, err);

	if (member_count > 0) {
		rc = db_set_peers(db, members, member_count, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die("members", rc, err);
	}
	if (term > 0) {
		rc = db_set_term(db, (uint64_t)term, err, sizeof(err));
		if (rc < 0)
			die("term", rc, err);
	}
	struct db_peer peer, peer2;
	if (strcmp(cmd, "status") == 0) {
		struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
		rc = db_get_status(db, &st);
		if (rc < 0)
			die(cmd, rc, "");
		print_status(&st);
	} else if (strcmp(cmd, "watch") == 0) {
		int count, pause_ms;
		if (i + 1 >= argc || num_parse_int(argv[i], 1, 1000, &count) < 0 ||
		    num_parse_int(argv[i + 1], 0, 10000, &pause_ms) < 0)
			usage();
		i += 2;
		struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
		for (int k = 0; k < count; k++) {
			if (k > 0)
				clock_sleep_ms(pause_ms);
			rc = db_get_status(db, &st);
			if (rc < 0)
				die(cmd, rc, "");
		}
		print_status(&st);
		if (i + 1 < argc && strcmp(argv[i], "stop") == 0) {
			enum db_stop_mode m = strcmp(argv[i + 1], "smart") == 0 ? DB_STOP_SMART
					      : strcmp(argv[i + 1], "fast") == 0
						      ? DB_STOP_FAST
						      : DB_STOP_IMMEDIATE;
			rc = db_stop(db, m, timeout_ms, err, sizeof(err));
			if (rc < 0)
				die("stop", rc, err);
		}
	} else if (strcmp(cmd, "control") == 0) {
		struct db_control c;
		rc = db_read_control(db, &c, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
		printf("cluster_state=%s\ntimeline=%u\ncheckpoint_lsn=%llu\nwal_log_hints=%d\n",
		       c.cluster_state, c.timeline, (unsigned long long)c.checkpoint_lsn,
		       c.wal_log_hints);
	} else if (strcmp(cmd, "bootstrap") == 0) {
		run_task(db, cmd,
			 db_begin_bootstrap(db, term > 0 ? (uint64_t)term : 1, err, sizeof(err)),
			 err);
	} else if (strcmp(cmd, "clone") == 0 || strcmp(cmd, "reclone") == 0) {
		if (i >= argc || parse_peer(argv[i], &peer) < 0)
			usage();
		bool two = i + 1 < argc && parse_peer(argv[i + 1], &peer2) == 0;
		run_task(db, cmd,
			 db_begin_create_replica(db, &peer, two ? &peer2 : NULL,
						 strcmp(cmd, "reclone") == 0, err, sizeof(err)),
			 err);
	} else if (strcmp(cmd, "rejoin") == 0) {
		if (i >= argc || parse_peer(argv[i], &peer) < 0)
			usage();
		run_task(db, cmd, db_begin_rejoin(db, &peer, err, sizeof(err)), err);
	} else if (strcmp(cmd, "start") == 0) {
		if (i >= argc)
			usage();
		bool replica = strcmp(argv[i], "replica") == 0;
		bool has_peer = i + 1 < argc && parse_peer(argv[i + 1], &peer) == 0;
		rc = db_start(db, replica ? DB_START_REPLICA : DB_START_PRIMARY,
			      has_peer ? &peer : NULL, term > 0 ? (uint64_t)term : 1, timeout_ms,
			      err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "stop") == 0 || strcmp(cmd, "restart") == 0) {
		if (i >= argc)
			usage();
		enum db_stop_mode m = strcmp(argv[i], "smart") == 0  ? DB_STOP_SMART
				      : strcmp(argv[i], "fast") == 0 ? DB_STOP_FAST
								     : DB_STOP_IMMEDIATE;
		rc = strcmp(cmd, "stop") == 0 ? db_stop(db, m, timeout_ms, err, sizeof(err))
					      : db_restart(db, m, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "reload") == 0) {
		rc = db_reload(db, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "promote") == 0) {
		rc = db_promote(db, term > 0 ? (uint64_t)term : 2, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "follow") == 0) {
		bool has_peer = i < argc && parse_peer(argv[i], &peer) == 0;
		rc = db_follow(db, has_peer ? &peer : NULL, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "apply") == 0) {
		rc = db_apply_parameters(db, &o.parameters, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "sync") == 0) {
		static struct db_sync s;
		if (i >= argc)
			usage();
		s.method = strcmp(argv[i], "priority") == 0 ? DB_SYNC_METHOD_PRIORITY
			   : strcmp(argv[i], "quorum") == 0 ? DB_SYNC_METHOD_QUORUM
							    : DB_SYNC_METHOD_OFF;
		i++;
		if (s.method != DB_SYNC_METHOD_OFF &&
		    (i >= argc || num_parse_int(argv[i++], 0, DB_STANDBYS_MAX, &s.num) < 0))
			usage();
		for (; i < argc && s.count < DB_STANDBYS_MAX; i++) {
			if (buf_copy(s.names[s.count++], MEMBER_NAME_MAX, argv[i]) != 0)
				usage();
		}
		rc = db_set_sync_standbys(db, &s, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "slots") == 0) {
		static char names[DB_SLOTS_MAX][MEMBER_NAME_MAX];
		int n = 0;
		for (; i < argc && n < DB_SLOTS_MAX; i++) {
			if (buf_copy(names[n++], MEMBER_NAME_MAX, argv[i]) != 0)
				usage();
		}
		rc = db_ensure_slots(db, (const char(*)[MEMBER_NAME_MAX])names, n, timeout_ms, err,
				     sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
	} else if (strcmp(cmd, "checkpoint") == 0) {
		uint64_t lsn;
		rc = db_checkpoint(db, &lsn, timeout_ms, err, sizeof(err));
		if (rc < 0)
			die(cmd, rc, err);
		printf("checkpoint_lsn=%llu\n", (unsigned long long)lsn);
	} else if (strcmp(cmd, "fence") == 0) {
		/* Exit status 3 with the message when nothing was killed (-ESRCH). */
		rc = db_fence(db, err, sizeof(err));
		if (rc == -ESRCH) {
			printf("fence: nothing killed: %s\n", err);
			db_free(db);
			return 3;
		}
		if (rc < 0)
			die(cmd, rc, err);
		printf("fence: done\n");
	} else {
		usage();
	}
	db_free(db);
	return 0;
}
