/*
 * test_timeline_reserve.c - timeline IDs another member may have created (issue 18 finding):
 * which leader acquisitions reserve one (timeline_watch.c) and the placeholder history files a
 * promotion writes for them (db_postgres_tli.c), in a temporary data directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "db_postgres.h"
#include "timeline_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR_CAP 512
#define TEXT_CAP 512

/* --- timeline_watch -------------------------------------------------------------------------- */

static void test_first_look_at_a_running_primary_reserves_nothing_beyond_its_timeline(void **state)
{
	(void)state;
	struct timeline_watch w;
	memset(&w, 0, sizeof(w));
	assert_false(timeline_watch_observe(&w, "node2", "node1", 10, true, 1));
	assert_int_equal(w.reserved, 1);
	/* the same key again: nothing new */
	assert_false(timeline_watch_observe(&w, "node2", "node1", 10, true, 1));
	assert_int_equal(w.reserved, 1);
}

static void test_a_replica_taking_the_key_may_have_used_the_next_id(void **state)
{
	(void)state;
	struct timeline_watch w;
	memset(&w, 0, sizeof(w));
	assert_false(timeline_watch_observe(&w, "node1", "node1", 10, true, 1));
	assert_int_equal(w.reserved, 1);
	/* switchover: node2 takes the key as a replica; it may promote to timeline 2 */
	assert_true(timeline_watch_observe(&w, "node1", "node2", 20, false, 1));
	assert_int_equal(w.reserved, 2);
	/* seen again, still not primary (it died promoting): counted once */
	assert_false(timeline_watch_observe(&w, "node1", "node2", 20, false, 1));
	assert_int_equal(w.reserved, 2);
	/* the key expires and node1 takes it back: its own acquisition reserves nothing more */
	assert_false(timeline_watch_observe(&w, "node1", NULL, 0, false, 1));
	assert_false(timeline_watch_observe(&w, "node1", "node1", 30, false, 1));
	assert_int_equal(w.reserved, 2);
}

static void test_each_unconfirmed_acquisition_counts_past_the_last(void **state)
{
	(void)state;
	struct timeline_watch w;
	memset(&w, 0, sizeof(w));
	assert_false(timeline_watch_observe(&w, "node3", "node1", 10, true, 1));
	/* node2 takes the key and dies promoting (to 2); node1 takes it as a replica and may pick
	 * 2 too unless it knew (or, running this, 3): this node must step over both */
	assert_true(timeline_watch_observe(&w, "node3", "node2", 20, false, 1));
	assert_true(timeline_watch_observe(&w, "node3", "node1", 30, false, 1));
	assert_int_equal(w.reserved, 3);
	/* node1's key then shows it primary on timeline 3: known, nothing more */
	assert_false(timeline_watch_observe(&w, "node3", "node1", 30, true, 3));
	assert_int_equal(w.reserved, 3);
}

static void test_same_holder_new_key_counts_again(void **state)
{
	(void)state;
	struct timeline_watch w;
	memset(&w, 0, sizeof(w));
	assert_true(timeline_watch_observe(&w, "node1", "node2", 20, false, 1));
	assert_int_equal(w.reserved, 2);
	/* node2 lost the key and took it again as a replica (a new key, a new create revision) */
	assert_true(timeline_watch_observe(&w, "node1", "node2", 25, false, 1));
	assert_int_equal(w.reserved, 3);
}

static void test_known_timelines_raise_the_reservation_without_an_acquisition(void **state)
{
	(void)state;
	struct timeline_watch w;
	memset(&w, 0, sizeof(w));
	assert_false(timeline_watch_observe(&w, "node1", NULL, 0, false, 4));
	assert_int_equal(w.reserved, 4);
	/* known timelines never lower it */
	assert_false(timeline_watch_observe(&w, "node1", NULL, 0, false, 2));
	assert_int_equal(w.reserved, 4);
	/* a replica's acquisition then reserves the ID after the newest known */
	assert_true(timeline_watch_observe(&w, "node1", "node3", 40, false, 4));
	assert_int_equal(w.reserved, 5);
}

/* --- placeholders ---------------------------------------------------------------------------- */

