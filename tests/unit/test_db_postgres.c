/*
 * test_db_postgres.c - the pure parts of the db module and its PostgreSQL driver: conninfo and
 * postgresql.conf rendering, synchronous_standby_names, slot names, status rows, pg_controldata,
 * postmaster.pid (hostile contents too), the role decision, and option checks. No server runs
 * here (tests/integration/db_postgres.sh does that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db_postgres.h"
#include "lsn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERR_CAP 512
#define CONF_CAP (64 * 1024)

/* The named fixture every test starts from: a valid two-user configuration. */
static void base_options(struct db_options *o)
{
	memset(o, 0, sizeof(*o));
	o->engine = DB_ENGINE_POSTGRES;
	snprintf(o->name, sizeof(o->name), "node-1");
	snprintf(o->scope, sizeof(o->scope), "batman");
	snprintf(o->data_dir, sizeof(o->data_dir), "/var/lib/pg/data");
	snprintf(o->listen_host, sizeof(o->listen_host), "0.0.0.0");
	o->listen_port = 5432;
	snprintf(o->superuser.username, sizeof(o->superuser.username), "postgres");
	snprintf(o->replication.username, sizeof(o->replication.username), "replicator");
	snprintf(o->replication.password, sizeof(o->replication.password), "rep-pass");
	o->use_slots = true;
	o->use_pg_rewind = true;
}

static struct db *new_db(const struct db_options *o)
{
	struct db *db = NULL;
	char err[ERR_CAP] = "";
	int rc = db_new(o, &db, err, sizeof(err));
	if (rc != 0)
		fail_msg("db_new: %d %s", rc, err);
	return db;
}

static struct db_peer peer(const char *name, const char *host, int port)
{
	struct db_peer p;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", name);
	snprintf(p.host, sizeof(p.host), "%s", host);
	p.port = port;
	return p;
}

/* --- names ------------------------------------------------------------------------------------ */

static void test_slot_name_normalizes_like_patroni(void **state)
{
	(void)state;
	char out[DB_NAME_MAX];
	assert_int_equal(db_slot_name("Node-1.east", out, sizeof(out)), 0);
	assert_string_equal(out, "node_1_east");
	assert_int_equal(db_slot_name("abc_09", out, sizeof(out)), 0);
	assert_string_equal(out, "abc_09");
	assert_int_equal(db_slot_name("", out, sizeof(out)), -EINVAL);
	char small[4];
	assert_int_equal(db_slot_name("abcd", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_enum_names_cover_every_value(void **state)
{
	(void)state;
	assert_string_equal(db_role_name(DB_ROLE_CRASHED), "crashed");
	assert_string_equal(db_role_name(DB_ROLE_PENDING), "pending");
	assert_string_equal(db_role_name(DB_ROLE_UNKNOWN), "unknown");
	assert_string_equal(db_role_name((enum db_role)99), "?");
	assert_string_equal(db_repl_state_name(DB_REPL_STREAMING), "streaming");
	assert_string_equal(db_repl_state_name(DB_REPL_NONE), "");
	assert_string_equal(db_sync_state_name(DB_SYNC_QUORUM), "quorum");
	assert_string_equal(db_stop_mode_name(DB_STOP_SMART), "smart");
	assert_string_equal(db_engine_name(DB_ENGINE_OPENGAUSS), "opengauss");
	enum db_engine e = DB_ENGINE_OPENGAUSS;
	assert_int_equal(db_engine_parse("PostgreSQL", &e), 0);
	assert_int_equal(e, DB_ENGINE_POSTGRES);
	assert_int_equal(db_engine_parse("gaussdb", &e), 0);
	assert_int_equal(e, DB_ENGINE_OPENGAUSS);
	assert_int_equal(db_engine_parse("mysql", &e), -EINVAL);
	assert_int_equal(e, DB_ENGINE_OPENGAUSS);
}

/* --- conninfo and identifiers ------------------------------------------------------------------ */

static void test_conninfo_quotes_only_when_needed(void **state)
{
	(void)state;
	char ci[256] = "";
	assert_int_equal(db_conninfo_add(ci, sizeof(ci), "host", "10.0.0.1"), 0);
	assert_int_equal(db_conninfo_add(ci, sizeof(ci), "password", "it's a \\ secret"), 0);
	assert_int_equal(db_conninfo_add(ci, sizeof(ci), "options", ""), 0);
	assert_string_equal(ci, "host=10.0.0.1 password='it\\'s a \\\\ secret' options=''");
	char tiny[12] = "";
	assert_int_equal(db_conninfo_add(tiny, sizeof(tiny), "host", "localhost"), -ENOBUFS);
	assert_string_equal(tiny, "");
}

static void test_primary_conninfo_names_member_and_passfile(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	struct db *db = new_db(&o);
	struct db_peer p = peer("node-2", "10.0.0.2", 5433);
	char ci[DB_CONNINFO_MAX];
	assert_int_equal(db_pg_conninfo(db, &p, &db->opts.replication, NULL, ci, sizeof(ci)), 0);
	assert_string_equal(ci,
			    "user=replicator passfile=/var/lib/pg/.pgpass_node-1 "
			    "host=10.0.0.2 port=5433 application_name=node-1 connect_timeout=5");
	db_free(db);
}

static void test_quote_ident_follows_patroni(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(db_quote_ident("node_1", out, sizeof(out)), 0);
	assert_string_equal(out, "node_1");
	assert_int_equal(db_quote_ident("node-1", out, sizeof(out)), 0);
	assert_string_equal(out, "\"node-1\"");
	assert_int_equal(db_quote_ident("a\"b", out, sizeof(out)), 0);
	assert_string_equal(out, "\"a\"\"b\"");
	assert_int_equal(db_quote_ident("1abc", out, sizeof(out)), 0);
	assert_string_equal(out, "\"1abc\"");
	char small[4];
	assert_int_equal(db_quote_ident("a-bc", small, sizeof(small)), -ENAMETOOLONG);
}

/* --- synchronous_standby_names ----------------------------------------------------------------- */

static struct db_sync sync_of(enum db_sync_method m, int num, int count, const char *names[])
{
	struct db_sync s;
	memset(&s, 0, sizeof(s));
	s.method = m;
	s.num = num;
	s.count = count;
	for (int i = 0; i < count; i++)
		snprintf(s.names[i], sizeof(s.names[i]), "%s", names[i]);
	return s;
}

static void test_sync_names_single_standby_is_bare(void **state)
{
	(void)state;
	const char *names[] = { "node-2" };
	struct db_sync s = sync_of(DB_SYNC_METHOD_PRIORITY, 1, 1, names);
	char out[256];
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "\"node-2\"");
}

static void test_sync_names_several_are_sorted_first_n(void **state)
{
	(void)state;
	const char *names[] = { "c", "a", "b", "a" };
	struct db_sync s = sync_of(DB_SYNC_METHOD_PRIORITY, 0, 4, names);
	char out[256];
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "FIRST 3 (a,b,c)");
	s.num = 2;
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "FIRST 2 (a,b,c)");
}

static void test_sync_names_quorum_uses_any(void **state)
{
	(void)state;
	const char *names[] = { "n2", "n3" };
	struct db_sync s = sync_of(DB_SYNC_METHOD_QUORUM, 1, 2, names);
	char out[256];
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "ANY 1 (n2,n3)");
	const char *one[] = { "n2" };
	s = sync_of(DB_SYNC_METHOD_QUORUM, 1, 1, one);
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "ANY 1 (n2)");
}

static void test_sync_names_off_or_empty_clear_it(void **state)
{
	(void)state;
	const char *names[] = { "n2" };
	struct db_sync s = sync_of(DB_SYNC_METHOD_OFF, 1, 1, names);
	char out[256] = "x";
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	s = sync_of(DB_SYNC_METHOD_PRIORITY, 1, 0, names);
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_sync_names_star_and_bad_counts(void **state)
{
	(void)state;
	const char *star[] = { "*" };
	struct db_sync s = sync_of(DB_SYNC_METHOD_PRIORITY, 1, 1, star);
	char out[256];
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "*");
	const char *mixed[] = { "*", "a" };
	s = sync_of(DB_SYNC_METHOD_PRIORITY, 1, 2, mixed);
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), -EINVAL);
	const char *two[] = { "a", "b" };
	s = sync_of(DB_SYNC_METHOD_PRIORITY, 3, 2, two);
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), -EINVAL);
	s = sync_of(DB_SYNC_METHOD_PRIORITY, -1, 2, two);
	assert_int_equal(db_render_sync_names(&s, out, sizeof(out)), -EINVAL);
	s = sync_of(DB_SYNC_METHOD_PRIORITY, 1, 2, two);
	char small[8];
	assert_int_equal(db_render_sync_names(&s, small, sizeof(small)), -ENAMETOOLONG);
}

static void test_sync_names_parse_every_form(void **state)
{
	(void)state;
	struct db_sync s;
	assert_int_equal(db_parse_sync_names("  ", &s), 0);
	assert_int_equal(s.method, DB_SYNC_METHOD_OFF);
	assert_int_equal(s.count, 0);
	assert_int_equal(db_parse_sync_names("*", &s), 0);
	assert_int_equal(s.method, DB_SYNC_METHOD_PRIORITY);
	assert_int_equal(s.num, 1);
	assert_string_equal(s.names[0], "*");
	assert_int_equal(db_parse_sync_names("node_b, \"node-a\"", &s), 0);
	assert_int_equal(s.method, DB_SYNC_METHOD_PRIORITY);
	assert_int_equal(s.num, 1);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.names[0], "node_b");
	assert_string_equal(s.names[1], "node-a");
	assert_int_equal(db_parse_sync_names("2 (a,b,c)", &s), 0);
	assert_int_equal(s.method, DB_SYNC_METHOD_PRIORITY);
	assert_int_equal(s.num, 2);
	assert_int_equal(s.count, 3);
	assert_int_equal(db_parse_sync_names("first 1 ( \"x\"\"y\" )", &s), 0);
	assert_int_equal(s.num, 1);
	assert_string_equal(s.names[0], "x\"y");
	assert_int_equal(db_parse_sync_names("ANY 2 (n1, n2, n3)", &s), 0);
	assert_int_equal(s.method, DB_SYNC_METHOD_QUORUM);
	assert_int_equal(s.num, 2);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.names[2], "n3");
	/* A standby may be called "first" as long as no number follows. */
	assert_int_equal(db_parse_sync_names("first, any", &s), 0);
	assert_int_equal(s.count, 2);
}

static void test_sync_names_parse_round_trips_the_renderer(void **state)
{
	(void)state;
	const char *names[] = { "node-2", "n3", "N4" };
	for (int m = DB_SYNC_METHOD_PRIORITY; m <= DB_SYNC_METHOD_QUORUM; m++) {
		for (int count = 1; count <= 3; count++) {
			struct db_sync in = sync_of((enum db_sync_method)m, 1, count, names);
			char text[256];
			assert_int_equal(db_render_sync_names(&in, text, sizeof(text)), 0);
			struct db_sync out;
			assert_int_equal(db_parse_sync_names(text, &out), 0);
			assert_int_equal(out.method, m);
			assert_int_equal(out.num, 1);
			assert_int_equal(out.count, count);
		}
	}
}

