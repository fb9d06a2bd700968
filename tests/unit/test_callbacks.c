/*
 * Unit tests for the callback runner (src/agent/callbacks.c): Patroni's command splitting, the
 * arguments a callback gets, one at a time with a newer one ending the running one, and the
 * role changes that fire on_start and on_role_change. The commands are real child processes
 * (sh), writing what they were given into a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "callbacks.h"
#include "clock.h"

struct fixture {
	char dir[64];
	char out[128];
	struct cfg cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/gsha-cb-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->out, sizeof(f->out), "%s/calls", f->dir);
	snprintf(f->cfg.scope, sizeof(f->cfg.scope), "batman");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->out);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A command that appends its arguments as one line to f->out. */
static void set_recorder(struct fixture *f, char *field, size_t cap)
{
	snprintf(field, cap, "sh -c 'echo \"$*\" >> %s' recorder", f->out);
}

/* Polls the runner until the file has n lines or wait_ms pass; returns its text. */
static const char *wait_lines_for(struct fixture *f, struct callbacks *cb, int n, int64_t wait_ms)
{
	static char text[4096];
	int64_t until = clock_mono_ms() + wait_ms;

	for (;;) {
		FILE *fp = fopen(f->out, "r");
		size_t len = 0;
		int lines = 0;

		text[0] = '\0';
		if (fp != NULL) {
			len = fread(text, 1, sizeof(text) - 1, fp);
			fclose(fp);
		}
		text[len] = '\0';
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		callbacks_poll(cb);
		if (lines >= n || clock_mono_ms() > until)
			return text;
		usleep(20000);
	}
}

static const char *wait_lines(struct fixture *f, struct callbacks *cb, int n)
{
	return wait_lines_for(f, cb, n, 10000);
}

static void test_split_follows_posix_shlex(void **state)
{
	char store[256];
	const char *argv[8];

	(void)state;
	assert_int_equal(callbacks_split("  /bin/vip.sh  --dev 'eth 0' \"a \\\"b\\\"\" c\\ d ",
					 store, sizeof(store), argv, 8),
			 5);
	assert_string_equal(argv[0], "/bin/vip.sh");
	assert_string_equal(argv[1], "--dev");
	assert_string_equal(argv[2], "eth 0");
	assert_string_equal(argv[3], "a \"b\"");
	assert_string_equal(argv[4], "c d");
	assert_null(argv[5]);
	assert_int_equal(callbacks_split("'' x", store, sizeof(store), argv, 8), 2);
	assert_string_equal(argv[0], "");
	assert_int_equal(callbacks_split("a 'open", store, sizeof(store), argv, 8), -EINVAL);
	assert_int_equal(callbacks_split("a b c", store, sizeof(store), argv, 3), -E2BIG);
	assert_int_equal(callbacks_split("abcdefgh", store, 4, argv, 8), -E2BIG);
	assert_int_equal(callbacks_split("   ", store, sizeof(store), argv, 8), 0);
}

static void test_role_changes_fire_patroni_arguments(void **state)
{
	struct fixture *f = *state;
	struct callbacks *cb;
	const char *text;

	set_recorder(f, f->cfg.postgresql.callbacks.on_start, CFG_LINE_MAX);
	set_recorder(f, f->cfg.postgresql.callbacks.on_role_change, CFG_LINE_MAX);
	cb = callbacks_new(&f->cfg, "primary");
	assert_non_null(cb);
	/* first running role: on_start; a promotion: on_role_change primary */
	callbacks_role_changed(cb, HA_ROLE_CLONING, HA_ROLE_REPLICA);
	text = wait_lines(f, cb, 1);
	callbacks_role_changed(cb, HA_ROLE_PROMOTING, HA_ROLE_PRIMARY);
	text = wait_lines(f, cb, 2);
	/* demoted and following: on_role_change replica; the same role again fires nothing */
	callbacks_role_changed(cb, HA_ROLE_REJOINING, HA_ROLE_REPLICA);
	text = wait_lines(f, cb, 3);
	callbacks_role_changed(cb, HA_ROLE_STOPPED, HA_ROLE_REPLICA);
	callbacks_role_changed(cb, HA_ROLE_REPLICA, HA_ROLE_DEMOTING);
	text = wait_lines_for(f, cb, 4, 1000); /* no fourth line comes */
	assert_string_equal(text, "on_start replica batman\n"
				  "on_role_change primary batman\n"
				  "on_role_change replica batman\n");
	callbacks_free(cb);
}

static void test_newer_callback_ends_the_running_one(void **state)
{
	struct fixture *f = *state;
	struct callbacks *cb;
	int64_t t0;
	const char *text;

	/* on_start hangs (a VIP script stuck on the network); on_role_change records */
	snprintf(f->cfg.postgresql.callbacks.on_start, CFG_LINE_MAX,
		 "sh -c 'echo started >> %s; sleep 30; echo finished >> %s' hang", f->out, f->out);
	set_recorder(f, f->cfg.postgresql.callbacks.on_role_change, CFG_LINE_MAX);
	cb = callbacks_new(&f->cfg, "master");
	assert_non_null(cb);
	callbacks_fire(cb, CB_ON_START, "replica");
	text = wait_lines(f, cb, 1);
	assert_string_equal(text, "started\n");
	t0 = clock_mono_ms();
	callbacks_fire(cb, CB_ON_ROLE_CHANGE, "master");
	/* firing never waits for the old command to finish its sleep */
	assert_true(clock_mono_ms() - t0 < 1000);
	text = wait_lines(f, cb, 2);
	assert_string_equal(text, "started\non_role_change master batman\n");
	callbacks_free(cb);
}

static void test_list_command_from_yaml_keeps_its_words(void **state)
{
	struct fixture *f = *state;
	struct cfg_diags *d = calloc(1, sizeof(*d));
	char yaml[1024];
	const char *argv[8];
	char store[512];

	assert_non_null(d);
	cfg_diags_init(d);
	snprintf(
		yaml, sizeof(yaml),
		"scope: batman\nname: n1\nrestapi:\n  listen: :8008\n  connect_address: a:8008\n"
		"etcd3:\n  hosts: a:2379\npostgresql:\n  listen: :5432\n  connect_address: a:5432\n"
		"  data_dir: /d\n  authentication:\n    superuser:\n      username: p\n"
		"    replication:\n      username: r\n"
		"  callbacks:\n    on_role_change: [/usr/bin/vip, --name, \"it's mine\"]\n");
	assert_int_equal(cfg_load_text("t.yml", yaml, strlen(yaml), NULL, &f->cfg, d), 0);
	assert_int_equal(d->warnings, 0);
	assert_int_equal(callbacks_split(f->cfg.postgresql.callbacks.on_role_change, store,
					 sizeof(store), argv, 8),
			 3);
	assert_string_equal(argv[0], "/usr/bin/vip");
	assert_string_equal(argv[1], "--name");
	assert_string_equal(argv[2], "it's mine");
	free(d);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_split_follows_posix_shlex),
		T(test_role_changes_fire_patroni_arguments),
		T(test_newer_callback_ends_the_running_one),
		T(test_list_command_from_yaml_keeps_its_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
