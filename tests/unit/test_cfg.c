/*
 * Unit tests for the configuration module: Patroni's YAML files, environment overrides,
 * validation errors with positions, and the dynamic configuration JSON codec.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "cfg_internal.h"

/* A minimal configuration as a Patroni user writes it. */
static const char minimal_yaml[] = "scope: batman\n"
				   "name: node1\n"
				   "restapi:\n"
				   "  listen: 0.0.0.0:8008\n"
				   "  connect_address: 10.0.0.1:8008\n"
				   "etcd3:\n"
				   "  hosts: 10.0.0.1:2379,10.0.0.2:2379\n"
				   "postgresql:\n"
				   "  listen: 0.0.0.0:5432\n"
				   "  connect_address: 10.0.0.1:5432\n"
				   "  data_dir: /var/lib/postgresql/15/main\n"
				   "  authentication:\n"
				   "    superuser:\n"
				   "      username: postgres\n"
				   "      password: secret\n"
				   "    replication:\n"
				   "      username: replicator\n"
				   "      password: rep-pass\n";

/* A configuration with every section Patroni documents. */
static const char full_yaml[] = "scope: prod\n"
				"namespace: /db/\n"
				"name: pg-a\n"
				"log:\n"
				"  level: DEBUG\n"
				"  format: json\n"
				"restapi:\n"
				"  listen: 0.0.0.0:8008\n"
				"  connect_address: 10.1.0.1:8008\n"
				"  certfile: /etc/gsha/rest.crt\n"
				"  keyfile: /etc/gsha/rest.key\n"
				"  cafile: /etc/gsha/ca.crt\n"
				"  verify_client: optional\n"
				"  authentication:\n"
				"    username: admin\n"
				"    password: s3cret\n"
				"  allowlist: [10.1.0.0/16, 127.0.0.1]\n"
				"  allowlist_include_members: true\n"
				"  http_extra_headers:\n"
				"    X-Frame-Options: SAMEORIGIN\n"
				"ctl:\n"
				"  insecure: false\n"
				"  cacert: /etc/gsha/ca.crt\n"
				"etcd3:\n"
				"  hosts:\n"
				"  - 10.1.0.10:2379\n"
				"  - 10.1.0.11:2379\n"
				"  - 10.1.0.12:2379\n"
				"  protocol: https\n"
				"  username: gsha\n"
				"  password: etcdpw\n"
				"  cacert: /etc/etcd/ca.crt\n"
				"  cert: /etc/etcd/client.crt\n"
				"  key: /etc/etcd/client.key\n"
				"bootstrap:\n"
				"  dcs:\n"
				"    ttl: 5s\n"
				"    loop_wait: 500ms\n"
				"    retry_timeout: 1\n"
				"    maximum_lag_on_failover: 33554432\n"
				"    synchronous_mode: true\n"
				"    synchronous_mode_strict: false\n"
				"    synchronous_node_count: 2\n"
				"    failsafe_mode: on\n"
				"    primary_start_timeout: 1m\n"
				"    check_timeline: true\n"
				"    postgresql:\n"
				"      use_pg_rewind: true\n"
				"      use_slots: false\n"
				"      parameters:\n"
				"        max_connections: 200\n"
				"        wal_level: replica\n"
				"        hot_standby: \"on\"\n"
				"        wal_log_hints: on\n"
				"  initdb:\n"
				"  - encoding: UTF8\n"
				"  - data-checksums\n"
				"  pg_hba:\n"
				"  - host replication replicator 10.1.0.0/16 scram-sha-256\n"
				"  - host all all 0.0.0.0/0 scram-sha-256\n"
				"  users:\n"
				"    admin:\n"
				"      password: admin%\n"
				"      options:\n"
				"        - createrole\n"
				"        - createdb\n"
				"  post_init: /usr/local/bin/setup_cluster.sh\n"
				"postgresql:\n"
				"  engine: postgresql\n"
				"  listen: 10.1.0.1,127.0.0.1:5432\n"
				"  connect_address: 10.1.0.1:5432\n"
				"  proxy_address: 10.1.0.1:6432\n"
				"  data_dir: /data/pg\n"
				"  config_dir: /etc/pg\n"
				"  bin_dir: /usr/lib/postgresql/15/bin\n"
				"  pgpass: /tmp/pgpass0\n"
				"  authentication:\n"
				"    superuser:\n"
				"      username: postgres\n"
				"      password: zalando\n"
				"      sslmode: verify-full\n"
				"    replication:\n"
				"      username: replicator\n"
				"      password: rep-pass\n"
				"    rewind:\n"
				"      username: rewind_user\n"
				"      password: rewind_password\n"
				"  parameters:\n"
				"    unix_socket_directories: '/var/run/postgresql'\n"
				"    shared_buffers: 1GB\n"
				"  pg_hba:\n"
				"  - local all all trust\n"
				"  create_replica_methods:\n"
				"  - wal_e\n"
				"  - basebackup\n"
				"  wal_e:\n"
				"    command: /usr/bin/wale_restore\n"
				"    envdir: /etc/env.d/wal-e\n"
				"    threshold_megabytes: 10240\n"
				"  basebackup:\n"
				"  - verbose\n"
				"  - max-rate: 100M\n"
				"  callbacks:\n"
				"    on_start: /bin/on_start.sh\n"
				"    on_stop: /bin/on_stop.sh\n"
				"    on_role_change: /bin/on_role_change.sh\n"
				"  pre_promote: /bin/fence.sh\n"
				"  pg_ctl_timeout: 90\n"
				"  use_pg_rewind: true\n"
				"  remove_data_directory_on_rewind_failure: true\n"
				"watchdog:\n"
				"  mode: off\n"
				"  device: /dev/watchdog1\n"
				"  safety_margin: -1\n"
				"tags:\n"
				"  nofailover: false\n"
				"  noloadbalance: true\n"
				"  clonefrom: true\n"
				"  nosync: false\n"
				"  failover_priority: 3\n"
				"  replicatefrom: pg-b\n"
				"  dc: west\n"
				"  rack: 7\n";

