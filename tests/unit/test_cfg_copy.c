/*
 * Tests for what keeps the configuration's worst-case structs cheap (issue 15): a configuration
 * loaded into a new struct (cfg_load_new) equals the one cfg_load copies out, the bounds still
 * refuse an input past them, and a dynamic configuration copied by cfg_dynamic_copy equals its
 * source while the lists' unused items are left unwritten.
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

#include "buf.h"
#include "cfg.h"

#define POISON 0xa5

static const char yaml[] = "scope: batman\n"
			   "name: node1\n"
			   "restapi:\n"
			   "  listen: 0.0.0.0:8008\n"
			   "  connect_address: 10.0.0.1:8008\n"
			   "etcd3:\n"
			   "  hosts: 10.0.0.1:2379,10.0.0.2:2379\n"
			   "bootstrap:\n"
			   "  dcs:\n"
			   "    ttl: 30\n"
			   "    slots:\n"
			   "      keep_me: {type: physical}\n"
			   "    postgresql:\n"
			   "      parameters: {max_connections: 200, wal_level: logical}\n"
			   "      pg_hba: [\"host all all 0.0.0.0/0 md5\"]\n"
			   "tags:\n"
			   "  nofailover: false\n"
			   "  zone: a\n"
			   "postgresql:\n"
			   "  listen: 0.0.0.0:5432\n"
			   "  connect_address: 10.0.0.1:5432\n"
			   "  data_dir: /var/lib/postgresql/15/main\n"
			   "  parameters:\n"
			   "    shared_buffers: 128MB\n"
			   "    work_mem: 4MB\n"
			   "  pg_hba:\n"
			   "    - local all all trust\n"
			   "    - host replication replicator 10.0.0.0/8 md5\n"
			   "  authentication:\n"
			   "    superuser:\n"
			   "      username: postgres\n"
			   "      password: secret\n"
			   "    replication:\n"
			   "      username: replicator\n"
			   "      password: rep-pass\n";

/* Writes text to a new temporary file; its path goes to path (PATH_MAX bytes). */
static void write_temp(const char *text, char *path, size_t cap)
{
	FILE *f;
	int fd;

	assert_int_equal(buf_copy(path, cap, "/tmp/gsha-test-cfg-copy-XXXXXX"), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_load_new_equals_the_copied_load(void **state)
{
	struct cfg *copied = calloc(1, sizeof(*copied));
	struct cfg *loaded = NULL;
	struct cfg_diags *diags = malloc(sizeof(*diags));
	char path[64];

	(void)state;
	assert_non_null(copied);
	assert_non_null(diags);
	write_temp(yaml, path, sizeof(path));
	cfg_diags_init(diags);
	assert_int_equal(cfg_load(path, NULL, copied, diags), 0);
	cfg_diags_init(diags);
	assert_int_equal(cfg_load_new(path, NULL, &loaded, diags), 0);
	assert_non_null(loaded);
	assert_int_equal(diags->errors, 0);
	assert_string_equal(loaded->scope, "batman");
	assert_int_equal(loaded->postgresql.parameters.count, 2);
	assert_int_equal(loaded->bootstrap.dcs.postgresql.parameters.count, 2);
	assert_int_equal(loaded->bootstrap.dcs.slots.count, 1);
	assert_string_equal(loaded->postgresql.create_replica_methods.items[0], "basebackup");
	/* byte for byte: the defaults of a calloc'ed struct are those of a cleared one */
	assert_memory_equal(loaded, copied, sizeof(*loaded));
	unlink(path);
	free(loaded);
	free(copied);
	free(diags);
}

/* A list past its bound is refused with an error naming the key; *out stays as it was. */
static void test_load_new_refuses_a_list_past_its_bound(void **state)
{
	struct cfg_diags *diags = malloc(sizeof(*diags));
	struct cfg *loaded = NULL;
	struct buf text;
	char path[64];
	bool named = false;

	(void)state;
	assert_non_null(diags);
	buf_init(&text, 1 << 20);
	assert_int_equal(buf_puts(&text, yaml), 0);
	assert_int_equal(buf_puts(&text, "  pg_ident:\n"), 0);
	for (int i = 0; i <= CFG_LIST_MAX; i++)
		assert_int_equal(buf_printf(&text, "    - map%d os%d db%d\n", i, i, i), 0);
	write_temp(text.data, path, sizeof(path));
	cfg_diags_init(diags);
	assert_int_equal(cfg_load_new(path, NULL, &loaded, diags), -EINVAL);
	assert_null(loaded);
	for (int i = 0; i < diags->count; i++)
		if (strstr(diags->items[i].key, "pg_ident") != NULL &&
		    strstr(diags->items[i].message, "more than") != NULL)
			named = true;
	assert_true(named);
	unlink(path);
	buf_done(&text);
	free(diags);
}

static bool all_poison(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const unsigned char *)p)[i] != POISON)
			return false;
	return true;
}