static void test_placeholder_is_comments_only_and_named_as_postgresql_does(void **state)
{
	(void)state;
	char name[32], text[TEXT_CAP];
	assert_int_equal(db_tli_placeholder(2, name, sizeof(name), text, sizeof(text)), 0);
	assert_string_equal(name, "00000002.history");
	/* every line is a comment: readTimeLineHistory and pg_rewind skip them all */
	for (const char *line = text; *line != '\0';) {
		assert_int_equal(line[0], '#');
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		line = nl + 1;
	}
	assert_int_equal(db_tli_placeholder(0x1A, name, sizeof(name), text, sizeof(text)), 0);
	assert_string_equal(name, "0000001A.history");
	assert_int_equal(db_tli_placeholder(1, name, sizeof(name), text, sizeof(text)), -ERANGE);
	assert_int_equal(db_tli_placeholder(0x100000000ull, name, sizeof(name), text, sizeof(text)),
			 -ERANGE);
	assert_int_equal(db_tli_placeholder(2, name, 8, text, sizeof(text)), -ENAMETOOLONG);
	assert_int_equal(db_tli_placeholder(2, name, sizeof(name), text, 16), -ENAMETOOLONG);
}

static char data_dir[] = "/tmp/gsha-test-tli.XXXXXX";

static struct db *db_in_tmp(void)
{
	struct db_options o;
	struct db *db = NULL;
	char err[ERR_CAP] = "", path[sizeof(data_dir) + 16];

	assert_non_null(mkdtemp(data_dir));
	snprintf(path, sizeof(path), "%s/pg_wal", data_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	memset(&o, 0, sizeof(o));
	o.engine = DB_ENGINE_POSTGRES;
	snprintf(o.name, sizeof(o.name), "node1");
	snprintf(o.scope, sizeof(o.scope), "batman");
	snprintf(o.data_dir, sizeof(o.data_dir), "%s", data_dir);
	snprintf(o.listen_host, sizeof(o.listen_host), "127.0.0.1");
	o.listen_port = 5432;
	snprintf(o.superuser.username, sizeof(o.superuser.username), "postgres");
	snprintf(o.replication.username, sizeof(o.replication.username), "replicator");
	if (db_new(&o, &db, err, sizeof(err)) != 0)
		fail_msg("db_new: %s", err);
	return db;
}

static void read_wal_file(const char *name, char *out, size_t cap)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/pg_wal/%s", data_dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void write_wal_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/pg_wal/%s", data_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool wal_file_exists(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/pg_wal/%s", data_dir, name);
	return access(path, F_OK) == 0;
}

static void test_reserve_fills_the_range_and_keeps_real_history_files(void **state)
{
	(void)state;
	struct db *db = db_in_tmp();
	char err[ERR_CAP] = "", text[TEXT_CAP], want[TEXT_CAP], name[32];
	int written = -1;
	const char *real = "1\t0/4030AF8\tno recovery target specified\n";

	/* nothing to reserve */
	assert_int_equal(db_reserve_timelines(db, 2, 2, &written, err, sizeof(err)), 0);
	assert_int_equal(written, 0);
	assert_false(wal_file_exists("00000003.history"));

	/* 3 is a real file (fetched from a primary): kept as it is; 2 and 4 are written */
	write_wal_file("00000003.history", real);
	assert_int_equal(db_reserve_timelines(db, 1, 4, &written, err, sizeof(err)), 0);
	assert_int_equal(written, 2);
	read_wal_file("00000003.history", text, sizeof(text));
	assert_string_equal(text, real);
	assert_int_equal(db_tli_placeholder(2, name, sizeof(name), want, sizeof(want)), 0);
	read_wal_file("00000002.history", text, sizeof(text));
	assert_string_equal(text, want);
	assert_true(wal_file_exists("00000004.history"));
	assert_false(wal_file_exists("00000005.history"));
	/* no .ready: the archive may receive the real file of that ID later */
	assert_false(wal_file_exists("archive_status/00000002.history.ready"));
	assert_false(wal_file_exists("00000002.history.gsha"));

	/* again: nothing new */
	assert_int_equal(db_reserve_timelines(db, 1, 4, &written, err, sizeof(err)), 0);
	assert_int_equal(written, 0);

	/* an absurd range is refused */
	assert_int_equal(
		db_reserve_timelines(db, 1, 1 + DB_TLI_RESERVE_MAX + 1, &written, err, sizeof(err)),
		-ERANGE);
	assert_non_null(strstr(err, "will not reserve"));

	db_free(db);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_first_look_at_a_running_primary_reserves_nothing_beyond_its_timeline),
		cmocka_unit_test(test_a_replica_taking_the_key_may_have_used_the_next_id),
		cmocka_unit_test(test_each_unconfirmed_acquisition_counts_past_the_last),
		cmocka_unit_test(test_same_holder_new_key_counts_again),
		cmocka_unit_test(test_known_timelines_raise_the_reservation_without_an_acquisition),
		cmocka_unit_test(test_placeholder_is_comments_only_and_named_as_postgresql_does),
		cmocka_unit_test(test_reserve_fills_the_range_and_keeps_real_history_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