struct fixture {
	struct cfg cfg;
	struct cfg_diags diags;
	char text[16384];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	cfg_diags_init(&f->diags);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int load_yaml(struct fixture *f, const char *yaml, char *const *envp)
{
	cfg_diags_init(&f->diags);
	return cfg_load_text("test.yml", yaml, strlen(yaml), envp, &f->cfg, &f->diags);
}

/* The minimal configuration with one line replaced or added (old "" appends new). */
static const char *minimal_with(struct fixture *f, const char *old, const char *new_text)
{
	const char *at = old[0] ? strstr(minimal_yaml, old) : NULL;

	if (at == NULL) {
		snprintf(f->text, sizeof(f->text), "%s%s", minimal_yaml, new_text);
	} else {
		snprintf(f->text, sizeof(f->text), "%.*s%s%s", (int)(at - minimal_yaml),
			 minimal_yaml, new_text, at + strlen(old));
	}
	return f->text;
}

/* Finds a diagnostic of severity sev on key whose message contains needle (line 0 = any). */
static const struct cfg_diag *find_diag(const struct cfg_diags *d, enum cfg_severity sev,
					const char *key, int line, const char *needle)
{
	for (int i = 0; i < d->count; i++) {
		const struct cfg_diag *x = &d->items[i];

		if (x->severity == sev && strcmp(x->key, key) == 0 &&
		    (line == 0 || x->line == line) && strstr(x->message, needle) != NULL)
			return x;
	}
	return NULL;
}

static void print_diags(const struct cfg_diags *d)
{
	for (int i = 0; i < d->count; i++) {
		char line[2048];

		if (cfg_diag_format(&d->items[i], true, line, sizeof(line)) == 0)
			printf("  %s\n", line);
	}
}

#define assert_diag(f, sev, key, line, needle)                                                   \
	do {                                                                                     \
		if (find_diag(&(f)->diags, sev, key, line, needle) == NULL) {                    \
			print_diags(&(f)->diags);                                                \
			fail_msg("no diagnostic on \"%s\" line %d containing \"%s\"", key, line, \
				 needle);                                                        \
		}                                                                                \
	} while (0)

#define assert_loads(f, yaml, envp)                 \
	do {                                        \
		int rc_ = load_yaml(f, yaml, envp); \
		if (rc_ != 0)                       \
			print_diags(&(f)->diags);   \
		assert_int_equal(rc_, 0);           \
	} while (0)

/* --- realistic configurations --- */

static void test_minimal_config_loads_with_patroni_defaults(void **state)
{
	struct fixture *f = *state;
	const struct cfg *c = &f->cfg;

	assert_loads(f, minimal_yaml, NULL);
	assert_int_equal(f->diags.errors, 0);
	assert_int_equal(f->diags.warnings, 0);
	assert_string_equal(c->scope, "batman");
	assert_string_equal(c->name, "node1");
	assert_string_equal(c->namespace_, "/service/");
	assert_string_equal(c->restapi.listen, "0.0.0.0:8008");
	assert_int_equal(c->etcd3.hosts.count, 2);
	assert_string_equal(c->etcd3.hosts.items[1], "10.0.0.2:2379");
	assert_int_equal(c->etcd3.protocol, CFG_PROTOCOL_HTTP);
	assert_int_equal(c->bootstrap.dcs.ttl_ms, 30000);
	assert_int_equal(c->bootstrap.dcs.loop_wait_ms, 10000);
	assert_int_equal(c->bootstrap.dcs.retry_timeout_ms, 10000);
	assert_int_equal(c->bootstrap.dcs.maximum_lag_on_failover_bytes, 1048576);
	assert_int_equal(c->bootstrap.dcs.primary_start_timeout_ms, 300000);
	assert_int_equal(c->bootstrap.dcs.synchronous_node_count, 1);
	assert_false(c->bootstrap.dcs.synchronous_mode);
	assert_true(c->bootstrap.dcs.postgresql.use_slots);
	assert_int_equal(c->restapi.verify_client, CFG_VERIFY_CLIENT_NONE);
	assert_int_equal(c->watchdog.mode, CFG_WATCHDOG_AUTOMATIC);
	assert_string_equal(c->watchdog.device, "/dev/watchdog");
	assert_int_equal(c->watchdog.safety_margin_ms, 5000);
	assert_int_equal(c->tags.failover_priority, 1);
	assert_int_equal(c->postgresql.create_replica_methods.count, 1);
	assert_string_equal(c->postgresql.create_replica_methods.items[0], "basebackup");
	assert_int_equal(c->postgresql.engine, CFG_ENGINE_POSTGRESQL);
	assert_false(c->postgresql.engine_explicit);
	assert_int_equal(c->postgresql.port, 5432);
	assert_int_equal(c->postgresql.pg_ctl_timeout_ms, 60000);
	assert_false(c->postgresql.use_pg_rewind_set);
	assert_string_equal(c->postgresql.authentication.superuser.password, "secret");
	assert_int_equal(c->log.level, LOG_LEVEL_INFO);
	assert_int_equal(c->log.format, LOG_FORMAT_TEXT);
	assert_string_equal(c->source, "test.yml");
}

static void test_full_config_fills_every_section(void **state)
{
	struct fixture *f = *state;
	const struct cfg *c = &f->cfg;
	const struct cfg_kv *kv;

	assert_loads(f, full_yaml, NULL);
	assert_int_equal(f->diags.errors, 0);
	assert_string_equal(c->namespace_, "/db/");
	assert_int_equal(c->log.level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->log.format, LOG_FORMAT_JSON);
	assert_int_equal(c->restapi.verify_client, CFG_VERIFY_CLIENT_OPTIONAL);
	assert_string_equal(c->restapi.username, "admin");
	assert_string_equal(c->restapi.password, "s3cret");
	assert_int_equal(c->restapi.allowlist.count, 2);
	assert_string_equal(c->restapi.allowlist.items[0], "10.1.0.0/16");
	assert_true(c->restapi.allowlist_include_members);
	assert_string_equal(
		cfg_options_get(&c->restapi.http_extra_headers, "X-Frame-Options")->value,
		"SAMEORIGIN");
	assert_string_equal(c->ctl.cacert, "/etc/gsha/ca.crt");
	assert_int_equal(c->etcd3.hosts.count, 3);
	assert_int_equal(c->etcd3.protocol, CFG_PROTOCOL_HTTPS);
	assert_string_equal(c->etcd3.password, "etcdpw");
	assert_string_equal(c->etcd3.key, "/etc/etcd/client.key");

	/* gsha's fast settings: 5 s ttl, 500 ms loop, 1 s retry. */
	assert_int_equal(c->bootstrap.dcs.ttl_ms, 5000);
	assert_int_equal(c->bootstrap.dcs.loop_wait_ms, 500);
	assert_int_equal(c->bootstrap.dcs.retry_timeout_ms, 1000);
	assert_int_equal(c->bootstrap.dcs.maximum_lag_on_failover_bytes, 33554432);
	assert_true(c->bootstrap.dcs.synchronous_mode);
	assert_int_equal(c->bootstrap.dcs.synchronous_node_count, 2);
	assert_true(c->bootstrap.dcs.failsafe_mode);
	assert_true(c->bootstrap.dcs.check_timeline);
	assert_int_equal(c->bootstrap.dcs.primary_start_timeout_ms, 60000);
	assert_true(c->bootstrap.dcs.postgresql.use_pg_rewind);
	assert_false(c->bootstrap.dcs.postgresql.use_slots);
	kv = cfg_params_get(&c->bootstrap.dcs.postgresql.parameters, "max_connections");
	assert_non_null(kv);
	assert_string_equal(kv->value, "200");
	assert_int_equal(kv->kind, CFG_VALUE_NUMBER);
	kv = cfg_params_get(&c->bootstrap.dcs.postgresql.parameters, "hot_standby");
	assert_int_equal(kv->kind, CFG_VALUE_STRING);
	kv = cfg_params_get(&c->bootstrap.dcs.postgresql.parameters, "wal_log_hints");
	assert_int_equal(kv->kind, CFG_VALUE_BOOL);

	assert_int_equal(c->bootstrap.initdb.count, 2);
	assert_string_equal(c->bootstrap.initdb.items[0].name, "encoding");
	assert_string_equal(c->bootstrap.initdb.items[0].value, "UTF8");
	assert_string_equal(c->bootstrap.initdb.items[1].name, "data-checksums");
	assert_int_equal(c->bootstrap.initdb.items[1].kind, CFG_VALUE_NONE);
	assert_int_equal(c->bootstrap.pg_hba.count, 2);
	assert_int_equal(c->bootstrap.users_count, 1);
	assert_string_equal(c->bootstrap.users[0].name, "admin");
	assert_string_equal(c->bootstrap.users[0].password, "admin%");
	assert_int_equal(c->bootstrap.users[0].options.count, 2);
	assert_string_equal(c->bootstrap.users[0].options.items[1], "createdb");
	assert_string_equal(c->bootstrap.post_bootstrap, "/usr/local/bin/setup_cluster.sh");

	assert_int_equal(c->postgresql.engine, CFG_ENGINE_POSTGRESQL);
	assert_true(c->postgresql.engine_explicit);
	assert_string_equal(c->postgresql.listen, "10.1.0.1,127.0.0.1:5432");
	assert_int_equal(c->postgresql.port, 5432);
	assert_string_equal(c->postgresql.proxy_address, "10.1.0.1:6432");
	assert_string_equal(c->postgresql.config_dir, "/etc/pg");
	assert_string_equal(c->postgresql.authentication.superuser.sslmode, "verify-full");
	assert_string_equal(c->postgresql.authentication.rewind.username, "rewind_user");
	assert_string_equal(cfg_params_get(&c->postgresql.parameters, "shared_buffers")->value,
			    "1GB");
	assert_int_equal(c->postgresql.create_replica_methods.count, 2);
	assert_int_equal(c->postgresql.replica_methods_count, 1);
	assert_string_equal(c->postgresql.replica_methods[0].name, "wal_e");
	assert_string_equal(c->postgresql.replica_methods[0].command, "/usr/bin/wale_restore");
	assert_int_equal(c->postgresql.replica_methods[0].params.count, 2);
	assert_int_equal(c->postgresql.basebackup.count, 2);
	assert_string_equal(c->postgresql.basebackup.items[1].name, "max-rate");
	assert_string_equal(c->postgresql.basebackup.items[1].value, "100M");
	assert_string_equal(c->postgresql.callbacks.on_role_change, "/bin/on_role_change.sh");
	assert_string_equal(c->postgresql.pre_promote, "/bin/fence.sh");
	assert_int_equal(c->postgresql.pg_ctl_timeout_ms, 90000);
	assert_true(c->postgresql.use_pg_rewind);
	assert_true(c->postgresql.use_pg_rewind_set);
	assert_true(c->postgresql.remove_data_directory_on_rewind_failure);

	assert_int_equal(c->watchdog.mode, CFG_WATCHDOG_OFF);
	assert_int_equal(c->watchdog.safety_margin_ms, -1);
	assert_true(c->tags.noloadbalance);
	assert_true(c->tags.clonefrom);
	assert_int_equal(c->tags.failover_priority, 3);
	assert_string_equal(c->tags.replicatefrom, "pg-b");
	assert_int_equal(c->tags.custom.count, 2);
	assert_string_equal(c->tags.custom.items[0].name, "dc");
	assert_string_equal(c->tags.custom.items[0].value, "west");
	assert_int_equal(c->tags.custom.items[1].kind, CFG_VALUE_NUMBER);
}

static void test_patroni_etcd_section_is_read_as_etcd3(void **state)
{
	struct fixture *f = *state;

	assert_loads(f,
		     minimal_with(f, "etcd3:\n  hosts: 10.0.0.1:2379,10.0.0.2:2379\n",
				  "etcd:\n  host: 127.0.0.1:2379\n"),
		     NULL);
	assert_int_equal(f->cfg.etcd3.hosts.count, 1);
	assert_string_equal(f->cfg.etcd3.hosts.items[0], "127.0.0.1:2379");
}

static void test_patroni_only_keys_warn_once_and_load(void **state)
{
	struct fixture *f = *state;

	assert_loads(
		f,
		minimal_with(f, "",
			     "citus:\n  database: citus\n  group: 0\n"
			     "log:\n  max_queue_size: 1000\n  format: '%(asctime)s %(message)s'\n"
			     "bootstrap:\n  dcs:\n    standby_cluster:\n      host: 1.2.3.4\n"),
		NULL);
	assert_int_equal(f->diags.warnings, 3);
	assert_diag(f, CFG_SEVERITY_WARNING, "citus", 19, "does not implement yet, ignoring");
	assert_diag(f, CFG_SEVERITY_WARNING, "log.max_queue_size", 23, "ignoring");
	assert_diag(f, CFG_SEVERITY_WARNING, "log.format", 24, "Python log format");
	/* standby_cluster is implemented (issue 13): read, not warned about */
	assert_string_equal(f->cfg.bootstrap.dcs.standby_cluster.host, "1.2.3.4");
	assert_true(cfg_standby_cluster(&f->cfg.bootstrap.dcs));
	assert_int_equal(f->cfg.log.format, LOG_FORMAT_TEXT);
}

static void test_bootstrap_method_named_in_method_key_is_read(void **state)
{
	struct fixture *f = *state;
	const struct cfg_replica_method *m = &f->cfg.bootstrap.method_def;

	assert_loads(f,
		     minimal_with(f, "",
				  "bootstrap:\n  wale:\n    command: /bin/restore --x\n"
				  "    keep_existing_recovery_conf: false\n    target: db1\n"
				  "    recovery_conf:\n      recovery_target_action: promote\n"
				  "      restore_command: cp /a/%f %p\n  method: wale\n"),
		     NULL);
	assert_int_equal(f->diags.warnings, 0);
	assert_true(f->cfg.bootstrap.has_method_def);
	assert_string_equal(m->name, "wale");
	assert_string_equal(m->command, "/bin/restore --x");
	assert_false(m->keep_existing_recovery_conf);
	assert_true(m->has_recovery_conf);
	assert_int_equal(m->recovery_conf.count, 2);
	assert_string_equal(m->recovery_conf.items[1].value, "cp /a/%f %p");
	assert_int_equal(m->params.count, 2); /* keep_existing_recovery_conf, target */
}

static void test_bootstrap_method_without_section_warns_initdb(void **state)
{
	struct fixture *f = *state;

	assert_loads(f, minimal_with(f, "", "bootstrap:\n  method: wale\n"), NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "bootstrap.method", 0, "initdb");
}

/* --- environment --- */

static char *const env_only[] = {
	"PATRONI_NAME=env-node",
	"PATRONI_SCOPE=env-cluster",
	"PATRONI_RESTAPI_LISTEN=0.0.0.0:8008",
	"PATRONI_RESTAPI_CONNECT_ADDRESS=10.0.0.5:8008",
	"PATRONI_RESTAPI_USERNAME=admin",
	"PATRONI_RESTAPI_PASSWORD=pw",
	"PATRONI_ETCD3_HOSTS='10.0.0.1:2379','10.0.0.2:2379'",
	"PATRONI_POSTGRESQL_LISTEN=0.0.0.0:5432",
	"PATRONI_POSTGRESQL_CONNECT_ADDRESS=10.0.0.5:5432",
	"PATRONI_POSTGRESQL_DATA_DIR=/data",
	"PATRONI_SUPERUSER_USERNAME=postgres",
	"PATRONI_SUPERUSER_PASSWORD=su",
	"PATRONI_REPLICATION_USERNAME=replicator",
	"PATRONI_REPLICATION_PASSWORD=rep",
	"PATRONI_LOG_LEVEL=WARNING",
	"GSHA_LOG_FORMAT=json",
	"GSHA_TTL=5s",
	"GSHA_LOOP_WAIT=1",
	"GSHA_RETRY_TIMEOUT=1s",
	"HOME=/root",
	NULL,
};

static void test_environment_alone_is_a_complete_configuration(void **state)
{
	struct fixture *f = *state;
	const struct cfg *c = &f->cfg;

	cfg_diags_init(&f->diags);
	assert_int_equal(cfg_load(NULL, env_only, &f->cfg, &f->diags), 0);
	assert_int_equal(f->diags.count, 0);
	assert_string_equal(c->source, "environment");
	assert_string_equal(c->name, "env-node");
	assert_string_equal(c->scope, "env-cluster");
	assert_string_equal(c->restapi.connect_address, "10.0.0.5:8008");
	assert_string_equal(c->restapi.password, "pw");
	assert_int_equal(c->etcd3.hosts.count, 2);
	assert_string_equal(c->etcd3.hosts.items[0], "10.0.0.1:2379");
	assert_string_equal(c->postgresql.data_dir, "/data");
	assert_string_equal(c->postgresql.authentication.replication.password, "rep");
	assert_int_equal(c->log.level, LOG_LEVEL_WARNING);
	assert_int_equal(c->log.format, LOG_FORMAT_JSON);
	assert_int_equal(c->bootstrap.dcs.ttl_ms, 5000);
	assert_int_equal(c->bootstrap.dcs.loop_wait_ms, 1000);
	assert_int_equal(c->bootstrap.dcs.retry_timeout_ms, 1000);
}

static void test_environment_overrides_file_and_gsha_prefix_wins(void **state)
{
	struct fixture *f = *state;
	char *const envp[] = {
		"PATRONI_NAME=from-patroni-env", "GSHA_SCOPE=gsha-scope",
		"PATRONI_SCOPE=patroni-scope",	 "PATRONI_ETCD_HOSTS=[10.9.9.9:2379]",
		"PATRONI_POSTGRESQL_DATA_DIR=",	 NULL
	};

	assert_loads(f, minimal_yaml, envp);
	assert_string_equal(f->cfg.name, "from-patroni-env");
	assert_string_equal(f->cfg.scope, "gsha-scope");
	assert_int_equal(f->cfg.etcd3.hosts.count, 1);
	assert_string_equal(f->cfg.etcd3.hosts.items[0], "10.9.9.9:2379");
	/* An empty variable is ignored, as Patroni does. */
	assert_string_equal(f->cfg.postgresql.data_dir, "/var/lib/postgresql/15/main");
}

static void test_environment_bad_value_names_the_variable(void **state)
{
	struct fixture *f = *state;
	char *const envp[] = { "GSHA_LOOP_WAIT=soon", "PATRONI_RESTAPI_LISTEN=nowhere", NULL };
	const struct cfg_diag *d;
	char line[1024];

	assert_int_equal(load_yaml(f, minimal_yaml, envp), -EINVAL);
	d = find_diag(&f->diags, CFG_SEVERITY_ERROR, "bootstrap.dcs.loop_wait", 0,
		      "not a duration");
	assert_non_null(d);
	assert_string_equal(d->source, "environment variable GSHA_LOOP_WAIT");
	assert_int_equal(d->line, 0);
	assert_int_equal(cfg_diag_format(d, true, line, sizeof(line)), 0);
	assert_string_equal(line, "environment variable GSHA_LOOP_WAIT: error: "
				  "\"bootstrap.dcs.loop_wait\": \"soon\" is not a duration: write "
				  "seconds (10) or a number with a unit (500ms, 5s, 1m)");
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.listen", 0, "has no port");
}

static void test_patroni_configuration_variable_holds_the_yaml(void **state)
{
	struct fixture *f = *state;
	char var[4096];
	char *const envp[] = { var, "PATRONI_NAME=override", NULL };

	snprintf(var, sizeof(var), "PATRONI_CONFIGURATION=%s", minimal_yaml);
	cfg_diags_init(&f->diags);
	assert_int_equal(cfg_load(NULL, envp, &f->cfg, &f->diags), 0);
	assert_string_equal(f->cfg.scope, "batman");
	assert_string_equal(f->cfg.name, "override");
	assert_string_equal(f->cfg.source, "environment variable PATRONI_CONFIGURATION");
}

static void test_environment_defines_bootstrap_users(void **state)
{
	struct fixture *f = *state;
	char *const envp[] = { "PATRONI_admin_PASSWORD=adm",
			       "PATRONI_admin_OPTIONS=createrole,createdb",
			       "PATRONI_SUPERUSER_PASSWORD=not-a-user",
			       "PATRONI_RESTAPI_PASSWORD=x",
			       "PATRONI_RESTAPI_USERNAME=u",
			       NULL };

	assert_loads(f, minimal_yaml, envp);
	assert_int_equal(f->cfg.bootstrap.users_count, 1);
	assert_string_equal(f->cfg.bootstrap.users[0].name, "admin");
	assert_string_equal(f->cfg.bootstrap.users[0].password, "adm");
	assert_int_equal(f->cfg.bootstrap.users[0].options.count, 2);
	assert_string_equal(f->cfg.bootstrap.users[0].options.items[1], "createdb");
	assert_string_equal(f->cfg.postgresql.authentication.superuser.password, "not-a-user");
	/* gsha creates no such user: the variable is named, as bootstrap.users in a file is. */
	assert_int_equal(f->diags.warnings, 1);
	assert_diag(f, CFG_SEVERITY_WARNING, "bootstrap.users.admin", 0, "by hand");
}

static void test_environment_other_dcs_is_named_once(void **state)
{
	struct fixture *f = *state;
	char *const envp[] = { "PATRONI_KUBERNETES_POD_IP=10.1.0.5",
			       "PATRONI_KUBERNETES_LABELS={application: patroni}", NULL };

	assert_loads(f, minimal_yaml, envp);
	assert_int_equal(f->diags.warnings, 1);
	assert_diag(f, CFG_SEVERITY_WARNING, "kubernetes", 0, "etcd only");
}

static void test_environment_sets_extra_headers_and_warns_on_unsupported(void **state)
{
	struct fixture *f = *state;
	char *const envp[] = {
		"PATRONI_RESTAPI_HTTP_EXTRA_HEADERS={'X-Frame-Options': 'SAMEORIGIN', "
		"X-A: b}",
		"PATRONI_LOG_DATEFMT=%H", NULL
	};
	const struct cfg_kv *kv;

	assert_loads(f, minimal_yaml, envp);
	assert_int_equal(f->cfg.restapi.http_extra_headers.count, 2);
	kv = cfg_options_get(&f->cfg.restapi.http_extra_headers, "X-Frame-Options");
	assert_non_null(kv);
	assert_string_equal(kv->value, "SAMEORIGIN");
	assert_string_equal(f->cfg.restapi.http_extra_headers.items[1].value, "b");
	assert_diag(f, CFG_SEVERITY_WARNING, "log.dateformat", 0, "ignoring");
	assert_string_equal(f->diags.items[0].source, "environment variable PATRONI_LOG_DATEFMT");
}

static void test_patroni4_log_type_plain_and_json(void **state)
{
	struct fixture *f = *state;

	assert_loads(f, minimal_with(f, "", "log:\n  type: json\n"), NULL);
	assert_int_equal(f->cfg.log.format, LOG_FORMAT_JSON);
	assert_loads(f, minimal_with(f, "", "log:\n  type: plain\n"), NULL);
	assert_int_equal(f->cfg.log.format, LOG_FORMAT_TEXT);
	assert_int_equal(f->diags.count, 0);
}

static void test_both_etcd_sections_warn(void **state)
{
	struct fixture *f = *state;

	assert_loads(f, minimal_with(f, "", "etcd:\n  host: 10.0.0.9:2379\n"), NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "etcd3", 0, "both etcd and etcd3 sections");
	assert_int_equal(f->cfg.etcd3.hosts.count, 1);
	assert_string_equal(f->cfg.etcd3.hosts.items[0], "10.0.0.9:2379");
}

/* --- error paths --- */

static void test_missing_required_keys_are_each_reported(void **state)
{
	struct fixture *f = *state;

	cfg_diags_init(&f->diags);
	assert_int_equal(cfg_load(NULL, NULL, &f->cfg, &f->diags), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "name", 0, "set PATRONI_NAME");
	assert_diag(f, CFG_SEVERITY_ERROR, "scope", 0, "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.listen", 0, "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.connect_address", 0, "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.listen", 0, "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.connect_address", 0, "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.data_dir", 0, "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.authentication.superuser.username", 0,
		    "PATRONI_SUPERUSER_USERNAME");
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.authentication.replication.username", 0,
		    "is required");
	assert_diag(f, CFG_SEVERITY_ERROR, "etcd3", 0, "no etcd endpoint");
	assert_int_equal(f->diags.errors, 10);
}