static void test_sync_names_parse_refuses_garbage(void **state)
{
	(void)state;
	struct db_sync s;
	s.count = 77;
	const char *bad[] = {
		"ANY (a)", "FIRST 0 (a)", "2 (a",	 "2 a, b",	    "a,",   ",a",    "\"\"",
		"\"open",  "a b",	  "ANY 1 (a) x", "99999999999 (a)", "1 ()", "-1 (a)"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (db_parse_sync_names(bad[i], &s) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(s.count, 77);
	char many[DB_STANDBYS_MAX * 8 + 16] = "";
	size_t len = 0;
	for (int i = 0; i <= DB_STANDBYS_MAX; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "%sn%d", i ? "," : "", i);
	assert_int_equal(db_parse_sync_names(many, &s), -EINVAL);
	char longname[MEMBER_NAME_MAX + 8];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(db_parse_sync_names(longname, &s), -EINVAL);
}

/* --- postgresql.conf --------------------------------------------------------------------------- */

static void test_conf_line_escapes_quotes_and_rejects_injection(void **state)
{
	(void)state;
	char conf[256] = "";
	assert_int_equal(db_conf_add(conf, sizeof(conf), "archive_command", "cp '%p' \\x"), 0);
	assert_string_equal(conf, "archive_command = 'cp ''%p'' \\\\x'\n");
	assert_int_equal(db_conf_add(conf, sizeof(conf), "a\nb", "1"), -EINVAL);
	assert_int_equal(db_conf_add(conf, sizeof(conf), "work_mem", "1\ninclude '/etc/x'"),
			 -EINVAL);
	assert_int_equal(db_conf_add(conf, sizeof(conf), "bad name", "1"), -EINVAL);
	assert_int_equal(db_conf_add(conf, sizeof(conf), "", "1"), -EINVAL);
	assert_int_equal(db_conf_add(conf, sizeof(conf), "ext.setting", "1"), 0);
}

static void test_conf_primary_includes_base_and_forces_own_settings(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	assert_int_equal(db_params_set(&o.parameters, "port", "9999"), 0);
	assert_int_equal(db_params_set(&o.parameters, "max_connections", "100"), 0);
	assert_int_equal(db_params_set(&o.parameters, "wal_level", "logical"), 0);
	assert_int_equal(db_params_set(&o.parameters, "data_directory", "/elsewhere"), 0);
	assert_int_equal(db_params_set(&o.parameters, "primary_conninfo", "host=evil"), 0);
	struct db *db = new_db(&o);
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, false, NULL, conf, CONF_CAP), 0);
	assert_int_equal(strncmp(conf, DB_PG_CONF_HEADER "\n", strlen(DB_PG_CONF_HEADER) + 1), 0);
	assert_non_null(strstr(conf, "\ninclude 'postgresql.base.conf'\n"));
	assert_non_null(strstr(conf, "\nport = '5432'\n"));
	assert_null(strstr(conf, "9999"));
	assert_non_null(strstr(conf, "\nmax_connections = '100'\n"));
	assert_non_null(strstr(conf, "\nwal_level = 'logical'\n")); /* configured wins default */
	assert_non_null(strstr(conf, "\nlisten_addresses = '0.0.0.0'\n"));
	assert_non_null(strstr(conf, "\ncluster_name = 'batman'\n"));
	assert_non_null(strstr(conf, "\nhot_standby = 'on'\n"));
	assert_non_null(strstr(conf, "\nwal_log_hints = 'on'\n"));
	assert_non_null(strstr(conf, "\nmax_wal_senders = '10'\n"));
	assert_null(strstr(conf, "data_directory"));
	assert_null(strstr(conf, "primary_conninfo"));
	assert_null(strstr(conf, "synchronous_standby_names"));
	free(conf);
	db_free(db);
}

static void test_conf_replica_follows_upstream_through_its_slot(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	struct db *db = new_db(&o);
	db->upstream = peer("leader", "10.0.0.9", 5432);
	db->has_upstream = true;
	db->upstream_known = true;
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_non_null(strstr(conf,
			       "\nprimary_conninfo = 'user=replicator passfile=/var/lib/pg/"
			       ".pgpass_node-1 host=10.0.0.9 port=5432 application_name=node-1 "
			       "connect_timeout=5'\n"));
	assert_non_null(strstr(conf, "\nprimary_slot_name = 'node_1'\n"));
	assert_null(strstr(conf, "recovery_target_timeline"));
	db->opts.use_slots = false;
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_null(strstr(conf, "primary_slot_name"));
	free(conf);
	db_free(db);
}

static void test_conf_replica_gets_recovery_conf_but_no_targets(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	const char *set[][2] = { { "restore_command", "cp /arch/%f %p" },
				 { "recovery_target_time", "2026-01-01" },
				 { "primary_conninfo", "host=evil" },
				 { "recovery_min_apply_delay", "5s" } };
	for (int i = 0; i < 4; i++) {
		snprintf(o.recovery_conf[i].name, sizeof(o.recovery_conf[i].name), "%s", set[i][0]);
		snprintf(o.recovery_conf[i].value, sizeof(o.recovery_conf[i].value), "%s",
			 set[i][1]);
	}
	o.recovery_conf_count = 4;
	struct db *db = new_db(&o);
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_non_null(strstr(conf, "\nrestore_command = 'cp /arch/%f %p'\n"));
	assert_non_null(strstr(conf, "\nrecovery_min_apply_delay = '5s'\n"));
	assert_null(strstr(conf, "recovery_target_time"));
	assert_null(strstr(conf, "evil"));
	/* A primary gets none of it. */
	assert_int_equal(db_pg_render_conf(db, false, NULL, conf, CONF_CAP), 0);
	assert_null(strstr(conf, "restore_command"));
	free(conf);
	db_free(db);
}

/* A standby leader (issue 13): primary_conninfo to standby_cluster's host, its
 * primary_slot_name (none without one, never the member's own), and the remote's recovery
 * commands over postgresql.recovery_conf's. */
static void test_conf_standby_leader_follows_the_remote_primary(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	snprintf(o.recovery_conf[0].name, sizeof(o.recovery_conf[0].name), "restore_command");
	snprintf(o.recovery_conf[0].value, sizeof(o.recovery_conf[0].value), "local-restore");
	snprintf(o.recovery_conf[1].name, sizeof(o.recovery_conf[1].name), "archive_timeout");
	snprintf(o.recovery_conf[1].value, sizeof(o.recovery_conf[1].value), "60");
	o.recovery_conf_count = 2;
	struct db *db = new_db(&o);
	db->upstream = peer("", "10.1.0.1", 5433);
	db->upstream.remote = true;
	snprintf(db->upstream.slot, sizeof(db->upstream.slot), "standby_b");
	snprintf(db->upstream.restore_command, sizeof(db->upstream.restore_command),
		 "cp /remote/%%f %%p");
	snprintf(db->upstream.archive_cleanup_command, sizeof(db->upstream.archive_cleanup_command),
		 "pg_archivecleanup /remote %%r");
	snprintf(db->upstream.recovery_min_apply_delay,
		 sizeof(db->upstream.recovery_min_apply_delay), "5min");
	db->has_upstream = true;
	db->upstream_known = true;
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_non_null(strstr(conf, " host=10.1.0.1 port=5433 application_name=node-1 "));
	assert_non_null(strstr(conf, "\nprimary_slot_name = 'standby_b'\n"));
	assert_non_null(strstr(conf, "\nrestore_command = 'cp /remote/%f %p'\n"));
	assert_non_null(
		strstr(conf, "\narchive_cleanup_command = 'pg_archivecleanup /remote %r'\n"));
	assert_non_null(strstr(conf, "\nrecovery_min_apply_delay = '5min'\n"));
	assert_null(strstr(conf, "local-restore"));
	assert_non_null(strstr(conf, "\narchive_timeout = '60'\n"));
	/* no primary_slot_name in standby_cluster: no slot (Patroni's no_replication_slot) */
	db->upstream.slot[0] = '\0';
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_null(strstr(conf, "primary_slot_name"));
	/* no host (WAL from restore_command only): no primary_conninfo */
	db->upstream.host[0] = '\0';
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_null(strstr(conf, "primary_conninfo"));
	assert_non_null(strstr(conf, "\nrestore_command = 'cp /remote/%f %p'\n"));
	free(conf);
	db_free(db);
}

static void test_conf_replica_keeps_recovery_lines_until_upstream_known(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	struct db *db = new_db(&o);
	const char *old = DB_PG_CONF_HEADER "\nwork_mem = '4MB'\n"
					    "primary_conninfo = 'host=10.0.0.7 port=5432'\n"
					    "primary_slot_name = 'node_1'\n";
	char preserved[1024];
	assert_int_equal(db_pg_recovery_lines(old, preserved, sizeof(preserved)), 0);
	assert_string_equal(preserved, "primary_conninfo = 'host=10.0.0.7 port=5432'\n"
				       "primary_slot_name = 'node_1'\n");
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, true, preserved, conf, CONF_CAP), 0);
	assert_non_null(strstr(conf, "\nprimary_conninfo = 'host=10.0.0.7 port=5432'\n"));
	/* Once told "no upstream", the old lines go. */
	db->upstream_known = true;
	assert_int_equal(db_pg_render_conf(db, true, preserved, conf, CONF_CAP), 0);
	assert_null(strstr(conf, "primary_conninfo"));
	char small[8];
	assert_int_equal(db_pg_recovery_lines(old, small, sizeof(small)), -ENOBUFS);
	free(conf);
	db_free(db);
}

static void test_conf_sync_names_managed_by_agent_win(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	assert_int_equal(db_params_set(&o.parameters, "synchronous_standby_names", "*"), 0);
	struct db *db = new_db(&o);
	const char *names[] = { "node-2", "node-3" };
	db->sync = sync_of(DB_SYNC_METHOD_PRIORITY, 1, 2, names);
	db->sync_managed = true;
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, false, NULL, conf, CONF_CAP), 0);
	assert_non_null(
		strstr(conf, "\nsynchronous_standby_names = 'FIRST 1 (\"node-2\",\"node-3\")'\n"));
	assert_null(strstr(conf, "synchronous_standby_names = '*'"));
	free(conf);
	db_free(db);
}

/* PostgreSQL's parameter names ignore case: INCLUDE_IF_EXISTS, DATA_DIRECTORY, HBA_FILE and
 * PRIMARY_CONNINFO from the dynamic configuration must be dropped like their lower-case names,
 * and a later "Work_Mem" replaces "work_mem". */
