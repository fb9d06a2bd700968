/*
 * test_db_method.c - custom replica and bootstrap methods (db_method.c): the command lines
 * Patroni 4.1 builds (patroni/postgresql/bootstrap.py: create_replica, _custom_bootstrap) and
 * which method runs next. Pure: no command runs here (integration.ha_replica_methods does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db_driver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STORE_CAP 4096

/* The named fixture: a method "restore" whose command is two words. */
static void restore_method(struct db_method *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "restore");
	memcpy(m->words, "/bin/restore\0--fast", sizeof("/bin/restore\0--fast"));
	m->argc = 2;
}

static void add_option(struct db_method *m, const char *opt)
{
	snprintf(m->options[m->option_count], sizeof(m->options[0]), "%s", opt);
	m->option_count++;
}

static char joined[STORE_CAP];

static const char *join(const char **argv, int n)
{
	joined[0] = '\0';
	for (int i = 0; i < n; i++) {
		strncat(joined, argv[i], sizeof(joined) - strlen(joined) - 2);
		if (i + 1 < n)
			strncat(joined, " ", sizeof(joined) - strlen(joined) - 1);
	}
	assert_null(argv[n]);
	return joined;
}

static void test_replica_method_gets_options_then_patroni_params(void **state)
{
	(void)state;
	struct db_method m;
	char store[STORE_CAP];
	const char *argv[64];
	restore_method(&m);
	add_option(&m, "envdir=/etc/wal-e");
	add_option(&m, "keep_data=True");
	int n = db_method_replica_argv(&m, "batman", "/data",
				       "dbname=postgres user=r host=h port=1", store, sizeof(store),
				       argv, 64);
	assert_int_equal(n, 8);
	/* Patroni passes the switches too when no_params is off, as str(value). */
	assert_string_equal(
		join(argv, n),
		"/bin/restore --fast --envdir=/etc/wal-e --keep_data=True --scope=batman "
		"--role=replica --datadir=/data --connstring=dbname=postgres user=r "
		"host=h port=1");
}

static void test_replica_method_option_named_scope_takes_patroni_value(void **state)
{
	(void)state;
	struct db_method m;
	char store[STORE_CAP];
	const char *argv[64];
	restore_method(&m);
	add_option(&m, "scope=mine");
	add_option(&m, "x=1");
	int n = db_method_replica_argv(&m, "batman", "/data", "", store, sizeof(store), argv, 64);
	assert_string_equal(join(argv, n), "/bin/restore --fast --scope=batman --x=1 "
					   "--role=replica --datadir=/data --connstring=");
}

static void test_replica_method_no_params_passes_only_its_own(void **state)
{
	(void)state;
	struct db_method m;
	char store[STORE_CAP];
	const char *argv[64];
	restore_method(&m);
	m.no_params = true;
	add_option(&m, "no_params=True");
	add_option(&m, "keep_data=True");
	add_option(&m, "no_leader=1");
	add_option(&m, "stanza=main");
	int n = db_method_replica_argv(&m, "batman", "/data", "c", store, sizeof(store), argv, 64);
	assert_string_equal(join(argv, n), "/bin/restore --fast --stanza=main");
}

static void test_bootstrap_method_gets_scope_and_datadir_first(void **state)
{
	(void)state;
	struct db_method m;
	char store[STORE_CAP];
	const char *argv[64];
	restore_method(&m);
	add_option(&m, "keep_existing_recovery_conf=False");
	add_option(&m, "no_params=False");
	add_option(&m, "target=db1");
	int n = db_method_bootstrap_argv(&m, "batman", "/data", store, sizeof(store), argv, 64);
	assert_string_equal(join(argv, n),
			    "/bin/restore --fast --scope=batman --datadir=/data --target=db1");
	m.no_params = true;
	n = db_method_bootstrap_argv(&m, "batman", "/data", store, sizeof(store), argv, 64);
	assert_string_equal(join(argv, n), "/bin/restore --fast --target=db1");
}

static void test_too_many_arguments_is_refused(void **state)
{
	(void)state;
	struct db_method m;
	char store[STORE_CAP];
	const char *argv[4];
	restore_method(&m);
	add_option(&m, "a=1");
	assert_int_equal(db_method_replica_argv(&m, "s", "/d", "", store, sizeof(store), argv, 4),
			 -E2BIG);
	assert_int_equal(db_method_replica_argv(&m, "s", "/d", "", store, 8, argv, 4), -E2BIG);
}

static void test_without_source_only_no_leader_methods_run(void **state)
{
	(void)state;
	struct db_replica_methods ms;
	memset(&ms, 0, sizeof(ms));
	restore_method(&ms.items[0]);
	snprintf(ms.items[1].name, sizeof(ms.items[1].name), "basebackup");
	restore_method(&ms.items[2]);
	ms.items[2].no_leader = true;
	ms.count = 3;
	assert_int_equal(db_method_next(&ms, 0, true), 0);
	assert_int_equal(db_method_next(&ms, 1, true), 1);
	assert_int_equal(db_method_next(&ms, 0, false), 2);
	assert_int_equal(db_method_next(&ms, 3, true), -1);
	ms.items[2].no_leader = false;
	assert_int_equal(db_method_next(&ms, 0, false), -1);
}

static void test_method_check_refuses_broken_methods(void **state)
{
	(void)state;
	struct db_method m;
	char err[256];
	restore_method(&m);
	assert_int_equal(db_method_check(&m, err, sizeof(err)), 0);
	m.argc = 0;
	assert_int_equal(db_method_check(&m, err, sizeof(err)), -EINVAL);
	snprintf(m.name, sizeof(m.name), "basebackup");
	assert_int_equal(db_method_check(&m, err, sizeof(err)), 0);
	restore_method(&m);
	memset(m.words, 'x', sizeof(m.words)); /* no terminator */
	assert_int_equal(db_method_check(&m, err, sizeof(err)), -EINVAL);
	restore_method(&m);
	add_option(&m, "=x");
	assert_int_equal(db_method_check(&m, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replica_method_gets_options_then_patroni_params),
		cmocka_unit_test(test_replica_method_option_named_scope_takes_patroni_value),
		cmocka_unit_test(test_replica_method_no_params_passes_only_its_own),
		cmocka_unit_test(test_bootstrap_method_gets_scope_and_datadir_first),
		cmocka_unit_test(test_too_many_arguments_is_refused),
		cmocka_unit_test(test_without_source_only_no_leader_methods_run),
		cmocka_unit_test(test_method_check_refuses_broken_methods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