static void test_missing_key_points_at_its_section(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f,
				   minimal_with(f, "  data_dir: /var/lib/postgresql/15/main\n", ""),
				   NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.data_dir", 8,
		    "set it in the file or with PATRONI_POSTGRESQL_DATA_DIR");
}

static void test_unknown_key_suggests_the_nearest_sibling(void **state)
{
	struct fixture *f = *state;
	const struct cfg_diag *d;
	char line[1024];

	assert_int_equal(
		load_yaml(f, minimal_with(f, "", "bootstrap:\n  dcs:\n    loop_wiat: 5\n"), NULL),
		-EINVAL);
	d = find_diag(&f->diags, CFG_SEVERITY_ERROR, "bootstrap.dcs.loop_wiat", 21, "did you mean");
	assert_non_null(d);
	assert_int_equal(d->column, 5);
	assert_int_equal(cfg_diag_format(d, true, line, sizeof(line)), 0);
	assert_string_equal(line, "test.yml:21:5: error: \"bootstrap.dcs.loop_wiat\": unknown key: "
				  "did you mean \"bootstrap.dcs.loop_wait\"?");
}

static void test_known_key_in_wrong_section_suggests_its_path(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "ttl: 30\n"), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "ttl", 19, "did you mean \"bootstrap.dcs.ttl\"");
}

static void test_unknown_key_far_from_any_says_remove_it(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		load_yaml(f, minimal_with(f, "", "restapi_extra_something_else: 1\n"), NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi_extra_something_else", 19,
		    "neither gsha nor Patroni knows it");
}

static void test_misspelled_section_under_postgresql_is_unknown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "  autentication:\n    x: y\n"), NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.autentication", 19,
		    "did you mean \"postgresql.authentication\"");
}

static void test_replica_method_not_listed_is_unknown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "  wal_g:\n    command: /bin/x\n"), NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.wal_g", 19,
		    "postgresql.create_replica_methods");
}

static void test_replica_method_without_command_runs_its_name(void **state)
{
	struct fixture *f = *state;
	const struct cfg_replica_method *m = &f->cfg.postgresql.replica_methods[0];

	assert_loads(f,
		     minimal_with(f, "",
				  "  create_replica_methods: [wal_g]\n  wal_g:\n"
				  "    no_leader: 1\n    keep_data: yes\n    no_params: ''\n"),
		     NULL);
	assert_string_equal(m->command, "");
	assert_true(m->no_leader);
	assert_true(m->keep_data);
	assert_false(m->no_params); /* Python's truth: an empty string is false */
	assert_int_equal(m->params.count, 3);
}

static void test_custom_methods_on_opengauss_are_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f,
				   minimal_with(f, "",
						"  engine: opengauss\n"
						"  create_replica_methods: [wal_g, basebackup]\n"
						"  wal_g:\n    command: /bin/x\n"),
				   NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.create_replica_methods", 0,
		    "PostgreSQL only");
}

/* A method section named only by standby_cluster's create_replica_methods is a method, not an
 * unknown key (Patroni looks standby_cluster's names up under postgresql too). */
static void test_standby_cluster_methods_name_postgresql_sections(void **state)
{
	struct fixture *f = *state;

	assert_loads(f,
		     minimal_with(f, "",
				  "  wal_g:\n    command: /bin/true\n"
				  "bootstrap:\n  dcs:\n    standby_cluster:\n      host: 10.0.0.5\n"
				  "      create_replica_methods: [wal_g, basebackup]\n"),
		     NULL);
	assert_int_equal(f->cfg.bootstrap.dcs.standby_cluster.create_replica_methods.count, 2);
	assert_string_equal(f->cfg.postgresql.replica_methods[0].name, "wal_g");
	assert_string_equal(f->cfg.postgresql.replica_methods[0].command, "/bin/true");
}

/* gsha's standby cluster is PostgreSQL's: openGauss refuses it rather than ignoring it. */
static void test_standby_cluster_on_opengauss_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f,
				   minimal_with(f, "",
						"  engine: opengauss\n"
						"bootstrap:\n  dcs:\n    standby_cluster:\n"
						"      host: 10.0.0.5\n"),
				   NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.dcs.standby_cluster", 0, "PostgreSQL only");
}

static void test_replica_method_no_master_is_warned(void **state)
{
	struct fixture *f = *state;

	assert_loads(f,
		     minimal_with(f, "",
				  "  create_replica_methods: [wal_g]\n  wal_g:\n"
				  "    command: /bin/x\n    no_master: 1\n"),
		     NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "postgresql.wal_g.no_master", 0, "no_leader");
	assert_false(f->cfg.postgresql.replica_methods[0].no_leader);
}

static void test_bad_port_is_an_error_at_the_value(void **state)
{
	struct fixture *f = *state;
	const struct cfg_diag *d;

	assert_int_equal(load_yaml(f, minimal_with(f, "0.0.0.0:8008", "0.0.0.0:80080"), NULL),
			 -EINVAL);
	d = find_diag(&f->diags, CFG_SEVERITY_ERROR, "restapi.listen", 4, "1 to 65535");
	assert_non_null(d);
	assert_int_equal(d->column, 11);
	assert_int_equal(f->diags.errors, 1); /* not also "is required" */
}

static void test_connect_address_without_host_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "10.0.0.1:8008", ":8008"), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.connect_address", 5, "has no host");
}

static void test_etcd_host_without_port_gets_etcd_port(void **state)
{
	struct fixture *f = *state;

	assert_loads(f, minimal_with(f, "10.0.0.2:2379", "10.0.0.2,[fe80::1]"), NULL);
	assert_string_equal(f->cfg.etcd3.hosts.items[1], "10.0.0.2:2379");
	assert_string_equal(f->cfg.etcd3.hosts.items[2], "[fe80::1]:2379");
	assert_loads(f, minimal_with(f, "10.0.0.2:2379", "10.0.0.2\n  port: 2400"), NULL);
	assert_string_equal(f->cfg.etcd3.hosts.items[1], "10.0.0.2:2400");
}

static void test_etcd_host_with_bad_port_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "10.0.0.2:2379", "10.0.0.2:x"), NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "etcd3.hosts", 7, "the port must be a number");
}

static void test_etcd_url_needs_a_scheme(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "etcd:\n  url: 10.0.0.1:2379\n"), NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "etcd3.url", 20, "http://");
}

static void test_only_another_dcs_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f,
				   minimal_with(f, "etcd3:\n  hosts: 10.0.0.1:2379,10.0.0.2:2379\n",
						"consul:\n  host: 127.0.0.1:8500\n"),
				   NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_WARNING, "consul", 6, "ignoring");
	assert_diag(f, CFG_SEVERITY_ERROR, "etcd3", 0, "etcd v3 only, not in consul");
}

static void test_timing_rule_is_an_error_at_ttl(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		load_yaml(f, minimal_with(f, "", "bootstrap:\n  dcs:\n    ttl: 25\n"), NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.dcs.ttl", 21,
		    "loop_wait + 2 x retry_timeout (10000ms + 2 x 10000ms = 30000ms) must not "
		    "exceed ttl (25000ms)");
}

/* The fast profile (docs/timing.md, issue 14): sub-second timing in every form a Patroni user
 * writes it, from the file and from the config key, ttl down to etcd's 2 s lease. */
static void test_fast_profile_sub_second_forms_accepted(void **state)
{
	static const char *const yaml[] = {
		"bootstrap:\n  dcs:\n    ttl: 2\n    loop_wait: 500ms\n    retry_timeout: 500ms\n",
		"bootstrap:\n  dcs:\n    ttl: 2\n    loop_wait: 0.5\n    retry_timeout: 0.5\n",
		"bootstrap:\n  dcs:\n    ttl: 2s\n    loop_wait: '0.5'\n    retry_timeout: 0.5s\n",
	};
	static const char *const json[] = {
		"{\"ttl\":2,\"loop_wait\":\"500ms\",\"retry_timeout\":\"500ms\"}",
		"{\"ttl\":2,\"loop_wait\":0.5,\"retry_timeout\":0.5}",
		"{\"ttl\":\"2\",\"loop_wait\":\"0.5\",\"retry_timeout\":\"0.5s\"}",
	};
	struct fixture *f = *state;
	struct cfg_dynamic d;
	char err[512];

	for (size_t i = 0; i < sizeof(yaml) / sizeof(yaml[0]); i++) {
		if (load_yaml(f, minimal_with(f, "", yaml[i]), NULL) != 0)
			fail_msg("case %zu refused: %s", i,
				 f->diags.count ? f->diags.items[0].message : "?");
		assert_int_equal(f->cfg.bootstrap.dcs.ttl_ms, 2000);
		assert_int_equal(f->cfg.bootstrap.dcs.loop_wait_ms, 500);
		assert_int_equal(f->cfg.bootstrap.dcs.retry_timeout_ms, 500);
	}
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		if (cfg_dynamic_parse(json[i], strlen(json[i]), &d, err, sizeof(err)) != 0)
			fail_msg("json case %zu refused: %s", i, err);
		assert_int_equal(d.ttl_ms, 2000);
		assert_int_equal(d.loop_wait_ms, 500);
		assert_int_equal(d.retry_timeout_ms, 500);
	}
}

/* What cannot fence in time is refused with what to change: below etcd's lease, Patroni's rule,
 * and a retry_timeout that leaves a failed keepalive no retry before the fence deadline. */
static void test_fast_profile_refuses_what_cannot_fence(void **state)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{ "{\"ttl\":1.5,\"loop_wait\":0.2,\"retry_timeout\":0.2}", "use 2 s to" },
		{ "{\"ttl\":2,\"loop_wait\":0.5,\"retry_timeout\":0.8}",
		  "raise ttl to at least 2100ms" },
		/* Patroni's rule holds (0.1 + 2 x 0.95 = 2.0) but a keepalive failing after 0.95 s
		 * cannot be retried within the 1.03 s the last one proved. */
		{ "{\"ttl\":2,\"loop_wait\":0.1,\"retry_timeout\":0.95}",
		  "lower retry_timeout to at most 940ms" },
		{ "{\"ttl\":30,\"loop_wait\":0.1,\"retry_timeout\":14.9}", "must not exceed ttl" },
	};
	struct cfg_dynamic d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		int rc = cfg_dynamic_parse(cases[i].json, strlen(cases[i].json), &d, err,
					   sizeof(err));

		if (rc != -EINVAL || strstr(err, cases[i].needle) == NULL)
			fail_msg("case %zu (%s): rc %d, err \"%s\", want \"%s\"", i, cases[i].json,
				 rc, err, cases[i].needle);
	}
}