static void test_conf_drops_forbidden_parameters_in_any_case(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	assert_int_equal(db_params_set(&o.parameters, "INCLUDE_IF_EXISTS", "/tmp/evil.conf"), 0);
	assert_int_equal(db_params_set(&o.parameters, "Data_Directory", "/tmp/x"), 0);
	assert_int_equal(db_params_set(&o.parameters, "HBA_FILE", "/tmp/hba"), 0);
	assert_int_equal(db_params_set(&o.parameters, "PRIMARY_CONNINFO", "host=evil"), 0);
	assert_int_equal(db_params_set(&o.parameters, "work_mem", "1MB"), 0);
	assert_int_equal(db_params_set(&o.parameters, "Work_Mem", "2MB"), 0);
	assert_int_equal(db_params_set(&o.parameters, "WAL_LEVEL", "logical"), 0);
	struct db *db = new_db(&o);
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, true, NULL, conf, CONF_CAP), 0);
	assert_null(strcasestr(conf, "include_if_exists"));
	assert_null(strcasestr(conf, "data_directory"));
	assert_null(strcasestr(conf, "hba_file"));
	assert_null(strstr(conf, "evil"));
	assert_null(strstr(conf, "1MB"));
	assert_non_null(strstr(conf, "work_mem = '2MB'"));
	assert_null(strstr(conf, "wal_level = 'replica'")); /* WAL_LEVEL counts as set */
	free(conf);
	db_free(db);
}

/* One entry with a line break (PATCH /config stored it once) must not block every later change:
 * it is left out, and the others are written. */
static void test_conf_skips_unwritable_parameter_and_refuses_overflow(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	assert_int_equal(db_params_set(&o.parameters, "work_mem", "1MB\nfsync = off"), 0);
	assert_int_equal(db_params_set(&o.parameters, "bad name", "1"), 0);
	assert_int_equal(db_params_set(&o.parameters, "shared_buffers", "64MB"), 0);
	struct db *db = new_db(&o);
	char *conf = malloc(CONF_CAP);
	assert_int_equal(db_pg_render_conf(db, false, NULL, conf, CONF_CAP), 0);
	assert_null(strstr(conf, "fsync"));
	assert_null(strstr(conf, "work_mem"));
	assert_null(strstr(conf, "bad name"));
	assert_non_null(strstr(conf, "\nshared_buffers = '64MB'\n"));
	db->opts.parameters.count = 0;
	assert_int_equal(db_pg_render_conf(db, false, NULL, conf, 64), -ENOBUFS);
	free(conf);
	db_free(db);
}

static void test_params_set_replaces_and_bounds(void **state)
{
	(void)state;
	struct db_params *p = calloc(1, sizeof(*p));
	assert_int_equal(db_params_set(p, "a", "1"), 0);
	assert_int_equal(db_params_set(p, "a", "2"), 0);
	assert_int_equal(p->count, 1);
	assert_string_equal(db_params_get(p, "a"), "2");
	assert_null(db_params_get(p, "b"));
	char name[DB_PARAM_NAME_MAX + 1];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(db_params_set(p, name, "1"), -ENAMETOOLONG);
	for (int i = 1; i < DB_PARAMS_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "p%d", i);
		assert_int_equal(db_params_set(p, n, "v"), 0);
	}
	assert_int_equal(db_params_set(p, "one_too_many", "v"), -ENOBUFS);
	free(p);
}

/* --- LSNs and status rows ---------------------------------------------------------------------- */