/* Every byte of the source arrives, but for the lists' items past their counts, which stay as
 * they were in the destination. The source is random bytes with small counts, so a field added
 * to struct cfg_dynamic anywhere is covered without this test knowing it. */
static void test_dynamic_copy_writes_every_field_and_only_the_used_items(void **state)
{
	struct cfg_dynamic *src = malloc(sizeof(*src));
	struct cfg_dynamic *dst = malloc(sizeof(*dst));
	struct cfg_dynamic *want = malloc(sizeof(*want));
	unsigned int seed = 15;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(want);
	for (size_t i = 0; i < sizeof(*src); i++) {
		seed = seed * 1103515245u + 12345u;
		((unsigned char *)src)[i] = (unsigned char)(seed >> 16);
	}
	src->slots.count = 2;
	src->ignore_slots.count = 0;
	src->standby_cluster.create_replica_methods.count = 1;
	src->postgresql.parameters.count = 3;
	src->postgresql.pg_hba.count = CFG_LIST_MAX + 7; /* not trusted: the whole list */
	src->postgresql.pg_ident.count = -3;		 /* none */
	memset(dst, POISON, sizeof(*dst));
	cfg_dynamic_copy(dst, src);

	/* what dst should hold: src, with the unused items poisoned */
	memcpy(want, src, sizeof(*want));
	memset(&want->slots.items[2], POISON,
	       sizeof(want->slots.items) - 2 * sizeof(want->slots.items[0]));
	memset(want->ignore_slots.items, POISON, sizeof(want->ignore_slots.items));
	memset(want->standby_cluster.create_replica_methods.items[1], POISON,
	       sizeof(want->standby_cluster.create_replica_methods.items) -
		       sizeof(want->standby_cluster.create_replica_methods.items[0]));
	memset(&want->postgresql.parameters.items[3], POISON,
	       sizeof(want->postgresql.parameters.items) -
		       3 * sizeof(want->postgresql.parameters.items[0]));
	memset(want->postgresql.pg_ident.items, POISON, sizeof(want->postgresql.pg_ident.items));
	assert_memory_equal(dst, want, sizeof(*dst));
	assert_true(
		all_poison(dst->postgresql.pg_ident.items, sizeof(dst->postgresql.pg_ident.items)));
	free(src);
	free(dst);
	free(want);
}

/* A parsed dynamic configuration copied into fresh (zeroed) memory equals it byte for byte and
 * renders the same. */
static void test_dynamic_copy_of_a_parsed_config_equals_it(void **state)
{
	static const char json[] =
		"{\"ttl\":20,\"loop_wait\":5,\"retry_timeout\":5,\"synchronous_mode\":true,"
		"\"slots\":{\"a\":{\"type\":\"physical\"},\"b\":{\"type\":\"logical\",\"database\":"
		"\"app\",\"plugin\":\"pgoutput\"}},\"ignore_slots\":[{\"name\":\"x\"}],"
		"\"standby_cluster\":{\"host\":\"10.1.1.1\",\"port\":5433,"
		"\"create_replica_methods\":[\"basebackup\"]},"
		"\"postgresql\":{\"use_pg_rewind\":true,\"parameters\":{\"max_connections\":300,"
		"\"wal_keep_size\":\"1GB\"},\"pg_hba\":[\"host all all 0.0.0.0/0 md5\"]}}";
	struct cfg_dynamic *parsed = calloc(1, sizeof(*parsed));
	struct cfg_dynamic *copy = calloc(1, sizeof(*copy));
	struct buf a, b;
	char err[256];

	(void)state;
	assert_non_null(parsed);
	assert_non_null(copy);
	assert_int_equal(cfg_dynamic_parse(json, strlen(json), parsed, err, sizeof(err)), 0);
	assert_int_equal(parsed->slots.count, 2);
	cfg_dynamic_copy(copy, parsed);
	assert_memory_equal(copy, parsed, sizeof(*copy));
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	assert_int_equal(cfg_dynamic_render(parsed, &a), 0);
	assert_int_equal(cfg_dynamic_render(copy, &b), 0);
	assert_string_equal(a.data, b.data);
	buf_done(&a);
	buf_done(&b);
	free(parsed);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_new_equals_the_copied_load),
		cmocka_unit_test(test_load_new_refuses_a_list_past_its_bound),
		cmocka_unit_test(test_dynamic_copy_writes_every_field_and_only_the_used_items),
		cmocka_unit_test(test_dynamic_copy_of_a_parsed_config_equals_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