static void test_durations_out_of_range_say_the_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		load_yaml(f,
			  minimal_with(f, "",
				       "bootstrap:\n  dcs:\n    ttl: 1s\n    loop_wait: 50ms\n"),
			  NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.dcs.ttl", 21, "out of range: use 2 s to");
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.dcs.loop_wait", 22, "use 100 ms to");
}

static void test_wrong_types_are_errors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		load_yaml(f,
			  minimal_with(f, "",
				       "tags:\n  nofailover: maybe\n  nosync: [1]\n"
				       "  failover_priority: true\n"
				       "bootstrap:\n  dcs:\n    synchronous_node_count: 0\n"
				       "    maximum_lag_on_failover: 1.5\n"
				       "  pg_hba: host all all 0/0 md5\n"
				       "watchdog: [a]\n"),
			  NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "tags.nofailover", 20, "is not a boolean");
	assert_diag(f, CFG_SEVERITY_ERROR, "tags.nosync", 21, "must be a single value, not a list");
	assert_diag(f, CFG_SEVERITY_ERROR, "tags.failover_priority", 22, "not a boolean");
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.dcs.synchronous_node_count", 25,
		    "out of range: use 1 to 1000");
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.dcs.maximum_lag_on_failover", 26,
		    "not a whole number");
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.pg_hba", 27, "must be a list");
	assert_diag(f, CFG_SEVERITY_ERROR, "watchdog", 28, "must be a mapping");
}

static void test_enum_error_lists_the_allowed_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "watchdog:\n  mode: sometimes\n"), NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "watchdog.mode", 20,
		    "\"sometimes\" is not allowed: use one of off, automatic, required");
}

static void test_watchdog_mode_off_read_as_yaml_bool(void **state)
{
	struct fixture *f = *state;

	assert_loads(f, minimal_with(f, "", "watchdog:\n  mode: off\n"), NULL);
	assert_int_equal(f->cfg.watchdog.mode, CFG_WATCHDOG_OFF);
}

static void test_bad_log_level_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "log:\n  level: LOUD\n"), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "log.level", 20, "not a log level");
}

static void test_duplicate_key_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, minimal_with(f, "", "name: again\n"), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "name", 19, "given twice");
}

static void test_yaml_syntax_error_has_a_position(void **state)
{
	struct fixture *f = *state;
	const char yaml[] = "scope: a\nrestapi:\n  listen: [1, 2\nname: b\n";
	const struct cfg_diag *d;

	assert_int_equal(load_yaml(f, yaml, NULL), -EINVAL);
	assert_int_equal(f->diags.count, 1);
	d = &f->diags.items[0];
	assert_true(d->line >= 3);
	assert_true(d->column >= 1);
	assert_non_null(strstr(d->message, "invalid YAML"));
}

static void test_yaml_alias_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, "scope: &s batman\nname: *s\n", NULL), -EINVAL);
	assert_non_null(strstr(f->diags.items[0].message, "aliases are not supported"));
	assert_int_equal(f->diags.items[0].line, 2);
}

static void test_document_that_is_not_a_mapping_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, "- a\n- b\n", NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "", 1, "must be a mapping of keys");
}

static void test_two_documents_are_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f, "scope: a\n---\nscope: b\n", NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "", 2, "more than one YAML document");
}

static void test_deep_nesting_is_refused(void **state)
{
	struct fixture *f = *state;
	char yaml[512] = "tags: ";

	for (int i = 0; i < 60; i++)
		strncat(yaml, "[", sizeof(yaml) - strlen(yaml) - 1);
	assert_int_equal(load_yaml(f, yaml, NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "", 1, "nested too deeply");
}

static void test_too_long_string_is_an_error(void **state)
{
	struct fixture *f = *state;
	char scope[300];

	/* the scope keeps its 127 bytes (issue 10 limits member names only) */
	memset(scope, 's', 127);
	scope[127] = '\0';
	assert_loads(f, minimal_with(f, "batman", scope), NULL);
	memset(scope, 's', sizeof(scope) - 1);
	scope[sizeof(scope) - 1] = '\0';
	assert_int_equal(load_yaml(f, minimal_with(f, "batman", scope), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "scope", 1, "is longer than 127 bytes");
}

/* Issue 10: one member-name limit, MEMBER_NAME_LEN (63) bytes, where it was 127 here and 63 in the
 * HA, REST and DB layers (a copy between them turned a long name into ""). The file refuses a
 * longer name at its position and says why. */
static void test_member_name_over_63_bytes_is_refused_with_the_reason(void **state)
{
	struct fixture *f = *state;
	const struct cfg_diag *d;
	char name[MEMBER_NAME_LEN + 2], line[1024];

	memset(name, 'n', MEMBER_NAME_LEN);
	name[MEMBER_NAME_LEN] = '\0';
	assert_loads(f, minimal_with(f, "node1", name), NULL);
	assert_string_equal(f->cfg.name, name);

	name[MEMBER_NAME_LEN] = 'n'; /* 64 bytes */
	name[MEMBER_NAME_LEN + 1] = '\0';
	assert_int_equal(load_yaml(f, minimal_with(f, "node1", name), NULL), -EINVAL);
	d = find_diag(&f->diags, CFG_SEVERITY_ERROR, "name", 2, "more than the 63");
	assert_non_null(d);
	assert_int_equal(d->column, 7);
	assert_int_equal(cfg_diag_format(d, true, line, sizeof(line)), 0);
	assert_string_equal(line,
			    "test.yml:2:7: error: \"name\": \"nnnnnnnnnnnnnnnnnnnn...\" is 64 "
			    "bytes long, more than the 63 a member name may have: PostgreSQL "
			    "keeps only 63 bytes of application_name and of replication slot "
			    "names, which are made from it; shorten it");

	/* tags.replicatefrom names a member too */
	assert_int_equal(load_yaml(f, minimal_with(f, "", "tags:\n  replicatefrom: "), NULL), 0);
	snprintf(f->text, sizeof(f->text), "%stags:\n  replicatefrom: %s\n", minimal_yaml, name);
	assert_int_equal(load_yaml(f, f->text, NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "tags.replicatefrom", 20, "application_name");

	/* a control character cannot be part of an application_name */
	assert_int_equal(load_yaml(f, minimal_with(f, "node1", "\"node\\t1\""), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "name", 2, "control character");
}

/* The same limit on PATRONI_NAME, reported against the variable. */
static void test_patroni_name_over_63_bytes_is_refused(void **state)
{
	struct fixture *f = *state;
	char var[sizeof("PATRONI_NAME=") + MEMBER_NAME_LEN + 1];
	char *const envp[] = { var, NULL };
	const struct cfg_diag *d;

	snprintf(var, sizeof(var), "PATRONI_NAME=");
	memset(var + strlen(var), 'e', MEMBER_NAME_LEN + 1);
	var[sizeof(var) - 1] = '\0';
	assert_int_equal(load_yaml(f, minimal_yaml, envp), -EINVAL);
	d = find_diag(&f->diags, CFG_SEVERITY_ERROR, "name", 0, "more than the 63");
	assert_non_null(d);
	assert_string_equal(d->source, "environment variable PATRONI_NAME");
	var[sizeof(var) - 2] = '\0'; /* 63 bytes */
	assert_loads(f, minimal_yaml, envp);
	assert_int_equal(strlen(f->cfg.name), MEMBER_NAME_LEN);
}

static void test_list_with_too_many_entries_is_an_error(void **state)
{
	struct fixture *f = *state;
	char extra[8192] = "  pg_hba:\n";

	for (int i = 0; i < CFG_LIST_MAX + 1; i++)
		strncat(extra, "  - local all all trust\n", sizeof(extra) - strlen(extra) - 1);
	assert_int_equal(load_yaml(f, minimal_with(f, "", extra), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "postgresql.pg_hba", 0, "more than 64 entries");
}

static void test_too_many_custom_tags_is_an_error(void **state)
{
	struct fixture *f = *state;
	char extra[4096] = "tags:\n";

	for (int i = 0; i < CFG_OPTIONS_MAX + 1; i++) {
		char l[64];

		snprintf(l, sizeof(l), "  tag%d: %d\n", i, i);
		strncat(extra, l, sizeof(extra) - strlen(extra) - 1);
	}
	assert_int_equal(load_yaml(f, minimal_with(f, "", extra), NULL), -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "tags.tag16", 36, "more than 16 entries");
}

static void test_user_with_unknown_field_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		load_yaml(
			f,
			minimal_with(f, "", "bootstrap:\n  users:\n    admin:\n      pasword: x\n"),
			NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.users.admin.pasword", 22,
		    "did you mean \"password\"");
}

static void test_initdb_entry_with_two_keys_is_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		load_yaml(f,
			  minimal_with(f, "",
				       "bootstrap:\n  initdb:\n  - {encoding: UTF8, locale: C}\n"),
			  NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "bootstrap.initdb", 21, "one option: value");
}

static void test_rest_tls_rules_are_checked(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_yaml(f,
				   minimal_with(f, "  connect_address: 10.0.0.1:8008\n",
						"  connect_address: 10.0.0.1:8008\n"
						"  verify_client: required\n  keyfile: /k\n"
						"  authentication:\n    username: admin\n"),
				   NULL),
			 -EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.verify_client", 6, "set restapi.certfile");
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.keyfile", 7, "without a certificate");
	assert_diag(f, CFG_SEVERITY_ERROR, "restapi.authentication", 8,
		    "both username and password");
}

static void test_nofailover_with_priority_warns(void **state)
{
	struct fixture *f = *state;

	assert_loads(f, minimal_with(f, "", "tags:\n  nofailover: true\n  failover_priority: 2\n"),
		     NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "tags.failover_priority", 21, "has no effect");
}

static void test_failed_load_leaves_the_output_untouched(void **state)
{
	struct fixture *f = *state;

	memset(&f->cfg, 0x5a, sizeof(f->cfg));
	assert_int_equal(load_yaml(f, minimal_with(f, "batman", "\"\"\nbad_key: 1"), NULL),
			 -EINVAL);
	assert_int_equal(((unsigned char *)&f->cfg)[0], 0x5a);
	assert_int_equal(((unsigned char *)&f->cfg)[sizeof(f->cfg) - 1], 0x5a);
}

static void test_missing_file_returns_enoent_with_a_message(void **state)
{
	struct fixture *f = *state;

	cfg_diags_init(&f->diags);
	assert_int_equal(cfg_load("/nonexistent/gsha.yml", NULL, &f->cfg, &f->diags), -ENOENT);
	assert_diag(f, CFG_SEVERITY_ERROR, "", 0, "could not open file");
	assert_string_equal(f->diags.items[0].source, "/nonexistent/gsha.yml");
}

static void test_file_on_disk_loads(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/gsha-test-cfg-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, minimal_yaml, strlen(minimal_yaml)),
			 (ssize_t)strlen(minimal_yaml));
	close(fd);
	cfg_diags_init(&f->diags);
	assert_int_equal(cfg_load(path, NULL, &f->cfg, &f->diags), 0);
	assert_string_equal(f->cfg.source, path);
	assert_string_equal(f->cfg.name, "node1");
	unlink(path);
}

static void test_engine_detected_from_gs_ctl_in_bin_dir(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/gsha-test-bin-XXXXXX";
	char prog[64], line[128];
	FILE *p;

	assert_non_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/gs_ctl", dir);
	p = fopen(prog, "w");
	assert_non_null(p);
	fputs("#!/bin/sh\n", p);
	fclose(p);
	assert_int_equal(chmod(prog, 0755), 0);
	snprintf(line, sizeof(line), "  bin_dir: %s\n", dir);
	assert_loads(f, minimal_with(f, "", line), NULL);
	assert_int_equal(f->cfg.postgresql.engine, CFG_ENGINE_OPENGAUSS);
	assert_false(f->cfg.postgresql.engine_explicit);

	/* An explicit engine wins, with a warning that bin_dir does not match. */
	snprintf(line, sizeof(line), "  bin_dir: %s\n  engine: postgresql\n", dir);
	assert_loads(f, minimal_with(f, "", line), NULL);
	assert_int_equal(f->cfg.postgresql.engine, CFG_ENGINE_POSTGRESQL);
	assert_true(f->cfg.postgresql.engine_explicit);
	assert_diag(f, CFG_SEVERITY_WARNING, "postgresql.engine", 20, "has no pg_ctl");
	unlink(prog);
	rmdir(dir);
}

static void test_diagnostics_beyond_the_limit_are_counted(void **state)
{
	struct fixture *f = *state;
	char extra[8192] = "";

	for (int i = 0; i < CFG_DIAGS_MAX + 10; i++) {
		char l[64];

		snprintf(l, sizeof(l), "unknown_%d: 1\n", i);
		strncat(extra, l, sizeof(extra) - strlen(extra) - 1);
	}
	assert_int_equal(load_yaml(f, minimal_with(f, "", extra), NULL), -EINVAL);
	assert_int_equal(f->diags.count, CFG_DIAGS_MAX);
	assert_int_equal(f->diags.errors, CFG_DIAGS_MAX + 10);
	assert_int_equal(f->diags.dropped, 10);
}

static void test_summary_masks_passwords(void **state)
{
	struct fixture *f = *state;
	struct buf b;

	assert_loads(f, full_yaml, NULL);
	buf_init(&b, 1 << 20);
	assert_int_equal(cfg_summary(&f->cfg, &b), 0);
	assert_non_null(strstr(b.data, "name = pg-a\n"));
	assert_non_null(strstr(b.data, "bootstrap.dcs.loop_wait = 500ms\n"));
	assert_non_null(
		strstr(b.data, "postgresql.authentication.superuser.password = ********\n"));
	assert_null(strstr(b.data, "zalando"));
	assert_null(strstr(b.data, "s3cret"));
	assert_non_null(strstr(b.data, "tags.dc = west\n"));
	buf_done(&b);
}

static void test_enum_names_cover_every_value(void **state)
{
	(void)state;
	assert_string_equal(cfg_engine_name(CFG_ENGINE_OPENGAUSS), "opengauss");
	assert_string_equal(cfg_verify_client_name(CFG_VERIFY_CLIENT_REQUIRED), "required");
	assert_string_equal(cfg_watchdog_mode_name(CFG_WATCHDOG_OFF), "off");
	assert_string_equal(cfg_protocol_name(CFG_PROTOCOL_HTTPS), "https");
	assert_string_equal(cfg_value_kind_name(CFG_VALUE_NONE), "none");
	assert_string_equal(cfg_engine_name((enum cfg_engine)42), "?");
}

static void test_every_table_default_parses(void **state)
{
	struct cfg *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(c);
	assert_int_equal(cfg_apply_defaults(cfg_keys, c), 0);
	assert_int_equal(cfg_apply_defaults(cfg_dynamic_keys, &c->bootstrap.dcs), 0);
	free(c);
}

static void test_every_table_row_is_well_formed(void **state)
{
	const struct cfg_key *tables[] = { cfg_keys, cfg_dynamic_keys };

	(void)state;
	for (int t = 0; t < 2; t++) {
		for (const struct cfg_key *k = tables[t]; k->path != NULL; k++) {
			const struct cfg_key *e;
			bool stored = k->type != CFG_KEY_SECTION && k->type != CFG_KEY_IGNORED &&
				      k->alias_of == NULL;

			/* Every stored key has a field; every alias and dotted key has a target. */
			if (stored && k->size == 0)
				fail_msg("%s has no field", k->path);
			if (k->type == CFG_KEY_MEMBER_NAME && k->size != MEMBER_NAME_MAX)
				fail_msg("%s holds a member name in %zu bytes", k->path, k->size);
			if (k->type == CFG_KEY_ENUM && k->names == NULL)
				fail_msg("%s has no names", k->path);
			if ((k->flags & CFG_F_REQUIRED) && (k->hint == NULL || k->env == NULL))
				fail_msg("%s is required without a hint or variable", k->path);
			for (e = k + 1; e->path != NULL; e++) {
				if (strcmp(e->path, k->path) == 0)
					fail_msg("%s is listed twice", k->path);
			}
			if (k->alias_of != NULL) {
				for (e = tables[t]; e->path && strcmp(e->path, k->alias_of); e++)
					;
				if (e->path == NULL)
					fail_msg("%s aliases unknown %s", k->path, k->alias_of);
			}
			const char *dot = strrchr(k->path, '.');

			if (dot != NULL) {
				char parent[128];

				snprintf(parent, sizeof(parent), "%.*s", (int)(dot - k->path),
					 k->path);
				for (e = tables[t]; e->path && strcmp(e->path, parent); e++)
					;
				if (e->path == NULL || e->type != CFG_KEY_SECTION)
					fail_msg("%s has no section %s", k->path, parent);
			}
		}
	}
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(cfg_edit_distance("loop_wait", "loop_wait"), 0);
	assert_int_equal(cfg_edit_distance("loop_wiat", "loop_wait"), 2);
	assert_int_equal(cfg_edit_distance("", "ttl"), 3);
	assert_int_equal(cfg_edit_distance("ttl", "tll"), 1);
}

/* --- dynamic configuration JSON --- */

/* What Patroni 3.0.2 wrote into /service/batman/config for postgres0.yml. */
static const char patroni_config_key[] =
	"{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,"
	"\"postgresql\":{\"use_pg_rewind\":true,\"parameters\":{\"max_connections\":100,"
	"\"wal_level\":\"replica\",\"hot_standby\":\"on\"}},\"master_start_timeout\":120,"
	"\"standby_cluster\":null,\"something_new\":{\"x\":1}}";

static void test_dynamic_parses_patroni_config_key(void **state)
{
	struct cfg_dynamic d;
	char err[256] = "";

	(void)state;
	assert_int_equal(cfg_dynamic_parse(patroni_config_key, strlen(patroni_config_key), &d, err,
					   sizeof(err)),
			 0);
	assert_int_equal(d.ttl_ms, 30000);
	assert_int_equal(d.loop_wait_ms, 10000);
	assert_int_equal(d.maximum_lag_on_failover_bytes, 1048576);
	assert_int_equal(d.primary_start_timeout_ms, 120000);
	assert_true(d.postgresql.use_pg_rewind);
	assert_true(d.postgresql.use_slots);
	assert_int_equal(d.postgresql.parameters.count, 3);
	assert_string_equal(cfg_params_get(&d.postgresql.parameters, "max_connections")->value,
			    "100");
	assert_false(d.pause);
}

static void test_dynamic_hostile_inputs_are_clear_errors(void **state)
{
	static const struct {
		const char *json;
		const char *needle;
	} cases[] = {
		{ "", "invalid JSON" },
		{ "{\"ttl\":", "invalid JSON" },
		{ "[1,2]", "must be a JSON object" },
		{ "\"text\"", "must be a JSON object" },
		{ "{\"ttl\":\"soon\"}", "\"ttl\": \"soon\" is not a duration" },
		{ "{\"ttl\":true}", "\"ttl\": must be a duration" },
		{ "{\"ttl\":1e300}", "\"ttl\":" },
		{ "{\"loop_wait\":-5}", "\"loop_wait\":" },
		{ "{\"postgresql\":[]}", "\"postgresql\": must be a mapping" },
		{ "{\"postgresql\":{\"parameters\":{\"a\":{\"b\":1}}}}", "must be a single value" },
		{ "{\"synchronous_mode\":\"quorm\"}", "use one of off, on, quorum" },
		{ "{\"ttl\":10,\"loop_wait\":10,\"retry_timeout\":10}", "must not exceed ttl" },
		{ "{\"maximum_lag_on_failover\":null,\"ttl\":{}}",
		  "\"ttl\": must be a single value" },
	};
	struct cfg_dynamic d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		int rc = cfg_dynamic_parse(cases[i].json, strlen(cases[i].json), &d, err,
					   sizeof(err));

		if (rc != -EINVAL || strstr(err, cases[i].needle) == NULL)
			fail_msg("case %zu (%s): rc %d, err \"%s\", want \"%s\"", i, cases[i].json,
				 rc, err, cases[i].needle);
	}
}