static void test_lsn_parse_accepts_pg_format_only(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(lsn_parse("0/3000148", &v), 0);
	assert_int_equal(v, 0x3000148);
	assert_int_equal(lsn_parse("16/B374D848", &v), 0);
	assert_int_equal(v, (0x16ULL << 32) | 0xB374D848);
	assert_int_equal(lsn_parse("FFFFFFFF/FFFFFFFF", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	v = 7;
	assert_int_equal(lsn_parse("0/", &v), -EINVAL);
	assert_int_equal(lsn_parse("/1", &v), -EINVAL);
	assert_int_equal(lsn_parse("1/2/3", &v), -EINVAL);
	assert_int_equal(lsn_parse("100000000/0", &v), -EINVAL);
	assert_int_equal(lsn_parse("0/-1", &v), -EINVAL);
	assert_int_equal(lsn_parse("12345", &v), -EINVAL);
	assert_int_equal(v, 7);
}

/* A primary's status row as PostgreSQL 15 returns it (captured from the integration test). */
static void primary_row(const char *v[DB_PG_STATUS_COLS])
{
	for (int i = 0; i < DB_PG_STATUS_COLS; i++)
		v[i] = NULL;
	v[DB_PG_COL_IN_RECOVERY] = "f";
	v[DB_PG_COL_VERSION] = "150014";
	v[DB_PG_COL_START_TIME] = "2026-11-21 06:37:40.123456+00:00";
	v[DB_PG_COL_SYSID] = "7710494829095195138";
	v[DB_PG_COL_WRITE_LSN] = "0/3000148";
	v[DB_PG_COL_FLUSH_LSN] = "0/3000148";
	v[DB_PG_COL_PAUSED] = "f";
	v[DB_PG_COL_CHECKPOINT_TLI] = "1";
	v[DB_PG_COL_PRIMARY_TLI] = "2";
	v[DB_PG_COL_SYNC_NAMES] = "";
}

static void test_status_row_of_primary(void **state)
{
	(void)state;
	const char *v[DB_PG_STATUS_COLS];
	primary_row(v);
	struct db_status st;
	memset(&st, 0, sizeof(st));
	assert_int_equal(db_pg_parse_status_row(v, &st), 0);
	assert_int_equal(st.role, DB_ROLE_PRIMARY);
	assert_int_equal(st.server_version, 150014);
	assert_int_equal(st.timeline, 2);
	/* Promoted, its first checkpoint on timeline 2 not done: checkpoint_after_promote false. */
	assert_int_equal(st.checkpoint_timeline, 1);
	assert_int_equal(st.term, 0);
	assert_int_equal(st.flush_lsn, 0x3000148);
	assert_int_equal(st.receive_lsn, 0);
	assert_int_equal(st.replication_state, DB_REPL_NONE);
	assert_string_equal(st.system_identifier, "7710494829095195138");
	assert_string_equal(st.postmaster_start_time, "2026-11-21 06:37:40.123456+00:00");
}

static void test_status_row_of_streaming_replica(void **state)
{
	(void)state;
	const char *v[DB_PG_STATUS_COLS];
	primary_row(v);
	v[DB_PG_COL_IN_RECOVERY] = "t";
	v[DB_PG_COL_WRITE_LSN] = NULL;
	v[DB_PG_COL_FLUSH_LSN] = NULL;
	v[DB_PG_COL_PRIMARY_TLI] = NULL;
	v[DB_PG_COL_RECEIVE_LSN] = "0/4000060";
	v[DB_PG_COL_REPLAY_LSN] = "0/4000000";
	v[DB_PG_COL_REPLAY_TS] = "2026-11-21 06:38:00.000001+00:00";
	v[DB_PG_COL_RECEIVER_STATUS] = "streaming";
	v[DB_PG_COL_RECEIVED_TLI] = "3";
	v[DB_PG_COL_SENDER_HOST] = "127.0.0.1";
	v[DB_PG_COL_SENDER_PORT] = "5433";
	struct db_status st;
	memset(&st, 0, sizeof(st));
	assert_int_equal(db_pg_parse_status_row(v, &st), 0);
	assert_int_equal(st.role, DB_ROLE_REPLICA);
	assert_int_equal(st.timeline, 3); /* the receiver's, newer than the checkpoint's */
	assert_int_equal(st.receive_lsn, 0x4000060);
	assert_int_equal(st.replay_lsn, 0x4000000);
	assert_int_equal(st.flush_lsn, 0);
	assert_int_equal(st.replication_state, DB_REPL_STREAMING);
	assert_string_equal(st.upstream_host, "127.0.0.1");
	assert_int_equal(st.upstream_port, 5433);
	assert_string_equal(st.following_host, "");

	v[DB_PG_COL_PRIMARY_CONNINFO] = "user=replicator host='10.0.0.9,10.0.0.8' port=6432 "
					"application_name=n1";
	assert_int_equal(db_pg_parse_status_row(v, &st), 0);
	assert_string_equal(st.following_host, "10.0.0.9");
	assert_int_equal(st.following_port, 6432);
	v[DB_PG_COL_PRIMARY_CONNINFO] = "host=db1";
	assert_int_equal(db_pg_parse_status_row(v, &st), 0);
	assert_string_equal(st.following_host, "db1");
	assert_int_equal(st.following_port, 5432);
	/* A malformed setting leaves "following" empty but the rest of the status intact. */
	const char *hostile[] = { "host='unterminated", "port=99999 host=a", "=x",
				  "host=a port=x" };
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		v[DB_PG_COL_PRIMARY_CONNINFO] = hostile[i];
		assert_int_equal(db_pg_parse_status_row(v, &st), 0);
		assert_string_equal(st.following_host, "");
		assert_int_equal(st.following_port, 0);
		assert_int_equal(st.replication_state, DB_REPL_STREAMING);
	}
}

static void test_status_row_of_replica_without_receiver(void **state)
{
	(void)state;
	const char *v[DB_PG_STATUS_COLS];
	primary_row(v);
	v[DB_PG_COL_IN_RECOVERY] = "t";
	v[DB_PG_COL_PRIMARY_TLI] = NULL;
	struct db_status st;
	memset(&st, 0, sizeof(st));
	assert_int_equal(db_pg_parse_status_row(v, &st), 0);
	assert_int_equal(st.replication_state, DB_REPL_DISCONNECTED);
	assert_int_equal(st.timeline, 1); /* falls back to the checkpoint's */
	v[DB_PG_COL_RECEIVER_STATUS] = "waiting";
	assert_int_equal(db_pg_parse_status_row(v, &st), 0);
	assert_int_equal(st.replication_state, DB_REPL_CONNECTING);
}

static void test_status_row_malformed_leaves_status_untouched(void **state)
{
	(void)state;
	const char *v[DB_PG_STATUS_COLS];
	struct db_status st;
	memset(&st, 0, sizeof(st));
	st.timeline = 42;
	const char *bad[][2] = {
		{ "in_recovery", "maybe" }, { "version", "15.4" },
		{ "flush", "garbage" },	    { "tli", "-1" },
		{ "port", "70000" },	    { "none", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		primary_row(v);
		if (strcmp(bad[i][0], "in_recovery") == 0)
			v[DB_PG_COL_IN_RECOVERY] = bad[i][1];
		else if (strcmp(bad[i][0], "version") == 0)
			v[DB_PG_COL_VERSION] = bad[i][1];
		else if (strcmp(bad[i][0], "flush") == 0)
			v[DB_PG_COL_FLUSH_LSN] = bad[i][1];
		else if (strcmp(bad[i][0], "tli") == 0)
			v[DB_PG_COL_PRIMARY_TLI] = bad[i][1];
		else if (strcmp(bad[i][0], "port") == 0) {
			v[DB_PG_COL_IN_RECOVERY] = "t";
			v[DB_PG_COL_SENDER_PORT] = bad[i][1];
		} else
			v[DB_PG_COL_IN_RECOVERY] = NULL;
		assert_int_equal(db_pg_parse_status_row(v, &st), -EINVAL);
		assert_int_equal(st.timeline, 42);
	}
	char longhost[DB_HOST_MAX + 10];
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	primary_row(v);
	v[DB_PG_COL_IN_RECOVERY] = "t";
	v[DB_PG_COL_SENDER_HOST] = longhost;
	assert_int_equal(db_pg_parse_status_row(v, &st), -EINVAL);
}

static void test_standby_row_parses_sync_state(void **state)
{
	(void)state;
	const char *v[DB_PG_STANDBY_COLS] = { "n2",	   "replicator", "127.0.0.1", "streaming",
					      "sync",	   "1",		 "0/5000000", "0/5000000",
					      "0/4FFFFF0", "0/4FFFF00" };
	struct db_standby sb;
	assert_int_equal(db_pg_parse_standby_row(v, &sb), 0);
	assert_string_equal(sb.application_name, "n2");
	assert_int_equal(sb.sync_state, DB_SYNC_SYNC);
	assert_int_equal(sb.sync_priority, 1);
	assert_int_equal(sb.flush_lsn, 0x4FFFFF0);
	v[DB_PG_SB_SYNC_STATE] = "quorum";
	assert_int_equal(db_pg_parse_standby_row(v, &sb), 0);
	assert_int_equal(sb.sync_state, DB_SYNC_QUORUM);
	v[DB_PG_SB_SYNC_STATE] = "Sync"; /* openGauss spelling is not PostgreSQL's */
	assert_int_equal(db_pg_parse_standby_row(v, &sb), -EINVAL);
	v[DB_PG_SB_SYNC_STATE] = "async";
	v[DB_PG_SB_REPLAY] = NULL; /* not yet replayed anything */
	assert_int_equal(db_pg_parse_standby_row(v, &sb), 0);
	assert_int_equal(sb.replay_lsn, 0);
}

/* --- pg_controldata ---------------------------------------------------------------------------- */

/* Captured from PostgreSQL 15's pg_controldata with LC_ALL=C (trimmed to the lines we read and
 * their neighbours). */
static const char controldata_fixture[] =
	"pg_control version number:            1300\n"
	"Catalog version number:               202209061\n"
	"Database system identifier:           7710511516907093092\n"
	"Database cluster state:               shut down\n"
	"Latest checkpoint location:           0/1500718\n"
	"Latest checkpoint's REDO location:    0/15006E0\n"
	"Latest checkpoint's REDO WAL file:    000000010000000000000001\n"
	"Latest checkpoint's TimeLineID:       1\n"
	"Latest checkpoint's PrevTimeLineID:   1\n"
	"Minimum recovery ending location:     0/0\n"
	"Min recovery ending loc's timeline:   0\n"
	"wal_log_hints setting:                on\n"
	"Data page checksum version:           0\n";

static void test_history_switchpoint(void **state)
{
	(void)state;
	uint64_t sp = 0;
	const char *h = "1\t0/3000060\tno recovery target specified\n"
			"\n"
			"# comment\n"
			"2\t1/A0000000\tbefore 2026-12-07 13:00:00+00\n";
	assert_int_equal(db_pg_history_switchpoint(h, 1, &sp), 0);
	assert_true(sp == 0x3000060);
	assert_int_equal(db_pg_history_switchpoint(h, 2, &sp), 0);
	assert_true(sp == 0x1A0000000ULL);
	assert_int_equal(db_pg_history_switchpoint(h, 3, &sp), -ENOENT);
	assert_int_equal(db_pg_history_switchpoint("", 1, &sp), -ENOENT);
	assert_int_equal(db_pg_history_switchpoint("1\n", 1, &sp), -EINVAL);
	assert_int_equal(db_pg_history_switchpoint("x\t0/1\n", 1, &sp), -EINVAL);
	assert_int_equal(db_pg_history_switchpoint("1\t0/zz\n", 1, &sp), -EINVAL);
	assert_int_equal(db_pg_history_switchpoint("0\t0/1\n", 0, &sp), -EINVAL);
}

static void test_controldata_fixture_parses(void **state)
{
	(void)state;
	struct db_control c;
	assert_int_equal(db_pg_parse_controldata(controldata_fixture, &c), 0);
	assert_string_equal(c.cluster_state, "shut down");
	assert_string_equal(c.system_identifier, "7710511516907093092");
	assert_int_equal(c.checkpoint_lsn, 0x1500718);
	assert_int_equal(c.redo_lsn, 0x15006E0);
	assert_int_equal(c.timeline, 1);
	assert_true(c.wal_log_hints);
	assert_false(c.data_checksums);
	assert_int_equal(c.min_recovery_lsn, 0);
	assert_int_equal(c.min_recovery_timeline, 0);
}

/* The data directory issue 18's primary-freeze left: stopped "in recovery" on timeline 1 with
 * its latest checkpoint (a restartpoint) at 0/402E928, past the point 0/402E8B0 where the
 * leader's timeline 2 forked off, and 00000002.history in pg_wal. pg_controldata is a fake (a
 * script printing the text the test gives it), the history file and WAL names are real. */
static char *fake_controldata(const char *dir, const char *state, const char *ckpt, int tli,
			      const char *minrec, int minrec_tli)
{
	char path[512], text[2048];
	snprintf(text, sizeof(text),
		 "Database system identifier:           7716580568238877581\n"
		 "Database cluster state:               %s\n"
		 "Latest checkpoint location:           %s\n"
		 "Latest checkpoint's REDO location:    %s\n"
		 "Latest checkpoint's TimeLineID:       %d\n"
		 "Minimum recovery ending location:     %s\n"
		 "Min recovery ending loc's timeline:   %d\n",
		 state, ckpt, ckpt, tli, minrec, minrec_tli);
	assert_true(snprintf(path, sizeof(path), "%s/control.txt", dir) < (int)sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_true(snprintf(path, sizeof(path), "%s/bin/pg_controldata", dir) < (int)sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\nexec cat '%s/control.txt'\n", dir);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	return strdup(path);
}

static void touch_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct db_status stopped_status(struct db *db)
{
	struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_false(st.running);
	assert_true(st.initialized);
	return st;
}

static void test_stopped_directory_past_the_fork_must_be_rewound(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-db-fork.XXXXXX", sub[512];
	assert_non_null(mkdtemp(dir));
	assert_true(snprintf(sub, sizeof(sub), "%s/bin", dir) < (int)sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_true(snprintf(sub, sizeof(sub), "%s/data", dir) < (int)sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	touch_file(sub, "PG_VERSION", "15\n");
	assert_true(snprintf(sub, sizeof(sub), "%s/data/pg_wal", dir) < (int)sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	touch_file(sub, "000000010000000000000004", "");
	/* db_new wants a pg_ctl in bin_dir; this test never runs it. */
	assert_true(snprintf(sub, sizeof(sub), "%s/bin", dir) < (int)sizeof(sub));
	touch_file(sub, "pg_ctl", "#!/bin/sh\nexit 1\n");
	assert_true(snprintf(sub, sizeof(sub), "%s/bin/pg_ctl", dir) < (int)sizeof(sub));
	assert_int_equal(chmod(sub, 0755), 0);
	assert_true(snprintf(sub, sizeof(sub), "%s/data/pg_wal", dir) < (int)sizeof(sub));
	struct db_options o;
	base_options(&o);
	assert_true(snprintf(o.data_dir, sizeof(o.data_dir), "%s/data", dir) <
		    (int)sizeof(o.data_dir));
	assert_true(snprintf(o.bin_dir, sizeof(o.bin_dir), "%s/bin", dir) < (int)sizeof(o.bin_dir));
	struct db *db = new_db(&o);

	/* No newer timeline in pg_wal: nothing to say. */
	free(fake_controldata(dir, "shut down in recovery", "0/402E928", 1, "0/0", 0));
	struct db_status st = stopped_status(db);
	assert_int_equal(st.fork_timeline, 0);
	assert_false(st.needs_rejoin);

	/* Timeline 2 forked off at 0/402E8B0: a checkpoint there or after cannot start on it. */
	touch_file(sub, "00000002.history", "1\t0/402E8B0\tno recovery target specified\n");
	st = stopped_status(db);
	assert_int_equal(st.fork_timeline, 2);
	assert_true(st.fork_lsn == 0x402E8B0);
	free(fake_controldata(dir, "shut down in recovery", "0/402E8B0", 1, "0/0", 0));
	assert_int_equal(stopped_status(db).fork_timeline, 2);

	/* A checkpoint before the fork: a replica that was behind follows timeline 2 as is... */
	free(fake_controldata(dir, "shut down in recovery", "0/402E800", 1, "0/0", 0));
	assert_int_equal(stopped_status(db).fork_timeline, 0);
	/* ...unless it replayed past the fork (its minimum recovery point). */
	free(fake_controldata(dir, "shut down in recovery", "0/402E800", 1, "0/402E9A0", 1));
	st = stopped_status(db);
	assert_int_equal(st.fork_timeline, 2);
	assert_true(st.fork_lsn == 0x402E8B0);

	/* Rewound: pg_control on timeline 2 (the source's), nothing newer in pg_wal. */
	free(fake_controldata(dir, "in archive recovery", "0/5000060", 2, "0/5000100", 2));
	assert_int_equal(stopped_status(db).fork_timeline, 0);

	/* A newer timeline whose history does not hold mine at all: not a child either. */
	free(fake_controldata(dir, "shut down in recovery", "0/402E800", 3, "0/0", 0));
	touch_file(sub, "00000004.history",
		   "1\t0/402E8B0\tno recovery target specified\n"
		   "2\t0/5000000\tno recovery target specified\n");
	st = stopped_status(db);
	assert_int_equal(st.fork_timeline, 4);
	assert_true(st.fork_lsn == 0);

	db_free(db);
	char err[ERR_CAP];
	assert_int_equal(db_remove_tree(dir, err, sizeof(err)), 0);
}

static void test_controldata_missing_or_bad_line_fails(void **state)
{
	(void)state;
	struct db_control c;
	assert_int_equal(db_pg_parse_controldata("", &c), -EINVAL);
	char *t = strdup(controldata_fixture);
	char *p = strstr(t, "0/1500718");
	p[0] = 'x';
	assert_int_equal(db_pg_parse_controldata(t, &c), -EINVAL);
	free(t);
}

/* --- postmaster.pid ----------------------------------------------------------------------------- */

static const char pidfile_fixture[] = "12345\n"
				      "/var/lib/postgresql/15/main\n"
				      "1795239505\n"
				      "5432\n"
				      "/var/run/postgresql\n"
				      "127.0.0.1\n"
				      "  5432001         0\n"
				      "ready   \n";

static void test_pidfile_fixture_parses(void **state)
{
	(void)state;
	struct db_pidfile pf;
	assert_int_equal(db_pidfile_parse(pidfile_fixture, &pf), 0);
	assert_int_equal(pf.pid, 12345);
	assert_string_equal(pf.data_dir, "/var/lib/postgresql/15/main");
	assert_int_equal(pf.start_time, 1795239505);
	assert_int_equal(pf.port, 5432);
	assert_string_equal(pf.socket_dir, "/var/run/postgresql");
	assert_string_equal(pf.listen_addr, "127.0.0.1");
	assert_string_equal(pf.status, "ready");
	assert_int_equal(pf.shm_id, 0); /* line 7: "  5432001         0" */
}

/* Line 7's shared memory id is a hint for db_shm_in_use: read when there, -1 when absent or not
 * a number (openGauss may write something else), never a reason to reject the file. */
static void test_pidfile_shm_id_is_a_hint(void **state)
{
	(void)state;
	struct db_pidfile pf;
	assert_int_equal(
		db_pidfile_parse("7\n/d\n1\n5432\n\n\n  5432001    327691\nready   \n", &pf), 0);
	assert_int_equal(pf.shm_id, 327691);
	assert_int_equal(db_pidfile_parse("7\n/d\n1\n5432\n\n\n  5432001\n", &pf), 0);
	assert_int_equal(pf.shm_id, -1);
	assert_int_equal(db_pidfile_parse("7\n/d\n1\n5432\n\n\nkey x\n", &pf), 0);
	assert_int_equal(pf.shm_id, -1);
}

/* PostgreSQL refuses to start while processes still have the last server's interlock segment
 * attached: so does db_start (db_shm_in_use), for that server's segment only. */
static void test_shm_in_use_counts_only_the_servers_own_segment(void **state)
{
	(void)state;
	struct db_pidfile pf = { .pid = (int)getpid(), .shm_id = -1 };
	int attached = -1;
	assert_false(db_shm_in_use(&pf, &attached));
	pf.shm_id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	assert_true(pf.shm_id >= 0);
	void *at = shmat(pf.shm_id, NULL, 0);
	assert_true(at != (void *)-1);
	assert_true(db_shm_in_use(&pf, &attached));
	assert_int_equal(attached, 1);
	pf.pid = (int)getppid(); /* a segment some other process created: not the server's */
	assert_false(db_shm_in_use(&pf, &attached));
	pf.pid = (int)getpid();
	assert_int_equal(shmdt(at), 0);
	assert_false(db_shm_in_use(&pf, &attached));
	assert_int_equal(attached, 0);
	assert_int_equal(shmctl(pf.shm_id, IPC_RMID, NULL), 0);
}

static void test_pidfile_early_startup_has_no_status(void **state)
{
	(void)state;
	struct db_pidfile pf;
	assert_int_equal(db_pidfile_parse("777\n/data\n", &pf), 0);
	assert_int_equal(pf.pid, 777);
	assert_int_equal(pf.shm_id, -1);
	assert_string_equal(pf.status, "");
	assert_int_equal(db_pidfile_parse("778", &pf), 0);
	assert_int_equal(pf.pid, 778);
}

static void test_pidfile_hostile_contents_are_rejected(void **state)
{
	(void)state;
	struct db_pidfile pf;
	pf.pid = 99;
	const char *bad[] = {
		"",
		"\n",
		"0\n",
		"-5\n",
		"abc\n",
		"123abc\n",
		"99999999999\n",
		" 12\n",
		"12\n/d\nnow\n",
		"12\n/d\n1\n99999\n",
		"12\n/d\x01x\n",
		"+\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (db_pidfile_parse(bad[i], &pf) != -EINVAL)
			fail_msg("accepted hostile pidfile #%zu", i);
	}
	assert_int_equal(pf.pid, 99);
	/* An over-long line is refused, not cut. */
	char *big = malloc(DB_PATH_MAX + 16);
	memcpy(big, "12\n", 3);
	memset(big + 3, 'd', DB_PATH_MAX + 5);
	big[DB_PATH_MAX + 8] = '\0';
	assert_int_equal(db_pidfile_parse(big, &pf), -EINVAL);
	free(big);
}

static char tmp_dir[64];

static void write_raw(const char *name, const void *data, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_pidfile_read_refuses_huge_nul_and_missing(void **state)
{
	(void)state;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/gsha-test-db.XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	struct db_pidfile pf;
	assert_int_equal(db_pidfile_read(tmp_dir, &pf), -ENOENT);
	write_raw("postmaster.pid", pidfile_fixture, strlen(pidfile_fixture));
	assert_int_equal(db_pidfile_read(tmp_dir, &pf), 0);
	assert_int_equal(pf.pid, 12345);
	write_raw("postmaster.pid", "12\0\n/d\n", 7);
	assert_int_equal(db_pidfile_read(tmp_dir, &pf), -EINVAL);
	char *huge = malloc(DB_PIDFILE_MAX * 2);
	memset(huge, '1', DB_PIDFILE_MAX * 2);
	write_raw("postmaster.pid", huge, DB_PIDFILE_MAX * 2);
	free(huge);
	assert_int_equal(db_pidfile_read(tmp_dir, &pf), -EINVAL);
	char err[ERR_CAP];
	assert_int_equal(db_remove_tree(tmp_dir, err, sizeof(err)), 0);
	assert_int_equal(access(tmp_dir, F_OK), -1);
}

static void test_pid_alive_sees_self_not_dead(void **state)
{
	(void)state;
	assert_true(db_pid_alive(getpid()));
	assert_false(db_pid_alive(0));
	assert_false(db_pid_alive(-1));
	assert_false(db_pid_alive(0x3fffffff)); /* above pid_max */
}

/* --- the role decision ----------------------------------------------------------------------- */

static struct db_probe running_probe(void)
{
	struct db_probe p;
	memset(&p, 0, sizeof(p));
	p.initialized = true;
	assert_int_equal(db_pidfile_parse(pidfile_fixture, &p.pf), 0);
	p.alive = true;
	p.connected = true;
	return p;
}

static enum db_role classify(const struct db_probe *p, struct db_status *st)
{
	memset(st, 0, sizeof(*st));
	db_classify(p, st);
	return st->role;
}

static void test_classify_no_pidfile_is_stopped(void **state)
{
	(void)state;
	struct db_probe p = running_probe();
	p.pidfile_rc = -ENOENT;
	struct db_status st;
	assert_int_equal(classify(&p, &st), DB_ROLE_STOPPED);
	assert_false(st.running);
	p.initialized = false;
	assert_int_equal(classify(&p, &st), DB_ROLE_STOPPED);
	assert_string_equal(st.detail, "data directory is not initialized");
}

static void test_classify_dead_pid_is_crashed(void **state)
{
	(void)state;
	struct db_probe p = running_probe();
	p.alive = false;
	p.connected = false;
	struct db_status st;
	assert_int_equal(classify(&p, &st), DB_ROLE_CRASHED);
	assert_false(st.running);
	assert_int_equal(st.postmaster_pid, 12345);
	assert_non_null(strstr(st.detail, "12345"));
}

static void test_classify_connected_follows_recovery(void **state)
{
	(void)state;
	struct db_probe p = running_probe();
	struct db_status st;
	assert_int_equal(classify(&p, &st), DB_ROLE_PRIMARY);
	assert_true(st.running);
	assert_true(st.accepting);
	p.in_recovery = true;
	assert_int_equal(classify(&p, &st), DB_ROLE_REPLICA);
}

static void test_classify_alive_but_silent(void **state)
{
	(void)state;
	struct db_probe p = running_probe();
	p.connected = false;
	struct db_status st;
	snprintf(p.conn_error, sizeof(p.conn_error),
		 "could not connect: no answer before the "
		 "deadline");
	assert_int_equal(classify(&p, &st), DB_ROLE_UNKNOWN); /* "ready" yet silent: hung */
	assert_true(st.running);
	snprintf(p.pf.status, sizeof(p.pf.status), "starting");
	assert_int_equal(classify(&p, &st), DB_ROLE_STARTING);
	snprintf(p.pf.status, sizeof(p.pf.status), "stopping");
	assert_int_equal(classify(&p, &st), DB_ROLE_STOPPING);
	snprintf(p.pf.status, sizeof(p.pf.status), "standby");
	snprintf(p.conn_error, sizeof(p.conn_error),
		 "could not connect: FATAL:  the database system is starting up");
	assert_int_equal(classify(&p, &st), DB_ROLE_STARTING);
	snprintf(p.conn_error, sizeof(p.conn_error),
		 "could not connect: FATAL:  the database system is shutting down");
	assert_int_equal(classify(&p, &st), DB_ROLE_STOPPING);
}

static void test_classify_unreadable_pidfile_is_unknown(void **state)
{
	(void)state;
	struct db_probe p = running_probe();
	p.pidfile_rc = -EINVAL;
	struct db_status st;
	assert_int_equal(classify(&p, &st), DB_ROLE_UNKNOWN);
	assert_false(st.running);
	assert_non_null(strstr(st.detail, "postmaster.pid"));
}

/* --- options and the task API without a server ---------------------------------------------- */

static void test_options_defaults_are_derived(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	assert_int_equal(db_params_set(&o.parameters, "unix_socket_directories", "/run/pg, /tmp"),
			 0);
	struct db *db = new_db(&o);
	const struct db_options *g = db_get_options(db);
	assert_string_equal(g->pgpass_path, "/var/lib/pg/.pgpass_node-1");
	assert_string_equal(g->log_file, "/var/lib/pg/data/postmaster.log");
	assert_string_equal(g->local_host, "/run/pg");
	assert_int_equal(g->connect_port, 5432);
	assert_string_equal(g->rewind.username, "postgres"); /* superuser when not configured */
	assert_int_equal(g->connect_timeout_ms, 2000);
	assert_int_equal(g->command_timeout_ms, 60000);
	db_free(db);
	base_options(&o);
	db = new_db(&o);
	assert_string_equal(db_get_options(db)->local_host, "127.0.0.1"); /* from 0.0.0.0 */
	db_free(db);
	const char *listen[][2] = { { "10.1.2.3,127.0.0.1", "10.1.2.3" },
				    { "*", "127.0.0.1" },
				    { "::", "::1" },
				    { "", "127.0.0.1" } };
	for (size_t i = 0; i < sizeof(listen) / sizeof(listen[0]); i++) {
		base_options(&o);
		snprintf(o.listen_host, sizeof(o.listen_host), "%s", listen[i][0]);
		db = new_db(&o);
		assert_string_equal(db_get_options(db)->local_host, listen[i][1]);
		db_free(db);
	}
	base_options(&o);
	assert_int_equal(db_params_set(&o.parameters, "unix_socket_directories", ", /sock"), 0);
	db = new_db(&o);
	assert_string_equal(db_get_options(db)->local_host, "/sock");
	db_free(db);
	db_free(NULL);
}

static void test_options_errors_say_what_to_fix(void **state)
{
	(void)state;
	struct db_options o;
	struct db *db = NULL;
	char err[ERR_CAP];
	base_options(&o);
	o.name[0] = '\0';
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"name\""));
	base_options(&o);
	snprintf(o.data_dir, sizeof(o.data_dir), "relative/data");
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "data_dir"));
	base_options(&o);
	o.listen_port = 0;
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	base_options(&o);
	o.replication.username[0] = '\0';
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "replication"));
	base_options(&o);
	snprintf(o.config_dir, sizeof(o.config_dir), "/etc/pg");
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -ENOTSUP);
	base_options(&o);
	memset(o.name, 'x', sizeof(o.name)); /* not terminated */
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	base_options(&o);
	o.hba_count = 1;
	snprintf(o.hba[0], sizeof(o.hba[0]), "host all all 0.0.0.0/0 trust\nlocal all all trust");
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	base_options(&o);
	snprintf(o.bin_dir, sizeof(o.bin_dir), "/nonexistent/bin");
	assert_int_equal(db_new(&o, &db, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pg_ctl"));
	base_options(&o);
	o.engine = DB_ENGINE_OPENGAUSS;
	snprintf(o.name, sizeof(o.name),
		 "node_1"); /* gs_initdb refuses "node-1" (opengauss.md 2.1) */
	int rc = db_new(&o, &db, err, sizeof(err));
	if (rc == 0)
		db_free(db); /* built with the openGauss driver */
	else
		assert_int_equal(rc, -ENOTSUP);
	assert_int_equal(db_new(NULL, &db, err, sizeof(err)), -EINVAL);
}

static void test_tasks_check_arguments_and_data_directory(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-db-task.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct db_options o;
	base_options(&o);
	snprintf(o.data_dir, sizeof(o.data_dir), "%s/data", dir);
	struct db *db = new_db(&o);
	char err[ERR_CAP];
	assert_int_equal(db_task_poll(db, 0, err, sizeof(err)), -ENOENT);
	assert_false(db_task_running(db));
	assert_string_equal(db_task_name(db), "");
	char progress[64];
	assert_int_equal(db_task_progress(db, progress, sizeof(progress)), -ENOENT);
	struct db_peer bad = peer("x", "", 5432);
	assert_int_equal(db_begin_create_replica(db, &bad, NULL, false, err, sizeof(err)), -EINVAL);
	bad = peer("x", "10.0.0.1", 0);
	assert_int_equal(db_begin_rejoin(db, &bad, err, sizeof(err)), -EINVAL);
	/* A data directory with something in it is not bootstrapped over, nor cloned into. */
	assert_int_equal(mkdir(o.data_dir, 0700), 0);
	char f[DB_PATH_MAX + 16];
	snprintf(f, sizeof(f), "%s/precious", o.data_dir);
	int fd = open(f, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(db_begin_bootstrap(db, 1, err, sizeof(err)), -EEXIST);
	struct db_peer good = peer("leader", "127.0.0.1", 1);
	assert_int_equal(db_begin_create_replica(db, &good, NULL, false, err, sizeof(err)),
			 -EEXIST);
	assert_int_equal(access(f, F_OK), 0);
	assert_false(db_task_running(db));
	/* Rejoin needs an initialized cluster. */
	assert_int_equal(db_begin_rejoin(db, &good, err, sizeof(err)), -ENOENT);
	struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_int_equal(st.role, DB_ROLE_STOPPED);
	assert_false(st.initialized);
	assert_int_equal(db_start(db, DB_START_PENDING, NULL, 0, 1000, err, sizeof(err)), -ENOTSUP);
	assert_int_equal(db_start(db, DB_START_PRIMARY, NULL, 0, 1000, err, sizeof(err)), -ENOENT);
	assert_int_equal(db_reload(db, 1000, err, sizeof(err)), -ESRCH);
	assert_int_equal(db_stop(db, DB_STOP_FAST, 1000, err, sizeof(err)), 0);
	struct db_sync s;
	memset(&s, 0, sizeof(s));
	s.count = -1;
	assert_int_equal(db_set_sync_standbys(db, &s, 1000, err, sizeof(err)), -EINVAL);
	db_free(db);
	assert_int_equal(db_remove_tree(dir, err, sizeof(err)), 0);
}

static void test_write_file_is_atomic_and_pgpass_escaped(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-db-file.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct db_options o;
	base_options(&o);
	snprintf(o.data_dir, sizeof(o.data_dir), "%s/data", dir);
	snprintf(o.replication.password, sizeof(o.replication.password), "a:b\\c");
	struct db *db = new_db(&o);
	char err[ERR_CAP];
	assert_int_equal(db_write_pgpass(db, err, sizeof(err)), 0);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/.pgpass_node-1", dir);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	FILE *fp = fopen(path, "r");
	char line[256] = "";
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_string_equal(line, "*:*:*:replicator:a\\:b\\\\c\n");

	char f[DB_PATH_MAX + 32];
	snprintf(f, sizeof(f), "%s/conf", dir);
	bool changed = false;
	assert_int_equal(db_write_file_if_changed(f, "a = 1\n", 0600, &changed, err, sizeof(err)),
			 0);
	assert_true(changed);
	assert_int_equal(db_write_file_if_changed(f, "a = 1\n", 0600, &changed, err, sizeof(err)),
			 0);
	assert_false(changed);
	assert_int_equal(
		db_write_file_if_changed(f, "a = 1\nb = 2\n", 0600, &changed, err, sizeof(err)), 0);
	assert_true(changed);
	assert_int_equal(db_write_file_if_changed(f, "a = 1\n", 0600, &changed, err, sizeof(err)),
			 0);
	assert_true(changed); /* a shorter content is a change too */

	/* Clearing a data directory keeps the directory itself (a mount point, say). */
	char sub[DB_PATH_MAX + 32];
	snprintf(sub, sizeof(sub), "%s/data", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/data/base", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/data/base/1", dir);
	assert_int_equal(db_write_file(sub, "x", 0600, err, sizeof(err)), 0);
	snprintf(sub, sizeof(sub), "%s/data", dir);
	assert_int_equal(db_clear_dir(sub, err, sizeof(err)), 0);
	assert_true(db_dir_empty(sub));
	assert_int_equal(access(sub, F_OK), 0);
	assert_int_equal(db_clear_dir(f, err, sizeof(err)), -ENOTDIR);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	assert_int_equal(db_clear_dir(sub, err, sizeof(err)), 0);
	db_free(db);
	assert_int_equal(db_remove_tree(dir, err, sizeof(err)), 0);
}

/* A local user pre-creates "<pgpass>.tmp" in a shared directory, readable by all, and keeps it
 * open: the passwords must not reach that file (they did while the temporary file had a
 * predictable name and was opened without O_EXCL). */
static void test_write_pgpass_ignores_a_planted_temporary_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-db-plant.XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 01777), 0);
	struct db_options o;
	base_options(&o);
	snprintf(o.data_dir, sizeof(o.data_dir), "%s/data", dir);
	snprintf(o.pgpass_path, sizeof(o.pgpass_path), "%s/pgpass", dir);
	snprintf(o.replication.password, sizeof(o.replication.password), "s3cret");
	struct db *db = new_db(&o);
	char planted[DB_PATH_MAX + 32];
	snprintf(planted, sizeof(planted), "%s/pgpass.tmp", dir);
	int attacker = open(planted, O_RDWR | O_CREAT | O_EXCL, 0666);
	assert_true(attacker >= 0);
	assert_int_equal(fchmod(attacker, 0666), 0);
	char err[ERR_CAP];
	assert_int_equal(db_write_pgpass(db, err, sizeof(err)), 0);
	char got[256];
	ssize_t n = pread(attacker, got, sizeof(got) - 1, 0);
	assert_int_equal(n, 0); /* nothing reached the planted file */
	close(attacker);
	struct stat sb;
	assert_int_equal(stat(o.pgpass_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	/* The pgpass file itself, replaced by a world-writable copy with the same content, is
	 * written again rather than trusted. */
	FILE *fp = fopen(o.pgpass_path, "r");
	assert_non_null(fp);
	char line[256] = "";
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_string_equal(line, "*:*:*:replicator:s3cret\n");
	assert_int_equal(chmod(o.pgpass_path, 0666), 0);
	assert_int_equal(db_write_pgpass(db, err, sizeof(err)), 0);
	assert_int_equal(stat(o.pgpass_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* The shared directory is reported; a private one is not. */
	assert_int_equal(db_check_private_dir(o.pgpass_path, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "writable by every user"));
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(db_check_private_dir(o.pgpass_path, err, sizeof(err)), 0);
	/* A pgpass in a directory that does not exist yet ("data/pgpass0" before initdb made
	 * "data") gets that directory, private. */
	snprintf(db->opts.pgpass_path, sizeof(db->opts.pgpass_path), "%s/private/pgpass", dir);
	assert_int_equal(db_write_pgpass(db, err, sizeof(err)), 0);
	char sub[DB_PATH_MAX + 32];
	snprintf(sub, sizeof(sub), "%s/private", dir);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(db_check_private_dir(db->opts.pgpass_path, err, sizeof(err)), 0);
	assert_int_equal(unlink(planted), 0);
	db_free(db);
	assert_int_equal(db_remove_tree(dir, err, sizeof(err)), 0);
}

/* --- the task runner, driven by a FAKE driver (named so): real child processes, no server --- */

static int fake_begin(struct db *db, char *err, size_t err_cap)
{
	const char *argv[] = { "/bin/sh", "-c", "echo copying; sleep 0.3; echo 50%", NULL };
	db->task.step = 0;
	return db_task_spawn(db, argv, err, err_cap);
}

static int fake_begin_slow(struct db *db, char *err, size_t err_cap)
{
	const char *argv[] = { "sleep", "30", NULL };
	return db_task_spawn(db, argv, err, err_cap);
}

/* Step 0: the first command must have succeeded; then run "false", whose failure ends the task. */
static int fake_step(struct db *db, char *err, size_t err_cap)
{
	int rc = db_task_reap(db, err, err_cap);
	if (db->task.step == 0) {
		if (rc < 0)
			return rc;
		db->task.step = 1;
		const char *argv[] = { "false", NULL };
		return db_task_spawn(db, argv, err, err_cap);
	}
	return rc;
}

static const struct db_driver fake_driver = {
	.name = "fake",
	.begin_bootstrap = fake_begin,
	.begin_create_replica = fake_begin_slow,
	.task_step = fake_step,
};

static void test_task_runner_sequences_commands_and_reports_failure(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	struct db *db = new_db(&o);
	const struct db_driver *real = db->driver;
	db->driver = &fake_driver;
	char err[ERR_CAP] = "";
	assert_int_equal(db_begin_bootstrap(db, 1, err, sizeof(err)), 0);
	assert_true(db_task_running(db));
	assert_string_equal(db_task_name(db), "initializing new cluster");
	assert_int_equal(db_begin_bootstrap(db, 1, err, sizeof(err)), -EBUSY);
	assert_int_equal(db_reload(db, 1000, err, sizeof(err)), -EBUSY);
	assert_int_equal(db_task_poll(db, 0, err, sizeof(err)), -EINPROGRESS);
	/* The first command's end is reported once, without taking the next step. */
	assert_false(db_task_command_ended(db));
	int ended_polls = 0;
	while (!db_task_command_ended(db)) {
		assert_true(++ended_polls < 500); /* bounded: about 5 s at most */
		usleep(10 * 1000);
	}
	assert_false(db_task_command_ended(db));
	assert_string_equal(db_task_name(db), "initializing new cluster");
	char progress[256];
	assert_int_equal(db_task_progress(db, progress, sizeof(progress)), 0);
	assert_non_null(strstr(progress, "running \"sh\""));
	int rc;
	int polls = 0;
	while ((rc = db_task_poll(db, 100, err, sizeof(err))) == -EINPROGRESS)
		assert_true(++polls < 200); /* bounded: about 20 s at most */
	assert_int_equal(rc, -EIO);
	assert_non_null(strstr(err, "\"false\" exited with status 1"));
	assert_false(db_task_running(db));
	assert_int_equal(db_task_poll(db, 0, err, sizeof(err)), -ENOENT);
	db->driver = real;
	db_free(db);
}

static void test_task_cancel_kills_the_running_command(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	struct db *db = new_db(&o);
	const struct db_driver *real = db->driver;
	db->driver = &fake_driver;
	char err[ERR_CAP] = "";
	struct db_peer src = peer("leader", "127.0.0.1", 5432);
	assert_int_equal(db_begin_create_replica(db, &src, NULL, false, err, sizeof(err)), 0);
	assert_string_equal(db_task_name(db), "creating replica");
	int pid = proc_pid(db->task.proc);
	assert_true(pid > 0);
	assert_int_equal(db_task_poll(db, 50, err, sizeof(err)), -EINPROGRESS);
	db_task_cancel(db);
	assert_false(db_task_running(db));
	assert_int_equal(kill(pid, 0), -1);
	/* db_free cancels too: start another and free while it runs. */
	assert_int_equal(db_begin_create_replica(db, &src, NULL, false, err, sizeof(err)), 0);
	db->driver = real;
	db_free(db);
}

/* --- fencing ---------------------------------------------------------------------------------- */

/* A data directory with a postmaster.pid naming pid. */
static void fence_fixture(char *dir, struct db_options *o, struct db **db)
{
	assert_non_null(mkdtemp(dir));
	base_options(o);
	snprintf(o->data_dir, sizeof(o->data_dir), "%s", dir);
	*db = new_db(o);
}

/* A postmaster.pid naming pid, which it says started at start (epoch seconds). */
static void write_pidfile_started(const char *dir, int pid, long long start)
{
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%d\n%s\n%lld\n5432\n/tmp\n*\n  5432001         0\nready   \n", pid, dir, start);
	fclose(f);
}

/* As the postmaster writes it: with the time it started, which is now for a test child. */
static void write_pidfile(const char *dir, int pid)
{
	write_pidfile_started(dir, pid, (long long)time(NULL));
}

/* A test child must not hold the test's output open (meson waits for it to close). */
static void quiet_child(void)
{
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
}

/* A shell that sleeps a minute with cwd as its working directory (a process that may hold a
 * stale postmaster.pid's pid); the caller kills and reaps it. */
static pid_t spawn_sleeper(const char *cwd)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(cwd) != 0)
			_exit(1);
		quiet_child();
		execlp("sh", "sh", "-c", "sleep 60; :", (char *)NULL);
		_exit(1);
	}
	usleep(100 * 1000);
	return pid;
}

/* True when every holder of the write end of the pipe whose read end is fd has exited. */
static bool pipe_closed_within(int fd, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n == 0)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* db_pid_is_postmaster(pid, dir) once it says want, or after 10 s what it says then: a child
 * that must first chdir or exec is not there yet after a fixed sleep on a loaded machine. */
static int is_postmaster_within(pid_t pid, const char *dir, int want)
{
	int r = db_pid_is_postmaster(pid, dir);
	for (int i = 0; i < 1000 && r != want; i++) {
		usleep(10 * 1000);
		r = db_pid_is_postmaster(pid, dir);
	}
	return r;
}

/* A process standing in for a postmaster: cwd in dir (as the postmaster chdirs to its data
 * directory), one child of its own; both hold the write end of a pipe. */
static pid_t fake_postmaster(const char *dir, int pipe_fds[2])
{
	assert_int_equal(pipe(pipe_fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipe_fds[0]);
		quiet_child();
		if (chdir(dir) != 0)
			_exit(1);
		setsid(); /* as pg_ctl starts it: its own group */
		if (fork() == 0) {
			setsid(); /* PostgreSQL's children lead their own sessions */
			for (;;)
				pause();
		}
		for (;;)
			pause();
	}
	close(pipe_fds[1]);
	assert_int_equal(fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK), 0);
	return pid;
}

static void test_fence_kills_the_postmaster_of_this_data_directory_and_its_children(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-fence.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	int fds[2];
	pid_t pid = fake_postmaster(dir, fds);
	assert_int_equal(is_postmaster_within(pid, dir, 1), 1);
	write_pidfile(dir, pid);
	char err[ERR_CAP] = "";
	assert_int_equal(db_fence(db, err, sizeof(err)), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_true(pipe_closed_within(fds[0], 5000)); /* the child is gone too */
	close(fds[0]);
	/* Now postmaster.pid names a dead pid: nothing to kill. */
	assert_int_equal(db_fence(db, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "not running"));
	db_free(db);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

static void test_fence_leaves_a_recycled_pid_alone(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-fence.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	char err[ERR_CAP] = "";
	/* No postmaster.pid: no server. */
	assert_int_equal(db_fence(db, err, sizeof(err)), -ESRCH);
	/* postmaster.pid names a live process of someone else: a sleep in "/", and a shell whose
	 * command line names another data directory. */
	pid_t other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		if (chdir("/") != 0)
			_exit(1);
		quiet_child();
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(1);
	}
	usleep(100 * 1000);
	assert_int_equal(db_pid_is_postmaster(other, dir), 0);
	write_pidfile(dir, other);
	assert_int_equal(db_fence(db, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "recycled"));
	assert_int_equal(kill(other, 0), 0);
	assert_int_equal(waitpid(other, NULL, WNOHANG), 0); /* still running */
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);

	pid_t sh = fork();
	assert_true(sh >= 0);
	if (sh == 0) {
		if (chdir("/") != 0)
			_exit(1);
		setpgid(0, 0);
		quiet_child();
		execlp("sh", "sh", "-c", "sleep 60; :", "-D", "/var/lib/postgresql/other",
		       (char *)NULL);
		_exit(1);
	}
	usleep(100 * 1000);
	write_pidfile(dir, sh);
	assert_int_equal(db_fence(db, err, sizeof(err)), -ESRCH);
	assert_int_equal(waitpid(sh, NULL, WNOHANG), 0);
	kill(-sh, SIGKILL); /* and its sleep */
	waitpid(sh, NULL, 0);

	/* Our own pid and pid 1 are never the postmaster. */
	assert_int_equal(db_pid_is_postmaster(getpid(), dir), 0);
	assert_int_equal(db_pid_is_postmaster(1, dir), 0);
	db_free(db);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

static void test_fence_knows_a_postmaster_by_its_data_directory_argument(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-fence.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	/* Before its chdir a postmaster is known by -D (here through a symlink to it). */
	char link[DB_PATH_MAX + 32];
	snprintf(link, sizeof(link), "%s.link", dir);
	assert_int_equal(symlink(dir, link), 0);
	pid_t sh = fork();
	assert_true(sh >= 0);
	if (sh == 0) {
		if (chdir("/") != 0)
			_exit(1);
		quiet_child();
		execlp("sh", "sh", "-c", "sleep 60; :", "-D", link, (char *)NULL);
		_exit(1);
	}
	assert_int_equal(is_postmaster_within(sh, dir, 1), 1);
	write_pidfile(dir, sh);
	char err[ERR_CAP] = "";
	assert_int_equal(db_fence(db, err, sizeof(err)), 0);
	int status;
	assert_int_equal(waitpid(sh, &status, 0), sh);
	assert_true(WIFSIGNALED(status));
	db_free(db);
	unlink(link);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

/* A stale postmaster.pid that names a pid another process took since (here: a shell elsewhere)
 * is not a running server; the same pid in a process of the data directory is. */
/* Issue 11: a recycled pid can also land on a process of the data directory (a shell or a backup
 * tool whose working directory it is). It started after the postmaster the file names: it is
 * not a running server, and fencing leaves it alone. Before, identity alone counted: such a
 * process was taken for the server and killed. */
static void test_stale_pidfile_pid_started_later_is_neither_trusted_nor_killed(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-started.XXXXXX", err[DB_ERROR_MAX];
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	pid_t other = spawn_sleeper(dir);
	/* The file's postmaster started an hour before this process. */
	write_pidfile_started(dir, other, (long long)time(NULL) - 3600);
	assert_int_equal(db_pid_is_postmaster(other, dir), 1); /* its identity alone passes */
	assert_false(db_server_running(db));
	struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_false(st.running);
	assert_int_equal(db_fence(db, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "recycled"));
	assert_true(db_pid_alive(other));
	kill(other, SIGKILL);
	int status;
	assert_int_equal(waitpid(other, &status, 0), other);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	db_free(db);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

/* db_get_status into an earlier result clears its standby and slot lists only as far as that
 * result used them (the rest stays untouched, issue 15), and the outcome is the same as into
 * zeros: here two standbys, one slot and a half-filled entry past each count. */
static void test_get_status_into_an_earlier_result_equals_into_zeros(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-clear.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	struct db_status *st = calloc(1, sizeof(*st)), *fresh = calloc(1, sizeof(*fresh));
	assert_non_null(st);
	assert_non_null(fresh);
	st->standby_count = 2;
	memset(st->standbys, 'x', sizeof(st->standbys[0]) * 3);
	st->slot_count = 1;
	memset(st->slots, 'y', sizeof(st->slots[0]) * 2);
	memset(st->detail, 'z', sizeof(st->detail) - 1);
	assert_int_equal(db_get_status(db, st), 0);
	assert_int_equal(db_get_status(db, fresh), 0);
	assert_int_equal(st->standby_count, 0);
	assert_int_equal(st->slot_count, 0);
	fresh->observed_ms = st->observed_ms;
	assert_memory_equal(st, fresh, sizeof(*st));
	free(st);
	free(fresh);
	db_free(db);
	rmdir(dir);
}

static void test_stale_pidfile_with_a_recycled_pid_is_not_a_running_server(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-stale.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	pid_t other = spawn_sleeper("/");
	write_pidfile(dir, other);
	assert_true(db_pid_alive(other));
	assert_false(db_server_running(db));
	struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_false(st.running);
	kill(other, SIGKILL);
	int status;
	assert_int_equal(waitpid(other, &status, 0), other);
	pid_t mine = spawn_sleeper(dir);
	write_pidfile(dir, mine);
	assert_true(db_server_running(db));
	kill(mine, SIGKILL);
	assert_int_equal(waitpid(mine, &status, 0), mine);
	db_free(db);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

static void test_fence_treats_an_exited_postmaster_as_not_running(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-fence.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	/* A postmaster that exited but was not reaped yet (a zombie) has no cwd to show. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(dir) != 0)
			_exit(1);
		_exit(0);
	}
	/* Until it has exited (left unreaped): a fixed sleep lost this race on a loaded machine. */
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(db_pid_is_postmaster(pid, dir), -ESRCH);
	write_pidfile(dir, pid);
	char err[ERR_CAP] = "";
	assert_int_equal(db_fence(db, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "not running"));
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	db_free(db);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

/* True when db_postmaster_exited says so within ms (the kill is asynchronous). */
static bool exit_seen_within(struct db *db, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (db_postmaster_exited(db))
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static void test_postmaster_exit_is_reported_once_when_reaped(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-pmwatch.XXXXXX";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	/* Nothing seen running yet: nothing to report. */
	assert_false(db_postmaster_exited(db));
	pid_t pm = spawn_sleeper(dir);
	write_pidfile(dir, pm);
	struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_true(st.running);
	assert_false(db_postmaster_exited(db));
	kill(pm, SIGKILL);
	/* The agent is a child subreaper, so the postmaster pg_ctl left behind is its child, as pm
	 * is this test's: db_postmaster_exited reaps it itself and reports its exit once. */
	assert_true(exit_seen_within(db, 5000));
	int status;
	assert_int_equal(waitpid(pm, &status, WNOHANG), -1);
	assert_false(db_postmaster_exited(db));
	/* The same pid is not watched again, so a status that still names it cannot make the
	 * loop wake on every look. */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_false(st.running);
	assert_false(db_postmaster_exited(db));
	/* A new postmaster is watched afresh. */
	pid_t next = spawn_sleeper(dir);
	write_pidfile(dir, next);
	assert_int_equal(db_get_status(db, &st), 0);
	assert_true(st.running);
	kill(next, SIGKILL);
	assert_true(exit_seen_within(db, 5000));
	db_free(db);
	char path[DB_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

/* A postmaster whose parent is some other process that does not reap it (a slow init): a zombie
 * PostgreSQL's lock file check still finds, so no start is launched over it and its exit is not
 * reported until that parent goes and it is reparented to this (subreaper) process. */
static void test_start_waits_for_a_zombie_it_cannot_reap(void **state)
{
	(void)state;
	char dir[] = "/tmp/gsha-test-pmzombie.XXXXXX";
	char path[DB_PATH_MAX + 32], text[32] = "";
	struct db_options o;
	struct db *db;
	fence_fixture(dir, &o, &db);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L), 0);
	snprintf(path, sizeof(path), "%s/bg.pid", dir);
	/* sh runs "sleep" in the background, then becomes a sleep that never waits for it. */
	pid_t parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		if (chdir(dir) != 0)
			_exit(1);
		quiet_child();
		execlp("sh", "sh", "-c", "sleep 60 & echo $! >bg.pid; exec sleep 61", (char *)NULL);
		_exit(1);
	}
	for (int i = 0; i < 100 && text[0] == '\0'; i++) {
		FILE *f = fopen(path, "r");
		usleep(20 * 1000);
		if (f != NULL) {
			if (fgets(text, sizeof(text), f) == NULL || strchr(text, '\n') == NULL)
				text[0] = '\0';
			fclose(f);
		}
	}
	int pm = (int)strtol(text, NULL, 10);
	assert_true(pm > 0);
	write_pidfile(dir, pm);
	struct db_status st = { 0 }; /* db_get_status: zeros or its own result */
	assert_int_equal(db_get_status(db, &st), 0);
	assert_true(st.running);
	kill(pm, SIGKILL);
	usleep(200 * 1000);
	assert_true(db_pid_unreaped(pm));
	assert_false(db_postmaster_exited(db));
	char err[DB_ERROR_MAX];
	assert_int_equal(db_start(db, DB_START_PRIMARY, NULL, 0, 0, err, sizeof(err)), -EAGAIN);
	assert_non_null(strstr(err, "not reaped yet"));
	/* Its parent goes: the zombie is reparented here and reaped by the next look. */
	kill(parent, SIGKILL);
	assert_true(exit_seen_within(db, 5000));
	assert_false(db_pid_alive(pm));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0L, 0L, 0L, 0L), 0);
	db_free(db);
	unlink(path);
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	unlink(path);
	rmdir(dir);
}

static void test_set_peers_checks_the_list_and_is_a_no_op_on_postgres(void **state)
{
	(void)state;
	struct db_options o;
	base_options(&o);
	struct db *db = new_db(&o);
	char err[ERR_CAP] = "";
	struct db_peer peers[DB_PEERS_MAX + 1];
	for (int i = 0; i <= DB_PEERS_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "node-%d", i);
		peers[i] = peer(name, "10.0.0.1", 5432 + i);
	}
	assert_int_equal(db_set_peers(db, peers, DB_PEERS_MAX, 1000, err, sizeof(err)), 0);
	assert_int_equal(db_set_peers(db, peers, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(db_set_peers(db, peers, DB_PEERS_MAX + 1, 1000, err, sizeof(err)), -E2BIG);
	assert_int_equal(db_set_peers(db, NULL, 1, 1000, err, sizeof(err)), -EINVAL);
	peers[1].port = 0;
	assert_int_equal(db_set_peers(db, peers, 2, 1000, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "member 1"));
	assert_int_equal(db_set_peers(NULL, peers, 0, 1000, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_fence(NULL, err, sizeof(err)), -EINVAL);
	db_free(db);
}

/* db_new copies its options' lists only as far as their counts go: the used items arrive, the
 * unused ones (garbage here) are not copied, so the new struct's pages past them stay untouched
 * (issue 15); every other field arrives. */
static void test_new_copies_option_lists_by_count(void **state)
{
	struct db_options *o = malloc(sizeof(*o));
	struct db *db;

	(void)state;
	assert_non_null(o);
	base_options(o);
	o->hba_count = 2;
	for (int i = 0; i < DB_HBA_MAX; i++)
		snprintf(o->hba[i], sizeof(o->hba[i]), "host all all 10.0.0.%d/32 md5", i);
	o->recovery_conf_count = 1;
	for (int i = 0; i < DB_RECOVERY_CONF_MAX; i++)
		snprintf(o->recovery_conf[i].name, sizeof(o->recovery_conf[i].name), "p%d", i);
	o->parameters.count = 1;
	snprintf(o->parameters.items[0].name, sizeof(o->parameters.items[0].name), "work_mem");
	snprintf(o->parameters.items[1].name, sizeof(o->parameters.items[1].name), "unused");
	snprintf(o->log_file, sizeof(o->log_file), "/tmp/pg.log"); /* a field after the lists */
	db = new_db(o);
	assert_int_equal(db->opts.hba_count, 2);
	assert_string_equal(db->opts.hba[1], "host all all 10.0.0.1/32 md5");
	assert_string_equal(db->opts.hba[2], "");
	assert_string_equal(db->opts.hba[DB_HBA_MAX - 1], "");
	assert_string_equal(db->opts.recovery_conf[0].name, "p0");
	assert_string_equal(db->opts.recovery_conf[1].name, "");
	assert_string_equal(db->opts.parameters.items[0].name, "work_mem");
	assert_string_equal(db->opts.parameters.items[1].name, "");
	assert_string_equal(db->opts.log_file, "/tmp/pg.log");
	assert_string_equal(db->opts.replication.password, "rep-pass");
	assert_true(db->opts.use_pg_rewind);
	db_free(db);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_name_normalizes_like_patroni),
		cmocka_unit_test(test_new_copies_option_lists_by_count),
		cmocka_unit_test(test_history_switchpoint),
		cmocka_unit_test(test_stopped_directory_past_the_fork_must_be_rewound),
		cmocka_unit_test(test_enum_names_cover_every_value),
		cmocka_unit_test(test_conninfo_quotes_only_when_needed),
		cmocka_unit_test(test_primary_conninfo_names_member_and_passfile),
		cmocka_unit_test(test_quote_ident_follows_patroni),
		cmocka_unit_test(test_sync_names_single_standby_is_bare),
		cmocka_unit_test(test_sync_names_several_are_sorted_first_n),
		cmocka_unit_test(test_sync_names_quorum_uses_any),
		cmocka_unit_test(test_sync_names_off_or_empty_clear_it),
		cmocka_unit_test(test_sync_names_star_and_bad_counts),
		cmocka_unit_test(test_sync_names_parse_every_form),
		cmocka_unit_test(test_sync_names_parse_round_trips_the_renderer),
		cmocka_unit_test(test_sync_names_parse_refuses_garbage),
		cmocka_unit_test(test_conf_line_escapes_quotes_and_rejects_injection),
		cmocka_unit_test(test_conf_primary_includes_base_and_forces_own_settings),
		cmocka_unit_test(test_conf_replica_follows_upstream_through_its_slot),
		cmocka_unit_test(test_conf_replica_gets_recovery_conf_but_no_targets),
		cmocka_unit_test(test_conf_standby_leader_follows_the_remote_primary),
		cmocka_unit_test(test_conf_replica_keeps_recovery_lines_until_upstream_known),
		cmocka_unit_test(test_conf_sync_names_managed_by_agent_win),
		cmocka_unit_test(test_conf_skips_unwritable_parameter_and_refuses_overflow),
		cmocka_unit_test(test_conf_drops_forbidden_parameters_in_any_case),
		cmocka_unit_test(test_params_set_replaces_and_bounds),
		cmocka_unit_test(test_lsn_parse_accepts_pg_format_only),
		cmocka_unit_test(test_status_row_of_primary),
		cmocka_unit_test(test_status_row_of_streaming_replica),
		cmocka_unit_test(test_status_row_of_replica_without_receiver),
		cmocka_unit_test(test_status_row_malformed_leaves_status_untouched),
		cmocka_unit_test(test_standby_row_parses_sync_state),
		cmocka_unit_test(test_controldata_fixture_parses),
		cmocka_unit_test(test_controldata_missing_or_bad_line_fails),
		cmocka_unit_test(test_pidfile_fixture_parses),
		cmocka_unit_test(test_pidfile_shm_id_is_a_hint),
		cmocka_unit_test(test_shm_in_use_counts_only_the_servers_own_segment),
		cmocka_unit_test(test_pidfile_early_startup_has_no_status),
		cmocka_unit_test(test_pidfile_hostile_contents_are_rejected),
		cmocka_unit_test(test_pidfile_read_refuses_huge_nul_and_missing),
		cmocka_unit_test(test_pid_alive_sees_self_not_dead),
		cmocka_unit_test(test_classify_no_pidfile_is_stopped),
		cmocka_unit_test(test_classify_dead_pid_is_crashed),
		cmocka_unit_test(test_classify_connected_follows_recovery),
		cmocka_unit_test(test_classify_alive_but_silent),
		cmocka_unit_test(test_classify_unreadable_pidfile_is_unknown),
		cmocka_unit_test(test_options_defaults_are_derived),
		cmocka_unit_test(test_options_errors_say_what_to_fix),
		cmocka_unit_test(test_tasks_check_arguments_and_data_directory),
		cmocka_unit_test(test_write_file_is_atomic_and_pgpass_escaped),
		cmocka_unit_test(test_write_pgpass_ignores_a_planted_temporary_file),
		cmocka_unit_test(test_task_runner_sequences_commands_and_reports_failure),
		cmocka_unit_test(test_task_cancel_kills_the_running_command),
		cmocka_unit_test(
			test_fence_kills_the_postmaster_of_this_data_directory_and_its_children),
		cmocka_unit_test(test_fence_leaves_a_recycled_pid_alone),
		cmocka_unit_test(test_fence_knows_a_postmaster_by_its_data_directory_argument),
		cmocka_unit_test(test_fence_treats_an_exited_postmaster_as_not_running),
		cmocka_unit_test(test_get_status_into_an_earlier_result_equals_into_zeros),
		cmocka_unit_test(test_stale_pidfile_with_a_recycled_pid_is_not_a_running_server),
		cmocka_unit_test(
			test_stale_pidfile_pid_started_later_is_neither_trusted_nor_killed),
		cmocka_unit_test(test_postmaster_exit_is_reported_once_when_reaped),
		cmocka_unit_test(test_start_waits_for_a_zombie_it_cannot_reap),
		cmocka_unit_test(test_set_peers_checks_the_list_and_is_a_no_op_on_postgres),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