static void test_dynamic_synchronous_mode_takes_booleans_and_quorum(void **state)
{
	static const struct {
		const char *json;
		enum cfg_sync_mode want;
	} cases[] = {
		{ "{\"synchronous_mode\":true}", CFG_SYNC_ON },
		{ "{\"synchronous_mode\":false}", CFG_SYNC_OFF },
		{ "{\"synchronous_mode\":\"on\"}", CFG_SYNC_ON },
		{ "{\"synchronous_mode\":\"true\"}", CFG_SYNC_ON },
		{ "{\"synchronous_mode\":\"off\"}", CFG_SYNC_OFF },
		{ "{\"synchronous_mode\":\"quorum\"}", CFG_SYNC_QUORUM },
		{ "{\"synchronous_mode\":\"Quorum\"}", CFG_SYNC_QUORUM },
	};
	struct cfg_dynamic d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";

		if (cfg_dynamic_parse(cases[i].json, strlen(cases[i].json), &d, err, sizeof(err)) !=
			    0 ||
		    d.synchronous_mode != cases[i].want)
			fail_msg("case %zu (%s): err \"%s\", mode %d", i, cases[i].json, err,
				 (int)d.synchronous_mode);
	}
}

/* A value gsha cannot use keeps the value in effect; every other key still applies. */
static void test_dynamic_lenient_bad_value_keeps_the_rest(void **state)
{
	const char json[] = "{\"synchronous_mode\":\"sometimes\",\"synchronous_node_count\":2,"
			    "\"loop_wait\":2,\"ttl\":\"soon\",\"maximum_lag_on_failover\":7,"
			    "\"postgresql\":{\"parameters\":{\"max_connections\":{\"x\":1},"
			    "\"work_mem\":\"8MB\"}}}";
	struct cfg_dynamic prev, d;
	char bad[1024];

	(void)state;
	cfg_dynamic_defaults(&prev);
	prev.synchronous_mode = CFG_SYNC_ON;
	prev.ttl_ms = 40000;
	assert_int_equal(cfg_dynamic_parse_lenient(json, strlen(json), &prev, &d, bad, sizeof(bad)),
			 0);
	assert_int_equal(d.synchronous_mode, CFG_SYNC_ON); /* kept */
	assert_int_equal(d.ttl_ms, 40000);		   /* kept */
	assert_int_equal(d.synchronous_node_count, 2);	   /* applied */
	assert_int_equal(d.loop_wait_ms, 2000);
	assert_int_equal(d.maximum_lag_on_failover_bytes, 7);
	assert_null(cfg_params_get(&d.postgresql.parameters, "max_connections"));
	assert_non_null(cfg_params_get(&d.postgresql.parameters, "work_mem"));
	assert_non_null(strstr(bad, "\"synchronous_mode\": \"sometimes\" is not allowed"));
	assert_non_null(strstr(bad, "\"ttl\""));
	assert_non_null(strstr(bad, "postgresql.parameters.max_connections"));
}

static void test_dynamic_lenient_broken_timing_rule_keeps_all_three(void **state)
{
	const char json[] = "{\"ttl\":10,\"loop_wait\":10,\"retry_timeout\":10,\"pause\":true}";
	struct cfg_dynamic prev, d;
	char bad[1024];

	(void)state;
	cfg_dynamic_defaults(&prev);
	assert_int_equal(cfg_dynamic_parse_lenient(json, strlen(json), &prev, &d, bad, sizeof(bad)),
			 0);
	assert_int_equal(d.ttl_ms, prev.ttl_ms);
	assert_int_equal(d.loop_wait_ms, prev.loop_wait_ms);
	assert_int_equal(d.retry_timeout_ms, prev.retry_timeout_ms);
	assert_true(d.pause);
	assert_non_null(strstr(bad, "must not exceed ttl"));
}

static void test_dynamic_lenient_valid_document_reports_nothing(void **state)
{
	const char json[] = "{\"synchronous_mode\":\"quorum\",\"ttl\":40}";
	struct cfg_dynamic prev, d;
	char bad[1024] = "x";

	(void)state;
	cfg_dynamic_defaults(&prev);
	assert_int_equal(cfg_dynamic_parse_lenient(json, strlen(json), &prev, &d, bad, sizeof(bad)),
			 0);
	assert_string_equal(bad, "");
	assert_int_equal(d.synchronous_mode, CFG_SYNC_QUORUM);
	assert_int_equal(cfg_dynamic_parse_lenient("[1]", 3, &prev, &d, bad, sizeof(bad)), -EINVAL);
	assert_non_null(strstr(bad, "JSON object"));
}

static void test_dynamic_deep_nesting_is_refused(void **state)
{
	char json[4096];
	size_t n = 0;
	struct cfg_dynamic d;
	char err[256] = "";

	(void)state;
	for (int i = 0; i < 500; i++)
		json[n++] = '[';
	for (int i = 0; i < 500; i++)
		json[n++] = ']';
	json[n] = '\0';
	assert_int_equal(cfg_dynamic_parse(json, n, &d, err, sizeof(err)), -EINVAL);
	n = (size_t)snprintf(json, sizeof(json), "{\"a\":");
	for (int i = 0; i < 100; i++)
		json[n++] = '[';
	for (int i = 0; i < 100; i++)
		json[n++] = ']';
	json[n++] = '}';
	json[n] = '\0';
	assert_int_equal(cfg_dynamic_parse(json, n, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nested too deeply"));
}

static void test_dynamic_render_round_trips(void **state)
{
	struct cfg_dynamic d, back;
	struct buf b;
	char err[256] = "";

	(void)state;
	cfg_dynamic_defaults(&d);
	d.ttl_ms = 5000;
	d.loop_wait_ms = 500;
	d.retry_timeout_ms = 1000;
	d.pause = true;
	d.synchronous_mode = CFG_SYNC_QUORUM;
	d.postgresql.parameters.count = 2;
	snprintf(d.postgresql.parameters.items[0].name, CFG_KEY_MAX, "max_connections");
	snprintf(d.postgresql.parameters.items[0].value, CFG_VALUE_MAX, "100");
	d.postgresql.parameters.items[0].kind = CFG_VALUE_NUMBER;
	snprintf(d.postgresql.parameters.items[1].name, CFG_KEY_MAX, "wal_log_hints");
	snprintf(d.postgresql.parameters.items[1].value, CFG_VALUE_MAX, "on");
	d.postgresql.parameters.items[1].kind = CFG_VALUE_BOOL;
	buf_init(&b, 65536);
	assert_int_equal(cfg_dynamic_render(&d, &b), 0);
	assert_non_null(strstr(b.data, "\"ttl\":5,\"loop_wait\":0.5,\"retry_timeout\":1,"));
	assert_non_null(strstr(b.data, "\"pause\":true"));
	assert_non_null(strstr(b.data, "\"synchronous_mode\":\"quorum\""));
	assert_non_null(strstr(b.data, "\"parameters\":{\"max_connections\":100,"
				       "\"wal_log_hints\":true}"));
	assert_int_equal(cfg_dynamic_parse(b.data, b.len, &back, err, sizeof(err)), 0);
	assert_int_equal(back.ttl_ms, 5000);
	assert_int_equal(back.loop_wait_ms, 500);
	assert_true(back.pause);
	assert_int_equal(back.synchronous_mode, CFG_SYNC_QUORUM);
	assert_int_equal(back.postgresql.parameters.count, 2);
	buf_done(&b);
}

static void test_merge_patch_null_deletes_and_objects_merge(void **state)
{
	const char doc[] = "{\"ttl\":30,\"pause\":true,\"postgresql\":{\"use_pg_rewind\":true,"
			   "\"parameters\":{\"max_connections\":100,\"work_mem\":\"4MB\"}},"
			   "\"custom\":\"kept\"}";
	const char patch[] = "{\"pause\":null,\"loop_wait\":5,\"postgresql\":{\"parameters\":"
			     "{\"work_mem\":null,\"shared_buffers\":\"1GB\"}}}";
	struct cfg_dynamic d;
	struct buf out;
	char err[256] = "";

	(void)state;
	buf_init(&out, 65536);
	assert_int_equal(cfg_dynamic_merge_patch(doc, strlen(doc), patch, strlen(patch), &out, &d,
						 err, sizeof(err)),
			 0);
	assert_string_equal(
		out.data,
		"{\"ttl\":30,\"postgresql\":{\"use_pg_rewind\":true,\"parameters\":{"
		"\"max_connections\":100,\"shared_buffers\":\"1GB\"}},\"custom\":\"kept\","
		"\"loop_wait\":5}");
	assert_false(d.pause);
	assert_int_equal(d.loop_wait_ms, 5000);
	assert_int_equal(d.postgresql.parameters.count, 2);
	assert_null(cfg_params_get(&d.postgresql.parameters, "work_mem"));
	buf_done(&out);
}

/* Issue 10: the merge is Patroni's patch_config (json_merge.h), no longer RFC 7386. A patch that
 * introduces a subtree keeps the nulls inside it, as Patroni stores them; before, they were
 * dropped. A null for a key that already exists still deletes it. */
static void test_merge_patch_new_subtree_keeps_nulls_as_patroni(void **state)
{
	const char patch[] = "{\"x\":{\"a\":null,\"b\":1},\"postgresql\":{\"parameters\":"
			     "{\"work_mem\":null,\"wal_level\":\"logical\"}}}";
	struct cfg_dynamic d;
	struct buf out;
	char err[256] = "";

	(void)state;
	buf_init(&out, 65536);
	assert_int_equal(cfg_dynamic_merge_patch("{\"ttl\":30}", strlen("{\"ttl\":30}"), patch,
						 strlen(patch), &out, &d, err, sizeof(err)),
			 0);
	assert_string_equal(out.data, "{\"ttl\":30,\"x\":{\"a\":null,\"b\":1},\"postgresql\":{"
				      "\"parameters\":{\"work_mem\":null,\"wal_level\":"
				      "\"logical\"}}}");
	/* the kept null is no parameter: it reads as unset */
	assert_int_equal(d.postgresql.parameters.count, 1);
	assert_null(cfg_params_get(&d.postgresql.parameters, "work_mem"));
	buf_done(&out);
}

static void test_merge_patch_rejects_bad_patches_and_results(void **state)
{
	const char doc[] = "{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10}";
	static const struct {
		const char *patch;
		const char *needle;
	} cases[] = {
		{ "{}", "non-empty JSON object" },
		{ "[1]", "non-empty JSON object" },
		{ "{\"ttl\":", "invalid JSON" },
		{ "{\"ttl\":20}", "must not exceed ttl" },
		{ "{\"loop_wait\":\"fast\"}", "not a duration" },
	};
	struct buf out;
	struct cfg_dynamic d;

	(void)state;
	buf_init(&out, 65536);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		int rc =
			cfg_dynamic_merge_patch(doc, strlen(doc), cases[i].patch,
						strlen(cases[i].patch), &out, &d, err, sizeof(err));

		if (rc != -EINVAL || strstr(err, cases[i].needle) == NULL)
			fail_msg("case %zu: rc %d err \"%s\"", i, rc, err);
		assert_int_equal(out.len, 0);
	}
	/* A broken stored document is an error too, never a crash. */
	char err[256] = "";

	assert_int_equal(cfg_dynamic_merge_patch("{oops", 5, "{\"pause\":true}", 14, &out, NULL,
						 err, sizeof(err)),
			 -EINVAL);
	buf_done(&out);
}

static void test_merge_patch_output_limit_is_reported(void **state)
{
	const char doc[] = "{\"ttl\":30}";
	const char patch[] = "{\"pause\":true}";
	struct buf out;
	char err[64] = "";

	(void)state;
	buf_init(&out, 8);
	assert_int_equal(cfg_dynamic_merge_patch(doc, strlen(doc), patch, strlen(patch), &out, NULL,
						 err, sizeof(err)),
			 -ENOBUFS);
	buf_done(&out);
}

/* A bad value already stored does not block a patch that leaves it alone; one the patch sets
 * does. */
static void test_merge_patch_stored_bad_value_does_not_block_other_keys(void **state)
{
	const char doc[] = "{\"ttl\":30,\"synchronous_mode\":\"sometimes\"}";
	struct cfg_dynamic d;
	struct buf out;
	char err[256] = "";

	(void)state;
	buf_init(&out, 65536);
	assert_int_equal(cfg_dynamic_merge_patch(doc, strlen(doc), "{\"pause\":true}", 14, &out, &d,
						 err, sizeof(err)),
			 0);
	assert_non_null(strstr(out.data, "\"synchronous_mode\":\"sometimes\""));
	assert_true(d.pause);
	assert_int_equal(d.synchronous_mode, CFG_SYNC_OFF);
	buf_done(&out);
	buf_init(&out, 65536);
	assert_int_equal(cfg_dynamic_merge_patch(doc, strlen(doc),
						 "{\"synchronous_mode\":\"often\"}",
						 strlen("{\"synchronous_mode\":\"often\"}"), &out,
						 NULL, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "\"synchronous_mode\": \"often\" is not allowed"));
	buf_done(&out);
}

/* slots and ignore_slots as Patroni reads them: a bad entry is skipped, never voids the rest;
 * the type of a permanent slot follows from database and plugin when not given. */
static void test_dynamic_slots_and_ignore_slots(void **state)
{
	static const char json[] =
		"{\"ttl\":30,\"member_slots_ttl\":\"10min\","
		"\"slots\":{\"keep_wal\":null,\"cdc\":{\"database\":\"app\",\"plugin\":"
		"\"pgoutput\"},"
		"\"Bad-Name\":{\"type\":\"physical\"},\"half\":{\"type\":\"logical\"},"
		"\"odd\":{\"type\":\"other\"},\"phys\":{\"type\":\"physical\"}},"
		"\"ignore_slots\":[{\"name\":\"barman\"},{\"type\":\"logical\",\"plugin\":"
		"\"wal2json\"},"
		"\"junk\"],\"loop_wait\":3}";
	struct cfg_dynamic d;
	struct buf out;
	char err[256];

	(void)state;
	assert_int_equal(cfg_dynamic_parse(json, strlen(json), &d, err, sizeof(err)), 0);
	assert_int_equal(d.loop_wait_ms, 3000);
	assert_int_equal(d.member_slots_ttl_ms, 600000);
	assert_int_equal(d.slots.count, 3);
	assert_string_equal(d.slots.items[0].name, "keep_wal");
	assert_string_equal(d.slots.items[0].type, "physical");
	assert_string_equal(d.slots.items[1].name, "cdc");
	assert_string_equal(d.slots.items[1].type, "logical");
	assert_string_equal(d.slots.items[1].plugin, "pgoutput");
	assert_string_equal(d.slots.items[2].name, "phys");
	assert_int_equal(d.slots.skipped, 3);
	assert_non_null(strstr(d.slots.skipped_why, "Bad-Name"));
	assert_int_equal(d.ignore_slots.count, 2);
	assert_int_equal(d.ignore_slots.skipped, 1);
	assert_string_equal(d.ignore_slots.items[0].name, "barman");
	assert_string_equal(d.ignore_slots.items[1].type, "logical");
	assert_string_equal(d.ignore_slots.items[1].name, "");
	/* Written back into the config key as Patroni spells them. */
	buf_init(&out, 65536);
	assert_int_equal(cfg_dynamic_render(&d, &out), 0);
	assert_non_null(strstr(out.data, "\"member_slots_ttl\":600"));
	assert_non_null(strstr(out.data, "\"cdc\":{\"type\":\"logical\",\"database\":\"app\""));
	assert_non_null(strstr(out.data, "\"ignore_slots\":[{\"name\":\"barman\"}"));
	buf_done(&out);
	cfg_dynamic_defaults(&d);
	assert_int_equal(d.member_slots_ttl_ms, 1800000);
}

/* standby_cluster (issue 13) as Patroni reads it: in effect with a host, port or restore_command,
 * written back with the keys that are set, and removed by a PATCH setting it to null. */
static void test_dynamic_standby_cluster(void **state)
{
	static const char json[] =
		"{\"standby_cluster\":{\"host\":\"10.0.0.5\",\"port\":5433,"
		"\"primary_slot_name\":\"standby_a\",\"restore_command\":\"cp /a/%f %p\","
		"\"recovery_min_apply_delay\":\"5min\",\"create_replica_methods\":[\"basebackup\"]}"
		"}";
	static const char patch[] = "{\"standby_cluster\":null}";
	static const char empty[] = "{\"standby_cluster\":{\"primary_slot_name\":\"x\"}}";
	struct cfg_dynamic d;
	struct buf out, merged;
	char err[256];

	(void)state;
	assert_int_equal(cfg_dynamic_parse(json, strlen(json), &d, err, sizeof(err)), 0);
	assert_true(cfg_standby_cluster(&d));
	assert_string_equal(d.standby_cluster.host, "10.0.0.5");
	assert_int_equal(d.standby_cluster.port, 5433);
	assert_string_equal(d.standby_cluster.primary_slot_name, "standby_a");
	assert_string_equal(d.standby_cluster.restore_command, "cp /a/%f %p");
	assert_string_equal(d.standby_cluster.recovery_min_apply_delay, "5min");
	assert_int_equal(d.standby_cluster.create_replica_methods.count, 1);
	buf_init(&out, 65536);
	assert_int_equal(cfg_dynamic_render(&d, &out), 0);
	assert_non_null(strstr(out.data, "\"standby_cluster\":{\"host\":\"10.0.0.5\""));
	assert_non_null(strstr(out.data, "\"port\":5433"));
	assert_non_null(strstr(out.data, "\"create_replica_methods\":[\"basebackup\"]"));
	/* promote-cluster: the key set to null is gone, and so is the standby cluster */
	buf_init(&merged, 65536);
	assert_int_equal(cfg_dynamic_merge_patch(out.data, out.len, patch, strlen(patch), &merged,
						 &d, err, sizeof(err)),
			 0);
	assert_false(cfg_standby_cluster(&d));
	assert_null(strstr(merged.data, "standby_cluster"));
	buf_done(&merged);
	buf_done(&out);
	/* a slot name alone does not make a standby cluster (Patroni's is_standby_cluster) */
	assert_int_equal(cfg_dynamic_parse(empty, strlen(empty), &d, err, sizeof(err)), 0);
	assert_false(cfg_standby_cluster(&d));
}

static void test_dynamic_check_accepts_fast_settings(void **state)
{
	struct cfg_dynamic d;
	char err[256];

	(void)state;
	cfg_dynamic_defaults(&d);
	d.ttl_ms = 5000;
	d.loop_wait_ms = 1000;
	d.retry_timeout_ms = 1000;
	assert_int_equal(cfg_dynamic_check(&d, err, sizeof(err)), 0);
	d.loop_wait_ms = 3001;
	assert_int_equal(cfg_dynamic_check(&d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "raise ttl to at least 5001ms"));
}

/* --- the guard: no key is accepted in silence --- */

/* Keys gsha acts on, each with where it is exercised. Every other key of the tables must warn
 * (or be refused) when set to something other than its default; the guard below checks it. */
static const struct {
	const char *path;
	const char *where;
} implemented_keys[] = {
	{ "name", "member key and REST (integration.ha_cluster, dcs_patronictl)" },
	{ "scope", "etcd prefix (integration.ha_cluster, dcs_patronictl)" },
	{ "namespace", "etcd prefix (integration.dcs_patronictl)" },
	{ "log.level", "log_setup (integration.ha_cluster via lib/cluster.sh)" },
	{ "log.format", "text/json and the list form: test_log_json_layout_from_the_file" },
	{ "log.type", "same field as log.format (integration.rest-endpoints)" },
	{ "log.static_fields", "test_log_json_layout_from_the_file" },
	{ "postgresql.callbacks.on_start", "integration.ha_callbacks, unit.callbacks" },
	{ "postgresql.callbacks.on_stop", "run.c shutdown (integration.ha_callbacks)" },
	{ "postgresql.callbacks.on_restart", "POST /restart (integration.ha_callbacks)" },
	{ "postgresql.callbacks.on_reload", "SIGHUP and POST /reload (integration.ha_callbacks)" },
	{ "postgresql.callbacks.on_role_change", "integration.ha_callbacks, unit.callbacks" },
	{ "postgresql.pre_promote", "act.c before db_promote (integration.ha_callbacks)" },
	{ "postgresql.create_replica_methods",
	  "db_begin_create_replica_with (integration.ha_replica_methods, unit.db_method)" },
	{ "postgresql.recovery_conf",
	  "replica postgresql.conf (integration.ha_replica_methods, unit.db_postgres)" },
	{ "bootstrap.post_bootstrap", "bootstrap task (integration.ha_bootstrap_pitr)" },
	{ "log.dir", "test_log_dir_rotates_as_patroni" },
	{ "log.file_size", "test_log_dir_rotates_as_patroni" },
	{ "log.file_num", "test_log_dir_rotates_as_patroni" },
	{ "postgresql.before_stop", "demote and shutdown (integration.ha_callbacks)" },
	{ "restapi.listen", "REST server (integration.ha_cluster)" },
	{ "restapi.connect_address", "member key api_url (integration.ha_failsafe_tls)" },
	{ "restapi.authentication.username", "Basic auth (integration.gsctl, ha_failsafe_tls)" },
	{ "restapi.authentication.password", "Basic auth (integration.gsctl, dcs_auth)" },
	{ "restapi.certfile", "HTTPS (integration.rest-tls, ha_failsafe_tls)" },
	{ "restapi.keyfile", "HTTPS (integration.rest-tls, ha_failsafe_tls)" },
	{ "restapi.keyfile_password", "HTTPS key (rest server options, agent_opts.c)" },
	{ "restapi.cafile", "client certificates (integration.rest-tls)" },
	{ "restapi.verify_client", "client certificates (integration.rest-tls)" },
	{ "restapi.allowlist", "access check (unit.rest_render)" },
	{ "restapi.allowlist_include_members", "access check (unit.rest_render)" },
	{ "restapi.http_extra_headers", "response headers (unit.rest_render)" },
	{ "restapi.https_extra_headers", "response headers (unit.rest_render)" },
	{ "ctl.authentication.username", "gsctl and member calls (integration.gsctl)" },
	{ "ctl.authentication.password", "gsctl and member calls (integration.gsctl)" },
	{ "ctl.insecure", "cfg_member_auth (unit.cfg member auth tests)" },
	{ "ctl.cacert", "cfg_member_auth (integration.ha_failsafe_tls)" },
	{ "ctl.certfile", "cfg_member_auth (integration.ha_failsafe_tls)" },
	{ "ctl.keyfile", "cfg_member_auth (integration.ha_failsafe_tls)" },
	{ "ctl.keyfile_password", "cfg_member_auth (rest client options)" },
	{ "etcd3.hosts", "etcd endpoints (integration.ha_cluster)" },
	{ "etcd3.host", "etcd endpoints (integration.validate_config)" },
	{ "etcd3.port", "etcd endpoints (unit.cfg)" },
	{ "etcd3.protocol", "etcd endpoints (integration.dcs_tls)" },
	{ "etcd3.url", "etcd endpoints (integration.ha_fencing)" },
	{ "etcd3.username", "etcd auth (integration.dcs_auth)" },
	{ "etcd3.password", "etcd auth (integration.dcs_auth)" },
	{ "etcd3.cacert", "etcd TLS (integration.dcs_tls)" },
	{ "etcd3.cert", "etcd TLS (integration.dcs_tls)" },
	{ "etcd3.key", "etcd TLS (integration.dcs_tls)" },
	{ "bootstrap.initdb", "initdb options (integration.ha_cluster via lib/cluster.sh)" },
	{ "bootstrap.pg_hba", "pg_hba.conf (integration.ha_cluster via lib/cluster.sh)" },
	{ "postgresql.engine", "driver choice (integration.ha_opengauss)" },
	{ "postgresql.listen", "postgresql.conf (integration.ha_cluster)" },
	{ "postgresql.connect_address", "member key conn_url (integration.ha_cluster)" },
	{ "postgresql.data_dir", "db driver (integration.ha_cluster)" },
	{ "postgresql.config_dir", "db driver options (agent_opts.c)" },
	{ "postgresql.bin_dir", "db driver (integration.ha_opengauss)" },
	{ "postgresql.pgpass", "db driver (integration.ha_cluster)" },
	{ "postgresql.authentication.superuser.username", "db driver (integration.ha_cluster)" },
	{ "postgresql.authentication.superuser.password", "db driver (integration.ha_cluster)" },
	{ "postgresql.authentication.replication.username",
	  "replication (integration.ha_cluster)" },
	{ "postgresql.authentication.replication.password",
	  "replication (integration.ha_cluster)" },
	{ "postgresql.authentication.rewind.username", "pg_rewind user (db_postgres_task.c)" },
	{ "postgresql.authentication.rewind.password", "pg_rewind user (db_postgres_task.c)" },
	{ "postgresql.parameters", "postgresql.conf (integration.db_postgres)" },
	{ "postgresql.pg_hba", "pg_hba.conf (agent_db_options)" },
	{ "postgresql.basebackup", "pg_basebackup options (db drivers)" },
	{ "postgresql.pg_ctl_timeout", "pg_ctl waits (agent_opts.c)" },
	{ "postgresql.use_pg_rewind", "rewind (integration.ha_cluster via lib/cluster.sh)" },
	{ "postgresql.remove_data_directory_on_rewind_failure", "rewind failure (db drivers)" },
	{ "postgresql.remove_data_directory_on_diverged_timelines", "rewind (db drivers)" },
	{ "tags.nofailover", "leader race (integration.ha_tags_pause)" },
	{ "tags.noloadbalance", "/replica health check (integration.ha_tags_pause)" },
	{ "tags.clonefrom", "clone source (integration.ha_tags_pause)" },
	{ "tags.nosync", "synchronous standby choice (unit.ha_decide)" },
	{ "tags.nostream", "no primary_conninfo (unit.ha_decide, integration.ha_cascade)" },
	{ "tags.replicatefrom", "upstream choice (unit.ha_decide, integration.ha_cascade)" },
	{ "tags.failover_priority", "leader race (unit.ha_decide, integration.gsctl)" },
	{ "tags.sync_priority",
	  "synchronous standby choice (test_decide_sync_priority_wins_over_position)" },
	{ "watchdog.mode", "src/agent/watchdog.c; integration.watchdog" },
	{ "watchdog.device", "src/agent/watchdog.c watchdog_open; integration.watchdog" },
	{ "watchdog.safety_margin",
	  "test_watchdog_timing_that_cannot_hold_is_refused_or_warned; unit.watchdog" },
	{ "bootstrap.dcs.ttl", "leader lease (integration.ha_cluster)" },
	{ "bootstrap.dcs.loop_wait", "HA loop (integration.ha_cluster)" },
	{ "bootstrap.dcs.retry_timeout",
	  "etcd and database retries (integration.ha_failsafe_tls)" },
	{ "bootstrap.dcs.maximum_lag_on_failover", "leader race (unit.ha_decide)" },
	{ "bootstrap.dcs.primary_start_timeout", "crashed primary (unit.ha_decide)" },
	{ "bootstrap.dcs.synchronous_mode", "synchronous replication (integration.ha_sync)" },
	{ "bootstrap.dcs.synchronous_mode_strict",
	  "synchronous replication (integration.ha_sync)" },
	{ "bootstrap.dcs.synchronous_node_count",
	  "synchronous replication (unit.ha_decide, integration.ha_sync_count)" },
	{ "bootstrap.dcs.maximum_lag_on_syncnode",
	  "synchronous standby choice (test_decide_sync_lagging_standby_is_not_chosen)" },
	{ "bootstrap.dcs.failsafe_mode", "failsafe (integration.ha_failsafe_tls)" },
	{ "bootstrap.dcs.check_timeline", "leader race (unit.ha_decide)" },
	{ "bootstrap.dcs.max_timelines_history",
	  "the history key keeps the newest rows (unit.dcs "
	  "test_history_doc_appends_a_row_to_what_was_read)" },
	{ "bootstrap.dcs.slots", "permanent slots (unit.agent, integration.ha_slots)" },
	{ "bootstrap.dcs.standby_cluster.host",
	  "standby leader's upstream (integration.ha_standby_cluster)" },
	{ "bootstrap.dcs.standby_cluster.port",
	  "standby leader's upstream (integration.ha_standby_cluster)" },
	{ "bootstrap.dcs.standby_cluster.primary_slot_name",
	  "standby leader's slot (integration.ha_standby_cluster)" },
	{ "bootstrap.dcs.standby_cluster.restore_command",
	  "standby leader's recovery settings (unit.db_postgres: standby leader conf)" },
	{ "bootstrap.dcs.standby_cluster.archive_cleanup_command",
	  "standby leader's recovery settings (unit.db_postgres: standby leader conf)" },
	{ "bootstrap.dcs.standby_cluster.recovery_min_apply_delay",
	  "standby leader's recovery settings (unit.db_postgres: standby leader conf)" },
	{ "bootstrap.dcs.standby_cluster.create_replica_methods",
	  "standby cluster bootstrap (integration.ha_standby_cluster)" },
	{ "bootstrap.dcs.ignore_slots", "slots never dropped (unit.agent, integration.ha_slots)" },
	{ "bootstrap.dcs.member_slots_ttl",
	  "retained member slots (unit.agent, integration.ha_slots)" },
	{ "bootstrap.dcs.pause", "maintenance mode (integration.ha_tags_pause)" },
	{ "bootstrap.dcs.postgresql.use_pg_rewind", "rewind (integration.ha_cluster)" },
	{ "bootstrap.dcs.postgresql.use_slots", "replication slots (integration.ha_cluster)" },
	{ "bootstrap.dcs.postgresql.parameters", "postgresql.conf (integration.db_postgres)" },
	{ "bootstrap.dcs.postgresql.pg_hba", "pg_hba.conf (integration.ha_cluster)" },
};

static const char *implemented_where(const char *path)
{
	for (size_t i = 0; i < sizeof(implemented_keys) / sizeof(implemented_keys[0]); i++) {
		if (strcmp(implemented_keys[i].path, path) == 0)
			return implemented_keys[i].where;
	}
	return NULL;
}

/* A value of k's type that differs from its default, as YAML text. */
static void non_default_value(const struct cfg_key *k, char *out, size_t cap)
{
	switch (k->type) {
	case CFG_KEY_BOOL:
		snprintf(out, cap, "%s", k->def && strcmp(k->def, "true") == 0 ? "false" : "true");
		return;
	case CFG_KEY_INT:
	case CFG_KEY_INT64: {
		long long v = (long long)k->min;

		if (k->def != NULL && strtoll(k->def, NULL, 10) == v)
			v++;
		snprintf(out, cap, "%lld", v);
		return;
	}
	case CFG_KEY_DURATION: {
		long long ms = (long long)k->min;

		if (k->def != NULL && strtoll(k->def, NULL, 10) * 1000 == ms)
			ms += 1000;
		if (ms < 0)
			ms = 1000;
		snprintf(out, cap, "%lldms", ms);
		return;
	}
	case CFG_KEY_ENUM:
		snprintf(out, cap, "%s",
			 k->def && strcmp(k->def, k->names[0]) == 0 ? k->names[1] : k->names[0]);
		return;
	case CFG_KEY_ADDRESS:
	case CFG_KEY_LISTEN:
		snprintf(out, cap, "127.0.0.1:1");
		return;
	case CFG_KEY_LIST:
	case CFG_KEY_OPTIONS:
		snprintf(out, cap, "[x]");
		return;
	case CFG_KEY_PARAMS:
		snprintf(out, cap, "{a: b}");
		return;
	case CFG_KEY_USERS:
		snprintf(out, cap, "{u: {password: p}}");
		return;
	case CFG_KEY_SLOTS:
		snprintf(out, cap, "{s1: {type: physical}}");
		return;
	case CFG_KEY_IGNORE_SLOTS:
		snprintf(out, cap, "[{name: s1}]");
		return;
	default:
		snprintf(out, cap, "x");
		return;
	}
}

/* The minimal configuration as dotted paths, to which the guard adds one key. */
static const char *const minimal_pairs[][2] = {
	{ "scope", "batman" },
	{ "name", "node1" },
	{ "restapi.listen", "0.0.0.0:8008" },
	{ "restapi.connect_address", "10.0.0.1:8008" },
	{ "etcd3.hosts", "10.0.0.1:2379" },
	{ "postgresql.listen", "0.0.0.0:5432" },
	{ "postgresql.connect_address", "10.0.0.1:5432" },
	{ "postgresql.data_dir", "/var/lib/postgresql/15/main" },
	{ "postgresql.authentication.superuser.username", "postgres" },
	{ "postgresql.authentication.replication.username", "replicator" },
};

/* Writes the pairs as nested YAML; paths sharing a prefix must be adjacent and in order. */
static void pairs_to_yaml(const char *const (*pairs)[2], int n, char *out, size_t cap)
{
	size_t len = 0;
	char prev[CFG_KEYPATH_MAX] = "";

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *path = pairs[i][0];
		int depth = 0;
		size_t common = 0;

		/* the components shared with the previous path are already written */
		for (size_t j = 0; path[j] && prev[j] && path[j] == prev[j]; j++) {
			if (path[j] == '.')
				common = j + 1;
		}
		for (size_t j = 0; j < common; j++)
			depth += path[j] == '.';
		for (const char *c = path + common;;) {
			const char *dot = strchr(c, '.');
			int w = dot ? (int)(dot - c) : (int)strlen(c);

			len += (size_t)snprintf(out + len, cap - len, "%*s%.*s:%s%s\n", depth * 2,
						"", w, c, dot ? "" : " ", dot ? "" : pairs[i][1]);
			if (dot == NULL)
				break;
			depth++;
			c = dot + 1;
		}
		snprintf(prev, sizeof(prev), "%s", path);
	}
}

/* Sorts by path with '.' before every other byte, so each section's keys are adjacent. */
static int pair_cmp(const void *a, const void *b)
{
	const char *x = ((const char *const *)a)[0], *y = ((const char *const *)b)[0];

	for (; *x && *x == *y; x++, y++)
		;
	if (*x == '.' && *y)
		return -1;
	if (*y == '.' && *x)
		return 1;
	return (unsigned char)*x - (unsigned char)*y;
}

/* Loads the minimal configuration with path set to value; true when a warning or error names
 * the key (shown). */
static bool key_is_reported(struct fixture *f, const char *path, const char *value)
{
	const char *pairs[16][2];
	int n = 0;
	static char yaml[8192];

	for (size_t i = 0; i < sizeof(minimal_pairs) / sizeof(minimal_pairs[0]); i++) {
		if (strcmp(minimal_pairs[i][0], path) == 0)
			continue;
		pairs[n][0] = minimal_pairs[i][0];
		pairs[n][1] = minimal_pairs[i][1];
		n++;
	}
	pairs[n][0] = path;
	pairs[n][1] = value;
	n++;
	qsort(pairs, (size_t)n, sizeof(pairs[0]), pair_cmp);
	pairs_to_yaml((const char *const(*)[2])pairs, n, yaml, sizeof(yaml));
	(void)load_yaml(f, yaml, NULL);
	for (int i = 0; i < f->diags.count; i++) {
		if (strcmp(f->diags.items[i].key, path) == 0)
			return true;
	}
	print_diags(&f->diags);
	printf("%s", yaml);
	return false;
}

static void test_every_key_is_implemented_warned_or_refused(void **state)
{
	struct fixture *f = *state;
	const struct cfg_key *tables[] = { cfg_keys, cfg_dynamic_keys };
	const char *prefixes[] = { "", "bootstrap.dcs." };
	int silent = 0, warned = 0, implemented = 0;

	for (int t = 0; t < 2; t++) {
		for (const struct cfg_key *k = tables[t]; k->path != NULL; k++) {
			char path[CFG_KEYPATH_MAX], value[128];

			if (k->alias_of != NULL || k->type == CFG_KEY_SECTION)
				continue; /* aliases read their target's row; sections hold keys */
			snprintf(path, sizeof(path), "%s%s", prefixes[t], k->path);
			if (implemented_where(path) != NULL) {
				assert_false(k->type == CFG_KEY_IGNORED || (k->flags & CFG_F_TODO));
				implemented++;
				continue;
			}
			non_default_value(k, value, sizeof(value));
			if (key_is_reported(f, path, value)) {
				warned++;
				continue;
			}
			printf("\"%s\" (set to %s) is accepted in silence: implement it and name "
			       "where it is exercised in implemented_keys, or warn about it\n",
			       path, value);
			silent++;
		}
	}
	printf("keys: %d implemented, %d warned about or refused, %d silent\n", implemented, warned,
	       silent);
	assert_int_equal(silent, 0);
	/* every entry of implemented_keys names a real row */
	for (size_t i = 0; i < sizeof(implemented_keys) / sizeof(implemented_keys[0]); i++) {
		const char *p = implemented_keys[i].path;
		bool dyn = strncmp(p, "bootstrap.dcs.", 14) == 0;

		if (cfg_table_find(dyn ? cfg_dynamic_keys : cfg_keys, dyn ? p + 14 : p) == NULL)
			fail_msg("implemented_keys names \"%s\", which the key table lacks", p);
	}
}

static void test_watchdog_timing_that_cannot_hold_is_refused_or_warned(void **state)
{
	struct fixture *f = *state;

	/* ttl 30, loop_wait 10 (the defaults): ttl - 5 = 25 s holds, in both modes. */
	assert_loads(f, minimal_with(f, "", "watchdog:\n  mode: required\n"), NULL);
	assert_int_equal(f->diags.warnings, 0);
	assert_loads(f, minimal_with(f, "", "watchdog:\n  mode: automatic\n"), NULL);
	assert_int_equal(f->diags.warnings, 0);
	/* ttl - 30 = 0 s: refused with required, warned with automatic where the device exists
	 * (/dev/null stands in for one). */
	assert_int_equal(
		load_yaml(f,
			  minimal_with(f, "", "watchdog:\n  mode: required\n  safety_margin: 30\n"),
			  NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "watchdog.safety_margin", 21, "under the device's 1 s");
	assert_loads(
		f,
		minimal_with(
			f, "",
			"watchdog:\n  mode: automatic\n  safety_margin: 30\n  device: /dev/null\n"),
		NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "watchdog.safety_margin", 21,
		    "running without the watchdog");
	/* ttl - 25 = 5 s < loop_wait 10: Patroni's timing_slack. */
	assert_int_equal(
		load_yaml(f,
			  minimal_with(f, "", "watchdog:\n  mode: required\n  safety_margin: 25\n"),
			  NULL),
		-EINVAL);
	assert_diag(f, CFG_SEVERITY_ERROR, "watchdog.safety_margin", 21, "shorter than loop_wait");
	/* -1 = ttl / 2 = 15 s. */
	assert_loads(f, minimal_with(f, "", "watchdog:\n  mode: required\n  safety_margin: -1\n"),
		     NULL);
	assert_int_equal(f->diags.warnings, 0);
	assert_loads(f, minimal_with(f, "", "watchdog:\n  mode: off\n  safety_margin: 30\n"), NULL);
	assert_int_equal(f->diags.warnings, 0);
}

static void test_todo_key_at_its_default_is_not_warned(void **state)
{
	struct fixture *f = *state;

	/* use_unix_socket: false is what gsha does; true is not done yet. */
	assert_loads(f, minimal_with(f, "postgresql:\n", "postgresql:\n  use_unix_socket: false\n"),
		     NULL);
	assert_int_equal(f->diags.warnings, 0);
	assert_loads(f, minimal_with(f, "postgresql:\n", "postgresql:\n  use_unix_socket: true\n"),
		     NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "postgresql.use_unix_socket", 0,
		    "does not implement yet");
	assert_int_equal(f->diags.warnings, 1);
}

static void test_log_json_layout_from_the_file(void **state)
{
	struct fixture *f = *state;
	char out[1024] = "";
	int saved, fds[2];
	ssize_t n;

	assert_loads(f,
		     minimal_with(f, "",
				  "log:\n  type: json\n  format:\n  - message\n"
				  "  - asctime: '@timestamp'\n  - levelname: level\n"
				  "  static_fields:\n    app: patroni\n"),
		     NULL);
	assert_int_equal(f->diags.warnings, 0);
	assert_int_equal(f->cfg.log.fields.count, 3);
	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	assert_int_equal(cfg_log_setup(&f->cfg), 0);
	log_notice("role \"replica\" -> \"primary\"");
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	assert_true(n > 0);
	out[n] = '\0';
	/* back to gsha's defaults for the other tests */
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, NULL);
	assert_int_equal(log_set_json_layout(NULL, NULL, 0, NULL, NULL, 0), 0);
	assert_true(strncmp(out,
			    "{\"message\":\"role \\\"replica\\\" -> \\\"primary\\\"\","
			    "\"@timestamp\":\"",
			    strlen("{\"message\":\"role \\\"replica\\\" -> \\\"primary\\\"\","
				   "\"@timestamp\":\"")) == 0);
	assert_non_null(strstr(out, "\",\"level\":\"notice\",\"app\":\"patroni\"}\n"));

	/* an attribute gsha cannot write is named, and text logs say the layout is unused */
	assert_loads(f, minimal_with(f, "", "log:\n  format:\n  - message\n  - funcName\n"), NULL);
	assert_diag(f, CFG_SEVERITY_WARNING, "log.format", 22, "\"funcName\"");
	assert_diag(f, CFG_SEVERITY_WARNING, "log.format", 0, "applies to JSON logs only");
}

static void test_log_dir_rotates_as_patroni(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/gsha-logdir-XXXXXX", path[128], yaml[256];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(yaml, sizeof(yaml), "log:\n  dir: %s\n  file_size: 300\n  file_num: 2\n", dir);
	assert_loads(f, minimal_with(f, "", yaml), NULL);
	assert_int_equal(f->diags.warnings, 0);
	assert_int_equal(cfg_log_setup(&f->cfg), 0);
	for (int i = 0; i < 40; i++)
		log_info("line %d of the rotation test, long enough to fill files", i);
	/* patroni.log and two rotated files, each within file_size; nothing older kept */
	for (int i = 0; i <= 3; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s/patroni.log", dir);
		else
			snprintf(path, sizeof(path), "%s/patroni.log.%d", dir, i);
		if (i == 3) {
			assert_int_not_equal(stat(path, &st), 0);
			break;
		}
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size > 0 && st.st_size <= 300);
		unlink(path);
	}
	/* back to stderr for the other tests */
	assert_int_equal(log_set_file(NULL, 0, 0, path, sizeof(path)), 0);
	assert_int_equal(rmdir(dir), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_minimal_config_loads_with_patroni_defaults),
		T(test_full_config_fills_every_section),
		T(test_patroni_etcd_section_is_read_as_etcd3),
		T(test_patroni_only_keys_warn_once_and_load),
		T(test_every_key_is_implemented_warned_or_refused),
		T(test_watchdog_timing_that_cannot_hold_is_refused_or_warned),
		T(test_todo_key_at_its_default_is_not_warned),
		T(test_log_json_layout_from_the_file),
		T(test_log_dir_rotates_as_patroni),
		T(test_bootstrap_method_named_in_method_key_is_read),
		T(test_bootstrap_method_without_section_warns_initdb),
		T(test_environment_alone_is_a_complete_configuration),
		T(test_environment_overrides_file_and_gsha_prefix_wins),
		T(test_environment_bad_value_names_the_variable),
		T(test_patroni_configuration_variable_holds_the_yaml),
		T(test_environment_defines_bootstrap_users),
		T(test_environment_other_dcs_is_named_once),
		T(test_patroni4_log_type_plain_and_json),
		T(test_environment_sets_extra_headers_and_warns_on_unsupported),
		T(test_both_etcd_sections_warn),
		T(test_missing_required_keys_are_each_reported),
		T(test_missing_key_points_at_its_section),
		T(test_unknown_key_suggests_the_nearest_sibling),
		T(test_known_key_in_wrong_section_suggests_its_path),
		T(test_unknown_key_far_from_any_says_remove_it),
		T(test_misspelled_section_under_postgresql_is_unknown),
		T(test_replica_method_not_listed_is_unknown),
		T(test_replica_method_without_command_runs_its_name),
		T(test_standby_cluster_on_opengauss_is_refused),
		T(test_standby_cluster_methods_name_postgresql_sections),
		T(test_replica_method_no_master_is_warned),
		T(test_custom_methods_on_opengauss_are_refused),
		T(test_bad_port_is_an_error_at_the_value),
		T(test_connect_address_without_host_is_an_error),
		T(test_etcd_host_without_port_gets_etcd_port),
		T(test_etcd_host_with_bad_port_is_an_error),
		T(test_etcd_url_needs_a_scheme),
		T(test_only_another_dcs_is_an_error),
		T(test_timing_rule_is_an_error_at_ttl),
		T(test_durations_out_of_range_say_the_range),
		T(test_fast_profile_sub_second_forms_accepted),
		T(test_fast_profile_refuses_what_cannot_fence),
		T(test_wrong_types_are_errors),
		T(test_enum_error_lists_the_allowed_values),
		T(test_watchdog_mode_off_read_as_yaml_bool),
		T(test_bad_log_level_is_an_error),
		T(test_duplicate_key_is_an_error),
		T(test_yaml_syntax_error_has_a_position),
		T(test_yaml_alias_is_refused),
		T(test_document_that_is_not_a_mapping_is_an_error),
		T(test_two_documents_are_an_error),
		T(test_deep_nesting_is_refused),
		T(test_too_long_string_is_an_error),
		T(test_member_name_over_63_bytes_is_refused_with_the_reason),
		T(test_patroni_name_over_63_bytes_is_refused),
		T(test_list_with_too_many_entries_is_an_error),
		T(test_too_many_custom_tags_is_an_error),
		T(test_user_with_unknown_field_is_an_error),
		T(test_initdb_entry_with_two_keys_is_an_error),
		T(test_rest_tls_rules_are_checked),
		T(test_nofailover_with_priority_warns),
		T(test_failed_load_leaves_the_output_untouched),
		T(test_missing_file_returns_enoent_with_a_message),
		T(test_file_on_disk_loads),
		T(test_engine_detected_from_gs_ctl_in_bin_dir),
		T(test_diagnostics_beyond_the_limit_are_counted),
		T(test_summary_masks_passwords),
		T(test_enum_names_cover_every_value),
		T(test_every_table_default_parses),
		T(test_every_table_row_is_well_formed),
		T(test_edit_distance),
		T(test_dynamic_parses_patroni_config_key),
		T(test_dynamic_hostile_inputs_are_clear_errors),
		T(test_dynamic_synchronous_mode_takes_booleans_and_quorum),
		T(test_dynamic_lenient_bad_value_keeps_the_rest),
		T(test_dynamic_lenient_broken_timing_rule_keeps_all_three),
		T(test_dynamic_lenient_valid_document_reports_nothing),
		T(test_dynamic_deep_nesting_is_refused),
		T(test_dynamic_render_round_trips),
		T(test_merge_patch_null_deletes_and_objects_merge),
		T(test_merge_patch_new_subtree_keeps_nulls_as_patroni),
		T(test_merge_patch_rejects_bad_patches_and_results),
		T(test_merge_patch_output_limit_is_reported),
		T(test_merge_patch_stored_bad_value_does_not_block_other_keys),
		T(test_dynamic_check_accepts_fast_settings),
		T(test_dynamic_slots_and_ignore_slots),
		T(test_dynamic_standby_cluster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
